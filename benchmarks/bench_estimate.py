"""Speed of infer_econ.estimate: a 1,000,000-row mixed sweep on one core, and single-row calls.

Run: ``POLARS_MAX_THREADS=1 .venv/bin/python benchmarks/bench_estimate.py [--rows N] [--repeat R]``
(the script sets POLARS_MAX_THREADS=1 itself unless it is already set). Prints scenarios per second
for the sweep (targets: >= 4 million/s) and the median single-row latency (target: <= 5 ms).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from infer_econ import catalog, perf  # noqa: E402


def sweep(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` mixed scenarios: LLMs and other models, every chip, precisions, engines, batches, lengths."""
    rng = np.random.default_rng(seed)
    models = catalog.load("models")["id"].to_list()
    hardware = catalog.load("hardware")["id"].to_list()
    precisions = ["bf16", "fp16", "fp8", "int4", "q4_k_m", "fp4"]
    engines = ["vllm", "tensorrt-llm", "sglang", "llama.cpp"]
    batch = rng.choice([1, 8, 32, 128, 0], n)
    return pl.DataFrame(
        {
            "model": rng.choice(models, n),
            "hardware": rng.choice(hardware, n),
            "precision": rng.choice(precisions, n),
            "engine": rng.choice(engines, n),
            "n_devices": rng.choice([1, 2, 4, 8], n),
            "batch_size": pl.Series(batch).replace(0, None),
            "input_tokens": rng.integers(16, 16384, n),
            "output_tokens": rng.integers(16, 4096, n),
            "context_depth": rng.choice([0, 0, 0, 4096], n),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()
    lines: list[str] = []

    def say(text: str) -> None:
        print(text)
        lines.append(text)

    frame = sweep(args.rows)
    perf.estimate(frame.head(10))  # load catalogs and build the cached tables once
    def timed(f: pl.DataFrame) -> tuple[float, float, float, pl.DataFrame]:
        """Best wall clock, process CPU time and user CPU time of one estimate call over the repeats [s]."""
        times, cpu, user = [], [], []
        for _ in range(args.repeat):
            t0, c0, u0 = time.perf_counter(), time.process_time(), os.times().user
            res = perf.estimate(f)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            user.append(os.times().user - u0)
        return min(times), min(cpu), min(user), res

    best, best_cpu, best_user, out = timed(frame)
    fits = out["fits"].sum()
    rate = args.rows / best / 1e6
    rate_cpu = args.rows / best_cpu / 1e6
    say(
        f"- sweep, {args.rows:,} mixed rows ({frame['model'].n_unique()} models incl. non-LLMs, "
        f"{frame['hardware'].n_unique()} chips, {frame['precision'].n_unique()} precisions, "
        f"{frame['engine'].n_unique()} engines, "
        f"batches 1-128 or max, 16-16k input tokens), one call: {best * 1000:.0f} ms (best of {args.repeat}) = "
        f"**{rate:.2f} million scenarios/s** wall clock; CPU time of the process {best_cpu * 1000:.0f} ms = "
        f"**{rate_cpu:.2f} million/s on one core** (target ≥ 4: {'met' if rate_cpu >= 4 else 'not met'}); "
        f"user CPU time {best_user * 1000:.0f} ms = {args.rows / best_user / 1e6:.2f} million/s; {fits:,} rows fit"
    )
    # the speed terms run on fitting rows only: the same size of sweep where every row fits is the worst case
    fitting = frame.filter(out["fits"])
    every = fitting.sample(args.rows, with_replacement=True, seed=1)
    b2, c2, u2, _ = timed(every)
    say(
        f"- worst case, {args.rows:,} rows that all fit (resampled from the fitting rows above): {b2 * 1000:.0f} ms "
        f"wall = {args.rows / b2 / 1e6:.2f} million/s; CPU time {c2 * 1000:.0f} ms = "
        f"**{args.rows / c2 / 1e6:.2f} million/s**; user CPU {u2 * 1000:.0f} ms = {args.rows / u2 / 1e6:.2f} million/s"
    )
    lazy_t0 = time.perf_counter()
    perf.estimate(frame.lazy()).collect()
    say(f"- the same sweep as a LazyFrame (validated eagerly, computed on collect): "
        f"{(time.perf_counter() - lazy_t0) * 1000:.0f} ms")
    one = frame.head(1).with_columns(
        model=pl.lit("llama-3.1-8b"), hardware=pl.lit("h100-sxm"), precision=pl.lit("bf16"), engine=pl.lit("vllm")
    )
    single, single_cpu = [], []
    for _ in range(200):
        t0, c0 = time.perf_counter(), time.process_time()
        perf.estimate(one)
        single.append(time.perf_counter() - t0)
        single_cpu.append(time.process_time() - c0)
    med = statistics.median(single) * 1000
    med_cpu = statistics.median(single_cpu) * 1000
    say(
        f"- one row (a slider move): median **{med:.2f} ms**, p95 {sorted(single)[int(0.95 * len(single))] * 1000:.2f} ms "
        f"over {len(single)} calls; CPU time median {med_cpu:.2f} ms (target ≤ 5 ms: "
        f"{'met' if min(med, med_cpu) <= 5 else 'not met'})"
    )
    if not args.no_write:
        import datetime
        import platform
        import sys

        sys.path.insert(0, os.path.dirname(__file__))
        from _report import write_section

        head = (
            f"`benchmarks/bench_estimate.py`, {datetime.date.today().isoformat()}, {platform.machine()} "
            f"{platform.system()}, {os.cpu_count()} cores shared with other jobs, polars {pl.__version__}, "
            f"POLARS_MAX_THREADS={os.environ['POLARS_MAX_THREADS']}. Figures vary by up to 2× with the load "
            "of the shared machine (wall clock); the process's CPU time is the one-core figure the targets are read against."
        )
        note = (
            "How the sweep runs: frames of 20,000 rows or more are estimated in two phases (`perf._two_phase`): "
            "the parallel layout, memory fit, batch and limit for every row, then the prefill / decode / "
            "throughput terms only for the rows that fit (about a quarter of this mixed sweep), scattered back "
            "into null columns in order; rows that do not fit have null speeds either way. The all-fitting sweep "
            "is the worst case. `collect` runs polars' streaming engine (the default since polars 2): "
            "expressions inside a lazy plan run batch by batch, and what a plan returns is copied back together "
            "at full length. What changed on 2026-12-01 (the formulas did not; every output column checked "
            "against the previous code on the 1,000,000-row sweep and on frames with tensor_parallel / "
            "pipeline_parallel / kv_precision columns, Categorical ids, float token counts, 1 to 300,000 rows: "
            "ints, bools and strings equal, floats within 1e-12 relative, same nulls): the scenario columns that "
            "pass through unchanged stay out of the lazy plans and are taken from the input frame (the plan had "
            "cut the four id string columns and the other inputs into batches and copied them back together); "
            "the memory phase computes its outputs in the same pass; the fitting rows' speeds go back by a "
            "scatter instead of a gather with a null index for every row (about 45 → 23 ms); without "
            "tensor_parallel / pipeline_parallel columns the layout expressions skip their null branches. "
            "This script run back to back on the previous code and on this one (best of 7, load average 6 to 8): "
            "mixed sweep 369 → 247 ms process CPU (2.71 → 4.05 million/s), 300 → 240 ms user; the all-fitting "
            "sweep moved within its noise (634 → 654 ms in that pair of runs, 465 ms in another). Both versions "
            "in one process, interleaved, best of 11 (load average 9): 465 → 377 ms process CPU, 340 → 290 ms "
            "user, all-fitting 672 → 554 ms; a process that has run other large queries first pays more "
            "system time. Much of the gain is system time (fewer full-length columns for the allocator to map). "
            "Run to run on this shared machine the figures vary by about ±20 %: four runs of this version gave "
            "244, 247, 286 and 270 ms for the mixed sweep (4.10, 4.05, 3.49, 3.71 million/s; 250 ms is the "
            "target), so the target is met on a quiet machine and missed under load. The single-row median moved "
            "between 4.1 and 7.3 ms with the load; in one process, the two versions interleaved, 300 calls "
            "each: previous code median 8.35 ms / fastest 4.72 ms, this one 8.13 / 4.53 ms (no regression). "
            "Where the time goes "
            "now (CPU time, perf and per-stage timings): ids → Enum codes about 50 ms (hashing four million "
            "strings; the Enum cast is the fastest of cast, replace_strict and Categorical), gathering 23 "
            "catalog columns about 50 ms (a fifth of it the per-gather bounds check of the codes), the "
            "memory-phase arithmetic about 55 ms, the speed phase on the fitting rows about 55 ms, the scatter "
            "about 23 ms. Tried and dropped: gathering the catalog columns eagerly, table by table (one bounds "
            "check per table), since it makes every gathered column full length at once and the system time "
            "comes back; carrying only batch, layout and ids into the speed phase and recomputing the rest "
            "there, with no gain on the mixed sweep and slower when every row fits; other streaming batch "
            "sizes (within noise). The 4 million/s target is not reliably met in process CPU time on this shared "
            "machine; the remaining time is spread over about 200 column operations, so the next step would be "
            "computing the per-(model, chip, precision, engine, layout) terms (weights and KV bytes per device, "
            "workspace, KV budget, supported) on the distinct combinations and gathering them, which needs a "
            "dense id per combination of the frame."
        )
        write_section("Estimator", head + "\n\n" + "\n".join(lines) + "\n\n" + note)


if __name__ == "__main__":
    main()

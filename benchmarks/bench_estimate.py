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
    enum_ids = frame.with_columns(
        pl.col(k).cast(pl.Enum(catalog.load(c)["id"].to_list()))
        for k, c in (("model", "models"), ("hardware", "hardware"), ("precision", "precisions"), ("engine", "engines"))
    )
    b3, c3, _, _ = timed(enum_ids)
    say(f"- the same sweep with its ids as the catalogs' Enums (`pl.Enum(catalog.load(...)['id'])`): "
        f"{b3 * 1000:.0f} ms wall, CPU time {c3 * 1000:.0f} ms = **{args.rows / c3 / 1e6:.2f} million/s**")
    lazy_t0 = time.perf_counter()
    perf.estimate(frame.lazy()).collect()
    say(f"- the same sweep as a LazyFrame (validated eagerly, computed on collect): "
        f"{(time.perf_counter() - lazy_t0) * 1000:.0f} ms")
    one = frame.head(1).with_columns(
        model=pl.lit("llama-3.1-8b"), hardware=pl.lit("h100-sxm"), precision=pl.lit("bf16"), engine=pl.lit("vllm")
    )
    # a slider move asks for a new value each time: every call gets other token counts, so none is answered from
    # the estimator's memo (infer_econ._memo); the same row asked again is timed separately
    single, single_cpu = [], []
    for i in range(200):
        moved = one.with_columns(input_tokens=pl.lit(1000 + 7 * i, one["input_tokens"].dtype))
        t0, c0 = time.perf_counter(), time.process_time()
        perf.estimate(moved)
        single.append(time.perf_counter() - t0)
        single_cpu.append(time.process_time() - c0)
    med = statistics.median(single) * 1000
    med_cpu = statistics.median(single_cpu) * 1000
    again = []
    for _ in range(200):
        t0 = time.process_time()
        perf.estimate(one)
        again.append(time.process_time() - t0)
    say(
        f"- one row (a slider move: a new input every call): median **{med:.2f} ms**, "
        f"p95 {sorted(single)[int(0.95 * len(single))] * 1000:.2f} ms over {len(single)} calls; CPU time median "
        f"{med_cpu:.2f} ms (target ≤ 5 ms: {'met' if min(med, med_cpu) <= 5 else 'not met'}); the same row asked "
        f"again (answered from the memo): {statistics.median(again) * 1000:.2f} ms CPU"
    )
    if not args.no_write:
        import datetime
        import platform
        import sys

        sys.path.insert(0, os.path.dirname(__file__))
        from _report import cpu_model, write_section

        head = (
            f"`benchmarks/bench_estimate.py`, {datetime.date.today().isoformat()}, {platform.machine()} "
            f"{platform.system()}, {cpu_model()}, {os.cpu_count()} cores shared with other jobs, polars {pl.__version__}, "
            f"POLARS_MAX_THREADS={os.environ['POLARS_MAX_THREADS']}. Figures vary by up to 2× with the load "
            "of the shared machine (wall clock); the process's CPU time is the one-core figure the targets are read against."
        )
        note = (
            "How the sweep runs: frames of 20,000 rows or more are estimated in two phases (`perf._two_phase`): "
            "the parallel layout, memory fit, batch and limit for every row, then the prefill / decode / "
            "throughput terms only for the rows that fit (about a quarter of this mixed sweep), in two plans: "
            "LLM rows (every speed column but `items_per_s`) and the other models (`items_per_s` only), scattered "
            "back into null columns in order; rows that do not fit have null speeds either way. The all-fitting "
            "sweep is the worst case. `collect` runs polars' streaming engine (the default since polars 2). "
            "The terms of the parallel layout (tensor / pipeline parallel, devices per replica, replicas, weights "
            "per device, KV bytes per token per device and per byte of element, workspace elements per token) "
            "depend only on the model, the precision, whether the engine has tensor parallelism and n_devices: "
            "without tensor_parallel / pipeline_parallel columns and with at most 20,000 such combinations (7,920 "
            "for this sweep: 45 models × 11 precisions × 2 × 8 device counts) they are computed once on a table of "
            "every combination (`perf._layout_table`, cached) and gathered by one integer index built from the Enum "
            "codes; otherwise row by row. Each row multiplies the KV bytes per byte of element by its own KV "
            "precision's bytes (the scenario's `kv_precision`, else the engine's default for the weights' "
            "precision, else the precision's). The pieces of the formulas that depend on the model only (MoE expert "
            "size and always-on parameters, 2 × matmul params × 1e9, 4 × layers, …) or on (chip, precision, "
            "engine) only (attained FLOP/s and bytes/s, all-reduce bandwidth, attention weights, the KV budget's "
            "base and share) are computed on the catalog tables (`perf._catalog_terms`; row by row on small "
            "frames and in calibration, which replaces the efficiencies). Each is the same expression on the "
            "same values, so the results do not change. "
            "What changed on 2026-12-01, second round (the formulas did not; every output column checked "
            "against the previous code on the 1,000,000-row sweep, 300,000 all-fitting rows, 200,000 rows with "
            "tensor_parallel / pipeline_parallel / kv_precision / context_depth columns with nulls, Categorical "
            "and Enum ids, float token counts, a few models, n_devices up to 64, LazyFrame input, and frames of "
            "1, 3,000, 5,000, 19,999 and 20,000 rows: ints, bools and strings equal, floats within 1e-12 "
            "relative, same nulls, same schema): the layout table and catalog pieces above; the speed phase split "
            "into LLM and non-LLM rows (a quarter of the fitting rows are not LLMs: the single plan computed every LLM term for them "
            "for nothing); the speed phase gathers its catalog columns again on the fitting rows and casts the "
            "token columns again from the input instead of carrying them at full length out of the memory phase "
            "(31 → 15 full-length columns). Both versions in one process, interleaved, best of 9, three times "
            "within ten minutes (load average about 1): mixed sweep 271 → 205, 395 → 321 and 278 → 212 ms "
            "process CPU (3.68 → 4.87, 2.53 → 3.12 and 3.60 → 4.72 million/s), all-fitting 525 → 363 and "
            "639 → 446 ms. The speed of this shared machine moved by ±40 % within minutes while its load average "
            "stayed near 1, so one run's absolute figure says little: the ratio, 0.70 to 0.81 of the previous "
            "CPU time, held in every pair. This script alone on this version gave 301, 308 and 256 ms for the "
            "mixed sweep (3.32, 3.25, 3.90 million/s), another loop of nine calls 224 ms (4.46 million/s): the "
            "4 million/s target is met when the machine runs at its faster speed and missed at its slower one. "
            "Single row, both versions interleaved, 300 calls each: median 6.65 → 6.02 ms (fastest 4.24 → 3.55) "
            "in the fast state, 9.30 → 8.62 ms (5.69 → 5.39) in the slow one: no regression. Where the time goes "
            "now (process CPU, per-stage timings in the slow state, 282 ms in all): ids → Enum codes about 80 ms "
            "(four million strings hashed; the Enum cast is the fastest way found so far), 20 gathers of catalog and "
            "layout columns about 45 ms, the memory-phase arithmetic and its 15 full-length columns about 75 ms, "
            "the speed phase on the fitting rows about 60 ms (a third of it filtering and gathering), the scatter "
            "about 14 ms. Tried and dropped: the raw window and layer-fraction columns instead of their "
            "precomputed pieces (within noise); the Enum codes computed eagerly before the lazy plan (the four "
            "casts alone take 59 instead of 84 ms outside the streaming engine, but the whole call did not get "
            "faster in two interleaved runs). "
            "What changed on 2026-12-02, for small frames (a slider move; every output checked against the previous "
            "code on a 200,000-row sweep, 500 rows, tensor_parallel / pipeline_parallel and kv_precision columns: "
            "floats within 6e-16 relative): polars plans a deep expression in time that grows with the square of its "
            "depth (a chain of 60 multiplications on one row: 2.6 ms to plan, 30: 0.86 ms), and planning, not "
            "arithmetic, is the cost of a few rows. The speed stages are now shallow (the all-reduce as per-token "
            "and fixed terms, the prefill and mixed-step pieces as columns); frames of up to 1,000 rows gather the "
            "catalog terms computed on the catalog tables, only the catalog columns the formulas read, check "
            "their numbers with Series operations and keep their answer per estimator inputs (a knob that moves "
            "only prices or PUE reuses it; `infer_econ._memo`). Both versions in one process, interleaved, during "
            "a slow spell of the machine (this script's sweep at 343-405 ms where it had been 205-291 ms): one row "
            "10.2 → 7.0 ms process CPU (300 calls, median), the mixed 1,000,000-row sweep 372 → 343 ms. The one-row "
            "target is not met in this state of the machine. "
            "What changed on 2026-12-02, second session: the KV-cache default became per engine and precision, "
            "and the layout table lost its KV-precision dimension (it had one row per KV precision + 1, so a frame "
            "with a kv_precision column and 8 devices needed 95,040 combinations and fell back to row by row; now "
            "7,920); the one-row line above times a new input on every call (token counts move by 7 per call): "
            "repeating the same row, as this script did before, measured the estimator's memo (0.5-0.6 ms), not a "
            "slider move. The same script three times that day: mixed sweep 3.70, 4.45 and 3.28 million/s, one row "
            "5.08, 4.23 and 5.20 ms: both targets are met in the machine's fast spells and missed in its slow ones. On "
            "2026-12-03 (three CPU rows added to the catalogs: 80 chips) the script and the previous commit's code, "
            "alternated three times: mixed sweep 251-350 ms against 235-327 ms process CPU, one row 4.0-5.8 ms against "
            "4.6-5.7 ms: no difference beyond the machine's spells; this script's runs that day 3.3-4.3 million/s and "
            "4.4-6.6 ms. On 2026-12-04, the same code on the machine this session was given (its processor is named "
            "in the line above; the sections of earlier days did not name theirs), five runs: 5.84-6.09 "
            "million/s, one row 2.05-2.14 ms: both targets met with margin, the figures 1.4-2× those of the days "
            "before, from the machine alone. An hour later, after the flash_attention terms (which exist only when "
            "that column is given), four runs gave 5.16-5.50 million/s and 2.26-2.58 ms, and the code before them, "
            "alternated, 5.12-5.40 million/s and 2.64-2.68 ms: a slower spell of the machine, no regression. "
            "Third session of 2026-12-04, after `grouped_kv_attention` (a term that exists only when that column is "
            "given; without it the KV bytes are multiplied by a literal 1): this script 5.60 million/s (mixed, "
            "process CPU) and 2.21 ms (one row) on that AMD EPYC machine; the mixed sweep alternated with the "
            "previous commit's code, twice each, 177 / 183 ms against 177 / 185 ms process CPU: no regression. "
            "On 2026-12-07, on the Intel Xeon machine named above, where the previous commit's code gave 3.75-3.91 "
            "million/s (the 4 million/s target missed on this machine) and 2.75-2.84 ms: the catalog columns are "
            "gathered as one struct per source table and index (`perf._gather_grouped`: the models' columns by "
            "model code, the (chip, precision, engine) columns, the KV precisions' and the layout table's) instead "
            "of one gather per column; polars gathers a struct of k fields in about 0.6 of the time of k separate "
            "gathers (7 float columns by 1,000,000 random indices: 8.7 against 15.0 ms). Every output column is "
            "identical (exact equality) to the previous code's on the 1,000,000-row sweep, on a 200,000-row sweep "
            "with kv_precision / flash_attention / grouped_kv_attention / continuous_batching columns holding "
            "nulls, and on 162,580 of those rows with tensor_parallel / pipeline_parallel columns; "
            "`tests/test_perf.py` checks the two kinds of gather against each other. This script alternated with "
            "the previous commit's code, twice each: mixed sweep 273 / 275 → 241 / 238 ms process CPU (3.66 / 3.64 "
            "→ 4.15 / 4.20 million/s), all-fitting 449 / 467 → 404 / 412 ms, one row 2.83 / 2.80 → 2.83 / 2.79 ms "
            "(that path does not change). Tried and dropped that day: writing the fitting rows' float columns back "
            "with numpy and one mask instead of polars' `scatter` (25 against 20 ms within the call); streaming "
            "morsels of 10,000-250,000 rows instead of the default 100,000 (each slower: 3.16-3.70 against 3.88 "
            "million/s). Later that day: ids are cast to the catalog's Enum directly (they went through strings first: "
            "ids already in that Enum were cast to strings and back, 280 ms for this sweep, more than from strings; "
            "Categorical ids and Enums of other categories took twice the lookup time of strings); every plan "
            "(small frames, lazy, one pass, two phases) shares that lookup (`perf._code`)."
        )
        write_section("Estimator", head + "\n\n" + "\n".join(lines) + "\n\n" + note)


if __name__ == "__main__":
    main()

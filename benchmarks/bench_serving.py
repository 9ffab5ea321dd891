"""Speed of the serving model: latency under load, Erlang C, simulation, SLO capacity, autoscaling.

Run: ``POLARS_MAX_THREADS=1 .venv/bin/python benchmarks/bench_serving.py [--rows N]`` (the script sets
POLARS_MAX_THREADS=1 itself unless it is already set). Prints, and writes to the ``Serving`` section of
docs/benchmarks.md: rows per second of :func:`infer_econ.serving.latency_under_load` (analytical, open and
closed loop, building blocks given so the estimator is not timed), Erlang C rows per second, the step-level
simulation's time per row, one :func:`infer_econ.serving.capacity` search, and a year of hourly autoscaling with the strategy
comparison. No speed target is set by the issue; a slider move should stay well under 100 ms.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from infer_econ import demand, serving  # noqa: E402


def _frame(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    cap = rng.choice([16.0, 64.0, 256.0, 1024.0], n)
    return pl.DataFrame({
        "input_tokens": rng.integers(64, 8192, n).astype(float),
        "output_tokens": rng.integers(16, 2048, n).astype(float),
        "decode_step_fixed_s": rng.uniform(0.004, 0.05, n),
        "decode_step_per_sequence_s": rng.uniform(1e-5, 5e-4, n),
        "prefill_s_per_token": rng.uniform(1e-5, 3e-4, n),
        "batch_cap": cap,
        "replicas": rng.integers(1, 8, n),
    })


def _best(f, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    n = a.rows
    base = _frame(n)
    # open loop at a random share (5-95 %) of each row's capacity
    cap = serving.replica_latency(1e-9, base["input_tokens"], base["output_tokens"], base["decode_step_fixed_s"],
                                  base["decode_step_per_sequence_s"], base["prefill_s_per_token"],
                                  base["batch_cap"])["capacity_requests_per_s"]
    share = np.random.default_rng(1).uniform(0.05, 0.95, n)
    open_f = base.with_columns(pl.Series("request_rate_per_s", cap * share * base["replicas"].to_numpy()))
    t_open = _best(lambda: serving.latency_under_load(open_f))
    one = open_f.head(1)
    t_one = statistics.median([_best(lambda: serving.latency_under_load(one), 1) for _ in range(20)])
    m = min(n, 100_000)
    closed_f = base.head(m).with_columns(pl.Series("concurrency", np.random.default_rng(2).integers(1, 512, m)))
    t_closed = _best(lambda: serving.latency_under_load(closed_f))
    rng = np.random.default_rng(3)
    c = rng.integers(1, 257, 100_000)
    a_load = c * rng.uniform(0.1, 0.99, 100_000)
    t_erl = _best(lambda: serving.erlang_c(c, a_load))
    sim_f = open_f.head(5)
    t_sim = _best(lambda: serving.latency_under_load(sim_f, method="simulation", n_requests=4000), 1)
    cand = pl.DataFrame({"model": ["m"] * 8, "hardware": [f"h{i}" for i in range(8)], "precision": ["bf16"] * 8,
                         "engine": ["vllm"] * 8, "n_devices": [1, 2, 4, 8] * 2,
                         "decode_step_fixed_s": np.linspace(0.006, 0.02, 8),
                         "decode_step_per_sequence_s": np.linspace(5e-5, 2e-4, 8),
                         "prefill_s_per_token": np.linspace(2e-5, 1e-4, 8), "batch_cap": [256.0] * 8,
                         "usd_per_device_hour": np.linspace(1.0, 4.0, 8)})
    t_cap = _best(lambda: serving.capacity(cand, request_rate_per_s=50, input_tokens=1000, output_tokens=200,
                                           slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.1))
    year = demand.demand_profile(8760, peak_requests_per_s=40, peak_to_trough_ratio=5, weekend_factor=0.6,
                                 growth_per_month=0.03, burst_probability_per_hour=0.01)
    t_auto = _best(lambda: demand.autoscale(year, capacity_per_replica_rps=3.0, usd_per_replica_hour=8.0), 1)
    t_cmp = _best(lambda: demand.compare_strategies(
        year, capacity_per_replica_rps=3.0, on_demand_usd_per_replica_hour=8.0, reserved_usd_per_replica_hour=5.0,
        spot_usd_per_replica_hour=3.0), 1)
    from _report import cpu_model

    lines = [
        f"Machine: {platform.machine()}, {cpu_model()}, {os.cpu_count()} cores, POLARS_MAX_THREADS="
        f"{os.environ.get('POLARS_MAX_THREADS')}; numpy single call; {date.today().isoformat()}.",
        "",
        "| what | size | time | rate |",
        "|---|---|---|---|",
        f"| `latency_under_load`, open loop, analytical | {n:,} rows | {t_open:.2f} s | {n / t_open:,.0f} rows/s |",
        f"| `latency_under_load`, one row (slider move) | 1 row | {t_one * 1e3:.2f} ms | |",
        f"| `latency_under_load`, closed loop (N 1-511) | {m:,} rows | {t_closed:.2f} s | {m / t_closed:,.0f} rows/s |",
        f"| `erlang_c`, c up to 256 | 100,000 rows | {t_erl * 1e3:.0f} ms | {1e5 / t_erl:,.0f} rows/s |",
        f"| `method='simulation'` (step-level engine simulation, 4,000 requests per row) | 5 rows | {t_sim:.2f} s | "
        f"{t_sim / 5:.2f} s per row |",
        f"| `capacity` search (8 layouts × 9 batch caps, bisection) | 1 call | {t_cap * 1e3:.0f} ms | |",
        f"| `autoscale`, a year hourly | 8,760 h | {t_auto * 1e3:.0f} ms | |",
        f"| `compare_strategies` (fixed, autoscaled, every reserved baseline, 4 spot shares) | 8,760 h | "
        f"{t_cmp:.2f} s | |",
        "",
        "The estimator is not in these times (building blocks given); `step_times` adds one `estimate` call on "
        "twice the rows. No target is set by the issue for serving; the one-row time is what a workbook slider pays.",
    ]
    body = "\n".join(lines)
    print(body)
    if not a.no_write:
        from _report import write_section

        write_section("Serving", body)


if __name__ == "__main__":
    main()

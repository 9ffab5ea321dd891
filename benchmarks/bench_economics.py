"""Speed of the economics: add_economics on a large estimator-output frame, and the uncertainty bands.

Run: ``POLARS_MAX_THREADS=1 .venv/bin/python benchmarks/bench_economics.py [--rows N] [--scenarios S --draws D]``
(the script sets POLARS_MAX_THREADS=1 itself unless it is already set). Prints rows per second of
:func:`infer_econ.pipeline.add_economics` on a mixed frame (rented with provider lookups, explicit prices,
owned TCO) and the time of :func:`infer_econ.uncertainty.bands` for S scenarios × D draws, and writes the
``Economics`` section of docs/benchmarks.md. No target is set by the issue; the figures show that the
economics adds little to an ``estimate`` sweep.
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

from infer_econ import catalog, pipeline, uncertainty  # noqa: E402


def frame(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` estimator-output rows on hardware with cloud prices; a third each rented / explicit / owned."""
    rng = np.random.default_rng(seed)
    prices = catalog.load("cloud_prices").filter(pl.col("price_model") == "on_demand")
    pairs = prices.select("hardware", "provider").unique().sort("hardware", "provider")
    owned_hw = set(catalog.load("hardware_prices")["hardware"].drop_nulls().to_list())
    idx = rng.integers(0, pairs.height, n)
    hw = pairs["hardware"].gather(idx)
    kind = rng.integers(0, 3, n)
    kind = np.where((kind == 2) & ~np.isin(hw.to_numpy(), list(owned_hw)), 1, kind)
    models = rng.choice(["llama-3.1-8b", "llama-3.1-70b", "qwen2.5-32b", "mixtral-8x7b"], n)
    tps = rng.uniform(100, 20000, n)
    return pl.DataFrame({
        "model": models, "hardware": hw, "precision": rng.choice(["bf16", "fp8", "int4"], n), "engine": "vllm",
        "n_devices": rng.choice([1, 2, 4, 8], n), "input_tokens": rng.integers(64, 8192, n),
        "output_tokens": rng.integers(16, 2048, n), "prefill_s": rng.uniform(0.01, 2, n), "tpot_s": rng.uniform(0.005, 0.1, n),
        "prefill_tokens_per_s": tps * 20, "decode_tokens_per_s": tps, "output_tokens_per_s": tps * 0.9,
        "provider": pl.Series(pairs["provider"].gather(idx)).zip_with(pl.Series(kind == 0), pl.Series([None] * n, dtype=pl.String)),
        "price_model": pl.Series(np.where(kind == 0, "on_demand", np.where(kind == 2, "owned", ""))).replace("", None),
        "usd_per_device_hour": np.where(kind == 1, rng.uniform(0.5, 8, n), np.nan),
        "utilization": rng.uniform(0.2, 1.0, n),
    }).with_columns(pl.col("usd_per_device_hour").fill_nan(None))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenarios", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    f = frame(a.rows)
    pipeline.add_economics(f.head(1000))  # warm the catalog caches
    t = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        pipeline.add_economics(f)
        t.append(time.perf_counter() - t0)
    per_s = a.rows / statistics.median(t)
    one = f.head(1)
    t1 = []
    for _ in range(20):
        t0 = time.perf_counter()
        pipeline.add_economics(one)
        t1.append(time.perf_counter() - t0)
    ev = pipeline.add_economics(f.head(a.scenarios))
    t0 = time.perf_counter()
    uncertainty.bands(ev, draws=a.draws, seed=0)
    t_unc = time.perf_counter() - t0
    lines = [
        f"add_economics, {a.rows:,} mixed rows (rented lookups, explicit prices, owned TCO), one core: "
        f"{per_s / 1e6:.2f} million rows/s (median of {a.repeat}: {statistics.median(t):.2f} s)",
        f"add_economics, one row: {statistics.median(t1) * 1e3:.1f} ms (median of 20)",
        f"uncertainty.bands, {a.scenarios:,} scenarios × {a.draws:,} draws ({a.scenarios * a.draws:,} rows): {t_unc:.2f} s",
    ]
    for line in lines:
        print(line)
    if not a.no_write:
        from _report import cpu_model, write_section

        body = (
            f"`benchmarks/bench_economics.py`, {date.today().isoformat()}, {platform.machine()} "
            f"{platform.system()}, {cpu_model()}, POLARS_MAX_THREADS={os.environ['POLARS_MAX_THREADS']}. "
            "No target is set by the issue.\n\n" + "\n".join(f"- {x}" for x in lines)
        )
        write_section("Economics", body)


if __name__ == "__main__":
    main()

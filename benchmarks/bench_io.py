"""Speed of infer_econ.io: reading benchmark files, scenario round trips, exports and the HTML report.

Run: ``.venv/bin/python benchmarks/bench_io.py [--requests N] [--write-doc]``. Prints the time to read a
vLLM result with N per-request entries (``--save-detailed`` style lists), a 500-test llama-bench JSON, a
scenario save + load, a 1,000,000-row Parquet and CSV export, and the HTML report with one chart. No target
is set by the issue; these run on a user's upload or a button press, so well under a second is the aim.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import altair as alt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from infer_econ import io, scenario  # noqa: E402

SAMPLES = ROOT / "tests" / "data"
IDS = dict(hardware="h100-sxm", precision="bf16", n_devices=1)


def _time(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=10_000, help="per-request entries in the vLLM result")
    ap.add_argument("--write-doc", action="store_true", help="rewrite the io section of docs/benchmarks.md")
    args = ap.parse_args(argv)
    d = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    n = args.requests
    rec = json.loads((SAMPLES / "vllm_bench_serve.json").read_text())
    rec.update(num_prompts=n, completed=n, input_lens=[1024] * n, output_lens=[128] * n,
               ttfts=rng.uniform(0.02, 0.08, n).round(5).tolist(),
               itls=[rng.uniform(0.01, 0.02, 127).round(5).tolist() for _ in range(n)],
               generated_texts=["x" * 64] * n, errors=[""] * n)
    big = d / "vllm_detailed.json"
    big.write_text(json.dumps(rec))
    size_mb = big.stat().st_size / 1e6
    t_vllm = _time(lambda: io.read_any(big, **IDS))
    recs = json.loads((SAMPLES / "llama_bench.json").read_text())
    lb = d / "llama_bench_500.json"
    lb.write_text(json.dumps([dict(recs[i % 2], n_prompt=512 * (i % 2 == 0), n_gen=128 * (i % 2 == 1))
                              for i in range(500)]))
    t_llama = _time(lambda: io.read_llama_bench(lb, hardware="rtx-4090", n_devices=1))
    s = scenario.load(SAMPLES / "scenario_v1.json")
    t_scn = _time(lambda: scenario.load(scenario.save(d / "plan.json", s)), repeat=20)
    m = 1_000_000
    frame = pl.DataFrame({"model": rng.choice(["llama-3.1-8b", "llama-3.1-70b"], m),
                          "output_tokens_per_s": rng.uniform(10, 5000, m),
                          "usd_per_million_output_tokens": rng.uniform(0.05, 20, m)})
    t_parquet = _time(lambda: io.export_frame(frame, d / "out.parquet"), repeat=3)
    t_csv = _time(lambda: io.export_frame(frame, d / "out.csv"), repeat=3)
    chart = alt.Chart(frame.head(50)).mark_point().encode(x="output_tokens_per_s:Q",
                                                          y="usd_per_million_output_tokens:Q")
    t_report = _time(lambda: io.report_html(s, {"sweep": frame.head(200)}, {"cost": chart}), repeat=3)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _report import cpu_model

    lines = [
        f"`benchmarks/bench_io.py`, {dt.date.today()}, {platform.machine()} {platform.system()}, {cpu_model()}. "
        "No target is set "
        "by the issue (these run on an upload or a button press).",
        "",
        f"- read_any on a vLLM result with {n:,} per-request entries ({size_mb:.1f} MB): {t_vllm * 1e3:.0f} ms",
        f"- read_llama_bench, 500 tests (JSON): {t_llama * 1e3:.1f} ms",
        f"- scenario save + load (atomic, fsync): {t_scn * 1e3:.1f} ms",
        f"- export_frame 1,000,000 rows × 3 columns: Parquet {t_parquet:.2f} s, CSV {t_csv:.2f} s",
        f"- report_html with a 200-row table and one chart (inline SVG): {t_report * 1e3:.0f} ms",
    ]
    print("\n".join(lines))
    if args.write_doc:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from _report import write_section

        write_section("Ecosystem (io)", "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

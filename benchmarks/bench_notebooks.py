"""Each workbook run top to bottom, headless, in a fresh kernel (target ≤ 15 s each).

What is timed per workbook: a new ``python3`` kernel started, every code cell executed in order (nbclient, as
nbval and ``jupyter nbconvert --execute`` do), the kernel shut down: the wall time a user's ``Run All``, a CI job or
a Voila cold start pays for the notebook alone. The kernel start is also timed on its own (an empty cell), so the
notebook's share is the difference. The committed notebooks are read, never written.

Run: ``.venv/bin/python benchmarks/bench_notebooks.py [--repeat N] [--no-write]``; writes the
``## Notebooks headless`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from _report import cpu_model, write_section  # noqa: E402

TARGET_S = 15.0


def run_s(nb: nbformat.NotebookNode) -> float:
    """Wall time to start a kernel, run every cell of ``nb`` and shut the kernel down [s]."""
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "workbooks")}},
                   allow_errors=False).execute()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per workbook (the median is reported)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args(argv)
    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    start = statistics.median(run_s(empty) for _ in range(args.repeat))
    rows = []
    for path in sorted((ROOT / "workbooks").glob("[0-9][0-9]_*.ipynb")):
        times = [run_s(nbformat.read(path, as_version=4)) for _ in range(args.repeat)]
        rows.append((path.stem, statistics.median(times), max(times)))
        print(f"{path.stem}: median {rows[-1][1]:.2f} s, slowest {rows[-1][2]:.2f} s", flush=True)
    worst = max(r[2] for r in rows)
    lines = [
        f"`benchmarks/bench_notebooks.py`, {dt.date.today().isoformat()}, {platform.machine()} {platform.system()}, "
        f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}. Each workbook run top to bottom "
        f"in a fresh kernel with nbclient (kernel start, every cell, shutdown); runs per workbook: {args.repeat}; an "
        f"empty notebook takes {start:.2f} s (the kernel start and shutdown alone). Target ≤ {TARGET_S:g} s each: "
        f"{'met' if worst <= TARGET_S else 'not met'} (slowest run {worst:.2f} s).",
        "",
        "| workbook | median s | slowest s |",
        "|---|---|---|",
        *[f"| {stem} | {med:.2f} | {mx:.2f} |" for stem, med, mx in rows],
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section("Notebooks headless", "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``infer-econ calibrate``: fit efficiency parameters to measurements (CSV in, efficiency CSV out)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: benchmark formats read through infer_econ.io (``--format``)
_IO_FORMATS = ["vllm", "sglang", "aiperf", "llama-bench", "mlperf", "csv"]
#: ids the benchmark files do not say: (flag, reader keyword, type, help)
_ID_FLAGS = [
    ("--model", "model", str, "models catalog id (default: mapped from the file's model name)"),
    ("--hardware", "hardware", str, "hardware catalog id the benchmark ran on"),
    ("--precision", "precision", str, "precision id of the weights"),
    ("--kv-precision", "kv_precision", str, "KV-cache precision id (default: the engine's)"),
    ("--engine", "engine", str, "engine id (default: from the file where it says)"),
    ("--devices", "n_devices", int, "devices in the replica under test"),
    ("--concurrency", "batch_size", int, "concurrency of the run (AIPerf / GenAI-Perf CSV exports)"),
    ("--request-rate", "request_rate_per_s", float, "request rate of the run [1/s] (AIPerf / GenAI-Perf CSV)"),
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit the estimator's efficiency parameters to your measurements",
        description=(
            "Fit prefill/decode efficiencies and step overheads per engine and hardware family to measurements "
            "(the schema of data/measured_performance.csv or of the reference measured_calibration.csv) and "
            "write them in the schema of data/efficiency.csv. Use the result with "
            "estimate(frame, efficiency=pl.read_csv(...)) or infer-econ estimate --efficiency FILE."
        ),
        epilog="examples:\n  infer-econ calibrate my_measurements.csv --out my_efficiency.csv\n"
        "  infer-econ calibrate --out data/efficiency.csv   # refit the shipped parameters\n"
        "  infer-econ calibrate bench_*.json --hardware h100-sxm --precision bf16 --devices 1 -o params.csv\n"
        "  infer-econ calibrate llama_bench.md --format llama-bench --model qwen2-7b --hardware rtx-4090 \\\n"
        "      --devices 1 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("measurements", nargs="*", metavar="FILE",
                   help="measurement files or folders of them: a calibration CSV or benchmark results of vLLM, "
                   "SGLang, AIPerf / GenAI-Perf, llama-bench or MLPerf (default: the shipped measurements)")
    p.add_argument("--format", choices=["calibration", "auto", *_IO_FORMATS], default="auto",
                   help="input format: auto (sniffed from each file's content), calibration / csv (the "
                   "calibration schema), or one tool's result format (infer_econ.io readers)")
    for flag, dest, kind, text in _ID_FLAGS:
        p.add_argument(flag, dest=dest, type=kind, help=text)
    p.add_argument("--json", action="store_true",
                   help="print JSON for scripts: the efficiency rows (no --out) or a summary (with --out)")
    p.add_argument("-o", "--out", help="write the efficiency CSV here (default: stdout)")
    p.add_argument("--prior", help="efficiency CSV to start from (default: data/efficiency.csv)")
    p.add_argument("--min-rows", type=int, default=8, help="fewest measurements for a group's own row")
    p.add_argument("--label", help="name of the measurement set for source_detail")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from .. import calibrate

    meas = _read_measurements(args)
    prior = pl.read_csv(args.prior) if args.prior else None
    label = args.label or (", ".join(args.measurements) or "data/measured_performance.csv")
    params = calibrate.fit(meas, prior=prior, min_rows=args.min_rows, label=label)
    text = params.write_csv()
    if args.out:
        with open(args.out, "w", encoding="utf8") as fh:
            fh.write(text)
        report = calibrate.validation_report(meas, params)["overall"].row(0, named=True)
        if args.json:
            print(json.dumps({"out": args.out, "rows": params.height, "measurements": meas.height, **report},
                             default=str))
            return 0
        print(
            f"wrote {params.height} efficiency rows to {args.out}; fit on {report['n']} measurements: "
            f"median abs error {report['median_ape_pct']} %, p90 {report['p90_ape_pct']} %, "
            f"{report['within_25_pct']} % within 25 %",
            file=sys.stderr,
        )
    elif args.json:
        sys.stdout.write(json.dumps(params.to_dicts(), default=str) + "\n")
    else:
        sys.stdout.write(text)
    return 0


def _read_measurements(args: argparse.Namespace):
    """Every FILE through its reader (calibration CSVs via calibrate.measurements), normalized and stacked."""
    import polars as pl

    from .. import calibrate, io
    from ..errors import InferEconError

    if not args.measurements:
        return calibrate.measurements(None)
    ids = {dest: getattr(args, dest, None) for _, dest, _, _ in _ID_FLAGS}

    def read_one(path: str):
        if Path(path).is_dir():  # a results folder: every benchmark file in it (unrelated files skipped)
            fmt = None if args.format in ("auto", "calibration") else args.format
            return calibrate.normalize_measurements(io.read_many(path, format=fmt or "auto", **ids))
        fmt = args.format
        if fmt == "auto":
            try:
                fmt = io.sniff_format(path)
            except InferEconError:
                if not str(path).lower().endswith(".csv"):
                    raise
                fmt = "calibration"  # the project's own measurement schema (model, hardware, …)
        if fmt in ("calibration", "csv"):
            return calibrate.measurements(path)
        return calibrate.normalize_measurements(io.read_any(path, format=fmt, **ids))

    # a terminal bar on an interactive stderr when there are several files; Ctrl-C stops cleanly
    done = io.run_with_progress(read_one, args.measurements, progress="auto" if len(args.measurements) > 1 else None,
                                label="reading ")
    if done.interrupted:
        raise KeyboardInterrupt
    return done.result

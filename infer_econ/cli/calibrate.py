"""``infer-econ calibrate``: fit efficiency parameters to measurements (CSV in, efficiency CSV out)."""

from __future__ import annotations

import argparse
import sys


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
        "  infer-econ calibrate --out data/efficiency.csv   # refit the shipped parameters",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("measurements", nargs="?", help="CSV of measurements (default: the shipped ones)")
    p.add_argument("--format", choices=["calibration"], default="calibration",
                   help="input format (calibration schema; importers for other tools come via infer_econ.io)")
    p.add_argument("--out", help="write the efficiency CSV here (default: stdout)")
    p.add_argument("--prior", help="efficiency CSV to start from (default: data/efficiency.csv)")
    p.add_argument("--min-rows", type=int, default=8, help="fewest measurements for a group's own row")
    p.add_argument("--label", help="name of the measurement set for source_detail")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from .. import calibrate

    meas = calibrate.measurements(args.measurements)
    prior = pl.read_csv(args.prior) if args.prior else None
    label = args.label or (args.measurements or "data/measured_performance.csv")
    params = calibrate.fit(meas, prior=prior, min_rows=args.min_rows, label=label)
    text = params.write_csv()
    if args.out:
        with open(args.out, "w", encoding="utf8") as fh:
            fh.write(text)
        report = calibrate.validation_report(meas, params)["overall"].row(0, named=True)
        print(
            f"wrote {params.height} efficiency rows to {args.out}; fit on {report['n']} measurements: "
            f"median abs error {report['median_ape_pct']} %, p90 {report['p90_ape_pct']} %, "
            f"{report['within_25_pct']} % within 25 %",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return 0

"""``infer-econ validate``: the models' predictions against published measurements.

Each section of the report is a function in :data:`REPORTS` taking the parsed arguments and
returning text; the performance model's comes first. Another model (e.g. serving under load)
adds its section by appending its function (and its options in :func:`add_parser`).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def perf_report(args: argparse.Namespace) -> str:
    """Performance model (prefill, decode, offline throughput) vs ``data/measured_performance.csv``."""
    from .. import calibrate
    from .estimate import efficiency_from_args

    meas = calibrate.measurements(args.measurements) if args.measurements else None
    eff = efficiency_from_args(args)  # every section predicts with the --efficiency file
    report = calibrate.validation_report(meas, eff, cross_validation=args.cross_validate)
    text = calibrate.format_report(report)
    if args.chart:
        path = Path(args.chart)
        chart = calibrate.validation_chart(report["predictions"])
        _save_chart(chart, path)
        text += f"\n\nchart written to {path}"
    if args.predictions:
        report["predictions"].write_csv(args.predictions)
        text += f"\npredictions written to {args.predictions}"
    return text


def _save_chart(chart, path: Path) -> None:
    from ..errors import ValidationError

    suffix = path.suffix.lower()
    if suffix == ".html":
        chart.save(str(path))
        return
    if suffix not in (".png", ".svg"):
        raise ValidationError(f"--chart {path}: use a .png, .svg or .html file name")
    import vl_convert as vlc

    spec = chart.to_json()
    data = vlc.vegalite_to_png(spec, scale=2) if suffix == ".png" else vlc.vegalite_to_svg(spec).encode()
    path.write_bytes(data)


def serving_report(args: argparse.Namespace) -> str:
    """Serving under load (TTFT, TPOT at load) vs ``data/serving_measurements.csv`` and the serving rows."""
    import polars as pl

    from .. import catalog, serving
    from .estimate import efficiency_from_args

    meas = catalog.load("serving_measurements", extra=args.serving_measurements) if args.serving_measurements else None
    eff = efficiency_from_args(args)
    lines = ["Serving under load: predicted vs measured TTFT / TPOT (median |error| over scored rows; target 30 %)"]
    frames = []
    for mode, anchored in (("end to end (estimator + load model)", False),
                           ("load model alone (anchored at each series' lightest load)", True)):
        rep = serving.validation_report(meas, anchored=anchored, efficiency=eff)
        frames.append(rep.with_columns(pl.lit("anchored" if anchored else "end_to_end").alias("mode")))
        summ = serving.validation_summary(rep)
        lines.append(f"  {mode}:")
        for r in summ.iter_rows(named=True):
            lines.append(
                f"    {r['metric'].upper():4s} {r['statistic']:4s}  n={r['rows']:4d}  median {r['median_abs_error_pct']:6.1f} %"
                f"  p90 {r['p90_abs_error_pct']:6.1f} %  within 30 % {100 * r['within_30_pct_share']:5.1f} %"
                f"  {'meets target' if r['meets_target'] else 'misses target'}")
        if not anchored:
            ex = rep.filter(~pl.col("included")).group_by("excluded_reason").len().sort("len", descending=True)
            lines.append("    excluded: " + "; ".join(f"{why} ({n})" for why, n in ex.iter_rows()))
    if args.serving_predictions:
        pl.concat(frames).write_csv(args.serving_predictions)
        lines.append(f"serving predictions written to {args.serving_predictions}")
    return "\n".join(lines)


#: report sections, in the order printed
REPORTS = [perf_report, serving_report]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="compare predictions with published measurements",
        description="Print predicted vs measured per measurement kind, engine and hardware family (median and "
        "p90 absolute percentage error, share within 25 %, count) and optionally write a chart.",
        epilog="examples:\n  infer-econ validate\n  infer-econ validate --cross-validate --chart validation.png\n"
        "  infer-econ validate --measurements mine.csv --efficiency my_efficiency.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--measurements", help="measurements CSV (default: data/measured_performance.csv)")
    p.add_argument("--efficiency", help="efficiency CSV (default: data/efficiency.csv)")
    p.add_argument("--cross-validate", action="store_true",
                   help="also refit without each hardware family and predict it (leave-one-family-out; ~1 min)")
    p.add_argument("--chart", help="write the predicted-vs-measured chart (.png, .svg or .html)")
    p.add_argument("--predictions", help="write every prediction with its error to this CSV")
    p.add_argument("--serving-measurements",
                   help="your own load points (schema of data/serving_measurements.csv), added to the shipped ones")
    p.add_argument("--serving-predictions", help="write every serving prediction with its error to this CSV")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for report in REPORTS:
        print(report(args))
        print()
    return 0

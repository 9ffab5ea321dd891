"""``infer-econ catalog NAME``: print a catalog as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "catalog",
        help="print a catalog (hardware, models, prices, …)",
        description="Print a shipped catalog, optionally merged with your own rows (--extra).",
        epilog="examples:\n  infer-econ catalog --list\n  infer-econ catalog hardware --format json\n"
        "  infer-econ catalog cloud_prices --extra my_prices.csv --format csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", nargs="?", help="catalog name (see --list)")
    p.add_argument("--list", action="store_true", help="list the catalog names")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--extra", help="a CSV file of your own rows, validated and merged")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from .. import catalog
    from ..errors import ValidationError

    if args.list or not args.name:
        for n in catalog.names():
            print(n)
        return 0
    frame = catalog.load(args.name, extra=args.extra)
    if args.format == "csv":
        sys.stdout.write(frame.write_csv())
    elif args.format == "json":
        json.dump(frame.to_dicts(), sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        if frame.height == 0:
            raise ValidationError(f"catalog {args.name!r} is empty")
        with pl.Config(tbl_rows=frame.height, tbl_cols=12, fmt_str_lengths=40, tbl_width_chars=200):
            print(frame)
    return 0

"""``infer-econ evaluate``: estimate plus cost, energy and carbon for one scenario.

The price options (:func:`add_price_arguments`, :func:`price_columns`) are shared with
``infer-econ estimate``, which adds the same economics columns when one of them is given.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

#: (flag, column, type, help) of the economics options
PRICE_OPTIONS = [
    ("--provider", "provider", str, "cloud provider of the price (cloud_prices catalog: aws, gcp, azure, lambda, …)"),
    ("--region", "region", str, "provider region (default: the provider's cheapest)"),
    ("--price-model", "price_model", str, "on_demand, spot, reserved_1y, reserved_3y or owned"),
    ("--usd-per-device-hour", "usd_per_device_hour", float, "your price per device-hour [USD/h]; overrides the catalog"),
    ("--utilization", "utilization", float, "share of paid hours that produce tokens, in (0, 1] (default 1)"),
    ("--capex-usd-per-device", "capex_usd_per_device", float, "owned: price per device incl. its server share [USD]"),
    ("--electricity-usd-per-kwh", "electricity_usd_per_kwh", float, "owned: electricity price [USD/kWh]"),
    ("--electricity-region", "electricity_region", str, "owned: electricity_prices id for the price (e.g. US-TX, IE)"),
    ("--pue", "pue", float, "facility power usage effectiveness (default: the documented owned / cloud default)"),
    ("--grid-region", "grid_region", str, "grid_carbon id for operational CO2 (e.g. country:DE, aws:us-east-1)"),
    ("--grid-g-co2e-per-kwh", "grid_g_co2e_per_kwh", float, "your grid carbon intensity [g CO2e/kWh]"),
]

#: columns printed by the table view (all columns go to --json)
SHOWN = [
    "fits", "batch_size_used", "output_tokens_per_s", "ttft_s", "tpot_s", "utilization", "price_source",
    "usd_per_device_hour", "usd_per_hour", "usd_per_million_output_tokens", "usd_per_million_tokens", "usd_per_request",
    "accelerator_power_w", "power_w", "energy_j_per_output_token", "kwh_per_million_output_tokens",
    "grid_region", "grid_metric", "grid_g_co2e_per_kwh", "g_co2e_per_request", "g_co2e_per_request_embodied",
]


def add_price_arguments(p: argparse.ArgumentParser) -> None:
    """Register the economics options on a parser."""
    g = p.add_argument_group("economics")
    for flag, col, typ, help_ in PRICE_OPTIONS:
        g.add_argument(flag, dest=col, type=typ, default=None, help=help_)


def price_columns(args: argparse.Namespace) -> dict:
    """The economics options the user gave, as scenario columns (empty when none was given)."""
    return {col: getattr(args, col) for _, col, _, _ in PRICE_OPTIONS if getattr(args, col, None) is not None}


def _add_scenario_arguments(p: argparse.ArgumentParser) -> None:
    from .estimate import add_scenario_arguments  # the estimator's own argument builder

    add_scenario_arguments(p)


def _scenario(args: argparse.Namespace):
    from .estimate import scenario_from_args

    return scenario_from_args(args)


def with_price_columns(frame, args: argparse.Namespace):
    """``frame`` plus the economics options the user gave, as columns."""
    import polars as pl

    cols = price_columns(args)
    return frame.with_columns(pl.lit(v).alias(k) for k, v in cols.items())


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="estimate plus cost per token, energy and CO2",
        description="Estimate one deployment and add what it costs (rented or owned), the power it draws "
        "(devices alone and at the facility meter) and its CO2 per request.",
        epilog="examples:\n"
        "  infer-econ evaluate --model llama-3.1-70b --hardware h100-sxm --precision fp8 --engine vllm \\\n"
        "      --devices 4 --input-tokens 2000 --output-tokens 500 --provider aws --price-model on_demand\n"
        "  infer-econ evaluate --model llama-3.1-8b --hardware l40s --precision fp8 --engine vllm --devices 1 \\\n"
        "      --input-tokens 1000 --output-tokens 200 --price-model owned --utilization 0.5 --grid-region country:DE --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_scenario_arguments(p)
    add_price_arguments(p)
    g = p.add_argument_group("load and uncertainty")
    g.add_argument("--request-rate", dest="request_rate_per_s", type=float, default=None,
                   help="Poisson request rate [1/s]: adds latency under load (p50/p99 TTFT and TPOT)")
    g.add_argument("--uncertainty", action="store_true", help="add p10/p50/p90 bands for cost, energy and CO2")
    g.add_argument("--draws", type=int, default=1000, help="Monte Carlo draws for --uncertainty")
    g.add_argument("--seed", type=int, default=0, help="random seed for --uncertainty")
    p.add_argument("--json", action="store_true", help="print every output column as JSON")
    p.set_defaults(run=run)


def _clean(v):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    return v


def print_result(out, as_json: bool) -> None:
    """Print an evaluated frame: JSON rows with every column, or a two-column table of the main ones."""
    if as_json:
        rows = [{k: _clean(v) for k, v in r.items()} for r in out.to_dicts()]
        json.dump(rows[0] if len(rows) == 1 else rows, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
        return
    r = out.row(0, named=True)
    extra = [c for c in out.columns if c.endswith(("_p10", "_p50", "_p90")) or c in ("ttft_p99_s", "tpot_p99_s", "stable")]
    width = max(len(c) for c in SHOWN + extra)
    for c in SHOWN + extra:
        if c not in r:
            continue
        v = r[c]
        text = f"{v:.6g}" if isinstance(v, float) else str(v)
        print(f"{c:<{width}}  {text}")


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from ..pipeline import evaluate
    from .estimate import efficiency_from_args

    frame = with_price_columns(_scenario(args), args)
    if args.request_rate_per_s is not None:
        frame = frame.with_columns(pl.lit(args.request_rate_per_s).alias("request_rate_per_s"))
    out = evaluate(frame, uncertainty=args.uncertainty, draws=args.draws, seed=args.seed, efficiency=efficiency_from_args(args))
    print_result(out, args.json)
    return 0

"""``infer-econ plan``: the cheapest fleet that meets a latency SLO at a request rate."""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """examples:
  infer-econ plan --model llama-3.1-8b --hardware h100-sxm --precision bf16 --engine vllm \\
      --requests-per-s 20 --input-tokens 1000 --output-tokens 200 \\
      --slo-ttft-p99-s 2 --slo-tpot-p99-s 0.1 --provider aws
  infer-econ plan --model llama-3.1-70b --hardware h100-sxm h200 --precision fp8 --engine vllm \\
      --devices 2 4 8 --requests-per-s 5 --input-tokens 2000 --output-tokens 400 \\
      --slo-ttft-p99-s 2 --slo-tpot-p99-s 0.05 --usd-per-device-hour 2.5 --json
  infer-econ plan --model llama-3.1-8b --hardware l40s --precision fp8 --engine vllm \
      --demand-csv my_hourly_demand.csv --slo-ttft-p99-s 1 --slo-tpot-p99-s 0.05 --provider aws
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help="cheapest fleet (replicas, devices, batch cap) that meets a TTFT/TPOT SLO",
        description="Size a serving fleet for a request rate and a latency SLO: for every model / hardware / "
        "precision, the cheapest replica layout, batch cap and replica count whose p99 TTFT and TPOT "
        "meet the targets (infer_econ.serving.capacity).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", nargs="+", required=True, help="model id(s)")
    p.add_argument("--hardware", nargs="+", required=True, help="hardware id(s)")
    p.add_argument("--precision", nargs="+", required=True, help="precision id(s)")
    p.add_argument("--engine", nargs="+", required=True, help="engine id(s)")
    p.add_argument("--devices", nargs="+", type=int, default=[1, 2, 4, 8],
                   help="devices per replica to try (tensor parallel), default 1 2 4 8")
    p.add_argument("--requests-per-s", type=float, help="demand, whole fleet [requests/s]")
    p.add_argument("--demand-csv", help="hourly demand CSV (hour or timestamp; request_rate_per_s or requests): "
                   "size for its peak hour")
    p.add_argument("--input-tokens", type=float, help="mean prompt length [tokens] (or from --demand-csv)")
    p.add_argument("--output-tokens", type=float, help="mean output length [tokens] (or from --demand-csv)")
    p.add_argument("--slo-ttft-p99-s", type=float, required=True, help="p99 time to first token target [s]")
    p.add_argument("--slo-tpot-p99-s", type=float, required=True, help="p99 time per output token target [s]")
    p.add_argument("--provider", help="cloud provider for prices (cloud_prices catalog), e.g. aws")
    p.add_argument("--price-model", default="on_demand", choices=["on_demand", "spot", "reserved_1y", "reserved_3y"])
    p.add_argument("--region", help="cloud region (default: the provider's cheapest)")
    p.add_argument("--usd-per-device-hour", type=float, help="explicit price per device-hour [USD/h] (overrides --provider)")
    p.add_argument("--no-chunked-prefill", action="store_true", help="model an engine without chunked prefill")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import itertools

    import polars as pl

    from .. import demand, serving
    from ..errors import ValidationError

    if args.usd_per_device_hour is None and not args.provider:
        raise ValidationError("plan: give --provider (prices from the cloud_prices catalog) or --usd-per-device-hour")
    if (args.requests_per_s is None) == (args.demand_csv is None):
        raise ValidationError("plan: give exactly one of --requests-per-s and --demand-csv")
    prof = demand.read_demand_csv(args.demand_csv) if args.demand_csv else None
    if any(d < 1 for d in args.devices):
        raise ValidationError(f"--devices: expected whole numbers >= 1, got {args.devices}")
    rows = list(itertools.product(args.model, args.hardware, args.precision, args.engine, sorted(set(args.devices))))
    cand = pl.DataFrame(rows, schema=["model", "hardware", "precision", "engine", "n_devices"], orient="row")
    cand = cand.with_columns(pl.col("n_devices").alias("tensor_parallel"))
    if args.usd_per_device_hour is not None:
        cand = cand.with_columns(pl.lit(float(args.usd_per_device_hour)).alias("usd_per_device_hour"))
    out = serving.capacity(
        cand,
        demand=prof,
        request_rate_per_s=args.requests_per_s,
        input_tokens=args.input_tokens,
        output_tokens=args.output_tokens,
        slo_ttft_p99_s=args.slo_ttft_p99_s,
        slo_tpot_p99_s=args.slo_tpot_p99_s,
        provider=args.provider,
        price_model=args.price_model,
        region=args.region,
        chunked_prefill=not args.no_chunked_prefill,
    )
    if args.json:
        json.dump(out.to_dicts(), sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
        return 0
    show = out.select(
        "model", "hardware", "precision", "engine", pl.col("n_devices").alias("devices/replica"), "replicas",
        "batch_cap", pl.col("utilization").round(3), (pl.col("ttft_p99_s") * 1000).round(1).alias("ttft_p99_ms"),
        (pl.col("tpot_p99_s") * 1000).round(2).alias("tpot_p99_ms"), pl.col("usd_per_hour").round(2),
        pl.col("usd_per_million_tokens").round(4),
    )
    with pl.Config(tbl_rows=show.height, tbl_cols=-1, fmt_str_lengths=30, tbl_width_chars=220,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(show)
    rate = args.requests_per_s if prof is None else float(prof["request_rate_per_s"].max())
    i_tok = args.input_tokens if args.input_tokens is not None else float(prof["input_tokens"].mean())
    o_tok = args.output_tokens if args.output_tokens is not None else float(prof["output_tokens"].mean())
    print(f"demand {rate:g} req/s{' (peak hour)' if prof is not None else ''} × ({i_tok:g} in + {o_tok:g} out) tokens; "
          f"SLO p99 TTFT ≤ {args.slo_ttft_p99_s:g} s, p99 TPOT ≤ {args.slo_tpot_p99_s:g} s")
    return 0

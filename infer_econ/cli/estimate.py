"""``infer-econ estimate``: memory fit and speed of one scenario (table or JSON).

:func:`add_scenario_arguments` and :func:`scenario_from_args` are reusable: a command that needs
a scenario plus its own options (prices, energy) calls them and adds its arguments.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

#: (argument, column, type, help) of the scenario options
SCENARIO_ARGUMENTS = [
    ("--model", "model", str, "model id (infer-econ catalog models)"),
    ("--hardware", "hardware", str, "hardware id (infer-econ catalog hardware)"),
    ("--precision", "precision", str, "weight precision id (infer-econ catalog precisions)"),
    ("--engine", "engine", str, "engine id (infer-econ catalog engines)"),
    ("--devices", "n_devices", int, "devices in the deployment"),
    ("--input-tokens", "input_tokens", int, "prompt tokens per request"),
    ("--output-tokens", "output_tokens", int, "generated tokens per request"),
    ("--batch", "batch_size", int, "concurrent sequences per replica (default: the most that fit)"),
    ("--context-depth", "context_depth", int, "tokens already cached before the prompt (default 0)"),
    ("--kv-precision", "kv_precision", str, "KV-cache precision id (default: the precision's default)"),
    ("--tensor-parallel", "tensor_parallel", int, "tensor-parallel degree (default: all devices)"),
    ("--pipeline-parallel", "pipeline_parallel", int, "pipeline-parallel degree (default 1)"),
]
_REQUIRED = {"--model", "--hardware", "--precision", "--engine", "--devices", "--input-tokens", "--output-tokens"}
#: (argument, column, help) of the on/off scenario options: given, the column is false
SCENARIO_SWITCHES = [
    ("--static-batch", "continuous_batching",
     "static batches: the whole batch prefilled together, then decoded to the end (default: the engine's)"),
    ("--no-flash-attention", "flash_attention",
     "unfused attention: the score matrix goes through memory, as llama.cpp without -fa (default: fused)"),
    ("--ungrouped-kv-attention", "grouped_kv_attention",
     "a decode attention kernel that is not GQA-aware: each query head reads its KV head's cache, as TensorRT-LLM "
     "before XQA (default: grouped)"),
]


def add_scenario_arguments(p: argparse.ArgumentParser) -> None:
    """Add the scenario options (model, hardware, … , token counts) and ``--efficiency`` to ``p``."""
    for flag, dest, typ, help_ in SCENARIO_ARGUMENTS:
        p.add_argument(flag, dest=dest, type=typ, required=flag in _REQUIRED, help=help_)
    for flag, dest, help_ in SCENARIO_SWITCHES:
        p.add_argument(flag, dest=dest, action="store_false", default=None, help=help_)
    p.add_argument("--efficiency", help="efficiency CSV (e.g. from infer-econ calibrate) instead of the shipped one")


def scenario_from_args(args: argparse.Namespace):
    """The one-row scenario frame the options describe (optional columns only when given)."""
    import polars as pl

    row = {}
    for _flag, dest, typ, _ in SCENARIO_ARGUMENTS:
        value = getattr(args, dest, None)
        if value is not None:
            row[dest] = [value]
    for _flag, dest, _ in SCENARIO_SWITCHES:
        if getattr(args, dest, None) is False:
            row[dest] = pl.Series(dest, [False], dtype=pl.Boolean)
    return pl.DataFrame(row)


def efficiency_from_args(args: argparse.Namespace):
    """The ``--efficiency`` frame, or None for the shipped parameters."""
    import polars as pl

    from ..errors import ValidationError

    path = getattr(args, "efficiency", None)
    if not path:
        return None
    try:
        return pl.read_csv(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ValidationError(f"--efficiency {path}: cannot read it as CSV ({str(exc).splitlines()[0]})") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "estimate",
        help="memory fit, prefill and decode speed of one scenario",
        description="Estimate whether a model fits and how fast it runs: weights and KV cache per device, "
        "the batch that fits, prefill time, time to first token, time per output token and throughput.",
        epilog="examples:\n  infer-econ estimate --model llama-3.1-8b --hardware h100-sxm --precision bf16 \\\n"
        "      --engine vllm --devices 1 --input-tokens 1000 --output-tokens 200\n"
        "  infer-econ estimate --model llama-3.1-70b --hardware a100-sxm-80gb --precision fp16 \\\n"
        "      --engine vllm --devices 4 --batch 16 --input-tokens 2000 --output-tokens 500 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_scenario_arguments(p)
    from .evaluate import add_price_arguments  # price options: the economics columns of ``evaluate`` are added

    add_price_arguments(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


_LABELS = [
    ("fits", "fits", ""),
    ("limit", "what binds", ""),
    ("tensor_parallel_used", "tensor parallel", ""),
    ("pipeline_parallel_used", "pipeline parallel", ""),
    ("replicas", "replicas", ""),
    ("batch_size_max", "largest batch that fits", "sequences"),
    ("batch_size_used", "batch used", "sequences"),
    ("weights_gb_per_device", "weights per device", "GB"),
    ("kv_cache_gb_per_device", "KV cache per device", "GB"),
    ("kv_budget_gb_per_device", "KV budget per device", "GB"),
    ("prefill_s", "prefill of the batch", "s"),
    ("ttft_s", "time to first token", "s"),
    ("tpot_s", "time per output token", "s"),
    ("prefill_tokens_per_s", "prefill throughput per replica", "tokens/s"),
    ("decode_tokens_per_s", "decode throughput per replica", "tokens/s"),
    ("output_tokens_per_s", "output throughput of the deployment", "tokens/s"),
    ("items_per_s", "items per second", "items/s"),
    ("decode_bound", "decode is bound by", ""),
    ("efficiency_id", "efficiency parameters (row id)", ""),
]


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def format_table(row: dict) -> str:
    """Two-column text table of one estimate row."""
    lines = []
    for key, label, unit in _LABELS:
        if key in row and (row[key] is not None or key in ("limit",)):
            lines.append(f"{label + (f' [{unit}]' if unit else ''):<48} {_fmt(row[key])}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from .. import perf

    from .evaluate import price_columns, with_price_columns

    frame = scenario_from_args(args)
    efficiency = efficiency_from_args(args)
    est = perf.estimate(with_price_columns(frame, args), efficiency=efficiency)
    est = perf.efficiency_basis(est, efficiency=efficiency)  # which efficiency row the numbers rest on
    if price_columns(args):  # price options given: the same economics columns as ``infer-econ evaluate``
        from ..pipeline import add_economics

        est = add_economics(est)
    row = est.row(0, named=True)
    if args.json:
        json.dump({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()},
                  sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
        return 0
    head = f"{row['model']} on {row['n_devices']} × {row['hardware']}, {row['precision']}, {row['engine']}"
    print(head)
    print("-" * len(head))
    print(format_table(row))
    if price_columns(args):
        from .evaluate import SHOWN

        for key in SHOWN[5:]:
            print(f"{key:<48} {_fmt(row.get(key))}")
    if not row["efficiency_fitted"]:
        print(f"\nnot calibrated on {row['engine']} for this hardware family: the efficiencies are "
              f"{row['efficiency_basis']}; expect errors like those of the leave-one-hardware-family-out check "
              "(docs/validation.md), not those of the fit")
    if not row["fits"]:
        why = {
            "unsupported": "the engine does not run this precision, this vendor's hardware or tensor parallelism, "
                           "or the devices have no device-to-device link for tensor parallelism (interconnect 0 GB/s)",
            "context": "the request is longer than the model's context window",
            "weights": "the weights (with runtime and workspace) do not fit in the engine's share of memory",
            "kv_cache": "not enough memory left for the KV cache of the requested batch",
        }.get(row["limit"], "")
        print(f"\ndoes not fit: {why}")
    return 0

"""The table of bad inputs: every boundary of infer-econ, what is tried and what the user must get.

One :class:`Case` per bad input. ``tests/test_bad_inputs.py`` runs every case
and asserts the error type (an :class:`~infer_econ.errors.InferEconError`
subclass), that the message names the offending column / value / file / row,
and that nothing is lost (the caller's frames are unchanged, the user's files
byte-identical). ``scripts/build_bad_inputs_doc.py`` writes
``docs/bad_inputs.md`` from the same table (input tried → what the user gets).

Kinds of case:

- ``call``: ``run()`` must raise ``error`` whose message contains every
  string of ``names``.
- ``cli``: ``run`` is an argv list for :func:`infer_econ.cli.main`: exit code
  2, exactly one line on stderr containing ``names``, no traceback.
- ``ui``: ``run()`` drives a workbook app and returns what the user sees (the
  status line, or the knob value after a clamp); it must contain ``names`` and
  never a traceback.

Cases generated over columns (every numeric input × {0, -1, NaN, inf, null,
text}) come from the functions' documented columns and the catalogs' column
dictionaries, each naming its column.
"""

from __future__ import annotations

import atexit
import functools
import json
import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from infer_econ.errors import CatalogError, InferEconError, UnknownIdError, ValidationError

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "tests" / "data"
#: Folder holding the bad files; shown as ``<dir>`` in the doc (removed when the process ends).
WORKDIR = Path(tempfile.mkdtemp(prefix="ie-bad-inputs-"))
atexit.register(shutil.rmtree, WORKDIR, ignore_errors=True)


@dataclass(frozen=True)
class Case:
    area: str
    tried: str
    run: Any
    error: type = InferEconError
    names: tuple[str, ...] = ()
    kind: str = "call"
    frames: tuple = ()
    files: tuple = ()
    xfail: str | None = None
    key: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        return self.key


CASES: list[Case] = []


def add(area: str, tried: str, run: Any, error: type = InferEconError, names=(), **kw) -> None:
    key = f"{area}-{len([c for c in CASES if c.area == area]) + 1:03d}"
    CASES.append(Case(area, tried, run, error, tuple(names), key=key, **kw))


def _file(name: str, content: str | bytes) -> Path:
    p = WORKDIR / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


def _sparse(name: str, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (over an upload cap)."""
    p = WORKDIR / name
    with open(p, "wb") as fh:
        fh.truncate(size)
    return p


# =========================================================================== estimate
BASE = {"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"], "precision": ["bf16"], "engine": ["vllm"],
        "n_devices": [1], "input_tokens": [1000], "output_tokens": [200]}


def scenario_frame(**over) -> pl.DataFrame:
    data = dict(BASE)
    schema: dict[str, Any] = {}
    for k, v in over.items():
        data[k] = [v]
        if v is None:
            schema[k] = pl.Int64
        elif isinstance(v, float):
            schema[k] = pl.Float64
    return pl.DataFrame(data, schema_overrides=schema)


def _estimate(frame, **kw):
    import infer_econ

    return infer_econ.estimate(frame, **kw)


def _evaluate(frame, **kw):
    import infer_econ

    return infer_econ.evaluate(frame, **kw)


#: numeric estimator inputs: (required, zero allowed)
ESTIMATE_NUMERIC = {
    "n_devices": (True, False), "input_tokens": (True, False), "output_tokens": (True, False),
    "batch_size": (False, False), "context_depth": (False, True), "tensor_parallel": (False, False),
    "pipeline_parallel": (False, False),
}
BAD_NUMBERS = {"0": 0, "-1": -1, "NaN": float("nan"), "inf": float("inf"), "null": None, "1.5": 1.5,
               "text '2'": "2"}

for col, (required, zero_ok) in ESTIMATE_NUMERIC.items():
    for label, v in BAD_NUMBERS.items():
        if label == "0" and zero_ok:
            continue
        if label == "null" and not required:
            continue
        f = scenario_frame(**{col: v})
        add("estimate", f"estimate with {col} = {label}", functools.partial(_estimate, f), ValidationError,
            [repr(col)], frames=(f,))

for col, good in (("model", "llama-3.1-8b"), ("hardware", "h100-sxm"), ("precision", "bf16"), ("engine", "vllm"),
                  ("kv_precision", "fp8")):
    f = scenario_frame(**{col: "nope-x"})
    add("estimate", f"estimate with unknown {col} 'nope-x'", functools.partial(_estimate, f), UnknownIdError,
        ["'nope-x'", good], frames=(f,))
    f = scenario_frame(**{col: 3})
    add("estimate", f"estimate with {col} given as a number (3)", functools.partial(_estimate, f), ValidationError,
        [repr(col)], frames=(f,))
for col in BASE:
    f = pl.DataFrame({k: v for k, v in BASE.items() if k != col})
    add("estimate", f"estimate without the required column {col}", functools.partial(_estimate, f), ValidationError,
        [repr(col)], frames=(f,))
add("estimate", "estimate of a dict instead of a frame", functools.partial(_estimate, dict(BASE)), ValidationError,
    ["DataFrame"])
add("estimate", "estimate of a frame with no columns", functools.partial(_estimate, pl.DataFrame()), ValidationError,
    ["'model'", "'n_devices'"])
_f = scenario_frame(n_devices=2, tensor_parallel=3)
add("estimate", "estimate with n_devices 2 and tensor_parallel 3 (no pipeline_parallel column)",
    functools.partial(_estimate, _f), ValidationError, ["n_devices", "tensor_parallel"], frames=(_f,))
_f = pl.concat([scenario_frame(), scenario_frame(), scenario_frame(output_tokens=-5)])
add("estimate", "estimate of 3 rows, the third with output_tokens -5", functools.partial(_estimate, _f),
    ValidationError, ["'output_tokens'", "row 2", "-5"], frames=(_f,))
_f = scenario_frame(n_devices=0)
add("estimate", "estimate of a LazyFrame with n_devices 0", lambda f=_f: _estimate(f.lazy()), ValidationError,
    ["'n_devices'"], frames=(_f,))
_f = scenario_frame()
add("estimate", "estimate with an efficiency frame lacking its columns",
    functools.partial(_estimate, _f, efficiency=pl.DataFrame({"a": [1]})), ValidationError,
    ["efficiency", "prefill_compute_efficiency"], frames=(_f,))
add("estimate", "estimate with a hardware catalog frame lacking its columns",
    functools.partial(_estimate, _f, hardware=pl.DataFrame({"a": [1]})), ValidationError,
    ["hardware", "memory_bandwidth_gb_per_s"], frames=(_f,))



def _catalog_frame(name: str, **cols):
    from infer_econ import catalog

    return catalog.load(name).with_columns(pl.lit(v).alias(c) for c, v in cols.items())


for name, col, v in (("hardware", "memory_bandwidth_gb_per_s", 0.0), ("hardware", "memory_gb", -80.0),
                     ("efficiency", "decode_bandwidth_efficiency", -0.5), ("models", "n_layers", -3)):
    add("estimate", f"estimate(..., {name}=<catalog frame with {col} = {v:g}>)",
        lambda name=name, col=col, v=v: _estimate(scenario_frame(), **{name: _catalog_frame(name, **{col: v})}),
        CatalogError, [repr(col), f"{name}= frame"])


def _check_values(name: str, **cols):
    from infer_econ import catalog

    return catalog.check_values(name, _catalog_frame(name, **cols))


for name, col, v in (("hardware", "memory_bandwidth_gb_per_s", 0.0), ("hardware", "tdp_w", float("nan")),
                     ("efficiency", "decode_bandwidth_efficiency", -0.5), ("models", "n_layers", -3),
                     ("cloud_prices", "usd_per_device_hour", float("inf")), ("precisions", "bits_per_weight", 0.0)):
    add("catalog", f"catalog.check_values({name!r}, frame with {col} = {v:g})",
        functools.partial(_check_values, name, **{col: v}), CatalogError, [f"{name} frame", repr(col), "row 0"])


def _fit(meas=None, **kw):
    from infer_econ import calibrate

    m = calibrate.measurements().head(40) if meas is None else meas
    return calibrate.fit(m, **kw)


add("estimate", "calibrate.fit(max_nfev=0)", functools.partial(_fit, max_nfev=0), ValidationError, ["max_nfev", "0"])
add("estimate", "calibrate.fit of measurements whose measured values are all NaN",
    lambda: _fit(__import__("infer_econ.calibrate").calibrate.measurements().head(40).with_columns(
        pl.lit(float("nan")).alias("measured")), max_nfev=5), ValidationError, ["no usable measurements"])
add("estimate", "calibrate.fit of a frame without the 'kind' column",
    lambda: _fit(__import__("infer_econ.calibrate").calibrate.measurements().head(40).drop("kind"), max_nfev=5),
    ValidationError, ["'kind'"])


# =========================================================================== evaluate (economics)
OWNED = {"price_model": "owned"}
RENTED = {"provider": "aws", "price_model": "on_demand"}
ECON_BAD = [
    ("usd_per_device_hour", -1.0, {}), ("usd_per_device_hour", float("nan"), {}),
    ("usd_per_device_hour", float("inf"), {}), ("usd_per_device_hour", "2,50", {}),
    ("utilization", 0.0, {}), ("utilization", -0.1, {}), ("utilization", 1.5, {}), ("utilization", float("nan"), {}),
    ("utilization", float("inf"), {}), ("utilization", "full", {}),
    ("pue", 0.5, OWNED), ("pue", float("inf"), OWNED), ("pue", float("nan"), OWNED),
    ("depreciation_years", 0.0, OWNED), ("depreciation_years", -3.0, OWNED),
    ("interest_rate", -0.1, OWNED), ("interest_rate", float("inf"), OWNED),
    ("electricity_usd_per_kwh", -0.1, OWNED), ("electricity_usd_per_kwh", float("inf"), OWNED),
    ("hosting_usd_per_kw_month", -1.0, OWNED), ("ops_usd_per_device_year", -1.0, OWNED),
    ("capex_usd_per_device", -1.0, OWNED), ("capex_usd_per_device", float("nan"), OWNED),
    ("grid_g_co2e_per_kwh", -5.0, RENTED), ("grid_g_co2e_per_kwh", float("inf"), RENTED),
    ("grid_g_co2e_per_kwh", float("nan"), RENTED),
]
for col, v, extra in ECON_BAD:
    f = scenario_frame(**extra, **{col: v})
    add("evaluate", f"evaluate with {col} = {v!r}" + (f" ({extra['price_model']})" if extra else ""),
        functools.partial(_evaluate, f), ValidationError, [repr(col)], frames=(f,))
for col, v, extra, err, names in [
    ("price_model", "bogus", {"provider": "aws"}, ValidationError, ["'price_model'", "'bogus'", "on_demand"]),
    ("price_model", 3, {"provider": "aws"}, ValidationError, ["'price_model'"]),
    ("provider", 3, {"price_model": "on_demand"}, ValidationError, ["'provider'"]),
    ("provider", "nope", {"price_model": "on_demand"}, UnknownIdError, ["'nope", "aws/"]),
    ("region", "mars", RENTED, UnknownIdError, ["mars", "aws/"]),
    ("grid_region", "zz", RENTED, UnknownIdError, ["'zz'", "grid_region"]),
    ("request_rate_per_s", 0.0, RENTED, ValidationError, ["'request_rate_per_s'"]),
    ("request_rate_per_s", -1.0, RENTED, ValidationError, ["'request_rate_per_s'"]),
    ("request_rate_per_s", float("nan"), RENTED, ValidationError, ["'request_rate_per_s'"]),
    ("request_rate_per_s", float("inf"), RENTED, ValidationError, ["'request_rate_per_s'"]),
    ("request_rate_per_s", "fast", RENTED, ValidationError, ["'request_rate_per_s'"]),
    ("concurrency", 0, RENTED, ValidationError, ["'concurrency'"]),
    ("concurrency", -4, RENTED, ValidationError, ["'concurrency'"]),
    ("model", "gpt-17", RENTED, UnknownIdError, ["'gpt-17'", "llama-3.1-8b"]),
    ("n_devices", 0, RENTED, ValidationError, ["'n_devices'"]),
]:
    f = scenario_frame(**{**extra, col: v})
    add("evaluate", f"evaluate with {col} = {v!r}", functools.partial(_evaluate, f), err, names, frames=(f,))
_f = scenario_frame(**RENTED)
add("evaluate", "evaluate(uncertainty=True, draws=0)", functools.partial(_evaluate, _f, uncertainty=True, draws=0),
    ValidationError, ["draws", "0"], frames=(_f,))


# =========================================================================== serving
def _lul(frame, **kw):
    from infer_econ import serving

    return serving.latency_under_load(_estimate(frame), **kw)


def _capacity(**over):
    from infer_econ import serving

    cand = pl.DataFrame({k: v for k, v in BASE.items() if k in ("model", "hardware", "precision", "engine",
                                                                   "n_devices")})
    kw = {"request_rate_per_s": 5.0, "input_tokens": 1000, "output_tokens": 200, "slo_ttft_p99_s": 2.0,
          "slo_tpot_p99_s": 0.1, "provider": "aws"}
    frame = over.pop("candidates", cand)
    kw.update(over)
    return serving.capacity(frame, **kw)


_f = scenario_frame()
add("serving", "latency_under_load without request_rate_per_s or concurrency", functools.partial(_lul, _f),
    ValidationError, ["request_rate_per_s", "concurrency"], frames=(_f,))
_f = scenario_frame(request_rate_per_s=1.0)
add("serving", "latency_under_load(method='magic')", functools.partial(_lul, _f, method="magic"), ValidationError,
    ["'magic'", "analytical"], frames=(_f,))
add("serving", "latency_under_load(method='simulation', n_requests=0)",
    functools.partial(_lul, _f, method="simulation", n_requests=0), ValidationError, ["n_requests", "0"],
    frames=(_f,))
for col, v in (("input_length_dist", "weird"), ("output_length_dist", "zipf")):
    f = scenario_frame(request_rate_per_s=1.0, **{col: v})
    add("serving", f"latency_under_load with {col} = {v!r}", functools.partial(_lul, f), ValidationError,
        [repr(v), "lognormal"], frames=(f,))
for col, v in (("length_cv", -1.0), ("length_cv", float("nan")), ("prefill_chunk_tokens", 0),
               ("concurrency", float("inf"))):
    f = scenario_frame(request_rate_per_s=1.0, **{col: v}) if col != "concurrency" else scenario_frame(**{col: v})
    add("serving", f"latency_under_load with {col} = {v!r}", functools.partial(_lul, f), ValidationError,
        [repr(col)], frames=(f,))
for arg in ("request_rate_per_s", "input_tokens", "output_tokens", "slo_ttft_p99_s", "slo_tpot_p99_s"):
    for v in (0, -1.0, float("nan"), float("inf")):
        add("serving", f"capacity({arg}={v!r})", functools.partial(_capacity, **{arg: v}), ValidationError, [arg])
add("serving", "capacity with an SLO no hardware meets (TPOT p99 ≤ 1 ns)",
    functools.partial(_capacity, slo_tpot_p99_s=1e-9), ValidationError, ["TPOT", "best achievable"])
add("serving", "capacity(max_replicas=0)", functools.partial(_capacity, max_replicas=0), ValidationError,
    ["max_replicas", "0"])
add("serving", "capacity(batch_caps=[0])", functools.partial(_capacity, batch_caps=[0]), ValidationError,
    ["batch_caps"])
add("serving", "capacity with candidates lacking 'engine'",
    functools.partial(_capacity, candidates=pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"],
                                                          "precision": ["bf16"], "n_devices": [1]})),
    ValidationError, ["engine"])
add("serving", "capacity with an unknown provider", functools.partial(_capacity, provider="nope"), UnknownIdError,
    ["nope", "aws/"])
add("serving", "capacity with an unknown model",
    functools.partial(_capacity, candidates=pl.DataFrame({"model": ["zz-7b"], "hardware": ["h100-sxm"],
                                                          "precision": ["bf16"], "engine": ["vllm"],
                                                          "n_devices": [1]})),
    UnknownIdError, ["'zz-7b'"])

# =========================================================================== cost / energy / value frame functions
CASCADE = pl.DataFrame({"small_usd_per_request": [0.01], "small_accuracy": [0.7], "large_usd_per_request": [0.1],
                        "large_accuracy": [0.9], "escalation_share": [0.3]})
EDGE = pl.DataFrame({"edge_capex_usd": [3000.0], "edge_lifetime_years": [3.0], "edge_power_w": [60.0],
                     "edge_idle_power_w": [10.0], "edge_requests_per_s": [1.0], "edge_latency_s": [0.5],
                     "electricity_usd_per_kwh": [0.2], "cloud_usd_per_request": [0.001], "cloud_latency_s": [0.3],
                     "egress_gb_per_request": [1e-5]})
LOCK = pl.DataFrame({"api_monthly_cost_usd": [1000.0], "self_hosted_monthly_cost_usd": [800.0]})
PARETO = pl.DataFrame({"usd_per_million_output_tokens": [1.0, 2.0], "accuracy": [0.5, 0.7]})


def _value(fn: str, frame, **kw):
    from infer_econ import value

    return getattr(value, fn)(frame, **kw)


for col in CASCADE.columns:
    f = CASCADE.drop(col)
    add("value", f"cascade without column {col}", functools.partial(_value, "cascade", f), ValidationError,
        [repr(col)], frames=(f,))
for col, v in (("escalation_share", 1.5), ("escalation_share", float("nan")), ("small_accuracy", 2.0),
               ("large_accuracy", -0.1), ("small_usd_per_request", -1.0), ("large_usd_per_request", "x")):
    f = CASCADE.with_columns(pl.lit(v).alias(col))
    add("value", f"cascade with {col} = {v!r}", functools.partial(_value, "cascade", f), ValidationError,
        [repr(col)], frames=(f,))
for col in EDGE.columns:
    f = EDGE.drop(col)
    add("value", f"edge_vs_cloud without column {col}", functools.partial(_value, "edge_vs_cloud", f),
        ValidationError, [repr(col)], frames=(f,))
for col, v in (("edge_lifetime_years", 0.0), ("edge_requests_per_s", 0.0), ("edge_capex_usd", -1.0),
               ("edge_power_w", float("nan")), ("electricity_usd_per_kwh", float("inf")),
               ("cloud_usd_per_request", "cheap")):
    f = EDGE.with_columns(pl.lit(v).alias(col))
    add("value", f"edge_vs_cloud with {col} = {v!r}", functools.partial(_value, "edge_vs_cloud", f),
        ValidationError, [repr(col)], frames=(f,))
for col in LOCK.columns:
    f = LOCK.drop(col)
    add("value", f"lock_in without column {col}", functools.partial(_value, "lock_in", f), ValidationError,
        [repr(col)], frames=(f,))
for kw, names in (({"horizon_months": 0.0}, ["horizon_months"]), ({"horizon_months": -1.0}, ["horizon_months"]),
                  ({"switching_cost_usd": -5.0}, ["switching_cost_usd"]),
                  ({"api_price_change": -2.0}, ["api_price_change"]),
                  ({"gpu_price_change": float("nan")}, ["gpu_price_change"]),
                  ({"horizon_months": "months"}, ["'months'"])):
    add("value", f"lock_in({', '.join(f'{k}={v!r}' for k, v in kw.items())})",
        functools.partial(_value, "lock_in", LOCK, **kw), ValidationError, names, frames=(LOCK,))
for col in PARETO.columns:
    f = PARETO.drop(col)
    add("value", f"pareto_frontier without column {col}", functools.partial(_value, "pareto_frontier", f),
        ValidationError, [repr(col)], frames=(f,))
_f = PARETO.with_columns(pl.lit("good").alias("accuracy"))
add("value", "pareto_frontier with accuracy as text", functools.partial(_value, "pareto_frontier", _f),
    ValidationError, ["'accuracy'"], frames=(_f,))


def _rented(frame):
    from infer_econ import cost

    return cost.rented_usd_per_device_hour(frame)


for drop in ("provider", "price_model"):
    f = pl.DataFrame({"hardware": ["h100-sxm"], "provider": ["aws"], "price_model": ["on_demand"]}).drop(drop)
    add("cost", f"rented_usd_per_device_hour without column {drop}", functools.partial(_rented, f), ValidationError,
        [repr(drop)], frames=(f,))
_f = pl.DataFrame({"hardware": ["tpu-v99"], "provider": ["aws"], "price_model": ["on_demand"]})
add("cost", "rented_usd_per_device_hour for hardware with no price", functools.partial(_rented, _f), UnknownIdError,
    ["tpu-v99"], frames=(_f,))


def _price_check(frame):
    from infer_econ import cost

    return cost.check_price_inputs(frame)


for col, v in (("utilization", 0.0), ("pue", 0.9), ("usd_per_device_hour", float("inf")),
               ("depreciation_years", 0.0), ("price_model", "lease")):
    f = pl.DataFrame({col: [v]})
    add("cost", f"check_price_inputs with {col} = {v!r}", functools.partial(_price_check, f), ValidationError,
        [repr(col)], frames=(f,))


def _bands(frame, **kw):
    from infer_econ import uncertainty

    return uncertainty.bands(frame, **kw)


for d in (0, -1, 5):
    add("uncertainty", f"bands(draws={d})", functools.partial(_bands, pl.DataFrame({"a": [1.0]}), draws=d),
        ValidationError, ["draws", str(d)])


# =========================================================================== demand profiles, autoscaling, exports
def _profile(**kw):
    from infer_econ import demand

    return demand.demand_profile(**kw)


def _autoscale(fn: str = "autoscale", demand_frame=None, **kw):
    from infer_econ import demand

    d = demand.sample_demand() if demand_frame is None else demand_frame
    return getattr(demand, fn)(d, **{"capacity_per_replica_rps": 5.0, "usd_per_replica_hour": 10.0, **kw})


for k, v in (("hours", 0), ("hours", -5), ("hours", 10**7), ("peak_requests_per_s", -1.0),
             ("peak_requests_per_s", float("nan")), ("peak_to_trough_ratio", 0.5), ("peak_to_trough_ratio", float("inf")),
             ("peak_hour", 25.0), ("peak_hour", -1.0), ("weekend_factor", -1.0), ("growth_per_month", -2.0),
             ("burst_probability_per_hour", 1.5), ("burst_multiplier", 0.0), ("start_weekday", 9),
             ("input_tokens", 0.0), ("output_tokens", float("nan"))):
    add("demand", f"demand_profile({k}={v!r})", functools.partial(_profile, **{k: v}), ValidationError, [k])
for k, v in (("capacity_per_replica_rps", 0.0), ("capacity_per_replica_rps", float("nan")),
             ("usd_per_replica_hour", -1.0), ("target_utilization", 0.0), ("target_utilization", 1.5),
             ("scale_up_lag_h", -1.0), ("min_replicas", -1), ("max_replicas", 0), ("scale_down_delay_h", float("inf")),
             ("step_h", 0.0), ("initial_replicas", -3)):
    add("demand", f"autoscale({k}={v!r})", functools.partial(_autoscale, **{k: v}), ValidationError, [k])
add("demand", "autoscale with min_replicas 10 > max_replicas 2",
    functools.partial(_autoscale, min_replicas=10, max_replicas=2), ValidationError, ["min_replicas", "10", "2"])
add("demand", "autoscale of a demand frame without request_rate_per_s",
    lambda: _autoscale(demand_frame=pl.DataFrame({"hour": [0, 1], "requests": [1.0, 2.0]})), ValidationError,
    ["'request_rate_per_s'"])
add("demand", "autoscale of an empty demand frame",
    lambda: _autoscale(demand_frame=pl.DataFrame({"hour": [], "request_rate_per_s": []},
                                                 schema={"hour": pl.Int64, "request_rate_per_s": pl.Float64})),
    ValidationError, ["'request_rate_per_s'"])
add("demand", "autoscale of a demand hour with a negative rate",
    lambda: _autoscale(demand_frame=pl.DataFrame({"hour": [0, 1], "request_rate_per_s": [1.0, -2.0]})),
    ValidationError, ["'request_rate_per_s'"])


def _export(fn: str, obj, path):
    from infer_econ import io

    return getattr(io, fn)(obj, path)


_small = pl.DataFrame({"a": [1]})
add("export", "io.export_frame to report.xlsx", functools.partial(_export, "export_frame", _small,
                                                                  WORKDIR / "report.xlsx"),
    ValidationError, ["report.xlsx", ".xlsx", ".csv"], frames=(_small,))
add("export", "io.export_frame into a missing folder", functools.partial(_export, "export_frame", _small,
                                                                         WORKDIR / "no" / "x.csv"),
    ValidationError, ["x.csv", "does not exist"], frames=(_small,))
add("export", "io.export_frame of a dict", functools.partial(_export, "export_frame", {"a": 1}, WORKDIR / "x.csv"),
    ValidationError, ["dict"])
add("export", "io.export_chart to chart.bmp", functools.partial(_export, "export_chart", None, WORKDIR / "chart.bmp"),
    ValidationError, ["chart.bmp", ".svg"])
add("export", "io.report_html of a string", lambda: __import__("infer_econ.io").io.report_html("plan"),
    ValidationError, ["str"])


def _sweep(rows):
    from infer_econ import io

    return io.sweep(_estimate, scenario_frame(), chunk_rows=rows)


for r in (0, -1):
    add("export", f"io.sweep(chunk_rows={r})", functools.partial(_sweep, r), ValidationError, ["chunk_rows", str(r)])


# =========================================================================== catalog extra= files
def _catalog_load(name, extra):
    from infer_econ import catalog

    return catalog.load(name, extra=extra)


@functools.cache
def _base_row(name: str, shipped_id: str, new_id: str) -> pl.DataFrame:
    from infer_econ import catalog

    row = catalog.load(name).filter(pl.col("id") == shipped_id).drop("origin")
    return row.with_columns(pl.lit(new_id).alias("id"), pl.lit("my own quote").alias("source")).cast(pl.String)


def _extra_file(fname: str, frame: pl.DataFrame) -> Path:
    return _file(fname, frame.write_csv())


def _add_extra(name: str, fname: str, tried: str, content: str | bytes | Path, names, error=CatalogError):
    p = content if isinstance(content, Path) else _file(fname, content)
    add("catalog", tried, functools.partial(_catalog_load, name, p), error, [p.name, *names],
        files=(p,) if p.is_file() else ())


def _schema_rows(name: str):
    from infer_econ import catalog

    return catalog.schema(name).iter_rows(named=True)


_HW = _base_row("hardware", "h100-sxm", "my-gpu")
for r in _schema_rows("hardware"):
    c, dt = r["column"], r["dtype"]
    tries: list[tuple[str, str | None]] = []
    if dt in ("int", "float"):
        tries += [("text 'abc'", "abc"), ("NaN", "nan"), ("inf", "inf")]
        if r["min"] is not None:
            lo = r["min"] - 1 if r["min"] >= 1 else -1
            tries.append((f"{lo:g} (below the minimum {r['min']:g})", f"{int(lo) if dt == 'int' else lo:g}"))
        if r["max"] is not None:
            tries.append((f"{r['max'] * 10:g} (above the maximum {r['max']:g})", f"{r['max'] * 10:g}"))
        if dt == "int":
            tries += [("2.5 (not whole)", "2.5"), ("1e19 (beyond 64-bit integers)", "1e19")]
    if dt == "bool":
        tries.append(("'maybe'", "maybe"))
    if r["allowed"]:
        tries.append(("'bogus' (not an allowed value)", "bogus"))
    if r["required"] and c != "id":
        tries.append(("empty (a required value)", None))
    for i, (label, v) in enumerate(tries):
        fname = f"hw_{c}_{i}.csv"
        frame = _HW.with_columns(pl.lit(v, pl.String).alias(c))
        _add_extra("hardware", fname, f"hardware extra= file, column {c} = {label}", frame.write_csv(),
                   ["row 2", repr(c)])


def _first_id(name: str) -> str:
    from infer_econ import catalog

    return catalog.load(name)["id"][0]


_CP = _base_row("cloud_prices", _first_id("cloud_prices"), "my-price")
_cp_head = ",".join(_CP.columns)
_cp_vals = [("" if v is None else str(v)) for v in _CP.row(0)]


def _cp_text(col: str, raw: str) -> str:
    vals = [('"' + v.replace('"', '""') + '"') if ("," in v or '"' in v) else v for v in _cp_vals]
    vals[_CP.columns.index(col)] = raw
    return _cp_head + "\n" + ",".join(vals) + "\n"


for col in ("usd_per_device_hour", "usd_per_hour"):
    _add_extra("cloud_prices", f"cp_comma_{col}.csv", f"cloud_prices extra= file, {col} = 2,50 (decimal comma)",
               _cp_text(col, "2,50"), ["row 2", repr(col), "2,50"])
    _add_extra("cloud_prices", f"cp_qcomma_{col}.csv", f'cloud_prices extra= file, {col} = "2,50" (quoted)',
               _cp_text(col, '"2,50"'), ["row 2", repr(col), "2,50"])
    _add_extra("cloud_prices", f"cp_dollar_{col}.csv", f"cloud_prices extra= file, {col} = $2.50",
               _cp_text(col, "$2.50"), ["row 2", repr(col), "$2.50"])
    _add_extra("cloud_prices", f"cp_neg_{col}.csv", f"cloud_prices extra= file, {col} = -2.5",
               _cp_text(col, "-2.5"), ["row 2", repr(col), "-2.5"])
_add_extra("cloud_prices", "cp_badhw.csv", "cloud_prices extra= file naming hardware 'h1000'",
           _cp_text("hardware", "h1000"), ["'hardware'", "h1000"])
_add_extra("cloud_prices", "cp_pm.csv", "cloud_prices extra= file, price_model 'monthly'",
           _cp_text("price_model", "monthly"), ["row 2", "'price_model'", "monthly"])
_add_extra("cloud_prices", "cp_semicolon.csv", "cloud_prices extra= file separated by ';' (European Excel export)",
           _cp_text("notes", "x").replace(",", ";"), ["unknown column"])
_add_extra("cloud_prices", "cp_ragged.csv", "cloud_prices extra= file whose row has one field too many",
           _cp_text("notes", "a,b"), ["row 2"])
_add_extra("cloud_prices", "cp_quote.csv", "cloud_prices extra= file with an unbalanced quote",
           _cp_text("notes", '"never closed'), ["never closed"])
_add_extra("hardware", "hw_empty.csv", "hardware extra= file that is empty (0 bytes)", "", ["empty"])
_add_extra("hardware", "hw_header.csv", "hardware extra= file with the header only", _HW.clear().write_csv(),
           ["no rows"])
_add_extra("hardware", "hw_binary.csv", "hardware extra= file of binary junk", bytes(range(256)) * 40,
           ["not a readable CSV"])
_add_extra("hardware", "hw_huge.csv", "hardware extra= file over the 20 MB cap",
           _sparse("hw_huge.csv", 20_000_001), ["20,000,001", "20,000,000"])
_add_extra("hardware", "hw_dup.csv", "hardware extra= file with the id 'my-gpu' twice",
           pl.concat([_HW, _HW]).write_csv(), ["duplicate id", "my-gpu"])
_add_extra("hardware", "hw_unknown.csv", "hardware extra= file with an unknown column 'colour'",
           _HW.with_columns(pl.lit("red").alias("colour")).write_csv(), ["'colour'", "valid columns"])
_add_extra("hardware", "hw_missing.csv", "hardware extra= file without the required column memory_gb",
           _HW.drop("memory_gb").write_csv(), ["missing column", "memory_gb"])
_hw_lines = _HW.write_csv().splitlines()
_add_extra("hardware", "hw_dupcol.csv", "hardware extra= file with the column tdp_w twice",
           f"{_hw_lines[0]},tdp_w\n{_hw_lines[1]},700\n", ["tdp_w"])
for v in ("yesterday", "2024-13-45", "2024-02-32", "24-01-01", "2024/01/01"):
    _add_extra("hardware", f"hw_asof_{v.replace('/', '_')}.csv", f"hardware extra= file, as_of = {v!r}",
               _HW.with_columns(pl.lit(v).alias("as_of")).write_csv(), ["row 2", "'as_of'", v])
_add_extra("hardware", "hw_utf16.csv", "hardware extra= file saved as UTF-16",
           _HW.write_csv().encode("utf-16"), ["column"])
add("catalog", "catalog.load('hardware', extra=<a folder>)", functools.partial(_catalog_load, "hardware", WORKDIR),
    CatalogError, ["no such file"])
add("catalog", "catalog.load('hardware', extra='no/such.csv')",
    functools.partial(_catalog_load, "hardware", "no/such.csv"), CatalogError, ["no/such.csv", "no such file"])
add("catalog", "catalog.load('hardware', extra=5)", functools.partial(_catalog_load, "hardware", 5), CatalogError,
    ["int"])
_f = _HW.with_columns(pl.lit(pl.Series([[1.0]])).alias("memory_gb"))
add("catalog", "catalog.load with an extra frame whose memory_gb holds lists",
    functools.partial(_catalog_load, "hardware", _f), CatalogError, ["memory_gb"], frames=(_f,))
_f = _HW.with_columns(pl.lit(-80.0).alias("memory_gb"))
add("catalog", "catalog.load with an extra frame, memory_gb -80", functools.partial(_catalog_load, "hardware", _f),
    CatalogError, ["extra frame", "'memory_gb'", "-80"], frames=(_f,))
add("catalog", "catalog.load('hardwares')", functools.partial(_catalog_load, "hardwares", None), UnknownIdError,
    ["'hardwares'", "hardware"])


def _get(name, id_):
    from infer_econ import catalog

    return catalog.get(name, id_)


add("catalog", "catalog.get('hardware', 'h1000')", functools.partial(_get, "hardware", "h1000"), UnknownIdError,
    ["'h1000'", "h100-sxm"])


def _from_config(path):
    from infer_econ import catalog

    return catalog.model_from_config(path)


for fname, content, names in (("cfg_notjson.json", "{model_type: llama", ["not a JSON"]),
                              ("cfg_list.json", "[1, 2]", ["not a JSON object"]),
                              ("cfg_nohidden.json", json.dumps({"model_type": "llama", "num_hidden_layers": 2}),
                               ["hidden_size"]),
                              ("cfg_neg.json", json.dumps({"model_type": "llama", "hidden_size": -512,
                                                           "num_hidden_layers": 2, "num_attention_heads": 8,
                                                           "vocab_size": 100, "intermediate_size": 10}),
                               ["hidden_size", "-512"])):
    p = _file(fname, content)
    add("catalog", f"model_from_config on {fname}", functools.partial(_from_config, p), CatalogError,
        [fname, *names], files=(p,))


# =========================================================================== benchmark uploads (infer_econ.io)
def _io(fn: str, path, **kw):
    from infer_econ import io

    return getattr(io, fn)(path, **kw)


IDS = {"hardware": "h100-sxm", "precision": "bf16", "n_devices": 1}


def _mutated_json(src: str, fname: str, key: str, value) -> Path:
    doc = json.loads((SAMPLES / src).read_text())
    doc[key] = value
    return _file(fname, json.dumps(doc))


for fname, content, names in (("up_empty.json", "", ["empty"]), ("up_blank.txt", "   \n\n", ["empty"]),
                              ("up_binary.bin", bytes(range(256)) * 8, ["not a UTF-8"]),
                              ("up_random.txt", "hello world\n", ["not recognized"]),
                              ("up_json_other.json", json.dumps({"foo": 1}), ["none of"]),
                              ("up_truncated.json", (SAMPLES / "vllm_bench_serve.json").read_text()[:200],
                               ["not valid JSON"])):
    p = _file(fname, content)
    add("upload", f"io.read_any on {fname}", functools.partial(_io, "read_any", p), ValidationError,
        [fname, *names], files=(p,))
_p = _sparse("up_huge.json", 50_000_001)
add("upload", "io.read_any on a file over the 50 MB cap", functools.partial(_io, "read_any", _p), ValidationError,
    ["up_huge.json", "50,000,001"])
add("upload", "io.read_any on a missing file", functools.partial(_io, "read_any", WORKDIR / "nope.json"),
    ValidationError, ["nope.json", "no such file"])
add("upload", "io.read_any(format='excel')",
    functools.partial(_io, "read_any", SAMPLES / "vllm_bench_serve.json", format="excel"), ValidationError,
    ["'excel'", "vllm"])
add("upload", "io.read_any(vLLM file, colour='red') (a keyword the reader does not take)",
    functools.partial(_io, "read_any", SAMPLES / "vllm_bench_serve.json", colour="red", **IDS), ValidationError,
    ["colour"])
add("upload", "io.read_any(vLLM file) without hardware/precision/devices",
    functools.partial(_io, "read_any", SAMPLES / "vllm_bench_serve.json"), ValidationError,
    ["hardware", "precision", "n_devices"])
add("upload", "io.read_any(vLLM file, n_devices=0)",
    functools.partial(_io, "read_any", SAMPLES / "vllm_bench_serve.json", **{**IDS, "n_devices": 0}),
    ValidationError, ["n_devices", "0"])
for key, v in (("mean_ttft_ms", "fast"), ("mean_ttft_ms", float("nan")), ("completed", -3),
               ("output_throughput", [1, 2])):
    p = _mutated_json("vllm_bench_serve.json", f"vllm_{key}_{type(v).__name__}.json", key, v)
    add("upload", f"io.read_vllm_bench with {key} = {v!r}", functools.partial(_io, "read_vllm_bench", p, **IDS),
        ValidationError, [p.name, key], files=(p,))
for fname, content in (("vllm_list.json", "[1, 2]"), ("vllm_str.json", '"x"'), ("vllm_obj.json", "{}")):
    p = _file(fname, content)
    add("upload", f"io.read_vllm_bench on {content!r}", functools.partial(_io, "read_vllm_bench", p, **IDS),
        ValidationError, [fname], files=(p,))
_lines = (SAMPLES / "sglang_bench_serving.jsonl").read_text().splitlines()
_p = _file("sglang_badline.jsonl", "\n".join([_lines[0], "{not json", *_lines[1:]]) + "\n")
add("upload", "io.read_sglang_bench with a broken second line", functools.partial(_io, "read_sglang_bench", _p, **IDS),
    ValidationError, ["sglang_badline.jsonl", "line 2"], files=(_p,))
_p = _file("llama_nomodel.md", "| a | b |\n|---|---|\n| 1 | 2 |\n")
add("upload", "io.read_llama_bench on a markdown table without a model column",
    functools.partial(_io, "read_llama_bench", _p, hardware="h100-sxm", n_devices=1), ValidationError,
    ["llama_nomodel.md", "'model'"], files=(_p,))
_p = _file("mlperf_noscenario.txt", "MLPerf Results Summary\nfoo : bar\n")
add("upload", "io.read_mlperf_summary without a Scenario line",
    functools.partial(_io, "read_mlperf_summary", _p, **IDS), ValidationError, ["mlperf_noscenario.txt", "Scenario"],
    files=(_p,))
_p = _file("aiperf_junk.json", json.dumps({"records": "none"}))
add("upload", "io.read_aiperf on JSON without metrics", functools.partial(_io, "read_aiperf", _p, **IDS),
    ValidationError, ["aiperf_junk.json"], files=(_p,))
_p = _file("cal_cols.csv", "model_id,measured\nx,1\n")
add("upload", "io.read_calibration_csv missing columns", functools.partial(_io, "read_calibration_csv", _p),
    ValidationError, ["cal_cols.csv", "hardware_id"], files=(_p,))
_cal = (SAMPLES / "calibration.csv").read_text().splitlines()
_hdr = _cal[0].split(",")
_row = next(iter(_cal[1:]))
for col, v in (("measured", "lots"), ("n_devices", "0"), ("measured", "nan")):
    vals = list(__import__("csv").reader([_row]))[0]
    vals[_hdr.index(col)] = v
    _p = _file(f"cal_{col}_{v}.csv", _cal[0] + "\n" + ",".join(
        ('"' + x + '"') if "," in x else x for x in vals) + "\n")
    add("upload", f"io.read_calibration_csv with {col} = {v!r}", functools.partial(_io, "read_calibration_csv", _p),
        ValidationError, [_p.name, col], files=(_p,))


# =========================================================================== demand uploads
def _demand(path):
    from infer_econ import demand

    return demand.read_demand_csv(path)


for fname, content, names in (
        ("d_neg.csv", "hour,requests\n0,-1\n", ["row 1", "'requests'", "-1"]),
        ("d_text.csv", "hour,requests\n0,abc\n", ["row 1", "'requests'", "abc"]),
        ("d_gap.csv", "hour,requests\n0,1\n2,1\n", ["row 2", "'hour'"]),
        ("d_frac.csv", "hour,requests\n0.5,1\n", ["row 1", "'hour'"]),
        ("d_cols.csv", "x,y\n1,2\n", ["'hour'", "timestamp"]),
        ("d_norate.csv", "hour,users\n0,2\n", ["request_rate_per_s", "requests"]),
        ("d_empty.csv", "", ["cannot be read"]),
        ("d_header.csv", "hour,requests\n", ["no data rows"]),
        ("d_nan.csv", "hour,request_rate_per_s\n0,nan\n", ["row 1", "'request_rate_per_s'"]),
        ("d_inf.csv", "hour,request_rate_per_s\n0,inf\n", ["row 1", "'request_rate_per_s'"]),
        ("d_comma.csv", "hour,request_rate_per_s\n0,\"2,5\"\n", ["row 1", "'request_rate_per_s'", "2,5"]),
        ("d_tok0.csv", "hour,request_rate_per_s,input_tokens\n0,1,0\n", ["row 1", "'input_tokens'"]),
        ("d_ts_gap.csv", "timestamp,requests\n2024-01-01T00:00,1\n2024-01-01T02:00,1\n", ["row 2", "'timestamp'"]),
        ("d_ts_text.csv", "timestamp,requests\nnotadate,1\n", ["row 1", "'timestamp'", "notadate"]),
        ("d_binary.csv", bytes(range(256)) * 8, ["cannot be read"])):
    p = _file(fname, content)
    add("demand", f"demand.read_demand_csv on {fname}: {content[:40]!r}", functools.partial(_demand, p),
        ValidationError, [fname, *names], files=(p,))
_p = _sparse("d_huge.csv", 20_000_001)
add("demand", "demand.read_demand_csv on a file over the 20 MB cap", functools.partial(_demand, _p), ValidationError,
    ["d_huge.csv", "20000001"])
add("demand", "demand.read_demand_csv on a missing file", functools.partial(_demand, WORKDIR / "nope.csv"),
    ValidationError, ["nope.csv", "not found"])


# =========================================================================== scenario files
GOOD_SCENARIO = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "precision": "bf16", "engine": "vllm",
                 "n_devices": 1, "input_tokens": 1000, "output_tokens": 200}


def _scen_load(path):
    from infer_econ import scenario

    return scenario.load(path)


def _scen_save(path, doc):
    from infer_econ import scenario

    return scenario.save(path, doc)


def _scen_doc(**over) -> str:
    doc = {"schema_version": 2, **GOOD_SCENARIO}
    for k, v in over.items():
        if v is _DROP:
            doc.pop(k, None)
        else:
            doc[k] = v
    return json.dumps(doc)


_DROP = object()
_full = (_scen_doc(name="plan", notes="x" * 50))
for fname, content, names in (
        ("s_missing_model.json", _scen_doc(model=_DROP), ["'model'", "missing"]),
        ("s_missing_version.json", _scen_doc(schema_version=_DROP), ["schema_version"]),
        ("s_future.json", _scen_doc(schema_version=99), ["99", "newer"]),
        ("s_v0.json", _scen_doc(schema_version=0), ["schema_version 0"]),
        ("s_vtext.json", _scen_doc(schema_version="2"), ["schema_version", "'2'"]),
        ("s_devices_text.json", _scen_doc(n_devices="1"), ["'n_devices'", "'1'"]),
        ("s_devices_zero.json", _scen_doc(n_devices=0), ["'n_devices'", "0"]),
        ("s_devices_float.json", _scen_doc(n_devices=1.5), ["'n_devices'", "1.5"]),
        ("s_tokens_bool.json", _scen_doc(input_tokens=True), ["'input_tokens'", "True"]),
        ("s_util_zero.json", _scen_doc(utilization=0), ["'utilization'"]),
        ("s_util_big.json", _scen_doc(utilization=1.5), ["'utilization'", "1.5"]),
        ("s_price_model.json", _scen_doc(price_model="lease"), ["'price_model'", "'lease'"]),
        ("s_unknown_key.json", _scen_doc(modle="x"), ["'modle'", "'model'"]),
        ("s_nan.json", _scen_doc().replace('"n_devices": 1', '"n_devices": NaN'), ["NaN"]),
        ("s_inf.json", _scen_doc().replace('"input_tokens": 1000', '"input_tokens": Infinity'), ["Infinity"]),
        ("s_truncated.json", _full[: len(_full) // 2], ["not valid JSON"]),
        ("s_list.json", "[1, 2, 3]", ["list"]),
        ("s_empty.json", "", ["not valid JSON"]),
        ("s_binary.json", bytes(range(256)) * 4, ["UTF-8"]),
        ("s_tp_pp.json", _scen_doc(n_devices=4, tensor_parallel=2, pipeline_parallel=1), ["tensor_parallel", "4"]),
        ("s_extra_cat.json", _scen_doc(extra_catalogs={"hardware": 5}), ["'extra_catalogs'"]),
        ("s_v1_pricing.json", json.dumps({"version": 1, "gpu": "h100-sxm", "pricing": "monthly"}),
         ["'pricing'", "'monthly'"]),
        ("s_v1_slo.json", json.dumps({"version": 1, "gpu": "h100-sxm", "slo_ttft_ms": "fast"}),
         ["'slo_ttft_ms'", "'fast'"])):
    p = _file(fname, content)
    add("scenario", f"scenario.load on {fname}", functools.partial(_scen_load, p), ValidationError, [fname, *names],
        files=(p,))
_p = _sparse("s_huge.json", 1_000_001)
add("scenario", "scenario.load on a file over the 1 MB cap", functools.partial(_scen_load, _p), ValidationError,
    ["s_huge.json", "1,000,001"])
add("scenario", "scenario.load on a missing file", functools.partial(_scen_load, WORKDIR / "none.json"),
    ValidationError, ["none.json", "no such"])
_user_cat = _file("my_hardware.csv", _HW.write_csv())
_p = WORKDIR / "plan.txt"
add("scenario", "scenario.save to a .txt file", functools.partial(_scen_save, _p, GOOD_SCENARIO), ValidationError,
    ["plan.txt", ".json"])
_cat_json = _file("my_catalog.json", '{"keep": "me"}\n')
add("scenario", "scenario.save over the user's own catalog file named in extra_catalogs",
    functools.partial(_scen_save, _cat_json, {**GOOD_SCENARIO, "extra_catalogs": {"hardware": str(_cat_json)}}),
    ValidationError, ["my_catalog.json", "never overwritten"], files=(_cat_json, _user_cat))
add("scenario", "scenario.save of a scenario with n_devices -2",
    functools.partial(_scen_save, WORKDIR / "neg.json", {**GOOD_SCENARIO, "n_devices": -2}), ValidationError,
    ["'n_devices'", "-2"])


# =========================================================================== CLI
def cli_available() -> list[str]:
    from infer_econ import cli

    return list(cli._modules())


_bad_extra = _file("cli_bad_prices.csv", _cp_text("usd_per_device_hour", "2,50"))
CLI_CASES = [
    (["frobnicate"], ["frobnicate"]),
    (["--no-such-flag"], ["--no-such-flag"]),
    (["catalog", "hardwares"], ["'hardwares'"]),
    (["catalog", "hardware", "--format", "xml"], ["xml"]),
    (["catalog", "cloud_prices", "--extra", str(_bad_extra)], ["cli_bad_prices.csv", "row 2", "usd_per_device_hour"]),
    (["catalog", "hardware", "--extra", str(WORKDIR / "missing.csv")], ["missing.csv"]),
    (["serve", "--port", "-5"], ["--port", "-5"]),
    (["serve", "--port", "http"], ["--port", "http"]),
    (["serve", "--root", str(WORKDIR / "no-such-folder")], ["workbooks"]),
]
_E = ["--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--precision", "bf16", "--engine", "vllm", "--devices", "1",
      "--input-tokens", "1000", "--output-tokens", "200"]


def _argv(cmd: str, *extra: str, **swap: str) -> list[str]:
    a = [cmd, *_E]
    for flag, v in swap.items():
        a[a.index("--" + flag.replace("_", "-")) + 1] = v
    return a + list(extra)


_PLAN = ["plan", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--precision", "bf16", "--engine", "vllm",
         "--slo-ttft-p99-s", "2", "--provider", "aws"]
CLI_CASES += [
    (_argv("estimate", model="gpt-17"), ["'gpt-17'", "llama-3.1-8b"]),
    (_argv("estimate", engine="vllmm"), ["'vllmm'", "vllm"]),
    (_argv("estimate", devices="0"), ["'n_devices'"]),
    (_argv("estimate", devices="two"), ["--devices", "two"]),
    (_argv("estimate", input_tokens="-5"), ["'input_tokens'", "-5"]),
    (_argv("estimate", "--batch", "0"), ["'batch_size'"]),
    (_argv("estimate", "--utilization", "1.5"), ["'utilization'", "1.5"]),
    (_argv("estimate", "--usd-per-device-hour", "-2"), ["'usd_per_device_hour'", "-2"]),
    (_argv("estimate", "--provider", "nope"), ["nope"]),
    (_argv("estimate", "--efficiency", str(WORKDIR / "missing_eff.csv")), ["--efficiency", "missing_eff.csv"]),
    (_argv("evaluate", "--price-model", "owned", "--pue", "0.5"), ["'pue'", "0.5"]),
    (_argv("evaluate", "--price-model", "lease"), ["'lease'"]),
    (_argv("evaluate", "--provider", "aws", "--grid-region", "mars"), ["'mars'"]),
    (_argv("evaluate", "--provider", "aws", "--grid-g-co2e-per-kwh", "inf"), ["'grid_g_co2e_per_kwh'"]),
    (_PLAN + ["--slo-tpot-p99-s", "0.1", "--requests-per-s", "-1", "--input-tokens", "1000", "--output-tokens", "200"],
     ["request_rate_per_s", "-1"]),
    (_PLAN + ["--slo-tpot-p99-s", "1e-9", "--requests-per-s", "5", "--input-tokens", "1000", "--output-tokens", "200"],
     ["TPOT", "best achievable"]),
    (_PLAN + ["--slo-tpot-p99-s", "0.1", "--demand-csv", str(WORKDIR / "d_neg.csv")],
     ["d_neg.csv", "row 1", "'requests'"]),
    (["calibrate", str(WORKDIR / "up_binary.bin")], ["up_binary.bin", "UTF-8"]),
    (["calibrate", str(WORKDIR / "nope.json")], ["nope.json", "no such file"]),
    (["calibrate", str(WORKDIR / "cal_cols.csv")], ["cal_cols.csv", "hardware_id"]),
    (["validate", "--measurements", str(WORKDIR / "nope.csv")], ["nope.csv", "no such file"]),
    (["validate", "--measurements", str(WORKDIR / "cal_cols.csv")], ["cal_cols.csv", "hardware_id"]),
    (["validate", "--measurements", str(WORKDIR / "hw_binary.csv")], ["hw_binary.csv"]),
    (["validate", "--chart", str(WORKDIR / "chart.bmp")], ["--chart", ".png"]),
]
for argv, names in CLI_CASES:
    add("cli", "infer-econ " + " ".join(a.replace(str(WORKDIR), "<dir>") for a in argv), argv, InferEconError, names,
        kind="cli", files=(_bad_extra,) if str(_bad_extra) in argv else ())
def _required_options(cmd: str) -> list[str]:
    from infer_econ import cli

    sub = cli._parser(cli._modules())._subparsers._group_actions[0].choices[cmd]
    return [a.option_strings[0] for a in sub._actions if a.required and a.option_strings]


for cmd in cli_available():  # every registered sub-command: an unknown option, or the required ones missing
    req = _required_options(cmd)
    add("cli", f"infer-econ {cmd} --no-such-option", [cmd, "--no-such-option"], InferEconError,
        [req[0]] if req else ["--no-such-option"], kind="cli")


# =========================================================================== UI knobs and app errors
@functools.cache
def workbook_app(name: str):
    from infer_econ.ui import apps

    return getattr(apps, name)()


def quantization_app():
    return workbook_app("quantization")


def _knob_clamp(knob: str, value: float, bound: str, app_name: str = "quantization"):
    app = workbook_app(app_name)
    k = app.knobs[knob]
    before = k.value
    try:
        k.value = value
        shown = k.value
        limit = getattr(k, bound)
        if hasattr(k, "base"):  # log slider: min/max are exponents
            limit = k.base ** limit
        assert math.isclose(shown, limit), (shown, limit)
        assert app.state.values[knob] == shown
        if app.state.error is not None:  # a documented library error at this extreme, shown as a message
            assert "could not be computed" not in app.state.error, app.state.error
            return f"knob {knob} clamped to {shown:g}; the app says: {app.state.error}"
        return f"knob {knob} clamped to {shown:g}"
    finally:
        k.value = before


def _knob_refuse(knob: str, value: Any, app_name: str = "quantization"):
    import traitlets

    app = workbook_app(app_name)
    k = app.knobs[knob]
    before = k.value
    try:
        k.value = value
    except traitlets.TraitError as exc:
        assert app.state.values[knob] == before and k.value == before
        return f"refused {value!r} ({str(exc).splitlines()[0]}); the knob stays at {before!r}"
    finally:
        if k.value != before:
            k.value = before
    raise AssertionError(f"knob {knob} accepted {value!r}")


def _status_of(compute: Callable) -> str:
    from infer_econ import plot
    from infer_econ.ui import App, ChartView, knobs

    app = App("demo", {"n": knobs.int_slider("Devices", 1, 1, 8)}, compute,
              [ChartView("cost", lambda f: plot.bars(f, "usd_per_hour", "hardware"))])
    assert app.state.error is None, app.state.error
    app.knobs["n"].value = 2  # the compute fails at 2
    shown = app.status.value
    assert app.state.error is not None and "ie-error" in shown
    app.knobs["n"].value = 1  # the app recovers on the next good value
    assert app.state.error is None and "ie-error" not in app.status.value
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", shown)).strip()


def _compute_estimate(v):
    from infer_econ.ui import Result

    f = scenario_frame(n_devices=2 - v["n"])  # n = 2 → 0 devices
    out = _estimate(f)
    return Result(frames={"cost": pl.DataFrame({"hardware": ["h100-sxm"], "usd_per_hour": [out["n_devices"][0]]})})


def _compute_scenario(v):
    from infer_econ.ui import Result

    if v["n"] == 2:
        _scen_load(WORKDIR / "s_future.json")
    return Result(frames={"cost": pl.DataFrame({"hardware": ["h100-sxm"], "usd_per_hour": [1.0]})})


def _compute_bug(v):
    from infer_econ.ui import Result

    x = 1 / (v["n"] - 2)
    return Result(frames={"cost": pl.DataFrame({"hardware": ["h100-sxm"], "usd_per_hour": [x]})})


for knob, value, bound in (("n_devices", 1000, "max"), ("n_devices", -3, "min"), ("input_tokens", 1e9, "max"),
                           ("input_tokens", 1.0, "min"), ("output_tokens", 1e12, "max")):
    add("ui", f"quantization app: {knob} knob set to {value:g} (outside its range)",
        functools.partial(_knob_clamp, knob, value, bound), names=[f"{knob} clamped"], kind="ui")
for knob, value in (("precision", "fp3"), ("engine", "my-engine"), ("price_model", "lease")):
    add("ui", f"quantization app: {knob} knob set to {value!r} (not an option)",
        functools.partial(_knob_refuse, knob, value), names=["refused", value], kind="ui")


def _app_names() -> list[str]:
    from infer_econ.ui import apps

    return [n for n in apps.__all__ if n != "PRIMARY_CLASS" and callable(getattr(apps, n, None))]


for _name in _app_names():  # every knob of every workbook app: sliders clamp, choices refuse
    _app = workbook_app(_name)
    for _k, _knob in _app.knobs.items():
        if hasattr(_knob, "min") and hasattr(_knob, "max"):
            if hasattr(_knob, "base"):
                _lo, _hi = _knob.base ** _knob.min, _knob.base ** _knob.max
                _tries = ((_hi * 1000, "max"), (_lo / 1000, "min"))
            else:
                _lo, _hi = _knob.min, _knob.max
                _span = (_hi - _lo) or 1
                _tries = ((_hi + 10 * _span, "max"), (_lo - 10 * _span, "min"))
            if _k == "n_devices" and _name == "quantization":
                continue  # already above
            for _v, _bound in _tries:
                add("ui", f"{_name} app: {_k} knob set to {_v:g} (outside [{_lo:g}, {_hi:g}])",
                    functools.partial(_knob_clamp, _k, _v, _bound, _name), names=[f"{_k} clamped"], kind="ui")
        elif hasattr(_knob, "value") and (hasattr(_knob, "options") or hasattr(_knob, "_frame")) \
                and isinstance(_knob.value, str) and not (_name == "quantization" and _k in ("precision", "engine",
                                                                                              "price_model")):
            add("ui", f"{_name} app: {_k} knob set to 'no-such-choice'",
                functools.partial(_knob_refuse, _k, "no-such-choice", _name), names=["refused", "no-such-choice"],
                kind="ui")


def _planner_load(text: str) -> str:
    app = workbook_app("planner")
    before = app.values()
    try:
        app.load_scenario(text)
    except InferEconError as exc:
        assert app.values() == before, "a refused scenario changed the knobs"
        return f"refused, knobs unchanged: {exc}"
    raise AssertionError("the planner accepted the scenario")


def _planner_upload(name: str, content: bytes) -> str:
    import datetime
    import html as _html
    import re as _re

    import ipywidgets as w

    app = workbook_app("planner")
    before = app.values()

    def find(wd, cls):
        if isinstance(wd, cls):
            yield wd
        for c in getattr(wd, "children", ()):
            yield from find(c, cls)

    up = next(find(app.widget, w.FileUpload))
    up.value = ({"name": name, "type": "application/json", "size": len(content), "content": memoryview(content),
                 "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)
    shown = [h.value for h in find(app.widget, w.HTML) if "could not load" in h.value]
    assert shown, "no message after a bad upload"
    assert "<b>" not in shown[0], "the file name reached the page as HTML"
    assert app.values() == before, "a refused upload changed the knobs"
    return _html.unescape(_re.sub(r"<[^>]+>", "", shown[0]))


_PLAN_OK = dict(GOOD_SCENARIO)
for _label, _doc, _names in (
        ("n_devices 16 (the knob stops at 8)", {**_PLAN_OK, "n_devices": 16}, ["'n_devices'", "16"]),
        ("utilization 0.01 (the knob starts at 0.05)", {**_PLAN_OK, "utilization": 0.01}, ["'utilization'", "0.01"]),
        ("pue 2.5 (the knob stops at 2)", {**_PLAN_OK, "pue": 2.5}, ["'pue'", "2.5"]),
        ("hardware 'tpu-v99'", {**_PLAN_OK, "hardware": "tpu-v99"}, ["'hardware'", "tpu-v99"]),
        ("model 'gpt-17'", {**_PLAN_OK, "model": "gpt-17"}, ["'model'", "gpt-17"])):
    add("ui", f"planner app: load a scenario with {_label}", functools.partial(_planner_load, json.dumps(
        {"schema_version": 2, **_doc})), names=["refused", "knobs unchanged", *_names], kind="ui")
add("ui", "planner app: load a scenario from a newer version",
    functools.partial(_planner_load, json.dumps({"schema_version": 9, **_PLAN_OK})),
    names=["refused", "newer"], kind="ui")
for _fname, _content, _names in (("future.json", json.dumps({"schema_version": 9, **_PLAN_OK}).encode(), ["newer"]),
                                 ("cut.json", json.dumps({"schema_version": 2, **_PLAN_OK}).encode()[:40],
                                  ["not valid JSON"]),
                                 ("junk.json", bytes(range(256)), ["could not load"]),
                                 ("big.json", b" " * 1_000_001, ["1,000,000"]),
                                 ("<b>x</b>.json", b"{", ["<b>x</b>.json"])):
    add("ui", f"planner app: upload {_fname}", functools.partial(_planner_upload, _fname, _content),
        names=["could not load", *_names], kind="ui")



def _calibrate_upload(name: str, content: bytes) -> str:
    import datetime
    import html as _html
    import re as _re

    import ipywidgets as w

    app = workbook_app("calibrate")
    before = app.values()

    def find(wd, cls):
        if isinstance(wd, cls):
            yield wd
        for c in getattr(wd, "children", ()):
            yield from find(c, cls)

    up = next(find(app.widget, w.FileUpload))
    up.value = ({"name": name, "type": "", "size": len(content), "content": memoryview(content),
                 "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)
    shown = [h.value for h in find(app.widget, w.HTML) if "could not read" in h.value]
    assert shown, "no message after a bad upload"
    assert app.values() == before, "a refused upload changed the knobs"
    assert app.state.error is None
    return _html.unescape(_re.sub(r"<[^>]+>", "", shown[0]))


_vllm = (SAMPLES / "vllm_bench_serve.json").read_bytes()
for _fname, _content, _names in (("junk.bin", bytes(range(256)) * 4, ["junk.bin", "UTF-8"]),
                                 ("cut.json", _vllm[: len(_vllm) // 3], ["cut.json", "JSON"]),
                                 ("empty.csv", b"", ["empty.csv", "empty"]),
                                 ("notes.txt", b"my benchmark: fast\n", ["notes.txt", "not recognized"]),
                                 ("..", b"{}", [".."]),
                                 ("", b"{}", ["could not read"])):
    add("ui", f"calibrate app: upload {_fname!r} ({len(_content)} bytes)",
        functools.partial(_calibrate_upload, _fname, _content), names=["could not read", *_names], kind="ui")

add("ui", "app whose compute hits a library error (estimate with 0 devices)",
    functools.partial(_status_of, _compute_estimate), names=["'n_devices'"], kind="ui")
add("ui", "app whose compute reads a scenario file from a newer version",
    functools.partial(_status_of, _compute_scenario), names=["s_future.json", "newer"], kind="ui")
add("ui", "app whose compute has a bug (division by zero)", functools.partial(_status_of, _compute_bug),
    names=["could not be computed", "ZeroDivisionError"], kind="ui")


# =========================================================================== running a case
def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    import contextlib
    import io as _io

    from infer_econ import cli

    out, err = _io.StringIO(), _io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


#: answers already seen (by the tests), by case id, so the doc check does not run every case twice
OUTCOMES: dict[str, tuple[str, str]] = {}


def outcome(case: Case) -> tuple[str, str]:
    """(what kind of answer, the message) the user gets for ``case``; for the doc."""
    if case.id in OUTCOMES:
        return OUTCOMES[case.id]
    if case.kind == "cli":
        rc, _, err = run_cli(case.run)
        return f"exit {rc}", err.strip()
    if case.kind == "ui":
        return "app", case.run()
    try:
        case.run()
    except InferEconError as exc:
        return type(exc).__name__, str(exc)
    except Exception as exc:  # reported as a gap in the doc
        return f"UNEXPECTED {type(exc).__name__}", str(exc)
    return "no error", ""

"""Cross-module invariants as hypothesis properties, on the real functions and the shipped catalogs.

- costs and energy are never negative;
- cost is monotone in every price (rented and owned);
- cost per token never rises with utilization;
- more memory bandwidth is never slower (a modified hardware catalog);
- lower precision never needs more weight memory;
- serving latency never falls as the request rate rises;
- results do not depend on row order, nor on one call vs one call per row (estimate and evaluate).
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import infer_econ
from infer_econ import catalog, serving

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MODELS = ["llama-3.1-8b", "llama-3.2-1b", "qwen2.5-7b", "mistral-7b", "gemma-2-9b", "mixtral-8x7b", "qwen3-30b-a3b",
          "llama-3.1-70b"]
HARDWARE = ["h100-sxm", "a100-sxm-80gb", "l4", "h200", "mi300x", "l40s", "a10g", "b200"]
PRECISIONS = ["bf16", "fp8", "int8", "int4", "fp16"]
PRICED = {"h100-sxm", "a100-sxm-80gb", "l4", "l40s", "a10g", "h200"}

ECON_COLUMNS = ["usd_per_hour", "usd_per_million_output_tokens", "usd_per_million_tokens", "usd_per_request",
                "accelerator_power_w", "power_w", "energy_j_per_output_token", "accelerator_energy_j_per_output_token",
                "kwh_per_million_output_tokens", "g_co2e_per_request", "g_co2e_per_request_embodied"]


def _known(ids: list[str], name: str) -> list[str]:
    have = set(catalog.ids(name))
    out = [i for i in ids if i in have]
    assert out, f"none of {ids} in {name}"
    return out


MODELS = _known(MODELS, "models")
HARDWARE = _known(HARDWARE, "hardware")
PRECISIONS = _known(PRECISIONS, "precisions")


@st.composite
def scenario_rows(draw, n=st.integers(1, 6), hardware=None, priced: bool = False):
    rows = []
    hw_pool = sorted(PRICED & set(HARDWARE)) if priced else HARDWARE
    for _ in range(draw(n)):
        rows.append({
            "model": draw(st.sampled_from(MODELS)),
            "hardware": hardware or draw(st.sampled_from(hw_pool)),
            "precision": draw(st.sampled_from(PRECISIONS)),
            "engine": "vllm",
            "n_devices": draw(st.sampled_from([1, 2, 4, 8])),
            "input_tokens": draw(st.integers(1, 8000)),
            "output_tokens": draw(st.integers(1, 2000)),
            "batch_size": draw(st.one_of(st.none(), st.integers(1, 256))),
        })
    return pl.DataFrame(rows, schema_overrides={"batch_size": pl.Int64})


def _priced(frame: pl.DataFrame, price: float, utilization: float) -> pl.DataFrame:
    return frame.with_columns(pl.lit(price).alias("usd_per_device_hour"), pl.lit(utilization).alias("utilization"))


def _nonneg(frame: pl.DataFrame, cols: list[str]) -> None:
    for c in cols:
        if c in frame.columns:
            s = frame[c].drop_nulls()
            assert not s.is_nan().any(), c
            assert (s >= 0).all(), (c, s.to_list())


# ----------------------------------------------------------------------------- non-negative
@SETTINGS
@given(scenario_rows(), st.floats(0.0, 50.0), st.floats(0.01, 1.0))
def test_costs_and_energy_never_negative(frame, price, utilization):
    out = infer_econ.evaluate(_priced(frame, price, utilization))
    assert out.height == frame.height
    _nonneg(out, ECON_COLUMNS + ["output_tokens_per_s", "tpot_s", "ttft_s", "prefill_s", "weights_gb_per_device",
                                 "kv_cache_gb_per_device"])


@SMALL
@given(scenario_rows(n=st.integers(1, 3)), st.floats(1e3, 1e5), st.floats(0.0, 1.0), st.floats(1.0, 2.0))
def test_owned_costs_never_negative(frame, capex, electricity, pue):
    f = frame.with_columns(pl.lit("owned").alias("price_model"), pl.lit(capex).alias("capex_usd_per_device"),
                           pl.lit(electricity).alias("electricity_usd_per_kwh"), pl.lit(pue).alias("pue"))
    _nonneg(infer_econ.evaluate(f), ECON_COLUMNS)


# ----------------------------------------------------------------------------- monotone in prices
def _cost_pair(frame: pl.DataFrame, col: str, low: float, high: float, **fixed) -> tuple[pl.Series, pl.Series]:
    f = frame.head(1).with_columns(**{k: pl.lit(v) for k, v in fixed.items()})
    both = pl.concat([f.with_columns(pl.lit(low).alias(col)), f.with_columns(pl.lit(high).alias(col))])
    out = infer_econ.evaluate(both)
    return out[0], out[1]


@SETTINGS
@given(scenario_rows(n=st.just(1)), st.floats(0.0, 20.0), st.floats(0.0, 20.0), st.floats(0.05, 1.0))
def test_cost_monotone_in_the_rental_price(frame, p, dp, utilization):
    lo, hi = _cost_pair(frame, "usd_per_device_hour", p, p + dp, utilization=utilization)
    for c in ("usd_per_hour", "usd_per_million_output_tokens", "usd_per_million_tokens", "usd_per_request"):
        a, b = lo[c][0], hi[c][0]
        if a is not None:
            assert b >= a * (1 - 1e-9), c


OWNED_PRICES = {
    "capex_usd_per_device": (1e3, 5e4),
    "electricity_usd_per_kwh": (0.0, 0.5),
    "hosting_usd_per_kw_month": (0.0, 300.0),
    "ops_usd_per_device_year": (0.0, 5e3),
    "interest_rate": (0.0, 0.2),
    "pue": (1.0, 2.0),
}


@pytest.mark.parametrize("col", sorted(OWNED_PRICES))
@SMALL
@given(frame=scenario_rows(n=st.just(1), priced=True), a=st.floats(0, 1), b=st.floats(0, 1))
def test_owned_cost_monotone_in_every_price(col, frame, a, b):
    lo_b, hi_b = OWNED_PRICES[col]
    low, high = sorted((lo_b + a * (hi_b - lo_b), lo_b + b * (hi_b - lo_b)))
    fixed = {"price_model": "owned", "capex_usd_per_device": 25_000.0}
    fixed.pop(col, None)
    lo, hi = _cost_pair(frame, col, low, high, **fixed)
    for c in ("usd_per_hour", "usd_per_million_output_tokens"):
        if lo[c][0] is not None:
            assert hi[c][0] >= lo[c][0] * (1 - 1e-9), (c, lo[c][0], hi[c][0])


@SETTINGS
@given(scenario_rows(n=st.just(1), priced=True), st.floats(0.01, 1.0), st.floats(0.01, 1.0))
def test_cost_per_token_never_rises_with_utilization(frame, u1, u2):
    lo_u, hi_u = sorted((u1, u2))
    f = frame.with_columns(pl.lit("aws").alias("provider"), pl.lit("on_demand").alias("price_model"))
    f = f.filter(pl.col("hardware").is_in(["h100-sxm", "a100-sxm-80gb", "l4", "a10g", "l40s", "h200"]))
    try:
        low, high = _cost_pair(f, "utilization", lo_u, hi_u)
    except infer_econ.errors.UnknownIdError:  # no aws price for this hardware: another provider's
        low, high = _cost_pair(frame.with_columns(pl.lit(2.0).alias("usd_per_device_hour")), "utilization", lo_u,
                               hi_u)
    for c in ("usd_per_million_output_tokens", "usd_per_million_tokens", "usd_per_request"):
        if low[c][0] is not None:
            assert high[c][0] <= low[c][0] * (1 + 1e-9), c


# ----------------------------------------------------------------------------- bandwidth, precision

def _assert_ordered(before: pl.DataFrame, after: pl.DataFrame, order: dict[str, str]) -> None:
    """Each column of ``after`` is <= (``le``) or >= (``ge``) the same row of ``before`` (1e-9 relative); nulls
    on the same rows."""
    for c, how in order.items():
        for a, b in zip(before[c].to_list(), after[c].to_list(), strict=True):
            if a is None or b is None:
                assert a is None and b is None, (c, a, b)
                continue
            assert (b <= a * (1 + 1e-9)) if how == "le" else (b >= a * (1 - 1e-9)), (c, a, b)

@SETTINGS
@given(scenario_rows(n=st.integers(1, 4)), st.floats(1.0, 4.0))
def test_more_memory_bandwidth_never_slower(frame, factor):
    hw = catalog.load("hardware")
    top = catalog.schema("hardware").filter(pl.col("column") == "memory_bandwidth_gb_per_s")["max"].item()
    faster = hw.with_columns((pl.col("memory_bandwidth_gb_per_s") * factor).clip(upper_bound=top))  # within range
    fixed = frame.with_columns(pl.col("batch_size").fill_null(8))
    base = infer_econ.estimate(fixed, hardware=hw)
    fast = infer_econ.estimate(fixed, hardware=faster)
    assert base["fits"].to_list() == fast["fits"].to_list()
    _assert_ordered(base, fast, {"tpot_s": "le", "ttft_s": "le", "decode_tokens_per_s": "ge",
                                 "output_tokens_per_s": "ge"})


@pytest.mark.parametrize("flag, same, slower", [
    # unfused attention moves the score matrix through memory: prefill and decode both slower
    ("flash_attention", ("fits",), {"prefill_s": "ge", "tpot_s": "ge", "ttft_s": "ge", "output_tokens_per_s": "le"}),
    # a kernel that is not GQA-aware reads the cache more often: decode slower, memory and prefill unchanged
    ("grouped_kv_attention", ("fits", "limit", "batch_size_used", "kv_cache_gb_per_device", "prefill_s"),
     {"tpot_s": "ge", "ttft_s": "ge", "output_tokens_per_s": "le"}),
])
@SETTINGS
@given(frame=scenario_rows(n=st.integers(1, 4)))
def test_the_slower_kernel_setting_is_never_faster(flag, same, slower, frame):
    fixed = frame.with_columns(pl.col("batch_size").fill_null(8))
    fast = infer_econ.estimate(fixed.with_columns(pl.lit(True).alias(flag)))
    slow = infer_econ.estimate(fixed.with_columns(pl.lit(False).alias(flag)))
    for c in same:
        assert fast[c].to_list() == slow[c].to_list(), c
    _assert_ordered(fast, slow, slower)


@SETTINGS
@given(st.sampled_from(MODELS), st.sampled_from(HARDWARE), st.sampled_from([1, 2, 4, 8]))
def test_lower_precision_never_more_weight_memory(model, hardware, n):
    prec = catalog.load("precisions").select("id", "bits_per_weight")
    f = pl.DataFrame({"precision": prec["id"]}).with_columns(
        model=pl.lit(model), hardware=pl.lit(hardware), engine=pl.lit("vllm"), n_devices=pl.lit(n),
        input_tokens=pl.lit(100), output_tokens=pl.lit(10))
    out = infer_econ.estimate(f).join(prec, left_on="precision", right_on="id").sort("bits_per_weight")
    w = out["weights_gb_per_device"].to_list()
    assert all(x is not None for x in w)
    assert all(a <= b * (1 + 1e-9) for a, b in zip(w, w[1:])), list(zip(out["precision"], w))


# ----------------------------------------------------------------------------- serving
@SETTINGS
@given(scenario_rows(n=st.just(1)), st.lists(st.floats(0.01, 50.0), min_size=2, max_size=6))
def test_latency_non_decreasing_in_request_rate(frame, rates):
    rates = sorted(rates)
    est = infer_econ.estimate(frame)
    if not est["fits"][0]:
        return
    f = pl.concat([est.with_columns(pl.lit(r).alias("request_rate_per_s")) for r in rates])
    out = serving.latency_under_load(f)
    stable = out["stable"].to_list()
    # once unstable, stays unstable
    assert all(not b for a, b in zip(stable, stable[1:]) if not a)
    sub = out.filter(pl.col("stable"))
    for c in ("utilization", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s", "queue_wait_s", "e2e_mean_s"):
        v = sub[c].to_list()
        assert all(a <= b * (1 + 1e-9) + 1e-12 for a, b in zip(v, v[1:])), (c, rates, v)


# ----------------------------------------------------------------------------- row order and batching
def _same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns
    for c in a.columns:
        x, y = a[c].to_list(), b[c].to_list()
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float) and isinstance(v, float):
                assert (math.isnan(u) and math.isnan(v)) or math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-12), (c, u, v)
            else:
                assert u == v, (c, u, v)


@SETTINGS
@given(scenario_rows(n=st.integers(2, 8)), st.randoms(use_true_random=False))
def test_estimate_independent_of_row_order_and_batching(frame, rnd):
    order = list(range(frame.height))
    rnd.shuffle(order)
    whole = infer_econ.estimate(frame)
    shuffled = infer_econ.estimate(frame[order])
    _same(whole[order], shuffled)
    one_by_one = pl.concat([infer_econ.estimate(frame[i:i + 1]) for i in range(frame.height)], how="vertical_relaxed")
    _same(whole, one_by_one)


@SMALL
@given(scenario_rows(n=st.integers(2, 6)), st.floats(0.5, 10.0), st.randoms(use_true_random=False))
def test_evaluate_independent_of_row_order_and_batching(frame, price, rnd):
    f = _priced(frame, price, 0.7)
    order = list(range(f.height))
    rnd.shuffle(order)
    whole = infer_econ.evaluate(f)
    _same(whole[order], infer_econ.evaluate(f[order]))
    parts = pl.concat([infer_econ.evaluate(f[i:i + 1]) for i in range(f.height)], how="vertical_relaxed")
    _same(whole, parts.select(whole.columns))


@SMALL
@given(scenario_rows(n=st.integers(2, 4)), st.randoms(use_true_random=False),
       st.lists(st.sampled_from(["on_demand", "spot", "owned"]), min_size=4, max_size=4))
def test_uncertainty_bands_independent_of_row_order_and_batching(frame, rnd, models):
    """A scenario's p10/p50/p90 bands are the same alone, in a batch, or in another order (same seed)."""
    f = frame.with_columns(pl.Series("price_model", models[: frame.height]),
                           pl.lit(2.0).alias("usd_per_device_hour"))
    owned = pl.col("price_model") == "owned"  # owned rows on hardware with a purchase price (catalog capex range)
    f = f.with_columns(pl.when(owned).then(None).otherwise(pl.col("usd_per_device_hour")).alias("usd_per_device_hour"),
                       pl.when(owned).then(pl.lit("h100-sxm")).otherwise(pl.col("hardware")).alias("hardware"))
    order = list(range(f.height))
    rnd.shuffle(order)
    whole = infer_econ.evaluate(f, uncertainty=True, draws=50, seed=3)
    bands = [c for c in whole.columns if c.endswith(("_p10", "_p50", "_p90"))]
    assert bands
    _same(whole[order].select(bands), infer_econ.evaluate(f[order], uncertainty=True, draws=50, seed=3).select(bands))
    parts = pl.concat([infer_econ.evaluate(f[i:i + 1], uncertainty=True, draws=50, seed=3) for i in range(f.height)],
                      how="diagonal_relaxed")
    _same(whole.select(bands), parts.select(bands))


@SMALL
@given(scenario_rows(n=st.integers(2, 4)), st.randoms(use_true_random=False), st.floats(0.05, 5.0))
def test_simulated_latency_independent_of_row_order_and_batching(frame, rnd, rate):
    """The seeded serving simulation gives each scenario the same percentiles alone, batched or reordered."""
    est = infer_econ.estimate(frame).filter(pl.col("fits"))
    if est.height < 2:
        return
    f = est.with_columns(pl.lit(rate).alias("request_rate_per_s"), pl.lit("lognormal").alias("input_length_dist"))
    order = list(range(f.height))
    rnd.shuffle(order)
    cols = ["stable", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s"]
    run = lambda g: serving.latency_under_load(g, method="simulation", n_requests=300, seed=5).select(cols)  # noqa: E731
    whole = run(f)
    _same(whole[order], run(f[order]))
    _same(whole, pl.concat([run(f[i:i + 1]) for i in range(f.height)]))

"""Tests of infer_econ.value: hand-computed cases, properties, errors."""

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import value
from infer_econ.errors import ValidationError


def one(expr):
    return pl.select(expr).item()


def test_net_value_hand():
    # 1e6 × (0.05 × 0.9 − 0.2 × 0.1 − 0.001) = 1e6 × 0.024
    assert math.isclose(one(value.net_value_usd(1e6, 0.05, 0.2, 0.9, 0.001)), 24_000.0, rel_tol=1e-12)


def test_correct_answer_and_marginal_hand():
    assert one(value.usd_per_correct_answer(0.002, 0.8)) == 0.0025
    # 1e6 × (0.05 + 0.2) × 0.01 = 2500
    assert math.isclose(one(value.marginal_value_of_accuracy(1e6, 0.05, 0.2)), 2500.0, rel_tol=1e-12)
    # 1e6 × (0.25 × 0.02 − 0.0005) = 4500
    assert math.isclose(one(value.accuracy_upgrade_net_usd(0.02, 0.0005, 1e6, 0.05, 0.2)), 4500.0, rel_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(a=st.floats(0, 0.99), d=st.floats(0, 0.01), v=st.floats(0, 1), c=st.floats(0, 1), r=st.floats(1, 1e7))
def test_marginal_value_is_the_slope(a, d, v, c, r):
    # net(a + d) − net(a) = marginal × d / 0.01 exactly (net is linear in accuracy)
    lhs = one(value.net_value_usd(r, v, c, a + d, 0.0)) - one(value.net_value_usd(r, v, c, a, 0.0))
    rhs = one(value.marginal_value_of_accuracy(r, v, c)) * d / 0.01
    assert math.isclose(lhs, rhs, rel_tol=1e-9, abs_tol=1e-6)


def test_pareto_frontier():
    f = pl.DataFrame({"m": list("abcdef"), "usd": [1.0, 2.0, 3.0, 4.0, 1.0, None], "acc": [0.6, 0.5, 0.8, 0.8, 0.55, 0.99]})
    front = value.pareto_frontier(f, "usd", "acc")
    assert front["m"].to_list() == ["a", "c"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 1)), min_size=1, max_size=30))
def test_pareto_rows_not_dominated(rows):
    f = pl.DataFrame({"usd": [r[0] for r in rows], "acc": [r[1] for r in rows]})
    front = value.pareto_frontier(f, "usd", "acc")
    assert front.height >= 1
    for c, q in front.iter_rows():
        dominated = f.filter(((pl.col("usd") <= c) & (pl.col("acc") > q)) | ((pl.col("usd") < c) & (pl.col("acc") >= q)))
        assert dominated.height == 0


def test_cascade_hand_and_errors():
    f = pl.DataFrame({"small_usd_per_request": [0.001], "small_accuracy": [0.7], "large_usd_per_request": [0.01],
                      "large_accuracy": [0.9], "escalation_share": [0.2]})
    r = value.cascade(f)
    # cost 0.001 + 0.2 × 0.01 = 0.003; accuracy 0.8 × 0.7 + 0.2 × 0.9 = 0.74
    assert math.isclose(r["cascade_usd_per_request"].item(), 0.003, rel_tol=1e-12)
    assert math.isclose(r["cascade_accuracy"].item(), 0.74, rel_tol=1e-12)
    with pytest.raises(ValidationError, match="escalation_share"):
        value.cascade(f.with_columns(pl.lit(1.5).alias("escalation_share")))


def test_api_monthly_hand():
    # (1e9 × (0.5 × 3 + 0.5 × 0.3) + 2e8 × 15) / 1e6 = 4650; 40 % at 50 % off → × 0.8 = 3720
    assert math.isclose(one(value.api_monthly_cost_usd(1e9, 2e8, 3.0, 15.0, 0.3, 0.5, 0.4, 0.5)), 3720.0, rel_tol=1e-12)
    # no cached price: cached tokens billed as uncached; no batch API: no discount
    f = pl.DataFrame({"usd_per_million_cached_input_tokens": [None], "batch_discount_fraction": [None]},
                     schema={"usd_per_million_cached_input_tokens": pl.Float64, "batch_discount_fraction": pl.Float64})
    out = f.select(value.api_monthly_cost_usd(1e6, 1e6, 1.0, 2.0, cached_input_share=0.5, batch_share=1.0)).item()
    assert math.isclose(out, 3.0, rel_tol=1e-12)


def test_self_hosted_hand():
    # demand 2.628e10 / 2.628e6 s = 1e4 tokens/s; × 2 peak / (4000 × 0.8) = 6.25 → 7 replicas × 8 × 730
    assert one(value.self_hosted_replicas(2.628e10, 4000.0, 2.0, 0.8)) == 7
    assert math.isclose(one(value.self_hosted_monthly_cost_usd(2.628e10, 4000.0, 8.0, 2.0, 0.8)), 7 * 8 * 730, rel_tol=1e-12)
    assert one(value.self_hosted_replicas(0.0, 4000.0)) == 1  # idle fleet still costs one replica


def test_self_hosted_replicas_exact_fill_is_not_one_more():
    # 18 replicas × 1234.5 tokens/s × 0.3 = 6666.3 tokens/s exactly fills 18 replicas; in floats the ratio is
    # 18.000000000000004, which a bare ceil turned into 19 (before demand.replicas_for_load was shared)
    tokens = 18 * 1234.5 * 0.3 * value.SECONDS_PER_MONTH
    assert one(value.self_hosted_replicas(tokens, 1234.5, 1.0, 0.3)) == 18
    # just over the fill (1 % more demand) needs the 19th: 18.18 → 19
    assert one(value.self_hosted_replicas(tokens * 1.01, 1234.5, 1.0, 0.3)) == 19


@settings(max_examples=80, deadline=None)
@given(uph=st.floats(0.5, 100), tps=st.floats(10, 1e5), api=st.floats(0.01, 100))
def test_break_even_consistent_with_cost_curves(uph, tps, api):
    v = one(value.break_even_tokens_per_month(uph, tps, api))
    one_replica = uph * 730
    if v is None:
        # even a saturated replica costs more than the API for its full capacity
        cap = tps * 730 * 3600
        assert one_replica > api / 1e6 * cap * (1 - 1e-12)
    else:
        api_cost = one(value.api_monthly_cost_usd(0.0, v, 0.0, api, 0.0, batch_discount_fraction=0.0))
        self_cost = one(value.self_hosted_monthly_cost_usd(v, tps, uph))
        assert math.isclose(api_cost, self_cost, rel_tol=1e-9)
        below = v * 0.99
        assert one(value.api_monthly_cost_usd(0.0, below, 0.0, api, 0.0, batch_discount_fraction=0.0)) < one(value.self_hosted_monthly_cost_usd(below, tps, uph))


def test_lock_in_hand():
    f = pl.DataFrame({"api_monthly_cost_usd": [10000.0], "self_hosted_monthly_cost_usd": [7000.0]})
    r = value.lock_in(f, api_price_change=0.2, gpu_price_change=-0.1, switching_cost_usd=30000.0, horizon_months=24)
    # api' 12000, self' 6300: stay 288000, switch 30000 + 151200 = 181200, lock-in 106800; payback 30000 / 5700
    assert r["stay_cost_usd"].item() == 288000.0
    assert r["lock_in_cost_usd"].item() == 106800.0
    assert math.isclose(r["switch_payback_months"].item(), 30000 / 5700, rel_tol=1e-12)
    r2 = value.lock_in(f, api_price_change=-0.5, switching_cost_usd=1.0)
    assert r2["switch_payback_months"].item() is None


def test_edge_vs_cloud_hand():
    f = pl.DataFrame({"edge_capex_usd": [2000.0], "edge_lifetime_years": [4.0], "edge_power_w": [60.0],
                      "edge_idle_power_w": [10.0], "edge_requests_per_s": [0.5], "edge_latency_s": [2.0],
                      "electricity_usd_per_kwh": [0.2], "cloud_usd_per_request": [0.001], "cloud_latency_s": [1.0],
                      "egress_gb_per_request": [0.001]})
    r = value.edge_vs_cloud(f)  # egress 0.09 $/GB and RTT 0.05 s from data/defaults.csv
    fixed = 2000 / 1460 + 10 * 24 / 1000 * 0.2  # 1.369863 + 0.048
    marginal = 50 / 0.5 / 3.6e6 * 0.2
    cloud = 0.001 + 0.001 * 0.09
    assert math.isclose(r["break_even_requests_per_day"].item(), fixed / (cloud - marginal), rel_tol=1e-12)
    assert math.isclose(r["cloud_total_latency_s"].item(), 1.05, rel_tol=1e-12)
    # cloud cheaper at the margin than the edge's energy: never breaks even
    r2 = value.edge_vs_cloud(f.with_columns(pl.lit(0.0).alias("cloud_usd_per_request"), pl.lit(0.0).alias("egress_gb_per_request")))
    assert r2["break_even_requests_per_day"].item() is None


def test_training_cost_and_payback_hand():
    # 6 × 8e9 × 1e9 = 4.8e19 FLOPs / (989e12 × 0.4) = 121,334.7 s = 33.704 h × 2.5 = 84.26
    assert math.isclose(one(value.training_cost_usd(8.0, 1e9, 989.0, 2.5, 0.4)), 4.8e19 / (989e12 * 0.4) / 3600 * 2.5, rel_tol=1e-12)
    # default MFU 0.4 from data/defaults.csv
    assert one(value.training_cost_usd(8.0, 1e9, 989.0, 2.5)) == one(value.training_cost_usd(8.0, 1e9, 989.0, 2.5, 0.4))
    assert one(value.payback_months(12000.0, 3000.0)) == 4.0
    assert one(value.payback_months(12000.0, 0.0)) is None


WF = pl.DataFrame({"model": ["llama-3.1-70b"], "hardware": ["h100-sxm"], "precision": ["bf16"], "engine": ["vllm"],
                   "n_devices": [8], "input_tokens": [2000], "output_tokens": [500], "provider": ["aws"],
                   "price_model": ["on_demand"], "utilization": [0.4], "batch_size": [16]})


def test_savings_waterfall_adds_up():
    w = value.savings_waterfall(WF, requests_per_month=1e6)
    assert w["lever"].to_list() == ["baseline", "precision", "batching", "smaller_model", "hardware", "price_model",
                                    "prefix_caching", "edge", "api"]
    # cost never rises along the waterfall and the savings sum to baseline − final
    cost = w["usd_per_month"].to_list()
    assert all(b <= a for a, b in zip(cost, cost[1:]))
    assert (w["saving_usd_per_month"] >= 0).all()
    assert math.isclose(w["saving_usd_per_month"].sum(), cost[0] - cost[-1], rel_tol=1e-9)
    # usd_per_month = usd_per_request × volume
    assert math.isclose(w["usd_per_month"][0], w["usd_per_request"][0] * 1e6, rel_tol=1e-12)


def test_savings_waterfall_baseline_is_evaluate():
    from infer_econ import evaluate

    w = value.savings_waterfall(WF, requests_per_month=2e5)
    assert math.isclose(w["usd_per_request"][0], evaluate(WF)["usd_per_request"][0], rel_tol=1e-12)
    assert w["quality"][0] is not None  # llama-3.1-70b has a published MMLU score


def test_savings_waterfall_api_step_hand():
    # a hosted API for the step's model (the smaller_model step picks llama-3.1-8b) at 0.001 / 0.002 USD per 1M
    # tokens: one request of the scenario's 2000 in + 500 out = (2000 × 0.001 + 500 × 0.002) / 1e6 = 3e-6 USD
    api = pl.DataFrame({"id": ["cheap:llama-8b"], "model": ["llama-3.1-8b"], "usd_per_million_input_tokens": [0.001],
                        "usd_per_million_output_tokens": [0.002], "usd_per_million_cached_input_tokens": [None]},
                       schema_overrides={"usd_per_million_cached_input_tokens": pl.Float64})
    w = value.savings_waterfall(WF, requests_per_month=1e6, catalogs={"api_prices": api})
    last = w.row(-1, named=True)
    assert (last["lever"], last["change"], last["hardware"]) == ("api", "hosted API cheap:llama-8b", "api:cheap:llama-8b")
    assert math.isclose(last["usd_per_request"], 3e-6, rel_tol=1e-12)


def test_savings_waterfall_errors():
    with pytest.raises(ValidationError, match="one scenario row"):
        value.savings_waterfall(pl.concat([WF, WF]))
    with pytest.raises(ValidationError, match="no cost"):
        value.savings_waterfall(WF.drop("provider", "price_model"))


def test_model_quality_setting_and_fallback():
    q = pl.DataFrame({"model": ["m", "m", "n", "n"], "precision": ["bf16", "fp8", "bf16", "bf16"], "benchmark": ["B"] * 4,
                      "setting": ["s", "s", "s", "t"], "score": [70.0, 69.0, 50.0, 99.0]})
    f = value.model_quality(pl.DataFrame({"model": ["m", "n", "z"], "precision": ["fp8", "int4", "bf16"]}), "B", q)
    assert f["quality"].to_list() == [69.0, 50.0, None]
    assert f["quality_is_unquantized"].to_list() == [False, True, None]


def test_model_quality_id_column_errors():
    with pytest.raises(ValidationError, match=r"model_quality: missing column\(s\) \['precision'\]"):
        value.model_quality(pl.DataFrame({"model": ["llama-3.1-8b"]}))
    with pytest.raises(ValidationError, match="column 'model' must be text"):
        value.model_quality(pl.DataFrame({"model": [1], "precision": ["bf16"]}))
    # an all-null precision is an unknown precision: the unquantized score (hand-made catalog: 70)
    q = pl.DataFrame({"model": ["m"], "precision": ["bf16"], "benchmark": ["B"], "setting": ["s"], "score": [70.0]})
    r = value.model_quality(pl.DataFrame({"model": ["m"], "precision": [None]}), "B", q)
    assert (r["quality"].item(), r["quality_is_unquantized"].item()) == (70.0, True)

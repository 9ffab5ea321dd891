"""Tests of infer_econ.cost: hand-computed cases, identities, properties, errors."""

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import catalog, cost
from infer_econ.errors import UnknownIdError, ValidationError


def one(expr):
    return pl.select(expr).item()


def test_hand_case_four_gpus():
    # 4 GPUs × $2.00 = $8/h; 8 / (10,000 × 1 × 3600) × 1e6 = 0.2222 $/M output tokens
    uph = one(cost.usd_per_hour(2.0, 4))
    assert uph == 8.0
    assert round(one(cost.usd_per_million_output_tokens(uph, 10_000.0, 1.0)), 4) == 0.2222


def test_identities_exact_on_frame():
    f = pl.DataFrame({"usd_per_device_hour": [2.0, 3.1, 55.04 / 8], "n_devices": [4, 1, 8],
                      "output_tokens_per_s": [10_000.0, 123.0, 7_777.0], "utilization": [1.0, 0.3, 0.75]})
    f = f.with_columns(cost.usd_per_hour()).with_columns(cost.usd_per_million_output_tokens())
    for r in f.iter_rows(named=True):
        assert r["usd_per_hour"] == r["usd_per_device_hour"] * r["n_devices"]
        assert r["usd_per_million_output_tokens"] == r["usd_per_hour"] / (r["output_tokens_per_s"] * r["utilization"] * 3600.0) * 1e6


def test_tokens_and_request():
    # 0.2222 × 250 / (1000 + 250) = 0.2222 × 0.2 = 0.04444; per request 0.2222 × 500 / 1e6
    assert math.isclose(one(cost.usd_per_million_tokens(8.0, 10_000.0, 1.0, 1000, 250)), 0.2222222222 * 0.2, rel_tol=1e-8)
    assert math.isclose(one(cost.usd_per_request(8.0, 10_000.0, 1.0, 500)), 0.2222222222 * 500 / 1e6, rel_tol=1e-8)


def test_crf_hand_and_limits():
    # r = 0.08, n = 5: 0.08 × 1.469328 / 0.469328 = 0.250456
    assert math.isclose(one(cost.capital_recovery_factor(0.08, 5)), 0.2504564545, rel_tol=1e-8)
    assert one(cost.capital_recovery_factor(0.0, 4)) == 0.25
    # tiny rate tends to straight line
    assert math.isclose(one(cost.capital_recovery_factor(1e-9, 4)), 0.25, rel_tol=1e-6)


def test_owned_tco_hand():
    # capital 30000 × 0.2504565 / 8760 = 0.857728; energy 0.9 × 1.4 × 0.08 = 0.1008;
    # hosting 1.4 × 180 / 730 = 0.345205; ops 1500 / 8760 = 0.171233; sum 1.474966
    v = one(cost.owned_usd_per_device_hour(30000.0, 5, 0.08, 900.0, 1400.0, 1.4, 0.08, 180.0, 1500.0))
    assert math.isclose(v, 0.857728 + 0.1008 + 0.345205 + 0.171233, abs_tol=2e-6)


def test_break_even_hand():
    assert one(cost.break_even_utilization(1.5, 3.0)) == 0.5
    # 25000 / (730 × (2.5 × 0.8 − 0.4)) = 25000 / 1168 = 21.40 months
    assert math.isclose(one(cost.break_even_months(25000.0, 0.4, 2.5, 0.8)), 25000 / 1168, rel_tol=1e-12)
    assert one(cost.break_even_months(25000.0, 3.0, 2.5, 0.8)) is None


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.01, 100), bump=st.floats(0, 10), tps=st.floats(1, 1e5), u=st.floats(0.01, 1), n=st.integers(1, 64))
def test_cost_never_decreases_when_price_rises(p, bump, tps, u, n):
    lo = one(cost.usd_per_million_output_tokens(cost.usd_per_hour(p, n), tps, u))
    hi = one(cost.usd_per_million_output_tokens(cost.usd_per_hour(p + bump, n), tps, u))
    assert hi >= lo


@settings(max_examples=60, deadline=None)
@given(u1=st.floats(0.01, 1), u2=st.floats(0.01, 1), tps=st.floats(1, 1e5))
def test_cost_per_token_never_rises_with_utilization(u1, u2, tps):
    a, b = sorted([u1, u2])
    assert one(cost.usd_per_million_output_tokens(8.0, tps, b)) <= one(cost.usd_per_million_output_tokens(8.0, tps, a))


@settings(max_examples=60, deadline=None)
@given(own=st.floats(0.1, 10), rent=st.floats(0.1, 10))
def test_break_even_utilization_consistent_with_cost_curves(own, rent):
    # at u*, renting u* of the hours costs exactly the owned all-hours cost
    u = one(cost.break_even_utilization(own, rent))
    assert math.isclose(u * rent, own, rel_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(capex=st.floats(1000, 1e5), opex=st.floats(0, 1), rent=st.floats(0.5, 10), u=st.floats(0.1, 1))
def test_break_even_months_consistent(capex, opex, rent, u):
    m = one(cost.break_even_months(capex, opex, rent, u))
    if m is None:
        assert rent * u <= opex
    else:
        own_total = capex + opex * cost.HOURS_PER_MONTH * m
        rent_total = rent * u * cost.HOURS_PER_MONTH * m
        assert math.isclose(own_total, rent_total, rel_tol=1e-9)


PRICES = pl.DataFrame({
    "id": ["x:a:r1:on_demand", "x:b:r1:on_demand", "x:a:r2:on_demand", "x:a:r1:spot"],
    "provider": ["x"] * 4, "hardware": ["h100-sxm"] * 4, "region": ["r1", "r1", "r2", "r1"],
    "price_model": ["on_demand", "on_demand", "on_demand", "spot"], "usd_per_device_hour": [3.0, 2.5, 2.0, 1.0],
})


def test_rented_lookup_cheapest_and_region():
    s = pl.DataFrame({"hardware": ["h100-sxm"] * 3, "provider": ["x"] * 3, "region": ["r1", None, "r1"],
                      "price_model": ["on_demand", "on_demand", "spot"]})
    out = cost.rented_usd_per_device_hour(s, PRICES)
    assert out["rented_usd_per_device_hour"].to_list() == [2.5, 2.0, 1.0]
    assert out["price_id"].to_list() == ["x:b:r1:on_demand", "x:a:r2:on_demand", "x:a:r1:spot"]


def test_rented_lookup_unknown_lists_valid_choices():
    s = pl.DataFrame({"hardware": ["h100-sxm"], "provider": ["y"], "region": ["r1"], "price_model": ["on_demand"]})
    with pytest.raises(UnknownIdError, match=r"x/r1/on_demand.*x/r2/on_demand"):
        cost.rented_usd_per_device_hour(s, PRICES)


def test_shipped_cloud_price_lookup():
    s = pl.DataFrame({"hardware": ["h100-sxm"], "provider": ["aws"], "region": [None], "price_model": ["on_demand"]},
                     schema_overrides={"region": pl.String})
    out = cost.rented_usd_per_device_hour(s)
    ship = catalog.load("cloud_prices").filter((pl.col("provider") == "aws") & (pl.col("hardware") == "h100-sxm")
                                               & (pl.col("price_model") == "on_demand"))
    assert out["rented_usd_per_device_hour"].item() == ship["usd_per_device_hour"].min()


def test_capex_prefers_server_rows_midpoint():
    hp = pl.DataFrame({"hardware": ["g", "g", "k"], "n_devices": [1, 8, 1],
                       "usd_per_device_low": [100.0, 300.0, 10.0], "usd_per_device_high": [200.0, 500.0, 30.0]})
    out = cost.capex_usd_per_device(pl.DataFrame({"hardware": ["g", "k", "z"]}), hp)
    assert out["catalog_capex_usd_per_device"].to_list() == [400.0, 20.0, None]


@pytest.mark.parametrize("col,val", [("usd_per_device_hour", -1.0), ("capex_usd_per_device", -5.0),
                                     ("utilization", 0.0), ("utilization", 1.01), ("pue", 0.9),
                                     ("depreciation_years", 0.0), ("electricity_usd_per_kwh", -0.1)])
def test_bad_inputs_name_the_column(col, val):
    with pytest.raises(ValidationError, match=col):
        cost.check_price_inputs(pl.DataFrame({col: [val]}))


def test_bad_price_model():
    with pytest.raises(ValidationError, match="price_model"):
        cost.check_price_inputs(pl.DataFrame({"price_model": ["lease"]}))


def test_capex_id_column_errors_and_casts():
    with pytest.raises(ValidationError, match=r"capex_usd_per_device: missing column\(s\) \['hardware'\]"):
        cost.capex_usd_per_device(pl.DataFrame({"x": [1]}))
    with pytest.raises(ValidationError, match="column 'hardware' must be text"):
        cost.capex_usd_per_device(pl.DataFrame({"hardware": [1]}))
    # a categorical id joins like text: hand-made prices, midpoint of 10 and 30 = 20
    hp = pl.DataFrame({"hardware": ["g"], "n_devices": [1], "usd_per_device_low": [10.0], "usd_per_device_high": [30.0]})
    f = pl.DataFrame({"hardware": ["g"]}, schema={"hardware": pl.Categorical})
    assert cost.capex_usd_per_device(f, hp)["catalog_capex_usd_per_device"].to_list() == [20.0]

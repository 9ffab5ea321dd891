"""Tests of infer_econ.demand: profiles, CSV reading, autoscaling traces, strategy comparison."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import demand
from infer_econ.errors import ValidationError


def test_profile_shape():
    d = demand.demand_profile(24 * 7, peak_requests_per_s=10.0, peak_to_trough_ratio=5.0, peak_hour=13,
                              weekend_factor=0.5)
    mon = d.filter(pl.col("weekday") == 0)
    assert mon["request_rate_per_s"].max() == pytest.approx(10.0)
    assert mon["request_rate_per_s"].min() == pytest.approx(2.0)  # trough = 10 / 5
    assert mon.filter(pl.col("hour_of_day") == 13)["request_rate_per_s"].item() == pytest.approx(10.0)
    assert mon.filter(pl.col("hour_of_day") == 1)["request_rate_per_s"].item() == pytest.approx(2.0)
    sat = d.filter(pl.col("weekday") == 5)
    assert sat["request_rate_per_s"].max() == pytest.approx(5.0)


def test_profile_growth_and_bursts():
    d = demand.demand_profile(731, peak_to_trough_ratio=1.0, peak_requests_per_s=4.0, growth_per_month=0.1)
    # flat curve growing 10 % per 730 h: hour 730 = 4 × 1.1
    assert d["request_rate_per_s"][730] == pytest.approx(4.4)
    b = demand.demand_profile(1000, peak_to_trough_ratio=1.0, peak_requests_per_s=1.0,
                              burst_probability_per_hour=0.1, burst_multiplier=3.0, seed=1)
    assert 50 < b["burst"].sum() < 150
    assert b.filter(pl.col("burst"))["request_rate_per_s"].unique().to_list() == [3.0]
    again = demand.demand_profile(1000, peak_to_trough_ratio=1.0, peak_requests_per_s=1.0,
                                  burst_probability_per_hour=0.1, burst_multiplier=3.0, seed=1)
    assert again["burst"].to_list() == b["burst"].to_list()


def test_profile_bad():
    with pytest.raises(ValidationError, match="peak_to_trough_ratio"):
        demand.demand_profile(24, peak_to_trough_ratio=0.5)
    with pytest.raises(ValidationError, match="burst_probability"):
        demand.demand_profile(24, burst_probability_per_hour=2)


def test_read_demand_csv(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("timestamp,requests,input_tokens,output_tokens\n2025-01-01T00:00,3600,500,100\n"
                 "2025-01-01T01:00,7200,500,100\n")
    d = demand.read_demand_csv(p)
    assert d["request_rate_per_s"].to_list() == [1.0, 2.0]
    assert d["hour"].to_list() == [0, 1]
    assert d["input_tokens"].to_list() == [500.0, 500.0]


def test_read_demand_csv_errors(tmp_path, monkeypatch):
    p = tmp_path / "bad.csv"
    p.write_text("hour,request_rate_per_s\n0,1.0\n1,-3\n")
    with pytest.raises(ValidationError, match=r"'bad.csv': row 2, column 'request_rate_per_s': '-3'"):
        demand.read_demand_csv(p)
    p.write_text("hour,request_rate_per_s\n0,1.0\n2,3\n")
    with pytest.raises(ValidationError, match=r"row 2, column 'hour'"):
        demand.read_demand_csv(p)
    p.write_text("when,rate\n0,1\n")
    with pytest.raises(ValidationError, match="'hour' or 'timestamp'"):
        demand.read_demand_csv(p)
    p.write_text("timestamp,requests\n2025-01-01T00:00,1\n2025-01-01T03:00,1\n")
    with pytest.raises(ValidationError, match="one hour apart"):
        demand.read_demand_csv(p)
    with pytest.raises(ValidationError, match="not found"):
        demand.read_demand_csv(tmp_path / "missing.csv")
    p.write_text("hour,requests\n" + "".join(f"{i},1\n" for i in range(50)))
    monkeypatch.setattr(demand, "MAX_DEMAND_BYTES", 100)
    with pytest.raises(ValidationError, match="over the limit"):
        demand.read_demand_csv(p)


def test_sample_demand_file_reads():
    from infer_econ._paths import data_dir

    d = demand.read_demand_csv(data_dir() / "sample_demand.csv")
    assert d.height == 24 * 7
    assert (d["request_rate_per_s"] > 0).all()


def test_model_load_time():
    # 140 GB at 2 GB/s = 70 s plus 120 s start
    assert demand.model_load_time_s(140.0, 2.0, 120.0)[()] == pytest.approx(190.0)
    with pytest.raises(ValidationError):
        demand.model_load_time_s(1.0, 0.0)


D4 = pl.DataFrame({"request_rate_per_s": [1.0, 5.0, 9.0, 2.0]})


def test_replicas_for_load_hand():
    # 9 / (1.0 × 2) = 4.5 → 5; 9 / (0.8 × 2) = 5.625 → 6; 8 / 2 = 4 → 4 (exact); 0 → 0 (callers clip)
    got = demand.replicas_for_load(np.array([9.0, 9.0, 8.0, 0.0]), 2.0, np.array([1.0, 0.8, 1.0, 1.0]))
    assert got.tolist() == [5.0, 6.0, 4.0, 0.0]
    # exact fill at 0.7: 9 × 3.3 × 0.7 / (0.7 × 3.3) is 9.000000000000002 in floats: still 9 replicas
    assert float(demand.replicas_for_load(9 * 3.3 * 0.7, 3.3, 0.7)) == 9.0
    # the same on polars expressions: 10.5 / (0.5 × 3) = 7
    assert pl.select(demand.replicas_for_load(pl.lit(10.5), pl.lit(3.0), 0.5)).item() == 7.0


def test_fixed_fleet_exact_fill():
    # peak 9 × 3.3 × 0.7 req/s at 3.3 req/s per replica and 70 % target: exactly 9 replicas, not 10
    d = pl.DataFrame({"request_rate_per_s": [1.0, 9 * 3.3 * 0.7]})
    r = demand.fixed_fleet(d, capacity_per_replica_rps=3.3, usd_per_replica_hour=1.0, target_utilization=0.7)
    assert r["replicas"].to_list() == [9, 9]


def test_fleet_bad_inputs_are_validation_errors():
    kw = dict(capacity_per_replica_rps=1.0, usd_per_replica_hour=1.0)
    with pytest.raises(ValidationError, match="column 'request_rate_per_s': expected numbers"):
        demand.fixed_fleet(pl.DataFrame({"request_rate_per_s": ["a"]}), **kw)
    with pytest.raises(ValidationError, match="column 'input_tokens': expected numbers"):
        demand.fixed_fleet(pl.DataFrame({"request_rate_per_s": [1.0], "input_tokens": ["a"], "output_tokens": [1]}), **kw)
    with pytest.raises(ValidationError, match="'input_tokens' \\+ 'output_tokens': expected finite numbers > 0"):
        demand.autoscale(pl.DataFrame({"request_rate_per_s": [1.0, 2.0], "input_tokens": [10, None],
                                       "output_tokens": [5, 5]}), **kw)
    d = pl.DataFrame({"request_rate_per_s": [1.0]})
    for bad in (-1, 1.5, True):
        with pytest.raises(ValidationError, match="replicas must be a whole number >= 0"):
            demand.fixed_fleet(d, replicas=bad, **kw)
    for bad in (0, float("nan")):
        with pytest.raises(ValidationError, match="step_h must be a finite number > 0"):
            demand.fixed_fleet(d, step_h=bad, **kw)


def test_autoscale_hand_trace_lag_one_hour():
    # capacity 2 req/s per replica, target utilization 1, lag 1 h, release at once:
    # desired = ceil(λ / 2) = [1, 3, 5, 1]
    # h0: 1 ready. h1: wants 3, requests 2 (ready h2): serving 1, billed 3, short (5 > 2).
    # h2: 3 ready; wants 5, requests 2 (ready h3): billed 5, short (9 > 6).
    # h3: 5 ready, wants 1: releases 4 → 1 serving (2 ≤ 2 ok), billed 1.
    r = demand.autoscale(D4, capacity_per_replica_rps=2.0, usd_per_replica_hour=3.0, target_utilization=1.0,
                         scale_up_lag_h=1.0, scale_down_delay_h=0.0)
    assert r["replicas"].to_list() == [1, 1, 3, 1]
    assert r["replicas_billed"].to_list() == [1, 3, 5, 1]
    assert r["slo_violation"].to_list() == [False, True, True, False]
    assert r["usd"].to_list() == [3.0, 9.0, 15.0, 3.0]
    # h1 serves 2 of 5 req/s: 60 % violated; h2 serves 6 of 9
    assert r["violated_request_share"].to_list() == pytest.approx([0.0, 0.6, 1 / 3, 0.0])
    # idle share h0: 1 − 1 / (1 × 2) = 0.5
    assert r["idle_share"][0] == pytest.approx(0.5)


def test_autoscale_scale_down_delay_and_min():
    d = pl.DataFrame({"request_rate_per_s": [8.0, 2.0, 2.0, 2.0, 0.0]})
    # desired [4, 1, 1, 1, 0→min 2]; delay 1 h: keeps 4 through h1, releases at h2
    r = demand.autoscale(d, capacity_per_replica_rps=2.0, usd_per_replica_hour=1.0, target_utilization=1.0,
                         scale_up_lag_h=0.0, scale_down_delay_h=1.0, min_replicas=2)
    assert r["replicas"].to_list() == [4, 4, 2, 2, 2]
    # target utilization 0.5 doubles the fleet: ceil(8 / (0.5 × 2)) = 8
    r2 = demand.autoscale(d, capacity_per_replica_rps=2.0, usd_per_replica_hour=1.0, target_utilization=0.5,
                          scale_up_lag_h=0.0, scale_down_delay_h=0.0)
    assert r2["replicas"].to_list() == [8, 2, 2, 2, 1]


def test_fixed_for_peak():
    r = demand.fixed_fleet(D4, capacity_per_replica_rps=2.0, usd_per_replica_hour=3.0)
    assert r["replicas"].to_list() == [5, 5, 5, 5]  # ceil(9 / 2)
    assert not r["slo_violation"].any()
    assert r["usd"].sum() == pytest.approx(60.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 50.0), min_size=2, max_size=48), st.floats(0.0, 3.0), st.floats(0.0, 3.0),
       st.floats(0.3, 1.0))
def test_autoscaled_never_costs_more_than_fixed_for_peak(rates, lag, delay, util):
    d = pl.DataFrame({"request_rate_per_s": rates})
    kw = dict(capacity_per_replica_rps=2.0, usd_per_replica_hour=1.0, target_utilization=util)
    fixed = demand.fixed_fleet(d, **kw)["usd"].sum()
    auto = demand.autoscale(d, scale_up_lag_h=lag, scale_down_delay_h=delay, **kw)["usd"].sum()
    assert auto <= fixed + 1e-9
    if max(rates) > 2 * min(rates) + 4 and lag == 0 and delay == 0:
        assert auto < fixed  # strictly cheaper when demand varies enough


def test_compare_strategies_hand_checked():
    # 12 h at 2 req/s then 12 h at 8 req/s, 2 req/s per replica, lag 0:
    # fixed 4 × 24 × $4 = $384; autoscaled (1 × 12 + 4 × 12) × $4 = $240;
    # reserved 1 @ $2.5 + on-demand 3 × 12 × $4 = 60 + 144 = $204 (cheapest); reserved 2: 120 + 96 = $216
    d = pl.DataFrame({"request_rate_per_s": [2.0] * 12 + [8.0] * 12, "input_tokens": 900.0, "output_tokens": 100.0})
    c = demand.compare_strategies(d, capacity_per_replica_rps=2.0, on_demand_usd_per_replica_hour=4.0,
                                  reserved_usd_per_replica_hour=2.5, spot_usd_per_replica_hour=1.5,
                                  spot_interruptions_per_hour=0.1, rework_h=0.0, scale_up_lag_h=0.0,
                                  scale_down_delay_h=0.0, target_utilization=1.0)
    usd = dict(zip(c["strategy"], c["total_usd"]))
    assert usd["fixed_for_peak"] == pytest.approx(384.0)
    assert usd["autoscaled"] == pytest.approx(240.0)
    assert usd["reserved_1+on_demand"] == pytest.approx(204.0)
    assert usd["reserved_2+on_demand"] == pytest.approx(216.0)
    # spot 100 % of the burst above the minimum (3 replicas × 12 h), lag 0 + rework 0 → f = 0:
    # on-demand base 1 × 24 h × $4 = $96 plus spot 36 × $1.5 = $54 → $150
    assert usd["spot_1"] == pytest.approx(96.0 + 36 * 1.5)
    # interruptions: f = 0.1/h × (1 h lag + 0.5 h rework) = 0.15 → spot part × 1 / 0.85
    c2 = demand.compare_strategies(d, capacity_per_replica_rps=2.0, on_demand_usd_per_replica_hour=4.0,
                                   spot_usd_per_replica_hour=1.5, spot_interruptions_per_hour=0.1, rework_h=0.5,
                                   scale_up_lag_h=1.0, scale_down_delay_h=0.0, target_utilization=1.0,
                                   spot_shares=(1.0,), max_violated_request_share=1.0)
    au = demand.autoscale(d, capacity_per_replica_rps=2.0, usd_per_replica_hour=1.0, target_utilization=1.0,
                          scale_up_lag_h=1.0, scale_down_delay_h=0.0)["replicas_billed"].to_numpy()
    want = ((au - 1) * 1.5 / 0.85 + 1 * 4.0).sum()
    assert dict(zip(c2["strategy"], c2["total_usd"]))["spot_1"] == pytest.approx(want)
    assert c.filter(pl.col("cheapest"))["strategy"].to_list() == ["spot_1"]
    assert "usd_per_million_tokens" in c.columns


def test_compare_strategies_slo_filter_and_errors():
    d = pl.DataFrame({"request_rate_per_s": [1.0, 9.0, 1.0, 9.0]})
    # with a 1 h lag the autoscaler is always late for the spikes: it does not meet a zero-violation SLO
    c = demand.compare_strategies(d, capacity_per_replica_rps=2.0, on_demand_usd_per_replica_hour=1.0,
                                  scale_up_lag_h=1.0, scale_down_delay_h=0.0, target_utilization=1.0)
    rows = {r["strategy"]: r for r in c.iter_rows(named=True)}
    assert not rows["autoscaled"]["meets_slo"] and rows["fixed_for_peak"]["meets_slo"]
    assert c.filter(pl.col("cheapest"))["strategy"].to_list() == ["fixed_for_peak"]
    with pytest.raises(ValidationError, match="spot"):
        demand.compare_strategies(d, capacity_per_replica_rps=2.0, on_demand_usd_per_replica_hour=1.0,
                                  spot_usd_per_replica_hour=0.5, spot_interruptions_per_hour=2.0, rework_h=1.0)
    with pytest.raises(ValidationError, match="capacity_per_replica_rps"):
        demand.autoscale(d, capacity_per_replica_rps=0.0, usd_per_replica_hour=1.0)
    with pytest.raises(ValidationError, match="request_rate_per_s"):
        demand.autoscale(pl.DataFrame({"x": [1]}), capacity_per_replica_rps=1.0, usd_per_replica_hour=1.0)


def test_autoscale_sub_hour_lag_serves_the_rest_of_the_hour():
    # lag 15 min: the 2 replicas asked for in h1 serve 45 min of it: capacity = (1 + 2 × 0.75) × 2 = 5 req/s
    r = demand.autoscale(D4, capacity_per_replica_rps=2.0, usd_per_replica_hour=3.0, target_utilization=1.0,
                         scale_up_lag_h=0.25, scale_down_delay_h=0.0)
    assert r["replicas"].to_list() == [1, 1, 3, 1]
    assert r["capacity_requests_per_s"].to_list() == pytest.approx([2.0, 5.0, 9.0, 2.0])
    assert r["slo_violation"].to_list() == [False, False, False, False]
    assert r["replicas_billed"].to_list() == [1, 3, 5, 1]

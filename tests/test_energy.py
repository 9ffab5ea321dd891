"""Tests of infer_econ.energy: hand cases, scopes kept apart, fit quality guard, properties."""

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import catalog, energy


def one(expr):
    return pl.select(expr).item()


def test_compute_utilization_hand():
    # 2 × 8e9 × 1e4 / (1 × 989e12) = 0.16178
    assert math.isclose(one(energy.compute_utilization(1e4, 8.0, 1, 989.0)), 1.6e14 / 989e12, rel_tol=1e-12)


def test_device_power_hand():
    # activity(0.6) = 0.5 + 0.5 × 0.6/0.7 = 0.928571; activity(0.02) = 0.5 + 0.5 × 0.02/0.12 = 0.583333
    # mix = 0.1 × 0.928571 + 0.9 × 0.583333 = 0.617857; P = 100 + 600 × 0.617857 = 470.714
    assert math.isclose(one(energy.device_power_w(100.0, 700.0, 0.1, 0.6, 0.02, 0.5, 0.1)), 470.7142857, rel_tol=1e-8)


def test_prefill_draws_more_than_small_batch_decode():
    p = energy.power_model()
    floor = p.filter(pl.col("id") == "power_floor:hopper")["value"].item()
    uh = p.filter(pl.col("id") == "power_u_half:default")["value"].item()
    decode_bs1 = one(energy.device_power_w(75.0, 700.0, 0.0, 0.0, 0.002, floor, uh))
    prefill = one(energy.device_power_w(75.0, 700.0, 1.0, 0.6, 0.0, floor, uh))
    assert 75 < decode_bs1 < prefill <= 700
    # the observation: measured power spans ~70 % to ~100 % of TDP across batch sizes
    assert prefill / 700 > 0.85


def test_energy_per_token_and_kwh_hand():
    assert one(energy.j_per_output_token(600.0, 1200.0)) == 0.5
    # idle hours charged: (0.5 × 600 + 0.5 × 100) / (0.5 × 1200) = 350 / 600
    assert math.isclose(one(energy.j_per_output_token(600.0, 1200.0, 0.5, 100.0)), 350 / 600, rel_tol=1e-12)
    assert math.isclose(one(energy.kwh_per_million_output_tokens(0.36)), 0.1, rel_tol=1e-12)


def test_facility_power_and_co2_hand():
    # 4000 × 1.3 × 1.2 = 6240 W
    assert math.isclose(one(energy.facility_power_w(4000.0, 0.3, 1.2)), 6240.0, rel_tol=1e-12)
    # 0.5 J × 500 = 250 J = 250 / 3.6e6 kWh × 400 g = 0.027778 g
    assert math.isclose(one(energy.g_co2e_per_request(0.5, 500, 400.0)), 250 / 3.6e6 * 400, rel_tol=1e-12)
    # 1000 kg over 5 y × 31.536e6 s × 0.5 × 2 req/s = 157.68e6 requests → 1e6 g / 157.68e6
    assert math.isclose(one(energy.g_co2e_per_request_embodied(1000.0, 1, 5.0, 0.5, 1000.0, 500)), 1e6 / 157.68e6, rel_tol=1e-12)


def test_measurements_carried_with_sources_and_scopes():
    m = energy.measurements()
    ref_ids = 103  # rows in shared/reference/energy/energy_calibration.csv
    assert m.height == ref_ids
    assert set(m["power_scope"]) == {"gpu_only", "wall", "wall_peak"}
    srcs = set(catalog.ids("sources"))
    assert set(m["source"]) <= srcs
    # a spot check against the reference: E001 4×B200 405B fp8 batch 8, 3451.2 W GPU-only
    r = m.filter(pl.col("id") == "E001").row(0, named=True)
    assert (r["hardware"], r["n_devices"], r["batch_size"], r["power_w"], r["power_scope"]) == ("b200", 4, 8, 3451.2, "gpu_only")


def test_shipped_power_model_matches_a_fresh_fit():
    shipped = energy.power_model().sort("id")
    fresh = energy.fit_power_model().sort("id")
    assert shipped["id"].to_list() == fresh["id"].to_list()
    for a, b in zip(shipped["value"].to_list(), fresh["value"].to_list()):
        assert math.isclose(a, b, abs_tol=1e-5)


def test_power_fit_error_guard():
    # regression guard on the fit (GPU-only median 8.5 %, wall LLM servers 5.0 % at the time of writing)
    r = energy.power_fit_residuals()
    gpu = r.filter(pl.col("power_scope") == "gpu_only")["pct_error"].abs()
    assert gpu.len() >= 60 and gpu.median() < 10.0
    llm_wall = r.filter((pl.col("power_scope") == "wall") & pl.col("model").is_in(["llama-2-70b", "mixtral-8x7b", "gpt-j-6b"]))
    assert llm_wall.height >= 9 and llm_wall["pct_error"].abs().median() < 7.0


def test_scopes_apart_host_share_positive():
    p = energy.power_model()
    assert p.filter(pl.col("id") == "host_power_share:server")["power_scope"].item() == "wall"
    assert 0.1 < p.filter(pl.col("id") == "host_power_share:server")["value"].item() < 1.0
    assert set(p.filter(pl.col("parameter") == "power_floor")["power_scope"]) == {"gpu_only"}


def test_power_parameters_fallbacks():
    f = energy.power_parameters(pl.DataFrame({"family": ["hopper", "no-such-family"], "category": ["datacenter", "apple"]}))
    p = energy.power_model()
    assert f["power_floor"][1] == p.filter(pl.col("id") == "power_floor:default")["value"].item()
    assert f["host_power_share"].to_list()[1] == 0.0


def test_peak_fallback_column():
    hw = pl.DataFrame({"id": ["g"], "bf16_tflops": [100.0], "fp8_tflops": [None]}, schema_overrides={"fp8_tflops": pl.Float64})
    pr = pl.DataFrame({"id": ["fp8", "bf16"], "native_peak_column": ["fp8_tflops", "bf16_tflops"],
                       "fallback_peak_column": ["bf16_tflops", "bf16_tflops"]})
    out = energy.peak_tflops(pl.DataFrame({"hardware": ["g", "g"], "precision": ["fp8", "bf16"]}), hw, pr)
    assert out["peak_tflops"].to_list() == [100.0, 100.0]


@settings(max_examples=80, deadline=None)
@given(idle=st.floats(1, 300), extra=st.floats(0, 1000), s=st.floats(0, 1), up=st.floats(0, 2), ud=st.floats(0, 2),
       floor=st.floats(0, 1), uh=st.floats(1e-4, 1))
def test_power_between_idle_and_tdp(idle, extra, s, up, ud, floor, uh):
    p = one(energy.device_power_w(idle, idle + extra, s, up, ud, floor, uh))
    assert idle - 1e-9 <= p <= idle + extra + 1e-9


@settings(max_examples=80, deadline=None)
@given(p=st.floats(0, 1e5), tps=st.floats(0.1, 1e6), u=st.floats(0.01, 1), idle=st.floats(0, 1e4),
       grid=st.floats(0, 1500), o=st.integers(1, 10_000))
def test_energy_and_co2_nonnegative(p, tps, u, idle, grid, o):
    j = one(energy.j_per_output_token(p, tps, u, idle))
    assert j >= 0
    assert one(energy.g_co2e_per_request(j, o, grid)) >= 0
    assert one(energy.g_co2e_per_request_embodied(100.0, 1, 5.0, u, tps, o)) >= 0


@settings(max_examples=60, deadline=None)
@given(u1=st.floats(0, 1), u2=st.floats(0, 1))
def test_activity_monotone(u1, u2):
    a, b = sorted([u1, u2])
    assert one(energy.activity(a, 0.5, 0.1)) <= one(energy.activity(b, 0.5, 0.1))


def test_power_parameters_text_keys():
    from infer_econ.errors import ValidationError

    with pytest.raises(ValidationError, match="power_parameters: column 'family' must be text"):
        energy.power_parameters(pl.DataFrame({"family": [1]}))
    # an all-null family takes the default floor: hand-made parameters, default 0.5
    p = pl.DataFrame({"parameter": ["power_floor", "power_u_half", "host_power_share"],
                      "applies_to": ["default", "default", "server"], "value": [0.5, 0.1, 0.3]})
    r = energy.power_parameters(pl.DataFrame({"family": [None], "category": [None]}), p)
    assert r.select("power_floor", "power_u_half", "host_power_share").row(0) == (0.5, 0.1, 0.3)

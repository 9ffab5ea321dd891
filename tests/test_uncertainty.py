"""Tests of infer_econ.uncertainty: reproducible, vectorized bands that bracket the point values."""

import polars as pl
import pytest

from infer_econ import uncertainty
from infer_econ.errors import ValidationError

ROWS = pl.DataFrame({
    "hardware": ["h100-sxm", "h100-sxm", "h100-sxm"], "n_devices": [4, 1, 8], "output_tokens": [250, 100, 500],
    "output_tokens_per_s": [10000.0, 800.0, 20000.0], "utilization": [1.0, 0.5, 0.8],
    "usd_per_device_hour": [2.0, 1.2, 2.5], "price_model": ["on_demand", "spot", "reserved_1y"],
    "price_source": ["user", "x", "y"],
    "accelerator_power_w": [2000.0, 400.0, 4800.0], "accelerator_idle_power_w": [300.0, 75.0, 600.0],
    "host_power_share": [0.35, 0.35, 0.35], "pue": [1.2, 1.2, 1.56], "grid_g_co2e_per_kwh": [400.0, 50.0, 700.0],
})


def _point(frame):
    from infer_econ import cost, energy

    # as pipeline.add_economics does for a saturated deployment
    frame = frame.with_columns(
        energy.average_power_w().alias("accelerator_average_power_w"),
        (pl.col("output_tokens_per_s") * pl.col("utilization")).alias("served_output_tokens_per_s"),
    )
    return frame.with_columns(cost.usd_per_hour()).with_columns(
        cost.usd_per_million_output_tokens(), cost.usd_per_request(),
        energy.j_per_output_token(energy.facility_power_w(pl.col("accelerator_average_power_w")), pl.col("served_output_tokens_per_s")),
    ).with_columns(energy.kwh_per_million_output_tokens(), energy.g_co2e_per_request())


def test_bands_bracket_point_and_are_ordered():
    b = uncertainty.bands(_point(ROWS), draws=3000, seed=3)
    for m in uncertainty.METRICS:
        lo, mid, hi = b[f"{m}_p10"], b[f"{m}_p50"], b[f"{m}_p90"]
        assert ((lo <= mid) & (mid <= hi)).all(), m
        assert ((lo < b[m]) & (b[m] < hi)).all(), m


def test_reproducible_with_seed():
    a = uncertainty.bands(_point(ROWS), draws=200, seed=7)
    b = uncertainty.bands(_point(ROWS), draws=200, seed=7)
    c = uncertainty.bands(_point(ROWS), draws=200, seed=8)
    assert a.equals(b)
    assert not a.equals(c)


def test_one_long_frame():
    long = uncertainty.draws_frame(_point(ROWS), draws=50)
    assert long.height == 3 * 50
    assert long.group_by("_scenario").len()["len"].to_list() == [50, 50, 50]


def test_fixed_rent_price_varies_only_with_throughput():
    # on-demand price is fixed: cost spread comes from throughput alone, so the ratio p90/p10 equals
    # the throughput factor's ratio exp(2 × 1.2816 σ) up to sampling error
    import math

    sigma, _ = uncertainty.throughput_log_sigma()
    b = uncertainty.bands(_point(ROWS.head(1)), draws=20000, seed=1)
    ratio = b["usd_per_million_output_tokens_p90"].item() / b["usd_per_million_output_tokens_p10"].item()
    assert math.isclose(ratio, math.exp(2 * 1.2816 * sigma), rel_tol=0.05)


def test_priors_documented():
    p = uncertainty.priors()
    assert p["source"].null_count() == 0
    assert {"output_tokens_per_s", "pue", "grid_g_co2e_per_kwh", "capex_usd_per_device"} <= set(p["input"])


def test_too_few_draws():
    with pytest.raises(ValidationError, match="draws"):
        uncertainty.bands(_point(ROWS), draws=3)


def test_bad_inputs_name_what_is_wrong():
    with pytest.raises(ValidationError, match=r"bands: missing column\(s\) \['n_devices'"):
        uncertainty.bands(pl.DataFrame({"x": [1]}))
    with pytest.raises(ValidationError, match="draws_frame: missing column"):
        uncertainty.draws_frame(pl.DataFrame({"x": [1]}))
    with pytest.raises(ValidationError, match="seed must be a whole number, got 'a'"):
        uncertainty.bands(_point(ROWS), seed="a")
    with pytest.raises(ValidationError, match="draws must be a whole number, got 100.5"):
        uncertainty.bands(_point(ROWS), draws=100.5)
    with pytest.raises(ValidationError, match="seed must be >= 0"):
        uncertainty.bands(_point(ROWS), seed=-1)
    with pytest.raises(ValidationError, match="draws: 0 is too few for draws_frame"):
        uncertainty.draws_frame(_point(ROWS), draws=0)

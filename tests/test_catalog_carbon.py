"""Tests of the shipped carbon and energy catalogs: grid_carbon, pue, embodied_carbon."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import catalog
from infer_econ.errors import CatalogError, UnknownIdError

COLUMNS = {
    "grid_carbon": ["id", "name", "kind", "country", "g_co2e_per_kwh", "metric", "year", "source", "source_detail",
                    "as_of", "notes"],
    "pue": ["id", "name", "pue", "scope", "year", "source", "source_detail", "as_of", "notes"],
    "embodied_carbon": ["id", "hardware", "kg_co2e_per_device", "scope", "lifetime_years_assumed", "is_estimate",
                        "source", "source_detail", "as_of", "notes"],
}
LB_TO_KG = 0.45359237  # exact by definition


@pytest.fixture(scope="module")
def grid() -> pl.DataFrame:
    return catalog.load("grid_carbon")


def _row(frame: pl.DataFrame, id_: str) -> dict:
    return frame.filter(pl.col("id") == id_).row(0, named=True)


@pytest.mark.parametrize("name", list(COLUMNS))
def test_exact_columns(name):
    assert catalog.schema(name)["column"].to_list() == COLUMNS[name]
    assert catalog.load(name).columns == COLUMNS[name] + ["origin"]


@pytest.mark.parametrize("name", list(COLUMNS))
def test_provenance_on_every_row(name):
    frame = catalog.load(name)
    assert frame["source"].null_count() == 0 and frame["as_of"].null_count() == 0
    assert set(frame["source"].to_list()) <= set(catalog.ids("sources"))


# ---------------------------------------------------------------- grid_carbon


def test_grid_counts(grid):
    assert grid.height >= 40
    assert grid.filter(pl.col("kind") == "cloud_region").height >= 40
    assert grid.filter(pl.col("kind") == "country").height >= 15
    assert {"aws:us-east-1", "gcp:europe-west1", "azure:eastus", "country:DE", "country:US", "egrid:SRVC"} <= set(grid["id"].to_list())


def test_definitions_are_explicit_and_not_mixed(grid):
    # each source carries exactly one definition; a user picks by the metric column
    per_source = grid.group_by("source").agg(pl.col("metric").n_unique())
    assert (per_source["metric"] == 1).all()
    assert dict(grid.group_by("source").agg(pl.col("metric").first()).iter_rows()) == {
        "google-region-carbon-2024": "location_based_operational",
        "epa-egrid2023": "location_based_operational",
        "owid-carbon-intensity-elec": "lifecycle",
    }
    assert grid["year"].is_between(2020, 2026).all()


def test_ids_match_kind_and_country(grid):
    prefix = grid["id"].str.extract(r"^([a-z-]+):")
    assert set(prefix.to_list()) == {"gcp", "aws", "azure", "country", "egrid"}
    countries = grid.filter(pl.col("kind") == "country")
    assert (countries["id"] == "country:" + countries["country"]).all()
    assert grid["country"].str.contains(r"^[A-Z]{2}$").all()
    gcp_us = grid.filter(pl.col("id").str.starts_with("gcp:us-"))
    assert (gcp_us["country"] == "US").all()


def test_hand_checked_intensities(grid):
    assert _row(grid, "gcp:europe-north1")["g_co2e_per_kwh"] == 39.32
    assert _row(grid, "gcp:us-central1")["g_co2e_per_kwh"] == 412.72
    # eGRID2023 SRVC: 596.3 lb CO2e/MWh x 0.45359237 kg/lb = 270.48 kg/MWh = 270.5 g/kWh
    srvc = _row(grid, "egrid:SRVC")
    assert srvc["g_co2e_per_kwh"] == pytest.approx(596.3 * LB_TO_KG, abs=0.05)
    # a cloud region sitting in that subregion carries its value and says so
    us_east_1 = _row(grid, "aws:us-east-1")
    assert us_east_1["g_co2e_per_kwh"] == srvc["g_co2e_per_kwh"] and "SRVC" in us_east_1["notes"]
    fr = _row(grid, "country:FR")
    assert (fr["g_co2e_per_kwh"], fr["metric"], fr["year"]) == (56.0, "lifecycle", 2023)


def test_physical_ranges(grid):
    # from near-zero hydro/nuclear grids to coal-heavy ones
    assert grid["g_co2e_per_kwh"].is_between(1, 900).all()
    assert grid["g_co2e_per_kwh"].max() > 600 and grid["g_co2e_per_kwh"].min() < 20


def test_grid_extra_and_errors(grid):
    mine = dict(id="onprem:lyon", name="Our Lyon site (PPA)", kind="grid_subregion", country="FR", g_co2e_per_kwh=12.0,
                metric="market_based", year=2025, source="supplier certificate 2025", as_of="2026-01")
    out = catalog.load("grid_carbon", extra=pl.DataFrame([mine]))
    assert _row(out, "onprem:lyon")["origin"] == "user" and out.height == grid.height + 1
    with pytest.raises(CatalogError, match=r"row 2, column 'metric': 'average' is not one of"):
        catalog.load("grid_carbon", extra=pl.DataFrame([{**mine, "metric": "average"}]))
    with pytest.raises(CatalogError, match=r"row 2, column 'g_co2e_per_kwh': '12,5' is not a valid float"):
        catalog.load("grid_carbon", extra=pl.DataFrame([{**mine, "g_co2e_per_kwh": "12,5", "year": "2025"}]))
    with pytest.raises(UnknownIdError, match="gcp:europe-west1"):
        catalog.get("grid_carbon", "gcp:mars-north1")


# ---------------------------------------------------------------- pue


def test_pue_values():
    pue = catalog.load("pue")
    assert pue["pue"].is_between(1.0, 3.0).all()
    # Uptime's industry average 2024: 1.56; hyperscalers near 1.1
    assert _row(pue, "industry-average-2024")["pue"] == 1.56
    hyper = pue.filter(pl.col("id").is_in(["google-fleet-2025", "meta-fleet-2023", "aws-global-2024"]))
    assert hyper["pue"].is_between(1.05, 1.2).all() and hyper.height == 3
    assert (pue.filter(pl.col("scope") == "operator_fleet")["pue"].median()
            < pue.filter(pl.col("scope") == "industry_average")["pue"].median())
    with pytest.raises(CatalogError, match=r"column 'pue': 0.9 is outside the valid range \[1.0, 3.0\]"):
        catalog.load("pue", extra=pl.DataFrame([dict(id="bad", name="bad", pue=0.9, scope="facility", year=2025,
                                                     source="x", as_of="2025")]))


# ---------------------------------------------------------------- embodied_carbon


def test_embodied_coverage_and_ids():
    emb = catalog.load("embodied_carbon")
    catalog.check_ids("hardware", emb["hardware"].unique().to_list())
    assert {"h100-sxm", "b200", "a100-sxm-40gb", "a100-sxm-80gb", "l4"} <= set(emb["hardware"].to_list())
    assert emb.filter(pl.col("hardware").str.starts_with("apple-")).height >= 1
    # per device: an accelerator's manufacture weighs tens to hundreds of kg CO2e
    assert emb["kg_co2e_per_device"].is_between(20, 1000).all()


def test_embodied_hand_checked_splits():
    emb = catalog.load("embodied_carbon")
    # NVIDIA HGX H100 PCF: 1,312 kg CO2e per 8-GPU baseboard -> 1312 / 8 = 164 per GPU
    h100 = _row(emb, "h100-sxm:nvidia-hgx-h100-pcf")
    assert h100["kg_co2e_per_device"] == 164.0 and not h100["is_estimate"] and "1312 / 8" in h100["source_detail"]
    # HGX B200 PCF: 2,274 / 8 = 284.25
    assert _row(emb, "b200:nvidia-hgx-b200-pcf")["kg_co2e_per_device"] == 284.25
    # BLOOM paper: 150 kg per GPU + 2,500 kg per 8-GPU server / 8 = 462.5 with the server share
    share = _row(emb, "a100-sxm-80gb:luccioni-2022-bloom-server-share")
    assert share["scope"] == "device_plus_server_share" and share["kg_co2e_per_device"] == 462.5
    # a server share is always larger than the device alone from the same source
    alone = _row(emb, "a100-sxm-80gb:luccioni-2022-bloom")
    assert alone["scope"] == "device_only" and alone["kg_co2e_per_device"] < share["kg_co2e_per_device"]


def test_embodied_estimates_flagged():
    emb = catalog.load("embodied_carbon")
    makers = {"nvidia-hgx-h100-pcf", "nvidia-hgx-b200-pcf", "apple-macbook-pro-14-2021-per"}
    assert (emb.filter(pl.col("source").is_in(list(makers)))["is_estimate"] == False).all()  # noqa: E712
    assert emb.filter(~pl.col("source").is_in(list(makers)))["is_estimate"].all()


@settings(max_examples=25, deadline=None)
@given(kg=st.floats(min_value=1, max_value=20000, allow_nan=False), years=st.one_of(st.none(), st.floats(1, 15)))
def test_embodied_extra_any_valid_row_loads(kg, years):
    row = dict(id="mine:h200", hardware="h200", kg_co2e_per_device=kg, scope="device_only",
               lifetime_years_assumed=years, is_estimate=True, source="our LCA", as_of="2026")
    out = catalog.load("embodied_carbon", extra=pl.DataFrame([row], schema_overrides={"lifetime_years_assumed": pl.Float64}))
    assert _row(out, "mine:h200")["kg_co2e_per_device"] == pytest.approx(kg)


def test_embodied_extra_unknown_hardware_lists_valid_ids():
    row = dict(id="mine:x", hardware="h1000", kg_co2e_per_device=100.0, scope="device_only", is_estimate=True,
               source="x", as_of="2026")
    with pytest.raises(CatalogError, match=r"unknown hardware id\(s\) \['h1000'\]; valid: \[.*'h100-sxm'"):
        catalog.load("embodied_carbon", extra=pl.DataFrame([row]))


def test_every_priced_cloud_region_has_a_grid_intensity(grid):
    # evaluate() looks up grid_region = "<provider>:<region>" for a rented deployment; every region with a price
    # has an intensity, except single-price providers ("global") and the TPU page's unnamed "us-east" label
    cloud = catalog.load("cloud_prices").filter(~pl.col("region").is_in(["global", "us-east"]))
    keys = set(cloud.select(pl.concat_str(["provider", "region"], separator=":")).to_series().to_list())
    assert keys and keys <= set(grid["id"].to_list()), sorted(keys - set(grid["id"].to_list()))

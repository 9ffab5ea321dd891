"""Tests of the shipped price catalogs: cloud_prices, api_prices, hardware_prices, electricity_prices."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import catalog
from infer_econ.errors import CatalogError, UnknownIdError

PRICE_CATALOGS = ["cloud_prices", "api_prices", "hardware_prices", "electricity_prices"]

# The agreed column names (PRICE_SCHEMAS.md), written out: a contract other modules code against.
COLUMNS = {
    "cloud_prices": [
        "id", "provider", "instance_type", "hardware", "n_devices", "region", "price_model", "usd_per_hour",
        "usd_per_device_hour", "currency_year", "vcpus", "ram_gb", "source", "source_detail", "as_of", "notes",
    ],
    "api_prices": [
        "id", "provider", "model_name", "model", "usd_per_million_input_tokens", "usd_per_million_output_tokens",
        "usd_per_million_cached_input_tokens", "batch_discount_fraction", "context_window_tokens", "currency_year",
        "source", "source_detail", "as_of", "notes",
    ],
    "hardware_prices": [
        "id", "hardware", "item", "configuration", "n_devices", "usd_low", "usd_high", "usd_per_device_low",
        "usd_per_device_high", "price_type", "is_estimate", "currency_year", "source", "source_detail", "as_of",
        "notes",
    ],
    "electricity_prices": [
        "id", "name", "country", "sector", "usd_per_kwh", "year", "currency_year", "source", "source_detail",
        "as_of", "notes",
    ],
}


@pytest.fixture(scope="module")
def cloud() -> pl.DataFrame:
    return catalog.load("cloud_prices")


@pytest.fixture(scope="module")
def api() -> pl.DataFrame:
    return catalog.load("api_prices")


def _row(frame: pl.DataFrame, id_: str) -> dict:
    return frame.filter(pl.col("id") == id_).row(0, named=True)


# ---------------------------------------------------------------- shape and provenance (all four catalogs)


@pytest.mark.parametrize("name", PRICE_CATALOGS)
def test_exact_columns(name):
    assert catalog.schema(name)["column"].to_list() == COLUMNS[name]
    assert catalog.load(name).columns == COLUMNS[name] + ["origin"]


@pytest.mark.parametrize("name", PRICE_CATALOGS)
def test_provenance_on_every_row(name):
    frame = catalog.load(name)
    assert frame["source"].null_count() == 0 and frame["as_of"].null_count() == 0
    sources = set(catalog.ids("sources"))
    assert set(frame["source"].to_list()) <= sources
    assert frame["as_of"].str.contains(r"^\d{4}(-\d{2}(-\d{2})?)?$").all()


@pytest.mark.parametrize("name", PRICE_CATALOGS)
def test_every_currency_figure_has_a_currency_year(name):
    frame = catalog.load(name)
    assert frame["currency_year"].null_count() == 0
    if name == "electricity_prices":
        # annual statistics are published later: their dollars are those of the year the data describe
        assert (frame["currency_year"] == frame["year"]).all()
    else:
        # the dollars are those of the year the price was quoted (as_of), not a later rebasing
        assert (frame["currency_year"] == frame["as_of"].str.slice(0, 4).cast(pl.Int64)).all()


# ---------------------------------------------------------------- cloud_prices


def test_cloud_counts(cloud):
    assert cloud.height >= 150
    assert cloud["provider"].n_unique() >= 6
    assert {"aws", "gcp", "azure", "lambda", "runpod", "oracle"} <= set(cloud["provider"].to_list())


def test_every_price_model_present(cloud):
    assert set(cloud["price_model"].to_list()) == {"on_demand", "spot", "reserved_1y", "reserved_3y"}
    # on-demand and spot for each of the big three
    for provider in ("aws", "gcp", "azure"):
        models = set(cloud.filter(pl.col("provider") == provider)["price_model"].to_list())
        assert {"on_demand", "spot", "reserved_1y", "reserved_3y"} <= models, provider


def test_device_hour_identity(cloud):
    # usd_per_device_hour is stored; it must equal usd_per_hour / n_devices on every row
    err = (cloud["usd_per_device_hour"] * cloud["n_devices"] - cloud["usd_per_hour"]).abs()
    assert (err <= 1e-9 * cloud["usd_per_hour"]).all()


def test_ids_are_provider_instance_region_price_model(cloud):
    expected = pl.concat_str(["provider", "instance_type", "region", "price_model"], separator=":")
    assert (cloud["id"] == cloud.select(expected).to_series()).all()


def test_hand_checked_cloud_prices(cloud):
    # AWS p5.48xlarge after the June 2025 cut: 55.04 USD/h for 8 H100 -> 55.04 / 8 = 6.88 per GPU-hour
    r = _row(cloud, "aws:p5.48xlarge:us-east-2:on_demand")
    assert (r["hardware"], r["n_devices"], r["usd_per_hour"]) == ("h100-sxm", 8, 55.04)
    assert r["usd_per_device_hour"] == pytest.approx(6.88)
    # AWS p5en.48xlarge (8 H200) post-cut 63.296 USD/h -> 63.296 / 8 = 7.912
    r = _row(cloud, "aws:p5en.48xlarge:us-east-1:on_demand")
    assert (r["hardware"], r["usd_per_hour"]) == ("h200", 63.296)
    assert r["usd_per_device_hour"] == pytest.approx(7.912)
    # Lambda 8x H100 SXM 23.92 USD/h -> 2.99 per GPU-hour
    assert _row(cloud, "lambda:gpu_8x_h100_sxm5:global:on_demand")["usd_per_device_hour"] == pytest.approx(2.99)
    # Oracle publishes 10.00 USD per GPU-hour for BM.GPU.H100.8 -> 80.00 for the 8-GPU shape
    assert _row(cloud, "oracle:BM.GPU.H100.8:global:on_demand")["usd_per_hour"] == pytest.approx(80.0)
    # GCP a3-highgpu-1g committed-use prices: 11.06 on-demand, 7.67 (1 y), 4.86 (3 y)
    for pm, usd in (("on_demand", 11.06), ("reserved_1y", 7.67), ("reserved_3y", 4.86)):
        assert _row(cloud, f"gcp:a3-highgpu-1g:us-central1:{pm}")["usd_per_hour"] == usd
    # Azure NC A100 v4 carries the PCIe A100 80GB; ND A100 v4 the SXM part
    assert _row(cloud, "azure:Standard_NC24ads_A100_v4:eastus:on_demand")["hardware"] == "a100-pcie-80gb"
    assert _row(cloud, "azure:Standard_ND96amsr_A100_v4:eastus:on_demand")["hardware"] == "a100-sxm-80gb"


def test_accelerator_mapping(cloud):
    expect = {"p4d": "a100-sxm-40gb", "p4de": "a100-sxm-80gb", "p5": "h100-sxm", "p5e": "h200", "p5en": "h200",
              "g5": "a10g", "g6": "l4", "g6e": "l40s", "g4dn": "t4", "p3": "v100-16gb", "p3dn": "v100", "inf2": "inferentia2"}
    aws = cloud.filter(pl.col("provider") == "aws").with_columns(family=pl.col("instance_type").str.extract(r"^([a-z0-9]+)\."))
    for family, hw in expect.items():
        got = set(aws.filter(pl.col("family") == family)["hardware"].to_list())
        assert got == {hw}, (family, got)
    gcp = cloud.filter(pl.col("provider") == "gcp")
    for prefix, hw in (("a2-highgpu", "a100-sxm-40gb"), ("a2-ultragpu", "a100-sxm-80gb"), ("a3-highgpu", "h100-sxm"),
                       ("a3-megagpu", "h100-sxm"), ("a3-ultragpu", "h200")):
        assert set(gcp.filter(pl.col("instance_type").str.starts_with(prefix))["hardware"].to_list()) == {hw}


def test_price_ordering(cloud):
    # where a provider lists several price models for one instance and region: spot and commitments cost less
    wide = cloud.pivot(on="price_model", index=["provider", "instance_type", "region"], values="usd_per_hour")
    assert wide.filter(pl.col("spot") > pl.col("on_demand")).height == 0
    assert wide.filter(pl.col("reserved_1y") >= pl.col("on_demand")).height == 0
    assert wide.filter(pl.col("reserved_3y") >= pl.col("reserved_1y")).height == 0
    assert wide.filter(pl.col("spot").is_not_null() & pl.col("on_demand").is_not_null()).height >= 50


def test_physical_ranges(cloud):
    # no GPU-hour below 0.05 USD or above 15 USD in this catalog; instances of at most 64 devices
    assert cloud["usd_per_device_hour"].is_between(0.05, 15).all()
    assert cloud["n_devices"].is_between(1, 64).all()


def test_no_placeholder_values_remain(cloud):
    # GCP's 700.0 "unavailable region" placeholders and fallback prices are gone
    assert cloud.filter(pl.col("usd_per_hour") == 700.0).height == 0
    gone = ["gcp:a3-highgpu-8g:us-central1:on_demand", "gcp:a2-ultragpu-1g:us-central1:on_demand"]
    assert cloud.filter(pl.col("id").is_in(gone)).height == 0
    assert cloud.filter((pl.col("provider") == "gcp") & (pl.col("hardware") == "b200")).height == 0
    # every row is the price of a rentable machine: no GPU-component-only prices with the host billed on top
    assert cloud.filter(pl.col("instance_type").str.contains(r"(?i)gpu-only|attach|^\(")).height == 0
    # a GCP 8x H100 VM never costs less per GPU-hour on demand than GCP's own single-H100 VM list price minus host
    a3 = cloud.filter((pl.col("instance_type") == "a3-highgpu-8g") & (pl.col("price_model") == "on_demand"))
    assert (a3["usd_per_device_hour"] > 9.0).all()


def test_pre_cut_aws_prices_are_labelled(cloud):
    # AWS cut P4/P5 prices in June 2025: the pre-cut p5/p5en list prices are dropped, the P4 ones kept and labelled
    aws_p = cloud.filter(
        (pl.col("provider") == "aws") & pl.col("instance_type").str.contains(r"^p(4d|4de|5|5e|5en)\.")
        & (pl.col("price_model") != "spot")
    )
    pre = aws_p.filter(pl.col("as_of") < "2025-06")
    assert pre.height > 0 and pre["notes"].str.contains("PRE-CUT").all()
    assert set(pre["instance_type"].str.extract(r"^([a-z0-9]+)\.").to_list()) == {"p4d", "p4de"}
    assert cloud.filter(pl.col("usd_per_hour").is_in([98.32, 84.8]) & (pl.col("provider") == "aws")).height == 0


def test_cloud_hardware_ids_resolve(cloud):
    catalog.check_ids("hardware", cloud["hardware"].unique().to_list())


# ---------------------------------------------------------------- api_prices


def test_api_counts(api):
    assert api.height >= 100
    assert api["provider"].n_unique() >= 10


def test_api_ids_and_prices(api):
    assert (api["id"] == api.select(pl.concat_str(["provider", "model_name"], separator=":")).to_series()).all()
    cached = api.filter(pl.col("usd_per_million_cached_input_tokens").is_not_null())
    assert (cached["usd_per_million_cached_input_tokens"] <= cached["usd_per_million_input_tokens"]).all()
    assert (api["usd_per_million_output_tokens"] >= api["usd_per_million_input_tokens"]).all()
    assert cached.height >= 50


def test_hand_checked_api_prices(api):
    # OpenAI gpt-4o: 2.50 in / 10.00 out / 1.25 cached per 1M tokens; Batch API 50 % off
    r = _row(api, "openai:gpt-4o")
    assert (r["usd_per_million_input_tokens"], r["usd_per_million_output_tokens"]) == (2.5, 10.0)
    assert r["usd_per_million_cached_input_tokens"] == 1.25 and r["batch_discount_fraction"] == 0.5
    assert r["model"] is None  # a closed model
    r = _row(api, "anthropic:claude-sonnet-4-5")
    assert (r["usd_per_million_input_tokens"], r["usd_per_million_output_tokens"], r["batch_discount_fraction"]) == (3.0, 15.0, 0.5)
    r = _row(api, "groq:llama-3.3-70b-versatile")
    assert (r["model"], r["usd_per_million_input_tokens"], r["usd_per_million_output_tokens"]) == ("llama-3.3-70b", 0.59, 0.79)


def test_batch_discount_only_where_published(api):
    with_batch = api.filter(pl.col("batch_discount_fraction").is_not_null())
    assert set(with_batch["provider"].to_list()) == {"openai", "anthropic"}
    assert (with_batch["batch_discount_fraction"] == 0.5).all()
    assert with_batch["notes"].str.contains("Batch").all()


def test_open_weights_links(api):
    linked = api.filter(pl.col("model").is_not_null())
    catalog.check_ids("models", linked["model"].unique().to_list())
    assert linked.height >= 40
    # closed first-party models never link to an open-weights architecture
    assert api.filter(pl.col("provider").is_in(["openai", "anthropic", "google"]) & pl.col("model").is_not_null()).height == 0
    # one open model, several hosts
    hosts = set(linked.filter(pl.col("model") == "llama-3.1-8b")["provider"].to_list())
    assert {"together_ai", "fireworks_ai", "groq", "deepinfra", "aws_bedrock"} <= hosts


# ---------------------------------------------------------------- hardware_prices


def test_hardware_prices_ranges_and_identity():
    hp = catalog.load("hardware_prices")
    assert hp.height >= 40
    assert (hp["usd_low"] <= hp["usd_high"]).all()
    for lo_hi in ("low", "high"):
        err = (hp[f"usd_per_device_{lo_hi}"] * hp["n_devices"] - hp[f"usd_{lo_hi}"]).abs()
        assert (err <= 1e-9 * hp[f"usd_{lo_hi}"]).all()
    # analyst estimates are always flagged as estimates
    assert hp.filter(pl.col("price_type") == "analyst_estimate")["is_estimate"].all()
    catalog.check_ids("hardware", hp["hardware"].drop_nulls().unique().to_list())
    # SemiAnalysis: DGX H100 sold at about 270,000 USD -> 270,000 / 8 = 33,750 per GPU
    r = _row(hp, "nvidia-dgx-h100:2023-05")
    assert (r["hardware"], r["usd_per_device_low"], r["is_estimate"]) == ("h100-sxm", 33750.0, True)
    assert _row(hp, "nvidia-geforce-rtx-4090-24gb:2022-10-12")["usd_low"] == 1599.0


# ---------------------------------------------------------------- electricity_prices


def test_electricity_prices():
    el = catalog.load("electricity_prices")
    assert el["usd_per_kwh"].is_between(0.02, 0.5).all()
    assert {"US", "US-VA", "US-CA", "US-OR", "EU", "IE"} <= set(el["id"].to_list())
    assert _row(el, "US-CA")["usd_per_kwh"] == 0.1864
    # Ireland 2024-H1: 0.256 EUR/kWh x 1.0824 USD/EUR (ECB 2024 average) = 0.27709 -> 0.2771
    ie = _row(el, "IE")
    assert ie["usd_per_kwh"] == pytest.approx(0.2771) and "1.0824" in ie["notes"]
    # every converted price says its rate
    eur = el.filter(pl.col("country") != "US")
    assert eur["notes"].str.contains("USD/EUR").all()


# ---------------------------------------------------------------- errors and the user's own rows


def _price_row(**over) -> dict:
    """A user's negotiated price: 8x H100 at 2.10 USD per GPU-hour on a 1-year contract."""
    row = dict(id="acme:h100x8:eu:reserved_1y", provider="acme", instance_type="h100x8", hardware="h100-sxm",
               n_devices=8, region="eu", price_model="reserved_1y", usd_per_hour=16.8, usd_per_device_hour=2.1,
               currency_year=2026, source="our contract 2026-11", as_of="2026-11")
    row.update(over)
    return row


def test_unknown_id_lists_valid_ids():
    with pytest.raises(UnknownIdError) as err:
        catalog.get("cloud_prices", "aws:p9.48xlarge:us-east-1:on_demand")
    assert "aws:p5.48xlarge:us-east-2:on_demand" in str(err.value)
    with pytest.raises(UnknownIdError, match="openai:gpt-4o"):
        catalog.check_ids("api_prices", ["openai:gpt-99"])


def test_extra_merges_a_negotiated_price(cloud):
    out = catalog.load("cloud_prices", extra=pl.DataFrame([_price_row()]))
    assert out.height == cloud.height + 1
    mine = _row(out, "acme:h100x8:eu:reserved_1y")
    assert mine["origin"] == "user" and mine["usd_per_device_hour"] == 2.1 and mine["vcpus"] is None
    assert set(out.filter(pl.col("origin") == "shipped")["id"].to_list()) == set(cloud["id"].to_list())


def test_extra_replaces_a_shipped_price(tmp_path, cloud):
    path = tmp_path / "mine.csv"
    pl.DataFrame([_price_row(id="aws:p5.48xlarge:us-east-2:on_demand", provider="aws", instance_type="p5.48xlarge",
                             region="us-east-2", price_model="on_demand", usd_per_hour=40.0, usd_per_device_hour=5.0)]
                 ).write_csv(path)
    out = catalog.load("cloud_prices", extra=path)
    assert out.height == cloud.height
    assert _row(out, "aws:p5.48xlarge:us-east-2:on_demand")["usd_per_hour"] == 40.0
    # the shipped file is untouched
    assert _row(catalog.load("cloud_prices"), "aws:p5.48xlarge:us-east-2:on_demand")["usd_per_hour"] == 55.04


def test_extra_decimal_comma_in_a_csv_names_row_and_column(tmp_path):
    # unquoted: the comma splits the value into two fields
    path = tmp_path / "comma.csv"
    header = "id,provider,instance_type,hardware,n_devices,region,price_model,usd_per_hour,usd_per_device_hour,currency_year,source,as_of"
    path.write_text(header + "\nacme:x:eu:on_demand,acme,x,h100-sxm,1,eu,on_demand,2,50,2.5,2026,contract,2026-01\n")
    with pytest.raises(CatalogError, match=r"row 2, column 'usd_per_hour': '2,50' is not a valid number"):
        catalog.load("cloud_prices", extra=path)
    # quoted: one field that is not a number
    path.write_text(header + '\nacme:x:eu:on_demand,acme,x,h100-sxm,1,eu,on_demand,"2,50",2.5,2026,contract,2026-01\n')
    with pytest.raises(CatalogError, match=r"row 2, column 'usd_per_hour': '2,50' is not a valid float \[USD/h\]"):
        catalog.load("cloud_prices", extra=path)


@pytest.mark.parametrize(
    "over, message",
    [
        (dict(usd_per_device_hour="2,10"), r"row 2, column 'usd_per_device_hour': '2,10' is not a valid float"),
        (dict(price_model="monthly"), r"row 2, column 'price_model': 'monthly' is not one of"),
        (dict(usd_per_hour=-1.0), r"row 2, column 'usd_per_hour': -1.0 is outside the valid range"),
        (dict(hardware="h1000"), r"column 'hardware' refers to unknown hardware id\(s\) \['h1000'\]"),
        (dict(n_devices=1.5), r"row 2, column 'n_devices': '1.5' is not a valid int"),
        (dict(as_of="last week"), r"row 2, column 'as_of'"),
    ],
)
def test_extra_bad_rows_name_row_and_column(over, message):
    row = {k: (str(v) if v is not None else None) for k, v in _price_row(**over).items()}
    with pytest.raises(CatalogError, match=message):
        catalog.load("cloud_prices", extra=pl.DataFrame([row]))


def test_extra_api_price_for_a_private_model():
    row = dict(id="inhouse:my-llm", provider="inhouse", model_name="my-llm", model="llama-3.1-70b",
               usd_per_million_input_tokens=0.4, usd_per_million_output_tokens=0.8, currency_year=2026,
               source="internal chargeback", as_of="2026-10")
    out = catalog.load("api_prices", extra=pl.DataFrame([row]))
    assert _row(out, "inhouse:my-llm")["batch_discount_fraction"] is None
    with pytest.raises(CatalogError, match=r"column 'batch_discount_fraction': 1.5 is outside the valid range"):
        catalog.load("api_prices", extra=pl.DataFrame([{**row, "batch_discount_fraction": 1.5}]))


@settings(max_examples=25, deadline=None)
@given(
    per_device=st.floats(min_value=0.01, max_value=100, allow_nan=False),
    n=st.sampled_from([1, 2, 4, 8, 16]),
)
def test_extra_any_valid_negotiated_price_loads(per_device, n):
    row = _price_row(n_devices=n, usd_per_device_hour=per_device, usd_per_hour=per_device * n)
    out = catalog.load("cloud_prices", extra=pl.DataFrame([row]))
    got = _row(out, row["id"])
    assert got["usd_per_device_hour"] * got["n_devices"] == pytest.approx(got["usd_per_hour"])

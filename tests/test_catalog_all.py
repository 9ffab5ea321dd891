"""Properties every shipped catalog has, whoever wrote it: the file's columns are
exactly its dictionary's, every row has provenance, every currency figure its
currency year, and an unknown id raises an error listing the valid ids."""

from __future__ import annotations

import csv

import polars as pl
import pytest

from infer_econ import catalog
from infer_econ._paths import data_dir
from infer_econ.errors import UnknownIdError

NAMES = catalog.names()
CATALOGS_OF_ISSUE_2 = {
    "hardware", "models", "model_quality", "precisions", "engines", "cloud_prices", "api_prices", "grid_carbon",
    "electricity_prices", "pue", "hardware_prices", "sources",
}


def test_the_issue_catalogs_exist():
    assert CATALOGS_OF_ISSUE_2 <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_file_columns_are_the_dictionary(name):
    with open(data_dir() / f"{name}.csv", newline="", encoding="utf8") as f:
        header = next(csv.reader(f))
    assert len(header) == len(set(header)), "duplicate column names"
    assert set(header) == set(catalog.schema(name)["column"].to_list())


@pytest.mark.parametrize("name", NAMES)
def test_every_column_is_described(name):
    assert catalog.schema(name)["description"].null_count() == 0


@pytest.mark.parametrize("name", NAMES)
def test_every_row_has_provenance(name):
    frame = catalog.load(name)
    assert frame.height > 0
    assert frame["source"].null_count() == 0 and (frame["source"].str.len_chars() > 0).all()
    assert frame["as_of"].str.contains(r"^\d{4}(-\d{2}(-\d{2})?)?$").all()
    if name != "sources":
        known = set(catalog.load("sources")["id"].to_list())
        assert set(frame["source"].to_list()) <= known


@pytest.mark.parametrize("name", NAMES)
def test_currency_figures_state_their_currency_year(name):
    sch = catalog.schema(name)
    usd = [c for c in sch["column"].to_list() if c.startswith("usd") or "_usd" in c]
    if not usd and name != "defaults":
        return
    assert "currency_year" in sch["column"].to_list(), f"{name} has USD figures but no currency_year"
    frame = catalog.load(name)
    if name == "defaults":
        frame = frame.filter(pl.col("unit").str.contains("USD"))
    else:
        frame = frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in usd))
    assert frame["currency_year"].null_count() == 0


@pytest.mark.parametrize("name", [n for n in NAMES if n != "sources"])
def test_unknown_id_lists_the_valid_ids(name):
    ids = catalog.ids(name)
    with pytest.raises(UnknownIdError) as exc:
        catalog.get(name, "no-such-id-42")
    msg = str(exc.value)
    assert "no-such-id-42" in msg and ids[0] in msg


def test_counts_the_foundation_issue_asks_for():
    cloud = catalog.load("cloud_prices")
    assert cloud.height >= 150 and cloud["provider"].n_unique() >= 6
    assert set(cloud["price_model"].unique().to_list()) >= {"on_demand", "spot", "reserved_1y", "reserved_3y"}
    assert catalog.load("api_prices").height >= 100
    assert catalog.load("grid_carbon").height >= 40

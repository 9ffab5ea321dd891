"""Tests of the catalog loader (infer_econ/catalog.py)."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from infer_econ import catalog
from infer_econ.errors import CatalogError, UnknownIdError


# ---- loader behaviour exercised through the hardware / precisions / engines catalogs ----


def _hw_user_row(**over):
    row = dict(id="edge-npu", name="Edge NPU 16GB", vendor="other", category="edge", family="ampere-soc",
               form_factor="module", memory_gb="16", memory_type="LPDDR5", memory_bandwidth_gb_per_s="100",
               fp16_tflops="20", interconnect="none", interconnect_gb_per_s="0", tdp_w="30", idle_w="5",
               idle_w_is_estimate="true", launch_year="2025", source="vendor sheet", source_status="estimate",
               as_of="2025-05")
    row.update(over)
    return row


def test_catalog_names_include_device_catalogs():
    assert {"hardware", "precisions", "engines", "sources"} <= set(catalog.names())
    for name in ("hardware", "precisions", "engines"):
        req = catalog.schema(name).filter(pl.col("required"))["column"].to_list()
        assert {"id", "source", "as_of"} <= set(req)


def test_catalog_unknown_name_lists_catalogs():
    with pytest.raises(UnknownIdError) as err:
        catalog.load("hardwares")
    assert "hardware" in err.value.valid and "engines" in str(err.value)


def test_catalog_optional_columns_may_be_left_out():
    # a user row with only the required columns: optional peaks come back null, never filled in
    out = catalog.load("hardware", extra=pl.DataFrame([_hw_user_row()]))
    row = out.filter(pl.col("id") == "edge-npu").row(0, named=True)
    assert row["fp8_tflops"] is None and row["fp32_tflops"] is None and row["gpu_cores"] is None
    assert row["fp16_tflops"] == 20.0 and row["idle_w_is_estimate"] is True


@pytest.mark.parametrize("text, value", [("yes", True), ("1", True), ("FALSE", False), ("no", False)])
def test_catalog_bool_spellings(text, value):
    out = catalog.load("hardware", extra=pl.DataFrame([_hw_user_row(idle_w_is_estimate=text)]))
    assert out.filter(pl.col("id") == "edge-npu")["idle_w_is_estimate"].item() is value


@pytest.mark.parametrize(
    "over, fragment",
    [
        ({"idle_w_is_estimate": "maybe"}, "column 'idle_w_is_estimate': 'maybe' is not a valid bool"),
        ({"gpu_cores": "2.5"}, "column 'gpu_cores': '2.5' is not a valid int"),
        ({"memory_gb": "nan"}, "column 'memory_gb': 'nan' is not a valid float [GB]"),
        ({"tdp_w": "inf"}, "column 'tdp_w': 'inf' is not a valid float [W]"),
        ({"tdp_w": "  "}, "column 'tdp_w': a value is required"),
        ({"memory_bandwidth_gb_per_s": "5"}, "outside the valid range"),
        ({"category": "phone"}, "column 'category': 'phone' is not one of"),
    ],
)
def test_catalog_bad_cells_name_row_and_column(over, fragment):
    with pytest.raises(CatalogError) as err:
        catalog.load("hardware", extra=pl.DataFrame([_hw_user_row(), _hw_user_row(id="edge-npu-2", **over)]))
    msg = str(err.value)
    assert msg.startswith("extra frame: row 3") and fragment in msg, msg


def test_catalog_integral_text_is_an_int():
    out = catalog.load("hardware", extra=pl.DataFrame([_hw_user_row(gpu_cores="36.0")]))
    assert out.filter(pl.col("id") == "edge-npu")["gpu_cores"].item() == 36


def test_catalog_extra_structure_errors(tmp_path):
    with pytest.raises(CatalogError, match="unknown column"):
        catalog.load("hardware", extra=pl.DataFrame([_hw_user_row(price_usd="9")]))
    missing = _hw_user_row()
    del missing["tdp_w"]
    with pytest.raises(CatalogError, match=r"missing column\(s\) \['tdp_w'\]"):
        catalog.load("hardware", extra=pl.DataFrame([missing]))
    with pytest.raises(CatalogError, match=r"duplicate id\(s\) \['edge-npu'\]"):
        catalog.load("hardware", extra=pl.DataFrame([_hw_user_row(), _hw_user_row()]))
    with pytest.raises(CatalogError, match="no rows"):
        catalog.load("hardware", extra=pl.DataFrame([_hw_user_row()]).clear())
    with pytest.raises(CatalogError, match="no such file"):
        catalog.load("hardware", extra=tmp_path / "absent.csv")


def test_catalog_extra_references_checked():
    eng = dict(id="my-engine", name="X", continuous_batching="true", paged_kv="false", precisions="bf16;fp6",
               hardware_vendors="nvidia", max_batch_size="8", memory_utilization="0.9", overhead_gb="1",
               tensor_parallel="false", source="me", as_of="2026")
    with pytest.raises(CatalogError) as err:
        catalog.load("engines", extra=pl.DataFrame([eng]))
    assert "'precisions'" in str(err.value) and "['fp6']" in str(err.value) and "q4_k_m" in str(err.value)


def test_catalog_extra_lazyframe_and_shipped_file_untouched():
    path = catalog.data_dir() / "hardware.csv"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    out = catalog.load("hardware", extra=pl.DataFrame([_hw_user_row(id="h100-sxm", tdp_w="400")]).lazy())
    assert out.filter(pl.col("id") == "h100-sxm")["tdp_w"].item() == 400.0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert catalog.get("hardware", "h100-sxm")["tdp_w"] == 700.0


def test_id_columns():
    from infer_econ.errors import ValidationError

    f = pl.DataFrame({"hardware": ["a"], "model": [None]}).with_columns(pl.col("hardware").cast(pl.Categorical))
    out = catalog.id_columns(f, ["hardware", "model"], "here")
    assert out.schema == pl.Schema({"hardware": pl.String, "model": pl.String})
    assert out["hardware"].to_list() == ["a"]
    with pytest.raises(ValidationError, match=r"here: missing column\(s\) \['precision'\]"):
        catalog.id_columns(f, ["precision"], "here")
    with pytest.raises(ValidationError, match="here: column 'n' must be text"):
        catalog.id_columns(pl.DataFrame({"n": [[1]]}), ["n"], "here")

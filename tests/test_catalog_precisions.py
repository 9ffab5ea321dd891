"""Tests of the shipped precisions catalog (data/precisions.csv)."""

from __future__ import annotations

import polars as pl
import pytest

from infer_econ import catalog
from infer_econ.errors import CatalogError, UnknownIdError

COLUMNS = [
    "id", "name", "format_family", "bits_per_weight", "activation_bits", "compute_dtype", "native_peak_column",
    "fallback_peak_column", "default_kv_precision", "kv_bytes_per_element", "source", "source_detail", "as_of", "notes",
]
# issue 2 list plus mxfp4 (gpt-oss) ; the measurement references use a subset of these
REQUIRED_IDS = ["fp32", "fp16", "bf16", "fp8", "int8", "int4", "fp4", "mxfp4", "q8_0", "q4_0", "q4_k_m"]
MEASUREMENT_IDS = ["q4_0", "q4_k_m", "q8_0", "fp8", "fp4", "fp16", "bf16", "int8", "int4"]
KV_IDS = ["fp8", "bf16", "fp16"]


@pytest.fixture(scope="module")
def prec() -> pl.DataFrame:
    return catalog.load("precisions")


def _bits(prec, id_):
    return prec.filter(pl.col("id") == id_)["bits_per_weight"].item()


def test_exact_columns(prec):
    assert catalog.schema("precisions")["column"].to_list() == COLUMNS
    assert prec.columns == COLUMNS + ["origin"]


def test_required_ids(prec):
    have = set(prec["id"].to_list())
    assert set(REQUIRED_IDS) <= have
    catalog.check_ids("precisions", MEASUREMENT_IDS + KV_IDS, prec)


def test_provenance(prec):
    srcs = catalog.load("sources")["id"].to_list()
    assert prec["source"].is_in(srcs).all()
    assert prec["as_of"].str.contains(r"^\d{4}(-\d{2}(-\d{2})?)?$").all()
    assert prec["source_detail"].is_not_null().all()


def test_bits_per_weight_hand_computed(prec):
    # W4A16 group 128: 4 bits + FP16 scale / 128 + 4-bit zero / 128 = 4 + 0.125 + 0.03125
    assert _bits(prec, "int4") == pytest.approx(4 + 16 / 128 + 4 / 128) == pytest.approx(4.15625)
    # NVFP4: 4 bits + one 8-bit E4M3 scale per 16 elements
    assert _bits(prec, "fp4") == pytest.approx(4 + 8 / 16)
    # MXFP4: 4 bits + one 8-bit E8M0 scale per 32 elements
    assert _bits(prec, "mxfp4") == pytest.approx(4 + 8 / 32)
    # GGUF Q8_0: 32 int8 + FP16 scale = 34 bytes per 32 weights
    assert _bits(prec, "q8_0") == pytest.approx(34 * 8 / 32)
    # GGUF Q4_0: 32 x 4 bits + FP16 scale = 18 bytes per 32 weights
    assert _bits(prec, "q4_0") == pytest.approx(18 * 8 / 32)
    # Q4_K_M: llama.cpp's table gives 4.84 BPW (Llama 2 7B); a k-quant mix lies between Q4_K (4.5) and Q6_K (6.5625)
    assert 4.5 < _bits(prec, "q4_k_m") < 5.0
    assert _bits(prec, "fp16") == _bits(prec, "bf16") == 16 and _bits(prec, "fp32") == 32
    assert _bits(prec, "fp8") == _bits(prec, "int8") == 8


def test_kv_bytes(prec):
    kv = dict(prec.select("id", "kv_bytes_per_element").iter_rows())
    assert kv["fp32"] == 4 and kv["fp16"] == kv["bf16"] == 2 and kv["fp8"] == kv["int8"] == 1
    assert kv["q8_0"] == pytest.approx(34 / 32) and kv["q4_0"] == pytest.approx(18 / 32)
    # every default KV precision is itself a precision id
    catalog.check_ids("precisions", prec["default_kv_precision"].to_list(), prec)
    # a KV element never takes more bytes than the weight format's own bits imply (+ scales)
    assert (prec["kv_bytes_per_element"] * 8 <= prec["bits_per_weight"] + 1e-9).all()


def test_peak_columns_exist_in_hardware(prec):
    hw_cols = set(catalog.schema("hardware")["column"].to_list())
    assert set(prec["native_peak_column"].to_list()) <= hw_cols
    assert set(prec["fallback_peak_column"].to_list()) <= hw_cols


def test_native_and_fallback_columns(prec):
    cols = {r["id"]: (r["native_peak_column"], r["fallback_peak_column"]) for r in prec.iter_rows(named=True)}
    assert cols["fp8"] == ("fp8_tflops", "fp16_tflops")
    assert cols["int8"][0] == "int8_tops"
    assert cols["fp4"][0] == cols["mxfp4"][0] == "fp4_tflops"
    # weight-only formats compute in 16 bit: native = fallback
    for id_ in ("int4", "q8_0", "q4_0", "q4_k_m"):
        assert cols[id_][0] == "fp16_tflops"
    assert cols["int4"][1] == "fp16_tflops"


def test_every_shipped_device_has_a_peak_for_every_precision(prec):
    """For each (device, precision) the native or the fallback column is non-null: no silent zero peak.

    A CPU without a matrix unit (no fp16 / bf16 column) takes the estimator's last step, the FP32 vector
    peak (perf.peak_tflops); every accelerator has the native or the fallback column itself."""
    hw = catalog.load("hardware")
    accel = hw.filter(pl.col("category") != "cpu")
    for r in prec.iter_rows(named=True):
        two = pl.coalesce(r["native_peak_column"], r["fallback_peak_column"])
        if r["id"] != "fp32":
            assert accel.filter(two.is_null()).height == 0, (r["id"], accel.filter(two.is_null())["id"].to_list())
        peak = hw.select(pl.coalesce(two, "fp32_tflops").alias("p"), "id")
        missing = peak.filter(pl.col("p").is_null())["id"].to_list()
        # FP32 is the only precision whose peak is unpublished on some units (TPUs, Gaudi 3): those rows say so
        if r["id"] == "fp32":
            documented = hw.filter(pl.col("notes").str.to_lowercase().str.contains("no published fp32 peak"))
            assert set(missing) == set(documented["id"].to_list()) and len(missing) <= 4, missing
        else:
            assert not missing, (r["id"], missing)


def test_activation_bits_match_compute_dtype(prec):
    width = {"fp32": 32, "fp16": 16, "bf16": 16, "fp8": 8, "int8": 8, "fp4": 4}
    assert all(width[r["compute_dtype"]] == r["activation_bits"] for r in prec.iter_rows(named=True))


def test_unknown_id_lists_valid_ids():
    with pytest.raises(UnknownIdError) as err:
        catalog.get("precisions", "int3")
    assert "q4_k_m" in str(err.value) and "mxfp4" in str(err.value)


def _user(**over):
    row = dict(id="nf4", name="bitsandbytes NF4 (block 64)", format_family="integer", bits_per_weight=4.5,
               activation_bits=16, compute_dtype="bf16", native_peak_column="bf16_tflops",
               fallback_peak_column="fp16_tflops", default_kv_precision="bf16", kv_bytes_per_element=0.5,
               source="my notes", as_of="2026-01")
    row.update(over)
    return pl.DataFrame([row])


def test_extra_adds_and_replaces(prec):
    out = catalog.load("precisions", extra=_user())
    assert out.height == prec.height + 1
    assert out.filter(pl.col("id") == "nf4")["origin"].item() == "user"
    # a user row with a shipped id replaces it (e.g. a different Q4_K_M average for their model)
    out = catalog.load("precisions", extra=_user(id="q4_k_m", bits_per_weight=4.89))
    assert out.height == prec.height
    assert out.filter(pl.col("id") == "q4_k_m")["bits_per_weight"].item() == 4.89


@pytest.mark.parametrize(
    "over, column",
    [
        ({"bits_per_weight": 0.5}, "bits_per_weight"),
        ({"compute_dtype": "int2"}, "compute_dtype"),
        ({"native_peak_column": "tf32_tflops"}, "native_peak_column"),
        ({"default_kv_precision": "q2_k"}, "default_kv_precision"),
        ({"kv_bytes_per_element": 8.0}, "kv_bytes_per_element"),
    ],
)
def test_extra_bad_value_names_row_and_column(over, column):
    with pytest.raises(CatalogError) as err:
        catalog.load("precisions", extra=_user(**over))
    assert "row 2" in str(err.value) and repr(column) in str(err.value)

"""Tests of the shipped engines catalog (data/engines.csv)."""

from __future__ import annotations

import polars as pl
import pytest

from infer_econ import catalog
from infer_econ.errors import CatalogError, UnknownIdError

COLUMNS = [
    "id", "name", "continuous_batching", "paged_kv", "precisions", "hardware_vendors", "max_batch_size",
    "memory_utilization", "overhead_gb", "tensor_parallel", "kv_precision_defaults", "source", "source_detail", "as_of", "notes",
]
REQUIRED_IDS = ["tensorrt-llm", "vllm", "sglang", "llama.cpp", "transformers", "mlx", "onnxruntime", "jax", "tgi"]
# engine ids the measurement references use (lmdeploy: serving tables)
MEASUREMENT_IDS = ["tensorrt-llm", "vllm", "sglang", "llama.cpp", "transformers", "jax", "lmdeploy"]
VENDORS = {"nvidia", "amd", "intel", "google", "aws", "apple", "cpu"}


@pytest.fixture(scope="module")
def eng() -> pl.DataFrame:
    return catalog.load("engines")


def _row(eng, id_):
    return eng.filter(pl.col("id") == id_).row(0, named=True)


def test_exact_columns(eng):
    assert catalog.schema("engines")["column"].to_list() == COLUMNS
    assert eng.columns == COLUMNS + ["origin"]


def test_required_ids(eng):
    assert set(REQUIRED_IDS) <= set(eng["id"].to_list())
    catalog.check_ids("engines", MEASUREMENT_IDS, eng)


def test_provenance(eng):
    srcs = catalog.load("sources")["id"].to_list()
    assert eng["source"].is_in(srcs).all()
    assert eng["as_of"].str.contains(r"^\d{4}(-\d{2}(-\d{2})?)?$").all()
    assert eng["source_detail"].is_not_null().all()


def test_documented_defaults(eng):
    vllm = _row(eng, "vllm")
    assert vllm["max_batch_size"] == 256 and vllm["memory_utilization"] == 0.9  # max_num_seqs, gpu_memory_utilization
    assert _row(eng, "sglang")["memory_utilization"] == 0.88  # mem_fraction_static at TP1
    trt = _row(eng, "tensorrt-llm")
    assert trt["max_batch_size"] == 2048 and trt["memory_utilization"] == 0.9  # free_gpu_memory_fraction
    assert _row(eng, "tgi")["max_batch_size"] == 128  # --max-concurrent-requests


def test_batching_features(eng):
    for id_ in ("vllm", "sglang", "tensorrt-llm", "tgi", "lmdeploy"):
        r = _row(eng, id_)
        assert r["continuous_batching"] and r["paged_kv"] and r["tensor_parallel"], id_
    tf = _row(eng, "transformers")
    assert not tf["continuous_batching"] and not tf["paged_kv"]
    # llama.cpp batches slots continuously but its KV cache is one contiguous buffer, and it splits layers
    lc = _row(eng, "llama.cpp")
    assert lc["continuous_batching"] and not lc["paged_kv"] and not lc["tensor_parallel"]


def test_precisions_and_vendors(eng):
    prec_ids = set(catalog.ids("precisions"))
    for r in eng.iter_rows(named=True):
        ps = r["precisions"].split(";")
        assert set(ps) <= prec_ids and len(ps) == len(set(ps)), r["id"]
        vs = r["hardware_vendors"].split(";")
        assert set(vs) <= VENDORS and len(vs) == len(set(vs)), r["id"]
    assert set(_row(eng, "llama.cpp")["precisions"].split(";")) >= {"q8_0", "q4_0", "q4_k_m"}
    assert _row(eng, "mlx")["hardware_vendors"] == "apple"
    assert _row(eng, "tensorrt-llm")["hardware_vendors"] == "nvidia"
    assert "google" in _row(eng, "jax")["hardware_vendors"].split(";")
    # measured precision pairs in the references run on engines that list them
    pairs = [("tensorrt-llm", "fp4"), ("tensorrt-llm", "fp8"), ("llama.cpp", "q4_k_m"), ("vllm", "fp8"),
             ("sglang", "fp8"), ("lmdeploy", "fp16"), ("vllm", "int4")]
    for e, p in pairs:
        assert p in _row(eng, e)["precisions"].split(";"), (e, p)


def test_memory_and_overhead_ranges(eng):
    assert eng["memory_utilization"].is_between(0.5, 1.0).all()
    assert eng["overhead_gb"].is_between(0.1, 5).all()
    assert (eng["max_batch_size"] >= 1).all()


def test_unknown_id_lists_valid_ids():
    with pytest.raises(UnknownIdError) as err:
        catalog.get("engines", "vllm2")
    assert "'vllm2'" in str(err.value) and "tensorrt-llm" in str(err.value)


def _user(**over):
    row = dict(id="my-engine", name="In-house server", continuous_batching=True, paged_kv=True,
               precisions="bf16;fp8", hardware_vendors="nvidia", max_batch_size=512, memory_utilization=0.92,
               overhead_gb=1.5, tensor_parallel=True, source="team wiki", as_of="2026-02")
    row.update(over)
    return pl.DataFrame([row])


def test_extra_adds_and_replaces(eng):
    out = catalog.load("engines", extra=_user())
    assert out.height == eng.height + 1 and out.filter(pl.col("id") == "my-engine")["origin"].item() == "user"
    out = catalog.load("engines", extra=_user(id="vllm", max_batch_size=1024))
    assert out.height == eng.height and out.filter(pl.col("id") == "vllm")["max_batch_size"].item() == 1024


@pytest.mark.parametrize(
    "over, column",
    [
        ({"precisions": "bf16;int3"}, "precisions"),
        ({"memory_utilization": 1.5}, "memory_utilization"),
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"continuous_batching": "maybe"}, "continuous_batching"),
        ({"as_of": "last year"}, "as_of"),
    ],
)
def test_extra_bad_value_names_column(over, column):
    with pytest.raises(CatalogError) as err:
        catalog.load("engines", extra=_user(**over))
    assert repr(column) in str(err.value), str(err.value)


def test_kv_precision_defaults_are_documented_pairs(eng):
    # TensorRT-LLM runs FP8 checkpoints with an FP8 KV cache (Model Optimizer's default); vLLM / SGLang keep the
    # model dtype, so they list nothing and the precision's default_kv_precision applies
    assert _row(eng, "tensorrt-llm")["kv_precision_defaults"] == "fp8=fp8"
    assert _row(eng, "vllm")["kv_precision_defaults"] is None and _row(eng, "sglang")["kv_precision_defaults"] is None
    assert "--kv_cache_qformat" in _row(eng, "tensorrt-llm")["notes"]


@pytest.mark.parametrize("value, message", [
    ("fp8", "is not a pair of ids"),
    ("fp8=fp8=fp8", "is not a pair of ids"),
    ("fp8=fp9", "unknown precisions id(s) ['fp9']"),
    ("fp7=fp8", "unknown precisions id(s) ['fp7']"),
])
def test_kv_precision_defaults_bad_values_are_refused(eng, value, message):
    mine = eng.drop("origin").filter(pl.col("id") == "vllm").with_columns(
        pl.lit("my-engine").alias("id"), pl.lit(value).alias("kv_precision_defaults"))
    with pytest.raises(CatalogError, match="kv_precision_defaults") as err:
        catalog.load("engines", extra=mine)
    assert message in str(err.value)

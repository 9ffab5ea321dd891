"""Tests of infer_econ.io: importers, exports, HTML report, progress."""

from __future__ import annotations

import io as _stdio
import json
import math
import re
import os
from pathlib import Path

import altair as alt
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infer_econ import io
from infer_econ.errors import InferEconError, ValidationError

D = Path(__file__).parent / "data"
IDS = dict(hardware="h100-sxm", precision="bf16", n_devices=1)


# ------------------------------------------------------------------ schema and model names

def _check_schema(frame: pl.DataFrame) -> None:
    assert frame.schema == pl.Schema(io.CALIBRATION_SCHEMA)
    assert frame["id"].is_unique().all()
    assert frame.select(pl.col("kind").is_in(list(io.KIND_UNITS)).all()).item()
    assert (frame["measured"] > 0).all()
    units = frame["kind"].replace_strict(io.KIND_UNITS)
    assert (units == frame["unit"]).all()


@pytest.mark.parametrize(
    "name, expected",
    [
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
        ("meta-llama/Meta-Llama-3-70B-Instruct", "llama-3-70b"),
        ("/models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "llama-3.1-8b"),
        ("models/mistral-7b-v0.1.Q4_0.gguf", "mistral-7b"),
        ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5-7b"),
        ("deepseek-ai/DeepSeek-R1", "deepseek-r1"),
        ("openai/gpt-oss-120b", "gpt-oss-120b"),
        ("meta-llama/Llama-2-70b-hf", "llama-2-70b"),
        ("llama-3.1-8b", "llama-3.1-8b"),
    ],
)
def test_resolve_model_maps_tool_names_to_catalog_ids(name, expected):
    assert io.resolve_model(name, Path("f.json")) == expected


def test_resolve_model_unknown_names_file_and_asks_for_model():
    with pytest.raises(ValidationError, match=r"f\.json: model 'acme/Frobnicator-9B'.*pass model="):
        io.resolve_model("acme/Frobnicator-9B", Path("f.json"))


# ------------------------------------------------------------------ vLLM

def test_vllm_new_format_values():
    f = io.read_vllm_bench(D / "vllm_bench_serve.json", **IDS)
    _check_schema(f)
    assert f["kind"].to_list() == ["serving_ttft_ms", "serving_tpot_ms", "serving_itl_ms", "offline_output_tps_total"]
    assert f["measured"].to_list() == [41.27, 11.83, 11.71, 1192.92]
    row = f.row(0, named=True)
    # 204800 input tokens / 200 completed = 1024; 25600 / 200 = 128
    assert (row["input_tokens"], row["output_tokens"]) == (1024, 128)
    # request_rate "inf" with max_concurrency 16: closed loop
    assert row["batch_size"] == 16 and math.isinf(row["request_rate_per_s"])
    assert row["model_id"] == "llama-3.1-8b" and row["engine_id"] == "vllm"
    assert row["date"] == "2025-06-11"


def test_vllm_old_format_without_total_output_tokens_uses_output_lens():
    f = io.read_vllm_bench(D / "vllm_benchmark_serving_v04.json", **IDS)
    _check_schema(f)
    # no mean_itl_ms in this version; no throughput row at a finite rate
    assert f["kind"].to_list() == ["serving_ttft_ms", "serving_tpot_ms"]
    # output_lens [190, 210, 204, 188] → mean 198; 109871 / 500 = 219.7 → 220
    assert f["output_tokens"].unique().to_list() == [198]
    assert f["input_tokens"].unique().to_list() == [220]
    assert f["request_rate_per_s"].unique().to_list() == [4.0]
    assert f["batch_size"].is_null().all()
    assert f["model_id"][0] == "llama-3-70b"


def test_vllm_statistics_selects_percentiles():
    f = io.read_vllm_bench(D / "vllm_bench_serve.json", statistics=("median", "p99"), **IDS)
    got = {(k, s): m for k, s, m in f.select("kind", "statistic", "measured").rows()}
    assert got[("serving_ttft_ms", "p99")] == 77.35
    assert got[("serving_tpot_ms", "median")] == 11.79
    assert got[("serving_itl_ms", "p99")] == 24.66
    with pytest.raises(ValidationError, match="statistics"):
        io.read_vllm_bench(D / "vllm_bench_serve.json", statistics=("p42",), **IDS)


def test_vllm_missing_ids_named_all_at_once():
    with pytest.raises(ValidationError, match=r"does not say hardware, precision, n_devices; pass hardware=…"):
        io.read_vllm_bench(D / "vllm_bench_serve.json")


def test_vllm_file_that_is_not_vllm(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"completed": 3, "foo": 1}))
    with pytest.raises(ValidationError, match=r"x\.json: missing field 'mean_ttft_ms' or 'output_throughput'"):
        io.read_vllm_bench(p, **IDS)
    p.write_text(json.dumps({"completed": 3, "mean_ttft_ms": "fast", "total_input_tokens": 3,
                             "total_output_tokens": 3, "model_id": "llama-3.1-8b"}))
    with pytest.raises(ValidationError, match=r"field 'mean_ttft_ms': 'fast' is not a number"):
        io.read_vllm_bench(p, **IDS)


def test_vllm_list_of_runs_and_bad_n_devices(tmp_path):
    rec = json.loads((D / "vllm_bench_serve.json").read_text())
    p = tmp_path / "runs.json"
    p.write_text(json.dumps([rec, dict(rec, max_concurrency=32, mean_ttft_ms=60.0)]))
    f = io.read_vllm_bench(p, **IDS)
    assert sorted(f["batch_size"].unique().to_list()) == [16, 32]
    assert f["id"].is_unique().all()
    with pytest.raises(ValidationError, match="n_devices=0 must be an integer ≥ 1"):
        io.read_vllm_bench(p, hardware="h100-sxm", precision="bf16", n_devices=0)


# ------------------------------------------------------------------ SGLang

def test_sglang_jsonl_three_runs():
    f = io.read_sglang_bench(D / "sglang_bench_serving.jsonl", model="llama-3.1-8b", **IDS)
    _check_schema(f)
    # 3 latency kinds × 3 runs + 1 throughput row for the unlimited-rate run
    assert f.height == 10
    inf_run = f.filter(pl.col("request_rate_per_s").is_infinite())
    assert inf_run["batch_size"].unique().to_list() == [64]
    assert inf_run.filter(pl.col("kind") == "offline_output_tps_total")["measured"].item() == 4429.1
    # 512000 / 500 = 1024 input, 128000 / 500 = 256 output
    assert f["input_tokens"].unique().to_list() == [1024] and f["output_tokens"].unique().to_list() == [256]
    assert f["engine_id"].unique().to_list() == ["sglang"]


def test_sglang_without_model_asks_for_it():
    with pytest.raises(ValidationError, match="does not say model"):
        io.read_sglang_bench(D / "sglang_bench_serving.jsonl", **IDS)


def test_sglang_bad_line_named(tmp_path):
    lines = (D / "sglang_bench_serving.jsonl").read_text().splitlines()
    p = tmp_path / "s.jsonl"
    p.write_text(lines[0] + "\n" + lines[1][:40] + "\n")
    with pytest.raises(ValidationError, match=r"s\.jsonl: line 2 is not valid JSON"):
        io.read_sglang_bench(p, model="llama-3.1-8b", **IDS)


def test_sglang_backend_maps_engine(tmp_path):
    rec = json.loads((D / "sglang_bench_serving.jsonl").read_text().splitlines()[0])
    p = tmp_path / "trt.jsonl"
    p.write_text(json.dumps(dict(rec, backend="trt")) + "\n")
    f = io.read_sglang_bench(p, model="llama-3.1-8b", **IDS)
    assert f["engine_id"].unique().to_list() == ["tensorrt-llm"]


# ------------------------------------------------------------------ AIPerf / GenAI-Perf

def test_aiperf_json_closed_loop():
    f = io.read_aiperf(D / "profile_export_aiperf.json", engine="vllm", **IDS)
    _check_schema(f)
    got = dict(zip(f["kind"], f["measured"]))
    assert got == {"serving_ttft_ms": 212.4, "serving_tpot_ms": 28.23, "serving_itl_ms": 28.19,
                   "offline_output_tps_total": 1103.4}
    assert f["batch_size"].unique().to_list() == [32]
    assert f["model_id"].unique().to_list() == ["llama-3.1-8b"]
    assert (f["input_tokens"].unique().to_list(), f["output_tokens"].unique().to_list()) == ([550], [256])


def test_genai_perf_json_and_csv_agree():
    a = io.read_aiperf(D / "profile_export_genai_perf.json", engine="vllm", **IDS)
    b = io.read_aiperf(D / "profile_export_genai_perf.csv", engine="vllm", model="llama-3-8b", batch_size=8, **IDS)
    cols = ["model_id", "batch_size", "input_tokens", "output_tokens", "kind", "measured"]
    assert a.select(cols).equals(b.select(cols))
    # output_sequence_length avg 100.1 → 100 tokens
    assert a["output_tokens"].unique().to_list() == [100]


def test_aiperf_csv_p99_and_units():
    f = io.read_aiperf(D / "profile_export_genai_perf.csv", engine="vllm", model="llama-3-8b", batch_size=8,
                       statistics=("p99",), **IDS)
    assert dict(zip(f["kind"], f["measured"]))["serving_ttft_ms"] == 63.7


def test_aiperf_csv_needs_the_load():
    with pytest.raises(ValidationError, match="pass batch_size=<concurrency> or request_rate_per_s"):
        io.read_aiperf(D / "profile_export_genai_perf.csv", engine="vllm", model="llama-3-8b", **IDS)


def test_aiperf_seconds_converted(tmp_path):
    doc = json.loads((D / "profile_export_aiperf.json").read_text())
    doc["time_to_first_token"] = {"unit": "s", "avg": 0.2124}
    p = tmp_path / "s.json"
    p.write_text(json.dumps(doc))
    f = io.read_aiperf(p, engine="vllm", **IDS)
    assert dict(zip(f["kind"], f["measured"]))["serving_ttft_ms"] == pytest.approx(212.4)
    doc["time_to_first_token"] = {"unit": "furlongs", "avg": 3}
    p.write_text(json.dumps(doc))
    with pytest.raises(ValidationError, match="unit 'furlongs'"):
        io.read_aiperf(p, engine="vllm", **IDS)


# ------------------------------------------------------------------ llama-bench

def test_llama_bench_json_new_build():
    f = io.read_llama_bench(D / "llama_bench.json", hardware="rtx-4090", n_devices=1)
    _check_schema(f)
    assert f.select("kind", "input_tokens", "context_depth", "output_tokens", "measured").rows() == [
        ("prefill_tps_bs1", 512, 0, 0, 11234.56),
        ("decode_tps_bs1", 0, 0, 128, 141.27),
        ("decode_tps_bs1", 0, 8192, 128, 117.68),
    ]
    assert f["kv_precision_id"].to_list() == ["fp16", "fp16", "q8_0"]
    assert f["precision_id"].unique().to_list() == ["q4_k_m"]
    assert f["engine_id"].unique().to_list() == ["llama.cpp"] and (f["batch_size"] == 1).all()
    assert f["date"][0] == "2025-07-18"


def test_llama_bench_old_csv_without_n_depth():
    f = io.read_llama_bench(D / "llama_bench.csv", hardware="apple-m2-max-38c", n_devices=1)
    _check_schema(f)
    assert f.select("model_id", "precision_id", "kind", "measured").rows() == [
        ("mistral-7b", "q4_0", "prefill_tps_bs1", 558.71),
        ("mistral-7b", "q4_0", "decode_tps_bs1", 60.84),
    ]
    assert (f["context_depth"] == 0).all()


def test_llama_bench_markdown_depth_and_skip_pg():
    f = io.read_llama_bench(D / "llama_bench.md", model="qwen2-7b", hardware="apple-m2-max-38c", n_devices=1)
    _check_schema(f)
    # pp512+tg128 is skipped: 4 of 5 tests
    assert f.select("kind", "context_depth", "measured").rows() == [
        ("prefill_tps_bs1", 0, 788.42), ("decode_tps_bs1", 0, 52.73),
        ("prefill_tps_bs1", 4096, 612.05), ("decode_tps_bs1", 4096, 46.11),
    ]
    assert f["precision_id"].unique().to_list() == ["q8_0"]


def test_llama_bench_carries_flash_attention_to_the_estimator():
    # flash_attn (JSON true, CSV "0") and the markdown's fa column become flash_attention; calibrate.predict then
    # adds the unfused score traffic only where it was off
    from infer_econ import calibrate

    assert io.read_llama_bench(D / "llama_bench.json", hardware="rtx-4090", n_devices=1)[
        "flash_attention"].to_list() == [True, True, True]
    old = io.read_llama_bench(D / "llama_bench.csv", hardware="apple-m2-max-38c", n_devices=1)
    assert old["flash_attention"].to_list() == [False, False]
    md = io.read_llama_bench(D / "llama_bench.md", model="qwen2-7b", hardware="apple-m2-max-38c", n_devices=1)
    assert md["flash_attention"].to_list() == [True] * 4
    on = calibrate.predict(md)["predicted"]
    off = calibrate.predict(md.with_columns(flash_attention=pl.lit(False)))["predicted"]
    assert (off < on).all()  # every test moves some scores, the 4,096-deep ones most
    assert (off / on)[2] < (off / on)[0]


def test_calibration_csv_keeps_flash_attention(tmp_path):
    # a reader's frame written as CSV reads back with its flags (text true/false, 1/0); other text names the cell
    f = io.read_llama_bench(D / "llama_bench.md", model="qwen2-7b", hardware="apple-m2-max-38c", n_devices=1)
    path = tmp_path / "mine.csv"
    f.with_columns(flash_attention=pl.Series([True, False, None, True])).write_csv(path)
    back = io.read_calibration_csv(path)
    _check_schema(back)
    assert back["flash_attention"].to_list() == [True, False, None, True]
    path.write_text(path.read_text().replace(",true\n", ",1\n").replace(",false\n", ",0\n"))
    assert io.read_calibration_csv(path)["flash_attention"].to_list() == [True, False, None, True]
    path.write_text(path.read_text().replace(",0\n", ",auto\n"))
    with pytest.raises(ValidationError, match="column 'flash_attention': 'auto'"):
        io.read_calibration_csv(path)


def test_llama_bench_flash_attention_for_files_that_do_not_say(tmp_path):
    # llama-bench's markdown prints fa only when it differs from the default (off until 2025): the caller says
    table = (D / "llama_bench.md").read_text()
    cut = "\n".join("|".join(c for i, c in enumerate(ln.split("|")) if i != 6) for ln in table.splitlines())
    path = tmp_path / "old.md"
    path.write_text(cut + "\n")
    kw = dict(model="qwen2-7b", hardware="apple-m2-max-38c", n_devices=1)
    assert io.read_llama_bench(path, **kw)["flash_attention"].to_list() == [None] * 4
    assert io.read_llama_bench(path, **kw, flash_attention=False)["flash_attention"].to_list() == [False] * 4
    # the file's own value wins over the default
    assert io.read_llama_bench(D / "llama_bench.md", **kw, flash_attention=False)["flash_attention"].all()


def test_llama_bench_markdown_needs_model():
    with pytest.raises(ValidationError, match="does not say model"):
        io.read_llama_bench(D / "llama_bench.md", hardware="apple-m2-max-38c", n_devices=1)


def test_llama_bench_unknown_quant_asks_for_precision(tmp_path):
    recs = json.loads((D / "llama_bench.json").read_text())
    recs[0]["model_type"] = "llama 8B IQ2_XXS - 2.0625 bpw"
    p = tmp_path / "lb.json"
    p.write_text(json.dumps(recs[:1]))
    with pytest.raises(ValidationError, match="does not say precision"):
        io.read_llama_bench(p, hardware="rtx-4090", n_devices=1)
    assert io.read_llama_bench(p, hardware="rtx-4090", n_devices=1, precision="q4_0")["precision_id"][0] == "q4_0"


def test_llama_bench_missing_avg_ts(tmp_path):
    p = tmp_path / "lb.csv"
    p.write_text("model_filename,n_prompt,n_gen\nx.gguf,512,0\n")
    with pytest.raises(ValidationError, match=r"lb\.csv: record 1: missing field 'avg_ts'"):
        io.read_llama_bench(p, hardware="rtx-4090", n_devices=1)


# ------------------------------------------------------------------ MLPerf

MLPERF_IDS = dict(model="llama-2-70b", hardware="h100-sxm", precision="fp8", engine="tensorrt-llm", n_devices=8)


def test_mlperf_offline():
    f = io.read_mlperf_summary(D / "mlperf_log_summary_offline.txt", **MLPERF_IDS)
    _check_schema(f)
    row = f.row(0, named=True)
    assert row["kind"] == "offline_output_tps_total" and row["measured"] == 21810.09
    # 21810.09 tokens/s / 74.6921 samples/s = 292.0 output tokens per sample
    assert row["output_tokens"] == 292
    assert math.isinf(row["request_rate_per_s"]) and row["input_tokens"] is None


def test_mlperf_server_ns_to_ms_and_percentiles():
    f = io.read_mlperf_summary(D / "mlperf_log_summary_server.txt", statistics=("mean", "p99"), **MLPERF_IDS)
    got = {(k, s): m for k, s, m in f.select("kind", "statistic", "measured").rows()}
    # 412518734 ns = 412.518734 ms; 149920331 ns = 149.920331 ms
    assert got[("serving_ttft_ms", "mean")] == pytest.approx(412.518734)
    assert got[("serving_tpot_ms", "p99")] == pytest.approx(149.920331)
    assert f["request_rate_per_s"].unique().to_list() == [70.42]
    # 20563.21 / 70.42 = 292.0
    assert f["output_tokens"].unique().to_list() == [292]


def test_mlperf_invalid_and_accuracy_runs(tmp_path):
    text = (D / "mlperf_log_summary_offline.txt").read_text()
    p = tmp_path / "mlperf_log_summary.txt"
    p.write_text(text.replace("Result is : VALID", "Result is : INVALID"))
    with pytest.raises(ValidationError, match="'Result is' is 'INVALID'; pass allow_invalid=True"):
        io.read_mlperf_summary(p, **MLPERF_IDS)
    f = io.read_mlperf_summary(p, allow_invalid=True, **MLPERF_IDS)
    assert "INVALID" in f["notes_short"][0]
    p.write_text(text.replace("PerformanceOnly", "AccuracyOnly"))
    with pytest.raises(ValidationError, match="only PerformanceOnly"):
        io.read_mlperf_summary(p, **MLPERF_IDS)
    p.write_text(text.replace("Scenario : Offline", "Scenario : SingleStream"))
    with pytest.raises(ValidationError, match="'SingleStream'"):
        io.read_mlperf_summary(p, **MLPERF_IDS)
    p.write_text("hello: world\n")
    with pytest.raises(ValidationError, match="not an mlperf_log_summary.txt"):
        io.read_mlperf_summary(p, **MLPERF_IDS)


# ------------------------------------------------------------------ calibration CSV, dispatch, limits

def test_calibration_csv_and_errors(tmp_path):
    f = io.read_calibration_csv(D / "calibration.csv")
    assert f.schema == pl.Schema(io.CALIBRATION_SCHEMA) and f.height == 3
    assert math.isinf(f["request_rate_per_s"][0])
    bad = tmp_path / "c.csv"
    bad.write_text((D / "calibration.csv").read_text().replace("8412.5", "lots"))
    with pytest.raises(ValidationError, match=r"row 2, column 'measured': 'lots'"):
        io.read_calibration_csv(bad)
    bad.write_text("model_id,kind\nx,y\n")
    with pytest.raises(ValidationError, match=r"missing column\(s\) \['hardware_id'"):
        io.read_calibration_csv(bad)
    bad.write_text((D / "calibration.csv").read_text().replace("decode_tps_bs1", "speed"))
    with pytest.raises(ValidationError, match="column 'kind': 'speed'"):
        io.read_calibration_csv(bad)


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("vllm_bench_serve.json", "vllm"), ("vllm_benchmark_serving_v04.json", "vllm"),
        ("sglang_bench_serving.jsonl", "sglang"), ("profile_export_aiperf.json", "aiperf"),
        ("profile_export_genai_perf.json", "aiperf"), ("profile_export_genai_perf.csv", "aiperf"),
        ("llama_bench.json", "llama-bench"), ("llama_bench.csv", "llama-bench"), ("llama_bench.md", "llama-bench"),
        ("mlperf_log_summary_offline.txt", "mlperf"), ("mlperf_log_summary_server.txt", "mlperf"),
        ("calibration.csv", "csv"),
    ],
)
def test_sniff_format_by_content(name, fmt, tmp_path):
    # the name does not matter: copy to a neutral name
    p = tmp_path / "upload.dat"
    p.write_bytes((D / name).read_bytes())
    assert io.sniff_format(p) == fmt


def test_read_any_dispatch_and_keyword_checks():
    a = io.read_any(D / "vllm_bench_serve.json", **IDS)
    assert a.equals(io.read_vllm_bench(D / "vllm_bench_serve.json", **IDS))
    # None-valued ids are ignored, unknown keywords refused
    io.read_any(D / "calibration.csv", hardware=None)
    with pytest.raises(ValidationError, match="takes"):
        io.read_any(D / "calibration.csv", hardware="h100-sxm")
    with pytest.raises(ValidationError, match="format 'excel'"):
        io.read_any(D / "calibration.csv", format="excel")


def test_unrecognized_missing_empty_binary_and_oversized(tmp_path, monkeypatch):
    p = tmp_path / "x.txt"
    p.write_text("just some notes\n")
    with pytest.raises(ValidationError, match="format not recognized"):
        io.read_any(p)
    with pytest.raises(ValidationError, match="no such file"):
        io.read_any(tmp_path / "nope.json")
    p.write_text("   \n")
    with pytest.raises(ValidationError, match="file is empty"):
        io.read_any(p)
    p.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ValidationError, match="not a UTF-8 text file"):
        io.read_any(p)
    import infer_econ.io._common as common

    monkeypatch.setattr(common, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(ValidationError, match="the limit for uploads is 100"):
        io.read_vllm_bench(D / "vllm_bench_serve.json", **IDS)


# ------------------------------------------------------------------ fuzzing

SAMPLES = sorted(p for p in D.iterdir() if p.is_file())
READERS = [
    lambda p: io.read_any(p, **IDS, model="llama-3.1-8b", engine="vllm") if io.sniff_format(p) not in ("csv", "llama-bench")
    else io.read_any(p),
    lambda p: io.read_vllm_bench(p, **IDS),
    lambda p: io.read_sglang_bench(p, model="llama-3.1-8b", **IDS),
    lambda p: io.read_aiperf(p, engine="vllm", batch_size=4, model="llama-3.1-8b", **IDS),
    lambda p: io.read_llama_bench(p, hardware="rtx-4090", n_devices=1, model="llama-3.1-8b"),
    lambda p: io.read_mlperf_summary(p, **MLPERF_IDS),
    io.read_calibration_csv,
]


def _run_all(p: Path) -> None:
    for read in READERS:
        try:
            out = read(p)
        except InferEconError:
            continue
        assert isinstance(out, pl.DataFrame)
        assert out.schema == pl.Schema(io.CALIBRATION_SCHEMA)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_fuzz_random_bytes(tmp_path, data):
    p = tmp_path / "fuzz.bin"
    p.write_bytes(data)
    _run_all(p)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(idx=st.integers(0, len(SAMPLES) - 1), data=st.data())
def test_fuzz_mutated_samples(tmp_path, idx, data):
    text = SAMPLES[idx].read_text()
    n = len(text)
    op = data.draw(st.sampled_from(["cut", "delete", "insert", "replace_number", "swap_lines"]))
    i = data.draw(st.integers(0, max(n - 1, 0)))
    if op == "cut":
        text = text[:i]
    elif op == "delete":
        text = text[:i] + text[i + data.draw(st.integers(1, 40)):]
    elif op == "insert":
        text = text[:i] + data.draw(st.text(max_size=20)) + text[i:]
    elif op == "replace_number":
        text = text.replace(data.draw(st.sampled_from(["0", "1", "2", "5", "."])),
                            data.draw(st.sampled_from(["-1", "nan", "inf", "", "\"x\"", "1e400", "null"])), 3)
    else:
        lines = text.splitlines()
        if len(lines) > 2:
            j = data.draw(st.integers(0, len(lines) - 2))
            lines[j], lines[j + 1] = lines[j + 1], lines[j]
        text = "\n".join(lines)
    p = tmp_path / SAMPLES[idx].name
    p.write_text(text)
    _run_all(p)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
                        lambda c: st.lists(c, max_size=4) | st.dictionaries(
                            st.sampled_from(["completed", "mean_ttft_ms", "request_rate", "max_concurrency",
                                             "total_input_tokens", "total_output_tokens", "model_id", "avg_ts",
                                             "n_prompt", "n_gen", "output_throughput", "input_config",
                                             "time_to_first_token", "unit", "avg", "backend", "output_lens"]),
                            c, max_size=8), max_leaves=20))
def test_fuzz_json_structures(tmp_path, doc):
    p = tmp_path / "doc.json"
    p.write_text(json.dumps(doc))
    _run_all(p)


# ------------------------------------------------------------------ exports

FRAME = pl.DataFrame({"hardware": ["h100-sxm", "a100-sxm-80gb"], "usd_per_hour": [3.5, 1.9], "fits": [True, False]})


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".ndjson"])
def test_export_frame_round_trip(tmp_path, suffix):
    p = io.export_frame(FRAME, tmp_path / f"out{suffix}")
    back = {".csv": pl.read_csv, ".parquet": pl.read_parquet, ".json": pl.read_json, ".ndjson": pl.read_ndjson}[suffix](p)
    assert back.equals(FRAME)
    assert not [x for x in os.listdir(tmp_path) if x.endswith(".tmp")]


def test_export_frame_errors(tmp_path):
    with pytest.raises(ValidationError, match=r"suffix '\.xlsx'"):
        io.export_frame(FRAME, tmp_path / "out.xlsx")
    with pytest.raises(ValidationError, match=r"nested column\(s\) \['l'\]"):
        io.export_frame(pl.DataFrame({"l": [[1, 2]]}), tmp_path / "out.csv")
    with pytest.raises(ValidationError, match="JSON cannot hold inf"):
        io.export_frame(pl.DataFrame({"x": [math.inf]}), tmp_path / "out.json")
    with pytest.raises(ValidationError, match="does not exist"):
        io.export_frame(FRAME, tmp_path / "no" / "out.csv")
    with pytest.raises(ValidationError, match="expected a polars DataFrame"):
        io.export_frame({"a": 1}, tmp_path / "out.csv")


def test_export_frame_crash_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "out.csv"
    p.write_text("old\n")

    def boom(self, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_csv", boom)
    with pytest.raises(OSError):
        io.export_frame(FRAME, p)
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.csv"]


CHART = alt.Chart(FRAME).mark_bar().encode(x=alt.X("hardware:N"), y=alt.Y("usd_per_hour:Q", title="USD/h"),
                                           tooltip=["hardware", "usd_per_hour"])


def test_export_chart_svg_png(tmp_path):
    svg = io.export_chart(CHART, tmp_path / "c.svg").read_text()
    assert svg.lstrip().startswith("<svg") and "USD/h" in svg
    png = io.export_chart(CHART, tmp_path / "c.png", scale=1).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValidationError, match=r"suffix '\.gif'"):
        io.export_chart(CHART, tmp_path / "c.gif")
    with pytest.raises(ValidationError, match="scale"):
        io.export_chart(CHART, tmp_path / "c.png", scale=0)
    with pytest.raises(ValidationError, match="altair chart"):
        io.export_chart(42, tmp_path / "c.svg")


def test_report_html_self_contained_with_sources(tmp_path):
    from infer_econ import catalog

    src = catalog.load("sources")
    key = src["id"][0]
    frames = {"Hardware": FRAME.with_columns(pl.lit(key).alias("hardware_source")),
              "Evil <b>": pl.DataFrame({"note": ["<script>alert(1)</script>"]})}
    page = io.report_html({"model": "llama-3.1-8b", "utilization": 0.6}, frames, {"Price": CHART},
                          sources=["my-negotiated-quote"])
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>")
    assert "<svg" in page and "USD/h" in page
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "Evil &lt;b&gt;" in page
    # every source: shipped key resolved to its title, user key flagged
    assert src.filter(pl.col("id") == key)["title"].item().replace("&", "&amp;")[:20] in page
    assert "my-negotiated-quote" in page and "given by the user" in page
    # no external assets
    assert " src=" not in page and "<link" not in page
    out = io.write_report(tmp_path / "r.html", {"model": "x"}, frames)
    assert out.read_text(encoding="utf-8").count("<table>") >= 3
    with pytest.raises(ValidationError, match=r"\.html"):
        io.write_report(tmp_path / "r.pdf", {"model": "x"})
    with pytest.raises(ValidationError, match="scenario must be a mapping"):
        io.report_html(["model"])


def test_report_truncates_long_frames():
    page = io.report_html({}, {"big": pl.DataFrame({"x": range(500)})}, max_rows=10)
    assert "490 more rows not shown" in page


# ------------------------------------------------------------------ progress

def test_sweep_equals_one_call():
    f = pl.DataFrame({"x": range(1000)})
    fn = lambda g: g.with_columns(y=pl.col("x") ** 2)  # noqa: E731
    r = io.sweep(fn, f, chunk_rows=64, progress=None)
    assert r.result.equals(fn(f)) and (r.done, r.total, r.interrupted) == (16, 16, False)


def test_keyboard_interrupt_returns_what_was_computed():
    calls = []

    def fn(chunk):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(chunk.height)
        return chunk.with_columns(y=pl.col("x") + 1)

    r = io.sweep(fn, pl.DataFrame({"x": range(100)}), chunk_rows=10, progress=None)
    assert r.interrupted and (r.done, r.total) == (3, 10)
    assert r.result["y"].to_list() == list(range(1, 31))


def test_terminal_bar_and_callable_progress():
    buf = _stdio.StringIO()
    bar = io.progress.TerminalBar(4, stream=buf)
    io.run_with_progress(lambda c: c, [1, 2, 3, 4], progress=bar)
    text = buf.getvalue()
    assert "[" + "#" * 30 + "] 4/4 100%" in text and text.endswith("\n")
    seen = []
    r = io.run_with_progress(lambda c: c * 2, [1, 2, 3], progress=lambda d, t: seen.append((d, t)))
    assert r.result == [2, 4, 6] and seen == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(ValidationError, match="progress="):
        io.run_with_progress(lambda c: c, [1], progress="rainbow")


def test_widget_bar_updates():
    pytest.importorskip("ipywidgets")
    bar = io.progress.WidgetBar(5, "sweep")
    io.run_with_progress(lambda c: c, range(5), progress=bar)
    assert bar.widget.value == 5 and bar.widget.max == 5 and bar.widget.bar_style == "success"


def test_chunk_frame_errors():
    with pytest.raises(ValidationError, match="chunk_rows"):
        io.chunk_frame(FRAME, 0)
    assert [c.height for c in io.chunk_frame(FRAME.clear(), 5)] == [0]


# ------------------------------------------------------------------ command line

import subprocess  # noqa: E402
import sys  # noqa: E402

from infer_econ.cli import main  # noqa: E402


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "infer_econ", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_python_m_equals_console_script():
    exe = Path(sys.executable).with_name("infer-econ")
    if not exe.exists():
        pytest.skip("console script not installed")
    a = _cli("--help")
    b = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120)
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout and "examples:" in a.stdout
    assert _cli("--version").stdout == subprocess.run([str(exe), "--version"], capture_output=True,
                                                      text=True).stdout


def test_cli_calibrate_reads_benchmark_files(tmp_path):
    out = tmp_path / "params.csv"
    r = _cli("calibrate", str(D / "llama_bench.json"), str(D / "llama_bench.csv"), "--hardware", "rtx-4090",
             "--devices", "1", "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    # 3 llama_bench.json rows + 2 llama_bench.csv rows
    assert summary["measurements"] == 5 and summary["out"] == str(out)
    params = pl.read_csv(out)
    assert params.height >= 1 and "decode_bandwidth_efficiency" in params.columns


def test_cli_calibrate_help_has_examples():
    r = _cli("calibrate", "--help")
    assert r.returncode == 0 and "--hardware" in r.stdout and "examples:" in r.stdout and "-o OUT" in r.stdout


def test_cli_calibrate_missing_ids_one_line_exit_2(capsys):
    rc = main(["calibrate", str(D / "vllm_bench_serve.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "vllm_bench_serve.json" in err and "--hardware --precision --devices" in err
    assert "Traceback" not in err


def test_cli_calibrate_unknown_format_file(tmp_path, capsys):
    p = tmp_path / "notes.txt"
    p.write_text("hello\n")
    assert main(["calibrate", str(p), "--hardware", "h100-sxm"]) == 2
    assert "format not recognized" in capsys.readouterr().err


# ------------------------------------------------------------------ users' spreadsheets

def test_excel_semicolon_sheet_merges_into_cloud_prices():
    f = io.load_user_catalog("cloud_prices", D / "price_sheet_excel_de.csv")
    mine = f.filter(pl.col("origin") == "user").sort("id")
    assert mine.height == 2
    # "19,60" → 19.6 USD/h for 8 devices; "2,45" USD per device hour (19.6 / 8 = 2.45)
    assert mine["usd_per_hour"].to_list() == [1.1, 19.6]
    assert mine["usd_per_device_hour"].to_list() == [1.1, 2.45]
    # a quoted separator stays inside its value
    assert mine["source"].to_list()[0] == "quote; valid to 2026-03"
    # the shipped rows are all still there
    from infer_econ import catalog

    assert f.filter(pl.col("origin") == "shipped").height == catalog.load("cloud_prices").height


def test_sheet_errors_name_the_file(tmp_path):
    text = (D / "price_sheet_excel_de.csv").read_text(encoding="utf-8-sig")
    p = tmp_path / "prices.csv"
    p.write_text(text.replace("h100-sxm", "h1000"))
    with pytest.raises(InferEconError, match=r"prices\.csv: .*unknown hardware id\(s\) \['h1000'\]"):
        io.load_user_catalog("cloud_prices", p)
    p.write_text("id;id\n1;2\n")
    with pytest.raises(ValidationError, match=r"duplicate column name\(s\) \['id'\]"):
        io.read_sheet(p)
    p.write_text("id;usd_per_hour\nx;1;surprise\n")
    with pytest.raises(ValidationError, match="row 2 has a value 'surprise' outside the named columns"):
        io.read_sheet(p)


def test_sheet_comma_and_tab_forms_agree(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("id,usd_per_hour\nx,1234.5\n")
    b = tmp_path / "b.txt"
    b.write_text("id\tusd_per_hour\nx\t1.234,5\n")
    assert io.read_sheet(a).equals(io.read_sheet(b))
    # with a comma separator a decimal comma cannot exist: values are kept as written
    c = tmp_path / "c.csv"
    c.write_text('id,note\nx,"3,5"\n')
    assert io.read_sheet(c)["note"].item() == "3,5"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list(";,\t\n\r\"x1.,- é")), max_size=120))
def test_fuzz_sheets(tmp_path, text):
    p = tmp_path / "s.csv"
    p.write_text(text)
    try:
        io.load_user_catalog("cloud_prices", p)
    except InferEconError:
        pass


def test_report_lists_the_catalog_rows_behind_the_figures():
    from infer_econ import catalog

    hw = catalog.get("hardware", "h100-sxm")
    result = pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"], "precision": ["bf16"],
                           "engine": ["vllm"], "usd_per_hour": [3.9]})
    used = io.catalog_sources({"r": result})
    assert used.select("catalog", "id").rows() == [("engines", "vllm"), ("hardware", "h100-sxm"),
                                                   ("models", "llama-3.1-8b"), ("precisions", "bf16")]
    assert used.filter(pl.col("id") == "h100-sxm")["source"].item() == hw["source"]
    title = catalog.get("sources", hw["source"])["title"]
    page = io.report_html({"model": "llama-3.1-8b"}, {"r": result})
    import html as _html

    assert _html.escape(title) in page and "Catalog values used" in page


def test_report_user_rows_are_marked_as_given_by_the_user():
    from infer_econ import catalog

    mine = catalog.load("cloud_prices").filter(pl.col("origin") == "shipped").head(1).with_columns(
        pl.lit("acme:8xh100:eu:reserved_1y").alias("id"), pl.lit("our 2025 contract").alias("source"))
    prices = catalog.load("cloud_prices", extra=mine.drop("origin"))
    used = io.catalog_sources({"r": pl.DataFrame({"price_id": ["acme:8xh100:eu:reserved_1y"]})},
                              catalogs={"cloud_prices": prices})
    row = used.row(0, named=True)
    assert (row["origin"], row["source"], row["title"]) == ("user", "our 2025 contract", None)
    page = io.report_html({}, {"r": pl.DataFrame({"price_id": ["acme:8xh100:eu:reserved_1y"]})},
                          catalogs={"cloud_prices": prices})
    assert "our 2025 contract" in page and "given by the user" in page


def test_aiperf_early_records_layout():
    f = io.read_aiperf(D / "profile_export_aiperf_early.json", model="qwen3-8b", engine="vllm", batch_size=10, **IDS)
    _check_schema(f)
    assert dict(zip(f["kind"], f["measured"])) == {"serving_ttft_ms": 18.26, "serving_tpot_ms": 4.57,
                                                    "offline_output_tps_total": 2087.5}
    assert (f["input_tokens"].unique().to_list(), f["output_tokens"].unique().to_list()) == ([128], [100])
    assert io.sniff_format(D / "profile_export_aiperf_early.json") == "aiperf"


def test_ids_unique_across_files_with_the_same_name(tmp_path):
    (tmp_path / "run1").mkdir()
    (tmp_path / "run2").mkdir()
    frames = []
    for d in ("run1", "run2"):
        p = tmp_path / d / "profile_export_aiperf.json"
        p.write_bytes((D / "profile_export_aiperf.json").read_bytes())
        frames.append(io.read_aiperf(p, engine="vllm", **IDS))
    both = pl.concat(frames)
    assert both["id"].is_unique().all() and both["id"][0].startswith("profile_export_aiperf-")


def test_ecosystem_doc_alias_table_is_current():
    text = (Path(__file__).parents[1] / "docs" / "ecosystem.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|$", text, flags=re.M)
    assert dict(rows) == io.MODEL_ALIASES
    for name in ("read_vllm_bench", "read_sglang_bench", "read_aiperf", "read_llama_bench", "read_mlperf_summary",
                 "read_calibration_csv"):
        assert f"`{name}`" in text


def test_llama_bench_jsonl(tmp_path):
    recs = json.loads((D / "llama_bench.json").read_text())
    p = tmp_path / "lb.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    assert io.sniff_format(p) == "llama-bench"
    a = io.read_llama_bench(p, hardware="rtx-4090", n_devices=1)
    b = io.read_llama_bench(D / "llama_bench.json", hardware="rtx-4090", n_devices=1)
    assert a.drop("id", "source").equals(b.drop("id", "source"))


def test_hardware_from_device_names():
    # llama-bench gpu_info "NVIDIA GeForce RTX 4090" with n_gpu_layers 99 → rtx-4090
    f = io.read_llama_bench(D / "llama_bench.json", n_devices=1)
    assert f["hardware_id"].unique().to_list() == ["rtx-4090"]
    # AIPerf GPU telemetry "NVIDIA L40S" → l40s
    g = io.read_aiperf(D / "profile_export_aiperf.json", engine="vllm", precision="bf16", n_devices=1)
    assert g["hardware_id"].unique().to_list() == ["l40s"]
    # "Apple M2 Max" fits the 30- and 38-core rows: nothing is guessed
    with pytest.raises(ValidationError, match=r"fits several hardware ids \['apple-m2-max-30c', 'apple-m2-max-38c'\]"):
        io.read_llama_bench(D / "llama_bench.csv", n_devices=1)


@pytest.mark.parametrize("name, expected", [
    ("NVIDIA GeForce RTX 4090", "rtx-4090"), ("NVIDIA A100-SXM4-80GB", "a100-sxm-80gb"), ("Tesla T4", "t4"),
    ("NVIDIA L40S", "l40s"), ("NVIDIA H100 PCIe", "h100-pcie"), ("AMD Instinct MI300X", "mi300x"),
    ("NVIDIA H200", None), ("NVIDIA H100 80GB HBM3", None), ("", None),
])
def test_resolve_hardware(name, expected):
    if expected is None:
        with pytest.raises(ValidationError, match="pass hardware="):
            io.resolve_hardware(name, Path("f"))
    else:
        assert io.resolve_hardware(name, Path("f")) == expected


def test_read_upload_names_the_users_file_never_a_temp_path(monkeypatch):
    data = (D / "vllm_bench_serve.json").read_bytes()
    f = io.read_upload(data, "C:\\\\Users\\\\me\\\\result (1).json", **IDS)
    assert f.equals(io.read_vllm_bench(D / "vllm_bench_serve.json", **IDS).with_columns(
        id=f["id"], source=f["source"]))
    assert f["source"][0] == "result_1_.json"
    with pytest.raises(ValidationError) as e:
        io.read_upload(data, "result.json")
    assert str(e.value).startswith("result.json: ") and "/tmp" not in str(e.value)
    import infer_econ.io._common as common

    monkeypatch.setattr(common, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(ValidationError, match="result.json: upload is .* the limit for uploads is 10"):
        io.read_upload(data, "result.json")


def test_report_lists_unset_knobs_on_one_line():
    page = io.report_html({"model": "llama-3.1-8b", "batch_size": None, "notes": ""})
    assert "<th>model</th>" in page and "<th>batch_size</th>" not in page
    assert "Not set (documented defaults apply): batch_size, notes." in page


def test_atomic_write_keeps_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        p = io.export_frame(FRAME, tmp_path / "new.csv")
        assert p.stat().st_mode & 0o777 == 0o644
        os.chmod(p, 0o600)
        io.export_frame(FRAME, p)
        assert p.stat().st_mode & 0o777 == 0o600  # an existing file keeps its mode
    finally:
        os.umask(old)


# ------------------------------------------------------------------ properties

_pos = st.floats(0.001, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(completed=st.integers(1, 10**6), tin=st.integers(1, 10**9), tout=st.integers(1, 10**9), ttft=_pos,
       tpot=_pos, itl=_pos, tput=_pos, rate=st.none() | _pos | st.just("inf"),
       conc=st.none() | st.integers(1, 4096))
def test_vllm_reader_reproduces_the_file(tmp_path, completed, tin, tout, ttft, tpot, itl, tput, rate, conc):
    rec = {"model_id": "meta-llama/Llama-3.1-8B-Instruct", "completed": completed, "total_input_tokens": tin,
           "total_output_tokens": tout, "mean_ttft_ms": ttft, "mean_tpot_ms": tpot, "mean_itl_ms": itl,
           "output_throughput": tput, "request_rate": rate, "max_concurrency": conc}
    p = tmp_path / "r.json"
    p.write_text(json.dumps(rec))
    f = io.read_vllm_bench(p, **IDS)
    _check_schema(f)
    got = dict(zip(f["kind"], f["measured"]))
    assert got["serving_ttft_ms"] == ttft and got["serving_tpot_ms"] == tpot and got["serving_itl_ms"] == itl
    unlimited = rate is None or rate == "inf"
    assert ("offline_output_tps_total" in got) == unlimited
    if unlimited:
        assert got["offline_output_tps_total"] == tput
    assert f["input_tokens"].unique().to_list() == [int(round(tin / completed))]
    assert f["output_tokens"].unique().to_list() == [int(round(tout / completed))]
    assert f["batch_size"].unique().to_list() == [conc]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), n=st.integers(0, 30))
def test_export_round_trips_any_frame(tmp_path, data, n):
    frame = pl.DataFrame({
        "id": data.draw(st.lists(st.text(max_size=12), min_size=n, max_size=n)),
        "count": data.draw(st.lists(st.none() | st.integers(-10**12, 10**12), min_size=n, max_size=n)),
        "usd_per_hour": data.draw(st.lists(st.none() | st.floats(allow_nan=False, allow_infinity=False),
                                           min_size=n, max_size=n)),
        "fits": data.draw(st.lists(st.none() | st.booleans(), min_size=n, max_size=n)),
    }, schema={"id": pl.String, "count": pl.Int64, "usd_per_hour": pl.Float64, "fits": pl.Boolean})
    assert pl.read_parquet(io.export_frame(frame, tmp_path / "f.parquet")).equals(frame)
    p = io.export_frame(frame, tmp_path / "f.ndjson")
    if n:  # an empty NDJSON file has no rows to read back
        assert pl.read_ndjson(p, schema=frame.schema).equals(frame)


def test_sheet_in_windows_ansi_code_page(tmp_path):
    p = tmp_path / "prices.csv"
    p.write_bytes("id;notes\nx;Zürich, 12 €\n".encode("cp1252"))
    assert io.read_sheet(p)["notes"].item() == "Zürich, 12 €"
    p.write_bytes(b"id;notes\nx;\x81\x8d\n")  # bytes undefined in cp1252 too
    with pytest.raises(ValidationError, match="not a UTF-8 text file"):
        io.read_sheet(p)


def test_read_many_folder_skips_unrelated_files(tmp_path):
    run = tmp_path / "results" / "run1"
    run.mkdir(parents=True)
    for name in ("llama_bench.json", "llama_bench.csv"):
        (run / name).write_bytes((D / name).read_bytes())
    (run / "server.log.txt").write_text("INFO started\n")
    (run / "inputs.json").write_text(json.dumps({"data": [{"session_id": "a", "payloads": []}]}))
    f = io.read_many(tmp_path / "results", hardware="rtx-4090", n_devices=1)
    # 3 + 2 rows; the log and the inputs file are not benchmark results
    assert f.height == 5 and f["id"].is_unique().all()
    with pytest.raises(ValidationError, match="format not recognized"):
        io.read_many([run / "server.log.txt"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValidationError, match=r"no benchmark file could be read \(no files\)"):
        io.read_many(empty)
    only_junk = tmp_path / "junk"
    only_junk.mkdir()
    (only_junk / "notes.md").write_text("# notes\n")
    with pytest.raises(ValidationError, match=r"skipped: notes.md"):
        io.read_many(only_junk)


def test_cli_calibrate_reads_a_results_folder(tmp_path):
    run = tmp_path / "results"
    run.mkdir()
    for name in ("llama_bench.json", "llama_bench.md"):
        (run / name).write_bytes((D / name).read_bytes())
    (run / "README.txt").write_text("runs of 2025-07-18\n")
    r = _cli("calibrate", str(run), "--model", "llama-3.1-8b", "--hardware", "rtx-4090", "--devices", "1",
             "-o", str(tmp_path / "p.csv"), "--json")
    assert r.returncode == 0, r.stderr
    # 3 JSON rows + 4 markdown rows (the pp+tg test skipped)
    assert json.loads(r.stdout)["measurements"] == 7

"""Tests of infer_econ.perf: hand-computed step times on a made-up chip, limits, errors, invariants."""

from __future__ import annotations

import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import calibrate, catalog, perf
from infer_econ.errors import UnknownIdError, ValidationError

# ------------------------------------------------------------------------------------------
# a small, made-up catalog set: every efficiency 1, no overheads, so the physics shows plainly

HW = pl.DataFrame({
    "id": ["test-gpu", "test-gpu-fast"], "vendor": ["nvidia", "nvidia"], "category": ["datacenter"] * 2,
    "family": ["testfam", "testfam"], "memory_gb": [100.0, 100.0], "memory_bandwidth_gb_per_s": [1000.0, 2000.0],
    "interconnect_gb_per_s": [400.0, 400.0], "fp32_tflops": [50.0, 50.0], "fp16_tflops": [500.0, 500.0],
    "bf16_tflops": [500.0, 500.0], "fp8_tflops": [1000.0, 1000.0], "int8_tops": [1000.0, 1000.0],
    "fp4_tflops": [None, None],
})
_LLM = dict(task="text-generation", embedding_params_b=0.0, n_layers=32, hidden_size=4096, n_heads=32, n_kv_heads=8,
            head_dim=128, intermediate_size=14336, max_context_tokens=131072, sliding_window_tokens=None,
            sliding_window_layer_fraction=None, kv_latent_dim=None, n_experts=None, experts_per_token=None,
            n_shared_experts=None, gflops_per_item=None)
MODELS = pl.DataFrame([
    {"id": "dense-8b", "total_params_b": 8.0, "active_params_b": 8.0, **_LLM},
    {"id": "moe-47b", "total_params_b": 46.7, "active_params_b": 12.9, **_LLM,
     **{"n_experts": 8, "experts_per_token": 2, "n_shared_experts": 0}},
    {"id": "huge", "total_params_b": 200.0, "active_params_b": 200.0, **_LLM},
    {"id": "vision", "total_params_b": 0.0256, "active_params_b": 0.0256,
     **{**{k: None for k in _LLM}, "task": "image-classification", "gflops_per_item": 4.1}},
], schema_overrides={"sliding_window_tokens": pl.Int64, "sliding_window_layer_fraction": pl.Float64,
                     "kv_latent_dim": pl.Int64, "n_experts": pl.Int64, "experts_per_token": pl.Int64,
                     "n_shared_experts": pl.Int64, "gflops_per_item": pl.Float64, "embedding_params_b": pl.Float64,
                     "n_layers": pl.Int64, "hidden_size": pl.Int64, "n_heads": pl.Int64, "n_kv_heads": pl.Int64,
                     "head_dim": pl.Int64, "intermediate_size": pl.Int64, "max_context_tokens": pl.Int64})
PREC = pl.DataFrame({
    "id": ["bf16", "fp8"], "bits_per_weight": [16.0, 8.0], "native_peak_column": ["bf16_tflops", "fp8_tflops"],
    "fallback_peak_column": ["fp16_tflops", "bf16_tflops"], "default_kv_precision": ["bf16", "fp8"],
    "kv_bytes_per_element": [2.0, 1.0],
})
ENG = pl.DataFrame({
    "id": ["eng", "static", "notp"], "precisions": ["bf16;fp8", "bf16;fp8", "bf16"],
    "hardware_vendors": ["nvidia", "nvidia", "nvidia"], "max_batch_size": [256, 256, 256],
    "memory_utilization": [0.9, 0.9, 0.9], "overhead_gb": [0.0, 0.0, 0.0], "tensor_parallel": [True, True, False],
    "continuous_batching": [True, False, True],
})
EFF = pl.DataFrame({
    "id": ["*/*"], "engine": ["*"], "hardware_family": ["*"], "prefill_compute_efficiency": [1.0],
    "decode_bandwidth_efficiency": [1.0], "decode_compute_efficiency": [1.0], "attention_efficiency": [1.0],
    "step_overhead_s": [0.0],
    "step_overhead_per_sequence_s": [0.0], "allreduce_latency_s": [0.0], "allreduce_bandwidth_efficiency": [1.0],
    "workspace_tokens": [1], "prefill_chunk_tokens": [1_000_000], "kv_memory_basis": ["total"],
    "peak_column": [None],
})
CATS = dict(models=MODELS, hardware=HW, precisions=PREC, engines=ENG, efficiency=EFF)


def scen(**kw) -> pl.DataFrame:
    base = dict(model="dense-8b", hardware="test-gpu", precision="bf16", engine="eng", n_devices=1,
                input_tokens=1000, output_tokens=2, batch_size=1)
    base.update(kw)
    return pl.DataFrame({k: [v] for k, v in base.items()})


def est(**kw) -> dict:
    return perf.estimate(scen(**kw), **CATS).row(0, named=True)


# ------------------------------------------------------------------------------------------
# hand-computed values


def test_decode_step_batch_1_is_weights_plus_kv_over_bandwidth():
    r = est()
    # weights 8e9 × 2 B = 16e9 B; KV 32 × 8 × 128 × 2 × 2 = 131,072 B/token over a mean context of
    # 1000 + 2/2 = 1001 tokens: 131,203,072 B; at 1000 GB/s: 16.131203072 ms (FLOPs take 33 µs)
    assert r["tpot_s"] == pytest.approx(16.131203072e-3, rel=1e-9)
    assert r["decode_tokens_per_s"] == pytest.approx(1 / 16.131203072e-3, rel=1e-9)
    assert r["decode_bound"] == "memory"
    assert r["weights_gb_per_device"] == pytest.approx(16.0)


def test_prefill_is_compute_bound_with_causal_attention():
    r = est()
    # 2 × 8e9 × 1000 + 4 × 32 × 4096 × 1000 × (1000 / 2) = 1.6e13 + 2.62144e11 FLOP at 500 TFLOP/s
    pf = (1.6e13 + 2.62144e11) / 500e12
    assert r["prefill_s"] == pytest.approx(pf, rel=1e-9)
    assert r["prefill_tokens_per_s"] == pytest.approx(1000 / pf, rel=1e-9)
    # ttft = one prompt's prefill + one decode step
    assert r["ttft_s"] == pytest.approx(pf + 16.131203072e-3, rel=1e-9)


def test_attention_efficiency_scales_only_the_attention_flops():
    eff = EFF.with_columns(attention_efficiency=pl.lit(0.5))
    r = perf.estimate(scen(), **{**CATS, "efficiency": eff}).row(0, named=True)
    # the 2.62144e11 attention FLOPs count twice, the 1.6e13 matmul FLOPs once
    assert r["prefill_s"] == pytest.approx((1.6e13 + 2 * 2.62144e11) / 500e12, rel=1e-9)
    # attention has its own share of the 16-bit peak, not tied to the matmuls' efficiency: halving the matmul
    # efficiency doubles the matmul time only: 1.6e13 / (500e12 × 0.5) + 2.62144e11 / (500e12 × 0.5)
    slow = eff.with_columns(prefill_compute_efficiency=pl.lit(0.5))
    r2 = perf.estimate(scen(), **{**CATS, "efficiency": slow}).row(0, named=True)
    assert r2["prefill_s"] == pytest.approx(1.6e13 / 250e12 + 2.62144e11 / 250e12, rel=1e-9)
    eff_a = slow.with_columns(attention_efficiency=pl.lit(1.0))  # attention at the full 16-bit peak
    r3 = perf.estimate(scen(), **{**CATS, "efficiency": eff_a}).row(0, named=True)
    assert r3["prefill_s"] == pytest.approx(1.6e13 / 250e12 + 2.62144e11 / 500e12, rel=1e-9)


def test_output_throughput_continuous_vs_static_batching():
    pf = (1.6e13 + 2.62144e11) / 500e12
    tpot = 16.131203072e-3
    # static batches: 1 × 2 tokens / (prefill + 2 × tpot)
    assert est(engine="static")["output_tokens_per_s"] == pytest.approx(2 / (pf + 2 * tpot), rel=1e-9)
    # continuous batching: each step carries half a prompt (B × I / O = 500 tokens) on top of the decode. The
    # matmul kernels: their 1.6e10 FLOPs / 500e12 + pf / 2 beat the 16 ms weight read; the attention kernels: the
    # 131,203,072 B of KV cache at 1000 GB/s beat their 5.248e8 FLOPs (decode_step_s: one roofline per kernel)
    step = max(16e-3, 1.6e10 / 500e12 + pf / 2) + max(131_203_072 / 1e12, 5.248e8 / 500e12)
    assert est()["output_tokens_per_s"] == pytest.approx(1 / step, rel=1e-9)
    # the matmuls' and the attention's times add up (each kernel under its own roof). Batch 256: 256 × 1.6e10 /
    # 500e12 = 8.192 ms of matmuls under the 16 ms weight read; 256 × 131,203,072 B = 33.588 GB of KV cache:
    # 33.588 ms, against its 256 × 5.248e8 / 500e12 = 0.27 ms of FLOPs
    big = est(batch_size=256)
    assert big["tpot_s"] == pytest.approx(16e-3 + 256 * 131_203_072 / 1e12, rel=1e-9)
    assert big["decode_bound"] == "memory"


def test_tensor_parallel_halves_weights_and_adds_allreduce():
    r = est(n_devices=2)
    assert r["tensor_parallel_used"] == 2 and r["pipeline_parallel_used"] == 1 and r["replicas"] == 1
    assert r["weights_gb_per_device"] == pytest.approx(8.0)
    # read (8e9 + 1001 × 65,536) / 1e12 = 8.065601536 ms; all-reduce 64 × (2 × 1/2 × 8192 B) / 200 GB/s
    assert r["tpot_s"] == pytest.approx(8.065601536e-3 + 64 * 8192 / 200e9, rel=1e-9)


def test_data_parallel_replicas_multiply_throughput():
    one_ = est(batch_size=8)
    two = est(batch_size=8, n_devices=2, tensor_parallel=1)
    assert two["replicas"] == 2
    assert two["output_tokens_per_s"] == pytest.approx(2 * one_["output_tokens_per_s"])
    assert two["tpot_s"] == pytest.approx(one_["tpot_s"])


def test_pipeline_parallel_batch_1_walks_through_every_stage():
    # layer split (engine without tensor parallelism): each stage holds half the layers, a token visits both
    r = est(engine="notp", n_devices=2)
    assert (r["tensor_parallel_used"], r["pipeline_parallel_used"]) == (1, 2)
    assert r["weights_gb_per_device"] == pytest.approx(8.0)
    assert r["tpot_s"] == pytest.approx(16.131203072e-3, rel=1e-9)  # no speed-up at batch 1


def test_moe_reads_only_touched_experts():
    r1 = est(model="moe-47b", precision="fp8", batch_size=1)
    # fp8: 1 byte per weight and per KV element; batch 1 reads the active 12.9e9 params + 65,536 B × 1001
    kv = 65536 * 1001
    assert r1["tpot_s"] == pytest.approx((12.9e9 + kv) / 1e12, rel=1e-9)
    assert r1["weights_gb_per_device"] == pytest.approx(46.7)  # every expert resident
    # batch 4: one expert = (46.7 − 12.9) / (8 − 2) = 5.6333e9; touched 8 × (1 − (6/8)^4) = 5.46875 experts
    r4 = est(model="moe-47b", precision="fp8", batch_size=4)
    s = (46.7 - 12.9) / 6
    params = 12.9 - 2 * s + 8 * (1 - 0.75**4) * s
    assert r4["tpot_s"] == pytest.approx((params * 1e9 + 4 * kv) / 1e12, rel=1e-9)


def test_max_batch_engine_cap_and_kv_limit():
    r = est(batch_size=None)
    # budget 100 × 0.9 − 16 − workspace ≈ 74 GB; a sequence holds 1001 tokens × 131,072 B → 563 fit; cap 256
    assert (r["limit"], r["batch_size_used"], r["fits"]) == ("engine_cap", 256, True)
    r = est(batch_size=None, input_tokens=20000, output_tokens=1000)
    # 20,999 tokens × 131,072 B = 2.752e9 B per sequence → floor(73.99991 / 2.7524) = 26
    assert (r["limit"], r["batch_size_used"]) == ("kv_cache", 26)
    assert r["kv_cache_gb_per_device"] <= r["kv_budget_gb_per_device"]


def test_non_fitting_rows_have_null_speeds():
    for kw, limit in [
        (dict(model="huge"), "weights"),
        (dict(batch_size=100_000), "kv_cache"),
        (dict(input_tokens=200_000), "context"),
        (dict(engine="notp", precision="fp8"), "unsupported"),
        (dict(engine="notp", n_devices=2, tensor_parallel=2), "unsupported"),
    ]:
        r = est(**kw)
        assert r["fits"] is False and r["limit"] == limit, kw
        assert r["tpot_s"] is None and r["output_tokens_per_s"] is None and r["batch_size_used"] is None


def test_non_llm_items_per_s():
    r = est(model="vision", batch_size=4)
    # max(4 × 4.1e9 / 500e12, 0.0256e9 × 2 B / 1000 GB/s) = max(32.8 µs, 51.2 µs) → 4 / 51.2 µs
    assert r["items_per_s"] == pytest.approx(4 / 51.2e-6)
    assert r["tpot_s"] is None and r["output_tokens_per_s"] is None
    assert est()["items_per_s"] is None


def test_fp8_kv_halves_kv_cache():
    a = est(batch_size=8)
    b = perf.estimate(scen(batch_size=8).with_columns(kv_precision=pl.lit("fp8")), **CATS).row(0, named=True)
    assert b["kv_cache_gb_per_device"] == pytest.approx(a["kv_cache_gb_per_device"] / 2)


def test_engine_kv_default_before_precision_default():
    # the engine's own default for fp8 weights (kv_precision_defaults "fp8=fp8") halves the KV cache of the
    # precision's bf16 default: dense-8b holds 32 layers × 8 KV heads × 128 × 2 (K and V) × bytes per token,
    # 131,072 B at 2 bytes and 65,536 B at 1; 8 sequences × (1000 + 2 − 1) tokens
    prec = PREC.with_columns(default_kv_precision=pl.Series(["bf16", "bf16"]),
                             kv_bytes_per_element=pl.Series([2.0, 1.0]))
    eng = ENG.with_columns(kv_precision_defaults=pl.Series(["fp8=fp8", None, None], dtype=pl.String))
    cats = {**CATS, "precisions": prec, "engines": eng}
    frame = pl.concat([scen(batch_size=8, precision="fp8", engine=e) for e in ("eng", "static")])
    out = perf.estimate(frame, **cats)
    assert out["kv_cache_gb_per_device"].to_list() == pytest.approx([8 * 1001 * 65_536 / 1e9,
                                                                    8 * 1001 * 131_072 / 1e9])
    # a kv_precision in the scenario wins over either default; bf16 weights keep the precision's default
    given = perf.estimate(frame.with_columns(kv_precision=pl.lit("bf16")), **cats)
    assert given["kv_cache_gb_per_device"].to_list() == pytest.approx([8 * 1001 * 131_072 / 1e9] * 2)
    bf16 = perf.estimate(scen(batch_size=8, engine="eng"), **cats)
    assert bf16["kv_cache_gb_per_device"][0] == pytest.approx(8 * 1001 * 131_072 / 1e9)
    # an engines frame without the column (a user's own) keeps the precision's default
    plain = perf.estimate(frame, **{**cats, "engines": ENG})
    assert plain["kv_cache_gb_per_device"].to_list() == pytest.approx([8 * 1001 * 131_072 / 1e9] * 2)


def test_engine_kv_default_bad_pair_is_refused():
    eng = ENG.with_columns(kv_precision_defaults=pl.Series(["fp8", None, None], dtype=pl.String))
    with pytest.raises(ValidationError, match="kv_precision_defaults of 'eng': 'fp8' is not a weights=kv pair"):
        perf.estimate(scen(), **{**CATS, "engines": eng})
    eng = ENG.with_columns(kv_precision_defaults=pl.Series(["fp8=int3", None, None], dtype=pl.String))
    with pytest.raises(UnknownIdError, match="'int3'"):
        perf.estimate(scen(), **{**CATS, "engines": eng})


def test_scenario_continuous_batching_overrides_the_engine():
    # a static batch (the whole batch prefilled, then decoded to the end) on an engine that batches continuously:
    # B × O / (prefill_s + O × tpot_s), the engine "static"'s formula; null keeps the engine's own
    frame = pl.concat([scen(batch_size=8, output_tokens=100, engine=e) for e in ("eng", "static")])
    default = perf.estimate(frame, **CATS)
    flags = pl.Series("continuous_batching", [False, None], dtype=pl.Boolean)
    given = perf.estimate(frame.with_columns(flags), **CATS)
    r = given.row(0, named=True)
    assert r["output_tokens_per_s"] == pytest.approx(8 * 100 / (r["prefill_s"] + 100 * r["tpot_s"]))
    assert default["output_tokens_per_s"][0] > r["output_tokens_per_s"]  # continuous: prefill overlaps decoding
    assert given["output_tokens_per_s"][1] == pytest.approx(default["output_tokens_per_s"][1])
    assert_frame_equal(given.drop("continuous_batching"), default.with_columns(
        output_tokens_per_s=pl.Series([r["output_tokens_per_s"], default["output_tokens_per_s"][1]])))
    # true on the static engine: the continuous formula, as the engine "eng" gets it
    both = perf.estimate(frame.with_columns(continuous_batching=pl.lit(True)), **CATS)
    assert both["output_tokens_per_s"][1] == pytest.approx(default["output_tokens_per_s"][0])
    with pytest.raises(ValidationError, match="'continuous_batching' must be boolean"):
        perf.estimate(frame.with_columns(continuous_batching=pl.lit("no")), **CATS)


def test_unfused_attention_moves_the_score_matrix_through_memory():
    # dense-8b: 32 layers × 32 query heads × 16 B (fp32 scores written, read and rewritten by the softmax, read by
    # the product with V) = 16,384 B per (query token × cached token); test-gpu reads 1,000 GB/s at efficiency 1
    assert perf.NON_FLASH_SCORE_BYTES == 16.0
    frame = pl.concat([scen(input_tokens=1000, output_tokens=2)] * 3)
    flags = pl.Series("flash_attention", [True, False, None], dtype=pl.Boolean)
    out = perf.estimate(frame.with_columns(flags), **CATS)
    fused, unfused, null = out.rows(named=True)
    # prefill: the 1,000 prompt tokens are one chunk (prefill_chunk_tokens 1e6), scored against the whole chunk, the
    # masked half too: a mean of 500 (start + new / 2, the causal FLOPs' count) + 1000 / 2 = 1,000 cached tokens
    # → 1000 × 1000 × 16,384 B = 16.384 GB
    assert unfused["prefill_s"] - fused["prefill_s"] == pytest.approx(1000 * 1000 * 16384 / 1e12)
    # in chunks of 256 tokens: 1000 × (500 + 128) × 16,384 B
    chunked = perf.estimate(frame.with_columns(flags), **{**CATS, "efficiency": EFF.with_columns(
        prefill_chunk_tokens=pl.lit(256))}).rows(named=True)
    assert chunked[1]["prefill_s"] - chunked[0]["prefill_s"] == pytest.approx(1000 * 628 * 16384 / 1e12)
    # decode: each step reads the scores of the batch's one sequence over its mean context (start + new / 2 =
    # 1000 + 2 / 2 = 1001 cached tokens), beside the KV-cache reads of a memory-bound attention kernel
    assert unfused["tpot_s"] - fused["tpot_s"] == pytest.approx(1001 * 16384 / 1e12)
    # null counts as fused, and a frame without the column is the fused estimate to the last bit
    without = perf.estimate(frame.head(1), **CATS)
    assert {**null, "flash_attention": True} == fused
    assert_frame_equal(out.head(1).drop("flash_attention"), without)
    with pytest.raises(ValidationError, match="'flash_attention' must be boolean"):
        perf.estimate(frame.with_columns(flash_attention=pl.lit("off")), **CATS)


def test_unfused_score_traffic_has_its_own_formula():
    df = pl.DataFrame({"n_layers": [80], "n_heads": [64], "flash_attention": [False]})
    assert df.select(perf.unfused_score_bytes()).item() == 16 * 80 * 64  # 81,920 B per token pair
    assert df.with_columns(flash_attention=pl.lit(None, pl.Boolean)).select(perf.unfused_score_bytes()).item() == 0.0


def test_a_decode_kernel_that_is_not_gqa_aware_reads_the_cache_once_per_query_head():
    # dense-8b: 32 query heads over 8 KV heads, so an ungrouped kernel reads each KV head 4 times; the bf16 cache is
    # 32 layers × 8 × 128 × 2 × 2 B = 131,072 B per token, each step over a mean of 1,001 cached tokens, read at
    # 1,000 GB/s (efficiency 1): 3 extra reads = 3 × 1001 × 131,072 B / 1e12 B/s
    frame = pl.concat([scen(input_tokens=1000, output_tokens=2)] * 3)
    flags = pl.Series("grouped_kv_attention", [True, False, None], dtype=pl.Boolean)
    grouped, ungrouped, null = perf.estimate(frame.with_columns(flags), **CATS).rows(named=True)
    assert ungrouped["tpot_s"] - grouped["tpot_s"] == pytest.approx(3 * 1001 * 131072 / 1e12)
    assert ungrouped["prefill_s"] == grouped["prefill_s"]  # prefill attention is compute-bound FMHA: unchanged
    assert ungrouped["kv_cache_gb_per_device"] == grouped["kv_cache_gb_per_device"]  # the cache itself is the same
    assert {**null, "grouped_kv_attention": True} == grouped
    assert_frame_equal(perf.estimate(frame.head(1), **CATS), perf.estimate(
        frame.head(1).with_columns(flags.head(1)), **CATS).drop("grouped_kv_attention"))
    # a model without grouped heads (32 KV heads) reads its cache once either way
    mha = MODELS.with_columns(n_kv_heads=pl.lit(32, pl.Int64))
    m = perf.estimate(frame.head(2).with_columns(flags.head(2)), **{**CATS, "models": mha})["tpot_s"].to_list()
    assert m[0] == m[1]
    with pytest.raises(ValidationError, match="'grouped_kv_attention' must be boolean"):
        perf.estimate(frame.with_columns(grouped_kv_attention=pl.lit(1)), **CATS)
    # tensor parallel 16 over 8 KV heads: each device keeps one KV head (16,384 B per token: 32 layers × 1 × 128 × 2
    # × 2 B) and runs 32 / 16 = 2 query heads on it, so an ungrouped kernel reads it twice, not 4 times
    tp16 = pl.concat([scen(input_tokens=1000, output_tokens=2, n_devices=16)] * 2).with_columns(flags.head(2))
    g16, u16 = perf.estimate(tp16, **CATS).rows(named=True)
    assert u16["tpot_s"] - g16["tpot_s"] == pytest.approx(1 * 1001 * 16384 / 1e12)


def test_kv_reads_per_step_formula():
    df = pl.DataFrame({"n_heads": [64, 128, 64, 40, 64, 64], "n_kv_heads": [8, 8, 8, 40, 4, 8],
                       "kv_latent_dim": [None, 512, None, None, None, None],
                       "grouped_kv_attention": [False, False, True, False, False, False],
                       "tensor_parallel": [1, 1, 1, 1, 8, 4]})
    # Llama-2-70B: 64 / 8; an MLA latent shared by every head (even with fewer KV heads listed); grouped; MHA
    # (Llama-2-13B); 64 heads over 4 KV heads at TP 8: 8 query heads per device on its one (replicated) KV head;
    # Llama-2-70B at TP 4: 16 query heads over 2 KV heads per device
    assert df.select(perf.kv_reads_per_step()).to_series().to_list() == [8.0, 1.0, 1.0, 1.0, 8.0, 8.0]


def test_measurements_carry_their_grouped_kv_attention_setting():
    # the TensorRT-LLM v0.5 holdout rows (before XQA) say false; no calibration row does
    hold = calibrate.normalize_measurements(catalog.load("holdout_performance"))
    launch = hold.filter(pl.col("id").str.starts_with("ho-h200launch"))
    assert launch.height == 7 and launch["grouped_kv_attention"].to_list() == [False] * 7
    assert hold.filter(pl.col("id").str.starts_with("ho-trtfalconblog"))["grouped_kv_attention"].null_count() == 3
    assert calibrate.measurements()["grouped_kv_attention"].drop_nulls().len() == 0
    # Llama-2-70B at batch 512 on 2 × H200, 128 → 2,048 tokens: the published 3,308 tok/s is within 10 % of the
    # ungrouped estimate and less than half of the grouped one
    row = hold.filter(id="ho-h200launch-05")
    ungrouped = calibrate.predict(row)["predicted"].item()
    grouped = calibrate.predict(row.with_columns(grouped_kv_attention=pl.lit(None, pl.Boolean)))["predicted"].item()
    assert abs(ungrouped / 3308 - 1) < 0.10 and grouped > 2 * 3308


def test_measurements_carry_their_flash_attention_setting():
    # llama-bench without -fa (its default was 0 until 2025): XiongjieDai's May 2024 tables; ggml-org's DGX Spark
    # tables state fa 1. calibrate.predict passes the flag; other text is refused, naming the measurement
    from infer_econ import calibrate

    m = catalog.load("measured_performance")
    xd = m.filter(pl.col("source") == "xiongjiedai-gpu-benchmarks-llm")
    assert xd.height > 600 and xd["flash_attention"].to_list() == [False] * xd.height
    spark = m.filter(pl.col("source") == "llama-cpp-dgx-spark-bench")
    assert spark["flash_attention"].to_list() == [True] * spark.height
    row = xd.filter((pl.col("kind") == "prefill_tps_bs1") & (pl.col("input_tokens") == 8192)).head(1)
    off = calibrate.predict(row).row(0, named=True)
    on = calibrate.predict(row.with_columns(flash_attention=pl.lit("true"))).row(0, named=True)
    assert off["predicted"] < on["predicted"]
    with pytest.raises(ValidationError, match="flash_attention of .* is 'maybe'"):
        calibrate.predict(row.with_columns(flash_attention=pl.lit("maybe")))


def test_static_batch_measurements_are_predicted_as_static():
    # the holdout's TensorRT-LLM v0.5-0.7 tables ran static batches (gptSessionBenchmark): calibrate.predict passes
    # the measurement's continuous_batching to the estimator, from CSV text or booleans; other text is refused
    from infer_econ import calibrate

    h = catalog.load("holdout_performance").filter(pl.col("id") == "ho-trt06-007")
    assert h["continuous_batching"].to_list() == [False]
    static = calibrate.predict(h).row(0, named=True)
    cont = calibrate.predict(h.with_columns(continuous_batching=pl.lit(None, pl.Boolean))).row(0, named=True)
    text = calibrate.predict(h.with_columns(continuous_batching=pl.lit("false"))).row(0, named=True)
    e = perf.estimate(calibrate._scenarios(calibrate.normalize_measurements(h)).drop("id", "kind", "measured"))
    b, o = 80, 128
    assert static["predicted"] == pytest.approx(b * o / (e["prefill_s"][0] + o * e["tpot_s"][0]))
    assert text["predicted"] == pytest.approx(static["predicted"]) and cont["predicted"] > static["predicted"]
    with pytest.raises(ValidationError, match="continuous_batching of 'ho-trt06-007' is 'sometimes'"):
        calibrate.predict(h.with_columns(continuous_batching=pl.lit("sometimes")))


def test_shipped_tensorrt_fp8_uses_fp8_kv_by_default():
    # Llama-2-70B FP8 on one H200 at batch 192 × (128 + 2048) tokens, as the TensorRT-LLM Falcon-180B blog ran it:
    # 80 layers × 8 KV heads × 128 × 2 = 163,840 B per token at FP8 → 192 × 2175 × 163,840 B = 68.4 GB, which fits
    # beside the 70 GB of weights; at 16 bits (vLLM's default, the model dtype) it is 136.8 GB and does not
    base = dict(model="llama-2-70b", hardware="h200", precision="fp8", n_devices=1, batch_size=192,
                input_tokens=128, output_tokens=2048)
    frame = pl.DataFrame([{**base, "engine": "tensorrt-llm"}, {**base, "engine": "vllm"}])
    out = perf.estimate(frame)
    assert out["kv_cache_gb_per_device"][0] == pytest.approx(192 * 2175 * 163_840 / 1e9)
    assert out["fits"].to_list() == [True, False] and out["limit"][1] == "kv_cache"


# ------------------------------------------------------------------------------------------
# shape of the result


def test_shipped_catalogs_llama_8b_h100():
    out = perf.estimate(pl.DataFrame({"model": ["llama-3.1-8b"] * 2, "hardware": ["h100-sxm"] * 2,
                                      "precision": ["bf16"] * 2, "engine": ["vllm"] * 2, "n_devices": [1, 1],
                                      "input_tokens": [1000, 1000], "output_tokens": [200, 200],
                                      "batch_size": [1, None], "note": ["bs1", "max"]}))
    bs1, full = out.row(0, named=True), out.row(1, named=True)
    assert bs1["note"] == "bs1" and bs1["fits"] and bs1["weights_gb_per_device"] == pytest.approx(16.06)
    assert set(perf.OUTPUT_COLUMNS) <= set(out.columns)
    # plausible: 16 GB streamed at 3.35 TB/s bounds batch-1 decode near 200 tokens/s; a full batch does thousands
    assert 100 < 1 / bs1["tpot_s"] < 208 and full["output_tokens_per_s"] > 3000
    assert full["batch_size_used"] == 256 and full["limit"] == "engine_cap"


def test_lazy_in_lazy_out_and_same_values():
    frame = pl.concat([scen(batch_size=b) for b in (1, 4, 16)])
    lazy = perf.estimate(frame.lazy(), **CATS)
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().equals(perf.estimate(frame, **CATS))


def test_order_kept_and_one_call_equals_many():
    frame = pl.concat([scen(batch_size=b, input_tokens=i) for b in (1, 3, 9, None) for i in (10, 3000)],
                      how="vertical_relaxed")
    whole = perf.estimate(frame, **CATS)
    parts = pl.concat([perf.estimate(frame[i:i + 1], **CATS) for i in range(frame.height)])
    assert_frame_equal(whole, parts, rel_tol=1e-12)  # the last bit may differ with evaluation order
    shuffled = frame.with_row_index("i").sample(fraction=1.0, shuffle=True, seed=3)
    again = perf.estimate(shuffled, **CATS).sort("i").drop("i")
    assert_frame_equal(again, whole, rel_tol=1e-12)


small_rows = st.fixed_dictionaries({
    "model": st.sampled_from(["dense-8b", "moe-47b", "huge", "vision"]), "hardware": st.sampled_from(["test-gpu",
                                                                                                    "test-gpu-fast"]),
    "precision": st.sampled_from(["bf16", "fp8"]), "engine": st.sampled_from(["eng", "static", "notp"]),
    "n_devices": st.sampled_from([1, 2, 4]), "input_tokens": st.integers(1, 50_000),
    "output_tokens": st.integers(1, 5_000), "batch_size": st.one_of(st.none(), st.integers(1, 300)),
    "context_depth": st.integers(0, 10_000),
})


@settings(max_examples=30, deadline=None)
@given(st.lists(small_rows, min_size=2, max_size=12), st.randoms(use_true_random=False))
def test_rows_are_independent_of_order_and_of_each_other(rs, rnd):
    frame = pl.DataFrame(rs, schema_overrides={"batch_size": pl.Int64})
    whole = perf.estimate(frame, **CATS)
    order = list(range(frame.height))
    rnd.shuffle(order)
    shuffled = perf.estimate(frame[order], **CATS)
    assert_frame_equal(shuffled, whole[order], rel_tol=1e-12)
    singles = pl.concat([perf.estimate(frame[i:i + 1], **CATS) for i in range(frame.height)])
    assert_frame_equal(singles, whole, rel_tol=1e-12)


# ------------------------------------------------------------------------------------------
# errors


def test_missing_column():
    with pytest.raises(ValidationError, match="output_tokens"):
        perf.estimate(scen().drop("output_tokens"), **CATS)


def test_unknown_ids_name_the_value_and_list_the_valid_ones():
    with pytest.raises(UnknownIdError, match="'h1000'.*test-gpu"):
        perf.estimate(scen(hardware="h1000"), **CATS)
    with pytest.raises(UnknownIdError, match="'llama-9'.*dense-8b"):
        perf.estimate(scen(model="llama-9"), **CATS)
    with pytest.raises(UnknownIdError, match="'int3'"):
        perf.estimate(scen().with_columns(kv_precision=pl.lit("int3")), **CATS)
    with pytest.raises(UnknownIdError, match="'nope'"):
        perf.estimate(scen(engine="nope").lazy(), **CATS)


@pytest.mark.parametrize("column,value", [("n_devices", 0), ("input_tokens", -5), ("batch_size", 0),
                                          ("output_tokens", float("nan")), ("n_devices", None),
                                          ("batch_size", 2.5), ("context_depth", -1)])
def test_bad_numbers_name_the_column(column, value):
    with pytest.raises(ValidationError, match=column):
        perf.estimate(scen(**{column: value}), **CATS)
    with pytest.raises(ValidationError, match=column):
        perf.estimate(scen(**{column: value}).lazy(), **CATS)


def test_devices_not_a_multiple_of_parallelism():
    with pytest.raises(ValidationError, match="not a multiple"):
        perf.estimate(scen(n_devices=3, tensor_parallel=2), **CATS)


def test_not_a_frame():
    with pytest.raises(ValidationError, match="DataFrame"):
        perf.estimate({"model": ["x"]})


# ------------------------------------------------------------------------------------------
# invariants on the shipped catalogs


def _shipped_frame(draw_rows):
    return pl.DataFrame(draw_rows)


llm_ids = [m for m, t in catalog.load("models").select("id", "task").iter_rows() if t == "text-generation"]
hw_ids = [h for h in catalog.load("hardware")["id"].to_list()]
rows = st.fixed_dictionaries({
    "model": st.sampled_from(llm_ids), "hardware": st.sampled_from(hw_ids),
    "precision": st.sampled_from(["bf16", "fp8", "int4", "fp4"]), "engine": st.sampled_from(["vllm", "tensorrt-llm"]),
    "n_devices": st.sampled_from([1, 2, 4, 8]), "input_tokens": st.integers(1, 20000),
    "output_tokens": st.integers(1, 4000), "batch_size": st.one_of(st.none(), st.integers(1, 512)),
})


@settings(max_examples=25, deadline=None)
@given(st.lists(rows, min_size=1, max_size=20))
def test_more_bandwidth_is_never_slower(rs):
    frame = pl.DataFrame(rs, schema_overrides={"batch_size": pl.Int64})
    hw = catalog.load("hardware")
    fast = hw.with_columns(pl.col("memory_bandwidth_gb_per_s") * 1.5)
    a = perf.estimate(frame, hardware=hw)
    b = perf.estimate(frame, hardware=fast)
    both = a.select("fits", "tpot_s", "prefill_s", "output_tokens_per_s").with_columns(
        b.select(pl.col("tpot_s").alias("tpot_b"), pl.col("prefill_s").alias("prefill_b"),
                 pl.col("output_tokens_per_s").alias("out_b"))
    ).filter("fits")
    assert (both["tpot_b"] <= both["tpot_s"] * (1 + 1e-12)).all()
    assert (both["prefill_b"] <= both["prefill_s"] * (1 + 1e-12)).all()
    assert (both["out_b"] >= both["output_tokens_per_s"] * (1 - 1e-12)).all()


@settings(max_examples=25, deadline=None)
@given(rows, st.integers(1, 64))
def test_larger_batch_never_lowers_decode_throughput_until_memory_binds(r, extra):
    r = {**r, "batch_size": r["batch_size"] or 1}
    frame = pl.DataFrame([r, {**r, "batch_size": r["batch_size"] + extra}])
    out = perf.estimate(frame)
    if out["fits"].all():
        lo, hi = out["decode_tokens_per_s"].to_list()
        assert hi >= lo * (1 - 1e-12)


@settings(max_examples=25, deadline=None)
@given(rows)
def test_fp8_weights_never_exceed_bf16(r):
    frame = pl.DataFrame([{**r, "precision": "bf16"}, {**r, "precision": "fp8"}], schema_overrides={"batch_size": pl.Int64})
    bf16, fp8 = perf.estimate(frame)["weights_gb_per_device"].to_list()
    assert fp8 <= bf16


def test_moe_experts_touched_limits():
    df = pl.DataFrame({"n_experts": [128] * 3, "experts_per_token": [8] * 3, "batch_size": [1, 4, 100_000]})
    got = df.select(perf.moe_experts_touched()).to_series().to_list()
    # B = 1: exactly k; B = 4: 128 × (1 − (120/128)^4) = 29.47; B → ∞: E
    assert got[0] == pytest.approx(8.0)
    assert got[1] == pytest.approx(128 * (1 - (120 / 128) ** 4))
    assert got[2] == pytest.approx(128.0)


def test_peak_falls_back_where_no_native_unit():
    t = perf.peak_tflops(catalog.load("hardware"), catalog.load("precisions"))
    a100 = t.filter(hardware="a100-sxm-80gb")
    assert a100.filter(precision="fp8")["peak_tflops"].item() == 312.0  # no FP8 units: BF16/FP16 peak
    assert a100.filter(precision="fp8")["native"].item() is False
    assert t.filter(hardware="h100-sxm", precision="fp8")["peak_tflops"].item() > 1900


def test_resolve_efficiency_prefers_specific_rows():
    eff = pl.concat([EFF, EFF.with_columns(id=pl.lit("eng/testfam"), engine=pl.lit("eng"),
                                           hardware_family=pl.lit("testfam"),
                                           prefill_compute_efficiency=pl.lit(0.25))])
    res = perf.resolve_efficiency(eff, ENG, HW)
    got = dict(res.filter(hardware="test-gpu").select("engine", "prefill_compute_efficiency").iter_rows())
    assert got == {"eng": 0.25, "static": 1.0, "notp": 1.0}
    assert math.isclose(est(batch_size=1)["prefill_s"], (1.6e13 + 2.62144e11) / 500e12)


def test_efficiency_basis_names_the_row_and_whether_it_was_fitted():
    # a row for (eng, testfam) only: eng on test-gpu (family testfam) is fitted; every other pair falls back
    eff = pl.concat([EFF, EFF.with_columns(id=pl.lit("eng/testfam"), engine=pl.lit("eng"),
                                           hardware_family=pl.lit("testfam"))])
    hw = HW.with_columns(family=pl.Series(["testfam", "otherfam"]))
    s = pl.DataFrame({"engine": ["eng", "eng", "static"], "hardware": ["test-gpu", "test-gpu-fast", "test-gpu"],
                      "keep": [1, 2, 3]})
    out = perf.efficiency_basis(s, efficiency=eff, hardware=hw, engines=ENG)
    assert out.select("keep", "efficiency_id", "efficiency_fitted").rows() == [
        (1, "eng/testfam", True), (2, "*/*", False), (3, "*/*", False)]
    assert out["efficiency_basis"][1] == "the default row (no row for this engine or hardware family)"
    # the shipped rows: TensorRT-LLM on Hopper is fitted; SGLang on a Xeon takes the CPU category row, vLLM on
    # an H100 its engine-wide row, MLX on an M3 Max the Apple family row (MLX has no calibration rows)
    ship = perf.efficiency_basis(pl.DataFrame({
        "engine": ["tensorrt-llm", "sglang", "vllm", "mlx", "llama.cpp"],
        "hardware": ["h100-sxm", "xeon-6980p", "h100-sxm", "apple-m3-max-40c", "xeon-6980p"]}))
    assert ship.select("efficiency_id", "efficiency_fitted").rows() == [
        ("tensorrt-llm/hopper", True), ("*/category:cpu", False), ("vllm/*", False), ("*/apple-m", False),
        ("llama.cpp/category:cpu", False)]
    # the id it names is the most specific row resolve_efficiency found for the pair (here also the prefill's)
    res = perf.resolve_efficiency(catalog.load("efficiency"), catalog.load("engines"), catalog.load("hardware"))
    for e, h, i in ship.select("engine", "hardware", "efficiency_id").iter_rows():
        assert res.filter(engine=e, hardware=h).select("efficiency_row_id", "efficiency_id").row(0) == (i, i)
    # llama.cpp on a V100 (no int8 figure): its own engine-wide row, whose compute shares are of the int8 peak, so
    # those come from the default row, and the sentence says so
    v100 = perf.efficiency_basis(pl.DataFrame({"engine": ["llama.cpp"], "hardware": ["v100"]})).row(0, named=True)
    assert (v100["efficiency_id"], v100["efficiency_fitted"]) == ("llama.cpp/*", False)
    assert v100["efficiency_basis"].endswith("; its compute shares from row */* (the chip has no figure for the peak "
                                             "the engine's shares are of)")
    # the caller's columns survive, even ones named like the join keys; a second call replaces its own columns
    odd = pl.DataFrame({"engine": ["vllm"], "hardware": ["h100-sxm"], "engine__basis_key": [7]})
    twice = perf.efficiency_basis(perf.efficiency_basis(odd))
    assert twice.columns == ["engine", "hardware", "engine__basis_key", "efficiency_id", "efficiency_fitted",
                             "efficiency_basis"] and twice["engine__basis_key"].item() == 7
    with pytest.raises(ValidationError, match="hardware_family"):
        perf.efficiency_basis(odd, efficiency=catalog.load("efficiency").drop("hardware_family"))
    with pytest.raises(UnknownIdError, match="h1000"):
        perf.efficiency_basis(pl.DataFrame({"engine": ["vllm"], "hardware": ["h1000"]}))
    with pytest.raises(UnknownIdError, match="tgi2"):
        perf.efficiency_basis(pl.DataFrame({"engine": ["tgi2"], "hardware": ["h100-sxm"]}))


def test_tensor_parallel_without_a_device_link_is_unsupported():
    # a chip whose spec row has no device-to-device link (interconnect 0 GB/s, like a CPU socket): the
    # all-reduce has nothing to run on, so TP > 1 is refused rather than given an infinite step time
    hw = pl.concat([HW, HW.head(1).with_columns(id=pl.lit("test-cpu"), interconnect_gb_per_s=pl.lit(0.0))])
    out = perf.estimate(pl.concat([scen(hardware="test-cpu", n_devices=2, tensor_parallel=2),
                                   scen(hardware="test-cpu", n_devices=2, tensor_parallel=1)]),
                        **{**CATS, "hardware": hw})
    assert out.select("fits", "limit").rows() == [(False, "unsupported"), (True, None)]
    assert out["decode_tokens_per_s"][0] is None and out["decode_tokens_per_s"][1] > 0
    # the shipped dual-socket Xeon row, SGLang TP2 (the holdout rows that came back fits = true at 0 tok/s)
    x = perf.estimate(pl.DataFrame({"model": ["llama-3.3-70b"], "hardware": ["xeon-6980p"], "precision": ["int8"],
                                    "engine": ["sglang"], "n_devices": [2], "input_tokens": [1024],
                                    "output_tokens": [1024], "batch_size": [1]}))
    assert x.select("fits", "limit").row(0) == (False, "unsupported")


mixed_rows = st.fixed_dictionaries({
    "model": st.sampled_from(catalog.load("models")["id"].to_list()), "hardware": st.sampled_from(hw_ids),
    "precision": st.sampled_from(catalog.load("precisions")["id"].to_list()),
    "engine": st.sampled_from(catalog.load("engines")["id"].to_list()),
    "n_devices": st.sampled_from([1, 2, 4, 8]), "input_tokens": st.integers(1, 40000),
    "output_tokens": st.integers(1, 8000), "batch_size": st.one_of(st.none(), st.integers(1, 1024)),
    "context_depth": st.integers(0, 20000),
})


@settings(max_examples=40, deadline=None)
@given(st.lists(mixed_rows, min_size=1, max_size=40))
def test_a_fitting_row_has_finite_positive_speeds(rs):
    # every catalog combination: fits ⇒ every speed and time finite and > 0 (never 0 tok/s or an infinite step)
    out = perf.estimate(pl.DataFrame(rs, schema_overrides={"batch_size": pl.Int64})).filter("fits")
    llm = out.filter(pl.col("items_per_s").is_null())
    for col in ("prefill_s", "ttft_s", "tpot_s", "prefill_tokens_per_s", "decode_tokens_per_s", "output_tokens_per_s"):
        v = llm[col]
        assert v.null_count() == 0 and v.is_finite().all() and (v > 0).all(), (col, llm.filter(
            v.is_null() | ~v.is_finite() | (v <= 0)).select("model", "hardware", "precision", "engine", "n_devices").rows())
    items = out.filter(pl.col("prefill_s").is_null())["items_per_s"]
    assert items.null_count() == 0 and items.is_finite().all() and (items > 0).all()


def test_engine_compute_efficiency_applies_only_where_its_peak_column_exists():
    # (eng, *) is fitted against int8 peaks (peak_column int8_tops): a chip without an int8 figure runs the
    # precision's own peak, so its compute efficiencies come from (*, *), its bandwidth share still from (eng, *)
    base = EFF.with_columns(pl.col("peak_column").cast(pl.String))
    eff = pl.concat([base, base.with_columns(id=pl.lit("eng/*"), engine=pl.lit("eng"), peak_column=pl.lit("int8_tops"),
                                           prefill_compute_efficiency=pl.lit(0.2), attention_efficiency=pl.lit(0.3),
                                           decode_bandwidth_efficiency=pl.lit(0.6))])
    hw = HW.with_columns(int8_tops=pl.Series([1000.0, None]))
    res = perf.resolve_efficiency(eff, ENG.filter(id="eng"), hw).sort("hardware")
    assert res.select("hardware", "prefill_compute_efficiency", "attention_efficiency", "decode_bandwidth_efficiency",
                      "efficiency_id").rows() == [("test-gpu", 0.2, 0.3, 0.6, "eng/*"),
                                                  ("test-gpu-fast", 1.0, 1.0, 0.6, "*/*")]
    # and the estimate on the chip without int8 uses the bf16 peak at (*, *)'s efficiency: prefill of 1,000
    # tokens = (1.6e13 + 2.62144e11 attention) FLOP / 500 TFLOP/s
    out = perf.estimate(scen(hardware="test-gpu-fast"), **{**CATS, "hardware": hw, "efficiency": eff})
    assert out["prefill_s"][0] == pytest.approx((1.6e13 + 2.62144e11) / 500e12)


def test_two_phase_path_equals_one_pass(monkeypatch):
    # large frames compute the speed terms on the fitting rows only (perf._two_phase): same values, same order,
    # nulls where a row does not fit; checked here on a small mixed frame by lowering the threshold
    rng = __import__("random").Random(7)
    models = catalog.load("models")["id"].to_list()
    rows = [{"model": rng.choice(models), "hardware": rng.choice(hw_ids), "engine": rng.choice(["vllm", "llama.cpp",
             "tensorrt-llm", "sglang"]), "precision": rng.choice(["bf16", "fp8", "q4_k_m", "int4"]),
             "n_devices": rng.choice([1, 2, 8]), "input_tokens": rng.randint(1, 30000),
             "output_tokens": rng.randint(1, 4000), "batch_size": rng.choice([None, 1, 64, 512])} for _ in range(400)]
    frame = pl.DataFrame(rows, schema_overrides={"batch_size": pl.Int64})
    one = perf.estimate(frame)  # 400 rows: the small-frame plan (perf._small_plan)
    monkeypatch.setattr(perf, "_SPLIT_ROWS", 1)
    two = perf.estimate(frame)
    assert 0 < one["fits"].sum() < frame.height  # both kinds of rows present
    assert_frame_equal(two, one)
    # and the one-pass plan that frames between the two sizes take (catalog terms computed row by row)
    monkeypatch.setattr(perf, "_SPLIT_ROWS", 10**9)
    monkeypatch.setattr(perf, "_SERIES_CHECK_ROWS", 0)
    assert_frame_equal(perf.estimate(frame), one)
    monkeypatch.setattr(perf, "_SERIES_CHECK_ROWS", 1000)
    # the layout terms come from a table of (model, precision, tp_ok, n_devices) where it is small (KV bytes per
    # token per byte of element: each row multiplies by its own KV precision's or its engine's default bytes),
    # row by row otherwise (tensor_parallel / pipeline_parallel columns, many devices, kv_precision and devices)
    kv = pl.Series([rng.choice([None, "fp8", "bf16"]) for _ in range(frame.height)], dtype=pl.String)
    for variant in (frame.with_columns(kv_precision=kv, n_devices=pl.lit(1)), frame.with_columns(kv_precision=kv),
                    frame.with_columns(n_devices=pl.col("n_devices") * 16),
                    frame.with_columns(tensor_parallel=pl.lit(None, pl.Int64), context_depth=pl.lit(512)),
                    frame.with_columns(continuous_batching=pl.Series(
                        [rng.choice([None, True, False]) for _ in range(frame.height)], dtype=pl.Boolean))):
        monkeypatch.setattr(perf, "_SPLIT_ROWS", 10**9)
        one = perf.estimate(variant)
        monkeypatch.setattr(perf, "_SPLIT_ROWS", 1)
        assert_frame_equal(perf.estimate(variant), one)
    # ids given as the catalogs' own Enums (their codes are used as they are), as an Enum of other categories
    # or as Categorical: the same estimates as from strings
    monkeypatch.setattr(perf, "_SPLIT_ROWS", 1)
    want = perf.estimate(frame)
    ids = {"model": "models", "hardware": "hardware", "precision": "precisions", "engine": "engines"}
    own = frame.with_columns(pl.col(k).cast(pl.Enum(catalog.load(c)["id"].to_list())) for k, c in ids.items())
    other = frame.with_columns(pl.col(k).cast(pl.Enum(sorted(frame[k].unique().to_list(), reverse=True)))
                               for k in ids)
    cat = frame.with_columns(pl.col(k).cast(pl.Categorical) for k in ids)
    for variant in (own, other, cat):
        got = perf.estimate(variant)
        assert got.schema["model"] == variant.schema["model"]  # the input columns come back as given
        assert_frame_equal(got.drop(*ids), want.drop(*ids))
    monkeypatch.setattr(perf, "_SPLIT_ROWS", 10**9)
    for variant in (own, other, cat):  # and the small-frame and lazy plans, which share the id lookup
        assert_frame_equal(perf.estimate(variant).drop(*ids), want.drop(*ids))
        assert_frame_equal(perf.estimate(variant.lazy()).collect().drop(*ids), want.drop(*ids))
    # no row fits (llama.cpp has no tensor parallelism): every speed null
    none_fit = frame.with_columns(engine=pl.lit("llama.cpp"), n_devices=pl.lit(8), tensor_parallel=pl.lit(8))
    out = perf.estimate(none_fit)
    assert not out["fits"].any() and out["tpot_s"].null_count() == out.height
    assert_frame_equal(out, perf.estimate(none_fit.head(3)).vstack(perf.estimate(none_fit[3:])))


def test_grouped_gathers_equal_one_gather_per_column():
    # the two-phase path gathers the catalog columns as one struct per source table and index
    # (perf._gather_grouped): the same values, dtypes and nulls as one gather per column
    t = perf._tables()
    _, gathers = perf._join_exprs(t, derived=True)
    by_name = {g.meta.output_name(): g for g in gathers}
    layout = perf._layout_table(t, 8)
    by_name.update((x, pl.lit(layout[x]).gather(pl.col("_lay")).alias(x)) for x in perf._LAYOUT_TERMS)
    sources = perf._gather_sources(t, layout)
    rng = __import__("random").Random(3)
    n = 500
    idx = pl.DataFrame({
        "_im": pl.Series([rng.randrange(t["models"].height) for _ in range(n)], dtype=pl.UInt32),
        "_ic": pl.Series([rng.randrange(t["combo"].height) for _ in range(n)], dtype=pl.UInt32),
        "_ik": pl.Series([rng.randrange(t["kv"].height) for _ in range(n)], dtype=pl.UInt32),
        "_lay": pl.Series([rng.randrange(layout.height) for _ in range(n)], dtype=pl.UInt32),
    })
    names = sorted(by_name)
    assert {sources[x][0] for x in names} == {"_im", "_ic", "_ik", "_lay"}
    for subset in (names, names[::3], [names[0]], [x for x in names if sources[x][0] == "_ik"]):
        want = idx.lazy().with_columns(by_name[x] for x in subset).collect()
        got = perf._gather_grouped(idx.lazy(), subset, sources).collect()
        assert_frame_equal(got.select(want.columns), want)
        assert set(got.columns) == set(want.columns)  # no struct column left behind


def test_allreduce_terms_are_allreduce_s():
    # the estimator's per-token + fixed split of the all-reduce time is the documented formula
    df = pl.DataFrame({"t": [1.0, 256.0, 4096.0, 7.0], "hidden_size": [8192, 8192, 4096, 4096],
                       "tensor_parallel": [4, 4, 8, 1], "interconnect_gb_per_s": [900.0, 900.0, 64.0, 900.0],
                       "allreduce_latency_s": [1e-5, 1e-5, 2e-5, 1e-5], "allreduce_bandwidth_efficiency": [0.8] * 4})
    c = pl.col
    per_token, fixed = perf._allreduce_terms(c("hidden_size"), c("tensor_parallel"),
                                             c("interconnect_gb_per_s") / 2.0 * 1e9 * c("allreduce_bandwidth_efficiency"),
                                             c("allreduce_latency_s"), 3.0, 2.0)
    got = df.select(c("t") * per_token + fixed).to_series().to_list()
    want = df.select(perf.allreduce_s("t", n_allreduce=3.0)).to_series().to_list()
    assert got == pytest.approx(want, rel=1e-12)
    assert got[3] == 0.0  # one device: no all-reduce
    # 256 tokens x 8192 x 2 B = 4.19 MB; 1.5 x 4.19 MB / 360 GB/s + 10 us, three times
    assert got[1] == pytest.approx(3 * (1.5 * 256 * 8192 * 2 / 360e9 + 1e-5))

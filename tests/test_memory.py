"""Tests of infer_econ.memory: hand-computed weights, KV cache, workspace, budget and batch."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import memory as mem


def one(expr: pl.Expr, **cols) -> float:
    return pl.DataFrame({k: [v] for k, v in cols.items()}).select(expr).item()


def test_weights_llama_3_1_8b_bf16():
    # 8.03e9 params × 16 bit / 8 = 16.06e9 bytes = 16.06 GB
    assert one(mem.weights_gb(), total_params_b=8.03, bits_per_weight=16.0) == pytest.approx(16.06)


def test_weights_q4_k_m_and_fp8_are_smaller():
    # 70.554e9 × 4.84 / 8 = 42.685 GB; × 8 / 8 = 70.554 GB
    assert one(mem.weights_gb(), total_params_b=70.554, bits_per_weight=4.84) == pytest.approx(42.685, abs=1e-3)
    assert one(mem.weights_gb(), total_params_b=70.554, bits_per_weight=8.0) == pytest.approx(70.554)


def test_kv_per_token_gqa_llama_3_1_8b():
    # 32 layers × 8 KV heads × 128 head dim × 2 (K, V) × 2 bytes = 131,072 B
    got = one(mem.kv_cache_bytes_per_token(), n_layers=32, n_kv_heads=8, head_dim=128, kv_bytes_per_element=2.0,
              kv_latent_dim=None)
    assert got == 131_072


def test_kv_per_token_mla_deepseek_v3():
    # MLA: 61 layers × 576 latent elements × 2 bytes = 70,272 B (not 61 × 128 heads × 128 × 2 × 2)
    got = one(mem.kv_cache_bytes_per_token(), n_layers=61, n_kv_heads=128, head_dim=128, kv_bytes_per_element=2.0,
              kv_latent_dim=576)
    assert got == 70_272


def test_kv_heads_split_and_replicated():
    df = pl.DataFrame({"n_kv_heads": [8, 8, 8, 1], "tensor_parallel": [1, 4, 16, 8]})
    # 8/1, 8/4, max(8/16 → 1), MQA stays 1
    assert df.select(mem.kv_heads_per_device()).to_series().to_list() == [8.0, 2.0, 1.0, 1.0]


def test_kv_per_device_tp_and_pp():
    # Llama 70B: 80 layers / pp 2 × ceil(8 / 4) heads × 128 × 2 × 2 bytes = 40 × 2 × 512 = 40,960 B
    got = one(mem.kv_cache_bytes_per_token_per_device(), n_layers=80, n_kv_heads=8, head_dim=128,
              kv_bytes_per_element=2.0, kv_latent_dim=None, tensor_parallel=4, pipeline_parallel=2)
    assert got == 40_960
    # MLA latent is replicated on every tensor-parallel rank: 61 × 576 × 1 byte, whatever tp
    got = one(mem.kv_cache_bytes_per_token_per_device(), n_layers=61, n_kv_heads=128, head_dim=128,
              kv_bytes_per_element=1.0, kv_latent_dim=576, tensor_parallel=8, pipeline_parallel=1)
    assert got == 61 * 576


def test_cached_tokens_sliding_window():
    # all layers windowed at 4096: a 10,000-token context keeps 4096; half the layers: 0.5 × 10000 + 0.5 × 4096
    df = pl.DataFrame({"L": [10_000.0, 10_000.0, 10_000.0], "sliding_window_tokens": [4096, 4096, None],
                       "sliding_window_layer_fraction": [1.0, 0.5, None]})
    assert df.select(mem.cached_tokens("L")).to_series().to_list() == [4096.0, 7048.0, 10_000.0]


def test_workspace_and_budget():
    # 8192 tokens × (4 × 4096 + 2 × 14336 / 2) × 2 bytes = 8192 × 30720 × 2 = 503.3 MB
    ws = one(mem.activation_workspace_gb(), workspace_tokens=8192, hidden_size=4096, intermediate_size=14336,
             tensor_parallel=2)
    assert ws == pytest.approx(0.50331648)
    # share of the device: 80 × 0.9 − 2 − 16.06 − 0.5 = 53.44
    assert one(mem.kv_budget_gb(workspace_gb="ws"), memory_gb=80.0, memory_utilization=0.9, overhead_gb=2.0,
               weights_gb_per_device=16.06, ws=0.5) == pytest.approx(53.44)
    # share of the free memory (TensorRT-LLM): 0.9 × (80 − 2 − 16.06 − 0.5) = 0.9 × 61.44 = 55.296
    assert one(mem.kv_budget_gb(workspace_gb="ws", of_free_memory="free"), memory_gb=80.0, memory_utilization=0.9,
               overhead_gb=2.0, weights_gb_per_device=16.06, ws=0.5, free=True) == pytest.approx(55.296)


def test_max_batch_size_kv_and_engine_cap():
    df = pl.DataFrame({"kv_budget_gb": [53.94, 53.94, -1.0], "kv_bytes_per_sequence": [131072.0 * 2048] * 3,
                       "max_batch_size": [256, 64, 256]})
    # floor(53.94e9 / 268,435,456) = 200 < 256; capped at 64; negative budget: 0
    assert df.select(mem.max_batch_size()).to_series().to_list() == [200, 64, 0]


@settings(max_examples=50, deadline=None)
@given(bits=st.floats(1.0, 16.0), params=st.floats(0.1, 1000.0))
def test_fewer_bits_never_more_weight_memory(bits, params):
    df = pl.DataFrame({"p": [params, params], "b": [bits, 16.0]})
    lo, hi = df.select(mem.weights_gb("p", "b")).to_series().to_list()
    assert lo <= hi + 1e-9


@settings(max_examples=50, deadline=None)
@given(tp=st.integers(1, 64), heads=st.integers(1, 128))
def test_kv_per_device_never_grows_with_tp(tp, heads):
    df = pl.DataFrame({"n_layers": [32, 32], "n_kv_heads": [heads, heads], "head_dim": [128, 128],
                       "kv_bytes_per_element": [2.0, 2.0], "kv_latent_dim": [None, None],
                       "tensor_parallel": [tp, tp + 1], "pipeline_parallel": [1, 1]})
    a, b = df.select(mem.kv_cache_bytes_per_token_per_device()).to_series().to_list()
    assert b <= a
    assert b >= 32 * 128 * 2 * 2  # at least one head per device

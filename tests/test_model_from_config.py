"""Tests of infer_econ.catalog.model_from_config (Hugging Face config.json → models row)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from infer_econ import catalog
from infer_econ.errors import CatalogError

D = Path(__file__).parent / "data" / "hf_configs"
CONFIGS = sorted(p.stem for p in D.glob("*.json"))
STRUCT = ["n_layers", "hidden_size", "n_heads", "n_kv_heads", "head_dim", "vocab_size", "attention",
          "sliding_window_tokens", "sliding_window_layer_fraction", "kv_latent_dim", "n_experts",
          "experts_per_token", "n_moe_layers", "tied_embeddings", "intermediate_size", "dense_intermediate_size"]


@pytest.mark.parametrize("mid", CONFIGS)
def test_matches_the_shipped_catalog_row(mid):
    row = catalog.model_from_config(D / f"{mid}.json", id=mid).row(0, named=True)
    ref = catalog.get("models", mid)
    for c in STRUCT:
        if isinstance(ref[c], float):
            assert row[c] == pytest.approx(ref[c], abs=1e-4), c  # the catalog rounds fractions to 4 places
        else:
            assert row[c] == ref[c], c
    # the catalog's totals are the published ones (or the same formula): within 0.5 %. Published totals of
    # multimodal models include the vision encoder, which config dims of the text model do not: Llama 4 Scout
    # text-only 107.8e9 (catalog notes); Gemma 3 27B 1,416M embedding + 25,600M non-embedding (Gemma 3 report)
    text_only = {"llama-4-scout": 107.8, "gemma-3-27b": 27.016}
    total_ref = text_only.get(mid, ref["total_params_b"])
    assert row["total_params_b"] == pytest.approx(total_ref, rel=5e-3)
    if mid == "gemma-3-27b":
        assert row["active_params_b"] == row["total_params_b"]
    elif mid != "gpt-oss-20b":
        assert row["active_params_b"] == pytest.approx(ref["active_params_b"], rel=2e-2)
    assert row["embedding_params_b"] == pytest.approx(ref["embedding_params_b"], rel=1e-3)


def test_hand_computed_llama_3_1_8b():
    r = catalog.model_from_config(D / "llama-3.1-8b.json").row(0, named=True)
    # per layer: q 4096*4096 + kv 2*4096*1024 + o 4096*4096 + norms 2*4096 + ffn 3*4096*14336
    #          = 16,777,216 + 8,388,608 + 16,777,216 + 8,192 + 176,160,768 = 218,112,000
    # total = 32 * 218,112,000 + 2 * 128256*4096 + 4096 = 6,979,584,000 + 1,050,673,152 + 4,096
    assert round(r["total_params_b"] * 1e9) == 8_030_261_248
    assert r["id"] == "llama-3.1-8b" and r["hf_repo"] == "meta-llama/Llama-3.1-8B"
    assert r["origin"] == "user" and r["as_of"][:2] == "20"


def test_hand_computed_gpt_oss_active():
    r = catalog.model_from_config(D / "gpt-oss-20b.json", id="gpt-oss-20b").row(0, named=True)
    # unused routed experts: 24 layers x (32 - 4) x 3*2880*2880 = 16,721,510,400
    assert (r["total_params_b"] - r["active_params_b"]) * 1e9 == pytest.approx(16_721_510_400, rel=1e-12)


def test_deepseek_mla_fields():
    r = catalog.model_from_config(D / "deepseek-v3.json").row(0, named=True)
    # kv_lora_rank 512 + qk_rope_head_dim 64
    assert r["kv_latent_dim"] == 576 and r["attention"] == "mla"
    # 61 layers, first 3 dense
    assert r["n_moe_layers"] == 58 and r["n_shared_experts"] == 1


def test_usable_as_extra_row_of_the_catalog():
    row = catalog.model_from_config(D / "mistral-7b.json", id="my-mistral")
    models = catalog.load("models", extra=row)
    got = models.filter(pl.col("id") == "my-mistral")
    assert got.height == 1 and got["origin"].item() == "user"
    assert set(row.columns) - {"origin"} <= set(catalog.schema("models")["column"].to_list())


def test_estimate_accepts_the_row():
    perf = pytest.importorskip("infer_econ.perf")
    import inspect

    if "models" not in inspect.signature(perf.estimate).parameters:
        pytest.skip("estimate takes no models= catalog yet")
    models = catalog.load("models", extra=catalog.model_from_config(D / "llama-3.1-8b.json", id="my-llama"))
    s = pl.DataFrame({"model": ["my-llama", "llama-3.1-8b"], "hardware": ["h100-sxm"] * 2, "precision": ["bf16"] * 2,
                      "engine": ["vllm"] * 2, "n_devices": [1, 1], "input_tokens": [1000, 1000],
                      "output_tokens": [200, 200], "batch_size": [1, 1]})
    out = perf.estimate(s, models=models)
    # same dims as the shipped llama-3.1-8b: same weights per device
    assert out["weights_gb_per_device"][0] == pytest.approx(out["weights_gb_per_device"][1], rel=1e-3)


def test_folder_and_text_config(tmp_path):
    cfg = json.loads((D / "llama-3.1-8b.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mllama", "text_config": cfg}))
    r = catalog.model_from_config(tmp_path, id="wrapped")
    assert r["n_layers"].item() == 32 and r["total_params_b"].item() == pytest.approx(8.03, rel=1e-3)


@pytest.mark.parametrize("drop, message", [
    ("hidden_size", r"no 'hidden_size' / 'n_embd' / 'd_model' \(needed for the model width\)"),
    ("num_hidden_layers", r"no 'num_hidden_layers'"),
    ("vocab_size", r"no 'vocab_size'"),
    ("intermediate_size", r"no 'intermediate_size' \(needed for the FFN size\)"),
])
def test_missing_field_named(tmp_path, drop, message):
    cfg = json.loads((D / "llama-3.1-8b.json").read_text())
    del cfg[drop]
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    with pytest.raises(CatalogError, match=r"config\.json: config\.json has " + message):
        catalog.model_from_config(p)


def test_moe_without_top_k_and_mla_without_rope(tmp_path):
    cfg = json.loads((D / "mixtral-8x7b.json").read_text())
    del cfg["num_experts_per_tok"]
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    with pytest.raises(CatalogError, match="8 experts but no 'num_experts_per_tok'"):
        catalog.model_from_config(p)
    cfg = json.loads((D / "deepseek-v3.json").read_text())
    del cfg["qk_rope_head_dim"]
    p.write_text(json.dumps(cfg))
    with pytest.raises(CatalogError, match=r"no 'qk_rope_head_dim' \(needed for MLA rope dims\)"):
        catalog.model_from_config(p)


def test_bad_files(tmp_path):
    with pytest.raises(CatalogError, match="no such file"):
        catalog.model_from_config(tmp_path / "nope.json")
    p = tmp_path / "config.json"
    p.write_text("{not json")
    with pytest.raises(CatalogError, match="not a JSON file"):
        catalog.model_from_config(p)
    p.write_text("[1, 2]")
    with pytest.raises(CatalogError, match="top level is not a JSON object"):
        catalog.model_from_config(p)
    cfg = json.loads((D / "llama-3.1-8b.json").read_text())
    p.write_text(json.dumps(dict(cfg, num_attention_heads="32")))
    with pytest.raises(CatalogError, match=r"field 'num_attention_heads': '32' is not a whole number"):
        catalog.model_from_config(p)
    p.write_text(json.dumps(dict(cfg, hidden_size=0)))
    with pytest.raises(CatalogError, match="must be ≥ 1"):
        catalog.model_from_config(p)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from infer_econ.errors import InferEconError  # noqa: E402


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mid=st.sampled_from(CONFIGS), data=st.data())
def test_fuzz_mutated_configs(tmp_path, mid, data):
    cfg = json.loads((D / f"{mid}.json").read_text())
    for _ in range(data.draw(st.integers(1, 4))):
        key = data.draw(st.sampled_from(sorted(cfg)))
        cfg[key] = data.draw(st.none() | st.booleans() | st.integers(-3, 10**6) | st.floats(allow_nan=False,
                             allow_infinity=False) | st.text(max_size=4) | st.lists(st.integers(0, 3), max_size=3))
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    try:
        row = catalog.model_from_config(p, id="fuzz")
    except InferEconError:
        return
    assert row.height == 1 and row["total_params_b"].item() >= row["active_params_b"].item() > 0


def test_llama4_layout():
    r = catalog.model_from_config(D / "llama-4-scout.json").row(0, named=True)
    # every layer MoE: 16 routed experts top-1 + 1 shared expert; chunked attention on the 36 RoPE layers of 48
    assert (r["n_experts"], r["experts_per_token"], r["n_shared_experts"], r["n_moe_layers"]) == (16, 1, 1, 48)
    assert (r["attention"], r["sliding_window_tokens"], r["sliding_window_layer_fraction"]) == ("hybrid-sliding",
                                                                                                  8192, 0.75)
    # unused routed experts per token: 48 x 15 x 3*5120*8192 = 90,596,966,400
    assert (r["total_params_b"] - r["active_params_b"]) * 1e9 == pytest.approx(90_596_966_400, rel=1e-12)


def test_gemma3_every_sixth_layer_global():
    r = catalog.model_from_config(D / "gemma-3-27b.json").row(0, named=True)
    # 62 layers, layers 6, 12, …, 60 global: 10 global, 52 local → 52 / 62
    assert r["sliding_window_layer_fraction"] == pytest.approx(52 / 62) and r["sliding_window_tokens"] == 1024
    assert r["tied_embeddings"] is True and r["id"] == "gemma-3-27b-pt"


def test_more_experts_per_token_than_experts_is_refused(tmp_path):
    # found by the fuzz test: gpt-oss-20b with num_local_experts = 1 (it routes 4 per token) gave
    # active parameters above the total
    cfg = json.loads((D / "gpt-oss-20b.json").read_text())
    p = tmp_path / "config.json"
    p.write_text(json.dumps(dict(cfg, num_local_experts=1)))
    with pytest.raises(CatalogError, match="only 1 experts per layer"):
        catalog.model_from_config(p)

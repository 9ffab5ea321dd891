"""Tests of the shipped ``model_quality`` and ``quantization_accuracy`` catalogs."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import catalog
from infer_econ.errors import CatalogError, UnknownIdError

REFERENCE = Path(__file__).parents[1].parent / "shared" / "reference"

QUALITY_COLUMNS = [
    "id", "model", "model_name", "variant", "precision", "precision_detail", "quantization_method", "benchmark",
    "setting", "score", "score_unit", "higher_is_better", "source", "source_detail", "as_of", "notes",
]
QA_COLUMNS = [
    "id", "model", "model_name", "variant", "precision", "precision_detail", "baseline_precision",
    "quantization_method", "benchmark", "score", "baseline_score", "score_unit", "higher_is_better", "recovery_pct",
    "recovery_method", "source", "source_detail", "as_of", "notes",
]
# hosted models with no published architecture: the only rows allowed a null model
CLOSED = {"claude-3-haiku", "claude-3.5-sonnet", "gemini-1.5-flash", "gemini-1.5-pro", "gpt-4o", "gpt-4o-mini"}
# score range per unit
RANGES = {
    "percent": (0, 100), "percent_normalized": (0, 100), "winrate_percent": (0, 100),
    "elo": (800, 2000), "perplexity": (1, 1000), "nats": (0, 5),
}


@pytest.fixture(scope="module")
def quality() -> pl.DataFrame:
    return catalog.load("model_quality")


@pytest.fixture(scope="module")
def qa() -> pl.DataFrame:
    return catalog.load("quantization_accuracy")


# ---------------------------------------------------------------- model_quality

def test_quality_exact_columns(quality):
    assert catalog.schema("model_quality")["column"].to_list() == QUALITY_COLUMNS
    assert quality.columns == QUALITY_COLUMNS + ["origin"]


def test_quality_row_count(quality):
    # every one of the 987 published scores compiled in the reference is carried over
    assert quality.height == 987
    assert quality["id"].n_unique() == quality.height


def test_quality_provenance(quality):
    for c in ("source", "as_of", "source_detail"):
        assert quality[c].null_count() == 0, c
    assert set(quality["source"].to_list()) <= set(catalog.ids("sources"))


def test_quality_models_reference_catalog(quality):
    models = set(catalog.ids("models"))
    with_model = quality.filter(pl.col("model").is_not_null())
    assert set(with_model["model"].to_list()) <= models
    assert (with_model["model"] == with_model["model_name"]).all()
    closed = quality.filter(pl.col("model").is_null())
    assert set(closed["model_name"].to_list()) == CLOSED
    assert closed.height == 85  # 7 + 16 + 15 + 14 + 21 + 12 rows for the six hosted models
    # hosted models never disclose their serving precision
    assert closed["precision"].null_count() == closed.height


def test_quality_score_ranges(quality):
    assert set(quality["score_unit"].unique().to_list()) == set(RANGES)
    for unit, (lo, hi) in RANGES.items():
        s = quality.filter(pl.col("score_unit") == unit)["score"]
        assert s.min() >= lo and s.max() <= hi, unit


def test_quality_direction(quality):
    lower = quality.filter(~pl.col("higher_is_better"))
    assert set(lower["score_unit"].unique().to_list()) == {"perplexity", "nats"}
    assert quality.filter(pl.col("score_unit").is_in(["perplexity", "nats"]))["higher_is_better"].not_().all()


def test_quality_precisions(quality):
    # a null precision is either undisclosed or a format the precisions catalog does not list
    known = set(catalog.ids("precisions"))
    with_p = quality.filter(pl.col("precision").is_not_null())
    assert set(with_p["precision"].to_list()) <= known
    undisclosed = quality.filter(pl.col("precision_detail") == "unknown")
    assert undisclosed["precision"].null_count() == undisclosed.height
    assert with_p.filter(pl.col("precision_detail") == "bf16")["precision"].unique().to_list() == ["bf16"]
    # W4A16 and W8A8 integer rows map onto the int4 / int8 ids (W4A16 / W8A8 by the precisions catalog)
    for detail, pid in (("int4_w4a16", "int4"), ("int8_w8a8", "int8")):
        rows = quality.filter(pl.col("precision_detail") == detail)
        assert rows.height > 0 and rows["precision"].unique().to_list() == [pid]


def test_quality_hand_checked_rows(quality):
    def score(model, variant, detail, bench, source):
        r = quality.filter((pl.col("model") == model) & (pl.col("variant") == variant)
                           & (pl.col("precision_detail") == detail) & (pl.col("benchmark") == bench)
                           & (pl.col("source") == source))
        return r["score"].to_list()
    # Llama 2 model card, MMLU 5-shot base: 7B 45.3, 70B 68.9
    assert score("llama-2-7b", "base", "bf16", "MMLU", "meta-llama-2-model-card") == [45.3]
    assert score("llama-2-70b", "base", "bf16", "MMLU", "meta-llama-2-model-card") == [68.9]
    # the Llama 3 card re-evaluated Llama 2 7B with Meta's newer harness: 45.7
    assert score("llama-2-7b", "base", "bf16", "MMLU", "meta-llama-3-model-card") == [45.7]
    # llama.cpp LLaMA 3 8B scoreboard: f16 perplexity 6.23316
    assert score("llama-3-8b", "base", "fp16", "WikiText2-PPL", "llama-cpp-perplexity-readme") == [6.23316]


def test_quality_larger_model_scores_higher(quality):
    # within one source and setting, a bigger model of the same family scores at least as well on MMLU
    mmlu = quality.filter((pl.col("benchmark") == "MMLU") & (pl.col("variant") == "base")
                          & (pl.col("source") == "meta-llama-2-model-card"))
    s = dict(zip(mmlu["model"], mmlu["score"]))
    assert s["llama-2-7b"] < s["llama-2-13b"] < s["llama-2-70b"]


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference folder {REFERENCE} not present (outside the repository)")
def test_quality_matches_reference_rows(quality):
    with (REFERENCE / "catalog" / "model_quality.csv").open(newline="", encoding="utf8") as fh:
        ref = list(csv.DictReader(fh))
    want = Counter((r["model_id"], r["variant"], r["precision_id"], r["benchmark"], r["setting"], float(r["score"]),
                    r["score_unit"], r["as_of"]) for r in ref)
    got = Counter(zip(quality["model_name"], quality["variant"], quality["precision_detail"], quality["benchmark"],
                      quality["setting"], quality["score"], quality["score_unit"], quality["as_of"]))
    assert got == want


def test_quality_unknown_id():
    with pytest.raises(UnknownIdError) as err:
        catalog.get("model_quality", "llama-3.1-8b:base:bf16:nope:1")
    assert "llama-2-7b:base:bf16:mmlu:1" in str(err.value)


def my_eval(**over) -> pl.DataFrame:
    row = {
        "id": "mine:llama-3.1-8b:int4:support-tickets", "model": "llama-3.1-8b", "model_name": "llama-3.1-8b",
        "variant": "instruct", "precision": "bf16", "precision_detail": "bf16", "quantization_method": "none (unquantized)",
        "benchmark": "support-ticket triage (internal)", "setting": "500 tickets; exact match", "score": 81.5,
        "score_unit": "percent", "higher_is_better": True, "source": "our eval team", "as_of": "2026-11",
    }
    row.update(over)
    return pl.DataFrame([row])


def test_quality_extra_merge():
    q = catalog.load("model_quality", extra=my_eval())
    assert q.height == 988
    r = q.filter(pl.col("origin") == "user").row(0, named=True)
    assert r["score"] == 81.5 and r["source"] == "our eval team"


@pytest.mark.parametrize(
    "over, needle",
    [
        ({"model": "acme-13b"}, "model"),
        ({"precision": "int3"}, "precision"),
        ({"score_unit": "points"}, "score_unit"),
        ({"variant": "chat"}, "variant"),
        ({"score": "high"}, "score"),
        ({"higher_is_better": None}, "higher_is_better"),
    ],
)
def test_quality_extra_errors(over, needle):
    with pytest.raises(CatalogError) as err:
        catalog.load("model_quality", extra=my_eval(**over))
    assert needle in str(err.value)


# ---------------------------------------------------------------- quantization_accuracy

def test_qa_exact_columns(qa):
    assert catalog.schema("quantization_accuracy")["column"].to_list() == QA_COLUMNS
    assert qa.columns == QA_COLUMNS + ["origin"]


def test_qa_rows_and_provenance(qa):
    # 44 reference rows less one qualitative summary (Kurtic et al. 2024) that carries no figures
    assert qa.height == 43
    assert qa["id"].n_unique() == 43
    for c in ("source", "as_of", "model", "baseline_precision", "recovery_pct"):
        assert qa[c].null_count() == 0, c
    assert set(qa["source"].to_list()) <= set(catalog.ids("sources"))
    assert set(qa["model"].to_list()) <= set(catalog.ids("models"))


def test_qa_recovery_arithmetic_row_by_row(qa):
    computed = qa.filter(pl.col("recovery_method") != "published")
    assert computed.height == 33  # 21 llama.cpp perplexities + 12 cards with both scores
    assert computed["score"].null_count() == 0 and computed["baseline_score"].null_count() == 0
    for r in computed.iter_rows(named=True):
        if r["recovery_method"] == "baseline_over_score":
            assert r["score_unit"] == "perplexity" and not r["higher_is_better"], r["id"]
            want = 100 * r["baseline_score"] / r["score"]
        else:
            assert r["higher_is_better"], r["id"]
            want = 100 * r["score"] / r["baseline_score"]
        # the published figures are rounded to two decimals
        assert abs(r["recovery_pct"] - want) <= 0.005 + 1e-9, (r["id"], r["recovery_pct"], want)
    published = qa.filter(pl.col("recovery_method") == "published")
    assert published["score"].null_count() == published.height


def test_qa_hand_computed_examples(qa):
    def rec(model, detail, method):
        r = qa.filter((pl.col("model") == model) & (pl.col("precision_detail") == detail)
                      & (pl.col("quantization_method") == method))
        return r.row(0, named=True)
    # Llama-3-8B Q4_0: 6.23316 / 6.700147 = 0.93030 -> 93.03 %
    r = rec("llama-3-8b", "q4_0", "llama.cpp quantize (none)")
    assert (r["score"], r["baseline_score"], r["recovery_pct"]) == (6.700147, 6.23316, 93.03)
    # Llama-2-70B Q4_0: 3.4313 / 3.555 = 0.96520 -> 96.52 %
    assert rec("llama-2-70b", "q4_0", "llama.cpp quantize")["recovery_pct"] == 96.52


def test_qa_fewer_bits_lose_more(qa):
    # llama.cpp k-quants without an importance matrix: perplexity rises as bits fall
    order = ["q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k"]
    ppl = qa.filter((pl.col("model") == "llama-3-8b") & (pl.col("quantization_method") == "llama.cpp quantize (none)")
                    & (pl.col("score_unit") == "perplexity"))
    s = dict(zip(ppl["precision_detail"], ppl["score"]))
    vals = [s[d] for d in order]
    assert vals == sorted(vals)
    assert all(v > ppl["baseline_score"][0] for v in vals)


def test_qa_perplexities_agree_with_model_quality(qa, quality):
    # the llama.cpp scoreboards appear in both catalogs: every perplexity in model_quality is in
    # quantization_accuracy at the same model and format, with the same f16 baseline
    ppl = qa.filter(pl.col("score_unit") == "perplexity")
    q = quality.filter((pl.col("benchmark") == "WikiText2-PPL") & (pl.col("precision_detail") != "fp16"))
    assert q.height >= 15
    for r in q.iter_rows(named=True):
        same = ppl.filter((pl.col("model") == r["model"]) & (pl.col("precision_detail") == r["precision_detail"]))
        assert r["score"] in same["score"].to_list(), r["id"]
        base = quality.filter((pl.col("benchmark") == "WikiText2-PPL") & (pl.col("model") == r["model"])
                              & (pl.col("precision_detail") == "fp16"))["score"]
        assert set(same["baseline_score"].to_list()) <= set(base.to_list()), r["id"]


def test_qa_precisions(qa):
    known = set(catalog.ids("precisions"))
    assert set(qa["baseline_precision"].to_list()) <= known
    assert set(qa["precision"].drop_nulls().to_list()) <= known
    assert qa.filter(pl.col("precision_detail") == "q4_k_m")["precision"].unique().to_list() == ["q4_k_m"]


def test_qa_unknown_id():
    with pytest.raises(UnknownIdError):
        catalog.get("quantization_accuracy", "llama-3-8b:base:q1:x:1")


def my_quant(**over) -> pl.DataFrame:
    row = {
        "id": "mine:llama-3.1-8b:awq", "model": "llama-3.1-8b", "model_name": "our AWQ build", "variant": "instruct",
        "precision": "int4", "precision_detail": "int4_w4a16", "baseline_precision": "bf16",
        "quantization_method": "AWQ group 128", "benchmark": "MMLU (5-shot)", "score": 66.0, "baseline_score": 68.0,
        "score_unit": "percent", "higher_is_better": True, "recovery_pct": 100 * 66 / 68,
        "recovery_method": "score_over_baseline", "source": "our eval team", "as_of": "2026-11",
    }
    row.update(over)
    return pl.DataFrame([row])


def test_qa_extra_merge_and_errors():
    q = catalog.load("quantization_accuracy", extra=my_quant())
    assert q.height == 44 and q.filter(pl.col("origin") == "user")["recovery_pct"][0] == pytest.approx(97.0588, rel=1e-5)
    with pytest.raises(CatalogError, match="recovery_method"):
        catalog.load("quantization_accuracy", extra=my_quant(recovery_method="guess"))
    with pytest.raises(CatalogError, match="baseline_precision"):
        catalog.load("quantization_accuracy", extra=my_quant(baseline_precision="bf17"))
    with pytest.raises(CatalogError, match="recovery_pct"):
        catalog.load("quantization_accuracy", extra=my_quant(recovery_pct=250.0))


@settings(max_examples=25, deadline=None)
@given(base=st.floats(1.5, 50), ratio=st.floats(1.0, 3.0))
def test_qa_extra_perplexity_rows_validate(base, ratio):
    # any quantized perplexity at or above its baseline gives a recovery in (0, 100]
    ppl = base * ratio
    rec = 100 * base / ppl
    q = catalog.load("quantization_accuracy", extra=my_quant(
        benchmark="WikiText-2 perplexity", score=ppl, baseline_score=base, score_unit="perplexity",
        higher_is_better=False, recovery_pct=rec, recovery_method="baseline_over_score"))
    r = q.filter(pl.col("origin") == "user").row(0, named=True)
    assert 0 < r["recovery_pct"] <= 100 + 1e-9

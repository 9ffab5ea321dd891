"""infer_econ._memo: answers kept by catalog-frame identity and key rows."""

import polars as pl
import pytest

from infer_econ import _memo, catalog, perf, pipeline


def test_same_frames_and_keys_build_once():
    cat = pl.DataFrame({"id": ["a", "b"]})
    calls = []

    def build():
        calls.append(1)
        return cat.height

    keys = pl.DataFrame({"hardware": ["x", "y"]})
    assert _memo.memo("t-once", (cat,), keys, build) == 2
    assert _memo.memo("t-once", (cat,), pl.DataFrame({"hardware": ["x", "y"]}), build) == 2  # equal rows
    assert len(calls) == 1
    _memo.memo("t-once", (cat,), pl.DataFrame({"hardware": ["y", "x"]}), build)  # other rows: built again
    assert len(calls) == 2


def test_an_equal_but_other_frame_is_not_mistaken_for_the_kept_one():
    a = pl.DataFrame({"id": ["a"]})
    b = pl.DataFrame({"id": ["a"]})  # same values, a user's own frame
    seen = []
    _memo.memo("t-id", (a,), None, lambda: seen.append("a"))
    _memo.memo("t-id", (b,), None, lambda: seen.append("b"))
    assert seen == ["a", "b"]


def test_errors_are_not_kept():
    cat = pl.DataFrame({"id": ["a"]})
    with pytest.raises(ZeroDivisionError):
        _memo.memo("t-err", (cat,), None, lambda: 1 / 0)
    assert _memo.memo("t-err", (cat,), None, lambda: 5) == 5


def test_big_key_sets_are_not_kept():
    cat = pl.DataFrame({"id": ["a"]})
    keys = pl.DataFrame({"k": list(range(_memo.MAX_KEY_ROWS + 1))})
    calls = []
    for _ in range(2):
        _memo.memo("t-big", (cat,), keys, lambda: calls.append(1))
    assert len(calls) == 2


def test_bounded():
    cat = pl.DataFrame({"id": ["a"]})
    for i in range(_memo.MAX_ANSWERS + 10):
        _memo.memo("t-bound", (cat,), pl.DataFrame({"k": [i]}), lambda: i)
    assert len(_memo._KEPT) <= _memo.MAX_ANSWERS


def test_peak_table_follows_a_users_hardware_frame():
    # a user's own hardware frame (a changed peak) gets its own table, never the shipped one's
    hw = catalog.load("hardware")
    pr = catalog.load("precisions")
    shipped = perf.peak_tflops(hw, pr)
    assert perf.peak_tflops(hw, pr) is shipped  # kept
    mine = hw.with_columns(pl.when(pl.col("id") == "h100-sxm").then(1.0).otherwise(pl.col("bf16_tflops"))
                           .alias("bf16_tflops"))
    got = perf.peak_tflops(mine, pr).filter(hardware="h100-sxm", precision="bf16")["peak_tflops"].item()
    assert got == 1.0
    assert shipped.filter(hardware="h100-sxm", precision="bf16")["peak_tflops"].item() > 100


def test_add_economics_prices_follow_a_users_price_catalog():
    # the kept rented price of an offer is per cloud_prices frame: a user's own frame changes the answer
    est = perf.estimate(pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"], "precision": ["bf16"],
                                      "engine": ["vllm"], "n_devices": [1], "input_tokens": [1000],
                                      "output_tokens": [200]}))
    base = pipeline.add_economics(est.with_columns(provider=pl.lit("aws"), price_model=pl.lit("on_demand")))
    prices = catalog.load("cloud_prices")
    doubled = prices.with_columns(pl.col("usd_per_device_hour") * 2.0)
    again = pipeline.add_economics(est.with_columns(provider=pl.lit("aws"), price_model=pl.lit("on_demand")),
                                   catalogs={"cloud_prices": doubled})
    assert again["usd_per_device_hour"].item() == pytest.approx(2.0 * base["usd_per_device_hour"].item())
    same = pipeline.add_economics(est.with_columns(provider=pl.lit("aws"), price_model=pl.lit("on_demand")))
    assert same["usd_per_device_hour"].item() == base["usd_per_device_hour"].item()


def test_estimate_keeps_answers_per_estimator_inputs_and_passes_the_rest_through():
    # a knob that moves only the economics (PUE, a price) reuses the kept estimate; the other columns are the
    # current frame's, and every value equals a fresh estimate's
    rng = __import__("random").Random(3)
    models = catalog.load("models")["id"].to_list()
    hw = catalog.load("hardware")["id"].to_list()
    rows = [{"model": rng.choice(models), "hardware": rng.choice(hw), "engine": rng.choice(["vllm", "llama.cpp"]),
             "precision": rng.choice(["bf16", "fp8", "q4_k_m"]), "n_devices": rng.choice([1, 2]),
             "input_tokens": rng.randint(1, 8000), "output_tokens": rng.randint(1, 2000),
             "pue": 1.2, "note": "a"} for _ in range(200)]
    frame = pl.DataFrame(rows)
    first = perf.estimate(frame)
    moved = frame.with_columns(pue=pl.lit(1.5), note=pl.lit("b"))
    calls = []
    real = perf._small_plan
    perf._small_plan = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        again = perf.estimate(moved)
    finally:
        perf._small_plan = real
    assert calls == []  # the kept answer
    assert again["pue"].unique().to_list() == [1.5] and again["note"].unique().to_list() == ["b"]
    assert again.columns == first.columns
    assert again.drop("pue", "note").equals(first.drop("pue", "note"))
    _memo.clear()
    fresh = perf.estimate(moved)
    assert fresh.equals(again)
    # another estimator input (the prompt) is another answer
    longer = perf.estimate(moved.with_columns(pl.col("input_tokens") + 1))
    assert not longer["prefill_s"].equals(again["prefill_s"])

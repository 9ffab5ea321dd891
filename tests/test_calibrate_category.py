"""Efficiency rows keyed on a hardware category (``category:cpu``): fallback order and fit.

A chip whose family has no row of its own gets its category's figures before the engine-wide or the
wildcard ones (a CPU that was never measured is not run on GPU-fitted efficiencies when other CPUs were
measured). See ``perf.resolve_efficiency`` and ``calibrate.fit``.
"""

from __future__ import annotations

import polars as pl
import pytest

from infer_econ import calibrate, catalog, perf


def eff_rows(rows: list[tuple[str, str, float, str | None]]) -> pl.DataFrame:
    """(engine, hardware_family, value of every parameter, peak_column) -> an efficiency frame."""
    return pl.DataFrame({
        "id": [f"{e}/{f}" for e, f, _, _ in rows],
        "engine": [e for e, _, _, _ in rows],
        "hardware_family": [f for _, f, _, _ in rows],
        **{p: [v for _, _, v, _ in rows] for p in perf.EFFICIENCY_PARAMETERS},
        "peak_column": [c for _, _, _, c in rows],
    }, schema_overrides={"peak_column": pl.String})


def full_row(engine: str, family: str, shares: dict, column: str | None = None, **settings) -> dict:
    """One complete efficiency row: the four shares given, the other parameters at fixed test values."""
    return {"id": f"{engine}/{family}", "engine": engine, "hardware_family": family, **shares,
            "step_overhead_s": 0.001, "step_overhead_per_sequence_s": 1e-5, "allreduce_latency_s": 1e-5,
            "allreduce_bandwidth_efficiency": 0.7, "workspace_tokens": 8192, "prefill_chunk_tokens": 8192,
            "kv_memory_basis": "total", "peak_column": column, "n_measurements": 0,
            "source": "infer-econ-conventions", "as_of": "2026", **settings}


HW = pl.DataFrame({
    "id": ["xeon-a", "zen-b", "gpu-c"],
    "family": ["xeon", "zen4", "hopper"],
    "category": ["cpu", "cpu", "datacenter"],
    "fp32_tflops": [8.0, 5.0, 67.0],
    "int8_tops": [524.0, None, 1979.0],
})


def test_fallback_order_family_then_category_then_engine_then_wildcards():
    eff = eff_rows([("*", "*", 0.5, None), ("*", "category:cpu", 0.1, None), ("*", "xeon", 0.2, None),
                    ("llama.cpp", "*", 0.6, None), ("llama.cpp", "category:cpu", 0.15, None),
                    ("llama.cpp", "xeon", 0.25, None)])
    eng = pl.DataFrame({"id": ["llama.cpp", "vllm"]})
    got = {(r["engine"], r["hardware"]): (r["prefill_compute_efficiency"], r["efficiency_id"])
           for r in perf.resolve_efficiency(eff, eng, HW).iter_rows(named=True)}
    assert got == {
        ("llama.cpp", "xeon-a"): (0.25, "llama.cpp/xeon"),  # (engine, family)
        ("llama.cpp", "zen-b"): (0.15, "llama.cpp/category:cpu"),  # (engine, category): no family row
        ("llama.cpp", "gpu-c"): (0.6, "llama.cpp/*"),  # (engine, *): no row for its category
        ("vllm", "xeon-a"): (0.2, "*/xeon"),  # (*, family)
        ("vllm", "zen-b"): (0.1, "*/category:cpu"),  # (*, category)
        ("vllm", "gpu-c"): (0.5, "*/*"),
    }


def test_category_is_a_column_not_a_name():
    # the same chip with another category gets no category row: nothing is read from ids or names
    eff = eff_rows([("*", "*", 0.5, None), ("*", "category:cpu", 0.1, None)])
    hw = HW.with_columns(category=pl.lit("workstation"))
    out = perf.resolve_efficiency(eff, pl.DataFrame({"id": ["vllm"]}), hw)
    assert out["prefill_compute_efficiency"].to_list() == [0.5, 0.5, 0.5]
    # and a hardware frame without a category column resolves as before (family, engine, wildcards)
    out = perf.resolve_efficiency(eff, pl.DataFrame({"id": ["vllm"]}), hw.drop("category"))
    assert out["prefill_compute_efficiency"].to_list() == [0.5, 0.5, 0.5]


def test_engine_category_row_compute_shares_need_its_peak_column():
    """An (engine, category) row's compute shares are of its peak_column: a chip of the category without that
    peak takes the compute shares from the wildcard-engine rows, and keeps the row's bandwidth share."""
    eff = eff_rows([("*", "*", 0.5, None), ("*", "category:cpu", 0.1, None),
                    ("llama.cpp", "*", 0.6, "int8_tops"), ("llama.cpp", "category:cpu", 0.3, "int8_tops")])
    out = perf.resolve_efficiency(eff, pl.DataFrame({"id": ["llama.cpp"]}), HW)
    by_hw = {r["hardware"]: r for r in out.iter_rows(named=True)}
    assert by_hw["xeon-a"]["prefill_compute_efficiency"] == 0.3  # has int8_tops
    assert by_hw["zen-b"]["prefill_compute_efficiency"] == 0.1  # lacks it: (*, category:cpu)
    assert by_hw["zen-b"]["attention_efficiency"] == 0.1
    assert by_hw["zen-b"]["decode_bandwidth_efficiency"] == 0.3  # not a compute share: the engine's row


@pytest.fixture(scope="module")
def cpu_catalog() -> pl.DataFrame:
    """The shipped hardware plus a CPU of a family that no measurement names (same spec as the Xeon row)."""
    hw = catalog.load("hardware")
    extra = hw.filter(pl.col("id") == "xeon-6980p").with_columns(
        id=pl.lit("test-cpu"), family=pl.lit("test-cpu-family"), name=pl.lit("test CPU (copy of the Xeon row)"))
    return catalog.load("hardware", extra=extra.drop("origin", strict=False))


def test_fit_makes_a_category_row_that_carries_to_an_unmeasured_cpu(cpu_catalog):
    """Measurements generated by the estimator with a CPU row far below the GPU one: the fit recovers the CPU
    efficiencies in a category row, and a CPU of an unmeasured family is predicted through it."""
    top = {"prefill_compute_efficiency": 0.6, "decode_bandwidth_efficiency": 0.8,
           "decode_compute_efficiency": 0.4, "attention_efficiency": 0.3}
    cpu = {"prefill_compute_efficiency": 0.05, "decode_bandwidth_efficiency": 0.3,
           "decode_compute_efficiency": 0.05, "attention_efficiency": 0.05}

    def row(family: str, v: dict) -> dict:
        return full_row("*", family, v)

    truth = pl.DataFrame([row("*", top), row("category:cpu", cpu)], schema_overrides={"peak_column": pl.String})
    rows = []
    for model in ("llama-3.2-3b", "llama-3.1-8b"):
        for hw in ("h100-sxm", "a100-sxm-80gb", "xeon-6980p"):
            for kind, batch, i, o in [("decode_tps_bs1", 1, 1, 128), ("decode_tps_bs1", 1, 2048, 128),
                                      ("prefill_tps_bs1", 1, 512, 1), ("prefill_tps_bs1", 1, 2048, 1),
                                      ("decode_tps_batch", 16, 512, 64), ("decode_tps_batch", 64, 512, 64)]:
                rows.append(dict(id=f"{model}-{hw}-{kind}-{i}-{batch}", model=model, hardware=hw, precision="bf16",
                                 engine="vllm", n_devices=1, batch_size=batch, input_tokens=i, output_tokens=o,
                                 kind=kind, measured=1.0, unit="tok/s"))
    meas = pl.DataFrame(rows, schema_overrides={"batch_size": pl.Int64})
    synth = calibrate.predict(meas, efficiency=truth, hardware=cpu_catalog)
    assert synth["predicted"].null_count() == 0
    meas = meas.with_columns(measured=synth["predicted"])
    prior = truth.filter(pl.col("engine") == "*", pl.col("hardware_family") == "*")
    params = calibrate.fit(meas, prior=prior, min_rows=8, max_nfev=150, hardware=cpu_catalog)
    ids = params["id"].to_list()
    # by default only CPUs get category rows (GPU segments are keyed by their families); others on request
    assert "*/category:cpu" in ids and "*/category:datacenter" not in ids
    wider = calibrate.fit(meas, prior=prior, min_rows=8, max_nfev=5, hardware=cpu_catalog,
                          categories=("cpu", "datacenter"))
    assert {"*/category:cpu", "*/category:datacenter"} <= set(wider["id"].to_list())
    got = params.filter(pl.col("id") == "*/category:cpu").row(0, named=True)
    assert got["n_measurements"] == 12
    assert got["prefill_compute_efficiency"] == pytest.approx(0.05, rel=0.15)
    assert got["decode_bandwidth_efficiency"] == pytest.approx(0.3, rel=0.15)
    # a CPU of a family no row names: predicted through the category row, close to the truth
    probe = meas.filter(pl.col("hardware") == "xeon-6980p").with_columns(hardware=pl.lit("test-cpu"))
    near = calibrate.predict(probe, efficiency=params, hardware=cpu_catalog)
    assert near["abs_error_pct"].median() < 10.0
    # without the category row it runs on the GPU-fitted figures: several times too fast
    far = calibrate.predict(probe, efficiency=params.filter(~pl.col("hardware_family").str.starts_with("category:")),
                            hardware=cpu_catalog)
    assert far["error_pct"].median() > 100.0


def test_engine_category_row_may_name_its_own_peak_column():
    """llama.cpp's CPU row is a share of the FP32 vector peak (a column every CPU has), while its engine-wide row
    is a share of the int8 tensor peak: every CPU, with or without AMX, then takes the CPU row's compute shares."""
    eff = eff_rows([("*", "*", 0.5, None), ("*", "category:cpu", 0.1, None),
                    ("llama.cpp", "*", 0.6, "int8_tops"), ("llama.cpp", "category:cpu", 0.3, "fp32_tflops")])
    out = perf.resolve_efficiency(eff, pl.DataFrame({"id": ["llama.cpp"]}), HW)
    by_hw = {r["hardware"]: r for r in out.iter_rows(named=True)}
    assert by_hw["xeon-a"]["prefill_compute_efficiency"] == 0.3
    assert by_hw["zen-b"]["prefill_compute_efficiency"] == 0.3  # lacks int8_tops, has fp32_tflops
    assert by_hw["xeon-a"]["peak_column"] == by_hw["zen-b"]["peak_column"] == "fp32_tflops"
    assert by_hw["gpu-c"]["prefill_compute_efficiency"] == 0.6 and by_hw["gpu-c"]["peak_column"] == "int8_tops"


def test_shipped_llama_cpp_cpu_row_runs_on_the_vector_peak():
    """On the Xeon (AMX int8 524 TOPS, FP32 vector 16.4 TFLOPS) a compute-bound llama.cpp prefill is a share of
    16.4 TFLOPS: 2 x 8B params x 2048 tokens at the row's share, not the int8 tensor peak."""
    eff = catalog.load("efficiency")
    row = eff.filter(pl.col("id") == "llama.cpp/category:cpu").row(0, named=True)
    assert row["peak_column"] == "fp32_tflops" and row["n_measurements"] >= 15
    hw = catalog.load("hardware").filter(pl.col("id") == "xeon-6980p").row(0, named=True)
    sc = pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["xeon-6980p"], "precision": ["q8_0"],
                       "engine": ["llama.cpp"], "n_devices": [1], "batch_size": [1], "input_tokens": [2048],
                       "output_tokens": [1]})
    est = perf.estimate(sc).row(0, named=True)
    linear_flops = 2 * 7.5e9 * 2048  # non-embedding weights (8.03 B - 0.525 B embedding table) x tokens
    # the linear layers alone at the share of the FP32 peak: the prefill takes at least that, and not 30 x less
    floor_s = linear_flops / (row["prefill_compute_efficiency"] * hw["fp32_tflops"] * 1e12)
    assert floor_s <= est["prefill_s"] < 2 * floor_s
    assert est["prefill_s"] > 10 * linear_flops / (hw["int8_tops"] * 1e12)


def test_cpu_calibration_rows_are_predicted_from_the_cpu_rows():
    """Regression guard on the shipped CPU measurements (llama.cpp on a Ryzen 9 7950X and Threadripper PROs):
    median 12.3 %, 84 % within 25 %, over the fitted rows on 2026-12-03 (15.3 % and 58 % on the GPU-fitted
    fallbacks, before they had rows of their own)."""
    cpus = catalog.load("hardware").filter(pl.col("category") == "cpu")["id"]
    meas = calibrate.measurements().filter(pl.col("hardware").is_in(cpus.implode()))
    assert meas.height >= 20 and meas["hardware"].n_unique() >= 3
    pred = calibrate.predict(meas)
    fitted = pred.filter(pl.col("use_in_fit"))
    assert fitted["abs_error_pct"].median() <= 14.0
    assert (fitted["abs_error_pct"] <= 25).mean() >= 0.75


def test_fit_keeps_a_category_rows_peak_column_for_it_and_its_families():
    """Synthetic llama.cpp measurements on CPUs made with a CPU row on the FP32 peak: the fitted category row and
    the family row below it keep that peak_column (a family's settings come from its category's row), and the
    shares come back."""
    def row(engine: str, family: str, share: float, column: str | None) -> dict:
        return full_row(engine, family, {"prefill_compute_efficiency": share, "decode_bandwidth_efficiency": 0.7,
                                         "decode_compute_efficiency": 0.4, "attention_efficiency": 0.2},
                        column, workspace_tokens=2048, prefill_chunk_tokens=512)

    truth = pl.DataFrame([row("*", "*", 0.6, None), row("llama.cpp", "*", 0.2, "int8_tops"),
                          row("llama.cpp", "category:cpu", 0.4, "fp32_tflops")],
                         schema_overrides={"peak_column": pl.String})
    rows = []
    for model in ("llama-3.2-3b", "llama-3.1-8b"):
        for hw in ("ryzen-9-7950x", "threadripper-pro-5995wx", "rtx-4090", "h100-sxm", "a100-sxm-80gb", "l40s"):
            for kind, i, o in [("decode_tps_bs1", 0, 128), ("prefill_tps_bs1", 512, 0), ("prefill_tps_bs1", 1024, 0),
                               ("prefill_tps_bs1", 256, 0)]:
                rows.append(dict(id=f"{model}-{hw}-{kind}-{i}", model=model, hardware=hw, precision="q8_0",
                                 engine="llama.cpp", n_devices=1, batch_size=1, input_tokens=i, output_tokens=o,
                                 kind=kind, measured=1.0, unit="tok/s"))
    meas = pl.DataFrame(rows)
    synth = calibrate.predict(meas, efficiency=truth)
    meas = meas.with_columns(measured=synth["predicted"])
    params = calibrate.fit(meas, prior=truth, min_rows=8, max_nfev=80)
    by_id = {r["id"]: r for r in params.iter_rows(named=True)}
    for key in ("llama.cpp/category:cpu", "llama.cpp/zen4"):
        assert by_id[key]["peak_column"] == "fp32_tflops", key
        assert by_id[key]["prefill_compute_efficiency"] == pytest.approx(0.4, rel=0.1), key
    # the engine-wide row is a share of the int8 peak: fitted on the GPU rows only, the CPU rows' 0.4 of another
    # peak does not pull it (it is what every GPU family without a llama.cpp row of its own runs on)
    assert by_id["llama.cpp/*"]["peak_column"] == "int8_tops"
    assert by_id["llama.cpp/*"]["prefill_compute_efficiency"] == pytest.approx(0.2, rel=0.15)  # 0.27 when mixed in
    # the Xeon, never measured here, is predicted on the same basis as the truth (its int8 tensor peak unused)
    probe = meas.filter(pl.col("hardware") == "ryzen-9-7950x", pl.col("kind") == "prefill_tps_bs1").with_columns(
        hardware=pl.lit("xeon-6980p"))
    want = calibrate.predict(probe, efficiency=truth)["predicted"]
    got = calibrate.predict(probe, efficiency=params)["predicted"]
    assert ((got / want - 1).abs() < 0.05).all()


def test_an_engine_on_one_family_keeps_its_peak_columns_shares():
    """llama.cpp measured on H100s only, with a prior whose llama.cpp row is a 0.2 share of the int8 peak: its
    (engine, *) row must not take the (*, *) shares, which are of the native (16-bit) peak. On an A100, where
    llama.cpp was not measured, prefill then runs at the prior's int8-basis share (with the (*, *) shares it was
    0.6 x 624 = 374 TOPS instead of 0.2 x 624 = 125 TOPS: three times too fast)."""
    def row(engine: str, family: str, share: float, column: str | None) -> dict:
        return full_row(engine, family, {"prefill_compute_efficiency": share, "decode_bandwidth_efficiency": 0.7,
                                         "decode_compute_efficiency": 0.4, "attention_efficiency": 0.2}, column)

    truth = pl.DataFrame([row("*", "*", 0.6, None), row("llama.cpp", "*", 0.2, "int8_tops")],
                         schema_overrides={"peak_column": pl.String})
    rows = []
    for model in ("llama-3.2-3b", "llama-3.1-8b"):
        for engine, precision, chips in [("llama.cpp", "q8_0", ("h100-sxm",)),
                                         ("vllm", "bf16", ("h100-sxm", "a100-sxm-80gb", "l40s"))]:
            for hw in chips:
                for kind, i, o in [("decode_tps_bs1", 0, 128), ("prefill_tps_bs1", 512, 0),
                                   ("prefill_tps_bs1", 2048, 0), ("prefill_tps_bs1", 4096, 0)]:
                    rows.append(dict(id=f"{model}-{engine}-{hw}-{kind}-{i}", model=model, hardware=hw,
                                     precision=precision, engine=engine, n_devices=1, batch_size=1, input_tokens=i,
                                     output_tokens=o, kind=kind, measured=1.0, unit="tok/s"))
    meas = pl.DataFrame(rows)
    meas = meas.with_columns(measured=calibrate.predict(meas, efficiency=truth)["predicted"])
    assert meas.filter(pl.col("engine") == "llama.cpp").height >= 8
    params = calibrate.fit(meas, prior=truth, min_rows=8, max_nfev=60)
    by_id = {r["id"]: r for r in params.iter_rows(named=True)}
    engine_row = by_id["llama.cpp/*"]
    assert engine_row["peak_column"] == "int8_tops"
    assert engine_row["prefill_compute_efficiency"] == pytest.approx(0.2)  # the prior's, not (*, *)'s 0.6
    assert by_id["*/*"]["prefill_compute_efficiency"] == pytest.approx(0.6, rel=0.1)
    probe = meas.filter(pl.col("engine") == "llama.cpp", pl.col("kind") == "prefill_tps_bs1").with_columns(
        hardware=pl.lit("a100-sxm-80gb"))
    want = calibrate.predict(probe, efficiency=truth)["predicted"]
    got = calibrate.predict(probe, efficiency=params)["predicted"]
    assert ((got / want - 1).abs() < 0.05).all()

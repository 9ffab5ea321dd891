"""Tests of infer_econ.plot: every chart has unit-bearing axis titles, tooltips, one data set, and renders."""

from __future__ import annotations

import json

import altair as alt
import polars as pl
import pytest
import vl_convert as vlc
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import plot


def _walk(spec, key):
    """Yield every value stored under ``key`` anywhere in a nested spec."""
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k == key:
                yield v
            yield from _walk(v, key)
    elif isinstance(spec, list):
        for v in spec:
            yield from _walk(v, key)


HW = pl.DataFrame({
    "hardware": ["h100-sxm", "l4", "mi300x"], "category": ["datacenter"] * 3,
    "output_tokens_per_s": [3000.0, 400.0, 2500.0], "usd_per_million_output_tokens": [0.4, 0.9, float("nan")],
    "usd_per_hour": [4.0, 0.8, 3.5], "n_devices": [1, 1, 1],
})

CHARTS = {
    "cost_vs_throughput": lambda: plot.cost_vs_throughput(HW.fill_nan(None), highlight="l4"),
    "bars": lambda: plot.bars(HW, "usd_per_hour", "hardware"),
    "lines": lambda: plot.lines(pl.DataFrame({"x_s": [1.0, 2.0], "usd_per_hour": [1.0, 3.0]}), "x_s", "usd_per_hour"),
    "roofline": lambda: plot.roofline(pl.DataFrame({
        "kind": ["roof", "roof", "roof", "point", "point"], "phase": [None, None, None, "prefill", "decode"],
        "arithmetic_intensity_flop_per_byte": [1.0, 295.0, 1e4, 2000.0, 1.0],
        "attainable_tflops": [3.35, 989.0, 989.0, None, None], "achieved_tflops": [None, None, None, 600.0, 2.0]})),
    "pareto": lambda: plot.pareto(pl.DataFrame({
        "model": ["a", "b", "c"], "precision": ["bf16"] * 3, "usd_per_million_tokens": [1.0, 3.0, 2.0],
        "accuracy": [0.6, 0.7, 0.5], "on_frontier": [True, True, False]}), highlight="b"),
    "batch_frontier": lambda: plot.batch_frontier(pl.DataFrame({
        "batch_size_used": [1, 8, 64], "tpot_s": [0.010, 0.0125, 0.033],
        "output_tokens_per_s": [100.0, 640.0, 1920.0], "usd_per_million_output_tokens": [9.0, 1.4, 0.5]}), highlight=8),
    "load_curve": lambda: plot.load_curve(pl.DataFrame({
        "request_rate_per_s": [1.0, 2.0, 3.0], "ttft_p50_s": [0.1, 0.2, None], "ttft_p99_s": [0.3, 0.6, None]}),
        slo_s=0.5),
    "hourly_fleet": lambda: plot.hourly_fleet(pl.DataFrame({
        "hour": [0, 1, 0, 1], "replicas": [2, 2, 1, 2], "strategy": ["fixed", "fixed", "auto", "auto"]})),
    "waterfall": lambda: plot.waterfall(pl.DataFrame({
        "lever": ["baseline", "fp8", "batching"], "usd_per_month": [1000.0, 600.0, 400.0]})),
    "break_even": lambda: plot.break_even(pl.DataFrame({
        "tokens_per_month": [1e6, 1e9, 1e6, 1e9], "usd_per_month": [10.0, 1e4, 2000.0, 2500.0],
        "option": ["api", "api", "self-hosted", "self-hosted"]}), marker=1e8),
    "energy_by_region": lambda: plot.energy_by_region(pl.DataFrame({
        "region": ["fr", "pl"], "hardware": ["h100-sxm"] * 2, "g_co2e_per_request": [0.05, 0.7]})),
    "predicted_vs_measured": lambda: plot.predicted_vs_measured(pl.DataFrame({
        "measured": [1.0, 10.0, 100.0], "predicted": [1.2, 9.0, 130.0], "kind": ["a", "a", "b"]})),
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_renders_with_titles_tooltips_and_one_dataset(name):
    spec = CHARTS[name]().to_dict()
    assert len(spec["datasets"]) == 1, "the view swaps rows of one data set"
    titles = [t for t in _walk(spec, "title") if isinstance(t, str)]
    assert titles, "axes carry titles"
    assert list(_walk(spec, "tooltip")), "every chart has a tooltip"
    svg = vlc.vegalite_to_svg(spec)
    assert svg.startswith("<svg") and "<path" in svg or "<rect" in svg
    json.dumps(spec, allow_nan=False)  # what the widget sends must be plain JSON


def test_axis_titles_carry_units():
    spec = plot.cost_vs_throughput(HW.fill_nan(None)).to_dict()
    enc = spec["layer"][0]["encoding"]
    assert enc["x"]["title"] == "Output tokens/s (whole deployment)"
    assert enc["y"]["title"] == "USD per 1M output tokens"
    assert enc["x"]["scale"]["type"] == "log"


def test_tooltip_formats_numbers_and_titles():
    tips = [t.to_dict() for t in plot.tooltip(HW, ["hardware", "usd_per_hour", "n_devices"])]
    assert tips[0] == {"field": "hardware", "type": "nominal", "title": "Hardware"}
    assert tips[1]["format"] == ",.4~g" and tips[1]["title"] == "USD per hour (deployment)"
    assert tips[2]["format"] == ","


def test_tooltip_skips_missing_columns():
    assert len(plot.tooltip(HW, ["hardware", "not_a_column"])) == 1


def test_highlight_and_slo_are_vega_params():
    spec = CHARTS["cost_vs_throughput"]().to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["highlight"]["value"] == "l4"
    assert params["pick"]["select"]["type"] == "point"
    spec = CHARTS["load_curve"]().to_dict()
    assert {p["name"]: p["value"] for p in spec["params"]} == {"slo_s": 0.5}


@pytest.mark.parametrize("column,expected", [
    ("usd_per_month", "USD per month"),
    ("saved_usd_per_month", "Saved (USD/month)"),
    ("break_even_tokens_per_s", "Break even (tokens/s)"),
    ("latency_ms", "Latency (ms)"),
    ("strategy", "Strategy"),
])
def test_label(column, expected):
    assert plot.label(column) == expected


@settings(max_examples=30, deadline=None)
@given(st.from_regex(r"[a-z]{1,8}(_[a-z]{1,8}){0,4}", fullmatch=True))
def test_label_is_never_empty_and_capitalised(name):
    out = plot.label(name)
    assert out and out[0] == out[0].upper()


def test_theme_sets_size_and_font():
    spec = plot.theme(alt.Chart(HW).mark_point().encode(x="usd_per_hour:Q"), width=300, height=200).to_dict()
    assert spec["width"] == 300 and spec["height"] == 200
    assert spec["config"]["font"].startswith("Helvetica")


def test_save_png_and_html(tmp_path):
    chart = CHARTS["bars"]()
    png = plot.save(chart, str(tmp_path / "c.png"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    page = open(plot.save(chart, str(tmp_path / "c.html"))).read()
    assert "cdn.jsdelivr" not in page and "vega" in page

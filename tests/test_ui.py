"""Tests of the UI kit (infer_econ.ui): knobs, cards, state, views and app wiring, without a browser."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import polars as pl
import pytest

from infer_econ import plot
from infer_econ.errors import ValidationError
from infer_econ.ui import core, knobs
from infer_econ.ui.cards import Card, Cards, fmt
from infer_econ.ui.core import App, ChartView, Result, TableView, clean_frame, download_link
from infer_econ.ui.offline import cache_path, enable_offline


# ----------------------------------------------------------------------------- offline
def test_offline_bundle_has_no_cdn_import():
    enable_offline()
    assert alt.JupyterChart._is_offline
    src = alt.JupyterChart._esm
    assert "esm.sh" not in src and "cdn.jsdelivr" not in src
    assert cache_path().is_file()


# ----------------------------------------------------------------------------- knobs
def test_volume_is_log_slider_with_unit():
    k = knobs.volume(1e6, min=1e3, max=1e10, unit="tokens/month")
    assert (k.min, k.max, k.base) == (3.0, 10.0, 10.0)
    assert k.description == "Tokens/month"


def test_log_slider_rejects_bad_range():
    with pytest.raises(ValueError, match="0 < min < max"):
        knobs.log_slider("x", 1.0, 0.0, 10.0)


def test_model_knob_lists_catalog_ids():
    k = knobs.model("llama-3.1-70b")
    ids = [v for _, v in k.options]
    assert "llama-3.1-8b" in ids and k.value == "llama-3.1-70b"
    assert "resnet-50" not in ids  # text generation only by default


def test_model_knob_unknown_id_lists_valid_ones():
    with pytest.raises(Exception, match="llama-3.1-8b"):
        knobs.model("no-such-model")


def test_hardware_picker_search_and_category():
    p = knobs.hardware("h100-sxm")
    p.category.value = "apple"
    assert p.value.startswith("apple-")  # h100 no longer matches: first Apple chip chosen
    p.category.value = ""
    p.search.value = "4090"
    assert p.value == "rtx-4090"
    p.search.value = "zzzz-nothing"
    assert p.value == "rtx-4090"  # no match keeps the last list and choice
    p.value = "l4"  # set from code: filters clear so the choice is visible
    assert p.choice.value == "l4" and p.search.value == ""


def test_slider_labels_have_units():
    assert knobs.slider("Utilization", 0.5, 0.05, 1.0, 0.05, unit="fraction").description == "Utilization [fraction]"
    assert knobs.tokens("Prompt", 512).description == "Prompt [tokens]"


# ----------------------------------------------------------------------------- cards
def test_fmt():
    # 12,345 USD -> 3 significant digits with k suffix
    assert fmt(12345.0, "usd") == "$12.3k"
    assert fmt(1.5, "usd") == "$1.50"
    assert fmt(0.0042, "ms") == "4.2 ms"
    assert fmt(float("nan")) == "—"
    assert fmt(True) == "yes"


def test_cards_update_and_missing_values():
    cs = Cards([Card("usd_per_month", "Cost per month", "usd"), Card("x", "X")])
    cs.update({"usd_per_month": 2_500_000.0})
    assert "$2.5M" in cs.cards[0].html.value
    assert "—" in cs.cards[1].html.value


def test_card_rejects_unknown_format():
    with pytest.raises(ValueError, match="format"):
        Card("a", "A", "dollars")


# ----------------------------------------------------------------------------- views and app
def _frame(price: float) -> pl.DataFrame:
    return pl.DataFrame({"hardware": ["a", "b", "c"], "category": ["x", "x", "y"],
                         "usd_per_hour": [price, 2 * price, 3 * price],
                         "output_tokens_per_s": [100.0, 200.0, 50.0],
                         "usd_per_million_output_tokens": [price, price / 2, 6 * price]})


def _app(calls=None):
    def compute(v):
        if calls is not None:
            calls.append(dict(v))
        if v["price"] > 9:
            raise ValidationError("column 'usd_per_device_hour': 9.5 is above the catalog's range")
        if v["price"] > 8:
            raise ZeroDivisionError("float division by zero")
        f = _frame(v["price"])
        return Result(frames={"hw": f}, headline={"usd_per_hour": v["price"] * v["devices"]},
                      message=f"{v['devices']} devices")

    ks = {"price": knobs.slider("Price", 1.0, 0.5, 10.0, 0.5, unit="USD/h"),
          "devices": knobs.int_slider("Devices", 1, 1, 8),
          "hardware": knobs.dropdown("Pick", ["a", "b", "c"], "a")}
    views = [
        ChartView("hw", plot.cost_vs_throughput, params=lambda v: {"highlight": v["hardware"]}),
        ChartView("bars", lambda f: plot.bars(f, "usd_per_hour", "hardware"), frame="hw"),
        TableView("table", ["hardware", "usd_per_hour"], {"usd_per_hour": "usd"}, frame="hw"),
    ]
    return App("test", ks, compute, views, cards=Cards([Card("usd_per_hour", "Cost", "usd")]))


def test_app_initial_state_and_knob_change():
    app = _app()
    assert app.state.headline == {"usd_per_hour": 1.0}
    before = app.chart("hw").spec
    app.knobs["price"].value = 2.0
    assert app.state.headline["usd_per_hour"] == 2.0
    after = app.chart("hw").jchart.spec
    assert after != before
    # the rows moved: hardware b costs 2 x 2.0 per hour
    assert [r["usd_per_hour"] for r in app.chart("bars").rows()] == [2.0, 4.0, 6.0]
    assert "$2.00" in app.cards.cards[0].html.value
    assert "$4.00" in app.views[2].html.value
    assert app.status.value and "1 devices" in app.status.value


def test_data_swap_does_not_rebuild_chart():
    app = _app()
    view = app.chart("hw")
    assert view.builds == 1
    sent = _sent_keys(view.jchart)
    for p in (2.0, 3.0, 4.0):
        app.knobs["price"].value = p
    assert "spec" not in sent and sent.count("_py_to_js_updates") == 3  # rows pushed into the live view
    assert view.builds == 1  # rows swapped in the spec, altair not called again
    assert view.jchart.spec["datasets"][view._dataset][0]["usd_per_hour"] == 4.0


def _sent_keys(widget):
    """Record the state keys a widget sends to the browser."""
    sent = []
    orig = widget._send

    def spy(msg, buffers=None):
        sent.extend((msg.get("state") or {}).keys())
        return orig(msg, buffers)

    widget._send = spy
    return sent


def test_param_moves_without_new_data():
    app = _app()
    view = app.chart("hw")
    spec_before = view.jchart.spec
    sent = _sent_keys(view.jchart)
    app.knobs["hardware"].value = "b"
    assert "spec" not in sent and "_params" in sent
    assert view.jchart.params.highlight == "b"
    # the kernel-side spec follows (a page that connects later sees "b"), but nothing was re-sent:
    # the chart moved through its Vega param
    assert {p["name"]: p.get("value") for p in view.jchart.spec["params"]}["highlight"] == "b"
    assert view.builds == 1 and spec_before is not view.jchart.spec
    assert {p["name"]: p.get("value") for p in view.spec["params"]}["highlight"] == "b"


def test_highlight_is_in_spec_after_data_change():
    app = _app()
    app.knobs["hardware"].value = "c"
    app.knobs["price"].value = 3.0
    params = {p["name"]: p.get("value") for p in app.chart("hw").jchart.spec["params"]}
    assert params["highlight"] == "c"


def test_error_shows_friendly_message_and_keeps_last_result():
    app = _app()
    app.knobs["price"].value = 9.5
    assert app.state.error.startswith("column 'usd_per_device_hour'")
    assert "Traceback" not in app.status.value and "⚠" in app.status.value
    assert app.state.headline["usd_per_hour"] == 1.0  # last good result stays
    app.knobs["price"].value = 8.5
    assert "ZeroDivisionError" in app.state.error and "Traceback" not in app.status.value
    app.knobs["price"].value = 3.0
    assert app.state.error is None and "⚠" not in app.status.value
    assert app.state.headline["usd_per_hour"] == 3.0


def test_storm_of_changes_ends_in_final_state():
    app = _app()
    for i in range(200):
        app.knobs["price"].value = 0.5 + (i % 19) * 0.5
        app.knobs["devices"].value = 1 + i % 8
    # last: i = 199 -> price 0.5 + (199 % 19) * 0.5 = 0.5 + 9 * 0.5 = 5.0; devices 1 + 199 % 8 = 8
    assert app.state.values["price"] == 5.0 and app.state.values["devices"] == 8
    assert app.state.headline["usd_per_hour"] == 40.0
    assert app.chart("bars").rows()[0]["usd_per_hour"] == 5.0


def test_hold_coalesces_into_one_compute():
    calls = []
    app = _app(calls)
    n = len(calls)
    app.set(price=2.5, devices=3, hardware="c")
    assert len(calls) == n + 1
    assert app.state.headline["usd_per_hour"] == 7.5


def test_change_during_compute_is_not_lost():
    app = _app()
    inner = app.compute

    def compute(v):
        if v["devices"] == 2:
            app.knobs["devices"].value = 5  # a knob changed while computing
        return inner(v)

    app.compute = compute
    app.knobs["devices"].value = 2
    assert app.state.values["devices"] == 5 and app.state.headline["usd_per_hour"] == 5.0


def test_cache_serves_repeated_values():
    calls = []
    app = _app(calls)
    app.knobs["price"].value = 2.0
    app.knobs["price"].value = 1.0
    app.knobs["price"].value = 2.0
    assert len(calls) == 2  # initial 1.0 and 2.0; the returns were cached
    assert app.state.headline["usd_per_hour"] == 2.0


def test_cache_key_is_the_slider_grid_position():
    app = _app()
    k = app.knobs["price"]
    # 0.7 + 0.05 style sums differ from the grid value in the last bit: the same cache entry
    a = core._key({"price": 1.0 + 0.1 + 0.2 + 0.2, "devices": 1, "hardware": "a"}, app.knobs)
    b = core._key({"price": 1.5, "devices": 1, "hardware": "a"}, app.knobs)
    assert a == b and a != core._key({"price": 2.0, "devices": 1, "hardware": "a"}, app.knobs)
    assert core._grid_position(k, 1.5) == 2 and core._grid_position(k, 1.25) is None  # off the grid: exact value
    log = knobs.log_slider("Volume", 1000.0, 10.0, 1e6, unit="requests/day")
    nxt = core._neighbours(log, 1000.0, 1)
    assert nxt[0] == pytest.approx(1000.0 * 10 ** log.step) and nxt[1] == pytest.approx(1000.0 / 10 ** log.step)
    assert core._neighbours(k, 10.0, 1) == [9.5]  # at the top only the step down is left
    assert core._neighbours(app.knobs["devices"], 3, -1) == [2, 4]


def test_prefetch_computes_the_next_step_and_the_move_reuses_it():
    calls = []
    app = _app(calls)
    app.knobs["price"].value = 1.5  # moved up
    assert [c["price"] for c in app.prefetch_candidates()] == [2.0]  # 1.0 (back) is in the cache
    n = len(calls)
    assert app.prefetch_once() and len(calls) == n + 1 and app.prefetched == 1
    assert not app.prefetch_once()  # nothing left one step away
    app.knobs["price"].value = 2.0  # the user's move: served from the prefetched result
    assert len(calls) == n + 1 and app.state.headline["usd_per_hour"] == 2.0
    assert [r["usd_per_hour"] for r in app.chart("bars").rows()] == [2.0, 4.0, 6.0]
    app.knobs["price"].value = 1.5  # moved down: 1.0 one step further is cached, 2.0 too
    assert app.prefetch_candidates() == []


def test_prefetch_skips_errors_and_keeps_none():
    calls = []
    app = _app(calls)
    app.knobs["price"].value = 7.5  # moved up; 8.0 computes, 8.5 raises
    app.knobs["price"].value = 8.0
    n = len(calls)
    assert app.prefetch_once() is False  # the one candidate (8.5; 7.5 is cached) failed: nothing kept
    assert [c["price"] for c in calls[n:]] == [8.5] and app.prefetched == 0
    assert core._key({**app.values(), "price": 8.5}, app.knobs) not in app._cache
    m = len(calls)
    app.knobs["price"].value = 8.5
    assert len(calls) == m + 1 and "ZeroDivisionError" in app.state.error  # computed now, no cached error


def test_prefetch_runs_on_the_kernel_loop_and_a_move_cancels_it():
    import asyncio

    async def scenario():
        calls = []
        app = _app(calls)
        app.knobs["price"].value = 1.5  # in the loop: a prefetch is scheduled after the redraw
        assert app._prefetch_handle is not None
        app.knobs["price"].value = 1.0  # a move cancels what is pending and schedules anew
        await asyncio.sleep(app.PREFETCH_DELAY_S + 0.2)
        assert app.prefetched >= 1 and app._prefetch_handle is None
        n = len(calls)
        app.knobs["price"].value = 0.5  # one step down from 1.0 (moved down last)
        assert len(calls) == n and app.state.headline["usd_per_hour"] == 0.5
        no = _app()
        no.prefetch = False
        no.knobs["price"].value = 2.0
        assert no._prefetch_handle is None

    import threading

    failure = []

    def run():  # a loop of its own (the test process may already run one, e.g. a browser test's)
        try:
            asyncio.run(scenario())
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    if failure:
        raise failure[0]


def test_prefetch_order_moved_slider_first_other_primary_sliders_after_a_pause():
    app = _app()
    for name in ("price", "devices"):
        app.knobs[name].add_class("ie-primary")
    assert app._prefetch_plan() == [] and not app.prefetch_once()  # nothing before the user's first move
    app.knobs["devices"].value = 4
    app.knobs["devices"].value = 3  # moved down last: 2 first, then 4 (cached), then the price slider
    plan = app._prefetch_plan()
    assert [(r, c["devices"], c["price"]) for r, c in plan] == [(0, 2, 1.0), (1, 3, 1.5), (1, 3, 0.5)]
    assert app.prefetch_once(max_rank=0) and not app.prefetch_once(max_rank=0)  # only the moved slider
    assert app.prefetch_once(max_rank=1) and app.prefetched == 2
    assert [c["price"] for c in app.prefetch_candidates()] == [0.5]


def test_row_count_layouts_are_built_once_and_can_be_warmed_ahead():
    calls = []

    def build(f):
        calls.append(f.height)
        return plot.cost_vs_throughput(f)

    view = ChartView("hw", build)
    frames = {n: {"hw": _frame(1.0).head(n)} for n in (1, 2, 3)}
    view.update(frames[3], {})
    assert calls == [3]
    view.update(frames[2], {})  # fewer rows, same layout: built once to compare, rows pushed
    assert calls == [3, 2] and view.builds == 1 and len(view.rows()) == 2
    view.update(frames[3], {})
    view.update(frames[2], {})  # seen before: no altair build
    assert calls == [3, 2] and len(view.rows()) == 2
    view.warm(frames[1], {})  # built ahead (a prefetch), nothing drawn
    assert calls == [3, 2, 1] and len(view.rows()) == 2
    view.update(frames[1], {})
    assert calls == [3, 2, 1] and [r["hardware"] for r in view.rows()] == ["a"]
    bars = ChartView("bars", lambda f: plot.bars(f, "usd_per_hour", "hardware"))
    big = {"bars": pl.DataFrame({"hardware": [f"h{i}" for i in range(30)], "usd_per_hour": [1.0] * 30})}
    bars.update({"bars": big["bars"].head(2)}, {})
    bars.update(big, {})  # a bar chart's height grows with its rows: a new layout, a new embed
    assert bars.builds == 2 and len(bars.rows()) == 30


def test_a_chart_with_several_data_sets_shows_this_frames_rows_at_a_row_count_seen_before():
    def build(f):
        return alt.layer(alt.Chart(f).mark_point().encode(x="a:Q"),
                         alt.Chart(f.with_columns(b=pl.col("a") * 2)).mark_point().encode(x="b:Q"))

    view = ChartView("two", build)
    view.update({"two": pl.DataFrame({"a": [1.0, 2.0, 3.0]})}, {})
    view.update({"two": pl.DataFrame({"a": [1.0, 2.0]})}, {})
    view.update({"two": pl.DataFrame({"a": [7.0, 8.0, 9.0]})}, {})  # three rows again, other values
    shown = sorted(r.get("a") for rows in view.spec["datasets"].values() for r in rows)
    assert shown == [7.0, 7.0, 8.0, 8.0, 9.0, 9.0]


def test_pushed_rows_are_in_the_widget_state_a_new_page_reads():
    app = _app()
    app.knobs["price"].value = 3.0
    view = app.chart("hw")
    state = view.jchart.get_state()
    assert state["spec"]["datasets"][view._dataset][0]["usd_per_hour"] == 3.0


def test_set_rejects_unknown_knob():
    with pytest.raises(ValueError, match="unknown knob"):
        _app().set(nope=1)


def test_exports_make_download_links():
    app = _app()
    view = app.chart("hw")
    view.exports.csv.click()
    assert 'download="hw.csv"' in view.exports.link.value and "data:text/csv;base64," in view.exports.link.value
    view.exports.png.click()
    assert 'download="hw.png"' in view.exports.link.value and "data:image/png;base64,iVBOR" in view.exports.link.value
    table = app.views[2]
    table.exports.csv.click()
    assert 'download="table.csv"' in table.exports.link.value


def test_clean_frame_and_download_link():
    assert clean_frame(pl.DataFrame({"a": [float("-inf"), 2.0]}))["a"].to_list() == [None, 2.0]
    assert "base64,YSxi" in download_link(b"a,b", "x.csv", "text/csv")


def test_app_displays_as_widget():
    bundle = _app()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


# ----------------------------------------------------------------------------- workbook apps
import functools  # noqa: E402

from infer_econ.ui import apps  # noqa: E402


@functools.cache
def _hardware_app():
    return apps.hardware()


def test_hardware_app_compares_every_priced_accelerator():
    app = _hardware_app()
    assert app.state.error is None, app.state.traceback
    frame = app.state.frames["hardware"]
    assert frame.height >= 10 and frame["fits"].all()
    assert frame["usd_per_million_output_tokens"].is_sorted()
    # the headline is the highlighted accelerator's row of the same frame
    row = frame.filter(hardware=app.knobs["pick"].value).row(0, named=True)
    assert app.state.headline["usd_per_million_output_tokens"] == row["usd_per_million_output_tokens"]


def test_hardware_app_says_whether_the_speeds_are_calibrated_for_the_pick():
    app = _hardware_app()
    try:
        app.set(engine="vllm", pick="h100-sxm")  # vLLM has no Hopper row of its own: the engine-wide row
        assert app.state.notes["output_tokens_per_s"] == "not calibrated for vllm on this family: fallback row vllm/*"
        app.set(engine="tensorrt-llm")
        assert app.state.notes["output_tokens_per_s"] == (
            "calibrated: tensorrt-llm measured on this family (tensorrt-llm/hopper)")
        frame = app.state.frames["hardware"]
        assert frame.filter(hardware="h100-sxm")["efficiency_fitted"].item() is True
    finally:
        app.set(engine="vllm")


def test_hardware_app_knob_moves_frame_chart_and_headline():
    app = _hardware_app()
    before_spec = app.chart("hardware").jchart.spec
    before = app.state.headline["usd_per_million_output_tokens"]
    app.knobs["input_tokens"].value = 4000.0
    try:
        assert app.state.values["input_tokens"] == 4000.0
        assert app.state.headline["usd_per_million_output_tokens"] != before
        assert app.chart("hardware").jchart.spec != before_spec
    finally:
        app.knobs["input_tokens"].value = 1000.0


def test_hardware_app_reports_a_model_that_does_not_fit():
    app = _hardware_app()
    app.set(model="llama-3.1-70b", precision="bf16", n_devices=1, pick="h100-sxm")
    try:
        assert "cannot run" in app.state.message and "weights" in app.state.message
        assert "h100-sxm" in app.state.frames["does_not_fit"]["hardware"].to_list()
        assert app.state.headline["output_tokens_per_s"] is None  # no made-up number
        assert app.state.error is None
    finally:
        app.set(model="llama-3.1-8b", precision="fp8")


def test_hardware_app_highlight_moves_param_only():
    app = _hardware_app()
    view = app.chart("hardware")
    builds = view.builds
    app.knobs["pick"].value = "l40s"
    assert view.jchart.params.highlight == "l40s" and view.builds == builds
    assert app.state.headline["usd_per_million_output_tokens"] == app.state.frames["hardware"].filter(
        hardware="l40s")["usd_per_million_output_tokens"].item()
    app.knobs["pick"].value = "h100-sxm"


def test_primary_sliders_are_marked():
    app = _hardware_app()
    marked = [n for n, k in app.knobs.items() if apps.PRIMARY_CLASS in k._dom_classes]
    assert set(marked) == {"input_tokens", "output_tokens", "n_devices"}


def test_quantization_app_precisions_and_fit():
    app = apps.quantization()
    assert app.state.error is None, app.state.traceback
    prec = app.state.frames["precisions"]["precision"].to_list()
    assert "int4" in prec and "bf16" not in prec  # 70B in bf16 (141 GB) does not fit one 80 GB H100
    counts = dict(app.state.frames["fit_count"].iter_rows())
    assert counts["int4"] >= counts["fp8"] >= counts["bf16"]  # fewer bits fit on more devices
    app.knobs["n_devices"].value = 2
    assert app.state.frames["fit_count"].filter(precision="bf16")["devices_that_fit"].item() >= counts["bf16"]


def test_start_here_volume_moves_headline_and_marker_only():
    app = apps.start_here()
    assert app.state.error is None, app.state.traceback
    view = app.chart("monthly_cost")
    rows_before = view.rows()
    a = app.state.headline["api_usd_per_month"]
    app.knobs["requests_per_day"].value = 100_000.0
    # the API bill is proportional to volume: 10x the requests, 10x the bill
    assert app.state.headline["api_usd_per_month"] == pytest.approx(10 * a)
    assert view.jchart.params.volume == 100_000.0
    assert view.rows() == rows_before  # the sweep did not change: only the marker moved
    opts = {r["option"] for r in view.rows()}
    assert any(o.startswith("self-hosted") for o in opts) and any(o.startswith("API") for o in opts)


def test_start_here_self_hosted_cost_is_a_staircase_of_replicas():
    app = apps.start_here()
    f = app.state.frames["monthly_cost"].filter(pl.col("option").str.starts_with("self-hosted"))
    per_replica = (f["usd_per_month"] / f["replicas"]).to_list()
    assert max(per_replica) == pytest.approx(min(per_replica))  # every replica costs the same per month
    assert f["replicas"].is_sorted() and f["replicas"].min() == 1


def test_start_here_unpriced_hardware_is_a_friendly_error():
    app = apps.start_here()
    app.knobs["hardware"].value = "rtx-4090"
    app.knobs["price_model"].value = "reserved_3y"
    assert app.state.error and "rtx-4090" in app.state.error and "reserved_3y" in app.state.error
    assert "Traceback" not in app.status.value


def test_latency_app_slo_moves_rule_and_headline():
    app = apps.latency()
    assert app.state.error is None, app.state.traceback
    ttft = app.chart("ttft_under_load")
    before = app.state.headline["max_rate_within_slo"]
    app.knobs["slo_ttft_p99_s"].value = 0.3
    assert ttft.jchart.params.slo_s == 0.3
    assert app.state.headline["max_rate_within_slo"] < before  # a tighter target admits less load
    load = app.state.frames["ttft_under_load"]
    assert load["ttft_p99_s"].drop_nulls().is_sorted()  # latency never falls as the rate rises
    frontier = app.state.frames["batch_frontier"]
    assert frontier["output_tokens_per_s"].is_sorted() and frontier["tpot_s"].is_sorted()


def test_latency_app_more_demand_needs_more_replicas():
    app = apps.latency()
    r1 = app.state.headline["replicas"]
    app.knobs["request_rate_per_s"].value = 200.0
    assert app.state.headline["replicas"] > r1
    assert app.state.headline["batch_usd_per_million_output_tokens"] <= \
        app.state.headline["interactive_usd_per_million_output_tokens"]


def test_build_vs_buy_shock_moves_lock_in():
    app = apps.build_vs_buy()
    assert app.state.error is None, app.state.traceback
    h = dict(app.state.headline)
    app.knobs["api_price_change"].value = 0.5
    h2 = app.state.headline
    # staying on the API costs 1.5x its monthly bill over the horizon; switching is unchanged
    assert h2["stay_cost_usd"] == pytest.approx(1.5 * h["stay_cost_usd"])
    assert h2["switch_cost_usd"] == pytest.approx(h["switch_cost_usd"])
    rows = {r["choice"]: r["usd_over_horizon"] for r in app.chart("stay_or_switch").rows()}
    assert rows["stay on the API"] == pytest.approx(h2["stay_cost_usd"])


def test_build_vs_buy_too_few_devices_is_a_message_not_an_error():
    app = apps.build_vs_buy()
    app.set(model="llama-3.1-405b", n_devices=1)
    assert app.state.error is None and "does not run" in app.state.message
    assert app.state.headline["self_hosted_usd_per_month"] is None


def test_model_size_frontier_target_and_volume():
    app = apps.model_size()
    assert app.state.error is None, app.state.traceback
    f = app.state.frames["models"]
    front = f.filter("on_frontier").sort("usd_per_month")
    assert front["quality"].is_sorted()  # along the frontier, paying more buys more quality
    pick = app.state.headline["good_enough_model"]
    row = f.filter(model=pick).row(0, named=True)
    assert row["quality"] >= 70.0
    assert row["usd_per_month"] == f.filter(pl.col("quality") >= 70.0)["usd_per_month"].min()
    before = app.state.headline["good_enough_usd_per_month"]
    app.knobs["requests_per_day"].value = 1_000_000.0
    assert app.state.headline["good_enough_usd_per_month"] == pytest.approx(10 * before)
    app.knobs["quality_target"].value = 95.0  # the slider maximum; no catalog model scores this
    assert app.state.headline["good_enough_model"] is None and "lower the target" in app.state.message
    assert app.chart("models").jchart.params.target == 95.0


def test_value_of_accuracy_marginal_value_and_cascade():
    app = apps.value_of_accuracy()
    assert app.state.error is None, app.state.traceback
    # 100,000/day × 730/24 days × (0.05 + 0.02) × 0.01 = 2129.17 USD per month
    assert app.state.headline["marginal_value_of_accuracy_usd"] == pytest.approx(100_000 * 730 / 24 * 0.07 * 0.01)
    nv = app.state.frames["net_value"]
    assert nv["net_value_usd_per_month"].is_sorted(descending=True)
    casc = app.state.frames["cascade"]
    assert casc["cascade_usd_per_request"].is_sorted()  # escalating more costs more
    before = app.chart("net_value").rows()
    app.knobs["value_per_correct_usd"].value = 1.0
    assert app.chart("net_value").rows() != before
    assert app.state.headline["marginal_value_of_accuracy_usd"] == pytest.approx(100_000 * 730 / 24 * 1.02 * 0.01)


def test_edge_vs_cloud_life_moves_break_even():
    app = apps.edge_vs_cloud()
    assert app.state.error is None, app.state.traceback
    h = dict(app.state.headline)
    assert h["edge_capacity_requests_per_day"] > 0 and h["edge_latency_s"] > 0
    app.knobs["edge_lifetime_years"].value = 6.0
    # a longer life spreads the price thinner: lower fixed cost per day, lower break-even
    assert app.state.headline["edge_fixed_usd_per_day"] < h["edge_fixed_usd_per_day"]
    be = app.state.headline["break_even_vs_api"]
    assert be is None or h["break_even_vs_api"] is None or be < h["break_even_vs_api"]
    lat = {r["option"].split(":")[0]: r["latency_s"] for r in app.chart("latency").rows()}
    assert set(lat) == {"edge", "cloud GPU", "API"}


def test_sustainability_pue_scales_operational_not_embodied():
    app = apps.sustainability()
    assert app.state.error is None, app.state.traceback
    h = dict(app.state.headline)
    app.knobs["pue"].value = 1.8
    h2 = app.state.headline
    # facility energy is proportional to PUE: 1.8 / 1.2 = 1.5
    assert h2["kwh_per_million_output_tokens"] == pytest.approx(1.5 * h["kwh_per_million_output_tokens"])
    assert h2["g_co2e_per_request"] == pytest.approx(1.5 * h["g_co2e_per_request"])
    assert h2["g_co2e_per_request_embodied"] == pytest.approx(h["g_co2e_per_request_embodied"])
    regions = app.state.frames["carbon_by_region"]
    assert set(regions["scope"]) == {"operational", "embodied"}
    assert "aws:us-east-1" in regions["region"].to_list()  # your region is always shown


def test_sustainability_grid_sets_are_not_mixed():
    app = apps.sustainability()
    app.knobs["grid_set"].value = "country|lifecycle"
    from infer_econ import catalog
    g = catalog.load("grid_carbon")
    shown = set(app.state.frames["carbon_by_region"]["region"]) - {app.knobs["region"].value}
    assert set(g.filter(pl.col("id").is_in(list(shown)))["metric"]) == {"lifecycle"}


def test_autoscaling_saves_over_fixed_and_policy_moves_it():
    app = apps.autoscaling()
    assert app.state.error is None, app.state.traceback
    h = dict(app.state.headline)
    assert h["autoscaled_total_usd"] <= h["fixed_total_usd"]  # demand varies: autoscaling never costs more
    assert h["cheapest_total_usd"] <= h["autoscaled_total_usd"]
    hourly = app.state.frames["hourly"]
    assert set(hourly["strategy"]) == {"fixed for peak", "autoscaled"} and hourly.height == 2 * 168
    app.knobs["peak_to_trough_ratio"].value = 1.0
    # a flat day (weekends still dip): autoscaling saves a smaller share than with a 4x daily swing
    h2 = app.state.headline
    saving = 1 - h["autoscaled_total_usd"] / h["fixed_total_usd"]
    saving_flat = 1 - h2["autoscaled_total_usd"] / h2["fixed_total_usd"]
    assert 0 <= saving_flat < saving
    assert app.chart("hourly").rows() != []


def test_planner_pnl_bands_waterfall_and_files():
    from infer_econ import scenario as sc

    app = apps.planner()
    assert app.state.error is None, app.state.traceback
    pnl = app.state.frames["pnl"]
    assert (pnl["p10"] <= pnl["p50"]).all() and (pnl["p50"] <= pnl["p90"]).all()
    wf = app.state.frames["waterfall"]
    assert wf["lever"][0] == "baseline" and wf["usd_per_request"].is_sorted(descending=True)
    before = app.state.headline["usd_per_month"]
    app.knobs["requests_per_day"].value = 2_000_000.0
    assert app.state.headline["usd_per_month"] == pytest.approx(10 * before)  # 10x the requests at the same cost each
    assert app.chart("monthly_cost").jchart.params.volume == 2_000_000.0
    app.save_scenario()
    assert 'download="scenario.json"' in app.extras[-1].value
    text = sc.dumps(sc.validate({**apps._scenario_of(app.values()), "model": "llama-3.1-8b", "n_devices": 1}))
    app.load_scenario(text)
    assert app.values()["model"] == "llama-3.1-8b" and app.values()["n_devices"] == 1
    assert app.values()["requests_per_day"] == pytest.approx(2_000_000.0)
    app.make_report()
    assert 'download="report.html"' in app.extras[-1].value
    with pytest.raises(Exception, match="n_devices"):
        app.load_scenario(text.replace('"n_devices": 1', '"n_devices": -3'))


def test_calibrate_band_fit_and_upload():
    from infer_econ.io import read_any

    app = apps.calibrate()
    assert app.state.error is None, app.state.traceback
    n = app.state.headline["n_measurements"]
    w25 = app.state.headline["within_band_before"]
    app.knobs["band_pct"].value = 100.0
    assert n >= app.state.headline["within_band_before"] >= w25  # a wider band holds at least as many rows
    assert app.chart("predicted_vs_measured").jchart.params.band_pct == 100.0
    app.fit()
    assert app.state.headline["median_ape_after"] is not None
    assert "efficiency" in app.state.frames and app.state.frames["efficiency"].height >= 1
    frame = read_any(Path(__file__).parent / "data" / "calibration.csv")
    app.upload_frame(frame, "calibration.csv")
    assert app.values()["dataset"] == "uploaded"
    assert 0 < app.state.headline["n_measurements"] <= frame.height
    assert app.state.headline["median_ape_after"] is None  # not fitted to this file yet


def test_calibrate_without_upload_is_a_friendly_error():
    app = apps.calibrate()
    app.knobs["dataset"].value = "uploaded"
    assert "no file uploaded" in app.state.error


def _fields(spec):
    """Every data field a chart's encodings read (transforms' own outputs excluded)."""
    made = set()
    for key in ("transform",):
        for t in spec.get(key, []) if isinstance(spec, dict) else []:
            made |= {t.get("as")} if isinstance(t.get("as"), str) else set(t.get("as") or [])
            for k in ("window", "aggregate"):
                made |= {w.get("as") for w in t.get(k, [])}
            made |= {k for k in t if k not in ("filter", "fold", "as", "window", "aggregate", "sort", "frame",
                                                "groupby", "calculate")}
    out = set()
    if isinstance(spec, dict):
        for ch, enc in (spec.get("encoding") or {}).items():
            items = enc if isinstance(enc, list) else [enc]
            for e in items:
                if isinstance(e, dict) and isinstance(e.get("field"), str):
                    out.add(e["field"])
        for sub in spec.get("layer", []):
            out |= _fields(sub)
    return out - made


@pytest.mark.parametrize("builder", [n for n in apps.__all__ if n != "PRIMARY_CLASS"])
def test_every_chart_reads_columns_that_exist(builder):
    app = getattr(apps, builder)()
    assert app.state.error is None, app.state.traceback
    for view in app.views:
        if not hasattr(view, "jchart") or view.spec is None:
            continue
        rows = view.rows()
        assert rows, f"{builder}: chart {view.name} has no rows"
        columns = set(rows[0])
        derived = {"value", "series", "_start", "_direction", "_order", "_previous", "_v", "_end", "_up", "_down",
                   "lo", "hi", "_n"}
        missing = _fields(view.spec) - columns - derived
        assert not missing, f"{builder}: chart {view.name} encodes missing columns {missing}"


def test_a_rebuilt_chart_gets_a_fresh_widget():
    # altair's JupyterChart front end keeps the listeners of every earlier embed; a second embed on one
    # widget makes the next row push fail in the browser. So every (re)build shows a new widget.
    app = _app()
    view = app.chart("hw")
    first = view.jchart
    assert view.widget.children[0] is first
    view._embed(view._chart, view.spec, {"highlight": "c"})
    assert view.jchart is not first and view.widget.children[0] is view.jchart
    assert first.comm is None  # the old widget is closed, not left behind in the page
    assert view.jchart.params.highlight == "c"
    # a row swap afterwards goes to the new widget only, as a data push (no spec)
    sent = _sent_keys(view.jchart)
    app.knobs["price"].value = 3.0
    assert "_py_to_js_updates" in sent and "spec" not in sent


def test_a_kept_calibration_reaches_the_other_workbooks(tmp_path, monkeypatch):
    """Workbook 11 keeps a fit; a workbook built afterwards estimates with it and says so."""
    from infer_econ import calibrate, catalog
    from infer_econ.ui import apps

    monkeypatch.setenv("INFER_ECON_HOME", str(tmp_path))
    apps._calibration.cache_clear()
    kw = dict(engine="llama.cpp", precision="q4_k_m", pick="rtx-4090")
    shipped = apps.hardware(**kw)
    assert "ie-note" not in str([getattr(c, "value", "") for c in shipped.widget.children])

    cal_app = apps.calibrate(engine="llama.cpp")
    cal_app.keep()
    assert not (tmp_path / "efficiency.csv").exists(), "nothing is kept before a fit"
    cal_app.fit()
    cal_app.keep()
    assert (tmp_path / "efficiency.csv").is_file() and "every workbook" in cal_app.extras[2].value
    rows = calibrate.load_user_efficiency()
    assert set(rows.filter(pl.col("origin") == "user")["engine"].to_list()) == {"llama.cpp"}

    # a kept table whose llama.cpp decode reaches half the bandwidth: the hardware workbook slows down
    slow = catalog.load("efficiency").filter(pl.col("engine") == "llama.cpp").with_columns(
        pl.col("decode_bandwidth_efficiency") * 0.5)
    calibrate.save_user_efficiency(slow)
    apps._calibration.cache_clear()
    mine = apps.hardware(**kw)
    assert "Using your calibration" in mine.widget.children[1].value
    tps = lambda app: app.state.frames["hardware"].filter(pl.col("hardware") == "rtx-4090")["output_tokens_per_s"].item()
    assert tps(mine) < 0.8 * tps(shipped)
    apps._calibration.cache_clear()


def test_edge_vs_cloud_takes_a_cpu_with_its_catalog_price():
    """A desktop CPU is an edge device too (llama.cpp on its cores, calibrated on CPU rows): its fixed cost per
    day is the catalog MSRP over the device life plus its idle power all day, by hand:
    699 USD / (3 years x 365 days) + 25 W x 24 h / 1000 x 0.0806 USD/kWh = 0.6867 USD/day."""
    app = apps.edge_vs_cloud(device="ryzen-9-7950x")
    assert app.state.error is None, app.state.traceback
    assert app.state.notes["edge_fixed_usd_per_day"] == "catalog price"
    life = app.knobs["edge_lifetime_years"].value
    usd_per_kwh = app.knobs["electricity_usd_per_kwh"].value
    assert app.state.headline["edge_fixed_usd_per_day"] == pytest.approx(699.0 / (life * 365) + 25 * 24 / 1000 * usd_per_kwh)
    assert app.state.headline["edge_capacity_requests_per_day"] > 0
    lat = {r["option"].split(":")[0]: r["latency_s"] for r in app.chart("latency").rows()}
    assert lat["edge"] > 0

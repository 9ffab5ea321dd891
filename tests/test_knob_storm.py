"""Knob storms on real workbook apps: 200 changes in 5 s leave the app responsive and its final state correct.

The storm is delivered the way a browser delivers it: changes are scheduled
evenly over 5 s; while the kernel is busy with one change, ipywidgets keeps
only the latest value of each widget and sends it when the kernel is free (one
message in flight per widget). Some changes are out of range (the sliders clamp
them) or not an option (the widget refuses them). After the storm the app must
be idle (nothing pending), show no error, and its state, cards, charts and
tables must equal a fresh computation at the final knob values: no stale
cached result, no lost last change.

The 20-concurrent-sessions figure is measured in the browser by
``benchmarks/bench_browser.py``; it is not repeated here.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict

import polars as pl
import pytest
import traitlets

from infer_econ.ui import apps
from infer_econ.ui.core import ChartView, TableView, clean_frame

CHANGES = 200
DURATION_S = 5.0


def _choices(app, name):
    k = app.knobs[name]
    if hasattr(k, "options") and not hasattr(k, "min"):
        vals = [o[1] if isinstance(o, tuple) else o for o in k.options]
        return lambda rnd: rnd.choice(vals + ["not-an-option"])
    if hasattr(k, "base"):  # log slider: values in [base^min, base^max], a few outside
        lo, hi = k.base ** k.min, k.base ** k.max
        return lambda rnd: rnd.choice([lo / 10, hi * 10]) if rnd.random() < 0.1 else rnd.uniform(lo, hi)
    if hasattr(k, "min"):
        lo, hi = k.min, k.max
        if isinstance(k.value, int):
            return lambda rnd: rnd.randint(lo - 3, hi + 3)
        return lambda rnd: rnd.uniform(lo - abs(lo) - 1, hi * 2)
    return None


def _storm_changes(app, knobs, seed):
    rnd = random.Random(seed)
    makers = {k: _choices(app, k) for k in knobs}
    makers = {k: m for k, m in makers.items() if m is not None}
    return [(k, makers[k](rnd)) for k in rnd.choices(sorted(makers), k=CHANGES)]


def _deliver(app, changes, duration_s=DURATION_S):
    """Deliver ``changes`` evenly over ``duration_s``, coalescing per knob while the app is busy."""
    dt = duration_s / len(changes)
    pending: OrderedDict[str, object] = OrderedDict()
    i = applied = refused = 0
    t0 = time.perf_counter()
    worst = 0.0
    while i < len(changes) or pending:
        now = time.perf_counter() - t0
        while i < len(changes) and i * dt <= now:
            k, v = changes[i]
            pending[k] = v
            pending.move_to_end(k)
            i += 1
        if not pending:
            time.sleep(max(0.0, i * dt - (time.perf_counter() - t0)))
            continue
        k, v = pending.popitem(last=False)
        start = time.perf_counter()
        try:
            app.knobs[k].value = v
        except traitlets.TraitError:  # not an option: the widget refuses it, the knob keeps its value
            refused += 1
        worst = max(worst, time.perf_counter() - start)
        applied += 1
    return {"delivered": len(changes), "applied": applied, "refused": refused, "worst_s": worst,
            "overrun_s": time.perf_counter() - t0 - duration_s}


def _assert_final_state_is_fresh(app):
    values = app.values()
    assert not app._busy and not app._dirty, "the app still has work pending after the storm"
    for name, knob in app.knobs.items():  # knobs stayed inside their ranges
        if hasattr(knob, "min") and not hasattr(knob, "base"):
            assert knob.min <= knob.value <= knob.max, name
    fresh = app.compute(dict(values))  # bypasses the cache
    assert app.state.values == values
    assert app.state.error is None, app.state.error
    assert set(app.state.frames) == set(fresh.frames)
    for key, frame in fresh.frames.items():
        assert app.state.frames[key].equals(frame), f"frame {key!r} is stale"
    assert app.state.headline == fresh.headline
    assert app.state.message == fresh.message
    for view in app.views:
        if view.key not in fresh.frames:
            continue
        if isinstance(view, ChartView) and view.frame is not None:
            assert view.frame.equals(clean_frame(fresh.frames[view.key])), f"chart {view.name!r} shows stale rows"
        if isinstance(view, TableView) and view.frame is not None:
            cols = [c for c in (view.columns or fresh.frames[view.key].columns) if c in fresh.frames[view.key].columns]
            assert view.frame.equals(fresh.frames[view.key].select(cols)), f"table {view.name!r} is stale"


@pytest.mark.parametrize("builder, knobs, seed", [
    (apps.hardware, ["input_tokens", "output_tokens", "n_devices", "batch_size", "price_model", "precision"], 1),
    (apps.quantization, ["n_devices", "input_tokens", "output_tokens", "precision", "price_model"], 2),
    (apps.planner, ["requests_per_day", "utilization", "n_devices", "batch_size", "input_tokens", "pue",
                    "price_model", "precision"], 3),
])
def test_storm_of_200_changes_in_5_s(builder, knobs, seed):
    app = builder()
    assert app.state.error is None
    changes = _storm_changes(app, knobs, seed)
    stats = _deliver(app, changes)
    print(f"\n{builder.__name__}: {stats}, computes {app.state.computes}")
    assert stats["applied"] <= CHANGES
    _assert_final_state_is_fresh(app)
    # still responsive: the next change is computed and drawn at once
    name = knobs[0]
    k = app.knobs[name]
    k.value = k.base ** k.min if hasattr(k, "base") else k.min
    assert app.state.values[name] == k.value
    _assert_final_state_is_fresh(app)


def test_back_to_back_storm_without_pauses():
    """200 changes with no time between them (a script, or a replay): the last one wins."""
    app = apps.hardware()
    rnd = random.Random(7)
    for _ in range(CHANGES):
        app.knobs["n_devices"].value = rnd.randint(-2, 12)
        app.knobs["input_tokens"].value = rnd.uniform(1, 1e6)
    _assert_final_state_is_fresh(app)


def test_changes_arriving_mid_compute_are_coalesced():
    """A change that lands while a compute runs marks the state dirty; one more compute runs with the final values."""
    app = apps.hardware()
    original = app.compute
    seen = []
    late = iter([3, 5, 7])

    def slow_compute(values):
        seen.append(values["n_devices"])
        nxt = next(late, None)
        if nxt is not None:
            app.knobs["n_devices"].value = nxt  # arrives while busy
        return original(values)

    app.compute = slow_compute
    app.knobs["n_devices"].value = 2
    assert seen == [2, 3, 5, 7], seen
    assert app.state.values["n_devices"] == 7
    app.compute = original
    _assert_final_state_is_fresh(app)


def test_storm_through_errors_recovers():
    """Mid-storm combinations that cannot be computed show a message; the final good one clears it."""
    app = apps.quantization()
    fail_at = {4}

    original = app.compute

    def flaky(values):
        if values["n_devices"] in fail_at:
            raise ZeroDivisionError("simulated failure")
        return original(values)

    app.compute = flaky
    for n in [1, 4, 2, 4, 8, 4]:
        app.knobs["n_devices"].value = n
    assert app.state.error is not None and "Traceback" not in app.status.value
    app.knobs["n_devices"].value = 2
    assert app.state.error is None and "ie-error" not in app.status.value
    app.compute = original
    _assert_final_state_is_fresh(app)
    assert isinstance(app.state.frames["precisions"], pl.DataFrame)

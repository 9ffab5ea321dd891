"""State and views: knobs set state, the state calls the library, views draw what comes back.

- :class:`State` holds the knob values and the last result (frames and
  headline numbers) or the error that replaced it.
- :class:`ChartView` shows one chart in an ``alt.JupyterChart``. The chart is
  built once; on later updates only its rows are swapped in the Vega-Lite spec
  (no altair rebuild, no validation), and Vega params (a highlighted point, an
  SLO line) move without touching the data.
- :class:`TableView` shows a small frame as an HTML table.
- :class:`App` wires knobs → state → views and headline cards, coalesces
  bursts of knob changes, shows errors as a friendly message (never a
  traceback), and gives each chart and table an export button (CSV, PNG).

No formulas here: ``compute`` functions live in :mod:`infer_econ.ui.apps` and
call the library.

Examples
--------
>>> import polars as pl
>>> from infer_econ import plot
>>> from infer_econ.ui import knobs
>>> def compute(v):
...     f = pl.DataFrame({"hardware": ["a", "b"], "usd_per_hour": [v["price"], 2 * v["price"]]})
...     return Result(frames={"cost": f}, headline={"usd_per_hour": v["price"]})
>>> app = App("demo", {"price": knobs.slider("Price", 1.0, 0.5, 4.0, 0.5, unit="USD/h")}, compute,
...           [ChartView("cost", lambda f: plot.bars(f, "usd_per_hour", "hardware"))])
>>> app.knobs["price"].value = 3.0
>>> app.state.headline["usd_per_hour"]
3.0
>>> app.views[0].rows()[1]["usd_per_hour"]
6.0
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import html
import json
import logging
import math
import re
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import ipywidgets as w
import polars as pl

from .. import plot
from .._paths import announce_ready
from ..errors import InferEconError
from .cards import Cards, fmt
from .offline import enable_offline

__all__ = ["Result", "State", "ChartView", "TableView", "App", "clean_frame", "download_link"]

log = logging.getLogger("infer_econ.ui")
_AUTO_NAMES = re.compile(r"\b(?:view_[0-9a-f]+_\d+|view_\d+|param_\d+)\b")


@dataclass
class Result:
    """What a compute function returns.

    Attributes
    ----------
    frames : dict of str to pl.DataFrame
        Named frames the views draw.
    headline : dict of str to number
        Headline numbers (keys of the cards).
    notes : dict of str to str
        Optional small print under a card.
    message : str, optional
        Information for the user (e.g. "does not fit: weights need 140 GB").
    """

    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    message: str | None = None


class State:
    """Knob values and the last computed result.

    Attributes
    ----------
    values : dict
        Current knob values.
    frames, headline, notes : dict
        From the last successful compute.
    message : str or None
        The compute's note for the user.
    error : str or None
        Friendly message of the last failed compute (results then stay those
        of the last good one).
    computes : int
        How many computes ran (cache hits do not count).
    """

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.frames: dict[str, pl.DataFrame] = {}
        self.headline: dict[str, Any] = {}
        self.notes: dict[str, str] = {}
        self.message: str | None = None
        self.error: str | None = None
        self.traceback: str | None = None
        self.computes = 0
        self.last_compute_s = 0.0

    def __repr__(self) -> str:
        return f"State(values={self.values!r}, headline={self.headline!r}, error={self.error!r})"


def clean_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Replace NaN and infinities by null in float columns (JSON has neither).

    Examples
    --------
    >>> clean_frame(pl.DataFrame({"a": [1.0, float("nan"), float("inf")]}))["a"].to_list()
    [1.0, None, None]
    """
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    if not floats:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c) for c in floats
    )


def download_link(data: bytes, filename: str, mime: str) -> str:
    """HTML for a link that downloads ``data`` as ``filename`` (a data URI; works offline in Voila).

    Examples
    --------
    >>> download_link(b"a,b", "x.csv", "text/csv")[:30]
    '<a download="x.csv" href="data'
    """
    b64 = base64.b64encode(data).decode("ascii")
    name = html.escape(filename)
    return (f'<a download="{name}" href="data:{mime};base64,{b64}" '
            f'style="color:#1f5fa8;text-decoration:underline">download {name}</a>')


def _export_csv(frame: pl.DataFrame) -> bytes:
    return frame.write_csv().encode("utf-8")


class _Exports:
    """CSV and PNG buttons that turn into download links."""

    def __init__(self, name: str, get_frame: Callable[[], pl.DataFrame | None],
                 get_spec: Callable[[], dict | None] | None):
        self.name = name
        self._frame = get_frame
        self._spec = get_spec
        self.link = w.HTML()
        self.csv = w.Button(description="CSV", tooltip=f"Export the numbers of {name} as CSV", icon="download",
                            layout=w.Layout(width="80px"))
        self.csv.on_click(self._on_csv)
        buttons = [self.csv]
        if get_spec is not None:
            self.png = w.Button(description="PNG", tooltip=f"Export the chart {name} as a PNG image", icon="image",
                                layout=w.Layout(width="80px"))
            self.png.on_click(self._on_png)
            buttons.append(self.png)
        self.widget = w.HBox([*buttons, self.link])

    def _on_csv(self, _b=None) -> None:
        frame = self._frame()
        if frame is None:
            self.link.value = "nothing to export yet"
            return
        self.link.value = download_link(_export_csv(frame), f"{self.name}.csv", "text/csv")

    def _on_png(self, _b=None) -> None:
        spec = self._spec() if self._spec else None
        if spec is None:
            self.link.value = "nothing to export yet"
            return
        try:
            import vl_convert as vlc

            png = vlc.vegalite_to_png(spec, scale=2)
        except Exception as exc:  # vl-convert raises ValueError with the renderer's message
            self.link.value = html.escape(f"could not render the PNG ({str(exc).splitlines()[0]})")
            return
        self.link.value = download_link(png, f"{self.name}.png", "image/png")


class ChartView:
    """One live chart.

    Parameters
    ----------
    name : str
        Key of the frame in the result (and the export file name).
    build : callable
        ``build(frame, **options) -> altair chart`` (a :mod:`infer_econ.plot`
        function). It runs on the first update and whenever ``options`` or
        the frame's columns change; otherwise only the rows are swapped.
    options : callable, optional
        ``options(values) -> dict`` of keyword arguments for ``build``.
    params : callable, optional
        ``params(values) -> dict`` of Vega param values (e.g. ``highlight``)
        set on the live chart without rebuilding it.
    frame : str, optional
        Key of the frame in the result, if not ``name``.
    export : bool
        Show CSV/PNG export buttons.
    fast : bool
        Push new rows into the live Vega view (a data change set, no re-embed);
        otherwise send the whole new spec (the browser re-embeds the chart).

    Attributes
    ----------
    jchart : altair.JupyterChart
        The widget in the page.
    spec : dict or None
        The Vega-Lite spec now shown (data included).
    builds : int
        How many times the chart was built by altair.
    """

    def __init__(self, name: str, build: Callable[..., Any], *, options: Callable[[dict], dict] | None = None,
                 params: Callable[[dict], dict] | None = None, frame: str | None = None, export: bool = True,
                 fast: bool = True):
        enable_offline()
        self.fast = fast
        self.pushes = 0
        self.name = name
        self.key = frame or name
        self._build = build
        self._options = options
        self._params = params
        self.spec: dict | None = None
        self.frame: pl.DataFrame | None = None
        self.builds = 0
        self._sig: tuple | None = None
        self._layouts: dict[tuple, tuple] = {}
        self._dataset: str | None = None
        self._chart = None
        self.jchart = self._new_jchart(alt.Chart(pl.DataFrame({"x": [0]})).mark_point(opacity=0))
        self.exports = _Exports(name, lambda: self.frame, lambda: self.spec) if export else None
        self.widget = w.VBox(self._children(), layout=w.Layout(margin="0 0 12px 0"))

    #: Vega's canvas renderer: a redraw repaints pixels instead of rebuilding hundreds of SVG nodes (05's 336 step
    #: points took 40-85 ms to redraw as SVG); tooltips and the export menu work the same
    _EMBED = {"actions": {"export": True, "source": False, "compiled": False, "editor": False}, "renderer": "canvas"}

    def _new_jchart(self, chart) -> alt.JupyterChart:
        return alt.JupyterChart(chart, embed_options=self._EMBED)

    def _children(self) -> list:
        return [self.jchart] + ([self.exports.widget] if self.exports else [])

    def _embed(self, chart, spec: dict, params: Mapping[str, Any]) -> None:
        """Show ``spec`` (built from the altair ``chart``) in a fresh JupyterChart widget.

        altair's JupyterChart front end registers its data and param listeners
        on every embed and never removes them, so a second embed on the same
        widget leaves listeners bound to the finalized view: the next row push
        or param move then fails in the browser ("Cannot set properties of
        undefined"). One widget per embed keeps every widget embedded once.
        The new widget gets its spec and param values before it is shown, so
        the browser embeds it once, in its final state.
        """
        old = self.jchart
        self.jchart = self._new_jchart(chart)
        if spec is not None:
            self.jchart.spec = spec
        for k, v in (params or {}).items():
            if hasattr(self.jchart.params, k):
                setattr(self.jchart.params, k, v)
        if hasattr(self, "widget"):
            self.widget.children = self._children()
        old.close()

    def rows(self) -> list[dict]:
        """The rows now in the chart (for tests and exports)."""
        if self.spec is None or self._dataset is None:
            return []
        return self.spec["datasets"][self._dataset]

    def update(self, frames: Mapping[str, pl.DataFrame], values: Mapping[str, Any]) -> None:
        """Redraw from the result frames and knob values."""
        frame = frames.get(self.key)
        if frame is None:
            return
        frame = clean_frame(frame)
        opts = self._options(dict(values)) if self._options else {}
        params = self._params(dict(values)) if self._params else {}
        sig = self._signature(frame, opts)
        if self.spec is not None and self._sig is not None and sig[0::2] == self._sig[0::2] and sig != self._sig:
            # only the number of rows changed: keep the live view if the layout is the same (a bar chart's
            # height grows with its rows). The layout of each row count is built once (without re-validating
            # a structure already validated) and kept: altair takes ~100 ms to build a layered chart.
            chart, spec, skeleton = self._layout_of(frame, opts, sig)
            if self._dataset is not None and skeleton == self._skeleton(self.spec, self._dataset):
                self._sig = sig
            else:
                if skeleton is not None:  # one data set: the kept layout takes this frame's rows
                    spec = {**spec, "datasets": {next(iter(spec["datasets"])): frame.to_dicts()}}
                else:  # several data sets hold the rows the kept chart was built from: build from this frame
                    chart = self._build(frame, **opts)
                    spec = chart.to_dict(validate=False)
                self._show_new(chart, spec, params, sig, frame)
                return
        if sig != self._sig or self.spec is None:
            chart = self._build(frame, **opts)
            self._show_new(chart, chart.to_dict(), params, sig, frame)
            return
        if frame.equals(self.frame) if self.frame is not None else False:
            self._move_params(params)
            return
        self.frame = frame
        if self._dataset is None:  # several data sets: rebuild (the structure was validated on the first build)
            chart = self._build(frame, **opts)
            self._show_new(chart, chart.to_dict(validate=False), params, sig, frame)
            return
        rows = frame.to_dicts()
        spec = dict(self.spec)
        spec["datasets"] = {self._dataset: rows}
        if self.fast and hasattr(self.jchart, "_py_to_js_updates"):
            # Push the rows into the live Vega view (no re-embed in the browser); keep the
            # kernel-side spec current without sending it, so a page that connects later
            # gets the new state.
            moved = self._param_changes(params)
            self._set_params_in(spec, params)
            self.spec = spec
            _keep_spec(self.jchart, spec)
            self.jchart._py_to_js_updates = [
                {"namespace": "data", "name": self._dataset, "scope": [], "value": rows}
            ]
            for k, v in moved.items():
                setattr(self.jchart.params, k, v)
            self.pushes += 1
            return
        self._set_params_in(spec, params)
        self.spec = spec
        self._embed(self._chart, spec, params)

    def _show_new(self, chart, spec: dict, params: Mapping[str, Any], sig: tuple, frame: pl.DataFrame) -> None:
        datasets = spec.get("datasets", {})
        self._dataset = next(iter(datasets)) if len(datasets) == 1 else None
        if sig not in self._layouts:
            self._layouts[sig] = (chart, spec, self._skeleton(spec, self._dataset) if self._dataset else None)
        self._set_params_in(spec, params)
        self.spec = spec
        self.builds += 1
        self._sig = sig
        self.frame = frame
        self._chart = chart
        self._embed(chart, spec, params)

    @staticmethod
    def _signature(frame: pl.DataFrame, opts: Mapping[str, Any]) -> tuple:
        """(columns and types, number of rows, build options): what decides whether the chart is rebuilt."""
        return (tuple(frame.schema.items()), frame.height, repr(sorted(opts.items())))

    @staticmethod
    def _skeleton(s: dict, name: str | None) -> str:
        """The spec without its rows and param values (what decides whether a live view can take new rows)."""
        body = {k: v for k, v in s.items() if k != "datasets"}
        body["params"] = [{k: v for k, v in p.items() if k != "value"} for p in s.get("params", [])]
        text = json.dumps(body, sort_keys=True, default=str)
        text = text.replace(name, "<data>") if name else text
        return _AUTO_NAMES.sub("<auto>", text)  # altair numbers its views and params per chart object

    #: layouts kept per chart (one per row count seen, for the same columns and options)
    LAYOUTS_KEPT = 64

    def _layout_of(self, frame: pl.DataFrame, opts: dict, sig: tuple) -> tuple[Any, dict, str | None]:
        """(chart, spec, skeleton) built from ``frame`` for signature ``sig``, kept per signature."""
        hit = self._layouts.get(sig)
        if hit is None:
            chart = self._build(frame, **opts)
            spec = chart.to_dict(validate=False)
            datasets = spec.get("datasets", {})
            skeleton = self._skeleton(spec, next(iter(datasets))) if len(datasets) == 1 else None
            hit = (chart, spec, skeleton)
            self._layouts[sig] = hit
            if len(self._layouts) > self.LAYOUTS_KEPT:
                self._layouts.pop(next(iter(self._layouts)))
        return hit

    def warm(self, frames: Mapping[str, pl.DataFrame], values: Mapping[str, Any]) -> None:
        """Build ahead the layout a later :meth:`update` with these frames would need (nothing is drawn).

        Only when the number of rows differs from the live chart's (same columns and options): that is the
        update that would otherwise build an altair chart while the user waits.
        """
        frame = frames.get(self.key)
        if frame is None or self.spec is None or self._sig is None:
            return
        opts = self._options(dict(values)) if self._options else {}
        sig = self._signature(frame, opts)
        if sig[0::2] == self._sig[0::2] and sig != self._sig and sig not in self._layouts:
            self._layout_of(clean_frame(frame), opts, sig)

    @staticmethod
    def _set_params_in(spec: dict, params: Mapping[str, Any]) -> None:
        if not params:
            return
        new = []
        for p in spec.get("params", []):
            if p.get("name") in params and "select" not in p:
                p = {**p, "value": params[p["name"]]}
            new.append(p)
        spec["params"] = new

    def _param_changes(self, params: Mapping[str, Any]) -> dict:
        if not params or self.spec is None:
            return {}
        current = {p["name"]: p.get("value") for p in self.spec.get("params", []) if "select" not in p}
        return {k: v for k, v in params.items() if k in current and current[k] != v}

    def _move_params(self, params: Mapping[str, Any]) -> None:
        changed = self._param_changes(params)
        if not changed:
            return
        spec = dict(self.spec)
        self._set_params_in(spec, changed)
        self.spec = spec
        _keep_spec(self.jchart, spec)
        for k, v in changed.items():
            setattr(self.jchart.params, k, v)


def _keep_spec(jchart, spec: dict) -> None:
    """Make ``spec`` the widget's kernel-side spec without sending it to the browser.

    The browser already shows it (its rows were pushed into the live view); a page that connects later
    reads the widget's state and gets this spec. Setting the trait would walk the whole spec looking for
    binary buffers before deciding not to send it (a few ms per move for a chart of a few hundred rows), so
    the value is stored as the trait's current value directly, which is what the widget's state reads.
    """
    values = getattr(jchart, "_trait_values", None)
    if isinstance(values, dict) and "spec" in values:
        values["spec"] = spec
    elif hasattr(jchart, "_lock_property"):
        with jchart._lock_property(spec=spec):
            jchart.spec = spec


class TableView:
    """A small frame as an HTML table, with column titles and units from :func:`infer_econ.plot.label`.

    Parameters
    ----------
    name : str
        Key of the frame in the result (and the export file name).
    columns : sequence of str, optional
        Columns to show, in order (default: all).
    formats : dict of str to str, optional
        Column → a :data:`infer_econ.ui.cards.FORMATS` key (default ``si`` for numbers).
    max_rows : int
        Rows shown (all rows are exported).
    export : bool
        Show a CSV export button.
    """

    def __init__(self, name: str, columns: Sequence[str] | None = None, formats: Mapping[str, str] | None = None,
                 *, max_rows: int = 30, frame: str | None = None, export: bool = True):
        self.name = name
        self.key = frame or name
        self.columns = list(columns) if columns is not None else None
        self.formats = dict(formats or {})
        self.max_rows = max_rows
        self.frame: pl.DataFrame | None = None
        self.html = w.HTML()
        self.exports = _Exports(name, lambda: self.frame, None) if export else None
        self.widget = w.VBox([self.html] + ([self.exports.widget] if self.exports else []))

    def update(self, frames: Mapping[str, pl.DataFrame], values: Mapping[str, Any]) -> None:
        """Rewrite the table from the result frames."""
        frame = frames.get(self.key)
        if frame is None:
            return
        cols = [c for c in (self.columns or frame.columns) if c in frame.columns]
        frame = frame.select(cols)
        self.frame = frame
        head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(plot.label(c))}</th>" for c in cols)
        body = []
        for row in frame.head(self.max_rows).iter_rows(named=True):
            cells = "".join(
                f"<td style='padding:2px 8px'>{html.escape(fmt(row[c], self.formats.get(c, 'si')))}</td>"
                for c in cols
            )
            body.append(f"<tr>{cells}</tr>")
        if frame.height == 0:
            self.html.value = f"<div class='ie-table-empty' style='color:#777;font-size:12px'>{html.escape(plot.label(self.name))}: none</div>"
            return
        more = (f"<div style='color:#777;font-size:11px'>{frame.height - self.max_rows} more rows in the export</div>"
                if frame.height > self.max_rows else "")
        self.html.value = (f"<table class='ie-table' style='border-collapse:collapse;font-size:12px'>"
                           f"<thead style='border-bottom:1px solid #ccc'><tr>{head}</tr></thead>"
                           f"<tbody>{''.join(body)}</tbody></table>{more}")


def _friendly(exc: BaseException) -> str:
    if isinstance(exc, InferEconError):
        return str(exc)
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return f"This combination could not be computed ({type(exc).__name__}{': ' + msg if msg else ''})."


def _key(values: Mapping[str, Any], knobs: Mapping[str, Any] | None = None) -> tuple | None:
    """Cache key of knob values: a slider's value on its grid is keyed by its grid position.

    The browser computes a slider's next value in JavaScript and Python computes a neighbour for
    prefetching; the two may differ in the last bit (0.7 + 0.05), so a value within 1e-9 of a grid
    position is keyed by that position. Values off the grid keep their exact value.
    """
    items = []
    for name, value in sorted(values.items()):
        pos = _grid_position(knobs.get(name), value) if knobs else None
        items.append((name, ("grid", pos) if pos is not None else value))
    try:
        k = tuple(items)
        hash(k)
        return k
    except TypeError:
        return None


def _grid_position(knob: Any, value: Any) -> int | None:
    """Position of ``value`` on a slider's grid (steps from ``min``; log sliders in steps of the exponent)."""
    if not isinstance(knob, (w.FloatSlider, w.FloatLogSlider, w.IntSlider)) or isinstance(value, bool):
        return None
    if not isinstance(value, (int, float)) or not math.isfinite(value) or not knob.step:
        return None
    if isinstance(knob, w.FloatLogSlider):
        if value <= 0:
            return None
        x = math.log(value, knob.base)
    else:
        x = float(value)
    k = (x - knob.min) / knob.step
    pos = round(k)
    return pos if abs(k - pos) < 1e-9 * max(1.0, abs(k)) else None


def _neighbours(knob: Any, value: Any, direction: int) -> list:
    """The slider values one step from ``value`` (``direction`` first, then the other way), within range."""
    pos = _grid_position(knob, value)
    if pos is None:
        return []
    out = []
    for d in (direction, -direction):
        x = knob.min + (pos + d) * knob.step
        if x < knob.min - 1e-12 or x > knob.max + 1e-12:
            continue
        if isinstance(knob, w.FloatLogSlider):
            out.append(knob.base ** x)
        elif isinstance(knob, w.IntSlider):
            out.append(int(round(x)))
        else:
            out.append(float(x))
    return out


class App:
    """A workbook app: knobs, a compute function, headline cards and views.

    Parameters
    ----------
    title : str
        Shown above the app.
    knobs : dict of str to widget
        Knob name → widget with a ``value`` trait; ``values[name]`` is passed
        to ``compute``.
    compute : callable
        ``compute(values: dict) -> Result``; calls the library, nothing else.
    views : list of ChartView or TableView
        Drawn from the result, in order.
    cards : Cards, optional
        Headline numbers.
    groups : list of (str, list of str), optional
        Knob sections (title, knob names); default one section with all knobs.
    cache_size : int
        Results kept for recently seen knob values (toggling back is instant).
    note : str, optional
        A line under the title (e.g. that a user's calibration is in use).
    extras : list of widgets, optional
        Shown under the knobs (e.g. save / load / report buttons).
    prefetch : bool
        While the kernel is idle after a redraw that followed a user's move,
        compute the results one step away on the slider moved last
        (:meth:`prefetch_candidates`) and keep them in the cache, so the next
        arrow-key move only redraws. One compute per idle callback; a knob
        change cancels what is pending.

    Attributes
    ----------
    state : State
        Values and the last result.
    status : ipywidgets.HTML
        Friendly messages (errors, notes) for the user.
    widget : ipywidgets.Widget
        The whole app; displaying the App displays it.

    Notes
    -----
    Knob changes are coalesced: a change that arrives while a compute runs
    (or inside :meth:`hold`) only marks the state dirty; one compute then runs
    with the final values, so a storm of changes ends in the correct state.
    In the browser, ipywidgets also sends only the latest value of a knob
    while the kernel is busy.

    Results are cached by knob values, a slider's value by its position on
    the slider's grid (so a value computed in the browser and the same grid
    point computed here share the entry).
    """

    def __init__(self, title: str, knobs: Mapping[str, Any], compute: Callable[[dict], Result],
                 views: Sequence[ChartView | TableView], *, cards: Cards | None = None,
                 groups: Sequence[tuple[str, Sequence[str]]] | None = None, cache_size: int = 64,
                 extras: Sequence[Any] | None = None, note: str | None = None, prefetch: bool = True):
        enable_offline()
        self.title = title
        self.knobs = dict(knobs)
        self.compute = compute
        self.views = list(views)
        self.cards = cards
        self.state = State()
        self.status = w.HTML(layout=w.Layout(min_height="22px"))
        self._cache: OrderedDict[tuple, Result] = OrderedDict()
        self._cache_size = cache_size
        self._busy = False
        self._dirty = False
        self._held = 0
        self.prefetch = prefetch
        self.prefetched = 0
        self._prefetch_handle = None
        self._last_moved: tuple[str, int] | None = None  # (knob, direction) of the latest move
        self._failed: set = set()  # prefetch keys that raised (not retried until the knobs move)
        self._last_redraw = time.monotonic()
        groups = groups or [("Knobs", list(self.knobs))]
        panels = []
        for gtitle, names in groups:
            missing = [n for n in names if n not in self.knobs]
            if missing:
                raise ValueError(f"app {title!r}: group {gtitle!r} names unknown knobs {missing}")
            panels.append(w.HTML(f"<b style='font-size:13px'>{html.escape(gtitle)}</b>"))
            panels.extend(self.knobs[n] for n in names)
        self.extras = list(extras or [])
        panels.extend(self.extras)
        self.knob_panel = w.VBox(panels, layout=w.Layout(width="410px", min_width="400px", padding="0 12px 0 0"))
        right = ([cards.widget] if cards else []) + [self.status] + [v.widget for v in self.views]
        # basis 640 px: beside the knobs on a laptop screen, below them on a narrow one
        self.output_panel = w.VBox(right, layout=w.Layout(flex="1 1 640px", min_width="0"))
        head = [w.HTML(f"<h3 style='margin:4px 0'>{html.escape(title)}</h3>")]
        if note:
            head.append(w.HTML(f"<div class='ie-note' style='font-size:12px;color:#5f6b73'>{html.escape(note)}</div>"))
        self.widget = w.VBox(head + [
            w.HBox([self.knob_panel, self.output_panel], layout=w.Layout(flex_flow="row wrap")),
        ])
        self.widget.add_class("ie-app")
        for name, knob in self.knobs.items():
            knob.observe(self._on_change, "value")
        self.refresh()
        announce_ready(title)

    # -- values
    def values(self) -> dict[str, Any]:
        """Current knob values."""
        return {name: knob.value for name, knob in self.knobs.items()}

    def set(self, **values: Any) -> None:
        """Set several knobs at once; one compute runs at the end."""
        unknown = [k for k in values if k not in self.knobs]
        if unknown:
            raise ValueError(f"unknown knob(s) {unknown}; knobs: {list(self.knobs)}")
        with self.hold():
            for k, v in values.items():
                self.knobs[k].value = v

    @contextlib.contextmanager
    def hold(self):
        """Suspend recomputes; one runs on exit if a knob changed."""
        self._held += 1
        try:
            yield self
        finally:
            self._held -= 1
            if self._held == 0 and self._dirty:
                self.refresh()

    # -- wiring
    def _on_change(self, change=None) -> None:
        self._dirty = True
        self._cancel_prefetch()
        if isinstance(change, Mapping) and change.get("owner") is not None:
            name = next((n for n, k in self.knobs.items() if k is change["owner"]), None)
            old, new = change.get("old"), change.get("new")
            up = 1
            if isinstance(old, (int, float)) and isinstance(new, (int, float)) and new < old:
                up = -1
            if name is not None:
                self._last_moved = (name, up)
        if self._busy or self._held:
            return
        self.refresh()

    # -- prefetch: while the kernel is idle, compute the results one slider step away
    #: seconds after a redraw before the first prefetch (the browser draws meanwhile), between prefetches,
    #: and of idleness before the sliders not moved last are prefetched
    PREFETCH_DELAY_S = 0.05
    PREFETCH_GAP_S = 0.01
    PREFETCH_IDLE_S = 1.0

    def prefetch_candidates(self) -> list[dict]:
        """Knob values one slider step away from the current ones, most likely next move first.

        First the slider moved last: one step further in the same direction, then back (usually in the
        cache already); then one step either way on every primary slider. Only values not in the cache.
        Nothing before the user's first move: a pre-heated kernel waiting for its page (a workshop pool
        of 20) must not spend the machine's cores on guesses.
        """
        return [cand for _, cand in self._prefetch_plan()]

    def _prefetch_plan(self) -> list[tuple[int, dict]]:
        """(rank, values) pairs: rank 0 for the slider moved last, 1 for the other primary sliders."""
        if self._last_moved is None:
            return []
        values = self.values()
        order: list[tuple[int, str, int]] = [(0, *self._last_moved)]
        for n, k in self.knobs.items():
            if "ie-primary" in getattr(k, "_dom_classes", ()) and n != self._last_moved[0]:
                order.append((1, n, 1))
        out, seen = [], set()
        for rank, name, direction in order:
            for v in _neighbours(self.knobs[name], values[name], direction):
                cand = {**values, name: v}
                key = _key(cand, self.knobs)
                if key is not None and key not in self._cache and key not in self._failed and key not in seen:
                    seen.add(key)
                    out.append((rank, cand))
        return out

    def prefetch_once(self, max_rank: int = 1) -> bool:
        """Compute and keep the first prefetch candidate (of rank ≤ ``max_rank``); False when none is left."""
        for rank, cand in self._prefetch_plan():
            if rank > max_rank:
                break
            if self._prefetch_one(cand):
                return True
        return False

    def _prefetch_one(self, values: dict) -> bool:
        """Compute ``values`` and keep the result with its chart layouts; False (and not retried) if it raised."""
        key = _key(values, self.knobs)
        try:
            result = self.compute(dict(values))
        except Exception:  # an error is shown when the user gets there, not now
            log.info("prefetch failed for %r", values, exc_info=True)
            self._failed.add(key)
            return False
        self._store(key, result)
        self.prefetched += 1
        for view in self.views:
            if isinstance(view, ChartView):
                try:
                    view.warm(result.frames, values)
                except Exception:  # drawing errors are shown when the user gets there
                    log.info("warming %s failed", view.name, exc_info=True)
        return True

    def _store(self, key: tuple, result: Result) -> None:
        self._cache[key] = result
        self._cache.move_to_end(key)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _cancel_prefetch(self) -> None:
        if self._prefetch_handle is not None:
            self._prefetch_handle.cancel()
            self._prefetch_handle = None

    def _schedule_prefetch(self, delay_s: float) -> None:
        if not self.prefetch or self.state.error is not None or self._last_moved is None:
            return
        try:
            loop = asyncio.get_running_loop()  # the kernel's loop; none in a plain script or test
        except RuntimeError:
            return
        self._cancel_prefetch()
        self._prefetch_handle = loop.call_later(delay_s, self._prefetch_step)

    def _prefetch_step(self) -> None:
        self._prefetch_handle = None
        if self._busy or self._held or self._dirty:
            return
        plan = self._prefetch_plan()
        if not plan:
            return
        idle = time.monotonic() - self._last_redraw
        if plan[0][0] > 0 and idle < self.PREFETCH_IDLE_S:  # other sliders: only once the user paused
            self._schedule_prefetch(self.PREFETCH_IDLE_S - idle)
            return
        self._prefetch_one(plan[0][1])
        self._schedule_prefetch(self.PREFETCH_GAP_S)

    def refresh(self) -> None:
        """Recompute from the current knob values and redraw (until no change is pending)."""
        if self._busy:
            self._dirty = True
            return
        self._busy = True
        try:
            while True:
                self._dirty = False
                self._run_once()
                if not self._dirty:
                    break
        finally:
            self._busy = False
        self._last_redraw = time.monotonic()
        self._failed.clear()
        self._schedule_prefetch(self.PREFETCH_DELAY_S)

    def _run_once(self) -> None:
        values = self.values()
        self.state.values = values
        key = _key(values, self.knobs)
        t0 = time.perf_counter()
        try:
            result = self._cache.get(key) if key is not None else None
            if result is None:
                result = self.compute(dict(values))
                self.state.computes += 1
                if key is not None:
                    self._store(key, result)
            else:
                self._cache.move_to_end(key)
        except Exception as exc:  # shown to the user as a message, never as a traceback
            self.state.error = _friendly(exc)
            self.state.traceback = traceback.format_exc()
            log.info("compute failed for %r: %s", values, self.state.traceback)
            self.status.value = (
                "<div class='ie-status ie-error' style='background:#fff4e5;border:1px solid #f0b060;"
                f"padding:4px 8px;border-radius:4px'>⚠ {html.escape(self.state.error)}</div>"
            )
            return
        self.state.error = None
        self.state.traceback = None
        self.state.frames = result.frames
        self.state.headline = result.headline
        self.state.notes = result.notes
        self.state.message = result.message
        try:
            for view in self.views:  # charts first: they are what the eye follows
                view.update(result.frames, values)
            if self.cards:
                self.cards.update(result.headline, result.notes)
        except Exception as exc:  # a drawing bug must not leave a traceback in the app either
            self.state.error = _friendly(exc)
            self.state.traceback = traceback.format_exc()
            log.info("drawing failed for %r: %s", values, self.state.traceback)
            self.status.value = (f"<div class='ie-status ie-error' style='background:#fff4e5;padding:4px 8px'>"
                                 f"⚠ {html.escape(self.state.error)}</div>")
            return
        self.state.last_compute_s = time.perf_counter() - t0
        self.status.value = (
            f"<div class='ie-status ie-note' style='color:#445;font-size:12px'>{html.escape(result.message)}</div>"
            if result.message else ""
        )

    # -- display
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def chart(self, name: str) -> ChartView:
        """The chart view called ``name``."""
        for v in self.views:
            if isinstance(v, ChartView) and v.name == name:
                return v
        raise KeyError(f"no chart {name!r}; charts: {[v.name for v in self.views if isinstance(v, ChartView)]}")


def copy_spec(spec: dict) -> dict:
    """A deep copy of a spec (tests compare before/after)."""
    return copy.deepcopy(spec)

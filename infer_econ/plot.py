"""Charts: functions that turn result frames into altair charts.

Every function here takes a polars frame (the output of :func:`infer_econ.estimate`,
:func:`infer_econ.evaluate` or another library function) and returns an
``altair`` chart with units on its axes, a tooltip with the numbers and the
project's theme. Nothing is computed here: a chart shows columns that the
library produced. Chart-side transforms are limited to presentation (sorting,
filtering rows into layers, stacking for a waterfall).

Every chart uses one top-level data set, so :class:`infer_econ.ui.ChartView`
can swap its rows on a knob move without rebuilding the chart; layers pick
their rows with a filter on a column.

Charts take polars frames directly (altair converts them through the
dataframe interchange protocol); pass small frames: a chart is redrawn on every
knob move.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({"hardware": ["h100", "l4"], "category": ["datacenter", "datacenter"],
...                       "output_tokens_per_s": [3000.0, 400.0],
...                       "usd_per_million_output_tokens": [0.4, 0.9]})
>>> chart = cost_vs_throughput(frame)
>>> spec = chart.to_dict()
>>> spec["layer"][0]["encoding"]["x"]["title"]
'Output tokens/s (whole deployment)'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import altair as alt
import polars as pl

__all__ = [
    "LABELS",
    "label",
    "theme",
    "tooltip",
    "scatter",
    "bars",
    "lines",
    "cost_vs_throughput",
    "roofline",
    "pareto",
    "batch_frontier",
    "load_curve",
    "hourly_fleet",
    "waterfall",
    "break_even",
    "energy_by_region",
    "predicted_vs_measured",
    "band",
    "save",
]

#: Axis and tooltip titles (with units) for the glossary's column names.
LABELS: dict[str, str] = {
    "model": "Model",
    "hardware": "Hardware",
    "precision": "Precision",
    "engine": "Engine",
    "category": "Category",
    "vendor": "Vendor",
    "region": "Region",
    "provider": "Provider",
    "price_model": "Price model",
    "n_devices": "Devices",
    "batch_size": "Batch (sequences)",
    "batch_size_used": "Batch used (sequences)",
    "input_tokens": "Input tokens",
    "output_tokens": "Output tokens",
    "context_depth": "Context already cached (tokens)",
    "weights_gb_per_device": "Weights per device (GB)",
    "kv_cache_gb_per_device": "KV cache per device (GB)",
    "memory_gb": "Device memory (GB)",
    "capex_usd_per_device": "Purchase price of one device (USD)",
    "prefill_s": "Prefill time (s)",
    "ttft_s": "Time to first token (s)",
    "tpot_s": "Time per output token (s)",
    "prefill_tokens_per_s": "Prefill tokens/s",
    "decode_tokens_per_s": "Decode tokens/s",
    "output_tokens_per_s": "Output tokens/s (whole deployment)",
    "tokens_per_s_per_user": "Output tokens/s per user",
    "usd_per_device_hour": "USD per device-hour",
    "usd_per_hour": "USD per hour (deployment)",
    "usd_per_month": "USD per month",
    "usd_per_million_output_tokens": "USD per 1M output tokens",
    "usd_per_million_tokens": "USD per 1M tokens (input + output)",
    "usd_per_request": "USD per request",
    "utilization": "Utilization (fraction)",
    "power_w": "Power at the facility meter (W)",
    "accelerator_power_w": "Accelerator power (W)",
    "energy_j_per_output_token": "Energy per output token (J)",
    "kwh_per_million_output_tokens": "kWh per 1M output tokens",
    "grid_g_co2e_per_kwh": "Grid intensity (g CO2e/kWh)",
    "g_co2e_per_request": "Operational g CO2e per request",
    "g_co2e_per_request_embodied": "Embodied g CO2e per request",
    "request_rate_per_s": "Request rate (requests/s)",
    "requests_per_s": "Achieved requests/s",
    "requests_per_day": "Requests per day",
    "tokens_per_month": "Tokens per month",
    "ttft_p50_s": "TTFT p50 (s)",
    "ttft_p99_s": "TTFT p99 (s)",
    "tpot_p50_s": "TPOT p50 (s)",
    "tpot_p99_s": "TPOT p99 (s)",
    "hour": "Hour (from the first hour of the profile)",
    "hour_of_day": "Hour of day",
    "meets_slo": "Meets the SLO",
    "replicas": "Replicas",
    "accuracy": "Accuracy (fraction correct)",
    "arithmetic_intensity_flop_per_byte": "Arithmetic intensity (FLOP/byte)",
    "achieved_tflops": "Achieved TFLOP/s",
    "attainable_tflops": "Attainable TFLOP/s",
    "measured": "Measured",
    "predicted": "Predicted",
    "g_co2e": "g CO2e per request",
    "region_name": "Grid",
    "scope": "Scope",
    "quality": "Benchmark score",
    "on_frontier": "On the frontier",
    "devices_that_fit": "Catalog devices it fits on",
    "median_ape_pct": "Median absolute error (%)",
    "p90_ape_pct": "p90 absolute error (%)",
    "abs_error_pct": "Absolute error (%)",
    "within_25_pct": "Within 25 % (% of rows)",
    "cascade_accuracy": "Cascade accuracy (fraction)",
    "cascade_usd_per_request": "Cascade cost (USD per request)",
    "escalation_share": "Share escalated (fraction)",
    "break_even_requests_per_day": "Break-even (requests per day)",
    "edge_capacity_requests_per_day": "Device capacity (requests per day)",
    "usd_over_horizon": "USD over the horizon",
    "net_value_usd_per_month": "Net value (USD per month)",
    "latency_s": "Latency (s)",
    "total_usd": "Total (USD)",
    "cloud_option": "Cloud option",
    "option": "Option",
    "strategy": "Strategy",
    "calibration": "Calibration",
    "family": "Family",
    "lever": "Lever",
}

#: Unit suffixes recognised by :func:`label` for columns not in :data:`LABELS`.
_SUFFIXES: list[tuple[str, str]] = [
    ("_usd_per_million_output_tokens", "USD/1M output tokens"),
    ("_usd_per_million_tokens", "USD/1M tokens"),
    ("_usd_per_month", "USD/month"),
    ("_usd_per_hour", "USD/h"),
    ("_usd_per_request", "USD/request"),
    ("_usd", "USD"),
    ("_tokens_per_s", "tokens/s"),
    ("_per_s", "1/s"),
    ("_g_co2e", "g CO2e"),
    ("_kg_co2e", "kg CO2e"),
    ("_kwh", "kWh"),
    ("_gb", "GB"),
    ("_w", "W"),
    ("_j", "J"),
    ("_ms", "ms"),
    ("_s", "s"),
    ("_fraction", "fraction"),
    ("_pct", "%"),
    ("_months", "months"),
    ("_days", "days"),
]


def label(column: str) -> str:
    """Return the axis title, with its unit, for a column name.

    Known glossary columns come from :data:`LABELS`; other names are made
    readable and their unit is read from the name's suffix.

    Parameters
    ----------
    column : str
        Column name.

    Returns
    -------
    str
        Title such as ``"USD per 1M output tokens"``.

    Examples
    --------
    >>> label("usd_per_million_output_tokens")
    'USD per 1M output tokens'
    >>> label("saved_usd_per_month")
    'Saved (USD/month)'
    """
    if column in LABELS:
        return LABELS[column]
    for suffix, unit in _SUFFIXES:
        if column.endswith(suffix) and len(column) > len(suffix):
            stem = column[: -len(suffix)]
            return f"{_humanize(stem)} ({unit})"
    return _humanize(column)


def _humanize(name: str) -> str:
    words = re.sub(r"_+", " ", name).strip()
    return words[:1].upper() + words[1:]


# --------------------------------------------------------------------------- theme
_WIDTH = 520
_HEIGHT = 300
_PALETTE = ["#1f5fa8", "#e07b00", "#2a9d5b", "#c0392b", "#7b4fb0", "#8c6d1f", "#d4579b", "#5f6b73",
            "#a8b91f", "#17a2b8"]


def theme(chart: alt.TopLevelMixin, *, width: int = _WIDTH, height: int = _HEIGHT, title: str | None = None):
    """Apply the project's look to a chart and return it.

    Parameters
    ----------
    chart : altair chart
        Any chart, layer or concatenation not yet configured.
    width, height : int
        Size in pixels of each view.
    title : str, optional
        Chart title.

    Returns
    -------
    altair chart
        The configured chart (top level: it can no longer be layered).

    Examples
    --------
    >>> import polars as pl
    >>> c = theme(alt.Chart(pl.DataFrame({"a": [1]})).mark_point().encode(x="a:Q"))
    >>> c.to_dict()["config"]["font"]
    'Helvetica, Arial, sans-serif'
    """
    if title is not None:
        chart = chart.properties(title=title)
    if not isinstance(chart, (alt.HConcatChart, alt.VConcatChart, alt.ConcatChart)):
        chart = chart.properties(width=width, height=height)
    return (
        chart.configure(font="Helvetica, Arial, sans-serif", background="white")
        .configure_range(category=_PALETTE)
        .configure_axis(labelFontSize=11, titleFontSize=12, gridColor="#e6e6e6", labelLimit=220)
        .configure_legend(labelFontSize=11, titleFontSize=12, orient="right", labelLimit=220)
        .configure_title(fontSize=14, anchor="start")
        .configure_view(stroke=None)
    )


def _clean(frame: pl.DataFrame) -> pl.DataFrame:
    """NaN and infinities become null: JSON has neither, and a chart leaves nulls out."""
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    if not floats:
        return frame
    return frame.with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c) for c in floats)


def _fmt(dtype: pl.DataType) -> str | None:
    if dtype.is_float():
        return ",.4~g"
    if dtype.is_integer():
        return ","
    return None


def tooltip(frame: pl.DataFrame, columns: Sequence[str] | None = None) -> list[alt.Tooltip]:
    """Return tooltip entries (title with unit, number format) for columns of a frame.

    Parameters
    ----------
    frame : pl.DataFrame
        The chart's data.
    columns : sequence of str, optional
        Columns to show (default: all columns of the frame).

    Returns
    -------
    list of alt.Tooltip

    Examples
    --------
    >>> import polars as pl
    >>> [t.to_dict()["title"] for t in tooltip(pl.DataFrame({"usd_per_hour": [1.5]}))]
    ['USD per hour (deployment)']
    """
    cols = [c for c in (columns if columns is not None else frame.columns) if c in frame.columns]
    out = []
    for c in cols:
        dtype = frame.schema[c]
        kind = "quantitative" if dtype.is_numeric() else "nominal"
        fmt = _fmt(dtype)
        kw = {"format": fmt} if fmt else {}
        out.append(alt.Tooltip(c, type=kind, title=label(c), **kw))
    return out


def _scale(log: bool, zero: bool = False) -> alt.Scale:
    return alt.Scale(type="log") if log else alt.Scale(zero=zero)


def _tip_columns(frame: pl.DataFrame, first: Sequence[str | None], extra: Sequence[str] | None) -> list[str]:
    cols: list[str] = []
    for c in list(first) + list(extra or []):
        if c and c in frame.columns and c not in cols:
            cols.append(c)
    return cols


# --------------------------------------------------------------------------- generic builders
def scatter(
    frame: pl.DataFrame,
    x: str,
    y: str,
    *,
    color: str | None = None,
    text: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    highlight: str | None = None,
    highlight_field: str | None = None,
    extra_tooltip: Sequence[str] | None = None,
    title: str | None = None,
    width: int = _WIDTH,
    height: int = _HEIGHT,
):
    """Scatter plot of ``y`` against ``x``, optionally coloured and labelled.

    The legend is clickable (a Vega param ``pick``) to fade the other groups.
    With ``highlight``, the row whose ``highlight_field`` equals it is drawn
    larger; the highlighted value is a Vega param ``highlight`` so a view can
    move it without a redraw.

    Parameters
    ----------
    frame : pl.DataFrame
        One row per point.
    x, y : str
        Numeric columns for the axes.
    color : str, optional
        Nominal column for the colour.
    text : str, optional
        Column written next to each point.
    log_x, log_y : bool
        Log scales.
    highlight : str, optional
        Value of ``highlight_field`` (default the ``text`` column) to emphasise.
    highlight_field : str, optional
        Column compared with ``highlight``.
    extra_tooltip : sequence of str, optional
        More columns for the tooltip.
    title : str, optional
        Chart title.
    width, height : int
        Size [px].

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "g": ["x", "y"]})
    >>> scatter(f, "a", "b", color="g", text="g").to_dict()["layer"][1]["mark"]["type"]
    'text'
    """
    hfield = highlight_field or text
    tips = tooltip(frame, _tip_columns(frame, [text, color, x, y], extra_tooltip))
    enc: dict = {
        "x": alt.X(x, type="quantitative", title=label(x), scale=_scale(log_x)),
        "y": alt.Y(y, type="quantitative", title=label(y), scale=_scale(log_y)),
        "tooltip": tips,
    }
    params = []
    hl = alt.param(name="highlight", value=highlight if highlight is not None else "")
    params.append(hl)
    if color:
        pick = alt.selection_point(name="pick", fields=[color], bind="legend")
        params.append(pick)
        enc["color"] = alt.Color(color, type="nominal", title=label(color))
        enc["opacity"] = alt.condition(pick, alt.value(0.9), alt.value(0.15))
    if hfield:
        enc["size"] = alt.condition(f"datum['{hfield}'] === highlight", alt.value(260), alt.value(70))
        enc["stroke"] = alt.condition(f"datum['{hfield}'] === highlight", alt.value("black"), alt.value(None))
    base = alt.Chart(_clean(frame))
    points = base.mark_circle().encode(**enc).add_params(*params)
    layers = [points]
    if text:
        layers.append(
            base.mark_text(align="left", dx=7, dy=-4, fontSize=10, color="#333").encode(
                x=alt.X(x, type="quantitative"), y=alt.Y(y, type="quantitative"), text=alt.Text(text, type="nominal")
            )
        )
    return theme(alt.layer(*layers), width=width, height=height, title=title)


def bars(
    frame: pl.DataFrame,
    value: str,
    category: str,
    *,
    color: str | None = None,
    log: bool = False,
    sort_descending: bool = True,
    grouped: bool = False,
    extra_tooltip: Sequence[str] | None = None,
    title: str | None = None,
    width: int = _WIDTH,
    height: int | None = None,
):
    """Horizontal bars of ``value`` per ``category``, sorted by value.

    With ``color`` the bars stack (parts of a whole); with ``grouped`` they
    sit side by side instead (alternatives, e.g. before / after).

    Parameters
    ----------
    frame : pl.DataFrame
        One row per bar.
    value : str
        Numeric column (bar length).
    category : str
        Column naming each bar.
    color : str, optional
        Nominal column for the colour.
    log : bool
        Log scale for the value axis.
    sort_descending : bool
        Longest bar first.
    grouped : bool
        Bars of the ``color`` groups side by side rather than stacked.
    extra_tooltip : sequence of str, optional
        More tooltip columns.
    title : str, optional
        Chart title.
    width, height : int
        Size [px]; the height defaults to 18 px per category.

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"hardware": ["a", "b"], "usd_per_hour": [2.0, 1.0]})
    >>> bars(f, "usd_per_hour", "hardware").to_dict()["encoding"]["x"]["title"]
    'USD per hour (deployment)'
    """
    enc: dict = {
        "x": alt.X(value, type="quantitative", title=label(value), scale=_scale(log, zero=not log)),
        "y": alt.Y(category, type="nominal", title=label(category),
                   sort=alt.EncodingSortField(field=value, order="descending" if sort_descending else "ascending")),
        "tooltip": tooltip(frame, _tip_columns(frame, [category, color, value], extra_tooltip)),
    }
    if color:
        enc["color"] = alt.Color(color, type="nominal", title=label(color))
        if grouped:
            enc["yOffset"] = alt.YOffset(color, type="nominal")
    per = 18 * (frame[color].n_unique() if color and grouped else 1)
    # a step height (Vega-Lite sizes the chart from its rows) keeps the spec the same when the rows change,
    # so a live chart takes new rows without a re-embed; small charts keep a 120 px floor
    n_rows = frame[category].n_unique()
    h = height if height is not None else (alt.Step(per) if per * n_rows >= 120 else 120)
    return theme(alt.Chart(_clean(frame)).mark_bar().encode(**enc), width=width, height=h, title=title)


def lines(
    frame: pl.DataFrame,
    x: str,
    y: str | Sequence[str],
    *,
    color: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    points: bool = True,
    rules: dict[str, float] | None = None,
    extra_tooltip: Sequence[str] | None = None,
    title: str | None = None,
    y_title: str | None = None,
    width: int = _WIDTH,
    height: int = _HEIGHT,
):
    """Line chart of one or more ``y`` columns against ``x``.

    Several ``y`` columns are folded into one series each (legend "series").
    ``rules`` draws horizontal reference lines (e.g. an SLO); each is a Vega
    param of that name, so a view can move it without a redraw.

    Parameters
    ----------
    frame : pl.DataFrame
        Data in long (with ``color``) or wide (several ``y``) form.
    x : str
        Numeric column for the x axis.
    y : str or sequence of str
        Numeric column(s).
    color : str, optional
        Nominal column that splits the lines (long form).
    log_x, log_y : bool
        Log scales.
    points : bool
        Draw a point at every row.
    rules : dict of str to float, optional
        Name → y value of horizontal reference lines (Vega params).
    extra_tooltip : sequence of str, optional
        More tooltip columns.
    title, y_title : str, optional
        Chart and y-axis titles.
    width, height : int
        Size [px].

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"request_rate_per_s": [1.0, 2.0], "ttft_p50_s": [0.1, 0.2], "ttft_p99_s": [0.3, 0.5]})
    >>> spec = lines(f, "request_rate_per_s", ["ttft_p50_s", "ttft_p99_s"], rules={"slo_s": 0.4}).to_dict()
    >>> [p["name"] for p in spec["params"]]
    ['slo_s']
    """
    ys = [y] if isinstance(y, str) else list(y)
    base = alt.Chart(_clean(frame))
    tips_cols = _tip_columns(frame, [x, color, *ys], extra_tooltip)
    if len(ys) > 1:
        base = base.transform_fold(ys, as_=["series", "value"])
        y_enc = alt.Y("value", type="quantitative", title=y_title or " / ".join(label(c) for c in ys),
                      scale=_scale(log_y))
        color_enc = alt.Color("series", type="nominal", title="Series", legend=alt.Legend(labelExpr=_legend_expr(ys)))
    else:
        y_enc = alt.Y(ys[0], type="quantitative", title=y_title or label(ys[0]), scale=_scale(log_y))
        color_enc = alt.Color(color, type="nominal", title=label(color)) if color else None
    enc: dict = {
        "x": alt.X(x, type="quantitative", title=label(x), scale=_scale(log_x)),
        "y": y_enc,
        "tooltip": tooltip(frame, tips_cols),
    }
    if color_enc is not None:
        enc["color"] = color_enc
    layers = [base.mark_line(point=points, interpolate="linear").encode(**enc)]
    params = []
    for name, value in (rules or {}).items():
        p, rule = _param_rule(alt.Chart(_clean(frame)), name, value)
        params.append(p)
        layers.append(rule)
    return theme(_layered(layers, params), width=width, height=height, title=title)


def _param_rule(base, name: str, value, *, axis: str = "y", color: str = "#c0392b", dash=(5, 4)):
    """A Vega param and the dashed rule it draws across the chart (moved in the browser, no redraw)."""
    datum = alt.YDatum if axis == "y" else alt.XDatum
    rule = base.transform_aggregate(_n="count()").mark_rule(color=color, strokeDash=list(dash)).encode(
        **{axis: datum(alt.expr(name), type="quantitative")}
    )
    return alt.param(name=name, value=value), rule


def _layered(layers: list, params: list):
    """The layers as one chart, with the params that move its rules."""
    chart = alt.layer(*layers)
    return chart.add_params(*params) if params else chart


def _legend_expr(columns: Sequence[str]) -> str:
    parts = [f"datum.label === '{c}' ? '{label(c)}'" for c in columns]
    return " : ".join(parts) + " : datum.label"


# --------------------------------------------------------------------------- domain charts
def cost_vs_throughput(
    frame: pl.DataFrame,
    *,
    x: str = "output_tokens_per_s",
    y: str = "usd_per_million_output_tokens",
    color: str = "category",
    text: str = "hardware",
    highlight: str | None = None,
    log_x: bool = True,
    log_y: bool = True,
    extra_tooltip: Sequence[str] | None = ("usd_per_hour", "batch_size_used", "n_devices", "limit"),
    title: str | None = "Cost per token vs throughput",
):
    """Cost per million tokens against throughput, one point per configuration.

    Down and to the right is better: cheaper tokens, more of them.

    Parameters
    ----------
    frame : pl.DataFrame
        Output of :func:`infer_econ.evaluate`, one row per option.
    x, y, color, text : str
        Columns (defaults from the glossary).
    highlight : str, optional
        ``text`` value to emphasise (the user's current choice).
    log_x, log_y : bool
        Log scales (default on: options span orders of magnitude).
    extra_tooltip : sequence of str
        More tooltip columns (those present are shown).
    title : str, optional
        Chart title.

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"hardware": ["a"], "category": ["c"], "output_tokens_per_s": [1.0],
    ...                   "usd_per_million_output_tokens": [2.0]})
    >>> cost_vs_throughput(f, highlight="a").to_dict()["params"][0]["value"]
    'a'
    """
    col = color if color in frame.columns else None
    return scatter(frame, x, y, color=col, text=text if text in frame.columns else None, log_x=log_x, log_y=log_y,
                   highlight=highlight, extra_tooltip=extra_tooltip, title=title)


def roofline(
    frame: pl.DataFrame,
    *,
    x: str = "arithmetic_intensity_flop_per_byte",
    roof: str = "attainable_tflops",
    point: str = "achieved_tflops",
    kind: str = "kind",
    text: str = "phase",
    title: str | None = "Roofline",
):
    """Roofline: attainable compute against arithmetic intensity, with workload points.

    ``frame`` holds both the roof (rows with ``kind == "roof"``: a few x values
    and the attainable TFLOP/s there, from the performance core) and the
    workload points (``kind == "point"``: the intensity and the achieved
    TFLOP/s of each phase). Log-log axes.

    Parameters
    ----------
    frame : pl.DataFrame
        Roof and point rows as above.
    x, roof, point, kind, text : str
        Column names.
    title : str, optional
        Chart title.

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"kind": ["roof", "roof", "point"], "phase": [None, None, "decode"],
    ...                   "arithmetic_intensity_flop_per_byte": [1.0, 1000.0, 2.0],
    ...                   "attainable_tflops": [3.3, 989.0, None], "achieved_tflops": [None, None, 5.0]})
    >>> len(roofline(f).to_dict()["layer"])
    3
    """
    base = alt.Chart(_clean(frame))
    xs = alt.X(x, type="quantitative", title=label(x), scale=alt.Scale(type="log"))
    roof_layer = base.transform_filter(f"datum['{kind}'] === 'roof'").mark_line(color="#5f6b73").encode(
        x=xs, y=alt.Y(roof, type="quantitative", title="TFLOP/s", scale=alt.Scale(type="log")),
        tooltip=tooltip(frame, [x, roof]),
    )
    pts = base.transform_filter(f"datum['{kind}'] === 'point'")
    point_layer = pts.mark_circle(size=160).encode(
        x=xs, y=alt.Y(point, type="quantitative"),
        color=alt.Color(text, type="nominal", title=label(text)),
        tooltip=tooltip(frame, [c for c in frame.columns if c != kind]),
    )
    text_layer = pts.mark_text(align="left", dx=9, fontSize=11).encode(
        x=xs, y=alt.Y(point, type="quantitative"), text=alt.Text(text, type="nominal")
    )
    return theme(alt.layer(roof_layer, point_layer, text_layer), title=title)


def pareto(
    frame: pl.DataFrame,
    *,
    x: str = "usd_per_million_tokens",
    y: str = "accuracy",
    frontier: str = "on_frontier",
    text: str = "model",
    color: str | None = "precision",
    highlight: str | None = None,
    log_x: bool = True,
    target: float | None = None,
    extra_tooltip: Sequence[str] | None = None,
    title: str | None = "Cost vs accuracy: the Pareto frontier",
):
    """Cost against accuracy with the Pareto frontier drawn as a line.

    Rows where ``frontier`` is true (computed by :mod:`infer_econ.value`) are
    joined by a step line; no option beats them on both cost and accuracy.

    Parameters
    ----------
    frame : pl.DataFrame
        One row per model (and precision) option.
    x, y, frontier, text, color : str
        Column names.
    highlight : str, optional
        ``text`` value to emphasise.
    log_x : bool
        Log scale for the cost axis.
    target : float, optional
        A quality target drawn as a dashed line (Vega param ``target``).
    extra_tooltip : sequence of str, optional
        More tooltip columns.
    title : str, optional
        Chart title.

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"model": ["a", "b"], "usd_per_million_tokens": [1.0, 3.0],
    ...                   "accuracy": [0.6, 0.7], "on_frontier": [True, True]})
    >>> pareto(f, color=None).to_dict()["layer"][0]["mark"]["type"]
    'line'
    """
    col = color if color and color in frame.columns else None
    xs = alt.X(x, type="quantitative", title=label(x), scale=_scale(log_x))
    base = alt.Chart(_clean(frame))
    line = base.transform_filter(f"datum['{frontier}']").mark_line(
        interpolate="step-after", color="#2a9d5b", strokeWidth=2
    ).encode(x=xs, y=alt.Y(y, type="quantitative"), order=alt.Order(x, type="quantitative"))
    tips = tooltip(frame, _tip_columns(frame, [text, col, x, y, frontier], extra_tooltip))
    enc = {"x": xs, "y": alt.Y(y, type="quantitative", title=label(y), scale=alt.Scale(zero=False)), "tooltip": tips}
    if col:
        enc["color"] = alt.Color(col, type="nominal", title=label(col))
    hl = alt.param(name="highlight", value=highlight if highlight is not None else "")
    enc["size"] = alt.condition(f"datum['{text}'] === highlight", alt.value(260), alt.value(70))
    enc["shape"] = alt.Shape(frontier, type="nominal", title="On the frontier")
    points = base.mark_point(filled=True).encode(**enc).add_params(hl)
    labels = base.mark_text(align="left", dx=7, dy=-5, fontSize=10).encode(
        x=xs, y=alt.Y(y, type="quantitative"), text=alt.Text(text, type="nominal")
    )
    layers = [line, points, labels]
    chart_params = []
    if target is not None:
        p, rule = _param_rule(base, "target", target)
        chart_params.append(p)
        layers.append(rule)
    return theme(_layered(layers, chart_params), title=title)


def batch_frontier(
    frame: pl.DataFrame,
    *,
    x: str = "tpot_s",
    y: str = "output_tokens_per_s",
    color: str = "usd_per_million_output_tokens",
    text: str = "batch_size_used",
    highlight: int | None = None,
    title: str | None = "The batch frontier: time per token for each user vs total throughput",
):
    """Each user's time per output token against aggregate tokens/s, one point per batch size.

    Moving along the curve (bigger batches, to the right) trades each user's
    speed for the deployment's throughput; the colour is the cost per million
    tokens at that batch.

    Parameters
    ----------
    frame : pl.DataFrame
        One row per batch size (from :func:`infer_econ.evaluate`).
    x, y, color, text : str
        Column names.
    highlight : int, optional
        Batch size to emphasise (the operating point).
    title : str, optional
        Chart title.

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"batch_size_used": [1, 8], "tpot_s": [0.010, 0.0125],
    ...                   "output_tokens_per_s": [100.0, 640.0], "usd_per_million_output_tokens": [9.0, 1.4]})
    >>> batch_frontier(f, highlight=8).to_dict()["params"][0]["value"]
    8
    """
    xs = alt.X(x, type="quantitative", title=label(x))
    ys = alt.Y(y, type="quantitative", title=label(y))
    base = alt.Chart(_clean(frame))
    line = base.mark_line(color="#9aa5ad").encode(x=xs, y=ys, order=alt.Order(text, type="quantitative"))
    hl = alt.param(name="highlight", value=highlight if highlight is not None else -1)
    pts = base.mark_circle().encode(
        x=xs, y=ys,
        color=alt.Color(color, type="quantitative", title=label(color), scale=alt.Scale(scheme="viridis", type="log")),
        size=alt.condition(f"datum['{text}'] === highlight", alt.value(300), alt.value(80)),
        stroke=alt.condition(f"datum['{text}'] === highlight", alt.value("black"), alt.value(None)),
        tooltip=tooltip(frame, _tip_columns(frame, [text, x, y, color, "ttft_s", "tpot_s"], None)),
    ).add_params(hl)
    txt = base.mark_text(align="left", dx=8, dy=-6, fontSize=10).encode(
        x=xs, y=ys, text=alt.Text(text, type="quantitative")
    )
    return theme(alt.layer(line, pts, txt), title=title)


def load_curve(
    frame: pl.DataFrame,
    *,
    x: str = "request_rate_per_s",
    y: Sequence[str] = ("ttft_p50_s", "ttft_p99_s"),
    slo_s: float | None = None,
    log_y: bool = True,
    title: str | None = "Latency under load",
):
    """Latency percentiles against request rate; an optional SLO line (Vega param ``slo_s``).

    Parameters
    ----------
    frame : pl.DataFrame
        One row per request rate (from :func:`infer_econ.evaluate` with
        ``request_rate_per_s``); unstable rates have null latencies and are
        left out of the lines.
    x : str
        Rate column.
    y : sequence of str
        Latency columns.
    slo_s : float, optional
        SLO drawn as a dashed line.
    log_y : bool
        Log latency axis (latency explodes near capacity).
    title : str, optional
        Chart title.

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"request_rate_per_s": [1.0, 2.0], "ttft_p50_s": [0.1, 0.2], "ttft_p99_s": [0.3, None]})
    >>> load_curve(f, slo_s=0.5).to_dict()["params"][0]["value"]
    0.5
    """
    return lines(frame, x, list(y), rules={"slo_s": slo_s} if slo_s is not None else None, title=title,
                 y_title="Latency (s)", log_y=log_y, extra_tooltip=["utilization", "stable"])


def hourly_fleet(
    frame: pl.DataFrame,
    *,
    x: str = "hour",
    y: str = "replicas",
    color: str = "strategy",
    title: str | None = "Replicas hour by hour",
    extra_tooltip: Sequence[str] | None = ("demand_requests_per_s", "usd_per_hour", "slo_violation"),
):
    """Replicas (or another hourly column) per strategy over the day, as step lines.

    Parameters
    ----------
    frame : pl.DataFrame
        Long form: one row per hour and strategy (from :mod:`infer_econ.serving`).
    x, y, color : str
        Column names.
    title : str, optional
        Chart title.
    extra_tooltip : sequence of str
        More tooltip columns (those present are shown).

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"hour": [0, 1], "replicas": [1, 2], "strategy": ["fixed", "fixed"]})
    >>> hourly_fleet(f).to_dict()["mark"]["interpolate"]
    'step-after'
    """
    col = color if color in frame.columns else None
    enc: dict = {
        "x": alt.X(x, type="quantitative", title=label(x)),
        "y": alt.Y(y, type="quantitative", title=label(y)),
        "tooltip": tooltip(frame, _tip_columns(frame, [x, col, y], extra_tooltip)),
    }
    if col:
        enc["color"] = alt.Color(col, type="nominal", title=label(col))
    return theme(alt.Chart(_clean(frame)).mark_line(interpolate="step-after", point=True).encode(**enc), title=title)


def waterfall(
    frame: pl.DataFrame,
    *,
    step: str = "lever",
    value: str = "usd_per_month",
    title: str | None = "Savings waterfall",
    extra_tooltip: Sequence[str] | None = None,
):
    """Savings waterfall: the cost after each lever, applied in the frame's order.

    ``frame`` has one row per step in order, with ``value`` the cost *after*
    that step (the first row is the starting point). Each bar spans from the
    previous step's cost to this one's; a drop is green, a rise red.

    Parameters
    ----------
    frame : pl.DataFrame
        Ordered steps, from :mod:`infer_econ.value` (savings levers).
    step : str
        Column naming each step.
    value : str
        Cost after the step.
    title : str, optional
        Chart title.
    extra_tooltip : sequence of str, optional
        More tooltip columns (e.g. the accuracy and latency effect).

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"lever": ["baseline", "fp8"], "usd_per_month": [1000.0, 600.0]})
    >>> waterfall(f).to_dict()["layer"][0]["mark"]["type"]
    'bar'
    """
    data = frame.with_row_index("_order")
    # vega-lite's lag op: previous row's value in _order (null on the first row)
    base = alt.Chart(_clean(data)).transform_window(
        window=[{"op": "lag", "field": value, "as": "_previous"}], sort=[{"field": "_order"}]
    ).transform_calculate(
        _start="datum._previous === null ? 0 : datum._previous",
        _direction="datum._previous === null ? 'start' : (datum['%s'] <= datum._previous ? 'saves' : 'costs')" % value,
    )
    xs = alt.X(step, type="nominal", title=label(step), sort=alt.EncodingSortField(field="_order"),
               axis=alt.Axis(labelAngle=-30))
    bars_layer = base.mark_bar(size=34).encode(
        x=xs,
        y=alt.Y("_start:Q", title=label(value)),
        y2=alt.Y2(value),
        color=alt.Color("_direction:N", title="",
                        scale=alt.Scale(domain=["start", "saves", "costs"], range=["#1f5fa8", "#2a9d5b", "#c0392b"])),
        tooltip=tooltip(frame, _tip_columns(frame, [step, value], extra_tooltip or [c for c in frame.columns])),
    )
    txt = base.mark_text(dy=-8, fontSize=10).encode(
        x=xs, y=alt.Y(value, type="quantitative"), text=alt.Text(value, type="quantitative", format=",.3~s")
    )
    return theme(alt.layer(bars_layer, txt), title=title)


def break_even(
    frame: pl.DataFrame,
    *,
    x: str = "tokens_per_month",
    y: str = "usd_per_month",
    color: str = "option",
    marker: float | None = None,
    title: str | None = "Monthly cost by volume",
):
    """Monthly cost of each option against volume (log-log); the crossing is the break-even.

    ``marker`` (a Vega param ``volume``) draws a vertical line at the user's
    volume.

    Parameters
    ----------
    frame : pl.DataFrame
        Long form: one row per volume and option (from :mod:`infer_econ.value`).
    x, y, color : str
        Column names.
    marker : float, optional
        The user's volume.
    title : str, optional
        Chart title.

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"tokens_per_month": [1e6, 1e9], "usd_per_month": [10.0, 1e4], "option": ["api", "api"]})
    >>> break_even(f, marker=1e8).to_dict()["params"][0]["name"]
    'volume'
    """
    base = alt.Chart(_clean(frame))
    xs = alt.X(x, type="quantitative", title=label(x), scale=alt.Scale(type="log"))
    line = base.mark_line().encode(
        x=xs, y=alt.Y(y, type="quantitative", title=label(y), scale=alt.Scale(type="log")),
        color=alt.Color(color, type="nominal", title=label(color)),
        tooltip=tooltip(frame, [c for c in frame.columns]),
    )
    layers = [line]
    chart_params = []
    if marker is not None:
        p, rule = _param_rule(base, "volume", marker, axis="x", color="black", dash=(4, 3))
        chart_params.append(p)
        layers.append(rule)
    return theme(_layered(layers, chart_params), title=title)


def energy_by_region(
    frame: pl.DataFrame,
    *,
    value: str = "g_co2e_per_request",
    category: str = "region",
    color: str | None = "hardware",
    title: str | None = "Carbon per request by region",
):
    """Bars of a carbon (or energy) column per region, optionally per hardware.

    Parameters
    ----------
    frame : pl.DataFrame
        From :func:`infer_econ.evaluate` with ``grid_region``.
    value, category, color : str
        Column names.
    title : str, optional
        Chart title.

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"region": ["a", "b"], "g_co2e_per_request": [0.5, 2.0]})
    >>> energy_by_region(f, color=None).to_dict()["mark"]["type"]
    'bar'
    """
    return bars(frame, value, category, color=color if color and color in frame.columns else None, title=title,
                extra_tooltip=[c for c in ("grid_g_co2e_per_kwh", "kwh_per_million_output_tokens") if c in frame.columns])


def predicted_vs_measured(
    frame: pl.DataFrame,
    *,
    x: str = "measured",
    y: str = "predicted",
    color: str = "kind",
    extra_tooltip: Sequence[str] | None = ("model", "hardware", "engine", "precision", "batch_size"),
    band_pct: float | None = None,
    title: str | None = "Predicted vs measured",
):
    """Predicted against measured values (log-log) with the y = x line.

    The diagonal is drawn by Vega from the data's extent (presentation only).

    Parameters
    ----------
    frame : pl.DataFrame
        One row per measurement with both values.
    x, y, color : str
        Column names.
    extra_tooltip : sequence of str
        More tooltip columns (those present are shown).
    band_pct : float, optional
        Draw a ±``band_pct`` % tolerance around the diagonal (Vega param ``band_pct``).
    title : str, optional
        Chart title.

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"measured": [1.0, 10.0], "predicted": [1.2, 9.0], "kind": ["a", "a"]})
    >>> len(predicted_vs_measured(f).to_dict()["layer"])
    2
    """
    col = color if color in frame.columns else None
    base = alt.Chart(_clean(frame))
    enc: dict = {
        "x": alt.X(x, type="quantitative", title=label(x), scale=alt.Scale(type="log")),
        "y": alt.Y(y, type="quantitative", title=label(y), scale=alt.Scale(type="log")),
        "tooltip": tooltip(frame, _tip_columns(frame, [x, y, col], extra_tooltip)),
    }
    if col:
        enc["color"] = alt.Color(col, type="nominal", title=label(col))
    pts = base.mark_circle(size=50, opacity=0.7).encode(**enc)
    ends = base.transform_aggregate(lo=f"min({x})", hi=f"max({x})").transform_fold(["lo", "hi"], as_=["_end", "_v"])
    diag = ends.mark_line(color="#5f6b73", strokeDash=[4, 3]).encode(x="_v:Q", y="_v:Q")
    layers = [diag, pts]
    params = []
    if band_pct is not None:
        # a ±band_pct % tolerance around y = x, drawn by Vega (presentation only)
        params.append(alt.param(name="band_pct", value=band_pct))
        # the lower line stops at 2 % of the measured value: a log axis has no zero
        for name, factor in (("_up", "(1 + band_pct / 100)"), ("_down", "max(1 - band_pct / 100, 0.02)")):
            layers.append(ends.transform_calculate(**{name: f"datum._v * {factor}"})
                          .mark_line(color="#c0392b", strokeDash=[2, 3]).encode(x="_v:Q", y=f"{name}:Q"))
    chart = alt.layer(*layers)
    if params:
        chart = chart.add_params(*params)
    return theme(chart, title=title)


def band(
    frame: pl.DataFrame,
    *,
    x: str,
    lo: str,
    mid: str,
    hi: str,
    marker: float | None = None,
    log_x: bool = True,
    log_y: bool = True,
    y_title: str | None = None,
    title: str | None = "Uncertainty band (p10 to p90)",
):
    """A p10–p90 band with the p50 line against ``x``; an optional marker (Vega param ``volume``).

    Parameters
    ----------
    frame : pl.DataFrame
        One row per x value with the three quantile columns (from
        :func:`infer_econ.evaluate` with ``uncertainty=True``).
    x, lo, mid, hi : str
        Column names.
    marker : float, optional
        The user's x value, drawn as a dashed line.
    log_x, log_y : bool
        Log scales.
    y_title : str, optional
        Axis title (default: the ``mid`` column's label).
    title : str, optional
        Chart title.

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"v": [1.0, 10.0], "a": [1.0, 8.0], "b": [2.0, 10.0], "c": [3.0, 13.0]})
    >>> [l["mark"]["type"] for l in band(f, x="v", lo="a", mid="b", hi="c", marker=5.0).to_dict()["layer"]]
    ['area', 'line', 'rule']
    """
    base = alt.Chart(_clean(frame))
    xs = alt.X(x, type="quantitative", title=label(x), scale=_scale(log_x))
    ys = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    area = base.mark_area(opacity=0.25, color="#1f5fa8").encode(
        x=xs, y=alt.Y(lo, type="quantitative", title=y_title or label(mid), scale=ys), y2=alt.Y2(hi),
        tooltip=tooltip(frame, [x, lo, mid, hi]))
    line = base.mark_line(color="#1f5fa8").encode(x=xs, y=alt.Y(mid, type="quantitative", scale=ys),
                                                  tooltip=tooltip(frame, [x, lo, mid, hi]))
    layers = [area, line]
    params = []
    if marker is not None:
        p, rule = _param_rule(base, "volume", marker, axis="x", color="black", dash=(4, 3))
        params.append(p)
        layers.append(rule)
    return theme(_layered(layers, params), title=title)


def save(chart, path: str) -> str:
    """Write a chart to ``path`` (``.png``, ``.svg``, ``.html`` or ``.json``), offline.

    PNG and SVG are rendered by vl-convert (no browser, no network); HTML
    embeds the chart with inline JavaScript.

    Parameters
    ----------
    chart : altair chart
        Chart to write.
    path : str
        Destination; the suffix picks the format.

    Returns
    -------
    str
        The path written.

    Examples
    --------
    >>> import polars as pl, tempfile, os
    >>> c = bars(pl.DataFrame({"hardware": ["a"], "usd_per_hour": [1.0]}), "usd_per_hour", "hardware")
    >>> p = save(c, os.path.join(tempfile.mkdtemp(), "c.svg"))
    >>> open(p).read().startswith("<svg")
    True
    """
    suffix = str(path).rsplit(".", 1)[-1].lower()
    if suffix == "html":
        chart.save(path, format="html", inline=True)
    else:
        chart.save(path)
    return str(path)

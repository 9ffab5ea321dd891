"""Knob factories: ipywidgets with units in their labels and sensible ranges.

Every factory returns a widget with a ``value`` trait (a catalog id, a number
or a string); :class:`infer_econ.ui.App` observes ``value``. Choices come
from the catalogs (:func:`infer_econ.catalog.load`), so a user's own rows
show up as options. Volumes use log sliders. ``continuous_update=False`` is
the default where a move triggers a heavy recompute; light knobs update while
dragging.

Examples
--------
>>> k = volume(value=1e5, unit="requests/day")
>>> k.value, k.description
(100000.0, 'Requests/day')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import ipywidgets as w
import polars as pl
import traitlets

from .. import catalog

__all__ = [
    "STYLE",
    "slider",
    "int_slider",
    "log_slider",
    "dropdown",
    "toggle",
    "model",
    "hardware",
    "hardware_multi",
    "precision",
    "engine",
    "volume",
    "tokens",
    "price_model",
    "region",
    "provider",
    "api_model",
    "HardwarePicker",
    "PRICE_MODEL_LABELS",
]

#: Shared style: descriptions are never truncated.
STYLE = {"description_width": "initial"}
_LAYOUT = {"width": "395px"}

#: Labels for the ``price_model`` ids of :mod:`infer_econ.cost`.
PRICE_MODEL_LABELS = {
    "on_demand": "On demand",
    "spot": "Spot (interruptible)",
    "reserved_1y": "Reserved 1 year",
    "reserved_3y": "Reserved 3 years",
    "owned": "Owned (buy and run)",
}


def _layout(width: str | None = None) -> w.Layout:
    return w.Layout(width=width or _LAYOUT["width"])


def slider(description: str, value: float, min: float, max: float, step: float, *, unit: str = "",
           fmt: str = ".3g", continuous_update: bool = True) -> w.FloatSlider:
    """A float slider labelled ``description [unit]``.

    Parameters
    ----------
    description : str
        Label.
    value, min, max, step : float
        Initial value, range and step.
    unit : str
        Unit shown in brackets after the label.
    fmt : str
        Readout format.
    continuous_update : bool
        Update while dragging.

    Returns
    -------
    ipywidgets.FloatSlider

    Examples
    --------
    >>> slider("Utilization", 0.6, 0.05, 1.0, 0.05, unit="fraction").description
    'Utilization [fraction]'
    """
    return w.FloatSlider(value=value, min=min, max=max, step=step, description=_desc(description, unit),
                         readout_format=fmt, continuous_update=continuous_update, style=STYLE, layout=_layout())


def int_slider(description: str, value: int, min: int, max: int, step: int = 1, *, unit: str = "",
               continuous_update: bool = True) -> w.IntSlider:
    """An integer slider labelled ``description [unit]``.

    Examples
    --------
    >>> int_slider("Devices", 1, 1, 8).value
    1
    """
    return w.IntSlider(value=value, min=min, max=max, step=step, description=_desc(description, unit),
                       continuous_update=continuous_update, style=STYLE, layout=_layout())


def log_slider(description: str, value: float, min: float, max: float, *, unit: str = "", steps_per_decade: int = 4,
               fmt: str = ".3g", continuous_update: bool = True) -> w.FloatLogSlider:
    """A log-scale slider from ``min`` to ``max`` (powers of ten in between).

    Parameters
    ----------
    description : str
        Label.
    value, min, max : float
        Initial value and range (positive). The range is trimmed to whole
        steps from the initial value, so the value sits on the slider's grid.
    unit : str
        Unit shown after the label (``"requests/day"``).
    steps_per_decade : int
        Slider positions per factor of ten.
    fmt : str
        Readout format (``".3s"`` for large counts: 1.00M).
    continuous_update : bool
        Update while dragging.

    Returns
    -------
    ipywidgets.FloatLogSlider

    Examples
    --------
    >>> s = log_slider("Volume", 1e6, 1e3, 1e9, unit="tokens/month")
    >>> s.min, s.max
    (3.0, 9.0)
    >>> s = log_slider("TTFT", 2.0, 0.05, 30.0, unit="s")  # 2 s stays on the grid
    >>> round(10 ** s.min, 4), round(10 ** s.max, 2)
    (0.0632, 20.0)
    """
    if not (0 < min < max):
        raise ValueError(f"log_slider {description!r}: need 0 < min < max, got min={min}, max={max}")
    if not (min <= value <= max):
        raise ValueError(f"log_slider {description!r}: value {value} is outside [{min}, {max}]")
    # anchor the slider's grid on the initial value, so the browser does not snap it to a neighbour
    step = 1 / steps_per_decade
    v = math.log10(value)
    lo = v - math.floor(round((v - math.log10(min)) / step, 9)) * step
    hi = v + math.floor(round((math.log10(max) - v) / step, 9)) * step
    return w.FloatLogSlider(value=value, base=10, min=lo, max=hi, step=step,
                            description=_desc(description, unit), readout_format=fmt,
                            continuous_update=continuous_update, style=STYLE, layout=_layout())


def dropdown(description: str, options: Sequence, value=None) -> w.Dropdown:
    """A dropdown; ``options`` are values or ``(label, value)`` pairs.

    Examples
    --------
    >>> dropdown("Mode", [("Fast", "f"), ("Slow", "s")], "s").value
    's'
    """
    opts = list(options)
    values = [o[1] if isinstance(o, tuple) else o for o in opts]
    if value is None and values:
        value = values[0]
    if value not in values:
        raise ValueError(f"dropdown {description!r}: {value!r} is not one of {values}")
    return w.Dropdown(options=opts, value=value, description=description, style=STYLE, layout=_layout())


def toggle(description: str, options: Sequence, value=None) -> w.ToggleButtons:
    """Toggle buttons for a few choices.

    Examples
    --------
    >>> toggle("Mode", ["interactive", "batch"]).value
    'interactive'
    """
    opts = list(options)
    values = [o[1] if isinstance(o, tuple) else o for o in opts]
    return w.ToggleButtons(options=opts, value=value if value is not None else values[0], description=description,
                           style={"description_width": "initial", "button_width": "auto"})


def _desc(description: str, unit: str) -> str:
    return f"{description} [{unit}]" if unit else description


def _catalog_options(name: str, label_col: str = "name", where: pl.Expr | None = None,
                     extra=None) -> list[tuple[str, str]]:
    frame = catalog.load(name, extra=extra) if extra is not None else catalog.load(name)
    if where is not None:
        frame = frame.filter(where)
    return list(zip(frame[label_col].to_list(), frame["id"].to_list(), strict=True))


def _pick(options: list[tuple[str, str]], value: str | None, kind: str) -> str:
    values = [v for _, v in options]
    if not values:
        raise ValueError(f"no {kind} options to choose from")
    if value is None:
        return values[0]
    catalog.check_ids(kind, [value]) if kind in catalog.names() else None
    if value not in values:
        raise ValueError(f"{kind} {value!r} is not among the options {values}")
    return value


def model(value: str | None = "llama-3.1-8b", *, task: str | Iterable[str] | None = "text-generation",
          open_weights: bool | None = None, ids: Sequence[str] | None = None, description: str = "Model",
          extra=None) -> w.Dropdown:
    """Model picker from the models catalog.

    Parameters
    ----------
    value : str, optional
        Initial model id.
    task : str or iterable of str, optional
        Keep models of these tasks (default text generation); None keeps all.
    open_weights : bool, optional
        Keep only open-weights (True) or closed (False) models.
    ids : sequence of str, optional
        Keep only these ids, in this order.
    description : str
        Label.
    extra : path or frame, optional
        The user's own model rows (:func:`infer_econ.catalog.load`).

    Returns
    -------
    ipywidgets.Dropdown
        Labels are model names with total parameters; values are ids.

    Examples
    --------
    >>> model("llama-3.1-8b").value
    'llama-3.1-8b'
    """
    frame = catalog.load("models", extra=extra) if extra is not None else catalog.load("models")
    if task is not None:
        tasks = [task] if isinstance(task, str) else list(task)
        frame = frame.filter(pl.col("task").is_in(tasks))
    if open_weights is not None:
        frame = frame.filter(pl.col("open_weights") == open_weights)
    if ids is not None:
        order = {m: i for i, m in enumerate(ids)}
        frame = frame.filter(pl.col("id").is_in(list(ids))).sort(pl.col("id").replace_strict(order, default=None))
    labels = [
        f"{n} ({p:.3g}B)" if p is not None else n
        for n, p in zip(frame["name"].to_list(), frame["total_params_b"].to_list(), strict=True)
    ]
    options = list(zip(labels, frame["id"].to_list(), strict=True))
    return dropdown(description, options, _pick(options, value, "models"))


class HardwarePicker(w.VBox):
    """Hardware picker with a text search and a category filter.

    ``value`` is the chosen hardware id. Typing in the search box or choosing
    a category narrows the list; the current choice stays selected while it
    matches, otherwise the first match is chosen.

    Parameters
    ----------
    value : str, optional
        Initial hardware id.
    categories : sequence of str, optional
        Categories offered (default: all in the catalog).
    ids : sequence of str, optional
        Restrict to these ids.
    extra : path or frame, optional
        The user's own hardware rows.

    Examples
    --------
    >>> p = HardwarePicker("h100-sxm")
    >>> p.search.value = "L4 24"
    >>> p.value
    'l4'
    """

    value = traitlets.Unicode(allow_none=True)

    @traitlets.validate("value")
    def _valid_value(self, proposal):
        v = proposal["value"]
        frame = getattr(self, "_frame", None)
        if v is not None and frame is not None and v not in frame["id"].to_list():
            raise traitlets.TraitError(f"hardware {v!r} is not among this picker's choices")
        return v

    def __init__(self, value: str | None = "h100-sxm", *, categories: Sequence[str] | None = None,
                 ids: Sequence[str] | None = None, description: str = "Hardware", extra=None):
        frame = catalog.load("hardware", extra=extra) if extra is not None else catalog.load("hardware")
        if ids is not None:
            frame = frame.filter(pl.col("id").is_in(list(ids)))
        if categories is not None:
            frame = frame.filter(pl.col("category").is_in(list(categories)))
        self._frame = frame.select("id", "name", "category", "vendor", "memory_gb")
        cats = sorted(set(self._frame["category"].drop_nulls().to_list()))
        self.search = w.Text(placeholder="search: h100, apple, 24GB…", description="Find", style=STYLE,
                             layout=_layout(), continuous_update=True)
        self.category = w.Dropdown(options=[("all categories", "")] + [(c, c) for c in cats], value="",
                                   description="Category", style=STYLE, layout=_layout())
        self.choice = w.Dropdown(options=self._options(), description=description, style=STYLE, layout=_layout())
        super().__init__([self.choice, self.category, self.search])
        if value is not None:
            if value not in self._frame["id"].to_list():
                catalog.check_ids("hardware", [value])
                raise ValueError(f"hardware {value!r} is filtered out of this picker")
            self.choice.value = value
        self.value = self.choice.value
        self.choice.observe(self._on_choice, "value")
        self.search.observe(self._refilter, "value")
        self.category.observe(self._refilter, "value")
        self.observe(self._on_value, "value")

    def _options(self) -> list[tuple[str, str]]:
        f = self._frame
        cat = getattr(self, "category", None)
        if cat is not None and cat.value:
            f = f.filter(pl.col("category") == cat.value)
        search = getattr(self, "search", None)
        if search is not None and search.value.strip():
            needle = search.value.strip().lower()
            f = f.filter(
                pl.col("name").str.to_lowercase().str.contains(needle, literal=True)
                | pl.col("id").str.contains(needle, literal=True)
                | pl.col("vendor").str.contains(needle, literal=True)
            )
        return list(zip(f["name"].to_list(), f["id"].to_list(), strict=True))

    def _refilter(self, _change=None) -> None:
        opts = self._options()
        if not opts:
            return  # keep the last list rather than an empty one
        current = self.choice.value
        self.choice.options = opts
        ids = [v for _, v in opts]
        self.choice.value = current if current in ids else ids[0]

    def _on_choice(self, change) -> None:
        if change["new"] is not None:
            self.value = change["new"]

    def _on_value(self, change) -> None:
        new = change["new"]
        if new != self.choice.value:
            ids = [v for _, v in self.choice.options]
            if new not in ids:
                self.search.value = ""
                self.category.value = ""
            self.choice.value = new


def hardware(value: str | None = "h100-sxm", **kw) -> HardwarePicker:
    """Hardware picker (search + category filter); see :class:`HardwarePicker`.

    Examples
    --------
    >>> hardware("l4").value
    'l4'
    """
    return HardwarePicker(value, **kw)


def hardware_multi(value: Sequence[str] | None = None, *, categories: Sequence[str] | None = None,
                   description: str = "Hardware", rows: int = 8) -> w.SelectMultiple:
    """Multi-select of hardware ids (ctrl/shift-click); ``value`` is a tuple of ids.

    Examples
    --------
    >>> hardware_multi(["h100-sxm", "l4"]).value
    ('h100-sxm', 'l4')
    """
    where = pl.col("category").is_in(list(categories)) if categories else None
    options = _catalog_options("hardware", where=where)
    ids = [v for _, v in options]
    chosen = tuple(value) if value is not None else tuple(ids[:4])
    bad = [v for v in chosen if v not in ids]
    if bad:
        catalog.check_ids("hardware", bad)
        raise ValueError(f"hardware {bad} filtered out of this picker")
    return w.SelectMultiple(options=options, value=chosen, description=description, rows=rows, style=STYLE,
                            layout=_layout())


def precision(value: str = "bf16", *, ids: Sequence[str] | None = None, description: str = "Precision") -> w.Dropdown:
    """Precision picker from the precisions catalog (bits per weight in the label).

    Examples
    --------
    >>> precision("fp8").value
    'fp8'
    """
    frame = catalog.load("precisions")
    if ids is not None:
        frame = frame.filter(pl.col("id").is_in(list(ids)))
    labels = [f"{n} ({b:g} bits/weight)" for n, b in zip(frame["name"].to_list(), frame["bits_per_weight"].to_list(),
                                                         strict=True)]
    options = list(zip(labels, frame["id"].to_list(), strict=True))
    return dropdown(description, options, _pick(options, value, "precisions"))


def engine(value: str = "vllm", *, ids: Sequence[str] | None = None, description: str = "Engine") -> w.Dropdown:
    """Inference engine picker from the engines catalog.

    Examples
    --------
    >>> engine("vllm").value
    'vllm'
    """
    where = pl.col("id").is_in(list(ids)) if ids is not None else None
    options = _catalog_options("engines", where=where)
    return dropdown(description, options, _pick(options, value, "engines"))


def volume(value: float = 1e5, *, min: float = 1e2, max: float = 1e9, unit: str = "requests/day",
           description: str | None = None, continuous_update: bool = True) -> w.FloatLogSlider:
    """Volume on a log slider (requests/day, tokens/month, …); the label is the unit.

    Examples
    --------
    >>> volume(1e9, min=1e6, max=1e12, unit="tokens/month").description
    'Tokens/month'
    """
    desc = description if description is not None else unit[:1].upper() + unit[1:]
    return log_slider(desc, value, min, max, fmt=".3s", continuous_update=continuous_update)


def tokens(description: str, value: int, *, min: int = 16, max: int = 32768, continuous_update: bool = True):
    """Token count on a log slider (prompt or output length) [tokens].

    Examples
    --------
    >>> tokens("Prompt", 1000).description
    'Prompt [tokens]'
    """
    return log_slider(description, float(value), float(min), float(max), unit="tokens", fmt=".3s",
                      continuous_update=continuous_update)


def price_model(value: str = "on_demand", *, options: Sequence[str] | None = None,
                description: str = "Price model") -> w.Dropdown:
    """How the hardware is paid for: on demand, spot, reserved, owned.

    Examples
    --------
    >>> price_model("spot").value
    'spot'
    """
    ids = list(options) if options is not None else list(PRICE_MODEL_LABELS)
    return dropdown(description, [(PRICE_MODEL_LABELS.get(i, i), i) for i in ids], value)


def region(value: str | None = None, *, kind: str | None = None, description: str = "Grid region") -> w.Dropdown:
    """Electricity grid (carbon intensity in the label) from the grid_carbon catalog.

    Parameters
    ----------
    value : str, optional
        Initial grid id (default: the first).
    kind : str, optional
        Keep rows of this ``kind`` (e.g. cloud region or country).
    description : str
        Label.

    Examples
    --------
    >>> k = region()
    >>> "g CO2e/kWh" in k.options[0][0]
    True
    """
    frame = catalog.load("grid_carbon")
    if kind is not None:
        frame = frame.filter(pl.col("kind") == kind)
    labels = [f"{n} ({g:,.0f} g CO2e/kWh)" for n, g in zip(frame["name"].to_list(),
                                                          frame["g_co2e_per_kwh"].to_list(), strict=True)]
    options = list(zip(labels, frame["id"].to_list(), strict=True))
    return dropdown(description, options, _pick(options, value, "grid_carbon"))


def provider(value: str | None = None, *, catalog_name: str = "cloud_prices",
             description: str = "Provider") -> w.Dropdown:
    """Cloud (or API) provider from a price catalog.

    Examples
    --------
    >>> provider().value in [o for o in provider().options]
    True
    """
    frame = catalog.load(catalog_name)
    provs = sorted(set(frame["provider"].drop_nulls().to_list()))
    if value is None and provs:
        value = provs[0]
    return dropdown(description, provs, value)


def api_model(value: str | None = None, *, description: str = "API model") -> w.Dropdown:
    """Hosted API model (provider and model name in the label) from the api_prices catalog.

    Examples
    --------
    >>> k = api_model()
    >>> isinstance(k.value, str)
    True
    """
    frame = catalog.load("api_prices")
    labels = [f"{p}: {m}" for p, m in zip(frame["provider"].to_list(), frame["model_name"].to_list(), strict=True)]
    options = sorted(zip(labels, frame["id"].to_list(), strict=True))
    return dropdown(description, options, _pick(options, value, "api_prices"))

"""Exports: result frames to CSV / Parquet / JSON, charts to PNG / SVG, and the
planner's one-page, self-contained HTML report.

Every file is written atomically: to a temporary file in the same folder, then
moved over the target with :func:`os.replace`, so a crash never leaves half a
file and an existing file stays intact until the new one is complete.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import ValidationError

__all__ = ["atomic_write", "export_frame", "export_chart", "chart_svg", "report_html", "write_report",
           "collect_sources", "catalog_sources", "ID_COLUMNS_CATALOGS"]

_FRAME_SUFFIXES = (".csv", ".parquet", ".json", ".ndjson", ".jsonl")
_CHART_SUFFIXES = (".svg", ".png", ".html")


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp_path)`` then move the temporary file over ``path``.

    The temporary file lives in the target's folder (so :func:`os.replace` is a
    rename on one file system) and is flushed to disk (``fsync``) before the
    rename; on any exception it is removed and the old file, if any, is left as
    it was.

    Parameters
    ----------
    path : str or Path
        Target file; its folder must exist.
    write : callable
        Writes the complete content to the temporary path it is given.

    Returns
    -------
    Path
        The target.

    Notes
    -----
    write to ``<folder>/.<name>.<random>.tmp``, ``fsync``, then ``os.replace(tmp, path)``.

    References
    ----------
    POSIX ``rename(2)`` atomicity, as exposed by :func:`os.replace`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(d / "a.txt", lambda t: t.write_text("hello")).read_text()
    'hello'
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise ValidationError(f"{target}: folder {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        # mkstemp makes the file owner-only: give it the old file's mode, or the usual one for a new file
        if target.exists():
            mode = target.stat().st_mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp_path, mode)
        with open(tmp_path, "rb+") as fh:  # on disk before the rename, so a power cut cannot leave a torn file
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable (POSIX); not available everywhere
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return target
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return target


def export_frame(frame: pl.DataFrame | pl.LazyFrame, path: str | Path) -> Path:
    """Write a result frame to CSV, Parquet, JSON (rows) or NDJSON, chosen by the suffix.

    Parameters
    ----------
    frame : polars.DataFrame or LazyFrame
        Any result frame (``estimate``, ``evaluate`` …); column names keep their
        units.
    path : str or Path
        Target file; suffix ``.csv``, ``.parquet``, ``.json`` (a list of row
        objects), ``.ndjson`` or ``.jsonl``.

    Returns
    -------
    Path
        The written file.

    Notes
    -----
    CSV cannot hold nested columns (lists, structs): those are refused with a
    message naming the columns. ``inf`` floats are written as ``inf`` in CSV;
    JSON has no ``inf``/``NaN``, so such frames are refused for JSON rather than
    silently turned into ``null``.

    References
    ----------
    polars writers (``write_csv``, ``write_parquet``, ``write_json``, ``write_ndjson``); JSON: RFC 8259
    (no NaN / Infinity).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> f = pl.DataFrame({"hardware": ["h100-sxm"], "usd_per_hour": [3.5]})
    >>> export_frame(f, d / "out.csv").read_text()
    'hardware,usd_per_hour\\nh100-sxm,3.5\\n'
    >>> pl.read_parquet(export_frame(f, d / "out.parquet")).equals(f)
    True
    """
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    if not isinstance(frame, pl.DataFrame):
        raise ValidationError(f"export_frame: expected a polars DataFrame, got {type(frame).__name__}")
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _FRAME_SUFFIXES:
        raise ValidationError(f"{target}: suffix {target.suffix!r} is not one of {list(_FRAME_SUFFIXES)}")
    nested = [c for c, t in frame.schema.items() if t.is_nested()]
    if suffix == ".csv" and nested:
        raise ValidationError(f"{target}: CSV cannot hold nested column(s) {nested}; use .parquet or .json")
    if suffix in (".json", ".ndjson", ".jsonl"):
        floats = [c for c, t in frame.schema.items() if t.is_float()]
        if floats:
            bad = frame.select(pl.any_horizontal(pl.col(floats).is_infinite() | pl.col(floats).is_nan()).any())
            if bad.item():
                raise ValidationError(f"{target}: JSON cannot hold inf/NaN (in {floats}); use .csv or .parquet")
    writers = {
        ".csv": lambda t: frame.write_csv(t),
        ".parquet": lambda t: frame.write_parquet(t),
        ".json": lambda t: frame.write_json(t),
        ".ndjson": lambda t: frame.write_ndjson(t),
        ".jsonl": lambda t: frame.write_ndjson(t),
    }
    return atomic_write(target, writers[suffix])


def _spec(chart: Any) -> dict:
    if isinstance(chart, Mapping):
        return dict(chart)
    to_dict = getattr(chart, "to_dict", None)
    if to_dict is None:
        raise ValidationError(f"expected an altair chart or a Vega-Lite dict, got {type(chart).__name__}")
    return to_dict()


def chart_svg(chart: Any) -> str:
    """Render an altair chart (or a Vega-Lite spec dict) to an SVG string, offline (vl-convert).

    Parameters
    ----------
    chart : altair chart or dict
        The chart or its Vega-Lite spec.

    Returns
    -------
    str
        The SVG document.

    Notes
    -----
    A chart's Vega-Lite spec (``to_dict()``) is rendered by vl-convert.

    References
    ----------
    Vega-Lite rendering: vl-convert (https://github.com/vega/vl-convert).

    Examples
    --------
    >>> import altair as alt
    >>> c = alt.Chart(pl.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    >>> chart_svg(c).lstrip().startswith("<svg")
    True
    """
    import vl_convert as vlc

    return vlc.vegalite_to_svg(_spec(chart))


def export_chart(chart: Any, path: str | Path, *, scale: float = 2.0) -> Path:
    """Write a chart to PNG, SVG or standalone HTML, offline (vl-convert, no browser, no network).

    Parameters
    ----------
    chart : altair chart or dict
        The chart or its Vega-Lite spec.
    path : str or Path
        ``.png``, ``.svg`` or ``.html``.
    scale : float
        PNG pixel scale [dimensionless], 2 for slides.

    Returns
    -------
    Path
        The written file.

    Notes
    -----
    PNG and SVG are rendered by vl-convert without a browser; HTML embeds the spec and the
    Vega libraries inline, so the file opens offline.

    References
    ----------
    Vega-Lite rendering: vl-convert (https://github.com/vega/vl-convert).

    Examples
    --------
    >>> import altair as alt, tempfile, pathlib
    >>> c = alt.Chart(pl.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    >>> export_chart(c, pathlib.Path(tempfile.mkdtemp()) / "c.png").read_bytes()[:4]
    b'\\x89PNG'
    """
    import vl_convert as vlc

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _CHART_SUFFIXES:
        raise ValidationError(f"{target}: suffix {target.suffix!r} is not one of {list(_CHART_SUFFIXES)}")
    if not (isinstance(scale, (int, float)) and 0 < scale <= 10):
        raise ValidationError(f"scale={scale!r} must be in (0, 10]")
    spec = _spec(chart)
    if suffix == ".svg":
        data = vlc.vegalite_to_svg(spec).encode()
    elif suffix == ".png":
        data = vlc.vegalite_to_png(spec, scale=scale)
    else:
        data = vlc.vegalite_to_html(spec, bundle=True).encode()
    return atomic_write(target, lambda t: t.write_bytes(data))


def collect_sources(frames: Mapping[str, pl.DataFrame] | None = None, sources: Iterable[str] | None = None) -> list[str]:
    """Source keys used: ``sources`` plus every value of ``source`` / ``*_source`` columns in ``frames``.

    Parameters
    ----------
    frames : mapping of str to polars.DataFrame, optional
        Frames whose ``source`` / ``*_source`` string columns hold source keys
        (``;``-separated lists allowed).
    sources : iterable of str, optional
        Further keys.

    Returns
    -------
    list of str
        Sorted unique keys.

    Notes
    -----
    keys = sources ∪ split(';') of the string values of every ``source`` / ``*_source`` column.

    References
    ----------
    ``data/sources.csv`` (the keys' titles, publishers and URLs).

    Examples
    --------
    >>> collect_sources({"a": pl.DataFrame({"hardware_source": ["x", "y"], "source": ["x", None]})}, ["z"])
    ['x', 'y', 'z']
    """
    keys: set[str] = set()
    for f in (frames or {}).values():
        if isinstance(f, pl.LazyFrame):
            f = f.collect()
        for c in f.columns:
            if (c == "source" or c.endswith("_source")) and f.schema[c] == pl.String:
                for v in f[c].drop_nulls().unique().to_list():
                    keys.update(s.strip() for s in v.split(";") if s.strip())
    keys.update(str(s) for s in (sources or []))
    return sorted(keys)


#: result/scenario columns whose values are ids of a catalog row (the row's ``source`` is then a value used)
ID_COLUMNS_CATALOGS = {
    "model": "models", "hardware": "hardware", "precision": "precisions", "kv_precision": "precisions",
    "engine": "engines", "price_id": "cloud_prices", "grid_region": "grid_carbon",
    "electricity_region": "electricity_prices", "api_model": "api_prices",
}


def catalog_sources(frames: Mapping[str, pl.DataFrame] | None = None, scenario: Mapping[str, Any] | None = None,
                    catalogs: Mapping[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    """The catalog rows behind a result and their sources, one row per (catalog, id).

    Parameters
    ----------
    frames : mapping of str to polars.DataFrame, optional
        Result frames; their id columns (see :data:`ID_COLUMNS_CATALOGS`:
        ``model``, ``hardware``, ``price_id``, ``grid_region`` …) name the
        catalog rows used.
    scenario : mapping, optional
        Scenario knobs; string values of the same keys count too.
    catalogs : mapping of str to polars.DataFrame, optional
        Extended catalogs (with a user's rows) to look ids up in; default the
        shipped ones.

    Returns
    -------
    polars.DataFrame
        Columns ``catalog``, ``id``, ``origin`` (shipped / user), ``source``
        (a ``data/sources.csv`` key, or a user's free text), ``title``,
        ``publisher``, ``url``, ``as_of`` (of the source), sorted. Ids not in
        their catalog are left out.

    Notes
    -----
    The ids in the frames' id columns (``model``, ``hardware``, ``price_id`` …) are collected per catalog,
    each catalog is filtered to them, and the sources' title, publisher, URL and as-of are joined on
    ``source`` from ``data/sources.csv``.

    References
    ----------
    ``data/sources.csv``; each catalog's ``source`` and ``as_of`` columns.

    Examples
    --------
    >>> s = catalog_sources({"r": pl.DataFrame({"hardware": ["h100-sxm"], "x": [1]})})
    >>> s.select("catalog", "id").rows()
    [('hardware', 'h100-sxm')]
    >>> s["title"].item() is not None
    True
    """
    from .. import catalog

    wanted: dict[str, set[str]] = {}
    for f in (frames or {}).values():
        if isinstance(f, pl.LazyFrame):
            f = f.collect()
        for col, cat in ID_COLUMNS_CATALOGS.items():
            dtype = f.schema.get(col)
            if dtype is not None and (dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))):
                wanted.setdefault(cat, set()).update(str(v) for v in f[col].drop_nulls().unique().to_list())
    for col, cat in ID_COLUMNS_CATALOGS.items():
        v = (scenario or {}).get(col)
        if isinstance(v, str) and v:
            wanted.setdefault(cat, set()).add(v)
    rows = []
    for cat, ids in sorted(wanted.items()):
        frame = (catalogs or {}).get(cat)
        if frame is None:
            if cat not in catalog.names():
                continue
            frame = catalog.load(cat)
        have = frame.filter(pl.col("id").is_in(sorted(ids)))
        origin = have["origin"] if "origin" in have.columns else pl.Series(["shipped"] * have.height)
        for i, src, org in zip(have["id"].to_list(), have["source"].to_list(), origin.to_list()):
            rows.append({"catalog": cat, "id": i, "origin": org, "source": src})
    out = pl.DataFrame(rows, schema={"catalog": pl.String, "id": pl.String, "origin": pl.String, "source": pl.String})
    src = catalog.load("sources").select(
        pl.col("id").alias("source"), "title", "publisher", "url", pl.col("as_of").alias("as_of"))
    out = out.join(src, on="source", how="left")
    # a user row's source is free text, never a key: do not attach a shipped source's title to it
    out = out.with_columns(
        pl.when(pl.col("origin") == "user").then(None).otherwise(pl.col(c)).alias(c)
        for c in ("title", "publisher", "url", "as_of"))
    return out.sort("catalog", "id")


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        a = abs(v)
        return f"{v:,.0f}" if a >= 1000 else f"{v:.4g}"
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, default=str)
    return str(v)


def _table(frame: pl.DataFrame, max_rows: int) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.head(max_rows).iter_rows():
        body.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>")
    more = (f"<p class='note'>{frame.height - max_rows:,} more rows not shown (export the frame for all).</p>"
            if frame.height > max_rows else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:70em;
color:#222;line-height:1.4}h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}th,td{border:1px solid #ddd;padding:.2em .5em;
text-align:left}th{background:#f4f4f4}td{font-variant-numeric:tabular-nums}.note{color:#666;font-size:.85em}
figure{margin:1em 0}figcaption{font-weight:600}"""


def report_html(scenario: Mapping[str, Any], frames: Mapping[str, pl.DataFrame] | None = None,
                charts: Mapping[str, Any] | None = None, sources: Iterable[str] | None = None, *,
                catalogs: Mapping[str, pl.DataFrame] | None = None, title: str = "infer-econ report",
                max_rows: int = 50) -> str:
    """Build the planner's one-page HTML report: scenario, figures, charts and sources.

    Parameters
    ----------
    scenario : mapping
        The planner's knobs (e.g. a :mod:`infer_econ.scenario` dict); shown as a
        key/value table, knobs without a value listed on one line.
    frames : mapping of str to polars.DataFrame, optional
        Titled result frames (the figures), each shown as a table of at most
        ``max_rows`` rows.
    charts : mapping of str to altair chart, optional
        Titled charts, inlined as SVG (no script, no external asset).
    sources : iterable of str, optional
        Further source keys; the ``source`` / ``*_source`` columns of
        ``frames`` are added (:func:`collect_sources`). Each key is looked up
        in ``catalog.load('sources')``; keys not there are listed as given by
        the user.
    catalogs : mapping of str to polars.DataFrame, optional
        Extended catalogs the figures were computed with (a user's rows); the
        catalog rows behind the figures (:func:`catalog_sources`: model,
        hardware, price row, grid region …) are listed with their sources.
    title : str
        Page title.
    max_rows : int
        Rows shown per frame [rows].

    Returns
    -------
    str
        A complete, self-contained HTML document (UTF-8). Every text is
        HTML-escaped.

    Notes
    -----
    Plain HTML with inline CSS and inline SVG charts: no script, no network; every value passes
    through :func:`html.escape`.

    References
    ----------
    Each catalog row's ``source`` key in ``data/sources.csv``.

    Examples
    --------
    >>> page = report_html({"model": "llama-3.1-8b", "n_devices": 1},
    ...                    {"Cost": pl.DataFrame({"usd_per_million_output_tokens": [0.42]})})
    >>> "<td>llama-3.1-8b</td>" in page and "usd_per_million_output_tokens" in page
    True
    >>> "<script" in page or "src=" in page
    False
    """
    from .. import catalog

    if not isinstance(scenario, Mapping):
        raise ValidationError(f"report_html: scenario must be a mapping of knob → value, got {type(scenario).__name__}")
    if not (isinstance(max_rows, int) and max_rows >= 1):
        raise ValidationError(f"max_rows={max_rows!r} must be an integer ≥ 1")
    frames = {k: (v.collect() if isinstance(v, pl.LazyFrame) else v) for k, v in (frames or {}).items()}
    for k, v in frames.items():
        if not isinstance(v, pl.DataFrame):
            raise ValidationError(f"report_html: frames[{k!r}] is a {type(v).__name__}, not a polars DataFrame")
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    from .. import __version__

    parts.append(f"<p class='note'>Generated by infer-econ {html.escape(__version__)} on {stamp}.</p>")
    parts.append("<h2>Scenario</h2><table><tbody>")
    unset = [str(k) for k, v in scenario.items() if v is None or v == "" or v == {}]
    for k, v in scenario.items():
        if str(k) not in unset:
            parts.append(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>")
    parts.append("</tbody></table>")
    if unset:
        parts.append(f"<p class='note'>Not set (documented defaults apply): {html.escape(', '.join(unset))}.</p>")
    if frames:
        parts.append("<h2>Figures</h2>")
        for name, f in frames.items():
            parts.append(f"<h3>{html.escape(str(name))}</h3>{_table(f, max_rows)}")
    if charts:
        parts.append("<h2>Charts</h2>")
        for name, c in charts.items():
            svg = chart_svg(c)
            parts.append(f"<figure><figcaption>{html.escape(str(name))}</figcaption>{svg}</figure>")
    used = catalog_sources(frames, scenario, catalogs)
    parts.append("<h2>Sources</h2>")
    if used.height:
        parts.append("<h3>Catalog values used</h3><table><thead><tr><th>catalog</th><th>id</th><th>source</th>"
                     "<th>title</th><th>publisher</th><th>where</th><th>as of</th></tr></thead><tbody>")
        for r in used.iter_rows(named=True):
            if r["origin"] == "user":
                cells = [r["catalog"], r["id"], r["source"], "given by the user", None, None, None]
            else:
                cells = [r["catalog"], r["id"], r["source"], r["title"], r["publisher"], r["url"], r["as_of"]]
            parts.append("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in cells) + "</tr>")
        parts.append("</tbody></table>")
    keys = [k for k in collect_sources(frames, sources) if k not in set(used["id"].to_list())]
    if keys:
        parts.append("<h3>Other sources</h3>")
        known = catalog.load("sources")
        known = known.filter(pl.col("id").is_in(keys))
        by_id = {r["id"]: r for r in known.iter_rows(named=True)}
        parts.append("<table><thead><tr><th>key</th><th>title</th><th>publisher</th><th>where</th><th>as of</th>"
                     "</tr></thead><tbody>")
        for k in keys:
            r = by_id.get(k)
            if r is None:
                parts.append(f"<tr><td>{html.escape(k)}</td><td colspan='4'>given by the user (not in the shipped "
                             "sources)</td></tr>")
            else:
                parts.append("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>"
                                              for c in ("id", "title", "publisher", "url", "as_of")) + "</tr>")
        parts.append("</tbody></table>")
    if not keys and not used.height:
        parts.append("<p class='note'>No catalog values with a source were used.</p>")
    parts.append("</body></html>")
    return "".join(parts)


def write_report(path: str | Path, scenario: Mapping[str, Any], frames: Mapping[str, pl.DataFrame] | None = None,
                 charts: Mapping[str, Any] | None = None, sources: Iterable[str] | None = None, **kwargs: Any) -> Path:
    """Write :func:`report_html` to ``path`` (``.html``) atomically; return the path.

    Parameters
    ----------
    path : str or Path
        Target ``.html`` file.
    scenario, frames, charts, sources, **kwargs
        As in :func:`report_html`.

    Returns
    -------
    Path
        The written file.

    Notes
    -----
    ``report_html`` then :func:`atomic_write`.

    References
    ----------
    As :func:`report_html`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_report(pathlib.Path(tempfile.mkdtemp()) / "r.html", {"model": "llama-3.1-8b"})
    >>> p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    True
    """
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ValidationError(f"{target}: a report is written as .html")
    page = report_html(scenario, frames, charts, sources, **kwargs)
    return atomic_write(target, lambda t: t.write_text(page, encoding="utf-8"))

"""Offline chart assets: JupyterChart's JavaScript bundled locally, never from a CDN.

``altair.JupyterChart`` loads vega-embed from a CDN unless
``JupyterChart.enable_offline()`` has swapped in a bundle built by vl-convert.
Building that bundle takes about two seconds, on every kernel start; this module
builds it once per (altair, vl-convert) version pair, keeps it in a cache file
and loads it from there afterwards, so a workbook kernel (and a preheated Voila
kernel) pays milliseconds instead.

Call :func:`enable_offline` once per kernel before any chart; every kit
function that makes a chart calls it, so workbooks never need to.

Served bundle (Voila). Each ``JupyterChart`` widget carries its JavaScript in
its state, and anywidget evaluates that text anew for every widget: a page with
three charts receives the 0.9 MB bundle three times over the websocket and
compiles it three times, and every chart rebuilt later pays it again. Where the
kernel runs under Voila and the cache folder is on ``JUPYTER_PATH`` (``infer-econ
serve``, the browser tests and ``binder/start`` put it there: :func:`jupyter_dir`),
the bundle file is served by Voila's template-static handler and each widget
carries only a four-line loader that imports it by URL: the browser fetches and
compiles it once per page and keeps it in its HTTP cache. Elsewhere (JupyterLab,
nbval, a Voila we did not configure) the bundle stays inline.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from .._paths import jupyter_dir

__all__ = ["enable_offline", "cache_path", "jupyter_dir", "served_loader"]

#: Voila serves files of this template name's ``static`` folders found on ``JUPYTER_PATH``
TEMPLATE = "infer-econ"


def cache_path() -> Path:
    """Return the cache file for the bundled JupyterChart JavaScript.

    The directory is ``$INFER_ECON_CACHE`` if set, else ``$XDG_CACHE_HOME/infer-econ``,
    else ``~/.cache/infer-econ``, then ``jupyter/voila/templates/infer-econ/static``
    (see :func:`jupyter_dir`); the name carries the altair and vl-convert versions.

    Examples
    --------
    >>> cache_path().name.startswith("jupyterchart-")
    True
    """
    import altair
    import vl_convert

    key = hashlib.sha256(f"{altair.__version__}|{vl_convert.__version__}".encode()).hexdigest()[:12]
    return jupyter_dir() / "voila" / "templates" / TEMPLATE / "static" / f"jupyterchart-{altair.__version__}-{key}.js"


def served_loader(file_name: str) -> str:
    """The ES module a chart widget carries when the bundle is served: it imports the bundle by URL.

    The URL is built in the browser from the page's Jupyter base URL, so it is
    right behind a proxy (Binder) as on localhost; the browser's module map
    evaluates it once per page whatever the number of charts.

    Examples
    --------
    >>> "voila/templates/infer-econ/static/b.js" in served_loader("b.js")
    True
    """
    return (
        'const cfg = JSON.parse(document.getElementById("jupyter-config-data")?.textContent || "{}");\n'
        "const base = new URL(cfg.baseUrl || \"/\", window.location.href);\n"
        f'const mod = await import(new URL("voila/templates/{TEMPLATE}/static/{file_name}", base).href);\n'
        "export default mod.default;\n"
    )


def _served_here() -> bool:
    """True in a Voila kernel whose server has :func:`jupyter_dir` on ``JUPYTER_PATH``."""
    if "VOILA_BASE_URL" not in os.environ:
        return False
    want = os.path.realpath(jupyter_dir())
    return any(p and os.path.realpath(p) == want for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep))


def enable_offline() -> None:
    """Make every ``alt.JupyterChart`` of this kernel load its JavaScript offline.

    Idempotent and cheap after the first call in a kernel. Reads the cached
    bundle when present; otherwise lets altair build it with vl-convert
    (``JupyterChart.enable_offline()``) and writes the cache. If the cache
    cannot be written (read-only home), the bundle is still used, just not kept.

    Examples
    --------
    >>> import altair as alt
    >>> enable_offline()
    >>> alt.JupyterChart._is_offline
    True
    """
    import altair as alt

    jc = alt.JupyterChart
    if getattr(jc, "_is_offline", False):
        return
    path = cache_path()
    try:
        src = path.read_text(encoding="utf-8")
    except OSError:
        src = None
    if not (src and "esm.sh" not in src[:2000]):
        jc.enable_offline()
        src = jc._esm
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False,
                                             suffix=".tmp") as fh:
                fh.write(src)
            os.replace(fh.name, path)
        except OSError:
            pass
    served = _served_here() and path.is_file()
    jc._esm = served_loader(path.name) if served else src
    jc._is_offline = True

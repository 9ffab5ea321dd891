"""Offline chart assets: JupyterChart's JavaScript bundled locally, never from a CDN.

``altair.JupyterChart`` loads vega-embed from a CDN unless
``JupyterChart.enable_offline()`` has swapped in a bundle built by vl-convert.
Building that bundle takes about two seconds, on every kernel start; this module
builds it once per (altair, vl-convert) version pair, keeps it in a cache file
and loads it from there afterwards, so a workbook kernel (and a preheated Voila
kernel) pays milliseconds instead.

Call :func:`enable_offline` once per kernel before any chart; every kit
function that makes a chart calls it, so workbooks never need to.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["enable_offline", "cache_path"]


def cache_path() -> Path:
    """Return the cache file for the bundled JupyterChart JavaScript.

    The directory is ``$INFER_ECON_CACHE`` if set, else ``$XDG_CACHE_HOME/infer-econ``,
    else ``~/.cache/infer-econ``; the name carries the altair and vl-convert versions.

    Examples
    --------
    >>> cache_path().name.startswith("jupyterchart-")
    True
    """
    import altair
    import vl_convert

    base = os.environ.get("INFER_ECON_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "infer-econ"
    )
    key = hashlib.sha256(f"{altair.__version__}|{vl_convert.__version__}".encode()).hexdigest()[:12]
    return Path(base) / f"jupyterchart-{altair.__version__}-{key}.js"


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
    if src and "esm.sh" not in src[:2000]:
        jc._esm = src
        jc._is_offline = True
        return
    jc.enable_offline()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as fh:
            fh.write(jc._esm)
        os.replace(fh.name, path)
    except OSError:
        pass

"""Progress for long sweeps and Monte Carlo runs: a terminal bar in the CLI, an
ipywidgets progress bar in notebooks, and Ctrl-C that keeps what was computed.

A sweep is split into chunks (each chunk is still one vectorized call); after
each chunk the bar advances. On :class:`KeyboardInterrupt` the chunks already
computed are returned with ``interrupted=True`` instead of being lost.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import polars as pl

from ..errors import ValidationError

__all__ = ["Progressed", "run_with_progress", "chunk_frame", "sweep", "TerminalBar", "WidgetBar"]


class Progressed(NamedTuple):
    """What a progress-tracked run returns: ``result``, ``done`` and ``total`` [chunks], ``interrupted``.

    Examples
    --------
    >>> Progressed([1], 1, 2, True).interrupted
    True
    """

    #: concatenated frame (when every chunk returned a frame) or the list of chunk results
    result: Any
    #: chunks completed [count]
    done: int
    #: chunks planned [count]
    total: int
    #: True when the run was stopped by KeyboardInterrupt before the last chunk
    interrupted: bool


class TerminalBar:
    """A one-line text bar on a stream (stderr by default): ``[#####-----] 5/10 50% 1.2 s``."""

    def __init__(self, total: int, stream: Any = None, width: int = 30, label: str = ""):
        self.total, self.width, self.label = total, width, label
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = time.perf_counter()

    def update(self, done: int) -> None:
        frac = done / self.total if self.total else 1.0
        fill = int(round(frac * self.width))
        bar = "#" * fill + "-" * (self.width - fill)
        el = time.perf_counter() - self.t0
        self.stream.write(f"\r{self.label}[{bar}] {done}/{self.total} {frac:4.0%} {el:.1f} s")
        self.stream.flush()

    def close(self, interrupted: bool = False) -> None:
        self.stream.write(" interrupted\n" if interrupted else "\n")
        self.stream.flush()


class WidgetBar:
    """An ``ipywidgets.IntProgress`` shown in the notebook output."""

    def __init__(self, total: int, label: str = ""):
        import ipywidgets as w
        from IPython.display import display

        self.widget = w.IntProgress(value=0, min=0, max=max(total, 1), description=label or "progress")
        display(self.widget)

    def update(self, done: int) -> None:
        self.widget.value = done

    def close(self, interrupted: bool = False) -> None:
        self.widget.bar_style = "warning" if interrupted else "success"


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _make_bar(progress: Any, total: int, label: str):
    if progress is None or progress is False:
        return None
    if progress == "auto":
        if _in_notebook():
            try:
                return WidgetBar(total, label)
            except ImportError:
                pass
        return TerminalBar(total, label=label) if getattr(sys.stderr, "isatty", lambda: False)() else None
    if progress in ("bar", "terminal"):
        return TerminalBar(total, label=label)
    if progress == "widget":
        return WidgetBar(total, label)
    if hasattr(progress, "update"):
        return progress
    if callable(progress):
        class _Call:
            def update(self, done: int) -> None:
                progress(done, total)

            def close(self, interrupted: bool = False) -> None:
                pass

        return _Call()
    raise ValidationError(f"progress={progress!r}: use 'auto', 'bar', 'widget', None, a callable(done, total) "
                          "or an object with update(done)")


def run_with_progress(func: Callable[[Any], Any], chunks: Iterable[Any] | Sequence[Any], *, progress: Any = "auto",
                      label: str = "") -> Progressed:
    """Call ``func`` on each chunk, showing progress; Ctrl-C keeps the results so far.

    Parameters
    ----------
    func : callable
        Applied to each chunk (e.g. ``infer_econ.estimate`` on a frame slice).
    chunks : iterable
        The chunks (frames, parameter sets, Monte Carlo seeds …).
    progress : 'auto', 'bar', 'widget', None, callable or object
        ``auto``: a widget in a notebook, a terminal bar on an interactive
        stderr, else nothing; ``bar``/``widget`` force one; a callable gets
        ``(done, total)``; an object with ``update(done)`` is used as is.
    label : str
        Text shown before the bar.

    Returns
    -------
    Progressed
        ``result`` (the chunk results concatenated when they are all polars
        frames, else a list), ``done``, ``total``, ``interrupted``.

    Notes
    -----
    Results are kept per finished chunk; a ``KeyboardInterrupt`` stops the loop and returns the finished
    chunks with ``interrupted`` true.

    References
    ----------
    ipywidgets ``IntProgress`` (notebooks); a text bar on stderr (terminals).

    Examples
    --------
    >>> out = run_with_progress(lambda f: f.with_columns(y=pl.col("x") * 2),
    ...                         chunk_frame(pl.DataFrame({"x": range(5)}), 2), progress=None)
    >>> out.result["y"].to_list(), out.done, out.total, out.interrupted
    ([0, 2, 4, 6, 8], 3, 3, False)
    """
    items = list(chunks)
    total = len(items)
    bar = _make_bar(progress, total, label)
    results: list[Any] = []
    interrupted = False
    try:
        for chunk in items:
            results.append(func(chunk))
            if bar is not None:
                bar.update(len(results))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None and hasattr(bar, "close"):
            bar.close(interrupted)
    if results and all(isinstance(r, pl.DataFrame) for r in results):
        result: Any = pl.concat(results, how="diagonal_relaxed")
    elif results and all(isinstance(r, pl.LazyFrame) for r in results):
        result = pl.concat(results, how="diagonal_relaxed")
    else:
        result = results
    return Progressed(result, len(results), total, interrupted)


def chunk_frame(frame: pl.DataFrame, chunk_rows: int) -> list[pl.DataFrame]:
    """Split a frame into consecutive slices of at most ``chunk_rows`` rows [rows].

    Parameters
    ----------
    frame : polars.DataFrame
        The rows to split.
    chunk_rows : int
        Largest slice [rows], ≥ 1.

    Returns
    -------
    list of polars.DataFrame
        Zero-copy slices in order (one empty slice for an empty frame).

    Notes
    -----
    ``[frame.slice(o, chunk_rows) for o in range(0, max(height, 1), chunk_rows)]``.

    References
    ----------
    polars ``DataFrame.slice`` (zero-copy views).

    Examples
    --------
    >>> [c.height for c in chunk_frame(pl.DataFrame({"x": range(10)}), 4)]
    [4, 4, 2]
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValidationError(f"chunk_rows={chunk_rows!r} must be an integer ≥ 1")
    if not isinstance(frame, pl.DataFrame):
        raise ValidationError(f"chunk_frame: expected a polars DataFrame, got {type(frame).__name__}")
    return [frame.slice(o, chunk_rows) for o in range(0, max(frame.height, 1), chunk_rows)]


def sweep(func: Callable[[pl.DataFrame], pl.DataFrame], frame: pl.DataFrame, *, chunk_rows: int = 100_000,
          progress: Any = "auto", label: str = "") -> Progressed:
    """Run a vectorized ``func`` over ``frame`` in chunks of ``chunk_rows`` rows, with progress.

    The result is the same as ``func(frame)`` for row-wise functions (each
    output row depends on its input row only), computed in pieces; an
    interrupted sweep returns the leading rows computed so far.

    Parameters
    ----------
    func : callable
        Vectorized function of a frame (``infer_econ.estimate``, ``evaluate`` …).
    frame : polars.DataFrame
        All scenarios.
    chunk_rows : int
        Rows per call [rows].
    progress, label
        As in :func:`run_with_progress`.

    Returns
    -------
    Progressed
        ``result`` is the concatenated output frame.

    Notes
    -----
    ``func`` runs once per chunk of ``chunk_rows`` rows (vectorized inside the chunk); the chunk
    outputs are concatenated in order.

    References
    ----------
    As :func:`run_with_progress`.

    Examples
    --------
    >>> r = sweep(lambda f: f.with_columns(y=pl.col("x") + 1), pl.DataFrame({"x": range(7)}), chunk_rows=3,
    ...           progress=None)
    >>> r.result.height, r.done
    (7, 3)
    """
    return run_with_progress(func, chunk_frame(frame, chunk_rows), progress=progress, label=label)

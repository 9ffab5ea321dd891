"""Answers to repeated small catalog questions, kept by the identity of the catalog frames.

A slider move asks the library the same catalog questions over and over (the peak of these chips at this
precision, the power facts of these chips, the price of these offers). Polars spends a fraction of a
millisecond planning each small query, so a move that asks a few dozen of them spends tens of
milliseconds on answers it already had. :func:`memo` keeps them.

The catalog frames are held with each answer and compared by identity (``is``), so a user's own catalog
frame is never mistaken for the shipped one, and a frame's id cannot be reused while its answer is kept.
Answers are shared: callers only join or select them, never change them in place.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import polars as pl

#: answers kept, least recently used first
_KEPT: OrderedDict = OrderedDict()
_LOCK = threading.Lock()
#: most answers kept
MAX_ANSWERS = 256
#: questions about more distinct key rows than this are not kept (a big sweep computes them once anyway)
MAX_KEY_ROWS = 2000


def memo(what: str, frames: tuple[pl.DataFrame, ...], keys: pl.DataFrame | None, build: Callable[[], Any]) -> Any:
    """``build()``, or its earlier result for the same catalog ``frames`` and the same ``keys`` rows.

    Parameters
    ----------
    what : str
        The question (one name per kind of answer).
    frames : tuple of polars.DataFrame
        The catalog frames the answer depends on (compared by identity).
    keys : polars.DataFrame, optional
        The data rows the answer depends on (compared by value), e.g. the distinct (hardware, provider)
        pairs of a scenario frame; None when the answer depends on the catalogs only.
    build : callable
        Computes the answer; an exception it raises propagates and nothing is kept.

    Returns
    -------
    The answer.

    Examples
    --------
    >>> calls = []
    >>> cat = pl.DataFrame({"id": ["a"]})
    >>> f = lambda: calls.append(1) or cat.height
    >>> memo("doc-example", (cat,), None, f), memo("doc-example", (cat,), None, f), len(calls)
    (1, 1, 1)
    """
    if keys is not None and keys.height > MAX_KEY_ROWS:
        return build()
    k = (what, tuple(id(f) for f in frames), None if keys is None else (tuple(keys.columns), tuple(keys.rows())))
    with _LOCK:
        hit = _KEPT.get(k)
        if hit is not None and all(a is b for a, b in zip(hit[0], frames)):
            _KEPT.move_to_end(k)
            return hit[1]
    value = build()
    with _LOCK:
        _KEPT[k] = (frames, value)
        while len(_KEPT) > MAX_ANSWERS:
            _KEPT.popitem(last=False)
    return value


def by_frames(fn: Callable[..., pl.DataFrame]) -> Callable[..., pl.DataFrame]:
    """Decorate a function of catalog frames only: its answer is kept per identity of its arguments."""

    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: pl.DataFrame, **kwargs: pl.DataFrame) -> pl.DataFrame:
        frames = tuple(sig.bind(*args, **kwargs).arguments.values())
        return memo(f"{fn.__module__}.{fn.__qualname__}", frames, None, lambda: fn(*frames))

    return wrapper


def clear() -> None:
    """Forget every answer (tests that rebuild catalogs in place use it)."""
    with _LOCK:
        _KEPT.clear()

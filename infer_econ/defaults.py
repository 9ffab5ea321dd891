"""Documented defaults of the economics inputs (``data/defaults.csv``), each with its source.

Every optional input column of :func:`infer_econ.evaluate` that has a default takes it from here;
a default is either a number (``value``, with a ``low``–``high`` range where one is documented) or
an id in another catalog (``value_id``, e.g. a ``pue`` or ``grid_carbon`` row).
"""

from __future__ import annotations

import functools

import polars as pl

from .errors import UnknownIdError

__all__ = ["table", "value", "value_id", "range_of"]


@functools.cache
def table() -> pl.DataFrame:
    """The defaults catalog.

    Parameters
    ----------
    None

    Returns
    -------
    polars.DataFrame
        The defaults catalog.

    Notes
    -----
    Cached.

    References
    ----------
    Each row's ``source`` key in ``data/sources.csv``.

    Examples
    --------
    >>> "depreciation_years" in table()["id"].to_list()
    True
    """
    from . import catalog

    return catalog.load("defaults")


@functools.cache
def _rows() -> dict[str, dict]:
    # the catalog is small (a few dozen rows) and cached: index it once instead of filtering on every lookup
    return {r["id"]: r for r in table().iter_rows(named=True)}


def _row(name: str) -> dict:
    rows = _rows()
    if name not in rows:
        raise UnknownIdError("default", [name], table()["id"].to_list())
    return rows[name]


def value(name: str) -> float:
    """Numeric default of ``name``.

    Parameters
    ----------
    name : str
        A default's id (``data/defaults.csv``).

    Returns
    -------
    float

    Notes
    -----
    Unknown names raise :class:`~infer_econ.errors.UnknownIdError` listing the valid ones.

    References
    ----------
    Each row's ``source`` key in ``data/sources.csv``.

    Examples
    --------
    >>> value("depreciation_years")
    5.0
    """
    return float(_row(name)["value"])


def value_id(name: str) -> str:
    """Default of ``name`` given as an id of another catalog.

    Parameters
    ----------
    name : str
        A default's id (``data/defaults.csv``).

    Returns
    -------
    str

    Notes
    -----
    Unknown names raise :class:`~infer_econ.errors.UnknownIdError` listing the valid ones.

    References
    ----------
    Each row's ``source`` key in ``data/sources.csv``.

    Examples
    --------
    >>> value_id("grid_region")
    'country:US'
    """
    return str(_row(name)["value_id"])


def range_of(name: str) -> tuple[float, float]:
    """Documented (low, high) range of ``name``; the value itself where none is documented.

    Parameters
    ----------
    name : str
        A default's id (``data/defaults.csv``).

    Returns
    -------
    tuple of float

    Notes
    -----
    Unknown names raise :class:`~infer_econ.errors.UnknownIdError` listing the valid ones.

    References
    ----------
    Each row's ``source`` key in ``data/sources.csv``.

    Examples
    --------
    >>> range_of("interest_rate")
    (0.05, 0.12)
    """
    r = _row(name)
    lo = r["low"] if r["low"] is not None else r["value"]
    hi = r["high"] if r["high"] is not None else r["value"]
    return float(lo), float(hi)

"""What the workbook knobs need besides the library: sweep grids, and the volume conversions.

Knobs speak the user's units (requests per day); the library's functions take
per-month volumes (:mod:`infer_econ.value`) or rates per second
(:mod:`infer_econ.serving`). The conversions (per day ↔ per month ↔ per second)
are :mod:`infer_econ.demand`'s, re-exported here for the apps; this module adds
the chart sweep grids and percent → fraction.

Examples
--------
>>> round(requests_per_month(1000.0), 1)  # 1,000/day × 730 h / 24 h
30416.7
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..demand import DAYS_PER_MONTH, per_month, requests_per_day, requests_per_month, requests_per_s, tokens_per_month

__all__ = ["DAYS_PER_MONTH", "requests_per_month", "requests_per_s", "requests_per_day", "tokens_per_month", "per_month", "log_grid",
           "load_grid", "fraction"]

def log_grid(low: float, high: float, points: int = 41) -> pl.Series:
    """Log-spaced values from ``low`` to ``high`` (a sweep axis for charts).

    Examples
    --------
    >>> log_grid(1.0, 100.0, 3).to_list()
    [1.0, 10.0, 100.0]
    """
    if not (0 < low < high) or points < 2:
        raise ValueError(f"log_grid needs 0 < low < high and points >= 2, got {low}, {high}, {points}")
    return pl.Series(np.logspace(np.log10(low), np.log10(high), points))


def load_grid(capacity: float, points: int = 48) -> pl.Series:
    """Request rates from 0.5 % of ``capacity`` to just below it, denser near capacity (where latency turns).

    Parameters
    ----------
    capacity : float
        Largest sustainable rate [requests/s].
    points : int
        Number of rates.

    Notes
    -----
    rates = capacity × (1 − h) for headroom h log-spaced from 0.995 down to 0.002.

    Examples
    --------
    >>> g = load_grid(10.0, 4)
    >>> round(g.min(), 3), round(g.max(), 3)
    (0.05, 9.98)
    """
    headroom = np.logspace(np.log10(0.995), np.log10(0.002), points)
    return pl.Series(capacity * (1.0 - headroom))


def fraction(percent):
    """A percentage as a fraction (benchmark scores are published in percent).

    Notes
    -----
    fraction = percent / 100.

    Examples
    --------
    >>> fraction(87.5)
    0.875
    """
    return percent / 100.0

"""Unit conversions the workbook knobs need (per day ↔ per month ↔ per second), in one place.

Knobs speak the user's units (requests per day); the library's functions take
per-month volumes (:mod:`infer_econ.value`) or rates per second
(:mod:`infer_econ.serving`). A month is :data:`infer_econ.cost.HOURS_PER_MONTH`
hours (8760 / 12 = 730 h), the same month the cost functions bill.

Examples
--------
>>> round(requests_per_month(1000.0), 1)  # 1,000/day × 730 h / 24 h
30416.7
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..cost import HOURS_PER_MONTH

__all__ = ["DAYS_PER_MONTH", "requests_per_month", "requests_per_s", "requests_per_day", "tokens_per_month", "per_month", "log_grid",
           "load_grid", "fraction"]

#: Days in the billing month [days] (730 h / 24 h).
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0


def requests_per_month(requests_per_day):
    """Requests per month from requests per day [requests/month].

    Notes
    -----
    requests_per_month = requests_per_day × 730 / 24.

    Examples
    --------
    >>> requests_per_month(24.0)
    730.0
    """
    return requests_per_day * DAYS_PER_MONTH


def requests_per_day(requests_per_s):
    """Requests per day from a mean rate [requests/day].

    Notes
    -----
    requests_per_day = requests_per_s × 86,400.

    Examples
    --------
    >>> requests_per_day(1.0)
    86400.0
    """
    return requests_per_s * 86400.0


def requests_per_s(requests_per_day):
    """Mean request rate from requests per day [requests/s].

    Notes
    -----
    requests_per_s = requests_per_day / 86,400.

    Examples
    --------
    >>> requests_per_s(86400.0)
    1.0
    """
    return requests_per_day / 86400.0


def tokens_per_month(requests_per_day, tokens_per_request):
    """Tokens per month from a daily request volume and tokens per request [tokens/month].

    Notes
    -----
    tokens_per_month = requests_per_day × 730 / 24 × tokens_per_request.

    Examples
    --------
    >>> tokens_per_month(24.0, 100)
    73000.0
    """
    return requests_per_month(requests_per_day) * tokens_per_request


def per_month(per_request, requests_per_day):
    """A per-request quantity (USD, g CO2e, J) summed over a month's requests.

    Notes
    -----
    per_month = per_request × requests_per_day × 730 / 24; None stays None.

    Examples
    --------
    >>> per_month(0.5, 24.0)
    365.0
    >>> per_month(None, 24.0) is None
    True
    """
    if per_request is None:
        return None
    return per_request * requests_per_month(requests_per_day)


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

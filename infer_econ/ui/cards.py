"""Headline cards: the few numbers a workbook is about, large, with units.

A :class:`Cards` row holds one :class:`Card` per headline key; ``update``
takes the state's ``headline`` dict and rewrites each card's HTML. Formatting
only: the numbers come from the library.

Examples
--------
>>> c = Cards([Card("usd_per_month", "Cost per month", "usd")])
>>> c.update({"usd_per_month": 12345.0})
>>> "$12.3k" in c.cards[0].html.value
True
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import ipywidgets as w

__all__ = ["Card", "Cards", "fmt", "FORMATS"]


def _si(x: float, digits: int = 3) -> str:
    a = abs(x)
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{x / div:.{digits}g}{suffix}"
    return f"{x:.{digits}g}"


def _usd(x: float) -> str:
    if abs(x) >= 1000:
        return ("-" if x < 0 else "") + "$" + _si(abs(x))
    if abs(x) >= 1:
        return f"${x:,.2f}"
    if x == 0:
        return "$0"
    decimals = min(12, 2 - math.floor(math.log10(abs(x))))  # three significant digits, no exponent
    return f"${x:.{decimals}f}"


def _pct(x: float) -> str:
    return f"{100 * x:.3g} %"


def _ms(x: float) -> str:
    return f"{1000 * x:.3g} ms" if abs(x) < 1 else f"{x:.3g} s"


#: Named number formats for cards and tables.
FORMATS = {
    "usd": _usd,
    "si": _si,
    "pct": _pct,
    "ms": _ms,
    "int": lambda x: f"{x:,.0f}",
    "float": lambda x: f"{x:.3g}",
    "months": lambda x: f"{x:.3g} months",
}


def fmt(value, kind: str = "si") -> str:
    """Format a number for display; None or NaN shows as an em dash.

    Parameters
    ----------
    value : float, int, bool, str or None
        The number.
    kind : str
        A key of :data:`FORMATS`.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt(0.000123, "usd"), fmt(1.01e-5, "usd"), fmt(2.5e6), fmt(0.123, "pct"), fmt(0.045, "ms"), fmt(None)
    ('$0.000123', '$0.0000101', '2.5M', '12.3 %', '45 ms', '—')
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "—" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    return FORMATS[kind](value)


@dataclass
class Card:
    """One headline number: its key in the headline dict, a label, a format, a unit note.

    Examples
    --------
    >>> Card("g_co2e_per_month", "CO2 per month", "si", "g CO2e").unit
    'g CO2e'
    """

    key: str
    label: str
    kind: str = "si"
    unit: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FORMATS:
            raise ValueError(f"card {self.key!r}: format {self.kind!r} is not one of {sorted(FORMATS)}")
        self.html = w.HTML(layout=w.Layout(min_width="150px", margin="0 10px 6px 0"))
        self.html.add_class("ie-headline")
        self.render(None)

    def render(self, value, note: str | None = None) -> None:
        """Rewrite the card for ``value``."""
        unit = f' <span style="font-size:13px;color:#555">{html.escape(self.unit)}</span>' if self.unit else ""
        sub = note if note is not None else self.note
        sub_html = f'<div style="font-size:11px;color:#777">{html.escape(sub)}</div>' if sub else ""
        self.html.value = (
            '<div class="ie-card" style="border:1px solid #d8dde2;border-radius:6px;padding:6px 10px;'
            'background:#f7f9fb">'
            f'<div style="font-size:12px;color:#445">{html.escape(self.label)}</div>'
            f'<div class="ie-card-value" data-key="{html.escape(self.key)}" '
            f'style="font-size:22px;font-weight:600;color:#1f2d3a">{html.escape(fmt(value, self.kind))}{unit}</div>'
            f"{sub_html}</div>"
        )


class Cards:
    """A row of headline cards.

    Parameters
    ----------
    cards : list of Card
        In display order.

    Examples
    --------
    >>> cs = Cards([Card("a", "A"), Card("b", "B", "usd")])
    >>> cs.update({"a": 1500.0, "b": None})
    >>> [c.key for c in cs.cards]
    ['a', 'b']
    """

    def __init__(self, cards: list[Card]):
        self.cards = list(cards)
        self.widget = w.HBox([c.html for c in self.cards], layout=w.Layout(flex_flow="row wrap"))

    def update(self, headline: dict, notes: dict | None = None) -> None:
        """Show the values of ``headline`` (missing keys show an em dash)."""
        notes = notes or {}
        for c in self.cards:
            c.render(headline.get(c.key), notes.get(c.key))

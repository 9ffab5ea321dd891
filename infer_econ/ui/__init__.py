"""The UI kit: knobs, headline cards, live charts and the app wiring used by the workbooks.

No formulas live here. Knobs set values; an app's compute function calls the
library (:func:`infer_econ.evaluate` and the concern modules); views draw the
frames that come back with :mod:`infer_econ.plot`.

- :mod:`infer_econ.ui.knobs`: knob factories (model, hardware, precision, …).
- :mod:`infer_econ.ui.cards`: headline cards.
- :mod:`infer_econ.ui.core`: :class:`State`, :class:`ChartView`, :class:`TableView`, :class:`App`.
- :mod:`infer_econ.ui.apps`: one app builder per workbook (``apps.hardware()``…).
- :mod:`infer_econ.ui.offline`: chart JavaScript served from the kernel, never a CDN.
- :mod:`infer_econ.ui.units`: the unit conversions knobs need (per day, per month, per second).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["knobs", "cards", "core", "apps", "offline", "units", "App", "ChartView", "TableView", "Result", "State",
           "Card", "Cards", "enable_offline"]

_LAZY = {
    "App": ("core", "App"), "ChartView": ("core", "ChartView"), "TableView": ("core", "TableView"),
    "Result": ("core", "Result"), "State": ("core", "State"), "Card": ("cards", "Card"),
    "Cards": ("cards", "Cards"), "enable_offline": ("offline", "enable_offline"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{mod}", __name__), attr)
    elif name in {"knobs", "cards", "core", "apps", "offline", "units"}:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'infer_econ.ui' has no attribute {name!r}")
    globals()[name] = value
    return value

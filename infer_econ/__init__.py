"""infer-econ: what it really costs to run AI models in production.

The public API is a set of pure, vectorized functions on polars frames, one
module per economic concern (``catalog``, ``memory``, ``perf``, ``calibrate``,
``cost``, ``energy``, ``serving``, ``value``, ``uncertainty``, ``io``,
``plot``, ``ui``). The two entry points most users need are re-exported here:

- :func:`estimate` (``infer_econ.perf``): memory fit and prefill/decode speed.
- :func:`evaluate` (``infer_econ.pipeline``): ``estimate`` plus cost, energy,
  carbon and, with a request rate or concurrency, serving latency under load.

Submodules are imported on first use so ``import infer_econ`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {
    "catalog", "memory", "perf", "calibrate", "cost", "energy", "serving", "value",
    "uncertainty", "pipeline", "io", "plot", "ui", "scenario", "errors", "validate", "demand", "defaults",
}
_EXPORTS = {"estimate": "perf", "evaluate": "pipeline"}

__all__ = sorted(_SUBMODULES | set(_EXPORTS) | {"__version__"})


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'infer_econ' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

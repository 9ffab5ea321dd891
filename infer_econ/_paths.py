"""Where the shipped data lives: ``data/`` in a checkout, ``infer_econ/_data`` in a wheel."""

from __future__ import annotations

from pathlib import Path

_here = Path(__file__).resolve().parent


def data_dir() -> Path:
    """Return the folder holding the shipped catalogs [path]."""
    checkout = _here.parent / "data"
    if (checkout / "columns").is_dir():
        return checkout
    installed = _here / "_data"
    if (installed / "columns").is_dir():
        return installed
    import importlib.resources as ir

    return Path(str(ir.files("infer_econ._data")))

"""Error types of infer-econ.

Every error the package raises on bad input is an :class:`InferEconError` (a
``ValueError``), so callers can catch one type. Messages name the bad value,
the place (column, file, row) and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["InferEconError", "UnknownIdError", "ValidationError", "CatalogError"]


class InferEconError(ValueError):
    """Base class of every documented error raised by infer-econ."""


class ValidationError(InferEconError):
    """A value, column or file does not meet its documented contract."""


class CatalogError(ValidationError):
    """A catalog file (shipped or a user's ``extra=``) fails validation."""


class UnknownIdError(InferEconError, KeyError):
    """An id is not in its catalog; the message lists the valid ids."""

    def __init__(self, kind: str, bad: Iterable[object], valid: Iterable[object]):
        bad = sorted({str(b) for b in bad})
        valid = sorted({str(v) for v in valid})
        self.kind, self.bad, self.valid = kind, bad, valid
        shown = ", ".join(valid[:400]) + (" …" if len(valid) > 400 else "")
        super().__init__(
            f"unknown {kind} {', '.join(repr(b) for b in bad)}; valid {kind} ids: {shown}"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])

"""Users' own tables exported from a spreadsheet (price sheets, private hardware, models).

Excel and LibreOffice write CSV in the locale's style: a byte-order mark, ``;``
as the separator and ``,`` as the decimal mark in many European locales, tabs
when "Unicode text" is chosen, CRLF line ends and trailing empty columns.
:func:`read_sheet` reads all of these into a frame of strings; :func:`load_user_catalog`
then merges it into a catalog through ``catalog.load(name, extra=...)``, which
validates every row. The user's file is only read.
"""

from __future__ import annotations

import csv
import io as _io
import re
from pathlib import Path

import polars as pl

from ..errors import CatalogError, ValidationError
from ._common import read_text

__all__ = ["read_sheet", "load_user_catalog"]

_DECIMAL_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*,\d+$|^[+-]?\d+,\d+$")


def read_sheet(path: str | Path) -> pl.DataFrame:
    """Read a spreadsheet-exported CSV (``,`` ``;`` or tab separated) into a frame of strings.

    Parameters
    ----------
    path : str or Path
        The exported file: UTF-8 (with or without a byte-order mark) or, for
        Excel's plain "CSV (Comma delimited)" on Windows, cp1252; at most
        :data:`~infer_econ.io.MAX_UPLOAD_BYTES`.

    Returns
    -------
    polars.DataFrame
        One string column per header cell (blank header cells and columns that
        are empty on every row dropped), surrounding blanks stripped, blank rows
        dropped. With ``;`` or tab separators a decimal comma (``3,75`` or
        ``1.234,5``) becomes a decimal point (``3.75``, ``1234.5``).

    Raises
    ------
    ValidationError
        The file is missing, too large, not text, has no header, a duplicated
        header, or a row with more cells than the header (row number named).

    Notes
    -----
    The separator is the one of ``,``, ``;`` and tab that splits the header into the most cells;
    decimal commas are converted only where the separator is not a comma.

    References
    ----------
    RFC 4180 (CSV); Excel's and LibreOffice's regional CSV exports (``;`` with decimal comma).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "prices.csv"
    >>> _ = p.write_bytes("\\ufeffid;usd_per_hour;;\\r\\nx;30,5;;\\r\\n".encode("utf-8"))
    >>> read_sheet(p).rows()
    [('x', '30.5')]
    """
    try:
        p, text = read_text(path, "spreadsheet CSV")
    except ValidationError as exc:
        if "not a UTF-8 text file" not in str(exc):
            raise
        # Excel's plain "CSV (Comma delimited)" on Windows writes the ANSI code page (cp1252 in Western locales)
        p = Path(path)
        try:
            text = p.read_bytes().decode("cp1252")
        except UnicodeDecodeError:
            raise exc from None
    lines = text.splitlines()
    header_line = next((ln for ln in lines if ln.strip()), "")
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    delim = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    try:
        rows = list(csv.reader(_io.StringIO(text), delimiter=delim))
    except csv.Error as exc:
        raise ValidationError(f"{p}: not a readable CSV file ({exc})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ValidationError(f"{p}: no header row")
    header = [c.strip() for c in rows[0]]
    keep = [i for i, h in enumerate(header) if h]
    names = [header[i] for i in keep]
    if not names:
        raise ValidationError(f"{p}: the header row has no column names")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValidationError(f"{p}: duplicate column name(s) {dup} in the header")
    data = []
    for n, r in enumerate(rows[1:], start=2):
        extra = [c for i, c in enumerate(r) if (i >= len(header) or not header[i]) and c.strip()]
        if extra:
            raise ValidationError(f"{p}: row {n} has a value {extra[0]!r} outside the named columns "
                                  f"(separator {delim!r}; an unquoted separator inside a value?)")
        cells = []
        for i in keep:
            v = r[i].strip() if i < len(r) else ""
            if delim != "," and _DECIMAL_COMMA.match(v):
                v = v.replace(".", "").replace(",", ".")
            cells.append(v if v != "" else None)
        data.append(cells)
    frame = pl.DataFrame(data, schema={c: pl.String for c in names}, orient="row")
    empty = [c for c in frame.columns if frame.height and frame[c].null_count() == frame.height]
    return frame.drop(empty) if frame.height else frame


def load_user_catalog(name: str, path: str | Path) -> pl.DataFrame:
    """``catalog.load(name, extra=...)`` for a spreadsheet-exported file; errors name the file.

    Parameters
    ----------
    name : str
        Catalog name (``cloud_prices``, ``hardware``, ``models`` …).
    path : str or Path
        The user's file, read by :func:`read_sheet` (never written).

    Returns
    -------
    polars.DataFrame
        The catalog with the user's rows merged (``origin`` = ``user``).

    Raises
    ------
    ValidationError, CatalogError
        The file cannot be read, or a row fails the catalog's validation.

    Notes
    -----
    Read with :func:`read_sheet`, then validated and merged by :func:`infer_econ.catalog.load`.

    References
    ----------
    The catalog's column dictionary ``data/columns/<name>.csv``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "my_prices.csv"
    >>> _ = p.write_text("id;provider;instance_type;hardware;n_devices;region;price_model;usd_per_hour;"
    ...                  "usd_per_device_hour;currency_year;source;as_of\\n"
    ...                  "acme:8xh100:eu:reserved_1y;acme;8xh100;h100-sxm;8;eu;reserved_1y;20,00;2,50;2025;"
    ...                  "our contract;2025-10\\n")
    >>> f = load_user_catalog("cloud_prices", p)
    >>> f.filter(pl.col("origin") == "user")["usd_per_device_hour"].item()
    2.5
    """
    from .. import catalog

    frame = read_sheet(path)
    try:
        return catalog.load(name, extra=frame)
    except CatalogError as exc:
        raise CatalogError(str(exc).replace("extra frame", str(path), 1)) from None

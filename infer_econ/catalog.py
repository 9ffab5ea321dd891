"""Catalogs: hardware, models, precisions, engines, prices, carbon, measurements.

Every catalog is a CSV file ``data/<name>.csv`` with one row per item, the item's
id in a column ``id``, unit-suffixed column names and, on every row, a ``source``
(a key into ``data/sources.csv``) and an ``as_of`` date. Its schema, the column
dictionary, is ``data/columns/<name>.csv``: for each column its dtype, unit,
whether it is required, its range or allowed values, the catalog its values
refer to, and a description. :func:`load` validates a catalog against that
dictionary on every load (types, ranges, allowed values, unique ids, provenance,
references) and raises :class:`~infer_econ.errors.CatalogError` naming the file,
row and column when something is wrong. Nothing missing is ever filled in.

A user's own rows (a negotiated GPU price, an unreleased chip, a private model)
come in through ``extra=``: a CSV path or a polars frame, validated the same way
and merged in memory. Shipped files are never written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from ._paths import data_dir
from .errors import CatalogError, UnknownIdError

__all__ = ["names", "load", "schema", "get", "check_ids", "ids", "MAX_EXTRA_BYTES"]

#: Upload cap for a user's ``extra=`` file [bytes].
MAX_EXTRA_BYTES = 20_000_000

_DTYPES = {
    "str": pl.String,
    "int": pl.Int64,
    "float": pl.Float64,
    "bool": pl.Boolean,
}
_AS_OF = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_SCHEMA_COLUMNS = ["column", "dtype", "unit", "required", "min", "max", "allowed", "references", "description"]
#: Columns that are not data but bookkeeping; allowed in every catalog.
_ORIGIN = "origin"


def names() -> list[str]:
    """Return the names of the shipped catalogs.

    Examples
    --------
    >>> "hardware" in names()
    True
    """
    return sorted(p.stem for p in (data_dir() / "columns").glob("*.csv"))


def _check_name(name: str) -> None:
    valid = names()
    if name not in valid:
        raise UnknownIdError("catalog", [name], valid)


@functools.cache
def schema(name: str) -> pl.DataFrame:
    """Return the column dictionary of catalog ``name``.

    Columns: ``column``, ``dtype`` (str, int, float, bool), ``unit``, ``required``
    (non-null on every row), ``min``/``max`` (inclusive range), ``allowed``
    (``|``-separated values), ``references`` (catalog whose ids the values must
    be), ``description``.

    Examples
    --------
    >>> schema("hardware").filter(pl.col("column") == "memory_gb")["unit"].item()
    'GB'
    """
    _check_name(name)
    path = data_dir() / "columns" / f"{name}.csv"
    frame = pl.read_csv(path, infer_schema=False)
    if frame.columns != _SCHEMA_COLUMNS:
        raise CatalogError(f"{path}: column dictionary must have columns {_SCHEMA_COLUMNS}, has {frame.columns}")
    bad = frame.filter(~pl.col("dtype").is_in(list(_DTYPES)))
    if bad.height:
        raise CatalogError(f"{path}: unknown dtype {bad['dtype'].to_list()} (valid: {sorted(_DTYPES)})")
    frame = frame.with_columns(
        pl.col("required").str.to_lowercase().is_in(["true", "1", "yes"]),
        pl.col("min").cast(pl.Float64),
        pl.col("max").cast(pl.Float64),
    )
    for col in ("id", "source", "as_of"):
        if col not in frame["column"].to_list():
            raise CatalogError(f"{path}: every catalog needs a column {col!r}")
    return frame


def _read_csv(path: Path, where: str) -> pl.DataFrame:
    if not path.is_file():
        raise CatalogError(f"{where}: no such file")
    size = path.stat().st_size
    if size > MAX_EXTRA_BYTES:
        raise CatalogError(f"{where}: file is {size:,} bytes; the limit is {MAX_EXTRA_BYTES:,}")
    try:
        return pl.read_csv(path, infer_schema=False, encoding="utf8")
    except Exception as exc:  # polars raises several exception types for malformed CSV
        ragged = _ragged_row(path)
        if ragged:
            raise CatalogError(f"{where}: {ragged}") from None
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CatalogError(f"{where}: not a readable CSV file ({msg})") from None


_INTEGER_TEXT = re.compile(r"^\s*-?\d+\s*$")


def _ragged_row(path: Path) -> str | None:
    """Describe the first row whose field count differs from the header's, or None.

    An unquoted decimal comma (``2,50``) splits one value into two fields; when a
    row has one field too many and two neighbouring fields are both digits, the
    message names that row and column.
    """
    import csv

    try:
        with path.open(newline="", encoding="utf8") as f:
            rows = csv.reader(f)
            header = next(rows, None)
            if not header:
                return None
            for line, fields in enumerate(rows, start=2):
                if not fields or len(fields) == len(header):
                    continue
                if len(fields) == len(header) + 1:
                    for i in range(len(header)):
                        a, b = fields[i], fields[i + 1]
                        if _INTEGER_TEXT.match(a) and _INTEGER_TEXT.match(b):
                            return (
                                f"row {line}, column {header[i]!r}: '{a.strip()},{b.strip()}' is not a valid number "
                                f"(decimal comma? write {a.strip()}.{b.strip()}; quote text that contains commas)"
                            )
                return (
                    f"row {line}: {len(fields)} fields but the header has {len(header)} "
                    "(an unquoted comma inside a value?)"
                )
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def _to_strings(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(c).cast(pl.String) if frame.schema[c] != pl.String else pl.col(c) for c in frame.columns
    )


def _parse(raw: pl.DataFrame, sch: pl.DataFrame, where: str, *, user: bool) -> pl.DataFrame:
    """Cast, check and return one catalog frame; ``raw`` holds strings."""
    columns = sch["column"].to_list()
    present = [c for c in raw.columns if c != _ORIGIN]
    unknown = [c for c in present if c not in columns]
    if unknown:
        raise CatalogError(f"{where}: unknown column(s) {unknown}; valid columns: {columns}")
    if len(set(present)) != len(present):
        raise CatalogError(f"{where}: duplicate column names {present}")
    required = sch.filter(pl.col("required"))["column"].to_list()
    missing = [c for c in columns if c not in present and (not user or c in required)]
    if missing:
        raise CatalogError(f"{where}: missing column(s) {missing}")
    raw = raw.with_columns(pl.lit(None, pl.String).alias(c) for c in columns if c not in present)
    # empty strings and surrounding blanks mean "no value"
    raw = raw.select(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c).str.strip_chars()).alias(c)
        for c in columns
    )
    out = []
    for row in sch.iter_rows(named=True):
        c, dtype = row["column"], _DTYPES[row["dtype"]]
        s = raw[c]
        if dtype == pl.Boolean:
            low = s.str.to_lowercase()
            cast = (
                pl.select(
                    pl.when(low.is_in(["true", "1", "yes"]))
                    .then(True)
                    .when(low.is_in(["false", "0", "no"]))
                    .then(False)
                    .otherwise(None)
                    .alias(c)
                )
                .to_series()
            )
        elif dtype == pl.Int64:
            as_float = s.cast(pl.Float64, strict=False)
            integral = as_float.is_not_null() & (as_float == as_float.round(0))
            cast = pl.select(pl.when(integral).then(as_float).otherwise(None).cast(pl.Int64).alias(c)).to_series()
        else:
            cast = s.cast(dtype, strict=False)
        bad = s.is_not_null() & cast.is_null()
        if dtype == pl.Float64:
            bad = bad | (cast.is_nan() | cast.is_infinite()).fill_null(False)
        if bad.any():
            i = int(bad.arg_true()[0])
            raise CatalogError(
                f"{where}: row {i + 2}, column {c!r}: {s[i]!r} is not a valid {row['dtype']}"
                + (f" [{row['unit']}]" if row["unit"] else "")
            )
        if row["required"]:
            nulls = cast.is_null()
            if nulls.any():
                i = int(nulls.arg_true()[0])
                raise CatalogError(f"{where}: row {i + 2}, column {c!r}: a value is required ({row['description']})")
        for bound, op in (("min", "lt"), ("max", "gt")):
            b = row[bound]
            if b is not None and dtype in (pl.Int64, pl.Float64):
                off = getattr(cast, op)(b).fill_null(False)
                if off.any():
                    i = int(off.arg_true()[0])
                    rng = f"[{row['min'] if row['min'] is not None else '-inf'}, {row['max'] if row['max'] is not None else 'inf'}]"
                    raise CatalogError(
                        f"{where}: row {i + 2}, column {c!r}: {cast[i]} is outside the valid range {rng}"
                        + (f" [{row['unit']}]" if row["unit"] else "")
                    )
        if row["allowed"]:
            allowed = row["allowed"].split("|")
            off = cast.is_not_null() & ~cast.is_in(allowed)
            if off.any():
                i = int(off.arg_true()[0])
                raise CatalogError(f"{where}: row {i + 2}, column {c!r}: {cast[i]!r} is not one of {allowed}")
        out.append(cast)
    frame = pl.DataFrame(out)
    bad_date = ~frame["as_of"].str.contains(_AS_OF.pattern)
    if bad_date.any():
        i = int(bad_date.arg_true()[0])
        raise CatalogError(f"{where}: row {i + 2}, column 'as_of': {frame['as_of'][i]!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    dup = frame["id"].is_duplicated()
    if dup.any():
        raise CatalogError(f"{where}: duplicate id(s) {sorted(set(frame['id'].filter(dup).to_list()))}")
    return frame


def _check_references(
    name: str, frame: pl.DataFrame, where: str, extra_ids: dict[str, set[str]], skip: tuple[str, ...] = ()
) -> None:
    sch = schema(name)
    for row in sch.filter(pl.col("references").is_not_null() & ~pl.col("column").is_in(list(skip))).iter_rows(
        named=True
    ):
        target = row["references"]
        valid = set(ids(target)) | extra_ids.get(target, set())
        vals = frame[row["column"]].drop_nulls()
        if row["dtype"] == "str":
            vals = vals.str.split(";").explode().str.strip_chars()
        bad = sorted(set(vals.to_list()) - valid)
        if bad:
            raise CatalogError(
                f"{where}: column {row['column']!r} refers to unknown {target} id(s) {bad}; valid: {sorted(valid)}"
            )


@functools.cache
def _load_shipped(name: str) -> pl.DataFrame:
    path = data_dir() / f"{name}.csv"
    where = f"data/{name}.csv"
    frame = _parse(_read_csv(path, where), schema(name), where, user=False)
    if name != "sources":
        srcs = set(_load_shipped("sources")["id"].to_list())
        bad = sorted(set(frame["source"].to_list()) - srcs)
        if bad:
            raise CatalogError(f"{where}: source key(s) {bad} are not in data/sources.csv")
    _check_references(name, frame, where, {})
    return frame.with_columns(pl.lit("shipped").alias(_ORIGIN))


def load(name: str, extra: str | Path | pl.DataFrame | None = None) -> pl.DataFrame:
    """Load catalog ``name``, validated, optionally merged with a user's rows.

    Parameters
    ----------
    name : str
        A catalog name from :func:`names`.
    extra : path or polars.DataFrame, optional
        A user's rows in the same columns (optional columns may be left out).
        Validated like the shipped file; a user row whose ``id`` equals a shipped
        id replaces it. The ``source`` of a user row is free text (who said so).

    Returns
    -------
    polars.DataFrame
        One row per item, columns as in :func:`schema` plus ``origin``
        (``shipped`` or ``user``).

    Raises
    ------
    UnknownIdError
        ``name`` is not a catalog (the message lists them).
    CatalogError
        A file or frame fails validation (the message names file, row, column).

    Examples
    --------
    >>> hw = load("hardware")
    >>> hw.filter(pl.col("id") == "h100-sxm")["memory_gb"].item()
    80.0
    >>> mine = pl.DataFrame({"id": ["my-gpu"], "name": ["My GPU"]})
    >>> load("hardware", extra=mine)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    infer_econ.errors.CatalogError: extra frame: missing column(s) [...]
    """
    _check_name(name)
    base = _load_shipped(name)
    if extra is None:
        return base
    if isinstance(extra, pl.LazyFrame):
        extra = extra.collect()
    if isinstance(extra, pl.DataFrame):
        where = "extra frame"
        raw = _to_strings(extra)
    else:
        where = str(extra)
        raw = _read_csv(Path(extra), where)
    if raw.height == 0:
        raise CatalogError(f"{where}: no rows")
    user = _parse(raw, schema(name), where, user=True)
    # a user row's source is free text (who said so), not a key of data/sources.csv
    _check_references(name, user, where, {name: set(user["id"].to_list())}, skip=("source",))
    user = user.with_columns(pl.lit("user").alias(_ORIGIN))
    return pl.concat([base.filter(~pl.col("id").is_in(user["id"].implode())), user], how="vertical")


def ids(name: str) -> list[str]:
    """Return the shipped ids of catalog ``name``, sorted.

    Examples
    --------
    >>> "llama-3.1-8b" in ids("models")
    True
    """
    return sorted(_load_shipped(name)["id"].to_list())


def check_ids(name: str, values: Iterable[object], catalog: pl.DataFrame | None = None) -> None:
    """Raise :class:`UnknownIdError` if any of ``values`` is not an id of ``name``.

    ``catalog`` is the (possibly extended) frame to check against; default the
    shipped catalog.

    Examples
    --------
    >>> check_ids("hardware", ["h100-sxm"])
    >>> check_ids("hardware", ["h1000"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    infer_econ.errors.UnknownIdError: unknown hardware 'h1000'; valid hardware ids: ...
    """
    frame = catalog if catalog is not None else _load_shipped(name)
    valid = set(frame["id"].to_list())
    bad = {v for v in values if v not in valid}
    if bad:
        raise UnknownIdError(name, bad, valid)


def get(name: str, id: str, catalog: pl.DataFrame | None = None) -> dict:
    """Return one catalog row as a dict.

    Examples
    --------
    >>> get("hardware", "h100-sxm")["memory_gb"]
    80.0
    """
    frame = catalog if catalog is not None else _load_shipped(name)
    check_ids(name, [id], frame)
    return frame.filter(pl.col("id") == id).row(0, named=True)

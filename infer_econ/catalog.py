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
from .errors import CatalogError, UnknownIdError, ValidationError

__all__ = ["names", "load", "schema", "get", "check_ids", "check_values", "check_numeric", "id_columns", "ids", "MAX_EXTRA_BYTES"]

#: Upload cap for a user's ``extra=`` file [bytes].
MAX_EXTRA_BYTES = 20_000_000

_DTYPES = {
    "str": pl.String,
    "int": pl.Int64,
    "float": pl.Float64,
    "bool": pl.Boolean,
}
_AS_OF = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_SCHEMA_COLUMNS = ["column", "dtype", "unit", "required", "min", "max", "allowed", "references", "description"]
#: Columns that are not data but bookkeeping; allowed in every catalog.
_ORIGIN = "origin"


def names() -> list[str]:
    """Return the names of the shipped catalogs.

    Parameters
    ----------
    None

    Returns
    -------
    list of str
        Catalog names, sorted.

    Notes
    -----
    A catalog is shipped when its column dictionary ``data/columns/<name>.csv`` exists.

    References
    ----------
    ``data/columns/<name>.csv`` (the column dictionary); ``data/sources.csv`` (every row's ``source``).

    Examples
    --------
    >>> "hardware" in names()
    True
    """
    return sorted(p.stem for p in (data_dir() / "columns").glob("*.csv"))


#: names already found in ``data/columns`` (saves a directory listing on every load of a known catalog)
_KNOWN: set[str] = set()


def _check_name(name: str) -> None:
    if name in _KNOWN:
        return
    valid = names()
    if name not in valid:
        raise UnknownIdError("catalog", [name], valid)
    _KNOWN.add(name)


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
    nested = [c for c, t in frame.schema.items() if t.is_nested() or t == pl.Object]
    if nested:
        raise CatalogError(f"extra frame: column(s) {nested} hold lists or objects; expected one plain value per cell")
    return frame.with_columns(
        pl.col(c).cast(pl.String) if frame.schema[c] != pl.String else pl.col(c) for c in frame.columns
    )


def _booleans_from_text(s: pl.Series) -> pl.Series:
    """Text ``true`` / ``1`` / ``yes`` and ``false`` / ``0`` / ``no`` (any case) as booleans; anything else null.

    Examples
    --------
    >>> _booleans_from_text(pl.Series(["TRUE", "0", "yes", "maybe", None])).to_list()
    [True, False, True, None, None]
    """
    low = s.cast(pl.String).str.to_lowercase()
    return pl.select(
        pl.when(low.is_in(["true", "1", "yes"])).then(True).when(low.is_in(["false", "0", "no"])).then(False)
        .otherwise(None).alias(s.name)
    ).to_series()


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
            cast = _booleans_from_text(s).alias(c)
        elif dtype == pl.Int64:
            as_float = s.cast(pl.Float64, strict=False)
            integral = (as_float.is_not_null() & as_float.is_finite() & (as_float.abs() < 2.0**63)
                        & (as_float == as_float.round(0)))
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


#: string columns that hold semicolon-separated ``a=b`` pairs of referenced ids
_PAIR_COLUMNS = frozenset({"kv_precision_defaults"})


def _id_pairs(frame: pl.DataFrame, key: str, column: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a column of semicolon-separated ``a=b`` pairs (``engines.kv_precision_defaults``: ``fp8=fp8``).

    Returns ``(pairs, bad)``: ``pairs`` has ``key``, ``a``, ``b`` (stripped), one row per well-formed item;
    ``bad`` has ``key`` and ``item`` for each item that is not exactly two ``=``-separated parts. Null cells
    give no rows.

    Examples
    --------
    >>> f = pl.DataFrame({"id": ["x", "y"], "p": ["fp8=fp8; fp4 = fp8", "fp8"]})
    >>> pairs, bad = _id_pairs(f, "id", "p")
    >>> pairs.rows(), bad.rows()
    ([('x', 'fp8', 'fp8'), ('x', 'fp4', 'fp8')], [('y', 'fp8')])
    """
    items = (frame.select(key, pl.col(column).cast(pl.String).alias("item")).drop_nulls("item")
             .with_columns(pl.col("item").str.split(";")).explode("item")
             .with_columns(pl.col("item").str.strip_chars(), pl.col("item").str.split("=").alias("_parts")))
    ok = pl.col("_parts").list.len() == 2
    pairs = items.filter(ok).select(key, pl.col("_parts").list.get(0).str.strip_chars().alias("a"),
                                    pl.col("_parts").list.get(1).str.strip_chars().alias("b"))
    return pairs, items.filter(~ok).select(key, "item")


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
        if row["column"] in _PAIR_COLUMNS:  # "weights=kv" pairs: both sides are ids
            pairs, odd = _id_pairs(frame, "id", row["column"])
            if odd.height:
                raise CatalogError(
                    f"{where}: column {row['column']!r}: {odd['item'][0]!r} is not a pair of ids 'a=b' "
                    "(semicolon-separated, e.g. fp8=fp8)"
                )
            vals = pl.concat([pairs["a"], pairs["b"]])
        elif row["dtype"] == "str":
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

    Notes
    -----
    The shipped file is parsed and validated once per process (cached); ``extra`` is validated on every
    call. Nothing missing is filled in.

    References
    ----------
    ``data/columns/<name>.csv`` (the column dictionary); ``data/sources.csv`` (every row's ``source``).

    Examples
    --------
    >>> hw = load("hardware")
    >>> hw.filter(pl.col("id") == "h100-sxm")["memory_gib"].item()
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
        if not (isinstance(extra, str) or hasattr(extra, "__fspath__")):
            raise CatalogError(f"extra: expected a CSV path or a polars DataFrame, got {type(extra).__name__}")
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

    Parameters
    ----------
    name : str
        A catalog name from :func:`names`.

    Returns
    -------
    list of str
        The ``id`` column, sorted.

    Notes
    -----
    Shipped rows only; a user's ``extra`` rows are not included.

    References
    ----------
    ``data/columns/<name>.csv`` (the column dictionary); ``data/sources.csv`` (every row's ``source``).

    Examples
    --------
    >>> "llama-3.1-8b" in ids("models")
    True
    """
    return sorted(_load_shipped(name)["id"].to_list())


def check_values(name: str, frame: pl.DataFrame, where: str | None = None) -> None:
    """Raise :class:`CatalogError` if a numeric column of a typed catalog frame is NaN, infinite or out of range.

    For frames handed straight to the library (``estimate(frame, hardware=my_frame)``) rather than
    through :func:`load`: every column of the dictionary that is present and numeric must hold finite
    values inside the dictionary's ``[min, max]`` (nulls allowed). Other columns are not checked.

    Parameters
    ----------
    name : str
        The catalog whose dictionary applies.
    frame : polars.DataFrame
        Rows in that catalog's columns.
    where : str, optional
        What to call the frame in the error (default ``"<name> frame"``).

    Returns
    -------
    None
        Raises on the first bad value (row, id, column, value and the bound with its unit).

    Notes
    -----
    A value x of a numeric column fails when it is NaN or infinite, x < min or x > max.

    References
    ----------
    ``data/columns/<name>.csv`` (the column dictionary); ``data/sources.csv`` (every row's ``source``).

    Examples
    --------
    >>> hw = load("hardware").with_columns(pl.lit(0.0).alias("memory_bandwidth_gb_per_s"))
    >>> check_values("hardware", hw)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    infer_econ.errors.CatalogError: hardware frame: row 0 (id ...), column 'memory_bandwidth_gb_per_s': 0.0 is below the minimum 10 [GB/s]
    """
    where = where or f"{name} frame"
    for row in schema(name).filter(pl.col("dtype").is_in(["int", "float"])).iter_rows(named=True):
        c = row["column"]
        if c not in frame.columns:
            continue
        s = frame[c]
        if s.dtype == pl.Null:
            continue
        if not s.dtype.is_numeric():
            raise CatalogError(f"{where}: column {c!r} must be numeric, got dtype {s.dtype}")
        x = s.cast(pl.Float64)
        unit = f" [{row['unit']}]" if row["unit"] else ""
        lo, hi = row["min"], row["max"]
        checks = [(~x.is_finite(), "is not a finite number")]
        if lo is not None:
            checks.append((x < lo, f"is below the minimum {lo:g}"))
        if hi is not None:
            checks.append((x > hi, f"is above the maximum {hi:g}"))
        for mask, why in checks:
            mask = mask.fill_null(False)
            if mask.any():
                i = int(mask.arg_true()[0])
                ident = f" (id {frame['id'][i]!r})" if "id" in frame.columns else ""
                raise CatalogError(f"{where}: row {i}{ident}, column {c!r}: {s[i]} {why}{unit}")


def check_numeric(
    frame: pl.DataFrame,
    where: str,
    columns: Iterable[str],
    *,
    positive: Iterable[str] = (),
    nonnegative: Iterable[str] = (),
    fraction: Iterable[str] = (),
) -> None:
    """Raise :class:`~infer_econ.errors.ValidationError` naming the column when a scenario input is missing,
    not numeric, NaN / infinite or out of its range.

    Parameters
    ----------
    frame : polars.DataFrame
        Scenarios.
    where : str
        The caller, named in the error.
    columns : iterable of str
        Columns that must be present and numeric (an all-null column passes).
    positive, nonnegative, fraction : iterable of str
        Columns that must be > 0, ≥ 0, or in [0, 1] [their own units].

    Returns
    -------
    None
        Raises on the first bad value, naming ``where``, the column, the value and its row.

    Notes
    -----
    For every non-null x: x finite; x > 0 (positive); x ≥ 0 (nonnegative); 0 ≤ x ≤ 1 (fraction).

    References
    ----------
    TEAM code rule: every bad input is an :class:`~infer_econ.errors.InferEconError` naming column and value.

    Examples
    --------
    >>> check_numeric(pl.DataFrame({"a": [1.0, -2.0]}), "here", ["a"], nonnegative=["a"])
    Traceback (most recent call last):
    ...
    infer_econ.errors.ValidationError: here: column 'a': -2.0 (row 1) must be ≥ 0
    """
    if not isinstance(frame, pl.DataFrame):
        raise ValidationError(f"{where}: expected a polars DataFrame, got {type(frame).__name__}")
    columns, positive, nonnegative, fraction = (list(x) for x in (columns, positive, nonnegative, fraction))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"{where}: frame lacks column(s) {missing}")
    for c in columns:
        t = frame.schema[c]
        if not (t.is_numeric() or t == pl.Null):
            raise ValidationError(f"{where}: column {c!r} must be numeric, got dtype {t}")
    rules = []  # (column, why, mask expression), in the order the errors are reported
    for c in columns:
        x = pl.col(c).cast(pl.Float64)
        rules.append((c, "is not a finite number", x.is_nan() | x.is_infinite()))
        if c in positive:
            rules.append((c, "must be > 0", x <= 0))
        if c in nonnegative:
            rules.append((c, "must be ≥ 0", x < 0))
        if c in fraction:
            rules.append((c, "is outside [0, 1]", (x < 0) | (x > 1)))
    if not rules:
        return
    # one pass over the frame for every rule; the offending row is looked up only on failure
    hits = frame.select(m.fill_null(False).any().alias(str(k)) for k, (_, _, m) in enumerate(rules)).row(0)
    for (c, why, m), hit in zip(rules, hits):
        if hit:
            i = int(frame.select(m.fill_null(False).arg_true().first()).item())
            raise ValidationError(f"{where}: column {c!r}: {frame[c][i]} (row {i}) {why}")


def id_columns(frame: pl.DataFrame, columns: Iterable[str], where: str) -> pl.DataFrame:
    """Check that a scenario frame has the catalog-id columns a join needs, as text.

    Parameters
    ----------
    frame : polars.DataFrame
        Scenarios.
    columns : iterable of str
        Id columns the caller joins on a catalog (``hardware``, ``model``, ``precision`` …) [id].
    where : str
        The caller, named in the error.

    Returns
    -------
    polars.DataFrame
        ``frame`` with those columns as ``String``: an all-null (``Null``), ``Categorical`` or ``Enum``
        column is cast, so the join against the catalog's text ids lines up (values unchanged).

    Raises
    ------
    ValidationError
        A column is missing, or holds something other than text (numbers, lists …).

    Notes
    -----
    A join of a non-text key on a catalog's text ``id`` is a polars ``SchemaError`` that names neither the
    caller nor the fix; this turns it into a message that does.

    References
    ----------
    Glossary of column names: ``docs/api.md`` (model, hardware, precision, engine are catalog ids).

    Examples
    --------
    >>> id_columns(pl.DataFrame({"hardware": [None]}), ["hardware"], "capex").schema["hardware"]
    String
    >>> id_columns(pl.DataFrame({"hardware": [1]}), ["hardware"], "capex")
    Traceback (most recent call last):
    ...
    infer_econ.errors.ValidationError: capex: column 'hardware' must be text (hardware ids), got dtype Int64
    """
    columns = list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"{where}: missing column(s) {missing} (catalog ids)")
    cast = []
    for c in columns:
        t = frame.schema[c]
        if t == pl.String:
            continue
        if not (t in (pl.Null, pl.Categorical) or isinstance(t, (pl.Categorical, pl.Enum))):
            raise ValidationError(f"{where}: column {c!r} must be text ({c} ids), got dtype {t}")
        cast.append(c)
    return frame.with_columns(pl.col(c).cast(pl.String) for c in cast) if cast else frame


def check_ids(name: str, values: Iterable[object], catalog: pl.DataFrame | None = None) -> None:
    """Raise :class:`UnknownIdError` if any of ``values`` is not an id of ``name``.

    ``catalog`` is the (possibly extended) frame to check against; default the
    shipped catalog.

    Parameters
    ----------
    name : str
        Catalog name (named in the error).
    values : iterable
        Ids to check (a null is not an id: it is reported as unknown).
    catalog : polars.DataFrame, optional
        The frame whose ``id`` column holds the valid ids.

    Returns
    -------
    None
        Raises :class:`~infer_econ.errors.UnknownIdError` listing the unknown and the valid ids.

    Notes
    -----
    bad = set(values) − set(catalog ids); pass ``unique()`` values of a large column.

    References
    ----------
    ``data/columns/<name>.csv`` (the column dictionary); ``data/sources.csv`` (every row's ``source``).

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

    Parameters
    ----------
    name : str
        Catalog name.
    id : str
        The row's id.
    catalog : polars.DataFrame, optional
        A (possibly extended) frame to read from; default the shipped catalog.

    Returns
    -------
    dict
        Column name to value, units as in the column names.

    Notes
    -----
    Unknown ids raise :class:`~infer_econ.errors.UnknownIdError` listing the valid ones.

    References
    ----------
    ``data/columns/<name>.csv`` (the column dictionary); ``data/sources.csv`` (every row's ``source``).

    Examples
    --------
    >>> get("hardware", "h100-sxm")["memory_gib"]
    80.0
    """
    frame = catalog if catalog is not None else _load_shipped(name)
    check_ids(name, [id], frame)
    return frame.filter(pl.col("id") == id).row(0, named=True)


# --------------------------------------------------------------------------- model_from_config
# (infer_econ.io owner; additive) A model not in the catalog, from a Hugging Face config.json on disk.

#: ``tie_word_embeddings`` default of each ``model_type`` when the file omits it (the transformers config class default).
_HF_TIED_DEFAULT = {
    "llama": False, "mistral": False, "mixtral": False, "qwen2": False, "qwen2_moe": False, "qwen3": False,
    "qwen3_moe": False, "gemma": True, "gemma2": True, "gemma3": True, "gemma3_text": True, "deepseek_v2": False,
    "deepseek_v3": False, "gpt_oss": False, "phi3": False,
}
#: model types whose q/k/v projections carry a bias when ``attention_bias`` is absent
_HF_QKV_BIAS = {"qwen2", "qwen2_moe"}
#: config keys tried for each dimension (first present wins)
_HF_KEYS = {
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "n_layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "n_heads": ("num_attention_heads", "n_head"),
    "vocab_size": ("vocab_size",),
}


def model_from_config(path: str | Path, id: str | None = None, *, name: str | None = None) -> pl.DataFrame:
    """Read a Hugging Face ``config.json`` on disk into a one-row frame of the models catalog.

    No network access: only the file is read. The row can be merged with
    ``load("models", extra=row)`` and passed to the estimator.

    Parameters
    ----------
    path : str or Path
        The ``config.json`` (or the folder holding it).
    id : str, optional
        Catalog id of the new model; default the lower-cased last part of
        ``_name_or_path``, else the folder name.
    name : str, optional
        Display name; default the same as the repository name.

    Returns
    -------
    polars.DataFrame
        One row in the models schema (``schema("models")``), validated like a
        user's ``extra=`` row; ``source`` is the file path (free text).

    Raises
    ------
    CatalogError
        The file is missing, not JSON, or lacks a field the parameter count
        needs; the message names the file and the field.

    Notes
    -----
    Field names understood: Llama / Mistral / Qwen2 / Qwen3 / Gemma 2-3
    (``hidden_size``, ``num_hidden_layers``, ``num_attention_heads``,
    ``num_key_value_heads``, ``head_dim``, ``intermediate_size``,
    ``sliding_window``, ``layer_types`` / ``sliding_window_pattern``);
    Mixtral and gpt-oss (``num_local_experts``, ``num_experts_per_tok``);
    Llama 4 (``interleave_moe_layer_step``, ``moe_layers``,
    ``intermediate_size_mlp``, one shared expert, ``attention_chunk_size`` on
    the ``no_rope_layers`` marked 1);
    Qwen-MoE (``num_experts``, ``moe_intermediate_size``,
    ``shared_expert_intermediate_size``); DeepSeek V2/V3 (MLA: ``q_lora_rank``,
    ``kv_lora_rank``, ``qk_rope_head_dim``, ``qk_nope_head_dim``,
    ``v_head_dim``; MoE: ``n_routed_experts``, ``n_shared_experts``,
    ``first_k_dense_replace``); a multimodal file's ``text_config``.

    Parameters from dims, with h = hidden size, L layers, H query heads, K KV
    heads, d head dim, V vocabulary, f FFN size (gated: 3 matrices):

    - attention per layer: h·H·d (q) + 2·h·K·d (k, v) + H·d·h (o), plus the
      q/k/v biases H·d + 2·K·d where the model has them; MLA: h·r_q + r_q +
      r_q·H·(d_nope + d_rope) + h·(r_kv + d_rope) + r_kv + r_kv·H·(d_nope + d_v)
      + H·d_v·h (without q_lora_rank: h·H·(d_nope + d_rope) for q);
    - norms: 2·h per layer plus h at the end;
    - dense FFN: 3·h·f; MoE layer: E·3·h·f_e (routed) + 3·h·f_s (shared) +
      h·E (router);
    - embeddings: V·h, twice when the output head is not tied.

    total = Σ layers + embeddings; active = total − n_moe_layers · (E − k) ·
    3·h·f_e (the routed experts a token does not use). Small terms (attention
    sinks, q/k norms, expert biases) are left out: < 0.1 % for the models
    tested. kv_latent_dim (MLA) = kv_lora_rank + qk_rope_head_dim.

    References
    ----------
    Hugging Face transformers configuration classes (LlamaConfig,
    MixtralConfig, Qwen2Config, Gemma2Config, DeepseekV3Config, GptOssConfig).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> cfg = {"_name_or_path": "acme/tiny-llama", "model_type": "llama", "hidden_size": 512,
    ...        "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 2,
    ...        "intermediate_size": 1536, "vocab_size": 32000, "max_position_embeddings": 4096}
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "config.json"
    >>> _ = p.write_text(json.dumps(cfg))
    >>> row = model_from_config(p)
    >>> row.select("id", "n_kv_heads", "head_dim", "attention").row(0)
    ('tiny-llama', 2, 64, 'gqa')
    >>> # 4 x (512*512 + 2*512*128 + 512*512 + 2*512 + 3*512*1536) + 2*32000*512 + 512
    >>> # = 4 x 3,015,680 + 32,768,000 + 512 = 44,831,232
    >>> round(row["total_params_b"].item() * 1e9)
    44831232
    """
    import datetime as _dt
    import json as _json

    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    where = str(p)
    if not p.is_file():
        raise CatalogError(f"{where}: no such file (a Hugging Face config.json expected)")
    if p.stat().st_size > MAX_EXTRA_BYTES:
        raise CatalogError(f"{where}: file is {p.stat().st_size:,} bytes; the limit is {MAX_EXTRA_BYTES:,}")
    try:
        cfg = _json.loads(p.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, _json.JSONDecodeError, RecursionError) as exc:
        raise CatalogError(f"{where}: not a JSON file ({type(exc).__name__}); a Hugging Face config.json expected") from None
    if not isinstance(cfg, dict):
        raise CatalogError(f"{where}: top level is not a JSON object; a Hugging Face config.json expected")
    top = cfg
    if isinstance(cfg.get("text_config"), dict):  # multimodal wrappers (Gemma 3, Llama 4, Mistral 3 …)
        cfg = {**{k: v for k, v in cfg.items() if k != "text_config"}, **cfg["text_config"]}
    mtype = str(cfg.get("model_type") or top.get("model_type") or "").lower()

    def num(key: str, *, required: bool = True, what: str = "", integer: bool = True, default=None):
        keys = _HF_KEYS.get(key, (key,))
        for k in keys:
            if cfg.get(k) is not None:
                v = cfg[k]
                ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
                if not ok or (integer and float(v) != int(v)) or v < 0:
                    raise CatalogError(f"{where}: field {k!r}: {v!r} is not a {'whole ' if integer else ''}number ≥ 0")
                if v > 1e9:
                    raise CatalogError(f"{where}: field {k!r}: {v!r} is larger than any model dimension (1e9)")
                return int(v) if integer else float(v)
        if required:
            raise CatalogError(f"{where}: config.json has no {' / '.join(repr(k) for k in keys)}"
                               f" (needed for {what or key})")
        return default

    h = num("hidden_size", what="the model width")
    n_layers = num("n_layers", what="the layer count")
    n_heads = num("n_heads", what="the attention heads")
    vocab = num("vocab_size", what="the embedding size")
    for v, k in ((h, "hidden_size"), (n_layers, "num_hidden_layers"), (n_heads, "num_attention_heads"), (vocab, "vocab_size")):
        if v < 1:
            raise CatalogError(f"{where}: field {k!r} must be ≥ 1")
    n_kv = num("num_key_value_heads", required=False, default=n_heads) or n_heads
    head_dim = num("head_dim", required=False) or h // n_heads
    # --- MoE layout
    n_experts = (num("num_local_experts", required=False) or num("n_routed_experts", required=False)
                 or num("num_experts", required=False))
    k_active = num("num_experts_per_tok", required=False)
    if n_experts and not k_active:
        raise CatalogError(f"{where}: config.json has {n_experts} experts but no 'num_experts_per_tok'")
    if n_experts and k_active > n_experts:
        raise CatalogError(
            f"{where}: 'num_experts_per_tok' is {k_active} but the model has only {n_experts} experts per layer"
        )
    llama4 = mtype.startswith("llama4")
    n_shared = num("n_shared_experts", required=False, default=0) or (1 if llama4 and n_experts else 0)
    dense_ffn = num("intermediate_size", required=not n_experts, what="the FFN size")
    if n_experts:
        expert_ffn = num("moe_intermediate_size", required=False) or dense_ffn
        if expert_ffn is None:
            raise CatalogError(f"{where}: config.json has no 'moe_intermediate_size' or 'intermediate_size' "
                               "(needed for the expert size)")
        dense_ffn = num("intermediate_size_mlp", required=False) or dense_ffn  # Llama 4: dense-layer width
        shared_ffn = num("shared_expert_intermediate_size", required=False) or n_shared * expert_ffn
        if shared_ffn and not n_shared:
            n_shared = 1
        first_dense = num("first_k_dense_replace", required=False, default=0) or 0
        step = (num("decoder_sparse_step", required=False) or num("interleave_moe_layer_step", required=False)
                or 1)
        mlp_only = cfg.get("mlp_only_layers") or []
        if not isinstance(mlp_only, list):
            raise CatalogError(f"{where}: field 'mlp_only_layers': {mlp_only!r} is not a list of layer indices")
        listed = cfg.get("moe_layers")
        if isinstance(listed, list) and listed and all(isinstance(i, int) and not isinstance(i, bool) for i in listed):
            moe_layers = sorted({i for i in listed if 0 <= i < n_layers})
        else:
            moe_layers = [i for i in range(n_layers)
                          if i >= first_dense and (i + 1) % step == 0 and i not in mlp_only]
        n_moe = len(moe_layers)
        if n_moe < n_layers and dense_ffn is None:
            raise CatalogError(f"{where}: config.json has dense layers but no 'intermediate_size'")
    else:
        expert_ffn, shared_ffn, n_moe = None, 0, 0
    # --- attention
    kv_lora = num("kv_lora_rank", required=False)
    if kv_lora:
        rope = num("qk_rope_head_dim", what="MLA rope dims")
        nope = num("qk_nope_head_dim", what="MLA head dims")
        v_dim = num("v_head_dim", what="MLA value dims")
        q_lora = num("q_lora_rank", required=False)
        q = (h * q_lora + q_lora + q_lora * n_heads * (nope + rope)) if q_lora else h * n_heads * (nope + rope)
        attn = q + h * (kv_lora + rope) + kv_lora + kv_lora * n_heads * (nope + v_dim) + n_heads * v_dim * h
        head_dim, n_kv = nope + rope, n_heads
        attention, latent = "mla", kv_lora + rope
    else:
        attn = h * n_heads * head_dim + 2 * h * n_kv * head_dim + n_heads * head_dim * h
        bias = cfg.get("attention_bias", mtype in _HF_QKV_BIAS)
        if bias is True:
            attn += n_heads * head_dim + 2 * n_kv * head_dim
        latent = None
        attention = "mha" if n_kv == n_heads else ("mqa" if n_kv == 1 else "gqa")
    # --- sliding window (Llama 4: chunked local attention on the RoPE layers, global NoPE on the others)
    window = num("sliding_window", required=False) or num("attention_chunk_size", required=False)
    frac = None
    if window and cfg.get("use_sliding_window") is not False and attention != "mla":
        types = cfg.get("layer_types")
        nope = cfg.get("no_rope_layers")
        if isinstance(types, list) and types:
            frac = sum(1 for t in types if "sliding" in str(t) or "chunked" in str(t)) / len(types)
        elif llama4 and isinstance(nope, list) and nope:
            frac = sum(1 for x in nope if x == 1) / len(nope)
        elif num("sliding_window_pattern", required=False):
            pat = num("sliding_window_pattern", required=False)  # every pat-th layer global (Gemma 3)
            frac = sum(1 for i in range(n_layers) if (i + 1) % pat) / n_layers
        elif mtype == "gemma2":
            frac = 0.5
        else:
            frac = 1.0
        if frac == 0:
            window, frac = None, None
        elif frac == 1.0:
            attention = "sliding-window"
        else:
            attention = "hybrid-sliding"
    else:
        window = None
    # --- parameter count
    tied = cfg.get("tie_word_embeddings", top.get("tie_word_embeddings", _HF_TIED_DEFAULT.get(mtype, False)))
    tied = bool(tied)
    emb = vocab * h
    per_expert = 3 * h * expert_ffn if n_experts else 0
    moe_layer = n_experts * per_expert + 3 * h * shared_ffn + h * n_experts if n_experts else 0
    dense_layer = 3 * h * dense_ffn if dense_ffn else 0
    total = (n_layers * (attn + 2 * h) + n_moe * moe_layer + (n_layers - n_moe) * dense_layer
             + emb * (1 if tied else 2) + h)
    active = total - (n_moe * (n_experts - k_active) * per_expert if n_experts else 0)
    repo = str(top.get("_name_or_path") or "").strip()
    hf_repo = repo if re.match(r"^[\w.-]+/[\w.-]+$", repo) else None
    base = (repo.rstrip("/").split("/")[-1] if repo else p.parent.name) or "user-model"
    mid = id or re.sub(r"[^a-z0-9.+-]+", "-", base.lower()).strip("-")
    mtime = _dt.datetime.fromtimestamp(p.stat().st_mtime, _dt.timezone.utc).strftime("%Y-%m-%d")
    row = {
        "id": mid, "name": name or base, "hf_repo": hf_repo, "family": mtype or "unknown", "task": "text-generation",
        "open_weights": True, "total_params_b": total / 1e9, "active_params_b": active / 1e9,
        "embedding_params_b": emb / 1e9, "tied_embeddings": tied, "n_layers": n_layers, "hidden_size": h,
        "n_heads": n_heads, "n_kv_heads": n_kv, "head_dim": head_dim,
        "intermediate_size": expert_ffn if n_experts else dense_ffn,
        "dense_intermediate_size": dense_ffn if n_experts and n_moe < n_layers else None,
        "vocab_size": vocab, "max_context_tokens": num("max_position_embeddings", required=False),
        "attention": attention, "sliding_window_tokens": window, "sliding_window_layer_fraction": frac,
        "kv_latent_dim": latent, "n_experts": n_experts, "experts_per_token": k_active if n_experts else None,
        "n_shared_experts": n_shared if n_experts else None, "n_moe_layers": n_moe if n_experts else None,
        "source": f"config.json read by model_from_config from {p.name}", "source_detail": where, "as_of": mtime,
        "notes": "parameters computed from config dims (catalog.model_from_config formula)",
    }
    sch = schema("models")
    cols = [c for c in sch["column"].to_list() if c in row]
    raw = pl.DataFrame({c: [None if row[c] is None else str(row[c]).lower() if isinstance(row[c], bool)
                            else repr(row[c]) if isinstance(row[c], float) else str(row[c])] for c in cols},
                       schema={c: pl.String for c in cols})
    user = _parse(raw, sch, where, user=True)
    return user.with_columns(pl.lit("user").alias(_ORIGIN))


__all__.append("model_from_config")

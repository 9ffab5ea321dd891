"""Scenario files: every knob of the planner in a versioned JSON file.

A scenario is a plain ``dict`` whose keys are the fields of :data:`FIELDS`
(name, type, unit, range, default). :func:`save` validates it and writes
``{"schema_version": 2, ...}`` atomically (temporary file in the same folder,
then :func:`os.replace`), so a crash mid-write leaves any earlier file intact.
:func:`load` reads it back exactly (``load(save(p, s)) == validate(s)``),
migrates files written by older versions (:func:`migrate`) and refuses, with a
message naming the key, anything it cannot read: an unknown key, a wrong type,
a value out of range, a file from a newer version.

A scenario may name a user's own catalog files (``extra_catalogs``: catalog
name → CSV path). They are only ever read, never written: :func:`save`
refuses a target that is one of them or is not a ``.json`` file.

Schema history
--------------
- version 1 (infer-econ 0.0.x planner prototype): key ``version``; ``gpu``,
  ``num_gpus``, ``prompt_tokens``, ``completion_tokens``, ``qps``,
  ``slo_ttft_ms``, ``slo_tpot_ms`` (milliseconds), ``utilization_pct``
  (percent), ``pricing`` (``ondemand``, ``spot``, ``reserved-1y``,
  ``reserved-3y``).
- version 2 (current): key ``schema_version``; glossary names and SI units
  (seconds, fractions), see :data:`FIELDS`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ValidationError

__all__ = ["SCHEMA_VERSION", "FIELDS", "Field", "defaults", "validate", "migrate", "save", "load", "dumps", "loads",
           "MAX_SCENARIO_BYTES", "FRAME_COLUMNS", "to_frame", "catalogs"]

#: Version written by :func:`save`.
SCHEMA_VERSION = 2
#: Largest scenario file :func:`load` reads [bytes].
MAX_SCENARIO_BYTES = 1_000_000


@dataclasses.dataclass(frozen=True)
class Field:
    """One scenario knob: JSON type, whether it is required, default, range, allowed values, unit.

    Examples
    --------
    >>> Field("n_devices", "int", required=True, min=1).required
    True
    """

    name: str
    type: str  # "str", "int", "float", "dict"
    required: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    unit: str = ""
    description: str = ""
    #: the lower bound is exclusive (value must be > min)
    min_exclusive: bool = False


#: Every knob of the planner, in file order.
FIELDS: tuple[Field, ...] = (
    Field("name", "str", default="", description="label of the scenario"),
    Field("model", "str", required=True, description="models catalog id"),
    Field("hardware", "str", required=True, description="hardware catalog id"),
    Field("precision", "str", required=True, description="precisions catalog id of the weights"),
    Field("kv_precision", "str", description="KV-cache precision id; null = the engine's default"),
    Field("engine", "str", required=True, description="engines catalog id"),
    Field("n_devices", "int", required=True, min=1, max=4096, unit="count", description="devices in one replica"),
    Field("tensor_parallel", "int", min=1, max=4096, unit="count", description="tensor-parallel degree; null = all devices"),
    Field("pipeline_parallel", "int", min=1, max=4096, unit="count", description="pipeline stages; null = 1"),
    Field("batch_size", "int", min=1, max=100_000, unit="sequences",
          description="concurrent sequences; null = the largest batch that fits (offline max throughput)"),
    Field("input_tokens", "int", required=True, min=1, max=10_000_000, unit="tokens", description="prompt tokens per request"),
    Field("output_tokens", "int", required=True, min=1, max=1_000_000, unit="tokens", description="output tokens per request"),
    Field("context_depth", "int", default=0, min=0, max=10_000_000, unit="tokens",
          description="tokens already in the KV cache before the prompt"),
    Field("request_rate_per_s", "float", min=0, max=1_000_000, unit="1/s",
          description="mean request arrival rate (the volume); null = offline / batch"),
    Field("demand_profile", "str", description="name of a demand profile or path of an hourly demand CSV"),
    Field("price_model", "str", default="on_demand", allowed=("on_demand", "spot", "reserved_1y", "reserved_3y", "owned"),
          description="how device hours are bought"),
    Field("provider", "str", description="cloud provider slug (cloud_prices.provider)"),
    Field("region", "str", description="provider region (cloud_prices.region)"),
    Field("instance_type", "str", description="instance type; null = cheapest matching the hardware"),
    Field("usd_per_device_hour", "float", min=0, max=1000, unit="USD/h",
          description="own price per device hour overriding the catalog"),
    Field("utilization", "float", default=1.0, min=0, max=1, min_exclusive=True, unit="fraction",
          description="share of paid time producing tokens"),
    Field("ttft_p99_s", "float", min=0, max=3600, min_exclusive=True, unit="s", description="SLO: p99 time to first token"),
    Field("tpot_p99_s", "float", min=0, max=60, min_exclusive=True, unit="s", description="SLO: p99 time per output token"),
    Field("grid_region", "str", description="grid_carbon catalog id for CO2"),
    Field("pue", "float", min=1, max=3, unit="ratio", description="data-center PUE; null = the catalog default"),
    Field("electricity_usd_per_kwh", "float", min=0, max=2, unit="USD/kWh", description="own electricity price"),
    Field("api_model", "str", description="api_prices id to compare against (build vs buy)"),
    Field("extra_catalogs", "dict", default=None, description="catalog name -> path of the user's CSV (read only)"),
    Field("notes", "str", default="", description="free text"),
)
_BY_NAME = {f.name: f for f in FIELDS}
_META = ("schema_version", "app")


def defaults() -> dict[str, Any]:
    """Return the default of every optional knob (required knobs are absent).

    Parameters
    ----------
    None

    Returns
    -------
    dict
        Knob → default value (None where the default is "not set").

    Notes
    -----
    The ``default`` of each :data:`FIELDS` entry that is not required; a fresh dict on every call.

    References
    ----------
    Scenario file keys: :data:`FIELDS` (table in ``docs/api.md``); JSON: RFC 8259.

    Examples
    --------
    >>> d = defaults()
    >>> d["price_model"], d["utilization"], "model" in d
    ('on_demand', 1.0, False)
    """
    return {f.name: (dict(f.default) if isinstance(f.default, dict) else f.default) for f in FIELDS if not f.required}


def _suggest(key: str) -> str:
    close = difflib.get_close_matches(key, list(_BY_NAME), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_value(f: Field, v: Any, where: str) -> Any:
    at = f"{where}: key {f.name!r}"
    if v is None:
        if f.required:
            raise ValidationError(f"{at}: a value is required ({f.description})")
        return None
    if f.type == "str":
        if not isinstance(v, str):
            raise ValidationError(f"{at}: {v!r} is a {type(v).__name__}, expected a string")
        if f.allowed and v not in f.allowed:
            raise ValidationError(f"{at}: {v!r} is not one of {list(f.allowed)}")
        if f.required and not v.strip():
            raise ValidationError(f"{at}: an empty string is not a {f.description}")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(f"{at}: text holds characters that are not valid Unicode") from None
        if len(v) > 10_000:
            raise ValidationError(f"{at}: text of {len(v):,} characters is longer than 10,000")
        return v
    if f.type == "dict":
        if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
            raise ValidationError(f"{at}: expected an object of catalog name → file path strings, got {v!r}")
        return dict(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValidationError(f"{at}: {v!r} is a {type(v).__name__}, expected a number"
                              + (f" [{f.unit}]" if f.unit else ""))
    if f.type == "int":
        if isinstance(v, float):
            if not (math.isfinite(v) and v == int(v)):
                raise ValidationError(f"{at}: {v!r} is not a whole number" + (f" [{f.unit}]" if f.unit else ""))
            v = int(v)
    else:
        v = float(v)
        if not math.isfinite(v):
            raise ValidationError(f"{at}: {v!r} is not a finite number" + (f" [{f.unit}]" if f.unit else ""))
    unit = f" [{f.unit}]" if f.unit else ""
    if f.min is not None and (v <= f.min if f.min_exclusive else v < f.min):
        raise ValidationError(f"{at}: {v!r} must be {'>' if f.min_exclusive else '≥'} {f.min:g}{unit}")
    if f.max is not None and v > f.max:
        raise ValidationError(f"{at}: {v!r} must be ≤ {f.max:g}{unit}")
    return v


def validate(scenario: Mapping[str, Any], where: str = "scenario") -> dict[str, Any]:
    """Check a scenario and return it normalized (defaults filled, ints for int knobs, floats for float knobs).

    Parameters
    ----------
    scenario : mapping
        Knob → value; keys as in :data:`FIELDS` (``schema_version`` and
        ``app`` are accepted and dropped).
    where : str
        Prefix of error messages (the file name when loading).

    Returns
    -------
    dict
        Every field of :data:`FIELDS`, in order.

    Raises
    ------
    ValidationError
        Naming the key: unknown (with a suggestion), missing, wrong type, out
        of range, not an allowed value; tensor × pipeline parallel not equal to
        ``n_devices``.

    Notes
    -----
    Keys are checked against :data:`FIELDS` (type, range, allowed values); missing optional keys take
    their default; ``tensor_parallel × pipeline_parallel = n_devices`` when both are given.

    References
    ----------
    Scenario file keys: :data:`FIELDS` (table in ``docs/api.md``); JSON: RFC 8259.

    Examples
    --------
    >>> s = validate({"model": "llama-3.1-8b", "hardware": "h100-sxm", "precision": "bf16", "engine": "vllm",
    ...               "n_devices": 1, "input_tokens": 1000, "output_tokens": 200, "utilization": 1})
    >>> s["utilization"], s["context_depth"]
    (1.0, 0)
    >>> validate({"modle": "x"})
    Traceback (most recent call last):
    ...
    infer_econ.errors.ValidationError: scenario: unknown key 'modle' (did you mean 'model'?)
    """
    if not isinstance(scenario, Mapping):
        raise ValidationError(f"{where}: a scenario is a JSON object of knob → value, not a {type(scenario).__name__}")
    for k in scenario:
        if not isinstance(k, str) or (k not in _BY_NAME and k not in _META):
            raise ValidationError(f"{where}: unknown key {k!r}{_suggest(str(k))}")
    out: dict[str, Any] = {}
    for f in FIELDS:
        if f.name in scenario:
            out[f.name] = _check_value(f, scenario[f.name], where)
        elif f.required:
            raise ValidationError(f"{where}: key {f.name!r} is missing ({f.description})")
        else:
            out[f.name] = dict(f.default) if isinstance(f.default, dict) else f.default
    tp, pp, n = out["tensor_parallel"], out["pipeline_parallel"], out["n_devices"]
    if tp is not None and pp is not None and tp * pp != n:
        raise ValidationError(f"{where}: key 'tensor_parallel' × 'pipeline_parallel' ({tp} × {pp}) must equal "
                              f"'n_devices' ({n})")
    for key, v in (("tensor_parallel", tp), ("pipeline_parallel", pp)):
        if v is not None and n % v:
            raise ValidationError(f"{where}: key {key!r}: {v} does not divide 'n_devices' ({n})")
    return out


_V1_RENAMES = {"gpu": "hardware", "num_gpus": "n_devices", "prompt_tokens": "input_tokens",
               "completion_tokens": "output_tokens", "qps": "request_rate_per_s"}
_V1_PRICING = {"ondemand": "on_demand", "on-demand": "on_demand", "spot": "spot", "reserved-1y": "reserved_1y",
               "reserved-3y": "reserved_3y", "owned": "owned"}


def _v1_to_v2(doc: dict, where: str) -> dict:
    out = {k: v for k, v in doc.items() if k != "version"}
    for old, new in _V1_RENAMES.items():
        if old in out:
            out[new] = out.pop(old)
    for old, new in (("slo_ttft_ms", "ttft_p99_s"), ("slo_tpot_ms", "tpot_p99_s")):
        if old in out:
            v = out.pop(old)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ValidationError(f"{where}: version-1 key {old!r}: {v!r} is not a number [ms]")
            out[new] = None if v is None else v / 1000.0
    if "utilization_pct" in out:
        v = out.pop("utilization_pct")
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ValidationError(f"{where}: version-1 key 'utilization_pct': {v!r} is not a number [%]")
        out["utilization"] = None if v is None else v / 100.0
    if "pricing" in out:
        v = out.pop("pricing")
        if v not in _V1_PRICING:
            raise ValidationError(f"{where}: version-1 key 'pricing': {v!r} is not one of {sorted(_V1_PRICING)}")
        out["price_model"] = _V1_PRICING[v]
    out["schema_version"] = 2
    return out


_MIGRATIONS = {1: _v1_to_v2}


def migrate(doc: Mapping[str, Any], where: str = "scenario") -> dict[str, Any]:
    """Bring a scenario document of any known version to :data:`SCHEMA_VERSION` (not yet validated).

    Parameters
    ----------
    doc : mapping
        The parsed JSON object (``schema_version``, or ``version`` 1).
    where : str
        Prefix of error messages.

    Returns
    -------
    dict
        The document in the current schema (keys renamed, units converted).

    Raises
    ------
    ValidationError
        No version key, a version from a newer release, or a version-1 value
        that cannot be converted (key named).

    Notes
    -----
    One step per version (1 → 2: ``gpu`` → ``hardware``, millisecond SLOs → seconds …), applied in order
    until :data:`SCHEMA_VERSION`.

    References
    ----------
    Scenario file keys: :data:`FIELDS` (table in ``docs/api.md``); JSON: RFC 8259.

    Examples
    --------
    >>> migrate({"version": 1, "gpu": "h100-sxm", "slo_ttft_ms": 500})["ttft_p99_s"]
    0.5
    >>> migrate({"schema_version": 9})
    Traceback (most recent call last):
    ...
    infer_econ.errors.ValidationError: scenario: schema_version 9 was written by a newer infer-econ; this version reads 1 to 2
    """
    if not isinstance(doc, Mapping):
        raise ValidationError(f"{where}: a scenario is a JSON object, not a {type(doc).__name__}")
    doc = dict(doc)
    if "schema_version" in doc:
        version = doc["schema_version"]
    elif "version" in doc:
        version = doc["version"]
    else:
        raise ValidationError(f"{where}: no 'schema_version' key; not an infer-econ scenario file")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationError(f"{where}: schema_version {version!r} is not an integer")
    if version > SCHEMA_VERSION:
        raise ValidationError(f"{where}: schema_version {version} was written by a newer infer-econ; "
                              f"this version reads 1 to {SCHEMA_VERSION}")
    if version < 1:
        raise ValidationError(f"{where}: schema_version {version} is not a known version (1 to {SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        doc = _MIGRATIONS[version](doc, where)
        version += 1
    return doc


def dumps(scenario: Mapping[str, Any]) -> str:
    """Serialize a validated scenario to JSON text (``schema_version`` first, 2-space indent).

    Parameters
    ----------
    scenario : mapping
        The knobs.

    Returns
    -------
    str
        JSON text that :func:`loads` reads back exactly.

    Notes
    -----
    Validated first (:func:`validate`); ``schema_version`` and ``app`` first, then the keys in
    :data:`FIELDS` order; ``NaN`` / ``Infinity`` are refused (``allow_nan=False``).

    References
    ----------
    Scenario file keys: :data:`FIELDS` (table in ``docs/api.md``); JSON: RFC 8259.

    Examples
    --------
    >>> s = {"model": "m", "hardware": "h", "precision": "bf16", "engine": "vllm", "n_devices": 1,
    ...      "input_tokens": 1, "output_tokens": 1}
    >>> loads(dumps(s)) == validate(s)
    True
    """
    body = validate(scenario)
    return json.dumps({"schema_version": SCHEMA_VERSION, "app": "infer-econ", **body}, indent=2,
                      ensure_ascii=False, allow_nan=False) + "\n"


def loads(text: str, where: str = "scenario") -> dict[str, Any]:
    """Parse scenario JSON text (any known version) into a validated scenario.

    Parameters
    ----------
    text : str
        JSON text (e.g. an uploaded file's content); at most
        :data:`MAX_SCENARIO_BYTES` bytes; ``NaN`` / ``Infinity`` refused.
    where : str
        Prefix of error messages.

    Returns
    -------
    dict
        The validated scenario (every field of :data:`FIELDS`).

    Notes
    -----
    Parse (refusing ``NaN`` / ``Infinity``), :func:`migrate` to :data:`SCHEMA_VERSION`, :func:`validate`.

    References
    ----------
    Scenario file keys: :data:`FIELDS` (table in ``docs/api.md``); JSON: RFC 8259.

    Examples
    --------
    >>> loads('{"schema_version": 2, "model": "m"}')
    Traceback (most recent call last):
    ...
    infer_econ.errors.ValidationError: scenario: key 'hardware' is missing (hardware catalog id)
    """
    if not isinstance(text, str):
        raise ValidationError(f"{where}: expected JSON text, got {type(text).__name__}")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SCENARIO_BYTES:
        raise ValidationError(f"{where}: larger than the {MAX_SCENARIO_BYTES:,}-byte limit for scenario files")

    def _no_constants(c: str) -> Any:
        raise ValidationError(f"{where}: {c} is not a valid JSON number")

    try:
        doc = json.loads(text, parse_constant=_no_constants)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValidationError(f"{where}: not valid JSON ({getattr(exc, 'msg', type(exc).__name__)}"
                              f"{', line ' + str(exc.lineno) if hasattr(exc, 'lineno') else ''})") from None
    return validate(migrate(doc, where), where)


def save(path: str | Path, scenario: Mapping[str, Any]) -> Path:
    """Validate ``scenario`` and write it to ``path`` (``.json``) atomically; return the path.

    Parameters
    ----------
    path : str or Path
        Target ``.json`` file; its folder must exist. Never one of the
        scenario's ``extra_catalogs`` files.
    scenario : mapping
        The knobs (see :data:`FIELDS`).

    Returns
    -------
    Path
        The written file.

    Notes
    -----
    The JSON is written to a temporary file in the same folder and moved over
    the target with :func:`os.replace`: readers see the old file or the new
    one, never half of one.

    References
    ----------
    Scenario file keys: :data:`FIELDS` (table in ``docs/api.md``); JSON: RFC 8259.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> s = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "precision": "bf16", "engine": "vllm",
    ...      "n_devices": 1, "input_tokens": 1000, "output_tokens": 200}
    >>> p = save(pathlib.Path(tempfile.mkdtemp()) / "plan.json", s)
    >>> load(p) == validate(s)
    True
    """
    from .io.export import atomic_write

    target = Path(path)
    if target.suffix.lower() != ".json":
        raise ValidationError(f"{target}: a scenario is saved as a .json file")
    body = validate(scenario, where=str(target))
    for name, cat in (body.get("extra_catalogs") or {}).items():
        try:
            same = Path(cat).resolve() == target.resolve()
        except (OSError, RuntimeError, ValueError):
            same = False
        if same:
            raise ValidationError(f"{target}: is the user catalog file of {name!r}; it is never overwritten")
    doc = {"schema_version": SCHEMA_VERSION, "app": "infer-econ", **body}

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, ensure_ascii=False, allow_nan=False)
            fh.write("\n")

    return atomic_write(target, write)


def load(path: str | Path) -> dict[str, Any]:
    """Read a scenario file (migrating older versions) and return the validated scenario.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`save` (or by an older version).

    Returns
    -------
    dict
        The validated scenario in the current schema.

    Raises
    ------
    ValidationError
        The file is missing, too large (:data:`MAX_SCENARIO_BYTES`), not JSON,
        from a newer version, or a key is unknown / missing / of the wrong
        type / out of range; the message names the file and the key.

    Notes
    -----
    Read as UTF-8 (a byte-order mark is allowed), then :func:`loads` (which migrates and validates).

    References
    ----------
    Scenario file keys: :data:`FIELDS` (table in ``docs/api.md``); JSON: RFC 8259.

    Examples
    --------
    >>> load("no/such/plan.json")
    Traceback (most recent call last):
    ...
    infer_econ.errors.ValidationError: no/such/plan.json: no such scenario file
    """
    p = Path(path)
    if not p.is_file():
        raise ValidationError(f"{p}: no such scenario file")
    size = p.stat().st_size
    if size > MAX_SCENARIO_BYTES:
        raise ValidationError(f"{p}: file is {size:,} bytes; the limit for scenario files is {MAX_SCENARIO_BYTES:,}")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"{p}: not a UTF-8 text file; a scenario JSON file expected") from None
    return loads(text, where=str(p))


#: scenario knobs that are columns of ``infer_econ.evaluate``'s input frame (same names and units)
FRAME_COLUMNS = (
    "model", "hardware", "precision", "kv_precision", "engine", "n_devices", "tensor_parallel", "pipeline_parallel",
    "batch_size", "input_tokens", "output_tokens", "context_depth", "request_rate_per_s", "price_model", "provider",
    "region", "usd_per_device_hour", "utilization", "grid_region", "pue", "electricity_usd_per_kwh",
)


def to_frame(scenario: Mapping[str, Any]):
    """One-row scenario frame for ``infer_econ.estimate`` / ``infer_econ.evaluate``.

    Columns are the knobs of :data:`FRAME_COLUMNS` that have a value (a null
    knob is left out, so the function's documented default applies); the other
    knobs (SLOs, labels, catalogs) are not frame columns.

    Parameters
    ----------
    scenario : mapping
        The knobs (validated first).

    Returns
    -------
    polars.DataFrame
        One row; ids as strings, counts as Int64, rates and prices as Float64
        in the units of :data:`FIELDS`.

    Notes
    -----
    Knob names are the glossary's column names, so no renaming happens between file and frame.

    References
    ----------
    Scenario file keys: :data:`FIELDS` (table in ``docs/api.md``); JSON: RFC 8259.

    Examples
    --------
    >>> s = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "precision": "bf16", "engine": "vllm",
    ...      "n_devices": 1, "input_tokens": 1000, "output_tokens": 200, "provider": "aws"}
    >>> to_frame(s).columns
    ['model', 'hardware', 'precision', 'engine', 'n_devices', 'input_tokens', 'output_tokens', 'context_depth', 'price_model', 'provider', 'utilization']
    """
    import polars as pl

    body = validate(scenario)
    types = {"str": pl.String, "int": pl.Int64, "float": pl.Float64}
    cols = {c: pl.Series(c, [body[c]], dtype=types[_BY_NAME[c].type]) for c in FRAME_COLUMNS if body[c] is not None}
    return pl.DataFrame(list(cols.values()))


def catalogs(scenario: Mapping[str, Any]) -> dict:
    """The catalogs extended with the scenario's ``extra_catalogs`` files (read only), for ``evaluate(catalogs=…)``.

    Parameters
    ----------
    scenario : mapping
        The knobs.

    Returns
    -------
    dict of str to polars.DataFrame
        ``catalog.load(name, extra=path)`` for each named file (empty when none).

    Notes
    -----
    Each file is validated by :func:`infer_econ.catalog.load`; shipped files are never written.

    References
    ----------
    Scenario file keys: :data:`FIELDS` (table in ``docs/api.md``); JSON: RFC 8259.

    Examples
    --------
    >>> catalogs({"model": "m", "hardware": "h", "precision": "p", "engine": "e", "n_devices": 1,
    ...           "input_tokens": 1, "output_tokens": 1})
    {}
    """
    from . import catalog

    body = validate(scenario)
    return {name: catalog.load(name, extra=path) for name, path in (body["extra_catalogs"] or {}).items()}

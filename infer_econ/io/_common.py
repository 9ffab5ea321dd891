"""Shared pieces of the importers: the calibration schema, file reading with a
size cap, model-name mapping, id resolution and row assembly."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import InferEconError, ValidationError

#: Upload cap for a benchmark file handed to a reader [bytes].
MAX_UPLOAD_BYTES = 50_000_000

#: The calibration schema: the columns of ``measured_calibration.csv`` (and of
#: ``infer_econ.calibrate.fit``'s input), in order, with their dtypes, plus
#: ``statistic`` (which statistic of the distribution ``measured`` is: ``mean``,
#: ``median``, ``p90``, ``p99`` … for latencies, ``value`` for throughputs) and
#: ``flash_attention`` (whether the run used fused attention, where the tool
#: records it: llama-bench's ``flash_attn`` / ``fa``; null elsewhere, read as true).
CALIBRATION_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String,
    "source_group": pl.String,
    "model_id": pl.String,
    "hardware_id": pl.String,
    "gpu_cores": pl.Int64,
    "precision_id": pl.String,
    "kv_precision_id": pl.String,
    "engine_id": pl.String,
    "n_devices": pl.Int64,
    "batch_size": pl.Int64,
    "input_tokens": pl.Int64,
    "context_depth": pl.Int64,
    "output_tokens": pl.Int64,
    "request_rate_per_s": pl.Float64,
    "kind": pl.String,
    "measured": pl.Float64,
    "unit": pl.String,
    "notes_short": pl.String,
    "date": pl.String,
    "source": pl.String,
    "statistic": pl.String,
    "flash_attention": pl.Boolean,
}

#: Measurement kinds and the unit string each carries (as in measured_calibration.csv).
KIND_UNITS: dict[str, str] = {
    "offline_output_tps_total": "output tok/s (sum over all devices)",
    "offline_output_tps_per_device": "output tok/s per device",
    "decode_tps_bs1": "tok/s",
    "prefill_tps_bs1": "tok/s",
    "decode_tps_batch": "tok/s (sum over batch)",
    "prefill_tps_batch": "tok/s (sum over batch)",
    "serving_ttft_ms": "ms",
    "serving_itl_ms": "ms",
    "serving_tpot_ms": "ms",
}

#: Ids a reader needs and where they come from when the file lacks them.
ID_KEYWORDS = ("model", "hardware", "precision", "kv_precision", "engine", "n_devices")

#: Explicit model-name aliases tried before the normalization rule of
#: :func:`normalize_model_name` (lower-case name without organisation → id).
MODEL_ALIASES: dict[str, str] = {
    "meta-llama-3-8b": "llama-3-8b",
    "meta-llama-3-70b": "llama-3-70b",
    "meta-llama-3.1-8b": "llama-3.1-8b",
    "meta-llama-3.1-70b": "llama-3.1-70b",
    "meta-llama-3.1-405b": "llama-3.1-405b",
    "llama-2-7b-hf": "llama-2-7b",
    "llama-2-70b-hf": "llama-2-70b",
    "llama2-70b": "llama-2-70b",
    "llama3.1-8b": "llama-3.1-8b",
    "llama3.1-70b": "llama-3.1-70b",
    "llama3.1-405b": "llama-3.1-405b",
}

# suffixes stripped one at a time, longest first, until a catalog id matches
_SUFFIXES = (
    "-instruct", "-chat", "-hf", "-it", "-base", "-fp8-dynamic", "-fp8", "-awq", "-gptq", "-int4", "-int8",
    "-w4a16", "-w8a8", "-w8a16", "-gguf", "-q4_k_m", "-q4_k_s", "-q5_k_m", "-q6_k", "-q8_0", "-q4_0",
    "-f16", "-bf16", "-f32", "-mlx", "-turbo",
)


def read_text(path: str | Path, what: str) -> tuple[Path, str]:
    """Read a user's file as UTF-8 text, enforcing :data:`MAX_UPLOAD_BYTES`.

    Raises :class:`ValidationError` naming the file when it is missing, too large
    or not text.
    """
    p = Path(path)
    if not p.is_file():
        raise ValidationError(f"{p}: no such file ({what} expected)")
    size = p.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(f"{p}: file is {size:,} bytes; the limit for uploads is {MAX_UPLOAD_BYTES:,}")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{p}: not a UTF-8 text file ({what} expected; byte {exc.start} is invalid)") from None
    if not text.strip():
        raise ValidationError(f"{p}: file is empty ({what} expected)")
    return p, text


def parse_json(p: Path, text: str, what: str) -> Any:
    """Parse JSON (``Infinity``/``NaN`` accepted, as Python writes them)."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        msg = getattr(exc, "msg", type(exc).__name__)
        line = getattr(exc, "lineno", "?")
        raise ValidationError(f"{p}: not valid JSON at line {line} ({msg}); {what} expected") from None


def parse_json_lines(p: Path, text: str, what: str) -> list[dict]:
    """Parse a JSON file holding one object, a list of objects, or JSON lines."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        doc = None
        records = []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except (json.JSONDecodeError, RecursionError) as exc:
                msg = getattr(exc, "msg", type(exc).__name__)
                raise ValidationError(f"{p}: line {i} is not valid JSON ({msg}); {what} expected") from None
    else:
        records = doc if isinstance(doc, list) else [doc]
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise ValidationError(f"{p}: record {i} is a {type(rec).__name__}, not a JSON object; {what} expected")
    if not records:
        raise ValidationError(f"{p}: no records; {what} expected")
    return records


def number(value: Any, p: Path, field: str, *, record: int | None = None, allow_inf: bool = False) -> float:
    """Return ``value`` as a finite float (or inf where allowed), else raise naming ``field``."""
    where = f"{p}: record {record}, field {field!r}" if record else f"{p}: field {field!r}"
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"{where}: {value!r} is not a number")
    if isinstance(value, str):
        s = value.strip().lower()
        if s in ("inf", "+inf", "infinity"):
            value = math.inf
        else:
            try:
                value = float(s)
            except ValueError:
                raise ValidationError(f"{where}: {value!r} is not a number") from None
    if not isinstance(value, (int, float)):
        raise ValidationError(f"{where}: {value!r} is not a number")
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not (allow_inf and x > 0)):
        raise ValidationError(f"{where}: {value!r} is not a finite number")
    return x


def require(rec: Mapping, keys: Iterable[str], p: Path, what: str, *, record: int | None = None) -> None:
    """Raise if none of ``keys`` is in ``rec`` (naming the file and the field)."""
    keys = list(keys)
    if not any(k in rec and rec[k] is not None for k in keys):
        where = f"{p}: record {record}" if record else f"{p}"
        names = " or ".join(repr(k) for k in keys)
        raise ValidationError(f"{where}: missing field {names}; not a {what} (fields present: {sorted(map(str, rec))[:20]})")


def normalize_model_name(name: str) -> str:
    """Map a model name as tools print it to the catalog's id spelling.

    Rule: drop a leading path and organisation (``meta-llama/``), lower-case,
    turn ``_`` and spaces into ``-``, then apply :data:`MODEL_ALIASES`. Suffixes
    such as ``-Instruct`` are stripped by :func:`model_id_candidates`.

    Parameters
    ----------
    name : str
        Model name as a tool prints it (repository, path or GGUF file name).

    Returns
    -------
    str
        The normalized name (not yet checked against the catalog).

    Examples
    --------
    >>> normalize_model_name("meta-llama/Llama-3.1-8B-Instruct")
    'llama-3.1-8b-instruct'
    >>> normalize_model_name("/models/Meta-Llama-3.1-70B-Instruct-Q4_K_M.gguf")
    'llama-3.1-70b-instruct'
    """
    s = str(name).strip().replace("\\", "/").rstrip("/")
    s = s.split("/")[-1]
    s = re.sub(r"\.gguf$", "", s, flags=re.IGNORECASE)
    s = s.lower()
    s = re.sub(r"[.\-_](q\d_k(_[sml])?|q\d_\d|iq\d_\w+|f16|bf16|f32|mxfp4)$", "", s)  # GGUF file-type tag
    s = re.sub(r"[\s_]+", "-", s)
    s = re.sub(r"^meta-(?=llama)", "", s)
    return MODEL_ALIASES.get(s, s)


def model_id_candidates(name: str) -> list[str]:
    """Ids tried for ``name``, most specific first (see :func:`normalize_model_name`).

    Parameters
    ----------
    name : str
        Model name as a tool prints it.

    Returns
    -------
    list of str
        The normalized name, then one candidate per stripped suffix
        (``-instruct``, ``-chat``, quantization tags, ``-v0.3`` …).

    Examples
    --------
    >>> model_id_candidates("meta-llama/Llama-3.1-8B-Instruct")
    ['llama-3.1-8b-instruct', 'llama-3.1-8b']
    """
    s = normalize_model_name(name)
    out = [s]
    changed = True
    while changed:
        changed = False
        for suf in _SUFFIXES:
            if s.endswith(suf) and len(s) > len(suf):
                s = MODEL_ALIASES.get(s[: -len(suf)], s[: -len(suf)])
                out.append(s)
                changed = True
                break
        m = re.search(r"-v\d+(\.\d+)*$|-\d{4}$", s)  # version tags (-v0.3) and dates (-2407)
        if not changed and m and len(s) > len(m.group(0)):
            s = s[: m.start()]
            out.append(s)
            changed = True
    return list(dict.fromkeys(out))


def _models_catalog() -> pl.DataFrame | None:
    from .. import catalog

    try:
        if "models" not in catalog.names():
            return None
        return catalog.load("models")
    except (InferEconError, OSError):
        return None


def resolve_model(name: str, p: Path, models: pl.DataFrame | None = None) -> str:
    """Map a tool's model name to a models-catalog id, or raise.

    Tried in order: an exact (case-insensitive) match of the catalog's
    ``hf_repo`` or ``id``; then the ids of :func:`model_id_candidates`. With no
    models catalog available the most stripped candidate is returned.

    Parameters
    ----------
    name : str
        Model name as a tool prints it.
    p : Path
        The file it came from (named in errors).
    models : polars.DataFrame, optional
        Models catalog to match against (default: the shipped one).

    Returns
    -------
    str
        A models-catalog id.

    Raises
    ------
    ValidationError
        No candidate is a catalog id (the message lists close ids).

    Examples
    --------
    >>> from pathlib import Path
    >>> resolve_model("/models/meta-llama/Llama-3.1-70B-Instruct", Path("x.json"))
    'llama-3.1-70b'
    """
    cat = models if models is not None else _models_catalog()
    cands = model_id_candidates(name)
    if cat is None:
        return cands[-1]
    ids = cat["id"].to_list()
    low = str(name).strip().lower()
    if low in ids:
        return low
    if "hf_repo" in cat.columns:
        tail = low.rstrip("/").split("/")[-2:]
        for i, repo in zip(ids, cat["hf_repo"].to_list()):
            if repo and repo.lower().split("/")[-2:] == tail:
                return i
    for c in cands:
        if c in ids:
            return c
    close = difflib.get_close_matches(cands[-1], ids, n=5, cutoff=0.5)
    raise ValidationError(
        f"{p}: model {name!r} does not map to a models-catalog id (tried {cands}); pass model=<id>"
        + (f" (close: {close})" if close else "")
        + " or add the model with catalog.model_from_config"
    )


def missing_ids(p: Path, fmt: str, **given: Any) -> None:
    """Raise one error naming every id keyword that is still None."""
    missing = [k for k, v in given.items() if v is None]
    if missing:
        flags = ", ".join(f"{k}=…" for k in missing)
        raise ValidationError(
            f"{p}: a {fmt} file does not say {', '.join(missing)}; pass {flags} "
            f"(CLI: {' '.join('--' + k.replace('_', '-').replace('n-devices', 'devices') for k in missing)})"
        )


def check_positive_int(value: Any, name: str, p: Path, *, minimum: int = 1) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValidationError(f"{p}: {name}={value!r} must be an integer ≥ {minimum}")
    if float(value) != int(value) or int(value) < minimum:
        raise ValidationError(f"{p}: {name}={value!r} must be an integer ≥ {minimum}")
    return int(value)


def build_frame(rows: list[dict], p: Path, fmt: str) -> pl.DataFrame:
    """Assemble reader rows into a frame in :data:`CALIBRATION_SCHEMA`.

    Ids are ``<file stem>-<6 hex digits of the file's absolute path hash>-NNNN``,
    unique across files that share a name (``profile_export_aiperf.json`` in
    several run folders).
    """
    import hashlib

    if not rows:
        raise ValidationError(f"{p}: no measurement a {fmt} reader can use was found")
    tag = hashlib.sha1(str(p.resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:6]
    out = []
    for i, r in enumerate(rows, start=1):
        row = {c: r.get(c) for c in CALIBRATION_SCHEMA}
        row["id"] = f"{p.stem}-{tag}-{i:04d}"
        row["unit"] = KIND_UNITS[row["kind"]]
        out.append(row)
    return pl.DataFrame(out, schema=CALIBRATION_SCHEMA)


def int_or_none(x: float | None) -> int | None:
    return None if x is None else int(round(x))


_HW_NOISE = {"nvidia", "geforce", "tesla", "amd", "radeon", "intel", "graphics", "gpu", "generation", "(tm)", "apple"}


def _hw_tokens(text: str) -> set[str]:
    toks = set(re.split(r"[\s/(),_-]+", str(text).lower())) - {""}
    return toks - _HW_NOISE


def resolve_hardware(device_name: str, p: Path, hardware: pl.DataFrame | None = None) -> str:
    """Map a device name as drivers print it (``NVIDIA GeForce RTX 4090``) to a hardware-catalog id.

    The name's words (without vendor words such as NVIDIA, GeForce, Tesla)
    must all appear in exactly one catalog row's ``name`` or ``id``; when
    several rows fit (``NVIDIA H200``: SXM or NVL; ``Apple M2 Max``: 30 or 38
    GPU cores) nothing is guessed.

    Parameters
    ----------
    device_name : str
        The driver's device name (``nvidia-smi``, llama-bench ``gpu_info``,
        AIPerf telemetry ``gpu_name``).
    p : Path
        The file it came from (named in errors).
    hardware : polars.DataFrame, optional
        Hardware catalog to match against (default: the shipped one).

    Returns
    -------
    str
        A hardware-catalog id.

    Raises
    ------
    ValidationError
        No row or several rows fit; the message lists the candidates and asks
        for ``hardware=``.

    Examples
    --------
    >>> from pathlib import Path
    >>> resolve_hardware("NVIDIA GeForce RTX 4090", Path("x.json"))
    'rtx-4090'
    >>> resolve_hardware("NVIDIA A100-SXM4-80GB", Path("x.json"))
    'a100-sxm-80gb'
    """
    from .. import catalog

    cat = hardware if hardware is not None else catalog.load("hardware")
    want = _hw_tokens(device_name)
    if not want:
        raise ValidationError(f"{p}: device name {device_name!r} names no device; pass hardware=<id>")
    fits = [i for i, n in zip(cat["id"].to_list(), cat["name"].to_list())
            if want <= (_hw_tokens(n) | _hw_tokens(i) | {t.replace("gb", "") for t in _hw_tokens(n)})]
    if len(fits) == 1:
        return fits[0]
    what = f"fits several hardware ids {fits}" if fits else "fits no hardware id"
    raise ValidationError(f"{p}: device {device_name!r} {what}; pass hardware=<id>")

"""Fit the estimator's efficiency parameters to measurements, and check it against them.

A measurement is one published figure with its full configuration (model,
hardware, precision, engine, devices, batch, token counts) and its ``kind``:

=============================== ========================================================
kind                            what is compared (from :func:`infer_econ.perf.estimate`)
=============================== ========================================================
offline_output_tps_total        ``output_tokens_per_s`` at ``batch_size`` null (engine picks)
offline_output_tps_per_device   the same divided by ``n_devices``
closed_loop_output_tps_total    ``output_tokens_per_s`` at ``batch_size`` = the benchmark's fixed
                                concurrency (closed loop: a new request as soon as one ends)
decode_tps_bs1                  ``decode_tokens_per_s`` at batch 1 (``1 / tpot_s``)
decode_tps_batch                ``decode_tokens_per_s`` at ``batch_size``
prefill_tps_bs1                 ``prefill_tokens_per_s`` at batch 1
prefill_tps_batch               ``prefill_tokens_per_s`` at ``batch_size``
serving_ttft_ms / itl / tpot    latencies under a request rate: the serving model's job
                                (:mod:`infer_econ.serving`); not used here
=============================== ========================================================

:func:`fit` fits, per engine and hardware family, the four parameters that
set achieved speed (``prefill_compute_efficiency``,
``decode_bandwidth_efficiency``, ``decode_compute_efficiency``,
``step_overhead_s``) by robust least squares on the log ratio of predicted
to measured, with a hierarchy of priors: the ``(*, *)`` row is fitted to all
measurements, ``(engine, *)`` and ``(*, family)`` rows to theirs while pulled
toward ``(*, *)``, and ``(engine, family)`` rows toward ``(engine, *)``. A
group with few rows thus stays near its parent, a family with none falls
back to it, and every efficiency stays inside its physical bounds (0, 1].

:func:`validation_report` compares predictions with measurements per kind,
engine and family and, optionally, by leave-one-hardware-family-out
cross-validation: refit without a family, predict it, so the error is honest
about chips the parameters were not fitted on.

References
----------
- Huber, "Robust Estimation of a Location Parameter", 1964 (the soft-L1 loss).
- Branch, Coleman, Li, "A subspace, interior, and conjugate gradient method
  for large-scale bound-constrained minimization", SIAM J. Sci. Comput. 1999
  (scipy's ``trf`` least-squares method).
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import polars as pl

from . import perf
from .errors import ValidationError

__all__ = [
    "KINDS",
    "FIT_KINDS",
    "FITTED_PARAMETERS",
    "CATEGORY_PREFIX",
    "CATEGORY_ROWS",
    "normalize_measurements",
    "measurements",
    "predict",
    "fit",
    "error_summary",
    "cross_validate",
    "validation_report",
    "format_report",
    "validation_chart",
]

#: every measurement kind and the estimator column it is compared with
KINDS = {
    "offline_output_tps_total": "output_tokens_per_s",
    "offline_output_tps_per_device": "output_tokens_per_s",
    "closed_loop_output_tps_total": "output_tokens_per_s",
    "decode_tps_bs1": "decode_tokens_per_s",
    "decode_tps_batch": "decode_tokens_per_s",
    "prefill_tps_bs1": "prefill_tokens_per_s",
    "prefill_tps_batch": "prefill_tokens_per_s",
    "serving_ttft_ms": None,
    "serving_itl_ms": None,
    "serving_tpot_ms": None,
}
#: kinds the performance fit and report use (serving rows belong to the serving model)
FIT_KINDS = [k for k, v in KINDS.items() if v is not None]
#: parameters :func:`fit` fits; the others in ``data/efficiency.csv`` are carried from the prior
FITTED_PARAMETERS = [
    "prefill_compute_efficiency",
    "decode_bandwidth_efficiency",
    "decode_compute_efficiency",
    "attention_efficiency",
    "step_overhead_s",
    "step_overhead_per_sequence_s",
]
_BOUNDS = {  # physical bounds of each fitted parameter
    "prefill_compute_efficiency": (0.02, 1.0),
    "decode_bandwidth_efficiency": (0.05, 1.0),
    "decode_compute_efficiency": (0.02, 1.0),
    "attention_efficiency": (0.02, 1.0),
    "step_overhead_s": (1e-5, 0.003),
    # CPU-side work per sequence per step (scheduling, sampling, logits): 7-34 µs where fitted on TensorRT-LLM; with
    # 200 µs allowed, the MI300X batch sweeps turned it into 97 µs, standing in for the skinny-GEMM knee the model
    # has no term for, and that doubled the step-time growth of DeepSeek-R1 under load on the same chips
    "step_overhead_per_sequence_s": (1e-8, 5e-5),
}
#: prefix of an efficiency row keyed on a hardware category instead of a family (``*/category:cpu``)
CATEGORY_PREFIX = "category:"
#: hardware categories :func:`fit` gives rows of their own by default (see its ``categories``)
CATEGORY_ROWS = ("cpu",)
_COLUMNS = [
    "id", "model", "hardware", "precision", "kv_precision", "engine", "n_devices", "tensor_parallel",
    "pipeline_parallel", "batch_size", "input_tokens", "context_depth", "output_tokens", "request_rate_per_s",
    "kind", "measured", "unit", "use_in_fit", "continuous_batching", "flash_attention",
    "grouped_kv_attention",
]
_INT = ["n_devices", "tensor_parallel", "pipeline_parallel", "batch_size", "input_tokens", "context_depth",
        "output_tokens"]


# --------------------------------------------------------------------------------------------
# measurements


def _booleans(frame: pl.DataFrame, name: str) -> pl.Series:
    """Column ``name`` as booleans: booleans already, or CSV text read as the catalogs read it (empty = null).

    Raises
    ------
    ValidationError
        Naming the first measurement ``id`` whose value is anything else.
    """
    from .catalog import _booleans_from_text

    col = frame[name]
    if col.dtype in (pl.Boolean, pl.Null):
        return col.cast(pl.Boolean)
    text = col.cast(pl.String).str.strip_chars()
    out = _booleans_from_text(text)
    bad = (text.is_not_null() & (text != "") & out.is_null()).fill_null(False)
    if bad.any():
        i = bad.arg_true()[0]
        raise ValidationError(f"measurements: {name} of {frame['id'][i]!r} is {col[i]!r}; "
                              "expected true, false (1, 0, yes, no) or empty")
    return out.alias(name)


def normalize_measurements(frame: pl.DataFrame) -> pl.DataFrame:
    """Bring measurements into the project's schema (that of ``data/measured_performance.csv``).

    Accepts either that schema or the schema of the reference compilation
    ``measured_calibration.csv`` (``model_id``, ``hardware_id``,
    ``gpu_cores``, ``precision_id``, ``kv_precision_id``, ``engine_id``,
    ``notes_short`` …), converting as follows:

    - Apple chips: ``hardware_id`` + ``gpu_cores`` → ``apple-<chip>-<cores>c``
      (the hardware catalog has one row per GPU-core variant);
    - ``tensor_parallel`` / ``pipeline_parallel`` from ``TPn`` / ``PPn``
      tokens in ``notes_short`` (``TP2 x 4 instances`` = TP 2, 4 replicas);
    - decode rows whose ``context_depth`` equals ``input_tokens`` (llama.cpp
      bench tools report the prompt as depth) get depth 0, so decoding starts
      after ``input_tokens`` as the estimator's convention says.

    Examples
    --------
    >>> raw = pl.DataFrame({"id": ["x1"], "model_id": ["llama-2-7b"], "hardware_id": ["apple-m1-pro"],
    ...     "gpu_cores": ["14"], "precision_id": ["q4_0"], "kv_precision_id": ["fp16"],
    ...     "engine_id": ["llama.cpp"], "n_devices": ["1"], "batch_size": ["1"], "input_tokens": ["0"],
    ...     "context_depth": ["0"], "output_tokens": ["128"], "request_rate_per_s": [None],
    ...     "kind": ["decode_tps_bs1"], "measured": ["35.5"], "unit": ["tok/s"], "notes_short": [None]})
    >>> normalize_measurements(raw).select("hardware", "kind", "measured").row(0)
    ('apple-m1-pro-14c', 'decode_tps_bs1', 35.5)
    """
    if not isinstance(frame, pl.DataFrame):
        raise ValidationError(f"measurements must be a polars DataFrame, got {type(frame).__name__}")
    f = frame
    if "model_id" in f.columns:  # the reference compilation's schema
        need = ["model_id", "hardware_id", "precision_id", "engine_id", "n_devices", "kind", "measured"]
        missing = [c for c in need if c not in f.columns]
        if missing:
            raise ValidationError(f"measurements lack column(s) {missing}")
        notes = pl.col("notes_short").cast(pl.String) if "notes_short" in f.columns else pl.lit(None, pl.String)
        cores = pl.col("gpu_cores").cast(pl.String) if "gpu_cores" in f.columns else pl.lit(None, pl.String)
        f = f.with_columns(
            pl.when(pl.col("hardware_id").str.starts_with("apple-") & cores.is_not_null())
            .then(pl.col("hardware_id") + "-" + cores.str.replace(r"\.0$", "") + "c")
            .otherwise(pl.col("hardware_id"))
            .alias("hardware"),
            pl.col("model_id").alias("model"),
            pl.col("precision_id").alias("precision"),
            (pl.col("kv_precision_id") if "kv_precision_id" in f.columns else pl.lit(None, pl.String)).alias(
                "kv_precision"
            ),
            pl.col("engine_id").alias("engine"),
            notes.str.extract(r"\bTP(\d+)\b").alias("tensor_parallel"),
            notes.str.extract(r"\bPP(\d+)\b").alias("pipeline_parallel"),
        )
    for c in _COLUMNS:
        if c not in f.columns:
            if c in ("id", "model", "hardware", "precision", "engine", "n_devices", "kind", "measured"):
                raise ValidationError(f"measurements lack column {c!r}")
            f = f.with_columns(pl.lit(None, pl.String).alias(c))
    f = f.with_columns(_booleans(f, "continuous_batching"), _booleans(f, "flash_attention"),
                       _booleans(f, "grouped_kv_attention"))
    f = f.with_columns(
        pl.col("use_in_fit").cast(pl.String).str.to_lowercase().is_in(["false", "0", "no"]).fill_null(False).not_()
        .alias("use_in_fit"),
        *(pl.col(c).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False).cast(pl.Int64) for c in _INT),
        pl.col("measured").cast(pl.String).cast(pl.Float64, strict=False),
        pl.col("request_rate_per_s").cast(pl.String).cast(pl.Float64, strict=False),
        *(pl.col(c).cast(pl.String) for c in ("id", "model", "hardware", "precision", "kv_precision", "engine",
                                              "kind", "unit")),
    )
    bad_kind = sorted(set(f["kind"].drop_nulls().to_list()) - set(KINDS))
    if bad_kind:
        raise ValidationError(f"measurements: unknown kind(s) {bad_kind}; valid: {list(KINDS)}")
    decode = pl.col("kind").str.starts_with("decode_")
    f = f.with_columns(
        pl.when(decode & (pl.col("context_depth") == pl.col("input_tokens")))
        .then(0)
        .otherwise(pl.col("context_depth"))
        .alias("context_depth")
    )
    extra = [c for c in frame.columns if c in ("source", "source_detail", "as_of", "notes")]
    return f.select(*_COLUMNS, *[c for c in extra if c not in _COLUMNS])


def measurements(path: str | Path | None = None) -> pl.DataFrame:
    """The shipped measurements (``data/measured_performance.csv``), or a CSV file's, normalized.

    Examples
    --------
    >>> m = measurements()
    >>> sorted(set(m["kind"])) == sorted(set(m["kind"]) & set(KINDS))
    True
    """
    from . import catalog

    if path is None:
        frame = catalog.load("measured_performance")
    else:
        from .io._common import MAX_UPLOAD_BYTES

        p = Path(path)
        if not p.is_file():
            raise ValidationError(f"{p}: no such file")
        if p.stat().st_size > MAX_UPLOAD_BYTES:
            raise ValidationError(f"{p}: file is {p.stat().st_size:,} bytes; the limit for uploads is {MAX_UPLOAD_BYTES:,}")
        try:
            frame = pl.read_csv(p, infer_schema=False)
        except Exception as exc:  # polars raises several types for malformed CSV
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ValidationError(f"{p}: not a readable measurements CSV ({msg})") from None
        try:
            return normalize_measurements(frame)
        except ValidationError as exc:
            raise ValidationError(f"{p}: {exc}") from None
    return normalize_measurements(frame)


def _scenarios(meas: pl.DataFrame) -> pl.DataFrame:
    """Estimator inputs for each measurement of a fit kind (one row each, same order)."""
    k = pl.col("kind")
    bs1 = k.str.ends_with("_bs1")
    offline = k.str.starts_with("offline_")
    return meas.select(
        "id",
        "kind",
        "measured",
        "model",
        "hardware",
        "precision",
        "kv_precision",
        "engine",
        "n_devices",
        "tensor_parallel",
        "pipeline_parallel",
        pl.when(offline).then(None).when(bs1).then(1).otherwise(pl.col("batch_size")).cast(pl.Int64).alias(
            "batch_size"
        ),
        pl.col("input_tokens").fill_null(0).clip(lower_bound=1).alias("input_tokens"),
        pl.col("output_tokens").fill_null(0).clip(lower_bound=1).alias("output_tokens"),
        pl.col("context_depth").fill_null(0).alias("context_depth"),
        "continuous_batching",
        "flash_attention",
        "grouped_kv_attention",
    )


def _usable(meas: pl.DataFrame) -> pl.DataFrame:
    """Rows the performance model can be compared with: a fit kind, known token counts, a batch where needed."""
    return meas.filter(
        pl.col("kind").is_in(FIT_KINDS),
        pl.col("batch_size").is_not_null() | ~pl.col("kind").str.starts_with("closed_loop"),
        pl.col("measured").is_finite() & (pl.col("measured") > 0),  # NaN compares above 0 in polars
        pl.col("input_tokens").is_not_null() | pl.col("kind").str.starts_with("decode_"),
        pl.col("output_tokens").is_not_null() | pl.col("kind").str.starts_with("prefill_"),
        ~pl.col("kind").str.ends_with("_batch") | pl.col("batch_size").is_not_null(),
    )


def _predicted_expr() -> pl.Expr:
    k = pl.col("kind")
    return (
        pl.when(k == "offline_output_tps_per_device")
        .then(pl.col("output_tokens_per_s") / pl.col("n_devices"))
        .when(k.str.starts_with("offline_") | k.str.starts_with("closed_loop"))
        .then(pl.col("output_tokens_per_s"))
        .when(k.str.starts_with("decode_"))
        .then(pl.col("decode_tokens_per_s"))
        .otherwise(pl.col("prefill_tokens_per_s"))
        .alias("predicted")
    )


def _with_errors(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        ((pl.col("predicted") / pl.col("measured") - 1.0) * 100.0).alias("error_pct"),
    ).with_columns(pl.col("error_pct").abs().alias("abs_error_pct"))


def _known_ids(catalogs: dict) -> pl.Expr:
    """Rows whose model, hardware, precision, engine and KV precision are all in the catalogs."""
    from . import catalog

    def ids(name: str, key: str) -> list[str]:
        frame = catalogs.get(key) if catalogs.get(key) is not None else catalog.load(name)
        return frame["id"].to_list()

    prec = ids("precisions", "precisions")
    return (
        pl.col("model").is_in(ids("models", "models"))
        & pl.col("hardware").is_in(ids("hardware", "hardware"))
        & pl.col("precision").is_in(prec)
        & pl.col("engine").is_in(ids("engines", "engines"))
        & (pl.col("kv_precision").is_null() | pl.col("kv_precision").is_in(prec))
    )


def predict(
    meas: pl.DataFrame | None = None,
    efficiency: pl.DataFrame | None = None,
    *,
    unknown: str = "skip",
    **catalogs: pl.DataFrame,
) -> pl.DataFrame:
    """Predicted value of every usable measurement, with its error.

    Parameters
    ----------
    meas : polars.DataFrame, optional
        Measurements (either schema :func:`normalize_measurements` accepts);
        default the shipped ones.
    efficiency : polars.DataFrame, optional
        Efficiency parameters; default ``data/efficiency.csv``.
    unknown : {"skip", "raise"}
        Rows naming an id that is not in the catalogs (a chip or model you
        have not added): left out (``skip``, default; add them with
        ``hardware=catalog.load("hardware", extra=...)``) or an
        :class:`~infer_econ.errors.UnknownIdError` (``raise``).
    **catalogs
        ``models=``, ``hardware=``, ``precisions=``, ``engines=`` frames for
        :func:`infer_econ.perf.estimate`.

    Returns
    -------
    polars.DataFrame
        The measurement columns plus ``family`` (of the hardware),
        ``predicted``, ``error_pct`` (predicted / measured − 1, in %),
        ``abs_error_pct``, ``fits`` and ``limit``. Serving kinds and rows
        without the token counts their kind needs are left out.

    Examples
    --------
    >>> p = predict()
    >>> bool((p["abs_error_pct"].median() < 30))
    True
    """
    meas = normalize_measurements(meas) if meas is not None else measurements()
    use = _usable(meas)
    if unknown == "skip":
        use = use.filter(_known_ids(catalogs))
    elif unknown != "raise":
        raise ValidationError(f"unknown={unknown!r}: use 'skip' or 'raise'")
    sc = _scenarios(use)
    est = perf.estimate(sc, efficiency=efficiency, **catalogs)
    from . import catalog

    hw = catalogs.get("hardware") if catalogs.get("hardware") is not None else catalog.load("hardware")
    fam = hw.select(pl.col("id").alias("hardware"), "family")
    out = use.select(_COLUMNS).with_columns(
        est.select(_predicted_expr())["predicted"], est["fits"], est["limit"].cast(pl.String)
    )
    return _with_errors(out.join(fam, on="hardware", how="left", maintain_order="left"))


# --------------------------------------------------------------------------------------------
# fitting


def _to_unit(name: str, value: float) -> float:
    import math

    lo, hi = _BOUNDS[name]
    value = min(max(value, lo * 1.0001), hi * 0.9999)
    return math.log((value - lo) / (hi - value))


def _from_unit(name: str, x: float) -> float:
    import math

    lo, hi = _BOUNDS[name]
    return lo + (hi - lo) / (1.0 + math.exp(-x))


class _Problem:
    """The joined measurement frame of one group, ready for repeated evaluation."""

    def __init__(self, sc: pl.DataFrame, tables: dict, fixed: dict):
        lf = perf._with_defaults(sc.lazy(), sc.schema)
        joined = perf._join(lf, tables).collect()
        self.columns = list(sc.columns)
        # rows the estimator cannot predict (unsupported, not fitting) carry no information: leave them out
        ok = perf._core(joined.lazy(), self.columns).select(_predicted_expr().is_not_null()).collect().to_series()
        self.joined = joined.filter(ok)
        self.kind = sc["kind"].filter(ok)
        self.measured = sc["measured"].filter(ok).to_numpy()
        self.n = self.joined.height
        self.fixed = fixed

    def log_errors(self, params: dict, log_measured=None) -> "object":
        """``log(predicted / measured)`` per row (a row predicted at nothing counts as 1e-9)."""
        import numpy as np

        logm = np.log(self.measured) if log_measured is None else log_measured
        return np.log(np.clip(np.nan_to_num(self.predict(params), nan=1e-9), 1e-9, None)) - logm

    def predict(self, params: dict) -> "object":
        import numpy as np

        names = {
            "prefill_compute_efficiency": "_c_eff_pf",
            "decode_bandwidth_efficiency": "_c_eff_bw",
            "decode_compute_efficiency": "_c_eff_dc",
            "step_overhead_s": "_c_step",
            "step_overhead_per_sequence_s": "_c_step_seq",
            "attention_efficiency": "_c_attn_eff",
        }
        j = self.joined.with_columns(pl.lit(float(v)).alias(names[k]) for k, v in params.items())
        est = perf._core(j.lazy(), self.columns).select(_predicted_expr()).collect()
        return est["predicted"].to_numpy().astype(float) if est.height else np.array([])


#: measurement kinds that inform each fitted parameter
_INFORMED_BY = {
    "prefill_compute_efficiency": ("prefill_tps_bs1", "prefill_tps_batch", "offline_output_tps_total",
                                   "offline_output_tps_per_device", "closed_loop_output_tps_total"),
    "decode_bandwidth_efficiency": ("decode_tps_bs1", "decode_tps_batch", "offline_output_tps_total",
                                    "offline_output_tps_per_device", "closed_loop_output_tps_total"),
    "decode_compute_efficiency": ("decode_tps_batch", "offline_output_tps_total", "offline_output_tps_per_device",
                                  "closed_loop_output_tps_total"),
    "step_overhead_s": ("decode_tps_bs1", "decode_tps_batch"),
    "attention_efficiency": ("prefill_tps_bs1", "prefill_tps_batch", "offline_output_tps_total",
                             "offline_output_tps_per_device", "closed_loop_output_tps_total"),
    "step_overhead_per_sequence_s": ("decode_tps_batch", "offline_output_tps_total", "offline_output_tps_per_device",
                                     "closed_loop_output_tps_total"),
}


#: parameters whose meaning depends on the peak an engine's kernels are measured against
_COMPUTE_PARAMETERS = tuple(perf.COMPUTE_PARAMETERS)


def _free_parameters(kinds: pl.Series, min_rows: int = 3) -> list[str]:
    """Parameters the group's measurement kinds inform; the others stay at the parent's value."""
    counts = kinds.value_counts()
    have = dict(zip(counts[counts.columns[0]].to_list(), counts["count"].to_list()))
    return [p for p in FITTED_PARAMETERS if sum(have.get(k, 0) for k in _INFORMED_BY[p]) >= min_rows]


def _fit_group(problem: _Problem, start: dict, prior: dict, weight: float, max_nfev: int,
               hold: dict | None = None) -> tuple[dict, float]:
    """Fit the group's free parameters; ``hold`` fixes some at the given values (fitted on other rows)."""
    import numpy as np
    from scipy.optimize import least_squares

    free = [p for p in _free_parameters(problem.kind) if p not in (hold or {})]
    fixed = {**{p: prior[p] for p in FITTED_PARAMETERS if p not in free}, **(hold or {})}
    logm = np.log(problem.measured)

    def params_of(x: np.ndarray) -> dict:
        return {**fixed, **{p: _from_unit(p, v) for p, v in zip(free, x)}}

    def errors(params: dict) -> np.ndarray:
        return problem.log_errors(params, logm)

    if not free:
        params = dict(fixed)
    else:
        # start inside the box: at a bound the logit's gradient vanishes
        x0 = np.clip(np.array([_to_unit(p, start[p]) for p in free]), -4.0, 4.0)
        xp = np.array([_to_unit(p, prior[p]) for p in free])
        res = least_squares(
            lambda x: np.concatenate([errors(params_of(x)), weight * (x - xp)]),
            x0, loss="soft_l1", f_scale=0.15, max_nfev=max_nfev, diff_step=1e-3,
        )
        params = params_of(res.x)
    return params, _median_ape(errors(params))


def _median_ape(log_errors) -> float:
    """Median absolute percentage error from ``log(predicted / measured)`` [%] (NaN for no rows)."""
    import numpy as np

    ape = np.abs(np.exp(log_errors) - 1.0) * 100.0
    return float(np.nanmedian(ape)) if len(ape) else float("nan")


#: hardware families an engine's measurements must span for an ``(engine, *)`` row of its own
MIN_ENGINE_FAMILIES = 2


def _on_native_peak(sc: pl.DataFrame, special: dict[str, str], hw: pl.DataFrame, catalogs: dict) -> pl.Series:
    """Rows whose engine's ``peak_column`` is the precision's own peak on their chip (or absent from it).

    Such a row measures its compute shares against the peak any engine would run at (llama.cpp on an Apple
    GPU, whose int8 and 16-bit figures are one number), so it can inform the wildcard-engine rows.
    """
    from . import catalog

    if not special:
        return pl.Series([False] * sc.height)
    precisions = catalogs.get("precisions") if catalogs.get("precisions") is not None else catalog.load("precisions")
    native = perf.peak_tflops(hw, precisions)
    cols = sorted(set(special.values()) & set(hw.columns))
    chips = hw.select(pl.col("id").alias("hardware"), *[pl.col(c).cast(pl.Float64).alias(f"_pc_{c}") for c in cols])
    rows = sc.select("hardware", "precision", "engine").join(native, on=["hardware", "precision"], how="left",
                                                            maintain_order="left")
    rows = rows.join(chips, on="hardware", how="left", maintain_order="left")
    own = pl.lit(None, pl.Float64)
    for e, c in special.items():
        if c in cols:
            own = pl.when(pl.col("engine") == e).then(pl.col(f"_pc_{c}")).otherwise(own)
    same = own.is_null() | ((own - pl.col("peak_tflops")).abs() <= 1e-9 * pl.col("peak_tflops").abs())
    return rows.select((pl.col("engine").is_in(list(special)) & same).fill_null(False)).to_series()


def _on_engine_peak(sub: pl.DataFrame, engine: str, column: str | None, prior: pl.DataFrame,
                    hw: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``sub`` whose kernels run on the engine-wide row's ``peak_column``.

    Those whose chip has a value in that column and whose resolved row (:func:`infer_econ.perf.resolve_efficiency`
    on ``prior``) names the same column: an ``(engine, category)`` row may name another (llama.cpp on CPUs:
    ``fp32_tflops``), and a chip without the column runs on its native peak. All rows where ``column`` is null.
    """
    if not column or column not in hw.columns:
        return sub
    res = perf.resolve_efficiency(prior, pl.DataFrame({"id": [engine]}), hw)
    ok = res.join(hw.select(pl.col("id").alias("hardware"), pl.col(column).alias("_peak")), on="hardware").filter(
        (pl.col("peak_column") == column) & pl.col("_peak").is_not_null())["hardware"]
    return sub.filter(pl.col("hardware").is_in(ok.implode()))


def fit(
    meas: pl.DataFrame,
    *,
    prior: pl.DataFrame | None = None,
    min_rows: int = 8,
    prior_weight: float = 0.5,
    max_nfev: int = 60,
    label: str = "measurements",
    categories: tuple[str, ...] = CATEGORY_ROWS,
    **catalogs: pl.DataFrame,
) -> pl.DataFrame:
    """Fit efficiency parameters per engine and hardware family to measurements.

    Parameters
    ----------
    meas : polars.DataFrame
        Measurements in the schema of ``data/measured_performance.csv`` or of
        the reference ``measured_calibration.csv`` (see
        :func:`normalize_measurements`). Serving kinds are ignored.
    prior : polars.DataFrame, optional
        Efficiency frame the fit starts from and takes the parameters it does
        not fit from (all-reduce latency and bandwidth efficiency, workspace
        tokens); default ``data/efficiency.csv``.
    min_rows : int
        Fewest measurements a group needs for its own row; groups with fewer
        fall back to their parent row.
    prior_weight : float
        Strength of the pull toward the parent row, in units of the log error
        of one measurement per unit of logit distance.
    max_nfev : int
        Residual evaluations per group.
    label : str
        Name of the measurement set, written into ``source_detail``.
    categories : tuple of str
        Hardware categories (the ``category`` column of ``hardware.csv``)
        that get rows of their own (``category:<category>``), for the
        families of that category no measurement names. Default
        :data:`CATEGORY_ROWS` (``cpu``): a CPU runs on other units than any
        GPU, so an unmeasured CPU should get what other CPUs reached; GPU
        market segments share their families' architectures, which the
        family rows already key on (fitting ``datacenter`` / ``consumer`` /
        ``workstation`` rows too moved the leave-one-family-out median from
        18.3 % to 18.9 %).
    **catalogs
        ``models=``, ``hardware=``, ``precisions=``, ``engines=`` frames.

    Returns
    -------
    polars.DataFrame
        In the schema of ``data/efficiency.csv``: the ``(*, *)`` row, a row
        per engine, per family, per hardware category (``hardware_family`` =
        ``category:<category>``, e.g. ``category:cpu``), per (engine,
        category) and per (engine, family) with at least ``min_rows``
        measurements, with ``n_measurements`` and the group's
        ``median_abs_pct_error``. Pass it as ``estimate(..., efficiency=...)``.

    Notes
    -----
    Minimizes ``Σ ρ(log(predicted / measured)) + w² Σ (θ − θ_parent)²`` with
    the soft-L1 ``ρ`` (scale 0.15, i.e. about 15 % errors are quadratic,
    larger ones count linearly, so a few odd rows do not drag the fit) over
    logit-transformed parameters ``θ`` that keep each one inside its physical
    bounds (efficiencies in (0, 1], step overhead 1 µs – 50 ms).

    The wildcard-engine rows are fitted on the rows whose kernels run at the
    precision's own peak: every engine without a ``peak_column``, and an
    engine with one on the chips where that column is the native peak or
    absent (:func:`_on_native_peak`).

    Hierarchy (parent = the row a group is pulled toward): ``(engine, *)``,
    ``(*, family)`` and ``(*, category)`` toward ``(*, *)``; ``(engine,
    category)`` and ``(engine, family)`` toward ``(engine, *)``, with their
    compute shares toward the wildcard-engine row of the same category /
    family where the chips lack the engine's ``peak_column``. A category row
    is what :func:`infer_econ.perf.resolve_efficiency` falls back to for a
    family without rows of its own (a CPU that was never measured gets what
    other CPUs reached, not GPU figures). An engine measured on fewer than
    :data:`MIN_ENGINE_FAMILIES` families gets an ``(engine, *)`` row with the
    ``(*, *)`` values (and its own settings): on one family the engine's share
    and the chip's cannot be told apart, so its ``(engine, family)`` row is
    pulled toward ``(*, *)`` and other chips keep the shared parameters (vLLM
    measured on MI300X only must not slow vLLM down on every other chip);
    where the engine's prior row names a ``peak_column``, its compute shares
    are of that peak, not of the native one the ``(*, *)`` shares are of, so
    that row keeps the prior's compute shares.

    Examples
    --------
    >>> m = measurements()
    >>> small = m.filter(pl.col("engine") == "llama.cpp", pl.col("kind") == "decode_tps_bs1").head(40)
    >>> params = fit(small, max_nfev=10, min_rows=1000)
    >>> params.select("engine", "hardware_family").row(0)
    ('*', '*')
    >>> bool(0 < params["decode_bandwidth_efficiency"][0] <= 1)
    True
    """
    from . import catalog

    if isinstance(max_nfev, bool) or not isinstance(max_nfev, int) or max_nfev < 1:
        raise ValidationError(f"fit: max_nfev must be a whole number ≥ 1 (model evaluations), got {max_nfev!r}")
    meas = normalize_measurements(meas)
    use = _usable(meas).filter(pl.col("use_in_fit"))
    if use.height == 0:
        raise ValidationError("fit: no usable measurements (need kinds " + ", ".join(FIT_KINDS) + ")")
    prior = prior if prior is not None else catalog.load("efficiency")
    hw = catalogs.get("hardware") if catalogs.get("hardware") is not None else catalog.load("hardware")
    sc = _scenarios(use)
    perf.estimate(sc, efficiency=prior, **catalogs)  # validates ids and numbers once, with clear errors
    tables = perf._tables(catalogs.get("models"), catalogs.get("hardware"), catalogs.get("precisions"),
                          catalogs.get("engines"), prior)
    fam = hw.select(pl.col("id").alias("hardware"), pl.col("family").alias("_family"),
                    pl.col("category").cast(pl.String).alias("_category"))
    sc = sc.join(fam, on="hardware", how="left", maintain_order="left")

    def prior_row(engine: str, family: str | None, category: str | None = None) -> dict:
        res = perf.resolve_efficiency(prior, pl.DataFrame({"id": [engine]}), pl.DataFrame(
            {"id": ["_x"], "family": [family], "category": [category]}, schema={"id": pl.String,
                                                                               "family": pl.String,
                                                                               "category": pl.String}))
        return res.row(0, named=True)

    base = prior_row("*", "*")
    fixed = {p: base[p] for p in perf.EFFICIENCY_PARAMETERS if p not in FITTED_PARAMETERS}
    rows: list[dict] = []

    def run(subset: pl.DataFrame, start: dict, parent: dict, weight: float,
            hold: dict | None = None) -> tuple[dict, float]:
        problem = _Problem(subset.drop("_family", "_category"), tables, fixed)
        return _fit_group(problem, start, parent, weight, max_nfev, hold)

    def score(subset: pl.DataFrame, params: dict) -> float:
        """Median absolute error [%] of ``params`` on ``subset``."""
        return _median_ape(_Problem(subset.drop("_family", "_category"), tables, fixed).log_errors(params))

    def record(engine: str, family: str, params: dict, n: int, err: float, fixed_from: dict) -> None:
        rows.append({
            "id": f"{engine}/{family}", "engine": engine, "hardware_family": family, **params,
            **{p: fixed_from[p] for p in perf.EFFICIENCY_PARAMETERS if p not in FITTED_PARAMETERS},
            **{p: fixed_from[p] for p in perf.EFFICIENCY_SETTINGS},
            "n_measurements": n, "median_abs_pct_error": round(err, 2),
        })

    # wildcard-engine rows stand in for engines without measurements, so they are fitted on rows whose kernels
    # run on the precision's own peak: an engine with a peak_column override (llama.cpp's int8 MMQ path)
    # measures efficiency against a different peak, except on chips where that column is the native peak
    # (Apple GPUs: int8 = 16-bit) or absent
    special = {e: prior_row(e, "*").get("peak_column") for e in sc["engine"].unique().to_list()}
    special = {e: col for e, col in special.items() if col}
    generic = sc.filter(~pl.col("engine").is_in(list(special)) | _on_native_peak(sc, special, hw, catalogs))
    if generic.height < min_rows:
        generic = sc
    start = {p: base[p] for p in FITTED_PARAMETERS}
    top, top_err = run(generic, start, start, 0.05)
    if generic.height < sc.height:
        # bandwidth efficiency and step overheads mean the same for every engine: fit them on all rows
        # (batch-1 decode, which pins them down, may come from other engines than the offline runs)
        shared, _ = run(sc, top, top, 0.05)
        top.update({p: shared[p] for p in FITTED_PARAMETERS if p not in _COMPUTE_PARAMETERS})
    record("*", "*", top, generic.height, top_err, base)
    engine_params = {}
    for (engine,), sub in sorted(sc.group_by(["engine"]), key=lambda g: g[0]):
        if sub.height < min_rows:
            continue
        pr = prior_row(engine, "*")
        if sub["_family"].n_unique() < MIN_ENGINE_FAMILIES:
            # measured on one chip family only: what is the engine's and what is the chip's cannot be told
            # apart, so its (engine, *) row keeps the shared (*, *) values (other chips get them, with the
            # engine's own settings) and its (engine, family) row below is pulled toward (*, *). The (*, *) compute
            # shares are of the precision's own peak: an engine row naming a peak_column keeps the prior's shares
            # of that peak instead (llama.cpp's int8 basis), as where too few of its rows run on that peak
            params = dict(top)
            if pr.get("peak_column"):
                params.update({p: pr[p] for p in _COMPUTE_PARAMETERS})
            engine_params[engine] = params
            record(engine, "*", params, sub.height, score(sub, params), pr)
            continue
        on_peak = _on_engine_peak(sub, engine, pr.get("peak_column"), prior, hw)
        scored = sub
        if on_peak.height < sub.height:
            # the (engine, *) row's compute shares are of its peak_column: fitted on the rows that run on that
            # peak (not llama.cpp's CPU rows, shares of the FP32 vector peak through their category row, nor its
            # Apple rows, whose chips have no int8 column), or the prior's where fewer than min_rows do; its
            # bandwidth share and step overheads on all the engine's rows with those shares held, as for (*, *)
            if on_peak.height >= min_rows:
                first, _ = run(on_peak, top, top, prior_weight)
                compute = {p: first[p] for p in _COMPUTE_PARAMETERS}
            else:
                compute = {p: pr[p] for p in _COMPUTE_PARAMETERS}
            params, _ = run(sub, {**top, **compute}, top, prior_weight, hold=compute)
            scored = on_peak if on_peak.height else sub  # where estimate uses the row: the chips on its peak
            err = score(scored, params)
        else:
            params, err = run(sub, top, top, prior_weight)
        engine_params[engine] = params
        record(engine, "*", params, scored.height, err, pr)
    for (family,), sub in sorted(generic.group_by(["_family"]), key=lambda g: g[0]):
        if sub.height < min_rows:
            continue
        params, err = run(sub, top, top, prior_weight)
        record("*", family, params, sub.height, err, prior_row("*", family))
    family_params = {r["hardware_family"]: r for r in rows if r["engine"] == "*" and r["hardware_family"] != "*"}
    # category rows (``category:cpu`` …) stand in for families of that category without rows of their own (a
    # new CPU gets what other CPUs reach, not GPU figures); fitted on the category's rows, pulled toward (*, *)
    category_params = {}
    in_categories = pl.col("_category").is_in(list(categories))
    for (category,), sub in sorted(generic.filter(in_categories).group_by(["_category"]), key=lambda g: g[0]):
        if sub.height < min_rows:
            continue
        params, err = run(sub, top, top, prior_weight)
        category_params[category] = params
        record("*", CATEGORY_PREFIX + category, params, sub.height, err, prior_row("*", None, category))

    def native_parent(engine: str, chips: pl.Expr, native: dict, column: str | None) -> dict:
        """The (engine, *) row, with the wildcard-engine compute shares where its shares are of another peak.

        ``column`` is the ``peak_column`` of the row being fitted. The (engine, *) row's compute shares are of
        its own ``peak_column``: where these chips lack that peak (the kernels run on the native one), or where
        the row being fitted names another (llama.cpp's CPU row: the FP32 vector peak), they are no start, so
        start from (and pull toward) the wildcard-engine row of the same chips, as estimate falls back.
        """
        parent = engine_params[engine]
        wide = prior_row(engine, "*").get("peak_column")
        lacks = bool(wide) and wide in hw.columns and hw.filter(chips)[wide].is_null().all()
        if lacks or column != wide:
            parent = {**parent, **{p: native[p] for p in _COMPUTE_PARAMETERS}}
        return parent

    for (engine, category), sub in sorted(sc.filter(in_categories).group_by(
            ["engine", "_category"]), key=lambda g: g[0]):
        if sub.height < min_rows or engine not in engine_params:
            continue
        settings = prior_row(engine, None, category)
        parent = native_parent(engine, pl.col("category") == category, category_params.get(category, top),
                               settings.get("peak_column"))
        params, err = run(sub, parent, parent, prior_weight)
        record(engine, CATEGORY_PREFIX + category, params, sub.height, err, settings)
    for (engine, family), sub in sorted(sc.group_by(["engine", "_family"]), key=lambda g: g[0]):
        if sub.height < min_rows or engine not in engine_params:
            continue
        # a family's settings come from its (engine, category) row where there is one (as estimate resolves)
        cats = sub["_category"].drop_nulls().unique()
        settings = prior_row(engine, family, cats[0] if cats.len() == 1 else None)
        parent = native_parent(engine, pl.col("family") == family, family_params.get(family, top),
                               settings.get("peak_column"))
        params, err = run(sub, parent, parent, prior_weight)
        record(engine, family, params, sub.height, err, settings)
    today = _dt.date.today().isoformat()
    out = pl.DataFrame(rows).with_columns(
        *(pl.col(p).round(4 if p.endswith("efficiency") else 9) for p in FITTED_PARAMETERS),
        pl.col("workspace_tokens").cast(pl.Int64),
        pl.col("prefill_chunk_tokens").cast(pl.Int64),
        pl.lit("infer-econ-perf-fit").alias("source"),
        pl.lit(f"infer_econ.calibrate.fit on {label} ({sc.height} rows)").alias("source_detail"),
        pl.lit(today).alias("as_of"),
    )
    # the columns in the order of data/columns/efficiency.csv, whatever parameters each group fitted first
    order = [c for c in catalog.schema("efficiency")["column"].to_list() if c in out.columns or c == "notes"]
    notes = prior.select("id", pl.col("notes").cast(pl.String)) if "notes" in prior.columns else None
    if notes is not None:
        out = out.join(notes, on="id", how="left", maintain_order="left")
    else:
        out = out.with_columns(pl.lit(None, pl.String).alias("notes"))
    return out.select(*order, *[c for c in out.columns if c not in order])


# --------------------------------------------------------------------------------------------
# reporting


def error_summary(pred: pl.DataFrame, by: list[str] | None = None) -> pl.DataFrame:
    """Median and p90 absolute % error, share within 25 %, and count, per group.

    Examples
    --------
    >>> p = pl.DataFrame({"kind": ["a", "a", "b"], "abs_error_pct": [10.0, 30.0, 5.0]})
    >>> error_summary(p, ["kind"]).row(0)
    ('a', 2, 20.0, 28.0, 50.0)
    """
    by = by or []
    a = pl.col("abs_error_pct")
    aggs = [
        pl.len().alias("n"),
        a.median().round(1).alias("median_ape_pct"),
        a.quantile(0.9, interpolation="linear").round(1).alias("p90_ape_pct"),
        ((a <= 25.0).mean() * 100.0).round(1).alias("within_25_pct"),
    ]
    ok = pred.filter(pl.col("abs_error_pct").is_not_null())
    if not by:
        return ok.select(aggs)
    return ok.group_by(by).agg(aggs).sort(by)


def cross_validate(meas: pl.DataFrame | None = None, *, max_nfev: int = 40, **kw) -> pl.DataFrame:
    """Leave-one-hardware-family-out predictions: each family predicted by a fit without it.

    Returns the :func:`predict` frame, each row predicted by parameters fitted
    on the other families only (its own family falls back to the engine row).

    Examples
    --------
    >>> m = measurements().filter(pl.col("engine") == "llama.cpp", pl.col("kind") == "decode_tps_bs1")
    >>> cv = cross_validate(m.head(60), max_nfev=5, min_rows=1000)
    >>> cv.height == predict(m.head(60)).height
    True
    """
    from . import catalog

    meas = normalize_measurements(meas) if meas is not None else measurements()
    hw = kw.get("hardware") if kw.get("hardware") is not None else catalog.load("hardware")
    fam = hw.select(pl.col("id").alias("hardware"), pl.col("family").alias("_fam"))
    tagged = meas.join(fam, on="hardware", how="left", maintain_order="left")
    cats = {k: kw[k] for k in ("models", "hardware", "precisions", "engines") if k in kw}
    parts = []
    for family in sorted(set(_usable(tagged)["_fam"].drop_nulls().to_list())):
        train = tagged.filter(pl.col("_fam") != family).drop("_fam")
        test = tagged.filter(pl.col("_fam") == family).drop("_fam")
        if _usable(train).height == 0 or _usable(test).height == 0:
            continue
        params = fit(train, max_nfev=max_nfev, **kw)
        parts.append(predict(test, efficiency=params, **cats))
    return pl.concat(parts) if parts else predict(meas.head(0), **cats)


def validation_report(
    meas: pl.DataFrame | None = None,
    efficiency: pl.DataFrame | None = None,
    *,
    cross_validation: bool = False,
    **catalogs: pl.DataFrame,
) -> dict[str, pl.DataFrame]:
    """Predicted vs measured, summarized per kind, engine and hardware family.

    Returns
    -------
    dict of polars.DataFrame
        ``predictions`` (:func:`predict`), ``overall``, ``by_kind``,
        ``by_engine``, ``by_family``, ``by_kind_engine_family``,
        ``by_efficiency_fitted`` (rows whose engine and hardware family have
        their own efficiency row vs rows on a fallback,
        :func:`perf.efficiency_basis`) and, with
        ``cross_validation=True``, ``cv_predictions``, ``cv_overall`` and
        ``cv_by_family`` (leave-one-family-out, :func:`cross_validate`; each
        family's fit starts from ``efficiency`` where one is given, as
        :func:`fit`'s ``prior``).

    Examples
    --------
    >>> r = validation_report()
    >>> sorted(r)[:3]
    ['by_efficiency_fitted', 'by_engine', 'by_family']
    """
    pred = predict(meas, efficiency, **catalogs)
    out = {
        "predictions": pred,
        "overall": error_summary(pred),
        "by_kind": error_summary(pred, ["kind"]),
        "by_engine": error_summary(pred, ["engine"]),
        "by_family": error_summary(pred, ["family"]),
        "by_kind_engine_family": error_summary(pred, ["kind", "engine", "family"]),
        "by_efficiency_fitted": error_summary(_with_basis(pred, efficiency, catalogs), ["efficiency_fitted"]),
    }
    if cross_validation:  # refitted from the efficiency frame given (its unfitted settings too), as fit would be
        cv = cross_validate(meas, **({"prior": efficiency} if efficiency is not None else {}), **catalogs)
        out["cv_predictions"] = cv
        out["cv_overall"] = error_summary(cv)
        out["cv_by_family"] = error_summary(cv, ["family"])
    return out


def _with_basis(pred: pl.DataFrame, efficiency: pl.DataFrame | None, catalogs: dict) -> pl.DataFrame:
    """``pred`` (every row with known engine and hardware ids: :func:`predict` keeps no other) with
    :func:`perf.efficiency_basis`'s columns."""
    from .perf import efficiency_basis

    cats = {k: catalogs[k] for k in ("hardware", "engines") if catalogs.get(k) is not None}
    return efficiency_basis(pred, efficiency=efficiency, **cats)


def format_report(report: dict[str, pl.DataFrame]) -> str:
    """The report as plain-text tables (what ``infer-econ validate`` prints).

    Examples
    --------
    >>> print(format_report(validation_report()).splitlines()[0])
    Performance model vs published measurements (absolute % error of predicted vs measured)
    """
    lines = ["Performance model vs published measurements (absolute % error of predicted vs measured)"]
    sections = [
        ("overall", "All rows"),
        ("by_kind", "By measurement kind"),
        ("by_engine", "By engine"),
        ("by_family", "By hardware family"),
        ("by_kind_engine_family", "By kind, engine and family"),
        ("by_efficiency_fitted", "By calibration basis (efficiency_fitted: the engine's own row for the family, "
                                 "else a fallback row; perf.efficiency_basis)"),
        ("cv_overall", "Leave-one-hardware-family-out cross-validation: all rows"),
        ("cv_by_family", "Leave-one-hardware-family-out cross-validation: by held-out family"),
    ]
    with pl.Config(tbl_rows=200, tbl_cols=20, tbl_width_chars=160, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, fmt_str_lengths=40):
        for key, title in sections:
            if key in report:
                lines += ["", title, str(report[key])]
    return "\n".join(lines)


def validation_chart(pred: pl.DataFrame, title: str = "Predicted vs measured"):
    """Log-log scatter of predicted vs measured per kind, with the ±25 % band (altair chart).

    Examples
    --------
    >>> chart = validation_chart(predict().head(20))
    >>> chart.to_dict()["facet"]["field"]
    'kind'
    """
    import altair as alt

    data = pred.filter(pl.col("predicted").is_not_null()).select(
        "id", "kind", "model", "hardware", "family", "precision", "engine", "n_devices", "batch_size",
        "input_tokens", "output_tokens", "measured", "predicted", pl.col("error_pct").round(1),
    )
    scale = alt.Scale(type="log")
    base = alt.Chart(data)
    x = alt.X("measured:Q", scale=scale, title="measured [tokens/s]")
    band = base.transform_calculate(lo="datum.measured * 0.75", hi="datum.measured * 1.25").mark_area(
        opacity=0.15, color="gray"
    ).encode(x=x, y=alt.Y("lo:Q", scale=scale), y2="hi:Q")
    line = base.mark_line(color="gray").encode(x=x, y=alt.Y("measured:Q", scale=scale))
    points = base.mark_point(filled=True, opacity=0.7).encode(
        x=x,
        y=alt.Y("predicted:Q", scale=scale, title="predicted [tokens/s]"),
        color=alt.Color("family:N", title="hardware family"),
        shape=alt.Shape("engine:N"),
        tooltip=["id", "model", "hardware", "precision", "engine", "n_devices", "batch_size", "input_tokens",
                 "output_tokens", alt.Tooltip("measured:Q", format=",.1f"), alt.Tooltip("predicted:Q", format=",.1f"),
                 alt.Tooltip("error_pct:Q", title="error [%]")],
    )
    return (
        alt.layer(band, line, points)
        .properties(width=260, height=220)
        .facet(facet=alt.Facet("kind:N", title=None), columns=3)
        .properties(title=f"{title} (band: ±25 %)")
        .resolve_scale(x="independent", y="independent")
    )


def _parse_as_of(text: str | None) -> str | None:
    m = re.match(r"^(\d{4}(-\d{2}(-\d{2})?)?)", text or "")
    return m.group(1) if m else None


# --------------------------------------------------------------------------------------------
# a user's calibration, shared by every workbook


def user_efficiency_path() -> Path:
    """Where a user's fitted efficiencies are kept between workbooks [path].

    ``$INFER_ECON_HOME/efficiency.csv`` if that variable is set, else
    ``~/.infer-econ/efficiency.csv``.

    Examples
    --------
    >>> user_efficiency_path().name
    'efficiency.csv'
    """
    import os

    home = os.environ.get("INFER_ECON_HOME")
    return (Path(home) if home else Path.home() / ".infer-econ") / "efficiency.csv"


def user_rows(fitted: pl.DataFrame) -> pl.DataFrame:
    """The rows of a fit that speak for a named engine (those a user's calibration overrides).

    A fit on one engine's runs also returns wildcard-engine rows (``*/*``,
    ``*/family``); those were fitted on that engine alone, so they are not
    laid over the shipped wildcards, which stand for every engine.

    Examples
    --------
    >>> f = pl.DataFrame({"id": ["*/*", "llama.cpp/*", "llama.cpp/ada"], "engine": ["*", "llama.cpp", "llama.cpp"]})
    >>> user_rows(f)["id"].to_list()
    ['llama.cpp/*', 'llama.cpp/ada']
    """
    return fitted.filter(pl.col("engine") != "*").drop("origin", strict=False)


def save_user_efficiency(fitted: pl.DataFrame, path: str | Path | None = None) -> Path:
    """Keep a fit for every workbook: its named-engine rows, validated, written atomically.

    Parameters
    ----------
    fitted : polars.DataFrame
        Output of :func:`fit`.
    path : path, optional
        Default :func:`user_efficiency_path`.

    Returns
    -------
    Path
        The file written (temp file + rename: a crash never leaves half a file).

    Notes
    -----
    The rows are checked against the ``efficiency`` catalog's dictionary
    before anything is written; :func:`load_user_efficiency` lays them over
    the shipped table.

    Examples
    --------
    >>> import tempfile
    >>> f = fit(measurements().filter(pl.col("engine") == "llama.cpp").head(40), max_nfev=5)
    >>> p = save_user_efficiency(f, Path(tempfile.mkdtemp()) / "efficiency.csv")
    >>> load_user_efficiency(p).filter(pl.col("origin") == "user").height > 0
    True
    """
    from . import catalog
    from .io import export_frame

    rows = user_rows(fitted)
    if rows.height == 0:
        raise ValidationError("the fit has no rows for a named engine: nothing to keep")
    catalog.load("efficiency", extra=rows)  # validates; raises CatalogError naming row and column
    target = Path(path) if path is not None else user_efficiency_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    export_frame(rows, target)
    return target


def load_user_efficiency(path: str | Path | None = None) -> pl.DataFrame | None:
    """The shipped efficiency table with a user's kept rows laid over it, or None if none are kept.

    Rows of the user's file replace shipped rows with the same ``id``
    (``engine/hardware_family``); everything else stays as shipped. The file is
    validated like any ``extra=`` catalog file.

    Examples
    --------
    >>> load_user_efficiency("/no/such/file.csv") is None
    True
    """
    from . import catalog

    target = Path(path) if path is not None else user_efficiency_path()
    if not target.is_file():
        return None
    return catalog.load("efficiency", extra=target)

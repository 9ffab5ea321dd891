"""Importers: benchmark result files of other tools → the calibration schema.

Every reader returns a polars frame in :data:`~infer_econ.io.CALIBRATION_SCHEMA`
(the columns of ``measured_calibration.csv`` plus ``statistic``), one row per
measured figure, ready for :func:`infer_econ.calibrate.fit`. What a file does
not say (the hardware, the precision, the number of devices…) comes from
keyword arguments; a reader that lacks one raises a
:class:`~infer_econ.errors.ValidationError` naming the file and the keyword to
pass. A file that is not what the reader expects raises the same error naming
the file and the missing or bad field. Files above
:data:`~infer_econ.io.MAX_UPLOAD_BYTES` are refused.

Model names are mapped to models-catalog ids by
:func:`~infer_econ.io.resolve_model` (``hf_repo`` match, then the normalized
name with suffixes such as ``-Instruct`` stripped:
``meta-llama/Llama-3.1-8B-Instruct`` → ``llama-3.1-8b``).

Load shape conventions (for all serving benchmarks):

- a closed loop (fixed concurrency ``C``, requests sent as fast as slots free)
  has ``batch_size = C`` and ``request_rate_per_s = inf``;
- an open loop (Poisson arrivals at rate λ) has ``request_rate_per_s = λ`` and
  ``batch_size`` null;
- ``input_tokens`` / ``output_tokens`` are the per-request means (total tokens /
  completed requests), rounded to integers.
"""

from __future__ import annotations

import csv
import io as _io
import math
import re
from pathlib import Path
from typing import Any

import polars as pl

from ..catalog import _booleans_from_text
from ..errors import ValidationError
from ._common import (
    CALIBRATION_SCHEMA,
    build_frame,
    check_positive_int,
    int_or_none,
    missing_ids,
    number,
    parse_json,
    parse_json_lines,
    read_text,
    require,
    resolve_hardware,
    resolve_model,
)

__all__ = [
    "read_vllm_bench",
    "read_sglang_bench",
    "read_aiperf",
    "read_llama_bench",
    "read_mlperf_summary",
    "read_calibration_csv",
    "read_any",
    "read_upload",
    "read_many",
    "sniff_format",
    "FORMATS",
]

_LATENCY_KINDS = {"ttft": "serving_ttft_ms", "tpot": "serving_tpot_ms", "itl": "serving_itl_ms"}
_STATISTICS = ("mean", "median", "p50", "p90", "p95", "p99")

#: ``backend`` values of vLLM's and SGLang's benchmark clients → engine ids.
BACKEND_ENGINES = {
    "vllm": "vllm", "vllm-chat": "vllm", "openai": "vllm", "openai-chat": "vllm", "openai-audio": "vllm",
    "sglang": "sglang", "sglang-native": "sglang", "sglang-oai": "sglang", "sglang-oai-chat": "sglang",
    "lmdeploy": "lmdeploy", "lmdeploy-chat": "lmdeploy", "tgi": "tgi", "trt": "tensorrt-llm",
    "tensorrt-llm": "tensorrt-llm",
}


def _check_statistics(statistics: tuple[str, ...]) -> tuple[str, ...]:
    stats = tuple(statistics)
    bad = [s for s in stats if s not in _STATISTICS]
    if bad or not stats:
        raise ValidationError(f"statistics={stats!r}: each must be one of {list(_STATISTICS)}")
    return stats


def _stat_key(stat: str, metric: str) -> list[str]:
    """Result-file keys holding ``stat`` of ``metric`` (``mean_ttft_ms``, ``median_tpot_ms``, ``p99_itl_ms``)."""
    if stat == "p50":
        return [f"p50_{metric}_ms", f"median_{metric}_ms"]
    if stat == "median":
        return [f"median_{metric}_ms", f"p50_{metric}_ms"]
    return [f"{stat}_{metric}_ms"]


def _ids(p: Path, fmt: str, *, model, hardware, precision, engine, n_devices) -> None:
    missing_ids(p, fmt, model=model, hardware=hardware, precision=precision, engine=engine, n_devices=n_devices)


def _serving_rows(rec: dict, p: Path, i: int | None, fmt: str, stats, base: dict, *, with_throughput: bool) -> list[dict]:
    rows = []
    for metric, kind in _LATENCY_KINDS.items():
        for stat in stats:
            for key in _stat_key(stat, metric):
                if rec.get(key) is not None:
                    x = number(rec[key], p, key, record=i)
                    if x > 0:  # tools print 0 for metrics they could not compute (non-streaming)
                        rows.append({**base, "kind": kind, "measured": x, "statistic": stat})
                    break
    if with_throughput and math.isinf(base["request_rate_per_s"]) and rec.get("output_throughput") is not None:
        x = number(rec["output_throughput"], p, "output_throughput", record=i)
        if x > 0:
            rows.append({**base, "kind": "offline_output_tps_total", "measured": x, "statistic": "value"})
    return rows


def _serving_bench(path, fmt: str, tool: str, default_engine: str | None, *, model, hardware, precision, kv_precision,
                   engine, n_devices, statistics, input_tokens, output_tokens) -> pl.DataFrame:
    stats = _check_statistics(statistics)
    p, text = read_text(path, f"{tool} result")
    records = parse_json_lines(p, text, f"{tool} result")
    n_devices = check_positive_int(n_devices, "n_devices", p)
    rows: list[dict] = []
    for i, rec in enumerate(records, start=1):
        ri = i if len(records) > 1 else None
        require(rec, ["completed"], p, f"{tool} result", record=ri)
        require(rec, ["mean_ttft_ms", "output_throughput"], p, f"{tool} result", record=ri)
        completed = number(rec["completed"], p, "completed", record=ri)
        if completed <= 0:
            continue  # a run in which no request finished measures nothing
        name = model
        if name is None:
            for key in ("model_id", "model", "model_path", "tokenizer_id"):
                if isinstance(rec.get(key), str) and rec[key].strip():
                    name = resolve_model(rec[key], p)
                    break
        backend = rec.get("backend")
        eng = engine or (BACKEND_ENGINES.get(str(backend).lower()) if backend else default_engine) or None
        _ids(p, tool, model=name, hardware=hardware, precision=precision, engine=eng, n_devices=n_devices)
        raw_rate = rec.get("request_rate")  # older files may omit it: the default of both tools is inf
        rate = math.inf if raw_rate is None else number(raw_rate, p, "request_rate", record=ri, allow_inf=True)
        if rate <= 0:
            raise ValidationError(f"{p}: field 'request_rate': {raw_rate!r} must be > 0")
        conc = rec.get("max_concurrency")
        conc = None if conc is None else check_positive_int(number(conc, p, "max_concurrency", record=ri),
                                                            "max_concurrency", p)
        # a concurrency cap with a finite rate is an open loop with a ceiling: both kept, noted
        rate_note = f"max_concurrency={conc} with request_rate={rate:g}" if conc is not None and not math.isinf(rate) else None
        tin = input_tokens
        if tin is None and rec.get("total_input_tokens") is not None:
            tin = number(rec["total_input_tokens"], p, "total_input_tokens", record=ri) / completed
        tout = output_tokens
        if tout is None and rec.get("total_output_tokens") is not None:
            tout = number(rec["total_output_tokens"], p, "total_output_tokens", record=ri) / completed
        if tout is None and isinstance(rec.get("output_lens"), list) and rec["output_lens"]:
            lens = [number(x, p, "output_lens", record=ri) for x in rec["output_lens"]]
            tout = sum(lens) / len(lens)
        if tin is None or tout is None:
            field = "total_input_tokens" if tin is None else "total_output_tokens"
            raise ValidationError(f"{p}: missing field {field!r}; pass "
                                  f"{'input_tokens' if tin is None else 'output_tokens'}=… (mean tokens per request)")
        notes = [f"{tool}; backend={backend}" if backend else tool, f"completed={int(completed)}"]
        for key in ("num_prompts", "dataset_name", "burstiness"):
            if rec.get(key) is not None:
                notes.append(f"{key}={rec[key]}")
        if rate_note:
            notes.append(rate_note)
        date = rec.get("date")
        m = re.match(r"^(\d{4})(\d{2})(\d{2})", str(date)) if date else None
        base = {
            "source_group": fmt,
            "model_id": name,
            "hardware_id": hardware,
            "precision_id": precision,
            "kv_precision_id": kv_precision,
            "engine_id": eng,
            "n_devices": n_devices,
            "batch_size": conc,
            "input_tokens": int_or_none(tin),
            "context_depth": 0,
            "output_tokens": int_or_none(tout),
            "request_rate_per_s": rate,
            "notes_short": "; ".join(notes),
            "date": f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None,
            "source": f"{p.name}" + (f" record {i}" if len(records) > 1 else ""),
        }
        rows += _serving_rows(rec, p, ri, fmt, stats, base, with_throughput=True)
    return build_frame(rows, p, tool)


def read_vllm_bench(path: str | Path, *, model: str | None = None, hardware: str | None = None,
                    precision: str | None = None, kv_precision: str | None = None, engine: str | None = None,
                    n_devices: int | None = None, statistics: tuple[str, ...] = ("mean",),
                    input_tokens: float | None = None, output_tokens: float | None = None) -> pl.DataFrame:
    """Read a vLLM serving-benchmark result (``benchmark_serving.py --save-result`` / ``vllm bench serve``).

    Parameters
    ----------
    path : str or Path
        The result JSON (one object; a list of objects or JSON lines of several
        runs also work).
    model : str, optional
        Models-catalog id; default: the file's ``model_id`` (or ``model``,
        ``tokenizer_id``) mapped by :func:`~infer_econ.io.resolve_model`.
    hardware, precision : str
        Hardware and precision ids [catalog ids]; the file does not say them.
    kv_precision : str, optional
        KV-cache precision id; null means the engine's default.
    engine : str, optional
        Engine id; default from the file's ``backend`` (``vllm``, ``openai`` →
        ``vllm``; see ``BACKEND_ENGINES``).
    n_devices : int
        Devices in the replica under test [count].
    statistics : tuple of str
        Which latency statistics to import (``mean``, ``median``, ``p50``,
        ``p90``, ``p95``, ``p99``); default the means, which calibration uses.
    input_tokens, output_tokens : float, optional
        Mean tokens per request [tokens] when the file lacks
        ``total_input_tokens`` / ``total_output_tokens``.

    Returns
    -------
    polars.DataFrame
        Calibration-schema rows: ``serving_ttft_ms``, ``serving_tpot_ms``,
        ``serving_itl_ms`` [ms] per statistic, and with an unlimited request
        rate also ``offline_output_tps_total`` [output tokens/s] from
        ``output_throughput``.

    Notes
    -----
    Version differences: older files lack ``max_concurrency``, ``burstiness``,
    ``mean_itl_ms`` or ``total_output_tokens`` (then ``output_lens`` is
    averaged); newer ones add e2e-latency, goodput and per-request lists, which
    are ignored. ``request_rate`` may be a number, ``"inf"`` or ``Infinity``.
    Zero latencies (printed when a metric was not measured) are dropped.
    input_tokens = total_input_tokens / completed; output_tokens =
    total_output_tokens / completed.

    References
    ----------
    vLLM, ``benchmarks/benchmark_serving.py`` and ``vllm/benchmarks/serve.py``
    (result keys ``mean_ttft_ms``, ``median_tpot_ms``, ``p99_itl_ms`` …).

    Examples
    --------
    >>> from infer_econ.io import read_vllm_bench
    >>> f = read_vllm_bench(SAMPLES / "vllm_bench_serve.json", hardware="h100-sxm", precision="bf16", n_devices=1)
    >>> f.select("model_id", "kind", "measured").rows()[:2]
    [('llama-3.1-8b', 'serving_ttft_ms', 41.27), ('llama-3.1-8b', 'serving_tpot_ms', 11.83)]
    """
    return _serving_bench(path, "vllm", "vLLM benchmark", "vllm", model=model, hardware=hardware,
                          precision=precision, kv_precision=kv_precision, engine=engine, n_devices=n_devices,
                          statistics=statistics, input_tokens=input_tokens, output_tokens=output_tokens)


def read_sglang_bench(path: str | Path, *, model: str | None = None, hardware: str | None = None,
                      precision: str | None = None, kv_precision: str | None = None, engine: str | None = None,
                      n_devices: int | None = None, statistics: tuple[str, ...] = ("mean",),
                      input_tokens: float | None = None, output_tokens: float | None = None) -> pl.DataFrame:
    """Read SGLang ``python -m sglang.bench_serving --output-file`` results (JSON lines, one run a line).

    Parameters
    ----------
    path : str or Path
        The JSONL file; each line is one run (``request_rate``,
        ``max_concurrency``, ``completed``, ``total_input_tokens``,
        ``total_output_tokens``, ``mean_ttft_ms``, ``median_itl_ms``,
        ``p99_tpot_ms``, ``output_throughput`` …).
    model : str, optional
        Models-catalog id; default the run's ``model_id``/``model``/
        ``tokenizer_id`` if present (older files have none: then required).
    hardware, precision, kv_precision, engine, n_devices, statistics, input_tokens, output_tokens
        As in :func:`read_vllm_bench`; ``engine`` defaults from ``backend``
        (``sglang``, ``sglang-oai`` → ``sglang``; ``vllm`` → ``vllm``; ``trt`` →
        ``tensorrt-llm``).

    Returns
    -------
    polars.DataFrame
        Calibration-schema rows (latencies [ms] per run and statistic; output
        tokens/s for runs at an unlimited request rate).

    Notes
    -----
    Older versions lack ``max_concurrency`` and the ITL percentiles; newer ones
    add ``p95_itl_ms``, ``accept_length``, retokenized counts, which are
    ignored. Runs with ``completed = 0`` are skipped.

    References
    ----------
    SGLang, ``python/sglang/bench_serving.py`` and docs/developer_guide/bench_serving.md.

    Examples
    --------
    >>> from infer_econ.io import read_sglang_bench
    >>> f = read_sglang_bench(SAMPLES / "sglang_bench_serving.jsonl", model="llama-3.1-8b", hardware="h100-sxm",
    ...                       precision="bf16", n_devices=1)
    >>> sorted(set(f["request_rate_per_s"].to_list()))
    [4.0, 8.0, inf]
    """
    return _serving_bench(path, "sglang", "SGLang bench_serving", "sglang", model=model, hardware=hardware,
                          precision=precision, kv_precision=kv_precision, engine=engine, n_devices=n_devices,
                          statistics=statistics, input_tokens=input_tokens, output_tokens=output_tokens)


# ---------------------------------------------------------------- AIPerf / GenAI-Perf

_AIPERF_METRICS = {  # normalized metric name → calibration kind
    "time_to_first_token": "serving_ttft_ms",
    "inter_token_latency": "serving_tpot_ms",
    "inter_chunk_latency": "serving_itl_ms",
    "output_token_throughput": "offline_output_tps_total",
}
_AIPERF_STATS = {"mean": "avg", "median": "p50", "p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99"}
_UNIT_TO_MS = {"ms": 1.0, "s": 1000.0, "sec": 1000.0, "us": 1e-3, "ns": 1e-6}


def _norm_metric(name: str) -> tuple[str, str | None]:
    """'Time To First Token (ms)' → ('time_to_first_token', 'ms')."""
    m = re.match(r"^\s*(.*?)\s*(?:\(([^)]*)\))?\s*$", name)
    base, unit = (m.group(1), m.group(2)) if m else (name, None)
    return re.sub(r"[^a-z0-9]+", "_", base.lower()).strip("_"), (unit.strip().lower() if unit else None)


def _aiperf_config(doc: dict) -> dict:
    """Model names, concurrency, request rate and token means from ``input_config`` (AIPerf nested / GenAI-Perf flat)."""
    cfg = doc.get("input_config") if isinstance(doc.get("input_config"), dict) else {}
    out: dict[str, Any] = {}
    ep = cfg.get("endpoint") if isinstance(cfg.get("endpoint"), dict) else {}
    names = ep.get("model_names") or cfg.get("model_names") or cfg.get("model")
    if isinstance(names, str):
        names = [names]
    if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
        out["models"] = names
    lg = cfg.get("loadgen") if isinstance(cfg.get("loadgen"), dict) else cfg
    for key in ("concurrency", "request_rate"):
        if lg.get(key) is not None:
            out[key] = lg[key]
    inp = cfg.get("input") if isinstance(cfg.get("input"), dict) else {}
    prompt = inp.get("prompt") if isinstance(inp.get("prompt"), dict) else {}
    for kind, nested, flat in (("input_tokens", "input_tokens", "synthetic_input_tokens_mean"),
                               ("output_tokens", "output_tokens", "output_tokens_mean")):
        node = prompt.get(nested)
        if isinstance(node, dict) and node.get("mean") is not None:
            out[kind] = node["mean"]
        elif cfg.get(flat) is not None:
            out[kind] = cfg[flat]
    tel = doc.get("telemetry_data")
    names: list[str] = []
    if isinstance(tel, dict) and isinstance(tel.get("endpoints"), dict):
        for ep in tel["endpoints"].values():
            gpus = ep.get("gpus") if isinstance(ep, dict) else None
            if isinstance(gpus, dict):
                names += [str(g["gpu_name"]) for g in gpus.values() if isinstance(g, dict) and g.get("gpu_name")]
    if names:
        out["gpu_names"] = names
    return out


#: short metric tags of early AIPerf exports → the long names
_AIPERF_TAGS = {"ttft": "time_to_first_token", "itl": "inter_token_latency", "icl": "inter_chunk_latency",
                "isl": "input_sequence_length", "osl": "output_sequence_length"}


def _aiperf_metrics_from_json(doc: dict) -> dict[str, dict]:
    """Metric objects of an aggregated export: top level (GenAI-Perf, AIPerf ≥ 0.2), under ``records`` (early
    AIPerf, short tags such as ``ttft``) or a ``metrics`` list of objects with a ``tag``."""
    found: list[tuple[str, dict]] = []
    for cont in (doc, doc.get("records")):
        if isinstance(cont, dict):
            found += [(str(v.get("tag") or k), v) for k, v in cont.items() if isinstance(v, dict) and "unit" in v]
    if isinstance(doc.get("metrics"), list):
        found += [(str(v["tag"]), v) for v in doc["metrics"] if isinstance(v, dict) and "tag" in v and "unit" in v]
    out: dict[str, dict] = {}
    for key, v in found:
        name = _norm_metric(key)[0]
        out.setdefault(_AIPERF_TAGS.get(name, name), v)
    return out


def _aiperf_tables_from_csv(p: Path, text: str) -> dict[str, dict[str, Any]]:
    """Parse the metric tables of an AIPerf / GenAI-Perf CSV export into {metric: {unit, avg, p50 …}}."""
    metrics: dict[str, dict[str, Any]] = {}
    header: list[str] | None = None
    try:
        rows = list(csv.reader(_io.StringIO(text)))
    except csv.Error as exc:
        raise ValidationError(f"{p}: not a readable CSV file ({exc})") from None
    for n, row in enumerate(rows, start=1):
        if not row or not any(c.strip() for c in row):
            header = None
            continue
        if row[0].strip().lower() == "metric":
            header = [c.strip().lower() for c in row]
            continue
        if header is None:
            continue
        name, unit = _norm_metric(row[0])
        entry: dict[str, Any] = {"unit": unit}
        for col, val in zip(header[1:], row[1:]):
            val = val.strip().replace(",", "")
            if val in ("", "n/a", "N/A"):
                continue
            entry["avg" if col == "value" else col] = val
        metrics[name] = entry
    if not metrics:
        raise ValidationError(f"{p}: no 'Metric,…' table found; not an AIPerf / GenAI-Perf CSV export")
    return metrics


def read_aiperf(path: str | Path, *, model: str | None = None, hardware: str | None = None,
                precision: str | None = None, kv_precision: str | None = None, engine: str | None = None,
                n_devices: int | None = None, statistics: tuple[str, ...] = ("mean",),
                batch_size: int | None = None, request_rate_per_s: float | None = None,
                input_tokens: float | None = None, output_tokens: float | None = None) -> pl.DataFrame:
    """Read an NVIDIA AIPerf or GenAI-Perf export (``profile_export_aiperf.json|csv``, ``*_genai_perf.json|csv``).

    Parameters
    ----------
    path : str or Path
        The aggregated JSON (metric objects ``{"unit", "avg", "p50", "p99" …}``
        plus ``input_config``) or the CSV metric tables (``Metric,avg,min,max,
        p99 …`` then ``Metric,Value``).
    model, hardware, precision, kv_precision, engine, n_devices
        Ids [catalog ids]; the model defaults to ``input_config``'s model name
        and the hardware to the GPU telemetry's ``gpu_name`` when it fits one
        catalog row (JSON only); the engine is never in the file (the server is
        separate).
    statistics : tuple of str
        Latency statistics to import (``mean`` = the ``avg`` column).
    batch_size, request_rate_per_s : optional
        Concurrency [sequences] or request rate [1/s] of the run when the file
        does not hold ``input_config`` (CSV exports).
    input_tokens, output_tokens : float, optional
        Mean tokens per request [tokens]; default the ``input_sequence_length``
        and ``output_sequence_length`` averages.

    Returns
    -------
    polars.DataFrame
        ``serving_ttft_ms``, ``serving_tpot_ms`` (from ``inter_token_latency``,
        which these tools compute per request as (latency − TTFT) / (tokens −
        1), i.e. TPOT), ``serving_itl_ms`` (``inter_chunk_latency``, AIPerf) and,
        for a closed loop, ``offline_output_tps_total`` [output tokens/s].

    Notes
    -----
    Metric names are matched case-insensitively with the unit in brackets
    stripped ("Time To First Token (ms)" in GenAI-Perf, "Time to First Token
    (ms)" in AIPerf); latencies in s, µs or ns are converted to ms. Version
    differences: GenAI-Perf and AIPerf ≥ 0.2 put the metric objects at the top
    level with ``input_config`` (flat in GenAI-Perf, nested ``endpoint`` /
    ``loadgen`` / ``input`` in AIPerf); early AIPerf nests them under
    ``records`` with short tags (``ttft``, ``isl``, ``osl``). A run with
    neither a concurrency nor a request rate is refused.

    References
    ----------
    ai-dynamo/aiperf docs/tutorials/working-with-profile-exports.md; triton
    genai-perf README (metrics and export files).

    Examples
    --------
    >>> from infer_econ.io import read_aiperf
    >>> f = read_aiperf(SAMPLES / "profile_export_aiperf.json", hardware="h100-sxm", precision="fp8",
    ...                 engine="vllm", n_devices=1)
    >>> f.select("kind", "batch_size", "measured").rows()[0]
    ('serving_ttft_ms', 32, 212.4)
    """
    stats = _check_statistics(statistics)
    p, text = read_text(path, "AIPerf / GenAI-Perf export")
    n_devices = check_positive_int(n_devices, "n_devices", p)
    batch_size = check_positive_int(batch_size, "batch_size", p)
    cfg: dict[str, Any] = {}
    if text.lstrip().startswith("{"):
        doc = parse_json(p, text, "AIPerf / GenAI-Perf JSON export")
        if not isinstance(doc, dict):
            raise ValidationError(f"{p}: not an AIPerf / GenAI-Perf JSON export (top level is not an object)")
        metrics = _aiperf_metrics_from_json(doc)
        cfg = _aiperf_config(doc)
    else:
        metrics = _aiperf_tables_from_csv(p, text)
    if not any(k in metrics for k in ("time_to_first_token", "request_latency", "output_token_throughput")):
        raise ValidationError(f"{p}: missing metric 'time_to_first_token' / 'output_token_throughput'; "
                              f"not an AIPerf / GenAI-Perf export (metrics present: {sorted(metrics)[:12]})")
    name = model
    if name is None and cfg.get("models"):
        name = resolve_model(cfg["models"][0], p)
    if hardware is None and cfg.get("gpu_names"):
        names = set(cfg["gpu_names"])
        if len(names) == 1:
            hardware = resolve_hardware(names.pop(), p)
    _ids(p, "AIPerf / GenAI-Perf", model=name, hardware=hardware, precision=precision, engine=engine,
         n_devices=n_devices)
    conc = batch_size
    if conc is None and cfg.get("concurrency") is not None and cfg.get("request_rate") is None:
        conc = check_positive_int(number(cfg["concurrency"], p, "input_config.concurrency"), "concurrency", p)
    rate = request_rate_per_s
    if rate is None and cfg.get("request_rate") is not None:
        rate = number(cfg["request_rate"], p, "input_config.request_rate", allow_inf=True)
    if conc is None and rate is None:
        raise ValidationError(f"{p}: the file does not say the load (no input_config concurrency or request_rate); "
                              "pass batch_size=<concurrency> or request_rate_per_s=…")
    if rate is not None:
        rate = number(rate, p, "request_rate_per_s", allow_inf=True)
        if rate <= 0:
            raise ValidationError(f"{p}: request_rate_per_s={rate!r} must be > 0")

    def avg_of(metric: str) -> float | None:
        entry = metrics.get(metric)
        if entry and entry.get("avg") is not None:
            return number(entry["avg"], p, f"{metric}.avg")
        return None

    tin = input_tokens if input_tokens is not None else avg_of("input_sequence_length")
    tout = output_tokens if output_tokens is not None else avg_of("output_sequence_length")
    if tout is None and cfg.get("output_tokens") is not None:
        tout = number(cfg["output_tokens"], p, "input_config output_tokens mean")
    if tin is None and cfg.get("input_tokens") is not None:
        tin = number(cfg["input_tokens"], p, "input_config input_tokens mean")
    if tin is None or tout is None:
        what = "input_sequence_length" if tin is None else "output_sequence_length"
        raise ValidationError(f"{p}: missing metric {what!r}; pass {'input' if tin is None else 'output'}_tokens=…")
    base = {
        "source_group": "aiperf",
        "model_id": name, "hardware_id": hardware, "precision_id": precision, "kv_precision_id": kv_precision,
        "engine_id": engine, "n_devices": n_devices, "batch_size": conc if rate is None or math.isinf(rate) else None,
        "input_tokens": int_or_none(tin), "context_depth": 0, "output_tokens": int_or_none(tout),
        "request_rate_per_s": math.inf if rate is None else rate,
        "notes_short": "aiperf/genai-perf" + (f"; concurrency={conc}" if conc else "") +
                       (f"; request_rate={rate:g}" if rate is not None else ""),
        "date": None, "source": p.name,
    }
    rows = []
    for metric, kind in _AIPERF_METRICS.items():
        entry = metrics.get(metric)
        if not entry:
            continue
        unit = str(entry.get("unit") or "").strip().lower()
        if kind == "offline_output_tps_total":
            if math.isinf(base["request_rate_per_s"]) and entry.get("avg") is not None:
                x = number(entry["avg"], p, f"{metric}.avg")
                if x > 0:
                    rows.append({**base, "kind": kind, "measured": x, "statistic": "value"})
            continue
        scale = _UNIT_TO_MS.get(unit.replace("µ", "u"))
        if scale is None:
            raise ValidationError(f"{p}: metric {metric!r} has unit {entry.get('unit')!r}; expected ms, s, us or ns")
        for stat in stats:
            col = _AIPERF_STATS[stat]
            if entry.get(col) is not None:
                x = number(entry[col], p, f"{metric}.{col}") * scale
                if x > 0:
                    rows.append({**base, "kind": kind, "measured": x, "statistic": stat})
    return build_frame(rows, p, "AIPerf / GenAI-Perf")


# ---------------------------------------------------------------- llama-bench

#: llama.cpp file-type names (as in ``model_type``) → precision ids.
GGUF_PRECISIONS = {
    "f32": "fp32", "all f32": "fp32", "f16": "fp16", "bf16": "bf16", "q8_0": "q8_0", "q4_0": "q4_0",
    "q4_k - medium": "q4_k_m", "q4_k_m": "q4_k_m", "mxfp4 moe": "fp4", "mxfp4": "fp4",
}
#: llama.cpp KV-cache types (``type_k``) → precision ids.
GGUF_KV = {"f32": "fp32", "f16": "fp16", "bf16": "bf16", "q8_0": "q8_0", "q4_0": "q4_0"}


def _gguf_precision(model_type: str | None) -> str | None:
    if not model_type:
        return None
    low = model_type.lower()
    for key in sorted(GGUF_PRECISIONS, key=len, reverse=True):
        if low.endswith(" " + key) or low == key:
            return GGUF_PRECISIONS[key]
    return None


def _llama_records(p: Path, text: str) -> list[dict]:
    s = text.lstrip()
    if s.startswith("[") or s.startswith("{"):
        return parse_json_lines(p, text, "llama-bench JSON output")
    if s.startswith("|"):
        return _llama_markdown(p, text)
    try:
        rows = list(csv.DictReader(_io.StringIO(text)))
    except csv.Error as exc:
        raise ValidationError(f"{p}: not a readable CSV file ({exc})") from None
    if not rows:
        raise ValidationError(f"{p}: no data rows; llama-bench CSV output expected")
    return rows


def _llama_markdown(p: Path, text: str) -> list[dict]:
    """Rows of llama-bench's markdown table (``| model | size | params | backend | ngl | test | t/s |``)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("|")]
    if len(lines) < 3:
        raise ValidationError(f"{p}: a markdown table needs a header, a separator and rows; llama-bench output expected")
    header = [c.strip().lower() for c in lines[0].strip("|").split("|")]
    for col in ("model", "test", "t/s"):
        if col not in header:
            raise ValidationError(f"{p}: markdown table has no column {col!r} (columns: {header}); "
                                  "llama-bench output expected")
    out = []
    for n, ln in enumerate(lines[2:], start=3):
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if len(cells) != len(header):
            raise ValidationError(f"{p}: table row {n} has {len(cells)} cells, the header {len(header)}")
        rec = dict(zip(header, cells))
        m = re.match(r"^(pp|tg)\s*(\d+)(?:\s*@\s*d(\d+))?$", rec["test"])
        if not m:
            if re.match(r"^pp\d+\s*\+\s*tg\d+", rec["test"]):
                continue  # combined prompt+generation test: no single-phase figure
            raise ValidationError(f"{p}: table row {n}, column 'test': {rec['test']!r} is not ppN, tgN or ppN @ dM")
        ts = re.match(r"^\s*([0-9.eE+-]+)", rec["t/s"])
        if not ts:
            raise ValidationError(f"{p}: table row {n}, column 't/s': {rec['t/s']!r} is not a number")
        phase, tokens, depth = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        out.append({
            "model_type": rec["model"], "n_prompt": tokens if phase == "pp" else 0,
            "n_gen": tokens if phase == "tg" else 0, "n_depth": depth, "avg_ts": ts.group(1),
            "backends": rec.get("backend"), "n_gpu_layers": rec.get("ngl"), "type_k": rec.get("type_k"),
            "type_v": rec.get("type_v"), "flash_attn": rec.get("fa"),
        })
    return out


def read_llama_bench(path: str | Path, *, model: str | None = None, hardware: str | None = None,
                     precision: str | None = None, kv_precision: str | None = None, engine: str = "llama.cpp",
                     n_devices: int | None = None, flash_attention: bool | None = None) -> pl.DataFrame:
    """Read llama.cpp ``llama-bench`` output (``-o json``, ``-o jsonl``, ``-o csv`` or the default markdown).

    Parameters
    ----------
    path : str or Path
        The output file. JSON/CSV rows carry ``model_filename``,
        ``model_type``, ``n_prompt``, ``n_gen``, ``n_depth`` (newer builds),
        ``avg_ts``, ``type_k``, ``n_gpu_layers``, ``backends`` …; the markdown
        table has ``model``, ``test`` (``pp512``, ``tg128``, ``pp512 @ d4096``)
        and ``t/s`` (``mean ± sd``).
    model : str, optional
        Models-catalog id; default from ``model_filename`` (JSON/CSV), mapped by
        :func:`~infer_econ.io.resolve_model`. The markdown output only has the
        architecture and size (``llama 8B``), so pass it there.
    hardware : str, optional
        Hardware id [catalog id]; default from ``gpu_info`` when the model ran
        on the GPU (``n_gpu_layers`` > 0) and the name fits one catalog row
        (:func:`~infer_econ.io.resolve_hardware`), else required.
    precision : str, optional
        Precision id; default from the file-type part of ``model_type``
        (``Q4_K - Medium`` → ``q4_k_m``, see ``GGUF_PRECISIONS``).
    kv_precision : str, optional
        KV-cache precision; default from ``type_k`` (``f16`` → ``fp16``; files
        without it: llama.cpp's default f16).
    engine : str
        Engine id [catalog id], default ``llama.cpp``.
    n_devices : int
        Devices the model ran on [count].
    flash_attention : bool, optional
        Whether attention ran fused, for records that do not say
        (``flash_attn`` / ``fa``): llama-bench's markdown prints ``fa`` only
        when it differs from the default, and the default was off until 2025,
        so pass ``False`` for tables of such builds. Default: the file's
        value, else null (read as fused).

    Returns
    -------
    polars.DataFrame
        ``prefill_tps_bs1`` rows (``pp`` tests: input_tokens = n_prompt,
        output_tokens = 0) and ``decode_tps_bs1`` rows (``tg`` tests:
        output_tokens = n_gen), both at batch 1 with context_depth = n_depth
        [tokens], measured = avg_ts [tokens/s].

    Notes
    -----
    Combined ``pp+tg`` tests are skipped (their rate mixes both phases). Older
    builds lack ``n_depth`` (read as 0) and ``backends`` (they had boolean
    ``cuda``/``metal`` … fields instead). ``flash_attn`` (``fa`` in the
    markdown) becomes ``flash_attention``: llama-bench ran attention unfused
    unless given ``-fa 1`` until 2025, which slows long prompts
    (:func:`infer_econ.perf.unfused_score_bytes`).

    References
    ----------
    ggml-org/llama.cpp, tools/llama-bench/README.md (output formats).

    Examples
    --------
    >>> from infer_econ.io import read_llama_bench
    >>> f = read_llama_bench(SAMPLES / "llama_bench.json", hardware="rtx-4090", n_devices=1)
    >>> f.select("kind", "precision_id", "input_tokens", "output_tokens", "measured").rows()[:2]
    [('prefill_tps_bs1', 'q4_k_m', 512, 0, 11234.56), ('decode_tps_bs1', 'q4_k_m', 0, 128, 141.27)]
    """
    p, text = read_text(path, "llama-bench output")
    n_devices = check_positive_int(n_devices, "n_devices", p)
    records = _llama_records(p, text)
    rows = []
    cache: dict[str, str] = {}
    file_hw = None
    if hardware is None:  # one GPU model named in gpu_info on the runs that offloaded layers
        devices = {d.strip() for r in records if r.get("gpu_info")
                   and str(r.get("n_gpu_layers") or "0").strip() not in ("0", "")
                   for d in str(r["gpu_info"]).split(",") if d.strip()}
        if len(devices) == 1:
            file_hw = resolve_hardware(devices.pop(), p)
    for i, rec in enumerate(records, start=1):
        require(rec, ["avg_ts"], p, "llama-bench output", record=i)
        require(rec, ["n_prompt"], p, "llama-bench output", record=i)
        require(rec, ["n_gen"], p, "llama-bench output", record=i)
        n_prompt = number(rec["n_prompt"], p, "n_prompt", record=i)
        n_gen = number(rec["n_gen"], p, "n_gen", record=i)
        depth = number(rec["n_depth"], p, "n_depth", record=i) if rec.get("n_depth") not in (None, "") else 0.0
        if n_prompt < 0 or n_gen < 0 or depth < 0 or (n_prompt > 0 and n_gen > 0) or (n_prompt == 0 and n_gen == 0):
            if n_prompt > 0 and n_gen > 0:
                continue  # pp+tg test
            raise ValidationError(f"{p}: record {i}: n_prompt={n_prompt:g}, n_gen={n_gen:g} is not a pp or tg test")
        ts = number(rec["avg_ts"], p, "avg_ts", record=i)
        if ts <= 0:
            raise ValidationError(f"{p}: record {i}, field 'avg_ts': {ts} tokens/s must be > 0")
        name = model
        if name is None and rec.get("model_filename"):
            fn = str(rec["model_filename"])
            name = cache.get(fn) or resolve_model(fn, p)
            cache[fn] = name
        hw = hardware if hardware is not None else file_hw
        prec = precision or _gguf_precision(rec.get("model_type"))
        tk = str(rec.get("type_k") or "f16").strip().lower()
        kv = kv_precision or GGUF_KV.get(tk)
        if kv is None:
            raise ValidationError(f"{p}: record {i}, field 'type_k': {tk!r} is not one of {sorted(GGUF_KV)}; "
                                  "pass kv_precision=…")
        _ids(p, "llama-bench", model=name, hardware=hw, precision=prec, engine=engine, n_devices=n_devices)
        test = f"pp{int(n_prompt)}" if n_prompt else f"tg{int(n_gen)}"
        notes = [f"llama-bench {test}" + (f" @ d{int(depth)}" if depth else "")]
        for key in ("backends", "n_gpu_layers", "flash_attn", "build_commit"):
            if rec.get(key) not in (None, ""):
                notes.append(f"{key}={rec[key]}")
        date = str(rec.get("test_time") or "")[:10] or None
        rows.append({
            "source_group": "llama-bench", "model_id": name, "hardware_id": hw, "precision_id": prec,
            "kv_precision_id": kv, "engine_id": engine, "n_devices": n_devices, "batch_size": 1,
            "input_tokens": int(n_prompt), "context_depth": int(depth), "output_tokens": int(n_gen),
            "request_rate_per_s": None, "kind": "prefill_tps_bs1" if n_prompt else "decode_tps_bs1",
            "measured": ts, "notes_short": "; ".join(notes),
            "date": date if date and re.match(r"^\d{4}-\d{2}-\d{2}$", date) else None,
            "source": f"{p.name} record {i}", "statistic": "mean",
            "flash_attention": _flag(rec.get("flash_attn"), flash_attention),
        })
    return build_frame(rows, p, "llama-bench")


def _flag(value, default: bool | None = None) -> bool | None:
    """llama-bench's ``flash_attn`` (JSON true/false, CSV or markdown 0/1): a bool; ``default`` where it is absent;
    None for ``auto`` (the build decides; the estimator then reads it as fused)."""
    text = str(value).strip().lower() if value is not None else ""
    if text == "":
        return default
    return True if text in ("1", "true", "on", "yes") else False if text in ("0", "false", "off", "no") else None


# ---------------------------------------------------------------- MLPerf

_MLPERF_NS = {  # summary key (lower case) → (kind, statistic)
    "mean first token latency (ns)": ("serving_ttft_ms", "mean"),
    "50.00 percentile first token latency (ns)": ("serving_ttft_ms", "p50"),
    "90.00 percentile first token latency (ns)": ("serving_ttft_ms", "p90"),
    "95.00 percentile first token latency (ns)": ("serving_ttft_ms", "p95"),
    "99.00 percentile first token latency (ns)": ("serving_ttft_ms", "p99"),
    "mean time to output token (ns)": ("serving_tpot_ms", "mean"),
    "50.00 percentile time to output token (ns)": ("serving_tpot_ms", "p50"),
    "90.00 percentile time to output token (ns)": ("serving_tpot_ms", "p90"),
    "95.00 percentile time to output token (ns)": ("serving_tpot_ms", "p95"),
    "99.00 percentile time to output token (ns)": ("serving_tpot_ms", "p99"),
}


def read_mlperf_summary(path: str | Path, *, model: str | None = None, hardware: str | None = None,
                        precision: str | None = None, kv_precision: str | None = None, engine: str | None = None,
                        n_devices: int | None = None, statistics: tuple[str, ...] = ("mean",),
                        input_tokens: float | None = None, output_tokens: float | None = None,
                        allow_invalid: bool = False) -> pl.DataFrame:
    """Read an MLPerf Inference LoadGen ``mlperf_log_summary.txt`` (LLM benchmarks).

    Parameters
    ----------
    path : str or Path
        The summary text (``Scenario : Offline``, ``Tokens per second: …``,
        ``Result is : VALID``, additional stats in ns, test parameters).
    model, hardware, precision, engine, n_devices : str / int
        Ids the summary does not state [catalog ids; count]; the SUT name is
        free text and is not parsed.
    kv_precision : str, optional
        KV-cache precision id.
    statistics : tuple of str
        Server-scenario latency statistics to import (``mean``, ``p50``,
        ``p90``, ``p95``, ``p99``).
    input_tokens : float, optional
        Mean prompt length [tokens]; the summary does not have it (left null).
    output_tokens : float, optional
        Mean output length [tokens]; default tokens/s ÷ samples/s.
    allow_invalid : bool
        Import a run whose ``Result is : INVALID`` (refused by default).

    Returns
    -------
    polars.DataFrame
        Offline: one ``offline_output_tps_total`` row [output tokens/s] at an
        unlimited rate. Server / Interactive: ``serving_ttft_ms`` and
        ``serving_tpot_ms`` [ms] at request_rate_per_s = completed samples per
        second (the achieved Poisson rate).

    Notes
    -----
    output_tokens = (tokens per second) / (samples per second), the mean output
    length of the run. Latencies are converted from ns: ms = ns / 1e6. A
    summary of an accuracy run, or of a scenario without token metrics
    (SingleStream, MultiStream), is refused with a message saying so.

    References
    ----------
    mlcommons/inference, loadgen (summary log format); MLPerf Inference rules
    (LLM TTFT/TPOT constraints).

    Examples
    --------
    >>> from infer_econ.io import read_mlperf_summary
    >>> f = read_mlperf_summary(SAMPLES / "mlperf_log_summary_server.txt", model="llama-2-70b",
    ...                         hardware="h100-sxm", precision="fp8", engine="tensorrt-llm", n_devices=8)
    >>> f.select("kind", "request_rate_per_s", "measured").rows()
    [('serving_ttft_ms', 70.42, 412.518734), ('serving_tpot_ms', 70.42, 88.731405)]
    """
    stats = _check_statistics(statistics)
    p, text = read_text(path, "MLPerf mlperf_log_summary.txt")
    if "mlperf results summary" not in text.lower():
        raise ValidationError(f"{p}: no 'MLPerf Results Summary' header; not an mlperf_log_summary.txt")
    n_devices = check_positive_int(n_devices, "n_devices", p)
    kv: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line:
            k, _, v = line.partition(":")
            k = re.sub(r"\s+", " ", k.strip().lstrip("*").strip()).lower()
            if k and k not in kv:
                kv[k] = v.strip()
    for key in ("scenario", "mode", "result is"):
        if key not in kv:
            raise ValidationError(f"{p}: missing field {key.capitalize()!r}; not an mlperf_log_summary.txt")
    mode = kv["mode"].lower()
    if "performance" not in mode:
        raise ValidationError(f"{p}: field 'Mode' is {kv['mode']!r}; only PerformanceOnly runs hold speeds")
    valid = kv["result is"].upper()
    if valid != "VALID" and not allow_invalid:
        raise ValidationError(f"{p}: field 'Result is' is {kv['result is']!r}; pass allow_invalid=True to import "
                              "an invalid run")
    scenario = kv["scenario"].strip()
    _ids(p, "MLPerf summary", model=model, hardware=hardware, precision=precision, engine=engine, n_devices=n_devices)

    def get(*keys: str) -> float | None:
        for k in keys:
            if k in kv and kv[k] != "":
                return number(kv[k], p, k)
        return None

    base = {
        "source_group": "mlperf", "model_id": model, "hardware_id": hardware, "precision_id": precision,
        "kv_precision_id": kv_precision, "engine_id": engine, "n_devices": n_devices, "batch_size": None,
        "input_tokens": int_or_none(input_tokens), "context_depth": 0,
        "notes_short": f"MLPerf {scenario}; result {valid}" + (f"; SUT {kv['sut name']}" if kv.get("sut name") else ""),
        "date": None, "source": p.name,
    }
    rows = []
    low = scenario.lower()
    if low == "offline":
        sps = get("samples per second")
        tps = get("tokens per second", "tokens per second (inferred)")
        if tps is None:
            raise ValidationError(f"{p}: missing field 'Tokens per second'; not an LLM Offline summary")
        tout = output_tokens if output_tokens is not None else (tps / sps if sps else None)
        rows.append({**base, "output_tokens": int_or_none(tout), "request_rate_per_s": math.inf,
                     "kind": "offline_output_tps_total", "measured": tps, "statistic": "value"})
    elif low in ("server", "interactive"):
        sps = get("completed samples per second")
        tps = get("completed tokens per second")
        if sps is None:
            raise ValidationError(f"{p}: missing field 'Completed samples per second'; not an LLM Server summary")
        tout = output_tokens if output_tokens is not None else (tps / sps if tps and sps else None)
        for key, (kind, stat) in _MLPERF_NS.items():
            if stat in stats and key in kv:
                rows.append({**base, "output_tokens": int_or_none(tout), "request_rate_per_s": sps, "kind": kind,
                             "measured": number(kv[key], p, key) / 1e6, "statistic": stat})
        if not rows:
            raise ValidationError(f"{p}: missing field 'Mean First Token latency (ns)'; not an LLM Server summary")
    else:
        raise ValidationError(f"{p}: field 'Scenario' is {scenario!r}; only Offline, Server and Interactive LLM "
                              "runs carry token metrics")
    return build_frame(rows, p, "MLPerf summary")


# ---------------------------------------------------------------- calibration CSV and dispatch

def read_calibration_csv(path: str | Path) -> pl.DataFrame:
    """Read a CSV already in the calibration schema (e.g. ``measured_calibration.csv``).

    Columns ``model_id, hardware_id, precision_id, engine_id, n_devices, kind,
    measured`` are required; the other schema columns are optional (null if
    absent); unknown columns are refused. ``request_rate_per_s`` may be
    ``inf``.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    polars.DataFrame
        The rows in :data:`~infer_econ.io.CALIBRATION_SCHEMA` dtypes.

    Raises
    ------
    ValidationError
        Missing or unknown columns, a value of the wrong type, an unknown
        ``kind``, a non-positive ``measured`` or ``n_devices`` < 1 (row and
        column named).

    Notes
    -----
    Every cell is read as text, then cast column by column to the schema's dtype so a bad
    cell is reported with its row and column instead of a polars parse error.

    References
    ----------
    Calibration schema: :data:`~infer_econ.io.CALIBRATION_SCHEMA` (table in ``docs/api.md``).

    Examples
    --------
    >>> from infer_econ.io import read_calibration_csv
    >>> read_calibration_csv(SAMPLES / "calibration.csv").height
    3
    """
    p, text = read_text(path, "calibration CSV")
    try:
        raw = pl.read_csv(_io.StringIO(text), infer_schema=False)
    except Exception as exc:  # polars raises several types for malformed CSV
        raise ValidationError(f"{p}: not a readable CSV file ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    required = ["model_id", "hardware_id", "precision_id", "engine_id", "n_devices", "kind", "measured"]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise ValidationError(f"{p}: missing column(s) {missing}; calibration CSV columns are {list(CALIBRATION_SCHEMA)}")
    unknown = [c for c in raw.columns if c not in CALIBRATION_SCHEMA]
    if unknown:
        raise ValidationError(f"{p}: unknown column(s) {unknown}; calibration CSV columns are {list(CALIBRATION_SCHEMA)}")
    from ._common import KIND_UNITS

    out = []
    for c, dtype in CALIBRATION_SCHEMA.items():
        if c not in raw.columns:
            out.append(pl.Series(c, [None] * raw.height, dtype))
            continue
        s = raw[c].str.strip_chars()
        s = pl.select(pl.when(s == "").then(None).otherwise(s)).to_series().alias(c)
        if dtype == pl.Int64:
            cast = s.cast(pl.Float64, strict=False).cast(dtype, strict=False)
        elif dtype == pl.Boolean:  # polars casts no text to Boolean: the catalogs' reading of true/false, 1/0, yes/no
            cast = _booleans_from_text(s)
        else:
            cast = s.cast(dtype, strict=False)
        bad = s.is_not_null() & cast.is_null()
        if dtype == pl.Int64:
            f = s.cast(pl.Float64, strict=False)
            bad = bad | (f.is_not_null() & (f != f.round(0))).fill_null(False)
        if dtype == pl.Float64:
            bad = bad | cast.is_nan().fill_null(False)
        if bad.any():
            i = int(bad.arg_true()[0])
            raise ValidationError(f"{p}: row {i + 2}, column {c!r}: {s[i]!r} is not a valid {dtype}")
        out.append(cast)
    frame = pl.DataFrame(out)
    for c in ("model_id", "hardware_id", "precision_id", "engine_id", "n_devices", "kind", "measured"):
        nulls = frame[c].is_null()
        if nulls.any():
            raise ValidationError(f"{p}: row {int(nulls.arg_true()[0]) + 2}, column {c!r}: a value is required")
    off = ~frame["kind"].is_in(list(KIND_UNITS))
    if off.any():
        i = int(off.arg_true()[0])
        raise ValidationError(f"{p}: row {i + 2}, column 'kind': {frame['kind'][i]!r} is not one of {list(KIND_UNITS)}")
    neg = (frame["measured"] <= 0) | frame["measured"].is_infinite() | (frame["n_devices"] < 1)
    if neg.any():
        i = int(neg.arg_true()[0])
        raise ValidationError(f"{p}: row {i + 2}: 'measured' must be finite and > 0 and 'n_devices' ≥ 1")
    return frame


#: ``--format`` names → readers.
FORMATS = {
    "vllm": read_vllm_bench,
    "sglang": read_sglang_bench,
    "aiperf": read_aiperf,
    "llama-bench": read_llama_bench,
    "mlperf": read_mlperf_summary,
    "csv": read_calibration_csv,
}


def sniff_format(path: str | Path) -> str:
    """Guess a benchmark file's format from its content (not its name).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    str
        One of the keys of :data:`FORMATS`.

    Raises
    ------
    ValidationError
        Nothing matches (or the file is missing, too large, not text).

    Notes
    -----
    MLPerf: the ``MLPerf Results Summary`` banner; llama-bench: a markdown
    table, or JSON/CSV with ``avg_ts``; AIPerf/GenAI-Perf: ``input_config`` or
    metric objects, or a ``Metric,…`` CSV table; SGLang: ``mean_e2e_latency_ms``
    or retokenized counts; vLLM: ``mean_ttft_ms`` / ``output_throughput``;
    calibration CSV: ``model_id`` and ``measured`` columns.

    References
    ----------
    The tools' documented output formats (see :func:`read_any`).

    Examples
    --------
    >>> sniff_format(SAMPLES / "llama_bench.md")
    'llama-bench'
    >>> sniff_format(SAMPLES / "mlperf_log_summary_offline.txt")
    'mlperf'
    """
    p, text = read_text(path, "benchmark result")
    head = text.lstrip()[:200_000]
    if "mlperf results summary" in head[:2000].lower():
        return "mlperf"
    if head.startswith("|"):
        return "llama-bench"
    if head.startswith("{") or head.startswith("["):
        recs = parse_json_lines(p, text, "benchmark result")  # invalid JSON: say so (line and reason)
        keys = set().union(*(r.keys() for r in recs)) if recs else set()
        if "avg_ts" in keys:
            return "llama-bench"
        if "input_config" in keys or (len(recs) == 1 and {"time_to_first_token", "output_token_throughput"}
                                       & set(_aiperf_metrics_from_json(recs[0]))):
            return "aiperf"
        if "mean_e2e_latency_ms" in keys or "total_output_tokens_retokenized" in keys:
            return "sglang"
        if "mean_ttft_ms" in keys or "output_throughput" in keys:
            return "vllm"
        raise ValidationError(f"{p}: JSON with fields {sorted(keys)[:12]} is none of vLLM, SGLang, AIPerf, llama-bench")
    first = head.splitlines()[0].lower() if head else ""
    if first.startswith("metric,"):
        return "aiperf"
    if "avg_ts" in first:
        return "llama-bench"
    if "model_id" in first and "measured" in first:
        return "csv"
    raise ValidationError(f"{p}: format not recognized (not a vLLM/SGLang/AIPerf/llama-bench/MLPerf result or a "
                          "calibration CSV); pass the format explicitly")


def read_any(path: str | Path, format: str = "auto", **ids: Any) -> pl.DataFrame:
    """Read any supported benchmark file into the calibration schema.

    Parameters
    ----------
    path : str or Path
        A result file of vLLM, SGLang, AIPerf/GenAI-Perf, llama-bench, MLPerf,
        or a calibration CSV.
    format : str
        ``auto`` (sniff the content with :func:`sniff_format`) or a key of
        :data:`FORMATS` (``calibration`` is another name for ``csv``).
    **ids
        Keyword arguments of the chosen reader (``hardware=``,
        ``precision=``, ``n_devices=`` …). Keywords a reader does not take are
        refused, except ids that are None.

    Returns
    -------
    polars.DataFrame
        The calibration-schema frame.

    Notes
    -----
    ``format='auto'`` reads the content once to pick the reader (:func:`sniff_format`), then that
    reader parses the file.

    References
    ----------
    Calibration schema: :data:`~infer_econ.io.CALIBRATION_SCHEMA` (table in ``docs/api.md``).
    The tools' own output formats: vLLM ``benchmark_serving.py``, SGLang ``bench_serving``, NVIDIA
    AIPerf / GenAI-Perf, llama.cpp ``llama-bench``, MLPerf Inference ``mlperf_log_summary.txt``.

    Examples
    --------
    >>> from infer_econ.io import read_any
    >>> read_any(SAMPLES / "llama_bench.csv", hardware="apple-m2-max-38c", n_devices=1)["kind"].to_list()
    ['prefill_tps_bs1', 'decode_tps_bs1']
    """
    import inspect

    fmt = sniff_format(path) if format == "auto" else ("csv" if format == "calibration" else format)
    if fmt not in FORMATS:
        raise ValidationError(f"format {format!r} is not one of {['auto', *FORMATS]}")
    reader = FORMATS[fmt]
    accepted = set(inspect.signature(reader).parameters) - {"path"}
    extra = {k for k, v in ids.items() if k not in accepted and v is not None}
    if extra:
        raise ValidationError(f"{path}: the {fmt} reader takes {sorted(accepted)}, not {sorted(extra)}")
    return reader(path, **{k: v for k, v in ids.items() if k in accepted and v is not None})


def read_upload(content: bytes | str, filename: str, format: str = "auto", **ids: Any) -> pl.DataFrame:
    """Read an uploaded benchmark file held in memory (a notebook ``FileUpload`` value) like :func:`read_any`.

    Parameters
    ----------
    content : bytes or str
        The file's content; at most :data:`~infer_econ.io.MAX_UPLOAD_BYTES`.
    filename : str
        The name the user gave it (shown in messages and the ``source``
        column; folders are dropped).
    format : str
        ``auto`` or a key of :data:`FORMATS`.
    **ids
        As in :func:`read_any`.

    Returns
    -------
    polars.DataFrame
        The calibration-schema frame.

    Raises
    ------
    ValidationError
        As the readers do, naming ``filename`` (never a temporary path).

    Notes
    -----
    The bytes are written to a private temporary folder under the plain name (folders and ``..``
    dropped) and read with :func:`read_any`; the folder is removed afterwards.

    References
    ----------
    Calibration schema: :data:`~infer_econ.io.CALIBRATION_SCHEMA` (table in ``docs/api.md``).

    Examples
    --------
    >>> f = read_upload((SAMPLES / "llama_bench.md").read_bytes(), "my run.md", model="qwen2-7b",
    ...                 hardware="rtx-4090", n_devices=1)
    >>> f["source"][0], f.height
    ('my_run.md record 1', 4)
    """
    import tempfile

    from . import _common

    from ..errors import InferEconError

    safe = re.sub(r"[^\w.-]+", "_", re.split(r"[\\/]", str(filename))[-1]).strip("._") or "upload"
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    if len(data) > _common.MAX_UPLOAD_BYTES:
        raise ValidationError(f"{safe}: upload is {len(data):,} bytes; the limit for uploads is "
                              f"{_common.MAX_UPLOAD_BYTES:,}")
    with tempfile.TemporaryDirectory(prefix="infer-econ-upload-") as d:
        p = Path(d) / safe
        p.write_bytes(data)
        try:
            return read_any(p, format=format, **ids)
        except InferEconError as exc:
            msg = str(exc).replace(str(p), safe)
            raise ValidationError(msg) from None


#: file suffixes looked at inside a folder given to :func:`read_many`
FOLDER_SUFFIXES = (".json", ".jsonl", ".csv", ".md", ".txt")


def read_many(paths: str | Path | list, format: str = "auto", *, progress: Any = None, **ids: Any) -> pl.DataFrame:
    """Read several benchmark files (or folders of them) into one calibration-schema frame.

    Parameters
    ----------
    paths : path or list of paths
        Files and folders. A folder contributes its files with a suffix in
        :data:`FOLDER_SUFFIXES` (recursively, sorted); those whose content is
        none of the supported formats are skipped (a results folder holds logs
        and inputs too). A file named explicitly must be readable.
    format : str
        ``auto`` or a key of :data:`FORMATS`, for every file.
    progress : optional
        As in :func:`~infer_econ.io.run_with_progress` (default none).
    **ids
        As in :func:`read_any`.

    Returns
    -------
    polars.DataFrame
        The rows of every file, stacked.

    Raises
    ------
    ValidationError
        An explicitly named file fails, or no file could be read (the message
        lists what was skipped and why).

    Notes
    -----
    Folders are searched recursively; files of a folder that no reader recognises are skipped and
    listed, files named explicitly must read.

    References
    ----------
    Calibration schema: :data:`~infer_econ.io.CALIBRATION_SCHEMA` (table in ``docs/api.md``).

    Examples
    --------
    >>> f = read_many([SAMPLES / "llama_bench.json", SAMPLES / "llama_bench.csv"], hardware="rtx-4090",
    ...               n_devices=1)
    >>> f.height
    5
    """
    from ..errors import InferEconError
    from .progress import run_with_progress

    items = paths if isinstance(paths, (list, tuple)) else [paths]
    files: list[tuple[Path, bool]] = []
    for item in items:
        q = Path(item)
        if q.is_dir():
            files += [(f, False) for f in sorted(q.rglob("*")) if f.is_file() and f.suffix.lower() in FOLDER_SUFFIXES]
        else:
            files.append((q, True))
    skipped: list[str] = []

    def one(entry: tuple[Path, bool]):
        f, named = entry
        if named:
            return read_any(f, format=format, **ids)
        try:
            fmt = sniff_format(f) if format == "auto" else format
        except InferEconError as exc:
            skipped.append(f"{f.name}: {str(exc).split(': ', 1)[-1][:80]}")
            return None
        return read_any(f, format=fmt, **ids)

    done = run_with_progress(one, files, progress=progress, label="reading ")
    if done.interrupted:
        raise KeyboardInterrupt
    frames = [r for r in (done.result if isinstance(done.result, list) else [done.result]) if r is not None]
    if not frames:
        raise ValidationError(f"{', '.join(map(str, items))}: no benchmark file could be read"
                              + (f" (skipped: {'; '.join(skipped[:5])})" if skipped else " (no files)"))
    return pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]

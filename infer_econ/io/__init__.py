"""Ecosystem: import other tools' benchmark results, export what users share.

- Importers (:mod:`infer_econ.io.readers`): ``read_vllm_bench``,
  ``read_sglang_bench``, ``read_aiperf``, ``read_llama_bench``,
  ``read_mlperf_summary``, ``read_calibration_csv`` and ``read_any`` (content
  sniffing), all returning frames in :data:`CALIBRATION_SCHEMA`.
- Exports (:mod:`infer_econ.io.export`): ``export_frame`` (CSV / Parquet /
  JSON), ``export_chart`` (PNG / SVG / HTML, offline), ``report_html`` and
  ``write_report`` (the one-page, self-contained planner report).
- Progress (:mod:`infer_econ.io.progress`): ``run_with_progress`` and
  ``sweep`` (terminal or widget bar; Ctrl-C keeps what was computed).

- Users' tables (:mod:`infer_econ.io.sheets`): ``read_sheet`` reads
  spreadsheet-exported CSV (``;`` or tab separators, decimal commas, BOM) and
  ``load_user_catalog`` merges it into a catalog (``catalog.load(name,
  extra=...)``, validated row by row; plain CSV works with ``extra=path``
  directly).

Hourly demand CSV goes through ``demand.read_demand_csv``; a model from a
Hugging Face ``config.json`` through ``catalog.model_from_config``.
"""

from __future__ import annotations

from ._common import (
    CALIBRATION_SCHEMA,
    KIND_UNITS,
    MAX_UPLOAD_BYTES,
    MODEL_ALIASES,
    model_id_candidates,
    normalize_model_name,
    resolve_hardware,
    resolve_model,
)
from .export import (
    ID_COLUMNS_CATALOGS,
    atomic_write,
    catalog_sources,
    chart_svg,
    collect_sources,
    export_chart,
    export_frame,
    report_html,
    write_report,
)
from .progress import Progressed, chunk_frame, run_with_progress, sweep
from .sheets import load_user_catalog, read_sheet
from .readers import (
    BACKEND_ENGINES,
    FORMATS,
    GGUF_KV,
    GGUF_PRECISIONS,
    read_aiperf,
    read_any,
    read_calibration_csv,
    read_llama_bench,
    read_many,
    read_mlperf_summary,
    read_sglang_bench,
    read_upload,
    read_vllm_bench,
    sniff_format,
)

__all__ = [
    "CALIBRATION_SCHEMA", "KIND_UNITS", "MAX_UPLOAD_BYTES", "MODEL_ALIASES", "BACKEND_ENGINES", "FORMATS",
    "GGUF_PRECISIONS", "GGUF_KV",
    "normalize_model_name", "model_id_candidates", "resolve_model", "resolve_hardware",
    "read_vllm_bench", "read_sglang_bench", "read_aiperf", "read_llama_bench", "read_mlperf_summary",
    "read_calibration_csv", "read_any", "read_upload", "read_many", "sniff_format",
    "atomic_write", "export_frame", "export_chart", "chart_svg", "collect_sources", "catalog_sources", "ID_COLUMNS_CATALOGS",
    "report_html", "write_report",
    "Progressed", "run_with_progress", "chunk_frame", "sweep",
    "read_sheet", "load_user_catalog",
]

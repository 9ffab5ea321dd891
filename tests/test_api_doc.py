"""docs/api.md is generated from the docstrings: the committed page must match the generator."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("build_api_doc", ROOT / "scripts" / "build_api_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_api_page_is_current():
    text = _generator().build()
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == text, "docs/api.md is out of date: run .venv/bin/python scripts/build_api_doc.py"


def test_page_lists_every_public_function_and_column_units():
    gen = _generator()
    text = gen.build()
    from infer_econ import io, scenario

    for name in ("read_vllm_bench", "read_any", "export_frame", "report_html", "run_with_progress"):
        assert f"#### `{name}(" in text
    for name in scenario.__all__:
        if callable(getattr(scenario, name)) and name != "Field":
            assert f"#### `{name}(" in text, name
    # every result column with a unit-suffix has a unit in the table
    for line in text.split("## Modules and functions")[0].splitlines():
        if line.startswith("| `") and line.count("|") == 5:
            col, unit = line.split("|")[1].strip(" `"), line.split("|")[2].strip()
            if gen._suffix_unit(col):
                assert unit, col
    assert "| `serving_ttft_ms` | ms |" in text
    assert all(f"| `{c}` |" in text for c in io.CALIBRATION_SCHEMA)


def test_suffix_units():
    gen = _generator()
    assert gen._suffix_unit("usd_per_device_hour") == "USD/h"
    assert gen._suffix_unit("kv_cache_gb_per_device") == ""  # not a suffix: listed in the glossary instead
    assert gen._suffix_unit("memory_bandwidth_gb_per_s") == "GB/s"
    assert gen._suffix_unit("prefill_s") == "s"

"""Generate docs/api.md (the documented Python API) from the package's docstrings and column dictionaries.

Usage: ``.venv/bin/python scripts/build_api_doc.py`` (writes docs/api.md);
``--check`` exits 1 when the committed page differs from what it would write.
The page has two parts:

1. Nomenclature: every column name with its unit. Result columns come from
   ``docs/glossary.csv`` and from the ``*_COLUMNS`` constants the modules
   export (a column missing from the glossary gets the unit its suffix names);
   catalog columns come from ``data/columns/<catalog>.csv``.
2. Every public function and class of every public module (``__all__``): its
   signature, summary, and the Parameters / Returns sections of its numpy-style
   docstring (units in brackets).
"""

from __future__ import annotations

import csv
import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "api.md"
GLOSSARY = ROOT / "docs" / "glossary.csv"
SKIP = {"infer_econ.cli", "infer_econ.share", "infer_econ.__main__"}
#: unit named by a column's suffix (rule 3 of the code rules), longest suffix first
SUFFIX_UNITS = [
    ("_usd_per_device_hour", "USD/h"), ("_usd_per_hour", "USD/h"), ("_tokens_per_s", "tokens/s"),
    ("_items_per_s", "items/s"), ("_gb_per_s", "GB/s"), ("_g_co2e_per_kwh", "g CO2e/kWh"), ("_per_s", "1/s"),
    ("_g_co2e", "g CO2e"), ("_kg_co2e", "kg CO2e"), ("_per_kwh", "USD/kWh"), ("_gib", "GiB (2^30 B)"),
    ("_gb", "GB (1e9 B)"), ("_kwh", "kWh"), ("_w", "W"), ("_j", "J"), ("_ms", "ms"), ("_s", "s"),
    ("_usd", "USD"), ("_fraction", "fraction"), ("_pct", "%"), ("_tflops", "TFLOP/s"), ("_tops", "TOP/s"),
    ("_b", "1e9 params"), ("_tokens", "tokens"), ("_years", "years"), ("_hours", "h"),
]


def _suffix_unit(name: str) -> str:
    for suf, unit in SUFFIX_UNITS:
        if name.endswith(suf) or name == suf[1:]:
            return unit
    return ""


def _clean(text: str) -> str:
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text)


def _cell(text: object) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _modules() -> list:
    import infer_econ

    names = ["infer_econ"]
    for info in pkgutil.walk_packages(infer_econ.__path__, "infer_econ."):
        n = info.name
        if any(n == s or n.startswith(s + ".") for s in SKIP) or any(p.startswith("_") for p in n.split(".")[1:]):
            continue
        if n.endswith(".conftest"):
            continue
        names.append(n)
    mods = []
    for n in sorted(set(names)):
        mods.append(importlib.import_module(n))
    return mods


def _sections(doc: str) -> tuple[str, dict[str, str]]:
    """Summary paragraph and numpy sections of a docstring."""
    doc = inspect.cleandoc(doc or "")
    lines = doc.splitlines()
    summary, i = [], 0
    while i < len(lines) and lines[i].strip():
        summary.append(lines[i].strip())
        i += 1
    sections: dict[str, list[str]] = {}
    current = None
    for j in range(i, len(lines)):
        line = lines[j]
        nxt = lines[j + 1] if j + 1 < len(lines) else ""
        if line.strip() and re.fullmatch(r"-{3,}", nxt.strip()) and not line.startswith(" "):
            current = line.strip()
            sections[current] = []
            continue
        if current and re.fullmatch(r"-{3,}", line.strip()):
            continue
        if current:
            sections[current].append(line)
    return " ".join(summary), {k: "\n".join(v).strip("\n") for k, v in sections.items()}


def _result_columns(mods) -> dict[str, str]:
    """Column name → the constant(s) listing it."""
    found: dict[str, list[str]] = {}
    for m in mods:
        for n in getattr(m, "__all__", []):
            if not (n.endswith("_COLUMNS") or n == "METRICS"):
                continue
            v = getattr(m, n, None)
            if isinstance(v, dict):
                v = list(v)
            if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
                for c in v:
                    found.setdefault(c, []).append(f"{m.__name__.removeprefix('infer_econ.')}.{n}")
    return {c: ", ".join(v) for c, v in found.items()}


def nomenclature(mods) -> list[str]:
    with open(GLOSSARY, newline="", encoding="utf-8") as fh:
        gloss = {r["column"]: r for r in csv.DictReader(fh)}
    listed = _result_columns(mods)
    out = ["## Nomenclature", "",
           "Column names carry their unit (GB = 10^9 bytes, GiB = 2^30). Scenario and result columns:", "",
           "| column | unit | meaning | listed in |", "|---|---|---|---|"]
    for c in sorted(set(gloss) | set(listed)):
        g = gloss.get(c, {})
        unit = g.get("unit") or _suffix_unit(c)
        out.append(f"| `{c}` | {_cell(unit)} | {_cell(g.get('meaning', ''))} | {_cell(listed.get(c, ''))} |")
    from infer_econ import io, scenario

    out += ["", "### Measurement (calibration) columns", "",
            "Frames of `infer_econ.io.read_*` and the input of `infer_econ.calibrate.fit`; `kind` says what "
            "`measured` is and in which unit:", "", "| column | type |", "|---|---|"]
    out += [f"| `{c}` | {t} |" for c, t in io.CALIBRATION_SCHEMA.items()]
    out += ["", "| kind | unit |", "|---|---|"]
    out += [f"| `{k}` | {_cell(u)} |" for k, u in io.KIND_UNITS.items()]
    out += ["", "### Scenario file keys", "",
            f"`infer_econ.scenario` (schema_version {scenario.SCHEMA_VERSION}):", "",
            "| key | type | unit | range | default | meaning |", "|---|---|---|---|---|---|"]
    for f in scenario.FIELDS:
        lo = "" if f.min is None else (f"> {f.min:g}" if f.min_exclusive else f"≥ {f.min:g}")
        hi = "" if f.max is None else f"≤ {f.max:g}"
        rng = " / ".join(f.allowed) if f.allowed else ", ".join(x for x in (lo, hi) if x)
        dflt = "required" if f.required else repr(f.default)
        out.append(f"| `{f.name}` | {f.type} | {_cell(f.unit)} | {_cell(rng)} | {_cell(dflt)} | {_cell(f.description)} |")
    out += ["", "### Catalog columns", "",
            "Each catalog `data/<name>.csv` is validated against its column dictionary `data/columns/<name>.csv`.", ""]
    for p in sorted((ROOT / "data" / "columns").glob("*.csv")):
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        out += [f"#### `{p.stem}`", "", "| column | unit | type | meaning |", "|---|---|---|---|"]
        for r in rows:
            out.append(f"| `{r['column']}` | {_cell(r['unit'])} | {_cell(r['dtype'])} | {_cell(r['description'])} |")
        out.append("")
    return out


def functions(mods) -> list[str]:
    out = ["## Modules and functions", ""]
    for m in mods:
        public = getattr(m, "__all__", None)
        if m.__name__ == "infer_econ":
            summary, _ = _sections(m.__doc__ or "")
            out += [f"### `{m.__name__}`", "", summary, ""]
            continue
        if public is None:
            public = [n for n, v in vars(m).items() if not n.startswith("_") and callable(v)
                      and getattr(v, "__module__", None) == m.__name__]
        summary, _ = _sections(m.__doc__ or "")
        out += [f"### `{m.__name__}`", "", summary or "(no module docstring)", ""]
        for n in public:
            obj = getattr(m, n, None)
            if obj is None or inspect.ismodule(obj):
                continue
            home = getattr(obj, "__module__", m.__name__)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and home != m.__name__ and home.startswith("infer_econ"):
                out += [f"- `{n}`: see `{home}`", ""]
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                try:
                    sig = _clean(str(inspect.signature(obj)))
                except (TypeError, ValueError):
                    sig = "(…)"
                kind = "class " if inspect.isclass(obj) else ""
                s, secs = _sections(obj.__doc__ or "")
                out += [f"#### `{kind}{n}{sig}`", "", s or "(no docstring)", ""]
                for sec in ("Parameters", "Returns", "Raises"):
                    if secs.get(sec):
                        out += [f"*{sec}*", "", "```text", secs[sec], "```", ""]
            else:
                text = _clean(repr(obj))
                text = text if len(text) <= 120 else text[:117] + "..."
                out += [f"- `{n}` = `{text}`", ""]
    return out


def build() -> str:
    sys.path.insert(0, str(ROOT))
    mods = _modules()
    from infer_econ import __version__

    lines = ["# infer-econ Python API", "",
             f"Generated from the docstrings of infer-econ {__version__} by `scripts/build_api_doc.py`; "
             "do not edit by hand (`tests/test_api_doc.py` checks the page is current).", ""]
    lines += nomenclature(mods) + functions(mods)
    return "\n".join(line.rstrip() for line in lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = build()
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run .venv/bin/python scripts/build_api_doc.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

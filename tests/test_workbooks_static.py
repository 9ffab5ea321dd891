"""Static checks of the workbooks: committed without outputs, only allowed imports, no formulas,
short code cells, the teaching parts present, solutions for the exercises, and a gallery that links
to every workbook."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WB = ROOT / "workbooks"
EXPECTED = [
    "00_start_here", "01_hardware", "02_model_size", "03_quantization", "04_latency_throughput",
    "05_autoscaling", "06_edge_vs_cloud", "07_value_of_accuracy", "08_build_vs_buy", "09_sustainability",
    "10_planner", "11_calibrate",
]
NOTEBOOKS = sorted(WB.glob("[0-9][0-9]_*.ipynb"))
ALLOWED_IMPORTS = {"infer_econ", "ipywidgets", "altair", "polars", "IPython"}
MAX_CODE_LINES = 8
MAX_CODE_CELLS = 6
#: AST nodes that would be logic or formulas in a notebook (they belong in the library).
FORBIDDEN = (ast.BinOp, ast.AugAssign, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Lambda, ast.FunctionDef,
             ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.If, ast.ListComp, ast.DictComp,
             ast.SetComp, ast.GeneratorExp, ast.Subscript)


def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _markdown(nb: dict) -> str:
    return "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_names_are_the_expected_ones():
    unexpected = [p.stem for p in NOTEBOOKS if p.stem not in EXPECTED]
    assert not unexpected, f"unexpected workbook names {unexpected}; expected names: {EXPECTED}"
    assert NOTEBOOKS, "no workbooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nb = _nb(path)
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "code":
            assert c.get("outputs") == [], f"{path.name} cell {i} has outputs: clear them before committing"
            assert c.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_code_cells_are_short_imports_and_kit_calls(path):
    cells = [_source(c) for c in _nb(path)["cells"] if c["cell_type"] == "code"]
    assert 1 <= len(cells) <= MAX_CODE_CELLS, f"{path.name}: {len(cells)} code cells"
    for i, src in enumerate(cells):
        lines = [ln for ln in src.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        assert len(lines) <= MAX_CODE_LINES, f"{path.name} code cell {i}: {len(lines)} lines"
        tree = ast.parse(src)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                roots = set()
            assert roots <= ALLOWED_IMPORTS, f"{path.name} cell {i} imports {roots - ALLOWED_IMPORTS}"
            assert not isinstance(node, FORBIDDEN), (
                f"{path.name} cell {i}: {type(node).__name__} at line {getattr(node, 'lineno', '?')}: "
                "formulas and logic belong in the library, not in a workbook"
            )
        assert "pl.col" not in src, f"{path.name} cell {i}: column arithmetic belongs in the library"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_teaching_parts_present(path):
    md = _markdown(_nb(path))
    for heading in ("What you will learn", "Try this", "Exercises"):
        assert re.search(rf"^#+ .*{heading}", md, re.M | re.I), f"{path.name}: no '{heading}' section"
    assert len(md.split()) >= 150, f"{path.name}: the prose is too thin ({len(md.split())} words)"
    code = "\n".join(_source(c) for c in _nb(path)["cells"] if c["cell_type"] == "code")
    assert "apps." in code, f"{path.name}: the app comes from infer_econ.ui.apps"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_solutions_exist_and_are_linked(path):
    md = _markdown(_nb(path))
    sol = WB / "solutions" / f"{path.stem}.md"
    assert sol.is_file(), f"no solutions file {sol.relative_to(ROOT)}"
    assert f"solutions/{path.stem}.md" in md, f"{path.name} does not link its solutions"
    text = sol.read_text(encoding="utf-8")
    n_ex = len(re.findall(r"^\d+\. ", md.split("Exercises", 1)[-1], re.M))
    n_sol = len(re.findall(r"^#+ .*(Exercise|Solution)", text, re.M | re.I))
    assert n_ex >= 2 and n_sol >= n_ex, f"{path.name}: {n_ex} exercises, {n_sol} solutions"


def test_start_here_links_every_workbook():
    start = WB / "00_start_here.ipynb"
    if not start.is_file():
        pytest.skip("00_start_here not written yet")
    md = _markdown(_nb(start))
    for p in NOTEBOOKS:
        if p.stem != "00_start_here":
            assert f"]({p.name})" in md, f"00_start_here does not link {p.name}"


def _dollars_outside_code(text: str) -> list[str]:
    """Each '$' outside code spans and fences, with 30 characters either side. MathJax, which Voila and JupyterLab
    run on every markdown cell, and GitHub's markdown read a pair of them as inline TeX ("$0.001 and the cost of an
    error to $50" drew "0.001andthecost…" in math italics in workbook 07). Prose writes amounts as "0.05 USD", as
    the knobs' units do."""
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))
    return [prose[max(0, m.start() - 30):m.end() + 30] for m in re.finditer(r"\$", prose)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_has_no_dollar_sign_math_would_take(path):
    hits = _dollars_outside_code(_markdown(_nb(path)))
    assert not hits, f"{path.name}: '$' in markdown (write amounts as '0.05 USD'): {hits}"


@pytest.mark.parametrize("path", sorted((WB / "solutions").glob("*.md")), ids=lambda p: p.stem)
def test_solutions_have_no_dollar_sign_math_would_take(path):
    hits = _dollars_outside_code(path.read_text(encoding="utf-8"))
    assert not hits, f"{path.name}: '$' in markdown (write amounts as '0.05 USD'): {hits}"


def test_the_dollar_check_fails_on_a_pair_and_spares_code():
    assert len(_dollars_outside_code("costs $0.05 per answer and $0.02 per error")) == 2
    assert not _dollars_outside_code("set `$INFER_ECON_HOME` or\n```sh\necho $HOME\n```\n")

"""Every bad input of tests/bad_inputs.py gets its documented error, a message that names the culprit, and loses nothing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from infer_econ.errors import InferEconError

from . import bad_inputs as B

REPO = Path(__file__).resolve().parents[1]


def _params(kind: str):
    out = []
    for c in B.CASES:
        if c.kind != kind:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
        out.append(pytest.param(c, id=f"{c.id}:{c.tried[:70]}", marks=marks))
    return out


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_at_least_200_cases_run():
    assert len(B.CASES) >= 200
    assert len({c.id for c in B.CASES}) == len(B.CASES)
    assert all(c.names for c in B.CASES), "every case names what the message must name"


@pytest.mark.parametrize("case", _params("call"))
def test_call_case(case: B.Case):
    frames = [f.clone() for f in case.frames]
    files = {p: _digest(p) for p in case.files}
    with pytest.raises(InferEconError) as info:
        case.run()
    assert isinstance(info.value, case.error), f"{type(info.value).__name__}: {info.value}"
    msg = str(info.value)
    B.OUTCOMES[case.id] = (type(info.value).__name__, msg)
    for name in case.names:
        assert name in msg, f"message does not name {name!r}: {msg}"
    assert "\n" not in msg.strip() or len(msg) < 20_000
    # loses nothing: the caller's frames and the user's files are as they were
    for before, after in zip(frames, case.frames, strict=True):
        assert after.equals(before)
    for p, d in files.items():
        assert _digest(p) == d, f"{p} was modified"


@pytest.mark.parametrize("case", _params("cli"))
def test_cli_case(case: B.Case, capsys):
    from infer_econ import cli

    files = {p: _digest(p) for p in case.files}
    rc = cli.main(list(case.run))
    err = capsys.readouterr().err
    B.OUTCOMES[case.id] = (f"exit {rc}", err.strip())
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for name in case.names:
        assert name in err, f"stderr does not name {name!r}: {err}"
    for p, d in files.items():
        assert _digest(p) == d


@pytest.mark.parametrize("case", _params("ui"))
def test_ui_case(case: B.Case):
    shown = case.run()
    B.OUTCOMES[case.id] = ("app", shown)
    assert "Traceback" not in shown
    for name in case.names:
        assert name in shown, f"the app shows {shown!r}, which does not name {name!r}"


def test_cli_debug_shows_the_traceback():
    from infer_econ import cli

    with pytest.raises(InferEconError, match="hardwares"):
        cli.main(["--debug", "catalog", "hardwares"])


@pytest.mark.parametrize("argv, names", [
    (["catalog", "hardwares"], ["'hardwares'"]),
    (["catalog", "cloud_prices", "--extra", str(B.WORKDIR / "cli_bad_prices.csv")], ["row 2", "usd_per_device_hour"]),
    (["nonsense-command"], ["nonsense-command"]),
])
def test_cli_subprocess_one_line_exit_2(argv, names):
    r = subprocess.run([sys.executable, "-m", "infer_econ", *argv], capture_output=True, text=True, cwd=REPO,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for n in names:
        assert n in r.stderr


def test_cli_subprocess_debug_traceback():
    r = subprocess.run([sys.executable, "-m", "infer_econ", "--debug", "catalog", "hardwares"], capture_output=True,
                       text=True, cwd=REPO, timeout=120)
    assert r.returncode != 0 and "Traceback" in r.stderr and "UnknownIdError" in r.stderr


def test_empty_frame_is_an_empty_answer_not_an_error():
    import infer_econ

    empty = B.scenario_frame().clear()
    out = infer_econ.estimate(empty)
    assert out.height == 0 and "fits" in out.columns


def test_user_catalog_file_untouched_by_a_successful_load():
    from infer_econ import catalog

    p = B.WORKDIR / "my_hardware.csv"
    d = _digest(p)
    merged = catalog.load("hardware", extra=p)
    assert "my-gpu" in merged["id"].to_list()
    assert _digest(p) == d


def test_doc_matches_the_generator():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import build_bad_inputs_doc as gen
    finally:
        sys.path.pop(0)
    committed = (REPO / "docs" / "bad_inputs.md").read_text(encoding="utf-8")
    assert committed == gen.render(), "docs/bad_inputs.md is stale: run .venv/bin/python scripts/build_bad_inputs_doc.py"


def _buttons(widget):
    import ipywidgets as w

    if isinstance(widget, w.Button):
        yield widget
    for c in getattr(widget, "children", ()):
        yield from _buttons(c)


@pytest.mark.parametrize("name", B._app_names())
def test_every_button_of_every_app_works_without_a_result(name):
    """Export / save / fit buttons pressed while the app shows an error (no result) answer with a message."""
    app = B.workbook_app(name)
    original = app.compute

    def broken(values):
        raise InferEconError("simulated: this combination cannot be computed")

    try:
        app.compute = broken
        app._cache.clear()
        app.state.frames = {}
        app.refresh()
        assert app.state.error and "Traceback" not in app.status.value
        for button in _buttons(app.widget):
            for handler in button._click_handlers.callbacks:
                handler(button)  # an exception here would only reach the log: the user would see nothing happen
    finally:
        app.compute = original
        app._cache.clear()
        app.refresh()
    assert app.state.error is None, app.state.error

"""Security checks (docs/security.md): no code execution on user input, upload caps, Voila locked down,
pinned Binder environment."""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import tempfile
from pathlib import Path

import pytest

import infer_econ
from infer_econ import catalog, demand, io, scenario
from infer_econ.errors import InferEconError

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "infer_econ"
SOURCES = sorted(PKG.rglob("*.py"))

#: modules that deserialize Python objects (code execution on a crafted file)
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "marshal", "joblib"}
#: builtins that run text as code
UNSAFE_BUILTINS = {"eval", "exec", "compile", "__import__"}


def _trees():
    for p in SOURCES:
        yield p, ast.parse(p.read_text(encoding="utf-8"), filename=str(p))


def test_the_scan_sees_the_whole_package():
    names = {p.relative_to(PKG).as_posix() for p in SOURCES}
    assert {"catalog.py", "perf.py", "scenario.py", "io/readers.py", "ui/core.py", "cli/__init__.py"} <= names


def test_no_eval_exec_or_compile_anywhere():
    """AST scan (not grep): a call of the builtins eval/exec/compile/__import__, also via builtins.X."""
    found = []
    for p, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Name) and f.id in UNSAFE_BUILTINS:
                if f.id == "__import__" and node.args and isinstance(node.args[0], ast.Constant):
                    continue  # importing a fixed module by name runs no user text
                found.append(f"{p.relative_to(REPO)}:{node.lineno} {f.id}(")
            if (isinstance(f, ast.Attribute) and f.attr in UNSAFE_BUILTINS and isinstance(f.value, ast.Name)
                    and f.value.id in ("builtins", "__builtins__")):
                found.append(f"{p.relative_to(REPO)}:{node.lineno} builtins.{f.attr}(")
            if isinstance(f, ast.Name) and f.id == "getattr" and len(node.args) >= 2 and isinstance(
                    node.args[1], ast.Constant) and node.args[1].value in UNSAFE_BUILTINS:
                found.append(f"{p.relative_to(REPO)}:{node.lineno} getattr(…, {node.args[1].value!r})")
    assert not found, found


def test_the_scan_would_catch_eval():
    tree = ast.parse("x = eval(user_text)\ny = df.list.eval(expr)\n")
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert any(isinstance(f, ast.Name) and f.id == "eval" for f in calls)  # the builtin: flagged
    assert any(isinstance(f, ast.Attribute) and f.attr == "eval" for f in calls)  # polars .list.eval: not a builtin


def test_no_pickle_or_object_deserialization():
    found = []
    for p, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [f"{p.name}:{node.lineno} import {a.name}" for a in node.names
                          if a.name.split(".")[0] in UNSAFE_MODULES]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in UNSAFE_MODULES:
                found.append(f"{p.name}:{node.lineno} from {node.module}")
            elif isinstance(node, ast.Call):
                f = node.func
                # numpy.load(..., allow_pickle=True), yaml.load without a safe loader, polars .deserialize()
                if any(k.arg == "allow_pickle" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                       for k in node.keywords):
                    found.append(f"{p.name}:{node.lineno} allow_pickle")
                if isinstance(f, ast.Attribute) and f.attr in ("deserialize", "unsafe_load", "full_load"):
                    found.append(f"{p.name}:{node.lineno} .{f.attr}(")
                if (isinstance(f, ast.Attribute) and f.attr == "load" and isinstance(f.value, ast.Name)
                        and f.value.id == "yaml"):
                    found.append(f"{p.name}:{node.lineno} yaml.load")
    assert not found, found


def test_no_shell_commands():
    found = []
    for p, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                if any(k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value for k in node.keywords):
                    found.append(f"{p.name}:{node.lineno} shell=True")
                f = node.func
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "os" and \
                        f.attr in ("system", "popen") or (isinstance(f, ast.Attribute) and f.attr.startswith("exec")
                                                          and isinstance(f.value, ast.Name) and f.value.id == "os"):
                    found.append(f"{p.name}:{node.lineno} os.{f.attr}")
    assert not found, found


def test_json_readers_refuse_nan_tricks_and_deep_nesting(tmp_path):
    """Deeply nested JSON (a stack bomb) is a clear error, not a RecursionError."""
    bomb = "[" * 100_000 + "]" * 100_000
    p = tmp_path / "bomb.json"
    p.write_text(bomb)
    for fn in (lambda: scenario.load(p), lambda: io.read_any(p, hardware="h100-sxm", precision="bf16", n_devices=1),
               lambda: catalog.model_from_config(p)):
        with pytest.raises(InferEconError):
            fn()


# ----------------------------------------------------------------------------- upload caps
CAPS = [
    ("catalog extra= CSV", "catalog.MAX_EXTRA_BYTES", catalog.MAX_EXTRA_BYTES,
     lambda p: catalog.load("hardware", extra=p)),
    ("Hugging Face config.json", "catalog.MAX_EXTRA_BYTES", catalog.MAX_EXTRA_BYTES,
     lambda p: catalog.model_from_config(p)),
    ("benchmark upload", "io.MAX_UPLOAD_BYTES", io.MAX_UPLOAD_BYTES,
     lambda p: io.read_any(p, hardware="h100-sxm", precision="bf16", n_devices=1)),
    ("hourly demand CSV", "demand.MAX_DEMAND_BYTES", demand.MAX_DEMAND_BYTES, lambda p: demand.read_demand_csv(p)),
    ("scenario JSON", "scenario.MAX_SCENARIO_BYTES", scenario.MAX_SCENARIO_BYTES, lambda p: scenario.load(p)),
]


@pytest.mark.parametrize("what, name, cap, read", CAPS, ids=[c[0] for c in CAPS])
def test_upload_caps_exist_and_are_enforced(tmp_path, what, name, cap, read):
    assert isinstance(cap, int) and 0 < cap <= 100_000_000, (name, cap)
    p = tmp_path / "big.csv"
    with open(p, "wb") as fh:  # sparse: the size is checked before anything is read
        fh.truncate(cap + 1)
    with pytest.raises(InferEconError) as info:
        read(p)
    msg = str(info.value).replace(",", "")
    assert str(cap + 1) in msg or str(cap) in msg, msg


@pytest.mark.parametrize("fmt", sorted(io.FORMATS))
def test_every_importer_enforces_the_upload_cap(tmp_path, fmt):
    p = tmp_path / "big.json"
    with open(p, "wb") as fh:
        fh.truncate(io.MAX_UPLOAD_BYTES + 1)
    ids = {} if fmt == "csv" else {"hardware": "h100-sxm", "precision": "bf16", "n_devices": 1}
    with pytest.raises(InferEconError, match="limit"):
        io.read_any(p, format=fmt, **ids)


def test_demand_row_cap(tmp_path):
    p = tmp_path / "rows.csv"
    p.write_text("hour,requests\n" + "".join(f"{i},1\n" for i in range(demand.MAX_DEMAND_ROWS + 1)))
    with pytest.raises(InferEconError, match="rows"):
        demand.read_demand_csv(p)


def _uploads(widget):
    import ipywidgets as w

    if isinstance(widget, w.FileUpload):
        yield widget
    for c in getattr(widget, "children", ()):
        yield from _uploads(c)


def _messages(widget):
    import ipywidgets as w

    if isinstance(widget, w.HTML) and widget.value:
        yield widget.value
    for c in getattr(widget, "children", ()):
        yield from _messages(c)


def test_every_upload_widget_is_capped():
    """Each FileUpload of each workbook app refuses a file just over its reader's cap, knobs unchanged."""
    import datetime

    from infer_econ.ui import apps

    caps = {"planner": scenario.MAX_SCENARIO_BYTES, "calibrate": io.MAX_UPLOAD_BYTES}
    seen = set()
    for name in [n for n in apps.__all__ if n != "PRIMARY_CLASS"]:
        app = getattr(apps, name)()
        ups = list(_uploads(app.widget))
        if not ups:
            continue
        seen.add(name)
        assert name in caps, f"app {name!r} has an upload widget this test does not know the cap of"
        before = app.values()
        content = b" " * (caps[name] + 1)
        ups[0].value = ({"name": "big.json", "type": "", "size": len(content), "content": memoryview(content),
                         "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)
        msgs = [m for m in _messages(app.widget) if "could not" in m]
        assert msgs and "limit" in msgs[0], (name, msgs)
        assert app.values() == before
    assert seen == set(caps), seen


# ----------------------------------------------------------------------------- Voila
def test_voila_json_strips_sources_and_hides_tracebacks():
    cfg = json.loads((REPO / "voila.json").read_text())["VoilaConfiguration"]
    assert cfg["strip_sources"] is True
    assert cfg["show_tracebacks"] is False
    allow = cfg.get("file_allowlist", [])
    for pattern in allow:  # only inert static files are served, never notebooks, Python or the .git folder
        for bad in ("workbooks/01_hardware.ipynb", "infer_econ/catalog.py", ".git/config", "binder/start"):
            assert not re.fullmatch(pattern, bad), (pattern, bad)


def test_serve_command_strips_sources_and_hides_tracebacks():
    from infer_econ.cli.serve import voila_command

    cmd = voila_command(REPO, 8866)
    assert "--strip_sources=True" in cmd and "--show_tracebacks=False" in cmd
    assert not any("strip_sources=False" in c or "show_tracebacks=True" in c for c in cmd)
    assert "--Voila.ip=127.0.0.1" in cmd, "serve listens on localhost by default"


@pytest.mark.skipif(os.name != "posix", reason="the ipc transport needs Unix sockets")
def test_serve_connects_kernels_over_unix_sockets_with_short_paths():
    """TCP ports picked for a kernel can be taken before it binds them (tests/browser: every kernel on ipc)."""
    from infer_econ.cli.serve import kernel_transport_args, voila_command

    cmd = voila_command(REPO, 8866)
    assert "--KernelManager.transport=ipc" in cmd
    root = next(a.split("=", 1)[1] for a in cmd if a.startswith("--Voila.connection_dir_root="))
    # Voila's folder voila_XXXXXXXX and the longest socket name must fit a Unix socket path (103 bytes on macOS)
    longest = f"{root}/voila_abcdefgh/kernel-{'0' * 8}-{'0' * 4}-{'0' * 4}-{'0' * 4}-{'0' * 12}-ipc-10"
    assert len(longest.encode()) <= 103
    assert kernel_transport_args("/tmp") == ["--KernelManager.transport=ipc", "--Voila.connection_dir_root=/tmp"]
    macos_tmp = "/var/folders/zz/" + "x" * 26 + "/T"  # a 44-byte temporary folder: 110-byte socket paths
    assert kernel_transport_args(macos_tmp)[1] == "--Voila.connection_dir_root=/tmp"
    assert kernel_transport_args("/tmp/" + "y" * 29)[1].endswith("y" * 29)  # 34 + 66 = 100 bytes: fits


def test_serve_delays_the_pool_refill():
    """A page that takes a pre-heated kernel renders before its replacement starts (about 4 s of a core)."""
    from infer_econ.cli.serve import REFILL_DELAY_S, voila_command

    assert REFILL_DELAY_S >= 5.0
    assert f"--VoilaKernelManager.fill_delay={REFILL_DELAY_S}" in voila_command(REPO, 8866)
    assert "--VoilaKernelManager.fill_delay=120" in voila_command(REPO, 8866, fill_delay_s=120)
    cfg = json.loads((REPO / "voila.json").read_text())  # a plain `voila` in the checkout does the same
    assert cfg["VoilaKernelManager"]["fill_delay"] == REFILL_DELAY_S


def test_voila_accepts_only_widget_messages():
    """The Voila server forwards comm (widget) messages to kernels, never execute requests."""
    from voila import app

    src = inspect.getsource(app)
    m = re.search(r"allowed_message_types=\[(.*?)\]", src, re.S)
    assert m, "voila no longer lists allowed_message_types: re-check its message filter"
    allowed = set(re.findall(r'"(\w+)"', m.group(1)))
    assert "execute_request" not in allowed
    assert {"comm_open", "comm_msg"} <= allowed
    assert allowed <= {"comm_open", "comm_close", "comm_msg", "comm_info_request", "kernel_info_request",
                       "shutdown_request"}


def test_app_errors_show_no_traceback():
    from infer_econ.ui import App, ChartView, Result, knobs
    from infer_econ import plot

    def compute(v):
        if v["n"] > 1:
            raise RuntimeError(f"secret path {tempfile.gettempdir()}/x.py line 3")
        return Result(frames={"c": __import__("polars").DataFrame({"hardware": ["a"], "usd_per_hour": [1.0]})})

    app = App("t", {"n": knobs.int_slider("n", 1, 1, 3)}, compute,
              [ChartView("c", lambda f: plot.bars(f, "usd_per_hour", "hardware"))])
    app.knobs["n"].value = 2
    assert "Traceback" not in app.status.value and 'File "' not in app.status.value
    assert "could not be computed" in app.status.value


# ----------------------------------------------------------------------------- pinned environment
def _requirements() -> list[str]:
    lines = (REPO / "binder" / "requirements.txt").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]


def test_binder_requirements_fully_pinned():
    reqs = _requirements()
    assert len(reqs) > 20
    for r in reqs:
        if r.startswith(".") or r.startswith("-e ."):  # the package itself, from this checkout
            continue
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[\w,\-]+\])?==[A-Za-z0-9_.+!\-]+", r), f"not pinned: {r!r}"
    names = [re.split(r"[=\[]", r)[0].lower().replace("_", "-") for r in reqs if not r.startswith(".")]
    assert len(names) == len(set(names)), "a package is pinned twice"
    for pkg in ("voila", "ipywidgets", "polars", "altair", "jupyterlab"):
        assert pkg in names, pkg


def test_binder_pins_match_this_environment_for_the_core_stack():
    """The stack the tests run on is the one Binder installs (no silent drift)."""
    from importlib.metadata import version

    pins = {re.split(r"[=\[]", r)[0].lower().replace("_", "-"): r.split("==")[1] for r in _requirements()
            if "==" in r}
    for pkg in ("voila", "ipywidgets", "polars", "altair"):
        assert version(pkg) == pins[pkg], (pkg, version(pkg), pins[pkg])


def test_security_doc_records_the_audit():
    doc = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    assert "pip-audit" in doc and re.search(r"20\d\d-\d\d-\d\d", doc)
    for cap in ("MAX_EXTRA_BYTES", "MAX_UPLOAD_BYTES", "MAX_DEMAND_BYTES", "MAX_SCENARIO_BYTES"):
        assert cap in doc
    assert infer_econ.__version__

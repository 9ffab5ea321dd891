"""Binder rebuild: a fresh virtual environment from binder/requirements.txt,
started the way Binder starts it (binder/start, then a Jupyter server with
Voila's server extension, repository root as the working folder), and one
workbook rendered through the ``voila/render/…`` path in Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infer_econ.cli.serve import free_port

from . import pagecheck
from .conftest import ROOT, Server, workbooks

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BINDER = ROOT / "binder"


def test_binder_pins_python_312():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.12"


def test_binder_requirements_are_pinned_and_include_the_package():
    lines = [
        ln.split("#")[0].strip()
        for ln in (BINDER / "requirements.txt").read_text().splitlines()
        if ln.split("#")[0].strip()
    ]
    local = [ln for ln in lines if ln.startswith(".")]
    assert local == [".[app]"], "binder/requirements.txt must install the package itself with its app extra"
    unpinned = [ln for ln in lines if not ln.startswith(".") and "==" not in ln]
    assert not unpinned, f"unpinned requirements: {unpinned}"
    names = {ln.split("==")[0].lower().replace("_", "-") for ln in lines if "==" in ln}
    for needed in ["voila", "jupyterlab", "ipywidgets", "altair", "polars", "anywidget", "vl-convert-python"]:
        assert needed in names, needed


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    venv = tmp_path_factory.mktemp("binder") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # as repo2docker does: pip install -r binder/requirements.txt from the repository root
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", "binder/requirements.txt"],
        cwd=ROOT, check=True, timeout=1200,
    )
    return venv


def test_binder_environment_renders_a_workbook(binder_env, page):
    nbs = workbooks()
    assert nbs
    nb = nbs[0]
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_PATH", "VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{binder_env / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    runtime = binder_env.parent / "runtime"  # where the server writes its kernels' connection files
    env["JUPYTER_RUNTIME_DIR"] = str(runtime)
    port = free_port()
    cmd = [
        str(BINDER / "start"), str(binder_env / "bin" / "jupyter"), "server", "--no-browser", "--allow-root",
        f"--port={port}", "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
    ]
    srv = Server(cmd, "/voila/tree", env, ROOT, "binder")
    try:
        pg = page.page
        pg.goto(f"{srv.base}/voila/render/workbooks/{nb.name}", wait_until="domcontentloaded")
        assert pagecheck.wait_for_charts(pg, timeout_s=120) >= 1
        pagecheck.assert_no_error_output(pg)
        page.assert_clean()
        # the page came from our template: Font Awesome is served by this server, not a CDN
        html = pg.content()
        assert "voila/templates/infer-econ/static/fontawesome" in html
        # the page's kernel is on Unix sockets (binder/jupyter: over TCP a port picked for a kernel can be taken
        # by another connection before the kernel binds it; see infer_econ.cli.serve.kernel_transport_args)
        infos = [json.loads(f.read_text()) for f in runtime.glob("kernel-*.json")]
        assert infos and {i["transport"] for i in infos} == {"ipc"}, infos
    finally:
        srv.stop()

"""JupyterLab itself: open a workbook, run all cells from the UI, check that its
charts draw and that a knob moves them, with nothing fetched from outside."""

from __future__ import annotations

import json
import sys

import pytest

from infer_econ.cli.serve import free_port, voila_env

from . import pagecheck
from .conftest import ARTIFACTS, ROOT, Server, workbooks

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    settings = tmp_path_factory.mktemp("lab-settings")
    workspaces = tmp_path_factory.mktemp("lab-workspaces")
    # no news feed or update check: JupyterLab would otherwise ask the internet
    (settings / "@jupyterlab").mkdir()
    (settings / "@jupyterlab" / "apputils-extension").mkdir()
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port = free_port()
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
        f"--ServerApp.root_dir={ROOT}", f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workspaces}", "--LabServerApp.announcements_url=",
    ]
    srv = Server(cmd, "/lab", voila_env(), ROOT, "jupyterlab")
    yield srv
    srv.stop()


def test_workbook_runs_in_jupyterlab(lab_server, page):
    nbs = workbooks()
    assert nbs, "no workbooks"
    nb = next((p for p in nbs if p.name.startswith("01_")), nbs[0])
    pg = page.page
    pg.goto(f"{lab_server.base}/lab/tree/workbooks/{nb.name}", wait_until="domcontentloaded")
    pg.wait_for_selector(".jp-Notebook", timeout=90000)
    # a notebook without kernel metadata asks which kernel: take the preferred one
    try:
        pg.wait_for_selector(".jp-Dialog .jp-mod-accept", timeout=4000)
        pg.locator(".jp-Dialog .jp-mod-accept").first.click()
    except Exception:
        pass
    # wait for the kernel to be ready, then Run ▸ Run All Cells from the menu bar
    pg.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90000)
    pg.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    pg.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    try:
        n = pagecheck.wait_for_charts(pg, timeout_s=120)
        assert n >= 1
        pagecheck.assert_no_error_output(pg)
        sliders = pagecheck.knobs(pg)
        assert sliders.count() >= 1
        before = pagecheck.snapshot(pg)
        pagecheck.turn(pg, sliders.first)
        pagecheck.wait_change(pg, before, need_headline=False)
    except AssertionError:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "jupyterlab.png"), full_page=True)
        raise
    page.assert_clean()

"""Fixtures for the browser tests: a Voila (or JupyterLab) server on a free
localhost port, and Debian's Chromium driven by Playwright (never a downloaded
browser). Every page records console errors and any request that leaves
localhost; a failing test saves a screenshot under ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from infer_econ._paths import new_ready_dir, ready_count
from infer_econ.cli.serve import free_port, voila_command, voila_env

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
]
LOCAL_PREFIXES = ("http://localhost", "http://127.0.0.1", "ws://localhost", "ws://127.0.0.1", "data:", "blob:", "about:")
#: console messages that are not errors of ours: none are ignored today; keep this list empty unless
#: a message is proven to come from a third-party component and to be harmless, with the reason.
IGNORED_CONSOLE: list[str] = []
#: Voila's page sends its kernel-shutdown request with navigator.sendBeacon, which cannot carry the XSRF
#: header, so the server answers 403 when a user leaves a page (upstream: voila-dashboards/voila#1458).
#: That one response is tolerated — and only when it is the sole failure — because the kernel it fails to
#: stop is reclaimed by the idle-kernel culling that `infer-econ serve` and binder/ configure.
SHUTDOWN_BEACON = "/voila/api/shutdown/"


def workbooks() -> list[Path]:
    return sorted((ROOT / "workbooks").glob("[0-9][0-9]_*.ipynb"))


def _wait_http(url: str, proc: subprocess.Popen, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url} within {timeout_s} s:\n{log.read_text()[-3000:]}")


class Server:
    def __init__(self, cmd: list[str], ready_path: str, env: dict, cwd: Path, name: str):
        self.port = int(next(a.split("=")[1] for a in cmd if a.startswith(("--port=", "--ServerApp.port="))))
        self.base = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = ARTIFACTS / f"{name}-{self.port}.log"
        self._fh = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self._fh, stderr=subprocess.STDOUT)
        _wait_http(self.base + ready_path, self.proc, 120, self.log)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._fh.close()


def start_voila(preheat: bool = True, root: Path = ROOT, python: str = sys.executable, env=None) -> Server:
    cmd = voila_command(root, free_port(), preheat=preheat)
    cmd[0] = python
    env = dict(env or voila_env())
    ready = new_ready_dir(env)  # each kernel leaves a file here once its workbook's app is built
    srv = Server(cmd, "/voila/tree/workbooks", env, root, "voila")
    srv.ready_dir = ready
    return srv


def ready_kernels(srv: Server) -> int:
    """How many of the server's kernels have built their workbook's app (pre-heated or opened) [count]."""
    return ready_count(srv.ready_dir)


def wait_for_pools(srv: Server, n: int, timeout_s: float = 600) -> None:
    """Wait until n kernels have run their workbook to the end (Voila's "pool filled" line comes
    earlier, when a kernel has started and its workbook is still running)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready_kernels(srv) >= n:
            return
        if srv.proc.poll() is not None:
            raise RuntimeError(f"voila exited:\n{srv.log.read_text()[-3000:]}")
        time.sleep(0.25)
    raise RuntimeError(f"only {ready_kernels(srv)} of {n} pre-heated kernels ready in {timeout_s} s")


@pytest.fixture(scope="session")
def voila_server():
    srv = start_voila(preheat=True)
    # as a user meets it: the server has started and pre-heated one kernel per workbook
    wait_for_pools(srv, len(workbooks()))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed: the test command installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Watched:
    """A page plus what it logged: console errors, page errors, outside requests."""

    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.external: list[str] = []
        self.failed: list[str] = []
        page.on("console", self._console)
        page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("request", self._request)

    def _console(self, msg) -> None:
        if msg.type == "error" and not any(s in msg.text for s in IGNORED_CONSOLE):
            self.console_errors.append(msg.text)

    def _request(self, req) -> None:
        if not req.url.startswith(LOCAL_PREFIXES):
            self.external.append(req.url)

    def assert_clean(self) -> None:
        assert not self.external, f"requests outside localhost: {self.external}"
        assert not self.page_errors, f"page errors: {self.page_errors}"
        console = self.console_errors
        if self.failed and all(f.startswith("403 ") and SHUTDOWN_BEACON in f for f in self.failed):
            n = len(self.failed)
            beacon = [c for c in console if "status of 403" in c][:n]
            console = [c for c in console if c not in beacon]
        else:
            assert not self.failed, f"failed responses: {self.failed}"
        assert not console, f"console errors: {console}; failed responses: {self.failed}"


@pytest.fixture
def page(browser, request):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    # nothing may leave localhost: abort such requests (and record them)
    ctx.route(lambda url: not url.startswith(LOCAL_PREFIXES), lambda route: route.abort())
    # a cold Voila page is streamed only once its notebook has run: allow for a loaded 2-core machine
    ctx.set_default_navigation_timeout(180_000)
    ctx.set_default_timeout(60_000)
    pg = ctx.new_page()
    watched = Watched(pg)
    yield watched
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
        try:
            pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception:
            pass
    ctx.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)

"""Every workbook in Voila, driven by Debian's Chromium: it renders with no
error output and no prose typeset as math, every chart draws, each primary knob changes the chart and the
headline numbers, the console has no errors and nothing leaves localhost."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from . import pagecheck
from .conftest import workbooks

pytestmark = pytest.mark.browser

WORKBOOKS = workbooks()


def test_there_are_workbooks():
    assert WORKBOOKS, "no workbooks/NN_*.ipynb found"


@pytest.mark.parametrize("nb", WORKBOOKS, ids=[p.stem for p in WORKBOOKS])
def test_workbook_in_voila(nb, voila_server, page):
    pg = page.page
    pg.goto(f"{voila_server.base}/voila/render/workbooks/{nb.name}", wait_until="domcontentloaded")
    n_charts = pagecheck.wait_for_charts(pg)
    assert n_charts >= 1
    pagecheck.assert_no_error_output(pg)
    sliders = pagecheck.knobs(pg)
    assert sliders.count() >= 1, "a workbook needs at least one slider driving a chart"
    for i in range(sliders.count()):
        before = pagecheck.snapshot(pg)
        pagecheck.turn(pg, sliders.nth(i))
        pagecheck.wait_change(pg, before, need_headline=True)
    pagecheck.assert_no_error_output(pg)
    pagecheck.assert_no_typeset_math(pg)
    page.assert_clean()


def test_start_page_links_every_workbook_and_the_links_open(voila_server, page):
    """The gallery is workbook 00: it links to every other workbook, and a link opens a working app."""
    pg = page.page
    pg.goto(f"{voila_server.base}/voila/render/workbooks/00_start_here.ipynb", wait_until="domcontentloaded")
    pagecheck.wait_for_charts(pg)
    for nb in WORKBOOKS[1:]:
        assert pg.locator(f"a[href*='{nb.name}']").count() >= 1, f"00 does not link to {nb.name}"
    link = pg.locator(f"a[href*='{WORKBOOKS[-1].name}']").first
    with pg.expect_navigation():
        link.click()
    assert WORKBOOKS[-1].name in pg.url
    pagecheck.wait_for_charts(pg)
    pagecheck.assert_no_error_output(pg)
    page.assert_clean()


def test_every_kernel_connects_over_unix_sockets(voila_server):
    """The served kernels (12 pre-heated, started at once) connect over Unix sockets, not TCP ports: over TCP a
    kernel can lose a port picked for it to another connection before it binds it ("Address already in use"),
    and Voila then gives that dead kernel to a page, which never draws (seen on 2026-12-03)."""
    if os.name != "posix":
        pytest.skip("the ipc transport needs Unix sockets")
    log = voila_server.log.read_text()
    folder = Path(re.search(r"Storing connection files in (\S+?)\.?$", log, re.M).group(1))
    infos = [json.loads(p.read_text()) for p in folder.glob("kernel-*.json")]
    assert len(infos) >= len(WORKBOOKS), (folder, len(infos))
    assert {i["transport"] for i in infos} == {"ipc"}
    sockets = [p for p in folder.iterdir() if re.fullmatch(r"kernel-.+-ipc-\d+", p.name)]
    assert len(sockets) >= 5 * len(WORKBOOKS) and all(p.is_socket() for p in sockets)
    for bad in ("Address already in use", "Kernel died", "restarting kernel"):
        assert bad not in log, bad

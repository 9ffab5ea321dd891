"""Capture a screenshot of every workbook as a Voila app (Debian's Chromium, nothing fetched from outside).

Run from the repository root:  .venv/bin/python docs/screenshots/capture.py [NN_name ...]
Writes docs/screenshots/NN_name.png: the app (knobs, headline cards, charts) as the page shows it, 1400 px wide.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_browser import Voila, render_s  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LOCAL_PREFIXES, workbooks  # noqa: E402


def main(names: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    chosen = [p for p in workbooks() if not names or p.stem in names]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        voila = Voila(preheat=False)
        try:
            for nb in chosen:
                ctx = browser.new_context(viewport={"width": 1400, "height": 3000})
                ctx.route(lambda u: not u.startswith(LOCAL_PREFIXES), lambda r: r.abort())
                page = ctx.new_page()
                page.set_default_timeout(120_000)
                render_s(page, f"{voila.base}/voila/render/workbooks/{nb.name}")
                page.wait_for_timeout(800)
                out = Path(__file__).parent / f"{nb.stem}.png"
                # a tall window shows the whole app without scrolling (Voila scrolls an inner panel)
                app = page.locator(".ie-app").first
                app.scroll_into_view_if_needed()
                box = app.bounding_box()
                page.screenshot(path=str(out), clip={"x": 0, "y": max(0, box["y"] - 8), "width": 1400,
                                                     "height": min(1800, box["height"] + 16)})
                print(out.relative_to(ROOT), flush=True)
                ctx.close()
        finally:
            voila.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

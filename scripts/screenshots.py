"""Screenshot every workbook as a Voila app (Debian's Chromium) into docs/screenshots/.

Run:  .venv/bin/python scripts/screenshots.py [NN_name ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import pagecheck  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LOCAL_PREFIXES, start_voila, workbooks  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def main(only: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    nbs = [p for p in workbooks() if not only or p.stem in only]
    srv = start_voila(preheat=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for nb in nbs:
                ctx = browser.new_context(viewport={"width": 1360, "height": 4000}, device_scale_factor=1)
                ctx.route(lambda u: not u.startswith(LOCAL_PREFIXES), lambda r: r.abort())
                pg = ctx.new_page()
                pg.goto(f"{srv.base}/voila/render/workbooks/{nb.name}", wait_until="domcontentloaded")
                pagecheck.wait_for_charts(pg)
                pg.wait_for_timeout(800)
                # the app: from the first widget down (Voila scrolls inside a panel, so use a tall viewport)
                target = OUT / f"{nb.stem}.png"
                top = pg.evaluate(
                    "() => { const w = document.querySelector('.jp-OutputArea-output .jupyter-widgets, .widget-box');"
                    " return w ? w.getBoundingClientRect().top : 0; }"
                )
                pg.screenshot(path=str(target), clip={"x": 0, "y": max(0, top - 10), "width": 1360, "height": 1500})
                print(target.relative_to(ROOT))
                ctx.close()
            browser.close()
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

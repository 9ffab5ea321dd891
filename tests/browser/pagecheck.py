"""What every workbook page must do in a real browser, shared by the Voila,
JupyterLab and Binder tests and by the benchmarks."""

from __future__ import annotations

import time

#: a drawn chart: Vega's SVG or canvas renderer (the live charts use canvas: see infer_econ.ui.core.ChartView)
CHART = ".vega-embed svg.marks, .vega-embed canvas.marks"
SLIDER = ".widget-slider"
PRIMARY = ".ie-primary"
HEADLINE = ".ie-headline"
#: a cell output written to stderr (a warning or a traceback the kernel printed)
STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'

#: what a chart shows, as a string that changes when the drawing does (an SVG's markup, a canvas's pixels)
CHART_CONTENT_JS = """(el) => el.tagName.toLowerCase() === 'canvas' ? el.toDataURL() : el.innerHTML"""

_SNAPSHOT_JS = f"""() => ({{
  charts: Array.from(document.querySelectorAll('{CHART}')).map({CHART_CONTENT_JS}),
  headlines: Array.from(document.querySelectorAll('.ie-headline, .widget-html, .widget-htmlmath'))
      .map(h => h.innerText),
}})"""

#: is this chart element laid out and drawn with marks: SVG elements, or canvas pixels other than the background?
#: The pixel scan stops at the 201st differing pixel (the answer is known then), so a drawn canvas costs a fraction
#: of a full getImageData pass; a canvas the page's draw hook (``__ieRenders``, see benchmarks/bench_browser.py) says
#: Vega has not rendered yet is not scanned at all.
_MARKED_JS = """(x) => {
    const r = x.getBoundingClientRect();
    if (!(r.width > 50 && r.height > 30)) return false;
    if (x.tagName.toLowerCase() !== 'canvas') return x.querySelectorAll('path, rect, line, circle, text').length > 3;
    if (window.__ieDraws !== undefined && !x.__ieRenders) return false;
    const d = x.getContext('2d').getImageData(0, 0, x.width, x.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4)
      if ((d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) && ++n > 200) return true;
    return false;
  }"""

#: every chart is laid out and has marks
_DRAWN_JS = f"""() => {{ const s = Array.from(document.querySelectorAll('{CHART}')); const marked = {_MARKED_JS};
  return s.length > 0 && s.every(marked); }}"""

#: as _DRAWN_JS, remembering the elements found drawn (a timing probe re-run every frame must not re-scan them)
_DRAWN_ONCE_JS = f"""() => {{ const s = Array.from(document.querySelectorAll('{CHART}')); const marked = {_MARKED_JS};
  const seen = (window.__ieMarked ??= new WeakSet());
  return s.length > 0 && s.every(x => seen.has(x) || (marked(x) && seen.add(x))); }}"""

_ERROR_MARKERS = ["Traceback (most recent call last)", "There was an error when executing cell", "Error in callback"]


def snapshot(page) -> dict:
    return page.evaluate(_SNAPSHOT_JS)


def wait_for_charts(page, timeout_s: float = 90) -> int:
    """Wait until at least one chart has drawn marks; return the number of charts."""
    page.wait_for_selector(CHART, timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ok = page.evaluate(_DRAWN_JS)
        if ok:
            return page.locator(CHART).count()
        time.sleep(0.2)
    raise AssertionError(f"charts did not draw: a chart is empty or has no marks: {page_state(page)}")


def drawn_at_s(page, timeout_s: float = 90) -> float:
    """Wait until every chart has drawn (as :func:`wait_for_charts`); return when it first had [s].

    The time is the page's own clock (``performance.now()``: seconds since its navigation started), checked in the
    page on every animation frame (one per ~16 ms), so it carries neither a Python polling interval nor a round trip
    to the browser. The check is light (``_DRAWN_ONCE_JS``): a probe that costs the page's main thread time delays
    the render it measures.
    """
    try:
        page.wait_for_function(
            f"() => {{ if (!({_DRAWN_ONCE_JS})()) return false; window.__ieDrawnAt ??= performance.now(); return true; }}",
            polling="raf", timeout=timeout_s * 1000,
        )
    except Exception as exc:
        raise AssertionError(f"charts not drawn within {timeout_s:g} s: {page_state(page)}") from exc
    return page.evaluate("() => window.__ieDrawnAt") / 1000.0


_STATE_JS = f"""() => {{ const marked = {_MARKED_JS};
  return {{
    charts: Array.from(document.querySelectorAll('{CHART}')).map(x => {{
      const r = x.getBoundingClientRect();
      return `${{x.tagName.toLowerCase()}} ${{Math.round(r.width)}}x${{Math.round(r.height)}} renders=${{x.__ieRenders ?? '-'}} marked=${{marked(x)}}`;
    }}),
    embeds: document.querySelectorAll('.vega-embed').length,
    widgets: document.querySelectorAll('.jupyter-widgets').length,
    errors: document.querySelectorAll('{STDERR}').length,
    ready: document.readyState,
  }}; }}"""


def page_state(page) -> str:
    """What a page holds now, in one line: each chart element (size, Vega renders counted by the draw hook, marked
    or not), the chart embeds, widgets and error outputs; for the message of a render that timed out."""
    try:
        s = page.evaluate(_STATE_JS)
    except Exception as exc:  # the page itself is gone or hung
        return f"page state unreadable: {exc}"
    return (f"charts {s['charts'] or 'none'}; {s['embeds']} chart embeds, {s['widgets']} widgets, "
            f"{s['errors']} error outputs, document {s['ready']}")


def assert_no_typeset_math(page) -> None:
    """No prose was typeset as TeX: the workbooks have no formulas on screen, so a MathJax element means a pair of
    dollar amounts in a markdown cell became inline math (tests/test_workbooks_static.py checks the sources)."""
    found = page.evaluate("() => Array.from(document.querySelectorAll('mjx-container, .MathJax')).map(m => m.textContent)")
    assert not found, f"text typeset as math (a '$' pair in the prose?): {found}"


def assert_no_error_output(page) -> None:
    text = page.inner_text("body")
    for marker in _ERROR_MARKERS:
        assert marker not in text, f"page shows an error: {marker!r}"
    assert page.locator(STDERR).count() == 0, "stderr output on page"
    assert page.locator(".ie-error:visible").count() == 0, "the app shows an error message"


def knob_selector(page) -> str:
    """CSS selector of the sliders the checks turn: those marked primary (class ie-primary), else all sliders."""
    primary = f"{PRIMARY}{SLIDER}, {PRIMARY} {SLIDER}"
    return primary if page.locator(primary).count() else SLIDER


def knobs(page):
    """The sliders the test turns (:func:`knob_selector`)."""
    return page.locator(knob_selector(page))


def turn(page, slider, presses: int = 3) -> None:
    """Move a slider by keyboard, right unless it sits at its maximum."""
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
    key = "ArrowLeft" if now is not None and top is not None and float(now) >= float(top) else "ArrowRight"
    handle.focus()
    for _ in range(presses):
        handle.press(key)


def wait_change(page, before: dict, *, need_headline: bool, timeout_s: float = 15) -> dict:
    deadline = time.monotonic() + timeout_s
    after = before
    while time.monotonic() < deadline:
        after = snapshot(page)
        chart_changed = after["charts"] != before["charts"]
        head_changed = after["headlines"] != before["headlines"]
        if chart_changed and (head_changed or not need_headline):
            return after
        time.sleep(0.05)
    raise AssertionError(
        "turning the knob changed "
        + ("nothing" if after == before else "the headline but no chart" if after["charts"] == before["charts"] else "the chart but no headline")
    )

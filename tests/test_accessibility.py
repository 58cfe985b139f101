"""Accessibility (WCAG 2.1 AA): the built book in a browser, and the figures the
package draws.

In the browser (marked ``browser``: the built book in headless Chromium, offline, as
in ``tests/test_browser.py``; they skip without Playwright, Chromium or axe-core):

1. axe-core, injected into every page in the light and the dark colour mode, finds no
   violation of any impact, minor to critical (all of its rules: WCAG 2.0, 2.1 A and
   AA and its best practices). axe-core is the npm package ``axe-core``, installed into
   ``node_modules/`` (``npm ci``: package-lock.json pins 4.14.1; as ``.ci/run`` does).
2. The keyboard alone: in every chapter with explorers, Tab reaches each control
   (slider, dropdown, toggle button; the text box and radio buttons of an explorer
   computed in the page) from the start of its explorer; each has an accessible name
   (and a pressed state, for toggle buttons); arrow keys, Space, Enter and typing
   change the picture, and the opposite key brings it back.
3. Dark mode (the theme's own button switches to it): every picture is opaque, or
   lies on an opaque picture (an explorer's transparent top layer on its background),
   so no figure is drawn on the dark page.
4. At a 1280-pixel-wide window every figure is shown at least ``COLUMN_PX`` wide (or
   at its full size): the display width that test 7 assumes.
5. Dark mode shows every picture of a chapter (figures and explorers) exactly as light
   mode does: screenshots of what the reader sees of each, in the two modes, are equal
   pixel for pixel, at 1280 and at 390 pixels wide (on a phone, at both ends of an
   explorer picture that scrolls sideways); a picture that the page shows scaled may
   differ only by the browser's resampling seams (``SCALED_LEVELS``).
6. On a phone (390 pixels wide) no text in an explorer's picture is smaller than
   ``PHONE_SMALLEST_PX`` (its size in points at the figure's dpi, times the scale at
   which the page shows the picture); every control is at least ``TOUCH_PX`` wide and
   high; a picture that scrolls sideways keeps its layers together; axe-core finds no
   violation there either.

Checks 1 and 3 to 6 only read a page: each page is visited once per window width and
colour mode (``View``, fixture ``view``) and they share what was measured there.

Without a browser:

7. The smallest text of every figure the package draws (static figures as a notebook
   shows them, explorers as they render) reads as at least 9 pt in the book: its size
   times ``DPI / 96`` (a figure pixel is a CSS pixel), times the scale at which the
   text column shows the picture.
8. Every colour map in those figures is readable in grey scale: its lightness (CIELAB
   L*) changes monotonically.
9. Colour never carries a meaning alone: every legend's entries differ in marker, line
   style, hatch or kind of mark as well; the highlighted bar is hatched and outlined.
10. Every figure stored in a chapter has alt text that says what it shows.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import io
import json
import re
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from scripts import chromium as offline
from tests.test_browser import PAGES, book, browser  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
FAILURES = ROOT / "_build" / "browser-failures"
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

#: The width (CSS pixels) at which the book shows a picture of that width or more:
#: the text column with a 1280-pixel-wide window (both sidebars shown). Narrower
#: windows scale pictures down further; the reader can zoom. Test 4 checks it.
COLUMN_PX = 672
CSS_DPI = 96  # CSS pixels per inch: a figure pixel (at DPI) is one CSS pixel
#: A phone's window (CSS pixels), the smallest text it may show in an explorer's
#: picture (CSS pixels), the smallest control it may offer a finger (WCAG 2.5.8).
PHONE = {"width": 390, "height": 844}
#: The window of a reader at a desk (tests 1, 3, 4, 5).
DESKTOP = {"width": 1280, "height": 900}
PHONE_SMALLEST_PX = 8.0
TOUCH_PX = 24
SMALLEST_PT = 9.0
#: Alt text that names the kind of thing and not what it shows.
GENERIC = re.compile(
    r"^\s*(an? |the )?(figure|image|picture|plot|graph|chart|diagram|output|png|"
    r"img|screenshot|untitled)( \d+)?\s*[.:]?\s*$|\.(png|jpe?g|svg|gif|webp)\s*$",
    re.IGNORECASE,
)


def _alt_problem(text: str) -> str | None:
    """Why ``text`` is no description of a figure, or None if it is one."""
    if not text or not text.strip():
        return "no alt text"
    if GENERIC.search(text):
        return f"a generic word or a file name: {text!r}"
    if len(text.split()) < 5:
        return f"too short to say what it shows: {text!r}"
    return None


# --------------------------------------------------------------------------------------
# In the browser


@pytest.fixture(scope="session")
def axe_source():
    if not AXE.exists():
        pytest.skip(
            f"axe-core is not installed ({AXE.relative_to(ROOT)} is missing): "
            "npm ci (package-lock.json pins it)"
        )
    return AXE.read_text(encoding="utf-8")


class Reader:
    """A page opened the way tests/test_browser.py opens it (offline; console errors
    and blocked requests counted), at a given window size and colour mode."""

    def __init__(self, chromium, url, request, *, width=1200, height=900, mode=None):
        self.context = chromium.new_context(viewport={"width": width, "height": height})
        if mode is not None:  # a returning reader who chose this mode
            self.context.add_init_script(
                f"localStorage.setItem('mode', '{mode}');"
                f"localStorage.setItem('theme', '{mode}');"
            )
        self.page = self.context.new_page()
        self.book, self.request = url, request
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        offline.block_external(self.page)

    def open(self, name: str):
        page = self.page
        page.goto(f"{self.book}{name}.html")
        page.wait_for_load_state("networkidle")
        page.evaluate(
            "() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null"
        )
        page.wait_for_function(
            """() => Array.from(document.querySelectorAll(
                         'script[type="application/vnd.jupyter.widget-view+json"]'))
                     .every(s => s.parentElement.querySelector('.jupyter-widgets'))""",
            timeout=15000,
        )
        # Nested widgets (the pictures inside an explorer's stacks) render after their
        # explorer, and the controls are named a moment later: wait until every
        # picture has loaded and the page has not changed for half a second.
        page.evaluate(QUIET_WATCH)
        page.wait_for_function(QUIET_FOR, arg=500, timeout=15000, polling=100)
        return page

    def close(self):
        node = getattr(self.request, "node", None)  # None: a shared View
        rep = getattr(node, "rep_call", None)
        if rep is not None and rep.failed:
            FAILURES.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", self.request.node.name)
            with contextlib.suppress(Exception):
                self.page.screenshot(
                    path=str(FAILURES / f"a11y_{name}.png"), full_page=True
                )
        self.context.close()


#: Records when the page last changed (any mutation of the DOM).
QUIET_WATCH = """() => {
    window.a11yLastChange = performance.now();
    new MutationObserver(() => { window.a11yLastChange = performance.now(); })
        .observe(document.documentElement, {
            subtree: true, childList: true, attributes: true, characterData: true,
        });
}"""
#: True once every picture has loaded and the page has not changed for ``ms``.
QUIET_FOR = """(ms) => Array.from(document.images).every(i => i.complete)
    && performance.now() - window.a11yLastChange > ms"""


@pytest.fixture
def reader(browser, book, request):  # noqa: F811  (fixtures imported above)
    opened = []

    def make(**kwargs):
        r = Reader(browser, book, request, **kwargs)
        opened.append(r)
        return r

    yield make
    for r in opened:
        r.close()


@dataclasses.dataclass
class View:
    """What a reader sees of one page at one window width in one colour mode, measured
    in one visit and shared by the checks that only read it (tests 1, 3 to 6): each
    page is loaded once per width and mode instead of once per check."""

    dark: bool  #: the page is in dark mode
    errors: list[str]  #: console errors and page errors
    violations: list[dict]  #: what axe-core found (``AXE_RUN``)
    see_through: list[str]  #: pictures drawn on the page's ground (dark mode)
    narrow: list[str]  #: figures shown narrower than the column (``NARROW``)
    explorer_pictures: list  #: ``EXPLORER_PICTURES``
    control_boxes: list  #: ``CONTROL_BOXES``
    pictures: list  #: ``MARK_PICTURES``: [alt text, shown scaled] per picture
    shots: dict  #: (picture, "start" or "end"): PNG of what the reader sees of it
    layers_seen: list  #: ``LAYERS_SEEN`` (it scrolls: measured last)


def _visit(chromium, url, axe_source, name, width, mode) -> View:
    height = DESKTOP["height"] if width == DESKTOP["width"] else PHONE["height"]
    r = Reader(chromium, url, None, width=width, height=height, mode=mode)
    try:
        page = r.open(name)
        dark = _dark(page)
        page.add_script_tag(content=axe_source)
        violations = page.evaluate(AXE_RUN)
        pictures = page.evaluate(MARK_PICTURES)
        shots = {}
        if name in PICTURE_PAGES:
            for k in range(len(pictures)):
                shots[k, "start"], scrolls = _seen(page, k, end=False)
                if scrolls:
                    shots[k, "end"], _ = _seen(page, k, end=True)
        return View(
            dark=dark,
            errors=list(r.errors),
            violations=violations,
            see_through=page.evaluate(SEE_THROUGH) if dark else [],
            narrow=page.evaluate(NARROW, COLUMN_PX),
            explorer_pictures=page.evaluate(EXPLORER_PICTURES),
            control_boxes=page.evaluate(CONTROL_BOXES),
            pictures=pictures,
            shots=shots,
            layers_seen=page.evaluate(LAYERS_SEEN),
        )
    finally:
        r.close()


@pytest.fixture(scope="module")
def view(browser, book, axe_source):  # noqa: F811  (fixtures imported above)
    """``view(name, width, mode)``: the ``View`` of that page, visited on first use."""
    views: dict[tuple, View] = {}

    def get(name: str, width: int, mode: str) -> View:
        key = (name, width, mode)
        if key not in views:
            views[key] = _visit(browser, book, axe_source, name, width, mode)
        return views[key]

    return get


AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => n.target.join(' ')),
    }));
}"""


def _dark(page) -> bool:
    return page.evaluate("document.documentElement.dataset.theme") == "dark"


def _listing(violations) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}, {len(v['nodes'])}x): {v['help']}; "
        f"first: {v['nodes'][:3]}"
        for v in violations
    )


@pytest.mark.browser
@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_violation(view, name, mode):
    seen = view(name, DESKTOP["width"], mode)
    assert seen.dark == (mode == "dark")
    violations = seen.violations
    assert not violations, f"axe-core on {name} ({mode}):\n{_listing(violations)}"
    assert seen.errors == []


# Which explorers each chapter has: (controls, in order of the Tab key).
EXPLORER_PAGES = [
    "chapters/03_score",
    "chapters/04_normalize",
    "chapters/05_blend",
    "chapters/06_attention_matrix",
    "chapters/09_cost_of_attention",
    "chapters/10_multi_head",
    "chapters/11_word_order",
    "chapters/12_real_model",
    "chapters/13_learning",
    "chapters/14_attention_that_writes",
]
# the explorers the page computes itself (book_assets/js): their phone layout is checked
# by tests/test_browser_compute.py and tests/test_browser_pretrained.py; the others are
# ipywidgets with pictures drawn in advance
COMPUTED_IN_PAGE = ["chapters/06_attention_matrix", "chapters/12_real_model"]
WIDGET_PAGES = [p for p in EXPLORER_PAGES if p not in COMPUTED_IN_PAGE]


@pytest.mark.browser
@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("name", EXPLORER_PAGES)
def test_axe_finds_no_violation_on_a_phone(view, name, mode):
    """Where an explorer's picture scrolls sideways in its own box (narrow screens),
    the box must take the keyboard focus (axe-core: scrollable-region-focusable)."""
    seen = view(name, PHONE["width"], mode)
    violations = seen.violations
    assert not violations, (
        f"axe-core on {name} ({mode}, a phone):\n{_listing(violations)}"
    )
    assert seen.errors == []


# Marks the explorers (outputs with a picture and controls, and the explorers computed
# in the page) and their controls; returns [[{kind, id}, ...] per explorer]. A group of
# radio buttons is one control (Tab reaches its checked button; arrows choose).
MARK_CONTROLS = """() => {
    const outputs = Array.from(document.querySelectorAll(
            'main .cell_output, main .sa-explorer'))
        .filter(o => o.matches('.sa-explorer') || (
            o.querySelector('.jupyter-widgets img') && o.querySelector(
                '[role=slider], select, .widget-toggle-button')));
    return outputs.map((o, i) => {
        o.setAttribute('data-a11y-explorer', i);
        const controls = Array.from(o.querySelectorAll(
            '[role=slider], select, button.widget-toggle-button, input[type=text], '
            + 'input[type=radio]:checked'));
        return controls.map((c, j) => {
            c.setAttribute('data-a11y-control', `${i}-${j}`);
            const kind = c.matches('[role=slider]') ? 'slider'
                : c.matches('select') ? 'select'
                : c.matches('input[type=text]') ? 'text'
                : c.matches('input[type=radio]') ? 'radio' : 'toggle';
            return {kind: kind, id: `${i}-${j}`};
        });
    });
}"""
# The picture an explorer shows: its visible <img>, or the SVG drawn in the page.
PICTURE = """(i) => {
    const o = document.querySelector(`[data-a11y-explorer="${i}"]`);
    const drawn = o.querySelector('.sa-picture');
    if (drawn) return drawn.innerHTML;
    const img = Array.from(o.querySelectorAll('img:not([role="presentation"])'))
        .find(im => im.offsetParent !== null);
    return img ? img.src : null;
}"""
FOCUS_START = """(i) => {
    const o = document.querySelector(`[data-a11y-explorer="${i}"]`);
    o.setAttribute('tabindex', '-1');
    o.focus();
    return document.activeElement === o;
}"""
FOCUSED_CONTROL = """() => document.activeElement
    && document.activeElement.getAttribute('data-a11y-control')"""


def _name_and_state(locator) -> tuple[str, str]:
    """The accessible name and the rest of the first line of the element's ARIA
    snapshot (a pressed button ends in ``[pressed]``)."""
    first = locator.aria_snapshot().splitlines()[0].strip(" -'")
    match = re.match(r'\w+ "(?P<name>(?:[^"]|"")*)"(?P<rest>.*)', first)
    return (match.group("name"), match.group("rest")) if match else ("", first)


def _shown_pressed(button) -> bool:
    """Whether a toggle button shows itself pressed (ipywidgets' own class)."""
    return "mod-active" in (button.get_attribute("class") or "").split()


def _marked_pressed(button) -> bool:
    """Whether a toggle button's ARIA state says pressed."""
    return "[pressed]" in _name_and_state(button)[1]


def _soon(condition, seconds=2.0) -> bool:
    """True once ``condition()`` is (the controls' names and states follow their
    changes within a few milliseconds)."""
    import time

    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def _wait_picture(page, explorer, changed_from=None, back_to=None):
    if changed_from is not None:
        page.wait_for_function(
            f"([i, src]) => ({PICTURE})(i) !== src",
            arg=[explorer, changed_from],
            timeout=5000,
        )
    if back_to is not None:
        page.wait_for_function(
            f"([i, src]) => ({PICTURE})(i) === src",
            arg=[explorer, back_to],
            timeout=5000,
        )


@pytest.mark.browser
@pytest.mark.parametrize("name", EXPLORER_PAGES)
def test_every_explorer_control_works_from_the_keyboard(reader, name):
    page = reader().open(name)
    explorers = page.evaluate(MARK_CONTROLS)
    assert explorers, f"no explorer with controls on {name}"
    problems = []
    for i, controls in enumerate(explorers):
        page.evaluate(FOCUS_START, i)
        for control in controls:
            where = f"explorer {i}, {control['kind']} {control['id']}"
            # 1. reached with Tab (in order, from the explorer's start or the control
            #    before it)
            for _ in range(12):
                page.keyboard.press("Tab")
                if page.evaluate(FOCUSED_CONTROL) == control["id"]:
                    break
            else:
                problems.append(f"{where}: not reached with the Tab key")
                continue
            focused = page.locator(f"[data-a11y-control='{control['id']}']")
            # 2. a name (and a state)
            label, rest = _name_and_state(focused)
            if not label.strip():
                problems.append(f"{where}: no accessible name")
            # 3. operated with keys
            before = page.evaluate(PICTURE, i)
            if control["kind"] == "slider":
                now = float(focused.get_attribute("aria-valuenow"))
                top = float(focused.get_attribute("aria-valuemax"))
                there, back = (
                    ("ArrowRight", "ArrowLeft") if now < top else ("ArrowLeft", "End")
                )
                text = focused.get_attribute("aria-valuetext")
                page.keyboard.press(there)
                _wait_picture(page, i, changed_from=before)
                if not _soon(
                    lambda f=focused, t=text: f.get_attribute("aria-valuetext") != t
                ):
                    problems.append(f"{where} ({label}): the value text did not change")
                page.keyboard.press(back)
                _wait_picture(page, i, back_to=before)
            elif control["kind"] == "text":  # a word more, and then not
                page.keyboard.press("End")
                page.keyboard.type(" dog")
                _wait_picture(page, i, changed_from=before)
                for _ in " dog":
                    page.keyboard.press("Backspace")
                _wait_picture(page, i, back_to=before)
            elif control["kind"] == "radio":  # the next button of the group, and back
                page.keyboard.press("ArrowRight")
                _wait_picture(page, i, changed_from=before)
                if focused.is_checked():
                    problems.append(f"{where} ({label}): the arrow key chose nothing")
                page.keyboard.press("ArrowLeft")
                _wait_picture(page, i, back_to=before)
                if not focused.is_checked():
                    problems.append(f"{where} ({label}): not chosen again")
            elif control["kind"] == "select":
                count = focused.locator("option").count()
                index = focused.evaluate("s => s.selectedIndex")
                there, back = (
                    ("ArrowDown", "ArrowUp")
                    if index < count - 1
                    else ("ArrowUp", "ArrowDown")
                )
                page.keyboard.press(there)
                _wait_picture(page, i, changed_from=before)
                page.keyboard.press(back)
                _wait_picture(page, i, back_to=before)
            else:  # a toggle button: Space presses it, Enter the one pressed before
                if focused.get_attribute("aria-pressed") is None:
                    problems.append(f"{where} ({label}): no pressed state")
                # Pressed or not is what the reader sees (the widget's class); the
                # ARIA state follows a change a moment later (CONTROL_NAMES_JS
                # waits 30 ms), so it is waited for: read at once, just after Enter
                # gave this button its press back (below), it could still say "not
                # pressed", and the test pressed a pressed button, which rightly
                # changes nothing (the flaky timeout of chapter 6).
                shown = _shown_pressed(focused)
                if not _soon(lambda f=focused, p=shown: _marked_pressed(f) == p):
                    state = "pressed" if shown else "not pressed"
                    problems.append(f"{where} ({label}): shown {state}, not so marked")
                if shown:
                    continue  # pressing it changes nothing; its neighbours are tested
                # the pressed button of this control's own group (an explorer may
                # have two groups: chapter 14's layer and head)
                pressed_before = page.evaluate(
                    f"""() => document.querySelector(
                        '[data-a11y-control="{control["id"]}"]')
                        .closest('.widget-toggle-buttons')
                        .querySelector('.widget-toggle-button.mod-active')
                        .getAttribute('data-a11y-control')"""
                )
                if page.evaluate(FOCUSED_CONTROL) != control["id"]:
                    problems.append(f"{where} ({label}): the focus left it by itself")
                    continue
                page.keyboard.press("Space")
                _wait_picture(page, i, changed_from=before)
                if not _soon(lambda f=focused: _marked_pressed(f)):
                    problems.append(f"{where} ({label}): not marked pressed")
                # back to the one pressed before, with Tab or Shift+Tab, and Enter
                ids = [c["id"] for c in controls]
                key = (
                    "Tab"
                    if ids.index(pressed_before) > ids.index(control["id"])
                    else "Shift+Tab"
                )
                for _ in range(len(controls)):
                    page.keyboard.press(key)
                    if page.evaluate(FOCUSED_CONTROL) == pressed_before:
                        break
                page.keyboard.press("Enter")
                _wait_picture(page, i, back_to=before)
                if not _soon(lambda f=focused: not _marked_pressed(f)):
                    problems.append(f"{where} ({label}): still marked pressed")
                focused.focus()  # Tab goes on from here
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


# Every picture in the page that is not opaque, unless an opaque picture of the same
# size lies under it (an explorer's background layer).
SEE_THROUGH = """() => {
    const shown = Array.from(document.querySelectorAll('main img'))
        .filter(i => i.offsetParent !== null && i.naturalWidth > 0);
    const opaque = new Map();
    const isOpaque = (img) => {
        if (!opaque.has(img)) {
            const c = document.createElement('canvas');
            c.width = img.naturalWidth;
            c.height = img.naturalHeight;
            const g = c.getContext('2d');
            g.drawImage(img, 0, 0);
            const d = g.getImageData(0, 0, c.width, c.height).data;
            let all = true;
            for (let k = 3; k < d.length && all; k += 4) all = d[k] === 255;
            opaque.set(img, all);
        }
        return opaque.get(img);
    };
    const same = (a, b) => {
        const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
        return Math.abs(p.left - q.left) < 1 && Math.abs(p.top - q.top) < 1
            && Math.abs(p.width - q.width) < 1 && Math.abs(p.height - q.height) < 1;
    };
    const under = (o, img) =>  // o comes first in the page: img is drawn on it
        o.compareDocumentPosition(img) & Node.DOCUMENT_POSITION_FOLLOWING;
    return shown.filter(img => !isOpaque(img) && !shown.some(
            o => o !== img && isOpaque(o) && same(o, img) && under(o, img)))
        .map(img => (img.alt || img.src).slice(0, 80));
}"""


@pytest.mark.browser
def test_the_theme_button_switches_to_dark_mode(reader):
    """What the other dark-mode checks load directly (the mode a returning reader
    chose, kept by the theme) is what the theme's own button switches to."""
    page = reader().open(PICTURE_PAGES[0])
    # the theme's button cycles light -> dark -> system settings
    for _ in range(3):
        if _dark(page):
            break
        page.locator(".theme-switch-button").first.click()
    assert _dark(page), "the colour mode button did not switch to dark"
    label = page.locator(".theme-switch-button").first.get_attribute("aria-label")
    assert label == "Color mode: dark"
    assert page.evaluate("localStorage.getItem('mode')") == "dark"


@pytest.mark.browser
@pytest.mark.parametrize("name", [p for p in PAGES if p.startswith("chapters/")])
def test_dark_mode_keeps_every_figure_on_its_own_light_ground(view, name):
    seen = view(name, DESKTOP["width"], "dark")
    assert seen.dark
    assert seen.see_through == []
    assert seen.errors == []


#: Every figure shown narrower than the text column and than its own size:
#: "<alt>: <natural> px shown <shown> px wide".
NARROW = """(column) => Array.from(document.querySelectorAll('main img'))
    .filter(i => i.offsetParent !== null && i.naturalWidth > 0)
    .map(i => [i.naturalWidth, i.getBoundingClientRect().width, i.alt])
    .filter(([natural, shown]) => shown < Math.min(natural, column) - 1)
    .map(([natural, shown, alt]) => `${alt.slice(0, 60)}: ${natural} px `
         + `shown ${shown.toFixed(0)} px wide`)"""


@pytest.mark.browser
@pytest.mark.parametrize("name", [p for p in PAGES if p.startswith("chapters/")])
def test_figures_are_shown_as_wide_as_the_text_size_test_assumes(view, name):
    assert view(name, DESKTOP["width"], "light").narrow == []


#: Marks every picture a reader sees in the outputs (a figure, or what an explorer
#: shows: its top layer, its background under it); returns [alt text, whether the page
#: shows it scaled] for each.
MARK_PICTURES = """() => Array.from(document.querySelectorAll('main .cell_output img'))
    .filter(i => i.offsetParent !== null && i.getAttribute('role') !== 'presentation')
    .map((img, k) => {
        img.setAttribute('data-a11y-picture', k);
        const r = img.getBoundingClientRect();
        return [img.alt, Math.abs(r.width - img.naturalWidth) > 0.5
                         || Math.abs(r.height - img.naturalHeight) > 0.5];
    })"""
#: How much a picture that the page shows scaled may differ between the two modes, and
#: where (fraction of its pixels). Chromium draws a page in tiles and resamples a
#: scaled picture in each; where the tiles fall on the picture depends on its place in
#: the page, which the dark mode moves (its panel around an explorer adds 16 px). Moved
#: by 1, 8, 16 or 256 px within light mode, a picture of chapter 11 shown at 56 % of its
#: size changed in 5 to 7 rows of pixels (0.6 to 0.9 % of them) by up to 13 of 255; at
#: its own size, nothing changes. The theme's dimming changes white by 36, and the
#: hidden layers by far more.
SCALED_LEVELS = 16
SCALED_FRACTION = 0.02
#: Scrolls picture k into view, and each box that scrolls it sideways to its start or
#: its end; returns the part of it the reader sees ([left, top, right, bottom] in the
#: window, CSS pixels: its box less what the boxes around it and the window clip) and
#: whether a box scrolled it.
PICTURE_SEEN = """([k, end]) => {
    const img = document.querySelector(`[data-a11y-picture="${k}"]`);
    img.scrollIntoView({block: 'center', inline: 'nearest'});
    const clips = [];
    let scrolled = false;
    for (let e = img.parentElement; e && e !== document.body; e = e.parentElement) {
        const style = getComputedStyle(e);
        if (style.overflowX === 'visible' && style.overflowY === 'visible') continue;
        if (e.scrollWidth > e.clientWidth) {
            e.scrollLeft = end ? e.scrollWidth : 0;
            scrolled = true;
        }
        clips.push(e);
    }
    const r = img.getBoundingClientRect();
    let [left, top, right, bottom] = [r.left, r.top, r.right, r.bottom];
    for (const e of clips) {
        const c = e.getBoundingClientRect();
        left = Math.max(left, c.left + e.clientLeft);
        top = Math.max(top, c.top + e.clientTop);
        right = Math.min(right, c.left + e.clientLeft + e.clientWidth);
        bottom = Math.min(bottom, c.top + e.clientTop + e.clientHeight);
    }
    return [[Math.max(left, 0), Math.max(top, 0), Math.min(right, innerWidth),
             Math.min(bottom, innerHeight)], scrolled];
}"""


def _seen(page, k: int, end: bool) -> tuple[bytes | None, bool]:
    """A screenshot (PNG) of what the reader sees of picture k (``MARK_PICTURES``), and
    whether a box scrolls it sideways.

    The browser puts a picture's edges on whole pixels; the row or column of pixels at
    an edge can be the ground around it (the page, the explorer's panel), which differs
    between the colour modes by design, so one pixel is left out at each edge.
    """
    (left, top, right, bottom), scrolled = page.evaluate(PICTURE_SEEN, [k, end])
    x, y = round(left) + 1, round(top) + 1
    width, height = round(right) - 1 - x, round(bottom) - 1 - y
    if width <= 0 or height <= 0:
        return None, scrolled
    clip = {"x": x, "y": y, "width": width, "height": height}
    return page.screenshot(clip=clip, animations="disabled"), scrolled


def _pixels(png: bytes | None) -> np.ndarray | None:
    return (
        None if png is None else np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    )


def _has_pictures(name: str) -> bool:
    """Whether the chapter's notebook shows a figure or an explorer's picture."""
    notebook = json.loads((ROOT / f"{name}.ipynb").read_text(encoding="utf-8"))
    figures = any(
        "image/png" in o.get("data", {})
        for c in notebook["cells"]
        for o in c.get("outputs", [])
    )
    return figures or "<img" in json.dumps(notebook["metadata"].get("widgets", {}))


PICTURE_PAGES = [p for p in PAGES if p.startswith("chapters/") and _has_pictures(p)]


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, PHONE["width"]])
@pytest.mark.parametrize("name", PICTURE_PAGES)
def test_dark_mode_shows_every_picture_as_light_mode_does(view, name, width):
    """Pixel for pixel: a picture shown at its own size must be identical; one that the
    page shows scaled may differ where the browser's raster tiles fall
    (``SCALED_LEVELS``)."""
    seen = {}
    for mode in ("light", "dark"):
        shown = view(name, width, mode)
        assert shown.dark == (mode == "dark")
        assert shown.errors == []
        shots = {key: _pixels(png) for key, png in shown.shots.items()}
        seen[mode] = shown.pictures, shots
    (pictures, light), (dark_pictures, dark) = seen["light"], seen["dark"]
    assert pictures, f"no picture on {name}"
    alts = [alt for alt, _ in pictures]
    assert [alt for alt, _ in dark_pictures] == alts, "the modes show other pictures"
    assert light.keys() == dark.keys(), "a picture scrolls sideways in one mode only"
    problems = []
    for (k, where), ours in light.items():
        theirs = dark[k, where]
        scaled = pictures[k][1] or dark_pictures[k][1]
        what = f"{alts[k][:70]!r} ({where})"
        if ours is None or theirs is None:
            if (ours is None) != (theirs is None):
                problems.append(f"{what}: seen in one mode only")
            continue
        if ours.shape != theirs.shape:
            problems.append(
                f"{what}: {ours.shape[1::-1]} px in light mode, "
                f"{theirs.shape[1::-1]} in dark mode"
            )
            continue
        differ = np.abs(ours.astype(int) - theirs.astype(int)).max(axis=2)
        count, most = np.count_nonzero(differ), differ.max()
        if scaled and most <= SCALED_LEVELS and count <= SCALED_FRACTION * differ.size:
            continue  # the browser's resampling (see SCALED_LEVELS)
        if count:
            problems.append(
                f"{what}: {count} of {differ.size} pixels differ, by up to {most} "
                f"of 255 ({'scaled' if scaled else 'at its own size'})"
            )
            FAILURES.mkdir(parents=True, exist_ok=True)
            stem = re.sub(r"[^\w.-]+", "_", f"dark_{name}_{width}_{k}_{where}")
            pair = np.concatenate([ours, theirs], axis=1)
            Image.fromarray(pair).save(FAILURES / f"{stem}.png")
    assert not problems, f"{name} at {width} px, light vs dark:\n  " + "\n  ".join(
        problems
    )


#: Each explorer's picture on the page: [alt text, natural width, shown width].
EXPLORER_PICTURES = """() => Array.from(
        document.querySelectorAll('main .cell_output .jupyter-widgets img'))
    .filter(i => i.offsetParent !== null && i.getAttribute('role') !== 'presentation')
    .map(i => [i.alt, i.naturalWidth, i.getBoundingClientRect().width])"""
#: Every control of the explorers: [what, width, height].
CONTROL_BOXES = """() => Array.from(document.querySelectorAll(
        'main .cell_output .jupyter-widgets :is([role=slider], select, button, '
        + '[contenteditable=true])'))
    .filter(c => c.offsetParent !== null)
    .map(c => [(c.getAttribute('aria-label') || c.textContent || c.tagName).trim()
               .slice(0, 40), c.getBoundingClientRect().width,
               c.getBoundingClientRect().height])"""


#: For each layered explorer picture: the box that scrolls it sideways is scrolled to
#: its end; returns [alt text, the part of its top layer the reader sees, the part of
#: its background] (each a box less what the boxes around it clip).
LAYERS_SEEN = """() => {
    const seen = (img) => {
        const r = img.getBoundingClientRect();
        let [left, top, right, bottom] = [r.left, r.top, r.right, r.bottom];
        for (let e = img.parentElement; e !== document.body; e = e.parentElement) {
            const s = getComputedStyle(e);
            if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
            const c = e.getBoundingClientRect();
            left = Math.max(left, c.left + e.clientLeft);
            top = Math.max(top, c.top + e.clientTop);
            right = Math.min(right, c.left + e.clientLeft + e.clientWidth);
            bottom = Math.min(bottom, c.top + e.clientTop + e.clientHeight);
        }
        return [left, top, right, bottom].map(v => Math.round(v * 10) / 10);
    };
    return Array.from(document.querySelectorAll('main .cell_output'))
        .map(o => [o.querySelector('img[role="presentation"]'),
                   Array.from(o.querySelectorAll('img:not([role="presentation"])'))
                       .find(i => i.offsetParent !== null)])
        .filter(([background, top]) => background && top)
        .map(([background, top]) => {
            for (let e = background.parentElement; e; e = e.parentElement) {
                if (e.scrollWidth > e.clientWidth
                    && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)) {
                    e.scrollLeft = e.scrollWidth;
                    break;
                }
            }
            return [top.alt, seen(top), seen(background)];
        });
}"""


@functools.cache
def _smallest_text_px(explorer: str) -> float:
    """The size of the smallest text ``explorer`` draws, in pixels of its picture."""
    fig, _, drawn = _draw(explorer)
    return min(t.get_fontsize() for t in drawn) * fig.dpi / 72


def _drawn_by(alt: str) -> str:
    """The name of the explorer class whose picture has this alt text."""
    from selfattention import widgets, writing_widgets

    def explorer(name: str):
        return getattr(widgets, name, None) or getattr(writing_widgets, name)

    names = [
        n
        for n in FIGURE_NAMES
        if n.endswith("Explorer") and alt.startswith(explorer(n).PICTURE + " (")
    ]
    assert len(names) == 1, f"which explorer draws {alt[:70]!r}? {names}"
    return names[0]


@pytest.mark.browser
@pytest.mark.parametrize("name", WIDGET_PAGES)
def test_explorers_can_be_read_and_used_on_a_phone(view, name):
    seen = view(name, PHONE["width"], "light")
    pictures = seen.explorer_pictures
    assert pictures, f"no explorer on {name}"
    problems = []
    for alt, natural, shown in pictures:
        # a pixel of the picture is one CSS pixel at its natural size
        smallest = _smallest_text_px(_drawn_by(alt)) * shown / natural
        if smallest < PHONE_SMALLEST_PX:
            problems.append(
                f"{alt[:60]!r}: {natural} px wide, shown {shown:.0f} px wide: its "
                f"smallest text is {smallest:.1f} CSS px"
            )
    for what, width, height in seen.control_boxes:
        if min(width, height) < TOUCH_PX:
            problems.append(f"control {what!r}: {width:.0f} x {height:.0f} px")
    # a picture that scrolls sideways keeps its layers together
    for alt, top, background in seen.layers_seen:
        if top != background:
            problems.append(
                f"{alt[:60]!r} scrolled to its end: its top layer shows {top}, "
                f"its background {background}"
            )
    assert not problems, f"{name} on a phone:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------
# The figures, without a browser


def _figures():
    """Every kind of figure the package draws, with the arguments the chapters use:
    (name, builder). A builder returns a matplotlib Figure (shown as a notebook
    shows it: cropped to its content) or an Explorer (shown as it renders)."""
    from selfattention import examples, plotting, widgets
    from selfattention.numpy_backend import attention, sinusoidal_positions

    result = examples.contextualize(examples.SENTENCE)
    wide = examples.contextualize(examples.SENTENCE_WIDE)
    tokens, it = result.tokens, result.tokens.index("it")
    other = examples.tokenize("the dog was tired")
    x_other, x = examples.embed(other), examples.embed(tokens)
    _, plain = attention(2 * x, 2 * x, x)  # chapter 2: W_Q = W_K = 2I
    _, cross = attention(2 * x_other, 2 * x, x)
    words = examples.tokenize("the animal was too tired")
    x_words = 2 * examples.embed(words)
    _, full = attention(x_words, x_words, x_words)
    _, causal = attention(x_words, x_words, x_words, causal=True)
    worked = examples.worked_example()
    layer1, _ = examples.hand_built_layers()
    d_ks = 2.0 ** np.arange(11)
    rng = np.random.default_rng(0)
    heads = rng.dirichlet(np.ones(16), size=(6, 12, 16))  # (layers, heads, n, n)
    scores = rng.normal(0.0, 3.0, (7, 7))
    score_words = ["it", "tired", "wide", "animal", "street", "the", "because"]

    def training_explorer():
        pytest.importorskip("torch")
        from selfattention import training

        return widgets.TrainingExplorer(
            training.train_referent_model(steps=4, snapshot_every=2)
        )

    def pretrained_explorer():
        pytest.importorskip("transformers")
        return widgets.PretrainedExplorer()

    return [
        (
            "compare_rows",
            lambda: plotting.compare_rows(
                [*tokens[:-1], "tired / wide"],
                {
                    "…because it was too tired.": result.weights[-1][it],
                    "…because it was too wide.": wide.weights[-1][it],
                },
                title='The row of "it" in layer 2',
            ),
        ),
        (
            "heatmaps",
            lambda: plotting.heatmaps(
                [
                    (plain, tokens, tokens, "self-attention: 11 × 11"),
                    (cross, other, tokens, "cross-attention: 4 × 11"),
                ],
                height=6.4,
                vmax=None,
                stacked=True,
            ),
        ),
        (
            "heatmaps_annotated",
            lambda: plotting.heatmaps(
                [(full, words, words, "no mask"), (causal, words, words, "causal")],
                height=3.6,
                annotate=True,
            ),
        ),
        ("shape_diagram", lambda: plotting.shape_diagram(11, 10, 2)),
        *[
            (
                f"worked_example_{step}",
                lambda s=step: plotting.worked_example(worked, s),
            )
            for step in ("score", "normalize", "blend")
        ],
        (
            "curves",
            lambda: plotting.curves(
                d_ks,
                {"Var(q·k)": d_ks, "Var(q·k / √d_k)": np.ones_like(d_ks)},
                xlabel="d_k",
                ylabel="variance of the score",
                title="Scores grow with d_k unless they are scaled",
                logy=True,
                reference_slope=1,
            ),
        ),
        (
            "curves_three",
            lambda: plotting.curves(
                np.arange(40),
                {f"p = {p}": np.cos(np.arange(40) / 6) + p for p in (0, 20, 50)},
                xlabel="distance between the positions",
                ylabel="dot product of their position vectors",
                title="It depends only on the distance",
                logx=False,
            ),
        ),
        (
            "blend_picture",
            lambda: plotting.blend_picture(
                np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]]),
                np.array([0.1, 0.8]),
                np.array([0.1, 0.2, 0.7]),
                ["v1", "v2", "v3"],
            ),
        ),
        (
            "attention_figure",
            lambda: plotting.attention_figure(
                tokens, result.weights[1], it, title="layer 2: find the referent"
            )[0],
        ),
        ("projections", lambda: plotting.projections(layer1, examples.FEATURES)),
        ("heads_diagram", lambda: plotting.heads_diagram(11, 10, num_heads=2)),
        (
            "small_multiples_row",
            lambda: plotting.small_multiples(heads[3:4], first_row=4, per_line=6),
        ),
        (
            "small_multiples_grid",
            lambda: plotting.small_multiples(heads, title="the 72 attention matrices"),
        ),
        (
            "head_rows",
            lambda: plotting.head_rows(
                heads[3, :, 10],
                [f"token{j}" for j in range(16)],
                query="it",
                title='Layer 4 of all-MiniLM-L6-v2: the row of "it" in each head',
            ),
        ),
        (
            "position_heatmap",
            lambda: plotting.position_heatmap(
                sinusoidal_positions(64, 64), title="sinusoidal_positions(64, 64)"
            ),
        ),
        (
            "similarity_heatmaps",
            lambda: plotting.similarity_heatmaps(
                [
                    (sinusoidal_positions(64, 64), "64 dimensions"),
                    (sinusoidal_positions(64, 384), "384 dimensions"),
                ]
            ),
        ),
        (
            "score_tables",
            lambda: plotting.score_tables(
                [
                    (scores, score_words, score_words, "hand-built layer 1"),
                    (-scores, score_words, score_words, "learned layer 1"),
                ]
            ),
        ),
        ("DotProductExplorer", widgets.DotProductExplorer),
        ("ScalingExplorer", widgets.ScalingExplorer),
        ("TemperatureExplorer", widgets.TemperatureExplorer),
        ("BlendExplorer", widgets.BlendExplorer),
        ("AttentionMatrixExplorer", widgets.AttentionMatrixExplorer),
        ("OnlineSoftmaxExplorer", widgets.OnlineSoftmaxExplorer),
        ("MultiHeadExplorer", widgets.MultiHeadExplorer),
        ("RotaryExplorer", widgets.RotaryExplorer),
        ("PretrainedExplorer", pretrained_explorer),
        ("TrainingExplorer", training_explorer),
        *_writing_figures(),
    ]


def _writing_figures():
    """Chapter 14's figures and explorer, on its stored seed-0 model (needs torch)."""
    from selfattention import plotting, writing_figures, writing_widgets

    def recall_model():
        pytest.importorskip("torch")
        from selfattention import decoder

        return decoder.load_recall_model(seed=0)

    def every_position():
        from selfattention import decoder, writing_figures

        result = recall_model()
        tokens = decoder.tokenize(writing_widgets.PROMPTS[0])
        weights = result.attention(writing_widgets.PROMPTS[0])[0][0]  # (n, n)
        return writing_figures.every_position(tokens, weights, ["blue"] * len(tokens))

    def head():
        from selfattention import decoder

        tokens = decoder.tokenize(writing_widgets.PROMPTS[2])
        weights = recall_model().attention(writing_widgets.PROMPTS[2])[1][3]
        return plotting.attention_figure(tokens, weights, len(tokens) - 1)[0]

    n = [64, 256, 1024]
    return [
        ("every_position", every_position),
        ("attention_figure of a 23-token prompt", head),
        ("loss_curve", lambda: writing_figures.loss_curve(np.linspace(3, 1, 2000))),
        (
            "accuracy_by_layers",
            lambda: writing_figures.accuracy_by_layers(
                {(s, k): 0.5 for s in range(3) for k in (1, 2)}
            ),
        ),
        (
            "cache_cost",
            lambda: writing_figures.cache_cost(n, [2, 7, 40], [1, 1.2, 1.6], n, n),
        ),
        (
            "RecallExplorer",
            lambda: writing_widgets.RecallExplorer(
                recall_model(), prompt=writing_widgets.PROMPTS[2]
            ),
        ),
    ]


FIGURE_NAMES = [name for name, _ in _figures()]


@contextlib.contextmanager
def _texts_drawn():
    """The Text artists matplotlib draws meanwhile (visible, not empty)."""
    from matplotlib.text import Text

    drawn, draw = [], Text.draw

    def recording(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return draw(self, renderer)

    with mock.patch.object(Text, "draw", recording):
        yield drawn


def _draw(name):
    """(figure, PNG width in pixels, the texts drawn) for the figure called ``name``,
    drawn the way the book shows it."""
    build = dict(_figures())[name]
    made = build()
    with _texts_drawn() as drawn:
        if hasattr(made, "renderer"):  # an explorer: the picture it renders
            made.renderer.render(full=True)
            fig = made.fig
            width = fig.canvas.get_width_height()[0]
        else:  # a figure in a notebook: IPython crops it to its content
            from PIL import Image

            fig, buffer = made, io.BytesIO()
            fig.savefig(buffer, format="png", bbox_inches="tight")
            width = Image.open(buffer).size[0]
    return fig, width, drawn


def shown_points(size_pt: float, width_px: int, dpi: float) -> float:
    """How large text of ``size_pt`` points looks in the book, in CSS points, in a
    picture ``width_px`` pixels wide drawn at ``dpi``."""
    scale = min(1.0, COLUMN_PX / width_px)
    return size_pt * dpi / CSS_DPI * scale


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_the_smallest_text_of_every_figure_reads_as_9_points_in_the_book(name):
    fig, width, drawn = _draw(name)
    assert drawn, "no text drawn at all"
    smallest = min(drawn, key=lambda t: t.get_fontsize())
    shown = shown_points(smallest.get_fontsize(), width, fig.dpi)
    assert shown >= SMALLEST_PT, (
        f"{name}: {width} px wide, shown at {min(1, COLUMN_PX / width):.2f} of its "
        f"size; its smallest text, {smallest.get_text()[:40]!r} at "
        f"{smallest.get_fontsize():g} pt, reads as {shown:.1f} pt"
    )


def _lightness(rgb) -> np.ndarray:
    """CIELAB L* (0 black to 100 white) of sRGB colours, shape (..., 3)."""
    rgb = np.asarray(rgb, dtype=float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126, 0.7152, 0.0722])
    return np.where(y > (6 / 29) ** 3, 116 * np.cbrt(y) - 16, y * (29 / 3) ** 3)


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_colour_maps_are_readable_in_grey_scale(name):
    from matplotlib.image import AxesImage

    fig, _, _ = _draw(name)
    for image in fig.findobj(AxesImage):
        cmap = image.get_cmap()
        steps = np.diff(_lightness(cmap(np.linspace(0, 1, 256))[:, :3]))
        assert np.all(steps >= -0.05) or np.all(steps <= 0.05), (
            f"{name}: the lightness of {cmap.name} goes up and down: two colours "
            "of it can be the same grey"
        )


def _look(handle) -> tuple:
    """What tells a legend entry apart without colour."""
    kind = type(handle).__name__
    marker = getattr(handle, "get_marker", lambda: None)()
    style = getattr(handle, "get_linestyle", lambda: None)()
    hatch = getattr(handle, "get_hatch", lambda: None)()
    if kind == "Line2D" and style in ("None", "", " "):
        style = None
    return (kind, str(marker), str(style), hatch or None)


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_legends_tell_their_entries_apart_without_colour(name):
    fig, _, _ = _draw(name)
    for legend in [ax.get_legend() for ax in fig.axes] + fig.legends:
        if legend is None:
            continue
        looks = [_look(h) for h in legend.legend_handles]
        labels = [t.get_text() for t in legend.get_texts()]
        assert len(set(looks)) == len(looks), (
            f"{name}: legend entries {labels} differ only in colour: {looks}"
        )


def test_the_highlighted_bar_differs_in_more_than_colour():
    from selfattention import plotting

    fig = plotting.new_figure()
    bars = plotting.RowBars(fig.subplots(), np.full(4, 0.25), list("abcd"))
    bars.update(np.full(4, 0.25), highlight=2)
    marked = bars.bars.patches[2]
    assert marked.get_hatch() == plotting.HIGHLIGHT_HATCH
    assert marked.get_linewidth() > 0
    for other in (bars.bars.patches[i] for i in (0, 1, 3)):
        assert not other.get_hatch()
        assert other.get_linewidth() == 0


# --------------------------------------------------------------------------------------
# Alt text of the figures stored in the chapters


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_stored_figure_has_alt_text_that_says_what_it_shows(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    problems = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        images = [
            o
            for o in cell.get("outputs", [])
            if "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})
        ]
        if not images:
            continue
        alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
        problem = _alt_problem(alt)
        if problem:
            problems.append(f"cell {i}: {problem} (metadata mystnb.image.alt)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_stored_figure_is_narrow_enough_for_its_smallest_text(path):
    """The package's smallest text is ``plotting.SMALL`` points at ``plotting.DPI``; a
    stored picture wider than the text column is shrunk in the book, text included.
    Wider than this limit (700 px), text of ``SMALL`` points reads as less than 9
    (chapter 2's heatmaps, drawn 1109 px wide, showed 9-point labels as 5.5 points: the
    text-size test above measures each kind of figure, not the width a chapter asks
    for)."""
    from PIL import Image

    from selfattention import plotting

    limit = COLUMN_PX * plotting.DPI / CSS_DPI * plotting.SMALL / SMALLEST_PT
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    too_wide = []
    for i, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png is None:
                continue
            width = Image.open(io.BytesIO(base64.b64decode(png))).size[0]
            if width > limit:
                too_wide.append(f"cell {i}: {width} px wide (at most {limit:.0f})")
    assert not too_wide, "\n".join(too_wide)


def test_generic_alt_texts_are_recognised():
    for text in ["", "figure", "Figure 3", "image", "plot.", "fig_3.png", "a chart"]:
        assert _alt_problem(text), text
    assert _alt_problem("Bar chart: the attention weights of it") is None

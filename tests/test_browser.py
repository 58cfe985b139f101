"""The built HTML book as a reader meets it:
every page opened in headless Chromium, offline.

Marked ``browser``. Needs Playwright's Python package and a Chromium binary (Debian's
``chromium``; ``SELFATTENTION_CHROMIUM`` names another: ``scripts/chromium.py``).
Without them the tests skip with the reason. The book is a clean build of the sources
as they are (fixture ``built_book``, ``tests/conftest.py``). Every request that leaves
127.0.0.1 is blocked and counted.
Screenshots of failing pages go to ``_build/browser-failures/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from scripts import chromium

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
FAILURES = ROOT / "_build" / "browser-failures"
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def _pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"]] + [
        c["file"] for part in toc["parts"] for c in part["chapters"]
    ]


PAGES = _pages()
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]


@pytest.fixture(scope="session")
def book(request):
    """The book (a clean build of the sources now), served on 127.0.0.1 at a free
    port; yields the base URL.
    """
    if sync_playwright is None:
        pytest.skip(
            "Playwright's Python package is not installed "
            "(pip install -r requirements.txt)"
        )
    if chromium.MISSING:
        pytest.skip(chromium.MISSING)
    html = request.getfixturevalue("built_book")
    with chromium.serve(html) as url:
        yield url


@pytest.fixture(scope="session")
def browser(book, playwright):
    browser = chromium.launch(playwright)
    yield browser
    browser.close()


class Visit:
    """One page, with everything the reader's browser did:
    console errors and blocked external requests.
    """

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.external: list[str] = []
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        chromium.block_external(page, self.external)


@pytest.fixture
def visit(browser, request):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    v = Visit(page)
    yield v
    if (
        getattr(request.node, "rep_call", None) is not None
        and request.node.rep_call.failed
    ):
        FAILURES.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=str(FAILURES / f"{name}.png"), full_page=True)
    context.close()


def _open(visit, book, path, wait_for_widgets=True):
    visit.page.goto(book + path)
    visit.page.wait_for_load_state("networkidle")
    visit.page.wait_for_function(
        "() => !window.MathJax || !MathJax.startup || MathJax.startup.promise"
    )
    visit.page.evaluate(
        "() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null"
    )
    if wait_for_widgets:
        visit.page.wait_for_function(
            """() => Array.from(document.querySelectorAll(
                         'script[type="application/vnd.jupyter.widget-view+json"]'))
                     .every(s => s.parentElement.querySelector('.jupyter-widgets'))""",
            timeout=15000,
        )


@pytest.mark.parametrize("name", PAGES)
def test_every_page_works_offline(visit, book, name):
    _open(visit, book, f"{name}.html")
    page = visit.page
    assert visit.external == [], f"requests that left 127.0.0.1: {visit.external}"
    assert visit.errors == []
    # every image loaded
    broken = page.evaluate(
        "() => Array.from(document.images)"
        ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken == []
    # every figure has a caption, alt text or a title
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll(
                   'main img:not([role="presentation"])'))
               .filter(i => !i.alt && !i.title
                            && !i.closest('figure')?.querySelector('figcaption'))
               .map(i => i.src.slice(0, 80))"""
    )
    assert unlabelled == []
    # the math is typeset: MathJax output present, no raw TeX left in the text
    text = page.inner_text("main")
    assert "\\(" not in text
    assert "$$" not in text
    if page.locator("main .math").count():
        assert (
            page.locator("main mjx-container").count()
            >= page.locator("main .math").count()
        )
    # every widget rendered (explorers, and the hidden status lines of slow cells)
    unrendered = page.evaluate(
        """() => Array.from(document.querySelectorAll(
                   'script[type="application/vnd.jupyter.widget-view+json"]'))
               .filter(s => !s.parentElement.querySelector('.jupyter-widgets'))
               .length"""
    )
    assert unrendered == 0
    # previous / next links lead to pages that exist
    for selector in ["a.prev-page", "a.next-page"]:
        for href in page.eval_on_selector_all(selector, "els => els.map(e => e.href)"):
            response = page.request.get(href)
            assert response.ok, href


@pytest.mark.parametrize("name", CHAPTERS)
def test_colab_link_opens_this_chapter(visit, book, name):
    _open(visit, book, f"{name}.html", wait_for_widgets=False)
    links = visit.page.eval_on_selector_all(
        'a[href*="colab.research.google.com"]', "els => els.map(e => e.href)"
    )
    assert links, "no Colab launch button"
    assert all(link.endswith(f"/{name}.ipynb") for link in links), links


def test_search_finds_a_word_from_a_chapter(visit, book):
    _open(visit, book, "search.html?q=softmax", wait_for_widgets=False)
    visit.page.wait_for_selector("ul.search li", timeout=15000)
    hits = visit.page.eval_on_selector_all(
        "ul.search li a", "els => els.map(e => e.getAttribute('href'))"
    )
    assert any("04_normalize" in h for h in hits), hits


# The picture shown right now by the i-th explorer with a slider on the page
# (its visible <img>).
VISIBLE_PICTURE = """(i) => {
    const outputs = Array.from(document.querySelectorAll('.cell_output'))
        .filter(o => o.querySelector('.widget-slider'));
    const pictures = outputs[i].querySelectorAll('img:not([role="presentation"])');
    const img = Array.from(pictures).find(im => im.offsetParent !== null);
    return img ? img.src : null;
}"""


@pytest.mark.parametrize(
    ("name", "label", "explorer"),
    [
        ("chapters/03_score", "d_k", 1),
        ("chapters/05_blend", "v3 x", 0),
        ("chapters/05_blend", "query angle", 0),
    ],
)
def test_sliders_change_the_picture_without_a_kernel(
    visit, book, name, label, explorer
):
    _open(visit, book, f"{name}.html")
    page = visit.page
    before = page.evaluate(VISIBLE_PICTURE, explorer)
    assert before
    handle = page.locator(f'.widget-slider:has-text("{label}") .noUi-handle').first
    handle.scroll_into_view_if_needed()
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"([i, src]) => ({VISIBLE_PICTURE})(i) !== src", arg=[explorer, before]
    )
    after = page.evaluate(VISIBLE_PICTURE, explorer)
    assert after
    assert after != before
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        f"([i, src]) => ({VISIBLE_PICTURE})(i) === src", arg=[explorer, before]
    )
    assert visit.errors == []
    assert visit.external == []


def test_the_typing_explorer_is_not_a_dead_control_in_the_html(visit, book):
    _open(visit, book, "chapters/06_attention_matrix.html")
    page = visit.page
    # the one text box is the explorer computed in the page (typing redraws it:
    # tests/test_browser_compute.py); no widget's text box without a kernel behind it
    assert page.locator("main input[type=text]").count() == 1
    assert page.locator("main .sa-explorer input[type=text]").count() == 1
    assert page.locator("main .jupyter-widgets").count() == 0
    # the Python explorer is not in the page: the book removes its cell
    assert "AttentionMatrixExplorer" not in page.inner_text("main")


# The pictures in the page whose visible part reaches beyond x = right: their box, less
# what the boxes around them that scroll show of it (a box that hides what overflows it
# without scrolling would cut the picture: that counts as too wide).
SEEN_BEYOND = """(right) => Array.from(document.querySelectorAll('main img'))
    .filter(img => {
        let seen = img.getBoundingClientRect().right;
        for (let e = img.parentElement; e && e !== document.body; e = e.parentElement) {
            const style = getComputedStyle(e);
            if (style.overflowX === 'auto' || style.overflowX === 'scroll') {
                seen = Math.min(seen, e.getBoundingClientRect().left + e.clientLeft
                                      + e.clientWidth);
            }
        }
        return seen > right;
    })
    .map(img => img.alt.slice(0, 60))"""


@pytest.mark.parametrize("name", PAGES)
def test_phone_width_has_no_horizontal_scroll(browser, book, name):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    page = context.new_page()
    chromium.block_external(page)
    page.goto(book + f"{name}.html")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # figures scale down to the screen; an explorer's picture stops at the size
        # where its text is still readable and scrolls sideways in its own box
        # (book_assets/book.css): what the reader sees of it is on the screen
        too_wide = page.evaluate(SEEN_BEYOND, 391)
        assert too_wide == []
    except AssertionError:
        FAILURES.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(FAILURES / f"phone_{name.replace('/', '_')}.png"), full_page=True
        )
        raise
    finally:
        context.close()

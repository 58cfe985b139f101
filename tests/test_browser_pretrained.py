"""Chapter 12's explorer in the HTML book (``book_assets/js/explorer-pretrained.js``)
shows what the Python package computes.

Marked ``browser``: the built book served on 127.0.0.1 and read by headless Chromium,
offline, as in ``tests/test_browser.py``.

- Without the model: the book's sentences are drawn from the attention the build
  exported (``selfattention.browser.write_pretrained_js``), with no request for the
  model; every layer, head and query token the controls choose shows
  ``pretrained.recompute``'s weights (the numbers on the bars as Python writes them,
  every cell of the heatmap in the colour of its weight).
- With the model (``conftest.chapter_with_model``: the button pressed once per
  session, shared with ``tests/test_browser_minilm.py``): the progress shown, then
  typed sentences drawn with the Python tokenizer's tokens and weights within
  ``pretrained_onnx.TOLERANCE``; empty, too long and [UNK] sentences get their
  messages; typed markup stays text.
- Messages when the page cannot load the model (opened as a file, a build without
  it, a failed download); the same picture in dark mode; phone width; axe-core.

They skip without Chromium or the Python model; the tests that load the model skip
when the book was built without it (no ``npm ci``).
"""

from __future__ import annotations

import io
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from scripts import chromium
from selfattention import browser as exported
from selfattention import examples, plotting, pretrained
from tests.test_accessibility import axe_source  # noqa: F401  (fixtures)
from tests.test_browser import HTML, book, browser  # noqa: F401

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "chapters/12_real_model"
STATIC = HTML / "_static" / "minilm"


@pytest.fixture(scope="module")
def python_model():
    pytest.importorskip("transformers", reason="needs transformers")
    try:
        return pretrained.load()
    except pretrained.ModelNotAvailable as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def recompute(python_model):
    """``pretrained.recompute`` of a sentence, remembered."""
    from selfattention import pretrained_onnx

    known = {}

    def run(sentence):
        if sentence not in known:
            with pretrained_onnx.one_thread():
                known[sentence] = pretrained.recompute(*python_model, sentence)
        return known[sentence]

    return run


def _first() -> dict:
    """The Python explorer's first layer, head and query (counted from 1)."""
    import inspect

    from selfattention import widgets

    shown = inspect.signature(widgets.PretrainedExplorer).parameters
    return {
        "layer": shown["layer"].default + 1,
        "head": shown["head"].default + 1,
        "query": shown["query"].default,
    }


def open_chapter(browser, url, *, width=1200, mode=None, routes=(), name=CHAPTER):  # noqa: F811
    """Chapter 12 of the built book (or the page ``name``), offline, its explorer
    drawn: a page with ``page.log`` (``requests``, ``external``, ``errors``)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    if mode is not None:  # a returning reader who chose this mode
        context.add_init_script(
            f"localStorage.setItem('mode', '{mode}');"
            f"localStorage.setItem('theme', '{mode}');"
        )
    page = context.new_page()
    log = types.SimpleNamespace(requests=[], external=[], errors=[])
    chromium.block_external(page, log.external, log.requests)
    for pattern, handler in routes:  # later routes are asked first
        page.route(pattern, handler)
    page.on("console", lambda m: m.type == "error" and log.errors.append(m.text))
    page.on("pageerror", lambda e: log.errors.append(f"page error: {e}"))
    page.goto(f"{url}{name}.html")
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => { const e = document.querySelector('.sa-pretrained');"
        " return e && e.dataset.state && e.dataset.state !== 'loading'; }"
    )
    page.log = log
    return page


@pytest.fixture(scope="module")
def fresh(browser, book):  # noqa: F811
    """Chapter 12 as a reader first sees it (the model not loaded), for the tests
    that only read it and move its controls."""
    page = open_chapter(browser, book)
    yield page
    page.context.close()


#: Only the explorer and the scripts of chapter 12's page, in their order (from
#: book_ext): quick to open, for many copies of the scripts with planted bugs.
BARE = "chapters/explorer-only"


def _bare_page() -> str:
    sys.path.insert(0, str(ROOT / "book_ext"))
    import bookext

    scripts = "".join(
        f'<script defer src="../_static/{s}"></script>'
        for s in bookext.LIVE_SCRIPTS + bookext.PRETRAINED_SCRIPTS
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<title>explorer</title><link rel="stylesheet" href="../_static/book.css">'
        f'{scripts}</head><body><main style="max-width: 700px">'
        '<div class="selfattention-live" data-explorer="pretrained"></div>'
        "</main></body></html>"
    )


@pytest.fixture
def chapter(browser, book):  # noqa: F811
    """Opens chapter 12 (``open_chapter``); closes its pages afterwards."""
    opened = []

    def open_page(**kwargs):
        opened.append(open_chapter(browser, book, **kwargs))
        return opened[-1]

    yield open_page
    for page in opened:
        page.context.close()


#: What the explorer shows (its picture's SVG too, unless told not to).
SHOWN = """(picture = true) => {
    const e = document.querySelector('.sa-pretrained');
    const texts = (selector) => Array.from(e.querySelectorAll(selector),
        (t) => t.textContent);
    const query = e.querySelector('select[id$="-query"]');
    const sentence = e.querySelector('[id$="-sentence"]');
    const sets = Array.from(e.querySelectorAll('fieldset'));
    const chosen = (set) => Array.from(set.querySelectorAll('input[type=radio]'))
        .findIndex((r) => r.checked);
    return {
        control: sentence.tagName.toLowerCase(),
        sentence: sentence.tagName === 'SELECT'
            ? sentence.selectedOptions[0].textContent : sentence.value,
        rows: texts('.sa-heatmap text.sa-label'),
        title: texts('.sa-picture text[font-size="13"]').join(' | '),
        cells: Array.from(e.querySelectorAll('.sa-heatmap rect.sa-cell'),
            (r) => r.getAttribute('fill')),
        values: texts('.sa-bars text.sa-value'),
        marked: Array.from(e.querySelectorAll('.sa-bars .sa-largest'),
            (r) => Number(r.dataset.index)),
        query: query.value === '' ? null : Number(query.value),
        options: texts('select[id$="-query"] option'),
        legends: sets.map((s) => s.querySelector('legend').textContent),
        layer: chosen(sets[0]),
        head: chosen(sets[1]),
        message: e.querySelector('.sa-message').textContent,
        state: e.dataset.state,
        picture: picture ? e.querySelector('.sa-picture').innerHTML : null,
    };
}"""

COLORS = exported.style_data()["colors"]


def _color_index(w: float) -> int:
    """The colour map's entry for a weight, as matplotlib (and draw.js) pick it."""
    return min(max(math.floor(float(w) * 256), 0), 255)


def expected_view(result, layer: int, head: int, query: str | None) -> dict:
    """What the explorer must show for ``pretrained.recompute``'s ``result``, in one
    layer and head (from 0), with the row of ``query`` (None: no row)."""
    i = None if query is None else result.tokens.index(query)
    w = result.our_weights[layer, head]  # (n, n)
    return {
        "rows": plotting.short_labels(result.tokens),
        "title": f"layer {layer + 1}, head {head + 1}"
        + (
            " | choose a query token"
            if i is None
            else f' | row of "{query}": where it looks'
        ),
        "query": i,
        "layer": layer,
        "head": head,
        "weights": w,
        "row": None if i is None else w[i],
        # the one largest weight, red and hatched (none on a tie), as in every explorer
        "marked": [] if i is None or (top := plotting.largest(w[i])) is None else [top],
    }


def assert_shows(shown: dict, expected: dict, tolerance: float = 0.0) -> None:
    """The explorer shows ``expected``: exactly (the numbers on the bars as Python's
    f"{w:.2f}", every cell in its weight's colour) when ``tolerance`` is 0, else each
    number and colour within ``tolerance`` of the Python's weight."""
    for key in ("rows", "title", "query", "layer", "head"):
        assert shown[key] == expected[key], key
    if tolerance == 0:  # the page's own weights may tie where the Python's do not
        assert shown["marked"] == expected["marked"], "marked"
    w, row = expected["weights"], expected["row"]
    if tolerance == 0:
        assert shown["cells"] == [COLORS[_color_index(x)] for x in w.ravel()]
        assert shown["values"] == ([] if row is None else [f"{x:.2f}" for x in row])
        return
    indices = [COLORS.index(c) for c in shown["cells"]]
    wanted = [_color_index(x) for x in w.ravel()]
    worst = max(abs(a - b) for a, b in zip(indices, wanted, strict=True))
    assert worst <= math.ceil(tolerance * 256) + 1, f"colours off by {worst}/256"
    if row is None:
        assert shown["values"] == []
    else:
        got = np.array([float(v) for v in shown["values"]])
        # written with 2 decimals: at most 0.005 from the page's own weight
        assert np.abs(got - row).max() <= tolerance + 0.005


def _choose(page, legend: str, number: int) -> None:
    """Click the option ``number`` (as shown, from 1) of the group ``legend``."""
    group = page.locator(".sa-pretrained fieldset", has_text=legend).first
    group.locator("label.sa-option").nth(number - 1).click()


# --- Without the model ---------------------------------------------------------------


def test_the_books_sentence_is_shown_at_once_without_the_model(fresh, recompute):
    page = fresh
    first = _first()
    shown = page.evaluate(SHOWN)
    assert shown["control"] == "select"  # the book's sentences, no text box yet
    assert shown["sentence"] == examples.SENTENCE
    assert shown["legends"] == ["layer", "head"]
    expected = expected_view(
        recompute(examples.SENTENCE), first["layer"] - 1, first["head"] - 1, "it"
    )
    assert_shows(shown, expected)
    assert max(expected["row"]) > 0.5  # a picture worth checking: "it" -> "animal"
    # nothing of the model was asked for: only what it would cost (minilm.json)
    model = [u for u in page.log.requests if "/_static/minilm/" in u]
    assert [u.rsplit("/", 1)[1] for u in model] == ["minilm.json"]
    config = json.loads((STATIC / "minilm.json").read_text(encoding="utf-8"))
    button = page.locator(".sa-pretrained button")
    assert button.is_visible()
    size = f"({max(1, round(config.get('download_bytes', 0) / 1e6))} MB)"
    assert button.inner_text() == f"Load the model to type your own sentence {size}"
    assert page.locator(".sa-pretrained input[type=text]").count() == 0
    assert page.log.errors == [] and page.log.external == []


#: Choose every layer and head (as a click would: the radio checked, its change
#: event), and the sentence and query token given; what is shown each time.
SWEEP = f"""async ([sentence, query]) => {{
    const e = document.querySelector('.sa-pretrained');
    const choose = (control, value) => {{
        control.value = value;
        control.dispatchEvent(new Event('change', {{bubbles: true}}));
    }};
    choose(e.querySelector('select[id$="-sentence"]'), String(sentence));
    choose(e.querySelector('select[id$="-query"]'), String(query));
    const [layers, heads] = Array.from(e.querySelectorAll('fieldset'),
        (s) => Array.from(s.querySelectorAll('input[type=radio]')));
    const out = [];
    for (const layer of layers) {{
        layer.checked = true;
        layer.dispatchEvent(new Event('change', {{bubbles: true}}));
        for (const head of heads) {{
            head.checked = true;
            head.dispatchEvent(new Event('change', {{bubbles: true}}));
            out.push(({SHOWN})(false));
        }}
    }}
    return out;
}}"""


def test_layer_head_and_query_redraw_with_the_python_weights(fresh, recompute):
    page = fresh
    tired = recompute(examples.SENTENCE)
    # clicks: layer 1, head 6; then the row of "animal"
    _choose(page, "layer", 1)
    _choose(page, "head", 6)
    assert_shows(page.evaluate(SHOWN), expected_view(tired, 0, 5, "it"))
    page.locator('.sa-pretrained select[id$="-query"]').select_option(label="2: animal")
    assert_shows(page.evaluate(SHOWN), expected_view(tired, 0, 5, "animal"))
    # the other sentence of the book, chosen in the list
    page.locator('.sa-pretrained select[id$="-sentence"]').select_option(
        label=examples.SENTENCE_WIDE
    )
    wide = recompute(examples.SENTENCE_WIDE)
    assert_shows(page.evaluate(SHOWN), expected_view(wide, 0, 5, "animal"))
    # every layer and head, two rows, both sentences
    for k, (result, query) in enumerate([(tired, "it"), (wide, "street")]):
        i = result.tokens.index(query)
        views = page.evaluate(SWEEP, [k, i])
        assert len(views) == 6 * 12
        sentence = [examples.SENTENCE, examples.SENTENCE_WIDE][k]
        for n, shown in enumerate(views):
            assert shown["sentence"] == sentence
            assert_shows(shown, expected_view(result, n // 12, n % 12, query))
    assert page.log.errors == []
    assert not [u for u in page.log.requests if u.endswith(".onnx")]


#: Bugs planted in copies of the page's scripts (file, text found, text put in its
#: place), served instead of the built ones: each must make the comparison fail.
MUTANTS = {
    "the head ignored": (
        "explorer-pretrained.js",
        "attentions[state.layer][state.head]; // (n, n)",
        "attentions[state.layer][state.layer]; // (n, n)",
    ),
    "a column shown as the row": (
        "explorer-pretrained.js",
        "sa.draw.bars(barsBox, w[i], tokens",
        "sa.draw.bars(barsBox, w.map((r) => r[i]), tokens",
    ),
    "layers and heads decoded in the wrong order": (
        "explorer-pretrained.js",
        "((l * heads + h) * n + i) * n",
        "((h * layers + l) * n + i) * n",
    ),
    "colours rounded, not floored": (
        "draw.js",
        "Math.min(Math.floor(t * 256), 255)",
        "Math.min(Math.round(t * 256), 255)",
    ),
}


@pytest.mark.parametrize("mutant", [None, *MUTANTS])
def test_a_bug_planted_in_the_explorer_is_caught(chapter, recompute, mutant):
    """Each planted bug fails the comparison; the same page without one passes it."""
    bare = _bare_page()
    routes = [
        (f"**/{BARE}.html", lambda r: r.fulfill(body=bare, content_type="text/html"))
    ]
    if mutant is not None:
        name, original, planted = MUTANTS[mutant]
        text = (ROOT / "book_assets" / "js" / name).read_text(encoding="utf-8")
        assert original in text, f"the mutation {mutant!r} no longer applies"
        body = text.replace(original, planted)
        routes.append(
            (
                f"**/_static/js/{name}*",
                lambda r: r.fulfill(body=body, content_type="text/javascript"),
            )
        )
    page = chapter(name=BARE, routes=routes)
    tired = recompute(examples.SENTENCE)
    views = page.evaluate(SWEEP, [0, tired.tokens.index("it")])
    assert len(views) == 6 * 12

    def compare():
        for n, shown in enumerate(views):
            assert_shows(shown, expected_view(tired, n // 12, n % 12, "it"))

    if mutant is None:
        compare()
        assert page.log.errors == []
    else:
        with pytest.raises(AssertionError):
            compare()


def test_dark_mode_leaves_the_picture_as_in_light_mode(chapter):
    from PIL import Image

    pictures = []
    for mode in ["light", "dark"]:
        page = chapter(mode=mode)
        assert page.evaluate("document.documentElement.dataset.theme") == mode
        picture = page.locator(".sa-pretrained .sa-picture")
        # taken out of the page, same size, at whole pixels, on top
        box = picture.evaluate(
            """(e) => {
                const width = e.getBoundingClientRect().width;
                Object.assign(e.style, {position: 'fixed', top: '0px', left: '0px',
                    width: `${width}px`, zIndex: 10000});
                const r = e.getBoundingClientRect();
                return {x: 0, y: 0, width: Math.floor(r.width),
                        height: Math.min(900, Math.floor(r.height))};
            }"""
        )
        shot = page.screenshot(clip=box)
        pictures.append(np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")))
    light, dark = pictures
    assert light.shape == dark.shape
    assert np.array_equal(light, dark)
    assert (light[0, 0] == 255).all()  # a white ground


#: The font size of every text in the explorer, as drawn (an SVG drawn smaller than
#: its own size would shrink its text).
TEXT_SIZES = """() => Array.from(document.querySelectorAll('.sa-pretrained *'))
    .filter((el) => el.getClientRects().length && Array.from(el.childNodes).some(
        (n) => n.nodeType === 3 && n.textContent.trim()))
    .map((el) => {
        const svg = el.closest('svg');
        const scale = svg
            ? svg.getBoundingClientRect().width / svg.width.baseVal.value : 1;
        return parseFloat(getComputedStyle(el).fontSize) * scale;
    })"""
#: The controls smaller than a fingertip (44 × 44 CSS px).
SMALL_CONTROLS = """() => Array.from(document.querySelectorAll(
        '.sa-pretrained select, .sa-pretrained input[type=text], '
        + '.sa-pretrained .sa-option, .sa-pretrained button'))
    .filter((el) => el.getClientRects().length)
    .map((el) => el.getBoundingClientRect())
    .filter((r) => r.height < 44 || r.width < 44).length"""


def test_at_phone_width_the_text_stays_readable_and_controls_touchable(chapter):
    page = chapter(width=390)
    sizes = page.evaluate(TEXT_SIZES)
    assert sizes and min(sizes) >= 8
    assert page.evaluate(SMALL_CONTROLS) == 0
    assert page.locator(".sa-pretrained button").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


# --- Messages when the model cannot be loaded ----------------------------------------

NOTE = "() => document.querySelector('.sa-pretrained .sa-model-note').textContent"


def test_opened_as_a_file_it_shows_the_books_sentences_and_says_to_serve(
    browser,  # noqa: F811
    book,  # noqa: F811
    recompute,
):
    page = open_chapter(browser, HTML.as_uri() + "/")
    try:
        shown = page.evaluate(SHOWN)
        first = _first()
        tired = recompute(examples.SENTENCE)
        assert_shows(
            shown, expected_view(tired, first["layer"] - 1, first["head"] - 1, "it")
        )
        assert shown["state"] == "unavailable"
        note = page.evaluate(NOTE)
        assert note.startswith("Only the book's sentences can be shown here: ")
        assert "python -m http.server -d _build/html" in note
        assert not page.locator(".sa-pretrained button").is_visible()
        assert page.log.errors == []
    finally:
        page.context.close()


def test_a_build_without_the_model_says_so(chapter, tmp_path):
    sys.path.insert(0, str(ROOT / "book_ext"))
    import bookext

    app = types.SimpleNamespace(
        srcdir=str(tmp_path),  # no node_modules there
        outdir=str(tmp_path / "html"),
        builder=types.SimpleNamespace(format="html"),
    )
    bookext._copy_minilm(app, None)
    written = (tmp_path / "html" / bookext.MINILM_STATIC / "minilm.json").read_text()
    page = chapter(
        routes=[
            (
                "**/_static/minilm/minilm.json",
                lambda r: r.fulfill(body=written, content_type="application/json"),
            )
        ]
    )
    unavailable = json.loads(written)["unavailable"]
    assert "npm ci" in unavailable
    note = page.evaluate(NOTE)
    assert note == f"Only the book's sentences can be shown here: {unavailable}"
    assert not page.locator(".sa-pretrained button").is_visible()
    assert page.evaluate(SHOWN)["rows"]  # the book's sentence is there
    assert page.log.errors == []


def test_a_failed_download_says_what_failed_and_offers_to_try_again(chapter):
    config = json.loads((STATIC / "minilm.json").read_text(encoding="utf-8"))
    if not config["available"]:
        pytest.skip(config["unavailable"])
    graph = config["graph"]
    page = chapter(
        routes=[(f"**/_static/minilm/{graph}", lambda r: r.fulfill(status=404))]
    )
    before = page.evaluate(SHOWN)
    button = page.locator(".sa-pretrained button")
    button.focus()
    page.keyboard.press("Enter")  # the button works from the keyboard
    page.wait_for_function(
        "() => document.querySelector('.sa-pretrained').dataset.state === 'failed'"
    )
    after = page.evaluate(SHOWN)
    base = page.url.split("chapters/")[0]
    assert after["message"] == (
        f"The model could not be loaded: Could not fetch {base}"
        f"_static/minilm/{graph}: HTTP 404"
    )
    assert after["picture"] == before["picture"] and after["control"] == "select"
    assert button.is_visible()
    assert button.inner_text().startswith("Try again to load the model (")
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    assert [e for e in page.log.errors if "404" not in e] == []


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_axe_finds_no_violation_before_the_model(chapter, axe_source, mode):  # noqa: F811
    page = chapter(mode=mode)
    page.add_script_tag(content=axe_source)
    assert page.evaluate(AXE) == []


AXE = """async () => (await axe.run(document.querySelector('.sa-pretrained'),
    {resultTypes: ['violations']})).violations.map(
        (v) => `${v.id}: ${v.help} (${v.nodes.length}x)`)"""


# --- With the model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(chapter_with_model):
    return chapter_with_model


def _wait_rows(page, rows, timeout=20000):
    page.wait_for_function(
        f"(rows) => JSON.stringify(({SHOWN})(false).rows) === JSON.stringify(rows)",
        arg=rows,
        timeout=timeout,
    )
    return page.evaluate(SHOWN)


def _wait_message(page, message, timeout=20000):
    page.wait_for_function(
        "(m) => document.querySelector('.sa-pretrained .sa-message').textContent === m",
        arg=message,
        timeout=timeout,
    )
    return page.evaluate(SHOWN)


def test_the_button_loads_the_model_with_its_progress(loaded):
    first, config = loaded.first, json.loads((STATIC / "minilm.json").read_text())
    heavy = [config["graph"], "ort-wasm-simd-threaded.wasm", "tokenizer.json"]
    # before the button: the book's sentence, no part of the model
    assert not [u for u in first["before"] if u.endswith(tuple(heavy))]
    assert first["visible"]
    size = max(1, round(config["download_bytes"] / 1e6))
    assert first["label"] == f"Load the model to type your own sentence ({size} MB)"
    assert all(any(u.endswith("/" + name) for u in first["fetched"]) for name in heavy)
    # the progress bar, shown while loading, counts up to the whole download
    shown = first["shown"]
    assert len(shown) > 10 and all(s["visible"] for s in shown)
    values = [s["value"] for s in shown]
    assert values == sorted(values) and values[-1] == config["download_bytes"]
    assert shown[-1]["max"] == config["download_bytes"]
    assert shown[0]["text"] == f"Loading the model: 0.0 of {size} MB"
    assert shown[-1]["text"] == (
        f"Loading the model: {config['download_bytes'] / 1e6:.1f} of {size} MB"
    )
    # then the picture is the model's, and the sentence a text box, focused
    assert first["state"] == "live" and first["redrawn"]
    page = loaded.page
    assert page.evaluate("document.activeElement.matches('.sa-pretrained input')")
    assert not page.locator(".sa-pretrained .sa-model").is_visible()


def test_typed_sentences_show_the_python_models_tokens_and_weights(loaded, recompute):
    from selfattention import pretrained_onnx

    page = loaded.page
    tolerance = pretrained_onnx.TOLERANCE
    shown = page.evaluate(SHOWN)
    first = _first()
    layer, head = first["layer"] - 1, first["head"] - 1
    assert shown["control"] == "input" and shown["sentence"] == examples.SENTENCE
    tired = recompute(examples.SENTENCE)
    assert_shows(shown, expected_view(tired, layer, head, "it"), tolerance)
    # a new sentence, the row of "it"; another layer and head
    sentence = "The dog didn't cross the road because it was too busy."
    page.locator(".sa-pretrained input[type=text]").fill(sentence)
    result = recompute(sentence)
    shown = _wait_rows(page, plotting.short_labels(result.tokens))
    assert_shows(shown, expected_view(result, layer, head, "it"), tolerance)
    assert shown["message"] == ""
    _choose(page, "layer", 6)
    _choose(page, "head", 12)
    assert_shows(page.evaluate(SHOWN), expected_view(result, 5, 11, "it"), tolerance)
    # no "it": the row of the first token after [CLS], as the Python explorer shows;
    # the reader picks another, which stays chosen in the next sentence
    sentence = "A zebra ran across the icy road, unbothered by the cold"
    page.locator(".sa-pretrained input[type=text]").fill(sentence)
    result = recompute(sentence)
    shown = _wait_rows(page, plotting.short_labels(result.tokens))
    assert_shows(shown, expected_view(result, 5, 11, "a"), tolerance)
    assert shown["options"][:2] == ["0: [CLS]", "1: a"]
    page.locator('.sa-pretrained select[id$="-query"]').select_option(label="2: zebra")
    assert_shows(page.evaluate(SHOWN), expected_view(result, 5, 11, "zebra"), tolerance)
    # the longest sentence the explorer shows: 32 WordPiece tokens, [CLS] and [SEP]
    # included; its picture scrolls in its box, the page does not
    sentence = "Zebras, unbelievably, " + " ".join(["stripe"] * 21)
    result = recompute(sentence)
    assert len(result.tokens) == pretrained.MAX_TOKENS
    assert any(t.startswith("##") for t in result.tokens)
    page.locator(".sa-pretrained input[type=text]").fill(sentence)
    shown = _wait_rows(page, plotting.short_labels(result.tokens))
    assert_shows(shown, expected_view(result, 5, 11, "zebra"), tolerance)
    assert page.evaluate(
        "() => { const p = document.querySelector('.sa-pretrained .sa-picture');"
        " return p.scrollWidth > p.clientWidth; }"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 1200
    # typed fast, key by key: the picture ends with the last text, not an older one
    box = page.locator(".sa-pretrained input[type=text]")
    box.fill("")
    box.press_sequentially("it was the cat", delay=5)
    result = recompute("it was the cat")
    shown = _wait_rows(page, plotting.short_labels(result.tokens))
    page.wait_for_timeout(500)  # late results of shorter texts must not come back
    assert_shows(page.evaluate(SHOWN), expected_view(result, 5, 11, "it"), tolerance)
    assert loaded.log.external == [] and loaded.log.errors == []


def _python_note(result, sentence: str) -> str:
    """What the Python explorer (widgets.PretrainedExplorer) says the model did not
    read as typed: the same two notes (its third, on glyphs missing from matplotlib's
    font, is about its own figure)."""
    import unicodedata

    unknown, left_out = result.unread(sentence, "[UNK]")
    notes = []
    if unknown:
        notes.append(
            f"Not in the model's vocabulary, so read as [UNK]: {' '.join(unknown)}"
        )
    if left_out:
        shown = [
            ch
            if ch.isprintable() and unicodedata.category(ch)[0] != "M"
            else f"U+{ord(ch):04X}"
            for ch in left_out
        ]
        notes.append(f"Left out by the tokenizer: {' '.join(shown)}")
    return ". ".join(notes)


#: Sentences with what the model does not read as typed: emoji, rare CJK and other
#: characters its vocabulary lacks ([UNK]), invisible and control characters and a
#: combining accent on no letter (left out), and markup, which is only text.
UNREAD = [
    "Emoji 😀 and 🙂🙃 are unknown to it, 東京 is not.",
    "world😀! (well)🙃, ok",
    "a zero\u200bwidth space, a tab\tand a bell\x07 here",
    "an accent \u0301 alone, and café, cafe\u0301 with their letters",
    "東京😀 and 𠀀 and Ⅻ and ☃ and \ufffd",
    '<img src=x onerror="window.owned=1">😀 it <b>was</b> tired',
]


def test_what_the_model_did_not_read_is_said_as_the_python_says_it(loaded, recompute):
    page = loaded.page
    box = page.locator(".sa-pretrained input[type=text]")
    notes = 0
    for sentence in UNREAD:
        box.fill(sentence)
        result = recompute(sentence)
        shown = _wait_rows(page, plotting.short_labels(result.tokens))
        expected = _python_note(result, sentence)
        notes += bool(expected)
        assert shown["message"] == expected, sentence
    assert notes == len(UNREAD)  # each sentence has something to say
    # markup is text: nothing ran, no element was made
    assert page.evaluate("window.owned") is None
    assert page.locator(".sa-pretrained img, .sa-pretrained b").count() == 0
    assert loaded.log.errors == []


def test_empty_and_too_long_sentences_get_the_python_messages(
    loaded, python_model, recompute
):
    from tests.test_browser_minilm import _python_message

    page = loaded.page
    box = page.locator(".sa-pretrained input[type=text]")
    box.fill("the cat sat")
    shown = _wait_rows(page, recompute("the cat sat").tokens)
    assert shown["message"] == ""
    picture = shown["picture"]
    tokenizer, _ = python_model
    for bad in ["", "  \t ", " ".join(["word"] * (pretrained.MAX_TOKENS - 1))]:
        expected = _python_message(bad, tokenizer)
        assert expected  # the Python refuses it
        box.fill(bad)
        shown = _wait_message(page, expected)
        assert shown["picture"] == picture  # the picture stays
        assert page.locator(".sa-pretrained .sa-message.sa-error").count() == 1
    box.fill("the cat  sat ")  # back (the same tokens): the message goes
    assert _wait_message(page, "")["picture"] == picture


def test_axe_finds_no_violation_with_the_model_and_its_messages(loaded, axe_source):  # noqa: F811
    page = loaded.page
    page.add_script_tag(content=axe_source)
    box = page.locator(".sa-pretrained input[type=text]")
    for typed in ["the cat sat", "Emoji 😀 here", "", " ".join(["it"] * 40)]:
        box.fill(typed)
        page.wait_for_timeout(300)
        assert page.evaluate(AXE) == [], typed

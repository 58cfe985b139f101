"""Headless tests of the explorers: set a control as a reader would,
check the numbers behind the picture.
"""

import base64
import html
import math
import re
from pathlib import Path

import ipywidgets
import numpy as np
import pytest

from selfattention import attention, examples, explorer, normalize, plotting, widgets

ROOT = Path(__file__).resolve().parent.parent

# Pre-drawn explorers (the HTML book's) need ipywidgets 8's Stack; they are made only
# by the book's build.
# Everything else here also runs on ipywidgets 7.7, Colab's version
# (tests/test_colab.py runs this file there).
needs_stack = pytest.mark.skipif(
    not hasattr(widgets.widgets, "Stack"),
    reason="pre-drawn explorers need ipywidgets 8 (Stack)",
)


def frontend_sets(control, value):
    """Change a control the way the browser does: through a comm message,
    not a Python assignment.
    """
    if hasattr(control, "index"):
        # selection widgets sync the index of the chosen option, not the value
        state = {"index": [v for _, v in control.options].index(value)}
    else:
        state = {"value": value}
    control._handle_msg(
        {
            "content": {
                "data": {"method": "update", "state": state, "buffer_paths": []}
            },
            "buffers": [],
        }
    )


def test_dot_product_explorer_recomputes_scores_and_redraws():
    e = widgets.DotProductExplorer(angle=0, length=1.0)
    # query (1, 0): the dot product is each key's x
    np.testing.assert_allclose(e.scores, e.KEYS[:, 0])
    first_picture = e.png
    frontend_sets(e.angle, 90)
    np.testing.assert_allclose(e.query, [0.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(e.scores, e.KEYS[:, 1], atol=1e-15)  # now each key's y
    heights = [bar.get_height() for bar in e.bars.bars]
    np.testing.assert_allclose(heights, e.scores)
    assert e.arrows.arrows[0].xy == pytest.approx((0.0, 1.0))
    assert e.png != first_picture
    e.angle.value = 0
    assert e.png == first_picture  # the same state draws the same picture


def test_scaling_explorer_shows_softmax_saturating_without_the_scale():
    e = widgets.ScalingExplorer(d_k=1)
    assert e.unscaled.max() < 0.6  # d_k = 1: scores are small either way
    e.d_k.value = 1024
    q, k = e.sample(1024)
    np.testing.assert_allclose(e.unscaled, normalize(q @ k.T)[0])
    np.testing.assert_allclose(e.scaled, normalize(q @ k.T / 32.0)[0])
    # almost one-hot: the gradient through softmax vanishes
    assert e.unscaled.max() > 0.99
    assert e.scaled.max() < 0.9
    np.testing.assert_allclose([b.get_height() for b in e.raw_bars.bars], e.unscaled)
    np.testing.assert_allclose([b.get_height() for b in e.scaled_bars.bars], e.scaled)
    assert "32" not in e.raw_bars.ax.get_title()
    assert "√1024" in e.scaled_bars.ax.get_title()


def test_temperature_explorer_goes_from_uniform_to_one_hot():
    e = widgets.TemperatureExplorer(scores=[2.0, 1.0, 0.0], scale=0.0)
    np.testing.assert_allclose(e.weights, [1 / 3] * 3)
    e.scale.value = 16.0
    assert e.weights[0] > 0.9999
    np.testing.assert_allclose(
        [b.get_height() for b in e.score_bars.bars], [32.0, 16.0, 0.0]
    )
    # one fixed axis for every factor, holding the largest scaled score: the bars,
    # not the axis, show the scores growing
    limits = e.score_bars.ax.get_ylim()
    assert limits[1] > 32.0
    e.scale.value = 0.1
    assert e.score_bars.ax.get_ylim() == limits
    assert max(b.get_height() for b in e.score_bars.bars) == pytest.approx(0.2)


def test_blend_explorer_output_stays_in_the_triangle_and_follows_the_value():
    e = widgets.BlendExplorer(angle=90)
    out, w = attention(np.array([[0.0, 1.0]]), e.KEYS, e.VALUES)
    np.testing.assert_allclose(e.output, out[0], atol=1e-12)
    np.testing.assert_allclose(e.weights, w[0], atol=1e-12)
    before = e.output.copy()
    frontend_sets(e.v3_x, 1.5)
    assert e.values[2, 0] == 1.5
    assert e.output[0] > before[0]  # v3 moved right, so did the output
    np.testing.assert_allclose(e.output, e.weights @ e.values, atol=1e-12)
    np.testing.assert_allclose(e.hull.output.get_xdata(), [e.output[0]])
    for angle in range(0, 360, 10):
        e.angle.value = angle
        lo, hi = e.values.min(axis=0), e.values.max(axis=0)
        assert ((e.output >= lo - 1e-12) & (e.output <= hi + 1e-12)).all()


def test_attention_matrix_explorer_follows_sentence_query_and_layer():
    e = widgets.AttentionMatrixExplorer()
    tokens = examples.tokenize(examples.SENTENCE)
    assert e.query.label == "7: it"
    expected = examples.contextualize(examples.SENTENCE)
    np.testing.assert_allclose(e.weights, expected.weights[1])
    np.testing.assert_allclose(e.heatmap.image.get_array(), expected.weights[1])
    assert tokens[int(np.argmax(e.row))] == "animal"
    np.testing.assert_allclose([b.get_height() for b in e.bars.bars], e.row)

    frontend_sets(e.sentence, examples.SENTENCE_WIDE)
    assert e.query.label == "7: it"  # the chosen token is kept when it is still there
    assert examples.tokenize(examples.SENTENCE_WIDE)[int(np.argmax(e.row))] == "street"

    e.layer.value = 0
    np.testing.assert_allclose(
        e.weights, examples.contextualize(examples.SENTENCE_WIDE).weights[0]
    )
    assert int(np.argmax(e.row)) == 10  # layer 1: "it" looks at the adjective "wide"

    e.sentence.value = "The cat sat"
    assert e.heatmap.image.get_array().shape == (3, 3)
    # the queries label the heatmap's rows; the keys, the bars under its columns
    labels = [t.get_text() for t in e.heatmap.ax.get_yticklabels()]
    assert labels == ["the", "cat", "sat"]
    labels = [t.get_text() for t in e.bars.ax.get_xticklabels()]
    assert labels == ["the", "cat", "sat"]
    assert len(e.bars.bars) == 3


def marked(bars) -> list[int]:
    """The bars drawn as "the largest" (red, hatched)."""
    return [
        i
        for i, bar in enumerate(bars.bars)
        if bar.get_hatch() == plotting.HIGHLIGHT_HATCH
    ]


def test_largest_names_one_winner_and_none_on_a_tie():
    assert plotting.largest([0.1, 0.7, 0.2]) == 1
    assert plotting.largest([0.4, 0.4, 0.2]) is None
    assert plotting.largest([0.25] * 4) is None
    assert plotting.largest([-3.0, -1.0, -2.0]) == 1
    # a tie computed in floating point is still a tie
    assert plotting.largest(normalize(np.array([0.1 + 0.2, 0.3, 0.0]))) is None


def test_the_marked_bar_is_the_largest_weight_and_ties_mark_none():
    """One meaning book-wide: red hatching is the row's largest weight, never the
    query's own bar, and no bar when the largest weight is shared."""
    e = widgets.AttentionMatrixExplorer()  # the row of "it", layer 2
    tokens = examples.tokenize(examples.SENTENCE)
    assert [tokens[i] for i in marked(e.bars)] == ["animal"]
    frontend_sets(e.query, 0)  # "the", layer 2: its largest weight is animal's too
    assert [tokens[i] for i in marked(e.bars)] == ["animal"]
    e.layer.value = 0  # layer 1: "the" has a zero query, a uniform row
    assert marked(e.bars) == []

    t = widgets.TemperatureExplorer(scores=(2.0, 1.0, 0.1, -1.0), scale=0.0)
    assert marked(t.weight_bars) == []  # factor 0: every weight 1/m
    t.scale.value = 1.0
    assert marked(t.weight_bars) == [0]

    b = widgets.BlendExplorer(angle=270)  # k1 and k2 mirror each other about the query
    assert b.weights[0] == pytest.approx(b.weights[1])
    assert marked(b.bars) == []
    b.angle.value = 90
    assert marked(b.bars) == [2]

    fig, _, bars = plotting.attention_figure(
        tokens, examples.contextualize(tokens).weights[1], tokens.index("it")
    )
    assert [tokens[i] for i in marked(bars)] == ["animal"]


def test_scaling_explorer_keeps_the_same_vectors_and_adds_entries():
    e = widgets.ScalingExplorer(d_k=8)
    q8, k8 = e.sample(8)
    q1024, k1024 = e.sample(1024)
    assert q8.shape == (1, 8) and k8.shape == (e.N_KEYS, 8)
    np.testing.assert_array_equal(q1024[:, :8], q8)
    np.testing.assert_array_equal(k1024[:, :8], k8)
    e.d_k.value = 1024
    np.testing.assert_allclose(e.raw_scores, (q1024 @ k1024.T)[0])
    with pytest.raises(ValueError, match="d_k must be one of"):
        e.sample(3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one word"),
        ("   \t  ", "at least one word"),
        ("?!… 🙂🙂", "at least one word"),
        (" ".join(["word"] * 40), "has 40 words"),
        ("a" * 500, "longer than"),
    ],
)
def test_bad_sentences_give_a_friendly_message_and_keep_the_picture(text, message):
    e = widgets.AttentionMatrixExplorer()
    picture, weights = e.png, e.weights
    frontend_sets(e.sentence, text)
    assert message in e.message.value
    assert "Traceback" not in e.message.value
    assert e.png == picture
    assert e.weights is weights
    e.sentence.value = "the dog was tired"
    assert e.message.value == ""  # fixed input clears the message
    assert e.weights.shape == (4, 4)


def test_unusual_unicode_is_handled_and_unknown_words_are_named():
    e = widgets.AttentionMatrixExplorer()
    e.sentence.value = "Ｔｈｅ café’s naïve dog — was tired"
    assert e._tokens == ["the", "café's", "naïve", "dog", "was", "tired"]
    assert "café&#x27;s" in e.message.value  # the note names the unknown words
    assert np.isfinite(e.weights).all()


def test_unknown_words_get_the_same_vector_every_time():
    a, b = examples.unknown_word_vector("zebra"), examples.unknown_word_vector("zebra")
    np.testing.assert_array_equal(a, b)
    assert math.isclose(np.linalg.norm(a), 0.5)
    assert not np.allclose(a, examples.unknown_word_vector("zebras"))


class BrokenExplorer(widgets.TemperatureExplorer):
    """A deliberately broken callback: the first drawing works,
    every later one raises.
    """

    def redraw(self):
        if hasattr(self, "weights"):
            raise RuntimeError("deliberately broken")
        super().redraw()


def test_an_exception_in_a_callback_is_caught(widget_errors):
    e = BrokenExplorer()
    # A change from the browser: ipywidgets catches the exception and only logs it ...
    frontend_sets(e.scale, 4.0)
    assert "Something went wrong (RuntimeError)" in e.message.value
    # ... and the autouse fixture `widget_errors` (conftest.py) sees the log record, so
    # the test would fail.
    assert [type(r.exc_info[1]) for r in widget_errors.records] == [RuntimeError]
    assert "deliberately broken" in str(widget_errors.records[0].exc_info[1])
    widget_errors.records.clear()  # expected here; anywhere else it fails the test
    # A change from Python code (a notebook cell, a test) is not swallowed at all:
    with pytest.raises(RuntimeError, match="deliberately broken"):
        e.scale.value = 8.0


def test_a_broken_explorer_fails_when_built():
    class BrokenAtOnce(widgets.TemperatureExplorer):
        def redraw(self):
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        BrokenAtOnce()


def test_redraws_update_artists_in_place():
    e = widgets.AttentionMatrixExplorer()
    image, bars = e.heatmap.image, e.bars.bars
    e.query.value = 1
    e.layer.value = 0
    assert e.heatmap.image is image  # same artists, new data
    assert e.bars.bars is bars
    assert len(e.fig.axes) == 3  # heatmap, colour bar, row: nothing was added


def _displayed(obj):
    """What a notebook shows for ``obj``: the mime bundles it displays."""
    from IPython.core.interactiveshell import InteractiveShell

    shown = []
    shell = InteractiveShell.instance()
    publish = shell.display_pub.publish
    shell.display_pub.publish = lambda data, metadata=None, **kwargs: shown.append(data)
    try:
        from IPython.display import display

        display(obj)
    finally:
        shell.display_pub.publish = publish
        InteractiveShell.clear_instance()
    return shown


def test_in_a_kernel_an_explorer_shows_itself_live_with_a_plain_text_explanation(
    monkeypatch,
):
    monkeypatch.delenv("SELFATTENTION_PREDRAW", raising=False)
    e = widgets.TemperatureExplorer()
    # nothing shown yet: no picture widget made (the book's build never makes one)
    assert e._image is None
    bundle, script = _displayed(e)
    assert (
        bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
        == e.widget.model_id
    )
    # and the script that names its controls for screen readers (no text form)
    assert script == {"application/javascript": explorer.CONTROL_NAMES_JS}
    # an untrusted notebook shows the plain text: it must say what to do, not
    # "VBox(children=(..."
    assert bundle["text/plain"].startswith(e.PICTURE)
    assert "Run this cell" in bundle["text/plain"]
    assert e._image.value == e.png
    assert e.png[:8] == b"\x89PNG\r\n\x1a\n"
    e.scale.value = 4.0
    assert e._image.value == e.png  # the live picture follows the controls


@needs_stack
def test_for_the_book_an_explorer_shows_pictures_drawn_in_advance(monkeypatch):
    monkeypatch.setenv("SELFATTENTION_PREDRAW", "1")
    e = widgets.TemperatureExplorer()
    (bundle,) = _displayed(e)
    shown = next(
        w
        for w in _all_widgets()
        if w.model_id == bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    )
    assert isinstance(shown, widgets.widgets.VBox)
    assert len(e.frames) == len(widgets.SCALE_OPTIONS)
    # the live picture is never made: its PNG would only bloat the stored notebook
    assert e._image is None
    # untrusted, JupyterLab shows the text (one line)
    text = bundle["text/plain"]
    assert text.startswith(e.PICTURE) and "Run this cell" in text
    assert "\n" not in text


@needs_stack
def test_a_pre_drawn_explorer_says_what_it_is_and_shows_no_disconnected_icon():
    """In a trusted notebook not yet run, JupyterLab shows the stored pre-drawn
    explorer: its first line says so, names the controls only the live explorer has,
    and hides ipywidgets' "disconnected" icons inside it (and nowhere else); the book
    hides the line (book.css). tests/test_jupyterlab.py sees it in a real Lab.
    """
    e = widgets.DotProductExplorer()
    box = e.precomputed(angle=[0, 90, 180])
    note = box.children[0]
    assert explorer.PREDRAWN_CLASS in box._dom_classes
    assert explorer.PREDRAWN_NOTE_CLASS in note._dom_classes
    assert note.value.startswith(explorer.PREDRAWN_STYLE)
    for rule in re.findall(
        r"([^{}]+)\{", explorer.PREDRAWN_STYLE.removeprefix("<style>")
    ):
        for selector in rule.split(","):
            # scoped: a live explorer that lost its kernel keeps its icons
            assert selector.startswith(f".{explorer.PREDRAWN_CLASS}")
            assert selector.endswith(".jupyter-widgets-disconnected::before")
    text = re.sub(r"<[^>]+>", "", note.value.removeprefix(explorer.PREDRAWN_STYLE))
    assert text.startswith("These are 3 pictures drawn in advance.")
    assert "Run this cell for the live explorer with all its controls" in text
    assert "“query length”" in text and "“query angle (°)”" not in text
    full = widgets.TemperatureExplorer().precomputed()
    assert "including" not in full.children[0].value  # it lacks no control
    css = (ROOT / "book_assets" / "book.css").read_text(encoding="utf-8")
    assert re.search(
        rf"\.{explorer.PREDRAWN_NOTE_CLASS}\s*\{{\s*display:\s*none !important;", css
    )


def test_the_query_survives_a_new_sentence_or_falls_back_to_it_then_the_first_token():
    e = widgets.AttentionMatrixExplorer()
    e.query.value = 1  # "animal"
    e.sentence.value = "the animal was tired"
    assert e.query.label == "1: animal"  # still there: kept
    e.sentence.value = "the dog said it was busy"
    assert e.query.label == "3: it"  # "animal" is gone: "it" is preferred
    e.sentence.value = "dogs bark loudly"
    assert e.query.label == "0: dogs"  # neither: the first token


def test_typed_characters_that_cannot_be_shown_are_named():
    e = widgets.AttentionMatrixExplorer()
    e.sentence.value = "naïve café 🚀 日本語"
    assert e._tokens == ["naïve", "café", "日本語"]
    assert "Left out (not letters or digits): 🚀" in e.message.value
    assert "empty boxes" in e.message.value
    assert "日 本 語" in e.message.value
    e.sentence.value = "the dog was tired"
    assert e.message.value == ""


def test_layer_buttons_show_their_whole_label():
    e = widgets.AttentionMatrixExplorer()
    assert e.layer.style.button_width == "auto"
    assert [label for label, _ in e.layer.options] == [label for label, _ in e.LAYERS]


def _all_widgets():
    from ipywidgets.widgets import widget

    registry = getattr(widget, "_instances", None)  # ipywidgets 8
    # ipywidgets 7
    return list((registry if registry is not None else widget.Widget.widgets).values())


def _links():
    return [
        w for w in _all_widgets() if type(w).__name__ in ("Link", "DirectionalLink")
    ]


def _pixels(png):
    from io import BytesIO

    from PIL import Image

    pixels = np.asarray(Image.open(BytesIO(png)).convert("L"), dtype=float)
    h, w = (pixels.shape[0] // 10) * 10, (pixels.shape[1] // 10) * 10
    # 10 x 10 block means: insensitive to the 1-pixel shifts a re-run layout can cause
    return pixels[:h, :w].reshape(h // 10, 10, w // 10, 10).mean(axis=(1, 3))


@needs_stack
@pytest.mark.parametrize(
    ("explorer", "sweep"),
    [
        (widgets.DotProductExplorer, {"angle": [0, 90, 180]}),
        (widgets.ScalingExplorer, None),  # the default sweep: every d_k of the slider
        (widgets.TemperatureExplorer, None),
        (widgets.BlendExplorer, {"angle": [0, 90], "v3_x": [-1.0, 1.0, 2.0]}),
        (widgets.AttentionMatrixExplorer, {"query": [1, 7], "layer": [0, 1]}),
    ],
    ids=lambda x: getattr(x, "__name__", "sweep"),
)
def test_precomputed_explorers_switch_pictures_in_the_browser(explorer, sweep):
    e = explorer()
    box = e.precomputed(**(sweep or {}))
    sweep = sweep or e.SWEEP
    _, row, picture = box.children  # the note for notebook readers, controls, picture
    selectors = row.children
    background = None
    if e.layered:  # a shared background under the stack: the leaves are top layers
        base, picture = picture.children
        background = base64.b64decode(
            re.search(r'base64,([^"]+)"', base.value).group(1)
        )
    assert len(selectors) == len(sweep)
    assert len(e.frames) == int(np.prod([len(list(v)) for v in sweep.values()]))
    # every selector is linked, in the browser, to the stacks at its level
    links = [(link.source, link.target) for link in _links()]
    stacks = [picture]
    for selector in selectors:
        for stack in stacks:
            assert (selector, "index") in [
                s for s, t in links if t == (stack, "selected_index")
            ]
            assert stack.selected_index == selector.index
        stacks = [child for stack in stacks for child in stack.children]
    # the leaves are the stored pictures, each an <img> with a text
    # alternative naming the settings
    alts = []
    for leaf, png in zip(stacks, e.frames.values(), strict=True):
        src, alt = re.search(
            r'src="data:image/png;base64,([^"]+)" alt="([^"]+)"', leaf.value
        ).groups()
        shown = base64.b64decode(src)
        if background is not None:
            shown = plotting.stack_layers(background, shown)
        assert shown == png
        alt = html.unescape(alt)
        assert alt.startswith(e.PICTURE)
        assert all(f"{c.description} = " in alt for c in selectors if c.description)
        alts.append(alt)
    assert len(set(alts)) == len(alts)  # each picture's text names its own settings

    # every combination draws a different picture
    assert len(set(e.frames.values())) == len(e.frames)
    # the picture stored for a combination is what the live explorer
    # draws for those values
    first, last = list(e.frames)[0], list(e.frames)[-1]
    fresh = explorer()
    with fresh.quietly():
        for name, value in zip(sweep, last, strict=True):
            getattr(fresh, name).value = value
    fresh._on_change()
    drawn = _pixels(fresh.renderer.render(full=True, quantize=True))
    same, other = (
        np.abs(drawn - _pixels(e.frames[last])).mean(),
        np.abs(drawn - _pixels(e.frames[first])).mean(),
    )
    assert same < 1.0  # grey levels out of 255, averaged over 10 x 10 blocks
    assert other > 3 * same


@needs_stack
def test_precomputed_selectors_keep_labels_and_nearest_values():
    e = widgets.BlendExplorer(angle=100)
    box = e.precomputed(angle=[0, 90, 180], v3_x=[0.0, 1.0])
    angle, v3_x = box.children[1].children
    assert angle.value == 90  # the offered angle nearest to 100
    assert angle.description == "query angle (°)"
    assert v3_x.value == 0.0
    m = widgets.AttentionMatrixExplorer()
    query, layer = m.precomputed(query=[6, 7], layer=[0, 1]).children[1].children
    assert query.label == "7: it"
    assert isinstance(query, widgets.widgets.Dropdown)
    assert layer.label == "layer 2: find the referent"
    with pytest.raises(ValueError, match="nothing to sweep"):
        type("NoSweep", (widgets.TemperatureExplorer,), {"SWEEP": {}})().precomputed()


def test_online_softmax_explorer_result_does_not_depend_on_the_block_size():
    e = widgets.OnlineSoftmaxExplorer(block_size=1)
    assert len(e.steps) == 12
    for b in widgets.OnlineSoftmaxExplorer.SWEEP["block_size"]:
        frontend_sets(e.block_size, b)
        assert len(e.steps) == -(-12 // b)
        np.testing.assert_allclose(e.online, e.exact, rtol=0, atol=1e-15)
        assert e.difference < 1e-15
        assert f"of {b};" in e.ax_scores.get_title()
        # the table shows the running M, L and O after every block, and both results
        table = [a for a in e._block_artists if hasattr(a, "get_text")][0].get_text()
        assert len(table.splitlines()) == 1 + len(e.steps) + 3
        for step in e.steps:
            assert f"{step.row_max:4.1f}  {step.total:6.3f}" in table
        assert f"O / L        = ({e.online[0]:.4f}, {e.online[1]:.4f})" in table
        assert f"softmax(s) V = ({e.exact[0]:.4f}, {e.exact[1]:.4f})" in table
    # the running maximum lines: one per block, at the running maximum
    lines = [a for a in e._block_artists if hasattr(a, "get_ydata")]
    assert [line.get_ydata()[0] for line in lines] == [step.row_max for step in e.steps]


@pytest.mark.skipif(hasattr(widgets.widgets, "Stack"), reason="ipywidgets 8 has Stack")
def test_without_stack_pre_drawing_says_why():
    with pytest.raises(RuntimeError, match="pre-drawn explorers need ipywidgets 8"):
        widgets.TemperatureExplorer().precomputed()


def test_multi_head_explorer_shows_the_chosen_head():
    from selfattention.numpy_backend import multi_head_self_attention

    e = widgets.MultiHeadExplorer()
    layer, x = e.layer, examples.embed(e.tokens)
    w = (layer.w_q, layer.w_k, layer.w_v, layer.w_o)
    for view, (heads, head) in enumerate([(1, 0), (2, 0), (2, 1)]):
        frontend_sets(e.view, view)
        expected = multi_head_self_attention(x, *w, num_heads=heads)[1][head]
        np.testing.assert_allclose(e.weights, expected)
        np.testing.assert_allclose(e.heatmap.image.get_array(), expected)
        assert e.heatmap.ax.get_title() == e.VIEWS[view][0]


def test_rotary_explorer_scores_depend_on_the_distance_only():
    e = widgets.RotaryExplorer(position=2, distance=3)
    at_3 = e.all_scores.copy()
    np.testing.assert_allclose(
        at_3, at_3[0], rtol=0, atol=1e-12
    )  # flat along positions
    frontend_sets(e.position, 9)
    assert e.score == pytest.approx(at_3[0], abs=1e-12)
    assert e.marker.get_xdata()[0] == 9
    frontend_sets(e.distance, 5)
    assert not np.allclose(e.all_scores, at_3)  # another distance, another level
    np.testing.assert_allclose(e.line.get_ydata(), e.all_scores)


@pytest.fixture(scope="module")
def pretrained_explorer():
    """A PretrainedExplorer on the book's sentence (skips without the model)."""
    pytest.importorskip("transformers", reason="the pretrained model needs it")
    from selfattention import pretrained

    try:
        pretrained.load()
    except pretrained.ModelNotAvailable as err:
        pytest.skip(str(err))
    return widgets.PretrainedExplorer()


def bar_heights(bars) -> list[float]:
    return [bar.get_height() for bar in bars.bars]


def test_pretrained_explorer_says_truly_what_wordpiece_did_with_the_text(
    pretrained_explorer,
):
    """The model's tokenizer is not the hand-built one: what it cannot read becomes
    [UNK] (emoji, some CJK characters), symbols like < and > are tokens, and only
    invisible characters are left out."""
    e = pretrained_explorer
    e.sentence.value = "I love 🍕 and 我爱你"
    assert e.tokens.count("[UNK]") == 3  # 🍕, 爱 and 你 are not in the vocabulary
    assert "我" in e.tokens  # this one is
    message = html.unescape(e.message.value)
    assert "so read as [UNK]: 🍕 爱 你" in message
    assert "Left out" not in message
    e.sentence.value = "if a < b and b > c"
    assert {"<", ">"} <= set(e.tokens)
    assert e.message.value == ""  # nothing left out, nothing unknown
    e.sentence.value = "zero\u200bwidth"  # a zero-width space: no token covers it
    assert "Left out by the tokenizer: U+200B" in e.message.value
    e.sentence.value = examples.SENTENCE
    assert e.message.value == ""


def test_pretrained_explorer_lets_the_reader_pick_the_row(pretrained_explorer):
    e = pretrained_explorer
    e.sentence.value = examples.SENTENCE
    assert e.query.label == "10: it"
    assert e.bars.ax.get_title() == 'row of "it"'
    # no "it": the first word's row, said in the dropdown and the title, not [CLS]
    e.sentence.value = "The dog sat on the mat."
    assert e.query.label == "1: the"
    assert e.bars.ax.get_title() == 'row of "the"'
    frontend_sets(e.query, 2)  # the reader picks "dog"
    frontend_sets(e.layer, 0)
    assert e.bars.ax.get_title() == 'row of "dog"'
    np.testing.assert_allclose(bar_heights(e.bars), e.result.our_weights[0, 1, 2])
    e.sentence.value = "A dog barked."  # "dog" is still there: it stays chosen
    assert e.query.label == "2: dog"
    np.testing.assert_allclose(bar_heights(e.bars), e.result.our_weights[0, 1, 2])
    e.sentence.value = examples.SENTENCE


def test_training_explorer_shows_the_snapshot_of_the_chosen_step():
    pytest.importorskip("torch", reason="training needs torch")
    from selfattention import training

    result = training.train_referent_model(seed=0, steps=20, snapshot_every=10)
    e = widgets.TrainingExplorer(result)
    assert [v for _, v in e.step.options] == [0, 10, 20]
    for step in (0, 20):
        frontend_sets(e.step, step)
        snapshot = e.snapshots[step]
        for (layer, col), bars in e.bars.items():
            row = snapshot.rows[e.sentences[col]][layer]
            np.testing.assert_allclose([b.get_height() for b in bars.bars], row)
        assert f"after {step} steps" in e.fig._suptitle.get_text()
    first = e.snapshots[0].rows[e.sentences[0]]
    assert (
        np.abs(first - first.mean(axis=-1, keepdims=True)).max() < 0.1
    )  # nearly uniform


def _explorers_with_sweeps():
    cases = [
        (widgets.DotProductExplorer, {}),
        (widgets.ScalingExplorer, {}),
        (widgets.TemperatureExplorer, {}),
        (widgets.BlendExplorer, {}),
        (widgets.AttentionMatrixExplorer, {}),
        (widgets.OnlineSoftmaxExplorer, {}),
        (widgets.MultiHeadExplorer, {}),
        (widgets.RotaryExplorer, {}),
    ]
    return [pytest.param(cls, kwargs, id=cls.__name__) for cls, kwargs in cases]


def _some_values(control) -> list:
    """Up to four values a reader can give ``control`` (a slider or a choice)."""
    if hasattr(control, "options"):
        values = [v for _, v in control.options]
        return values[:: max(1, len(values) // 4)][:4]
    values = np.linspace(control.min, control.max, 4)
    return [type(control.value)(v) for v in values]


@pytest.mark.parametrize(("explorer", "kwargs"), _explorers_with_sweeps())
def test_a_quick_redraw_draws_what_a_full_drawing_draws(explorer, kwargs):
    """Redraws paint only the artists that change; nothing that changed may be left
    stale: after a walk through every control (each moved in turn, several times),
    the picture equals a fresh drawing."""
    e = explorer(**kwargs)
    moved = {
        name: control
        for name, control in vars(e).items()
        if any(control is c for c in e.controls)
        and not isinstance(control, ipywidgets.Text)
    }
    walk = {name: _some_values(control) for name, control in moved.items()}
    for step in range(4):
        for name, values in walk.items():
            frontend_sets(moved[name], values[(step + 1) % len(values)])
    final = {name: control.value for name, control in moved.items()}
    fresh = explorer(**kwargs)
    with fresh.quietly():
        for name, value in final.items():
            getattr(fresh, name).value = value
    fresh._on_change()
    fresh_pixels = _pixels(fresh.renderer.render(full=True))
    assert np.abs(_pixels(e.png) - fresh_pixels).max() < 2.0  # grey levels of 255
    assert np.abs(_pixels(e.png) - _pixels(e.renderer.render(full=True))).max() < 2.0


@needs_stack
@pytest.mark.parametrize(("explorer", "kwargs"), _explorers_with_sweeps())
def test_pictures_drawn_in_advance_share_a_background_where_they_can(explorer, kwargs):
    e = explorer(**kwargs)
    box = e.precomputed()
    frames = list(e.frames.values())
    assert len(set(frames)) == len(frames)
    if e.layered:  # one background, and one top layer per picture, in one grid cell
        picture = box.children[2]
        assert isinstance(picture, widgets.widgets.GridBox)
        assert 'role="presentation"' in picture.children[0].value
        top = re.search(r'base64,([^"]+)', _leaves(picture.children[1])[0].value).group(
            1
        )
        assert len(base64.b64decode(top)) < 0.5 * len(frames[0])  # much smaller
    else:
        assert isinstance(box.children[2], widgets.widgets.Stack)


def _leaves(stack):
    children = getattr(stack, "children", ())
    return (
        [leaf for child in children for leaf in _leaves(child)] if children else [stack]
    )


# --- Every control of every explorer changes what the reader sees ---------------------

#: Controls whose every value legitimately draws the same picture and changes only the
#: text under the controls: (explorer class name, control description) -> why. None
#: today; a control listed here must still change the text.
TEXT_ONLY: dict[tuple[str, str], str] = {}

#: Sentences typed into an explorer's text box (each one changes its tokens), and
#: for an explorer whose model knows only a few words, texts in its vocabulary.
TYPED = [examples.SENTENCE_WIDE, "A tired dog sat on the wide road."]
TYPED_FOR = {
    "RecallExplorer": [
        "the dog was red . the cat was blue . the dog was",
        "the pig was green . the pig was",
    ]
}


def _package_explorers() -> list[type]:
    """Every subclass of ``explorer.Explorer`` defined in the package, found by
    importing all its modules: a new explorer is tested here without being listed."""
    import importlib
    import pkgutil

    import selfattention

    for info in pkgutil.walk_packages(selfattention.__path__, "selfattention."):
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as err:  # an optional extra (torch) not installed
            if err.name not in ("torch", "transformers", "onnxruntime"):
                raise
    found, todo = set(), [explorer.Explorer]
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.startswith("selfattention."):
                found.add(cls)
    return sorted(found, key=lambda cls: (cls.__module__, cls.__name__))


def _trained_result():
    pytest.importorskip("torch", reason="the training explorer shows a torch model")
    from selfattention import training

    return training.load_referent_model(seed=0)


def _recall_result():
    pytest.importorskip("torch", reason="the recall explorer shows a torch model")
    from selfattention import decoder

    return decoder.load_recall_model(seed=0)


def _pretrained_model():
    pytest.importorskip("transformers", reason="the pretrained model needs it")
    from selfattention import pretrained

    try:
        pretrained.load()
    except pretrained.ModelNotAvailable as err:
        pytest.skip(str(err))


#: How to build the explorers that need something first (as their chapters do);
#: any other explorer is built with its defaults.
BUILDERS = {
    "TrainingExplorer": lambda cls: cls(_trained_result()),
    "RecallExplorer": lambda cls: cls(_recall_result()),
    "PretrainedExplorer": lambda cls: (_pretrained_model(), cls())[1],
}


_NOT_CONTROLS = (
    ipywidgets.Image,
    ipywidgets.HTML,
    ipywidgets.HTMLMath,
    ipywidgets.Label,
)


def _seen(e) -> tuple[list, ipywidgets.Image, str]:
    """What the reader of the live explorer sees: its controls (every value widget
    but the picture and the text), the picture, and the text."""
    leaves = _leaves(e.widget)
    controls = [
        w for w in leaves if hasattr(w, "value") and not isinstance(w, _NOT_CONTROLS)
    ]
    (picture,) = [w for w in leaves if isinstance(w, ipywidgets.Image)]
    text = " ".join(
        w.value
        for w in leaves
        if isinstance(w, ipywidgets.HTML) and not w.value.startswith(ALT_START)
    )
    return controls, picture, text


#: How the live explorer's hidden alt text starts (explorer.Explorer._alt_html).
ALT_START = f'<span class="{explorer.ALT_CLASS}">'


def _alt_text(e) -> str:
    """The alt text the live explorer gives its picture (hidden beside it; the
    page's script copies it onto the <img>)."""
    (alt,) = [
        w.value
        for w in _leaves(e.widget)
        if isinstance(w, ipywidgets.HTML) and w.value.startswith(ALT_START)
    ]
    return html.unescape(alt.removeprefix(ALT_START).removesuffix("</span>"))


def _other_values(control, typed=TYPED) -> list:
    """Up to three values a reader can give ``control`` besides its own, spread over
    what it offers (``typed``: the texts for a text box)."""
    if isinstance(control, ipywidgets.Text):
        values = typed
    elif hasattr(control, "options"):
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
    elif isinstance(control.value, bool):
        values = [not control.value]
    else:  # a numeric slider: the values on its grid
        count = round((control.max - control.min) / control.step)
        values = [
            type(control.value)(round(control.min + k * control.step, 10))
            for k in range(count + 1)
        ]
    others = [v for v in values if v != control.value]
    return list(dict.fromkeys(others[i] for i in (0, len(others) // 2, -1)))


def _picture_changed(before: bytes, after: bytes) -> bool:
    """More than the 1-pixel shifts a re-run layout can cause (``_pixels``)."""
    a, b = _pixels(before), _pixels(after)
    return a.shape != b.shape or np.abs(a - b).max() > 2.0


@pytest.mark.parametrize("cls", _package_explorers(), ids=lambda cls: cls.__name__)
def test_every_control_of_every_explorer_changes_the_picture(cls):
    """Each control, moved as the browser moves it to values spread over its range,
    redraws the live explorer's picture differently every time (or, for a control in
    TEXT_ONLY, its text). A control that the drawing ignores fails here."""
    if cls.__name__ in BUILDERS:
        e = BUILDERS[cls.__name__](cls)
    else:
        import inspect

        required = [
            name
            for name, p in inspect.signature(cls).parameters.items()
            if p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        assert not required, (
            f"{cls.__name__} needs {required} to be built: add it to BUILDERS"
        )
        e = cls()
    controls, picture, _ = _seen(e)
    assert controls, f"{cls.__name__} shows no control"
    ignored = []
    for control in controls:
        name = control.description or type(control).__name__
        text_only = (cls.__name__, control.description) in TEXT_ONLY
        values = _other_values(control, TYPED_FOR.get(cls.__name__, TYPED))
        assert values, f"{name}: no other value to try"
        for value in values:
            png, text = picture.value, _seen(e)[2]
            frontend_sets(control, value)
            assert control.value == value
            if text_only:
                changed = _seen(e)[2] != text
            else:
                changed = _picture_changed(png, picture.value)
            if not changed:
                ignored.append(f"{name} = {value!r}")
            # the picture's alt text says what it shows now
            assert _alt_text(e) == e.describe(), f"{name} = {value!r}"
    assert not ignored, f"{cls.__name__}: these moves changed nothing shown: {ignored}"

"""The explorer of chapter 14 (selfattention.writing_widgets.RecallExplorer), headless:
every control changes the picture and the numbers behind it, a typed prompt is data
(unknown words are named, nothing is read as markup), and the pre-drawn version
offers the book's prompts, layers and heads.
"""

from __future__ import annotations

import numpy as np
import pytest

from selfattention import decoder, writing_widgets


@pytest.fixture(scope="module")
def result():
    return decoder.load_recall_model(seed=0)


@pytest.fixture
def explorer(result):
    # the induction head of the stored model: layer 2 (see test_decoder)
    layer, head = result.head_scores(result.data.held_out[:50]).best("induction")
    return writing_widgets.RecallExplorer(result, layer=layer, head=head)


def test_it_starts_on_the_first_prompt_and_completes_it(explorer, result):
    prompt = writing_widgets.PROMPTS[0]
    assert explorer.completion == result.complete(prompt) == "blue"
    expected = result.attention(prompt)[explorer.layer.value][explorer.head.value]
    np.testing.assert_array_equal(explorer.weights, expected)
    np.testing.assert_array_equal(explorer.row, expected[-1])
    # the induction head's row of the last "was" looks most at "blue"
    assert decoder.tokenize(prompt)[int(np.argmax(explorer.row))] == "blue"
    assert "blue" in explorer.bars.ax.get_title()


@pytest.mark.parametrize(
    ("control", "value"),
    [
        ("prompt", 1),
        ("text", "the cat was red . the cow was old . the cow was"),
        ("layer", 0),
        ("head", 3),
    ],
)
def test_every_control_changes_the_picture(explorer, result, control, value):
    before_png, before = explorer.png, explorer.weights.copy()
    if control == "head" and explorer.head.value == value:
        value = 0
    getattr(explorer, control).value = value
    assert explorer.png != before_png
    assert explorer.message.value.count("color:#b00020") == 0  # no error shown
    text = explorer.text.value.strip() or writing_widgets.PROMPTS[explorer.prompt.value]
    expected = result.attention(text)[explorer.layer.value][explorer.head.value]
    np.testing.assert_array_equal(explorer.weights, expected)
    assert explorer.weights.shape != before.shape or not np.array_equal(
        explorer.weights, before
    )
    assert explorer.completion == result.complete(text)


def test_a_typed_prompt_gives_way_to_a_picked_one(explorer):
    explorer.text.value = "the cat was red . the cow was old . the cow was"
    assert explorer.completion == "old"
    explorer.prompt.value = 2
    assert explorer.text.value == ""
    assert explorer.completion == "big"


def test_unknown_words_are_named_not_a_traceback(explorer):
    shown = explorer.png
    explorer.text.value = "the zebra was <b>purple</b> . the zebra was"
    message = explorer.message.value
    assert "zebra" in message and "purple" in message
    assert "not among them" in message
    # typed text is data: the tag is shown escaped, never as markup
    assert "<b>" not in message and "&lt;" in message
    assert explorer.png == shown  # the last picture stays


def test_a_prompt_too_long_for_the_model_is_explained(explorer):
    explorer.text.value = " ".join(["the cat was red ."] * 5) + " the cat was"
    # 22 words and 6 full stops: the model counts tokens, and says so
    assert (
        "texts of 1 to 24 tokens (words and full stops); that one has 28"
        in explorer.message.value
    )
    # 24 words leave no room for the word the model would write
    explorer.text.value = " ".join(["the cat was red ."] * 4) + " the cat was red"
    assert "room for 0 more" in explorer.message.value


def test_the_book_version_offers_the_prompts_layers_and_heads(explorer):
    box = explorer.precomputed()
    assert len(explorer.frames) == len(writing_widgets.PROMPTS) * 2 * decoder.HEADS
    assert len(set(explorer.frames.values())) == len(explorer.frames)
    selectors = box.children[1].children
    assert [s.description for s in selectors] == ["prompt", "", ""]
    # the buttons say what they choose, and the list of prompts is as wide as the
    # live one
    assert [label for label, _ in selectors[1].options] == ["layer 1", "layer 2"]
    assert [label for label, _ in selectors[2].options] == [
        f"head {i}" for i in range(1, decoder.HEADS + 1)
    ]
    assert selectors[0].layout.width == explorer.prompt.layout.width
    # the typed prompt is named as what the live explorer adds
    assert "“or type one”" in box.children[0].value

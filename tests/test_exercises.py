"""The check functions accept the right answers and reject wrong ones with a hint."""

import importlib.util
import math

import numpy as np
import pytest

from selfattention import exercises
from selfattention.exercises import EXERCISES, check

RIGHT = {
    "intuition-hungry": "animal",
    "intuition-bank-shared": "noun",
    "self-shapes": (5, 5),
    "cross-shapes": (5, 7),
    "score-by-hand": 2.5,  # (1·2 + 2·0 + 0·1 + 1·3) / √4
    "score-variance": 256,
    "softmax-by-hand": [1 / 8, 2 / 8, 5 / 8],
    "softmax-shift": [0.25, 0.75],
    "blend-by-hand": [2.0, 2.0],  # 0.5·[2,0] + 0.25·[0,4] + 0.25·[4,4]
    "matrix-tired": "animal",
    "cost-memory": 512,
    "online-rescale": math.exp(-1),  # exp(2 - 3)
    "model-heads": 72,  # 6 layers x 12 heads
    "score-wide": "street",
    "softmax-two-tokens": 0.96,  # e^3.17 / (e^3.17 + 1), to two digits
    "blend-pronoun": 0.030,  # the weight "it" gives itself, times 1
    "matrix-no-residual": 1 / 11,  # a uniform row: no key offers anything
    "heads-size": 32,  # 384 / 12
    "heads-weights-shape": (12, 16, 16),
    "positions-first": math.sin(1),
    "positions-rotary": 0.8,  # the same distance, the same score
    "summary-shapes": (6, 5),
    "summary-row": math.exp(2) / (math.exp(2) + 2),
    "learning-both": 0.55,
    "learning-one-layer": "animal",
    "writing-cache-memory": 2 * 32 * 8 * 128 * 4096 * 2 / 2**20,  # 512 MiB
    "writing-induction": "old",  # the word after the earlier "the fox was"
    "writing-one-layer": "red",  # one layer copies the wrong adjective
}
WRONG = {
    "intuition-hungry": "street",
    "intuition-bank-shared": "glue",
    "self-shapes": (5, 3),
    "cross-shapes": (7, 5),
    "score-by-hand": 5.0,  # forgot the scale
    "score-variance": 16,  # the standard deviation, not the variance
    "softmax-by-hand": [0, math.log(2), math.log(5)],
    "softmax-shift": [float("nan"), float("nan")],
    "blend-by-hand": [2.0, 2.5],
    "matrix-tired": "tired",
    "cost-memory": 64,
    "online-rescale": math.e,  # the wrong direction
    "model-heads": 12,  # one layer only
    "score-wide": "animal",
    "softmax-two-tokens": 0.705,  # the weight with all eleven tokens
    "blend-pronoun": 1.0,  # its own pronoun feature, not the weighted one
    "matrix-no-residual": 0.70,  # the weight with the residual connection
    "heads-size": 384,  # every head sees the full width: no
    "heads-weights-shape": (16, 16),  # one matrix only
    "positions-first": math.cos(1),  # that is PE[1, 1]
    "positions-rotary": 0.0,
    "summary-shapes": (6, 4),  # d_k instead of d_v
    "summary-row": 1 / 3,  # as if all scores were equal
    "learning-both": 0.95,  # as if "old" were said of animals only
    "learning-one-layer": "place",
    "writing-cache-memory": 2048,  # a key and value per query head: not shared
    "writing-induction": "fox",  # the noun, not the word after it
    "writing-one-layer": "blue",  # what two layers write
}


# The answer to "model-heads" is read from the pretrained model's
# configuration: an optional extra.
requires_pretrained = pytest.mark.skipif(
    importlib.util.find_spec("transformers") is None,
    reason="the pretrained model needs transformers (pip install -e .[pretrained])",
)


def exercise_names(answers):
    return [
        pytest.param(name, marks=requires_pretrained) if name == "model-heads" else name
        for name in answers
    ]


def loop_attention(q, k, v):
    out = []
    for qi in q:
        scores = [
            sum(a * b for a, b in zip(qi, kj, strict=True)) / math.sqrt(len(qi))
            for kj in k
        ]
        top = max(scores)
        e = [math.exp(s - top) for s in scores]
        w = [x / sum(e) for x in e]
        out.append(
            [sum(w[j] * v[j][c] for j in range(len(v))) for c in range(len(v[0]))]
        )
    return out


def test_every_exercise_has_a_right_and_a_wrong_answer_here():
    assert set(RIGHT) | {"code-loop"} == set(EXERCISES)


@pytest.mark.parametrize("name", exercise_names(RIGHT))
def test_right_answers_pass(name):
    feedback = check(name, RIGHT[name])
    assert feedback, feedback
    assert repr(feedback).startswith("✓ Correct.")


@pytest.mark.parametrize("name", exercise_names(WRONG))
def test_wrong_answers_fail_with_the_hint(name):
    feedback = check(name, WRONG[name])
    assert not feedback
    assert EXERCISES[name].hint in feedback.message
    assert "Not yet" in feedback._repr_html_()


def test_function_exercise():
    assert check("code-loop", loop_attention)
    unscaled = check("code-loop", lambda q, k, v: np.asarray(q) @ np.asarray(k).T)
    assert not unscaled
    assert not check("code-loop", 42)


def _loop_attention_with(scale, weights=True, blend=True):
    """loop_attention with one thing wrong: the scale, the softmax or the blend."""

    def attention(q, k, v):
        out = []
        for qi in q:
            scores = [sum(a * b for a, b in zip(qi, kj, strict=True)) for kj in k]
            scores = [s * scale(len(qi)) for s in scores]
            if weights:
                e = [math.exp(s - max(scores)) for s in scores]
                scores = [x / sum(e) for x in e]
            if not blend:
                out.append(scores)
                continue
            out.append(
                [
                    sum(scores[j] * v[j][c] for j in range(len(v)))
                    for c in range(len(v[0]))
                ]
            )
        return out

    return attention


def test_the_loop_exercise_says_what_is_wrong_and_nothing_false():
    def right(d):
        return 1 / math.sqrt(d)

    unscaled = check("code-loop", _loop_attention_with(lambda d: 1.0))
    assert "Divide the scores by √d_k" in unscaled.message
    # with one key every weight is 1 whatever the scale: the first problem that shows
    # the missing scale has several keys, and the message names it
    assert "m=1," not in unscaled.message
    by_d_k = check("code-loop", _loop_attention_with(lambda d: 1 / d))
    assert "not by d_k" in by_d_k.message
    no_softmax = check("code-loop", _loop_attention_with(right, weights=False))
    assert "softmax" in no_softmax.message
    no_blend = check("code-loop", _loop_attention_with(right, blend=False))
    assert not no_blend and "√d_k" not in no_blend.message
    assert check("code-loop", _loop_attention_with(right))
    raises = check("code-loop", lambda q, k, v: 1 / 0)
    assert "ZeroDivisionError" in raises.message


def test_unreadable_answers_and_unknown_exercises():
    assert "Could not read" in check("score-by-hand", "two and a half").message
    assert "Expected 3 number(s)" in check("softmax-by-hand", [1.0]).message
    with pytest.raises(KeyError, match="no exercise called 'nope'"):
        exercises.question("nope")
    assert "hungry" in exercises.question("intuition-hungry")


@pytest.mark.parametrize(
    "name, closest",
    [
        ("score_by_hand", "score-by-hand"),
        ("Score by hand", "score-by-hand"),
        ("blend_pronoun", "blend-pronoun"),
        ("cost memory", "cost-memory"),
    ],
)
def test_a_misspelt_exercise_gets_one_line_naming_the_closest(name, closest):
    feedback = check(name, 2.5)
    assert not feedback
    assert repr(feedback) == (
        f"✗ There is no exercise called {name!r}. Did you mean {closest!r}?"
    )


def test_an_unknown_exercise_lists_them_all():
    message = check("nope", 1).message
    assert all(name in message for name in EXERCISES)
    assert "\n" not in message


@pytest.mark.parametrize("name", list(EXERCISES))
def test_a_missing_answer_says_how_to_call_check(name):
    feedback = check(name)
    assert not feedback
    assert f"check({name!r}, " in feedback.message
    assert EXERCISES[name].question in feedback.message
    assert repr(feedback).startswith("✗ Give your answer too")


def test_lists_of_numbers_are_shown_as_a_reader_writes_them():
    feedback = check("softmax-by-hand", [1 / 8, 2 / 8, 5 / 8])
    assert feedback.message == "The answer is [0.125, 0.25, 0.625]."
    assert check("blend-by-hand", [2, 2]).message == "The answer is [2, 2]."


def test_feedback_html_is_escaped():
    assert "<script>" not in check("nope <script>", 1)._repr_html_()

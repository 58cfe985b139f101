"""Check functions for the exercises at the end of each chapter.

    from selfattention.exercises import check
    check("softmax-by-hand", [0.125, 0.25, 0.625])

Every expected answer is computed with the package's own functions when you ask, never
typed in as a number, so an exercise cannot disagree with the code the chapter shows.
"""

from __future__ import annotations

import difflib
import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import examples
from .fast import online_softmax_trace
from .numpy_backend import attention, blend, score, self_attention, softmax


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: truthy when right, and a message that says why.

    ``about_the_call`` marks a message about how ``check`` was called (an unknown
    exercise, a missing answer) rather than about the answer.
    """

    correct: bool
    message: str
    about_the_call: bool = False

    def __bool__(self) -> bool:
        return self.correct

    @property
    def verdict(self) -> str:
        if self.about_the_call:
            return "✗"
        return "✓ Correct." if self.correct else "✗ Not yet."

    def __repr__(self) -> str:
        return f"{self.verdict} {self.message}"

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.correct else "#b00020"
        return (
            f'<p style="color:{colour}"><b>{self.verdict}</b> '
            f"{html.escape(self.message)}</p>"
        )


@dataclass(frozen=True)
class Exercise:
    question: str
    expected: Callable[[], Any]  # computes the answer with the package
    kind: str  # "number", "array", "shape", "word" or "function"
    hint: str
    tolerance: float = 1e-6
    # said after a right answer, when there is more to say than the answer
    note: str = ""


def _hungry_referent():
    c = examples.contextualize(examples.SENTENCE.replace("tired", "hungry"))
    row = c.row("it")
    return max(row, key=row.get)


def _bank_shared_feature():
    """The feature whose product adds the most to the cosine similarity of the two
    outputs of "bank" (chapter 1)."""
    river = examples.plain_self_attention(examples.RIVER_BANK).vector("bank")
    account = examples.plain_self_attention(examples.BANK_ACCOUNT).vector("bank")
    return examples.FEATURES[int(np.argmax(river * account))]  # feature by feature


def _tired_looks_at():
    c = examples.contextualize(examples.SENTENCE)
    row = c.row("tired", layer=1)
    return max(row, key=row.get)


def _largest_weight_without_residual():
    tokens = examples.tokenize(examples.SENTENCE)
    x = examples.embed(tokens)  # (n, d_model)
    for layer in examples.hand_built_layers():
        # no residual: x + ... is missing
        x, weights = self_attention(x, layer.w_q, layer.w_k, layer.w_v)
    return float(weights[tokens.index("it")].max())


def _multi_head_weights_shape(n, d_model, num_heads):
    from .numpy_backend import multi_head_self_attention

    w = np.eye(d_model)
    return multi_head_self_attention(
        np.zeros((n, d_model)), w, w, w, w, num_heads=num_heads
    )[1].shape


def _sinusoid(position, feature):
    from .numpy_backend import sinusoidal_positions

    return float(
        sinusoidal_positions(position + 1, 2 * (feature // 2 + 1))[position, feature]
    )


def _rotary_same_distance(score_at_9_and_4):
    """Rotate a query and a key whose score at positions 9 and 4 is given;
    return their score at 25 and 20.
    """
    from .numpy_backend import rotary

    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((2, 8))
    qs, ks = rotary(np.tile(q, (26, 1))), rotary(np.tile(k, (26, 1)))  # (positions, d)
    # scale k so that the first score is the given one
    factor = score_at_9_and_4 / float(qs[9] @ ks[4])
    return float(qs[25] @ ks[20]) * factor


def _pretrained_heads():
    from . import pretrained

    config = pretrained.load()[1].config
    return config.num_hidden_layers * config.num_attention_heads


def _variance_of_dot_products(d_k=256):
    # q·k is a sum of d_k independent products q_i k_i, each with mean 0 and variance
    # E[q_i²] E[k_i²] = 1; the variances of independent terms add up: d_k times 1.
    # Exact, not a simulation.
    return float(d_k)


def _what_one_layer_gets_right(seed=0):
    """Which kind of answer the one-layer model of ``seed`` gets right on the held-out
    sentences: "animal" or "place" when it names nearly all of one kind correctly and
    nearly none of the other. The model is chapter 13's ``one[seed]``, the stored one
    (``training.load_referent_model``; tests/test_training.py retrains and compares).
    """
    from . import training

    result = training.load_referent_model(seed=seed, layers=1)
    right = {"animal": [], "place": []}
    for example in result.data.held_out:
        kind = "animal" if example.referent in training.ANIMALS else "place"
        answer = next(iter(result.predict(example.sentence)))  # the most likely
        right[kind].append(answer == example.referent)
    accuracy = {kind: float(np.mean(hits)) for kind, hits in right.items()}
    for kind, other in [("animal", "place"), ("place", "animal")]:
        if accuracy[kind] >= 0.9 and accuracy[other] <= 0.1:
            return kind
    return "neither"


def _referent_scored(sentence):
    ex = examples.worked_example(sentence)
    return ex.tokens[int(np.argmax(ex.scores))]


EXERCISES: dict[str, Exercise] = {
    "intuition-hungry": Exercise(
        'Replace "tired" with "hungry". Which token gets the largest weight in the row '
        'of "it" (last layer)?',
        _hungry_referent,
        "word",
        '"hungry" is said of living things, like "tired".',
    ),
    "intuition-bank-shared": Exercise(
        'The two outputs of "bank" (river, account): which feature adds the most to '
        "their cosine similarity?",
        _bank_shared_feature,
        "word",
        "Multiply the two outputs feature by feature; the cosine similarity is the sum "
        "of those products, divided by the two lengths.",
    ),
    "self-shapes": Exercise(
        "Self-attention over 5 tokens gives an attention matrix of which shape? "
        "Answer as a tuple (rows, columns).",
        lambda: (
            attention(np.zeros((5, 3)), np.zeros((5, 3)), np.zeros((5, 2)))[1].shape
        ),
        "shape",
        "One row per query, one column per key; "
        "in self-attention both are the same 5 tokens.",
    ),
    "cross-shapes": Exercise(
        "Cross-attention from a 5-token sentence (queries) to a 7-token sentence "
        "(keys and values): weights shape?",
        lambda: (
            attention(np.zeros((5, 3)), np.zeros((7, 3)), np.zeros((7, 2)))[1].shape
        ),
        "shape",
        "Rows: the sequence that asks (queries). Columns: "
        "the sequence that is looked at (keys).",
    ),
    "score-by-hand": Exercise(
        "q = [1, 2, 0, 1] and k = [2, 0, 1, 3]. What is the scaled score q·k / √d_k?",
        lambda: float(score([[1, 2, 0, 1]], [[2, 0, 1, 3]])[0, 0]),
        "number",
        "Multiply entry by entry and add: 2 + 0 + 0 + 3; then divide by √4.",
    ),
    "score-variance": Exercise(
        "q and k have d_k = 256 independent standard-normal entries. "
        "About how large is the variance of q·k?",
        _variance_of_dot_products,
        "number",
        "Each product q_i k_i has variance 1, "
        "and the variances of independent terms add up.",
        tolerance=0.05,  # relative: an answer read off a simulation is close, not exact
        note="Exactly d_k: every product q_i k_i adds a variance of 1.",
    ),
    "score-wide": Exercise(
        'In the running example, change "tired" to "wide". '
        "Which token now gets the only score above 0?",
        lambda: _referent_scored(examples.SENTENCE_WIDE),
        "word",
        '"wide" is said of places: the query of "it" now asks for a place. '
        "Which token offers one?",
    ),
    "softmax-by-hand": Exercise(
        "What is softmax([0, ln 2, ln 5])? Answer as a list of three numbers.",
        lambda: softmax([0.0, math.log(2), math.log(5)]),
        "array",
        "exp of the scores is [1, 2, 5]; divide by their sum.",
    ),
    "softmax-shift": Exercise(
        "What is softmax([1000, 1000 + ln 3])? (A naive softmax returns NaN here.)",
        lambda: softmax([1000.0, 1000.0 + math.log(3)]),
        "array",
        "Subtracting the same number from every score does not change the softmax.",
    ),
    "softmax-two-tokens": Exercise(
        'The running example with only two tokens, "animal" (score 3.17) and "it" '
        '(score 0): what weight does "animal" get?',
        lambda: softmax([examples.worked_example().scores[1], 0.0])[0],
        "number",
        "exp(3.17) against exp(0) = 1: divide the first by their sum.",
        tolerance=1e-3,
    ),
    "blend-by-hand": Exercise(
        "Weights [0.5, 0.25, 0.25] blend the values [2, 0], [0, 4] and [4, 4]. "
        "What is the output vector?",
        lambda: blend([[0.5, 0.25, 0.25]], [[2.0, 0.0], [0.0, 4.0], [4.0, 4.0]])[0],
        "array",
        "Half of the first value plus a quarter of each of the others, "
        "coordinate by coordinate.",
    ),
    "blend-pronoun": Exercise(
        'In the running example, what is the "pronoun" feature of the output of "it"?',
        lambda: examples.worked_example().output[examples.FEATURES.index("pronoun")],
        "number",
        'Only "it" itself is a pronoun: its own weight times its pronoun feature (1).',
        tolerance=1e-3,
    ),
    "matrix-tired": Exercise(
        'In the last layer, which token does "tired" give its largest weight to?',
        _tired_looks_at,
        "word",
        'Read the row of "tired" in the heatmap of layer 2.',
    ),
    "matrix-no-residual": Exercise(
        "Without the residual connection, what is the largest weight in the "
        'row of "it" in layer 2?',
        _largest_weight_without_residual,
        "number",
        "Give each layer only what the previous one gathered: "
        "x, w = self_attention(x, ...), without x + ...",
        tolerance=1e-3,
    ),
    "code-loop": Exercise(
        "Write attention(q, k, v) with plain Python loops (no matrix products) and "
        "pass the function itself.",
        lambda: attention,
        "function",
        "For each query: scores with every key, softmax, "
        "then the weighted sum of the values.",
    ),
    "online-rescale": Exercise(
        "So far the running maximum is 2 and the running sum is 1.5. "
        "The next block's largest score is 3. By what factor must the running sum be "
        "multiplied before the new block's terms are added?",
        lambda: (
            online_softmax_trace([2.0, 3.0], [[0.0], [0.0]], block_size=1)[1].correction
        ),
        "number",
        "The old terms were exp(score - 2); they must become exp(score - 3).",
    ),
    "heads-size": Exercise(
        "d_model = 384 and 12 heads per layer: "
        "how long are the vectors each head works with?",
        lambda: 384 // 12,
        "number",
        "The heads split the d_model columns into equal slices, one per head.",
    ),
    "heads-weights-shape": Exercise(
        "A sentence of 16 tokens and 12 heads: "
        "the shape of the weights multi_head_self_attention returns?",
        lambda: _multi_head_weights_shape(16, 384, 12),
        "shape",
        "One n × n attention matrix per head: (heads, n, n).",
    ),
    "positions-first": Exercise(
        "What is PE[1, 0], the first feature of the sinusoidal position "
        "vector of position 1?",
        lambda: _sinusoid(1, 0),
        "number",
        "PE[p, 0] = sin(p / 10000^0) = sin(p).",
        tolerance=1e-3,
    ),
    "positions-rotary": Exercise(
        "Rotary positions: query at 9 and key at 4 score 0.8. "
        "What do they score at positions 25 and 20?",
        lambda: _rotary_same_distance(0.8),
        "number",
        "With rotary positions the score depends on the two positions only "
        "through their distance.",
        tolerance=1e-3,
    ),
    "summary-shapes": Exercise(
        "X (6, 8), W_Q and W_K (8, 4), W_V (8, 5): "
        "the shape of the output of self-attention?",
        lambda: (
            self_attention(
                np.zeros((6, 8)), np.zeros((8, 4)), np.zeros((8, 4)), np.zeros((8, 5))
            )[0].shape
        ),
        "shape",
        "One output row per token; each output is a blend of values, "
        "which have d_v columns.",
    ),
    "summary-row": Exercise(
        "A row of scores is (2, 0, 0). What weight does the first key get?",
        lambda: softmax([2.0, 0.0, 0.0])[0],
        "number",
        "exp(2) against exp(0) + exp(0) = 2.",
        tolerance=1e-3,
    ),
    "learning-both": Exercise(
        'With "old" fitting animals and places, what probability does a trained model '
        'give "animal" in "…because it was too old."?',
        # every "old" sentence is in the data twice, once with each answer
        lambda: 1 / 2,
        "number",
        "The same sentence is trained with both answers: what is the best a model can "
        "do?",
        tolerance=0.4,  # relative: a trained model comes near 1/2, not to it
        note="Each such sentence is in the data with both answers; "
        "the best is an even split.",
    ),
    "learning-one-layer": Exercise(
        "The one-layer model of seed 0 gets about half of the held-out sentences "
        "right. "
        'Which half: those whose answer is an "animal" or a "place"?',
        _what_one_layer_gets_right,
        "word",
        "Count its right answers on the held-out sentences of each kind: "
        "one[0].predict(example.sentence) for example in one[0].data.held_out.",
    ),
    "model-heads": Exercise(
        "How many attention matrices does all-MiniLM-L6-v2 compute for one sentence?",
        _pretrained_heads,
        "number",
        "One per head in every layer: look at model.config.",
    ),
    "cost-memory": Exercise(
        "How many MiB does one float32 attention matrix take "
        "for n = 4096 tokens and 8 heads?",
        lambda: 8 * 4096 * 4096 * np.dtype(np.float32).itemsize / 2**20,
        "number",
        "n × n numbers per head, 4 bytes each, 8 heads; 1 MiB = 2**20 bytes.",
    ),
}


def question(exercise: str) -> str:
    """The text of an exercise."""
    return _get(exercise).question


def _get(exercise: str) -> Exercise:
    if exercise not in EXERCISES:
        raise KeyError(_unknown(exercise))
    return EXERCISES[exercise]


def _unknown(exercise: object) -> str:
    """One line: no such exercise, and the closest names."""
    close = difflib.get_close_matches(
        str(exercise).lower().replace("_", "-").replace(" ", "-"),
        EXERCISES,
        n=1,
        cutoff=0.5,
    )
    if close:
        return f"There is no exercise called {exercise!r}. Did you mean {close[0]!r}?"
    return (
        f"There is no exercise called {exercise!r}. The exercises are: "
        f"{', '.join(EXERCISES)}."
    )


#: How a call looks for each kind of answer, for the message when the answer is missing.
_ANSWER_FORM = {
    "number": "your_number",
    "array": "[w1, w2, ...]",
    "shape": "(rows, columns)",
    "word": '"word"',
    "function": "your_function",
}

_MISSING = object()


def check(exercise: str, answer: Any = _MISSING) -> Feedback:
    """Tell whether ``answer`` is right for ``exercise``, with a hint when it is not.

    A misspelt exercise name or a missing answer gets a one-line message, not an
    exception: ``check("score_by_hand", 2.5)`` names the closest exercise.
    """
    if exercise not in EXERCISES:
        return Feedback(False, _unknown(exercise), about_the_call=True)
    ex = EXERCISES[exercise]
    if answer is _MISSING:
        return Feedback(
            False,
            f"Give your answer too: check({exercise!r}, {_ANSWER_FORM[ex.kind]}). "
            f"The question: {ex.question}",
            about_the_call=True,
        )
    expected = ex.expected()
    try:
        if ex.kind == "function":
            return _check_function(answer, expected, ex.hint)
        if ex.kind == "word":
            ok = str(answer).strip().strip("\"'").lower() == str(expected)
            return Feedback(ok, f'"{expected}" it is.' if ok else ex.hint)
        if ex.kind == "shape":
            ok = tuple(int(a) for a in answer) == tuple(expected)
            return Feedback(ok, f"{tuple(expected)}." if ok else ex.hint)
        got = np.asarray(answer, dtype=float)
        want = np.asarray(expected, dtype=float)
        if got.shape != want.shape:
            return Feedback(
                False, f"Expected {want.size} number(s), got {got.size}. {ex.hint}"
            )
        if ex.kind == "number" and ex.tolerance >= 0.01:
            # an estimate is fine: compare relatively
            ok = bool(np.allclose(got, want, rtol=ex.tolerance, atol=0))
        else:
            ok = bool(
                np.allclose(
                    got, want, rtol=0, atol=max(ex.tolerance, 1e-3 * np.abs(want).max())
                )
            )
        verdict = f"The answer is {_shown(want)}." + (f" {ex.note}" if ex.note else "")
        return Feedback(ok, verdict if ok else ex.hint)
    except (TypeError, ValueError) as err:
        return Feedback(False, f"Could not read the answer ({err}). {ex.hint}")


def _shown(value: np.ndarray) -> str:
    """A number or a list of numbers as a reader writes them: 0.9598, [0.125, 0.25]."""
    if value.ndim == 0:
        return f"{float(value):.4g}"
    return "[" + ", ".join(_shown(v) for v in value) + "]"


def _check_function(fn: object, reference: Callable[..., Any], hint: str) -> Feedback:
    if not callable(fn):
        return Feedback(
            False, "Pass the function itself, e.g. check('code-loop', my_attention)."
        )
    rng = np.random.default_rng(0)
    for n, m, d_k, d_v in [(1, 1, 1, 1), (3, 4, 2, 5), (6, 6, 4, 3)]:
        q, k, v = (
            rng.standard_normal((n, d_k)),
            rng.standard_normal((m, d_k)),
            rng.standard_normal((m, d_v)),
        )
        problem = f"n={n}, m={m}, d_k={d_k}, d_v={d_v}"
        try:
            result = fn(q.tolist(), k.tolist(), v.tolist())
        except Exception as err:  # the reader's code: say what it raised, and where
            return Feedback(
                False, f"Your function raised {type(err).__name__}: {err} ({problem})."
            )
        result = result[0] if isinstance(result, tuple) else result
        expected, _ = reference(q, k, v)
        try:
            got = np.asarray(result, dtype=float)
        except (TypeError, ValueError):
            return Feedback(
                False, f"Return a list of n output rows, one per query ({problem})."
            )
        if got.shape != expected.shape:
            return Feedback(
                False,
                f"For {problem} the output should have shape (n, d_v) = "
                f"{expected.shape}, got {got.shape}.",
            )
        if not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
            return Feedback(
                False, f"Wrong numbers for {problem}. {_diagnose(got, q, k, v)}"
            )
    return Feedback(
        True, "Your loops agree with the package's attention on three random problems."
    )


def _diagnose(got, q, k, v) -> str:
    """What a wrong output of the loop exercise most likely got wrong."""
    scores = q @ k.T  # (n, m), not scaled
    candidates = {
        "Divide the scores by √d_k before the softmax.": softmax(scores) @ v,
        "Divide each score by √d_k, not by d_k.": softmax(scores / q.shape[1]) @ v,
        "The weights must be a softmax of the scores "
        "(exponentiate, then divide by the row's sum).": (scores / np.sqrt(q.shape[1]))
        @ v,
        "Each output is a weighted sum of the values, one per key.": softmax(
            scores / np.sqrt(q.shape[1])
        ),
    }
    for message, wrong in candidates.items():
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=1e-6, atol=1e-9):
            return message
    return (
        "For each query: a score with every key, divided by √d_k; the softmax of "
        "those scores; then the weighted sum of the values."
    )


# --- chapter 14, "Attention that writes" ----------------------------------------------

#: The prompts of chapter 14's exercises 2 and 3.
INDUCTION_PROMPT = "the fox was old . the owl was sad . the fox was"
ONE_LAYER_PROMPT = "the dog was blue . the cat was red . the dog was"


def _induction_target(prompt=INDUCTION_PROMPT, seed=0):
    """The token on which the induction head of the stored two-layer model of
    ``seed`` (``decoder.load_recall_model``; tests/test_decoder.py retrains and
    compares) puts its largest weight, in the row of the prompt's last token.
    """
    from . import decoder

    result = decoder.load_recall_model(seed=seed, layers=2)
    # measured on 100 held-out texts, as in the chapter
    layer, head = result.head_scores(result.data.held_out[:100]).best("induction")
    row = result.attention(prompt)[layer][head][-1]  # (n,)
    return decoder.tokenize(prompt)[int(np.argmax(row))]


def _one_layer_writes(prompt=ONE_LAYER_PROMPT, seed=0):
    from . import decoder

    return decoder.load_recall_model(seed=seed, layers=1).complete(prompt)


def _kv_cache_mib(*, layers=32, heads=8, d_head=128, n=4096, bytes_per_number=2):
    from . import decoder

    size = decoder.kv_cache_bytes(
        layers=layers,
        heads=heads,
        d_head=d_head,
        n=n,
        bytes_per_number=bytes_per_number,
    )
    return size / 2**20


EXERCISES.update(
    {
        "writing-cache-memory": Exercise(
            "A model of 32 layers with 32 query heads of d_head = 128 shares keys "
            "and values: every 4 query heads read the same key and value head (8 "
            "key-value heads). How many MiB does its KV cache take for n = 4096 "
            "tokens in float16 (2 bytes a number)?",
            _kv_cache_mib,
            "number",
            "The cache holds a key and a value (2) per key-value head (not per query "
            "head), per layer, per token, d_head numbers each, 2 bytes a number; "
            "1 MiB = 2**20 bytes.",
        ),
        "writing-induction": Exercise(
            f'In "{INDUCTION_PROMPT}", which token gets the largest weight in the '
            "induction head's row of the last token (seed 0, two layers)?",
            _induction_target,
            "word",
            'The last "was" looks for the word that came after the same '
            '"the NOUN was" earlier in the text.',
        ),
        "writing-one-layer": Exercise(
            "What does the one-layer model of seed 0 write after "
            f'"{ONE_LAYER_PROMPT}"?',
            _one_layer_writes,
            "word",
            "Ask it: decoder.load_recall_model(seed=0, layers=1).complete(prompt).",
        ),
    }
)

"""The book's sentences, hand-built toy embeddings, and counter-examples.

Nothing here is learned. Every word vector is written by hand from a few named features (is it alive? is it a
place? is it about money?) so that a reader can see *why* one word attends to another. A trained model
learns vectors with hundreds of unnamed dimensions instead; the chapter on a real model shows one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from .numpy_backend import attention, self_attention

#: The named features: one column of every hand-built word vector each.
FEATURES = (
    "alive",  # a living thing: animal, dog, child
    "place",  # somewhere you can be: street, road, river
    "nature",  # rivers, trees, water
    "money",  # banks (the financial kind), accounts, cash
    "noun",  # a thing a pronoun could point back to
    "pronoun",  # it, she, they: words that point back to a noun
    "said of the living",  # adjectives only living things can be: tired, hungry
    "said of places",  # adjectives only places can be: wide, busy
    "action",  # verbs
    "glue",  # function words: the, because, too
)

_F = {name: i for i, name in enumerate(FEATURES)}


def _vec(**features: float) -> np.ndarray:
    v = np.zeros(len(FEATURES))
    for name, value in features.items():
        v[_F[name.replace("_", " ")]] = value
    return v


#: Hand-built word vectors (d_model = len(FEATURES)). Other words get a deterministic vector: see embed().
VOCABULARY: dict[str, np.ndarray] = {
    **{w: _vec(glue=1.0) for w in ["the", "a", "an", "because", "too", "on", "of", "and", "to", "in", "at", "we"]},
    **{w: _vec(alive=1.0, noun=1.0) for w in ["animal", "dog", "cat", "bird", "horse", "child", "chicken"]},
    **{w: _vec(place=1.0, noun=1.0) for w in ["street", "road", "bridge", "square"]},
    "river": _vec(place=0.5, nature=1.0, noun=1.0),
    "account": _vec(money=1.0, noun=1.0),
    "money": _vec(money=1.0, noun=1.0),
    "loan": _vec(money=1.0, noun=1.0),
    "bank": _vec(place=0.3, nature=0.6, money=0.6, noun=1.0),  # ambiguous on purpose: river or money?
    **{w: _vec(pronoun=1.0) for w in ["it", "she", "he", "they"]},
    **{w: _vec(said_of_the_living=1.0) for w in ["tired", "hungry", "sleepy", "afraid", "scared", "old"]},
    **{w: _vec(said_of_places=1.0) for w in ["wide", "busy", "narrow", "crowded", "icy"]},
    **{w: _vec(action=1.0) for w in ["didn't", "cross", "crossed", "was", "is", "sat", "opened", "walked"]},
}

#: The book's running example, and its variant that flips the meaning of "it".
SENTENCE = "The animal didn't cross the street because it was too tired."
SENTENCE_WIDE = "The animal didn't cross the street because it was too wide."
RIVER_BANK = "We sat on the river bank."
BANK_ACCOUNT = "She opened a bank account."

#: Limits for sentences typed by a reader.
MAX_TOKENS = 16
MAX_WORD_LENGTH = 30


class SentenceError(ValueError):
    """A sentence the explorers cannot use; the message is meant for the reader, as it is."""


def tokenize(sentence: str, *, max_tokens: int = MAX_TOKENS) -> list[str]:
    """Split a sentence into lower-case word tokens (letters, digits and apostrophes); punctuation is dropped.

    Raises SentenceError, with a message meant for a reader, for an empty sentence, one with no words, or one
    with more than ``max_tokens`` words.
    """
    if not isinstance(sentence, str):
        raise SentenceError(f"Please type a sentence (text), not {type(sentence).__name__}.")
    text = unicodedata.normalize("NFKC", sentence).replace("\u2019", "'").lower()
    tokens = [t.strip("'") for t in re.findall(r"[^\W_]+(?:'[^\W_]+)*", text)]
    tokens = [t for t in tokens if t]
    if not tokens:
        raise SentenceError("Type a sentence with at least one word (letters or digits).")
    if len(tokens) > max_tokens:
        raise SentenceError(
            f"That sentence has {len(tokens)} words; the explorer shows at most {max_tokens}. Try a shorter one."
        )
    long = [t for t in tokens if len(t) > MAX_WORD_LENGTH]
    if long:
        raise SentenceError(f"'{long[0][:12]}…' is longer than {MAX_WORD_LENGTH} characters; is it a real word?")
    return tokens


def left_out(sentence: str) -> list[str]:
    """Characters of ``sentence`` that ``tokenize`` leaves out although they are not punctuation or spaces
    (emoji, other symbols), so an explorer can say so instead of dropping them silently."""
    text = unicodedata.normalize("NFKC", sentence) if isinstance(sentence, str) else ""
    kept = set("".join(re.findall(r"[^\W_]+(?:'[^\W_]+)*", text)))
    dropped = (
        ch for ch in text if ch not in kept and not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )
    return list(dict.fromkeys(ch for ch in dropped if unicodedata.category(ch) not in ("Mn", "Cf")))


def unknown_word_vector(word: str) -> np.ndarray:
    """The vector of a word the hand-built vocabulary lacks: small, pseudo-random, and always the same.

    The seed is the SHA-256 hash of the word, so a word gets the same vector on every machine and every run
    (Python's own ``hash()`` changes between runs). Its length is 0.5: it takes part in attention but does not
    dominate it.
    """
    seed = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(len(FEATURES))
    return 0.5 * v / np.linalg.norm(v)


def embed(tokens: list[str]) -> np.ndarray:
    """Stack the vectors of ``tokens`` into x of shape (n, d_model)."""
    return np.stack([VOCABULARY[t] if t in VOCABULARY else unknown_word_vector(t) for t in tokens])


def known(tokens: list[str]) -> list[bool]:
    """Which tokens have a hand-built vector (the others get unknown_word_vector)."""
    return [t in VOCABULARY for t in tokens]


def _projection(pairs: dict[str, str], d_out: int, columns: list[str], strength: float) -> np.ndarray:
    """A (d_model, d_out) matrix copying feature ``a`` into output column ``b`` for each a → b in pairs."""
    w = np.zeros((len(FEATURES), d_out))
    for source, target in pairs.items():
        w[_F[source], columns.index(target)] = strength
    return w


@dataclass(frozen=True)
class Layer:
    """One hand-built self-attention layer: its name, what it does, and its projections."""

    name: str
    purpose: str
    w_q: np.ndarray  # (d_model, d_k)
    w_k: np.ndarray  # (d_model, d_k)
    w_v: np.ndarray  # (d_model, d_model): what a token passes on when it is attended to


def hand_built_layers(strength: float = 2.2) -> tuple[Layer, Layer]:
    """Two self-attention layers, written by hand, that resolve "it" in the book's sentence.

    Layer 1, "find the description": pronouns look for an adjective (keys: the two "said of" features) and
    copy it into their own vector, so "it" becomes "it, the tired one".
    Layer 2, "find the referent": a pronoun that now carries "said of the living" looks for something alive;
    one that carries "said of places" looks for a place.
    Each token's new vector is its old vector plus what it gathered (a residual connection).
    """
    # Layer 1: query "I am a pronoun, looking for a description"; key "I am a description".
    cols1 = ["wants description"]
    w_q1 = _projection({"pronoun": "wants description"}, 1, cols1, strength)
    w_k1 = _projection(
        {"said of the living": "wants description", "said of places": "wants description"}, 1, cols1, strength
    )
    w_v1 = np.zeros((len(FEATURES), len(FEATURES)))
    for f in ("said of the living", "said of places"):
        w_v1[_F[f], _F[f]] = 1.0  # a description passes on which kind of description it is
    # Layer 2: query "I was described as living / as a place"; key "I am alive / a place".
    cols2 = ["alive", "place"]
    w_q2 = _projection({"said of the living": "alive", "said of places": "place"}, 2, cols2, strength)
    w_k2 = _projection({"alive": "alive", "place": "place"}, 2, cols2, strength)
    w_v2 = np.eye(len(FEATURES))  # a noun passes on everything it is
    return (
        Layer("find the description", "pronouns gather the adjective said of them", w_q1, w_k1, w_v1),
        Layer("find the referent", "pronouns look for a noun that fits that adjective", w_q2, w_k2, w_v2),
    )


@dataclass(frozen=True)
class Contextualized:
    """What the hand-built layers make of a sentence."""

    tokens: list[str]
    inputs: np.ndarray  # (n, d_model): the hand-built vectors
    weights: list[np.ndarray]  # one (n, n) attention matrix per layer
    outputs: list[np.ndarray]  # (n, d_model) after each layer

    def vector(self, token: str, layer: int = -1) -> np.ndarray:
        """The output vector of the first occurrence of ``token`` after ``layer``."""
        return self.outputs[layer][self.tokens.index(token)]

    def row(self, token: str, layer: int = -1) -> dict[str, float]:
        """The attention row of the first ``token``: {key token: weight}, repeated key words summed."""
        i = self.tokens.index(token)
        result: dict[str, float] = {}
        for t, w in zip(self.tokens, self.weights[layer][i], strict=True):
            result[t] = result.get(t, 0.0) + float(w)
        return result


def contextualize(sentence: str | list[str], layers=None) -> Contextualized:
    """Run the hand-built layers over a sentence (text or tokens)."""
    tokens = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
    layers = hand_built_layers() if layers is None else layers
    x = embed(tokens)  # (n, d_model)
    inputs, weights, outputs = x, [], []
    for layer in layers:
        gathered, w = self_attention(x, layer.w_q, layer.w_k, layer.w_v)  # (n, d_model), (n, n)
        x = x + gathered  # residual: keep what the token was, add what it gathered
        weights.append(w)
        outputs.append(x)
    return Contextualized(tokens, inputs, weights, outputs)


def plain_self_attention(sentence: str | list[str]) -> Contextualized:
    """The plainest self-attention: each token's own vector is its query, key and value, ``attention(x, x, x)``.

    No projections, no residual: the output of a token is just the weighted average of the sentence's vectors.
    """
    tokens = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
    x = embed(tokens)  # (n, d_model)
    out, w = attention(x, x, x)  # (n, d_model), (n, n)
    return Contextualized(tokens, x, [w], [out])


def cosine(a, b) -> float:
    """Cosine similarity of two vectors: 1 for the same direction, 0 for perpendicular ones."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def recurrent_influence(distances, *, d: int = 16, gain: float = 0.9, seed: int = 0) -> np.ndarray:
    """How much a simple recurrent network's last state still depends on its first input, per distance.

    The network reads one token at a time, h_t = tanh(W h_{t-1} + x_t), with a random orthogonal W scaled by
    ``gain``. For each distance the first input is nudged and the change of the final state is measured
    (a finite-difference estimate of the norm of d h_last / d x_first). Information must pass through every
    step in between, so this shrinks with the distance.
    """
    rng = np.random.default_rng(seed)
    w = gain * np.linalg.qr(rng.standard_normal((d, d)))[0]  # (d, d)
    longest = max(distances)
    xs = 0.5 * rng.standard_normal((longest + 1, d))  # (tokens, d)
    nudge = 1e-6 * rng.standard_normal(d)

    def last_state(inputs, steps):
        h = np.zeros(d)
        for x in inputs[: steps + 1]:
            h = np.tanh(w @ h + x)  # one step: the whole past must fit in h
        return h

    nudged = xs.copy()
    nudged[0] += nudge
    return np.array(
        [np.linalg.norm(last_state(nudged, n) - last_state(xs, n)) / np.linalg.norm(nudge) for n in distances]
    )


@dataclass(frozen=True)
class OnlineStep:
    """The running state of the online softmax after one block of keys."""

    keys: slice  # which keys this block held
    block_max: float  # the largest score in the block
    row_max: float  # the largest score seen so far
    correction: float  # exp(old row_max - new row_max): how much the earlier sums shrink
    total: float  # running sum of exp(score - row_max)
    output: np.ndarray  # running (unnormalized) sum of exp(score - row_max) · value


def online_softmax_trace(scores, values, block_size: int) -> list[OnlineStep]:
    """Follow the online softmax for ONE query, block by block, keeping every intermediate number.

    ``scores`` (m,) are the query's scores, ``values`` (m, d_v) the value vectors. After the last step,
    ``output / total`` equals ``softmax(scores) @ values``: the same update as ``chunked_attention``, spelled
    out for a reader to follow by hand.
    """
    scores = np.asarray(scores, dtype=float)
    values = np.asarray(values, dtype=float)
    row_max, total, output = -np.inf, 0.0, np.zeros(values.shape[1])
    steps = []
    for start in range(0, len(scores), block_size):
        keys = slice(start, min(start + block_size, len(scores)))
        block = scores[keys]
        new_max = max(row_max, float(block.max()))
        correction = float(np.exp(row_max - new_max))  # 0 on the first block: nothing to rescale yet
        weights = np.exp(block - new_max)  # (b,): this block's unnormalized weights
        total = total * correction + float(weights.sum())
        output = output * correction + weights @ values[keys]  # (d_v,)
        row_max = new_max
        steps.append(OnlineStep(keys, float(block.max()), row_max, correction, total, output.copy()))
    return steps


def naive_softmax(x, axis=-1):
    """A softmax WITHOUT subtracting the maximum: the counter-example of the book.

    exp(1000) is inf in float64 (and exp(89) already in float32), so large scores give inf / inf = NaN.
    Use ``selfattention.softmax`` instead.
    """
    e = np.exp(np.asarray(x))
    return e / e.sum(axis=axis, keepdims=True)

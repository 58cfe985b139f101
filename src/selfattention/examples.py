"""The book's sentences, hand-built toy embeddings, and counter-examples.

Nothing here is learned. Every word vector is written by hand from a few named features
(is it alive? is it a place? is it about money?) so that a reader can see *why* one word
attends to another. A trained model learns vectors with hundreds of unnamed dimensions
instead; the chapter on a real model shows one.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .numpy_backend import attention, blend, normalize, score, self_attention

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


#: Hand-built word vectors (d_model = len(FEATURES)). Other words get a deterministic
#: vector: see embed().
VOCABULARY: dict[str, np.ndarray] = {
    **{w: _vec(glue=1.0) for w in ["the", "a", "an", "because", "too", "on", "of"]},
    **{w: _vec(glue=1.0) for w in ["and", "to", "in", "at", "we"]},
    **{
        w: _vec(alive=1.0, noun=1.0)
        for w in ["animal", "dog", "cat", "bird", "horse", "child", "chicken"]
    },
    **{w: _vec(place=1.0, noun=1.0) for w in ["street", "road", "bridge", "square"]},
    "river": _vec(place=0.5, nature=1.0, noun=1.0),
    "account": _vec(money=1.0, noun=1.0),
    "money": _vec(money=1.0, noun=1.0),
    "loan": _vec(money=1.0, noun=1.0),
    # ambiguous on purpose: river or money?
    "bank": _vec(place=0.3, nature=0.6, money=0.6, noun=1.0),
    **{w: _vec(pronoun=1.0) for w in ["it", "she", "he", "they"]},
    **{
        w: _vec(said_of_the_living=1.0)
        for w in ["tired", "hungry", "sleepy", "afraid", "scared", "old"]
    },
    **{
        w: _vec(said_of_places=1.0)
        for w in ["wide", "busy", "narrow", "crowded", "icy"]
    },
    **{
        w: _vec(action=1.0)
        for w in ["didn't", "cross", "crossed", "was", "is", "sat", "opened", "walked"]
    },
}

#: The book's running example, and its variant that flips the meaning of "it".
SENTENCE = "The animal didn't cross the street because it was too tired."
SENTENCE_WIDE = "The animal didn't cross the street because it was too wide."
RIVER_BANK = "We sat on the river bank."
BANK_ACCOUNT = "She opened a bank account."

#: Limits for sentences typed by a reader.
MAX_TOKENS = 16
MAX_WORD_LENGTH = 30

#: A word: letters and digits (``[^\W_]``: ``\w`` without the underscore), maybe joined
#: by apostrophes (didn't, café's). The book's JavaScript uses the same rule.
WORD = r"[^\W_]+(?:'[^\W_]+)*"

#: What a reader is told about a sentence the explorers cannot use (``str.format``
#: templates). The HTML book's explorer shows the same messages (selfattention.browser
#: exports them).
SENTENCE_ERRORS = {
    "not text": "Please type a sentence (text), not {type}.",
    "no words": "Type a sentence with at least one word (letters or digits).",
    "too many words": (
        "That sentence has {count} words; the explorer shows at most {limit}. "
        "Try a shorter one."
    ),
    "long word": "'{start}…' is longer than {limit} characters; is it a real word?",
}
#: How many characters of an overlong word the message shows.
LONG_WORD_SHOWN = 12


class SentenceError(ValueError):
    """A sentence the explorers cannot use;
    the message is meant for the reader, as it is.
    """


def tokenize(sentence: str, *, max_tokens: int = MAX_TOKENS) -> list[str]:
    """Split a sentence into lower-case word tokens (letters, digits and apostrophes);
    punctuation and other symbols are dropped.

    Raises SentenceError, with a message meant for a reader, for an empty sentence, one
    with no words, or one with more than ``max_tokens`` words.
    """
    if not isinstance(sentence, str):
        message = SENTENCE_ERRORS["not text"].format(type=type(sentence).__name__)
        raise SentenceError(message)
    text = unicodedata.normalize("NFKC", sentence).replace("\u2019", "'")
    # lower case one character at a time, as the book's JavaScript does: the same in
    # every Unicode version (lower() of a whole text also turns a final Σ into ς, by
    # rules whose tables newer Unicode versions changed)
    text = "".join(ch.lower() for ch in text)
    tokens = re.findall(WORD, text)
    if not tokens:
        raise SentenceError(SENTENCE_ERRORS["no words"])
    if len(tokens) > max_tokens:
        message = SENTENCE_ERRORS["too many words"]
        raise SentenceError(message.format(count=len(tokens), limit=max_tokens))
    long = [t for t in tokens if len(t) > MAX_WORD_LENGTH]
    if long:
        start = long[0][:LONG_WORD_SHOWN]
        message = SENTENCE_ERRORS["long word"]
        raise SentenceError(message.format(start=start, limit=MAX_WORD_LENGTH))
    return tokens


def left_out(sentence: str) -> list[str]:
    """Characters of ``sentence`` that ``tokenize`` leaves out although they are not
    punctuation or spaces (emoji, other symbols), so an explorer can say so instead of
    dropping them silently."""
    text = unicodedata.normalize("NFKC", sentence) if isinstance(sentence, str) else ""
    kept = set("".join(re.findall(WORD, text)))
    dropped = (
        ch
        for ch in text
        if ch not in kept
        and not ch.isspace()
        and not unicodedata.category(ch).startswith("P")
    )
    return list(
        dict.fromkeys(
            ch for ch in dropped if unicodedata.category(ch) not in ("Mn", "Cf")
        )
    )


#: The length of an unknown word's vector (a hand-built feature is 1).
UNKNOWN_WORD_LENGTH = 0.5


def unknown_word_vector(word: str) -> np.ndarray:
    """The vector of a word the hand-built vocabulary lacks: small, pseudo-random,
    and always the same.

    Its seed is a hash of the word's UTF-8 bytes (32-bit FNV-1a), so a word gets the
    same vector on every machine and every run (Python's own ``hash()`` changes between
    runs). A small random number generator (mulberry32) turns the seed into uniform
    numbers, and Box-Muller turns each pair of them into a normal one: a direction
    that favours no feature. Its length is 0.5: it takes part in attention but does not
    dominate it. The HTML book's JavaScript computes the same vector.
    """
    uniform = _mulberry32(_fnv1a(word.encode("utf-8")))
    v = np.array(  # (d_model,)
        [
            math.sqrt(-2.0 * math.log(1.0 - next(uniform)))
            * math.cos(2.0 * math.pi * next(uniform))
            for _ in FEATURES
        ]
    )
    return UNKNOWN_WORD_LENGTH * v / np.linalg.norm(v)


def _fnv1a(data: bytes) -> int:
    """The 32-bit FNV-1a hash of ``data``."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def _mulberry32(seed: int) -> Iterator[float]:
    """Uniform numbers in [0, 1) from a 32-bit seed: Tommy Ettinger's mulberry32,
    written with 32-bit integers so that JavaScript computes the same numbers."""
    state = seed
    while True:
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        z = ((state ^ (state >> 15)) * (state | 1)) & 0xFFFFFFFF
        z ^= (z + ((z ^ (z >> 7)) * (z | 61))) & 0xFFFFFFFF
        yield (z ^ (z >> 14)) / 2**32


def embed(tokens: list[str]) -> np.ndarray:
    """Stack the vectors of ``tokens`` into x of shape (n, d_model)."""
    return np.stack(
        [VOCABULARY[t] if t in VOCABULARY else unknown_word_vector(t) for t in tokens]
    )


def known(tokens: list[str]) -> list[bool]:
    """Which tokens have a hand-built vector (the others get unknown_word_vector)."""
    return [t in VOCABULARY for t in tokens]


def matrix(
    entries: dict[tuple[str, str], float], rows: Sequence[str], columns: Sequence[str]
) -> np.ndarray:
    """A (len(rows), len(columns)) matrix with named rows and columns, zero except
    ``{(row, column): value}``.
    """
    w = np.zeros((len(rows), len(columns)))
    for (row, column), value in entries.items():
        w[list(rows).index(row), list(columns).index(column)] = value
    return w


@dataclass(frozen=True)
class Layer:
    """One hand-built self-attention layer: what it does,
    and its projections, with named columns.

    The rows of every matrix are the features of ``FEATURES``. The columns of ``w_q``
    and ``w_k`` are the ``roles`` this layer matches queries and keys on (d_k of them);
    ``w_v``'s columns are the features again.
    """

    name: str
    purpose: str
    roles: tuple[str, ...]
    w_q: np.ndarray  # (d_model, d_k): what a token looks for
    w_k: np.ndarray  # (d_model, d_k): what a token offers to be found by
    w_v: np.ndarray  # (d_model, d_model): what a token passes on when it is attended to


#: How strongly the hand-built layers match a query with a key
#: (see chapter 6, "Inside the hand-built layers").
STRENGTH = 2.2


def hand_built_layers(strength: float = STRENGTH) -> tuple[Layer, Layer]:
    """Two self-attention layers, written by hand,
    that resolve "it" in the book's sentence.

    Every non-zero entry is one rule, and every rule has the same ``strength``. A query
    and a key that share a role score ``strength²`` times the two features involved
    (divided by √d_k); everything else scores 0. The values pass on features; each
    token's new vector is its old vector plus what it gathered (a residual
    connection, see ``contextualize``).
    """
    s = strength
    # Layer 1, "find the description": a pronoun's query asks for a description; an
    # adjective's key offers one. Its value passes on which kind of adjective it is, so
    # "it" becomes "it, the one called tired".
    roles1 = ("description",)
    w_q1 = matrix({("pronoun", "description"): s}, FEATURES, roles1)
    w_k1 = matrix(
        {
            ("said of the living", "description"): s,
            ("said of places", "description"): s,
        },
        FEATURES,
        roles1,
    )
    w_v1 = matrix(
        {
            ("said of the living", "said of the living"): 1.0,
            ("said of places", "said of places"): 1.0,
        },
        FEATURES,
        FEATURES,
    )
    # Layer 2, "find the referent": a token called tired asks for something alive, one
    # called wide for a place; a living noun's key offers "alive", a place's key offers
    # "place". Its value passes on the whole token.
    roles2 = ("alive", "place")
    w_q2 = matrix(
        {("said of the living", "alive"): s, ("said of places", "place"): s},
        FEATURES,
        roles2,
    )
    w_k2 = matrix({("alive", "alive"): s, ("place", "place"): s}, FEATURES, roles2)
    w_v2 = np.eye(len(FEATURES))
    return (
        Layer(
            "find the description",
            "pronouns gather the adjective said of them",
            roles1,
            w_q1,
            w_k1,
            w_v1,
        ),
        Layer(
            "find the referent",
            "pronouns look for a noun that fits that adjective",
            roles2,
            w_q2,
            w_k2,
            w_v2,
        ),
    )


@dataclass(frozen=True)
class HeadedLayer:
    """A hand-built layer for ``multi_head_self_attention``: square projections whose
    columns are split into heads. ``columns`` names the d_model columns of the projected
    queries, keys and values ("" where unused); the first d_model / num_heads columns
    belong to head 1, the next to head 2, and so on."""

    name: str
    columns: tuple[str, ...]
    w_q: np.ndarray  # (d_model, d_model)
    w_k: np.ndarray  # (d_model, d_model)
    w_v: np.ndarray  # (d_model, d_model)
    w_o: np.ndarray  # (d_model, d_model): the concatenated heads back to the features


def two_head_layer(strength: float = 3.0) -> HeadedLayer:
    """One layer, two jobs: "it" needs the adjective said of it AND a noun,
    from the same query.

    Run it with ``num_heads=2`` and each job gets a head (columns 0-4 and 5-9) with a
    softmax of its own; with ``num_heads=1`` the same matrices make one head that must
    split one row of weights between both jobs.
    """
    s = strength
    columns = (
        ("description", "living", "places", "", "")  # head 1
        + ("noun", "alive", "place", "is noun", "")  # head 2
    )
    # Head 1 (columns 0-4): a pronoun asks for a description; adjectives offer one
    # and pass on their kind.
    # Head 2 (columns 5-9): a pronoun asks for a noun; nouns offer one and pass on
    # what they are.
    w_q = matrix(
        {("pronoun", "description"): s, ("pronoun", "noun"): s}, FEATURES, columns
    )
    w_k = matrix(
        {
            ("said of the living", "description"): s,
            ("said of places", "description"): s,
            ("noun", "noun"): s,
        },
        FEATURES,
        columns,
    )
    passed_on = {
        ("said of the living", "living"): 1.0,
        ("said of places", "places"): 1.0,
        ("alive", "alive"): 1.0,
        ("place", "place"): 1.0,
        ("noun", "is noun"): 1.0,
    }
    w_v = matrix(passed_on, FEATURES, columns)
    # each column of the concatenated heads goes back to the feature it came from
    w_o = w_v.T.copy()
    return HeadedLayer("description and noun", columns, w_q, w_k, w_v, w_o)


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
        """The attention row of the first ``token``: {key token: weight},
        repeated key words summed.
        """
        i = self.tokens.index(token)
        result: dict[str, float] = {}
        for t, w in zip(self.tokens, self.weights[layer][i], strict=True):
            result[t] = result.get(t, 0.0) + float(w)
        return result


def contextualize(
    sentence: str | list[str],
    layers: Sequence[Layer] | None = None,
    positions: NDArray[np.floating] | None = None,
) -> Contextualized:
    """Run the hand-built layers over a sentence (text or tokens).

    ``positions``, an (n, d_model) array, is added to the token vectors first
    (see the word-order chapter).
    """
    tokens = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
    layers = hand_built_layers() if layers is None else layers
    x = embed(tokens)  # (n, d_model)
    if positions is not None:
        x = x + positions  # (n, d_model): each token's vector now also says where it is
    inputs, weights, outputs = x, [], []
    for layer in layers:
        # gathered (n, d_model), w (n, n)
        gathered, w = self_attention(x, layer.w_q, layer.w_k, layer.w_v)
        x = x + gathered  # residual: keep what the token was, add what it gathered
        weights.append(w)
        outputs.append(x)
    return Contextualized(tokens, inputs, weights, outputs)


def plain_self_attention(sentence: str | list[str]) -> Contextualized:
    """The plainest self-attention: each token's own vector is its query, key and value,
    ``attention(x, x, x)``.

    No projections, no residual: the output of a token is just the weighted average of
    the sentence's vectors.
    """
    tokens = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
    x = embed(tokens)  # (n, d_model)
    out, w = attention(x, x, x)  # (n, d_model), (n, n)
    return Contextualized(tokens, x, [w], [out])


@dataclass(frozen=True)
class WorkedExample:
    """One row of attention, step by step: the row of "it" in the second hand-built
    layer (chapters 3-5). ``weights`` is that row of the attention matrix A.
    """

    tokens: list[str]
    query_token: str
    roles: tuple[str, ...]  # the names of the d_k query and key columns
    query: np.ndarray  # (d_k,): what the query token looks for
    keys: np.ndarray  # (n, d_k): what each token offers
    scores: np.ndarray  # (n,): step 1, score(query, keys)
    weights: np.ndarray  # (n,): step 2, normalize(scores)
    values: np.ndarray  # (n, d_model): what each token passes on
    output: np.ndarray  # (d_model,): step 3, blend(weights, values)


def worked_example(sentence: str = SENTENCE, query_token: str = "it") -> WorkedExample:
    """The row of ``query_token`` in layer 2 of ``contextualize(sentence)``,
    computed one step at a time.

    Layer 1 runs first (it gives "it" a share of its adjective); its outputs are the
    vectors that layer 2's projections turn into the query, keys and values below.
    """
    tokens = tokenize(sentence)
    _, layer2 = hand_built_layers()
    x = contextualize(tokens).outputs[0]  # (n, d_model): the vectors entering layer 2
    i = tokens.index(query_token)
    query = x[i] @ layer2.w_q  # (d_model,) @ (d_model, d_k) -> (d_k,)
    keys = x @ layer2.w_k  # (n, d_k)
    values = x @ layer2.w_v  # (n, d_model)
    scores = score(query[None, :], keys)[0]  # (n,): query · key / √d_k
    weights = normalize(scores)  # (n,)
    output = blend(weights[None, :], values)[0]  # (d_model,)
    return WorkedExample(
        tokens, query_token, layer2.roles, query, keys, scores, weights, values, output
    )


def cosine(a: ArrayLike, b: ArrayLike) -> float:
    """Cosine similarity of two vectors: 1 for the same direction,
    0 for perpendicular ones.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def recurrent_influence(
    distances: Sequence[int], *, d: int = 16, gain: float = 0.9, seed: int = 0
) -> np.ndarray:
    """How much a simple recurrent network's last state still depends on its first
    input, per distance.

    The network reads one token at a time, h_t = tanh(W h_{t-1} + x_t), with a random
    orthogonal W scaled by ``gain``. For each distance the first input is nudged and the
    change of the final state is measured (a finite-difference estimate of the norm of
    d h_last / d x_first). Information must pass through every step in between, so
    this shrinks with the distance.
    """
    rng = np.random.default_rng(seed)
    w = gain * np.linalg.qr(rng.standard_normal((d, d)))[0]  # (d, d)
    longest = max(distances)
    xs = 0.5 * rng.standard_normal((longest + 1, d))  # (tokens, d)
    nudge = 1e-6 * rng.standard_normal(d)

    def last_state(inputs: np.ndarray, steps: int) -> np.ndarray:
        h = np.zeros(d)
        for x in inputs[: steps + 1]:
            h = np.tanh(w @ h + x)  # one step: the whole past must fit in h
        return h

    nudged = xs.copy()
    nudged[0] += nudge
    return np.array(
        [
            np.linalg.norm(last_state(nudged, n) - last_state(xs, n))
            / np.linalg.norm(nudge)
            for n in distances
        ]
    )


def naive_softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """A softmax WITHOUT subtracting the maximum: the counter-example of the book.

    exp(1000) is inf in float64 (and exp(89) already in float32), so large scores give
    inf / inf = NaN. Use ``selfattention.softmax`` instead.
    """
    e = np.exp(np.asarray(x))
    return e / e.sum(axis=axis, keepdims=True)

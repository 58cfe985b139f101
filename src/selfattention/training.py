"""Attention that learns: a tiny model finds out by itself where "it" should look.

The hand-built layers of ``examples`` resolve "it" because someone wrote their
projections. Here nobody does. A model made of learned word vectors, learned positions
and one or two self-attention layers (the package's own torch ``attention``) is trained
on sentences like the book's,

    "The dog didn't cross the river because it was too tired."   →  dog
    "The dog didn't cross the river because it was too wide."    →  river

to name the word "it" refers to, read from the output vector at "it" alone. The loss
says nothing about attention: whatever the attention rows do, they do because it helps
to get the answer right.

Needs torch; ``import selfattention`` does not import it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import torch_backend
from .examples import (
    SENTENCE,
    SENTENCE_WIDE,
    Contextualized,
    Layer,
    SentenceError,
    tokenize,
)

__all__ = [
    "ANIMALS",
    "PLACES",
    "ADJECTIVES",
    "TEMPLATES",
    "BOOK_COMBINATIONS",
    "Example",
    "ReferentData",
    "make_dataset",
    "AttentionLayer",
    "ReferentModel",
    "Snapshot",
    "TrainingResult",
    "train_referent_model",
]

#: The nouns "it" can refer to. "animal" and "street" are the book's own.
ANIMALS = ("animal", "dog", "cat", "horse", "bird", "chicken")
PLACES = ("street", "road", "river", "bridge", "square")

#: What each adjective can be said of: "animal" or "place"
#: (make_dataset also accepts "both").
ADJECTIVES = {
    **{word: "animal" for word in ("tired", "hungry", "scared", "sleepy", "afraid")},
    **{word: "place" for word in ("wide", "busy", "narrow", "crowded", "icy")},
}

#: Sentence patterns. The clauses swap places and the nouns swap order, so
#: neither the position of "it" nor the position of a noun tells which noun is
#: meant: only the adjective does.
TEMPLATES = (
    "The {animal} didn't cross the {place} because it was too {adjective}.",
    "Because it was too {adjective}, the {animal} didn't cross the {place}.",
    "The {animal} did not cross the {place} because it was really too {adjective}.",
    "The {place} was not crossed by the {animal} because it was too {adjective}.",
)

#: The combinations (animal, place, adjective) of the book's two sentences:
#: always held out, never trained on.
BOOK_COMBINATIONS = (("animal", "street", "tired"), ("animal", "street", "wide"))

#: What an adjective can be said of.
KINDS = ("animal", "place", "both")

#: Training settings (full-batch AdamW). The task is learned without weight decay and
#: with a wider d_model too; these values were chosen, by training seeds 0-7, because
#: with them the rows of "it" end up sharper and more often on the right noun
#: (see benchmarks/bench_training.py). Weight decay 1.0 rather than 0.5: the last
#: layer's row of "it" then ends on the right noun in both book sentences for seeds 0,
#: 1 and 2 (with 0.5, seeds 0 and 1), and for 4 of seeds 0-6 (with 0.5, 3 of them).
D_MODEL = 8
STEPS = 400
LEARNING_RATE = 0.02
WEIGHT_DECAY = 1.0
# word and position vectors start this small,
# so every attention row starts nearly uniform
INIT_SCALE = 0.3


@dataclass(frozen=True)
class Example:
    """One sentence and the word its "it" refers to."""

    sentence: str
    tokens: tuple[str, ...]
    referent: str  # the animal or the place "it" stands for
    combination: tuple[str, str, str]  # (animal, place, adjective)
    template: int  # index into the templates


@dataclass(frozen=True)
class ReferentData:
    """Sentences split by (animal, place, adjective) combination: no held-out
    combination is ever trained on.
    """

    train: tuple[Example, ...]
    held_out: tuple[Example, ...]
    held_out_combinations: frozenset[tuple[str, str, str]]
    vocabulary: tuple[str, ...]  # every word of every sentence, sorted
    classes: tuple[str, ...]  # the possible answers: the animals, then the places
    adjectives: Mapping[str, str]  # adjective -> what it can be said of
    templates: tuple[str, ...]


def make_dataset(
    *,
    animals: Sequence[str] = ANIMALS,
    places: Sequence[str] = PLACES,
    adjectives: Mapping[str, str] = ADJECTIVES,
    templates: Sequence[str] = TEMPLATES,
    held_out_fraction: float = 0.2,
    split_seed: int = 0,
) -> ReferentData:
    """Every (animal, place, adjective) combination in every template, split into
    training and held-out sets.

    ``adjectives`` maps each adjective to what it can be said of: "animal",
    "place" or "both". A sentence with a "both" adjective is ambiguous, as in real
    text: it appears twice, once with each answer (so no model can be right about
    more than half of those).

    About ``held_out_fraction`` of the combinations are held out, and always the
    combinations of the book's two sentences. Whether a combination is held out depends
    on that combination and ``split_seed`` only (see ``_draw``), so adding a word adds
    combinations but moves none of the others between the two sets.
    """
    animals, places, templates, adjectives = (
        tuple(animals),
        tuple(places),
        tuple(templates),
        dict(adjectives),
    )
    _check_lexicon(animals, places, adjectives, templates)
    if not 0 < held_out_fraction < 1:
        raise ValueError(
            "held_out_fraction must be between 0 and 1 (exclusive), "
            f"got {held_out_fraction}"
        )

    combinations = [(a, p, adj) for a in animals for p in places for adj in adjectives]
    held_out = {c for c in combinations if _draw(c, split_seed) < held_out_fraction} | (
        set(BOOK_COMBINATIONS) & set(combinations)
    )

    train, test = [], []
    for combination in combinations:
        animal, place, adjective = combination
        referents = {"animal": (animal,), "place": (place,), "both": (animal, place)}[
            adjectives[adjective]
        ]
        for t, template in enumerate(templates):
            sentence = template.format(animal=animal, place=place, adjective=adjective)
            for referent in referents:
                example = Example(
                    sentence, tuple(tokenize(sentence)), referent, combination, t
                )
                (test if combination in held_out else train).append(example)

    trained_on = {word for e in train for word in e.combination}
    unseen = [w for w in animals + places + tuple(adjectives) if w not in trained_on]
    if unseen:
        raise ValueError(
            f"{', '.join(unseen)} would occur in held-out sentences only; "
            "use a smaller held_out_fraction or another split_seed"
        )
    vocabulary = tuple(sorted({word for e in train + test for word in e.tokens}))
    return ReferentData(
        tuple(train),
        tuple(test),
        frozenset(held_out),
        vocabulary,
        animals + places,
        adjectives,
        templates,
    )


def _draw(combination: tuple[str, str, str], split_seed: int) -> float:
    """A number in [0, 1) fixed by the combination and the seed: SHA-256, the same on
    every machine and run.
    """
    text = "|".join((str(split_seed), *combination))
    return (
        int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
        / 2**64
    )


def _check_lexicon(animals, places, adjectives, templates) -> None:
    """Single-word nouns and adjectives, one role per word,
    one "it" and all three slots in every template.
    """
    groups = {"animals": animals, "places": places, "adjectives": tuple(adjectives)}
    for role, words in groups.items():
        if not words:
            raise ValueError(f"{role} must not be empty")
        for word in words:
            if not isinstance(word, str) or tokenize(word) != [word] or word == "it":
                raise ValueError(
                    f'{role} must be single lower-case words other than "it", '
                    f"got {word!r}"
                )
    every = [word for words in groups.values() for word in words]
    repeated = sorted({word for word in every if every.count(word) > 1})
    if repeated:
        raise ValueError(
            "a word can have one role only; given more than once: "
            f"{', '.join(repeated)}"
        )
    wrong_kinds = {word: kind for word, kind in adjectives.items() if kind not in KINDS}
    if wrong_kinds:
        raise ValueError(f"an adjective is said of one of {KINDS}, got {wrong_kinds}")
    if not templates:
        raise ValueError("templates must not be empty")
    for template in templates:
        if not all(slot in template for slot in ("{animal}", "{place}", "{adjective}")):
            raise ValueError(
                "every template needs {animal}, {place} and {adjective}, "
                f"got {template!r}"
            )
        try:
            example = template.format(animal="a", place="p", adjective="j")
        except (KeyError, IndexError) as error:
            raise ValueError(
                "templates may hold only {animal}, {place} and {adjective}, "
                f"got {template!r}"
            ) from error
        if tokenize(example).count("it") != 1:
            raise ValueError(f'every template needs exactly one "it", got {template!r}')


class AttentionLayer(nn.Module):
    """One self-attention layer with one head: learned W_Q, W_K, W_V around the
    package's ``attention``.
    """

    def __init__(self, d_model: int, generator: torch.Generator):
        super().__init__()

        def projection():
            # (d_model, d_model): d_k = d_v = d_model;
            # random entries of size about 1/√d_model
            return nn.Parameter(
                torch.randn(d_model, d_model, generator=generator) / math.sqrt(d_model)
            )

        self.w_q, self.w_k, self.w_v = projection(), projection(), projection()

    def forward(self, x, may_attend):
        """x (batch, n, d_model), may_attend (batch, 1, n)
        → gathered (batch, n, d_model), weights (batch, n, n).
        """
        q = x @ self.w_q  # (batch, n, d_model) @ (d_model, d_k) -> (batch, n, d_k)
        k = x @ self.w_k  # (batch, n, d_k)
        v = x @ self.w_v  # (batch, n, d_model): what a token passes on when attended to
        return torch_backend.attention(q, k, v, mask=may_attend)


class ReferentModel(nn.Module):
    """Word vectors + positions → attention layers,
    each with a residual → a linear read-out at "it".
    """

    def __init__(
        self,
        vocabulary_size: int,
        classes: int,
        *,
        layers: int,
        d_model: int,
        max_tokens: int,
        seed: int,
    ):
        super().__init__()
        # every initial weight comes from this generator
        g = torch.Generator().manual_seed(seed)

        def small(*shape):
            return nn.Parameter(INIT_SCALE * torch.randn(*shape, generator=g))

        # (words, d_model): one learned vector per word
        self.embed = small(vocabulary_size, d_model)
        # (max_tokens, d_model): one learned vector per position
        self.positions = small(max_tokens, d_model)
        self.layers = nn.ModuleList(AttentionLayer(d_model, g) for _ in range(layers))
        self.readout = nn.Parameter(
            torch.randn(d_model, classes, generator=g) / math.sqrt(d_model)
        )

    def forward(self, tokens, it_at, may_attend):
        """tokens (batch, n) word ids, it_at (batch,) where "it" is,
        may_attend (batch, 1, n) False at padding.

        Returns the score of every possible answer (batch, classes), each layer's
        attention weights (batch, n, n), and the token vectors before and after each
        layer (batch, n, d_model).
        """
        # (batch, n, d_model)
        x = self.embed[tokens] + self.positions[: tokens.shape[1]]
        vectors, weights = [x], []
        for layer in self.layers:
            gathered, w = layer(x, may_attend)  # (batch, n, d_model), (batch, n, n)
            # residual: each token keeps what it was and adds what it gathered
            x = x + gathered
            vectors.append(x)
            weights.append(w)
        # (batch, d_model): the vector of "it", nothing else
        at_it = x[torch.arange(len(x)), it_at]
        return at_it @ self.readout, weights, vectors  # scores (batch, classes)


@dataclass(frozen=True)
class Snapshot:
    """The model after ``step`` training steps (0: untrained):
    its held-out accuracy and where "it" looks.
    """

    step: int
    accuracy: float  # on the held-out sentences
    # sentence -> (layers, n): the attention row of "it" in each layer
    rows: dict[str, np.ndarray]


#: What a word of a sentence can be to its "it" (see TrainingResult.top_roles).
ROLES = ("adjective", "referent", "other noun", "another word")


@dataclass(frozen=True)
class TrainingResult:
    """A trained model, its data, and how its training went."""

    model: ReferentModel
    data: ReferentData
    losses: np.ndarray  # (steps,): losses[i] is the training loss after i steps
    accuracy: float  # on the held-out combinations
    train_accuracy: float
    snapshots: tuple[Snapshot, ...]
    seed: int
    device: torch.device

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The words the model knows, in the order of the rows of ``embeddings``."""
        return self.data.vocabulary

    @property
    def embeddings(self) -> np.ndarray:
        """The learned word vectors, one row per word of
        ``vocabulary``: (words, d_model).
        """
        return _numpy(self.model.embed)

    @property
    def positions(self) -> np.ndarray:
        """The learned position vectors: (max_tokens, d_model)."""
        return _numpy(self.model.positions)

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Each layer's learned W_Q, W_K, W_V (d_model, d_model) as NumPy arrays, like
        the hand-built layers.
        """
        return tuple(
            Layer(
                f"layer {i}",
                "learned from the answers alone",
                tuple(f"dimension {j + 1}" for j in range(a.w_q.shape[1])),  # unnamed
                _numpy(a.w_q),
                _numpy(a.w_k),
                _numpy(a.w_v),
            )
            for i, a in enumerate(self.model.layers, start=1)
        )

    @property
    def readout(self) -> np.ndarray:
        """The read-out (d_model, classes): the score of each answer in ``data.classes``
        from the vector of "it".
        """
        return _numpy(self.model.readout)

    def contextualize(self, sentence: str | Sequence[str]) -> Contextualized:
        """Run the trained layers over a sentence, like ``examples.contextualize`` runs
        the hand-built ones.
        """
        tokens = _known_tokens(sentence, self.vocabulary, len(self.positions))
        with torch.no_grad():
            _, weights, vectors = self.model(
                *_encode([tokens], self.vocabulary, self.device)
            )
        return Contextualized(
            list(tokens),
            _numpy(vectors[0][0]),
            [_numpy(w[0]) for w in weights],
            [_numpy(x[0]) for x in vectors[1:]],
        )

    def attention(self, sentence: str | Sequence[str]) -> np.ndarray:
        """The attention weights of every layer on ``sentence``: (layers, n, n)."""
        return np.stack(self.contextualize(sentence).weights)

    def predict(self, sentence: str | Sequence[str]) -> dict[str, float]:
        """The probability of each possible answer for what "it" refers to,
        most likely first.
        """
        tokens = _known_tokens(
            sentence, self.vocabulary, len(self.positions), needs_it=True
        )
        with torch.no_grad():
            # (1, classes)
            scores, _, _ = self.model(*_encode([tokens], self.vocabulary, self.device))
        p = torch.softmax(scores[0], dim=-1).tolist()
        return dict(
            sorted(
                zip(self.data.classes, p, strict=True), key=lambda answer: -answer[1]
            )
        )

    def top_roles(self, example: Example) -> tuple[str, ...]:
        """Per layer, the role (one of ROLES) of the word that gets the largest
        weight in the row of "it".
        """
        return self._tops([example])[0]

    def where_it_looks(
        self, examples: Sequence[Example] | None = None
    ) -> list[dict[str, float]]:
        """Per layer, the fraction of sentences whose row of "it" puts its largest
        weight on each of ROLES.

        ROLES are "adjective", "referent" (the right noun), "other noun"
        (the wrong one) and "another word". The sentences are ``examples``, by
        default the held-out ones.
        """
        tops = self._tops(examples)  # (sentences, layers)
        return [
            {role: sum(t == role for t in layer) / len(layer) for role in ROLES}
            for layer in zip(*tops, strict=True)
        ]

    def routes(
        self, examples: Sequence[Example] | None = None
    ) -> dict[tuple[str, ...], float]:
        """The fraction of sentences for each route:
        the roles of the top words of "it", layer by layer.

        ("adjective", "referent") is the hand-built route: find the description, then
        the noun it fits. Most frequent first; the sentences are ``examples``, by
        default the held-out ones.
        """
        tops = self._tops(examples)
        counts = {route: tops.count(route) / len(tops) for route in set(tops)}
        return dict(sorted(counts.items(), key=lambda route: (-route[1], route[0])))

    def _tops(self, examples) -> list[tuple[str, ...]]:
        """``top_roles`` of every example, from one forward pass per sentence length
        (no padding, so each row is what ``attention`` gives the sentence alone).
        """
        examples = self.data.held_out if examples is None else examples
        if not examples:
            raise ValueError("need at least one example")
        by_length: dict[int, list[int]] = {}
        for i, e in enumerate(examples):
            _known_tokens(e.tokens, self.vocabulary, len(self.positions), needs_it=True)
            by_length.setdefault(len(e.tokens), []).append(i)
        tops: list[tuple[str, ...]] = [()] * len(examples)
        with torch.no_grad():
            for indices in by_length.values():
                group = [examples[i].tokens for i in indices]
                batch = _encode(group, self.vocabulary, self.device)
                _, weights, _ = self.model(*batch)  # each (batch, n, n)
                rows = torch.stack(  # (layers, batch, n): the row of "it"
                    [w[torch.arange(len(group)), batch.it_at] for w in weights]
                )
                top = rows.argmax(dim=-1).T.tolist()  # (batch, layers)
                for i, tokens, columns in zip(indices, group, top, strict=True):
                    tops[i] = tuple(_role(tokens[j], examples[i]) for j in columns)
        return tops


def _role(word: str, example: Example) -> str:
    """What ``word`` is to the "it" of ``example``: one of ROLES."""
    animal, place, adjective = example.combination
    if word == adjective:
        return "adjective"
    if word == example.referent:
        return "referent"
    return "other noun" if word in (animal, place) else "another word"


class _Batch(NamedTuple):
    tokens: torch.Tensor  # (batch, n) word ids, padded with id 0
    it_at: torch.Tensor  # (batch,) the position of "it" (0 where there is none)
    may_attend: torch.Tensor  # (batch, 1, n): False at padding


def _encode(sentences, vocabulary, device) -> _Batch:
    """Word ids padded to the longest sentence, where "it" is,
    and which keys are real words.
    """
    index = {word: i for i, word in enumerate(vocabulary)}
    n = max(map(len, sentences))
    ids = torch.zeros((len(sentences), n), dtype=torch.long)
    for row, tokens in enumerate(sentences):
        ids[row, : len(tokens)] = torch.tensor([index[t] for t in tokens])
    lengths = torch.tensor([len(tokens) for tokens in sentences])
    it_at = torch.tensor(
        [list(tokens).index("it") if "it" in tokens else 0 for tokens in sentences]
    )
    may_attend = (torch.arange(n) < lengths[:, None])[:, None, :]  # (batch, 1, n)
    return _Batch(ids.to(device), it_at.to(device), may_attend.to(device))


def _known_tokens(
    sentence, vocabulary, max_tokens: int, *, needs_it: bool = False
) -> tuple[str, ...]:
    """The tokens of ``sentence``, or a SentenceError naming every word the
    model was not trained on.
    """
    tokens = tuple(tokenize(sentence) if isinstance(sentence, str) else sentence)
    unknown = [t for t in dict.fromkeys(tokens) if t not in vocabulary]
    if unknown:
        listing = ", ".join(repr(t) for t in unknown)
        raise SentenceError(
            f"The trained model knows only the {len(vocabulary)} words it was trained "
            f"on; {listing} {'is' if len(unknown) == 1 else 'are'} not among them."
        )
    if not tokens or len(tokens) > max_tokens:
        raise SentenceError(
            f"The model reads sentences of 1 to {max_tokens} words; "
            f"that one has {len(tokens)}."
        )
    if needs_it and "it" not in tokens:
        raise SentenceError(
            'The model answers what "it" refers to; that sentence has no "it".'
        )
    return tokens


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def _device(device) -> torch.device:
    """The CPU unless asked otherwise; asking for CUDA where there is none is an error,
    never a silent fall-back.
    """
    device = torch.device("cpu" if device is None else device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device={str(device)!r} was asked for, but CUDA is not available here "
            f"(torch {torch.__version__}); leave device=None to train on the CPU"
        )
    return device


@contextlib.contextmanager
def _one_cpu_thread():
    """Run torch on one CPU thread, then restore: the same arithmetic, bit for bit, on
    any number of cores.

    With two threads the sums are split differently and the losses differ in
    the last bits. The price: on two idle cores, the default training takes
    about 10 s instead of 6-7 s.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_referent_model(
    *,
    seed: int = 0,
    steps: int | None = None,
    device=None,
    layers: int = 2,
    data: ReferentData | None = None,
    d_model: int = D_MODEL,
    snapshot_every: int = 25,
    snapshot_sentences: Sequence[str] = (SENTENCE, SENTENCE_WIDE),
    progress: Callable[[str], object] | None = None,
) -> TrainingResult:
    """Train a model to name the word "it" refers to, from the answers alone.

    ``seed`` fixes the initial weights; the data, by default ``make_dataset()``, is the
    same for every seed. On the CPU, the same seed gives the same losses bit for bit.
    ``steps`` full-batch AdamW steps (default STEPS); ``layers`` attention layers
    (2, or 1 to see what one layer can do); ``device`` "cpu" (the default) or "cuda".
    At step 0, every ``snapshot_every`` steps and at the last step, the held-out
    accuracy and the rows of "it" in ``snapshot_sentences`` are kept in ``snapshots``.

    ``progress``, if given, is called once in every training step (``steps`` calls)
    with the training loss so far as text, "loss 0.412": ``status(message,
    steps=steps).update`` shows which step is running and about how long is left.
    """
    steps = STEPS if steps is None else steps
    for name, value in (
        ("steps", steps),
        ("layers", layers),
        ("d_model", d_model),
        ("snapshot_every", snapshot_every),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if progress is not None and not callable(progress):
        raise TypeError(
            "progress must be a function called with a line of text, e.g. "
            f"status(...).update, got {type(progress).__name__}"
        )
    if data is not None and not isinstance(data, ReferentData):
        raise TypeError(
            f"data must come from make_dataset(), got {type(data).__name__}"
        )
    data = make_dataset() if data is None else data
    device = _device(device)
    max_tokens = max(len(e.tokens) for e in data.train + data.held_out)
    watched = {
        s: _known_tokens(s, data.vocabulary, max_tokens, needs_it=True)
        for s in snapshot_sentences
    }

    with _one_cpu_thread():
        model = ReferentModel(
            len(data.vocabulary),
            len(data.classes),
            layers=layers,
            d_model=d_model,
            max_tokens=max_tokens,
            seed=seed,
        ).to(device)
        train = _encode([e.tokens for e in data.train], data.vocabulary, device)
        targets = _targets(data.train, data.classes, device)  # (examples,)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY
        )
        # the step size shrinks along a half cosine to 0: large steps first, then small
        # ones that settle the model instead of knocking it out of a good solution
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)

        def snapshot(step):
            return Snapshot(
                step,
                _accuracy(model, data.held_out, data, device),
                _rows_of_it(model, watched, data, device),
            )

        losses, snapshots = [], [snapshot(0)]
        for step in range(1, steps + 1):
            scores, _, _ = model(*train)  # (examples, classes)
            loss = F.cross_entropy(scores, targets)
            losses.append(loss.item())
            if progress is not None:
                progress(f"loss {losses[-1]:.3f}")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            if step % snapshot_every == 0 or step == steps:
                snapshots.append(snapshot(step))
        return TrainingResult(
            model=model,
            data=data,
            losses=np.array(losses),
            accuracy=snapshots[-1].accuracy,
            train_accuracy=_accuracy(model, data.train, data, device),
            snapshots=tuple(snapshots),
            seed=seed,
            device=device,
        )


def _targets(examples, classes, device) -> torch.Tensor:
    """The index of each example's referent among ``classes``: (examples,)."""
    index = {word: i for i, word in enumerate(classes)}
    return torch.tensor([index[e.referent] for e in examples], device=device)


def _accuracy(model, examples, data, device) -> float:
    """The fraction of ``examples`` whose most likely answer is their referent."""
    if not examples:
        return float("nan")
    with torch.no_grad():
        # (examples, classes)
        scores, _, _ = model(
            *_encode([e.tokens for e in examples], data.vocabulary, device)
        )
    return (
        (scores.argmax(dim=-1) == _targets(examples, data.classes, device))
        .double()
        .mean()
        .item()
    )


def _rows_of_it(model, watched, data, device) -> dict[str, np.ndarray]:
    """{sentence: (layers, n)}: the attention row of "it" in every layer, for each of
    ``watched`` {sentence: tokens}.
    """
    rows = {}
    with torch.no_grad():
        for sentence, tokens in watched.items():
            batch = _encode([tokens], data.vocabulary, device)
            _, weights, _ = model(*batch)  # each (1, n, n)
            # (layers, n)
            rows[sentence] = np.stack([_numpy(w[0, batch.it_at[0]]) for w in weights])
    return rows


# Trained models stored with the package -----------------------------------------------

#: The trained models stored with the package, as (seed, layers): each is what
#: ``train_referent_model(seed=seed, layers=layers)`` returns, every other argument left
#: at its default. A chapter that compares several trained models loads them with
#: ``load_referent_model`` instead of waiting for each to train (a few seconds apiece).
#: ``python -m selfattention.training`` trains them again and rewrites the files;
#: tests/test_training.py retrains every one and compares.
STORED_MODELS = ((0, 2), (1, 2), (0, 1), (1, 1))

#: Where the stored models are, inside the package (package data, see pyproject.toml).
STORED_FOLDER = "trained"


def stored_model_path(seed: int, layers: int):
    """The file of a stored model (an ``importlib.resources`` path)."""
    from importlib.resources import files

    return (
        files(__package__) / STORED_FOLDER / f"referent-seed{seed}-layers{layers}.npz"
    )


def load_referent_model(*, seed: int = 0, layers: int = 2) -> TrainingResult:
    """The model that ``train_referent_model(seed=seed, layers=layers)`` trains, loaded
    from the weights stored with the package (``STORED_MODELS``) instead of trained.

    Its word and position vectors, W_Q, W_K, W_V and read-out are the float32 numbers
    that training produced; its losses and snapshots are the stored record of that
    training; its accuracies are measured again here, on the CPU. A stored model was
    trained with this module's data and settings: if they have changed since, loading
    it is an error that says how to train the models again.
    """
    if (seed, layers) not in STORED_MODELS:
        listing = ", ".join(f"seed={s}, layers={n}" for s, n in STORED_MODELS)
        raise ValueError(
            f"no stored model for seed={seed!r}, layers={layers!r}; stored: "
            f"{listing}. Train it instead: train_referent_model(seed={seed!r}, "
            f"layers={layers!r})"
        )
    data = make_dataset()
    with stored_model_path(seed, layers).open("rb") as file:
        stored = dict(np.load(file, allow_pickle=False))
    if str(stored["recipe"]) != _recipe(data):
        raise RuntimeError(
            f"the stored model seed={seed}, layers={layers} was trained with other "
            "data or settings than this version of selfattention.training uses; "
            "train the stored models again: python -m selfattention.training"
        )
    device = torch.device("cpu")
    with _one_cpu_thread():
        model = ReferentModel(
            len(data.vocabulary),
            len(data.classes),
            layers=layers,
            d_model=D_MODEL,
            max_tokens=max(len(e.tokens) for e in data.train + data.held_out),
            seed=seed,
        )
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                parameter.copy_(torch.from_numpy(stored[f"parameter {name}"]))
        sentences = [str(s) for s in stored["snapshot sentences"]]
        snapshots = tuple(
            Snapshot(
                int(step),
                float(accuracy),
                {s: stored[f"snapshot rows {k}"][i] for k, s in enumerate(sentences)},
            )
            for i, (step, accuracy) in enumerate(
                zip(stored["snapshot steps"], stored["snapshot accuracy"], strict=True)
            )
        )
        return TrainingResult(
            model=model,
            data=data,
            losses=stored["losses"],
            accuracy=_accuracy(model, data.held_out, data, device),
            train_accuracy=_accuracy(model, data.train, data, device),
            snapshots=snapshots,
            seed=seed,
            device=device,
        )


def _recipe(data: ReferentData) -> str:
    """A digest of everything that decides what ``train_referent_model`` learns with
    its defaults, besides the seed and the number of layers: the data and the
    settings. A stored model is valid while it is unchanged.
    """
    text = repr(
        (
            [(e.sentence, e.referent) for e in data.train],
            [(e.sentence, e.referent) for e in data.held_out],
            data.vocabulary,
            data.classes,
            (D_MODEL, STEPS, LEARNING_RATE, WEIGHT_DECAY, INIT_SCALE),
        )
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _save(result: TrainingResult, path) -> None:
    """Write a trained model (trained with the defaults) as ``load_referent_model``
    reads it: float32 parameters, the losses and snapshots, the recipe.
    """
    sentences = list(result.snapshots[0].rows)
    arrays = {
        f"parameter {name}": p.detach().to("cpu").numpy()
        for name, p in result.model.named_parameters()
    }
    arrays |= {
        f"snapshot rows {k}": np.stack([s.rows[sentence] for s in result.snapshots])
        for k, sentence in enumerate(sentences)
    }
    np.savez_compressed(
        path,
        **arrays,
        losses=result.losses,
        recipe=np.array(_recipe(result.data)),
        **{
            "snapshot sentences": np.array(sentences),
            "snapshot steps": np.array([s.step for s in result.snapshots]),
            "snapshot accuracy": np.array([s.accuracy for s in result.snapshots]),
            "trained with": np.array(f"torch {torch.__version__}"),
        },
    )


def _store_all() -> None:
    """Train every model of STORED_MODELS again and rewrite its file."""
    from pathlib import Path

    for seed, layers in STORED_MODELS:
        path = Path(str(stored_model_path(seed, layers)))
        path.parent.mkdir(exist_ok=True)
        result = train_referent_model(seed=seed, layers=layers)
        _save(result, path)
        print(
            f"{path.name}: held-out accuracy {result.accuracy:.3f}, "
            f"{path.stat().st_size} bytes"
        )


if __name__ == "__main__":  # python -m selfattention.training
    _store_all()

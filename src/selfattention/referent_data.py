"""The data chapter 13 trains on: sentences whose "it" refers to an animal or a place,
and only the adjective tells which.

    "The dog didn't cross the river because it was too tired."   →  dog
    "The dog didn't cross the river because it was too wide."    →  river

Every (animal, place, adjective) combination in every template, split into training
and held-out sets by combination (``make_dataset``), and what each word of a sentence
is to its "it" (``role_of``). Plain Python: no torch (the model is in ``training``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .examples import tokenize

__all__ = [
    "ADJECTIVES",
    "ANIMALS",
    "BOOK_COMBINATIONS",
    "KINDS",
    "PLACES",
    "ROLES",
    "TEMPLATES",
    "Example",
    "ReferentData",
    "make_dataset",
    "role_of",
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

    train: list[Example] = []
    test: list[Example] = []
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


def _check_lexicon(
    animals: tuple[str, ...],
    places: tuple[str, ...],
    adjectives: Mapping[str, str],
    templates: tuple[str, ...],
) -> None:
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


#: What a word of a sentence can be to its "it" (see TrainingResult.top_roles).
ROLES = ("adjective", "referent", "other noun", "another word")


def role_of(word: str, example: Example) -> str:
    """What ``word`` is to the "it" of ``example``: one of ROLES."""
    animal, place, adjective = example.combination
    if word == adjective:
        return "adjective"
    if word == example.referent:
        return "referent"
    return "other noun" if word in (animal, place) else "another word"

"""What the trained models (``training``, ``decoder``) share: the device they run on,
one CPU thread for the same sums on any machine, tensors as NumPy arrays, the check
that a sentence holds only words a model knows, and the weights stored with the
package (``ModelStore``).

Needs torch; ``import selfattention`` does not import it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import NDArray

from .examples import SentenceError, tokenize

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["ModelStore", "known_tokens", "one_cpu_thread", "pick_device", "to_numpy"]


def known_tokens(
    sentence: str | Sequence[str],
    vocabulary: Sequence[str],
    max_tokens: int,
    *,
    needs_it: bool = False,
    texts: str = "sentences",
    unit: str = "words",
) -> tuple[str, ...]:
    """The tokens of ``sentence``, or a SentenceError naming every word the
    model was not trained on. The messages call the inputs ``texts`` and count
    their tokens in ``unit`` (a model that reads full stops too counts tokens).
    """
    tokens = tuple(tokenize(sentence) if isinstance(sentence, str) else sentence)
    unknown = [t for t in dict.fromkeys(tokens) if t not in vocabulary]
    if unknown:
        listing = ", ".join(repr(t) for t in unknown)
        raise SentenceError(
            f"The trained model knows only the {len(vocabulary)} {unit} it was "
            f"trained on; {listing} {'is' if len(unknown) == 1 else 'are'} not "
            "among them."
        )
    if not tokens or len(tokens) > max_tokens:
        raise SentenceError(
            f"The model reads {texts} of 1 to {max_tokens} {unit}; "
            f"that one has {len(tokens)}."
        )
    if needs_it and "it" not in tokens:
        raise SentenceError(
            'The model answers what "it" refers to; that sentence has no "it".'
        )
    return tokens


def to_numpy(t: torch.Tensor) -> NDArray[np.float64]:
    """A tensor as a float64 NumPy array on the CPU, detached from autograd."""
    return t.detach().to("cpu", torch.float64).numpy()


def pick_device(device: str | torch.device | None) -> torch.device:
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
def one_cpu_thread() -> Iterator[None]:
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


@dataclass(frozen=True)
class ModelStore:
    """The trained weights of one kind of model, stored with the package (package data
    in ``selfattention/trained/``) so that a chapter loads a model in a second instead
    of training it again.

    A stored file holds the float32 parameters (``parameter <name>``), the losses, the
    *recipe* (a digest of the data and settings it was trained with) and whatever else
    its module writes. Reading one checks that it is stored and that its recipe is
    today's: a model trained with other data or settings is refused, with a message
    that says how to train the stored models again.
    """

    kind: str  #: the files' prefix: ``<kind>-seed<seed>-layers<layers>.npz``
    module: str  #: the module whose ``python -m`` trains them again
    trainer: str  #: the function that trains one, named in the messages
    stored: tuple[tuple[int, int], ...]  #: the (seed, layers) stored

    def path(self, seed: int, layers: int) -> Traversable:
        """The file of a stored model (an ``importlib.resources`` path)."""
        from importlib.resources import files

        name = f"{self.kind}-seed{seed}-layers{layers}.npz"
        return files(__package__) / "trained" / name

    def read(self, seed: int, layers: int, recipe: str) -> dict[str, NDArray[Any]]:
        """The arrays of a stored model, once it is known to be stored and trained
        with ``recipe``; a ValueError lists what is stored, a RuntimeError says how
        to train the models again.
        """
        if (seed, layers) not in self.stored:
            listing = ", ".join(f"seed={s}, layers={n}" for s, n in self.stored)
            raise ValueError(
                f"no stored model for seed={seed!r}, layers={layers!r}; stored: "
                f"{listing}. Train it instead: {self.trainer}(seed={seed!r}, "
                f"layers={layers!r})"
            )
        with self.path(seed, layers).open("rb") as file:
            arrays = dict(np.load(file, allow_pickle=False))
        if str(arrays["recipe"]) != recipe:
            raise RuntimeError(
                f"the stored model seed={seed}, layers={layers} was trained with other "
                f"data or settings than this version of {self.module} uses; train "
                f"the stored models again: python -m {self.module}"
            )
        return arrays

    @staticmethod
    def load_parameters(
        model: torch.nn.Module, arrays: dict[str, NDArray[Any]]
    ) -> None:
        """Copy the stored parameters into a model built with the same settings."""
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                parameter.copy_(torch.from_numpy(arrays[f"parameter {name}"]))

    @staticmethod
    def write(
        path: str | os.PathLike[str],
        model: torch.nn.Module,
        recipe: str,
        **arrays: Any,
    ) -> None:
        """Store a trained model as ``read`` and ``load_parameters`` take it back:
        its parameters, the recipe, the torch that trained it, and ``arrays``.
        """
        contents: dict[str, Any] = {
            f"parameter {name}": p.detach().to("cpu").numpy()
            for name, p in model.named_parameters()
        }
        contents |= arrays
        contents["recipe"] = np.array(recipe)
        contents["trained with"] = np.array(f"torch {torch.__version__}")
        np.savez_compressed(path, **contents)

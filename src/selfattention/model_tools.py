"""What the trained models (``training``, ``decoder``) share: the device they run on,
one CPU thread for the same sums on any machine, tensors as NumPy arrays, and the
check that a sentence holds only words a model knows.

Needs torch; ``import selfattention`` does not import it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from .examples import SentenceError, tokenize

__all__ = ["known_tokens", "one_cpu_thread", "pick_device", "to_numpy"]


def known_tokens(
    sentence: str | Sequence[str],
    vocabulary: Sequence[str],
    max_tokens: int,
    *,
    needs_it: bool = False,
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

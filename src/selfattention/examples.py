"""The book's sentences, hand-built toy embeddings, and counter-examples."""

from __future__ import annotations

import numpy as np


def naive_softmax(x, axis=-1):
    """A softmax WITHOUT subtracting the maximum: the counter-example of the book.

    exp(1000) is inf in float64 (and exp(89) already in float32), so large scores give inf / inf = NaN.
    Use ``selfattention.softmax`` instead.
    """
    e = np.exp(np.asarray(x))
    return e / e.sum(axis=axis, keepdims=True)

"""Scaled dot-product attention in NumPy, in three steps: score → normalize → blend.

    attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V

Shapes (the same names everywhere in this package): q (..., n, d_k), k (..., m, d_k),
v (..., m, d_v); ``...`` are batch dimensions, broadcast like
``torch.nn.functional.scaled_dot_product_attention``.

Every public function checks its arguments once, on its first line (``_checked``, at the
end of this module, with the rules and messages of ``_checks``); the rest of it is the
math. Arrays given are scanned for NaN and inf; ``attention`` hands its own scores and
weights on with ``check_finite=False`` (they are finite by construction: no second pass
over the (..., n, m) matrix). ``torch_backend.py`` has the same functions, argument
names and docstrings for torch tensors: read the two side by side. The fast paths
(tiles, threads, fused kernels) are in ``fast.py`` and ``torch_fast.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _checks

#: What the functions return: a floating-point NumPy array (float64 unless given float32
#: or float16).
FloatArray = NDArray[np.floating]

__all__ = [
    "score",
    "normalize",
    "blend",
    "attention",
    "self_attention",
    "softmax",
    "causal_mask",
    "multi_head_self_attention",
    "sinusoidal_positions",
    "rotary",
]


def score(q: ArrayLike, k: ArrayLike, *, scale: float | None = None) -> FloatArray:
    """Step 1: how well each query matches each key.

    q (..., n, d_k) and k (..., m, d_k) → scores (..., n, m) = q @ kᵀ · scale;
    ``scale`` defaults to 1/√d_k.
    """
    q, k, scale = _checked(q=q, k=k, scale=scale)
    # (..., n, d_k) @ (..., d_k, m) -> (..., n, m)
    return (q * scale) @ np.swapaxes(k, -1, -2)


def normalize(
    scores: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    out: FloatArray | None = None,
    check_finite: bool = True,
) -> FloatArray:
    """Step 2: turn each row of scores into weights that are ≥ 0 and sum to 1
    (a softmax over the last axis).

    scores (..., n, m) → weights (..., n, m). ``mask`` is boolean and broadcasts to
    ``scores``; True means "may attend". Masked positions get weight 0; a row where
    nothing may be attended gets all-zero weights (never NaN). ``out`` is the array the
    weights are written into (it may be ``scores`` itself); by default a new one.
    ``check_finite=False`` skips the scan of ``scores`` for NaN and inf.
    """
    scores, mask, out = _checked(
        scores=scores, mask=mask, out=out, check_finite=check_finite
    )
    if mask is not None:
        # (..., n, m): a masked key's weight will be exp(-inf) = 0
        scores = np.where(mask, scores, -np.inf)
    row_max = np.max(scores, axis=-1, keepdims=True)  # (..., n, 1)
    # a fully masked row: avoid -inf - (-inf) = NaN
    row_max = np.where(np.isneginf(row_max), 0.0, row_max)
    # (..., n, m): every entry is ≤ 0 now
    weights = np.subtract(scores, row_max, out=out)
    # (..., n, m): exp of a number ≤ 0 cannot overflow
    weights = np.exp(weights, out=weights)
    # (..., n, 1): ≥ 1, or 0 for a fully masked row
    total = np.sum(weights, axis=-1, keepdims=True)
    # (..., n, m): fully masked rows stay 0
    return np.divide(weights, np.where(total == 0, 1.0, total), out=weights)


def blend(weights: ArrayLike, v: ArrayLike, *, check_finite: bool = True) -> FloatArray:
    """Step 3: each output row is a weighted average of the value vectors.

    weights (..., n, m) and v (..., m, d_v) → output (..., n, d_v) = weights @ v.
    ``check_finite=False`` skips the scan of ``weights`` and ``v`` for NaN and inf.
    """
    weights, v = _checked(weights=weights, v=v, check_finite=check_finite)
    return weights @ v  # (..., n, m) @ (..., m, d_v) -> (..., n, d_v)


def attention(
    q: ArrayLike,
    k: ArrayLike,
    v: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Scaled dot-product attention: the three steps,
    ``blend(normalize(score(q, k), mask=mask), v)``.

    q (..., n, d_k), k (..., m, d_k), v (..., m, d_v) → ``(output, weights)`` with
    output (..., n, d_v) and weights (..., n, m). ``causal=True`` lets query i attend
    keys j ≤ i only; it cannot be combined with ``mask``. ``scale`` defaults to 1/√d_k.
    The scores and weights computed here from checked inputs are finite: they are
    handed on with ``check_finite=False``.
    """
    q, k, v, mask, causal, scale = _checked(
        q=q, k=k, v=v, mask=mask, causal=causal, scale=scale
    )
    if causal:
        mask = causal_mask(q.shape[-2], k.shape[-2])  # (n, m)
    scores = score(q, k, scale=scale)  # (..., n, m)
    # (..., n, m), written over the scores: saves memory
    weights = normalize(scores, mask=mask, out=scores, check_finite=False)
    # (..., n, d_v) and (..., n, m)
    return blend(weights, v, check_finite=False), weights


def causal_mask(n: int, m: int | None = None) -> NDArray[np.bool_]:
    """Boolean (n, m) mask where query i may attend key j only if j ≤ i
    (aligned at the upper left).
    """
    m = n if m is None else m
    return np.tril(np.ones((n, m), dtype=bool))  # (n, m)


def softmax(x: ArrayLike, axis: int = -1) -> FloatArray:
    """The numerically stable softmax along ``axis``: exp(x - max) / sum(exp(x - max)),
    as in ``normalize``.
    """
    x, axis = _checked(x=x, axis=axis)
    # normalize works on the last axis; x is checked already
    weights = normalize(np.moveaxis(x, axis, -1), check_finite=False)
    return np.moveaxis(weights, -1, axis)


def self_attention(
    x: ArrayLike,
    w_q: ArrayLike,
    w_k: ArrayLike,
    w_v: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    causal: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Self-attention: queries, keys and values are all computed from the
    same sequence ``x``.

    x (..., n, d_model); w_q and w_k (d_model, d_k); w_v (d_model, d_v). Returns
    ``(output, weights)`` with output (..., n, d_v) and weights (..., n, n).
    """
    x, w_q, w_k, w_v = _checked(x=x, w_q=w_q, w_k=w_k, w_v=w_v)
    q = x @ w_q  # (..., n, d_model) @ (d_model, d_k) -> (..., n, d_k)
    k = x @ w_k  # (..., n, d_model) @ (d_model, d_k) -> (..., n, d_k)
    v = x @ w_v  # (..., n, d_model) @ (d_model, d_v) -> (..., n, d_v)
    return attention(q, k, v, mask=mask, causal=causal)


def multi_head_self_attention(
    x: ArrayLike,
    w_q: ArrayLike,
    w_k: ArrayLike,
    w_v: ArrayLike,
    w_o: ArrayLike,
    *,
    num_heads: int,
    mask: ArrayLike | None = None,
    causal: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Multi-head self-attention: ``num_heads`` attentions side by side, each on its
    own slice of the features.

    x (..., n, d_model); w_q, w_k, w_v and w_o (d_model, d_model). The projected
    queries, keys and values are split into ``num_heads`` slices of
    d_head = d_model / num_heads features; each head attends with its own slice; the
    heads' outputs are concatenated and projected by ``w_o``. ``mask`` broadcasts to
    the weights' shape (..., num_heads, n, n). Returns ``(output, weights)`` with
    output (..., n, d_model) and weights (..., num_heads, n, n).
    """
    x, w_q, w_k, w_v, w_o, num_heads = _checked(
        x=x, w_q=w_q, w_k=w_k, w_v=w_v, w_o=w_o, num_heads=num_heads
    )
    d_head = x.shape[-1] // num_heads

    def split(t: FloatArray) -> FloatArray:
        # (..., n, d_model) -> (..., n, num_heads, d_head)
        #                   -> (..., num_heads, n, d_head)
        return np.swapaxes(t.reshape(t.shape[:-1] + (num_heads, d_head)), -3, -2)

    # (..., n, d_model) @ (d_model, d_model) -> (..., n, d_model)
    #                                         -> (..., num_heads, n, d_head)
    q = split(x @ w_q)
    # (..., n, d_model) @ (d_model, d_model) -> (..., n, d_model)
    #                                         -> (..., num_heads, n, d_head)
    k = split(x @ w_k)
    # (..., n, d_model) @ (d_model, d_model) -> (..., n, d_model)
    #                                         -> (..., num_heads, n, d_head)
    v = split(x @ w_v)
    # every head attends separately:
    # heads (..., num_heads, n, d_head), weights (..., num_heads, n, n)
    heads, weights = attention(q, k, v, mask=mask, causal=causal)
    # (..., n, num_heads, d_head) -> (..., n, d_model)
    concat = np.swapaxes(heads, -3, -2).reshape(x.shape)
    # (..., n, d_model) @ (d_model, d_model) -> (..., n, d_model)
    return concat @ w_o, weights


def sinusoidal_positions(
    n: int, d_model: int, *, dtype: DTypeLike = np.float64
) -> FloatArray:
    """The original transformer's position vectors, one row per position:
    an (n, d_model) array.

    PE[p, 2i] = sin(p / 10000^(2i / d_model)) and
    PE[p, 2i + 1] = cos(p / 10000^(2i / d_model)); d_model is even.
    """
    n, d_model = _checked(n=n, d_model=d_model)
    position = np.arange(n)[:, None]  # (n, 1)
    # (n, d_model / 2)
    angle = position / 10000.0 ** (np.arange(0, d_model, 2) / d_model)
    # (n, d_model / 2, 2)
    pairs = np.stack([np.sin(angle), np.cos(angle)], axis=-1)
    # (n, d_model): sin, cos, sin, cos, ...
    return pairs.reshape(n, d_model).astype(dtype)


def rotary(x: ArrayLike, *, base: float = 10000.0) -> FloatArray:
    """Rotary position embedding (RoFormer): rotate each pair of features by an angle
    that grows with the position.

    x (..., n, d) with d even → the same shape: the pair
    (x[..., p, 2i], x[..., p, 2i + 1]) is rotated by the angle p · base^(-2i / d).
    Rotate the queries and the keys this way and their scores depend on the positions
    only through the distance between them.
    """
    x, base = _checked(x=x, base=base)
    n, d = x.shape[-2:]
    position = np.arange(n)[:, None]  # (n, 1)
    # (n, 1) * (d / 2,) -> (n, d / 2)
    angle = position * base ** (-np.arange(0, d, 2) / d)
    # (n, d / 2) each
    cos, sin = np.cos(angle).astype(x.dtype), np.sin(angle).astype(x.dtype)
    # (..., n, d / 2) each: the two coordinates of every pair
    even, odd = x[..., 0::2], x[..., 1::2]
    # (..., n, d / 2, 2)
    rotated = np.stack([even * cos - odd * sin, even * sin + odd * cos], axis=-1)
    return rotated.reshape(x.shape)  # (..., n, d): the pairs side by side again


# --- Checking the arguments, once, at the boundary ------------------------------------


def _checked(*, check_finite: bool = True, **args: Any) -> tuple[Any, ...]:
    """The arguments of a public function, checked and converted, in the order given.

    Called with the function's own argument names, e.g.
    ``_checked(q=q, k=k, scale=scale)``. Arrays become finite floating-point NumPy
    arrays (lists and integers are accepted), scanned for NaN and inf unless the caller
    passes ``check_finite=False``; ``mask`` a boolean array that broadcasts to the
    scores; ``scale`` a float (1/√d_k when None). The rules, their order and their
    messages are ``_checks.checked``'s, shared with the torch backend; this module only
    says how NumPy converts and scans (``_NumPyRules``).
    """
    return _checks.checked(_RULES, args, check_finite=check_finite)


class _NumPyRules(_checks.Rules[np.ndarray]):
    def as_array(self, value: Any, name: str) -> np.ndarray:
        """Convert ``value`` to a floating-point array, or explain why it cannot be
        used.
        """
        arr = np.asarray(value)
        if arr.dtype.kind in "iu":  # integers (and lists of them) become float64
            arr = arr.astype(np.float64)
        elif arr.dtype.kind != "f":
            raise TypeError(
                f"{name} must hold real numbers, got an array of dtype {arr.dtype}"
            )
        return arr

    def all_finite(self, a: np.ndarray) -> bool:
        # One fast pass without a temporary array: a finite sum of squares means
        # every entry is finite (an inf or a NaN would make it inf or NaN). Only when
        # it is not finite (it may just have overflowed) look at every entry.
        with np.errstate(over="ignore", invalid="ignore"):
            return bool(np.isfinite(np.vdot(a, a))) or bool(np.isfinite(a).all())

    def as_mask(self, mask: Any, scores_shape: _checks.Shape, like: Any) -> np.ndarray:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise TypeError(
                f"mask must be boolean (True = may attend), got dtype {mask.dtype}"
            )
        _checks.check_mask(mask.shape, scores_shape)
        return mask

    def as_out(self, out: Any, scores: np.ndarray) -> np.ndarray:
        """``normalize(..., out=...)``: a writeable array with the scores' shape and
        dtype (it may be the scores).
        """
        if (
            not isinstance(out, np.ndarray)
            or out.shape != scores.shape
            or out.dtype != scores.dtype
        ):
            got = (
                f"{type(out).__name__} of shape {out.shape} and dtype {out.dtype}"
                if hasattr(out, "dtype")
                else repr(out)
            )
            raise ValueError(
                f"out must be a NumPy array of the scores' shape {scores.shape} and "
                f"dtype {scores.dtype}, got {got}"
            )
        if not out.flags.writeable:
            raise ValueError("out must be writeable")
        return out

    def limits(self, q: np.ndarray, k: np.ndarray) -> tuple[float, float, object]:
        info = np.finfo(np.result_type(q, k))
        return float(info.max), float(info.eps), info.dtype

    def largest_magnitude(self, a: np.ndarray) -> float:
        return float(np.max(np.abs(a), initial=0.0))

    def scores_finite(self, q: np.ndarray, k: np.ndarray, scale: float) -> bool:
        with np.errstate(over="ignore", invalid="ignore"):
            return bool(np.isfinite((q * scale) @ np.swapaxes(k, -1, -2)).all())


_RULES = _NumPyRules()

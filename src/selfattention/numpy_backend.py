"""Scaled dot-product attention in NumPy, in three steps: score → normalize → blend.

    attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V

Shapes (the same names everywhere in this package): q (..., n, d_k), k (..., m, d_k), v (..., m, d_v);
``...`` are batch dimensions, broadcast like ``torch.nn.functional.scaled_dot_product_attention``.

``torch_backend.py`` has the same functions, argument names and docstrings for torch tensors: read the two
side by side.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from . import _checks

__all__ = [
    "score",
    "normalize",
    "blend",
    "attention",
    "self_attention",
    "softmax",
    "causal_mask",
    "chunked_attention",
]


def _as_array(x, name: str) -> np.ndarray:
    """Convert ``x`` to a floating-point array, or explain why it cannot be used."""
    arr = np.asarray(x)
    if arr.dtype.kind in "iu":  # integers (and lists of them) become float64
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf (shape {arr.shape}); attention needs finite inputs")
    return arr


def _as_mask(mask, scores_shape) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}")
    _checks.check_mask(mask.shape, scores_shape)
    return mask


def causal_mask(n: int, m: int | None = None) -> np.ndarray:
    """Boolean (n, m) mask where query i may attend key j only if j ≤ i (aligned at the upper left)."""
    m = n if m is None else m
    return np.tril(np.ones((n, m), dtype=bool))  # (n, m)


def score(q, k, *, scale=None):
    """Step 1: how well each query matches each key.

    Returns ``q @ kᵀ * scale`` of shape (..., n, m); ``scale`` defaults to 1/√d_k with d_k = q.shape[-1].
    """
    q, k = _as_array(q, "q"), _as_array(k, "k")
    _checks.check_qk(q.shape, k.shape)
    return _score(q, k, _checks.resolve_scale(scale, q.shape[-1]))


def _score(q, k, scale: float):
    # Scaling q (n·d_k numbers) is cheaper than scaling the scores (n·m numbers); the result is the same.
    # An overflow to inf is caught by normalize, with a clearer message than NumPy's warning.
    with np.errstate(over="ignore", invalid="ignore"):
        return (q * scale) @ np.swapaxes(k, -1, -2)  # (..., n, d_k) @ (..., d_k, m) -> (..., n, m)


def normalize(scores, *, mask=None):
    """Step 2: turn each row of scores into weights that are ≥ 0 and sum to 1 (a softmax over the last axis).

    ``mask`` is boolean and broadcasts to ``scores``; True means "may attend". Masked positions get weight 0;
    a row where nothing may be attended gets all-zero weights (never NaN).
    """
    scores = _as_array(scores, "scores")
    _checks.check_ndim("scores", scores.shape, minimum=1)
    mask = None if mask is None else _as_mask(mask, scores.shape)
    return _normalize_inplace(scores.copy(), mask)  # copy: never overwrite the caller's array


def _normalize_inplace(scores, mask):
    """The stable softmax of ``normalize``, reusing the memory of ``scores`` (which it overwrites)."""
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)  # (..., n, m); masked keys can never win
    row_max = scores.max(axis=-1, keepdims=True)  # (..., n, 1)
    if (np.isposinf(row_max) | np.isnan(row_max)).any():  # max() propagates NaN
        raise _checks.overflow_error("normalize")
    row_max[np.isneginf(row_max)] = 0.0  # fully masked row: avoid -inf - (-inf) = NaN
    scores -= row_max  # now every score is ≤ 0, so exp cannot overflow
    weights = np.exp(scores, out=scores)  # (..., n, m), each in [0, 1]
    total = weights.sum(axis=-1, keepdims=True)  # (..., n, 1), ≥ 1 unless the row is fully masked
    total[total == 0] = 1.0  # a fully masked row stays all zeros
    weights /= total
    return weights


def blend(weights, v):
    """Step 3: each output row is a weighted average of the value vectors.

    Returns ``weights @ v`` of shape (..., n, d_v).
    """
    weights, v = _as_array(weights, "weights"), _as_array(v, "v")
    _checks.check_weights_v(weights.shape, v.shape)
    return weights @ v  # (..., n, m) @ (..., m, d_v) -> (..., n, d_v)


def attention(q, k, v, *, mask=None, causal=False, scale=None):
    """Scaled dot-product attention: ``blend(normalize(score(q, k), mask), v)``.

    q (..., n, d_k), k (..., m, d_k), v (..., m, d_v) → ``(output, weights)`` with output (..., n, d_v) and
    weights (..., n, m). ``causal=True`` lets query i attend keys j ≤ i only; it cannot be combined with
    ``mask``. ``scale`` defaults to 1/√d_k.
    """
    q, k, v = _as_array(q, "q"), _as_array(k, "k"), _as_array(v, "v")
    _checks.check_qkv(q.shape, k.shape, v.shape)
    _checks.check_mask_and_causal(mask, causal)
    scale = _checks.resolve_scale(scale, q.shape[-1])
    n, m = q.shape[-2], k.shape[-2]
    scores = _score(q, k, scale)  # (..., n, m)
    if causal:
        mask = causal_mask(n, m)  # (n, m)
    elif mask is not None:
        mask = _as_mask(mask, scores.shape)
    weights = _normalize_inplace(scores, mask)  # (..., n, m)
    return weights @ v, weights  # (..., n, d_v), (..., n, m)


def self_attention(x, w_q, w_k, w_v, *, mask=None, causal=False):
    """Self-attention: queries, keys and values are all computed from the same sequence ``x``.

    x (..., n, d_model); w_q and w_k (d_model, d_k); w_v (d_model, d_v). Returns ``(output, weights)``
    with output (..., n, d_v) and weights (..., n, n).
    """
    x = _as_array(x, "x")
    _checks.check_ndim("x", x.shape)
    for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v)):
        w = np.asarray(w)
        if w.ndim < 2 or w.shape[-2] != x.shape[-1]:
            raise ValueError(
                f"{name} must have shape (d_model, ...) with d_model = x.shape[-1] = {x.shape[-1]}, "
                f"got x {tuple(x.shape)} and {name} {tuple(w.shape)}"
            )
    q = x @ _as_array(w_q, "w_q")  # (..., n, d_model) @ (d_model, d_k) -> (..., n, d_k)
    k = x @ _as_array(w_k, "w_k")  # (..., n, d_k)
    v = x @ _as_array(w_v, "w_v")  # (..., n, d_v)
    return attention(q, k, v, mask=mask, causal=causal)


def softmax(x, axis=-1):
    """The numerically stable softmax along ``axis``: exp(x - max) / sum(exp(x - max))."""
    x = _as_array(x, "x")
    _checks.check_ndim("x", x.shape, minimum=1)
    moved = np.moveaxis(x, axis, -1).copy()  # (..., size of axis)
    return np.moveaxis(_normalize_inplace(moved, None), -1, axis)


def chunked_attention(q, k, v, *, mask=None, causal=False, scale=None, block_size=None):
    """Attention that never builds the (n, m) matrix: keys are processed in blocks (the online softmax).

    Same arguments and result as ``attention(...)[0]`` (the output only; the weights are never stored).
    Queries are taken in stripes and, for each stripe, the keys in blocks of ``block_size`` (default 512),
    so the extra memory is a few stripe × block tiles plus the output: it grows like (n + m)·d, not n·m.
    For each query it keeps a running maximum ``row_max`` and a running sum ``total`` of exp(score - row_max);
    when a new block raises the maximum, everything accumulated so far is rescaled by exp(old_max - new_max).
    """
    q, k, v = _as_array(q, "q"), _as_array(k, "k"), _as_array(v, "v")
    _checks.check_qkv(q.shape, k.shape, v.shape)
    _checks.check_mask_and_causal(mask, causal)
    scale = _checks.resolve_scale(scale, q.shape[-1])
    n, m = q.shape[-2], k.shape[-2]
    batch = _checks.broadcast_batch({"q": q.shape, "k": k.shape, "v": v.shape})
    if mask is not None:
        mask = _as_mask(mask, batch + (n, m))
    if block_size is None:
        block_size = 512
    if isinstance(block_size, bool) or not isinstance(block_size, int | np.integer) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    dtype = np.result_type(q, k, v)
    q = q * scale  # (..., n, d_k), scaled once
    out = np.empty(batch + (n, v.shape[-1]), dtype=dtype)  # (..., n, d_v)
    stripe = max(1, _STRIPE_SCORES // block_size)  # queries per stripe: a stripe × block tile stays small

    def fill(first):
        rows = slice(first, min(first + stripe, n))
        out[..., rows, :] = _online_softmax_stripe(q[..., rows, :], k, v, mask, causal, rows, block_size, dtype)

    stripes = range(0, n, stripe)
    workers = min(_threads(), len(stripes))
    if workers > 1 and n * m >= _PARALLEL_MIN_SCORES:
        # Stripes are independent: each core takes its own, with single-threaded matrix products (NumPy
        # releases the GIL). Much faster on 2+ cores than one stripe at a time with a multi-threaded BLAS,
        # whose idle threads would keep spinning on the cores the exponentials need.
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            list(pool.map(fill, stripes))
    else:
        for first in stripes:
            fill(first)
    return out


_STRIPE_SCORES = 2**19  # scores per tile (2 MiB in float32): small enough for any n, large enough to be fast
_PARALLEL_MIN_SCORES = 2**22  # below this, one thread is as fast


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _online_softmax_stripe(q, k, v, mask, causal, rows, block_size, dtype):
    """The output rows of one stripe of queries, visiting the keys block by block."""
    m = k.shape[-2]
    shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]) + (q.shape[-2],)
    out = np.zeros(shape + (v.shape[-1],), dtype=dtype)  # (..., s, d_v), unnormalized running sum
    row_max = np.full(shape + (1,), -np.inf, dtype=dtype)  # (..., s, 1)
    total = np.zeros(shape + (1,), dtype=dtype)  # (..., s, 1)
    query_index = np.arange(rows.start, rows.stop)[:, None]  # (s, 1), for the causal mask
    for start in range(0, m, block_size):
        keys = slice(start, min(start + block_size, m))
        if causal and keys.start > rows.stop - 1:
            break  # every later key is in the future of every query of this stripe
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            s = q @ np.swapaxes(k[..., keys, :], -1, -2)  # (..., s, b)
        if causal:
            s = np.where(np.arange(keys.start, keys.stop)[None, :] <= query_index, s, -np.inf)
        elif mask is not None:
            s = np.where(mask[..., rows, keys], s, -np.inf)
        block_max = s.max(axis=-1, keepdims=True)  # (..., s, 1)
        if (np.isposinf(block_max) | np.isnan(block_max)).any():
            raise _checks.overflow_error("chunked_attention")
        new_max = np.maximum(row_max, block_max)  # (..., s, 1)
        safe_max = np.where(np.isneginf(new_max), 0.0, new_max)  # rows with nothing allowed yet
        correction = np.exp(row_max - safe_max)  # (..., s, 1), rescales what was summed so far
        s -= safe_max
        p = np.exp(s, out=s)  # (..., s, b)
        total = total * correction + p.sum(axis=-1, keepdims=True)
        out *= correction
        out += p @ v[..., keys, :]  # (..., s, b) @ (..., b, d_v)
        row_max = new_max
    total[total == 0] = 1.0  # fully masked rows stay all zeros
    return out / total  # (..., s, d_v)

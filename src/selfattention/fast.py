"""Fast paths in NumPy: attention without the n × m matrix
(the online softmax, tiled and threaded).

``numpy_backend.attention`` builds the whole (..., n, m) matrix of weights because the
book wants to show it. ``chunked_attention`` computes the same output while visiting
the keys block by block, so its memory grows like (n + m)·d instead of n·m; it is the
algorithm of FlashAttention, in NumPy. ``online_softmax_trace`` follows the same
update for one query with every intermediate number kept, for a reader to check by
hand. The torch counterpart, ``fused_attention``, is in ``torch_fast.py``. The cost
chapter shows this module.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import threadpool_limits

from . import _checks
from .numpy_backend import FloatArray, _checked

__all__ = ["chunked_attention", "online_softmax_trace", "OnlineStep"]


@dataclass(frozen=True)
class OnlineStep:
    """The running state of the online softmax after one block of keys."""

    keys: slice  # which keys this block held
    block_max: float  # the largest score in the block
    row_max: float  # the largest score seen so far
    correction: float  # exp(old row_max - new row_max): how much earlier sums shrink
    total: float  # running sum of exp(score - row_max)
    output: np.ndarray  # running (unnormalized) sum of exp(score - row_max) · value


def online_softmax_trace(
    scores: ArrayLike, values: ArrayLike, block_size: int
) -> list[OnlineStep]:
    """Follow the online softmax for ONE query, block by block, keeping every
    intermediate number.

    ``scores`` (m,) are the query's scores, ``values`` (m, d_v) the value vectors. After
    the last step, ``output / total`` equals ``softmax(scores) @ values``: the same
    update as ``chunked_attention``, spelled out for a reader to follow by hand.
    """
    scores = np.asarray(scores, dtype=float)
    values = np.asarray(values, dtype=float)
    row_max, total, output = -np.inf, 0.0, np.zeros(values.shape[1])
    steps = []
    for start in range(0, len(scores), block_size):
        keys = slice(start, min(start + block_size, len(scores)))
        block = scores[keys]
        new_max = max(row_max, float(block.max()))
        # 0 on the first block: nothing to rescale yet
        correction = float(np.exp(row_max - new_max))
        weights = np.exp(block - new_max)  # (b,): this block's unnormalized weights
        total = total * correction + float(weights.sum())
        # (b,) @ (b, d_v) -> (d_v,)
        output = output * correction + weights @ values[keys]
        row_max = new_max
        steps.append(
            OnlineStep(
                keys, float(block.max()), row_max, correction, total, output.copy()
            )
        )
    return steps


def chunked_attention(
    q: ArrayLike,
    k: ArrayLike,
    v: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    causal: bool = False,
    scale: float | None = None,
    block_size: int | None = None,
) -> FloatArray:
    """Attention that never builds the (n, m) matrix: keys are processed in blocks
    (the online softmax).

    Same arguments and result as ``attention(...)[0]`` (the output (..., n, d_v) only;
    the weights are never stored). Queries are taken in stripes and, for each stripe,
    the keys in blocks of ``block_size`` (default 512), so the extra memory is a few
    stripe × block tiles plus the output: it grows like (n + m)·d, not n·m. For each
    query it keeps a running maximum ``row_max`` and a running sum ``total`` of
    exp(score - row_max); when a new block raises the maximum, everything accumulated so
    far is rescaled by exp(old_max - new_max).
    """
    q, k, v, mask, causal, scale = _checked(
        q=q, k=k, v=v, mask=mask, causal=causal, scale=scale
    )
    block_size = (
        512
        if block_size is None
        else _checks.check_count("block_size", block_size, minimum=1)
    )
    n = q.shape[-2]
    batch = _checks.broadcast_batch({"q": q.shape, "k": k.shape, "v": v.shape})
    dtype = np.result_type(q, k, v)
    q = q * scale  # (..., n, d_k), scaled once
    out = np.empty(batch + (n, v.shape[-1]), dtype=dtype)  # (..., n, d_v)
    # queries per stripe: a stripe × block tile stays small
    stripe = max(1, _STRIPE_SCORES // block_size)

    def fill(first: int) -> None:
        rows = slice(first, min(first + stripe, n))
        out[..., rows, :] = _online_softmax_stripe(
            q[..., rows, :], k, v, mask, causal, rows, block_size, dtype
        )

    stripes = range(0, n, stripe)
    workers = min(_threads(), len(stripes))
    if workers > 1 and n * k.shape[-2] >= _PARALLEL_MIN_SCORES:
        # Stripes are independent: each core takes its own, with single-threaded matrix
        # products (NumPy releases the GIL). Much faster on 2+ cores than one stripe at
        # a time with a multi-threaded BLAS, whose idle threads would keep spinning on
        # the cores the exponentials need.
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            list(pool.map(fill, stripes))
    else:
        for first in stripes:
            fill(first)
    return out


# scores per tile (2 MiB in float32): small enough for any n, large enough to be fast
_STRIPE_SCORES = 2**19
_PARALLEL_MIN_SCORES = 2**22  # below this, one thread is as fast


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _online_softmax_stripe(
    q: FloatArray,
    k: FloatArray,
    v: FloatArray,
    mask: NDArray[np.bool_] | None,
    causal: bool,
    rows: slice,
    block_size: int,
    dtype: np.dtype,
) -> FloatArray:
    """The output rows (..., s, d_v) of one stripe of s queries,
    visiting the keys block by block.
    """
    m = k.shape[-2]
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    shape = batch + (q.shape[-2],)  # (..., s)
    # (..., s, d_v), unnormalized running sum
    out = np.zeros(shape + (v.shape[-1],), dtype=dtype)
    row_max = np.full(shape + (1,), -np.inf, dtype=dtype)  # (..., s, 1)
    total = np.zeros(shape + (1,), dtype=dtype)  # (..., s, 1)
    # (s, 1), for the causal mask
    query_index = np.arange(rows.start, rows.stop)[:, None]
    for start in range(0, m, block_size):
        keys = slice(start, min(start + block_size, m))
        if causal and keys.start > rows.stop - 1:
            break  # every later key is in the future of every query of this stripe
        # (..., s, d_k) @ (..., d_k, b) -> (..., s, b)
        s = q @ np.swapaxes(k[..., keys, :], -1, -2)
        if causal:
            # (..., s, b)
            s = np.where(
                np.arange(keys.start, keys.stop)[None, :] <= query_index, s, -np.inf
            )
        elif mask is not None:
            s = np.where(mask[..., rows, keys], s, -np.inf)  # (..., s, b)
        new_max = np.maximum(row_max, s.max(axis=-1, keepdims=True))  # (..., s, 1)
        # rows with nothing allowed yet
        safe_max = np.where(np.isneginf(new_max), 0.0, new_max)
        # (..., s, 1), rescales what was summed so far
        correction = np.exp(row_max - safe_max)
        s -= safe_max
        p = np.exp(s, out=s)  # (..., s, b)
        total = total * correction + p.sum(axis=-1, keepdims=True)
        out *= correction
        out += p @ v[..., keys, :]  # (..., s, b) @ (..., b, d_v) -> (..., s, d_v)
        row_max = new_max
    total[total == 0] = 1.0  # fully masked rows stay all zeros
    return out / total  # (..., s, d_v)

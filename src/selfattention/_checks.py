"""Shape and argument checks shared by the NumPy and the torch backend.

They work on shapes (tuples) and plain Python values only, so both backends raise exactly the same errors
with exactly the same messages. Every message names the shapes involved: a reader who passes the wrong
thing should see at once which array is wrong and how.
"""

from __future__ import annotations

import math
import numbers


def _fmt(shape) -> str:
    return str(tuple(int(s) for s in shape))


def check_ndim(name: str, shape, minimum: int = 2) -> None:
    """Raise ValueError when an array has fewer than ``minimum`` dimensions."""
    if len(shape) < minimum:
        raise ValueError(
            f"{name} must have at least {minimum} dimensions (..., tokens, features), "
            f"got shape {_fmt(shape)}; for a single vector use {name}[None, :]"
        )


def broadcast_batch(named_shapes: dict[str, tuple]) -> tuple:
    """Broadcast the leading (batch) dimensions, everything but the last two, of several arrays.

    Follows NumPy's and torch's broadcasting rules; raises ValueError naming every shape when they clash.
    """
    batches = [tuple(shape[:-2]) for shape in named_shapes.values()]
    result = []
    for i in range(1, max(map(len, batches), default=0) + 1):  # aligned from the right
        sizes = {b[-i] for b in batches if len(b) >= i} - {1}
        if len(sizes) > 1:
            listing = ", ".join(f"{k} {_fmt(s)}" for k, s in named_shapes.items())
            raise ValueError(f"batch dimensions do not broadcast: {listing}")
        result.append(sizes.pop() if sizes else 1)
    return tuple(reversed(result))


def check_qk(q_shape, k_shape) -> None:
    """q (..., n, d_k) and k (..., m, d_k) must share d_k and have broadcastable batch dimensions."""
    check_ndim("q", q_shape)
    check_ndim("k", k_shape)
    if k_shape[-2] == 0:
        raise ValueError(f"k must hold at least one token to attend to, got k {_fmt(k_shape)}")
    if q_shape[-1] != k_shape[-1]:
        raise ValueError(f"q and k must have the same last dimension d_k, got q {_fmt(q_shape)} and k {_fmt(k_shape)}")
    broadcast_batch({"q": q_shape, "k": k_shape})


def check_weights_v(w_shape, v_shape, w_name: str = "weights") -> None:
    """weights (..., n, m) and v (..., m, d_v): one weight per value vector."""
    check_ndim(w_name, w_shape)
    check_ndim("v", v_shape)
    if w_shape[-1] != v_shape[-2]:
        raise ValueError(
            f"{w_name} has {w_shape[-1]} columns but v has {v_shape[-2]} rows (one per key); "
            f"got {w_name} {_fmt(w_shape)} and v {_fmt(v_shape)}"
        )
    broadcast_batch({w_name: w_shape, "v": v_shape})


def check_qkv(q_shape, k_shape, v_shape) -> None:
    """All the shape rules of attention(q, k, v)."""
    check_qk(q_shape, k_shape)
    check_ndim("v", v_shape)
    if k_shape[-2] != v_shape[-2]:
        raise ValueError(f"k and v must have the same number of tokens m, got k {_fmt(k_shape)} and v {_fmt(v_shape)}")
    broadcast_batch({"q": q_shape, "k": k_shape, "v": v_shape})


def check_mask(mask_shape, scores_shape) -> None:
    """The mask must broadcast to the scores' shape (..., n, m) without enlarging it."""
    n = max(len(mask_shape), len(scores_shape))
    a = (1,) * (n - len(mask_shape)) + tuple(mask_shape)
    b = (1,) * (n - len(scores_shape)) + tuple(scores_shape)
    if len(mask_shape) > len(scores_shape) or any(x != y and x != 1 for x, y in zip(a, b, strict=True)):
        raise ValueError(
            f"mask of shape {_fmt(mask_shape)} does not broadcast to the scores' shape {_fmt(scores_shape)} "
            "(..., n queries, m keys)"
        )


def check_mask_and_causal(mask, causal: bool) -> None:
    if mask is not None and causal:
        raise ValueError("pass either mask or causal=True, not both (build one combined mask instead)")


def resolve_scale(scale, d_k: int) -> float:
    """The factor the scores are multiplied by: 1/sqrt(d_k) unless the caller gives one."""
    if scale is None:
        return 1.0 / math.sqrt(d_k)  # math.sqrt, not np.sqrt: keeps float32 inputs float32
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise ValueError(f"scale must be a real number or None, got {scale!r} of type {type(scale).__name__}")
    scale = float(scale)
    if not math.isfinite(scale):
        raise ValueError(f"scale must be finite, got {scale}")
    return scale


def overflow_error(where: str) -> ValueError:
    return ValueError(
        f"the scores overflowed to infinity in {where}: the inputs or the scale are too large for this "
        "dtype; use a smaller scale or a wider dtype (float64)"
    )

"""Scaled dot-product attention in PyTorch, in three steps: score → normalize → blend.

    attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V

Shapes (the same names everywhere in this package): q (..., n, d_k), k (..., m, d_k), v (..., m, d_v);
``...`` are batch dimensions, broadcast like ``torch.nn.functional.scaled_dot_product_attention``.

This module mirrors ``numpy_backend.py`` function by function. Tensors may live on any device (CPU, CUDA,
MPS); results stay on the device of the inputs, and nothing is ever moved between devices behind your back.
Gradients flow through every function (no in-place tricks on tensors autograd needs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import _checks

__all__ = [
    "score",
    "normalize",
    "blend",
    "attention",
    "self_attention",
    "softmax",
    "causal_mask",
    "fused_attention",
    "default_device",
]

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def default_device() -> torch.device:
    """The fastest device here: CUDA if present, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _as_tensor(x, name: str) -> torch.Tensor:
    """Check that ``x`` is a finite floating-point tensor, or explain why it cannot be used."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}; use torch.as_tensor({name})")
    if x.dtype not in _FLOATS:
        raise TypeError(
            f"{name} must be a floating-point tensor (float16, bfloat16, float32 or float64), got {x.dtype}; "
            f"use {name}.float()"
        )
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf (shape {tuple(x.shape)}); attention needs finite inputs")
    return x


def _same_device_and_dtype(**tensors: torch.Tensor) -> list[torch.Tensor]:
    """Promote to one common dtype (like NumPy does); refuse tensors on different devices."""
    devices = {t.device for t in tensors.values()}
    if len(devices) > 1:
        listing = ", ".join(f"{k} on {t.device}" for k, t in tensors.items())
        raise ValueError(f"all inputs must be on the same device, got {listing}; move them with .to(device)")
    dtype = tensors[next(iter(tensors))].dtype
    for t in tensors.values():
        dtype = torch.promote_types(dtype, t.dtype)
    return [t.to(dtype) for t in tensors.values()]


def _as_mask(mask, scores_shape, device) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a boolean torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}")
    if mask.device != device:
        raise ValueError(f"mask is on {mask.device} but the scores are on {device}; move it with .to(device)")
    _checks.check_mask(mask.shape, scores_shape)
    return mask


def causal_mask(n: int, m: int | None = None, *, device=None) -> torch.Tensor:
    """Boolean (n, m) mask where query i may attend key j only if j ≤ i (aligned at the upper left)."""
    m = n if m is None else m
    return torch.ones((n, m), dtype=torch.bool, device=device).tril()  # (n, m)


def score(q, k, *, scale=None):
    """Step 1: how well each query matches each key.

    Returns ``q @ kᵀ * scale`` of shape (..., n, m); ``scale`` defaults to 1/√d_k with d_k = q.shape[-1].
    """
    q, k = _same_device_and_dtype(q=_as_tensor(q, "q"), k=_as_tensor(k, "k"))
    _checks.check_qk(q.shape, k.shape)
    return _score(q, k, _checks.resolve_scale(scale, q.shape[-1]))


def _score(q, k, scale: float):
    # Scaling q (n·d_k numbers) is cheaper than scaling the scores (n·m numbers); the result is the same.
    return (q * scale) @ k.transpose(-1, -2)  # (..., n, d_k) @ (..., d_k, m) -> (..., n, m)


def normalize(scores, *, mask=None):
    """Step 2: turn each row of scores into weights that are ≥ 0 and sum to 1 (a softmax over the last axis).

    ``mask`` is boolean and broadcasts to ``scores``; True means "may attend". Masked positions get weight 0;
    a row where nothing may be attended gets all-zero weights (never NaN).
    """
    scores = _as_tensor(scores, "scores")
    _checks.check_ndim("scores", scores.shape, minimum=1)
    mask = None if mask is None else _as_mask(mask, scores.shape, scores.device)
    return _check_finite(_normalize(scores, mask), "normalize")


def _normalize(scores, mask):
    """The stable softmax of ``normalize``, without the input checks.

    NumPy's version spells out the steps; PyTorch has them built in: ``torch.softmax`` subtracts the row
    maximum itself and does the rest in one fused pass over the scores. Scores that overflowed to inf make
    NaN weights here; the callers check for that on the (much smaller) result.
    """
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))  # (..., n, m); masked keys can never win
    weights = torch.softmax(scores, dim=-1)  # (..., n, m): exp(s - max) / sum(exp(s - max))
    if mask is not None:
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)  # fully masked row: zeros, not NaN
    return weights


def _check_finite(result, where):
    """The inputs were finite, so a NaN or inf in the result means the scores overflowed."""
    if not bool(torch.isfinite(result).all()):
        raise _checks.overflow_error(where)
    return result


def blend(weights, v):
    """Step 3: each output row is a weighted average of the value vectors.

    Returns ``weights @ v`` of shape (..., n, d_v).
    """
    weights, v = _same_device_and_dtype(weights=_as_tensor(weights, "weights"), v=_as_tensor(v, "v"))
    _checks.check_weights_v(weights.shape, v.shape)
    return weights @ v  # (..., n, m) @ (..., m, d_v) -> (..., n, d_v)


def attention(q, k, v, *, mask=None, causal=False, scale=None):
    """Scaled dot-product attention: ``blend(normalize(score(q, k), mask), v)``.

    q (..., n, d_k), k (..., m, d_k), v (..., m, d_v) → ``(output, weights)`` with output (..., n, d_v) and
    weights (..., n, m). ``causal=True`` lets query i attend keys j ≤ i only; it cannot be combined with
    ``mask``. ``scale`` defaults to 1/√d_k.
    """
    q, k, v = _same_device_and_dtype(q=_as_tensor(q, "q"), k=_as_tensor(k, "k"), v=_as_tensor(v, "v"))
    _checks.check_qkv(q.shape, k.shape, v.shape)
    _checks.check_mask_and_causal(mask, causal)
    scale = _checks.resolve_scale(scale, q.shape[-1])
    n, m = q.shape[-2], k.shape[-2]
    scores = _score(q, k, scale)  # (..., n, m)
    if causal:
        mask = causal_mask(n, m, device=q.device)  # (n, m)
    elif mask is not None:
        mask = _as_mask(mask, scores.shape, q.device)
    weights = _normalize(scores, mask)  # (..., n, m)
    out = _check_finite(weights @ v, "attention")  # (..., n, d_v)
    return out, weights


def self_attention(x, w_q, w_k, w_v, *, mask=None, causal=False):
    """Self-attention: queries, keys and values are all computed from the same sequence ``x``.

    x (..., n, d_model); w_q and w_k (d_model, d_k); w_v (d_model, d_v). Returns ``(output, weights)``
    with output (..., n, d_v) and weights (..., n, n).
    """
    x = _as_tensor(x, "x")
    _checks.check_ndim("x", x.shape)
    ws = {name: _as_tensor(w, name) for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v))}
    for name, w in ws.items():
        if w.ndim < 2 or w.shape[-2] != x.shape[-1]:
            raise ValueError(
                f"{name} must have shape (d_model, ...) with d_model = x.shape[-1] = {x.shape[-1]}, "
                f"got x {tuple(x.shape)} and {name} {tuple(w.shape)}"
            )
    x, w_q, w_k, w_v = _same_device_and_dtype(x=x, **ws)
    q = x @ w_q  # (..., n, d_model) @ (d_model, d_k) -> (..., n, d_k)
    k = x @ w_k  # (..., n, d_k)
    v = x @ w_v  # (..., n, d_v)
    return attention(q, k, v, mask=mask, causal=causal)


def softmax(x, axis=-1):
    """The numerically stable softmax along ``axis``: exp(x - max) / sum(exp(x - max))."""
    x = _as_tensor(x, "x")
    _checks.check_ndim("x", x.shape, minimum=1)
    moved = x.movedim(axis, -1)  # (..., size of axis)
    return _check_finite(_normalize(moved, None), "softmax").movedim(-1, axis)


def fused_attention(q, k, v, *, mask=None, causal=False, scale=None):
    """Attention through PyTorch's fused kernel; same arguments as ``attention``, returns the output only.

    ``torch.nn.functional.scaled_dot_product_attention`` picks its fastest kernel (FlashAttention on CUDA, a
    blocked kernel on the CPU) only for 4-D input (batch, heads, tokens, features), so the inputs are
    broadcast and reshaped to 4-D first and the output is reshaped back.
    """
    q, k, v = _same_device_and_dtype(q=_as_tensor(q, "q"), k=_as_tensor(k, "k"), v=_as_tensor(v, "v"))
    _checks.check_qkv(q.shape, k.shape, v.shape)
    _checks.check_mask_and_causal(mask, causal)
    scale = _checks.resolve_scale(scale, q.shape[-1])
    batch = _checks.broadcast_batch({"q": q.shape, "k": k.shape, "v": v.shape})
    n, m = q.shape[-2], k.shape[-2]

    def to_4d(t, rows, cols):  # (..., rows, cols) -> (batch, 1, rows, cols)
        return t.expand(batch + (rows, cols)).reshape(-1, 1, rows, cols)

    if mask is not None:
        mask = to_4d(_as_mask(mask, batch + (n, m), q.device), n, m)  # (B, 1, n, m)
    out = F.scaled_dot_product_attention(
        to_4d(q, n, q.shape[-1]),  # (B, 1, n, d_k)
        to_4d(k, m, k.shape[-1]),  # (B, 1, m, d_k)
        to_4d(v, m, v.shape[-1]),  # (B, 1, m, d_v)
        attn_mask=mask,
        is_causal=causal,
        scale=scale,
    )  # (B, 1, n, d_v)
    return _check_finite(out.reshape(batch + (n, v.shape[-1])), "fused_attention")  # (..., n, d_v)

"""Scaled dot-product attention in PyTorch, in three steps: score → normalize → blend.

    attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V

Shapes (the same names everywhere in this package): q (..., n, d_k), k (..., m, d_k),
v (..., m, d_v); ``...`` are batch dimensions, broadcast like
``torch.nn.functional.scaled_dot_product_attention``.

This module mirrors ``numpy_backend.py`` function by function, line by line. Tensors may
live on any device (CPU, CUDA, MPS); results stay on the device of the inputs, and
nothing is ever moved between devices behind your back. Gradients flow through every
function (no in-place changes to tensors autograd needs). Every public function checks
its arguments once, on its first line (``_checked``, with the rules and messages of
``_checks``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import _checks

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
    "default_device",
]


def score(q: Tensor, k: Tensor, *, scale: float | None = None) -> Tensor:
    """Step 1: how well each query matches each key.

    q (..., n, d_k) and k (..., m, d_k) → scores (..., n, m) = q @ kᵀ · scale;
    ``scale`` defaults to 1/√d_k.
    """
    q, k, scale = _checked(q=q, k=k, scale=scale)
    # (..., n, d_k) @ (..., d_k, m) -> (..., n, m)
    return (q * scale) @ k.transpose(-1, -2)


def normalize(
    scores: Tensor,
    *,
    mask: Tensor | None = None,
    check_finite: bool = True,
) -> Tensor:
    """Step 2: turn each row of scores into weights that are ≥ 0 and sum to 1
    (a softmax over the last axis).

    scores (..., n, m) → weights (..., n, m). ``mask`` is boolean and broadcasts to
    ``scores``; True means "may attend". Masked positions get weight 0; a row where
    nothing may be attended gets all-zero weights (never NaN).
    ``check_finite=False`` skips the scan of ``scores`` for NaN and inf.
    """
    scores, mask = _checked(scores=scores, mask=mask, check_finite=check_finite)
    if mask is not None:
        # (..., n, m): a masked key's weight will be exp(-inf) = 0
        scores = torch.where(mask, scores, -torch.inf)
    row_max = torch.amax(scores, dim=-1, keepdim=True)  # (..., n, 1)
    # a fully masked row: avoid -inf - (-inf) = NaN
    row_max = torch.where(torch.isneginf(row_max), 0.0, row_max)
    # (..., n, m): every entry is ≤ 0 now
    weights = scores - row_max
    # (..., n, m): exp of a number ≤ 0 cannot overflow
    weights = torch.exp(weights)
    # (..., n, 1): ≥ 1, or 0 for a fully masked row
    total = torch.sum(weights, dim=-1, keepdim=True)
    # (..., n, m): fully masked rows stay 0
    return weights / torch.where(total == 0, 1.0, total)


def blend(weights: Tensor, v: Tensor, *, check_finite: bool = True) -> Tensor:
    """Step 3: each output row is a weighted average of the value vectors.

    weights (..., n, m) and v (..., m, d_v) → output (..., n, d_v) = weights @ v.
    ``check_finite=False`` skips the scan of ``weights`` and ``v`` for NaN and inf.
    """
    weights, v = _checked(weights=weights, v=v, check_finite=check_finite)
    return weights @ v  # (..., n, m) @ (..., m, d_v) -> (..., n, d_v)


def attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    mask: Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> tuple[Tensor, Tensor]:
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
        mask = causal_mask(q.shape[-2], k.shape[-2], device=q.device)  # (n, m)
    scores = score(q, k, scale=scale)  # (..., n, m)
    # (..., n, m), a new tensor: autograd keeps what it needs
    weights = normalize(scores, mask=mask, check_finite=False)
    # (..., n, d_v) and (..., n, m)
    return blend(weights, v, check_finite=False), weights


def causal_mask(
    n: int, m: int | None = None, *, device: torch.device | str | None = None
) -> Tensor:
    """Boolean (n, m) mask where query i may attend key j only if j ≤ i
    (aligned at the upper left).
    """
    m = n if m is None else m
    return torch.tril(torch.ones((n, m), dtype=torch.bool, device=device))  # (n, m)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """The numerically stable softmax along ``axis``: exp(x - max) / sum(exp(x - max)),
    as in ``normalize``.
    """
    x, axis = _checked(x=x, axis=axis)
    # normalize works on the last axis; x is checked already
    weights = normalize(torch.movedim(x, axis, -1), check_finite=False)
    return torch.movedim(weights, -1, axis)


def self_attention(
    x: Tensor,
    w_q: Tensor,
    w_k: Tensor,
    w_v: Tensor,
    *,
    mask: Tensor | None = None,
    causal: bool = False,
) -> tuple[Tensor, Tensor]:
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
    x: Tensor,
    w_q: Tensor,
    w_k: Tensor,
    w_v: Tensor,
    w_o: Tensor,
    *,
    num_heads: int,
    mask: Tensor | None = None,
    causal: bool = False,
) -> tuple[Tensor, Tensor]:
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

    def split(t: Tensor) -> Tensor:
        # (..., n, d_model) -> (..., n, num_heads, d_head)
        #                   -> (..., num_heads, n, d_head)
        return torch.transpose(t.reshape(t.shape[:-1] + (num_heads, d_head)), -3, -2)

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
    concat = torch.transpose(heads, -3, -2).reshape(x.shape)
    # (..., n, d_model) @ (d_model, d_model) -> (..., n, d_model)
    return concat @ w_o, weights


def sinusoidal_positions(
    n: int,
    d_model: int,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """The original transformer's position vectors, one row per position:
    an (n, d_model) tensor.

    PE[p, 2i] = sin(p / 10000^(2i / d_model)) and
    PE[p, 2i + 1] = cos(p / 10000^(2i / d_model)); d_model is even.
    Computed in float64, returned in ``dtype`` (default: torch's default dtype) on
    ``device`` (default: the CPU).
    """
    n, d_model = _checked(n=n, d_model=d_model)
    position = torch.arange(n, dtype=torch.float64)[:, None]  # (n, 1)
    # (n, d_model / 2)
    angle = position / 10000.0 ** (
        torch.arange(0, d_model, 2, dtype=torch.float64) / d_model
    )
    # (n, d_model / 2, 2)
    pairs = torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)
    # (n, d_model)
    return pairs.reshape(n, d_model).to(
        device=device, dtype=dtype or torch.get_default_dtype()
    )


def rotary(x: Tensor, *, base: float = 10000.0) -> Tensor:
    """Rotary position embedding (RoFormer): rotate each pair of features by an angle
    that grows with the position.

    x (..., n, d) with d even → the same shape: the pair
    (x[..., p, 2i], x[..., p, 2i + 1]) is rotated by the angle p · base^(-2i / d).
    Rotate the queries and the keys this way and their scores depend on the positions
    only through the distance between them.
    """
    x, base = _checked(x=x, base=base)
    n, d = x.shape[-2:]
    position = torch.arange(n, dtype=torch.float64)[:, None]  # (n, 1)
    # (n, 1) * (d / 2,) -> (n, d / 2)
    angle = position * base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    # (n, d / 2) each, with x's dtype and device
    cos, sin = torch.cos(angle).to(x), torch.sin(angle).to(x)
    # (..., n, d / 2) each: the two coordinates of every pair
    even, odd = x[..., 0::2], x[..., 1::2]
    # (..., n, d / 2, 2)
    rotated = torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)
    return rotated.reshape(x.shape)  # (..., n, d): the pairs side by side again


def default_device() -> torch.device:
    """The fastest device here: CUDA if present, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if (
        getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available()
    ):
        return torch.device("mps")
    return torch.device("cpu")


# --- Checking the arguments, once, at the boundary ------------------------------------

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _checked(*, check_finite: bool = True, **args: Any) -> tuple[Any, ...]:
    """The arguments of a public function, checked and converted, in the order given.

    Called with the function's own argument names, e.g.
    ``_checked(q=q, k=k, scale=scale)``. Tensors must be floating-point tensors on one
    device, scanned for NaN and inf unless the caller passes ``check_finite=False``;
    they are promoted to one common dtype (as NumPy does); ``mask`` must be a boolean
    tensor on the same device that broadcasts to the scores; ``scale`` becomes a float
    (1/√d_k when None). The rules, their order and their messages are
    ``_checks.checked``'s, shared with the NumPy backend; this module only says how
    torch checks and scans (``_TorchRules``).
    """
    return _checks.checked(_RULES, args, check_finite=check_finite)


class _TorchRules(_checks.Rules[Tensor]):
    def as_array(self, value: Any, name: str) -> Tensor:
        """Check that ``value`` is a floating-point tensor, or explain why it cannot
        be used.
        """
        if not isinstance(value, Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor, got {type(value).__name__}; "
                f"use torch.as_tensor({name})"
            )
        if value.dtype not in _FLOATS:
            raise TypeError(
                f"{name} must be a floating-point tensor (float16, bfloat16, "
                f"float32 or float64), got {value.dtype}; "
                f"use {name}.float()"
            )
        return value

    def all_finite(self, a: Tensor) -> bool:
        # One fast pass without a temporary tensor: a finite sum means every entry is
        # finite (an inf or a NaN would make it inf or NaN). Only when the sum is not
        # finite (it may just have overflowed) look at every entry. (NumPy's version
        # sums squares instead: np.vdot is faster there than np.sum; torch.sum is the
        # fastest here.)
        a = a.detach()
        return bool(torch.isfinite(torch.sum(a))) or bool(torch.isfinite(a).all())

    def same_device_and_dtype(self, arrays: dict[str, Tensor]) -> dict[str, Tensor]:
        """Promote to one common dtype (like NumPy does); refuse tensors on different
        devices.
        """
        devices = {t.device for t in arrays.values()}
        if len(devices) > 1:
            listing = ", ".join(f"{k} on {t.device}" for k, t in arrays.items())
            raise ValueError(
                f"all inputs must be on the same device, got {listing}; "
                "move them with .to(device)"
            )
        if not arrays:
            return arrays
        dtype = next(iter(arrays.values())).dtype
        for t in arrays.values():
            dtype = torch.promote_types(dtype, t.dtype)
        return {name: t.to(dtype) for name, t in arrays.items()}

    def as_mask(self, mask: Any, scores_shape: _checks.Shape, like: Tensor) -> Tensor:
        if not isinstance(mask, Tensor):
            raise TypeError(
                f"mask must be a boolean torch.Tensor, got {type(mask).__name__}"
            )
        if mask.dtype != torch.bool:
            raise TypeError(
                f"mask must be boolean (True = may attend), got dtype {mask.dtype}"
            )
        if mask.device != like.device:
            raise ValueError(
                f"mask is on {mask.device} but the scores are on {like.device}; "
                "move it with .to(device)"
            )
        _checks.check_mask(mask.shape, scores_shape)
        return mask

    def limits(self, q: Tensor, k: Tensor) -> tuple[float, float, object]:
        info = torch.finfo(q.dtype)  # q and k have one dtype by now
        return info.max, info.eps, q.dtype

    def largest_magnitude(self, a: Tensor) -> float:
        return float(torch.amax(torch.abs(a.detach()))) if a.numel() else 0.0

    def scores_finite(self, q: Tensor, k: Tensor, scale: float) -> bool:
        with torch.no_grad():
            return bool(torch.isfinite((q * scale) @ k.transpose(-1, -2)).all())


_RULES = _TorchRules()

"""Scaled dot-product attention in PyTorch, in three steps: score → normalize → blend.

    attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V

Shapes (the same names everywhere in this package): q (..., n, d_k), k (..., m, d_k),
v (..., m, d_v); ``...`` are batch dimensions, broadcast like
``torch.nn.functional.scaled_dot_product_attention``.

This module mirrors ``numpy_backend.py`` function by function, line by line. Tensors may
live on any device (CPU, CUDA, MPS); results stay on the device of the inputs, and
nothing is ever moved between devices behind your back. Gradients flow through every
function (no in-place changes to tensors autograd needs).
"""

from __future__ import annotations

import sys

import torch

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


def score(q, k, *, scale=None):
    """Step 1: how well each query matches each key.

    q (..., n, d_k) and k (..., m, d_k) → scores (..., n, m) = q @ kᵀ · scale;
    ``scale`` defaults to 1/√d_k.
    """
    q, k, scale = _checked(q=q, k=k, scale=scale)
    # (..., n, d_k) @ (..., d_k, m) -> (..., n, m)
    return (q * scale) @ k.transpose(-1, -2)


def normalize(scores, *, mask=None):
    """Step 2: turn each row of scores into weights that are ≥ 0 and sum to 1
    (a softmax over the last axis).

    scores (..., n, m) → weights (..., n, m). ``mask`` is boolean and broadcasts to
    ``scores``; True means "may attend". Masked positions get weight 0; a row where
    nothing may be attended gets all-zero weights (never NaN).
    """
    scores, mask = _checked(scores=scores, mask=mask)
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


def blend(weights, v):
    """Step 3: each output row is a weighted average of the value vectors.

    weights (..., n, m) and v (..., m, d_v) → output (..., n, d_v) = weights @ v.
    """
    weights, v = _checked(weights=weights, v=v)
    return weights @ v  # (..., n, m) @ (..., m, d_v) -> (..., n, d_v)


def attention(q, k, v, *, mask=None, causal=False, scale=None):
    """Scaled dot-product attention: the three steps,
    ``blend(normalize(score(q, k), mask=mask), v)``.

    q (..., n, d_k), k (..., m, d_k), v (..., m, d_v) → ``(output, weights)`` with
    output (..., n, d_v) and weights (..., n, m). ``causal=True`` lets query i attend
    keys j ≤ i only; it cannot be combined with ``mask``. ``scale`` defaults to 1/√d_k.
    """
    q, k, v, mask, causal, scale = _checked(
        q=q, k=k, v=v, mask=mask, causal=causal, scale=scale
    )
    if causal:
        mask = causal_mask(q.shape[-2], k.shape[-2], device=q.device)  # (n, m)
    scores = score(q, k, scale=scale)  # (..., n, m)
    # (..., n, m), a new tensor: autograd keeps what it needs
    weights = normalize(scores, mask=mask)
    return blend(weights, v), weights  # (..., n, d_v) and (..., n, m)


def causal_mask(n: int, m: int | None = None, *, device=None) -> torch.Tensor:
    """Boolean (n, m) mask where query i may attend key j only if j ≤ i
    (aligned at the upper left).
    """
    m = n if m is None else m
    return torch.tril(torch.ones((n, m), dtype=torch.bool, device=device))  # (n, m)


def softmax(x, axis=-1):
    """The numerically stable softmax along ``axis``: exp(x - max) / sum(exp(x - max)),
    as in ``normalize``.
    """
    x, axis = _checked(x=x, axis=axis)
    # normalize works on the last axis
    return torch.movedim(normalize(torch.movedim(x, axis, -1)), -1, axis)


def self_attention(x, w_q, w_k, w_v, *, mask=None, causal=False):
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
    x, w_q, w_k, w_v, w_o, *, num_heads, mask=None, causal=False
):
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

    def split(t):
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


def sinusoidal_positions(n, d_model, *, dtype=None, device=None):
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


def rotary(x, *, base=10000.0):
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

_ARRAYS = ("q", "k", "v", "scores", "weights", "x", "w_q", "w_k", "w_v", "w_o")
_COMPUTED_HERE = ("scores", "weights")  # what attention hands to normalize and blend
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _checked(**args):
    """The arguments of a public function, checked and converted, in the order given.

    Called with the function's own argument names, e.g.
    ``_checked(q=q, k=k, scale=scale)``. Tensors must be finite floating-point tensors
    on one device; they are promoted to one common dtype (as NumPy does); ``mask`` must
    be a boolean tensor on the same device that broadcasts to the scores; ``scale``
    becomes a float (1/√d_k when None). Which shape rules apply follows from the names
    (``_checks.check_arguments``, shared with the NumPy backend, with the same
    messages). When q and k are given, their scores are also checked to fit the dtype
    (an overflow raises here, before any math).

    Scores and weights that one function of this module hands to another (attention →
    normalize → blend) were computed here from checked inputs, and are finite: they are
    not scanned for NaN and inf a second time (that would cost a pass over the whole
    (..., n, m) matrix, and on a GPU a wait for the result).
    """
    # the public function was called by this module
    from_here = sys._getframe(2).f_globals is globals()
    arrays = _same_device_and_dtype(
        {
            name: _as_tensor(
                value, name, scan=not (from_here and name in _COMPUTED_HERE)
            )
            for name, value in args.items()
            if name in _ARRAYS
        }
    )
    others = {name: value for name, value in args.items() if name not in _ARRAYS}
    values = _checks.check_arguments(
        {name: a.shape for name, a in arrays.items()}, others
    )
    if values.get("mask") is not None:
        values["mask"] = _as_mask(
            values["mask"], values["mask_shape"], next(iter(arrays.values())).device
        )
    if "q" in arrays:
        _check_scores_fit(arrays["q"], arrays["k"], values["scale"])
    return tuple(arrays[name] if name in arrays else values[name] for name in args)


def _as_tensor(x, name: str, scan: bool = True) -> torch.Tensor:
    """Check that ``x`` is a finite floating-point tensor, or explain why it cannot be
    used.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(x).__name__}; "
            f"use torch.as_tensor({name})"
        )
    if x.dtype not in _FLOATS:
        raise TypeError(
            f"{name} must be a floating-point tensor (float16, bfloat16, "
            f"float32 or float64), got {x.dtype}; "
            f"use {name}.float()"
        )
    if scan and not _all_finite(x):
        raise ValueError(
            f"{name} contains NaN or inf (shape {tuple(x.shape)}); "
            "attention needs finite inputs"
        )
    return x


def _all_finite(x: torch.Tensor) -> bool:
    # One fast pass without a temporary tensor: a finite sum means every entry is finite
    # (an inf or a NaN would make it inf or NaN). Only when the sum is not finite
    # (it may just have overflowed) look at every entry. (NumPy's version sums squares
    # instead: np.vdot is faster there than np.sum; torch.sum is the fastest here.)
    x = x.detach()
    return bool(torch.isfinite(torch.sum(x))) or bool(torch.isfinite(x).all())


def _same_device_and_dtype(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Promote to one common dtype (like NumPy does); refuse tensors on different
    devices.
    """
    devices = {t.device for t in tensors.values()}
    if len(devices) > 1:
        listing = ", ".join(f"{k} on {t.device}" for k, t in tensors.items())
        raise ValueError(
            f"all inputs must be on the same device, got {listing}; "
            "move them with .to(device)"
        )
    dtype = next(iter(tensors.values())).dtype if tensors else None
    for t in tensors.values():
        dtype = torch.promote_types(dtype, t.dtype)
    return {name: t.to(dtype) for name, t in tensors.items()}


def _as_mask(mask, scores_shape, device) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor):
        raise TypeError(
            f"mask must be a boolean torch.Tensor, got {type(mask).__name__}"
        )
    if mask.dtype != torch.bool:
        raise TypeError(
            f"mask must be boolean (True = may attend), got dtype {mask.dtype}"
        )
    if mask.device != device:
        raise ValueError(
            f"mask is on {mask.device} but the scores are on {device}; "
            "move it with .to(device)"
        )
    _checks.check_mask(mask.shape, scores_shape)
    return mask


def _check_scores_fit(q, k, scale: float) -> None:
    """Raise the overflow error when (q · scale) @ kᵀ does not fit the dtype (it never
    does for sane inputs).
    """
    info = torch.finfo(q.dtype)
    q_max, k_max = (
        float(torch.amax(torch.abs(a.detach()))) if a.numel() else 0.0 for a in (q, k)
    )
    if _checks.scores_cannot_overflow(
        q_max, k_max, scale, q.shape[-1], info.max, info.eps
    ):
        return
    # compute the scores a stripe of queries at a time to find out
    rows = max(1, 2**20 // max(1, k.shape[-2]))
    with torch.no_grad():
        for start in range(0, q.shape[-2], rows):
            if not bool(
                torch.isfinite(
                    (q[..., start : start + rows, :] * scale) @ k.transpose(-1, -2)
                ).all()
            ):
                raise _checks.overflow_error(q.dtype)

"""The fast path in PyTorch: attention through PyTorch's fused kernel
(FlashAttention where available).

``torch_backend.attention`` builds the whole (..., n, m) matrix of weights because the
book wants to show it. ``fused_attention`` hands the same computation to
``torch.nn.functional.scaled_dot_product_attention``, which never stores that matrix.
The NumPy fast path, ``chunked_attention``, is in ``fast.py``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from . import _checks
from .torch_backend import _checked

__all__ = ["fused_attention"]


def fused_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    mask: Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Attention through PyTorch's fused kernel; same arguments as ``attention``,
    returns the output only.

    q (..., n, d_k), k (..., m, d_k), v (..., m, d_v) → output (..., n, d_v).
    ``torch.nn.functional.scaled_dot_product_attention`` picks its fastest kernel
    (FlashAttention on CUDA, a blocked kernel on the CPU) only for 4-D input
    (batch, heads, tokens, features), so the inputs are broadcast and reshaped to 4-D
    first and the output is reshaped back.
    """
    q, k, v, mask, causal, scale = _checked(
        q=q, k=k, v=v, mask=mask, causal=causal, scale=scale
    )
    batch = _checks.broadcast_batch({"q": q.shape, "k": k.shape, "v": v.shape})
    n, m = q.shape[-2], k.shape[-2]

    def to_4d(t: Tensor, rows: int, cols: int) -> Tensor:
        # (..., rows, cols) -> (B, 1, rows, cols),
        # B = the product of the batch dimensions
        return t.expand(batch + (rows, cols)).reshape(-1, 1, rows, cols)

    out = F.scaled_dot_product_attention(
        to_4d(q, n, q.shape[-1]),  # (B, 1, n, d_k)
        to_4d(k, m, k.shape[-1]),  # (B, 1, m, d_k)
        to_4d(v, m, v.shape[-1]),  # (B, 1, m, d_v)
        attn_mask=None if mask is None else to_4d(mask, n, m),  # (B, 1, n, m)
        is_causal=causal,
        scale=scale,
    )  # (B, 1, n, d_v)
    return out.reshape(batch + (n, v.shape[-1]))  # (..., n, d_v)

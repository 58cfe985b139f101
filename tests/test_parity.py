"""Our attention against independent references: the other backend,
PyTorch's SDPA and MultiheadAttention.
"""

import numpy as np
import pytest

from selfattention import fast, numpy_backend

from .conftest import NO_TORCH, requires_cuda

torch = pytest.importorskip("torch", reason=NO_TORCH)
F = torch.nn.functional
torch_backend = pytest.importorskip("selfattention.torch_backend")
torch_fast = pytest.importorskip("selfattention.torch_fast")

DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, requires_cuda])]
TOL = {torch.float64: 1e-12, torch.float32: 1e-5}


def randn(*shape, dtype=torch.float64, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(
        device=device, dtype=dtype
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("causal", [False, True])
def test_numpy_and_torch_agree(dtype, causal):
    q, k, v = (
        randn(2, 7, 5, dtype=dtype, seed=1),
        randn(2, 7, 5, dtype=dtype, seed=2),
        randn(2, 7, 3, dtype=dtype, seed=3),
    )
    out_t, w_t = torch_backend.attention(q, k, v, causal=causal)
    out_n, w_n = numpy_backend.attention(q.numpy(), k.numpy(), v.numpy(), causal=causal)
    assert out_n.dtype == q.numpy().dtype
    np.testing.assert_allclose(out_t.numpy(), out_n, rtol=0, atol=TOL[dtype])
    np.testing.assert_allclose(w_t.numpy(), w_n, rtol=0, atol=TOL[dtype])


CASES = {
    "plain": dict(q=(4, 6, 8), k=(4, 9, 8), v=(4, 9, 5), kw={}),
    "scale": dict(q=(4, 6, 8), k=(4, 9, 8), v=(4, 9, 5), kw={"scale": 0.3}),
    "causal-square": dict(
        q=(2, 3, 7, 8), k=(2, 3, 7, 8), v=(2, 3, 7, 4), kw={"causal": True}
    ),
    "causal-wide": dict(q=(2, 5, 8), k=(2, 9, 8), v=(2, 9, 4), kw={"causal": True}),
    "2d": dict(q=(6, 8), k=(9, 8), v=(9, 5), kw={}),
    "batch-broadcast": dict(q=(2, 1, 6, 8), k=(3, 9, 8), v=(3, 9, 5), kw={}),
}
MASKS = {
    "full-mask": (6, 9),
    "broadcast-row-mask": (1, 9),
    "per-batch-mask": (4, 1, 9),
    "per-query-mask": (4, 6, 9),
}


def sdpa_reference(q, k, v, mask=None, causal=False, **kw):
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    q, k, v = (t.expand(batch + t.shape[-2:]) for t in (q, k, v))
    return F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, is_causal=causal, **kw
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_torch_backend_matches_sdpa(case, dtype, device):
    c = CASES[case]
    q, k, v = (
        randn(*c[n], dtype=dtype, device=device, seed=i) for i, n in enumerate("qkv")
    )
    expected = sdpa_reference(q, k, v, **c["kw"])
    out, w = torch_backend.attention(q, k, v, **c["kw"])
    assert out.device == q.device
    assert out.dtype == dtype
    torch.testing.assert_close(out, expected, rtol=0, atol=TOL[dtype])
    torch.testing.assert_close(
        torch_fast.fused_attention(q, k, v, **c["kw"]),
        expected,
        rtol=0,
        atol=TOL[dtype],
    )
    out_np, _ = numpy_backend.attention(
        *(t.cpu().numpy() for t in (q, k, v)), **c["kw"]
    )
    np.testing.assert_allclose(out.cpu().numpy(), out_np, rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mask_shape", MASKS.values(), ids=list(MASKS))
def test_boolean_masks_match_sdpa(mask_shape, device):
    q, k, v = (
        randn(4, 6, 8, device=device, seed=1),
        randn(4, 9, 8, device=device, seed=2),
        randn(4, 9, 5, device=device, seed=3),
    )
    g = torch.Generator().manual_seed(4)
    mask = (torch.rand(mask_shape, generator=g) < 0.7).to(device)
    # one fully masked row (or, for row masks, everything): zeros, as torch returns
    mask[..., 0, :] = False
    expected = sdpa_reference(q, k, v, mask=mask)
    out, w = torch_backend.attention(q, k, v, mask=mask)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(
        torch_fast.fused_attention(q, k, v, mask=mask), expected, rtol=0, atol=1e-12
    )
    assert not torch.isnan(w).any()
    q_np, k_np, v_np, mask_np = (t.cpu().numpy() for t in (q, k, v, mask))
    out_np, w_np = numpy_backend.attention(q_np, k_np, v_np, mask=mask_np)
    np.testing.assert_allclose(out_np, expected.cpu().numpy(), rtol=0, atol=1e-12)
    chunked = fast.chunked_attention(q_np, k_np, v_np, mask=mask_np, block_size=4)
    np.testing.assert_allclose(chunked, expected.cpu().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_matches_multihead_attention(device, causal):
    d, n = 6, 5
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(
        d, num_heads=1, bias=False, batch_first=True, dtype=torch.float64, device=device
    )
    with torch.no_grad():
        # output projection = identity: plain attention is left
        mha.out_proj.weight.copy_(torch.eye(d))
    x = randn(2, n, d, device=device, seed=5)
    # MHA's mask says where attention is NOT allowed:
    # the opposite of ours (and of SDPA's)
    mha_mask = ~torch_backend.causal_mask(n, device=device) if causal else None
    expected, expected_w = mha(x, x, x, attn_mask=mha_mask, need_weights=True)
    # torch stores them as (out, in)
    w_q, w_k, w_v = (w.T.detach() for w in mha.in_proj_weight.chunk(3))
    out, weights = torch_backend.self_attention(x, w_q, w_k, w_v, causal=causal)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(weights, expected_w, rtol=0, atol=1e-12)
    out_np, w_np = numpy_backend.self_attention(
        *(t.cpu().numpy() for t in (x, w_q, w_k, w_v)), causal=causal
    )
    np.testing.assert_allclose(
        out_np, expected.detach().cpu().numpy(), rtol=0, atol=1e-12
    )


# --- Multi-head attention against torch.nn.MultiheadAttention -------------------------

D_MODEL, HEADS, N, BATCH = 12, 3, 7, 2


def multihead_reference(x, w_q, w_k, w_v, w_o, *, mask=None, mask_kind="none"):
    """torch.nn.MultiheadAttention with our projection matrices; ``mask`` uses OUR
    convention (True = may attend).
    """
    mha = torch.nn.MultiheadAttention(
        D_MODEL, HEADS, bias=False, batch_first=True, dtype=x.dtype, device=x.device
    ).eval()
    with torch.no_grad():
        # torch stores (out, in), stacked q, k, v
        mha.in_proj_weight.copy_(torch.cat([w_q.T, w_k.T, w_v.T]))
        mha.out_proj.weight.copy_(w_o.T)
    kw = {}
    if mask_kind in ("causal", "shared"):
        # (n, n), the same for every sentence and head
        kw["attn_mask"] = ~mask  # MultiheadAttention's boolean mask: True = NOT allowed
    elif mask_kind == "padding":
        # ours (batch, 1, 1, n): keys to ignore in each sentence
        kw["key_padding_mask"] = ~mask[:, 0, 0, :] if x.dim() == 3 else ~mask[0, 0, :]
    elif mask_kind == "per-head":
        # ours (batch, heads, n, n); MultiheadAttention wants (batch · heads, n, n)
        kw["attn_mask"] = ~mask.reshape(-1, N, N)
    out, weights = mha(x, x, x, need_weights=True, average_attn_weights=False, **kw)
    return out.detach(), weights.detach()


def random_mask(shape, device, seed):
    mask = torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < 0.6
    # every query may attend at least one key (MultiheadAttention gives NaN otherwise)
    mask[..., 0] = True
    return mask.to(device)


MHA_MASKS = ["none", "causal", "shared", "padding", "per-head"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("mask_kind", MHA_MASKS)
def test_multi_head_self_attention_matches_multihead_attention(
    mask_kind, batched, dtype, device
):
    x = randn(
        *((BATCH,) if batched else ()), N, D_MODEL, dtype=dtype, device=device, seed=1
    )
    w_q, w_k, w_v, w_o = (
        randn(D_MODEL, D_MODEL, dtype=dtype, device=device, seed=s) / 3
        for s in (2, 3, 4, 5)
    )
    batch = (BATCH,) if batched else ()
    mask = {
        "none": None,
        "causal": torch_backend.causal_mask(N, device=device),
        "shared": random_mask((N, N), device, seed=6),
        "padding": random_mask(batch + (1, 1, N), device, seed=7),
        "per-head": random_mask(batch + (HEADS, N, N), device, seed=8),
    }[mask_kind]
    expected, expected_w = multihead_reference(
        x, w_q, w_k, w_v, w_o, mask=mask, mask_kind=mask_kind
    )
    kw = {"causal": True} if mask_kind == "causal" else {"mask": mask}
    out, weights = torch_backend.multi_head_self_attention(
        x, w_q, w_k, w_v, w_o, num_heads=HEADS, **kw
    )
    assert out.shape == x.shape
    assert weights.shape == batch + (HEADS, N, N)
    torch.testing.assert_close(out, expected, rtol=0, atol=TOL[dtype])
    torch.testing.assert_close(weights, expected_w, rtol=0, atol=TOL[dtype])
    as_np = (
        {"mask": None if mask is None else mask.cpu().numpy()}
        if mask_kind != "causal"
        else kw
    )
    out_np, w_np = numpy_backend.multi_head_self_attention(
        *(t.cpu().numpy() for t in (x, w_q, w_k, w_v, w_o)), num_heads=HEADS, **as_np
    )
    np.testing.assert_allclose(out_np, expected.cpu().numpy(), rtol=0, atol=TOL[dtype])
    np.testing.assert_allclose(w_np, expected_w.cpu().numpy(), rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
def test_multi_head_gradients_match_multihead_attention(device):
    x = randn(BATCH, N, D_MODEL, device=device, seed=1).requires_grad_()
    ws = [
        (randn(D_MODEL, D_MODEL, device=device, seed=s) / 3).requires_grad_()
        for s in (2, 3, 4, 5)
    ]
    out, _ = torch_backend.multi_head_self_attention(
        x, *ws, num_heads=HEADS, causal=True
    )
    grads = torch.autograd.grad(out.square().sum(), (x, *ws))
    mha = torch.nn.MultiheadAttention(
        D_MODEL, HEADS, bias=False, batch_first=True, dtype=x.dtype, device=device
    )
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([w.T for w in ws[:3]]))
        mha.out_proj.weight.copy_(ws[3].T)
    expected, _ = mha(
        x,
        x,
        x,
        attn_mask=~torch_backend.causal_mask(N, device=device),
        need_weights=False,
    )
    g_x, g_in, g_out = torch.autograd.grad(
        expected.square().sum(), (x, mha.in_proj_weight, mha.out_proj.weight)
    )
    torch.testing.assert_close(grads[0], g_x, rtol=0, atol=1e-12)
    for ours, theirs in zip(grads[1:4], g_in.chunk(3), strict=True):
        torch.testing.assert_close(ours, theirs.T, rtol=0, atol=1e-12)
    torch.testing.assert_close(grads[4], g_out.T, rtol=0, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_positions_agree_between_backends(dtype, device):
    x = randn(2, 9, 8, dtype=dtype, device=device, seed=1)
    rotated = torch_backend.rotary(x, base=100.0)
    assert rotated.device == x.device
    assert rotated.dtype == dtype
    expected = numpy_backend.rotary(x.cpu().numpy(), base=100.0)
    np.testing.assert_allclose(rotated.cpu().numpy(), expected, rtol=0, atol=TOL[dtype])
    pe = torch_backend.sinusoidal_positions(9, 8, dtype=dtype, device=device)
    assert pe.device == x.device
    assert pe.dtype == dtype
    np.testing.assert_allclose(
        pe.cpu().numpy(),
        numpy_backend.sinusoidal_positions(9, 8),
        rtol=0,
        atol=TOL[dtype],
    )


def test_sinusoidal_positions_default_to_torch_defaults():
    pe = torch_backend.sinusoidal_positions(3, 4)
    assert pe.dtype == torch.get_default_dtype()
    assert pe.device.type == "cpu"


# --- Low precision, gradients, devices ------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_by_flashattention_rule(dtype, device):
    """The error of our low-precision result is at most twice that of a plain
    same-dtype computation.
    """
    q, k, v = (randn(2, 4, 64, 32, device=device, seed=s) for s in (1, 2, 3))
    reference, _ = torch_backend.attention(q, k, v)  # float64
    ql, kl, vl = (t.to(dtype) for t in (q, k, v))
    plain = torch.softmax(ql @ kl.transpose(-1, -2) / 32**0.5, dim=-1) @ vl
    ours, w = torch_backend.attention(ql, kl, vl)
    fused = torch_fast.fused_attention(ql, kl, vl)
    assert ours.dtype == dtype
    assert w.dtype == dtype
    plain_err = (plain.double() - reference).abs().max().item()
    assert (ours.double() - reference).abs().max().item() <= 2 * plain_err
    assert (fused.double() - reference).abs().max().item() <= 2 * plain_err


@pytest.mark.parametrize("device", DEVICES)
def test_gradients_match_sdpa(device):
    q, k, v = (
        randn(3, 5, 4, device=device, seed=s).requires_grad_() for s in (1, 2, 3)
    )
    out, _ = torch_backend.attention(q, k, v, causal=True)
    grads = torch.autograd.grad(out.square().sum(), (q, k, v))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    expected_grads = torch.autograd.grad(expected.square().sum(), (q, k, v))
    for g, e in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-12)


@requires_cuda
@pytest.mark.gpu
def test_cuda_results_stay_on_cuda_and_devices_are_never_mixed():
    q = randn(3, 4, device="cuda")
    out, w = torch_backend.attention(q, q, q)
    assert out.is_cuda
    assert w.is_cuda
    assert torch_backend.default_device().type == "cuda"
    with pytest.raises(ValueError, match="same device"):
        torch_backend.attention(q, q.cpu(), q)
    x = randn(2, 3, 4, device="cuda")
    out, w = torch_backend.multi_head_self_attention(
        x, *(randn(4, 4, device="cuda") for _ in range(4)), num_heads=2
    )
    assert out.is_cuda
    assert w.is_cuda
    assert torch_backend.rotary(x).is_cuda

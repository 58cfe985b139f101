"""Our attention against independent references: the other backend, PyTorch's SDPA and MultiheadAttention."""

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from selfattention import numpy_backend, torch_backend
from selfattention.examples import naive_softmax

from .conftest import requires_cuda

DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, requires_cuda])]
TOL = {torch.float64: 1e-12, torch.float32: 1e-5}


def randn(*shape, dtype=torch.float64, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


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
    "causal-square": dict(q=(2, 3, 7, 8), k=(2, 3, 7, 8), v=(2, 3, 7, 4), kw={"causal": True}),
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
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, **kw)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_torch_backend_matches_sdpa(case, dtype, device):
    c = CASES[case]
    q, k, v = (randn(*c[n], dtype=dtype, device=device, seed=i) for i, n in enumerate("qkv"))
    expected = sdpa_reference(q, k, v, **c["kw"])
    out, w = torch_backend.attention(q, k, v, **c["kw"])
    assert out.device == q.device
    assert out.dtype == dtype
    torch.testing.assert_close(out, expected, rtol=0, atol=TOL[dtype])
    torch.testing.assert_close(torch_backend.fused_attention(q, k, v, **c["kw"]), expected, rtol=0, atol=TOL[dtype])
    out_np, _ = numpy_backend.attention(*(t.cpu().numpy() for t in (q, k, v)), **c["kw"])
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
    mask[..., 0, :] = False  # one fully masked row (or, for row masks, everything): zeros, as torch returns
    expected = sdpa_reference(q, k, v, mask=mask)
    out, w = torch_backend.attention(q, k, v, mask=mask)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(torch_backend.fused_attention(q, k, v, mask=mask), expected, rtol=0, atol=1e-12)
    assert not torch.isnan(w).any()
    out_np, w_np = numpy_backend.attention(q.cpu().numpy(), k.cpu().numpy(), v.cpu().numpy(), mask=mask.cpu().numpy())
    np.testing.assert_allclose(out_np, expected.cpu().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        numpy_backend.chunked_attention(
            q.cpu().numpy(), k.cpu().numpy(), v.cpu().numpy(), mask=mask.cpu().numpy(), block_size=4
        ),
        expected.cpu().numpy(),
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_matches_multihead_attention(device, causal):
    d, n = 6, 5
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(d, num_heads=1, bias=False, batch_first=True, dtype=torch.float64, device=device)
    with torch.no_grad():
        mha.out_proj.weight.copy_(torch.eye(d))  # output projection = identity: plain attention is left
    x = randn(2, n, d, device=device, seed=5)
    # MHA's mask says where attention is NOT allowed: the opposite of ours (and of SDPA's)
    mha_mask = ~torch_backend.causal_mask(n, device=device) if causal else None
    expected, expected_w = mha(x, x, x, attn_mask=mha_mask, need_weights=True)
    w_q, w_k, w_v = (w.T.detach() for w in mha.in_proj_weight.chunk(3))  # torch stores them as (out, in)
    out, weights = torch_backend.self_attention(x, w_q, w_k, w_v, causal=causal)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(weights, expected_w, rtol=0, atol=1e-12)
    out_np, w_np = numpy_backend.self_attention(*(t.cpu().numpy() for t in (x, w_q, w_k, w_v)), causal=causal)
    np.testing.assert_allclose(out_np, expected.detach().cpu().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_by_flashattention_rule(dtype, device):
    """The error of our low-precision result is at most twice that of a plain same-dtype computation."""
    q, k, v = (randn(2, 4, 64, 32, device=device, seed=s) for s in (1, 2, 3))
    reference, _ = torch_backend.attention(q, k, v)  # float64
    ql, kl, vl = (t.to(dtype) for t in (q, k, v))
    plain = torch.softmax(ql @ kl.transpose(-1, -2) / 32**0.5, dim=-1) @ vl
    ours, w = torch_backend.attention(ql, kl, vl)
    fused = torch_backend.fused_attention(ql, kl, vl)
    assert ours.dtype == dtype
    assert w.dtype == dtype
    plain_err = (plain.double() - reference).abs().max().item()
    assert (ours.double() - reference).abs().max().item() <= 2 * plain_err
    assert (fused.double() - reference).abs().max().item() <= 2 * plain_err


@pytest.mark.parametrize("device", DEVICES)
def test_gradients_match_sdpa(device):
    q, k, v = (randn(3, 5, 4, device=device, seed=s).requires_grad_() for s in (1, 2, 3))
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


def test_default_device_without_cuda():
    if torch.cuda.is_available():
        assert torch_backend.default_device().type == "cuda"
    else:
        assert torch_backend.default_device().type in {"cpu", "mps"}


@pytest.mark.parametrize("backend_name", ["numpy", "torch"])
def test_large_scores_stay_finite_where_a_naive_softmax_fails(backend_name):
    scores = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = naive_softmax(scores)
    assert np.isnan(naive).any()  # exp(1e4) = inf, and inf / inf = NaN
    if backend_name == "numpy":
        w = numpy_backend.normalize(scores)
    else:
        w = torch_backend.normalize(torch.from_numpy(scores)).numpy()
    assert w.dtype == np.float32
    assert np.isfinite(w).all()
    np.testing.assert_allclose(w, [[1, 0, 0], [0, 0.5, 0.5]], atol=1e-7)


def test_importing_selfattention_does_not_import_torch():
    code = (
        "import sys, selfattention as s; s.softmax([1.0, 2.0]); "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["plain", "causal", "mask"])
def test_chunked_attention_on_large_inputs_uses_every_core_and_agrees(dtype, kind):
    """n·m above the threshold where query stripes run on several threads."""
    from selfattention.numpy_backend import _PARALLEL_MIN_SCORES

    n = m = 2048
    assert n * m >= _PARALLEL_MIN_SCORES
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal((n, 32)).astype(dtype) for _ in range(3))
    kw = {"causal": True} if kind == "causal" else {"mask": rng.random((n, m)) < 0.5} if kind == "mask" else {}
    if kind == "mask":
        kw["mask"][5] = False  # one fully masked row
    expected, _ = numpy_backend.attention(q, k, v, **kw)
    got = numpy_backend.chunked_attention(q, k, v, **kw)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 if dtype == np.float64 else 1e-5)


def test_chunked_attention_reports_overflow_from_a_worker_thread():
    q = np.full((2048, 4), 1e20, dtype=np.float32)
    with pytest.raises(ValueError, match="overflowed to infinity in chunked_attention"):
        numpy_backend.chunked_attention(q, q, q)


def test_chunked_attention_memory_does_not_grow_like_n_squared():
    import tracemalloc

    rng = np.random.default_rng(0)
    peaks = {}
    for n in (1024, 4096):
        q, k, v = (rng.standard_normal((n, 64)).astype(np.float32) for _ in range(3))
        tracemalloc.start()
        out = numpy_backend.chunked_attention(q, k, v)
        peaks[n] = tracemalloc.get_traced_memory()[1] - out.nbytes
        tracemalloc.stop()
    assert peaks[4096] < 16 * 2**20  # an n x n float32 matrix alone would take 64 MiB
    assert peaks[4096] < 4 * peaks[1024]  # 16x more scores, far less than 16x more memory

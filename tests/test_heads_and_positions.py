"""Multi-head attention and position encodings against references written
independently of the package.

The references here are loops over plain Python numbers (multi-head attention, the
sinusoids) and complex numbers (rotary: rotating the pair (a, b) by θ is multiplying
a + ib by e^{iθ}). They run without torch; test_parity.py compares with
torch.nn.MultiheadAttention as well.
"""

import cmath
import math

import numpy as np
import pytest


def loop_multi_head(x, w_q, w_k, w_v, w_o, num_heads, allowed):
    """Multi-head self-attention for one sentence, one number at a time;
    allowed[h][i][j]: may query i see key j.
    """
    n, d_model = len(x), len(x[0])
    d_head = d_model // num_heads

    def project(w):
        return [
            [sum(x[i][a] * w[a][c] for a in range(d_model)) for c in range(d_model)]
            for i in range(n)
        ]

    q, k, v = project(w_q), project(w_k), project(w_v)
    concat = [[0.0] * d_model for _ in range(n)]
    weights = []
    for h in range(num_heads):
        cols = range(h * d_head, (h + 1) * d_head)  # this head's slice of the features
        head_weights = []
        for i in range(n):
            scores = {
                j: sum(q[i][c] * k[j][c] for c in cols) / math.sqrt(d_head)
                for j in range(n)
                if allowed[h][i][j]
            }
            top = max(scores.values(), default=0.0)
            e = {j: math.exp(s - top) for j, s in scores.items()}
            # a row where nothing may be seen: all-zero weights (as SDPA)
            total = sum(e.values()) or 1.0
            row = [e.get(j, 0.0) / total for j in range(n)]
            head_weights.append(row)
            for c in cols:
                concat[i][c] = sum(row[j] * v[j][c] for j in range(n))
        weights.append(head_weights)
    out = [
        [sum(concat[i][a] * w_o[a][c] for a in range(d_model)) for c in range(d_model)]
        for i in range(n)
    ]
    return np.array(out), np.array(weights)


@pytest.mark.parametrize("num_heads", [1, 2, 3, 6])
@pytest.mark.parametrize("mask_kind", ["none", "causal", "padding", "per-head"])
def test_multi_head_self_attention_matches_a_loop(backend, num_heads, mask_kind):
    rng = np.random.default_rng(num_heads)
    batch, n, d_model = 2, 5, 6
    x = rng.standard_normal((batch, n, d_model))
    ws = [rng.standard_normal((d_model, d_model)) / 2 for _ in range(4)]
    allowed = np.ones((batch, num_heads, n, n), dtype=bool)
    kw = {}
    if mask_kind == "causal":
        allowed &= np.tril(np.ones((n, n), dtype=bool))
        kw["causal"] = True
    elif mask_kind == "padding":  # the last key of the second sentence is padding
        kw["mask"] = np.ones((batch, 1, 1, n), dtype=bool)
        kw["mask"][1, ..., -1] = False
        allowed &= kw["mask"]
    elif mask_kind == "per-head":
        kw["mask"] = rng.random((batch, num_heads, n, n)) < 0.6
        # a fully masked row: zero weights, zero output for that head
        kw["mask"][..., 2, :] = False
        allowed &= kw["mask"]
    if "mask" in kw:
        kw["mask"] = backend.mask(kw["mask"])
    out, w = backend.mod.multi_head_self_attention(
        backend.asarray(x), *map(backend.asarray, ws), num_heads=num_heads, **kw
    )
    assert tuple(out.shape) == (batch, n, d_model)
    assert tuple(w.shape) == (batch, num_heads, n, n)
    for b in range(batch):
        ref_out, ref_w = loop_multi_head(
            x[b].tolist(), *(w_.tolist() for w_ in ws), num_heads, allowed[b].tolist()
        )
        np.testing.assert_allclose(
            backend.to_numpy(out)[b], ref_out, rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(backend.to_numpy(w)[b], ref_w, rtol=0, atol=1e-12)


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_matches_a_loop(backend, causal):
    """Self-attention is one head whose output is not projected
    again (w_o = identity).
    """
    rng = np.random.default_rng(5)
    x, w_q, w_k, w_v = (
        rng.standard_normal((4, 3)),
        *(rng.standard_normal((3, 3)) for _ in range(3)),
    )
    out, w = backend.mod.self_attention(
        *map(backend.asarray, (x, w_q, w_k, w_v)), causal=causal
    )
    allowed = [
        np.tril(np.ones((4, 4), dtype=bool)) if causal else np.ones((4, 4), dtype=bool)
    ]
    ref_out, ref_w = loop_multi_head(
        x.tolist(),
        w_q.tolist(),
        w_k.tolist(),
        w_v.tolist(),
        np.eye(3).tolist(),
        1,
        allowed,
    )
    np.testing.assert_allclose(backend.to_numpy(out), ref_out, rtol=0, atol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(w), ref_w[0], rtol=0, atol=1e-12)


def test_multi_head_self_attention_of_one_sentence_equals_the_batched_one(backend):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 6))
    ws = [backend.asarray(rng.standard_normal((6, 6))) for _ in range(4)]
    out, w = backend.mod.multi_head_self_attention(
        backend.asarray(x), *ws, num_heads=3, causal=True
    )
    for b in range(3):
        out_b, w_b = backend.mod.multi_head_self_attention(
            backend.asarray(x[b]), *ws, num_heads=3, causal=True
        )
        assert tuple(w_b.shape) == (3, 4, 4)
        np.testing.assert_allclose(
            backend.to_numpy(out_b), backend.to_numpy(out)[b], rtol=0, atol=1e-13
        )
        np.testing.assert_allclose(
            backend.to_numpy(w_b), backend.to_numpy(w)[b], rtol=0, atol=1e-13
        )


@pytest.mark.parametrize(("n", "d_model"), [(1, 2), (7, 6), (64, 16), (512, 32)])
def test_sinusoidal_positions_follow_the_original_formula(backend, n, d_model):
    pe = backend.to_numpy(
        backend.mod.sinusoidal_positions(n, d_model, dtype=backend.dtype("float64"))
    )
    assert pe.shape == (n, d_model)
    for p in range(n):
        for i in range(d_model // 2):
            angle = p / 10000 ** (2 * i / d_model)
            assert math.isclose(pe[p, 2 * i], math.sin(angle), abs_tol=1e-12)
            assert math.isclose(pe[p, 2 * i + 1], math.cos(angle), abs_tol=1e-12)


def rotary_reference(x, base):
    """Rotate every pair (x[p, 2i], x[p, 2i + 1]) by p · base^(-2i/d),
    as a complex multiplication.
    """
    n, d = x.shape
    out = np.empty_like(x)
    for p in range(n):
        for i in range(d // 2):
            z = complex(x[p, 2 * i], x[p, 2 * i + 1]) * cmath.exp(
                1j * p * base ** (-2 * i / d)
            )
            out[p, 2 * i], out[p, 2 * i + 1] = z.real, z.imag
    return out


@pytest.mark.parametrize("base", [10000.0, 10.0])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rotary_rotates_each_pair_by_its_angle(backend, base, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 11, 8))  # (batch, heads, n, d)
    rotated = backend.mod.rotary(backend.asarray(x, dtype), base=base)
    assert tuple(rotated.shape) == x.shape
    assert str(rotated.dtype).endswith(dtype)
    tol = 1e-12 if dtype == "float64" else 1e-5
    for b in range(2):
        for h in range(3):
            expected = rotary_reference(x[b, h], base)
            np.testing.assert_allclose(
                backend.to_numpy(rotated)[b, h], expected, rtol=0, atol=tol
            )


def test_rotary_keeps_position_zero_and_every_pairs_length(backend):
    x = np.random.default_rng(2).standard_normal((6, 4))
    rotated = backend.to_numpy(backend.mod.rotary(backend.asarray(x)))
    np.testing.assert_array_equal(rotated[0], x[0])  # angle 0 at position 0
    lengths = np.hypot(x[:, 0::2], x[:, 1::2])
    np.testing.assert_allclose(
        np.hypot(rotated[:, 0::2], rotated[:, 1::2]), lengths, rtol=1e-14
    )

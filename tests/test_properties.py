"""Properties every correct attention must have, checked on many random inputs (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from selfattention import numpy_backend, torch_backend

from .conftest import Backend

BACKENDS = [Backend("numpy", numpy_backend), Backend("torch-cpu", torch_backend, "cpu")]
backends = st.sampled_from(BACKENDS)
values = st.floats(-5, 5, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def qkv(draw, same_length=False):
    n = draw(st.integers(1, 6))
    m = n if same_length else draw(st.integers(1, 6))
    d_k, d_v = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    q = draw(arrays(np.float64, (n, d_k), elements=values))
    k = draw(arrays(np.float64, (m, d_k), elements=values))
    v = draw(arrays(np.float64, (m, d_v), elements=values))
    return q, k, v


def run(b, q, k, v, **kw):
    out, w = b.mod.attention(b.asarray(q), b.asarray(k), b.asarray(v), **kw)
    return b.to_numpy(out), b.to_numpy(w)


@settings(max_examples=60, deadline=None)
@given(backends, qkv())
def test_weights_are_a_probability_distribution(b, data):
    _, w = run(b, *data)
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(backends, arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=values), values)
def test_adding_a_constant_to_a_score_row_changes_nothing(b, scores, c):
    shifted = scores.copy()
    shifted[0] += c
    w1 = b.to_numpy(b.mod.normalize(b.asarray(scores)))
    w2 = b.to_numpy(b.mod.normalize(b.asarray(shifted)))
    np.testing.assert_allclose(w1, w2, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(backends, qkv(same_length=True), st.randoms(use_true_random=False))
def test_permuting_tokens_permutes_self_attention_outputs(b, data, random):
    x = data[0]
    d = x.shape[1]
    rng = np.random.default_rng(random.randint(0, 2**32 - 1))
    w_q, w_k, w_v = (rng.standard_normal((d, d)) for _ in range(3))
    perm = rng.permutation(x.shape[0])
    out, w = (b.to_numpy(a) for a in b.mod.self_attention(*(b.asarray(a) for a in (x, w_q, w_k, w_v))))
    out_p, w_p = (b.to_numpy(a) for a in b.mod.self_attention(*(b.asarray(a) for a in (x[perm], w_q, w_k, w_v))))
    np.testing.assert_allclose(out_p, out[perm], rtol=0, atol=1e-10)
    np.testing.assert_allclose(w_p, w[np.ix_(perm, perm)], rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(backends, qkv(), st.randoms(use_true_random=False))
def test_permuting_keys_and_values_together_changes_nothing(b, data, random):
    q, k, v = data
    perm = np.random.default_rng(random.randint(0, 2**32 - 1)).permutation(k.shape[0])
    out, w = run(b, q, k, v)
    out_p, w_p = run(b, q, k[perm], v[perm])
    np.testing.assert_allclose(out_p, out, rtol=0, atol=1e-10)
    np.testing.assert_allclose(w_p, w[:, perm], rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(backends, qkv())
def test_outputs_lie_within_the_range_of_the_values(b, data):
    q, k, v = data
    out, _ = run(b, q, k, v)
    assert (out >= v.min(axis=0) - 1e-12).all()
    assert (out <= v.max(axis=0) + 1e-12).all()


@settings(max_examples=60, deadline=None)
@given(backends, qkv())
def test_scale_zero_gives_the_mean_of_v(b, data):
    q, k, v = data
    out, w = run(b, q, k, v, scale=0.0)
    np.testing.assert_allclose(w, np.full(w.shape, 1 / k.shape[0]), rtol=0, atol=1e-15)
    np.testing.assert_allclose(out, np.broadcast_to(v.mean(axis=0), out.shape), rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(backends, qkv())
def test_a_large_scale_approaches_hard_attention(b, data):
    q, k, v = data
    s = q @ k.T
    top2 = np.sort(s, axis=1)[:, -2:] if s.shape[1] > 1 else None
    if top2 is not None and (top2[:, 1] - top2[:, 0] < 1e-3).any():
        return  # a near tie: hard attention is not defined there
    _, w = run(b, q, k, v, scale=1e5)  # gap ≥ 1e-3 × 1e5 = 100: every weight but one is below e^-100
    np.testing.assert_allclose(w, np.eye(k.shape[0])[s.argmax(axis=1)], rtol=0, atol=1e-30)


@settings(max_examples=60, deadline=None)
@given(backends, qkv())
def test_causal_weights_are_zero_above_the_diagonal(b, data):
    q, k, v = data
    out, w = run(b, q, k, v, causal=True)
    assert (np.triu(w, k=1) == 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-12)
    # and query i gives the same answer as attention over the keys 0..i alone
    for i in range(min(q.shape[0], k.shape[0])):
        ref, _ = run(b, q[i : i + 1], k[: i + 1], v[: i + 1])
        np.testing.assert_allclose(out[i], ref[0], rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(qkv(), st.integers(1, 7), st.booleans())
def test_chunked_attention_equals_attention(data, block_size, causal):
    q, k, v = data
    expected, _ = numpy_backend.attention(q, k, v, causal=causal)
    got = numpy_backend.chunked_attention(q, k, v, causal=causal, block_size=block_size)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(qkv(), st.integers(1, 7), st.randoms(use_true_random=False))
def test_chunked_attention_with_a_mask_equals_attention(data, block_size, random):
    q, k, v = data
    mask = np.random.default_rng(random.randint(0, 2**32 - 1)).random((q.shape[0], k.shape[0])) < 0.6
    expected, _ = numpy_backend.attention(q, k, v, mask=mask)
    got = numpy_backend.chunked_attention(q, k, v, mask=mask, block_size=block_size)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)

"""Properties every correct attention must have,
checked on many random inputs (hypothesis).

Every generated example tests its claim: the inputs are drawn so that the claim is not
vacuous (a clear winner for hard attention, at least two keys where keys are permuted, a
permutation that moves something).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from .conftest import CPU_BACKENDS

values = st.floats(-5, 5, allow_nan=False, allow_infinity=False, width=64)
seeds = st.integers(0, 2**32 - 1)
EXAMPLES = 40  # per backend


@st.composite
def qkv(draw, same_length=False, min_m=1):
    n = draw(st.integers(1, 6))
    m = n if same_length else draw(st.integers(min_m, 6))
    d_k, d_v = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    q = draw(arrays(np.float64, (n, d_k), elements=values))
    k = draw(arrays(np.float64, (m, d_k), elements=values))
    v = draw(arrays(np.float64, (m, d_v), elements=values))
    return q, k, v


@st.composite
def clear_winners(draw):
    """q, k, v whose scores q @ kᵀ have, in every row,
    one largest score ahead of the others by ≥ 1e-3.
    """
    n, m = draw(st.integers(1, 5)), draw(st.integers(2, 6))
    d_k = draw(st.integers(m, m + 2))
    scores = draw(arrays(np.float64, (n, m), elements=values))
    winners = draw(arrays(np.int64, n, elements=st.integers(0, m - 1)))
    gaps = draw(arrays(np.float64, n, elements=st.floats(1e-3, 5)))
    rows = np.arange(n)
    others = scores.copy()
    others[rows, winners] = -np.inf
    scores[rows, winners] = others.max(axis=1) + gaps
    # keys with orthonormal rows, so that q = scores @ k gives q @ kᵀ = scores exactly
    # (up to rounding)
    rng = np.random.default_rng(draw(seeds))
    k = np.linalg.qr(rng.standard_normal((d_k, d_k)))[0][:m]  # (m, d_k)
    v = draw(arrays(np.float64, (m, draw(st.integers(1, 3))), elements=values))
    return scores @ k, k, v, winners


def moving_permutation(rng, n):
    """A random permutation of n ≥ 2 items that moves at least one of them."""
    perm = rng.permutation(n)
    return np.roll(perm, 1) if (perm == np.arange(n)).all() else perm


def run(b, q, k, v, **kw):
    out, w = b.mod.attention(b.asarray(q), b.asarray(k), b.asarray(v), **kw)
    return b.to_numpy(out), b.to_numpy(w)


backends = pytest.mark.parametrize("b", CPU_BACKENDS)


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=qkv())
def test_weights_are_a_probability_distribution(b, data):
    _, w = run(b, *data)
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(
    scores=arrays(
        np.float64, st.tuples(st.integers(1, 5), st.integers(2, 6)), elements=values
    ),
    c=values,
)
def test_adding_a_constant_to_a_score_row_changes_nothing(b, scores, c):
    shifted = scores.copy()
    shifted[0] += c
    w1 = b.to_numpy(b.mod.normalize(b.asarray(scores)))
    w2 = b.to_numpy(b.mod.normalize(b.asarray(shifted)))
    np.testing.assert_allclose(w1, w2, rtol=0, atol=1e-12)


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(n=st.integers(2, 6), d=st.integers(1, 4), seed=seeds)
def test_permuting_tokens_permutes_self_attention_outputs(b, n, d, seed):
    rng = np.random.default_rng(seed)
    x, w_q, w_k, w_v = (
        rng.standard_normal((n, d)),
        *(rng.standard_normal((d, d)) for _ in range(3)),
    )
    perm = moving_permutation(rng, n)
    out, w = (
        b.to_numpy(a)
        for a in b.mod.self_attention(*(b.asarray(a) for a in (x, w_q, w_k, w_v)))
    )
    out_p, w_p = (
        b.to_numpy(a)
        for a in b.mod.self_attention(*(b.asarray(a) for a in (x[perm], w_q, w_k, w_v)))
    )
    np.testing.assert_allclose(out_p, out[perm], rtol=0, atol=1e-10)
    np.testing.assert_allclose(w_p, w[np.ix_(perm, perm)], rtol=0, atol=1e-12)


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=qkv(min_m=2), seed=seeds)
def test_permuting_keys_and_values_together_changes_nothing(b, data, seed):
    q, k, v = data
    perm = moving_permutation(np.random.default_rng(seed), k.shape[0])
    out, w = run(b, q, k, v)
    out_p, w_p = run(b, q, k[perm], v[perm])
    np.testing.assert_allclose(out_p, out, rtol=0, atol=1e-10)
    np.testing.assert_allclose(w_p, w[:, perm], rtol=0, atol=1e-12)


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=qkv())
def test_outputs_lie_within_the_range_of_the_values(b, data):
    q, k, v = data
    out, _ = run(b, q, k, v)
    assert (out >= v.min(axis=0) - 1e-12).all()
    assert (out <= v.max(axis=0) + 1e-12).all()


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=qkv(min_m=2))
def test_scale_zero_gives_the_mean_of_v(b, data):
    q, k, v = data
    out, w = run(b, q, k, v, scale=0.0)
    np.testing.assert_allclose(w, np.full(w.shape, 1 / k.shape[0]), rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        out, np.broadcast_to(v.mean(axis=0), out.shape), rtol=0, atol=1e-12
    )


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=clear_winners())
def test_a_large_scale_approaches_hard_attention(b, data):
    q, k, v, winners = data
    # gap ≥ 1e-3 × 1e5 = 100: every weight but one is below e^-100
    _, w = run(b, q, k, v, scale=1e5)
    np.testing.assert_allclose(w, np.eye(k.shape[0])[winners], rtol=0, atol=1e-30)


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=qkv(min_m=2))
def test_causal_weights_are_zero_above_the_diagonal(b, data):
    q, k, v = data
    out, w = run(b, q, k, v, causal=True)
    assert (np.triu(w, k=1) == 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-12)
    # and query i gives the same answer as attention over the keys 0..i alone
    for i in range(min(q.shape[0], k.shape[0])):
        ref, _ = run(b, q[i : i + 1], k[: i + 1], v[: i + 1])
        np.testing.assert_allclose(out[i], ref[0], rtol=0, atol=1e-12)


# --- Multi-head attention and positions -----------------------------------------------


@st.composite
def multi_head_inputs(draw, min_n=1, even=False):
    """x (n, d_model) and four (d_model, d_model) projections, random normal;
    num_heads divides d_model.
    """
    num_heads, d_head = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    d_model = num_heads * d_head * (2 if even or draw(st.booleans()) else 1)
    n = draw(st.integers(min_n, 6))
    rng = np.random.default_rng(draw(seeds))
    x = rng.standard_normal((n, d_model))
    ws = [rng.standard_normal((d_model, d_model)) / np.sqrt(d_model) for _ in range(4)]
    return x, ws, num_heads, rng


def multi_head(b, x, ws, num_heads, **kw):
    out, w = b.mod.multi_head_self_attention(
        b.asarray(x), *map(b.asarray, ws), num_heads=num_heads, **kw
    )
    return b.to_numpy(out), b.to_numpy(w)


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=multi_head_inputs(min_n=2))
def test_permuting_tokens_permutes_multi_head_outputs(b, data):
    x, ws, num_heads, rng = data
    perm = moving_permutation(rng, x.shape[0])
    out, w = multi_head(b, x, ws, num_heads)
    out_p, w_p = multi_head(b, x[perm], ws, num_heads)
    np.testing.assert_allclose(out_p, out[perm], rtol=0, atol=1e-10)
    np.testing.assert_allclose(w_p, w[:, perm][:, :, perm], rtol=0, atol=1e-12)


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=multi_head_inputs(min_n=2, even=True))
def test_adding_sinusoidal_positions_breaks_the_equivariance(b, data):
    x, ws, num_heads, rng = data
    n, d_model = x.shape
    pe = b.to_numpy(b.mod.sinusoidal_positions(n, d_model))
    perm = moving_permutation(rng, n)
    out, _ = multi_head(b, x + pe, ws, num_heads)
    # the same tokens, in another order
    out_p, _ = multi_head(b, x[perm] + pe, ws, num_heads)
    # position now matters: no longer just a reordering
    assert np.abs(out_p - out[perm]).max() > 1e-6


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=multi_head_inputs(), causal=st.booleans())
def test_every_heads_weights_are_a_softmax(b, data, causal):
    x, ws, num_heads, _ = data
    _, w = multi_head(b, x, ws, num_heads, causal=causal)
    assert w.shape == (num_heads, x.shape[0], x.shape[0])
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    if causal:
        assert (np.triu(w, k=1) == 0).all()


@backends
@settings(max_examples=EXAMPLES, deadline=None)
@given(
    n=st.integers(2, 12),
    d=st.sampled_from([2, 4, 6, 8]),
    base=st.sampled_from([10.0, 100.0, 10000.0]),
    seed=seeds,
)
def test_rotary_scores_depend_only_on_the_distance(b, n, d, base, seed):
    """Query u at every position p, key w at every position r:
    the score depends on r - p only (Toeplitz).
    """
    u, w = np.random.default_rng(seed).standard_normal((2, d))
    # row p: u rotated for position p
    queries = b.mod.rotary(b.asarray(np.tile(u, (n, 1))), base=base)
    # row r: w rotated for position r
    keys = b.mod.rotary(b.asarray(np.tile(w, (n, 1))), base=base)
    scores = b.to_numpy(b.mod.score(queries, keys, scale=1.0))  # (n, n)
    np.testing.assert_allclose(scores[1:, 1:], scores[:-1, :-1], rtol=0, atol=1e-12)
    # ... and it does depend on the distance
    assert abs(scores[0, 1] - scores[0, 0]) > 1e-9

"""Small examples worked out by hand: the expected numbers are exact fractions, not outputs of the code."""

import math

import numpy as np
import pytest

LN3 = math.log(3.0)


def test_scores_are_scaled_dot_products(backend):
    q = backend.asarray([[1.0, 2.0, 0.0, 0.0]])
    k = backend.asarray([[3.0, 1.0, 0.0, 0.0], [0.0, 0.0, 5.0, 1.0]])
    # q·k = 5 and 0; d_k = 4 so the default scale is 1/2.
    np.testing.assert_allclose(backend.to_numpy(backend.mod.score(q, k)), [[2.5, 0.0]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(backend.to_numpy(backend.mod.score(q, k, scale=1)), [[5.0, 0.0]], rtol=0, atol=0)


def test_two_by_two(backend):
    # scores [ln 3, 0] give weights 3/4 and 1/4 (e^{ln 3} = 3); the output is 3/4 v0 + 1/4 v1.
    q = backend.asarray([[LN3, 0.0], [0.0, 0.0]])
    k = backend.asarray([[1.0, 0.0], [0.0, 1.0]])
    v = backend.asarray([[4.0, 0.0], [0.0, 8.0]])
    out, w = backend.mod.attention(q, k, v, scale=1.0)
    np.testing.assert_allclose(backend.to_numpy(w), [[0.75, 0.25], [0.5, 0.5]], atol=1e-15)
    np.testing.assert_allclose(backend.to_numpy(out), [[3.0, 2.0], [2.0, 4.0]], atol=1e-14)


def test_three_queries_two_keys(backend):
    q = backend.asarray([[LN3, 0.0], [0.0, 0.0], [0.0, LN3]])
    k = backend.asarray([[1.0, 0.0], [0.0, 1.0]])
    v = backend.asarray([[4.0, 0.0], [0.0, 8.0]])
    out, w = backend.mod.attention(q, k, v, scale=1.0)
    assert tuple(w.shape) == (3, 2)
    assert tuple(out.shape) == (3, 2)
    np.testing.assert_allclose(backend.to_numpy(w), [[0.75, 0.25], [0.5, 0.5], [0.25, 0.75]], atol=1e-15)
    np.testing.assert_allclose(backend.to_numpy(out), [[3.0, 2.0], [2.0, 4.0], [1.0, 6.0]], atol=1e-14)


def test_causal_weights_by_hand(backend):
    x = backend.asarray(np.zeros((3, 2)))  # all scores equal: each query spreads evenly over what it may see
    _, w = backend.mod.attention(x, x, x, causal=True)
    third = 1 / 3
    np.testing.assert_allclose(
        backend.to_numpy(w), [[1, 0, 0], [0.5, 0.5, 0], [third, third, third]], rtol=0, atol=1e-15
    )


def test_fully_masked_row_is_zero_not_nan(backend):
    q = backend.asarray([[1.0, 0.0], [0.0, 1.0]])
    v = backend.asarray([[1.0, 2.0], [3.0, 4.0]])
    mask = backend.mask([[True, True], [False, False]])
    out, w = backend.mod.attention(q, q, v, mask=mask, scale=1.0)
    e = math.e
    np.testing.assert_allclose(backend.to_numpy(w), [[e / (e + 1), 1 / (e + 1)], [0, 0]], atol=1e-15)
    np.testing.assert_array_equal(backend.to_numpy(out)[1], [0.0, 0.0])


def test_normalize_and_blend_compose_to_attention(backend):
    rng = np.random.default_rng(0)
    q, k, v = (backend.asarray(rng.standard_normal(s)) for s in [(4, 3), (5, 3), (5, 2)])
    w = backend.mod.normalize(backend.mod.score(q, k))
    out = backend.mod.blend(w, v)
    out2, w2 = backend.mod.attention(q, k, v)
    np.testing.assert_allclose(backend.to_numpy(w), backend.to_numpy(w2), rtol=0, atol=1e-15)
    np.testing.assert_allclose(backend.to_numpy(out), backend.to_numpy(out2), rtol=0, atol=1e-15)


def test_softmax_along_any_axis(backend):
    x = backend.asarray([[0.0, LN3], [LN3, 0.0]])
    np.testing.assert_allclose(backend.to_numpy(backend.mod.softmax(x, axis=0)), [[0.25, 0.75], [0.75, 0.25]])
    np.testing.assert_allclose(backend.to_numpy(backend.mod.softmax(x)), [[0.25, 0.75], [0.75, 0.25]])


def test_self_attention_uses_one_sequence_for_q_k_v(backend):
    rng = np.random.default_rng(1)
    x, w_q, w_k, w_v = (rng.standard_normal(s) for s in [(4, 3), (3, 2), (3, 2), (3, 5)])
    out, w = backend.mod.self_attention(*(backend.asarray(a) for a in (x, w_q, w_k, w_v)))
    ref_out, ref_w = backend.mod.attention(*(backend.asarray(x @ m) for m in (w_q, w_k, w_v)))
    assert tuple(w.shape) == (4, 4)
    assert tuple(out.shape) == (4, 5)
    np.testing.assert_allclose(backend.to_numpy(out), backend.to_numpy(ref_out), atol=1e-14)
    np.testing.assert_allclose(backend.to_numpy(w), backend.to_numpy(ref_w), atol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_preserved(backend, dtype):
    rng = np.random.default_rng(2)
    q = backend.asarray(rng.standard_normal((3, 4)), dtype)
    out, w = backend.mod.attention(q, q, q)
    assert str(out.dtype).endswith(dtype)
    assert str(w.dtype).endswith(dtype)
    assert str(backend.mod.score(q, q).dtype).endswith(dtype)
    assert str(backend.mod.softmax(q).dtype).endswith(dtype)


def test_numpy_accepts_lists_and_integers():
    from selfattention import attention

    out, w = attention([[1, 0], [0, 1]], [[1, 0], [0, 1]], [[2, 4], [6, 8]], scale=0)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[4.0, 6.0], [4.0, 6.0]])  # scale 0: every weight 1/2
    np.testing.assert_array_equal(w, np.full((2, 2), 0.5))


def test_batch_dimensions_broadcast(backend):
    rng = np.random.default_rng(3)
    q = rng.standard_normal((2, 1, 4, 3))  # (batch, 1, n, d_k)
    k = rng.standard_normal((3, 5, 3))  # (heads, m, d_k)
    v = rng.standard_normal((5, 2))  # (m, d_v): shared by everyone
    out, w = backend.mod.attention(backend.asarray(q), backend.asarray(k), backend.asarray(v))
    assert tuple(out.shape) == (2, 3, 4, 2)
    assert tuple(w.shape) == (2, 3, 4, 5)
    for b in range(2):
        for h in range(3):
            ref, _ = backend.mod.attention(backend.asarray(q[b, 0]), backend.asarray(k[h]), backend.asarray(v))
            np.testing.assert_allclose(backend.to_numpy(out)[b, h], backend.to_numpy(ref), atol=1e-14)


def test_online_softmax_by_hand():
    from selfattention.examples import online_softmax_trace

    # scores 0 and ln 3 in two blocks; values 4 and 8.
    steps = online_softmax_trace([0.0, LN3], [[4.0], [8.0]], block_size=1)
    first, second = steps
    assert (first.row_max, first.correction, first.total) == (0.0, 0.0, 1.0)  # exp(-inf) = 0: nothing before
    np.testing.assert_allclose(first.output, [4.0])
    assert second.row_max == LN3
    assert math.isclose(second.correction, 1 / 3)  # exp(0 - ln 3)
    assert math.isclose(second.total, 1 / 3 + 1)  # the old term rescaled, plus exp(ln 3 - ln 3)
    np.testing.assert_allclose(second.output / second.total, [0.25 * 4 + 0.75 * 8])  # softmax = (1/4, 3/4)

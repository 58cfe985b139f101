"""Small examples worked out by hand: the expected numbers are exact fractions, not
outputs of the code.
"""

import math

import numpy as np
import pytest

LN3 = math.log(3.0)


def test_scores_are_scaled_dot_products(backend):
    q = backend.asarray([[1.0, 2.0, 0.0, 0.0]])
    k = backend.asarray([[3.0, 1.0, 0.0, 0.0], [0.0, 0.0, 5.0, 1.0]])
    # q·k = 5 and 0; d_k = 4 so the default scale is 1/2.
    np.testing.assert_allclose(
        backend.to_numpy(backend.mod.score(q, k)), [[2.5, 0.0]], rtol=0, atol=1e-15
    )
    np.testing.assert_allclose(
        backend.to_numpy(backend.mod.score(q, k, scale=1)), [[5.0, 0.0]], rtol=0, atol=0
    )


def test_three_queries_two_keys(backend):
    # scores [ln 3, 0] give weights 3/4 and 1/4 (e^{ln 3} = 3);
    # the output is 3/4 v0 + 1/4 v1.
    q = backend.asarray([[LN3, 0.0], [0.0, 0.0], [0.0, LN3]])
    k = backend.asarray([[1.0, 0.0], [0.0, 1.0]])
    v = backend.asarray([[4.0, 0.0], [0.0, 8.0]])
    out, w = backend.mod.attention(q, k, v, scale=1.0)
    assert tuple(w.shape) == (3, 2)
    assert tuple(out.shape) == (3, 2)
    np.testing.assert_allclose(
        backend.to_numpy(w), [[0.75, 0.25], [0.5, 0.5], [0.25, 0.75]], atol=1e-15
    )
    np.testing.assert_allclose(
        backend.to_numpy(out), [[3.0, 2.0], [2.0, 4.0], [1.0, 6.0]], atol=1e-14
    )


def test_causal_weights_by_hand(backend):
    # all scores equal: each query spreads evenly over what it may see
    x = backend.asarray(np.zeros((3, 2)))
    _, w = backend.mod.attention(x, x, x, causal=True)
    third = 1 / 3
    np.testing.assert_allclose(
        backend.to_numpy(w),
        [[1, 0, 0], [0.5, 0.5, 0], [third, third, third]],
        rtol=0,
        atol=1e-15,
    )


def test_fully_masked_row_is_zero_not_nan(backend):
    q = backend.asarray([[1.0, 0.0], [0.0, 1.0]])
    v = backend.asarray([[1.0, 2.0], [3.0, 4.0]])
    mask = backend.mask([[True, True], [False, False]])
    out, w = backend.mod.attention(q, q, v, mask=mask, scale=1.0)
    e = math.e
    np.testing.assert_allclose(
        backend.to_numpy(w), [[e / (e + 1), 1 / (e + 1)], [0, 0]], atol=1e-15
    )
    np.testing.assert_array_equal(backend.to_numpy(out)[1], [0.0, 0.0])


def test_softmax_along_any_axis(backend):
    x = backend.asarray([[0.0, LN3], [LN3, 0.0]])
    np.testing.assert_allclose(
        backend.to_numpy(backend.mod.softmax(x, axis=0)), [[0.25, 0.75], [0.75, 0.25]]
    )
    np.testing.assert_allclose(
        backend.to_numpy(backend.mod.softmax(x)), [[0.25, 0.75], [0.75, 0.25]]
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_preserved(backend, dtype):
    rng = np.random.default_rng(2)
    q = backend.asarray(rng.standard_normal((3, 4)), dtype)
    out, w = backend.mod.attention(q, q, q)
    assert str(out.dtype).endswith(dtype)
    assert str(w.dtype).endswith(dtype)
    assert str(backend.mod.score(q, q).dtype).endswith(dtype)
    assert str(backend.mod.softmax(q).dtype).endswith(dtype)
    assert str(backend.mod.rotary(q).dtype).endswith(dtype)
    out, w = backend.mod.multi_head_self_attention(
        q[:, :2], *[q[:2, :2]] * 4, num_heads=2
    )
    assert str(out.dtype).endswith(dtype)
    assert str(w.dtype).endswith(dtype)


def test_numpy_accepts_lists_and_integers():
    from selfattention import attention

    out, w = attention([[1, 0], [0, 1]], [[1, 0], [0, 1]], [[2, 4], [6, 8]], scale=0)
    assert out.dtype == np.float64
    # scale 0: every weight 1/2
    np.testing.assert_array_equal(out, [[4.0, 6.0], [4.0, 6.0]])
    np.testing.assert_array_equal(w, np.full((2, 2), 0.5))


def test_batch_dimensions_broadcast(backend):
    rng = np.random.default_rng(3)
    q = rng.standard_normal((2, 1, 4, 3))  # (batch, 1, n, d_k)
    k = rng.standard_normal((3, 5, 3))  # (heads, m, d_k)
    v = rng.standard_normal((5, 2))  # (m, d_v): shared by everyone
    out, w = backend.mod.attention(
        backend.asarray(q), backend.asarray(k), backend.asarray(v)
    )
    assert tuple(out.shape) == (2, 3, 4, 2)
    assert tuple(w.shape) == (2, 3, 4, 5)
    for b in range(2):
        for h in range(3):
            ref, _ = backend.mod.attention(
                backend.asarray(q[b, 0]), backend.asarray(k[h]), backend.asarray(v)
            )
            np.testing.assert_allclose(
                backend.to_numpy(out)[b, h], backend.to_numpy(ref), atol=1e-14
            )


def test_large_scores_stay_finite_where_a_naive_softmax_fails(backend):
    from selfattention.examples import naive_softmax

    scores = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = naive_softmax(scores)
    assert np.isnan(naive).any()  # exp(1e4) = inf, and inf / inf = NaN
    w = backend.mod.normalize(backend.asarray(scores, "float32"))
    assert str(w.dtype).endswith("float32")
    np.testing.assert_allclose(
        backend.to_numpy(w), [[1, 0, 0], [0, 0.5, 0.5]], rtol=0, atol=1e-7
    )


def test_sinusoidal_positions_by_hand(backend):
    # d_model = 4: pair 0 turns at 1 radian per position, pair 1 at
    # 1/10000^(2/4) = 1/100 radian per position.
    pe = backend.to_numpy(
        backend.mod.sinusoidal_positions(3, 4, dtype=backend.dtype("float64"))
    )
    expected = [
        [math.sin(p), math.cos(p), math.sin(p / 100), math.cos(p / 100)]
        for p in range(3)
    ]
    np.testing.assert_allclose(pe, expected, rtol=0, atol=1e-15)
    assert pe[0].tolist() == [0.0, 1.0, 0.0, 1.0]  # position 0: sin 0 = 0 and cos 0 = 1


def test_rotary_by_hand(backend):
    # d = 4, base 100: pair 0 turns by p radians,
    # pair 1 by p / 100^(2/4) = p / 10 radians.
    x = backend.asarray([[1.0, 0.0, 0.0, 2.0]] * 3)
    rotated = backend.to_numpy(backend.mod.rotary(x, base=100.0))
    expected = [
        [math.cos(p), math.sin(p), -2 * math.sin(p / 10), 2 * math.cos(p / 10)]
        for p in range(3)
    ]
    np.testing.assert_allclose(rotated, expected, rtol=0, atol=1e-15)


def test_two_heads_by_hand(backend):
    """d_model = 2, two heads of one feature each; every projection is the identity, so
    head h sees feature h.
    """
    x = backend.asarray([[LN3, 0.0], [0.0, 0.0]])
    eye = backend.asarray(np.eye(2))
    out, w = backend.mod.multi_head_self_attention(x, eye, eye, eye, eye, num_heads=2)
    # head 0: scores x0·x0ᵀ with scale 1/√1: [[ln²3, 0], [0, 0]];
    # head 1: all zeros, so uniform weights
    a = math.exp(LN3**2)
    np.testing.assert_allclose(
        backend.to_numpy(w)[0], [[a / (a + 1), 1 / (a + 1)], [0.5, 0.5]], atol=1e-15
    )
    np.testing.assert_allclose(
        backend.to_numpy(w)[1], [[0.5, 0.5], [0.5, 0.5]], atol=1e-15
    )
    # head 0 blends the values LN3 and 0 of feature 0
    head0 = [LN3 * a / (a + 1), LN3 / 2]
    np.testing.assert_allclose(
        backend.to_numpy(out), [[head0[0], 0.0], [head0[1], 0.0]], atol=1e-15
    )


def test_normalize_leaves_the_callers_scores_alone(backend):
    scores = backend.asarray([[LN3, 0.0], [1.0, 2.0]])
    before = backend.to_numpy(scores).copy()
    backend.mod.normalize(scores, mask=backend.mask([[True, True], [False, True]]))
    backend.mod.softmax(scores, axis=0)
    np.testing.assert_array_equal(backend.to_numpy(scores), before)


def test_numpy_normalize_writes_into_out_when_asked():
    from selfattention import numpy_backend

    scores = np.array([[LN3, 0.0], [0.0, 0.0]])
    weights = numpy_backend.normalize(scores, out=scores)
    # attention uses this to keep one (..., n, m) array instead of two
    assert weights is scores
    np.testing.assert_allclose(scores, [[0.75, 0.25], [0.5, 0.5]], rtol=0, atol=1e-15)
    for bad in [np.zeros((2, 3)), np.zeros((2, 2), np.float32), [[0.0, 0.0]] * 2]:
        with pytest.raises(
            ValueError,
            match=r"out must be a NumPy array of the scores' shape \(2, 2\) "
            r"and dtype float64",
        ):
            numpy_backend.normalize(scores, out=bad)


def test_huge_but_finite_scores_are_accepted(backend):
    """The finiteness check takes a shortcut (one sum over all entries); where that sum
    overflows, it must still accept finite entries."""
    # their sum and their squares overflow float32
    scores = backend.asarray([[3e38, 3e38, 0.0]], "float32")
    w = backend.to_numpy(backend.mod.normalize(scores))
    np.testing.assert_allclose(w, [[0.5, 0.5, 0.0]], rtol=0, atol=1e-7)

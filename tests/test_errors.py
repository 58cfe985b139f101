"""Bad input gets a clear error naming what is wrong, never a silent wrong answer."""

import re

import numpy as np
import pytest

from selfattention import numpy_backend

from .conftest import requires_torch


def arrays(backend, *shapes):
    rng = np.random.default_rng(0)
    return [backend.asarray(rng.standard_normal(s)) for s in shapes]


def test_dk_mismatch_names_both_shapes(backend):
    q, k, v = arrays(backend, (2, 3, 4), (2, 5, 3), (2, 5, 2))
    with pytest.raises(ValueError, match=re.escape("q (2, 3, 4) and k (2, 5, 3)")):
        backend.mod.attention(q, k, v)
    with pytest.raises(ValueError, match="same last dimension d_k"):
        backend.mod.score(q, k)


def test_k_and_v_lengths_must_match(backend):
    q, k, v = arrays(backend, (3, 4), (5, 4), (6, 2))
    with pytest.raises(ValueError, match=re.escape("k (5, 4) and v (6, 2)")):
        backend.mod.attention(q, k, v)


def test_blend_checks_weights_against_v(backend):
    w, v = arrays(backend, (3, 5), (4, 2))
    with pytest.raises(ValueError, match=re.escape("got weights (3, 5) and v (4, 2)")):
        backend.mod.blend(w, v)


def test_fewer_than_two_dimensions(backend):
    q, k = arrays(backend, (4,), (3, 4))
    with pytest.raises(
        ValueError, match=re.escape("q must have at least 2 dimensions")
    ):
        backend.mod.attention(q, k, k)
    with pytest.raises(ValueError, match=re.escape("got shape (4,)")):
        backend.mod.score(q, k)


def test_empty_keys(backend):
    q, k = arrays(backend, (3, 4), (0, 4))
    with pytest.raises(ValueError, match="at least one token"):
        backend.mod.attention(q, k, k)


def test_mask_that_does_not_broadcast(backend):
    q, k, v = arrays(backend, (3, 4), (5, 4), (5, 2))
    mask = backend.mask(np.ones((3, 4)))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "mask of shape (3, 4) does not broadcast to the scores' shape (3, 5)"
        ),
    ):
        backend.mod.attention(q, k, v, mask=mask)
    with pytest.raises(ValueError, match="does not broadcast"):
        backend.mod.normalize(backend.mod.score(q, k), mask=mask)


def test_mask_may_not_enlarge_the_scores(backend):
    q, k, v = arrays(backend, (3, 4), (5, 4), (5, 2))
    mask = backend.mask(np.ones((2, 3, 5)))
    with pytest.raises(
        ValueError,
        match=re.escape("(2, 3, 5) does not broadcast to the scores' shape (3, 5)"),
    ):
        backend.mod.attention(q, k, v, mask=mask)


def test_a_mask_with_an_extra_leading_dimension_on_2d_scores(backend):
    """(1, n, m) broadcasts against (n, m) only by adding a dimension:
    the weights would grow to (1, n, m).
    """
    q, k, v = arrays(backend, (3, 4), (5, 4), (5, 2))
    mask = backend.mask(np.ones((1, 3, 5)))
    message = re.escape(
        "mask of shape (1, 3, 5) does not broadcast to the scores' shape (3, 5)"
    )
    with pytest.raises(ValueError, match=message):
        backend.mod.attention(q, k, v, mask=mask)
    with pytest.raises(ValueError, match=message):
        backend.mod.normalize(backend.mod.score(q, k), mask=mask)


def test_mask_must_be_boolean(backend):
    q, k, v = arrays(backend, (3, 4), (5, 4), (5, 2))
    mask = backend.asarray(np.ones((3, 5)))
    with pytest.raises(TypeError, match="mask must be boolean"):
        backend.mod.attention(q, k, v, mask=mask)


def test_batch_dimensions_that_do_not_broadcast(backend):
    q, k, v = arrays(backend, (2, 3, 4), (3, 5, 4), (3, 5, 2))
    with pytest.raises(
        ValueError,
        match=re.escape("batch dimensions do not broadcast: q (2, 3, 4), k (3, 5, 4)"),
    ):
        backend.mod.attention(q, k, v)


def test_mask_and_causal_together(backend):
    q, k, v = arrays(backend, (3, 4), (3, 4), (3, 2))
    with pytest.raises(ValueError, match="either mask or causal=True, not both"):
        backend.mod.attention(q, k, v, mask=backend.mask(np.ones((3, 3))), causal=True)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("which", ["q", "k", "v"])
def test_non_finite_inputs(backend, bad, which):
    q, k, v = (np.random.default_rng(0).standard_normal((3, 4)) for _ in range(3))
    {"q": q, "k": k, "v": v}[which][1, 2] = bad
    with pytest.raises(ValueError, match=f"{which} contains NaN or inf"):
        backend.mod.attention(
            backend.asarray(q), backend.asarray(k), backend.asarray(v)
        )


def test_non_finite_scores_given_to_normalize(backend):
    s = backend.asarray([[0.0, float("nan")]])
    with pytest.raises(ValueError, match="scores contains NaN or inf"):
        backend.mod.normalize(s)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_given_to_blend(backend, bad):
    weights = np.full((3, 5), 0.2)
    weights[1, 2] = bad
    v = backend.asarray(np.ones((5, 2)))
    with pytest.raises(ValueError, match="weights contains NaN or inf"):
        backend.mod.blend(backend.asarray(weights), v)


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), np.float32("inf")])
def test_non_finite_scale(backend, scale):
    q, k, v = arrays(backend, (3, 4), (3, 4), (3, 2))
    with pytest.raises(ValueError, match="scale must be finite"):
        backend.mod.attention(q, k, v, scale=scale)


@pytest.mark.parametrize("scale", ["0.5", [0.5], True, 1j])
def test_non_numeric_scale(backend, scale):
    q, k, v = arrays(backend, (3, 4), (3, 4), (3, 2))
    with pytest.raises(ValueError, match="scale must be a real number or None"):
        backend.mod.attention(q, k, v, scale=scale)


@pytest.mark.parametrize("signs", [[1, 1, 1], [1, -1, 1]], ids=["inf", "inf-minus-inf"])
def test_scores_that_overflow(backend, signs):
    # q·k = ±3e40 overflows float32
    q = backend.asarray(np.full((2, 3), 1e20) * signs, "float32")
    # with mixed signs the sum is inf - inf = NaN
    k = backend.asarray(np.full((2, 3), 1e20), "float32")
    with pytest.raises(ValueError, match="overflowed to infinity in (torch.)?float32"):
        backend.mod.attention(q, k, k)
    with pytest.raises(ValueError, match="overflowed to infinity"):
        backend.mod.score(q, k)
    if backend.is_numpy:
        from selfattention.fast import chunked_attention as fast_path
    else:
        from selfattention.torch_fast import fused_attention as fast_path
    with pytest.raises(ValueError, match="overflowed to infinity"):
        fast_path(q, k, k)


def test_scores_that_nearly_overflow_are_accepted(backend):
    """The overflow check is exact: large inputs whose scores still fit the dtype pass
    (and give the right answer).
    """
    # max|q| · max|k| = 1e39 exceeds float32's 3.4e38 ...
    q = backend.asarray([[1e19, 0.0]], "float32")
    # ... but the scores are 1e20 and 0
    k = backend.asarray([[10.0, 0.0], [0.0, 1e20]], "float32")
    scores = backend.to_numpy(backend.mod.score(q, k, scale=1.0))
    np.testing.assert_allclose(scores, [[1e20, 0.0]], rtol=1e-6)


@pytest.mark.parametrize("bad", [[["a", "b"]], np.array([[object(), object()]])])
def test_numpy_rejects_non_numeric_data(bad):
    with pytest.raises(
        TypeError, match="q must hold real numbers, got an array of dtype"
    ):
        numpy_backend.attention(bad, np.ones((2, 2)), np.ones((2, 2)))


def test_numpy_rejects_complex_numbers():
    with pytest.raises(TypeError, match="complex128"):
        numpy_backend.softmax(np.array([1 + 1j, 2]))


@requires_torch
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "complex64"])
def test_torch_rejects_non_float_tensors_naming_the_dtype(dtype):
    import torch

    from selfattention import torch_backend

    q = torch.ones((3, 4), dtype=getattr(torch, dtype))
    with pytest.raises(TypeError, match=re.escape(f"got torch.{dtype}")):
        torch_backend.attention(q, q, q)


@requires_torch
def test_torch_rejects_non_tensors():
    import torch

    from selfattention import torch_backend

    with pytest.raises(TypeError, match="q must be a torch.Tensor, got list"):
        torch_backend.attention([[1.0]], torch.ones(1, 1), torch.ones(1, 1))
    with pytest.raises(
        TypeError, match="mask must be a boolean torch.Tensor, got ndarray"
    ):
        torch_backend.attention(
            torch.ones(2, 1),
            torch.ones(2, 1),
            torch.ones(2, 1),
            mask=np.ones((2, 2), bool),
        )


def test_self_attention_checks_projection_shapes(backend):
    x, w_q, w_k, w_v = arrays(backend, (4, 3), (2, 2), (3, 2), (3, 2))
    with pytest.raises(ValueError, match=re.escape("got x (4, 3) and w_q (2, 2)")):
        backend.mod.self_attention(x, w_q, w_k, w_v)


@pytest.mark.parametrize("which", ["w_q", "w_k", "w_v", "w_o"])
def test_multi_head_projections_must_be_square(backend, which):
    shapes = {
        "x": (2, 5, 4),
        "w_q": (4, 4),
        "w_k": (4, 4),
        "w_v": (4, 4),
        "w_o": (4, 4),
    }
    shapes[which] = (4, 6)
    x, *ws = arrays(backend, *shapes.values())
    message = re.escape(
        f"{which} must have shape (d_model, d_model) = (4, 4) "
        "with d_model = x.shape[-1], "
    )
    with pytest.raises(
        ValueError, match=message + re.escape(f"got x (2, 5, 4) and {which} (4, 6)")
    ):
        backend.mod.multi_head_self_attention(x, *ws, num_heads=2)


def test_heads_must_divide_d_model(backend):
    x, *ws = arrays(backend, (5, 6), (6, 6), (6, 6), (6, 6), (6, 6))
    with pytest.raises(
        ValueError, match="d_model = 6 is not divisible by num_heads = 4"
    ):
        backend.mod.multi_head_self_attention(x, *ws, num_heads=4)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, None])
def test_num_heads_must_be_a_positive_integer(backend, bad):
    x, *ws = arrays(backend, (5, 6), (6, 6), (6, 6), (6, 6), (6, 6))
    with pytest.raises(
        ValueError,
        match=re.escape(f"num_heads must be a positive integer, got {bad!r}"),
    ):
        backend.mod.multi_head_self_attention(x, *ws, num_heads=bad)


def test_multi_head_checks_its_input_and_its_mask(backend):
    x, *ws = arrays(backend, (5, 6), (6, 6), (6, 6), (6, 6), (6, 6))
    bad = np.ones((5, 6))
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        backend.mod.multi_head_self_attention(backend.asarray(bad), *ws, num_heads=2)
    with pytest.raises(
        ValueError, match=re.escape("mask of shape (4, 5) does not broadcast")
    ):
        backend.mod.multi_head_self_attention(
            x, *ws, num_heads=2, mask=backend.mask(np.ones((4, 5)))
        )
    with pytest.raises(ValueError, match="either mask or causal=True"):
        backend.mod.multi_head_self_attention(
            x, *ws, num_heads=2, mask=backend.mask(np.ones((5, 5))), causal=True
        )


@pytest.mark.parametrize("d_model", [1, 5])
def test_sinusoidal_positions_need_an_even_d_model(backend, d_model):
    with pytest.raises(
        ValueError,
        match=f"d_model must be even \\(the features come in pairs\\), got {d_model}",
    ):
        backend.mod.sinusoidal_positions(4, d_model)


@pytest.mark.parametrize(
    ("n", "d_model", "message"),
    [(-1, 4, "n must be a non-negative integer"), (3, 0, "d_model")],
)
def test_sinusoidal_positions_need_counts(backend, n, d_model, message):
    with pytest.raises(ValueError, match=message):
        backend.mod.sinusoidal_positions(n, d_model)


def test_rotary_needs_pairs_of_features(backend):
    (x,) = arrays(backend, (2, 4, 5))
    with pytest.raises(
        ValueError, match=re.escape("the last dimension of x (2, 4, 5) must be even")
    ):
        backend.mod.rotary(x)
    (x,) = arrays(backend, (4,))
    with pytest.raises(
        ValueError, match=re.escape("x must have at least 2 dimensions")
    ):
        backend.mod.rotary(x)


@pytest.mark.parametrize("base", [0.0, -10.0, float("inf"), "10"])
def test_rotary_needs_a_positive_base(backend, base):
    (x,) = arrays(backend, (4, 2))
    with pytest.raises(ValueError, match="base must be"):
        backend.mod.rotary(x, base=base)

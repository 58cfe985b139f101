"""Bad input gets a clear error naming what is wrong, never a silent wrong answer."""

import re

import numpy as np
import pytest
import torch

from selfattention import numpy_backend, torch_backend


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
    with pytest.raises(ValueError, match=re.escape("q must have at least 2 dimensions")):
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
        ValueError, match=re.escape("mask of shape (3, 4) does not broadcast to the scores' shape (3, 5)")
    ):
        backend.mod.attention(q, k, v, mask=mask)
    with pytest.raises(ValueError, match="does not broadcast"):
        backend.mod.normalize(backend.mod.score(q, k), mask=mask)


def test_mask_may_not_enlarge_the_scores(backend):
    q, k, v = arrays(backend, (3, 4), (5, 4), (5, 2))
    mask = backend.mask(np.ones((2, 3, 5)))
    with pytest.raises(ValueError, match=re.escape("(2, 3, 5) does not broadcast to the scores' shape (3, 5)")):
        backend.mod.attention(q, k, v, mask=mask)


def test_mask_must_be_boolean(backend):
    q, k, v = arrays(backend, (3, 4), (5, 4), (5, 2))
    mask = backend.asarray(np.ones((3, 5)))
    with pytest.raises(TypeError, match="mask must be boolean"):
        backend.mod.attention(q, k, v, mask=mask)


def test_batch_dimensions_that_do_not_broadcast(backend):
    q, k, v = arrays(backend, (2, 3, 4), (3, 5, 4), (3, 5, 2))
    with pytest.raises(ValueError, match=re.escape("batch dimensions do not broadcast: q (2, 3, 4), k (3, 5, 4)")):
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
        backend.mod.attention(backend.asarray(q), backend.asarray(k), backend.asarray(v))


def test_non_finite_scores_given_to_normalize(backend):
    s = backend.asarray([[0.0, float("nan")]])
    with pytest.raises(ValueError, match="scores contains NaN or inf"):
        backend.mod.normalize(s)


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
    q = backend.asarray(np.full((2, 3), 1e20) * signs, "float32")  # q·k = ±3e40 overflows float32
    k = backend.asarray(np.full((2, 3), 1e20), "float32")  # with mixed signs the sum is inf - inf = NaN
    with pytest.raises(ValueError, match="overflowed to infinity"):
        backend.mod.attention(q, k, k)
    if backend.name != "numpy" and signs == [1, 1, 1]:  # (with mixed signs PyTorch's kernel may stay finite)
        with pytest.raises(ValueError, match="overflowed to infinity in fused_attention"):
            backend.mod.fused_attention(q, k, k)


@pytest.mark.parametrize("bad", [[["a", "b"]], np.array([[object(), object()]])])
def test_numpy_rejects_non_numeric_data(bad):
    with pytest.raises(TypeError, match="q must hold real numbers, got an array of dtype"):
        numpy_backend.attention(bad, np.ones((2, 2)), np.ones((2, 2)))


def test_numpy_rejects_complex_numbers():
    with pytest.raises(TypeError, match="complex128"):
        numpy_backend.softmax(np.array([1 + 1j, 2]))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.complex64])
def test_torch_rejects_non_float_tensors_naming_the_dtype(dtype):
    q = torch.ones((3, 4), dtype=dtype)
    with pytest.raises(TypeError, match=re.escape(f"got {dtype}")):
        torch_backend.attention(q, q, q)


def test_torch_rejects_non_tensors():
    with pytest.raises(TypeError, match="q must be a torch.Tensor, got list"):
        torch_backend.attention([[1.0]], torch.ones(1, 1), torch.ones(1, 1))
    with pytest.raises(TypeError, match="mask must be a boolean torch.Tensor, got ndarray"):
        torch_backend.attention(torch.ones(2, 1), torch.ones(2, 1), torch.ones(2, 1), mask=np.ones((2, 2), bool))


def test_self_attention_checks_projection_shapes(backend):
    x, w_q, w_k, w_v = arrays(backend, (4, 3), (2, 2), (3, 2), (3, 2))
    with pytest.raises(ValueError, match=re.escape("got x (4, 3) and w_q (2, 2)")):
        backend.mod.self_attention(x, w_q, w_k, w_v)


def test_chunked_attention_rejects_bad_block_size():
    q = np.ones((3, 2))
    for bad in [0, -1, 2.5, True]:
        with pytest.raises(ValueError, match="block_size must be a positive integer"):
            numpy_backend.chunked_attention(q, q, q, block_size=bad)

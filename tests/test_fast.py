"""The NumPy fast path (``selfattention.fast``): chunked attention and the online
softmax, without torch.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from selfattention import chunked_attention, fast, numpy_backend

from .test_properties import qkv

LN3 = math.log(3.0)


def test_importing_selfattention_and_its_fast_path_does_not_import_torch():
    code = (
        "import sys, selfattention as s, selfattention.fast; s.softmax([1.0, 2.0]); "
        "s.chunked_attention([[1.0]], [[1.0]], [[1.0]]); "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False False"


def test_chunked_attention_is_exported_at_the_top_level():
    assert chunked_attention is fast.chunked_attention


@settings(max_examples=60, deadline=None)
@given(qkv(), st.integers(1, 7), st.booleans())
def test_chunked_attention_equals_attention(data, block_size, causal):
    q, k, v = data
    expected, _ = numpy_backend.attention(q, k, v, causal=causal)
    got = fast.chunked_attention(q, k, v, causal=causal, block_size=block_size)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(qkv(), st.integers(1, 7), st.randoms(use_true_random=False))
def test_chunked_attention_with_a_mask_equals_attention(data, block_size, random):
    q, k, v = data
    mask = (
        np.random.default_rng(random.randint(0, 2**32 - 1)).random(
            (q.shape[0], k.shape[0])
        )
        < 0.6
    )
    expected, _ = numpy_backend.attention(q, k, v, mask=mask)
    got = fast.chunked_attention(q, k, v, mask=mask, block_size=block_size)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["plain", "causal", "mask"])
def test_chunked_attention_agrees_above_the_threading_threshold(dtype, kind):
    """n·m above the threshold where query stripes run on several threads
    (on a machine with 2+ cores).
    """
    n = m = 2048
    assert n * m >= fast._PARALLEL_MIN_SCORES
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal((n, 32)).astype(dtype) for _ in range(3))
    kw = (
        {"causal": True}
        if kind == "causal"
        else {"mask": rng.random((n, m)) < 0.5}
        if kind == "mask"
        else {}
    )
    if kind == "mask":
        kw["mask"][5] = False  # one fully masked row
    expected, _ = numpy_backend.attention(q, k, v, **kw)
    got = fast.chunked_attention(q, k, v, **kw)
    assert got.dtype == dtype
    np.testing.assert_allclose(
        got, expected, rtol=0, atol=1e-12 if dtype == np.float64 else 1e-5
    )
    if kind == "mask":
        np.testing.assert_array_equal(got[5], 0.0)


def test_chunked_attention_reports_overflow():
    q = np.full((2048, 4), 1e20, dtype=np.float32)
    with pytest.raises(ValueError, match="overflowed to infinity in float32"):
        fast.chunked_attention(q, q, q)


def test_chunked_attention_rejects_bad_block_size():
    q = np.ones((3, 2))
    for bad in [0, -1, 2.5, True]:
        with pytest.raises(ValueError, match="block_size must be a positive integer"):
            fast.chunked_attention(q, q, q, block_size=bad)


def test_chunked_attention_memory_does_not_grow_like_n_squared():
    import tracemalloc

    rng = np.random.default_rng(0)
    peaks = {}
    for n in (1024, 4096):
        q, k, v = (rng.standard_normal((n, 64)).astype(np.float32) for _ in range(3))
        tracemalloc.start()
        out = fast.chunked_attention(q, k, v)
        peaks[n] = tracemalloc.get_traced_memory()[1] - out.nbytes
        tracemalloc.stop()
    assert peaks[4096] < 16 * 2**20  # an n x n float32 matrix alone would take 64 MiB
    # 16x more scores, far less than 16x more memory
    assert peaks[4096] < 4 * peaks[1024]


def test_online_softmax_by_hand():
    # scores 0 and ln 3 in two blocks; values 4 and 8.
    steps = fast.online_softmax_trace([0.0, LN3], [[4.0], [8.0]], block_size=1)
    first, second = steps
    # exp(-inf) = 0: nothing before
    assert (first.row_max, first.correction, first.total) == (0.0, 0.0, 1.0)
    np.testing.assert_allclose(first.output, [4.0])
    assert second.row_max == LN3
    assert math.isclose(second.correction, 1 / 3)  # exp(0 - ln 3)
    # the old term rescaled, plus exp(ln 3 - ln 3)
    assert math.isclose(second.total, 1 / 3 + 1)
    # softmax = (1/4, 3/4)
    np.testing.assert_allclose(second.output / second.total, [0.25 * 4 + 0.75 * 8])


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 9), elements=st.floats(-30, 30)),
    st.integers(1, 4),
    st.integers(1, 9),
    st.randoms(use_true_random=False),
)
def test_online_softmax_trace_ends_at_the_softmax_blend(
    scores, d_v, block_size, random
):
    values = np.random.default_rng(random.randint(0, 2**32 - 1)).standard_normal(
        (len(scores), d_v)
    )
    steps = fast.online_softmax_trace(scores, values, block_size)
    assert len(steps) == math.ceil(len(scores) / block_size)
    assert [s.keys.start for s in steps] == list(range(0, len(scores), block_size))
    assert steps[-1].row_max == scores.max()
    # the softmax, written out here independently of the package
    e = np.exp(scores - scores.max())
    np.testing.assert_allclose(steps[-1].total, e.sum(), rtol=1e-12)
    np.testing.assert_allclose(
        steps[-1].output / steps[-1].total, e @ values / e.sum(), rtol=0, atol=1e-12
    )

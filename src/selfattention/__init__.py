"""selfattention: the code behind *Self-Attention, Interactively*.

Every number and picture in the book is computed here. The NumPy backend is
re-exported at the top level::

    from selfattention import (
        attention, score, normalize, blend, self_attention, softmax
    )

and ``selfattention.torch_backend`` has the same functions for torch tensors on any
device (importing ``selfattention`` alone never imports torch). The fast paths live
apart from these teaching modules: ``selfattention.fast`` (``chunked_attention``,
NumPy, also re-exported here) and ``selfattention.torch_fast`` (``fused_attention``).

Vocabulary, used the same way in every module:

=============  ========================================================================
``n``          number of queries: the tokens doing the looking
               (rows of the attention matrix)
``m``          number of keys and values: the tokens being looked at (columns);
               m == n in self-attention
``d_k``        length of each query and key vector
``d_v``        length of each value vector (and of each output vector)
``d_model``    length of each input token vector ``x``
``num_heads``  number of heads in multi-head attention
``d_head``     length of each head's slice of q, k and v: d_model / num_heads
``...``        leading batch dimensions (sentences, heads), broadcast like torch's SDPA
=============  ========================================================================
"""

from importlib.metadata import PackageNotFoundError, version

from .fast import chunked_attention
from .numpy_backend import (
    attention,
    blend,
    causal_mask,
    multi_head_self_attention,
    normalize,
    rotary,
    score,
    self_attention,
    sinusoidal_positions,
    softmax,
)

try:  # written once, in pyproject.toml
    __version__ = version("selfattention")
except PackageNotFoundError:  # the source tree without an install
    __version__ = "0+unknown"

__all__ = [
    "attention",
    "blend",
    "causal_mask",
    "chunked_attention",
    "multi_head_self_attention",
    "normalize",
    "rotary",
    "score",
    "self_attention",
    "sinusoidal_positions",
    "softmax",
]

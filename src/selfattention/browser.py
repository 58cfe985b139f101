"""What the HTML book's JavaScript computes with, exported from this package.

The book computes chapter 6's hand-built layers in the reader's browser
(``book_assets/js/selfattention.js``: the same score → normalize → blend as
``numpy_backend.py``). Its data is never typed twice: the book's build
(``book_ext/bookext.py``) calls :func:`write_data_js`, which writes the vocabulary, the
hand-built matrices, the limits and messages of ``examples.tokenize`` and the pictures'
colours into one script, ``window.selfattentionData = {...};``, loaded before the
library. ``tests/test_browser_compute.py`` compares the browser's results with
``examples.contextualize`` on many sentences.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from pathlib import Path

from . import examples

__all__ = ["book_data", "hand_built_data", "style_data", "write_data_js"]


def hand_built_data() -> dict:
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
def unicode_data() -> dict:
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


def style_data() -> dict:
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


def book_data() -> dict:
    """The hand-built layers and the pictures' style, in one object."""
    return {**hand_built_data(), "style": style_data()}


def write_data_js(path: str | Path) -> Path:
    """Write ``window.selfattentionData = {...};`` (``book_data()``) to ``path``
    (UTF-8); returns the path. Leaves the file untouched when it already says the same.
    """
    path = Path(path)
    text = (
        "// Written by selfattention.browser.write_data_js (the book's build): "
        "do not edit.\n"
        "window.selfattentionData = "
        + json.dumps(book_data(), ensure_ascii=False, separators=(",", ":"))
        + ";\n"
    )
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path

"""The book's look: colours, sizes and text, shared by every picture.

Colours and colour maps are read from this module when a picture is drawn
(``style.CMAP``), so that one change here changes every picture. Nothing here imports
matplotlib until a function needs it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.typing import ColorType
    from numpy.typing import NDArray


#: Perceptually uniform and readable in grey scale and by most colour-blind readers:
#: attention weights (0 to 1).
CMAP = "viridis"
#: The same qualities, for values with a sign (scores, position features, cosine
#: similarities): dark for the most negative, light for the most positive. A diverging
#: map (purple-white-orange) would centre 0 but loses its order in grey scale.
SIGNED_CMAP = "cividis"
QUERY_COLOR = "#d62728"
KEY_COLOR = "#1f77b4"
OUTPUT_COLOR = "#2ca02c"
#: What marks the highlighted bar besides its colour (a reader who does not see red, or
#: a grey-scale print, still finds it).
HIGHLIGHT_HATCH = "///"

#: The widest figure, in inches at ``DPI``. The book's text column shows pictures up to
#: 672 CSS pixels wide (with a 1280-pixel-wide window) at full size and scales wider
#: ones down; at this width or less, text of ``SMALL`` points reads as at least 9
#: points (WCAG-minded; tests/test_accessibility.py measures every figure).
WIDTH = 6.8
DPI = 100
#: The smallest text in any figure: values in cells, bar values, legends, notes.
SMALL = 9
#: Lines of series told apart without colour (marker and line style differ too).
SERIES_STYLES = (
    {"marker": "o", "linestyle": "-"},
    {"marker": "s", "linestyle": "-."},
    {"marker": "^", "linestyle": ":"},
    {"marker": "D", "linestyle": (0, (6, 2, 1, 2, 1, 2))},
    {"marker": "v", "linestyle": (0, (1, 1))},
)
#: Hatches of grouped bars (one per series), for the same reason.
SERIES_HATCHES = ("", "///", "...", "xx", "\\\\")


def missing_glyphs(texts: Iterable[str]) -> list[str]:
    """The characters of ``texts`` that the figures' font cannot draw
    (matplotlib would show empty boxes).
    """
    drawable = _drawable_codepoints()
    seen = dict.fromkeys(
        ch
        for text in texts
        for ch in text
        if not ch.isspace() and ord(ch) not in drawable
    )
    return list(seen)


@functools.lru_cache(maxsize=1)
def _drawable_codepoints() -> frozenset[int]:
    from matplotlib import font_manager, ft2font, rcParams

    path = font_manager.findfont(
        font_manager.FontProperties(family=rcParams["font.family"])
    )
    return frozenset(ft2font.FT2Font(path).get_charmap())


def ink(color: ColorType | NDArray[np.floating]) -> str:
    """Black or white, whichever reads better on ``color`` (WCAG contrast ratio)."""
    from matplotlib.colors import to_rgb

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    # an RGBA row of a colour map's output (an array) as a tuple, like any colour
    rgb = to_rgb(color if isinstance(color, str | tuple) else tuple(color))
    r, g, b = (linear(c) for c in rgb)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # contrast with black (L + 0.05) / 0.05 against white 1.05 / (L + 0.05)
    return "black" if (luminance + 0.05) ** 2 > 0.05 * 1.05 else "white"


def slanted_xticks(ax: Axes, labels: Sequence[str]) -> None:
    """Word labels under the columns of ``ax``, slanted so that long words do not
    overlap, each ending under its column."""
    ax.set_xticks(
        range(len(labels)),
        labels,
        rotation=45,
        ha="right",
        rotation_mode="anchor",
        fontsize=SMALL,
    )


#: Token labels longer than this are shortened in the explorers' pictures
#: (whose layout is fixed).
LABEL_CHARS = 10


def short_labels(tokens: Iterable[str], limit: int = LABEL_CHARS) -> list[str]:
    """Token labels that fit a fixed layout: longer ones end in "…"."""
    return [t if len(t) <= limit else t[: limit - 1] + "…" for t in tokens]

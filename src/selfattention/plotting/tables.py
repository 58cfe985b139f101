"""Chapter figures that write the numbers in their cells: the hand-built example's
row computed step by step, a layer's projections, score matrices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from numpy.typing import ArrayLike

from ..examples import FEATURES, Layer, WorkedExample
from . import style
from .canvas import new_figure
from .style import SMALL, WIDTH, ink, slanted_xticks

#: The steps of one row of attention, in order; each adds columns to the table.
STEPS = ("score", "normalize", "blend")
#: The columns each step marks as the ones it computes.
_MARKED = {"score": "scores", "normalize": "weights", "blend": "values"}

#: A column of the table: its title, and where its numbers come from, (attribute of the
#: WorkedExample, column of it or None), or None for the tokens' own column.
Column = tuple[str, tuple[str, int | None] | None]


def worked_example(
    example: WorkedExample, step: str | None = None, *, height: float = 5.2
) -> Figure:
    """The row of one token computed step by step, as a table: keys, scores, weights,
    values and the output.

    ``example`` is an ``examples.WorkedExample``. ``step`` ("score", "normalize" or
    "blend") shows the columns of that step and marks the one computed in it: keys and
    scores; then the weights too; then the weights, the values and the output (the keys
    and scores made the weights; leaving them out keeps the table narrow enough to
    read). None is the same as "blend". Value features that are 0 for every token are
    left out (the note under the table says so).
    """
    if step is not None and step not in STEPS:
        raise ValueError(f"step must be one of {list(STEPS)} or None, got {step!r}")
    upto = STEPS.index(step) if step else 2
    # the value features that are not 0 for every token
    shown = [
        j for j in range(example.values.shape[1]) if np.any(example.values[:, j] != 0)
    ]
    columns = _columns(example, upto, shown)
    fig, ax = _table_axes(example, len(columns), upto, height)
    query_row = example.tokens.index(example.query_token)
    for c, (title, source) in enumerate(columns):
        marked = source is not None and source[0] == _MARKED[STEPS[upto]]
        _header(ax, c, title, marked)
        for r, token in enumerate(example.tokens):
            _cell(ax, c, r, token, example, source, marked, query_row)
    ax.axhline(-0.55, color="0.3", lw=0.8)
    if upto >= 2:
        _output_row(ax, example, shown)
        left_out = len(FEATURES) - len(shown)
        note = (
            f"{left_out} features that are 0 for every token are left out."
            if left_out
            else ""
        )
        fig.text(0.01, 0.02, note, fontsize=SMALL, color="0.35")
    return fig


def _columns(example: WorkedExample, upto: int, shown: Sequence[int]) -> list[Column]:
    """The table's columns up to step ``upto`` (an index into STEPS): the tokens, then
    the keys and scores (before the blend), the weights (from the normalize step on),
    the values (at the blend)."""
    columns: list[Column] = [("token", None)]
    if upto < 2:
        columns += [
            (f"key\n{role}", ("keys", i)) for i, role in enumerate(example.roles)
        ]
        columns += [("score", ("scores", None))]
    if upto >= 1:
        columns += [("weight", ("weights", None))]
    if upto >= 2:
        features = [
            FEATURES[j]
            .replace("said of the ", "said of ")
            .replace("said of ", "said of\n")
            for j in shown
        ]
        columns += [
            (f"value\n{name}", ("values", j))
            for name, j in zip(features, shown, strict=True)
        ]
    return columns


def _table_axes(
    example: WorkedExample, columns: int, upto: int, height: float
) -> tuple[Figure, Axes]:
    """The figure, its title (the query) and empty axes with a unit per cell: the
    header rows above the tokens' rows, the output row below."""
    # no output row before the blend step
    height = height if upto >= 2 else height - 0.6
    # the same size of text at every step
    fig = new_figure(0.4 + 0.7 * columns, height, layout=None)
    ax = fig.add_axes((0.01, 0.08, 0.98, 0.8))
    ax.set_xlim(-0.5, columns - 0.5)
    n = len(example.tokens)
    ax.set_ylim(n + 1.0 if upto >= 2 else n - 0.4, -2.0)
    ax.axis("off")
    query = ", ".join(
        f"{role} {v:.2f}" for role, v in zip(example.roles, example.query, strict=True)
    )
    fig.suptitle(
        f'The row of "{example.query_token}": query ({query})',
        fontsize=10,
        x=0.01,
        ha="left",
    )
    return fig, ax


def _header(ax: Axes, c: int, title: str, marked: bool) -> None:
    """The title of column ``c``, bold in the column its step computes."""
    ax.text(
        c,
        -0.75,
        title,
        ha="center",
        va="bottom",
        fontsize=SMALL,
        fontweight="bold" if marked else "normal",
    )


def _cell(
    ax: Axes,
    c: int,
    r: int,
    token: str,
    example: WorkedExample,
    source: tuple[str, int | None] | None,
    marked: bool,
    query_row: int,
) -> None:
    """The cell of token ``r`` in column ``c``: its number (or the token), tinted
    red in the marked column and blue where the number is not 0."""
    if source is None:
        text, value = token, None
    else:
        array = getattr(example, source[0])
        value = array[r] if source[1] is None else array[r, source[1]]
        text = f"{value:.3f}" if source[0] == "weights" else f"{value:.2f}"
    weight = "bold" if (r == query_row and source is None) else "normal"
    # zeros recede, the numbers that matter stand out (dark enough to read:
    # contrast above 4.5 on the tinted cells)
    color = "0.4" if value == 0 else "black"
    ax.text(
        c,
        r,
        text,
        ha="center",
        va="center",
        fontsize=SMALL,
        fontweight=weight,
        color=color,
    )
    if marked:
        _tint(ax, c, r - 0.45, style.QUERY_COLOR, 0.08)
    elif value is not None and value != 0:
        _tint(ax, c, r - 0.45, style.KEY_COLOR, 0.08)


def _output_row(ax: Axes, example: WorkedExample, shown: Sequence[int]) -> None:
    """Under the value columns, the output: the weighted sum of the value rows."""
    n = len(example.tokens)
    first = 2  # after the token and weight columns
    ax.axhline(n - 0.5, color="0.3", lw=0.8)
    ax.text(
        0.5,
        n + 0.2,
        "output =\nΣ weight × value",
        ha="center",
        va="center",
        fontsize=SMALL,
        fontweight="bold",
    )
    for c, j in enumerate(shown, start=first):
        ax.text(
            c,
            n + 0.2,
            f"{example.output[j]:.3f}",
            ha="center",
            va="center",
            fontsize=SMALL,
            fontweight="bold",
        )
        _tint(ax, c, n - 0.25, style.OUTPUT_COLOR, 0.15)


def _tint(ax: Axes, c: int, top: float, color: str, alpha: float) -> None:
    """A tinted cell of column ``c`` from ``top`` down (the y axis points down)."""
    ax.add_patch(Rectangle((c - 0.48, top), 0.96, 0.9, color=color, alpha=alpha, lw=0))


def projections(
    layer: Layer,
    features: Sequence[str],
    *,
    width: float = WIDTH,
    height: float = 4.8,
) -> Figure:
    """A hand-built layer's W_Q, W_K and W_V as labelled grids:
    rows are features, columns are roles.

    ``layer`` is an ``examples.Layer``; every non-zero entry (one rule of the layer) is
    written in its cell.
    """
    mats = [
        ("$W_Q$\nwhat a token\nlooks for", layer.w_q, layer.roles),
        ("$W_K$\nwhat a token\noffers", layer.w_k, layer.roles),
        ("$W_V$\nwhat a token passes on", layer.w_v, features),
    ]
    largest = max(float(np.abs(m).max()) for _, m, _ in mats)
    fig = new_figure(width, height)
    axes = fig.subplots(1, 3, width_ratios=[len(c) + 1.5 for _, _, c in mats])
    for ax, (title, m, columns) in zip(axes, mats, strict=True):
        image = ax.imshow(
            m,
            cmap="Blues",
            vmin=0.0,
            vmax=largest * 1.4,
            aspect="auto",
            interpolation="nearest",
        )
        ax.set_yticks(
            range(len(features)),
            features if ax is axes[0] else [""] * len(features),
            fontsize=SMALL,
        )
        slanted_xticks(ax, columns)
        ax.set_xticks(np.arange(-0.5, len(columns)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(features)), minor=True)
        ax.grid(which="minor", color="0.85", lw=0.5)
        ax.tick_params(which="minor", length=0)
        ax.set_title(title, fontsize=10)
        for (i, j), value in np.ndenumerate(m):
            if value:
                ax.text(
                    j,
                    i,
                    f"{value:g}",
                    ha="center",
                    va="center",
                    fontsize=SMALL,
                    color=ink(image.to_rgba(value)),
                )
    axes[0].set_ylabel("feature of the token")
    return fig


def score_tables(
    panels: Sequence[tuple[ArrayLike, Sequence[str], Sequence[str], str]],
    *,
    width: float = WIDTH,
    height: float = 3.8,
) -> Figure:
    """Matrices of scores with word labels, side by side, each value in its cell.

    ``panels`` is a list of (scores, rows, cols, title). One colour scale per panel,
    symmetric about 0 (the middle colour): scores are compared within a panel.
    """
    fig = new_figure(width, height)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (scores, rows, cols, title) in zip(axes, panels, strict=True):
        scores = np.asarray(scores, dtype=float)
        largest = float(np.abs(scores).max()) or 1.0
        image = ax.imshow(
            scores, cmap=style.SIGNED_CMAP, vmin=-largest, vmax=largest, aspect="auto"
        )
        ax.set_yticks(range(len(rows)), rows, fontsize=SMALL)
        slanted_xticks(ax, cols)
        ax.set_xlabel("key of the word")
        if ax is axes[0]:
            ax.set_ylabel("query of the word")
        ax.set_title(title, fontsize=10)
        colors = image.to_rgba(scores)
        for (i, j), value in np.ndenumerate(scores):
            ax.text(
                j,
                i,
                f"{value:.1f}",
                ha="center",
                va="center",
                fontsize=SMALL,
                color=ink(colors[i, j]),
            )
    return fig

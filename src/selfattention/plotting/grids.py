"""Chapter figures of many small matrices: every head's attention (chapter 10), position
vectors and their similarities (chapter 11).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from numpy.typing import ArrayLike, NDArray

from . import style
from .canvas import new_figure
from .style import SMALL, WIDTH

#: The fixed grid of ``small_multiples``, in inches: room left of the pictures (row
#: names), right of them (the colour bar), below them; ``SPACE`` between pictures,
#: relative to their size.
LEFT, RIGHT, BELOW, SPACE = 0.62, 0.75, 0.08, 0.08


def small_multiples(
    weights: NDArray[np.floating],
    *,
    row_name: str = "layer",
    col_name: str = "head",
    width: float = WIDTH,
    title: str = "",
    first_row: int = 1,
    per_line: int | None = None,
) -> Figure:
    """A grid of tiny attention matrices, ``weights`` of shape (rows, cols, n, n):
    one picture per head.

    Rows are labelled ``row_name`` first_row, first_row + 1, ...; columns
    ``col_name`` 1, then 2, 3, ... ``per_line`` pictures at most on a line: a row of
    more wraps onto further lines, so that the pictures stay large (every picture then
    has its own column title). The height follows from the width: square pictures.
    """
    rows, cols = weights.shape[:2]
    per_line = cols if per_line is None else min(per_line, cols)
    lines = -(-cols // per_line)  # lines of pictures per row of ``weights``
    fig, grid = _square_grid(width, rows, lines, per_line, title)
    axes = np.empty((rows, cols), dtype=object)
    for (line, place), ax in np.ndenumerate(grid):
        r, c = line // lines, (line % lines) * per_line + place
        if c >= cols:  # the last line of a row is not full
            ax.set_axis_off()
            continue
        axes[r, c] = ax
        ax.imshow(
            weights[r, c], cmap=style.CMAP, vmin=0.0, vmax=1.0, interpolation="nearest"
        )
        ax.set_xticks([])
        ax.set_yticks([])
        if line == 0 or lines > 1:
            ax.set_title(
                f"{col_name} {c + 1}" if place == 0 else f"{c + 1}", fontsize=SMALL
            )
        if c == 0:
            ax.set_ylabel(
                f"{row_name} {r + first_row}",
                fontsize=SMALL,
                rotation=0,
                ha="right",
                va="center",
            )
    _grid_colorbar(fig, axes[0, 0].images[0], many=rows * lines > 1)
    if title:
        fig.suptitle(title, y=1 - 0.06 / fig.get_figheight(), va="top")
    return fig


def _square_grid(
    width: float, rows: int, lines: int, per_line: int, title: str
) -> tuple[Figure, NDArray[np.object_]]:
    """A figure ``width`` inches wide with square axes: ``rows`` rows of ``lines``
    lines of ``per_line`` axes each, placed once: a fixed grid instead of the layout
    engine, which with 72 small axes would take seconds to draw. Its height follows
    from the width."""
    square = (width - LEFT - RIGHT) / (per_line + (per_line - 1) * SPACE)
    # between lines of one row, room for their column titles (inches)
    gap = 0.3 if lines > 1 else SPACE * square
    above = 0.3 + (0.35 if title else 0.0)  # column titles and the title
    height = above + BELOW + square * rows * lines + gap * (rows * lines - 1)
    fig = new_figure(width, height, layout=None)
    fig.subplots_adjust(
        left=LEFT / width,
        right=1 - RIGHT / width,
        bottom=BELOW / height,
        top=1 - above / height,
        wspace=SPACE,
        hspace=gap / square,
    )
    return fig, fig.subplots(rows * lines, per_line, squeeze=False)


def _grid_colorbar(fig: Figure, image: AxesImage, *, many: bool) -> None:
    """The colour bar right of a ``_square_grid``, as tall as the grid."""
    width = fig.get_figwidth()
    top, bottom = fig.subplotpars.top, fig.subplotpars.bottom
    colorbar_axes = fig.add_axes(
        (1 - (RIGHT - 0.12) / width, bottom, 0.1 / width, top - bottom)
    )
    colorbar = fig.colorbar(
        image,
        cax=colorbar_axes,
        label="attention weight" if many else "weight",
        ticks=[0.0, 0.5, 1.0],
    )
    colorbar.ax.tick_params(labelsize=SMALL)


def position_heatmap(
    positions: ArrayLike, *, title: str = "", width: float = WIDTH, height: float = 3.6
) -> Figure:
    """Position vectors as a heatmap: one row per position,
    one column per feature, values in [-1, 1].
    """
    fig = new_figure(width, height)
    ax = fig.subplots()
    image = ax.imshow(
        positions,
        cmap=style.SIGNED_CMAP,
        vmin=-1.0,
        vmax=1.0,
        aspect="auto",
        interpolation="nearest",
    )
    ax.set_xlabel("feature (dimension) of the position vector")
    ax.set_ylabel("position in the sentence")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="value", fraction=0.05)
    return fig


def similarity_heatmaps(
    panels: Sequence[tuple[ArrayLike, str]],
    *,
    width: float = WIDTH,
    height: float = 3.6,
) -> Figure:
    """Cosine similarity of every pair of rows, one square panel per set of vectors
    (for example, position vectors), side by side on one colour scale.

    ``panels`` is a list of (vectors, title); vectors has shape (positions, d).
    """
    fig = new_figure(width, height)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (vectors, title) in zip(axes, panels, strict=True):
        v = np.asarray(vectors, dtype=float)
        unit = v / np.linalg.norm(v, axis=1, keepdims=True)
        image = ax.imshow(
            unit @ unit.T,
            cmap=style.SIGNED_CMAP,
            vmin=-1.0,
            vmax=1.0,
            interpolation="nearest",
        )
        ax.set_xlabel("position")
        ax.set_ylabel("position")
        ax.set_title(title)
    fig.colorbar(image, ax=axes, label="cosine similarity", fraction=0.04)
    return fig

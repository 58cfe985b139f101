"""Reusable figures of data: attention matrices with a row as bars, matrices side by
side, grouped bars, measured curves, a blended output, one row per head.

Each returns a ``Figure`` (``canvas.new_figure``: not registered with pyplot).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray

from .artists import Heatmap, Hull2D, RowBars, largest
from .canvas import new_figure
from .style import LABEL_CHARS, SERIES_HATCHES, SERIES_STYLES, WIDTH

#: One matrix of ``heatmaps``: (weights (n, m), row labels, column labels, title).
Panel = tuple[ArrayLike, Sequence[str], Sequence[str], str]


def attention_figure(
    tokens: Sequence[str],
    weights: NDArray[np.floating],
    query: int,
    *,
    title: str = "",
    width: float = WIDTH,
    height: float = 5.4,
    annotate: bool | None = False,
    fixed: bool = False,
) -> tuple[Figure, Heatmap, RowBars]:
    """A heatmap of ``weights`` with token labels above bars of the row of token
    ``query``: each bar sits under the column of its key. The query's row is outlined
    in the heatmap; the row's largest weight is the marked bar (none on a tie).

    Returns ``(figure, heatmap, bars)``; call ``heatmap.update`` and ``bars.update`` to
    redraw. With ``fixed=True`` (for explorers, whose sentence changes) the layout is
    computed once, with room for labels of ``LABEL_CHARS`` characters, and then kept: a
    new sentence then redraws without the layout engine, which would otherwise take most
    of the time (pass labels through ``short_labels``).
    """
    fig = new_figure(width, height)
    # the bars share the heatmap's column of the grid: same width, same key positions
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 0.035], height_ratios=[2.2, 1])
    ax_map, ax_row = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0])
    heatmap = Heatmap(
        ax_map,
        weights,
        tokens,
        tokens,
        title=title or "attention matrix",
        annotate=annotate,
        colorbar=False,
    )
    fig.colorbar(heatmap.image, cax=fig.add_subplot(grid[0, 1]), label="weight")
    # the key labels once, under the bars
    ax_map.set_xlabel("")
    ax_map.tick_params(axis="x", labelbottom=False)
    heatmap.update(weights, highlight_row=query)
    top = largest(weights[query])  # the row's largest weight (none on a tie)
    bars = RowBars(
        ax_row,
        weights[query],
        tokens,
        title=f'row of "{tokens[query]}": where it looks',
        ylabel="weight",
        margin=0.0,
    )
    ax_row.set_xlabel("key: the token being looked at")
    bars.update(weights[query], tokens, highlight=top)
    if fixed:
        # room for the widest labels a sentence can have
        widest = ["M" * LABEL_CHARS] * len(tokens)
        heatmap.update(weights, widest, widest, highlight_row=query)
        bars.update(weights[query], widest, highlight=top)
        fig.canvas.draw()  # the layout engine places the axes once ...
        fig.set_layout_engine("none")  # ... and they stay there
        heatmap.update(weights, tokens, tokens, highlight_row=query)
        bars.update(weights[query], tokens, highlight=top)
    return fig, heatmap, bars


def heatmaps(
    panels: Sequence[Panel],
    *,
    width: float = WIDTH,
    height: float = 3.6,
    annotate: bool | None = None,
    vmax: float | None = 1.0,
    stacked: bool = False,
) -> Figure:
    """Several labelled attention matrices side by side (``stacked``: one above the
    other, each row as tall as in the others), with one colour bar; ``panels`` is a
    list of (weights, rows, cols, title).

    The colour scale runs from 0 to ``vmax``: 1 by default (the largest weight there
    can be), ``None`` for the largest weight shown, which spreads the colours over
    weights that all stay well below 1 (say so in the caption).
    """
    if vmax is None:
        vmax = max(float(np.max(weights)) for weights, *_ in panels)
    fig = new_figure(width, height)
    if stacked:
        heights = [len(rows) for _, rows, _, _ in panels]
        axes = np.atleast_1d(fig.subplots(len(panels), 1, height_ratios=heights))
    else:
        axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (weights, rows, cols, title) in zip(axes, panels, strict=True):
        heatmap = Heatmap(
            ax,
            weights,
            rows,
            cols,
            title=title,
            annotate=annotate,
            colorbar=False,
            vmax=vmax,
        )
    if stacked:  # one name per axis is enough
        for ax in axes[:-1]:
            ax.set_xlabel("")
        for ax in axes[1:]:
            ax.set_ylabel("query")
    else:
        for ax in axes[1:]:
            ax.set_ylabel("")
    fig.colorbar(heatmap.image, ax=axes, label="attention weight", fraction=0.04)
    return fig


def compare_rows(
    labels: Sequence[str],
    rows: Mapping[str, ArrayLike],
    *,
    title: str = "",
    ylabel: str = "attention weight",
    width: float = WIDTH,
    height: float = 3.4,
) -> Figure:
    """Grouped bars: one group per key token, one bar per named row of weights
    (e.g. two sentences); the rows differ in hatching as well as colour.
    """
    fig = new_figure(width, height)
    ax = fig.subplots()
    k = len(rows)
    x = np.arange(len(labels))
    for i, (name, values) in enumerate(rows.items()):
        ax.bar(
            x + (i - (k - 1) / 2) * 0.8 / k,
            values,
            width=0.8 / k,
            label=name,
            hatch=SERIES_HATCHES[i % len(SERIES_HATCHES)] or None,
            edgecolor="white",
            linewidth=0.5,
        )
    ax.set_xticks(x, labels, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return fig


def curves(
    x: ArrayLike,
    series: Mapping[str, ArrayLike],
    *,
    xlabel: str,
    ylabel: str,
    title: str = "",
    logx: bool = True,
    logy: bool = False,
    reference_slope: float | None = None,
    width: float = 6.0,
    height: float = 3.8,
) -> Figure:
    """Measured series against x (log axes by default); optionally a dashed line of the
    given slope drawn through the last point of the first series
    (a power law y ∝ x^slope is a straight line on log-log axes). Series differ in
    marker and line style as well as colour."""
    fig = new_figure(width, height)
    ax = fig.subplots()
    x = np.asarray(x, dtype=float)
    for i, (name, y) in enumerate(series.items()):
        look = SERIES_STYLES[i % len(SERIES_STYLES)]
        ax.plot(x, y, ms=4, label=name, **look)
    if reference_slope is not None:
        first = np.asarray(next(iter(series.values())), dtype=float)
        guide = first[-1] * (x / x[-1]) ** reference_slope
        ax.plot(x, guide, "--", color="0.5", label=f"slope {reference_slope:g}")
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    if logx:
        # a tick at every measured x, written plainly
        # (log axes would print "3×10²4×10²" side by side)
        from matplotlib.ticker import NullFormatter

        ax.set_xticks(x, [f"{v:g}" for v in x], rotation=45 if len(x) > 6 else 0)
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(True, which="major", alpha=0.3)
    return fig


def blend_picture(
    values: ArrayLike,
    output: ArrayLike,
    weights: ArrayLike,
    labels: Sequence[str],
    *,
    title: str = "output = weighted average of values",
) -> Figure:
    """The value vectors, the polygon they enclose,
    and one blended output (a static Hull2D).
    """
    fig = new_figure(4.6, 4.2)
    ax = fig.subplots()
    Hull2D(ax, values, labels, output).update(values, output, sizes=weights)
    ax.set_title(title)
    return fig


def head_rows(
    rows: ArrayLike,
    tokens: Sequence[str],
    *,
    query: str,
    row_name: str = "head",
    first: int = 1,
    title: str = "",
    width: float = WIDTH,
) -> Figure:
    """One token's row of attention in several heads, a line per head, every weight
    written in its cell: ``rows`` (heads, n) over the keys ``tokens``.

    Where small_multiples shows whole matrices too small to label, this shows one
    row per head with every key named, so that what the prose says about each head can
    be checked in the picture.
    """
    rows = np.asarray(rows)
    labels = [f"{row_name} {first + h}" for h in range(rows.shape[0])]
    # a line of 9-point numbers per head, plus the title and the slanted key labels
    fig = new_figure(width, 1.5 + 0.26 * rows.shape[0])
    ax = fig.subplots()
    Heatmap(
        ax,
        rows,
        labels,
        tokens,
        title=title or f'the row of "{query}" in each {row_name}',
        annotate=True,
    )
    ax.set_ylabel(row_name)
    return fig

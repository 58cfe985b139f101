"""Chapter figures of matrix shapes drawn to scale: the products that make the queries
and the scores (chapter 7), multi-head attention split into heads (chapter 10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import style
from .canvas import new_figure
from .style import SMALL


def shape_diagram(n: int, d_model: int, d_k: int, *, unit: float = 0.12) -> Figure:
    """Two matrix products drawn to scale: Q = X·W_Q (n×d_model times d_model×d_k) and
    Q·Kᵀ (n×d_k times d_k×n).

    Each matrix is a rectangle of ``unit`` inches per row and column,
    named above and sized below.
    """
    sizes = {"n": n, "d_model": d_model, "d_k": d_k}
    products = _products()
    gap, margin = 0.95, 0.15
    widths = [
        sum(sizes[c] * unit for _, _, c, _ in mats) + 2 * gap for _, mats in products
    ]
    # one product per row (side by side, they would be too wide to read in the book)
    tallest = [max(sizes[r] for _, r, _, _ in mats) * unit for _, mats in products]
    rows = [t + 1.3 for t in tallest]
    fig, ax = _blank_canvas(max(widths) + 2 * margin, sum(rows))
    row_top = sum(rows)
    for (title, mats), width, row, tall in zip(
        products, widths, rows, tallest, strict=True
    ):
        x = margin + (max(widths) - width) / 2
        ax.text(
            x + width / 2, row_top - 0.08, title, ha="center", va="top", fontsize=10
        )
        # the matrices of a row hang from the same top line
        _product(ax, mats, sizes, x, row_top - 0.55, tall, unit=unit, gap=gap)
        row_top -= row
    return fig


#: A matrix of a product: its name, its rows and columns (names of sizes), its colour.
Matrix = tuple[str, str, str, str]


def _products() -> list[tuple[str, list[Matrix]]]:
    """The two products of ``shape_diagram``: a title and three matrices each."""
    return [
        (
            "$Q = X W_Q$: a query for every token",
            [
                ("$X$", "n", "d_model", "0.8"),
                ("$W_Q$", "d_model", "d_k", style.KEY_COLOR),
                ("$Q$", "n", "d_k", style.QUERY_COLOR),
            ],
        ),
        (
            "$Q K^\\top$: every query against every key",
            [
                ("$Q$", "n", "d_k", style.QUERY_COLOR),
                ("$K^\\top$", "d_k", "n", style.KEY_COLOR),
                ("$Q K^\\top$", "n", "n", style.OUTPUT_COLOR),
            ],
        ),
    ]


def _product(
    ax: Axes,
    mats: list[Matrix],
    sizes: dict[str, int],
    x: float,
    top: float,
    tall: float,
    *,
    unit: float,
    gap: float,
) -> None:
    """One product, left to right from ``x``: each matrix hangs from ``top``, named
    above and sized below, with "×" and "=" between them."""
    for k, (name, r, c, color) in enumerate(mats):
        w, h = sizes[c] * unit, sizes[r] * unit
        ax.add_patch(
            Rectangle(
                (x, top - h),
                w,
                h,
                facecolor=color,
                alpha=0.4,
                edgecolor="0.25",
                lw=1,
            )
        )
        ax.text(x + w / 2, top + 0.05, name, ha="center", va="bottom", fontsize=11)
        ax.text(
            x + w / 2,
            top - h - 0.06,
            f"{r} × {c}\n{sizes[r]} × {sizes[c]}",
            ha="center",
            va="top",
            fontsize=SMALL,
        )
        x += w
        if k < len(mats) - 1:
            ax.text(
                x + gap / 2,
                top - tall / 2,
                "×" if k == 0 else "=",
                ha="center",
                va="center",
                fontsize=16,
            )
            x += gap


def _blank_canvas(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure of ``width`` × ``height`` inches and invisible axes over all of it,
    one unit per inch: for diagrams drawn to scale."""
    fig = new_figure(width, height, layout=None)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return fig, ax


#: One colour per head (Okabe and Ito's palette: told apart by most colour-blind
#: readers, and in grey scale).
HEAD_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00")


@dataclass(frozen=True)
class _Heads:
    """The sizes of a heads diagram, in matrix entries and in inches."""

    n: int
    d_model: int
    num_heads: int
    unit: float  # inches per row or column

    @property
    def d_head(self) -> int:
        return self.d_model // self.num_heads

    @property
    def tall(self) -> float:
        """The height of every matrix: n rows."""
        return self.n * self.unit

    @property
    def colors(self) -> list[str]:
        return [HEAD_COLORS[h % len(HEAD_COLORS)] for h in range(self.num_heads)]


def heads_diagram(
    n: int, d_model: int, num_heads: int, *, unit: float = 0.09
) -> Figure:
    """Multi-head attention drawn to scale: split Q (and K, V) into heads, attend per
    head, concatenate, project with W_O. Each head has its own colour and its number
    (in every slice); ``unit`` is inches per row or column."""
    if d_model % num_heads:
        raise ValueError(
            f"d_model = {d_model} is not divisible by num_heads = {num_heads}"
        )
    g = _Heads(n, d_model, num_heads, unit)
    gap = 0.6
    # the heads drawn one above the other
    stack = num_heads * g.tall + (num_heads - 1) * 0.15
    fig_h = max(stack, g.tall) + 1.2
    widths = [
        d_model * unit,
        n * unit + g.d_head * unit + 0.4,
        d_model * unit,
        d_model * unit,
    ]
    fig, ax = _blank_canvas(sum(widths) + gap * (len(widths) - 1) + 0.4, fig_h)
    middle = (fig_h - 0.5) / 2 + 0.1
    x = 0.2
    split = f"n × d_model\nsplit into {num_heads} heads"
    _sliced(ax, g, x, middle + g.tall / 2, "$Q$, $K$, $V$", split)
    x += widths[0] + gap
    _attend_per_head(ax, g, x, middle + stack / 2, width=widths[1], stack=stack)
    x += widths[1] + gap
    _sliced(ax, g, x, middle + g.tall / 2, "concatenate", "n × d_model")
    x += widths[2] + gap
    _projected(ax, g, x, middle)
    for x_arrow in np.cumsum([0.2 + widths[0], gap + widths[1], gap + widths[2]]):
        ax.annotate(
            "",
            xy=(x_arrow + gap - 0.15, middle),
            xytext=(x_arrow + 0.15, middle),
            arrowprops=dict(arrowstyle="->", color="0.3"),
        )
    return fig


def _sliced(
    ax: Axes, g: _Heads, x: float, top: float, label: str, caption: str
) -> None:
    """An n × d_model matrix cut into the heads' slices, each in its colour and
    numbered; ``label`` above, ``caption`` below."""
    unit, tall = g.unit, g.tall
    for h, color in enumerate(g.colors):
        ax.add_patch(
            Rectangle(
                (x + h * g.d_head * unit, top - tall),
                g.d_head * unit,
                tall,
                facecolor=color,
                alpha=0.55,
            )
        )
        ax.text(
            x + (h + 0.5) * g.d_head * unit,
            top - tall / 2,
            str(h + 1),
            ha="center",
            va="center",
            fontsize=SMALL,
        )
    ax.add_patch(
        Rectangle(
            (x, top - tall), g.d_model * unit, tall, fill=False, edgecolor="0.2", lw=1
        )
    )
    ax.text(
        x + g.d_model * unit / 2,
        top + 0.05,
        label,
        ha="center",
        va="bottom",
        fontsize=10,
    )
    ax.text(
        x + g.d_model * unit / 2,
        top - tall - 0.05,
        caption,
        ha="center",
        va="top",
        fontsize=SMALL,
    )


def _attend_per_head(
    ax: Axes, g: _Heads, x: float, top: float, *, width: float, stack: float
) -> None:
    """The heads one above the other: each head's n × n attention matrix, an arrow,
    and the slice it gives (n × d_head)."""
    unit, tall = g.unit, g.tall
    for h, color in enumerate(g.colors):
        y = top - h * (tall + 0.15)
        ax.add_patch(
            Rectangle(
                (x, y - tall),
                g.n * unit,
                tall,
                facecolor=color,
                alpha=0.3,
                edgecolor="0.2",
            )
        )
        ax.text(
            x + g.n * unit / 2,
            y - tall / 2,
            f"head {h + 1}\nn × n",
            ha="center",
            va="center",
            fontsize=SMALL,
        )
        ax.add_patch(
            Rectangle(
                (x + g.n * unit + 0.4, y - tall),
                g.d_head * unit,
                tall,
                facecolor=color,
                alpha=0.55,
                edgecolor="0.2",
            )
        )
        ax.text(
            x + g.n * unit + 0.4 + g.d_head * unit / 2,
            y - tall / 2,
            str(h + 1),
            ha="center",
            va="center",
            fontsize=SMALL,
        )
        ax.text(
            x + g.n * unit + 0.2,
            y - tall / 2,
            "→",
            ha="center",
            va="center",
            fontsize=9,
        )
    ax.text(
        x + width / 2,
        top + 0.05,
        "attend, head by head",
        ha="center",
        va="bottom",
        fontsize=10,
    )
    ax.text(
        x + width / 2,
        top - stack - 0.05,
        f"d_head = {g.d_model} / {g.num_heads} = {g.d_head}",
        ha="center",
        va="top",
        fontsize=SMALL,
    )


def _projected(ax: Axes, g: _Heads, x: float, middle: float) -> None:
    """The output: the concatenated heads times W_O, n × d_model."""
    unit, tall = g.unit, g.tall
    ax.add_patch(
        Rectangle(
            (x, middle - tall / 2),
            g.d_model * unit,
            tall,
            facecolor=style.OUTPUT_COLOR,
            alpha=0.4,
            edgecolor="0.2",
        )
    )
    ax.text(
        x + g.d_model * unit / 2,
        middle + tall / 2 + 0.05,
        "$\\times W_O$",
        ha="center",
        va="bottom",
        fontsize=10,
    )
    ax.text(
        x + g.d_model * unit / 2,
        middle - tall / 2 - 0.05,
        "output\nn × d_model",
        ha="center",
        va="top",
        fontsize=SMALL,
    )

"""Drawing classes that draw once and then only update their artists: an attention
matrix, one row as bars, 2-D vectors as arrows, value vectors and their hull.

Each has ``update`` (new numbers, same artists: a redraw stays fast) and ``dynamic``
(the artists that change, which ``canvas.FastPNG`` repaints).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.patches import Polygon, Rectangle
from matplotlib.text import Text
from numpy.typing import ArrayLike, NDArray

from . import style
from .style import SMALL, ink, slanted_xticks

#: A point of the plane, (x, y).
Point = tuple[float, float]


class Changing:
    """Artists an explorer updates itself (a line, a marker, a title): redrawn at every
    change, like the artists of the drawing classes below."""

    def __init__(self, *artists: Artist):
        self.artists = artists

    def dynamic(self) -> list[Artist]:
        return list(self.artists)


class Heatmap:
    """An attention matrix: rows are queries (who looks),
    columns are keys (who is looked at).

    Token labels on both axes, a colour bar from 0 to ``vmax`` (1: the largest weight
    there can be), and the value written in each cell when the matrix is small enough
    to read them (``annotate``; writing 256 numbers at every redraw would be slow).
    """

    def __init__(
        self,
        ax: Axes,
        weights: ArrayLike,
        rows: Sequence[str],
        cols: Sequence[str],
        *,
        title: str = "",
        annotate: bool | None = None,
        colorbar: bool = True,
        vmax: float = 1.0,
    ):
        self.ax = ax
        weights = np.asarray(weights)
        self.image = ax.imshow(
            weights,
            cmap=style.CMAP,
            vmin=0.0,
            vmax=vmax,
            aspect="auto",
            interpolation="nearest",
        )
        ax.set_xlabel("key: the token being looked at")
        ax.set_ylabel("query: the token looking")
        ax.set_title(title)
        if colorbar:
            ax.figure.colorbar(
                self.image, ax=ax, label="attention weight", fraction=0.05
            )
        self.annotate = annotate
        self._texts: list[Text] = []
        self._row_box = Rectangle(
            (-0.5, -0.5), weights.shape[1], 1, fill=False, lw=2.5, ec=style.QUERY_COLOR
        )
        self._row_box.set_visible(False)
        ax.add_patch(self._row_box)
        self.update(weights, rows, cols)

    def dynamic(self) -> list[Artist]:
        """The artists that change when the weights or the highlighted row change."""
        return [self.image, self._row_box, self.ax.title, *self._texts]

    def update(
        self,
        weights: ArrayLike,
        rows: Sequence[str] | None = None,
        cols: Sequence[str] | None = None,
        highlight_row: int | None = None,
    ) -> None:
        weights = np.asarray(weights)
        n, m = weights.shape
        self.image.set_data(weights)
        self.image.set_extent((-0.5, m - 0.5, n - 0.5, -0.5))
        # token labels at SMALL: a 45° label needs about 1.4 times its size per column
        if rows is not None:
            self.ax.set_yticks(range(n), rows, fontsize=SMALL)
        if cols is not None:
            slanted_xticks(self.ax, cols)
        self._update_texts(weights)
        self._row_box.set_visible(highlight_row is not None)
        if highlight_row is not None:
            self._row_box.set_bounds(-0.5, highlight_row - 0.5, m, 1)

    def _update_texts(self, weights: NDArray[np.floating]) -> None:
        n, m = weights.shape
        show = self.annotate if self.annotate is not None else max(n, m) <= 8
        if not show:
            for t in self._texts:
                t.set_visible(False)
            return
        while len(self._texts) < n * m:
            self._texts.append(
                self.ax.text(0, 0, "", ha="center", va="center", fontsize=SMALL)
            )
        for t in self._texts[n * m :]:
            t.set_visible(False)
        colors = self.image.to_rgba(weights)
        for (i, j), t in zip(np.ndindex(n, m), self._texts, strict=False):
            t.set_position((j, i))
            t.set_text(f"{weights[i, j]:.2f}")
            t.set_color(ink(colors[i, j]))
            t.set_visible(True)


def largest(values: ArrayLike, *, rtol: float = 1e-9) -> int | None:
    """The index of the one largest value, or None when two or more share it (within
    ``rtol``): the bar a picture marks as the largest (red and hatched). A tie has no
    single largest value, so nothing is marked.
    """
    values = np.asarray(values, dtype=float)
    top = values.max()
    tied = np.isclose(values, top, rtol=rtol, atol=1e-12)  # (m,)
    return int(np.argmax(values)) if tied.sum() == 1 else None


class RowBars:
    """One row of weights (or scores) as bars, one bar per key token.

    ``update(..., highlight=i)`` draws bar ``i`` red, hatched and outlined. Book-wide
    that means "the largest": pass ``largest(values)``, which marks no bar on a tie.
    """

    def __init__(
        self,
        ax: Axes,
        values: ArrayLike,
        labels: Sequence[str],
        *,
        title: str = "",
        ylabel: str = "attention weight",
        ylim: tuple[float, float] | None = (0.0, 1.0),
        color: str = style.KEY_COLOR,
        margin: float = 0.1,
    ):
        # margin: room left and right of the outer bars, in bar spacings
        self.ax, self.color, self.ylim, self.margin = ax, color, ylim, margin
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        self.bars: BarContainer | None = None
        self._value_texts: list[Text] = []
        self.update(values, labels)

    def dynamic(self) -> list[Artist]:
        patches = self.bars.patches if self.bars is not None else []
        return [*patches, *self._value_texts, self.ax.title]

    def update(
        self,
        values: ArrayLike,
        labels: Sequence[str] | None = None,
        highlight: int | None = None,
    ) -> None:
        values = np.asarray(values, dtype=float)
        if self.bars is None or len(self.bars) != len(values):
            if self.bars is not None:
                self.bars.remove()
                for t in self._value_texts:
                    t.remove()
            self.bars = self.ax.bar(range(len(values)), values, color=self.color)
            self._value_texts = [
                self.ax.text(i, 0, "", ha="center", va="bottom", fontsize=SMALL)
                for i in range(len(values))
            ]
            self.ax.set_xlim(-0.5 - self.margin, len(values) - 0.5 + self.margin)
        if labels is not None:
            slanted_xticks(self.ax, labels)
        for i, (bar, v, t) in enumerate(
            zip(self.bars, values, self._value_texts, strict=True)
        ):
            bar.set_height(v)
            # the highlighted bar: red, hatched and outlined
            marked = i == highlight
            bar.set_facecolor(style.QUERY_COLOR if marked else self.color)
            bar.set_edgecolor("black" if marked else "none")
            bar.set_linewidth(1.2 if marked else 0.0)
            bar.set_hatch(style.HIGHLIGHT_HATCH if marked else None)
            t.set_position((i, max(v, 0)))
            t.set_text(f"{v:.2f}".replace("-0.00", "0.00"))  # no sign on a zero
            # 16 numbers would crowd the bars and slow every redraw
            t.set_visible(len(values) <= 8)
        if self.ylim is None:
            low, high = min(0.0, values.min()), max(0.0, values.max())
            pad = 0.15 * (high - low or 1.0)
            self.ax.set_ylim(low - pad * (low < 0), high + pad)
        else:
            low, high = self.ylim
            # room above the highest bar for its value
            shown = len(values) <= 8 and low >= 0
            self.ax.set_ylim(low, high + 0.08 * (high - low) * shown)


def _square(ax: Axes, limit: float) -> Axes:
    """Equal, fixed axes from -limit to limit in both directions
    (for pictures of 2-D vectors).
    """
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    return ax


class Arrows2D:
    """Vectors in the plane drawn as arrows from the origin,
    with labels; updated in place.
    """

    def __init__(
        self,
        ax: Axes,
        vectors: ArrayLike,
        labels: Sequence[str],
        colors: Sequence[str],
        *,
        limit: float = 2.0,
    ):
        self.ax = _square(ax, limit)
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        ax.axvline(0, color="0.85", lw=0.8, zorder=0)
        self.arrows = [
            ax.annotate(
                "",
                xy=(0, 0),
                xytext=(0, 0),
                arrowprops=dict(arrowstyle="-|>", color=c, lw=2),
            )
            for c in colors
        ]
        self.labels = [
            ax.text(0, 0, lab, color=c, fontsize=10, fontweight="bold")
            for lab, c in zip(labels, colors, strict=True)
        ]
        self.update(vectors)

    def dynamic(self) -> list[Artist]:
        return [*self.arrows, *self.labels]

    def update(self, vectors: ArrayLike) -> None:
        for arrow, label, v in zip(
            self.arrows, self.labels, np.asarray(vectors, dtype=float), strict=True
        ):
            arrow.xy = tuple(v)
            label.set_position(tuple(v * 1.08 + 0.05))


class Hull2D:
    """Value vectors as points, the polygon they enclose,
    and the blended output inside it.

    With ``legend=False`` (a small panel) the star is labelled "output" where it is
    instead of in a legend.
    """

    def __init__(
        self,
        ax: Axes,
        values: ArrayLike,
        labels: Sequence[str],
        output: ArrayLike,
        *,
        limit: float = 2.5,
        legend: bool = True,
    ):
        self.ax = _square(ax, limit)
        ax.set_xlabel("value feature 1")
        ax.set_ylabel("value feature 2")
        self.polygon = Polygon(
            np.zeros((3, 2)),
            closed=True,
            alpha=0.15,
            color=style.KEY_COLOR,
            label="all possible outputs",
        )
        ax.add_patch(self.polygon)
        x, y = np.asarray(values, dtype=float).T
        self.points = ax.scatter(
            x,
            y,
            s=60,
            color=style.KEY_COLOR,
            zorder=3,
            label="values",
        )
        self.labels = [
            ax.text(
                0,
                0,
                lab,
                color=style.KEY_COLOR,
                fontsize=10,
                ha="center",
                va="center",
                fontweight="bold",
            )
            for lab in labels
        ]
        (self.output,) = ax.plot(
            [], [], "*", ms=18, color=style.OUTPUT_COLOR, zorder=4, label="output"
        )
        self.output_label = ax.annotate(
            "output",
            (0, 0),
            xytext=(9, -9),
            textcoords="offset points",
            fontsize=SMALL,
            color="black",
            va="top",
            zorder=5,
            visible=not legend,
        )
        if legend:
            ax.legend(loc="lower left", fontsize=SMALL)
        self.update(values, output)

    def dynamic(self) -> list[Artist]:
        return [self.polygon, self.points, *self.labels, self.output, self.output_label]

    def update(
        self, values: ArrayLike, output: ArrayLike, sizes: ArrayLike | None = None
    ) -> None:
        values = np.asarray(values, dtype=float)
        output = np.asarray(output, dtype=float)
        self.polygon.set_xy(convex_hull(values))
        self.points.set_offsets(values)
        if sizes is not None:
            self.points.set_sizes(30 + 400 * np.asarray(sizes))
        centre = values.mean(axis=0)
        for t, v in zip(self.labels, values, strict=True):
            # labels sit outside the polygon, clear of the (growing) markers
            away = v - centre
            away = away / (np.linalg.norm(away) or 1.0)
            t.set_position(tuple(v + 0.38 * away))
        self.output.set_data([output[0]], [output[1]])
        self.output_label.xy = (output[0], output[1])


def convex_hull(points: ArrayLike) -> NDArray[np.float64]:
    """The corners of the convex hull of 2-D points, counter-clockwise
    (Andrew's monotone chain).
    """
    pts = sorted(map(tuple, np.asarray(points, dtype=float)))
    if len(pts) <= 2:
        return np.array(pts)

    def turn(o: Point, a: Point, b: Point) -> float:  # > 0: o → a → b turns left
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(seq: Iterable[Point]) -> list[Point]:
        out: list[Point] = []
        for p in seq:
            while len(out) >= 2 and turn(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(reversed(pts))
    return np.array(lower[:-1] + upper[:-1])

"""Pictures of attention (matplotlib): heatmaps with token labels, one row as bars, 2-D vectors.

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so the interactive explorers own
their figures and nothing leaks into a notebook's output. Each drawing class draws once and then only
updates its artists (``update``), which keeps a redraw fast.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from PIL import Image

#: Perceptually uniform and readable in grey scale and by most colour-blind readers.
CMAP = "viridis"
QUERY_COLOR = "#d62728"
KEY_COLOR = "#1f77b4"
OUTPUT_COLOR = "#2ca02c"


def missing_glyphs(texts) -> list[str]:
    """The characters of ``texts`` that the figures' font cannot draw (matplotlib would show empty boxes)."""
    drawable = _drawable_codepoints()
    seen = dict.fromkeys(ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in drawable)
    return list(seen)


@functools.lru_cache(maxsize=1)
def _drawable_codepoints() -> frozenset[int]:
    from matplotlib import font_manager, ft2font, rcParams

    path = font_manager.findfont(font_manager.FontProperties(family=rcParams["font.family"]))
    return frozenset(ft2font.FT2Font(path).get_charmap())


def new_figure(width: float = 7.0, height: float = 3.4, dpi: int = 100, layout: str | None = "constrained") -> Figure:
    """A figure that is not registered with pyplot (so it never shows up twice in a notebook)."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


class FastPNG:
    """Renders a figure to PNG quickly when only some artists change (blitting).

    The artists returned by ``dynamic()`` are marked animated: a full draw paints everything else once
    (axes, tick labels, colour bar) and keeps that background; later renders restore the background and
    paint only the dynamic artists. Ask for ``full=True`` whenever something static changed (tick labels,
    axis limits).
    """

    def __init__(self, fig: Figure, dynamic):
        self.fig, self.dynamic = fig, dynamic
        self._background = None

    def render(self, full: bool = False, quantize: bool = False) -> bytes:
        """PNG bytes of the figure; ``quantize`` stores 256 colours (a third of the size, for stored frames)."""
        canvas = self.fig.canvas
        artists = self.dynamic()
        for artist in artists:
            artist.set_animated(True)
        if full or self._background is None:
            canvas.draw()  # everything but the animated artists, with the layout engine
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in artists:
            if artist.get_visible():
                self.fig.draw_artist(artist)
        rgb = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
        buffer = io.BytesIO()
        if quantize:
            rgb.quantize(256).save(buffer, format="png", optimize=True)
        else:
            rgb.save(buffer, format="png", compress_level=1)  # fast: this runs at every redraw
        return buffer.getvalue()


class Heatmap:
    """An attention matrix: rows are queries (who looks), columns are keys (who is looked at).

    Token labels on both axes, a colour bar from 0 to 1, and the value written in each cell when the matrix
    is small enough to read them (``annotate``; writing 256 numbers at every redraw would be slow).
    """

    def __init__(self, ax, weights, rows, cols, *, title="", annotate=None, colorbar=True):
        self.ax = ax
        weights = np.asarray(weights)
        self.image = ax.imshow(weights, cmap=CMAP, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
        ax.set_xlabel("key: the token being looked at")
        ax.set_ylabel("query: the token looking")
        ax.set_title(title)
        if colorbar:
            ax.figure.colorbar(self.image, ax=ax, label="attention weight", fraction=0.05)
        self.annotate = annotate
        self._texts = []
        self._row_box = Rectangle((-0.5, -0.5), weights.shape[1], 1, fill=False, lw=2.5, ec=QUERY_COLOR)
        self._row_box.set_visible(False)
        ax.add_patch(self._row_box)
        self.update(weights, rows, cols)

    def dynamic(self):
        """The artists that change when the weights or the highlighted row change."""
        return [self.image, self._row_box, self.ax.title, *self._texts]

    def update(self, weights, rows=None, cols=None, highlight_row=None):
        weights = np.asarray(weights)
        n, m = weights.shape
        self.image.set_data(weights)
        self.image.set_extent((-0.5, m - 0.5, n - 0.5, -0.5))
        if rows is not None:
            self.ax.set_yticks(range(n), rows)
        if cols is not None:
            self.ax.set_xticks(range(m), cols, rotation=45, ha="right", rotation_mode="anchor")
        self._update_texts(weights)
        self._row_box.set_visible(highlight_row is not None)
        if highlight_row is not None:
            self._row_box.set_bounds(-0.5, highlight_row - 0.5, m, 1)

    def _update_texts(self, weights):
        n, m = weights.shape
        show = self.annotate if self.annotate is not None else max(n, m) <= 8
        if not show:
            for t in self._texts:
                t.set_visible(False)
            return
        while len(self._texts) < n * m:
            self._texts.append(self.ax.text(0, 0, "", ha="center", va="center", fontsize=8))
        for t in self._texts[n * m :]:
            t.set_visible(False)
        for (i, j), t in zip(np.ndindex(n, m), self._texts, strict=False):
            w = weights[i, j]
            t.set_position((j, i))
            t.set_text(f"{w:.2f}")
            t.set_color("black" if w > 0.6 else "white")
            t.set_visible(True)


class RowBars:
    """One row of weights (or scores) as bars, one bar per key token."""

    def __init__(self, ax, values, labels, *, title="", ylabel="attention weight", ylim=(0.0, 1.0), color=KEY_COLOR):
        self.ax, self.color, self.ylim = ax, color, ylim
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        self.bars = None
        self._value_texts = []
        self.update(values, labels)

    def dynamic(self):
        return [*self.bars.patches, *self._value_texts, self.ax.title]

    def update(self, values, labels=None, highlight=None):
        values = np.asarray(values, dtype=float)
        if self.bars is None or len(self.bars) != len(values):
            if self.bars is not None:
                self.bars.remove()
                for t in self._value_texts:
                    t.remove()
            self.bars = self.ax.bar(range(len(values)), values, color=self.color)
            self._value_texts = [
                self.ax.text(i, 0, "", ha="center", va="bottom", fontsize=8) for i in range(len(values))
            ]
            self.ax.set_xlim(-0.6, len(values) - 0.4)
        if labels is not None:
            self.ax.set_xticks(range(len(values)), labels, rotation=45, ha="right", rotation_mode="anchor")
        for i, (bar, v, t) in enumerate(zip(self.bars, values, self._value_texts, strict=True)):
            bar.set_height(v)
            bar.set_color(QUERY_COLOR if i == highlight else self.color)
            t.set_position((i, max(v, 0)))
            t.set_text(f"{v:.2f}")
            t.set_visible(len(values) <= 8)  # 16 numbers would crowd the bars and slow every redraw
        if self.ylim is None:
            low, high = min(0.0, values.min()), max(0.0, values.max())
            pad = 0.15 * (high - low or 1.0)
            self.ax.set_ylim(low - pad * (low < 0), high + pad)
        else:
            self.ax.set_ylim(*self.ylim)


def attention_figure(tokens, weights, query: int, *, title="", width=9.0, height=4.0, annotate=False):
    """A heatmap of ``weights`` with token labels next to bars of the row of token ``query``.

    Returns ``(figure, heatmap, bars)``; call ``heatmap.update`` and ``bars.update`` to redraw.
    """
    fig = new_figure(width, height)
    ax_map, ax_row = fig.subplots(1, 2, width_ratios=[1.15, 1])
    heatmap = Heatmap(ax_map, weights, tokens, tokens, title=title or "attention matrix", annotate=annotate)
    heatmap.update(weights, highlight_row=query)
    bars = RowBars(ax_row, weights[query], tokens, title=f'row of "{tokens[query]}": where it looks', ylabel="weight")
    bars.update(weights[query], tokens, highlight=query)
    return fig, heatmap, bars


def _square(ax, limit):
    """Equal, fixed axes from -limit to limit in both directions (for pictures of 2-D vectors)."""
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    return ax


class Arrows2D:
    """Vectors in the plane drawn as arrows from the origin, with labels; updated in place."""

    def __init__(self, ax, vectors, labels, colors, *, limit=2.0):
        self.ax = _square(ax, limit)
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        ax.axvline(0, color="0.85", lw=0.8, zorder=0)
        self.arrows = [
            ax.annotate("", xy=(0, 0), xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color=c, lw=2)) for c in colors
        ]
        self.labels = [
            ax.text(0, 0, lab, color=c, fontsize=10, fontweight="bold") for lab, c in zip(labels, colors, strict=True)
        ]
        self.update(vectors)

    def dynamic(self):
        return [*self.arrows, *self.labels]

    def update(self, vectors):
        for arrow, label, v in zip(self.arrows, self.labels, np.asarray(vectors, dtype=float), strict=True):
            arrow.xy = tuple(v)
            label.set_position(tuple(v * 1.08 + 0.05))


class Hull2D:
    """Value vectors as points, the polygon they span, and the blended output inside it."""

    def __init__(self, ax, values, labels, output, *, limit=2.5):
        self.ax = _square(ax, limit)
        ax.set_xlabel("value feature 1")
        ax.set_ylabel("value feature 2")
        self.polygon = Polygon(np.zeros((3, 2)), closed=True, alpha=0.15, color=KEY_COLOR, label="all possible outputs")
        ax.add_patch(self.polygon)
        self.points = ax.scatter(*np.asarray(values, dtype=float).T, s=60, color=KEY_COLOR, zorder=3, label="values")
        self.labels = [ax.text(0, 0, lab, color=KEY_COLOR, fontsize=10) for lab in labels]
        (self.output,) = ax.plot([], [], "*", ms=18, color=OUTPUT_COLOR, zorder=4, label="output")
        ax.legend(loc="lower left", fontsize=8)
        self.update(values, output)

    def dynamic(self):
        return [self.polygon, self.points, *self.labels, self.output]

    def update(self, values, output, sizes=None):
        values = np.asarray(values, dtype=float)
        self.polygon.set_xy(convex_hull(values))
        self.points.set_offsets(values)
        if sizes is not None:
            self.points.set_sizes(30 + 400 * np.asarray(sizes))
        for t, v in zip(self.labels, values, strict=True):
            t.set_position(tuple(v + 0.08))
        self.output.set_data([output[0]], [output[1]])


def convex_hull(points) -> np.ndarray:
    """The corners of the convex hull of 2-D points, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(map(tuple, np.asarray(points, dtype=float)))
    if len(pts) <= 2:
        return np.array(pts)

    def turn(o, a, b):  # > 0 when o → a → b turns left
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(seq):
        out = []
        for p in seq:
            while len(out) >= 2 and turn(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(reversed(pts))
    return np.array(lower[:-1] + upper[:-1])


# --- Static figures for the chapters -------------------------------------------------------------------------


def heatmaps(panels, *, width=None, height=3.6, annotate=None):
    """Several labelled attention matrices side by side; ``panels`` is a list of (weights, rows, cols, title)."""
    fig = new_figure(width or 4.6 * len(panels), height)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (weights, rows, cols, title) in zip(axes, panels, strict=True):
        Heatmap(ax, weights, rows, cols, title=title, annotate=annotate)
    return fig


def compare_rows(labels, rows: dict, *, title="", ylabel="attention weight", width=8.0, height=3.4):
    """Grouped bars: one group per key token, one bar per named row of weights (e.g. two sentences)."""
    fig = new_figure(width, height)
    ax = fig.subplots()
    k = len(rows)
    x = np.arange(len(labels))
    for i, (name, values) in enumerate(rows.items()):
        ax.bar(x + (i - (k - 1) / 2) * 0.8 / k, values, width=0.8 / k, label=name)
    ax.set_xticks(x, labels, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return fig


def curves(
    x, series: dict, *, xlabel, ylabel, title="", logx=True, logy=False, reference_slope=None, width=6.0, height=3.8
):
    """Measured series against x (log axes by default); optionally a dashed line of the given slope drawn
    through the last point of the first series (a power law y ∝ x^slope is a straight line on log-log axes)."""
    fig = new_figure(width, height)
    ax = fig.subplots()
    x = np.asarray(x, dtype=float)
    for name, y in series.items():
        ax.plot(x, y, "o-", ms=4, label=name)
    if reference_slope is not None:
        first = np.asarray(next(iter(series.values())), dtype=float)
        guide = first[-1] * (x / x[-1]) ** reference_slope
        ax.plot(x, guide, "--", color="0.5", label=f"slope {reference_slope:g}")
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(True, which="major", alpha=0.3)
    return fig


def blend_picture(values, output, weights, labels, *, title="output = weighted average of values"):
    """The value vectors, the polygon they span, and one blended output (a static Hull2D)."""
    fig = new_figure(4.6, 4.2)
    ax = fig.subplots()
    Hull2D(ax, values, labels, output).update(values, output, sizes=weights)
    ax.set_title(title)
    return fig


def small_multiples(weights, *, row_name="layer", col_name="head", width=11.0, height=6.0, title=""):
    """A grid of tiny attention matrices, ``weights`` of shape (rows, cols, n, n): one picture per head."""
    rows, cols = weights.shape[:2]
    # A fixed grid instead of the layout engine: with 72 small axes it would take seconds to draw.
    fig = new_figure(width, height, layout=None)
    top = 0.9 if title else 0.95
    fig.subplots_adjust(left=0.05, right=0.9, bottom=0.02, top=top, wspace=0.08, hspace=0.12)
    axes = fig.subplots(rows, cols, squeeze=False)
    for (r, c), ax in np.ndenumerate(axes):
        ax.imshow(weights[r, c], cmap=CMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if r == 0:
            ax.set_title(f"{col_name} {c + 1}", fontsize=8)
        if c == 0:
            ax.set_ylabel(f"{row_name} {r + 1}", fontsize=8)
    colorbar_axes = fig.add_axes((0.92, 0.1, 0.015, top - 0.2))
    fig.colorbar(axes[0, 0].images[0], cax=colorbar_axes, label="attention weight")
    if title:
        fig.suptitle(title)
    return fig

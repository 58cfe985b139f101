"""Pictures of attention (matplotlib): heatmaps with token labels,
one row as bars, 2-D vectors.

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so the
interactive explorers own their figures and nothing leaks into a notebook's output.
Each drawing class draws once and then only updates its artists (``update``), which
keeps a redraw fast.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from PIL import Image

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


def missing_glyphs(texts) -> list[str]:
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


def new_figure(
    width: float = WIDTH,
    height: float = 3.4,
    dpi: int = DPI,
    layout: str | None = "constrained",
) -> Figure:
    """A figure that is not registered with pyplot
    (so it never shows up twice in a notebook).
    """
    fig = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


class FastPNG:
    """Renders a figure to PNG quickly when only some artists change (blitting).

    The artists returned by ``dynamic()`` are marked animated: a full draw paints
    everything else once (axes, tick labels, colour bar) and keeps that background;
    later renders restore the background and paint only the dynamic artists. Ask for
    ``full=True`` whenever something static changed (tick labels, axis limits).
    """

    def __init__(self, fig: Figure, dynamic):
        self.fig, self.dynamic = fig, dynamic
        self._background = None

    def render(self, full: bool = False, quantize: bool = False) -> bytes:
        """PNG bytes of the figure; ``quantize`` stores 256 colours (a third of the
        size, for stored frames).
        """
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
        return _png(self._image("RGB"), quantize)

    def layers(self) -> tuple[bytes, bytes]:
        """The picture as two 256-colour PNGs that give it back when laid one on the
        other: the static background, and the dynamic artists alone on a transparent
        layer. Pictures drawn in advance share one background and keep only their
        (much smaller) top layers. Call after ``render``.
        """
        canvas = self.fig.canvas
        canvas.restore_region(self._background)
        background = self._image("RGB")
        canvas.get_renderer().clear()  # fully transparent
        for artist in self.dynamic():
            if artist.get_visible():
                self.fig.draw_artist(artist)
        top = self._image("RGBA")
        canvas.restore_region(self._background)  # leave the canvas as render() left it
        return _png(background, True), _png(top, True)

    def _image(self, mode):
        canvas = self.fig.canvas
        size = canvas.get_width_height()
        return Image.frombuffer("RGBA", size, canvas.buffer_rgba()).convert(mode)


def _png(image, quantize: bool) -> bytes:
    buffer = io.BytesIO()
    if quantize:  # 256 colours, transparency kept: a third of the size
        method = Image.Quantize.FASTOCTREE if image.mode == "RGBA" else None
        image.quantize(256, method=method).save(buffer, format="png", optimize=True)
    else:
        image.save(buffer, format="png", compress_level=1)  # fast: runs at every redraw
    return buffer.getvalue()


def stack_layers(background: bytes, top: bytes) -> bytes:
    """The PNG a reader sees when ``top`` (with transparency) lies on ``background``."""
    base = Image.open(io.BytesIO(background)).convert("RGBA")
    base.alpha_composite(Image.open(io.BytesIO(top)).convert("RGBA"))
    return _png(base.convert("RGB"), True)


def ink(color) -> str:
    """Black or white, whichever reads better on ``color`` (WCAG contrast ratio)."""
    from matplotlib.colors import to_rgb

    def linear(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in to_rgb(color))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # contrast with black (L + 0.05) / 0.05 against white 1.05 / (L + 0.05)
    return "black" if (luminance + 0.05) ** 2 > 0.05 * 1.05 else "white"


def slanted_xticks(ax, labels) -> None:
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


class Changing:
    """Artists an explorer updates itself (a line, a marker, a title): redrawn at every
    change, like the artists of the drawing classes below."""

    def __init__(self, *artists):
        self.artists = artists

    def dynamic(self):
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
        ax,
        weights,
        rows,
        cols,
        *,
        title="",
        annotate=None,
        colorbar=True,
        vmax=1.0,
    ):
        self.ax = ax
        weights = np.asarray(weights)
        self.image = ax.imshow(
            weights,
            cmap=CMAP,
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
        self._texts = []
        self._row_box = Rectangle(
            (-0.5, -0.5), weights.shape[1], 1, fill=False, lw=2.5, ec=QUERY_COLOR
        )
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
        # token labels at SMALL: a 45° label needs about 1.4 times its size per column
        if rows is not None:
            self.ax.set_yticks(range(n), rows, fontsize=SMALL)
        if cols is not None:
            slanted_xticks(self.ax, cols)
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


def largest(values, *, rtol: float = 1e-9) -> int | None:
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
        ax,
        values,
        labels,
        *,
        title="",
        ylabel="attention weight",
        ylim=(0.0, 1.0),
        color=KEY_COLOR,
        margin=0.1,
    ):
        # margin: room left and right of the outer bars, in bar spacings
        self.ax, self.color, self.ylim, self.margin = ax, color, ylim, margin
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
            bar.set_facecolor(QUERY_COLOR if marked else self.color)
            bar.set_edgecolor("black" if marked else "none")
            bar.set_linewidth(1.2 if marked else 0.0)
            bar.set_hatch(HIGHLIGHT_HATCH if marked else None)
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


#: Token labels longer than this are shortened in the explorers' pictures
#: (whose layout is fixed).
LABEL_CHARS = 10


def short_labels(tokens, limit: int = LABEL_CHARS) -> list[str]:
    """Token labels that fit a fixed layout: longer ones end in "…"."""
    return [t if len(t) <= limit else t[: limit - 1] + "…" for t in tokens]


def attention_figure(
    tokens,
    weights,
    query: int,
    *,
    title="",
    width=WIDTH,
    height=5.4,
    annotate=False,
    fixed=False,
):
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


def _square(ax, limit):
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

    def __init__(self, ax, vectors, labels, colors, *, limit=2.0):
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

    def dynamic(self):
        return [*self.arrows, *self.labels]

    def update(self, vectors):
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

    def __init__(self, ax, values, labels, output, *, limit=2.5, legend=True):
        self.ax = _square(ax, limit)
        ax.set_xlabel("value feature 1")
        ax.set_ylabel("value feature 2")
        self.polygon = Polygon(
            np.zeros((3, 2)),
            closed=True,
            alpha=0.15,
            color=KEY_COLOR,
            label="all possible outputs",
        )
        ax.add_patch(self.polygon)
        self.points = ax.scatter(
            *np.asarray(values, dtype=float).T,
            s=60,
            color=KEY_COLOR,
            zorder=3,
            label="values",
        )
        self.labels = [
            ax.text(
                0,
                0,
                lab,
                color=KEY_COLOR,
                fontsize=10,
                ha="center",
                va="center",
                fontweight="bold",
            )
            for lab in labels
        ]
        (self.output,) = ax.plot(
            [], [], "*", ms=18, color=OUTPUT_COLOR, zorder=4, label="output"
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

    def dynamic(self):
        return [self.polygon, self.points, *self.labels, self.output, self.output_label]

    def update(self, values, output, sizes=None):
        values = np.asarray(values, dtype=float)
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


def convex_hull(points) -> np.ndarray:
    """The corners of the convex hull of 2-D points, counter-clockwise
    (Andrew's monotone chain).
    """
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


# --- Static figures for the chapters --------------------------------------------------


def heatmaps(
    panels, *, width=WIDTH, height=3.6, annotate=None, vmax=1.0, stacked=False
):
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
    labels, rows: dict, *, title="", ylabel="attention weight", width=WIDTH, height=3.4
):
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
    x,
    series: dict,
    *,
    xlabel,
    ylabel,
    title="",
    logx=True,
    logy=False,
    reference_slope=None,
    width=6.0,
    height=3.8,
):
    """Measured series against x (log axes by default); optionally a dashed line of the
    given slope drawn through the last point of the first series
    (a power law y ∝ x^slope is a straight line on log-log axes). Series differ in
    marker and line style as well as colour."""
    fig = new_figure(width, height)
    ax = fig.subplots()
    x = np.asarray(x, dtype=float)
    for i, (name, y) in enumerate(series.items()):
        style = SERIES_STYLES[i % len(SERIES_STYLES)]
        ax.plot(x, y, ms=4, label=name, **style)
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
    values, output, weights, labels, *, title="output = weighted average of values"
):
    """The value vectors, the polygon they enclose,
    and one blended output (a static Hull2D).
    """
    fig = new_figure(4.6, 4.2)
    ax = fig.subplots()
    Hull2D(ax, values, labels, output).update(values, output, sizes=weights)
    ax.set_title(title)
    return fig


def small_multiples(
    weights,
    *,
    row_name="layer",
    col_name="head",
    width=WIDTH,
    title="",
    first_row=1,
    per_line=None,
):
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
    # A fixed grid instead of the layout engine:
    # with 72 small axes it would take seconds to draw.
    left, right, space = 0.62, 0.75, 0.08  # inches; space: between pictures, relative
    square = (width - left - right) / (per_line + (per_line - 1) * space)
    # between lines of one row, room for their column titles (inches)
    gap = 0.3 if lines > 1 else space * square
    above = 0.3 + (0.35 if title else 0.0)  # column titles and the title
    below = 0.08
    height = above + below + square * rows * lines + gap * (rows * lines - 1)
    fig = new_figure(width, height, layout=None)
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=below / height,
        top=1 - above / height,
        wspace=space,
        hspace=gap / square,
    )
    grid = fig.subplots(rows * lines, per_line, squeeze=False)
    axes = np.empty((rows, cols), dtype=object)
    for (line, place), ax in np.ndenumerate(grid):
        r, c = line // lines, (line % lines) * per_line + place
        if c >= cols:  # the last line of a row is not full
            ax.set_axis_off()
            continue
        axes[r, c] = ax
        ax.imshow(weights[r, c], cmap=CMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
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
    grid_top, grid_bottom = 1 - above / height, below / height
    colorbar_axes = fig.add_axes(
        (1 - (right - 0.12) / width, grid_bottom, 0.1 / width, grid_top - grid_bottom)
    )
    colorbar = fig.colorbar(
        axes[0, 0].images[0],
        cax=colorbar_axes,
        label="attention weight" if rows * lines > 1 else "weight",
        ticks=[0.0, 0.5, 1.0],
    )
    colorbar.ax.tick_params(labelsize=SMALL)
    if title:
        fig.suptitle(title, y=1 - 0.06 / height, va="top")
    return fig


def head_rows(
    rows, tokens, *, query: str, row_name="head", first=1, title="", width=WIDTH
):
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


def worked_example(example, step: str | None = None, *, height: float = 5.2):
    """The row of one token computed step by step, as a table: keys, scores, weights,
    values and the output.

    ``example`` is an ``examples.WorkedExample``. ``step`` ("score", "normalize" or
    "blend") shows the columns of that step and marks the one computed in it: keys and
    scores; then the weights too; then the weights, the values and the output (the keys
    and scores made the weights; leaving them out keeps the table narrow enough to
    read). None is the same as "blend". Value features that are 0 for every token are
    left out (the note under the table says so).
    """
    from .examples import FEATURES

    steps = ["score", "normalize", "blend"]
    if step is not None and step not in steps:
        raise ValueError(f"step must be one of {steps} or None, got {step!r}")
    upto = steps.index(step) if step else 2
    shown = [
        j for j in range(example.values.shape[1]) if np.any(example.values[:, j] != 0)
    ]
    features = [
        FEATURES[j].replace("said of the ", "said of ").replace("said of ", "said of\n")
        for j in shown
    ]
    columns = [("token", None)]
    if upto < 2:
        columns += [
            (f"key\n{role}", ("keys", i)) for i, role in enumerate(example.roles)
        ]
        columns += [("score", ("scores", None))]
    if upto >= 1:
        columns += [("weight", ("weights", None))]
    if upto >= 2:
        columns += [
            (f"value\n{name}", ("values", j))
            for name, j in zip(features, shown, strict=True)
        ]
    marked = {"score": "scores", "normalize": "weights", "blend": "values"}[steps[upto]]

    n = len(example.tokens)
    # no output row before the blend step
    height = height if upto >= 2 else height - 0.6
    # the same size of text at every step
    fig = new_figure(0.4 + 0.7 * len(columns), height, layout=None)
    ax = fig.add_axes((0.01, 0.08, 0.98, 0.8))
    ax.set_xlim(-0.5, len(columns) - 0.5)
    # header rows above, the output row below
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
    query_row = example.tokens.index(example.query_token)
    for c, (title, source) in enumerate(columns):
        is_marked = source is not None and source[0] == marked
        ax.text(
            c,
            -0.75,
            title,
            ha="center",
            va="bottom",
            fontsize=SMALL,
            fontweight="bold" if is_marked else "normal",
        )
        for r, token in enumerate(example.tokens):
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
            if is_marked:
                ax.add_patch(
                    Rectangle(
                        (c - 0.48, r - 0.45),
                        0.96,
                        0.9,
                        color=QUERY_COLOR,
                        alpha=0.08,
                        lw=0,
                    )
                )
            elif value is not None and value != 0:
                ax.add_patch(
                    Rectangle(
                        (c - 0.48, r - 0.45),
                        0.96,
                        0.9,
                        color=KEY_COLOR,
                        alpha=0.08,
                        lw=0,
                    )
                )
    ax.axhline(-0.55, color="0.3", lw=0.8)
    if upto >= 2:  # the output: the weighted sum of the value rows
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
            ax.add_patch(
                Rectangle(
                    (c - 0.48, n - 0.25),
                    0.96,
                    0.9,
                    color=OUTPUT_COLOR,
                    alpha=0.15,
                    lw=0,
                )
            )
        left_out = len(FEATURES) - len(shown)
        note = (
            f"{left_out} features that are 0 for every token are left out."
            if left_out
            else ""
        )
        fig.text(0.01, 0.02, note, fontsize=SMALL, color="0.35")
    return fig


def shape_diagram(n: int, d_model: int, d_k: int, *, unit: float = 0.12):
    """Two matrix products drawn to scale: Q = X·W_Q (n×d_model times d_model×d_k) and
    Q·Kᵀ (n×d_k times d_k×n).

    Each matrix is a rectangle of ``unit`` inches per row and column,
    named above and sized below.
    """
    sizes = {"n": n, "d_model": d_model, "d_k": d_k}
    products = [
        (
            "$Q = X W_Q$: a query for every token",
            [
                ("$X$", "n", "d_model", "0.8"),
                ("$W_Q$", "d_model", "d_k", KEY_COLOR),
                ("$Q$", "n", "d_k", QUERY_COLOR),
            ],
        ),
        (
            "$Q K^\\top$: every query against every key",
            [
                ("$Q$", "n", "d_k", QUERY_COLOR),
                ("$K^\\top$", "d_k", "n", KEY_COLOR),
                ("$Q K^\\top$", "n", "n", OUTPUT_COLOR),
            ],
        ),
    ]
    gap, margin = 0.95, 0.15
    widths = [
        sum(sizes[c] * unit for _, _, c, _ in mats) + 2 * gap for _, mats in products
    ]
    # one product per row (side by side, they would be too wide to read in the book)
    tallest = [max(sizes[r] for _, r, _, _ in mats) * unit for _, mats in products]
    rows = [t + 1.3 for t in tallest]
    fig_w, fig_h = max(widths) + 2 * margin, sum(rows)
    fig = new_figure(fig_w, fig_h, layout=None)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, fig_w)
    ax.set_ylim(0, fig_h)
    ax.axis("off")
    row_top = fig_h
    for (title, mats), width, row, tall in zip(
        products, widths, rows, tallest, strict=True
    ):
        x = margin + (max(widths) - width) / 2
        top = row_top - 0.55  # the matrices of a row hang from the same top line
        ax.text(
            x + width / 2, row_top - 0.08, title, ha="center", va="top", fontsize=10
        )
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
        row_top -= row
    return fig


def projections(layer, features, *, width: float = WIDTH, height: float = 4.8):
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


#: One colour per head (Okabe and Ito's palette: told apart by most colour-blind
#: readers, and in grey scale).
HEAD_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00")


def heads_diagram(n: int, d_model: int, num_heads: int, *, unit: float = 0.09):
    """Multi-head attention drawn to scale: split Q (and K, V) into heads, attend per
    head, concatenate, project with W_O. Each head has its own colour and its number
    (in every slice); ``unit`` is inches per row or column."""
    if d_model % num_heads:
        raise ValueError(
            f"d_model = {d_model} is not divisible by num_heads = {num_heads}"
        )
    d_head = d_model // num_heads
    colors = [HEAD_COLORS[h % len(HEAD_COLORS)] for h in range(num_heads)]
    h_in, gap = n * unit, 0.6
    # the heads drawn one above the other
    stack = num_heads * h_in + (num_heads - 1) * 0.15
    fig_h = max(stack, h_in) + 1.2
    widths = [
        d_model * unit,
        n * unit + d_head * unit + 0.4,
        d_model * unit,
        d_model * unit,
    ]
    fig_w = sum(widths) + gap * (len(widths) - 1) + 0.4
    fig = new_figure(fig_w, fig_h, layout=None)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, fig_w)
    ax.set_ylim(0, fig_h)
    ax.axis("off")
    middle = (fig_h - 0.5) / 2 + 0.1

    def sliced(x, top, label, caption):
        for h, color in enumerate(colors):
            ax.add_patch(
                Rectangle(
                    (x + h * d_head * unit, top - h_in),
                    d_head * unit,
                    h_in,
                    facecolor=color,
                    alpha=0.55,
                )
            )
            ax.text(
                x + (h + 0.5) * d_head * unit,
                top - h_in / 2,
                str(h + 1),
                ha="center",
                va="center",
                fontsize=SMALL,
            )
        ax.add_patch(
            Rectangle(
                (x, top - h_in), d_model * unit, h_in, fill=False, edgecolor="0.2", lw=1
            )
        )
        ax.text(
            x + d_model * unit / 2,
            top + 0.05,
            label,
            ha="center",
            va="bottom",
            fontsize=10,
        )
        ax.text(
            x + d_model * unit / 2,
            top - h_in - 0.05,
            caption,
            ha="center",
            va="top",
            fontsize=SMALL,
        )

    x = 0.2
    sliced(
        x,
        middle + h_in / 2,
        "$Q$, $K$, $V$",
        f"n × d_model\nsplit into {num_heads} heads",
    )
    x += widths[0] + gap
    top = middle + stack / 2
    for h, color in enumerate(colors):
        y = top - h * (h_in + 0.15)
        ax.add_patch(
            Rectangle(
                (x, y - h_in),
                n * unit,
                h_in,
                facecolor=color,
                alpha=0.3,
                edgecolor="0.2",
            )
        )
        ax.text(
            x + n * unit / 2,
            y - h_in / 2,
            f"head {h + 1}\nn × n",
            ha="center",
            va="center",
            fontsize=SMALL,
        )
        ax.add_patch(
            Rectangle(
                (x + n * unit + 0.4, y - h_in),
                d_head * unit,
                h_in,
                facecolor=color,
                alpha=0.55,
                edgecolor="0.2",
            )
        )
        ax.text(
            x + n * unit + 0.4 + d_head * unit / 2,
            y - h_in / 2,
            str(h + 1),
            ha="center",
            va="center",
            fontsize=SMALL,
        )
        ax.text(
            x + n * unit + 0.2, y - h_in / 2, "→", ha="center", va="center", fontsize=9
        )
    ax.text(
        x + widths[1] / 2,
        top + 0.05,
        "attend, head by head",
        ha="center",
        va="bottom",
        fontsize=10,
    )
    ax.text(
        x + widths[1] / 2,
        top - stack - 0.05,
        f"d_head = {d_model} / {num_heads} = {d_head}",
        ha="center",
        va="top",
        fontsize=SMALL,
    )
    x += widths[1] + gap
    sliced(x, middle + h_in / 2, "concatenate", "n × d_model")
    x += widths[2] + gap
    ax.add_patch(
        Rectangle(
            (x, middle - h_in / 2),
            d_model * unit,
            h_in,
            facecolor=OUTPUT_COLOR,
            alpha=0.4,
            edgecolor="0.2",
        )
    )
    ax.text(
        x + d_model * unit / 2,
        middle + h_in / 2 + 0.05,
        "$\\times W_O$",
        ha="center",
        va="bottom",
        fontsize=10,
    )
    ax.text(
        x + d_model * unit / 2,
        middle - h_in / 2 - 0.05,
        "output\nn × d_model",
        ha="center",
        va="top",
        fontsize=SMALL,
    )
    for x_arrow in np.cumsum([0.2 + widths[0], gap + widths[1], gap + widths[2]]):
        ax.annotate(
            "",
            xy=(x_arrow + gap - 0.15, middle),
            xytext=(x_arrow + 0.15, middle),
            arrowprops=dict(arrowstyle="->", color="0.3"),
        )
    return fig


def position_heatmap(positions, *, title="", width=WIDTH, height=3.6):
    """Position vectors as a heatmap: one row per position,
    one column per feature, values in [-1, 1].
    """
    fig = new_figure(width, height)
    ax = fig.subplots()
    image = ax.imshow(
        positions,
        cmap=SIGNED_CMAP,
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


def similarity_heatmaps(panels, *, width=WIDTH, height=3.6):
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
            cmap=SIGNED_CMAP,
            vmin=-1.0,
            vmax=1.0,
            interpolation="nearest",
        )
        ax.set_xlabel("position")
        ax.set_ylabel("position")
        ax.set_title(title)
    fig.colorbar(image, ax=axes, label="cosine similarity", fraction=0.04)
    return fig


def score_tables(panels, *, width=WIDTH, height=3.8):
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
            scores, cmap=SIGNED_CMAP, vmin=-largest, vmax=largest, aspect="auto"
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

"""Figures that belong to no pyplot window, and their fast rendering to PNG.

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so the
interactive explorers own their figures and nothing leaks into a notebook's output.
``FastPNG`` redraws only the artists that change (blitting), and splits a picture into a
shared background and a small top layer for the pictures drawn in advance.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Literal

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from .style import DPI, WIDTH


def new_figure(
    width: float = WIDTH,
    height: float = 3.4,
    dpi: int = DPI,
    layout: Literal["constrained", "compressed", "tight"] | None = "constrained",
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

    def __init__(self, fig: Figure, dynamic: Callable[[], Sequence[Artist]]):
        self.fig, self.dynamic = fig, dynamic
        self._background: object | None = None  # what the canvas copied

    def render(self, full: bool = False, quantize: bool = False) -> bytes:
        """PNG bytes of the figure; ``quantize`` stores 256 colours (a third of the
        size, for stored frames).
        """
        canvas = self._canvas()
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
        canvas = self._canvas()
        canvas.restore_region(self._background)
        background = self._image("RGB")
        canvas.get_renderer().clear()  # fully transparent
        for artist in self.dynamic():
            if artist.get_visible():
                self.fig.draw_artist(artist)
        top = self._image("RGBA")
        canvas.restore_region(self._background)  # leave the canvas as render() left it
        return _png(background, True), _png(top, True)

    def _canvas(self) -> FigureCanvasAgg:
        """The figure's canvas, which must be Agg's (as ``new_figure`` makes it): only
        Agg can copy and restore the background."""
        canvas = self.fig.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            raise TypeError(
                "FastPNG renders figures with an Agg canvas (make them with "
                f"new_figure), got {type(canvas).__name__}"
            )
        return canvas

    def _image(self, mode: str) -> Image.Image:
        canvas = self._canvas()
        size = canvas.get_width_height()
        return Image.frombuffer("RGBA", size, canvas.buffer_rgba()).convert(mode)


def _png(image: Image.Image, quantize: bool) -> bytes:
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

"""Explorers drawn in advance, for a reader without a Python kernel (the HTML book).

Every combination of the swept controls' values is drawn once, by the explorer itself
(the real code), and the pictures go into ``ipywidgets.Stack`` widgets whose visible
child is linked, in the browser, to new controls (``jslink`` to ``selected_index``).
Moving a control then changes the picture with no kernel and no network. Needs
ipywidgets 8.
"""

from __future__ import annotations

import base64
import html
import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from . import plotting
from .controls import selector_like

if TYPE_CHECKING:
    from .explorer import Explorer

__all__ = [
    "PREDRAWN_CLASS",
    "PREDRAWN_NOTE_CLASS",
    "PREDRAWN_STYLE",
    "Predrawn",
    "img_tag",
    "predraw",
]

#: The class of a pre-drawn explorer's outermost box.
PREDRAWN_CLASS = "selfattention-predrawn"
#: The class of its line for notebook readers ("These are 24 pictures drawn in
#: advance. Run this cell for the live explorer..."), first in the box; the HTML book
#: hides it (book_assets/book.css): there is no cell to run there.
PREDRAWN_NOTE_CLASS = "selfattention-predrawn-note"

#: Sent with that line. A trusted notebook, not yet run, shows its stored explorers from
#: the saved widget state, with no kernel behind them; JupyterLab's widget manager then
#: marks every view of a model without a kernel connection as disconnected (a red
#: broken-chain icon, ``jupyter-widgets-disconnected``; seven of them on one explorer).
#: A pre-drawn explorer needs no kernel: its controls are linked to its pictures in the
#: browser (``jslink``) and work. So it shows no such icon. (A live explorer whose
#: kernel went away still does: the rule applies inside a pre-drawn explorer only.)
PREDRAWN_STYLE = (
    "<style>"
    f".{PREDRAWN_CLASS}.jupyter-widgets-disconnected::before,"
    f".{PREDRAWN_CLASS} .jupyter-widgets-disconnected::before"
    "{content:none;display:none}"
    "</style>"
)

#: The settings of the swept controls, one value per control, in the sweep's order.
Settings = tuple[Any, ...]


@dataclass(frozen=True)
class Drawing:
    """One picture drawn in advance: what its static part looks like (the same key:
    the same background), its two layers and its description in words."""

    static_key: Hashable
    layers: tuple[bytes, bytes]  # (background, top)
    description: str


@dataclass(frozen=True)
class Predrawn:
    """A pre-drawn explorer: the widget, and the PNG a reader sees for each setting."""

    widget: widgets.VBox
    frames: dict[Settings, bytes]
    layered: bool  # one shared background under every picture's top layer


def predraw(explorer: Explorer, sweep: Mapping[str, Sequence[Any]]) -> Predrawn:
    """``explorer`` drawn at every combination of ``sweep`` (control attribute
    names -> the values to offer), as one widget: a line for notebook readers
    (hidden in the book), the new controls and the picture, in that order.

    Leaves the explorer as the new controls show it.
    """
    if not hasattr(widgets, "Stack"):
        raise RuntimeError(
            "pre-drawn explorers need ipywidgets 8 (ipywidgets.Stack), "
            f"found {widgets.__version__}; they are made only for the HTML book, "
            "by scripts/execute_notebooks.py"
        )
    controls = [getattr(explorer, name) for name in sweep]
    selectors = [
        selector_like(control, values)
        for control, values in zip(controls, sweep.values(), strict=True)
    ]
    drawn = {
        chosen: _draw(explorer, controls, chosen)
        for chosen in itertools.product(*sweep.values())
    }
    # Where every picture shares its background (axes, labels: the usual case), that
    # background is stored once and each picture keeps only its top layer, laid over it
    # in the page. Otherwise each picture is stored whole.
    layered = len({d.static_key for d in drawn.values()}) == 1
    frames = {chosen: plotting.stack_layers(*d.layers) for chosen, d in drawn.items()}
    leaves = {
        chosen: widgets.HTML(
            # An <img> with alt text: an ipywidgets Image has no alt attribute.
            img_tag(d.layers[1] if layered else frames[chosen], d.description)
        )
        for chosen, d in drawn.items()
    }
    picture = _stack(leaves, list(sweep.values()), selectors, ())
    if layered:
        background = next(iter(drawn.values())).layers[0]
        picture = _laid_on(background, picture)
    explorer.set_controls(controls, [selector.value for selector in selectors])
    note = widgets.HTML(PREDRAWN_STYLE + _note(explorer, controls, len(frames)))
    note.add_class(PREDRAWN_NOTE_CLASS)
    box = widgets.HBox(selectors, layout=widgets.Layout(flex_flow="row wrap"))
    widget = widgets.VBox([note, box, picture])
    widget.add_class(PREDRAWN_CLASS)
    return Predrawn(widget, frames, layered)


def _draw(explorer: Explorer, controls: list[Any], chosen: Settings) -> Drawing:
    """The explorer's picture with ``controls`` set to ``chosen``."""
    explorer.set_controls(controls, chosen)
    return Drawing(explorer.static_key, explorer.renderer.layers(), explorer.describe())


def _stack(
    leaves: Mapping[Settings, widgets.Widget],
    values: list[Sequence[Any]],
    selectors: list[Any],
    chosen: Settings,
) -> widgets.Widget:
    """The pictures under the settings ``chosen`` so far: one Stack per control, its
    visible child linked (in the browser) to that control's selector."""
    level = len(chosen)
    if level == len(values):
        return leaves[chosen]
    stack = widgets.Stack(
        [_stack(leaves, values, selectors, (*chosen, v)) for v in values[level]]
    )
    stack.selected_index = selectors[level].index
    widgets.jslink((selectors[level], "index"), (stack, "selected_index"))
    return stack


def _laid_on(background: bytes, picture: widgets.Widget) -> widgets.GridBox:
    """The background and the stack of top layers in one grid cell, one on the
    other."""
    cell = widgets.Layout(grid_area="1 / 1")
    base = widgets.HTML(img_tag(background, "", decorative=True), layout=cell)
    picture.layout = widgets.Layout(grid_area="1 / 1")
    return widgets.GridBox(
        [base, picture],
        layout=widgets.Layout(grid_template_columns="100%", max_width="100%"),
    )


def _note(explorer: Explorer, swept: Sequence[Any], pictures: int) -> str:
    """The line above a pre-drawn explorer in a notebook (HTML): what it is, and
    that running its cell gives the live explorer with all its controls, naming
    those it lacks (``swept``: the controls it offers).
    """
    missing = [
        f"“{html.escape(c.description)}”"
        for c in explorer.controls
        if c.description and not any(c is s for s in swept)
    ]
    including = f" (including {', '.join(missing)})" if missing else ""
    return (
        '<p style="margin:0 0 0.3em;line-height:1.4;'
        'color:var(--jp-content-font-color2,#555)">'
        f"These are {pictures} pictures drawn in advance. Run this cell "
        f"for the live explorer with all its controls{including}: Python redraws "
        "the picture as you change them.</p>"
    )


def img_tag(png: bytes, alt: str, decorative: bool = False) -> str:
    """An ``<img>`` of ``png`` with its alt text (``decorative``: read by no screen
    reader)."""
    data = base64.b64encode(png).decode("ascii")
    role = ' role="presentation"' if decorative else ""
    return (
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"{role} '
        'style="max-width:100%;height:auto;display:block">'
    )

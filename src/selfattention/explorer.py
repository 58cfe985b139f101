"""The explorer framework: controls above a picture that is redrawn in place
(ipywidgets + matplotlib).

An explorer (see ``widgets.py`` for the book's explorers) builds its figure once. Every
change of a control calls ``redraw``, which recomputes with the package's own functions
and updates the existing artists; the figure is then rendered to PNG. The numbers behind
each picture are kept as attributes (``scores``, ``weights``...) so tests can check them
without looking at pixels.

Where it is shown decides how it works:

- **In a running kernel** (JupyterLab, Notebook, Colab) an explorer cell shows the live
  explorer at once: Python redraws the picture whenever a control moves.
- **In the HTML book** there is no kernel. When the chapters are executed for the book
  (``scripts/execute_notebooks.py`` sets the environment variable
  ``SELFATTENTION_PREDRAW=1``), the same cell shows :meth:`Explorer.precomputed`
  instead: every picture the controls can ask for is drawn in advance and switched in
  the browser.
- **In a stored notebook, not yet run**, JupyterLab shows the same pre-drawn explorer
  once the notebook is trusted (it renders the saved widget state), with a line saying
  that these are pictures drawn in advance and that running the cell gives the live
  explorer with all its controls; untrusted, it shows a line of text instead
  (``text/plain``). The book hides that line (``book_assets/book.css``).

Works with ipywidgets 7.7 (what Colab ships and renders) and 8.x, through public API
only; only the pre-drawn version needs ipywidgets 8 (``ipywidgets.Stack``), and only the
book's build makes it. The controls are made in ``controls``, the pictures drawn in
advance in ``predrawn``.

Bad input typed by a reader (an empty or overlong sentence) gives a short message inside
the explorer. Any other exception in a callback is shown briefly and then re-raised, so
it fails a test or a notebook run instead of vanishing into the kernel's log.
"""

from __future__ import annotations

import contextlib
import html
import os
import warnings
from collections.abc import Hashable, Iterator, Sequence
from typing import Any, ClassVar

import ipywidgets as widgets
from matplotlib.figure import Figure

from . import plotting
from .controls import CHOICE_CLASS, selection, slider, value_label
from .examples import SentenceError
from .predrawn import PREDRAWN_CLASS, PREDRAWN_NOTE_CLASS, PREDRAWN_STYLE, predraw

__all__ = [
    "ALT_CLASS",
    "CONTROL_NAMES_JS",
    "Explorer",
    "PREDRAWN_CLASS",
    "PREDRAWN_NOTE_CLASS",
    "PREDRAWN_STYLE",
    "PREDRAW_ENV",
    "display_control_names",
    "display_widget",
    "predraw_requested",
    "selection",
    "slider",
]

#: Set to "1" by scripts/execute_notebooks.py: explorer cells then show pre-drawn
#: pictures (for the HTML book).
PREDRAW_ENV = "SELFATTENTION_PREDRAW"

#: Gives the explorers' controls what ipywidgets 8 leaves out for screen readers and
#: keyboard users (WCAG 4.1.2, name, role, value): a slider's handle gets its
#: description as its name and the value it shows as its value text (a selection
#: slider's handle would otherwise say "3" for the fourth choice); a selection slider's
#: readout is not editable (typing there changed the number shown, not the slider); an
#: editable readout is a named text box; toggle buttons say which one is pressed; no
#: label has the tooltip "null"; a dropdown keeps its keys from JupyterLab's
#: command-mode shortcuts (its arrow keys would select another cell). In the HTML book,
#: a pre-drawn picture wider than a phone's text column scrolls sideways in its own box
#: (book_assets/book.css); while it does, the box takes the keyboard focus (arrow keys
#: scroll it) and says what it is. It watches the page, so controls drawn later (and
#: redrawn ones) are named too, and installs itself once. Sent after every live
#: explorer (JupyterLab and Notebook run it: outputs of code just run are trusted;
#: front ends that run no JavaScript ignore it); the HTML book loads it on every page
#: (book_ext), so the notebooks do not store it.
#: The class of the hidden element that holds a live picture's alt text (an ipywidgets
#: Image has no alt attribute); CONTROL_NAMES_JS copies its text onto the picture.
ALT_CLASS = "sa-alt"

CONTROL_NAMES_JS = """
(function () {
  if (window.selfattentionControlNames) return;
  window.selfattentionControlNames = true;
  function text(el) {
    return el ? (el.textContent || "").replace(/\\s+/g, " ").trim() : "";
  }
  function set(el, name, value) {
    if (value === null) {
      if (el.hasAttribute(name)) el.removeAttribute(name);
    } else if (el.getAttribute(name) !== value) {
      el.setAttribute(name, value);
    }
  }
  function nameControls() {
    document.querySelectorAll(".widget-slider").forEach(function (box) {
      var name = text(box.querySelector(".widget-label"));
      var readout = box.querySelector(".widget-readout");
      var shown = readout && readout.style.display !== "none" ? text(readout) : "";
      box.querySelectorAll("[role=slider]").forEach(function (handle) {
        if (name) set(handle, "aria-label", name);
        if (shown) set(handle, "aria-valuetext", shown);
      });
      if (!readout) return;
      if (box.classList.contains("CHOICE")) {
        set(readout, "contenteditable", "false");
      } else if (readout.getAttribute("contenteditable") === "true") {
        set(readout, "role", "textbox");
        set(readout, "aria-label", (name ? name + ": " : "") + "type a value");
      }
    });
    document.querySelectorAll(".widget-toggle-buttons").forEach(function (box) {
      set(box, "role", "group");
      var name = text(box.querySelector(".widget-label"));
      if (name) set(box, "aria-label", name);
      box.querySelectorAll("button").forEach(function (button) {
        var pressed = button.classList.contains("mod-active");
        set(button, "aria-pressed", pressed ? "true" : "false");
      });
    });
    // A dropdown takes its own keys (arrows, letters); JupyterLab's command mode
    // would otherwise take them (ArrowDown selects the next cell, X cuts this one).
    // Lumino runs no shortcut for keys from inside such an element.
    document.querySelectorAll(".widget-dropdown select").forEach(function (select) {
      set(select, "data-lm-suppress-shortcuts", "true");
    });
    document.querySelectorAll(".widget-label[title=null]").forEach(function (label) {
      set(label, "title", null);
    });
    // the live picture's alt text, kept in a hidden element beside it (explorer.py)
    document.querySelectorAll(".ALT_CLASS").forEach(function (alt) {
      var box = alt.closest(".widget-vbox");
      var img = box && box.querySelector(".widget-image, img");
      if (img) set(img, "alt", text(alt));
    });
    var pictures = document.querySelectorAll(".widget-vbox > .jupyter-widgets");
    pictures.forEach(function (box) {
      if (!box.querySelector("img")) return;
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      set(box, "tabindex", scrolls ? "0" : null);
      set(box, "role", scrolls ? "group" : null);
      set(box, "aria-label", scrolls ? "The picture, wider than the page: " +
        "scroll it sideways to see all of it" : null);
    });
  }
  var pending = false;
  function soon() {
    if (pending) return;
    pending = true;
    setTimeout(function () {
      pending = false;
      nameControls();
    }, 30);
  }
  new MutationObserver(soon).observe(document.documentElement, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ["class", "style", "aria-valuetext", "title", "contenteditable"],
  });
  // a picture's width is known once it has loaded, and the column's changes with the
  // window
  document.addEventListener("load", soon, true);
  window.addEventListener("resize", soon);
  soon();
})();
""".replace("CHOICE", CHOICE_CLASS).replace("ALT_CLASS", ALT_CLASS)


def predraw_requested() -> bool:
    """True while the chapters are executed for the HTML book
    (no kernel will be there to redraw).
    """
    return os.environ.get(PREDRAW_ENV) == "1"


class Explorer:
    """Controls above a picture; a change of any control redraws the picture in place.

    Subclasses build their controls and figure, then call
    ``super().__init__(controls, fig, parts)`` where ``parts`` are drawing objects from
    :mod:`selfattention.plotting` (their ``dynamic()`` artists are redrawn quickly);
    they implement :meth:`redraw` and set :attr:`PICTURE` and :attr:`SWEEP`.
    """

    #: What the picture shows, for readers who cannot see it (subclasses set this).
    PICTURE: ClassVar[str] = "A picture of attention"

    #: For ``precomputed()``: which controls to sweep, and over which values
    #: (subclasses set this).
    SWEEP: dict[str, Sequence[Any]] = {}

    def __init__(self, controls: Sequence[Any], fig: Figure, parts: Sequence[Any]):
        self.controls = list(controls)
        self.fig = fig
        self.renderer = plotting.FastPNG(
            fig, lambda: [a for part in parts for a in part.dynamic()]
        )
        # subclasses set this to the tick labels; a change forces a full redraw
        self.static_labels: tuple[Any, ...] = ()
        self._static_key: Hashable = None
        self.message = widgets.HTML()
        # a remark a subclass may set during redraw; shown under the controls
        self.note = ""
        self.png = b""  # the picture as it is now
        # the live widget's picture, made when the live explorer is first shown
        self._image: widgets.Image | None = None
        self._alt: widgets.HTML | None = None  # the live picture's alt text
        self._widget: widgets.VBox | None = None
        self._quiet = False
        #: for tests, after ``precomputed``: (value, value, ...) -> the PNG a reader
        #: sees, and whether the pictures share one background
        self.frames: dict[tuple[Any, ...], bytes] = {}
        self.layered = False
        for control in self.controls:
            control.observe(self._on_change, names="value")
        # first drawing: any error surfaces here, in the cell that builds the explorer
        self._on_change()
        # The layout engine has placed the axes; they stay there. Every later drawing
        # is then the same for the same settings, and quicker (explorers whose labels
        # change leave room for them: plotting.attention_figure(fixed=True)).
        self.fig.set_layout_engine("none")

    def redraw(self) -> None:
        """Recompute from the controls' values and update the figure's
        artists (subclasses).
        """
        raise NotImplementedError

    @property
    def widget(self) -> widgets.VBox:
        """The live explorer: its controls, a message line and the
        picture, redrawn by Python.
        """
        if self._widget is None:
            self._image = widgets.Image(
                value=self.png,
                format="png",
                layout=widgets.Layout(max_width="100%", height="auto"),
            )
            # an ipywidgets Image has no alt attribute: its text travels hidden
            # beside it, and CONTROL_NAMES_JS copies it onto the <img>
            self._alt = widgets.HTML(
                self._alt_html(), layout=widgets.Layout(display="none")
            )
            controls = widgets.HBox(
                self.controls, layout=widgets.Layout(flex_flow="row wrap")
            )
            self._widget = widgets.VBox(
                [controls, self.message, self._alt, self._image]
            )
        return self._widget

    @property
    def static_key(self) -> Hashable:
        """What the static part of the picture (tick labels, axis limits) looks like
        now: the same key, the same background."""
        return self._static_key

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Change controls from code without triggering a redraw for each change."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def set_controls(self, controls: Sequence[Any], values: Sequence[Any]) -> None:
        """Set each of ``controls`` to its value of ``values``, then redraw once."""
        with self.quietly():
            for control, value in zip(controls, values, strict=True):
                control.value = value
        self._on_change()

    def _on_change(self, change: object = None) -> None:
        if self._quiet:
            return
        try:
            key, png = self._render()
        except SentenceError as err:
            # the reader's input: explain, keep the last picture
            self.message.value = f'<p style="color:#b00020">{html.escape(str(err))}</p>'
            return
        except Exception as err:
            # a bug: say so here, and let it fail the test or the notebook run
            self.message.value = (
                '<p style="color:#b00020">Something went wrong '
                f"({html.escape(type(err).__name__)}).</p>"
            )
            raise
        self._static_key = key
        self.message.value = (
            f'<p style="color:#444">{html.escape(self.note)}</p>' if self.note else ""
        )
        self.png = png
        if self._image is not None:
            self._image.value = png
        if self._alt is not None:
            self._alt.value = self._alt_html()

    def _alt_html(self) -> str:
        """The picture's alt text (``describe``), as the hidden widget holds it."""
        return f'<span class="{ALT_CLASS}">{html.escape(self.describe())}</span>'

    def _render(self) -> tuple[Hashable, bytes]:
        """Redraw, then render: the key of the static part and the PNG (a full
        render only where the static part has changed)."""
        with warnings.catch_warnings():
            # Characters the figure's font cannot draw are reported in the message
            # line (see redraw); matplotlib's own warning would only reach the
            # kernel's log.
            warnings.filterwarnings(
                "ignore", message="Glyph .* missing from", category=UserWarning
            )
            self.redraw()
            key = (
                self.static_labels,
                tuple((ax.get_xlim(), ax.get_ylim()) for ax in self.fig.axes),
            )
            return key, self.renderer.render(full=key != self._static_key)

    def describe(self) -> str:
        """In words, what the picture shows: the explorer and its controls' values."""
        settings = "; ".join(
            f"{c.description} = {value_label(c)}" if c.description else value_label(c)
            for c in self.controls
        )
        return f"{self.PICTURE} ({settings})"

    def _ipython_display_(self) -> None:
        """Shown in a notebook: live in a kernel; pre-drawn while the chapters are
        executed for the book.
        """
        text = f"{self.PICTURE}: an interactive explorer. {_RUN_THIS_CELL}"
        if predraw_requested():
            # the HTML book runs CONTROL_NAMES_JS on every page (book_ext)
            display_widget(self.precomputed(), text)
        else:
            display_widget(self.widget, text)
            display_control_names()

    def precomputed(self, **sweep: Sequence[Any]) -> widgets.VBox:
        """The same explorer for a reader without a Python kernel (the HTML book).

        Every combination of the swept controls' values is drawn once, now, by this
        explorer (the real code), and the pictures go into ``ipywidgets.Stack`` widgets
        whose visible child is linked, in the browser, to new controls (``jslink`` to
        ``selected_index``). Moving a control then changes the picture with no kernel
        and no network. ``sweep`` maps control attribute names to the values to offer;
        by default the class's ``SWEEP``. Needs ipywidgets 8 (see
        :mod:`selfattention.predrawn`).

        The box holds a line for notebook readers (hidden in the book), the new
        controls and the picture, in that order.
        """
        swept = {name: list(values) for name, values in (sweep or self.SWEEP).items()}
        if not swept:
            raise ValueError(
                f"{type(self).__name__} has nothing to sweep; pass control=values"
            )
        drawn = predraw(self, swept)
        self.frames, self.layered = drawn.frames, drawn.layered
        return drawn.widget


#: What an untrusted notebook shows for an explorer (its plain-text form), as do front
#: ends that render no widgets: true wherever it is read (JupyterLab shows a trusted
#: notebook's pre-drawn explorers, but not those the book computes in the page).
_RUN_THIS_CELL = (
    "Run this cell to see it: Python redraws the picture as you change its controls."
)


def display_widget(widget: widgets.Widget, text: str) -> None:
    """Display ``widget`` with ``text`` as its plain-text form (what an untrusted
    notebook shows instead).

    Written out rather than delegated to the widget, because ipywidgets 7
    (``_ipython_display_``) and 8 (``_repr_mimebundle_``) display widgets differently;
    the message is the same in both.
    """
    from IPython.display import display

    view = {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}
    display(
        {"text/plain": text, "application/vnd.jupyter.widget-view+json": view}, raw=True
    )


def display_control_names() -> None:
    """Display ``CONTROL_NAMES_JS`` (a JavaScript output with no text form: front ends
    that run no JavaScript show nothing)."""
    from IPython.display import display

    display({"application/javascript": CONTROL_NAMES_JS}, raw=True)

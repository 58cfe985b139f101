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
book's build makes it.

Bad input typed by a reader (an empty or overlong sentence) gives a short message inside
the explorer. Any other exception in a callback is shown briefly and then re-raised, so
it fails a test or a notebook run instead of vanishing into the kernel's log.
"""

from __future__ import annotations

import base64
import contextlib
import html
import itertools
import os
import warnings

import ipywidgets as widgets

from . import plotting
from .examples import SentenceError

__all__ = [
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

_SELECTIONS = (
    widgets.Dropdown,
    widgets.SelectionSlider,
    widgets.ToggleButtons,
    widgets.RadioButtons,
)
_STYLE = {"description_width": "initial"}

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

#: The class of selection sliders (their readout shows a choice; typing there would
#: change nothing, see CONTROL_NAMES_JS).
CHOICE_CLASS = "selfattention-choice"

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
""".replace("CHOICE", CHOICE_CLASS)


def predraw_requested() -> bool:
    """True while the chapters are executed for the HTML book
    (no kernel will be there to redraw).
    """
    return os.environ.get(PREDRAW_ENV) == "1"


#: Sliders get a track long enough to aim with, and shrink with a narrow screen.
_SLIDER_LAYOUT = {"width": "min(100%, 30em)"}


def slider(cls, description: str, **kwargs):
    """A numeric slider (``IntSlider``, ``FloatSlider``) that redraws once the
    reader lets go of it.
    """
    layout = widgets.Layout(**_SLIDER_LAYOUT)
    return cls(
        description=description,
        continuous_update=False,
        style=_STYLE,
        layout=layout,
        **kwargs,
    )


def selection(cls, description: str, options, value=None, **kwargs):
    """A selection control (``SelectionSlider``, ``Dropdown``,
    ``ToggleButtons``...) over ``options``.

    ``options`` are values, or ``(label, value)`` pairs; they are stored as pairs, so
    the label of every value can be read back through the public ``options`` attribute
    on ipywidgets 7 and 8 alike.
    """
    pairs = [
        o if isinstance(o, tuple) else (f"{o:g}" if isinstance(o, float) else str(o), o)
        for o in options
    ]
    value = pairs[0][1] if value is None else value
    kwargs.setdefault(
        "style",
        {**_STYLE, "button_width": "auto"} if cls is widgets.ToggleButtons else _STYLE,
    )
    if cls is widgets.SelectionSlider:
        kwargs.setdefault("continuous_update", False)
        kwargs.setdefault("layout", widgets.Layout(**_SLIDER_LAYOUT))
    control = cls(description=description, options=pairs, value=value, **kwargs)
    if cls is widgets.SelectionSlider:
        control.add_class(CHOICE_CLASS)
    return control


def _is_selection(control) -> bool:
    return isinstance(control, _SELECTIONS)


def _label(control) -> str:
    """The value of a control as the reader sees it."""
    if _is_selection(control):
        return str(control.label)
    return (
        f"{control.value:g}"
        if isinstance(control.value, int | float)
        else repr(control.value)
    )


class Explorer:
    """Controls above a picture; a change of any control redraws the picture in place.

    Subclasses build their controls and figure, then call
    ``super().__init__(controls, fig, parts)`` where ``parts`` are drawing objects from
    :mod:`selfattention.plotting` (their ``dynamic()`` artists are redrawn quickly);
    they implement :meth:`redraw` and set :attr:`PICTURE` and :attr:`SWEEP`.
    """

    #: What the picture shows, for readers who cannot see it (subclasses set this).
    PICTURE = "A picture of attention"

    #: For ``precomputed()``: which controls to sweep, and over which values
    #: (subclasses set this).
    SWEEP: dict = {}

    def __init__(self, controls, fig, parts):
        self.controls = list(controls)
        self.fig = fig
        self.renderer = plotting.FastPNG(
            fig, lambda: [a for part in parts for a in part.dynamic()]
        )
        # subclasses set this to the tick labels; a change forces a full redraw
        self.static_labels = ()
        self._static_key = None
        self.message = widgets.HTML()
        # a remark a subclass may set during redraw; shown under the controls
        self.note = ""
        self.png = b""  # the picture as it is now
        # the live widget's picture, made when the live explorer is first shown
        self._image = None
        self._widget = None
        self._quiet = False
        for control in self.controls:
            control.observe(self._on_change, names="value")
        # first drawing: any error surfaces here, in the cell that builds the explorer
        self._on_change()
        # The layout engine has placed the axes; they stay there. Every later drawing
        # is then the same for the same settings, and quicker (explorers whose labels
        # change leave room for them: plotting.attention_figure(fixed=True)).
        self.fig.set_layout_engine("none")

    def redraw(self):
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
            controls = widgets.HBox(
                self.controls, layout=widgets.Layout(flex_flow="row wrap")
            )
            self._widget = widgets.VBox([controls, self.message, self._image])
        return self._widget

    @contextlib.contextmanager
    def quietly(self):
        """Change controls from code without triggering a redraw for each change."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _on_change(self, change=None):
        if self._quiet:
            return
        try:
            with warnings.catch_warnings():
                # Characters the figure's font cannot draw are reported in the
                # message line (see redraw); matplotlib's own warning would only
                # reach the kernel's log.
                warnings.filterwarnings(
                    "ignore", message="Glyph .* missing from", category=UserWarning
                )
                self.redraw()
                key = (
                    self.static_labels,
                    tuple((ax.get_xlim(), ax.get_ylim()) for ax in self.fig.axes),
                )
                png = self.renderer.render(full=key != self._static_key)
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

    def describe(self) -> str:
        """In words, what the picture shows: the explorer and its controls' values."""
        settings = "; ".join(
            f"{c.description} = {_label(c)}" if c.description else _label(c)
            for c in self.controls
        )
        return f"{self.PICTURE} ({settings})"

    def _ipython_display_(self):
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

    def precomputed(self, **sweep) -> widgets.VBox:
        """The same explorer for a reader without a Python kernel (the HTML book).

        Every combination of the swept controls' values is drawn once, now, by this
        explorer (the real code), and the pictures go into ``ipywidgets.Stack`` widgets
        whose visible child is linked, in the browser, to new controls (``jslink`` to
        ``selected_index``). Moving a control then changes the picture with no kernel
        and no network. ``sweep`` maps control attribute names to the values to offer;
        by default the class's ``SWEEP``. Needs ipywidgets 8.

        The box holds a line for notebook readers (:meth:`predrawn_note`, hidden in
        the book), the new controls and the picture, in that order.
        """
        if not hasattr(widgets, "Stack"):
            raise RuntimeError(
                "pre-drawn explorers need ipywidgets 8 (ipywidgets.Stack), "
                f"found {widgets.__version__}; they are made only for the HTML book, "
                "by scripts/execute_notebooks.py"
            )
        sweep = {name: list(values) for name, values in (sweep or self.SWEEP).items()}
        if not sweep:
            raise ValueError(
                f"{type(self).__name__} has nothing to sweep; pass control=values"
            )
        controls = [getattr(self, name) for name in sweep]
        selectors = [
            _selector_like(control, values)
            for control, values in zip(controls, sweep.values(), strict=True)
        ]
        # Draw every combination once: (value, value, ...) -> (static key, layers).
        drawn = {}
        for chosen in itertools.product(*sweep.values()):
            with self.quietly():
                for control, value in zip(controls, chosen, strict=True):
                    control.value = value
            self._on_change()
            drawn[chosen] = (self._static_key, self.renderer.layers(), self.describe())
        # Where every picture shares its background (axes, labels: the usual case),
        # that background is stored once and each picture keeps only its top layer,
        # laid over it in the page. Otherwise each picture is stored whole.
        self.layered = len({key for key, _, _ in drawn.values()}) == 1
        background = next(iter(drawn.values()))[1][0]
        #: (value, value, ...) -> the PNG a reader sees, kept for tests
        self.frames = {
            chosen: plotting.stack_layers(*layers)
            for chosen, (_, layers, _) in drawn.items()
        }

        def stack_for(level, chosen):
            if level == len(controls):
                _, (_, top), description = drawn[tuple(chosen)]
                picture = top if self.layered else self.frames[tuple(chosen)]
                # An <img> with alt text inside an HTML widget:
                # an ipywidgets Image has no alt attribute.
                return widgets.HTML(_img_tag(picture, description))
            values = list(sweep.values())[level]
            stack = widgets.Stack([stack_for(level + 1, [*chosen, v]) for v in values])
            stack.selected_index = selectors[level].index
            widgets.jslink((selectors[level], "index"), (stack, "selected_index"))
            return stack

        picture = stack_for(0, [])
        if self.layered:
            # the background and the stack in one grid cell, one on the other
            cell = widgets.Layout(grid_area="1 / 1")
            base = widgets.HTML(_img_tag(background, "", decorative=True), layout=cell)
            picture.layout = widgets.Layout(grid_area="1 / 1")
            picture = widgets.GridBox(
                [base, picture],
                layout=widgets.Layout(grid_template_columns="100%", max_width="100%"),
            )
        with self.quietly():  # leave the explorer as the selectors show it
            for control, selector in zip(controls, selectors, strict=True):
                control.value = selector.value
        self._on_change()
        note = widgets.HTML(PREDRAWN_STYLE + self.predrawn_note(controls))
        note.add_class(PREDRAWN_NOTE_CLASS)
        box = widgets.HBox(selectors, layout=widgets.Layout(flex_flow="row wrap"))
        explorer = widgets.VBox([note, box, picture])
        explorer.add_class(PREDRAWN_CLASS)
        return explorer

    def predrawn_note(self, swept) -> str:
        """The line above a pre-drawn explorer in a notebook (HTML): what it is, and
        that running its cell gives the live explorer with all its controls, naming
        those it lacks (``swept``: the controls it offers).
        """
        missing = [
            f"“{html.escape(c.description)}”"
            for c in self.controls
            if c.description and not any(c is s for s in swept)
        ]
        including = f" (including {', '.join(missing)})" if missing else ""
        return (
            '<p style="margin:0 0 0.3em;line-height:1.4;'
            'color:var(--jp-content-font-color2,#555)">'
            f"These are {len(self.frames)} pictures drawn in advance. Run this cell "
            f"for the live explorer with all its controls{including}: Python redraws "
            "the picture as you change them.</p>"
        )


#: What an untrusted notebook shows for an explorer (its plain-text form), as do front
#: ends that render no widgets: true wherever it is read (JupyterLab shows a trusted
#: notebook's pre-drawn explorers, but not those the book computes in the page).
_RUN_THIS_CELL = (
    "Run this cell to see it: Python redraws the picture as you change its controls."
)


def display_widget(widget, text: str) -> None:
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


def _img_tag(png: bytes, alt: str, decorative: bool = False) -> str:
    data = base64.b64encode(png).decode("ascii")
    role = ' role="presentation"' if decorative else ""  # read by no screen reader
    return (
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"{role} '
        'style="max-width:100%;height:auto;display:block">'
    )


def _selector_like(control, values):
    """A new selection control (it has an ``index`` to link) offering
    ``values`` for ``control``.
    """
    if _is_selection(control):
        labels = {value: label for label, value in control.options}
        value = control.value if control.value in values else values[0]
        return selection(
            type(control), control.description, [(labels[v], v) for v in values], value
        )
    # the offered value nearest to the current one
    value = min(values, key=lambda v: abs(v - control.value))
    return selection(widgets.SelectionSlider, control.description, values, value)

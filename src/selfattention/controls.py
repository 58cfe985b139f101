"""The explorers' controls (ipywidgets): sliders that redraw once let go, selections
whose labels can be read back, and a control's value as the reader sees it.

Works with ipywidgets 7.7 (what Colab ships and renders) and 8.x, through public API
only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

__all__ = [
    "CHOICE_CLASS",
    "is_selection",
    "selection",
    "selector_like",
    "slider",
    "value_label",
]

_SELECTIONS = (
    widgets.Dropdown,
    widgets.SelectionSlider,
    widgets.ToggleButtons,
    widgets.RadioButtons,
)
_STYLE = {"description_width": "initial"}

#: The class of selection sliders (their readout shows a choice; typing there would
#: change nothing, see explorer.CONTROL_NAMES_JS).
CHOICE_CLASS = "selfattention-choice"

#: Sliders get a track long enough to aim with, and shrink with a narrow screen.
_SLIDER_LAYOUT = {"width": "min(100%, 30em)"}


def slider(cls: type[widgets.Widget], description: str, **kwargs: Any) -> Any:
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


def selection(
    cls: type[widgets.Widget],
    description: str,
    options: Sequence[Any],
    value: Any = None,
    **kwargs: Any,
) -> Any:
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


def is_selection(control: widgets.Widget) -> bool:
    """Whether ``control`` chooses among options (rather than a number)."""
    return isinstance(control, _SELECTIONS)


def value_label(control: Any) -> str:
    """The value of a control as the reader sees it."""
    if is_selection(control):
        return str(control.label)
    return (
        f"{control.value:g}"
        if isinstance(control.value, int | float)
        else repr(control.value)
    )


def selector_like(control: Any, values: Sequence[Any]) -> Any:
    """A new selection control (it has an ``index`` to link) offering
    ``values`` for ``control``.
    """
    if is_selection(control):
        labels = {value: label for label, value in control.options}
        value = control.value if control.value in values else values[0]
        # as wide as the control (a list of long prompts shows them whole)
        width = control.layout.width
        return selection(
            type(control),
            control.description,
            [(labels[v], v) for v in values],
            value,
            **({"layout": widgets.Layout(width=width)} if width else {}),
        )
    # the offered value nearest to the current one
    value = min(values, key=lambda v: abs(v - control.value))
    return selection(widgets.SelectionSlider, control.description, values, value)

"""Small helpers the chapters use to show code and to put computed
numbers into the prose.
"""

from __future__ import annotations

import html
import inspect
import re
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.display import Code


def show_source(*objects: Callable[..., Any]) -> Code:
    """Display the real source code of functions or classes of the package
    (never a pasted copy).
    """
    from IPython.display import Code

    return Code(
        "\n\n".join(inspect.getsource(obj).rstrip() for obj in objects),
        language="python",
    )


#: The MIME type of the outputs made by ``glue``. No front end displays it (the book
#: drops it, see ``QuotedValueRenderer``); nbval compares it like any other output, so a
#: value that changes fails the tests.
VALUE_MIME = "application/vnd.selfattention.value+json"

#: Characters a quoted value may not contain:
#: it is written into the prose as it is, with no delimiters.
_NOT_IN_VALUES = re.compile(r"[\s*_()\[\]<>`$|\\]")


def glue(name: str, value: object) -> None:
    """Record ``value`` as the text that the prose quotes under ``name``.

    In a chapter's markdown, the quoted number is written as plain text followed by a
    marker, ``0.70<!-- value: it_top_weight -->``, which every front end (the book,
    JupyterLab, Colab, GitHub) shows as plain "0.70". ``scripts/execute_notebooks.py``
    writes each glued value in front of its marker, and the tests fail when a quoted
    number differs from what the code computes.

    ``value`` is a string formatted the way the prose shows it
    (``f"{x:.2f}"``) or an integer.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(
            f"glue {name!r}: format the value as the prose shows it, e.g. "
            f"f'{{x:.2f}}', got {value!r}"
        )
    text = str(value)
    if not text or _NOT_IN_VALUES.search(text):
        raise ValueError(
            f"glue {name!r}: a quoted value must be one word "
            f"without spaces or markup, got {text!r}"
        )
    try:
        from IPython.display import display
    except ImportError:  # plain Python: nothing to record
        return
    display({VALUE_MIME: {"name": name, "value": text}}, raw=True)


#: The MIME type of the outputs made by ``claim``: like ``VALUE_MIME``, shown by no
#: front end and compared by nbval.
CLAIM_MIME = "application/vnd.selfattention.claim+json"

#: A claim's name: what the prose's marker ``<!-- claim: name -->`` refers to.
_CLAIM_NAME = re.compile(r"[\w-]+")


class ClaimError(AssertionError):
    """A sentence of the prose that the numbers just computed do not support."""


def claim(name: str, holds: object, statement: str) -> None:
    """Back a sentence of the prose with the computation it is about.

    The prose marks the sentence, ``…eight times as many scores to exponentiate.<!--
    claim: softmax_grows -->`` (every front end shows nothing of the marker); the code
    cell that computes the numbers calls ``claim("softmax_grows", ratio > 2, "the
    softmax of eight heads takes longer than one head's")``. When ``holds`` is false,
    executing the chapter fails here with ``ClaimError``, naming the sentence: the
    prose can no longer say something the code does not show. Where the numbers vary
    from machine to machine (timings), the condition must hold with a wide margin on
    any machine.

    ``statement`` says in words what the prose claims (it is stored with the output,
    so keep computed numbers out of it). ``tests/test_notebooks.py`` checks that every
    claim the prose marks is made, and held, in the same chapter.
    """
    if not isinstance(name, str) or not _CLAIM_NAME.fullmatch(name):
        raise ValueError(f"claim names are words like 'softmax_grows', got {name!r}")
    if not bool(holds):
        raise ClaimError(
            f"the prose claims that {statement} (<!-- claim: {name} -->), "
            "but the numbers computed here do not show it"
        )
    try:
        from IPython.display import display
    except ImportError:  # plain Python: the check above is all there is to do
        return
    display({CLAIM_MIME: {"name": name, "statement": statement}}, raw=True)


class QuotedValueRenderer:
    """A MyST-NB output renderer (registered in pyproject.toml):
    the outputs of ``glue`` and ``claim`` are for the prose only.
    """

    mime_priority_overrides = ()

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list[Any] | None:
        return [] if data.mime_type in (VALUE_MIME, CLAIM_MIME) else None


def compare_source(
    first: Callable[..., Any],
    second: Callable[..., Any],
    titles: tuple[str, str] = ("NumPy", "PyTorch"),
) -> _HTMLWithText:
    """The real source of two functions as ONE listing: the lines they share once, the
    lines that differ as pairs, each marked with the initial of its function's title.

    It reads top to bottom on any screen (no side-by-side panes that scroll sideways),
    and what differs stands out: in the book on a tinted background, in plain text
    after an ``N |`` or ``P |`` mark. A first line says which mark is which.
    """
    import difflib

    a, b = (inspect.getsource(obj).rstrip().splitlines() for obj in (first, second))
    # (None, line) for a shared line;
    # (0, line) or (1, line) for a line of one function only
    rows: list[tuple[int | None, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, a, b, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            rows += [(None, line) for line in a[i1:i2]]
        else:
            rows += [(0, line) for line in a[i1:i2]] + [(1, line) for line in b[j1:j2]]
    marks = [title[0] for title in titles]
    legend = f"# {marks[0]}: {titles[0]} only, {marks[1]}: {titles[1]} only"
    text = "\n".join(
        [legend]
        + [f"{' ' if side is None else marks[side]} | {line}" for side, line in rows]
    )
    # light yellow, light blue: dark text stays at full contrast on both
    tints = ("#fff4d6", "#e3efff")
    lines = [f'<span style="color:#444">{html.escape(legend)}</span>']
    for side, line in rows:
        mark = " " if side is None else marks[side]
        style = "" if side is None else f' style="background:{tints[side]}"'
        mark = f'<span style="color:#444">{mark} </span>'
        lines.append(f"<span{style}>{mark}{html.escape(line)}</span>")
    # dark text on a light ground whatever the page's colours (the book's dark mode too)
    html_text = (
        '<pre style="line-height:1.35;overflow-x:auto;padding:0.6em;color:#1a1a1a;'
        'background:#fafafa;border:1px solid #ccc;border-radius:4px">'
        + "\n".join(lines)
        + "</pre>"
    )
    return _HTMLWithText(html_text, text)


class _HTMLWithText:
    """HTML for the browser, plain source text for everything else
    (and for nbval's comparison).
    """

    def __init__(self, html: str, text: str):
        self.html, self.text = html, text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


class status:  # noqa: N801 (used like a function: `with status("Loading the model"):`)
    """A status line for a cell that takes more than a moment:
    ``with status("Loading the model"): ...``.

    While the block runs, the line reads "Loading the model… 3 s" and its clock
    ticks every half second; ``update(text)`` says what is being done now. Given
    ``steps`` (how many ``update`` calls the block makes), it also says which step is
    running and, once one step is done, about how long is left: "Training: seed 1
    (step 2 of 3)… 9 s, about 9 s left". When the block ends, the line disappears.

    It leaves nothing behind in the stored notebook: its plain-text form (what GitHub,
    Colab and an untrusted notebook show instead of the widget) is empty. Outside a
    notebook (no IPython or no ipywidgets) it does nothing.
    """

    def __init__(self, message: str, *, steps: int | None = None):
        self.message, self.detail, self.steps = message, "", steps
        self.step = 0  # the step running now, from 1; 0 before the first update
        self._line: Any = None  # the ipywidgets.HTML line, in a notebook

    def __enter__(self) -> status:
        self._start = self._step_start = time.perf_counter()
        try:
            import ipywidgets
            from IPython import get_ipython
        except ImportError:
            return self
        if get_ipython() is None:
            return self
        from .explorer import display_widget

        self._line = ipywidgets.HTML()
        self._start = self._step_start = time.perf_counter()
        self._done = threading.Event()
        self._show()
        display_widget(self._line, "")
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()
        return self

    def update(self, detail: str) -> None:
        """Say what is being done now (shown after the message): the next step."""
        self.detail = detail
        self.step += 1
        self._step_start = time.perf_counter()
        self._show()

    def text(self) -> str:
        """The line as it reads now."""
        now = time.perf_counter()
        seconds = now - self._start
        detail = f": {self.detail}" if self.detail else ""
        where, left = "", ""
        if self.steps and self.step:
            where = f" (step {self.step} of {self.steps})"
            finished = self.step - 1
            if finished:
                # the steps done so far took this long each, on average
                per_step = (self._step_start - self._start) / finished
                remaining = per_step * (self.steps - finished) - (
                    now - self._step_start
                )
                left = f", about {max(remaining, 1):.0f} s left"
        return f"{self.message}{detail}{where}… {seconds:.0f} s{left}"

    def _show(self) -> None:
        if self._line is not None:
            self._line.value = f'<p style="color:#444">{html.escape(self.text())}</p>'

    def _tick(self) -> None:
        while not self._done.wait(0.5):
            self._show()

    def __exit__(self, *exc: object) -> None:
        if self._line is not None:
            self._done.set()
            self._ticker.join()
            self._line.value = ""
            self._line.layout.display = "none"


def median_time(fn: Callable[[], object], repeats: int = 5) -> float:
    """Seconds that ``fn()`` takes: the median of ``repeats`` runs
    after one warm-up run.
    """
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def best_time(fn: Callable[[], object], repeats: int = 5) -> float:
    """Seconds that ``fn()`` takes: the fastest of ``repeats`` runs after one warm-up.

    Other work on the machine only ever adds time, so the fastest run is the steadiest
    measure of ``fn`` itself; claims that compare timings use it (``claim``).
    """
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_memory(fn: Callable[[], object]) -> int:
    """Bytes of the largest amount of memory that Python and NumPy held at once
    during ``fn()``, beyond what was held before (tracemalloc; torch's own
    allocations are not seen)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

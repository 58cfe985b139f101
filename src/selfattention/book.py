"""Small helpers the chapters use to show code and to put computed numbers into the prose."""

from __future__ import annotations

import inspect
import statistics
import time
import tracemalloc


def show_source(*objects):
    """Display the real source code of functions or classes of the package (never a pasted copy)."""
    from IPython.display import Code

    return Code("\n\n".join(inspect.getsource(obj).rstrip() for obj in objects), language="python")


def glue(name: str, value, display: bool = False):
    """Store ``value`` under ``name`` so the book's prose can quote it (MyST-NB's glue).

    Where MyST-NB is not installed (on Colab, say) nothing is stored; the notebook still runs.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)


def side_by_side(left, right, titles=("NumPy", "PyTorch")):
    """Display the real source of two functions in two columns (one above the other on narrow screens)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    formatter = HtmlFormatter(noclasses=True, nowrap=False, style="default")
    columns = []
    for title, obj in zip(titles, (left, right), strict=True):
        code = highlight(inspect.getsource(obj), PythonLexer(), formatter)
        columns.append(f'<div style="flex:1 1 22em;min-width:0;overflow-x:auto"><p><b>{title}</b></p>{code}</div>')
    html = f'<div style="display:flex;flex-wrap:wrap;gap:1em">{"".join(columns)}</div>'
    return _HTMLWithText(
        html, "\n\n".join(f"# {t}\n{inspect.getsource(o)}" for t, o in zip(titles, (left, right), strict=True))
    )


class _HTMLWithText:
    """HTML for the browser, plain source text for everything else (and for nbval's comparison)."""

    def __init__(self, html: str, text: str):
        self.html, self.text = html, text

    def _repr_html_(self):
        return self.html

    def __repr__(self):
        return self.text


def median_time(fn, repeats: int = 5) -> float:
    """Seconds that ``fn()`` takes: the median of ``repeats`` runs after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory(fn) -> int:
    """Bytes of the largest amount of memory that Python and NumPy held at once during ``fn()``,
    beyond what was held before (tracemalloc; torch's own allocations are not seen)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

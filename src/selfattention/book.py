"""Small helpers the chapters use to show code and to put computed numbers into the prose."""

from __future__ import annotations

import inspect


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

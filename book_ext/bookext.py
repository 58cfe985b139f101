"""A small Sphinx extension for this book:
fixes for the HTML that Jupyter Book 1 produces.
"""

from __future__ import annotations

import json
from pathlib import Path


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """sphinx-thebe adds its inline configuration twice under Jupyter Book (a 'const'
    declared twice is a JavaScript error in the browser's console); keep the first
    copy of every script."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # inline scripts: None or ""
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _trim_the_build(app, exception):
    """Keep the built book small (its size is tested): drop what no reader needs.

    - source maps (``*.map``) of the theme's scripts and styles: for debugging only;
    - TrueType copies of the theme's icon fonts: every browser takes the WOFF2 ones;
    - the pre-drawn pictures inside the downloadable notebooks (``_sources``): whoever
      downloads a notebook runs it, and then its explorers are live.
    """
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for path in [*out.glob("_static/**/*.map"), *out.glob("_static/**/webfonts/*.ttf")]:
        path.unlink()
    for path in out.glob("_sources/**/*.ipynb"):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if notebook.get("metadata", {}).pop("widgets", None) is not None:
            text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
            path.write_text(text, encoding="utf-8")


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("build-finished", _trim_the_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

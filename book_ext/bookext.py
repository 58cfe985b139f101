"""A small Sphinx extension for this book:
fixes for the HTML that Jupyter Book 1 produces.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)


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


#: What the in-page all-MiniLM-L6-v2 (``book_assets/js/minilm.js``) loads on demand,
#: copied into ``_static/minilm/`` of the built book: the runtime from ``node_modules``
#: (``npm ci``, versions pinned by package-lock.json), by package, and the model's
#: files (``scripts/build_browser_model.py`` writes them into ``_build/minilm/``; the
#: build runs it when they are missing or out of date).
MINILM_RUNTIME = {
    "onnxruntime-web": [
        "dist/ort.wasm.min.mjs",
        "dist/ort-wasm-simd-threaded.mjs",
        "dist/ort-wasm-simd-threaded.wasm",
    ],
    "@huggingface/tokenizers": ["dist/tokenizers.min.mjs"],
}
MINILM_STATIC = "_static/minilm"
#: The licences of those files, written beside them (fields filled in by the build).
MINILM_LICENSES = Path(__file__).with_name("minilm-licenses.txt")


def _minilm_files(app) -> tuple[dict[str, Path], dict, str | None]:
    """``(files, facts, reason)``: each file the in-page model loads, by the name it is
    served under; what ``minilm.json`` says about the model and the runtime; and why
    this build has no in-page model (None when it has one).
    """
    from selfattention import pretrained_onnx

    root = Path(app.srcdir)
    files: dict[str, Path] = {}
    versions = {}
    for package, paths in MINILM_RUNTIME.items():
        folder = root / "node_modules" / package
        if not all((folder / p).is_file() for p in paths):
            return {}, {}, f"node_modules has no {package}: run npm ci, then build"
        meta = json.loads((folder / "package.json").read_text(encoding="utf-8"))
        versions[package] = meta["version"]
        files.update({Path(p).name: folder / p for p in paths})
    model = Path(app.outdir).parent / "minilm"
    if not pretrained_onnx.is_current(model):
        logger.info(f"bookext: exporting the in-page model into {model}")
        script = root / "scripts" / "build_browser_model.py"
        done = subprocess.run(
            [sys.executable, str(script), "--out", str(model)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not pretrained_onnx.is_current(model):
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            return {}, {}, f"the model could not be exported: {lines[-1]}"
    manifest = json.loads((model / pretrained_onnx.MANIFEST).read_text())
    for name in [manifest["graph"], *manifest["tokenizer"]]:
        files[name] = model / name
    return files, {**manifest, "runtime": versions}, None


def _copy_minilm(app, exception):
    """Put the in-page all-MiniLM-L6-v2 into the built book (``MINILM_STATIC``) with a
    ``minilm.json`` that ``minilm.js`` reads first: the files and their sizes (for the
    download's progress), the explorer's limits and messages (the Python explorer's),
    or, when this build has no model, a sentence that says why. A build without
    ``node_modules`` or without the model still succeeds.
    """
    if exception is not None or app.builder.format != "html":
        return
    from selfattention import pretrained

    out = Path(app.outdir) / MINILM_STATIC
    files, facts, reason = _minilm_files(app)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    config = {
        "available": reason is None,
        "max_tokens": pretrained.MAX_TOKENS,
        "messages": {
            "empty": pretrained.EMPTY_SENTENCE,
            "too_long": pretrained.TOO_LONG,
        },
    }
    if reason is None:
        for name, source in files.items():
            shutil.copyfile(source, out / name)
        sizes = {name: (out / name).stat().st_size for name in files}
        config.update(facts, files=sizes, download_bytes=sum(sizes.values()))
        licenses = MINILM_LICENSES.read_text(encoding="utf-8").format(
            **facts, **facts["runtime"]
        )
        (out / "LICENSES.txt").write_text(licenses, encoding="utf-8")
        apache = Path(app.srcdir) / "node_modules/@huggingface/tokenizers/LICENSE"
        shutil.copyfile(apache, out / "LICENSE-Apache-2.0.txt")
    else:
        config["unavailable"] = (
            "The in-page all-MiniLM-L6-v2 is not part of this build of the book "
            f"({reason})."
        )
        logger.info(f"bookext: the in-page MiniLM is left out: {reason}")
    text = json.dumps(config, indent=1, ensure_ascii=False) + "\n"
    (out / "minilm.json").write_text(text, encoding="utf-8")


#: Accessible names in the theme's markup (sphinx-book-theme 1.3), fixed in every
#: written page: (what, pattern, replacement, the fixed form). axe-core's
#: ``label-content-name-mismatch`` (WCAG 2.5.3, "label in name") flags a control whose
#: ``aria-label`` leaves out words it shows; each fix lets the name come from what the
#: control shows, or hides icons that are only decoration. The last fix puts the
#: book's title (the link in the left sidebar) in a landmark (axe-core's ``region``).
NAME_FIXES = [
    (
        # "Search" and "Ctrl+K" on screen, aria-label "Search": the name becomes the
        # button's text (the narrow, icon-only search button keeps its aria-label)
        "the search field buttons",
        re.compile(r'(<button class="btn search-button-field[^>]*?) aria-label="\w*"'),
        r"\1",
        re.compile(r'<button class="btn search-button-field(?![^>]*aria-label)'),
    ),
    (
        # three icons titled Light, Dark and System Settings, two of them hidden:
        # decoration; the button is named "Color mode" (theme-mode.js adds the mode)
        "the colour mode button's icons",
        re.compile(r'(<i class="theme-switch [^"]*" data-mode="\w+")\s+title="[^"]*"'),
        r'\1 aria-hidden="true"',
        re.compile(r'<i class="theme-switch [^"]*" data-mode="\w+" aria-hidden="true"'),
    ),
    (
        # folded cells: "Toggle hidden content" named a summary that shows
        # "Solution to exercise 1"; the summary's text is the better name
        "the folded cells' summaries",
        re.compile(r'<summary aria-label="Toggle hidden content">'),
        "<summary>",
        None,  # not every book has folded cells
    ),
    (
        # the left sidebar (the book's title, search, the table of contents) is a
        # navigation landmark named "Book"; its table of contents stays the landmark
        # "Main" inside it
        "the left sidebar",
        re.compile(r'(<div id="pst-primary-sidebar" class="bd-sidebar-primary[^"]*")>'),
        r'\1 role="navigation" aria-label="Book">',
        re.compile(r'<div id="pst-primary-sidebar"[^>]* role="navigation"'),
    ),
]


def _fix_accessible_names(app, exception):
    """Give the theme's buttons and MyST-NB's folded cells accessible names that
    contain what they show (``NAME_FIXES``). Warns when the theme's markup is no longer
    what the fixes expect (a new theme version: check with tests/test_accessibility.py).
    Pages written by an earlier build are fixed already; they count as found.
    """
    if exception is not None or app.builder.format != "html":
        return
    found = dict.fromkeys((fix[0] for fix in NAME_FIXES), 0)
    for path in Path(app.outdir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        fixed = text
        for what, pattern, replacement, done in NAME_FIXES:
            fixed, count = pattern.subn(replacement, fixed)
            found[what] += count or bool(done and done.search(fixed))
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")
    for what, _, _, done in NAME_FIXES:
        if done is not None and not found[what]:
            logger.warning(f"bookext: the markup of {what} was not found in any page")


#: The scripts of the explorers computed in the page (book_assets/js, served from
#: _static/js), in the order they load; the first is written by the build.
LIVE_SCRIPTS = [
    "js/selfattention-data.js",
    "js/selfattention.js",
    "js/draw.js",
    "js/explorers.js",
]
#: The mark of a page that holds such an explorer (a raw HTML element in a markdown
#: cell, ``<div class="selfattention-live" data-explorer="hand-built"></div>``).
LIVE_MARK = 'class="selfattention-live"'
#: Chapter 12's explorer (all-MiniLM-L6-v2) needs more, loaded after LIVE_SCRIPTS on
#: the pages that have it: the book's sentences through the model (written by the
#: build, once, when the first such page is written), the in-page model's loader
#: (which downloads nothing until the reader asks) and the explorer.
PRETRAINED_MARK = 'data-explorer="pretrained"'
PRETRAINED_SCRIPTS = [
    "js/pretrained-data.js",
    "js/minilm.js",
    "js/explorer-pretrained.js",
]


def _write_live_data(app):
    """Write the data the in-page explorers compute with (the vocabulary, hand-built
    matrices, limits and colours, exported by ``selfattention.browser``) into the built
    book's ``_static/js``: made from the package at every build, never typed twice."""
    if app.builder.format != "html":
        return
    from selfattention import browser

    browser.write_data_js(Path(app.outdir) / "_static" / LIVE_SCRIPTS[0])


def _write_pretrained_data(app):
    """Write the book's sentences through all-MiniLM-L6-v2 (``selfattention.browser``)
    into the built book's ``_static/js``, once per build. Loading the model takes
    seconds: the file is kept beside the built book (``_build/``) and written again
    only when what it depends on changes (``browser.pretrained_key``)."""
    if getattr(app, "_selfattention_pretrained_written", False):
        return
    from selfattention import browser

    path = Path(app.outdir) / "_static" / PRETRAINED_SCRIPTS[0]
    name = Path(PRETRAINED_SCRIPTS[0]).name
    browser.write_pretrained_js(path, reuse=Path(app.outdir).parent / name)
    app._selfattention_pretrained_written = True


def _add_live_scripts(app, pagename, templatename, context, doctree):
    """Load the in-page explorers' scripts on the pages that have such an explorer."""
    body = context.get("body") or ""
    if LIVE_MARK in body:
        scripts = list(LIVE_SCRIPTS)
        if PRETRAINED_MARK in body:
            _write_pretrained_data(app)
            scripts += PRETRAINED_SCRIPTS
        for script in scripts:
            app.add_js_file(script, loading_method="defer")


def setup(app):
    app.connect("builder-inited", _write_live_data)
    app.connect("html-page-context", _add_live_scripts)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("build-finished", _trim_the_build)
    app.connect("build-finished", _fix_accessible_names)
    app.connect("build-finished", _copy_minilm)
    # the colour mode button says which mode is on
    app.add_js_file("theme-mode.js")
    # the explorers' controls get names, values and states (what ipywidgets 8 leaves
    # out); the same script a live explorer sends in JupyterLab
    from selfattention.explorer import CONTROL_NAMES_JS

    app.add_js_file(None, body=CONTROL_NAMES_JS)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

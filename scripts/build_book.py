"""The HTML book, built from clean, with a stamp that says for which sources.

    python scripts/build_book.py             # always: a clean build into _build/html
    python scripts/build_book.py --if-stale  # only when the stamp does not match

A clean build removes ``_build/html`` and Sphinx's saved state (``_build/.doctrees``,
``_build/jupyter_execute``) first: Sphinx does not overwrite a static file that
changed, nor remove one no longer made, so an incremental build can keep files that a
clean one drops, such as source maps. It keeps ``_build/minilm``, the exported in-page
model, which book_ext checks and exports again when it is not current. Then it runs
``jupyter-book build . -W -n --keep-going`` and writes the stamp
``_build/html-build.json``: a fingerprint of every source the build reads, and the
time of the build. The browser, PDF and size tests (``tests/conftest.py``, fixture
``built_book``) reuse ``_build/html`` only while the stamp matches: the same sources,
and no other build since (``jupyter-book build .`` run by hand is incremental and
leaves the stamp behind); otherwise they make a clean build themselves.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
STAMP = ROOT / "_build" / "html-build.json"

#: What the build reads besides the pages of ``_toc.yml``: the configuration, the
#: notebooks, the assets and Sphinx extension, the package that extension imports (the
#: explorers' page script, the data and model it exports), and the npm packages it
#: copies (onnxruntime-web). Not README.md and other Markdown outside the toc.
SOURCES = [
    "_config.yml",
    "_toc.yml",
    "chapters/*.ipynb",
    "book_assets/**/*",
    "book_ext/*.py",
    "src/selfattention/**/*.py",
    "package-lock.json",
    "node_modules/.package-lock.json",  # what npm ci installed, if it ran
]


def _toc_pages(root: Path) -> list[Path]:
    """The files of the pages that ``_toc.yml`` names (``intro`` -> intro.md)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]] + [
        c["file"] for part in toc.get("parts", []) for c in part["chapters"]
    ]
    return [root / f"{name}{suffix}" for name in names for suffix in (".md", ".ipynb")]


def fingerprint(root: Path = ROOT) -> str:
    """A digest of every source file's path and bytes."""
    digest = hashlib.sha256()
    files = {f for pattern in SOURCES for f in root.glob(pattern)}
    files = sorted(f for f in files | set(_toc_pages(root)) if f.is_file())
    for f in files:
        digest.update(f.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()


def stale_because(html: Path = HTML, stamp: Path = STAMP, root: Path = ROOT):
    """Why ``html`` is not a clean build of the sources as they are now; None if it
    is."""
    buildinfo = html / ".buildinfo"  # rewritten by every build
    if not stamp.is_file() or not buildinfo.is_file():
        return f"no clean build stamped {stamp.relative_to(root)}"
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    if recorded.get("buildinfo_mtime_ns") != buildinfo.stat().st_mtime_ns:
        return "built again since the clean build (an incremental build)"
    if recorded.get("sources") != fingerprint(root):
        return "the sources changed since the clean build"
    return None


def build(html: Path = HTML, stamp: Path = STAMP, root: Path = ROOT) -> Path:
    """A clean build of the book into ``html``, stamped; returns ``html``."""
    stamp.unlink(missing_ok=True)
    for folder in (html, html.parent / ".doctrees", html.parent / "jupyter_execute"):
        shutil.rmtree(folder, ignore_errors=True)
    sources = fingerprint(root)  # before the build: what it reads
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    subprocess.run(
        [str(jupyter_book), "build", str(root), "-W", "-n", "--keep-going"],
        check=True,
        cwd=root,
    )
    write_stamp(html, stamp, sources)
    return html


def write_stamp(html: Path, stamp: Path, sources: str) -> None:
    """Record that ``html``, as it is now, is a clean build of ``sources`` (a
    fingerprint)."""
    record = {
        "sources": sources,
        "buildinfo_mtime_ns": (html / ".buildinfo").stat().st_mtime_ns,
    }
    stamp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def fresh_book(log=print) -> Path:
    """``_build/html`` as a clean build of the sources now: reused when stamped so,
    built otherwise. Processes that ask at once (the test workers of ``pytest -n``)
    build it once: the first builds, the others wait for it and reuse its build."""
    from filelock import FileLock

    HTML.parent.mkdir(exist_ok=True)
    with FileLock(str(HTML.parent / "html-build.lock")):
        reason = stale_because()
        if reason is not None:
            log(f"Building the book from clean ({reason})")
            build()
    return HTML


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--if-stale",
        action="store_true",
        help="keep _build/html when its stamp matches the sources",
    )
    args = parser.parse_args(argv)
    if args.if_stale:
        fresh_book()
    else:
        build()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What readers download: every notebook at most 1 MB, the HTML book at most 15 MB, and
the files of the in-page model, which a reader downloads only on asking for it
(``_static/minilm/``: the model and the WebAssembly runtime), at most 60 MB.

The pictures that explorers draw in advance for the book are the bulk of both. They
stay small because frames that share their background store only their top layer
(``plotting.FastPNG.layers``), PNG outputs are stored as 256-colour palettes
(``scripts/execute_notebooks.py``) and the build drops what no reader needs
(``book_ext``: source maps, duplicate fonts, pre-drawn pictures in downloadable copies).
The book measured is a clean build of the sources as they are (fixture ``built_book``,
``tests/conftest.py``): an incremental build can keep files a clean one drops.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_LIMIT = 1_000_000  # bytes
BOOK_LIMIT = 15_000_000  # bytes
ON_DEMAND = "_static/minilm"  # loaded when a reader asks for it (book_ext)
ON_DEMAND_LIMIT = 60_000_000  # bytes


@pytest.mark.parametrize(
    "path", sorted((ROOT / "chapters").glob("*.ipynb")), ids=lambda p: p.stem
)
def test_every_notebook_is_at_most_one_megabyte(path):
    size = path.stat().st_size
    assert size <= NOTEBOOK_LIMIT, f"{path.name} is {size / 1e6:.2f} MB"


def test_only_a_clean_build_of_the_sources_as_they_are_is_reused(tmp_path):
    """The rule of ``built_book``: the stamp of a clean build holds until a source
    changes or another (incremental) build rewrites the book."""
    from scripts import build_book

    root, html = tmp_path, tmp_path / "_build" / "html"
    stamp = root / "_build" / "html-build.json"
    (root / "chapters").mkdir()
    chapter = root / "chapters" / "01_intro.ipynb"
    chapter.write_text("{}", encoding="utf-8")
    (root / "_toc.yml").write_text("root: intro\n", encoding="utf-8")
    (root / "intro.md").write_text("# The book\n", encoding="utf-8")
    (root / "README.md").write_text("Not in the book\n", encoding="utf-8")
    html.mkdir(parents=True)
    (html / ".buildinfo").write_text("first build", encoding="utf-8")

    def stale():
        return build_book.stale_because(html, stamp, root)

    assert "no clean build" in stale()
    build_book.write_stamp(html, stamp, build_book.fingerprint(root))
    assert stale() is None
    chapter.write_text('{"cells": []}', encoding="utf-8")
    assert "sources changed" in stale()
    chapter.write_text("{}", encoding="utf-8")  # back as it was: the stamp holds
    assert stale() is None
    (root / "README.md").write_text("Changed, still not in the book\n")
    assert stale() is None
    (root / "intro.md").write_text("# The book, a new title\n", encoding="utf-8")
    assert "sources changed" in stale()
    (root / "intro.md").write_text("# The book\n", encoding="utf-8")
    mtime = (html / ".buildinfo").stat().st_mtime_ns
    os.utime(html / ".buildinfo", ns=(mtime + 10**9, mtime + 10**9))  # built again
    assert "built again" in stale()


@pytest.mark.book
def test_the_built_book_is_at_most_fifteen_megabytes(built_book):
    on_demand = built_book / ON_DEMAND
    files = [
        p
        for p in built_book.rglob("*")
        if p.is_file() and not p.is_relative_to(on_demand)
    ]
    total = sum(p.stat().st_size for p in files)
    largest = sorted(files, key=lambda p: p.stat().st_size)[-5:]
    listing = ", ".join(
        f"{p.relative_to(built_book)} {p.stat().st_size / 1e6:.1f} MB" for p in largest
    )
    assert total <= BOOK_LIMIT, f"the book is {total / 1e6:.1f} MB; largest: {listing}"


@pytest.mark.book
def test_the_build_drops_what_no_reader_needs(built_book):
    assert not list(built_book.glob("_static/**/*.map"))
    assert not list(built_book.glob("_static/**/webfonts/*.ttf"))
    assert list(built_book.glob("_static/**/webfonts/*.woff2"))  # what browsers use
    sources = list(built_book.glob("_sources/**/*.ipynb"))
    assert sources
    for path in sources:
        assert "widgets" not in json.loads(path.read_text(encoding="utf-8"))["metadata"]


@pytest.mark.book
def test_the_on_demand_model_files_are_at_most_sixty_megabytes(built_book):
    files = [p for p in (built_book / ON_DEMAND).rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    listing = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in files)
    assert total <= ON_DEMAND_LIMIT, f"{ON_DEMAND} is {total / 1e6:.1f} MB: {listing}"

"""The PDF edition (``scripts/build_pdf.py``) read back with pypdf.

Marked ``pdf`` (and ``browser``: it needs the same Chromium). Needs Playwright's Python
package, a Chromium binary and pypdf; without them the tests skip with the reason. The
HTML book is a clean build of the sources as they are (fixture ``built_book``,
``tests/conftest.py``); the PDF is printed first when it is missing or older than that
build or the scripts that print it. What is expected comes from the
sources: the pages of ``_toc.yml``, each notebook's first heading, figures, explorers
and code.
"""

from __future__ import annotations

import html
import importlib.util
import io
import json
import re
import subprocess
import sys
import unicodedata
from operator import itemgetter
from pathlib import Path

import pytest

from scripts import chromium

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.browser,
]  # the browser tests need Chromium too

ROOT = Path(__file__).resolve().parent.parent


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "build_pdf", ROOT / "scripts" / "build_pdf.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build_pdf = _load_script()
TOC = build_pdf.read_toc(ROOT)
CHAPTERS = [p for p in TOC if p.number is not None]
EXPLORER_LINE = build_pdf.INTERACTIVE_LINE
A4_POINTS = (595.9, 842.9)  # Chromium's A4: 8.27 × 11.7 inches


def _normalize(text: str) -> str:
    """NFKC (the ﬁ ligature is fi), straight quotes, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"}))
    return re.sub(r"\s+", " ", text).strip()


def _squeeze(text: str) -> str:
    """No whitespace at all: a wrapped line reads like the line it was."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", _normalize(text))


def _contains_in_order(haystack: list[str], needles: list[str]) -> bool:
    it = iter(haystack)
    return all(any(word == needle for word in it) for needle in needles)


def _contents_number(words: list[str], title: list[str]) -> str | None:
    """The page number right after a title (its words, one after the other) in the
    table of contents. ("12 Attention in a real model" must not be found across an
    entry that ends in "chapter 12".)"""
    for start in range(len(words) - len(title)):
        end = start + len(title)
        if words[start:end] == title and words[end].isdigit():
            return words[end]
    return None


def _notebook(page) -> dict | None:
    path = ROOT / f"{page.docname}.ipynb"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _title(page) -> str:
    """The page's first heading in its source, its math left out."""
    nb = _notebook(page)
    if nb is None:
        lines = (ROOT / f"{page.docname}.md").read_text(encoding="utf-8").splitlines()
    else:
        lines = [
            line
            for c in nb["cells"]
            if c["cell_type"] == "markdown"
            for line in c["source"]
        ]
    heading = next(line for line in (x.strip() for x in lines) if line.startswith("# "))
    return re.sub(r"\$[^$]*\$", " ", heading[2:])


def _shown_cells(nb: dict):
    """The code cells the book shows, and their tags (which say what it shows)."""
    for cell in nb["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] == "code" and "remove-cell" not in tags:
            yield cell, tags


def _code_lines(nb: dict) -> list[str]:
    """Every line the book prints as code: sources, streams, text outputs, listings."""
    lines = []
    for cell, tags in _shown_cells(nb):
        if "remove-input" not in tags:
            lines += "".join(cell["source"]).splitlines()
        if "remove-output" in tags:
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if out["output_type"] == "stream":
                lines += "".join(out["text"]).splitlines()
            elif set(data) == {"text/plain"}:
                lines += "".join(data["text/plain"]).splitlines()
            elif "text/html" in data:  # listings shown with show_source
                for pre in re.findall(
                    r"<pre>(.*?)</pre>", "".join(data["text/html"]), re.S
                ):
                    lines += html.unescape(re.sub(r"<[^>]+>", "", pre)).splitlines()
    return [line for line in lines if line.strip()]


def _expected_pictures(nb: dict) -> tuple[int, int]:
    """(figures, explorers): PNG outputs, explorer cells (``widgets.XExplorer()``) and
    explorers computed in the page (their mount point in a markdown cell)."""
    figures = 0
    explorers = sum(
        "".join(cell["source"]).count('class="selfattention-live"')
        for cell in nb["cells"]
        if cell["cell_type"] == "markdown"
    )
    for cell, tags in _shown_cells(nb):
        if "remove-output" in tags:
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if build_pdf.WIDGET_VIEW in data and "Explorer(" in "".join(cell["source"]):
                explorers += 1
            elif "image/png" in data and build_pdf.WIDGET_VIEW not in data:
                figures += 1
    return figures, explorers


# A page of the PDF must not be a runt: the few lines of a paragraph, list or code
# block (or one small block) that did not fit on the page before, alone on a page. The
# rule: every numbered page draws a picture, or its text fills at least RUNT_FILL of the
# printed column's height (from its first line's top to its last line's foot), or it
# begins with a heading (a chapter, a section, "Solutions", a solution's title): a short
# Exercises section on a page of its own is a chapter's ending, not a runt.
RUNT_FILL = 0.25
# A4 less build_pdf's top and bottom margins, in points
COLUMN_POINTS = (297 - 16 - 20) / 25.4 * 72
# The footer is printed 9 mm above the bottom edge, the text ends 20 mm above it.
FOOTER_TOP = 15 / 25.4 * 72  # points
LINE_POINTS = 12  # the height of a line of text, below its baseline's position


def _headings(page) -> list[list[str]]:
    """The words of every heading a page of the toc prints, its math left out: the
    markdown headings, bold-only lines (the side-by-side listings' titles), the titles
    of the solutions, "Solutions" and "Chapter n"."""
    nb = _notebook(page)
    if nb is None:
        sources = [(ROOT / f"{page.docname}.md").read_text(encoding="utf-8")]
    else:
        sources = [
            "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
        ]
    found = [["Solutions"]]
    if page.number is None:
        found.append(["Introduction"])  # the root page's title, as printed
    else:
        found.append(["CHAPTER", str(page.number)])
    for source in sources:
        fenced = False
        for line in source.splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            if fenced:
                continue
            match = re.match(r"\s{0,3}#{1,6}\s+(.*)|\s*\*\*([^*]+)\*\*\s*$", line)
            titles = [match and (match.group(1) or match.group(2))]
            titles += re.findall(r"<summary>(.*?)</summary>", line)
            for title in filter(None, titles):
                words = _words(re.sub(r"\$[^$]*\$", " ", title))
                if words:
                    found.append(words)
    return found


def _is_heading(line: str, headings: list[list[str]]) -> bool:
    """Whether a printed line is one of the headings (its math printed as symbols)."""
    words = _words(line)
    return any(
        words[: len(h)] == h and len(words) <= len(h) + 4 for h in headings if words
    )


def _page_lines(page) -> list[tuple[float, str]]:
    """A printed page's lines of text from top to bottom, its footer left out: (height
    of the line above the page's foot in points, text). pypdf reads text in the order
    it was drawn (typeset math last): sorted by position here."""
    pieces = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            if y > FOOTER_TOP:
                pieces.append((-y, x, text))

    page.extract_text(visitor_text=visit)
    by_x = itemgetter(1)
    lines: list[list[tuple[float, float, str]]] = []
    for piece in sorted(pieces):
        if lines and piece[0] - lines[-1][0][0] < 4:  # sub- and superscripts
            lines[-1].append(piece)
        else:
            lines.append([piece])
    result = []
    for line in lines:
        text = "".join(t for _, _, t in sorted(line, key=by_x))
        result.append((-line[0][0], re.sub(r"\s+", " ", text).strip()))
    return result


def _page_faults(page, headings: list[list[str]]) -> list[str]:
    """What is wrong with one printed page: a runt (the rule above), a heading as its
    last line (the heading's text is on the next page)."""
    lines = _page_lines(page)
    faults = []
    if not _images(page):
        top, foot = (lines[0][0], lines[-1][0]) if lines else (0, LINE_POINTS)
        fill = (top - foot + LINE_POINTS) / COLUMN_POINTS
        if fill < RUNT_FILL and not (lines and _is_heading(lines[0][1], headings)):
            text = [t for _, t in lines[:2]]
            faults.append(f"a runt, {fill:.0%} of the page filled: {text}")
    if lines and _is_heading(lines[-1][1], headings):
        faults.append(f"a heading at its foot: {lines[-1][1]!r}")
    return faults


def _book_faults(book: Book) -> list[str]:
    found = []
    for page in TOC:
        headings = _headings(page)
        start, end = book.ranges[page.docname]
        for i in range(start, end):
            for fault in _page_faults(book.reader.pages[i], headings):
                found.append(f"page {book.labels[i]}: {fault}")
    return found


class Book:
    """The PDF, read once: its pages' text, and where each page of the toc starts."""

    def __init__(self, path: Path):
        from pypdf import PdfReader

        self.path = path
        self.reader = PdfReader(path)
        self.texts = [page.extract_text() for page in self.reader.pages]
        self.labels = list(self.reader.page_labels)
        self.front = next(i for i, label in enumerate(self.labels) if label == "1")
        top = [item for item in self.reader.outline if not isinstance(item, list)]
        self.outline = [
            (item.title, self.reader.get_destination_page_number(item)) for item in top
        ]
        starts = [page for _, page in self.outline] + [len(self.texts)]
        self.ranges = dict(
            zip(
                [p.docname for p in TOC],
                zip(starts, starts[1:], strict=False),
                strict=False,
            )
        )

    def body(self, index: int) -> str:
        """A numbered page's text without its footer (the last line)."""
        return self.texts[index].rstrip().rpartition("\n")[0]

    def text_of(self, docname: str) -> str:
        start, end = self.ranges[docname]
        return "\n".join(self.body(i) for i in range(start, end))

    def images_of(self, docname: str) -> int:
        start, end = self.ranges[docname]
        return sum(_images(self.reader.pages[i]) for i in range(start, end))


def _images(obj, depth: int = 0) -> int:
    """Image XObjects drawn by a page (or a form it draws)."""
    resources = obj.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if xobjects is None or depth > 4:
        return 0
    count = 0
    for ref in xobjects.get_object().values():
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            count += 1
        elif xobject.get("/Subtype") == "/Form":
            count += _images(xobject, depth + 1)
    return count


@pytest.fixture(scope="session")
def book(request) -> Book:
    try:
        import playwright  # noqa: F401
        import pypdf  # noqa: F401
    except ImportError as e:
        pytest.skip(f"{e.name} is not installed (pip install -r requirements.txt)")
    if chromium.MISSING:
        pytest.skip(chromium.MISSING)
    from filelock import FileLock

    html = request.getfixturevalue("built_book")
    path = build_pdf.default_output(ROOT)
    newest = max(
        (html / ".buildinfo").stat().st_mtime,
        (ROOT / "scripts" / "build_pdf.py").stat().st_mtime,
        (ROOT / "scripts" / "chromium.py").stat().st_mtime,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # test workers (pytest -n) print it once: the others wait, then read that print
    with FileLock(str(path.parent / "pdf-build.lock")):
        if not path.exists() or path.stat().st_mtime < newest:
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "build_pdf.py")],
                check=True,
                cwd=ROOT,
            )
    return Book(path)


def test_every_page_is_a4_and_the_length_is_sane(book):
    for i, page in enumerate(book.reader.pages):
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert size == pytest.approx(A4_POINTS, abs=2), f"page {i + 1} is {size}"
    numbered = len(book.texts) - book.front
    assert 2 <= book.front <= 1 + len(TOC), "a title page and the contents"
    assert 2 * len(TOC) <= numbered <= 25 * len(TOC)


def test_title_page_and_contents(book):
    title = build_pdf.read_config(ROOT)["title"]
    assert _normalize(title) in _normalize(book.texts[0])
    contents = _normalize("\n".join(book.texts[1 : book.front]))
    assert contents.startswith("Contents")
    # Every chapter is listed with the number printed on its first page, and linked.
    links = set()
    for page in book.reader.pages[: book.front]:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if "/Dest" in annot:
                links.add(book.reader.get_page_number(annot["/Dest"][0].get_object()))
    words = _words(contents)
    for (_, start), page in zip(book.outline, TOC, strict=True):
        if page.number is not None:
            assert (
                _contents_number(words, [str(page.number), *_words(_title(page))])
                == book.labels[start]
            )
        assert start in links, (
            f"no link in the contents to {page.docname} (page {book.labels[start]})"
        )


def test_chapters_in_the_order_of_the_toc(book):
    """The bookmarks follow _toc.yml; each chapter's first page starts with "Chapter n"
    and its title."""
    assert len(book.outline) == len(TOC)
    starts = [start for _, start in book.outline]
    assert starts == sorted(set(starts)), "bookmarks out of order"
    assert starts[0] == book.front
    for (label, start), page in zip(book.outline, TOC, strict=True):
        first = _words(book.body(start))
        if page.number is not None:
            assert label.startswith(f"{page.number} ")
            assert first[:2] == ["CHAPTER", str(page.number)], (
                f"{page.docname}: {first[:8]}"
            )
            title = _words(_title(page))
            assert _contains_in_order(first, title), (
                f"{page.docname}: title {title} not on page {start + 1}"
            )
            assert _contains_in_order(_words(label), title)
    # The text of the book, read from the start: "Chapter n" and its title, in order.
    words = _words("\n".join(book.body(i) for i in range(book.front, len(book.texts))))
    at = 0
    for page in CHAPTERS:
        title = _words(_title(page))
        at = next(
            (
                i
                for i in range(at, len(words) - 1)
                if words[i : i + 2] == ["CHAPTER", str(page.number)]
            ),
            None,
        )
        assert at is not None, (
            f"{page.docname}: no 'Chapter {page.number}' after the previous chapter"
        )
        assert _contains_in_order(words[at : at + len(title) + 40], title), page.docname


def test_every_page_carries_its_number(book):
    for i in range(book.front, len(book.texts)):
        footer = book.texts[i].rstrip().rpartition("\n")[2]
        assert footer.endswith(f" {i - book.front + 1}"), (
            f"page {i + 1}: footer {footer!r}"
        )
        assert book.labels[i] == str(i - book.front + 1)


@pytest.mark.parametrize("page", CHAPTERS, ids=[p.docname for p in CHAPTERS])
def test_figures_and_explorers_are_printed(book, page):
    nb = _notebook(page)
    if nb is None:
        pytest.skip("not a notebook")
    figures, explorers = _expected_pictures(nb)
    text = _normalize(book.text_of(page.docname))
    assert text.count(EXPLORER_LINE) == explorers, (
        "one line per explorer saying where it is interactive"
    )
    assert f"{page.docname}.ipynb" in text or not explorers
    assert book.images_of(page.docname) >= figures + explorers, "a picture is missing"


@pytest.mark.parametrize("page", CHAPTERS, ids=[p.docname for p in CHAPTERS])
def test_no_line_of_code_is_cut(book, page):
    """Every line of code and output the book shows is in the PDF whole (a line cut at
    the right margin loses its end: Chromium drops the clipped glyphs)."""
    nb = _notebook(page)
    if nb is None:
        pytest.skip("not a notebook")
    text = _squeeze(book.text_of(page.docname))
    missing = [line for line in _code_lines(nb) if _squeeze(line) not in text]
    assert missing == [], f"{len(missing)} lines not printed whole, e.g. {missing[:3]}"


def test_no_tex_markup_or_buttons_in_the_text(book):
    text = "\n".join(book.body(i) for i in range(book.front, len(book.texts)))
    tex = re.findall(
        r"\\(?:frac|sqrt|operatorname|begin|end|left|right|mathrm|sum)\b|\\\(|\\\[|\$\$",
        text,
    )
    assert tex == [], "TeX left untypeset"
    myst = re.findall(
        r"\{(?:glue|note|warning|math|ref|doc|numref|eq|figure|code-cell)[}:]|:class:|^:::",
        text,
        re.M,
    )
    assert myst == [], "MyST markup in the text"
    assert "<!-- value:" not in text
    for chrome in [
        "Show code cell",
        "Hide code cell",
        "Skip to main content",
        "Back to top",
        "Ctrl+K",
        "Last updated",
    ]:
        assert chrome not in text, f"the theme's {chrome!r}"


def test_links_stay_inside_the_pdf_or_go_online(book):
    pages = len(book.reader.pages)
    for i, page in enumerate(book.reader.pages):
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if "/Dest" in annot:
                assert (
                    0
                    <= book.reader.get_page_number(annot["/Dest"][0].get_object())
                    < pages
                )
            uri = str((annot.get("/A") or {}).get("/URI", ""))
            assert not re.match(
                r"https?://(127\.0\.0\.1|localhost)|https://pdf\.invalid", uri
            ), f"page {i + 1}: {uri}"


def test_no_runt_pages_and_no_heading_at_the_foot_of_a_page(book):
    """The rule above RUNT_FILL: no page holds only the last lines of a paragraph, list
    or code block, or one small block, that did not fit on the page before (in issue
    16: "your_number) ." alone on a page, the end of an exercise list on another), and
    no page ends with a heading whose text is on the next."""
    faults = _book_faults(book)
    assert faults == [], "\n".join(faults)


def test_the_page_rule_sees_runts_and_stranded_headings(playwright):
    """The rule itself, on five pages printed by the same Chromium with the book's
    margins: a heading as a page's last line and a line alone on a page are faults; a
    short page that begins with a heading, a short page with a picture and a full page
    are not."""
    from pypdf import PdfReader

    if chromium.MISSING:
        pytest.skip(chromium.MISSING)
    text = "<p>" + "The animal didn't cross the street because it was too tired. " * 6
    picture = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
        "nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
    )
    pages = [
        text * 4 + "<h2>Where does <em>it</em> look?</h2>",
        "<p>your_number) .</p>",
        "<h2>Exercises</h2><ol><li>Compute it by hand.</li></ol>",
        f'<p>your_number) .</p><img src="{picture}" width="300" height="200">',
        text * 10,
    ]
    body = '<div style="break-after: page"></div>'.join(pages)
    browser = chromium.launch(playwright)
    try:
        page = browser.new_page()
        page.set_content(f"<!DOCTYPE html><html><body>{body}</body></html>")
        pdf = page.pdf(format="A4", margin=build_pdf.MARGIN)
    finally:
        browser.close()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == len(pages)
    headings = [["Where", "does", "it", "look"], ["Exercises"]]
    faults = [_page_faults(p, headings) for p in reader.pages]
    assert [[f.split(":")[0].split(",")[0] for f in page] for page in faults] == [
        ["a heading at its foot"],
        ["a runt"],
        [],
        [],
        [],
    ], faults

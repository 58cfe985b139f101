"""The PDF edition: the built HTML book printed by Chromium into one A4 PDF, offline.

    python scripts/build_pdf.py        # _build/pdf/self-attention-interactively.pdf
    python scripts/build_pdf.py --no-solutions    # ...-without-solutions.pdf

Build the HTML book first (``jupyter-book build .``). The script serves ``_build/html``
on 127.0.0.1 and blocks every request that leaves it, opens the pages of ``_toc.yml`` in
order in headless Chromium (Debian's ``chromium`` driven by Playwright, the browser the
tests use; ``SELFATTENTION_CHROMIUM`` names another), waits for MathJax, the widgets,
the fonts and the images, prepares each page for print and prints it. pypdf then puts a
title page and a table of contents (page numbers and links) in front, numbers the pages,
turns the links between chapters into links inside the PDF and adds bookmarks.

What print changes (a style sheet and a script injected into the pages; the HTML book
itself is untouched):

- no sidebars, header buttons, search, launch or download buttons, previous/next links
  or cell toggles; code wraps at the right margin instead of being cut;
- every explorer is printed as the picture it shows, with its settings and a line
  saying where it is interactive: the HTML book (its address once ``html.baseurl`` is
  set in ``_config.yml``) and the chapter's notebook, linked to open on Colab;
- pages: no heading at the foot of a page, no line or two of a paragraph, list or code
  block alone at the top of one (the rules are in PRINT_CSS and PAGINATE_JS);
- the solutions, folded on screen, are printed open, gathered at the end of their
  chapter on a new page, so that an instructor can hand out a chapter without them
  (``--no-solutions`` leaves them out altogether).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import html
import io
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: scripts/ is on the path, not ROOT
    sys.path.insert(0, str(ROOT))

# The browser, its flags and its offline routing, as the browser tests have them.
from scripts import chromium as offline  # noqa: E402
from scripts.chromium import CHROMIUM  # noqa: E402

MARGIN_MM = {"top": 16, "bottom": 20, "left": 18, "right": 18}
MARGIN = {side: f"{mm}mm" for side, mm in MARGIN_MM.items()}
A4_WIDTH_MM = 210
A4_HEIGHT_MM = 297
# The printed column's height in CSS pixels (96 to the inch).
PAGE_HEIGHT_PX = (A4_HEIGHT_MM - MARGIN_MM["top"] - MARGIN_MM["bottom"]) / 25.4 * 96
# Links the printed pages carry until pypdf turns them into links inside the PDF.
INTERNAL = "https://pdf.invalid/"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Under every explorer, after the settings it shows (tests/test_pdf.py counts it).
INTERACTIVE_LINE = "Interactive in the HTML book and in the chapter's notebook"


@dataclass
class Page:
    """One page of the book's table of contents, and what printing it produced."""

    docname: str  # "chapters/03_score"
    part: str  # the caption of its part in _toc.yml ("" for the root page)
    number: int | None  # the chapter's number (None for the root page)
    title: str = ""  # its first heading; math as \( TeX \)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (id, title) of h2
    pdf: bytes = b""
    pages: int = 0
    first: int = 0  # index of its first page among the numbered pages
    # Chromium's named destinations: element id -> (page in this PDF, left, top)
    dests: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    explorers: int = 0
    solutions: int = 0

    def page_of(self, element_id: str) -> int:
        """Index, among the numbered pages, of the page where an element is printed."""
        return self.first + self.dests.get(element_id, (0, 0, 0))[0]

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}" if self.number is not None else self.title


def read_config(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def read_toc(root: Path = ROOT) -> list[Page]:
    """The pages of the book in reading order: the root page, then every chapter."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = [Page(toc["root"], "", None)]
    parts = toc.get("parts") or [{"caption": "", "chapters": toc.get("chapters", [])}]
    for part in parts:
        for chapter in part.get("chapters", []):
            docname = re.sub(r"\.(ipynb|md)$", "", chapter["file"])
            pages.append(Page(docname, part.get("caption", ""), len(pages)))
    return pages


def default_output(root: Path = ROOT, solutions: bool = True) -> Path:
    """_build/pdf/<the book's title as a file name>[-without-solutions].pdf"""
    name = re.sub(r"[^a-z0-9]+", "-", read_config(root)["title"].lower()).strip("-")
    return (
        root
        / "_build"
        / "pdf"
        / f"{name}{'' if solutions else '-without-solutions'}.pdf"
    )


def source_of(root: Path, docname: str) -> str:
    """A page's source file (a chapter's notebook), relative to the book's root."""
    for suffix in (".ipynb", ".md"):
        if (root / f"{docname}{suffix}").exists():
            return f"{docname}{suffix}"
    raise FileNotFoundError(f"no source for {docname} (.ipynb or .md)")


def notebook_url(config: dict, source: str) -> str:
    """Where a chapter's notebook runs: on Colab (the address the HTML book's launch
    button opens) when the repository is on GitHub, else the notebook in the
    repository."""
    repo = config.get("repository") or {}
    book = str(repo.get("path_to_book") or "").strip("/")
    path = f"{book}/{source}" if book else source
    url, branch = repo["url"].rstrip("/"), repo.get("branch", "main")
    colab = (config.get("launch_buttons") or {}).get("colab_url")
    github = "https://github.com/"
    if colab and url.startswith(github):
        return f"{colab.rstrip('/')}/github/{url[len(github) :]}/blob/{branch}/{path}"
    return f"{url}/blob/{branch}/{path}"


def interactive_html(config: dict, docname: str, source: str) -> str:
    """What an explorer's caption says after its settings: where it is interactive.
    The online book is named by its address once ``html.baseurl`` is set."""
    esc = html.escape
    baseurl = (config.get("html") or {}).get("baseurl")
    online = f"{baseurl.rstrip('/')}/{docname}.html" if baseurl else ""
    notebook = notebook_url(config, source)
    where = "in Jupyter or on Colab" if "colab" in notebook else "in Jupyter"
    return (
        f"{INTERACTIVE_LINE}"
        + (f' (<a href="{esc(online)}">{esc(online)}</a>)' if online else "")
        + f", <code>{esc(source)}</code>, when it runs {where}: "
        + f'<a href="{esc(notebook)}">{esc(notebook)}</a>'
    )


_SUB = dict(
    zip("0123456789aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True)
)
_SUP = dict(zip("0123456789n", "⁰¹²³⁴⁵⁶⁷⁸⁹ⁿ", strict=True))
_GREEK = "alpha beta gamma delta epsilon zeta eta theta".split()
_WORDS = {
    "cdot": "·",
    "times": "×",
    "top": "ᵀ",
    "le": "≤",
    "ge": "≥",
    "to": "→",
    "infty": "∞",
    **{name: chr(0x3B1 + i) for i, name in enumerate(_GREEK)},
}


def tex_to_text(text: str) -> str:
    """Plain text for a title with simple inline TeX, ``\\(\\sqrt{d_k}\\)`` -> ``√dₖ``:
    for bookmarks and footers, which cannot hold typeset math."""

    def script(table, m):
        chars = m.group(1) or m.group(2)
        if all(c in table for c in chars):
            return "".join(table[c] for c in chars)
        return m.group(0)[0] + chars

    text = text.replace("\\(", "").replace("\\)", "")
    text = re.sub(r"\\sqrt\{([^{}]*)\}", r"√\1", text)
    text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2", text)
    text = re.sub(r"\\(?:operatorname|mathrm|text|mathbf)\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _WORDS.get(m.group(1), m.group(1)), text)
    text = re.sub(
        r"_(?:\{([^{}]*)\}|([A-Za-z0-9]))", functools.partial(script, _SUB), text
    )
    text = re.sub(
        r"\^(?:\{([^{}]*)\}|([A-Za-z0-9]))", functools.partial(script, _SUP), text
    )
    text = text.replace("{", "").replace("}", "").replace("\\", "")
    return re.sub(r"\s+", " ", text).strip()


# ------------------------------------------------------------------------------------
# What the printed pages look like
# ------------------------------------------------------------------------------------

PRINT_CSS = """
/* The theme's chrome: sidebars, header buttons, search, previous/next, footers,
   toggles. */
.bd-header, .bd-header-announcement, .bd-sidebar-primary, .bd-sidebar-secondary,
.bd-header-article, .prev-next-footer, .prev-next-area, .bd-footer, .bd-footer-content,
.bd-footer-article, #jb-print-docs-body, .headerlink, .search-button, .skip-link,
.search-button-field, .theme-switch-button, #pst-back-to-top, .sbt-scroll-pixel-helper,
dialog, .pst-async-banner-revealer, .copybtn, details.hide > summary, #searchbox,
.pdf-anchors { display: none !important; }
html, body { background: #fff !important; }
.bd-page-width, .bd-container, .bd-container__inner, .bd-main, .bd-main .bd-content,
.bd-article-container, .bd-article {
  display: block !important; max-width: none !important; width: auto !important;
  margin: 0 !important; padding: 0 !important; min-width: 0 !important; }
/* The theme hides the first h1 in print (it prints its own title block instead). */
.bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
.bd-article h1 { font-size: 2.1rem; margin: 0 0 1.2rem; color: #000; }
/* Pages (tests/test_pdf.py checks them): no heading at the foot of a page, no line or
   two of a paragraph, list item or code block alone at the top of one. A heading stays
   with what follows it; so do a paragraph that is one bold phrase (the side-by-side
   listings' titles) and a sentence that ends in a colon (.pdf-lead). A caption is below
   its picture and must not carry break-after: that would forbid the break after the
   whole figure, and leave the next heading at the foot of the page. */
h1, h2, h3, h4, h5, h6, .pdf-kicker, .pdf-solution-title, .pdf-lead,
p:has(> b:only-child), p:has(> strong:only-child) { break-after: avoid; }
p, li, dd, blockquote, figcaption { orphans: 3; widows: 3; }
/* Whole: a figure with its caption, an explorer's picture with its settings, a table
   row, every block shorter than a third of a page (.pdf-whole: code, outputs, tables,
   solutions; measured at print width by PAGINATE_JS), and the exercises when shorter
   than half a page. A list item of up to five lines is whole by the three lines above;
   a list breaks neither after its first item nor before its last. (Chromium would not
   break between items marked break-inside: avoid: it moved whole lists, leaving half
   of the page before them empty.) A lead sentence is whole too: Chromium would rather
   leave its last line alone on a page than break before what it introduces. */
figure, img, tr { break-inside: avoid; }
li:first-child:not(:last-child) { break-after: avoid; }
li:last-child:not(:first-child) { break-before: avoid; }
.pdf-whole, .pdf-lead { break-inside: avoid !important; }
/* The themes keep every code block and table whole: one taller than a third of a page
   would start on a new page, leaving most of the one before empty. */
div.highlight, div.literal-block-wrapper, div[class*=highlight-],
.bd-main .bd-content table { break-inside: auto; }
/* A longer code block breaks, but keeps three lines on each side of the break (never
   on the first or last line: break-after there would pass on to the whole block, and
   chain it to what follows). */
pre > .pdf-line:is(:nth-child(-n+2), :nth-last-child(-n+3)):not(:last-child) {
  break-after: avoid; }
/* Nor between a code frame's top and its first line, which would leave an empty frame
   at the foot of a page: Chromium breaks there only where the frame has a top border or
   padding of its own, so in print the first line carries them. */
div.cell_input { border-top-width: 0 !important; box-shadow: inset 0 1px 0 #ccc; }
div.highlight pre { padding-top: 0 !important; }
div.highlight pre > .pdf-line:first-child { padding-top: 1rem; }
/* A code cell of one or two comment lines (the scratch cell after the exercises)
   stays with what comes before it. */
.pdf-with-previous { break-before: avoid; }
.pdf-kicker { font-size: 1rem; letter-spacing: 0.08em; text-transform: uppercase;
  color: #666; margin: 0 0 0.3rem; }
/* Code wraps at the margin: nothing scrolls, nothing is cut. */
pre, .highlight pre, div.highlight pre, .output pre {
  white-space: pre-wrap !important; overflow-wrap: anywhere !important;
  word-break: normal !important; overflow: visible !important;
  max-height: none !important; }
div.highlight, div.cell_input, div.cell_output, div.output, .output_html,
.widget-subarea, .bd-article table, .table-wrapper, .math, mjx-container {
  overflow: visible !important; max-height: none !important; }
.pdf-line { display: block; }
.bd-article table { max-width: 100%; font-size: 0.85em; }
.bd-article img { max-width: 100% !important; height: auto !important; }
/* Short code stays on the page of the picture it draws (.pdf-keep: PREPARE_JS). */
.pdf-keep > div.cell_input { break-after: avoid; }
/* Explorers: the picture they show, their settings, where they are interactive. */
figure.pdf-explorer { margin: 0.8rem 0 1.2rem; padding: 0.5rem 0.7rem;
  border: 1px solid #d0d0d0; border-radius: 4px; }
figure.pdf-explorer img { display: block; margin: 0 auto; }
figure.pdf-explorer .pdf-layers { display: grid; margin: 0 auto; }
figure.pdf-explorer .pdf-layers img { grid-area: 1 / 1; }
figure.pdf-explorer figcaption { font-size: 0.82rem; color: #444; margin-top: 0.4rem;
  line-height: 1.35; text-align: left; }
figure.pdf-explorer figcaption a { overflow-wrap: anywhere; }
.pdf-explorer-note { font-size: 0.9rem; }
/* Folds (solutions, hidden cells): printed open. */
details, details.hide { display: block !important; border: none !important;
  box-shadow: none !important; padding: 0 !important; margin: 0 !important; }
details > summary { list-style: none; font-weight: 600; }
details > summary::-webkit-details-marker { display: none; }
section.pdf-solutions { break-before: page; }
.pdf-solution { margin: 0 0 1.2rem; padding-left: 0.8rem; border-left: 3px solid #bbb; }
.pdf-solution-title { font-weight: 600; margin: 0 0 0.4rem; }
a { text-decoration: none; }
"""

# Runs in each page once MathJax and the widgets are done; returns what it did.
PREPARE_JS = r"""
async (opts) => {
  const article = document.querySelector('article.bd-article');
  const report = {explorers: 0, solutions: 0, title: '', sections: [], broken: [],
    rawMath: 0};
  const visible = (el) => el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== 'hidden';
  const esc = (s) => s.replace(/[&<>"]/g,
    (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
  const mathItems = (el) => (window.MathJax && MathJax.startup
    && MathJax.startup.document)
    ? Array.from(MathJax.startup.document.getMathItemsWithin(el)) : [];
  // A heading as text, its math as \( TeX \) (the table of contents typesets it again).
  const headingText = (h) => {
    const clone = h.cloneNode(true);
    clone.querySelectorAll('.headerlink').forEach((e) => e.remove());
    const items = mathItems(h);
    clone.querySelectorAll('mjx-container').forEach((c, i) =>
      c.replaceWith(items[i] ? `\\(${items[i].math}\\)` : c.textContent));
    return clone.textContent.replace(/\s+/g, ' ').trim();
  };

  // 1. Explorers: the picture shown now, the settings, where it is interactive.
  const controls = ['slider', 'dropdown', 'toggle-buttons', 'radio', 'checkbox', 'text',
    'select', 'play'].map((c) => '.widget-' + c).join(', ');
  for (const area of Array.from(article.querySelectorAll('.widget-subarea'))) {
    const root = area.querySelector('.jupyter-widgets');
    if (!root) continue;
    const pictures = Array.from(root.querySelectorAll('img')).filter(visible);
    const settings = [];
    for (const c of root.querySelectorAll(controls)) {
      if (!visible(c)) continue;
      const label = c.querySelector(':scope > .widget-label');
      const name = label && visible(label) ? label.textContent.trim() : '';
      const readout = c.querySelector('.widget-readout');
      const select = c.querySelector('select');
      const active = c.querySelector('.mod-active');
      const input = c.querySelector('input');
      const option = select && select.selectedOptions[0];
      let value = '';
      if (readout) value = readout.textContent;
      else if (option) value = option.textContent;
      else if (active) value = active.textContent;
      else if (input && input.type === 'checkbox') value = input.checked ? 'on' : 'off';
      else if (input) value = input.value;
      value = value.replace(/\s+/g, ' ').trim();
      settings.push(name ? `${name} = ${value}` : value);
    }
    if (!pictures.length && !settings.length) continue;  // not an explorer: as it is
    const figure = document.createElement('figure');
    figure.className = 'pdf-explorer';
    // A picture drawn in two layers (a shared background, role=presentation, under
    // the top layer of the current settings) stays two layers, one on the other.
    const layered = pictures.some((img) => img.getAttribute('role') === 'presentation');
    const holder = layered ? document.createElement('div') : figure;
    if (layered) {
      holder.className = 'pdf-layers';
      figure.append(holder);
    }
    for (const img of pictures) {
      const copy = new Image();
      copy.src = img.src;
      copy.alt = img.alt;
      if (img.getAttribute('role')) copy.setAttribute('role', img.getAttribute('role'));
      holder.append(copy);
    }
    for (const note of root.querySelectorAll('.widget-html-content')) {
      if (!visible(note) || note.querySelector('img')) continue;
      if (!note.textContent.trim()) continue;
      const div = document.createElement('div');
      div.className = 'pdf-explorer-note';
      div.innerHTML = note.innerHTML;
      figure.append(div);
    }
    const caption = document.createElement('figcaption');
    const shown = settings.length ? `Shown with ${esc(settings.join('; '))}. ` : '';
    caption.innerHTML = shown + opts.interactive;
    figure.append(caption);
    area.replaceWith(figure);
    report.explorers += 1;
  }
  // Explorers computed in the page (book_assets/js/explorers.js): their SVG pictures,
  // drawn for the book's sentence, as PNG images at three times the screen's pixels;
  // their settings from the controls' labels and values.
  const toPNG = (svg) => new Promise((resolve, reject) => {
    const width = svg.width.baseVal.value, height = svg.height.baseVal.value;
    const source = new XMLSerializer().serializeToString(svg);
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = 3 * width;
      canvas.height = 3 * height;
      const context = canvas.getContext('2d');
      context.scale(3, 3);
      context.drawImage(image, 0, 0, width, height);
      const png = new Image();
      png.src = canvas.toDataURL('image/png');
      png.alt = svg.getAttribute('aria-label') || '';
      png.style.width = `${width}px`;
      png.onload = () => resolve(png);
      png.onerror = reject;
    };
    image.onerror = reject;
    image.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(source);
  });
  for (const live of Array.from(article.querySelectorAll('.selfattention-live'))) {
    // drawn again at the width of the printed column (it redraws when its box changes
    // size): its text is printed at the size the screen shows it
    live.style.width = `${opts.printWidth}px`;
    for (let i = 0; i < 3; i++) await new Promise((r) => requestAnimationFrame(r));
    const svgs = Array.from(live.querySelectorAll('svg')).filter(visible);
    const settings = [];
    for (const c of live.querySelectorAll('input[type=text], select')) {
      const label = live.querySelector(`label[for="${c.id}"]`);
      const value = c.tagName === 'SELECT' ? c.selectedOptions[0].textContent
        : `“${c.value}”`;
      settings.push(`${label ? label.textContent.trim() + ' = ' : ''}${value}`);
    }
    for (const set of live.querySelectorAll('fieldset')) {
      const checked = set.querySelector('input:checked');
      const legend = set.querySelector('legend');
      if (!checked) continue;
      const value = checked.closest('label').textContent.trim();
      settings.push(`${legend ? legend.textContent.trim() + ' = ' : ''}${value}`);
    }
    const figure = document.createElement('figure');
    figure.className = 'pdf-explorer';
    for (const svg of svgs) figure.append(await toPNG(svg));
    const caption = document.createElement('figcaption');
    const shown = settings.length ? `Shown with ${esc(settings.join('; '))}. ` : '';
    caption.innerHTML = shown + opts.interactive;
    figure.append(caption);
    live.replaceWith(figure);
    report.explorers += 1;
  }

  // Short code stays on the page of the picture it draws.
  for (const cell of article.querySelectorAll('.cell')) {
    const code = cell.querySelector(':scope > .cell_input pre');
    const picture = cell.querySelector(':scope > .cell_output img');
    if (code && picture && code.textContent.trim().split('\n').length <= 8) {
      cell.classList.add('pdf-keep');
    }
  }

  // 2. Folds: solutions gathered at the end of the chapter, other folds open in place.
  const solutions = [];
  for (const d of Array.from(article.querySelectorAll('details'))) {
    d.open = true;
    const summary = d.querySelector(':scope > summary');
    const label = summary ? summary.querySelector('.collapsed') || summary : null;
    const title = label ? label.textContent.replace(/\s+/g, ' ').trim() : '';
    const cell = d.classList.contains('hide') ? d.closest('.cell') : null;
    const tagged = cell && cell.classList.contains('tag_solution');
    if (!(tagged || /^solutions?\b/i.test(title))) continue;
    const box = document.createElement('div');
    box.className = 'pdf-solution';
    box.innerHTML = `<p class="pdf-solution-title">${esc(title)}</p>`;
    for (const child of Array.from(d.childNodes)) {
      if (child !== summary) box.append(child);
    }
    (cell || d).remove();
    solutions.push(box);
  }
  report.solutions = solutions.length;
  const top = article.querySelector('section') || article;
  for (const section of top.querySelectorAll(':scope > section[id]')) {
    const h2 = section.querySelector(':scope > h2');
    if (h2) report.sections.push([section.id, headingText(h2)]);
  }
  if (solutions.length && opts.solutions) {
    const section = document.createElement('section');
    section.className = 'pdf-solutions';
    section.id = 'pdf-solutions';
    section.innerHTML = '<h2>Solutions</h2>';
    solutions.forEach((s) => section.append(s));
    top.append(section);
    report.sections.push([section.id, 'Solutions']);
  }

  // 3. The title, and the chapter's number above it.
  const h1 = article.querySelector('h1');
  if (opts.rename) h1.firstChild.textContent = opts.rename;
  report.title = headingText(h1);
  if (opts.kicker) {
    const kicker = `<p class="pdf-kicker">${esc(opts.kicker)}</p>`;
    h1.insertAdjacentHTML('beforebegin', kicker);
  }

  // 4. Links. To this page: kept (Chromium makes them links inside the PDF). To another
  //    page of the book: marked for pypdf. To other files of the build: plain text.
  for (const a of Array.from(article.querySelectorAll('a[href]'))) {
    const url = new URL(a.getAttribute('href'), location.href);
    if (url.origin !== location.origin) continue;
    const target = opts.paths[url.pathname];
    if (url.pathname === location.pathname && url.hash) {
      a.setAttribute('href', url.hash);
    } else if (target) {
      const id = url.hash ? '?id=' + url.hash.slice(1) : '';
      a.setAttribute('href', `${opts.internal}doc/${target}${id}`);
    } else a.replaceWith(...a.childNodes);
  }
  // Chromium writes a named destination for every target of a link: link every section,
  // figure and equation once, invisibly, so that links from other chapters find them.
  const anchors = document.createElement('nav');
  anchors.className = 'pdf-anchors';
  const targets = 'section[id], figure[id], .math[id], table[id]';
  for (const el of article.querySelectorAll(targets)) {
    const a = document.createElement('a');
    a.href = '#' + el.id;
    anchors.append(a);
  }
  article.append(anchors);

  // 5. Code: one block per source line, so that a line too long for the page wraps
  //    with a hanging indent (four columns deeper than the line), not at column 0.
  for (const pre of article.querySelectorAll('pre')) {
    const lines = [[]];
    const walk = (node, wrap) => {
      for (const child of Array.from(node.childNodes)) {
        if (child.nodeType === Node.TEXT_NODE) {
          child.textContent.split('\n').forEach((part, i) => {
            if (i > 0) lines.push([]);
            if (part) lines[lines.length - 1].push(wrap(document.createTextNode(part)));
          });
        } else if (child.nodeType === Node.ELEMENT_NODE) {
          walk(child, (inner) => {
            const copy = child.cloneNode(false);
            copy.append(inner);
            return wrap(copy);
          });
        }
      }
    };
    walk(pre, (node) => node);
    if (lines.length > 1 && !lines[lines.length - 1].length) lines.pop();
    pre.textContent = '';
    for (const parts of lines) {
      const line = document.createElement('span');
      line.className = 'pdf-line';
      const text = parts.map((p) => p.textContent).join('');
      const indent = text.match(/^ */)[0].length + 4;
      line.style.paddingLeft = `${indent}ch`;
      line.style.textIndent = `-${indent}ch`;
      parts.forEach((p) => line.append(p));
      if (!text) line.append(' ');
      pre.append(line);
    }
  }

  // 6. Every picture loaded and decoded; every formula typeset.
  await Promise.all(Array.from(document.images).map((img) => {
    img.loading = 'eager';
    return img.complete ? null : new Promise((r) => { img.onload = img.onerror = r; });
  }));
  await Promise.all(Array.from(article.querySelectorAll('img'))
    .map((img) => img.decode().catch(() => null)));
  report.broken = Array.from(article.querySelectorAll('img'))
    .filter((i) => i.naturalWidth === 0).map((i) => i.src.slice(0, 80));
  report.rawMath = Array.from(article.querySelectorAll('.math'))
    .filter((m) => !m.querySelector('mjx-container')).length;
  await document.fonts.ready;
  return report;
}
"""

# With the print style, at the width of the printed column (PRINT_CSS's rules on pages):
# blocks shorter than a third of a page are printed whole, a sentence that ends in a
# colon stays with what it introduces, a scratch cell of comments with what is above it,
# and the list of exercises above it is whole if shorter than half a page.
PAGINATE_JS = r"""
(pageHeight) => {
  const article = document.querySelector('article.bd-article');
  const blocks = 'table, blockquote, .admonition, .pdf-solution, div.cell_input, '
    + 'div.cell_output > .output, div.highlight, .output_html';
  let whole = 0;
  for (const el of article.querySelectorAll(blocks)) {
    const height = el.getBoundingClientRect().height;
    if (height > 0 && height < pageHeight / 3) {
      el.classList.add('pdf-whole');
      whole += 1;
    }
  }
  for (const p of article.querySelectorAll('p')) {
    if (/:\s*$/.test(p.textContent)) p.classList.add('pdf-lead');
  }
  for (const cell of article.querySelectorAll('.cell')) {
    const code = cell.querySelector(':scope > .cell_input pre');
    const lines = code ? code.textContent.trim().split('\n') : [];
    const output = cell.querySelector(':scope > .cell_output');
    if (lines.length && lines.length <= 2 && lines.every((l) => l.startsWith('#'))
        && !(output && output.textContent.trim())) {
      cell.classList.add('pdf-with-previous');
      // the list of exercises above the scratch cell
      const list = cell.previousElementSibling;
      if (list && list.matches('ol, ul')
          && list.getBoundingClientRect().height < pageHeight / 2) {
        list.classList.add('pdf-whole');
      }
    }
  }
  return whole;
}
"""

# With the print style, at the width of the printed column: whatever is wider than the
# column, or cuts or scrolls its own content (code that did not wrap).
TOO_WIDE_JS = r"""
() => {
  const article = document.querySelector('article.bd-article');
  const right = article.getBoundingClientRect().right + 1;
  const scrolls = (el) => el.matches('pre, table, div.math, .output_html')
    && el.scrollWidth > el.clientWidth + 2;
  const boxes = 'pre, table, img, figure, mjx-container, div.math';
  return Array.from(article.querySelectorAll(boxes))
    .filter((el) => el.getClientRects().length
      && (el.getBoundingClientRect().right > right || scrolls(el)))
    .map((el) => `<${el.tagName.toLowerCase()}> ${el.textContent.slice(0, 60)}`);
}
"""

FRONT_CSS = """
body { font-family: var(--pst-font-family-base, sans-serif); color: #222; margin: 0;
  background: #fff; }
.title-page { height: 240mm; display: flex; flex-direction: column;
  justify-content: center; break-after: page; }
.title-page h1 { font-size: 2.9rem; margin: 0 0 0.6rem; color: #000; font-weight: 600; }
.title-page .subtitle { font-size: 1.25rem; color: #444; margin: 0 0 3rem; }
.title-page .author { font-size: 1.1rem; margin: 0 0 0.4rem; }
.title-page .small { font-size: 0.85rem; color: #555; margin: 0.2rem 0; }
.title-page .small a { color: inherit; overflow-wrap: anywhere; }
.contents h2 { font-size: 1.7rem; margin: 0 0 1.2rem; color: #000; }
.contents .part { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.08em;
  color: #666; margin: 1.1rem 0 0.3rem; break-after: avoid; }
.contents a { color: inherit; text-decoration: none; display: flex;
  align-items: baseline; }
.contents .dots { flex: 1 1 auto; border-bottom: 1px dotted #999; margin: 0 0.4rem;
  min-width: 1rem; }
.contents .page { flex: 0 0 auto; min-width: 1.6rem; text-align: right;
  font-variant-numeric: tabular-nums; }
.contents .chapter { font-weight: 600; margin: 0.45rem 0 0.15rem; break-after: avoid; }
.contents .chapter .num { display: inline-block; width: 1.8rem; }
.contents .section { font-size: 0.9rem; margin: 0.1rem 0 0.1rem 1.8rem; color: #333; }
"""

FOOTER_CSS = """
@page { size: A4; margin: 0; }
body { margin: 0; font-family: var(--pst-font-family-base, sans-serif); }
.sheet { position: relative; width: 210mm; height: 296.9mm; break-after: page;
  overflow: hidden; }
.sheet:last-child { break-after: auto; }
.foot { position: absolute; left: LEFTmm; right: RIGHTmm; bottom: 9mm;
  display: flex; justify-content: space-between; font-size: 8.5pt; color: #777;
  border-top: 0.5pt solid #ccc; padding-top: 1.5mm; }
""".replace("LEFT", str(MARGIN_MM["left"])).replace("RIGHT", str(MARGIN_MM["right"]))

HEAD = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title>{links}<style>{css}</style>{scripts}</head><body>{body}</body></html>"""
THEME_CSS = '<link rel="stylesheet" href="/_static/styles/pydata-sphinx-theme.css">'

MATHJAX = """<script>
window.MathJax = {tex: {inlineMath: [["\\\\(", "\\\\)"]]}};
</script>
<script defer src="/_static/vendor/mathjax/tex-chtml.js"></script>"""


def front_matter_html(config: dict, pages: list[Page]) -> str:
    """The title page and the table of contents (numbers count from the next page)."""
    esc = html.escape
    urls = [(config.get("html") or {}).get("baseurl"), config["repository"]["url"]]
    online = "".join(
        f'<p class="small">Online: <a href="{esc(u)}">{esc(u)}</a></p>'
        for u in urls
        if u
    )
    author = esc(config.get("author", ""))

    def entry(kind: str, title: str, page: int, number: str = "") -> str:
        num = f'<span class="num">{number}</span>' if kind == "chapter" else ""
        return (
            f'<p class="{kind}"><a href="{INTERNAL}page/{page}">'
            f'<span class="title">{num}{esc(title)}</span><span class="dots"></span>'
            f'<span class="page">{page + 1}</span></a></p>'
        )

    rows, part = [], None
    for p in pages:
        if p.part and p.part != part:
            part = p.part
            rows.append(f'<p class="part">{esc(part)}</p>')
        number = str(p.number) if p.number is not None else ""
        rows.append(entry("chapter", p.title, p.first, number))
        rows += [entry("section", title, p.page_of(id_)) for id_, title in p.sections]
    body = f"""
<section class="title-page">
  <h1>{esc(config["title"])}</h1>
  <p class="subtitle">PDF edition</p>
  <p class="author">{author}</p>
  {online}
  <p class="small">Printed {datetime.date.today().isoformat()} from the HTML book. Each
  explorer (a picture with controls in the HTML book and the notebooks) is printed as
  the picture of one setting, named under it with where it is interactive. Where the
  text asks you to move a control, that needs the HTML book or a running notebook.</p>
  <p class="small">© {esc(str(config.get("copyright", "")))} {author}.</p>
</section>
<section class="contents"><h2>Contents</h2>{"".join(rows)}</section>"""
    title = esc(config["title"])
    return HEAD.format(
        title=title, links=THEME_CSS, css=FRONT_CSS, scripts=MATHJAX, body=body
    )


def footers_html(labels: list[tuple[str, str]]) -> str:
    """One A4 sheet per page, blank but for its footer: laid over the printed pages."""
    body = "".join(
        f'<div class="sheet"><div class="foot"><span>{html.escape(left)}</span>'
        f"<span>{html.escape(right)}</span></div></div>"
        for left, right in labels
    )
    # Transparent: no style sheet of the theme, printed without backgrounds.
    return HEAD.format(title="footers", links="", css=FOOTER_CSS, scripts="", body=body)


# ------------------------------------------------------------------------------------
# Printing
# ------------------------------------------------------------------------------------


class Printer:
    """A page in headless Chromium that refuses every request leaving 127.0.0.1."""

    def __init__(self, browser, base: str):
        self.base = base
        self.blocked: list[str] = []
        self.generated: dict[
            str, str
        ] = {}  # path -> HTML made here (front matter, footers)
        self.page = browser.new_context(
            viewport={"width": 1200, "height": 900}
        ).new_page()
        self.page.set_default_timeout(60_000)
        self.page.route("**/*", self._route)

    def _route(self, route):
        url = urlparse(route.request.url)
        if not offline.is_local(route.request.url):
            self.blocked.append(route.request.url)
            route.abort()
        elif url.path in self.generated:
            body = self.generated[url.path]
            route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=body
            )
        else:
            route.continue_()

    def open(self, path: str) -> None:
        """Load a page; wait for MathJax, the widgets and the fonts (as tests do)."""
        page = self.page
        page.emulate_media(media="screen")
        page.set_viewport_size({"width": 1200, "height": 900})
        page.goto(self.base + path)
        page.wait_for_load_state("networkidle")
        page.wait_for_function(
            "() => !window.MathJax || !MathJax.startup || MathJax.startup.promise"
        )
        page.evaluate(
            "() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null"
        )
        page.wait_for_function(
            f"""() => Array.from(document.querySelectorAll(
                       'script[type="{WIDGET_VIEW}"]'))
                     .every(s => s.parentElement.querySelector('.jupyter-widgets'))""",
            timeout=30_000,
        )
        page.evaluate("() => document.fonts.ready.then(() => null)")

    def print(self, margin: dict[str, str] = MARGIN, background: bool = True) -> bytes:
        return self.page.pdf(format="A4", margin=margin, print_background=background)

    def print_html(self, name: str, text: str, margin=MARGIN, background=True) -> bytes:
        """Print HTML made here, served beside the book (so that it finds MathJax)."""
        self.generated[f"/__pdf__/{name}.html"] = text
        self.open(f"__pdf__/{name}.html")
        return self.print(margin, background)

    def as_printed(self) -> None:
        """Print media, at the width of the printed column: what page.pdf prints."""
        mm = A4_WIDTH_MM - MARGIN_MM["left"] - MARGIN_MM["right"]
        self.page.emulate_media(media="print")
        self.page.set_viewport_size({"width": int(mm / 25.4 * 96), "height": 900})


@contextlib.contextmanager
def chromium(html_dir: Path):
    """A Printer on headless Chromium, reading ``html_dir`` served on 127.0.0.1."""
    from playwright.sync_api import sync_playwright

    with offline.serve(html_dir) as base, sync_playwright() as pw:
        browser = offline.launch(pw)
        try:
            yield Printer(browser, base)
        finally:
            browser.close()


def print_page(
    printer: Printer, p: Page, config: dict, root: Path, solutions: bool, paths
):
    """Open one page of the book, prepare it for print and print it into ``p.pdf``.

    Returns the problems seen: pictures that did not load, formulas left as TeX,
    anything wider than the printed column."""
    source = source_of(root, p.docname)
    printer.open(f"{p.docname}.html")
    heading = printer.page.inner_text("article h1").strip()
    opts = {
        "interactive": interactive_html(config, p.docname, source),
        # explorers computed in the page are drawn again this wide (CSS pixels): the
        # printed column, less the frame printed around an explorer
        "printWidth": int(
            (A4_WIDTH_MM - MARGIN_MM["left"] - MARGIN_MM["right"]) / 25.4 * 96
        )
        - 40,
        "solutions": solutions,
        "paths": paths,
        "internal": INTERNAL,
        "kicker": f"Chapter {p.number}" if p.number is not None else "",
        # The title page carries the book's title; the root page is its introduction.
        "rename": "Introduction" if heading == config["title"] else "",
    }
    printer.page.add_style_tag(content=PRINT_CSS)
    report = printer.page.evaluate(PREPARE_JS, opts)
    p.title, p.sections = report["title"], [tuple(s) for s in report["sections"]]
    p.explorers, p.solutions = report["explorers"], report["solutions"]
    problems = [f"{p.docname}: picture not loaded: {src}" for src in report["broken"]]
    if report["rawMath"]:
        problems.append(f"{p.docname}: {report['rawMath']} formulas not typeset")
    printer.as_printed()
    printer.page.evaluate(PAGINATE_JS, PAGE_HEIGHT_PX)
    wide = printer.page.evaluate(TOO_WIDE_JS)
    problems += [f"{p.docname}: wider than the page: {w}" for w in wide]
    p.pdf = printer.print()
    return problems


def build(
    html_dir: Path = ROOT / "_build" / "html",
    output: Path | None = None,
    root: Path = ROOT,
    solutions: bool = True,
    log=print,
) -> Path:
    """Print the book in ``html_dir`` into ``output`` (returned). Raises SystemExit
    when a page is missing, a picture did not load, a formula was not typeset or
    something is wider than the page."""
    from pypdf import PdfReader

    started = time.perf_counter()
    config = read_config(root)
    output = output or default_output(root, solutions)
    pages = read_toc(root)
    for p in pages:
        if not (html_dir / f"{p.docname}.html").exists():
            raise SystemExit(
                f"{p.docname}.html is not in {html_dir}: build the book first "
                "(jupyter-book build .)"
            )
    paths = {f"/{p.docname}.html": p.docname for p in pages}
    paths["/"] = paths["/index.html"] = pages[0].docname
    problems: list[str] = []
    log(f"Printing the {len(pages)} pages of _toc.yml with {CHROMIUM}")
    with chromium(html_dir) as printer:
        readers, first = [], 0
        for p in pages:
            start = time.perf_counter()
            problems += print_page(printer, p, config, root, solutions, paths)
            reader = PdfReader(io.BytesIO(p.pdf))
            p.pages, p.first, p.dests = len(reader.pages), first, _destinations(reader)
            first += p.pages
            readers.append(reader)
            log(
                f"  {p.docname}: {p.pages} pages, {p.explorers} explorers, "
                f"{p.solutions} solutions, {time.perf_counter() - start:.1f} s"
            )
        if printer.blocked:
            problems.append(
                f"requests that left 127.0.0.1, blocked: {sorted(set(printer.blocked))}"
            )
        front = PdfReader(
            io.BytesIO(printer.print_html("front", front_matter_html(config, pages)))
        )
        labels = [
            (tex_to_text(p.label), str(p.first + i + 1))
            for p in pages
            for i in range(p.pages)
        ]
        no_margin = dict.fromkeys(MARGIN, "0mm")
        footers = PdfReader(
            io.BytesIO(
                printer.print_html("footers", footers_html(labels), no_margin, False)
            )
        )
    if len(footers.pages) != len(labels):
        raise RuntimeError(
            f"{len(footers.pages)} footer sheets for {len(labels)} pages"
        )
    merge(output, config, pages, readers, front, footers)
    total = len(front.pages) + first
    seconds = time.perf_counter() - started
    size = output.stat().st_size // 1024
    log(f"Wrote {output}: {total} pages, {size} KiB, {seconds:.0f} s")
    for problem in problems:
        log(f"PROBLEM: {problem}")
    if problems:
        raise SystemExit(f"{len(problems)} problems (above)")
    return output


def _destinations(reader) -> dict[str, tuple[int, float, float]]:
    """The named destinations Chromium wrote: element id -> (page index, left, top)."""
    out = {}
    for name, dest in reader.named_destinations.items():
        with contextlib.suppress(Exception):
            page = reader.get_destination_page_number(dest)
            out[unquote(name.lstrip("/"))] = (page, dest.left or 0, dest.top or 0)
    return out


def merge(
    output: Path, config: dict, pages: list[Page], readers, front, footers
) -> None:
    """One PDF: the front matter, then every printed page under its footer; links
    resolved; bookmarks; page labels as printed (i, ii... then 1, 2...)."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, FloatObject, NameObject, NullObject

    writer = PdfWriter()
    for page in front.pages:
        writer.add_page(page)
    n_front = len(front.pages)
    for p, reader in zip(pages, readers, strict=True):
        for i, page in enumerate(reader.pages):
            writer.add_page(page).merge_page(footers.pages[p.first + i], over=True)
    by_doc = {p.docname: p for p in pages}

    def destination(p: Page | None, index: int, element_id: str | None = None):
        """A page of the PDF (index among the numbered pages), at an element if any."""
        if p is not None and element_id in p.dests:
            i, left, top = p.dests[element_id]
            ref = writer.pages[n_front + p.first + i].indirect_reference
            return ArrayObject(
                [
                    ref,
                    NameObject("/XYZ"),
                    FloatObject(left),
                    FloatObject(top),
                    NullObject(),
                ]
            )
        return ArrayObject(
            [writer.pages[n_front + index].indirect_reference, NameObject("/Fit")]
        )

    def resolve(annot, owner: Page | None):
        """Where a link Chromium wrote leads inside the PDF; None for links out."""
        if (
            "/Dest" in annot and owner is not None
        ):  # to this page: Chromium's named destination
            return destination(
                owner, owner.first, unquote(str(annot["/Dest"]).lstrip("/"))
            )
        uri = str((annot.get("/A") or {}).get("/URI", ""))
        if not uri.startswith(INTERNAL):
            return None
        kind, _, rest = uri[len(INTERNAL) :].partition("/")
        if kind == "page":  # from the table of contents
            return destination(None, int(rest))
        docname, _, element_id = rest.partition("?id=")  # to another page of the book
        target = by_doc[docname]
        return destination(target, target.first, unquote(element_id) or None)

    owners = [None] * n_front + [p for p in pages for _ in range(p.pages)]
    for index, page in enumerate(writer.pages):
        if "/Annots" not in page:
            continue
        kept = ArrayObject()
        for ref in page["/Annots"]:
            annot = ref.get_object()
            if annot.get("/Subtype") == "/Link":
                dest = resolve(annot, owners[index])
                if dest is not None:
                    for key in ("/A", "/Dest"):
                        annot.pop(key, None)
                    annot[NameObject("/Dest")] = dest
            kept.append(ref)
        page[NameObject("/Annots")] = kept

    for p in pages:  # bookmarks: every page of the toc, and its sections
        parent = writer.add_outline_item(
            title=tex_to_text(p.label), page_number=n_front + p.first
        )
        for id_, title in p.sections:
            writer.add_outline_item(
                title=tex_to_text(title),
                page_number=n_front + p.page_of(id_),
                parent=parent,
            )
    writer.page_mode = "/UseOutlines"
    writer.set_page_label(0, n_front - 1, style="/r")
    writer.set_page_label(n_front, len(writer.pages) - 1, style="/D", start=1)
    writer.add_metadata(
        {
            "/Title": config["title"],
            "/Author": config.get("author", ""),
            "/Subject": "The PDF edition of the HTML book",
            "/Creator": "scripts/build_pdf.py (Chromium, pypdf)",
        }
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".part")
    writer.write(partial)
    partial.replace(output)  # never a half-written PDF under the real name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--html", type=Path, default=ROOT / "_build" / "html", help="the built book"
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="default: _build/pdf/<the title>.pdf"
    )
    parser.add_argument(
        "--no-solutions", action="store_true", help="leave the solutions out"
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        sys.exit(f"no Chromium at {CHROMIUM}: apt-get install chromium (Debian's)")
    build(args.html, args.output, solutions=not args.no_solutions)
    return 0


if __name__ == "__main__":
    sys.exit(main())

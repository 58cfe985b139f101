"""README.md cannot go stale: its chapter table follows _toc.yml (numbers, titles as the
notebooks' headings, links), its opening counts the chapters, and its layout names
every file of the package, the scripts, the benchmarks and the in-page JavaScript, and
nothing that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
).split()
# the directories whose every file the layout lists, and what it leaves out
LISTED = (
    "src/selfattention",
    "src/selfattention/plotting",
    "scripts",
    "benchmarks",
    "book_assets/js",
)
UNLISTED = {"__pycache__"}


def toc_chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] for c in part["chapters"]]


def heading(path: Path) -> str:
    """The chapter's title: the first level-1 heading of its notebook."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise AssertionError(f"{path.name} has no level-1 heading")


def table_rows(readme: str) -> list[tuple[int, str, str]]:
    """(number, title, link) of every row of the chapter table."""
    row = re.compile(r"^\| (\d+) \| \[(.+?)\]\((chapters/[^)]+)\) \|", re.M)
    return [(int(n), title, link) for n, title, link in row.findall(readme)]


def test_the_chapter_table_follows_the_table_of_contents():
    expected = [
        (i, heading(ROOT / f"{file}.ipynb"), f"{file}.ipynb")
        for i, file in enumerate(toc_chapters(), start=1)
    ]
    assert table_rows(README) == expected


def test_the_opening_counts_the_chapters():
    count = NUMBER_WORDS[len(toc_chapters())]
    assert f"in {count} short chapters" in README


def layout_block(readme: str) -> str:
    section = readme.split("## How the repository is laid out", 1)[1]
    return section.split("```", 2)[1]


def listed_files(block: str) -> dict[str, set[str]]:
    """For each directory of LISTED, the names its indented lines give."""
    listed: dict[str, set[str]] = {d: set() for d in LISTED}
    current = None
    for line in block.splitlines():
        if line and not line.startswith(" "):
            name = line.split()[0].rstrip("/")
            current = name if name in listed else None
        elif current and line.startswith("  ") and not line.startswith("   "):
            listed[current].add(line.split()[0])
    return listed


def present_files(directory: str) -> set[str]:
    return {
        p.name + ("/" if p.is_dir() else "")
        for p in (ROOT / directory).iterdir()
        if p.name not in UNLISTED and not p.name.startswith(".")
    }


@pytest.mark.parametrize("directory", LISTED)
def test_the_layout_names_every_file_and_only_files_that_exist(directory):
    listed = listed_files(layout_block(README))[directory]
    present = present_files(directory)
    missing, gone = sorted(present - listed), sorted(listed - present)
    assert not missing, f"{directory}: not in README's layout: {missing}"
    assert not gone, f"{directory}: in README's layout, not on disk: {gone}"


def test_the_checks_see_a_stale_readme():
    """The planted bugs: a chapter row dropped, and a module renamed."""
    rows = table_rows(README)
    stale = README.replace(f"| {rows[-1][0]} | [{rows[-1][1]}]", "| x | [gone]")
    assert table_rows(stale) == rows[:-1]
    block = layout_block(README).replace("  book.py ", "  old_book.py ")
    assert "book.py" not in listed_files(block)["src/selfattention"]
    assert "old_book.py" in listed_files(block)["src/selfattention"]

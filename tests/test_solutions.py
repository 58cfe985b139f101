"""Every exercise's solution is folded in the prose, where no front end runs it, and
every solution's code is run here: each ``check`` it calls must say "Correct".

A solution is a ``<details>`` block in a markdown cell (closed in the book, JupyterLab,
Colab, GitHub and nbconvert's HTML; printed at the chapter's end in the PDF). Its code
is a fenced ``python`` block that a learner can paste into a cell: it imports what it
needs, so it runs in a fresh namespace, which is how it is run here.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from selfattention import exercises

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

DETAILS = re.compile(
    r"<details>\n<summary>(?P<title>[^<]*)</summary>\n\n(?P<body>.*?)\n\n</details>",
    re.S,
)
CODE = re.compile(r"^```python\n(?P<code>.*?)\n```$", re.S | re.M)


def solutions(path: Path) -> list[tuple[str, str, list[str]]]:
    """``(title, body, code blocks)`` of every solution in a chapter, in order."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [
        (m["title"], m["body"], [c["code"] for c in CODE.finditer(m["body"])])
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for m in DETAILS.finditer(cell.source)
    ]


SOLVED_IN_CODE = [
    pytest.param(path, title, code, id=f"{path.stem}: {title}")
    for path in CHAPTERS
    for title, _, blocks in solutions(path)
    for code in blocks
]


def run_solution(code: str, monkeypatch) -> tuple[list, str]:
    """Run a solution's code as a learner would paste it, in a fresh namespace:
    the verdicts of its ``check`` calls and what it printed."""
    verdicts = []
    real_check = exercises.check

    def recording_check(*args, **kwargs):
        verdict = real_check(*args, **kwargs)
        verdicts.append((args[0] if args else None, verdict))
        return verdict

    monkeypatch.setattr(exercises, "check", recording_check)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "<solution>", "exec"), {"__name__": "__solution__"})
    return verdicts, printed.getvalue()


@pytest.mark.parametrize("path, title, code", SOLVED_IN_CODE)
def test_every_solution_runs_on_its_own_and_is_correct(path, title, code, monkeypatch):
    verdicts, _ = run_solution(code, monkeypatch)
    assert verdicts, f"{title} calls check() nowhere: how would a learner compare?"
    for name, verdict in verdicts:
        assert verdict, f"{title}: check({name!r}, ...) says {verdict!r}"


def test_a_wrong_solution_is_caught(monkeypatch):
    """The test above bites: a solution whose answer is off fails its check."""
    (path, title, code) = SOLVED_IN_CODE[0].values
    wrong = code.replace('"intuition-hungry", max(', '"intuition-hungry", min(')
    assert wrong != code, "the planted change must apply to chapter 1's solution"
    verdicts, _ = run_solution(wrong, monkeypatch)
    assert verdicts and not verdicts[-1][1]


def test_every_exercise_the_checker_knows_is_solved_in_some_chapter():
    solved = {
        name
        for path in CHAPTERS
        for _, _, blocks in solutions(path)
        for code in blocks
        for name in re.findall(r'check\(\s*"([\w-]+)"', code)
    }
    assert solved == set(exercises.EXERCISES)

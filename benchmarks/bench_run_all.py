"""How long a learner's Run All takes, chapter by chapter, in a live kernel
(a benchmark, not a test: machines are noisy).

    python benchmarks/bench_run_all.py              # every chapter
    python benchmarks/bench_run_all.py 13 10        # chapters 13 and 10
    python benchmarks/bench_run_all.py 14           # the decoder chapter (trains live)
    python benchmarks/bench_run_all.py chapters/13_learning.ipynb --slowest 5

Each chapter runs top to bottom in a fresh kernel (nbclient), the way Run All runs it in
JupyterLab: ``SELFATTENTION_PREDRAW`` is unset, so the explorers start live instead of
pre-drawing the HTML book's frames (``scripts/execute_notebooks.py`` pre-draws; a
learner never waits for that). Nothing is written back to the notebooks.

Printed: the machine and its load average, then per chapter the seconds of Run All (from
the first cell sent to the last cell's reply; the kernel's start, which a learner waits
for once when opening the notebook, is shown apart), the CPU seconds the kernel used
meanwhile (all its threads; less sensitive than wall seconds to other programs on a
shared machine), the load average, and the verdict against the target: at most
``TARGET_S`` seconds. Below the table, each chapter's slowest cells, and every cell over
``STATUS_S`` seconds that shows no status line with steps
(``selfattention.book.status(..., steps=n)``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
TARGET_S = 30.0  # a chapter's Run All, on a quiet 2-core machine
STATUS_S = 5.0  # a cell slower than this shows its steps and an estimate
PREDRAW_ENV = "SELFATTENTION_PREDRAW"  # selfattention.explorer.PREDRAW_ENV


@dataclass
class Cell:
    index: int  # among all the notebook's cells
    first_line: str
    wall: float = 0.0
    cpu: float = 0.0
    shows_steps: bool = False  # the source calls status(..., steps=...)


@dataclass
class Run:
    path: Path
    kernel_start: float = 0.0
    wall: float = 0.0  # first cell sent -> last cell's reply
    cpu: float = 0.0  # the kernel's CPU seconds over the same span
    load: float = 0.0  # 1-minute load average at the end
    cells: list[Cell] = field(default_factory=list)
    error: str = ""


def chapters_from(names: list[str]) -> list[Path]:
    """Paths, or chapter numbers such as "13" (the file name's start)."""
    if not names:
        return sorted(CHAPTERS.glob("*.ipynb"))
    paths = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb":
            if not path.exists():
                sys.exit(f"no such notebook: {name}")
            paths.append(path.resolve())
            continue
        found = sorted(CHAPTERS.glob(f"{name.zfill(2)}_*.ipynb"))
        if len(found) != 1:
            sys.exit(f"chapter {name!r}: expected one notebook, found {len(found)}")
        paths.append(found[0])
    return paths


def kernel_cpu(process: psutil.Process) -> float:
    """CPU seconds of the kernel process, every thread and waited-for child."""
    t = process.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def run_chapter(path: Path) -> Run:
    nb = nbformat.read(path, as_version=4)
    run = Run(path)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    state = {}

    def notebook_start(**_):
        run.kernel_start = time.perf_counter() - state["created"]
        state["process"] = psutil.Process(client.km.provisioner.pid)

    def cell_execute(cell, cell_index, **_):
        now, cpu = time.perf_counter(), kernel_cpu(state["process"])
        state.setdefault("first", (now, cpu))
        state["cell"] = (now, cpu)

    def cell_executed(cell, cell_index, **_):
        now, cpu = time.perf_counter(), kernel_cpu(state["process"])
        started, cpu_before = state["cell"]
        source = cell.source.strip()
        run.cells.append(
            Cell(
                cell_index,
                source.splitlines()[0][:60] if source else "",
                now - started,
                cpu - cpu_before,
                "status(" in source and "steps=" in source,
            )
        )
        state["last"] = (now, cpu)

    client.on_notebook_start = notebook_start
    client.on_cell_execute = cell_execute
    client.on_cell_executed = cell_executed
    state["created"] = time.perf_counter()
    try:
        client.execute()
    except Exception as error:  # report it and go on with the next chapter
        run.error = f"{type(error).__name__}: {str(error).strip().splitlines()[-1]}"
    if "first" in state and "last" in state:
        run.wall = state["last"][0] - state["first"][0]
        run.cpu = state["last"][1] - state["first"][1]
    run.load = os.getloadavg()[0]
    return run


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def print_table(header, rows):
    widths = [
        max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)
    ]
    for row in (header, ["-" * w for w in widths], *rows):
        cells = [str(row[0]).ljust(widths[0])] + [
            str(x).rjust(w) for x, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", help="numbers (13) or notebook paths")
    parser.add_argument(
        "--slowest", type=int, default=3, help="cells listed per chapter (default 3)"
    )
    args = parser.parse_args()
    paths = chapters_from(args.chapters)
    # a learner's kernel: live explorers, nothing pre-drawn for the HTML book
    os.environ.pop(PREDRAW_ENV, None)

    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(f"load average (1, 5, 15 min) before: {load()}\n")
    runs = []
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        runs.append(run_chapter(path))

    rows = []
    for r in runs:
        verdict = "ok" if r.wall <= TARGET_S else f"{r.wall / TARGET_S:.1f}x target"
        rows.append(
            [
                r.path.stem,
                f"{r.kernel_start:.1f}",
                f"{r.wall:.1f}",
                f"{r.cpu:.1f}",
                f"{r.load:.2f}",
                "ERROR" if r.error else verdict,
            ]
        )
    total_wall, total_cpu = sum(r.wall for r in runs), sum(r.cpu for r in runs)
    rows.append(["all", "", f"{total_wall:.1f}", f"{total_cpu:.1f}", "", ""])
    print(f"\nRun All in a live kernel (target: at most {TARGET_S:.0f} s per chapter)")
    print_table(
        [
            "chapter",
            "kernel start s",
            "Run All s",
            "kernel CPU s",
            "load 1 min",
            "verdict",
        ],
        rows,
    )

    print(f"Slowest cells (wall s, kernel CPU s); * = over {STATUS_S:.0f} s")
    for r in runs:
        if r.error:
            print(f"{r.path.stem}: {r.error}")
        for c in sorted(r.cells, key=lambda c: -c.wall)[: args.slowest]:
            mark = "*" if c.wall > STATUS_S else " "
            print(
                f"  {r.path.stem[:2]} cell {c.index:2d} {mark} {c.wall:6.1f} "
                f"{c.cpu:6.1f}  {c.first_line}"
            )
    silent = [
        (r.path.stem, c)
        for r in runs
        for c in r.cells
        if c.wall > STATUS_S and not c.shows_steps
    ]
    print(
        f"\ncells over {STATUS_S:.0f} s without status(..., steps=n): "
        + (
            "none"
            if not silent
            else "; ".join(f"{stem} cell {c.index}" for stem, c in silent)
        )
    )
    print(f"load average (1, 5, 15 min) after: {load()}")
    if any(r.error for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()

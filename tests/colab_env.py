"""Helpers for tests/test_colab.py: a virtual environment with Colab's versions,
pip in it, and a notebook runner.

Imported by the test (on the host Python), and run as a script by the virtual
environment's own Python to execute one notebook in a fresh kernel of that environment:

    VENV/bin/python tests/colab_env.py NOTEBOOK RESULT.json KERNEL_NAME TIMEOUT_S

The script part needs only the standard library, nbformat and nbclient.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# pip prints one such line per missing folder of this machine's local package mirrors:
# not about our packages
PIP_NOISE = re.compile(
    r"^WARNING: Location '.*' is ignored: it is neither a file nor a directory\.$"
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def canonical(name: str) -> str:
    """A distribution name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_lines(path: Path) -> list[str]:
    """The requirement lines of a constraints file, without comments."""
    lines = (
        line.split("#", 1)[0].strip()
        for line in path.read_text(encoding="utf-8").splitlines()
    )
    return [line for line in lines if line]


def requirement_name(line: str) -> str:
    return canonical(re.split(r"[<>=!~;\[ @]", line, maxsplit=1)[0])


# --------------------------------------------------------------------------------------
# The virtual environment


@dataclass
class Change:
    name: str
    before: str | None  # None: added by the install
    after: str | None  # None: removed by the install

    def __str__(self):
        if self.before is None:
            return f"{self.name} added ({self.after})"
        if self.after is None:
            return f"{self.name} removed (was {self.before})"
        return f"{self.name} {self.before} → {self.after}"


class CommandFailed(AssertionError):
    pass


def clean_output(text: str, last: int = 60) -> str:
    lines = [
        line
        for line in ANSI.sub("", text).splitlines()
        if not PIP_NOISE.match(line.strip())
    ]
    cut = lines[-last:]
    above = (
        f"    [... {len(lines) - len(cut)} lines above]\n"
        if len(lines) > len(cut)
        else ""
    )
    return above + "\n".join("    " + line for line in cut)


@dataclass
class Venv:
    path: Path
    base_python: str

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def environ(self, **extra: str) -> dict[str, str]:
        """The environment a process of this venv sees: its bin/ first, nothing of the
        caller's venv or config.
        """
        dropped = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}
        dropped |= {"MPLBACKEND", "PYTHONWARNINGS", "PIP_CONSTRAINT", "PIP_REQUIREMENT"}
        dropped |= {"PIP_USER", "PIP_TARGET", "PIP_PREFIX"}
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env["PATH"] = f"{self.path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.path)
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        env.update(extra)
        return env

    def run(
        self, args, *, what: str, timeout: float = 900, cwd=None, env=None, check=True
    ):
        """Run a command; on failure raise with what it was for and
        the end of its output.
        """
        proc = subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env=env or self.environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise CommandFailed(
                f"{what} failed (exit {proc.returncode}):\n  $ "
                f"{' '.join(map(str, args))}\n{clean_output(proc.stdout)}"
            )
        return proc

    def create(self) -> None:
        self.run(
            [self.base_python, "-m", "venv", self.path],
            what=f"creating a virtual environment with {self.base_python}",
        )

    def pip(self, *args, what: str, timeout: float = 900):
        return self.run([self.python, "-m", "pip", *args], what=what, timeout=timeout)

    def packages(self) -> dict[str, tuple[str, str]]:
        """canonical name -> (name as installed, version), like `pip freeze` but
        including pip itself.
        """
        args = [str(self.python), "-m", "pip", "list", "--format=json"]
        proc = subprocess.run(
            args, env=self.environ(), capture_output=True, text=True, timeout=300
        )
        if proc.returncode != 0:
            raise CommandFailed(
                "`pip list` failed "
                f"(exit {proc.returncode}):\n{clean_output(proc.stderr)}"
            )
        return {
            canonical(p["name"]): (p["name"], p["version"])
            for p in json.loads(proc.stdout)
        }


def changes(before: dict, after: dict) -> list[Change]:
    found = []
    for key in sorted(before.keys() | after.keys()):
        old = before.get(key, (None, None))[1]
        new = after.get(key, (None, None))[1]
        if old != new:
            found.append(Change((after.get(key) or before[key])[0], old, new))
    return found


def broken_pins(pins: list[str], installed: dict[str, tuple[str, str]]) -> list[str]:
    """The pinned packages whose installed version no longer satisfies the pin,
    each as 'name pin → found'.
    """
    from packaging.requirements import Requirement
    from packaging.version import Version

    broken = []
    for line in pins:
        req = Requirement(line)
        name, version = installed.get(canonical(req.name), (req.name, None))
        if version is None:
            broken.append(f"{req.name} {req.specifier} → not installed")
        elif not req.specifier.contains(Version(version), prereleases=True):
            broken.append(f"{name} {req.specifier} → {version}")
    return broken


def copy_source_tree(root: Path, dest: Path) -> Path:
    """The working tree as pip would clone it (no git metadata, builds, venvs or
    caches), so building the package writes nothing into the repository."""
    ignore = shutil.ignore_patterns(
        ".git",
        "_build",
        "build",
        "dist",
        ".venv",
        "*.egg-info",
        "__pycache__",
        ".ipynb_checkpoints",
        ".hypothesis",
        ".pytest_cache",
        "node_modules",
        ".jupyter_cache",
    )
    shutil.copytree(root, dest, ignore=ignore)
    return dest


def find_python(version: str) -> tuple[str | None, str]:
    """An interpreter of that minor version on this machine, and where it was found."""
    exe = shutil.which(f"python{version}")
    candidates = []
    if shutil.which("pyenv"):
        try:
            root = subprocess.run(
                ["pyenv", "root"], capture_output=True, text=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            root = ""
        if root:
            candidates += Path(root, "versions").glob(
                f"{version}.*/bin/python{version}"
            )
    candidates += Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}")
    # plain releases only (not 3.13.0t, free-threaded, nor -dev builds),
    # the newest first
    releases = [
        c for c in candidates if re.fullmatch(r"\d+\.\d+\.\d+", c.parent.parent.name)
    ]
    for c in sorted(
        releases,
        key=lambda c: [int(x) for x in c.parent.parent.name.split(".")],
        reverse=True,
    ):
        if c.is_file() and os.access(c, os.X_OK):
            return str(c), "pyenv"
    if exe:
        # a pyenv shim answers on PATH even when that version is not installed: ask it
        proc = subprocess.run(
            [exe, "-c", "import sys; print(sys.executable)"],
            capture_output=True,
            text=True,
        )
        if proc.returncode == 0:
            return proc.stdout.strip(), "PATH"
    return None, f"no python{version} on PATH or under pyenv"


# --------------------------------------------------------------------------------------
# Running one notebook (this part runs inside the virtual environment)


def first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:100]
    return ""


def run_notebook(
    nb_path: Path, result_path: Path, kernel_name: str, timeout: int
) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(nb_path, as_version=4)
    running = {"index": None}

    def on_cell_execute(cell, cell_index, **kwargs):
        running["index"] = cell_index

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        record_timing=False,
        allow_errors=False,
        resources={"metadata": {"path": str(nb_path.parent)}},
        on_cell_execute=on_cell_execute,
    )
    failure = None
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as e:
        # a cell's error, a timeout, a dead kernel:
        # reported with the cell it happened in
        failure = {
            "kind": type(e).__name__,
            "index": running["index"],
            "message": ANSI.sub("", str(e))[-3000:],
        }
    seconds = time.perf_counter() - start
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        cells.append(
            {
                "index": i,
                "first_line": first_line(cell.source),
                "tags": cell.get("metadata", {}).get("tags", []),
                "mimes": sorted({m for o in outputs for m in o.get("data", {})}),
                "stderr": "".join(
                    o.get("text", "") for o in outputs if o.get("name") == "stderr"
                ),
                "error": (
                    {
                        "ename": errors[0].get("ename", ""),
                        "evalue": errors[0].get("evalue", ""),
                        "traceback": ANSI.sub(
                            "", "\n".join(errors[0].get("traceback", []))
                        ),
                    }
                    if errors
                    else None
                ),
            }
        )
    nbformat.write(nb, result_path.with_suffix(".ipynb"))
    result_path.write_text(
        json.dumps({"seconds": seconds, "failure": failure, "cells": cells}),
        encoding="utf-8",
    )


if __name__ == "__main__":
    run_notebook(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))

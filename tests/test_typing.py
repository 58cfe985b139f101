"""The package type-checks: mypy, configured in pyproject.toml ([tool.mypy]), finds no
error (skipped where mypy is not installed; requirements.txt installs it).

The first run takes about two minutes (mypy reads torch's and NumPy's types); later
runs reuse .mypy_cache and take seconds.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is not installed (pip install mypy)")

ROOT = Path(__file__).resolve().parents[1]

ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+: error: ", re.MULTILINE)


def test_mypy_finds_no_errors():
    run = subprocess.run(
        [sys.executable, "-m", "mypy"],  # what [tool.mypy] says: the whole package
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode in (0, 1), f"mypy did not run:\n{run.stdout}{run.stderr}"
    errors = [line for line in run.stdout.splitlines() if ERROR.match(line)]
    assert not errors, "mypy finds errors:\n" + "\n".join(errors)
    assert run.returncode == 0, run.stdout + run.stderr

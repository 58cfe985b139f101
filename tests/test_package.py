"""The installed package: its version is written once (pyproject.toml), and it says
that it is typed (PEP 561).
"""

from __future__ import annotations

from pathlib import Path

import tomllib

import selfattention

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_is_pyprojects():
    assert selfattention.__version__ == PYPROJECT["project"]["version"]
    init = Path(selfattention.__file__).read_text(encoding="utf-8")
    assert PYPROJECT["project"]["version"] not in init  # not written a second time


def test_the_package_is_marked_typed():
    assert (Path(selfattention.__file__).parent / "py.typed").is_file()
    assert (
        "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["selfattention"]
    )

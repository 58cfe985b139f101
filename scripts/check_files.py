"""Parse the JSON and YAML files given (a pre-commit hook, see .pre-commit-config.yaml).

    python scripts/check_files.py _config.yml package.json ...
    python scripts/check_files.py --notebooks chapters/*.ipynb

Prints one line per file that does not parse (and, with ``--notebooks``, per notebook
that is not valid nbformat or stores per-cell timing) and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml


def problems(path: Path, notebooks: bool) -> list[str]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix in (".yml", ".yaml"):
            yaml.safe_load(text)
            return []
        data = json.loads(text)
    except (ValueError, yaml.YAMLError) as err:
        return [f"{path}: does not parse: {err}"]
    if not notebooks:
        return []
    import nbformat

    found = []
    try:
        nbformat.validate(nbformat.from_dict(data))
    except nbformat.ValidationError as err:
        found.append(f"{path}: not a valid notebook: {err.message}")
    for i, cell in enumerate(data.get("cells", [])):
        if "execution" in cell.get("metadata", {}):
            found.append(
                f"{path}: cell {i} stores per-cell timing (record_timing=False)"
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--notebooks", action="store_true")
    args = parser.parse_args(argv)
    found = [line for p in args.paths for line in problems(p, args.notebooks)]
    print("\n".join(found) if found else "", end="\n" if found else "")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

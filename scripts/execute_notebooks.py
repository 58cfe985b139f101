"""Execute the chapters top to bottom, each in a fresh kernel, and store their outputs.

    python scripts/execute_notebooks.py               # every notebook under chapters/
    python scripts/execute_notebooks.py chapters/03_score.ipynb

Before running, the hidden first cell of each notebook (the one that installs the package on Colab) is
rewritten from ``repository.url`` in ``_config.yml``, so that URL is configured in one place only.
No per-cell timing metadata is stored (``record_timing=False``); widget state is stored so the HTML book can
render the widgets.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
COLAB_TAG = "colab-install"
COLAB_CELL = '''# On Colab, install this book's package first (locally, `pip install -r requirements.txt` already did).
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "selfattention @ git+{url}"'''


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def colab_cell_source() -> str:
    return COLAB_CELL.format(url=repository_url())


def sync_colab_cell(nb) -> None:
    for cell in nb.cells:
        if COLAB_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = colab_cell_source()


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    sync_colab_cell(nb)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(paths: list[str]) -> None:
    notebooks = [Path(p).resolve() for p in paths] or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in notebooks:
        print(f"{path.relative_to(ROOT)}: {execute(path):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Execute the chapters top to bottom, each in a fresh kernel, and store their outputs.

    python scripts/execute_notebooks.py               # every notebook under chapters/
    python scripts/execute_notebooks.py chapters/03_score.ipynb

What it does to each notebook, in order:

1. rewrites the hidden first cell (the one that installs the package on Colab) from
   ``repository.url`` in ``_config.yml``, so that URL is configured in one place only;
2. refuses a code cell that calls ``check(``: solutions are folded in the markdown
   (``<details>``), never in a code cell that Run All would run and show;
3. executes it with ``SELFATTENTION_PREDRAW=1``, so that each explorer cell stores
   pictures drawn in advance for the HTML book (in a live kernel the same cell shows the
   live explorer instead); widget state is stored, per-cell timing is not
   (``record_timing=False``);
4. stores its PNG outputs as 256-colour palette PNGs (about half the size), and no
   widget state when only cells the book removes display widgets (an explorer tagged
   ``remove-cell``, which the book replaces with one computed in the page); an output
   whose widget's state is not stored then keeps only its text ("Run this cell..."),
   which a trusted notebook in JupyterLab shows instead of "Error displaying widget:
   model not found";
5. writes every value the code glued (``selfattention.book.glue``) into the prose, in
   front of its marker: ``0.70<!-- value: it_top_weight -->``. A marker whose name the
   code never glued is an error;
6. checks that every sentence marked ``<!-- claim: name -->`` was backed by
   ``selfattention.book.claim`` in the code (which fails the run when the numbers do
   not support it), and that every claim the code made is marked in the prose.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
COLAB_TAG = "colab-install"
COLAB_CELL = '''# On Colab, install this book's package first
# (locally, `pip install -r requirements.txt` has already done it).
import sys

if "google.colab" in sys.modules:
    URL = "{url}"
    %pip install --quiet "selfattention @ git+{{URL}}"'''

VALUE_MIME = "application/vnd.selfattention.value+json"  # selfattention.book.VALUE_MIME
CLAIM_MIME = "application/vnd.selfattention.claim+json"  # selfattention.book.CLAIM_MIME
#: A sentence about computed values, backed by ``selfattention.book.claim`` in the code.
CLAIM_MARKER = re.compile(r"<!-- claim: (?P<name>[\w-]+) -->")
#: A quoted value in the prose: the text right before the marker
#: (no spaces or markup), then the marker.
MARKER = re.compile(r"(?P<text>[^\s*_()\[\]<>`$|\\]*)<!-- value: (?P<name>[\w-]+) -->")

#: A solution is a ``<details>`` block in a markdown cell, its code a fenced ``python``
#: block (README, "Editing a chapter"): no front end runs it or shows it until the
#: learner opens it, and tests/test_solutions.py runs it. A code cell would run on Run
#: All and show its answer (and GitHub shows every code cell).
SOLUTION_IN_CODE = "check("


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def colab_cell_source() -> str:
    return COLAB_CELL.format(url=repository_url())


def sync_colab_cell(nb) -> None:
    for cell in nb.cells:
        if COLAB_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = colab_cell_source()


def refuse_solution_cells(nb) -> None:
    """No code cell may answer an exercise: solutions live folded in the prose."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and SOLUTION_IN_CODE in cell.source:
            raise ValueError(
                f"code cell {i} calls check(): put a solution's code in a <details> "
                "block in the markdown (README, 'Editing a chapter'), where no front "
                "end runs or shows it until the learner opens it"
            )


def glued_values(nb) -> dict[str, str]:
    """``{name: value}`` of every value the notebook's code glued,
    from its stored outputs.
    """
    values: dict[str, str] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            record = output.get("data", {}).get(VALUE_MIME)
            if record is None:
                continue
            name, value = record["name"], record["value"]
            if values.get(name, value) != value:
                raise ValueError(
                    f"{name!r} was glued twice with different values: "
                    f"{values[name]!r} and {value!r}"
                )
            values[name] = value
    return values


def quoted_values(nb) -> list[tuple[int, str, str]]:
    """``(cell index, name, quoted text)`` for every value marker in the
    notebook's markdown.
    """
    return [
        (i, m["name"], m["text"])
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for m in MARKER.finditer(cell.source)
    ]


def made_claims(nb) -> dict[str, str]:
    """``{name: statement}`` of every claim the notebook's code made (and that held:
    a claim that does not hold stops the run), from its stored outputs."""
    return {
        record["name"]: record["statement"]
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if (record := output.get("data", {}).get(CLAIM_MIME)) is not None
    }


def claim_markers(nb) -> list[tuple[int, str]]:
    """``(cell index, name)`` for every claim marker in the notebook's markdown."""
    return [
        (i, m["name"])
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for m in CLAIM_MARKER.finditer(cell.source)
    ]


def check_claims(nb) -> None:
    """Every sentence marked as a claim is backed by a claim the code made, and every
    claim the code made is marked in the prose."""
    made, marked = made_claims(nb), {name for _, name in claim_markers(nb)}
    if marked - set(made):
        raise ValueError(
            f"the prose marks claims the code never makes: {sorted(marked - set(made))}"
        )
    if set(made) - marked:
        raise ValueError(
            f"the code makes claims no sentence is marked with: "
            f"{sorted(set(made) - marked)}"
        )


def write_values(nb, values: dict[str, str]) -> None:
    """Put each glued value in front of its marker in the markdown cells."""
    unknown = sorted({name for _, name, _ in quoted_values(nb)} - set(values))
    if unknown:
        raise ValueError(f"the prose quotes values the code never glues: {unknown}")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = MARKER.sub(
                lambda m: f"{values[m['name']]}<!-- value: {m['name']} -->", cell.source
            )


def palette_pngs(nb) -> None:
    """Store every PNG output with 256 colours (a palette): half the size, and the
    same picture to the eye (the figures use far fewer colours that matter)."""
    import base64
    import io

    from PIL import Image

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" not in data:
                continue
            image = Image.open(io.BytesIO(base64.b64decode(data["image/png"])))
            if image.mode == "P":
                continue
            buffer = io.BytesIO()
            image.convert("RGB").quantize(256).save(buffer, format="png", optimize=True)
            data["image/png"] = base64.b64encode(buffer.getvalue()).decode("ascii")


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _widget_refs(value) -> set[str]:
    """The ids of the widget models a model's state refers to ("IPY_MODEL_<id>")."""
    if isinstance(value, str):
        return {value[len("IPY_MODEL_") :]} if value.startswith("IPY_MODEL_") else set()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*(_widget_refs(v) for v in value))
    return set()


def drop_unshown_widgets(nb) -> None:
    """Store no widget state for what the book does not show: the widgets that only
    cells tagged ``remove-cell`` display (an explorer the book replaces with one
    computed in the page), their parts and the links between them; none at all when no
    shown cell displays a widget. The book would embed them in the page, and load the
    widget scripts, for nothing.

    An output showing a widget whose state is not stored keeps only its text: a trusted
    notebook in JupyterLab would show "Error displaying widget: model not found"."""
    views = {True: set(), False: set()}  # shown or not: the models cells display
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        shown = "remove-cell" not in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                views[shown].add(output["data"][WIDGET_VIEW]["model_id"])
    if not views[True]:
        nb.metadata.pop("widgets", None)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    refs = {k: _widget_refs(m.get("state", {})) & set(state) for k, m in state.items()}

    def parts(roots: set[str]) -> set[str]:
        found, todo = set(), [r for r in roots if r in state]
        while todo:
            model = todo.pop()
            if model not in found:
                found.add(model)
                todo += refs[model]
        return found

    keep = parts(views[True])
    drop = parts(views[False]) - keep
    linked = {k for k in set(state) - keep - drop if refs[k] & drop}
    while linked:  # links (jslink) between dropped widgets go with them
        drop |= linked
        linked = {k for k in set(state) - keep - drop if refs[k] & drop}
    for model in drop:
        del state[model]
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is not None and view["model_id"] not in state:
                del output["data"][WIDGET_VIEW]


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    sync_colab_cell(nb)
    refuse_solution_cells(nb)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    # the kernel inherits SELFATTENTION_PREDRAW=1 from this process (see main)
    client.execute()
    write_values(nb, glued_values(nb))
    check_claims(nb)
    palette_pngs(nb)
    drop_unshown_widgets(nb)
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(paths: list[str]) -> None:
    # selfattention.explorer.PREDRAW_ENV: explorers pre-draw for the book
    os.environ["SELFATTENTION_PREDRAW"] = "1"
    notebooks = [Path(p).resolve() for p in paths] or sorted(
        (ROOT / "chapters").glob("*.ipynb")
    )
    for path in notebooks:
        print(f"{path.relative_to(ROOT)}: {execute(path):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Static checks of the chapters: stored the way nbval and the book expect,
configured in one place.
"""

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def load_script():
    spec = importlib.util.spec_from_file_location(
        "execute_notebooks", ROOT / "scripts" / "execute_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_every_chapter_is_in_the_table_of_contents_and_back():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    listed = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    # every chapter, in the order of the file names
    assert listed == [f"chapters/{p.stem}" for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_first_cell_installs_the_package_on_colab_only_and_is_hidden(path):
    first = cells(path)[0]
    script = load_script()
    assert "".join(first["source"]) == script.colab_cell_source()
    assert {"remove-cell", script.COLAB_TAG} <= set(first["metadata"]["tags"])


def test_the_repository_url_is_configured_once():
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    url = yaml.safe_load(config)["repository"]["url"]
    assert config.count(url) == 1
    assert load_script().repository_url() == url.rstrip("/")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_stored_executed_in_order_without_timing(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1))
    for c in code:
        assert "execution" not in c["metadata"], (
            "per-cell timing must not be stored (record_timing=False)"
        )
        assert all(o["output_type"] != "error" for o in c["outputs"])


# MyST-only markup: JupyterLab, Colab and GitHub render markdown cells as
# CommonMark + HTML and show it raw.
MYST_ONLY = re.compile(
    r"\{[a-zA-Z][\w:-]*\}`"
    r"|^\s*(```+|~~~+|:::+)\s*\{[\w:-]+\}"
    r"|^\s*:class:"
    r"|^\s*\([\w-]+\)=\s*$",
    re.M,
)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_markdown_is_plain_commonmark_and_html(path):
    for i, c in enumerate(cells(path)):
        if c["cell_type"] == "markdown":
            hit = MYST_ONLY.search("".join(c["source"]))
            assert hit is None, (
                f"markdown cell {i} shows {hit.group(0)!r} raw outside the book"
            )
            # a tab or form feed in TeX is a "\t" or "\f" that a string
            # escape ate (\times, \frac)
            control = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\t]", "".join(c["source"]))
            assert control is None, (
                f"markdown cell {i} holds the control character {control.group(0)!r}"
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_quoted_value_is_the_value_the_code_glued(path):
    """The prose quotes computed values as ``0.70<!-- value: name -->``; the code glues
    them (its stored output, which nbval proves equal to a fresh run). Together: the
    text is what the code computes."""
    script = load_script()
    nb = nbformat.read(path, as_version=4)
    glued = script.glued_values(nb)
    quoted = script.quoted_values(nb)
    for i, name, text in quoted:
        assert name in glued, (
            f"markdown cell {i} quotes {name!r}, which the code never glues"
        )
        assert text == glued[name], (
            f"markdown cell {i} says {text!r} for {name!r}, "
            f"the code computed {glued[name]!r}"
        )
    assert set(glued) <= {name for _, name, _ in quoted}, "glued but never quoted"
    prose = "".join(
        "".join(c["source"]) for c in cells(path) if c["cell_type"] == "markdown"
    )
    assert prose.count("<!-- value:") == len(quoted), (
        "a value marker the script cannot read (markup before it?)"
    )


def test_a_changed_value_is_caught(tmp_path):
    """The check above bites: a number edited in the prose,
    or a glue that changes, no longer matches.
    """
    script = load_script()
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    (i, name, text), *_ = script.quoted_values(nb)
    nb.cells[i].source = nb.cells[i].source.replace(
        f"{text}<!-- value: {name}", f"9.99<!-- value: {name}", 1
    )
    assert (i, name, "9.99") in script.quoted_values(nb)
    assert script.glued_values(nb)[name] == text != "9.99"
    # what scripts/execute_notebooks.py does after a run
    script.write_values(nb, script.glued_values(nb))
    assert (i, name, text) in script.quoted_values(nb)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_claim_in_the_prose_is_made_and_held_by_the_code(path):
    """A sentence that compares or bounds computed values is marked
    ``<!-- claim: name -->``; the code cell that computes them calls
    ``claim(name, condition, ...)``, which fails the run (and nbval) when the condition
    does not hold. The stored outputs, which nbval proves equal to a fresh run, hold
    the claims that were made."""
    script = load_script()
    nb = nbformat.read(path, as_version=4)
    script.check_claims(nb)  # raises on a marked claim never made, or one never marked
    for cell in nb.cells:
        if cell.cell_type == "code" and "claim(" in cell.source:
            assert "raises-exception" not in cell.metadata.get("tags", [])


def test_a_claim_that_does_not_hold_fails_the_run():
    """A claim planted false in a real chapter stops its execution, naming the claim."""
    import ast

    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    chapters_with_claims = [
        p for p in CHAPTERS if load_script().made_claims(nbformat.read(p, as_version=4))
    ]
    assert chapters_with_claims, "no chapter makes a claim"
    # the smallest such chapter: the quickest to run
    path = min(chapters_with_claims, key=lambda p: p.stat().st_size)
    nb = nbformat.read(path, as_version=4)
    index = next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and "claim(" in c.source
    )
    cell = nb.cells[index]
    tree = ast.parse(cell.source)
    (call, *_) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "claim"
    ]
    name = call.args[0].value
    call.args[1] = ast.UnaryOp(ast.Not(), call.args[1])  # the claim, flipped
    cell.source = ast.unparse(tree)
    nb.cells = [c for c in nb.cells[: index + 1] if c.cell_type == "code"]
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": "."}}
    )
    with pytest.raises(CellExecutionError, match=rf"ClaimError[\s\S]*{name}"):
        client.execute()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_exercise_has_one_folded_solution_and_no_code_cell_answers(path):
    """Each exercise of the list has its own closed ``<details>`` block, in order,
    and no code cell calls ``check``: Run All shows no answer, and GitHub, which shows
    every code cell, shows no solution code."""
    notebook = cells(path)
    (exercises,) = [
        "".join(c["source"]).split("## Exercises", 1)[1]
        for c in notebook
        if c["cell_type"] == "markdown" and "## Exercises" in "".join(c["source"])
    ]
    count = len(re.findall(r"^\d+\. ", exercises, re.M))
    assert count >= 2, exercises
    titles = []
    for c in notebook:
        source = "".join(c["source"])
        if c["cell_type"] == "code":
            assert "check(" not in source, f"a code cell answers an exercise: {source}"
            assert "solution" not in c["metadata"].get("tags", [])
        elif "<details>" in source:
            # blank lines around the inner markdown,
            # so CommonMark and MyST both parse it as markdown
            blocks = re.findall(
                r"<details>\n<summary>([^<]*)</summary>\n\n.*?\n\n</details>",
                source,
                re.S,
            )
            assert len(blocks) == source.count("<details>"), source[:300]
            titles += blocks
    assert titles == [f"Solution to exercise {i}" for i in range(1, count + 1)]


def test_a_solution_in_a_code_cell_is_refused():
    script = load_script()
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    script.refuse_solution_cells(nb)
    nb.cells.append(nbformat.v4.new_code_cell('check("intuition-hungry", "animal")'))
    with pytest.raises(ValueError, match="calls check"):
        script.refuse_solution_cells(nb)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_explorers_are_stored_pre_drawn_for_the_book(path):
    """One cell per explorer; the stored output (what the HTML book shows) holds
    pictures drawn in advance. An explorer cell the book removes (``remove-cell``: the
    book shows one computed in the page instead) stores no pictures for it.

    What a trusted notebook, not yet run, shows in JupyterLab (tests/test_jupyterlab.py
    sees it there): a pre-drawn explorer under a line saying what it is, with no
    "disconnected" icons (selfattention.explorer.PREDRAWN_STYLE); where no pictures
    are stored, its line of text (no widget view: "Error displaying widget: model not
    found"). No output shows a widget whose state is not stored.
    """
    from selfattention import explorer

    nb = json.loads(path.read_text(encoding="utf-8"))
    state = (
        nb["metadata"]
        .get("widgets", {})
        .get("application/vnd.jupyter.widget-state+json", {})
        .get("state", {})
    )

    def models_under(model_id):
        model = state[model_id]
        yield model["model_name"]
        for child in model["state"].get("children", []):
            yield from models_under(child.removeprefix("IPY_MODEL_"))

    view_mime = "application/vnd.jupyter.widget-view+json"
    for c in nb["cells"]:
        source = "".join(c["source"])
        bundles = [o["data"] for o in c.get("outputs", []) if "data" in o]
        for bundle in bundles:
            if view_mime in bundle:
                assert bundle[view_mime]["model_id"] in state, source
        if c["cell_type"] == "code" and re.search(r"widgets\.\w+Explorer\(", source):
            assert ".precomputed(" not in source
            assert len(bundles) == 1, source
            (bundle,) = bundles
            text = "".join(bundle["text/plain"])
            assert "Run this cell" in text and "\n" not in text, source
            if "remove-cell" in c["metadata"].get("tags", []):
                assert view_mime not in bundle, source
                continue
            model_id = bundle[view_mime]["model_id"]
            assert "StackModel" in set(models_under(model_id)), source
            box = state[model_id]["state"]
            assert explorer.PREDRAWN_CLASS in box["_dom_classes"], source
            note = state[box["children"][0].removeprefix("IPY_MODEL_")]["state"]
            assert explorer.PREDRAWN_NOTE_CLASS in note["_dom_classes"], source
            assert note["value"].startswith(explorer.PREDRAWN_STYLE), source
            assert "pictures drawn in advance. Run this cell" in note["value"], source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_nbval_ignore_output_only_on_widget_and_timing_cells(path):
    for c in cells(path):
        if "nbval-ignore-output" in c["metadata"].get("tags", []):
            src = "".join(c["source"])
            # widgets, timings, or plots of the timings measured just before
            assert re.search(
                r"widgets\.\w+Explorer\(|median_time|best_time|peak_memory|seconds|"
                r"memory_mib|max_difference",
                src,
            ), src


def test_chapters_with_explorers_keep_them():
    for number in ["03", "04", "05", "06", "09", "10"]:
        (path,) = [p for p in CHAPTERS if p.name.startswith(number)]
        assert any(
            "Explorer(" in "".join(c["source"])
            for c in cells(path)
            if c["cell_type"] == "code"
        )


def test_no_notebook_edits_sys_path_or_pastes_the_package():
    package = (ROOT / "src" / "selfattention" / "numpy_backend.py").read_text(
        encoding="utf-8"
    )
    for path in CHAPTERS:
        text = path.read_text(encoding="utf-8")
        assert "sys.path" not in text
        for c in cells(path):
            if c["cell_type"] == "code":
                assert "def attention(" not in "".join(
                    c["source"]
                ) or "loop" in "".join(c["source"])
    assert "def attention(" in package


#: The characters of a line of output that the book shows without scrolling, at a
#: 1280-pixel-wide window: its output box is 688 CSS px wide, less 16 of padding, and a
#: character of its monospace font 7.22 px (measured in Chromium on the built book).
OUTPUT_COLUMNS = 93


def long_output_lines(cell: dict) -> list[str]:
    """The lines of text a cell prints (streams, tracebacks, plain results) that are
    longer than OUTPUT_COLUMNS; none for a cell the book removes."""
    if "remove-cell" in cell.get("metadata", {}).get("tags", []):
        return []
    texts = []
    for o in cell.get("outputs", []):
        data = o.get("data", {})
        if o["output_type"] == "stream":
            texts.append("".join(o["text"]))
        elif o["output_type"] == "error":
            texts.append(f"{o['ename']}: {o['evalue']}")
        elif set(data) == {"text/plain"}:  # no richer form to show instead
            texts.append("".join(data["text/plain"]))
    return [
        line for t in texts for line in t.splitlines() if len(line) > OUTPUT_COLUMNS
    ]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_printed_lines_fit_the_page(path):
    """A line the reader must scroll sideways to read hides what a sentence quotes
    (chapter 14 printed lines of up to 181 characters: wrap them, textwrap.fill)."""
    long = [
        (i, line[:60] + "...")
        for i, c in enumerate(cells(path))
        if c["cell_type"] == "code"
        for line in long_output_lines(c)
    ]
    assert not long, f"lines over {OUTPUT_COLUMNS} characters (cell, start): {long}"


#: The functions that return a listing to be shown: only the last expression of a
#: cell is shown, so a listing returned anywhere else is computed and dropped.
LISTINGS = ("show_source", "compare_source")


def dropped_listings(source: str) -> list[str]:
    """The calls of LISTINGS in ``source`` whose result no front end shows: a bare
    expression statement that is not the cell's last."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    body = ast.parse(TransformerManager().transform_cell(source)).body  # %magics too
    return [
        ast.unparse(statement)
        for statement in body[:-1]
        if isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and getattr(
            statement.value.func, "id", getattr(statement.value.func, "attr", "")
        )
        in LISTINGS
    ]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_listing_is_shown(path):
    dropped = [
        (i, call)
        for i, c in enumerate(cells(path))
        if c["cell_type"] == "code"
        for call in dropped_listings("".join(c["source"]))
    ]
    assert not dropped, f"listings computed but not shown (cell, call): {dropped}"


def test_a_dropped_listing_is_found():
    assert dropped_listings("show_source(f)\nx = 1\nprint(x)") == ["show_source(f)"]
    assert dropped_listings("x = 1\nshow_source(f)") == []
    assert dropped_listings("display(show_source(f))\nx = 1") == []


def test_show_source_and_compare_source_show_the_installed_code():
    from selfattention import numpy_backend, torch_backend
    from selfattention.book import compare_source, show_source

    code = show_source(numpy_backend.score)
    assert code.data.startswith(
        "def score(q: ArrayLike, k: ArrayLike, *, scale: float | None = None)"
    )
    both = compare_source(numpy_backend.score, torch_backend.score)
    legend, *lines = repr(both).splitlines()
    assert legend == "# N: NumPy only, P: PyTorch only"
    shared = [line for line in lines if line.startswith("  | ")]
    numpy_only = [line for line in lines if line.startswith("N | ")]
    torch_only = [line for line in lines if line.startswith("P | ")]
    # the same line, shown once
    assert "  |     q, k, scale = _checked(q=q, k=k, scale=scale)" in shared
    assert any(line.startswith("P | def score(q: Tensor,") for line in torch_only)
    assert any("np.swapaxes" in line for line in numpy_only)
    assert any(".transpose(-1, -2)" in line for line in torch_only)
    assert len(shared) + len(numpy_only) + len(torch_only) == len(lines)
    assert both._repr_html_().count("<pre") == 1  # one listing, not two panes


def test_the_code_chapter_quotes_only_code_that_is_in_the_listings():
    """Every `np.…`, `torch.…` or keyword the chapter names exists in a backend."""
    from selfattention import numpy_backend, torch_backend

    sources = (
        Path(numpy_backend.__file__).read_text()
        + Path(torch_backend.__file__).read_text()
    )
    (path,) = [p for p in CHAPTERS if p.name.startswith("07_")]
    prose = "".join(
        "".join(c["source"]) for c in cells(path) if c["cell_type"] == "markdown"
    )
    prose = re.sub(r"```.*?```", "", prose, flags=re.S)  # solutions' code blocks
    spans = re.findall(r"`([^`]+)`", prose)
    named = [s for s in spans if re.search(r"np\.|torch\.|\.transpose|=", s)]
    assert len(named) >= 10, named
    missing = [s for s in named if s not in sources]
    assert not missing, f"the chapter names code the backends do not contain: {missing}"


def test_the_six_line_attention_of_the_code_chapter_is_the_packages_attention():
    """The minimal attention written out in chapter 7 is the package's attention."""
    import numpy as np

    from selfattention import attention

    (path,) = [p for p in CHAPTERS if p.name.startswith("07_")]
    (source,) = [
        "".join(c["source"])
        for c in cells(path)
        if c["cell_type"] == "code" and "def tiny_attention(" in "".join(c["source"])
    ]
    namespace = {"np": np}
    exec(source, namespace)  # the cell as the chapter shows it
    tiny_attention = namespace["tiny_attention"]
    assert len(source.strip().splitlines()) <= 7  # the definition and six lines
    rng = np.random.default_rng(0)
    for n, m, d_k, d_v in [(1, 1, 1, 1), (5, 7, 8, 3), (16, 16, 64, 64), (3, 40, 2, 5)]:
        q, k = rng.standard_normal((n, d_k)), rng.standard_normal((m, d_k))
        v = 3 * rng.standard_normal((m, d_v))
        ours, our_weights = tiny_attention(q, k, v)
        theirs, their_weights = attention(q, k, v)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
        np.testing.assert_allclose(our_weights, their_weights, rtol=0, atol=1e-12)

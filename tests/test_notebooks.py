"""Static checks of the chapters: stored the way nbval and the book expect, configured in one place."""

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
    spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "scripts" / "execute_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_every_chapter_is_in_the_table_of_contents_and_back():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    listed = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert listed == [f"chapters/{p.stem}" for p in CHAPTERS]  # every chapter, in the order of the file names


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
        assert "execution" not in c["metadata"], "per-cell timing must not be stored (record_timing=False)"
        assert all(o["output_type"] != "error" for o in c["outputs"])


# MyST-only markup: JupyterLab, Colab and GitHub render markdown cells as CommonMark + HTML and show it raw.
MYST_ONLY = re.compile(r"\{[a-zA-Z][\w:-]*\}`|^\s*(```+|~~~+|:::+)\s*\{[\w:-]+\}|^\s*:class:|^\s*\([\w-]+\)=\s*$", re.M)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_markdown_is_plain_commonmark_and_html(path):
    for i, c in enumerate(cells(path)):
        if c["cell_type"] == "markdown":
            hit = MYST_ONLY.search("".join(c["source"]))
            assert hit is None, f"markdown cell {i} shows {hit.group(0)!r} raw outside the book"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_quoted_value_is_the_value_the_code_glued(path):
    """The prose quotes computed values as ``0.70<!-- value: name -->``; the code glues them (its stored output,
    which nbval proves equal to a fresh run). Together: the text is what the code computes."""
    script = load_script()
    nb = nbformat.read(path, as_version=4)
    glued = script.glued_values(nb)
    quoted = script.quoted_values(nb)
    for i, name, text in quoted:
        assert name in glued, f"markdown cell {i} quotes {name!r}, which the code never glues"
        assert text == glued[name], f"markdown cell {i} says {text!r} for {name!r}, the code computed {glued[name]!r}"
    assert set(glued) <= {name for _, name, _ in quoted}, "glued but never quoted"
    prose = "".join("".join(c["source"]) for c in cells(path) if c["cell_type"] == "markdown")
    assert prose.count("<!-- value:") == len(quoted), "a value marker the script cannot read (markup before it?)"


def test_a_changed_value_is_caught(tmp_path):
    """The check above bites: a number edited in the prose, or a glue that changes, no longer matches."""
    script = load_script()
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    (i, name, text), *_ = script.quoted_values(nb)
    nb.cells[i].source = nb.cells[i].source.replace(f"{text}<!-- value: {name}", f"9.99<!-- value: {name}", 1)
    assert (i, name, "9.99") in script.quoted_values(nb)
    assert script.glued_values(nb)[name] == text != "9.99"
    script.write_values(nb, script.glued_values(nb))  # what scripts/execute_notebooks.py does after a run
    assert (i, name, text) in script.quoted_values(nb)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_solutions_are_folded_in_every_front_end(path):
    script = load_script()
    for c in cells(path):
        source = "".join(c["source"])
        if c["cell_type"] == "markdown" and "<details>" in source:
            # blank lines around the inner markdown, so CommonMark and MyST both parse it as markdown
            assert re.search(r"<details>\n<summary>Solution[^<]*</summary>\n\n", source), source[:200]
            assert source.count("<details>") == source.count("\n\n</details>"), source[-200:]
        if c["cell_type"] == "code" and "solution" in c["metadata"].get("tags", []):
            meta = c["metadata"]
            assert meta["jupyter"] == script.SOLUTION_METADATA["jupyter"]  # JupyterLab, Notebook 7
            assert meta["cellView"] == script.SOLUTION_METADATA["cellView"]  # Colab shows the # @title line only
            assert "hide-cell" in meta["tags"]  # the book folds it ...
            assert meta["mystnb"]["code_prompt_show"] == script.solution_title(source)  # ... behind "Solution to …"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_explorers_are_stored_pre_drawn_for_the_book(path):
    """One cell per explorer; the stored output (what the HTML book shows) holds pictures drawn in advance."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    state = nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})

    def models_under(model_id):
        model = state[model_id]
        yield model["model_name"]
        for child in model["state"].get("children", []):
            yield from models_under(child.removeprefix("IPY_MODEL_"))

    for c in nb["cells"]:
        source = "".join(c["source"])
        if c["cell_type"] == "code" and re.search(r"widgets\.\w+Explorer\(", source):
            assert ".precomputed(" not in source
            views = [o["data"]["application/vnd.jupyter.widget-view+json"] for o in c["outputs"] if "data" in o]
            assert len(views) == 1, source
            assert "StackModel" in set(models_under(views[0]["model_id"])), source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_nbval_ignore_output_only_on_widget_and_timing_cells(path):
    for c in cells(path):
        if "nbval-ignore-output" in c["metadata"].get("tags", []):
            src = "".join(c["source"])
            # widgets, timings, or plots of the timings measured just before
            assert re.search(
                r"widgets\.\w+Explorer\(|median_time|peak_memory|seconds|memory_mib|max_difference", src
            ), src


def test_chapters_with_explorers_keep_them():
    for number in ["03", "04", "05", "06", "09", "10"]:
        (path,) = [p for p in CHAPTERS if p.name.startswith(number)]
        assert any("Explorer(" in "".join(c["source"]) for c in cells(path) if c["cell_type"] == "code")


def test_no_notebook_edits_sys_path_or_pastes_the_package():
    package = (ROOT / "src" / "selfattention" / "numpy_backend.py").read_text(encoding="utf-8")
    for path in CHAPTERS:
        text = path.read_text(encoding="utf-8")
        assert "sys.path" not in text
        for c in cells(path):
            if c["cell_type"] == "code":
                assert "def attention(" not in "".join(c["source"]) or "loop" in "".join(c["source"])
    assert "def attention(" in package


def test_show_source_and_side_by_side_show_the_installed_code():
    from selfattention import numpy_backend, torch_backend
    from selfattention.book import show_source, side_by_side

    code = show_source(numpy_backend.score)
    assert code.data.startswith("def score(q, k, *, scale=None):")
    both = side_by_side(numpy_backend.blend, torch_backend.blend)
    numpy_part, torch_part = repr(both).split("# PyTorch")
    assert "_as_array" in numpy_part
    assert "_as_tensor" in torch_part
    assert both._repr_html_().count("<pre") == 2

"""Static checks of the chapters: stored the way nbval and the book expect, configured in one place."""

import importlib.util
import json
import re
from pathlib import Path

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
    listed = {c["file"] for part in toc["parts"] for c in part["chapters"]}
    assert listed == {f"chapters/{p.stem}" for p in CHAPTERS}
    assert len(CHAPTERS) == 11


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_first_cell_installs_the_package_on_colab_only_and_is_hidden(path):
    first = cells(path)[0]
    script = load_script()
    assert "".join(first["source"]) == script.colab_cell_source()
    assert {"remove-cell", script.COLAB_TAG} <= set(first["metadata"]["tags"])
    assert 'if "google.colab" in sys.modules:' in script.colab_cell_source()


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


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_glued_number_in_the_prose_is_glued_by_the_code(path):
    source = cells(path)
    prose = "".join("".join(c["source"]) for c in source if c["cell_type"] == "markdown")
    code = "".join("".join(c["source"]) for c in source if c["cell_type"] == "code")
    quoted = set(re.findall(r"\{glue:text\}`([\w-]+)", prose))
    glued = set(re.findall(r"glue\(\s*\"([\w-]+)\"", code))
    assert quoted <= glued, f"quoted but never glued: {quoted - glued}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_nbval_ignore_output_only_on_widget_and_timing_cells(path):
    for c in cells(path):
        if "nbval-ignore-output" in c["metadata"].get("tags", []):
            src = "".join(c["source"])
            # widgets, timings, or plots of the timings measured just before
            assert re.search(
                r"widgets\.\w+Explorer\(|median_time|peak_memory|seconds|memory_mib|max_difference", src
            ), src


def test_chapters_3_to_6_each_have_an_interactive_control():
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

"""all-MiniLM-L6-v2 exported for the book's pages (``selfattention.pretrained_onnx``):
the files, the graph, and its attention against the Python model (run by onnxruntime
here; ``tests/test_browser_minilm.py`` runs the same files in Chromium).
"""

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("transformers", reason="needs transformers (requirements.txt)")
onnx = pytest.importorskip("onnx", reason="needs onnx (requirements.txt)")
pytest.importorskip("onnxruntime", reason="needs onnxruntime (requirements.txt)")

from selfattention import pretrained, pretrained_onnx  # noqa: E402


@pytest.fixture(scope="module")
def model():
    try:
        return pretrained.load()
    except pretrained.ModelNotAvailable as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def written(model, tmp_path_factory):
    """``(folder, manifest)``: the files the book build would copy."""
    folder = tmp_path_factory.mktemp("minilm")
    return folder, pretrained_onnx.write_browser_files(folder)


def test_the_files_and_their_manifest(written):
    folder, manifest = written
    assert pretrained_onnx.is_current(folder)
    assert json.loads((folder / pretrained_onnx.MANIFEST).read_text()) == manifest
    assert manifest["precision"] == pretrained_onnx.SHIPPED == "fp16"
    assert (manifest["layers"], manifest["heads"]) == (6, 12)
    assert manifest["max_abs_error"] <= pretrained_onnx.TOLERANCE
    source = pretrained.local_model_path()
    for name in pretrained_onnx.TOKENIZER_FILES:  # the package's own, unchanged
        assert (folder / name).read_bytes() == (source / name).read_bytes()


def test_the_graph_maps_token_ids_to_every_heads_attention(written):
    folder, manifest = written
    graph = onnx.load(str(folder / manifest["graph"])).graph

    def dims(value):
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    assert [(v.name, dims(v)) for v in graph.input] == [("input_ids", ["batch", "n"])]
    assert [(v.name, dims(v)) for v in graph.output] == [
        ("attentions", ["batch", 6, 12, "n", "n"])
    ]
    # every weight matrix stored as float16, nothing large left in float32
    kinds = {(t.data_type, int(np.prod(t.dims)) >= 4096) for t in graph.initializer}
    assert (onnx.TensorProto.FLOAT16, True) in kinds
    assert (onnx.TensorProto.FLOAT, True) not in kinds


def test_its_attention_equals_the_python_models(written, model):
    folder, manifest = written
    tokenizer, _ = model
    sentences = [
        "The animal didn't cross the street because it was too tired.",
        "<script>alert(1)</script> 😀 東京",
        *pretrained_onnx.sample_sentences(tokenizer, 30, seed=3),
    ]
    error = pretrained_onnx.max_error(folder / manifest["graph"], sentences, model)
    assert error <= pretrained_onnx.TOLERANCE
    assert error > 0  # float16 weights: near, not equal


def test_sample_sentences_cover_every_length(model):
    tokenizer, _ = model
    sentences = pretrained_onnx.sample_sentences(tokenizer, 60, seed=5)
    assert sentences == pretrained_onnx.sample_sentences(tokenizer, 60, seed=5)
    lengths = {len(tokenizer(s)["input_ids"]) for s in sentences}
    assert lengths == set(range(3, pretrained.MAX_TOKENS + 1))


def test_stale_or_partial_files_are_not_current(written, tmp_path):
    folder, manifest = written
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert pretrained_onnx.is_current(copy)
    assert not pretrained_onnx.is_current(copy, precision="int8")
    (copy / manifest["graph"]).unlink()
    assert not pretrained_onnx.is_current(copy)
    shutil.copytree(folder, copy, dirs_exist_ok=True)
    older = {**manifest, "format": pretrained_onnx.FORMAT - 1}
    (copy / pretrained_onnx.MANIFEST).write_text(json.dumps(older))
    assert not pretrained_onnx.is_current(copy)


def test_an_unknown_precision_is_refused(tmp_path):
    with pytest.raises(ValueError, match="precision must be one of"):
        pretrained_onnx.export_onnx(tmp_path / "x.onnx", precision="int4")

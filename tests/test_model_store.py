"""The trained weights stored with the package (``model_tools.ModelStore``), for both
kinds of stored model: the referent classifier (chapter 13, ``training``) and the
recall decoder (chapter 14, ``decoder``). What each stored model computes is tested
beside its module (tests/test_training.py, tests/test_decoder.py)."""

import fnmatch
from pathlib import Path

import numpy as np
import pytest
import tomllib

pytest.importorskip("torch")

from selfattention import decoder, training  # noqa: E402
from selfattention.model_tools import ModelStore  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

#: (module, its loader) for every kind of stored model
KINDS = [
    pytest.param(training, training.load_referent_model, id="referent"),
    pytest.param(decoder, decoder.load_recall_model, id="recall"),
]


@pytest.mark.parametrize(("module", "load"), KINDS)
def test_loading_what_is_not_stored_says_what_is_and_how_to_train_it(module, load):
    trainer = module.STORE.trainer
    with pytest.raises(ValueError, match=r"no stored model for seed=5.*stored: seed=0"):
        load(seed=5)
    with pytest.raises(ValueError, match=rf"{trainer}\(seed=0, layers=3\)"):
        load(seed=0, layers=3)
    assert callable(getattr(module, trainer))  # the message names a real function


@pytest.mark.parametrize(("module", "load"), KINDS)
def test_a_stored_model_from_other_settings_is_refused(module, load, monkeypatch):
    monkeypatch.setattr(module, "WEIGHT_DECAY", module.WEIGHT_DECAY * 2 + 0.5)
    with pytest.raises(RuntimeError, match=rf"python -m {module.__name__}$"):
        load(seed=0)


@pytest.mark.parametrize(("module", "load"), KINDS)
def test_the_stored_models_are_package_data(module, load):
    """pyproject.toml ships every stored model's file in the package."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["selfattention"]
    assert module.STORE.stored
    for seed, layers in module.STORE.stored:
        path = Path(str(module.STORE.path(seed, layers)))
        assert path.is_file(), path
        relative = path.relative_to(ROOT / "src" / "selfattention").as_posix()
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_what_is_written_reads_back_and_a_changed_recipe_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(3, 2)

    class Here(ModelStore):  # stored in tmp_path instead of the package
        def path(self, seed, layers):
            return tmp_path / f"{self.kind}-seed{seed}-layers{layers}.npz"

    here = Here("toy", "a.module", "train_toy", ((0, 1),))
    ModelStore.write(here.path(0, 1), model, "recipe A", losses=np.arange(4.0))
    arrays = here.read(0, 1, "recipe A")
    np.testing.assert_array_equal(arrays["losses"], np.arange(4.0))
    assert str(arrays["trained with"]) == f"torch {torch.__version__}"
    other = torch.nn.Linear(3, 2)
    assert not torch.equal(other.weight, model.weight)
    ModelStore.load_parameters(other, arrays)
    for a, b in zip(other.parameters(), model.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(RuntimeError, match="python -m a.module"):
        here.read(0, 1, "recipe B")
    with pytest.raises(ValueError, match=r"train_toy\(seed=1, layers=1\)"):
        here.read(1, 1, "recipe A")

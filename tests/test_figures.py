"""Figures checked as pictures, not only as text.

nbval compares the text of every output and skips ``image/png``: a wrong colour scale,
a swapped axis or an empty plot would pass every other test. Here every figure a
chapter draws through the package, and a few frames of every explorer, are drawn again
and compared with a baseline picture under ``tests/baseline_images/`` (matplotlib's
``compare_images``: the root mean square of the pixel differences, 0 to 255, must stay
within ``TOLERANCE``). The last tests prove that the comparison bites: a different
colormap, a transposed heatmap, a linear instead of a log axis, a changed label, a
hidden series... each makes it fail.

The pictures are the ones a reader sees: a chapter figure as ``%matplotlib inline``
stores it (``bbox_inches="tight"``, then the 256-colour palette of
``scripts/execute_notebooks.py``), an explorer frame as ``Explorer.precomputed`` draws
it for the HTML book. Data that is slow or optional to compute (timings, training, the
pretrained model's attention) is replaced by a fixed stand-in of the same shape; the
pretrained explorer and the learned position vectors need the model and are skipped
with the reason without it. Every figure drawn from a chapter's own data is also the
picture its notebook stores (a stale stored picture fails, naming the chapter to
re-execute).

What could make the same code draw different pixels is pinned: matplotlib's default
style, its own DejaVu fonts (from its mpl-data folder, never the system's: a test
fails if any text would use another font file) and its bundled FreeType. The versions
the baselines were drawn with are in ``tests/baseline_images/versions.json``; a failure
says when they differ from the running ones.

After an intended change to a figure (or a new matplotlib), look at the pictures under
``_build/figure-failures/`` and regenerate the baselines on purpose::

    python -m pytest tests/test_figures.py --regenerate-baselines
"""

from __future__ import annotations

import base64
import functools
import io
import json
import math
import platform
import shutil
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import matplotlib.style
import numpy as np
import pytest
from matplotlib import font_manager, ft2font
from matplotlib.axes import Axes
from matplotlib.testing.compare import compare_images
from matplotlib.testing.exceptions import ImageComparisonFailure
from matplotlib.text import Text
from PIL import Image

from selfattention import (
    attention,
    examples,
    normalize,
    plotting,
    score,
    sinusoidal_positions,
    widgets,
    writing_widgets,
)

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "tests" / "baseline_images"
VERSIONS = BASELINES / "versions.json"
FAILURES = ROOT / "_build" / "figure-failures"
REGENERATE = "python -m pytest tests/test_figures.py --regenerate-baselines"

#: Largest root mean square pixel difference (0-255) still counted as the same picture
#: (pytest-mpl's default). Measured: two runs, here or in a fresh virtual environment
#: with the same versions, draw identical pixels (RMS 0); storing a picture with 256
#: colours instead of all of them changes it by at most 1.4, so even another
#: quantizer (a new Pillow) would stay near the limit; the deliberate changes of the
#: bite tests below reach 9 to 45, one changed tick label 6. Another minor version of
#: matplotlib redraws all text (3.10 -> 3.11: FreeType 2.6.1 -> 2.14.3): RMS 22 to 52.
TOLERANCE = 2.0

#: What the pictures are drawn with: matplotlib's default style and its own fonts
#: (whatever a matplotlibrc on this machine says) ...
PINNED_RC = {
    "font.family": ["sans-serif"],
    "font.sans-serif": ["DejaVu Sans"],
    "font.monospace": ["DejaVu Sans Mono"],
    "mathtext.fontset": "dejavusans",
}
#: ... and what the package itself sets when it is imported (nothing so far), as in
#: the book.
PACKAGE_RC = {
    key: value
    for key, value in matplotlib.rcParams.items()
    if key != "backend" and value != matplotlib.rcParamsOrig[key]
}


def _versions() -> dict:
    return {
        "matplotlib": matplotlib.__version__,
        "freetype": ft2font.__freetype_version__,
        "freetype_build": ft2font.__freetype_build_type__,
        "numpy": np.__version__,
        "pillow": Image.__version__,
        "python": platform.python_version(),
        "platform": f"{sys.platform}-{platform.machine()}",
    }


# --- drawing the pictures a reader sees ---------------------------------------------


def book_png(fig) -> bytes:
    """The PNG a chapter stores for ``fig``: what ``%matplotlib inline`` writes, then
    the 256-colour palette of ``scripts/execute_notebooks.py``."""
    drawn = io.BytesIO()
    fig.savefig(drawn, format="png", dpi=fig.dpi, bbox_inches="tight")
    image = Image.open(drawn).convert("RGB").quantize(256)
    stored = io.BytesIO()
    image.save(stored, format="png", optimize=True)
    return stored.getvalue()


def check_fonts(fig, name: str) -> None:
    """Every text of ``fig`` is drawn with a font file from a Python package
    (matplotlib's mpl-data, or one the package brings): a system font would make the
    pixels depend on the machine."""
    packages = {
        Path(matplotlib.get_data_path()).resolve(),
        Path(plotting.__file__).resolve().parent,
        *(Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")),
    }
    for text in fig.findobj(Text):
        if not (text.get_visible() and text.get_text()):
            continue
        path = Path(font_manager.findfont(text.get_fontproperties())).resolve()
        assert any(path.is_relative_to(p) for p in packages), (
            f"{name}: the text {text.get_text()!r} would be drawn with {path}, a font "
            "of this system, not one of matplotlib's own (mpl-data): the picture would "
            f"depend on the machine. Pinned: {PINNED_RC}. If matplotlib's own "
            "DejaVu fonts are installed, its font list is stale: delete "
            f"{matplotlib.get_cachedir()}/fontlist-*.json (.ci/run uses a fresh one)"
        )


# --- the chapters' figures -----------------------------------------------------------
# Each builder recreates a chapter's figure with the same kind of inputs (the chapter's
# own code where its data is deterministic and quick) and returns the Figure.

CHAPTER_FIGURES: dict[str, Callable] = {}
#: name -> which picture of its chapter's notebook it is (0: the first); only for the
#: figures drawn from the chapter's own data (not for stand-ins)
STORED: dict[str, int] = {}
NEEDS_MODEL: set[str] = set()


def chapter_figure(name: str, stored: int | None = None, needs_model: bool = False):
    def register(build):
        CHAPTER_FIGURES[name] = build
        if stored is not None:
            STORED[name] = stored
        if needs_model:
            NEEDS_MODEL.add(name)
        return build

    return register


def stand_in_attention(shape, seed: int) -> np.ndarray:
    """Fixed attention weights of ``shape`` (..., n, n): softmax of random scores,
    for figures whose real weights come from the pretrained model."""
    rng = np.random.default_rng(seed)
    return normalize(rng.normal(0.0, 2.0, shape))


@chapter_figure("01-intuition-compare-rows", stored=0)
def _():
    tired = examples.contextualize(examples.SENTENCE)
    wide = examples.contextualize(examples.SENTENCE_WIDE)
    i = tired.tokens.index("it")
    return plotting.compare_rows(
        tired.tokens[:-1] + ["tired / wide"],
        {
            "…because it was too tired.": tired.weights[-1][i],
            "…because it was too wide.": wide.weights[-1][i],
        },
        title='The row of "it" in layer 2',
    )


@chapter_figure("02-self-heatmaps", stored=0)
def _():
    sentence = examples.tokenize(examples.SENTENCE)
    x = examples.embed(sentence)  # (n, d_model)
    w_q = w_k = 2 * np.eye(x.shape[1])
    _, w_self = attention(x @ w_q, x @ w_k, x)
    other = examples.tokenize("the dog was tired")
    y = examples.embed(other)
    _, w_cross = attention(y @ w_q, x @ w_k, x)
    n, m = len(sentence), len(other)
    return plotting.heatmaps(
        [
            (w_self, sentence, sentence, f"self-attention: {n} × {n}"),
            (w_cross, other, sentence, f"cross-attention: {m} × {n}"),
        ],
        height=6.4,
        vmax=None,
        stacked=True,
    )


@chapter_figure("03-score-shape-diagram", stored=0)
def _():
    ex = examples.worked_example()
    return plotting.shape_diagram(len(ex.tokens), ex.values.shape[1], len(ex.roles))


@chapter_figure("03-score-worked-example", stored=1)
def _():
    return plotting.worked_example(examples.worked_example(), step="score")


@functools.cache
def _score_chapter_curves():
    """The chapter's two measurements, with its generator (seeded 0, first used
    here)."""
    rng = np.random.default_rng(0)
    d_ks = 2 ** np.arange(11)
    variance, variance_scaled = [], []
    for d_k in d_ks:
        q = rng.standard_normal((4000, 1, d_k))
        k = rng.standard_normal((4000, 1, d_k))
        variance.append(score(q, k, scale=1.0).var())
        variance_scaled.append(score(q, k).var())
    largest, largest_scaled = [], []
    for d_k in d_ks:
        q = rng.standard_normal((500, 1, d_k))
        k = rng.standard_normal((500, 8, d_k))
        largest.append(normalize(score(q, k, scale=1.0)).max(axis=-1).mean())
        largest_scaled.append(normalize(score(q, k)).max(axis=-1).mean())
    return d_ks, (variance, variance_scaled), (largest, largest_scaled)


@chapter_figure("03-score-curves-variance", stored=2)
def _():
    d_ks, (variance, variance_scaled), _ = _score_chapter_curves()
    return plotting.curves(
        d_ks,
        {"Var(q·k)": variance, "Var(q·k / √d_k)": variance_scaled},
        xlabel="d_k",
        ylabel="variance of the score",
        title="Scores grow with d_k unless they are scaled",
        logy=True,
        reference_slope=1,
    )


@chapter_figure("03-score-curves-saturation", stored=3)
def _():
    d_ks, _, (largest, largest_scaled) = _score_chapter_curves()
    return plotting.curves(
        d_ks,
        {"softmax(q·k)": largest, "softmax(q·k / √d_k)": largest_scaled},
        xlabel="d_k",
        ylabel="largest of 8 weights (mean)",
        title="Without the scale, softmax saturates",
    )


@chapter_figure("04-normalize-worked-example", stored=0)
def _():
    return plotting.worked_example(examples.worked_example(), step="normalize")


@chapter_figure("04-normalize-heatmaps-causal", stored=1)
def _():
    words = examples.tokenize("the animal was too tired")
    x = 2 * examples.embed(words)
    _, w_full = attention(x, x, x)
    _, w_causal = attention(x, x, x, causal=True)
    return plotting.heatmaps(
        [(w_full, words, words, "no mask"), (w_causal, words, words, "causal mask")],
        height=3.6,
        annotate=True,
    )


@chapter_figure("05-blend-worked-example", stored=0)
def _():
    return plotting.worked_example(examples.worked_example(), step="blend")


@chapter_figure("05-blend-picture", stored=1)
def _():
    keys, values = widgets.BlendExplorer.KEYS, widgets.BlendExplorer.VALUES
    output, weights = attention(np.array([[0.3, 1.0]]), keys, values)
    return plotting.blend_picture(values, output[0], weights[0], ["v1", "v2", "v3"])


@chapter_figure("06-matrix-attention-figure", stored=0)
def _():
    result = examples.contextualize(examples.SENTENCE)
    tokens, weights = result.tokens, result.weights[1]
    fig, _, _ = plotting.attention_figure(
        tokens, weights, tokens.index("it"), title="layer 2: find the referent"
    )
    return fig


@chapter_figure("06-matrix-projections-layer-1", stored=1)
def _():
    return plotting.projections(examples.hand_built_layers()[0], examples.FEATURES)


@chapter_figure("06-matrix-projections-layer-2", stored=2)
def _():
    return plotting.projections(examples.hand_built_layers()[1], examples.FEATURES)


@chapter_figure("08-powerful-curves-distance", stored=0)
def _():
    distances = [1, 2, 4, 8, 16, 32]
    weight_on_animal = []
    for distance in distances:
        tokens = ["and"] * 36 + ["it", "was", "too", "tired"]
        tokens[36 - distance] = "animal"
        weight_on_animal.append(examples.contextualize(tokens).row("it")["animal"])
    influence = examples.recurrent_influence(distances)
    return plotting.curves(
        distances,
        {
            "attention: weight of it on animal": np.array(weight_on_animal)
            / weight_on_animal[0],
            "recurrence: influence of the first token": influence / influence[0],
        },
        xlabel="distance between the two tokens",
        ylabel="strength relative to distance 1",
        title="Attention does not fade with distance",
        logx=False,
        logy=True,
    )


# Chapter 9 measures time and memory: a fixed stand-in that grows the same way.
_LENGTHS = np.array([256, 512, 1024, 2048, 4096])
_WIGGLE = np.array([1.3, 0.9, 1.1, 1.0, 1.05])


@chapter_figure("09-cost-curves-time")
def _():
    n2 = _LENGTHS.astype(float) ** 2
    seconds = {
        "attention": 4e-9 * n2 * _WIGGLE,
        "chunked_attention": 5e-9 * n2 * _WIGGLE[::-1],
        "scaled_dot_product_attention": 1.5e-9 * n2 * _WIGGLE,
    }
    return plotting.curves(
        _LENGTHS,
        {name + " (s)": t for name, t in seconds.items()},
        xlabel="sequence length n",
        ylabel="median time (s)",
        title="Time as n grows",
        logy=True,
        reference_slope=2,
    )


@chapter_figure("09-cost-curves-memory")
def _():
    n = _LENGTHS.astype(float)
    memory_mib = {
        "attention": 2 * n**2 * 4 / 2**20 + 0.2,
        "chunked_attention": 2 * n * 128 * 4 / 2**20 + 0.2,
    }
    return plotting.curves(
        _LENGTHS,
        {f"{name}: peak MiB": mib for name, mib in memory_mib.items()},
        xlabel="sequence length n",
        ylabel="peak memory (MiB)",
        title="Only the full matrix grows like n²",
        logy=True,
        reference_slope=2,
    )


@chapter_figure("10-heads-diagram", stored=0)
def _():
    tokens = examples.tokenize(examples.SENTENCE)
    return plotting.heads_diagram(
        len(tokens), examples.embed(tokens).shape[1], num_heads=2
    )


@chapter_figure("10-heads-rows-of-it", stored=1, needs_model=True)
def _():
    from selfattention import pretrained

    result = pretrained.recompute(*pretrained_model(), examples.SENTENCE)
    return plotting.head_rows(
        result.our_weights[3, :, result.tokens.index("it")],
        result.tokens,
        query="it",
        title='Layer 4 of all-MiniLM-L6-v2: the row of "it" in each head',
    )


@chapter_figure("11-order-position-heatmap", stored=0)
def _():
    return plotting.position_heatmap(
        sinusoidal_positions(64, 64), title="sinusoidal_positions(64, 64)"
    )


@chapter_figure("11-order-curves-distance", stored=1)
def _():
    pe = sinusoidal_positions(100, 64)
    distances = np.arange(0, 40)
    curves = {f"p = {p}": [pe[p] @ pe[p + d] for d in distances] for p in (0, 20, 50)}
    return plotting.curves(
        distances,
        curves,
        xlabel="distance between the positions",
        ylabel="dot product of their position vectors",
        title="It depends only on the distance",
        logx=False,
    )


@chapter_figure("11-order-similarity", stored=2, needs_model=True)
def _():
    _, model = pretrained_model()
    learned = model.embeddings.position_embeddings.weight.detach().numpy()
    return plotting.similarity_heatmaps(
        [
            (learned[:64], "learned (all-MiniLM-L6-v2)"),
            (sinusoidal_positions(64, 384), "sinusoidal"),
        ]
    )


@chapter_figure("12-model-small-multiples")
def _():
    # stand-in for the 72 heads of all-MiniLM-L6-v2 on the book's sentence
    return plotting.small_multiples(
        stand_in_attention((6, 12, 16, 16), seed=12),
        title="all-MiniLM-L6-v2: the 72 attention matrices of the sentence",
    )


@chapter_figure("13-learning-curves-loss")
def _():
    steps = np.arange(1, 401)
    # stand-in for the training loss: falling, with a little noise
    losses = 1.4 * np.exp(-steps / 70) + 0.04 + 0.03 * np.abs(np.sin(steps * 0.7))
    return plotting.curves(
        steps,
        {"training loss": losses},
        xlabel="training step",
        ylabel="cross-entropy loss",
        title="The loss falls as the model learns",
        logx=False,
        logy=True,
    )


@chapter_figure("13-learning-score-tables")
def _():
    words = ["it", "tired", "wide", "animal", "street", "the", "because"]
    layer = examples.hand_built_layers()[0]
    x = examples.embed(words)
    hand = (x @ layer.w_q) @ (x @ layer.w_k).T / np.sqrt(layer.w_q.shape[1])
    # stand-in for the learned layer's scores
    learned = np.round(np.random.default_rng(13).normal(0.0, 1.5, (7, 7)), 2)
    return plotting.score_tables(
        [
            (hand, words, words, "hand-built layer 1"),
            (learned, words, words, "learned layer 1"),
        ]
    )


@functools.cache
def _recall_model():
    """Chapter 14's model: the stored two-layer model of seed 0 (loaded)."""
    from selfattention import decoder

    return decoder.load_recall_model(seed=0)


@chapter_figure("14-writing-every-position", stored=0)
def _():
    import torch

    from selfattention import decoder, writing_figures

    result = _recall_model()
    vocabulary = result.data.vocabulary
    tokens = decoder.tokenize("the dog was blue . the cat was red . the dog was blue")
    ids = torch.tensor([[vocabulary.index(t) for t in tokens]])  # (1, n)
    with torch.no_grad():
        scores, weights = result.model(ids)  # (1, n, words), per layer
    predicted = [vocabulary[i] for i in scores[0].argmax(dim=-1).tolist()]
    return writing_figures.every_position(
        tokens,
        weights[0][0, 0].numpy(),
        predicted,
        title="layer 1, head 1: one forward pass",
    )


@chapter_figure("14-writing-recall-loss", stored=1)
def _():
    from selfattention import writing_figures

    return writing_figures.loss_curve(
        _recall_model().losses,
        title="Seed 0: a plateau, then the model learns to copy",
    )


def _recall_head_figure(kind, title):
    from selfattention import decoder, writing_widgets

    result = _recall_model()
    layer, head = result.head_scores(result.data.held_out[:100]).best(kind)
    words = decoder.tokenize(writing_widgets.PROMPTS[0])
    weights = result.attention(writing_widgets.PROMPTS[0])[layer][head]
    fig, _, _ = plotting.attention_figure(words, weights, len(words) - 1)
    fig.axes[0].set_title(title.format(head=head + 1))
    return fig


@chapter_figure("14-writing-noun-head", stored=2)
def _():
    return _recall_head_figure(
        "was_to_noun", "layer 1, head {head}: each token looks back"
    )


@chapter_figure("14-writing-induction-head", stored=3)
def _():
    return _recall_head_figure("induction", "layer 2, head {head}: the induction head")


@chapter_figure("14-writing-recall-accuracy", stored=4)
def _():
    from selfattention import decoder, writing_figures

    return writing_figures.accuracy_by_layers(
        {
            (seed, layers): decoder.load_recall_model(seed=seed, layers=layers).accuracy
            for seed in (0, 1, 2)
            for layers in (2, 1)
        }
    )


@chapter_figure("14-writing-cache-cost")
def _():
    from selfattention import writing_figures

    sizes = [64, 256, 1024]
    # stand-in timings of the shape measured: without the cache steep, with it flat
    without = [2.0, 7.5, 40.0]
    with_cache = [1.1, 1.2, 1.6]
    memory = [2 * 4 * 4 * 64 * n * 4 for n in sizes]
    return writing_figures.cache_cost(sizes, without, with_cache, memory, memory)


# --- the explorers' frames -----------------------------------------------------------


def stand_in_training():
    """Snapshots shaped like ``training.train_referent_model``'s (no torch, no
    training): the rows of "it" move from uniform to the adjective (layer 1) and
    the referent (layer 2)."""
    sentences = (examples.SENTENCE, examples.SENTENCE_WIDE)
    snapshots = []
    for step in range(0, 401, 50):
        rows = {}
        for sentence in sentences:
            tokens = examples.tokenize(sentence)
            targets = (len(tokens) - 1, 1 if tokens[-1] == "tired" else 5)
            logits = np.zeros((2, len(tokens)))  # (layers, n)
            for layer, target in enumerate(targets):
                logits[layer, target] = 4.0 * step / 400
                logits[layer] += 0.2 * np.sin(np.arange(len(tokens)) * (layer + 2))
            rows[sentence] = normalize(logits)
        accuracy = 0.3 + 0.67 * step / 400
        snapshots.append(SimpleNamespace(step=step, accuracy=accuracy, rows=rows))
    return SimpleNamespace(snapshots=snapshots)


def pretrained_explorer():
    pretrained_model()  # skips without the model
    return widgets.PretrainedExplorer()


# Explorer, how the chapter builds it, and the frames compared: the first, middle and
# last combination of its SWEEP (for AttentionMatrixExplorer also "it" in both layers).
EXPLORERS = {
    "DotProductExplorer": (
        lambda: widgets.DotProductExplorer(angle=30),
        [{"angle": 0}, {"angle": 180}, {"angle": 345}],
    ),
    "ScalingExplorer": (
        lambda: widgets.ScalingExplorer(d_k=64),
        [{"d_k": 1}, {"d_k": 32}, {"d_k": 1024}],
    ),
    "TemperatureExplorer": (
        lambda: widgets.TemperatureExplorer(scores=(2.0, 1.0, 0.1, -1.0), scale=1.0),
        [{"scale": 0.0}, {"scale": 1.0}, {"scale": 16.0}],
    ),
    "BlendExplorer": (
        lambda: widgets.BlendExplorer(angle=90),
        [
            {"angle": 0, "v3_x": -2.0},
            {"angle": 180, "v3_x": -2.0},
            {"angle": 315, "v3_x": 2.0},
        ],
    ),
    "AttentionMatrixExplorer": (
        widgets.AttentionMatrixExplorer,
        [
            {"query": 0, "layer": 0},
            {"query": 5, "layer": 1},
            {"query": 10, "layer": 1},
            {"query": 7, "layer": 0},
            {"query": 7, "layer": 1},
        ],
    ),
    "OnlineSoftmaxExplorer": (
        lambda: widgets.OnlineSoftmaxExplorer(block_size=4),
        [{"block_size": 1}, {"block_size": 4}, {"block_size": 12}],
    ),
    "PretrainedExplorer": (
        pretrained_explorer,
        [{"layer": 0, "head": 0}, {"layer": 3, "head": 0}, {"layer": 5, "head": 11}],
    ),
    "MultiHeadExplorer": (
        widgets.MultiHeadExplorer,
        [{"view": 0}, {"view": 1}, {"view": 2}],
    ),
    "RotaryExplorer": (
        widgets.RotaryExplorer,
        [{"position": 0}, {"position": 6}, {"position": 11}],
    ),
    "TrainingExplorer": (
        lambda: widgets.TrainingExplorer(stand_in_training()),
        [{"step": 0}, {"step": 200}, {"step": 400}],
    ),
    "RecallExplorer": (
        lambda: writing_widgets.RecallExplorer(_recall_model(), layer=1, head=0),
        [
            {"prompt": 0, "layer": 0, "head": 0},
            {"prompt": 1, "layer": 1, "head": 2},
            {"prompt": 2, "layer": 1, "head": 3},
        ],
    ),
}


def frame_name(explorer: str, settings: dict) -> str:
    return "-".join([explorer, *(f"{k}={v}" for k, v in settings.items())])


EXPLORER_FRAMES = {
    frame_name(explorer, settings): (explorer, settings)
    for explorer, (_, frames) in EXPLORERS.items()
    for settings in frames
}


def draw_frame(explorer: str, settings: dict) -> bytes:
    """The frame the HTML book stores for ``settings`` (drawn by ``precomputed``)."""
    build, _ = EXPLORERS[explorer]
    e = build()
    for control, value in settings.items():
        assert value in list(e.SWEEP[control]), (
            f"{explorer}: {control}={value} is not a frame of its SWEEP"
        )
    e.precomputed(**{control: [value] for control, value in settings.items()})
    check_fonts(e.fig, frame_name(explorer, settings))
    (png,) = e.frames.values()
    return png


# --- drawing any case, comparing it --------------------------------------------------


def draw(name: str) -> bytes:
    if name in CHAPTER_FIGURES:
        fig = CHAPTER_FIGURES[name]()
        check_fonts(fig, name)
        return book_png(fig)
    return draw_frame(*EXPLORER_FRAMES[name])


@dataclass
class Comparison:
    name: str
    rms: float  # inf when the sizes differ
    drawn: Path
    diff: Path | None
    note: str = ""

    @property
    def same(self) -> bool:
        return self.rms <= TOLERANCE


def compare(name: str, png: bytes, folder: Path) -> Comparison:
    """Compare ``png`` with the baseline of ``name``; the drawn picture and the
    difference image are written to ``folder``."""
    baseline = BASELINES / f"{name}.png"
    folder.mkdir(parents=True, exist_ok=True)
    drawn = folder / f"{name}.png"
    drawn.write_bytes(png)
    try:
        result = compare_images(str(baseline), str(drawn), tol=0, in_decorator=True)
    except ImageComparisonFailure:  # the sizes differ
        sizes = []
        for path in (baseline, drawn):
            with Image.open(path) as image:
                sizes.append(image.size)
        note = "The sizes differ: baseline {} x {} pixels, this one {} x {}.".format(
            *sizes[0], *sizes[1]
        )
        return Comparison(name, math.inf, drawn, None, note)
    if result is None:  # identical
        return Comparison(name, 0.0, drawn, None)
    return Comparison(name, float(result["rms"]), drawn, Path(result["diff"]))


def kept(c: Comparison, folder: Path = FAILURES) -> Comparison:
    """``c`` with its pictures copied to ``folder`` (under _build/), next to a copy of
    the baseline, to be looked at after the run."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BASELINES / f"{c.name}.png", folder / f"{c.name}-expected.png")
    drawn = Path(shutil.copy(c.drawn, folder))
    diff = None if c.diff is None else Path(shutil.copy(c.diff, folder))
    return Comparison(c.name, c.rms, drawn, diff, c.note)


def forget_failures(name: str, folder: Path = FAILURES) -> None:
    """Remove what an earlier failure of ``name`` left in ``folder``."""
    for suffix in ("", "-failed-diff", "-expected"):
        (folder / f"{name}{suffix}.png").unlink(missing_ok=True)
    for empty in (folder, FAILURES):
        if empty.is_dir() and not any(empty.iterdir()):
            empty.rmdir()


def shown(path: Path) -> str:
    """``path`` as a failure message writes it: from the repository root."""
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def failure_message(c: Comparison, hint: str = "", drawn: str = "drawn now") -> str:
    lines = [
        f"figure {c.name!r} differs from its baseline: RMS {c.rms:.3f} > tolerance "
        f"{TOLERANCE} (pixel values 0-255). {c.note}".rstrip(),
        f"  baseline:   {shown(BASELINES / f'{c.name}.png')}",
        f"  {drawn + ':':<11} {shown(c.drawn)}",
    ]
    if c.diff is not None:
        lines.append(f"  difference: {shown(c.diff)}")
    recorded = json.loads(VERSIONS.read_text()) if VERSIONS.exists() else {}
    now = _versions()
    changed = [
        f"{key} {recorded[key]} -> {now[key]}"
        for key in ("matplotlib", "freetype", "pillow", "numpy")
        if recorded.get(key) != now[key]
    ]
    if changed:
        lines.append(
            "  the baselines were drawn with other versions: "
            + ", ".join(changed)
            + " (another minor version of matplotlib redraws all text: pin it, or "
            "regenerate)"
        )
    lines.append(
        hint or f"If the change is intended, regenerate the baselines: {REGENERATE}"
    )
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def pinned_rendering():
    """matplotlib's default style and its own fonts; what the package sets."""
    with (
        matplotlib.style.context("default"),
        matplotlib.rc_context(PINNED_RC),
        matplotlib.rc_context(PACKAGE_RC),
    ):
        yield


@pytest.fixture(scope="session")
def regenerate(request) -> bool:
    return bool(request.config.getoption("--regenerate-baselines"))


_MODEL = {}


def pretrained_model():
    """all-MiniLM-L6-v2 from its installed package; skips without it (never
    downloads)."""
    if "model" not in _MODEL:
        try:
            from selfattention import pretrained

            if pretrained.local_model_path() is None:
                raise pretrained.ModelNotAvailable(
                    f"the model package is not installed ({pretrained.INSTALL_HINT})"
                )
            _MODEL["model"] = pretrained.load()
        except (ImportError, RuntimeError) as err:
            _MODEL["model"] = err
    if isinstance(_MODEL["model"], Exception):
        pytest.skip(f"needs the pretrained model: {_MODEL['model']}")
    return _MODEL["model"]


def check_against_baseline(name: str, regenerate: bool, scratch: Path) -> None:
    png = draw(name)
    if regenerate:
        BASELINES.mkdir(parents=True, exist_ok=True)
        (BASELINES / f"{name}.png").write_bytes(png)
        VERSIONS.write_text(json.dumps(_versions(), indent=2) + "\n")
        pytest.skip(f"baseline regenerated: tests/baseline_images/{name}.png")
    if not (BASELINES / f"{name}.png").exists():
        FAILURES.mkdir(parents=True, exist_ok=True)
        (FAILURES / f"{name}.png").write_bytes(png)
        pytest.fail(
            f"figure {name!r} has no baseline; drawn now: "
            f"{(FAILURES / f'{name}.png').relative_to(ROOT)}. Look at it, then: "
            f"{REGENERATE}"
        )
    c = compare(name, png, scratch)
    if not c.same:
        pytest.fail(failure_message(kept(c)))
    forget_failures(name)


# --- the tests -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CHAPTER_FIGURES))
def test_chapter_figure_matches_its_baseline(name, regenerate, tmp_path):
    check_against_baseline(name, regenerate, tmp_path)


@pytest.mark.parametrize("name", list(EXPLORER_FRAMES))
def test_explorer_frame_matches_its_baseline(name, regenerate, tmp_path):
    if not hasattr(widgets.widgets, "Stack"):
        pytest.skip("pre-drawn explorer frames need ipywidgets 8 (Stack)")
    check_against_baseline(name, regenerate, tmp_path)


@pytest.mark.parametrize("name", list(STORED))
def test_the_chapter_stores_this_picture(name, tmp_path):
    """The baselines are the book's pictures: the chapter's notebook stores the same
    picture (nbval compares only text, so a stale picture would pass there)."""
    notebook = next((ROOT / "chapters").glob(f"{name[:2]}_*.ipynb"))
    pictures = [
        output["data"]["image/png"]
        for cell in json.loads(notebook.read_text())["cells"]
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    index = STORED[name]
    assert index < len(pictures), (
        f"chapters/{notebook.name} stores {len(pictures)} pictures; {name} is "
        f"registered as number {index} (counted from 0): update its `stored`"
    )
    c = compare(name, base64.b64decode(pictures[index]), tmp_path)
    if c.same:
        forget_failures(name, FAILURES / "stored")
        return
    hint = (
        f"Picture {index} (from 0) of chapters/{notebook.name} is not the baseline, "
        "which is what the package draws now (if "
        f"test_chapter_figure_matches_its_baseline[{name}] fails too, see there "
        "first): re-execute the chapter, python scripts/execute_notebooks.py "
        f"chapters/{notebook.name}"
    )
    pytest.fail(failure_message(kept(c, FAILURES / "stored"), hint, drawn="stored"))


def test_every_explorer_has_frames_checked():
    assert sorted(EXPLORERS) == sorted(widgets.__all__ + writing_widgets.__all__)


def test_every_baseline_belongs_to_a_figure(regenerate):
    names = {*CHAPTER_FIGURES, *EXPLORER_FRAMES}
    orphans = sorted(p for p in BASELINES.glob("*.png") if p.stem not in names)
    if regenerate:
        for path in orphans:
            path.unlink()
        return
    assert not orphans, (
        f"baselines of no figure (renamed or removed?): {[p.name for p in orphans]}; "
        f"{REGENERATE} removes them"
    )


def test_the_figures_are_drawn_with_matplotlibs_own_fonts():
    data = Path(matplotlib.get_data_path()).resolve()
    for family in ("sans-serif", "monospace"):
        path = Path(font_manager.findfont(font_manager.FontProperties(family=[family])))
        assert path.resolve().is_relative_to(data), (
            f"{family} resolves to {path}, not to matplotlib's own DejaVu fonts "
            f"in {data}"
        )
    assert ft2font.__freetype_build_type__ == "local", (
        "matplotlib was built against the system's FreeType "
        f"({ft2font.__freetype_version__}), not its own: text may render differently"
    )


# --- the comparison bites ------------------------------------------------------------
# Each deliberate change below must make its figure differ from the baseline by more
# than the tolerance.


# Each change is a function of (monkeypatch, done): it appends to ``done`` when it
# changed something, so that a bite whose target has gone (a label reworded) says so.


def _hide_series(label):
    def patch(monkeypatch, done):
        plot = Axes.plot

        def plot_without(self, *args, **kwargs):
            lines = plot(self, *args, **kwargs)
            for line in lines:
                if line.get_label() == label:
                    line.set_visible(False)
                    done.append(label)
            return lines

        monkeypatch.setattr(Axes, "plot", plot_without)

    return patch


def _replace_in_labels(old, new):
    def patch(monkeypatch, done):
        for setter in ("set_xlabel", "set_ylabel", "set_title"):
            original = getattr(Axes, setter)

            def changed(self, text, *args, _original=original, **kwargs):
                if old in str(text):
                    done.append(old)
                return _original(self, str(text).replace(old, new), *args, **kwargs)

            monkeypatch.setattr(Axes, setter, changed)

    return patch


def _set(target, attribute, value):
    def patch(monkeypatch, done):
        monkeypatch.setattr(target, attribute, value)  # raises if it has gone
        done.append(attribute)

    return patch


def _transposed_heatmap(monkeypatch, done):
    update = plotting.Heatmap.update

    def transposed(self, weights, *args, **kwargs):
        done.append("transposed")
        update(self, np.asarray(weights).T, *args, **kwargs)

    monkeypatch.setattr(plotting.Heatmap, "update", transposed)


def _linear_y_axis(monkeypatch, done):
    set_yscale = Axes.set_yscale

    def linear(self, value, **kwargs):
        if value != "linear":
            done.append(value)
        return set_yscale(self, "linear", **kwargs)

    monkeypatch.setattr(Axes, "set_yscale", linear)


def _swapped_arrow_coordinates(monkeypatch, done):
    update = plotting.Arrows2D.update

    def swapped(self, vectors):
        done.append("swapped")
        update(self, np.asarray(vectors)[:, ::-1])

    monkeypatch.setattr(plotting.Arrows2D, "update", swapped)


def _empty_bars(monkeypatch, done):
    update = plotting.RowBars.update

    def empty(self, values, *args, **kwargs):
        done.append("emptied")
        update(self, np.zeros(len(values)), *args, **kwargs)

    monkeypatch.setattr(plotting.RowBars, "update", empty)


BITES = {
    # a colormap
    "another-colormap": ("02-self-heatmaps", _set(plotting.style, "CMAP", "magma")),
    "another-colormap-in-an-explorer": (
        "AttentionMatrixExplorer-query=7-layer=1",
        _set(plotting.style, "CMAP", "magma"),
    ),
    "another-query-colour": (
        "DotProductExplorer-angle=0",
        _set(plotting.style, "QUERY_COLOR", "#9467bd"),
    ),
    # an axis
    "heatmap-transposed": ("04-normalize-heatmaps-causal", _transposed_heatmap),
    "log-axis-made-linear": ("03-score-curves-variance", _linear_y_axis),
    "x-and-y-swapped": ("BlendExplorer-angle=0-v3_x=-2.0", _swapped_arrow_coordinates),
    # a label
    "one-word-of-an-axis-label": (
        "03-score-curves-saturation",
        _replace_in_labels("largest of 8 weights", "largest of 8 scores"),
    ),
    "key-and-query-labels-swapped": (
        "06-matrix-attention-figure",
        _replace_in_labels("key: the token being", "query: the token being"),
    ),
    # a series, the data
    "a-series-hidden": (
        "08-powerful-curves-distance",
        _hide_series("recurrence: influence of the first token"),
    ),
    "empty-bars": ("TemperatureExplorer-scale=1.0", _empty_bars),
}


@pytest.mark.parametrize("bite", list(BITES))
def test_a_deliberate_change_fails_the_comparison(bite, monkeypatch, tmp_path):
    name, change = BITES[bite]
    if name in EXPLORER_FRAMES and not hasattr(widgets.widgets, "Stack"):
        pytest.skip("pre-drawn explorer frames need ipywidgets 8 (Stack)")
    unchanged = compare(name, draw(name), tmp_path / "unchanged")
    assert unchanged.same, (
        f"the baseline of {name} is out of date, so this check says nothing: "
        + failure_message(kept(unchanged))
    )
    done = []
    with monkeypatch.context() as patched:
        change(patched, done)
        changed = compare(name, draw(name), tmp_path / "changed")
    assert done, f"{bite}: nothing in {name} was changed (has the figure changed?)"
    assert not changed.same, (
        f"{bite}: the changed figure {name} still matches its baseline "
        f"(RMS {changed.rms:.3f} <= {TOLERANCE})"
    )

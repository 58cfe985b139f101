"""Figures of chapter 14, "Attention that writes" (matplotlib, no torch).

Each function takes numbers the chapter computed (weights, predictions, accuracies,
timings) and returns a ``Figure``; the drawing helpers come from
:mod:`selfattention.plotting` (``Heatmap``, ``largest``, the series styles), so the
pictures read like the rest of the book: viridis for weights from 0 to 1, red hatching
for the largest weight, series told apart by marker and hatch as well as colour.
"""

from __future__ import annotations

import numpy as np

from . import plotting
from .plotting import SERIES_HATCHES, SERIES_STYLES, SMALL, WIDTH, Heatmap

__all__ = ["every_position", "loss_curve", "accuracy_by_layers", "cache_cost"]


def every_position(tokens, weights, predicted, *, title="", width=WIDTH, height=5.6):
    """One forward pass of a causal model: ``weights`` (n, n) of one head as a
    heatmap (every weight above the diagonal is 0: a query sees only itself and the
    tokens before it), and, right of each row, the word the model predicts after that
    row's token (``predicted``, n words), marked ✓ where it is the next token of the
    text and × where it is not (the last row has no next token: no mark).
    """
    tokens, weights = list(tokens), np.asarray(weights)
    n = len(tokens)
    if weights.shape != (n, n) or len(predicted) != n:
        raise ValueError(
            f"{n} tokens need (n, n) weights and n predictions, got "
            f"{weights.shape} and {len(predicted)}"
        )
    fig = plotting.new_figure(width, height)
    ax = fig.subplots()
    heatmap = Heatmap(ax, weights, tokens, tokens, title=title, colorbar=False)
    heatmap.update(weights, tokens, tokens)
    right = ax.secondary_yaxis("right")
    marks = []
    for i, word in enumerate(predicted):
        mark = "" if i == n - 1 else (" ✓" if word == tokens[i + 1] else " ×")
        marks.append(f"→ {word}{mark}")
    right.set_yticks(range(n), marks, fontsize=SMALL)
    right.set_ylabel("predicted next word")
    fig.colorbar(
        heatmap.image, ax=ax, label="attention weight", fraction=0.04, pad=0.02
    )
    return fig


def loss_curve(losses, *, title="", width=WIDTH, height=3.4):
    """The training loss of every step (a line, no markers: there are thousands).

    The y axis spans the loss after the first 1 % of the steps: the first steps, where
    the loss falls fastest, run off the top, and the later, smaller changes show.
    """
    losses = np.asarray(losses, dtype=float)
    fig = plotting.new_figure(width, height)
    ax = fig.subplots()
    ax.plot(np.arange(1, len(losses) + 1), losses, lw=1.0, label="training loss")
    later = losses[len(losses) // 100 :]
    pad = 0.05 * (later.max() - later.min())
    ax.set_ylim(later.min() - pad, later.max() + pad)
    ax.set_xlabel("training step")
    ax.set_ylabel("next-word loss")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return fig


def accuracy_by_layers(accuracies: dict, *, width=WIDTH, height=3.4):
    """Held-out accuracy per seed and number of layers: ``accuracies`` maps
    (seed, layers) to an accuracy from 0 to 1. One group of bars per number of
    layers, one bar per seed (hatched differently), its value written above it.
    """
    seeds = sorted({seed for seed, _ in accuracies})
    layer_counts = sorted({layers for _, layers in accuracies})
    fig = plotting.new_figure(width, height)
    ax = fig.subplots()
    k = len(seeds)
    x = np.arange(len(layer_counts))
    for i, seed in enumerate(seeds):
        values = [accuracies[seed, layers] for layers in layer_counts]
        offsets = x + (i - (k - 1) / 2) * 0.8 / k
        ax.bar(
            offsets,
            values,
            width=0.8 / k,
            label=f"seed {seed}",
            hatch=SERIES_HATCHES[i % len(SERIES_HATCHES)] or None,
            edgecolor="white",
            linewidth=0.5,
        )
        for xi, v in zip(offsets, values, strict=True):
            ax.text(xi, v, f"{v:.2f}", ha="center", va="bottom", fontsize=SMALL)
    ax.set_xticks(
        x, [f"{n} layer{'s' if n > 1 else ''}" for n in layer_counts], fontsize=SMALL
    )
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("held-out accuracy")
    ax.set_title("Recalling an adjective never seen with its noun")
    ax.legend(loc="upper left")
    return fig


def cache_cost(
    n, without_ms, with_ms, cache_bytes, formula_bytes, *, width=WIDTH, height=3.6
):
    """Left: milliseconds to score the next word after ``n`` tokens, without and with
    a KV cache (log-log). Right: the cache's memory read from its tensors, next to
    the formula 2 · layers · heads · d_head · n · bytes (MiB, log-log).
    """
    n = np.asarray(n, dtype=float)
    fig = plotting.new_figure(width, height)
    left, right = fig.subplots(1, 2)
    for i, (name, y) in enumerate(
        (("without cache", without_ms), ("with cache", with_ms))
    ):
        left.plot(n, y, ms=4, label=name, **SERIES_STYLES[i])
    left.set_ylabel("ms per new token")
    left.set_title("Time for one new token")
    mib = 2.0**20
    right.plot(
        n, np.asarray(cache_bytes) / mib, ms=6, label="measured", **SERIES_STYLES[0]
    )
    right.plot(
        n,
        np.asarray(formula_bytes) / mib,
        ms=3,
        label="formula",
        color="black",
        **{**SERIES_STYLES[2], "marker": "x"},
    )
    right.set_ylabel("cache size (MiB)")
    right.set_title("Memory of the cache")
    from matplotlib.ticker import NullFormatter

    for ax, marked in ((left, without_ms), (right, np.asarray(cache_bytes) / mib)):
        ax.set_xscale("log")
        ax.set_yscale("log")
        # ticks at the measured values, written plainly (not 6×10⁻¹)
        ax.set_xticks(n, [f"{v:g}" for v in n], rotation=45, fontsize=SMALL)
        ax.set_yticks(marked, [_plain(v) for v in marked], fontsize=SMALL)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("tokens so far, n")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=SMALL)
    return fig


def _plain(value: float) -> str:
    """A tick label without powers of ten: 1648 → "1648", 7.5 → "7.5", 0.5 → "0.5"."""
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"

"""The book's interactive explorers (ipywidgets + matplotlib), built on
:mod:`selfattention.explorer`.

Each explorer recomputes with the package's own attention functions whenever a control
moves, and keeps the numbers behind its picture as attributes (``scores``, ``weights``,
``output``...) so that tests can check them without looking at pixels. In a running
kernel a chapter's explorer cell shows the live explorer; in the HTML book it shows
pictures drawn in advance (see ``explorer.py``).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

import ipywidgets as widgets
import numpy as np
from matplotlib.artist import Artist
from numpy.typing import NDArray

from . import examples, plotting
from .explorer import Explorer, selection, slider
from .fast import online_softmax_trace
from .numpy_backend import (
    attention,
    multi_head_self_attention,
    normalize,
    rotary,
    score,
)
from .plotting import style

if TYPE_CHECKING:
    from .training import TrainingResult

__all__ = [
    "DotProductExplorer",
    "ScalingExplorer",
    "TemperatureExplorer",
    "BlendExplorer",
    "AttentionMatrixExplorer",
    "OnlineSoftmaxExplorer",
    "PretrainedExplorer",
    "MultiHeadExplorer",
    "RotaryExplorer",
    "TrainingExplorer",
]

DK_OPTIONS = [2**i for i in range(11)]  # 1, 2, 4, ..., 1024
SCALE_OPTIONS = [0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]


def _characters_note(sentence: str, tokens: Sequence[str]) -> str:
    """Say which typed characters the picture cannot show:
    left out by the tokenizer, or not in the font.
    """
    notes = []
    left_out = examples.left_out(sentence)
    if left_out:
        notes.append(f"Left out (not letters or digits): {' '.join(left_out)}")
    missing = plotting.missing_glyphs(tokens)
    if missing:
        notes.append(
            "Shown as empty boxes "
            f"(the figure font has no glyph for them): {' '.join(missing)}"
        )
    return ". ".join(notes)


class DotProductExplorer(Explorer):
    """Turn a query in the plane and watch its dot products with three fixed keys
    change (Score chapter).
    """

    PICTURE = "Arrows of a query and three keys, and bars of their dot products"

    KEYS = np.array([[1.6, 0.4], [-0.6, 1.5], [-1.2, -1.1]])  # (m=3, d_k=2)
    LABELS = ["key 1", "key 2", "key 3"]
    SWEEP = {"angle": range(0, 360, 15)}

    def __init__(self, angle: float = 30, length: float = 1.0):
        self.angle = slider(
            widgets.IntSlider, "query angle (°)", min=0, max=355, step=5, value=angle
        )
        self.length = slider(
            widgets.FloatSlider,
            "query length",
            min=0.25,
            max=2.0,
            step=0.25,
            value=length,
        )
        fig = plotting.new_figure(height=3.4)
        ax_vec, ax_bar = fig.subplots(1, 2)
        colors = [style.QUERY_COLOR] + [style.KEY_COLOR] * 3
        self.arrows = plotting.Arrows2D(
            ax_vec, np.zeros((4, 2)), ["query"] + self.LABELS, colors
        )
        ax_vec.set_title("the query and three keys")
        self.bars = plotting.RowBars(
            ax_bar,
            np.zeros(3),
            self.LABELS,
            title="score = query · key",
            ylabel="dot product",
            ylim=(-4.5, 4.5),
        )
        ax_bar.axhline(0, color="0.5", lw=0.8)
        super().__init__([self.angle, self.length], fig, [self.arrows, self.bars])

    def redraw(self) -> None:
        theta = math.radians(self.angle.value)
        # (d_k=2,)
        self.query = self.length.value * np.array([math.cos(theta), math.sin(theta)])
        # (m,): the plain dot products
        self.scores = score(self.query[None, :], self.KEYS, scale=1.0)[0]
        self.arrows.update(np.vstack([self.query, self.KEYS]))
        self.bars.update(self.scores, highlight=plotting.largest(self.scores))


class ScalingExplorer(Explorer):
    """Change d_k and compare softmax weights with and without dividing the scores by
    √d_k (Score chapter).
    """

    PICTURE = (
        "Bars of the softmax weights of 8 random keys, "
        "without and with the 1/√d_k scale"
    )

    N_KEYS = 8
    SWEEP = {"d_k": DK_OPTIONS}

    def __init__(self, d_k: int = 64, seed: int = 0):
        rng = np.random.default_rng(seed)
        # (1, d_max), (m, d_max): every d_k takes the first d_k entries of these
        self._q = rng.standard_normal((1, DK_OPTIONS[-1]))
        self._k = rng.standard_normal((self.N_KEYS, DK_OPTIONS[-1]))
        self.d_k = selection(widgets.SelectionSlider, "d_k", DK_OPTIONS, d_k)
        fig = plotting.new_figure(height=3.4)
        ax_raw, ax_scaled = fig.subplots(1, 2, sharey=True)
        labels = [f"k{i + 1}" for i in range(self.N_KEYS)]
        self.raw_bars = plotting.RowBars(
            ax_raw, np.zeros(self.N_KEYS), labels, title="softmax(q·k)"
        )
        self.scaled_bars = plotting.RowBars(
            ax_scaled, np.zeros(self.N_KEYS), labels, title="softmax(q·k / √d_k)"
        )
        super().__init__([self.d_k], fig, [self.raw_bars, self.scaled_bars])

    def sample(self, d_k: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """One query and N_KEYS keys with independent standard-normal entries.

        The vectors are nested: at every d_k they are the first d_k entries of the same
        longer vectors, so moving the slider adds or drops entries and changes nothing
        else.
        """
        if d_k not in DK_OPTIONS:
            raise ValueError(f"d_k must be one of {DK_OPTIONS}, got {d_k!r}")
        return self._q[:, :d_k], self._k[:, :d_k]  # (1, d_k), (m, d_k)

    def redraw(self) -> None:
        d_k = self.d_k.value
        q, k = self.sample(d_k)
        self.raw_scores = score(q, k, scale=1.0)[0]  # (m,)
        self.unscaled = normalize(self.raw_scores)
        self.scaled = normalize(score(q, k)[0])  # default scale 1/√d_k
        self.raw_bars.update(self.unscaled, highlight=plotting.largest(self.unscaled))
        self.scaled_bars.update(self.scaled, highlight=plotting.largest(self.scaled))
        self.raw_bars.ax.set_title(
            f"softmax(q·k): largest {self.unscaled.max():.2f}", fontsize=10
        )
        self.scaled_bars.ax.set_title(
            f"softmax(q·k / √{d_k}): largest {self.scaled.max():.2f}", fontsize=10
        )


class TemperatureExplorer(Explorer):
    """Multiply one row of scores by a factor and watch softmax go from uniform
    to winner-takes-all.
    """

    PICTURE = "Bars of the scaled scores and of their softmax weights"

    SWEEP = {"scale": SCALE_OPTIONS}

    def __init__(
        self,
        scores: Sequence[float] = (2.0, 1.0, 0.5, 0.0, -1.0),
        labels: Sequence[str] | None = None,
        scale: float = 1.0,
    ):
        self.scores = np.asarray(scores, dtype=float)
        labels = labels or [f"k{i + 1}" for i in range(len(self.scores))]
        self.scale = selection(
            widgets.SelectionSlider, "scale (1 / temperature)", SCALE_OPTIONS, scale
        )
        fig = plotting.new_figure(height=3.2)
        ax_s, ax_w = fig.subplots(1, 2)
        # One fixed axis for every factor, so the scores visibly shrink and grow
        # as the slider moves.
        extremes = np.array([self.scores.min(), self.scores.max(), 0.0])
        extremes *= max(SCALE_OPTIONS)
        pad = 0.1 * (extremes.max() - extremes.min())
        limits = (extremes.min() - pad * (extremes.min() < 0), extremes.max() + pad)
        self.score_bars = plotting.RowBars(
            ax_s,
            self.scores,
            labels,
            title="scores × scale",
            ylabel="score",
            ylim=limits,
        )
        ax_s.axhline(0, color="0.5", lw=0.8)
        self.weight_bars = plotting.RowBars(
            ax_w, np.zeros(len(self.scores)), labels, title="softmax: weights"
        )
        super().__init__([self.scale], fig, [self.score_bars, self.weight_bars])

    def redraw(self) -> None:
        scaled = self.scores * self.scale.value
        self.weights = normalize(scaled)
        self.score_bars.update(scaled)
        self.weight_bars.update(self.weights, highlight=plotting.largest(self.weights))


class BlendExplorer(Explorer):
    """Turn the query, move one value: the keys decide the weights, the output stays
    inside the values' triangle.
    """

    PICTURE = (
        "The query and three keys as arrows, bars of the weights, "
        "and three value vectors with the triangle they enclose and the blended output"
    )

    KEY_LENGTH = 2.0
    # (m=3, d_k=2)
    KEYS = KEY_LENGTH * np.array(
        [[math.cos(a), math.sin(a)] for a in np.radians([210, 330, 90])]
    )
    VALUES = np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]])  # (m=3, d_v=2)
    LABELS = ["v1", "v2", "v3"]
    SWEEP = {"angle": range(0, 360, 45), "v3_x": [-2.0, -1.0, 0.0, 1.0, 2.0]}

    def __init__(self, angle: float = 90, v3_x: float = 0.0, v3_y: float = 1.5):
        self.angle = slider(
            widgets.IntSlider, "query angle (°)", min=0, max=350, step=10, value=angle
        )
        self.v3_x = slider(
            widgets.FloatSlider, "v3 x", min=-2.0, max=2.0, step=0.5, value=v3_x
        )
        self.v3_y = slider(
            widgets.FloatSlider, "v3 y", min=-2.0, max=2.0, step=0.5, value=v3_y
        )
        fig = plotting.new_figure(height=3.3)
        ax_keys, ax_bar, ax_hull = fig.subplots(1, 3, width_ratios=[1, 0.7, 1.1])
        colors = [style.QUERY_COLOR] + [style.KEY_COLOR] * 3
        self.arrows = plotting.Arrows2D(
            ax_keys, np.zeros((4, 2)), ["query", "k1", "k2", "k3"], colors, limit=2.8
        )
        # the query on top, also where it points the same way as a key
        self.arrows.arrows[0].set_zorder(5)
        self.arrows.labels[0].set_zorder(5)
        ax_keys.set_title("query and keys", fontsize=10)
        self.bars = plotting.RowBars(
            ax_bar, np.zeros(3), ["a1", "a2", "a3"], title="weights"
        )
        self.hull = plotting.Hull2D(
            ax_hull, self.VALUES, self.LABELS, np.zeros(2), legend=False
        )
        ax_hull.set_title(r"values; output $= \Sigma_i\, a_i v_i$", fontsize=10)
        super().__init__(
            [self.angle, self.v3_x, self.v3_y], fig, [self.arrows, self.bars, self.hull]
        )

    def redraw(self) -> None:
        theta = math.radians(self.angle.value)
        # (n=1, d_k=2): a query of length 1
        q = np.array([[math.cos(theta), math.sin(theta)]])
        self.values = self.VALUES.copy()
        self.values[2] = (self.v3_x.value, self.v3_y.value)
        out, w = attention(q, self.KEYS, self.values)  # (1, 2), (1, 3)
        self.output, self.weights = out[0], w[0]
        self.arrows.update(np.vstack([q, self.KEYS]))
        self.bars.update(self.weights, highlight=plotting.largest(self.weights))
        self.hull.update(self.values, self.output, sizes=self.weights)


class AttentionMatrixExplorer(Explorer):
    """Type a sentence, pick a query token and a layer:
    the attention matrix and that token's row.
    """

    PICTURE = (
        "A heatmap of the attention matrix with token labels, "
        "and bars of one token's row"
    )

    LAYERS = [("layer 1: find the description", 0), ("layer 2: find the referent", 1)]

    def __init__(
        self, sentence: str = examples.SENTENCE, query: str = "it", layer: int = 1
    ):
        self.sentence = widgets.Text(
            value=sentence,
            description="sentence",
            continuous_update=False,
            layout=widgets.Layout(width="min(100%, 36em)"),
        )
        self.query = selection(widgets.Dropdown, "query token", [("", 0)])
        self.layer = selection(widgets.ToggleButtons, "", self.LAYERS, layer)
        self._tokens: list[str] | None = None
        tokens = examples.tokenize(sentence)
        self._set_query_options(tokens, query)
        fig, self.heatmap, self.bars = plotting.attention_figure(
            tokens, np.eye(len(tokens)), 0, fixed=True
        )
        super().__init__(
            [self.sentence, self.query, self.layer], fig, [self.heatmap, self.bars]
        )

    def _set_query_options(self, tokens: Sequence[str], preferred: str) -> None:
        """Offer the new sentence's tokens; keep the preferred word if it is there, else
        "it", else the first.
        """
        with self.quietly():
            self.query.options = [(f"{i}: {t}", i) for i, t in enumerate(tokens)]
            self.query.value = next(
                (tokens.index(w) for w in (preferred, "it") if w in tokens), 0
            )

    def redraw(self) -> None:
        # SentenceError for empty / overlong input
        tokens = examples.tokenize(self.sentence.value)
        if tokens != self._tokens:
            if self._tokens is not None:
                self._set_query_options(tokens, self._tokens[self.query.value])
            self._tokens = tokens
            # a class constant elsewhere; here it depends on the sentence
            self.SWEEP = {"query": range(len(tokens)), "layer": [0, 1]}
            self.static_labels = tuple(tokens)
            self.result = examples.contextualize(tokens)
        i, layer = self.query.value, self.layer.value
        self.weights = self.result.weights[layer]  # (n, n)
        self.row = self.weights[i]  # (n,)
        labels = plotting.short_labels(tokens)
        self.heatmap.update(self.weights, labels, labels, highlight_row=i)
        self.heatmap.ax.set_title(self.LAYERS[layer][0])
        self.bars.update(self.row, labels, highlight=plotting.largest(self.row))
        self.bars.ax.set_title(f'row of "{tokens[i]}": where it looks')
        notes = [_characters_note(self.sentence.value, tokens)]
        unknown = [
            t for t, k in zip(tokens, examples.known(tokens), strict=True) if not k
        ]
        if unknown:
            listing = ", ".join(unknown[:6]) + ("…" if len(unknown) > 6 else "")
            notes.append(
                "Not in the hand-built vocabulary, "
                f"so given fixed pseudo-random vectors: {listing}"
            )
        self.note = ". ".join(n for n in notes if n)


class OnlineSoftmaxExplorer(Explorer):
    """Change the block size of the online softmax: the blocks and the running M, L, O
    change, the result not.
    """

    PICTURE = (
        "Bars of one query's scores split into blocks with the running maximum, "
        "and a table of the running maximum M, sum L and output O after each block"
    )
    SWEEP = {"block_size": [1, 2, 3, 4, 6, 12]}

    def __init__(self, block_size: int = 4, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.scores = np.round(rng.normal(0.0, 1.5, 12), 1)  # (m,): one query's scores
        self.values = np.round(rng.normal(0.0, 1.0, (12, 2)), 1)  # (m, d_v=2)
        # (d_v,): softmax, then blend, all at once
        self.exact = normalize(self.scores) @ self.values
        self.block_size = selection(
            widgets.SelectionSlider, "block size", self.SWEEP["block_size"], block_size
        )
        fig = plotting.new_figure(height=3.6)
        self.ax_scores, self.ax_table = fig.subplots(1, 2, width_ratios=[1, 1.05])
        keys = range(len(self.scores))
        self.ax_scores.bar(keys, self.scores, color=style.KEY_COLOR)
        self.ax_scores.set_xticks(keys, [f"{i + 1}" for i in keys])
        self.ax_scores.set_xlabel("key")
        self.ax_scores.set_ylabel("score")
        self.ax_table.axis("off")
        self._block_artists: list[Artist] = []
        super().__init__([self.block_size], fig, [])

    def redraw(self) -> None:
        b = self.block_size.value
        self.steps = online_softmax_trace(self.scores, self.values, b)
        self.online = self.steps[-1].output / self.steps[-1].total  # (d_v,)
        self.difference = float(np.abs(self.online - self.exact).max())
        for artist in self._block_artists:
            artist.remove()
        self._block_artists = []
        for i, step in enumerate(self.steps):
            span = (step.keys.start - 0.5, step.keys.stop - 0.5)
            self._block_artists.append(
                self.ax_scores.axvspan(
                    *span, color="0.88" if i % 2 else "0.96", zorder=0
                )
            )
            (line,) = self.ax_scores.plot(
                span, [step.row_max] * 2, color=style.QUERY_COLOR, lw=2.5, ls="--"
            )
            self._block_artists.append(line)
        blocks = f"{len(self.steps)} block{'s' if len(self.steps) > 1 else ''} of {b}"
        self.ax_scores.set_title(
            f"{blocks};\ndashed: the running maximum M", fontsize=10
        )
        lines = [f"{'after':>5}  {'M':>4}  {'L':>6}  {'O':^14}"]
        for step in self.steps:
            keys = f"{step.keys.start + 1}-{step.keys.stop}"
            output = ", ".join(f"{o:5.2f}" for o in step.output)
            lines.append(
                f"{keys:>5}  {step.row_max:4.1f}  {step.total:6.3f}  ({output})"
            )
        online = ", ".join(f"{o:.4f}" for o in self.online)
        exact = ", ".join(f"{o:.4f}" for o in self.exact)
        lines += ["", f"O / L        = ({online})", f"softmax(s) V = ({exact})"]
        self._block_artists.append(
            self.ax_table.text(
                0.0,
                1.0,
                "\n".join(lines),
                family="monospace",
                fontsize=style.SMALL,
                va="top",
                transform=self.ax_table.transAxes,
            )
        )
        self.ax_table.set_title(
            f"M, L and O after each block\nlargest difference {self.difference:.0e}",
            fontsize=10,
        )
        self.static_labels = (b,)  # the blocks moved: redraw everything


class PretrainedExplorer(Explorer):
    """Pick a layer and a head of all-MiniLM-L6-v2 (and, with a kernel, type a
    sentence and pick the token whose row is shown): its attention matrix.
    """

    PICTURE = (
        "A heatmap of one head of a pretrained model, with its WordPiece tokens, "
        "and bars of one token's row"
    )
    SWEEP = {"layer": range(6), "head": range(12)}

    def __init__(
        self,
        sentence: str = examples.SENTENCE,
        layer: int = 3,
        head: int = 1,
        query: str = "it",
    ):
        from . import pretrained

        self._model = pretrained.load()
        self.sentence = widgets.Text(
            value=sentence,
            description="sentence",
            continuous_update=False,
            layout=widgets.Layout(width="min(100%, 36em)"),
        )
        self.query = selection(widgets.Dropdown, "query token", [("", 0)])
        self.layer = selection(
            widgets.SelectionSlider, "layer", [(str(i + 1), i) for i in range(6)], layer
        )
        self.head = selection(
            widgets.SelectionSlider, "head", [(str(i + 1), i) for i in range(12)], head
        )
        self._sentence_seen = None
        self._compute(sentence)
        self._set_query_options(query)
        fig, self.heatmap, self.bars = plotting.attention_figure(
            self.tokens, np.eye(len(self.tokens)), 0, fixed=True
        )
        super().__init__(
            [self.sentence, self.query, self.layer, self.head],
            fig,
            [self.heatmap, self.bars],
        )

    def _compute(self, sentence: str) -> None:
        from . import pretrained

        # SentenceError, the same messages as the book's in-page explorer
        pretrained.check_sentence(sentence)
        tokenizer, model = self._model
        result = pretrained.recompute(tokenizer, model, sentence)
        pretrained.check_length(result.tokens)
        self.result, self.tokens, self._sentence_seen = result, result.tokens, sentence

    def _set_query_options(self, preferred: str) -> None:
        """Offer the sentence's tokens; keep the preferred token if it is there, else
        "it", else the first token after [CLS]: never a silent [CLS]."""
        tokens = self.tokens
        with self.quietly():
            self.query.options = [(f"{i}: {t}", i) for i, t in enumerate(tokens)]
            self.query.value = next(
                (tokens.index(w) for w in (preferred, "it") if w in tokens),
                1 if len(tokens) > 2 else 0,
            )

    def redraw(self) -> None:
        if self.sentence.value != self._sentence_seen:
            chosen = self.tokens[self.query.value]
            # SentenceError for empty or overlong input
            self._compute(self.sentence.value)
            self._set_query_options(chosen)
        tokens = self.tokens
        query = self.query.value
        # (n, n)
        self.weights = self.result.our_weights[self.layer.value, self.head.value]
        labels = plotting.short_labels(tokens)
        self.heatmap.update(self.weights, labels, labels, highlight_row=query)
        self.heatmap.ax.set_title(
            f"layer {self.layer.value + 1}, head {self.head.value + 1}"
        )
        self.bars.update(
            self.weights[query], labels, highlight=plotting.largest(self.weights[query])
        )
        self.bars.ax.set_title(f'row of "{tokens[query]}"')
        self.static_labels = tuple(tokens)
        self.note = self._reading_note()

    def _reading_note(self) -> str:
        """What of the typed sentence the picture does not show as it was typed."""
        unknown_token = self._model[0].unk_token
        unknown, left_out = self.result.unread(self.sentence.value, unknown_token)
        notes = []
        if unknown:
            notes.append(
                "Not in the model's vocabulary, so read as "
                f"{unknown_token}: {' '.join(unknown)}"
            )
        if left_out:
            shown = [
                ch
                if ch.isprintable() and unicodedata.category(ch)[0] != "M"
                # invisible or combining: named by its code point
                else f"U+{ord(ch):04X}"
                for ch in left_out
            ]
            notes.append(f"Left out by the tokenizer: {' '.join(shown)}")
        missing = plotting.missing_glyphs(self.tokens)
        if missing:
            notes.append(
                "Shown as empty boxes "
                f"(the figure font has no glyph for them): {' '.join(missing)}"
            )
        return ". ".join(notes)


class MultiHeadExplorer(Explorer):
    """One layer with two jobs for "it" (find its adjective, find a noun): one head
    doing both, or two heads.

    The same four matrices (``examples.two_head_layer``) run with ``num_heads=1`` or
    ``num_heads=2``; the control picks which attention matrix to show.
    """

    PICTURE = (
        'A heatmap of one attention head with token labels, and bars of the row of "it"'
    )
    VIEWS = [
        ("one head, both jobs", 0),
        ("two heads: head 1", 1),
        ("two heads: head 2", 2),
    ]
    SWEEP = {"view": [0, 1, 2]}

    def __init__(self, sentence: str = examples.SENTENCE, view: int = 0):
        self.layer = examples.two_head_layer()
        self.tokens = examples.tokenize(sentence)
        x = examples.embed(self.tokens)  # (n, d_model)
        layer = self.layer
        # num_heads -> (output (n, d_model), weights (num_heads, n, n))
        self.results = {
            h: multi_head_self_attention(
                x, layer.w_q, layer.w_k, layer.w_v, layer.w_o, num_heads=h
            )
            for h in (1, 2)
        }
        self.view = selection(widgets.ToggleButtons, "", self.VIEWS, view)
        it = self.tokens.index("it") if "it" in self.tokens else 0
        self.query = it
        fig, self.heatmap, self.bars = plotting.attention_figure(
            self.tokens, np.eye(len(self.tokens)), it, fixed=True
        )
        super().__init__([self.view], fig, [self.heatmap, self.bars])

    def redraw(self) -> None:
        num_heads, head = {0: (1, 0), 1: (2, 0), 2: (2, 1)}[self.view.value]
        self.output, weights = self.results[num_heads]
        self.weights = weights[head]  # (n, n)
        labels = plotting.short_labels(self.tokens)
        self.heatmap.update(self.weights, labels, labels, highlight_row=self.query)
        self.heatmap.ax.set_title(self.VIEWS[self.view.value][0])
        row = self.weights[self.query]  # (n,)
        self.bars.update(row, labels, highlight=plotting.largest(row))
        self.bars.ax.set_title(f'row of "{self.tokens[self.query]}"')


class RotaryExplorer(Explorer):
    """Slide a key and a query along the sentence, a fixed distance apart: with
    rotary positions the score stays the same, because it depends only on how
    far apart they are."""

    PICTURE = (
        "The first feature pair of a query and a key, before and after rotation by "
        "their positions, and their score for every position"
    )
    POSITIONS = 12
    SWEEP = {"position": range(POSITIONS)}

    def __init__(self, position: int = 0, distance: int = 3, d: int = 8, seed: int = 0):
        rng = np.random.default_rng(seed)
        # one query vector and one key vector, (d,) each
        self.q, self.k = rng.standard_normal((2, d))
        for v in (self.q, self.k):
            # their first pair (the one drawn) of length 1.5, so it is easy to see
            v[:2] *= 1.5 / np.linalg.norm(v[:2])
        self.position = slider(
            widgets.IntSlider,
            "key position",
            min=0,
            max=self.POSITIONS - 1,
            value=position,
        )
        self.distance = slider(
            widgets.IntSlider, "query is … tokens later", min=0, max=8, value=distance
        )
        fig = plotting.new_figure(height=3.4)
        ax_pair, ax_scores = fig.subplots(1, 2, width_ratios=[1, 1.3])
        colors = [style.QUERY_COLOR, style.KEY_COLOR]
        self.arrows = plotting.Arrows2D(
            ax_pair, np.zeros((2, 2)), ["query", "key"], colors, limit=2.5
        )
        ax_pair.set_title("first pair of features, rotated", fontsize=10)
        positions = np.arange(self.POSITIONS)
        for other in range(self.distance.max + 1):
            # every distance has a level of its own
            ax_scores.plot(positions, self.scores(other), color="0.85", lw=1, zorder=0)
        (self.line,) = ax_scores.plot(
            positions, np.zeros(self.POSITIONS), "o-", color=style.KEY_COLOR, ms=4
        )
        (self.marker,) = ax_scores.plot(
            [0], [0], "D", color=style.QUERY_COLOR, ms=9, label="now"
        )
        ax_scores.set_xlabel("key position (the query: the distance later)")
        ax_scores.set_ylabel("score")
        ax_scores.set_xticks(positions)
        levels = np.concatenate(
            [self.scores(other) for other in range(self.distance.max + 1)]
        )
        ax_scores.set_ylim(levels.min() - 0.3, levels.max() + 0.3)
        self.ax_scores = ax_scores
        changing = plotting.Changing(self.line, self.marker, ax_scores.title)
        super().__init__([self.position, self.distance], fig, [self.arrows, changing])

    def scores(self, distance: int) -> NDArray[np.float64]:
        """The score of the rotated query at position p + distance with the rotated
        key at p, for every p.
        """
        n = self.POSITIONS + distance
        # (n, d): the same query at every position, rotated
        q = rotary(np.tile(self.q, (n, 1)))
        k = rotary(np.tile(self.k, (n, 1)))  # (n, d)
        p = np.arange(self.POSITIONS)
        # (positions,)
        return np.einsum("pd,pd->p", q[p + distance], k[p]) / math.sqrt(len(self.q))

    def redraw(self) -> None:
        p, dist = self.position.value, self.distance.value
        n = self.POSITIONS + dist
        # (d,): the query, rotated by its position
        q = rotary(np.tile(self.q, (n, 1)))[p + dist]
        k = rotary(np.tile(self.k, (n, 1)))[p]  # (d,)
        self.all_scores = self.scores(dist)
        self.score = float(self.all_scores[p])
        self.arrows.update(np.vstack([q[:2], k[:2]]))
        self.line.set_ydata(self.all_scores)
        self.marker.set_data([p], [self.score])
        self.ax_scores.set_title(
            f"distance {dist}: score {self.score:.3f} at every position", fontsize=10
        )


class TrainingExplorer(Explorer):
    """Slide through training: the rows of "it" in every layer of a model that learns,
    for the book's two sentences (``training.train_referent_model``'s snapshots)."""

    PICTURE = (
        'Bars of the attention row of "it" in each layer, for the two book sentences'
    )

    def __init__(self, result: TrainingResult, step: int | None = None):
        self.result = result
        self.snapshots = {s.step: s for s in result.snapshots}
        steps = list(self.snapshots)
        self.SWEEP = {"step": steps}
        self.step = selection(
            widgets.SelectionSlider,
            "training step",
            steps,
            steps[-1] if step is None else step,
        )
        self.sentences = list(result.snapshots[0].rows)  # the watched sentences
        layers = len(result.snapshots[0].rows[self.sentences[0]])
        fig = plotting.new_figure(height=2.6 * layers)
        axes = np.atleast_2d(fig.subplots(layers, len(self.sentences), squeeze=False))
        self.tokens = {s: examples.tokenize(s) for s in self.sentences}
        self.bars = {}
        for (layer, col), ax in np.ndenumerate(axes):
            sentence = self.sentences[col]
            tokens = self.tokens[sentence]
            self.bars[layer, col] = plotting.RowBars(
                ax,
                np.zeros(len(tokens)),
                tokens,
                title=f'layer {layer + 1}: "…too {tokens[-1]}"',
            )
        title = fig.suptitle("", fontsize=10)
        parts = [*self.bars.values(), plotting.Changing(title)]
        super().__init__([self.step], fig, parts)

    def redraw(self) -> None:
        snapshot = self.snapshots[self.step.value]
        self.rows = snapshot.rows  # {sentence: (layers, n)}
        for (layer, col), bars in self.bars.items():
            sentence = self.sentences[col]
            tokens = self.tokens[sentence]
            row = self.rows[sentence][layer]  # (n,)
            bars.update(row, highlight=plotting.largest(row))
            top = tokens[int(np.argmax(row))]
            bars.ax.set_title(
                f'layer {layer + 1}, "…too {tokens[-1]}": top {top}', fontsize=9
            )
        self.fig.suptitle(
            f"after {snapshot.step} steps: held-out accuracy {snapshot.accuracy:.2f}",
            fontsize=10,
        )

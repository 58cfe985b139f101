"""The book's interactive explorers (ipywidgets + matplotlib), built on :mod:`selfattention.explorer`.

Each explorer recomputes with the package's own attention functions whenever a control moves, and keeps
the numbers behind its picture as attributes (``scores``, ``weights``, ``output``...) so that tests can
check them without looking at pixels. In a running kernel a chapter's explorer cell shows the live
explorer; in the HTML book it shows pictures drawn in advance (see ``explorer.py``).
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np

from . import examples, plotting
from .explorer import Explorer, selection, slider
from .numpy_backend import attention, normalize, score

__all__ = [
    "DotProductExplorer",
    "ScalingExplorer",
    "TemperatureExplorer",
    "BlendExplorer",
    "AttentionMatrixExplorer",
    "OnlineSoftmaxExplorer",
    "PretrainedExplorer",
]

DK_OPTIONS = [2**i for i in range(11)]  # 1, 2, 4, ..., 1024
SCALE_OPTIONS = [0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]


def _characters_note(sentence: str, tokens) -> str:
    """Say which typed characters the picture cannot show: left out by the tokenizer, or not in the font."""
    notes = []
    left_out = examples.left_out(sentence)
    if left_out:
        notes.append(f"Left out (not letters or digits): {' '.join(left_out)}")
    missing = plotting.missing_glyphs(tokens)
    if missing:
        notes.append(f"Shown as empty boxes (the figure font has no glyph for them): {' '.join(missing)}")
    return ". ".join(notes)


class DotProductExplorer(Explorer):
    """Turn a query in the plane and watch its dot products with three fixed keys change (Score chapter)."""

    PICTURE = "Arrows of a query and three keys, and bars of their dot products"

    KEYS = np.array([[1.6, 0.4], [-0.6, 1.5], [-1.2, -1.1]])  # (m=3, d_k=2)
    LABELS = ["key 1", "key 2", "key 3"]
    SWEEP = {"angle": range(0, 360, 15)}

    def __init__(self, angle=30, length=1.5):
        self.angle = slider(widgets.IntSlider, "query angle (°)", min=0, max=355, step=5, value=angle)
        self.length = slider(widgets.FloatSlider, "query length", min=0.25, max=2.0, step=0.25, value=length)
        fig = plotting.new_figure(8, 3.6)
        ax_vec, ax_bar = fig.subplots(1, 2)
        colors = [plotting.QUERY_COLOR] + [plotting.KEY_COLOR] * 3
        self.arrows = plotting.Arrows2D(ax_vec, np.zeros((4, 2)), ["query"] + self.LABELS, colors)
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

    def redraw(self):
        theta = math.radians(self.angle.value)
        self.query = self.length.value * np.array([math.cos(theta), math.sin(theta)])  # (d_k=2,)
        self.scores = score(self.query[None, :], self.KEYS, scale=1.0)[0]  # (m,): the plain dot products
        self.arrows.update(np.vstack([self.query, self.KEYS]))
        self.bars.update(self.scores, highlight=int(np.argmax(self.scores)))


class ScalingExplorer(Explorer):
    """Change d_k and compare softmax weights with and without dividing the scores by √d_k (Score chapter)."""

    PICTURE = "Bars of the softmax weights of 8 random keys, without and with the 1/√d_k scale"

    N_KEYS = 8
    SWEEP = {"d_k": DK_OPTIONS}

    def __init__(self, d_k=64, seed=0):
        self.seed = seed
        self.d_k = selection(widgets.SelectionSlider, "d_k", DK_OPTIONS, d_k)
        fig = plotting.new_figure(8, 3.4)
        ax_raw, ax_scaled = fig.subplots(1, 2, sharey=True)
        labels = [f"k{i + 1}" for i in range(self.N_KEYS)]
        self.raw_bars = plotting.RowBars(ax_raw, np.zeros(self.N_KEYS), labels, title="softmax(q·k)")
        self.scaled_bars = plotting.RowBars(ax_scaled, np.zeros(self.N_KEYS), labels, title="softmax(q·k / √d_k)")
        super().__init__([self.d_k], fig, [self.raw_bars, self.scaled_bars])

    def sample(self, d_k):
        """One query and N_KEYS keys with independent standard-normal entries (the same for the same d_k)."""
        rng = np.random.default_rng([self.seed, d_k])
        return rng.standard_normal((1, d_k)), rng.standard_normal((self.N_KEYS, d_k))  # (1, d_k), (m, d_k)

    def redraw(self):
        d_k = self.d_k.value
        q, k = self.sample(d_k)
        self.raw_scores = score(q, k, scale=1.0)[0]  # (m,)
        self.unscaled = normalize(self.raw_scores)
        self.scaled = normalize(score(q, k)[0])  # default scale 1/√d_k
        self.raw_bars.update(self.unscaled, highlight=int(np.argmax(self.unscaled)))
        self.scaled_bars.update(self.scaled, highlight=int(np.argmax(self.scaled)))
        self.raw_bars.ax.set_title(f"softmax(q·k): largest weight {self.unscaled.max():.2f}")
        self.scaled_bars.ax.set_title(f"softmax(q·k / √{d_k}): largest weight {self.scaled.max():.2f}")


class TemperatureExplorer(Explorer):
    """Multiply one row of scores by a factor and watch softmax go from uniform to winner-takes-all."""

    PICTURE = "Bars of the scaled scores and of their softmax weights"

    SWEEP = {"scale": SCALE_OPTIONS}

    def __init__(self, scores=(2.0, 1.0, 0.5, 0.0, -1.0), labels=None, scale=1.0):
        self.scores = np.asarray(scores, dtype=float)
        labels = labels or [f"k{i + 1}" for i in range(len(self.scores))]
        self.scale = selection(widgets.SelectionSlider, "scale (1 / temperature)", SCALE_OPTIONS, scale)
        fig = plotting.new_figure(7, 3.2)
        ax_s, ax_w = fig.subplots(1, 2)
        self.score_bars = plotting.RowBars(ax_s, self.scores, labels, title="scores × scale", ylabel="score", ylim=None)
        self.weight_bars = plotting.RowBars(ax_w, np.zeros(len(self.scores)), labels, title="softmax: weights")
        super().__init__([self.scale], fig, [self.score_bars, self.weight_bars])

    def redraw(self):
        scaled = self.scores * self.scale.value
        self.weights = normalize(scaled)
        self.score_bars.update(scaled)
        self.weight_bars.update(self.weights, highlight=int(np.argmax(self.weights)))


class BlendExplorer(Explorer):
    """Turn the query and move one value vector: the output always stays inside the values' triangle."""

    PICTURE = "Three value vectors, the triangle they span and the blended output, with bars of the weights"

    KEYS = 2.0 * np.array([[math.cos(a), math.sin(a)] for a in np.radians([210, 330, 90])])  # (m=3, d_k=2)
    VALUES = np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]])  # (m=3, d_v=2)
    LABELS = ["v1", "v2", "v3"]
    SWEEP = {"angle": range(0, 360, 45), "v3_x": [-2.0, -1.0, 0.0, 1.0, 2.0]}

    def __init__(self, angle=90, v3_x=0.0, v3_y=1.5):
        self.angle = slider(widgets.IntSlider, "query angle (°)", min=0, max=350, step=10, value=angle)
        self.v3_x = slider(widgets.FloatSlider, "v3 x", min=-2.0, max=2.0, step=0.5, value=v3_x)
        self.v3_y = slider(widgets.FloatSlider, "v3 y", min=-2.0, max=2.0, step=0.5, value=v3_y)
        fig = plotting.new_figure(8, 3.8)
        ax_hull, ax_bar = fig.subplots(1, 2, width_ratios=[1.2, 1])
        self.hull = plotting.Hull2D(ax_hull, self.VALUES, self.LABELS, np.zeros(2))
        ax_hull.set_title("output = weighted average of values")
        self.bars = plotting.RowBars(ax_bar, np.zeros(3), self.LABELS, title="weights")
        super().__init__([self.angle, self.v3_x, self.v3_y], fig, [self.hull, self.bars])

    def redraw(self):
        theta = math.radians(self.angle.value)
        q = np.array([[math.cos(theta), math.sin(theta)]])  # (n=1, d_k=2)
        self.values = self.VALUES.copy()
        self.values[2] = (self.v3_x.value, self.v3_y.value)
        out, w = attention(q, self.KEYS, self.values)  # (1, 2), (1, 3)
        self.output, self.weights = out[0], w[0]
        self.hull.update(self.values, self.output, sizes=self.weights)
        self.bars.update(self.weights, highlight=int(np.argmax(self.weights)))


class AttentionMatrixExplorer(Explorer):
    """Type a sentence, pick a query token and a layer: the attention matrix and that token's row."""

    PICTURE = "A heatmap of the attention matrix with token labels, and bars of one token's row"

    LAYERS = [("layer 1: find the description", 0), ("layer 2: find the referent", 1)]

    @property
    def SWEEP(self):  # noqa: N802 (a class constant elsewhere; here it depends on the sentence)
        return {"query": range(len(self._tokens)), "layer": [0, 1]}

    def __init__(self, sentence=examples.SENTENCE, query="it", layer=1):
        self.sentence = widgets.Text(
            value=sentence,
            description="sentence",
            continuous_update=False,
            layout=widgets.Layout(width="min(100%, 36em)"),
        )
        self.query = selection(widgets.Dropdown, "query token", [("", 0)])
        self.layer = selection(widgets.ToggleButtons, "", self.LAYERS, layer)
        self._tokens = None
        tokens = examples.tokenize(sentence)
        self._set_query_options(tokens, query)
        fig, self.heatmap, self.bars = plotting.attention_figure(tokens, np.eye(len(tokens)), 0)
        super().__init__([self.sentence, self.query, self.layer], fig, [self.heatmap, self.bars])

    def _set_query_options(self, tokens, preferred):
        """Offer the new sentence's tokens; keep the preferred word if it is there, else "it", else the first."""
        with self.quietly():
            self.query.options = [(f"{i}: {t}", i) for i, t in enumerate(tokens)]
            self.query.value = next((tokens.index(w) for w in (preferred, "it") if w in tokens), 0)

    def redraw(self):
        tokens = examples.tokenize(self.sentence.value)  # SentenceError for empty / overlong input
        if tokens != self._tokens:
            if self._tokens is not None:
                self._set_query_options(tokens, self._tokens[self.query.value])
            self._tokens = tokens
            self.static_labels = tuple(tokens)
            self.result = examples.contextualize(tokens)
        i, layer = self.query.value, self.layer.value
        self.weights = self.result.weights[layer]  # (n, n)
        self.row = self.weights[i]  # (n,)
        self.heatmap.update(self.weights, tokens, tokens, highlight_row=i)
        self.heatmap.ax.set_title(self.LAYERS[layer][0])
        self.bars.update(self.row, tokens, highlight=i)
        self.bars.ax.set_title(f'row of "{tokens[i]}": where it looks')
        notes = [_characters_note(self.sentence.value, tokens)]
        unknown = [t for t, k in zip(tokens, examples.known(tokens), strict=True) if not k]
        if unknown:
            listing = ", ".join(unknown[:6]) + ("…" if len(unknown) > 6 else "")
            notes.append(f"Not in the hand-built vocabulary, so given fixed pseudo-random vectors: {listing}")
        self.note = ". ".join(n for n in notes if n)


class OnlineSoftmaxExplorer(Explorer):
    """Change the block size of the online softmax: the blocks and the running maximum change, the result not."""

    PICTURE = "Bars of one query's scores split into blocks, the running maximum, and the final output"
    SWEEP = {"block_size": [1, 2, 3, 4, 6, 12]}

    def __init__(self, block_size=4, seed=0):
        rng = np.random.default_rng(seed)
        self.scores = np.round(rng.normal(0.0, 1.5, 12), 1)  # (m,): one query's scores
        self.values = np.round(rng.normal(0.0, 1.0, (12, 2)), 1)  # (m, d_v=2)
        self.exact = normalize(self.scores) @ self.values  # (d_v,): softmax, then blend, all at once
        self.block_size = selection(widgets.SelectionSlider, "block size", self.SWEEP["block_size"], block_size)
        fig = plotting.new_figure(8, 3.4)
        self.ax_scores, self.ax_out = fig.subplots(1, 2, width_ratios=[1.6, 1])
        keys = range(len(self.scores))
        self.ax_scores.bar(keys, self.scores, color=plotting.KEY_COLOR)
        self.ax_scores.set_xticks(keys, [f"k{i + 1}" for i in keys])
        self.ax_scores.set_ylabel("score")
        self._block_artists = []
        self.out_bars = plotting.RowBars(
            self.ax_out, np.zeros(4), ["exact 1", "online 1", "exact 2", "online 2"], ylabel="output", ylim=None
        )
        super().__init__([self.block_size], fig, [])

    def redraw(self):
        b = self.block_size.value
        self.steps = examples.online_softmax_trace(self.scores, self.values, b)
        self.online = self.steps[-1].output / self.steps[-1].total  # (d_v,)
        self.difference = float(np.abs(self.online - self.exact).max())
        for artist in self._block_artists:
            artist.remove()
        self._block_artists = []
        for i, step in enumerate(self.steps):
            span = (step.keys.start - 0.5, step.keys.stop - 0.5)
            self._block_artists.append(self.ax_scores.axvspan(*span, color="0.9" if i % 2 else "0.97", zorder=0))
            (line,) = self.ax_scores.plot(span, [step.row_max] * 2, color=plotting.QUERY_COLOR, lw=2)
            self._block_artists.append(line)
        blocks = f"{len(self.steps)} block{'s' if len(self.steps) > 1 else ''} of {b}"
        self.ax_scores.set_title(f"{blocks}; red: running maximum")
        both = np.ravel(np.column_stack([self.exact, self.online]))  # exact 1, online 1, exact 2, online 2
        self.out_bars.update(both)
        self.ax_out.set_title(f"largest difference {self.difference:.0e}")
        self.static_labels = (b,)  # the blocks moved: redraw everything


class PretrainedExplorer(Explorer):
    """Pick a layer and a head of all-MiniLM-L6-v2 (and, with a kernel, type a sentence): its attention matrix."""

    PICTURE = "A heatmap of one head of a pretrained model, with its WordPiece tokens, and bars of one token's row"
    SWEEP = {"layer": range(6), "head": range(12)}
    MAX_TOKENS = 32

    def __init__(self, sentence=examples.SENTENCE, layer=3, head=1, query="it"):
        from . import pretrained

        self._model = pretrained.load()
        self._recompute = pretrained.recompute
        self._query_word = query
        self.sentence = widgets.Text(
            value=sentence,
            description="sentence",
            continuous_update=False,
            layout=widgets.Layout(width="min(100%, 36em)"),
        )
        self.layer = selection(widgets.SelectionSlider, "layer", [(str(i + 1), i) for i in range(6)], layer)
        self.head = selection(widgets.SelectionSlider, "head", [(str(i + 1), i) for i in range(12)], head)
        self._sentence_seen = None
        self._compute(sentence)
        fig, self.heatmap, self.bars = plotting.attention_figure(self.tokens, np.eye(len(self.tokens)), 0)
        super().__init__([self.sentence, self.layer, self.head], fig, [self.heatmap, self.bars])

    def _compute(self, sentence):
        if not isinstance(sentence, str) or not sentence.strip():
            raise examples.SentenceError("Type a sentence with at least one word.")
        result = self._recompute(*self._model, sentence)
        if len(result.tokens) > self.MAX_TOKENS:
            raise examples.SentenceError(
                f"That sentence is {len(result.tokens)} tokens long; the explorer shows at most {self.MAX_TOKENS}."
            )
        self.result, self.tokens, self._sentence_seen = result, result.tokens, sentence

    def redraw(self):
        if self.sentence.value != self._sentence_seen:
            self._compute(self.sentence.value)  # SentenceError for empty or overlong input
        tokens = self.tokens
        query = tokens.index(self._query_word) if self._query_word in tokens else 0
        self.weights = self.result.our_weights[self.layer.value, self.head.value]  # (n, n)
        self.heatmap.update(self.weights, tokens, tokens, highlight_row=query)
        self.heatmap.ax.set_title(f"layer {self.layer.value + 1}, head {self.head.value + 1}")
        self.bars.update(self.weights[query], tokens, highlight=query)
        self.bars.ax.set_title(f'row of "{tokens[query]}"')
        self.static_labels = tuple(tokens)
        self.note = _characters_note(self.sentence.value, tokens)

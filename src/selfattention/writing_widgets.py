"""The explorer of chapter 14, "Attention that writes": a trained recall model
(``selfattention.decoder``) completes a prompt; the picture shows one head's causal
attention matrix and the row of the last token, whose next word is the completion.

Built on :class:`selfattention.explorer.Explorer` like the book's other explorers: live
in a kernel; pre-drawn for the HTML book (the book's prompts × layers × heads).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from . import plotting
from .explorer import Explorer, selection

__all__ = ["RecallExplorer"]

#: The prompts offered in the explorer's list (and pre-drawn for the HTML book): two,
#: three and four facts, asking about the first, the last and a middle one.
PROMPTS = (
    "the dog was blue . the cat was red . the dog was",
    "the fox was old . the owl was sad . the bear was fast . the bear was",
    "the cow was pink . the pig was big . the frog was green . "
    "the lion was slow . the pig was",
)


#: The width of the prompt's list and text box: the longest prompt of PROMPTS whole,
#: with room to spare (it needs about 44 em), and no wider than the page.
PROMPT_WIDTH = "min(100%, 52em)"


class RecallExplorer(Explorer):
    """Pick or type a prompt, pick a layer and a head: the model's completion, the
    head's attention matrix, and the row of the last token.
    """

    PICTURE = (
        "A heatmap of one head's causal attention matrix over the prompt, "
        "and bars of the last token's row, with the model's next word"
    )

    def __init__(self, result, prompt=PROMPTS[0], layer=None, head=None):
        self.result = result
        layers = len(result.model.layers)
        heads = result.model.layers[0].heads
        if layer is None or head is None:
            held_out = result.data.held_out[:100]  # as the chapter measures
            best = result.head_scores(held_out).best("induction")
            layer = best[0] if layer is None else layer
            head = best[1] if head is None else head
        self.SWEEP = {
            "prompt": range(len(PROMPTS)),
            "layer": range(layers),
            "head": range(heads),
        }
        # the list's values are the prompts' indices in PROMPTS
        chosen = PROMPTS.index(prompt) if prompt in PROMPTS else 0
        self.prompt = selection(
            widgets.Dropdown,
            "prompt",
            [(p, i) for i, p in enumerate(PROMPTS)],
            chosen,
            layout=widgets.Layout(width=PROMPT_WIDTH),
        )
        self.text = widgets.Text(
            value="" if prompt in PROMPTS else prompt,
            description="or type one",
            placeholder="the cat was red . the dog was blue . the cat was",
            continuous_update=False,
            style={"description_width": "initial"},
            layout=widgets.Layout(width=PROMPT_WIDTH),
        )
        # buttons that say what they choose ("layer 1", "head 3"): a row of bare
        # numbers under a label reads as one run of digits where the two rows meet
        self.layer = selection(
            widgets.ToggleButtons,
            "",
            [(f"layer {i + 1}", i) for i in range(layers)],
            layer,
        )
        self.head = selection(
            widgets.ToggleButtons,
            "",
            [(f"head {i + 1}", i) for i in range(heads)],
            head,
        )
        self._chosen = chosen
        tokens = result.data.max_tokens * ["the"]
        # tall enough for a label of SMALL points on each of the 24 rows
        fig, self.heatmap, self.bars = plotting.attention_figure(
            tokens, np.eye(len(tokens)), len(tokens) - 1, height=7.4, fixed=True
        )
        self._tokens = None
        super().__init__(
            [self.prompt, self.text, self.layer, self.head],
            fig,
            [self.heatmap, self.bars],
        )

    def redraw(self):
        from . import decoder  # torch: imported by the caller's result already

        if self.prompt.value != self._chosen:
            # the reader picked a prompt from the list: it replaces any typed one
            self._chosen = self.prompt.value
            with self.quietly():
                self.text.value = ""
        text = self.text.value.strip() or PROMPTS[self.prompt.value]
        # a SentenceError (unknown words, too long) is shown in the message line
        self.completion = self.result.complete(text)
        tokens = decoder.tokenize(text)  # only known words get this far
        if tokens != self._tokens:
            self._tokens = tokens
            self._weights = self.result.attention(text)  # per layer (heads, n, n)
            self.static_labels = tuple(tokens)
        layer, head = self.layer.value, self.head.value
        self.weights = self._weights[layer][head]  # (n, n)
        self.row = self.weights[-1]  # (n,): the last token's row
        labels = plotting.short_labels(tokens)
        self.heatmap.update(self.weights, labels, labels, highlight_row=len(tokens) - 1)
        self.heatmap.ax.set_title(f"layer {layer + 1}, head {head + 1}")
        self.bars.update(self.row, labels, highlight=plotting.largest(self.row))
        self.bars.ax.set_title(
            f'row of the last "{tokens[-1]}"; the model writes: {self.completion}'
        )
        self.note = f"The model writes: {self.completion}"

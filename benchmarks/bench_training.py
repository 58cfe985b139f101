"""How long the model of ``selfattention.training`` takes to learn, how well it does,
and where "it" looks.

    # seeds 0, 1, 2 (about 1 minute on 2 cores)
    python benchmarks/bench_training.py
    # more seeds (about 4 minutes)
    python benchmarks/bench_training.py --seeds 0-9

For each seed, a two-layer and a one-layer model are trained with the default settings.
Printed:
1. wall and CPU seconds of each training run, held-out and training accuracy;
2. the rows of "it" in every layer for the book's two sentences (rounded), and whether
   the last layer's largest weight is on the right noun ("animal" for tired, "street"
   for wide);
3. over the held-out sentences, where the largest weight of the row of "it" goes in
   each layer (fractions), the mean weight of "it" on the adjective, the right noun and
   the other noun, and the routes (the roles of the top words, layer by layer)
   separately for sentences about an animal and about a place;
4. in layer 1, weight on "animal" / weight on "street" for both book sentences: always
   equal, since the query of "it" in layer 1 cannot depend on the adjective;
5. for the models stored with the package (``training.STORED_MODELS``) among those
   trained here: seconds to load one, and the largest difference between its
   parameters and those just trained (0 on the machine and torch that stored them).
The machine's load average is printed before and after: timings from a shared machine
are only indicative.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from selfattention import training
from selfattention.examples import SENTENCE, SENTENCE_WIDE, tokenize

BOOK = ((SENTENCE, "animal"), (SENTENCE_WIDE, "street"))


def seeds_from(text: str) -> list[int]:
    """'0-2' -> [0, 1, 2]; '0,4,7' -> [0, 4, 7]."""
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def timed_training(**kwargs):
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = training.train_referent_model(**kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def mean_weights(result) -> list[dict[str, float]]:
    """Per layer, the mean weight of the row of "it" on the adjective,
    the referent and the other noun.
    """
    sums = np.zeros((len(result.layers), 3))
    for e in result.data.held_out:
        animal, place, adjective = e.combination
        other = place if e.referent == animal else animal
        columns = [e.tokens.index(w) for w in (adjective, e.referent, other)]
        # (layers, 3)
        sums += result.attention(e.tokens)[:, e.tokens.index("it"), columns]
    means = sums / len(result.data.held_out)
    return [
        dict(zip(("adjective", "referent", "other noun"), row.tolist(), strict=True))
        for row in means
    ]


def last_top(result, sentence: str) -> str:
    """The word that gets the largest weight in the row of "it" in the last layer."""
    tokens = tokenize(sentence)
    return tokens[int(np.argmax(result.attention(sentence)[-1, tokens.index("it")]))]


def print_table(header, rows, *, text_last=False):
    """Columns right-aligned; with ``text_last``,
    the last column (long text) is left-aligned.
    """
    widths = [
        max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)
    ]
    for row in (header, ["-" * w for w in widths], *rows):
        cells = [str(x).rjust(w) for x, w in zip(row, widths, strict=True)]
        if text_last:
            cells[-1] = str(row[-1])
        print("  ".join(cells))
    print()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0-2", help="e.g. 0-2 or 0,4,7")
    args = parser.parse_args()
    seeds = seeds_from(args.seeds)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}"
    )
    print(f"load average (1, 5, 15 min) before: {load()}")
    data = training.make_dataset()
    print(
        f"data: {len(data.train)} training sentences, {len(data.held_out)} held-out "
        f"({len(data.held_out_combinations)} held-out combinations), "
        f"{len(data.vocabulary)} words; d_model {training.D_MODEL}, "
        f"{training.STEPS} steps\n"
    )

    runs, timing_rows = {}, []
    for seed in seeds:
        for layers in (2, 1):
            r, wall, cpu = timed_training(seed=seed, layers=layers, data=data)
            runs[seed, layers] = r
            scores = (r.accuracy, r.train_accuracy)
            timing_rows.append(
                [
                    seed,
                    layers,
                    f"{wall:.1f}",
                    f"{cpu:.1f}",
                    *(f"{a:.3f}" for a in scores),
                ]
            )
    print("Training (CPU, one thread)")
    print_table(
        ["seed", "layers", "wall s", "CPU s", "held-out acc", "train acc"], timing_rows
    )

    for (seed, layers), r in runs.items():
        for sentence, right in BOOK:
            tokens = tokenize(sentence)
            rows = r.attention(sentence)[:, tokens.index("it")]  # (layers, n)
            top = last_top(r, sentence)
            print(
                f'seed {seed}, {layers} layer(s): "{sentence}"  '
                f"last layer's top: {top} "
                f"({'right' if top == right else 'NOT ' + right}); "
                f"prediction: {next(iter(r.predict(sentence)))}"
            )
            print_table(
                ["row of it"] + tokens,
                [
                    [f"layer {i + 1}"] + [f"{w:.2f}" for w in row]
                    for i, row in enumerate(rows)
                ],
            )

    print(
        'Held-out sentences: where the largest weight of the row of "it" goes '
        "(fraction of sentences)"
    )
    rows = []
    for (seed, layers), r in runs.items():
        for i, fractions in enumerate(r.where_it_looks()):
            rows.append(
                [seed, layers, i + 1] + [f"{f:.2f}" for f in fractions.values()]
            )
    print_table(["seed", "layers", "layer"] + list(training.ROLES), rows)

    print('Held-out sentences: mean weight of the row of "it"')
    rows = []
    for (seed, layers), r in runs.items():
        for i, means in enumerate(mean_weights(r)):
            rows.append([seed, layers, i + 1] + [f"{m:.2f}" for m in means.values()])
    print_table(
        ["seed", "layers", "layer", "adjective", "referent", "other noun"], rows
    )

    print(
        'Held-out sentences: routes (roles of the top word of "it", layer by layer), '
        'by what "it" refers to'
    )
    rows = []
    for (seed, layers), r in runs.items():
        for kind, nouns in (("animal", training.ANIMALS), ("place", training.PLACES)):
            routes = r.routes([e for e in r.data.held_out if e.referent in nouns])
            rows.append(
                [
                    seed,
                    layers,
                    kind,
                    "; ".join(
                        f"{' → '.join(route)} {f:.2f}" for route, f in routes.items()
                    ),
                ]
            )
    print_table(["seed", "layers", "it is", "routes (fraction)"], rows, text_last=True)

    print(
        "Layer 1 cannot tell the book sentences apart: "
        'weight on "animal" / weight on "street" in the row of "it"'
    )
    rows = []
    for (seed, layers), r in runs.items():
        ratios = []
        for sentence, _ in BOOK:
            tokens = tokenize(sentence)
            row = r.attention(sentence)[0, tokens.index("it")]
            ratios.append(row[tokens.index("animal")] / row[tokens.index("street")])
        rows.append([seed, layers] + [f"{x:.6g}" for x in ratios])
    print_table(["seed", "layers", "tired", "wide"], rows)

    rows = []
    for seed, layers in training.STORED_MODELS:
        if (seed, layers) not in runs:
            continue
        wall = time.perf_counter()
        stored = training.load_referent_model(seed=seed, layers=layers)
        wall = time.perf_counter() - wall
        difference = max(
            (a - b).abs().max().item()
            for a, b in zip(
                stored.model.parameters(),
                runs[seed, layers].model.parameters(),
                strict=True,
            )
        )
        rows.append([seed, layers, f"{wall:.3f}", f"{difference:.1e}"])
    if rows:
        print("Stored models: loaded instead of trained")
        print_table(["seed", "layers", "load s", "largest parameter difference"], rows)

    both_right = [
        seed
        for seed in seeds
        if all(last_top(runs[seed, 2], s) == right for s, right in BOOK)
    ]
    print(
        "two layers, largest weight of the last layer's row of it on the right noun "
        "in both book sentences: "
        f"seeds {both_right} ({len(both_right)} of {len(seeds)})"
    )
    print(f"load average (1, 5, 15 min) after: {load()}")


if __name__ == "__main__":
    main()

"""How long the recall model of ``selfattention.decoder`` takes to learn, how well two
layers and one layer do on held-out texts, and which heads do what.

    # seeds 0, 1, 2, two layers and one (about 3 minutes on 2 idle cores)
    python benchmarks/bench_recall.py
    python benchmarks/bench_recall.py --seeds 0-5 --layers 2

For each seed and number of layers, a model is trained with the default settings.
Printed:
1. wall and CPU seconds of each training run (one CPU thread), held-out and training
   accuracy (the answer is the highest-scoring word after the question);
2. per layer and head, the head scores over the held-out texts (``head_scores``): mean
   weight on the previous token, of "was" on its noun, of the adjective on its noun,
   and of the last "was" on the adjective to copy.
The machine's load average is printed before and after: timings from a shared machine
are only indicative.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from selfattention import decoder


def numbers_from(text: str) -> list[int]:
    """'0-2' -> [0, 1, 2]; '0,4,7' -> [0, 4, 7]."""
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def print_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for row in (header, ["-" * w for w in widths], *rows):
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)))
    print()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0-2", help="e.g. 0-2 or 0,4,7")
    parser.add_argument("--layers", default="2,1", help="e.g. 2,1 or 2")
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}"
    )
    print(f"load average (1, 5, 15 min) before: {load()}")
    data = decoder.make_recall_data()
    print(
        f"data: {len(data.train)} training texts, {len(data.held_out)} held-out texts "
        f"({len(data.held_out_pairs)} held-out pairs); d_model {decoder.D_MODEL}, "
        f"{decoder.HEADS} heads, {decoder.STEPS} steps of {decoder.BATCH} texts\n",
        flush=True,
    )
    runs, rows = {}, []
    for layers in numbers_from(args.layers):
        for seed in numbers_from(args.seeds):
            wall, cpu = time.perf_counter(), time.process_time()
            r = decoder.train_recall_model(seed=seed, layers=layers, data=data)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            runs[seed, layers] = r
            rows.append(
                [
                    seed,
                    layers,
                    f"{wall:.1f}",
                    f"{cpu:.1f}",
                    f"{r.accuracy:.3f}",
                    f"{r.train_accuracy:.3f}",
                ]
            )
            print(f"  seed {seed}, {layers} layer(s) done", flush=True)
    print("\nTraining (CPU, one thread)")
    print_table(
        ["seed", "layers", "wall s", "CPU s", "held-out acc", "train acc"], rows
    )

    print("Head scores on the held-out texts (mean attention weights)")
    rows = []
    for (seed, layers), r in runs.items():
        scores = r.head_scores()
        for layer in range(layers):
            for head in range(decoder.HEADS):
                rows.append(
                    [seed, layers, layer + 1, head + 1]
                    + [
                        f"{getattr(scores, kind)[layer, head]:.2f}"
                        for kind in (
                            "previous_token",
                            "was_to_noun",
                            "adjective_to_noun",
                            "induction",
                        )
                    ]
                )
    print_table(
        [
            "seed",
            "layers",
            "layer",
            "head",
            "previous token",
            "was → noun",
            "adjective → noun",
            "induction",
        ],
        rows,
    )
    print(f"load average (1, 5, 15 min) after: {load()}")


if __name__ == "__main__":
    main()

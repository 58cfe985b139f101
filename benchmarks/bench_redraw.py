"""How long one redraw of each explorer takes
(a benchmark, not a test: machines are noisy).

    python benchmarks/bench_redraw.py

A redraw is what a reader waits for after moving a control: recompute with the package,
update the existing artists, render the PNG the widget shows. Targets: under 50 ms for a
control moved (up to 16 tokens), under 100 ms for a typed sentence of 16 tokens (it is
tokenized and run through both layers again). Prints medians over repeated redraws,
measured side by side in one run, each with its ratio to its target. The explorers that
need torch (training) or the model package (pretrained) are measured where those are
installed.
"""

from __future__ import annotations

import statistics
import time

from selfattention import widgets

TARGET_MS = 50.0  # a control moved
SENTENCE_TARGET_MS = 100.0  # a sentence typed
REPEATS = 15


def median_ms(action, repeats=REPEATS) -> float:
    action()  # warm-up
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        action(i)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def cycle(control, values):
    return lambda i=0: setattr(control, "value", values[i % len(values)])


def main() -> None:
    rows = []
    e = widgets.AttentionMatrixExplorer()
    for n in (4, 8, 12, 16):
        words = ["the", "animal", "was", "tired", "and", "it", "crossed", "the"] * 2
        e.sentence.value = " ".join(words[:n])
        rows.append(
            (
                f"attention matrix, {n:2d} tokens: new query",
                median_ms(cycle(e.query, list(range(n)))),
                TARGET_MS,
            )
        )
        rows.append(
            (
                f"attention matrix, {n:2d} tokens: other layer",
                median_ms(cycle(e.layer, [0, 1])),
                TARGET_MS,
            )
        )
        sentences = [" ".join(words[:n]), " ".join(reversed(words[:n]))]
        rows.append(
            (
                f"attention matrix, {n:2d} tokens: new sentence",
                median_ms(cycle(e.sentence, sentences)),
                SENTENCE_TARGET_MS,
            )
        )
    d = widgets.DotProductExplorer()
    moved = [
        ("dot product: query angle", cycle(d.angle, list(range(0, 360, 15)))),
    ]
    s = widgets.ScalingExplorer()
    moved.append(("scaling: d_k", cycle(s.d_k, widgets.DK_OPTIONS)))
    t = widgets.TemperatureExplorer()
    moved.append(("temperature: scale", cycle(t.scale, widgets.SCALE_OPTIONS)))
    b = widgets.BlendExplorer()
    moved.append(("blend: query angle", cycle(b.angle, list(range(0, 360, 10)))))
    moved.append(("blend: move v3", cycle(b.v3_x, [-1.5, -0.5, 0.5, 1.5])))
    o = widgets.OnlineSoftmaxExplorer()
    moved.append(("online softmax: block size", cycle(o.block_size, [1, 2, 3, 4, 6])))
    h = widgets.MultiHeadExplorer()
    moved.append(("multi-head: view", cycle(h.view, [0, 1, 2])))
    r = widgets.RotaryExplorer()
    moved.append(("rotary: key position", cycle(r.position, list(range(0, 16, 3)))))
    moved.append(("rotary: distance", cycle(r.distance, list(range(9)))))
    try:
        from selfattention import training
    except ImportError:
        print("(no torch: the training explorer is not measured)")
    else:
        result = training.train_referent_model(steps=100, snapshot_every=25)
        tr = widgets.TrainingExplorer(result)
        steps = [snapshot.step for snapshot in result.snapshots]
        moved.append(("training: step", cycle(tr.step, steps)))
    try:
        p = widgets.PretrainedExplorer()
    except Exception as error:  # the model package is missing: ModelNotAvailable
        print(f"(the pretrained explorer is not measured: {error})")
    else:
        moved.append(("pretrained: head", cycle(p.head, list(range(12)))))
        moved.append(("pretrained: layer", cycle(p.layer, list(range(6)))))
    rows += [(name, median_ms(action), TARGET_MS) for name, action in moved]

    width = max(len(name) for name, _, _ in rows)
    print(f"{'redraw':<{width}}  median ms  target ms  ratio")
    for name, ms, target in rows:
        print(f"{name:<{width}}  {ms:9.1f}  {target:9.0f}  {ms / target:5.2f}x")


if __name__ == "__main__":
    main()

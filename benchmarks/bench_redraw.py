"""How long one redraw of each explorer takes
(a benchmark, not a test: machines are noisy).

    python benchmarks/bench_redraw.py

A redraw is what a reader waits for after moving a control: recompute with the package,
update the existing artists, render the PNG the widget shows. Target: under 50 ms for up
to 16 tokens. Prints medians over repeated redraws, measured side by side in one run.
"""

from __future__ import annotations

import statistics
import time

from selfattention import widgets

TARGET_MS = 50.0
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
            )
        )
        rows.append(
            (
                f"attention matrix, {n:2d} tokens: other layer",
                median_ms(cycle(e.layer, [0, 1])),
            )
        )
        sentences = [" ".join(words[:n]), " ".join(reversed(words[:n]))]
        rows.append(
            (
                f"attention matrix, {n:2d} tokens: new sentence",
                median_ms(cycle(e.sentence, sentences)),
            )
        )
    d = widgets.DotProductExplorer()
    rows.append(
        ("dot product: query angle", median_ms(cycle(d.angle, list(range(0, 360, 15)))))
    )
    s = widgets.ScalingExplorer()
    rows.append(("scaling: d_k", median_ms(cycle(s.d_k, widgets.DK_OPTIONS))))
    t = widgets.TemperatureExplorer()
    rows.append(
        ("temperature: scale", median_ms(cycle(t.scale, widgets.SCALE_OPTIONS)))
    )
    b = widgets.BlendExplorer()
    rows.append(
        ("blend: query angle", median_ms(cycle(b.angle, list(range(0, 360, 10)))))
    )
    rows.append(("blend: move v3", median_ms(cycle(b.v3_x, [-1.5, -0.5, 0.5, 1.5]))))

    width = max(len(name) for name, _ in rows)
    print(f"{'redraw':<{width}}  median ms  / target {TARGET_MS:.0f} ms")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:9.1f}  {ms / TARGET_MS:6.2f}x")


if __name__ == "__main__":
    main()

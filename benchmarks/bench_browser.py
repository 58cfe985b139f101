"""How fast the HTML book's JavaScript computes and redraws chapter 6's explorer, how
closely it agrees with the Python package, and how big it is (a benchmark, not a test:
machines are noisy).

    python benchmarks/bench_browser.py            # a page with the book's scripts only
    python benchmarks/bench_browser.py --book     # the built chapter (_build/html)

In headless Chromium (Debian's ``chromium``, offline, 127.0.0.1 only). Targets (issue
17): ``selfattention.handBuilt`` at most 5 ms for 16 tokens; a typed sentence to its new
picture at most 100 ms (the input event: tokenize, both layers, heatmap and bars drawn;
"to the next frame" adds the browser's style, layout and paint, up to the next frame).
Prints medians of repeated runs, measured side by side in one page, each with its ratio
to its target; the largest weight difference from ``examples.contextualize`` over many
sentences; the scripts' sizes, plain and gzipped.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import chromium  # noqa: E402  (the browser, its flags, offline routing)
from selfattention import examples  # noqa: E402
from tests.test_browser_compute import HARD, SCRIPTS, compare, write_page  # noqa: E402

HAND_BUILT_TARGET_MS = 5.0
REDRAW_TARGET_MS = 100.0
REPEATS = 21

WORDS = "the animal didn't cross the zebra street because it was too tired and".split()

#: handBuilt on one sentence: median ms per call (calls timed in groups: the page's
#: clock ticks in 0.1 ms).
HAND_BUILT = """([sentence, repeats]) => {
    const group = 20, times = [];
    selfattention.handBuilt(sentence);  // warm-up
    for (let r = 0; r < repeats; r++) {
        const start = performance.now();
        for (let g = 0; g < group; g++) selfattention.handBuilt(sentence);
        times.push((performance.now() - start) / group);
    }
    times.sort((a, b) => a - b);
    return times[times.length >> 1];
}"""

#: A change in the explorer, from the event to the new picture in the page (sync) and
#: to the next frame (style, layout, paint): medians in ms. ``change(i)`` makes the
#: i-th change.
REDRAW = """async ([kind, sentences, repeats]) => {
    const e = document.querySelector('.sa-explorer');
    const input = e.querySelector('input[type=text]');
    const radios = e.querySelectorAll('input[type=radio]');
    const select = e.querySelector('select');
    const change = (i) => {
        if (kind === 'sentence') {
            input.value = sentences[i % 2];
            input.dispatchEvent(new Event('input'));
        } else if (kind === 'layer') {
            radios[i % 2].checked = true;
            radios[i % 2].dispatchEvent(new Event('change'));
        } else {
            select.value = String(i % select.options.length);
            select.dispatchEvent(new Event('change'));
        }
    };
    input.value = sentences[1];
    input.dispatchEvent(new Event('input'));
    const frame = () => new Promise(
        (r) => requestAnimationFrame(() => setTimeout(r, 0)));
    await frame();
    const sync = [], painted = [];
    for (let i = 0; i < repeats; i++) {
        const before = e.querySelector('.sa-picture').innerHTML;
        const start = performance.now();
        change(i);
        sync.push(performance.now() - start);
        await frame();
        painted.push(performance.now() - start);
        if (e.querySelector('.sa-picture').innerHTML === before) {
            throw new Error('the picture did not change');
        }
    }
    const median = (t) => t.sort((a, b) => a - b)[t.length >> 1];
    return [median(sync), median(painted)];
}"""


def sentences(rng, count: int) -> list[str]:
    """Random sentences of 1 to 16 words: the vocabulary, unknown words, punctuation."""
    vocabulary = sorted(examples.VOCABULARY) + ["zebra", "café", "東京", "42", "it's"]
    return [
        " ".join(rng.choice(vocabulary, size=rng.integers(1, 17)))
        + rng.choice([".", "!", "?", ""])
        for _ in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", action="store_true", help="measure the built book")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if args.book:
        html = ROOT / "_build" / "html"
        if not (html / "chapters" / "06_attention_matrix.html").exists():
            raise SystemExit("build the book first: jupyter-book build .")
        folder, name, scripts = (
            html,
            "chapters/06_attention_matrix.html",
            html / "_static",
        )
    else:
        folder = Path(tempfile.mkdtemp(prefix="bench-browser-"))
        write_page(folder)
        name, scripts = "index.html", folder
    with chromium.serve(folder) as base, sync_playwright() as pw:
        url = base + name
        browser = chromium.launch(pw)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        chromium.block_external(page)
        page.goto(url)
        page.wait_for_function("() => document.querySelector('.sa-explorer svg')")
        version = browser.version
        rows = []
        for n in (4, 8, 16):
            sentence = " ".join(WORDS[:n])
            ms = page.evaluate(HAND_BUILT, [sentence, REPEATS])
            rows.append((f"handBuilt, {n:2d} tokens", ms, HAND_BUILT_TARGET_MS))
        typed = [" ".join(WORDS[:16]), " ".join(reversed(WORDS[:16]))]
        for kind, what in [
            ("sentence", "a sentence typed"),
            ("layer", "another layer"),
            ("query", "another query token"),
        ]:
            sync, painted = page.evaluate(REDRAW, [kind, typed, REPEATS])
            rows.append((f"16 tokens, {what}: new picture", sync, REDRAW_TARGET_MS))
            rows.append((f"16 tokens, {what}: next frame", painted, REDRAW_TARGET_MS))
        many = HARD + sentences(np.random.default_rng(0), 500)
        problems, worst = compare(page, many)
        browser.close()

    print(f"Chromium {version}, headless; medians of {REPEATS} runs; page: {url}")
    print(f"{'':44} {'median':>9} {'target':>8} {'ratio':>6}")
    for name, ms, target in rows:
        print(f"{name:44} {ms:7.2f} ms {target:5.0f} ms {ms / target:6.2f}")
    print(
        f"\nParity with examples.contextualize on {len(many)} sentences "
        f"({len(HARD)} hard ones, {len(many) - len(HARD)} random): "
        f"largest weight difference {worst:.1e}; {len(problems)} problems"
    )
    for problem in problems[:10]:
        print("  ", problem)
    print("\nScripts (bytes, plain / gzip):")
    for name in SCRIPTS:
        data = next(scripts.rglob(name)).read_bytes()
        print(f"  {name:24} {len(data):7d} / {len(gzip.compress(data, 9)):6d}")


if __name__ == "__main__":
    main()

"""How long the in-page all-MiniLM-L6-v2 takes in the built book, and how big it is
(a benchmark, not a test: machines are noisy).

    python benchmarks/bench_browser_minilm.py            # after jupyter-book build .

Serves ``_build/html`` on 127.0.0.1 (a plain static server: one WebAssembly thread) to
headless Chromium, offline, and measures in the page (``performance.now``):

- the first call: from ``miniLM(sentence)`` to its result, in a fresh browser context
  (nothing cached): the download, onnxruntime's start, the tokenizer, one run.
  Target: at most 5 s.
- every call after that, for sentences of 8, 16 and 32 tokens. Target: at most 300 ms.
- chapter 12's explorer (``book_assets/js/explorer-pretrained.js``), in a fresh
  context: from the click on its button to its first picture computed by the model
  (target: 5 s, as the first call); then from a sentence typed into its text box to its
  new picture, for 8, 16 and 32 tokens (target: 300 ms); and, without the model, from a
  click on another head to the new picture (target: 100 ms, as chapter 6's typed
  sentence).

Prints medians (and the fastest time: on a busy machine the medians mostly measure the
other processes) with their ratio to the target, the machine's load, and the sizes of
the files a reader downloads on asking for the model (budget 60 MB) and of the book
without them (budget 15 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from selfattention import pretrained, pretrained_onnx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import chromium  # noqa: E402  (the browser, its flags, offline routing)

HTML = ROOT / "_build" / "html"
STATIC = HTML / "_static" / "minilm"
FIRST_TARGET_MS = 5000.0
NEXT_TARGET_MS = 300.0
LENGTHS = (8, 16, 32)
REDRAW_TARGET_MS = 100.0
CHAPTER = "chapters/12_real_model.html"


def sentences_of(tokenizer, n: int, count: int) -> list[str]:
    """``count`` different sentences of exactly ``n`` tokens ([CLS] and [SEP] too)."""
    found = [
        s
        for s in pretrained_onnx.sample_sentences(tokenizer, 30 * count, seed=n)
        if len(tokenizer(s)["input_ids"]) == n
    ]
    if len(found) < count:
        raise RuntimeError(f"only {len(found)} sample sentences of {n} tokens")
    return found[:count]


def open_page(browser, url, name="intro.html"):
    """A page of the book, offline; minilm.js added unless the page has it."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    chromium.block_external(page)
    page.goto(url + name)
    if name == "intro.html":
        page.add_script_tag(url=url + "_static/js/minilm.js")
    page.wait_for_load_state("networkidle")
    if name == CHAPTER:  # the explorer drawn and its button offered
        page.wait_for_function(
            "() => document.querySelector('.sa-pretrained').dataset.state === 'ready'"
        )
    return context, page


TIME_CALLS = """async sentences => {
    const times = [];
    for (const s of sentences) {
        const start = performance.now();
        await selfattention.miniLM(s);
        times.push(performance.now() - start);
    }
    return times;
}"""


#: Until the browser has made the frame that shows what was just drawn.
FRAME = "new Promise((r) => requestAnimationFrame(() => setTimeout(r)))"
#: Click the explorer's button: the time until its first picture computed by the model
#: is on screen (the explorer's state turns "live" when it is drawn).
TIME_CLICK = f"""async () => {{
    const e = document.querySelector('.sa-pretrained');
    const live = new Promise((resolve) => new MutationObserver(() => {{
        if (e.dataset.state === 'live') resolve();
    }}).observe(e, {{attributes: true, attributeFilter: ['data-state']}}));
    const start = performance.now();
    e.querySelector('button').click();
    await live;
    await {FRAME};
    return performance.now() - start;
}}"""
#: Each sentence typed into the explorer's text box: the time until its new picture
#: is on screen.
TIME_TYPED = f"""async (sentences) => {{
    const e = document.querySelector('.sa-pretrained');
    const box = e.querySelector('input[type=text]');
    const heatmap = e.querySelector('.sa-heatmap');
    const times = [];
    for (const s of sentences) {{
        await {FRAME};
        const drawn = new Promise((resolve) => {{
            const watch = new MutationObserver(() => {{
                watch.disconnect();
                resolve();
            }});
            watch.observe(heatmap, {{childList: true}});
        }});
        const start = performance.now();
        box.value = s;
        box.dispatchEvent(new Event('input'));
        await drawn;
        await {FRAME};
        times.push(performance.now() - start);
    }}
    return times;
}}"""
#: Without the model: a click on each head in turn, the time until its new picture is
#: on screen (it is drawn at once).
TIME_HEADS = f"""async (rounds) => {{
    const e = document.querySelector('.sa-pretrained');
    const heads = Array.from(e.querySelectorAll('fieldset')[1]
        .querySelectorAll('input[type=radio]'));
    const times = [];
    for (let k = 0; k < rounds * heads.length; k++) {{
        await {FRAME};
        const start = performance.now();
        heads[(k + 2) % heads.length].click();
        await {FRAME};
        times.push(performance.now() - start);
    }}
    return times;
}}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", type=int, default=5, help="fresh first calls")
    parser.add_argument("--next", type=int, default=15, help="calls per length")
    parser.add_argument(
        "--clicks", type=int, default=3, help="fresh clicks on the explorer's button"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    config = json.loads((STATIC / "minilm.json").read_text(encoding="utf-8"))
    if not config["available"]:
        raise SystemExit(config["unavailable"])
    tokenizer, _ = pretrained.load()
    rows = []
    with chromium.serve(HTML) as url:
        with sync_playwright() as p:
            browser = chromium.launch(p)
            first = []
            for _ in range(args.first):
                context, page = open_page(browser, url)
                first += page.evaluate(TIME_CALLS, [pretrained_onnx.ODD_WORDS[0]])
                context.close()
            rows.append(
                (
                    f"first call (fresh context, {config['download_bytes'] / 1e6:.0f} "
                    "MB loaded)",
                    first,
                    FIRST_TARGET_MS,
                )
            )
            context, page = open_page(browser, url)
            page.evaluate(TIME_CALLS, ["it"])  # loads the model
            for n in LENGTHS:
                times = page.evaluate(TIME_CALLS, sentences_of(tokenizer, n, args.next))
                rows.append((f"next call, {n} tokens", times, NEXT_TARGET_MS))
            context.close()
            # chapter 12's explorer
            context, page = open_page(browser, url, CHAPTER)
            times = page.evaluate(TIME_HEADS, 2)
            rows.append(
                ("explorer, no model: head clicked to picture", times, REDRAW_TARGET_MS)
            )
            context.close()
            clicks = []
            for k in range(args.clicks):
                context, page = open_page(browser, url, CHAPTER)
                clicks.append(page.evaluate(TIME_CLICK))
                if k < args.clicks - 1:  # the last one types next
                    context.close()
            rows.append(
                ("explorer: button clicked to first picture", clicks, FIRST_TARGET_MS)
            )
            for n in LENGTHS:
                sentences = sentences_of(tokenizer, n, args.next)
                times = page.evaluate(TIME_TYPED, sentences)
                rows.append(
                    (f"explorer: typed, {n} tokens, to picture", times, NEXT_TARGET_MS)
                )
            context.close()
            browser.close()
    load = os.getloadavg()
    print(
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f} (1 min), "
        f"{load[1]:.1f} (5 min); medians; first calls: {args.first}, "
        f"next calls: {args.next} per length, explorer clicks: {args.clicks}"
    )
    print()
    print("| what | median (ms) | fastest (ms) | target (ms) | median / target |")
    print("|---|---:|---:|---:|---:|")
    for what, times, target in rows:
        ms = statistics.median(times)
        print(
            f"| {what} | {ms:.0f} | {min(times):.0f} | {target:.0f} "
            f"| {ms / target:.2f} |"
        )
    print()
    files = {name: (STATIC / name).stat().st_size for name in config["files"]}
    groups = {
        f"model ({config['graph']}, {config['precision']})": [config["graph"]],
        "WebAssembly (onnxruntime-web)": [n for n in files if n.endswith(".wasm")],
        "JavaScript modules": [n for n in files if n.endswith(".mjs")],
        "tokenizer files": list(config["tokenizer"]),
    }
    on_demand = sum(p.stat().st_size for p in STATIC.rglob("*") if p.is_file())
    book = sum(
        p.stat().st_size
        for p in HTML.rglob("*")
        if p.is_file() and not p.is_relative_to(STATIC)
    )
    print("| files | MB | budget (MB) |")
    print("|---|---:|---:|")
    for what, names in groups.items():
        print(f"| {what} | {sum(files[n] for n in names) / 1e6:.1f} | |")
    print(f"| on demand, all of _static/minilm/ | {on_demand / 1e6:.1f} | 60 |")
    print(f"| the book without them | {book / 1e6:.1f} | 15 |")


if __name__ == "__main__":
    main()

"""The time to write one new token, with and without a KV cache, against the length of
the context; and the cache's memory against the formula 2 · layers · heads · d_head · n
· bytes.

    # n = 64 ... 4096, d_model 256, 4 layers, 4 heads (about 2 minutes on 2 cores)
    python benchmarks/bench_kv_cache.py
    # longer contexts, more repeats, another model size
    python benchmarks/bench_kv_cache.py --sizes 64-16384 --repeats 9
    python benchmarks/bench_kv_cache.py --d-model 512 --layers 8 --heads 8
    python benchmarks/bench_kv_cache.py --device cuda

The model is ``selfattention.decoder.Decoder`` with random weights (of a realistic size;
the time does not depend on what the weights are). For each context length n, the next
word after n tokens is scored twice:

- without the cache: the whole text of n tokens goes through the model again, as it
  would at every step of generation without a cache;
- with the cache: the keys and values of the first n - 1 tokens are already cached
  (before timing), and only the n-th token goes through the model: one query per head
  against n cached keys.

Both give the same scores (the largest difference is printed). Times are medians of
``--repeats`` rounds; each round times one call of each, one after the other, so that a
busy moment of a shared machine slows both alike and the ratio stays meaningful. The
memory column is what the cached tensors of n tokens take, read from the tensors
themselves, next to the formula. The machine's load average is printed before and
after: timings from a shared machine are only indicative.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from selfattention.decoder import Decoder, KVCache, LayerCache, kv_cache_bytes

WORDS = 1000  # vocabulary size of the random model


def sizes_from(text: str) -> list[int]:
    """'64-4096' -> [64, 128, ..., 4096] (powers of two); '100,300' -> [100, 300]."""
    if "-" in text:
        first, last = (int(x) for x in text.split("-"))
        sizes = [first]
        while sizes[-1] * 2 <= last:
            sizes.append(sizes[-1] * 2)
        return sizes
    return [int(x) for x in text.split(",")]


def copy(cache: KVCache) -> KVCache:
    """A cache holding the same tensors: appending to it leaves ``cache`` as it was (the
    append makes new tensors).
    """
    return KVCache([LayerCache(c.k, c.v) for c in cache.layers], cache.length)


def measure(model: Decoder, n: int, repeats: int, device) -> dict:
    """Median seconds per new token with and without the cache, after n tokens."""
    g = torch.Generator().manual_seed(n)
    tokens = torch.randint(WORDS, (1, n), generator=g).to(device)  # (1, n)
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    cache = KVCache.empty(len(model.layers))
    model(tokens[:, :-1], cache)  # the first n - 1 tokens, cached

    def without():
        return model(tokens)[0][:, -1]  # (1, words): the scores after token n

    def with_cache():
        return model(tokens[:, -1:], copy(cache))[0][:, -1]  # (1, words)

    difference = (without() - with_cache()).abs().max().item()  # also a warm-up
    times = {"without": [], "with": []}
    for _ in range(repeats):
        for name, fn in (("without", without), ("with", with_cache)):
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    full = copy(cache)
    model(tokens[:, -1:], full)  # now n tokens are cached
    return {
        "without": statistics.median(times["without"]),
        "with": statistics.median(times["with"]),
        "difference": difference,
        "bytes": full.bytes,
    }


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="64-4096", help="e.g. 64-4096 or 100,300")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: on a busy shared machine, more threads "
        "wait for each other and the times swing by 10x)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes, device = sizes_from(args.sizes), torch.device(args.device)
    d_head = args.d_model // args.heads

    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"device {device}"
    )
    print(f"load average (1, 5, 15 min) before: {load()}")
    print(
        f"random decoder: d_model {args.d_model}, {args.layers} layers, "
        f"{args.heads} heads (d_head {d_head}), {WORDS} words, float32; "
        f"medians of {args.repeats} rounds\n"
    )
    model = Decoder(
        WORDS,
        layers=args.layers,
        d_model=args.d_model,
        heads=args.heads,
        max_tokens=max(sizes),
        seed=0,
    ).to(device)

    header = [
        "n",
        "without cache ms",
        "with cache ms",
        "speed-up",
        "max |difference|",
        "cache MiB",
        "formula MiB",
    ]
    rows = []
    with torch.no_grad():
        for n in sizes:
            m = measure(model, n, args.repeats, device)
            formula = kv_cache_bytes(
                layers=args.layers, heads=args.heads, d_head=d_head, n=n
            )
            rows.append(
                [
                    n,
                    f"{1e3 * m['without']:.2f}",
                    f"{1e3 * m['with']:.3f}",
                    f"{m['without'] / m['with']:.1f}x",
                    f"{m['difference']:.1e}",
                    f"{m['bytes'] / 2**20:.2f}",
                    f"{formula / 2**20:.2f}",
                ]
            )
            print(f"  n = {n} done", flush=True)
    print()
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for row in (header, ["-" * w for w in widths], *rows):
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)))
    print(
        "\nformula: 2 (a key and a value) · layers · heads · d_head · n · 4 bytes "
        "(float32)"
    )
    print(f"load average (1, 5, 15 min) after: {load()}")


if __name__ == "__main__":
    main()

"""Speed and memory of every attention implementation, measured side by side in one run.

    # the full table (about 10 minutes on 2 cores)
    python benchmarks/bench_attention.py
    # n up to 2048, fewer repeats
    python benchmarks/bench_attention.py --quick
    python benchmarks/bench_attention.py --no-memory

Times are medians of several runs after a warm-up, taken in rounds: each round calls
every implementation of one library once, in turn, together with a large matrix product
of that library, so that a busy moment of a shared machine slows them all alike and the
ratios stay meaningful. The NumPy rounds come first, then the torch rounds, with a
warm-up and a pause in between (see ``side_by_side``). "limit" is the time the two
matrix products alone would take at the matrix-multiply speed measured in the same
rounds: 4·n²·d floating-point operations (2·n²·d for Q·Kᵀ and 2·n²·d for W·V) divided by
the GFLOP/s of a 2048 × 2048 GEMM, for NumPy and for torch. Ratios below 1 are
impossible for an implementation that does both products. The last lines compare the
results with the project's targets. Peak memory is measured in a fresh process per
implementation: tracemalloc's peak for NumPy, growth of the peak resident set for torch
(inputs excluded). On CUDA, the torch implementations are also timed in float16,
bfloat16 and float32.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

D = 64


GEMM_N = 2048


def side_by_side(
    groups: list[dict], repeats: int, sync=lambda: None, pause: float = 0.5
) -> dict:
    """Median seconds of each function, measured in rounds that call every function of
    a group once, in turn.

    ``groups`` holds one dict of functions per library (each with that library's GEMM).
    The groups are measured one after the other, with a warm-up and a pause in between:
    OpenBLAS's and OpenMP's worker threads keep spinning for a moment after a call, and
    the first large array after the other library's gigabytes comes back from the
    operating system page by page; either would be billed to whichever function came
    next.
    """
    times = {name: [] for group in groups for name in group}
    for group in groups:
        time.sleep(pause)
        for fn in group.values():  # warm-up
            fn()
            sync()
        for _ in range(repeats):
            for name, fn in group.items():
                start = time.perf_counter()
                fn()
                sync()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def gemm(library: str, dtype: str):
    """A GEMM_N x GEMM_N matrix product (2·GEMM_N³ operations),
    to time next to attention.
    """
    a = np.random.default_rng(0).standard_normal((GEMM_N, GEMM_N)).astype(dtype)
    if library == "torch":
        import torch

        a = torch.from_numpy(a)
    return lambda: a @ a


def implementations(q, k, v):
    """name -> (library, zero-argument function) for inputs of shape (heads, n, d)."""
    import torch
    import torch.nn.functional as F

    from selfattention import fast, numpy_backend, torch_backend, torch_fast

    qt, kt, vt = (torch.from_numpy(x) for x in (q, k, v))
    # (1, heads, n, d): SDPA's fast path
    q4, k4, v4 = (t.unsqueeze(0) for t in (qt, kt, vt))
    return {
        "numpy attention": ("numpy", lambda: numpy_backend.attention(q, k, v)),
        "numpy chunked": ("numpy", lambda: fast.chunked_attention(q, k, v)),
        "torch attention": ("torch", lambda: torch_backend.attention(qt, kt, vt)),
        "torch fused": ("torch", lambda: torch_fast.fused_attention(qt, kt, vt)),
        "SDPA 4-D": ("torch", lambda: F.scaled_dot_product_attention(q4, k4, v4)),
    }


def time_table(cases, repeats_for):
    import torch

    rows = []
    for n, heads, dtype in cases:
        rng = np.random.default_rng(0)
        q, k, v = (rng.standard_normal((heads, n, D)).astype(dtype) for _ in range(3))
        groups = {
            library: {f"{library} GEMM": gemm(library, dtype)}
            for library in ("numpy", "torch")
        }
        for name, (library, fn) in implementations(q, k, v).items():
            groups[library][name] = fn
        with torch.inference_mode():
            seconds = side_by_side(list(groups.values()), repeats_for(n, heads))
        row = {
            "n": n,
            "heads": heads,
            "dtype": dtype,
            "ms": {},
            "limit_ms": {},
            "gflops": {},
        }
        for library in ("numpy", "torch"):
            row["gflops"][library] = (
                2 * GEMM_N**3 / seconds.pop(f"{library} GEMM") / 1e9
            )
            row["limit_ms"][library] = (
                1e3 * 4 * heads * n * n * D / (row["gflops"][library] * 1e9)
            )
        row["ms"] = {name: 1e3 * s for name, s in seconds.items()}
        rows.append(row)
        print(f"  measured n={n} heads={heads} {dtype}", file=sys.stderr, flush=True)
    return rows


MEMORY_SNIPPET = """
import json, sys, tracemalloc
import numpy as np
name, n, heads, dtype = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, sys.argv[5])
from bench_attention import implementations
rng = np.random.default_rng(0)
q, k, v = (rng.standard_normal((heads, n, 64)).astype(dtype) for _ in range(3))
library, fn = implementations(q, k, v)[name]
import torch
torch.set_grad_enabled(False)
if library == "numpy":
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] - getattr(out, "nbytes", out[0].nbytes)
else:
    def status(field):  # kB values from /proc/self/status
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    before = status("VmRSS:")  # inputs are resident already
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak resident set size (VmHWM) to the current size
    out = fn()
    peak = status("VmHWM:") - before
print(json.dumps(max(peak, 0)))
"""


def peak_memory_mib(name, n, heads, dtype) -> float:
    here = os.path.dirname(os.path.abspath(__file__))
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SNIPPET, name, str(n), str(heads), dtype, here],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout) / 2**20


def cuda_table(sizes):
    import torch
    import torch.nn.functional as F

    from selfattention import torch_backend, torch_fast

    rows = []
    for n in sizes:
        for dtype in ("float16", "bfloat16", "float32"):
            t = getattr(torch, dtype)
            q, k, v = (
                torch.randn(1, 8, n, D, device="cuda", dtype=t) for _ in range(3)
            )
            fns = {
                "torch attention": lambda q=q, k=k, v=v: torch_backend.attention(
                    q, k, v
                ),
                "torch fused": lambda q=q, k=k, v=v: torch_fast.fused_attention(
                    q, k, v
                ),
                "SDPA 4-D": lambda q=q, k=k, v=v: F.scaled_dot_product_attention(
                    q, k, v
                ),
            }
            with torch.inference_mode():
                seconds = side_by_side([fns], 10, torch.cuda.synchronize, 0)
                ms = {name: 1e3 * s for name, s in seconds.items()}
            rows.append((n, dtype, ms))
    return rows


def print_targets(rows, memory) -> None:
    """The project's speed and memory targets, checked on this run's numbers
    (float32, n ≥ 1024).
    """
    big = [r for r in rows if r["dtype"] == "float32" and r["n"] >= 1024]
    if not big:
        return

    def worst(name, against):
        row = max(big, key=lambda r: r["ms"][name] / against(r))
        ratio = row["ms"][name] / against(row)
        return (
            f"{ratio:.2f} (n = {row['n']}, "
            f"{row['heads']} head{'s' if row['heads'] > 1 else ''})"
        )

    print("\ntargets (float32, n ≥ 1024; the worst ratio measured):")
    print(
        "  numpy attention / numpy limit ≤ 3:  "
        f"{worst('numpy attention', lambda r: r['limit_ms']['numpy'])}"
    )
    print(
        "  torch fused / SDPA 4-D ≤ 1.1:       "
        f"{worst('torch fused', lambda r: r['ms']['SDPA 4-D'])}"
    )
    print(
        "  numpy chunked / SDPA 4-D ≤ 1.25:    "
        f"{worst('numpy chunked', lambda r: r['ms']['SDPA 4-D'])}"
    )
    if memory:
        n = max(memory)
        print(
            f"  numpy chunked extra memory at n = {n} ≤ 16 MiB: "
            f"{memory[n]['numpy chunked']:.1f} MiB"
        )


def print_environment():
    import threadpoolctl
    import torch

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"torch {torch.__version__}"
    )
    print(f"cpu cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}")
    for pool in threadpoolctl.threadpool_info():
        print(
            f"  {pool['user_api']}: {pool['internal_api']} {pool.get('version')}, "
            f"{pool['num_threads']} threads ({os.path.basename(pool['filepath'])})"
        )
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS"):
        if os.environ.get(var):
            print(f"  {var}={os.environ[var]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="n up to 2048 and fewer repeats"
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the peak-memory table"
    )
    args = parser.parse_args()

    print_environment()
    sizes = (
        [128, 512, 1024, 2048] if args.quick else [128, 512, 1024, 2048, 4096, 16384]
    )
    cases = [(n, 1, dt) for dt in ("float32", "float64") for n in sizes] + [
        (1024, 8, "float32"),
        (1024, 8, "float64"),
    ]

    def repeats_for(n, heads):
        work = heads * n * n
        return 2 if work >= 2**27 else (3 if args.quick or work >= 2**23 else 7)

    rows = time_table(cases, repeats_for)
    names = list(rows[0]["ms"])
    header = (
        f"{'n':>6} {'h':>2} {'dtype':<8}"
        + "".join(f"{name:>17}" for name in names)
        + f"{'np limit':>10}{'torch limit':>12}{'GFLOP/s np|torch':>18}"
    )
    print("\nmedian time, ms (ratio to the limit of its library; ratio to SDPA 4-D)")
    print(header)
    for row in rows:
        cells = ""
        for name in names:
            library = "numpy" if name.startswith("numpy") else "torch"
            ms = row["ms"][name]
            cells += (
                f"{ms:8.2f} ({ms / row['limit_ms'][library]:3.1f}"
                f"|{ms / row['ms']['SDPA 4-D']:3.1f})"
            )
        print(
            f"{row['n']:>6} {row['heads']:>2} {row['dtype']:<8}{cells}"
            f"{row['limit_ms']['numpy']:10.2f}{row['limit_ms']['torch']:12.2f}"
            f"{row['gflops']['numpy']:11.0f}|{row['gflops']['torch']:.0f}"
        )

    memory = {}
    if not args.no_memory:
        print(
            "\npeak extra memory, "
            "MiB (fresh process each; inputs and output excluded for NumPy)"
        )
        mem_sizes = [1024, 4096] if args.quick else [1024, 4096, 16384]
        print(
            f"{'n':>6} {'dtype':<8}"
            + "".join(f"{name:>17}" for name in names)
            + f"{'n x n matrix':>14}"
        )
        for n in mem_sizes:
            memory[n] = {name: peak_memory_mib(name, n, 1, "float32") for name in names}
            print(
                f"{n:>6} {'float32':<8}"
                + "".join(f"{memory[n][name]:17.1f}" for name in names)
                + f"{n * n * 4 / 2**20:14.1f}"
            )

    print_targets(rows, memory)

    import torch

    if torch.cuda.is_available():
        print(f"\nCUDA: {torch.cuda.get_device_name()} (8 heads, median ms)")
        for n, dtype, ms in cuda_table([1024, 4096, 16384]):
            print(
                f"{n:>6} {dtype:<9}"
                + "".join(f"{name}: {t:8.3f}  " for name, t in ms.items())
            )
    else:
        print("\nCUDA: not available here (the GPU table needs a CUDA device)")


if __name__ == "__main__":
    main()

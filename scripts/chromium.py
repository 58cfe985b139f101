"""Headless Chromium, offline: one home for what the PDF build and every browser test
share (``scripts/build_pdf.py``, ``tests/test_browser*.py``, ``tests/test_pdf.py``,
``tests/test_accessibility.py``, ``tests/test_jupyterlab.py``, and the benchmarks
``benchmarks/bench_browser*.py``).

- ``CHROMIUM``: the browser (Debian's ``chromium``; ``SELFATTENTION_CHROMIUM`` names
  another) and ``LAUNCH_ARGS``, its flags: headless as root, nothing phoning home.
- ``launch(playwright)``: that browser, started by Playwright's synchronous API.
- ``block_external(page)``: every request that leaves 127.0.0.1 is refused (and
  counted); ``data:`` and ``file:`` addresses stay on the machine and load.
- ``serve(directory)``: a folder on 127.0.0.1 at a free port, for as long as needed.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = (
    os.environ.get("SELFATTENTION_CHROMIUM")
    or shutil.which("chromium")
    or "/usr/bin/chromium"
)
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Why there is no browser to test with, or None (the tests skip with this reason).
MISSING = (
    None
    if Path(CHROMIUM).exists()
    else f"no Chromium at {CHROMIUM}: install Debian's chromium "
    "(apt-get install -y chromium)"
)


def launch(playwright):
    """Chromium with ``LAUNCH_ARGS``, from Playwright's synchronous API."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)


def is_local(url: str) -> bool:
    """True for an address on 127.0.0.1 or one with no host (``data:``, ``file:``)."""
    return urlparse(url).hostname in ("127.0.0.1", None)


def block_external(
    page, blocked: list[str] | None = None, requests: list[str] | None = None
) -> None:
    """Refuse, on ``page``, every request that leaves 127.0.0.1; append its address
    to ``blocked``, and every request's to ``requests`` (when given)."""

    def route(r):
        url = r.request.url
        if requests is not None:
            requests.append(url)
        if is_local(url):
            r.continue_()
        else:
            if blocked is not None:
                blocked.append(url)
            r.abort()

    page.route("**/*", route)


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """``directory`` on 127.0.0.1 at a free port; yields the base URL
    (``http://127.0.0.1:<port>/``)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()

"""Shared fixtures: every library test runs on both backends
(and on CUDA where it exists).

torch is an optional extra (``pip install -e .[torch]``): without it the NumPy tests
still run and the torch ones are skipped with the reason. Import torch in a test module
through ``torch = pytest.importorskip(...)`` or use ``requires_torch``; this file
imports it only if it is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import subprocess
import sys

import numpy as np
import pytest

from selfattention import numpy_backend

HAS_TORCH = importlib.util.find_spec("torch") is not None
NO_TORCH = "torch is not installed (it is an optional extra: pip install -e .[torch])"
requires_torch = pytest.mark.skipif(not HAS_TORCH, reason=NO_TORCH)


def _has_cuda() -> bool:
    if not HAS_TORCH:
        return False
    import torch

    return torch.cuda.is_available()


HAS_CUDA = _has_cuda()
requires_cuda = pytest.mark.skipif(
    not HAS_CUDA, reason="CUDA is not available on this machine"
)


def losses_in_a_fresh_process(module: str, call: str) -> list[float]:
    """The losses of ``selfattention.<module>.<call>``, a training run made by a new
    Python process (nothing cached, a fresh random state): the determinism tests
    compare them with the same run made here, bit for bit."""
    code = (
        f"import json; from selfattention import {module}; "
        f"print(json.dumps({module}.{call}.losses.tolist()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


class Backend:
    """Adapts a test to one backend: turn NumPy arrays into the
    backend's arrays and back.
    """

    def __init__(self, name, module_name, device=None):
        self.name, self.module_name, self.device = name, module_name, device

    @property
    def mod(self):
        """The backend module, imported on first use (so that the torch backend is
        imported only if needed).
        """
        return importlib.import_module(self.module_name)

    @property
    def is_numpy(self) -> bool:
        return self.mod is numpy_backend

    def dtype(self, name="float64"):
        """The backend's dtype object of that name
        (np.float64 or torch.float64, ...).
        """
        if self.is_numpy:
            return np.dtype(name)
        import torch

        return getattr(torch, name)

    def asarray(self, x, dtype="float64"):
        x = np.asarray(x)
        if self.is_numpy:
            return x.astype(dtype) if x.dtype.kind in "fiu" else x
        import torch

        return torch.as_tensor(x, dtype=getattr(torch, dtype), device=self.device)

    def mask(self, x):
        x = np.asarray(x, dtype=bool)
        if self.is_numpy:
            return x
        import torch

        return torch.as_tensor(x, device=self.device)

    @staticmethod
    def to_numpy(x):
        if hasattr(x, "detach"):  # a torch tensor
            return x.detach().to("cpu").double().numpy()
        return np.asarray(x, dtype=np.float64)

    def __repr__(self):
        return self.name


NUMPY = Backend("numpy", "selfattention.numpy_backend")
TORCH_CPU = Backend("torch-cpu", "selfattention.torch_backend", "cpu")
TORCH_CUDA = Backend("torch-cuda", "selfattention.torch_backend", "cuda")
BACKENDS = [
    pytest.param(NUMPY, id="numpy"),
    pytest.param(TORCH_CPU, id="torch-cpu", marks=[requires_torch]),
    pytest.param(TORCH_CUDA, id="torch-cuda", marks=[pytest.mark.gpu, requires_cuda]),
]
# for hypothesis tests: many small examples, where a GPU adds nothing but launches
CPU_BACKENDS = BACKENDS[:2]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


class SwallowedErrors(logging.Handler):
    """Collects the exceptions that ipywidgets catches in callbacks and only logs
    ('Exception in widget').
    """

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        if record.exc_info or "Exception in widget" in record.getMessage():
            self.records.append(record)


#: Seconds that the slowest test modules and notebooks take, summed from
#: ``--durations=0`` on this project's 2-core machine (2026-12-07); the tests run them
#: first, the slowest first, then the others in their usual order. pytest-xdist, with
#: ``--dist loadscope --no-loadscope-reorder`` (.ci/run), gives each worker a whole
#: module whenever it is free: a long module taken last keeps one worker busy while the
#: others wait, where taken first the short ones fill in around it. A module missing
#: here merely runs later; a stale number costs time, never a result.
SECONDS = {
    "tests/test_accessibility.py": 430,  # the figures (tier 1), the pages (tier 3)
    "tests/test_jupyterlab.py": 220,
    "tests/test_browser.py": 154,
    "tests/test_pdf.py": 69,
    "tests/test_widgets.py": 55,
    "tests/test_browser_pretrained.py": 54,
    "tests/test_browser_compute.py": 45,
    "tests/test_figures.py": 39,
    "tests/test_typing.py": 32,  # one test: mypy with no cache
    "tests/test_browser_minilm.py": 19,
    "tests/test_decoder.py": 16,
    "tests/test_writing_widgets.py": 15,
    "tests/test_solutions.py": 14,
    "chapters/14_attention_that_writes.ipynb": 15,
    "chapters/13_learning.ipynb": 11,
    "chapters/10_multi_head.ipynb": 10,
}


def slowest_first(items: list) -> list:
    """``items`` with the modules of SECONDS first, the slowest first; every module's
    items together and in their order."""
    modules = list(dict.fromkeys(item.nodeid.split("::")[0] for item in items))
    rank = {module: (-SECONDS.get(module, 0), i) for i, module in enumerate(modules)}
    return sorted(items, key=lambda item: rank[item.nodeid.split("::")[0]])


def pytest_collection_modifyitems(config, items):
    items[:] = slowest_first(items)


@pytest.fixture(autouse=True)
def widget_errors():
    """Fail any test during which a widget callback raised, even though ipywidgets
    swallowed the exception.
    """
    handler = SwallowedErrors()
    # the logger ipywidgets' Widget.log writes to
    logger = logging.getLogger("traitlets")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
    if handler.records:
        details = "\n".join(
            f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
            for r in handler.records
        )
        pytest.fail(
            "an exception inside a widget callback was swallowed by "
            f"ipywidgets:\n{details}"
        )


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the test item
    (the browser tests screenshot failing pages).
    """
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def built_book():
    """The HTML book in ``_build/html``, a clean build of the sources as they are
    now: reused when ``scripts/build_book.py`` stamped it so (CI builds it that way
    before the tests), built from clean here otherwise. One build per session, shared
    by the browser, PDF and size tests."""
    from scripts import build_book

    return build_book.fresh_book()


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the whole session: its synchronous API cannot be started a
    second time while the first is running (the book's and JupyterLab's browser tests
    both need one)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - depends on the machine
        pytest.skip("Playwright's Python package is not installed")
    with sync_playwright() as p:
        yield p


def pytest_addoption(parser):
    parser.addoption(
        "--regenerate-baselines",
        action="store_true",
        help="tests/test_figures.py: draw every figure again and store it as its "
        "baseline in tests/baseline_images/ instead of comparing",
    )
    parser.addoption(
        "--regenerate-golden",
        action="store_true",
        help="tests/test_training.py: run the short training again and store its "
        "losses as the golden values in tests/golden/ instead of comparing",
    )


#: The built chapter whose explorer loads all-MiniLM-L6-v2 into the page
#: (book_assets/js/explorer-pretrained.js).
MODEL_CHAPTER = "chapters/12_real_model"

#: Press the explorer's button and, at the same moment, call the model in the page
#: (the calls share one download); wait for the explorer's first picture.
LOAD_BY_THE_BUTTON = """async () => {
    const explorer = document.querySelector('.sa-pretrained');
    const info = await selfattention.miniLM.info();
    const bar = explorer.querySelector('progress');
    const text = explorer.querySelector('.sa-progress-text');
    const shown = [];  // the progress bar, each time its text changes
    new MutationObserver(() => shown.push({value: bar.value, max: bar.max,
            text: text.textContent, visible: !bar.hidden && !text.hidden}))
        .observe(text, {childList: true, characterData: true, subtree: true});
    const button = explorer.querySelector('button');
    const label = button.textContent, visible = !button.hidden;
    const before = explorer.querySelector('.sa-heatmap svg');
    const progress = [];
    const start = performance.now();
    button.click();
    const onProgress = (p) => progress.push(p);
    const result = await selfattention.miniLM('it', {onProgress});
    while (explorer.dataset.state === 'loading') {
        await new Promise(r => setTimeout(r, 5));
    }
    return {info, label, visible, shown, progress, result,
            ms: performance.now() - start, state: explorer.dataset.state,
            redrawn: explorer.querySelector('.sa-heatmap svg') !== before,
            isolated: self.crossOriginIsolated, amd: !!(window.define && define.amd)};
}"""


@pytest.fixture(scope="session")
def chapter_with_model(playwright, book):
    """Chapter 12 of the built book, offline, after its explorer's button loaded the
    in-page model: one download of the model for the whole session, shared by
    tests/test_browser_minilm.py and tests/test_browser_pretrained.py.

    A namespace: ``page``; ``log`` (``requests``, ``external``: blocked requests,
    ``errors``: console errors); ``first``: what ``LOAD_BY_THE_BUTTON`` returned,
    with ``before``, the requests made before the button was pressed, and ``fetched``,
    those made while the model loaded. Skips when the book was built without its
    in-page model (no ``npm ci``).
    """
    import json
    import types

    from scripts import chromium
    from tests.test_browser import HTML

    path = HTML / "_static" / "minilm" / "minilm.json"
    if not path.is_file():
        pytest.skip(f"{path} is missing: rebuild the book")
    config = json.loads(path.read_text(encoding="utf-8"))
    if not config["available"]:
        pytest.skip(config["unavailable"])
    if chromium.MISSING:
        pytest.skip(chromium.MISSING)
    browser = chromium.launch(playwright)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    log = types.SimpleNamespace(requests=[], external=[], errors=[])
    chromium.block_external(page, log.external, log.requests)
    page.on("console", lambda m: m.type == "error" and log.errors.append(m.text))
    page.on("pageerror", lambda e: log.errors.append(f"page error: {e}"))
    page.goto(f"{book}{MODEL_CHAPTER}.html")
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => ['ready', 'unavailable'].includes("
        "document.querySelector('.sa-pretrained').dataset.state)"
    )
    before = list(log.requests)
    first = page.evaluate(LOAD_BY_THE_BUTTON)
    first["before"] = before
    first["fetched"] = list(log.requests[len(before) :])
    yield types.SimpleNamespace(page=page, log=log, first=first)
    context.close()
    browser.close()

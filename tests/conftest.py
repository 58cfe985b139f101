"""Shared fixtures: every library test runs on both backends (and on CUDA where it exists)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from selfattention import numpy_backend, torch_backend

HAS_CUDA = torch.cuda.is_available()
requires_cuda = pytest.mark.skipif(not HAS_CUDA, reason="CUDA is not available on this machine")


class Backend:
    """Adapts a test to one backend: turn NumPy arrays into the backend's arrays and back."""

    def __init__(self, name, module, device=None):
        self.name, self.mod, self.device = name, module, device

    def asarray(self, x, dtype="float64"):
        x = np.asarray(x)
        if self.mod is numpy_backend:
            return x.astype(dtype) if x.dtype.kind in "fiu" else x
        return torch.as_tensor(x, dtype=getattr(torch, dtype), device=self.device)

    def mask(self, x):
        x = np.asarray(x, dtype=bool)
        return x if self.mod is numpy_backend else torch.as_tensor(x, device=self.device)

    @staticmethod
    def to_numpy(x):
        if isinstance(x, torch.Tensor):
            return x.detach().to("cpu", torch.float64).numpy()
        return np.asarray(x, dtype=np.float64)

    def __repr__(self):
        return self.name


BACKENDS = [
    pytest.param(Backend("numpy", numpy_backend), id="numpy"),
    pytest.param(Backend("torch-cpu", torch_backend, "cpu"), id="torch-cpu"),
    pytest.param(Backend("torch-cuda", torch_backend, "cuda"), id="torch-cuda", marks=[pytest.mark.gpu, requires_cuda]),
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


class SwallowedErrors(logging.Handler):
    """Collects the exceptions that ipywidgets catches in callbacks and only logs ('Exception in widget')."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        if record.exc_info or "Exception in widget" in record.getMessage():
            self.records.append(record)


@pytest.fixture(autouse=True)
def widget_errors():
    """Fail any test during which a widget callback raised, even though ipywidgets swallowed the exception."""
    handler = SwallowedErrors()
    logger = logging.getLogger("traitlets")  # the logger ipywidgets' Widget.log writes to
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
    if handler.records:
        details = "\n".join(
            f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage() for r in handler.records
        )
        pytest.fail(f"an exception inside a widget callback was swallowed by ipywidgets:\n{details}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the test item (the browser tests screenshot failing pages)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)

"""What is scanned for NaN and inf is decided by the caller, explicitly: never by who
the caller is.

Every public function of both backends scans the arrays it is given, unless its caller
passes ``check_finite=False``; ``attention`` does so for the scores and weights it
computed itself (finite by construction), so the (..., n, m) matrix is never scanned.
A function added in between (a helper in the same module, a decorator from outside)
must change neither.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from selfattention import _checks

N, M, D_K, D_V = 3, 5, 4, 2  # all different: a scan's shape says what was scanned


def _inputs(backend):
    rng = np.random.default_rng(0)
    return [
        backend.asarray(rng.standard_normal(shape))
        for shape in [(N, D_K), (M, D_K), (M, D_V)]
    ]


@pytest.fixture
def scans(backend, monkeypatch):
    """The shapes of the arrays the backend scans for NaN and inf, in order."""
    shapes = []
    rules = backend.mod._RULES
    scan = rules.all_finite

    def recording(a):
        shapes.append(tuple(a.shape))
        return scan(a)

    monkeypatch.setattr(rules, "all_finite", recording)
    return shapes


def _same_module_wrapper(backend, step):
    """A helper defined inside the backend module (its globals are the module's) that
    hands its argument to ``step``: what a maintainer might add next.
    """
    namespace = {}
    exec(  # a function whose globals are the backend module's
        f"def wrapped(*args, **kwargs):\n    return {step}(*args, **kwargs)\n",
        vars(backend.mod),
        namespace,
    )
    return namespace["wrapped"]


def test_a_helper_in_the_backend_module_does_not_skip_the_scan(backend):
    """The old rule (skip the scan when the caller's caller is this module) let NaN
    through a same-module helper.
    """
    bad = backend.asarray([[0.0, float("nan")], [1.0, 2.0]])
    with pytest.raises(ValueError, match="scores contains NaN or inf"):
        _same_module_wrapper(backend, "normalize")(bad)
    v = backend.asarray(np.ones((2, 3)))
    with pytest.raises(ValueError, match="weights contains NaN or inf"):
        _same_module_wrapper(backend, "blend")(bad, v)


def test_attention_never_scans_its_own_scores_and_weights(backend, scans):
    q, k, v = _inputs(backend)
    backend.mod.attention(q, k, v)
    assert (N, M) not in scans, f"the (n, m) matrix was scanned: {scans}"
    # q, k and v were scanned (q and k twice: by attention and by score)
    assert set(scans) == {(N, D_K), (M, D_K), (M, D_V)}


def test_a_wrapper_in_between_does_not_change_what_is_checked(
    backend, scans, monkeypatch
):
    """A pass-through decorator (defined here, outside the backend) around the steps
    that attention calls: the same arrays are scanned, and NaN is still refused.
    """
    q, k, v = _inputs(backend)
    backend.mod.attention(q, k, v)
    unwrapped = list(scans)
    scans.clear()

    def passthrough(step):
        @functools.wraps(step)
        def wrapper(*args, **kwargs):
            return step(*args, **kwargs)

        return wrapper

    for step in ["score", "normalize", "blend"]:
        monkeypatch.setattr(backend.mod, step, passthrough(getattr(backend.mod, step)))
    out, _ = backend.mod.attention(q, k, v)
    assert scans == unwrapped
    assert np.isfinite(backend.to_numpy(out)).all()
    with pytest.raises(ValueError, match="scores contains NaN or inf"):
        backend.mod.normalize(backend.asarray([[float("nan"), 0.0]]))


def test_softmax_scans_its_input_once(backend, scans):
    x = backend.asarray(np.arange(6.0).reshape(2, 3))
    backend.mod.softmax(x, axis=0)
    assert scans == [(2, 3)]


def test_check_finite_false_is_the_callers_explicit_choice(backend):
    """The scipy convention: check_finite=False skips the scan (NaN in, NaN out);
    every other check still applies.
    """
    bad = backend.asarray([[0.0, float("nan")]])
    weights = backend.to_numpy(backend.mod.normalize(bad, check_finite=False))
    assert np.isnan(weights).all()
    v = backend.asarray(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"got weights \(1, 2\) and v \(3, 2\)"):
        backend.mod.blend(bad, v, check_finite=False)


@pytest.mark.parametrize("check_finite", [True, False])
def test_checked_is_shared_by_both_backends(backend, monkeypatch, check_finite):
    """Each backend's ``_checked`` is ``_checks.checked`` with its own rules (one
    orchestration, not two parallel copies), and passes ``check_finite`` on as given.
    """
    calls = []
    shared = _checks.checked

    def spy(rules, args, *, check_finite):
        calls.append((rules, dict(args), check_finite))
        return shared(rules, args, check_finite=check_finite)

    monkeypatch.setattr(_checks, "checked", spy)
    weights, v = backend.asarray([[0.5, 0.5]]), backend.asarray(np.ones((2, 3)))
    backend.mod.blend(weights, v, check_finite=check_finite)
    assert [(rules, list(args), flag) for rules, args, flag in calls] == [
        (backend.mod._RULES, ["weights", "v"], check_finite)
    ]

"""The chapters' plumbing: quoting computed values in the prose,
and status lines for slow cells.
"""

import re
import threading
import time
from types import SimpleNamespace

import pytest
from IPython.core.interactiveshell import InteractiveShell

from selfattention import book


@pytest.fixture
def shown():
    """Everything displayed through IPython while the test runs
    (a list of mime bundles).
    """
    bundles = []
    shell = InteractiveShell.instance()
    publish = shell.display_pub.publish
    shell.display_pub.publish = lambda data, metadata=None, **kwargs: bundles.append(
        data
    )
    try:
        yield bundles
    finally:
        shell.display_pub.publish = publish
        InteractiveShell.clear_instance()


def test_glue_records_the_value_in_an_output_of_its_own_type(shown):
    book.glue("it_top_weight", "0.70")
    book.glue("n_tokens", 11)
    assert shown == [
        {book.VALUE_MIME: {"name": "it_top_weight", "value": "0.70"}},
        {book.VALUE_MIME: {"name": "n_tokens", "value": "11"}},
    ]


@pytest.mark.parametrize("value", [0.7, 1e-12, True, None])
def test_glue_refuses_values_that_are_not_formatted(value):
    with pytest.raises(TypeError, match="format the value as the prose shows it"):
        book.glue("x", value)


@pytest.mark.parametrize(
    "value", ["", "layer 4, head 2", "*bold*", "a_b", "<b>", "$x$"]
)
def test_glue_refuses_values_that_cannot_stand_in_the_prose_as_they_are(value):
    with pytest.raises(ValueError, match="one word without spaces or markup"):
        book.glue("x", value)


def test_the_book_drops_glue_outputs_and_nothing_else():
    class Data:
        def __init__(self, mime_type):
            self.mime_type = mime_type

    assert (
        book.QuotedValueRenderer.handle_mime(None, Data(book.VALUE_MIME), False) == []
    )
    assert book.QuotedValueRenderer.handle_mime(None, Data("text/plain"), False) is None


def test_the_renderer_is_registered_with_myst_nb():
    from importlib.metadata import entry_points

    registered = [
        ep.load() for ep in entry_points().select(group="myst_nb.mime_renderers")
    ]
    assert book.QuotedValueRenderer in registered


def test_a_status_line_ticks_while_the_block_runs_then_disappears(shown):
    with book.status("Loading the model") as progress:
        (bundle,) = shown
        # what GitHub, Colab and an untrusted notebook show: nothing at all
        assert bundle["text/plain"] == ""
        line = progress._line
        assert (
            bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
            == line.model_id
        )
        assert "Loading the model… 0 s" in line.value
        progress.update("layer 3")
        assert "Loading the model: layer 3…" in line.value
        # the clock ticks on its own while the cell is busy (however slow the
        # machine: wait up to 10 s for the first whole second to show)
        deadline = time.monotonic() + 10
        while "… 0 s" in line.value and time.monotonic() < deadline:
            time.sleep(0.1)
        assert re.search(r"layer 3… [1-9]\d* s", line.value), line.value
    assert line.value == ""
    assert line.layout.display == "none"
    assert not any(t.name == progress._ticker.name for t in threading.enumerate())


def test_a_status_line_counts_steps_and_estimates_what_is_left(shown, monkeypatch):
    # a fake clock: the estimate is exact, however busy the machine
    now = [100.0]
    monkeypatch.setattr(book, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    with book.status("Training", steps=3) as progress:
        assert progress.text() == "Training… 0 s"
        progress.update("seed 0")
        assert progress.text() == "Training: seed 0 (step 1 of 3)… 0 s"
        now[0] += 7.0
        progress.update("seed 1")
        # one step done in 7 s: two more to go, about 14 s
        assert progress.text() == "Training: seed 1 (step 2 of 3)… 7 s, about 14 s left"
        now[0] += 3.0
        # 3 s into the second step: 11 s left
        assert progress.text() == (
            "Training: seed 1 (step 2 of 3)… 10 s, about 11 s left"
        )
        progress.update("seed 2")
        assert "seed 2 (step 3 of 3)" in progress._line.value
        # two steps took 10 s: one more, about 5 s
        assert progress.text().endswith("… 10 s, about 5 s left")


def test_a_status_line_outside_a_notebook_does_nothing():
    InteractiveShell.clear_instance()
    with book.status("Working") as progress:
        progress.update("still working")
    assert progress._line is None


def test_best_time_is_the_fastest_run_after_a_warm_up(monkeypatch):
    # a fake clock, so that a busy machine cannot stretch the runs: the warm-up
    # is the fastest call of all and must not count
    now = [0.0]
    pauses = iter([0.01, 0.05, 0.03, 0.08])
    monkeypatch.setattr(book, "time", SimpleNamespace(perf_counter=lambda: now[0]))

    def work():
        now[0] += next(pauses)

    fastest = book.best_time(work, repeats=3)
    assert fastest == pytest.approx(0.03)

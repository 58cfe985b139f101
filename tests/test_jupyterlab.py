"""Every chapter as a learner meets it in JupyterLab:
opened in a real ``jupyter lab``, run top to bottom.

Marked ``jupyterlab``. One JupyterLab server (127.0.0.1, a free port, no token, fresh
settings, workspaces, runtime and IPython directories, autosave off, announcements and
update checks off) and one headless Chromium (Debian's, the same launch flags as the
browser suite) serve all the chapters. For each chapter the test opens
``/lab/tree/chapters/<name>.ipynb``, waits for its kernel, clears the stored outputs,
runs all cells from Lab's Run menu and waits until every code cell has run and the
kernel is idle. Then it checks what the learner sees:

1. no error: no error output in a cell (nor a traceback on stderr), every code cell
   ran, no traceback in Lab's log console (where a widget callback's exception goes)
   or in the server's log; stderr that is not a traceback is recorded in the times
   file, not failed;
2. no raw MyST (roles, directives, glue, ``:class:``) in any rendered markdown cell;
3. solutions folded: every ``<details>`` closed, no "Solution..." paragraph outside
   one, no output of Run All that shows an answer (``check``'s verdicts), and every
   code cell with ``metadata.jupyter.source_hidden`` (or the book's
   ``hide-cell``/``hide-input`` tag) shows Lab's collapsed-input placeholder
   instead of its source;
4. every explorer (a cell whose source has ``Explorer(``) rendered as controls, no
   output shown as ``VBox(...)`` text;
5. in every explorer with a slider, one arrow key on its first slider changes the
   picture's pixels (for a live explorer: a redraw by the kernel);
6. the keyboard alone, as ``test_every_explorer_control_works_from_the_keyboard`` checks
   the book (tests/test_accessibility.py): in every cell with widget controls, each
   control (slider handle, dropdown, toggle button) is reached with Tab, in order,
   from its cell selected in command mode (where ArrowUp/ArrowDown leave a keyboard
   user: the cell itself focused); each has an accessible name (and a toggle button a
   pressed state); its keys (arrow keys for a slider or a dropdown, Space and Enter
   for a toggle button) keep the focus on it (Lab's command-mode shortcuts do not
   take them), the kernel redraws the picture within ``REDRAW_TIMEOUT_S``, and the
   opposite key brings the same pixels back.

Every problem is listed with its cell number (0-based, as in the ``.ipynb``).
Screenshots of offending cells go to ``_build/lab-failures/``. The wall time of "run
all" per chapter is written to ``_build/lab-run-all-times.md`` (and ``.json``) before
anything is asserted, and printed at the end. Every request the page makes outside
127.0.0.1 is blocked and counted; the notebooks on disk are checked unchanged (autosave
is off; nothing is saved). The server is stopped by its process id, and the test fails
if one of its kernels outlives it.

``test_a_trusted_chapter_shows_its_stored_explorers_working_before_it_runs`` (same
server and browser) opens a copy of a chapter (under ``_build/``: trusting saves it)
as a learner meets it before running anything: untrusted, each explorer shows its line
of text; trusted from the command palette, each explorer the book pre-draws works (a
line says what it is, every control switches to the picture whose alt text names the
new setting, and back), one without stored pictures keeps its text, and no
"disconnected" icon is shown anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from scripts import chromium
from tests.test_accessibility import FOCUSED_CONTROL, _name_and_state, _soon
from tests.test_browser import sync_playwright

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # pragma: no cover - the tests skip without Playwright
    PlaywrightTimeout = TimeoutError

pytestmark = pytest.mark.jupyterlab

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
FAILURES = ROOT / "_build" / "lab-failures"
TIMES = ROOT / "_build" / "lab-run-all-times"  # .md and .json
# chapter 10 loads a model (before the live explorers it took 75 s in Lab, 2 cores)
RUN_ALL_TIMEOUT_S = 180
KERNEL_TIMEOUT_S = 120
REDRAW_TIMEOUT_S = 30

# The fresh user settings: nothing saved behind the test's back, nothing fetched,
# every cell in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
    "@jupyterlab/notebook-extension/tracker": {
        # Lab 4.6 defaults to "contentVisibility"; "none" keeps every cell rendered
        # and in document order
        "windowingMode": "none",
        # recordTiming: per-cell times in the cells' metadata (in memory only),
        # to name the slowest cells
        "recordTiming": True,
    },
}

# MyST that CommonMark leaves as text: (pattern in the rendered text, what it is).
RAW_MYST = [
    (re.compile(r"\{glue(:\w+)?\}"), "a glue role"),
    (
        re.compile(
            r"\{(note|admonition|warning|tip|important|dropdown|figure|"
            r"code-cell|math)\}"
        ),
        "a directive",
    ),
    (re.compile(r":class:"), "a directive option (:class:)"),
    (re.compile(r"```\{"), "a directive fence (```{)"),
    (re.compile(r":::\s*\{"), "a colon-fenced directive (:::{)"),
    (re.compile(r"\{[A-Za-z][\w:.+-]*\}`"), "a role ({name}`...`)"),
    (re.compile(r"^\([\w.:-]+\)=\s*$", re.MULTILINE), "a target label ((name)=)"),
]
# A role whose backticks CommonMark turned into <code>: {name}<code>...</code>
RAW_ROLE_HTML = re.compile(r"\{([A-Za-z][\w:.+-]*)\}\s*<code")
WIDGET_REPR = re.compile(
    r"^\s*(VBox|HBox|Box|GridBox|Stack|Tab|Accordion|Image|IntSlider|FloatSlider)\("
)
HIDE_TAGS = {"hide-cell", "hide-input"}
#: What check() prints: after Run All, no output may show it
ANSWER_SHOWN = re.compile(r"✓ Correct|✗ Not yet|The answer is")

# True once the notebook is loaded and its kernel idle; keeps the notebook's panel as
# window.labTestPanel (the checks below read it even when another panel, the log
# console, has the focus).
OPEN_NOTEBOOK_READY = """() => {
    const w = window.jupyterapp && jupyterapp.shell.currentWidget;
    const ready = !!(w && w.context && w.context.isReady && w.content
                     && w.sessionContext && w.sessionContext.session
                     && w.sessionContext.session.kernel
                     && w.sessionContext.session.kernel.status === 'idle');
    if (ready) window.labTestPanel = w;
    return ready;
}"""

CLEAR_OUTPUTS = """async () => {
    await jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
    const cells = labTestPanel.content.widgets.filter(c => c.model.type === 'code');
    return cells.every(c => c.model.executionCount === null
                            && c.model.outputs.length === 0);
}"""

# After "run all": true once every code cell has left the queue and the kernel is
# no longer busy. (A cell after an error is aborted by the kernel: it ends idle
# with no execution count.)
RUN_ALL_STARTED = """() => {
    const cells = labTestPanel.content.widgets.filter(c => c.model.type === 'code');
    return cells.some(c => c.model.executionState === 'running')
        || cells.every(c => c.model.executionCount !== null);
}"""
RUN_ALL_DONE = """() => {
    const w = labTestPanel;
    const status = w.sessionContext.session?.kernel?.status;
    const cells = w.content.widgets.filter(c => c.model.type === 'code');
    return status !== 'busy' && status !== 'starting' && status !== 'restarting'
        && cells.every(c => c.model.executionState !== 'running');
}"""

STILL_RUNNING = """() => labTestPanel.content.widgets
    .map((c, i) => (c.model.type === 'code'
                    && c.model.executionState === 'running' ? i : -1))
    .filter(i => i >= 0)"""

# Wait until every output that holds a widget view shows the rendered widget.
WIDGETS_RENDERED = """() => labTestPanel.content.widgets.every(c => {
    if (c.model.type !== 'code') return true;
    const views = c.model.outputs.toJSON()
        .filter(o => o.data && o.data['application/vnd.jupyter.widget-view+json']);
    return views.length === 0
        || c.node.querySelectorAll('.jp-OutputArea .jupyter-widgets').length > 0;
})"""

# Everything the checks need, cell by cell (indices are the notebook's).
SNAPSHOT = """() => labTestPanel.content.widgets.map((cell) => {
    const node = cell.node;
    const r = {type: cell.model.type};
    const visible = (e) => !!e && e.offsetParent !== null
        && getComputedStyle(e).display !== 'none';
    if (r.type === 'markdown') {
        const md = node.querySelector('.jp-MarkdownOutput');
        r.rendered = !!md && cell.rendered;
        if (md) {
            const clone = md.cloneNode(true);
            clone.querySelectorAll('mjx-container, .MathJax, script, style')
                .forEach(e => e.remove());
            r.text = clone.textContent;
            r.html = clone.innerHTML;
            r.fences = Array.from(md.querySelectorAll('pre > code'))
                .map(c => (c.getAttribute('class') || '').replace(/^language-/, ''))
                .filter(lang => lang.startsWith('{'));
            r.details = md.querySelectorAll('details').length;
            r.open_details = Array.from(md.querySelectorAll('details'))
                .filter(d => d.open)
                .map(d => (d.querySelector('summary')?.textContent || '').trim());
            r.loose_solutions = Array.from(
                md.querySelectorAll('p, h1, h2, h3, h4, h5, h6, li, td'))
                .filter(e => !e.closest('details')
                        && /^\\s*solutions?\\b/i.test(e.textContent))
                .map(e => e.textContent.trim().slice(0, 80));
        }
    } else if (r.type === 'code') {
        r.count = cell.model.executionCount;
        r.timing = cell.model.getMetadata('execution') || null;
        r.state = cell.model.executionState;
        r.outputs = cell.model.outputs.toJSON().map(o => ({
            type: o.output_type, name: o.name || null,
            text: Array.isArray(o.text) ? o.text.join('') : (o.text || ''),
            ename: o.ename || null, evalue: o.evalue || null,
            mimes: Object.keys(o.data || {}),
        }));
        r.input_hidden = cell.inputHidden;
        r.placeholder = visible(
            node.querySelector('.jp-Cell-inputWrapper .jp-InputPlaceholder'));
        r.editor_shown = visible(
            node.querySelector('.jp-Cell-inputWrapper .jp-InputArea'));
        r.widgets = node.querySelectorAll('.jp-OutputArea .jupyter-widgets').length;
        r.sliders = node.querySelectorAll('.jp-OutputArea .noUi-handle').length;
        r.output_texts = Array.from(node.querySelectorAll('.jp-OutputArea-output'))
            .map(o => (o.innerText || '').slice(0, 120));
    }
    return r;
})"""

# The picture an explorer shows right now: its first visible <img>, as a fingerprint of
# the bytes (a precomputed explorer switches between data: URLs; a live one gets a new
# blob: URL for every redraw).
PICTURE = """async (i) => {
    const cell = labTestPanel.content.widgets[i];
    const img = Array.from(cell.node.querySelectorAll('.jp-OutputArea img'))
        .find(im => im.offsetParent !== null);
    if (!img || !img.src) return null;
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let h = 2166136261;
    for (const b of bytes) { h ^= b; h = Math.imul(h, 16777619) >>> 0; }
    return {src: img.src, bytes: bytes.length, hash: h};
}"""
PICTURE_SRC = """(i) => {
    const cell = labTestPanel.content.widgets[i];
    const img = Array.from(cell.node.querySelectorAll('.jp-OutputArea img'))
        .find(im => im.offsetParent !== null);
    return img ? img.src : null;
}"""
MARK_SLIDER = """(i) => {
    document.querySelectorAll('[data-lab-test]')
        .forEach(e => e.removeAttribute('data-lab-test'));
    const cell = labTestPanel.content.widgets[i];
    const handle = cell.node.querySelector('.jp-OutputArea .noUi-handle');
    if (!handle) return null;
    handle.setAttribute('data-lab-test', 'slider');
    const label = handle.closest('.widget-slider')
        ?.querySelector('.widget-label')?.textContent || '';
    const now = Number(handle.getAttribute('aria-valuenow'));
    const max = Number(handle.getAttribute('aria-valuemax'));
    return {label: label, key: now < max ? 'ArrowRight' : 'ArrowLeft'};
}"""
# 6. The controls of the widgets in cell i, in document order, marked the way
# tests/test_accessibility.py marks the book's (FOCUSED_CONTROL reads the mark).
MARK_CONTROLS = """(i) => {
    document.querySelectorAll('[data-a11y-control]')
        .forEach(e => e.removeAttribute('data-a11y-control'));
    const area = labTestPanel.content.widgets[i].node.querySelector('.jp-OutputArea');
    return Array.from(area ? area.querySelectorAll(
        '[role=slider], select, button.widget-toggle-button') : [])
        .map((c, j) => {
            c.setAttribute('data-a11y-control', `${i}-${j}`);
            return {id: `${i}-${j}`, kind: c.matches('[role=slider]') ? 'slider'
                    : c.matches('select') ? 'select' : 'toggle'};
        });
}"""
# Where a keyboard user starts: cell i selected in command mode, the cell itself
# focused (as ArrowUp/ArrowDown in command mode leave it).
SELECT_CELL = """(i) => {
    const notebook = labTestPanel.content;
    notebook.mode = 'command';
    notebook.activeCellIndex = i;
    notebook.activeCell.node.focus();
    return document.activeElement === notebook.activeCell.node;
}"""
# Where the focus is, in words (for a problem's message).
FOCUS_NOW = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return 'nothing (the page)';
    const cell = e.closest('.jp-Cell');
    const i = cell ? labTestPanel.content.widgets.findIndex(w => w.node === cell) : -1;
    const what = e.getAttribute('aria-label') || (e.textContent || '').trim();
    return `<${e.tagName.toLowerCase()}> ${JSON.stringify(what.slice(0, 40))}`
        + (i >= 0 ? ` in cell ${i}` : ' outside the notebook');
}"""
# The button pressed now in the group of toggle buttons of control ``id``.
PRESSED_TOGGLE = """(id) => document.querySelector(`[data-a11y-control="${id}"]`)
    .closest('.widget-toggle-buttons')
    ?.querySelector('.widget-toggle-button.mod-active[data-a11y-control]')
    ?.getAttribute('data-a11y-control') || null"""
# Lab's log console: where the output of widget callbacks goes (a traceback there is an
# explorer that broke).
LOG_CONSOLE = """async () => {
    await jupyterapp.commands.execute(
        'logconsole:open', {insertMode: 'split-bottom', ref: labTestPanel.id});
    await new Promise(resolve => setTimeout(resolve, 500));
    return Array.from(
        document.querySelectorAll('.jp-LogConsolePanel .jp-OutputArea-output'))
        .map(o => o.innerText);
}"""
SCROLL_TO_CELL = (
    "(i) => labTestPanel.content.widgets[i].node.scrollIntoView({block: 'center'})"
)
SHUTDOWN_KERNEL = """async () => {
    const w = window.labTestPanel;
    if (w && w.sessionContext && w.sessionContext.session) {
        await w.sessionContext.shutdown();
        return true;
    }
    return false;
}"""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# never through a proxy
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _repository_state() -> dict[str, str]:
    """What the test must not change: every file under chapters/ (hashed) and
    the top-level names.
    """
    state = {
        str(p.relative_to(ROOT)): _sha256(p)
        for p in sorted((ROOT / "chapters").rglob("*"))
        if p.is_file()
    }
    # caches that other tests (mypy, pytest, ruff) write, possibly at the same
    # time in another pytest-xdist worker
    ignore = {
        "_build",
        ".pytest_cache",
        ".hypothesis",
        ".ruff_cache",
        ".mypy_cache",
        "__pycache__",
    }
    state.update(
        {f"{p.name} (top level)": "" for p in ROOT.iterdir() if p.name not in ignore}
    )
    return state


def _changes(before: dict[str, str]) -> list[str]:
    now = _repository_state()
    return sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))


@dataclass
class Lab:
    url: str
    process: subprocess.Popen
    log: Path
    home: Path
    repository: dict[str, str]
    times: dict[str, dict] = field(default_factory=dict)

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")


def _start_lab(home: Path) -> tuple[subprocess.Popen, str, Path]:
    settings, workspaces = home / "settings", home / "workspaces"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = dict(os.environ)
    for var, sub in [
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_CONFIG_DIR", "config"),  # no ~/.jupyter settings
        ("JUPYTER_DATA_DIR", "data"),  # no user-level kernels or extensions
        ("IPYTHONDIR", "ipython"),  # no profile, no history file
    ]:
        (home / sub).mkdir()
        env[var] = str(home / sub)
    # the kernels import this checkout's package, whatever is installed
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])
    )
    port = _free_port()
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [
        str(jupyter),
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        # ServerApp.token is deprecated in jupyter_server 2
        "--IdentityProvider.token=",
        "--PasswordIdentityProvider.hashed_password=",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.news_url=None",
        (
            "--LabApp.check_for_updates_class="
            "jupyterlab.handlers.announcements.NeverCheckForUpdate"
        ),
        "--LabApp.extension_manager=readonly",
        # window.jupyterapp: the notebook's model, its kernel status
        "--LabApp.expose_app_in_browser=True",
        # Lab checkpoints on open: not in chapters/
        f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",
    ]
    log = home / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return process, f"http://127.0.0.1:{port}/", log


def _stop_lab(process: subprocess.Popen) -> list[str]:
    """Stop the server by its process id (it shuts its kernels down); return the
    processes that outlived it.
    """
    try:
        import psutil  # ipykernel depends on it
    except ImportError:  # pragma: no cover
        psutil = None
    children = []
    if psutil is not None:
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(process.pid).children(recursive=True)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
    left = []
    if psutil is not None:
        _, alive = psutil.wait_procs(children, timeout=10)
        for child in alive:
            with contextlib.suppress(psutil.Error):
                left.append(f"{child.pid}: {' '.join(child.cmdline()[:4])}")
                child.kill()
    return left


@pytest.fixture(scope="session")
def lab(tmp_path_factory, request):
    """A JupyterLab server on 127.0.0.1 with fresh settings; stopped (kernels too) at
    the end of the session.
    """
    if sync_playwright is None:
        pytest.skip(
            "Playwright's Python package is not installed "
            "(pip install -r requirements.txt)"
        )
    if chromium.MISSING:
        pytest.skip(chromium.MISSING)
    if (
        importlib.util.find_spec("jupyterlab") is None
        or not Path(sys.executable).with_name("jupyter").exists()
    ):
        pytest.skip(
            "JupyterLab is not installed in this environment "
            "(pip install -r requirements.txt)"
        )
    home = tmp_path_factory.mktemp("jupyterlab")
    repository = _repository_state()
    process, url, log = _start_lab(home)
    server = Lab(url, process, log, home, repository)
    request.config.pluginmanager.register(
        _TimesSummary(server.times), "selfattention-lab-times"
    )
    try:
        deadline = time.monotonic() + 90
        while not _answers(url + "api/status"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "jupyter lab did not answer at "
                    f"{url}:\n{server.log_since(0)[-3000:]}"
                )
            time.sleep(0.25)
        yield server
    finally:
        left = _stop_lab(process)
        _write_times(server.times)
        assert not left, (
            f"kernel processes outlived the JupyterLab server (killed now): {left}"
        )
        changed = _changes(repository)
        assert not changed, f"JupyterLab changed files in the repository: {changed}"


@pytest.fixture(scope="session")
def lab_browser(lab, playwright):
    """One Chromium and one browser context (a shared HTTP cache: Lab's scripts load
    once) for all chapters.
    """
    browser = chromium.launch(playwright)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    yield context
    context.close()
    browser.close()


class _TimesSummary:
    """Prints the run-all times at the end of pytest's report (a plugin registered by
    the ``lab`` fixture).
    """

    def __init__(self, times):
        self.times = times

    def pytest_terminal_summary(self, terminalreporter):
        if self.times:
            terminalreporter.write_sep(
                "-",
                "JupyterLab: run all, "
                f"per chapter (also in {TIMES.relative_to(ROOT)}.md)",
            )
            terminalreporter.write_line(_times_table(self.times))
            for name, t in sorted(self.times.items()):
                for i, text in t.get("stderr", []):
                    terminalreporter.write_line(
                        f"stderr (not a traceback) in {name}, cell {i}: {text[:200]!r}"
                    )


def _times_table(times: dict[str, dict]) -> str:
    lines = [
        "| chapter | open + kernel (s) | run all (s) | slowest cells (cell: s) "
        "| first redraw (s) | code cells | controls checked by keys | problems |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for name, t in sorted(times.items()):
        redraw = "" if t.get("redraw_s") is None else f"{t['redraw_s']:.2f}"
        slowest = ", ".join(f"{i}: {sec:.1f}" for i, sec in t.get("slowest_cells", []))
        run_all = f"{t['run_all_s']:.1f}" + (
            "" if t.get("finished", True) else " (timed out)"
        )
        lines.append(
            f"| {name} | {t['open_s']:.1f} | {run_all} | {slowest} | {redraw} | "
            f"{t['code_cells']} | {t.get('keyboard_controls', '')} | "
            f"{t.get('problems', '')} |"
        )
    total = sum(t["run_all_s"] for t in times.values())
    controls = sum(t.get("keyboard_controls", 0) for t in times.values())
    lines.append(f"| all | | {total:.1f} | | | | {controls} | |")
    return "\n".join(lines)


def _write_times(times: dict[str, dict]) -> None:
    if not times:
        return
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    TIMES.with_suffix(".json").write_text(
        json.dumps(times, indent=1, sort_keys=True), encoding="utf-8"
    )
    TIMES.with_suffix(".md").write_text(_times_table(times) + "\n", encoding="utf-8")


class LabPage:
    """One chapter's tab, with everything the browser did:
    console errors and blocked external requests.
    """

    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        self.external: list[str] = []
        # the test fills it: the cells to screenshot if it fails
        self.bad_cells: list[int] = []
        page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.console_errors.append(f"page error: {e}"))
        chromium.block_external(page, self.external)


@pytest.fixture
def lab_page(lab, lab_browser, request):
    tab = LabPage(lab_browser.new_page())
    yield tab
    failed = (
        getattr(request.node, "rep_call", None) is not None
        and request.node.rep_call.failed
    )
    try:
        if failed:
            _screenshots(tab, re.sub(r"[^\w.-]+", "_", request.node.callspec.id))
        # this chapter's kernel, before the next one starts
        tab.page.evaluate(SHUTDOWN_KERNEL)
    except Exception:  # a page that broke must still be closed
        pass
    finally:
        tab.page.close()  # closes the notebook without saving (autosave is off)


def _screenshots(tab, name):
    FAILURES.mkdir(parents=True, exist_ok=True)
    page = tab.page
    page.screenshot(path=str(FAILURES / f"{name}.png"))
    for i in sorted(set(tab.bad_cells))[:6]:
        page.evaluate(SCROLL_TO_CELL, i)
        page.wait_for_timeout(100)
        page.screenshot(path=str(FAILURES / f"{name}-cell{i:02d}.png"))


def _timestamp(text: str) -> datetime:
    # Python 3.10 does not read the "Z"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _slowest_cells(cells, count=3) -> list[list]:
    """[cell number, seconds] of the slowest code cells,
    from the timing Lab recorded (recordTiming).
    """
    seconds = []
    for i, cell in enumerate(cells):
        timing = cell.get("timing") or {}
        start, end = (
            timing.get("iopub.execute_input"),
            timing.get("shell.execute_reply"),
        )
        if start and end:
            delta = _timestamp(end) - _timestamp(start)
            seconds.append([i, round(delta.total_seconds(), 2)])
    return sorted(seconds, key=lambda x: -x[1])[:count]


def _run_all_from_the_menu(page):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def _problems_in_cells(cells, source_cells) -> list[tuple[int, str]]:
    """Checks 1-4 on a snapshot of the notebook in Lab;
    each problem with its cell number.
    """
    problems = []
    for i, (cell, source) in enumerate(zip(cells, source_cells, strict=True)):
        text = "".join(source["source"])
        tags = set(source["metadata"].get("tags", []))
        source_hidden = (
            source["metadata"].get("jupyter", {}).get("source_hidden", False)
        )
        if cell["type"] == "code":
            # 1. errors, and cells that never ran
            for out in cell["outputs"]:
                if out["type"] == "error":
                    problems.append(
                        (i, f"error output: {out['ename']}: {out['evalue']}")
                    )
                elif (
                    out["name"] == "stderr"
                    and "Traceback (most recent call last)" in out["text"]
                ):
                    problems.append(
                        (
                            i,
                            "a traceback on stderr: "
                            f"{out['text'].strip().splitlines()[-1][:200]}",
                        )
                    )
            if cell["count"] is None:
                problems.append(
                    (
                        i,
                        "did not run (no execution count): "
                        "an earlier cell failed or the run stopped",
                    )
                )
            # 3. solution code folded
            if source_hidden or tags & HIDE_TAGS:
                if cell["editor_shown"] or not cell["placeholder"]:
                    why = (
                        "metadata.jupyter.source_hidden is true"
                        if source_hidden
                        else (
                            f"tagged {sorted(tags & HIDE_TAGS)} for the book, "
                            "but no metadata.jupyter.source_hidden"
                        )
                    )
                    problems.append(
                        (
                            i,
                            f"source shown, not folded in Lab ({why}): "
                            f"{text.splitlines()[0][:80]!r}",
                        )
                    )
            # 4. explorers rendered as controls
            if "Explorer(" in text and cell["count"] is not None:
                has_view = any(
                    "application/vnd.jupyter.widget-view+json" in o["mimes"]
                    for o in cell["outputs"]
                )
                if not has_view:
                    problems.append((i, "an explorer cell with no widget output"))
                elif not cell["widgets"]:
                    problems.append(
                        (i, "an explorer's widget output did not render as controls")
                    )
            # 3. no answer shown after Run All (solutions live folded in the prose)
            for out in cell["outputs"]:
                if ANSWER_SHOWN.search(out["text"]):
                    problems.append((i, f"an answer shown: {out['text'][:80]!r}"))
            for shown in cell["output_texts"]:
                if ANSWER_SHOWN.search(shown):
                    problems.append((i, f"an answer shown: {shown[:80]!r}"))
                if WIDGET_REPR.match(shown):
                    problems.append(
                        (i, f"a widget shown as text: {shown.splitlines()[0][:80]!r}")
                    )
        elif cell["type"] == "markdown":
            if not cell["rendered"]:
                problems.append((i, "markdown cell not rendered"))
                continue
            # 2. raw MyST, one line per kind of markup
            # (how often, and the first place it occurs)
            found: dict[str, list[str]] = {}
            for pattern, what in RAW_MYST:
                for match in pattern.finditer(cell["text"]):
                    start = max(match.start() - 30, 0)
                    found.setdefault(what, []).append(
                        cell["text"][start : match.end() + 30].replace("\n", " ")
                    )
            for match in RAW_ROLE_HTML.finditer(cell["html"]):
                role = "{" + match.group(1) + "}"
                if not any(
                    role in example
                    for examples in found.values()
                    for example in examples
                ):
                    found.setdefault("a role ({name}`...`)", []).append(role + "`...`")
            for lang in cell["fences"]:
                found.setdefault("a directive shown as a code block", []).append(
                    "```" + lang[:60]
                )
            for what, examples in found.items():
                problems.append(
                    (i, f"raw MyST, {what} ({len(examples)}x), first: {examples[0]!r}")
                )
            # 3. solutions folded
            for summary in cell["open_details"]:
                problems.append((i, f"<details> open, not folded: {summary[:60]!r}"))
            for label in cell["loose_solutions"]:
                problems.append(
                    (i, f"a solution outside a closed <details>: {label!r}")
                )
            for lang in cell["fences"]:
                if re.search(r"solution", lang, re.IGNORECASE):
                    problems.append(
                        (
                            i,
                            "a solution shown unfolded "
                            f"(a MyST dropdown Lab cannot fold): {lang[:60]!r}",
                        )
                    )
    return problems


def _move_sliders(tab, cells) -> tuple[list[tuple[int, str]], float | None]:
    """5. In every explorer with a slider, one key press on its first slider
    changes the picture.
    """
    page, problems, first_redraw = tab.page, [], None
    for i, cell in enumerate(cells):
        if cell["type"] != "code" or not cell["sliders"] or not cell["widgets"]:
            continue
        before = page.evaluate(PICTURE, i)
        if before is None:
            problems.append((i, "an explorer with a slider but no picture (<img>)"))
            continue
        slider = page.evaluate(MARK_SLIDER, i)
        handle = page.locator("[data-lab-test=slider]")
        handle.scroll_into_view_if_needed()
        handle.focus()
        start = time.monotonic()
        page.keyboard.press(slider["key"])
        try:
            page.wait_for_function(
                f"([i, src]) => ({PICTURE_SRC})(i) !== src",
                arg=[i, before["src"]],
                timeout=REDRAW_TIMEOUT_S * 1000,
            )
        except PlaywrightTimeout:
            problems.append(
                (
                    i,
                    f"{slider['key']} on slider {slider['label']!r}: "
                    "the picture did not change",
                )
            )
            continue
        seconds = time.monotonic() - start
        first_redraw = seconds if first_redraw is None else first_redraw
        after = page.evaluate(PICTURE, i)
        if after is None or (after["hash"], after["bytes"]) == (
            before["hash"],
            before["bytes"],
        ):
            problems.append(
                (
                    i,
                    f"{slider['key']} on slider {slider['label']!r}: "
                    "a new picture, but the same pixels",
                )
            )
    return problems, first_redraw


# Tab presses from the cell (or from a control) to the next control: past the cell's
# toolbar, a text box, a control whose check failed
TAB_LIMIT = 12


def _fingerprint(page, i) -> tuple[int, int] | None:
    picture = page.evaluate(PICTURE, i)
    return None if picture is None else (picture["hash"], picture["bytes"])


def _press(page, i, control_id, key, wanted, what) -> str | None:
    """Presses ``key`` on the focused control; None once the picture of cell ``i``
    is ``wanted`` (the kernel redrew it), else what went wrong.
    """
    page.keyboard.press(key)
    _soon(
        lambda: (
            page.evaluate(FOCUSED_CONTROL) != control_id
            or wanted(_fingerprint(page, i))
        ),
        REDRAW_TIMEOUT_S,
    )
    if page.evaluate(FOCUSED_CONTROL) != control_id:
        # Lab's command mode takes keys from elements it does not know to be
        # editable (and moves to another cell: ArrowUp/ArrowDown, J/K...)
        return (
            f"{key} took the focus away from it, to {page.evaluate(FOCUS_NOW)}, "
            "instead of operating it"
        )
    if not wanted(_fingerprint(page, i)):
        return f"{key}: the picture did not {what} in {REDRAW_TIMEOUT_S} s"
    return None


def _keys_for(focused, kind) -> tuple[str, str]:
    """The key that changes the control and the one that undoes it."""
    if kind == "slider":
        now = float(focused.get_attribute("aria-valuenow"))
        top = float(focused.get_attribute("aria-valuemax"))
        return ("ArrowRight", "ArrowLeft") if now < top else ("ArrowLeft", "End")
    if kind == "select":
        count = focused.locator("option").count()
        index = focused.evaluate("s => s.selectedIndex")
        down = index < count - 1
        return ("ArrowDown", "ArrowUp") if down else ("ArrowUp", "ArrowDown")
    return "Space", "Enter"  # Enter: on the toggle button pressed before


def _control_from_the_keyboard(page, i, control, controls) -> list[str]:
    """6. for one control of the explorer in cell ``i``: reached with Tab from where
    the focus is (the cell, or the control before it), named, operated with keys.
    """
    where = f"{control['kind']} {control['id']}"
    for _ in range(TAB_LIMIT):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_CONTROL) == control["id"]:
            break
    else:
        return [
            f"{where}: not reached with {TAB_LIMIT} presses of Tab "
            f"(the focus is on {page.evaluate(FOCUS_NOW)})"
        ]
    focused = page.locator(f"[data-a11y-control='{control['id']}']")
    label, rest = _name_and_state(focused)
    problems = [] if label.strip() else [f"{where}: no accessible name"]
    where += f" ({label})" if label.strip() else ""
    there, back = _keys_for(focused, control["kind"])
    back_on, text = control["id"], focused.get_attribute("aria-valuetext")
    if control["kind"] == "toggle":
        if focused.get_attribute("aria-pressed") is None:
            problems.append(f"{where}: no pressed state (aria-pressed)")
        if "mod-active" in focused.get_attribute("class").split():
            return problems  # pressing it changes nothing; its neighbours are tested
        back_on = page.evaluate(PRESSED_TOGGLE, control["id"])
        if back_on is None:
            return [*problems, f"{where}: no button of its group is pressed"]
    before = _fingerprint(page, i)
    problem = _press(
        page, i, control["id"], there, lambda p: p not in (None, before), "change"
    )
    if problem is None and control["kind"] == "slider":
        if not _soon(lambda: focused.get_attribute("aria-valuetext") != text):
            problems.append(f"{where}: {there}: the value text did not change")
    elif problem is None and control["kind"] == "toggle":
        if not _soon(lambda: "[pressed]" in _name_and_state(focused)[1]):
            problems.append(f"{where}: Space: not marked pressed")
        # back to the one pressed before, with Tab or Shift+Tab
        ids = [c["id"] for c in controls]
        key = "Tab" if ids.index(back_on) > ids.index(control["id"]) else "Shift+Tab"
        for _ in range(len(controls)):
            page.keyboard.press(key)
            if page.evaluate(FOCUSED_CONTROL) == back_on:
                break
        else:
            problem = f"the toggle button pressed before not reached with {key}"
    if problem is None:
        problem = _press(page, i, back_on, back, lambda p: p == before, "come back")
    focused.focus()  # Tab goes on from here
    return problems + ([f"{where}: {problem}"] if problem else [])


def _controls_from_the_keyboard(tab, cells) -> tuple[list[tuple[int, str]], int]:
    """6. Every control of every explorer, from the keyboard alone; the problems, and
    how many controls were checked.
    """
    page, problems, checked = tab.page, [], 0
    for i, cell in enumerate(cells):
        if cell["type"] != "code" or not cell["widgets"]:
            continue
        controls = page.evaluate(MARK_CONTROLS, i)
        if not controls:
            continue
        if _fingerprint(page, i) is None:
            problems.append((i, "widget controls but no picture (<img>)"))
            continue
        if not page.evaluate(SELECT_CELL, i):
            problems.append((i, "the cell could not be focused in command mode"))
            continue
        for control in controls:
            problems += [
                (i, problem)
                for problem in _control_from_the_keyboard(page, i, control, controls)
            ]
        checked += len(controls)
    return problems, checked


def _logged_errors(page, lab, log_offset) -> list[tuple[int, str]]:
    """1, continued: errors that reach no cell: a widget callback that raised
    (Lab's log console), the server's log.
    """
    problems = []
    for entry in page.evaluate(LOG_CONSOLE):
        if "Traceback" in entry or "Error" in entry:
            lines = [line for line in entry.strip().splitlines() if line.strip()]
            last = next(
                (
                    line
                    for line in reversed(lines)
                    if re.match(r"^\w*(Error|Exception)\b", line)
                ),
                lines[-1],
            )
            problems.append(
                (
                    -1,
                    "an error in Lab's log console "
                    f"(a widget callback raised): {last[:200]}",
                )
            )
    log = lab.log_since(log_offset)
    if "Traceback (most recent call last)" in log:
        problems.append(
            (
                -1,
                "a traceback in the server's log (the server or a kernel):\n"
                + log[-2000:],
            )
        )
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_in_jupyterlab(lab, lab_page, path):
    name = path.stem
    source_cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    page = lab_page.page
    log_offset = lab.log_size()

    opened = time.monotonic()
    # ?reset: a fresh workspace, so the previous chapter's tab is not
    # restored beside this one
    page.goto(f"{lab.url}lab/tree/chapters/{name}.ipynb?reset")
    page.wait_for_function(
        OPEN_NOTEBOOK_READY, timeout=KERNEL_TIMEOUT_S * 1000, polling=250
    )
    open_s = time.monotonic() - opened
    title = page.evaluate("() => labTestPanel.context.path")
    assert title == f"chapters/{name}.ipynb"
    cells_in_lab = page.evaluate("() => labTestPanel.content.widgets.length")
    assert cells_in_lab == len(source_cells)

    assert page.evaluate(CLEAR_OUTPUTS), "the stored outputs were not cleared"
    started = time.monotonic()
    _run_all_from_the_menu(page)
    page.wait_for_function(RUN_ALL_STARTED, timeout=10_000, polling=50)
    try:
        page.wait_for_function(
            RUN_ALL_DONE, timeout=RUN_ALL_TIMEOUT_S * 1000, polling=100
        )
        finished = True
    except PlaywrightTimeout:
        finished = False
    run_all_s = time.monotonic() - started
    code_cells = sum(c["cell_type"] == "code" for c in source_cells)
    lab.times[name] = {
        "open_s": round(open_s, 2),
        "run_all_s": round(run_all_s, 2),
        "code_cells": code_cells,
    }
    lab.times[name]["finished"] = finished
    _write_times(lab.times)  # recorded before anything is asserted
    if not finished:
        running = page.evaluate(STILL_RUNNING)
        lab_page.bad_cells = running
        pytest.fail(
            f"{name}: run all did not finish in {RUN_ALL_TIMEOUT_S} s; "
            f"still running: {running}",
            pytrace=False,
        )

    with contextlib.suppress(PlaywrightTimeout):
        # a widget that never renders is reported by the checks below
        page.wait_for_function(
            WIDGETS_RENDERED, timeout=REDRAW_TIMEOUT_S * 1000, polling=200
        )
    cells = page.evaluate(SNAPSHOT)
    problems = _problems_in_cells(cells, source_cells)
    with contextlib.suppress(PlaywrightTimeout):  # the page's script names them
        page.wait_for_function(f"() => ({NO_ALT})() === 0", timeout=3000)
    missing = page.evaluate(NO_ALT)
    if missing:
        problems.append((-1, f"{missing} explorer picture(s) without alt text"))
    slider_problems, redraw_s = _move_sliders(lab_page, cells)
    key_problems, controls = _controls_from_the_keyboard(lab_page, cells)
    problems += slider_problems + key_problems + _logged_errors(page, lab, log_offset)
    problems += _page_problems(lab_page, lab)

    lab.times[name].update(
        redraw_s=None if redraw_s is None else round(redraw_s, 3),
        keyboard_controls=controls,
        problems=len(problems),
        slowest_cells=_slowest_cells(cells),
        # stderr that is not a traceback (a warning, say) is recorded, not failed
        stderr=[
            [i, o["text"].strip()[:300]]
            for i, c in enumerate(cells)
            if c["type"] == "code"
            for o in c["outputs"]
            if o["name"] == "stderr" and "Traceback" not in o["text"]
        ],
    )
    _write_times(lab.times)
    _fail_on(problems, lab_page, f"{name} in JupyterLab")


#: How many live explorers' pictures (ipywidgets Images) have no alt text.
NO_ALT = """() => Array.from(
        document.querySelectorAll('.jp-OutputArea img.widget-image'))
    .filter(img => !img.alt.trim()).length"""


def _page_problems(lab_page, lab) -> list[tuple[int, str]]:
    """What went wrong outside the cells: requests that left the machine, console
    errors, files saved to disk (cell number -1)."""
    problems = []
    if lab_page.external:
        problems.append(
            (-1, f"requests that left 127.0.0.1 (blocked): {lab_page.external}")
        )
    if lab_page.console_errors:
        problems.append((-1, f"browser console errors: {lab_page.console_errors}"))
    changed = _changes(lab.repository)
    if changed:
        problems.append(
            (-1, f"files changed on disk (nothing may be saved): {changed}")
        )
    return problems


def _fail_on(problems: list[tuple[int, str]], lab_page, what: str) -> None:
    """Fail listing ``problems`` (cell number, or -1 for the page), if any; the cells
    with a problem are marked on the failure's screenshot (``bad_cells``)."""
    lab_page.bad_cells = [i for i, _ in problems if i >= 0]
    if problems:
        listing = "\n".join(
            f"  cell {i:2d}: {p}" if i >= 0 else f"  {p}" for i, p in problems
        )
        pytest.fail(
            f"{what}, {len(problems)} problems (cell numbers 0-based):\n{listing}",
            pytrace=False,
        )


# What a learner meets in a chapter opened from a fresh clone, before running it: the
# notebook is not trusted (each explorer's stored output shows its one line of text,
# "Run this cell..."); trusted from the command palette, JupyterLab renders the saved
# widget state: each explorer the book pre-draws works as in the book (its controls
# switch its pictures in the browser) under a line saying so, with no "disconnected"
# icon; an explorer whose pictures are not stored (the book computes chapter 6's in the
# page) keeps its line of text. One chapter for each kind: the chapter 3 (a
# slider and a slider the pre-drawn explorer lacks; a selection slider), 5 (two
# sliders, stacks in stacks), 6 (no stored pictures), 10 (toggle buttons). Every
# chapter's stored explorers are checked without a browser (tests/test_notebooks.py).
TRUST_CHAPTERS = ["03_score", "05_blend", "06_attention_matrix", "10_multi_head"]
TRUST_COPIES = ROOT / "_build" / "lab-trusted"
PREDRAWN_CLASS = "selfattention-predrawn"  # selfattention.explorer.PREDRAWN_CLASS
PREDRAWN_NOTE_CLASS = "selfattention-predrawn-note"

OUTPUT_TEXT = """(i) => labTestPanel.content.widgets[i].node
    .querySelector('.jp-OutputArea')?.innerText || ''"""
UNTRUSTED_CELLS = """() => labTestPanel.content.widgets
    .filter(c => c.model.type === 'code' && !c.model.trusted).length"""
ALL_TRUSTED = """() => labTestPanel.content.widgets
    .every(c => c.model.type !== 'code' || c.model.trusted)"""
# Icons drawn by a ::before of an element shown (ipywidgets marks a view of a model
# without a kernel with the class jupyter-widgets-disconnected: a broken chain drawn
# with Font Awesome): where they are, in words.
DISCONNECTED_ICONS = """() => Array.from(document.querySelectorAll('.jp-Notebook *'))
    .filter(e => {
        if (e.offsetParent === null) return false;
        const before = getComputedStyle(e, '::before');
        if (['none', 'normal', ''].includes(before.content)
            || before.display === 'none') return false;
        return e.classList.contains('jupyter-widgets-disconnected')
            || /awesome/i.test(before.fontFamily);
    })
    .map(e => {
        const cell = e.closest('.jp-Cell');
        const i = labTestPanel.content.widgets.findIndex(w => w.node === cell);
        return `cell ${i}: <${e.tagName.toLowerCase()} class="${e.className}">`;
    })"""
# The explorer shown in cell i: its note (visible text), the picture on top (its alt
# text names the settings) and a fingerprint of every picture shown.
PREDRAWN_NOW = f"""(i) => {{
    const area = labTestPanel.content.widgets[i].node.querySelector('.jp-OutputArea');
    const shown = (e) => e.offsetParent !== null;
    const images = Array.from(area.querySelectorAll('img')).filter(shown);
    let h = 2166136261;
    const all = images.map(im => im.src).join('|');
    for (let k = 0; k < all.length; k++) {{
        h ^= all.charCodeAt(k);
        h = Math.imul(h, 16777619) >>> 0;
    }}
    return {{
        explorers: area.querySelectorAll('.{PREDRAWN_CLASS}').length,
        notes: Array.from(area.querySelectorAll('.{PREDRAWN_NOTE_CLASS}'))
            .filter(shown).map(n => n.innerText.replace(/\\s+/g, ' ').trim()),
        alt: images.filter(im => im.getAttribute('role') !== 'presentation')
            .map(im => im.alt).join(' | '),
        picture: images.length ? h : null,
    }};
}}"""
# What a control of cell i says it is set to: "name = value" as the pictures' alt texts
# write it (Explorer.describe), or the value alone for a control without a name.
CONTROL_SETTING = """(id) => {
    const c = document.querySelector(`[data-a11y-control="${id}"]`);
    const box = c.closest('.widget-slider, .widget-dropdown, .widget-toggle-buttons');
    const label = (box.querySelector(':scope > .widget-label')?.textContent || '')
        .trim();
    const value = (box.querySelector('.widget-readout')?.textContent
        || box.querySelector('select')?.selectedOptions[0]?.textContent
        || box.querySelector('.widget-toggle-button.mod-active')?.textContent
        || '').trim();
    return label ? `${label} = ${value}` : value;
}"""


def _trust_from_the_command_palette(page) -> None:
    """What the README tells a learner: Ctrl+Shift+C, "Trust Notebook", then Trust."""
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input")
    palette.wait_for(state="visible", timeout=10_000)
    palette.fill("Trust Notebook")
    item = page.locator(".lm-CommandPalette-item.lm-mod-active")
    assert item.inner_text().strip().startswith("Trust Notebook"), item.inner_text()
    page.keyboard.press("Enter")
    page.locator(".jp-Dialog-button", has_text=re.compile(r"^\s*Trust\s*$")).click()


def _operate(page, i, control) -> tuple[str, str | None]:
    """One change to a pre-drawn explorer's control (a key on a slider, a click
    elsewhere); returns the setting it shows then, and how to undo it (a key, or the
    id of the toggle button to click), or None."""
    focused = page.locator(f"[data-a11y-control='{control['id']}']")
    focused.scroll_into_view_if_needed()
    if control["kind"] == "slider":
        now = float(focused.get_attribute("aria-valuenow"))
        top = float(focused.get_attribute("aria-valuemax"))
        there, back = ("ArrowRight", "ArrowLeft") if now < top else ("ArrowLeft", "End")
        focused.focus()
        page.keyboard.press(there)
        return there, back
    if control["kind"] == "select":
        index = focused.evaluate("s => s.selectedIndex")
        count = focused.locator("option").count()
        focused.select_option(index=index + 1 if index < count - 1 else index - 1)
        return "another option", None
    before = page.evaluate(PRESSED_TOGGLE, control["id"])
    focused.click()
    return "a click", before


def _picture_soon(page, i, wanted) -> bool:
    """True once the fingerprint of the pictures cell i shows is ``wanted`` (a
    pre-drawn explorer switches pictures in the browser, at once)."""
    return _soon(lambda: wanted(page.evaluate(PREDRAWN_NOW, i)["picture"]), 5)


def _predrawn_controls_work(page, i) -> list[str]:
    """Every control of the pre-drawn explorer in cell i changes the picture to the
    one its alt text names for the new setting, and back."""
    problems = []
    for control in page.evaluate(MARK_CONTROLS, i):
        where = f"{control['kind']} {control['id']}"
        focused = page.locator(f"[data-a11y-control='{control['id']}']")
        if control["kind"] == "toggle" and "mod-active" in (
            focused.get_attribute("class") or ""
        ).split(" "):
            continue  # pressed already: its neighbours are tried
        before = page.evaluate(PREDRAWN_NOW, i)["picture"]
        action, undo = _operate(page, i, control)
        if not _picture_soon(page, i, lambda p, b=before: p != b):
            problems.append(f"{where}: {action} did not change the picture")
            continue
        setting = page.evaluate(CONTROL_SETTING, control["id"])
        after = page.evaluate(PREDRAWN_NOW, i)
        if setting not in after["alt"]:
            problems.append(
                f"{where}: set to {setting!r}, but the picture shows {after['alt']!r}"
            )
        if control["kind"] == "slider":
            focused.focus()
            page.keyboard.press(undo)
        elif control["kind"] == "toggle" and undo is not None:
            page.locator(f"[data-a11y-control='{undo}']").click()
        else:
            continue
        if not _picture_soon(page, i, lambda p, b=before: p == b):
            problems.append(f"{where}: undoing it did not bring the picture back")
    return problems


@pytest.mark.parametrize("name", TRUST_CHAPTERS)
def test_a_trusted_chapter_shows_its_stored_explorers_working_before_it_runs(
    lab, lab_page, name
):
    path = ROOT / "chapters" / f"{name}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    stored = (
        nb["metadata"]
        .get("widgets", {})
        .get("application/vnd.jupyter.widget-state+json", {})
        .get("state", {})
    )
    explorers = {
        i: any(
            o.get("data", {})
            .get("application/vnd.jupyter.widget-view+json", {})
            .get("model_id")
            in stored
            for o in cell.get("outputs", [])
        )
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and "Explorer(" in "".join(cell["source"])
    }
    assert explorers, f"{name} has no explorer"
    # Lab saves a notebook when it is trusted (to sign it): a learner's clone, here a
    # copy outside chapters/ (under _build/, which the test of unchanged files skips)
    copy = TRUST_COPIES / f"{name}.ipynb"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, copy)
    page = lab_page.page
    page.goto(f"{lab.url}lab/tree/{copy.relative_to(ROOT).as_posix()}?reset")
    page.wait_for_function(
        OPEN_NOTEBOOK_READY, timeout=KERNEL_TIMEOUT_S * 1000, polling=250
    )
    # A fresh clone is not trusted: each explorer shows its line of text.
    assert page.evaluate(UNTRUSTED_CELLS) > 0, "the notebook opened trusted"
    problems = []
    cells = page.evaluate(SNAPSHOT)
    for i in explorers:
        shown = page.evaluate(OUTPUT_TEXT, i)
        if cells[i]["widgets"] or "Run this cell" not in shown:
            problems.append((i, f"untrusted, it shows {shown[:100]!r}, not its text"))

    _trust_from_the_command_palette(page)
    page.wait_for_function(ALL_TRUSTED, timeout=10_000, polling=100)
    with contextlib.suppress(PlaywrightTimeout):  # reported below
        page.wait_for_function(
            WIDGETS_RENDERED, timeout=REDRAW_TIMEOUT_S * 1000, polling=200
        )
    cells = page.evaluate(SNAPSHOT)
    for i, cell in enumerate(cells):
        if cell["type"] != "code":
            continue
        for shown in cell["output_texts"]:
            if "Error displaying widget" in shown or WIDGET_REPR.match(shown):
                problems.append((i, f"trusted, it shows {shown[:100]!r}"))
        if i not in explorers:
            continue
        now = page.evaluate(PREDRAWN_NOW, i)
        if not explorers[i]:  # no pictures stored: its text, as before trusting
            shown = page.evaluate(OUTPUT_TEXT, i)
            if cell["widgets"] or "Run this cell" not in shown:
                problems.append((i, f"trusted, it shows {shown[:100]!r}, not its text"))
            continue
        if now["explorers"] != 1 or now["picture"] is None:
            problems.append((i, "trusted, its pre-drawn explorer is not shown"))
            continue
        if not (
            len(now["notes"]) == 1
            and "drawn in advance" in now["notes"][0]
            and "Run this cell for the live explorer with all its controls"
            in now["notes"][0]
        ):
            problems.append((i, f"no line saying what it is: {now['notes']}"))
        problems += [(i, p) for p in _predrawn_controls_work(page, i)]
    problems += [
        (-1, f"a disconnected icon: {icon}")
        for icon in page.evaluate(DISCONNECTED_ICONS)
    ]
    problems += _page_problems(lab_page, lab)
    _fail_on(problems, lab_page, f"{name}, trusted before it runs")

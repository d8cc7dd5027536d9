"""Running notebooks: papermill into a run folder, in the ``f5lab`` kernel, then their HTML.

What ``f5lab report`` and ``f5lab sweep`` share: the report gathers what the notebooks recorded
(``f5lab.reporting.reports``), a sweep runs one set of notebooks per point
(``f5lab.reporting.sweepunits``); neither needs the other to execute a notebook, so this is its own
module. Each executed notebook is signed (JupyterLab plays its audio) and exported as a
self-contained HTML page; a failed one keeps its executed copy and its error.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from f5lab.errors import F5LabError

NOTEBOOKS = ("01_inspect", "02_compatibility", "03_memory", "04_synthesis")  # the report's, in order
KERNEL_NAME = "f5lab"
KERNEL_DISPLAY = "Python (f5lab)"


class ReportError(F5LabError):
    """The report or sweep cannot start (no notebooks folder, an unknown notebook, bad option)."""


@dataclass
class NotebookResult:
    name: str
    status: str  # "ok" or "failed"
    ipynb: Path
    html: Path | None
    sidecar: Path
    seconds: float
    error: str | None = None


def notebooks_dir() -> Path:
    """The folder holding the ``NN_*.ipynb`` notebooks (``$F5LAB_NOTEBOOKS`` overrides)."""
    env = os.environ.get("F5LAB_NOTEBOOKS")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "notebooks"
    if not (folder / f"{NOTEBOOKS[0]}.ipynb").exists():
        raise ReportError(f"no notebooks in {folder}; set F5LAB_NOTEBOOKS to the f5lab notebooks/ folder")
    return folder


def select_notebooks(folder: Path, wanted: Sequence[str] | None) -> list[str]:
    """The notebooks to run, in order: ``wanted`` (checked) or every one present."""
    names = list(wanted or [n for n in NOTEBOOKS if (folder / f"{n}.ipynb").exists()])
    unknown = [n for n in names if n not in NOTEBOOKS or not (folder / f"{n}.ipynb").exists()]
    if unknown:
        raise ReportError(f"--notebook {', '.join(repr(n) for n in unknown)}: unknown; known: {', '.join(NOTEBOOKS)}")
    return names


def check_notebook_values(**named: Any) -> None:
    """Every path or text a notebook will receive can be written into it: a notebook is JSON in
    UTF-8, and a file name with undecodable bytes (Python holds them as lone surrogates) cannot be
    stored there. Refused in one line naming the option, before any notebook runs."""
    for option, value in named.items():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if item is None:
                continue
            text = os.fspath(item) if isinstance(item, (str, os.PathLike)) else str(item)
            if isinstance(text, bytes):
                text = os.fsdecode(text)
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                from f5lab.outputs import shown_bytes

                shown = shown_bytes(text)
                raise ReportError(f"{shown}: {option} is not UTF-8 text (a file name with undecodable bytes); the "
                                  "report's notebooks cannot carry it: rename it (or link it under a UTF-8 name)") from None


# where Jupyter, IPython and matplotlib keep their state under HOME; when HOME cannot be written (read-only,
# a file, a full disk), each gets a private folder for this run, so kernels still start
HOME_STATE = {"JUPYTER_RUNTIME_DIR": "runtime", "IPYTHONDIR": "ipython", "MPLCONFIGDIR": "matplotlib"}


def jupyter_dirs() -> dict[str, str]:
    """Point Jupyter's runtime folder (kernel connection files), IPython's and matplotlib's at a private
    temporary folder when the ones under HOME cannot be written; returns what it set."""
    from jupyter_core.paths import jupyter_runtime_dir

    from f5lab import outputs

    wanted = {"JUPYTER_RUNTIME_DIR": jupyter_runtime_dir(),
              "IPYTHONDIR": os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython"),
              "MPLCONFIGDIR": os.environ.get("MPLCONFIGDIR") or os.path.join(os.path.expanduser("~"), ".config",
                                                                             "matplotlib")}
    bad = [k for k, path in wanted.items() if not outputs.usable_folder(path)]
    if not bad:
        return {}
    scratch = outputs.scratch_folder("home")
    set_now = {k: str(scratch / HOME_STATE[k]) for k in bad}
    os.environ.update(set_now)  # the kernels papermill starts inherit them
    return set_now


def execute(notebook: Path, run_dir: Path, params: dict[str, Any], progress: bool = True,
            desc: str | None = None, title: str | None = None, predicted_s: float | None = None) -> NotebookResult:
    """Run one notebook with papermill (only the parameters it declares) in a quiet kernel
    (``f5lab.reporting.kernel``), sign the executed copy so JupyterLab plays its audio, and
    export its HTML. With ``progress``, one line on stderr follows it (``Follower``): elapsed
    against ``predicted_s``, and during synthesis every flow step with its ETA."""
    import papermill as pm

    from f5lab.reporting.kernel import QuietKernelManager, trust

    jupyter_dirs()
    name = notebook.stem
    out_nb = run_dir / f"{name}.ipynb"
    sidecar = run_dir / f"{name}.json"
    declared = pm.inspect_notebook(str(notebook))
    passed = {k: v for k, v in {**params, "sidecar": str(sidecar)}.items() if k in declared}
    use_readable_parameters()
    error = None
    t0 = time.perf_counter()
    from f5lab import outputs

    with outputs.file(out_nb, force=True) as tmp, Follower(desc or name, predicted_s, progress) as follow:
        try:
            pm.execute_notebook(str(notebook), str(tmp), parameters=passed, kernel_name=KERNEL_NAME,
                                cwd=str(run_dir), progress_bar=False, log_output=False,
                                kernel_manager_class=QuietKernelManager)
        except pm.PapermillExecutionError as exc:
            error = f"{exc.ename}: {exc.evalue}".strip().splitlines()[0][:300]
        except Exception as exc:  # a kernel that died or could not start: still a failed notebook
            error = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]
        follow.finish(error)
    seconds = time.perf_counter() - t0
    if out_nb.exists():
        trust(out_nb)
    html_path = export_html(out_nb, title) if out_nb.exists() else None
    return NotebookResult(name=name, status="ok" if error is None else "failed", ipynb=out_nb,
                          html=html_path, sidecar=sidecar, seconds=seconds, error=error)


class Follower:
    """One line on stderr while a notebook runs: its elapsed time against the plan's prediction,
    and while it synthesises, each flow step with the ETA measured from the steps so far (read from
    the side file ``f5lab.speech.progress`` writes in the kernel, named by ``$F5LAB_PROGRESS_FILE``).
    Rewritten in place on a terminal; piped, one line per step (not per tick)."""

    TICK_S = 0.5

    def __init__(self, desc: str, predicted_s: float | None, enabled: bool = True, stream: Any = None) -> None:
        self.desc, self.predicted_s, self.enabled = desc, predicted_s, enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.perf_counter()
        self.width = 0
        self.last_state: Any = None
        self._stop: Any = None
        self._dir: Any = None
        self._saved_env: str | None = None

    def __enter__(self) -> "Follower":
        if not self.enabled:
            return self
        import tempfile
        import threading

        from f5lab.speech.progress import ENV_FILE

        self._dir = tempfile.TemporaryDirectory(prefix="f5lab-progress-")
        self.path = Path(self._dir.name) / "progress.json"
        self._saved_env = os.environ.get(ENV_FILE)
        os.environ[ENV_FILE] = str(self.path)  # the kernel papermill starts inherits it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.enabled:
            return
        self._stop.set()
        self._thread.join(timeout=2)
        from f5lab.speech.progress import ENV_FILE

        if self._saved_env is None:
            os.environ.pop(ENV_FILE, None)
        else:
            os.environ[ENV_FILE] = self._saved_env
        self._dir.cleanup()

    def _run(self) -> None:
        while not self._stop.wait(self.TICK_S):
            self.show(self.read())

    def read(self) -> dict[str, Any] | None:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return None if state.get("finished") else state

    def text(self, state: dict[str, Any] | None) -> str:
        from f5lab.escaping import terminal
        from f5lab.speech.progress import line
        from f5lab.units import duration

        head = terminal(self.desc, keep_newlines=False)
        elapsed = duration(time.perf_counter() - self.started)
        plan = f" of ~{duration(self.predicted_s)} predicted" if self.predicted_s else ""
        return f"{head} · {elapsed}{plan}" + (f" · {line(state)}" if state else "")

    def show(self, state: dict[str, Any] | None) -> None:
        if self.tty:
            text = self.text(state)
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        elif state is not None and _moved(state, self.last_state):  # piped: a line per step, none per tick
            self.stream.write(self.text(state) + "\n")
        else:
            return
        self.last_state = state
        self.stream.flush()

    def finish(self, error: str | None) -> None:
        """The notebook's last line: ok or FAILED, measured beside predicted."""
        if not self.enabled:
            return
        self._stop.set()
        from f5lab.escaping import terminal
        from f5lab.units import duration

        took = duration(time.perf_counter() - self.started)
        plan = f" (predicted ~{duration(self.predicted_s)})" if self.predicted_s else ""
        text = f"{terminal(self.desc, keep_newlines=False)} · {'ok' if error is None else 'FAILED'} · {took}{plan}"
        self.stream.write(("\r" + text.ljust(self.width) if self.tty else text) + "\n")
        self.stream.flush()


def _moved(state: dict[str, Any], last: dict[str, Any] | None) -> bool:
    """A new step or rendering (not only time passing)."""
    keys = ("rendering", "step", "steps")
    return last is None or any(state.get(k) != last.get(k) for k in keys)


def use_readable_parameters() -> None:
    """Papermill writes string parameters with ``unicode_escape`` ("Ol\\xe1"): register a Python
    translator that writes them as Python literals keep them ("Olá"; control characters still
    escaped), so the parameters cell a user reads in JupyterLab shows the text as given."""
    from papermill.translators import PythonTranslator, papermill_translators

    class ReadablePython(PythonTranslator):
        @classmethod
        def translate_str(cls, val: Any) -> str:
            return repr(str(val))

        @classmethod
        def translate_escaped_str(cls, str_val: Any) -> str:
            return repr(str(str_val)) if isinstance(str_val, str) else f'"{str_val}"'

    papermill_translators.register("python", ReadablePython)


# JupyterLab's CSS breaks printed text anywhere (word-break: break-all): "pro|venance". Words
# stay whole here; the notebooks wrap their own lines at 100 columns.
# A wide table scrolls inside its own box (the page never scrolls sideways at phone width), pictures
# shrink to the column, and numbers never split (their cells are white-space: nowrap).
TEXT_CSS = ("<style>.jp-RenderedText pre, .jp-OutputArea-output pre {word-break: normal; "
            "overflow-wrap: break-word; white-space: pre-wrap;} .jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th "
            "{text-align: left;} .jp-RenderedHTMLCommon table {display: block; max-width: 100%; overflow-x: auto;} "
            ".jp-RenderedImage img, .jp-RenderedHTMLCommon img {max-width: 100%; height: auto;} "
            ".jp-OutputArea-output audio {max-width: 100%;} .jp-Cell, .jp-OutputArea-output {min-width: 0;}</style>")


def export_html(ipynb: Path, title: str | None = None) -> Path | None:
    """nbconvert's HTML (lab template) next to the executed notebook, titled ``title`` (default:
    the notebook's name); None if export fails."""
    import nbformat

    try:
        body = notebook_html(nbformat.read(ipynb, as_version=4), title or ipynb.stem)
    except Exception:  # an export problem must not hide the notebook's own result
        return None
    from f5lab import outputs

    return outputs.write_text(ipynb.with_suffix(".html"), body, force=True)


def notebook_html(nb: Any, title: str, exclude_input: bool = False) -> str:
    """One notebook as a self-contained page: figures and audio are already data URIs in the
    outputs; the lab template's CDN scripts (MathJax, require.js) are dropped, since no output
    needs them, so the page opens offline and can be attached to an e-mail."""
    import re

    from nbconvert import HTMLExporter

    from traitlets.config import Config

    nb = reflowed(nb)
    hide_setup = Config({"TagRemovePreprocessor": {"enabled": True, "remove_input_tags": ["setup"]}})
    exporter = HTMLExporter(template_name="lab", exclude_input=exclude_input,
                            exclude_output_prompt=exclude_input, exclude_input_prompt=exclude_input, config=hide_setup)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = re.sub(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', "", body)
    body = re.sub(r'<link[^>]*\bhref="https?://[^"]*"[^>]*>', "", body)
    return body.replace("</head>", TEXT_CSS + "\n</head>", 1)


def reflowed(nb: Any) -> Any:
    """A copy of ``nb`` whose printed text is unwrapped for a page: the notebooks wrap their lines at
    100 columns with a 4-space hanging indent (``sidecar.say``), which a phone would wrap again
    into ragged halves; joined, the page wraps each paragraph at its own width."""
    import copy
    import re

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and isinstance(out.get("text"), str):
                out["text"] = re.sub(r"\n {4}(?=\S)", " ", out["text"])
    return nb


def ensure_kernel() -> str:
    """Make sure the ``f5lab`` Jupyter kernel (this interpreter) exists; register it if not."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        return KERNEL_NAME
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY, prefix=sys.prefix)
    return KERNEL_NAME


def read_sidecar(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_json(path: Path, obj: Any) -> None:
    """Summaries, manifests and markers, written atomically (an interrupted run leaves none half-written)."""
    from f5lab.outputs import replace_text

    replace_text(path, json.dumps(obj, indent=2, default=str) + "\n")

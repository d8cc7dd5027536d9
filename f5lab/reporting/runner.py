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
            desc: str | None = None, title: str | None = None) -> NotebookResult:
    """Run one notebook with papermill (only the parameters it declares) in a quiet kernel
    (``f5lab.reporting.kernel``), sign the executed copy so JupyterLab plays its audio, and
    export its HTML."""
    import papermill as pm

    from f5lab.reporting.kernel import QuietKernelManager, trust

    jupyter_dirs()
    name = notebook.stem
    out_nb = run_dir / f"{name}.ipynb"
    sidecar = run_dir / f"{name}.json"
    declared = pm.inspect_notebook(str(notebook))
    passed = {k: v for k, v in {**params, "sidecar": str(sidecar)}.items() if k in declared}
    bar: bool | dict[str, Any] = {"disable": False, "desc": desc or name, "leave": True} if progress else False
    error = None
    t0 = time.perf_counter()
    from f5lab import outputs

    with outputs.file(out_nb, force=True) as tmp:  # the run folder's own: a failed notebook's copy is kept
        try:
            pm.execute_notebook(str(notebook), str(tmp), parameters=passed, kernel_name=KERNEL_NAME,
                                cwd=str(run_dir), progress_bar=bar, log_output=False,
                                kernel_manager_class=QuietKernelManager)
        except pm.PapermillExecutionError as exc:
            error = f"{exc.ename}: {exc.evalue}".strip().splitlines()[0][:300]
        except Exception as exc:  # a kernel that died or could not start: still a failed notebook
            error = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]
    seconds = time.perf_counter() - t0
    if out_nb.exists():
        trust(out_nb)
    html_path = export_html(out_nb, title) if out_nb.exists() else None
    return NotebookResult(name=name, status="ok" if error is None else "failed", ipynb=out_nb,
                          html=html_path, sidecar=sidecar, seconds=seconds, error=error)


# JupyterLab's CSS breaks printed text anywhere (word-break: break-all): "pro|venance". Words
# stay whole here; the notebooks wrap their own lines at 100 columns.
TEXT_CSS = ("<style>.jp-RenderedText pre, .jp-OutputArea-output pre {word-break: normal; "
            "overflow-wrap: anywhere;} .jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th "
            "{text-align: left;}</style>")


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

    hide_setup = Config({"TagRemovePreprocessor": {"enabled": True, "remove_input_tags": ["setup"]}})
    exporter = HTMLExporter(template_name="lab", exclude_input=exclude_input,
                            exclude_output_prompt=exclude_input, exclude_input_prompt=exclude_input, config=hide_setup)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = re.sub(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', "", body)
    body = re.sub(r'<link[^>]*\bhref="https?://[^"]*"[^>]*>', "", body)
    return body.replace("</head>", TEXT_CSS + "\n</head>", 1)


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

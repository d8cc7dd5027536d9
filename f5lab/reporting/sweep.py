"""``f5lab sweep``: many report points (checkpoints x settings), compared, on Dask.

A point is one checkpoint at one setting (config, NFE, dtype, device, reference clip, text).
Points come from checkpoint files, folders (a training run's ``model_<update>.pt``) or globs,
crossed with a grid of settings, or from a YAML sweep file. Each point runs, with papermill
in its own Jupyter kernel and working directory ``reports/<sweep-id>/<point-id>/``, the
notebooks whose inputs differ between points; a notebook that reads shapes only (inspect,
compatibility, memory) runs once per architecture under ``_shared/``.

The engine is Dask distributed, never threads of one process (papermill is not thread
safe): a ``LocalCluster`` of ``workers`` processes with one thread each, or the scheduler at
``scheduler`` (a cluster on many machines, e.g. through dask-jobqueue; the output folder
must then be on a filesystem every worker sees). Points that run on a GPU ask for the worker
resource ``GPU: 1``, so a worker runs one of them at a time.

Robust for long sweeps: each finished unit writes ``done.json`` (the sha256 of its inputs:
checkpoint bytes, reference clips, notebooks and parameters; its status; a failed notebook's
traceback); a re-run skips units done with the same inputs, re-runs failed and missing ones;
Ctrl-C cancels what runs and keeps what finished. ``summary.json`` marks failed and missing
points; ``f5lab.reporting.comparison`` turns it into the table, the best point per metric and plots.

The modules by idea: ``sweepspec`` (what to sweep: spec, sweep file, points), ``sweepunits``
(units, their input keys, ``done.json``, running one), ``sweepdask`` (the cluster), ``sweepconfig``
(the one config decision); this one runs them in order.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from f5lab.errors import ConfigError
from f5lab.reporting.comparison import POINT_NOTEBOOK, REFERENCE_DIR
from f5lab.reporting.runner import write_json
from f5lab.reporting.sweepspec import SweepSpec, make_points, make_spec, sweep_id_for
from f5lab.reporting.sweepunits import Hasher, catalogues_of, is_done, plan_units, run_here

COMPARE_NOTEBOOK = "05_sweep"


@dataclass
class SweepResult:
    sweep_dir: Path
    summary: dict[str, Any]
    ran: list[str]
    skipped: list[str]
    interrupted: int = 0  # the signal that stopped it (2 for Ctrl-C), 0 when it ran to the end

    @property
    def ok(self) -> bool:
        return not self.interrupted and not self.summary["failed"] and not self.summary["missing"]

    @property
    def index(self) -> Path:
        return self.sweep_dir / "index.html"


def run_sweep(spec: SweepSpec, *, out: str | os.PathLike = "reports", sweep_id: str | None = None,
              workers: int = 2, scheduler: str | None = None, notebooks: Sequence[str] | None = None,
              compare: bool = True, progress: bool = True, in_process: bool = False,
              echo: Callable[[str], None] | None = None) -> SweepResult:
    """Run every point not already done with the same inputs; summarise, compare, write the index.

    ``notebooks``: what each point runs (default: the point notebook only; add ``01_inspect``
    or ``03_memory`` and they run once per architecture). ``compare``: also execute the
    comparison notebook ``05_sweep`` on the finished sweep folder. ``in_process``: the point
    notebook's library call for each point in this process (``sweepunits.run_here``) instead of
    papermill kernels on Dask: the same folders and numbers, in seconds, for a sweep small
    enough to need no workers (``tiny_sweep``, which the stored ``05_sweep`` runs under nbval).
    """
    from f5lab.reporting.comparison import build_sweep_summary
    from f5lab.reporting.runner import notebooks_dir
    from f5lab.reporting.sweepdask import submit_all
    from f5lab.reporting.sweeppage import write_sweep_index

    echo = echo or (lambda _msg: None)
    folder = notebooks_dir()
    names = point_notebooks(folder, notebooks, in_process)
    if scheduler is None and workers < 1:
        raise ConfigError(f"--workers must be at least 1 (got {workers})")
    from f5lab.reporting.runner import check_notebook_values

    check_notebook_values(**{"a checkpoint": spec.checkpoints, "--out": out, "--vocoder": spec.vocoder,
                             "--base": spec.bases, "a reference clip": [a for a, _t in spec.grid["ref"]]})
    points = make_points(spec)
    sweep_dir = Path(out).resolve() / (sweep_id or sweep_id_for(spec, points))
    check_owned(sweep_dir)  # another command's folder (a report's run folder, one's own): refused, untouched
    decided, reasons = decide_configs(spec, points, sweep_dir, echo)  # before any point runs; refused: nothing written
    from f5lab import outputs

    with outputs.exclusive(sweep_dir, what="sweep"):  # the same sweep started twice: the second is refused
        check_owned(sweep_dir)  # again, under the lock: nothing replaced it meanwhile
        with _new_folder(sweep_dir):  # bad input leaves no empty sweep folder behind
            units = plan_units(points, spec, names, sweep_dir, folder, Hasher(sweep_dir / "hashes.json"), reasons)
            write_json(sweep_dir / "sweep.json", {"spec": _spec_dict(spec), "points": points, "notebooks": names,
                                                  "config_decision": decided, "units": [asdict(u) for u in units]})
        todo = [u for u in units if not is_done(u)]
        skipped = [u.id for u in units if u not in todo]
        echo(f"sweep {sweep_dir.name}: {len(points)} point(s), {len(units)} unit(s); "
             f"{len(skipped)} already done, {len(todo)} to run")
        if todo:  # what it will cost, said before the work (f5lab.reporting.plan)
            from f5lab.reporting.plan import plan_sweep

            for line in plan_sweep(todo, workers, in_process).lines():
                echo(line)
        run = run_here if in_process else lambda units: submit_all(units, workers, scheduler, progress)
        interrupted = run(todo) if todo else 0
        write_reference_media(sweep_dir, spec)
        summary = build_sweep_summary(sweep_dir)
        write_json(sweep_dir / "summary.json", summary)
        if compare and not interrupted:
            run_compare_notebook(sweep_dir, folder)
        write_sweep_index(sweep_dir, summary)
    return SweepResult(sweep_dir=sweep_dir, summary=summary, ran=[u.id for u in todo], skipped=skipped,
                       interrupted=interrupted)


def point_notebooks(folder: Path, notebooks: Sequence[str] | None, in_process: bool = False) -> list[str]:
    """The notebooks each point runs (the point notebook by default), each checked to exist; in this
    process only the point notebook can run (its one library call stands in for its kernel)."""
    names = list(notebooks or [POINT_NOTEBOOK])
    for n in names:
        if n == COMPARE_NOTEBOOK or not (folder / f"{n}.ipynb").exists():
            raise ConfigError(f"--notebook {n}: no such point notebook in {folder}")
    if in_process and names != [POINT_NOTEBOOK]:
        raise ConfigError(f"in this process only the point notebook runs ({POINT_NOTEBOOK}), not {', '.join(names)}")
    return names


def decide_configs(spec: SweepSpec, points: list[dict[str, Any]], sweep_dir: Path,
                   echo: Callable[[str], None] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The sweep's config decision (``f5lab.reporting.sweepconfig``), once, before any point runs: the
    points without a config get it; returns the decision and each point's reason. A resumed sweep
    reuses the one its sweep.json recorded for the same inputs."""
    from f5lab.reporting import sweepconfig

    decided = sweepconfig.decide_configs(spec, catalogues_of(spec), sweep_dir)
    for d in decided["decisions"]:
        (echo or (lambda _m: None))(f"config: {d['text']}")
    return decided, sweepconfig.apply(points, decided)


def write_reference_media(sweep_dir: Path, spec: SweepSpec) -> None:
    """Each reference clip as f5-tts conditions on it (its player) and its log-mel (its picture),
    under ``_reference/`` in the sweep folder: what the index sets beside every rendering."""
    from f5lab.speech.evaluation import save_reference_media

    for i, (audio, _text) in enumerate(spec.grid["ref"], 1):
        save_reference_media(audio, sweep_dir / REFERENCE_DIR, f"ref{i}")


def check_owned(sweep_dir: Path) -> None:
    """A folder belongs to the command that made it: ``sweep`` resumes only a folder holding its own
    plan (``sweep.json``, a sweep's); it may also take a missing or empty folder, or one marked
    incomplete (``f5lab.outputs`` refuses it while its writer runs, replaces it once that is gone).
    Anything else (a report's run folder, a folder of one's own) is refused in one line naming it."""
    from f5lab.outputs import INCOMPLETE

    if not (sweep_dir.exists() or sweep_dir.is_symlink()):
        return
    if sweep_dir.is_symlink() or not sweep_dir.is_dir():
        raise ConfigError(f"{sweep_dir}: exists and is not a folder; choose another --sweep-id or --out")
    if is_sweep_folder(sweep_dir) or (sweep_dir / INCOMPLETE).exists():
        return
    try:
        if not any(sweep_dir.iterdir()):
            return
    except OSError as exc:
        raise ConfigError(f"{sweep_dir}: cannot be read ({exc.strerror}); choose another --sweep-id or --out") from None
    whose = "a report's run folder" if (sweep_dir / "manifest.json").is_file() else "a folder f5lab sweep did not make"
    raise ConfigError(f"{sweep_dir}: exists and is {whose} (no sweep.json); a sweep resumes only its own folder and "
                      "touches nothing else: choose another --sweep-id or --out")


def is_sweep_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a sweep's plan: a ``sweep.json`` with the keys ``run_sweep`` writes."""
    from f5lab.errors import F5LabError
    from f5lab.files.readers import read_json

    plan = folder / "sweep.json"
    if not plan.is_file() or plan.is_symlink():
        return False
    try:
        data = read_json(plan, "sweep plan")
    except F5LabError:
        return False
    return isinstance(data, dict) and {"spec", "points", "units"} <= set(data)


@contextlib.contextmanager
def _new_folder(sweep_dir: Path) -> Any:
    """A sweep folder made by this run is claimed (marked incomplete) until its plan is written, so a
    refusal or a signal before then removes it; a resumed sweep's folder is never touched. An empty
    folder or one left incomplete is claimed the same way (``f5lab.outputs`` refuses it while its
    writer still runs)."""
    from f5lab import outputs

    if is_sweep_folder(sweep_dir):
        outputs.resume_folder(sweep_dir)  # killed after its plan was written: resumable, its stale marker goes
        yield
        return
    with outputs.folder(sweep_dir, what="sweep"):
        yield

def run_compare_notebook(sweep_dir: Path, folder: Path) -> Any:
    """Execute ``05_sweep`` on the finished sweep folder (its table, plots and best points)."""
    from f5lab.reporting.runner import ensure_kernel, execute

    ensure_kernel()
    return execute(folder / f"{COMPARE_NOTEBOOK}.ipynb", sweep_dir, {"sweep_dir": str(sweep_dir)}, progress=False)


def _spec_dict(spec: SweepSpec) -> dict[str, Any]:
    d = asdict(spec)
    d["checkpoints"] = [str(p) for p in spec.checkpoints]
    return d


def tiny_sweep(out: str | os.PathLike, nfe: Sequence[int] = (2, 4), dtype: Sequence[str] = ("fp32", "bf16")) -> Path:
    """A tiny trained run (``f5lab.synthetic.training_run``) swept in this process: checkpoints x NFE x dtype,
    no config named: the probe on the last checkpoint decides it for every point (its shapes fit
    F5TTS_Base and F5TTS_v1_Base; it trained under the latter)."""
    from f5lab.synthetic.training_run import build_training_run

    run = build_training_run(Path(out) / "run")
    spec = make_spec([run.folder], nfe=list(nfe), dtype=list(dtype), configs="tiny",
                     val_audio=[str(run.held_out)], val_text=[run.held_out_text], name="tiny_run",
                     gen_text="Hello there.")
    return run_sweep(spec, out=Path(out) / "sweeps", compare=False, progress=False, in_process=True).sweep_dir

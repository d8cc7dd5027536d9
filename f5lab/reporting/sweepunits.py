"""A sweep's units: which notebooks run where with which parameters, the sha256 key of their
inputs, the ``done.json`` marker that lets a re-run skip what is done, and running one unit.

A unit is one Dask task: a point's notebooks in the point's folder, or a notebook that reads
shapes only, once per architecture under ``_shared/``. Its key hashes the notebooks' sources, the
parameters and the bytes of every input file (``Hasher`` reads a 1.3 GB file once per sweep
folder), so a re-run resumes exactly where the inputs are unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from f5lab.reporting.comparison import POINT_NOTEBOOK
from f5lab.reporting.runner import write_json
from f5lab.reporting.sweepconfig import file_tag
from f5lab.reporting.sweepspec import SweepSpec

ARCH_ONLY = ("01_inspect", "02_compatibility", "03_memory")  # read shapes only: once per architecture
DONE = "done.json"


@dataclass
class Unit:
    """What one Dask task runs: notebooks in one folder with one set of parameters."""

    id: str
    dir: str
    notebooks: list[str]
    params: dict[str, Any]
    key: str  # sha256 of the inputs
    gpu: bool
    points: list[str]


def point_params(point: dict[str, Any], spec: SweepSpec, catalogue: str, reason: str | None = None) -> dict[str, Any]:
    """The notebook parameters of one point (each notebook takes the ones it declares); ``reason``:
    why the point runs under its config (the sweep's decision, ``f5lab.reporting.sweepconfig``)."""
    audio, text = point["ref"]
    return {"checkpoint": point["checkpoint"], "config": point["config"], "config_reason": reason, "configs": catalogue,
            "candidates": [point["config"]] if point["config"] else None, "ref_audio": audio, "ref_text": text,
            "gen_text": point["gen_text"], "nfe": point["nfe"], "dtype": point["dtype"], "dtypes": [point["dtype"]],
            "device": point["device"], "val_audio": [a for a, _ in spec.val_clips],
            "val_text": [t for _, t in spec.val_clips], "loss_samples": spec.loss_samples, "seed": spec.seed,
            "asr": spec.asr, "speaker": spec.speaker, "lang": spec.lang, "normalize": spec.normalize,
            "vocoder": spec.vocoder, "asr_model_dir": spec.asr_model_dir, "asr_language": spec.asr_language,
            "torch_build": None}  # 03_memory: judge the installed torch


class Hasher:
    """sha256 of files, cached by (path, size, mtime) in the sweep folder: a 1.3 GB file is read once."""

    def __init__(self, cache: Path) -> None:
        self.cache_path = cache
        try:
            self.cache: dict[str, str] = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.cache = {}

    def __call__(self, path: str | Path) -> str:
        from f5lab.model.inspection import file_sha256

        tag = "|".join(map(str, file_tag(path)))
        if tag not in self.cache:
            self.cache[tag] = file_sha256(path)
            write_json(self.cache_path, self.cache)
        return self.cache[tag]


def input_key(notebooks: list[str], params: dict[str, Any], folder: Path, sha: Hasher) -> str:
    """sha256 over the notebooks' sources, the parameters, and the bytes of every input file."""
    files = {"checkpoint": sha(params["checkpoint"]), "ref_audio": sha(params["ref_audio"]),
             "val_audio": [sha(a) for a in params["val_audio"]]}
    named = {k: v for k, v in params.items() if k not in files and k != "work_dir"}
    blob = {"notebooks": {n: sha(folder / f"{n}.ipynb") for n in notebooks}, "files": files, "params": named}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()


def arch_fingerprint(checkpoint: str) -> str:
    """Names, shapes and dtypes of the model tensors: equal for every checkpoint of one run."""
    from f5lab.files.checkpoint import open_checkpoint

    tensors = open_checkpoint(checkpoint).model_state().tensors
    blob = sorted((k, list(v.shape), v.dtype) for k, v in tensors.items())
    return hashlib.sha256(json.dumps(blob).encode()).hexdigest()


def catalogues_of(spec: SweepSpec) -> dict[Path, str]:
    """Each checkpoint's catalogue ("shipped", or "tiny" for shrunk test checkpoints)."""
    from f5lab.model.described import catalogue_word

    return {ck: catalogue_word(ck, spec.configs) for ck in spec.checkpoints}


def plan_units(points: list[dict[str, Any]], spec: SweepSpec, notebooks: list[str], sweep_dir: Path,
               folder: Path, sha: Hasher, reasons: dict[str, str] | None = None) -> list[Unit]:
    """Per-point units for notebooks whose inputs differ; one shared unit per architecture for the others.
    ``reasons``: point id -> why it runs under its config (``sweepconfig.apply``)."""
    catalogues = catalogues_of(spec)
    per_point = [n for n in notebooks if n not in ARCH_ONLY]
    units: list[Unit] = []
    shared: dict[tuple[str, str], Unit] = {}
    for point in points:
        params = point_params(point, spec, catalogues[Path(point["checkpoint"])], (reasons or {}).get(point["id"]))
        if per_point:
            units.append(Unit(id=point["id"], dir=str(sweep_dir / point["id"]), notebooks=per_point,
                              params={**params, "work_dir": str(sweep_dir / point["id"])},
                              key=input_key(per_point, params, folder, sha), gpu=point["device"] == "cuda",
                              points=[point["id"]]))
        for nb in (n for n in notebooks if n in ARCH_ONLY):
            group = (nb, arch_fingerprint(point["checkpoint"]) + json.dumps(
                _declared_subset(folder / f"{nb}.ipynb", params, drop=("checkpoint",)), sort_keys=True))
            if group in shared:
                shared[group].points.append(point["id"])
                continue
            uid = f"_shared/{nb}-{hashlib.sha256(group[1].encode()).hexdigest()[:8]}"
            shared[group] = Unit(id=uid, dir=str(sweep_dir / uid), notebooks=[nb],
                                 params={**params, "work_dir": str(sweep_dir / uid)},
                                 key=input_key([nb], params, folder, sha), gpu=point["device"] == "cuda",
                                 points=[point["id"]])
            units.append(shared[group])
    return units


def _declared_subset(notebook: Path, params: dict[str, Any], drop: Sequence[str] = ()) -> dict[str, Any]:
    """The parameters ``notebook`` declares (what can change its output), less ``drop``."""
    declared = _declared(str(notebook))
    return {k: v for k, v in params.items() if k in declared and k not in drop}


@functools.lru_cache(maxsize=32)
def _declared(notebook: str) -> frozenset[str]:
    import papermill as pm

    return frozenset(pm.inspect_notebook(notebook))


def is_done(unit: Unit) -> bool:
    """Done with the same inputs, and still whole: no incomplete marker, every file it recorded there."""
    marker = read_marker(Path(unit.dir))
    return bool(marker) and marker.get("key") == unit.key and marker.get("status") == "ok"


def read_marker(folder: Path) -> dict[str, Any]:
    from f5lab.reporting.comparison import read_done

    return read_done(folder)


# -- one unit, on a Dask worker ---------------------------------------------------------------------------
def run_unit(unit: dict[str, Any]) -> dict[str, Any]:
    """Run a unit's notebooks with papermill (each in a fresh kernel, cwd = the unit folder).

    Called in a Dask worker process. Starts from an empty folder (a half-finished earlier try
    leaves nothing behind), and ends by writing ``done.json`` atomically, ok or failed.
    """
    from f5lab.reporting.runner import ensure_kernel, execute, notebooks_dir

    from f5lab import outputs

    os.environ["TQDM_DISABLE"] = "1"
    os.environ["MPLBACKEND"] = "Agg"
    # a fresh folder at its final name, marked incomplete until done.json is in it (an earlier try's
    # folder, finished, failed or left by a killed worker, is replaced: the sweep's lock says it is ours)
    with outputs.folder(unit["dir"], replace=True, what="sweep point") as claim:
        folder = claim.path
        t0 = time.perf_counter()
        results, crash = [], None
        try:
            ensure_kernel()
            nb_dir = notebooks_dir()
            for name in unit["notebooks"]:
                results.append(execute(nb_dir / f"{name}.ipynb", folder, unit["params"], progress=False))
        except Exception:  # the unit failed outside a notebook (kernel would not start, disk full...)
            crash = traceback.format_exc()
        return write_marker(unit, results, crash, time.perf_counter() - t0)


def write_marker(unit: dict[str, Any], results: list[Any], crash: str | None, seconds: float) -> dict[str, Any]:
    """``done.json``: the inputs' key, the status, each notebook's error and traceback, the numbers."""
    from f5lab.reporting.reports import build_summary

    notebooks = [{"name": r.name, "status": r.status, "error": r.error,
                  "traceback": notebook_traceback(r.ipynb) if r.status != "ok" else None,
                  "html": r.html.name if r.html else None, "seconds": round(r.seconds, 3)} for r in results]
    ok = crash is None and len(results) == len(unit["notebooks"]) and all(r.status == "ok" for r in results)
    from f5lab import outputs

    folder = Path(unit["dir"])
    if not folder.is_dir():  # a worker that died before making it
        outputs.make_dirs(folder)
    marker = {"unit": unit["id"], "key": unit["key"], "status": "ok" if ok else "failed", "points": unit["points"],
              "notebooks": notebooks, "crash": crash, "summary": build_summary(results),
              "seconds": round(seconds, 3), "files": unit_files(folder)}
    write_json(folder / DONE, marker)
    return marker


def unit_files(folder: Path) -> dict[str, int]:
    """Every file a unit wrote (relative name -> bytes): what a resumed sweep checks is still there."""
    from f5lab.outputs import INCOMPLETE, LOCK_TAG, PARTIAL_TAG

    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.name.startswith((INCOMPLETE, LOCK_TAG, PARTIAL_TAG)) and p.name != DONE:
            out[str(p.relative_to(folder))] = p.stat().st_size
    return out


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def notebook_traceback(ipynb: Path) -> str | None:
    """The traceback of the first error in an executed notebook, without terminal colours."""
    try:
        import nbformat

        nb = nbformat.read(ipynb, as_version=4)
    except Exception:
        return None
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                return ANSI.sub("", "\n".join(out.get("traceback", [])))
    return None


# -- one unit, in this process: the comparison notebook's cheap default ----------------------------------------
def run_here(units: list[Unit]) -> int:
    """Each unit of the point notebook one after another in this process, through the notebook's
    one library call (``evaluate_into``): no kernel, no papermill, no Dask, the same folder,
    sidecar and ``done.json`` as ``run_unit`` leaves. What lets the stored ``05_sweep`` build its
    own small sweep in seconds under nbval; returns 0 (nothing interrupted it), as ``submit_all``."""
    from dataclasses import asdict

    from f5lab import outputs
    from f5lab.reporting.runner import NotebookResult

    for u in units:
        with outputs.folder(u.dir, replace=True, what="sweep point"):
            t0 = time.perf_counter()
            sidecar = Path(u.dir) / f"{POINT_NOTEBOOK}.json"
            evaluate_into(sidecar, u.params)
            result = NotebookResult(name=POINT_NOTEBOOK, status="ok", ipynb=Path(u.dir) / f"{POINT_NOTEBOOK}.ipynb",
                                    html=None, sidecar=sidecar, seconds=time.perf_counter() - t0)
            write_marker(asdict(u), [result], None, result.seconds)
    return 0


def evaluate_into(sidecar: Path, params: dict[str, Any]) -> None:
    """What the point notebook's cell does with its parameters: evaluate, record into the sidecar."""
    from f5lab.speech.evaluation import evaluate_point, record
    from f5lab.reporting.sidecar import Sidecar, catalogue_for

    side = Sidecar(sidecar, POINT_NOTEBOOK)
    ev = evaluate_point(params["checkpoint"], ref_audio=params["ref_audio"], ref_text=params["ref_text"],
                        gen_text=params["gen_text"], nfe=params["nfe"], dtype=params["dtype"], device=params["device"],
                        config=params["config"], catalogue=catalogue_for(params["configs"]),
                        val_clips=list(zip(params["val_audio"], params["val_text"])),
                        loss_samples=params["loss_samples"], seed=params["seed"], asr=params["asr"],
                        speaker=params["speaker"], work_dir=params["work_dir"], lang=params["lang"],
                        normalize=params["normalize"], vocoder=params["vocoder"],
                        asr_model_dir=params["asr_model_dir"], asr_language=params["asr_language"],
                        config_reason=params["config_reason"])
    record(side, ev)

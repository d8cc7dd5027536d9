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
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import json
import os
import re
import time
import traceback
from dataclasses import asdict, dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Callable, Sequence

from f5lab.errors import ConfigError, F5LabError
from f5lab.reporting.reports import write_json
from f5lab.reporting.sweepconfig import file_tag, training_order

from f5lab.reporting.comparison import POINT_NOTEBOOK, REFERENCE_DIR  # noqa: E402,F401  (beside the summary that reads them)
COMPARE_NOTEBOOK = "05_sweep"
ARCH_ONLY = ("01_inspect", "02_compatibility", "03_memory")  # read shapes only: once per architecture
DONE = "done.json"
CHECKPOINT_SUFFIXES = (".pt", ".safetensors", ".ckpt", ".pth")
AXES = ("config", "nfe", "dtype", "device", "ref", "gen_text")  # grid axes, in point-id order
SHARED = ("seed", "loss_samples", "asr", "speaker", "configs", "name", "lang", "normalize", "vocoder", "asr_model_dir",
          "asr_language", "bases")  # settings every point shares (not grid axes)
DEFAULTS = {"lang": "en", "normalize": True, "vocoder": None, "asr_model_dir": None, "asr_language": None}


class SweepError(F5LabError):
    """A sweep cannot start: no checkpoints, a bad sweep file, a bad setting."""


@dataclass
class SweepSpec:
    """What to sweep: checkpoints x grid, plus what every point shares."""

    checkpoints: list[Path]
    grid: dict[str, list[Any]]  # AXES -> values; "ref" values are (audio path, transcript)
    val_clips: list[tuple[str, str]] = field(default_factory=list)  # held-out (audio, transcript)
    seed: int = 0
    loss_samples: int = 4
    asr: str | None = None  # auto, pocketsphinx, faster-whisper (f5lab.speech.quality.choose_asr) or None
    speaker: str | None = "resemblyzer"
    configs: str = "auto"  # catalogue: auto, shipped or tiny
    name: str = "sweep"
    lang: str = "en"  # the texts' language: their normaliser and the WER's
    normalize: bool = True
    vocoder: str | None = None  # a local vocos / BigVGAN folder; None: Griffin-Lim
    asr_model_dir: str | None = None
    asr_language: str | None = None
    bases: list[str] | None = None  # lineage's base checkpoints for the config decision; None: the Hugging Face cache


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


# -- points ------------------------------------------------------------------------------------------------
def find_checkpoints(sources: Sequence[str | os.PathLike]) -> list[Path]:
    """Files, folders (every checkpoint inside, by training update) and globs, each once."""
    found: list[Path] = []
    for src in sources:
        path = Path(src).expanduser()
        if path.is_dir():
            hits = [p for p in path.iterdir() if p.suffix in CHECKPOINT_SUFFIXES and p.is_file()]
            if not hits:
                raise SweepError(f"{path}: no checkpoint files ({', '.join(CHECKPOINT_SUFFIXES)}) in this folder")
        elif path.is_file():
            hits = [path]
        else:
            hits = [Path(p) for p in glob.glob(str(path)) if Path(p).suffix in CHECKPOINT_SUFFIXES]
            if not hits:
                raise SweepError(f"{src}: no such checkpoint, folder or glob match")
        found += sorted(hits, key=training_order)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise SweepError("no checkpoints given: name files, a training run's folder or a glob")
    return unique


def make_spec(sources: Sequence[str | os.PathLike], *, ref_audio: str | None = None, ref_text: str | None = None,
              gen_text: Sequence[str] | str | None = None, config: Sequence[str | None] | str | None = None,
              nfe: Sequence[int] | int = (32,), dtype: Sequence[str] | str = ("fp32",),
              device: Sequence[str] | str = ("cpu",), val_audio: Sequence[str] = (), val_text: Sequence[str] = (),
              **shared: Any) -> SweepSpec:
    """A spec from command-line style options: every list is a grid axis."""
    if (ref_audio is None) != (ref_text is None):
        raise ConfigError("give --ref-audio and --ref-text together")
    if len(val_audio) != len(val_text):
        raise ConfigError("give one --val-text per --val-audio")
    if ref_audio is None:
        from f5lab.reporting.reports import DEMO_REF_TEXT, f5tts_example_audio

        ref_audio, ref_text = str(f5tts_example_audio()), DEMO_REF_TEXT
    from f5lab.speech.text import canonical, default_sentence

    shared["lang"] = canonical(shared.get("lang") or "en")
    grid = {"config": _listed(config), "nfe": [int(n) for n in _listed(nfe)], "dtype": _listed(dtype),
            "device": _listed(device), "ref": [(str(Path(ref_audio).resolve()), str(ref_text))],
            "gen_text": _listed(gen_text or default_sentence(shared["lang"]))}
    for key in ("vocoder", "asr_model_dir"):
        if shared.get(key):
            shared[key] = str(Path(shared[key]).resolve())
    if shared.get("bases"):
        from f5lab.reporting.reports import check_bases

        shared["bases"] = check_bases(list(shared["bases"]))  # each opened: a bad one is one line, now
    else:
        shared["bases"] = None
    checkpoints = find_checkpoints(sources)
    name = shared.pop("name", None) or _default_name(sources, checkpoints)
    spec = SweepSpec(checkpoints=checkpoints, grid=grid, name=name,
                     val_clips=[(str(Path(a).resolve()), t) for a, t in zip(val_audio, val_text)], **shared)
    check_spec(spec)
    return spec


def _listed(value: Any) -> list[Any]:
    if value is None:
        return [None]
    if isinstance(value, (list, tuple)):
        return list(value) or [None]
    return [value]


def _default_name(sources: Sequence[Any], checkpoints: list[Path]) -> str:
    first = Path(sources[0]) if sources else checkpoints[0]
    stem = first.name if first.is_dir() else checkpoints[0].parent.name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_.") or "sweep"


def check_spec(spec: SweepSpec) -> None:
    """Refuse impossible settings before anything starts, one line naming the option."""
    from f5lab.files.checkpoint import USER_DTYPES

    for n in spec.grid["nfe"]:
        if n < 1:
            raise ConfigError(f"--nfe must be at least 1 (got {n})")
    for d in spec.grid["dtype"]:
        if d not in USER_DTYPES:
            raise ConfigError(f"unknown --dtype {d!r}; use one of {', '.join(USER_DTYPES)}")
    for d in spec.grid["device"]:
        if d not in ("cpu", "cuda"):
            raise ConfigError(f"unknown --device {d!r}; use cpu or cuda")
    for audio, _ in spec.grid["ref"] + spec.val_clips:
        if not Path(audio).is_file():
            raise ConfigError(f"{audio}: no such audio file")
    if spec.configs not in ("auto", "shipped", "tiny"):
        raise ConfigError(f"unknown configs {spec.configs!r}; use auto, shipped or tiny")
    from f5lab.speech.quality import choose_asr

    choose_asr(spec.asr, spec.lang, spec.asr_model_dir, spec.asr_language)  # a bad model dir or package: now
    if spec.vocoder:
        from f5lab.speech.vocoders import check_vocoder

        check_vocoder(spec.vocoder)


def load_sweep_file(path: str | os.PathLike, **overrides: Any) -> SweepSpec:
    """A YAML sweep file: ``checkpoints`` (folder, glob or list) and any axis as a value or a list.

    Relative paths are taken from the file's folder. Keys: checkpoints, config, nfe, dtype,
    device, refs ([{audio, text}]) or ref_audio + ref_text, gen_text, val ([{audio, text}]),
    seed, loss_samples, asr, speaker, configs, name, bases (lineage's base checkpoints).
    """
    from f5lab.model.configs import load_yaml
    from f5lab.schemas import validate

    path = Path(path)
    data = load_yaml(path, "sweep")
    if not isinstance(data, dict) or "checkpoints" not in data:
        raise SweepError(f"{path}: a sweep file needs a 'checkpoints' key (folder, glob or list)")
    data = validate(sweep_file_schema(), data, path, error=SweepError, explain=_explain_sweep).model_dump(
        exclude_unset=True)
    base = path.parent

    def here(p: str) -> str:
        return str((base / p).resolve()) if not os.path.isabs(p) else p

    refs = data.get("refs") or ([{"audio": data["ref_audio"], "text": data.get("ref_text")}]
                                if data.get("ref_audio") else [])
    val = data.get("val") or []
    shared = {k: data[k] for k in SHARED if k in data}
    for key in ("vocoder", "asr_model_dir"):  # folders, relative to the sweep file
        if shared.get(key):
            shared[key] = here(str(shared[key]))
    if shared.get("bases"):
        shared["bases"] = [here(b) for b in shared["bases"]]
    spec = make_spec([here(c) for c in _listed(data["checkpoints"])],
                     ref_audio=here(refs[0]["audio"]) if refs else None, ref_text=refs[0]["text"] if refs else None,
                     gen_text=data.get("gen_text"), config=data.get("config"), nfe=data.get("nfe", 32),
                     dtype=data.get("dtype", "fp32"), device=data.get("device", "cpu"),
                     val_audio=[here(v["audio"]) for v in val], val_text=[v["text"] for v in val],
                     **{**shared, **{k: v for k, v in overrides.items() if v is not None}})
    if len(refs) > 1:
        spec.grid["ref"] = [(here(r["audio"]), str(r["text"])) for r in refs]
        check_spec(spec)
    return spec


SWEEP_KEYS = ("checkpoints", "config", "nfe", "dtype", "device", "refs", "ref_audio", "ref_text", "gen_text", "val",
              "seed", "loss_samples", "asr", "speaker", "configs", "name", "bases")


@functools.lru_cache(maxsize=1)
def sweep_file_schema() -> Any:
    """What each key of a sweep file holds (pydantic): an axis is a value or a non-empty list of them."""
    from typing import Annotated, Literal, Union

    from pydantic import BaseModel, ConfigDict, Field

    from f5lab.settings import MAX_SEED

    Text = Annotated[str, Field(min_length=1)]
    Nfe = Annotated[int, Field(ge=1, le=1000)]
    Dtype = Literal["fp32", "fp16", "bf16"]
    Device = Literal["cpu", "cuda"]

    def axis(kind: Any) -> Any:
        return Union[kind, Annotated[list[kind], Field(min_length=1)]]

    class Clip(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        audio: Text
        text: Text

    class SweepFile(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        checkpoints: axis(Text)
        config: axis(Union[Text, None]) | None = None
        nfe: axis(Nfe) = 32
        dtype: axis(Dtype) = "fp32"
        device: axis(Device) = "cpu"
        refs: Annotated[list[Clip], Field(min_length=1)] | None = None
        ref_audio: Text | None = None
        ref_text: Text | None = None
        gen_text: axis(Text) | None = None
        val: list[Clip] | None = None
        seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
        loss_samples: Annotated[int, Field(ge=1, le=10_000)] = 4
        asr: Literal["pocketsphinx", "none"] | None | Literal[False] = None
        speaker: Literal["resemblyzer"] | None = None
        configs: Literal["auto", "shipped", "tiny"] = "auto"
        name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[\w.-]+$")] | None = None
        bases: Annotated[list[Text], Field(min_length=1)] | None = None

    return SweepFile


def _explain_sweep(err: dict[str, Any], key: str) -> str | None:
    from f5lab.schemas import describe

    if err["type"] == "extra_forbidden":
        return f"unknown key(s) {key}; known: {', '.join(SWEEP_KEYS)}"
    return describe(err, key)


def make_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every checkpoint x grid combination, each with a stable, readable id, unique for every name
    (non-ASCII names kept as they are; ids that would collide or pass MAX_ID_BYTES get a hash)."""
    names = _checkpoint_labels(spec.checkpoints)
    varying = [a for a in AXES if len(spec.grid[a]) > 1]
    points = []
    for ck in spec.checkpoints:
        for combo in product(*(spec.grid[a] for a in AXES)):
            settings = dict(zip(AXES, combo))
            parts = [names[ck]] + [_label(a, settings[a], spec.grid[a]) for a in varying]
            points.append({"id": "__".join(parts), "checkpoint": str(ck), **settings})
    return _unique_ids(points)


MAX_ID_BYTES = 120  # a point id is a folder name: well under the 255-byte limit, with room for partials


def _unique_ids(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ids that collide (or are too long for a folder name) get the hash of their point appended."""
    seen: dict[str, int] = {}
    for p in points:
        seen[p["id"]] = seen.get(p["id"], 0) + 1
    for p in points:
        pid = p["id"]
        if seen[pid] > 1 or len(pid.encode("utf-8")) > MAX_ID_BYTES or pid.startswith("."):
            digest = hashlib.sha256(json.dumps({k: v for k, v in p.items() if k != "id"}, sort_keys=True,
                                               default=str).encode()).hexdigest()[:8]
            head = pid.encode("utf-8")[:MAX_ID_BYTES - 10].decode("utf-8", "ignore").lstrip(".")
            p["id"] = f"{head}-{digest}"
    return points


def _checkpoint_labels(paths: list[Path]) -> dict[Path, str]:
    """File stems, with the parent folder added where two stems collide."""
    stems = [p.stem for p in paths]
    return {p: _safe(p.stem if stems.count(p.stem) == 1 else f"{p.parent.name}_{p.stem}") for p in paths}


def _label(axis: str, value: Any, values: list[Any]) -> str:
    if axis == "nfe":
        return f"nfe{value}"
    if axis in ("ref", "gen_text"):
        return f"{axis}{values.index(value) + 1}"
    return _safe(str(value))


def _safe(text: str) -> str:
    """A folder-name fragment: letters and digits of any script kept, anything else one '_'."""
    return re.sub(r"[^\w.-]+", "_", text).strip("_.") or "x"


def sweep_id_for(spec: SweepSpec, points: list[dict[str, Any]]) -> str:
    """``<name>-<hash>``: the same sweep gets the same folder, so re-running it resumes."""
    blob = json.dumps({"points": points, "val": spec.val_clips, "seed": spec.seed, "loss": spec.loss_samples,
                       "asr": spec.asr, "speaker": spec.speaker, "configs": spec.configs,
                       **{k: getattr(spec, k) for k, v in DEFAULTS.items() if getattr(spec, k) != v}}, sort_keys=True)
    return f"{spec.name}-{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


# -- units: what runs where, and the sha256 of its inputs ----------------------------------------------------
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
    from f5lab.reporting.reports import ensure_kernel, execute, notebooks_dir

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


# -- the sweep ----------------------------------------------------------------------------------------------
def connect(workers: int, scheduler: str | None, gpu: bool) -> tuple[Any, Any]:
    """A Dask client: to ``scheduler`` if given, else to a new LocalCluster of ``workers`` processes."""
    import logging

    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"--scheduler {scheduler}: cannot connect ({str(exc).splitlines()[0]})") from None
        check_workers(client, scheduler, gpu)
        return client, None
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1 (got {workers})")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, resources={"GPU": 1} if gpu else None,
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def check_workers(client: Any, scheduler: str, gpu: bool, wait_s: float = 30.0) -> None:
    """Fail in one line, not hang, when the cluster has no worker (or none offering a GPU)."""
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except TimeoutError:
        raise SweepError(f"--scheduler {scheduler}: no worker joined within {wait_s:.0f} s") from None
    if gpu and not any(w.get("resources", {}).get("GPU") for w in client.scheduler_info()["workers"].values()):
        raise SweepError(f"--scheduler {scheduler}: GPU points need workers started with --resources GPU=1")


def run_sweep(spec: SweepSpec, *, out: str | os.PathLike = "reports", sweep_id: str | None = None,
              workers: int = 2, scheduler: str | None = None, notebooks: Sequence[str] | None = None,
              compare: bool = True, progress: bool = True,
              echo: Callable[[str], None] | None = None) -> SweepResult:
    """Run every point not already done with the same inputs; summarise, compare, write the index.

    ``notebooks``: what each point runs (default: the point notebook only; add ``01_inspect``
    or ``03_memory`` and they run once per architecture). ``compare``: also execute the
    comparison notebook ``05_sweep`` on the finished sweep folder.
    """
    from f5lab.reporting.comparison import build_sweep_summary
    from f5lab.reporting.reports import notebooks_dir
    from f5lab.reporting.sweeppage import write_sweep_index

    echo = echo or (lambda _msg: None)
    folder = notebooks_dir()
    names = list(notebooks or [POINT_NOTEBOOK])
    for n in names:
        if n == COMPARE_NOTEBOOK or not (folder / f"{n}.ipynb").exists():
            raise ConfigError(f"--notebook {n}: no such point notebook in {folder}")
    if scheduler is None and workers < 1:
        raise ConfigError(f"--workers must be at least 1 (got {workers})")
    points = make_points(spec)
    sweep_dir = Path(out).resolve() / (sweep_id or sweep_id_for(spec, points))
    decided, reasons = decide_configs(spec, points, sweep_dir, echo)  # before any point runs; refused: nothing written
    from f5lab import outputs

    with outputs.exclusive(sweep_dir, what="sweep"):  # the same sweep started twice: the second is refused
        with _new_folder(sweep_dir):  # bad input leaves no empty sweep folder behind
            units = plan_units(points, spec, names, sweep_dir, folder, Hasher(sweep_dir / "hashes.json"), reasons)
            write_json(sweep_dir / "sweep.json", {"spec": _spec_dict(spec), "points": points, "notebooks": names,
                                                  "config_decision": decided, "units": [asdict(u) for u in units]})
        todo = [u for u in units if not is_done(u)]
        skipped = [u.id for u in units if u not in todo]
        echo(f"sweep {sweep_dir.name}: {len(points)} point(s), {len(units)} unit(s); "
             f"{len(skipped)} already done, {len(todo)} to run")
        interrupted = submit_all(todo, workers, scheduler, progress) if todo else 0
        write_reference_media(sweep_dir, spec)
        summary = build_sweep_summary(sweep_dir)
        write_json(sweep_dir / "summary.json", summary)
        if compare and not interrupted:
            run_compare_notebook(sweep_dir, folder)
        write_sweep_index(sweep_dir, summary)
    return SweepResult(sweep_dir=sweep_dir, summary=summary, ran=[u.id for u in todo], skipped=skipped,
                       interrupted=interrupted)


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


@contextlib.contextmanager
def _new_folder(sweep_dir: Path) -> Any:
    """A sweep folder made by this run is claimed (marked incomplete) until its plan is written, so a
    refusal or a signal before then removes it; a resumed sweep's folder is never touched."""
    from f5lab import outputs

    if sweep_dir.is_dir():
        yield
        return
    with outputs.folder(sweep_dir, what="sweep"):
        yield


def submit_all(units: list[Unit], workers: int, scheduler: str | None, progress: bool) -> int:
    """Submit every unit to Dask, follow them with a progress bar. Returns 0, or the number of the
    signal (SIGINT, SIGTERM, SIGHUP) that interrupted it: what runs is cancelled, the folders of the
    cancelled units are removed, what finished is kept."""
    from dask.distributed import as_completed
    from tqdm import tqdm

    from f5lab.outputs import Interrupted

    client, cluster = connect(workers, scheduler, any(u.gpu for u in units))
    futures: dict[Any, Unit] = {}
    stopped = 0
    try:
        for u in units:
            fut = client.submit(run_unit, asdict(u), key=f"f5lab-sweep-{u.key[:16]}-{_safe(u.id)}", pure=False,
                                resources={"GPU": 1} if u.gpu else None)
            futures[fut] = u
        bar = tqdm(total=len(units), desc="sweep", unit="point", disable=not progress)
        for fut in as_completed(list(futures)):
            if fut.status == "error":  # the worker itself died: record it like a failed notebook
                u = futures[fut]
                write_marker(asdict(u), [], f"{type(fut.exception()).__name__}: {fut.exception()}", 0.0)
            bar.update(1)
        bar.close()
    except KeyboardInterrupt:
        stopped = 2
    except Interrupted as exc:
        stopped = exc.signum
    finally:
        if stopped:
            for fut in futures:
                fut.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
    if stopped:
        _remove_unfinished(units)
    return stopped


def _remove_unfinished(units: list[Unit]) -> None:
    """The folders of units whose worker was stopped mid-way (still marked incomplete)."""
    from f5lab import outputs

    for u in units:
        if outputs.folder_state(Path(u.dir)).startswith(("stale", "busy")):
            outputs.remove_tree(u.dir)


def run_compare_notebook(sweep_dir: Path, folder: Path) -> Any:
    """Execute ``05_sweep`` on the finished sweep folder (its table, plots and best points)."""
    from f5lab.reporting.reports import ensure_kernel, execute

    ensure_kernel()
    return execute(folder / f"{COMPARE_NOTEBOOK}.ipynb", sweep_dir, {"sweep_dir": str(sweep_dir)}, progress=False)


def _spec_dict(spec: SweepSpec) -> dict[str, Any]:
    d = asdict(spec)
    d["checkpoints"] = [str(p) for p in spec.checkpoints]
    return d


# -- in this process: the comparison notebook's cheap default ------------------------------------------------
def run_inline(spec: SweepSpec, out: str | os.PathLike, sweep_id: str | None = None) -> SweepResult:
    """Every point one after another in this process, through the point notebook's one call.

    No papermill and no Dask: it exists so that the stored ``05_sweep`` notebook can build its
    own small sweep in seconds under nbval. Real sweeps use ``run_sweep``.
    """
    from f5lab.reporting.comparison import build_sweep_summary
    from f5lab.reporting.reports import NotebookResult, notebooks_dir

    from f5lab import outputs

    folder = notebooks_dir()
    points = make_points(spec)
    sweep_dir = Path(out).resolve() / (sweep_id or sweep_id_for(spec, points))
    decided, reasons = decide_configs(spec, points, sweep_dir)
    outputs.make_dirs(sweep_dir)
    units = plan_units(points, spec, [POINT_NOTEBOOK], sweep_dir, folder, Hasher(sweep_dir / "hashes.json"), reasons)
    write_json(sweep_dir / "sweep.json", {"spec": _spec_dict(spec), "points": points, "notebooks": [POINT_NOTEBOOK],
                                          "config_decision": decided, "units": [asdict(u) for u in units]})
    for u in units:
        with outputs.folder(u.dir, replace=True, what="sweep point"):
            t0 = time.perf_counter()
            sidecar = Path(u.dir) / f"{POINT_NOTEBOOK}.json"
            evaluate_into(sidecar, u.params)
            result = NotebookResult(name=POINT_NOTEBOOK, status="ok", ipynb=Path(u.dir) / f"{POINT_NOTEBOOK}.ipynb",
                                    html=None, sidecar=sidecar, seconds=time.perf_counter() - t0)
            write_marker(asdict(u), [result], None, result.seconds)
    write_reference_media(sweep_dir, spec)
    summary = build_sweep_summary(sweep_dir)
    write_json(sweep_dir / "summary.json", summary)
    return SweepResult(sweep_dir=sweep_dir, summary=summary, ran=[u.id for u in units], skipped=[])


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


def tiny_sweep(out: str | os.PathLike, nfe: Sequence[int] = (2, 4), dtype: Sequence[str] = ("fp32", "bf16")) -> Path:
    """A tiny trained run (``f5lab.testing.training_fixture``) swept in-process: checkpoints x NFE x dtype,
    no config named: the probe on the last checkpoint decides it for every point (its shapes fit
    F5TTS_Base and F5TTS_v1_Base; it trained under the latter)."""
    from f5lab.testing.training_fixture import build_training_run

    run = build_training_run(Path(out) / "run")
    spec = make_spec([run.folder], nfe=list(nfe), dtype=list(dtype), configs="tiny",
                     val_audio=[str(run.held_out)], val_text=[run.held_out_text], name="tiny_run",
                     gen_text="Hello there.")
    return run_inline(spec, Path(out) / "sweeps").sweep_dir


def spec_from_options(sources: Sequence[str], **options: Any) -> SweepSpec:
    """The CLI's sources and options as a spec: one ``.yaml``/``.yml`` source is a sweep file
    (options given on the command line override its shared settings), anything else checkpoints.
    ``asr``: "none" turns the WER off; not given: the sweep file's ``asr`` (none if absent), else "auto"
    (pocketsphinx for English; for other languages no WER, and the sweep says so)."""
    if options.get("asr") == "none":
        options["asr"] = False  # asked off: overrides a sweep file, becomes None below
    if len(sources) == 1 and Path(sources[0]).suffix in (".yaml", ".yml"):
        if not Path(sources[0]).is_file():
            raise SweepError(f"{sources[0]}: no such sweep file")
        shared = SHARED
        axes_given = [k for k, v in options.items() if k not in shared and v not in (None, ())]
        if axes_given:
            raise ConfigError(f"--{axes_given[0].replace('_', '-')}: with a sweep file, give the points' settings "
                              f"in the file ({sources[0]})")
        spec = load_sweep_file(sources[0], **{k: options.get(k) for k in shared})
    else:
        spec = make_spec(sources, **{"asr": "auto",
                                     **{k: v for k, v in options.items() if v is not None and v != ()}})
    spec.asr = spec.asr or None
    return spec

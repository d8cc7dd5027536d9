"""What a sweep runs: the spec (checkpoints x a grid of settings, plus what every point shares),
the YAML sweep file and its schema, and the points with their stable, readable ids.

Kept apart from running them (``f5lab.reporting.sweep``): a spec is checked, in one line naming
the option, before any folder is made or any worker started. The sweep file's numeric bounds are
``f5lab.settings.RANGES``, the same the command's options and the library's checks use.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Sequence

from f5lab.errors import ConfigError, F5LabError
from f5lab.facts import DEFAULT_NFE
from f5lab.reporting.sweepconfig import PRETRAINED_PREFIX, training_order

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

# -- points ------------------------------------------------------------------------------------------------
def is_pretrained_copy(path: str | os.PathLike) -> bool:
    """f5-tts's ``pretrained_*`` copy of the base in a fine-tune's run folder (``finetune_cli``): the run's
    starting point, a reference, not a step of the run (its recorded update is the base's)."""
    return Path(path).name.startswith(PRETRAINED_PREFIX)


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
              nfe: Sequence[int] | int = (DEFAULT_NFE,), dtype: Sequence[str] | str = ("fp32",),
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
    from f5lab.files.dtypes import USER_DTYPES

    from f5lab.settings import check

    for n in spec.grid["nfe"]:
        check("nfe", n)
    check("seed", spec.seed)
    check("samples", spec.loss_samples, "--loss-samples")
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
    from f5lab.speech.synth import check_speakable

    check_speakable([t for t in spec.grid["gen_text"] if t], spec.lang, spec.normalize)  # all silence: not a point
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

    Text = Annotated[str, Field(min_length=1)]
    Nfe = bounded("nfe")
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
        nfe: axis(Nfe) = DEFAULT_NFE
        dtype: axis(Dtype) = "fp32"
        device: axis(Device) = "cpu"
        refs: Annotated[list[Clip], Field(min_length=1)] | None = None
        ref_audio: Text | None = None
        ref_text: Text | None = None
        gen_text: axis(Text) | None = None
        val: list[Clip] | None = None
        seed: bounded("seed") = 0
        loss_samples: bounded("samples") = 4
        asr: Literal["pocketsphinx", "none"] | None | Literal[False] = None
        speaker: Literal["resemblyzer"] | None = None
        configs: Literal["auto", "shipped", "tiny"] = "auto"
        name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[\w.-]+$")] | None = None
        bases: Annotated[list[Text], Field(min_length=1)] | None = None

    return SweepFile


def bounded(name: str) -> Any:
    """The pydantic type of a numeric setting, bounded by ``f5lab.settings.RANGES[name]``: the sweep
    file refuses what the command line and the library refuse, from one declaration."""
    from typing import Annotated

    from pydantic import Field

    from f5lab.settings import RANGES

    r = RANGES[name]
    low = {"gt" if r.low_open else "ge": r.low} if r.low is not None else {}
    high = {"le": r.high} if r.high is not None else {}
    return Annotated[int if r.integer else float, Field(**low, **high)]


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
    return {p: safe_fragment(p.stem if stems.count(p.stem) == 1 else f"{p.parent.name}_{p.stem}") for p in paths}


def _label(axis: str, value: Any, values: list[Any]) -> str:
    if axis == "nfe":
        return f"nfe{value}"
    if axis in ("ref", "gen_text"):
        return f"{axis}{values.index(value) + 1}"
    return safe_fragment(str(value))


def safe_fragment(text: str) -> str:
    """A folder-name fragment: letters and digits of any script kept, anything else one '_'."""
    return re.sub(r"[^\w.-]+", "_", text).strip("_.") or "x"


def sweep_id_for(spec: SweepSpec, points: list[dict[str, Any]]) -> str:
    """``<name>-<hash>``: the same sweep gets the same folder, so re-running it resumes."""
    blob = json.dumps({"points": points, "val": spec.val_clips, "seed": spec.seed, "loss": spec.loss_samples,
                       "asr": spec.asr, "speaker": spec.speaker, "configs": spec.configs,
                       **{k: getattr(spec, k) for k, v in DEFAULTS.items() if getattr(spec, k) != v}}, sort_keys=True)
    return f"{spec.name}-{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


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

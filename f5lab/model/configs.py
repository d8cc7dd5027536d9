"""Configs: what an f5-tts config builds, where it came from, and the one resolver.

A config reaches f5lab as a name (a YAML shipped in the installed ``f5_tts/configs/``), as
the path of a YAML in f5-tts's own format (a copy of ``configs/*.yaml``, or a hydra run's
saved ``.hydra/config.yaml`` with its ``${...}`` interpolations), or recorded in a file's
metadata by ``f5lab remap``. ``resolve_config`` turns any of these into a ``ConfigEntry``;
every other module receives the entry and never looks a name up itself.

A config from a file is named by its path as given, so every config name f5lab prints can
be passed back to ``--config``. Its ``model.tokenizer_path`` becomes the default vocab.
Bad files get one line naming the file and the key, never a traceback.

Bottom of the import graph: imports only ``f5lab.errors`` (f5-tts is located, not imported).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from f5lab import facts
from f5lab.errors import ConfigError
from f5lab.files.vocab import DEFAULT_VOCAB_LINES, f5_tts_root  # noqa: F401  (re-exported)

BACKBONES = ("DiT", "UNetT", "MMDiT")
MEL_TYPES = ("vocos", "bigvgan")

# model.arch keys each backbone's constructor takes (f5-tts 1.1.22), with their types;
# mel_dim and text_num_embeds are passed by the loader itself and may not appear
_INT, _NUM, _BOOL = "an integer", "a number", "true or false"
_COMMON = {"dim": _INT, "depth": _INT, "heads": _INT, "dim_head": _INT, "dropout": _NUM, "ff_mult": _NUM,
           "text_mask_padding": _BOOL, "qk_norm": ("rms_norm", None), "attn_backend": ("torch", "flash_attn"),
           "attn_mask_enabled": _BOOL}
ARCH_KEYS: dict[str, dict[str, Any]] = {
    "DiT": {**_COMMON, "text_dim": (_INT, None), "text_embedding_average_upsampling": _BOOL, "conv_layers": _INT,
            "pe_attn_head": (_INT, None), "long_skip_connection": _BOOL, "checkpoint_activations": _BOOL},
    "UNetT": {**_COMMON, "text_dim": (_INT, None), "conv_layers": _INT, "pe_attn_head": (_INT, None),
              "skip_connect_type": ("add", "concat", "none")},
    "MMDiT": {**_COMMON, "checkpoint_activations": _BOOL},
}
# f5-tts defaults these silently (depth 8, heads 8, ff_mult 4): a config that omits one builds
# a model nobody meant, so f5lab requires them
REQUIRED_ARCH = ("dim", "depth", "heads", "ff_mult")
MEL_KEYS = {"target_sample_rate": _INT, "n_mel_channels": _INT, "hop_length": _INT, "win_length": _INT,
            "n_fft": _INT, "mel_spec_type": MEL_TYPES}
META_NAME = "f5lab_config"  # remap records the config's name ...
META_ENTRY = "f5lab_config_entry"  # ... and the whole entry, so the file loads without the YAML


@dataclass(frozen=True)
class ConfigEntry:
    """One f5-tts config: what it builds, and where it came from.

    ``source``: "shipped" (f5_tts/configs), "tiny" (a shipped config shrunk for tests),
    "file" (a user's YAML; ``name`` is its path), "recorded" (from a remapped file's
    metadata), or "custom" (built in code).
    """

    name: str
    backbone: str
    arch: dict[str, Any]
    mel_spec: dict[str, Any] = field(default_factory=dict)
    vocab_rows: int = DEFAULT_VOCAB_LINES + 1
    source: str = "shipped"
    path: str | None = None  # the YAML it was read from
    model_name: str | None = None  # the YAML's model.name
    tokenizer: str | None = None
    tokenizer_path: str | None = None  # the YAML's vocab.txt (absolute): the default vocab
    written: bool = False  # a YAML f5lab wrote from a checkpoint's shapes (inspect --write-config, report)

    @property
    def shipped(self) -> bool:
        """A config f5-tts's API knows by name: ``F5TTS(model=name)`` builds exactly this."""
        return self.source == "shipped"

    def expected(self) -> dict[str, Any]:
        """The value of each architecture fact (f5lab.model.arch.FACTS) this config builds."""
        a = self.arch
        mel = int(self.mel_spec.get("n_mel_channels", facts.N_MELS))
        ff = a.get("ff_mult", 4)
        return {
            "backbone": self.backbone, "mel_dim": mel, "dim": a["dim"], "depth": a["depth"],
            "ff_mult": int(ff) if float(ff).is_integer() else ff,
            "text_dim": a["dim"] if self.backbone == "MMDiT" else (a.get("text_dim") or mel),
            "conv_layers": 0 if self.backbone == "MMDiT" else a.get("conv_layers", 0),
            "qk_norm": a.get("qk_norm"), "long_skip": bool(a.get("long_skip_connection", False)),
            "heads": a.get("heads", 8), "dim_head": a.get("dim_head", 64),
        }

    @property
    def mel_spec_type(self) -> str:
        return str(self.mel_spec.get("mel_spec_type", "vocos"))

    def describe(self) -> str:
        """Which config and from where, for every report."""
        if self.source == "shipped":
            return f"{self.name} (shipped with f5-tts, {self.path or 'f5_tts/configs'})"
        if self.source == "tiny":
            return f"{self.name} shrunk to test size (f5lab's tiny catalogue, not an f5-tts file)"
        if self.source == "file":
            whose = "written by f5lab from the checkpoint's shapes" if self.written else "your YAML"
            return f"{self.name} ({whose}" + (f", model.name {self.model_name}" if self.model_name else "") + ")"
        if self.source == "recorded":
            return f"{self.name} (recorded in the checkpoint's metadata by f5lab remap)"
        return f"{self.name} ({self.source})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- f5-tts's own configs --------------------------------------------------------------------------
@lru_cache(maxsize=1)
def shipped_configs() -> dict[str, ConfigEntry]:
    """Every ``f5_tts/configs/*.yaml``, by model name (plain YAML: their model blocks hold no interpolation)."""
    import yaml

    out: dict[str, ConfigEntry] = {}
    for path in sorted((f5_tts_root() / "configs").glob("*.yaml")):
        model = (yaml.safe_load(path.read_text()) or {}).get("model", {})
        if model.get("backbone") in BACKBONES and "arch" in model:
            out[path.stem] = ConfigEntry(name=path.stem, backbone=model["backbone"], arch=dict(model["arch"]),
                                         mel_spec=dict(model.get("mel_spec", {})), path=str(path),
                                         model_name=model.get("name"), tokenizer=model.get("tokenizer"))
    return out


# the shipped configs shrunk for tests and tiny demo checkpoints: recognised like real ones
TINY_DIM_DIVISOR = 16  # 1024 -> 64, 768 -> 48, text_dim 512 -> 32


def tiny_entry(entry: ConfigEntry) -> ConfigEntry:
    """A shipped config shrunk 16x in width, depth 2 (DiT) or 4 (UNetT); all else kept."""
    arch = dict(entry.arch)
    arch["dim"] = entry.arch["dim"] // TINY_DIM_DIVISOR
    arch["depth"] = 4 if entry.backbone == "UNetT" else 2
    arch["heads"] = max(1, entry.arch.get("heads", 8) // 4)
    arch["dim_head"] = arch["dim"] // arch["heads"]
    if arch.get("text_dim"):
        arch["text_dim"] = entry.arch["text_dim"] // TINY_DIM_DIVISOR
    return replace(entry, arch=arch, source="tiny")


def tiny_catalogue() -> dict[str, ConfigEntry]:
    """Every shipped config at tiny scale, under its own name: tests rank against this."""
    return {name: tiny_entry(e) for name, e in shipped_configs().items()}


def catalogue_name(catalogue: Mapping[str, ConfigEntry] | None) -> str | None:
    """The ``--configs`` value a printed command needs to see the same configs: "tiny" for f5lab's
    tiny test catalogue, None for the shipped one (f5lab.commandlines spells the option)."""
    return "tiny" if catalogue and any(e.source == "tiny" for e in catalogue.values()) else None


# -- the resolver ----------------------------------------------------------------------------------
def resolve_config(config: str | os.PathLike | ConfigEntry, catalogue: Mapping[str, ConfigEntry] | None = None,
                   metadata: Mapping[str, str] | None = None) -> ConfigEntry:
    """The one place a config reference becomes a ConfigEntry.

    In order: an entry passes through; a name in ``catalogue`` (default: the shipped configs);
    the config recorded in ``metadata`` (a remapped file's) under that name; a path to a YAML.
    """
    if isinstance(config, ConfigEntry):
        return config
    catalogue = shipped_configs() if catalogue is None else catalogue
    ref = os.fspath(config)
    if ref in catalogue:
        return catalogue[ref]
    recorded = entry_from_metadata(metadata)
    if recorded is not None and recorded.name == ref:
        return recorded
    if looks_like_path(ref):
        return load_config_file(ref)
    raise ConfigError(f"unknown config {ref!r}; known: {', '.join(catalogue)}; or give the path of a YAML "
                      "in f5-tts's config format (see docs/configs.md)")


def looks_like_path(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml")) or os.sep in ref or "/" in ref or Path(ref).is_file()


def with_config(catalogue: Mapping[str, ConfigEntry] | None, entry: ConfigEntry | None) -> dict[str, ConfigEntry]:
    """``catalogue`` (default: shipped) plus ``entry``: a user's config ranked beside the others."""
    out = dict(shipped_configs() if catalogue is None else catalogue)
    if entry is not None:
        out[entry.name] = entry
    return out


# -- a user's YAML -----------------------------------------------------------------------------------
def load_config_file(path: str | os.PathLike) -> ConfigEntry:
    """Read and check a YAML in f5-tts's config format against ``ConfigModel``; one-line ConfigError
    naming the file and the key."""
    from f5lab.schemas import validate

    name = os.fspath(path)
    p = Path(name)
    if not p.is_file():
        raise ConfigError(f"{name}: config file not found" + ("" if p.suffix in (".yaml", ".yml") else
                                                             " (and not a known config name)"))
    model = _model_section(p)
    if not isinstance(model, dict):
        raise ConfigError(f"{name}: no 'model' mapping (f5-tts's configs hold model.backbone and model.arch)")
    if "backbone" not in model:
        raise ConfigError(f"{name}: model.backbone missing ({', '.join(BACKBONES)})")
    arch = model.get("arch")
    for key in ("mel_dim", "text_num_embeds"):
        if isinstance(arch, dict) and key in arch:
            raise ConfigError(f"{name}: model.arch.{key} must not be set: f5-tts's loader passes it itself "
                              "(from mel_spec and the vocab file)")
    schemas = _schemas()
    checked = validate(schemas["Model"], model, name, prefix="model", explain=_explain(None))
    validate(schemas[checked.backbone], arch, name, prefix="model.arch", explain=_explain(checked.backbone))
    return ConfigEntry(name=name, backbone=checked.backbone, arch=dict(arch), mel_spec=dict(model.get("mel_spec") or {}),
                       source="file", path=str(p.resolve()), model_name=checked.name, tokenizer=checked.tokenizer,
                       tokenizer_path=_tokenizer_path(name, p, model), written=_written_by_f5lab(p))


def _written_by_f5lab(p: Path) -> bool:
    with open(p, encoding="utf-8", errors="replace") as fh:
        return fh.read(len(WRITTEN_MARK)) == WRITTEN_MARK


def _explain(backbone: str | None) -> Any:
    """The config schema's own sentences: what f5-tts would do with a missing or unknown key."""
    from f5lab.schemas import describe

    def explain(err: dict[str, Any], key: str) -> str:
        loc = [str(x) for x in err["loc"]]
        if backbone and err["type"] == "missing" and len(loc) == 1:
            return (f"{key} missing (a {backbone} config needs {', '.join(REQUIRED_ARCH)}; f5-tts would silently "
                    "use its default)")
        if backbone and err["type"] == "extra_forbidden":
            return f"{key} is not an argument of f5-tts's {backbone} (known: {', '.join(ARCH_KEYS[backbone])})"
        if err["type"] == "extra_forbidden" and loc[:1] == ["mel_spec"]:
            return f"{key} is not a setting of f5-tts's MelSpec (known: {', '.join(MEL_KEYS)})"
        if err["type"] == "model_type" and loc[:1] == ["mel_spec"]:
            return f"{key} is not a mapping"
        if err["type"] in ("greater_than", "greater_than_equal") and isinstance(err.get("input"), (int, float)):
            return f"{key} is {err['input']!r}; expected a positive {'integer' if isinstance(err['input'], int) else 'number'}"
        return describe(err, key)

    return explain


# -- the schema of a config's model block (f5-tts 1.1.22's constructors) ---------------------------------
def _schemas() -> dict[str, Any]:
    """Pydantic models, built on first use (pydantic's import is not paid by commands that read no YAML)."""
    from typing import Annotated, Literal, Union

    from pydantic import BaseModel, ConfigDict, Field

    Pos = Annotated[int, Field(gt=0)]
    PosNum = Annotated[Union[int, float], Field(gt=0)]

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)

    class Common(Strict):
        dim: Pos
        depth: Pos
        heads: Pos
        ff_mult: PosNum
        dim_head: Pos = 64
        dropout: Annotated[Union[int, float], Field(ge=0, le=1)] = 0.1
        text_mask_padding: bool = True
        qk_norm: Literal["rms_norm"] | None = None
        attn_backend: Literal["torch", "flash_attn"] = "torch"
        attn_mask_enabled: bool = False

    class DiT(Common):
        text_dim: Pos | None = None
        text_embedding_average_upsampling: bool = False
        conv_layers: Annotated[int, Field(ge=0)] = 0
        pe_attn_head: Pos | None = None
        long_skip_connection: bool = False
        checkpoint_activations: bool = False

    class UNetT(Common):
        text_dim: Pos | None = None
        conv_layers: Annotated[int, Field(ge=0)] = 0
        pe_attn_head: Pos | None = None
        skip_connect_type: Literal["add", "concat", "none"] = "concat"

    class MMDiT(Common):
        checkpoint_activations: bool = False

    class MelSpec(Strict):
        target_sample_rate: Pos = facts.SAMPLE_RATE
        n_mel_channels: Pos = facts.N_MELS
        hop_length: Pos = facts.HOP_LENGTH
        win_length: Pos = facts.WIN_LENGTH
        n_fft: Pos = facts.N_FFT
        mel_spec_type: Literal["vocos", "bigvgan"] = "vocos"

    class Model(BaseModel):
        model_config = ConfigDict(extra="allow", strict=True)  # hydra run configs add keys of their own
        name: str | None = None
        tokenizer: str | None = None
        tokenizer_path: str | None = None
        backbone: Literal["DiT", "UNetT", "MMDiT"]
        arch: dict[str, Any]
        mel_spec: MelSpec | None = None

    return {"DiT": DiT, "UNetT": UNetT, "MMDiT": MMDiT, "MelSpec": MelSpec, "Model": Model}


def _model_section(p: Path) -> Any:
    """The ``model`` block with every ``${...}`` resolved (omegaconf, as hydra resolves it)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from f5lab.files.trusted import refuse_class_paths, refuse_resolvers

    raw = load_yaml(p)
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: the YAML is {type(raw).__name__ if raw is not None else 'empty'}, not a mapping "
                          "with a 'model' key")
    refuse_class_paths(raw, p)  # f5lab builds nothing a YAML names: no class path anywhere
    refuse_resolvers(raw, p)
    if "model" not in raw:
        return None
    if not OmegaConf.has_resolver("now"):  # hydra's; its configs use it outside model
        OmegaConf.register_new_resolver("now", _now)
    try:
        cfg = OmegaConf.create(raw)
        return OmegaConf.to_container(cfg.model, resolve=True) if isinstance(raw["model"], dict) else raw["model"]
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "model"
        msg = str(exc).splitlines()[0]
        raise ConfigError(f"{p}: cannot resolve {key}: {msg}") from None


def _now(pattern: str = "%Y-%m-%d") -> str:
    import datetime

    return datetime.datetime.now().strftime(pattern)


# -- reading YAML with a budget: f5lab.files.readers (re-exported: sweep files and configs read the same way)
from f5lab.files.readers import (  # noqa: E402,F401
    MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES, YAML_NODE_BUDGET, YAML_NODES_PER_NODE, load_yaml)


def _str_or_none(name: str, model: dict[str, Any], key: str) -> str | None:
    value = model.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{name}: model.{key} is {value!r}; expected a string")
    return value


def _tokenizer_path(name: str, p: Path, model: dict[str, Any]) -> str | None:
    """``model.tokenizer_path`` as an absolute path: as written, else next to the YAML; must exist."""
    value = _str_or_none(name, model, "tokenizer_path")
    if not value:
        return None
    given = Path(value).expanduser()
    here = p.resolve().parent
    for candidate in ([given] if given.is_absolute() else [Path.cwd() / given, here / given]):
        if candidate.is_file():
            return str(candidate.resolve())
    raise ConfigError(f"{name}: model.tokenizer_path {value!r} does not exist"
                      + ("" if given.is_absolute() else f" (looked in {Path.cwd()} and {here})"))


# -- recorded in a file ------------------------------------------------------------------------------
def entry_metadata(entry: ConfigEntry) -> dict[str, str]:
    """What remap writes into ``__metadata__`` so the output names (and carries) its config."""
    if entry.source == "shipped":
        return {META_NAME: entry.name}
    keep = {k: v for k, v in entry.to_dict().items() if k not in ("source",)}
    return {META_NAME: entry.name, META_ENTRY: json.dumps(keep, separators=(",", ":"), default=str)}


def entry_from_metadata(metadata: Mapping[str, str] | None) -> ConfigEntry | None:
    """The config a remapped file records, or None (a shipped name is resolved by the catalogue)."""
    if not metadata or META_ENTRY not in metadata:
        return None
    try:
        d = json.loads(metadata[META_ENTRY])
        entry = ConfigEntry(**{k: v for k, v in d.items() if k in ConfigEntry.__dataclass_fields__}, source="recorded")
    except (TypeError, ValueError):
        return None
    if entry.backbone not in BACKBONES or not isinstance(entry.arch, dict):
        return None
    return entry


# -- writing a config ---------------------------------------------------------------------------------
WRITTEN_MARK = "# written by f5lab inspect --write-config"


def dump_config(entry: ConfigEntry, base: ConfigEntry, comments: Mapping[str, str], source: str) -> str:
    """A complete f5-tts config as YAML text: ``entry``'s model block (with ``comments`` on the values
    shapes cannot decide) and every other section (datasets, optim, ckpts, hydra) from ``base``'s file."""
    import yaml

    raw = yaml.safe_load(Path(base.path).read_text()) if base.path else {}
    from f5lab.escaping import yaml_comment

    lines = [WRITTEN_MARK + f" from {yaml_comment(source)}",  # a newline in a file name makes no key
             "# Shape facts (backbone, dim, depth, ff_mult, text_dim, conv_layers, heads x dim_head, mel bins)",
             f"# come from the checkpoint's tensors; everything else from {base.name}, the closest shipped config.",
             "# A value with a comment is one the shapes cannot decide: check it against the training run.", ""]
    for section in ("hydra", "datasets", "optim"):
        if section in raw:
            lines += [yaml.safe_dump({section: raw[section]}, sort_keys=False, allow_unicode=True).rstrip(), ""]
    model = {"name": Path(entry.name).stem, "tokenizer": entry.tokenizer or "pinyin",
             "tokenizer_path": entry.tokenizer_path, "backbone": entry.backbone}
    lines.append("model:")
    lines += [_line(2, k, v, comments.get(k)) for k, v in model.items()]
    lines.append("  arch:")
    lines += [_line(4, k, v, comments.get(f"arch.{k}")) for k, v in entry.arch.items()]
    lines.append("  mel_spec:")
    lines += [_line(4, k, v, comments.get(f"mel_spec.{k}")) for k, v in entry.mel_spec.items()]
    vocoder = (raw.get("model") or {}).get("vocoder") or {"is_local": False, "local_path": None}
    lines.append("  vocoder:")
    lines += [_line(4, k, v, "f5-tts's training-time vocoder setting; f5lab never downloads one"
                    if k == "is_local" else None) for k, v in vocoder.items()]
    if "ckpts" in raw:
        lines += ["", yaml.safe_dump({"ckpts": raw["ckpts"]}, sort_keys=False, allow_unicode=True).rstrip()]
    return "\n".join(lines) + "\n"


def _line(indent: int, key: str, value: Any, comment: str | None) -> str:
    from f5lab.escaping import yaml_comment

    return " " * indent + f"{key}: {_scalar(value)}" + (f"  # {yaml_comment(comment)}" if comment else "")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def write_config_file(text: str, path: str | os.PathLike, force: bool = False,
                      inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Write ``text`` to ``path``: an existing file is replaced only with ``force`` (a YAML one wrote
    may since hold one's own edits), never one of ``inputs`` (the checkpoint it describes)."""
    from f5lab import outputs

    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p}: is a directory; give the YAML file name (e.g. {p / 'my_model.yaml'})")
    if not p.parent.is_dir():
        raise ConfigError(f"{p.parent}: no such directory for the config")
    return outputs.write_text(p, text, force=force, inputs=inputs)


def writable(folder: str | os.PathLike) -> bool:
    """Whether f5lab may suggest writing into ``folder`` (it exists and this user can write there)."""
    return os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)


def output_place(checkpoint: str | os.PathLike, name: str) -> Path:
    """Where a suggested command writes ``name`` for ``checkpoint``: beside it; when its folder is
    read-only (a shared model store, a mounted volume), the current directory (absolute when the
    checkpoint's path is); when that is read-only too, beside it still (the caller says so)."""
    p = Path(checkpoint)
    if writable(p.parent if str(p.parent) else "."):
        return p.with_name(name)
    if writable(Path.cwd()):
        return Path.cwd() / name if p.is_absolute() else Path(name)
    return p.with_name(name)


def place_note(checkpoint: str | os.PathLike) -> str:
    """A sentence when neither the checkpoint's folder nor the current directory is writable, else ""."""
    p = Path(checkpoint)
    if writable(p.parent if str(p.parent) else ".") or writable(Path.cwd()):
        return ""
    return (f" ({p.parent} and the current directory are read-only: give the output file a path in a "
            "folder you can write)")


def own_config_path(checkpoint: str | os.PathLike) -> Path:
    """Where the fix lines suggest writing a checkpoint's own config: ``<stem>.yaml`` beside it
    (or in the current directory when its folder is read-only: ``output_place``)."""
    p = Path(checkpoint)
    return output_place(p, p.stem + ".yaml")


def remapped_name(checkpoint: str | os.PathLike, config: str | os.PathLike) -> Path:
    """The file a suggested remap writes: ``<stem>.<config name or YAML stem>.safetensors`` beside it
    (``output_place``); a config named after the checkpoint (its own, ``<stem>.yaml``) gives
    ``<stem>.remapped.safetensors``, not the stem twice."""
    p = Path(checkpoint)
    tag = Path(config).stem
    return output_place(p, f"{p.stem}.{'remapped' if tag == p.stem else tag}.safetensors")


def write_config_command(checkpoint: str | os.PathLike, vocab: str | os.PathLike | None = None) -> str:
    """The command that writes a config of one's own for ``checkpoint`` (runnable as printed); the
    vocab the user gave becomes the config's ``tokenizer_path``."""
    from f5lab import commandlines

    return commandlines.inspect_write_config(checkpoint, own_config_path(checkpoint), vocab=vocab or None)


def write_config_fix(checkpoint: str | os.PathLike, then: str = "diagnose", vocab: str | os.PathLike | None = None) -> str:
    """The fix for an architecture no config builds: write its own config, then use it
    (``then``: "diagnose", or "remap" as ``<stem>.remapped.safetensors``). ``vocab`` (the one the
    user passed) goes into the written config, so the follow-up command needs no vocab option."""
    from f5lab import commandlines

    p, own = Path(checkpoint), own_config_path(checkpoint)
    follow = (commandlines.remap(p, remapped_name(p, own), own) if then == "remap"
              else commandlines.diagnose(p, config=own))
    return (f"no installed config builds it: write its own with `{write_config_command(checkpoint, vocab)}`, then "
            f"`{follow}`{place_note(p)}")

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

    @property
    def shipped(self) -> bool:
        """A config f5-tts's API knows by name: ``F5TTS(model=name)`` builds exactly this."""
        return self.source == "shipped"

    def expected(self) -> dict[str, Any]:
        """The value of each architecture fact (f5lab.model.arch.FACTS) this config builds."""
        a = self.arch
        mel = int(self.mel_spec.get("n_mel_channels", 100))
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
            return f"{self.name} (your YAML" + (f", model.name {self.model_name}" if self.model_name else "") + ")"
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


def catalogue_flag(catalogue: Mapping[str, ConfigEntry] | None) -> str:
    """The option a printed command needs to see the same configs: `` --configs tiny`` for f5lab's
    tiny test catalogue, nothing for the shipped one."""
    return " --configs tiny" if catalogue and any(e.source == "tiny" for e in catalogue.values()) else ""


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
    """Read and check a YAML in f5-tts's config format; one-line ConfigError naming file and key."""
    name = os.fspath(path)
    p = Path(name)
    if not p.is_file():
        raise ConfigError(f"{name}: config file not found" + ("" if p.suffix in (".yaml", ".yml") else
                                                             " (and not a known config name)"))
    model = _model_section(p)
    if not isinstance(model, dict):
        raise ConfigError(f"{name}: no 'model' mapping (f5-tts's configs hold model.backbone and model.arch)")
    backbone = model.get("backbone")
    if backbone not in BACKBONES:
        raise ConfigError(f"{name}: model.backbone {backbone!r} is not one of {', '.join(BACKBONES)}"
                          if backbone is not None else f"{name}: model.backbone missing ({', '.join(BACKBONES)})")
    arch = model.get("arch")
    if not isinstance(arch, dict):
        raise ConfigError(f"{name}: model.arch missing or not a mapping")
    _check_arch(name, backbone, arch)
    mel = model.get("mel_spec") or {}
    if not isinstance(mel, dict):
        raise ConfigError(f"{name}: model.mel_spec is not a mapping")
    _check_values(name, "model.mel_spec", mel, MEL_KEYS, unknown_ok=True)
    return ConfigEntry(name=name, backbone=backbone, arch=dict(arch), mel_spec=dict(mel), source="file",
                       path=str(p.resolve()), model_name=_str_or_none(name, model, "name"),
                       tokenizer=_str_or_none(name, model, "tokenizer"),
                       tokenizer_path=_tokenizer_path(name, p, model))


def _model_section(p: Path) -> Any:
    """The ``model`` block with every ``${...}`` resolved (omegaconf, as hydra resolves it)."""
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        text = p.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text file (a YAML config must be UTF-8)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{p}: not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: the YAML is {type(raw).__name__ if raw is not None else 'empty'}, not a mapping "
                          "with a 'model' key")
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


def _check_arch(name: str, backbone: str, arch: dict[str, Any]) -> None:
    missing = [k for k in REQUIRED_ARCH if k not in arch]
    if missing:
        raise ConfigError(f"{name}: model.arch.{missing[0]} missing (a {backbone} config needs "
                          f"{', '.join(REQUIRED_ARCH)}; f5-tts would silently use its default)")
    for key in ("mel_dim", "text_num_embeds"):
        if key in arch:
            raise ConfigError(f"{name}: model.arch.{key} must not be set: f5-tts's loader passes it itself "
                              "(from mel_spec and the vocab file)")
    _check_values(name, "model.arch", arch, ARCH_KEYS[backbone], unknown_ok=False, backbone=backbone)


def _check_values(name: str, where: str, values: dict[str, Any], types: dict[str, Any], unknown_ok: bool,
                  backbone: str = "") -> None:
    for key, value in values.items():
        if key not in types:
            if unknown_ok:
                continue
            raise ConfigError(f"{name}: {where}.{key} is not an argument of f5-tts's {backbone} "
                              f"(known: {', '.join(types)})")
        if not _type_ok(value, types[key]):
            raise ConfigError(f"{name}: {where}.{key} is {value!r} ({type(value).__name__}); expected "
                              f"{_expected(types[key])}")
        if types[key] == _INT and (value < 0 if key == "conv_layers" else value <= 0):
            raise ConfigError(f"{name}: {where}.{key} is {value!r}; expected a positive integer")


def _type_ok(value: Any, kind: Any) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if k == _INT and isinstance(value, int) and not isinstance(value, bool):
            return True
        if k == _NUM and isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return True
        if k == _BOOL and isinstance(value, bool):
            return True
        if k not in (_INT, _NUM, _BOOL) and value == k and type(value) is type(k):
            return True
    return False


def _expected(kind: Any) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k if k in (_INT, _NUM, _BOOL) else ("null" if k is None else repr(k)) for k in kinds)


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
    lines = [WRITTEN_MARK + f" from {source}",
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
    return " " * indent + f"{key}: {_scalar(value)}" + (f"  # {comment}" if comment else "")


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


def own_config_path(checkpoint: str | os.PathLike) -> Path:
    """Where the fix lines suggest writing a checkpoint's own config: beside it, ``<stem>.yaml``."""
    p = Path(checkpoint)
    return p.with_name(p.stem + ".yaml")


def remapped_name(checkpoint: str | os.PathLike, config: str | os.PathLike) -> Path:
    """The file a suggested remap writes: ``<stem>.<config name or YAML stem>.safetensors`` beside it."""
    p = Path(checkpoint)
    return p.with_name(f"{p.stem}.{Path(config).stem}.safetensors")


def write_config_command(checkpoint: str | os.PathLike) -> str:
    """The command that writes a config of one's own for ``checkpoint`` (runnable as printed)."""
    import shlex

    return f"f5lab inspect {shlex.quote(str(checkpoint))} --write-config {shlex.quote(str(own_config_path(checkpoint)))}"


def write_config_fix(checkpoint: str | os.PathLike, then: str = "diagnose") -> str:
    """The fix for an architecture no config builds: write its own config, then use it
    (``then``: "diagnose", or "remap" beside the checkpoint as ``<stem>.<config>.safetensors``)."""
    import shlex

    q = shlex.quote
    p, own = Path(checkpoint), q(str(own_config_path(checkpoint)))
    follow = (f"f5lab remap {q(str(p))} {q(str(remapped_name(p, own_config_path(p))))} --config {own}"
              if then == "remap" else f"f5lab diagnose {q(str(p))} --config {own}")
    return (f"no installed config builds it: write its own with `{write_config_command(checkpoint)}`, then "
            f"`{follow}`")

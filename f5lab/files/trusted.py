"""Config files another library turns into objects: the one rule, applied before anything is built.

vocos builds whatever ``class_path`` its ``config.yaml`` names with the ``init_args`` beside it
(``vocos.pretrained.instantiate_class``: ``__import__`` + ``getattr`` + call), so a vocoder folder
is code unless its class paths are checked. BigVGAN turns ``config.json`` into constructor
arguments; hydra-style YAML (f5-tts's training configs) names classes with ``_target_`` or
through ``model.backbone``. The rule, for all of them:

- the file is read by ``f5lab.files.readers`` (capped, UTF-8, no key twice, no alias bomb);
- every key that names a class (``CLASS_KEYS``) anywhere in the tree is checked against the
  allowlist of the real classes for its place (none outside a vocos section's own key), before
  any import; arguments are plain data (numbers, strings, booleans, lists of them), named in the
  class's own signature, within sizes a vocoder has;
- weights are read with ``torch.load(weights_only=True)`` and must fit the config exactly
  (``load_state_dict(strict=True)``);
- anything else is one ``UntrustedConfig`` line (exit 2) naming the file and the key.

f5lab builds the objects from the checked values itself; the file is not read a second time by
the library (no window between the check and the use).
"""

from __future__ import annotations

import inspect
import math
import os
from pathlib import Path
from typing import Any, Mapping

from f5lab.errors import ConfigError

CLASS_KEYS = ("class_path", "_target_", "__class__", "_class_", "__target__", "target_class")
# the classes each section of a vocos config.yaml may name (vocos 0.1.0); EncodecFeatures is left out:
# it downloads encodec's weights on first use, and f5lab never downloads
VOCOS_CLASSES: dict[str, tuple[str, ...]] = {
    "feature_extractor": ("vocos.feature_extractors.MelSpectrogramFeatures",),
    "backbone": ("vocos.models.VocosBackbone", "vocos.models.VocosResNetBackbone"),
    "head": ("vocos.heads.ISTFTHead", "vocos.heads.IMDCTSymExpHead", "vocos.heads.IMDCTCosHead"),
}
MAX_INT_ARG = 1 << 16  # no vocoder has a width, layer count or FFT size past this (vocos-mel-24khz: 1536)
MAX_LIST_ARG = 64
# BigVGAN's config.json (nvidia/bigvgan_v2_24khz_100band_256x): the keys BigVGAN(h) reads to build
BIGVGAN_REQUIRED = ("resblock", "upsample_rates", "upsample_kernel_sizes", "upsample_initial_channel",
                    "resblock_kernel_sizes", "resblock_dilation_sizes", "num_mels")
BIGVGAN_CHOICES = {"resblock": ("1", "2"), "activation": ("snake", "snakebeta")}


class UntrustedConfig(ConfigError):
    """A config that would make another library build something f5lab does not allow, or weights
    that do not fit it."""


# -- the rule ------------------------------------------------------------------------------------------
def refuse_class_paths(tree: Any, source: str | os.PathLike, allowed: Mapping[str, tuple[str, ...]] | None = None,
                       where: str = "") -> None:
    """Walk ``tree``: every key naming a class must sit at a place ``allowed`` lists (``"backbone"``
    -> its class paths) and name one of them; anything else refused before any import."""
    allowed = allowed or {}
    stack: list[tuple[str, Any]] = [(where, tree)]
    while stack:
        at, node = stack.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                here = f"{at}.{key}" if at else str(key)
                if isinstance(key, str) and key in CLASS_KEYS:
                    ok = allowed.get(at, ())
                    if not isinstance(value, str) or value not in ok:
                        shown = repr(value)[:120]
                        raise UntrustedConfig(
                            f"{source}: {here} names {shown}, which f5lab does not build"
                            + (f" (allowed here: {', '.join(ok)})" if ok else " (no class may be named here)")
                            + "; a config that names code to run is refused")
                stack.append((here, value))
        elif isinstance(node, (list, tuple)):
            stack.extend((f"{at}[{i}]", v) for i, v in enumerate(node))


def plain_value(value: Any, source: str | os.PathLike, key: str) -> Any:
    """An argument value a constructor may receive from a file: a bounded number, a short string, a
    boolean, None, or a short list of those."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INT_ARG:
            raise UntrustedConfig(f"{source}: {key} is {value}; no vocoder has a size past {MAX_INT_ARG}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_INT_ARG:
            raise UntrustedConfig(f"{source}: {key} is {value!r}; expected a finite number up to {MAX_INT_ARG}")
        return value
    if isinstance(value, str):
        if len(value) > 200:
            raise UntrustedConfig(f"{source}: {key} is a string of {len(value)} characters; not a setting")
        return value
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_LIST_ARG:
            raise UntrustedConfig(f"{source}: {key} lists {len(value)} values (at most {MAX_LIST_ARG})")
        return [plain_value(v, source, f"{key}[{i}]") for i, v in enumerate(value)]
    raise UntrustedConfig(f"{source}: {key} is a {type(value).__name__}; a constructor argument from a file must "
                          "be a number, a string, true/false or a list of them")


def checked_class(section: str, spec: Any, source: str | os.PathLike,
                  allowed: Mapping[str, tuple[str, ...]]) -> tuple[Any, dict[str, Any]]:
    """The class ``spec['class_path']`` names (one of ``allowed[section]``) and its checked keyword
    arguments; imported only after the allowlist said yes."""
    import importlib

    if not isinstance(spec, Mapping):
        raise UntrustedConfig(f"{source}: {section} is not a mapping with class_path and init_args")
    extra = sorted(str(k) for k in spec if k not in ("class_path", "init_args"))
    if extra:
        raise UntrustedConfig(f"{source}: {section}.{extra[0]} is not a key of a vocos section "
                              "(class_path, init_args)")
    refuse_class_paths({section: {"class_path": spec.get("class_path")}}, source, allowed)
    path = spec["class_path"]
    args = spec.get("init_args") or {}
    if not isinstance(args, Mapping):
        raise UntrustedConfig(f"{source}: {section}.init_args is not a mapping")
    module, name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    params = inspect.signature(cls.__init__).parameters
    known = [p for p in params if p != "self" and params[p].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                                     inspect.Parameter.KEYWORD_ONLY)]
    kwargs = {}
    for key, value in args.items():
        if not isinstance(key, str) or key not in known:
            raise UntrustedConfig(f"{source}: {section}.init_args.{key} is not an argument of {path} "
                                  f"(known: {', '.join(known)})")
        kwargs[key] = plain_value(value, source, f"{section}.init_args.{key}")
    missing = [p for p in known if params[p].default is inspect.Parameter.empty and p not in kwargs]
    if missing:
        raise UntrustedConfig(f"{source}: {section}.init_args.{missing[0]} missing (an argument {path} needs)")
    return cls, kwargs


# -- vocos -----------------------------------------------------------------------------------------------
def vocos_config(path: str | os.PathLike, n_mels: int | None = None) -> dict[str, tuple[Any, dict[str, Any]]]:
    """A vocos ``config.yaml`` checked: each of feature_extractor, backbone, head one of
    ``VOCOS_CLASSES`` with plain arguments its signature names; nothing else names a class.
    ``n_mels``: the mel bins the vocoder must take (f5-tts's 100)."""
    from f5lab.files.readers import load_yaml

    raw = load_yaml(path, "vocos config")
    if not isinstance(raw, Mapping):
        raise UntrustedConfig(f"{path}: not a vocos config (a mapping with feature_extractor, backbone and head)")
    refuse_class_paths(raw, path, {k: v for k, v in VOCOS_CLASSES.items()})
    missing = [k for k in VOCOS_CLASSES if k not in raw]
    if missing:
        raise UntrustedConfig(f"{path}: {missing[0]} missing (a vocos config has {', '.join(VOCOS_CLASSES)})")
    built = {k: checked_class(k, raw[k], path, VOCOS_CLASSES) for k in VOCOS_CLASSES}
    if n_mels is not None:
        channels = built["backbone"][1].get("input_channels")
        if channels is not None and channels != n_mels:
            raise UntrustedConfig(f"{path}: backbone.init_args.input_channels is {channels}; f5-tts's mels have "
                                  f"{n_mels} bins, so this vocoder cannot decode them")
    return built


def build_vocos(directory: str | os.PathLike, n_mels: int | None = None) -> Any:
    """A vocos from a checked ``config.yaml`` and its ``pytorch_model.bin`` (weights_only, strict):
    what f5-tts's ``load_vocoder(is_local=True)`` builds, without its unchecked ``from_hparams``."""
    from vocos import Vocos

    d = Path(directory)
    built = vocos_config(d / "config.yaml", n_mels)
    parts = {k: cls(**kwargs) for k, (cls, kwargs) in built.items()}
    model = Vocos(**parts)
    state = load_weights(d / "pytorch_model.bin", "vocos weights")
    fit_weights(model, state, d / "pytorch_model.bin", d / "config.yaml")
    return model.eval()


# -- BigVGAN ---------------------------------------------------------------------------------------------
def bigvgan_config(path: str | os.PathLike) -> dict[str, Any]:
    """BigVGAN's ``config.json`` checked: plain values only, no class named anywhere, the keys
    BigVGAN(h) builds from present, its choices among the real ones."""
    from f5lab.files.readers import read_json

    raw = read_json(path, "BigVGAN config", max_bytes=64 * 1024, error=UntrustedConfig)
    if not isinstance(raw, Mapping):
        raise UntrustedConfig(f"{path}: not a BigVGAN config (a JSON object)")
    refuse_class_paths(raw, path)
    out = {str(k): plain_value(v, path, str(k)) for k, v in raw.items()}
    for key in BIGVGAN_REQUIRED:
        if key not in out:
            raise UntrustedConfig(f"{path}: {key} missing (BigVGAN builds from {', '.join(BIGVGAN_REQUIRED)})")
    for key, choices in BIGVGAN_CHOICES.items():
        if key in out and str(out[key]) not in choices:
            raise UntrustedConfig(f"{path}: {key} is {out[key]!r}; BigVGAN knows {', '.join(choices)}")
    return out


# -- weights -----------------------------------------------------------------------------------------------
def load_weights(path: str | os.PathLike, what: str) -> Any:
    """``torch.load(weights_only=True)`` (memory-mapped when it can be): torch's own allowlist, no
    code; a refusal or a corrupt file is one line naming it."""
    import pickle
    import zipfile

    import torch

    p = Path(path)
    try:
        try:
            return torch.load(str(p), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            return torch.load(str(p), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "refused"
        raise UntrustedConfig(f"{p}: {what} refused by torch's weights-only reader ({first})") from None
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile, OSError, AttributeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise UntrustedConfig(f"{p}: not readable as {what} ({first})") from None


def fit_weights(model: Any, state: Any, weights: str | os.PathLike, config: str | os.PathLike) -> None:
    """``model.load_state_dict(state, strict=True)``; a mismatch is one line naming the first key."""
    import torch

    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UntrustedConfig(f"{weights}: not a state dict of tensors")
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        key, how = (missing[0], "missing") if missing else (unexpected[0], "not in the model")
        raise UntrustedConfig(f"{weights}: does not fit {config}: {key} {how} ({len(missing)} missing, "
                              f"{len(unexpected)} unexpected)")
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise UntrustedConfig(f"{weights}: does not fit {config}: {k} is {list(state[k].shape)} in the weights, "
                                  f"{list(v.shape)} in the model the config builds")
    model.load_state_dict(state, strict=True)


# -- interpolations --------------------------------------------------------------------------------------
def refuse_resolvers(tree: Any, source: str | os.PathLike, allowed: tuple[str, ...] = ("now",)) -> None:
    """OmegaConf interpolations may call resolvers (``${oc.env:SECRET}`` reads the environment into
    a value a report prints; ``${oc.create:...}`` builds a tree): only ``allowed`` ones (hydra's
    ``now``) and plain references (``${model.name}``) pass."""
    import re

    call = re.compile(r"\$\{\s*([A-Za-z_][\w.]*)\s*:")
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, str) and "${" in node:
            for name in call.findall(node):
                if name not in allowed:
                    raise UntrustedConfig(f"{source}: the interpolation ${{{name}:...}} calls a resolver f5lab does "
                                          f"not run (only {', '.join(allowed)} and plain ${{key}} references)")

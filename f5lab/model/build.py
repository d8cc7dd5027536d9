"""Build the real f5-tts ``CFM`` for a config, and what a config expects without building it.

``build_model`` mirrors ``f5_tts.infer.utils_infer.load_model``; ``expected_state`` is a
config's state-dict signature (the real model on the meta device, cached on disk per f5-tts
version and architecture); ``f5tts_view``/``f5tts_accepts`` say what f5-tts's own loader
would pass to ``load_state_dict`` and whether it would succeed. Describe-stage facts about a
config that the deciding (diagnose), planning (remap) and loading modules all need, kept
here so that none of them has to import another to get them.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from f5lab import facts
from f5lab.files.checkpoint import DROPPED_BUFFERS, EMA_BOOKKEEPING, EMA_DICT, ROOT, Checkpoint, TensorInfo
from f5lab.model.configs import ConfigEntry
from f5lab.outputs import cache_dir, make_dirs, replace_text  # noqa: F401  (cache_dir re-exported)


# f5-tts's inference mel settings (utils_infer); every shipped config uses them
MEL_DEFAULTS = dict(target_sample_rate=facts.SAMPLE_RATE, n_mel_channels=facts.N_MELS, hop_length=facts.HOP_LENGTH,
                    win_length=facts.WIN_LENGTH, n_fft=facts.N_FFT, mel_spec_type="vocos")


def build_model(entry: ConfigEntry, text_num_embeds: int, vocab_char_map: dict[str, int] | None = None) -> Any:
    """A real ``f5_tts.model.CFM`` with the backbone ``entry`` names, random weights, eval mode.

    Mirrors ``f5_tts.infer.utils_infer.load_model``: the backbone gets the config's arch
    block plus ``text_num_embeds`` and ``mel_dim``; the mel front end the config's settings.
    """
    from f5_tts.model import CFM, DiT, MMDiT, UNetT

    backbone = {"DiT": DiT, "UNetT": UNetT, "MMDiT": MMDiT}[entry.backbone]
    mel = {**MEL_DEFAULTS, **entry.mel_spec}
    transformer = backbone(**entry.arch, text_num_embeds=text_num_embeds, mel_dim=mel["n_mel_channels"])
    model = CFM(transformer=transformer, mel_spec_kwargs=mel, vocab_char_map=vocab_char_map)
    return model.eval()


def load_state(model: Any, tensors: dict[str, Any]) -> Any:
    """``load_state_dict(strict=True)``: a filtered or partial load silently gives a random model."""
    model.load_state_dict(tensors, strict=True)
    return model


# -- what a config expects -----------------------------------------------------------------------------
def expected_state(entry: ConfigEntry, text_num_embeds: int) -> dict[str, TensorInfo]:
    """Key -> shape/dtype of the state dict ``entry`` builds: the real f5-tts model on the meta
    device (no memory, no weights), cached on disk per f5-tts version and architecture so that
    planning a remap does not pay f5-tts's import (~9 s, ~0.9 GB RSS) after the first time."""
    key = _signature_key(entry, text_num_embeds)
    return {k: TensorInfo(tuple(shape), dtype) for k, (shape, dtype) in _signature(key).items()}


def _signature_key(entry: ConfigEntry, text_num_embeds: int) -> str:
    from importlib.metadata import version

    return json.dumps({"f5_tts": version("f5-tts"), "backbone": entry.backbone, "arch": entry.arch,
                       "mel": entry.mel_spec, "text_num_embeds": text_num_embeds}, sort_keys=True, default=str)


@lru_cache(maxsize=64)
def _signature(key: str) -> dict[str, tuple[list[int], str]]:
    path = cache_dir() / "signatures" / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".json")
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass  # a damaged cache entry is recomputed
    sig = _compute_signature(json.loads(key))
    make_dirs(path.parent)
    try:
        replace_text(path, json.dumps(sig))
    except OSError:  # another process writes the same entry, or the cache is full: the value is in hand
        pass
    return sig


def _compute_signature(key: dict[str, Any]) -> dict[str, tuple[list[int], str]]:
    import torch

    from f5lab.files.checkpoint import torch_dtype_name

    entry = ConfigEntry(name="signature", backbone=key["backbone"], arch=key["arch"], mel_spec=key["mel"])
    with torch.device("meta"):
        model = build_model(entry, key["text_num_embeds"])
    return {k: (list(v.shape), torch_dtype_name(v.dtype)) for k, v in model.state_dict().items()}


def f5tts_view(ckpt: Checkpoint) -> tuple[dict[str, TensorInfo] | None, str]:
    """The keys f5-tts's ``load_checkpoint(use_ema=True)`` passes to ``load_state_dict``, or why it
    fails before that. It replaces 'ema_model.' anywhere in a key and strips nothing else."""
    if ckpt.format == "safetensors":
        sd = ckpt.state_dicts[ROOT]
    elif EMA_DICT in ckpt.state_dicts:
        sd = ckpt.state_dicts[EMA_DICT]
    else:
        return None, ("f5-tts's loader (use_ema=True) raises KeyError 'ema_model_state_dict': the file holds "
                      f"{', '.join(ckpt.state_dicts) or 'no state dict'} only")
    view = {k.replace("ema_model.", ""): v for k, v in sd.items() if k not in EMA_BOOKKEEPING}
    return {k: v for k, v in view.items() if k not in DROPPED_BUFFERS}, ""


def f5tts_accepts(ckpt: Checkpoint, entry: ConfigEntry, text_num_embeds: int) -> tuple[bool, str]:
    """Would f5-tts's own loader load this file strictly under ``entry``? (False, why) if not."""
    view, why = f5tts_view(ckpt)
    if view is None:
        return False, why
    expected = expected_state(entry, text_num_embeds)
    missing = set(expected) - set(view)
    unexpected = set(view) - set(expected)
    sizes = [k for k in set(view) & set(expected) if view[k].shape != expected[k].shape]
    if not (missing or unexpected or sizes):
        return True, ""
    return False, (f"f5-tts's loader fails: {len(missing)} missing, {len(unexpected)} unexpected, "
                   f"{len(sizes)} size mismatches")

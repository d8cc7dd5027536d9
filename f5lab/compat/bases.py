"""Where the bases lineage compares with come from, and what each one implies.

Owns finding f5-tts's checkpoints in the local Hugging Face cache (``hub_dirs``, ``find_bases``:
never downloaded), naming f5-tts's release files (``OFFICIAL``, ``base_name``), the config a
base implies (``implied_config``) and ``NoBaseError`` when there is none. A name here only says which
config a base *implies*; that a checkpoint descends from a base (and so a model card's ``base_model``)
is claimed only from a tensor match (``Lineage.base_match == "tensor"``), never from a folder or file
name. Apart from
``f5lab.compat.lineage`` because it reads no tensor: it works on folders, file names and
headers, where lineage streams weights and decides.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from f5lab.errors import ConfigError
from f5lab.files.checkpoint import Checkpoint

# f5-tts's own release files, by their place in the Hugging Face snapshot: folder, file stem -> config
OFFICIAL = {("F5TTS_Base", "model_1200000"): "F5TTS_Base", ("F5TTS_v1_Base", "model_1250000"): "F5TTS_v1_Base",
            ("F5TTS_Base_bigvgan", "model_1250000"): "F5TTS_Base", ("E2TTS_Base", "model_1200000"): "E2TTS_Base"}
HUB_REPOS = ("models--SWivid--F5-TTS", "models--SWivid--E2-TTS")


class NoBaseError(ConfigError):
    """No base checkpoint to compare with: none given and none in the Hugging Face cache."""


def hub_dirs(env: Mapping[str, str] | None = None) -> list[Path]:
    """The Hugging Face hub caches this machine may hold, as huggingface_hub resolves them:
    ``$HF_HUB_CACHE``, ``$HF_HOME/hub``, ``$XDG_CACHE_HOME/huggingface/hub``, ``~/.cache/huggingface/hub``."""
    env = os.environ if env is None else env
    found = [env.get("HF_HUB_CACHE"), env.get("HUGGINGFACE_HUB_CACHE"),
             env["HF_HOME"] + "/hub" if env.get("HF_HOME") else None,
             env["XDG_CACHE_HOME"] + "/huggingface/hub" if env.get("XDG_CACHE_HOME") else None,
             str(Path.home() / ".cache" / "huggingface" / "hub")]
    return list(dict.fromkeys(Path(p).expanduser() for p in found if p))


def find_bases(env: Mapping[str, str] | None = None) -> tuple[list[Path], list[str]]:
    """f5-tts's checkpoints in the local Hugging Face cache (never downloaded): one file per
    snapshot path (``.safetensors`` preferred over ``.pt``, the newest snapshot first), and the
    folders looked in."""
    chosen: dict[tuple[str, str], Path] = {}
    searched = []
    for hub in hub_dirs(env):
        for repo in HUB_REPOS:
            snapshots = hub / repo / "snapshots"
            searched.append(str(snapshots))
            if not snapshots.is_dir():
                continue
            for snap in sorted(snapshots.iterdir(), key=_mtime, reverse=True):
                files = [f for f in sorted(snap.rglob("model_*")) if f.suffix in (".safetensors", ".pt")]
                for f in sorted(files, key=lambda f: f.suffix != ".safetensors"):
                    if f.is_file():  # a dangling link: a download that never finished
                        chosen.setdefault((repo, str(f.relative_to(snap).with_suffix(""))), f)
    return list(chosen.values()), searched


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


def implied_config(path: str | Path, ckpt: Checkpoint, catalogue: Mapping[str, Any] | None = None) -> tuple[
        str | None, str, list[str]]:
    """(config or None, how it is known, the configs its shapes fit) for a base checkpoint: f5-tts's
    own release files by their folder and name, else ``f5lab.compat.decision`` (the config f5lab
    remap recorded, else the only fit; nothing else: a base's lineage is not asked)."""
    from f5lab.compat.decision import decide_config
    from f5lab.model.described import describe

    p = Path(path)
    d = describe(ckpt, catalogue)
    official = OFFICIAL.get((p.parent.name, p.stem))
    if official is not None:
        return official, f"f5-tts's release file {p.parent.name}/{p.stem}", d.fits
    decision = decide_config(d)
    if decision.decided:
        return decision.config, decision.text, d.fits
    fits = d.fits
    return None, (f"shapes fit {' and '.join(fits)}: they cannot tell" if fits else "no installed config fits"), fits


def base_name(path: str | Path) -> str:
    p = Path(path)
    return f"{p.parent.name} {p.stem}" if (p.parent.name, p.stem) in OFFICIAL else p.name

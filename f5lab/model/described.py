"""A checkpoint described once: the opened file, its inferred spec, the configs it fits, what it records.

``f5lab diagnose`` always opened its input once; the report and the sweep used to open the header
and infer the architecture three or four times before any notebook ran (the catalogue, the
config parameters, the config of one's own, its assumed values), each from a path. Build a
``Described`` once per input with ``describe`` and pass it down: every helper reads from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from f5lab.errors import ConfigError
from f5lab.files.checkpoint import Checkpoint, ModelState, open_checkpoint
from f5lab.model.arch import ArchSpec, Candidate, infer_spec, rank_configs
from f5lab.model.configs import ConfigEntry, entry_from_metadata, shipped_configs, tiny_catalogue

CATALOGUES = ("auto", "shipped", "tiny")  # --configs: auto picks tiny only when nothing shipped fits


def catalogue_named(name: str | None) -> dict[str, ConfigEntry] | None:
    """The one switch from a ``--configs`` word to a catalogue: None (the shipped configs, which
    every API takes as its default) or the shipped configs shrunk (``tiny``, for test and tiny
    demo checkpoints)."""
    if name in (None, "shipped", "auto"):
        return None
    if name == "tiny":
        return tiny_catalogue()
    raise ConfigError(f"unknown --configs {name!r}; use {', '.join(CATALOGUES)}")


@dataclass(frozen=True)
class Described:
    """One checkpoint, read once. ``catalogue_name``: "shipped" or "tiny" (auto resolved);
    ``ranked``: every config of that catalogue, best first; ``recorded``: the config an f5lab remap
    wrote into the file (a name, or a config of one's own it carries)."""

    ckpt: Checkpoint
    state: ModelState
    spec: ArchSpec
    catalogue_name: str
    ranked: tuple[Candidate, ...]
    use_ema: bool = True
    catalogue: Mapping[str, ConfigEntry] | None = None  # what the APIs take: None = the shipped configs

    @property
    def path(self) -> Path:
        return Path(self.ckpt.path)

    @property
    def metadata(self) -> Mapping[str, str]:
        return self.ckpt.metadata

    @property
    def entries(self) -> Mapping[str, ConfigEntry]:
        return shipped_configs() if self.catalogue is None else self.catalogue

    @property
    def fits(self) -> list[str]:
        """The configs whose every architecture fact agrees with the shapes, best first."""
        return [c.config for c in self.ranked if c.exact]

    @property
    def recorded_name(self) -> str | None:
        return self.metadata.get("f5lab_config")

    @property
    def recorded_entry(self) -> ConfigEntry | None:
        """A config of one's own that a remapped file carries (None for a shipped name or none)."""
        return entry_from_metadata(self.metadata)


def describe(checkpoint: str | os.PathLike | Checkpoint, configs: str | Mapping[str, ConfigEntry] | None = "auto",
             use_ema: bool = True) -> Described:
    """Open ``checkpoint`` (or take it opened) and describe it against ``configs``: "auto" (tiny only
    when no shipped config fits but a tiny one does), "shipped", "tiny", or a catalogue mapping
    (the tiny one, or None for shipped)."""
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else open_checkpoint(checkpoint)
    state = ckpt.model_state("ema" if use_ema else "raw")
    spec = infer_spec(state.tensors, source=ckpt.path)
    if isinstance(configs, str):
        name = configs
        if name == "auto":
            name = "shipped" if rank_configs(spec)[0].exact else (
                "tiny" if rank_configs(spec, tiny_catalogue())[0].exact else "shipped")
        catalogue = catalogue_named(name)
    else:
        catalogue, name = configs, catalogue_label(configs)
    ranked = tuple(rank_configs(spec, catalogue))
    return Described(ckpt=ckpt, state=state, spec=spec, catalogue_name=name, ranked=ranked, use_ema=use_ema,
                     catalogue=catalogue)


def catalogue_label(catalogue: Mapping[str, ConfigEntry] | None) -> str:
    """"tiny" for a catalogue of shrunk configs, else "shipped" (a user's config beside them counts as shipped)."""
    return "tiny" if catalogue and any(e.source == "tiny" for e in catalogue.values()) else "shipped"


def catalogue_word(checkpoint: str | os.PathLike, configs: str) -> str:
    """"shipped" or "tiny" for ``--configs``: as given, or for "auto" what ``describe`` finds (the
    only case that opens the file)."""
    if configs == "auto":
        return describe(checkpoint, configs).catalogue_name
    catalogue_named(configs)  # an unknown word: one line
    return configs

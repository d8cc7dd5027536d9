"""``f5lab.inspect``: read -> describe for one checkpoint, as one plain record."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from f5lab.model.arch import (DEFAULT_VOCAB_LINES, ArchSpec, Candidate, ConfigEntry, consistency_notes, infer_spec, rank_configs,
                        undetermined)
from f5lab.files.checkpoint import Checkpoint, ModelState, TensorInfo, open_checkpoint
from f5lab.model.configs import entry_from_metadata, resolve_config, with_config, write_config_fix

# buffers that are stored but are not parameters
BUFFER_SUFFIXES = ("rotary_embed.inv_freq",)


@dataclass
class Inspection:
    """Everything ``f5lab inspect`` reports; ``to_dict`` is the ``--json`` output."""

    path: Path
    format: str
    size_bytes: int
    sha256: str | None
    layout: dict[str, Any]
    source: str  # the state dict described (EMA preferred)
    prefixes: list[str]
    dropped: list[str]
    spec: ArchSpec
    params: int
    bytes_by_dtype: dict[str, int]
    modules: dict[str, int]  # parameter count per top-level module
    candidates: list[Candidate]
    undetermined: list[str]
    notes: list[str] = field(default_factory=list)
    checkpoint: Checkpoint | None = field(default=None, repr=False)
    state: ModelState | None = field(default=None, repr=False)

    @property
    def best(self) -> Candidate:
        return self.candidates[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "format": self.format, "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "layout": {**self.layout, "source": self.source, "stripped_prefixes": self.prefixes,
                       "dropped_keys": self.dropped},
            "arch": self.spec.to_dict(), "arch_block": self.spec.arch_block(),
            "params": self.params, "bytes_by_dtype": self.bytes_by_dtype, "modules": self.modules,
            "candidates": [c.to_dict() for c in self.candidates],
            "undetermined": self.undetermined, "notes": self.notes,
        }


def inspect_checkpoint(path: str | os.PathLike, sha256: bool = False,
                       catalogue: Mapping[str, ConfigEntry] | None = None,
                       config: str | ConfigEntry | None = None) -> Inspection:
    """Describe a checkpoint from its header alone; ``sha256=True`` also hashes the file.

    ``config`` (a name, a YAML path or an entry) and a config the file records (f5lab remap)
    are ranked beside the catalogue's (default: the configs shipped with f5-tts)."""
    ckpt = open_checkpoint(path)
    if config is not None or entry_from_metadata(ckpt.metadata) is not None:
        own = resolve_config(config, catalogue, ckpt.metadata) if config is not None else None
        catalogue = with_config(with_config(catalogue, entry_from_metadata(ckpt.metadata)), own)
    state = ckpt.model_state()
    spec = infer_spec(state.tensors, source=ckpt.path)
    ranked = rank_configs(spec, catalogue)
    params, modules = count_parameters(state.tensors)
    notes = consistency_notes(spec, state.tensors)
    if not ranked[0].exact:
        notes.append(f"no installed config matches; closest {ranked[0].config} ({ranked[0].first_mismatch}). "
                     + write_config_fix(path)[0].upper() + write_config_fix(path)[1:])
    elif not ranked[0].vocab_match:
        notes.append(f"{spec.text_embed_rows} text embedding rows, f5-tts's default vocab gives "
                     f"{DEFAULT_VOCAB_LINES + 1}: an extended vocabulary; the fine-tune's vocab.txt "
                     f"({spec.text_embed_rows - 1} lines) is required to load or speak with it")
    return Inspection(
        path=Path(path), format=ckpt.format, size_bytes=ckpt.size_bytes,
        sha256=file_sha256(ckpt.path) if sha256 else None, layout=ckpt.layout(), source=state.source,
        prefixes=state.prefixes, dropped=state.dropped, spec=spec, params=params,
        bytes_by_dtype=bytes_by_dtype(state.tensors), modules=modules, candidates=ranked,
        undetermined=undetermined(spec, ranked, catalogue), notes=notes, checkpoint=ckpt, state=state)


def count_parameters(tensors: Mapping[str, TensorInfo]) -> tuple[int, dict[str, int]]:
    """Total parameters and the count per top-level module (``transformer.<child>``)."""
    modules: dict[str, int] = {}
    for name, info in tensors.items():
        if name.endswith(BUFFER_SUFFIXES) or name.startswith("mel_spec."):
            continue
        parts = name.split(".")
        group = ".".join(parts[:2]) if parts[0] == "transformer" and len(parts) > 2 else parts[0]
        modules[group] = modules.get(group, 0) + info.numel
    return sum(modules.values()), modules


def bytes_by_dtype(tensors: Mapping[str, TensorInfo]) -> dict[str, int]:
    out: dict[str, int] = {}
    for info in tensors.values():
        out[info.dtype] = out.get(info.dtype, 0) + info.nbytes
    return out


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def write_own_config(path: str | os.PathLike, out: str | os.PathLike, force: bool = False) -> tuple[Path, list[str]]:
    """Write a complete f5-tts config for checkpoint ``path`` to ``out``: its shape facts, the rest
    from the closest shipped config, a comment on each value shapes cannot decide. A vocab.txt
    beside the checkpoint whose line count fits the embedding becomes ``tokenizer_path``.
    Returns the file and the values left for the user to check."""
    from f5lab.model.arch import config_for_spec
    from f5lab.model.configs import dump_config, write_config_file
    from f5lab.files.vocab import vocab_beside

    ckpt = open_checkpoint(path)
    spec = infer_spec(ckpt.model_state().tensors, source=ckpt.path)
    beside = vocab_beside(ckpt.path, spec.text_embed_rows) if spec.text_embed_rows != DEFAULT_VOCAB_LINES + 1 else None
    entry, base, comments = config_for_spec(spec, str(out), str(beside.resolve()) if beside else None)
    written = write_config_file(dump_config(entry, base, comments, source=Path(path).name), out, force=force,
                                inputs=(path,))
    return written, [f"{k}: {v}" for k, v in comments.items()]

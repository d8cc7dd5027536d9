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
                       config: str | ConfigEntry | None = None, vocab: str | os.PathLike | None = None) -> Inspection:
    """Describe a checkpoint from its header alone; ``sha256=True`` also hashes the file.

    ``config`` (a name, a YAML path or an entry) and a config the file records (f5lab remap)
    are ranked beside the catalogue's (default: the configs shipped with f5-tts). ``vocab``, the
    vocab.txt the user says the checkpoint was trained with, is checked against its embedding
    and carried into the commands the notes print."""
    ckpt = open_checkpoint(path)
    if config is not None or entry_from_metadata(ckpt.metadata) is not None:
        own = resolve_config(config, catalogue, ckpt.metadata) if config is not None else None
        catalogue = with_config(with_config(catalogue, entry_from_metadata(ckpt.metadata)), own)
    state = ckpt.model_state()
    spec = infer_spec(state.tensors, source=ckpt.path)
    ranked = rank_configs(spec, catalogue)
    params, modules = count_parameters(state.tensors)
    notes = consistency_notes(spec, state.tensors)
    if vocab is not None:
        notes.append(vocab_note(vocab, spec.text_embed_rows))
    if not ranked[0].exact:
        fix = write_config_fix(path, vocab=vocab)
        notes.append(f"no installed config matches; closest {ranked[0].config} ({ranked[0].first_mismatch}). "
                     + fix[0].upper() + fix[1:])
    elif not ranked[0].vocab_match and vocab is None:
        notes.append(f"{spec.text_embed_rows} text embedding rows, f5-tts's default vocab gives "
                     f"{DEFAULT_VOCAB_LINES + 1}: an extended vocabulary; the fine-tune's vocab.txt "
                     f"({spec.text_embed_rows - 1} lines) is required to load or speak with it")
    return Inspection(
        path=Path(path), format=ckpt.format, size_bytes=ckpt.size_bytes,
        sha256=file_sha256(ckpt.path) if sha256 else None, layout=ckpt.layout(), source=state.source,
        prefixes=state.prefixes, dropped=state.dropped, spec=spec, params=params,
        bytes_by_dtype=bytes_by_dtype(state.tensors), modules=modules, candidates=ranked,
        undetermined=undetermined(spec, ranked, catalogue), notes=notes, checkpoint=ckpt, state=state)


def vocab_note(vocab: str | os.PathLike, rows: int) -> str:
    """Whether the vocab.txt the user gave fits the checkpoint's text embedding (raises on one that cannot)."""
    from f5lab.files.vocab import check_rows, read_vocab

    tokens = read_vocab(vocab)
    check_rows(tokens, rows, vocab)
    return f"vocab {vocab}: {len(tokens)} lines, fits the {rows}-row text embedding"


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


def write_own_config(path: Any, out: str | os.PathLike, force: bool = False,
                     vocab: str | os.PathLike | None = None) -> tuple[Path, list[str]]:
    """Write a complete f5-tts config for checkpoint ``path`` to ``out``: its shape facts, the rest
    from the closest shipped config, a comment on each value shapes cannot decide. ``vocab`` (checked
    against the embedding), else a vocab.txt beside the checkpoint whose line count fits it, becomes
    ``tokenizer_path`` (with ``tokenizer: custom``, the only tokenizer for which f5-tts reads it).
    Returns the file and the values left for the user to check."""
    from f5lab.model.configs import dump_config, write_config_file

    entry, base, comments = own_config(path, str(out), vocab)
    file = _file_of(path)
    written = write_config_file(dump_config(entry, base, comments, source=file.name), out, force=force,
                                inputs=(file, *([vocab] if vocab else [])))
    return written, [f"{k}: {v}" for k, v in comments.items()]


def own_config(path: Any, name: str, vocab: str | os.PathLike | None = None) -> tuple[ConfigEntry,
                                                                                                   ConfigEntry,
                                                                                                   dict[str, str]]:
    """(the config that builds checkpoint ``path``, the shipped config it borrows the rest from, the
    comment on each value the shapes cannot decide): what ``write_own_config`` writes."""
    from f5lab.model.arch import config_for_spec
    from f5lab.files.vocab import vocab_beside

    if hasattr(path, "spec"):  # a Described: read once, passed down
        ckpt, spec = path.ckpt, path.spec
    else:
        ckpt = open_checkpoint(path)
        spec = infer_spec(ckpt.model_state().tensors, source=ckpt.path)
    if vocab is not None:
        vocab_note(vocab, spec.text_embed_rows)  # a vocab that cannot fit: one line, before anything is written
        found: Path | None = Path(vocab)
    else:
        found = vocab_beside(ckpt.path, spec.text_embed_rows) if spec.text_embed_rows != DEFAULT_VOCAB_LINES + 1 else None
    return config_for_spec(spec, name, str(found.resolve()) if found else None)


def assumed_values(path: Any, vocab: str | os.PathLike | None = None) -> list[str]:
    """The values of a checkpoint's own config that its shapes cannot decide, one short phrase each
    ("text_mask_padding false", "mel_spec_type vocos"), for the report's answer card."""
    entry, base, comments = own_config(path, "own", vocab)
    values = {**{f"arch.{k}": v for k, v in entry.arch.items()}, **{f"mel_spec.{k}": v for k, v in entry.mel_spec.items()}}
    quiet = ("attn_backend", "attn_mask_enabled", "checkpoint_activations")  # speed settings, not the model's maths
    out = [f"{key.split('.', 1)[1]} {_yaml_word(values[key])}" for key in comments
           if key in values and key.split(".", 1)[1] not in quiet + ("text_mask_padding", "pe_attn_head")]
    if "arch.text_mask_padding" in comments:
        v1 = bool(entry.arch.get("text_mask_padding"))
        flags = (f"text_mask_padding {_yaml_word(entry.arch.get('text_mask_padding'))}, pe_attn_head "
                 f"{_yaml_word(entry.arch.get('pe_attn_head'))}")
        other = "text_mask_padding false, pe_attn_head 1" if v1 else "text_mask_padding true, pe_attn_head null"
        out.insert(0, f"{flags} (the {'v1' if v1 else 'v0'} flags of {base.name}; a {'v0' if v1 else 'v1'} model "
                      f"has {other})")
    return out


def _file_of(source: Any) -> Path:
    """The checkpoint file of a path or of a ``Described``."""
    return Path(source.path) if hasattr(source, "spec") else Path(source)


def _yaml_word(value: Any) -> str:
    return "null" if value is None else ("true" if value is True else "false" if value is False else str(value))

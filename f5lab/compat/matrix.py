"""``compatibility_matrix``: every installed config against one checkpoint.

Owns ``MatrixRow`` (loads as is, loads after a remap, or cannot, and why), the vocab check that
turns a row into "cannot" (an extended embedding needs the fine-tune's vocab.txt) and each loading
row's f5-tts code (``f5lab.compat.service``). Apart from ``f5lab.compat.loading`` because it
loads nothing: it plans a remap and asks f5-tts's own loader's rules for every config at once,
where loading builds one model under one decided config.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from f5lab.errors import F5LabError
from f5lab.files.checkpoint import Checkpoint, open_checkpoint
from f5lab.model.arch import ConfigEntry, differences, infer_spec
from f5lab.model.build import f5tts_accepts
from f5lab.model.configs import entry_from_metadata, resolve_config, with_config


@dataclass
class MatrixRow:
    """One installed config against one checkpoint."""

    config: str
    status: str  # "loads" | "loads after remap" | "cannot"
    plan: list[str] = field(default_factory=list)  # what the remap does (status "loads after remap")
    reason: str = ""  # why f5-tts's loader fails as is, or why nothing maps
    note: str = ""
    needs_remap: bool | None = None  # None: cannot load under this config at all
    remap_command: str | None = None  # run once first, when needs_remap
    code: str | None = None  # the f5-tts Python that loads it without f5lab (f5lab.compat.service)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compatibility_matrix(path: str | os.PathLike, vocab: str | None = None,
                         catalogue: Mapping[str, ConfigEntry] | None = None,
                         config: str | ConfigEntry | None = None,
                         vocoder_dir: str | None = None) -> list[MatrixRow]:
    """Every config x this checkpoint: loads as is (f5-tts's own loader), loads after a remap
    (the plan's changes), or cannot (the reason, e.g. another backbone: not a remapping matter).
    ``config`` (a name, YAML path or entry) and a config the file records join the catalogue's rows.
    Rows that load carry the f5-tts code that loads the file (``code``) and the remap to run first."""
    from f5lab.compat.remap import plan_remap

    ckpt = open_checkpoint(path)
    own = resolve_config(config, catalogue, ckpt.metadata) if config is not None else None
    catalogue = with_config(catalogue, entry_from_metadata(ckpt.metadata))
    catalogue = with_config(catalogue, own)
    spec = infer_spec(ckpt.model_state().tensors, source=ckpt.path)  # not an F5/E2 model: ArchError (exit 2)
    if vocab is not None:
        from f5lab.files.vocab import read_vocab

        read_vocab(vocab)  # an unreadable vocab is the user's input error, not a row's "cannot"
    rows = []
    for name, entry in catalogue.items():
        try:
            plan = plan_remap(ckpt, entry, vocab_from=vocab, catalogue=catalogue)
        except F5LabError as exc:
            rows.append(MatrixRow(config=name, status="cannot", reason=str(exc).split(": ", 1)[-1]))
            continue
        missing = _vocab_missing(entry, vocab, plan.text_num_embeds)
        if missing:
            rows.append(MatrixRow(config=name, status="cannot", reason=missing))
            continue
        ok, why = f5tts_accepts(ckpt, entry, plan.text_num_embeds)
        rows.append(MatrixRow(config=name, status="loads" if ok else "loads after remap",
                              plan=[] if ok else plan.changes or ["rewrite as a release .safetensors"], reason=why,
                              note="; ".join(plan.notes), needs_remap=not ok))
        _add_service_code(rows[-1], ckpt, entry, vocab, plan.text_num_embeds, catalogue, vocoder_dir, spec)
    fits = [r.config for r in rows if r.status != "cannot"]
    if len(fits) > 1:
        diff = differences(fits, catalogue)
        for r in rows:
            if r.config in fits and diff:
                r.note = "; ".join(filter(None, [r.note, f"shapes cannot separate {' / '.join(fits)} "
                                                  f"({', '.join(diff)} differ): decide with f5lab lineage against the base, or f5lab probe"]))
    return rows


def _vocab_missing(entry: ConfigEntry, vocab: str | None, text_num_embeds: int) -> str:
    """Why no loader can take the file under ``entry`` with the vocab at hand (empty: it can):
    an extended embedding needs the fine-tune's own vocab.txt, as f5-tts's loader does."""
    from f5lab.files.vocab import read_vocab

    own = vocab if vocab is not None else entry.tokenizer_path
    lines = len(read_vocab(own))
    if lines == text_num_embeds:
        return ""
    return (f"the text embedding holds {text_num_embeds} tokens, {own or 'the default vocab.txt'} {lines}: give the "
            f"fine-tune's {text_num_embeds}-line vocab.txt (--vocab)")


def _add_service_code(row: MatrixRow, ckpt: Checkpoint, entry: ConfigEntry, vocab: str | None, text_num_embeds: int,
                      catalogue: Mapping[str, ConfigEntry], vocoder_dir: str | None, spec: Any = None) -> None:
    """The row's f5-tts code, when the vocab at hand fits the embedding (else the note says which is needed)."""
    from f5lab.model.configs import catalogue_name
    from f5lab.compat.service import call_bytes, service_code
    from f5lab.files.vocab import read_vocab

    own = vocab if vocab is not None else entry.tokenizer_path
    if len(read_vocab(own)) != text_num_embeds:
        return
    snippet = service_code(ckpt.path, entry, needs_remap=bool(row.needs_remap), vocab=own, vocoder_dir=vocoder_dir,
                           needs_bytes=call_bytes(spec) if spec is not None else None,
                           configs=catalogue_name(catalogue))
    row.remap_command, row.code = snippet.remap_command, snippet.code

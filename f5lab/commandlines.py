"""Every ``f5lab ...`` command line that f5lab prints (a fix, a "run this next"), built in one place.

A printed command is copied from a terminal, a finding or a report and run as printed, so each
builder quotes its paths with ``shlex.quote`` and spells the options as the CLI spells them now:
renaming an option of the CLI is one edit here, not one per module that prints it.
``tests/test_printed_commands.py`` runs every command printed for every checkpoint layout.

Kept at the root (no f5lab import) so that every stage, from ``model`` up, can print a command.
"""

from __future__ import annotations

import os
import shlex
from typing import Union

PathLike = Union[str, os.PathLike]


def quote(value: PathLike) -> str:
    """One shell word, as ``shlex.quote`` writes it."""
    return shlex.quote(str(value))


def option(name: str, value: PathLike | None) -> str:
    """`` NAME VALUE`` (the value quoted) for a printed command, or "" when there is no value."""
    return f" {name} {quote(value)}" if value is not None and str(value) != "" else ""


def configs_option(configs: str | None) -> str:
    """`` --configs tiny`` for f5lab's tiny catalogue; nothing for the shipped one, the default."""
    return option("--configs", configs) if configs and configs != "shipped" else ""


def inspect_write_config(checkpoint: PathLike, out: PathLike, *, vocab: PathLike | None = None) -> str:
    """``f5lab inspect CKPT --write-config OUT``: writes a config of its own for CKPT (``vocab``
    becomes its tokenizer_path)."""
    return f"f5lab inspect {quote(checkpoint)} --write-config {quote(out)}{option('--vocab', vocab)}"


def diagnose(checkpoint: PathLike, *, config: PathLike | None = None, configs: str | None = None,
             vocab: PathLike | None = None) -> str:
    """``f5lab diagnose CKPT [--config C] [--configs tiny] [--vocab V]``."""
    return (f"f5lab diagnose {quote(checkpoint)}{option('--config', config)}{configs_option(configs)}"
            f"{option('--vocab', vocab)}")


def remap(src: PathLike, dst: PathLike, config: PathLike, *, configs: str | None = None,
          vocab_from: PathLike | None = None) -> str:
    """``f5lab remap SRC DST --config C [--configs tiny] [--vocab-from V]``."""
    return (f"f5lab remap {quote(src)} {quote(dst)} --config {quote(config)}{configs_option(configs)}"
            f"{option('--vocab-from', vocab_from)}")


def lineage(checkpoint: PathLike, base: str = "BASE") -> str:
    """``f5lab lineage CKPT --base BASE`` (BASE: the checkpoint it was fine-tuned from, when unknown)."""
    return f"f5lab lineage {quote(checkpoint)} --base {quote(base)}"


def report(checkpoint: PathLike | None, *, config: PathLike | None = None, configs: str | None = None,
           vocab: PathLike | None = None, lang: str | None = None, ref_audio: PathLike | None = None,
           ref_text: str | None = None, gen_text: str | None = None, nfe: int | None = None,
           full_grid: bool = False, budget: float | None = None) -> str:
    """``f5lab report [CKPT] [--config C] ... [--full-grid]``: the report again, e.g. rendering the
    grid its default cut to fit the time budget."""
    ck = f" {quote(checkpoint)}" if checkpoint is not None else ""
    lang_opt = option("--lang", lang) if lang and lang != "en" else ""
    return (f"f5lab report{ck}{option('--config', config)}{configs_option(configs)}{option('--vocab', vocab)}"
            f"{lang_opt}{option('--ref-audio', ref_audio)}{option('--ref-text', ref_text)}"
            f"{option('--text', gen_text)}{option('--nfe', nfe)}"
            f"{option('--budget', None if budget is None else f'{budget:g}')}{' --full-grid' if full_grid else ''}")

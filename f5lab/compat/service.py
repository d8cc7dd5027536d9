"""The code a service needs: how to load a checkpoint in f5-tts itself, without f5lab.

For every config a checkpoint loads under, diagnose, ``matrix --json`` and the report give
the exact Python: f5-tts's API (``F5TTS(model=NAME, ckpt_file=..., vocab_file=...)``) for a
config shipped with f5-tts, its ``load_model(Backbone, arch, ckpt_path, ...)`` with the arch
written out for any other (a YAML of one's own, a tiny test config, a config recorded by
remap), and, when f5-tts's loader refuses the file as stored, the ``f5lab remap`` command to
run once first (the code then loads the remapped file). Both paths load strictly
(``load_state_dict`` with ``strict=True``), so code that runs is code that loaded every weight.

``vocoder_local_path``: f5-tts's API downloads vocos (charactr/vocos-mel-24khz) from the Hugging
Face hub on first use unless given a local copy. The snippet passes the folder when one is known
and otherwise leaves the argument out, with a comment saying what to put there to stay offline,
so it runs as printed either way.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from f5lab.model.configs import ConfigEntry

VOCOS_REPO = "charactr/vocos-mel-24khz"  # what f5-tts downloads without vocoder_local_path


@dataclass
class ServiceCode:
    """How a service loads ``checkpoint`` under ``config`` with f5-tts alone."""

    config: str
    needs_remap: bool
    remap_command: str | None  # run once first when needs_remap
    code: str  # Python; loads the remapped file when needs_remap

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        first = f"# once, first (f5-tts's loader refuses the file as stored):\n#   {self.remap_command}\n" \
            if self.needs_remap else ""
        return first + self.code


def remapped_path(checkpoint: str | Path, config: str) -> Path:
    """Where the suggested remap writes: beside the checkpoint, ``<stem>.<config>.safetensors``
    (one file per config, so the alternatives printed for configs the shapes cannot separate
    do not overwrite each other)."""
    from f5lab.model.configs import remapped_name

    return remapped_name(checkpoint, config)


def remap_command(checkpoint: str | Path, config: str, extra: str = "", catalogue_flag: str = "") -> str:
    """``f5lab remap SRC DST --config C`` with shell quoting: runnable as printed (``extra``: more
    options, already quoted, e.g. `` --vocab-from FILE``)."""
    q = shlex.quote
    return (f"f5lab remap {q(str(checkpoint))} {q(str(remapped_path(checkpoint, config)))} --config {q(config)}"
            f"{catalogue_flag}{extra}")


def service_code(checkpoint: str | Path, entry: ConfigEntry, *, needs_remap: bool, vocab: str | None = None,
                 vocoder_dir: str | None = None, catalogue_flag: str = "") -> ServiceCode:
    """The snippet for one config. ``vocab``: the checkpoint's vocab.txt (default: the config's
    tokenizer_path, else f5-tts's own); ``vocoder_dir``: a local vocos folder to name."""
    from f5lab.model.configs import vocab_flag

    vocab = vocab if vocab is not None else entry.tokenizer_path
    target = remapped_path(checkpoint, entry.name) if needs_remap else Path(checkpoint)
    if entry.shipped:
        code = _api_code(entry, target, vocab, vocoder_dir)
    else:
        code = _load_model_code(entry, target, vocab)
    # the remap reads the config's tokenizer_path itself; another vocab must be named
    extra = vocab_flag(vocab, "--vocab-from") if vocab and vocab != entry.tokenizer_path else ""
    return ServiceCode(config=entry.name, needs_remap=needs_remap,
                       remap_command=remap_command(checkpoint, entry.name, extra, catalogue_flag=catalogue_flag)
                       if needs_remap else None, code=code)


def _api_code(entry: ConfigEntry, ckpt: Path, vocab: str | None, vocoder_dir: str | None) -> str:
    args = [f"model={entry.name!r}", f"ckpt_file={str(ckpt.resolve())!r}"]
    if vocab:
        args.append(f"vocab_file={str(Path(vocab).resolve())!r}")
    note = ""
    if vocoder_dir:
        args.append(f"vocoder_local_path={str(Path(vocoder_dir).resolve())!r}")
    else:
        note = (f"# vocoder: as written, f5-tts downloads {VOCOS_REPO} from the Hugging Face hub on first use;\n"
                f"# offline, add vocoder_local_path='<a local copy of {VOCOS_REPO}: the folder with its\n"
                "# config.yaml and pytorch_model.bin>' to F5TTS(...)\n")
    return ("from f5_tts.api import F5TTS\n\n" + note
            + f"tts = F5TTS({', '.join(args)})\n"
            "model = tts.ema_model  # f5-tts loaded it with load_state_dict(strict=True)\n")


def _load_model_code(entry: ConfigEntry, ckpt: Path, vocab: str | None) -> str:
    arch = ", ".join(f"{k}={v!r}" for k, v in entry.arch.items())
    args = [entry.backbone, f"dict({arch})", repr(str(ckpt.resolve())),
            f"mel_spec_type={entry.mel_spec_type!r}"]
    if vocab:
        args.append(f"vocab_file={str(Path(vocab).resolve())!r}")
    return (f"# config: {entry.describe()}\n"
            "from f5_tts.infer.utils_infer import load_model\n"
            f"from f5_tts.model import {entry.backbone}\n\n"
            f"model = load_model({', '.join(args)})  # strict load_state_dict\n")

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

``pick_device``: f5-tts takes CUDA whenever torch sees a GPU, and a card the torch build has no
kernels for (a GTX 1050 Ti under PyPI's CUDA 13 torch) then dies on "no kernel image is available".
The snippet picks CUDA only where the build has kernels for the card (the SASS / PTX rule of
``f5lab.hardware.stack``) and the call fits (f5lab's estimate for a 10 s call), else the CPU with
one warning line: the rule of ``f5lab.load_model(device="auto")``, in f5-tts alone.
"""

from __future__ import annotations

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


def remap_command(checkpoint: str | Path, config: str, vocab_from: str | Path | None = None,
                  configs: str | None = None) -> str:
    """``f5lab remap SRC DST --config C``, runnable as printed, into ``remapped_path``; ``configs``:
    the catalogue's name when not the shipped one (f5lab.commandlines spells it)."""
    from f5lab import commandlines

    return commandlines.remap(checkpoint, remapped_path(checkpoint, config), config, configs=configs,
                              vocab_from=vocab_from)


def service_code(checkpoint: str | Path, entry: ConfigEntry, *, needs_remap: bool, vocab: str | None = None,
                 vocoder_dir: str | None = None, configs: str | None = None, needs_bytes: int | None = None) -> ServiceCode:
    """The snippet for one config. ``vocab``: the checkpoint's vocab.txt (default: the config's
    tokenizer_path, else f5-tts's own); ``vocoder_dir``: a local vocos folder to name; ``needs_bytes``:
    the GPU memory one call needs (f5lab's estimate), checked by the snippet's ``pick_device``."""
    vocab = vocab if vocab is not None else entry.tokenizer_path
    target = remapped_path(checkpoint, entry.name) if needs_remap else Path(checkpoint)
    if entry.shipped:
        code = _api_code(entry, target, vocab, vocoder_dir)
    else:
        code = _load_model_code(entry, target, vocab)
    # the remap reads the config's tokenizer_path itself; another vocab must be named
    vocab_from = vocab if vocab and vocab != entry.tokenizer_path else None
    code = pick_device_code(needs_bytes) + code
    return ServiceCode(config=entry.name, needs_remap=needs_remap,
                       remap_command=remap_command(checkpoint, entry.name, vocab_from, configs=configs)
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
    args.append("device=pick_device()")
    return ("from f5_tts.api import F5TTS\n\n" + note
            + f"tts = F5TTS({', '.join(args)})\n"
            "model = tts.ema_model  # f5-tts loaded it with load_state_dict(strict=True)\n")


def _load_model_code(entry: ConfigEntry, ckpt: Path, vocab: str | None) -> str:
    arch = ", ".join(f"{k}={v!r}" for k, v in entry.arch.items())
    args = [entry.backbone, f"dict({arch})", repr(str(ckpt.resolve())),
            f"mel_spec_type={entry.mel_spec_type!r}"]
    if vocab:
        args.append(f"vocab_file={str(Path(vocab).resolve())!r}")
    args.append("device=pick_device()")
    return (f"# config: {entry.describe()}\n"
            "from f5_tts.infer.utils_infer import load_model\n"
            f"from f5_tts.model import {entry.backbone}\n\n"
            f"model = load_model({', '.join(args)})  # strict load_state_dict\n")


def pick_device_code(needs_bytes: int | None) -> str:
    """The snippet's ``pick_device()``: CUDA where this torch has kernels for GPU 0 (SASS of the same
    major and a minor <= the card's, or PTX <= the card's compute capability) and the call fits."""
    fits = (f"    fits = torch.cuda.get_device_properties(0).total_memory * 0.95 >= {needs_bytes}  "
            "# f5lab's estimate of a 10 s call\n" if needs_bytes else "    fits = True\n")
    return ("import sys\n\nimport torch\n\n\n"
            "def pick_device():\n"
            "    \"\"\"CUDA only where this torch has kernels for the GPU and the model fits; else the CPU.\"\"\"\n"
            "    if not torch.cuda.is_available():\n"
            "        return \"cpu\"\n"
            "    major, minor = torch.cuda.get_device_capability(0)\n"
            "    codes = [(a.split(\"_\")[0], int(a.split(\"_\")[1].rstrip(\"af\"))) for a in torch.cuda.get_arch_list()]\n"
            "    kernels = any((kind == \"sm\" and c // 10 == major and c % 10 <= minor)\n"
            "                  or (kind == \"compute\" and c <= 10 * major + minor) for kind, c in codes)\n"
            + fits +
            "    if kernels and fits:\n"
            "        return \"cuda\"\n"
            "    why = \"no kernels for this GPU in this torch\" if not kernels else \"the model does not fit in its memory\"\n"
            "    print(f\"warning: running on the CPU: {torch.cuda.get_device_name(0)}: {why}\", file=sys.stderr)\n"
            "    return \"cpu\"\n\n\n")


def call_bytes(spec: Any) -> int:
    """GPU memory of one 10 s call in fp32 with the efficient attention kernel (f5lab's estimate):
    what ``pick_device`` checks; fp32 is the larger of the dtypes f5-tts picks."""
    from f5lab.hardware.memory import estimate

    return estimate(spec, 10.0, dtype="fp32", attn="efficient", device="cuda").total_bytes

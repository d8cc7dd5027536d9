"""``f5lab doctor``: the environment this runs in, and whether each target GPU runs F5-TTS under it.

No GPU needed: the torch build is read from ``torch/version.py`` and its arch list from the
published-builds table, checked against ``torch._C._cuda_getArchFlags()`` (the one place f5lab
imports torch for this; never f5-tts's models); the GPUs present come from ``nvidia-smi`` or
``torch.cuda``. Each target is judged by ``f5lab.hardware.runs.judge`` for the workload every
F5-TTS service runs: the shipped F5TTS_Base (337 M parameters) at 10 s per call, on the dtype and
attention kernel f5-tts and PyTorch pick on that card.

Two more checks concern this environment whatever ``--torch`` names: the torch/torchaudio pair (the
judged build's torchaudio: same version up to 2.11, 2.11.x after it, same build suffix) and what
inference needs beyond pip (``f5lab.hardware.codecs``: torchcodec and FFmpeg's shared libraries,
without which ``torchaudio.load`` and so ``F5TTS.infer`` fail). Exit 1 when a target does not run
or this environment's inference path would fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from f5lab.hardware.gpus import GPUS, find_gpu, get_gpu, gpu_from_device
from f5lab.hardware.runs import RunVerdict, all_run, judge
from f5lab.hardware.speed import F5TTS_BASE
from f5lab.hardware.codecs import InferenceCheck, inference_check
from f5lab.hardware.stack import (Stack, TorchBuild, builds_table, installed_stack, measured_archs, named_build,
                                  present_gpus, torchaudio_pair, with_measured)

WORKLOAD = "F5TTS_Base, 10 s per call, the dtype and attention kernel f5-tts and PyTorch pick on each card"


@dataclass
class Doctor:
    """The stack here, the build judged (the installed one or ``--torch``) and one verdict per target."""

    stack: Stack
    build: TorchBuild
    runs: list[RunVerdict]
    arch_check: str  # how the installed build's arch list was read, and whether torch agrees with the table
    inference: InferenceCheck | None = None  # torchcodec + FFmpeg: can torchaudio.load read audio here

    @property
    def targets_run(self) -> bool:
        return all_run(self.runs)

    @property
    def ok(self) -> bool:
        """Every target runs, this environment's inference path does not fail, and (judging the
        installed torch) its torchaudio pairs with it."""
        pair = self.torchaudio[0] if self.build.origin == "installed" else None
        return self.targets_run and (self.inference is None or self.inference.ok is not False) and pair is not False

    @property
    def torchaudio(self) -> tuple[bool | None, str]:
        """The installed torchaudio against the judged build (the installed one, or --torch's)."""
        return torchaudio_pair(self.build, self.stack.torchaudio)

    def to_dict(self) -> dict[str, Any]:
        ta_ok, ta_line = self.torchaudio
        return {"stack": self.stack.to_dict(), "arch_check": self.arch_check, "judged": self.build.to_dict(),
                "judged_line": self.build.describe(), "workload": WORKLOAD, "targets": [r.to_dict() for r in self.runs],
                "torchaudio": {"matches": ta_ok, "line": ta_line},
                "inference": self.inference.to_dict() if self.inference else None,
                "runs": self.targets_run, "ok": self.ok}


def _installed() -> tuple[Stack, str]:
    """The installed stack with the arch list torch itself reports, and a line saying how it compares."""
    stack = installed_stack(gpus=False)
    table = stack.torch
    try:
        archs = measured_archs() if table.kind in ("cuda", "unknown") else None
        stack.gpus = present_gpus(use_torch=table.kind != "none")
    except (ImportError, OSError) as exc:  # a torch that cannot be imported: judge what its files say
        return stack, f"importing torch failed ({type(exc).__name__}: {exc}); arch list from the table only"
    stack.torch = with_measured(table, archs)
    if table.kind not in ("cuda", "unknown"):
        check = "no CUDA arch list to check" if table.kind != "none" else "torch is not installed"
    elif not archs:
        check = "torch reports no CUDA arch list"
    elif stack.torch.source == table.source and table.known:
        src = builds_table()["sources"][table.source]
        where = f": {src['url']}" if src.get("url") else " here"
        check = f"torch._C._cuda_getArchFlags() agrees with f5lab's table (its row's source: {src['evidence']}{where})"
    else:
        check = stack.torch.note
    return stack, check


def doctor(gpus: Sequence[str] = (), torch: str | None = None, audio: bool = True) -> Doctor:
    """Judge ``gpus`` (catalogue names; default: the GPUs present, else the whole catalogue) under
    the installed torch, or under ``torch`` ("VERSION+BUILD", e.g. 2.6.0+cu124, from the table);
    ``audio``: also check what inference needs here (torchcodec, FFmpeg)."""
    named = named_build(torch) if torch else None  # a malformed --torch: one line before any probing
    cards = [get_gpu(g) for g in gpus]
    stack, check = _installed()
    build = named or stack.torch
    present = {find_gpu(p.name).name if find_gpu(p.name) else p.name: p for p in stack.gpus}
    if cards:
        targets = [(c, present[c.name].driver if c.name in present else None) for c in cards]
    elif stack.gpus:
        targets = [(gpu_from_device(p.name, p.total_bytes, p.cc), p.driver) for p in stack.gpus]
    else:
        targets = [(g, None) for g in GPUS.values()]
    return Doctor(stack=stack, build=build, arch_check=check,
                  runs=[judge(F5TTS_BASE, g, build, seconds=10.0, driver=d) for g, d in targets],
                  inference=inference_check() if audio else None)

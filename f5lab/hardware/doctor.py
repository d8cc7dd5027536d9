"""``f5lab doctor``: the environment this runs in, and whether each target GPU runs F5-TTS under it.

No GPU needed: the torch build is read from ``torch/version.py`` and its arch list from the
published-builds table, checked against ``torch._C._cuda_getArchFlags()`` (the one place f5lab
imports torch for this; never f5-tts's models); the GPUs present come from ``nvidia-smi`` or
``torch.cuda``. Each target is judged by ``f5lab.hardware.runs.judge`` for the workload every
F5-TTS service runs: the shipped F5TTS_Base (337 M parameters) at 10 s per call, on the dtype and
attention kernel f5-tts and PyTorch pick on that card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from f5lab.hardware.gpus import GPUS, find_gpu, get_gpu, gpu_from_device
from f5lab.hardware.runs import RunVerdict, all_run, judge
from f5lab.hardware.speed import F5TTS_BASE
from f5lab.hardware.stack import (Stack, TorchBuild, builds_table, installed_stack, measured_archs, named_build,
                                  present_gpus, with_measured)

WORKLOAD = "F5TTS_Base, 10 s per call, the dtype and attention kernel f5-tts and PyTorch pick on each card"


@dataclass
class Doctor:
    """The stack here, the build judged (the installed one or ``--torch``) and one verdict per target."""

    stack: Stack
    build: TorchBuild
    runs: list[RunVerdict]
    arch_check: str  # how the installed build's arch list was read, and whether torch agrees with the table

    @property
    def ok(self) -> bool:
        return all_run(self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack.to_dict(), "arch_check": self.arch_check, "judged": self.build.to_dict(),
                "judged_line": self.build.describe(), "workload": WORKLOAD, "targets": [r.to_dict() for r in self.runs],
                "runs": self.ok}


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
        check = (f"torch._C._cuda_getArchFlags() agrees with f5lab's table ({table.source}: "
                 f"{builds_table()['sources'][table.source]['evidence']})")
    else:
        check = stack.torch.note
    return stack, check


def doctor(gpus: Sequence[str] = (), torch: str | None = None) -> Doctor:
    """Judge ``gpus`` (catalogue names; default: the GPUs present, else the whole catalogue) under
    the installed torch, or under ``torch`` ("VERSION+BUILD", e.g. 2.6.0+cu124, from the table)."""
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
                  runs=[judge(F5TTS_BASE, g, build, seconds=10.0, driver=d) for g, d in targets])

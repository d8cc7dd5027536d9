"""Will it run on this GPU: one verdict from the kernels, the driver, the memory and the speed.

Every GPU verdict f5lab gives (``f5lab doctor``, ``f5lab profile``, the 03 notebook, the report's
answer card, ``load_model(device="auto")``) comes from ``judge``: a card runs a call when the torch
build has kernels for it (``f5lab.hardware.stack``), its driver is new enough for that build's CUDA
(when the driver is known) and the call fits in its memory (``f5lab.hardware.memory``); how fast comes
from ``f5lab.hardware.speed``. When it does not run, the sentence gives the reason first and the fix:

    GTX 1050 Ti: this torch (2.11.0+cu130) has no kernels for sm_61; install ... (cu126); then fp32 fits ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from f5lab.facts import DEFAULT_NFE
from f5lab.hardware.gpus import GPU, GPUS, get_gpu
from f5lab.hardware.memory import Verdict, verdicts
from f5lab.hardware.speed import SpeedEstimate, describe, gpu_rates, predict, settings_text, speed_model_error
from f5lab.hardware.stack import Fix, KernelCheck, TorchBuild, driver_check, fix_for, kernel_check, table_span
from f5lab.model.arch import ArchSpec
from f5lab.units import GIB, gib

MARKS = {True: "\u2713", False: "\u2717", None: "?"}  # the terminal's and doctor's marks
PREDICTED_MARK = "\u2022"  # runs, by prediction: no tick beside what did not run


@dataclass
class RunVerdict:
    """One card, one torch build, one call: does it run, why not, how fast, what fixes it."""

    gpu: GPU
    build: TorchBuild
    kernels: KernelCheck
    driver: KernelCheck
    memory: Verdict
    speed: SpeedEstimate | None
    fix: Fix | None
    fp16: str  # "fast", "slow" or "NaN reports"

    @property
    def runs(self) -> bool | None:
        """False when kernels, driver or memory rule it out; None when the build cannot be judged."""
        if self.kernels.ok is False or self.driver.ok is False or not self.memory.fits:
            return False
        return None if self.kernels.ok is None else True

    @property
    def reason(self) -> str | None:
        """Why it does not run (or cannot be judged), in the order a user must fix things."""
        if self.kernels.ok is False:
            kind = {"cpu": "is a CPU-only build (no CUDA kernels)", "rocm": "is a ROCm build (no NVIDIA kernels)"}
            return f"this torch ({self.build.label}) {kind.get(self.build.kind, f'has no kernels for {self.gpu.sm}')}"
        if self.kernels.ok is None:
            return self.kernels.rule
        if self.driver.ok is False:
            return self.driver.rule
        if not self.memory.fits:
            return memory_text(self.memory)
        return None

    @property
    def text(self) -> str:
        """The one line: reason and fix first when it does not run, then memory and speed, each
        marked predicted (the speed with the call it is for: NFE, dtype, lengths, batch)."""
        head = f"{self.gpu.name}: "
        fix = f"; install `{self.fix.command}` ({self.fix.build}; {self.fix.needs})" if self.fix else ""
        mem = memory_text(self.memory) + " (predicted)"
        speed = f"; predicted {describe(self.speed)} at {settings_text(self.speed.settings)}" if self.speed else ""
        if self.kernels.ok is False or self.driver.ok is False:
            none = "" if self.fix or self.kernels.ok is not False else f"; no PyTorch build from {table_span()} has them"
            return head + f"{self.reason}{none}{fix}; then {mem}{speed}"
        if self.kernels.ok is None:
            return head + f"{self.reason}; {mem}{speed}"
        mem = memory_text(self.memory, longest=True) + " (predicted)"
        if not self.memory.fits:
            first = f"; fix: {self.memory.fixes[0]}" if self.memory.fixes else ""
            return head + f"does not fit: {mem}{first}"
        note = {"fp32 speed": "; fp16 here runs at about the fp32 rate (fp32-compute GEMMs on Pascal; "
                              "tensorflow#15585, 1080 Ti / Titan Xp reports; not measured on this card)",
                "NaN reports": "; fp16 here has NaN / silent-audio reports (F5-TTS #204, #799)"}.get(self.fp16, "")
        note = note if self.memory.settings["dtype"] == "fp16" else ""
        return head + f"runs: {mem}{speed}{note}"

    @property
    def mark(self) -> bool | None:
        """The verdict's mark: no tick, since memory and speed are predicted (nothing ran on the card);
        a cross where kernels, driver or the estimate rule it out."""
        return self.evidence.mark(self.runs)

    @property
    def evidence(self) -> Any:
        """How the verdict is known: predicted (kernels from the build's arch list, then the memory
        estimate and the speed model), with both models' checked errors on a GPU."""
        from f5lab.evidence import predicted
        from f5lab.hardware.memory_verdicts import memory_model_error

        return predicted("the build's arch list (kernels), f5lab's memory estimate and speed model",
                         f"speed: {speed_model_error('cuda')}; memory: {memory_model_error('cuda')}")

    @property
    def card_text(self) -> str:
        """``text`` with the speed model's checked error on a GPU: the report's "runs on the GPU?" line."""
        if not self.speed:
            return self.text
        return f"{self.text}; speed model error: {speed_model_error('cuda')}"

    @property
    def line(self) -> str:
        return f"{PREDICTED_MARK if self.runs is True else MARKS[self.runs]} {self.text}"

    def to_dict(self) -> dict[str, Any]:
        return {"gpu": self.gpu.name, "cc": self.gpu.cc_str, "runs": self.runs, "reason": self.reason,
                "text": self.text, "evidence": self.evidence.to_dict(), "torch": self.build.label, "kernels": self.kernels.to_dict(),
                "driver": self.driver.to_dict(), "fix": self.fix.to_dict() if self.fix else None, "fp16": self.fp16,
                "attention_kernels": self.gpu.attention_backends(self.memory.settings["dtype"]),
                "memory": self.memory.to_dict(),
                "seconds_per_call": round(self.speed.seconds_per_call, 3) if self.speed else None,
                "rtf": round(self.speed.rtf, 4) if self.speed else None,
                "speed": self.speed.to_dict() if self.speed else None}


def memory_text(v: Verdict, longest: bool = False) -> str:
    """``fp32 ... fits 1.79 of 3.80 GiB for 10 s per call`` (or does not fit), with the attention kernel;
    ``longest``: also the longest call that fits and what limits it (memory or f5-tts's frame cap)."""
    s = v.settings
    fits = "fits" if v.fits else "does not fit"
    text = (f"{s['dtype']} with the {s['attn']} attention kernel {fits} {v.total_bytes / GIB:.2f} of "
            f"{gib(v.budget_bytes)} for {s['seconds']:g} s per call")
    if longest:
        text += (" (nothing fits)" if v.max_seconds <= 0 else
                 f" (up to {v.max_seconds:g} s, limited by {v.limited_by})")
    return text


def fp16_class(gpu: GPU) -> str:
    """fp16 on this card: "fast", "fp32 speed" (consumer Pascal: fp16 stored, fp32 compute; not
    measured here, ``gpus.PASCAL_FP16``), "slow" (no fast fp16 and no fp32-compute path known), or
    "NaN reports" (GTX 16xx)."""
    if gpu.name.startswith("GTX 16"):
        return "NaN reports"
    if gpu.fp16_fast:
        return "fast"
    return "fp32 speed" if gpu.fp16_pseudo else "slow"


def judge(spec: ArchSpec, gpu: str | GPU, build: TorchBuild, *, seconds: float = 10.0, dtype: str = "auto",
          attn: str = "auto", batch: int = 1, cfg: bool = True, ref_seconds: float | None = None,
          nfe: int = DEFAULT_NFE, vocoder: str = "vocos", driver: str | None = None) -> RunVerdict:
    """Whether one call of ``seconds`` runs on ``gpu`` under ``build``: kernels (SASS / PTX rule),
    driver (when ``driver`` is known), memory (``memory.verdicts``: the dtype and attention f5-tts and
    PyTorch pick there unless given), and the predicted seconds per call."""
    g = get_gpu(gpu)
    (mem,) = verdicts(spec, seconds=seconds, dtype=dtype, batch=batch, cfg=cfg, gpus=[g], attn=attn,
                      ref_seconds=ref_seconds, nfe=nfe, vocoder=vocoder)
    kernels = kernel_check(build, g.cc)
    drv = driver_check(build, driver)
    fix = fix_for(build, g.cc, driver) if kernels.ok is False or drv.ok is False else None
    speed = None
    if g.fp32_tflops and g.bandwidth_gbs:
        s = mem.settings
        speed = predict(spec, seconds, gpu_rates(g), nfe=nfe, batch=batch, cfg=cfg, dtype=s["dtype"], attn=s["attn"],
                        ref_seconds=ref_seconds, vocoder=vocoder)
    return RunVerdict(gpu=g, build=build, kernels=kernels, driver=drv, memory=mem, speed=speed, fix=fix,
                      fp16=fp16_class(g))


def judge_all(spec: ArchSpec, build: TorchBuild, gpus: Iterable[str | GPU] | None = None,
              drivers: Sequence[str | None] | None = None, **settings: Any) -> list[RunVerdict]:
    """``judge`` for each card (default: the whole catalogue), with each card's driver when known."""
    cards = [get_gpu(g) for g in (gpus if gpus is not None else GPUS.values())]
    drivers = list(drivers) if drivers is not None else [None] * len(cards)
    return [judge(spec, g, build, driver=d, **settings) for g, d in zip(cards, drivers)]


def all_run(found: Sequence[RunVerdict]) -> bool:
    """The exit-code rule: True only when every target runs (an unjudgeable one does not count)."""
    return bool(found) and all(v.runs is True for v in found)


class DeviceFallbackWarning(UserWarning):
    """``device="auto"`` chose the CPU: the one line says why and how long a call will take there."""


def auto_device(spec: ArchSpec, dtype: str | None = None, seconds: float = 10.0) -> tuple[str, str | None]:
    """("cuda", None) where this torch has kernels for GPU 0, its driver suits it and a call of
    ``seconds`` fits; else ("cpu", the one-line reason with the predicted seconds per call here).
    Imports torch: the caller is loading a model anyway."""
    import torch

    from f5lab.hardware.gpus import gpu_from_device
    from f5lab.hardware.speed import calibrate_cpu, cpu_rates, fmt_seconds
    from f5lab.hardware.stack import installed_build, measured_archs, present_gpus, with_measured

    build = with_measured(installed_build(), measured_archs())
    if not torch.cuda.is_available():
        why = f"this torch ({build.label}) sees no CUDA GPU"
    else:
        p = torch.cuda.get_device_properties(0)
        drivers = [g.driver for g in present_gpus()]
        v = judge(spec, gpu_from_device(p.name, p.total_memory, (p.major, p.minor)), build, seconds=seconds,
                  dtype=dtype or "fp32", driver=drivers[0] if drivers else None)
        if v.runs is True:
            return "cuda", None
        why = f"{p.name}: {v.reason}"
    est = predict(spec, seconds, cpu_rates(calibrate_cpu(dim=spec.dim, budget_s=0.05)), dtype=dtype or "fp32",
                  attn="flash")
    from f5lab.hardware.speed import CPU_CHECK

    return "cpu", (f"running on the CPU: {why}; predicted ~{fmt_seconds(est.seconds_per_call)} per "
                   f"{seconds:g} s call here (RTF {est.rtf:.2g}; the speed model landed "
                   f"{100 * (CPU_CHECK['low'] - 1):+.0f}% to {100 * (CPU_CHECK['high'] - 1):+.0f}% from real CPU calls)")

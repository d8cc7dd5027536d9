"""Does one call fit on a GPU: the usable budget, the longest call that fits, what to change.

For each card of the catalogue (``f5lab.hardware.gpus``): the settings f5-tts and PyTorch pick
there (``verdict_settings``), the card's memory less a fragmentation reserve (``budget``), the
longest generated audio whose estimate fits (``max_seconds``, capped at f5-tts's frame cap), the
single changes that would make a call fit (``_fixes``) and the card's caveats. Apart because it
judges the estimate against hardware; the estimate itself knows no card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from f5lab.errors import ConfigError
from f5lab.facts import DEFAULT_NFE, FRAME_CAP, FRAMES_PER_SECOND
from f5lab.hardware.gpus import GPU, GPUS, get_gpu
from f5lab.hardware.memory_estimate import ATTN_PATHS, DTYPE_BYTES, estimate
from f5lab.model.arch import ArchSpec
from f5lab.units import gib

FRAGMENTATION_RESERVE = 0.05  # of the card: caching-allocator slack (reserved > allocated)
# the estimate's activation peak against the torch profiler's on a CPU: benchmarks/bench_memory.py, full-scale
# F5TTS_Base, fp32, CFG on, one ODE step at 5, 10, 20 s (math) and 10 s (flash); benchmarks/results/memory_cpu.json
MEMORY_CPU_CHECK = {"low": 0.0019, "high": 0.0174,
                    "against": "the torch profiler's activation peak of 4 real CFM.sample steps of full-scale "
                               "F5TTS_Base on a CPU (5-20 s, fp32, math and flash attention; "
                               "benchmarks/bench_memory.py)"}


def memory_model_error(device: str) -> str:
    """How far the memory estimate is known to land on ``device`` ("cpu", or "cuda" / a GPU)."""
    c = MEMORY_CPU_CHECK
    cpu = f"{100 * c['low']:+.1f}% to {100 * c['high']:+.1f}% against {c['against']}"
    if device == "cpu":
        return cpu
    return ("unmeasured on a GPU until a GPU run checks it (benchmarks/bench_gpu.py: the CUDA context, the "
            f"allocator's slack and the GPU attention kernels are modelled, not measured); on a CPU {cpu}")


def memory_model_evidence(device: str) -> Any:
    """The label of a predicted memory figure on ``device`` (``f5lab.evidence.Evidence``)."""
    from f5lab.evidence import predicted

    return predicted("f5lab's memory estimate (f5-tts's tensors, summed from the checkpoint's shapes)",
                     memory_model_error(device))


# -- verdicts: does it fit, how long, with which settings -----------------------------------------
@dataclass
class Verdict:
    """One GPU against one set of settings: fits or not, the longest audio that fits, what to change."""

    gpu: GPU
    settings: dict[str, Any]
    total_bytes: int
    budget_bytes: int  # the card's memory less the fragmentation reserve
    fits: bool
    max_seconds: float  # longest generated audio per call (beside the reference) that fits; 0.0: none
    fixes: list[str]
    caveats: list[str]

    @property
    def limited_by(self) -> str:
        """What stops a longer call: "memory", or f5-tts's frame cap where memory would allow more."""
        cap = math.floor(frame_cap_seconds(self.settings.get("ref_seconds")) * 10) / 10
        return FRAME_CAP_LABEL if self.max_seconds > 0 and self.max_seconds >= cap else "memory"

    def to_dict(self) -> dict[str, Any]:
        return {"gpu": self.gpu.name, "memory_bytes": self.gpu.total_bytes, "cc": self.gpu.cc_str,
                "settings": self.settings, "total_bytes": self.total_bytes, "budget_bytes": self.budget_bytes,
                "fits": self.fits, "max_seconds": self.max_seconds, "limited_by": self.limited_by,
                "fixes": self.fixes, "caveats": self.caveats}


FRAME_CAP_LABEL = f"f5-tts's {FRAME_CAP}-frame cap"


def frame_cap_seconds(ref_seconds: float | None = None) -> float:
    """Longest generated audio f5-tts accepts in one call beside ``ref_seconds`` of reference
    (its text position table has 8192 frames), whatever the memory."""
    return FRAME_CAP / FRAMES_PER_SECOND - (ref_seconds or 0.0)


def verdict_settings(gpu: GPU, dtype: str = "auto", attn: str = "auto", *, batch: int = 1, cfg: bool = True,
                     ref_seconds: float | None = None, nfe: int = DEFAULT_NFE, vocoder: str = "vocos") -> dict[str, Any]:
    """The ``estimate`` settings of a call on ``gpu``: ``auto`` dtype and attention resolved to what
    f5-tts and PyTorch pick there. The verdicts and the figure both size calls with these."""
    dt = gpu.f5_tts_default_dtype if dtype == "auto" else dtype
    return dict(batch=batch, cfg=cfg, dtype=dt, attn=resolve_attn(attn, gpu, dt), ref_seconds=ref_seconds, nfe=nfe,
                vocoder=vocoder, device="cuda")


def resolve_attn(attn: str, gpu: GPU, dtype: str) -> str:
    """``auto`` is what PyTorch's SDPA dispatch picks on this card for ``dtype``."""
    if attn == "auto":
        return gpu.attention_backends(dtype)[0]
    return attn


def budget(gpu: GPU) -> int:
    return int(gpu.total_bytes * (1 - FRAGMENTATION_RESERVE))


def max_seconds(spec: ArchSpec, limit_bytes: int, **settings: Any) -> float:
    """Longest generated audio (0.1 s steps) whose estimate stays within ``limit_bytes``; 0.0 if none.
    Capped where f5-tts itself stops: 8192 frames (text position table) including the reference."""
    ref = settings.get("ref_seconds") or 0.0
    hi = FRAME_CAP / FRAMES_PER_SECOND - ref
    if hi <= 0 or estimate(spec, 0.1, **settings).total_bytes > limit_bytes:
        return 0.0
    if estimate(spec, hi, **settings).total_bytes <= limit_bytes:
        return round(math.floor(hi * 10) / 10, 1)
    lo, hi_t = 1, int(hi * 10)  # tenths of a second
    while lo < hi_t:
        mid = (lo + hi_t + 1) // 2
        if estimate(spec, mid / 10, **settings).total_bytes <= limit_bytes:
            lo = mid
        else:
            hi_t = mid - 1
    return lo / 10


def verdicts(spec: ArchSpec, *, seconds: float = 10.0, dtype: str = "fp16", batch: int = 1, cfg: bool = True,
             gpus: Iterable[str | GPU] | None = None, attn: str = "auto", ref_seconds: float | None = None,
             nfe: int = DEFAULT_NFE, vocoder: str = "vocos") -> list[Verdict]:
    """For each GPU (default: the whole catalogue): does one call of ``seconds`` fit, the longest
    that fits, the settings that would make it fit, and the caveats for this card and dtype.

    ``attn="auto"`` means what PyTorch picks by itself there (flash on cc >= 8 with fp16/bf16,
    memory-efficient from cc 5.0, math otherwise); pass "math" for the worst case.
    ``dtype="auto"`` is what f5-tts picks by itself on each card (fp16 from cc 7.0, else fp32).
    """
    if dtype != "auto" and dtype not in DTYPE_BYTES:
        raise ConfigError(f"unknown dtype {dtype!r}; use auto or one of {', '.join(DTYPE_BYTES)}")
    cards = [get_gpu(g) for g in (gpus if gpus is not None else GPUS.values())]
    if attn != "auto" and attn not in ATTN_PATHS:
        raise ConfigError(f"unknown attention path {attn!r}; use auto or one of {', '.join(ATTN_PATHS)}")
    out = []
    for gpu in cards:
        kw = verdict_settings(gpu, dtype, attn, batch=batch, cfg=cfg, ref_seconds=ref_seconds, nfe=nfe,
                              vocoder=vocoder)
        dt, path = kw["dtype"], kw["attn"]
        est = estimate(spec, seconds, **kw)
        limit = budget(gpu)
        fits = est.total_bytes <= limit
        longest = max_seconds(spec, limit, **kw)
        out.append(Verdict(gpu=gpu, settings={"seconds": seconds, **kw}, total_bytes=est.total_bytes,
                           budget_bytes=limit, fits=fits, max_seconds=longest,
                           fixes=[] if fits else _fixes(spec, gpu, seconds, kw, longest, forced=attn != "auto"),
                           caveats=_caveats(gpu, dt, path, attn)))
    return out


def _fixes(spec: ArchSpec, gpu: GPU, seconds: float, kw: dict[str, Any], longest: float,
           forced: bool = False) -> list[str]:
    """Single changes that make the call fit, cheapest for quality first. One change at a time: with
    the attention path ``forced`` (``--attn``), another dtype keeps that path."""
    limit, out = budget(gpu), []

    def fits_with(**change: Any) -> float:
        return max_seconds(spec, limit, **{**kw, **change})

    if kw["attn"] == "math":
        better = [p for p in gpu.attention_backends(kw["dtype"]) if p != "math"]
        if better and (s := fits_with(attn=better[0])) >= seconds:
            out.append(f"attention: let SDPA use its {better[0]} kernel (do not force math): fits up to {s:g} s")
    if kw["dtype"] == "fp32":
        for dt in ("fp16", "bf16"):
            if dt == "bf16" and not gpu.bf16_native:
                continue
            path = kw["attn"] if forced else resolve_attn("auto", gpu, dt)
            if (s := fits_with(dtype=dt, attn=path)) >= seconds:
                slow = "" if gpu.fp16_fast or dt != "fp16" else (
                    " (about fp32 speed here: fp32 compute; not measured on this card)" if gpu.fp16_pseudo
                    else " (memory only: fp16 is slow on this card)")
                out.append(f"dtype {dt}: fits up to {s:g} s{slow}")
                break
    if kw["batch"] > 1 and (s := fits_with(batch=1)) >= seconds:
        out.append(f"batch 1: fits up to {s:g} s")
    if longest > 0:
        ref = kw.get("ref_seconds") or 0.0
        out.append(f"chunk the text: keep each generated chunk <= {longest:g} s"
                   + (f" (reference {ref:g} s + chunk <= {ref + longest:g} s)" if ref else "")
                   + "; f5-tts infer_process chunks by characters, aiming at ~22 s per call with its reference")
    if kw["cfg"] and (s := fits_with(cfg=False)) >= seconds:
        out.append(f"no CFG (cfg_strength=0): fits up to {s:g} s, at a clear cost in quality")
    if not out:
        need = estimate(spec, 0.1, **kw).resident_bytes
        out.append(f"nothing fits: weights, vocoder and CUDA context alone take {gib(need)} "
                   f"of {gib(limit)} usable")
    return out


def _caveats(gpu: GPU, dtype: str, path: str, asked: str) -> list[str]:
    out = []
    if gpu.fp16_pseudo and dtype == "fp16":
        out.append(f"Pascal (cc {gpu.cc_str}): its native fp16 units run at 1/64 of fp32 (spec sheet), but "
                   "PyTorch stores fp16 and computes in fp32 here, so expect about fp32 speed and half the weight "
                   "memory (tensorflow#15585; GTX 1080 / 1080 Ti / Titan Xp reports; not measured on this card); "
                   "f5-tts itself loads fp32 on cc < 7")
    if gpu.name.startswith("GTX 16") and dtype == "fp16":
        out.append("GTX 16xx: f5-tts picks fp16 here by itself, and users report NaN / empty audio with it "
                   "(F5-TTS #204, #799); force fp32 if the output is silent")
    if dtype == "bf16" and not gpu.bf16_native:
        out.append(f"bf16 is not native before cc 8.0 (this card: {gpu.cc_str}); it is emulated and slow")
    if path == "math" and asked == "math" and "math" != gpu.attention_backends(dtype)[0]:
        out.append(f"math attention forced: PyTorch would pick {gpu.attention_backends(dtype)[0]} here, "
                   "which never holds the heads x N x N scores")
    if gpu.total_mib <= 6144:
        out.append("a desktop display on the same card takes 0.2-0.5 GB more than estimated")
    return out

"""What each setting a service sets costs on one GPU: peak memory and time per call against the default.

The knobs are the ones f5-tts services turn to "save VRAM": NFE, dtype, seconds per chunk, batch,
CFG and the attention kernel. Each row changes one of them and sizes the call with the same
``memory.estimate`` and ``speed.predict`` the verdicts use, so the user's "NFE 16 to save VRAM"
reads "memory about ±0, time -50%": NFE only changes the stored ODE trajectory (a few MB) and the
number of steps.
"""

from __future__ import annotations

from typing import Any

from f5lab.facts import DEFAULT_NFE
from f5lab.hardware.gpus import GPU, get_gpu
from f5lab.hardware.memory import estimate, resolve_attn, verdict_settings
from f5lab.hardware.speed import fmt_seconds, gpu_rates, predict
from f5lab.model.arch import ArchSpec
from f5lab.units import MIB, gib, mib

SAME_MEMORY_BYTES = 16 * MIB  # below this a change is "about ±0" on a GPU's scale


def _changes(gpu: GPU, kw: dict[str, Any], seconds: float) -> list[tuple[str, str, dict[str, Any], str]]:
    """(knob, new value, the change, a note) for each knob, from the default settings ``kw``."""
    out = []
    if kw["nfe"] >= 2:
        out.append(("NFE", f"{kw['nfe'] // 2}", {"nfe": kw["nfe"] // 2},
                    "fewer ODE steps (f5-tts defaults to 32; the paper's speed figure used 16)"))
    other = "fp16" if kw["dtype"] == "fp32" else "fp32"
    note = {"fp16": (f"fp16 stored, fp32 compute on {gpu.arch.split()[-1]}: about fp32 speed (tensorflow#15585; "
                     "1080 Ti / Titan Xp reports; not measured on this card)") if gpu.fp16_pseudo else
            f"no fast fp16 on {gpu.arch.split()[-1]}" if not gpu.fp16_fast else
            ("NaN / silent-audio reports on GTX 16xx (F5-TTS #204, #799)" if gpu.name.startswith("GTX 16") else
             "halves weights and activations"), "fp32": "f5-tts's pick below compute capability 7"}[other]
    out.append(("dtype", other,
                {"dtype": other, "attn": resolve_attn("auto", gpu, other) if kw["attn_auto"] else kw["attn"]}, note))
    out.append(("seconds per chunk", f"{seconds / 2:g} s", {"seconds": seconds / 2},
                "per call; the same text then takes twice the calls"))
    out.append(("batch", f"{kw['batch'] * 2}", {"batch": kw["batch"] * 2},
                f"{kw['batch'] * 2} texts per call"))
    if kw["cfg"]:
        out.append(("CFG", "off", {"cfg": False}, "cfg_strength=0: one pass per step instead of two; a "
                    "clear cost in quality"))
    alt = "math" if kw["attn"] != "math" else next((p for p in gpu.attention_backends(kw["dtype"]) if p != "math"), None)
    if alt:
        why = "materialises heads x N x N scores" if alt == "math" else "never holds the N x N scores"
        out.append(("attention kernel", alt, {"attn": alt}, why))
    return out


def _size(spec: ArchSpec, gpu: GPU, seconds: float, kw: dict[str, Any]) -> tuple[int, float | None]:
    call = {k: v for k, v in kw.items() if k not in ("attn_auto", "device")}
    mem = estimate(spec, seconds, **call, device="cuda").total_bytes
    if not (gpu.fp32_tflops and gpu.bandwidth_gbs):
        return mem, None
    timed = {k: v for k, v in call.items() if k != "device"}
    return mem, predict(spec, seconds, gpu_rates(gpu), **timed).seconds_per_call


def delta_memory(new: int, old: int) -> str:
    d = new - old
    if abs(d) < SAME_MEMORY_BYTES:
        return f"about \u00b10 ({mib(d, signed=True)})"
    return gib(d, signed=True)


def delta_time(new: float | None, old: float | None) -> str:
    if new is None or not old:
        return "unknown"
    r = new / old
    return f"x{r:.2g}" if r >= 1.995 else f"{100 * (r - 1):+.0f}%"


def knob_table(spec: ArchSpec, gpu: str | GPU, *, seconds: float = 10.0, dtype: str = "auto", attn: str = "auto",
               batch: int = 1, cfg: bool = True, nfe: int = DEFAULT_NFE, ref_seconds: float | None = None,
               vocoder: str = "vocos") -> list[dict[str, Any]]:
    """One row per knob: its new value, peak memory and time per call, each against the default row
    (the settings given, ``auto`` resolved to what f5-tts and PyTorch pick on ``gpu``)."""
    g = get_gpu(gpu)
    kw = verdict_settings(g, dtype, attn, batch=batch, cfg=cfg, ref_seconds=ref_seconds, nfe=nfe, vocoder=vocoder)
    kw["attn_auto"] = attn == "auto"
    base_mem, base_t = _size(spec, g, seconds, kw)
    rows = [{"knob": "default", "setting": f"NFE {nfe}, {kw['dtype']}, {seconds:g} s, batch {batch}, "
             f"CFG {'on' if cfg else 'off'}, {kw['attn']}", "peak memory": base_mem, "memory": "-",
             "time per call": base_t, "time": "-", "note": f"on {g.name}"}]
    for knob, value, change, note in _changes(g, kw, seconds):
        secs = change.pop("seconds", seconds)
        mem, t = _size(spec, g, secs, {**kw, **change})
        rows.append({"knob": knob, "setting": value, "peak memory": mem, "memory": delta_memory(mem, base_mem),
                     "time per call": t, "time": delta_time(t, base_t), "note": note})
    return rows


def knob_rows_for_display(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The table as text: GiB and seconds formatted, deltas as they are."""
    return [{"knob": r["knob"], "setting": r["setting"], "peak memory": gib(r["peak memory"]),
             "memory vs default": r["memory"], "time per call": "unknown" if r["time per call"] is None else
             f"~{fmt_seconds(r['time per call'])}", "time vs default": r["time"], "note": r["note"]} for r in rows]

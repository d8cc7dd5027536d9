"""Estimated peak memory against audio seconds, as JSON-ready data and as figures.

``sweep`` (every dtype against the catalogue's cards) and ``gpu_curve``/``gpu_curves`` (one card,
on the settings, budget and longest call its verdict uses, so figure and verdict agree), drawn
by ``plot_sweep`` and ``plot_gpu_curves`` with matplotlib's Agg ``Figure`` (never pyplot) and
saved whole through ``f5lab.outputs`` (``save_png``). Apart because it presents the estimate and
the verdicts: no other part of the memory model depends on it, and matplotlib is imported only
when drawing.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from f5lab.facts import DEFAULT_NFE
from f5lab.hardware.gpus import GPU, GPUS, get_gpu
from f5lab.hardware.memory_estimate import estimate
from f5lab.hardware.memory_verdicts import (FRAGMENTATION_RESERVE, FRAME_CAP_LABEL, budget, frame_cap_seconds,
                                            max_seconds, verdict_settings)
from f5lab.model.arch import ArchSpec
from f5lab.units import GIB, gib


# -- sweep and plot ----------------------------------------------------------------------------------
def sweep(spec: ArchSpec, dtypes: Sequence[str] = ("fp32", "fp16"), seconds: Iterable[float] | None = None, *,
          batch: int = 1, cfg: bool = True, attn: str = "math", ref_seconds: float | None = None,
          nfe: int = DEFAULT_NFE, vocoder: str = "vocos", gpus: Iterable[str | GPU] | None = None) -> dict[str, Any]:
    """Estimated peak (total, on CUDA) against audio seconds for each dtype, with GPU limits:
    the data behind the "peak memory vs seconds" plot, JSON-ready."""
    secs = [float(s) for s in (seconds if seconds is not None else range(1, 61))]
    series = {dt: [estimate(spec, s, batch=batch, cfg=cfg, dtype=dt, attn=attn, ref_seconds=ref_seconds, nfe=nfe,
                            vocoder=vocoder, device="cuda").total_bytes for s in secs] for dt in dtypes}
    cards = [get_gpu(g) for g in (gpus if gpus is not None else GPUS.values())]
    return {"seconds": secs, "series": series, "unit": "bytes",
            "settings": dict(batch=batch, cfg=cfg, attn=attn, ref_seconds=ref_seconds or 0.0, nfe=nfe, vocoder=vocoder),
            "gpus": {g.name: g.total_bytes for g in cards}}


def gpu_curve(spec: ArchSpec, gpu: str | GPU, *, dtype: str = "auto", attn: str = "auto",
              seconds: Iterable[float] | None = None, **opts: Any) -> dict[str, Any]:
    """Estimated peak against audio seconds for one card, on the dtype and attention path it
    uses (``verdict_settings``), with its usable budget, f5-tts's frame cap and the longest call
    that fits: the same settings, budget and ``max_seconds`` as ``verdicts``, so the figure and
    the verdict agree by construction. The grid runs to the frame cap and includes the longest
    call and the next tenth of a second, where the curve crosses the budget. JSON-ready."""
    g = get_gpu(gpu)
    kw = verdict_settings(g, dtype, attn, **opts)
    limit = budget(g)
    longest = max_seconds(spec, limit, **kw)
    cap = frame_cap_seconds(kw["ref_seconds"])
    grid = {float(s) for s in (seconds if seconds is not None else range(2, int(cap) + 1, 2)) if 0 < s <= cap}
    grid |= {x for x in (longest, round(longest + 0.1, 1), math.floor(cap * 10) / 10) if 0 < x <= cap}
    xs = sorted(grid)
    return {"gpu": g.name, "settings": kw, "seconds": xs,
            "bytes": [estimate(spec, x, **kw).total_bytes for x in xs], "unit": "bytes",
            "memory_bytes": g.total_bytes, "budget_bytes": limit, "max_seconds": longest,
            "frame_cap_seconds": round(cap, 2),
            "limited_by": FRAME_CAP_LABEL if longest >= math.floor(cap * 10) / 10 else "memory",
            "forced": attn != "auto"}


def gpu_curves(spec: ArchSpec, gpu: str | GPU, dtypes: Sequence[str] = ("fp32", "fp16"), **opts: Any) -> list[dict]:
    """For each dtype: the attention path the card uses, and the math path too when that differs
    (what a forced math kernel, or a PyTorch build without the efficient one, would need)."""
    g = get_gpu(gpu)
    out = []
    for dt in dtypes:
        out.append(gpu_curve(spec, g, dtype=dt, **opts))
        if out[-1]["settings"]["attn"] != "math":
            out.append(gpu_curve(spec, g, dtype=dt, attn="math", **opts))
    return out


def plot_gpu_curves(curves: Sequence[dict], path: str | None = None, force: bool = False) -> Any:
    """The figure of ``gpu_curves`` for one card: each curve labelled with its dtype and attention
    kernel (math dashed, marked "if forced" where the card would use another), the usable budget
    line the verdicts use, f5-tts's frame cap, and the longest call of each curve marked.
    A ``matplotlib.figure.Figure`` rendered by Agg (no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.4))
    ax = fig.add_subplot()
    colours = {"fp32": "#1f77b4", "fp16": "#ff7f0e", "bf16": "#2ca02c"}
    for c in curves:
        s = c["settings"]
        label = f"{s['dtype']}, {s['attn']} attention" + (" (if forced)" if c["forced"] else "")
        label += f": up to {c['max_seconds']:g} s" + (" (frame cap)" if c["limited_by"] != "memory" else "")
        ax.plot(c["seconds"], [y / GIB for y in c["bytes"]], ls="--" if c["forced"] else "-",
                color=colours.get(s["dtype"], None), lw=1.2 if c["forced"] else 2, label=label)
        if 0 < c["max_seconds"] and c["limited_by"] == "memory":
            i = c["seconds"].index(c["max_seconds"])
            ax.plot([c["max_seconds"]], [c["bytes"][i] / GIB], "o", color=colours.get(s["dtype"], "k"))
    first = curves[0]
    ax.axhline(first["budget_bytes"] / GIB, color="red", lw=1.5)
    ax.annotate(f"{first['gpu']}: {gib(first['budget_bytes'])} usable "
                f"({gib(first['memory_bytes'])} less {FRAGMENTATION_RESERVE:.0%} reserve)",
                (0.01, first["budget_bytes"] / GIB), xycoords=("axes fraction", "data"), xytext=(2, 3),
                textcoords="offset points", fontsize=8, color="red")
    ax.axvline(first["frame_cap_seconds"], color="dimgrey", ls=":", lw=1.2)
    ax.annotate(f"{FRAME_CAP_LABEL}\n({first['frame_cap_seconds']:.1f} s)", (first["frame_cap_seconds"], 0.02),
                xycoords=("data", "axes fraction"), xytext=(-3, 0), textcoords="offset points", fontsize=8,
                color="dimgrey", ha="right")
    s = first["settings"]
    ax.set_xlabel("generated audio per call (s)" + (f", + {s['ref_seconds']:g} s reference" if s["ref_seconds"] else ""))
    ax.set_ylabel("estimated peak GPU memory (GiB)")
    ax.set_title(f"{first['gpu']}: batch {s['batch']}, CFG {'on' if s['cfg'] else 'off'}, NFE {s['nfe']}, "
                 f"vocoder {s['vocoder']}", fontsize=10)
    ax.set_ylim(0, max(first["budget_bytes"] / GIB * 1.6, min(max(max(c["bytes"]) for c in curves) / GIB,
                                                               first["budget_bytes"] / GIB * 3)))
    ax.legend(loc="upper left", bbox_to_anchor=(0, 0.93), fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if path:
        save_png(fig, path, force=force)
    return fig


def plot_sweep(data: dict[str, Any], gpus: Sequence[str] | None = ("GTX 1050 Ti", "RTX 2060", "RTX 3060", "T4"),
               highlight: str | None = "GTX 1050 Ti", path: str | None = None, force: bool = False) -> Any:
    """A matplotlib Figure (Agg) of ``sweep`` data: GiB vs seconds per dtype, GPU memory as
    horizontal lines, ``highlight`` drawn bold red; saved as PNG (no metadata) when ``path``.

    Built with ``matplotlib.figure.Figure`` (rendered by Agg), never pyplot: no global backend
    switch, no figure left open, so it is safe in notebooks and headless runs alike."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    for dt, ys in data["series"].items():
        ax.plot(data["seconds"], [y / GIB for y in ys], marker=".", label=f"{dt} ({data['settings']['attn']})")
    names = list(gpus) if gpus is not None else list(data["gpus"])
    if highlight and highlight not in names:
        names.append(highlight)
    for name in names:
        gpu = get_gpu(name)
        limit = data["gpus"].get(gpu.name, gpu.total_bytes) / GIB
        bold = highlight is not None and gpu.name == get_gpu(highlight).name
        ax.axhline(limit, color="red" if bold else "grey", lw=2 if bold else 0.8, ls="-" if bold else "--")
        ax.annotate(gpu.name, (data["seconds"][0], limit), xytext=(2, 2), textcoords="offset points",
                    fontsize=8, color="red" if bold else "dimgrey")
    s = data["settings"]
    ax.set_xlabel("generated audio per call (s)" + (f", + {s['ref_seconds']:g} s reference" if s["ref_seconds"] else ""))
    ax.set_ylabel("estimated peak GPU memory (GiB)")
    ax.set_title(f"batch {s['batch']}, CFG {'on' if s['cfg'] else 'off'}, NFE {s['nfe']}, vocoder {s['vocoder']}")
    ax.legend(loc="lower right")  # GPU labels sit at the left end of their lines
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if path:
        save_png(fig, path, force=force)
    return fig


def save_png(fig: Any, path: str | os.PathLike, force: bool = False) -> Path:
    """A figure as PNG (no software stamp) through f5lab.outputs: whole or not at all."""
    from f5lab.figures import save_png as save

    return save(fig, path, dpi=100, force=force)

"""``f5lab profile``: will one call of a checkpoint run on each GPU, how fast, and what each knob costs.

From the checkpoint's shapes alone (no weights loaded, no torch import): the memory verdicts
(``f5lab.hardware.memory``), the kernels of the torch build installed here or named with
``--torch`` (``f5lab.hardware.stack``, read from ``torch/version.py`` and the published-builds
table), the predicted seconds per call (``f5lab.hardware.speed``), all judged by one function
(``f5lab.hardware.runs.judge``), and the knob table of the first GPU (``f5lab.hardware.knobs``).
``measure_on`` loads the weights and runs real calls to compare memory and, on the CPU, time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from f5lab.facts import DEFAULT_NFE
from f5lab.hardware.gpus import get_gpu
from f5lab.hardware.knobs import knob_table
from f5lab.hardware.memory import (MemoryEstimate, compare, estimate, gpu_curves, measure, plot_gpu_curves,
                                   sweep)
from f5lab.hardware.memory_measure import _load
from f5lab.hardware.runs import RunVerdict, judge_all
from f5lab.hardware.stack import Stack, stack_for


@dataclass
class Profile:
    """What ``f5lab profile`` answers: the run verdict per GPU (memory inside), the first GPU's
    estimate and knob table, and on request the sweep, the figure's curves and real measurements."""

    path: str
    stack: Stack
    runs: list[RunVerdict]
    estimate: MemoryEstimate
    knobs: list[dict[str, Any]]
    sweep: dict[str, Any] | None = None
    curves: list[dict] | None = None
    measurement: Any = None
    comparison: dict[str, Any] | None = None
    speed_check: dict[str, Any] | None = None

    @property
    def verdicts(self) -> list[Any]:
        """The memory verdicts inside the run verdicts."""
        return [r.memory for r in self.runs]

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for r in self.runs:
            d = r.to_dict()
            rows.append({**d.pop("memory"), **d})  # one row per target: the memory fields beside runs, speed
        out: dict[str, Any] = {"path": self.path, "stack": self.stack.to_dict(), "verdicts": rows,
                               "estimate": self.estimate.to_dict(), "knobs": self.knobs}
        for key in ("sweep", "curves", "comparison", "speed_check"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.measurement is not None:
            out["measurement"] = self.measurement.to_dict()
        return out


def profile(path: str, *, gpus: Sequence[str] = (), dtype: str = "auto", seconds: float = 10.0,
            ref_seconds: float = 0.0, batch: int = 1, cfg: bool = True, attn: str = "auto", nfe: int = DEFAULT_NFE,
            vocoder: str = "vocos", with_sweep: bool = False, plot: str | None = None,
            measure_on: str | None = None, config: str | None = None, torch: str | None = None,
            force: bool = False) -> Profile:
    """Judge one call of ``path`` on each GPU (the whole catalogue when ``gpus`` is empty) under the
    installed torch (or ``torch``, e.g. "2.6.0+cu124"); ``with_sweep``: peak vs 5-60 s; ``plot``: the
    first GPU's figure; ``measure_on`` ("cpu"/"cuda"): load the weights, run one real call and compare
    its memory with the estimate, and on the CPU its sampling time with the prediction."""
    from f5lab.model.inspection import inspect_checkpoint

    stack = stack_for(torch)
    spec = inspect_checkpoint(path).spec
    cards = [get_gpu(g) for g in gpus] if gpus else None
    ref = ref_seconds or None
    opts = dict(batch=batch, cfg=cfg, ref_seconds=ref, nfe=nfe, vocoder=vocoder)
    found = judge_all(spec, stack.torch, cards, seconds=seconds, dtype=dtype, attn=attn, **opts)
    first = found[0].memory.settings
    prof = Profile(path, stack, found, estimate(spec, seconds, dtype=first["dtype"], attn=first["attn"], **opts),
                   knob_table(spec, found[0].gpu, seconds=seconds, dtype=dtype, attn=attn, **opts))
    if with_sweep or plot:
        prof.sweep = sweep(spec, seconds=range(5, 65, 5), attn="math" if attn == "auto" else attn, gpus=cards, **opts)
    if plot:
        card = cards[0] if cards else get_gpu("GTX 1050 Ti")
        prof.curves = gpu_curves(spec, card, dtypes=("fp32", "fp16") if dtype == "auto" else (dtype,), **opts)
        plot_gpu_curves(prof.curves, path=plot, force=force)
    if measure_on:
        _measure(prof, spec, path, measure_on, config, first, seconds, opts)
    return prof


def _measure(prof: Profile, spec: Any, path: str, device: str, config: str | None, first: dict[str, Any],
             seconds: float, opts: dict[str, Any]) -> None:
    """One real call for memory (the profiler on the CPU), and on the CPU a second, timed one."""
    kernel = first["attn"] if device == "cuda" else ("math" if first["attn"] == "math" else "flash")
    model = _load(path, config, device, first["dtype"])
    prof.measurement = measure(model, seconds, device=device, dtype=first["dtype"], cfg=opts["cfg"],
                               batch=opts["batch"], nfe=opts["nfe"], ref_seconds=opts["ref_seconds"], attn=kernel)
    local = estimate(spec, seconds, dtype=first["dtype"], attn=prof.measurement.settings["attn"], device=device, **opts)
    prof.comparison = compare(local, prof.measurement)
    if device == "cpu":
        from f5lab.hardware.speed import check_cpu

        prof.speed_check = check_cpu(model, spec, seconds, nfe=opts["nfe"], cfg=opts["cfg"], batch=opts["batch"],
                                     ref_seconds=opts["ref_seconds"], dtype=first["dtype"])

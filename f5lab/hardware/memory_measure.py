"""One real f5-tts ``CFM.sample`` call's memory, measured on a device, beside the estimate.

On CPU the torch profiler's allocation events (and the RSS, sampled in a thread); on CUDA the
allocator's peak. ``compare`` puts a measurement beside ``memory_estimate.estimate``. Apart
because it is the only part of the memory model that imports torch (inside its functions, so
importing this module stays cheap) and loads a checkpoint.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from f5lab.facts import DEFAULT_CFG, DEFAULT_NFE, FRAMES_PER_SECOND
from f5lab.hardware.memory_estimate import CHARS_PER_SECOND, MemoryEstimate, _check, _heads, frames_for


# -- measurement ---------------------------------------------------------------------------------
@dataclass
class Measurement:
    """What one real ``CFM.sample`` call allocated on a device.

    ``activation_peak_bytes`` is the comparable number: on CPU the torch profiler's
    allocation events summed in time order (weights are loaded before profiling, so they
    never appear); on CUDA ``max_memory_allocated`` minus what was allocated before the call.
    """

    device: str
    settings: dict[str, Any]
    frames: int
    weights_bytes: int  # parameters + buffers as loaded
    activation_peak_bytes: int
    rss_peak_delta_bytes: int | None = None  # CPU: peak RSS during the call minus RSS before
    rss_max_bytes: int | None = None  # CPU: ru_maxrss of the process so far
    cuda_max_allocated_bytes: int | None = None
    cuda_max_reserved_bytes: int | None = None
    cuda_total_bytes: int | None = None
    device_name: str | None = None
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sdpa_backends(attn: str) -> list[Any]:
    from torch.nn.attention import SDPBackend

    return {"math": [SDPBackend.MATH], "flash": [SDPBackend.FLASH_ATTENTION],
            "efficient": [SDPBackend.EFFICIENT_ATTENTION, SDPBackend.FLASH_ATTENTION]}[attn]


def _load(path_or_model: Any, config: Any, device: str, dtype: str) -> Any:
    """A CFM on ``device`` in ``dtype``: a model passed in is moved and cast in place; a path is
    loaded strictly into the config named (a shipped name or a ConfigEntry), else into the first
    shipped config its shapes match exactly (shape-identical configs use identical memory), else
    into a config built from the shapes themselves (custom and tiny checkpoints)."""
    from f5lab.model.arch import ConfigEntry, get_config, infer_spec, rank_configs
    from f5lab.files.checkpoint import open_checkpoint
    from f5lab.files.checkpoint import torch_dtype as to_torch_dtype
    from f5lab.model.build import build_model, load_state

    torch_dtype = to_torch_dtype(dtype)
    if hasattr(path_or_model, "transformer"):
        return path_or_model.to(device=device, dtype=torch_dtype).eval()
    ckpt = open_checkpoint(path_or_model)
    state = ckpt.model_state()
    spec = infer_spec(state.tensors, source=ckpt.path)
    if isinstance(config, str):
        config = get_config(config)
    if config is None:
        exact = [c.config for c in rank_configs(spec) if c.exact]
        config = get_config(exact[0]) if exact else ConfigEntry(
            name="from-shapes", backbone=spec.backbone,
            arch={**spec.arch_block(), "heads": _heads(spec)[0], "dim_head": _heads(spec)[1]})
    model = build_model(config, spec.text_num_embeds)
    load_state(model, dict(ckpt.iter_tensors(state)))
    return model.to(device=device, dtype=torch_dtype).eval()


class _RssSampler:
    """Peak resident set size of this process, sampled every few milliseconds in a thread."""

    def __init__(self, interval: float = 0.002) -> None:
        import threading

        import psutil

        self._proc, self._interval = psutil.Process(), interval
        self.before = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(self._interval)

    def __enter__(self) -> "_RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


class _quiet_stderr_fd:
    """Silence the C++ side's stderr (file descriptor 2) for a block, then restore it.

    Kineto, the profiler's backend, probes for GPUs even with CPU activities only and logs
    ``ERROR ... gpuGetDeviceCount failed with code 35`` straight to fd 2 on a machine without
    one: noise in a healthy CPU run (and in stored notebooks). Python's ``sys.stderr`` is left
    alone, so a real Python error still shows."""

    def __enter__(self) -> "_quiet_stderr_fd":
        import sys

        try:
            sys.stderr.flush()
        except (AttributeError, ValueError):
            pass
        self._saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        return self

    def __exit__(self, *exc: Any) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)


def _profiled_peak(prof: Any) -> int:
    """Peak of live bytes from the profiler's allocation events (kineto ``[memory]`` records)."""
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    live = peak = 0
    for e in events:
        live += e.nbytes()
        peak = max(peak, live)
    return peak


def measure(path_or_model: Any, seconds: float, *, device: str = "cpu", dtype: str = "fp32", cfg: bool = True,
            batch: int = 1, nfe: int = DEFAULT_NFE, ref_seconds: float | None = None, text_len: int | None = None,
            attn: str = "math", config: Any = None, seed: int = 0) -> Measurement:
    """Run one real ``CFM.sample`` with the settings ``estimate`` takes and record its memory.

    The reference mel, text ids and noise are random (seeded): memory depends on shapes only.
    Every ODE step has the same shapes, so ``nfe=1`` gives the same step peak as 32 steps; only
    the preallocated trajectory (``nfe + 1`` mel-sized rows, see ``estimate``) grows with it.
    """
    import time
    import warnings

    import torch

    ref = 0.0 if ref_seconds is None else float(ref_seconds)
    _check(seconds, batch, dtype, attn, ref, nfe, "none")
    from f5lab.hardware.devices import check_device

    check_device(device, "device")
    model = _load(path_or_model, config, device, dtype)
    n = frames_for(seconds, ref)
    nt = text_len if text_len is not None else math.ceil((ref + seconds) * CHARS_PER_SECOND)
    gen = torch.Generator().manual_seed(seed)
    ref_frames = max(1, round(ref * FRAMES_PER_SECOND))
    cond = torch.randn(batch, ref_frames, model.num_channels, generator=gen).to(device=device)
    vocab = model.transformer.text_embed.text_embed.num_embeddings - 1
    text = torch.randint(0, vocab, (batch, max(1, nt)), generator=gen).to(device)
    weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])

    def call() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.sample(cond, text, n, steps=nfe, cfg_strength=DEFAULT_CFG if cfg else 0.0, seed=seed)

    settings = dict(seconds=seconds, ref_seconds=ref, batch=batch, cfg=cfg, dtype=dtype, attn=attn, text_len=nt,
                    nfe=nfe, device=device)
    with torch.nn.attention.sdpa_kernel(_sdpa_backends(attn)):
        if device.startswith("cuda"):
            return _measure_cuda(call, device, settings, n, weights)
        from torch.profiler import ProfilerActivity, profile

        t0 = time.perf_counter()
        with _quiet_stderr_fd(), _RssSampler() as rss, profile(activities=[ProfilerActivity.CPU],
                                                                profile_memory=True) as prof:
            call()
        wall = time.perf_counter() - t0
    import resource

    return Measurement(device=device, settings=settings, frames=n, weights_bytes=weights,
                       activation_peak_bytes=_profiled_peak(prof), rss_peak_delta_bytes=rss.peak - rss.before,
                       rss_max_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, wall_s=wall,
                       notes=["RSS includes the allocator's and the profiler's own overhead; sampled every 2 ms"])


def _measure_cuda(call: Any, device: str, settings: dict[str, Any], n: int, weights: int) -> Measurement:
    import time

    import torch

    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    t0 = time.perf_counter()
    call()
    torch.cuda.synchronize(device)
    wall = time.perf_counter() - t0
    props = torch.cuda.get_device_properties(device)
    return Measurement(device=device, settings=settings, frames=n, weights_bytes=weights,
                       activation_peak_bytes=torch.cuda.max_memory_allocated(device) - before,
                       cuda_max_allocated_bytes=torch.cuda.max_memory_allocated(device),
                       cuda_max_reserved_bytes=torch.cuda.max_memory_reserved(device),
                       cuda_total_bytes=props.total_memory, device_name=props.name, wall_s=wall,
                       notes=["first call on this process: includes cuBLAS workspace set-up"])


def compare(est: MemoryEstimate, meas: Measurement) -> dict[str, Any]:
    """Estimate and measurement side by side: activation peak and (CUDA) allocator totals."""
    row = {"seconds": est.settings["seconds"], "frames": est.frames, "cfg": est.settings["cfg"],
           "dtype": est.settings["dtype"], "attn": est.settings["attn"],
           "estimated_activation_bytes": est.activation_bytes, "measured_activation_bytes": meas.activation_peak_bytes,
           "activation_rel_error": _rel(est.activation_bytes, meas.activation_peak_bytes),
           "estimated_weights_bytes": est.weights_bytes + next(t.bytes for t in est.terms if t.name == "buffers"),
           "measured_weights_bytes": meas.weights_bytes}
    if meas.rss_peak_delta_bytes is not None:
        row["rss_peak_delta_bytes"] = meas.rss_peak_delta_bytes
    if meas.cuda_max_allocated_bytes is not None:  # the allocator holds the model and the call, no vocoder
        allocated = row["estimated_weights_bytes"] + est.activation_bytes
        row.update(estimated_allocated_bytes=allocated, measured_max_allocated_bytes=meas.cuda_max_allocated_bytes,
                   measured_max_reserved_bytes=meas.cuda_max_reserved_bytes,
                   allocated_rel_error=_rel(allocated, meas.cuda_max_allocated_bytes))
    return row


def _rel(est: float, meas: float) -> float:
    return (est - meas) / meas if meas else float("nan")

"""Inference memory of one f5-tts ``CFM.sample`` call: predicted from the shapes, measured on a
device, and turned into "does it fit on this GPU, and with which settings".

The estimate follows f5-tts 1.1.22's code, not a generic transformer formula:

* ``CFM.sample`` pads the reference mel to ``N = ref + generated`` frames (24 kHz, hop 256:
  93.75 frames per second); with CFG the backbone packs the conditional and unconditional
  passes into one batch of ``2b`` (``cfg_infer=True``) and keeps ``x_cond``/``x_uncond``
  alive for the whole forward; the text embedding is padded to ``N`` and cached (cond and
  uncond) for every step.
* torchdiffeq's fixed-grid solver preallocates the whole trajectory, ``(nfe + 1) x b x N x mel``.
* ``F.scaled_dot_product_attention`` on the math path materialises the scores
  ``2b x heads x N x N`` twice (matmul output and softmax output) plus a boolean mask of
  the same shape (``_safe_softmax``), always in fp32: since PyTorch 2.5 the math kernel
  upcasts fp16/bf16 inputs (and keeps fp32 copies of q, k, v). Flash and memory-efficient
  kernels never hold an ``N x N`` tensor.

Every step has the same shapes, so one ODE step's peak is the call's peak; the estimate is
"resident (weights, buffers, vocoder, CUDA context) + sample state + the largest phase of
one step (or the vocoder's decode, whichever is larger)". All arithmetic here is pure
Python: no torch import until ``measure``.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from f5lab.errors import ConfigError
from f5lab.facts import DEFAULT_CFG, DEFAULT_NFE, FRAME_CAP, FRAMES_PER_SECOND, N_FFT, N_MELS
from f5lab.files.dtypes import USER_DTYPES, user_dtype_bytes
from f5lab.hardware.gpus import GPU, GPUS, get_gpu
from f5lab.model.arch import ArchSpec
from f5lab.units import GIB, MIB, gib

__all__ = ["GPUS", "get_gpu", "estimate", "measure", "verdicts", "sweep", "plot_sweep", "compare", "gpu_curve",
           "gpu_curves", "plot_gpu_curves", "verdict_settings", "frame_cap_seconds",
           "parameter_count", "frames_for", "MemoryEstimate", "Measurement", "Verdict", "Term"]

# bytes per element of each --dtype (fp32, fp16, bf16), from the one table f5lab.files keeps
DTYPE_BYTES = {name: user_dtype_bytes(name) for name in USER_DTYPES}
ATTN_PATHS = ("math", "efficient", "flash")
VOCODERS = ("vocos", "bigvgan", "none")
CHARS_PER_SECOND = 15  # typical speech rate; text length only sizes the (tiny) id tensor
CUDA_CONTEXT_BYTES = 400 * MIB  # torch 2.x + CUDA 12 lazy loading: 300-500 MB, outside the allocator
FRAGMENTATION_RESERVE = 0.05  # of the card: caching-allocator slack (reserved > allocated)
# vocos-mel-24khz (charactr): backbone dim 512, intermediate 1536, 8 ConvNeXt layers, ISTFT head n_fft 1024
VOCOS = dict(channels=N_MELS, dim=512, intermediate=1536, layers=8, n_fft=N_FFT)
BIGVGAN_PARAMS = 112_000_000  # nvidia/bigvgan_v2_24khz_100band_256x model card: 112 M


# -- records -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    """One line of an estimate: what it is, how it is computed, how many bytes."""

    name: str
    formula: str
    bytes: int
    group: str  # resident | sample | step | vocoder

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MemoryEstimate:
    """The predicted memory of one inference call and every term behind it."""

    settings: dict[str, Any]
    frames: int
    terms: list[Term]
    phases: dict[str, int]  # peak of each phase of one ODE step (bytes)
    peak_phase: str
    vocoder_activation_bytes: int

    def _sum(self, group: str) -> int:
        return sum(t.bytes for t in self.terms if t.group == group)

    @property
    def resident_bytes(self) -> int:
        return self._sum("resident")

    @property
    def weights_bytes(self) -> int:
        return next(t.bytes for t in self.terms if t.name == "weights")

    @property
    def sample_state_bytes(self) -> int:
        return self._sum("sample")

    @property
    def step_peak_bytes(self) -> int:
        return self.phases[self.peak_phase]

    @property
    def activation_bytes(self) -> int:
        """Everything the sampling call allocates beyond the loaded weights (what the CPU
        profiler measures): sample state plus the largest phase of one step."""
        return self.sample_state_bytes + self.step_peak_bytes

    @property
    def total_bytes(self) -> int:
        return self.resident_bytes + self.sample_state_bytes + max(self.step_peak_bytes,
                                                                   self.vocoder_activation_bytes)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "frames": self.frames, "terms": [t.to_dict() for t in self.terms],
                "phases": self.phases, "peak_phase": self.peak_phase,
                "vocoder_activation_bytes": self.vocoder_activation_bytes,
                "resident_bytes": self.resident_bytes, "sample_state_bytes": self.sample_state_bytes,
                "step_peak_bytes": self.step_peak_bytes, "activation_bytes": self.activation_bytes,
                "total_bytes": self.total_bytes}


# -- settings ------------------------------------------------------------------------------------
def frames_for(seconds: float, ref_seconds: float = 0.0) -> int:
    """Frames the transformer sees: reference plus generated audio at 24 kHz / hop 256."""
    return max(1, math.ceil((ref_seconds + seconds) * FRAMES_PER_SECOND))


def _check(seconds: float, batch: int, dtype: str, attn: str, ref_seconds: float, nfe: int, vocoder: str) -> None:
    if not isinstance(seconds, (int, float)) or not seconds > 0 or math.isinf(seconds):
        raise ConfigError(f"seconds must be a positive number of seconds of audio, got {seconds!r}")
    if ref_seconds < 0:
        raise ConfigError(f"ref_seconds must be >= 0, got {ref_seconds!r}")
    if not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"batch must be a whole number >= 1, got {batch!r}")
    if not isinstance(nfe, int) or nfe < 1:
        raise ConfigError(f"nfe (ODE steps) must be a whole number >= 1, got {nfe!r}")
    if dtype not in DTYPE_BYTES:
        raise ConfigError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPE_BYTES)}")
    if attn not in ATTN_PATHS:
        raise ConfigError(f"unknown attention path {attn!r}; use one of {', '.join(ATTN_PATHS)}")
    if vocoder not in VOCODERS:
        raise ConfigError(f"unknown vocoder {vocoder!r}; use one of {', '.join(VOCODERS)}")


def _heads(spec: ArchSpec) -> tuple[int, int, int]:
    """(heads, dim_head, inner): from the rotary buffer when stored, else the shipped 64-wide heads."""
    inner = spec.attn_inner_dim or spec.dim
    dim_head = spec.dim_head or 64
    heads = spec.heads or max(1, inner // dim_head)
    return heads, dim_head, inner


# -- parameters ----------------------------------------------------------------------------------
def parameter_count(spec: ArchSpec) -> dict[str, int]:
    """Exact parameter and buffer counts of the f5-tts ``CFM`` this spec builds, by module.

    Counts follow the constructors in f5_tts/model (DiT, UNetT, MMDiT, modules.py); buffers
    are the ones that stay in memory (rotary ``inv_freq``, the text ``freqs_cis`` table,
    ``MelSpec.dummy``). Verified equal to the built model for every shipped DiT and UNetT
    config and for a custom MMDiT.
    """
    d, m, t = spec.dim, spec.mel_dim, spec.text_dim
    _, dh, inner = _heads(spec)
    f = int(d * spec.ff_mult)
    lin = lambda i, o, bias=True: i * o + (o if bias else 0)  # noqa: E731
    attn = 4 * lin(d, inner) - inner + d + (2 * dh if spec.qk_norm else 0)  # q,k,v (+bias), out
    ff = lin(d, f) + lin(f, d)
    conv_pos = 2 * (d * (d // 16) * 31 + d)
    time = lin(256, d) + lin(d, d)
    out: dict[str, int] = {"time_embed": time}
    if spec.backbone == "MMDiT":
        out["text_embed"] = spec.text_embed_rows * d
        out["audio_embed"] = lin(2 * m, d) + conv_pos
        ctx_attn = 3 * lin(d, inner) + (2 * dh if spec.qk_norm else 0)
        blocks = spec.depth * (lin(d, 6 * d) + attn + ff + lin(d, 6 * d) + ctx_attn + lin(inner, d) + ff)
        blocks -= lin(d, 4 * d) + lin(inner, d) + ff  # last block: context pre-only
        out["blocks"] = blocks
        out["norm_out"] = lin(d, 2 * d)
    else:
        out["text_embed"] = spec.text_embed_rows * t + spec.conv_layers * (4 * t * t + 17 * t)
        out["input_embed"] = lin(2 * m + t, d) + conv_pos
        if spec.backbone == "DiT":
            out["blocks"] = spec.depth * (lin(d, 6 * d) + attn + ff)
            out["norm_out"] = lin(d, 2 * d)
        else:  # UNetT: RMSNorm weights, concat skip projections in the later half
            skips = spec.depth // 2 if spec.skip_connect == "concat" else 0
            out["blocks"] = spec.depth * (2 * d + attn + ff) + skips * lin(2 * d, d, bias=False)
            out["norm_out"] = d
        if spec.long_skip:
            out["long_skip"] = lin(2 * d, d, bias=False)
    out["proj_out"] = lin(d, m)
    params = sum(out.values())
    # TextEmbedding.freqs_cis: 8192 positions (DiT/UNetT with text conv layers), 1024 in MMDiT
    text_table = 1024 * d if spec.backbone == "MMDiT" else FRAME_CAP * t if spec.conv_layers else 0
    buffers = dh // 2 + text_table  # float buffers; MelSpec's int64 ``dummy`` adds 8 bytes
    return {"params": params, "buffers": buffers, **{f"params.{k}": v for k, v in out.items()}}


def vocoder_params(vocoder: str) -> int:
    """Parameters of the vocoder f5-tts loads (vocos exact from its architecture; BigVGAN from its card)."""
    if vocoder == "vocos":
        c, dim, inter, n = VOCOS["channels"], VOCOS["dim"], VOCOS["intermediate"], VOCOS["layers"]
        embed = c * dim * 7 + dim + 2 * dim
        block = dim * 7 + dim + 2 * dim + dim * inter + inter + inter * dim + dim + dim
        head = dim * (VOCOS["n_fft"] + 2) + VOCOS["n_fft"] + 2
        return embed + n * block + 2 * dim + head
    return BIGVGAN_PARAMS if vocoder == "bigvgan" else 0


# -- the estimate --------------------------------------------------------------------------------
def estimate(spec: ArchSpec, seconds: float, *, batch: int = 1, cfg: bool = True, dtype: str = "fp32",
             attn: str = "math", text_len: int | None = None, ref_seconds: float | None = None,
             vocoder: str = "vocos", device: str = "cuda", nfe: int = DEFAULT_NFE) -> MemoryEstimate:
    """Predict the memory of one ``CFM.sample`` call from the architecture alone.

    ``seconds`` is the audio generated in the call, ``ref_seconds`` the reference clip that
    precedes it in the same sequence (f5-tts clips references to about 12 s). ``attn`` is the
    SDPA kernel: "math" (materialises heads x N x N scores), "efficient" or "flash".
    """
    ref = 0.0 if ref_seconds is None else float(ref_seconds)
    _check(seconds, batch, dtype, attn, ref, nfe, vocoder)
    n = frames_for(seconds, ref)
    nt = text_len if text_len is not None else math.ceil((ref + seconds) * CHARS_PER_SECOND)
    if nt < 0:
        raise ConfigError(f"text_len must be >= 0, got {text_len!r}")
    a = DTYPE_BYTES[dtype]
    counts = parameter_count(spec)
    terms = [
        Term("weights", f"{counts['params']:,} params x {a} B ({dtype})", counts["params"] * a, "resident"),
        Term("buffers", f"{counts['buffers']:,} (rotary inv_freq, text freqs_cis) x {a} B + 8 B (mel dummy)",
             counts["buffers"] * a + 8, "resident"),
    ]
    vp = vocoder_params(vocoder)
    if vp:
        terms.append(Term(f"vocoder weights ({vocoder})", f"{vp:,} params x 4 B (f5-tts keeps it fp32)", vp * 4,
                          "resident"))
    if device.startswith("cuda"):
        terms.append(Term("CUDA context", "~400 MB (torch 2.x, CUDA 12 lazy loading); not in max_memory_allocated",
                          CUDA_CONTEXT_BYTES, "resident"))
    terms += _sample_terms(spec, n, nt, batch, cfg, a, nfe)
    phases, parts = _step_phases(spec, n, nt, batch, cfg, a, attn)
    peak = max(phases, key=phases.get)
    terms += [Term(name, formula, size, "step") for name, formula, size in parts[peak]]
    settings = dict(seconds=seconds, ref_seconds=ref, batch=batch, cfg=cfg, dtype=dtype, attn=attn,
                    text_len=nt, vocoder=vocoder, device=device, nfe=nfe, backbone=spec.backbone)
    return MemoryEstimate(settings=settings, frames=n, terms=terms, phases=phases, peak_phase=peak,
                          vocoder_activation_bytes=_vocoder_activation(vocoder, n, batch))


def _sample_terms(spec: ArchSpec, n: int, nt: int, b: int, cfg: bool, a: int, nfe: int) -> list[Term]:
    """Tensors ``CFM.sample`` keeps for the whole call."""
    m = spec.mel_dim
    width = spec.dim if spec.backbone == "MMDiT" else spec.text_dim
    text_rows = nt if spec.backbone == "MMDiT" else n  # DiT/UNetT pad the text embedding to N frames
    caches = 2 if cfg else 1
    return [
        Term("ODE trajectory", f"(nfe {nfe} + 1) x b {b} x N {n} x mel {m} x {a} B (torchdiffeq preallocates)",
             (nfe + 1) * b * n * m * a, "sample"),
        Term("ODE state", f"6 x b x N x mel x {a} B (cond, step_cond, noise, y, previous f and dt*f)",
             6 * b * n * m * a, "sample"),
        Term("text ids", f"b {b} x text {nt} x 8 B (int64)", b * nt * 8, "sample"),
        Term("text cache", f"{caches} (cond{', uncond' if cfg else ''}) x b x {text_rows} x {width} x {a} B",
             caches * b * text_rows * width * a, "sample"),
    ]


def _step_phases(spec: ArchSpec, n: int, nt: int, b: int, cfg: bool, a: int,
                 attn: str) -> tuple[dict[str, int], dict[str, list[tuple[str, str, int]]]]:
    """Peak bytes of each phase of one backbone forward, with the parts that make it up."""
    h, dh, inner = _heads(spec)
    d, f = spec.dim, int(spec.dim * spec.ff_mult)
    bb = 2 * b if cfg else b
    seq = n + 1 if spec.backbone == "UNetT" else n + nt if spec.backbone == "MMDiT" else n
    tok = f"{'2b' if cfg else 'b'} {bb} x N {seq}"
    row = lambda width, by=a: bb * seq * width * by  # noqa: E731
    base = [("hidden state", f"{tok} x dim {d} x {a} B", row(d)),
            ("rotary freqs", f"N {seq} x dim_head {dh} x 4 B", seq * dh * 4)]
    if cfg and spec.backbone != "MMDiT":
        base.append(("x_cond + x_uncond", f"{tok} x dim {d} x {a} B (kept by cfg_infer)", bb * n * d * a))
    if spec.long_skip:
        base.append(("long-skip residual", f"{tok} x dim {d} x {a} B", row(d)))
    if spec.backbone == "UNetT":
        k = spec.depth // 2
        base.append(("UNet skips", f"depth/2 {k} x {tok} x dim {d} x {a} B", k * row(d)))
    if spec.backbone == "MMDiT":
        base.append(("context stream", f"{tok} x dim {d} x {a} B", row(d)))
    qkv = [("normed input", f"{tok} x dim {d} x {a} B", row(d)),
           ("q, k, v", f"3 x {tok} x inner {inner} x {a} B", 3 * row(inner))]
    if attn == "math":
        scores = bb * h * seq * seq
        sdpa = [("attention scores", f"2 (matmul + softmax) x {tok} x heads {h} x N {seq} x 4 B (fp32)", 2 * scores * 4),
                ("softmax mask", f"{tok} x heads {h} x N {seq} x 1 B (bool, _safe_softmax)", scores),
                ("scaled q", f"{tok} x inner {inner} x 4 B", row(inner, 4))]
        if a != 4:
            sdpa.append(("fp32 q, k, v", f"3 x {tok} x inner {inner} x 4 B (math path upcasts {a}-byte inputs)",
                         3 * row(inner, 4)))
    else:
        sdpa = [("attention output", f"{tok} x inner {inner} x {a} B + logsumexp {tok} x heads {h} x 4 B",
                 row(inner) + bb * h * seq * 4)]
    if spec.backbone == "UNetT":  # x = ff(ff_norm(x)) + x: only the normed input lives beside x
        ff = [("ff norm", f"{tok} x dim {d} x {a} B", row(d))]
    else:  # DiTBlock keeps attn_output, x + gate * attn_output and the ff norm
        ff = [("attention output + residual", f"3 x {tok} x dim {d} x {a} B (attn out, x + attn, ff norm)",
               3 * row(d))]
    ff.append(("feed-forward hidden", f"2 x {tok} x ff {f} x {a} B (linear out, GELU out)", 2 * row(f)))
    rope = [("rotary temporaries", f"3 x {tok} x inner {inner} x 4 B + cos/sin N x {dh} x 4 B (fp32 freqs)",
             3 * row(inner, 4) + seq * dh * 4)]
    parts = {"attention": base + qkv + sdpa, "feed-forward": base + ff, "rotary": base + qkv + rope}
    return {k: sum(p[2] for p in v) for k, v in parts.items()}, parts


def _vocoder_activation(vocoder: str, n: int, b: int) -> int:
    """Decode activations (fp32). vocos runs at frame rate: its peak is inside a ConvNeXt block's
    GRN (4 live 1536-wide rows per frame) beside the head's n_fft + 2 outputs; matches a
    profiled random-weight vocos-mel-24khz within 0.2% at 5-20 s. BigVGAN (not measured here:
    its weights are not shipped) upsamples to the sample rate, ~6144 channel-samples per frame
    per stage, with 2x anti-aliased activations: a rough figure."""
    if vocoder == "vocos":
        return b * n * (4 * VOCOS["intermediate"] + VOCOS["n_fft"] + 2 + 16) * 4
    if vocoder == "bigvgan":
        return b * n * 6144 * 2 * 3 * 4
    return 0


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
                slow = "" if gpu.fp16_fast or dt != "fp16" else " (memory only: fp16 is slow on this card)"
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
    if gpu.cc[0] == 6 and gpu.cc != (6, 0) and dtype == "fp16":
        out.append(f"Pascal (cc {gpu.cc_str}) runs fp16 arithmetic at 1/64 of its fp32 rate: fp16 halves weight "
                   "memory but is much slower; f5-tts itself loads fp32 on cc < 7")
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
    from f5lab import outputs

    with outputs.file(path, force=force) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    return Path(path)

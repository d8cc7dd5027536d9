"""The analytic estimate of one f5-tts ``CFM.sample`` call's memory, from the shapes alone.

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
Python: this module never imports torch.

Apart from the measurement (``memory_measure``, which imports torch), the verdicts
(``memory_verdicts``) and the curves (``memory_curves``): they all build on this, and
``f5lab.hardware.memory`` re-exports every public name.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from f5lab.errors import ConfigError
from f5lab.facts import DEFAULT_NFE, FRAME_CAP, FRAMES_PER_SECOND, N_FFT, N_MELS
from f5lab.files.dtypes import USER_DTYPES, user_dtype_bytes
from f5lab.model.arch import ArchSpec
from f5lab.units import MIB

# bytes per element of each --dtype (fp32, fp16, bf16), from the one table f5lab.files keeps
DTYPE_BYTES = {name: user_dtype_bytes(name) for name in USER_DTYPES}
ATTN_PATHS = ("math", "efficient", "flash")
VOCODERS = ("vocos", "bigvgan", "none")
CHARS_PER_SECOND = 15  # typical speech rate; text length only sizes the (tiny) id tensor
CUDA_CONTEXT_BYTES = 400 * MIB  # torch 2.x + CUDA 12 lazy loading: 300-500 MB, outside the allocator
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

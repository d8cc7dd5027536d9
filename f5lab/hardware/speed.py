"""Seconds per call, predicted from the checkpoint's shapes and the device's measured or published rates.

One f5-tts call is the text embedding (computed once and cached), NFE ODE steps of the backbone
(with CFG the conditional and unconditional passes are packed into one batch of ``2b``) and the
vocoder's decode. Each step is listed as the ops f5-tts 1.1.22 runs (``step_ops``): the linears of
every block, the attention kernel, and the element-wise passes between them (norms, modulation,
rotary, GELU, residuals). Each op costs a roofline, ``max(flops / rate, bytes / bandwidth)``, plus a
dispatch overhead per kernel; the call's time is their sum. No constant per model is fitted.

The rates come from:

* the CPU: ``calibrate_cpu`` measures, on this machine and right before it is used, a matmul of the
  backbone's own width, an attention call, an element-wise pass over a large tensor and the cost of
  dispatching a tiny op (about a second in all); ``benchmarks/bench_speed.py`` holds the prediction
  to within 30% of measured CPU sampling of the full-scale model;
* a GPU: the catalogue's spec-sheet fp32 / fp16 throughput and memory bandwidth
  (``f5lab.hardware.gpus``) times one efficiency factor, taken from a published measurement (the
  F5-TTS paper: RTF 0.15 at NFE 16 for 10 s on an RTX 3090, F5-TTS #81) until one is measured here
  (``benchmarks/bench_gpu.py``). ``PUBLISHED`` keeps that figure and the one it is checked against.

Every prediction says how far the model is known to land (``speed_model_evidence``), per device
class: on a CPU, against the calls ``benchmarks/bench_speed.py`` measured (``CPU_CHECK``); on a GPU
it is unmeasured until a GPU run checks it (``GPU_CHECK`` stays None until then).

Pure Python on the shapes; only ``calibrate_cpu`` and ``measure_sampling`` import torch.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from f5lab.errors import ConfigError
from f5lab.facts import DEFAULT_CFG, DEFAULT_NFE, FRAMES_PER_SECOND
from f5lab.hardware.gpus import GPU, get_gpu
from f5lab.hardware.memory_estimate import CHARS_PER_SECOND, DTYPE_BYTES, VOCOS, _check, _heads, frames_for
from f5lab.model.arch import ArchSpec

# F5TTS_Base at full scale (DESIGN.md section 2): the model the published figures were measured on
F5TTS_BASE = ArchSpec(backbone="DiT", dim=1024, depth=22, ff_mult=2, text_dim=512, conv_layers=4, mel_dim=100,
                      text_embed_rows=2546, heads=16, dim_head=64, attn_inner_dim=1024)
# published GPU measurements of F5TTS_Base with PyTorch: the first sets the GPU efficiency, the rest check it
PUBLISHED = (
    {"gpu": "RTX 3090", "nfe": 16, "seconds": 10.0, "rtf": 0.15, "use": "efficiency",
     "source": "F5-TTS paper, Euler solver, NFE 16, generating 10 s (SWivid/F5-TTS#81)"},
    {"gpu": "L20", "nfe": 16, "seconds": 10.0, "rtf": 0.1467, "use": "check",
     "source": "f5_tts/runtime/triton_trtllm/README.md, offline PyTorch, 26 prompt/text pairs, NFE 16"},
)


# predicted / measured seconds of real CFM.sample calls on a CPU: benchmarks/bench_speed.py, full-scale
# F5TTS_Base, fp32, CFG on; benchmarks/results/speed_cpu.json (1 thread) and speed_cpu_threads2.json (2 threads)
CPU_CHECK = {"low": 0.818, "high": 1.078, "calls": 8,
             "against": "8 real CFM.sample calls of full-scale F5TTS_Base (5 s and 15 s, NFE 2 and 4, fp32) on "
                        "2 CPU cores, 1 and 2 threads (benchmarks/bench_speed.py)"}
GPU_CHECK: dict[str, Any] | None = None  # no GPU run has checked the model yet (benchmarks/bench_gpu.py)
MODEL_NAME = "f5lab's speed model (a roofline of f5-tts's ops)"


def _pct(r: float) -> str:
    return f"{100 * (r - 1):+.0f}%"


def speed_model_error(device: str) -> str:
    """How far the speed model is known to land on ``device`` ("cpu" or a GPU: "cuda" or a card name)."""
    if device == "cpu":
        c = CPU_CHECK
        return f"{_pct(c['low'])} to {_pct(c['high'])} against {c['against']}"
    if GPU_CHECK:
        g = GPU_CHECK
        return f"{_pct(g['low'])} to {_pct(g['high'])} against {g['against']}"
    lo, hi = _published_spread()
    return ("unmeasured on a GPU until a GPU run checks it (benchmarks/bench_gpu.py); its efficiency factor "
            f"comes from one published RTX 3090 figure, and it lands at x{lo:.2f}-{hi:.2f} of the only other "
            "published one (L20)")


@functools.lru_cache(maxsize=1)
def _published_spread() -> tuple[float, float]:
    """The predicted / published ratios of the figures the efficiency was not taken from (no reference,
    and a reference as long as the audio: the published prompts' lengths are unknown)."""
    rows = [r for r in published_checks() if r["use"] == "check"]
    ratios = [r["ratio"] for r in rows] + [r["predicted_rtf_with_equal_reference"] / r["rtf"] for r in rows]
    return min(ratios), max(ratios)


def speed_model_evidence(device: str) -> Any:
    """The label of a predicted seconds-per-call figure on ``device`` (``f5lab.evidence.Evidence``)."""
    from f5lab.evidence import predicted

    source = MODEL_NAME + (" with this CPU's measured rates" if device == "cpu" else
                           " with the card's spec-sheet rates x one published efficiency")
    return predicted(source, speed_model_error(device))


# -- rates ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rates:
    """What a device sustains, efficiency included: matmul and fused-attention flop/s per dtype,
    memory bandwidth (bytes/s) and the fixed cost of one kernel or op dispatch."""

    device: str
    matmul: dict[str, float]
    attention: dict[str, float]
    bandwidth: float
    op_overhead_s: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gpu_rates(gpu: str | GPU, efficiency: float | None = None) -> Rates:
    """A card's spec-sheet rates times the efficiency from ``PUBLISHED`` (``gpu_efficiency``).

    fp16 matmuls and flash / memory-efficient attention run at ``fp16_tflops`` (tensor cores on
    Turing and newer; on consumer Pascal the fp32 rate: PyTorch stores fp16 there but its cuBLAS
    GEMMs compute in fp32, see ``gpus.PASCAL_FP16``); bf16 the same where it is native, else fp32;
    fp32 at ``fp32_tflops`` (PyTorch keeps TF32 off for matmuls by default)."""
    g = get_gpu(gpu)
    if not g.fp32_tflops or not g.bandwidth_gbs:
        raise ConfigError(f"{g.name}: the catalogue has no throughput / bandwidth for this card; speed unknown")
    eff = gpu_efficiency() if efficiency is None else efficiency
    fp16 = (g.fp16_tflops or g.fp32_tflops) * 1e12 * eff
    fp32 = g.fp32_tflops * 1e12 * eff
    rates = {"fp32": fp32, "fp16": fp16, "bf16": fp16 if g.bf16_native else fp32}
    return Rates(device=g.name, matmul=rates, attention=dict(rates), bandwidth=g.bandwidth_gbs * 1e9 * eff,
                 op_overhead_s=0.0, source=f"spec sheet x efficiency {eff:.3f} ({PUBLISHED[0]['source']})")


@functools.lru_cache(maxsize=1)
def gpu_efficiency() -> float:
    """The fraction of spec-sheet rates F5TTS_Base reaches: the predicted time at full rates over
    the time the first ``PUBLISHED`` figure measured (f5-tts's own dtype and attention on that card)."""
    ref = PUBLISHED[0]
    g = get_gpu(ref["gpu"])
    ideal = predict(F5TTS_BASE, ref["seconds"], gpu_rates(g, efficiency=1.0), nfe=ref["nfe"],
                    dtype=g.f5_tts_default_dtype, attn=g.attention_backends(g.f5_tts_default_dtype)[0])
    return ideal.seconds_per_call / (ref["rtf"] * ref["seconds"])


@dataclass(frozen=True)
class Calibration:
    """This machine's CPU, measured: what ``cpu_rates`` predicts with."""

    matmul_flops: float
    attention_flops: float
    bandwidth: float
    op_overhead_s: float
    threads: int
    spent_s: float
    shapes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cpu_rates(cal: Calibration) -> Rates:
    """Rates from a measured calibration; the CPU runs every dtype at the fp32 rate measured."""
    r = {dt: cal.matmul_flops for dt in DTYPE_BYTES}
    a = {dt: cal.attention_flops for dt in DTYPE_BYTES}
    return Rates(device="cpu", matmul=r, attention=a, bandwidth=cal.bandwidth, op_overhead_s=cal.op_overhead_s,
                 source=f"measured on this CPU ({cal.threads} threads, {cal.spent_s:.2f} s of calibration)")


def _timed(fn: Any, budget_s: float, min_reps: int = 3) -> float:
    """Mean seconds of ``fn()`` over at least ``min_reps`` runs and ``budget_s`` of running: the
    mean, not the median, so time lost to other processes counts as it does in a long call."""
    import time

    fn()  # warm-up: allocations, thread pool, kernel selection
    reps = 0
    start = time.perf_counter()
    while reps < min_reps or time.perf_counter() - start < budget_s:
        fn()
        reps += 1
        if reps >= 500:
            break
    return (time.perf_counter() - start) / reps


def calibrate_cpu(dim: int = 1024, tokens: int = 2048, budget_s: float = 0.4) -> Calibration:
    """Measure this CPU with torch (fp32, the current thread count): a ``tokens x dim @ dim x dim``
    matmul (a backbone linear), SDPA over 16 heads of 64 on ``tokens // 2`` positions, an add over
    64 MB tensors (memory bandwidth) and an add of one-element tensors (per-op overhead)."""
    import time

    import torch

    t0 = time.perf_counter()
    with torch.inference_mode():
        x, w = torch.randn(tokens, dim), torch.randn(dim, dim)
        mm = _timed(lambda: torch.matmul(x, w), budget_s)
        n = max(64, tokens // 2)
        q = torch.randn(2, 16, n, 64)
        sdpa = _timed(lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q), budget_s)
        a, b = torch.randn(16 * 2**20), torch.randn(16 * 2**20)
        out = torch.empty_like(a)
        bw = _timed(lambda: torch.add(a, b, out=out), budget_s)
        s1, s2 = torch.ones(1), torch.ones(1)
        tiny = _timed(lambda: [torch.add(s1, s2) for _ in range(100)], budget_s / 2) / 100
    return Calibration(matmul_flops=2 * tokens * dim * dim / mm, attention_flops=4 * 2 * 16 * n * n * 64 / sdpa,
                       bandwidth=3 * a.numel() * 4 / bw, op_overhead_s=tiny, threads=torch.get_num_threads(),
                       spent_s=time.perf_counter() - t0,
                       shapes={"matmul": [tokens, dim, dim], "attention": [2, 16, n, 64], "add_bytes": a.numel() * 4})


# -- the ops of one call ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    """One kernel (or a few of the same kind): flops, bytes moved, and how many launches."""

    name: str
    kind: str  # "matmul" | "attention" | "elementwise"
    flops: float
    bytes: float
    launches: int = 1
    dtype: str = "fp32"


def _lin(name: str, tokens: int, i: int, o: int, dt: str, times: int = 1) -> Op:
    a = DTYPE_BYTES[dt]
    return Op(name, "matmul", times * 2.0 * tokens * i * o, times * a * (i * o + tokens * (i + o)), times, dt)


def _ew(name: str, elems: int, passes: int, dt: str, launches: int = 1) -> Op:
    """Element-wise work: ``passes`` reads or writes of ``elems`` values."""
    return Op(name, "elementwise", float(elems * passes), float(elems * passes * DTYPE_BYTES[dt]), launches, dt)


def _attention(tokens: int, seq: int, h: int, dh: int, inner: int, dt: str, attn: str) -> list[Op]:
    """SDPA over ``tokens = batch x seq`` rows: flash / efficient fuse it; the math path runs two
    fp32 batched matmuls and materialises the scores (matmul out, softmax, bool mask)."""
    flops = 4.0 * tokens * seq * inner
    if attn != "math":
        return [Op("attention", "attention", flops, DTYPE_BYTES[dt] * 4.0 * tokens * inner, 1, dt)]
    scores = tokens * h * seq  # batch x heads x seq x seq
    ops = [Op("attention scores + output (math)", "matmul", flops, 4.0 * (4 * tokens * inner + 2 * scores), 2, "fp32"),
           _ew("softmax + mask (math)", scores, 5, "fp32", 4)]
    if dt != "fp32":
        ops.append(_ew("fp32 upcast of q, k, v (math)", tokens * inner, 6, "fp32", 3))
    return ops


def _block_ops(spec: ArchSpec, tokens: int, seq: int, dt: str, attn: str) -> list[Op]:
    """One DiT / UNetT block over ``tokens`` rows (attention over ``seq`` positions)."""
    h, dh, inner = _heads(spec)
    d, f = spec.dim, int(spec.dim * spec.ff_mult)
    return [_ew("attention norm + modulation", tokens * d, 4, dt, 3), _lin("q, k, v", tokens, d, inner, dt, 3),
            _ew("rotary (fp32)", 2 * tokens * inner, 6, "fp32", 10), *_attention(tokens, seq, h, dh, inner, dt, attn),
            _lin("attention out", tokens, inner, d, dt), _ew("gate + residual", tokens * d, 3, dt, 2),
            _ew("ff norm + modulation", tokens * d, 4, dt, 3), _lin("ff in", tokens, d, f, dt),
            _ew("GELU", tokens * f, 2, dt), _lin("ff out", tokens, f, d, dt), _ew("gate + residual", tokens * d, 3, dt, 2)]


def step_ops(spec: ArchSpec, frames: int, text_len: int, batch: int = 1, cfg: bool = True, dtype: str = "fp32",
             attn: str = "math") -> list[Op]:
    """The ops of one ODE step: one backbone forward over ``2b`` (CFG) rows of ``frames`` positions."""
    bb = 2 * batch if cfg else batch
    m, d, t = spec.mel_dim, spec.dim, spec.text_dim
    if spec.backbone == "MMDiT":  # joint attention over audio + text; both streams run their own linears
        seq, x_rows, c_rows = frames + text_len, bb * frames, bb * text_len
        ops = [_lin("input proj", x_rows, 2 * m, d, dtype), _ew("conv position embed", x_rows * d, 6, dtype, 4),
               _lin("conv position embed", x_rows, d, 2 * 31 * d // 16, dtype)]
        for _ in range(spec.depth):
            ops += _block_ops(spec, x_rows, seq, dtype, attn)
            ops += [op for op in _block_ops(spec, c_rows, seq, dtype, attn) if op.kind != "attention"]
    else:
        seq = frames + 1 if spec.backbone == "UNetT" else frames
        rows = bb * seq
        ops = [_ew("concat x, cond, text", rows * (2 * m + t), 2, dtype, 2), _lin("input proj", rows, 2 * m + t, d, dtype),
               _lin("conv position embed", rows, d, 2 * 31 * d // 16, dtype),  # two grouped convs (16 groups, k 31)
               _ew("conv position embed (Mish, adds)", rows * d, 8, dtype, 6)]
        for _ in range(spec.depth):
            ops += _block_ops(spec, rows, seq, dtype, attn)
        if spec.backbone == "UNetT" and spec.skip_connect == "concat":
            ops.append(_lin("UNet skip projections", rows, 2 * d, d, dtype, spec.depth // 2))
        if spec.long_skip:
            ops.append(_lin("long skip", rows, 2 * d, d, dtype))
    rows = bb * frames
    ops += [_ew("final norm + modulation", rows * d, 4, dtype, 3), _lin("proj out", rows, d, m, dtype),
            _ew("CFG combine + Euler update", rows * m, 8, dtype, 6)]
    return ops


def text_ops(spec: ArchSpec, frames: int, text_len: int, batch: int = 1, cfg: bool = True, dtype: str = "fp32") -> list[Op]:
    """The text embedding, computed once per call (cond and uncond) and cached for every step."""
    if spec.backbone == "MMDiT" or not spec.conv_layers:
        return []
    rows = (2 if cfg else 1) * batch * frames
    t = spec.text_dim
    ops = []
    for _ in range(spec.conv_layers):  # ConvNeXtV2 blocks: depthwise conv 7, norm, t -> 2t -> t, GELU, GRN
        ops += [Op("text depthwise conv", "elementwise", 14.0 * rows * t, 2.0 * rows * t * DTYPE_BYTES[dtype], 1, dtype),
                _lin("text pointwise", rows, t, 2 * t, dtype), _ew("text norm, GELU, GRN", rows * 2 * t, 8, dtype, 6),
                _lin("text pointwise", rows, 2 * t, t, dtype)]
    return ops


def vocoder_ops(vocoder: str, frames: int, batch: int = 1) -> list[Op]:
    """vocos-mel-24khz's decode (fp32, at frame rate): embedding conv, 8 ConvNeXt blocks, ISTFT head.
    BigVGAN runs at the sample rate and is not modelled (its time is left out, and said so)."""
    if vocoder != "vocos":
        return []
    rows, c, dim, inter, n_fft = batch * frames, VOCOS["channels"], VOCOS["dim"], VOCOS["intermediate"], VOCOS["n_fft"]
    ops = [_lin("vocos embed conv (k 7)", rows, 7 * c, dim, "fp32")]
    for _ in range(VOCOS["layers"]):
        ops += [_ew("vocos depthwise conv + norm", rows * dim, 6, "fp32", 3), _lin("vocos pointwise", rows, dim, inter, "fp32"),
                _ew("vocos GELU, scale, residual", rows * inter, 4, "fp32", 3), _lin("vocos pointwise", rows, inter, dim, "fp32")]
    ops += [_lin("vocos head", rows, dim, n_fft + 2, "fp32"),
            Op("ISTFT", "elementwise", 5.0 * rows * n_fft * math.log2(n_fft), 16.0 * rows * n_fft, 4, "fp32")]
    return ops


def op_seconds(op: Op, rates: Rates) -> float:
    """The roofline of one op: compute or memory, whichever takes longer, plus its dispatches."""
    if op.kind == "elementwise":
        compute = 0.0
    else:
        rate = (rates.attention if op.kind == "attention" else rates.matmul)[op.dtype]
        compute = op.flops / rate
    return max(compute, op.bytes / rates.bandwidth) + op.launches * rates.op_overhead_s


# -- the prediction --------------------------------------------------------------------------------------
@dataclass
class SpeedEstimate:
    """Predicted seconds of one call on one device, and what they are made of."""

    device: str
    settings: dict[str, Any]
    frames: int
    step_s: float
    text_s: float
    vocoder_s: float
    step_flops: float
    step_bytes: float
    compute_bound_share: float  # of one step's time, the part spent in ops limited by compute
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def sampling_s(self) -> float:
        """``CFM.sample``: the text embedding once, then NFE steps."""
        return self.text_s + self.settings["nfe"] * self.step_s

    @property
    def seconds_per_call(self) -> float:
        return self.sampling_s + self.vocoder_s

    @property
    def rtf(self) -> float:
        """Real-time factor: seconds per call over the seconds of audio the call generates."""
        return self.seconds_per_call / (self.settings["seconds"] * self.settings["batch"])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(sampling_s=self.sampling_s, seconds_per_call=self.seconds_per_call, rtf=self.rtf)
        return d


def predict(spec: ArchSpec, seconds: float, rates: Rates, *, nfe: int = DEFAULT_NFE, batch: int = 1, cfg: bool = True,
            dtype: str = "fp32", attn: str = "efficient", ref_seconds: float | None = None,
            text_len: int | None = None, vocoder: str = "vocos") -> SpeedEstimate:
    """Seconds of one ``CFM.sample`` + vocoder call of ``seconds`` of audio (beside ``ref_seconds``
    of reference) on the device ``rates`` describe, with the same settings ``memory.estimate`` takes."""
    ref = float(ref_seconds or 0.0)
    _check(seconds, batch, dtype, attn, ref, nfe, vocoder)
    n = frames_for(seconds, ref)
    nt = text_len if text_len is not None else math.ceil((ref + seconds) * CHARS_PER_SECOND)
    step = step_ops(spec, n, nt, batch, cfg, dtype, attn)
    times = [op_seconds(op, rates) for op in step]
    compute = sum(t for op, t in zip(step, times) if op.kind != "elementwise" and op.flops /
                  (rates.attention if op.kind == "attention" else rates.matmul)[op.dtype] >= op.bytes / rates.bandwidth)
    step_s = sum(times)
    notes = [] if vocoder != "bigvgan" else ["BigVGAN's decode is not modelled: its time is left out"]
    settings = dict(seconds=seconds, ref_seconds=ref, batch=batch, cfg=cfg, dtype=dtype, attn=attn, nfe=nfe,
                    vocoder=vocoder, text_len=nt)
    return SpeedEstimate(device=rates.device, settings=settings, frames=n, step_s=step_s,
                         text_s=sum(op_seconds(op, rates) for op in text_ops(spec, n, nt, batch, cfg, dtype)),
                         vocoder_s=sum(op_seconds(op, rates) for op in vocoder_ops(vocoder, n, batch)),
                         step_flops=sum(op.flops for op in step if op.kind != "elementwise"),
                         step_bytes=sum(op.bytes for op in step), compute_bound_share=compute / step_s if step_s else 0.0,
                         source=rates.source, notes=notes)


def published_checks() -> list[dict[str, Any]]:
    """Each ``PUBLISHED`` figure beside the prediction for it (f5-tts's dtype and attention on the
    card, no reference and with a reference as long as the generated audio): how far apart."""
    out = []
    for ref in PUBLISHED:
        g = get_gpu(ref["gpu"])
        dt = g.f5_tts_default_dtype
        kw = dict(nfe=ref["nfe"], dtype=dt, attn=g.attention_backends(dt)[0])
        alone = predict(F5TTS_BASE, ref["seconds"], gpu_rates(g), **kw)
        with_ref = predict(F5TTS_BASE, ref["seconds"], gpu_rates(g), ref_seconds=ref["seconds"], **kw)
        out.append({**ref, "dtype": dt, "attn": kw["attn"], "predicted_rtf": round(alone.rtf, 4),
                    "predicted_rtf_with_equal_reference": round(with_ref.rtf, 4),
                    "ratio": round(alone.rtf / ref["rtf"], 3)})
    return out


# -- measuring ---------------------------------------------------------------------------------------------
def measure_sampling(model: Any, seconds: float, *, nfe: int, cfg: bool = True, batch: int = 1,
                     ref_seconds: float | None = None, text_len: int | None = None, seed: int = 0,
                     device: str = "cpu") -> float:
    """Wall seconds of one real ``CFM.sample`` call (random seeded inputs: time depends on shapes only),
    after a one-step warm-up call of 1 s."""
    return _sample_times(model, seconds, nfe=nfe, cfg=cfg, batch=batch, ref_seconds=ref_seconds, text_len=text_len,
                         seed=seed, device=device)[0]


def _sample_times(model: Any, seconds: float, *, nfe: int, cfg: bool, batch: int, ref_seconds: float | None,
                  text_len: int | None, seed: int, device: str) -> tuple[float, float]:
    """(wall, process CPU) seconds of one timed ``CFM.sample`` call."""
    import time
    import warnings

    import torch

    ref = float(ref_seconds or 0.0)
    n = frames_for(seconds, ref)
    nt = text_len if text_len is not None else math.ceil((ref + seconds) * CHARS_PER_SECOND)
    gen = torch.Generator().manual_seed(seed)
    cond = torch.randn(batch, max(1, round(ref * FRAMES_PER_SECOND)), model.num_channels, generator=gen).to(device)
    vocab = model.transformer.text_embed.text_embed.num_embeddings - 1
    text = torch.randint(0, vocab, (batch, max(1, nt)), generator=gen).to(device)
    cond = cond.to(next(model.parameters()).dtype)
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        model.sample(cond, text, min(n, 94), steps=1, cfg_strength=DEFAULT_CFG if cfg else 0.0, seed=seed)  # warm-up, 1 s
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        t0, c0 = time.perf_counter(), time.process_time()
        model.sample(cond, text, n, steps=nfe, cfg_strength=DEFAULT_CFG if cfg else 0.0, seed=seed)
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        return time.perf_counter() - t0, time.process_time() - c0


def describe(est: SpeedEstimate) -> str:
    """``~44 s per call (RTF 4.4)``: one line for a verdict."""
    return describe_seconds(est.seconds_per_call, est.rtf)


def describe_seconds(seconds_per_call: float, rtf: float | None) -> str:
    """``describe`` from recorded numbers (a summary's), so a page and the card word them alike."""
    from f5lab.units import rtf as rtf_text

    return f"~{fmt_seconds(seconds_per_call)} per call" + (f" (RTF {rtf_text(rtf)})" if rtf is not None else "")


def settings_text(settings: dict[str, Any]) -> str:
    """``NFE 16, fp32, 12 s speech + 4.3 s reference, batch 1``: the call a prediction is for."""
    s = settings
    ref = s.get("ref_seconds") or 0.0
    lengths = f"{s['seconds']:.3g} s speech" + (f" + {ref:.3g} s reference" if ref else ", no reference")
    cfg = "" if s.get("cfg", True) else ", CFG off"
    return f"NFE {s['nfe']}, {s['dtype']}, {lengths}, batch {s['batch']}{cfg}"


def predicted_text(est: SpeedEstimate, device: str = "cuda") -> str:
    """``predicted ~77 s per call (RTF 6.4) at NFE 16, fp32, ...; speed model error: ...``: a prediction
    with the call it is for and the model's checked error on that device class."""
    return (f"predicted {describe(est)} at {settings_text(est.settings)}; speed model error: "
            f"{speed_model_error(device)}")


def fmt_seconds(s: float) -> str:
    return f"{s:.2g} s" if s < 10 else f"{s:.0f} s"


def ratio(predicted: float, measured: float) -> float:
    return predicted / measured if measured else float("nan")


def check_cpu(model: Any, spec: ArchSpec, seconds: float, *, nfe: int, cfg: bool = True, batch: int = 1,
              ref_seconds: float | None = None, dtype: str = "fp32", seed: int = 0) -> dict[str, Any]:
    """Predicted against measured ``CFM.sample`` seconds on this CPU, in one go: calibrate, run the
    call, calibrate again, and predict from both calibrations (their harmonic mean: the machine's
    mean speed over the call), so load from other processes weighs on prediction and measurement alike."""
    import torch

    before = calibrate_cpu(dim=spec.dim)
    measured, cpu = _sample_times(model, seconds, nfe=nfe, cfg=cfg, batch=batch, ref_seconds=ref_seconds,
                                  text_len=None, seed=seed, device="cpu")
    after = calibrate_cpu(dim=spec.dim)
    kw = dict(nfe=nfe, cfg=cfg, batch=batch, ref_seconds=ref_seconds, dtype=dtype, attn="flash", vocoder="none")
    p1, p2 = (predict(spec, seconds, cpu_rates(c), **kw).sampling_s for c in (before, after))
    predicted = 2 * p1 * p2 / (p1 + p2)
    return {"seconds": seconds, "nfe": nfe, "cfg": cfg, "batch": batch, "predicted_s": round(predicted, 3),
            "measured_s": round(measured, 3), "ratio": round(predicted / measured, 3),
            "predicted_before_s": round(p1, 3), "predicted_after_s": round(p2, 3),
            "cpu_share": round(cpu / (measured * torch.get_num_threads()), 3),  # of the threads' cores, during the call
            "calibration": {"before": before.to_dict(), "after": after.to_dict()}}

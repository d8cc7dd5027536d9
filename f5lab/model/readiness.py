"""Can these weights speak at all? Named from the tensors, before any synthesis.

Cheap and streaming: one tensor of the checkpoint in memory at a time (``Checkpoint.read_tensor``),
a few reductions each. What rules speech out, read from the weights inference uses (the EMA when
the file has one):

- **NaN or Inf** in any tensor: every rendering is NaN (or silence after the vocoder's clamp).
- **A zero or constant output projection** (``transformer.proj_out``): the velocity field does not
  depend on the input (zero: it is zero), so sampling leaves the initial noise where it was: every
  "rendering" is the noise, the same for every config of the same shapes.
- **f5-tts's untrained initialisation**: f5-tts's DiT and MMDiT zero their adaLN modulation
  (``attn_norm.linear``, ``norm_out.linear``) and ``proj_out`` at construction
  (``initialize_weights``); any training moves them on its second update. A checkpoint built
  from f5-tts's classes and never trained carries them all zero.
- **PyTorch's default initialisation, never trained**: ``nn.Linear`` / ``nn.Conv1d`` draw their
  weights uniformly in ``+-1/sqrt(fan_in)`` (kaiming-uniform with ``a=sqrt(5)``). When most
  weight matrices still sit inside that bound with a uniform distribution's shape (kurtosis
  1.8; trained weights are heavy-tailed and pass the bound) the weights are random: renderings
  are sound, but not speech. f5lab's own random checkpoints (the demo, the test fixtures) fill
  the zeroed tensors with small random values so that the sampler has something to do; they are
  caught here, as random.
- **An EMA identical to its initialisation** (trainer files): the EMA weights carry the
  signatures above while the raw weights moved: inference (EMA) runs untrained weights.

``can_speak`` True says only that none of this was found: whether the weights speak well is for
the renderings (and their WER) to show. Cost: the full-scale demo checkpoint (337 M parameters,
1.35 GB .safetensors, page cache warm) took 1.4 s and 519 MiB peak RSS (torch's import included) on
the 2-CPU development machine at load average 5.6. Apart from ``f5lab.model.inspection`` because it reads
tensor values (torch, imported here lazily), where inspection reads the header only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from f5lab.files.checkpoint import EMA_DICT, RAW_DICT, Checkpoint, ModelState, open_checkpoint
from f5lab.files.dtypes import FLOAT_DTYPES

PROJ_OUT = "transformer.proj_out.weight"
# f5-tts zeroes these at construction (DiT, MMDiT ``initialize_weights``), with proj_out
ADALN_SUFFIXES = ("attn_norm.linear.weight", "attn_norm_x.linear.weight", "attn_norm_c.linear.weight",
                  "norm_out.linear.weight")
UNIFORM_KURTOSIS = 1.8  # the kurtosis of a uniform distribution (a normal's is 3)
KURTOSIS_TOLERANCE = 0.15  # a sample of >= 256 values of a uniform draw stays well inside this
MIN_VALUES = 256  # fewer values say nothing about a distribution's shape
BOUND_TOLERANCE = {"F32": 1e-6, "F64": 1e-6, "F16": 1e-3, "BF16": 8e-3}  # rounding of the stored dtype
DEFAULT_INIT_SHARE = 0.5  # more than half of the weight matrices at PyTorch's default init: never trained
KURTOSIS_SAMPLE = 1 << 16  # values a tensor's kurtosis is computed on (its first ones): +-0.01 for a uniform draw
NOISE = "untrained or freshly initialised weights: renderings will be noise"


@dataclass
class Finding:
    """One reason the weights cannot speak (or one fact worth saying), with the tensors behind it."""

    code: str  # "non_finite", "proj_out_zero", "proj_out_constant", "adaln_zero", "default_init", "ema_at_init"
    text: str
    keys: list[str] = field(default_factory=list)
    blocking: bool = True  # rules speech out


@dataclass
class Readiness:
    """Whether the weights can speak (``can_speak``), why, and the findings behind it."""

    can_speak: bool
    why: str
    findings: list[Finding] = field(default_factory=list)
    kind: str | None = None  # None (nothing found), "noise" (zero velocity: the initial noise), "random", "broken"
    source: str = ""  # the state dict checked
    checked: int = 0  # tensors read
    default_init: tuple[int, int] = (0, 0)  # weight matrices at PyTorch's default init, of those checked

    def answer(self) -> dict[str, Any]:
        """What ``summary.json`` carries as ``answer["weights"]``."""
        return {"can_speak": self.can_speak, "why": self.why}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["default_init"] = list(self.default_init)
        return d


# -- per tensor ---------------------------------------------------------------------------------------------
@dataclass
class Scan:
    """What one pass over a state dict found."""

    non_finite: list[str] = field(default_factory=list)
    adaln: list[str] = field(default_factory=list)
    adaln_zero: list[str] = field(default_factory=list)
    proj_out: str | None = None  # "zero", "constant", or None (varies)
    matrices: int = 0
    default_init: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def init_share(self) -> float:
        return len(self.default_init) / self.matrices if self.matrices else 0.0

    @property
    def untrained(self) -> bool:
        """f5-tts's construction-time zeros, or PyTorch's default init on most matrices."""
        return (bool(self.adaln) and len(self.adaln_zero) == len(self.adaln)) or self.proj_out == "zero" or (
            self.matrices > 0 and self.init_share > DEFAULT_INIT_SHARE)


def fan_in(name: str, shape: tuple[int, ...]) -> int | None:
    """The fan-in PyTorch's default init used for a Linear / Conv weight; None for what it does not
    draw that way (embeddings, norms, biases, f5-tts's zeroed layers)."""
    if not name.endswith(".weight") or len(shape) < 2 or "embed.text_embed" in name:
        return None
    if name.endswith(ADALN_SUFFIXES) or name == PROJ_OUT:
        return None
    return math.prod(shape[1:])  # Linear [out, in]; Conv1d [out, in / groups, k]


def looks_default_init(t: Any, fan: int, dtype: str, lo: float | None = None, hi: float | None = None) -> bool:
    """Spread no wider than kaiming-uniform's ``+-1/sqrt(fan_in)``, with a uniform distribution's kurtosis."""
    import torch

    if t.numel() < MIN_VALUES:
        return False
    flat = t.detach().reshape(-1)
    bound = 1.0 / math.sqrt(fan)
    if lo is None or hi is None:
        lo, hi = (float(x) for x in torch.aminmax(flat))
    # the half-range, not the largest value: an offset (f5lab's stand-in EMA adds 1e-3) keeps the draw's shape
    if (hi - lo) / 2 > bound * (1 + BOUND_TOLERANCE.get(dtype, 1e-3)):
        return False
    x = flat[:KURTOSIS_SAMPLE].double()
    x = x - x.mean()
    var = float(torch.dot(x, x)) / x.numel()
    if var == 0:
        return False
    kurt = float((x ** 4).mean()) / var ** 2
    return abs(kurt - UNIFORM_KURTOSIS) <= KURTOSIS_TOLERANCE


def scan(ckpt: Checkpoint, state: ModelState) -> Scan:
    """One pass over ``state``'s float tensors, one at a time."""
    import torch

    from f5lab.files.checkpoint import torch_dtype_name

    out = Scan()
    names = [n for n, info in state.tensors.items() if info.dtype in FLOAT_DTYPES]
    for name in names:
        t = ckpt.read_tensor(state, name)
        out.checked += 1
        lo, hi = (float(x) for x in torch.aminmax(t.detach())) if t.numel() else (0.0, 0.0)
        if not (math.isfinite(lo) and math.isfinite(hi)):  # a NaN anywhere makes both NaN, an Inf one of them
            out.non_finite.append(name)
        if name.endswith(ADALN_SUFFIXES):
            out.adaln.append(name)
            if lo == hi == 0:
                out.adaln_zero.append(name)
        if name == PROJ_OUT:
            out.proj_out = "zero" if lo == hi == 0 else ("constant" if lo == hi else None)
        fan = fan_in(name, tuple(t.shape))
        if fan is not None:
            out.matrices += 1
            if looks_default_init(t, fan, torch_dtype_name(t.dtype), lo, hi):
                out.default_init.append(name)
        del t
    return out


# -- the verdict ------------------------------------------------------------------------------------------------
def findings_of(s: Scan, which: str = "") -> list[Finding]:
    """What rules speech out in one scanned state dict (``which``: a word naming it, e.g. "EMA ")."""
    out = []
    if s.non_finite:
        out.append(Finding("non_finite", f"{len(s.non_finite)} {which}tensor(s) hold NaN or Inf: every rendering "
                           "is NaN", s.non_finite[:8]))
    if s.proj_out == "zero":
        out.append(Finding("proj_out_zero", f"the {which}output projection (proj_out) is all zero: the velocity field "
                           "is zero and every rendering is the initial noise", [PROJ_OUT]))
    elif s.proj_out == "constant":
        out.append(Finding("proj_out_constant", f"the {which}output projection (proj_out) is one constant: the "
                           "velocity is the same in every mel bin, so no rendering can be speech", [PROJ_OUT]))
    if s.adaln and len(s.adaln_zero) == len(s.adaln):
        out.append(Finding("adaln_zero", f"all {len(s.adaln)} {which}adaLN modulation weights are zero: f5-tts's "
                           "initialisation (DiT/MMDiT initialize_weights), never trained", s.adaln_zero[:8]))
    if s.matrices and s.init_share > DEFAULT_INIT_SHARE:
        out.append(Finding("default_init", f"{len(s.default_init)} of {s.matrices} {which}weight matrices are still "
                           "PyTorch's default initialisation (uniform within 1/sqrt(fan_in)): random weights, never "
                           "trained; renderings are noise-like sound, not speech", s.default_init[:8]))
    return out


def speech_readiness(ckpt: Checkpoint | str | Any) -> Readiness:
    """Whether ``ckpt`` (an open ``Checkpoint`` or a path) can speak, from its tensors: see the module."""
    ckpt = open_checkpoint(ckpt)
    state = ckpt.model_state("ema")
    s = scan(ckpt, state)
    findings = findings_of(s)
    checked = s.checked
    if state.source == EMA_DICT and RAW_DICT in ckpt.state_dicts and s.untrained:
        raw = scan(ckpt, ckpt.model_state("raw"))
        checked += raw.checked
        if not raw.untrained and not raw.non_finite:
            findings.append(Finding("ema_at_init", "the EMA weights (what inference runs) are still their "
                                    "initialisation while the raw weights trained: export the raw weights "
                                    "(model_state_dict) or train past f5-tts's EMA warm-up", []))
    kind = ("broken" if s.non_finite else "noise" if s.proj_out == "zero" or (
        s.adaln and len(s.adaln_zero) == len(s.adaln)) or s.proj_out == "constant"
        else "random" if findings else None)
    blocking = [f for f in findings if f.blocking]
    if not blocking:
        why = ("no sign of untrained weights (output projection and adaLN trained, no NaN/Inf, weights past their "
               "initialisation): whether it speaks well is for the renderings to show")
    else:
        head = NOISE if kind in ("noise", "random") else "weights that cannot speak"
        why = f"{head}: " + "; ".join(f.text for f in blocking)
    return Readiness(can_speak=not blocking, why=why, findings=findings, kind=kind, source=state.source,
                     checked=checked, default_init=(len(s.default_init), s.matrices))


def identical_renderings(waves: dict[Any, Any]) -> list[list[Any]]:
    """Groups (of two or more) of grid keys whose audio is bit-identical: different candidates
    rendering the same samples means the model did nothing (the initial noise went through)."""
    import hashlib

    import numpy as np

    groups: dict[str, list[Any]] = {}
    for key, wav in waves.items():
        a = np.ascontiguousarray(np.asarray(wav))
        groups.setdefault(hashlib.sha256(a.tobytes() + str(a.dtype).encode()).hexdigest(), []).append(key)
    return [keys for keys in groups.values() if len(keys) > 1]

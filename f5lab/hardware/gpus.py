"""The GPU catalogue: memory and the compute-capability facts that decide dtype and attention.

Plain data, no torch. ``total_mib`` is what ``nvidia-smi`` reports for the card (ECC and
firmware reservations already taken off where they apply), so it is the ceiling a process
can ever see; ``f5lab.hardware.memory`` subtracts the CUDA context and a fragmentation reserve on top.
Throughput and bandwidth are spec-sheet peaks (dense, no sparsity): ``fp32_tflops`` is the
CUDA-core rate, ``fp16_tflops`` the rate PyTorch's fp16 matmuls get there (tensor cores with fp32
accumulation, which GeForce cards run at half their fp16-accumulate figure; 2x fp32 on a GTX 16xx;
on consumer Pascal the fp32 rate, not the spec sheet's 1/64: see ``PASCAL_FP16``), ``bandwidth_gbs``
the memory bandwidth. ``f5lab.hardware.speed`` turns them into seconds per call with one efficiency
factor taken from published measurements.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from f5lab.errors import ConfigError
from f5lab.units import MIB


@dataclass(frozen=True)
class GPU:
    """One card: memory, architecture and the precision facts that matter for F5-TTS."""

    name: str
    total_mib: int
    arch: str
    cc: tuple[int, int]
    fp32_tflops: float
    fp16_speed: str  # relative to fp32 on this card: "1/64", "2x", "tensor cores"...
    bf16_native: bool
    aliases: tuple[str, ...] = ()
    fp16_tflops: float = 0.0  # what an fp16 matmul gets (see the module docstring); 0: unknown
    bandwidth_gbs: float = 0.0  # memory bandwidth, GB/s; 0: unknown

    @property
    def sm(self) -> str:
        """The SASS name of this compute capability, e.g. ``sm_61``."""
        return f"sm_{self.cc[0]}{self.cc[1]}"

    @property
    def total_bytes(self) -> int:
        return self.total_mib * MIB

    @property
    def cc_str(self) -> str:
        return f"{self.cc[0]}.{self.cc[1]}"

    @property
    def fp16_fast(self) -> bool:
        """Whether the card has fast native fp16 arithmetic (false on consumer Pascal, whose fp16 units
        run at 1/64 of fp32; PyTorch's fp16 there computes in fp32: ``fp16_pseudo``)."""
        return self.cc >= (7, 0) or self.cc == (6, 0)

    @property
    def fp16_pseudo(self) -> bool:
        """Consumer Pascal (sm_6x but sm_60): fp16 is stored, but cuBLAS GEMMs and PyTorch's kernels
        compute in fp32, so an fp16 call runs at about the fp32 rate (``PASCAL_FP16``), not at 1/64."""
        return self.cc[0] == 6 and self.cc != (6, 0)

    @property
    def f5_tts_default_dtype(self) -> str:
        """What f5-tts's ``load_checkpoint`` picks by itself: fp16 only when cc major >= 7."""
        return "fp16" if self.cc[0] >= 7 else "fp32"

    def attention_backends(self, dtype: str) -> list[str]:
        """SDPA kernels PyTorch can pick here for ``dtype``: flash needs cc >= 8.0 and fp16/bf16;
        the memory-efficient kernel runs from cc 5.0 (bf16 from 8.0); math runs everywhere."""
        out = []
        if self.cc >= (8, 0) and dtype in ("fp16", "bf16"):
            out.append("flash")
        if self.cc >= (5, 0) and (dtype != "bf16" or self.cc >= (8, 0)):
            out.append("efficient")
        out.append("math")
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cc"] = self.cc_str
        d["total_bytes"] = self.total_bytes
        return d


def _g(name: str, mib: int, arch: str, cc: tuple[int, int], tflops: float, fp16_tflops: float, gbs: float,
       fp16: str, bf16: bool, *aliases: str) -> GPU:
    return GPU(name, mib, arch, cc, tflops, fp16, bf16, aliases, fp16_tflops=fp16_tflops, bandwidth_gbs=gbs)


# fp16 on consumer Pascal (cc 6.1/6.2): the spec sheet's native fp16 FMA rate is 1/64 of fp32, but PyTorch
# stores fp16 and runs its GEMMs through cuBLAS with fp32 compute (pseudo-fp16) and its element-wise and
# memory-efficient attention kernels in fp32 arithmetic; published runs put fp16 near fp32 speed. Not
# measured on any card here: benchmarks/bench_gpu.py times fp16 against fp32 on the first GPU it runs on.
PASCAL_FP16 = {
    "rate": "about the fp32 rate (fp16 storage, fp32 compute), not the spec sheet's 1/64",
    "sources": ("tensorflow/tensorflow#15585 (fp16 GEMMs on Pascal use an fp32 compute type: not much faster, "
                "if faster at all)", "tensorflow/tensorflow#25405 (GTX 1080: fp16 inference 20-30% faster than "
                "fp32)", "u39kun/deep-learning-benchmark#10 (GTX 1080 Ti: fp16 a marginal speed-up over fp32)",
                "jcjohnson/neural-style#425 (Titan Xp: fp16 and fp32 at similar speed)",
                "SeanNaren/deepspeech.pytorch#55 (Titan X Pascal, 2017 PyTorch: fp16 about 2x slower)"),
    "measured": "not measured on this card",
}


def pascal_fp16_note() -> str:
    """The one sentence every fp16-on-Pascal line says, with its sources."""
    return (f"fp16 on consumer Pascal runs at {PASCAL_FP16['rate']}; published: "
            + "; ".join(PASCAL_FP16["sources"]) + f"; {PASCAL_FP16['measured']}")


SLOW_FP16 = "fp32 rate (fp16 stored, fp32 compute; native fp16 units 1/64 of fp32)"
# name, nvidia-smi MiB, chip, cc, fp32 TFLOPS, fp16 matmul TFLOPS, GB/s, fp16 class, bf16 native, aliases
GPUS: dict[str, GPU] = {g.name: g for g in (
    _g("GTX 1050 Ti", 4096, "Pascal GP107", (6, 1), 2.1, 2.1, 112, SLOW_FP16, False, "1050ti", "1050 ti"),
    _g("GTX 1060 6GB", 6144, "Pascal GP106", (6, 1), 4.4, 4.4, 192, SLOW_FP16, False, "1060"),
    _g("GTX 1650", 4096, "Turing TU117", (7, 5), 3.0, 6.0, 128, "2x fp32, no tensor cores", False, "1650"),
    _g("RTX 2060", 6144, "Turing TU106", (7, 5), 6.5, 25.8, 336, "tensor cores", False, "2060"),
    _g("RTX 3060", 12288, "Ampere GA106", (8, 6), 12.7, 25.6, 360, "tensor cores", True, "3060"),
    _g("T4", 15360, "Turing TU104", (7, 5), 8.1, 65.0, 320, "tensor cores", False, "tesla t4"),
    _g("A10G", 23028, "Ampere GA102", (8, 6), 31.2, 125.0, 600, "tensor cores", True, "a10g"),
    _g("L4", 23034, "Ada AD104", (8, 9), 30.3, 121.0, 300, "tensor cores", True),
    _g("RTX 3090", 24576, "Ampere GA102", (8, 6), 35.6, 71.0, 936, "tensor cores", True, "3090"),
    _g("RTX 4090", 24564, "Ada AD102", (8, 9), 82.6, 165.2, 1008, "tensor cores", True, "4090"),
    _g("L20", 46068, "Ada AD102", (8, 9), 59.8, 119.5, 864, "tensor cores", True),
    _g("A100 40GB", 40960, "Ampere GA100", (8, 0), 19.5, 312.0, 1555, "tensor cores", True, "a100-40gb", "a100 40"),
    _g("A100 80GB", 81920, "Ampere GA100", (8, 0), 19.5, 312.0, 2039, "tensor cores", True, "a100-80gb", "a100 80",
       "a100"),
    _g("H100 80GB", 81559, "Hopper GH100", (9, 0), 67.0, 989.0, 3350, "tensor cores", True, "h100"),
    _g("H200", 143771, "Hopper GH100", (9, 0), 67.0, 989.0, 4800, "tensor cores", True, "h200 141gb"),
)}


def _norm(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalnum())


def get_gpu(name: str | GPU) -> GPU:
    """A catalogue entry by name (case, spaces and a leading vendor word ignored), or a
    ConfigError that lists every known name."""
    if isinstance(name, GPU):
        return name
    key = _norm(name).removeprefix("nvidia").removeprefix("geforce").removeprefix("tesla")
    for gpu in GPUS.values():
        if key in {_norm(gpu.name), *map(_norm, gpu.aliases)}:
            return gpu
    raise ConfigError(f"--gpu {name!r}: unknown GPU; known: {', '.join(GPUS)}")


def find_gpu(name: str) -> GPU | None:
    """The catalogue entry for a name as ``nvidia-smi`` or torch reports it, or None."""
    try:
        return get_gpu(name)
    except ConfigError:
        return None


def gpu_from_device(name: str, total_bytes: int, cc: tuple[int, int]) -> GPU:
    """A card seen on this machine: the catalogue's entry with the memory the device reports,
    or, for a card the catalogue lacks, one with unknown throughput (speed then unknown)."""
    known = find_gpu(name)
    mib = int(total_bytes // MIB)
    if known is not None:
        return GPU(**{**asdict(known), "total_mib": mib, "cc": tuple(cc), "aliases": known.aliases})
    return GPU(name, mib, "unknown", tuple(cc), 0.0, "unknown", cc >= (8, 0))

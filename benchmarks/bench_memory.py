"""f5lab.hardware.memory at full F5TTS_Base scale: the analytic estimate vs one real CFM.sample call.

For 5, 10 and 20 s of audio (CFG on, fp32, math attention: the path that holds the
heads x N x N scores) it loads the cached 1.35 GB demo checkpoint once, runs one real
sampling call per length under the torch profiler (CPU) or the CUDA allocator counters
(when a GPU is present), and prints estimate, measurement and relative error.

Why one ODE step (nfe=1) stands for the whole call: every step runs the same backbone on
the same shapes (ref + generated frames, 2b with CFG), the text embedding is cached after
the first step, and torchdiffeq preallocates the trajectory up front, so the step peak is
identical at step 1 and step 32. The estimate is evaluated at the same nfe; only the
trajectory buffer ((nfe + 1) x N x 100 mel values) and two solver rows grow with nfe, and the
estimate at NFE 32 (printed beside) adds them analytically.

Run: .venv/bin/python benchmarks/bench_memory.py [--flash] [--out benchmarks/results/memory_cpu.json]
(about 3-6 minutes on 2 CPU cores; peak RAM about 3.5 GB).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

SECONDS = (5.0, 10.0, 20.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flash", action="store_true", help="Also measure the flash (no N x N) path at 10 s.")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available).")
    ap.add_argument("--out", default=None, help="Write the table as JSON here.")
    args = ap.parse_args()

    import torch

    from f5lab.synthetic.demo import demo_checkpoint
    from f5lab.model.inspection import inspect_checkpoint
    from f5lab.hardware.memory import compare, estimate, measure
    from f5lab.hardware.memory_measure import _load

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    path = demo_checkpoint()
    spec = inspect_checkpoint(path).spec
    t0 = time.perf_counter()
    model = _load(str(path), None, device, "fp32")  # loaded once, reused for every length
    print(f"loaded {path.name} on {device} in {time.perf_counter() - t0:.1f} s")
    if device == "cuda":  # warm-up: cuBLAS workspace and kernels, so the first length is not penalised
        measure(model, 1.0, device=device, nfe=1, attn="math")

    runs = [(s, "math") for s in SECONDS] + ([(10.0, "flash")] if args.flash else [])
    rows = []
    hdr = (f"{'seconds':>7} {'frames':>6} {'attn':>5} {'estimate MiB':>12} {'measured MiB':>12} {'error':>7} "
           f"{'peak phase':>11} {'RSS+ MiB':>9} {'est. NFE32 total GiB':>20} {'wall s':>7}")
    print(hdr)
    for seconds, attn in runs:
        meas = measure(model, seconds, device=device, dtype="fp32", cfg=True, nfe=1, attn=attn)
        est = estimate(spec, seconds, dtype="fp32", cfg=True, nfe=1, attn=attn, device=device)
        full = estimate(spec, seconds, dtype="fp32", cfg=True, nfe=32, attn=attn, device="cuda")
        row = {**compare(est, meas), "peak_phase": est.peak_phase, "wall_s": round(meas.wall_s, 2),
               "estimate_nfe32_total_cuda_bytes": full.total_bytes}
        rows.append(row)
        rss = row.get("rss_peak_delta_bytes")
        print(f"{seconds:7g} {est.frames:6d} {attn:>5} {est.activation_bytes / 2**20:12.1f} "
              f"{meas.activation_peak_bytes / 2**20:12.1f} {100 * row['activation_rel_error']:+6.1f}% "
              f"{est.peak_phase:>11} {(rss or 0) / 2**20:9.1f} {full.total_bytes / 2**30:20.2f} {meas.wall_s:7.1f}",
              flush=True)
    worst = max(abs(r["activation_rel_error"]) for r in rows)
    print(f"worst relative error {100 * worst:.2f}% (target: within 15%)")
    if args.out:
        out = {"what": f"f5lab.hardware.memory estimate vs measured activation peak, F5TTS_Base full scale, {device}",
               "device": device, "cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
               "measured_with": "torch profiler [memory] events (CPU)" if device == "cpu" else
               "torch.cuda.max_memory_allocated", "nfe": 1, "cfg": True, "dtype": "fp32", "rows": rows}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0 if worst < 0.15 else 1


if __name__ == "__main__":
    sys.exit(main())

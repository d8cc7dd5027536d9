"""f5lab.hardware.speed at full F5TTS_Base scale: predicted against measured CPU sampling time.

Builds a full-scale F5TTS_Base checkpoint with random weights (1.35 GB, in a temporary folder
under /tmp, removed at the end), loads it once on the CPU in fp32, and for 5 s and 15 s of
audio at NFE 2 and 4 (CFG on, no reference, PyTorch's own attention kernel) runs one real
``CFM.sample`` call. Each case is ``f5lab.hardware.speed.check_cpu``: a short calibration of this
CPU (matmul, attention, memory bandwidth, dispatch) right before the call and again right after,
so load from other processes weighs on the prediction and on the measurement alike. The
prediction must land within +-30% of the measurement in every case (exit 1 otherwise).

``--threads`` (default 1): torch's intra-op threads for calibration and calls. On a machine other
processes load, a multi-threaded call loses far more than a short calibration does (each of its
~700 parallel regions per step waits for whichever of its threads was descheduled), so one thread
keeps the load's effect alike on both; on a quiet machine, ``--threads 2`` (or all cores) checks
the multi-threaded case.

Run: .venv/bin/python benchmarks/bench_speed.py [--threads 1] [--json benchmarks/results/speed_cpu.json]
(about 5-10 minutes on 2 CPU cores with one thread: the build, then the sampling; peak RAM about 4 GB).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

CASES = [(5.0, 2), (5.0, 4), (15.0, 2), (15.0, 4)]  # (seconds of audio, NFE)
TOLERANCE = 0.30


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", dest="json_out", default=None, help="Write {'cases': [...]} here.")
    ap.add_argument("--keep", action="store_true", help="Keep the temporary checkpoint (its path is printed).")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1; see above).")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(max(1, args.threads))

    from f5lab.hardware.memory_measure import _load
    from f5lab.hardware.speed import check_cpu
    from f5lab.model.inspection import inspect_checkpoint
    from f5lab.synthetic.layouts import build_checkpoint

    folder = Path(tempfile.mkdtemp(prefix="f5lab-bench-speed-", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        path = build_checkpoint(folder / "f5tts_base_full.safetensors", config="F5TTS_Base", scale="full").path
        spec = inspect_checkpoint(path).spec
        model = _load(str(path), "F5TTS_Base", "cpu", "fp32")
        print(f"built and loaded {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t0:.0f} s; "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        print(f"{'seconds':>7} {'NFE':>4} {'predicted s':>11} {'measured s':>10} {'ratio':>6}  "
              f"{'predicted from the calibration before / after':>46}  {'CPU share':>9}")
        cases = []
        for seconds, nfe in CASES:
            row = check_cpu(model, spec, seconds, nfe=nfe)
            cases.append(row)
            print(f"{seconds:7g} {nfe:4d} {row['predicted_s']:11.2f} {row['measured_s']:10.2f} {row['ratio']:6.2f}  "
                  f"{row['predicted_before_s']:31.2f} / {row['predicted_after_s']:<12.2f}  {row['cpu_share']:9.2f}")
        ok = all(abs(c["ratio"] - 1) <= TOLERANCE for c in cases)
        ratios = ", ".join(f"{c['ratio']:.2f}" for c in cases)
        print(f"predicted/measured: {ratios}; {'all' if ok else 'NOT all'} within +-{TOLERANCE:.0%}")
        if args.json_out:
            from f5lab.outputs import replace_text

            doc = {"cases": cases, "ok": ok, "tolerance": TOLERANCE, "torch": torch.__version__,
                   "threads": torch.get_num_threads(), "machine": platform.machine(),
                   "processor": platform.processor() or None}
            replace_text(Path(args.json_out), json.dumps(doc, indent=2) + "\n")
            print(f"wrote {args.json_out}")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

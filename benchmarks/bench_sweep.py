"""What the sweep machinery costs and what parallel workers buy, against baselines measured in the same run.

One small sweep (a tiny trained run: 2 checkpoints x NFE 2 and 4 = 4 points, the
``sweep_point`` notebook each) three ways:

- direct: papermill runs the same notebook with the same parameters, point after point, in
  this process (``runner.execute``, as the sweep's workers do): the baseline;
- ``run_sweep(workers=1)``: the same points through a Dask LocalCluster of one process;
- ``run_sweep(workers=2)``: two worker processes.

Figures: throughput ratio (1-worker wall / 2-worker wall; target >= 1.5x on 2 cores) and
per-point overhead (1-worker wall / direct wall; target <= 1.10x). The machine's load average
is printed with them: on a shared machine other jobs take cores from both.

    .venv/bin/python benchmarks/bench_sweep.py     # ~3-6 min on 2 cores
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

RESULTS = Path(__file__).resolve().parent / "results" / "sweep_cpu.json"
TARGET_SPEEDUP, TARGET_OVERHEAD = 1.5, 1.10


def spec_for(run):
    from f5lab.reporting.sweepspec import make_spec

    return make_spec([run.folder / "model_10.pt", run.last], config=run.config, configs="tiny", nfe=[2, 4], asr=None,
                     gen_text="Hi there.", val_audio=[str(run.held_out)], val_text=[run.held_out_text])


def direct(spec, out: Path) -> float:
    """The baseline: the same notebook and parameters, executed one after another with papermill."""
    from f5lab.reporting.comparison import POINT_NOTEBOOK
    from f5lab.reporting.runner import ensure_kernel, execute, notebooks_dir
    from f5lab.reporting.sweepspec import make_points
    from f5lab.reporting.sweepunits import point_params

    ensure_kernel()
    nb = notebooks_dir() / f"{POINT_NOTEBOOK}.ipynb"
    t0 = time.perf_counter()
    for point in make_points(spec):
        folder = out / point["id"]
        folder.mkdir(parents=True)
        r = execute(nb, folder, {**point_params(point, spec, "tiny"), "work_dir": str(folder)}, progress=False)
        assert r.status == "ok", r.error
    return time.perf_counter() - t0


def swept(spec, out: Path, workers: int) -> float:
    from f5lab.reporting.sweep import run_sweep

    t0 = time.perf_counter()
    result = run_sweep(spec, out=out, sweep_id=f"w{workers}", workers=workers, compare=False, progress=False)
    assert result.ok and len(result.ran) == len(result.summary["points"]), result.summary["failed"]
    return time.perf_counter() - t0


def main() -> None:
    from f5lab.synthetic.training_run import build_training_run

    with tempfile.TemporaryDirectory(prefix="f5lab-bench-sweep-") as tmp:
        tmp = Path(tmp)
        run = build_training_run(tmp / "run")
        spec = spec_for(run)
        load_before = os.getloadavg()
        t_direct = direct(spec, tmp / "direct")
        t1 = swept(spec, tmp / "sweeps", 1)
        t2 = swept(spec, tmp / "sweeps", 2)
        load_after = os.getloadavg()
    points = 4
    result = {
        "points": points, "cpu_count": os.cpu_count(),
        "direct_s": round(t_direct, 2), "workers1_s": round(t1, 2), "workers2_s": round(t2, 2),
        "per_point_direct_s": round(t_direct / points, 2), "per_point_workers1_s": round(t1 / points, 2),
        "throughput_ratio_2_vs_1": round(t1 / t2, 3), "overhead_ratio_1_worker_vs_direct": round(t1 / t_direct, 3),
        "targets": {"throughput_ratio_min": TARGET_SPEEDUP, "overhead_ratio_max": TARGET_OVERHEAD},
        "load_average_before": [round(x, 2) for x in load_before], "load_average_after": [round(x, 2) for x in load_after],
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{points} points: direct {t_direct:.1f} s, 1 worker {t1:.1f} s, 2 workers {t2:.1f} s")
    print(f"throughput 2 vs 1 worker: {t1 / t2:.2f}x (target >= {TARGET_SPEEDUP}x)")
    print(f"overhead of the sweep machinery (1 worker vs direct): {t1 / t_direct:.3f}x (target <= {TARGET_OVERHEAD}x)")
    print(f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

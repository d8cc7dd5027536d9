"""How long `f5lab report` takes, against a baseline measured in the same run.

Baseline: papermill executing a one-cell notebook that imports f5-tts in the project's
kernel: the fixed cost every report notebook pays (kernel start + ``import f5_tts.model``).
Figures: the tiny-checkpoint report per notebook, its ratio to 4 x baseline (the four
notebooks' unavoidable start-up), and with ``--demo`` the built-in full-scale demo's wall
time against its 10-minute budget on 2 CPU cores.

    .venv/bin/python benchmarks/bench_report.py          # tiny report, ~1-2 min
    .venv/bin/python benchmarks/bench_report.py --demo   # plus the full demo, ~5-8 min
    .venv/bin/python benchmarks/bench_report.py --plan   # the user's case at full scale, ~10-15 min
    .venv/bin/python benchmarks/bench_report.py --plan --scale tiny   # the same runs on a tiny checkpoint

``--plan``: ``f5lab report`` as a user runs it (the command line, default settings, on the CPU)
on a seed-like checkpoint (F5TTS_Base, 1.35 GB at full scale, ``ema_model.`` prefix, random
weights): once with no ``--config``, once with ``--config E2TTS_Base --nfe 16 --lang pt-BR``.
Each prints its plan first; the figure is the total wall time against that printed prediction
(target: within +-35%, and at most 6 minutes on a quiet 2-core machine), and each notebook's
measured time beside its predicted one (from ``summary.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

DEMO_BUDGET_S = 600.0
RESULTS = Path(__file__).resolve().parent / "results" / "report_cpu.json"


def baseline(tmp: Path) -> float:
    """Seconds for papermill to run `import f5_tts.model` in a fresh f5lab kernel."""
    import nbformat
    import papermill as pm

    from f5lab.reporting.runner import KERNEL_NAME, ensure_kernel

    ensure_kernel()
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import f5_tts.model"))
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python (f5lab)", "language": "python"}
    src = tmp / "baseline.ipynb"
    nbformat.write(nb, src)
    t0 = time.perf_counter()
    pm.execute_notebook(str(src), str(tmp / "baseline.out.ipynb"), kernel_name=KERNEL_NAME, progress_bar=False)
    return time.perf_counter() - t0


def tiny_report(tmp: Path) -> tuple[float, dict[str, float], bool]:
    from f5lab.synthetic.layouts import build_checkpoint
    from f5lab.reporting.reports import run_report

    ckpt = build_checkpoint(tmp / "tiny.safetensors", config="F5TTS_Base", scale="tiny").path
    t0 = time.perf_counter()
    rep = run_report(ckpt, out=tmp / "reports", run_id="tiny", progress=False, nfe=2, gen_text="Hi there.")
    total = time.perf_counter() - t0
    return total, {r.name: round(r.seconds, 2) for r in rep.results}, rep.ok


def demo_report(tmp: Path) -> tuple[float, dict[str, float], bool]:
    from f5lab.reporting.reports import run_report

    t0 = time.perf_counter()
    rep = run_report(None, out=tmp / "reports", run_id="demo", progress=False)
    total = time.perf_counter() - t0
    return total, {r.name: round(r.seconds, 2) for r in rep.results}, rep.ok


PLAN_RUNS = {"default": [], "e2tts_nfe16_ptbr": ["--config", "E2TTS_Base", "--nfe", "16", "--lang", "pt-BR"]}
PLAN_TOLERANCE = 0.35  # total wall within +-35% of the printed prediction
PLAN_BUDGET_S = 360.0  # at most 6 minutes on a quiet 2-core machine


def plan_runs(tmp: Path, scale: str) -> dict[str, object]:
    """``f5lab report CKPT [options]`` as a subprocess per run of ``PLAN_RUNS``: wall time against the
    plan it printed (read back from summary.json), per notebook and in total."""
    import subprocess
    import sys

    from f5lab.synthetic.demo import demo_checkpoint

    ckpt = demo_checkpoint(scale=scale)  # seed-like: release .safetensors, ema_model. prefix; cached
    extra = ["--configs", "tiny"] if scale == "tiny" else []
    out: dict[str, object] = {"checkpoint_bytes": ckpt.stat().st_size, "scale": scale}
    for name, options in PLAN_RUNS.items():
        cmd = [sys.executable, "-m", "f5lab", "report", str(ckpt), "--out", str(tmp / "plan"), "--run-id", name,
               *extra, *options]
        print(f"$ f5lab report {ckpt.name} {' '.join(extra + options)}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, text=True, capture_output=True)
        wall = time.perf_counter() - t0
        lines = proc.stdout.splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith("plan:")), len(lines))
        end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
        print("\n".join(lines[start:end]))  # the plan as the user saw it
        summary = json.loads((tmp / "plan" / name / "summary.json").read_text(encoding="utf-8"))
        plan = summary["plan"]
        predicted = float(summary["timings"]["plan"]["predicted_total"]["value"])
        ratio = wall / predicted if predicted else float("nan")
        row = {"options": options, "exit": proc.returncode, "wall_s": round(wall, 1), "predicted_s": predicted,
               "wall_over_predicted": round(ratio, 2), "within_35pct": abs(ratio - 1) <= PLAN_TOLERANCE,
               "within_6_min": wall <= PLAN_BUDGET_S, "renderings": plan["renderings"], "nfe": plan["nfe"],
               "configs": plan["configs"],
               "per_notebook": {n: {"measured_s": summary["timings"][n]["notebook"]["value"],
                                    "predicted_s": summary["timings"][n]["predicted"]["value"]}
                                for n in plan["notebooks"]}}
        out[name] = row
        print(f"{name}: wall {wall:6.1f} s, predicted {predicted:6.1f} s, wall/predicted {ratio:.2f} "
              f"({'within' if row['within_35pct'] else 'OUTSIDE'} +-35%; "
              f"{'within' if row['within_6_min'] else 'OVER'} 6 min); exit {proc.returncode}")
        for n, t in row["per_notebook"].items():
            print(f"    {n:18s} measured {t['measured_s']:6.1f} s, predicted {t['predicted_s']:6.1f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="also time the full-scale built-in demo (minutes)")
    parser.add_argument("--plan", action="store_true", help="the user's report on a seed-like checkpoint, against "
                        "its printed prediction (full scale: minutes)")
    parser.add_argument("--scale", choices=("full", "tiny"), default="full", help="checkpoint scale for --plan")
    parser.add_argument("--plan-only", action="store_true", help="skip the baseline and the tiny report")
    args = parser.parse_args()
    out: dict[str, object] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    out["cpu_count"] = os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="f5lab-bench-report-") as d:
        tmp = Path(d)
        if args.plan:
            key = "plan_full_scale" if args.scale == "full" else "plan_tiny_scale"
            out[key] = plan_runs(tmp, args.scale)
            if args.plan_only:
                write_results(out)
                return
        base = baseline(tmp)
        total, per, ok = tiny_report(tmp)
        out.update(baseline_kernel_plus_import_s=round(base, 2), tiny_report_s=round(total, 2),
                   tiny_per_notebook_s=per, tiny_ok=ok, tiny_ratio_to_4_baselines=round(total / (4 * base), 2))
        print(f"baseline (kernel start + import f5_tts.model): {base:6.1f} s")
        print(f"tiny report, 4 notebooks + HTML + summary:    {total:6.1f} s  ({total / (4 * base):.2f} x 4 baselines)")
        for name, s in per.items():
            print(f"    {name:18s} {s:6.1f} s")
        if args.demo:
            total, per, ok = demo_report(tmp)
            out.update(demo_report_s=round(total, 2), demo_per_notebook_s=per, demo_ok=ok,
                       demo_budget_s=DEMO_BUDGET_S, demo_ratio_to_budget=round(total / DEMO_BUDGET_S, 2))
            print(f"demo report (full-scale F5TTS_Base):          {total:6.1f} s  "
                  f"({total / DEMO_BUDGET_S:.2f} of the {DEMO_BUDGET_S:.0f} s budget)")
            for name, s in per.items():
                print(f"    {name:18s} {s:6.1f} s")
    write_results(out)


def write_results(out: dict[str, object]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

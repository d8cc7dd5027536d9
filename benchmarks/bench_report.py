"""How long `f5lab report` takes, against a baseline measured in the same run.

Baseline: papermill executing a one-cell notebook that imports f5-tts in the project's
kernel: the fixed cost every report notebook pays (kernel start + ``import f5_tts.model``).
Figures: the tiny-checkpoint report per notebook, its ratio to 4 x baseline (the four
notebooks' unavoidable start-up), and with ``--demo`` the built-in full-scale demo's wall
time against its 10-minute budget on 2 CPU cores.

    .venv/bin/python benchmarks/bench_report.py          # tiny report, ~1-2 min
    .venv/bin/python benchmarks/bench_report.py --demo   # plus the full demo, ~5-8 min
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="also time the full-scale built-in demo (minutes)")
    args = parser.parse_args()
    out: dict[str, object] = {"cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="f5lab-bench-report-") as d:
        tmp = Path(d)
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
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

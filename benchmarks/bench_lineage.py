"""`f5lab lineage` on two full-scale F5TTS_Base files against `f5lab verify`'s tensor comparison.

Built on the fly in a temporary folder (``$BENCH_DIR`` or /tmp; deleted at the end, never
committed), each in a child process: a full-scale F5TTS_Base release .safetensors with random
weights (seed 0, 1.35 GB, the "base"), a second file that is the first with every float tensor
perturbed by 2% of its own standard deviation (a stand-in for a fine-tune of it), and an
independent F5TTS_v1_Base of seed 1 (the other base). Then, in fresh processes, alternating,
REPEATS times each (page cache warm, one untimed run first):

- ``f5lab lineage FT --base BASE --json`` (one base),
- ``f5lab lineage FT --base BASE --base OTHER --json`` (what a user runs: v0 and v1),
- verify's tensor comparison of FT against BASE (``f5lab.compat.verify._compare_tensors``: the
  part of ``f5lab verify`` that reads every tensor pair; its bytes differ, so every pair is read
  as tensors),
- ``python -c "import torch"`` (the floor both start from).

Printed: best wall, CPU and the largest peak RSS (wait4) of each, the ratios of lineage to
verify's comparison, and lineage's peak RSS over the import's against the file's size
(target: well under one file's size for .safetensors). The verdict is checked: FT descends from
BASE.

    .venv/bin/python benchmarks/bench_lineage.py [--repeats 2] [--keep DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import run_measured  # noqa: E402

PY = sys.executable
PERTURB = 0.02  # x each tensor's standard deviation

BUILD = """
import sys
from f5lab.synthetic.layouts import build_checkpoint
build_checkpoint(sys.argv[1], sys.argv[2], "release_safetensors", "full", seed=int(sys.argv[3]))
"""
PERTURBED = """
import sys, torch
from safetensors import safe_open
from safetensors.torch import save_file
gen, out = torch.Generator().manual_seed(1), {}
with safe_open(sys.argv[1], framework="pt") as fh:
    for key in fh.keys():
        t = fh.get_tensor(key)
        if t.is_floating_point() and t.numel() > 1:
            t = t + float(sys.argv[3]) * t.std() * torch.randn(t.shape, generator=gen)
        out[key] = t.contiguous()
save_file(out, sys.argv[2], metadata={"format": "pt"})
"""
VERIFY_COMPARE = """
import json, resource, sys, time
t0 = time.perf_counter()
from f5lab.compat.verify import Verification, _compare_tensors
from f5lab.compat.remap import plan_remap
from f5lab.files.checkpoint import open_checkpoint
src, dst = open_checkpoint(sys.argv[1]), open_checkpoint(sys.argv[2])
plan = plan_remap(src, "F5TTS_Base")
result = Verification(src=sys.argv[1], dst=sys.argv[2], config="F5TTS_Base", config_reason="", dtype="F32")
t1 = time.perf_counter()
_compare_tensors(plan, src, dst, result)
print(json.dumps({"compare_s": time.perf_counter() - t1, "checked": result.tensors_checked,
                  "equal": result.tensors_equal}))
"""


def build(folder: Path) -> dict[str, Path]:
    paths = {"base": folder / "F5TTS_Base" / "model_1200000.safetensors",
             "other": folder / "F5TTS_v1_Base" / "model_1250000.safetensors",
             "finetune": folder / "finetune.safetensors"}
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([PY, "-c", BUILD, str(paths["base"]), "F5TTS_Base", "0"], check=True)
    subprocess.run([PY, "-c", BUILD, str(paths["other"]), "F5TTS_v1_Base", "1"], check=True)
    subprocess.run([PY, "-c", PERTURBED, str(paths["base"]), str(paths["finetune"]), str(PERTURB)], check=True)
    for name, p in paths.items():
        print(f"built {name}: {p} ({p.stat().st_size / 1e9:.2f} GB)", flush=True)
    return paths


def commands(paths: dict[str, Path]) -> dict[str, list[str]]:
    lineage = [PY, "-m", "f5lab", "lineage", str(paths["finetune"]), "--base", str(paths["base"])]
    return {"f5lab lineage, 1 base": lineage + ["--json"],
            "f5lab lineage, 2 bases": lineage + ["--base", str(paths["other"]), "--json"],
            "verify's tensor comparison": [PY, "-c", VERIFY_COMPARE, str(paths["base"]), str(paths["finetune"])],
            "python -c 'import torch'": [PY, "-c", "import torch"]}


def warm(paths: dict[str, Path]) -> None:
    for p in paths.values():
        with open(p, "rb") as fh:
            while fh.read(1 << 24):
                pass


def measure(paths: dict[str, Path], repeats: int) -> dict[str, dict]:
    cmds = commands(paths)
    for cmd in cmds.values():  # untimed: the config-signature cache, the page cache
        subprocess.run(cmd, capture_output=True)
    runs: dict[str, list[dict]] = {k: [] for k in cmds}
    for _ in range(repeats):
        for label, cmd in cmds.items():
            r = run_measured(cmd)
            if r["rc"] != 0:
                raise SystemExit(f"{label} failed (exit {r['rc']}): {r['stderr']}")
            runs[label].append(r)
    out = {label: {"best_wall_s": min(r["wall_s"] for r in rs), "best_cpu_s": min(r["cpu_s"] for r in rs),
                   "peak_rss_mb": max(r["peak_rss_mb"] for r in rs), "walls": [round(r["wall_s"], 2) for r in rs]}
           for label, rs in runs.items()}
    verdict = json.loads(subprocess.run(cmds["f5lab lineage, 2 bases"], capture_output=True, text=True,
                                        check=True).stdout)
    compared = json.loads(subprocess.run(cmds["verify's tensor comparison"], capture_output=True, text=True,
                                         check=True).stdout)
    out["check"] = {"verdict_is_base": verdict["verdict"] == str(paths["base"]), "text": verdict["text"],
                    "distances": {b["name"]: b["distance"] for b in verdict["bases"]},
                    "bases_apart": verdict["pairs"][0]["distance"], "verify_tensors_checked": compared["checked"],
                    "lineage_tensors": verdict["bases"][0]["tensors"]}
    return out


def report(res: dict[str, dict], size: int) -> bool:
    mb = 2**20
    check = res["check"]
    print(f"\nverdict: {check['text']} ({'right' if check['verdict_is_base'] else 'WRONG'}); "
          f"tensors compared: lineage {check['lineage_tensors']}, verify {check['verify_tensors_checked']}")
    print(f"{'':30s} {'wall s':>8s} {'CPU s':>7s} {'peak RSS MiB':>13s}   runs")
    for label, r in res.items():
        if label != "check":
            print(f"{label:30s} {r['best_wall_s']:8.2f} {r['best_cpu_s']:7.2f} {r['peak_rss_mb']:13.0f}   {r['walls']}")
    floor = res["python -c 'import torch'"]["peak_rss_mb"]
    cmp_ = res["verify's tensor comparison"]
    ok = check["verdict_is_base"]
    for label in ("f5lab lineage, 1 base", "f5lab lineage, 2 bases"):
        r = res[label]
        over = (r["peak_rss_mb"] - floor) * mb / size
        ok &= over < 0.5
        print(f"{label}: {r['best_wall_s'] / cmp_['best_wall_s']:.2f}x the wall of verify's comparison "
              f"({r['best_cpu_s'] / cmp_['best_cpu_s']:.2f}x its CPU); peak RSS = torch's import + {over:.3f}x "
              f"the file size ({size / 1e9:.2f} GB)")
    print(f"target (peak RSS well under one file's size: import + < 0.5x): {'met' if ok else 'NOT met'}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="Build into (and keep) this folder instead of a temporary one.")
    ap.add_argument("--json", type=Path, help="Also write the figures here.")
    args = ap.parse_args()
    import os

    folder = args.keep or Path(tempfile.mkdtemp(prefix="f5lab-bench-lineage-", dir=os.environ.get("BENCH_DIR")))
    try:
        paths = {"base": folder / "F5TTS_Base" / "model_1200000.safetensors",
                 "other": folder / "F5TTS_v1_Base" / "model_1250000.safetensors",
                 "finetune": folder / "finetune.safetensors"}
        if not all(p.is_file() for p in paths.values()):
            paths = build(folder)
        warm(paths)
        res = measure(paths, args.repeats)
        ok = report(res, paths["base"].stat().st_size)
        if args.json:
            args.json.write_text(json.dumps({"size_bytes": paths["base"].stat().st_size, "results": res,
                                             "target_met": ok, "load_average": os.getloadavg(),
                                             "cpus": os.cpu_count()}, indent=1))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

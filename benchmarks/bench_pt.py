"""The shape-only commands on a full-scale .pt against the same commands on the equivalent .safetensors.

A .pt is described from its zip directory and data.pkl without importing torch
(f5lab.files.ptfile), so `inspect`, `diagnose`, `matrix` and `profile` should cost about what they
cost on a .safetensors header. Three full-scale F5TTS_Base files are built on the fly in a
temporary folder (deleted at the end, never committed): release .safetensors (the baseline),
release .pt (EMA dict, initted, step) and a trainer model_last.pt (model + EMA + AdamW state +
scheduler + update, 5.4 GB; building it takes ~7.7 GB of RAM for a minute). Each command
runs as a fresh CLI process, REPEATS times per file, alternating files; wall is the median,
peak RSS the largest (wait4). The configs' shape signatures are cached first (one untimed run
per command), as they are after a first use.
For context, `torch.load(weights_only=True, mmap=True)` of each .pt is timed too: the price
the torch path paid before.

Targets (issue 9, 4): every command on a .pt within 1.5x of its wall on the .safetensors,
and under 100 MiB peak RSS.

    .venv/bin/python benchmarks/bench_pt.py [--repeats 3] [--keep DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import run_measured  # noqa: E402

PY = sys.executable
COMMANDS = {"inspect": ["inspect", "{p}", "--json"], "diagnose": ["diagnose", "{p}"], "matrix": ["matrix", "{p}"],
            "profile": ["profile", "{p}"]}
LAYOUTS = {"release .safetensors": ("release_safetensors", "model.safetensors"),
           "release .pt": ("release_pt", "model_release.pt"),
           "trainer .pt (+ optimizer)": ("trainer_pt", "model_last.pt")}
BASELINE = "release .safetensors"
TORCH_LOAD = "import sys, torch; torch.load(sys.argv[1], map_location='cpu', weights_only=True, mmap=True)"


def build(folder: Path) -> dict[str, Path]:
    """One child process per file, so that building a 5 GB trainer file does not stay in this one."""
    paths = {}
    for label, (layout, name) in LAYOUTS.items():
        path = folder / name
        code = ("import sys; from f5lab.synthetic.layouts import build_checkpoint; "
                "build_checkpoint(sys.argv[1], 'F5TTS_Base', sys.argv[2], 'full')")
        subprocess.run([PY, "-c", code, str(path), layout], check=True)
        paths[label] = path
        print(f"built {label}: {path.stat().st_size / 1e9:.2f} GB", flush=True)
    return paths


def measure(paths: dict[str, Path], repeats: int) -> dict[str, dict[str, dict[str, float]]]:
    results: dict[str, dict[str, dict[str, float]]] = {}
    for command, args in COMMANDS.items():
        for path in paths.values():  # warm the signature cache and the page cache
            run_measured([PY, "-m", "f5lab", *[a.format(p=path) for a in args]])
        runs: dict[str, list[dict[str, float]]] = {label: [] for label in paths}
        for _ in range(repeats):
            for label, path in paths.items():
                r = run_measured([PY, "-m", "f5lab", *[a.format(p=path) for a in args]])
                if r["rc"] not in (0, 1):  # diagnose exits 1 for "does not load as is": a verdict
                    raise SystemExit(f"{command} {path} failed: {r['stderr']}")
                runs[label].append(r)
        results[command] = {label: {"wall_s": statistics.median(r["wall_s"] for r in rs),
                                    "peak_rss_mb": max(r["peak_rss_mb"] for r in rs)} for label, rs in runs.items()}
    results["torch.load (reference)"] = {
        label: {k: run_measured([PY, "-c", TORCH_LOAD, str(path)])[k] for k in ("wall_s", "peak_rss_mb")}
        for label, path in paths.items() if path.suffix == ".pt"}
    return results


def report(results: dict[str, dict[str, dict[str, float]]], sizes: dict[str, float]) -> bool:
    print("\nfiles: " + ", ".join(f"{label} {gb:.2f} GB" for label, gb in sizes.items()))
    print(f"{'command':24s} {'file':28s} {'wall s':>8s} {'x .safetensors':>15s} {'peak RSS MiB':>13s}")
    ok = True
    for command, rows in results.items():
        base = rows.get(BASELINE)
        for label, r in rows.items():
            ratio = f"{r['wall_s'] / base['wall_s']:15.2f}" if base else f"{'-':>15s}"
            print(f"{command:24s} {label:28s} {r['wall_s']:8.3f} {ratio} {r['peak_rss_mb']:13.1f}")
            if base and label != BASELINE:
                ok &= r["wall_s"] <= 1.5 * base["wall_s"] and r["peak_rss_mb"] < 100
    print(f"targets (.pt within 1.5x of .safetensors, < 100 MiB peak RSS): {'met' if ok else 'NOT met'}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="Build into (and keep) this folder instead of a temporary one.")
    ap.add_argument("--json", type=Path, help="Also write the figures here.")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="f5lab-bench-pt-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        paths = {label: folder / name for label, (_, name) in LAYOUTS.items()}
        if not all(p.is_file() for p in paths.values()):
            paths = build(folder)
        sizes = {label: p.stat().st_size / 1e9 for label, p in paths.items()}
        results = measure(paths, args.repeats)
        ok = report(results, sizes)
        if args.json:
            args.json.write_text(json.dumps({"sizes_gb": sizes, "results": results, "targets_met": ok}, indent=1))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""f5lab inspect vs finding the same answer with f5-tts's own load_model, on a 1.35 GB checkpoint.

The f5-tts way to learn which config a checkpoint needs is to try load_model with each
candidate until one loads (the seed's team tried E2TTS_Base first). Both run as fresh
processes so wall time includes imports, and peak RSS is the child's own (wait4).

Run: .venv/bin/python benchmarks/bench_inspect.py   (builds the demo checkpoint once, ~20 s)
Targets: inspect CLI < 0.5 s wall and < 150 MB peak RSS.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import run_measured  # noqa: E402

F5_TTS_TRIAL = r"""
import sys
from importlib.resources import files
from omegaconf import OmegaConf
from f5_tts.infer.utils_infer import load_model
from f5_tts.model import DiT, UNetT
for name in sys.argv[2:]:
    cfg = OmegaConf.load(str(files("f5_tts").joinpath(f"configs/{name}.yaml")))
    cls = {"DiT": DiT, "UNetT": UNetT}[cfg.model.backbone]
    try:
        load_model(cls, OmegaConf.to_container(cfg.model.arch), sys.argv[1], device="cpu")
        print("loads with", name, file=sys.stderr)
        break
    except RuntimeError as exc:
        print(name, "failed:", str(exc).splitlines()[0], file=sys.stderr)
"""


def main() -> None:
    from _measure import demo_checkpoint_built_apart

    path = str(demo_checkpoint_built_apart())
    size_gb = Path(path).stat().st_size / 1e9
    py = sys.executable
    inspect = run_measured([py, "-m", "f5lab", "inspect", path, "--json"])
    inspect2 = run_measured([py, "-m", "f5lab", "inspect", path])
    f5 = run_measured([py, "-c", F5_TTS_TRIAL, path, "E2TTS_Base", "F5TTS_Base"])
    assert inspect["rc"] == 0 and inspect2["rc"] == 0, inspect["stderr"] + inspect2["stderr"]
    print(f"checkpoint: {path} ({size_gb:.2f} GB, F5TTS_Base, random weights)")
    print(f"{'method':44s} {'wall s':>8s} {'peak RSS MB':>12s}")
    print(f"{'f5lab inspect --json (CLI process)':44s} {inspect['wall_s']:8.3f} {inspect['peak_rss_mb']:12.1f}")
    print(f"{'f5lab inspect, tables (CLI process)':44s} {inspect2['wall_s']:8.3f} {inspect2['peak_rss_mb']:12.1f}")
    print(f"{'f5-tts load_model: E2TTS_Base, then F5TTS_Base':44s} {f5['wall_s']:8.3f} {f5['peak_rss_mb']:12.1f}")
    print("f5-tts trial log:", " | ".join(ln for ln in f5["stderr"].splitlines() if "fail" in ln or "loads" in ln))
    print(f"ratio wall  (f5-tts / inspect): {f5['wall_s'] / inspect['wall_s']:.1f}x")
    print(f"ratio RSS   (f5-tts / inspect): {f5['peak_rss_mb'] / inspect['peak_rss_mb']:.1f}x")
    ok = inspect["wall_s"] < 0.5 and inspect["peak_rss_mb"] < 150
    print(f"targets (< 0.5 s, < 150 MB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()

"""The built-in demo: a full-scale random-weight checkpoint, built on the fly and cached.

Never committed, never downloaded: ``demo_checkpoint()`` builds it once (about 1.35 GB
for F5TTS_Base) under ``$F5LAB_CACHE`` (default ``~/.cache/f5lab``) and reuses it.
"""

from __future__ import annotations

from pathlib import Path

from f5lab.outputs import cache_dir  # noqa: F401  (re-exported)

DEMO_SCALE = "full"  # the demo's size; tests of the command set "tiny" in their own process


def demo_checkpoint(config: str = "F5TTS_Base", layout: str = "release_safetensors", scale: str | None = None,
                    seed: int = 0) -> Path:
    """Path of the cached demo checkpoint, building it first if needed, through f5lab.outputs: a
    signal or a full disk leave no partial file in the cache, and two runs building it at once
    are told so (one builds, the other is refused in one line)."""
    from f5lab.synthetic.layouts import build_checkpoint

    scale = scale or DEMO_SCALE
    suffix = ".safetensors" if "safetensors" in layout else ".pt"
    path = cache_dir() / f"demo_{config}_{layout}_{scale}_seed{seed}{suffix}"
    if not path.exists():
        build_checkpoint(path, config=config, layout=layout, scale=scale, seed=seed)
    return path

"""The built-in demo: a full-scale random-weight checkpoint, built on the fly and cached.

Never committed, never downloaded: ``demo_checkpoint()`` builds it once (about 1.35 GB
for F5TTS_Base) under ``$F5LAB_CACHE`` (default ``~/.cache/f5lab``) and reuses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from f5lab.model.build import cache_dir  # noqa: F401  (re-exported: the cache lives below the loaders)


def demo_checkpoint(config: str = "F5TTS_Base", layout: str = "release_safetensors", scale: str = "full",
                    seed: int = 0) -> Path:
    """Path of the cached demo checkpoint, building it first if needed (written atomically)."""
    from f5lab.testing.fixtures import build_checkpoint

    suffix = ".safetensors" if "safetensors" in layout else ".pt"
    path = cache_dir() / f"demo_{config}_{layout}_{scale}_seed{seed}{suffix}"
    if not path.exists():
        tmp = path.with_name(path.name + ".partial" + suffix)
        build_checkpoint(tmp, config=config, layout=layout, scale=scale, seed=seed)
        os.replace(tmp, path)
    return path

"""Shared test fixtures: tiny real f5-tts checkpoints, built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

import torch  # noqa: E402

# tiny models gain nothing from intra-op threads; on a loaded 2-core box they lose 50x
torch.set_num_threads(1)

from f5lab.synthetic.layouts import LAYOUTS, Fixture, build_checkpoint, tiny_catalogue  # noqa: E402


def suffix_for(layout: str) -> str:
    return ".safetensors" if "safetensors" in layout else ".pt"


@pytest.fixture(scope="session")
def catalogue():
    """Every shipped config at tiny scale: ranking tests compare against these."""
    return tiny_catalogue()


@pytest.fixture(scope="session")
def make_fixture(tmp_path_factory):
    """Build (and cache) a tiny checkpoint: make_fixture(config, layout) -> Fixture."""
    cache: dict[tuple, Fixture] = {}
    root = tmp_path_factory.mktemp("ckpts")

    def make(config: str = "F5TTS_Base", layout: str = "release_safetensors", seed: int = 0) -> Fixture:
        key = (config, layout, seed)
        if key not in cache:
            path = Path(root) / f"{config}_{layout}_{seed}{suffix_for(layout)}"
            cache[key] = build_checkpoint(path, config=config, layout=layout, scale="tiny", seed=seed)
        return cache[key]

    return make


ALL_LAYOUTS = list(LAYOUTS)


@pytest.fixture(scope="session")
def pinned_torch():
    """The torch this repository pins (PyPI's 2.11.0, a CUDA 13.0 build): the doctor's and the run verdicts'
    done-when cases assume it."""
    from f5lab.hardware import stack

    build = stack.installed_build()
    if build.label != "2.11.0+cu130":
        pytest.skip(f"needs this repository's install (torch 2.11.0+cu130), found {build.label}")
    return build


def _snapshot(root: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.fixture()
def files_written():
    """``watch = files_written(root)``, then ``watch(inside)``: the files under ``root`` created or
    changed since, that are not inside the folder ``inside`` (a run must write only into its own)."""

    def start(root: Path):
        before = _snapshot(root)

        def outside(inside: Path) -> list[Path]:
            return sorted(p for p, st in _snapshot(root).items() if before.get(p) != st and inside not in p.parents)

        return outside

    return start

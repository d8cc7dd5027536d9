"""f5lab.facts agrees with the installed f5-tts, and the numbers it declares are spelt nowhere else.

The facts are copied by hand from f5-tts 1.1.22 so that the estimate and the text checks answer
without importing torch; these tests are what notices a new f5-tts release that changes one.
"""

from __future__ import annotations

import importlib.resources
import math
import re
from pathlib import Path

import pytest
import yaml

from f5lab import facts, settings

PACKAGE = Path(__file__).resolve().parent.parent / "f5lab"
SHIPPED = ("F5TTS_v1_Base", "F5TTS_Base", "F5TTS_v1_Small", "F5TTS_Small", "E2TTS_Base", "E2TTS_Small")
MEL = {"target_sample_rate": facts.SAMPLE_RATE, "hop_length": facts.HOP_LENGTH, "n_mel_channels": facts.N_MELS,
       "win_length": facts.WIN_LENGTH, "n_fft": facts.N_FFT}


@pytest.mark.parametrize("name", SHIPPED)
def test_mel_facts_are_every_shipped_configs(name):
    text = (importlib.resources.files("f5_tts") / "configs" / f"{name}.yaml").read_text(encoding="utf-8")
    mel = yaml.safe_load(text)["model"]["mel_spec"]
    assert {k: mel[k] for k in MEL} == MEL


def test_inference_defaults_are_utils_infers():
    from f5_tts.infer import utils_infer as u

    assert (u.target_sample_rate, u.hop_length, u.n_mel_channels, u.win_length, u.n_fft) == \
        (facts.SAMPLE_RATE, facts.HOP_LENGTH, facts.N_MELS, facts.WIN_LENGTH, facts.N_FFT)
    assert (u.nfe_step, u.cfg_strength, u.sway_sampling_coef, u.speed) == \
        (facts.DEFAULT_NFE, facts.DEFAULT_CFG, facts.DEFAULT_SWAY, facts.DEFAULT_SPEED)
    assert (u.target_rms, u.cross_fade_duration) == (facts.TARGET_RMS, facts.CROSS_FADE_SECONDS)
    assert isinstance(facts.DEFAULT_NFE, int) and facts.FRAMES_PER_SECOND == 93.75


def test_frame_cap_is_the_dit_text_position_table():
    from f5_tts.model.backbones.dit import TextEmbedding

    assert TextEmbedding(10, 8, conv_layers=1).precompute_max_pos == facts.FRAME_CAP
    assert round(facts.FRAME_CAP / facts.FRAMES_PER_SECOND, 1) == 87.4  # the seconds every message quotes


def test_sway_range_is_where_the_time_grid_increases():
    """f5-tts's sway sampling t + s(cos(pi t / 2) - 1 + t): increasing on [0, 1] inside the range and not
    beyond it (at -1 the slope at t = 0 reaches zero; at 1 / (pi/2 - 1) = 1.752 the slope at t = 1 does)."""
    def grid(s: float) -> list[float]:
        ts = [i / 1000 for i in range(1001)]
        return [t + s * (math.cos(math.pi / 2 * t) - 1 + t) for t in ts]

    def increasing(s: float) -> bool:
        g = grid(s)
        return all(b > a for a, b in zip(g, g[1:]))

    low, high = facts.SWAY_RANGE
    assert increasing(low) and increasing(high) and increasing(facts.DEFAULT_SWAY)
    assert not increasing(low - 0.01) and not increasing(1 / (math.pi / 2 - 1) + 0.01)
    assert (settings.RANGES["sway"].low, settings.RANGES["sway"].high) == facts.SWAY_RANGE


def test_the_sample_rate_is_spelt_once():
    """24000 may appear in f5lab/ at its declaration and in one comment, nowhere else."""
    hits = [f"{p.relative_to(PACKAGE)}:{i}" for p in sorted(PACKAGE.rglob("*.py"))
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(r"\b24_?000\b", line)]
    assert len(hits) <= 2, hits


def test_dtype_sizes_are_torchs():
    """The one table of element sizes (f5lab.files.dtypes) that the readers and the estimate share."""
    import torch

    from f5lab.files.dtypes import DTYPE_BYTES, TORCH_DTYPES, USER_DTYPES
    from f5lab.hardware.memory import DTYPE_BYTES as PER_USER_DTYPE

    assert set(TORCH_DTYPES.values()) == set(DTYPE_BYTES)
    assert {stored: getattr(torch, name).itemsize for name, stored in TORCH_DTYPES.items()} == DTYPE_BYTES
    assert PER_USER_DTYPE == {"fp32": 4, "fp16": 2, "bf16": 2} and list(PER_USER_DTYPE) == list(USER_DTYPES)

"""What f5-tts 1.1.22 fixes and f5lab must agree with, declared once.

Speech, hardware, the sweep and the CLI import these instead of spelling 24000 or 256 again: a
new f5-tts release that changes one of them is one edit here, checked against f5-tts's own
configs and ``infer`` defaults in the tests.
"""

from __future__ import annotations

SAMPLE_RATE = 24000  # Hz: f5-tts's target_sample_rate (vocos and BigVGAN alike)
HOP_LENGTH = 256  # samples per mel frame (hop_length)
WIN_LENGTH = 1024  # STFT window (win_length)
N_FFT = 1024
N_MELS = 100  # mel bins (n_mel_channels)
FRAMES_PER_SECOND = SAMPLE_RATE / HOP_LENGTH  # 93.75
FRAME_CAP = 8192  # the DiT's text positions per call (87.4 s): beyond, a RuntimeError

DEFAULT_NFE = 32  # infer_process's nfe_step
DEFAULT_CFG = 2.0  # cfg_strength
DEFAULT_SWAY = -1.0  # sway_sampling_coef
DEFAULT_SPEED = 1.0
SWAY_RANGE = (-1.0, 1.75)  # t + s(cos(pi t / 2) - 1 + t) increases on [0, 1] only for -1 <= s <= 1 / (pi/2 - 1)
TARGET_RMS = 0.1
CROSS_FADE_SECONDS = 0.15

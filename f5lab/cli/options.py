"""The options several commands share, each spelt once: its name, its choices and its help. A
command takes the text to speak, the language, the device, the ASR or the config catalogue from
here, so two commands cannot spell one concept two ways (``tests/test_option_spelling.py``)."""

from __future__ import annotations

from typing import Any

import click

LANG_CHOICE = click.Choice(["pt-BR", "en"], case_sensitive=False)
LANG_HELP = "Language of the texts: its normaliser (numbers, money, dates, times, units as words) and its WER."
NORMALIZE_HELP = ("Normalise the texts for --lang before f5-tts sees them (records keep both); --no-normalize "
                  "speaks them as written.")
ASR_CHOICES = ["auto", "pocketsphinx", "faster-whisper", "none"]
ASR_HELP = ("ASR for the word error rate: auto = pocketsphinx (offline, in its wheel) for English, and no WER for "
            "other languages (\"no WER: no ASR for pt offline\"); faster-whisper needs --asr-model-dir.")
ASR_DIR_HELP = "A local faster-whisper (CTranslate2) model directory, for --asr faster-whisper (never downloaded)."
ASR_LANGUAGE_HELP = "Language the ASR listens for, e.g. pt. [default: that of --lang]"
VOCODER_HELP = "Local vocos (config.yaml + pytorch_model.bin) or BigVGAN directory. Without it: Griffin-Lim."


def catalogue(configs: str) -> Any:
    """None (the shipped configs) or the shipped configs shrunk, for `demo-checkpoint --scale tiny` files."""
    if configs == "tiny":
        from f5lab.model.arch import tiny_catalogue

        return tiny_catalogue()
    return None

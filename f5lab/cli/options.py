"""The options several commands share, each spelt once: its name, its type or choices and its help.
A command takes the text to speak, the language, the device, the ASR, the config catalogue, the
seed and the NFE from here, so two commands cannot spell one concept two ways
(``tests/test_option_spelling.py`` walks every command against its table of concepts). An option's
old spelling is declared beside it (``f5lab.cli.main.old_spelling``): hidden, noted, gone next
release."""

from __future__ import annotations

from typing import Any, Callable

import click

from f5lab.cli.main import old_spelling
from f5lab.cli.params import ModelDir, Text, ranged

Decorator = Callable[[Any], Any]

LANG_CHOICE = click.Choice(["pt-BR", "en"], case_sensitive=False)
LANG_HELP = "Language of the texts: its normaliser (numbers, money, dates, times, units as words) and its WER."
NORMALIZE_HELP = ("Normalise the texts for --lang before f5-tts sees them (records keep both); --no-normalize "
                  "speaks them as written.")
DEVICE_CHOICES = ["auto", "cpu", "cuda"]
ASR_CHOICES = ["auto", "pocketsphinx", "faster-whisper", "none"]  # f5lab.speech.quality.ASR_CHOICES
ASR_HELP = ("ASR for the word error rate: auto = pocketsphinx (offline, in its wheel) for English, and no WER for "
            "other languages (\"no WER: no ASR for pt offline\"); faster-whisper needs --asr-model-dir.")
ASR_DIR_HELP = "A local faster-whisper (CTranslate2) model directory, for --asr faster-whisper (never downloaded)."
CONFIGS_CHOICES = ["auto", "shipped", "tiny"]
CONFIGS_HELP = ("Catalogue of configs: the shipped ones, or them shrunk ('tiny', for `demo-checkpoint --scale tiny` "
                "files); auto: tiny when only the shrunk ones fit the checkpoint.")
TEXT_FILE = click.Path(exists=True, dir_okay=False, path_type=str)
VOCODER_HELP = "Local vocos (config.yaml + pytorch_model.bin) or BigVGAN directory. Without it: Griffin-Lim."


def stacked(*decorators: Decorator) -> Decorator:
    """Several option decorators as one, applied as if written top to bottom."""
    def apply(f: Any) -> Any:
        for d in reversed(decorators):
            f = d(f)
        return f
    return apply


def text_options(help: str = "Text to speak.", file_help: str = "Read the text to speak from a UTF-8 file.",
                 multiple: bool = False, retired: bool = True) -> Decorator:
    """``--text`` / ``--text-file``: the text to speak (``multiple``: a sweep's grid axis);
    ``retired``: the command had ``--gen-text``, kept hidden for one release."""
    kind = Text(allow_empty=False)
    options = [click.option("--text", "gen_text", type=kind, multiple=multiple, default=None, help=help),
               text_file_option(file_help, multiple=multiple)]
    if retired:
        options.append(old_spelling("--gen-text", "--text", type=kind, multiple=multiple))
    return stacked(*options)


def text_file_option(help: str, multiple: bool = False) -> Decorator:
    return click.option("--text-file", "text_file", type=TEXT_FILE, multiple=multiple, help=help)


def lang_options(default: str | None = "en", help: str = LANG_HELP, normalize_help: str = NORMALIZE_HELP) -> Decorator:
    """``--lang`` and ``--normalize/--no-normalize``; ``default`` None where a file may set them."""
    shown = default is not None
    return stacked(
        click.option("--lang", default=default, show_default=shown, type=LANG_CHOICE, metavar="[pt-BR|en]",
                     help=help if shown else help + " [default: en]"),
        click.option("--normalize/--no-normalize", default=True if shown else None, show_default=shown,
                     help=normalize_help if shown else normalize_help + " [default: normalize]"))


def asr_options(default: str | None = "auto", help: str = ASR_HELP, retired: bool = True) -> Decorator:
    """``--asr`` and ``--asr-model-dir``; ``retired``: the command had ``--language`` (the ASR's
    language, now always that of ``--lang``), kept hidden for one release as ``asr_language``."""
    options = [click.option("--asr", type=click.Choice(ASR_CHOICES), default=default,
                            show_default=default is not None, help=help),
               click.option("--asr-model-dir", type=ModelDir("model.bin", "faster-whisper model"), default=None,
                            help=ASR_DIR_HELP)]
    if retired:
        options.append(old_spelling("--language", None, "the ASR listens in the language of --lang",
                                    name="asr_language", default=None))
    return stacked(*options)


def device_option(help: str, multiple: bool = False) -> Decorator:
    """``--device [auto|cpu|cuda]``; auto is resolved by ``f5lab.hardware.devices.resolve_device``."""
    if multiple:
        return click.option("--device", multiple=True, type=click.Choice(DEVICE_CHOICES), help=help)
    return click.option("--device", type=click.Choice(DEVICE_CHOICES), default="cpu", show_default=True, help=help)


def configs_option(default: str | None = "shipped", help: str = CONFIGS_HELP) -> Decorator:
    return click.option("--configs", type=click.Choice(CONFIGS_CHOICES), default=default,
                        show_default=default is not None, help=help if default else help + " [default: auto]")


def seed_option(help: str, default: int | None = 0) -> Decorator:
    return click.option("--seed", type=ranged("seed"), default=default, show_default=default is not None, help=help)


def nfe_option(help: str, default: int | None = 32, multiple: bool = False) -> Decorator:
    return click.option("--nfe", type=ranged("nfe"), default=() if multiple else default, multiple=multiple,
                        show_default=default is not None and not multiple, help=help)


def vocab_option(help: str, exists: bool = False) -> Decorator:
    return click.option("--vocab", type=click.Path(exists=exists, dir_okay=False, path_type=str), help=help)


def catalogue(configs: str, checkpoint: str | None = None) -> Any:
    """The catalogue ``--configs`` names: None (the shipped configs) or them shrunk, for
    `demo-checkpoint --scale tiny` files; ``auto`` asks the checkpoint (shipped without one)."""
    from f5lab.model.described import catalogue_named, catalogue_word

    if configs == "auto" and checkpoint is None:
        return None
    return catalogue_named(catalogue_word(checkpoint, configs) if checkpoint is not None else configs)


def spoken_text(text: Any, text_file: Any) -> Any:
    """The text to speak from ``--text`` or ``--text-file`` (both tuples for a sweep), read by the
    library's reader; None when neither is given."""
    from f5lab.errors import ConfigError
    from f5lab.speech.synth import read_text_file

    if isinstance(text_file, (tuple, list)):
        return tuple(text) + tuple(read_text_file(f) for f in text_file)
    if text_file and text is not None:
        raise ConfigError("give --text or --text-file, not both")
    return read_text_file(text_file) if text_file else text

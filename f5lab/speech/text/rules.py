"""The per-language tables (``pt_BR.json``, ``en.json``): which one a ``--lang`` means, read once.

The rules are data so that a language is added (or a word list corrected) by editing a table,
not the normaliser: the code only knows the *kinds* of rule (numbers, gender agreement,
money, units, times, dates, abbreviations, symbols, fallbacks).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from f5lab.errors import ConfigError

HERE = Path(__file__).resolve().parent
LANGUAGES = {"pt-BR": "pt_BR.json", "en": "en.json"}  # the --lang choices, and their tables
ALIASES = {"pt": "pt-BR", "pt_br": "pt-BR", "pt-br": "pt-BR", "en-us": "en", "en_us": "en", "en-gb": "en",
           "en_gb": "en"}
REQUIRED = ("language", "asr_language", "num2words", "sentence", "lowercase", "numbers", "currencies", "money",
            "percent", "units", "singular", "times", "dates", "abbreviations", "symbols", "fallbacks", "advice",
            "ordinals")


def canonical(lang: str | None, option: str = "--lang") -> str:
    """'pt-BR' or 'en' for any spelling of them (pt, pt_BR, en-US, ...); one line naming ``option`` otherwise."""
    if lang is None:
        return "en"
    key = str(lang).strip()
    if key in LANGUAGES:
        return key
    found = ALIASES.get(key.lower()) or next((k for k in LANGUAGES if k.lower() == key.lower()), None)
    if found is None:
        raise ConfigError(f"{option} {lang!r}: no text rules for it; known: {', '.join(LANGUAGES)}")
    return found


@functools.lru_cache(maxsize=None)
def load_rules(lang: str | None = "pt-BR") -> dict[str, Any]:
    """The table of ``lang`` (read once per process), checked to have every kind of rule."""
    name = canonical(lang)
    path = HERE / LANGUAGES[name]
    rules = json.loads(path.read_text(encoding="utf-8"))
    missing = [k for k in REQUIRED if k not in rules]
    if missing:  # a table edited by hand: say which, not a KeyError deep in the normaliser
        raise ConfigError(f"{path}: text rules lack {', '.join(missing)}")
    return rules


def asr_language(lang: str | None) -> str:
    """The language code an ASR is asked for ('pt' for pt-BR)."""
    return load_rules(lang)["asr_language"]


def default_sentence(lang: str | None) -> str:
    """The sentence the report and the sweep speak when none is given, in ``lang``."""
    return load_rules(lang)["sentence"]

"""The text an F5-TTS model sees, per language (like whisper's ``normalizers/``): rules as data.

- ``rules``: the per-language tables ``pt_BR.json`` and ``en.json`` (``--lang pt-BR|en``);
- ``numbers``: num2words for the words, its commas removed, feminine forms from the table;
- ``normalizer``: written forms (money, dates, times, ordinals, units, abbreviations, numbers)
  into words, case and unknown characters fixed against a vocab;
- ``f5tts``: what f5-tts 1.1.22 does with text (chunks by UTF-8 bytes, per-chunk duration, the
  0.3 speed of short chunks, unknown characters as index 0), re-implemented without torch;
- ``analysis``: all of it for one text, ``f5lab text``.

Nothing here imports torch, f5-tts or matplotlib.
"""

from __future__ import annotations

from f5lab.speech.text.normalizer import normalize, normalize_detailed, prepare  # noqa: F401
from f5lab.speech.text.rules import LANGUAGES, asr_language, canonical, default_sentence  # noqa: F401

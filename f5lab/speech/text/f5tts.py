"""What f5-tts 1.1.22 does with text, re-implemented without torch.

``f5_tts.infer.utils_infer`` imports torch, torchaudio, transformers and vocos at module level,
so calling its ``chunk_text`` costs seconds; ``f5lab text`` must answer in well under one. The
rules below are copied from that module and checked against f5-tts's own functions in
``tests/test_text_f5tts.py`` (hypothesis, many texts):

- ``chunk_text``: split after ``;:,.!?`` + whitespace (and after the CJK ``；：，。！？``), pack
  sentences into chunks of at most ``max_chars`` UTF-8 *bytes*; a sentence longer than that
  stays whole.
- ``max_chars`` (``infer_process``): reference text bytes per reference second, times the
  seconds left in ~22 s, times the speed.
- duration (``infer_batch_process``): the reference's frames plus the reference's frames per
  reference-text byte times the chunk's bytes, over the speed; a chunk under 10 bytes is
  spoken at speed 0.3. The reference text gets a trailing space when it ends in a 1-byte
  character, before it is measured.
- tokens (``convert_char_to_pinyin`` + ``list_str_to_idx``): ``;`` becomes ``,``, curly quotes
  straight ones, Chinese characters their pinyin; a character the vocab lacks becomes index 0,
  the space: silence. What the model gets is computed by f5-tts's own ``convert_char_to_pinyin``
  (``own_convert_char_to_pinyin``: its source, compiled without importing torch), which also
  cuts words at accented letters: "o ônibus" reaches the model as "o ô nibus".
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

from f5lab.errors import ConfigError
from f5lab.facts import HOP_LENGTH, SAMPLE_RATE

MAX_CHUNK_SECONDS = 22  # infer_process: a chunk plus the reference fits in ~22 s
SHORT_CHUNK_BYTES = 10  # infer_batch_process: a chunk under this many bytes is slowed down
SHORT_CHUNK_SPEED = 0.3
REFERENCE_MAX_SECONDS = 12.0  # preprocess_ref_audio_text keeps at most 12 s of the reference
# convert_char_to_pinyin's substitutions, applied before tokens are looked up
F5_TRANSLATE = str.maketrans({";": ",", "“": '"', "”": '"', "‘": "'", "’": "'"})
SPLIT = re.compile(r"(?<=[;:,.!?])\s+|(?<=[；：，。！？])")  # chunk_text's sentence boundary


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def chunk_text(text: str, max_chars: int = 135) -> list[str]:
    """f5-tts's ``chunk_text``, line for line: sentences packed into chunks of ``max_chars`` bytes."""
    chunks: list[str] = []
    current = ""
    for sentence in SPLIT.split(text):
        if not sentence:
            continue
        piece = sentence + " " if utf8_len(sentence[-1]) == 1 else sentence
        if utf8_len(current) + utf8_len(sentence) <= max_chars:
            current += piece
        else:
            if current:
                chunks.append(current.strip())
            current = piece
    if current:
        chunks.append(current.strip())
    return chunks


def max_chars_for(ref_text: str, ref_seconds: float, speed: float = 1.0) -> int:
    """infer_process's chunk size: text bytes per reference second times the time left in ~22 s."""
    return int(utf8_len(ref_text) / ref_seconds * (MAX_CHUNK_SECONDS - ref_seconds) * speed)


def normalise_ref_text(ref_text: str) -> str:
    """preprocess_ref_audio_text's rule: the transcript ends with '. ' (or '。')."""
    if ref_text.endswith(". ") or ref_text.endswith("。"):
        return ref_text
    return ref_text + " " if ref_text.endswith(".") else ref_text + ". "


def batch_ref_text(ref_text: str) -> str:
    """infer_batch_process appends a space to a reference text that ends in a 1-byte character."""
    return ref_text + " " if utf8_len(ref_text[-1]) == 1 else ref_text


def chunk_speed(chunk: str, speed: float = 1.0) -> float:
    """The speed f5-tts uses for ``chunk``: 0.3 under 10 bytes, else the one asked for."""
    return SHORT_CHUNK_SPEED if utf8_len(chunk) < SHORT_CHUNK_BYTES else speed


def chunk_frames(ref_text: str, chunk: str, ref_frames: int, speed: float = 1.0) -> int:
    """infer_batch_process's ``duration`` (in mel frames, the reference's included) for one chunk.

    ``ref_text`` is the transcript as infer_batch_process receives it (after
    ``normalise_ref_text``); the trailing space it adds is added here."""
    ref = batch_ref_text(ref_text)
    return ref_frames + int(ref_frames / utf8_len(ref) * utf8_len(chunk) / chunk_speed(chunk, speed))


def frames_to_seconds(frames: int) -> float:
    return frames * HOP_LENGTH / SAMPLE_RATE


def resampled_length(samples: int, sample_rate: int, target: int = SAMPLE_RATE) -> int:
    """How many samples torchaudio's ``resample`` returns (its ``ceil(new * n / orig)`` on the
    gcd-reduced rates, computed in float32 as torch does), without importing torch."""
    if sample_rate == target:
        return samples
    import numpy as np

    g = math.gcd(int(sample_rate), int(target))
    orig, new = int(sample_rate) // g, int(target) // g
    return int(math.ceil(float(np.float32(new * samples / orig))))


# -- tokens --------------------------------------------------------------------------------------
def is_chinese(c: str) -> bool:
    return "\u3100" <= c <= "\u9fff"  # the range convert_char_to_pinyin turns into pinyin


def _pinyin(c: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(c, style=Style.TONE3, tone_sandhi=True)[0]


def token_of(c: str) -> str:
    """The vocab entry f5-tts looks ``c`` up as (after its substitutions; pinyin for Chinese)."""
    t = c.translate(F5_TRANSLATE)
    return _pinyin(t) if is_chinese(t) else t


def known(c: str, vocab: set[str] | frozenset[str]) -> bool:
    """Whether f5-tts finds ``c`` in ``vocab`` (else it reads index 0, a space)."""
    return token_of(c) in vocab


@dataclass
class UnknownChar:
    """A character of the text that the checkpoint's vocabulary does not contain."""

    char: str
    positions: list[int]
    name: str = ""
    where: str = "gen_text"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        shown = ", ".join(map(str, self.positions[:8])) + (" ..." if len(self.positions) > 8 else "")
        return f"{self.char!r} (U+{ord(self.char[0]):04X} {self.name}) in {self.where} at {shown}"


def unspeakable(text: str, tokens: Any, what: str = "the text to speak (--text)") -> str | None:
    """Why ``text`` would be all silence (no character of it in the vocabulary ``tokens``: f5-tts
    reads each as a space), or None."""
    vocab = tokens if isinstance(tokens, (set, frozenset)) else set(tokens)
    spoken = {c for c in text if not c.isspace()}
    if not spoken or any(known(c, vocab) for c in spoken):
        return None
    return (f"no character of {what} is in the vocabulary (f5-tts would read it all as spaces): "
            f"{''.join(sorted(spoken))[:40]!r}; pass the checkpoint's vocab.txt (--vocab) or write the text in its "
            "script")


def check_text(text: str, vocab_tokens: Iterable[str], where: str = "gen_text") -> list[UnknownChar]:
    """Characters of ``text`` that f5-tts would map to index 0 (a space), with their positions.

    Mirrors f5-tts's tokenisation: its punctuation substitutions first, Chinese characters
    as their pinyin syllables, every other character as itself.
    """
    vocab = vocab_tokens if isinstance(vocab_tokens, (set, frozenset)) else set(vocab_tokens)
    found: dict[str, list[int]] = {}
    for i, c in enumerate(text):
        if not known(c, vocab):
            found.setdefault(c, []).append(i)
    return [UnknownChar(char=c, positions=pos, name=unicodedata.name(c, "unnamed"), where=where)
            for c, pos in found.items()]


# -- f5-tts's own tokenizer step, run without importing its module ------------------------------------
@functools.lru_cache(maxsize=1)
def own_convert_char_to_pinyin() -> Callable[..., list[list[str]]]:
    """f5-tts's ``convert_char_to_pinyin`` itself: its source is taken from the installed
    ``f5_tts/model/utils.py`` and compiled as is, with the names it uses (``rjieba``, pypinyin's
    ``lazy_pinyin`` and ``Style``), because importing that module imports torch. Every f5-tts
    inference and training path runs this function on the text before the vocab lookup."""
    import ast

    import rjieba
    from pypinyin import Style, lazy_pinyin

    from f5lab.files.vocab import f5_tts_root

    path = f5_tts_root() / "model" / "utils.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "convert_char_to_pinyin"), None)
    if node is None:
        raise ConfigError(f"{path}: no convert_char_to_pinyin (an f5-tts version f5lab does not know)")
    namespace: dict[str, Any] = {"rjieba": rjieba, "lazy_pinyin": lazy_pinyin, "Style": Style}
    code = compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec")
    exec(code, namespace)  # noqa: S102 - f5-tts's own function, as installed
    return namespace["convert_char_to_pinyin"]


def model_chars(text: str) -> list[str]:
    """The characters (pinyin syllables for Chinese) f5-tts looks up in the vocab for ``text``:
    the output of its own ``convert_char_to_pinyin``."""
    return own_convert_char_to_pinyin()([text])[0]


def token_ids(chars: Iterable[str], vocab_char_map: dict[str, int]) -> list[int]:
    """f5-tts's lookup (``list_str_to_idx``: ``vocab_char_map.get(c, 0)``) on those characters."""
    return [vocab_char_map.get(c, 0) for c in chars]


def splits(normalized: str, chars: list[str]) -> list[dict[str, str]]:
    """The words of ``normalized`` that f5-tts's tokenizer step cut in two or more ('ônibus' -> 'ô nibus'):
    rjieba cuts a Latin word at its non-ASCII letters and ``convert_char_to_pinyin`` puts a space
    before a run of plain letters that follows another piece."""
    pieces = "".join(chars).split()
    out, i = [], 0
    for word in normalized.translate(F5_TRANSLATE).split():
        got, j = "", i
        while j < len(pieces) and len(got) < len(word):
            got += pieces[j]
            j += 1
        if got != word:  # pinyin or anything else that does not line up: stop comparing
            break
        if j - i > 1:
            strip = ".,;:!?\"'()"
            out.append({"word": word.strip(strip), "as": " ".join(pieces[i:j]).strip(strip)})
        i = j
    return out

"""What f5-tts will see of a text: ``f5lab text``, and the text part of every synthesis record.

One call, ``analyse``: the text normalised for its language (or as given), every character the
vocab lacks with what it became (mapped, lowercased, or left as silence), the chunks f5-tts's
``chunk_text`` makes at the size ``infer_process`` picks from the reference, the seconds f5-tts
allots each chunk (its byte rule) with the chunks it slows down flagged, and the language's
advice checked on the result (for pt-BR the model cards': numbers as words, lowercase, commas
where words get lost, a reference under 12 s). No model is read and torch is not imported.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from f5lab.errors import ConfigError
from f5lab.facts import FRAME_CAP
from f5lab.speech.text import f5tts
from f5lab.speech.text.normalizer import Normalized, default_vocab, prepare
from f5lab.speech.text.rules import canonical, load_rules

EXAMPLE_REF_TEXT = "Some call me nature, others call me mother nature."  # f5-tts's basic_ref_en.wav


def example_ref_audio() -> Path:
    """f5-tts's shipped English reference clip (found without importing f5-tts)."""
    from f5lab.files.vocab import f5_tts_root

    return f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"


@dataclass
class Chunk:
    """One chunk as f5-tts generates it."""

    text: str
    bytes: int
    speed: float  # what f5-tts uses: 0.3 under 10 bytes
    frames: int  # generated mel frames (the reference's excluded)
    seconds: float
    slowed: bool
    total_frames: int  # reference + chunk: the sequence the model runs on

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TextReport:
    lang: str
    normalize: bool
    raw: str
    normalized: str
    vocab: str
    vocab_tokens: int
    unknown: list[dict[str, Any]]
    reference: dict[str, Any]
    max_chars: int
    chunks: list[Chunk]
    advice: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, str]] = field(default_factory=list)
    model_text: str = ""  # what f5-tts's own convert_char_to_pinyin makes of ``normalized``
    model_splits: list[dict[str, str]] = field(default_factory=list)  # words it cut ('ônibus' -> 'ô nibus')
    model_unknown_tokens: int = 0  # characters its vocab lookup sends to index 0 (other than spaces)
    notes: list[dict[str, str]] = field(default_factory=list)  # what the rules saw and left as written

    @property
    def seconds(self) -> float:
        return round(sum(c.seconds for c in self.chunks), 3)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = self.seconds
        return d


# -- the texts -----------------------------------------------------------------------------------
def vocab_tokens(vocab: str | Path | Iterable[str] | None) -> tuple[frozenset[str], str]:
    """The vocabulary as a set, and how to name it: a vocab.txt path, tokens, or f5-tts's base vocab."""
    if vocab is None:
        return default_vocab(), "f5-tts's base vocab.txt"
    if isinstance(vocab, (str, Path)):
        from f5lab.files.vocab import read_vocab

        return frozenset(read_vocab(vocab)), str(vocab)
    return frozenset(vocab), "the model's vocab"


def vocab_char_map(vocab: str | Path | Iterable[str] | None, tokens: frozenset[str]) -> dict[str, int]:
    """f5-tts's ``vocab_char_map`` ({token: id}, a later duplicate line winning, as in its get_tokenizer)."""
    from f5lab.files.vocab import read_vocab

    if vocab is None or isinstance(vocab, (str, Path)):
        ordered = read_vocab(vocab)
    else:
        ordered = list(vocab) if not isinstance(vocab, (set, frozenset)) else sorted(tokens)
    return {t: i for i, t in enumerate(ordered)}


def unknown_report(done: Normalized, vocab: frozenset[str]) -> list[dict[str, Any]]:
    """Every character of the raw text f5-tts would not find in ``vocab``, and what it became:
    ``lowercased`` (to a letter the vocab has), ``mapped`` (a rule rewrote it: which, into what),
    or ``silence`` (f5-tts reads it as index 0, a space); then any character the vocab lacks that
    only the normalised text holds (a rule's output), as silence too: nothing unknown goes unsaid."""
    silent = {u.char: u for u in f5tts.check_text(done.text, vocab, "normalized")}
    out = []
    for u in f5tts.check_text(done.raw, vocab, "text"):
        entry = {"char": u.char, "name": u.name, "positions": u.positions, "became": "silence", "as": " "}
        change = None if u.char in done.text else next((c for c in done.changes if u.char in c.before), None)
        if change is not None:
            entry.update(became="lowercased" if change.rule == "lowercase" else "mapped", rule=change.rule,
                         **{"as": change.after, "from": change.before})
            if any(c in silent for c in change.after):  # rewritten into characters the vocab lacks too
                entry["became"] = "silence"
        elif u.char not in done.text:
            entry.update(became="mapped", rule="space" if u.char.isspace() else "nfc")  # composed with its letter
        out.append(entry)
    seen = {e["char"] for e in out}
    for c, u in silent.items():
        if c not in seen:
            out.append({"char": c, "name": u.name, "positions": u.positions, "became": "silence", "as": " ",
                        "where": "normalized"})
    return out


# -- the reference and the chunks ------------------------------------------------------------------
def reference_lang(ref_audio: Any, lang: str | None) -> str:
    """The language of a reference transcript: English for f5-tts's own example clip (the default
    reference everywhere), the text's language for any other clip."""
    try:
        if ref_audio is not None and Path(ref_audio).resolve() == example_ref_audio().resolve():
            return "en"
    except (TypeError, OSError, ConfigError):  # an (array, rate) pair, or no f5-tts: not the example clip
        pass
    return canonical(lang)


def reference(ref_text: str | None, ref_audio: str | Path | None, lang: str, normalize: bool,
              vocab: frozenset[str]) -> dict[str, Any]:
    """The reference f5-tts times the text against: the given clip and transcript, or f5-tts's
    example clip with its own; the transcript normalised (in ``lang``) like the text, then ended
    as f5-tts ends it."""
    if (ref_text is None) != (ref_audio is None):
        raise ConfigError("give --ref-text and --ref-audio together (the transcript and its clip)")
    default = ref_audio is None
    if default:
        ref_audio, ref_text = example_ref_audio(), EXAMPLE_REF_TEXT
    if not str(ref_text).strip():
        raise ConfigError("--ref-text is empty: give the words spoken in --ref-audio")
    from f5lab.speech.audio import reference_length

    info = reference_length(ref_audio)
    done = prepare(str(ref_text), "en" if default else lang, normalize, vocab)  # lang: see reference_lang
    used = f5tts.normalise_ref_text(done.text)
    return {**info, "default": default, "text": str(ref_text), "text_normalized": done.text, "text_used": used,
            "frames": info["samples"] // f5tts.HOP_LENGTH, "seconds": round(info["seconds"], 4)}


def chunks_for(text: str, ref: dict[str, Any], speed: float = 1.0) -> tuple[int, list[Chunk]]:
    """max_chars from the reference, f5-tts's chunks, and each chunk's frames by f5-tts's byte rule."""
    max_chars = max(1, f5tts.max_chars_for(ref["text_used"], ref["samples"] / f5tts.SAMPLE_RATE, speed))
    out = []
    for c in f5tts.chunk_text(text, max_chars):
        total = f5tts.chunk_frames(ref["text_used"], c, ref["frames"], speed)
        frames = total - ref["frames"]
        used_speed = f5tts.chunk_speed(c, speed)
        out.append(Chunk(text=c, bytes=f5tts.utf8_len(c), speed=used_speed, frames=frames,
                         seconds=round(f5tts.frames_to_seconds(frames), 3), slowed=used_speed != speed,
                         total_frames=total))
    return max_chars, out


# -- the advice ------------------------------------------------------------------------------------
# a mark a reader pauses at; never the ',' of '1.234,56'
PAUSE = re.compile(r"[;:,.!?…]+(?=\s|$)|\s[—–-]\s|[()\"«»]")
SYMBOLS = re.compile(r"[^\w\s.,;:!?'\"()«»…—–-]|_")  # characters the model reads as a sign, not a word
ADDRESS = re.compile(r"(?<![\w.])[^\W\d_]+(?:[./][^\W\d_]+)+")  # 'empresa.com', 'www.x.br', 'a/b'


def _longest_run(text: str) -> int:
    """The most words between two pauses in ``text`` as the user wrote it: a number ('R$ 1.234,56')
    is the words it was written as, and the comma inside it is no pause."""
    return max((len(part.split()) for part in PAUSE.split(text)), default=0)


def _symbols_check(report: "TextReport") -> dict[str, Any]:
    """What the model will read as a sign or an unknown letter sequence: symbols left in what it
    gets ('$', '/', '@'), address-like runs ('empresa.com'), capitals the rules left unspelled."""
    found = sorted(set(SYMBOLS.findall(report.normalized)))
    addresses = sorted(set(ADDRESS.findall(report.normalized)))
    letters = sorted({n["text"] for n in report.notes if n.get("kind") == "initialism"})
    problems = []
    if found:
        problems.append(f"symbol(s) read as written: {' '.join(found)!r}")
    if addresses:
        problems.append(f"address-like text read as written: {', '.join(addresses[:5])}")
    if letters:
        problems.append(f"capitals left as a word (spell an initialism out): {', '.join(letters[:5])}")
    if not problems:
        return _check("symbols", True, "no symbol, address or unspelled capitals left")
    return _check("symbols", False, "; ".join(problems))


def _split_check(report: "TextReport") -> dict[str, Any]:
    s = report.model_splits
    if not s:
        return _check("split", None, "f5-tts's convert_char_to_pinyin cuts no word")
    shown = ", ".join(f"{x['word']!r} -> {x['as']!r}" for x in s[:4]) + (" ..." if len(s) > 4 else "")
    return _check("split", None, f"f5-tts's convert_char_to_pinyin cuts {len(s)} word(s) at an accented letter: "
                  f"{shown}. "
                  "A fine-tune trained with f5-tts's own scripts saw the same cuts (it learned them); one trained on "
                  "text prepared another way did not")


def advice(report: TextReport, rules: dict[str, Any]) -> list[dict[str, Any]]:
    """The language's advice checked on the text the model gets; ``ok`` None where it cannot apply."""
    a, src = rules["advice"], rules["advice"]["source"]
    text, checks = report.normalized, []
    for rule in a["rules"]:
        if rule == "vocab":
            silent = sorted({u["char"] for u in report.unknown if u["became"] == "silence"})
            checks.append(_check(rule, not silent, "every character is in the vocab" if not silent else
                                 f"{len(silent)} character(s) f5-tts reads as silence: {''.join(silent)!r}"))
        elif rule == "digits":
            n = len(re.findall(r"\d", text))
            checks.append(_check(rule, n == 0, "numbers as words: no digit left" if n == 0 else
                                 f"{n} digit(s) left: numbers are read badly as digits; write them as words "
                                 "(or normalise: --normalize)"))
        elif rule == "lowercase":
            n = sum(c.isupper() and not _kept_capital(c, report) for c in text)
            checks.append(_check(rule, n == 0, "lowercase: no capital left" if n == 0 else
                                 f"{n} capital(s): {src} advise lowercase (capitals can be spelled letter by letter)"))
        elif rule == "commas":
            run, bar = _longest_run(report.raw), a["words_without_pause"]
            checks.append(_check(rule, run <= bar, f"at most {run} words between pauses" if run <= bar else
                                 f"{run} words as written without a pause (over {bar}): add a comma between two "
                                 "words where a breath fits"))
        elif rule == "symbols":
            checks.append(_symbols_check(report))
        elif rule == "split":
            checks.append(_split_check(report))
        elif rule == "reference":
            checks.append(_reference_check(report.reference))
        elif rule == "short_chunks":
            short = [c.text for c in report.chunks if c.slowed]
            checks.append(_check(rule, not short, "no chunk under 10 bytes" if not short else
                                 f"{len(short)} chunk(s) under 10 bytes, spoken at speed {f5tts.SHORT_CHUNK_SPEED} "
                                 f"(f5-tts's rule): {short[0]!r}; join them to a neighbour"))
        elif rule == "long_chunks":
            checks.append(_long_check(report))
    return checks


def _kept_capital(c: str, report: "TextReport") -> bool:
    """A capital the normaliser kept on purpose (pt-BR lowers every other one): one the model's vocab
    was extended with, which f5-tts's base vocab lacks."""
    return report.normalize and f5tts.token_of(c) not in default_vocab()


def _check(rule: str, ok: bool | None, text: str) -> dict[str, Any]:
    return {"rule": rule, "ok": ok, "text": text}


def _reference_check(ref: dict[str, Any]) -> dict[str, Any]:
    if ref["default"]:
        return _check("reference", None, f"timed against f5-tts's example clip ({ref['seconds']:.1f} s); give "
                      "yours: --ref-text and --ref-audio")
    if ref["source_seconds"] <= f5tts.REFERENCE_MAX_SECONDS:
        return _check("reference", True, f"reference {ref['source_seconds']:.1f} s: under "
                      f"{f5tts.REFERENCE_MAX_SECONDS:g} s, kept whole ({ref['seconds']:.1f} s after trimming)")
    return _check("reference", False, f"reference {ref['source_seconds']:.1f} s: f5-tts keeps "
                  f"{ref['seconds']:.1f} s of it; cut it under {f5tts.REFERENCE_MAX_SECONDS:g} s so the "
                  "transcript matches the audio")


def _long_check(report: TextReport) -> dict[str, Any]:
    over = [c for c in report.chunks if c.bytes > report.max_chars]
    capped = [c for c in report.chunks if c.total_frames > FRAME_CAP]
    if capped:
        return _check("long_chunks", False, f"{len(capped)} chunk(s) over f5-tts's {FRAME_CAP}-frame cap with the "
                      "reference: split the sentence (a comma or a full stop)")
    if over:
        return _check("long_chunks", False, f"{len(over)} sentence(s) longer than a chunk ({report.max_chars} bytes) "
                      "stay whole: split them where a pause fits")
    return _check("long_chunks", True, f"every chunk within {report.max_chars} bytes")


# -- the one call ----------------------------------------------------------------------------------
def analyse(text: str, lang: str | None = "en", *, vocab: str | Path | Iterable[str] | None = None,
            normalize: bool = True, ref_text: str | None = None, ref_audio: str | Path | None = None,
            ref_lang: str | None = None, speed: float = 1.0) -> TextReport:
    """What f5-tts will see of ``text``: normalised (for ``lang``) or as given, checked against
    ``vocab``, chunked and timed against the reference (f5-tts's example clip when none is given;
    its transcript in ``ref_lang``, default ``reference_lang``)."""
    if not text or not text.strip():
        raise ConfigError("the text is empty: nothing to speak")
    lang = canonical(lang)
    tokens, vocab_name = vocab_tokens(vocab)
    ref = reference(ref_text, ref_audio, ref_lang or reference_lang(ref_audio, lang), normalize, tokens)
    done = prepare(text, lang, normalize, tokens)
    max_chars, chunks = chunks_for(done.text, ref, speed)
    chars = f5tts.model_chars(done.text)
    ids = f5tts.token_ids(chars, vocab_char_map(vocab, tokens))
    report = TextReport(lang=lang, normalize=normalize, raw=text, normalized=done.text, vocab=vocab_name,
                        vocab_tokens=len(tokens), unknown=unknown_report(done, tokens), reference=ref,
                        max_chars=max_chars, chunks=chunks, changes=[c.to_dict() for c in done.changes],
                        model_text="".join(chars), model_splits=f5tts.splits(done.text, chars),
                        model_unknown_tokens=sum(1 for c, i in zip(chars, ids) if i == 0 and not c.isspace()),
                        notes=list(done.notes))
    report.advice = advice(report, load_rules(lang))
    return report


def describe_unknown(entries: Sequence[dict[str, Any]]) -> list[str]:
    """One line per character the vocab lacks: what f5-tts would have read, and what it became."""
    lines = []
    for u in entries:
        code = f"U+{ord(u['char'][0]):04X} {u['name'] or unicodedata.name(u['char'][0], '')}"
        if u["became"] == "silence":
            what = "left as silence (f5-tts reads it as a space)"
        elif u["became"] == "lowercased":
            what = f"lowercased to {u['as']!r}"
        else:
            what = f"mapped: {u.get('from', u['char'])!r} -> {u['as']!r}"
        lines.append(f"{u['char']!r} ({code}) x{len(u['positions'])}: {what}")
    return lines

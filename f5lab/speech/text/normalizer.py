"""Written text -> the text an F5-TTS model should be given, per language (``pt_BR.json``, ``en.json``).

f5-tts reads characters: "R$ 1.234,56" reaches the model as R, $, 1, ., 2 ... and a fine-tune
trained on words reads them badly or not at all; a character its vocab lacks (``Ô``, ``Õ``,
``ª`` in the base vocab) becomes silence. The normaliser applies, in this order, each kind of
rule its language's table holds:

1. abbreviations (``Sr.`` -> senhor, ``nº`` -> número, ``etc.`` -> etcétera; a sentence-ending
   one keeps its period);
2. money (``R$ 1.234,56``, ``US$ 5``, ``5 €``, ``R$ 2 milhões``): integer and cents, the
   currency's gender, "de" after milhão/milhões;
3. dates ``dd/mm/aaaa`` (``mm/dd/yyyy`` in English), times ``14h30``, ``14h``, ``20:45``;
4. ordinals (``1º``/``1ª`` take the gender of their sign; ``1st``), percent, units (``km``,
   ``kg``, ``°C``: singular for 1, the unit's gender);
5. every other number: ``.`` thousands and ``,`` decimals (English the other way round),
   negatives, versions and addresses (``1.2.3`` -> um ponto dois ponto três), digits inside
   words (``f5lab`` -> f cinco lab); a cardinal agrees with the next word's gender;
6. symbols (``%``, ``&``, ``+``, ``=``, ``@``) as words;
7. case: lowered everywhere (pt-BR) or only where the vocab lacks the capital (English);
8. fallbacks for characters the vocab still lacks (``ª`` -> a, accents dropped when only the
   base letter is known); what is left is reported, since f5-tts reads it as a space.

Numbers become words through ``f5lab.speech.text.numbers`` (num2words, its commas removed).
Every change is kept (``Normalized.changes``) so ``f5lab text`` can say what each character the
vocab lacks became.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

from f5lab.speech.text.f5tts import known
from f5lab.speech.text.numbers import NumberWords
from f5lab.speech.text.rules import canonical, load_rules

LETTER = r"[^\W\d_]"
NEG = r"(?P<neg>(?<![^\s(\[{\"'«])[-−])?"  # a minus sign at the start of a word


@dataclass
class Change:
    rule: str
    before: str
    after: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Normalized:
    raw: str
    text: str
    lang: str
    changes: list[Change] = field(default_factory=list)


@functools.lru_cache(maxsize=4)
def default_vocab() -> frozenset[str]:
    """f5-tts's shipped vocab.txt (2545 tokens), read without f5-tts."""
    from f5lab.files.vocab import read_vocab

    return frozenset(read_vocab())


def _alternatives(keys: Iterable[str]) -> str:
    """A regex alternation of literal ``keys``, longest first (so 'US$' wins over '$')."""
    return "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))


def number_pattern(num: dict[str, Any]) -> str:
    """A written number in the table's notation; groups ``int`` and ``frac``, or ``dotted``.

    Tried in this order: thousands-grouped ("1.234.567"), a plain integer (with decimals), and
    dotted numbers ("1.2.3", "192.168.0.1"; in pt-BR also "2.5", where "." is not the decimal
    mark). A plain integer never stops before a dot that a dotted number would continue."""
    t, d = re.escape(num["thousands"]), re.escape(num["decimal"])
    grouped = rf"\d{{1,3}}(?:{t}\d{{3}})+(?!\d)(?!{t}\d)"
    if num["decimal"] == ".":
        plain, dotted = r"\d+(?!\d)(?!(?:\.\d+){2})", r"\d+(?:\.\d+){2,}"
    else:
        plain, dotted = r"\d+(?!\d)(?!\.\d)", r"\d+(?:\.\d+)+"
    return rf"(?<!\d)(?:(?P<int>{grouped}|{plain})(?:{d}(?P<frac>\d+))?|(?P<dotted>{dotted}))"


class Normalizer:
    """One language's rules (its table) applied to a text, against one vocabulary."""

    def __init__(self, lang: str = "pt-BR", vocab: Iterable[str] | None = None,
                 overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self.lang = canonical(lang)
        self.rules = load_rules(self.lang)
        if overrides:  # a table's sections changed for this normaliser only (the benchmark's other decimal style)
            self.rules = {**self.rules, **{k: {**self.rules[k], **v} for k, v in overrides.items()}}
        self.words = NumberWords(self.rules)
        self.vocab = frozenset(vocab) if vocab is not None else default_vocab()
        self.num = number_pattern(self.rules["numbers"])
        self.changes: list[Change] = []

    # -- the passes ---------------------------------------------------------------------------
    def __call__(self, text: str) -> Normalized:
        self.changes = []
        raw = text
        text = unicodedata.normalize("NFC", text)
        for step in (self.abbreviations, self.money, self.dates, self.times, self.ordinals, self.percent,
                     self.units, self.numbers, self.symbols, self.case, self.fallbacks):
            text = step(text)
        text = " ".join(text.split())
        return Normalized(raw=raw, text=text, lang=self.lang, changes=self.changes)

    def _sub(self, rule: str, pattern: str, fn: Callable[[re.Match], str | None], text: str) -> str:
        """``re.sub`` that records each change and keeps a replaced number apart from letters it
        touched ('f5lab' -> 'f cinco lab'); ``fn`` returning None leaves the match as written."""

        def repl(m: re.Match) -> str:
            out = fn(m)
            if out is None:
                return m.group(0)
            s, a, b = m.string, m.start(), m.end()
            if a > 0 and (s[a - 1].isalnum()):
                out = " " + out
            if b < len(s) and s[b].isalnum():
                out += " "
            self.changes.append(Change(rule, m.group(0), out.strip()))
            return out

        return re.sub(pattern, repl, text)

    def abbreviations(self, text: str) -> str:
        table = self.rules["abbreviations"]
        if not table:
            return text

        def fn(m: re.Match) -> str | None:
            entry = table[m.group("abbr")]
            entry = entry if isinstance(entry, dict) else {"words": entry}
            rest = m.string[m.end():]
            if entry.get("before_number") and not re.match(r"\s?\d", rest):
                return None
            ends = entry.get("sentence_end") and (not rest.strip() or re.match(r"\s+[A-ZÀ-Ý]", rest))
            return entry["words"] + ("." if ends else "")

        return self._sub("abbreviation", rf"(?<![\w.])(?P<abbr>{_alternatives(table)})(?!{LETTER})", fn, text)

    def _gender_after(self, text: str) -> str:
        """'f' when the word after a number is feminine by the table's rule, else 'm'."""
        g = self.rules.get("gender")
        if not g:
            return "m"
        skip = set(g["skip"])
        while True:
            m = re.match(rf"\s*({LETTER}+)", text)  # the very next word: a comma ends the search
            if m is None:
                return "m"
            w = m.group(1).lower()
            if w not in skip:
                break
            text = text[m.end():]
        if w in g["not_feminine"]:
            return "m"
        return "f" if w in g["nouns"] or any(len(w) > len(e) and w.endswith(e) for e in g["endings"]) else "m"

    def _amount(self, m: re.Match, gender: str = "m") -> str:
        """The words of a matched number (groups neg, int, frac, dotted)."""
        if m.group("dotted"):
            return f" {self.rules['numbers']['point_word']} ".join(
                self.words.cardinal(p) for p in m.group("dotted").split("."))
        digits = re.sub(r"\D", "", m.group("int"))
        plain = m.group("int").isdigit()  # no thousands separator: may be a year (English)
        return self.words.number(digits, m.group("frac"), gender, negative=bool(m.group("neg")), year_ok=plain)

    def money(self, text: str) -> str:
        cur = self.rules["currencies"]
        syms, scales = _alternatives(cur), _alternatives(self.rules["money"]["scales"])
        before = rf"(?<!{LETTER}){NEG}(?P<sym>{syms})\s?{self.num}(?:\s(?P<scale>{scales})(?!{LETTER}))?"
        after = rf"{NEG}{self.num}\s?(?P<sym>{syms})(?!{LETTER})"
        return self._sub("money", after, self._money_words, self._sub("money", before, self._money_words, text))

    def _money_words(self, m: re.Match) -> str | None:
        if m.group("dotted"):
            return None
        c, money = self.rules["currencies"][m.group("sym")], self.rules["money"]
        scale = m.groupdict().get("scale")
        frac = m.group("frac")
        digits = re.sub(r"\D", "", m.group("int"))
        minus = self.rules["numbers"]["minus"] + " " if m.group("neg") else ""
        if scale or (frac and len(frac) > 2):  # "R$ 1,5 milhão", "US$ 0,125": a number of the currency
            amount = self.words.number(digits, frac, c["gender"])
            of = f" {money['of']}" if scale and scale in money["of_after"] and money["of"] else ""
            return f"{minus}{amount}{' ' + scale if scale else ''}{of} {c['unit'][1]}"
        units, cents = int(digits), int((frac or "").ljust(2, "0")) if frac else 0
        parts = []
        if units or not cents:
            words = self.words.cardinal(digits, c["gender"])
            of = f" {money['of']}" if money["of"] and words.split()[-1] in money["of_after"] else ""
            parts.append(f"{words}{of} {c['unit'][0 if units == 1 else 1]}")
        if cents:
            parts.append(f"{self.words.cardinal(str(cents), c['gender'])} {c['cents'][0 if cents == 1 else 1]}")
        return minus + f" {money['and']} ".join(parts)

    def dates(self, text: str) -> str:
        d = self.rules["dates"]
        if not d or not d.get("order"):
            return text

        def fn(m: re.Match) -> str | None:
            a, b, year = int(m.group(1)), int(m.group(2)), m.group(3)
            day, month = (a, b) if d["order"] == "dmy" else (b, a)
            if not (1 <= month <= 12 and 1 <= day <= 31):
                return None
            if day == 1 and d.get("first_day"):
                day_words = d["first_day"]
            elif d.get("day_ordinal"):
                day_words = self.words.ordinal(str(day))
            else:
                day_words = self.words.cardinal(str(day))
            return d["format"].format(day=day_words, month=d["months"][month - 1],
                                      year=self.words.integer(year, year_ok=True))

        return self._sub("date", r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])", fn, text)

    def times(self, text: str) -> str:
        t = self.rules["times"]

        def fn(m: re.Match) -> str | None:
            h, mins = int(m.group("h")), int(m.group("m") or 0)
            if h > 24 or mins > 59:
                return None
            return self._clock(h, mins) if t["style"] == "clock" else self._hours(h, mins)

        if t.get("h_form"):
            text = self._sub("time", rf"(?<![\w:])(?P<h>\d{{1,2}})h(?:(?P<m>\d{{2}})(?:min)?)?(?!{LETTER})", fn, text)
        return self._sub("time", r"(?<![\d:.,])(?P<h>\d{1,2}):(?P<m>\d{2})(?![\d:])", fn, text)

    def _hours(self, h: int, mins: int) -> str:
        t = self.rules["times"]
        hour, minute = t["hour"], t["minute"]
        out = f"{self.words.cardinal(str(h), hour[2])} {hour[0] if h in t['singular'] else hour[1]}"
        if mins:
            out += f" {t['join']} {self.words.cardinal(str(mins), minute[2])} " \
                   f"{minute[0] if mins in t['singular'] else minute[1]}"
        return out

    def _clock(self, h: int, mins: int) -> str:
        t = self.rules["times"]
        hours = self.words.cardinal(str(h))
        if mins == 0:
            return f"{hours} {t['hundred'] if h > 12 else t['oclock']}"
        return f"{hours} {t['oh'] + ' ' if mins < 10 else ''}{self.words.cardinal(str(mins))}"

    def ordinals(self, text: str) -> str:
        o = self.rules["ordinals"]
        signs = {**o.get("signs", {}), **o.get("suffixes", {})}
        if not signs:
            return text

        def fn(m: re.Match) -> str:
            return self.words.ordinal(m.group("n"), signs[m.group("sign")])

        return self._sub("ordinal", rf"(?<![\w.,])(?P<n>\d+)(?P<sign>{_alternatives(signs)})(?!{LETTER})", fn, text)

    def percent(self, text: str) -> str:
        return self._sub("percent", rf"{NEG}{self.num}\s?%", lambda m: f"{self._amount(m)} {self.rules['percent']}",
                         text)

    def units(self, text: str) -> str:
        units = self.rules["units"]

        def fn(m: re.Match) -> str:
            one, many, gender = units[m.group("unit")]
            single = not m.group("dotted") and not m.group("frac") and not m.group("neg") and \
                int(re.sub(r"\D", "", m.group("int"))) in self.rules["singular"]
            return f"{self._amount(m, gender)} {one if single else many}"

        return self._sub("unit", rf"{NEG}{self.num}\s?(?P<unit>{_alternatives(units)})(?!{LETTER}|/)", fn, text)

    def decades(self, text: str) -> str:
        """English decades: '1990s' -> 'nineteen nineties' (the table's ``numbers.decades`` suffix)."""
        suffix = self.rules["numbers"].get("decades")
        if not suffix:
            return text

        def fn(m: re.Match) -> str | None:
            words = self.words.integer(m.group(1), year_ok=True).split()
            last = words[-1]
            words[-1] = last[:-1] + "ies" if last.endswith("y") else last + "s"
            return " ".join(words)

        return self._sub("number", rf"(?<!\d)(\d{{4}}){re.escape(suffix)}(?!{LETTER})", fn, text)

    def numbers(self, text: str) -> str:
        text = self.decades(text)

        def fn(m: re.Match) -> str:
            gender = "m" if m.group("frac") else self._gender_after(m.string[m.end():])
            return self._amount(m, gender)

        text = self._sub("number", NEG + self.num, fn, text)
        # whatever digits a pattern above left (none known): digit by digit, so no digit reaches the model
        return self._sub("number", r"\d+", lambda m: self.words.digits(m.group(0)), text)

    def symbols(self, text: str) -> str:
        table = self.rules["symbols"]
        return self._sub("symbol", _alternatives(table), lambda m: f" {table[m.group(0)]} ", text) if table else text

    def case(self, text: str) -> str:
        """Lowercase everything (``"lowercase": "all"``) or only the capitals the vocab lacks."""
        if self.rules["lowercase"] == "all":
            lowered = text.lower()
        else:
            lowered = "".join(c.lower() if not known(c, self.vocab) and known(c.lower(), self.vocab) else c
                              for c in text)
        if lowered != text:
            self.changes += [Change("lowercase", a, b) for a, b in dict.fromkeys(zip(text, lowered)) if a != b]
        return lowered

    def fallbacks(self, text: str) -> str:
        """Characters the vocab lacks: the table's replacement, or the base letter when only it is known."""
        table = self.rules["fallbacks"]
        out = []
        for c in text:
            if known(c, self.vocab) or c.isspace():
                out.append(c)
                continue
            base = unicodedata.normalize("NFKD", c)[:1]
            new = table.get(c) or (base if base.isalpha() and known(base, self.vocab) else c)
            if new != c:
                self.changes.append(Change("fallback", c, new))
            out.append(new)
        return "".join(out)


def normalize_detailed(text: str, lang: str = "pt-BR", vocab: Iterable[str] | None = None) -> Normalized:
    """The normalised text with every change that made it (rule, before, after)."""
    return Normalizer(lang, vocab)(text)


def normalize(text: str, lang: str = "pt-BR", vocab: Iterable[str] | None = None) -> str:
    """``text`` as an F5-TTS model should get it in ``lang`` ('pt-BR' or 'en'): numbers, money,
    dates, times, ordinals, units and abbreviations as words, case and unknown characters fixed
    against ``vocab`` (default: f5-tts's base vocab)."""
    return normalize_detailed(text, lang, vocab).text


def prepare(text: str, lang: str | None, normalize: bool, vocab: Iterable[str] | None = None) -> Normalized:
    """The text the model gets: normalised for ``lang``, or exactly as written when not ``normalize``
    (every command's ``--normalize/--no-normalize``)."""
    if normalize:
        return normalize_detailed(text, canonical(lang), vocab)
    return Normalized(raw=text, text=text, lang=canonical(lang))

"""Written text -> the text an F5-TTS model should be given, per language (``pt_BR.json``, ``en.json``).

f5-tts reads characters: "R$ 1.234,56" reaches the model as R, $, 1, ., 2 ... and a fine-tune
trained on words reads them badly or not at all; a character its vocab lacks (``Ô``, ``Õ``,
``ª`` in the base vocab) becomes silence. The normaliser applies, in this order, each kind of
rule its language's table holds (a kind the table lacks is skipped), on the text as written:
case is lowered only at the end, after the rules have seen it (``7H``, ``IBGE``, ``XXI``).

1. URLs, e-mail addresses and @handles (``ponto``, ``arroba``, ``barra``; unknown parts spelled);
2. abbreviations (``Sr.`` -> senhor, ``apto.``, ``seg.``, ``jan.``, ``p/``, ``c/``; a
   sentence-ending one keeps its period);
3. digit strings read digit by digit in their groups: CNPJ, CPF, CEP, telephone numbers
   (``(11) 98765-4321``, ``+55``, ``ext.``), IP addresses;
4. money (``R$ 1.234,56``, ``R$ 1234.56``, ``US$ 5``, ``5 €``, ``£ 2``, ``R$ 2 milhões``);
5. dates (``dd/mm/aaaa`` with ``/ . -``, ISO ``aaaa-mm-dd``, ``15/3``, ``03/2025``, ``1 de
   janeiro``), times (``14h30``, ``14H30``, ``7H``, ``20:45``, ``14:30h``, ``14.30``,
   ``hh:mm:ss``, ``15h da tarde``);
6. ``x``: installments (``12x de``), scores (``3x1``), dimensions; fractions (``3/4``, ``1 1/2``,
   ``1/2 xícara``); ordinals (``1º``/``1ª``, ``3ª feira``), percent, units (``km``, ``m/s``, ``s``);
7. roman numerals in context (``século XXI``, ``Dom Pedro II``), initialisms spelled with the
   letters' names (``IBGE`` -> i bê gê é, ``BR-116``), number ranges (``2020-2024``);
8. every other number: ``.`` or space thousands and ``,`` decimals (English the other way
   round), negatives, versions (``1.2.3`` -> um ponto dois ponto três), digits inside words
   (``f5lab`` -> f cinco lab); a cardinal agrees with the next word's gender;
9. symbols (``%``, ``&``, ``+``, ``=``, ``@``) as words; case lowered everywhere (pt-BR, except
   capitals a vocab was extended for) or only where the vocab lacks the capital (English);
   fallbacks for characters the vocab still lacks. What is left is reported.

Every pattern is linear in the text: a repeated class at a pattern's start is guarded by a
look-behind on the same class (no attempt starts inside a run), and what follows a match is
read from the match's position, never copied (``tests/test_text_linear.py``).

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
SPACE = "[ \u00a0\u202f\u2009]"
NEXT_WORD = re.compile(rf"[ \t\u00a0]*-?({LETTER}+)")
PREV_WORD = re.compile(r"(\S+)\s+$")
BEFORE_NUMBER = re.compile(r"\s?\d")
BEFORE_CAPITAL = re.compile(r"\s+[A-ZÀ-Ý]")
END = re.compile(r"\s*$")
SLASH_MARK = "\ue000"  # a private-use character: a slash between numbers, until the numbers are words
COUNT_BEFORE = re.compile(r"(?<![\d.,])(\d+)\s?$")
CAPS_WORD_END = re.compile(r"(?<![\w.])[A-ZÀ-Ý]{2,}[\s,;:]+$")  # an all-capital word just before
CAPS_WORD_START = re.compile(r"[\s,;:]+[A-ZÀ-Ý]{2,}(?!\w)")  # and just after
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
    notes: list[dict[str, str]] = field(default_factory=list)  # what the rules saw but could not read


@functools.lru_cache(maxsize=4)
def default_vocab() -> frozenset[str]:
    """f5-tts's shipped vocab.txt (2545 tokens), read without f5-tts."""
    from f5lab.files.vocab import read_vocab

    return frozenset(read_vocab())


def _alternatives(keys: Iterable[str]) -> str:
    """A regex alternation of literal ``keys``, longest first (so 'US$' wins over '$')."""
    return _alternation(tuple(keys))


@functools.lru_cache(maxsize=256)
def _alternation(keys: tuple[str, ...]) -> str:
    return "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))


def number_pattern(num: dict[str, Any]) -> str:
    """A written number in the table's notation; groups ``int`` and ``frac``, or ``dotted``.

    Tried in this order: thousands-grouped ("1.234.567"), a plain integer (with decimals), and
    dotted numbers ("1.2.3", "192.168.0.1"; in pt-BR also "2.5", where "." is not the decimal
    mark). A plain integer never stops before a dot that a dotted number would continue."""
    t, d = re.escape(num["thousands"]), re.escape(num["decimal"])
    grouped = rf"\d{{1,3}}(?:{t}\d{{3}})+(?!\d)(?!{t}\d)"
    if num.get("thousands_space"):  # '1 000', '10 000 000'
        grouped += rf"|\d{{1,3}}(?:{SPACE}\d{{3}})+(?!\d)(?![.,]\d)"
    if num["decimal"] == ".":
        plain, dotted = r"\d+(?!\d)(?!(?:\.\d+){2})", r"\d+(?:\.\d+){2,}"
    else:
        plain, dotted = r"\d+(?!\d)(?!\.\d)", r"\d+(?:\.\d+)+"
    return rf"(?<![\d.,])(?:(?P<int>{grouped}|{plain})(?:{d}(?P<frac>\d+))?|(?P<dotted>{dotted}))"


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
        self.notes = []
        raw = text
        text = unicodedata.normalize("NFC", text)
        for step in (self.electronic, self.abbreviations, self.digit_strings, self.money, self.dates, self.times,
                     self.multiplied, self.ordinals, self.percent, self.units, self.fractions, self.word_slashes, self.roman,
                     self.initialisms, self.ranges, self.numbers, self.symbols, self.case, self.fallbacks):
            text = step(text)
        text = " ".join(text.split())
        return Normalized(raw=raw, text=text, lang=self.lang, changes=self.changes, notes=self.notes)

    def _sub(self, rule: str, pattern: str, fn: Callable[[re.Match], str | None], text: str) -> str:
        """``re.sub`` that records each change and keeps a replaced number apart from letters it
        touched ('f5lab' -> 'f cinco lab'); ``fn`` returning None leaves the match as written."""

        def repl(m: re.Match) -> str:
            out = fn(m)
            if out is None:
                return m.group(0)
            s, a, b = m.string, m.start(), m.end()
            if a > 0 and s[a - 1].isalnum() and out[:1] not in ",.;:":
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
            s, end = m.string, m.end()
            if entry.get("before_number") and not BEFORE_NUMBER.match(s, end):
                return None
            if entry.get("before_capital") and not BEFORE_CAPITAL.match(s, end):
                return None
            ends = entry.get("sentence_end") and (END.match(s, end) or BEFORE_CAPITAL.match(s, end))
            words = entry["words"]
            if entry.get("plural"):  # '3 vol.' -> três volumes
                count = COUNT_BEFORE.search(s[max(0, m.start() - 20):m.start()])
                if count and count.group(1).lstrip("0") != "1":
                    words = entry["plural"]
            return words + ("." if ends else "")

        return self._sub("abbreviation", rf"(?<![\w.])(?P<abbr>{_alternatives(table)})(?:(?<=/)|(?!{LETTER}))", fn,
                         text)

    def _gender_after(self, text: str, pos: int = 0) -> str:
        """'f' when the word at ``text[pos:]`` (the next word; a comma ends the search) is feminine by
        the table's rule, else 'm'. Read from ``pos``: the rest of the text is never copied."""
        g = self.rules.get("gender")
        if not g:
            return "m"
        skip = set(g["skip"])
        while True:
            m = NEXT_WORD.match(text, pos)
            if m is None:
                return "m"
            w = m.group(1).lower()
            if w not in skip:
                break
            pos = m.end()
        if w in g["not_feminine"]:
            return "m"
        return "f" if w in g["nouns"] or any(len(w) > len(e) and w.endswith(e) for e in g["endings"]) else "m"

    def _prev_word(self, text: str, pos: int) -> str:
        """The word before ``pos`` (looked for in a bounded window: linear)."""
        m = PREV_WORD.search(text[max(0, pos - 40):pos])
        return m.group(1) if m else ""

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
        abbreviated = self.rules["money"].get("scale_abbreviations", {})
        syms, scales = _alternatives(cur), _alternatives(list(self.rules["money"]["scales"]) + list(abbreviated))
        before = rf"(?<!{LETTER}){NEG}(?P<sym>{syms})\s?{self.num}(?:\s(?P<scale>{scales})(?!{LETTER}))?"
        after = rf"{NEG}{self.num}\s?(?P<sym>{syms})(?!{LETTER})"
        return self._sub("money", after, self._money_words, self._sub("money", before, self._money_words, text))

    def _money_words(self, m: re.Match) -> str | None:
        if m.group("dotted"):  # 'R$ 1234.56': a dot before two digits is the decimal mark in an amount
            parts = m.group("dotted").split(".")
            scale = m.groupdict().get("scale")
            if scale:  # 'US$ 4.8 milhões': the number as written, then its scale and currency
                c, money = self.rules["currencies"][m.group("sym")], self.rules["money"]
                of = f" {money['of']}" if scale in money["of_after"] and money["of"] else ""
                return f"{self._amount(m)} {scale}{of} {c['unit'][1]}"
            if not (self.rules["numbers"].get("dot_decimal_money") and len(parts) == 2 and len(parts[1]) == 2):
                return None
            digits, frac = parts
        else:
            digits, frac = re.sub(r"\D", "", m.group("int")), m.group("frac")
        c, money = self.rules["currencies"][m.group("sym")], self.rules["money"]
        scale = m.groupdict().get("scale")
        minus = self.rules["numbers"]["minus"] + " " if m.group("neg") else ""
        if scale in money.get("scale_abbreviations", {}):  # 'R$ 2,5 mi': milhões
            one, many = money["scale_abbreviations"][scale]
            scale = one if digits.lstrip("0") == "1" and not frac else many
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

    def _date(self, day: int, month: int, year: str | None) -> str | None:
        d = self.rules["dates"]
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        if day == 1 and d.get("first_day"):
            day_words = d["first_day"]
        elif d.get("day_ordinal"):
            day_words = self.words.ordinal(str(day))
        else:
            day_words = self.words.cardinal(str(day))
        if year is None:
            return d.get("format_no_year", "{day} {month}").format(day=day_words, month=d["months"][month - 1])
        return d["format"].format(day=day_words, month=d["months"][month - 1],
                                  year=self.words.integer(year, year_ok=True))

    def dates(self, text: str) -> str:
        d = self.rules["dates"]
        if not d or not d.get("order"):
            return text

        def dmy(m: re.Match) -> str | None:
            a, b, year = int(m.group("a")), int(m.group("b")), m.group("y")
            first, second = ((a, b), (b, a)) if d["order"] == "dmy" else ((b, a), (a, b))
            return self._date(*first, year) or (self._date(*second, year) if d.get("iso") else None)

        sep = "/" if not d.get("iso") else r"[/.-]"
        text = self._sub("date", rf"(?<![\d/.,-])(?P<a>\d{{1,2}})(?P<s>{sep})(?P<b>\d{{1,2}})(?P=s)(?P<y>\d{{4}})"
                                 r"(?![\d/]|[.,-]\d)", dmy, text)
        if not d.get("iso"):
            return text
        # ISO and its cousins: 2024-03-15, 2024/03/15, 2024.03.15
        text = self._sub("date", r"(?<![\d/.,-])(?P<y>\d{4})(?P<s>[/.-])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})"
                                 r"(?![\d/]|[.,-]\d)",
                         lambda m: self._date(int(m.group("d")), int(m.group("m")), m.group("y")), text)
        months = "|".join(d["months"])
        first = d.get("first_day")

        def day_of(m: re.Match) -> str:  # '1 de janeiro' -> 'primeiro de janeiro'; '01 de maio' -> 'primeiro'
            day = int(m.group(1))
            return f"{first if day == 1 and first else self.words.cardinal(str(day))} "

        text = self._sub("date", rf"(?<![\d.,/])(\d{{1,2}})º?\s(?=de\s(?i:{months})(?!{LETTER}))", day_of, text)
        if d.get("month_year"):  # 03/2025 -> março de dois mil e vinte e cinco
            text = self._sub("date", r"(?<![\d/.,-])(0?[1-9]|1[0-2])/(1[5-9]\d\d|2[01]\d\d)(?![\d/]|[.,]\d)",
                             lambda m: f"{d['months'][int(m.group(1)) - 1]} de "
                                       f"{self.words.integer(m.group(2), year_ok=True)}",
                             text)
        context = set(d.get("day_month_context", []))

        def day_month(m: re.Match) -> str | None:  # '15/3' is a date after 'dia', 'até', ... or with a day over 12
            day, month = int(m.group(1)), int(m.group(2))
            prev = self._prev_word(m.string, m.start()).lower().strip(",;:(")
            padded = len(m.group(1)) == 2 and len(m.group(2)) == 2 and "0" in (m.group(1)[0], m.group(2)[0])
            if day <= 12 and prev not in context and not padded:  # '01/02' is written as a date, '1/2' is not
                return None
            return self._date(day, month, None)

        return self._sub("date", r"(?<![\d/.,-])(\d{1,2})/(\d{1,2})(?![\d/]|[.,]\d)", day_month, text)

    def times(self, text: str) -> str:
        t = self.rules["times"]
        periods = t.get("afternoon") or {}
        after_periods = re.compile(rf"\s({_alternatives(periods)})(?!{LETTER})") if periods else None

        def fn(m: re.Match) -> str | None:
            g = m.groupdict()
            h, mins, secs = int(g["h"]), int(g.get("m") or 0), g.get("s")
            if h > 24 or mins > 59 or (secs is not None and int(secs) > 59):
                return None
            if t["style"] == "clock":
                return self._clock(h, mins)
            if after_periods is not None:
                p = after_periods.match(m.string, m.end())
                if p and periods[p.group(1)][0] <= h <= periods[p.group(1)][1]:
                    h -= 12
            minutes_word = secs is not None or bool(g.get("min")) or t.get("minutes_word", "always") == "always"
            return self._hours(h, mins, None if secs is None else int(secs), minutes_word)

        if t.get("h_form"):
            text = self._sub("time", r"(?<![\w:.,])(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})(?![\d:])", fn, text)
            text = self._sub("time", rf"(?<![\w:.,])(?P<h>\d{{1,2}})[hH](?:(?P<m>\d{{2}})(?P<min>min)?)?(?!{LETTER})",
                             fn, text)
            hours_word = rf"(?:\s?(?:horas|hrs|hs|h)(?!{LETTER}))?"  # '14:30h', '09.30 horas': said once
            text = self._sub("time", rf"(?<![\d:.,])(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?![\d:]){hours_word}", fn, text)
            if t.get("dot_form"):
                scales = _alternatives(self.rules["money"]["scales"] + list(self.rules["units"]) + ["%"])
                text = self._sub("time", rf"(?<![\d:.,])(?P<h>[01]\d|2[0-3])\.(?P<m>[0-5]\d)(?![\d]|[.,]\d)"
                                         rf"(?!\s?(?:{scales})(?!{LETTER})){hours_word}", fn, text)
            return text
        return self._sub("time", r"(?<![\d:.,])(?P<h>\d{1,2}):(?P<m>\d{2})(?![\d:])", fn, text)

    def _hours(self, h: int, mins: int, secs: int | None = None, minutes_word: bool = True) -> str:
        t = self.rules["times"]
        hour, minute = t["hour"], t["minute"]
        out = f"{self.words.cardinal(str(h), hour[2])} {hour[0] if h in t['singular'] else hour[1]}"
        if mins or secs is not None:
            out += f" {t['join']} {self.words.cardinal(str(mins), minute[2])}"
            if minutes_word:
                out += f" {minute[0] if mins in t['singular'] else minute[1]}"
        if secs is not None:
            second = t["second"]
            out += f" {t['join']} {self.words.cardinal(str(secs), second[2])} " \
                   f"{second[0] if secs in t['singular'] else second[1]}"
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

        weekdays = {k: v for k, v in self.rules.get("weekday_ordinals", {}).items() if not k.startswith("_")}
        if weekdays:  # '3ª feira', '3ª-feira' -> 'terça-feira'
            text = self._sub("ordinal", r"(?<![\w.,])([2-6])(?:ª|a|\.ª)[\s-]?(feira)(?!\w)",
                             lambda m: f"{weekdays[m.group(1)]}-{m.group(2)}", text)

        before = o.get("degree_sign_before")
        if before:  # '1° lugar', '2° turno', '1° de maio': the degree sign used as the ordinal's
            text = self._sub("ordinal", rf"(?<![\w.,])(\d{{1,3}})°(?=\s+(?:{_alternatives(before)})(?!{LETTER}))",
                             lambda m: self.words.ordinal(m.group(1), self._gender_after(m.string, m.end())), text)
        if o.get("letter_signs"):  # '1a vez', '2o lugar'
            text = self._sub("ordinal", r"(?<![\w.,])(\d{1,3})([oa])(?=\s+[a-zà-ý])",
                             lambda m: self.words.ordinal(m.group(1), "f" if m.group(2) == "a" else "m"), text)

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

        return self._sub("unit", rf"(?<!/){NEG}{self.num}\s?(?P<unit>{_alternatives(units)})(?!{LETTER}|/)", fn, text)

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

    # -- the classes that are not plain numbers ------------------------------------------------
    def electronic(self, text: str) -> str:
        """URLs, e-mail addresses and @handles: each symbol as its word, each part as a word when the
        table knows it, else letter by letter ('test@gmail.com' -> 't e s t arroba gmail ponto com')."""
        e = self.rules.get("electronic")
        if not e:
            return text
        words, symbols = set(e["words"]), e["symbols"]

        def part(p: str) -> str:
            if p.isdigit():
                return self.words.digits(p)
            if p.lower() in words:
                return p.lower()
            return " ".join(self.words.digits(c) if c.isdigit() else c.lower() for c in p)

        def spell(m: re.Match) -> str:
            address = m.group(0)
            trail = ""
            while address and address[-1] in ".,;:!?)":  # a sentence's punctuation after the address
                trail, address = address[-1] + trail, address[:-1]
            out = []
            for tok in re.findall(r"[^\W_]+|.", address):
                out.append(symbols.get(tok, part(tok)) if not tok.isspace() else "")
            return " ".join(o for o in out if o) + trail

        url = r"(?<![\w@./-])(?:https?://|www\.)[^\s<>\"']+"
        email = r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
        domain = r"(?<![\w@./-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|gov|edu|io|dev|app)(?:\.br)?" \
                 r"(?:/[^\s<>\"']*)?(?![\w@])"
        for pattern in (url, email, domain):
            text = self._sub("electronic", pattern, spell, text)
        handle = r"(?<![\w@.])@(?P<h>[^\W\d_][\w.]*\w|[^\W\d_])"
        dot = f" {symbols['.']} "
        return self._sub("electronic", handle, lambda m: f"{symbols['@']} {m.group('h').replace('.', dot)}", text)

    def digit_strings(self, text: str) -> str:
        """CNPJ, CPF, CEP, telephone numbers and IP addresses: digit by digit, group by group."""
        ds = self.rules.get("digit_strings")
        if not ds:
            return text
        ext = ds.get("extension", []) + [ds["extension_word"]] if ds.get("extension_word") else []

        def extension(m: re.Match) -> str:
            return f", {ds['extension_word']} {self.words.digits(m.group(1))}"

        if ext:
            text = self._sub("extension", rf"(?<=\d)\s*(?:{_alternatives(ext)})\s*(\d{{1,5}})(?!\d)", extension, text)

        def groups(s: str) -> str:  # a comma between groups: the pause a reader makes
            plus = [ds["plus"]] if s.startswith("+") else []
            return " ".join(plus + [self.words.digits(g) + "," for g in re.findall(r"\d+", s)]).rstrip(",")

        def ip(s: str) -> str:
            return f" {ds['point']} ".join(self.words.digits(g) for g in s.split("."))

        for kind, pattern in ds["patterns"].items():
            def fn(m: re.Match, kind: str = kind) -> str | None:
                s = m.group(0)
                if kind == "phone":  # '2020-2024' is a range of years, not a telephone number
                    parts = re.findall(r"\d+", s)
                    if len(parts) == 2 and all(len(p) == 4 and 1000 <= int(p) <= 2100 for p in parts):
                        return None
                if kind == "ip":
                    return ip(s)
                return groups(s)

            text = self._sub(kind, rf"(?<![\w.,/+-])(?:{pattern})(?![\w/-]|[.,]\d)", fn, text)
        return text

    def multiplied(self, text: str) -> str:
        """'12x de R$ 10' -> 'doze vezes de ...'; a score '3x1' -> 'três a um'; '1920x1080' -> '... por ...'."""
        x = self.rules.get("times_x")
        if not x:
            return text
        once, many = x["installments"]

        def times_(m: re.Match) -> str:
            n = m.group(1)
            return f"{self.words.cardinal(n, 'f')} {once if int(n) == 1 else many}"

        def pair(m: re.Match) -> str:
            a, b = m.group(1), m.group(2)
            word = x["score"] if len(a) <= 2 and len(b) <= 2 else x["dimension"]
            return f"{self.words.cardinal(a)} {word} {self.words.cardinal(b)}"

        text = self._sub("x", r"(?<![\w.,])(\d{1,4})\s?[xX×]\s?(\d{1,4})(?![\w]|[.,]\d)", pair, text)
        return self._sub("x", r"(?<![\w.,])(\d{1,3})\s?[xX×](?!\w)", times_, text)

    def fractions(self, text: str) -> str:
        """'3/4' -> 'três quartos', '3/11' -> 'três onze avos', '1 1/2' -> 'um e um meio', '1/2 xícara'
        -> 'meia xícara', '1/2 kg' -> 'meio quilo'."""
        f = self.rules.get("fractions")
        if not f:
            return text
        dens, units = f["denominators"], self.rules["units"]

        def frac(n: str, d: str) -> str:
            many = int(n) != 1
            if d in dens:
                return f"{self.words.cardinal(n)} {dens[d][many]}"
            return f"{self.words.cardinal(n)} {self.words.cardinal(d)} {f['other']}"

        def fn(m: re.Match) -> str | None:
            whole, n, d, unit = m.group("w"), m.group("n"), m.group("d"), m.group("u")
            if int(d) == 0:
                return None
            if whole is not None and int(n) >= int(d):
                return None
            if unit:
                one, _, gender = units[unit]
                if whole is None and n == "1" and d == "2":
                    return f"{f['half_before_noun'][gender == 'f']} {one}"
                head = f"{self.words.cardinal(whole, gender)} {f['mixed_join']} " if whole else ""
                return f"{head}{frac(n, d)} de {one}" if not whole else f"{head}{frac(n, d)} {units[unit][1]}"
            if whole is None and n == "1" and d == "2" and NEXT_WORD.match(m.string, m.end()) and \
                    not re.match(r"\s*(?:de|do|da|dos|das|e|ou|a|o)\b", m.string[m.end():m.end() + 6]):
                return f["half_before_noun"][self._gender_after(m.string, m.end()) == "f"]
            head = f"{self.words.cardinal(whole)} {f['mixed_join']} " if whole else ""
            return head + frac(n, d)

        unit_alt = _alternatives(units)
        return self._sub("fraction", rf"(?<![\d/.,])(?:(?P<w>\d{{1,3}})\s)?(?P<n>\d{{1,6}})/(?P<d>\d{{1,6}})"
                                     rf"(?:\s?(?P<u>{unit_alt})(?!{LETTER}|/))?(?![\d/]|[.,]\d)", fn, text)

    def word_slashes(self, text: str) -> str:
        """'e/ou', 'São Paulo/SP': a slash between two written words (not numbers) as a short gap."""
        if self.rules.get("word_slash") is None:
            return text
        return self._sub("symbol", rf"(?<={LETTER})/(?={LETTER})", lambda m: self.rules["word_slash"], text)

    def roman(self, text: str) -> str:
        """Roman numerals where their context says they are numbers: 'século XXI' -> 'vinte e um',
        'Dom Pedro II' -> 'segundo', 'II Guerra Mundial' -> 'segunda guerra mundial'."""
        r = self.rules.get("roman")
        if not r:
            return text
        after, titles, fem = {w.lower() for w in r["after_words"]}, set(r["titles"]), set(r.get("feminine_titles", []))
        cardinal_after = {w.lower() for w in r.get("cardinal_after", [])}

        def fn(m: re.Match) -> str | None:
            numeral = m.group(0)
            value = roman_value(numeral)
            if value is None or value == 0:
                return None
            prev = self._prev_word(m.string, m.start()).strip("(\"'«")
            gender = "m"
            if prev.lower().rstrip(",") in after:
                word = prev.lower().rstrip(",")
                if word in cardinal_after:
                    return self.words.cardinal(str(value))
                gender = self._gender_after(word)
            elif prev in titles or (prev[:1].isupper() and prev.isalpha() and len(prev) > 2 and len(numeral) > 1
                                    and value <= 40):
                gender = "f" if prev in fem else "m"
            elif BEFORE_CAPITAL.match(m.string, m.end()) and len(numeral) > 1 and value <= 40 and \
                    (not prev or prev[-1] in ".!?:" or prev.lower() in ("a", "o", "na", "no", "da", "do")):
                gender = self._gender_after(m.string, m.end())
            else:
                return None
            if value <= r["ordinal_max"]:
                return self.words.ordinal(str(value), gender)
            return self.words.cardinal(str(value))

        return self._sub("roman", r"(?<![\w.-])[IVXLCDM]+(?![\w-])", fn, text)

    def initialisms(self, text: str) -> str:
        """An all-capital word spelled with the letters' names ('IBGE' -> 'i bê gê é', 'BR-116' ->
        'bê erre cento e dezesseis') unless it is read as a word (PIB, ONU... the table's list); in a
        line written mostly in capitals, only words without a vowel and listed ones are spelled."""
        ini = self.rules.get("initialisms")
        if not ini:
            return text
        letters, words, spelled = ini["letters"], set(ini["as_words"]), set(ini["spelled"])
        vowels = set("AEIOUÁÉÍÓÚÂÊÔÃÕÀ")

        def spell(w: str) -> str:
            return " ".join(letters.get(c, c.lower()) for c in w if c != ".")

        def line(text_line: str) -> str:
            tokens = re.findall(rf"{LETTER}{{2,}}", text_line)
            caps = sum(t.isupper() for t in tokens)
            shouting = len(tokens) >= 3 and caps * 2 > len(tokens)

            def fn(m: re.Match) -> str | None:
                w, plural = m.group("w"), m.group("pl") or ""
                if w in words or (w + plural) in words:
                    return None
                bare = w.replace(".", "")
                if "." in w:
                    return spell(bare) + (" " if m.group("h") else "")
                listed = bare in spelled
                no_vowel = not any(c in vowels for c in bare)
                if not listed and not all(c in letters for c in bare):  # 'VOVÔ': initialisms carry no accent
                    return None
                a, b = m.start(), m.end()
                beside = CAPS_WORD_END.search(text_line[max(0, a - 30):a]) or CAPS_WORD_START.match(text_line, b)
                loud = shouting or beside is not None  # 'LEIA COM ATENÇÃO': capitals for emphasis, not letters
                if not (listed or no_vowel or (not loud and len(bare) <= ini["max_letters"])):
                    if not loud and len(bare) <= 8:
                        self.notes.append({"kind": "initialism", "text": w, "why": "capitals read as a word; "
                                           "if it is an initialism, spell it"})
                    return None
                return spell(bare) + (" esse" if plural else "") + (" " if m.group("h") else "")

            dotted = r"(?:[A-Z]\.){2,}" if ini.get("dotted") else r"(?!)"
            return self._sub("initialism", rf"(?<![\w.-])(?P<w>{dotted}|[A-ZÀ-Ý]{{2,}})(?P<pl>s)?"
                                           r"(?:(?P<h>-(?=\d))|(?![\w]))",
                             fn, text_line)

        text = "\n".join(line(t) for t in text.split("\n"))
        # one capital against digits: 'G20' -> gê vinte, '5G' -> cinco gê, '3D', 'A4'
        return self._sub("initialism", r"(?<![\w.-])[A-Z](?=\d)|(?<=\d)[A-Z](?![\w])", lambda m: letters[m.group(0)], text)

    def ranges(self, text: str) -> str:
        """Two plain numbers joined by a hyphen: '2020-2024' -> '... a ...'."""
        r = self.rules.get("ranges")
        if not r:
            return text
        return self._sub("range", r"(?<![\w.,/-])(\d{1,4})\s?[-–]\s?(\d{1,4})(?![\w/-]|[.,]\d)",
                         lambda m: f"{self.words.integer(m.group(1), year_ok=True)} {r['word']} "
                                   f"{self.words.integer(m.group(2), year_ok=True)}", text)

    def numbers(self, text: str) -> str:
        text = self.decades(text)
        slash = self.rules["numbers"].get("slash_word")
        if slash:  # a slash left between numbers (no date, no fraction: 'Lei 8.078/90', '31/13/2020'), said
            text = re.sub(r"(?<=\d)/(?=\d)", SLASH_MARK, text)  # after the numbers (no gender from 'barra')

        def fn(m: re.Match) -> str:
            gender = "m" if m.group("frac") else self._gender_after(m.string, m.end())
            return self._amount(m, gender)

        text = self._sub("number", NEG + self.num, fn, text)
        if slash and SLASH_MARK in text:
            text = self._sub("number", SLASH_MARK, lambda m: f" {slash} ", text)
        # whatever digits a pattern above left (none known): digit by digit, so no digit reaches the model
        return self._sub("number", r"\d+", lambda m: self.words.digits(m.group(0)), text)

    def symbols(self, text: str) -> str:
        table = self.rules["symbols"]

        return self._sub("symbol", _alternatives(table), lambda m: f" {table[m.group(0)]} ", text) if table else text

    def case(self, text: str) -> str:
        """Lowercase everything (``"lowercase": "all"``) or only the capitals the vocab lacks; with
        ``keep_extended_capitals``, a capital the vocab has and f5-tts's base vocab lacks (a vocab
        extended with Ô, Õ) is kept: the fine-tune was extended for it."""
        base = default_vocab()
        keep = self.rules.get("keep_extended_capitals") and self.vocab != base
        if self.rules["lowercase"] == "all":
            lowered = "".join(c if keep and c.isupper() and known(c, self.vocab) and not known(c, base) else c.lower()
                              for c in text) if keep else text.lower()
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


ROMAN = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
ROMAN_VALUES = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}


def roman_value(numeral: str) -> int | None:
    """The value of a well-formed roman numeral ('XXI' -> 21), None for anything else ('IIII', 'VX')."""
    if not numeral or not ROMAN.fullmatch(numeral):
        return None
    total = 0
    for a, b in zip(numeral, numeral[1:] + " "):
        v = ROMAN_VALUES[a]
        total += -v if b != " " and ROMAN_VALUES[b] > v else v
    return total


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

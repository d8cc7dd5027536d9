"""Numbers as words: num2words for the words, this module for what num2words does not do.

num2words (``lang="pt_BR"`` / ``"en"``) takes numbers, not written strings, so the parsing of
"1.234,56" is the normaliser's; what is fixed here:

- its commas go: it writes 1234 as "mil, duzentos e trinta e quatro", and a comma is a pause
  and a chunk boundary in f5-tts;
- it has masculine forms only: the feminine comes from the table ("um" -> "uma", "dois" ->
  "duas", "duzentos" -> "duzentas"), after the last large scale only ("dois milhões e duzentas
  mil pessoas": "milhões" is itself masculine);
- it reads decimals digit by digit; the table says whether a language reads them as a number
  ("três vírgula catorze") or digit by digit ("three point one four");
- in Portuguese it puts "e" before every group ("um milhão e mil e um"): with the table's
  ``compose: "pt"`` the groups of three digits are joined here, "e" only before the last non-zero
  group when it is under 100 or a round hundred ("um milhão e mil", "um milhão mil e um");
- it overflows past 10**18: longer digit runs, and any run with a leading zero ("007"), are read
  digit by digit.
"""

from __future__ import annotations

import re
from typing import Any


def tidy(words: str) -> str:
    """num2words' output without its commas, one space between words."""
    return " ".join(words.replace(",", " ").split())


class NumberWords:
    """Words for numbers in one language, from num2words and the language's table."""

    def __init__(self, rules: dict[str, Any]) -> None:
        self.rules = rules
        self.lang = rules["num2words"]
        self.num = rules["numbers"]
        gender = rules.get("gender") or {}
        self.feminine = gender.get("feminine", {})
        self.large = set(gender.get("large_scales", []))
        ordinals = rules["ordinals"]
        self.fem_ending = ordinals.get("feminine_ending")

    def _n2w(self, value: int, to: str = "cardinal") -> str:
        from num2words import num2words

        return tidy(num2words(value, lang=self.lang, to=to))

    def digits(self, digits: str) -> str:
        """Each digit as its word: '007' -> 'zero zero sete'."""
        return " ".join(self._n2w(int(d)) for d in digits)

    def cardinal(self, digits: str, gender: str = "m") -> str:
        """An integer written as digits, in words, agreeing with ``gender`` ('m' or 'f')."""
        if len(digits) > 1 and int(digits[0]) == 0 or len(digits) > self.num["digit_by_digit_over"]:
            return self.digits(digits)
        try:
            words = self._compose(int(digits)) if self.num.get("compose") == "pt" else self._n2w(int(digits))
        except OverflowError:
            return self.digits(digits)
        return self.feminise(words) if gender == "f" else words

    def _compose(self, value: int) -> str:
        """A Portuguese cardinal from its groups of three digits (the table's scale words and 'e' rule)."""
        scales, join = self.num["scales"], self.num["and"]
        groups = []
        while value:
            groups.append(value % 1000)
            value //= 1000
        if not groups:
            return self._n2w(0)
        if len(groups) > len(scales) + 1:
            raise OverflowError
        parts = []  # (words, group value), the highest group first
        for i in range(len(groups) - 1, -1, -1):
            g = groups[i]
            if not g:
                continue
            if i == 0:
                words = self._n2w(g)
            elif i == 1:
                words = scales[0][0] if g == 1 else f"{self._n2w(g)} {scales[0][1]}"
            else:
                one, many = scales[i - 1]
                words = f"{self._n2w(g)} {one if g == 1 else many}"
            parts.append((words, g))
        out = parts[0][0]
        for k, (words, g) in enumerate(parts[1:], 1):
            last = k == len(parts) - 1
            out += f" {join} {words}" if last and (g < 100 or g % 100 == 0) else f" {words}"
        return out

    def feminise(self, words: str) -> str:
        """The feminine of a cardinal: only the words after its last large scale change."""
        if not self.feminine:
            return words
        parts = words.split()
        last = max((i for i, w in enumerate(parts) if w in self.large), default=-1)
        return " ".join(w if i <= last else self.feminine.get(w, w) for i, w in enumerate(parts))

    def ordinal(self, digits: str, gender: str = "m") -> str:
        try:
            words = self._n2w(int(digits), "ordinal")
        except OverflowError:
            return self.digits(digits)
        if gender == "f" and self.fem_ending:
            old, new = self.fem_ending
            words = " ".join(re.sub(f"{old}$", new, w) for w in words.split())
        return words

    def integer(self, digits: str, gender: str = "m", year_ok: bool = False) -> str:
        """An integer, read as a year when the table says so (English 1999 -> nineteen ninety-nine)."""
        years = self.num.get("years")
        if year_ok and years and len(digits) == 4 and digits[0] != "0" and years[0] <= int(digits) <= years[1]:
            return self._n2w(int(digits), "year")
        return self.cardinal(digits, gender)

    def fraction(self, digits: str) -> str:
        """The digits after the decimal separator: as a number after its leading zeros ('05' -> 'zero
        cinco', '14' -> 'catorze') when the table says so and they are few, else digit by digit
        ('3,14159' -> 'três vírgula um quatro um cinco nove')."""
        if self.num["decimals"] == "digits" or len(digits) > self.num.get("decimals_as_number_max", 3):
            return self.digits(digits)
        zeros = len(digits) - len(digits.lstrip("0"))
        rest = digits[zeros:]
        return " ".join(filter(None, [self.digits(digits[:zeros]) if zeros else "", self.cardinal(rest) if rest else ""]))

    def number(self, int_digits: str, frac_digits: str | None = None, gender: str = "m", negative: bool = False,
               year_ok: bool = False) -> str:
        """A whole written number: minus, integer part (agreeing with ``gender`` when it has no
        decimals), decimal word and decimals."""
        if frac_digits:
            words = f"{self.cardinal(int_digits)} {self.num['decimal_word']} {self.fraction(frac_digits)}"
        else:
            words = self.integer(int_digits, gender, year_ok=year_ok and not negative)
        return f"{self.num['minus']} {words}" if negative else words

"""The normaliser and `f5lab text`'s analysis are linear in the text: 4x the input takes under 6x the time.

A dotted digit run of 20 KB took 22 s (10 KB: 10.5 s) when a number pattern could start inside a
run it had already failed on; each kind of input below is one a pattern could stall on. Timings
are the best of a few repeats, so a loaded machine slows both sizes alike.
"""

from __future__ import annotations

import time

import pytest

from f5lab.speech.text.analysis import analyse
from f5lab.speech.text.normalizer import Normalizer

UNITS = {
    "dotted digits": "1.2.",
    "thousands groups": "123.",
    "comma digits": "12,",
    "slashes": "1/2/",
    "hyphens": "1-2-",
    "colons": "1:2:",
    "spaced digits": "1 2 ",
    "letters and dots": "a.b",
    "at signs": "a@b.",
    "capitals": "ABCDE ",
    "times": "1x2x",
    "a sentence": "O IBGE e a BR-116: R$ 1.234,56 em 15/03/2024 às 14h30, século XXI, (11) 98765-4321. ",
}
SMALL = 5_000


def best_of(fn, text: str, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - t0)
    return min(times)


@pytest.mark.parametrize("kind", list(UNITS))
def test_normaliser_is_linear(kind):
    norm = Normalizer("pt-BR")
    unit = UNITS[kind]
    small, large = unit * (SMALL // len(unit)), unit * (4 * SMALL // len(unit))
    t_small, t_large = best_of(norm, small), best_of(norm, large)
    assert t_large < 6 * max(t_small, 1e-3), f"{kind}: {len(small)} chars {t_small:.3f} s, {len(large)} chars {t_large:.3f} s"


def test_the_whole_text_analysis_is_linear_on_a_dotted_digit_run():
    """What `f5lab text` does (normalise, f5-tts's tokenizer step, chunks, advice) on the issue's input."""
    small, large = "1.2." * (SMALL // 4), "1.2." * SMALL
    run = lambda t: analyse(t, "pt-BR")  # noqa: E731
    t_small, t_large = best_of(run, small, 2), best_of(run, large, 2)
    assert t_large < 6 * t_small, f"{t_small:.3f} s -> {t_large:.3f} s"

"""Terminal helpers every stage's views share: a rich console, a hanging indent that keeps a
printed command on one line, and parameter counts in words."""

from __future__ import annotations

from rich.console import Console


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def hang(out: Console, head: str, text: str) -> None:
    """``head`` + ``text`` wrapped at the terminal's width at word boundaries, continuation lines
    indented under the text (a hanging indent), so a long reason stays readable in 100 columns."""
    import re
    import textwrap

    glue = "\x00"  # a command in backticks stays on one line: copied from the terminal, it runs as printed
    text = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", glue), str(text))
    lines = textwrap.wrap(text, width=max(40, out.width), initial_indent=head, subsequent_indent=" " * len(head),
                          break_long_words=False, break_on_hyphens=False) or [head.rstrip()]
    for line in lines:
        out.print(line.replace(glue, " "), markup=False, highlight=False)




def human_count(n: float) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1e5 else f"{n / 1e3:.1f} K" if n >= 1e3 else str(int(n))

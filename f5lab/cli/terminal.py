"""Terminal helpers every stage's views share: a rich console, ``echo``, a hanging indent that keeps
a printed command on one line, and parameter counts in words.

Every line f5lab prints passes ``f5lab.escaping.terminal`` here: a file name, a text or an error
holding ``ESC]0;title BEL`` or ``ESC[2J`` shows those bytes as ``\\x1b]0;title\\x07``, so no user string
can retitle, clear or rewrite the terminal. Rich's own styles are added after, so they still work.
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from f5lab.escaping import terminal


class _Console(Console):
    """A rich console whose every string (``print``'s, a table cell's) has its control characters
    shown as escapes before rich reads its markup."""

    def render_str(self, text: str, **kwargs: Any) -> Any:
        return super().render_str(terminal(text), **kwargs)


def console() -> Console:
    return _Console(highlight=False, soft_wrap=True)


def echo(message: Any = "", err: bool = False) -> None:
    """``click.echo`` of one message, control characters shown as escapes (newlines kept)."""
    click.echo(terminal(message), err=err)


def hang(out: Console, head: str, text: str) -> None:
    """``head`` + ``text`` wrapped at the terminal's width at word boundaries, continuation lines
    indented under the text (a hanging indent), so a long reason stays readable in 100 columns."""
    import re
    import textwrap

    text, head = terminal(text), terminal(head)
    glue = "\x00"  # a command in backticks stays on one line: copied from the terminal, it runs as printed
    text = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", glue), str(text))
    lines = textwrap.wrap(text, width=max(40, out.width), initial_indent=head, subsequent_indent=" " * len(head),
                          break_long_words=False, break_on_hyphens=False) or [head.rstrip()]
    for line in lines:
        out.print(line.replace(glue, " "), markup=False, highlight=False)




def human_count(n: float) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1e5 else f"{n / 1e3:.1f} K" if n >= 1e3 else str(int(n))

"""Every user string that reaches a page, a Markdown file, YAML or a terminal passes here.

A checkpoint's file name, a reference text, a config's name: none of them is markup. They are
escaped for their destination at the one place they are rendered, so a name holding
``<img onerror=...>``, a newline, a backtick or an ANSI escape shows as text everywhere.
"""
from __future__ import annotations

import html as _html
import re

# C0 and C1 controls and DEL, except tab and newline (which callers choose to keep or not)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# characters that start Markdown syntax anywhere in a line; escaped with a backslash
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def _shown(match: re.Match) -> str:
    return match.group(0).encode("unicode_escape").decode("ascii")


def _no_surrogates(text: str) -> str:
    """A file name that is not valid UTF-8 reaches us with lone surrogates: show them as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def terminal(text: object, keep_newlines: bool = True) -> str:
    """Text for a terminal: control characters (escape sequences, bells, carriage returns) shown as
    ``\\x1b``-style escapes, so no user string can retitle, clear or rewrite the screen."""
    pattern = _CONTROL if keep_newlines else _CONTROL_ALL
    return pattern.sub(_shown, _no_surrogates(str(text)))


def html(text: object) -> str:
    """Text for HTML element content or a quoted attribute."""
    return _html.escape(terminal(text), quote=True)


def markdown(text: object) -> str:
    """Text for a Markdown cell or file, inline: one line, no live markup.

    Markdown renderers (nbconvert, GitHub, Hugging Face) pass raw HTML through, so ``<`` and ``&``
    become entities; Markdown's own syntax characters get a backslash; a newline would start a new
    block (a heading, a list), so it is shown as ``\\n``."""
    one_line = terminal(text, keep_newlines=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _html.escape(one_line, quote=False))


def markdown_code(text: object) -> str:
    """Text as inline code in Markdown: a backtick fence longer than any run inside, HTML-escaped
    (nbconvert does not escape inside code spans it passes through mistune's HTML renderer)."""
    one_line = terminal(text, keep_newlines=False)
    longest = max((len(run) for run in re.findall(r"`+", one_line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if one_line.startswith("`") or one_line.endswith("`") else ""
    return f"{fence}{pad}{_html.escape(one_line, quote=False)}{pad}{fence}"


def yaml_comment(text: object) -> str:
    """Text for a ``# ...`` YAML comment: one line, so nothing after it becomes a key."""
    return terminal(text, keep_newlines=False)

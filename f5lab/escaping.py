"""Every user string that reaches a page, a Markdown file, YAML or a terminal passes here.

A checkpoint's file name, a reference text, a config's name: none of them is markup. They are
escaped for their destination at the one place they are rendered, so a name holding
``<img onerror=...>``, a newline, a backtick or an ANSI escape shows as text everywhere.

- ``terminal``: control characters (C0, DEL, C1, the bidirectional overrides) shown as ``\\x1b``-style
  escapes; a file name that is not valid UTF-8 (lone surrogates) shown as ``\\udcff``.
- ``html``: the same, then HTML-escaped (element content and quoted attributes).
- ``markdown``: one line (a newline shown as ``\\n``), raw HTML turned into text, every character
  that could start a link, an image, emphasis, code, math or a table cell backslash-escaped, and a
  line start that could open a block (heading, list, quote) escaped too. Ordinary names stay as
  they are: an underscore inside a word (``F5TTS_Base``) is no emphasis, so it is left alone.
- ``markdown_code``: inline code with a fence longer than any backtick run inside.
- ``url``: a relative link to a file (an ``href``, a ``src``, a Markdown link's destination):
  percent-encoded, so no file name (``javascript:alert(1).wav``) reads as a scheme.
- ``yaml_comment``: one line, so nothing after ``#`` becomes a key (YAML also breaks lines at
  U+0085, U+2028 and U+2029: shown as escapes).
"""
from __future__ import annotations

import html as _html
import re

# format characters that reorder what a reader sees (a "Trojan Source" name): shown as escapes too
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0 and C1 controls and DEL, except tab and newline (which callers choose to keep or not); the Unicode
# line and paragraph separators (YAML and JavaScript break lines there, a reader sees nothing)
_CONTROL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\u2028\u2029{_BIDI}]")
# one line: the same, and the newline and the tab
_CONTROL_ALL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\u2028\u2029{_BIDI}]")
# Markdown syntax anywhere in a line: code, emphasis, links and images, tables, strikethrough, math,
# headings' closing #, escapes themselves
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]|~$#])")
# an underscore run is emphasis only where it is not inside a word (CommonMark's flanking rule)
_UNDERSCORES = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])")
# what opens a block at a line's start: a quote, a list item, a setext underline, an ordered item
_BLOCK_START = re.compile(r"^(\s*)([>+=\-]|\d{1,9}(?=[.)]))")


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


def one_line(text: object) -> str:
    """``terminal`` on one line: a newline (and every other line break) shown as ``\\n``."""
    return terminal(text, keep_newlines=False)


def html(text: object) -> str:
    """Text for HTML element content or a quoted attribute."""
    return _html.escape(terminal(text), quote=True)


def markdown(text: object, code_spans: bool = False) -> str:
    """Text for a Markdown cell or file, inline: one line, no live markup.

    Markdown renderers (nbconvert, GitHub, Hugging Face) pass raw HTML through, so ``<`` and ``&``
    become entities; Markdown's own syntax characters get a backslash; a newline would start a new
    block (a heading, a list), so it is shown as ``\\n``. ``code_spans``: a span between two
    backticks (a verdict's command) is shown as inline code (``markdown_code``: literal, inert)."""
    if code_spans:
        parts = re.split(r"(`[^`]+`)", one_line(text))
        return "".join(markdown_code(p[1:-1]) if len(p) > 1 and p[0] == p[-1] == "`" else markdown(p) if p else ""
                       for p in parts)
    line = one_line(text).replace("&", "&amp;").replace("<", "&lt;")
    line = _MARKDOWN_SPECIAL.sub(r"\\\1", line)
    line = _UNDERSCORES.sub(lambda m: "\\_" * len(m.group(0)), line)
    return _block_start(line)


def _block_start(line: str) -> str:
    """Escape what would open a block if the text stood at a line's start (a quote, a list item, a
    setext underline, ``1.``/``1)``): the marker, or the dot after an ordered item's number."""
    m = _BLOCK_START.match(line)
    if not m:
        return line
    lead, marker = m.group(1), m.group(2)
    if marker.isdigit():
        end = m.end()
        return line[:end] + "\\" + line[end:]
    return lead + "\\" + marker + line[m.end():]


def markdown_code(text: object) -> str:
    """Text as inline code in Markdown: one line, a backtick fence longer than any run inside (code
    spans are literal in every renderer: nbconvert's, GitHub's and the Hub's escape their content)."""
    line = one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if line.startswith("`") or line.endswith("`") or (line.startswith(" ") and line.endswith(" ")) else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def url(path: object) -> str:
    """A relative URL to the file ``path`` (relative to the page): every byte but letters, digits,
    ``/`` and ``_.-~`` percent-encoded (the exact bytes of a name that is not UTF-8), so a colon is
    ``%3A`` and no name reads as a scheme; one that starts with ``/`` is led by ``.`` (never another
    host or the site's root). Safe in a quoted attribute and as a Markdown link's destination."""
    from urllib.parse import quote

    text = quote(str(path).replace("\\", "/").encode("utf-8", "surrogateescape"), safe="/")
    return "." + text if text.startswith("/") else text


def yaml_comment(text: object) -> str:
    """Text for a ``# ...`` YAML comment: one line, so nothing after it becomes a key."""
    return one_line(text)

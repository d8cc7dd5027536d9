"""User strings bound for HTML, Markdown, YAML comments and terminals: escaped in one place.

Enumeration tests: every public function of ``f5lab.escaping``, and every rendering function of the
report, the sweep page, the notebook views and the model card that takes a user string, is fed each
hostile string and must return text with no live markup (``live_markup`` below, shared with the
page walk of ``tests/test_escaping_pages.py``). A new escaping function without a check here fails
``test_every_escaping_function_has_a_destination_check``.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from f5lab import escaping

IMG = "<img src=x onerror=alert(1)>"
HOSTILE = [
    IMG,
    "x" + IMG,
    "<svg onload=alert(1)>",
    "<script>alert(1)</script>",
    "a`b``c`",
    "`" + IMG + "`",
    "](javascript:alert(1))",
    "[x](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[x]: javascript:alert(1)",
    "javascript:alert(1)",
    "ok\n# heading\n- item\n[x](javascript:alert(1))",
    "line\r\n> quote\n1. one\n    code",
    "\x1b]0;pwn\x07",
    "\x1b[2J\x1b[H",
    "\x9b2J \x85 \u2028 \u2029 \u202e",
    "- list",
    "# heading",
    "1. ordered",
    "_em_ *strong* ~~del~~ ~1~ $x$ | cell |",
    "&lt;img src=x onerror=alert(1)&gt;",
    "\" onmouseover=\"alert(1)",
    "' onfocus='alert(1)",
    os.fsdecode(b"bad\xff\xfe utf-8 \x1b[2J"),  # a file name that is not UTF-8: lone surrogates
    "F5TTS_Base model_1200000 (0.0%)",
]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
PAYLOAD_LINE = re.compile(r"\s*(#+ ?head|[-*+] item|\d+[.)] one|> quote|\[x\]\(javascript)")


# -- what "live" means, shared with the page walk ---------------------------------------------------------
class _Elements(HTMLParser):
    """Every element of an HTML text, with its attributes and (for scripts) its code."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def elements(text: str) -> _Elements:
    parser = _Elements()
    parser.feed(text)
    parser.close()
    return parser


def live_markup(text: str) -> list[str]:
    """What in an HTML text could run or was put there by a payload: an ``on*`` attribute, a
    ``javascript:``/``vbscript:`` URL, an element no page of f5lab makes (svg, iframe, object,
    embed, an ``<img src=x>``), a script that calls ``alert``, or a control character."""
    found = [f"control character {m.group(0)!r} in ...{text[max(0, m.start() - 40):m.start()]!r}"
             for m in CONTROL.finditer(text)][:3]
    parsed = elements(text)
    for tag, attrs in parsed.elements:
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"<{tag} {name}=...>")
            url = re.sub(r"[\s\x00-\x20]", "", value or "").lower()
            if name in ("href", "src", "action", "formaction", "xlink:href", "data", "poster") and \
                    url.startswith(("javascript:", "vbscript:", "data:text/html")):
                found.append(f"<{tag} {name}={value!r}>")
        if tag in ("svg", "iframe", "object", "embed", "math", "base", "form"):
            found.append(f"<{tag}>")
        if tag == "img" and attrs.get("src") == "x":
            found.append("<img src=x>")
    found += [f"script calling alert: {s[:60]!r}" for s in parsed.scripts if "alert(" in s]
    return found


def markdown_renderings(text: str) -> list[str]:
    """``text`` as nbconvert renders Markdown (mistune) and as CommonMark does with raw HTML on (GitHub
    and the Hugging Face Hub follow CommonMark)."""
    from markdown_it import MarkdownIt
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return [markdown2html_mistune(text), MarkdownIt("commonmark", {"html": True}).enable("table").render(text)]


def live_markdown(text: str) -> list[str]:
    """A Markdown text's live markup: what its renderings hold (``live_markup``), and a payload line
    that starts a block (a heading, a list item, a quote, a link)."""
    found = [f"control character {m.group(0)!r}" for m in CONTROL.finditer(text)][:3]
    for rendered in markdown_renderings(text):
        found += [f for f in live_markup(rendered) if not f.startswith("control")]
    found += [f"payload line: {line!r}" for line in text.splitlines() if PAYLOAD_LINE.match(line)]
    return found


# -- the escaping functions, each for its destination ---------------------------------------------------
def _inline_markdown(out: str) -> list[str]:
    """``out`` placed in a list item must render as one item of plain text: no element but the list's,
    a paragraph and (for code) a code span."""
    bad = live_markdown(f"- {out}\n")
    for rendered in markdown_renderings(f"- {out}\n"):
        tags = {tag for tag, _ in elements(rendered).elements} - {"ul", "li", "p", "code"}
        bad += [f"element <{t}> from {out!r}" for t in tags]
        if rendered.count("<li>") != 1:
            bad.append(f"{rendered.count('<li>')} list items from {out!r}")
    return bad


def _check_terminal(out: str) -> list[str]:
    return [f"control {m.group(0)!r}" for m in re.finditer(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", out)]


def _check_one_line(out: str) -> list[str]:
    return [f"control {m.group(0)!r}" for m in CONTROL.finditer(out)]


def _check_html(out: str) -> list[str]:
    bad = live_markup(f"<div>{out}</div>") + live_markup(f'<a title="{out}">x</a>')
    tags = [t for t, _ in elements(f"<div>{out}</div>").elements if t != "div"]
    return bad + [f"element <{t}>" for t in tags]


def _check_yaml_comment(out: str) -> list[str]:
    loaded = yaml.safe_load(f"key: 1  # {out}\nother: 2  # {out}\n")
    return _check_one_line(out) + ([] if loaded == {"key": 1, "other": 2} else [f"YAML became {loaded!r}"])


def _check_url(out: str) -> list[str]:
    from urllib.parse import urlsplit

    parts = urlsplit(out)
    bad = [] if not parts.scheme and not parts.netloc else [f"scheme/host {parts.scheme!r} {parts.netloc!r}"]
    bad += _check_html(out) + _check_one_line(out)
    bad += [] if re.fullmatch(r"[A-Za-z0-9%/_.~-]*", out) else [f"unencoded character in {out!r}"]
    return bad


CHECKS = {"terminal": _check_terminal, "one_line": _check_one_line, "html": _check_html,
          "markdown": _inline_markdown, "markdown_code": _inline_markdown, "yaml_comment": _check_yaml_comment,
          "url": _check_url}


def _public_functions() -> dict[str, object]:
    return {name: fn for name, fn in inspect.getmembers(escaping, inspect.isfunction)
            if not name.startswith("_") and fn.__module__ == escaping.__name__}


def test_every_escaping_function_has_a_destination_check():
    assert set(_public_functions()) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_each_escaping_function_leaves_no_live_markup(name, text):
    out = _public_functions()[name](text)
    assert isinstance(out, str)
    assert CHECKS[name](out) == [], (name, text, out)


@pytest.mark.parametrize("text", HOSTILE + ["run `f5lab remap a b` then " + IMG, "a `" + IMG + "` b ` c"],
                         ids=range(len(HOSTILE) + 2))
def test_markdown_with_code_spans_leaves_no_live_markup(text):
    """A verdict's command between backticks is shown as code; whatever a user put between backticks
    is code too, so it stays inert."""
    assert _inline_markdown(escaping.markdown(text, code_spans=True)) == []


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_markdown_shows_the_text_itself(text):
    """Escaped, not removed: the rendering's text is the string, control characters as escapes."""
    from html import unescape

    shown = re.sub(r"<[^>]+>", "", markdown_renderings(escaping.markdown(text))[1]).strip()
    assert unescape(shown) == escaping.one_line(text)
    code = re.sub(r"<[^>]+>", "", markdown_renderings(escaping.markdown_code(text))[1]).strip()
    assert unescape(code) == escaping.one_line(text).strip(" ") or unescape(code) == escaping.one_line(text)


def test_ordinary_names_stay_readable():
    assert escaping.markdown("F5TTS_Base, dim 1024 (0.3 M parameters)") == "F5TTS_Base, dim 1024 (0.3 M parameters)"
    assert escaping.markdown("model_last.safetensors") == "model_last.safetensors"
    assert escaping.url("04_synthesis_audio/F5TTS_Base_fp32_nfe2/synth.wav") == \
        "04_synthesis_audio/F5TTS_Base_fp32_nfe2/synth.wav"
    assert escaping.terminal("caf\u00e9 \u00f4 ok\n") == "caf\u00e9 \u00f4 ok\n"
    assert escaping.terminal("\x1b]0;pwn\x07") == "\\x1b]0;pwn\\x07"
    assert escaping.url("javascript:alert(1).wav") == "javascript%3Aalert%281%29.wav"


# -- every rendering function that takes a user string --------------------------------------------------------
def _renderers():
    """(name, function of one string returning what it renders, the checker for that destination)."""
    from f5lab.reporting import modelcard, reports, sweeppage
    from f5lab.reporting.sidecar import Sidecar, Table, cell

    def summary_markdown(s):
        side = Sidecar(None, "t")
        side.verdict("a", s, ok=True)
        return side.summary().data

    def card_html(s):
        answer = {"config_asked": s, "gpu": s, "lines": [{"label": s, "text": s, "ok": True, "href": s},
                                                         {"label": "code", "text": s + "\n" + s, "code": True}]}
        return reports.answer_card_html(answer, {"checkpoint": {"path": s, "size_bytes": 1}, "demo": False}, "all 4 notebooks ran")

    def sweep_html(s):
        return (sweeppage.config_html({"config": [{"how": s, "text": s, "checkpoints": [s]}]})
                + sweeppage.media_html({"audio": s + ".wav", "mel": s + ".png"}, s, s))

    def card_sample(s):
        return modelcard.sample_line({"label": s, "path": s + ".wav", "text": s}, {"ref_audio": s}, False)

    def card_body(s):
        answer = {"checkpoint": s, "is": s, "undecided": [s], "base_config": {"config": s, "evidence": s},
                  "probe": {"best": s, "runner_up": s, "margin_pct": 1.0, "bar_pct": 5.0},
                  "runs": {"gpu": s, "seconds_per_call": 1.0, "rtf": 0.1,
                           "fits": {"gpu": s, "dtype": s, "attn": s, "seconds": 10.0, "fits": True,
                                    "needs_bytes": 1, "budget_bytes": 2}},
                  "weights": {"can_speak": False, "why": s}}
        manifest = {"checkpoint": {"path": "/tmp/" + s, "sha256": s, "size_bytes": 1},
                    "parameters": {"lang": "en", "ref_audio": s, "vocoder": s}, "versions": {"f5lab": s}}
        return modelcard.body(answer, manifest, {"file": s, "tokens": 1, "sha256": s}, None, {})

    return [("Sidecar.summary (notebook Markdown)", summary_markdown, live_markdown),
            ("Table (notebook HTML)", lambda s: Table([{s: s}])._repr_html_(), live_markup),
            ("Table (notebook text)", lambda s: repr(Table([{s: s}])), _check_terminal),
            ("cell", cell, _check_terminal),
            ("answer card", card_html, live_markup),
            ("index verdict", lambda s: reports._verdict_html({"text": s, "ok": False}), live_markup),
            ("sweep page", sweep_html, live_markup),
            ("sweep points table", lambda s: sweeppage.points_html(
                {"axes": {}, "points": {s: {"settings": {"checkpoint": s, "config": s}, "status": "failed",
                                            "error": s, "numbers": {}, "notebooks": {s: s}, "media": {"audio": s}}},
                 "units": {}}), live_markup),
            ("model card sample line", card_sample, live_markdown),
            ("model card body", card_body, live_markdown),
            ("page title", lambda s: reports.page_title(s, s), _check_one_line)]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_every_renderer_of_user_strings_leaves_no_live_markup(text):
    for name, render, check in _renderers():
        out = render(text)
        assert check(out) == [], (name, text)


def test_the_model_card_front_matter_stays_yaml_with_hostile_names():
    from f5lab.reporting import modelcard

    for text in HOSTILE:
        answer = {"base_config": {"config": text, "evidence": text}, "is": text}
        head = modelcard.front_matter(answer, {"lang": "pt-BR"}, {"tokens": 3, "sha256": "ab"})
        loaded = yaml.safe_load(head.strip().strip("-"))
        assert set(loaded) == {"language", "language_bcp47", "library_name", "pipeline_tag", "base_config",
                               "base_config_evidence", "vocab_size", "vocab_sha256", "license", "tags"}, text
        assert loaded["base_config"] == escaping.one_line(text) and not CONTROL.search(head)


# -- YAML: inspect --write-config -------------------------------------------------------------------------
def test_write_config_keeps_a_hostile_checkpoint_name_inside_its_comment(tmp_path):
    from click.testing import CliRunner

    from f5lab.cli.commands import main
    from f5lab.synthetic.layouts import build_checkpoint

    name = "x\nevil: 1\n\u2028pwn: 2\x85also: 3\x1b[2J" + IMG + ".safetensors"
    ck = build_checkpoint(tmp_path / name, config="F5TTS_Base", scale="tiny", seed=0).path
    out = tmp_path / "own.yaml"
    result = CliRunner().invoke(main, ["inspect", str(ck), "--configs", "tiny", "--write-config", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert set(yaml.safe_load(text)) == {"hydra", "datasets", "optim", "model", "ckpts"}
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]", text)
    assert text.splitlines()[0].endswith("from " + escaping.yaml_comment(name))
    assert "\x1b" not in result.output


# -- the terminal --------------------------------------------------------------------------------------------
def _f5lab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "TQDM_DISABLE": "1"}
    return subprocess.run([sys.executable, "-m", "f5lab", *args], capture_output=True, env=env, cwd=cwd, timeout=300)


def test_f5lab_text_shows_escape_sequences_as_escapes():
    result = _f5lab("text", "Hi \x1b]0;pwn\x07 there \x1b[2J\x1b[H\x9b2J.")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode("utf-8")
    assert "\\x1b]0;pwn\\x07" in out and "\\x1b[2J" in out
    assert not re.search(r"[\x07\x1b\x9b]", out + result.stderr.decode("utf-8"))


@pytest.mark.parametrize("args", [["inspect", "{p}"], ["text", "--text-file", "{p}"], ["diagnose", "{p}"]])
def test_an_error_line_shows_a_hostile_path_as_escapes(tmp_path, args):
    path = str(tmp_path / "missing\x1b]0;pwn\x07\x1b[2J\n# x.safetensors")
    result = _f5lab(*[a.replace("{p}", path) for a in args])
    err = result.stderr.decode("utf-8")
    assert result.returncode == 2 and err.startswith("f5lab: error:") and len(err.strip().splitlines()) == 1, err
    assert "\\x1b]0;pwn\\x07" in err
    assert not re.search(r"[\x07\x1b]", err + result.stdout.decode("utf-8"))

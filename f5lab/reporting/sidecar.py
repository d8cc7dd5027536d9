"""The one place a notebook writes its numbers: a JSON sidecar next to the executed notebook.

Why not scrapbook: it is unmaintained. A notebook creates one ``Sidecar`` (its path comes
from the ``sidecar`` parameter that ``f5lab report`` injects; ``None`` when the notebook is
run by hand or by nbval, which keeps the numbers in memory only), then records every
number it shows with its unit. ``f5lab.reporting.reports`` gathers the sidecars into ``summary.json``.

Timings live apart from the numbers (``timing``) so that two runs can be compared on
everything else. Every call rewrites the file atomically, so a notebook that fails half-way
still leaves the numbers it had produced.

The figure and table helpers keep executed notebooks reproducible: PNGs are written
without software metadata and displayed as bytes, so nbval sees the same text each run.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from f5lab import escaping
from f5lab.outputs import make_dirs, replace_text, write_bytes

SCHEMA = 1


def plain(value: Any) -> Any:
    """A JSON-safe copy: numpy/torch scalars to Python, NaN/inf to None, tuples to lists."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return str(value)
    if hasattr(value, "tolist"):
        return plain(value.tolist())
    return str(value)


class Sidecar:
    """Numbers (with units), headline verdicts and timings of one notebook run."""

    def __init__(self, path: str | os.PathLike | None, notebook: str) -> None:
        self.path = Path(path) if path else None
        self.data: dict[str, Any] = {"schema": SCHEMA, "notebook": notebook, "numbers": {},
                                     "verdicts": [], "timings": {}, "figures": []}
        self.save()

    # -- recording ------------------------------------------------------------------------------
    def record(self, key: str, value: Any, unit: str | None = None, note: str | None = None) -> Any:
        """Record one shown number (or short fact) under a dotted ``key``; returns ``value``."""
        entry: dict[str, Any] = {"value": plain(value), "unit": unit}
        if note:
            entry["note"] = note
        self.data["numbers"][key] = entry
        self.save()
        return value

    def record_many(self, prefix: str, values: Mapping[str, Any], unit: str | None = None) -> None:
        """Record a mapping (a table column) as ``prefix.<name>`` entries sharing one unit."""
        for name, value in values.items():
            self.data["numbers"][f"{prefix}.{name}"] = {"value": plain(value), "unit": unit}
        self.save()

    def verdict(self, key: str, text: str, ok: bool | None = None) -> str:
        """A headline the report index shows (``ok``: True good, False bad, None neutral)."""
        self.data["verdicts"] = [v for v in self.data["verdicts"] if v["key"] != key]
        self.data["verdicts"].append({"key": key, "text": text, "ok": ok})
        self.save()
        return text

    def answer(self, key: str, **facts: Any) -> dict[str, Any]:
        """Facts for the report's answer card (``f5lab.reporting.reports.build_answer`` reads them)."""
        self.data.setdefault("answer", {})[key] = plain(facts)
        self.save()
        return facts

    def summary(self) -> Any:
        """The notebook's verdicts so far as a short Markdown list: the result at its top. A verdict
        is text (it names the user's files): escaped for Markdown, never markup; a command between
        backticks shows as inline code."""
        from IPython.display import Markdown

        marks = {True: "\u2713 ", False: "\u2717 ", None: ""}  # a neutral line: the list's own bullet only
        lines = [f"- {marks.get(v['ok'], marks[None])}{escaping.markdown(v['text'], code_spans=True)}"
                 for v in self.data["verdicts"]]
        return Markdown("\n".join(lines) or "- (no verdict)")

    def timing(self, key: str, seconds: float) -> float:
        """A wall-clock figure: kept apart, since it is the one thing allowed to vary."""
        self.data["timings"][key] = {"value": plain(round(float(seconds), 4)), "unit": "s"}
        self.save()
        return seconds

    # -- presentation helpers -------------------------------------------------------------------
    def figure(self, name: str, fig: Any) -> Any:
        """Display ``fig`` as a metadata-free PNG at twice the pixels of its size (shown at its
        size: sharp on a HiDPI screen and when zoomed) and save it beside the sidecar; closes it."""
        png = png_bytes(fig)
        if self.path is not None:
            out = self.path.with_name(f"{self.data['notebook']}_{name}.png")
            write_bytes(out, png, force=True)  # the sidecar's own figure: replaced
            if out.name not in self.data["figures"]:
                self.data["figures"].append(out.name)
            self.save()
        from IPython.display import Image

        return Image(data=png, format="png", retina=True)

    def save(self) -> None:
        if self.path is None:
            return
        if not self.path.parent.is_dir():
            make_dirs(self.path.parent)
        replace_text(self.path, json.dumps(self.data, indent=2, sort_keys=False) + "\n")


from f5lab.figures import PAGE_DPI as FIGURE_DPI, png_bytes  # noqa: E402,F401  (the one way figures are saved)


WIDTH = 100  # the console width notebooks render at: pandas, rich and printed text wrap within it


@dataclass
class NotebookContext:
    """What a notebook's single set-up call returns: resolved inputs and its sidecar."""

    name: str
    side: "Sidecar"
    checkpoint: Path
    catalogue: Any  # None: the shipped configs; the tiny catalogue for tiny fixtures
    configs: str
    fixture: bool  # True: the checkpoint is a tiny random fixture built for this run


def notebook_setup(name: str, sidecar: str | os.PathLike | None = None, checkpoint: str | os.PathLike | None = None,
                   configs: str | None = None, seed: int = 0) -> NotebookContext:
    """The one set-up call of every notebook: quiet, reproducible output at ``WIDTH`` columns,
    the checkpoint (a tiny random F5TTS_Base fixture when None, ranked against the tiny
    catalogue), the config catalogue and the JSON sidecar."""
    setup_notebook()
    fixture = checkpoint is None
    if fixture:
        checkpoint, configs = tiny_checkpoint(seed=seed), configs or "tiny"
    configs = configs or "shipped"
    return NotebookContext(name=name, side=Sidecar(sidecar, name), checkpoint=Path(checkpoint),
                           catalogue=catalogue_for(configs), configs=configs, fixture=fixture)


def wrap(text: str, indent: str = "    ", width: int = WIDTH) -> str:
    """``text`` wrapped at word boundaries within ``width``, continuation lines indented."""
    import textwrap

    return "\n".join(textwrap.fill(line, width=width, subsequent_indent=indent, break_long_words=False,
                                   break_on_hyphens=False) for line in str(text).splitlines() or [""])


def say(*lines: str, indent: str = "    ") -> None:
    """Print each line wrapped within ``WIDTH`` with a hanging indent (no mid-word breaks); control
    characters (a name's escape sequences) shown as escapes."""
    for line in lines:
        print(wrap(escaping.terminal(line), indent))


def cell(value: Any) -> str:
    """A table cell as text: None as "-", booleans as yes/no, floats without noise digits."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return escaping.terminal(value)


class Table:
    """A notebook table: left-aligned, no index column, every cell text.

    HTML with inline styles only (JupyterLab keeps them in untrusted notebooks, unlike
    ``<style>`` blocks); the plain-text form wraps long cells at word boundaries so a row
    never exceeds ``WIDTH`` columns. ``style(row, column, value)`` may return CSS for a cell.
    """

    def __init__(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
                 style: Callable[[Mapping[str, Any], str, Any], str | None] | None = None) -> None:
        self.rows = [dict(r) for r in rows]
        self.columns = list(columns) if columns else list(dict.fromkeys(k for r in self.rows for k in r))
        self.style = style

    def _repr_html_(self) -> str:
        html = escaping.html
        pad = "text-align:left;vertical-align:top;padding:2px 10px 2px 4px;"
        head = "".join(f'<th style="{pad}border-bottom:1px solid #999">{html(c)}</th>' for c in self.columns)
        body = []
        for r in self.rows:
            tds = []
            for c in self.columns:
                extra = (self.style(r, c, r.get(c)) if self.style else None) or ""
                text = cell(r.get(c))
                keep = "white-space:nowrap;" if len(text) <= 24 else ""  # short values never break
                tds.append(f'<td style="{pad}{keep}{extra}">{html(text)}</td>')
            body.append("<tr>" + "".join(tds) + "</tr>")
        return (f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table>')

    def __repr__(self) -> str:
        import textwrap

        grid = [[cell(r.get(c)) for c in self.columns] for r in self.rows]
        rows = [[escaping.terminal(c) for c in self.columns]] + grid
        widths = [max(len(row[i]) for row in rows) for i in range(len(self.columns))]
        floor = [max(len(w) for row in rows for w in row[i].split() or [""]) for i in range(len(self.columns))]
        while sum(widths) + 2 * (len(widths) - 1) > WIDTH:  # narrow the widest column that can wrap
            slack = [i for i in range(len(widths)) if widths[i] > floor[i]]
            if not slack:
                break
            i = max(slack, key=lambda k: widths[k])
            widths[i] -= 1
        lines = []
        for row in rows:
            parts = [textwrap.wrap(v, w, break_long_words=False, break_on_hyphens=False) or [""]
                     for v, w in zip(row, widths)]
            for k in range(max(len(p) for p in parts)):
                lines.append("  ".join((p[k] if k < len(p) else "").ljust(w) for p, w in zip(parts, widths)).rstrip())
        return "\n".join(lines)


def setup_notebook() -> None:
    """What every notebook does first: Agg backend, no progress bars, quiet warnings."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm.auto without ipywidgets
    try:
        import pandas as pd

        pd.set_option("display.max_rows", 200)
        pd.set_option("display.width", WIDTH)
        pd.set_option("display.max_colwidth", None)
        pd.set_option("display.colheader_justify", "left")
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read a sidecar written by ``Sidecar``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def tiny_checkpoint(config: str = "F5TTS_Base", layout: str = "release_safetensors", seed: int = 0) -> Path:
    """A notebook's cheap default input: a tiny real checkpoint (a few MB) in a fresh temp folder."""
    import tempfile

    from f5lab.synthetic.layouts import build_checkpoint

    folder = Path(tempfile.mkdtemp(prefix="f5lab-nb-"))
    suffix = ".safetensors" if "safetensors" in layout else ".pt"
    return build_checkpoint(folder / f"tiny_{config}{suffix}", config=config, layout=layout, scale="tiny",
                            seed=seed).path


def catalogue_for(configs: str | None) -> Any:
    """The config catalogue a notebook ranks against: None (shipped, real sizes) or the tiny one
    (``f5lab.model.described.catalogue_named``, the one switch)."""
    from f5lab.model.described import catalogue_named

    return catalogue_named(configs)

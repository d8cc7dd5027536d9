"""The one place a notebook writes its numbers: a JSON sidecar next to the executed notebook.

Why not scrapbook: it is unmaintained. A notebook creates one ``Sidecar`` (its path comes
from the ``sidecar`` parameter that ``f5lab report`` injects; ``None`` when the notebook is
run by hand or by nbval, which keeps the numbers in memory only), then records every
number it shows with its unit. ``f5lab.reports`` gathers the sidecars into ``summary.json``.

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
from pathlib import Path
from typing import Any, Mapping

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

    def timing(self, key: str, seconds: float) -> float:
        """A wall-clock figure: kept apart, since it is the one thing allowed to vary."""
        self.data["timings"][key] = {"value": plain(round(float(seconds), 4)), "unit": "s"}
        self.save()
        return seconds

    # -- presentation helpers -------------------------------------------------------------------
    def figure(self, name: str, fig: Any) -> Any:
        """Display ``fig`` as a metadata-free PNG (and save it beside the sidecar); closes it."""
        png = png_bytes(fig)
        if self.path is not None:
            out = self.path.with_name(f"{self.data['notebook']}_{name}.png")
            out.write_bytes(png)
            if out.name not in self.data["figures"]:
                self.data["figures"].append(out.name)
            self.save()
        from IPython.display import Image

        return Image(data=png, format="png")

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


def png_bytes(fig: Any, dpi: int = 80) -> bytes:
    """PNG of a matplotlib figure with no ``Software`` stamp (same bytes every run); closes it."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


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
        pd.set_option("display.width", 120)
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read a sidecar written by ``Sidecar``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def tiny_checkpoint(config: str = "F5TTS_Base", layout: str = "release_safetensors", seed: int = 0) -> Path:
    """A notebook's cheap default input: a tiny real checkpoint (a few MB) in a fresh temp folder."""
    import tempfile

    from f5lab.fixtures import build_checkpoint

    folder = Path(tempfile.mkdtemp(prefix="f5lab-nb-"))
    suffix = ".safetensors" if "safetensors" in layout else ".pt"
    return build_checkpoint(folder / f"tiny_{config}{suffix}", config=config, layout=layout, scale="tiny",
                            seed=seed).path


def catalogue_for(configs: str | None) -> Any:
    """The config catalogue a notebook ranks against: None (shipped, real sizes) or the tiny one."""
    if configs in (None, "shipped"):
        return None
    if configs == "tiny":
        from f5lab.arch import tiny_catalogue

        return tiny_catalogue()
    from f5lab.errors import ConfigError

    raise ConfigError(f"configs must be 'shipped' or 'tiny', not {configs!r}")

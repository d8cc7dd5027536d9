"""A figure saved one way: PNG with no software stamp (the same bytes on every run and machine),
written to disk only through ``f5lab.outputs`` (whole or not at all). The memory curves, the
lineage drift, the mel spectrograms and the sweep's plots all go through here; matplotlib is
imported by the callers that draw, never at import time."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

PAGE_DPI = 160  # 2x the 80 dpi notebook figures are laid out for: Image(retina=True) shows them at 1x


def _png_options(dpi: int, tight: bool) -> dict[str, Any]:
    """savefig's options: PNG, no ``Software`` stamp (byte-stable), cropped to the drawing when ``tight``."""
    return {"format": "png", "dpi": dpi, "metadata": {"Software": None}, **({"bbox_inches": "tight"} if tight else {})}


def png_bytes(fig: Any, dpi: int = PAGE_DPI, tight: bool = True) -> bytes:
    """The figure as PNG bytes (for a notebook or a page), then closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, **_png_options(dpi, tight))
    finally:
        plt.close(fig)
    return buf.getvalue()


def save_png(fig: Any, path: str | os.PathLike, *, dpi: int = 100, force: bool = False, tight: bool = False,
             close: bool = False) -> Path:
    """The figure as a PNG file through f5lab's write path (``force``: replace one f5lab wrote)."""
    from f5lab import outputs

    try:
        with outputs.file(path, force=force) as tmp:
            fig.savefig(tmp, **_png_options(dpi, tight))
    finally:
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)
    return Path(path)

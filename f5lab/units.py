"""Numbers at a human scale, one spelling for the terminal, the notebooks and the report pages.

Sizes of files are decimal (``human_bytes``: as file managers show them); memory is binary
(``gib``/``mib``: as nvidia-smi and torch.cuda report it). Each has one format here, so a table
in a notebook and a line in a report never show the same quantity two ways.
"""

from __future__ import annotations

GIB = 2**30
MIB = 2**20


def human_bytes(n: float | None) -> str:
    """``1.35 GB``, ``2.62 MB``, ``512 B`` (decimal units, as file managers show sizes); ``-`` for None."""
    if n is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


def human_count(n: float) -> str:
    """``337.1 M``, ``116.4 K``, ``812``: a parameter count, in millions from one million, in
    thousands from one thousand (so a tiny model's module rows read 116.4 K, not 0.1 M)."""
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    return f"{n / 1e3:.1f} K" if n >= 1e3 else str(int(n))


def gib(n: float, signed: bool = False) -> str:
    """``3.80 GiB`` (``+0.25 GiB`` when ``signed``): GPU memory, two decimals."""
    return f"{n / GIB:{'+' if signed else ''}.2f} GiB"


def mib(n: float, signed: bool = False) -> str:
    """``512.0 MiB`` (``-3.2 MiB`` when ``signed``): memory below a GiB's scale, one decimal."""
    return f"{n / MIB:{'+' if signed else ''}.1f} MiB"


def duration(seconds: float | None) -> str:
    """A wall time as a person reads it: ``0.42 s``, ``4.2 s``, ``54 s``, ``19 min 54 s``,
    ``1 h 02 min``; ``-`` for None. Whole seconds from ten seconds up: "1194 s" is for machines."""
    if seconds is None:
        return "-"
    s = max(0.0, float(seconds))
    if s < 1:
        return f"{s:.2f} s"
    if s < 10:
        return f"{s:.1f} s"
    whole = int(round(s))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min" + (f" {whole % 60} s" if whole % 60 else "")
    minutes = int(round(s / 60))
    return f"{minutes // 60} h {minutes % 60:02d} min"


def rtf(value: float | None) -> str:
    """A real-time factor without exponents: ``0.15``, ``4.9``, ``84``, ``490``; ``-`` for None."""
    if value is None:
        return "-"
    v = float(value)
    if v != v:  # NaN
        return "-"
    if abs(v) >= 10:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.1f}"
    return f"{v:.2g}" if v else "0"


def binary_bytes(n: float | None) -> str:
    """Memory in the binary family only: ``3.80 GiB`` from a GiB up, ``512.0 MiB`` below (so a page
    of GiB figures never shows an "MB" beside them)."""
    if n is None:
        return "-"
    return gib(n) if abs(n) >= GIB else mib(n)

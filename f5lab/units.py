"""Numbers at a human scale, one spelling for the terminal, the notebooks and the report pages."""

from __future__ import annotations


def human_bytes(n: float | None) -> str:
    """``1.35 GB``, ``2.62 MB``, ``512 B`` (decimal units, as file managers show sizes); ``-`` for None."""
    if n is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"

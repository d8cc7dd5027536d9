"""Where every figure f5lab shows comes from: measured here, predicted by a model, or published.

One small type, ``Evidence``, carried by each figure on the answer card, in ``summary.json``, on the
pages and in ``profile`` / ``doctor``:

* ``measured``: run here; ``source`` says with what, on which device and for how long;
* ``predicted``: computed by a model (the memory estimate, the speed model); ``error`` says how far
  that model landed from measurements, and against what it was checked, per device class;
* ``published``: taken from a source (a spec sheet, a paper, an issue); ``source`` names it.

A predicted figure never carries a tick: ``Evidence.mark`` turns a "good" verdict into a neutral
one unless it was measured. ``f5lab.reporting.labels`` labels the numbers each notebook records, so
that ``summary.json`` carries a label beside every number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

KINDS = ("measured", "predicted", "published")


@dataclass(frozen=True)
class Evidence:
    """How one figure is known: ``kind`` (measured | predicted | published), ``source`` (what ran, the
    model, or where it was published) and, for a prediction, ``error`` (the model's checked error and
    what it was checked against)."""

    kind: str
    source: str
    error: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"evidence kind {self.kind!r}: use one of {', '.join(KINDS)}")
        if not self.source:
            raise ValueError("evidence needs a source")
        if self.kind == "predicted" and not self.error:
            raise ValueError("a predicted figure needs its model's checked error (or 'unchecked: why')")

    @property
    def label(self) -> str:
        """One phrase: ``predicted by <model>; error: <error>``, ``measured: <what>``, ``published: <where>``."""
        if self.kind == "predicted":
            return f"predicted by {self.source}; error: {self.error}"
        return f"{self.kind}: {self.source}"

    def mark(self, ok: bool | None) -> bool | None:
        """The mark a verdict may carry: a tick only for what was measured; a cross or neutral as given."""
        return ok if (ok is not True or self.kind == "measured") else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["label"] = self.label
        return d


@dataclass(frozen=True)
class Figure:
    """A number with its unit and its evidence."""

    value: Any
    unit: str | None
    evidence: Evidence

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "evidence": self.evidence.to_dict()}


def measured(source: str) -> Evidence:
    return Evidence("measured", source)


def predicted(model: str, error: str) -> Evidence:
    return Evidence("predicted", model, error)


def published(source: str) -> Evidence:
    return Evidence("published", source)


def is_labelled(entry: Any) -> bool:
    """Whether a recorded figure (a dict) carries a valid evidence label."""
    ev = entry.get("evidence") if isinstance(entry, Mapping) else None
    return isinstance(ev, Mapping) and ev.get("kind") in KINDS and bool(ev.get("source")) and (
        ev.get("kind") != "predicted" or bool(ev.get("error")))

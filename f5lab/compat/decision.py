"""Which config a checkpoint takes: the one decision every command renders.

``decide_config`` holds the rungs in order; ``diagnose``, ``matrix``, ``verify``, ``load_model``,
``synth``, the report, the sweep and the model card all call it and print ``decision.text``.
Nothing parses a sentence: callers branch on ``how`` and read ``evidence``.

1. named: the config the user named (a shipped name or a YAML of their own);
2. fallback: the first of the user's ordered fallbacks that fits;
3. recorded: the config an f5lab remap recorded in the file;
4. only fit: the one config the shapes fit;
5. lineage: among configs of identical shapes (F5TTS_Base vs F5TTS_v1_Base), the one of the base
   the file descends from;
6. probe: the behavioural probe's pick, only above its bar (or a caller's own chooser);
7. undecided: nothing decided; ``fits`` says between what, ``evidence`` what was tried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HOWS = ("named", "fallback", "recorded", "only fit", "lineage", "probe", "undecided")


@dataclass(frozen=True)
class ConfigDecision:
    """``config``: a shipped name, a YAML path of one's own, or None when undecided. ``how``: one of
    ``HOWS``. ``evidence``: the facts that decided it (lineage's base and distance, the probe's
    margin and wins, the fallbacks refused and why). ``text``: one line for a person. ``fits``:
    the configs the shapes fit (what was decided between). ``entry``: the resolved ConfigEntry."""

    config: str | None
    how: str
    text: str
    fits: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)
    entry: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.how not in HOWS:
            raise ValueError(f"how {self.how!r}: not one of {HOWS}")

    @property
    def decided(self) -> bool:
        return self.config is not None

    def to_json(self) -> dict[str, Any]:
        """What is recorded wherever the config is used (synth.json, summary.json, sweep points)."""
        return {"config": self.config, "how": self.how, "text": self.text, "fits": list(self.fits),
                "evidence": dict(self.evidence)}

"""A fallback between models: the first of an ordered list of checkpoints that loads.

A service that should start even when its fine-tune does not load names its candidates in order,
``f5lab.load_model([fine_tune, base])``: each is tried with ``load_model`` (strict, its own vocab and
config, or the config decision when none is named), optionally checked (``check(model, candidate)``
returns a reason to refuse it, e.g. a probe or lineage verdict), and the first that passes is
returned with its decision attached (``model.f5lab_candidate``: which candidate, which config, how it
was decided, why the earlier ones were refused). Each refused candidate is one ``CandidateSkipped``
warning line; with none loadable, one ``NoCandidateLoads`` error names each candidate and why.

This is a ladder between *files*; ``fallbacks=[...]`` of ``load_model`` is a ladder between
*configs* for one file, and each candidate may carry its own.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from f5lab.errors import ConfigError, F5LabError

DECIDE = "decide"  # a candidate's config: let the config decision choose


class CandidateSkipped(UserWarning):
    """One candidate of ``load_model([...])`` was refused: the one line says which and why."""


class NoCandidateLoads(ConfigError):
    """No candidate of ``load_model([...])`` loads: the message names each one and why."""

    def __init__(self, refused: list["Refusal"]):
        self.refused = refused
        super().__init__("no candidate loads: " + "; ".join(f"{i + 1}. {r.path}: {r.reason}"
                                                             for i, r in enumerate(refused)))


@dataclass(frozen=True)
class Candidate:
    """One rung: a checkpoint, its config (a name, a YAML path, or "decide") and its vocab.txt;
    ``fallbacks``/``bases``: the config ladder and lineage bases for this file."""

    path: str
    config: Any = None
    vocab: str | None = None
    fallbacks: tuple[str, ...] = ()
    bases: Any = None

    @property
    def label(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class Refusal:
    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True)
class CandidateDecision:
    """Which candidate serves, under which config and why; and why the earlier ones did not."""

    index: int
    path: str
    config: str
    decision: Any  # f5lab.compat.decision.ConfigDecision
    refused: tuple[Refusal, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        head = f"serving candidate {self.index + 1} ({self.path}) as {self.config}: {self.decision.text}"
        if not self.refused:
            return head
        return head + "; refused before it: " + "; ".join(f"{r.path}: {r.reason}" for r in self.refused)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "path": self.path, "config": self.config, "decision": self.decision.to_json(),
                "refused": [r.to_dict() for r in self.refused], "text": self.text}


def as_candidate(item: Any) -> Candidate:
    """A path, a ``Candidate``, or a mapping {"path", "config", "vocab", "fallbacks", "bases"}."""
    if isinstance(item, Candidate):
        return item
    if isinstance(item, (str, os.PathLike)):
        return Candidate(path=str(item))
    if isinstance(item, Mapping) and "path" in item:
        unknown = set(item) - {"path", "config", "vocab", "fallbacks", "bases"}
        if unknown:
            raise ConfigError(f"candidate {item['path']}: unknown key(s) {', '.join(sorted(unknown))}; "
                              "use path, config, vocab, fallbacks, bases")
        return Candidate(path=str(item["path"]), config=item.get("config"), vocab=item.get("vocab"),
                         fallbacks=tuple(item.get("fallbacks") or ()), bases=item.get("bases"))
    raise ConfigError(f"candidate {item!r}: give a checkpoint path or a mapping with 'path'")


def _reason(exc: BaseException) -> str:
    """One line: the error's own first sentence (f5lab errors already are one line)."""
    text = " ".join(str(exc).split())
    if not isinstance(exc, F5LabError):
        text = f"{type(exc).__name__}: {text}"
    return text[:400]


def load_first(candidates: Sequence[Any], *, loader: Callable[..., Any],
               check: Callable[[Any, Candidate], str | None] | None = None, **common: Any) -> Any:
    """The model of the first candidate that loads (and passes ``check``), with
    ``model.f5lab_candidate`` (a ``CandidateDecision``) and ``model.f5lab_decision`` attached.
    ``loader``: ``f5lab.compat.loading.load_model`` (passed in: loading calls this module);
    ``common``: its other arguments (device, dtype, probe, catalogue, use_ema)."""
    items = [as_candidate(c) for c in candidates]
    if not items:
        raise ConfigError("load_model: an empty candidate list; give at least one checkpoint")
    load = loader
    refused: list[Refusal] = []
    for i, cand in enumerate(items):
        config = None if cand.config in (None, DECIDE) else cand.config
        try:
            model = load(cand.path, config=config, vocab=cand.vocab, fallbacks=list(cand.fallbacks) or None,
                         bases=cand.bases, **common)
            why = check(model, cand) if check is not None else None
        except (F5LabError, OSError, RuntimeError, ValueError, KeyError) as exc:
            why = _reason(exc)
        if why:
            refusal = Refusal(cand.path, str(why))
            refused.append(refusal)
            nxt = f"trying candidate {i + 2} ({items[i + 1].path})" if i + 1 < len(items) else "no candidate left"
            warnings.warn(f"candidate {i + 1} ({cand.path}) refused: {refusal.reason}; {nxt}", CandidateSkipped,
                          stacklevel=3)
            continue
        decision = model.f5lab_decision
        model.f5lab_candidate = CandidateDecision(index=i, path=cand.path, config=model.f5lab_config,
                                                  decision=decision, refused=tuple(refused))
        return model
    raise NoCandidateLoads(refused)

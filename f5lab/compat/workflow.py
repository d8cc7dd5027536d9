"""The compatibility workflow of a report: decide, tabulate, diagnose, and remap only when it helps.

What notebook 02 shows, computed here (``f5lab.reporting.nbviews`` only renders it): the one config
decision (``f5lab.compat.decision``, with lineage's verdict when bases were compared), the matrix
(every config against the file), the diagnosis (against the named config, else the best fit), the
target (the decided config when it loads, else the first that does), and a remap plus its
verification only when f5-tts's own loader refuses the file as stored but a remap fixes it.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


@dataclass
class Compatibility:
    """One checkpoint's compatibility: ``rows`` (matrix), ``diagnosis``, ``config`` (the one named, if
    any), ``decision`` (a ``ConfigDecision``), ``target`` (what to load or remap for), ``own`` (a config
    of one's own joined the rows), and the remap's ``plan``, ``remapped`` file, ``verification`` and
    ``remap_s`` when one ran. ``lineage`` is the caller's lineage record (``result``: a Lineage or None)."""

    rows: list[Any]
    diagnosis: Any
    config: str | None
    decision: Any
    target: str
    own: str | None
    catalogue: Any
    vocab: Any
    lineage: Any = None
    plan: Any = None
    remapped: Path | None = None
    verification: Any = None
    remap_s: float | None = None


def compatibility(checkpoint: str | os.PathLike, *, catalogue: Mapping[str, Any] | None = None, config: Any = None,
                  target: Any = None, vocab: Any = None, work_dir: Any = None, seed: int = 0,
                  lineage: Any = None) -> Compatibility:
    """Decide, tabulate, diagnose and (when needed) remap and verify ``checkpoint``. ``config``: the
    config a service tried (diagnosed against; not the decision). ``target``: a config to aim at (a
    name, or a YAML of one's own, which joins the rows). ``lineage``: an object whose ``result`` is a
    ``f5lab.compat.lineage.Lineage`` or None (no base at hand)."""
    from f5lab.compat.decision import choose_target, decide_config
    from f5lab.compat.diagnose import diagnose
    from f5lab.compat.matrix import compatibility_matrix
    from f5lab.model.configs import looks_like_path, resolve_config, with_config
    from f5lab.model.described import describe

    own = None
    if target is not None and looks_like_path(str(getattr(target, "name", target))):
        own = resolve_config(target, catalogue)
        catalogue = with_config(catalogue, own)
    found = getattr(lineage, "result", None)
    described = describe(checkpoint, catalogue)
    decision = decide_config(described, own if own is not None else target, lineage=found)
    rows = compatibility_matrix(described.ckpt, vocab=vocab, catalogue=catalogue, config=config)  # a YAML: a row too
    diagnosis = diagnose(described.ckpt, config=config, vocab=vocab, catalogue=catalogue, lineage=found)
    out = Compatibility(rows=rows, diagnosis=diagnosis, config=getattr(config, "name", config), decision=decision,
                        target=choose_target(rows, decision), own=own.name if own is not None else None,
                        catalogue=catalogue, vocab=vocab, lineage=lineage)
    if found is not None:  # the base at hand: the service snippet falls back to it
        with_base_fallback(rows, out.target, described, found, catalogue, vocab)
    if remap_needed(rows, out.target):
        remap_and_verify(out, Path(checkpoint), own, work_dir, seed)
    return out


def with_base_fallback(rows: Any, target: str, described: Any, lineage: Any, catalogue: Any, vocab: Any) -> None:
    """The target row's service snippet in its two-candidate form (the checkpoint, else the base it
    descends from, under the base's config) when lineage named a base file that is at hand."""
    from f5lab.compat.service import ServiceCandidate, call_bytes, service_code
    from f5lab.model.configs import catalogue_name

    entries = dict(catalogue) if catalogue is not None else {}
    if not entries:
        from f5lab.model.configs import shipped_configs

        entries = shipped_configs()
    base = getattr(lineage, "verdict", None)
    base_config = getattr(lineage, "config", None)
    row = next((r for r in rows if r.config == target and r.code), None)
    if row is None or not base or base_config not in entries or target not in entries or not Path(base).is_file():
        return
    entry = entries[target]
    own = vocab if vocab is not None else entry.tokenizer_path
    base_entry = entries[base_config]
    snippet = service_code(described.ckpt.path, entry, needs_remap=bool(row.needs_remap), vocab=own,
                           needs_bytes=call_bytes(described.spec), configs=catalogue_name(catalogue),
                           fallback=ServiceCandidate(base, base_entry, base_entry.tokenizer_path))
    row.remap_command, row.code = snippet.remap_command, snippet.code


def remap_needed(rows: Any, config: str) -> bool:
    """Whether a remapped copy changes anything for ``config``: only when f5-tts's own loader
    refuses the file as stored but a remap makes one it accepts. A file that loads as stored
    gets no copy (f5-tts already strips ``ema_model.`` itself)."""
    return {r.config: r.status for r in rows}.get(config) == "loads after remap"


def remap_and_verify(c: Compatibility, checkpoint: Path, own: Any, work_dir: Any, seed: int) -> None:
    """Write the remapped copy into ``work_dir`` (a temporary folder when None) and verify it."""
    from f5lab import outputs
    from f5lab.compat.verify import verify
    from f5lab.compat.remap import execute_plan, plan_remap

    folder = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="f5lab-nb-"))
    if not folder.is_dir():
        outputs.make_dirs(folder)
    c.plan = plan_remap(checkpoint, c.target, vocab_from=c.vocab, catalogue=c.catalogue)
    t0 = time.perf_counter()
    c.remapped = execute_plan(c.plan, folder / remapped_file_name(checkpoint, c.plan.config), force=True)
    c.remap_s = time.perf_counter() - t0
    c.verification = verify(checkpoint, c.remapped, config=own if own is not None else c.plan.config,
                            vocab_src=c.vocab, catalogue=c.catalogue, seed=seed)


def remapped_file_name(checkpoint: Path, config: str) -> str:
    """The remapped copy's name inside the run folder (never a path taken from the config's)."""
    from f5lab.model.configs import remapped_name

    return remapped_name(Path(checkpoint.name), config).name

"""The synthesis grid: one sentence rendered under every (config, dtype, NFE) setting of a checkpoint.

What notebook 04 listens to and compares. Each model is loaded once per (config, dtype) and
rendered at every NFE of the grid; each rendering's record (``synth.json`` when an ``out_dir`` is
given) names the checkpoint file and the ``ConfigDecision`` it was loaded under, written once by
``synthesize`` itself: the grid is a candidate named for the comparison, so its decision is
``named`` unless the caller passes the one ``decide_config`` made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from f5lab.compat.decision import ConfigDecision

Setting = tuple[str, str, int]  # (config, dtype, NFE)


@dataclass
class GridPlan:
    """What to render: the checkpoint, its catalogue, the settings and the texts and clip they share."""

    checkpoint: Path
    catalogue: Any
    candidates: list[str]
    grid: list[Setting]
    ref_audio: Any
    ref_text: str
    gen_text: str
    out_dir: Path | None = None


def plan_grid(checkpoint: str | Path, catalogue: Any, *, ref_audio: Any, ref_text: str, gen_text: str,
              candidates: Sequence[str] | None = None, dtypes: Sequence[str] = ("fp32",),
              nfe: int | Sequence[int] = 32, out_dir: str | Path | None = None) -> GridPlan:
    """Every candidate (default: each config the shapes fit, ``probe.candidates_for``) x dtype x NFE."""
    from f5lab.speech.probe import candidates_for

    names = list(candidates) if candidates else candidates_for(checkpoint, catalogue)
    steps = [nfe] if isinstance(nfe, int) else list(nfe)
    grid = [(c, d, n) for c in names for d in dtypes for n in steps]
    return GridPlan(checkpoint=Path(checkpoint), catalogue=catalogue, candidates=names, grid=grid,
                    ref_audio=ref_audio, ref_text=ref_text, gen_text=gen_text,
                    out_dir=None if out_dir is None else Path(out_dir))


def named(config: str, fits: Sequence[str] = ()) -> ConfigDecision:
    """The decision of a rendering whose config the grid names (a candidate compared, not decided)."""
    return ConfigDecision(config=config, how="named", text=f"{config}: named by the synthesis grid",
                          fits=tuple(fits), evidence={"named_by": "synthesis grid"})


def render_grid(plan: GridPlan, *, vocab: Any = None, vocoder: Any = None, device: str = "cpu", seed: int = 0,
                lang: str = "en", normalize: bool = True,
                decisions: Mapping[str, ConfigDecision] | None = None, progress: bool = False) -> dict[Setting, Any]:
    """Every rendering of ``plan.grid`` (``SynthResult`` by setting), texts normalised for ``lang``
    unless ``normalize`` is off. ``decisions``: config -> the decision it was loaded under (default:
    ``named`` for each candidate). Each flow step moves one progress line for the whole grid (ETA
    over every rendering still to come): in the notebook, in the file the report's runner follows,
    and on stderr with ``progress``."""
    from f5lab.compat.loading import load_model
    from f5lab.speech.progress import tracking
    from f5lab.speech.synth import synthesize

    results: dict[Setting, Any] = {}
    order = [k for pair in dict.fromkeys((c, d) for c, d, _ in plan.grid) for k in plan.grid if k[:2] == pair]
    with tracking([(rendering_label(k), k[2]) for k in order], terminal=progress) as moving:
        for config, dtype in dict.fromkeys((c, d) for c, d, _ in plan.grid):
            decision = (decisions or {}).get(config) or named(config, plan.candidates)
            model = load_model(plan.checkpoint, config=config, vocab=vocab, dtype=dtype, catalogue=plan.catalogue,
                               device=device)
            for _, _, steps in [k for k in plan.grid if k[:2] == (config, dtype)]:
                moving.begin(order.index((config, dtype, steps)))
                folder = plan.out_dir / f"{folder_label(config)}_{dtype}_nfe{steps}" if plan.out_dir else None
                results[(config, dtype, steps)] = synthesize(
                    model, plan.ref_audio, plan.ref_text, plan.gen_text, nfe=steps, seed=seed, vocoder=vocoder,
                    device=device, out_dir=folder, lang=lang, normalize=normalize, checkpoint=plan.checkpoint,
                    decision=decision)
            del model
    return results


def rendering_label(setting: Setting) -> str:
    """``F5TTS_Base fp32 NFE 16``: a rendering as a progress line names it."""
    config, dtype, steps = setting
    return f"{folder_label(config)} {dtype} NFE {steps}"


def folder_label(config: Any) -> str:
    """A config as one folder name inside the run folder: a name as is, a YAML by its stem. Joining
    the YAML's absolute path instead would write the renderings next to the YAML."""
    from f5lab.model.configs import looks_like_path

    name = str(getattr(config, "name", config))
    label = Path(name).stem if looks_like_path(name) else name
    return re.sub(r"[^\w.+-]", "_", label) or "config"


def probe_pick(plan: GridPlan, result: Any) -> tuple[GridPlan, str]:
    """The grid narrowed to the one config the behavioural probe picks (``result``: a
    ``ProbeResult``), or to the first candidate when it cannot tell them apart; and a line saying
    which and why. What the report renders by default between configs the shapes cannot separate."""
    from dataclasses import replace

    confident = bool(getattr(result, "confident", False))
    best = result.best if result is not None else None
    keep = best if confident and best in plan.candidates else plan.candidates[0]
    why = (f"the probe picks {best}" if confident and best in plan.candidates
           else "the probe cannot tell the candidates apart, so the first")
    left = [c for c in plan.candidates if c != keep]
    line = (f"rendered under {folder_label(keep)} only ({why})"
            + (f"; not rendered: {', '.join(folder_label(c) for c in left)}" if left else ""))
    return replace(plan, grid=[s for s in plan.grid if s[0] == keep]), line

"""One config per sweep: the one named, else the one decided once before any point runs, else a refusal.

Two checkpoints of one training run rendered under different configs compare the configs, not the
checkpoints: a point that settled an ambiguous config by itself (F5TTS_Base vs F5TTS_v1_Base, whose
shapes are identical) let an early checkpoint, whose probe margin is noise, pick the other config.
So the sweep decides once, for every checkpoint of one architecture (the configs their shapes fit):

1. ``--config`` named (several: an axis, every checkpoint under each): nothing to decide;
2. the only config the shapes fit (or the one an f5lab remap recorded in the file);
3. lineage (``f5lab.compat.lineage``) on the earliest checkpoint in training order (the nearest to
   its base), against ``--base`` or f5-tts's checkpoints in the local Hugging Face cache, when it
   gives a verdict;
4. the behavioural probe (``f5lab.speech.probe``) on the latest checkpoint (the most trained), on
   the reference clip, only when it clears its own bar (``ProbeResult.confident``: 5% margin, 3 of
   4 paired samples);
5. otherwise a one-line refusal (exit 2, nothing written) asking for ``--config``.

The rule itself is ``f5lab.compat.decision`` (``decide_config``, ``decide_among``). The decision (config, how, and its
evidence: lineage's distance or the probe's margin) goes into ``sweep.json``, ``summary.json``
and the index page; a resumed sweep with the same inputs reuses it instead of deciding again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from f5lab.errors import ConfigError

PROBE_SAMPLES = 8  # paired samples: the bar needs 6 of 8 wins (ProbeResult.confident)


def file_tag(path: str | Path) -> list[Any]:
    """A file as [path, size, mtime]: what decides whether a recorded decision (or a cached sha256,
    ``sweep.Hasher``) still holds, without reading the file."""
    p = Path(path)
    st = p.stat()
    return [str(p.resolve()), st.st_size, st.st_mtime_ns]


def inputs_key(spec: Any, catalogues: Mapping[Path, str]) -> str:
    """sha256 of what a decision depends on: the checkpoints' and bases' files, the catalogue, the
    reference clip and its transcript, the seed, the language rules and the configs named."""
    audio, text = spec.grid["ref"][0]
    blob = {"checkpoints": [file_tag(c) for c in spec.checkpoints], "catalogues": sorted(set(catalogues.values())),
            "bases": [file_tag(b) for b in spec.bases or []], "ref": [file_tag(audio), text], "seed": spec.seed,
            "lang": spec.lang, "normalize": spec.normalize, "configs": spec.grid["config"]}
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def recorded(sweep_dir: Path, key: str) -> list[dict[str, Any]] | None:
    """The decisions a previous run of this sweep recorded for the same inputs, if any."""
    try:
        plan = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = plan.get("config_decision") or {}
    return found.get("decisions") if found.get("inputs") == key else None


def decide_configs(spec: Any, catalogues: Mapping[Path, str], sweep_dir: Path | None = None) -> dict[str, Any]:
    """``{"inputs": key, "decisions": [...]}``: one decision per architecture among the checkpoints
    whose points name no config (none when every point names one). Each decision: ``config``, ``how``
    (named, only fit, recorded, lineage, probe), ``text`` (one line), ``checkpoints`` (file names,
    in training order) and ``paths``, plus ``lineage`` / ``probe`` facts when they decided.
    Raises ConfigError (one line) when nothing decides."""
    key = inputs_key(spec, catalogues)
    again = recorded(sweep_dir, key) if sweep_dir is not None else None
    if again is not None:
        return {"inputs": key, "decisions": again}
    named = [c for c in spec.grid["config"] if c]
    decisions = []
    if named:
        decisions.append({"config": named[0] if len(named) == 1 else None, "configs": named, "how": "named",
                          "text": named_text(named), "checkpoints": [c.name for c in spec.checkpoints],
                          "paths": [str(c) for c in spec.checkpoints]})
    if None in spec.grid["config"]:
        for group in groups(spec.checkpoints, catalogues):
            decisions.append(decide_group(group, spec))
    return {"inputs": key, "decisions": decisions}


def named_text(named: Sequence[str]) -> str:
    from f5lab.model.configs import looks_like_path

    shown = [Path(n).name if looks_like_path(n) else n for n in named]
    if len(shown) == 1:
        return f"{shown[0]} for every point: named with --config"
    return f"{', '.join(shown)}: named with --config, an axis (every checkpoint under each)"


def groups(checkpoints: Sequence[Path], catalogues: Mapping[Path, str]) -> list[dict[str, Any]]:
    """Checkpoints by the configs their shapes fit (and the catalogue they are ranked in), in sweep
    order; each checkpoint described once (``described``: path -> ``Described``)."""
    from f5lab.model.described import describe

    out: dict[tuple, dict[str, Any]] = {}
    for ck in checkpoints:
        d = describe(ck, catalogues[Path(ck)])
        key = (catalogues[Path(ck)], tuple(d.fits), d.recorded_name)
        out.setdefault(key, {"catalogue": catalogues[Path(ck)], "fits": list(d.fits), "checkpoints": [],
                             "described": {}})
        out[key]["checkpoints"].append(Path(ck))
        out[key]["described"][Path(ck)] = d
    return list(out.values())


def decide_group(group: dict[str, Any], spec: Any) -> dict[str, Any]:
    """The decision for one architecture (``f5lab.compat.decision``): the file's record or the only
    fit, then lineage on the earliest checkpoint, then the probe on the latest above its bar; else
    ConfigError naming the checkpoints, what was tried and --config."""
    from f5lab.compat.decision import decide_among, decide_config
    from f5lab.model.described import describe

    cks = sorted(group["checkpoints"], key=training_order)
    known = group.get("described") or {}
    first = known.get(cks[0]) or describe(cks[0], group["catalogue"])
    base = {"checkpoints": [c.name for c in cks], "paths": [str(c) for c in cks], "fits": group["fits"]}
    decision = decide_config(first)  # the record or the only fit; no fit: one line saying how to write a config
    if decision.evidence.get("reason") == "no fit":
        from f5lab.model.configs import write_config_fix

        raise ConfigError(f"{first.path}: {decision.text}; {write_config_fix(first.path)}")
    if decision.decided:
        shipped = decision.entry is not None and decision.entry.source in ("shipped", "tiny")
        return {**base, "config": decision.config if shipped else None, "how": decision.how,
                "text": f"{decision.entry.name} for every point: {decision.text}"}
    cat = first.catalogue
    lin = lineage_facts(cks[0], spec, cat)
    decision = decide_among(group["fits"], lin)
    if decision.how == "lineage":
        return {**base, "config": decision.config, "how": "lineage", "lineage": lin,
                "text": f"{decision.config} for every point: lineage of {cks[0].name}: {lin['said']}"}
    pr = probe_facts(cks[-1], spec, cat)
    decision = decide_among(group["fits"], lin, pr)
    if decision.how == "probe":
        return {**base, "config": decision.config, "how": "probe", "lineage": lin, "probe": pr,
                "text": f"{decision.config} for every point: the behavioural probe on {cks[-1].name} finds it trained "
                        f"as {decision.config}, {pr['margin_pct']:g}% lower loss than {pr['runner_up']} "
                        f"(bar {pr['bar_pct']:g}%), lower on {pr['wins']}/{pr['samples']} paired samples"}
    raise ConfigError(refusal(cks, group["fits"], lin, pr))


def refusal(cks: Sequence[Path], fits: Sequence[str], lin: Mapping[str, Any], pr: Mapping[str, Any]) -> str:
    """One line: which checkpoints, what fits, what lineage and the probe said, and the --config to give."""
    names = cks[0].name if len(cks) == 1 else f"{cks[0].name} and {len(cks) - 1} more of the same shapes"
    said = f"{lin['text']}; {pr['text'].replace('probe:', f'probe on {cks[-1].name}:', 1)}"
    both = f" (or --config {fits[0]} --config {fits[1]} to compare both)" if len(fits) > 1 else ""
    first = fits[0] if fits else "NAME"
    return (f"{names}: the shapes fit {' and '.join(fits) or 'no config'}, and nothing decided between them "
            f"({said}): one config per sweep, so name it with --config {first}{both}")


def lineage_facts(checkpoint: Path, spec: Any, catalogue: Any) -> dict[str, Any]:
    """``decide.lineage_verdict`` of ``checkpoint`` against the sweep's --base files, else the Hugging
    Face cache (no base at hand: no verdict, and where it looked)."""
    from f5lab.compat.decision import lineage_verdict
    from f5lab.compat.lineage import NoBaseError, find_bases, lineage

    try:
        lin = lineage(checkpoint, list(spec.bases) if spec.bases else None, catalogue=catalogue)
    except NoBaseError:
        return lineage_verdict(None, find_bases()[1])
    return lineage_verdict(lin)


def probe_facts(checkpoint: Path, spec: Any, catalogue: Any) -> dict[str, Any]:
    """``decide.probe_verdict`` of the probe on ``checkpoint`` and the sweep's (first) reference clip,
    its transcript normalised as the points normalise it; with the paired-sample counts."""
    from f5lab.compat.decision import probe_verdict
    from f5lab.speech.probe import probe
    from f5lab.speech.text import prepare
    from f5lab.speech.text.analysis import reference_lang

    audio, text = spec.grid["ref"][0]
    spoken = prepare(text, reference_lang(audio, spec.lang), spec.normalize).text
    device = "cpu" if "cpu" in spec.grid["device"] else "cuda"
    pr = probe(checkpoint, audio, spoken, seed=spec.seed, n_samples=PROBE_SAMPLES, catalogue=catalogue, device=device)
    return {**probe_verdict(pr), "checkpoint": checkpoint.name}


def apply(points: list[dict[str, Any]], decided: dict[str, Any]) -> dict[str, str]:
    """Give each point without a config its architecture's decided config; returns point id -> the
    decision's line, which the point records as why it ran under that config."""
    named = next((d for d in decided["decisions"] if d["how"] == "named"), None)
    by_path = {p: d for d in decided["decisions"] if d["how"] != "named" for p in d["paths"]}
    reasons: dict[str, str] = {}
    for point in points:
        d = by_path.get(point["checkpoint"]) if point["config"] is None else named
        if d is None:
            continue
        if point["config"] is None:
            point["config"] = d["config"]
        reasons[point["id"]] = d["text"]
    return reasons


# f5-tts's finetune_cli copies the base into the run folder as pretrained_<its name> (trainer.py skips it in rotation)
PRETRAINED_PREFIX = "pretrained_"


def training_order(path: Path) -> tuple[int, str]:
    """pretrained_*.pt (f5-tts's copy of the base: the run's start) < model_100.pt < model_200.pt <
    model_last.pt, then by name."""
    import re

    if Path(path).name.startswith(PRETRAINED_PREFIX):
        return -1, path.name  # its number is the base's update, not a step of this run
    m = re.search(r"_(\d+)$", path.stem)
    if m:
        return int(m.group(1)), path.name
    return (1 << 62, path.name) if "last" in path.stem else (1 << 61, path.name)

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

"any fit" is for uses that do not depend on which of several fitting configs runs (``verify`` runs
both of its files under the same one): ``for_comparison`` turns an ambiguous decision into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

HOWS = ("named", "fallback", "recorded", "only fit", "lineage", "probe", "any fit", "undecided")


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


# -- the evidence, normalised ------------------------------------------------------------------------------
CONFIDENT_MARGIN = 0.05  # the probe's bar: relative loss margin below which it does not call a winner


def significant(x: float | None, digits: int = 4) -> float | None:
    """A number rounded to ``digits`` significant digits: the same under other CPU kernels."""
    if x is None:
        return None
    return float(f"{x:.{digits}g}")


def lineage_verdict(lin: Any, searched: Sequence[str] = (), stand_in: bool = False) -> dict[str, Any]:
    """What lineage decided, as facts and one line (``lin``: a ``f5lab.compat.lineage.Lineage``, or
    None when no base was at hand; ``searched``: where bases were looked for). ``ok``: True a base
    was identified, None otherwise (not a failure), never False."""
    if lin is None:
        where = ", ".join(searched) or "nowhere"
        return {"text": f"lineage: no base checkpoint at hand (looked in {where}); give --base with the base it "
                        "was fine-tuned from (f5-tts's F5TTS_Base/model_1200000, F5TTS_v1_Base/model_1250000)",
                "ok": None, "decided": False, "config": None, "base": None, "margin": None, "stand_in": stand_in,
                "base_match": None}
    near, apart = lin.nearest, lin.apart
    text = f"lineage: {lin.text}" + (f"; the two nearest bases sit {apart:.2g} apart" if apart is not None else "")
    if stand_in:
        text += " (tiny fixture: stand-in bases built for this run)"
    return {"text": text, "ok": True if lin.decided else None, "decided": lin.decided, "config": lin.config,
            "base": near.name if lin.decided and near else None,
            "distance": significant(near.distance) if near else None,
            "next_distance": significant(lin.bases[1].distance) if len(lin.bases) > 1 else None,
            "margin": significant(lin.margin), "bases_apart": significant(apart),
            "identical": bool(lin.flags.get("identical")), "stand_in": stand_in,
            # "tensor": the base was matched by its weights (never by a name); None: no match, or a stand-in base
            "base_match": None if stand_in else lin.base_match,
            "said": f"descends from {near.name}, {lin.reason}" if lin.decided and near else lin.text}


def probe_verdict(pr: Any, random_weights: bool = False) -> dict[str, Any]:
    """What the behavioural probe (a ``f5lab.speech.probe.ProbeResult``) decided, as facts and one
    line, with its margin against the bar. ``ok``: True a config was identified, None undecided."""
    from f5lab.model.configs import looks_like_path

    bar = 100 * CONFIDENT_MARGIN
    if len(pr.ranking) < 2 and looks_like_path(pr.best):
        # a config of one's own (or written by f5lab): its v0/v1 flags are stated, not measured
        return {"text": f"probe: one candidate ({pr.best}), nothing compared: its v0/v1 flags (text_mask_padding, "
                        "pe_attn_head) are assumed, not decided", "ok": None,
                "decided": False, "best": pr.best, "margin_pct": None, "bar_pct": bar}
    if len(pr.ranking) < 2:
        return {"text": f"probe: only {pr.best} fits the shapes; nothing to decide", "ok": None,
                "decided": True, "best": pr.best, "margin_pct": None, "bar_pct": bar}
    margin = 100 * (pr.relative_margin or 0.0)
    runner = pr.ranking[1].config
    # a margin of zero, or under the bar, is a tie: never a "best" nor a lean (ranking[0] is only the lowest loss)
    tie = not pr.confident
    detail = (f"tie between {pr.best} and {runner}: loss margin {margin:.1f}% (bar {bar:g}%), "
              f"{pr.best} lower on {pr.wins}/{pr.n_samples} paired samples" if tie else
              f"{pr.best} {margin:.1f}% lower loss than {runner} (bar {bar:g}%), "
              f"lower on {pr.wins}/{pr.n_samples} paired samples")
    if random_weights:
        text, ok, decided = f"probe: no verdict on random weights ({detail})", None, False
    elif not tie:
        text, ok, decided = f"probe: trained as {pr.best} ({detail})", True, True
    else:
        text, ok, decided = f"probe: {detail}", None, False
    return {"text": text, "ok": ok, "decided": decided, "best": None if tie or random_weights else pr.best,
            "lowest": pr.best, "tie": tie, "runner_up": runner, "margin_pct": round(margin, 1), "bar_pct": bar,
            "wins": pr.wins, "samples": pr.n_samples}


# -- the rungs ------------------------------------------------------------------------------------------
def named(entry: Any, fits: Sequence[str] = ()) -> ConfigDecision:
    """The config the user named: nothing to decide. A YAML of one's own keeps its path as ``config``."""
    own = entry.source not in ("shipped", "tiny")
    return ConfigDecision(config=entry.path if own and entry.path else entry.name, how="named",
                          text=f"named: {entry.describe()}" if own else "named", fits=tuple(fits),
                          evidence={"source": entry.describe()} if own else {}, entry=entry)


def decide_among(fits: Sequence[str], lineage: Mapping[str, Any] | None = None,
                 probe: Mapping[str, Any] | None = None) -> ConfigDecision:
    """The rungs that need no file: the only fit, lineage's verdict, the probe's (only when it
    decided: above its bar, or a caller's own chooser), else undecided. ``lineage``/``probe`` are
    ``lineage_verdict``/``probe_verdict`` facts, as recorded in a report's or sweep's JSON."""
    fits = tuple(fits)
    if len(fits) == 1:
        return ConfigDecision(fits[0], "only fit", "the only config the shapes fit", fits)
    if lineage and lineage.get("decided") and lineage.get("config") in fits:
        return ConfigDecision(lineage["config"], "lineage", lineage.get("text") or "lineage", fits,
                              {"lineage": dict(lineage)})
    if probe and probe.get("decided") and probe.get("best") in fits:
        text = ("chosen by the behavioural probe" if probe.get("chooser") else
                f"the behavioural probe finds it trained as {probe['best']}, {probe['margin_pct']:g}% lower loss "
                f"than {probe.get('runner_up')} (bar {probe.get('bar_pct'):g}%)"
                + (f", lower on {probe['wins']}/{probe['samples']} paired samples" if probe.get("wins") is not None
                   else ""))
        return ConfigDecision(probe["best"], "probe", text, fits, {"probe": dict(probe)})
    tried = [f["text"] for f in (lineage, probe) if f and f.get("text")]
    return ConfigDecision(None, "undecided", f"undecided between {' and '.join(fits) or 'no config'}"
                          + (f" ({'; '.join(tried)})" if tried else ""), fits,
                          {k: dict(v) for k, v in (("lineage", lineage), ("probe", probe)) if v})


def decide_config(described: Any, config: Any = None, *, fallbacks: Sequence[str] | None = None,
                  vocab: str | None = None, lineage: Any = None, probe: Any = None) -> ConfigDecision:
    """Which config ``described`` (a ``f5lab.model.described.Described``) takes, rung by rung:
    named, the user's fallbacks (first that remaps cleanly), recorded by f5lab remap, the only fit,
    lineage (``lineage``: a Lineage the caller ran, or its verdict facts), the probe (``probe``: a
    ProbeResult, its verdict facts, or a chooser ``probe(path, fits) -> name`` called only when
    nothing above decided), else undecided (``evidence["reason"]``: "no fit", "no fallback" or
    "ambiguous"). Reads nothing but ``described`` (and the remap plan of a fallback)."""
    from f5lab.model.configs import resolve_config

    d = described
    fits = tuple(d.fits)
    if config is not None:
        return named(resolve_config(config, d.catalogue, d.metadata), fits)
    if fallbacks:
        return _first_fallback(d, list(fallbacks), vocab)
    rec = _recorded(d)
    if rec is not None:
        return rec
    if not fits:
        best = d.ranked[0]
        return ConfigDecision(None, "undecided", f"no installed config builds this {d.spec.backbone} (closest "
                              f"{best.config}: {best.first_mismatch})", fits,
                              {"reason": "no fit", "closest": best.config, "mismatch": best.first_mismatch})
    lin = _lineage_facts(lineage) if len(fits) > 1 else None
    decision = decide_among(fits, lin)
    if decision.decided or probe is None:
        return _with_entry(d, decision, "ambiguous")
    return _with_entry(d, decide_among(fits, lin, _probe_facts(d, probe, fits)), "ambiguous")


def _with_entry(d: Any, decision: ConfigDecision, reason: str) -> ConfigDecision:
    if decision.decided:
        return replace(decision, entry=d.entries[decision.config])
    return replace(decision, evidence={**decision.evidence, "reason": reason})


def _recorded(d: Any) -> ConfigDecision | None:
    """The config an f5lab remap recorded in the file, when the shapes still fit it."""
    from f5lab.model.arch import compare

    text = "recorded in the file by f5lab remap"
    if d.recorded_name in d.fits:
        return ConfigDecision(d.recorded_name, "recorded", text, tuple(d.fits), entry=d.entries[d.recorded_name])
    own = d.recorded_entry
    if own is not None and compare(d.spec, own).exact:
        return ConfigDecision(own.name, "recorded", text, tuple(d.fits), {"source": own.describe()}, entry=own)
    return None


def _first_fallback(d: Any, fallbacks: list[str], vocab: str | None) -> ConfigDecision:
    """The first of the user's ordered fallbacks that remaps cleanly; the refused ones and why."""
    from f5lab.compat.remap import plan_remap
    from f5lab.errors import F5LabError
    from f5lab.model.configs import resolve_config

    refused = []
    for name in fallbacks:
        try:
            plan_remap(d.ckpt, name, vocab_from=vocab, use_ema=d.use_ema, catalogue=d.catalogue)
        except F5LabError as exc:
            refused.append({"config": name, "why": str(exc).split(": ", 1)[-1]})
            continue
        return ConfigDecision(name, "fallback", f"first fitting fallback of {fallbacks}", tuple(d.fits),
                              {"refused": refused}, entry=resolve_config(name, d.catalogue, d.metadata))
    return ConfigDecision(None, "undecided", "no fallback config fits: " + " | ".join(
        f"{r['config']}: {r['why']}" for r in refused), tuple(d.fits), {"reason": "no fallback", "refused": refused})


def _lineage_facts(lineage: Any) -> dict[str, Any] | None:
    """``lineage_verdict`` facts from a Lineage or its facts (None: no lineage was run)."""
    if lineage is None or isinstance(lineage, Mapping):
        return dict(lineage) if lineage is not None else None
    return lineage_verdict(lineage)


def _probe_facts(d: Any, probe: Any, fits: tuple[str, ...]) -> dict[str, Any]:
    """``probe_verdict`` facts from a ProbeResult or its facts, or a chooser's pick (trusted: the
    caller asked for it by name)."""
    from f5lab.errors import ConfigError

    if isinstance(probe, Mapping):
        return dict(probe)
    if callable(probe):
        chosen = probe(str(d.path), list(fits))
        if chosen not in fits:
            raise ConfigError(f"probe returned {chosen!r}, not one of {', '.join(fits)}")
        return {"decided": True, "best": chosen, "chooser": True, "text": "chosen by the behavioural probe"}
    return probe_verdict(probe)


def choose_target(rows: Sequence[Any], decision: ConfigDecision | None = None) -> str:
    """The config to load (or remap) a checkpoint for, among matrix rows (ranked best first): the
    decided config when it loads, as stored or after a remap (a named one always), else the first
    that loads as stored, else the first after a remap, else the first row: what to try, while the
    decision itself stays undecided and the answer says so."""
    status = {r.config: r.status for r in rows}
    if decision is not None and decision.decided:
        name = decision.entry.name if decision.entry is not None else decision.config
        if decision.how == "named" or status.get(name) in ("loads", "loads after remap"):
            return name
    for wanted in ("loads", "loads after remap"):
        for r in rows:
            if r.status == wanted:
                return r.config
    return rows[0].config


def for_comparison(decision: ConfigDecision, entries: Mapping[str, Any]) -> ConfigDecision:
    """An ambiguous decision made usable where any fitting config serves: two files compared under
    the same config agree or differ alike under each (v0/v1 flags own no weights). Other decisions
    pass through."""
    if decision.decided or decision.evidence.get("reason") != "ambiguous" or not decision.fits:
        return decision
    first = decision.fits[0]
    return replace(decision, config=first, how="any fit", entry=entries[first],
                   text=f"{first}: the shapes fit {' and '.join(decision.fits)} equally, and both files run under the "
                        "same one, so the comparison holds under either")

"""The rules that turn results into verdicts: one small function each, tested, so that the
notebooks only call and display, and the report's answer card and the notebooks can never
disagree about what a number means.

Pure Python on results the other modules return (no torch import here).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

ESTIMATE_TOLERANCE = 0.25  # |estimate - measured| / measured within which the memory model is trusted


# -- 02: which config to aim at, and whether a remap changes anything ------------------------------------
def choose_target(rows: Sequence[Any], target: Any = None, preferred: str | None = None) -> str:
    """The config to load (or remap) the checkpoint for: ``target`` when given (a name, or a
    resolved config object with ``.name``), else ``preferred`` (the config lineage decided) when it
    loads, as stored or after a remap, else the first config that loads as stored, else the first
    that loads after a remap (rows come ranked best first), else the first row."""
    if target:
        return getattr(target, "name", target)
    if preferred and {r.config: r.status for r in rows}.get(preferred) in ("loads", "loads after remap"):
        return preferred
    for status in ("loads", "loads after remap"):
        for r in rows:
            if r.status == status:
                return r.config
    return rows[0].config


def remap_needed(rows: Sequence[Any], config: str) -> bool:
    """Whether a remapped copy changes anything for ``config``: only when f5-tts's own loader
    refuses the file as stored but a remap makes one it accepts. A file that loads as stored
    gets no copy (f5-tts already strips ``ema_model.`` itself)."""
    status = {r.config: r.status for r in rows}.get(config)
    return status == "loads after remap"


def loads_under(rows: Sequence[Any]) -> dict[str, list[str]]:
    """Configs by status: which load the file as stored, which after a remap, which never."""
    out: dict[str, list[str]] = {"loads": [], "loads after remap": [], "cannot": []}
    for r in rows:
        out.setdefault(r.status, []).append(r.config)
    return out


def fix_line(path_name: str, asked: str | None, rows: Sequence[Any], target: str, catalogue: Any = None,
             vocab: str | None = None, settled: str | None = None) -> str:
    """The one command or code line that fixes loading, for the answer card: runnable as printed
    when given the checkpoint's full path (shell-quoted; ``--configs tiny`` for the tiny catalogue;
    the user's ``vocab`` carried along). ``asked``: the config the user named, or None.
    ``settled``: why ``target`` among configs of the same shapes (lineage), said instead of "the probe decides"."""
    from f5lab.model.configs import catalogue_name, own_config_path, write_config_command
    from f5lab.compat.service import remap_command

    if remap_needed(rows, target):
        return remap_command(path_name, target, vocab, configs=catalogue_name(catalogue))
    if {r.config: r.status for r in rows}.get(target) == "loads":
        twins = [r.config for r in rows if r.status == "loads" and r.config != target]
        also = (f"; {settled}" if settled else f"; {' / '.join(twins)} loads too: f5lab lineage or f5lab probe decides") if twins else ""
        tiny = ", catalogue=f5lab.model.arch.tiny_catalogue()" if catalogue_name(catalogue) else ""
        voc = f", vocab={str(vocab)!r}" if vocab else ""
        call = f"f5lab.load_model({path_name!r}, config={target!r}{voc}{tiny})"  # Python, runnable after `import f5lab`
        return f"{call}  # " + ("loads as stored" if asked in (None, target) else f"not {asked}") + also
    return (f"{write_config_command(path_name, vocab)}  # no installed config builds it: then use "
            f"--config {own_config_path(path_name)}")


def loading_verdict(asked: str | None, rows: Sequence[Any], cause: str | None = None, never: bool = False,
                    own: str | None = None) -> dict[str, Any]:
    """The "loads?" line: with a config ``asked``, whether it loads under that one (``cause``: why
    not; ``never``: no remap into it can help), then where else it does; with none asked, which
    configs load it, as stored or after a remap (no failure story for a config nobody tried).
    ``own``: a config f5lab wrote from the shapes, named as such. ``ok``: loads as asked; with
    none asked, loads under some config (as stored or after a remap)."""
    by = loads_under(rows)
    name = (lambda c: f"{c} (the config f5lab wrote from its shapes)" if c == own else c)
    stored = [name(c) for c in by["loads"] if c != asked]
    remapped = [name(c) for c in by["loads after remap"] if c != asked]
    status = {r.config: r.status for r in rows}.get(asked) if asked else None
    if asked is None:
        parts = [f"loads as stored under {', '.join(stored)}" if stored else "",
                 f"loads after a remap under {', '.join(remapped)}" if remapped else ""]
        text = "; ".join(p for p in parts if p) or f"no config loads it: {cause or 'see the matrix'}"
        return {"text": text, "ok": bool(stored or remapped)}
    ok = cause is None and status == "loads"
    if ok:
        text = f"loads under {asked} as stored"
        also = [f"so do {', '.join(stored)}" if stored else "", f"after a remap: {', '.join(remapped)}" if remapped else ""]
    else:
        why = cause or (f"it needs a remap first ({status})" if status == "loads after remap" else status
                        or "not an installed config")
        text = f"does not load under {asked}: {why}" + (f"; no remap into {asked} can fix that" if never else "")
        also = [f"loads as stored under {', '.join(stored)}" if stored else "",
                f"loads after a remap under {', '.join(remapped)}" if remapped else ""]
    joined = "; ".join(a for a in also if a)
    if joined:
        text += ("; " if ok else ". ") + (joined if ok else joined[0].upper() + joined[1:])
    return {"text": text, "ok": ok}


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


def lineage_verdict(lin: Any, searched: Sequence[str] = (), stand_in: bool = False) -> dict[str, Any]:
    """What lineage decided, in words, for the notebook and the answer card (``lin``: a
    ``f5lab.compat.lineage.Lineage``, or None when no base was at hand; ``searched``: where bases
    were looked for). ``ok``: True a base was identified, None otherwise (not a failure), never False."""
    if lin is None:
        where = ", ".join(searched) or "nowhere"
        return {"text": f"lineage: no base checkpoint at hand (looked in {where}); give --base with the base it "
                        "was fine-tuned from (f5-tts's F5TTS_Base/model_1200000, F5TTS_v1_Base/model_1250000)",
                "ok": None, "decided": False, "config": None, "base": None, "margin": None, "stand_in": stand_in}
    near, apart = lin.nearest, lin.apart
    text = f"lineage: {lin.text}" + (f"; the two nearest bases sit {apart:.2g} apart" if apart is not None else "")
    if stand_in:
        text += " (tiny fixture: stand-in bases built for this run)"
    return {"text": text, "ok": True if lin.decided else None, "decided": lin.decided, "config": lin.config,
            "base": near.name if lin.decided and near else None,
            "distance": significant(near.distance) if near else None,
            "next_distance": significant(lin.bases[1].distance) if len(lin.bases) > 1 else None,
            "margin": significant(lin.margin), "bases_apart": significant(apart),
            "identical": bool(lin.flags.get("identical")), "stand_in": stand_in}


def significant(x: float | None, digits: int = 4) -> float | None:
    """A number rounded to ``digits`` significant digits: the same under other CPU kernels."""
    if x is None:
        return None
    return float(f"{x:.{digits}g}")


# -- 03: does the memory model hold, and what limits the length ------------------------------------------
def estimate_agrees(rel_error: float | None, tolerance: float = ESTIMATE_TOLERANCE) -> bool:
    """The analytic estimate is trusted when it is within ``tolerance`` of the measurement."""
    return rel_error is not None and abs(rel_error) <= tolerance


def gpu_sentence(v: Any, seconds: float) -> str:
    """One line for a memory verdict: fits or not, with which dtype and attention kernel, the
    longest call and what limits it (memory, or f5-tts's 8192-frame cap)."""
    s = v.settings
    head = (f"{v.gpu.name}, {s['dtype']} with the {s['attn']} attention kernel: {seconds:g} s "
            + ("fits" if v.fits else "does not fit")
            + f" ({v.total_bytes / 2**30:.2f} of {v.budget_bytes / 2**30:.2f} GiB usable)")
    if v.max_seconds <= 0:
        return head + "; nothing fits"
    return head + f"; up to {v.max_seconds:g} s per call, limited by {v.limited_by}"


# -- 04: the probe and the synthesis grid ---------------------------------------------------------------
def probe_verdict(pr: Any, random_weights: bool = False) -> dict[str, Any]:
    """What the behavioural probe decided, in words, with its margin against the bar.

    ``ok``: True a config was identified, None undecided (not a failure), never False."""
    from f5lab.speech.probe import CONFIDENT_MARGIN

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
    detail = (f"{pr.best} {margin:.1f}% lower loss than {runner} (bar {bar:g}%), "
              f"lower on {pr.wins}/{pr.n_samples} paired samples")
    if random_weights:
        text, ok, decided = f"probe: no verdict on random weights ({detail})", None, False
    elif pr.confident:
        text, ok, decided = f"probe: trained as {pr.best} ({detail})", True, True
    else:
        text, ok, decided = f"probe: undecided, margin under the bar ({detail})", None, False
    return {"text": text, "ok": ok, "decided": decided, "best": pr.best, "runner_up": runner,
            "margin_pct": round(margin, 1), "bar_pct": bar}


def references(keys: Sequence[tuple[str, str, int]]) -> dict[tuple[str, str, int], dict[str, tuple]]:
    """For each rendering (config, dtype, nfe): the other renderings it is compared with.

    ``"nfe"``: the same config and dtype at the largest NFE of the grid; ``"fp32"``: the same
    config and NFE in fp32. Never a rendering against itself: the reference renderings get none."""
    have = set(keys)
    out: dict[tuple[str, str, int], dict[str, tuple]] = {}
    for c, d, n in keys:
        top = max(k[2] for k in keys if k[0] == c and k[1] == d)
        refs: dict[str, tuple] = {}
        if n != top:
            refs["nfe"] = (c, d, top)
        if d != "fp32" and (c, "fp32", n) in have:
            refs["fp32"] = (c, "fp32", n)
        out[(c, d, n)] = refs
    return out


def quality_rows(results: Mapping[tuple[str, str, int], Any], gen_text: str, recognizer: Any = None,
                 lang: str = "en") -> list[dict]:
    """Signal metrics of each rendering, its mel distance to its references (``references``),
    and the ASR's word error rate when a recognizer is given (text and transcript through the
    same ``lang`` normaliser). Rounded to 3 decimals: stable across CPU kernels."""
    from f5lab.speech.quality import mel_distance, wer

    refs = references(list(results))
    rows = []
    for key, r in results.items():
        m = r.record["metrics"]
        row: dict[str, Any] = {"config": key[0], "dtype": key[1], "NFE": key[2], "seconds": _r(m["seconds"]),
                               "peak": _r(m["peak"]), "RMS dBFS": _r(m["rms_dbfs"], 2),
                               "silence %": _r(100 * m["silence_ratio"], 1),
                               "clipping %": _r(100 * m["clipping_ratio"], 1), "non-finite": m["non_finite"]}
        for kind, label in (("nfe", "vs top NFE"), ("fp32", "vs fp32")):
            other = refs[key].get(kind)
            dist = mel_distance(r.mel, results[other].mel) if other else None
            row[f"mel L1 {label}"] = _r(dist["mel_l1"]) if dist else None
            row[f"MCD dB {label}"] = _r(dist["mcd_db"], 2) if dist else None
        if recognizer is not None:
            heard = recognizer.transcribe(r.wav, r.sample_rate)
            row["WER %"] = _r(100 * wer(gen_text, heard, lang), 1)
            row["heard"] = heard
        rows.append(row)
    return rows


WER_FAIL_PCT = 50.0  # more than half the words not recognised: the rendering is not intelligible to the ASR


def synthesis_verdict(rows: Sequence[Mapping[str, Any]], random_weights: bool = False,
                      no_wer: str | None = None) -> dict[str, Any]:
    """How many renderings are finite and not silent, and the WER span when measured (``no_wer``:
    why it was not, said instead of a number).

    ``ok``: False when a rendering is silent or not finite, or a trained model's WER passes
    ``WER_FAIL_PCT``; None when a WER was measured on random weights (noise by construction: no
    tick beside "word error rate 100%"); True otherwise."""
    audible = sum(r["non-finite"] == 0 and (r["silence %"] or 0) < 100 for r in rows)
    text = f"synthesis: {audible}/{len(rows)} renderings finite and not silent"
    ok: bool | None = audible == len(rows)
    wers = [r["WER %"] for r in rows if r.get("WER %") is not None]
    if wers:
        span = f"{min(wers):g}%" if min(wers) == max(wers) else f"{min(wers):g}-{max(wers):g}%"
        text += f"; word error rate {span}"
        if ok:
            ok = None if random_weights else max(wers) <= WER_FAIL_PCT
    elif no_wer:
        text += f"; {no_wer}"
    if random_weights:
        text += " (random weights: noise by construction)"
    return {"text": text, "ok": ok, "audible": audible, "renderings": len(rows),
            "max_wer_pct": max(wers) if wers else None, "no_wer": None if wers else no_wer}


def _r(x: Any, digits: int = 3) -> Any:
    return None if x is None else round(float(x), digits)


# -- sweeps: which point to crown --------------------------------------------------------------------------
TOTAL_FAILURE = {"wer": 100.0}  # WER % at which every word is wrong: the best of such points is no best


def crown(scored: Sequence[tuple[float, str]], goal: str, failure: float | None = None) -> str | None:
    """The candidate to call best for one metric, or None: ``scored`` is (value, id) in sweep order,
    ``goal`` "min" or "max". Ties go to the first; but when every candidate ties (two or more of
    them: nothing separates them) or the best value is a total failure (``failure``, e.g. WER
    100%), nothing is crowned."""
    if not scored:
        return None
    values = [v for v, _ in scored]
    best = min(values) if goal == "min" else max(values)
    if len(scored) > 1 and min(values) == max(values):
        return None
    if failure is not None and (best >= failure if goal == "min" else best <= failure):
        return None
    return next(pid for v, pid in scored if v == best)


# -- one config per sweep, and the config a model card names ------------------------------------------------
def sweep_config(fits: Sequence[str], lineage: Mapping[str, Any] | None = None,
                 probe: Mapping[str, Any] | None = None) -> tuple[str | None, str]:
    """(config, how) for a sweep's checkpoints of one architecture, none named: the only config the
    shapes fit ("only fit"); else lineage's when it gives a verdict for one of them ("lineage",
    ``lineage_verdict``'s facts); else the probe's when it clears its own bar ("probe",
    ``probe_verdict``'s facts: ``decided``); else (None, "undecided"): the sweep refuses and asks for
    --config. Never the probe's best below its bar: two checkpoints of one run rendered under
    different configs would compare the configs, not the checkpoints."""
    if len(fits) == 1:
        return fits[0], "only fit"
    if lineage and lineage.get("decided") and lineage.get("config") in fits:
        return lineage["config"], "lineage"
    if probe and probe.get("decided") and probe.get("best") in fits:
        return probe["best"], "probe"
    return None, "undecided"


def card_config(answer: Mapping[str, Any], demo: bool = False) -> dict[str, Any]:
    """The config a model card names and the evidence that decided it, from the report's answer:
    a config of one's own f5lab wrote ("own config"); the one the user named when it loads
    ("named"); the only config the shapes fit ("only fit"); lineage's verdict ("lineage", with its
    distance); the probe's above its bar ("probe", with its margin); the built-in demo's provenance
    ("demo"); otherwise none ("undecided", saying what was tried). ``config`` None: undecided."""
    from pathlib import Path

    own = answer.get("own_config")
    if own:
        assumed = own.get("assumed") or []
        return {"config": Path(own["path"]).name, "how": "own config",
                "evidence": "own config: no shipped config builds it; f5lab wrote this one from its shapes"
                            + (f" (assumed, not in the file: {', '.join(assumed)})" if assumed else "")}
    loads = answer.get("loads") or {}
    loadable = list(loads.get("loads") or []) + list(loads.get("after_remap") or [])
    asked = answer.get("config_asked")
    if asked and loads.get("loads_as_asked"):
        from f5lab.model.configs import looks_like_path

        shown = Path(asked).name if looks_like_path(asked) else asked  # a YAML of one's own: its name, not its folder
        return {"config": shown, "how": "named", "evidence": "named by the user (--config)"}
    fits = [c for c in (answer.get("fits") or []) if not loadable or c in loadable]
    if len(fits) == 1:
        return {"config": fits[0], "how": "only fit", "evidence": "the only config its shapes fit"}
    lin, pr = answer.get("lineage") or {}, answer.get("probe") or {}
    config, how = sweep_config(fits or loadable, lin, pr)
    if how == "lineage":
        near = f" (next base: {lin['next_distance']:g})" if lin.get("next_distance") is not None else ""
        return {"config": config, "how": how, "distance": lin.get("distance"), "margin": lin.get("margin"),
                "evidence": f"lineage: descends from {lin.get('base')}, relative distance {lin.get('distance'):g}"
                            f"{near}"}
    if how == "probe":
        return {"config": config, "how": how, "margin_pct": pr.get("margin_pct"),
                "evidence": f"behavioural probe: {pr.get('margin_pct'):g}% lower loss than {pr.get('runner_up')} "
                            f"(bar {pr.get('bar_pct'):g}%)"}
    if demo and loads.get("target"):
        return {"config": loads["target"], "how": "demo",
                "evidence": f"the built-in demo, built as {loads['target']} (random weights: nothing to measure)"}
    return {"config": None, "how": "undecided",
            "evidence": f"undecided between {' and '.join(fits or loadable) or 'no config'}"
                        + (f" ({'; '.join(tried)})" if (tried := _tried(lin, pr)) else "")}


def _tried(lin: Mapping[str, Any], pr: Mapping[str, Any]) -> list[str]:
    """What lineage and the probe said when neither decided, short (no folders: the card is published)."""
    out = []
    if lin:
        out.append("lineage: no base checkpoint at hand (give --base)" if lin.get("distance") is None
                   else str(lin.get("text")))
    if pr and pr.get("margin_pct") is not None:
        out.append(f"probe: {pr.get('best')} {pr['margin_pct']:g}% lower loss than {pr.get('runner_up')}, "
                   f"under its {pr.get('bar_pct'):g}% bar")
    elif pr and pr.get("text"):
        out.append(pr["text"])
    return out

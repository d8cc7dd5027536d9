"""The rules that turn results into verdicts: one small function each, tested, so that the
notebooks only call and display, and the report's answer card and the notebooks can never
disagree about what a number means.

Pure Python on results the other modules return (no torch import here).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from f5lab.compat.decision import (choose_target, decide_among, lineage_verdict, probe_verdict,  # noqa: F401
                                   significant)
from f5lab.compat.workflow import remap_needed  # noqa: F401

ESTIMATE_TOLERANCE = 0.25  # |estimate - measured| / measured within which the memory model is trusted


# -- 02: which config to aim at, and whether a remap changes anything ------------------------------------
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




# -- 03: does the memory model hold, and what limits the length ------------------------------------------
def estimate_agrees(rel_error: float | None, tolerance: float = ESTIMATE_TOLERANCE) -> bool:
    """The analytic estimate is trusted when it is within ``tolerance`` of the measurement."""
    return rel_error is not None and abs(rel_error) <= tolerance


# -- 04: the probe and the synthesis grid ---------------------------------------------------------------
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
    ``WER_FAIL_PCT``; None on random or untrained weights (noise by construction: no tick beside
    "finite and not silent" nor "word error rate 100%"); True otherwise."""
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
    if random_weights:  # nothing was checked that speech needs: no tick (a silent or NaN rendering stays a fault)
        text += " (random weights: noise by construction)"
        ok = None if ok else ok
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
def card_config(answer: Mapping[str, Any], demo: bool = False) -> dict[str, Any]:
    """The config a model card names and the evidence that decided it, from the report's answer:
    a config of one's own f5lab wrote ("own config"); the one the user named when it loads
    ("named"); else ``decide_among`` over the configs that load (only fit, lineage, the probe
    above its bar); the built-in demo's provenance ("demo"); otherwise none ("undecided", saying
    what was tried). ``config`` None: undecided."""
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
    lin, pr = answer.get("lineage") or {}, answer.get("probe") or {}
    d = decide_among(fits or loadable, lin, pr)
    if d.how == "only fit":
        return {"config": d.config, "how": d.how, "evidence": "the only config its shapes fit"}
    if d.how == "lineage":
        near = f" (next base: {lin['next_distance']:g})" if lin.get("next_distance") is not None else ""
        return {"config": d.config, "how": d.how, "distance": lin.get("distance"), "margin": lin.get("margin"),
                "evidence": f"lineage: descends from {lin.get('base')}, relative distance {lin.get('distance'):g}"
                            f"{near}"}
    if d.how == "probe":
        return {"config": d.config, "how": d.how, "margin_pct": pr.get("margin_pct"),
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

"""What each section of notebooks 01-03 records (sidecar) and shows (a table, a figure, wrapped text).

Notebook 04's cells are in ``f5lab.reporting.synthviews``, the sweep notebooks' in
``f5lab.reporting.sweepviews``. The notebooks call one function here per cell, so a notebook holds parameters, calls and
prose, and every number it shows has a unit, a human scale and a tested rule behind it
(``f5lab.reporting.decide``). Nothing here computes a result: the results come from the library
functions the notebooks call first.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

from f5lab.reporting import decide
from f5lab.reporting.sidecar import NotebookContext, Sidecar, Table, say
from f5lab.units import binary_bytes, gib, human_count, rtf

COLOURS = {"loads": "background-color:#c8e6c9", "loads after remap": "background-color:#fff3c4",
           "cannot": "background-color:#ffcdd2"}


# -- 01 inspect -----------------------------------------------------------------------------------------
def short_undetermined(items: Sequence[str]) -> list[str]:
    """The headline of each fact shapes cannot decide (the text before the first colon)."""
    names = {"vocoder": "vocoder (vocos or BigVGAN)", "heads": "attention heads"}
    out = []
    for item in items:
        head = item.split(":", 1)[0]
        out.append(names.get(head, head + (" (v0 or v1: f5lab lineage against the base, else the probe, decides)" if "_v1_" in head else "")))
    return out


def inspect_result(side: Sidecar, r: Any) -> Any:
    """Record what the checkpoint is (numbers, verdicts, answer facts); return the summary."""
    side.record("size_bytes", r.size_bytes, "bytes")
    side.record("format", r.format)
    side.record("source_state_dict", r.source)
    side.record("step", r.layout.get("step"), r.layout.get("step_key") or "step")
    side.record_many("bytes_by_dtype", r.bytes_by_dtype, "bytes")
    side.record_many("arch", r.spec.to_dict())
    side.record("params", r.params, "parameters")
    side.record_many("params_by_module", r.modules, "parameters")
    for c in r.candidates:
        side.record(f"ranking.{c.config}.differences", len(c.mismatches), "facts")
    side.record("best_config", r.best.config)
    side.record("undetermined_count", len(r.undetermined), "facts")
    exact = [c.config for c in r.candidates if c.exact]
    text = (f"{r.spec.backbone}, dim {r.spec.dim}, depth {r.spec.depth}, {r.params / 1e6:.1f} M parameters; "
            + (f"shapes match {', '.join(exact)}" if exact else "no installed config matches its shapes"))
    side.verdict("architecture", text, ok=bool(exact))
    short = short_undetermined(r.undetermined)
    if short:
        side.verdict("undetermined", f"shapes cannot decide: {'; '.join(short)}", ok=None)
    side.answer("checkpoint", text=text, backbone=r.spec.backbone, params=r.params, exact=exact,
                undetermined=short)
    return side.summary()


def layout_table(r: Any) -> Table:
    lay = r.layout
    root = "the file's top level (no nested state dict)"
    step = lay.get("step")
    facts = [("format", r.format), ("file size", f"{binary_bytes(r.size_bytes)} ({r.size_bytes:,} bytes)"),
             ("state dicts", ", ".join(root if s == "<root>" else s for s in lay["state_dicts"])),
             ("weights read from", root if r.source == "<root>" else r.source),
             ("stripped prefixes", ", ".join(r.prefixes) or "none"), ("dropped keys", ", ".join(r.dropped) or "none"),
             ("training step", "not recorded" if step is None else f"{step:,} ({lay.get('step_key')})"),
             ("optimizer state", "yes" if lay["optimizer"] else "no"),
             ("scheduler state", "yes" if lay["scheduler"] else "no"),
             ("weights by dtype", ", ".join(f"{d} {binary_bytes(b)}" for d, b in r.bytes_by_dtype.items()))]
    return Table([{"fact": k, "value": v} for k, v in facts])


ARCH_LABELS = {"backbone": "backbone", "dim": "model width (dim)", "depth": "blocks (depth)",
               "ff_mult": "feed-forward multiplier", "text_dim": "text embedding width",
               "conv_layers": "text conv layers", "mel_dim": "mel bins", "text_embed_rows": "text embedding rows",
               "long_skip": "long skip", "qk_norm": "q/k norm", "heads": "attention heads",
               "dim_head": "width per head", "attn_inner_dim": "attention width", "skip_connect": "UNet skip type"}


def arch_value(spec: Any, key: str, value: Any) -> Any:
    """A fact as shown: None means "none stored" for q/k norm, "not a UNet" for a DiT's skip type,
    and "undetermined" only where the list below the table explains it (heads, a UNetT's skips)."""
    if value is not None:
        return value
    if key == "qk_norm":
        return "none (no q/k norm weights stored)"
    if key == "skip_connect":
        return "add or none (see below)" if spec.backbone == "UNetT" else f"not applicable ({spec.backbone})"
    return "undetermined (see below)"


def arch_table(r: Any) -> Table:
    rows = [{"fact": ARCH_LABELS.get(k, k), "key": k, "value": arch_value(r.spec, k, v)}
            for k, v in r.spec.to_dict().items()]
    return Table(rows, columns=["fact", "value", "key"])


def modules_figure(side: Sidecar, r: Any) -> Any:
    from matplotlib.figure import Figure

    mods = sorted(r.modules.items(), key=lambda kv: kv[1])
    fig = Figure(figsize=(7, 0.45 * len(mods) + 1))
    ax = fig.add_subplot()
    ax.barh([m for m, _ in mods], [n / 1e6 for _, n in mods], color="#4c72b0")
    ax.set_xlabel("parameters (millions)")
    ax.set_title(f"{r.spec.backbone}: {r.params / 1e6:.2f} M parameters")
    fig.tight_layout()
    return side.figure("params_by_module", fig)


def modules_table(r: Any) -> Table:
    return Table([{"module": m, "parameters": human_count(n), "share": f"{100 * n / max(r.params, 1):.1f}%"}
                  for m, n in sorted(r.modules.items(), key=lambda kv: -kv[1])])


def ranking_table(r: Any) -> Table:
    rows = [{"config": c.config, "shapes": "match" if c.exact else f"{len(c.mismatches)} differ",
             "first disagreement (checkpoint vs config)": c.first_mismatch or "-",
             "vocab": "default" if c.vocab_match else "differs"} for c in r.candidates]
    return Table(rows, style=lambda row, col, v: (COLOURS["loads"] if v == "match" else COLOURS["cannot"])
                 if col == "shapes" else None)


def undetermined_text(r: Any) -> None:
    say(*[f"- {item}" for item in r.undetermined], *[f"note: {n}" for n in r.notes])


# -- 02 compatibility ----------------------------------------------------------------------------------
def compatibility(nb: NotebookContext, config: Any, target: Any = None, vocab: Any = None,
                  work_dir: Any = None, seed: int = 0, bases: Any = None, base_vocab: Any = None) -> Any:
    """Notebook 02's one call: lineage against ``bases`` (``lineage_for``), then the compatibility
    workflow (``f5lab.compat.workflow.compatibility``: decision, matrix, diagnosis, target, remap)."""
    from f5lab.compat.workflow import compatibility as workflow

    lin = lineage_for(nb, bases, vocab, base_vocab)
    return workflow(nb.checkpoint, catalogue=nb.catalogue, config=config, target=target, vocab=vocab,
                    work_dir=work_dir, seed=seed, lineage=lin)


def compatibility_result(side: Sidecar, nb: NotebookContext, c: Any) -> Any:
    """Record the matrix, the diagnosis, the remap (if any) and the answer facts; return the summary."""
    side.record_many("matrix", {r.config: r.status for r in c.rows})
    d = c.diagnosis
    side.record("diagnosis.ok", d.ok)
    side.record("diagnosis.codes", d.codes())
    for sev in ("error", "warning", "info"):
        side.record(f"diagnosis.{sev}s", sum(f.severity == sev for f in d.findings), "findings")
    for comp in d.comparisons:
        side.record(f"keys.{comp.config}.missing", sum(g.count for g in comp.missing), "keys")
        side.record(f"keys.{comp.config}.unexpected", sum(g.count for g in comp.unexpected), "keys")
        side.record(f"keys.{comp.config}.size_mismatches", len(comp.mismatched), "keys")
    side.record("remap.target", c.target)
    side.record("remap.needed", c.plan is not None)
    by = decide.loads_under(c.rows)
    asked = c.config
    named = [f for f in d.findings if f.severity == "error" and (f.config == asked or asked is None)]
    lv = decide.loading_verdict(asked, c.rows, cause=named[0].cause if named else None,
                               never=bool(named) and named[0].remappable is False, own=getattr(c, "own", None))
    text = lv["text"]
    asked_ok = lv["ok"] if asked is not None else None
    side.verdict("named_config" if asked is not None else "loads", text, ok=lv["ok"])
    remapped = remapped_bytes = verified = None
    if c.plan is None:
        side.verdict("remap", f"no remap needed: {c.target} loads the file as stored (f5-tts's loader strips "
                     "the 'ema_model.' prefix itself)" if status_of(c, c.target) == "loads"
                     else f"no remap can make {c.target} load it", ok=None)
    else:
        v = c.verification
        remapped, remapped_bytes, verified = c.remapped.name, c.remapped.stat().st_size, v.ok
        _record_remap(side, c)
        side.verdict("remap", f"remapped for {c.target} ({remapped}, {binary_bytes(remapped_bytes)}): "
                     + (f"verified, {v.tensors_equal}/{v.tensors_checked} tensors equal" if v.ok
                        else "FAILED verification"), ok=v.ok)
    d = c.decision
    settled = (f"descends from {d.evidence['lineage'].get('base')} (lineage)" if d.how == "lineage" and
               d.config == c.target else None)
    fix = decide.fix_line(str(nb.checkpoint), asked, c.rows, c.target, getattr(c, "catalogue", nb.catalogue),
                          getattr(c, "vocab", None), settled)  # runnable as printed
    side.record("service_code", {r.config: {"needs_remap": r.needs_remap, "remap_command": r.remap_command,
                                            "code": r.code} for r in c.rows if r.code})  # f5-tts alone
    lineage_result(side, c)
    side.answer("loading", text=text, ok=lv["ok"], asked=asked, loads_as_asked=asked_ok, loads=by["loads"],
                after_remap=by["loads after remap"], cannot=by["cannot"], target=c.target, fix=fix,
                remapped=remapped, remapped_bytes=remapped_bytes, verified=verified,
                service=next((str(_service(r)) for r in c.rows if r.config == c.target and r.code), None),
                decision=c.decision.to_json())
    return side.summary()


# -- 02: lineage ---------------------------------------------------------------------------------------------
def lineage_for(nb: NotebookContext, bases: Any, vocab: Any = None, base_vocab: Any = None) -> SimpleNamespace:
    """Lineage of the notebook's checkpoint: against ``bases`` (paths), or the Hugging Face cache
    (``bases`` None), or nothing (``[]``). A notebook's own tiny fixture gets stand-in bases built
    for the run (``f5lab.synthetic.finetunes.notebook_stand_ins``). ``result`` is None when no
    base is at hand; ``searched`` says where it looked."""
    import tempfile

    from f5lab.compat.lineage import NoBaseError, find_bases, lineage

    out = SimpleNamespace(result=None, searched=[], stand_in=False)
    if bases is not None and not list(bases):
        return out
    paths = [str(b) for b in bases] if bases is not None else None
    if paths is None and nb.fixture:
        from f5lab.synthetic.finetunes import notebook_stand_ins

        folder = Path(tempfile.mkdtemp(prefix="f5lab-nb-bases-"))
        paths, out.stand_in = [str(p) for p in notebook_stand_ins(nb.checkpoint, folder).values()], True
    try:
        out.result = lineage(nb.checkpoint, paths, vocab=vocab, base_vocab=base_vocab, catalogue=nb.catalogue)
    except NoBaseError:
        out.searched = find_bases()[1]
    return out


def lineage_result(side: Sidecar, c: SimpleNamespace) -> None:
    """Record lineage's numbers, its verdict and its answer facts (``decide.lineage_verdict``)."""
    lin = c.lineage.result
    v = decide.lineage_verdict(lin, c.lineage.searched, c.lineage.stand_in)
    side.verdict("lineage", v["text"], ok=v["ok"])
    side.answer("lineage", **v)
    side.record("lineage.decided", v["decided"])
    side.record("lineage.config", v["config"])
    if lin is None:
        return
    side.record("lineage.margin", v["margin"], "1 - nearest / next distance")
    for b in lin.bases:
        side.record(f"lineage.bases.{b.name}.distance", decide.significant(b.distance), "relative distance")
        side.record(f"lineage.bases.{b.name}.cosine", decide.significant(b.cosine), "cosine")
        side.record(f"lineage.bases.{b.name}.unchanged", b.unchanged, f"of {b.tensors} tensors")
    side.record("lineage.bases_apart", v["bases_apart"], "relative distance")
    for key in ("identical", "ema_equals_raw", "ema_equals_init"):
        side.record(f"lineage.{key}", lin.flags.get(key))
    side.record("lineage.frozen", len(lin.flags.get("frozen") or []), "tensors")
    rows = lin.nearest.rows if lin.nearest else None
    if rows is not None:
        side.record("lineage.new_rows", rows.new, "rows")
        side.record("lineage.new_rows_trained", rows.new_trained, "rows")


def lineage_table(c: SimpleNamespace) -> Table | None:
    """One row per base compared: its config (and how it is known), distance, cosine, unchanged tensors."""
    lin = c.lineage.result
    if lin is None:
        return None
    return Table([{"base": b.name, "config": b.config or "?", "how the config is known": b.config_source,
                   "distance": _two(b.distance), "cosine": _two(b.cosine, 4), "unchanged tensors":
                   f"{b.unchanged} of {b.tensors}"} for b in lin.bases])


def lineage_text(c: SimpleNamespace) -> None:
    """The verdict with its bar, the bases' distance from each other, and what was not compared."""
    lin = c.lineage
    v = decide.lineage_verdict(lin.result, lin.searched, lin.stand_in)
    if lin.result is None:
        say(v["text"] if lin.searched else "lineage: not run (no base given)")
        return
    r = lin.result
    say(v["text"], f"the bar: the nearest base at most {r.max_distance:g} away (unrelated weights of the same "
        f"scale: 1.41) and the next at least twice as far (margin >= {r.min_margin:g}; here "
        + ("-" if r.margin is None else f"{r.margin:.2f}") + ")",
        *[f"skipped: {Path(s['path']).name}: {s['reason']}" for s in r.skipped], *[f"note: {n}" for n in r.notes])


def drift_table(c: SimpleNamespace) -> Table | None:
    """Relative distance per block (rows) to each base (columns): what fine-tuning changed, where."""
    lin = c.lineage.result
    if lin is None or not lin.bases:
        return None
    from f5lab.compat.lineage import block_rank

    blocks = sorted({row["block"] for b in lin.bases for row in b.blocks}, key=block_rank)
    by = {b.name: {row["block"]: row for row in b.blocks} for b in lin.bases}
    rows = [{"block": blk, **{f"vs {b.name}": _two(by[b.name].get(blk, {}).get("distance")) for b in lin.bases},
             "unchanged": by[lin.bases[0].name].get(blk, {}).get("unchanged")} for blk in blocks]
    return Table(rows)


def drift_figure(side: Sidecar, c: SimpleNamespace) -> Any:
    """Relative change per block, blocks on the x axis, one line per base (log scale)."""
    lin = c.lineage.result
    if lin is None or not lin.bases:
        return None
    from f5lab.compat.drift import plot_drift

    return side.figure("lineage", plot_drift(lin))


def lineage_flags(c: SimpleNamespace) -> None:
    """What the comparison says about the fine-tuning: identical, frozen tensors, EMA, new rows."""
    lin = c.lineage.result
    if lin is None:
        return
    from f5lab.compat.drift import flag_lines

    near = lin.nearest
    lines = flag_lines(lin)
    if near is not None and near.raw is not None:
        lines.append(f"raw (training) weights: distance {_two(near.raw['distance'])} to {near.name}, the EMA weights "
                     f"{_two(near.distance)}")
    ema = "" if near is None or near.raw is None else ", the EMA apart from the raw weights"
    say(*(lines or [f"nothing unusual against {near.name if near else 'the bases'}: every tensor moved, no new "
                    f"embedding row{ema}"]))


def _two(x: float | None, digits: int = 2) -> str:
    """A distance to two significant digits (a cosine to ``digits`` decimals): the same under other CPU kernels."""
    if x is None:
        return "-"
    if digits != 2:
        return f"{x:.{digits}f}"
    return "0" if x == 0 else f"{x:.2g}"


def _service(row: Any) -> Any:
    """The target's f5-tts-only loading code (and the remap to run first), as diagnose prints it."""
    from f5lab.compat.service import ServiceCode

    return ServiceCode(row.config, row.needs_remap, row.remap_command, row.code)


def status_of(c: SimpleNamespace, config: str) -> str | None:
    return {r.config: r.status for r in c.rows}.get(config)


def _record_remap(side: Sidecar, c: SimpleNamespace) -> None:
    plan, v = c.plan, c.verification
    side.record("remap.tensors", len(plan.steps), "tensors")
    side.record("remap.dropped", len(plan.dropped), "entries")
    side.record("remap.output_bytes", plan.output_bytes, "bytes")
    side.record("remap.file_bytes", c.remapped.stat().st_size, "bytes")
    side.timing("remap.write", c.remap_s)
    for key in ("tensors_checked", "tensors_equal"):
        side.record(f"verify.{key}", getattr(v, key), "tensors")
    side.record("verify.max_abs_tensor_error", v.max_abs_tensor_error)
    side.record("verify.forward_max_abs_error", v.forward_max_abs_error)
    side.record("verify.forward_relative_error", v.forward_relative_error)
    side.record("verify.forward_tolerance", v.forward_tolerance)
    side.record("verify.ok", v.ok)


ADVICE = "; use config "  # the advice every "cannot" reason ends with: said once, below the table


def _reason(reason: str) -> tuple[str, str | None]:
    """A "cannot" reason split into its own cause and the advice shared by every row."""
    head, sep, advice = reason.partition(ADVICE)
    return head.removeprefix("cannot be fixed by remapping: "), (f"use config {advice}" if sep else None)


def matrix_table(nb: NotebookContext, c: SimpleNamespace) -> Table:
    rows = [{"config": r.config, "status": r.status,
             "why no remap can / what the remap does": _reason(r.reason)[0] if r.status == "cannot" else "; ".join(r.plan) or "-"}
            for r in c.rows]
    return Table(rows, style=lambda row, col, v: COLOURS.get(v) if col == "status" else None)


def matrix_notes(c: SimpleNamespace) -> None:
    advice = sorted({a for r in c.rows if r.status == "cannot" for a in [_reason(r.reason)[1]] if a})
    notes = sorted({r.note for r in c.rows if r.note})
    say(*[f"for the configs that cannot: {a}" for a in advice], *[f"note: {n}" for n in notes])


def findings_table(c: SimpleNamespace) -> Table:
    return Table([{"severity": f.severity, "config": f.config or "-", "finding": f.cause, "fix": f.fix}
                  for f in c.diagnosis.findings])


def evidence_text(c: SimpleNamespace) -> None:
    say(*[f"{f.code} ({f.config or 'file'}): {f.evidence}" for f in c.diagnosis.findings if f.evidence])


def keys_table(c: SimpleNamespace) -> Table:
    """One row per key group: what is missing from the checkpoint, what it has that the config
    does not build, and the size mismatches (two different groups can share a prefix)."""
    rows = []
    for comp in c.diagnosis.comparisons:
        rows.append({"config": comp.config, "what": "f5-tts loads it as stored",
                     "keys": "yes" if comp.f5tts_loads else "no"})
        rows += [{"config": comp.config, "what": "missing in the checkpoint", "keys": str(g)} for g in comp.missing]
        rows += [{"config": comp.config, "what": "unexpected (the config has none)", "keys": str(g)}
                 for g in comp.unexpected]
        rows += [{"config": comp.config, "what": "size mismatch (checkpoint vs config)",
                  "keys": f"{m['key']}: {m['checkpoint']} vs {m['config']}"} for m in comp.mismatched]
    return Table(rows)


def remap_text(c: SimpleNamespace) -> None:
    if c.plan is None:
        say(f"no remap: {c.target} " + ("loads the file as stored, so a copy would change nothing (the only "
                                        "difference, the 'ema_model.' prefix, f5-tts strips itself)"
                                        if status_of(c, c.target) == "loads" else "cannot load it after any remap"))
        return
    p = c.plan
    say(f"remap {Path(p.src).name} for {p.config}: {len(p.steps)} tensors, {binary_bytes(p.output_bytes)}",
        *[f"- {ch}" for ch in p.changes or ["no change beyond rewriting as a release .safetensors"]],
        *[f"note: {n}" for n in p.notes], f"wrote {c.remapped.name} ({binary_bytes(c.remapped.stat().st_size)}; "
                                          "provenance in its metadata)")


def verification_table(c: SimpleNamespace) -> Table | None:
    v = c.verification
    if v is None:
        return None
    rel = v.forward_relative_error
    facts = [("config", v.config), ("stored dtype", v.dtype),
             ("tensors equal", f"{v.tensors_equal} of {v.tensors_checked}"),
             ("mismatched / missing / unexpected", f"{len(v.mismatched)} / {len(v.missing)} / {len(v.unexpected)}"),
             ("largest tensor difference", f"{v.max_abs_tensor_error:.3g}"),
             ("forward pass, relative error", "-" if rel is None else f"{rel:.3g} (tolerance {v.forward_tolerance:g})"),
             ("verified", "yes" if v.ok else "NO")]
    return Table([{"check": k, "result": val} for k, val in facts])


# -- 03 memory -----------------------------------------------------------------------------------------
def memory_result(side: Sidecar, spec: Any, gpu: str | None, seconds: float, dtypes: Sequence[str],
                  torch_build: str | None = None, *, ref_seconds: float = 0.0, nfe: int | None = None,
                  dtype: str = "auto", batch: int = 1) -> SimpleNamespace:
    """The run verdicts (every card, f5-tts's own dtype pick unless ``dtype``; kernels of the installed
    torch or of ``torch_build``, memory, speed: ``f5lab.hardware.runs.judge``), the focus card per dtype,
    its curves and its knob table: recorded, with the answer facts, from the functions the figure and
    the CLI use too, all for the user's call (``seconds`` beside ``ref_seconds`` of reference, ``nfe``,
    ``batch``: ``f5lab profile``'s settings). ``gpu`` None (none named): every card is still judged, but
    no card gets the verdict, the curves or the knobs of a target, and the notebook says so once, here."""
    from f5lab.facts import DEFAULT_NFE
    from f5lab.hardware.knobs import knob_table
    from f5lab.hardware.memory import gpu_curves
    from f5lab.hardware.runs import judge, judge_all
    from f5lab.hardware.stack import stack_for

    nfe = DEFAULT_NFE if nfe is None else int(nfe)
    call = dict(ref_seconds=ref_seconds or None, nfe=nfe, batch=batch)
    build = stack_for(torch_build).torch
    side.record("torch.build", build.label)
    side.record("torch.kind", build.kind)
    for key, value, unit in (("seconds", seconds, "s of audio"), ("ref_seconds", ref_seconds or 0.0, "s of audio"),
                             ("nfe", nfe, "steps"), ("dtype", dtype, None), ("batch", batch, "texts")):
        side.record(f"call.{key}", value, unit)
    runs = judge_all(spec, build, seconds=seconds, dtype=dtype, **call)
    for r in runs:
        v, key = r.memory, f"gpus.{r.gpu.name}"
        side.record(f"{key}.memory_bytes", v.gpu.total_bytes, "bytes")
        side.record(f"{key}.total_bytes", v.total_bytes, "bytes")
        side.record(f"{key}.fits", v.fits)
        side.record(f"{key}.max_seconds", v.max_seconds, "s of audio")
        side.record(f"{key}.kernels", r.kernels.ok)
        side.record(f"{key}.runs", r.runs)
        if r.speed:
            side.record(f"{key}.seconds_per_call", round(r.speed.seconds_per_call, 3), "s (predicted)")
            side.record(f"{key}.rtf", round(r.speed.rtf, 4), "real-time factor (predicted)")
    if gpu is None:
        say("no GPU named (--gpu): every card of the catalogue is judged below; none is the target")
        return SimpleNamespace(runs=runs, cards=[r.memory for r in runs], focus=[], default=None, curves=[],
                               knobs=[], build=build)
    focus = [judge(spec, gpu, build, seconds=seconds, dtype=dt, **call) for dt in dtypes]
    for r in focus:
        v, key = r.memory, f"focus.{r.memory.settings['dtype']}"
        side.record(f"{key}.total_bytes", v.total_bytes, "bytes")
        side.record(f"{key}.budget_bytes", v.budget_bytes, "bytes")
        side.record(f"{key}.fits", v.fits)
        side.record(f"{key}.max_seconds", v.max_seconds, "s of audio")
        side.record(f"{key}.limited_by", v.limited_by)
        side.record(f"{key}.runs", r.runs)
    default = judge(spec, gpu, build, seconds=seconds, dtype=dtype, **call)
    _record_answer(side, default, seconds)
    curves = gpu_curves(spec, gpu, dtypes=dtypes, **call)
    for c in curves:
        key = f"curve.{c['settings']['dtype']}.{c['settings']['attn']}"
        side.record(f"{key}.max_seconds", c["max_seconds"], "s of audio")
        side.record(f"{key}.bytes", c["bytes"], "bytes")
        side.record(f"{key}.seconds", c["seconds"], "s of audio")
    knobs = knob_table(spec, gpu, seconds=seconds, dtype=dtype, **call)
    for row in knobs[1:]:
        side.record(f"knobs.{row['knob']}.memory", row["memory"])
        side.record(f"knobs.{row['knob']}.time", row["time"])
    return SimpleNamespace(runs=runs, cards=[r.memory for r in runs], focus=focus, default=default, curves=curves,
                           knobs=knobs, build=build)


def _record_answer(side: Sidecar, r: Any, seconds: float) -> None:
    """The answer card's GPU facts: runs (kernels AND driver AND memory), why not, the fix, speed, memory,
    the call they are for (``settings``) and how each is known (``evidence``: predicted, with the
    models' checked errors; a predicted verdict gets no tick, ``mark``)."""
    from f5lab.hardware.memory_verdicts import memory_model_evidence
    from f5lab.hardware.speed import speed_model_evidence

    v = r.memory
    side.verdict("gpu", r.card_text, ok=r.mark)
    if r.speed:
        side.record("call.seconds_per_call", round(r.speed.seconds_per_call, 3), "s (predicted)")
        side.record("call.rtf", round(r.speed.rtf, 4), "real-time factor (predicted)")
    fits = dict(gpu=v.gpu.name, dtype=v.settings["dtype"], attn=v.settings["attn"], seconds=seconds, fits=v.fits,
                needs_bytes=v.total_bytes, budget_bytes=v.budget_bytes, max_seconds=v.max_seconds,
                limited_by=v.limited_by)
    settings = dict(seconds=seconds, ref_seconds=v.settings.get("ref_seconds") or 0.0, nfe=v.settings["nfe"],
                    dtype=v.settings["dtype"], batch=v.settings["batch"], cfg=v.settings["cfg"],
                    attn=v.settings["attn"])
    side.answer("runs", text=r.text, card_text=r.card_text, mark=r.mark, gpu=v.gpu.name, runs=r.runs,
                reason=r.reason, torch=r.build.label, kernels=r.kernels.ok, kernel_rule=r.kernels.rule,
                fix=r.fix.command if r.fix else None,
                seconds_per_call=round(r.speed.seconds_per_call, 3) if r.speed else None,
                rtf=round(r.speed.rtf, 4) if r.speed else None, fits=fits, settings=settings,
                evidence={"runs": r.evidence.to_dict(), "memory": memory_model_evidence("cuda").to_dict(),
                          "seconds_per_call": speed_model_evidence("cuda").to_dict()})


def estimate_table(est: Any) -> Table:
    return Table([{"term": t.name, "phase": t.group, "size": binary_bytes(t.bytes), "formula": t.formula}
                  for t in est.terms])


def measured_result(side: Sidecar, est: Any, meas: Any) -> Table:
    """The estimate's terms and its measurement: recorded, the ``decide.estimate_agrees`` verdict,
    and the table."""
    from f5lab.hardware.memory import compare

    row = compare(est, meas)
    side.record("estimate.frames", est.frames, "frames")
    side.record("estimate.weights_bytes", est.weights_bytes, "bytes")
    side.record("estimate.activation_bytes", est.activation_bytes, "bytes")
    side.record("estimate.total_bytes", est.total_bytes, "bytes")
    side.record("estimate.peak_phase", est.peak_phase)
    side.record_many("estimate.terms", {t.name: t.bytes for t in est.terms}, "bytes")
    side.timing("measure", meas.wall_s)
    for key in ("estimated_activation_bytes", "measured_activation_bytes", "estimated_weights_bytes",
                "measured_weights_bytes"):
        side.record(f"measured.{key}", row[key], "bytes")
    err = row["activation_rel_error"]
    side.record("measured.activation_rel_error", round(err, 3), "fraction")
    agrees = decide.estimate_agrees(err)
    side.verdict("estimate", measured_call_text(est, meas, err, agrees), ok=agrees)
    return Table([
        {"quantity": "activation peak", "estimate": binary_bytes(row["estimated_activation_bytes"]),
         "measured": binary_bytes(row["measured_activation_bytes"]), "difference": f"{100 * err:+.1f}%"},
        {"quantity": "weights + buffers", "estimate": binary_bytes(row["estimated_weights_bytes"]),
         "measured": binary_bytes(row["measured_weights_bytes"]),
         "difference": "exact" if row["estimated_weights_bytes"] == row["measured_weights_bytes"] else "differs"}])


def measured_call_text(est: Any, meas: Any, err: float, agrees: bool) -> str:
    """The estimate's check, saying exactly what ran: the call's length, NFE, attention, dtype and
    device, and that it is not the GPU call the verdict above is for."""
    s = meas.settings
    where = meas.device_name or meas.device
    ran = (f"one real {s['seconds']:g} s call at NFE {s['nfe']}, {s['attn']} attention, {s['dtype']}, on "
           f"{'the CPU' if meas.device == 'cpu' else where}")
    return (f"memory estimate vs measured activations: {100 * err:+.1f}% ({'within' if agrees else 'outside'} "
            f"the \u00b1{100 * decide.ESTIMATE_TOLERANCE:.0f}% the verdicts rely on), measured on {ran}; "
            "this checks the estimate on that call only, not the GPU call judged above")


def gpu_table(m: SimpleNamespace, gpu: str | None) -> Table:
    marks = {True: "yes", False: "no", None: "?"}
    rows = [{"GPU": r.gpu.name, "cc": r.gpu.cc_str,
             "runs": marks[r.runs], "kernels": marks[r.kernels.ok], "dtype": r.memory.settings["dtype"],
             "attention": r.memory.settings["attn"], "needs": gib(r.memory.total_bytes),
             "usable": gib(r.memory.budget_bytes),
             "longest call": f"{r.memory.max_seconds:g} s" + ("" if r.memory.limited_by == "memory" else " (cap)"),
             "s per call (predicted)": rtf(r.speed.seconds_per_call) if r.speed else "-",  # no exponents
             "RTF": rtf(r.speed.rtf) if r.speed else "-"} for r in m.runs]

    def style(row: dict, col: str, value: Any) -> str | None:
        css = "font-weight:bold;background-color:#fff3c4;" if row["GPU"] == gpu else ""
        if col in ("runs", "kernels"):
            css += "color:#176a2c" if value in (True, "yes") else "color:#b00020" if value in (False, "no") else ""
        return css or None

    return Table(rows, style=style)


def focus_text(m: SimpleNamespace, seconds: float) -> None:
    """The target's verdict per dtype (``--`` where it runs by prediction: nothing ran on the card), its
    fixes and caveats, then where the figures come from: both models' checked errors on a GPU."""
    from f5lab.hardware.memory_verdicts import memory_model_error
    from f5lab.hardware.speed import speed_model_error

    say(f"torch judged: {m.build.describe()}")
    for r in m.focus:
        say(f"{'--' if r.runs else 'NO' if r.runs is False else '??'}  {r.text}")
        say(*[f"    fix: {f}" for f in r.memory.fixes], *[f"    caveat: {c}" for c in r.memory.caveats],
            indent=" " * 12)
    if m.focus:
        say("predicted, not run on the card: memory by f5lab's estimate, time by its speed model",
            f"speed model error: {speed_model_error('cuda')}", f"memory estimate error: {memory_model_error('cuda')}")


def knob_table(m: SimpleNamespace) -> Table | None:
    """What each knob costs on the target GPU (``f5lab.hardware.knobs``), against the default row;
    None (nothing shown) without a target."""
    from f5lab.hardware.knobs import knob_rows_for_display

    if not m.knobs:
        return None

    return Table(knob_rows_for_display(m.knobs))


def curves_figure(side: Sidecar, m: SimpleNamespace) -> Any:
    """The target's peak memory against audio length; None (nothing shown) without a target."""
    from f5lab.hardware.memory import plot_gpu_curves

    if not m.curves:
        return None

    return side.figure("gpu", plot_gpu_curves(m.curves))

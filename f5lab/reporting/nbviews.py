"""What each notebook section records (sidecar) and shows (a table, a figure, wrapped text).

The notebooks call one function here per cell, so a notebook holds parameters, calls and
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
from f5lab.units import human_bytes

GIB = 2**30
COLOURS = {"loads": "background-color:#c8e6c9", "loads after remap": "background-color:#fff3c4",
           "cannot": "background-color:#ffcdd2"}


def human_count(n: int) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1e6 else f"{n / 1e3:.1f} K" if n >= 1e3 else str(n)


# -- 01 inspect -----------------------------------------------------------------------------------------
def short_undetermined(items: Sequence[str]) -> list[str]:
    """The headline of each fact shapes cannot decide (the text before the first colon)."""
    names = {"vocoder": "vocoder (vocos or BigVGAN)", "heads": "attention heads"}
    out = []
    for item in items:
        head = item.split(":", 1)[0]
        out.append(names.get(head, head + (" (v0 or v1: the probe decides)" if "_v1_" in head else "")))
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
    facts = [("format", r.format), ("file size", f"{human_bytes(r.size_bytes)} ({r.size_bytes:,} bytes)"),
             ("state dicts", ", ".join(root if s == "<root>" else s for s in lay["state_dicts"])),
             ("weights read from", root if r.source == "<root>" else r.source),
             ("stripped prefixes", ", ".join(r.prefixes) or "none"), ("dropped keys", ", ".join(r.dropped) or "none"),
             ("training step", "not recorded" if step is None else f"{step:,} ({lay.get('step_key')})"),
             ("optimizer state", "yes" if lay["optimizer"] else "no"),
             ("scheduler state", "yes" if lay["scheduler"] else "no"),
             ("weights by dtype", ", ".join(f"{d} {human_bytes(b)}" for d, b in r.bytes_by_dtype.items()))]
    return Table([{"fact": k, "value": v} for k, v in facts])


ARCH_LABELS = {"backbone": "backbone", "dim": "model width (dim)", "depth": "blocks (depth)",
               "ff_mult": "feed-forward multiplier", "text_dim": "text embedding width",
               "conv_layers": "text conv layers", "mel_dim": "mel bins", "text_embed_rows": "text embedding rows",
               "long_skip": "long skip", "qk_norm": "q/k norm", "heads": "attention heads",
               "dim_head": "width per head", "attn_inner_dim": "attention width", "skip_connect": "UNet skip type"}


def arch_table(r: Any) -> Table:
    rows = [{"fact": ARCH_LABELS.get(k, k), "key": k, "value": "undetermined (see below)" if v is None else v}
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
                  work_dir: Any = None, seed: int = 0) -> SimpleNamespace:
    """Matrix, diagnosis against ``config``, the target (``decide.choose_target``), and a remap
    plus its verification only when the target needs one (``decide.remap_needed``)."""
    import tempfile

    from f5lab.compat.diagnose import diagnose
    from f5lab.compat.loading import compatibility_matrix, verify
    from f5lab.compat.remap import execute_plan, plan_remap

    rows = compatibility_matrix(nb.checkpoint, vocab=vocab, catalogue=nb.catalogue, config=config)  # a YAML: a row too
    diagnosis = diagnose(nb.checkpoint, config=config, vocab=vocab, catalogue=nb.catalogue)
    chosen = decide.choose_target(rows, target)
    out = SimpleNamespace(rows=rows, diagnosis=diagnosis, config=getattr(config, "name", config), target=chosen,
                          plan=None, remapped=None, verification=None, remap_s=None)
    if decide.remap_needed(rows, chosen):
        import time

        from f5lab import outputs

        folder = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="f5lab-nb-"))
        if not folder.is_dir():
            outputs.make_dirs(folder)
        out.plan = plan_remap(nb.checkpoint, chosen, vocab_from=vocab, catalogue=nb.catalogue)
        t0 = time.perf_counter()
        out.remapped = execute_plan(out.plan, folder / f"{nb.checkpoint.stem}.{Path(out.plan.config).stem}.safetensors",
                                    force=True)
        out.remap_s = time.perf_counter() - t0
        out.verification = verify(nb.checkpoint, out.remapped, config=out.plan.config, vocab_src=vocab,
                                  catalogue=nb.catalogue, seed=seed)
    return out


def compatibility_result(side: Sidecar, nb: NotebookContext, c: SimpleNamespace) -> Any:
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
    named = [f for f in d.findings if f.config == c.config and f.severity == "error"]
    status = {r.config: r.status for r in c.rows}.get(c.config)
    asked_ok = not named and status == "loads"
    if asked_ok:
        text = f"loads under {c.config} as stored"
    else:
        why = named[0].cause if named else (status or "not an installed config")
        never = f"; no remap into {c.config} can fix that" if named and named[0].remappable is False else ""
        text = f"does not load under {c.config}: {why}{never}"
    elsewhere = [f"loads as stored under {', '.join(by['loads'])}" if by["loads"] else "",
                 f"loads after a remap under {', '.join(by['loads after remap'])}" if by["loads after remap"] else ""]
    if any(elsewhere):
        joined = "; ".join(e for e in elsewhere if e)
        text += ". " + joined[0].upper() + joined[1:]
    side.verdict("named_config", text, ok=asked_ok)
    remapped = remapped_bytes = verified = None
    if c.plan is None:
        side.verdict("remap", f"no remap needed: {c.target} loads the file as stored (f5-tts's loader strips "
                     "the 'ema_model.' prefix itself)" if status_of(c, c.target) == "loads"
                     else f"no remap can make {c.target} load it", ok=None)
    else:
        v = c.verification
        remapped, remapped_bytes, verified = c.remapped.name, c.remapped.stat().st_size, v.ok
        _record_remap(side, c)
        side.verdict("remap", f"remapped for {c.target} ({remapped}, {human_bytes(remapped_bytes)}): "
                     + (f"verified, {v.tensors_equal}/{v.tensors_checked} tensors equal" if v.ok
                        else "FAILED verification"), ok=v.ok)
    fix = decide.fix_line(str(nb.checkpoint), str(c.config), c.rows, c.target, nb.catalogue)  # runnable as printed
    side.record("service_code", {r.config: {"needs_remap": r.needs_remap, "remap_command": r.remap_command,
                                            "code": r.code} for r in c.rows if r.code})  # f5-tts alone
    side.answer("loading", text=text, asked=c.config, loads_as_asked=asked_ok, loads=by["loads"],
                after_remap=by["loads after remap"], cannot=by["cannot"], target=c.target, fix=fix,
                remapped=remapped, remapped_bytes=remapped_bytes, verified=verified,
                service=next((str(_service(r)) for r in c.rows if r.config == c.target and r.code), None))
    return side.summary()


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
    say(f"remap {Path(p.src).name} for {p.config}: {len(p.steps)} tensors, {human_bytes(p.output_bytes)}",
        *[f"- {ch}" for ch in p.changes or ["no change beyond rewriting as a release .safetensors"]],
        *[f"note: {n}" for n in p.notes], f"wrote {c.remapped.name} ({human_bytes(c.remapped.stat().st_size)}; "
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
def memory_result(side: Sidecar, spec: Any, gpu: str, seconds: float, dtypes: Sequence[str]) -> SimpleNamespace:
    """The GPU verdicts (every card, f5-tts's own dtype pick), the focus card per dtype and its
    curves: recorded, with the answer facts (from the same ``verdicts`` the figure agrees with)."""
    from f5lab.hardware.memory import gpu_curves, verdicts

    cards = verdicts(spec, seconds=seconds, dtype="auto")
    for v in cards:
        side.record(f"gpus.{v.gpu.name}.memory_bytes", v.gpu.total_bytes, "bytes")
        side.record(f"gpus.{v.gpu.name}.total_bytes", v.total_bytes, "bytes")
        side.record(f"gpus.{v.gpu.name}.fits", v.fits)
        side.record(f"gpus.{v.gpu.name}.max_seconds", v.max_seconds, "s of audio")
    focus = [v for dt in dtypes for v in verdicts(spec, seconds=seconds, dtype=dt, gpus=[gpu])]
    for v in focus:
        key = f"focus.{v.settings['dtype']}"
        side.record(f"{key}.total_bytes", v.total_bytes, "bytes")
        side.record(f"{key}.budget_bytes", v.budget_bytes, "bytes")
        side.record(f"{key}.fits", v.fits)
        side.record(f"{key}.max_seconds", v.max_seconds, "s of audio")
        side.record(f"{key}.limited_by", v.limited_by)
    default = verdicts(spec, seconds=seconds, dtype="auto", gpus=[gpu])[0]
    text = decide.gpu_sentence(default, seconds)
    side.verdict("gpu", text, ok=default.fits)
    side.answer("memory", text=text, gpu=default.gpu.name, dtype=default.settings["dtype"],
                attn=default.settings["attn"], seconds=seconds, fits=default.fits, needs_bytes=default.total_bytes,
                budget_bytes=default.budget_bytes, max_seconds=default.max_seconds, limited_by=default.limited_by)
    curves = gpu_curves(spec, gpu, dtypes=dtypes)
    for c in curves:
        key = f"curve.{c['settings']['dtype']}.{c['settings']['attn']}"
        side.record(f"{key}.max_seconds", c["max_seconds"], "s of audio")
        side.record(f"{key}.bytes", c["bytes"], "bytes")
        side.record(f"{key}.seconds", c["seconds"], "s of audio")
    return SimpleNamespace(cards=cards, focus=focus, default=default, curves=curves)


def estimate_table(est: Any) -> Table:
    return Table([{"term": t.name, "phase": t.group, "size": human_bytes(t.bytes), "formula": t.formula}
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
    side.verdict("estimate", f"memory estimate vs measured activations ({meas.device}): {100 * err:+.1f}% "
                 f"({'within' if agrees else 'outside'} the \u00b1{100 * decide.ESTIMATE_TOLERANCE:.0f}% the "
                 "verdicts rely on)", ok=agrees)
    return Table([
        {"quantity": "activation peak", "estimate": human_bytes(row["estimated_activation_bytes"]),
         "measured": human_bytes(row["measured_activation_bytes"]), "difference": f"{100 * err:+.1f}%"},
        {"quantity": "weights + buffers", "estimate": human_bytes(row["estimated_weights_bytes"]),
         "measured": human_bytes(row["measured_weights_bytes"]),
         "difference": "exact" if row["estimated_weights_bytes"] == row["measured_weights_bytes"] else "differs"}])


def gpu_table(m: SimpleNamespace, gpu: str) -> Table:
    rows = [{"GPU": v.gpu.name, "memory": f"{v.gpu.total_bytes / GIB:.1f} GiB", "cc": v.gpu.cc_str,
             "dtype": v.settings["dtype"], "attention": v.settings["attn"],
             "needs": f"{v.total_bytes / GIB:.2f} GiB", "usable": f"{v.budget_bytes / GIB:.2f} GiB",
             "fits": v.fits, "longest call": f"{v.max_seconds:g} s",
             "limited by": "memory" if v.limited_by == "memory" else "frame cap",
             "rough time per call (fp32 rate)": v.speed} for v in m.cards]

    def style(row: dict, col: str, value: Any) -> str | None:
        css = "font-weight:bold;background-color:#fff3c4;" if row["GPU"] == gpu else ""
        if col == "fits":
            css += "color:#176a2c" if value else "color:#b00020"
        return css or None

    return Table(rows, style=style)


def focus_text(m: SimpleNamespace, seconds: float) -> None:
    for v in m.focus:
        say(decide.gpu_sentence(v, seconds))
        say(*[f"    fix: {f}" for f in v.fixes], *[f"    caveat: {c}" for c in v.caveats], indent=" " * 12)


def curves_figure(side: Sidecar, m: SimpleNamespace) -> Any:
    from f5lab.hardware.memory import plot_gpu_curves

    return side.figure("gpu", plot_gpu_curves(m.curves))


# -- 04 synthesis --------------------------------------------------------------------------------------
def grid_table(grid: Sequence[tuple[str, str, int]]) -> Table:
    return Table([{"config": c, "dtype": d, "NFE": n} for c, d, n in grid])


def renderings(nb: NotebookContext, grid: Sequence[tuple[str, str, int]], ref_audio: Any, ref_text: str,
               gen_text: str, *, vocab: Any = None, vocoder: Any = None, device: str = "cpu", seed: int = 0,
               out_dir: Any = None) -> dict[tuple[str, str, int], Any]:
    """Every rendering of the grid, each model loaded once per (config, dtype); each record names
    the checkpoint file and the config it was loaded with."""
    from f5lab.compat.loading import load_model
    from f5lab.speech.synth import synthesize

    results: dict[tuple[str, str, int], Any] = {}
    for config, dtype in dict.fromkeys((c, d) for c, d, _ in grid):
        model = load_model(nb.checkpoint, config=config, vocab=vocab, dtype=dtype, catalogue=nb.catalogue,
                           device=device)
        model.f5lab_config = getattr(config, "name", str(config))  # synthesize records it
        for _, _, steps in [k for k in grid if k[:2] == (config, dtype)]:
            r = synthesize(model, ref_audio, ref_text, gen_text, nfe=steps, seed=seed, vocoder=vocoder,
                           device=device, out_dir=Path(out_dir) / f"{config}_{dtype}_nfe{steps}" if out_dir else None)
            r.record["model"].update(path=str(nb.checkpoint), file=nb.checkpoint.name,
                                     config=getattr(config, "name", str(config)))
            if r.files.get("record"):  # synth.json: the record as written, now naming the checkpoint
                import json

                from f5lab import outputs

                outputs.write_text(r.files["record"], json.dumps(r.record, indent=2, ensure_ascii=False),
                                   force=True)
            results[(config, dtype, steps)] = r
        del model
    return results


def renderings_text(side: Sidecar, results: dict) -> None:
    for key, r in results.items():
        for what in ("synth_s", "sample_s", "vocoder_s", "rtf"):
            side.timing(f"synth.{'_'.join(map(str, key))}.{what}", r.record["timings"][what] or 0.0)
    side.record("grid.size", len(results), "settings")
    side.record("grid.candidates", list(dict.fromkeys(k[0] for k in results)))
    first = next(iter(results.values()))
    say(f"{len(results)} renderings of the grid; vocoder: {first.record['vocoder']['label']}")


def players(results: dict, random_weights: bool) -> None:
    from IPython.display import Audio, Markdown, display

    if random_weights:
        display(Markdown("**These weights are random (a demo / test checkpoint): the audio below is noise, "
                         "by construction. A trained checkpoint speaks here.**"))
    for (config, dtype, steps), r in results.items():
        display(Markdown(f"`{config}` · {dtype} · NFE {steps} · {r.seconds:.2f} s"))
        display(Audio(r.wav, rate=r.sample_rate, normalize=True))


def mels_figure(side: Sidecar, results: dict) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 1.8 * len(results) + 0.5))
    axes = fig.subplots(len(results), 1, squeeze=False)
    for ax, ((config, dtype, steps), r) in zip(axes[:, 0], results.items()):
        ax.imshow(r.mel, origin="lower", aspect="auto", interpolation="nearest")
        ax.set_title(f"{config} · {dtype} · NFE {steps}", fontsize=9)
        ax.set_ylabel("mel bin")
    axes[-1, 0].set_xlabel("frame (256 samples at 24 kHz)")
    fig.tight_layout()
    return side.figure("mels", fig)


UNITS = {"seconds": "s", "peak": "full scale", "RMS dBFS": "dBFS", "silence %": "%", "clipping %": "%",
         "non-finite": "samples", "mel L1 vs top NFE": "log-mel", "MCD dB vs top NFE": "dB",
         "mel L1 vs fp32": "log-mel", "MCD dB vs fp32": "dB", "WER %": "%"}


def quality_result(side: Sidecar, results: dict, gen_text: str, asr: str | None, random_weights: bool) -> Table:
    """Quality rows (``decide.quality_rows``), recorded, with the synthesis verdict; the table."""
    from f5lab.speech.quality import get_asr

    rows = decide.quality_rows(results, gen_text, get_asr(asr) if asr else None)
    for row in rows:
        key = f"quality.{row['config']}.{row['dtype']}.nfe{row['NFE']}"
        for col, unit in UNITS.items():
            if col in row:
                side.record(f"{key}.{col}", row[col], unit)
        if "heard" in row:
            side.record(f"{key}.heard", row["heard"])
    v = decide.synthesis_verdict(rows, random_weights)
    side.verdict("synthesis", v["text"], ok=v["ok"])
    side.answer("synthesis", **v)
    cols = [c for c in rows[0] if not all(r[c] is None for r in rows)] if rows else []
    return Table(rows, columns=cols)


def timings_table(results: dict) -> Table:
    return Table([{"config": c, "dtype": d, "NFE": n, "sampling": f"{r.record['timings']['sample_s']:.2f} s",
                   "vocoder": f"{r.record['timings']['vocoder_s']:.2f} s",
                   "real-time factor": f"{r.record['timings']['rtf']:.2f}"} for (c, d, n), r in results.items()])


def probe_result(side: Sidecar, pr: Any, random_weights: bool) -> Table:
    """The probe's losses, recorded, with its verdict (``decide.probe_verdict``); the table."""
    side.timing("probe", pr.seconds)
    side.record_many("probe.loss_mean", {c.config: round(c.loss_mean, 3) for c in pr.ranking}, "flow-matching loss")
    side.record_many("probe.loss_std", {c.config: round(c.loss_std, 3) for c in pr.ranking}, "flow-matching loss")
    side.record("probe.best", pr.best)
    side.record("probe.wins", pr.wins, f"of {pr.n_samples} paired samples")
    margin = None if pr.relative_margin is None else round(100 * pr.relative_margin, 1)
    side.record("probe.relative_margin", margin, "% of the best loss")
    side.record("probe.confident", pr.confident)
    v = decide.probe_verdict(pr, random_weights)
    side.verdict("probe", v["text"], ok=v["ok"])
    side.answer("probe", **v)
    return Table([{"config": c.config, "loss (mean)": f"{c.loss_mean:.3f}", "loss (std)": f"{c.loss_std:.3f}"}
                  for c in pr.ranking])

"""Terminal presentation (rich tables) of f5lab results; no computation here."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from f5lab.units import human_bytes


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def hang(out: Console, head: str, text: str) -> None:
    """``head`` + ``text`` wrapped at the terminal's width at word boundaries, continuation lines
    indented under the text (a hanging indent), so a long reason stays readable in 100 columns."""
    import re
    import textwrap

    glue = "\x00"  # a command in backticks stays on one line: copied from the terminal, it runs as printed
    text = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", glue), str(text))
    lines = textwrap.wrap(text, width=max(40, out.width), initial_indent=head, subsequent_indent=" " * len(head),
                          break_long_words=False, break_on_hyphens=False) or [head.rstrip()]
    for line in lines:
        out.print(line.replace(glue, " "), markup=False, highlight=False)


def show_answer(answer: dict[str, Any]) -> None:
    """The report's answer card in the terminal: one wrapped line per fact."""
    out = console()
    marks = {True: "ok ", False: "NO ", None: " - "}
    asked = answer.get("config_asked") or "none named"
    out.print(f"[bold]answer[/bold] for {escape(str(answer.get('checkpoint')))} (config tried: {escape(asked)}, "
              f"target GPU: {escape(str(answer.get('gpu') or 'none named (--gpu)'))})", highlight=False)
    width = max([len(line["label"]) for line in answer["lines"]] + [0])
    for line in answer["lines"]:
        head = f"  [{marks.get(line.get('ok'), ' - ')}] {line['label']:<{width}}  "
        if "\n" in line["text"]:  # code keeps its lines (it is copied, then run)
            out.print(head.rstrip(), markup=False, highlight=False)
            for code in line["text"].splitlines():
                out.print(" " * len(head) + code, markup=False, highlight=False, soft_wrap=True)
        else:
            hang(out, head, line["text"])


def human_count(n: float) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1e5 else f"{n / 1e3:.1f} K" if n >= 1e3 else str(int(n))


def show_inspection(r: Any) -> None:
    """The human form of ``f5lab inspect``."""
    out = console()
    lay = r.layout
    out.print(f"[bold]{r.path}[/bold]  {r.format}, {human_bytes(r.size_bytes)}"
              + (f", sha256 {r.sha256}" if r.sha256 else ""))
    step = f", {lay['step_key']} {lay['step']}" if lay.get("step") is not None else ""
    out.print(f"container: {', '.join(lay['state_dicts'])}{step}; "
              f"optimizer {'yes' if lay['optimizer'] else 'no'}, scheduler {'yes' if lay['scheduler'] else 'no'}")
    out.print(f"weights from: {r.source}; stripped prefixes: {', '.join(r.prefixes) or 'none'}"
              + (f"; dropped: {', '.join(r.dropped)}" if r.dropped else ""))
    out.print("dtypes: " + ", ".join(f"{d} {human_bytes(b)}" for d, b in r.bytes_by_dtype.items()))

    s = r.spec
    arch = Table(title=f"architecture (from shapes): {s.backbone}, {human_count(r.params)} parameters",
                 title_justify="left")
    arch.add_column("fact")
    arch.add_column("value", justify="right")
    for fact, value in (("backbone", s.backbone), ("dim", s.dim), ("depth", s.depth),
                        ("heads", s.heads or "? (undetermined)"), ("ff_mult", s.to_dict()["ff_mult"]),
                        ("text_dim", s.text_dim), ("conv_layers", s.conv_layers), ("mel_dim", s.mel_dim),
                        ("text embedding rows", s.text_embed_rows), ("long skip", "yes" if s.long_skip else "no"),
                        ("qk_norm", s.qk_norm or "none")):
        arch.add_row(fact, str(value))
    out.print(arch)

    mods = Table(title="parameters per module", title_justify="left")
    mods.add_column("module")
    mods.add_column("parameters", justify="right")
    mods.add_column("share", justify="right")
    for name, n in sorted(r.modules.items(), key=lambda kv: -kv[1]):
        mods.add_row(name, human_count(n), f"{100 * n / max(r.params, 1):.1f}%")
    out.print(mods)

    ranks = Table(title="installed f5-tts configs, best first", title_justify="left")
    ranks.add_column("config")
    ranks.add_column("verdict")
    ranks.add_column("first disagreement")
    ranks.add_column("vocab")
    for c in r.candidates:
        verdict = "[green]exact[/green]" if c.exact else f"[red]{len(c.mismatches)} differ[/red]"
        ranks.add_row(c.config, verdict, c.first_mismatch or "-", "default" if c.vocab_match else "differs")
    out.print(ranks)
    for note in r.notes:
        out.print(f"[yellow]note:[/yellow] {note}")
    if not r.best.exact:
        out.print("arch block for a config of your own:")
        for k, v in r.spec.arch_block().items():
            out.print(f"    {k}: {v}")
    out.print("[bold]shapes cannot decide:[/bold]")
    for u in r.undetermined:
        out.print(f"  - {u}")


# -- diagnose / remap / verify / matrix -------------------------------------------------------
SEVERITY_STYLE = {"error": "[red]error[/red]", "warning": "[yellow]warning[/yellow]", "info": "[cyan]info[/cyan]"}


def show_diagnosis(d: Any) -> None:
    """The human form of ``f5lab diagnose``: per-config key groups, then each finding's cause, evidence, fix."""
    out = console()
    if d.path:
        source = "the file's top level" if d.source == "<root>" else d.source
        out.print(f"[bold]{d.path}[/bold]" + (f"  (weights from {source})" if source else ""))
    for c in d.comparisons:
        verdict = "f5-tts loads it as stored" if c.f5tts_loads else (c.f5tts_reason or "does not load")
        out.print(f"[bold]vs {c.config}[/bold]: {verdict}")
        for label, groups in (("missing:    ", c.missing), ("unexpected: ", c.unexpected)):
            if groups:
                hang(out, f"  {label}", ", ".join(str(g) for g in groups))
        for m in c.mismatched[:6]:
            out.print(f"  shape: {m['key']} checkpoint {m['checkpoint']} vs config {m['config']}")
    for f in d.findings:
        where = " " + escape(f"[{f.config}]") if f.config else ""  # a YAML path in brackets is no markup tag
        out.print(f"{SEVERITY_STYLE.get(f.severity, f.severity)}{where} {f.cause}")
        hang(out, "    evidence: ", f.evidence)
        hang(out, "    fix:      ", f.fix)
    show_service(getattr(d, "service", None) or [])
    out.print(diagnosis_verdict(d), highlight=False)


def diagnosis_verdict(d: Any) -> str:
    """The last line of ``f5lab diagnose``: points at the warnings only when there are some, and
    says "as asked" only when a config was asked."""
    asked = getattr(d, "asked", None)
    under = f" under {escape(asked)}" if asked else ""
    if d.ok:
        warned = any(f.severity == "warning" for f in d.findings)
        return f"[green]verdict: loads{under}[/green]" + (" (see the warnings above)" if warned else "")
    return f"[red]verdict: does not load{under}[/red] (see the errors above)"


def show_service(snippets: list[dict[str, Any]]) -> None:
    """The f5-tts code that loads the checkpoint without f5lab, per config it loads under."""
    out = console()
    for s in snippets:
        first = " (after a remap)" if s["needs_remap"] else ""
        out.print(f"[bold]load it in f5-tts without f5lab[/bold] under {s['config']}{first}:", highlight=False)
        if s["needs_remap"]:
            out.print(f"  once, first: {s['remap_command']}", markup=False, highlight=False)
        for line in s["code"].rstrip().splitlines():
            out.print(f"  {line}", markup=False, highlight=False)


def show_plan(plan: Any, dry_run: bool = False) -> None:
    """A remap plan: what will be (or was) done, and the output's size."""
    out = console()
    out.print(f"[bold]remap plan[/bold] {plan.src} -> config {plan.config}, {len(plan.steps)} tensors, "
              f"{human_bytes(plan.output_bytes)}" + ("  (dry run: nothing written)" if dry_run else ""))
    for line in plan.changes or ["copy the weights unchanged (only the container is rewritten)"]:
        out.print(f"  - {line}")
    if plan.vocab and plan.vocab.added:
        out.print(f"  new tokens ({len(plan.vocab.added)}): {' '.join(plan.vocab.added[:40])}")
    if plan.vocab and plan.vocab.dropped:
        out.print(f"  dropped tokens ({len(plan.vocab.dropped)}): {' '.join(plan.vocab.dropped[:40])}")
    for note in plan.notes:
        out.print(f"[yellow]note:[/yellow] {note}")


def show_verification(v: Any) -> None:
    """Tensor equality and the forward-pass error, with the verdict."""
    out = console()
    out.print(f"[bold]verify[/bold] {v.src} -> {v.dst} under {v.config} ({v.config_reason}); stored dtype {v.dtype}")
    out.print(f"  tensors equal: {v.tensors_equal}/{v.tensors_checked}; max abs tensor error "
              f"{v.max_abs_tensor_error:.3g} (vs the source after the plan's cast)")
    for label, keys in (("mismatched", v.mismatched), ("missing in DST", v.missing), ("unexpected in DST", v.unexpected)):
        if keys:
            out.print(f"  [red]{label}[/red]: {', '.join(keys[:6])}" + (" ..." if len(keys) > 6 else ""))
    if v.shared_token_rows_total is not None:
        out.print(f"  shared tokens with bit-identical rows: {v.shared_token_rows}/{v.shared_token_rows_total}")
    if v.forward_max_abs_error is not None:
        out.print(f"  forward pass (seed {v.seed}): max abs error {v.forward_max_abs_error:.3g} over outputs up to "
                  f"{v.forward_max_abs_reference:.3g} ({_relative_error(v)}, tolerance {v.forward_tolerance:g})")
    if v.reason:
        out.print(f"  [red]{escape(v.reason)}[/red]")
    out.print("[green]verified: DST computes what SRC computes[/green]" if v.ok else "[red]NOT verified[/red]")


def _relative_error(v: Any) -> str:
    """The forward pass's relative error in words: never None/NaN on screen."""
    rel = v.forward_relative_error
    if rel is not None:
        return f"relative {rel:.3g}" + (": identical outputs" if v.forward_max_abs_error == 0 else "")
    if v.forward_max_abs_reference == 0:
        return "relative error undefined: SRC's output is all zeros and DST's is not"
    return "relative error undefined: an output is not finite"


def show_matrix(rows: list[Any], path: str) -> None:
    """Every installed config x one checkpoint."""
    out = console()
    table = Table(title=f"{path}: every installed config", title_justify="left")
    table.add_column("config")
    table.add_column("status")
    table.add_column("plan / reason")
    style = {"loads": "[green]loads[/green]", "loads after remap": "[yellow]loads after remap[/yellow]",
             "cannot": "[red]cannot[/red]"}
    for r in rows:
        detail = "; ".join(r.plan) if r.status == "loads after remap" else r.reason or "-"
        table.add_row(r.config, style.get(r.status, r.status), detail)
    out.print(table)
    notes = sorted({r.note for r in rows if r.note})
    for note in notes:
        out.print(f"[yellow]note:[/yellow] {note}")


# -- f5lab profile (memory) -----------------------------------------------------------------------------
def _plain(x: float) -> str:
    """3 significant digits without an exponent: 4921 s, not 4.92e+03."""
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def show_estimate(est: Any) -> None:
    """Every term of a memory estimate with its formula, then the phase peaks and the total."""
    out = console()
    s = est.settings
    t = Table(title=f"memory of one call: {s['seconds']:g} s + {s['ref_seconds']:g} s reference = {est.frames} frames, "
                    f"batch {s['batch']}, CFG {'on' if s['cfg'] else 'off'}, {s['dtype']}, {s['attn']} attention, "
                    f"NFE {s['nfe']}, {s['device']}", title_justify="left")
    t.add_column("group")
    t.add_column("term")
    t.add_column("MiB", justify="right")
    t.add_column("formula")
    for term in est.terms:
        t.add_row(term.group, term.name, f"{term.bytes / 2**20:.1f}", term.formula)
    out.print(t)
    phases = ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in est.phases.items())
    out.print(f"step phases: {phases} (peak: {est.peak_phase}); vocoder decode {est.vocoder_activation_bytes / 2**20:.1f} MiB")
    out.print(f"[bold]total {_gib(est.total_bytes)}[/bold] = resident {_gib(est.resident_bytes)} + sample state "
              f"{_gib(est.sample_state_bytes)} + max(step {_gib(est.step_peak_bytes)}, vocoder "
              f"{_gib(est.vocoder_activation_bytes)})")


def show_verdicts(runs: list[Any]) -> None:
    """The table of ``f5lab profile``: one row per GPU (runs, kernels, memory, speed), then each
    card's sentence when it does not run, its fixes and caveats."""
    out = console()
    if not runs:
        return
    s = runs[0].memory.settings
    t = Table(title=f"{s['seconds']:g} s per call (+ {s.get('ref_seconds') or 0:g} s reference), batch {s['batch']}, "
                    f"CFG {'on' if s['cfg'] else 'off'}, NFE {s['nfe']}, vocoder {s['vocoder']}; torch "
                    f"{runs[0].build.label}", title_justify="left")
    for col, just in (("GPU", "left"), ("runs", "left"), ("kernels", "left"), ("dtype, attention", "left"),
                      ("needs / usable", "right"), ("longest (s)", "right"), ("s/call", "right"), ("RTF", "right")):
        t.add_column(col, justify=just)
    colour = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "[yellow]?[/yellow]"}
    for r in runs:
        v = r.memory
        t.add_row(f"{v.gpu.name} ({v.gpu.cc_str})", colour[r.runs], colour[r.kernels.ok],
                  f"{v.settings['dtype']}, {v.settings['attn']}",
                  f"{v.total_bytes / 2**30:.2f} / {v.budget_bytes / 2**30:.2f} GiB" + ("" if v.fits else " [red]no[/red]"),
                  f"{v.max_seconds:g}" + ("*" if v.limited_by != "memory" else ""),
                  _plain(r.speed.seconds_per_call) if r.speed else "-", _plain(r.speed.rtf) if r.speed else "-")
    out.print(t)
    for r in runs:
        if r.runs is not True:
            hang(out, f"{r.line.split(' ', 1)[0]} ", r.text)
        for fix in r.memory.fixes:
            hang(out, f"{r.gpu.name} fix: ", fix)
        for cav in r.memory.caveats:
            hang(out, f"{r.gpu.name}: ", cav)
    out.print("s/call, RTF: predicted (docs/memory.md: the speed model and how far it lands from published figures)")
    if any(r.memory.limited_by != "memory" for r in runs):
        out.print("* longest call limited by f5-tts's 8192-frame cap (87.4 s less the reference), not by memory")


def show_knobs(rows: list[dict[str, Any]]) -> None:
    """The knob table: each setting's effect on peak memory and time per call against the default."""
    from f5lab.hardware.knobs import knob_rows_for_display

    out = console()
    shown = knob_rows_for_display(rows)
    t = Table(title=f"what each knob costs ({rows[0]['note']}; one change at a time against the default)",
              title_justify="left")
    cols = [c for c in shown[0] if c != "note"]
    for col in cols:
        t.add_column(col, justify="right" if col in ("peak memory", "time per call") else "left")
    for row in shown:
        t.add_row(*(escape(str(row[c])) for c in cols))
    out.print(t)
    hang(out, "default: ", rows[0]["setting"])
    for row in shown[1:]:
        hang(out, f"{row['knob']}: ", row["note"])


def show_speed_check(row: dict[str, Any]) -> None:
    """``profile --measure cpu``: predicted against measured sampling seconds, with the ratio."""
    console().print(f"sampling time on this CPU ({row['seconds']:g} s, NFE {row['nfe']}): predicted "
                    f"{row['predicted_s']:.3g} s, measured {row['measured_s']:.3g} s, predicted/measured "
                    f"{row['ratio']:.2f} (calibrated right before and after the call)", highlight=False)


def _torch_line(build: dict[str, Any]) -> str:
    from f5lab.hardware.stack import TorchBuild

    fields = {k: v for k, v in build.items() if k not in ("label",)}
    fields.update(sass=tuple(fields["sass"]), ptx=tuple(fields["ptx"]))
    return TorchBuild(**fields).describe()


def show_doctor(report: dict[str, Any], runs: list[Any]) -> None:
    """``f5lab doctor``: the stack, then one line per target with its rule, fp16 class, attention and fix."""
    out = console()
    st = report["stack"]
    installed = st["torch"]
    hang(out, "installed   ", f"{_torch_line(installed)}")
    hang(out, "arch list   ", report["arch_check"])
    if installed.get("note") and installed["kind"] in ("unknown", "none"):
        hang(out, "            ", installed["note"])
    if report["judged"]["origin"] == "named":
        hang(out, "judged      ", f"{report['judged_line']} (--torch; arch list from f5lab's table: "
                                  f"{report['judged']['source'] or 'none'})")
    match = {True: "matches torch", False: "does NOT match torch: install the same version and build", None: ""}
    hang(out, "torchaudio  ", f"{st['torchaudio'] or 'not installed'} {match[st['torchaudio_matches']]}".rstrip())
    hang(out, "f5-tts      ", st["f5_tts"] or "not installed")
    gpus = st["gpus"]
    hang(out, "GPUs        ", "; ".join(f"{g['name']} (cc {g['cc']}, {_gib(g['total_bytes'])}, driver "
                                        f"{g['driver'] or 'unknown'}, via {g['via']})" for g in gpus)
         or "none found (no nvidia-smi answer, and torch.cuda sees none)")
    out.print(f"targets ({report['workload']}):", highlight=False)
    for r in runs:
        hang(out, f"  {r.line.split(' ', 1)[0]} ", r.text)
        hang(out, "      kernels: ", r.kernels.rule)
        if r.driver.ok is not None or gpus:
            hang(out, "      driver: ", r.driver.rule)
        fp16 = {"fast": "fast", "slow": "slow: 1/64 of fp32 (f5-tts picks fp32 here)",
                "NaN reports": "NaN / silent-audio reports (F5-TTS #204, #799)"}[r.fp16]
        hang(out, "      fp16: ", fp16)
        hang(out, "      attention kernels: ", ", ".join(r.gpu.attention_backends(r.memory.settings["dtype"])))
        if r.fix:
            hang(out, "      fix: ", f"`{r.fix.command}` ({r.fix.why})")


def show_sweep(data: dict[str, Any]) -> None:
    """Peak memory (GiB) per dtype against seconds, as a table."""
    out = console()
    t = Table(title=f"estimated peak vs audio seconds ({data['settings']['attn']} attention)", title_justify="left")
    t.add_column("seconds", justify="right")
    for dt in data["series"]:
        t.add_column(f"{dt} GiB", justify="right")
    for i, sec in enumerate(data["seconds"]):
        t.add_row(f"{sec:g}", *(f"{ys[i] / 2**30:.2f}" for ys in data["series"].values()))
    out.print(t)


def show_measurement(row: dict[str, Any]) -> None:
    """Estimate and measurement side by side (``f5lab.hardware.memory.compare``)."""
    out = console()
    t = Table(title="estimate vs measured", title_justify="left")
    t.add_column("quantity")
    t.add_column("estimate", justify="right")
    t.add_column("measured", justify="right")
    t.add_column("error", justify="right")
    t.add_row("activation peak", human_bytes(row["estimated_activation_bytes"]),
              human_bytes(row["measured_activation_bytes"]), f"{100 * row['activation_rel_error']:+.1f}%")
    t.add_row("weights + buffers", human_bytes(row["estimated_weights_bytes"]), human_bytes(row["measured_weights_bytes"]),
              "exact" if row["estimated_weights_bytes"] == row["measured_weights_bytes"] else "differs")
    if "measured_max_allocated_bytes" in row:
        t.add_row("CUDA max allocated", human_bytes(row["estimated_allocated_bytes"]),
                  human_bytes(row["measured_max_allocated_bytes"]), f"{100 * row['allocated_rel_error']:+.1f}%")
        t.add_row("CUDA max reserved", "", human_bytes(row["measured_max_reserved_bytes"]), "")
    if "rss_peak_delta_bytes" in row:
        t.add_row("peak RSS growth", "", human_bytes(row["rss_peak_delta_bytes"]), "")
    out.print(t)


# -- hear: synthesis, probe, compare ----------------------------------------------------------
def show_synth(rec: dict[str, Any]) -> None:
    """The human form of ``f5lab synth``: what was made, how long it took, where it went."""
    out = console()
    a, t, s, m = rec["audio"], rec["timings"], rec["settings"], rec["model"]
    out.print(f"[bold]{a['seconds']:.2f} s[/bold] of audio at {a['sample_rate']} Hz from "
              f"{len(rec['text']['chunks'])} chunk(s); vocoder: {rec['vocoder']['label']}")
    reason = f": {m['config_reason']}" if m.get("config_reason") else ""
    out.print(f"model: {m.get('path') or 'in memory'} ({m.get('config') or '?'}{reason}; {m['backbone']}, "
              f"{human_count(m['parameters'])} params, {m['dtype']} on {m['device']})")
    if m.get("probe"):
        p = m["probe"]
        out.print(f"config chosen by probe: {p['best']} (margin {p['margin']}, wins {p['wins']}/{p['n_samples']})")
    out.print(f"settings: nfe {s['nfe']}, cfg {s['cfg_strength']}, sway {s['sway']}, speed {s['speed']}, "
              f"seed {s['seed']}" + (f", duration {s['duration']} s" if s.get("duration") else ""))
    txt = rec["text"]
    if txt.get("normalized") and txt.get("gen_text_raw") != txt["gen_text"]:
        hang(out, f"text ({txt['lang']}, normalised): ", txt["gen_text"])
    table = Table("timing", "value")
    if t.get("model_load_s") is not None:
        table.add_row("model load", f"{t['model_load_s']:.2f} s")
    table.add_row("prepare (reference, text, vocoder)", f"{t['prepare_s']:.2f} s")
    table.add_row(f"sampling ({t['steps']} steps)", f"{t['sample_s']:.2f} s")
    if t.get("step_mean_s") is not None:
        table.add_row("per step (mean)", f"{t['step_mean_s'] * 1000:.1f} ms")
    table.add_row("vocoder", f"{t['vocoder_s']:.2f} s")
    table.add_row("synthesis total", f"{t['synth_s']:.2f} s")
    table.add_row("real-time factor", f"{t['rtf']:.3f}" if t.get("rtf") is not None else "-")
    out.print(table)
    for u in rec["text"]["unknown_chars"]:
        out.print(f"[yellow]not in vocabulary[/yellow] {u['char']!r} ({u['name']}) in {u['where']} at {u['positions']}")
    for name, path in rec.get("files", {}).items():
        out.print(f"{name:8s} {path}")


def show_probe(r: Any) -> None:
    """The human form of ``f5lab probe``: candidates by loss, and how clearly the best wins."""
    out = console()
    table = Table("config", "flow-matching loss", "std", title=f"{r.path} on {r.ref_seconds:.1f} s of reference")
    for i, c in enumerate(r.ranking):
        table.add_row(("[bold]" if i == 0 else "") + c.config, f"{c.loss_mean:.4f}", f"{c.loss_std:.4f}")
    out.print(table)
    if len(r.ranking) > 1:
        verdict = ("[green]confident[/green]" if r.confident else "[yellow]not conclusive[/yellow] (a margin "
                   "under 5% is what an untrained or random checkpoint shows)")
        out.print(f"best: [bold]{r.best}[/bold]; margin {r.margin:.4f} ({100 * (r.relative_margin or 0):.1f}% of "
                  f"its loss), lower on {r.wins}/{r.n_samples} paired samples: {verdict}")
        if r.confident:
            out.print(f"use it: --config {r.best} (synth, report, sweep); in Python "
                      f"f5lab.load_model(path, config={r.best!r})", markup=False, highlight=False)
        else:  # a lean under the bar is not an answer: say where one comes from
            out.print(f"no verdict to use: f5lab lineage {r.path} --base BASE decides it from the weights "
                      f"(BASE: the checkpoint you fine-tuned from); else name --config yourself "
                      f"(the loss leans to {r.best}, under the bar)", markup=False, highlight=False)
    else:
        out.print(f"only {r.best} was probed: nothing to compare it with", markup=False, highlight=False)


def show_compare(d: dict[str, Any], a: str = "A", b: str = "B") -> None:
    """The human form of ``f5lab compare``: only what changed."""
    out = console()
    table = Table("what", f"A ({a})", f"B ({b})")
    for section in ("settings", "model", "vocoder", "text", "reference", "versions"):
        for row in d.get(section, []):
            table.add_row(f"{section}.{row['key']}", str(row["a"]), str(row["b"]))
    out.print(table if table.row_count else "settings, model, vocoder, text and versions: identical")
    out.print(f"audio: {'bit-identical' if d['audio']['identical'] else 'different'}; seconds "
              f"{d['audio']['seconds']['a']} -> {d['audio']['seconds']['b']}")
    times = Table("timing", "A", "B", "B / A")
    for k, v in d.get("timings", {}).items():
        times.add_row(k, str(v["a"]), str(v["b"]), f"{v['ratio']:.3f}" if v.get("ratio") is not None else "-")
    out.print(times)
    if d.get("mel_distance"):
        md = d["mel_distance"]
        out.print(f"mel distance: L1 {md['mel_l1']:.4f}, MCD {md['mcd_db']:.2f} dB over {md['frames_compared']} frames")
    for k, v in d.get("metrics", {}).items():
        out.print(f"metric {k}: {v['a']} -> {v['b']}")


def show_lineage(lin: Any) -> None:
    """The human form of ``f5lab lineage``: the bases compared, the verdict, the drift per block, the flags."""
    from f5lab.compat.lineage import base_name, flag_lines

    out = console()
    source = "the file's top level" if lin.source == "<root>" else lin.source
    out.print(f"[bold]{escape(lin.path)}[/bold]  weights compared: {escape(source)}")
    if lin.searched:
        hang(out, "bases: ", f"f5-tts's checkpoints in the local Hugging Face cache ({', '.join(lin.searched)})")
    if lin.bases:
        t = Table(title="distance to each base (relative, 0 = same weights, 1.41 = unrelated)", title_justify="left")
        for col, just in (("base", "left"), ("config", "left"), ("distance", "right"), ("cosine", "right"),
                          ("unchanged tensors", "right")):
            t.add_column(col, justify=just)
        for b in lin.bases:
            t.add_row(escape(b.name), escape(b.config or f"? ({b.config_source})"), _num(b.distance),
                      _num(b.cosine, 4), f"{b.unchanged}/{b.tensors}")
        out.print(t)
    for p in lin.pairs:
        hang(out, "bases apart: ", f"{base_name(p['a'])} / {base_name(p['b'])}: {_num(p['distance'])}")
    hang(out, "verdict: ", lin.text + (f" (margin {lin.margin:.2f})" if lin.margin is not None else "")
         + f"; the bar: distance <= {lin.max_distance:g}" + (f", margin >= {lin.min_margin:g}" if lin.margin is not None
                                                              else ""))
    near = lin.nearest
    if near is not None and near.blocks:
        t = Table(title=f"what changed, per block (against {near.name})", title_justify="left")
        for col in ("block", "distance", "cosine", "tensors", "unchanged"):
            t.add_column(col, justify="left" if col == "block" else "right")
        for row in near.blocks:
            t.add_row(row["block"], _num(row["distance"]), _num(row["cosine"], 4), str(row["tensors"]),
                      str(row["unchanged"]))
        out.print(t)
        if near.raw is not None:
            hang(out, "raw weights: ", f"distance {_num(near.raw['distance'])} to {near.name} (the EMA weights: "
                 f"{_num(near.distance)}; EMA to raw: {_num(lin.flags.get('ema_raw_distance'))})")
    for line in flag_lines(lin):
        hang(out, "flag: ", line)
    for s in lin.skipped:
        hang(out, "skipped: ", f"{s['path']}: {s['reason']}")
    for n in lin.notes:
        hang(out, "note: ", n)


def _num(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    return "0" if x == 0 else f"{x:.{digits}g}" if digits == 2 else f"{x:.{digits}f}"
# -- text: what f5-tts will see -----------------------------------------------------------------------
def show_text(r: Any) -> None:
    """The human form of ``f5lab text``: the text as the model gets it, its unknown characters,
    the chunks with their seconds, and the advice."""
    from f5lab.speech.text.analysis import describe_unknown

    out = console()
    how = "normalised" if r.normalize else "as written (--no-normalize)"
    out.print(f"[bold]{r.lang}[/bold], {how}; vocab: {r.vocab} ({r.vocab_tokens} tokens)", highlight=False)
    hang(out, "  written:    ", r.raw)
    hang(out, "  model gets: ", r.normalized)
    lines = describe_unknown(r.unknown)
    out.print("characters the vocab lacks:" + ("" if lines else " none"), markup=False)
    for line in lines:
        hang(out, "  ", line)
    ref = r.reference
    where = "f5-tts's example clip" if ref["default"] else ref["source"]
    out.print(f"reference: {where}, {ref['seconds']:.2f} s ({ref['frames']} frames); chunks of at most "
              f"{r.max_chars} bytes", markup=False, highlight=False)
    table = Table("#", "bytes", "speed", "seconds", "text")
    for i, c in enumerate(r.chunks, 1):
        speed = f"[yellow]{c.speed:g} (slowed)[/yellow]" if c.slowed else f"{c.speed:g}"
        table.add_row(str(i), str(c.bytes), speed, f"{c.seconds:.2f}", escape(c.text))
    out.print(table)
    out.print(f"{r.seconds:.2f} s of speech in {len(r.chunks)} chunk(s)", highlight=False)
    marks = {True: "ok ", False: "NO ", None: " - "}
    for a in r.advice:
        hang(out, f"  [{marks[a['ok']]}] {a['rule']:<12} ", a["text"])

"""Will it run: ``doctor`` (the torch stack against GPUs) and ``profile`` (memory, speed and knobs of
one call), with their terminal views."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from f5lab.cli.main import friendly_errors, main, print_json
from f5lab.cli.options import nfe_option
from f5lab.cli.params import ConfigRef, OutFile, Real, ranged
from f5lab.cli.terminal import console, hang, echo
from f5lab.units import human_bytes


# -- will it run: the stack, memory, speed (issue 17) ----------------------------------------------
TORCH_HELP = ("Judge this torch build instead of the installed one, e.g. 2.6.0+cu124 or 2.8.0+cu128 (the user's "
              "Docker image); from f5lab's table of PyTorch's published builds, 2.4 to 2.15. A nightly or NGC version "
              "string is judged an unknown build.")


@main.command()
@click.option("--gpu", "gpus", multiple=True, help="Target GPU (repeatable; default: the GPUs present, else the "
              "whole catalogue). E.g. --gpu 'GTX 1050 Ti' --gpu T4.")
@click.option("--torch", "torch_spec", default=None, metavar="VERSION+BUILD", help=TORCH_HELP)
@click.option("--inference/--no-inference", default=True, show_default=True,
              help="Also check what inference needs here beyond pip: torchcodec paired with torch and FFmpeg's "
                   "shared libraries (--no-inference: judge the GPUs only, e.g. for another machine's --torch).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def doctor(gpus: tuple[str, ...], torch_spec: str | None, inference: bool, as_json: bool) -> None:
    """Will F5-TTS run on these GPUs under this torch? Needs no GPU.

    Reports torch (version, CUDA / ROCm / CPU build, compiled SASS sm_XY and PTX compute_XY),
    torchaudio (and whether it matches torch), f5-tts, and the GPUs present with their driver
    (nvidia-smi, else torch.cuda). For each target: kernels yes/no with the rule that decides it
    (SASS sm_X.y runs on cc X.z with z >= y; PTX compute_X.y JIT-compiles on cc >= X.y), the driver
    minimum of the build's CUDA, fp16 (fast, slow, NaN reports), the attention kernels, memory and
    speed for F5TTS_Base at 10 s per call, and the install line that fixes missing kernels, with the
    driver it needs. Also what inference needs here beyond pip: torchcodec paired with torch and
    FFmpeg's shared libraries (without them torchaudio.load, F5TTS.infer and f5-tts_infer-cli fail).
    Exit 0 when every target runs and inference can read audio, 1 when not (or a target cannot be
    judged), 2 bad input.

    \b
    Examples:
      f5lab doctor --gpu "GTX 1050 Ti"                   # PyPI's torch 2.11 (cu130) has no sm_61
      f5lab doctor --torch 2.14.0+cu126 --gpu "GTX 1050 Ti"      # the last torch with sm_61 kernels
      f5lab doctor --torch 2.6.0+cu124 --gpu "GTX 1050 Ti" --json
    """
    from f5lab.hardware.doctor import doctor as run_doctor

    result = run_doctor(gpus, torch_spec, audio=inference)
    if as_json:
        print_json(result.to_dict())
    else:
        show_doctor(result.to_dict(), result.runs)
    if not result.ok:
        sys.exit(1)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--gpu", "gpus", multiple=True, help="GPU name (repeatable; default: the whole catalogue). "
              "E.g. --gpu 'GTX 1050 Ti' --gpu T4. An unknown name lists the known ones.")
@click.option("--torch", "torch_spec", default=None, metavar="VERSION+BUILD", help=TORCH_HELP)
@click.option("--dtype", type=click.Choice(["auto", "fp32", "fp16", "bf16"]), default="auto", show_default=True,
              help="auto: what f5-tts picks on each card (fp16 from compute capability 7.0, else fp32).")
@click.option("--seconds", type=ranged("duration"), default=10.0, show_default=True,
              help="Audio generated per call (one chunk).")
@click.option("--ref-seconds", type=Real(0, 60), default=0.0, show_default=True,
              help="Reference clip in the same sequence (f5-tts clips it to ~12 s).")
@click.option("--batch", type=ranged("batch"), default=1, show_default=True, help="Texts per call.")
@click.option("--no-cfg", is_flag=True, help="Classifier-free guidance off (f5-tts doubles the batch with it).")
@click.option("--attn", type=click.Choice(["auto", "math", "efficient", "flash"]), default="auto", show_default=True,
              help="SDPA kernel; auto = what PyTorch picks on the card; math materialises heads x N x N scores.")
@nfe_option("ODE steps (f5-tts default 32).")
@click.option("--vocoder", type=click.Choice(["vocos", "bigvgan", "none"]), default="vocos", show_default=True)
@click.option("--terms", is_flag=True, help="Also print every term of the estimate (first GPU's settings).")
@click.option("--sweep", is_flag=True, help="Print peak memory vs seconds (5-60 s) for fp32 and fp16 "
              "(math attention unless --attn names another: the worst case).")
@click.option("--plot", type=OutFile(suffixes=(".png",)),
              help="Save the first GPU's figure as PNG (implies --sweep): peak vs seconds on the attention "
              "path that card uses (math dashed where it would be forced), its usable budget and f5-tts's "
              "frame cap: the report's figure, computed by the function the verdict uses.")
@click.option("--measure", type=click.Choice(["cpu", "cuda"]), help="Also run one real call (loads the weights; "
              "CPU uses the profiler) and compare its memory; on the CPU also its sampling time against the "
              "prediction. Use --nfe 1 to keep it short: the step peak is the same.")
@click.option("--config", type=ConfigRef(), help="Config for --measure when several match: a name or a YAML path.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--force", is_flag=True, help="With --plot: replace an existing file (once the new one is complete).")
@friendly_errors
def profile(path: str, gpus: tuple[str, ...], torch_spec: str | None, dtype: str, seconds: float, ref_seconds: float,
            batch: int, no_cfg: bool, attn: str, nfe: int, vocoder: str, terms: bool, sweep: bool, plot: str | None,
            measure: str | None, config: str | None, as_json: bool, force: bool) -> None:
    """Will one inference call of checkpoint PATH run on each GPU, how fast, and what each knob costs.

    Works from the checkpoint's shapes alone (no weights loaded): weights by dtype, vocoder,
    CUDA context, ODE state, and the activation peak of one ODE step (CFG doubles the batch;
    the math attention path holds heads x N x N scores). For each GPU: runs or not (kernels of
    the installed or --torch build, and memory), the longest audio per call that fits, predicted
    seconds per call and real-time factor, settings that would make it fit, caveats; then the
    first GPU's knob table (NFE, dtype, seconds per chunk, batch, CFG, attention kernel).
    Every GPU figure is predicted; under the table each model's checked error is stated. For a
    text, --seconds is its longest chunk and --ref-seconds the reference as f5-tts clips it (what
    `f5lab text --ref-audio ... --json` prints, and what `f5lab report` judges with the same
    --nfe, --dtype and --batch).

    \b
    Example: will a 4 GB Pascal card (GTX 1050 Ti) run it in fp16, 10 s per chunk?
      f5lab profile model.safetensors --gpu "GTX 1050 Ti" --dtype fp16 --seconds 10
      f5lab profile model.safetensors --gpu "GTX 1050 Ti" --torch 2.6.0+cu124
      f5lab profile model.safetensors --sweep --plot peak.png
    """
    from f5lab.hardware.profiling import profile as run_profile

    if plot:  # a plot is of the sweep: asking for one asks for the sweep (PLOT was claimed already)
        sweep = True
    if measure:
        from f5lab.hardware.devices import check_device

        check_device(measure, "--measure")
    prof = run_profile(path, gpus=gpus, dtype=dtype, seconds=seconds, ref_seconds=ref_seconds, batch=batch,
                       cfg=not no_cfg, attn=attn, nfe=nfe, vocoder=vocoder, with_sweep=sweep, plot=plot,
                       measure_on=measure, config=config, torch=torch_spec, force=force)
    if as_json:
        print_json(prof.to_dict())
        return

    if terms:
        show_estimate(prof.estimate)
    show_verdicts(prof.runs)
    show_knobs(prof.knobs)
    if prof.sweep:
        show_sweep(prof.sweep)
        if plot:
            echo(f"wrote {plot}")
    if prof.comparison:
        show_measurement({**prof.comparison, "device": prof.measurement.device})
    if prof.speed_check:
        show_speed_check(prof.speed_check)


# -- views ------------------------------------------------------------------------------------------
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
    t.add_column("group", overflow="fold")
    t.add_column("term", overflow="fold")
    t.add_column("MiB", justify="right", overflow="fold")
    t.add_column("formula", overflow="fold")
    for term in est.terms:
        t.add_row(term.group, term.name, f"{term.bytes / 2**20:.1f}", term.formula)
    print_table(out, t)
    phases = ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in est.phases.items())
    out.print(f"step phases: {phases} (peak: {est.peak_phase}); vocoder decode {est.vocoder_activation_bytes / 2**20:.1f} MiB")
    out.print(f"[bold]total {_gib(est.total_bytes)}[/bold] = resident {_gib(est.resident_bytes)} + sample state "
              f"{_gib(est.sample_state_bytes)} + max(step {_gib(est.step_peak_bytes)}, vocoder "
              f"{_gib(est.vocoder_activation_bytes)})")


def print_table(out: Any, table: Any) -> None:
    """A table at its natural width when the output is piped or redirected (a file or a pager has
    no edge to fit: no word is cut or folded); on a terminal, at the terminal's width, wrapping at
    spaces and folding only a word longer than its column."""
    if out.is_terminal:
        out.print(table)
        return
    from rich.measure import Measurement

    natural = Measurement.get(out, out.options.update(width=10_000), table).maximum
    width = out.width
    out.width = max(width, natural)
    try:
        out.print(table)
    finally:
        out.width = width


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
        t.add_column(col, justify=just, overflow="fold")
    colour = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "[yellow]?[/yellow]"}
    for r in runs:
        v = r.memory
        t.add_row(f"{v.gpu.name} ({v.gpu.cc_str})", colour[r.runs], colour[r.kernels.ok],
                  f"{v.settings['dtype']}, {v.settings['attn']}",
                  f"{v.total_bytes / 2**30:.2f} / {v.budget_bytes / 2**30:.2f} GiB" + ("" if v.fits else " [red]no[/red]"),
                  f"{v.max_seconds:g}" + ("*" if v.limited_by != "memory" else ""),
                  _plain(r.speed.seconds_per_call) if r.speed else "-", _plain(r.speed.rtf) if r.speed else "-")
    print_table(out, t)
    for r in runs:
        if r.runs is not True:
            hang(out, f"{r.line.split(' ', 1)[0]} ", r.text)
        for fix in r.memory.fixes:
            hang(out, f"{r.gpu.name} fix: ", fix)
        for cav in r.memory.caveats:
            hang(out, f"{r.gpu.name}: ", cav)
    show_model_errors(out)
    if any(r.memory.limited_by != "memory" for r in runs):
        out.print("* longest call limited by f5-tts's 8192-frame cap (87.4 s less the reference), not by memory")


def show_model_errors(out: Any) -> None:
    """Where the verdicts' figures come from, once under a table: both models' checked errors on a GPU."""
    from f5lab.hardware.memory_verdicts import memory_model_error
    from f5lab.hardware.speed import speed_model_error

    hang(out, "predicted: ", "needs / usable, longest, s/call and RTF come from f5lab's memory estimate and speed "
                             "model (docs/memory.md), not from a run on the card")
    hang(out, "speed model error: ", speed_model_error("cuda"))
    hang(out, "memory estimate error: ", memory_model_error("cuda"))


def show_knobs(rows: list[dict[str, Any]]) -> None:
    """The knob table: each setting's effect on peak memory and time per call against the default."""
    from f5lab.hardware.knobs import knob_rows_for_display

    out = console()
    shown = knob_rows_for_display(rows)
    t = Table(title=f"what each knob costs ({rows[0]['note']}; one change at a time against the default; "
                    "memory and time predicted)",
              title_justify="left")
    cols = [c for c in shown[0] if c != "note"]
    for col in cols:
        t.add_column(col, justify="right" if col in ("peak memory", "time per call") else "left", overflow="fold")
    for row in shown:
        t.add_row(*(escape(str(row[c])) for c in cols))
    print_table(out, t)
    hang(out, "default: ", rows[0]["setting"])
    for row in shown[1:]:
        hang(out, f"{row['knob']}: ", row["note"])


def show_speed_check(row: dict[str, Any]) -> None:
    """``profile --measure cpu``: predicted against measured sampling seconds, with the ratio."""
    console().print(f"sampling time on this CPU ({row['seconds']:g} s, NFE {row['nfe']}): predicted "
                    f"{row['predicted_s']:.3g} s, measured {row['measured_s']:.3g} s (one real CFM.sample call "
                    f"here), predicted/measured {row['ratio']:.2f} (calibrated right before and after the call)",
                    highlight=False)


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
    mark = {True: "\u2713 ", False: "\u2717 ", None: ""}
    hang(out, "torchaudio  ", mark[report["torchaudio"]["matches"]] + report["torchaudio"]["line"])
    inf = report.get("inference")
    if inf:
        hang(out, "inference   ", mark[inf["ok"]] + inf["line"])
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
        fp16 = {"fast": "fast", "slow": "slow: no fast fp16 units (f5-tts picks fp32 here)",
                "fp32 speed": "about fp32 speed: fp16 stored, fp32 compute (native fp16 units 1/64 of fp32); "
                              "tensorflow#15585, 1080 Ti / Titan Xp reports; not measured on this card "
                              "(f5-tts picks fp32 here)",
                "NaN reports": "NaN / silent-audio reports (F5-TTS #204, #799)"}[r.fp16]
        hang(out, "      fp16: ", fp16)
        hang(out, "      attention kernels: ", ", ".join(r.gpu.attention_backends(r.memory.settings["dtype"])))
        if r.fix:
            hang(out, "      fix: ", f"`{r.fix.command}` ({r.fix.needs}; {r.fix.why})")
    show_model_errors(out)


def show_sweep(data: dict[str, Any]) -> None:
    """Peak memory (GiB) per dtype against seconds, as a table."""
    out = console()
    t = Table(title=f"estimated peak vs audio seconds ({data['settings']['attn']} attention)", title_justify="left")
    t.add_column("seconds", justify="right", overflow="fold")
    for dt in data["series"]:
        t.add_column(f"{dt} GiB", justify="right", overflow="fold")
    for i, sec in enumerate(data["seconds"]):
        t.add_row(f"{sec:g}", *(f"{ys[i] / 2**30:.2f}" for ys in data["series"].values()))
    print_table(out, t)


def show_measurement(row: dict[str, Any]) -> None:
    """Estimate and measurement side by side (``f5lab.hardware.memory.compare``)."""
    out = console()
    t = Table(title=f"estimate vs measured (the estimate predicted; measured: one real call on "
                    f"{row.get('device', 'this machine')})",
              title_justify="left")
    t.add_column("quantity", overflow="fold")
    t.add_column("estimate", justify="right", overflow="fold")
    t.add_column("measured", justify="right", overflow="fold")
    t.add_column("error", justify="right", overflow="fold")
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
    print_table(out, t)

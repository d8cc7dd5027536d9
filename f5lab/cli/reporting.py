"""Report: ``report`` (the notebooks into a run folder) and ``sweep`` (many points on Dask), with the
answer card's terminal view."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape

from f5lab.cli.main import friendly_errors, main
from f5lab.cli.options import (ASR_HELP, VOCODER_HELP, asr_options, configs_option, device_option, lang_options,
                               nfe_option, seed_option, spoken_text, text_options, vocab_option)
from f5lab.cli.params import ConfigRef, FolderName, OutDir, Text, VocoderDir, ranged
from f5lab.cli.terminal import console, hang, echo


# -- report ----------------------------------------------------------------------------
@main.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--config", type=ConfigRef(), default=None, help="Config to diagnose PATH against, e.g. the one your service "
              "used: a name or the path of a YAML in f5-tts's format. [default: none; the report says which "
              "config loads PATH; the built-in demo names E2TTS_Base]")
@click.option("--ref-audio", type=click.Path(dir_okay=False, path_type=str),
              help="Reference clip for synthesis and the probe. [default: f5-tts's basic_ref_en.wav]")
@click.option("--ref-text", type=Text(allow_empty=False), help="Transcript of --ref-audio (give both or neither).")
@text_options(help="Text to synthesise. [default: a short sentence in --lang]",
              file_help="Read the text to synthesise from a UTF-8 file.")
@lang_options()
@click.option("--gpu", default=None, help="GPU the verdicts (runs? memory, speed) are for. [default: none named: "
              "the GPU torch sees, if any; the built-in demo keeps its GTX 1050 Ti; else no GPU verdict]")
@click.option("--torch", "torch_spec", default=None, metavar="VERSION+BUILD", help="Judge the GPU under this torch "
              "build instead of the installed one, e.g. 2.6.0+cu124 (from f5lab's table of PyTorch's builds).")
@nfe_option("Flow-matching steps for synthesis and of the call the GPU verdict is for. [default: 32, f5-tts's own; "
            "the demo synthesises at 2 and 4 to stay quick on a CPU and judges the GPU at 32]", default=None)
@click.option("--dtype", type=click.Choice(["auto", "fp32", "fp16", "bf16"]), default="auto", show_default=True,
              help="dtype of the call the GPU verdict is for, as `f5lab profile --dtype` takes it; auto: what f5-tts "
                   "picks on the card (fp16 from compute capability 7.0, else fp32).")
@click.option("--batch", type=ranged("batch"), default=1, show_default=True,
              help="Texts per call, for the GPU verdict (as `f5lab profile --batch`).")
@vocab_option("vocab.txt of an extended-vocabulary fine-tune.")
@configs_option(default="auto")
@seed_option("Seed for synthesis and measurements.")
@asr_options()
@click.option("--vocoder", type=VocoderDir(), default=None, help=VOCODER_HELP)
@device_option("Where synthesis, the probe and the measurement run (cpu, as in every f5lab command; auto: the GPU "
               "if torch sees one). See docs/synthesis.md#devices.")
@click.option("--out", default="reports", show_default=True, type=OutDir(),
              help="Folder that receives <run-id>/.")
@click.option("--run-id", type=FolderName(), default=None,
              help="Name of the run folder (refused if taken). [default: UTC date-time, -2, -3... if taken]")
@click.option("--notebook", "notebooks", multiple=True, help="Run only this notebook (repeatable), "
              "e.g. --notebook 01_inspect.")
@click.option("--base", "bases", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="A base checkpoint PATH may descend from, for lineage (repeatable). [default: f5-tts's "
                   "checkpoints in the local Hugging Face cache]")
@click.option("--budget", type=ranged("budget"), default=None, metavar="MINUTES",
              help="Minutes the synthesis notebook may take: without --nfe the report picks the largest NFE (32, "
                   "16, 8) whose predicted time fits. [default: 3 on a CPU; no limit on a GPU]")
@click.option("--full-grid", is_flag=True, help="Render every config the shapes fit at --nfe (default 32), with no "
              "budget: what the default cuts on a CPU (the card says what was cut).")
@friendly_errors
def report(path: str | None, config: str | None, ref_audio: str | None, ref_text: str | None,
           gen_text: str | None, text_file: str | None, lang: str, normalize: bool, gpu: str | None,
           torch_spec: str | None, nfe: int | None, dtype: str, batch: int,
           vocab: str | None, configs: str, seed: int, asr: str, asr_model_dir: str | None, asr_language: str | None,
           vocoder: str | None, device: str, out: str, run_id: str | None, notebooks: tuple[str, ...],
           bases: tuple[str, ...], budget: float | None = None, full_grid: bool = False) -> None:
    """Run the report notebooks on checkpoint PATH into OUT/<run-id>/ (exit 1 if one fails).

    Executes notebooks/01_inspect, 02_compatibility, 03_memory and 04_synthesis with
    papermill, then writes their HTML, summary.json (every number shown, with units),
    manifest.json (versions, device, seeds, checkpoint sha256) and index.html.

    With PATH and no --config it says which config loads PATH (as stored or after a remap);
    --config names the one your service tried: the report says whether it loads PATH, why not. A
    checkpoint no shipped config builds gets a config from its shapes, written into the run
    folder and used by every notebook.

    Without PATH it runs the built-in demo: a full-scale F5TTS_Base checkpoint with
    random weights (built once, cached), diagnosed against E2TTS_Base (it loads as stored
    under F5TTS_Base, so nothing is remapped), profiled for the GTX 1050 Ti and synthesised
    (NFE 2 and 4) from f5-tts's shipped reference clip; its audio is noise, as random
    weights make. index.html opens with the answer; report.html is all of it in one file.

    \b
    Examples:
      f5lab report                                         # the demo, under 10 min on 2 CPU cores
      f5lab report model_last.safetensors                  # which config loads it, and the rest
      f5lab report model_last.safetensors --config E2TTS_Base \\
          --ref-audio me.wav --ref-text "What I say in me.wav." --gpu "GTX 1050 Ti"
      f5lab report model_last.safetensors --gpu "GTX 1050 Ti" --nfe 16 --dtype fp32 \\
          --ref-audio eu.wav --ref-text "O que digo." --lang pt-BR   # the GPU verdict for that very call
      f5lab report model_last.safetensors --lang pt-BR --ref-audio eu.wav --ref-text "O que digo." \\
          --vocoder vocos-mel-24khz/ --asr faster-whisper --asr-model-dir whisper-small-ct2/
    """
    from f5lab.reporting.reports import run_report

    result = run_report(path, config=config, ref_audio=ref_audio, ref_text=ref_text,
                        gen_text=spoken_text(gen_text, text_file), gpu=gpu, out=out, run_id=run_id, configs=configs, vocab=vocab, nfe=nfe, seed=seed,
                        asr=None if asr == "none" else asr, device=device, notebooks=list(notebooks) or None,
                        lang=lang, normalize=normalize, vocoder=vocoder, asr_model_dir=asr_model_dir,
                        asr_language=asr_language, bases=list(bases) or None, torch_build=torch_spec,
                        budget=budget, full_grid=full_grid, echo=echo, dtype=dtype, batch=batch)
    show_times(result)

    show_answer(result.summary["answer"])
    echo(f"report: {result.index}")
    if not result.ok:
        echo(f"f5lab: {len(result.failed)} notebook(s) failed: {', '.join(result.failed)}", err=True)
        sys.exit(1)


# -- sweep ----------------------------------------------------------------------------
@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--ref-audio", type=click.Path(dir_okay=False, path_type=str),
              help="Reference clip for synthesis and speaker similarity. [default: f5-tts's basic_ref_en.wav]")
@click.option("--ref-text", type=Text(allow_empty=False), help="Transcript of --ref-audio (give both or neither).")
@text_options(help="Text to synthesise (repeatable: a grid axis).", multiple=True,
              file_help="Read a text to synthesise from a UTF-8 file (repeatable: the grid axis of --text).")
@click.option("--val-audio", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="Held-out clip for the validation loss (repeatable). [default: the reference clip]")
@click.option("--val-text", multiple=True, type=Text(allow_empty=False), help="Transcript of each --val-audio, in order.")
@click.option("--config", type=ConfigRef(), multiple=True, help="Config the checkpoints were trained under (repeatable: an axis). "
              "[default: one config for every point, decided once: the shapes, else lineage (--base), else the "
              "behavioural probe when it clears its 5% bar; else the sweep asks for --config]")
@nfe_option("Flow-matching steps (repeatable: an axis). [default: 32]", default=None, multiple=True)
@click.option("--dtype", multiple=True, type=click.Choice(["fp32", "fp16", "bf16"]),
              help="Weights dtype for synthesis (repeatable: an axis). [default: fp32]")
@device_option("Where a point runs (repeatable: an axis); cuda points ask Dask for a GPU; auto: cuda when this "
               "machine's torch sees one. [default: cpu]", multiple=True)
@configs_option(default=None)
@click.option("--loss-samples", type=ranged("samples"), default=None,
              help="Paired noise/time samples per held-out clip. [default: 4]")
@asr_options(default=None, help=ASR_HELP + " [default: auto]")
@lang_options(default=None)
@click.option("--vocoder", type=VocoderDir(), default=None, help=VOCODER_HELP)
@seed_option("Seed of noise, times and synthesis. [default: 0]", default=None)
@click.option("--workers", type=ranged("workers"), default=2, show_default=True,
              help="Local Dask worker processes (1 thread each).")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 "
              "(workers must see the --out folder).")
@click.option("--notebook", "notebooks", multiple=True, help="Point notebook to run (repeatable). "
              "[default: sweep_point; 01_inspect / 03_memory run once per architecture]")
@click.option("--out", default="reports", show_default=True, type=OutDir(),
              help="Folder that receives <sweep-id>/.")
@click.option("--sweep-id", type=FolderName(), default=None, help="Name of the sweep folder. [default: <name>-<hash of the "
              "points>, so re-running the same sweep resumes it]")
@click.option("--no-compare", is_flag=True, help="Skip the 05_sweep comparison notebook.")
@click.option("--base", "bases", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="A base checkpoint the run was fine-tuned from, for lineage to decide the config (repeatable). "
                   "[default: f5-tts's checkpoints in the local Hugging Face cache]")
@friendly_errors
def sweep(sources: tuple[str, ...], ref_audio: str | None, ref_text: str | None, gen_text: tuple[str, ...],
          text_file: tuple[str, ...], val_audio: tuple[str, ...], val_text: tuple[str, ...], config: tuple[str, ...], nfe: tuple[int, ...],
          dtype: tuple[str, ...], device: tuple[str, ...], configs: str | None, loss_samples: int | None, asr: str,
          asr_model_dir: str | None, asr_language: str | None, lang: str | None, normalize: bool | None,
          vocoder: str | None, seed: int | None, workers: int, scheduler: str | None, notebooks: tuple[str, ...],
          out: str, sweep_id: str | None, no_compare: bool, bases: tuple[str, ...]) -> None:
    """Compare checkpoints and settings: SOURCES are checkpoints, folders, globs or one sweep.yaml.

    Every checkpoint x --config x --nfe x --dtype x --device x --text is a point; each
    point runs in its own Jupyter kernel on Dask (a local cluster of --workers processes, or
    --scheduler) into OUT/<sweep-id>/<point-id>/. Re-running the same sweep skips the points
    already done with the same inputs; Ctrl-C keeps finished points. Exit 1 if a point failed
    or is missing, 130 when interrupted.

    Without --config every point runs under one config, decided once before any point runs:
    the only config the shapes fit, else lineage (against --base), else the behavioural probe
    on the last checkpoint when it clears its 5% bar; else the sweep stops (exit 2) and asks for
    --config. index.html says how, and plays each rendering beside the reference, the previous
    checkpoint's and the best one's.

    \b
    Examples:
      f5lab sweep runs/my_finetune/ --config F5TTS_v1_Base --ref-audio clip.wav \\
          --ref-text "What I say in clip.wav." --val-audio held.wav --val-text "..." --workers 2
      f5lab sweep model_last.pt --nfe 8 --nfe 16 --nfe 32 --dtype fp32 --dtype fp16 --device cuda
      f5lab sweep sweep.yaml --scheduler tcp://login-node:8786
    """
    from f5lab.hardware.devices import resolve_device
    from f5lab.reporting.sweep import run_sweep
    from f5lab.reporting.sweepspec import spec_from_options

    # --seed and --loss-samples are in range already (their click types come from f5lab.settings.RANGES)
    spec = spec_from_options(list(sources), ref_audio=ref_audio, ref_text=ref_text,
                             gen_text=spoken_text(gen_text, text_file), val_audio=val_audio, val_text=val_text,
                             config=config, nfe=nfe, dtype=dtype, device=tuple(resolve_device(d) for d in device),
                             configs=configs, loss_samples=loss_samples,
                             asr=asr, seed=seed, lang=lang, normalize=normalize, vocoder=vocoder,
                             asr_model_dir=asr_model_dir, asr_language=asr_language, bases=list(bases) or None)
    result = run_sweep(spec, out=out, sweep_id=sweep_id, workers=workers, scheduler=scheduler,
                       notebooks=list(notebooks) or None, compare=not no_compare, echo=echo)
    from f5lab.reporting.comparison import tie_text

    for b in result.summary["best"].values():
        value = f"{b['value'] / 2**20:.1f} MiB" if b["unit"] == "bytes" else f"{b['value']:.4g} {b['unit']}"
        echo(f"  best {b['label']:26s} {b['point']}  ({value})")
    for key, t in result.summary.get("tied", {}).items():
        echo(f"  no best {t['label']}: {tie_text(key, t)}")
    echo(f"sweep: {result.index}")
    if result.interrupted:
        import signal

        name = signal.Signals(result.interrupted).name
        echo(f"f5lab: interrupted by {name}; finished points are kept, re-run the same command to resume",
                   err=True)
        sys.exit(128 + result.interrupted)
    if not result.ok:
        s = result.summary
        echo(f"f5lab: failed: {', '.join(s['failed']) or 'none'}; missing: {', '.join(s['missing']) or 'none'}",
                   err=True)
        sys.exit(1)


# -- views ------------------------------------------------------------------------------------------
def show_times(result: Any) -> None:
    """Each notebook's status and wall time beside the plan's prediction, then the totals."""
    from f5lab.escaping import terminal
    from f5lab.units import duration

    from f5lab.reporting.plan import predicted_seconds, predicted_total

    predicted = predicted_seconds(result.summary)
    total_pred = predicted_total(result.summary)
    width = max([len(r.name) for r in result.results] + [8])
    for r in result.results:
        pred = predicted.get(r.name)
        click.echo(f"  {r.name:<{width}}  {r.status:6s}  {duration(r.seconds):>11}"
                   + (f"  (predicted ~{duration(pred)})" if pred is not None else "")
                   + (f"  {terminal(r.error)}" if r.error else ""))
    if result.results and total_pred is not None:
        total = sum(r.seconds for r in result.results)
        click.echo(f"  {'total':<{width}}  {'':6s}  {duration(total):>11}  (predicted ~{duration(total_pred)})")


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
            from f5lab.reporting.reports import evidence_note

            note = evidence_note(line)
            hang(out, head, line["text"] + (f" ({note})" if note else ""))

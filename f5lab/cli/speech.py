"""Hear it: ``text`` (what f5-tts will see of a text), ``synth``, ``probe`` and ``compare``, with their
terminal views."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from f5lab import commandlines
from f5lab.cli.main import friendly_errors, main, old_spelling, print_json
from f5lab.cli.options import (TEXT_FILE, VOCODER_HELP, asr_options, catalogue, configs_option, device_option,
                               lang_options, nfe_option, seed_option, spoken_text, text_file_option, text_options,
                               vocab_option)
from f5lab.cli.params import ConfigRef, OutDir, Text, VocoderDir, ranged
from f5lab.cli.terminal import console, hang, human_count, echo


# -- text: what f5-tts will see ------------------------------------------------------------
@main.command("text")
@click.argument("text", required=False)
@text_file_option("Read the text from a UTF-8 file instead.")
@old_spelling("--file", "--text-file", type=TEXT_FILE)
@lang_options()
@vocab_option("vocab.txt of the checkpoint. [default: f5-tts's base vocab, 2545 tokens]")
@click.option("--ref-text", default=None, help="Transcript of --ref-audio: the chunk size and the seconds per "
              "chunk come from it. [default: f5-tts's example clip]")
@click.option("--ref-audio", type=click.Path(path_type=str), default=None, help="The reference clip (with --ref-text).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (normalized, unknown, chunks, advice).")
@friendly_errors
def text_command(text: str | None, text_file: str | None, lang: str, normalize: bool, vocab: str | None,
                 ref_text: str | None, ref_audio: str | None, as_json: bool) -> None:
    """Show what f5-tts will see of TEXT: normalised, checked against the vocab, chunked and timed.

    The normalised text; every character the vocab lacks and what it became (mapped, lowercased,
    or left as silence: f5-tts reads it as a space); the chunks f5-tts's chunk_text makes at the
    size infer_process picks from the reference, with the seconds f5-tts allots each (its UTF-8
    byte rule) and the chunks it slows to speed 0.3 flagged; the language's advice checked.
    Reads no model and imports no torch: well under a second.

    \b
    Example:
      f5lab text --lang pt-BR "Custa R$ 1.234,56 às 14h30."
      f5lab text --lang pt-BR --text-file roteiro.txt --ref-text "Olá." --ref-audio ref.wav --json
    """
    from f5lab.errors import ConfigError

    if text_file and text is not None:
        raise ConfigError("give TEXT or --text-file, not both")
    text = spoken_text(text, text_file)  # a file: sized before it is read, the cap --text has (files.readers)
    if text is None:
        raise ConfigError("give the TEXT to check, or --text-file FILE")
    from f5lab.speech.text.analysis import analyse

    report = analyse(text, lang, vocab=vocab, ref_text=ref_text, ref_audio=ref_audio, normalize=normalize)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        show_text(report)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--ref-audio", required=True, type=click.Path(path_type=str),
              help="Reference clip (wav/flac/ogg/mp3); resampled to 24 kHz mono, clipped to ~12 s like f5-tts.")
@click.option("--ref-text", type=Text(allow_empty=False), default=None, help="Transcript of --ref-audio (or use --asr).")
@text_options(file_help="Read the text to speak from a UTF-8 file (long texts are chunked and cross-faded).",
              retired=False)
@click.option("--out", default="synth_out", show_default=True,
              type=OutDir(files=("synth.wav", "synth_mel.npy", "synth_mel.png", "synth.json")),
              help="Folder for synth.wav, synth_mel.npy, synth_mel.png and synth.json.")
@click.option("--force", is_flag=True, help="Replace a previous synthesis in --out (once the new one is complete; "
              "never the reference clip or another input).")
@click.option("--config", type=ConfigRef(), default=None, help="Config to build (default: the one the shapes fit; see --probe).")
@click.option("--probe", "use_probe", is_flag=True,
              help="If the shapes fit several configs (F5TTS_Base vs F5TTS_v1_Base), decide by the behavioural "
                   "probe on --ref-audio and record its margin.")
@vocab_option("vocab.txt of the checkpoint.")
@configs_option()
@nfe_option("Flow-matching (ODE) steps: 16 is faster, 32 f5-tts's default.")
@click.option("--cfg", "cfg_strength", type=ranged("cfg_strength"), default=2.0, show_default=True,
              help="Classifier-free guidance strength.")
@click.option("--sway", type=ranged("sway"), default=-1.0, show_default=True,
              help="Sway sampling coefficient (beyond 1.75 f5-tts's time steps stop increasing).")
@click.option("--speed", type=ranged("speed"), default=1.0, show_default=True,
              help="Speaking rate (scales the estimated duration).")
@seed_option("Seed: same seed and settings give bit-identical audio.")
@click.option("--duration", type=ranged("duration"), default=None, help="Fixed total seconds, reference included.")
@click.option("--dtype", type=click.Choice(["fp32", "fp16", "bf16"]), default=None, help="Weights dtype.")
@device_option("Where it runs: cpu (as in every f5lab command: see docs/synthesis.md#devices), cuda, or auto "
               "(the GPU if torch sees one).")
@click.option("--vocoder", "vocoder_dir", type=VocoderDir(), default=None, help=VOCODER_HELP)
@click.option("--strict-text", is_flag=True, help="Fail (instead of warn) on characters the vocabulary lacks.")
@asr_options(default=None, help="Transcribe --ref-audio when --ref-text is not given: auto = pocketsphinx for "
             "English (none offline for other languages); faster-whisper needs --asr-model-dir.", retired=False)
@lang_options()
@click.option("--json", "as_json", is_flag=True, help="Print the JSON record instead of a summary.")
@friendly_errors
def synth(path: str, ref_audio: str, ref_text: str | None, gen_text: str | None, text_file: str | None, out: str,
          force: bool, config: str | None, use_probe: bool, vocab: str | None, configs: str, nfe: int, cfg_strength: float,
          sway: float, speed: float, seed: int, duration: float | None, dtype: str | None, device: str,
          vocoder_dir: str | None, strict_text: bool, asr: str | None, asr_model_dir: str | None, lang: str,
          normalize: bool, as_json: bool) -> None:
    """Speak a text with checkpoint PATH in the voice of --ref-audio, and record how.

    Uses f5-tts's own sampler (CFM.sample via infer_batch_process) and chunking. Writes the
    wav, the mel spectrogram (.npy and .png) and a JSON record (settings, seed, versions,
    load/step/total time, real-time factor). Characters the vocabulary lacks are listed
    first: f5-tts would silently read them as spaces.

    \b
    Example:
      f5lab synth model.safetensors --ref-audio me.wav --ref-text "What I say in me.wav." \\
          --text "Olá, tudo bem?" --nfe 16 --seed 1 --out run_nfe16
    """
    import warnings

    from f5lab.hardware.devices import check_device, resolve_device
    from f5lab.speech.synth import TextError, UnknownCharWarning, check_settings, synthesize

    # every refusal before the reference is transcribed or the model loaded (seconds each); --out's
    # files were claimed already (f5lab.cli.params)
    check_settings(nfe=nfe, cfg_strength=cfg_strength, sway=sway, speed=speed, seed=seed, duration=duration)
    device = check_device(resolve_device(device))
    gen_text = spoken_text(gen_text, text_file)
    if gen_text is None:
        raise TextError("give the text to speak: --text '...' or --text-file FILE")
    chosen = catalogue(configs, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownCharWarning)
        result = synthesize(path, ref_audio, ref_text or None, gen_text, nfe=nfe, cfg_strength=cfg_strength,
                            sway=sway, speed=speed, seed=seed, duration=duration, dtype=dtype, device=device,
                            vocoder=vocoder_dir, out_dir=out, strict_text=strict_text, config=config, vocab=vocab,
                            probe=use_probe or None, catalogue=chosen, lang=lang, normalize=normalize,
                            progress=True, force=force, asr=None if asr == "none" else asr,
                            asr_model_dir=asr_model_dir)
    if not ref_text:  # the library transcribed the reference
        text = result.record["text"]
        echo(f"reference transcript ({text['ref_text_asr']}): {text['ref_text_raw']}", err=True)
    for w in caught:
        if issubclass(w.category, UnknownCharWarning):
            echo(f"f5lab: warning: {w.message}", err=True)
    if as_json:
        print_json(result.record)
    else:
        show_synth(result.record)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--ref-audio", required=True, type=click.Path(path_type=str), help="Reference clip (real speech).")
@click.option("--ref-text", required=True, type=Text(allow_empty=False), help="Its transcript.")
@click.option("--candidate", "candidates", multiple=True,
              help="Config to try (repeatable). [default: every config the shapes fit]")
@click.option("--samples", type=ranged("samples"), default=8, show_default=True,
              help="Paired noise/time samples per config.")
@seed_option("Seed of the first sample.")
@vocab_option("vocab.txt of the checkpoint.")
@configs_option()
@device_option("Where it runs: cpu (as in every f5lab command), cuda, or auto (the GPU if torch sees one).")
@lang_options(help="Language of --ref-text (its normaliser).",
              normalize_help="Normalise --ref-text for --lang first: the loss is on the text the model is given.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def probe(path: str, ref_audio: str, ref_text: str, candidates: tuple[str, ...], samples: int, seed: int,
          vocab: str | None, configs: str, device: str, lang: str, normalize: bool, as_json: bool) -> None:
    """Which config was checkpoint PATH trained under? Ask its loss, not its shapes.

    F5TTS_Base (v0) and F5TTS_v1_Base have identical shapes; a v0 fine-tune run as v1
    loads without error and speaks gibberish (f5-tts 1.0.0 made v1 its default;
    F5-TTS #896, #998). The probe computes the flow-matching
    training loss on the reference clip under each candidate, with identical noise and
    times, and ranks them: the config it learned under has the lower loss.

    \b
    Example (a community pt-BR fine-tune):
      f5lab probe model_last.safetensors --ref-audio ref.wav --ref-text "Transcrição do áudio."
    """
    from f5lab.hardware.devices import resolve_device
    from f5lab.speech.probe import probe as run_probe

    result = run_probe(path, ref_audio, ref_text, list(candidates) or None, seed=seed, n_samples=samples,
                       vocab=vocab, catalogue=catalogue(configs, path), device=resolve_device(device),
                       progress=True, lang=lang, normalize=normalize)
    if result.text.get("warning"):
        click.echo(f"f5lab: warning: {result.text['warning']}", err=True)
    if as_json:
        print_json(result.to_dict())
    else:
        show_probe(result)


@main.command()
@click.argument("a", type=click.Path(path_type=str))
@click.argument("b", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def compare(a: str, b: str, as_json: bool) -> None:
    """What changed between two synthesis records A and B (synth.json files or their folders).

    Settings, model, vocoder and versions that differ; time ratios (B / A); whether the
    audio is bit-identical; signal metrics; and, when both mel arrays are on disk, their
    distance (mel L1, mel-cepstral distortion in dB).

    \b
    Example: what does NFE 16 cost against 32?
      f5lab synth m.safetensors --ref-audio r.wav --ref-text "..." --text "..." --nfe 32 --out nfe32
      f5lab synth m.safetensors --ref-audio r.wav --ref-text "..." --text "..." --nfe 16 --out nfe16
      f5lab compare nfe32 nfe16
    """
    from f5lab.speech.quality import compare_records

    diff = compare_records(a, b)
    if as_json:
        print_json(diff)
    else:
        show_compare(diff, a, b)


# -- views ------------------------------------------------------------------------------------------
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
        tie = " (a tie under the bar: --probe takes the lower loss at its word)" if p.get("verdict") == "tie" else ""
        out.print(f"config chosen by probe: {p.get('lowest') or p['best']} (margin {p['margin']}, wins {p['wins']}/"
                  f"{p['n_samples']}){tie}")
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
        table.add_row("per step (mean)", f"{t['step_mean_s']:.3g} s")  # seconds, like every row here
    table.add_row("vocoder", f"{t['vocoder_s']:.2f} s")
    table.add_row("synthesis total", f"{t['synth_s']:.2f} s")
    table.add_row("real-time factor", f"{t['rtf']:.3f}" if t.get("rtf") is not None else "-")
    out.print(table)
    for u in rec["text"]["unknown_chars"]:
        out.print(f"[yellow]not in vocabulary[/yellow] {u['char']!r} ({u['name']}) in {u['where']} at {u['positions']}")
    for name, path in rec.get("files", {}).items():
        out.print(f"{name:8s} {path}")


def show_probe(r: Any) -> None:
    """The human form of ``f5lab probe``: candidates by loss, and how clearly the best wins (or "tie")."""
    from f5lab.compat.decision import CONFIDENT_MARGIN

    out = console()
    table = Table("config", "flow-matching loss", "std", title=f"{r.path} on {r.ref_seconds:.1f} s of reference")
    for i, c in enumerate(r.ranking):
        table.add_row(("[bold]" if i == 0 else "") + c.config, f"{c.loss_mean:.4f}", f"{c.loss_std:.4f}")
    out.print(table)
    if len(r.ranking) > 1 and r.confident:
        out.print(f"best: [bold]{r.best}[/bold]; margin {r.margin:.4f} ({100 * (r.relative_margin or 0):.1f}% of "
                  f"its loss), lower on {r.wins}/{r.n_samples} paired samples: [green]confident[/green]")
        out.print(f"use it: --config {r.best} (synth, report, sweep); in Python "
                  f"f5lab.load_model(path, config={r.best!r})", markup=False, highlight=False)
    elif len(r.ranking) > 1:  # under the bar (a margin of zero included): a tie, never a best nor a lean
        bar = 100 * CONFIDENT_MARGIN
        out.print(f"tie: {', '.join(c.config for c in r.ranking)}; margin {r.margin:.4f} "
                  f"({100 * (r.relative_margin or 0):.1f}% of the lower loss, under the {bar:g}% bar), "
                  f"lower on {r.wins}/{r.n_samples} paired samples (an untrained or random checkpoint ties)",
                  markup=False, highlight=False)
        out.print(f"no verdict to use: {commandlines.lineage(r.path)} decides it from the weights "
                  "(BASE: the checkpoint you fine-tuned from); else name --config yourself",
                  markup=False, highlight=False)
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


# -- text: what f5-tts will see -----------------------------------------------------------------------
def show_text(r: Any) -> None:
    """The human form of ``f5lab text``: the text as the model gets it, its unknown characters,
    the chunks with their seconds, and the advice."""
    from f5lab.escaping import terminal as t
    from f5lab.speech.text.analysis import describe_unknown

    out = console()  # every user string shown with its control characters as escapes
    how = "normalised" if r.normalize else "as written (--no-normalize)"
    out.print(f"[bold]{r.lang}[/bold], {how}; vocab: {escape(t(r.vocab))} ({r.vocab_tokens} tokens)", highlight=False)
    hang(out, "  written:    ", t(r.raw))
    if r.normalize:
        hang(out, "  normalised: ", t(r.normalized))
    hang(out, "  model gets: ", t(r.model_text or r.normalized))  # f5-tts's own convert_char_to_pinyin
    lines = describe_unknown(r.unknown)
    out.print("characters the vocab lacks:" + ("" if lines else " none"), markup=False)
    for line in lines:
        hang(out, "  ", t(line))
    ref = r.reference
    where = "f5-tts's example clip" if ref["default"] else t(ref["source"])
    out.print(f"reference: {where}, {ref['seconds']:.2f} s ({ref['frames']} frames); chunks of at most "
              f"{r.max_chars} bytes", markup=False, highlight=False)
    table = Table("#", "bytes", "speed", "seconds", "text")
    for i, c in enumerate(r.chunks, 1):
        speed = f"[yellow]{c.speed:g} (slowed)[/yellow]" if c.slowed else f"{c.speed:g}"
        table.add_row(str(i), str(c.bytes), speed, f"{c.seconds:.2f}", escape(t(c.text)))
    out.print(table)
    out.print(f"{r.seconds:.2f} s of speech in {len(r.chunks)} chunk(s)", highlight=False)
    marks = {True: "ok ", False: "NO ", None: " - "}
    for a in r.advice:
        hang(out, f"  [{marks[a['ok']]}] {a['rule']:<12} ", t(a["text"]))

"""What each section of notebook 04 (hear it) records (sidecar) and shows (a table, players,
a figure, wrapped text).

The renderings themselves come from ``f5lab.speech.grid`` and the probe from
``f5lab.speech.probe``, called by the notebook; here they are recorded with their units and
verdicts (``f5lab.reporting.decide``) and shown. Nothing here computes a result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from f5lab import escaping
from f5lab.reporting import decide
from f5lab.reporting.sidecar import NotebookContext, Sidecar, Table, say


def synthesis_plan(nb: NotebookContext, ref_audio: Any, ref_text: str | None, gen_text: str | None, lang: str,
                   candidates: Sequence[str] | None, dtypes: Sequence[str], nfe: int | Sequence[int],
                   work_dir: Any = None) -> Any:
    """The notebook's parameters as the grid to render (``f5lab.speech.grid.plan_grid``): f5-tts's
    example clip and ``lang``'s sentence where none is given, every config the shapes fit where no
    candidate is, the renderings' files under ``<work_dir>/04_synthesis_audio`` (none without)."""
    from f5lab.reporting.modelcard import AUDIO_DIR
    from f5lab.reporting.reports import reference_clip
    from f5lab.speech.grid import plan_grid
    from f5lab.speech.text import default_sentence

    ref_audio, ref_text = reference_clip(ref_audio, ref_text)
    return plan_grid(nb.checkpoint, nb.catalogue, ref_audio=ref_audio, ref_text=ref_text,
                     gen_text=gen_text or default_sentence(lang), candidates=candidates, dtypes=dtypes, nfe=nfe,
                     out_dir=Path(work_dir) / AUDIO_DIR if work_dir else None)


def rendered(side: Sidecar, plan: Any, result: Any, pick: bool) -> Any:
    """The grid 04 renders: the whole ``plan``, or with ``pick`` (what ``f5lab report`` sets where the
    shapes cannot tell the configs apart) only the config the probe ``result`` picks, else the first
    (``f5lab.speech.grid.probe_pick``), said and recorded."""
    if not pick:
        return plan
    from f5lab.speech.grid import probe_pick

    narrowed, line = probe_pick(plan, result)
    side.record("synthesis.rendered", line)
    say(line)
    return narrowed


def muted(plan: Any, mute: bool) -> Any:
    """Weights that cannot speak (``f5lab.model.readiness``, named from the tensors before any
    synthesis) render one clip, labelled noise, and nothing is graded: the grid's first setting only."""
    from dataclasses import replace

    return replace(plan, grid=plan.grid[:1]) if mute else plan


def grid_table(grid: Sequence[tuple[str, str, int]]) -> Table:
    return Table([{"config": c, "dtype": d, "NFE": n} for c, d, n in grid])


def text_result(side: Sidecar, gen_text: str, ref_audio: Any, ref_text: str, lang: str = "en",
                normalize: bool = True, vocab: Any = None) -> Any:
    """What the model will read (``f5lab.speech.text.analysis``): recorded, with its verdict; shown
    as the written and the spoken text, the characters the vocab lacks, the chunks and the advice."""
    from f5lab.speech.text.analysis import analyse, reference_lang

    r = analyse(gen_text, lang, vocab=vocab, normalize=normalize, ref_text=ref_text, ref_audio=ref_audio,
                ref_lang=reference_lang(ref_audio, lang))
    side.record("text.lang", r.lang)
    side.record("text.normalized", r.normalize)
    side.record("text.gen_text_raw", r.raw)
    side.record("text.gen_text", r.normalized)
    side.record("text.ref_text", r.reference["text_used"])
    side.record("text.chunks", len(r.chunks), "chunks")
    side.record("text.seconds", r.seconds, "s of speech (f5-tts's estimate)")
    silent = sorted({u["char"] for u in r.unknown if u["became"] == "silence"})
    side.record("text.silent_chars", "".join(silent))
    side.verdict("text", f"text ({r.lang}, {'normalised' if r.normalize else 'as written'}): {len(r.chunks)} "
                 f"chunk(s), {r.seconds:g} s by f5-tts's rule; "
                 + (f"{len(silent)} character(s) read as silence: {''.join(silent)!r}" if silent
                    else "every character in the vocab"), ok=False if silent else None)
    return r


def text_lines(r: Any) -> None:
    """The written text, what the model gets, and each character the vocab lacks with what it became."""
    from f5lab.speech.text.analysis import describe_unknown

    how = "normalised" if r.normalize else "as written (normalize=False)"
    say(f"{r.lang}, {how}; vocab: {r.vocab} ({r.vocab_tokens} tokens)", f"written:    {r.raw}",
        f"model gets: {r.normalized}", f"reference transcript as the model gets it: {r.reference['text_used']}",
        *(describe_unknown(r.unknown) or ["every character of the text is in the vocab"]))


def text_table(r: Any) -> Table:
    """The chunks f5-tts makes and the seconds it allots each; then the language's advice."""
    return Table([{"chunk": i, "bytes": c.bytes, "speed": f"{c.speed:g}" + (" (slowed)" if c.slowed else ""),
                   "seconds": f"{c.seconds:.2f}", "text": c.text} for i, c in enumerate(r.chunks, 1)])


def text_advice(r: Any) -> None:
    marks = {True: "ok", False: "NO", None: " -"}
    say(*[f"[{marks[a['ok']]}] {a['rule']}: {a['text']}" for a in r.advice])


def reference_player(ref_audio: Any, ref_text: str) -> None:
    """The reference clip as f5-tts conditions on it (clipped to ~12 s, 24 kHz) and its transcript."""
    from IPython.display import Audio, Markdown, display

    from f5lab.speech.audio import prepare_reference

    ref = prepare_reference(ref_audio)
    clipped = f"; clipped from {ref.source_seconds:.2f} s ({'; '.join(ref.notes)})" if ref.clipped else ""
    display(Markdown(f"reference {escaping.markdown_code(Path(str(ref.source)).name)} · {ref.seconds:.2f} s"
                     f"{escaping.markdown(clipped)} · transcript: *{escaping.markdown(ref_text)}*"))
    display(Audio(ref.wav, rate=ref.sample_rate, normalize=True))


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
        display(Markdown("**These weights cannot speak (random or untrained: a demo / test checkpoint, or "
                         "what `f5lab.model.readiness` found): the audio below is noise, by construction. A trained "
                         "checkpoint speaks here.**"))
    for (config, dtype, steps), r in results.items():
        display(Markdown(f"{escaping.markdown_code(config)} · {escaping.markdown(dtype)} · NFE {steps} · "
                         f"{r.seconds:.2f} s"))
        display(Audio(r.wav, rate=r.sample_rate, normalize=True))


def mels_figure(side: Sidecar, results: dict) -> Any:
    """Each rendering's log-mel, seconds on the x axis, with its colour bar."""
    from matplotlib.figure import Figure

    from f5lab.speech.grid import folder_label
    from f5lab.speech.synth import draw_mel

    fig = Figure(figsize=(8, 1.9 * len(results) + 0.5))
    axes = fig.subplots(len(results), 1, squeeze=False)
    for ax, ((config, dtype, steps), r) in zip(axes[:, 0], results.items()):
        draw_mel(ax, r.mel, r.sample_rate, title=f"{folder_label(config)} · {dtype} · NFE {steps}")
    fig.tight_layout()
    return side.figure("mels", fig)


UNITS = {"seconds": "s", "peak": "full scale", "RMS dBFS": "dBFS", "silence %": "%", "clipping %": "%",
         "non-finite": "samples", "mel L1 vs top NFE": "log-mel", "MCD dB vs top NFE": "dB",
         "mel L1 vs fp32": "log-mel", "MCD dB vs fp32": "dB", "WER %": "%"}


def quality_result(side: Sidecar, results: dict, gen_text: str, asr: str | None, random_weights: bool,
                   lang: str = "en", asr_model_dir: Any = None, asr_language: str | None = None) -> Table:
    """Quality rows (``decide.quality_rows``), recorded, with the synthesis verdict (and a flag for
    bit-identical renderings, ``identical_result``); the table.

    ``asr``: 'auto' (the offline ASR for ``lang``: pocketsphinx for English; none for pt, and the
    verdict says "no WER: no ASR for pt offline"), 'pocketsphinx', 'faster-whisper' (with
    ``asr_model_dir``), or None (no WER column)."""
    from f5lab.speech.quality import choose_asr

    choice = choose_asr(asr, lang, asr_model_dir, asr_language)
    side.record("wer.asr", choice.backend)
    side.record("wer.language", choice.language)
    if choice.note:
        side.record("wer.note", choice.note)
    rows = decide.quality_rows(results, gen_text, choice.load(), lang)
    for row in rows:
        key = f"quality.{row['config']}.{row['dtype']}.nfe{row['NFE']}"
        for col, unit in UNITS.items():
            if col in row:
                side.record(f"{key}.{col}", row[col], unit)
        if "heard" in row:
            side.record(f"{key}.heard", row["heard"])
    v = decide.synthesis_verdict(rows, random_weights, choice.note)
    side.verdict("synthesis", v["text"], ok=v["ok"])
    side.answer("synthesis", **v)
    identical_result(side, results)  # bit-identical renderings across settings: flagged
    cols = [c for c in rows[0] if not all(r[c] is None for r in rows)] if rows else []
    return Table(rows, columns=cols)


def timings_table(results: dict) -> Table:
    return Table([{"config": c, "dtype": d, "NFE": n, "sampling": f"{r.record['timings']['sample_s']:.2f} s",
                   "vocoder": f"{r.record['timings']['vocoder_s']:.2f} s",
                   "real-time factor": f"{r.record['timings']['rtf']:.2f}"} for (c, d, n), r in results.items()])


def identical_result(side: Sidecar, results: dict) -> list:
    """Renderings of different settings that are bit-identical (``readiness.identical_renderings``):
    the model did nothing to the initial noise. Flagged as a verdict; nothing recorded when none."""
    from f5lab.model.readiness import identical_renderings

    groups = identical_renderings({k: r.wav for k, r in results.items()})
    if groups:
        names = "; ".join(" = ".join(f"{c} {d} NFE {n}" for c, d, n in g) for g in groups)
        side.verdict("identical", f"bit-identical renderings across settings ({names}): the model did not move the "
                     "initial noise", ok=False)
        side.answer("identical", groups=[[list(k) for k in g] for g in groups])
    return groups


def probe_result(side: Sidecar, pr: Any, random_weights: bool) -> Table:
    """The probe's losses, recorded, with its verdict (``decide.probe_verdict``); the table."""
    side.timing("probe", pr.seconds)
    side.record_many("probe.loss_mean", {c.config: round(c.loss_mean, 3) for c in pr.ranking}, "flow-matching loss")
    side.record_many("probe.loss_std", {c.config: round(c.loss_std, 3) for c in pr.ranking}, "flow-matching loss")
    side.record("probe.best", None if pr.tie else pr.best)  # a tie names no best
    side.record("probe.wins", pr.wins, f"of {pr.n_samples} paired samples")
    margin = None if pr.relative_margin is None else round(100 * pr.relative_margin, 1)
    side.record("probe.relative_margin", margin, "% of the best loss")
    side.record("probe.confident", pr.confident)
    v = decide.probe_verdict(pr, random_weights)
    side.verdict("probe", v["text"], ok=v["ok"])
    side.answer("probe", **v)
    return Table([{"config": c.config, "loss (mean)": f"{c.loss_mean:.3f}", "loss (std)": f"{c.loss_std:.3f}"}
                  for c in pr.ranking])

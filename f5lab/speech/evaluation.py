"""One sweep point's headline numbers: what this checkpoint at this setting is worth and costs.

Every number here needs no download: the flow-matching loss on the user's own held-out
clips (``probe.validation_loss``), one synthesis at the point's NFE/dtype (its real-time
factor, signal metrics and log-mel, kept for the sweep's mel distance to the best setting),
the speaker similarity of that rendering to the reference (resemblyzer, weights in its
wheel), the word error rate through an offline ASR when one is asked for, and the peak
memory of one generation call (``memory.measure``). The sweep's point notebook makes this
one call and shows the result; the numbers go to its sidecar, timings apart.

With a ``work_dir`` the point also leaves what a listener wants (``save_point_media``): the
rendering as ``render.wav`` (16-bit PCM, what every browser plays) and its log-mel as ``mel.png``
(seconds on the x axis, a colour bar, 2x pixels), beside ``mel.npy``; the sweep writes each
reference clip's once (``save_reference_media``), and its index page sets them side by side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from f5lab.facts import DEFAULT_NFE, SAMPLE_RATE
from f5lab.units import MIB

# headline metrics: key -> (unit, which way is better, label)
METRICS: dict[str, tuple[str, str, str]] = {
    "val_loss": ("flow-matching loss", "min", "held-out loss"),  # "loss on the reference clip" without --val-audio
    "speaker_similarity": ("cosine", "max", "speaker similarity"),
    "wer": ("%", "min", "WER"),  # percent, as in the report's quality table
    "peak_memory_bytes": ("bytes", "min", "peak memory"),
}
TIMED: dict[str, tuple[str, str, str]] = {"rtf": ("s per s of audio", "min", "RTF")}


MEDIA = {"audio": "render.wav", "mel": "mel.png"}  # a point's media in its folder (beside mel.npy)
MEL_FIGSIZE = (5.0, 2.2)  # inches at 200 dpi: 1000 x 440 px, shown 500 px wide (2x)


@dataclass
class PointEvaluation:
    numbers: dict[str, tuple[Any, str | None]]  # key -> (value, unit)
    timings: dict[str, float]
    mel_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    media: dict[str, Path] = field(default_factory=dict)  # "audio", "mel": the files save_point_media wrote
    wav: Any = field(default=None, repr=False)  # the rendering (float32), for a notebook's player
    sample_rate: int = SAMPLE_RATE
    mel: Any = field(default=None, repr=False)


def load_for_point(checkpoint: str | Path, config: str | None, ref: tuple[Any, str], catalogue: Any,
                   device: str, seed: int, reason: str | None = None) -> tuple[Any, str, str]:
    """fp32 model, the config it was built under, and why (``reason``: the sweep's decision for a
    config it gives; else named, the only fit, or the probe on the reference)."""
    from f5lab.compat.loading import AmbiguousConfigError, load_model
    from f5lab.speech.probe import load_model_by_probe

    if config:
        model = load_model(checkpoint, config=config, dtype="fp32", catalogue=catalogue, device=device)
        return model, config, reason or "named"
    try:
        model = load_model(checkpoint, dtype="fp32", catalogue=catalogue, device=device)
        return model, "", model.f5lab_decision.text
    except AmbiguousConfigError:
        model, result = load_model_by_probe(checkpoint, ref[0], ref[1], seed=seed, n_samples=4, dtype="fp32",
                                            catalogue=catalogue, device=device)
        return model, result.best, "chosen by the behavioural probe on the reference clip"


def evaluate_point(checkpoint: str | Path, *, ref_audio: Any, ref_text: str, gen_text: str, nfe: int = DEFAULT_NFE,
                   dtype: str = "fp32", device: str = "cpu", config: str | None = None, catalogue: Any = None,
                   val_clips: Sequence[tuple[Any, str]] | None = None, loss_samples: int = 4, seed: int = 0,
                   asr: str | None = None, speaker: str | None = "resemblyzer",
                   work_dir: str | Path | None = None, lang: str = "en", normalize: bool = True,
                   vocoder: str | Path | None = None, asr_model_dir: str | Path | None = None,
                   asr_language: str | None = None, config_reason: str | None = None) -> PointEvaluation:
    """Evaluate one point; ``val_clips`` default to the reference clip itself (say so when used).

    Every transcript the model is given (the reference's, the held-out clips', the text to speak)
    is normalised for ``lang`` unless ``normalize`` is off; ``asr`` is resolved by
    ``quality.choose_asr`` ('auto': no WER, with a note, where no offline ASR knows the language)."""
    from f5lab.files.checkpoint import torch_dtype
    from f5lab.speech.probe import validation_loss
    from f5lab.speech.quality import choose_asr
    from f5lab.speech.synth import synthesize
    from f5lab.speech.text import prepare
    from f5lab.speech.text.analysis import reference_lang

    t0 = time.perf_counter()
    numbers: dict[str, tuple[Any, str | None]] = {}
    notes: list[str] = []
    asr_choice = choose_asr(asr, lang, asr_model_dir, asr_language)  # a bad model dir: before the model loads
    ref_lang = reference_lang(ref_audio, lang)
    spoken_ref = prepare(ref_text, ref_lang, normalize).text
    model, chosen, reason = load_for_point(checkpoint, config, (ref_audio, spoken_ref), catalogue, device, seed,
                                           config_reason)
    numbers["step"] = (checkpoint_step(checkpoint), "updates")
    numbers["config"] = (chosen or type(model.transformer).__name__, None)
    numbers["config_reason"] = (reason, None)
    t_load = time.perf_counter()
    numbers["val_source"] = ("held-out clips" if val_clips else "reference clip", None)
    if not val_clips:
        val_clips = [(ref_audio, ref_text)]
        notes.append("no held-out clips given: the loss is on the reference clip (the one the rendering imitates)")
    val_clips = [(a, prepare(t, reference_lang(a, lang), normalize).text) for a, t in val_clips]
    val = validation_loss(model, list(val_clips), n_samples=loss_samples, seed=seed)
    numbers["val_loss"] = (val["loss_mean"], "flow-matching loss")
    numbers["val_loss_std"] = (val["loss_std"], "flow-matching loss")
    numbers["val_clips"] = (val["clips"], "clips")
    t_val = time.perf_counter()
    model = model.to(torch_dtype(dtype))
    r = synthesize(model, ref_audio, ref_text, gen_text, nfe=nfe, seed=seed, dtype=dtype, device=device,
                   vocoder=None if vocoder is None else str(vocoder), lang=lang, normalize=normalize)
    t_synth = time.perf_counter()
    m = r.record["metrics"]
    numbers["spoken_text"] = (r.record["text"]["gen_text"], None)
    numbers["vocoder"] = (r.record["vocoder"]["kind"], None)
    numbers.update(audio_seconds=(round(r.seconds, 4), "s of audio"), silence_ratio=(m["silence_ratio"], "fraction"),
                   non_finite=(m["non_finite"], "samples"), rms_dbfs=(m["rms_dbfs"], "dBFS"))
    numbers.update(quality_numbers(r, ref_audio, gen_text, asr_choice, speaker, notes, lang))
    numbers["peak_memory_bytes"] = (peak_memory(model, r, nfe, dtype, device, seed), "bytes")
    mel_path = save_mel(r.mel, work_dir)
    media = save_point_media(r, work_dir, f"{Path(checkpoint).name} · {Path(str(numbers['config'][0])).name} · "
                             f"NFE {nfe} · {dtype}")
    timings = {"load_s": t_load - t0, "val_loss_s": t_val - t_load, "synth_s": t_synth - t_val,
               "rtf": r.record["timings"]["rtf"] or 0.0, "total_s": time.perf_counter() - t0}
    return PointEvaluation(numbers=numbers, timings=timings, mel_path=mel_path, notes=notes, media=media, wav=r.wav,
                           sample_rate=r.sample_rate, mel=r.mel)


def quality_numbers(r: Any, ref_audio: Any, gen_text: str, asr: Any, speaker: str | None,
                    notes: list[str], lang: str = "en") -> dict[str, tuple[Any, str | None]]:
    """Speaker similarity to the reference and WER through ``asr`` (a ``quality.ASRChoice``, or a
    backend name); None with a note when impossible ("no WER: no ASR for pt offline")."""
    from f5lab.speech.audio import prepare_reference
    from f5lab.speech.quality import ASRChoice, QualityError, choose_asr, speaker_similarity, wer

    out: dict[str, tuple[Any, str | None]] = {}
    if speaker:
        ref = prepare_reference(ref_audio)
        try:
            out["speaker_similarity"] = (round(speaker_similarity(ref.wav, ref.sample_rate, r.wav, r.sample_rate,
                                                                  speaker), 4), "cosine")
        except QualityError as exc:
            out["speaker_similarity"] = (None, "cosine")
            notes.append(f"speaker similarity: {exc}")
    choice = asr if isinstance(asr, ASRChoice) else choose_asr(asr, lang)
    if choice.backend:
        heard = choice.load().transcribe(r.wav, r.sample_rate)
        out["wer"] = (round(100 * wer(gen_text, heard, lang), 2), "%")
        out["heard"] = (heard, None)
    elif choice.note:
        out["wer"] = (None, "%")
        notes.append(choice.note)
    return out


def peak_memory(model: Any, r: Any, nfe: int, dtype: str, device: str, seed: int) -> int:
    """Weights plus the activation peak of one generation call as long as this point's rendering."""
    from f5lab.hardware.memory import measure

    ref_seconds = r.record["reference"].get("seconds") or 0.0
    meas = measure(model, r.seconds, device=device, dtype=dtype, nfe=nfe, ref_seconds=ref_seconds, seed=seed)
    if meas.cuda_max_allocated_bytes is not None:
        return int(meas.cuda_max_allocated_bytes)
    return int(meas.weights_bytes + meas.activation_peak_bytes)


def checkpoint_step(checkpoint: str | Path) -> int | None:
    """The training update recorded in the file (``update``, or ``step`` in older trainer files)."""
    from f5lab.files.checkpoint import open_checkpoint

    step = open_checkpoint(checkpoint).layout().get("step")
    return int(step) if step is not None else None


def save_mel(mel: Any, work_dir: str | Path | None) -> Path | None:
    """The rendering's log-mel as ``mel.npy``: the sweep compares it with the best setting's."""
    import numpy as np

    if work_dir is None:
        return None
    from f5lab import outputs

    path = Path(work_dir) / "mel.npy"
    if not path.parent.is_dir():
        outputs.make_dirs(path.parent)
    with outputs.file(path, force=True) as tmp, open(tmp, "wb") as fh:  # the point's own folder: replaced
        np.save(fh, np.asarray(mel, dtype=np.float32))
    return path


def save_point_media(r: Any, work_dir: str | Path | None, title: str) -> dict[str, Path]:
    """The rendering as ``render.wav`` (16-bit PCM) and its log-mel as ``mel.png`` in the point's
    folder (replaced: the folder is the point's own); nothing without a ``work_dir``."""
    if work_dir is None:
        return {}
    from f5lab.speech.audio import write_wav
    from f5lab.speech.synth import save_mel_png

    folder = Path(work_dir)
    files = {k: folder / name for k, name in MEDIA.items()}
    write_wav(files["audio"], r.wav, r.sample_rate, force=True, pcm16=True)
    save_mel_png(r.mel, files["mel"], title=title, sample_rate=r.sample_rate, force=True, figsize=MEL_FIGSIZE)
    return files


def save_reference_media(ref_audio: Any, folder: str | Path, stem: str) -> dict[str, Path]:
    """A reference clip as f5-tts conditions on it (mono 24 kHz, clipped to ~12 s: ``prepare_reference``)
    as ``<stem>.wav`` (16-bit PCM) and its log-mel (f5-tts's vocos mel, as the renderings') as
    ``<stem>_mel.png``, under ``folder``; replaced when there (the same clip gives the same files)."""
    from f5lab import outputs
    from f5lab.speech.audio import prepare_reference, write_wav
    from f5lab.speech.quality import log_mel
    from f5lab.speech.synth import save_mel_png

    ref = prepare_reference(ref_audio)
    folder = Path(folder)
    if not folder.is_dir():
        outputs.make_dirs(folder)
    files = {"audio": folder / f"{stem}.wav", "mel": folder / f"{stem}_mel.png"}
    write_wav(files["audio"], ref.wav, ref.sample_rate, force=True, pcm16=True)
    save_mel_png(log_mel(ref.wav, ref.sample_rate), files["mel"], title=f"reference · {Path(str(ref.source)).name}",
                 sample_rate=ref.sample_rate, force=True, figsize=MEL_FIGSIZE)
    return files


def record(side: Any, ev: PointEvaluation) -> None:
    """Write a point's numbers (with units), timings and notes into its notebook's sidecar."""
    for key, (value, unit) in ev.numbers.items():
        side.record(key, value, unit)
    for key, seconds in ev.timings.items():
        side.timing(key, seconds)
    if ev.notes:
        side.record("notes", ev.notes)


def as_table(ev: PointEvaluation, units: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Rows (what, value, unit) for the point notebook: floats at 3 decimals (stable across CPUs)."""
    rows = []
    for key, (value, unit) in ev.numbers.items():
        if key == "peak_memory_bytes" and value is not None:
            key, value, unit = "peak_memory", round(value / MIB, 1), "MiB"
        elif isinstance(value, float):
            value = round(value, 3)
        rows.append({"what": key.replace("_", " "), "value": "-" if value is None else value, "unit": unit or ""})
    return rows

"""Synthesis on a loaded model with f5-tts's own inference, made reproducible and measured.

The sampler, text chunking, duration estimate, RMS handling and cross-fade are f5-tts's
(``f5_tts.infer.utils_infer.chunk_text`` and ``infer_batch_process``, which calls
``CFM.sample``). f5lab adds what research needs around them: a seed that makes the audio
bit-identical run to run, a text check that names the characters the vocabulary lacks
(f5-tts maps them silently to a space), timings per ODE step, and a JSON record of every
setting and version next to the wav, the mel array and its picture.

Why not ``infer_process``: it decodes the reference with ``torchaudio.load`` (needs
torchcodec + FFmpeg) and prints; f5lab reads audio itself (f5lab.speech.audio) and applies
infer_process's chunk-size rule unchanged (``max_chars_for``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from f5lab import settings
from f5lab.errors import F5LabError, TextError  # noqa: F401  (TextError lives in errors; cli imports it from here)
from f5lab.facts import (CROSS_FADE_SECONDS, DEFAULT_CFG, DEFAULT_NFE, DEFAULT_SPEED, DEFAULT_SWAY, FRAME_CAP,
                         HOP_LENGTH, SAMPLE_RATE, TARGET_RMS)
from f5lab.settings import SettingsError, check_float  # noqa: F401  (SettingsError re-exported)

# what f5-tts does with text, torch-free, lives in f5lab.speech.text.f5tts (re-exported here)
from f5lab.speech.text.f5tts import (F5_TRANSLATE, MAX_CHUNK_SECONDS, UnknownChar, check_text,  # noqa: F401,E402
                                     chunk_frames, max_chars_for, normalise_ref_text)

if TYPE_CHECKING:
    from f5lab.compat.decision import ConfigDecision


def check_settings(*, nfe: int = DEFAULT_NFE, cfg_strength: float = DEFAULT_CFG, sway: float | None = DEFAULT_SWAY,
                   speed: float = DEFAULT_SPEED, seed: int = 0, duration: float | None = None,
                   cross_fade: float = CROSS_FADE_SECONDS, ref_seconds: float | None = None) -> None:
    """Refuse out-of-range synthesis settings in one line, before any model is loaded.

    The one rule for every path that synthesises (``synthesize``, the CLI, the report's
    notebook): NaN/inf guidance gave an all-NaN wav with exit 0, a zero or negative speed or
    duration failed after seconds of loading with a traceback, a seed beyond 2**63 overflowed
    torch. ``duration`` counts the reference too, so it must exceed ``ref_seconds`` when known.
    """
    settings.check("nfe", nfe)
    settings.check("seed", seed)
    settings.check("cfg_strength", cfg_strength, "--cfg")
    if sway is not None:  # beyond this range torchdiffeq's time grid stops increasing: an AssertionError
        settings.check("sway", sway)
    settings.check("speed", speed)
    check_float("cross_fade", cross_fade, "cross_fade", low=0.0)
    if duration is not None:
        settings.check("duration", duration)
        if ref_seconds is not None and duration <= ref_seconds:
            raise SettingsError(f"duration (--duration) {duration:g} s is not longer than the reference clip "
                                f"({ref_seconds:.2f} s): it counts the reference too, nothing would be left to speak")


def read_text_file(path: str | Path) -> str:
    """The text to speak from a file: UTF-8 (a BOM is dropped), at most 1 MB (as --text), not binary;
    one line naming the file otherwise (``f5lab.files.readers``)."""
    from f5lab.files.readers import read_text

    text = read_text(path, "text", error=TextError)
    if not text.strip():
        raise TextError(f"{path}: the text file is empty; nothing to speak")
    return text


def chunk(gen_text: str, ref_text: str, ref_seconds: float, speed: float = 1.0) -> list[str]:
    """f5-tts's own ``chunk_text`` at infer_process's chunk size."""
    from f5_tts.infer.utils_infer import chunk_text

    return chunk_text(gen_text, max_chars=max(1, max_chars_for(ref_text, ref_seconds, speed)))


def call_frames(chunks: list[str], ref_text: str, ref_frames: int, speed: float, duration: float | None,
                cross_fade: float = CROSS_FADE_SECONDS) -> list[int]:
    """The frames (reference included) of each call ``infer_batch_process`` makes for ``chunks``:
    its duration rule (UTF-8 byte ratio, speed 0.3 under 10 bytes, ``fix_duration`` shared out by
    bytes between chunks), computed before any model is loaded."""
    if duration is not None:
        ref_sec = ref_frames * HOP_LENGTH / SAMPLE_RATE
        if len(chunks) > 1:
            sizes = [len(c.encode("utf-8")) for c in chunks]
            share = duration - ref_sec + cross_fade * (len(chunks) - 1)
            return [int((ref_sec + share * n / sum(sizes)) * SAMPLE_RATE / HOP_LENGTH) for n in sizes]
        return [int(duration * SAMPLE_RATE / HOP_LENGTH)]
    return [chunk_frames(ref_text, c, ref_frames, speed) for c in chunks]


def plan_chunks(gen_text: str, ref_text: str, ref_frames: int, speed: float = 1.0, duration: float | None = None,
                cross_fade: float = CROSS_FADE_SECONDS) -> list[str]:
    """f5-tts's chunks, split further wherever a call would pass its 8192-frame cap (as its chunker
    means ``max_chars`` to be a maximum: a sentence longer than a chunk, or a slow ``speed``, would
    otherwise crash it after the model loaded). Split at the space nearest a chunk's middle, or
    between characters in a text without spaces. Refused in one line naming the option when even a
    single word is too long for one call, or when ``duration`` leaves a chunk no frame to speak."""
    ref_seconds = ref_frames * HOP_LENGTH / SAMPLE_RATE
    chunks = chunk(gen_text, ref_text, ref_seconds, speed)
    if not chunks:
        raise TextError("the text to speak splits into no chunk f5-tts can say (only spaces or punctuation?)")
    option = "--duration" if duration is not None else "--speed"
    for _ in range(4 * len(gen_text.encode("utf-8")) + 8):
        frames = call_frames(chunks, ref_text, ref_frames, speed, duration, cross_fade)
        over = [i for i, f in enumerate(frames) if f > FRAME_CAP]
        if not over:
            break
        i = over[0]
        halves = _split(chunks[i])
        if halves is None:
            raise SettingsError(f"{option}: the call for {chunks[i][:40]!r} needs {frames[i]} frames, over f5-tts's "
                                f"cap of {FRAME_CAP} ({FRAME_CAP * HOP_LENGTH / SAMPLE_RATE:.1f} s with the "
                                f"{ref_seconds:.1f} s reference) and it cannot be split further; "
                                + ("give a shorter --duration or a longer text" if duration is not None
                                   else "give a faster --speed or a shorter reference clip"))
        chunks[i:i + 1] = halves
    empty = [c for c, f in zip(chunks, call_frames(chunks, ref_text, ref_frames, speed, duration, cross_fade))
             if f - ref_frames < 2]
    if empty:
        raise SettingsError(f"--duration {duration:g} s leaves {empty[0][:30]!r} under 2 frames to speak after the "
                            f"{ref_seconds:.1f} s reference ({len(chunks)} chunk(s)); give a longer --duration")
    return chunks


def _split(text: str) -> list[str] | None:
    """Two halves of a chunk: at the space nearest the middle, else between characters (a text without
    spaces, such as Chinese); None for a single character."""
    words = text.split()
    if len(words) > 1:
        middle = len(text) / 2
        cuts = [i for i, c in enumerate(text) if c.isspace()]
        cut = min(cuts, key=lambda i: abs(i - middle))
        return [text[:cut].strip(), text[cut:].strip()]
    if len(text) > 1:
        return [text[:len(text) // 2], text[len(text) // 2:]]
    return None


@dataclass
class SynthResult:
    """The audio, its mel spectrogram and the record of how it was made."""

    wav: np.ndarray = field(repr=False)
    sample_rate: int
    mel: np.ndarray = field(repr=False)  # [n_mels, frames], the generated part only
    record: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return len(self.wav) / self.sample_rate

    def to_dict(self) -> dict[str, Any]:
        return self.record


class _SeededSampler:
    """What infer_batch_process calls ``model_obj``: CFM.sample with a per-chunk seed, one chunk at a time.

    infer_batch_process runs chunks in a thread pool on the global RNG; serialising them and
    passing ``seed`` (which CFM.sample applies right before drawing the noise) is what makes
    the output bit-identical run to run. Chunk i gets seed + i.
    """

    def __init__(self, model: Any, seed: int, ref_text: str, chunks: list[str]) -> None:
        from f5_tts.model.utils import convert_char_to_pinyin

        self.model, self.seed = model, seed
        # infer_batch_process appends a space to a ref_text ending in a 1-byte character
        ref = ref_text + " " if len(ref_text[-1].encode("utf-8")) == 1 else ref_text
        self.expected = [convert_char_to_pinyin([ref + c])[0] for c in chunks]
        self.lock = threading.Lock()
        self.sample_seconds: list[float] = []

    def sample(self, *, text: list[Any], **kwargs: Any) -> Any:
        index = next((i for i, toks in enumerate(self.expected) if list(text[0]) == toks), 0)
        with self.lock:
            start = time.perf_counter()
            out = self.model.sample(text=text, seed=self.seed + index, **kwargs)
            self.sample_seconds.append(time.perf_counter() - start)
        return out


class _StepTimer:
    """Forward hooks on the backbone: one call per ODE step (CFG is packed into the same call)."""

    def __init__(self, module: Any) -> None:
        self.steps: list[float] = []
        self._t0 = 0.0
        self.handles = [module.register_forward_pre_hook(self._pre), module.register_forward_hook(self._post)]

    def _pre(self, *_: Any) -> None:
        self._t0 = time.perf_counter()

    def _post(self, *_: Any) -> None:
        self.steps.append(time.perf_counter() - self._t0)
        from f5lab.speech.progress import active

        progress = active()
        if progress is not None:  # the line that moves once per flow step (f5lab.speech.progress)
            progress.on_step(self.steps[-1])

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


class _TimedVocoder:
    """The vocoder as infer_batch_process sees it, with its time recorded."""

    def __init__(self, vocoder: Any) -> None:
        self.vocoder, self.seconds = vocoder, 0.0

    def _timed(self, mel: Any) -> Any:
        start = time.perf_counter()
        out = self.vocoder.decode(mel)
        self.seconds += time.perf_counter() - start
        return out

    decode = __call__ = _timed


def versions() -> dict[str, str]:
    """Versions that decide the numbers: f5lab, f5-tts, torch, torchaudio, numpy, Python, platform."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("f5lab", "f5-tts", "torch", "torchaudio", "numpy", "vocos"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    out["python"] = platform.python_version()
    out["platform"] = platform.platform()
    return out


def mel_spec_type(model: Any) -> str:
    """'vocos' or 'bigvgan': which mel front end the CFM was built with (MelSpec keeps only the function)."""
    extractor = getattr(getattr(model, "mel_spec", None), "extractor", None)
    return "bigvgan" if getattr(extractor, "__name__", "").startswith("get_bigvgan") else "vocos"


def model_vocab(model: Any) -> list[str] | None:
    vmap = getattr(model, "vocab_char_map", None)
    return list(vmap) if vmap else None


def resolve_model(model: Any, *, config: Any = None, vocab: str | None = None, device: str = "cpu",
                  dtype: str | None = None, probe: Any = None, catalogue: Any = None,
                  checkpoint: str | Path | None = None, decision: Any = None) -> tuple[Any, dict[str, Any]]:
    """A CFM and what the record says about it: loads a path (timed), or moves a given model.

    A given model carries no file name or config of its own: ``checkpoint`` (the file it was loaded
    from) and ``decision`` (the ``ConfigDecision`` it was loaded under) say them, so the record
    names both without anyone rewriting it afterwards."""
    info: dict[str, Any] = {}
    if decision is not None and config is None:
        config = decision.entry if decision.entry is not None else decision.config
    if isinstance(model, (str, Path)):
        from f5lab.compat.loading import load_model

        start = time.perf_counter()
        # load_model decides (named / recorded / only fit / probe) and keeps the decision on the model
        cfm = load_model(str(model), config=config, vocab=vocab, device=device, dtype=dtype, catalogue=catalogue,
                         probe=probe)
        made = decision or cfm.f5lab_decision
        info.update(path=str(model), file=Path(model).name, load_s=round(time.perf_counter() - start, 4),
                    config=cfm.f5lab_config, config_reason=made.text, decision=made)
    else:
        cfm = model
        if dtype is not None:
            from f5lab.files.checkpoint import torch_dtype

            cfm = cfm.to(torch_dtype(dtype))
        cfm = cfm.to(device).eval()
        named = decision.config if decision is not None else getattr(config, "name", config)
        info.update(path=None if checkpoint is None else str(checkpoint),
                    file=None if checkpoint is None else Path(checkpoint).name, load_s=None,
                    config=None if named is None else str(named))
    first = next(cfm.parameters())
    info.update(backbone=type(cfm.transformer).__name__, parameters=sum(p.numel() for p in cfm.parameters()),
                dtype=str(first.dtype).replace("torch.", ""), device=str(first.device),
                vocab_size=len(cfm.vocab_char_map) if cfm.vocab_char_map else None)
    return cfm, info


def synthesize(model: Any, ref_audio: Any, ref_text: str | None, gen_text: str, *, nfe: int = DEFAULT_NFE,
               cfg_strength: float = DEFAULT_CFG, sway: float | None = DEFAULT_SWAY, speed: float = DEFAULT_SPEED,
               seed: int = 0, duration: float | None = None, dtype: str | None = None, device: str = "cpu",
               vocoder: Any = None, out_dir: str | Path | None = None,
               cross_fade: float = CROSS_FADE_SECONDS, strict_text: bool = False, config: Any = None,
               vocab: str | None = None, probe: Any = None, catalogue: Any = None, lang: str = "en",
               normalize: bool = False, progress: bool = False, force: bool = False, asr: str | None = "auto",
               asr_model_dir: str | Path | None = None, checkpoint: str | Path | None = None,
               decision: ConfigDecision | None = None) -> SynthResult:
    """Speak ``gen_text`` in the voice of ``ref_audio`` (transcript ``ref_text``) with ``model``.

    ``model``: a loaded CFM, or a checkpoint path (loaded with f5lab.compat.loading.load_model using
    ``config``/``vocab``/``catalogue``; ``probe=True`` settles a config the shapes cannot decide
    by the behavioural probe on ``ref_audio`` and records its margin). ``ref_audio``: a file or
    ``(array, sr)``. ``ref_text`` None: the reference is transcribed here (``transcribe_reference``,
    with ``asr``/``asr_model_dir``: 'auto' is the offline ASR for ``lang``), as f5-tts transcribes a
    reference given without its text; the record says which ASR heard it.
    ``checkpoint``/``decision``: for a loaded ``model``, the file it came from and the
    ``f5lab.compat.decision.ConfigDecision`` it was loaded under, recorded in the record's
    ``model`` and ``decision``; for a path, ``decision`` names the config to load.
    ``duration``: total seconds, reference included (f5-tts's ``fix_duration``).
    ``vocoder``: an f5lab Vocoder, a local vocos/BigVGAN directory, or None for Griffin-Lim.
    ``normalize``: both texts go through the ``lang`` normaliser (f5lab.speech.text: numbers,
    money, dates, times, units as words; case and characters fixed against the model's vocab)
    before f5-tts sees them; the record keeps the written and the spoken texts. Off by default:
    the library speaks what it is given, the commands normalise unless ``--no-normalize``.
    ``out_dir``: where the four files go (``OUTPUT_NAMES``); a previous run's are replaced only with
    ``force``, and never the reference clip or any other input.
    Same seed and settings on the same machine give bit-identical audio.
    """
    from f5lab.speech.audio import prepare_reference
    from f5lab.hardware.devices import check_device
    from f5lab import outputs
    from f5lab.speech.vocoders import Vocoder, load_vocoder

    t_start = time.perf_counter()
    if not gen_text or not gen_text.strip():
        raise TextError("the text to speak (--text) is empty")
    if ref_text is not None and not ref_text.strip():
        raise TextError("the reference transcript (--ref-text) is empty: give the words spoken in the reference audio "
                        "(or none, and an --asr to transcribe it)")
    from f5lab.speech.quality import reference_asr, transcribe_reference

    heard_by = reference_asr(asr, lang, asr_model_dir) if ref_text is None else None  # no ASR: one line, now
    check_settings(nfe=nfe, cfg_strength=cfg_strength, sway=sway, speed=speed, seed=seed, duration=duration,
                   cross_fade=cross_fade)
    if isinstance(model, (str, Path)):
        check_device(device)
    inputs = tuple(str(x) for x in (model, ref_audio, vocab, vocoder) if isinstance(x, (str, Path)))
    if out_dir is not None:  # an input among the outputs, or a previous run without force: refused now
        outputs.check_output_dir(out_dir)
        for name in OUTPUT_NAMES if Path(out_dir).is_dir() else ():
            outputs.check_output_file(Path(out_dir) / name, force=force, inputs=outputs.Inputs(list(inputs)))
    if vocab is not None:
        from f5lab.files.vocab import read_vocab

        read_vocab(vocab)  # a broken vocab file: one line now, not after the model is built
    ref = prepare_reference(ref_audio)  # before the model: a bad clip should not cost a 1.3 GB load
    if heard_by is not None:  # what the model conditions on (the clipped reference), heard before it loads
        ref_text = transcribe_reference(ref.wav, ref.sample_rate, heard_by, device)
    check_settings(nfe=nfe, duration=duration, ref_seconds=ref.seconds, seed=seed)
    from f5lab.speech.text import canonical, prepare
    from f5lab.speech.text.analysis import reference_lang

    # the texts the model will get, then the calls f5-tts will make with them, within its frame cap:
    # all before the model loads (normalised against the vocab at hand: the given model's, the --vocab
    # file, else f5-tts's default; checked against the loaded model's below)
    lang = canonical(lang)
    ref_lang = reference_lang(ref_audio if isinstance(ref_audio, (str, Path)) else None, lang)
    raw = {"gen_text": gen_text, "ref_text": ref_text}
    if isinstance(model, (str, Path)):
        from f5lab.files.vocab import read_vocab

        tokens = read_vocab(vocab) if vocab else None
    else:
        tokens = model_vocab(model)
    gen_text = prepare(gen_text, lang, normalize, tokens).text
    ref_text = prepare(ref_text, ref_lang, normalize, tokens).text
    ref_text_used = normalise_ref_text(ref_text)
    chunks = plan_chunks(gen_text, ref_text_used, len(ref.wav) // HOP_LENGTH, speed, duration, cross_fade)
    t_ref = time.perf_counter()
    if probe is True:  # decide an ambiguous config by probe on this very reference clip
        from f5lab.speech.probe import ProbeHook

        probe = ProbeHook(ref_audio, ref_text, seed=seed, vocab=vocab, catalogue=catalogue, device=device)
    cfm, model_info = resolve_model(model, config=config, vocab=vocab, device=device, dtype=dtype, probe=probe,
                                    catalogue=catalogue, checkpoint=checkpoint, decision=decision)
    decision = model_info.pop("decision", decision)  # a path's own decision, when none was given
    if getattr(probe, "result", None) is not None:
        model_info["probe"] = probe.result.to_dict()
    t_loaded = time.perf_counter()
    unknown = text_report(cfm, ref_text, gen_text, strict_text)
    voc = vocoder if isinstance(vocoder, Vocoder) else load_vocoder(vocoder, device=device,
                                                                    mel_spec_type=mel_spec_type(cfm))
    t_prepared = time.perf_counter()
    wav, mel, timing = run_f5tts(cfm, ref.wav, ref.sample_rate, ref_text_used, chunks, voc, nfe=nfe,
                                 cfg_strength=cfg_strength, sway=sway, speed=speed, seed=seed, duration=duration,
                                 device=device, cross_fade=cross_fade, progress=progress)
    t_done = time.perf_counter()
    bad = int(np.count_nonzero(~np.isfinite(wav))) + int(np.count_nonzero(~np.isfinite(mel)))
    if bad:
        raise NonFiniteAudio(f"f5-tts produced {bad} non-finite values (NaN/inf) in the audio or mel; nothing "
                             "written (lower --cfg, or synthesise in fp32)")
    settings = dict(nfe=nfe, cfg_strength=cfg_strength, sway=sway, speed=speed, seed=seed, duration=duration,
                    dtype=model_info["dtype"], device=device, cross_fade=cross_fade, target_rms=TARGET_RMS,
                    ode_method=cfm.odeint_kwargs.get("method", "euler"), max_chars=max_chars_for(
                        ref_text_used, ref.seconds, speed))
    seconds = len(wav) / ref.sample_rate
    synth_s = t_done - t_prepared
    timings = dict(model_load_s=model_info.pop("load_s"), prepare_s=round(t_ref - t_start + t_prepared - t_loaded, 4),
                   sample_s=round(sum(timing["sample"]), 4), vocoder_s=round(timing["vocoder"], 4),
                   steps=len(timing["steps"]), step_mean_s=round(float(np.mean(timing["steps"])), 5)
                   if timing["steps"] else None, per_step_s=[round(s, 5) for s in timing["steps"]],
                   synth_s=round(synth_s, 4), total_s=round(t_done - t_start, 4),
                   rtf=round(synth_s / seconds, 4) if seconds else None)
    from f5lab.speech.quality import signal_metrics

    record = {
        "f5lab_record": "synthesis/1",
        "settings": settings,
        "text": {"lang": lang, "ref_lang": ref_lang, "normalized": normalize, "ref_text": ref_text_used,
                 "gen_text": gen_text, "ref_text_raw": raw["ref_text"], "gen_text_raw": raw["gen_text"], "chunks": chunks,
                 "ref_text_from": "given" if heard_by is None else f"asr: {heard_by.backend}",
                 "ref_text_asr": None if heard_by is None else heard_by.backend,
                 "unknown_chars": [u.to_dict() for u in unknown]},
        "reference": ref.to_dict(),
        "model": model_info,
        "decision": None if decision is None else decision.to_json(),
        "vocoder": voc.to_dict(),
        "versions": versions(),
        "timings": timings,
        "audio": {"sample_rate": ref.sample_rate, "samples": int(len(wav)), "seconds": round(seconds, 4),
                  "sha256": hashlib.sha256(np.ascontiguousarray(wav).tobytes()).hexdigest(),
                  "mel_frames": int(mel.shape[1])},
        "metrics": signal_metrics(wav, ref.sample_rate,
                                  expected_seconds=None if duration is None else duration - ref.seconds),
    }
    result = SynthResult(wav=wav, sample_rate=ref.sample_rate, mel=mel, record=record)
    if out_dir is not None:
        write_outputs(result, out_dir, force=force, inputs=inputs)
    return result


def text_report(cfm: Any, ref_text: str, gen_text: str, strict: bool) -> list[UnknownChar]:
    """Unknown characters of both texts; a warning, or TextError when ``strict``."""
    import warnings

    tokens = model_vocab(cfm)
    if tokens is None:  # a model without a vocab map tokenises utf-8 bytes: nothing is unknown
        return []
    from f5lab.files.vocab import effective

    tokens = effective(tokens)  # a BOM'd token 0 still stands for what follows the BOM
    unknown = check_text(ref_text, tokens, "ref_text") + check_text(gen_text, tokens, "gen_text")
    from f5lab.speech.text.f5tts import unspeakable

    unheard = unspeakable(gen_text, tokens)
    if unheard:
        raise TextError(unheard)
    if unknown:
        msg = ("characters not in the vocabulary (f5-tts reads each as a space): "
               + "; ".join(str(u) for u in unknown))
        if strict:
            raise TextError(msg)
        warnings.warn(msg, UnknownCharWarning, stacklevel=3)
    return unknown


def check_speakable(texts: Any, lang: str = "en", normalize: bool = True, vocab: Any = None,
                    what: str = "the text to speak (--text)") -> None:
    """Before any model or notebook: each text as the model will get it (normalised for ``lang``)
    has at least one character ``vocab`` (a vocab.txt; None: f5-tts's) knows; else TextError."""
    from f5lab.files.vocab import effective
    from f5lab.speech.text import prepare
    from f5lab.speech.text.analysis import vocab_tokens
    from f5lab.speech.text.f5tts import unspeakable

    tokens = frozenset(effective(list(vocab_tokens(vocab)[0])))
    for text in texts if isinstance(texts, (list, tuple)) else (texts,):
        if not text:
            continue
        unheard = unspeakable(prepare(text, lang, normalize, tokens).text, tokens, what)
        if unheard:
            raise TextError(unheard)


class UnknownCharWarning(UserWarning):
    """The text has characters the checkpoint's vocabulary lacks."""


def run_f5tts(cfm: Any, ref_wav: np.ndarray, sr: int, ref_text: str, chunks: list[str], vocoder: Any, *,
              nfe: int, cfg_strength: float, sway: float | None, speed: float, seed: int, duration: float | None,
              device: str, cross_fade: float, progress: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """f5-tts's infer_batch_process on prepared inputs; returns wav, mel and the timings."""
    import torch
    from f5_tts.infer.utils_infer import infer_batch_process

    from contextlib import nullcontext

    from f5lab.speech import progress as moving

    sampler = _SeededSampler(cfm, seed, ref_text, chunks)
    timed = _TimedVocoder(vocoder)
    steps = _StepTimer(cfm.transformer)
    # one line per flow step: the grid's progress when one is open, else this rendering's own (on
    # stderr when ``progress``); f5-tts's tqdm gets a module that prints nothing
    own = moving.active() is None and (progress or os.environ.get(moving.ENV_FILE))
    tracked = moving.tracking([(f"NFE {nfe}", nfe)], terminal=bool(progress)) if own else nullcontext()
    try:
        with tracked:
            if moving.active() is not None:
                moving.active().expect(len(chunks))
            audio = torch.from_numpy(np.ascontiguousarray(ref_wav, dtype=np.float32))[None]
            wav, out_sr, mel = next(infer_batch_process(
                (audio, sr), ref_text, chunks, sampler, timed, mel_spec_type=vocoder.mel_spec_type,
                progress=moving.Silent, target_rms=TARGET_RMS, cross_fade_duration=cross_fade, nfe_step=nfe,
                cfg_strength=cfg_strength, sway_sampling_coef=sway, speed=speed, fix_duration=duration,
                device=device))
    finally:
        steps.remove()
    if wav is None:
        raise TextError("f5-tts produced no audio: the text split into no chunks")
    return (np.asarray(wav, dtype=np.float32).reshape(-1), np.asarray(mel, dtype=np.float32),
            {"sample": sampler.sample_seconds, "vocoder": timed.seconds, "steps": steps.steps})


OUTPUT_NAMES = ("synth.wav", "synth_mel.npy", "synth_mel.png", "synth.json")  # what ``--out`` receives


class NonFiniteAudio(F5LabError):
    """f5-tts returned NaN or infinite samples: nothing is written (exit 1, a negative result)."""

    exit_code = 1


def write_outputs(result: SynthResult, out_dir: str | Path, stem: str = "synth", force: bool = False,
                  inputs: tuple[Any, ...] = ()) -> dict[str, str]:
    """``<stem>.wav``, ``<stem>_mel.npy``, ``<stem>_mel.png`` and ``<stem>.json`` under ``out_dir``, put
    in place together once all four are complete (``f5lab.outputs.unit``): a signal or a full disk
    leave the previous run's files whole. The record (written last) gives each file's size, which
    ``compare`` checks before trusting the others."""
    from f5lab import outputs
    from f5lab.speech.audio import write_wav

    d = Path(out_dir)
    files = {"wav": d / f"{stem}.wav", "mel": d / f"{stem}_mel.npy", "mel_png": d / f"{stem}_mel.png",
             "record": d / f"{stem}.json"}
    if not d.is_dir():
        outputs.make_dirs(d)
    with outputs.unit(list(files.values()), force=force, inputs=inputs):
        write_wav(files["wav"], result.wav, result.sample_rate, force=force)  # byte-stable: no PEAK chunk
        with outputs.file(files["mel"], force=force) as tmp, open(tmp, "wb") as fh:
            np.save(fh, result.mel)
        save_mel_png(result.mel, files["mel_png"], title=result.record["vocoder"]["label"], force=force)
        result.files = {k: str(v) for k, v in files.items()}
        result.record["files"] = result.files
        result.record["file_bytes"] = {k: outputs.pending_size(files[k]) for k in ("wav", "mel", "mel_png")}
        outputs.write_text(files["record"], json.dumps(result.record, indent=2, ensure_ascii=False), force=force)
    return result.files


def draw_mel(ax: Any, mel: np.ndarray, sample_rate: int = SAMPLE_RATE, hop: int = HOP_LENGTH, title: str = "") -> Any:
    """A log-mel spectrogram on ``ax`` with seconds on the x axis (frames x hop / rate) and a
    labelled colour bar; returns the image."""
    frames = mel.shape[1]
    im = ax.imshow(mel, origin="lower", aspect="auto", interpolation="nearest",
                   extent=(0.0, frames * hop / sample_rate, -0.5, mel.shape[0] - 0.5))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel bin")
    if title:
        ax.set_title(title, fontsize=9)
    ax.figure.colorbar(im, ax=ax, pad=0.01).set_label("log mel magnitude", fontsize=8)
    return im


def save_mel_png(mel: np.ndarray, path: str | Path, title: str = "", sample_rate: int = SAMPLE_RATE,
                 force: bool = False, figsize: tuple[float, float] = (10, 3.5)) -> None:
    """The mel spectrogram as a picture at 2x resolution (200 dpi for a page laid out at 100; Agg,
    no software metadata so reruns are byte-stable)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    draw_mel(ax, mel, sample_rate, title=title)
    fig.tight_layout()
    from f5lab.figures import save_png

    save_png(fig, path, dpi=200, force=force, close=True)

"""Reference audio: read any common file, check it, clip it like f5-tts, resample to 24 kHz mono.

f5-tts's ``preprocess_ref_audio_text`` decodes through pydub (ffmpeg for anything but
wav), clips to at most ~12 s at silences, trims the edges, then ``infer_batch_process``
averages channels and resamples. It also transcribes with a hub Whisper when the text is
empty and caches by file hash, so f5lab cannot call it as is: this module decodes with
soundfile (wav/flac/ogg/mp3, no ffmpeg needed), then runs the same pydub silence steps
with the same thresholds (checked against f5-tts in tests/test_synth.py).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from f5lab.errors import F5LabError
from f5lab.facts import SAMPLE_RATE

MIN_REFERENCE_SECONDS = 0.5  # shorter prompts give f5-tts nothing to time the new text against
SILENCE_DBFS = -60.0  # a reference whose RMS is below this is treated as silent
CLIP_MS = 12000  # f5-tts keeps at most 12 s of reference


class AudioError(F5LabError):
    """The reference audio is missing, empty, undecodable, silent or too short."""


@dataclass
class Reference:
    """A prepared reference clip: what synthesis conditions on, and where it came from."""

    wav: np.ndarray = field(repr=False)  # float32 mono at ``sample_rate``
    sample_rate: int
    source: str
    source_sample_rate: int
    source_seconds: float
    clipped: bool
    notes: list[str]
    sha256: str

    @property
    def seconds(self) -> float:
        return len(self.wav) / self.sample_rate

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("wav")
        d["seconds"] = round(self.seconds, 4)
        d["source_seconds"] = round(self.source_seconds, 4)
        return d


READ_SECONDS = 30.0  # of a longer clip only this much is decoded: f5-tts keeps at most 12 s (+ 1 s of silence
# kept around each piece), all from the clip's start, so the clip it keeps lies in the first 30 s


def read_audio(path: str | Path, max_seconds: float | None = READ_SECONDS) -> tuple[np.ndarray, int]:
    """Decode ``path`` to float32 mono and its sample rate; clear errors for bad files. Only the
    first ``max_seconds`` are decoded (a 30-minute clip costs what 30 s cost); None: all of it."""
    wav, sr, _total = read_audio_head(path, max_seconds)
    return wav, sr


def read_audio_head(path: str | Path, max_seconds: float | None = READ_SECONDS) -> tuple[np.ndarray, int, float]:
    """``read_audio`` plus the clip's whole length in seconds (from its header, not decoded)."""
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AudioError(f"{p}: reference audio not found")
    if p.is_dir():
        raise AudioError(f"{p}: is a directory, give an audio file (wav, flac, ogg or mp3)")
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: reference audio is empty (0 bytes)")
    try:
        with sf.SoundFile(str(p)) as fh:
            sr, total = int(fh.samplerate), int(fh.frames)
            frames = -1 if max_seconds is None or sr <= 0 else int(math.ceil(max_seconds * sr))
            data = fh.read(frames=frames, dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError / TypeError by version
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioError(f"{p}: cannot decode audio ({reason}); use wav, flac, ogg or mp3") from None
    if data.size == 0:
        raise AudioError(f"{p}: reference audio has no samples")
    seconds = max(total, len(data)) / sr if sr > 0 else 0.0
    return to_mono(data), sr, seconds


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks (a long clip is never held whole)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average channels as f5-tts does; accepts (samples,) or (samples, channels)."""
    data = np.asarray(data, dtype=np.float32)
    return data.mean(axis=1).astype(np.float32) if data.ndim == 2 else data


def resample(wav: np.ndarray, sr: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """torchaudio's sinc resampler, the one ``infer_batch_process`` uses (same defaults)."""
    if sr == target:
        return np.asarray(wav, dtype=np.float32)
    import torch
    import torchaudio.functional as F

    return F.resample(torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)), sr, target).numpy()


def rms_dbfs(wav: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if len(wav) else 0.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def clip_like_f5tts(wav: np.ndarray, sr: int) -> tuple[np.ndarray, int, list[str]]:
    """f5-tts's reference clipping (``preprocess_ref_audio_text`` steps 1-3 and edge trim).

    Split on >=1 s silences below -50 dBFS and keep whole pieces up to 12 s; failing that,
    split on >=0.1 s silences below -40 dBFS; failing that, cut at 12 s. Then trim leading
    and trailing silence below -42 dBFS and append 50 ms of silence. Returns the clip, its
    sample rate (pydub may raise it to 11025 Hz when joining with its silent segments) and
    notes on what was done.
    """
    AudioSegment, silence = _pydub()
    # x 32768 (not 32767): int16 audio read as float comes back bit-exact, as when pydub reads the file
    pcm = np.clip(np.round(np.asarray(wav, dtype=np.float64) * 32768.0), -32768, 32767).astype("<i2")
    aseg = AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=sr, channels=1)
    notes: list[str] = []
    kept = _join_until_12s(silence.split_on_silence(aseg, min_silence_len=1000, silence_thresh=-50,
                                                     keep_silence=1000, seek_step=10))
    if len(kept) > CLIP_MS:
        kept = _join_until_12s(silence.split_on_silence(aseg, min_silence_len=100, silence_thresh=-40,
                                                         keep_silence=1000, seek_step=10))
        notes.append("clipped at a short silence (f5-tts step 2)")
    elif len(aseg) > CLIP_MS:
        notes.append("clipped at a long silence (f5-tts step 1)")
    if len(kept) > CLIP_MS:
        kept = kept[:CLIP_MS]
        notes.append("cut at 12 s: no usable silence (f5-tts step 3)")
    kept = _trim_edges(kept) + AudioSegment.silent(duration=50)
    out = np.frombuffer(kept.raw_data, dtype="<i2").astype(np.float32) / 32768.0
    if kept.channels > 1:
        out = out.reshape(-1, kept.channels).mean(axis=1)
    return out.astype(np.float32), int(kept.frame_rate), notes


def _pydub() -> tuple[Any, Any]:
    """pydub, without its import-time warning about ffmpeg (f5lab never asks pydub to decode)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from pydub import AudioSegment, silence
    return AudioSegment, silence


def _join_until_12s(segments: list) -> Any:
    AudioSegment, _ = _pydub()

    joined = AudioSegment.silent(duration=0)
    for seg in segments:
        if len(joined) > 6000 and len(joined + seg) > CLIP_MS:
            break
        joined += seg
    return joined


def _trim_edges(aseg: Any, threshold: float = -42) -> Any:
    """f5-tts's ``remove_silence_edges``, on pydub directly (no f5-tts import needed)."""
    _, silence = _pydub()
    aseg = aseg[silence.detect_leading_silence(aseg, silence_threshold=threshold):]
    end = silence.detect_leading_silence(aseg.reverse(), silence_threshold=threshold)
    return aseg[: len(aseg) - end] if end > 0 else aseg


def prepare_reference(ref: str | Path | tuple[np.ndarray, int], clip: bool = True) -> Reference:
    """Read (a path) or take ``(array, sample_rate)``, check, clip like f5-tts, resample to 24 kHz."""
    if isinstance(ref, (str, Path)):
        wav, sr, source_seconds = read_audio_head(ref, READ_SECONDS if clip else None)
        source = str(ref)
        digest = file_sha256(ref)
    else:
        arr, sr = ref
        wav, sr = to_mono(np.asarray(arr)), int(sr)
        source = "array"
        digest = hashlib.sha256(np.ascontiguousarray(wav).tobytes()).hexdigest()
        source_seconds = len(wav) / sr if sr > 0 else 0.0
    check_signal(wav, sr, source)
    source_sr = sr
    notes: list[str] = []
    if clip:
        wav, sr, notes = clip_like_f5tts(wav, sr)
        if len(wav) / sr < MIN_REFERENCE_SECONDS + 0.05:
            raise AudioError(f"{source}: after trimming silence only {len(wav) / sr:.2f} s of speech is left; "
                             f"give at least {MIN_REFERENCE_SECONDS} s")
    out = resample(wav, sr)
    return Reference(wav=out, sample_rate=SAMPLE_RATE, source=source, source_sample_rate=source_sr,
                     source_seconds=source_seconds, clipped=bool(notes), notes=notes, sha256=digest)


def reference_length(path: str | Path) -> dict[str, Any]:
    """What ``prepare_reference`` makes of a clip, in length only, without torch (``f5lab text``):
    the same checks and clipping, then the 24 kHz sample count torchaudio's resampler returns."""
    from f5lab.speech.text.f5tts import resampled_length

    wav, sr, total = read_audio_head(path)
    check_signal(wav, sr, str(path))
    clipped, clip_sr, notes = clip_like_f5tts(wav, sr)
    if len(clipped) / clip_sr < MIN_REFERENCE_SECONDS + 0.05:
        raise AudioError(f"{path}: after trimming silence only {len(clipped) / clip_sr:.2f} s of speech is left; "
                         f"give at least {MIN_REFERENCE_SECONDS} s")
    samples = resampled_length(len(clipped), clip_sr)
    return {"source": str(path), "source_seconds": round(total, 4), "samples": samples,
            "seconds": samples / SAMPLE_RATE, "clipped": bool(notes), "notes": notes}


def check_signal(wav: np.ndarray, sr: int, source: str) -> None:
    """Refuse audio that would make f5-tts divide by zero or time the text against nothing."""
    if sr <= 0:
        raise AudioError(f"{source}: invalid sample rate {sr}")
    if not np.isfinite(wav).all():
        raise AudioError(f"{source}: audio contains NaN or infinite samples")
    seconds = len(wav) / sr
    if seconds < MIN_REFERENCE_SECONDS:
        raise AudioError(f"{source}: reference audio is too short ({seconds:.2f} s); give at least "
                         f"{MIN_REFERENCE_SECONDS} s (f5-tts works best with 3-12 s)")
    level = rms_dbfs(wav)
    if level < SILENCE_DBFS:
        shown = "-inf" if level == -math.inf else f"{level:.1f}"
        raise AudioError(f"{source}: reference audio is silent (RMS {shown} dBFS, below {SILENCE_DBFS:.0f})")


def write_wav(path: str | Path, wav: np.ndarray, sample_rate: int, force: bool = False, pcm16: bool = False) -> Path:
    """A mono 32-bit float WAV whose bytes depend on the samples and rate alone.

    libsndfile (soundfile) adds a PEAK chunk carrying the write time to float WAVs, so two
    bit-identical syntheses gave files with different bytes (and hashes). This writer emits
    only what the format needs: RIFF, ``fmt `` (WAVE_FORMAT_IEEE_FLOAT, 18 bytes), ``fact``
    (sample count, required for non-PCM data) and ``data``.

    ``pcm16``: 16-bit PCM instead (``fmt `` of 16 bytes, no ``fact``), samples clipped to [-1, 1]:
    half the bytes, and what every browser's audio player decodes (the sweep page's players).
    """
    import struct

    flat = np.asarray(wav, dtype=np.float32).reshape(-1)
    if pcm16:
        samples = np.ascontiguousarray(np.round(np.clip(np.nan_to_num(flat), -1.0, 1.0) * 32767).astype("<i2"))
        data = samples.tobytes()
        fmt = struct.pack("<HHIIHH", 1, 1, int(sample_rate), int(sample_rate) * 2, 2, 16)
        chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data))
    else:
        samples = np.ascontiguousarray(flat.astype("<f4"))
        data = samples.tobytes()
        fmt = struct.pack("<HHIIHHH", 3, 1, int(sample_rate), int(sample_rate) * 4, 4, 32, 0)
        chunks = (b"fmt " + struct.pack("<I", len(fmt)) + fmt
                  + b"fact" + struct.pack("<II", 4, len(samples))
                  + b"data" + struct.pack("<I", len(data)))
    from f5lab import outputs

    p = Path(path)
    with outputs.file(p, force=force) as tmp, open(tmp, "wb") as fh:
        fh.write(b"RIFF" + struct.pack("<I", 4 + len(chunks) + len(data)) + b"WAVE" + chunks)
        fh.write(data)
    return p

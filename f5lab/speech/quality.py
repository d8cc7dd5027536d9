"""Numbers about audio: what a setting costs, measured.

Always available, offline: timing against the expected duration, clipping, silence and
level (``signal_metrics``), and distances between two renderings of the same text
(``mel_distance``: log-mel L1 and mel-cepstral distortion) for fp16 vs fp32 or NFE 16 vs 32.
Behind small interfaces: ASR + WER (pocketsphinx, whose English model ships in its wheel;
faster-whisper from a user's local model directory) and speaker similarity (resemblyzer,
whose encoder weights ship in its wheel). ``compare_records`` says what changed between
two synthesis records.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from f5lab import facts
from f5lab.errors import F5LabError

SILENCE_DBFS = -50.0  # a 20 ms frame quieter than this counts as silence
CLIP_LEVEL = 0.999
MCD_COEFFS = 13  # cepstral coefficients c1..c13 (c0, the energy, is left out)


class QualityError(F5LabError):
    """A backend that is not installed or has no model, or records that cannot be compared."""


# -- signal metrics ----------------------------------------------------------------------------------------
def _dbfs(x: float) -> float:
    return 20 * math.log10(x) if x > 0 else -math.inf


def signal_metrics(wav: Any, sr: int, expected_seconds: float | None = None) -> dict[str, Any]:
    """Duration (and its error against ``expected_seconds``), peak, RMS, clipping and silence ratios."""
    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    seconds = len(x) / sr if sr else 0.0
    finite = np.isfinite(x)
    xf = np.where(finite, x, 0.0)
    frame = max(1, int(0.02 * sr))
    n = len(xf) // frame
    frames_rms = np.sqrt(np.mean(np.square(xf[: n * frame].reshape(n, frame)), axis=1)) if n else np.zeros(0)
    rms = float(np.sqrt(np.mean(np.square(xf)))) if len(xf) else 0.0
    out = {
        "seconds": round(seconds, 4),
        "sample_rate": int(sr),
        "peak": round(float(np.max(np.abs(xf))) if len(xf) else 0.0, 6),
        "rms": round(rms, 6),
        "rms_dbfs": round(_dbfs(rms), 2) if rms > 0 else None,
        "clipping_ratio": round(float(np.mean(np.abs(xf) >= CLIP_LEVEL)) if len(xf) else 0.0, 6),
        "silence_ratio": round(float(np.mean(frames_rms < 10 ** (SILENCE_DBFS / 20))) if n else 1.0, 4),
        "non_finite": int((~finite).sum()),
    }
    if expected_seconds is not None:
        out["expected_seconds"] = round(float(expected_seconds), 4)
        out["duration_error_s"] = round(seconds - float(expected_seconds), 4)
    return out


# -- mel distances -----------------------------------------------------------------------------------------
def log_mel(wav: Any, sr: int = facts.SAMPLE_RATE) -> np.ndarray:
    """f5-tts's vocos log-mel (100 bins, hop 256, natural log of magnitudes clamped at 1e-5)."""
    import torch
    import torchaudio

    from f5lab.speech.audio import resample

    x = resample(np.asarray(wav, dtype=np.float32).reshape(-1), sr, facts.SAMPLE_RATE)
    spec = torchaudio.transforms.MelSpectrogram(sample_rate=facts.SAMPLE_RATE, n_fft=facts.N_FFT,
                                                win_length=facts.WIN_LENGTH, hop_length=facts.HOP_LENGTH,
                                                n_mels=facts.N_MELS, power=1, center=True, normalized=False, norm=None)
    return spec(torch.from_numpy(x)).clamp(min=1e-5).log().numpy()


def _as_mel(x: Any, sr: int) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    return a if a.ndim == 2 else log_mel(a, sr)


def mel_distance(a: Any, b: Any, sr: int = facts.SAMPLE_RATE) -> dict[str, Any]:
    """Mel L1 and mel-cepstral distortion (dB) between two renderings of the same text.

    ``a``/``b``: waveforms (1-D, at ``sr``) or log-mels [n_mels, frames]. Frames are compared
    one to one over the shorter length (same text and seed give aligned frames; the frame
    counts are reported so a length change is visible).
    """
    from scipy.fft import dct

    ma, mb = _as_mel(a, sr), _as_mel(b, sr)
    if ma.shape[0] != mb.shape[0]:
        raise QualityError(f"mel bins differ ({ma.shape[0]} vs {mb.shape[0]}): not comparable")
    n = min(ma.shape[1], mb.shape[1])
    if n == 0:
        raise QualityError("one rendering has no frames")
    da, db = ma[:, :n].astype(np.float64), mb[:, :n].astype(np.float64)
    ca = dct(da, type=2, axis=0, norm="ortho")[1:MCD_COEFFS + 1]
    cb = dct(db, type=2, axis=0, norm="ortho")[1:MCD_COEFFS + 1]
    mcd = (10.0 / math.log(10.0)) * np.sqrt(2.0 * np.sum((ca - cb) ** 2, axis=0))
    return {"mel_l1": round(float(np.mean(np.abs(da - db))), 6), "mcd_db": round(float(np.mean(mcd)), 4),
            "frames_a": int(ma.shape[1]), "frames_b": int(mb.shape[1]), "frames_compared": int(n)}


# -- ASR and WER -------------------------------------------------------------------------------------------
class ASRBackend(Protocol):
    name: str
    language: str

    def transcribe(self, wav: Any, sr: int) -> str: ...


class PocketsphinxASR:
    """CMU pocketsphinx with the US-English model that ships inside its wheel: offline, always there.

    Weak next to Whisper (expect WER ~10-30% on clean read speech) but real, so the ASR code
    path runs in CI.
    """

    name = "pocketsphinx"
    language = "en"

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=16000, logfn="/dev/null")

    def transcribe(self, wav: Any, sr: int) -> str:
        from f5lab.speech.audio import resample, to_mono

        x = resample(to_mono(np.asarray(wav)), sr, 16000)
        pcm = (np.clip(x, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        d = self._decoder
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr if hyp is not None else ""


class FasterWhisperASR:
    """faster-whisper (CTranslate2) from a local model directory the user converted or downloaded."""

    name = "faster-whisper"

    def __init__(self, model_dir: str | Path, language: str | None = None, device: str = "cpu",
                 compute_type: str = "int8") -> None:
        d = Path(model_dir)
        if not (d / "model.bin").is_file():
            raise QualityError(f"{d}: not a faster-whisper model directory (no model.bin); f5lab never downloads one")
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise QualityError("faster-whisper is not installed: pip install faster-whisper") from None
        self.language = language or "auto"
        self._lang = None if language in (None, "auto") else language.split("-")[0]
        self._model = WhisperModel(str(d), device=device, compute_type=compute_type, local_files_only=True)

    def transcribe(self, wav: Any, sr: int) -> str:
        from f5lab.speech.audio import resample, to_mono

        x = resample(to_mono(np.asarray(wav)), sr, 16000)
        segments, _ = self._model.transcribe(x, language=self._lang, beam_size=5)
        return " ".join(s.text.strip() for s in segments)


ASR_BACKENDS = ("pocketsphinx", "faster-whisper")


def get_asr(name: str = "pocketsphinx", model_dir: str | Path | None = None, language: str | None = None,
            device: str = "cpu") -> ASRBackend:
    """An ASR backend by name: 'pocketsphinx' (English, offline) or 'faster-whisper' (needs ``model_dir``)."""
    if name == "pocketsphinx":
        if language not in (None, "en", "en-us", "en-US"):
            raise QualityError(f"pocketsphinx ships an English model only (asked for {language}); "
                               "use faster-whisper with a local model directory")
        return PocketsphinxASR()
    if name == "faster-whisper":
        if model_dir is None:
            raise QualityError("faster-whisper needs model_dir (--asr-model-dir): a local CTranslate2 Whisper "
                               "model directory")
        return FasterWhisperASR(model_dir, language=language, device=device)
    raise QualityError(f"unknown ASR backend {name!r}; known: {', '.join(ASR_BACKENDS)}")


ASR_CHOICES = ("auto", "pocketsphinx", "faster-whisper", "none")
POCKETSPHINX_LANGUAGES = ("en", "en-us", "en-US")


@dataclass
class ASRChoice:
    """Which ASR scores a rendering, decided (and checked) before any work: ``backend`` None
    means no WER, ``note`` says why when it was wanted ("no WER: no ASR for pt offline")."""

    backend: str | None
    language: str
    model_dir: str | None = None
    note: str | None = None

    def load(self, device: str = "cpu") -> ASRBackend | None:
        return None if self.backend is None else get_asr(self.backend, self.model_dir, self.language, device)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_asr(asr: str | None, lang: str = "en", model_dir: str | Path | None = None,
               language: str | None = None) -> ASRChoice:
    """The ASR for ``--asr`` in ``lang``: 'auto' is pocketsphinx for English and no WER otherwise
    (its model is US English only, the one ASR that ships offline); 'faster-whisper' needs a local
    model directory and the package, checked here so a bad one is one line before any work.
    ``language``: the ASR's language code (default: the text's, 'pt' for pt-BR)."""
    from f5lab.speech.text import asr_language

    language = language or asr_language(lang)
    if not asr or asr == "none":  # off (False: a sweep's "--asr none" over its file)
        return ASRChoice(None, language)
    if asr not in ASR_CHOICES:
        raise QualityError(f"--asr {asr!r}: unknown; use {', '.join(ASR_CHOICES)}")
    if asr == "auto":
        if language in POCKETSPHINX_LANGUAGES:
            return ASRChoice("pocketsphinx", language)
        return ASRChoice(None, language, note=no_wer_note(language))
    if asr == "pocketsphinx":
        if language not in POCKETSPHINX_LANGUAGES:
            raise QualityError(f"--asr pocketsphinx: its model is US English only, not {language}; use --asr "
                               "faster-whisper --asr-model-dir DIR, or --asr none")
        return ASRChoice("pocketsphinx", language)
    return ASRChoice("faster-whisper", language, model_dir=str(check_whisper_dir(model_dir)))


def reference_asr(asr: str | None, lang: str = "en", model_dir: str | Path | None = None) -> ASRChoice:
    """The ASR that will transcribe a reference given without its transcript, checked before any
    audio is read: none at all (``asr`` None, or 'auto' in a language no offline ASR hears) is
    refused in one line rather than guessing the words the model is conditioned on."""
    choice = choose_asr(asr, lang, model_dir)
    if choice.backend is None:
        why = choice.note.replace("no WER: ", "") if choice.note else "no --asr given"
        raise QualityError(f"no reference transcript (--ref-text) and nothing to transcribe it ({why}): give "
                           "--ref-text, or --asr faster-whisper --asr-model-dir DIR")
    return choice


def transcribe_reference(wav: Any, sr: int, choice: ASRChoice, device: str = "cpu") -> str:
    """The words of a reference clip, heard by ``choice`` (``reference_asr``): what f5-tts's own
    ``preprocess_ref_audio_text`` does with Whisper when no reference text is given, offline here.
    An empty transcript is refused: the model would be conditioned on silence."""
    text = choice.load(device).transcribe(wav, sr).strip()
    if not text:
        raise QualityError(f"{choice.backend} heard no words in the reference clip: give --ref-text")
    return text


def no_wer_note(language: str) -> str:
    return f"no WER: no ASR for {language.split('-')[0]} offline"


def check_whisper_dir(model_dir: str | Path | None) -> Path:
    """A faster-whisper model directory that can be used, or one line saying why not."""
    import importlib.util

    if model_dir is None:
        raise QualityError("--asr faster-whisper needs --asr-model-dir DIR: a local CTranslate2 Whisper model "
                           "(f5lab never downloads one)")
    d = Path(model_dir)
    if not d.is_dir():
        raise QualityError(f"{d}: no such faster-whisper model directory (--asr-model-dir)")
    if not (d / "model.bin").is_file():
        raise QualityError(f"{d}: not a faster-whisper model directory (no model.bin) (--asr-model-dir)")
    if importlib.util.find_spec("faster_whisper") is None:
        raise QualityError("--asr faster-whisper: the faster-whisper package is not installed "
                           "(pip install faster-whisper; f5lab does not depend on it)")
    return d.resolve()


def normalize_text(text: str, lang: str = "en") -> str:
    """Lowercase words without punctuation, for WER; pt-BR keeps its accents, both split hyphens.

    en: curly apostrophes straightened, kept inside words ("don't"). pt/pt-BR: accents kept
    (they change words: "é"/"e"), hyphenated clitics split ("fala-se" -> "fala se").
    Numbers are not spelled out here; ``spoken_words`` (what ``wer`` uses) does that first.
    """
    t = unicodedata.normalize("NFC", text).lower().replace("’", "'").replace("‘", "'")
    t = re.sub(r"[-‐‑–—]", " ", t)
    keep_apostrophe = lang.lower().startswith("en")
    chars = []
    for c in t:
        cat = unicodedata.category(c)
        if c == "'" and keep_apostrophe:
            chars.append(c)
        elif cat.startswith("P") or cat.startswith("S"):
            chars.append(" ")
        else:
            chars.append(c)
    words = [w.strip("'") for w in "".join(chars).split()]
    return " ".join(w for w in words if w)


def wer(ref: str, hyp: str, lang: str = "en") -> float:
    """Word error rate of ``hyp`` against ``ref`` after ``normalize_text`` (jiwer)."""
    return float(wer_details(ref, hyp, lang)["wer"])


def spoken_words(text: str, lang: str = "en") -> str:
    """``text`` as words for WER: through the language's synthesis normaliser first (so "R$ 5" in
    the reference and "cinco reais" in the transcript are the same words; f5lab.speech.text), then
    ``normalize_text``. A language without text rules gets ``normalize_text`` only."""
    from f5lab.errors import ConfigError
    from f5lab.speech.text import normalize

    try:
        text = normalize(text, lang)
    except ConfigError:  # no table for this language: compare the words as written
        pass
    return normalize_text(text, lang)


def wer_details(ref: str, hyp: str, lang: str = "en") -> dict[str, Any]:
    """WER with its substitutions, deletions, insertions and the normalised texts; reference and
    transcript go through the same normaliser (``spoken_words``)."""
    import jiwer

    r, h = spoken_words(ref, lang), spoken_words(hyp, lang)
    if not r:
        raise QualityError("the reference text is empty after normalisation")
    out = jiwer.process_words(r, h if h else "")
    return {"wer": round(float(out.wer), 4), "substitutions": out.substitutions, "deletions": out.deletions,
            "insertions": out.insertions, "reference": r, "hypothesis": h, "lang": lang}


# -- speaker similarity ----------------------------------------------------------------------------------------
class SpeakerBackend(Protocol):
    name: str

    def embed(self, wav: Any, sr: int) -> np.ndarray: ...


class ResemblyzerSpeaker:
    """Resemblyzer's GE2E voice encoder; its weights (pretrained.pt, 17 MB) ship in the wheel."""

    name = "resemblyzer"

    def __init__(self, device: str = "cpu") -> None:
        try:
            from resemblyzer import VoiceEncoder
        except ImportError:
            raise QualityError("resemblyzer is not installed: pip install resemblyzer") from None
        self._encoder = VoiceEncoder(device=device, verbose=False)

    def embed(self, wav: Any, sr: int) -> np.ndarray:
        from resemblyzer import preprocess_wav

        from f5lab.speech.audio import resample, to_mono

        # resample with torchaudio first: librosa's resampler costs seconds on its first call
        x = preprocess_wav(resample(to_mono(np.asarray(wav)), sr, 16000))
        if len(x) < 1600:
            raise QualityError("too little voiced audio for a speaker embedding (< 0.1 s after trimming silence)")
        return self._encoder.embed_utterance(x)


def get_speaker(name: str = "resemblyzer", device: str = "cpu") -> SpeakerBackend:
    if name == "resemblyzer":
        return ResemblyzerSpeaker(device=device)
    raise QualityError(f"unknown speaker backend {name!r}; known: resemblyzer")


def speaker_similarity(ref_wav: Any, ref_sr: int, gen_wav: Any, gen_sr: int,
                       backend: str | SpeakerBackend = "resemblyzer") -> float:
    """Cosine similarity of the two speaker embeddings (1 = same voice; unrelated voices ~0.5-0.7)."""
    enc = get_speaker(backend) if isinstance(backend, str) else backend
    a, b = enc.embed(ref_wav, ref_sr), enc.embed(gen_wav, gen_sr)
    return round(float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))), 4)


def evaluate(wav: Any, sr: int, *, text: str | None = None, lang: str = "en", asr: ASRBackend | None = None,
             ref: tuple[Any, int] | None = None, speaker: SpeakerBackend | str | None = None,
             expected_seconds: float | None = None) -> dict[str, Any]:
    """Everything measurable about one rendering: signal metrics, plus WER of ``text`` through ``asr``
    and speaker similarity to ``ref`` (``(wav, sr)``) when those are given."""
    out: dict[str, Any] = {"signal": signal_metrics(wav, sr, expected_seconds)}
    if asr is not None and text:
        hyp = asr.transcribe(wav, sr)
        out["asr"] = {"backend": asr.name, **wer_details(text, hyp, lang)}
    if ref is not None and speaker is not None:
        enc = get_speaker(speaker) if isinstance(speaker, str) else speaker
        out["speaker_similarity"] = {"backend": enc.name, "cosine": speaker_similarity(ref[0], ref[1], wav, sr, enc)}
    return out


# -- comparing two synthesis records ------------------------------------------------------------------------
def load_record(r: str | Path | dict[str, Any]) -> dict[str, Any]:
    if isinstance(r, dict):
        return r
    p = Path(r)
    if p.is_dir():
        p = p / "synth.json"
    if not p.is_file():
        raise QualityError(f"{p}: synthesis record not found")
    try:
        rec = json.loads(p.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise QualityError(f"{p}: not a synthesis record (binary, not UTF-8 JSON); give a synth.json or "
                           "its folder") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        why = f"{exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise QualityError(f"{p}: not JSON ({why})") from None
    if not isinstance(rec, dict) or not str(rec.get("f5lab_record", "")).startswith("synthesis/"):
        raise QualityError(f"{p}: not an f5lab synthesis record (no 'f5lab_record' field)")
    from f5lab.schemas import validate

    validate(record_schema(), rec, p, error=QualityError)
    check_complete(p, rec)
    return rec


def record_schema() -> Any:
    """What compare reads of a synthesis record (pydantic); other keys are kept, unread."""
    from typing import Annotated, Literal

    from pydantic import BaseModel, ConfigDict, Field

    class Audio(BaseModel):
        model_config = ConfigDict(extra="allow")
        sha256: str | None = None
        seconds: Annotated[float, Field(allow_inf_nan=False)] | None = None

    class Record(BaseModel):
        model_config = ConfigDict(extra="allow")
        f5lab_record: Literal["synthesis/1"]
        settings: dict[str, Any] = {}
        model: dict[str, Any] = {}
        vocoder: dict[str, Any] = {}
        text: dict[str, Any] = {}
        reference: dict[str, Any] = {}
        versions: dict[str, Any] = {}
        timings: dict[str, Any] = {}
        audio: Audio = Audio()
        metrics: dict[str, Any] = {}
        files: dict[str, str] = {}
        file_bytes: dict[str, int | None] = {}

    return Record


def check_complete(path: Path, rec: dict[str, Any]) -> None:
    """A record is trusted only whole: not inside a folder still being written, and every file it
    lists of the size it recorded (a deleted or replaced wav/mel is named, not compared)."""
    from f5lab.outputs import incomplete

    why = incomplete(path, levels=2)
    if why:
        raise QualityError(f"{path}: part of an unfinished result ({why})")
    for kind, size in rec.get("file_bytes", {}).items():
        f = rec.get("files", {}).get(kind)
        if not f or size is None:
            continue
        if not Path(f).exists() and (path.parent / Path(f).name).exists():  # the folder was moved
            f = str(path.parent / Path(f).name)
        try:
            actual = Path(f).stat().st_size
        except OSError:
            raise QualityError(f"{path}: its {kind} file {f} is missing; the record is incomplete") from None
        if actual != size:
            raise QualityError(f"{path}: its {kind} file {f} has {actual} bytes, the record says {size}: changed "
                               "since the synthesis")


def _diff(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "a": a.get(k), "b": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def compare_records(a: str | Path | dict[str, Any], b: str | Path | dict[str, Any]) -> dict[str, Any]:
    """What changed from record A to record B: settings, model, vocoder, versions, timings, audio, metrics.

    When both records point at mel arrays that exist, their distance (mel L1, MCD) is added.
    """
    ra, rb = load_record(a), load_record(b)
    flat_model = lambda r: {k: v for k, v in r.get("model", {}).items() if not isinstance(v, (dict, list))}  # noqa: E731
    out: dict[str, Any] = {
        "settings": _diff(ra.get("settings", {}), rb.get("settings", {})),
        "model": _diff(flat_model(ra), flat_model(rb)),
        "vocoder": _diff(ra.get("vocoder", {}), rb.get("vocoder", {})),
        "text": _diff({k: v for k, v in ra.get("text", {}).items() if k != "unknown_chars"},
                      {k: v for k, v in rb.get("text", {}).items() if k != "unknown_chars"}),
        "reference": _diff({"sha256": ra.get("reference", {}).get("sha256")},
                           {"sha256": rb.get("reference", {}).get("sha256")}),
        "versions": _diff(ra.get("versions", {}), rb.get("versions", {})),
    }
    ta, tb = ra.get("timings", {}), rb.get("timings", {})
    out["timings"] = {k: {"a": ta.get(k), "b": tb.get(k), "ratio": _ratio(ta.get(k), tb.get(k))}
                      for k in ("model_load_s", "sample_s", "step_mean_s", "vocoder_s", "synth_s", "rtf")
                      if ta.get(k) is not None or tb.get(k) is not None}
    aa, ab = ra.get("audio", {}), rb.get("audio", {})
    out["audio"] = {"identical": bool(aa.get("sha256")) and aa.get("sha256") == ab.get("sha256"),
                    "seconds": {"a": aa.get("seconds"), "b": ab.get("seconds")}}
    ma, mb = ra.get("metrics", {}), rb.get("metrics", {})
    out["metrics"] = {k: {"a": ma.get(k), "b": mb.get(k)} for k in sorted(set(ma) | set(mb))
                      if ma.get(k) != mb.get(k)}
    mel_a, mel_b = ra.get("files", {}).get("mel"), rb.get("files", {}).get("mel")
    if mel_a and mel_b and Path(mel_a).is_file() and Path(mel_b).is_file():
        out["mel_distance"] = mel_distance(_load_mel(mel_a), _load_mel(mel_b))
    return out


def _load_mel(path: str | Path) -> np.ndarray:
    """A record's mel array; a damaged file is named in one line (never unpickled: allow_pickle off)."""
    try:
        mel = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else "damaged"
        raise QualityError(f"{path}: not a readable mel array ({why})") from None
    if not isinstance(mel, np.ndarray) or mel.ndim != 2 or not np.issubdtype(mel.dtype, np.floating):
        raise QualityError(f"{path}: not a mel array [n_mels, frames] of floats")
    return mel


def _ratio(a: Any, b: Any) -> float | None:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a:
        return round(b / a, 4)
    return None

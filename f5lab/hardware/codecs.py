"""What inference needs beyond pip: torchcodec and the FFmpeg shared libraries it loads.

Since torchaudio 2.9, ``torchaudio.load`` decodes through torchcodec, and torchcodec's audio decoder
needs FFmpeg's shared libraries (majors 4 to 9 for torchcodec 0.17; 4 to 8 before). pip installs
neither FFmpeg nor a way to find it, so a venv built from PyPI alone has torchaudio, torchcodec and
no working ``torchaudio.load``: f5-tts's ``infer_process`` (hence ``F5TTS.infer`` and
``f5-tts_infer-cli``) reads the reference clip with it and fails with "Could not load
libtorchcodec" (F5-TTS issues #1234, #1235, #1257). ``infer_batch_process`` takes an ``(audio, sr)``
tensor and needs no FFmpeg; f5lab and the service snippet f5lab prints read audio with soundfile.

``judge_inference`` is the judgement, from explicit facts (testable with any inputs);
``inference_check`` gathers the facts here: torchcodec's version, which FFmpeg majors' libraries
load, and whether ``torchaudio.load`` really reads a WAV held in memory (nothing is written).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

# FFmpeg major -> libavutil's soname major (FFmpeg's release notes: 4.x avutil 56, 5.x 57, 6.x 58,
# 7.x 59, 8.x 60); torchcodec 0.17 also ships a build for FFmpeg 9, whose soname f5lab has not checked
AVUTIL_MAJOR = {4: 56, 5: 57, 6: 58, 7: 59, 8: 60}
# torchcodec release -> the torch release it is built for (torchcodec's README table; 0.15 and later
# are "compatible with torch >= 2.11", per their release notes). Anything else: not judged
TORCHCODEC_TORCH = {"0.0": "2.4", "0.1": "2.5", "0.2": "2.6", "0.3": "2.7", "0.4": "2.7", "0.5": "2.7",
                    "0.6": "2.8", "0.7": "2.8", "0.8": "2.9", "0.9": "2.9"}
TORCHCODEC_MIN_TORCH = {15: "2.11"}  # from this torchcodec minor on: torch >= this

BREAKS = "torchaudio.load, hence f5-tts's infer_process, F5TTS.infer and f5-tts_infer-cli"
INSTALL = {
    "Debian/Ubuntu": "sudo apt-get install ffmpeg",
    "Fedora": "sudo dnf install ffmpeg-free",
    "macOS": "brew install ffmpeg",
    "conda (any OS)": "conda install -c conda-forge 'ffmpeg<9'",
    "Windows": "a 'full-shared' FFmpeg build (its DLLs) on PATH, e.g. conda install -c conda-forge ffmpeg",
}


def _minor(version: str) -> tuple[int, int] | None:
    parts = version.split("+")[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def torchcodec_pairs(torchcodec: str | None, torch: str | None) -> tuple[bool | None, str]:
    """Whether a torchcodec version is built for this torch (None: cannot tell), and why."""
    if torchcodec is None:
        return None, "torchcodec is not installed (torchaudio 2.9 and later need it for torchaudio.load)"
    tc, tv = _minor(torchcodec), _minor(torch or "")
    if tc is None or tv is None:
        return None, f"torchcodec {torchcodec} with torch {torch or 'not installed'}: cannot tell"
    key = f"{tc[0]}.{tc[1]}"
    if key in TORCHCODEC_TORCH:
        want = TORCHCODEC_TORCH[key]
        ok = f"{tv[0]}.{tv[1]}" == want
        return ok, f"torchcodec {torchcodec} is built for torch {want}" + ("" if ok else f", not {torch}")
    floor = next((v for m, v in sorted(TORCHCODEC_MIN_TORCH.items(), reverse=True) if tc[0] == 0 and tc[1] >= m), None)
    if floor is not None:
        ok = tv >= _minor(floor)
        return ok, f"torchcodec {torchcodec} needs torch >= {floor}" + ("" if ok else f", not {torch}")
    return None, f"torchcodec {torchcodec}: not in f5lab's pairing table (torchcodec's README has it)"


@dataclass
class InferenceCheck:
    """Can f5-tts's inference read audio here: the facts and the verdict."""

    ok: bool | None  # False: torchaudio.load fails here; None: not judged (no torchaudio)
    line: str  # the one line
    torchaudio: str | None = None
    torchcodec: str | None = None
    torchcodec_pairs: bool | None = None
    torchcodec_note: str = ""
    ffmpeg_majors: list[int] = field(default_factory=list)
    loads: bool | None = None  # torchaudio.load on a WAV in memory
    error: str | None = None  # its first line when it failed
    breaks: str = BREAKS
    install: dict[str, str] = field(default_factory=lambda: dict(INSTALL))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge_inference(torchaudio: str | None, torchcodec: str | None, torch: str | None, ffmpeg_majors: list[int],
                    loads: bool | None, error: str | None = None) -> InferenceCheck:
    """The verdict from facts: ``loads`` (did ``torchaudio.load`` read a WAV; None: not tried) wins;
    the rest says why. torchaudio before 2.9 decodes without torchcodec."""
    pairs, note = torchcodec_pairs(torchcodec, torch)
    found = f"FFmpeg {', '.join(map(str, sorted(ffmpeg_majors)))} shared libraries found" if ffmpeg_majors else \
        "no FFmpeg shared libraries found"
    facts = dict(torchaudio=torchaudio, torchcodec=torchcodec, torchcodec_pairs=pairs, torchcodec_note=note,
                 ffmpeg_majors=sorted(ffmpeg_majors), loads=loads, error=error)
    if torchaudio is None:
        return InferenceCheck(ok=None, line="torchaudio is not installed: f5-tts cannot run", **facts)
    old = _minor(torchaudio)
    if old is not None and old < (2, 9) and loads is not False:
        return InferenceCheck(ok=True, line=f"torchaudio {torchaudio} decodes audio without torchcodec", **facts)
    if loads:
        major = max(ffmpeg_majors) if ffmpeg_majors else None
        which = f"FFmpeg {major}" if major else "FFmpeg (major not identified)"
        return InferenceCheck(ok=True, line=f"torchaudio.load works: torchcodec {torchcodec} loads {which}", **facts)
    if torchcodec is None:
        why = "torchcodec is not installed"
    elif pairs is False:
        why = note
    elif not ffmpeg_majors:
        why = f"torchcodec {torchcodec} finds no FFmpeg shared libraries (majors 4 to 9)"
    else:
        why = f"torchcodec {torchcodec} could not load ({found}; {note})"
    said = f": {error}" if error and not ffmpeg_majors and torchcodec else ""
    fix = "install FFmpeg: " + "; ".join(f"{k}: {v}" for k, v in INSTALL.items()) if not ffmpeg_majors else \
        "install the torchcodec built for this torch"
    return InferenceCheck(ok=False if loads is False else None,
                          line=(f"FFmpeg: {why}; this breaks {BREAKS}{said} (f5lab and its service snippet read audio "
                                f"with soundfile and still run); {fix}"), **facts)


def ffmpeg_majors() -> list[int]:
    """The FFmpeg majors whose libavutil the dynamic loader finds here (ctypes; nothing is decoded)."""
    found = []
    for major, so in AVUTIL_MAJOR.items():
        name = (f"avutil-{so}.dll" if sys.platform == "win32" else
                f"libavutil.{so}.dylib" if sys.platform == "darwin" else f"libavutil.so.{so}")
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        found.append(major)
    if not found:  # a build with another soname: the generic name, major unknown
        generic = ctypes.util.find_library("avutil")
        if generic:
            digits = "".join(ch for ch in generic.split("avutil")[-1] if ch.isdigit() and ch.isascii())
            so = int(digits) if digits else 0
            found += [m for m, s in AVUTIL_MAJOR.items() if s == so]
    return found


def _wav_bytes() -> Any:
    import io

    import numpy as np
    import soundfile as sf

    from f5lab.facts import SAMPLE_RATE

    buf = io.BytesIO()
    sf.write(buf, np.zeros(SAMPLE_RATE // 10, dtype="float32"), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    buf.seek(0)
    return buf


def inference_check() -> InferenceCheck:
    """The facts here, judged: torchaudio and torchcodec versions, FFmpeg majors, and whether
    ``torchaudio.load`` reads a 0.1 s WAV held in memory. Imports torchaudio (``f5lab doctor`` only)."""
    from f5lab.hardware.stack import dist_version

    audio, codec, torch = dist_version("torchaudio"), dist_version("torchcodec"), dist_version("torch")
    majors = ffmpeg_majors()
    loads, error = None, None
    if audio is not None:
        try:
            import torchaudio

            torchaudio.load(_wav_bytes())
            loads = True
        except Exception as exc:  # noqa: BLE001 - any failure of the user's path is the finding
            loads = False
            text = str(exc).strip().splitlines()
            first = re.sub(r" for <[^>]*>", "", text[0] if text else "")  # no memory address
            first = first.split(" Likely causes")[0]
            error = f"{type(exc).__name__}: {first}"[:240]
    if loads and not majors:  # torchcodec may carry its own FFmpeg: ask it which major it loaded
        try:
            from torchcodec._core import ops

            majors = [int(ops.ffmpeg_major_version)] if getattr(ops, "ffmpeg_major_version", None) else []
        except Exception:  # noqa: BLE001 - private API: only a detail of the line
            pass
    return judge_inference(audio, codec, torch, majors, loads, error)

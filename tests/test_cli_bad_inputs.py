"""Every f5lab command against every bad input it takes (issue 9 §2).

One parametrised test runs each (command, bad input) case through the real CLI and holds it
to the exit-code contract (docs/exit-codes.md): 2 for bad input or usage, 1 only for a
negative verdict; one line on stderr, ``f5lab: error: ...``, naming the path or option; no
``Traceback`` anywhere. The corpus is built here: tiny real checkpoints, then broken on
purpose. ``test_every_command_is_covered`` fails when a command has no case, so the next
command cannot ship untested. Signals and the file-size limit need their own process; they
are the only subprocess tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from f5lab.model.arch import f5_tts_root
from f5lab.speech.audio import write_wav
from f5lab.cli.commands import main
from f5lab.files.vocab import default_vocab_path, read_vocab, write_vocab
from tests._forkrun import as_in_a_terminal

REF_WAV = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
REF_TEXT = "Some call me nature, others call me mother nature."
ROOT = Path(__file__).parents[1]
NO_INPUT = {"demo": "takes no input: it builds the full-scale demo checkpoint itself"}


# -- the corpus -----------------------------------------------------------------------------------
def _header(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def _write_st(path: Path, header: dict | bytes, data: bytes) -> Path:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def _aliased(good: Path, path: Path) -> Path:
    """A real tiny F5 model whose second tensor of some shape points at the first one's bytes."""
    header, data = _header(good)
    seen: dict[tuple, str] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        key = (entry["dtype"], tuple(entry["shape"]))
        if key in seen:
            entry["data_offsets"] = list(header[seen[key]]["data_offsets"])
            break
        seen[key] = name
    return _write_st(path, header, data)


def _zero_output(good: Path, path: Path) -> Path:
    """Untrained-init weights: proj_out and norm_out all zero, so the forward output is exactly 0."""
    from safetensors.torch import load_file, save_file

    sd = load_file(str(good))
    for k in sd:
        if ".proj_out." in k or ".norm_out." in k:
            sd[k] = sd[k].zero_()
    save_file(sd, str(path), metadata={"format": "pt"})
    return path


def _vocabs(d: Path) -> dict[str, Path]:
    tokens = read_vocab()
    out = {"vocab_empty": d / "empty_vocab.txt", "vocab_nonutf8": d / "latin1_vocab.txt",
           "vocab_dups": d / "dups_vocab.txt", "vocab_disjoint": d / "disjoint_vocab.txt",
           "vocab_crlf": d / "crlf_vocab.txt"}
    out["vocab_empty"].write_bytes(b"")
    out["vocab_nonutf8"].write_bytes("\n".join(tokens[:50]).encode("utf-8") + b"\n\xe9t\xe9\n")
    write_vocab(tokens[:-1] + [tokens[5]], out["vocab_dups"])
    write_vocab([chr(c) for c in range(0x10A0, 0x10A0 + 40)], out["vocab_disjoint"])  # Georgian: none shared
    out["vocab_crlf"].write_bytes(default_vocab_path().read_bytes().replace(b"\n", b"\r\n"))
    return out


def _audio(d: Path) -> dict[str, Path]:
    out = {"silent": write_wav(d / "silent.wav", np.zeros(48000, dtype=np.float32), 24000),
           "short": write_wav(d / "short.wav", (0.3 * np.sin(np.arange(2400) / 5)).astype(np.float32), 24000),
           "ref": REF_WAV}
    return out


def _texts(d: Path) -> dict[str, Path]:
    out = {"nonutf8": d / "cp1252.txt", "empty_text": d / "empty.txt", "blank_text": d / "blank.txt",
           "unknown_text": d / "unknown.txt", "json_list": d / "list.json", "json_other": d / "other.json"}
    out["nonutf8"].write_bytes("Olá, coração".encode("cp1252"))
    out["empty_text"].write_bytes(b"")
    out["blank_text"].write_bytes(b" \n\t\n")
    out["unknown_text"].write_text("ⴀⴁⴂ ⴃⴄ", encoding="utf-8")  # Georgian Nuskhuri: not in the default vocab
    out["json_list"].write_text("[1, 2, 3]")
    out["json_other"].write_text('{"f5lab_record": "other/1"}')
    out["record_bad_mel"] = d / "record_with_a_damaged_mel"  # a valid record whose mel array is random bytes
    out["record_bad_mel"].mkdir()
    (out["record_bad_mel"] / "damaged_mel.npy").write_bytes(np.random.default_rng(3).bytes(512))
    (out["record_bad_mel"] / "synth.json").write_text(json.dumps(
        {"f5lab_record": "synthesis/1", "files": {"mel": str(out["record_bad_mel"] / "damaged_mel.npy")}}))
    return out


def _readonly_dir(d: Path) -> Path:
    """A folder nothing can be created in. Root ignores permission bits, so root gets /sys."""
    if os.geteuid() == 0:
        return Path("/sys")
    ro = d / "readonly"
    ro.mkdir()
    ro.chmod(0o555)
    return ro


@pytest.fixture(scope="module")
def corpus(make_fixture, tmp_path_factory) -> dict[str, str]:
    """name -> path of every bad (and a few good) inputs; built once for the module."""
    from f5lab.model.arch import tiny_catalogue
    from f5lab.compat.remap import execute_plan, plan_remap

    d = tmp_path_factory.mktemp("bad_inputs")
    good = make_fixture("F5TTS_Base", "release_safetensors").path
    ext = make_fixture("F5TTS_Base", "extended_vocab_safetensors")
    e2 = make_fixture("E2TTS_Base", "release_safetensors").path
    rng = np.random.default_rng(9)
    c: dict[str, Path] = {"good": good, "e2": e2, "ext": ext.path, "ext_vocab": ext.vocab_path,
                          "dir": d / "a_folder", "missing": d / "no_such_file.safetensors",
                          "random": d / "random.safetensors", "random_pt": d / "random.pt",
                          "empty": d / "zero_bytes.safetensors", "st_as_pt": d / "safetensors_inside.pt",
                          "random_wav": d / "random.wav", "empty_wav": d / "empty.wav"}
    c["dir"].mkdir()
    c["random"].write_bytes(rng.bytes(4096))
    c["random_pt"].write_bytes(rng.bytes(4096))
    c["random_wav"].write_bytes(rng.bytes(4096))
    c["empty"].write_bytes(b"")
    c["empty_wav"].write_bytes(b"")
    shutil.copy(good, c["st_as_pt"])
    c["good_copy"] = d / "copy_of_good.safetensors"
    shutil.copy(good, c["good_copy"])
    c["overlap"] = _aliased(good, d / "aliased_offsets.safetensors")
    c["infinity"] = _write_st(d / "infinity.safetensors",
                              b'{"w": {"dtype": "F32", "shape": [Infinity], "data_offsets": [0, 16]}}', b"\0" * 16)
    c["deep"] = _write_st(d / "deep.safetensors", b"[" * 100_000 + b"]" * 100_000, b"")
    c["bert"] = _write_st(d / "bert.safetensors", {"encoder.layer.0.weight": {
        "dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, b"\0" * 16)
    c["zero_out"] = _zero_output(good, d / "zero_output.safetensors")
    c["zero_out_copy"] = d / "zero_output_copy.safetensors"
    shutil.copy(c["zero_out"], c["zero_out_copy"])
    c["ext_remapped"] = d / "ext_remapped.safetensors"
    execute_plan(plan_remap(ext.path, "F5TTS_Base", vocab_from=str(ext.vocab_path), catalogue=tiny_catalogue()),
                 c["ext_remapped"], fsync=False)
    c["ext_moved"] = d / "ext_rows_moved_to_default_vocab.safetensors"  # verifying it needs both vocab files
    execute_plan(plan_remap(ext.path, "F5TTS_Base", vocab_from=str(ext.vocab_path), vocab_to=str(default_vocab_path()),
                            catalogue=tiny_catalogue()), c["ext_moved"], fsync=False)
    c["readonly"] = _readonly_dir(d)
    c["a_file"] = d / "existing.txt"
    c["a_file"].write_text("I am a file")
    c["whisper_dir"] = d / "whisper_model"  # looks like a faster-whisper model (model.bin), package absent
    c["whisper_dir"].mkdir()
    (c["whisper_dir"] / "model.bin").write_bytes(b"\0")
    for part in (_vocabs(d), _audio(d), _texts(d)):
        c.update(part)
    return {k: str(v) for k, v in c.items()}


@pytest.fixture
def tiny_installed(corpus):
    """The CLI ranks against the installed configs; make those the tiny ones for one test
    (f5lab's own catalogue function is swapped wherever a module holds it; f5-tts is untouched).
    Fixtures are built outside it (the corpus first): building under it would shrink twice."""
    import f5lab.compat.diagnose, f5lab.model.inspection, f5lab.compat.loading, f5lab.hardware.memory, f5lab.speech.probe  # noqa: E401,F401
    import f5lab.compat.remap, f5lab.reporting.reports, f5lab.speech.synth, f5lab.cli.main  # noqa: E401,F401
    from f5lab.model.arch import tiny_catalogue

    tiny = tiny_catalogue()
    with pytest.MonkeyPatch.context() as mp:
        for name, module in list(sys.modules.items()):
            if name.startswith("f5lab") and hasattr(module, "shipped_configs"):
                mp.setattr(module, "shipped_configs", lambda: tiny)
        yield tiny


# -- the cases ------------------------------------------------------------------------------------
# (id, argv, exit code, needles in the one stderr line). {name} is a corpus path; {out} a fresh
# folder and {dst} a fresh file path of the case; a needle "{name}" means the path's base name.
CKPT_INPUTS = ["random", "random_pt", "empty", "dir", "missing", "overlap", "infinity", "deep", "bert"]
CKPT_COMMANDS = {
    "inspect": ["inspect", "{x}"],
    "diagnose": ["diagnose", "{x}"],
    "matrix": ["matrix", "{x}"],
    "profile": ["profile", "{x}"],
    "remap": ["remap", "{x}", "{dst}", "--config", "F5TTS_Base", "--no-verify"],
    "verify-src": ["verify", "{x}", "{good}", "--config", "F5TTS_Base"],
    "verify-dst": ["verify", "{good}", "{x}", "--config", "F5TTS_Base"],
    "synth": ["synth", "{x}", "--ref-audio", "{ref}", "--ref-text", REF_TEXT, "--text", "Hi.", "--out", "{out}",
              "--configs", "tiny", "--nfe", "2"],
    "probe": ["probe", "{x}", "--ref-audio", "{ref}", "--ref-text", REF_TEXT, "--configs", "tiny"],
    "report": ["report", "{x}", "--out", "{out}"],
    "lineage": ["lineage", "{x}", "--base", "{good}"],
    "lineage-base": ["lineage", "{good}", "--base", "{x}"],
}
CASES: list[tuple[str, list[str], int, list[str]]] = [
    (f"{cmd}-{x}", [a.replace("{x}", "{" + x + "}") for a in argv], 2, ["{" + x + "}"])
    for cmd, argv in CKPT_COMMANDS.items() for x in CKPT_INPUTS
]
SYNTH = ["synth", "{good}", "--ref-audio", "{ref}", "--ref-text", REF_TEXT, "--text", "Hello.", "--out", "{out}",
         "--configs", "tiny", "--config", "F5TTS_Base", "--nfe", "2"]
PROBE = ["probe", "{good}", "--ref-audio", "{ref}", "--ref-text", REF_TEXT, "--configs", "tiny", "--samples", "1"]
REPORT = ["report", "{good}", "--out", "{out}"]
PROFILE = ["profile", "{good}"]
REMAP = ["remap", "{good}", "{dst}", "--config", "F5TTS_Base"]


def with_(base: list[str], *extra: str) -> list[str]:
    return base + list(extra)


def replace_opt(base: list[str], option: str, value: str) -> list[str]:
    out = list(base)
    out[out.index(option) + 1] = value
    return out


CASES += [
    # synthesis settings: refused before the reference is read or the model loaded
    *[(f"synth-nfe-{v}", replace_opt(SYNTH, "--nfe", v), 2, ["--nfe"]) for v in ("0", "-1", "100000")],
    *[(f"synth-speed-{v}", with_(SYNTH, "--speed", v), 2, ["--speed"]) for v in ("0", "-1", "inf", "nan", "1e9")],
    *[(f"synth-duration-{v}", with_(SYNTH, "--duration", v), 2, ["--duration"]) for v in ("0", "-5", "1", "inf")],
    *[(f"synth-seed-{v}", with_(SYNTH, "--seed", v), 2, ["--seed"]) for v in ("-1", str(2**64), "1e20")],
    *[(f"synth-cfg-{v}", with_(SYNTH, "--cfg", v), 2, ["--cfg"]) for v in ("nan", "inf", "-1")],
    ("synth-sway-nan", with_(SYNTH, "--sway", "nan"), 2, ["--sway"]),
    *[(f"synth-device-{v or 'blank'}", with_(SYNTH, "--device", v), 2, ["--device"]) for v in ("cuda", "gpu0", "")],
    ("synth-out-is-a-file", replace_opt(SYNTH, "--out", "{a_file}"), 2, ["{a_file}"]),
    ("synth-out-readonly", replace_opt(SYNTH, "--out", "{readonly}/synth_out"), 2, ["synth_out"]),
    *[(f"synth-ref-{x}", replace_opt(SYNTH, "--ref-audio", "{" + x + "}"), 2, ["{" + x + "}"])
      for x in ("missing", "dir", "empty_wav", "random_wav", "silent", "short", "nonutf8")],
    *[(f"synth-text-file-{x}", with_([a for a in SYNTH if a not in ("--text", "Hello.")], "--text-file",
                                     "{" + x + "}"), 2, ["{" + x + "}"])
      for x in ("nonutf8", "empty_text", "blank_text", "random", "dir", "missing")],
    *[(f"synth-vocab-{x}", with_(SYNTH, "--vocab", "{" + x + "}"), 2, ["{" + x + "}"])
      for x in ("vocab_empty", "vocab_nonutf8", "missing", "dir")],
    *[(f"synth-vocoder-{x}", with_(SYNTH, "--vocoder", "{" + x + "}"), 2, ["{" + x + "}"])
      for x in ("dir", "missing", "random")],
    ("synth-asr-without-model-dir", [a for a in SYNTH if a not in ("--ref-text", REF_TEXT)] +
     ["--asr", "faster-whisper"], 2, ["--asr-model-dir"]),
    ("synth-config-unknown", replace_opt(SYNTH, "--config", "F5TTS_Huge"), 2, ["F5TTS_Huge"]),
    ("synth-config-other-backbone", replace_opt(SYNTH, "--config", "E2TTS_Base"), 2, ["E2TTS_Base"]),
    ("probe-candidate-unknown", with_(PROBE, "--candidate", "F5TTS_Huge"), 2, ["F5TTS_Huge"]),
    ("synth-text-all-unknown", [a if a != "Hello." else "ⴀⴁⴂ ⴃⴄ" for a in SYNTH], 2, ["vocabulary"]),
    ("synth-asr-silent-clip", [a for a in replace_opt(SYNTH, "--ref-audio", "{silent}")
                               if a not in ("--ref-text", REF_TEXT)] + ["--asr", "pocketsphinx"], 2, ["{silent}"]),
    # probe
    *[(f"probe-samples-{v}", replace_opt(PROBE, "--samples", v), 2, ["--samples"]) for v in ("0", "-2")],
    ("probe-seed-negative", with_(PROBE, "--seed", "-1"), 2, ["--seed"]),
    *[(f"probe-device-{v}", with_(PROBE, "--device", v), 2, ["--device"]) for v in ("cuda", "tpu7")],
    *[(f"probe-ref-{x}", replace_opt(PROBE, "--ref-audio", "{" + x + "}"), 2, ["{" + x + "}"])
      for x in ("missing", "random_wav", "silent")],
    ("probe-vocab-nonutf8", with_(PROBE, "--vocab", "{vocab_nonutf8}"), 2, ["{vocab_nonutf8}"]),
    # report: settings validated before any notebook runs
    *[(f"report-nfe-{v}", with_(REPORT, "--nfe", v), 2, ["--nfe"]) for v in ("0", "-3")],
    ("report-seed-negative", with_(REPORT, "--seed", "-1"), 2, ["--seed"]),
    ("report-gpu-unknown", with_(REPORT, "--gpu", "Voodoo 5"), 2, ["Voodoo 5"]),
    ("report-device-bogus", with_(REPORT, "--device", "tpu"), 2, ["--device"]),
    ("report-vocab-nonutf8", with_(REPORT, "--vocab", "{vocab_nonutf8}"), 2, ["{vocab_nonutf8}"]),
    *[(f"report-ref-{x}", with_(REPORT, "--ref-audio", "{" + x + "}", "--ref-text", "x"), 2, ["{" + x + "}"])
      for x in ("missing", "silent", "random_wav", "empty_wav")],
    ("report-out-readonly", replace_opt(REPORT, "--out", "{readonly}/reports"), 2, ["reports"]),
    # profile
    ("profile-nfe-0", with_(PROFILE, "--nfe", "0"), 2, ["nfe"]),
    *[(f"profile-seconds-{v}", with_(PROFILE, "--seconds", v), 2, ["seconds"]) for v in ("0", "-1", "nan", "inf")],
    ("profile-batch-0", with_(PROFILE, "--batch", "0"), 2, ["batch"]),
    ("profile-ref-seconds-negative", with_(PROFILE, "--ref-seconds", "-1"), 2, ["seconds"]),
    ("profile-gpu-unknown", with_(PROFILE, "--gpu", "Voodoo 5"), 2, ["Voodoo 5"]),
    ("profile-measure-cuda", with_(PROFILE, "--measure", "cuda"), 2, ["cuda"]),
    ("profile-plot-readonly", with_(PROFILE, "--plot", "{readonly}/peak.png"), 2, ["peak.png"]),
    ("profile-measure-aliased", ["profile", "{overlap}", "--measure", "cpu", "--nfe", "1"], 2, ["{overlap}"]),
    ("profile-torch-malformed", with_(PROFILE, "--torch", "2.x"), 2, ["--torch", "2.x"]),
    ("profile-torch-unpublished", with_(PROFILE, "--torch", "2.11.0+cu124"), 2, ["--torch", "cu124"]),
    ("report-torch-malformed", with_(REPORT, "--torch", "latest"), 2, ["--torch", "latest"]),
    # doctor: the build to judge and the target cards
    ("doctor-torch-malformed", ["doctor", "--torch", "banana"], 2, ["--torch", "banana"]),
    ("doctor-torch-unpublished", ["doctor", "--torch", "2.11.0+cu124"], 2, ["--torch", "cu124"]),
    ("doctor-gpu-unknown", ["doctor", "--gpu", "Voodoo 5"], 2, ["Voodoo 5"]),
    ("doctor-torch-unknown-release", ["doctor", "--torch", "2.3.0+cu121", "--gpu", "T4"], 1, []),  # a verdict
    # serve-check: the candidates a service would try
    ("serve-check-missing", ["serve-check", "{missing}"], 2, ["{missing}"]),
    ("serve-check-random", ["serve-check", "{random}"], 1, []),  # a verdict: that rung is refused, none serves
    ("serve-check-config-mismatch", ["serve-check", "{good}", "{good}", "--config", "F5TTS_Base", "--config",
                                     "F5TTS_Base", "--config", "F5TTS_Base"], 2, ["--config"]),
    # demo-checkpoint
    ("demo-readonly", ["demo-checkpoint", "{readonly}/demo.safetensors"], 2, ["demo.safetensors"]),
    ("demo-out-is-dir", ["demo-checkpoint", "{dir}"], 2, ["{dir}"]),
    ("demo-parent-missing", ["demo-checkpoint", "{missing}/demo.safetensors"], 2, ["{missing}"]),
    ("demo-exists", ["demo-checkpoint", "{a_file}"], 2, ["{a_file}", "--force"]),
    ("demo-config-unknown", ["demo-checkpoint", "{dst}", "--config", "F5TTS_Huge"], 2, ["F5TTS_Huge"]),
    ("demo-layout-unknown", ["demo-checkpoint", "{dst}", "--layout", "zip"], 2, ["zip"]),
    ("demo-scale-unknown", ["demo-checkpoint", "{dst}", "--scale", "huge"], 2, ["--scale"]),
    # diagnose
    *[(f"diagnose-error-file-{x}", ["diagnose", "--error-file", "{" + x + "}"], 2, ["{" + x + "}"])
      for x in ("empty_text", "blank_text", "random", "nonutf8", "random_pt", "missing", "dir", "a_file")],
    *[(f"diagnose-vocab-{x}", ["diagnose", "{good}", "--vocab", "{" + x + "}"], 2, ["{" + x + "}"])
      for x in ("vocab_empty", "vocab_nonutf8", "missing")],
    ("diagnose-config-unknown", ["diagnose", "{good}", "--config", "F5TTS_Huge"], 2, ["F5TTS_Huge"]),
    ("diagnose-nothing", ["diagnose"], 2, ["PATH"]),
    # matrix
    *[(f"matrix-vocab-{x}", ["matrix", "{good}", "--vocab", "{" + x + "}"], 2, ["{" + x + "}"])
      for x in ("vocab_empty", "vocab_nonutf8")],
    # remap: destination, options, vocabularies, all before a byte is written
    ("remap-dst-readonly", ["remap", "{good}", "{readonly}/o.safetensors", "--config", "F5TTS_Base"], 2,
     ["o.safetensors"]),
    ("remap-dst-is-dir", ["remap", "{good}", "{dir}", "--config", "F5TTS_Base"], 2, ["{dir}"]),
    ("remap-dst-is-src", ["remap", "{good}", "{good}", "--config", "F5TTS_Base", "--force"], 2, ["{good}"]),
    ("remap-dst-exists", ["remap", "{good}", "{a_file}", "--config", "F5TTS_Base"], 2, ["{a_file}"]),
    ("remap-config-unknown", replace_opt(REMAP, "--config", "F5TTS_Huge"), 2, ["F5TTS_Huge"]),
    ("remap-config-other-backbone", replace_opt(REMAP, "--config", "E2TTS_Base"), 2, ["E2TTS_Base"]),
    ("remap-dst-pt", ["remap", "{good}", "{out}.pt", "--config", "F5TTS_Base"], 2, ["out.pt"]),
    ("demo-pt-with-safetensors-layout", ["demo-checkpoint", "{out}.pt"], 2, ["out.pt"]),
    ("remap-dtype-unknown", with_(REMAP, "--dtype", "fp8"), 2, ["--dtype"]),
    ("remap-raw-on-release", with_(REMAP, "--raw"), 2, ["{good}", "raw"]),
    *[(f"remap-vocab-to-{x}", with_(REMAP, "--vocab-to", "{" + x + "}"), 2, ["{" + x + "}"])
      for x in ("vocab_empty", "vocab_nonutf8", "vocab_dups", "vocab_disjoint", "dir", "missing")],
    *[(f"remap-vocab-from-{x}", with_(REMAP, "--vocab-from", "{" + x + "}", "--vocab-to", "{vocab_crlf}"), 2,
       ["{" + x + "}"]) for x in ("vocab_empty", "vocab_nonutf8", "vocab_dups")],
    ("remap-ext-without-its-vocab-to-default", ["remap", "{ext}", "{dst}", "--config", "F5TTS_Base",
                                                "--vocab-to", str(default_vocab_path())], 2, ["vocab"]),
    # verify
    ("verify-vocab-remap-without-vocabs", ["verify", "{ext}", "{ext_moved}", "--config", "F5TTS_Base"], 2,
     ["vocab"]),
    ("verify-another-model", ["verify", "{good}", "{e2}", "--config", "F5TTS_Base"], 1, []),  # a verdict: not verified
    *[(f"verify-vocab-from-{x}", ["verify", "{good}", "{good}", "--config", "F5TTS_Base", "--vocab-from",
                                 "{" + x + "}"], 2, ["{" + x + "}"]) for x in ("vocab_empty", "vocab_nonutf8")],
    # compare: records, not audio or random bytes
    *[(f"compare-{x}", ["compare", "{" + x + "}", "{" + x + "}"], 2, ["{" + x + "}"])
      for x in ("ref", "random", "nonutf8", "missing", "dir", "json_list", "json_other", "empty_text")],
    ("compare-damaged-mel", ["compare", "{record_bad_mel}", "{record_bad_mel}"], 2, ["damaged_mel.npy"]),
    # sweep: sources and settings refused before a cluster starts
    *[(f"sweep-{x}", ["sweep", "{" + x + "}", "--out", "{out}"], 2, ["{" + x + "}"])
      for x in ("missing", "random", "dir", "bert")],
    ("sweep-nfe-0", ["sweep", "{good}", "--nfe", "0", "--out", "{out}"], 2, ["--nfe"]),
    ("sweep-seed-negative", ["sweep", "{good}", "--seed", "-1", "--out", "{out}"], 2, ["--seed"]),
    ("sweep-loss-samples-0", ["sweep", "{good}", "--loss-samples", "0", "--out", "{out}"], 2, ["--loss-samples"]),
    ("sweep-val-text-alone", ["sweep", "{good}", "--val-text", "hi", "--out", "{out}"], 2, ["--val-text"]),
    ("sweep-ref-missing", ["sweep", "{good}", "--ref-audio", "{missing}", "--ref-text", "x", "--out", "{out}"], 2,
     ["{missing}"]),
    ("sweep-workers-0", ["sweep", "{good}", "--workers", "0", "--out", "{out}"], 2, ["--workers"]),
    *[(f"sweep-base-{x}", ["sweep", "{good}", "--base", "{" + x + "}", "--out", "{out}"], 2, ["{" + x + "}"])
      for x in ("missing", "random")],
    # lineage: bases and vocabularies refused before any tensor is compared
    *[(f"lineage-vocab-{x}", ["lineage", "{ext}", "--base", "{good}", "--vocab", "{" + x + "}"], 2, ["{" + x + "}"])
      for x in ("vocab_empty", "vocab_nonutf8", "missing", "dir")],
    ("lineage-vocab-wrong-rows", ["lineage", "{ext}", "--base", "{good}", "--vocab", "{vocab_crlf}"], 2,
     ["--vocab", "{vocab_crlf}"]),
    ("lineage-base-vocab-nonutf8", ["lineage", "{good}", "--base", "{good_copy}", "--base-vocab", "{vocab_nonutf8}"],
     2, ["{vocab_nonutf8}"]),
    ("lineage-base-other-architecture", ["lineage", "{good}", "--base", "{e2}"], 1, []),  # a verdict: none
    ("lineage-no-path", ["lineage"], 2, ["PATH"]),
    ("diagnose-base-random", ["diagnose", "{good}", "--base", "{random}"], 2, ["{random}"]),
    ("report-base-missing", with_(REPORT, "--base", "{missing}"), 2, ["{missing}"]),
    # text: what f5-tts will see; the language and the ASR of the commands that speak or score
    ("text-nothing", ["text"], 2, ["TEXT"]),
    ("text-blank", ["text", "   "], 2, ["empty"]),
    ("text-and-file", ["text", "Olá", "--text-file", "{a_file}"], 2, ["--text-file"]),
    *[(f"text-file-{x}", ["text", "--text-file", "{" + x + "}"], 2, ["{" + x + "}"])
      for x in ("nonutf8", "empty_text", "blank_text", "dir", "missing")],
    *[(f"text-vocab-{x}", ["text", "Olá", "--vocab", "{" + x + "}"], 2, ["{" + x + "}"])
      for x in ("vocab_empty", "vocab_nonutf8", "missing", "dir")],
    *[(f"text-ref-{x}", ["text", "Olá", "--ref-text", "Oi.", "--ref-audio", "{" + x + "}"], 2, ["{" + x + "}"])
      for x in ("missing", "dir", "empty_wav", "random_wav", "silent", "short")],
    ("text-ref-text-alone", ["text", "Olá", "--ref-text", "Oi."], 2, ["--ref-audio"]),
    ("text-ref-text-blank", ["text", "Olá", "--ref-text", " ", "--ref-audio", "{ref}"], 2, ["--ref-text"]),
    *[(f"{c}-lang-unknown", [*argv, "--lang", "de"], 2, ["--lang"])
      for c, argv in (("text", ["text", "Olá"]), ("synth", SYNTH), ("probe", PROBE), ("report", REPORT),
                      ("sweep", ["sweep", "{good}", "--out", "{out}"]))],
    *[(f"{c}-asr-whisper-{x}", [*argv, "--asr", "faster-whisper", *extra], 2, needles)
      for c, argv in (("report", REPORT), ("sweep", ["sweep", "{good}", "--out", "{out}"]))
      for x, extra, needles in (("no-dir", [], ["--asr-model-dir"]),
                                ("missing-dir", ["--asr-model-dir", "{missing}"], ["{missing}"]),
                                ("invalid-dir", ["--asr-model-dir", "{dir}"], ["{dir}", "model.bin"]),
                                *([("not-installed", ["--asr-model-dir", "{whisper_dir}"], ["faster-whisper"])]
                                  if importlib.util.find_spec("faster_whisper") is None else []))],
    *[(f"{c}-asr-pocketsphinx-pt", [*argv, "--asr", "pocketsphinx", "--lang", "pt-BR"], 2, ["pocketsphinx", "pt"])
      for c, argv in (("report", REPORT), ("sweep", ["sweep", "{good}", "--out", "{out}"]),
                      ("synth", [a for a in SYNTH if a not in ("--ref-text", REF_TEXT)]))],
    *[(f"{c}-vocoder-{x}", [*argv, "--vocoder", "{" + x + "}"], 2, ["{" + x + "}"])
      for c, argv in (("report", REPORT), ("sweep", ["sweep", "{good}", "--out", "{out}"]))
      for x in ("missing", "dir", "a_file")],
    # usage
    ("unknown-command", ["frobnicate"], 2, ["frobnicate"]),
    ("inspect-no-path", ["inspect"], 2, ["PATH"]),
    *[(f"inspect-vocab-{x}", ["inspect", "{good}", "--vocab", "{" + x + "}"], 2, ["{" + x + "}"])
      for x in ("vocab_empty", "vocab_nonutf8", "vocab_disjoint", "missing")],
    ("inspect-write-config-vocab-wrong-rows", ["inspect", "{good}", "--write-config", "{out}.yaml", "--vocab",
                                                "{vocab_disjoint}"], 2, ["{vocab_disjoint}", "rows"]),
]
# inputs that are odd but valid: the command must accept them (exit 0), still without a traceback
ACCEPTED = [
    ("remap-zero-output-checkpoint", ["remap", "{zero_out}", "{dst}", "--config", "F5TTS_Base"]),
    ("verify-zero-output-copy", ["verify", "{zero_out}", "{zero_out_copy}", "--config", "F5TTS_Base"]),
    ("remap-crlf-vocab-to", ["remap", "{good}", "{dst}", "--config", "F5TTS_Base", "--vocab-to", "{vocab_crlf}",
                             "--no-verify"]),
    *[(f"{cmd}-safetensors-named-pt", [cmd, "{st_as_pt}"]) for cmd in ("inspect", "diagnose", "matrix", "profile")],
    ("verify-ext-remapped-without-its-vocab", ["verify", "{ext}", "{ext_remapped}", "--config", "F5TTS_Base"]),
    ("verify-safetensors-named-pt", ["verify", "{good}", "{st_as_pt}", "--config", "F5TTS_Base"]),
    ("diagnose-crlf-vocab", ["diagnose", "{good}", "--vocab", "{vocab_crlf}", "--json"]),
    ("profile-plot-implies-sweep", ["profile", "{good}", "--gpu", "T4", "--plot", "{out}.png"]),
    ("lineage-copy-of-its-base", ["lineage", "{good_copy}", "--base", "{good}", "--json"]),  # identical: a verdict
    ("lineage-safetensors-named-pt", ["lineage", "{st_as_pt}", "--base", "{good}"]),
    ("text-lang-any-case", ["text", "Custa R$ 5.", "--lang", "PT-br", "--json"]),
    ("text-no-normalize-unknown-chars", ["text", "VOVÔ ⴀ", "--no-normalize"]),
    ("text-crlf-vocab", ["text", "Olá", "--vocab", "{vocab_crlf}"]),
]


def expand(argv: list[str], corpus: dict[str, str], tmp: Path) -> list[str]:
    names = {**corpus, "out": str(tmp / "out"), "dst": str(tmp / "dst.safetensors")}
    out = []
    for a in argv:
        for k, v in names.items():
            a = a.replace("{" + k + "}", v)
        out.append(a)
    return out


def needle_of(n: str, corpus: dict[str, str]) -> str:
    return Path(corpus[n[1:-1]]).name if n.startswith("{") and n[1:-1] in corpus else n


def run(argv: list[str]):
    result = CliRunner().invoke(main, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"f5lab {' '.join(argv)} raised {type(result.exception).__name__}:\n{tb[-3000:]}")
    return result


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_answers_in_one_line(case, corpus, request, tmp_path):
    _, argv, code, needles = case
    if "tiny" not in argv and argv[0] != "demo-checkpoint":  # those bring their own catalogue / build
        request.getfixturevalue("tiny_installed")
    result = run(expand(argv, corpus, tmp_path))
    assert "Traceback" not in result.output, result.output[-3000:]
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == code, f"exit {result.exit_code}, stderr: {result.stderr[-2000:]}"
    if code == 1:  # a negative verdict: the command's own report on stdout, at most one line on stderr
        assert len(lines) <= 1
        return
    assert len(lines) == 1 and lines[0].startswith("f5lab: error: "), result.stderr[-2000:]
    for n in needles:
        assert needle_of(n, corpus) in lines[0], lines[0]
    assert not (tmp_path / "dst.safetensors").exists() and not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".*f5lab-partial*"))


@pytest.mark.parametrize("case", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_odd_but_valid_input_is_accepted(case, corpus, tiny_installed, tmp_path):
    _, argv = case
    result = run(expand(argv, corpus, tmp_path))
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output[-3000:]


def test_every_command_is_covered():
    covered = {c[1][0] for c in CASES} | {c[1][0] for c in ACCEPTED}
    missing = set(main.commands) - covered - set(NO_INPUT)
    assert not missing, f"commands without a bad-input case: {sorted(missing)}"
    # and the list is the one users see
    listed = CliRunner().invoke(main, ["--help"]).output
    for name in main.commands:
        assert f"  {name} " in listed


def test_asr_is_not_run_on_a_silent_clip(corpus, tmp_path):
    argv = [a for a in replace_opt(SYNTH, "--ref-audio", "{silent}") if a not in ("--ref-text", REF_TEXT)]
    result = run(expand(argv + ["--asr", "pocketsphinx"], corpus, tmp_path))
    assert result.exit_code == 2 and "silent" in result.stderr
    assert "transcript" not in result.output


# -- what the parametrised cases cannot see ---------------------------------------------------------
def _cli_child(argv: list[str], prelude: str = "") -> list[str]:
    script = textwrap.dedent(prelude) + textwrap.dedent(f"""
        import sys
        from f5lab.cli.commands import main
        sys.argv = ["f5lab", *{argv!r}]
        main()
    """)
    return [sys.executable, "-c", script]


CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}
PAUSE_MID_WRITE = """
    import sys, time
    import f5lab.compat.remap as remap
    _copy, calls = remap._copy_range, []
    def slow_copy(*args, **kwargs):  # the second tensor: the partial file exists, then wait for the signal
        calls.append(1)
        if len(calls) == 2:
            print("writing", flush=True)
            time.sleep(60)
        return _copy(*args, **kwargs)
    remap._copy_range = slow_copy
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_mid_remap_leaves_no_partial_file(make_fixture, tmp_path, sig):
    src = make_fixture("F5TTS_Base", "release_safetensors").path
    out = tmp_path / "out"
    out.mkdir()
    dst = out / "o.safetensors"
    proc = subprocess.Popen(_cli_child(["remap", str(src), str(dst), "--config", "F5TTS_Base", "--no-verify",
                                        "--json"], TINY_PRELUDE + PAUSE_MID_WRITE),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CHILD_ENV,
                            preexec_fn=as_in_a_terminal)
    try:
        line = proc.stdout.readline()  # --json: nothing else is printed before the end
        assert line.strip() == "writing", proc.stderr.read()[-3000:]
        names = sorted(p.name for p in out.iterdir())  # the claim's lock and the partial file beside DST
        assert names == [".f5lab-lock-o.safetensors", f".f5lab-partial-{proc.pid}-o.safetensors"], names
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    signum = getattr(signal, sig)
    assert proc.returncode == 128 + signum, err[-2000:]
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and sig in lines[0], err
    assert list(out.iterdir()) == []



TINY_PRELUDE = """
    import sys
    import f5lab.cli.commands, f5lab.compat.diagnose, f5lab.model.inspection, f5lab.compat.loading, f5lab.compat.remap, f5lab.cli.main
    from f5lab.model.arch import tiny_catalogue
    _tiny = tiny_catalogue()
    for _name, _mod in list(sys.modules.items()):
        if _name.startswith("f5lab") and hasattr(_mod, "shipped_configs"):
            _mod.shipped_configs = lambda: _tiny
"""


def test_disk_full_names_the_file_and_leaves_nothing(make_fixture, tmp_path):
    """A real write limit (RLIMIT_FSIZE) on the CLI: one line naming DST, exit 2, no partial file."""
    src = make_fixture("F5TTS_Base", "release_safetensors").path
    out = tmp_path / "out"
    out.mkdir()
    limit = src.stat().st_size // 2
    prelude = TINY_PRELUDE + f"""
    import resource, signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    """
    proc = subprocess.run(_cli_child(["remap", str(src), str(out / "o.safetensors"), "--config", "F5TTS_Base",
                                      "--no-verify"], prelude), capture_output=True, text=True, env=CHILD_ENV,
                          timeout=120)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert len(lines) == 1 and "o.safetensors" in lines[0] and "too large" in lines[0].lower(), lines
    assert list(out.iterdir()) == []


def test_disk_full_while_building_a_demo_checkpoint_leaves_no_file(tmp_path):
    """safetensors' own writer fails (EFBIG) mid-file: one line naming OUT, exit 2, OUT absent."""
    prelude = """
    import resource, signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    """
    out = tmp_path / "demo.safetensors"
    proc = subprocess.run(_cli_child(["demo-checkpoint", str(out)], prelude), capture_output=True, text=True,
                          env=CHILD_ENV, timeout=180)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert len(lines) == 1 and str(out) in lines[0] and "cannot write" in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_a_killed_runs_partial_file_is_removed_by_the_next_run(make_fixture, catalogue, tmp_path):
    from f5lab.compat.remap import execute_plan, plan_remap

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".f5lab-partial-{dead}-o.safetensors"
    stale.write_bytes(b"half")
    live = tmp_path / f".f5lab-partial-{os.getppid()}-o.safetensors"  # a live process's file is kept
    live.write_bytes(b"busy")
    execute_plan(plan_remap(make_fixture().path, "F5TTS_Base", catalogue=catalogue), tmp_path / "o.safetensors",
                 fsync=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["o.safetensors", live.name])


def test_vocabularies_are_checked_before_anything_is_written(make_fixture, catalogue, corpus, tmp_path):
    from f5lab.errors import ConfigError
    from f5lab.compat.remap import RemapError, plan_remap

    src = make_fixture().path
    with pytest.raises(RemapError, match="shares no token"):
        plan_remap(src, "F5TTS_Base", vocab_to=corpus["vocab_disjoint"], catalogue=catalogue)
    with pytest.raises(ConfigError, match=r"lists 1 token\(s\) more than once"):
        plan_remap(src, "F5TTS_Base", vocab_to=corpus["vocab_dups"], catalogue=catalogue)
    with pytest.raises(ConfigError, match="empty"):
        read_vocab(corpus["vocab_empty"])
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_vocab(corpus["vocab_nonutf8"])
    # CRLF: f5-tts opens vocab.txt in text mode (universal newlines), so the tokens are the LF file's
    assert read_vocab(corpus["vocab_crlf"]) == read_vocab()
    plan = plan_remap(src, "F5TTS_Base", vocab_to=corpus["vocab_crlf"], catalogue=catalogue)
    assert plan.vocab.shared == len(read_vocab()) and not plan.vocab.added and plan.vocab.moved == 0
    assert list(tmp_path.iterdir()) == []


def test_settings_rule_is_the_librarys():
    """One rule for the CLI, synthesize() and the report's notebook (run_report calls it)."""
    from f5lab.speech.synth import SettingsError, check_settings

    check_settings(nfe=1, cfg_strength=0.0, sway=None, speed=0.3, seed=0, duration=6.0, ref_seconds=5.0)
    bad = [dict(nfe=0), dict(nfe=2.5), dict(nfe=True), dict(speed=0.0), dict(speed=float("inf")),
           dict(cfg_strength=float("nan")), dict(seed=-1), dict(seed=2**64), dict(duration=0.0),
           dict(duration=4.0, ref_seconds=5.0), dict(sway=float("nan")), dict(cross_fade=-0.1)]
    for kw in bad:
        with pytest.raises(SettingsError):
            check_settings(**kw)


def test_diagnose_never_says_missing_and_nothing_unexpected():
    from f5lab.compat.diagnose import explain_load_error

    text = ('Error(s) in loading state_dict for CFM:\n\tUnexpected key(s) in state_dict: '
            '"transformer.layers.0.attn.to_q.weight", "transformer.layers.1.attn.to_q.weight".')
    evidence = " ".join(f.evidence for f in explain_load_error(text).findings)
    assert "unexpected" in evidence and "missing" not in evidence
    assert "  " not in evidence


def test_wav_bytes_depend_on_samples_only(tmp_path):
    import soundfile as sf

    wav = (0.1 * np.sin(np.arange(24000) / 7)).astype(np.float32)
    a, b = write_wav(tmp_path / "a.wav", wav, 24000), write_wav(tmp_path / "b.wav", wav, 24000)
    time.sleep(1.1)
    c = write_wav(tmp_path / "c.wav", wav, 24000)
    assert a.read_bytes() == b.read_bytes() == c.read_bytes() and b"PEAK" not in a.read_bytes()
    back, sr = sf.read(str(a), dtype="float32")
    assert sr == 24000 and np.array_equal(back, wav) and sf.info(str(a)).subtype == "FLOAT"


def test_two_synth_runs_write_the_same_bytes(corpus, tmp_path):
    """Same inputs, same bytes: wav, mel array and picture identical; the JSON record differs in
    its timings and its own file paths only."""
    runs = []
    for name in ("a", "b"):
        argv = replace_opt(SYNTH, "--out", str(tmp_path / name)) + ["--seed", "3"]
        result = run(expand(argv, corpus, tmp_path))
        assert result.exit_code == 0, result.output[-3000:]
        runs.append(tmp_path / name)
    a, b = runs
    for f in ("synth.wav", "synth_mel.npy", "synth_mel.png"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    ra, rb = (json.loads((d / "synth.json").read_text()) for d in runs)
    for r in (ra, rb):
        r.pop("timings")
        r.pop("files")
        r["model"].pop("load_s", None)
    assert ra == rb


@pytest.mark.parametrize("layout", ["release_safetensors", "trainer_pt"])
def test_demo_checkpoints_and_remaps_are_byte_identical_run_to_run(tmp_path, layout):
    """Same inputs, same bytes, for the files f5lab writes besides audio: demo checkpoints and remaps."""
    suffix = ".safetensors" if "safetensors" in layout else ".pt"
    made = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        out = tmp_path / name / f"demo{suffix}"
        assert run(["demo-checkpoint", str(out), "--layout", layout]).exit_code == 0
        made.append(out)
    assert made[0].read_bytes() == made[1].read_bytes()
    from f5lab.model.arch import tiny_catalogue
    from f5lab.compat.remap import execute_plan, plan_remap

    remapped = []
    for src in made:
        dst = src.with_name("remapped.safetensors")
        execute_plan(plan_remap(src, "F5TTS_Base", catalogue=tiny_catalogue()), dst, fsync=False)
        remapped.append(dst)
    a, b = (p.read_bytes() for p in remapped)
    assert a.replace(b"/a/", b"/b/") == b  # the plan records the source path; nothing else differs

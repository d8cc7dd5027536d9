"""The service snippet runs as printed: offline, with a local vocoder folder, no FFmpeg, f5-tts alone.

The code `f5lab matrix --json` prints for a checkpoint (the same text diagnose, the report's card and
MODEL_CARD.md show) is written to a file verbatim and run as a script in a child process with the
Hugging Face hub unreachable (HF_HUB_OFFLINE=1, proxies pointing nowhere, and no network namespace
at all where ``unshare -rn`` works) and without f5lab on its path. The vocoder folder it names is
built from the vocos package's own classes (random weights, the real config.yaml +
pytorch_model.bin). The wav it writes must have the length f5-tts's own duration rule gives.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.compat.service import (DEFAULT_GEN_TEXT, EXAMPLE_REF, EXAMPLE_REF_TEXT, ServiceCandidate, service_code)
from f5lab.model.arch import f5_tts_root
from f5lab.model.configs import tiny_catalogue
from f5lab.speech.vocoders import write_random_vocos
from f5lab.synthetic.layouts import build_checkpoint

HOP, RATE = 256, 24000


def expected_samples(ref_wav: Path, ref_text: str, gen_text: str) -> int:
    """f5-tts's duration rule for one chunk (infer_batch_process): the reference's frames scaled by
    the UTF-8 byte ratio, minus the reference; the vocoder returns hop samples per frame."""
    data, sr = sf.read(str(ref_wav), always_2d=True)
    assert sr == RATE  # f5-tts's example clip needs no resampling
    ref_frames = data.shape[0] // HOP
    text = ref_text + " " if len(ref_text[-1].encode("utf-8")) == 1 else ref_text
    frames = ref_frames + int(ref_frames / len(text.encode("utf-8")) * len(gen_text.encode("utf-8")))
    return (frames - ref_frames) * HOP


def run_offline(script: Path, cwd: Path) -> subprocess.CompletedProcess:
    """``python script`` with the hub unreachable and no f5lab on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HTTPS_PROXY="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", HF_ENDPOINT="http://127.0.0.1:9", TQDM_DISABLE="1",
               MPLBACKEND="Agg", HF_HOME=str(cwd / "hf_home"))
    argv = [sys.executable, "-I", str(script)]  # -I: no user site, no PYTHONPATH, not the caller's cwd
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        argv = ["unshare", "-rn", *argv]  # no network at all
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def printed_snippet(path: Path) -> dict:
    """The row `f5lab matrix --json --configs tiny` prints for F5TTS_Base: the code as printed."""
    out = CliRunner().invoke(main, ["matrix", str(path), "--json", "--configs", "tiny"])
    assert out.exit_code == 0, out.output
    (row,) = [r for r in json.loads(out.output) if r["config"] == "F5TTS_Base"]
    assert row["code"] and not row["needs_remap"]
    return row


def test_the_printed_snippet_runs_verbatim_offline_and_writes_the_wav(tmp_path):
    ckpt = build_checkpoint(tmp_path / "ft" / "tiny.safetensors", config="F5TTS_Base", scale="tiny").path
    code = printed_snippet(ckpt)["code"]
    assert "import f5lab" not in code and "from f5lab" not in code  # f5-tts alone
    assert "torchaudio.load" not in code and "infer_process(" not in code  # no FFmpeg on the path it takes
    assert "snapshot_download('charactr/vocos-mel-24khz', local_dir=VOCODER_DIR)" in code  # how to get it once
    # the folder it names by default (beside the checkpoint), built from vocos's own classes
    vocos = ckpt.parent / "vocos-mel-24khz"
    assert f"VOCODER_DIR = {str(vocos.resolve())!r}" in code
    write_random_vocos(vocos)
    script = tmp_path / "service.py"
    script.write_text(code, encoding="utf-8")
    done = run_offline(script, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    wav = tmp_path / "f5tts_service.wav"
    data, sr = sf.read(str(wav))
    ref = f5_tts_root() / EXAMPLE_REF
    assert sr == RATE and data.ndim == 1
    assert len(data) == expected_samples(ref, EXAMPLE_REF_TEXT, DEFAULT_GEN_TEXT) > RATE  # over a second
    assert f"wrote f5tts_service.wav: {len(data) / RATE:.2f} s" in done.stdout


def test_the_two_candidate_snippet_serves_the_base_when_the_fine_tune_is_refused(tmp_path):
    """The ladder form: a fine-tune f5-tts cannot load under the config it is given (a UNetT file under
    a DiT arch), then the base: one warning line naming the fine-tune, the base serves, the wav is written."""
    cat = tiny_catalogue()
    ft = build_checkpoint(tmp_path / "ft.safetensors", config="E2TTS_Base", scale="tiny").path
    base = build_checkpoint(tmp_path / "base.safetensors", config="F5TTS_Base", scale="tiny").path
    vocos = write_random_vocos(tmp_path / "vocos")
    sc = service_code(ft, cat["F5TTS_Base"], needs_remap=False, vocoder_dir=str(vocos), nfe=4, gen_text="Short test.",
                      fallback=ServiceCandidate(base, cat["F5TTS_Base"]))
    assert "CANDIDATES = [" in sc.code and sc.code.index(str(ft.resolve())) < sc.code.index(str(base.resolve()))
    script = tmp_path / "ladder.py"
    script.write_text(str(sc), encoding="utf-8")
    done = run_offline(script, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    warned = [ln for ln in done.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warned) == 1 and warned[0].startswith(f"warning: {ft.resolve()} refused (RuntimeError: ")
    assert f"serving {base.resolve()}" in done.stderr
    data, sr = sf.read(str(tmp_path / "f5tts_service.wav"))
    assert len(data) == expected_samples(f5_tts_root() / EXAMPLE_REF, EXAMPLE_REF_TEXT, "Short test.")


def test_the_snippet_holds_user_strings_as_literals():
    """A reference text or path with quotes or a newline stays inside its Python literal or comment."""
    cat = tiny_catalogue()
    sc = service_code("/tmp/x\n= 1 #.safetensors", cat["F5TTS_Base"], needs_remap=False,
                      ref_text="it's \"quoted\"\nimport os", gen_text="a\nb", vocoder_dir="/v\nimport os")
    compile(sc.code, "<snippet>", "exec")
    assert not any(line.startswith("import os") for line in sc.code.splitlines())


def test_with_a_base_at_hand_the_card_s_snippet_falls_back_to_it(tmp_path):
    """The report's compatibility step (the card's "in f5-tts alone"): lineage names the base the fine-tune
    descends from, so the target's snippet tries the fine-tune, then that base under its own config."""
    from types import SimpleNamespace

    from f5lab.compat.lineage import lineage
    from f5lab.compat.workflow import compatibility
    from f5lab.synthetic.finetunes import fine_tune, stand_in_bases, write_finetune

    cat = tiny_catalogue()
    bases = stand_in_bases(tmp_path / "bases")
    ft = write_finetune(fine_tune(bases["F5TTS_Base"], updates=2), tmp_path / "ft.safetensors", "release_safetensors")
    lin = lineage(ft, list(bases.values()), catalogue=cat)
    assert lin.decided and lin.config == "F5TTS_Base"
    c = compatibility(ft, catalogue=cat, lineage=SimpleNamespace(result=lin))
    (row,) = [r for r in c.rows if r.config == c.target]
    assert "CANDIDATES = [" in row.code and "def load_first(candidates)" in row.code
    assert row.code.index(repr(str(Path(ft).resolve()))) < row.code.index(repr(str(Path(lin.verdict).resolve())))
    compile(row.code, "<card snippet>", "exec")
    others = [r for r in c.rows if r.code and r.config != c.target]
    assert all("CANDIDATES" not in r.code for r in others)  # only the target's, the card's snippet

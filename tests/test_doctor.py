"""doctor: the torch table to 2.15, the pair torch/torchaudio, the driver minimum with the fix, the
last torch for an old card, nightly/NGC version strings, and what inference needs beyond pip
(torchcodec and FFmpeg). The judgements are tested with explicit inputs; the live doctor is tested
for consistency with what this machine really loads (CI may or may not have FFmpeg)."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.errors import ConfigError
from f5lab.hardware import stack
from f5lab.hardware.codecs import judge_inference, torchcodec_pairs
from f5lab.hardware.stack import fix_for, named_build, torchaudio_pair

CU126_INDEX = "https://download.pytorch.org/whl/cu126"


def torchaudio_reads_a_wav_here() -> bool:
    """The ground truth: f5-tts's infer_process reads its reference with torchaudio.load."""
    import numpy as np
    import soundfile as sf
    import torchaudio

    buf = io.BytesIO()
    sf.write(buf, np.zeros(2400, dtype="float32"), 24000, format="WAV")
    buf.seek(0)
    try:
        torchaudio.load(buf)
        return True
    except Exception:  # noqa: BLE001 - any failure is the fact under test
        return False


@pytest.fixture(scope="module")
def pinned(pinned_torch):
    return pinned_torch


# -- the table ---------------------------------------------------------------------------------------------
def test_the_table_runs_to_2_15_with_each_release_s_cuda_variants_and_a_source_per_row():
    table = stack.builds_table()
    assert list(table["releases"])[-5:] == ["2.11", "2.12", "2.13", "2.14", "2.15"]
    variants = {r: sorted(b["build"] for b in table["builds"] if b["torch"] == r) for r in table["releases"]}
    for release in ("2.12", "2.13", "2.14"):
        assert variants[release] == ["cu126", "cu130", "cu132"]  # cu128 gone
    assert variants["2.15"] == ["cu130", "cu132"]  # cu126 dropped
    assert table["releases"]["2.12"]["pypi"] == table["releases"]["2.13"]["pypi"] == "cu130"
    assert table["releases"]["2.14"]["pypi"] == table["releases"]["2.15"]["pypi"] == "cu132"
    for row in table["builds"]:
        assert row["source"] in table["sources"] and table["sources"][row["source"]]["what"]
        if row["build"] == "cu126":
            assert {"sm_50", "sm_60", "sm_70"} <= set(row["sass"])
        if row["cuda"].startswith("13."):
            assert min(int(a[3:]) for a in row["sass"]) == 75  # CUDA 13 starts at Turing
    assert table["releases"]["2.15"]["status"] == "planned"


@pytest.mark.parametrize("text", ["2.6.0a0+ecf3bae40a.nv25.01", "2.8.0.dev20250601+cu128", "2.12.0a0+git1234abc",
                                  "2.13.0rc2+cu130"])
def test_nightly_source_and_ngc_strings_are_unknown_builds(text):
    b = named_build(text)
    assert b.kind == "unknown" and not b.known and "f5lab's table lists PyTorch's releases 2.4 to 2.15" in b.note
    if ".nv" in text:
        assert "NGC" in b.note


@pytest.mark.parametrize("text", ["2.1\u0661.0+cu126", "\uff12.11.0", "2.11.0+cu\u0661\u0662\u0666", "2.11.\u09e6"])
def test_non_ascii_digits_are_malformed(text):
    with pytest.raises(ConfigError, match=r"VERSION\+BUILD"):
        named_build(text)


@pytest.mark.parametrize("text", ["2.6.0a0+ecf3bae40a.nv25.01", "2.8.0.dev20250601+cu128"])
def test_doctor_judges_an_ngc_or_nightly_string_an_unknown_build_exit_1(text):
    res = CliRunner().invoke(main, ["doctor", "--torch", text, "--gpu", "T4"])
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output
    judged = [ln for ln in res.output.splitlines() if ln.startswith("judged")]
    assert judged and f"torch {text}: unknown build" in judged[0]


def test_doctor_refuses_a_non_ascii_version_with_one_line_exit_2():
    res = CliRunner().invoke(main, ["doctor", "--torch", "2.1\u0661.0+cu126"])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and "--torch" in res.output
    assert "digits must be ASCII 0-9" in res.output


# -- the done-when cases ---------------------------------------------------------------------------------------
def test_2_15_cu126_is_refused_as_nonexistent():
    res = CliRunner().invoke(main, ["doctor", "--torch", "2.15.0+cu126", "--gpu", "GTX 1050 Ti"])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    assert "no such build" in res.output and "cu130, cu132" in res.output and "not cu126" in res.output


def test_2_14_cu126_runs_a_gtx_1050_ti():
    res = CliRunner().invoke(main, ["doctor", "--torch", "2.14.0+cu126", "--gpu", "GTX 1050 Ti", "--json"])
    out = json.loads(res.output)
    (t,) = out["targets"]
    assert t["runs"] is True and t["kernels"]["ok"] is True and "SASS sm_60 runs on cc 6.1" in t["kernels"]["rule"]
    assert out["judged"]["source"] == "release_md_2_14"
    assert res.exit_code == (0 if out["ok"] else 1) and out["runs"] is True


def test_the_pinned_torch_names_the_cu126_fix_with_its_driver_minimum_and_the_last_release(pinned):
    res = CliRunner().invoke(main, ["doctor", "--gpu", "GTX 1050 Ti"])
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert f"install `pip install torch==2.11.0 torchaudio==2.11.0 --index-url {CU126_INDEX}` (cu126; CUDA 12.6: " \
           "driver >= 525.60.13)" in text
    assert "the last torch with sm_61 kernels is 2.14.x cu126" in text


def test_the_fix_names_the_driver_minimum_of_the_build_it_recommends():
    fix = fix_for(named_build("2.11.0+cu126"), (12, 0))  # a Blackwell card under the cu126 build
    assert (fix.build, fix.cuda, fix.driver_min) == ("cu130", "13.0", "580.65.06")
    assert fix.needs == "CUDA 13.0: driver >= 580.65.06"
    old = fix_for(named_build("2.15.0+cu132"), (6, 1))  # nothing in 2.15 for Pascal: the last release that has it
    assert (old.torch, old.build, old.driver_min) == ("2.14.0", "cu126", "525.60.13")
    assert old.command == f"pip install torch==2.14.0 'torchaudio==2.11.*' --index-url {CU126_INDEX}"
    assert "the last torch with sm_61 kernels is 2.14.x cu126" in old.why
    assert fix_for(named_build("2.15.0+cu132"), (3, 5)) is None


# -- torch and torchaudio ------------------------------------------------------------------------------------
@pytest.mark.parametrize("torch_spec,audio,ok", [
    ("2.11.0+cu126", "2.11.0+cu130", False),  # the case doctor used to call a match
    ("2.11.0+cu126", "2.11.0+cu126", True),
    ("2.11.0", "2.11.0+cu130", True),  # PyPI's pair
    ("2.11.0+cpu", "2.11.0", True),
    ("2.10.0+cu128", "2.11.0+cu128", False),  # versioned together up to 2.11
    ("2.14.0+cu126", "2.11.0+cu126", True),  # frozen at 2.11 after it
    ("2.14.0+cu126", "2.11.1+cu132", False),  # PyPI's torchaudio beside a cu126 torch
    ("2.14.0", "2.11.1+cu132", True),
    ("2.13.0+cu130", "2.13.0+cu130", False),  # no torchaudio 2.13 exists
])
def test_torchaudio_pairs_with_the_judged_build(torch_spec, audio, ok):
    got, line = torchaudio_pair(named_build(torch_spec), audio)
    assert got is ok and "\n" not in line
    if not ok:
        assert "does NOT match" in line and "pip install" in line


def test_doctor_with_torch_cu126_does_not_call_a_cu130_torchaudio_a_match():
    res = CliRunner().invoke(main, ["doctor", "--torch", "2.11.0+cu126", "--gpu", "GTX 1050 Ti", "--json"])
    out = json.loads(res.output)
    installed = out["stack"]["torchaudio"]
    if installed is None or not installed.endswith("+cu130"):
        pytest.skip(f"needs the pinned torchaudio 2.11.0+cu130, found {installed}")
    assert out["torchaudio"]["matches"] is False and CU126_INDEX in out["torchaudio"]["line"]


# -- what inference needs beyond pip ----------------------------------------------------------------------
def test_no_ffmpeg_is_exit_1_naming_ffmpeg_and_what_it_breaks():
    v = judge_inference("2.11.0+cu130", "0.17.0", "2.11.0", [], loads=False,
                        error="RuntimeError: Failed to create AudioDecoder: Could not load libtorchcodec.")
    assert v.ok is False and "\n" not in v.line
    assert v.line.startswith("FFmpeg: torchcodec 0.17.0 finds no FFmpeg shared libraries")
    assert "torchaudio.load" in v.line and "F5TTS.infer" in v.line and "f5-tts_infer-cli" in v.line
    assert "sudo apt-get install ffmpeg" in v.line and "brew install ffmpeg" in v.line


def test_ffmpeg_present_says_which_major():
    v = judge_inference("2.11.0+cu130", "0.17.0", "2.11.0", [6, 7], loads=True)
    assert v.ok is True and v.line == "torchaudio.load works: torchcodec 0.17.0 loads FFmpeg 7"


def test_a_torchcodec_built_for_another_torch_is_named():
    assert torchcodec_pairs("0.8.0", "2.11.0") == (False, "torchcodec 0.8.0 is built for torch 2.9, not 2.11.0")
    assert torchcodec_pairs("0.17.0", "2.11.0")[0] is True and torchcodec_pairs("0.17.0", "2.10.0")[0] is False
    v = judge_inference("2.11.0", "0.8.0", "2.11.0", [7], loads=False, error="RuntimeError: undefined symbol")
    assert v.ok is False and "built for torch 2.9" in v.line and "install the torchcodec built for this torch" in v.line
    assert judge_inference("2.8.0", None, "2.8.0", [], loads=True).ok is True  # before torchcodec
    assert judge_inference(None, None, None, [], loads=None).ok is None


def test_live_doctor_agrees_with_what_this_machine_loads():
    loads = torchaudio_reads_a_wav_here()
    res = CliRunner().invoke(main, ["doctor", "--torch", "2.11.0+cu130", "--gpu", "T4", "--json"])
    out = json.loads(res.output)
    inf = out["inference"]
    assert inf["loads"] is loads and inf["ok"] is loads
    assert out["targets"][0]["runs"] is True
    assert res.exit_code == (0 if loads else 1)
    if loads:
        assert "torchaudio.load works" in inf["line"]
    else:
        assert "FFmpeg" in inf["line"] and "torchaudio.load" in inf["line"]
        text = CliRunner().invoke(main, ["doctor", "--torch", "2.11.0+cu130", "--gpu", "T4"]).output
        (line,) = [ln for ln in text.splitlines() if ln.startswith("inference")]
        assert "\u2717 FFmpeg" in line

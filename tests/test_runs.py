"""Will it run: the kernel rules (SASS minor, PTX JIT), the driver minimum, a machine without a GPU,
unknown torch builds, the one verdict, the doctor command's done-when cases, the knob table, the
speed model's arithmetic, load_model(device="auto") and the Makefile's TORCH_INDEX."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.errors import ConfigError
from f5lab.hardware import knobs, runs, speed, stack
from f5lab.hardware.stack import TorchBuild, build_from, driver_check, fix_for, kernel_check, named_build

ROOT = Path(__file__).resolve().parents[1]
BASE = speed.F5TTS_BASE
CU126 = "pip install torch==2.11.0 torchaudio==2.11.0 --index-url https://download.pytorch.org/whl/cu126"


def cuda_build(sass=(), ptx=(), cuda="12.6") -> TorchBuild:
    return TorchBuild(version="2.11.0", local="cu" + cuda.replace(".", ""), kind="cuda", cuda=cuda,
                      sass=tuple(sass), ptx=tuple(ptx), known=True)


@pytest.fixture(scope="module")
def installed(pinned_torch):
    return pinned_torch


# -- the kernel rules -------------------------------------------------------------------------------
def test_sass_runs_on_the_same_major_with_a_minor_at_least_its_own():
    b = cuda_build(["sm_60", "sm_70", "sm_86"])
    assert kernel_check(b, (6, 1)).ok is True and "sm_60" in kernel_check(b, (6, 1)).rule
    assert kernel_check(b, (8, 9)).ok is True and "sm_86" in kernel_check(b, (8, 9)).rule  # 8.9 >= 8.6
    assert kernel_check(cuda_build(["sm_61"]), (6, 0)).ok is False  # minor 0 < 1
    assert kernel_check(cuda_build(["sm_75", "sm_80"]), (6, 1)).ok is False  # another major: never
    assert kernel_check(cuda_build(["sm_75"]), (8, 0)).ok is False  # a newer major needs PTX
    assert kernel_check(cuda_build(["sm_60"]), (6, 2)).ok is False  # Tegra X2: only its own SASS


def test_ptx_jit_compiles_on_any_newer_capability():
    b = cuda_build(["sm_75"], ["compute_80"])
    check = kernel_check(b, (9, 0))
    assert check.ok is True and "PTX compute_80 JIT-compiles on cc 9.0" in check.rule
    assert kernel_check(b, (8, 6)).ok is True
    assert kernel_check(b, (7, 0)).ok is False  # below both
    assert kernel_check(cuda_build(["sm_120"], ["compute_120"]), (12, 1)).ok is True


def test_cpu_and_rocm_builds_have_no_nvidia_kernels():
    assert kernel_check(named_build("2.11.0+cpu"), (8, 6)).ok is False
    assert kernel_check(named_build("2.6.0+rocm6.2.4"), (8, 6)).ok is False


# -- the table ---------------------------------------------------------------------------------------
def test_table_rows_name_a_source_and_cover_2_4_to_2_15():
    table = stack.builds_table()
    assert list(table["releases"]) == ["2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11", "2.12", "2.13",
                                       "2.14", "2.15"]
    for row in table["builds"]:
        assert row["source"] in table["sources"] and row["sass"] and row["cuda"] == f"{row['build'][2:-1]}." \
            f"{row['build'][-1]}"
    assert named_build("2.8.0+cu128").sass == tuple(f"sm_{c}" for c in (70, 75, 80, 86, 90, 100, 120))
    assert "sm_60" in named_build("2.11.0+cu126").sass and "sm_60" not in named_build("2.11.0+cu128").sass
    assert named_build("2.11.0").local == "cu130"  # PyPI's torch==2.11.0


def test_installed_build_is_read_without_importing_torch(installed):
    code = ("import sys; from f5lab.hardware.stack import installed_build; b = installed_build(); "
            "print(b.label, ' '.join(b.sass), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.split()
    assert out == ["2.11.0+cu130", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "False"]
    assert stack.with_measured(installed, stack.measured_archs()) == installed  # the table agrees with torch


def test_an_unknown_build_says_so_and_is_never_guessed(tmp_path):
    old = named_build("2.3.0+cu121")
    assert old.kind == "unknown" and not old.known and "2.3 is not in f5lab's table" in old.note
    check = kernel_check(old, (6, 1))
    assert check.ok is None and check.rule.startswith("unknown build:")
    v = runs.judge(BASE, "GTX 1050 Ti", old)
    assert v.runs is None and "unknown build" in v.text and v.fix is None
    assert build_from("2.11.3", "cu130", origin="installed").kind == "unknown"  # an unlisted patch release
    source = tmp_path / "version.py"
    source.write_text("__version__ = '2.12.0a0+git1234abc'\ncuda: Optional[str] = '13.0'\nhip = None\n")
    assert stack.read_version_file(source) == {"__version__": "2.12.0a0+git1234abc", "cuda": "13.0", "hip": None}


@pytest.mark.parametrize("text,word", [("banana", r"VERSION\+BUILD"), ("2.11", r"VERSION\+BUILD"),
                                       ("2.11.0+cu124", "published as cu126, cu128, cu130")])
def test_a_bad_torch_option_is_refused(text, word):
    with pytest.raises(ConfigError, match=word):
        named_build(text)


# -- the driver ------------------------------------------------------------------------------------
def test_driver_minimum_per_cuda_major():
    cu130, cu126 = named_build("2.11.0+cu130"), named_build("2.11.0+cu126")
    assert driver_check(cu130, "575.57.08").ok is False and "580.65.06" in driver_check(cu130, "575.57.08").rule
    assert driver_check(cu130, "580.65.06").ok is True and driver_check(cu130, "590.44.01").ok is True
    assert driver_check(cu126, "535.183.01").ok is True and driver_check(cu126, "520.61.05").ok is False
    assert driver_check(cu130, None).ok is None
    # the fix for an old driver: the same torch from a CUDA 12 build that still has the card's kernels
    fix = fix_for(cu130, (8, 9), driver="535.183.01")
    assert fix is not None and fix.build == "cu128" and fix.torch == "2.11.0"
    v = runs.judge(BASE, "RTX 4090", cu130, driver="535.183.01")
    assert v.runs is False and v.text.startswith("RTX 4090: driver 535.183.01 is older than 580.65.06")


def test_the_fix_is_the_same_version_else_the_newest_that_has_kernels():
    fix = fix_for(named_build("2.11.0+cu130"), (6, 1))
    assert (fix.torch, fix.build, fix.command) == ("2.11.0", "cu126", CU126)
    assert fix_for(named_build("2.11.0+cu130"), (3, 7)).torch == "2.7.1"  # Kepler: the last cu118 build
    assert fix_for(named_build("2.11.0+cu130"), (3, 5)) is None


# -- a machine without a GPU, and one with ---------------------------------------------------------------
def test_no_gpu_here_gives_no_present_gpus():
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has nvidia-smi")
    assert stack.present_gpus() == []


def _fake_nvidia_smi(tmp_path: Path, line: str) -> dict[str, str]:
    exe = tmp_path / "bin" / "nvidia-smi"
    exe.parent.mkdir()
    exe.write_text(f"#!/bin/sh\necho '{line}'\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{exe.parent}{os.pathsep}{os.environ['PATH']}"}


def test_nvidia_smi_lines_are_parsed():
    (g,) = stack.parse_nvidia_smi("NVIDIA GeForce GTX 1050 Ti, 6.1, 4096 MiB, 580.95.05\nnot a line\n")
    assert (g.name, g.cc, g.total_bytes, g.driver) == ("NVIDIA GeForce GTX 1050 Ti", (6, 1), 4 * 2**30, "580.95.05")


def test_doctor_judges_the_gpu_present_with_its_driver(installed, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _fake_nvidia_smi(tmp_path, "NVIDIA GeForce GTX 1050 Ti, 6.1, 4096 MiB, 580.95.05")["PATH"])
    res = CliRunner().invoke(main, ["doctor", "--json"])
    assert res.exit_code == 1, res.output
    out = json.loads(res.output)
    (t,) = out["targets"]
    assert t["gpu"] == "GTX 1050 Ti" and t["driver"]["ok"] is True and t["kernels"]["ok"] is False
    assert out["stack"]["gpus"][0]["via"] == "nvidia-smi"


# -- the doctor's done-when --------------------------------------------------------------------------------
def test_doctor_gtx_1050_ti_has_no_kernels_and_names_the_cu126_fix(installed):
    res = CliRunner().invoke(main, ["doctor", "--gpu", "GTX 1050 Ti", "--json"])
    assert res.exit_code == 1, res.output
    out = json.loads(res.output)
    (t,) = out["targets"]
    assert t["runs"] is False and t["kernels"]["ok"] is False and "no kernels for sm_61" in t["kernels"]["rule"]
    assert t["fix"]["build"] == "cu126" and t["fix"]["command"] == CU126
    assert out["stack"]["torch"]["label"] == "2.11.0+cu130" and out["stack"]["torchaudio_matches"] is True
    assert t["fp16"] == "fp32 speed" and t["attention_kernels"] == ["efficient", "math"]  # fp16 stored, fp32 compute


def test_doctor_t4_runs(installed):
    res = CliRunner().invoke(main, ["doctor", "--gpu", "T4", "--json"])
    out = json.loads(res.output)
    assert res.exit_code == (0 if out["inference"]["ok"] is not False else 1), res.output  # FFmpeg: test_doctor.py
    (t,) = out["targets"]
    assert t["runs"] is True and "SASS sm_75 runs on cc 7.5" in t["kernels"]["rule"]


def test_doctor_judges_another_torch_from_the_table():
    res = CliRunner().invoke(main, ["doctor", "--torch", "2.6.0+cu124", "--gpu", "GTX 1050 Ti", "--json"])
    out = json.loads(res.output)
    assert res.exit_code == (0 if out["inference"]["ok"] is not False else 1), res.output  # FFmpeg: test_doctor.py
    assert out["judged"]["label"] == "2.6.0+cu124" and out["targets"][0]["runs"] is True
    res = CliRunner().invoke(main, ["doctor", "--torch", "2.3.0+cu121", "--gpu", "T4"])
    assert res.exit_code == 1 and "unknown build" in res.output


def test_doctor_terminal_lines(installed):
    res = CliRunner().invoke(main, ["doctor", "--gpu", "GTX 1050 Ti", "--gpu", "T4"])
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "\u2717 GTX 1050 Ti: this torch (2.11.0+cu130) has no kernels for sm_61" in text
    assert "\u2022 T4: runs" in text and "agrees with f5lab's table" in text  # predicted: no tick
    # a tick only beside what ran here (the torchaudio pair was checked), never beside a GPU prediction
    assert not [line for line in res.output.splitlines() if "\u2713" in line and ("T4" in line or "GTX" in line)]
    assert "speed model error: unmeasured on a GPU" in text


# -- the verdict ----------------------------------------------------------------------------------------
def test_the_verdict_gives_the_reason_and_fix_first_then_memory_and_speed(installed):
    v = runs.judge(BASE, "GTX 1050 Ti", installed)
    assert v.runs is False and v.reason == "this torch (2.11.0+cu130) has no kernels for sm_61"
    assert v.text.startswith(f"GTX 1050 Ti: this torch (2.11.0+cu130) has no kernels for sm_61; install `{CU126}` "
                             "(cu126; CUDA 12.6: driver >= 525.60.13); then fp32 with the efficient attention kernel fits 1.79 of 3.80 GiB")
    assert v.line.startswith("\u2717 ") and "predicted ~" in v.text and "per call (RTF" in v.text
    ok = runs.judge(BASE, "GTX 1050 Ti", named_build("2.11.0+cu126"))
    assert ok.runs is True and ok.text.startswith("GTX 1050 Ti: runs: fp32")
    tight = runs.judge(BASE, "GTX 1050 Ti", named_build("2.11.0+cu126"), seconds=60, attn="math")
    assert tight.runs is False and "does not fit" in tight.text and tight.fix is None


# -- speed arithmetic and the knob table -----------------------------------------------------------------
def test_speed_is_linear_in_nfe_and_the_published_figure_sets_the_gpu_efficiency():
    r = speed.gpu_rates("T4")
    a, b = (speed.predict(BASE, 10, r, nfe=n, dtype="fp16") for n in (16, 32))
    assert b.sampling_s - b.text_s == pytest.approx(2 * (a.sampling_s - a.text_s))
    ref = speed.published_checks()[0]
    assert ref["gpu"] == "RTX 3090" and ref["predicted_rtf"] == pytest.approx(0.15, abs=1e-3)
    assert 0.05 < speed.gpu_efficiency() < 1
    assert speed.predict(BASE, 10, r, nfe=32, dtype="fp16").step_flops == pytest.approx(
        2 * 190.6e6 * 1876 + 4 * 1876 * 938 * 1024 * 22, rel=0.03)  # 2 x params per token + attention


def test_knob_table_nfe_saves_time_not_memory_and_fp16_on_pascal_saves_memory_at_about_fp32_speed():
    rows = {r["knob"]: r for r in knobs.knob_table(BASE, "GTX 1050 Ti", seconds=10)}
    base = rows["default"]
    assert rows["NFE"]["memory"].startswith("about \u00b10") and rows["NFE"]["time"] in ("-49%", "-50%")
    assert abs(rows["NFE"]["peak memory"] - base["peak memory"]) < 8 * 2**20  # the stored trajectory only
    fp16 = rows["dtype"]
    assert fp16["setting"] == "fp16" and fp16["memory"].startswith("-0.6") and "fp32 compute on GP107" in fp16["note"]
    assert 1 / 3 < fp16["time per call"] / base["time per call"] < 3  # not the spec sheet's 1/64 (x58)
    assert rows["CFG"]["time"] in ("-49%", "-50%", "-51%") and rows["batch"]["time"].startswith("x2")
    assert rows["attention kernel"]["setting"] == "math" and rows["attention kernel"]["memory"].startswith("+")


def test_profile_json_carries_runs_speed_and_knobs(make_fixture, installed):
    path = str(make_fixture("F5TTS_v1_Base").path)
    res = CliRunner().invoke(main, ["profile", path, "--gpu", "GTX 1050 Ti", "--gpu", "T4", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    gtx, t4 = out["verdicts"]
    assert gtx["runs"] is False and gtx["fits"] is True and t4["runs"] is True
    assert t4["seconds_per_call"] > 0 and t4["rtf"] == pytest.approx(t4["seconds_per_call"] / 10, rel=1e-2)
    assert [k["knob"] for k in out["knobs"]][:3] == ["default", "NFE", "dtype"]
    res = CliRunner().invoke(main, ["profile", path, "--gpu", "GTX 1050 Ti", "--torch", "2.6.0+cu124", "--json"])
    assert json.loads(res.output)["verdicts"][0]["runs"] is True


def test_profile_terminal_shows_the_knob_table_and_measure_cpu_the_time_ratio(make_fixture):
    path = str(make_fixture("F5TTS_v1_Base").path)
    res = CliRunner().invoke(main, ["profile", path, "--gpu", "GTX 1050 Ti", "--measure", "cpu", "--nfe", "1",
                                    "--seconds", "1"])
    assert res.exit_code == 0, res.output
    assert "what each knob costs" in res.output and "attention kernel" in res.output
    assert "sampling time on this CPU" in res.output and "predicted/measured" in res.output


def test_profile_never_imports_torch_f5_tts_or_matplotlib(make_fixture):
    code = ("import sys; from click.testing import CliRunner; from f5lab.cli.commands import main; "
            f"r = CliRunner().invoke(main, ['profile', {str(make_fixture('F5TTS_Base').path)!r}, '--json']); "
            "print(r.exit_code, *[m in sys.modules for m in ('torch', 'f5_tts', 'matplotlib')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.split()
    assert out == ["0", "False", "False", "False"]


# -- load_model(device="auto") and the service code ---------------------------------------------------------
def test_load_model_auto_falls_back_to_the_cpu_with_one_warning_here(make_fixture, catalogue):
    import torch

    from f5lab.compat.loading import load_model
    from f5lab.hardware.runs import DeviceFallbackWarning

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.warns(DeviceFallbackWarning) as caught:
        model = load_model(make_fixture("F5TTS_Base").path, config="F5TTS_Base", device="auto", catalogue=catalogue)
    assert next(model.parameters()).device.type == "cpu"
    (w,) = [w for w in caught if issubclass(w.category, DeviceFallbackWarning)]
    msg = str(w.message)
    assert "\n" not in msg and msg.startswith("running on the CPU: this torch (") and "sees no CUDA GPU" in msg
    assert "predicted ~" in msg and "per 10 s call here" in msg


def test_the_service_code_picks_its_device():
    import torch

    from f5lab.compat.service import pick_device_code

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    code = pick_device_code(123)
    scope: dict = {}
    exec(code, scope)
    assert scope["pick_device"]() == "cpu"
    assert ">= 123" in code and "get_arch_list()" in code


# -- make install TORCH_INDEX=... ---------------------------------------------------------------------------
def test_make_install_passes_torch_index_to_pip(tmp_path):
    if not shutil.which("make"):
        pytest.skip("no make")
    url = "https://example.invalid/whl/cu126"
    out = subprocess.run(["make", "-n", "install", f"TORCH_INDEX={url}", f"VENV={tmp_path / 'venv'}",
                          "PYTHON=python3"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    pip = [ln for ln in out.splitlines() if "pip install" in ln]
    first = pip[0]
    assert "torch==2.11.0 torchaudio==2.11.0" in first and first.endswith(f"--index-url {url}")
    assert pip.index(first) < next(i for i, ln in enumerate(pip) if "-e '.[dev]'" in ln)  # the index first
    plain = subprocess.run(["make", "-n", "install", f"VENV={tmp_path / 'venv'}", "PYTHON=python3"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout
    assert "--index-url" not in plain  # everything else unchanged


def test_report_torch_reaches_the_memory_notebook(make_fixture, tmp_path):
    """`report --torch 2.6.0+cu124`: the 03 notebook judges that build, and the answer card says it runs."""
    from f5lab.reporting.reports import run_report

    tiny = make_fixture("F5TTS_Base").path
    rep = run_report(tiny, out=tmp_path, run_id="r", notebooks=["03_memory"], torch_build="2.6.0+cu124",
                     asr=None, progress=False)
    assert rep.ok, rep.failed
    run = rep.summary["answer"]["runs"]
    assert run["torch"] == "2.6.0+cu124" and run["runs"] is True and run["kernels"] is True
    line = next(ln for ln in rep.summary["answer"]["lines"] if ln["label"] == "runs on the GPU?")
    assert line["ok"] is None and line["text"].startswith("GTX 1050 Ti: runs: fp32")  # predicted: no tick
    with pytest.raises(ConfigError, match="--torch"):
        run_report(tiny, out=tmp_path, run_id="bad", notebooks=["03_memory"], torch_build="2.x")

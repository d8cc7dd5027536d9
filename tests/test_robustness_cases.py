"""Robustness failures as they were reported (issue 16), one regression test each: a user's file lost,
a value f5-tts cannot run accepted until after the model loaded, a hostile file's cost unbounded. The
structural tests that enumerate every command are test_outputs, test_params, test_write_path and
test_cost; this file holds the reported cases exactly.

Examples run in child processes live in ``tests/test_outputs.py`` (its parameter ids in brackets):
two remaps to one new DST [test_two_runs_at_once...[remap:dst]]; two ``report --run-id r``
[...[report:out]] and two reports in the same second [test_two_reports_started_in_the_same_second];
the same sweep twice [...[sweep:out]]; SIGTERM mid-synth [test_sigterm...[working-synth:out]],
during ``f5lab demo`` [...[working-demo:cache]] and mid-report [...[working-report:out]].
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import time
import zipfile
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.model.arch import f5_tts_root
from tests._forkrun import ForkRunner
from tests.test_outputs import FAKE_DEFS

REF_WAV = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
REF_TEXT = "Some call me nature, others call me mother nature."


def run(*argv) -> CliRunner:
    result = CliRunner().invoke(main, [str(a) for a in argv])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def one_line(result, *needles: str) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "Traceback" not in result.output, result.output[-2000:]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    from f5lab.synthetic.layouts import build_checkpoint

    return build_checkpoint(tmp_path_factory.mktemp("i16") / "x.safetensors", scale="tiny").path


def synth_argv(good: Path, out: Path, ref: Path = REF_WAV) -> list:
    return ["synth", good, "--ref-audio", ref, "--ref-text", REF_TEXT, "--text", "Hi there.", "--configs", "tiny",
            "--config", "F5TTS_Base", "--nfe", "2", "--out", out]


# -- section 1: never lose a user's file --------------------------------------------------------------------
def test_write_config_onto_the_checkpoint_itself_is_refused_even_with_force(good):
    before = sha(good)
    one_line(run("inspect", good, "--write-config", good, "--force"), "is an input")
    assert sha(good) == before


def test_synth_never_overwrites_its_own_reference_and_replaces_a_run_only_with_force(good, tmp_path):
    out = tmp_path / "synth_out"
    assert run(*synth_argv(good, out)).exit_code == 0
    wav = out / "synth.wav"
    before = sha(wav)
    for force in ([], ["--force"]):  # chaining runs through the default folder: the reference is an output
        one_line(run(*synth_argv(good, out, ref=wav), *force), "synth.wav", "is an input")
        assert sha(wav) == before
    one_line(run(*synth_argv(good, out)), "exists", "--force")  # a previous run is not silently replaced
    assert run(*synth_argv(good, out), "--force").exit_code == 0


def test_a_full_disk_under_demo_checkpoint_force_keeps_the_old_file(tmp_path):
    """`demo-checkpoint keep.pt --force --layout trainer_pt` under a full disk deleted keep.pt."""
    keep = tmp_path / "keep.pt"
    assert run("demo-checkpoint", keep, "--layout", "trainer_pt").exit_code == 0
    before = sha(keep)
    runner = ForkRunner()
    try:
        result = runner.run(["demo-checkpoint", keep, "--force", "--layout", "trainer_pt"], cwd=tmp_path,
                            fsize=100_000)
    finally:
        runner.close()
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.code == 2 and len(lines) == 1 and "keep.pt" in lines[0] and "Traceback" not in result.stderr
    assert sha(keep) == before and sorted(p.name for p in tmp_path.iterdir()) == ["keep.pt"]


def test_a_run_id_left_by_a_killed_report_starts_again(good, tmp_path, monkeypatch):
    scope: dict = {}
    exec(FAKE_DEFS, scope)
    for module, name, fake in scope["FAKED"]:
        monkeypatch.setattr(module, name, fake)
    stale = tmp_path / "reports" / "r"
    stale.mkdir(parents=True)
    (stale / "01_inspect.ipynb").write_text("half")
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    (stale / ".f5lab-incomplete").write_text(f"{dead}\n")  # what SIGKILL leaves: the marker of a dead run
    result = run("report", good, "--out", tmp_path / "reports", "--run-id", "r", "--notebook", "01_inspect",
                 "--asr", "none", "--device", "cpu", "--configs", "tiny")
    assert result.exit_code == 0, result.output[-2000:]
    assert "left incomplete by an interrupted run" in result.output
    assert not (stale / ".f5lab-incomplete").exists() and (stale / "manifest.json").is_file()


def test_a_resumed_sweep_rechecks_the_outputs_not_only_done_json(good, tmp_path, monkeypatch):
    scope: dict = {}
    exec(FAKE_DEFS, scope)
    for module, name, fake in scope["FAKED"]:
        monkeypatch.setattr(module, name, fake)
    argv = ["sweep", good, "--out", tmp_path, "--sweep-id", "s", "--config", "F5TTS_Base", "--configs", "tiny",
            "--no-compare", "--asr", "none"]  # a random checkpoint: no config decides, so it is named
    assert run(*argv).exit_code == 0
    point = next(p for p in (tmp_path / "s").iterdir() if (p / "done.json").exists())
    assert "1 already done" in run(*argv).output
    (point / "sweep_point.json").unlink()  # deleted since: the point is not done any more
    again = run(*argv)
    assert again.exit_code == 0 and "0 already done, 1 to run" in again.output, again.output
    assert (point / "sweep_point.json").is_file()


def test_points_of_checkpoints_named_in_another_script_get_their_own_ids(tmp_path):
    from f5lab.reporting.sweepspec import SweepSpec, make_points

    a, b = tmp_path / "模型一.safetensors", tmp_path / "模型二.safetensors"
    spec = SweepSpec(checkpoints=[a, b], grid={"config": [None], "nfe": [8], "dtype": ["fp32"], "device": ["cpu"],
                                               "ref": [("r.wav", "t")], "gen_text": ["Hi"]})
    ids = [p["id"] for p in make_points(spec)]
    assert ids == ["模型一", "模型二"]
    twins = SweepSpec(checkpoints=[tmp_path / "a b.pt", tmp_path / "a_b.pt"], grid=spec.grid)
    assert len({p["id"] for p in make_points(twins)}) == 2  # names that fold to one id get a hash each


# -- section 2: every value checked before any work ----------------------------------------------------------
def test_the_frame_cap_is_honoured_before_anything_loads():
    """`--duration 100`, `--speed 0.05` with 63 characters, 5000 characters without punctuation:
    each crashed f5-tts after loading (RuntimeError); now every call fits its 8192 frames."""
    from f5lab.facts import FRAME_CAP
    from f5lab.speech.synth import call_frames, normalise_ref_text, plan_chunks

    ref = normalise_ref_text(REF_TEXT)
    ref_frames = 12 * 24000 // 256
    for text, speed, duration in (("Hello there.", 1.0, 100.0), ("a" * 63, 0.05, None), ("palavra " * 625, 1.0, None),
                                  ("好" * 5000, 1.0, None)):
        chunks = plan_chunks(text, ref, ref_frames, speed, duration)
        frames = call_frames(chunks, ref, ref_frames, speed, duration)
        assert max(frames) <= FRAME_CAP and "".join(chunks).replace(" ", "") == text.replace(" ", ""), frames


def test_a_frame_cap_that_cannot_be_honoured_names_the_option():
    from f5lab.settings import SettingsError
    from f5lab.speech.synth import normalise_ref_text, plan_chunks

    with pytest.raises(SettingsError, match="--speed"):  # one character after an 85 s reference
        plan_chunks("a", normalise_ref_text("Hi."), 8000, speed=1e-3)
    with pytest.raises(SettingsError, match="--duration"):
        plan_chunks("Hi.", normalise_ref_text(REF_TEXT), 1100, speed=1.0, duration=300.0)


@pytest.mark.parametrize("option, value", [("--sway", "2"), ("--cfg", "1e30"), ("--duration", "601"),
                                           ("--duration", "nan"), ("--speed", "0")])
def test_synth_settings_f5tts_cannot_run_are_refused_before_loading(good, tmp_path, option, value):
    start = time.perf_counter()
    one_line(run(*synth_argv(good, tmp_path / "o"), option, value), option)
    assert time.perf_counter() - start < 5 and not (tmp_path / "o").exists()


def test_the_largest_sway_f5tts_accepts_runs(good, tmp_path):
    assert run(*synth_argv(good, tmp_path / "o"), "--sway", "1.75").exit_code == 0


SWEEP_FILES = {  # each was a traceback, or accepted only for every point to fail
    "checkpoints: 5": "checkpoints is 5", "checkpoints: x\nnfe: abc": "nfe is 'abc'",
    "checkpoints: x\nrefs: hello": "refs is 'hello'", "checkpoints: x\nseed: -1": "seed is -1",
    "checkpoints: x\nloss_samples: 0": "loss_samples is 0", "checkpoints: x\nval: [1, 2]": "val[0]",
    "checkpoints: x\ndtype: [fp32, fp8]": "dtype[1]", "checkpoints: x\ngen_text: {a: 1}": "gen_text",
    "checkpoints: [x, 3]": "checkpoints[1]", "checkpoints: x\nconfigs: big": "configs",
    "a: " + "[" * 5000 + "]" * 5000: "nested deeper",
    "".join(f"{a}: &{a} [" + ", ".join([f"*{p}" if p else "x"] * 9) + "]\n"
            for p, a in zip([""] + list("abcdefgh"), "abcdefghi")) + "checkpoints: x\n": "alias bomb",
}


@pytest.mark.parametrize("text", list(SWEEP_FILES), ids=range(len(SWEEP_FILES)))
def test_a_bad_sweep_file_is_one_line_naming_the_file_and_the_key(tmp_path, text):
    f = tmp_path / "sweep.yaml"
    f.write_text(text + "\n")
    start = time.perf_counter()
    one_line(run("sweep", f, "--out", tmp_path / "out"), "sweep.yaml", SWEEP_FILES[text])
    assert time.perf_counter() - start < 5 and not (tmp_path / "out").exists()


# -- section 3: bounded cost, faithful results ----------------------------------------------------------------------
def test_a_pt_whose_pickle_inflates_is_refused_at_once(tmp_path):
    """195 KB on disk, 200 MB of one repeated opcode once inflated: inspect peaked at 3.3 GB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02" + b"]" * 200_000_000 + b".")
        zf.writestr("archive/data/0", b"\0" * 4)
    path = tmp_path / "bomb.pt"
    path.write_bytes(buf.getvalue())
    assert path.stat().st_size < 300_000
    start = time.perf_counter()
    line = one_line(run("inspect", path), "bomb.pt", "data.pkl")
    assert time.perf_counter() - start < 3, line


def test_a_header_of_a_million_empty_tensors_is_refused_at_once(tmp_path):
    """1.15 M zero-size tensors, a 96 MB header: inspect 15 s / 1.1 GB, diagnose 58 s and 41 MB of output."""
    raw = b"{" + b",".join(b'"t%d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}' % i
                           for i in range(1_150_000)) + b"}"
    path = tmp_path / "empty_tensors.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    for command in ("inspect", "diagnose"):
        start = time.perf_counter()
        result = run(command, path)
        one_line(result, "empty_tensors.safetensors", "header")
        assert time.perf_counter() - start < 3 and len(result.output) < 2000


def test_diagnose_reads_a_long_dotless_token_in_linear_time(tmp_path):
    """After "Missing key(s)", 60 KB took 24 s and 200 KB 262 s."""
    err = tmp_path / "error.txt"
    err.write_text("Error(s) in loading state_dict for CFM:\n\tMissing key(s) in state_dict: " + "a" * 200_000)
    start = time.perf_counter()
    result = run("diagnose", "--error-file", err)
    assert result.exit_code in (1, 2) and time.perf_counter() - start < 3


def test_a_pt_of_transposed_views_remaps_and_verifies(good, tmp_path, catalogue):
    """The remap said "tensors equal 84/84" and then NOT verified (forward relative error 2.5e-7,
    tolerance 0): verify used the strided tensors as parameters, which load_state_dict would copy."""
    from safetensors.torch import load_file

    from f5lab.compat.loading import load_model
    from f5lab.compat.verify import verify

    sd = {k: (v.t().contiguous().t() if v.dim() == 2 else v) for k, v in load_file(str(good)).items()}
    assert sum(not v.is_contiguous() for v in sd.values()) > 10
    src = tmp_path / "transposed.pt"
    torch.save({"ema_model_state_dict": {"initted": torch.tensor(True), "step": torch.tensor(3), **sd}}, src)
    result = run("remap", src, tmp_path / "out.safetensors", "--config", "F5TTS_Base", "--configs", "tiny")
    assert result.exit_code == 0 and "verified: DST computes what SRC computes" in result.output, result.output
    check = verify(src, tmp_path / "out.safetensors", config="F5TTS_Base", catalogue=catalogue)
    assert check.ok and check.forward_max_abs_error == 0.0
    model = load_model(src, config="F5TTS_Base", catalogue=catalogue)  # what f5-tts's load_state_dict builds
    assert all(p.is_contiguous() for p in model.parameters())


def test_a_vocab_with_a_bom_keeps_the_trained_space_row(good, tmp_path):
    """--vocab-to with a UTF-8 BOM dropped the trained space row and initialised "\\ufeff " as new."""
    from safetensors.torch import load_file

    from f5lab.files.vocab import default_vocab_path

    bom = tmp_path / "bom_vocab.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + default_vocab_path().read_bytes())
    out = tmp_path / "out.safetensors"
    result = run("remap", good, out, "--config", "F5TTS_Base", "--configs", "tiny", "--vocab-to", bom)
    assert result.exit_code == 0, result.output
    assert "0 new tokens" in result.output and "BOM" in result.output
    key = "transformer.text_embed.text_embed.weight"
    old, new = load_file(str(good))["ema_model." + key], load_file(str(out))[key]
    assert torch.equal(old, new)  # every row where it was, the space's (row 1, id 0) included

"""What f5lab reads: bounded, and every mistake one line (issue 29, items 5, 6 and 7).

Grouped by class, each class enumerated over the commands' declarations where it can be:

* text files (every ``--text-file``, ``text --file``): binary, NUL bytes, past the cap, a device;
* model folders (every ``--asr-model-dir``): nowhere, a folder without the model;
* output files declared with a suffix (``profile --plot``): another suffix;
* texts to speak with no character the vocab knows (``report``; ``probe --ref-text`` warns);
* checkpoint layouts: a Lightning ``.ckpt``, a release file with one stray (LoRA) key or without
  ``proj_out.weight``: read and diagnosed naming the key;
* file names with undecodable bytes: ``remap`` writes a DST every reader opens, ``report`` says so in
  one line; text outputs are always UTF-8;
* readers' caps (YAML, JSON: duplicate keys, binary); audio decoded only as far as used;
* HOME that cannot be written: notebooks still run.
"""

from __future__ import annotations

import collections
import json
import os
import tracemalloc
from pathlib import Path

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.cli.params import ModelDir, OutFile
from f5lab.model.arch import f5_tts_root
from tests.test_params import base_argv, cheap_runs, corpus, error_lines, run, with_value  # noqa: F401

REF_WAV = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
TEXT_FILES = [(n, p) for n, cmd in sorted(main.commands.items()) for p in cmd.params
              if p.name in ("text_file", "old_file") and isinstance(p.type, click.Path) and n in
              ("text", "synth", "report", "sweep", "probe")]
MODEL_DIRS = [(n, p) for n, cmd in sorted(main.commands.items()) for p in cmd.params if isinstance(p.type, ModelDir)]
SUFFIXED = [(n, p) for n, cmd in sorted(main.commands.items()) for p in cmd.params
            if isinstance(p.type, OutFile) and p.type.suffixes]


def one_line(result, *needles: str) -> str:
    lines = error_lines(result)
    assert result.exit_code == 2 and len(lines) == 1 and "Traceback" not in result.output, result.output[-1500:]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_the_enumerated_options_are_found():
    assert {n for n, _ in TEXT_FILES} >= {"text", "synth", "report"}
    assert {n for n, _ in MODEL_DIRS} >= {"synth", "report", "sweep"}
    assert ("profile", "plot") in {(n, p.name) for n, p in SUFFIXED}


# -- text files ---------------------------------------------------------------------------------------
def bad_text_files(d: Path) -> dict[str, tuple[str, str]]:
    files = {"random bytes": (os.urandom(4096), "UTF-8"), "NUL bytes": (b"\x00" * 2000, "binary"),
             "text with NULs": (b"Hello\x00there\x00" * 50, "binary"),
             "control bytes": (bytes(range(1, 9)) * 300, "binary"),
             "past the cap": (b"word " * 220_000, "at most")}
    out = {}
    for name, (data, needle) in files.items():
        f = d / (name.replace(" ", "_") + ".txt")
        f.write_bytes(data)
        out[name] = (str(f), needle)
    out["a device"] = ("/dev/zero", "not a regular file")
    return out


@pytest.mark.parametrize("command, param", TEXT_FILES, ids=[f"{n}:{p.name}" for n, p in TEXT_FILES])
def test_a_text_file_that_is_not_text_is_one_line(command, param, corpus, cheap_runs, tmp_path):
    for label, (path, needle) in bad_text_files(tmp_path).items():
        argv = [command, *base_argv(command, corpus, tmp_path / "o")]
        if command == "text":
            argv = [command]
        elif not param.multiple and "--text" in argv:  # --text and --text-file exclude each other
            i = argv.index("--text")
            argv = argv[:i] + argv[i + 2:]
        argv = with_value(command, argv, param, path)
        line = one_line(run(argv), needle)
        assert Path(path).name in line, (label, line)
    assert not (tmp_path / "o").exists()


# -- model folders, suffixes --------------------------------------------------------------------------
@pytest.mark.parametrize("command, param", MODEL_DIRS, ids=[f"{n}:{p.name}" for n, p in MODEL_DIRS])
def test_a_model_folder_option_pointing_nowhere_is_one_line(command, param, corpus, cheap_runs, tmp_path):
    (tmp_path / "empty").mkdir()
    for value in (tmp_path / "nowhere", tmp_path / "empty"):
        argv = with_value(command, [command, *base_argv(command, corpus, tmp_path / "o")], param, str(value))
        one_line(run(argv), param.opts[0])


@pytest.mark.parametrize("command, param", SUFFIXED, ids=[f"{n}:{p.name}" for n, p in SUFFIXED])
def test_an_output_of_another_format_is_one_line(command, param, corpus, cheap_runs, tmp_path):
    for name in ("x.txt", "x.png.txt", "x", "x.jpg"):
        argv = with_value(command, [command, *base_argv(command, corpus, tmp_path / "o")], param, str(tmp_path / name))
        one_line(run(argv), param.opts[0])
    assert not any(tmp_path.iterdir())


# -- lineage X --base X -------------------------------------------------------------------------------------
def test_lineage_against_itself_says_so(corpus, tmp_path):
    link = tmp_path / "same.safetensors"
    link.symlink_to(corpus["good"])
    for base in (corpus["good"], str(link)):
        one_line(run(["lineage", corpus["good"], "--base", base, "--configs", "tiny"]), "checkpoint itself")


# -- texts the vocab cannot speak ---------------------------------------------------------------------------
UNSPEAKABLE = ["☃☃☃", "😀 😀", "∰∰", "\u2603\u200b\u2603"]


@pytest.mark.parametrize("command", ["report", "sweep"])
@pytest.mark.parametrize("text", UNSPEAKABLE)
def test_a_text_the_vocab_cannot_speak_is_refused_before_any_notebook(corpus, cheap_runs, tmp_path, command, text):
    argv = [command, *base_argv(command, corpus, tmp_path), "--text", text]
    one_line(run(argv), "vocabulary")
    assert not any(tmp_path.iterdir())


def test_probe_warns_on_a_transcript_the_vocab_cannot_read(corpus):
    result = run(["probe", corpus["good"], "--ref-audio", corpus["ref"], "--ref-text", "☃☃☃", "--configs", "tiny",
                  "--samples", "1", "--candidate", "F5TTS_Base", "--json"])
    assert result.exit_code == 0 and "warning" in result.stderr and "vocabulary" in result.stderr, result.output


# -- checkpoint layouts ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def layouts(corpus, tmp_path_factory) -> dict[str, Path]:
    from safetensors.torch import load_file, save_file

    d = tmp_path_factory.mktemp("layouts")
    sd = load_file(corpus["good"])
    plain = collections.OrderedDict((k.replace("ema_model.", "", 1), v) for k, v in sd.items()
                                    if k not in ("ema_model.initted", "ema_model.step"))
    out = {}
    for name, inner in (("lightning_prefixed", {f"model.{k}": v for k, v in plain.items()}), ("lightning", plain)):
        ck = {"epoch": 3, "global_step": 100, "pytorch-lightning_version": "2.1.0",
              "state_dict": collections.OrderedDict(inner), "optimizer_states": [{"state": {}, "param_groups": []}],
              "lr_schedulers": [], "callbacks": {"ModelCheckpoint": {"best_model_score": torch.tensor(0.5)}},
              "loops": {}, "hparams_name": "kwargs", "hyper_parameters": {"lr": 1e-4}}
        out[name] = d / f"{name}.ckpt"
        torch.save(ck, out[name])
    out["model_key"] = d / "model_key.pt"
    torch.save({"model": plain, "step": 5}, out["model_key"])
    for name, extra in (("lora_root", "lora_A.weight"), ("lora_block", "ema_model.transformer.lora_B.weight")):
        out[name] = d / f"{name}.safetensors"
        save_file({**sd, extra: torch.zeros(4, 8)}, str(out[name]))
    out["no_proj_out"] = d / "no_proj_out.safetensors"
    save_file({k: v for k, v in sd.items() if k != "ema_model.transformer.proj_out.weight"}, str(out["no_proj_out"]))
    return out


@pytest.mark.parametrize("name", ["lightning_prefixed", "lightning", "model_key"])
def test_a_state_dict_under_another_container_is_read(layouts, name):
    result = run(["inspect", str(layouts[name]), "--configs", "tiny", "--json"])
    assert result.exit_code == 0, result.output[-1500:]
    data = json.loads(result.stdout)
    assert "F5TTS_Base" in json.dumps(data)


@pytest.mark.parametrize("name, key", [("lora_root", "lora_A.weight"), ("lora_block", "lora_B"),
                                       ("no_proj_out", "proj_out")])
def test_a_release_file_with_one_key_off_is_diagnosed_naming_it(layouts, name, key):
    result = run(["diagnose", str(layouts[name]), "--configs", "tiny", "--config", "F5TTS_Base"])
    assert result.exit_code == 1 and key in result.output and "not an F5-TTS" not in result.output, result.output[-2000:]


# -- undecodable file names -----------------------------------------------------------------------------
@pytest.fixture()
def odd_name(corpus, tmp_path) -> Path:
    p = Path(os.fsdecode(bytes(tmp_path) + b"/b\xffd.safetensors"))
    p.write_bytes(Path(corpus["good"]).read_bytes())
    return p


def test_remap_of_an_undecodable_name_writes_a_file_every_reader_opens(odd_name, tmp_path):
    from safetensors import safe_open

    from f5lab.compat.remap import execute_plan, plan_remap
    from f5lab.model.described import catalogue_named

    dst = Path(os.fsdecode(bytes(tmp_path) + b"/o\xffut.safetensors"))  # what `f5lab remap` runs
    execute_plan(plan_remap(odd_name, "F5TTS_Base", catalogue=catalogue_named("tiny")), dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        with safe_open(f"/proc/self/fd/{fd}", framework="pt") as f:  # safetensors' own strict JSON parser
            assert f.metadata()["f5lab_source"] == "b\\xffd.safetensors"
    finally:
        os.close(fd)
    from f5lab.files.checkpoint import open_checkpoint

    ckpt = open_checkpoint(dst)  # f5lab's own reader, and its tensors through safetensors
    state = ckpt.model_state()
    assert len(dict(ckpt.iter_tensors(state))) == len(state.tensors)


def test_report_of_an_undecodable_name_is_one_line(odd_name, cheap_runs, tmp_path):
    argv = ["report", str(odd_name), "--out", str(tmp_path / "rep"), "--notebook", "01_inspect", "--asr", "none",
            "--configs", "tiny"]
    one_line(run(argv), "b\\xffd.safetensors", "UTF-8")


def test_text_outputs_are_always_utf8(tmp_path):
    from f5lab import outputs

    outputs.write_text(tmp_path / "p.html", "<p>b\udcffd \ud800</p>")
    assert (tmp_path / "p.html").read_bytes().decode("utf-8") == "<p>b\\xffd \\ud800</p>"


# -- readers' caps ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, needle", [("a: 1\na: 2\n", "given twice"), ("m:\n  x: 1\n  y: {x: 1, x: 2}\n", "twice"),
                                          ("a: 1\x00\n", "binary"), ("a: \x07\x08\n", "binary")])
def test_yaml_duplicates_and_binary_are_refused(tmp_path, text, needle):
    from f5lab.errors import ConfigError
    from f5lab.files.readers import load_yaml

    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_yaml(f)


def test_a_yaml_merge_key_is_not_a_duplicate(tmp_path):
    from f5lab.files.readers import load_yaml

    f = tmp_path / "c.yaml"
    f.write_text("base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n")
    assert load_yaml(f)["m"] == {"x": 1, "y": 2}


@pytest.mark.parametrize("text, needle", [('{"a": 1, "a": 2}', "twice"), ('{"a": NaN}', "NaN"), ("[" * 100_000, "JSON")])
def test_json_is_read_strictly(tmp_path, text, needle):
    from f5lab.errors import ConfigError
    from f5lab.files.readers import read_json

    f = tmp_path / "r.json"
    f.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        read_json(f)


def test_config_yaml_duplicate_and_binary_through_every_config_option(corpus, cheap_runs, tmp_path):
    from tests.test_safety_configs import READERS

    dup = tmp_path / "dup.yaml"
    dup.write_text("model:\n  backbone: DiT\n  arch: {dim: 64, depth: 2, heads: 4, ff_mult: 2, dim: 32}\n")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(os.urandom(512))
    for command, param in READERS:
        if param.type.f5lab_reads != "config":
            continue
        for f, needle in ((dup, "twice"), (binary, "bin.yaml")):
            argv = with_value(command, [command, *base_argv(command, corpus, tmp_path / "o")], param, str(f))
            one_line(run(argv), needle)


# -- audio: decode only what is used ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    import soundfile as sf

    data, sr = sf.read(str(REF_WAV), dtype="int16")
    n = 5 * 60 * sr  # five minutes of speech, the example clip over and over
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(str(path), np.tile(data, n // len(data) + 1)[:n], sr, subtype="PCM_16")
    return path


def test_a_long_reference_is_decoded_only_as_far_as_f5tts_uses_it(long_clip):
    from f5lab.speech.audio import READ_SECONDS, clip_like_f5tts, prepare_reference, read_audio, resample

    tracemalloc.start()
    ref = prepare_reference(long_clip)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    whole, sr = read_audio(long_clip, max_seconds=None)
    assert len(whole) == 5 * 60 * sr and ref.source_seconds == pytest.approx(300.0)
    assert peak < 0.75 * whole.nbytes, peak  # the 5-minute clip decoded whole is 28.8 MB of float32 (30 s: 2.9)
    clipped, clip_sr, _ = clip_like_f5tts(whole, sr)  # what reading all of it gives
    assert np.array_equal(ref.wav, resample(clipped, clip_sr)) and READ_SECONDS >= 13


def test_the_text_command_reads_a_long_reference_in_bounded_memory(long_clip):
    from f5lab.speech.audio import reference_length

    tracemalloc.start()
    info = reference_length(long_clip)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert info["source_seconds"] == pytest.approx(300.0) and info["seconds"] < 13 and peak < 15_000_000, peak


# -- HOME that cannot be written ----------------------------------------------------------------------------
def test_jupyter_state_moves_out_of_a_home_that_cannot_be_written(tmp_path, monkeypatch):
    from f5lab import outputs
    from f5lab.reporting.runner import jupyter_dirs

    home = tmp_path / "home_is_a_file"
    home.write_text("")
    for var in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR", "MPLCONFIGDIR", "XDG_DATA_HOME",
                "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    set_now = jupyter_dirs()
    assert set(set_now) == {"JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR"}
    for path in set_now.values():
        assert outputs.usable_folder(path) and not path.startswith(str(home))
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in set_now:
        monkeypatch.delenv(var)
    assert jupyter_dirs() == {}  # a writable HOME is left alone


def test_a_report_runs_its_notebooks_with_a_home_that_cannot_be_written(corpus, tmp_path):
    import subprocess
    import sys

    home = tmp_path / "home_is_a_file"
    home.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "IPYTHON", "MPLCONFIG", "XDG_"))}
    env.update(HOME=str(home), TQDM_DISABLE="1", MPLBACKEND="Agg", PYTHONPATH=str(Path(__file__).parents[1]))
    proc = subprocess.run([sys.executable, "-m", "f5lab", "report", corpus["good"], "--out", str(tmp_path / "rep"),
                           "--notebook", "01_inspect", "--asr", "none", "--configs", "tiny"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "failed" not in proc.stdout, (proc.stdout[-1500:], proc.stderr[-1500:])


def test_bigvgan_config_is_held_to_the_same_rule(tmp_path):
    """BigVGAN's code is not in f5-tts's wheel; its config.json is checked all the same."""
    from f5lab.files.trusted import UntrustedConfig, bigvgan_config

    good = {"resblock": "1", "upsample_rates": [4, 4, 2, 2, 2, 2], "upsample_kernel_sizes": [8, 8, 4, 4, 4, 4],
            "upsample_initial_channel": 1536, "resblock_kernel_sizes": [3, 7, 11],
            "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], "num_mels": 100, "activation": "snakebeta"}
    f = tmp_path / "config.json"
    f.write_text(json.dumps(good))
    assert bigvgan_config(f)["num_mels"] == 100
    for bad, needle in (({**good, "_target_": "os.system"}, "_target_"), ({**good, "activation": "exec"}, "activation"),
                        ({**good, "num_mels": 10**9}, "num_mels"), ({k: v for k, v in good.items() if k != "resblock"},
                                                                    "resblock")):
        f.write_text(json.dumps(bad))
        with pytest.raises(UntrustedConfig, match=needle):
            bigvgan_config(f)
    f.write_text('{"num_mels": 100, "num_mels": 80}')
    with pytest.raises(UntrustedConfig, match="twice"):
        bigvgan_config(f)

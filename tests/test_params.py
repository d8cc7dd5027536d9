"""Every value of every parameter of every command, checked before any work (issue 16 section 2).

Values come from each parameter's click declaration (``f5lab.cli.params``): for a range its bounds
and just past them, 0, -1, NaN, infinities, 1e300, 2**64 and words; for a choice an unknown one;
for text the empty string, emoji only, undecodable bytes, a NUL, a very long one; for a path a
missing one, a folder, random bytes, an empty file; for an output an existing file, a folder, a
name past the file system's limit.

``test_every_refused_value_is_one_line_naming_the_option`` runs every value the declaration
refuses (exit 2, one line naming the option or the file, nothing written); the hypothesis test
then draws any value, accepted ones included, and holds every run to exit 0/1/2, no traceback, no
NaN in what it prints or writes. Accepted values are kept cheap (tiny checkpoints; a few
parameters whose large values mean minutes of honest work are drawn from the bottom of their
range). Report and sweep run with their notebook runner replaced (``tests/test_outputs.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from f5lab.cli.commands import main
from f5lab.model.arch import f5_tts_root
from tests.test_outputs import FAKE_DEFS

REF_WAV = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
REF_TEXT = "Some call me nature, others call me mother nature."
BAD_TEXT = ["", "😀😀😀", "bad\udcff\udcfebytes", "nul\x00here", "x" * 1_100_000]
# parameters whose valid large values are minutes of real work: drawn from the bottom of their range
CHEAP = {("synth", "nfe"): 3, ("synth", "duration"): 8.0, ("probe", "samples"): 2, ("sweep", "loss_samples"): 2,
         ("sweep", "workers"): 2, ("report", "nfe"): 3, ("sweep", "nfe"): 3, ("profile", "batch"): 8,
         ("profile", "nfe"): 64}
NOT_DRAWN = {("demo-checkpoint", "scale"): ["full"],  # a 1.35 GB build
             ("synth", "device"): [], ("probe", "device"): []}


def base_argv(command: str, c: dict[str, str], out: Path) -> list[str]:
    """A valid, cheap run of ``command``: positionals first (in declaration order), then options.
    A new command adds its own here (``test_every_command_has_a_cheap_valid_run`` asks for it)."""
    common = {"tiny": ["--configs", "tiny"]}
    runs = {
        "inspect": [c["good"]],
        "demo-checkpoint": [str(out / "d.safetensors")],
        "demo": [],
        "diagnose": [c["good"], *common["tiny"]],
        "remap": [c["good"], str(out / "r.safetensors"), "--config", "F5TTS_Base", *common["tiny"], "--no-verify"],
        "verify": [c["good"], c["good"], "--config", "F5TTS_Base", *common["tiny"]],
        "matrix": [c["good"], *common["tiny"]],
        "report": [c["good"], "--out", str(out / "rep"), "--notebook", "01_inspect", "--asr", "none", "--device", "cpu",
                   *common["tiny"]],
        "sweep": [c["good"], "--out", str(out / "sw"), "--config", "F5TTS_Base", *common["tiny"], "--no-compare",
                  "--asr", "none", "--workers", "1"],
        "profile": [c["good"], "--gpu", "T4"],
        "synth": [c["good"], "--ref-audio", c["ref"], "--ref-text", "Hello there.", "--text", "Hi there.",
                  *common["tiny"], "--config", "F5TTS_Base", "--nfe", "2", "--out", str(out / "syn")],
        "probe": [c["good"], "--ref-audio", c["ref"], "--ref-text", "Hello there.", *common["tiny"], "--samples", "1",
                  "--candidate", "F5TTS_Base"],
        "compare": [c["record"], c["record"]],
        "doctor": ["--gpu", "T4", "--no-inference"],  # this machine may lack FFmpeg (exit 1): tests/test_doctor.py
        "serve-check": [c["good"], c["base"], "--config", "F5TTS_Base", *common["tiny"]],
        "text": ["Custa R$ 5,00 às 14h."],
        "lineage": [c["good"], "--base", c["base"], "--configs", "tiny"],
    }
    if command not in runs:
        pytest.fail(f"no cheap valid run of `f5lab {command}` in tests/test_params.py base_argv: add one, so that "
                    "its parameters are fuzzed from their declarations")
    return runs[command]


BASES = {"inspect", "demo-checkpoint", "demo", "diagnose", "remap", "verify", "matrix", "report", "sweep", "profile",
         "synth", "probe", "compare"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, str]:
    import soundfile as sf

    from f5lab.speech.audio import write_wav
    from f5lab.synthetic.layouts import build_checkpoint

    d = tmp_path_factory.mktemp("params_corpus")
    good = build_checkpoint(d / "good.safetensors", config="F5TTS_Base", scale="tiny").path
    wav, sr = sf.read(str(REF_WAV), dtype="float32")
    ref = write_wav(d / "ref.wav", wav[: int(1.5 * sr)], sr)  # 1.5 s: tiny calls stay short
    base = d / "base.safetensors"  # a copy: lineage's cheap run has a verdict (identical to its base)
    base.write_bytes(Path(good).read_bytes())
    c = {"good": str(good), "base": str(base), "ref": str(ref), "dir": str(d / "a_folder"),
         "missing": str(d / "missing.wav"),
         "random": str(d / "random.bin"), "empty": str(d / "empty.txt"), "existing": str(d / "existing.txt")}
    Path(c["dir"]).mkdir()
    Path(c["random"]).write_bytes(np.random.default_rng(0).bytes(2048))
    Path(c["empty"]).write_bytes(b"")
    Path(c["existing"]).write_text("keep me")
    run = d / "syn"
    c["record"] = str(run / "synth.json")
    result = CliRunner().invoke(main, ["synth"] + base_argv("synth", c, d)[:-1] + [str(run)])
    assert result.exit_code == 0, result.output
    return c


@pytest.fixture(scope="module")
def cheap_runs(tmp_path_factory):
    """Report and sweep without notebooks, the demo tiny and in its own cache."""
    scope: dict[str, Any] = {}
    exec(FAKE_DEFS, scope)
    import f5lab.synthetic.demo as demo

    with pytest.MonkeyPatch.context() as mp:
        for module, name, fake in scope["FAKED"]:
            mp.setattr(module, name, fake)
        mp.setattr(demo, "DEMO_SCALE", "tiny")
        mp.setenv("F5LAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


# -- values from declarations ------------------------------------------------------------------------
def refused_values(param: click.Parameter, c: dict[str, str]) -> list[str]:
    """Values the declaration itself refuses (click's type, or f5lab.cli.params' rules)."""
    t = param.type
    if isinstance(t, click.IntRange):
        out = ["abc", "1.5", "nan", str(2**64), str(-(2**70)), "1e300"]
        out += [str(t.min - 1)] if t.min is not None else []
        return out + ([str(t.max + 1)] if t.max is not None else [])
    if isinstance(t, click.FloatRange):
        out = ["nan", "inf", "-inf", "1e300", "-1e300", "abc", ""]
        if t.min is not None:
            out.append(str(t.min) if t.min_open else repr(t.min - abs(t.min) * 1e-6 - 1e-9))
        if t.max is not None:
            out.append(repr(t.max + abs(t.max) * 1e-6 + 1e-9))
        return out
    if isinstance(t, click.Choice):
        return ["", "bogus", "😀"]
    if type(t).__name__ == "Text" or (t == click.STRING and not param.multiple):
        return ["bad\udcff\udcfebytes", "nul\x00here"] + (["x" * 1_100_000] if type(t).__name__ == "Text" else [])
    return []


def hostile_paths(param: click.Parameter, c: dict[str, str], out: Path) -> list[str]:
    if getattr(param.type, "f5lab_output", None) == "file":
        return [c["existing"], c["dir"], str(out / "no_such_folder" / "x.safetensors"), str(out / ("n" * 300))]
    if getattr(param.type, "f5lab_output", None) == "dir":
        return [c["existing"], str(out / ("n" * 300))]
    if isinstance(param.type, click.Path) or param.name in ("sources", "config", "candidates"):
        return [c["missing"], c["dir"], c["random"], c["empty"], "bad\udcffname.wav"]
    return []


def with_value(command: str, argv: list[str], param: click.Parameter, value: str) -> list[str]:
    """``argv`` with ``param`` set to ``value`` (a positional replaced, an option replaced or added)."""
    cmd = main.commands[command]
    if isinstance(param, click.Argument):
        args = [p for p in cmd.params if isinstance(p, click.Argument)]
        i = args.index(param)
        if param.nargs == -1:
            return [value] + argv[i + 1:] if i == 0 else argv[:i] + [value]
        return argv[:i] + [value] + argv[i + 1:]
    opts = set(param.opts) | set(param.secondary_opts)
    kept, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in opts:
            skip = not param.is_flag
            continue
        kept.append(a)
    return kept + ([param.opts[0]] if param.is_flag else [param.opts[0], value])


def run(argv: list[str]) -> click.testing.Result:
    result = CliRunner().invoke(main, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"f5lab {' '.join(a[:60] for a in argv)} raised:\n{tb[-3000:]}")
    return result


def names_the_option(line: str, param: click.Parameter, value: str) -> bool:
    value = value.encode("utf-8", "backslashreplace").decode()
    names = [*param.opts, *param.secondary_opts, param.human_readable_name, param.name.upper(), param.name]
    return any(n and n in line for n in names) or (value and (value[:40] in line or Path(value).name[:40] in line))


def error_lines(result: click.testing.Result) -> list[str]:
    """stderr's lines but the notes an old option spelling prints (f5lab.cli.main.OldSpelling):
    the one-line contract is about the error, which a note may precede."""
    return [ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith("f5lab: note: ")]


PARAMS = [(name, p) for name, cmd in main.commands.items() if name in BASES for p in cmd.params
          if not getattr(p, "is_flag", False)]
ALL_PARAMS = [(name, p) for name, cmd in main.commands.items() for p in cmd.params]


def test_every_number_has_a_declared_range():
    """A number option without a range would take 1e300 or 2**64 to the work; declare it."""
    loose = [f"{name} {p.name}" for name, p in ALL_PARAMS
             if p.type in (click.INT, click.FLOAT) or isinstance(p.type, (click.types.IntParamType,
                                                                          click.types.FloatParamType))
             and not isinstance(p.type, (click.IntRange, click.FloatRange))]
    assert not loose, f"declare a click.IntRange or f5lab.cli.params.Real for: {loose}"


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_a_cheap_valid_run(command, corpus, cheap_runs, tmp_path):
    result = run([command] + base_argv(command, corpus, tmp_path))
    assert result.exit_code == 0, result.output[-3000:]


def test_every_refused_value_is_one_line_naming_the_option(corpus, cheap_runs, tmp_path_factory):
    failures, count = [], 0
    for command, param in PARAMS:
        for value in refused_values(param, corpus):
            out = tmp_path_factory.mktemp("refused")
            argv = with_value(command, base_argv(command, corpus, out), param, value)
            result = run([command] + argv)
            count += 1
            lines = error_lines(result)
            if result.exit_code != 2 or len(lines) != 1 or not lines[0].startswith("f5lab: error: ") or \
                    not names_the_option(lines[0], param, value) or "Traceback" in result.output:
                failures.append(f"{command} {param.name}={value[:30]!r}: exit {result.exit_code}, {lines[:2]}")
            if any(out.iterdir()):
                failures.append(f"{command} {param.name}={value[:30]!r} wrote {sorted(os.listdir(out))}")
    assert count > 150 and not failures, "\n".join(failures)


# -- any value, accepted ones included ---------------------------------------------------------------------
def drawn_value(draw: Any, command: str, param: click.Parameter, c: dict[str, str], out: Path) -> str:
    t = param.type
    if (command, param.name) in NOT_DRAWN and isinstance(t, click.Choice):
        choices = [x for x in t.choices if x not in NOT_DRAWN[(command, param.name)]]
        return draw(st.sampled_from(choices + ["bogus"]))
    cheap = CHEAP.get((command, param.name))
    if isinstance(t, click.IntRange):
        top = int(cheap) if cheap is not None else (t.max if t.max is not None else 2**31)
        low = t.min if t.min is not None else -(2**31)
        good = st.integers(low, max(low, min(top, low + 10**6)))
        return str(draw(st.one_of(good, st.sampled_from(refused_values(param, c) + [str(low), str(top)]))))
    if isinstance(t, click.FloatRange):
        low = t.min if t.min is not None else -1e6
        top = cheap if cheap is not None else (t.max if t.max is not None else 1e6)
        good = st.floats(low, top, exclude_min=bool(t.min_open), allow_nan=False, allow_infinity=False)
        return repr(draw(st.one_of(good, st.sampled_from(refused_values(param, c)))))
    if isinstance(t, click.Choice):
        return draw(st.sampled_from(list(t.choices) + ["bogus"]))
    paths = hostile_paths(param, c, out)
    if paths:
        return draw(st.sampled_from(paths))
    texts = ["Hello.", "F5TTS_Base", "GTX 1050 Ti", "01_inspect", "r1"] + BAD_TEXT[:4] + ["a" * 5000]
    return draw(st.sampled_from(texts))


def no_nan_written(folder: Path) -> None:
    from f5lab.speech.audio import read_audio

    for p in folder.rglob("*"):
        if p.suffix == ".json" and p.is_file():
            text = p.read_text(encoding="utf-8", errors="replace")
            assert "NaN" not in text and "Infinity" not in text, p
        elif p.suffix == ".wav" and p.is_file() and not p.name.startswith("."):
            wav, _ = read_audio(p)
            assert np.isfinite(wav).all(), p


FUZZ = settings(max_examples=int(os.environ.get("F5LAB_FUZZ_EXAMPLES", 80)), deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(data=st.data())
def test_any_value_gives_0_1_or_2_never_a_traceback_or_nan(corpus, cheap_runs, tmp_path_factory, data):
    command, param = data.draw(st.sampled_from(PARAMS), label="parameter")
    out = tmp_path_factory.mktemp("fuzz")
    value = drawn_value(data.draw, command, param, corpus, out)
    result = run([command] + with_value(command, base_argv(command, corpus, out), param, value))
    assert result.exit_code in (0, 1, 2), (command, param.name, value[:40], result.output[-2000:])
    assert "Traceback" not in result.output
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    no_nan_written(out)
    if result.exit_code == 2:
        lines = error_lines(result)
        assert len(lines) == 1 and lines[0].startswith("f5lab: error: "), result.stderr[-2000:]
        assert names_the_option(lines[0], param, value) or "/" in lines[0], (param.name, lines[0])

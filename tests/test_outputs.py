"""Every output of every command, tried the ways a user's file gets lost (issue 16 section 1).

The outputs come from the commands' click declarations (``f5lab.cli.params.OutFile`` / ``OutDir``):
for each one this module holds a scenario (how to run the command cheaply so that it writes that
output) and tries it with

* the output being an input (the same path, a symlink to it, a hard link to it), with and without
  ``--force``: refused in one line, the input untouched;
* the output already present: refused without ``--force`` (file untouched), replaced with it;
* a full disk (``RLIMIT_FSIZE`` in the child): exit 2, one line naming the output, the old file
  whole, no partial left;
* two runs at once: the second, started while the first holds the output, is refused in one
  line; the first finishes;
* SIGTERM at several points (the output claimed, mid-work, its bytes complete but not in place):
  exit 143, one line, no partial or lock left, the old output whole (or, once put in place, the
  new one whole).

A command that declares an output without a scenario here fails ``test_each_declared_output_has_a_
scenario``; one that writes without declaring fails at run time (``UndeclaredOutput``) and, when
a parameter's name says it is an output, here too. Commands that declare none pass.
Report and sweep run with their notebook runner replaced by one that writes a notebook's files
(what is under test is where and how they are written; ``test_reports``/``test_sweep`` run the
real notebooks).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import click
import pytest
from click.testing import CliRunner

from f5lab import outputs
from f5lab.cli.commands import friendly_errors, main
from f5lab.cli.params import declared_outputs
from f5lab.model.arch import f5_tts_root
from tests._forkrun import ForkRunner

REF_WAV = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
REF_TEXT = "Some call me nature, others call me mother nature."
OUTPUT_LIKE = re.compile(r"^(out|outdir|output.*|dst|dest.*|plot|.*write.*|save.*|dump.*|export.*)$")
CACHE_WRITERS = {"demo"}  # write only into f5lab's cache (tested below through $F5LAB_CACHE)

FAKE_DEFS = '''
import json
import f5lab.reporting.reports as _R, f5lab.reporting.runner as _N
import f5lab.reporting.sweepdask as _D, f5lab.reporting.sweepunits as _U
from f5lab import outputs as _o

def _fake_execute(notebook, run_dir, params, progress=True, desc=None, title=None, predicted_s=None):
    name = notebook.stem
    nb, side = run_dir / f"{name}.ipynb", run_dir / f"{name}.json"
    _o.write_text(nb, json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), force=True)
    _o.write_text(side, json.dumps({"notebook": name, "numbers": {"x": {"value": 1, "unit": "s"}}, "verdicts": [],
                                    "timings": {}, "answer": {}, "figures": []}), force=True)
    return _N.NotebookResult(name=name, status="ok", ipynb=nb, html=None, sidecar=side, seconds=0.0)

def _inline_submit(units, workers, scheduler, progress):
    from dataclasses import asdict
    for u in units:
        _U.run_unit(asdict(u))
    return 0

# every home of what a fake notebook run replaces: the report's names and the runner's the sweep units call
FAKED = [(_R, "execute", _fake_execute), (_N, "execute", _fake_execute), (_R, "ensure_kernel", lambda: None),
         (_N, "ensure_kernel", lambda: None), (_D, "submit_all", _inline_submit)]
'''
FAKE_NOTEBOOKS = FAKE_DEFS + """
for _m, _k, _v in FAKED:
    setattr(_m, _k, _v)
"""  # a child's prelude; in this process the fakes are monkeypatched (fake_notebooks), never assigned


def pause(target: str, when: str = "before", seconds: float = 60.0) -> str:
    """Prelude: the first call of ``module:qualname`` prints PAUSED and waits (``seconds``, or until a
    signal arrives, raised or held by f5lab.outputs), ``before`` or ``after`` the real call."""
    module, _, qual = target.partition(":")
    return f'''
import importlib as _il, time as _t
_owner = _il.import_module({module!r})
for _p in {qual!r}.split(".")[:-1]:
    _owner = getattr(_owner, _p)
_attr = {qual!r}.split(".")[-1]
_orig = getattr(_owner, _attr)
_hit = []
def _wait():
    import f5lab.outputs as _out
    print("PAUSED", flush=True)
    _end = _t.time() + {seconds}
    while _t.time() < _end and not _out._PENDING:
        _t.sleep(0.02)
def _paused(*a, **k):
    if {when!r} == "after":
        _r = _orig(*a, **k)
    if not _hit:
        _hit.append(1)
        _wait()
    return _r if {when!r} == "after" else _orig(*a, **k)
setattr(_owner, _attr, _paused)
'''


# -- scenarios ------------------------------------------------------------------------------------
@dataclass
class Scenario:
    """How to make a command write one output cheaply. ``argv(out, c)``: the command writing at
    ``out`` (a file, or a folder for OutDir); ``as_input(out, c)``: the same with an input that
    is (or becomes) the output; ``written(out)``: the files a run leaves; ``work``: a function the
    run calls between claiming and committing (a pause point)."""

    argv: Callable[[Path, dict], list[str]]
    written: Callable[[Path], list[Path]]
    work: str
    as_input: Callable[[Path, dict], tuple[list[str], Path]] | None = None
    force: bool = True
    kind: str = "file"
    prelude: str = ""
    env: Callable[[Path], dict[str, str]] = field(default=lambda out: {})


def _synth(out: Path, c: dict) -> list[str]:
    return ["synth", c["good"], "--ref-audio", c["ref"], "--ref-text", REF_TEXT, "--text", "Hi there.",
            "--configs", "tiny", "--config", "F5TTS_Base", "--nfe", "2", "--out", out]


def _synth_ref_is_output(out: Path, c: dict) -> tuple[list[str], Path]:
    """A previous run's wav used as the reference of the next run into the same folder."""
    shutil.copytree(c["synth_run"], out, dirs_exist_ok=True)
    argv = _synth(out, c)
    argv[argv.index("--ref-audio") + 1] = str(out / "synth.wav")
    return argv, out / "synth.wav"


SYNTH_FILES = ("synth.wav", "synth_mel.npy", "synth_mel.png", "synth.json")
SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("inspect", "write_config"): Scenario(
        argv=lambda out, c: ["inspect", c["good"], "--write-config", out], written=lambda out: [out],
        work="f5lab.model.configs:dump_config", as_input=lambda out, c: (["inspect", c["good"], "--write-config",
                                                                           c["good"]], Path(c["good"]))),
    ("demo-checkpoint", "out"): Scenario(
        argv=lambda out, c: ["demo-checkpoint", out], written=lambda out: [out],
        work="f5lab.synthetic.layouts:random_state_dict"),
    ("remap", "dst"): Scenario(
        argv=lambda out, c: ["remap", c["good"], out, "--config", "F5TTS_Base", "--configs", "tiny", "--no-verify"],
        written=lambda out: [out], work="f5lab.compat.remap:_stream",
        as_input=lambda out, c: (["remap", c["good"], c["good"], "--config", "F5TTS_Base", "--configs", "tiny"],
                                 Path(c["good"]))),
    ("profile", "plot"): Scenario(
        argv=lambda out, c: ["profile", c["good"], "--gpu", "T4", "--plot", out], written=lambda out: [out],
        work="f5lab.hardware.memory:gpu_curves",
        as_input=lambda out, c: (["profile", c["good"], "--plot", c["good"]], Path(c["good"]))),
    ("synth", "out"): Scenario(
        argv=_synth, written=lambda out: [out / n for n in SYNTH_FILES], work="f5lab.speech.synth:run_f5tts",
        as_input=_synth_ref_is_output, kind="dir"),
    ("report", "out"): Scenario(
        argv=lambda out, c: ["report", c["good"], "--out", out, "--run-id", "r", "--notebook", "01_inspect",
                             "--asr", "none", "--device", "cpu", "--configs", "tiny"],
        written=lambda out: [out / "r" / n for n in ("summary.json", "manifest.json", "index.html")],
        work="f5lab.reporting.reports:build_summary", force=False, kind="dir", prelude=FAKE_NOTEBOOKS,
        as_input=lambda out, c: (["report", c["good"], "--out", c["good"], "--notebook", "01_inspect"],
                                 Path(c["good"]))),
    ("sweep", "out"): Scenario(
        argv=lambda out, c: ["sweep", c["good"], "--out", out, "--sweep-id", "s", "--config", "F5TTS_Base",
                             "--configs", "tiny", "--no-compare", "--asr", "none", "--workers", "1"],
        written=lambda out: [out / "s" / "sweep.json"],
        work="f5lab.reporting.sweepunits:run_unit", force=False, kind="dir", prelude=FAKE_NOTEBOOKS,
        as_input=lambda out, c: (["sweep", c["good"], "--out", c["good"]], Path(c["good"]))),
}
CACHE = Scenario(argv=lambda out, c: ["demo"], written=lambda out: [out / "demo_F5TTS_Base_release_safetensors_tiny"
                                                                            "_seed0.safetensors"],
                 work="f5lab.synthetic.layouts:random_state_dict", force=False, kind="dir",
                 prelude="import f5lab.synthetic.demo as _d\n_d.DEMO_SCALE = 'tiny'\n",
                 env=lambda out: {"F5LAB_CACHE": str(out)})
CASES = [(f"{cmd}:{param}", s) for (cmd, param), s in SCENARIOS.items()] + [("demo:cache", CACHE)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    from f5lab.synthetic.layouts import build_checkpoint

    import soundfile as sf

    from f5lab.speech.audio import write_wav

    d = tmp_path_factory.mktemp("outputs_corpus")
    good = build_checkpoint(d / "good.safetensors", config="F5TTS_Base", scale="tiny").path
    wav, sr = sf.read(str(REF_WAV), dtype="float32")
    ref = write_wav(d / "ref.wav", wav[: int(1.5 * sr)], sr)  # 1.5 s: the tiny model's calls stay short
    c = {"good": str(good), "ref": str(ref), "dir": d}
    run = d / "synth_run"
    assert CliRunner().invoke(main, [str(a) for a in _synth(run, c)]).exit_code == 0
    c["synth_run"] = run
    return c


@pytest.fixture(scope="module")
def forks():
    runner = ForkRunner()
    yield runner
    runner.close()


@pytest.fixture
def fake_notebooks(monkeypatch):
    """The in-process twin of FAKE_NOTEBOOKS."""
    scope: dict = {}
    exec(FAKE_DEFS, scope)
    for module, name, fake in scope["FAKED"]:
        monkeypatch.setattr(module, name, fake)


def invoke(argv: list) -> click.testing.Result:
    result = CliRunner().invoke(main, [str(a) for a in argv])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


PROGRESS = re.compile(r"^rendering \d+/\d+ NFE \d+ \u00b7 step ")  # synth's per-step line (speech/progress.py)


def one_line(stderr: str, *needles: str) -> str:
    """The one error line; synth's progress lines before it (one per flow step when piped) aside."""
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not PROGRESS.match(ln)]
    assert len(lines) == 1 and lines[0].startswith("f5lab: "), stderr[-2000:]
    assert "Traceback" not in stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def digest(paths: list[Path]) -> dict[str, str | None]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None for p in paths}


def leftovers(root: Path) -> list[str]:
    """Partials, locks and incomplete markers anywhere under ``root``."""
    return sorted(str(p) for p in root.rglob("*") if p.name.startswith((outputs.PARTIAL_TAG, outputs.LOCK_TAG,
                                                                          outputs.INCOMPLETE)))


def out_path(name: str, case: Scenario, tmp: Path) -> Path:
    if case.kind == "dir":
        return tmp / "out"
    return tmp / {"inspect:write_config": "out.yaml", "profile:plot": "out.png"}.get(name, "out.safetensors")


# -- the declaration ------------------------------------------------------------------------------
def test_each_declared_output_has_a_scenario():
    declared = {(name, p.name) for name, cmd in main.commands.items() for p in declared_outputs(cmd)}
    assert declared == set(SCENARIOS), f"outputs without a scenario: {sorted(declared - set(SCENARIOS))}; " \
                                       f"scenarios without an output: {sorted(set(SCENARIOS) - declared)}"


def test_no_parameter_looks_like_an_undeclared_output():
    suspects = [f"{name} {p.name}" for name, cmd in main.commands.items() for p in cmd.params
                if OUTPUT_LIKE.match(p.name) and not getattr(p.type, "f5lab_output", None)
                and not getattr(p.type, "exists", False)]  # click.Path(exists=True): an input
    assert not suspects, f"declare these with OutFile/OutDir (f5lab.cli.params): {suspects}"


def test_a_command_writing_without_declaring_fails_and_one_declaring_none_passes(tmp_path):
    @click.command()
    @click.option("--out", type=click.Path())
    @friendly_errors
    def sneaky(out: str) -> None:
        outputs.write_text(out, "x")

    @click.command()
    @click.argument("path", type=click.Path(exists=True))
    @friendly_errors
    def reader(path: str) -> None:
        click.echo(Path(path).read_text())

    assert OUTPUT_LIKE.match(sneaky.params[0].name) and not getattr(sneaky.params[0].type, "f5lab_output", None)
    result = CliRunner().invoke(sneaky, ["--out", str(tmp_path / "x.txt")])
    assert isinstance(result.exception, outputs.UndeclaredOutput) and not (tmp_path / "x.txt").exists()
    (tmp_path / "in.txt").write_text("hello")
    assert CliRunner().invoke(reader, [str(tmp_path / "in.txt")]).output == "hello\n"


# -- output = an input ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, case", [c for c in CASES if c[1].as_input], ids=[c[0] for c in CASES if c[1].as_input])
@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
@pytest.mark.parametrize("force", [False, True])
def test_an_output_that_is_an_input_is_refused(name, case, how, force, corpus, tmp_path, fake_notebooks):
    out = tmp_path / "out"
    argv, the_input = case.as_input(out, corpus)
    if how != "same":  # the output named through a link to the input
        link = tmp_path / f"link{the_input.suffix}"
        (os.symlink if how == "symlink" else os.link)(the_input, link)
        argv = [str(link) if str(a) == str(the_input) and i > 1 else a for i, a in enumerate(argv)]
    before = digest([the_input])
    result = invoke(argv + (["--force"] if force and case.force else []))
    assert result.exit_code == 2, result.output[-2000:]
    line = one_line(result.stderr)
    assert "is an input" in line or "is a file" in line, line
    assert digest([the_input]) == before


# -- output already there ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, case", CASES, ids=[c[0] for c in CASES])
def test_an_existing_output_is_kept_without_force_and_replaced_whole_with_it(name, case, corpus, tmp_path,
                                                                           fake_notebooks, monkeypatch):
    out = out_path(name, case, tmp_path)
    for k, v in case.env(out).items():
        monkeypatch.setenv(k, v)
    if case.prelude and "DEMO_SCALE" in case.prelude:
        import f5lab.synthetic.demo as demo

        monkeypatch.setattr(demo, "DEMO_SCALE", "tiny")
    first = invoke(case.argv(out, corpus))
    assert first.exit_code == 0, first.output[-3000:]
    written = case.written(out)
    assert all(p.is_file() for p in written), written
    before = digest(written)
    again = invoke(case.argv(out, corpus))
    if name == "demo:cache":  # the cache is reused, not rebuilt
        assert again.exit_code == 0 and digest(written) == before
        return
    if name == "sweep:out":  # the same sweep again: resumed, every point skipped
        assert again.exit_code == 0 and "1 already done, 0 to run" in again.output, again.output
        return
    assert again.exit_code == 2, again.output[-2000:]
    one_line(again.stderr, "exists")
    assert digest(written) == before
    if case.force:
        replaced = invoke(case.argv(out, corpus) + ["--force"])
        assert replaced.exit_code == 0, replaced.output[-2000:]
        assert all(p.is_file() for p in written)
    assert leftovers(tmp_path) == []


def test_a_foreign_file_in_the_way_is_replaced_only_with_force(corpus, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("model: {}\n")
    refused = invoke(["inspect", corpus["good"], "--write-config", mine])
    assert refused.exit_code == 2 and mine.read_text() == "model: {}\n"
    one_line(refused.stderr, "exists", "--force")
    assert invoke(["inspect", corpus["good"], "--write-config", mine, "--force"]).exit_code == 0
    assert mine.read_text().startswith("# written by f5lab")


# -- a full disk -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, case", CASES, ids=[c[0] for c in CASES])
def test_a_full_disk_leaves_the_old_output_whole(name, case, corpus, tmp_path, forks):
    out = out_path(name, case, tmp_path)
    env = case.env(out)
    prelude = case.prelude
    old = forks.run(case.argv(out, corpus), cwd=tmp_path, prelude=prelude, env=env)
    assert old.code == 0, old.stderr[-2000:]
    written = case.written(out)
    before = digest(written)
    argv = case.argv(out, corpus) + (["--force"] if case.force else [])
    if name == "demo:cache":
        for p in written:
            p.unlink()
        before = digest(written)
    elif not case.force:  # report/sweep never replace: a new run folder is what fills the disk
        argv = [a if a not in ("r", "s") else f"{a}2" for a in argv]
    full = forks.run(argv, cwd=tmp_path, prelude=prelude, env=env, fsize=64)
    assert full.code == 2, (full.code, full.stderr[-3000:])
    line = one_line(full.stderr)
    assert "cannot write" in line or "too large" in line.lower(), line
    assert digest(written) == before
    assert leftovers(tmp_path) == []
    if not case.force and name != "demo:cache":
        assert not (out / "r2").exists() and not (out / "s2").exists()


# -- two runs at once --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, case", CASES, ids=[c[0] for c in CASES])
def test_two_runs_at_once_one_wins_the_other_is_refused(name, case, corpus, tmp_path, forks):
    out = out_path(name, case, tmp_path)
    force = ["--force"] if case.force else []
    first = forks.start(case.argv(out, corpus) + force, cwd=tmp_path, env=case.env(out),
                        prelude=case.prelude + pause(case.work, seconds=1.5))
    first.wait_for("PAUSED")
    second = forks.run(case.argv(out, corpus) + force, cwd=tmp_path, env=case.env(out), prelude=case.prelude)
    done = first.wait()
    assert done.code == 0, done.stderr[-2000:]
    assert second.code == 2, (second.code, second.stderr[-2000:])
    one_line(second.stderr, "being written by another f5lab run")
    assert all(p.is_file() for p in case.written(out))
    assert leftovers(tmp_path) == []


def test_two_reports_started_in_the_same_second_get_two_run_folders(corpus, tmp_path, forks):
    argv = ["report", corpus["good"], "--out", tmp_path / "reports", "--notebook", "01_inspect", "--asr", "none",
            "--device", "cpu", "--configs", "tiny"]
    clock = "import f5lab.reporting.reports as _r\n_r.new_run_id = lambda: '20260101-000000'\n"
    first = forks.start(argv, cwd=tmp_path, prelude=FAKE_NOTEBOOKS + clock + pause(
        "f5lab.reporting.reports:build_summary", seconds=1.0))
    first.wait_for("PAUSED")
    second = forks.run(argv, cwd=tmp_path, prelude=FAKE_NOTEBOOKS + clock)
    assert first.wait().code == 0 and second.code == 0, second.stderr
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["20260101-000000", "20260101-000000-2"]


# -- signals -------------------------------------------------------------------------------------------------
POINTS = {"claimed": ("f5lab.outputs:FileClaim.__init__", "after"), "working": (None, "before"),
          "complete, not in place": ("f5lab.outputs:FileClaim.commit", "before")}
FOLDER_POINTS = {"claimed": ("f5lab.outputs:FolderClaim.__init__", "after"), "working": (None, "before"),
                 "complete, not in place": ("f5lab.outputs:FolderClaim.commit", "before")}


@pytest.mark.parametrize("name, case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("point", list(POINTS))
def test_sigterm_leaves_the_old_output_whole_and_no_partial(name, case, point, corpus, tmp_path, forks):
    out = out_path(name, case, tmp_path)
    env = case.env(out)
    folder_result = name in ("report:out", "sweep:out")
    argv = case.argv(out, corpus)
    if case.force:  # replacing a previous output: it must survive whole
        assert forks.run(argv, cwd=tmp_path, prelude=case.prelude, env=env).code == 0
        argv = argv + ["--force"]
    written = case.written(out)
    before = digest(written)
    where, when = (FOLDER_POINTS if folder_result else POINTS)[point]
    run = forks.start(argv, cwd=tmp_path, env=env, prelude=case.prelude + pause(where or case.work, when))
    run.wait_for("PAUSED")
    run.signal(signal.SIGTERM)
    result = run.wait()
    assert result.code == 143, (result.code, result.stderr[-2000:])
    one_line(result.stderr, "SIGTERM")
    assert leftovers(tmp_path) == []
    after = digest(written)
    if name == "report:out":  # a run folder is complete or absent
        assert all(v is None for v in after.values()) or all(v is not None for v in after.values()), after
    elif name == "sweep:out":  # a sweep folder is resumable: its plan whole or absent, no point half-made
        assert not list(out.rglob("done.json")) or after[str(out / "s" / "sweep.json")] is not None
    elif point == "complete, not in place":  # the renames, once begun, finish together: old or new, whole
        assert after == before or (all(v is not None for v in after.values())
                                   and any(after[k] != before[k] for k in after)), (after, before)
    else:
        assert after == before, (after, before)


def test_partial_and_lock_names_stay_within_the_name_limit(tmp_path):
    """A 250-byte output name (legal) would make a 275-byte partial name (ENAMETOOLONG): hashed."""
    final = tmp_path / ("n" * 246 + ".wav")
    assert len(final.name.encode()) == 250
    with outputs.file(final) as tmp:
        assert len(tmp.name.encode()) <= 255 and tmp.suffix == ".wav"
        assert len(outputs.lock_of(final).name.encode()) <= 255
        tmp.write_bytes(b"RIFF")
    assert final.read_bytes() == b"RIFF" and sorted(p.name for p in tmp_path.iterdir()) == [final.name]
    with pytest.raises(outputs.OutputError, match="over the file system's limit"):
        with outputs.file(tmp_path / ("n" * 300)):
            pass


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_is_not_swallowed_by_code_that_catches_exception(signum):
    """The handler raises wherever the main thread is, often inside a library's (or f5lab's own)
    ``except Exception`` that carries on; an Interrupted that is an Exception would be swallowed
    there and the command would finish and exit 0 after a Ctrl-C (seen in a sweep on Dask)."""
    carried_on = []
    with pytest.raises(outputs.Interrupted) as caught:
        with outputs.signals_raise("test"):
            try:
                os.kill(os.getpid(), signum)
                for _ in range(100):  # the handler runs between bytecodes, here
                    pass
            except Exception:  # noqa: BLE001 - what a notebook runner or an event loop does
                carried_on.append(True)
    assert carried_on == [] and caught.value.exit_code == 128 + signum
    assert not isinstance(caught.value, Exception)


def test_the_cli_ends_an_interrupted_command_in_one_line_with_128_plus_n():
    @click.command()
    @friendly_errors
    def slow() -> None:
        with outputs.signals_raise():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):
                pass

    result = CliRunner().invoke(slow, [])
    assert result.exit_code == 143
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("f5lab: interrupted by SIGTERM; "), lines

"""A folder belongs to the command that made it, and a lock knows its owner (issue 29, items 3 and 4).

* Every command that makes a folder of its own inside ``--out`` (an ``OutDir`` without fixed files,
  named by a ``FolderName`` option: ``report --run-id``, ``sweep --sweep-id``) is pointed at a
  folder another command made (a report's run folder, a sweep's folder) and at a user's own folder
  of that name: exit 2, one line naming the folder, every file in it untouched.
* Every ``FolderName`` option refuses a path (``../x``, ``/abs``, ``a/b``, ``..``): one line, nothing
  made outside ``--out``.
* Locks and ``.f5lab-incomplete`` markers record the writer's start time, boot and command: a lock
  naming a live pid of another process (a pid reused after the OOM killer's SIGKILL) is stale and
  taken over; a live owner's refusal names the file to delete.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import click
import pytest

from f5lab import outputs
from f5lab.cli.commands import main
from f5lab.cli.params import FolderName
from f5lab.outputs.hidden import INCOMPLETE, _start_ticks, lock_of, owner_record, partial_of
from tests.test_params import base_argv, cheap_runs, corpus, error_lines, run, with_value  # noqa: F401

# (command, its --out, its folder-name option): derived from the declarations
MAKERS = []
for _name, _cmd in sorted(main.commands.items()):
    _out = [p for p in _cmd.params if getattr(p.type, "f5lab_output", None) == "dir" and not p.type.files]
    _ids = [p for p in _cmd.params if isinstance(p.type, FolderName)]
    if _out and _ids:
        MAKERS.append((_name, _out[0], _ids[0]))
NAMED = [(n, p) for n, cmd in sorted(main.commands.items()) for p in cmd.params if isinstance(p.type, FolderName)]


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_folder_makers_are_found():
    assert {m[0] for m in MAKERS} >= {"report", "sweep"}
    assert {(n, p.name) for n, p in NAMED} >= {("report", "run_id"), ("sweep", "sweep_id")}


def _argv(command, out_param, id_param, corpus, out: Path, folder_id: str) -> list[str]:
    argv = [command, *base_argv(command, corpus, out / "unused")]
    argv = with_value(command, argv, out_param, str(out))
    return with_value(command, argv, id_param, folder_id)


def _refused_untouched(result, folder: Path, before: dict[str, str]) -> None:
    lines = error_lines(result)
    assert result.exit_code == 2 and len(lines) == 1, result.output[-1500:]
    assert str(folder) in lines[0], lines[0]
    assert tree(folder) == before


@pytest.mark.parametrize("command, out_param, id_param", MAKERS, ids=[m[0] for m in MAKERS])
def test_a_command_never_writes_into_a_folder_it_did_not_make(command, out_param, id_param, corpus, cheap_runs,
                                                            tmp_path):
    out = tmp_path / "reports"
    for other, o_out, o_id in MAKERS:  # every other maker's finished folder, under the same id
        made = run(_argv(other, o_out, o_id, corpus, out, f"by-{other}"))
        assert made.exit_code == 0, made.output[-1500:]
        folder = out / f"by-{other}"
        if other == command:
            continue
        before = tree(folder)
        _refused_untouched(run(_argv(command, out_param, id_param, corpus, out, f"by-{other}")), folder, before)
    own = out / "mine"  # a user's own folder of that name
    own.mkdir()
    (own / "notes.txt").write_text("my notes")
    (own / "index.html").write_text("<p>my page</p>")
    before = tree(own)
    _refused_untouched(run(_argv(command, out_param, id_param, corpus, out, "mine")), own, before)


def test_a_sweep_resumes_its_own_folder_and_takes_an_empty_one(corpus, cheap_runs, tmp_path):
    sweep = [m for m in MAKERS if m[0] == "sweep"][0]
    out = tmp_path / "reports"
    (out / "empty").mkdir(parents=True)
    assert run(_argv(*sweep, corpus, out, "empty")).exit_code == 0
    assert (out / "empty" / "sweep.json").is_file()
    again = run(_argv(*sweep, corpus, out, "empty"))
    assert again.exit_code == 0 and "already done" in again.output, again.output[-1500:]


FOLDER_NAMES = ["../x", "/abs/x", "a/b", "..", ".", "-x", " x", "x\x1b]0;t\x07"]


@pytest.mark.parametrize("command, param", NAMED, ids=[f"{n}:{p.name}" for n, p in NAMED])
def test_a_folder_name_option_refuses_a_path(command, param, corpus, cheap_runs, tmp_path):
    out = tmp_path / "out"
    for value in FOLDER_NAMES:
        value = value.replace("/abs", str(tmp_path / "abs"))
        argv = with_value(command, [command, *base_argv(command, corpus, out)], param, value)
        result = run(argv)
        lines = error_lines(result)
        assert result.exit_code == 2 and len(lines) == 1 and param.opts[0] in lines[0], (value, result.output[-800:])
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made anywhere


# -- locks that know their owner --------------------------------------------------------------------------
def _other_live_pid() -> int:
    pid = os.getppid()
    assert pid != os.getpid() and _start_ticks(pid) is not None
    return pid


def fabricated(kind: str) -> str:
    """What a lock left by a killed run holds once its pid belongs to another, live process."""
    pid = _other_live_pid()
    if kind == "other start time":
        return f"{pid}\nstart {(_start_ticks(pid) or 0) + 12345}\nboot None\ncmd f5lab synth x\n"
    if kind == "other boot":
        return f"{pid}\nstart {_start_ticks(pid)}\nboot 00000000-dead-beef-0000-000000000000\ncmd f5lab x\n"
    if kind == "pid 1, old format":
        return "1\n"  # written (mtime below) before pid 1 ... no: pid 1 started at boot; the file is older
    return f"{pid}\n"  # old format, a pid only: the file predates the process now holding the pid


STALE = ["other start time", "other boot", "old format", "pid 1, old format"]


@pytest.mark.parametrize("kind", STALE)
def test_a_lock_naming_a_reused_pid_is_stale_and_taken_over(tmp_path, kind):
    target = tmp_path / "out.txt"
    lock = lock_of(target)
    lock.write_text(fabricated(kind))
    if "old format" in kind:
        os.utime(lock, (1.0, 1.0))  # written long before the process that has the pid now started
    outputs.write_text(target, "new")
    assert target.read_text() == "new" and not lock.exists()


def test_a_live_owner_is_refused_naming_the_lock_to_delete(tmp_path):
    target = tmp_path / "out.txt"
    lock = lock_of(target)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.05)
        lock.write_text(f"{sleeper.pid}\nstart {_start_ticks(sleeper.pid)}\nboot None\ncmd f5lab remap a b\n")
        with pytest.raises(outputs.OutputError) as err:
            outputs.write_text(target, "new")
        assert str(lock) in str(err.value) and "f5lab remap a b" in str(err.value) and "delete" in str(err.value)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not target.exists() and lock.exists()


def test_what_a_lock_records():
    text = owner_record().decode()
    lines = text.splitlines()
    assert lines[0] == str(os.getpid()) and lines[1] == f"start {_start_ticks(os.getpid())}"
    assert lines[2].startswith("boot ") and lines[3].startswith("cmd ")


@pytest.mark.parametrize("kind", STALE)
def test_an_incomplete_marker_naming_a_reused_pid_is_stale(tmp_path, kind):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "half.ipynb").write_text("half")
    marker = folder / INCOMPLETE
    marker.write_text(fabricated(kind))
    if "old format" in kind:
        os.utime(marker, (1.0, 1.0))
    assert "left incomplete by an interrupted run" in outputs.incomplete(folder)
    with outputs.folder(folder, what="report") as made:
        assert not (made.path / "half.ipynb").exists()
    assert not marker.exists()


def test_a_live_writers_folder_is_refused_naming_its_marker(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    marker = folder / INCOMPLETE
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.05)
        marker.write_text(f"{sleeper.pid}\nstart {_start_ticks(sleeper.pid)}\n")
        assert "still being written" in outputs.incomplete(folder) and str(marker) in outputs.incomplete(folder)
        with pytest.raises(outputs.OutputError) as err:
            with outputs.folder(folder, what="report"):
                pass
        assert str(marker) in str(err.value)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_partial_of_a_reused_pid_is_removed(tmp_path):
    target = tmp_path / "out.txt"
    pid = _other_live_pid()
    partial = partial_of(target, pid)
    partial.write_text("half")
    os.utime(partial, (1.0, 1.0))  # written before that pid's process started: not its partial
    outputs.write_text(target, "new")
    assert not partial.exists() and target.read_text() == "new"


@pytest.mark.parametrize("command, out_param, id_param", MAKERS, ids=[m[0] for m in MAKERS])
def test_a_run_folder_left_by_a_killed_run_whose_pid_was_reused_starts_again(command, out_param, id_param, corpus,
                                                                            cheap_runs, tmp_path):
    out = tmp_path / "reports"
    folder = out / "r"
    folder.mkdir(parents=True)
    (folder / "01_inspect.ipynb").write_text("half")
    (folder / INCOMPLETE).write_text(fabricated("other start time"))
    result = run(_argv(command, out_param, id_param, corpus, out, "r"))
    assert result.exit_code == 0, result.output[-1500:]
    assert not (folder / INCOMPLETE).exists()


def test_a_lock_beside_a_sweep_naming_a_reused_pid_does_not_refuse(corpus, cheap_runs, tmp_path):
    sweep = [m for m in MAKERS if m[0] == "sweep"][0]
    out = tmp_path / "reports"
    out.mkdir()
    lock = lock_of(out / "s")
    lock.write_text(fabricated("other start time"))
    result = run(_argv(*sweep, corpus, out, "s"))
    assert result.exit_code == 0, result.output[-1500:]
    assert not lock.exists()


def test_folder_name_type_rule():
    t = FolderName()
    for bad in FOLDER_NAMES:
        with pytest.raises(click.BadParameter):
            t.convert(bad, None, None)
    assert t.convert("run-1.a_b", None, None) == "run-1.a_b"


def test_a_sweep_killed_after_writing_its_plan_resumes(corpus, cheap_runs, tmp_path):
    """Its folder holds sweep.json and the marker of a process gone since (its pid reused): the sweep
    is its own, resumed; the stale marker goes."""
    sweep = [m for m in MAKERS if m[0] == "sweep"][0]
    out = tmp_path / "reports"
    assert run(_argv(*sweep, corpus, out, "s")).exit_code == 0
    (out / "s" / INCOMPLETE).write_text(fabricated("other start time"))
    again = run(_argv(*sweep, corpus, out, "s"))
    assert again.exit_code == 0 and "already done" in again.output, again.output[-1500:]
    assert not (out / "s" / INCOMPLETE).exists()

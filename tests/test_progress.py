"""Synthesis progress moves once per flow step, read from a child process's stderr as it runs.

A full-scale rendering on a CPU takes minutes; a line that moves only per rendering (or per
notebook cell) looks frozen. The child is ``f5lab synth`` on a tiny checkpoint; its stderr is
piped (so each update is its own line) and read while it runs.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from f5lab.reporting.reports import DEMO_REF_TEXT, f5tts_example_audio
from f5lab.speech.progress import Progress, TerminalSink, line

NFE = 7


def test_synth_progress_updates_once_per_flow_step(make_fixture, tmp_path):
    fx = make_fixture("F5TTS_Base")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "MPLBACKEND": "Agg",
           "TQDM_DISABLE": "0"}  # f5-tts's own bars would print if f5lab passed them a live tqdm
    env.pop("F5LAB_PROGRESS_FILE", None)
    cmd = [sys.executable, "-m", "f5lab", "synth", str(fx.path), "--configs", "tiny", "--config", "F5TTS_Base",
           "--nfe", str(NFE), "--ref-audio", str(f5tts_example_audio()), "--ref-text", DEMO_REF_TEXT,
           "--text", "Hello there, this is a test.", "--out", str(tmp_path / "out")]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    seen: list[tuple[float, str]] = []
    assert proc.stderr is not None
    for raw in proc.stderr:  # line by line, as the child writes them
        seen.append((time.perf_counter(), raw.rstrip("\n")))
    proc.wait(timeout=300)
    out = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 0, "\n".join(s for _, s in seen)[-2000:] + out[-500:]
    steps = [int(m.group(1)) for _, s in seen if (m := re.search(r"step (\d+)/(\d+)", s))]
    totals = {int(m.group(2)) for _, s in seen if (m := re.search(r"step (\d+)/(\d+)", s))}
    assert len(totals) == 1 and (total := totals.pop()) % NFE == 0  # NFE steps per f5-tts call (chunk)
    assert steps == list(range(0, total + 1)), steps  # one update per flow step, none skipped, in order
    etas = [s for _, s in seen if "ETA" in s]
    assert len(etas) == total and "per step" in etas[0]
    assert not any("%|" in s or "it/s" in s for _, s in seen)  # no tqdm bar leaked from f5-tts


def test_eta_comes_from_measured_steps():
    p = Progress([("A fp32 NFE 4", 4), ("B fp32 NFE 4", 4)])
    p.begin(0)
    assert p.eta_s is None
    for _ in range(2):
        p.on_step(0.5)
    assert p.done_steps == 2 and p.total_steps == 8 and p.eta_s == 3.0
    p.begin(1)
    p.on_step(1.5)
    assert p.done_steps == 5 and abs(p.eta_s - (0.5 + 0.5 + 1.5) / 3 * 3) < 1e-9
    text = line(p.state())
    assert text.startswith("rendering 2/2 B fp32 NFE 4 · step 1/4 · ") and "ETA 2.5 s" in text


def test_terminal_line_rewrites_in_place_on_a_terminal_and_adds_lines_when_piped():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        sink = TerminalSink(stream)
        p = Progress([("x", 2)])
        p._sinks[:] = [sink]
        p.begin(0)
        p.on_step(0.1)
        p.on_step(0.1)
        p.close()
    assert "\n" not in tty.getvalue() and tty.getvalue().count("\r") >= 3
    assert pipe.getvalue().count("\n") == 3 and "\r" not in pipe.getvalue()


def test_the_runner_follows_the_kernels_side_file_a_line_per_step_when_piped(tmp_path):
    """The report's runner reads the state the kernel writes ($F5LAB_PROGRESS_FILE) and shows a line
    per new step (not per tick of its clock), with the notebook's predicted time."""
    import json

    from f5lab.reporting.runner import Follower
    from f5lab.speech.progress import ENV_FILE

    pipe = io.StringIO()
    follow = Follower("[4/4] 04_synthesis", 180.0, True, stream=pipe)
    with follow:
        path = Path(os.environ[ENV_FILE])  # set for the kernel papermill starts
        follow._stop.set()  # drive it by hand: no background ticks in this test
        p = Progress([("F5TTS_Base fp32 NFE 3", 3)])
        for step in range(4):
            state = {**p.state(), "step": step, "step_s": 5.0 if step else None,
                     "eta_s": 5.0 * (3 - step) if step else None}
            path.write_text(json.dumps(state), encoding="utf-8")
            follow.show(follow.read())
            follow.show(follow.read())  # the same step again: nothing new to say
        follow.finish(None)
    assert ENV_FILE not in os.environ
    lines = pipe.getvalue().splitlines()
    assert [re.search(r"step (\d)/3", x).group(1) for x in lines[:-1]] == ["0", "1", "2", "3"]
    assert "of ~3 min predicted" in lines[0] and "ETA 10 s" in lines[1]
    assert lines[-1].startswith("[4/4] 04_synthesis · ok · ") and lines[-1].endswith("(predicted ~3 min)")

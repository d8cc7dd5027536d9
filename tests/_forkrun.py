"""Run ``f5lab`` commands in real child processes, fast: one server imports f5lab (and torch) once,
then forks a child per command. Each child is a separate process with its own pid, signals,
resource limits and exit status, so file locks, ``RLIMIT_FSIZE`` and SIGTERM behave as for a
command started from a shell, at a fraction of the start-up cost (no import per run).

The server never runs torch code itself, so a forked child starts with no thread pools.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).parents[1]

SERVER = r"""
import json, os, resource, signal, sys, traceback
sys.path.insert(0, sys.argv[1])
import numpy, torch, safetensors.torch, f5_tts.model  # noqa: F401  (paid once, inherited by every child)
import f5lab.cli.commands, f5lab.compat.loading, f5lab.compat.remap, f5lab.speech.synth  # noqa: F401
import f5lab.reporting.reports, f5lab.reporting.sweep, f5lab.hardware.memory  # noqa: F401
status = {}

def reap(*_):
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        path = status.pop(pid, None)
        if path and not os.path.exists(path):
            code = -os.WTERMSIG(st) if os.WIFSIGNALED(st) else os.WEXITSTATUS(st)
            with open(path + ".tmp", "w") as fh:
                fh.write(str(code))
            os.replace(path + ".tmp", path)

signal.signal(signal.SIGCHLD, reap)
print("ready", flush=True)
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        code = 0
        try:
            for name, fd in (("stdout", 1), ("stderr", 2)):
                flags = os.O_WRONLY if req[name].endswith(".fifo") else os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                os.dup2(os.open(req[name], flags, 0o644), fd)
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            os.environ.update(req["env"])
            os.chdir(req["cwd"])
            if req.get("fsize"):
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (req["fsize"], req["fsize"]))
            exec(req.get("prelude") or "", {"__name__": "prelude"})
            from f5lab.cli.commands import main
            main(args=req["argv"], prog_name="f5lab")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 99
        try:
            sys.stdout.flush(); sys.stderr.flush()
        except Exception:
            pass
        with open(req["status"] + ".tmp", "w") as fh:
            fh.write(str(code))
        os.replace(req["status"] + ".tmp", req["status"])
        os._exit(code)
    status[pid] = req["status"]
    print(json.dumps({"pid": pid}), flush=True)
"""


@dataclass
class Run:
    pid: int
    folder: Path
    copiers: list[threading.Thread] = field(default_factory=list)

    def wait(self, timeout: float = 120.0) -> "Result":
        status = self.folder / "status"
        deadline = time.monotonic() + timeout
        while not status.exists():
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                raise TimeoutError(f"f5lab child {self.pid} did not finish in {timeout} s: "
                                   f"{(self.folder / 'stderr').read_text()[-2000:]}")
            time.sleep(0.02)
        for t in self.copiers:
            t.join(timeout=10)
        return Result(int(status.read_text()), (self.folder / "stdout").read_text(errors="replace"),
                      (self.folder / "stderr").read_text(errors="replace"))

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        """Until the child prints ``text`` on stdout (a prelude's pause point)."""
        deadline = time.monotonic() + timeout
        out = self.folder / "stdout"
        while text not in (out.read_text(errors="replace") if out.exists() else ""):
            if (self.folder / "status").exists() or time.monotonic() > deadline:
                raise AssertionError(f"never reached {text!r}: {(self.folder / 'stderr').read_text()[-2000:]}")
            time.sleep(0.02)

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.strip()]


def _copy(fifo: Path, dest: Path) -> None:
    with open(fifo, "rb") as src, open(dest, "wb") as out:
        while chunk := src.read(65536):
            out.write(chunk)


class ForkRunner:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1", "MPLBACKEND": "Agg",
               "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, str(ROOT)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout.readline().strip() == "ready"
        self.tmp = Path(tempfile.mkdtemp(prefix="f5lab-forkrun-"))
        self.n = 0

    def start(self, argv: list[str], *, cwd: str | Path = ".", prelude: str = "", fsize: int | None = None,
              env: dict[str, str] | None = None) -> Run:
        self.n += 1
        folder = self.tmp / str(self.n)
        folder.mkdir()
        streams, copiers = {}, []
        for name in ("stdout", "stderr"):
            if fsize:  # a file-size limit must not cut the messages: they go through pipes (no limit)
                fifo = folder / f"{name}.fifo"
                os.mkfifo(fifo)
                copiers.append(threading.Thread(target=_copy, args=(fifo, folder / name), daemon=True))
                copiers[-1].start()
                streams[name] = str(fifo)
            else:
                streams[name] = str(folder / name)
        req = {"argv": [str(a) for a in argv], "cwd": str(cwd), "prelude": prelude, "fsize": fsize,
               "env": env or {}, **streams, "status": str(folder / "status")}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return Run(json.loads(self.proc.stdout.readline())["pid"], folder, copiers)

    def run(self, argv: list[str], timeout: float = 120.0, **kw) -> Result:
        return self.start(argv, **kw).wait(timeout)

    def close(self) -> None:
        import shutil

        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.tmp, ignore_errors=True)


def as_in_a_terminal() -> None:
    """A child's SIGINT as a terminal's foreground job has it. A job started with `&` from a
    non-interactive shell (make test's second stream, nohup, some CI runners) inherits SIGINT
    ignored, and f5lab rightly leaves an ignored signal ignored: Ctrl-C would then test nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

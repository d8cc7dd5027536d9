"""tools/find-python.sh: `make` picks a supported interpreter or says in one line what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "find-python.sh"


def fake_python(folder: Path, name: str, version: str) -> Path:
    """A stand-in interpreter that reports `version` to the script's two probes."""
    major, minor = (int(x) for x in version.split("."))
    ok = (3, 10) <= (major, minor) <= (3, 12)
    path = folder / name
    path.write_text(f'#!/bin/sh\ncase "$2" in *exit*) exit {0 if ok else 1};; *print*) echo {version};; esac\n')
    path.chmod(0o755)
    return path


def run(*args: str, path: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path}
    return subprocess.run(["/bin/sh", str(SCRIPT), *args], capture_output=True, text=True, env=env)


def test_picks_the_first_supported_interpreter(tmp_path):
    fake_python(tmp_path, "python3", "3.13")
    fake_python(tmp_path, "python3.11", "3.11")
    got = run(path=str(tmp_path))
    assert got.returncode == 0 and got.stdout.strip() == str(tmp_path / "python3.11")


def test_only_an_unsupported_python_is_one_line_of_advice(tmp_path):
    fake_python(tmp_path, "python3", "3.13")
    found = run(path=str(tmp_path))
    assert found.returncode == 1 and found.stdout == ""
    check = run("--check", "", path=str(tmp_path))
    assert check.returncode == 2
    assert check.stderr.count("\n") == 1 and "Python 3.10-3.12" in check.stderr and "PYTHON=" in check.stderr


def test_an_explicit_unsupported_python_is_named(tmp_path):
    py313 = fake_python(tmp_path, "python3.13", "3.13")
    check = run("--check", str(py313), path=str(tmp_path))
    assert check.returncode == 2
    assert f"PYTHON={py313} is 3.13" in check.stderr and check.stderr.count("\n") == 1
    assert run("--check", sys.executable, path=str(tmp_path)).returncode == 0

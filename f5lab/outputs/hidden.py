"""The hidden files f5lab puts beside an output, and whose they are.

A partial (the bytes being written), a lock (the claim, holding the writer's pid) and the
``.f5lab-incomplete`` marker inside a folder result: their names (kept within the file system's
name limit by hashing long ones), the pid they name and whether that process still runs, and the
removal of what a dead process left. Apart because every other part of ``f5lab.outputs`` (claims,
folders, sessions) reads these names and owners, and they depend on nothing else in it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import NewType

PARTIAL_TAG = ".f5lab-partial-"  # + pid + "-" + name
LOCK_TAG = ".f5lab-lock-"  # + name
INCOMPLETE = ".f5lab-incomplete"  # inside a folder result until it is complete
NAME_MAX = 255  # bytes of one path component on Linux/macOS file systems (pathconf may say less)
YOUNG_LOCK_S = 60.0  # an empty lock this young is being written by its owner


Partial = NewType("Partial", Path)  # a path handed out by ``file``: the only kind a writer may be given


# -- names -----------------------------------------------------------------------------------------
def name_limit(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return NAME_MAX


def hidden_name(final: Path, tag: str) -> str:
    """``tag + name`` in ``final``'s folder, or ``tag + hash + suffix`` when that passes the name
    limit (the suffix is kept: writers such as savefig and np.save go by it)."""
    limit = name_limit(final.parent if final.parent.is_dir() else Path("."))
    name = final.name
    if len(os.fsencode(tag + name)) <= limit:
        return tag + name
    suffix = final.suffix if len(os.fsencode(final.suffix)) <= 16 else ""
    return tag + hashlib.sha256(os.fsencode(name)).hexdigest()[:20] + suffix


def partial_of(final: Path, pid: int | None = None) -> Path:
    return final.with_name(hidden_name(final, f"{PARTIAL_TAG}{pid or os.getpid()}-"))


def lock_of(final: Path) -> Path:
    return final.with_name(hidden_name(final, LOCK_TAG))


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").split()
    except OSError:
        return None
    return int(text[0]) if text and text[0].isdigit() else None


def _young(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime < YOUNG_LOCK_S
    except OSError:
        return False


def _owner_alive(marker: Path) -> tuple[int | None, bool]:
    """The pid a lock or marker names and whether that process still runs (an unreadable one
    counts as alive while young: its owner may be writing it)."""
    pid = _read_pid(marker)
    if pid is None:
        return None, _young(marker)
    return pid, pid == os.getpid() or _alive(pid)


# -- removing ----------------------------------------------------------------------------------------
def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def remove_stale_partials(final: Path) -> list[Path]:
    """Partial files of ``final`` left by a process that no longer exists (SIGKILL, power loss):
    removed, so a killed run costs no disk space after the next one. Live processes' are kept."""
    removed = []
    folder = final.parent if str(final.parent) else Path(".")
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PARTIAL_TAG):
            continue
        pid_text = entry.name[len(PARTIAL_TAG):].split("-", 1)[0]
        if not pid_text.isdigit() or entry.name != partial_of(final, int(pid_text)).name:
            continue
        if _alive(int(pid_text)):
            continue
        _remove(Path(entry.path))
        removed.append(Path(entry.path))
    return removed

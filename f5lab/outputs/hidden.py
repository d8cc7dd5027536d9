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
    except (OverflowError, OSError):
        return False
    return True


# -- owners: a pid is not enough (the OOM killer's victim's pid is soon another process's) -----------------
def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def _start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or None
    where there is no /proc (macOS) or no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        return int(stat[stat.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _started_at(pid: int) -> float | None:
    """Process ``pid``'s start as a Unix time (boot time + its start ticks), or None."""
    ticks = _start_ticks(pid)
    if ticks is None:
        return None
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
        return btime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration):
        return None


def _cmdline() -> str:
    import sys

    words = ["f5lab" if i == 0 else w for i, w in enumerate(sys.argv)]
    line = " ".join(words).encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return "".join(ch if ch.isprintable() else "?" for ch in line)[:300]


def owner_record() -> bytes:
    """What a lock or marker holds: the pid first (older f5lab read only that), then what tells this
    process from a later one given the same pid: its start time, the boot, and its command line."""
    pid = os.getpid()
    lines = [str(pid), f"start {_start_ticks(pid)}", f"boot {_boot_id()}", f"cmd {_cmdline()}"]
    return ("\n".join(lines) + "\n").encode("ascii", "replace")


def _read_owner(path: Path) -> dict[str, str] | None:
    try:
        with open(path, "rb") as fh:
            text = fh.read(4096).decode("ascii", "replace")
    except OSError:
        return None
    lines = text.splitlines()
    if not lines or not lines[0].strip().isdigit():
        return None
    owner = {"pid": lines[0].strip()}
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        owner[key] = value
    return owner


def _read_pid(path: Path) -> int | None:
    owner = _read_owner(path)
    return int(owner["pid"]) if owner else None


def _young(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime < YOUNG_LOCK_S
    except OSError:
        return False


def _same_process(owner: dict[str, str], pid: int, written: float | None) -> bool:
    """Whether the running process ``pid`` is the one that wrote ``owner`` (at ``written``): the same
    boot and start time when recorded; else (an older record) started before the file was written."""
    boot = owner.get("boot")
    if boot not in (None, "None") and _boot_id() not in (None, boot):
        return False  # written before a reboot: every pid since is another process
    start = owner.get("start")
    if start not in (None, "None") and start.isdigit():
        now = _start_ticks(pid)
        return now is None or now == int(start)
    started = _started_at(pid)
    return started is None or written is None or started <= written + 1.0


def _owner_alive(marker: Path) -> tuple[int | None, bool]:
    """The pid a lock or marker names and whether the process that wrote it still runs: the pid
    alive and, where the record says, the same process (start time, boot), so a pid the system has
    given to another process since counts as gone. An unreadable one counts as alive while young:
    its owner may be writing it."""
    owner = _read_owner(marker)
    if owner is None:
        return None, _young(marker)
    pid = int(owner["pid"])
    try:
        written = marker.stat().st_mtime
    except OSError:
        written = None
    if pid == os.getpid():  # this process's, unless an earlier process had this pid
        return pid, _same_process(owner, pid, written)
    return pid, _alive(pid) and _same_process(owner, pid, written)


def owner_text(marker: Path) -> str:
    """``pid N`` and, when recorded, the command that holds ``marker``: for refusal lines."""
    owner = _read_owner(marker) or {}
    pid = owner.get("pid", "?")
    cmd = owner.get("cmd")
    return f"pid {pid}" + (f": {cmd[:120]}" if cmd else "")


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
        pid = int(pid_text)
        try:
            written = entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            written = None
        if _alive(pid) and _same_process({}, pid, written):  # a live pid that started after it is another process
            continue
        _remove(Path(entry.path))
        removed.append(Path(entry.path))
    return removed


def shown_bytes(text: str) -> str:
    """``text`` with every lone surrogate written out: an undecodable byte of a file name (U+DC80..U+DCFF,
    Python's surrogateescape) as ``\\xNN``, any other as ``\\uNNNN``; the rest unchanged."""
    return "".join(c if not 0xD800 <= ord(c) <= 0xDFFF else
                   (f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}") for c in text)

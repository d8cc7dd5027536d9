"""Folder results: made at their final name, marked incomplete until done, checked by readers.

``FolderClaim`` makes the folder with ``os.mkdir`` (of two runs one gets it) with the
``.f5lab-incomplete`` marker (the writer's pid) inside until it is complete; ``folder_state`` and
``incomplete`` are the readers' check (being written, or left by an interrupted run);
``make_parents`` creates an output's missing parent folders. Apart because a folder result is
claimed, kept and read differently from a file (a marker inside, not a partial beside it).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from f5lab.outputs.checks import Inputs, OutputError, _refuse_input, writing
from f5lab.outputs.hidden import INCOMPLETE, _owner_alive, _remove, owner_record, owner_text
from f5lab.outputs.running import current


class FolderClaim:
    """A folder result at its final name, with ``.f5lab-incomplete`` (the writer's pid) inside until done."""

    def __init__(self, path: Path, *, inputs: Inputs, replace: bool = False, auto_suffix: bool = False,
                 what: str = "folder") -> None:
        self.note: str | None = None
        _refuse_input(path, inputs)
        if path.exists() and not path.is_dir():
            raise OutputError(errno.ENOTDIR, f"{path}: is a file, not a folder")
        self.made_parents = make_parents(path)
        base, n = path, 1
        for _attempt in range(1000):
            try:
                os.mkdir(path)
                if current() is not None:  # registered at once: a signal right after still finds it
                    current().created.append(path)
                break
            except FileExistsError:
                state = folder_state(path)
                if auto_suffix and state != "missing" and not (state == "complete" and not any(path.iterdir())):
                    n += 1  # a name of the clock, taken (another run started in the same second): the next
                    path = base.with_name(f"{base.name}-{n}")
                    continue
                if state.startswith("busy"):
                    raise OutputError(errno.EBUSY, f"{path}: being written by another f5lab run "
                                                   f"({owner_text(path / INCOMPLETE)}); wait for it or choose another "
                                                   f"name (if no such run is going on, delete {path / INCOMPLETE})") from None
                if state.startswith("stale"):
                    self.note = f"{path}: left incomplete by an interrupted run ({state.split(':', 1)[1]}); " \
                                "its partial folder was removed and the run starts again"
                    _remove(path)
                    continue
                if replace and state == "complete":
                    _remove(path)
                    continue
                if state == "complete" and not any(path.iterdir()) and _attempt < 3:  # an empty folder: take it
                    with contextlib.suppress(OSError):
                        path.rmdir()
                    continue
                if auto_suffix:
                    n += 1
                    path = base.with_name(f"{base.name}-{n}")
                    continue
                raise OutputError(errno.EEXIST, f"{path}: exists ({_looks_like(path)}); a {what} writes only into a "
                                                f"folder it makes: choose another name") from None
            except OSError as exc:
                raise OutputError(exc.errno or errno.EACCES, f"{path}: cannot be created ({exc.strerror}); "
                                                             "choose another folder") from None
        else:
            raise OutputError(errno.EBUSY, f"{path}: cannot be claimed (it keeps changing); choose another name")
        self.path = path
        self.marker = path / INCOMPLETE
        with writing(self.marker):
            fd = os.open(self.marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, owner_record())
            finally:
                os.close(fd)
        self.state = "claimed"

    def commit(self) -> None:
        self.marker.unlink(missing_ok=True)
        self.state = "committed"

    def abort(self) -> None:
        if self.state == "claimed":
            _remove(self.path)
            for p in self.made_parents:
                with contextlib.suppress(OSError):
                    p.rmdir()
        self.state = "released"


def folder_state(path: Path) -> str:
    """'missing', 'complete', 'busy:pid N' (being written), 'stale:pid N' (its writer is gone)."""
    if not path.is_dir():
        return "missing"
    marker = path / INCOMPLETE
    if not marker.exists():
        return "complete"
    pid, alive = _owner_alive(marker)
    return f"{'busy' if alive else 'stale'}:pid {pid if pid is not None else '?'}"


def incomplete(path: str | os.PathLike, levels: int = 4) -> str | None:
    """Why ``path`` (a file or folder) belongs to an unfinished result, or None: the reader's check.
    Looks for ``.f5lab-incomplete`` in ``path`` (a folder) and its parents up to ``levels``."""
    p = Path(path)
    here = p if p.is_dir() else p.parent
    for folder in [here, *here.parents][:levels]:
        state = folder_state(folder)
        if state.startswith(("busy", "stale")):
            what = "still being written" if state.startswith("busy") else "left incomplete by an interrupted run"
            return f"{folder} is {what} ({state.split(':', 1)[1]}; its marker: {folder / INCOMPLETE})"
    return None


def make_parents(path: Path) -> list[Path]:
    """Create ``path``'s missing parent folders; returns those created, deepest first."""
    made = []
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        made.append(parent)
        parent = parent.parent
    for p in reversed(made):
        try:
            p.mkdir()
        except FileExistsError:
            pass
        except OSError as exc:
            raise OutputError(exc.errno or errno.EACCES, f"{path}: cannot be created ({exc.strerror} at "
                                                         f"{p}); choose another folder") from None
    return made


def _looks_like(path: Path) -> str:
    """What an existing folder holds, for a refusal: whose it is, as far as its files tell."""
    if (path / "sweep.json").is_file():
        return "a sweep's folder"
    if (path / "manifest.json").is_file():
        return "a finished report"
    return "not made by this command"

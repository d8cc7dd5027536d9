"""One output file claimed, written aside and put in place; several put in place together.

``FileClaim`` checks the path, takes its lock (``O_EXCL``, the writer's pid, start time, boot and command inside), hands out the
partial the bytes go to, and puts the complete partial in place: ``os.replace`` over an old file
(with ``force``), ``os.link`` for a new one so a file that appeared meanwhile is never replaced.
``Unit`` puts the files of one result in place together, signals held off between the renames.
Apart because it is the file primitive everything else in ``f5lab.outputs`` builds on.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Callable

from f5lab.outputs.checks import Inputs, OutputError, UndeclaredOutput, check_output_file, writing
from f5lab.outputs.hidden import _owner_alive, _remove, lock_of, owner_record, owner_text, partial_of, remove_stale_partials
from f5lab.outputs.running import _signals_held, current

_UMASK = os.umask(0o022)
os.umask(_UMASK)


# -- claims ------------------------------------------------------------------------------------------
class FileClaim:
    """One output file, claimed: checked, locked, with the partial path its bytes go to."""

    def __init__(self, path: Path, *, force: bool, inputs: Inputs, replace_if: Callable[[Path], bool] | None,
                 in_own_folder: bool) -> None:
        self.path = path
        self.force = force
        check_output_file(path, force=force, inputs=inputs, replace_if=replace_if)
        self.replaces = path.exists() or path.is_symlink()
        self.lock = None if in_own_folder else _take_lock(path)
        remove_stale_partials(path)
        self.partial = partial_of(path)
        self.state = "claimed"  # -> "written" (in a unit), "committed" or "released"
        self.unit: Unit | None = None

    def commit(self) -> bool:
        """Put the complete partial in place; False when nothing was written (the claim is released)."""
        try:
            if not (self.partial.exists() or self.partial.is_symlink()):
                return False
            with writing(self.path):
                _set_mode(self.partial, self.path)
                if self.replaces or self.lock is None:
                    os.replace(self.partial, self.path)
                else:
                    _link_new(self.partial, self.path)
            self.state = "committed"
            return True
        finally:
            self._release()

    def abort(self) -> None:
        _remove(self.partial)
        self._release()

    def _release(self) -> None:
        if self.state not in ("committed",):
            self.state = "released"
        if self.lock is not None:
            self.lock.unlink(missing_ok=True)
            self.lock = None


def _set_mode(partial: Path, final: Path) -> None:
    """The permissions the output would have had: the replaced file's, else the umask's (writers such
    as safetensors create 0600 files)."""
    try:
        mode = os.stat(final).st_mode & 0o7777 if final.exists() else 0o666 & ~_UMASK
        os.chmod(partial, mode)
    except OSError:
        pass


def _link_new(partial: Path, final: Path) -> None:
    """``final`` made from ``partial`` without replacing a file someone else created meanwhile."""
    try:
        os.link(partial, final)
    except FileExistsError:
        raise OutputError(errno.EEXIST, f"{final}: was created by another program while f5lab wrote it; "
                                        "f5lab's copy was discarded, the other file is untouched") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if final.exists():  # no hard links on this file system: check, then rename
            raise OutputError(errno.EEXIST, f"{final}: was created by another program while f5lab wrote it")
        os.replace(partial, final)
        return
    partial.unlink(missing_ok=True)


def _take_lock(final: Path) -> Path:
    """The lock beside ``final``, created with O_EXCL (a dead owner's is taken over)."""
    lock = lock_of(final)
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pid, alive = _owner_alive(lock)
            if pid == os.getpid() and alive:
                raise UndeclaredOutput(f"{final}: claimed twice by this process") from None
            if alive:
                raise OutputError(errno.EBUSY, f"{final}: being written by another f5lab run ({owner_text(lock)}); "
                                               f"wait for it to finish or choose another path (if no such run is "
                                               f"going on, delete {lock})") from None
            lock.unlink(missing_ok=True)  # its owner is gone (or its pid is another process's now)
            continue
        except OSError as exc:
            parent = final.parent if str(final.parent) else Path(".")
            raise OutputError(exc.errno or errno.EACCES, f"{final}: cannot be created ({exc.strerror} in "
                                                         f"{parent}); choose another path") from None
        s = current()
        if s is not None:  # registered at once: a signal right after still finds it to remove
            s.locks.append(lock)
        try:
            os.write(fd, owner_record())
        finally:
            os.close(fd)
        return lock
    raise OutputError(errno.EBUSY, f"{final}: its lock {lock} keeps coming back; another run is starting")


class Unit:
    """Files of one result: put in place together, after every one of them is complete."""

    def __init__(self, claims: list[FileClaim]) -> None:
        self.claims = claims
        for c in claims:
            c.unit = self

    def commit(self) -> None:
        with _signals_held():
            for c in self.claims:
                c.commit()

    def abort(self) -> None:
        for c in self.claims:
            c.abort()

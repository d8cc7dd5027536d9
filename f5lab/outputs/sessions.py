"""What one command may write, and everything it has claimed, finished when it ends.

A ``Session`` holds the command's inputs, ``--force`` and its declared outputs (``Declared``:
a write outside them is a bug, ``UndeclaredOutput``); it claims files and folders, creates output
folders, and on its end puts what was written in place or removes every partial, lock and folder
it made. ``session`` opens one with signals raising ``Interrupted``; ``_ambient`` gives library
code outside a command one of its own. f5lab's cache folder is always writable. Apart because it
is the bookkeeping of a whole command, above the single claims it collects.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from f5lab.outputs.checks import Inputs, OutputError, UndeclaredOutput, check_output_dir
from f5lab.outputs.claims import FileClaim
from f5lab.outputs.folders import FolderClaim, make_parents
from f5lab.outputs.hidden import INCOMPLETE, _owner_alive, _read_pid, _remove
from f5lab.outputs.running import _CURRENT, current, signals_raise


# -- sessions ----------------------------------------------------------------------------------------
def cache_root() -> Path:
    return Path(os.environ.get("F5LAB_CACHE", Path.home() / ".cache" / "f5lab"))


def cache_dir() -> Path:
    """f5lab's cache (signatures, the demo checkpoint): ``$F5LAB_CACHE``, default ``~/.cache/f5lab``.
    Always writable through f5lab.outputs (claims still apply), whatever a command declares."""
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(exc.errno or errno.EACCES, f"{root}: f5lab's cache folder cannot be created "
                                                     f"({exc.strerror}); set F5LAB_CACHE to a writable folder") from None
    return root


@dataclass
class Declared:
    """What a command may write: exact files and folders (anything inside)."""

    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)

    def allows(self, path: Path) -> bool:
        real = Path(os.path.abspath(path))
        if any(real == Path(os.path.abspath(f)) for f in self.files):
            return True
        roots = [*self.folders, cache_root()]
        return any(real == Path(os.path.abspath(r)) or Path(os.path.abspath(r)) in real.parents for r in roots)


class Session:
    """What one command may write, and what it has claimed: every claim is finished (put in place,
    or removed) when the session ends."""

    def __init__(self, inputs: Iterable[str | os.PathLike] = (), force: bool = False,
                 declared: Declared | None = None) -> None:
        self.inputs = Inputs([Path(p) for p in inputs])
        self.force = force
        self.declared = declared
        self.files: dict[str, FileClaim] = {}
        self.folders: list[FolderClaim] = []
        self.made: list[Path] = []  # output folders this session created (removed again if left empty)
        self.locks: list[Path] = []  # every lock taken, as soon as it exists
        self.created: list[Path] = []  # every folder result made, as soon as it exists
        self.notes: list[str] = []

    def _allowed(self, path: Path) -> None:
        if self.declared is not None and not self.declared.allows(path):
            raise UndeclaredOutput(f"{path}: written by a command that does not declare it as an output "
                                   "(declare it on the click parameter: f5lab.cli.params)")

    def find(self, path: str | os.PathLike) -> FileClaim | None:
        claim = self.files.get(os.path.abspath(path))
        return claim if claim is not None and claim.state in ("claimed", "written") else None

    def claim_file(self, path: str | os.PathLike, force: bool | None = None, inputs: Iterable[Any] = (),
                   replace_if: Callable[[Path], bool] | None = None) -> FileClaim:
        p = Path(path)
        existing = self.find(p)
        if existing is not None:
            return existing
        self._allowed(p)
        for i in inputs:
            self.inputs.add(i)
        own = _own_folder(p.parent if str(p.parent) else Path("."), self)
        force = own or self.force if force is None else (own or force or self.force)
        claim = FileClaim(p, force=force, inputs=self.inputs,
                          replace_if=replace_if, in_own_folder=own)
        self.files[os.path.abspath(p)] = claim
        return claim

    def claim_folder(self, path: str | os.PathLike, **kw: Any) -> FolderClaim:
        p = Path(path)
        self._allowed(p)
        claim = FolderClaim(p, inputs=self.inputs, **kw)
        self._allowed(claim.path)
        self.folders.append(claim)
        if claim.note:
            self.notes.append(claim.note)
        return claim

    def make_dirs(self, path: str | os.PathLike) -> Path:
        p = Path(path)
        if p.is_dir():
            return p
        self._allowed(p)
        if p.exists():
            raise OutputError(errno.ENOTDIR, f"{p}: is a file, not a folder for the outputs")
        check_output_dir(p)
        made = make_parents(p / "x")
        self.made += made
        return p

    def finish(self, ok: bool) -> None:
        """Release what was claimed and never written; on failure remove every partial and every
        folder this session created (committed outputs stay: they are complete)."""
        for claim in list(self.files.values()):
            if claim.state in ("claimed", "written"):
                claim.abort() if not ok or claim.state == "claimed" else claim.commit()
        for folder in reversed(self.folders):
            if not ok:
                folder.abort()
        for path in self.created:  # made, but a signal came before its claim was recorded
            if not ok and path.is_dir() and (_read_pid(path / INCOMPLETE) == os.getpid() or not any(path.iterdir())):
                _remove(path)
        for lock in self.locks:
            if lock.exists() and _read_pid(lock) == os.getpid():
                lock.unlink(missing_ok=True)
        for p in self.made:  # deepest first: an output folder left empty is removed again
            if not ok or not any(p.iterdir()):
                with contextlib.suppress(OSError):
                    p.rmdir()


def _own_folder(folder: Path, session: Session | None) -> bool:
    """``folder`` is (inside) a folder result being written by this run or its parent process (a
    report's notebook kernels write into the run folder their parent claimed)."""
    if session is not None and any(f.state == "claimed" and (f.path == folder or f.path in folder.parents)
                                   for f in session.folders):
        return True
    for p in [folder, *folder.parents][:6]:
        if (p / INCOMPLETE).exists():
            pid, alive = _owner_alive(p / INCOMPLETE)
            return alive
    return False


@contextlib.contextmanager
def session(inputs: Iterable[str | os.PathLike] = (), force: bool = False, declared: Declared | None = None,
            what: str = "partial outputs removed") -> Iterator[Session]:
    """A command's writes: signals end it with ``Interrupted`` and every partial removed."""
    s = Session(inputs, force, declared)
    _CURRENT.append(s)
    ok = False
    try:
        with signals_raise(what):
            yield s
            ok = True
    finally:
        _CURRENT.remove(s)
        s.finish(ok)


@contextlib.contextmanager
def _ambient() -> Iterator[Session]:
    """The current session, or one for this call alone (library use outside a command)."""
    s = current()
    if s is not None:
        yield s
        return
    with session() as s:
        yield s

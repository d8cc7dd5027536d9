"""What f5lab refuses before any work, and how a failed write reads.

The error types (``OutputError``, one line and an OSError; ``UndeclaredOutput``, a bug), the
command's inputs that an output may never be (``Inputs``), the checks of an output file or folder
made before any work, and ``writing``, which turns a writer's failure (disk full, safetensors,
torch.save) into one line naming the file. Apart because they judge a path without claiming it:
claims, folders and sessions call them, and they need nothing of those.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from f5lab.errors import F5LabError
from f5lab.outputs.hidden import NAME_MAX, name_limit


class OutputError(F5LabError, OSError):
    """An output path is unusable or a write failed; an OSError too (``errno`` kept), one line."""

    def __str__(self) -> str:
        return str(self.strerror) if self.strerror else super().__str__()


class UndeclaredOutput(RuntimeError):
    """A command wrote somewhere its click declaration does not name: a bug, never a user's mistake."""


# -- inputs ----------------------------------------------------------------------------------------
@dataclass
class Inputs:
    """The files a command reads, by resolved path and by inode: an output that is one of them is refused."""

    paths: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._real: dict[str, Path] = {}
        self._ids: dict[tuple[int, int], Path] = {}
        for p in self.paths:
            self.add(p)

    def add(self, path: str | os.PathLike) -> None:
        p = Path(path)
        self._real.setdefault(os.path.realpath(p), p)
        try:
            st = os.stat(p)
        except (OSError, ValueError):
            return
        self._ids.setdefault((st.st_dev, st.st_ino), p)

    def which(self, out: Path) -> Path | None:
        """The input ``out`` is, or resolves to (symlink, hard link), or None."""
        hit = self._real.get(os.path.realpath(out))
        if hit is not None:
            return hit
        try:
            st = os.stat(out)
        except (OSError, ValueError):
            return None
        return self._ids.get((st.st_dev, st.st_ino))


def _refuse_input(out: Path, inputs: Inputs) -> None:
    hit = inputs.which(out)
    if hit is not None:
        same = "" if os.path.realpath(out) == os.path.realpath(hit) and str(out) == str(hit) else f" ({hit})"
        raise OutputError(errno.EEXIST, f"{out}: is an input of this command{same}; f5lab never writes over "
                                        "its own input, with or without --force: give another output path")


# -- checks ----------------------------------------------------------------------------------------
def _check_name(p: Path) -> None:
    if not p.name or p.name in (".", ".."):
        raise OutputError(errno.EISDIR, f"{p}: is a directory; give the output file name")
    try:
        limit = name_limit(p.parent if p.parent.is_dir() else Path("."))
    except OSError:
        limit = NAME_MAX
    if len(os.fsencode(p.name)) > limit:
        raise OutputError(errno.ENAMETOOLONG, f"{p.name[:60]}...: file name of {len(os.fsencode(p.name))} bytes, "
                                              f"over the file system's limit of {limit}; choose a shorter name")


def check_output_file(path: str | os.PathLike, force: bool = False, inputs: Inputs | None = None,
                      replace_if: Callable[[Path], bool] | None = None) -> Path:
    """Refuse, before any work: an input, a directory, an existing file without ``force`` (unless
    ``replace_if`` says it is f5lab's own), a missing parent folder, a read-only file."""
    p = Path(path)
    if inputs is not None:
        _refuse_input(p, inputs)
    if len(os.fsencode(p.name)) > NAME_MAX:
        _check_name(p)  # before any stat: a name past the limit is ENAMETOOLONG to every call
    if p.is_dir():
        raise OutputError(errno.EISDIR, f"{p}: is a directory; give the output file name")
    _check_name(p)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        what = "is a file" if parent.exists() else "no such directory"
        raise OutputError(errno.ENOENT, f"{parent}: {what} for the output {p.name}")
    if p.exists() or p.is_symlink():
        if not (force or (replace_if is not None and replace_if(p))):
            ours = " and was not written by f5lab" if replace_if is not None else ""
            raise OutputError(errno.EEXIST, f"{p}: exists{ours}; pass --force to replace it, or give another path")
        if p.exists() and not p.is_file():
            raise OutputError(errno.EEXIST, f"{p}: exists and is not a regular file; choose another path")
        if p.exists() and not os.access(p, os.W_OK):
            raise OutputError(errno.EACCES, f"{p}: is read-only; make it writable or choose another path")
    return p


def check_output_dir(path: str | os.PathLike) -> Path:
    """Refuse, before any work, an output folder that is a file or cannot be created or written."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(errno.ENOTDIR, f"{p}: is a file, not a folder for the outputs")
    existing = p
    while not existing.exists():  # the nearest existing ancestor decides whether mkdir can work
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise OutputError(errno.ENOTDIR, f"{p}: cannot be created ({existing} is a file)")
    reason = _cannot_create_in(existing)
    if reason:
        raise OutputError(errno.EACCES, f"{p}: not writable ({reason} in {existing}); choose another folder")
    return p


def _cannot_create_in(folder: Path) -> str | None:
    """Why no file can be created in ``folder``, found by creating (and removing) one: permission
    bits say nothing to root, nor about read-only mounts, /proc or /sys."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".f5lab-write-check-"):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


# -- write errors ----------------------------------------------------------------------------------
@contextlib.contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Turn a failed write of ``path`` (disk full, file-size limit, permission, I/O error; raw or
    from safetensors / torch.save / savefig) into a one-line OutputError naming it."""
    try:
        yield
    except F5LabError:
        raise
    except OSError as exc:
        raise OutputError(exc.errno or errno.EIO, f"{path}: cannot write: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - only writer errors are translated, the rest re-raised
        if not _is_write_failure(exc):
            raise
        raise OutputError(errno.EIO, f"{path}: cannot write: {_first_line(exc)}") from None


def _is_write_failure(exc: BaseException) -> bool:
    """safetensors' SafetensorError (raised while serialising to the file) and torch.save's
    stream-writer errors; anything else is a bug and keeps its traceback."""
    text = str(exc)
    return type(exc).__name__ == "SafetensorError" or any(
        t in text for t in ("PytorchStreamWriter", "file write failed", "inline_container"))  # torch.save's zip writer


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

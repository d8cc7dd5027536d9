"""Where f5lab writes: checked before any work starts, and every write failure named in one line.

A user who points f5lab at a read-only folder, a full disk or an existing file should learn it
in one line naming the path, before minutes of loading or synthesis, never from a
``SafetensorError`` or ``[Errno 28]`` without a file name. Signals that end a write
(SIGTERM, SIGHUP) become an exception, so the code that removes a partial file runs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
from pathlib import Path
from typing import Any, Iterator

from f5lab.errors import F5LabError


class OutputError(F5LabError, OSError):
    """An output path is unusable or a write failed; an OSError too (``errno`` kept), one line."""

    def __str__(self) -> str:
        return str(self.strerror) if self.strerror else super().__str__()


class Interrupted(F5LabError):
    """A signal (SIGTERM, SIGHUP) ended a write; the CLI exits with 128 + the signal number."""

    def __init__(self, signum: int, what: str = "") -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}" + (f"; {what}" if what else ""))


def check_output_file(path: str | os.PathLike, force: bool = False) -> Path:
    """Refuse, before any work: a directory, an existing file without ``force``, a missing or
    unwritable parent folder."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(errno.EISDIR, f"{p}: is a directory; give the output file name")
    if p.exists() and not force:
        raise OutputError(errno.EEXIST, f"{p}: exists; pass --force to overwrite it")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(errno.ENOENT, f"{parent}: no such directory for the output {p.name}")
    reason = _cannot_create_in(parent)
    if reason or (p.exists() and not os.access(p, os.W_OK)):
        raise OutputError(errno.EACCES, f"{p}: not writable ({reason or 'permission denied'}); "
                                        "choose another path")
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


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` whole or not at all: a hidden temporary file in the same folder,
    renamed onto ``path`` (a reader never sees half a JSON file; a failed write leaves no temp)."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        with writing(p):
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    return p


@contextlib.contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Turn a failed write of ``path`` (disk full, file-size limit, permission, I/O error; raw or
    from safetensors / torch.save) into a one-line OutputError naming it."""
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
    return type(exc).__name__ == "SafetensorError" or "PytorchStreamWriter" in text or "file write failed" in text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


ENDING_SIGNALS = ("SIGTERM", "SIGHUP")


@contextlib.contextmanager
def signals_raise(what: str = "") -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise ``Interrupted`` (once) instead of killing the process
    outright, so ``finally``/``except`` blocks can remove partial files; so does SIGINT where Python's
    own KeyboardInterrupt handler is installed. A signal the caller ignores (nohup) stays ignored;
    outside the main thread (where Python cannot install handlers) nothing changes. Handlers are
    restored on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if not fired:  # a second signal during cleanup must not interrupt the cleanup
            fired.append(signum)
            raise Interrupted(signum, what)

    saved: dict[int, Any] = {}
    for name in ENDING_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is None or signal.getsignal(sig) is signal.SIG_IGN:
            continue
        saved[sig] = signal.signal(sig, handler)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # Ctrl-C: the same one-line ending
        saved[signal.SIGINT] = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)


@contextlib.contextmanager
def complete_or_absent(path: str | os.PathLike, *companions: str | os.PathLike) -> Iterator[None]:
    """For writers that cannot go through a temporary file (safetensors' save_file, torch.save):
    if the block fails or a signal ends it, ``path`` (and ``companions``) are removed, so no
    half-written file is left under the name the user asked for; failures become one line. A file
    the block did not touch (it failed before writing) is left alone."""
    paths = [Path(p) for p in (path, *companions)]
    before = {p: _identity(p) for p in paths}
    try:
        with signals_raise(f"removed the partial {path}"), writing(path):
            yield
    except BaseException:
        for p in paths:
            if _identity(p) != before[p]:
                p.unlink(missing_ok=True)
        raise


def _identity(p: Path) -> tuple[int, int, int] | None:
    try:
        st = p.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns

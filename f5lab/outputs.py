"""The one way f5lab writes a file or a folder: claimed before any work, written aside, put in place whole.

Every file and folder any f5lab command writes goes through this module (``tests/test_outputs.py``
scans the package and fails on a write anywhere else). For each output it guarantees:

(a) an output that is, or resolves to, one of the command's inputs is refused, with or without
    ``--force``: the same path once symlinks are followed, or the same inode (a hard link);
(b) an output is *claimed* before any work: a lock file beside it, made with ``O_EXCL`` and holding
    the writer's pid, so of two runs writing one path exactly one proceeds and the other is refused
    in one line (a lock left by a process that no longer exists is taken over);
(c) the bytes go to a hidden partial file in the same folder; an existing output is replaced
    (``os.replace``) only with ``force`` and only once the new one is complete; a new one is put in
    place with ``os.link``, which never replaces a file that appeared meanwhile. A full disk, a
    file-size limit or a signal leave the old output whole and no partial file behind;
(d) the files of one result (a synthesis: wav, mel, picture, record) are put in place together
    (``unit``), signals held off between the renames; a folder result (a report run, a sweep
    point) is made at its final name with a marker ``.f5lab-incomplete`` inside until it is
    complete (``folder``), and every reader checks it (``incomplete``);
(e) while a command runs (``session``), SIGINT, SIGTERM and SIGHUP raise ``Interrupted``, so the
    partials are removed; the CLI prints one line and exits 128+N;
(f) partial and lock names stay within the file system's name limit (long names are hashed).

A command's outputs are declared on its click parameters (``f5lab.cli.params``); the CLI opens a
``session`` with the declared outputs and the command's inputs, claims the declared files before
the command's body runs, and refuses (as a bug) any claim outside the declaration. Library code
writes through ``file``, ``unit``, ``folder``, ``write_text``/``write_bytes`` and ``make_dirs``;
outside a session each call claims for itself, with the ``force`` and ``inputs`` it is given.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NewType, Sequence

from f5lab.errors import F5LabError

PARTIAL_TAG = ".f5lab-partial-"  # + pid + "-" + name
LOCK_TAG = ".f5lab-lock-"  # + name
INCOMPLETE = ".f5lab-incomplete"  # inside a folder result until it is complete
NAME_MAX = 255  # bytes of one path component on Linux/macOS file systems (pathconf may say less)
ENDING_SIGNALS = ("SIGTERM", "SIGHUP")
YOUNG_LOCK_S = 60.0  # an empty lock this young is being written by its owner
_UMASK = os.umask(0o022)
os.umask(_UMASK)


Partial = NewType("Partial", Path)  # a path handed out by ``file``: the only kind a writer may be given


class OutputError(F5LabError, OSError):
    """An output path is unusable or a write failed; an OSError too (``errno`` kept), one line."""

    def __str__(self) -> str:
        return str(self.strerror) if self.strerror else super().__str__()


class Interrupted(BaseException):
    """A signal (SIGINT, SIGTERM, SIGHUP) ended the command; the CLI exits with 128 + its number.

    A BaseException, as KeyboardInterrupt is: the handler raises it wherever the main thread happens
    to be, often inside code that catches ``Exception`` to carry on (a notebook runner recording a
    failed kernel, Dask's and tornado's internals). Were it an Exception, such a block would swallow
    the signal and the command would run to its end and exit 0 after a Ctrl-C."""

    def __init__(self, signum: int, what: str = "") -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}" + (f"; {what}" if what else ""))


class UndeclaredOutput(RuntimeError):
    """A command wrote somewhere its click declaration does not name: a bug, never a user's mistake."""


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


# -- signals ---------------------------------------------------------------------------------------
_DEFER: list[int] = [0]  # > 0 while outputs are being put in place: a signal waits for the renames
_PENDING: list[int] = []


@contextlib.contextmanager
def signals_raise(what: str = "") -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise ``Interrupted`` (once) instead of killing the process
    outright, so ``finally``/``except`` blocks can remove partial files; so does SIGINT where Python's
    own KeyboardInterrupt handler is installed. A signal the caller ignores (nohup) stays ignored;
    outside the main thread (where Python cannot install handlers) nothing changes. Handlers are
    restored on exit. Nested uses keep the outermost handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if _DEFER[0]:  # renames in progress: raise once they are done
            _PENDING.append(signum)
            return
        if not fired:  # a second signal during cleanup must not interrupt the cleanup
            fired.append(signum)
            raise Interrupted(signum, what)

    handler.f5lab = True  # type: ignore[attr-defined]
    saved: dict[int, Any] = {}
    for name in ENDING_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is None or signal.getsignal(sig) is signal.SIG_IGN or getattr(signal.getsignal(sig), "f5lab", False):
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
def _signals_held() -> Iterator[None]:
    """Renames that must all happen or none: a signal arriving meanwhile is raised right after."""
    _DEFER[0] += 1
    try:
        yield
    finally:
        _DEFER[0] -= 1
    if not _DEFER[0] and _PENDING:
        signum = _PENDING.pop()
        _PENDING.clear()
        raise Interrupted(signum, "what was complete is in place, the rest removed")


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
            if pid == os.getpid():
                raise UndeclaredOutput(f"{final}: claimed twice by this process") from None
            if alive:
                raise OutputError(errno.EBUSY, f"{final}: being written by another f5lab run"
                                               f"{f' (pid {pid})' if pid else ''}; wait for it to finish or "
                                               "choose another path") from None
            lock.unlink(missing_ok=True)  # its owner is gone
            continue
        except OSError as exc:
            parent = final.parent if str(final.parent) else Path(".")
            raise OutputError(exc.errno or errno.EACCES, f"{final}: cannot be created ({exc.strerror} in "
                                                         f"{parent}); choose another path") from None
        s = current()
        if s is not None:  # registered at once: a signal right after still finds it to remove
            s.locks.append(lock)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)
        return lock
    raise OutputError(errno.EBUSY, f"{final}: its lock {lock.name} keeps coming back; another run is starting")


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
                                                   f"({state.split(':', 1)[1]}); wait for it or choose another "
                                                   "name") from None
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
                raise OutputError(errno.EEXIST, f"{path}: exists (a finished {what}); choose another name") from None
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
                os.write(fd, f"{os.getpid()}\n".encode())
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
            return f"{folder} is {what} ({state.split(':', 1)[1]})"
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


# -- sessions ----------------------------------------------------------------------------------------
def cache_root() -> Path:
    return Path(os.environ.get("F5LAB_CACHE", Path.home() / ".cache" / "f5lab"))


def cache_dir() -> Path:
    """f5lab's cache (signatures, the demo checkpoint): ``$F5LAB_CACHE``, default ``~/.cache/f5lab``.
    Always writable through this module (claims still apply), whatever a command declares."""
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


_CURRENT: list[Session] = []


def current() -> Session | None:
    return _CURRENT[-1] if _CURRENT else None


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


# -- the writing API -----------------------------------------------------------------------------------
@contextlib.contextmanager
def file(path: str | os.PathLike, *, force: bool = False, inputs: Iterable[Any] = (),
         replace_if: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Write one file: yields the partial path to write to; on success it is put in place (now, or
    with its unit), on failure or a signal it is removed and the old file stays whole."""
    with _ambient() as s:
        claim = s.claim_file(path, force=force, inputs=inputs, replace_if=replace_if)
        with writing(path):
            try:
                yield claim.partial
            except BaseException:
                if claim.unit is not None:
                    claim.unit.abort()
                else:
                    claim.abort()
                raise
        if claim.unit is None:
            claim.commit()
        else:
            claim.state = "written"


@contextlib.contextmanager
def unit(paths: Sequence[str | os.PathLike], *, force: bool = False, inputs: Iterable[Any] = ()) -> Iterator[None]:
    """Several files of one result: each written with ``file`` inside, all put in place at the end."""
    with _ambient() as s:
        inputs = list(inputs)
        group = Unit([s.claim_file(p, force=force, inputs=inputs) for p in paths])
        try:
            yield
        except BaseException:
            group.abort()
            raise
        group.commit()


@contextlib.contextmanager
def folder(path: str | os.PathLike, *, replace: bool = False, auto_suffix: bool = False,
           what: str = "folder") -> Iterator[FolderClaim]:
    """A folder result, claimed at its final name (``os.mkdir``: of two runs one gets it), marked
    incomplete until the block ends; removed whole on failure or a signal. ``replace``: a finished
    one f5lab made may be replaced (a sweep point re-run); ``auto_suffix``: a taken name gets -2, -3."""
    with _ambient() as s:
        claim = s.claim_folder(path, replace=replace, auto_suffix=auto_suffix, what=what)
        try:
            yield claim
        except BaseException:
            claim.abort()
            raise
        claim.commit()


def pending_size(path: str | os.PathLike) -> int | None:
    """Bytes written so far to a claimed output not yet put in place (its partial), or None."""
    s = current()
    claim = s.find(path) if s is not None else None
    try:
        return claim.partial.stat().st_size if claim is not None else None
    except OSError:
        return None


@contextlib.contextmanager
def exclusive(path: str | os.PathLike, what: str = "folder") -> Iterator[None]:
    """Only one f5lab run at a time works on ``path`` (a resumable result such as a sweep folder):
    a lock beside it; a second run is refused in one line."""
    p = Path(path)
    if not p.parent.is_dir():
        make_dirs(p.parent)
    lock = _take_lock(p)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes, *, force: bool = False, inputs: Iterable[Any] = (),
                replace_if: Callable[[Path], bool] | None = None) -> Path:
    """``data`` to ``path``, whole or not at all."""
    with file(path, force=force, inputs=inputs, replace_if=replace_if) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, *, force: bool = False, inputs: Iterable[Any] = (),
               replace_if: Callable[[Path], bool] | None = None) -> Path:
    """UTF-8 ``text`` to ``path``, whole or not at all (a reader never sees half a JSON file)."""
    return write_bytes(path, text.encode("utf-8"), force=force, inputs=inputs, replace_if=replace_if)


def replace_text(path: str | os.PathLike, text: str) -> Path:
    """``write_text`` replacing what is there, whole or not at all: for files f5lab owns (its caches,
    the JSON files of a run folder it claimed, a sidecar), which a rerun overwrites without --force."""
    return write_text(path, text, force=True)


write_text_atomic = replace_text  # old name, for the CLI and the report runner until they are moved


def make_dirs(path: str | os.PathLike) -> Path:
    """An output folder (and its parents), created if missing; within a command, removed again if
    the command fails or leaves it empty."""
    s = current()
    if s is not None:
        return s.make_dirs(path)
    made = Session().make_dirs(path)  # outside a command: nothing to clean up after
    return made


def remove_tree(path: str | os.PathLike) -> None:
    """Remove a folder result f5lab made (a stale or re-run sweep point): only one with a marker or a
    ``done.json``, never a user's folder."""
    p = Path(path)
    if not p.exists():
        return
    if not ((p / INCOMPLETE).exists() or (p / "done.json").exists()):
        raise UndeclaredOutput(f"{p}: not a folder f5lab made; refusing to remove it")
    _remove(p)

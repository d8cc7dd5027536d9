"""The one way f5lab writes a file or a folder: claimed before any work, written aside, put in place whole.

Every file and folder any f5lab command writes goes through this package (``tests/test_outputs.py``
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

The parts, each a module of this package (this one re-exports every name, so ``outputs.<name>``
is the one way to use them): ``hidden`` (partial, lock and marker names and owners), ``running``
(signals and the open sessions), ``checks`` (refusals and one-line write errors), ``claims``
(a file and a unit of files), ``folders`` (folder results), ``sessions`` (a command's claims); the
writing API below is what library code calls.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from f5lab.outputs.checks import (Inputs, OutputError, UndeclaredOutput, _cannot_create_in, _check_name,  # noqa: F401
                                  _first_line, _is_write_failure, _refuse_input, check_output_dir,
                                  check_output_file, writing)
from f5lab.outputs.claims import _UMASK, FileClaim, Unit, _link_new, _set_mode, _take_lock  # noqa: F401
from f5lab.outputs.folders import FolderClaim, folder_state, incomplete, make_parents  # noqa: F401
from f5lab.outputs.hidden import (INCOMPLETE, LOCK_TAG, NAME_MAX, PARTIAL_TAG, YOUNG_LOCK_S, Partial,  # noqa: F401
                                  _alive, _owner_alive, _read_pid, _remove, _young, hidden_name, lock_of,
                                  name_limit, partial_of, remove_stale_partials, shown_bytes)
from f5lab.outputs.running import (_CURRENT, _DEFER, _PENDING, ENDING_SIGNALS, Interrupted,  # noqa: F401
                                   _signals_held, current, signals_raise)
from f5lab.outputs.sessions import (Declared, Session, _ambient, _own_folder, cache_dir, cache_root,  # noqa: F401
                                    session)


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
    return write_bytes(path, utf8_bytes(text), force=force, inputs=inputs, replace_if=replace_if)


def utf8_bytes(text: str) -> bytes:
    """``text`` as UTF-8, always: a file name's undecodable bytes (held by Python as lone surrogates,
    which UTF-8 cannot carry) written as ``\\xNN``, so a page or record about such a file is written
    and every reader opens it."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return shown_bytes(text).encode("utf-8")


def replace_text(path: str | os.PathLike, text: str) -> Path:
    """``write_text`` replacing what is there, whole or not at all: for files f5lab owns (its caches,
    the JSON files of a run folder it claimed, a sidecar), which a rerun overwrites without --force."""
    return write_text(path, text, force=True)




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


_SCRATCH: list[Path] = []


def scratch_folder(tag: str) -> Path:
    """A private temporary folder (mode 0700) for this process's own state that other programs keep
    under HOME (Jupyter's kernel connection files) when HOME cannot be written; removed at exit."""
    import atexit
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=f"f5lab-{tag}-"))
    if not _SCRATCH:
        atexit.register(lambda: [_remove(p) for p in _SCRATCH])
    _SCRATCH.append(folder)
    return folder


def usable_folder(path: str | os.PathLike) -> bool:
    """Whether a program could create ``path`` (or write in it): it, or its nearest existing
    ancestor, is a folder this process can write (a read-only HOME, one on a read-only mount, or
    HOME pointing at a file: not usable)."""
    p = Path(path)
    while not (p.exists() or p.is_symlink()):
        if p.parent == p:
            return False
        p = p.parent
    return p.is_dir() and os.access(p, os.W_OK | os.X_OK)


def resume_folder(path: str | os.PathLike) -> None:
    """A folder result a killed run left marked incomplete, whose content its command resumes (a
    sweep that wrote its plan): the stale marker is removed; a live writer's folder is refused."""
    p = Path(path)
    state = folder_state(p)
    if state.startswith("busy"):
        raise OutputError(errno.EBUSY, f"{p}: being written by another f5lab run ({state.split(':', 1)[1]}); wait "
                                       f"for it (if no such run is going on, delete {p / INCOMPLETE})")
    if state.startswith("stale"):
        _remove(p / INCOMPLETE)

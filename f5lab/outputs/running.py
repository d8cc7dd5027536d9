"""What is in force, process-wide, while a command runs: its signals and its open sessions.

SIGINT, SIGTERM and SIGHUP raise ``Interrupted`` (``signals_raise``) so partial files are removed;
a signal arriving while the files of one result are being put in place waits for the renames
(``_signals_held``); and the stack of open sessions (``current``) that a claim registers its lock
or folder with the moment it exists. Apart because it is global state that claims, folders and
sessions all read, while it imports nothing of theirs.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator

ENDING_SIGNALS = ("SIGTERM", "SIGHUP")


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


# -- open sessions -------------------------------------------------------------------------------
_CURRENT: list[Any] = []  # the open f5lab.outputs.sessions.Session objects, innermost last


def current() -> Any:  # the innermost open Session, or None
    return _CURRENT[-1] if _CURRENT else None

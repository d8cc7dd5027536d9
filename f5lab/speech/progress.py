"""Progress of synthesis, one update per flow step (NFE) and per rendering, with an ETA from the
step time measured so far.

On a CPU a full-scale rendering takes minutes; a bar that moves once per rendering (or once per
notebook cell) looks frozen. ``synthesize`` reports every ODE step of the backbone through the
active ``Progress`` (``f5lab.speech.grid.render_grid`` opens one for the whole grid, so the ETA
covers every rendering still to come); each update goes to the sinks that apply:

* the terminal (``f5lab synth``): one line on stderr, rewritten in place on a terminal and one
  line per update when piped;
* a side file named by ``$F5LAB_PROGRESS_FILE`` (set by the report's runner for its kernels): the
  latest state as JSON, which the runner reads to show the same line while a notebook runs;
* the notebook: a display line updated in place (at most once a second) and cleared at the end, so
  a stored notebook keeps no progress output.

f5-tts's own tqdm bars are never passed a live module: nothing else prints a bar.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from f5lab.units import duration

ENV_FILE = "F5LAB_PROGRESS_FILE"
_ACTIVE: list["Progress"] = []


@dataclass
class Progress:
    """Renderings to make (a label and an NFE each) and what has been measured so far."""

    renderings: list[tuple[str, int]]
    terminal: bool = False
    chunks: int = 1  # f5-tts calls per rendering (one per text chunk), each of NFE steps
    index: int = 0  # the rendering under way (0-based)
    step: int = 0  # steps done in it
    step_times: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    _sinks: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.terminal:
            self._sinks.append(TerminalSink())
        path = os.environ.get(ENV_FILE)
        if path:
            self._sinks.append(FileSink(path))
        notebook = NotebookSink.open()
        if notebook is not None:
            self._sinks.append(notebook)

    # -- what is known ------------------------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        return sum(n for _, n in self.renderings) * self.chunks

    @property
    def done_steps(self) -> int:
        return sum(n for _, n in self.renderings[:self.index]) * self.chunks + self.step

    @property
    def step_s(self) -> float | None:
        """Mean measured seconds of one step (the latest ten: a first step pays for warm-up)."""
        recent = self.step_times[-10:]
        return sum(recent) / len(recent) if recent else None

    @property
    def eta_s(self) -> float | None:
        return None if self.step_s is None else self.step_s * (self.total_steps - self.done_steps)

    def state(self) -> dict[str, Any]:
        label, steps = self.renderings[self.index] if self.index < len(self.renderings) else ("", 0)
        return {"rendering": self.index + 1, "renderings": len(self.renderings), "label": label,
                "step": self.step, "steps": steps * self.chunks, "done_steps": self.done_steps,
                "total_steps": self.total_steps, "step_s": self.step_s, "eta_s": self.eta_s,
                "elapsed_s": time.perf_counter() - self.started}

    # -- events ----------------------------------------------------------------------------------------
    def begin(self, index: int) -> None:
        """Rendering ``index`` (0-based) starts."""
        self.index, self.step = index, 0
        self._emit()

    def expect(self, chunks: int) -> None:
        """The text splits into ``chunks`` f5-tts calls: each rendering runs NFE steps per call."""
        self.chunks = max(1, int(chunks))
        self._emit()

    def on_step(self, seconds: float) -> None:
        """One ODE step of the backbone took ``seconds``."""
        self.step_times.append(seconds)
        self.step += 1
        self._emit()

    def close(self) -> None:
        for sink in self._sinks:
            sink.close(self.state())

    def _emit(self) -> None:
        state = self.state()
        for sink in self._sinks:
            sink.update(state)


def line(state: dict[str, Any]) -> str:
    """``rendering 1/2 F5TTS_Base fp32 NFE 16 · step 5/16 · 5.1 s per step · ETA 1 min 56 s``."""
    from f5lab.escaping import terminal

    head = f"rendering {state['rendering']}/{state['renderings']}"
    if state.get("label"):
        head += f" {terminal(state['label'], keep_newlines=False)}"
    parts = [head, f"step {state['step']}/{state['steps']}"]
    if state.get("step_s") is not None:
        parts.append(f"{duration(state['step_s'])} per step")
    if state.get("eta_s") is not None:
        parts.append(f"ETA {duration(state['eta_s'])}")
    return " · ".join(parts)


class TerminalSink:
    """One line on stderr: rewritten in place on a terminal, a new line per update when piped."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = 0

    def update(self, state: dict[str, Any]) -> None:
        text = line(state)
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, state: dict[str, Any]) -> None:
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


class FileSink:
    """The latest state, as JSON, in the file the report's runner follows (written atomically)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def update(self, state: dict[str, Any]) -> None:
        from f5lab.outputs import replace_text

        try:
            replace_text(self.path, json.dumps(state))
        except OSError:  # progress must never fail a rendering
            pass

    def close(self, state: dict[str, Any]) -> None:
        self.update({**state, "finished": True})


class NotebookSink:
    """A display line in the notebook, updated at most once a second and cleared at the end (a
    stored notebook keeps an empty display, identical run to run)."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.last, self.shown = handle, 0.0, False

    @classmethod
    def open(cls) -> "NotebookSink | None":
        try:
            from IPython import get_ipython
        except ImportError:
            return None
        shell = get_ipython()
        if shell is None or not hasattr(shell, "kernel"):
            return None
        from IPython.display import display

        return cls(display({"text/plain": ""}, raw=True, display_id=True))

    def update(self, state: dict[str, Any]) -> None:
        now = time.perf_counter()
        if now - self.last < 1.0:
            return
        self.last, self.shown = now, True
        self.handle.update({"text/plain": line(state)}, raw=True)

    def close(self, state: dict[str, Any]) -> None:
        if self.shown:
            self.handle.update({"text/plain": ""}, raw=True)


def active() -> Progress | None:
    return _ACTIVE[-1] if _ACTIVE else None


class tracking:
    """``with tracking(renderings, terminal=...) as p:`` makes ``p`` the progress synthesis reports to."""

    def __init__(self, renderings: Sequence[tuple[str, int]], terminal: bool = False) -> None:
        self.progress = Progress(list(renderings), terminal=terminal)

    def __enter__(self) -> Progress:
        _ACTIVE.append(self.progress)
        return self.progress

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE.remove(self.progress)
        self.progress.close()


class Silent:
    """What f5-tts's ``infer_batch_process`` gets as its ``progress`` module: ``tqdm`` that prints nothing."""

    @staticmethod
    def tqdm(iterable: Any, *_: Any, **__: Any) -> Any:
        return iterable

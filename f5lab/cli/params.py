"""What each command's parameters are, declared once on their click types, and the one place that
acts on the declaration before a command's body runs.

Outputs. A parameter that names something a command writes has type ``OutFile`` (one file) or
``OutDir`` (a folder that receives files or a run folder). ``guarded`` (called by
``friendly_errors`` around every command) opens an ``f5lab.outputs`` session with the command's
declared outputs and its inputs (every other path-like value), claims each declared file before
any work (so an input, an existing file without ``--force``, an unwritable folder or another run
writing the same path is refused in one line first), and any write outside the declaration is a
bug that fails loudly (``UndeclaredOutput``). ``tests/test_outputs.py`` walks every command's
declaration and tries each output against an input, an existing file, a full disk, two runs at
once and signals.

Values. Numbers are declared with their range (``click.IntRange``, ``Real``: finite, bounds shown
in ``--help``), a setting's taken from ``f5lab.settings.RANGES`` by ``ranged``; text with ``Text``
(UTF-8, no NUL, bounded length). ``check_values`` applies the same rules to every parameter
whatever its type, so a plain ``float``/``int``/``str`` option still refuses NaN, infinities, 10**30
or undecodable bytes in one line naming the option.
``tests/test_params.py`` generates values for every parameter of every command from these
declarations.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any, Iterator

import click

MAX_INT = 2**63 - 1  # what torch and numpy take; any int option is refused beyond it
MAX_TEXT_BYTES = 1_000_000  # a text option longer than this is not a sentence to speak


# -- values --------------------------------------------------------------------------------------------
class Real(click.FloatRange):
    """A finite number in a documented range (click's FloatRange lets NaN and infinities through)."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


def ranged(name: str) -> click.ParamType:
    """The click type of the numeric setting ``name``, from its bounds in ``f5lab.settings.RANGES``:
    one table for the options, the sweep file's schema and the library's own checks."""
    from f5lab.settings import RANGES

    r = RANGES[name]
    if r.integer:
        return click.IntRange(int(r.low), int(r.high))
    return Real(r.low, r.high, min_open=r.low_open)


class Text(click.ParamType):
    """Text typed on the command line: UTF-8 (no undecodable bytes), no NUL, at most ``max_bytes``."""

    name = "text"

    def __init__(self, max_bytes: int = MAX_TEXT_BYTES, allow_empty: bool = True) -> None:
        self.max_bytes = max_bytes
        self.allow_empty = allow_empty

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        problem = text_problem(value, self.max_bytes)
        if problem:
            self.fail(problem, param, ctx)
        if not self.allow_empty and not str(value).strip():
            self.fail("is empty (or only spaces)", param, ctx)
        return value


def text_problem(value: Any, max_bytes: int = MAX_TEXT_BYTES) -> str | None:
    """Why ``value`` is not usable text, or None."""
    if not isinstance(value, str):
        return None
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:  # argv bytes that are not UTF-8 arrive as lone surrogates
        bad = value[exc.start].encode("utf-8", "surrogateescape")
        return f"not UTF-8 text (byte {bad!r} at {exc.start})"
    if "\x00" in value:
        return "holds a NUL character"
    if size > max_bytes:
        return f"{size} bytes long, over the {max_bytes} accepted"
    return None


class FolderName(Text):
    """The name of a folder f5lab makes inside ``--out`` (``--run-id``, ``--sweep-id``): one path
    component, never a path (``../x`` or ``/abs`` would put the result outside ``--out``)."""

    name = "name"

    def __init__(self, max_bytes: int = 120) -> None:
        super().__init__(max_bytes=max_bytes, allow_empty=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        value = super().convert(value, param, ctx)
        problem = folder_name_problem(str(value))
        if problem:
            self.fail(problem, param, ctx)
        return value


def folder_name_problem(value: str) -> str | None:
    """Why ``value`` cannot name a folder inside --out, or None."""
    if "/" in value or "\\" in value or os.sep in value or (os.altsep and os.altsep in value):
        return f"{value!r} is a path; give a folder name (it is made inside --out)"
    if value.strip() in (".", "..") or value != value.strip():
        return f"{value!r} is not a folder name (no '.', '..' or surrounding spaces)"
    if value.startswith("-"):
        return f"{value!r} starts with '-'; give a folder name"
    if any(ord(ch) < 32 or ord(ch) == 0x7f for ch in value):
        return f"{value!r} holds a control character; give a folder name"
    return None


class ReadsConfig:
    """Marks a parameter whose file another library turns into objects (``f5lab_reads``): checked by
    ``f5lab.files.trusted`` when the command's options are parsed; ``tests/test_safety_configs.py``
    feeds every such parameter a config that names code to run."""

    f5lab_reads = "config"


class VocoderDir(ReadsConfig, click.Path):
    """A local vocos/BigVGAN folder: its config's class paths and arguments checked at once (the
    weights when the vocoder is built)."""

    f5lab_reads = "vocoder"

    def __init__(self) -> None:
        click.Path.__init__(self, path_type=str)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from f5lab.errors import F5LabError
        from f5lab.speech.vocoders import check_config

        value = super().convert(value, param, ctx)
        try:
            check_config(value)
        except F5LabError as exc:
            self.fail(str(exc), param, ctx)
        return value


class ModelDir(click.Path):
    """A local model folder an option names (``--asr-model-dir``): it exists and holds ``marker``
    (faster-whisper's ``model.bin``), checked when the options are parsed, never ignored."""

    def __init__(self, marker: str, what: str) -> None:
        super().__init__(exists=True, file_okay=False, path_type=str)
        self.marker, self.what = marker, what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        value = super().convert(value, param, ctx)
        if not (Path(value) / self.marker).is_file():
            self.fail(f"{value}: not a {self.what} folder (no {self.marker}); f5lab never downloads one", param, ctx)
        return value


class ConfigRef(ReadsConfig, click.ParamType):
    """``--config``: a config name, or the path of a YAML in f5-tts's format (checked by the one
    resolver, ``f5lab.model.configs.resolve_config``, when the command resolves it)."""

    name = "config"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        problem = text_problem(value)
        if problem:
            self.fail(problem, param, ctx)
        if _exists(str(value)) and os.path.isfile(str(value)):  # a YAML given: the one rule, now, used or not
            from f5lab.errors import F5LabError
            from f5lab.model.configs import load_config_file

            try:
                load_config_file(value)
            except F5LabError as exc:
                self.fail(str(exc), param, ctx)
        return value


def check_values(ctx: click.Context) -> None:
    """Every parameter's value against the rules that hold for all of them (finite numbers, ints
    within 64 bits, decodable text), whatever the type it was declared with."""
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        for item in value if isinstance(value, (tuple, list)) else (value,):
            problem = _value_problem(param, item)
            if problem:
                raise click.BadParameter(problem, ctx=ctx, param=param)


def _value_problem(param: click.Parameter, item: Any) -> str | None:
    if item is None or isinstance(item, bool):
        return None
    if isinstance(item, float) and not math.isfinite(item):
        return f"{item!r} is not a finite number"
    if isinstance(item, int) and abs(item) > MAX_INT:
        return f"{item} is out of range (at most {MAX_INT})"
    if isinstance(item, str) and not isinstance(param.type, click.Path):
        return text_problem(item)
    return None


# -- outputs -------------------------------------------------------------------------------------------
class OutFile(click.Path):
    """A file the command writes. ``force``: the flag that allows replacing an existing one;
    ``skip``: a flag under which nothing is written (``--dry-run``); ``companions``: files written
    beside it in the same unit (``{stem}``/``{name}`` filled in)."""

    f5lab_output = "file"

    def __init__(self, force: str | None = "force", skip: str | None = None, companions: tuple[str, ...] = (),
                 suffixes: tuple[str, ...] = ()) -> None:
        super().__init__(dir_okay=False, path_type=str)
        self.force, self.skip, self.companions, self.suffixes = force, skip, companions, suffixes

    def suffix_problem(self, value: str) -> str | None:
        """Why ``value`` does not name a file of the format written (``suffixes``), or None; checked
        by ``guarded`` once the output is claimed (an input given as the output is refused as such)."""
        if self.suffixes and Path(str(value)).suffix.lower() not in self.suffixes:
            return (f"{value!r}: the file is written as {' or '.join(s.lstrip('.').upper() for s in self.suffixes)}; "
                    f"give a name ending in {' or '.join(self.suffixes)}")
        return None


class OutDir(click.Path):
    """A folder the command writes into. ``files``: the names it writes there, claimed before any
    work as one unit; without them the command claims a folder inside (a report's run folder)."""

    f5lab_output = "dir"

    def __init__(self, files: tuple[str, ...] = (), force: str | None = "force", skip: str | None = None) -> None:
        super().__init__(file_okay=False, path_type=str)
        self.files, self.force, self.skip = files, force, skip


def declared_outputs(command: click.Command) -> list[click.Parameter]:
    """The parameters of ``command`` that name an output."""
    return [p for p in command.params if getattr(p.type, "f5lab_output", None)]


def _flag(ctx: click.Context, name: str | None) -> bool:
    return bool(name and ctx.params.get(name))


def _inputs(ctx: click.Context) -> list[str]:
    """Every path-like value that is not an output: input files and folders, and any other string
    that names an existing file (``--config my.yaml``, sweep sources)."""
    out = []
    for param in ctx.command.params:
        if getattr(param.type, "f5lab_output", None):
            continue
        value = ctx.params.get(param.name)
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, str) and item and (isinstance(param.type, click.Path) or _exists(item)):
                out.append(item)
    return out


def _exists(text: str) -> bool:
    try:
        return len(text) < 4096 and os.path.exists(text)
    except (OSError, ValueError):
        return False


def companion_paths(out: str, companions: tuple[str, ...]) -> list[Path]:
    p = Path(out)
    return [p.with_name(c.format(stem=p.stem, name=p.name)) for c in companions]


@contextlib.contextmanager
def guarded(ctx: click.Context | None) -> Iterator[Any]:
    """Check every value, then open the command's write session with its declared outputs claimed."""
    from f5lab import outputs

    if ctx is None or ctx.command is None:  # called outside click (a test calling the function)
        yield None
        return
    check_values(ctx)
    declared = outputs.Declared()
    files, dirs, force = [], [], False
    for param in declared_outputs(ctx.command):
        kind, value = param.type, ctx.params.get(param.name)
        if not value or _flag(ctx, kind.skip):
            continue
        force = force or _flag(ctx, kind.force)
        if kind.f5lab_output == "file":
            declared.files += [Path(value), *companion_paths(value, kind.companions)]
            files.append((Path(value), _flag(ctx, kind.force), param))
        else:
            declared.folders.append(Path(value))
            dirs.append((Path(value), _flag(ctx, kind.force), kind.files))
    with outputs.session(_inputs(ctx), force=False, declared=declared) as s:
        for path, forced, param in files:  # before any work: refused now, or ours until the end
            s.claim_file(path, force=forced)
            problem = param.type.suffix_problem(str(path))
            if problem:
                raise click.BadParameter(problem, ctx=ctx, param=param)
        for path, forced, names in dirs:
            outputs.check_output_dir(path)
            if names:  # a fixed set of files: the folder is made now (removed again if left empty)
                s.make_dirs(path)
                for name in names:
                    s.claim_file(path / name, force=forced)
        yield s

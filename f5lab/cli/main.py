"""The click plumbing of the ``f5lab`` command, in one small module: the group, the one place an
error becomes one line (``friendly_errors``, one-line usage errors), ``print_json``, and the old
spellings an option keeps for a release. The commands live with their views in one module per
stage (``files``, ``compat``, ``hardware``, ``speech``, ``reporting``); ``f5lab.cli`` imports them
all, so this group is whole whichever module a caller imports first.

User mistakes (F5LabError) print one line on stderr and exit 2; never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import click

from f5lab.errors import F5LabError
from f5lab.outputs import Interrupted


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The one place an error becomes a one-line message: F5LabError (and a missing/unreadable
    file) exit 2, a signal 128 + its number (docs/exit-codes.md). Also where every command's values
    are checked and its declared outputs claimed before its body runs (``f5lab.cli.params.guarded``).

    Library code raises F5LabError naming the file or option at the read site; the
    UnicodeDecodeError branch is only a last resort for a reader that forgot to."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from f5lab.cli.params import guarded

        try:
            with guarded(click.get_current_context(silent=True)):  # values checked, outputs claimed: then work
                return fn(*args, **kwargs)
        except F5LabError as exc:
            click.echo(f"f5lab: error: {_one_line(exc)}", err=True)
            sys.exit(getattr(exc, "exit_code", 2))
        except (OSError, MemoryError) as exc:
            click.echo(f"f5lab: error: {_one_line(exc)}", err=True)
            sys.exit(2)
        except UnicodeDecodeError as exc:
            click.echo(f"f5lab: error: a file is not UTF-8 text (byte {exc.start}); {exc.reason}", err=True)
            sys.exit(2)
        except Interrupted as exc:  # a signal: partials removed, one line, 128 + its number
            click.echo(f"f5lab: {_one_line(exc)}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("f5lab: interrupted (SIGINT)", err=True)
            sys.exit(130)

    return wrapper


def _one_line(exc: BaseException, limit: int = 2000) -> str:
    """One printable line: whitespace folded, undecodable bytes (lone surrogates) escaped, cut short."""
    from f5lab.escaping import one_line

    text = one_line(" ".join(str(exc).split()))  # a path's ESC, BEL or lone surrogate: shown as an escape
    text = text if len(text) <= limit else text[:limit] + " ..."
    return text or type(exc).__name__


def print_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


class _OneLineUsageError(click.UsageError):
    """A usage error shown as one line (the exit-code contract: 2 and one line naming the option)."""

    def show(self, file: Any = None) -> None:
        where = self.ctx.command_path if self.ctx is not None else "f5lab"
        message = _one_line(Exception(self.format_message()), limit=500)
        click.echo(f"f5lab: error: {message} (see {where} --help)", err=True)


# -- old spellings -------------------------------------------------------------------------------------
OLD_SPELLINGS = "f5lab.old_spellings"  # ctx.meta key: the old spellings given, in order


class OldSpelling(click.Option):
    """An option's old spelling, kept for one release: hidden from --help, parsed like the option
    ``new`` (declare it with the same type), its value handed to ``new`` with a one-line note on
    stderr; refused beside ``new``. ``new=None`` retires an option that has no successor: its value
    still reaches the command, ``note`` says why it goes. Declared with ``old_spelling``."""

    def __init__(self, *args: Any, new: str | None = None, note: str = "", **kwargs: Any) -> None:
        kwargs["hidden"] = True
        kwargs.setdefault("expose_value", new is None)
        super().__init__(*args, **kwargs)
        self.new, self.note = new, note

    def handle_parse_result(self, ctx: click.Context, opts: Any, args: list[str]) -> Any:
        value, args = super().handle_parse_result(ctx, opts, args)
        if self.name in opts:  # typed on the command line (a default is no reason for a note)
            ctx.meta.setdefault(OLD_SPELLINGS, []).append((self, value))
        return value, args


def old_spelling(old: str, new: str | None, note: str = "", name: str | None = None,
                 **like: Any) -> Callable[[Any], Any]:
    """The decorator for ``old``, the former name of ``new`` (``like``: ``new``'s type, multiple...).
    Its parameter gets a name of its own, so it never shadows ``new``'s; a retired option (``new``
    None) keeps ``name``, the command's parameter it fills."""
    name = name or "old_" + old.lstrip("-").replace("-", "_")
    return click.option(old, name, cls=OldSpelling, new=new, note=note, **like)


def apply_old_spellings(ctx: click.Context) -> None:
    """Hand each old spelling's value to its new option, with the note; once, after parsing."""
    from click.core import ParameterSource

    for old, value in ctx.meta.pop(OLD_SPELLINGS, []):
        spelt = old.opts[0]
        if old.new is None:
            click.echo(f"f5lab: note: {spelt} goes in the next release: {old.note}", err=True)
            continue
        new = next(p for p in ctx.command.params if old.new in getattr(p, "opts", ()))
        if ctx.get_parameter_source(new.name) == ParameterSource.COMMANDLINE:
            raise click.UsageError(f"give {old.new}, not both {old.new} and {spelt} (its old name)", ctx)
        ctx.params[new.name] = value
        ctx.set_parameter_source(new.name, ParameterSource.COMMANDLINE)
        click.echo(f"f5lab: note: {spelt} is now {old.new}; the old name goes in the next release", err=True)


class _Command(click.Command):
    """A command whose old option spellings reach their new names once its arguments are parsed."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        apply_old_spellings(ctx)
        return rest


class _Group(click.Group):
    """click's group, with usage errors (bad option values, missing arguments) in one line, and
    commands that take their options' old spellings (``_Command``)."""

    command_class = _Command

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise _one_line_usage(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line_usage(exc) from None


def _one_line_usage(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, _OneLineUsageError):
        return exc
    return _OneLineUsageError(exc.format_message(), ctx=exc.ctx)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="f5lab")
def main() -> None:
    """f5lab: know, fix, load, size and hear any F5-TTS / E2-TTS checkpoint.

    \b
    Typical session:
      f5lab demo-checkpoint demo.safetensors          # make a checkpoint to play with
      f5lab inspect model_last.safetensors            # what is it? (header only, < 1 s)
      f5lab inspect model_last.safetensors --json     # the same, machine-readable
      f5lab text --lang pt-BR "Custa R$ 5 às 14h."      # what the model reads (no model, no torch)
      f5lab report model_last.safetensors             # the main job: all of it, as a notebook report
      f5lab report                                    # the same on the built-in full-scale demo
    """



"""The ``f5lab`` command: one library call per subcommand, then a table or JSON.

User mistakes (F5LabError) print one line on stderr and exit 2; never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from f5lab.cli.params import OutDir, OutFile, Real, Text  # noqa: F401  (declarations on the parameters)
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
    text = " ".join(str(exc).split()).encode("utf-8", "backslashreplace").decode("utf-8")
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


class _Group(click.Group):
    """click's group, with usage errors (bad option values, missing arguments) in one line."""

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


class AliasedOption(click.Option):
    """An option that still accepts its old spellings (``old``) without showing them in --help:
    one option with several names, so click parses either into the same parameter and an error
    names the current spelling. ``@click.option("--vocab-from", "--vocab-src", cls=AliasedOption,
    old=("--vocab-src",))``."""

    def __init__(self, *args: Any, old: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.old = tuple(old)

    def _shown(self) -> list[str]:
        return [o for o in self.opts if o not in self.old]

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        opts = self.opts
        self.opts = self._shown()
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = opts

    def get_error_hint(self, ctx: click.Context | None) -> str:
        return " / ".join(f"'{o}'" for o in self._shown())


def _one_line_usage(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, _OneLineUsageError):
        return exc
    return _OneLineUsageError(exc.format_message(), ctx=exc.ctx)


# options shared by the commands that speak or score
LANG_CHOICE = click.Choice(["pt-BR", "en"], case_sensitive=False)
LANG_HELP = "Language of the texts: its normaliser (numbers, money, dates, times, units as words) and its WER."
NORMALIZE_HELP = ("Normalise the texts for --lang before f5-tts sees them (records keep both); --no-normalize "
                  "speaks them as written.")
ASR_CHOICES = ["auto", "pocketsphinx", "faster-whisper", "none"]
ASR_HELP = ("ASR for the word error rate: auto = pocketsphinx (offline, in its wheel) for English, and no WER for "
            "other languages (\"no WER: no ASR for pt offline\"); faster-whisper needs --asr-model-dir.")
ASR_DIR_HELP = "A local faster-whisper (CTranslate2) model directory, for --asr faster-whisper (never downloaded)."
ASR_LANGUAGE_HELP = "Language the ASR listens for, e.g. pt. [default: that of --lang]"
VOCODER_HELP = "Local vocos (config.yaml + pytorch_model.bin) or BigVGAN directory. Without it: Griffin-Lim."


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


# -- read / describe ----------------------------------------------------------------------------
@main.command()
@click.argument("path", type=click.Path(dir_okay=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--sha256", is_flag=True, help="Also hash the file (reads all of it: ~3 s per GB).")
@click.option("--config", default=None, help="Also rank this config (a name or the path of a YAML in f5-tts's "
              "format) beside the installed ones.")
@click.option("--configs", type=click.Choice(["shipped", "tiny"]), default="shipped", show_default=True,
              help="Catalogue of configs ('tiny' for `demo-checkpoint --scale tiny` files).")
@click.option("--write-config", "write_config", type=OutFile(), default=None,
              help="Write a complete f5-tts config for PATH here (shape facts from the file, the rest from the "
                   "closest shipped config; a comment on each value shapes cannot decide).")
@click.option("--force", is_flag=True, help="With --write-config: replace an existing file (once the new one is "
              "complete; never PATH).")
@click.option("--vocab", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="The vocab.txt the checkpoint was trained with: checked against its text embedding; with "
                   "--write-config it becomes the config's tokenizer_path (tokenizer: custom).")
@friendly_errors
def inspect(path: str, as_json: bool, sha256: bool, config: str | None, configs: str, write_config: str | None,
            force: bool, vocab: str | None) -> None:
    """Say what checkpoint PATH is, from its shapes alone: no weights are loaded.

    Reads the safetensors header (or a .pt's pickle through an allowlist, without torch),
    infers the architecture (backbone, dim, depth, ff_mult, text_dim, conv_layers,
    mel_dim, vocabulary rows) and ranks every config installed with f5-tts against it,
    naming for each non-match the first fact that disagrees.

    \b
    Example: the checkpoint a loader refused with "size mismatch ... [1024, 712]":
      f5lab inspect model_last.safetensors
    """
    from f5lab.model.inspection import inspect_checkpoint

    if write_config:
        from f5lab.model.inspection import write_own_config

        written, unsure = write_own_config(path, write_config, force=force, vocab=vocab)
        if as_json:
            print_json({"config": str(written), "check": unsure})
            return
        click.echo(f"wrote {written}: f5-tts's own loader builds {path} with it; check the values shapes cannot "
                   "decide:")
        for line in unsure:
            click.echo(f"  {line}")
        click.echo(f"use it: --config {written} (diagnose, remap, verify, matrix, profile, synth, probe, report)")
        return
    result = inspect_checkpoint(path, sha256=sha256, catalogue=_catalogue(configs), config=config, vocab=vocab)
    if as_json:
        print_json(result.to_dict())
    else:
        from f5lab.cli.views import show_inspection

        show_inspection(result)


@main.command("demo-checkpoint")
@click.argument("out", required=False, type=OutFile(skip="list_layouts", companions=("{stem}_vocab.txt",)))
@click.option("--config", default="F5TTS_Base", show_default=True, help="Shipped f5-tts config to build.")
@click.option("--layout", default="release_safetensors", show_default=True,
              help="Container layout; see --list-layouts.")
@click.option("--scale", type=click.Choice(["tiny", "full"]), default="tiny", show_default=True,
              help="tiny: a few MB for tests; full: the config's real size (1.35 GB for F5TTS_Base).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True)
@click.option("--force", is_flag=True, help="Replace OUT if it exists (once the new one is complete).")
@click.option("--list-layouts", is_flag=True, help="List the layouts and exit.")
@friendly_errors
def demo_checkpoint(out: str | None, config: str, layout: str, scale: str, seed: int, force: bool,
                    list_layouts: bool) -> None:
    """Write a random-weight checkpoint OUT built from the real f5-tts classes.

    Weights are random (seeded): it loads, runs and is measured like a real one, but
    speaks noise. Use it to try f5lab, to reproduce a loading error, or to benchmark.
    """
    from f5lab.errors import ConfigError
    from f5lab.testing.fixtures import LAYOUTS, build_checkpoint, check_suffix

    if list_layouts:
        for name, what in LAYOUTS.items():
            click.echo(f"{name:28s} {what}")
        return
    if not out:
        raise ConfigError("give the output path, e.g. f5lab demo-checkpoint demo.safetensors")
    if layout in LAYOUTS:
        check_suffix(Path(out), layout)  # safetensors bytes under a .pt name would read as a bad pickle
    # OUT was claimed before this body ran (f5lab.cli.params): written aside, put in place whole
    fixture = build_checkpoint(out, config=config, layout=layout, scale=scale, seed=seed, force=force)
    click.echo(f"wrote {fixture.path} ({fixture.config}, {fixture.layout}, {fixture.scale})")
    if fixture.vocab_path:
        click.echo(f"wrote {fixture.vocab_path} (its vocabulary)")


@main.command()
@friendly_errors
def demo() -> None:
    """Build (once, cached) a full-scale F5TTS_Base checkpoint and inspect it."""
    from f5lab.testing.demo import demo_checkpoint
    from f5lab.model.inspection import inspect_checkpoint
    from f5lab.cli.views import show_inspection

    click.echo("building/locating the demo checkpoint (full-scale F5TTS_Base, random weights)...")
    show_inspection(inspect_checkpoint(demo_checkpoint()))


# -- diagnose / remap / verify / matrix --------------------------------------------------
@main.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--config", default=None, help="Also compare with this config (the one your loader used): a name "
              "or the path of a YAML in f5-tts's format.")
@click.option("--error-file", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="Explain the text of a failed load_state_dict instead (no checkpoint needed).")
@click.option("--vocab", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="The vocab.txt the checkpoint was trained with (default: the config's tokenizer_path, "
                   "else f5-tts's).")
@click.option("--configs", type=click.Choice(["shipped", "tiny"]), default="shipped", show_default=True,
              help="Catalogue of configs ('tiny' for `demo-checkpoint --scale tiny` files).")
@click.option("--ema/--raw", "use_ema", default=True, show_default=True,
              help="Which weights of a trainer file to check (EMA: what inference uses).")
@click.option("--base", "bases", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="A base checkpoint PATH may descend from (repeatable): lineage settles configs the shapes "
                   "cannot tell apart (reads the weights; see f5lab lineage).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def diagnose(path: str | None, config: str | None, error_file: str | None, vocab: str | None, configs: str,
             use_ema: bool, bases: tuple[str, ...], as_json: bool) -> None:
    """Say why PATH does not load under a config: cause, evidence, fix.

    Compares the checkpoint key by key with the best-matching installed config and with
    --config, grouping keys ("every transformer.layers.* missing") and proving each cause
    with numbers (712 = 2 x 100 mel + 512 text_dim). Fixes are a config name, a vocab
    file, an `f5lab remap` command, or "cannot be fixed by remapping" when that is true.
    Exit code 1 when it does not load as asked (or the error text shows why it failed).

    \b
    Examples:
      f5lab diagnose model_last.safetensors --config E2TTS_Base
      f5lab diagnose --error-file load_error.log     # only the error text at hand
    """
    from f5lab.errors import ConfigError
    from f5lab.cli.views import show_diagnosis

    if error_file:
        from f5lab.compat.diagnose import explain_load_error, read_error_text

        result = explain_load_error(read_error_text(error_file))
        if result.codes() == ["unrecognised"]:  # a verdict of "loads" from a text that shows no error is wrong
            raise ConfigError(f"{error_file}: no load_state_dict error in it (missing/unexpected keys, size "
                              "mismatches, KeyError); save the whole message, from 'Error(s) in loading state_dict'")
    elif path:
        from f5lab.compat.diagnose import diagnose as run_diagnose

        found = None
        if bases:  # the weights are read only when asked: diagnose itself reads shapes
            from f5lab.compat.lineage import lineage as run_lineage

            found = run_lineage(path, list(bases), vocab=vocab, catalogue=_catalogue(configs))
        result = run_diagnose(path, config=config, vocab=vocab, catalogue=_catalogue(configs), use_ema=use_ema,
                              lineage=found)
    else:
        raise ConfigError("give a checkpoint PATH or --error-file LOG")
    print_json(result.to_dict()) if as_json else show_diagnosis(result)
    if not result.ok:
        sys.exit(1)


@main.command()
@click.argument("src", type=click.Path(dir_okay=False, path_type=str))
@click.argument("dst", type=OutFile(skip="dry_run"))
@click.option("--config", required=True, help="The f5-tts config the output must load under: a name (e.g. "
              "F5TTS_Base) or the path of a YAML in f5-tts's format (recorded in DST).")
@click.option("--vocab-from", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="vocab.txt SRC was trained with (default: the config's tokenizer_path, else f5-tts's).")
@click.option("--vocab-to", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="Move the text embedding rows onto this vocab.txt, by token.")
@click.option("--new-rows", type=click.Choice(["mean", "randn"]), default="mean", show_default=True,
              help="Rows for tokens only --vocab-to has: mean of trained rows, or f5-tts's randn (seed 666).")
@click.option("--dtype", type=click.Choice(["fp32", "fp16", "bf16"]), default=None, help="Cast float tensors.")
@click.option("--ema/--raw", "use_ema", default=True, show_default=True, help="Which weights of a trainer file.")
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--no-verify", is_flag=True, help="Skip the check that DST computes what SRC computes.")
@click.option("--force", is_flag=True, help="Replace DST if it exists (never SRC).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan (and verification) as JSON.")
@click.option("--configs", type=click.Choice(["shipped", "tiny"]), default="shipped", show_default=True,
              help="Catalogue of configs ('tiny' for `demo-checkpoint --scale tiny` files).")
@friendly_errors
def remap(src: str, dst: str, config: str, vocab_from: str | None, vocab_to: str | None, new_rows: str,
          dtype: str | None, use_ema: bool, dry_run: bool, no_verify: bool, force: bool, as_json: bool,
          configs: str) -> None:
    """Rewrite SRC as a release .safetensors DST that CONFIG loads strictly.

    Plans first (EMA weights, wrapper prefixes stripped, obsolete buffers and training state
    dropped, vocabulary rows moved by token, dtype cast), then streams tensor by tensor into
    a temporary file renamed onto DST; provenance goes into the file's metadata. Then it
    verifies DST against SRC (tensors and a seeded forward pass) unless --no-verify.

    \b
    Examples:
      f5lab remap model_1200.pt model.safetensors --config F5TTS_Base --dry-run
      f5lab remap ft.safetensors ft_pt.safetensors --config F5TTS_Base \\
          --vocab-from ft_vocab.txt --vocab-to pt_vocab.txt --dtype fp16
    """
    from f5lab.compat.remap import check_destination, execute_plan, plan_remap
    from f5lab.cli.views import show_plan, show_verification

    if not dry_run:
        check_destination(src, dst, force)  # refuse before any work
    plan = plan_remap(src, config, vocab_from=vocab_from, vocab_to=vocab_to, dtype=dtype, use_ema=use_ema,
                      new_rows=new_rows, catalogue=_catalogue(configs))
    if dry_run:
        print_json(plan.to_dict()) if as_json else show_plan(plan, dry_run=True)
        return
    if not as_json:
        show_plan(plan)
    out = execute_plan(plan, dst, force=force, progress=not as_json)
    report: dict[str, Any] = {"plan": plan.to_dict(), "dst": str(out)}
    if not as_json:
        click.echo(f"wrote {out}")
    if not no_verify:
        from f5lab.compat.loading import verify as run_verify

        check = run_verify(src, out, config=config, vocab_src=vocab_from, vocab_dst=vocab_to, use_ema=use_ema,
                           catalogue=_catalogue(configs))
        report["verification"] = check.to_dict()
        if not as_json:
            show_verification(check)
        if not check.ok:
            print_json(report) if as_json else None
            sys.exit(1)
    if as_json:
        print_json(report)


@main.command()
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.argument("dst", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--config", default=None, help="Config of both: a name or a YAML path (default: recorded in DST, "
              "or inferred).")
@click.option("--vocab-from", "--vocab-src", "vocab_from", cls=AliasedOption, old=("--vocab-src",),
              type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="SRC's vocab.txt (remap's --vocab-from).")
@click.option("--vocab-to", "--vocab-dst", "vocab_to", cls=AliasedOption, old=("--vocab-dst",),
              type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="DST's vocab.txt (remap's --vocab-to).")
@click.option("--ema/--raw", "use_ema", default=True, show_default=True, help="Which weights of SRC.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Seed of the forward pass inputs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--configs", type=click.Choice(["shipped", "tiny"]), default="shipped", show_default=True,
              help="Catalogue of configs ('tiny' for `demo-checkpoint --scale tiny` files).")
@friendly_errors
def verify(src: str, dst: str, config: str | None, vocab_from: str | None, vocab_to: str | None, use_ema: bool,
           seed: int, as_json: bool, configs: str) -> None:
    """Prove DST computes what SRC computes: equal tensors, one seeded forward pass.

    Tensors must be equal (after DST's dtype cast; shared tokens' rows bit-identical after a
    vocabulary remap) and the transformer's output identical for fp32, within a printed
    bound for fp16/bf16. One model in memory at a time, built on the memory-mapped file
    (about the f5-tts import's RAM + the file's size; see docs/verify.md).

    Exit codes: 0 verified; 1 not verified (the reason is printed, e.g. DST is another
    model); 2 bad input (e.g. a vocabulary remap checked without --vocab-from/--vocab-to).

    \b
    Examples:
      f5lab verify model_1200.pt model.safetensors
      f5lab verify ft.safetensors ft_pt.safetensors --vocab-from ft_vocab.txt --vocab-to pt_vocab.txt
    """
    from f5lab.compat.loading import verify as run_verify
    from f5lab.cli.views import show_verification

    check = run_verify(src, dst, config=config, vocab_src=vocab_from, vocab_dst=vocab_to, use_ema=use_ema, seed=seed,
                       catalogue=_catalogue(configs))
    print_json(check.to_dict()) if as_json else show_verification(check)
    if not check.ok:
        sys.exit(1)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--vocab", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="The vocab.txt the checkpoint was trained with.")
@click.option("--config", default=None, help="Also a row for this config: a name or the path of a YAML in "
              "f5-tts's format.")
@click.option("--configs", type=click.Choice(["shipped", "tiny"]), default="shipped", show_default=True,
              help="Catalogue of configs ('tiny' for `demo-checkpoint --scale tiny` files).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (with each loadable row's f5-tts code).")
@friendly_errors
def matrix(path: str, vocab: str | None, config: str | None, configs: str, as_json: bool) -> None:
    """Every installed config x PATH: loads as is / loads after remap (which plan) / cannot (why).

    "loads" means f5-tts's own loader accepts the file unchanged under that config. With --json,
    each row that loads carries `code`: the Python that loads the file in f5-tts without f5lab,
    and `remap_command`, the remap to run once first when f5-tts refuses the file as stored.

    \b
    Example:
      f5lab matrix model_last.safetensors --json
    """
    from f5lab.compat.loading import compatibility_matrix
    from f5lab.cli.views import show_matrix

    rows = compatibility_matrix(path, vocab=vocab, catalogue=_catalogue(configs), config=config)
    print_json([r.to_dict() for r in rows]) if as_json else show_matrix(rows, path)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--base", "bases", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="A base checkpoint it may descend from (repeatable). [default: f5-tts's checkpoints in the "
                   "local Hugging Face cache, never downloaded]")
@click.option("--vocab", type=click.Path(dir_okay=False, path_type=str),
              help="vocab.txt of PATH (default: one beside it, else f5-tts's when its rows fit).")
@click.option("--base-vocab", type=click.Path(dir_okay=False, path_type=str),
              help="vocab.txt of the bases (default: one beside each, else f5-tts's when the rows fit).")
@click.option("--configs", type=click.Choice(["shipped", "tiny"]), default="shipped", show_default=True,
              help="Catalogue the bases' shapes are ranked against ('tiny' for `demo-checkpoint --scale tiny`).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def lineage(path: str, bases: tuple[str, ...], vocab: str | None, base_vocab: str | None, configs: str,
            as_json: bool) -> None:
    """Which base checkpoint PATH was fine-tuned from, and what fine-tuning changed.

    F5TTS_Base (v0) and F5TTS_v1_Base have the same shapes; a fine-tune stays close to the
    weights it started from. Every tensor of PATH is compared with each base's (EMA weights,
    canonical keys, text-embedding rows by token), one pair at a time: relative distance
    ||a-b||/||b|| and cosine, per block and over the model. The nearest base wins when it is
    at most 0.7 away (unrelated weights: 1.41) and the next base at least twice as far.

    Exit codes: 0 a verdict; 1 no verdict; 2 bad input, or no base given and none in the cache.

    \b
    Examples:
      f5lab lineage model_last.safetensors                  # against the bases in the HF cache
      f5lab lineage model_last.pt --base F5TTS_Base/model_1200000.safetensors \\
          --base F5TTS_v1_Base/model_1250000.safetensors --vocab my_vocab.txt --json
    """
    from f5lab.compat.lineage import lineage as run_lineage

    result = run_lineage(path, list(bases) or None, vocab=vocab, base_vocab=base_vocab, catalogue=_catalogue(configs))
    if as_json:
        print_json(result.to_dict())
    else:
        from f5lab.cli.views import show_lineage

        show_lineage(result)
    if not result.decided:
        sys.exit(1)


# -- report ----------------------------------------------------------------------------
@main.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--config", default=None, help="Config to diagnose PATH against, e.g. the one your service "
              "used: a name or the path of a YAML in f5-tts's format. [default: none; the report says which "
              "config loads PATH; the built-in demo names E2TTS_Base]")
@click.option("--ref-audio", type=click.Path(dir_okay=False, path_type=str),
              help="Reference clip for synthesis and the probe. [default: f5-tts's basic_ref_en.wav]")
@click.option("--ref-text", type=Text(allow_empty=False), help="Transcript of --ref-audio (give both or neither).")
@click.option("--gen-text", type=Text(allow_empty=False), default=None,
              help="Text to synthesise. [default: a short sentence in --lang]")
@click.option("--lang", default="en", show_default=True, type=LANG_CHOICE, metavar="[pt-BR|en]", help=LANG_HELP)
@click.option("--normalize/--no-normalize", default=True, show_default=True, help=NORMALIZE_HELP)
@click.option("--gpu", default="GTX 1050 Ti", show_default=True, help="GPU the verdicts (runs? memory, speed) are for.")
@click.option("--torch", "torch_spec", default=None, metavar="VERSION+BUILD", help="Judge the GPU under this torch "
              "build instead of the installed one, e.g. 2.6.0+cu124 (from f5lab's table of PyTorch's builds).")
@click.option("--nfe", type=click.IntRange(1, 1000), default=None, help="Flow-matching steps for synthesis. [default: 32, "
              "f5-tts's own; the demo uses 4 to stay quick on a CPU]")
@click.option("--vocab", type=click.Path(dir_okay=False, path_type=str), help="vocab.txt of an "
              "extended-vocabulary fine-tune.")
@click.option("--configs", type=click.Choice(["auto", "shipped", "tiny"]), default="auto", show_default=True,
              help="Catalogue to rank against: shipped configs, or them shrunk for --scale tiny checkpoints.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Seed for synthesis and measurements.")
@click.option("--asr", type=click.Choice(ASR_CHOICES), default="auto", show_default=True, help=ASR_HELP)
@click.option("--asr-model-dir", type=click.Path(path_type=str), default=None, help=ASR_DIR_HELP)
@click.option("--language", "asr_language", default=None, help=ASR_LANGUAGE_HELP)
@click.option("--vocoder", type=click.Path(path_type=str), default=None, help=VOCODER_HELP)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True,
              help="Where synthesis, the probe and the measurement run (cpu, as in every f5lab command; auto: "
                   "the GPU if torch sees one). See docs/synthesis.md#devices.")
@click.option("--out", default="reports", show_default=True, type=OutDir(),
              help="Folder that receives <run-id>/.")
@click.option("--run-id", type=Text(max_bytes=120, allow_empty=False), default=None,
              help="Name of the run folder (refused if taken). [default: UTC date-time, -2, -3... if taken]")
@click.option("--notebook", "notebooks", multiple=True, help="Run only this notebook (repeatable), "
              "e.g. --notebook 01_inspect.")
@click.option("--base", "bases", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="A base checkpoint PATH may descend from, for lineage (repeatable). [default: f5-tts's "
                   "checkpoints in the local Hugging Face cache]")
@friendly_errors
def report(path: str | None, config: str | None, ref_audio: str | None, ref_text: str | None,
           gen_text: str | None, lang: str, normalize: bool, gpu: str, torch_spec: str | None, nfe: int | None,
           vocab: str | None, configs: str, seed: int, asr: str, asr_model_dir: str | None, asr_language: str | None,
           vocoder: str | None, device: str, out: str, run_id: str | None, notebooks: tuple[str, ...],
           bases: tuple[str, ...]) -> None:
    """Run the report notebooks on checkpoint PATH into OUT/<run-id>/ (exit 1 if one fails).

    Executes notebooks/01_inspect, 02_compatibility, 03_memory and 04_synthesis with
    papermill, then writes their HTML, summary.json (every number shown, with units),
    manifest.json (versions, device, seeds, checkpoint sha256) and index.html.

    With PATH and no --config it says which config loads PATH (as stored or after a remap);
    --config names the one your service tried: the report says whether it loads PATH, why not. A
    checkpoint no shipped config builds gets a config from its shapes, written into the run
    folder and used by every notebook.

    Without PATH it runs the built-in demo: a full-scale F5TTS_Base checkpoint with
    random weights (built once, cached), diagnosed against E2TTS_Base (it loads as stored
    under F5TTS_Base, so nothing is remapped), profiled for the GTX 1050 Ti and synthesised
    (NFE 2 and 4) from f5-tts's shipped reference clip; its audio is noise, as random
    weights make. index.html opens with the answer; report.html is all of it in one file.

    \b
    Examples:
      f5lab report                                         # the demo, under 10 min on 2 CPU cores
      f5lab report model_last.safetensors                  # which config loads it, and the rest
      f5lab report model_last.safetensors --config E2TTS_Base \\
          --ref-audio me.wav --ref-text "What I say in me.wav." --gpu "GTX 1050 Ti"
      f5lab report model_last.safetensors --lang pt-BR --ref-audio eu.wav --ref-text "O que digo." \\
          --vocoder vocos-mel-24khz/ --asr faster-whisper --asr-model-dir whisper-small-ct2/ --language pt
    """
    from f5lab.reporting.reports import run_report

    result = run_report(path, config=config, ref_audio=ref_audio, ref_text=ref_text, gen_text=gen_text,
                        gpu=gpu, out=out, run_id=run_id, configs=configs, vocab=vocab, nfe=nfe, seed=seed,
                        asr=None if asr == "none" else asr, device=device, notebooks=list(notebooks) or None,
                        lang=lang, normalize=normalize, vocoder=vocoder, asr_model_dir=asr_model_dir,
                        asr_language=asr_language, bases=list(bases) or None, torch_build=torch_spec,
                        echo=click.echo)
    for r in result.results:
        click.echo(f"  {r.name:18s} {r.status:6s} {r.seconds:7.1f} s" + (f"  {r.error}" if r.error else ""))
    from f5lab.cli.views import show_answer

    show_answer(result.summary["answer"])
    click.echo(f"report: {result.index}")
    if not result.ok:
        click.echo(f"f5lab: {len(result.failed)} notebook(s) failed: {', '.join(result.failed)}", err=True)
        sys.exit(1)


# -- sweep ----------------------------------------------------------------------------
@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--ref-audio", type=click.Path(dir_okay=False, path_type=str),
              help="Reference clip for synthesis and speaker similarity. [default: f5-tts's basic_ref_en.wav]")
@click.option("--ref-text", type=Text(allow_empty=False), help="Transcript of --ref-audio (give both or neither).")
@click.option("--gen-text", multiple=True, type=Text(allow_empty=False), help="Text to synthesise (repeatable: a grid axis).")
@click.option("--val-audio", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="Held-out clip for the validation loss (repeatable). [default: the reference clip]")
@click.option("--val-text", multiple=True, type=Text(allow_empty=False), help="Transcript of each --val-audio, in order.")
@click.option("--config", multiple=True, help="Config the checkpoints were trained under (repeatable: an axis). "
              "[default: one config for every point, decided once: the shapes, else lineage (--base), else the "
              "behavioural probe when it clears its 5% bar; else the sweep asks for --config]")
@click.option("--nfe", multiple=True, type=click.IntRange(1, 1000),
              help="Flow-matching steps (repeatable: an axis). [default: 32]")
@click.option("--dtype", multiple=True, type=click.Choice(["fp32", "fp16", "bf16"]),
              help="Weights dtype for synthesis (repeatable: an axis). [default: fp32]")
@click.option("--device", multiple=True, type=click.Choice(["cpu", "cuda"]),
              help="Where a point runs (repeatable: an axis); cuda points ask Dask for a GPU. [default: cpu]")
@click.option("--configs", type=click.Choice(["auto", "shipped", "tiny"]), default=None,
              help="Config catalogue (tiny: `demo-checkpoint --scale tiny` files). [default: auto]")
@click.option("--loss-samples", type=click.IntRange(1, 10_000), default=None,
              help="Paired noise/time samples per held-out clip. [default: 4]")
@click.option("--asr", type=click.Choice(ASR_CHOICES), default=None, help=ASR_HELP + " [default: auto]")
@click.option("--asr-model-dir", type=click.Path(path_type=str), default=None, help=ASR_DIR_HELP)
@click.option("--language", "asr_language", default=None, help=ASR_LANGUAGE_HELP)
@click.option("--lang", default=None, type=LANG_CHOICE, metavar="[pt-BR|en]", help=LANG_HELP + " [default: en]")
@click.option("--normalize/--no-normalize", default=None, help=NORMALIZE_HELP + " [default: normalize]")
@click.option("--vocoder", type=click.Path(path_type=str), default=None, help=VOCODER_HELP)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="Seed of noise, times and synthesis. [default: 0]")
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True,
              help="Local Dask worker processes (1 thread each).")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 "
              "(workers must see the --out folder).")
@click.option("--notebook", "notebooks", multiple=True, help="Point notebook to run (repeatable). "
              "[default: sweep_point; 01_inspect / 03_memory run once per architecture]")
@click.option("--out", default="reports", show_default=True, type=OutDir(),
              help="Folder that receives <sweep-id>/.")
@click.option("--sweep-id", type=Text(max_bytes=120, allow_empty=False), default=None, help="Name of the sweep folder. [default: <name>-<hash of the "
              "points>, so re-running the same sweep resumes it]")
@click.option("--no-compare", is_flag=True, help="Skip the 05_sweep comparison notebook.")
@click.option("--base", "bases", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="A base checkpoint the run was fine-tuned from, for lineage to decide the config (repeatable). "
                   "[default: f5-tts's checkpoints in the local Hugging Face cache]")
@friendly_errors
def sweep(sources: tuple[str, ...], ref_audio: str | None, ref_text: str | None, gen_text: tuple[str, ...],
          val_audio: tuple[str, ...], val_text: tuple[str, ...], config: tuple[str, ...], nfe: tuple[int, ...],
          dtype: tuple[str, ...], device: tuple[str, ...], configs: str | None, loss_samples: int | None, asr: str,
          asr_model_dir: str | None, asr_language: str | None, lang: str | None, normalize: bool | None,
          vocoder: str | None, seed: int | None, workers: int, scheduler: str | None, notebooks: tuple[str, ...],
          out: str, sweep_id: str | None, no_compare: bool, bases: tuple[str, ...]) -> None:
    """Compare checkpoints and settings: SOURCES are checkpoints, folders, globs or one sweep.yaml.

    Every checkpoint x --config x --nfe x --dtype x --device x --gen-text is a point; each
    point runs in its own Jupyter kernel on Dask (a local cluster of --workers processes, or
    --scheduler) into OUT/<sweep-id>/<point-id>/. Re-running the same sweep skips the points
    already done with the same inputs; Ctrl-C keeps finished points. Exit 1 if a point failed
    or is missing, 130 when interrupted.

    Without --config every point runs under one config, decided once before any point runs:
    the only config the shapes fit, else lineage (against --base), else the behavioural probe
    on the last checkpoint when it clears its 5% bar; else the sweep stops (exit 2) and asks for
    --config. index.html says how, and plays each rendering beside the reference, the previous
    checkpoint's and the best one's.

    \b
    Examples:
      f5lab sweep runs/my_finetune/ --config F5TTS_v1_Base --ref-audio clip.wav \\
          --ref-text "What I say in clip.wav." --val-audio held.wav --val-text "..." --workers 2
      f5lab sweep model_last.pt --nfe 8 --nfe 16 --nfe 32 --dtype fp32 --dtype fp16 --device cuda
      f5lab sweep sweep.yaml --scheduler tcp://login-node:8786
    """
    from f5lab.errors import ConfigError
    from f5lab.speech.synth import check_settings
    from f5lab.reporting.sweep import run_sweep, spec_from_options

    if seed is not None:
        check_settings(seed=seed)  # before a cluster starts and every point fails on it
    if loss_samples is not None and loss_samples < 1:
        raise ConfigError(f"--loss-samples must be at least 1 (got {loss_samples})")
    spec = spec_from_options(list(sources), ref_audio=ref_audio, ref_text=ref_text, gen_text=gen_text,
                             val_audio=val_audio, val_text=val_text, config=config, nfe=nfe, dtype=dtype,
                             device=device, configs=configs, loss_samples=loss_samples,
                             asr=asr, seed=seed, lang=lang, normalize=normalize, vocoder=vocoder,
                             asr_model_dir=asr_model_dir, asr_language=asr_language, bases=list(bases) or None)
    result = run_sweep(spec, out=out, sweep_id=sweep_id, workers=workers, scheduler=scheduler,
                       notebooks=list(notebooks) or None, compare=not no_compare, echo=click.echo)
    from f5lab.reporting.comparison import tie_text

    for b in result.summary["best"].values():
        value = f"{b['value'] / 2**20:.1f} MiB" if b["unit"] == "bytes" else f"{b['value']:.4g} {b['unit']}"
        click.echo(f"  best {b['label']:26s} {b['point']}  ({value})")
    for key, t in result.summary.get("tied", {}).items():
        click.echo(f"  no best {t['label']}: {tie_text(key, t)}")
    click.echo(f"sweep: {result.index}")
    if result.interrupted:
        import signal

        name = signal.Signals(result.interrupted).name
        click.echo(f"f5lab: interrupted by {name}; finished points are kept, re-run the same command to resume",
                   err=True)
        sys.exit(128 + result.interrupted)
    if not result.ok:
        s = result.summary
        click.echo(f"f5lab: failed: {', '.join(s['failed']) or 'none'}; missing: {', '.join(s['missing']) or 'none'}",
                   err=True)
        sys.exit(1)


# -- will it run: the stack, memory, speed (issue 17) ----------------------------------------------
TORCH_HELP = ("Judge this torch build instead of the installed one, e.g. 2.6.0+cu124 or 2.8.0+cu128 (the user's "
              "Docker image); from f5lab's table of PyTorch's published builds, 2.4 to 2.11.")


@main.command()
@click.option("--gpu", "gpus", multiple=True, help="Target GPU (repeatable; default: the GPUs present, else the "
              "whole catalogue). E.g. --gpu 'GTX 1050 Ti' --gpu T4.")
@click.option("--torch", "torch_spec", default=None, metavar="VERSION+BUILD", help=TORCH_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def doctor(gpus: tuple[str, ...], torch_spec: str | None, as_json: bool) -> None:
    """Will F5-TTS run on these GPUs under this torch? Needs no GPU.

    Reports torch (version, CUDA / ROCm / CPU build, compiled SASS sm_XY and PTX compute_XY),
    torchaudio (and whether it matches torch), f5-tts, and the GPUs present with their driver
    (nvidia-smi, else torch.cuda). For each target: kernels yes/no with the rule that decides it
    (SASS sm_X.y runs on cc X.z with z >= y; PTX compute_X.y JIT-compiles on cc >= X.y), the driver
    minimum of the build's CUDA, fp16 (fast, slow, NaN reports), the attention kernels, memory and
    speed for F5TTS_Base at 10 s per call, and the install line that fixes missing kernels.
    Exit 0 when every target runs, 1 when one does not (or cannot be judged), 2 bad input.

    \b
    Examples:
      f5lab doctor --gpu "GTX 1050 Ti"                   # PyPI's torch 2.11 (cu130) has no sm_61
      f5lab doctor --torch 2.6.0+cu124 --gpu "GTX 1050 Ti" --json
    """
    from f5lab.hardware.doctor import doctor as run_doctor

    result = run_doctor(gpus, torch_spec)
    if as_json:
        print_json(result.to_dict())
    else:
        from f5lab.cli.views import show_doctor

        show_doctor(result.to_dict(), result.runs)
    if not result.ok:
        sys.exit(1)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--gpu", "gpus", multiple=True, help="GPU name (repeatable; default: the whole catalogue). "
              "E.g. --gpu 'GTX 1050 Ti' --gpu T4. An unknown name lists the known ones.")
@click.option("--torch", "torch_spec", default=None, metavar="VERSION+BUILD", help=TORCH_HELP)
@click.option("--dtype", type=click.Choice(["auto", "fp32", "fp16", "bf16"]), default="auto", show_default=True,
              help="auto: what f5-tts picks on each card (fp16 from compute capability 7.0, else fp32).")
@click.option("--seconds", type=Real(0, 600, min_open=True), default=10.0, show_default=True,
              help="Audio generated per call (one chunk).")
@click.option("--ref-seconds", type=Real(0, 60), default=0.0, show_default=True,
              help="Reference clip in the same sequence (f5-tts clips it to ~12 s).")
@click.option("--batch", type=click.IntRange(1, 1024), default=1, show_default=True)
@click.option("--no-cfg", is_flag=True, help="Classifier-free guidance off (f5-tts doubles the batch with it).")
@click.option("--attn", type=click.Choice(["auto", "math", "efficient", "flash"]), default="auto", show_default=True,
              help="SDPA kernel; auto = what PyTorch picks on the card; math materialises heads x N x N scores.")
@click.option("--nfe", type=click.IntRange(1, 1000), default=32, show_default=True, help="ODE steps (f5-tts default 32).")
@click.option("--vocoder", type=click.Choice(["vocos", "bigvgan", "none"]), default="vocos", show_default=True)
@click.option("--terms", is_flag=True, help="Also print every term of the estimate (first GPU's settings).")
@click.option("--sweep", is_flag=True, help="Print peak memory vs seconds (5-60 s) for fp32 and fp16 "
              "(math attention unless --attn names another: the worst case).")
@click.option("--plot", type=OutFile(),
              help="Save the first GPU's figure as PNG (implies --sweep): peak vs seconds on the attention "
              "path that card uses (math dashed where it would be forced), its usable budget and f5-tts's "
              "frame cap: the report's figure, computed by the function the verdict uses.")
@click.option("--measure", type=click.Choice(["cpu", "cuda"]), help="Also run one real call (loads the weights; "
              "CPU uses the profiler) and compare its memory; on the CPU also its sampling time against the "
              "prediction. Use --nfe 1 to keep it short: the step peak is the same.")
@click.option("--config", help="Config for --measure when several match: a name or a YAML path.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--force", is_flag=True, help="With --plot: replace an existing file (once the new one is complete).")
@friendly_errors
def profile(path: str, gpus: tuple[str, ...], torch_spec: str | None, dtype: str, seconds: float, ref_seconds: float,
            batch: int, no_cfg: bool, attn: str, nfe: int, vocoder: str, terms: bool, sweep: bool, plot: str | None,
            measure: str | None, config: str | None, as_json: bool, force: bool) -> None:
    """Will one inference call of checkpoint PATH run on each GPU, how fast, and what each knob costs.

    Works from the checkpoint's shapes alone (no weights loaded): weights by dtype, vocoder,
    CUDA context, ODE state, and the activation peak of one ODE step (CFG doubles the batch;
    the math attention path holds heads x N x N scores). For each GPU: runs or not (kernels of
    the installed or --torch build, and memory), the longest audio per call that fits, predicted
    seconds per call and real-time factor, settings that would make it fit, caveats; then the
    first GPU's knob table (NFE, dtype, seconds per chunk, batch, CFG, attention kernel).

    \b
    Example: will a 4 GB Pascal card (GTX 1050 Ti) run it in fp16, 10 s per chunk?
      f5lab profile model.safetensors --gpu "GTX 1050 Ti" --dtype fp16 --seconds 10
      f5lab profile model.safetensors --gpu "GTX 1050 Ti" --torch 2.6.0+cu124
      f5lab profile model.safetensors --sweep --plot peak.png
    """
    from f5lab.hardware.profiling import profile as run_profile

    if plot:  # a plot is of the sweep: asking for one asks for the sweep (PLOT was claimed already)
        sweep = True
    if measure:
        from f5lab.hardware.devices import check_device

        check_device(measure, "--measure")
    prof = run_profile(path, gpus=gpus, dtype=dtype, seconds=seconds, ref_seconds=ref_seconds, batch=batch,
                       cfg=not no_cfg, attn=attn, nfe=nfe, vocoder=vocoder, with_sweep=sweep, plot=plot,
                       measure_on=measure, config=config, torch=torch_spec, force=force)
    if as_json:
        print_json(prof.to_dict())
        return
    from f5lab.cli import views

    if terms:
        views.show_estimate(prof.estimate)
    views.show_verdicts(prof.runs)
    views.show_knobs(prof.knobs)
    if prof.sweep:
        views.show_sweep(prof.sweep)
        if plot:
            click.echo(f"wrote {plot}")
    if prof.comparison:
        views.show_measurement(prof.comparison)
    if prof.speed_check:
        views.show_speed_check(prof.speed_check)


# -- text: what f5-tts will see ------------------------------------------------------------
@main.command("text")
@click.argument("text", required=False)
@click.option("--file", "text_file", type=click.Path(dir_okay=False, path_type=str),
              help="Read the text from a UTF-8 file instead.")
@click.option("--lang", default="en", show_default=True, type=LANG_CHOICE, metavar="[pt-BR|en]", help=LANG_HELP)
@click.option("--normalize/--no-normalize", default=True, show_default=True, help=NORMALIZE_HELP)
@click.option("--vocab", type=click.Path(dir_okay=False, path_type=str),
              help="vocab.txt of the checkpoint. [default: f5-tts's base vocab, 2545 tokens]")
@click.option("--ref-text", default=None, help="Transcript of --ref-audio: the chunk size and the seconds per "
              "chunk come from it. [default: f5-tts's example clip]")
@click.option("--ref-audio", type=click.Path(path_type=str), default=None, help="The reference clip (with --ref-text).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (normalized, unknown, chunks, advice).")
@friendly_errors
def text_command(text: str | None, text_file: str | None, lang: str, normalize: bool, vocab: str | None,
                 ref_text: str | None, ref_audio: str | None, as_json: bool) -> None:
    """Show what f5-tts will see of TEXT: normalised, checked against the vocab, chunked and timed.

    The normalised text; every character the vocab lacks and what it became (mapped, lowercased,
    or left as silence: f5-tts reads it as a space); the chunks f5-tts's chunk_text makes at the
    size infer_process picks from the reference, with the seconds f5-tts allots each (its UTF-8
    byte rule) and the chunks it slows to speed 0.3 flagged; the language's advice checked.
    Reads no model and imports no torch: well under a second.

    \b
    Example:
      f5lab text --lang pt-BR "Custa R$ 1.234,56 às 14h30."
      f5lab text --lang pt-BR --file roteiro.txt --ref-text "Olá." --ref-audio ref.wav --json
    """
    from f5lab.errors import ConfigError

    if text_file:
        if text is not None:
            raise ConfigError("give TEXT or --file, not both")
        from f5lab.speech.synth import read_text_file

        text = read_text_file(text_file)
    if text is None:
        raise ConfigError("give the TEXT to check, or --file FILE")
    from f5lab.speech.text.analysis import analyse

    report = analyse(text, lang, vocab=vocab, ref_text=ref_text, ref_audio=ref_audio, normalize=normalize)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        from f5lab.cli.views import show_text

        show_text(report)


# -- hear: synthesis, behavioural probe, comparing records ------------------------------------
def _catalogue(configs: str) -> Any:
    """None (the shipped configs) or the shipped configs shrunk, for `demo-checkpoint --scale tiny` files."""
    if configs == "tiny":
        from f5lab.model.arch import tiny_catalogue

        return tiny_catalogue()
    return None


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--ref-audio", required=True, type=click.Path(path_type=str),
              help="Reference clip (wav/flac/ogg/mp3); resampled to 24 kHz mono, clipped to ~12 s like f5-tts.")
@click.option("--ref-text", type=Text(allow_empty=False), default=None, help="Transcript of --ref-audio (or use --asr).")
@click.option("--text", "gen_text", type=Text(allow_empty=False), default=None, help="Text to speak.")
@click.option("--text-file", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="Read the text to speak from a UTF-8 file (long texts are chunked and cross-faded).")
@click.option("--out", default="synth_out", show_default=True,
              type=OutDir(files=("synth.wav", "synth_mel.npy", "synth_mel.png", "synth.json")),
              help="Folder for synth.wav, synth_mel.npy, synth_mel.png and synth.json.")
@click.option("--force", is_flag=True, help="Replace a previous synthesis in --out (once the new one is complete; "
              "never the reference clip or another input).")
@click.option("--config", default=None, help="Config to build (default: the one the shapes fit; see --probe).")
@click.option("--probe", "use_probe", is_flag=True,
              help="If the shapes fit several configs (F5TTS_Base vs F5TTS_v1_Base), decide by the behavioural "
                   "probe on --ref-audio and record its margin.")
@click.option("--vocab", type=click.Path(dir_okay=False, path_type=str), help="vocab.txt of the checkpoint.")
@click.option("--configs", type=click.Choice(["shipped", "tiny"]), default="shipped", show_default=True,
              help="Catalogue of configs ('tiny' for `demo-checkpoint --scale tiny` files).")
@click.option("--nfe", type=click.IntRange(1, 1000), default=32, show_default=True,
              help="Flow-matching (ODE) steps: 16 is faster, 32 f5-tts's default.")
@click.option("--cfg", "cfg_strength", type=Real(0, 10), default=2.0, show_default=True,
              help="Classifier-free guidance strength.")
@click.option("--sway", type=Real(-1, 1.75), default=-1.0, show_default=True,
              help="Sway sampling coefficient (beyond 1.75 f5-tts's time steps stop increasing).")
@click.option("--speed", type=Real(0, 10, min_open=True), default=1.0, show_default=True,
              help="Speaking rate (scales the estimated duration).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Seed: same seed and settings give bit-identical audio.")
@click.option("--duration", type=Real(0, 600, min_open=True), default=None,
              help="Fixed total seconds, reference included.")
@click.option("--dtype", type=click.Choice(["fp32", "fp16", "bf16"]), default=None, help="Weights dtype.")
@click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cpu or cuda "
              "(cpu, as in every f5lab command: see docs/synthesis.md#devices).")
@click.option("--vocoder", "vocoder_dir", type=click.Path(path_type=str), default=None,
              help="Local vocos (config.yaml + pytorch_model.bin) or BigVGAN directory. Without it: Griffin-Lim.")
@click.option("--strict-text", is_flag=True, help="Fail (instead of warn) on characters the vocabulary lacks.")
@click.option("--asr", type=click.Choice(["pocketsphinx", "faster-whisper"]), default=None,
              help="Transcribe --ref-audio when --ref-text is not given.")
@click.option("--asr-model-dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Local faster-whisper model directory (for --asr faster-whisper).")
@click.option("--lang", default="en", show_default=True, type=LANG_CHOICE, metavar="[pt-BR|en]", help=LANG_HELP)
@click.option("--normalize/--no-normalize", default=True, show_default=True, help=NORMALIZE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON record instead of a summary.")
@friendly_errors
def synth(path: str, ref_audio: str, ref_text: str | None, gen_text: str | None, text_file: str | None, out: str,
          force: bool, config: str | None, use_probe: bool, vocab: str | None, configs: str, nfe: int, cfg_strength: float,
          sway: float, speed: float, seed: int, duration: float | None, dtype: str | None, device: str,
          vocoder_dir: str | None, strict_text: bool, asr: str | None, asr_model_dir: str | None, lang: str,
          normalize: bool, as_json: bool) -> None:
    """Speak a text with checkpoint PATH in the voice of --ref-audio, and record how.

    Uses f5-tts's own sampler (CFM.sample via infer_batch_process) and chunking. Writes the
    wav, the mel spectrogram (.npy and .png) and a JSON record (settings, seed, versions,
    load/step/total time, real-time factor). Characters the vocabulary lacks are listed
    first: f5-tts would silently read them as spaces.

    \b
    Example:
      f5lab synth model.safetensors --ref-audio me.wav --ref-text "What I say in me.wav." \\
          --text "Olá, tudo bem?" --nfe 16 --seed 1 --out run_nfe16
    """
    import warnings

    from f5lab.hardware.devices import check_device
    from f5lab.speech.synth import TextError, UnknownCharWarning, check_settings, read_text_file, synthesize

    # every refusal before the reference is transcribed or the model loaded (seconds each); --out's
    # files were claimed already (f5lab.cli.params)
    check_settings(nfe=nfe, cfg_strength=cfg_strength, sway=sway, speed=speed, seed=seed, duration=duration)
    check_device(device)
    if text_file:
        gen_text = read_text_file(text_file)
    if gen_text is None:
        raise TextError("give the text to speak: --text '...' or --text-file FILE")
    catalogue = _catalogue(configs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownCharWarning)
        result = synthesize(path, ref_audio, ref_text or None, gen_text, nfe=nfe, cfg_strength=cfg_strength, sway=sway,
                            speed=speed, seed=seed, duration=duration, dtype=dtype, device=device,
                            vocoder=vocoder_dir, out_dir=out, strict_text=strict_text, config=config, vocab=vocab,
                            probe=use_probe or None, catalogue=catalogue, lang=lang, normalize=normalize,
                            progress=True, force=force, asr=asr, asr_model_dir=asr_model_dir)
    if not ref_text:  # the library transcribed the reference
        click.echo(f"reference transcript ({asr}): {result.record['text']['ref_text_raw']}", err=True)
    for w in caught:
        if issubclass(w.category, UnknownCharWarning):
            click.echo(f"f5lab: warning: {w.message}", err=True)
    if as_json:
        print_json(result.record)
    else:
        from f5lab.cli.views import show_synth

        show_synth(result.record)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--ref-audio", required=True, type=click.Path(path_type=str), help="Reference clip (real speech).")
@click.option("--ref-text", required=True, type=Text(allow_empty=False), help="Its transcript.")
@click.option("--candidate", "candidates", multiple=True,
              help="Config to try (repeatable). [default: every config the shapes fit]")
@click.option("--samples", type=click.IntRange(1, 10_000), default=8, show_default=True,
              help="Paired noise/time samples per config.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True, help="Seed of the first sample.")
@click.option("--vocab", type=click.Path(dir_okay=False, path_type=str), help="vocab.txt of the checkpoint.")
@click.option("--configs", type=click.Choice(["shipped", "tiny"]), default="shipped", show_default=True,
              help="Catalogue of configs ('tiny' for `demo-checkpoint --scale tiny` files).")
@click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cpu or cuda "
              "(cpu, as in every f5lab command).")
@click.option("--lang", default="en", show_default=True, type=LANG_CHOICE, metavar="[pt-BR|en]", help="Language of --ref-text (its "
              "normaliser).")
@click.option("--normalize/--no-normalize", default=True, show_default=True,
              help="Normalise --ref-text for --lang first: the loss is on the text the model is given.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def probe(path: str, ref_audio: str, ref_text: str, candidates: tuple[str, ...], samples: int, seed: int,
          vocab: str | None, configs: str, device: str, lang: str, normalize: bool, as_json: bool) -> None:
    """Which config was checkpoint PATH trained under? Ask its loss, not its shapes.

    F5TTS_Base (v0) and F5TTS_v1_Base have identical shapes; a v0 fine-tune run as v1
    loads without error and speaks gibberish (f5-tts 1.0.0 made v1 its default;
    F5-TTS #896, #998). The probe computes the flow-matching
    training loss on the reference clip under each candidate, with identical noise and
    times, and ranks them: the config it learned under has the lower loss.

    \b
    Example (a community pt-BR fine-tune):
      f5lab probe model_last.safetensors --ref-audio ref.wav --ref-text "Transcrição do áudio."
    """
    from f5lab.speech.probe import probe as run_probe

    result = run_probe(path, ref_audio, ref_text, list(candidates) or None, seed=seed, n_samples=samples,
                       vocab=vocab, catalogue=_catalogue(configs), device=device, progress=True, lang=lang,
                       normalize=normalize)
    if as_json:
        print_json(result.to_dict())
    else:
        from f5lab.cli.views import show_probe

        show_probe(result)


@main.command()
@click.argument("a", type=click.Path(path_type=str))
@click.argument("b", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def compare(a: str, b: str, as_json: bool) -> None:
    """What changed between two synthesis records A and B (synth.json files or their folders).

    Settings, model, vocoder and versions that differ; time ratios (B / A); whether the
    audio is bit-identical; signal metrics; and, when both mel arrays are on disk, their
    distance (mel L1, mel-cepstral distortion in dB).

    \b
    Example: what does NFE 16 cost against 32?
      f5lab synth m.safetensors --ref-audio r.wav --ref-text "..." --text "..." --nfe 32 --out nfe32
      f5lab synth m.safetensors --ref-audio r.wav --ref-text "..." --text "..." --nfe 16 --out nfe16
      f5lab compare nfe32 nfe16
    """
    from f5lab.speech.quality import compare_records

    diff = compare_records(a, b)
    if as_json:
        print_json(diff)
    else:
        from f5lab.cli.views import show_compare

        show_compare(diff, a, b)


if __name__ == "__main__":  # pragma: no cover
    main()

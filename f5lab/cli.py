"""The ``f5lab`` command: one library call per subcommand, then a table or JSON.

User mistakes (F5LabError) print one line on stderr and exit 2; never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import click

from f5lab.errors import F5LabError


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn F5LabError (and a missing/unreadable file) into a one-line message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except F5LabError as exc:
            click.echo(f"f5lab: error: {exc}", err=True)
            sys.exit(2)
        except (OSError, MemoryError) as exc:
            click.echo(f"f5lab: error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def print_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="f5lab")
def main() -> None:
    """f5lab: know, fix, load, size and hear any F5-TTS / E2-TTS checkpoint.

    \b
    Typical session:
      f5lab demo-checkpoint demo.safetensors          # make a checkpoint to play with
      f5lab inspect model_last.safetensors            # what is it? (header only, < 1 s)
      f5lab inspect model_last.safetensors --json     # the same, machine-readable
    """


# -- read / describe ----------------------------------------------------------------------------
@main.command()
@click.argument("path", type=click.Path(dir_okay=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--sha256", is_flag=True, help="Also hash the file (reads all of it: ~3 s per GB).")
@friendly_errors
def inspect(path: str, as_json: bool, sha256: bool) -> None:
    """Say what checkpoint PATH is, from its shapes alone: no weights are loaded.

    Reads the safetensors header (or a .pt through a safe, memory-mapped torch.load),
    infers the architecture (backbone, dim, depth, ff_mult, text_dim, conv_layers,
    mel_dim, vocabulary rows) and ranks every config installed with f5-tts against it,
    naming for each non-match the first fact that disagrees.

    \b
    Example: the checkpoint a loader refused with "size mismatch ... [1024, 712]":
      f5lab inspect model_last.safetensors
    """
    from f5lab.inspection import inspect_checkpoint

    result = inspect_checkpoint(path, sha256=sha256)
    if as_json:
        print_json(result.to_dict())
    else:
        from f5lab.views import show_inspection

        show_inspection(result)


@main.command("demo-checkpoint")
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--config", default="F5TTS_Base", show_default=True, help="Shipped f5-tts config to build.")
@click.option("--layout", default="release_safetensors", show_default=True,
              help="Container layout; see --list-layouts.")
@click.option("--scale", type=click.Choice(["tiny", "full"]), default="tiny", show_default=True,
              help="tiny: a few MB for tests; full: the config's real size (1.35 GB for F5TTS_Base).")
@click.option("--seed", default=0, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@click.option("--list-layouts", is_flag=True, help="List the layouts and exit.")
@friendly_errors
def demo_checkpoint(out: str | None, config: str, layout: str, scale: str, seed: int, force: bool,
                    list_layouts: bool) -> None:
    """Write a random-weight checkpoint OUT built from the real f5-tts classes.

    Weights are random (seeded): it loads, runs and is measured like a real one, but
    speaks noise. Use it to try f5lab, to reproduce a loading error, or to benchmark.
    """
    from pathlib import Path

    from f5lab.errors import ConfigError
    from f5lab.fixtures import LAYOUTS, build_checkpoint

    if list_layouts:
        for name, what in LAYOUTS.items():
            click.echo(f"{name:28s} {what}")
        return
    if not out:
        raise ConfigError("give the output path, e.g. f5lab demo-checkpoint demo.safetensors")
    if Path(out).exists() and not force:
        raise ConfigError(f"{out} exists; pass --force to overwrite it")
    fixture = build_checkpoint(out, config=config, layout=layout, scale=scale, seed=seed)
    click.echo(f"wrote {fixture.path} ({fixture.config}, {fixture.layout}, {fixture.scale})")
    if fixture.vocab_path:
        click.echo(f"wrote {fixture.vocab_path} (its vocabulary)")


@main.command()
@friendly_errors
def demo() -> None:
    """Build (once, cached) a full-scale F5TTS_Base checkpoint and inspect it."""
    from f5lab.demo import demo_checkpoint
    from f5lab.inspection import inspect_checkpoint
    from f5lab.views import show_inspection

    click.echo("building/locating the demo checkpoint (full-scale F5TTS_Base, random weights)...")
    show_inspection(inspect_checkpoint(demo_checkpoint()))


if __name__ == "__main__":  # pragma: no cover
    main()

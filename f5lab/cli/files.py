"""Read and describe: ``inspect`` (what a checkpoint is, from its shapes), ``demo-checkpoint`` and
``demo`` (checkpoints to try f5lab on), with their terminal views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from f5lab.cli.main import friendly_errors, main, print_json
from f5lab.cli.options import catalogue, configs_option, seed_option
from f5lab.cli.params import ConfigRef, OutFile
from f5lab.cli.terminal import console, human_count, echo
from f5lab.units import human_bytes


# -- read / describe ----------------------------------------------------------------------------
@main.command()
@click.argument("path", type=click.Path(dir_okay=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--sha256", is_flag=True, help="Also hash the file (reads all of it: ~3 s per GB).")
@click.option("--config", type=ConfigRef(), default=None, help="Also rank this config (a name or the path of a YAML in f5-tts's "
              "format) beside the installed ones.")
@configs_option()
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
        echo(f"wrote {written}: f5-tts's own loader builds {path} with it; check the values shapes cannot "
                   "decide:")
        for line in unsure:
            echo(f"  {line}")
        echo(f"use it: --config {written} (diagnose, remap, verify, matrix, profile, synth, probe, report)")
        return
    result = inspect_checkpoint(path, sha256=sha256, catalogue=catalogue(configs, path), config=config, vocab=vocab)
    if as_json:
        print_json(result.to_dict())
    else:
        show_inspection(result)


@main.command("demo-checkpoint")
@click.argument("out", required=False, type=OutFile(skip="list_layouts", companions=("{stem}_vocab.txt",)))
@click.option("--config", type=ConfigRef(), default="F5TTS_Base", show_default=True, help="Shipped f5-tts config to build.")
@click.option("--layout", default="release_safetensors", show_default=True,
              help="Container layout; see --list-layouts.")
@click.option("--scale", type=click.Choice(["tiny", "full"]), default="tiny", show_default=True,
              help="tiny: a few MB for tests; full: the config's real size (1.35 GB for F5TTS_Base).")
@seed_option("Seed of the random weights.")
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
    from f5lab.synthetic.layouts import LAYOUTS, build_checkpoint, check_suffix

    if list_layouts:
        for name, what in LAYOUTS.items():
            echo(f"{name:28s} {what}")
        return
    if not out:
        raise ConfigError("give the output path, e.g. f5lab demo-checkpoint demo.safetensors")
    if layout in LAYOUTS:
        check_suffix(Path(out), layout)  # safetensors bytes under a .pt name would read as a bad pickle
    # OUT was claimed before this body ran (f5lab.cli.params): written aside, put in place whole
    fixture = build_checkpoint(out, config=config, layout=layout, scale=scale, seed=seed, force=force)
    echo(f"wrote {fixture.path} ({fixture.config}, {fixture.layout}, {fixture.scale})")
    if fixture.vocab_path:
        echo(f"wrote {fixture.vocab_path} (its vocabulary)")


@main.command()
@friendly_errors
def demo() -> None:
    """Build (once, cached) a full-scale F5TTS_Base checkpoint and inspect it."""
    from f5lab.synthetic.demo import demo_checkpoint
    from f5lab.model.inspection import inspect_checkpoint

    click.echo("building/locating the demo checkpoint (full-scale F5TTS_Base, random weights)...")
    show_inspection(inspect_checkpoint(demo_checkpoint()))


# -- views ------------------------------------------------------------------------------------------
def show_inspection(r: Any) -> None:
    """The human form of ``f5lab inspect``."""
    out = console()
    lay = r.layout
    out.print(f"[bold]{r.path}[/bold]  {r.format}, {human_bytes(r.size_bytes)}"
              + (f", sha256 {r.sha256}" if r.sha256 else ""))
    step = f", {lay['step_key']} {lay['step']}" if lay.get("step") is not None else ""
    out.print(f"container: {', '.join(lay['state_dicts'])}{step}; "
              f"optimizer {'yes' if lay['optimizer'] else 'no'}, scheduler {'yes' if lay['scheduler'] else 'no'}")
    out.print(f"weights from: {r.source}; stripped prefixes: {', '.join(r.prefixes) or 'none'}"
              + (f"; dropped: {', '.join(r.dropped)}" if r.dropped else ""))
    out.print("dtypes: " + ", ".join(f"{d} {human_bytes(b)}" for d, b in r.bytes_by_dtype.items()))

    s = r.spec
    arch = Table(title=f"architecture (from shapes): {s.backbone}, {human_count(r.params)} parameters",
                 title_justify="left")
    arch.add_column("fact")
    arch.add_column("value", justify="right")
    for fact, value in (("backbone", s.backbone), ("dim", s.dim), ("depth", s.depth),
                        ("heads", s.heads or "? (undetermined)"), ("ff_mult", s.to_dict()["ff_mult"]),
                        ("text_dim", s.text_dim), ("conv_layers", s.conv_layers), ("mel_dim", s.mel_dim),
                        ("text embedding rows", s.text_embed_rows), ("long skip", "yes" if s.long_skip else "no"),
                        ("qk_norm", s.qk_norm or "none")):
        arch.add_row(fact, str(value))
    out.print(arch)

    mods = Table(title="parameters per module", title_justify="left")
    mods.add_column("module")
    mods.add_column("parameters", justify="right")
    mods.add_column("share", justify="right")
    for name, n in sorted(r.modules.items(), key=lambda kv: -kv[1]):
        mods.add_row(name, human_count(n), f"{100 * n / max(r.params, 1):.1f}%")
    out.print(mods)

    ranks = Table(title="installed f5-tts configs, best first", title_justify="left")
    ranks.add_column("config")
    ranks.add_column("verdict")
    ranks.add_column("first disagreement")
    ranks.add_column("vocab")
    for c in r.candidates:
        verdict = "[green]exact[/green]" if c.exact else f"[red]{len(c.mismatches)} differ[/red]"
        ranks.add_row(c.config, verdict, c.first_mismatch or "-", "default" if c.vocab_match else "differs")
    out.print(ranks)
    for note in r.notes:
        out.print(f"[yellow]note:[/yellow] {note}")
    if not r.best.exact:
        out.print("arch block for a config of your own:")
        for k, v in r.spec.arch_block().items():
            out.print(f"    {k}: {v}")
    out.print("[bold]shapes cannot decide:[/bold]")
    for u in r.undetermined:
        out.print(f"  - {u}")

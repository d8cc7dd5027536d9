"""Terminal presentation (rich tables) of f5lab results; no computation here."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n:.2f} GB"


def human_count(n: float) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1e5 else f"{n / 1e3:.1f} K" if n >= 1e3 else str(int(n))


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

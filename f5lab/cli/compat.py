"""Make it load: ``diagnose``, ``remap``, ``verify``, ``matrix`` and ``lineage``, with their terminal
views (findings, plans, verifications, the matrix, the lineage table)."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from f5lab.cli.main import friendly_errors, main, old_spelling, print_json
from f5lab.cli.options import catalogue, configs_option, seed_option
from f5lab.cli.params import ConfigRef, OutFile
from f5lab.cli.terminal import console, hang, echo
from f5lab.units import human_bytes

VOCAB_FILE = click.Path(exists=True, dir_okay=False, path_type=str)


# -- diagnose / remap / verify / matrix --------------------------------------------------
@main.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--config", type=ConfigRef(), default=None, help="Also compare with this config (the one your loader used): a name "
              "or the path of a YAML in f5-tts's format.")
@click.option("--error-file", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="Explain the text of a failed load_state_dict instead (no checkpoint needed).")
@click.option("--vocab", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="The vocab.txt the checkpoint was trained with (default: the config's tokenizer_path, "
                   "else f5-tts's).")
@configs_option()
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

    if error_file:
        from f5lab.compat.diagnose import explain_load_error, read_error_text

        result = explain_load_error(read_error_text(error_file))
        if result.codes() == ["unrecognised"]:  # a verdict of "loads" from a text that shows no error is wrong
            raise ConfigError(f"{error_file}: no load_state_dict error in it (missing/unexpected keys, size "
                              "mismatches, KeyError); save the whole message, from 'Error(s) in loading state_dict'")
    elif path:
        from f5lab.compat.diagnose import diagnose as run_diagnose

        found = None
        chosen = catalogue(configs, path)
        if bases:  # the weights are read only when asked: diagnose itself reads shapes
            from f5lab.compat.lineage import lineage as run_lineage

            found = run_lineage(path, list(bases), vocab=vocab, catalogue=chosen)
        result = run_diagnose(path, config=config, vocab=vocab, catalogue=chosen, use_ema=use_ema,
                              lineage=found)
    else:
        raise ConfigError("give a checkpoint PATH or --error-file LOG")
    print_json(result.to_dict()) if as_json else show_diagnosis(result)
    if not result.ok:
        sys.exit(1)


@main.command()
@click.argument("src", type=click.Path(dir_okay=False, path_type=str))
@click.argument("dst", type=OutFile(skip="dry_run"))
@click.option("--config", type=ConfigRef(), required=True, help="The f5-tts config the output must load under: a name (e.g. "
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
@configs_option()
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

    if not dry_run:
        check_destination(src, dst, force)  # refuse before any work
    chosen = catalogue(configs, src)
    plan = plan_remap(src, config, vocab_from=vocab_from, vocab_to=vocab_to, dtype=dtype, use_ema=use_ema,
                      new_rows=new_rows, catalogue=chosen)
    if dry_run:
        print_json(plan.to_dict()) if as_json else show_plan(plan, dry_run=True)
        return
    if not as_json:
        show_plan(plan)
    out = execute_plan(plan, dst, force=force, progress=not as_json)
    report: dict[str, Any] = {"plan": plan.to_dict(), "dst": str(out)}
    if not as_json:
        echo(f"wrote {out}")
    if not no_verify:
        from f5lab.compat.verify import verify as run_verify

        check = run_verify(src, out, config=config, vocab_src=vocab_from, vocab_dst=vocab_to, use_ema=use_ema,
                           catalogue=chosen)
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
@click.option("--config", type=ConfigRef(), default=None, help="Config of both: a name or a YAML path (default: recorded in DST, "
              "or inferred).")
@click.option("--vocab-from", type=VOCAB_FILE, help="SRC's vocab.txt (remap's --vocab-from).")
@click.option("--vocab-to", type=VOCAB_FILE, help="DST's vocab.txt (remap's --vocab-to).")
@old_spelling("--vocab-src", "--vocab-from", type=VOCAB_FILE)
@old_spelling("--vocab-dst", "--vocab-to", type=VOCAB_FILE)
@click.option("--ema/--raw", "use_ema", default=True, show_default=True, help="Which weights of SRC.")
@seed_option("Seed of the forward pass inputs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@configs_option()
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
    from f5lab.compat.verify import verify as run_verify

    check = run_verify(src, dst, config=config, vocab_src=vocab_from, vocab_dst=vocab_to, use_ema=use_ema, seed=seed,
                       catalogue=catalogue(configs, src))
    print_json(check.to_dict()) if as_json else show_verification(check)
    if not check.ok:
        sys.exit(1)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--vocab", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="The vocab.txt the checkpoint was trained with.")
@click.option("--config", type=ConfigRef(), default=None, help="Also a row for this config: a name or the path of a YAML in "
              "f5-tts's format.")
@configs_option()
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
    from f5lab.compat.matrix import compatibility_matrix

    rows = compatibility_matrix(path, vocab=vocab, catalogue=catalogue(configs, path), config=config)
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
@configs_option(help="Catalogue the bases' shapes are ranked against: shipped, or shrunk ('tiny', for "
                "`demo-checkpoint --scale tiny` files); auto: tiny when only the shrunk ones fit PATH.")
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

    result = run_lineage(path, list(bases) or None, vocab=vocab, base_vocab=base_vocab, catalogue=catalogue(configs, path))
    if as_json:
        print_json(result.to_dict())
    else:
        show_lineage(result)
    if not result.decided:
        sys.exit(1)


# -- a fallback between models -------------------------------------------------------------------------
@main.command("serve-check")
@click.argument("candidates", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--config", "config", multiple=True, type=ConfigRef(), metavar="NAME|YAML|decide",
              help="Each candidate's config, in the candidates' order (repeat once per candidate, or give one for "
                   "all); 'decide': let f5lab's config decision choose (the default).")
@click.option("--vocab", "vocab", multiple=True, type=VOCAB_FILE,
              help="Each candidate's vocab.txt, in order (repeat once per candidate, or one for all; none: each "
                   "config's tokenizer_path, else f5-tts's).")
@configs_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: each rung and the one that serves.")
@friendly_errors
def serve_check(candidates: tuple[str, ...], config: tuple[str, ...], vocab: tuple[str, ...], configs: str,
                as_json: bool) -> None:
    """Which of CANDIDATES a service would serve: the ladder of f5lab.load_model([...]), run here.

    Each checkpoint is loaded in order (strictly, on the CPU, with its config and vocab, or the
    config decision), and the first that loads serves; each one before it is shown with why it was
    refused, as the service's warning line says it. Exit 0 when one serves, 1 when none loads, 2 bad
    input.

    \b
    Example: a pt-BR fine-tune, else the base model
      f5lab serve-check ft_ptbr.safetensors model_1200000.safetensors --config F5TTS_Base \
        --vocab ptbr_vocab.txt --vocab f5_tts/infer/examples/vocab.txt
    """
    import warnings

    from f5lab.compat.candidates import CandidateSkipped, NoCandidateLoads, load_first
    from f5lab.compat.loading import load_model

    def per_candidate(values: tuple[str, ...], option: str) -> list[str | None]:
        if len(values) not in (0, 1, len(candidates)):
            raise click.UsageError(f"{option}: give it once per candidate ({len(candidates)}), once for all, or not "
                                   f"at all; got {len(values)}")
        return list(values) * len(candidates) if len(values) == 1 else list(values) or [None] * len(candidates)

    names, vocab_files = per_candidate(config, "--config"), per_candidate(vocab, "--vocab")
    ladder = [{"path": p, "config": None if c in (None, "decide") else c, "vocab": v}
              for p, c, v in zip(candidates, names, vocab_files)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CandidateSkipped)
        try:
            model = load_first(ladder, loader=load_model, catalogue=catalogue(configs, candidates[0]))
            served, refused = model.f5lab_candidate, list(model.f5lab_candidate.refused)
        except NoCandidateLoads as exc:
            served, refused = None, list(exc.refused)
    warned = [str(w.message) for w in caught if issubclass(w.category, CandidateSkipped)]
    result = {"served": served.to_json() if served else None, "refused": [r.to_dict() for r in refused],
              "warnings": warned, "candidates": list(candidates)}
    if as_json:
        print_json(result)
    else:
        show_ladder(candidates, served, refused)
    if served is None:
        sys.exit(1)


def show_ladder(candidates: tuple[str, ...], served: Any, refused: list[Any]) -> None:
    """One line per rung, in order: refused (why), serves (config, how decided), not tried."""
    out = console()
    for i, path in enumerate(candidates):
        if i < len(refused) and (served is None or i < served.index):
            hang(out, f"\u2717 {i + 1}. ", f"{path}: refused: {refused[i].reason}")
        elif served is not None and i == served.index:
            hang(out, f"\u2713 {i + 1}. ", f"{path}: serves as {served.config} ({served.decision.text})")
        else:
            hang(out, f"  {i + 1}. ", f"{path}: not tried (an earlier candidate serves)")
    if served is None:
        out.print("no candidate loads: the service would not start", highlight=False)


# -- views ------------------------------------------------------------------------------------------
# -- diagnose / remap / verify / matrix -------------------------------------------------------
SEVERITY_STYLE = {"error": "[red]error[/red]", "warning": "[yellow]warning[/yellow]", "info": "[cyan]info[/cyan]"}


def show_diagnosis(d: Any) -> None:
    """The human form of ``f5lab diagnose``: per-config key groups, then each finding's cause, evidence, fix."""
    out = console()
    if d.path:
        source = "the file's top level" if d.source == "<root>" else d.source
        out.print(f"[bold]{d.path}[/bold]" + (f"  (weights from {source})" if source else ""))
    for c in d.comparisons:
        verdict = "f5-tts loads it as stored" if c.f5tts_loads else (c.f5tts_reason or "does not load")
        out.print(f"[bold]vs {c.config}[/bold]: {verdict}")
        for label, groups in (("missing:    ", c.missing), ("unexpected: ", c.unexpected)):
            if groups:
                hang(out, f"  {label}", ", ".join(str(g) for g in groups))
        for m in c.mismatched[:6]:
            out.print(f"  shape: {m['key']} checkpoint {m['checkpoint']} vs config {m['config']}")
    for f in d.findings:
        where = " " + escape(f"[{f.config}]") if f.config else ""  # a YAML path in brackets is no markup tag
        out.print(f"{SEVERITY_STYLE.get(f.severity, f.severity)}{where} {f.cause}")
        hang(out, "    evidence: ", f.evidence)
        hang(out, "    fix:      ", f.fix)
    decision = getattr(d, "decision", None)
    if decision:  # which config the file takes, whatever was asked: the rule every command shares
        said = f"{decision['config']} ({decision['how']}): {decision['text']}" if decision["config"] else decision["text"]
        hang(out, "config: ", said)
    show_service(getattr(d, "service", None) or [])
    out.print(diagnosis_verdict(d), highlight=False)


def diagnosis_verdict(d: Any) -> str:
    """The last line of ``f5lab diagnose``: points at the warnings only when there are some, and
    says "as asked" only when a config was asked."""
    asked = getattr(d, "asked", None)
    under = f" under {escape(asked)}" if asked else ""
    if d.ok:
        warned = any(f.severity == "warning" for f in d.findings)
        return f"[green]verdict: loads{under}[/green]" + (" (see the warnings above)" if warned else "")
    return f"[red]verdict: does not load{under}[/red] (see the errors above)"


def show_service(snippets: list[dict[str, Any]]) -> None:
    """The f5-tts code that loads the checkpoint without f5lab, per config it loads under; a config
    whose code differs from one already shown in a few lines only gets those lines, not the whole
    snippet again (F5TTS_Base and F5TTS_v1_Base differ by a word or two)."""
    out = console()
    for s, same in merge_snippets(snippets):
        first = " (after a remap)" if s["needs_remap"] else ""
        out.print(f"[bold]load it in f5-tts without f5lab[/bold] under {escape(str(s['config']))}{first}:",
                  highlight=False)
        if s["needs_remap"]:
            out.print(f"  once, first: {s['remap_command']}", markup=False, highlight=False)
        for line in s["code"].rstrip().splitlines():
            out.print(f"  {line}", markup=False, highlight=False)
        for other, lines in same:
            out.print(f"[bold]under {escape(str(other['config']))}[/bold]: the same code with "
                      + ("this line" if len(lines) == 1 else f"these {len(lines)} lines") + " instead:", highlight=False)
            for line in lines:
                out.print(f"  {line}", markup=False, highlight=False)


MERGE_LINES = 3  # snippets differing in at most this many lines are shown once


def merge_snippets(snippets: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[tuple[dict[str, Any], list[str]]]]]:
    """Snippets grouped where they differ in at most ``MERGE_LINES`` lines (same length, same remap
    need): each group's first snippet, and per other snippet the lines of its own that differ."""
    groups: list[tuple[dict[str, Any], list[tuple[dict[str, Any], list[str]]]]] = []
    for s in snippets:
        mine = s["code"].rstrip().splitlines()
        for head, same in groups:
            theirs = head["code"].rstrip().splitlines()
            if head["needs_remap"] or s["needs_remap"] or len(theirs) != len(mine):
                continue
            differ = [b for a, b in zip(theirs, mine) if a != b]
            if len(differ) <= MERGE_LINES:
                same.append((s, differ))
                break
        else:
            groups.append((s, []))
    return groups


def show_plan(plan: Any, dry_run: bool = False) -> None:
    """A remap plan: what will be (or was) done, and the output's size."""
    out = console()
    out.print(f"[bold]remap plan[/bold] {plan.src} -> config {plan.config}, {len(plan.steps)} tensors, "
              f"{human_bytes(plan.output_bytes)}" + ("  (dry run: nothing written)" if dry_run else ""))
    for line in plan.changes or ["copy the weights unchanged (only the container is rewritten)"]:
        out.print(f"  - {line}")
    if plan.vocab and plan.vocab.added:
        out.print(f"  new tokens ({len(plan.vocab.added)}): {' '.join(plan.vocab.added[:40])}")
    if plan.vocab and plan.vocab.dropped:
        out.print(f"  dropped tokens ({len(plan.vocab.dropped)}): {' '.join(plan.vocab.dropped[:40])}")
    for note in plan.notes:
        out.print(f"[yellow]note:[/yellow] {note}")


def show_verification(v: Any) -> None:
    """Tensor equality and the forward-pass error, with the verdict."""
    out = console()
    out.print(f"[bold]verify[/bold] {v.src} -> {v.dst} under {v.config} ({v.config_reason}); stored dtype {v.dtype}")
    out.print(f"  tensors equal: {v.tensors_equal}/{v.tensors_checked}; max abs tensor error "
              f"{v.max_abs_tensor_error:.3g} (vs the source after the plan's cast)")
    for label, keys in (("mismatched", v.mismatched), ("missing in DST", v.missing), ("unexpected in DST", v.unexpected)):
        if keys:
            out.print(f"  [red]{label}[/red]: {', '.join(keys[:6])}" + (" ..." if len(keys) > 6 else ""))
    if v.shared_token_rows_total is not None:
        out.print(f"  shared tokens with bit-identical rows: {v.shared_token_rows}/{v.shared_token_rows_total}")
    if v.forward_max_abs_error is not None:
        out.print(f"  forward pass (seed {v.seed}): max abs error {v.forward_max_abs_error:.3g} over outputs up to "
                  f"{v.forward_max_abs_reference:.3g} ({_relative_error(v)}, tolerance {v.forward_tolerance:g})")
    if v.reason:
        out.print(f"  [red]{escape(v.reason)}[/red]")
    out.print("[green]verified: DST computes what SRC computes[/green]" if v.ok else "[red]NOT verified[/red]")


def _relative_error(v: Any) -> str:
    """The forward pass's relative error in words: never None/NaN on screen."""
    rel = v.forward_relative_error
    if rel is not None:
        return f"relative {rel:.3g}" + (": identical outputs" if v.forward_max_abs_error == 0 else "")
    if v.forward_max_abs_reference == 0:
        return "relative error undefined: SRC's output is all zeros and DST's is not"
    return "relative error undefined: an output is not finite"


def clauses_of(text: str) -> list[str]:
    """``text`` split at "; " outside parentheses: the reason's clauses (a fix is usually the last)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text.startswith("; ", i):
            out.append(text[start:i])
            start = i + 2
    out.append(text[start:])
    return [c for c in out if c]


def show_matrix(rows: list[Any], path: str) -> None:
    """Every installed config x one checkpoint."""
    out = console()
    table = Table(title=f"{path}: every installed config", title_justify="left")
    table.add_column("config")
    table.add_column("status")
    table.add_column("plan / reason")
    style = {"loads": "[green]loads[/green]", "loads after remap": "[yellow]loads after remap[/yellow]",
             "cannot": "[red]cannot[/red]"}
    details = ["; ".join(r.plan) if r.status == "loads after remap" else r.reason or "-" for r in rows]
    clauses = [clauses_of(d) for d in details]
    counts: dict[str, int] = {}
    for cs in clauses:
        for c in dict.fromkeys(cs):
            counts[c] = counts.get(c, 0) + 1
    repeated = [c for c in counts if counts[c] > 1 and len(c) > 30]  # a fix repeated row after row: said once
    for r, cs in zip(rows, clauses):
        refs = [f"[{repeated.index(c) + 1}]" for c in cs if c in repeated]
        detail = "; ".join([c for c in cs if c not in repeated] + ([f"see {' and '.join(refs)} below"] if refs else []))
        table.add_row(escape(str(r.config)), style.get(r.status, r.status), escape(detail))
    out.print(table)
    for i, clause in enumerate(repeated, 1):
        hang(out, f"[{i}] ({counts[clause]} configs) ", clause)
    notes = sorted({r.note for r in rows if r.note})
    for note in notes:
        out.print(f"[yellow]note:[/yellow] {note}")


def show_lineage(lin: Any) -> None:
    """The human form of ``f5lab lineage``: the bases compared, the verdict, the drift per block, the flags."""
    from f5lab.compat.bases import base_name
    from f5lab.compat.drift import flag_lines

    out = console()
    source = "the file's top level" if lin.source == "<root>" else lin.source
    out.print(f"[bold]{escape(lin.path)}[/bold]  weights compared: {escape(source)}")
    if lin.searched:
        hang(out, "bases: ", f"f5-tts's checkpoints in the local Hugging Face cache ({', '.join(lin.searched)})")
    if lin.bases:
        t = Table(title="distance to each base (relative, 0 = same weights, 1.41 = unrelated)", title_justify="left")
        for col, just in (("base", "left"), ("config", "left"), ("distance", "right"), ("cosine", "right"),
                          ("unchanged tensors", "right")):
            t.add_column(col, justify=just)
        for b in lin.bases:
            t.add_row(escape(b.name), escape(b.config or f"? ({b.config_source})"), _num(b.distance),
                      _num(b.cosine, 4), f"{b.unchanged}/{b.tensors}")
        out.print(t)
    for p in lin.pairs:
        hang(out, "bases apart: ", f"{base_name(p['a'])} / {base_name(p['b'])}: {_num(p['distance'])}")
    hang(out, "verdict: ", lin.text + (f" (margin {lin.margin:.2f})" if lin.margin is not None else "")
         + f"; the bar: distance <= {lin.max_distance:g}" + (f", margin >= {lin.min_margin:g}" if lin.margin is not None
                                                              else ""))
    near = lin.nearest
    if near is not None and near.blocks:
        t = Table(title=f"what changed, per block (against {near.name})", title_justify="left")
        for col in ("block", "distance", "cosine", "tensors", "unchanged"):
            t.add_column(col, justify="left" if col == "block" else "right")
        for row in near.blocks:
            t.add_row(row["block"], _num(row["distance"]), _num(row["cosine"], 4), str(row["tensors"]),
                      str(row["unchanged"]))
        out.print(t)
        if near.raw is not None:
            hang(out, "raw weights: ", f"distance {_num(near.raw['distance'])} to {near.name} (the EMA weights: "
                 f"{_num(near.distance)}; EMA to raw: {_num(lin.flags.get('ema_raw_distance'))})")
    for line in flag_lines(lin):
        hang(out, "flag: ", line)
    for s in lin.skipped:
        hang(out, "skipped: ", f"{s['path']}: {s['reason']}")
    for n in lin.notes:
        hang(out, "note: ", n)


def _num(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    return "0" if x == 0 else f"{x:.{digits}g}" if digits == 2 else f"{x:.{digits}f}"

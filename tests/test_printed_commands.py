"""Every command f5lab prints is built in one place (f5lab.commandlines) and runs as printed, and every
service snippet loads in f5-tts.

For each checkpoint below, the commands that diagnose, matrix and inspect print (in backticks
in a finding's fix, `matrix --json`'s remap_command, inspect's notes) are run, as printed, in
order, against the very file they were printed for: each must succeed. A printed command with
a placeholder (SRC, NAME, TRAINED_vocab.txt) would fail here. Then the Python that diagnose and
`matrix --json` give a service (f5-tts's API or its load_model, after the remap when needed) is
executed, offline, and must load the file strictly.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from f5lab.reporting import decide
from f5lab.cli.commands import main
from f5lab.model.configs import tiny_catalogue
from f5lab.compat.diagnose import diagnose
from f5lab.synthetic.layouts import build_checkpoint, custom_arch_checkpoint
from f5lab.model.inspection import inspect_checkpoint
from f5lab.compat.matrix import compatibility_matrix

from f5lab.model.arch import f5_tts_root

REF = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
COMMAND = re.compile(r"`(f5lab [^`]+)`")
SUBCOMMANDS = ("inspect", "diagnose", "remap", "verify", "matrix", "profile", "synth", "probe", "report")
BARE = re.compile(r"(?<!`)f5lab (?:%s) (?:/|-|\S+\.(?:pt|safetensors|yaml))" % "|".join(SUBCOMMANDS))  # with arguments

# checkpoints with a fix to print: (name, how to build it, catalogue flag, config diagnosed against)
TINY_LAYOUTS = ["release_safetensors", "trainer_pt", "ddp_pt", "compiled_pt", "plain_state_dict_pt",
                "old_mel_buffers_pt", "pruned_fp16_safetensors", "extended_vocab_safetensors"]


def _build(kind: str, folder: Path) -> tuple[Path, str | None]:
    """(checkpoint, the --configs flag its commands need)."""
    if kind.startswith("custom"):
        layout = {"custom_vocab": "extended_vocab_safetensors", "custom_compiled": "compiled_pt"}.get(
            kind, "release_safetensors")
        suffix = ".pt" if layout.endswith("_pt") else ".safetensors"
        return custom_arch_checkpoint(folder / f"{kind}{suffix}", layout=layout).path, None
    suffix = ".safetensors" if "safetensors" in kind else ".pt"
    return build_checkpoint(folder / f"tiny_{kind}{suffix}", config="F5TTS_Base", layout=kind, scale="tiny").path, "tiny"


def printed_commands(path: Path, flag: str | None) -> list[str]:
    """Every command f5lab prints as a fix for ``path``, in the order a user meets them."""
    catalogue = tiny_catalogue() if flag else None
    texts = list(inspect_checkpoint(path, catalogue=catalogue).notes)
    for config in (None, "E2TTS_Base", "F5TTS_Base"):
        d = diagnose(path, config=config, catalogue=catalogue)
        texts += [f.fix for f in d.findings]
        texts += [s["remap_command"] and f"`{s['remap_command']}`" or "" for s in d.service]
    rows = compatibility_matrix(path, catalogue=catalogue)
    texts += [f"`{r.remap_command}`" for r in rows if r.remap_command]
    for asked in ("E2TTS_Base", "F5TTS_Base"):  # the report's answer card
        line = decide.fix_line(str(path), asked, rows, decide.choose_target(rows), catalogue)
        texts.append(f"`{line.split('  #')[0]}`" if line.startswith("f5lab ") else line)
    for text in texts:
        assert not BARE.search(text.replace("`f5lab", "")), f"a command printed outside backticks: {text}"
    seen: list[str] = []
    for text in texts:
        seen += [c for c in COMMAND.findall(text) if c not in seen]
    return seen


@pytest.mark.parametrize("kind", TINY_LAYOUTS + ["custom", "custom_vocab", "custom_compiled"])
def test_every_printed_command_runs_as_printed(tmp_path, kind):
    path, flag = _build(kind, tmp_path)
    commands = printed_commands(path, flag)
    if kind in ("compiled_pt", "plain_state_dict_pt", "custom", "custom_vocab", "custom_compiled"):
        assert commands, "this checkpoint needs a fix, so a command must be printed"
    if kind.startswith("custom"):
        assert commands[0].startswith("f5lab inspect") and "--write-config" in commands[0]
    ran = []
    while commands:
        cmd = commands.pop(0)
        argv = shlex.split(cmd)
        assert argv[0] == "f5lab" and argv[1] in SUBCOMMANDS, cmd
        result = CliRunner().invoke(main, argv[1:])
        assert result.exit_code == 0, f"printed fix failed: {cmd}\n{result.output}"
        ran.append(cmd)
        if argv[1] == "diagnose":  # what the follow-up prints must run too
            more = [c for c in printed_commands(path, flag) if c not in ran and c not in commands]
            shown = [c for c in COMMAND.findall(result.output)]
            assert all("\n" not in c for c in shown), "a printed command is broken across lines"
            more += [c for c in shown if c not in ran and c not in commands + more]
            commands += more
    assert ran or kind in ("release_safetensors", "pruned_fp16_safetensors", "extended_vocab_safetensors",
                           "old_mel_buffers_pt")


def _vocos(folder: Path) -> str:
    from f5lab.speech.vocoders import write_random_vocos

    return str(write_random_vocos(folder / "vocos-mel-24khz"))  # also the folder a snippet names by default


def _exec(code: str) -> torch.nn.Module:
    scope: dict = {}
    exec(compile(code, "<service snippet>", "exec"), scope)  # noqa: S102 - the printed code, as printed
    return scope["model"]


def _stored(path: Path) -> dict[str, torch.Tensor]:
    from f5lab.files.checkpoint import open_checkpoint

    ckpt = open_checkpoint(path)
    return {k: v for k, v in ckpt.iter_tensors(ckpt.model_state())}


def _loads_exactly(model: torch.nn.Module, path: Path) -> None:
    ours = model.state_dict()
    stored = _stored(path)
    assert set(stored) == set(ours)
    assert all(torch.equal(ours[k].float(), v.float()) for k, v in stored.items())


def test_the_api_snippet_for_a_shipped_config_loads_the_full_scale_file_offline(tmp_path):
    """load_model(DiT, dict(F5TTS_Base's arch), ...) and load_vocoder(local_path=DIR): the exact code diagnose
    prints (its synthesis runs only as a script: tests/test_service.py)."""
    from f5lab.synthetic.layouts import write_shape_only_safetensors

    path = write_shape_only_safetensors(tmp_path / "full.safetensors", "F5TTS_Base")
    d = diagnose(path, vocoder_dir=_vocos(tmp_path))
    snippets = {s["config"]: s for s in d.service}
    assert set(snippets) == {"F5TTS_Base", "F5TTS_v1_Base"} and not snippets["F5TTS_Base"]["needs_remap"]
    code = snippets["F5TTS_Base"]["code"]
    assert "model = load_model(DiT, dict(dim=1024, depth=22" in code and "local_path=VOCODER_DIR" in code
    model = _exec(code)
    assert sum(p.numel() for p in model.parameters()) > 300e6
    assert all(not p.any() for p in list(model.parameters())[:5])  # the file's (all-zero) weights, not an init


@pytest.mark.parametrize("kind", ["compiled_pt", "custom", "custom_vocab", "custom_compiled"])
def test_printed_service_code_loads_strictly_after_its_remap(tmp_path, kind):
    path, flag = _build(kind, tmp_path)
    vocos = _vocos(tmp_path)
    if kind.startswith("custom"):
        cfg = tmp_path / f"{kind}.yaml"
        assert CliRunner().invoke(main, ["inspect", str(path), "--write-config", str(cfg)]).exit_code == 0
        rows = compatibility_matrix(path, config=str(cfg), vocoder_dir=vocos)
        snippets = [r.to_dict() for r in rows if r.code]
        assert [s["config"] for s in snippets] == [str(cfg)]
        assert "load_model(DiT, dict(" in snippets[0]["code"]
    else:
        out = CliRunner().invoke(main, ["matrix", str(path), "--json", "--configs", "tiny"])
        assert out.exit_code == 0
        snippets = [r for r in json.loads(out.output) if r["code"]]
        assert {s["config"] for s in snippets} == {"F5TTS_Base", "F5TTS_v1_Base"}
        assert all(s["needs_remap"] for s in snippets)  # no EMA dict: f5-tts's loader refuses it as stored
    s = snippets[0]
    target = path
    if s["needs_remap"]:
        argv = shlex.split(s["remap_command"])
        assert CliRunner().invoke(main, argv[1:]).exit_code == 0
        target = Path(argv[3])
    else:
        with pytest.raises(Exception):  # the snippet really is what loads it: a wrong file fails
            _exec(s["code"].replace(str(path.resolve()), str(tmp_path / "missing.safetensors")))
    _loads_exactly(_exec(s["code"]), target)


# -- every command that prints a command: its terminal output, read as a user reads it -------------------
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
PASS = re.compile(r"\bpass (--[a-z][a-z0-9-]*)")  # "pass --X": an option of the command that said it
PRINTED_LINE = re.compile(r"^\s*(?:once, first: |#\s+)?(f5lab (?:%s) \S.*?)\s*$" % "|".join(SUBCOMMANDS), re.M)


def options_of() -> dict[str, set[str]]:
    """Every option (all spellings) of every f5lab command."""
    out = {}
    for name, cmd in main.commands.items():
        out[name] = {o for p in cmd.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]
                     if o.startswith("--")}
    return out


def commands_printed_by(output: str) -> list[str]:
    """The f5lab commands in a command's terminal output: in backticks, and whole lines (the answer
    card's fix, a snippet's "once, first:" remap) with any trailing "# comment" cut."""
    found = [c for c in COMMAND.findall(output)]
    found += [m.split("  #")[0].strip() for m in PRINTED_LINE.findall(output)]
    return list(dict.fromkeys(c for c in found if "\n" not in c))


def check_options_named(command: str, output: str) -> None:
    """Every --option a message names exists in some f5lab command; "pass --X" in the one that said it."""
    opts = options_of()
    every = set().union(*opts.values()) | {"--help", "--version"}
    for opt in OPTION.findall(output):
        assert opt in every, f"`f5lab {command}` names {opt}, which no f5lab command has:\n{output}"
    for opt in PASS.findall(output):
        assert opt in opts[command], f"`f5lab {command}` says 'pass {opt}' but has no {opt}:\n{output}"


def cli(*argv: object):
    result = CliRunner().invoke(main, [str(a) for a in argv])
    return result, result.output  # stdout and stderr, as the terminal shows them


def run_printed(commands: list[str], path: Path, flag: str | None) -> list[str]:
    """Run each printed command as printed, and what those print in turn; every one must succeed."""
    ran: list[str] = []
    written: set[str] = set()  # --write-config targets already written by a command run here
    while commands:
        cmd = commands.pop(0)
        argv = shlex.split(cmd)
        assert argv[0] == "f5lab" and argv[1] in SUBCOMMANDS, cmd
        result, output = cli(*argv[1:])
        target = argv[argv.index("--write-config") + 1] if "--write-config" in argv else None
        if target in written:  # a second suggestion for the same file: never replaced without --force
            assert result.exit_code == 2 and "exists; pass --force" in output, output
            continue
        assert result.exit_code == 0, f"printed command failed: {cmd}\n{output}"
        written |= {target} - {None}
        check_options_named(argv[1], output)
        ran.append(cmd)
        commands += [c for c in commands_printed_by(output) if c not in ran and c not in commands]
    return ran


@pytest.mark.parametrize("kind", ["trainer_pt", "compiled_pt", "extended_vocab_safetensors", "custom",
                                  "custom_vocab"])
def test_every_command_that_prints_a_command_prints_one_that_runs(tmp_path, kind):
    """inspect, diagnose (asked or not), matrix, remap and synth refusing a config, probe and the
    report's card, run through the CLI: every command they print runs as printed, every option
    they name exists, and "pass --X" names an option of the command that says it."""
    path, flag = _build(kind, tmp_path)
    cat = ["--configs", "tiny"] if flag else []
    vocab = ["--vocab", str(path.with_name(path.stem + "_vocab.txt"))] if "vocab" in kind else []
    runs = [("inspect", [path, *cat, *vocab]), ("diagnose", [path, *cat, *vocab]),
            ("diagnose", [path, "--config", "E2TTS_Base", *cat, *vocab]), ("matrix", [path, *cat, *vocab]),
            ("remap", [path, tmp_path / "out.safetensors", "--config", "E2TTS_Base", *cat, *vocab[:0]]),
            *[("synth", [path, "--ref-audio", REF, "--ref-text", "Some call me nature.", "--text", "Hi.", "--out",
                         tmp_path / "synth", *cat, *vocab, *config]) for config in (["--config", "E2TTS_Base"], [])]]
    printed: list[str] = []
    for command, argv in runs:
        result, output = cli(command, *argv)
        assert "Traceback" not in output, output
        check_options_named(command, output)
        printed += [c for c in commands_printed_by(output) if c not in printed]
    if kind in ("trainer_pt", "compiled_pt", "custom", "custom_vocab"):
        assert printed, "this checkpoint needs a fix (or has a choice), so a command must be printed"
    run_printed(printed, path, flag)


def test_probe_and_the_report_card_print_what_runs(tmp_path):
    """probe says how to use its answer (--config, an option synth and report have); the report's card
    prints the fix and the remap a service runs first: each runs as printed."""
    path, flag = _build("compiled_pt", tmp_path)
    result, output = cli("probe", path, "--ref-audio", REF, "--ref-text", "Some call me nature.", "--configs", "tiny",
                         "--samples", "1")
    assert result.exit_code == 0, output
    check_options_named("probe", output)
    assert "tie: " in output and "use it:" not in output and "best:" not in output  # random weights: a tie
    assert f"no verdict to use: f5lab lineage {path} --base BASE decides it" in output.replace("\n", " ")
    result, output = cli("report", path, "--notebook", "02_compatibility", "--out", tmp_path / "r", "--run-id", "card")
    assert result.exit_code == 0, output
    check_options_named("report", output)
    printed = commands_printed_by(output)
    assert any(c.startswith("f5lab remap ") for c in printed), output
    run_printed(printed, path, flag)


def test_a_read_only_checkpoint_folder_gets_its_outputs_suggested_in_the_current_directory(tmp_path, monkeypatch):
    """A checkpoint in a read-only folder (a shared model store): the remap and the config a fix
    suggests go to the current directory, and the commands run as printed from there."""
    import f5lab.model.configs as configs

    path, flag = _build("compiled_pt", tmp_path / "store")
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    # root writes anywhere, so the read-only folder is declared rather than chmod-ed
    monkeypatch.setattr(configs, "writable", lambda folder: Path(folder).resolve() != path.parent.resolve())
    d = diagnose(path, catalogue=tiny_catalogue())
    remaps = [c for f in d.findings for c in COMMAND.findall(f.fix) if c.startswith("f5lab remap")]
    assert remaps and all(shlex.split(c)[3] == str(cwd / "tiny_compiled_pt.F5TTS_Base.safetensors") for c in remaps)
    assert configs.own_config_path(path) == cwd / "tiny_compiled_pt.yaml"
    run_printed(remaps[:1], path, flag)
    assert (cwd / "tiny_compiled_pt.F5TTS_Base.safetensors").exists() and not list(path.parent.glob("*.F5TTS_*"))
    monkeypatch.setattr(configs, "writable", lambda folder: False)  # and nowhere writable: it says so
    assert "read-only: give the output file a path" in configs.write_config_fix(path)


def test_suggested_names_never_double_the_stem_and_keep_the_vocab(tmp_path):
    from f5lab.model.configs import remapped_name, write_config_fix

    own = tmp_path / "x.yaml"
    assert remapped_name(tmp_path / "x.pt", own) == tmp_path / "x.remapped.safetensors"
    assert remapped_name(tmp_path / "x.pt", "F5TTS_Base") == tmp_path / "x.F5TTS_Base.safetensors"
    fix = write_config_fix(tmp_path / "x.pt", then="remap", vocab=tmp_path / "v.txt")
    assert f"--write-config {own} --vocab {tmp_path / 'v.txt'}" in fix and "x.x." not in fix
    path, flag = _build("custom_vocab", tmp_path)
    vocab = path.with_name(path.stem + "_vocab.txt")
    moved = tmp_path / "moved_vocab.txt"
    moved.write_bytes(vocab.read_bytes())
    d = diagnose(path, vocab=str(moved))
    assert all(f"--vocab {moved}" in c for f in d.findings for c in COMMAND.findall(f.fix) if "inspect" in c)


def test_the_builders_quote_every_path_and_split_back_to_the_same_words(tmp_path):
    """f5lab.commandlines: the one place a printed command is spelt; a path with spaces, quotes or
    parentheses comes back from the shell as the very path."""
    from f5lab import commandlines

    src, dst = tmp_path / "my model's (v2).pt", tmp_path / "out dir" / "x.safetensors"
    vocab, own = tmp_path / "v 1.txt", tmp_path / "own config.yaml"
    cases = {
        commandlines.remap(src, dst, own, configs="tiny", vocab_from=vocab):
            ["remap", src, dst, "--config", own, "--configs", "tiny", "--vocab-from", vocab],
        commandlines.remap(src, dst, "F5TTS_Base", configs="shipped"): ["remap", src, dst, "--config", "F5TTS_Base"],
        commandlines.diagnose(src, config=own, configs="tiny", vocab=vocab):
            ["diagnose", src, "--config", own, "--configs", "tiny", "--vocab", vocab],
        commandlines.diagnose(src): ["diagnose", src],
        commandlines.inspect_write_config(src, own, vocab=vocab): ["inspect", src, "--write-config", own, "--vocab", vocab],
        commandlines.lineage(src): ["lineage", src, "--base", "BASE"],
    }
    for line, words in cases.items():
        assert shlex.split(line) == ["f5lab", *map(str, words)], line
    assert commandlines.remap("a.pt", "b.safetensors", "F5TTS_Base", vocab_from="v.txt") == \
        "f5lab remap a.pt b.safetensors --config F5TTS_Base --vocab-from v.txt"  # plain paths stay as typed


def test_no_module_below_the_cli_spells_a_command_itself():
    """Every printed ``f5lab <command> ...`` line with a value in it comes from f5lab.commandlines."""
    package = Path(__file__).resolve().parent.parent / "f5lab"
    spelt = re.compile(r"""f["'][^"'\n]*f5lab (?:%s) [^"'\n]*\{""" % "|".join(SUBCOMMANDS + ("lineage", "sweep")))
    found = [f"{p.relative_to(package)}:{i}" for p in sorted(package.rglob("*.py"))
             if p.name != "commandlines.py" and p.parent.name != "cli"
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if spelt.search(line)]
    assert not found, f"build these with f5lab.commandlines: {found}"

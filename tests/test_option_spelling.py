"""One spelling per concept across every command of the ``f5lab`` group.

The table below is the contract: the text to speak is ``--text``/``--text-file`` everywhere, the
language ``--lang``, the device ``--device [auto|cpu|cuda]``, and so on. The tests walk every
command's click parameters, so a new command or option that spells a concept another way (or
offers other choices) fails here. Old spellings are hidden options (``f5lab.cli.main.OldSpelling``):
each still parses into its new name, with a one-line note on stderr, and none shows in --help.
"""

from __future__ import annotations

from collections import defaultdict

import click
import pytest
from click.testing import CliRunner

from f5lab.cli.main import OldSpelling, main
from f5lab.settings import MAX_SEED, RANGES

# the parameter name a concept arrives as -> (its one option, the kind of its type)
SPELLING = {
    "gen_text": ("--text", ("Text",)),
    "text_file": ("--text-file", ("Path", True, False)),
    "lang": ("--lang", ("Choice", ("pt-BR", "en"))),
    "device": ("--device", ("Choice", ("auto", "cpu", "cuda"))),
    "asr": ("--asr", ("Choice", ("auto", "pocketsphinx", "faster-whisper", "none"))),
    "asr_model_dir": ("--asr-model-dir", ("Path", False, True)),
    "configs": ("--configs", ("Choice", ("auto", "shipped", "tiny"))),
    "seed": ("--seed", ("IntRange", 0, MAX_SEED, False, False)),
    "nfe": ("--nfe", ("IntRange", 1, 1000, False, False)),
    "vocab": ("--vocab", ("Path", True, False)),
    "config": ("--config", ("ConfigRef",)),  # a name or a YAML path, the YAML checked by f5lab.files.trusted
}
# spellings a concept had before: never a visible option again
RETIRED = {"--gen-text", "--language", "--file", "--vocab-src", "--vocab-dst"}
# numeric options whose bounds come from f5lab.settings.RANGES (parameter name -> setting)
RANGED = {"nfe": "nfe", "seed": "seed", "cfg_strength": "cfg_strength", "sway": "sway", "speed": "speed",
          "duration": "duration", "samples": "samples", "loss_samples": "samples", "workers": "workers",
          "batch": "batch", "seconds": "duration"}
# one option name, two concepts, known and kept for now (each a debt, with its reason)
SAME_NAME_OTHER_CONCEPT = {
    "--vocoder": "profile's names the vocoder kind of the memory estimate; the others a vocoder folder",
    "--dtype": "profile's adds auto (what f5-tts picks per card); remap, synth and sweep cast or keep",
    "--ref-audio": "text, synth and probe leave refusing a folder to the audio reader; report and sweep to click",
    "--ref-text": "text's only sizes chunks (plain str); the others' are spoken (Text)",
}


def kind(t: click.ParamType) -> tuple:
    """What a click type accepts, as comparable data."""
    if isinstance(t, click.Choice):
        return ("Choice", tuple(t.choices))
    if isinstance(t, (click.IntRange, click.FloatRange)):
        return (type(t).__name__, t.min, t.max, t.min_open, t.max_open)
    if isinstance(t, click.Path):
        return ("Path", t.file_okay, t.dir_okay)
    return (type(t).__name__,)


def options() -> list[tuple[str, click.Option]]:
    """(command name, option) for every visible option of every command."""
    return [(name, p) for name, cmd in sorted(main.commands.items()) for p in cmd.params
            if isinstance(p, click.Option) and not p.hidden]


def old_spellings() -> list[tuple[str, OldSpelling]]:
    return [(name, p) for name, cmd in sorted(main.commands.items()) for p in cmd.params
            if isinstance(p, OldSpelling)]


def test_the_walk_sees_every_command_and_the_shared_concepts():
    names = set(main.commands)
    assert {"inspect", "diagnose", "remap", "verify", "matrix", "lineage", "report", "sweep", "doctor", "profile",
            "text", "synth", "probe", "compare", "demo", "demo-checkpoint"} <= names
    dests = {p.name for _, p in options()}
    assert set(SPELLING) <= dests, f"concepts no command takes: {set(SPELLING) - dests}"


def test_the_choices_are_the_ones_the_library_takes(tmp_path):
    from pathlib import Path

    from f5lab.errors import ConfigError
    from f5lab.model.described import catalogue_word
    from f5lab.speech.quality import ASR_CHOICES
    from f5lab.synthetic.layouts import build_checkpoint

    assert SPELLING["asr"][1][1] == ASR_CHOICES
    tiny = build_checkpoint(tmp_path / "t.safetensors", config="F5TTS_Base", scale="tiny").path
    assert [catalogue_word(Path(tiny), c) for c in SPELLING["configs"][1][1]] == ["tiny", "shipped", "tiny"]
    with pytest.raises(ConfigError):
        catalogue_word(Path(tiny), "every")


def test_each_concept_has_one_spelling_and_one_type():
    wrong = []
    for command, p in options():
        if p.name in SPELLING:
            option, expected = SPELLING[p.name]
            if p.opts != [option] or kind(p.type) != expected:
                wrong.append(f"{command} {p.opts} ({p.name}): {kind(p.type)}; want [{option!r}] {expected}")
        for opt in p.opts:
            owner = next((dest for dest, (o, _) in SPELLING.items() if o == opt), None)
            if owner is not None and p.name != owner:
                wrong.append(f"{command} {opt} arrives as {p.name!r}, not {owner!r}")
            if opt in RETIRED:
                wrong.append(f"{command} shows the retired spelling {opt}")
    assert not wrong, "\n".join(wrong)


def test_one_option_name_means_one_thing_across_commands():
    kinds: dict[str, set] = defaultdict(set)
    for _, p in options():
        for opt in p.opts + p.secondary_opts:
            kinds[opt].add(kind(p.type))
    mixed = {opt: k for opt, k in kinds.items() if len(k) > 1 and opt not in SAME_NAME_OTHER_CONCEPT}
    assert not mixed, f"one name, several types: {mixed}"


def test_numeric_settings_take_their_bounds_from_settings_ranges():
    for command, p in options():
        if p.name not in RANGED:
            continue
        r = RANGES[RANGED[p.name]]
        t = p.type
        assert (t.min, t.max) == (r.low, r.high), f"{command} {p.opts}: {t.min}..{t.max}, RANGES says {r}"
        assert bool(t.min_open) == r.low_open, f"{command} {p.opts}: low end open? RANGES says {r.low_open}"
        assert isinstance(t, click.IntRange) == r.integer, f"{command} {p.opts}: integer? RANGES says {r.integer}"


def test_no_command_declares_a_range_by_hand_for_a_ranged_setting():
    """The same test by value: every IntRange with a setting's exact bounds is that setting's."""
    for command, p in options():
        if isinstance(p.type, click.IntRange) and p.name not in RANGED:
            assert (p.type.min, p.type.max) not in {(r.low, r.high) for r in RANGES.values() if r.integer}, \
                f"{command} {p.opts} repeats a RANGES bound: take it from ranged()"


def _value(p: click.Option, tmp_path) -> str:
    """A value ``p``'s type accepts."""
    if isinstance(p.type, click.Choice):
        return p.type.choices[-1]
    if isinstance(p.type, click.Path):
        f = tmp_path / "given.txt"
        f.write_text("Olá.\n", encoding="utf-8")
        return str(f)
    return "pt"


def _required(cmd: click.Command, tmp_path) -> list[str]:
    """Arguments and required options, so that parsing alone succeeds."""
    f = tmp_path / "any.txt"
    f.write_text("x", encoding="utf-8")
    args = [str(f) for p in cmd.params if isinstance(p, click.Argument) and p.required]
    for p in cmd.params:
        if isinstance(p, click.Option) and p.required:
            args += [p.opts[0], str(f)]
    return args


@pytest.mark.parametrize("command,old", [(c, p.opts[0]) for c, p in old_spellings()])
def test_an_old_spelling_still_arrives_with_a_note(command, old, tmp_path, capsys):
    cmd = main.commands[command]
    p = next(q for q in cmd.params if isinstance(q, OldSpelling) and q.opts[0] == old)
    value = _value(p, tmp_path)
    ctx = cmd.make_context(command, [*_required(cmd, tmp_path), old, value])
    err = capsys.readouterr().err
    if p.new is None:  # retired without a successor: its value still reaches the command
        assert ctx.params[p.name] == value
        assert err.strip() == f"f5lab: note: {old} goes in the next release: {p.note}"
        return
    new = next(q for q in cmd.params if p.new in getattr(q, "opts", ()))
    assert ctx.params[new.name] == ((value,) if new.multiple else value)
    assert err.strip() == f"f5lab: note: {old} is now {p.new}; the old name goes in the next release"


def test_the_old_spellings_are_the_retired_ones():
    assert {p.opts[0] for _, p in old_spellings()} == RETIRED
    assert {c for c, p in old_spellings() if p.opts[0] == "--gen-text"} == {"report", "sweep"}


def test_old_and_new_spelling_together_are_refused_in_one_line(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("Olá.", encoding="utf-8")
    result = CliRunner().invoke(main, ["text", "--text-file", str(f), "--file", str(f)])
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and lines[-1].startswith("f5lab: error: give --text-file, not both")


def test_an_old_spelling_runs_the_command_as_the_new_one(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("Custa R$ 5 às 14h.", encoding="utf-8")
    old = CliRunner().invoke(main, ["text", "--lang", "pt-BR", "--file", str(f), "--json"])
    new = CliRunner().invoke(main, ["text", "--lang", "pt-BR", "--text-file", str(f), "--json"])
    assert old.exit_code == new.exit_code == 0, old.stderr
    assert old.stdout == new.stdout and '"normalized": "custa cinco reais às catorze horas."' in new.stdout
    assert old.stderr.strip() == "f5lab: note: --file is now --text-file; the old name goes in the next release"
    assert new.stderr == ""


@pytest.mark.parametrize("command", sorted(main.commands))
def test_help_shows_no_old_spelling(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    for _, p in old_spellings():
        assert f"{p.opts[0]} " not in result.stdout and f"{p.opts[0]}\n" not in result.stdout

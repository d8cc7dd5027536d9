"""Every fix f5lab prints is runnable as printed, and every service snippet loads in f5-tts.

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
from f5lab.testing.fixtures import build_checkpoint, custom_arch_checkpoint
from f5lab.model.inspection import inspect_checkpoint
from f5lab.compat.loading import compatibility_matrix

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

    return str(write_random_vocos(folder / "vocos"))


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
    """F5TTS(model="F5TTS_Base", ckpt_file=..., vocoder_local_path=DIR): the exact code diagnose prints."""
    from f5lab.testing.fixtures import write_shape_only_safetensors

    path = write_shape_only_safetensors(tmp_path / "full.safetensors", "F5TTS_Base")
    d = diagnose(path, vocoder_dir=_vocos(tmp_path))
    snippets = {s["config"]: s for s in d.service}
    assert set(snippets) == {"F5TTS_Base", "F5TTS_v1_Base"} and not snippets["F5TTS_Base"]["needs_remap"]
    code = snippets["F5TTS_Base"]["code"]
    assert "F5TTS(model='F5TTS_Base'" in code and "vocoder_local_path=" in code
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

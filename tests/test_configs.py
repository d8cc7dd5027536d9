"""A config of one's own, end to end: names, YAML paths (hydra interpolations included), the
config a remapped file records, clear errors for bad files, `inspect --write-config` accepted by
f5-tts's own loader, and a custom architecture through remap, profile, synth and the report."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from f5lab.model.arch import infer_spec, rank_configs
from f5lab.files.checkpoint import open_checkpoint
from f5lab.cli.commands import main
from f5lab.model.configs import (ConfigEntry, entry_from_metadata, load_config_file, resolve_config, shipped_configs,
                           tiny_catalogue)
from f5lab.errors import ConfigError
from f5lab.files.vocab import default_vocab_path
from f5lab.synthetic.layouts import CUSTOM_DIT, custom_arch_checkpoint
from f5lab.model.inspection import inspect_checkpoint, write_own_config

SHIPPED = shipped_configs()


def run(*argv: str) -> object:
    return CliRunner().invoke(main, [str(a) for a in argv])


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    """The custom-architecture fixture (DiT dim 96, depth 3, heads 3, text_dim 48) and its written config."""
    d = tmp_path_factory.mktemp("custom")
    fx = custom_arch_checkpoint(d / "old_dit.safetensors")
    cfg, _ = write_own_config(fx.path, d / "old_dit.yaml")
    return fx, cfg


@pytest.fixture(scope="module")
def custom_vocab(tmp_path_factory):
    """The same architecture fine-tuned onto an extended vocabulary (its vocab.txt beside it)."""
    d = tmp_path_factory.mktemp("custom_vocab")
    fx = custom_arch_checkpoint(d / "old_dit_pt.safetensors", layout="extended_vocab_safetensors")
    cfg, _ = write_own_config(fx.path, d / "old_dit_pt.yaml")
    return fx, cfg


# -- the resolver ----------------------------------------------------------------------------------
def test_a_name_and_a_copy_of_the_shipped_yaml_resolve_to_the_same_architecture(tmp_path):
    copy = tmp_path / "my_base.yaml"
    shutil.copy(SHIPPED["F5TTS_Base"].path, copy)
    named, pathed = resolve_config("F5TTS_Base"), resolve_config(str(copy))
    assert named.shipped and named.source == "shipped"
    assert pathed.source == "file" and pathed.name == str(copy) and not pathed.shipped
    assert (pathed.backbone, pathed.arch, pathed.mel_spec) == (named.backbone, named.arch, named.mel_spec)
    assert pathed.model_name == "F5TTS_Base" and pathed.tokenizer == "pinyin" and pathed.tokenizer_path is None


def test_a_hydra_run_config_with_interpolations_resolves(tmp_path):
    (tmp_path / ".hydra").mkdir()
    (tmp_path / "vocab.txt").write_text("".join(f"{c}\n" for c in " abc"), encoding="utf-8")
    cfg = tmp_path / ".hydra" / "config.yaml"
    cfg.write_text(textwrap.dedent("""\
        sizes: {width: 96, text: 48}
        datasets: {name: my_set}
        model:
          name: small_${datasets.name}
          tokenizer: custom
          tokenizer_path: ${hydra_dir}/vocab.txt
          backbone: DiT
          arch: {dim: '${sizes.width}', depth: 3, heads: 3, dim_head: 32, ff_mult: 2, text_dim: '${sizes.text}',
                 conv_layers: 2, text_mask_padding: true, pe_attn_head: null}
          mel_spec: {mel_spec_type: vocos, n_mel_channels: 100}
        ckpts: {save_dir: 'ckpts/${model.name}/${now:%Y-%m-%d}'}
        """).replace("${hydra_dir}", str(tmp_path)))
    entry = resolve_config(str(cfg))
    assert entry.arch["dim"] == 96 and entry.arch["text_dim"] == 48  # interpolated, and typed
    assert entry.model_name == "small_my_set"
    assert entry.tokenizer_path == str((tmp_path / "vocab.txt").resolve())


def test_a_relative_tokenizer_path_is_found_beside_the_yaml(tmp_path, monkeypatch):
    (tmp_path / "v.txt").write_text(" \na\n", encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"model": {"backbone": "DiT", "tokenizer_path": "v.txt", "arch": dict(CUSTOM_DIT)}}))
    monkeypatch.chdir("/")
    assert load_config_file(cfg).tokenizer_path == str(tmp_path / "v.txt")


def test_unknown_name_lists_the_known_ones_and_mentions_paths():
    with pytest.raises(ConfigError, match=r"unknown config 'F5TTS_Huge'; known: E2TTS_Base.*path of a YAML"):
        resolve_config("F5TTS_Huge")


BAD = {
    "missing_key": ("model:\n  backbone: DiT\n  arch: {dim: 96, heads: 3, ff_mult: 2}\n", r"model\.arch\.depth missing"),
    "backbone": ("model:\n  backbone: Transformer\n  arch: {dim: 96}\n",
                 r"model\.backbone 'Transformer' is not one of DiT, UNetT, MMDiT"),
    "no_backbone": ("model:\n  arch: {dim: 96}\n", r"model\.backbone missing"),
    "type": ("model:\n  backbone: DiT\n  arch: {dim: '96', depth: 3, heads: 3, ff_mult: 2}\n",
             r"model\.arch\.dim is '96' \(str\); expected an integer"),
    "bool_for_int": ("model:\n  backbone: DiT\n  arch: {dim: 96, depth: true, heads: 3, ff_mult: 2}\n",
                     r"model\.arch\.depth is True \(bool\); expected an integer"),
    "unknown_key": ("model:\n  backbone: MMDiT\n  arch: {dim: 96, depth: 3, heads: 3, ff_mult: 2, text_dim: 8}\n",
                    r"model\.arch\.text_dim is not an argument of f5-tts's MMDiT"),
    "loader_key": ("model:\n  backbone: DiT\n  arch: {dim: 96, depth: 3, heads: 3, ff_mult: 2, mel_dim: 80}\n",
                   r"model\.arch\.mel_dim must not be set"),
    "tokenizer": ("model:\n  backbone: DiT\n  tokenizer_path: nowhere/vocab.txt\n"
                  "  arch: {dim: 96, depth: 3, heads: 3, ff_mult: 2}\n",
                  r"model\.tokenizer_path 'nowhere/vocab\.txt' does not exist"),
    "mel_type": ("model:\n  backbone: DiT\n  arch: {dim: 96, depth: 3, heads: 3, ff_mult: 2}\n"
                 "  mel_spec: {mel_spec_type: hifigan}\n", r"model\.mel_spec\.mel_spec_type 'hifigan' is not one of vocos"),
    # issue 16: a typo'd mel_spec key was rated "exact", then crashed three commands
    "mel_typo": ("model:\n  backbone: DiT\n  arch: {dim: 96, depth: 3, heads: 3, ff_mult: 2}\n"
                 "  mel_spec: {n_mel_channel: 100}\n", r"model\.mel_spec\.n_mel_channel is not a setting of f5-tts's MelSpec"),
    "negative": ("model:\n  backbone: DiT\n  arch: {dim: -96, depth: 3, heads: 3, ff_mult: 2}\n",
                 r"model\.arch\.dim is -96; expected a positive integer"),
    # issue 16: a 5000-deep YAML was a RecursionError; a 470-byte alias bomb took 52 s and 770 MB
    "deep": ("model: " + "[" * 5000 + "]" * 5000 + "\n", r"YAML nested deeper than 64 levels"),
    "alias_bomb": ("".join(f"{a}: &{a} [" + ", ".join([f"*{p}" if p else "x"] * 9) + "]\n"
                           for p, a in zip([""] + list("abcdefgh"), "abcdefghi")) + "model: {backbone: DiT}\n",
                   r"YAML aliases expand .*alias bomb"),
    "list": ("- model\n- arch\n", r"the YAML is list, not a mapping"),
    "empty": ("", r"the YAML is empty, not a mapping"),
    "no_model": ("datasets: {name: x}\n", r"no 'model' mapping"),
    "syntax": ("model:\n  backbone: DiT\n   arch: [\n", r"not valid YAML at line \d+"),
    "interpolation": ("model:\n  backbone: DiT\n  arch: {dim: '${nowhere.dim}', depth: 3, heads: 3, ff_mult: 2}\n",
                      r"cannot resolve model\.arch\.dim"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_config_is_one_line_naming_the_file_and_the_key(tmp_path, case):
    text, pattern = BAD[case]
    cfg = tmp_path / f"{case}.yaml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        resolve_config(str(cfg))
    message = str(exc.value)
    assert message.startswith(str(cfg)) and "\n" not in message
    assert __import__("re").search(pattern, message), message


def test_bad_configs_exit_2_with_one_line_from_every_command(tmp_path, custom):
    fx, _ = custom
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(BAD["type"][0], encoding="utf-8")
    for argv in (["inspect", fx.path, "--config", cfg], ["diagnose", fx.path, "--config", cfg],
                 ["matrix", fx.path, "--config", cfg], ["remap", fx.path, tmp_path / "o.safetensors", "--config", cfg],
                 ["verify", fx.path, fx.path, "--config", cfg], ["inspect", fx.path, "--config", tmp_path / "no.yaml"]):
        result = run(*argv)
        assert result.exit_code == 2, (argv, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("f5lab: error: "), result.output
        assert "Traceback" not in result.output


# -- a config of one's own ------------------------------------------------------------------------
def test_no_shipped_or_tiny_config_builds_the_custom_fixture(custom):
    fx, _ = custom
    spec = infer_spec(open_checkpoint(fx.path).model_state().tensors)
    assert (spec.dim, spec.depth, spec.heads, spec.dim_head, spec.text_dim) == (96, 3, 3, 32, 48)
    for catalogue in (None, tiny_catalogue()):
        assert not any(c.exact for c in rank_configs(spec, catalogue))


def test_write_config_is_complete_and_commented(custom):
    fx, cfg = custom
    text = cfg.read_text()
    raw = yaml.safe_load(text)
    assert set(raw) >= {"datasets", "optim", "model", "ckpts"}  # the rest from the closest shipped config
    arch = raw["model"]["arch"]
    assert {k: arch[k] for k in CUSTOM_DIT} == CUSTOM_DIT  # every shape fact from the file
    for undecided in ("text_mask_padding", "pe_attn_head", "mel_spec_type"):
        line = next(line for line in text.splitlines() if line.strip().startswith(undecided + ":"))
        assert "# shapes cannot decide it" in line, line
    entry = resolve_config(str(cfg))
    assert rank_configs(infer_spec(open_checkpoint(fx.path).model_state().tensors), {entry.name: entry})[0].exact


def _f5tts_load(cfg_path: Path, ckpt: Path) -> torch.nn.Module:
    """f5-tts's own loader on a YAML, exactly as its API builds a model from a config."""
    from hydra.utils import get_class
    from omegaconf import OmegaConf
    from f5_tts.infer.utils_infer import load_model

    cfg = OmegaConf.load(str(cfg_path))
    cls = get_class(f"f5_tts.model.{cfg.model.backbone}")
    return load_model(cls, cfg.model.arch, str(ckpt), mel_spec_type=cfg.model.mel_spec.mel_spec_type,
                      vocab_file=cfg.model.tokenizer_path or "", device="cpu")


@pytest.mark.parametrize("which", ["custom", "custom_vocab"])
def test_f5tts_own_loader_accepts_the_written_config(which, request):
    fx, cfg = request.getfixturevalue(which)
    model = _f5tts_load(cfg, fx.path)  # load_state_dict(strict=True) inside f5-tts
    from safetensors.torch import load_file

    stored = load_file(str(fx.path))
    ours = model.state_dict()
    assert all(torch.equal(ours[k[len("ema_model."):]], v) for k, v in stored.items())
    if which == "custom_vocab":
        assert yaml.safe_load(cfg.read_text())["model"]["tokenizer_path"] == str(fx.vocab_path.resolve())


def test_a_written_config_uses_tokenizer_custom_whenever_it_needs_a_vocab(tmp_path, custom_vocab):
    """f5-tts reads model.tokenizer_path only with tokenizer: custom: a config that needs the fine-tune's
    vocab says custom, with the path (found beside it, or given with inspect --vocab) or marked REQUIRED."""
    fx, cfg = custom_vocab
    found = yaml.safe_load(cfg.read_text())["model"]
    assert found["tokenizer"] == "custom" and found["tokenizer_path"] == str(fx.vocab_path.resolve())
    alone = tmp_path / "alone" / fx.path.name
    alone.parent.mkdir()
    shutil.copy(fx.path, alone)  # no vocab.txt beside it
    out = run("inspect", alone, "--write-config", tmp_path / "alone.yaml")
    assert out.exit_code == 0, out.output
    text = (tmp_path / "alone.yaml").read_text()
    model = yaml.safe_load(text)["model"]
    assert model["tokenizer"] == "custom" and model["tokenizer_path"] is None
    assert "REQUIRED" in text and "tokenizer_path" in out.output
    given = run("inspect", alone, "--write-config", tmp_path / "given.yaml", "--vocab", fx.vocab_path)
    assert given.exit_code == 0, given.output
    model = yaml.safe_load((tmp_path / "given.yaml").read_text())["model"]
    assert model["tokenizer"] == "custom" and model["tokenizer_path"] == str(fx.vocab_path.resolve())
    assert run("diagnose", alone, "--config", tmp_path / "given.yaml").exit_code == 0  # the vocab came with it
    shown = run("inspect", alone, "--vocab", fx.vocab_path)
    assert shown.exit_code == 0 and "fits the" in shown.output and f"--vocab {fx.vocab_path}" in shown.output
    wrong = run("inspect", alone, "--write-config", tmp_path / "wrong.yaml", "--vocab", default_vocab_path())
    assert wrong.exit_code == 2 and "wrong vocab file" in wrong.output and not (tmp_path / "wrong.yaml").exists()


def test_write_config_replaces_a_file_only_with_force(tmp_path, custom):
    fx, _ = custom
    mine = tmp_path / "mine.yaml"
    mine.write_text("model: {}\n")
    result = run("inspect", fx.path, "--write-config", mine)
    assert result.exit_code == 2 and "exists; pass --force" in result.output
    assert mine.read_text() == "model: {}\n"
    ok = run("inspect", fx.path, "--write-config", tmp_path / "w.yaml")
    again = run("inspect", fx.path, "--write-config", tmp_path / "w.yaml")  # its own file too: it may hold edits
    forced = run("inspect", fx.path, "--write-config", tmp_path / "w.yaml", "--force")
    assert ok.exit_code == 0 and again.exit_code == 2 and forced.exit_code == 0, again.output


def test_inspect_ranks_a_config_file_beside_the_shipped_ones(custom):
    fx, cfg = custom
    plain = inspect_checkpoint(fx.path)
    assert not plain.best.exact and "--write-config" in " ".join(plain.notes)
    ranked = inspect_checkpoint(fx.path, config=str(cfg))
    assert ranked.best.config == str(cfg) and ranked.best.exact
    assert {c.config for c in ranked.candidates} == set(SHIPPED) | {str(cfg)}


def test_custom_architecture_end_to_end_without_touching_site_packages(tmp_path, custom):
    """inspect -> --write-config -> verified remap -> the remap loads without --config -> profile -> synth."""
    fx, cfg = custom
    before = sorted(p.name for p in (Path(SHIPPED["F5TTS_Base"].path).parent).iterdir())
    diag = run("diagnose", fx.path, "--config", cfg)
    assert diag.exit_code == 0, diag.output
    out = tmp_path / "old_dit_fp16.safetensors"
    remap = run("remap", fx.path, out, "--config", cfg, "--dtype", "fp16")
    assert remap.exit_code == 0, remap.output
    recorded = entry_from_metadata(open_checkpoint(out).metadata)
    assert recorded is not None and recorded.arch == resolve_config(str(cfg)).arch
    verify = run("verify", fx.path, out)  # the config comes from DST's metadata
    assert verify.exit_code == 0, verify.output
    assert run("matrix", out, "--json").output.count('"status": "loads"') == 1
    profile = run("profile", fx.path, "--config", cfg, "--gpu", "T4", "--measure", "cpu", "--nfe", "1",
                  "--seconds", "1", "--json")
    assert profile.exit_code == 0, profile.output
    ref = __import__("f5lab.reporting.reports", fromlist=["x"]).f5tts_example_audio()
    synth = run("synth", fx.path, "--config", cfg, "--ref-audio", ref, "--ref-text", "Some call me nature.",
                "--text", "Hi.", "--nfe", "2", "--out", tmp_path / "synth", "--json")
    assert synth.exit_code == 0, synth.output
    assert '"config": "' + str(cfg) + '"' in synth.output
    probe = run("probe", fx.path, "--ref-audio", ref, "--ref-text", "Some call me nature.", "--candidate", cfg,
                "--samples", "1")
    assert probe.exit_code == 0, probe.output
    assert sorted(p.name for p in Path(SHIPPED["F5TTS_Base"].path).parent.iterdir()) == before


def test_a_custom_vocab_config_makes_its_tokenizer_path_the_default_vocab(custom_vocab):
    from f5lab.compat.loading import load_model

    fx, cfg = custom_vocab
    model = load_model(fx.path, config=str(cfg))
    assert len(model.vocab_char_map) == len(fx.vocab_path.read_text(encoding="utf-8").splitlines())
    assert run("diagnose", fx.path, "--config", cfg).exit_code == 0
    assert run("diagnose", fx.path).exit_code == 1  # without its config: another size than any shipped one


def test_recorded_entry_never_shadows_a_shipped_name(tmp_path, make_fixture, catalogue):
    """A tiny remap records its whole (shrunk) config: it loads without --configs tiny, and the
    name F5TTS_Base given explicitly still means the shipped config."""
    from f5lab.compat.loading import choose_config
    from f5lab.compat.remap import execute_plan, plan_remap

    fx = make_fixture("F5TTS_Base", "release_safetensors")
    out = execute_plan(plan_remap(fx.path, "F5TTS_Base", catalogue=catalogue), tmp_path / "o.safetensors")
    ck = open_checkpoint(out)
    entry, how = choose_config(ck)
    assert entry.arch == catalogue["F5TTS_Base"].arch and how == "recorded in the file by f5lab remap"
    assert resolve_config("F5TTS_Base", None, ck.metadata).arch == SHIPPED["F5TTS_Base"].arch
    assert isinstance(entry, ConfigEntry) and entry.source == "recorded"


def test_report_on_a_custom_architecture_runs_every_notebook(tmp_path, custom_vocab, files_written):
    """`f5lab report old_dit.pt` (dim 192, depth 3, mel buffers stored; no --config: the report writes
    its config) and `f5lab report CKPT --config CKPT.yaml` with the YAML (and its custom vocab's path)
    in a read-only folder: all four notebooks run, exit 0, every file the run writes is inside its
    run folder (none beside the YAML), and the report says which config it used and from where
    (about a minute each)."""
    import stat

    from f5lab.reporting.reports import run_report
    from f5lab.synthetic.layouts import old_dit_checkpoint

    old = old_dit_checkpoint(tmp_path / "models" / "old_dit.pt").path
    ro = tmp_path / "readonly"
    ro.mkdir()
    cfg = ro / custom_vocab[1].name
    shutil.copy(custom_vocab[1], cfg)  # its tokenizer_path is absolute: the vocab stays where it was
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)  # root ignores it: hence the file check
    try:
        for path, config, run_id in ((old, None, "old"), (custom_vocab[0].path, str(cfg), "vocab")):
            outside = files_written(tmp_path)
            report = run_report(path, config=config, out=tmp_path / "reports", run_id=run_id, nfe=2, asr=None,
                                device="cpu", progress=False)
            assert report.ok, [(r.name, r.error) for r in report.results]
            assert [r.status for r in report.results] == ["ok"] * 4
            assert outside(report.run_dir) == []
            if config is None:
                own = report.run_dir / "old_dit.yaml"
                assert report.manifest["parameters"]["own_config"] == str(own) and own.exists()
                assert report.summary["notebooks"]["02_compatibility"]["numbers"][f"matrix.{own}"]["value"] == "loads"
            else:
                check_named_yaml_report(report, cfg, custom_vocab[0])
    finally:
        ro.chmod(stat.S_IRWXU)


def check_named_yaml_report(report, cfg, fx_vocab=None) -> None:
    """The report used the YAML named (and its vocab), wrote none of its own, and names the f5-tts code."""
    params = report.manifest["parameters"]
    assert params["config"] == str(cfg.resolve()) and params["candidates"][0] == str(cfg.resolve())
    assert params["config_source"].startswith(f"{cfg.resolve()} (written by f5lab from the checkpoint's shapes")
    assert "own_config" not in params  # the named YAML builds it: nothing written for it
    if fx_vocab is not None:
        assert params["vocab"] == str(fx_vocab.vocab_path.resolve())  # the YAML's tokenizer_path
    numbers = report.summary["notebooks"]["02_compatibility"]["numbers"]
    assert numbers[f"matrix.{cfg.resolve()}"]["value"] == "loads"
    code = numbers["service_code"]["value"][str(cfg.resolve())]
    assert "load_model(DiT, dict(" in code["code"] and not code["needs_remap"]


def test_a_hydra_run_folder_config_loads_its_checkpoint(tmp_path, custom_vocab):
    """A training run's saved .hydra/config.yaml (interpolations, a relative tokenizer_path) loads
    its checkpoint with f5lab, strictly, and names the vocab."""
    from f5lab.compat.loading import load_model

    fx, _ = custom_vocab
    run = tmp_path / "ckpts" / "small_run"
    (run / ".hydra").mkdir(parents=True)
    shutil.copy(fx.vocab_path, run / "vocab.txt")
    arch = ", ".join(f"{k}: {v}" for k, v in CUSTOM_DIT.items() if k != "dim")
    (run / ".hydra" / "config.yaml").write_text(textwrap.dedent(f"""\
        width: {CUSTOM_DIT['dim']}
        datasets: {{name: pt_br}}
        model:
          name: small_${{datasets.name}}
          tokenizer: custom
          tokenizer_path: ../vocab.txt
          backbone: DiT
          arch: {{dim: '${{width}}', {arch}}}
          mel_spec: {{mel_spec_type: vocos, n_mel_channels: 100}}
        ckpts: {{save_dir: 'ckpts/${{model.name}}'}}
        """))
    cfg = run / ".hydra" / "config.yaml"
    model = load_model(fx.path, config=str(cfg))
    assert len(model.vocab_char_map) == len(fx.vocab_path.read_text(encoding="utf-8").splitlines())
    assert run_cli_ok("diagnose", fx.path, "--config", cfg)


def run_cli_ok(*argv: object) -> bool:
    result = run(*argv)
    return result.exit_code == 0

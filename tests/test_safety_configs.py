"""Configs that another library turns into objects run nothing (issue 29, item 1): one rule
(``f5lab.files.trusted``) for every option that takes such a file.

The options come from the commands' click declarations: every parameter whose type carries
``f5lab_reads`` (``--vocoder`` folders: vocos/BigVGAN; ``--config`` YAMLs), so a new option that takes
such a file is fed the same hostile files without a new test. Each hostile file names code to run
(``subprocess.call``, ``os.system``, ``builtins.exec``, at the places vocos, jsonargparse and hydra look:
``class_path``, a nested ``init_args`` class, ``_target_``, a resolver); the run must exit 2 with one
line naming the file, and the marker file the code would create must not exist afterwards.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import click
import pytest
import yaml

from f5lab.cli.commands import main
from tests.test_params import base_argv, cheap_runs, corpus, error_lines, run, with_value  # noqa: F401

# every command that can take a file another library instantiates; a command added later with such an
# option is found by its declaration (READERS below), and needs only a cheap run in test_params.base_argv
READERS = [(name, p) for name, cmd in sorted(main.commands.items()) for p in cmd.params
           if getattr(p.type, "f5lab_reads", None)]
CODE = {  # what each payload would do if built: create the marker file
    "subprocess.call": lambda m: {"args": ["touch", str(m)]},
    "os.system": lambda m: {"command": f"touch {m}"},
    "builtins.exec": lambda m: {"source": f"open({str(m)!r}, 'w').close()"},
}


def test_the_options_that_take_such_files_are_all_declared_so():
    """Every ``--vocoder`` and ``--config`` of every command carries the declaration the rule acts on."""
    kinds = {(name, p.name): p.type.f5lab_reads for name, p in READERS}
    assert kinds[("synth", "vocoder_dir")] == "vocoder" and kinds[("report", "vocoder")] == "vocoder"
    assert kinds[("sweep", "vocoder")] == "vocoder" and kinds[("diagnose", "config")] == "config"
    for name, cmd in main.commands.items():
        for p in cmd.params:
            if {"--vocoder", "--config"} & set(getattr(p, "opts", ())) and not isinstance(p.type, click.Choice):
                if name == "demo-checkpoint":  # builds a shipped config by name: no file is read
                    continue
                assert getattr(p.type, "f5lab_reads", None), f"{name} {p.opts[0]} reads a file without the rule"


def vocos_payloads(good_vocos: Path, marker: Path) -> dict[str, dict]:
    base = yaml.safe_load((good_vocos / "config.yaml").read_text())
    out = {}
    for target, args in CODE.items():
        cfg = yaml.safe_load(yaml.safe_dump(base))
        cfg["backbone"] = {"class_path": target, "init_args": args(marker)}
        out[f"backbone={target}"] = cfg
    nested = yaml.safe_load(yaml.safe_dump(base))  # jsonargparse builds a nested class in init_args too
    nested["head"]["init_args"]["padding"] = {"class_path": "subprocess.call", "init_args": CODE["subprocess.call"](marker)}
    out["nested class"] = nested
    hydra = yaml.safe_load(yaml.safe_dump(base))
    hydra["extra"] = {"_target_": "os.system", "command": f"touch {marker}"}
    out["_target_"] = hydra
    downloads = yaml.safe_load(yaml.safe_dump(base))  # a real vocos class, but one that downloads encodec
    downloads["feature_extractor"] = {"class_path": "vocos.feature_extractors.EncodecFeatures", "init_args": {}}
    out["a vocos class that downloads"] = downloads
    module = yaml.safe_load(yaml.safe_dump(base))  # a module path inside vocos that is not one of its classes
    module["head"]["class_path"] = "vocos.pretrained.instantiate_class"
    out["a vocos function"] = module
    return out


def config_payloads(marker: Path) -> dict[str, str]:
    arch = "  arch: {dim: 64, depth: 2, heads: 4, ff_mult: 2, text_dim: 32, conv_layers: 4}\n"
    out = {}
    for target, args in CODE.items():
        out[f"backbone={target}"] = yaml.safe_dump({"model": {"backbone": {"class_path": target, "init_args": args(marker)},
                                                              "arch": {"dim": 64, "depth": 2, "heads": 4, "ff_mult": 2}}})
        out[f"_target_={target}"] = f"_target_: {target}\nmodel:\n  backbone: DiT\n{arch}"
    out["_target_ in arch"] = f"model:\n  backbone: DiT\n{arch}  vocoder:\n    _target_: os.system\n    command: touch {marker}\n"
    out["oc.env resolver"] = f"model:\n  name: ${{oc.env:HOME}}\n  backbone: DiT\n{arch}"
    out["python tag"] = f"model: !!python/object/apply:os.system ['touch {marker}']\n"
    out["duplicate key"] = f"model:\n  backbone: DiT\n  backbone: UNetT\n{arch}"
    out["binary"] = "model:\n  backbone: DiT\x00\x01\x02\n"
    return out


@pytest.fixture(scope="module")
def good_vocos(tmp_path_factory) -> Path:
    from f5lab.speech.vocoders import write_random_vocos

    return write_random_vocos(tmp_path_factory.mktemp("vocos") / "vocos")


def _refused(command: str, argv: list[str], marker: Path, names: str) -> None:
    result = run(argv)
    lines = error_lines(result)
    assert result.exit_code == 2 and len(lines) == 1, (command, result.exit_code, result.output[-1500:])
    assert names in lines[0], lines[0]
    assert not marker.exists(), f"{command}: the config's code ran"


@pytest.mark.parametrize("command, param", READERS, ids=[f"{n}:{p.name}" for n, p in READERS])
def test_a_config_that_names_code_is_refused_and_runs_nothing(command, param, corpus, cheap_runs, good_vocos,
                                                             tmp_path):
    marker = tmp_path / "MARKER"
    if param.type.f5lab_reads == "vocoder":
        weights = (good_vocos / "pytorch_model.bin").read_bytes()
        for i, (label, cfg) in enumerate(vocos_payloads(good_vocos, marker).items()):
            d = tmp_path / f"voc{i}"
            d.mkdir()
            (d / "config.yaml").write_text(yaml.safe_dump(cfg))
            (d / "pytorch_model.bin").write_bytes(weights)
            argv = with_value(command, [command, *base_argv(command, corpus, tmp_path / f"o{i}")], param, str(d))
            _refused(f"{command} ({label})", argv, marker, "config.yaml")
    else:
        for i, (label, text) in enumerate(config_payloads(marker).items()):
            f = tmp_path / f"evil{i}.yaml"
            f.write_text(text)
            argv = with_value(command, [command, *base_argv(command, corpus, tmp_path / f"o{i}")], param, str(f))
            _refused(f"{command} ({label})", argv, marker, f.name)


def _mismatched(good_vocos: Path, d: Path) -> Path:
    d.mkdir()
    cfg = yaml.safe_load((good_vocos / "config.yaml").read_text())
    cfg["backbone"]["init_args"]["dim"] = 48
    cfg["head"]["init_args"]["dim"] = 48
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    (d / "pytorch_model.bin").write_bytes((good_vocos / "pytorch_model.bin").read_bytes())
    return d


class _Boom:
    def __reduce__(self):
        import os

        return (os.system, ("touch MARKER_FROM_PICKLE",))


VOCODER_PARAMS = [(n, p) for n, p in READERS if p.type.f5lab_reads == "vocoder"]


@pytest.mark.parametrize("command, param", VOCODER_PARAMS, ids=[f"{n}:{p.name}" for n, p in VOCODER_PARAMS])
def test_vocoder_weights_that_do_not_fit_or_run_code_are_one_line(command, param, corpus, cheap_runs, good_vocos,
                                                                 tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = _mismatched(good_vocos, tmp_path / "mismatch")
    argv = with_value(command, [command, *base_argv(command, corpus, tmp_path / "o1")], param, str(bad))
    _refused(command, argv, tmp_path / "MARKER", "does not fit")
    evil = tmp_path / "pickled"
    evil.mkdir()
    (evil / "config.yaml").write_text((good_vocos / "config.yaml").read_text())
    (evil / "pytorch_model.bin").write_bytes(pickle.dumps({"x": _Boom()}))
    argv = with_value(command, [command, *base_argv(command, corpus, tmp_path / "o2")], param, str(evil))
    _refused(command, argv, tmp_path / "MARKER_FROM_PICKLE", "pytorch_model.bin")


def test_the_real_vocos_layout_still_loads_and_decodes(good_vocos):
    import torch

    from f5lab.speech.vocoders import load_vocoder

    voc = load_vocoder(good_vocos)
    assert voc.kind == "vocos" and voc.decode(torch.zeros(1, 100, 8)).shape == (1, 8 * 256)


def test_the_rule_itself():
    from f5lab.files.trusted import UntrustedConfig, refuse_class_paths, refuse_resolvers

    refuse_class_paths({"backbone": {"class_path": "vocos.models.VocosBackbone"}}, "c.yaml",
                       {"backbone": ("vocos.models.VocosBackbone",)})
    for tree in ({"backbone": {"class_path": "os.system"}}, {"a": [{"_target_": "x.y"}]},
                 {"backbone": {"init_args": {"class_path": "vocos.models.VocosBackbone"}}}):
        with pytest.raises(UntrustedConfig, match="c.yaml"):
            refuse_class_paths(tree, "c.yaml", {"backbone": ("vocos.models.VocosBackbone",)})
    refuse_resolvers({"name": "${model.x}_${now:%Y}"}, "c.yaml")
    with pytest.raises(UntrustedConfig, match="oc.env"):
        refuse_resolvers({"a": ["${oc.env:SECRET}"]}, "c.yaml")

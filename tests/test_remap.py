"""remap: plans, streamed safetensors output, vocab rows by token, dtype casts, refusals, no half files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from f5lab.cli.commands import main
from f5lab.errors import ConfigError, F5LabError
from f5lab.model.inspection import file_sha256
from f5lab.compat.loading import build_model, load_state
from f5lab.compat.verify import verify
from f5lab.compat.remap import RemapError, build_header, execute_plan, plan_remap
from f5lab.files.vocab import default_vocab_path, read_vocab, write_vocab
from f5lab.outputs import OutputError
from tests.conftest import ALL_LAYOUTS

TEXT = "transformer.text_embed.text_embed.weight"


def source_state(fixture):
    from f5lab.files.checkpoint import open_checkpoint

    ckpt = open_checkpoint(fixture.path)
    return dict(ckpt.iter_tensors(ckpt.model_state()))


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_every_layout_remaps_loads_strictly_and_verifies(make_fixture, catalogue, tmp_path, layout):
    fx = make_fixture("F5TTS_Base", layout)
    vocab = str(fx.vocab_path) if fx.vocab_path else None
    plan = plan_remap(fx.path, "F5TTS_Base", vocab_from=vocab, catalogue=catalogue)
    json.dumps(plan.to_dict())  # pure data
    out = execute_plan(plan, tmp_path / "out.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.safetensors"]  # no temporary left
    tensors = load_file(str(out))
    model = build_model(catalogue["F5TTS_Base"], plan.text_num_embeds)
    load_state(model, tensors)  # strict=True
    src = source_state(fx)
    assert set(tensors) == set(src)
    assert all(torch.equal(tensors[k], src[k]) for k in src)
    check = verify(fx.path, out, vocab_src=vocab, vocab_dst=vocab, catalogue=catalogue)
    assert check.ok and check.forward_max_abs_error == 0.0
    assert check.tensors_equal == check.tensors_checked == len(src)
    assert check.config == "F5TTS_Base" and check.config_reason == "recorded in DST by f5lab remap"


def test_plan_contents_for_a_trainer_file(make_fixture, catalogue):
    plan = plan_remap(make_fixture("F5TTS_Base", "trainer_pt").path, "F5TTS_Base", catalogue=catalogue)
    assert plan.source_dict == "ema_model_state_dict" and plan.prefixes_stripped == ["ema_model."]
    reasons = {d["key"]: d["reason"] for d in plan.dropped}
    assert reasons["initted"] == reasons["step"] == "EMA bookkeeping"
    assert reasons["optimizer_state_dict"] == "not used for inference"
    assert reasons["model_state_dict"] == "the other state dict"
    assert {s.op for s in plan.steps} == {"copy"}
    raw = plan_remap(make_fixture("F5TTS_Base", "trainer_pt").path, "F5TTS_Base", use_ema=False, catalogue=catalogue)
    assert raw.source_dict == "model_state_dict" and raw.prefixes_stripped == []


def test_provenance_metadata(make_fixture, catalogue, tmp_path):
    fx = make_fixture("F5TTS_Base", "release_pt")
    out = execute_plan(plan_remap(fx.path, "F5TTS_Base", catalogue=catalogue), tmp_path / "o.safetensors")
    with safe_open(str(out), framework="pt") as fh:
        meta = fh.metadata()
    assert meta["f5lab_source_sha256"] == file_sha256(fx.path)
    assert meta["f5lab_config"] == "F5TTS_Base" and meta["f5_tts_version"] == "1.1.22"
    assert meta["f5lab_version"] and meta["f5lab_source"] == fx.path.name
    assert json.loads(meta["f5lab_plan"])["source_dict"] == "ema_model_state_dict"


@pytest.mark.parametrize("dtype,name", [("fp16", torch.float16), ("bf16", torch.bfloat16)])
def test_dtype_cast_is_exact_per_tensor_and_bounded_in_the_forward_pass(make_fixture, catalogue, tmp_path, dtype,
                                                                          name):
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    plan = plan_remap(fx.path, "F5TTS_Base", dtype=dtype, catalogue=catalogue)
    out = execute_plan(plan, tmp_path / "o.safetensors")
    tensors, src = load_file(str(out)), source_state(fx)
    assert all(t.dtype == name for t in tensors.values())
    assert all(torch.equal(tensors[k], src[k].to(name)) for k in src)
    check = verify(fx.path, out, catalogue=catalogue)
    assert check.ok and check.tensors_equal == len(src)
    assert 0 < check.forward_max_abs_error and check.forward_relative_error <= check.forward_tolerance


def _new_vocab(old: list[str], tmp_path: Path) -> tuple[Path, list[str], list[str]]:
    """Another vocabulary: old tokens reordered, five dropped, three brand-new ones."""
    gen = torch.Generator().manual_seed(3)
    order = torch.randperm(len(old), generator=gen).tolist()
    dropped = [old[i] for i in order[:5]]
    added = ["\u4e00", "\u4e8c", "\u4e09"]
    new = [old[i] for i in order[5:]] + added
    return write_vocab(new, tmp_path / "new_vocab.txt"), dropped, added


@pytest.mark.parametrize("init", ["mean", "randn"])
def test_vocab_remap_moves_rows_by_token(make_fixture, catalogue, tmp_path, init):
    fx = make_fixture("F5TTS_Base", "extended_vocab_safetensors")
    old = read_vocab(fx.vocab_path)
    new_path, dropped, added = _new_vocab(old, tmp_path)
    new = read_vocab(new_path)
    plan = plan_remap(fx.path, "F5TTS_Base", vocab_from=str(fx.vocab_path), vocab_to=str(new_path),
                      catalogue=catalogue, new_rows=init)
    assert sorted(plan.vocab.dropped) == sorted(dropped) and plan.vocab.added == added
    assert plan.vocab.shared == len(old) - 5 and plan.text_num_embeds == len(new)
    out = execute_plan(plan, tmp_path / "o.safetensors")
    got, before = load_file(str(out))[TEXT], source_state(fx)[TEXT]
    assert got.shape == (len(new) + 1, before.shape[1])
    assert torch.equal(got[0], before[0])  # the filler row
    old_id = {t: i for i, t in enumerate(old)}
    for i, token in enumerate(new):
        if token in old_id:  # bit-identical, at the new index
            assert torch.equal(got[i + 1], before[old_id[token] + 1]), token
    fresh = got[[new.index(t) + 1 for t in added]]
    if init == "mean":
        expected = before[1:].mean(dim=0).expand(3, -1)
    else:
        expected = torch.randn((3, before.shape[1]), generator=torch.Generator().manual_seed(666))
    assert torch.equal(fresh, expected)
    check = verify(fx.path, out, vocab_src=str(fx.vocab_path), vocab_dst=str(new_path), catalogue=catalogue)
    assert check.ok and check.shared_token_rows == check.shared_token_rows_total == len(old) - 5
    assert check.forward_max_abs_error == 0.0


def test_refuses_what_no_plan_maps(make_fixture, catalogue, tmp_path):
    dit = make_fixture("F5TTS_Base", "release_safetensors")
    with pytest.raises(RemapError, match="cannot be fixed by remapping: the checkpoint is DiT, config E2TTS_Base "
                                         "builds UNetT.*use config F5TTS_Base or F5TTS_v1_Base"):
        plan_remap(dit.path, "E2TTS_Base", catalogue=catalogue)
    with pytest.raises(RemapError, match="dim 64 vs 48.*retraining"):
        plan_remap(dit.path, "F5TTS_Small", catalogue=catalogue)
    partial = {k: v for k, v in source_state(dit).items() if "transformer_blocks.1.attn.to_k" not in k}
    save_file({"ema_model." + k: v for k, v in partial.items()}, str(tmp_path / "partial.safetensors"))
    with pytest.raises(RemapError, match=r"2 keys missing \(transformer.transformer_blocks.\* \(2 keys\)\).*no plan reconciles"):
        plan_remap(tmp_path / "partial.safetensors", "F5TTS_Base", catalogue=catalogue)


def test_wrong_vocab_file_is_refused(make_fixture, catalogue):
    fx = make_fixture("F5TTS_Base", "extended_vocab_safetensors")
    with pytest.raises(ConfigError, match="wrong vocab file: .* has 2545 tokens .* 2586 rows"):
        plan_remap(fx.path, "F5TTS_Base", vocab_from=str(default_vocab_path()), vocab_to=str(fx.vocab_path),
                   catalogue=catalogue)


def test_destination_rules(make_fixture, catalogue, tmp_path):
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    plan = plan_remap(fx.path, "F5TTS_Base", catalogue=catalogue)
    with pytest.raises(OutputError, match="is an input of this command"):  # f5lab.outputs' one rule
        execute_plan(plan, fx.path, force=True)
    dst = tmp_path / "o.safetensors"
    dst.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="exists; pass --force"):
        execute_plan(plan, dst)
    assert dst.read_bytes() == b"keep me"
    execute_plan(plan, dst, force=True)
    assert len(load_file(str(dst))) == len(plan.steps)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="is a file for the output"):
        execute_plan(plan, tmp_path / "afile" / "o.safetensors")
    with pytest.raises((RemapError, OSError)):
        execute_plan(plan, "/proc/f5lab_cannot_write_here.safetensors")
    assert not Path("/proc/f5lab_cannot_write_here.safetensors").exists()


def test_interrupted_read_leaves_no_half_file_and_keeps_old_dst(make_fixture, catalogue, tmp_path):
    src = tmp_path / "src.safetensors"
    shutil.copy(make_fixture("F5TTS_Base", "release_safetensors").path, src)
    plan = plan_remap(src, "F5TTS_Base", catalogue=catalogue)
    with open(src, "r+b") as fh:  # the source is cut short after planning: the stream fails mid-way
        fh.truncate(src.stat().st_size // 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "o.safetensors").write_bytes(b"previous version")
    # the stream re-reads the validated header, so the cut is caught there (CheckpointError "corrupt or
    # truncated"), or by a read that comes up short (RemapError "truncated while reading")
    with pytest.raises(F5LabError, match="truncated"):
        execute_plan(plan, out / "o.safetensors", force=True)
    assert [p.name for p in out.iterdir()] == ["o.safetensors"]
    assert (out / "o.safetensors").read_bytes() == b"previous version"


def test_disk_full_leaves_no_half_file(make_fixture, catalogue, tmp_path):
    """A real write limit (RLIMIT_FSIZE) in a child process: the write fails with EFBIG mid-stream."""
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    plan_remap(fx.path, "F5TTS_Base", catalogue=catalogue)  # warm the signature cache outside the limit
    out = tmp_path / "out"
    out.mkdir()
    limit = fx.path.stat().st_size // 2
    script = textwrap.dedent(f"""
        import errno, resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        from f5lab.synthetic.layouts import tiny_catalogue
        from f5lab.compat.remap import execute_plan, plan_remap
        plan = plan_remap({str(fx.path)!r}, "F5TTS_Base", catalogue=tiny_catalogue())
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
        try:
            execute_plan(plan, {str(out / "o.safetensors")!r})
        except OSError as exc:
            print("errno", errno.errorcode[exc.errno])
            sys.exit(3)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "errno EFBIG" in proc.stdout
    assert list(out.iterdir()) == []


def test_header_is_safetensors_and_never_sniffed_as_pickle():
    from f5lab.compat.remap import TensorStep

    for n in range(1, 40):  # header lengths cross every residue mod 256
        steps = [TensorStep(dst=f"t{i}", src=f"t{i}", shape=[2], dtype="F32", src_shape=[2], src_dtype="F32",
                            op="copy") for i in range(n)]
        head = build_header(steps, {"format": "pt"})
        assert head[0] != 0x80 and (len(head) - 8) % 8 == 0


def test_cli_remap_refusals(make_fixture, tmp_path):
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    dst = tmp_path / "o.safetensors"
    dst.write_bytes(b"x")
    result = CliRunner().invoke(main, ["remap", str(fx.path), str(dst), "--config", "F5TTS_Base"])
    assert result.exit_code == 2 and "exists; pass --force" in result.output
    result = CliRunner().invoke(main, ["remap", str(fx.path), str(fx.path), "--config", "F5TTS_Base", "--force"])
    assert result.exit_code == 2 and "is an input of this command" in result.output


def install_tiny_configs(monkeypatch, catalogue) -> None:
    """The CLI ranks against the installed configs; make those the tiny ones (f5lab's own
    catalogue function is swapped, f5-tts itself is untouched). Fixtures are built before."""
    import f5lab.model.arch
    import f5lab.model.configs
    import f5lab.compat.diagnose
    import f5lab.compat.loading

    for module in (f5lab.model.configs, f5lab.model.arch, f5lab.compat.loading, f5lab.compat.diagnose):  # configs: the resolver's catalogue
        monkeypatch.setattr(module, "shipped_configs", lambda: catalogue)


def test_cli_remap_verify_diagnose_end_to_end(make_fixture, catalogue, tmp_path, monkeypatch):
    fx = make_fixture("F5TTS_Base", "trainer_pt")
    install_tiny_configs(monkeypatch, catalogue)
    dst = tmp_path / "model.safetensors"
    runner = CliRunner()
    dry = runner.invoke(main, ["remap", str(fx.path), str(dst), "--config", "F5TTS_Base", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["source_dict"] == "ema_model_state_dict" and not dst.exists()
    done = runner.invoke(main, ["remap", str(fx.path), str(dst), "--config", "F5TTS_Base", "--dtype", "bf16"])
    assert done.exit_code == 0, done.output
    assert "verified: DST computes what SRC computes" in done.output and dst.exists()
    check = runner.invoke(main, ["verify", str(fx.path), str(dst), "--json"])
    assert check.exit_code == 0 and json.loads(check.output)["ok"] is True
    seed = runner.invoke(main, ["diagnose", str(fx.path), "--config", "E2TTS_Base", "--json"])
    assert seed.exit_code == 1
    codes = [f["code"] for f in json.loads(seed.output)["findings"]]
    assert codes[0] == "backbone_mismatch" and "loads" in codes
    refused = runner.invoke(main, ["remap", str(fx.path), str(tmp_path / "e2.safetensors"), "--config", "E2TTS_Base"])
    assert refused.exit_code == 2 and "cannot be fixed by remapping" in refused.output
    assert not (tmp_path / "e2.safetensors").exists()

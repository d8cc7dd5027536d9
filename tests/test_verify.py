"""verify: models built on the mapped files (bit-identical to a normal build), zero-output
checkpoints, vocabulary remaps checked without their vocab files, and DST being another model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from f5lab.cli.commands import main
from f5lab.errors import ConfigError
from f5lab.synthetic.layouts import build_checkpoint
from f5lab.compat.loading import build_model, load_state
from f5lab.compat.verify import Verification, build_assigned, verify
from f5lab.compat.remap import execute_plan, plan_remap
from f5lab.cli.compat import show_verification
from f5lab.files.vocab import read_vocab, write_vocab

PROJ_OUT = ("transformer.proj_out.weight", "transformer.proj_out.bias")


def run_cli(*args: str):
    """The command as a user runs it; an uncaught exception fails the test (no traceback allowed)."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_one_line_error(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("f5lab: error: "), result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]


def rewrite(path: Path, out: Path, change=None, metadata: bool = True) -> Path:
    """A copy of a .safetensors file with ``change(tensors)`` applied (metadata kept unless told)."""
    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
    if change is not None:
        change(tensors)
    save_file(tensors, str(out), metadata=meta if metadata else {"format": "pt"})
    return out


def zero_output(tensors: dict) -> None:
    """Untrained f5-tts init: the output projection is all zeros, so the model outputs exactly 0."""
    for key in tensors:
        if key.endswith(PROJ_OUT):
            tensors[key] = torch.zeros_like(tensors[key])


@pytest.fixture(scope="module")
def zero_seed(make_fixture, tmp_path_factory) -> Path:
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    return rewrite(fx.path, tmp_path_factory.mktemp("zero") / "seed.safetensors", zero_output)


# -- models built on the mapped file -----------------------------------------------------------------
@pytest.mark.parametrize("config", ["F5TTS_Base", "E2TTS_Base"])
def test_build_assigned_computes_bit_for_bit_what_a_normal_build_does(make_fixture, catalogue, config):
    fx = make_fixture(config, "release_safetensors")
    entry = catalogue[config]
    plan = plan_remap(fx.path, entry, catalogue=catalogue)
    tensors = load_file(str(fx.path))
    mapped = {k.removeprefix("ema_model."): v for k, v in tensors.items()}
    normal = load_state(build_model(entry, plan.text_num_embeds), dict(mapped))
    built = build_assigned(entry, plan.text_num_embeds, mapped)
    assert not built.training
    assert not any(t.is_meta for t in [*built.parameters(), *built.buffers()])
    # the weights are the given tensors themselves (no copy), the unsaved buffers computed for real
    assert all(p.data_ptr() == mapped[k].data_ptr() for k, p in built.named_parameters())
    buffers = dict(normal.named_buffers())
    assert set(buffers) - set(normal.state_dict())  # some are not saved (freqs_cis, dummy): built for real
    assert set(dict(built.named_buffers())) == set(buffers)
    assert all(torch.equal(b, buffers[k]) for k, b in built.named_buffers())
    gen = torch.Generator().manual_seed(1)
    x, cond = torch.randn((2, 24, 100), generator=gen), torch.randn((2, 24, 100), generator=gen)
    text, time = torch.randint(1, 200, (2, 12), generator=gen), torch.rand(2, generator=gen)
    with torch.no_grad():
        want = normal.transformer(x=x, cond=cond, text=text, time=time)
        got = built.transformer(x=x, cond=cond, text=text, time=time)
    assert want.abs().max() > 0 and torch.equal(got, want)


def test_verify_result_unchanged_for_fp16(make_fixture, catalogue, tmp_path):
    """fp16 weights are widened one at a time; the forward error is what fp32 weights cast to fp16 give."""
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    out = execute_plan(plan_remap(fx.path, "F5TTS_Base", dtype="fp16", catalogue=catalogue), tmp_path / "h.safetensors")
    check = verify(fx.path, out, catalogue=catalogue)
    entry = catalogue["F5TTS_Base"]
    ref = load_state(build_model(entry, 2545), {k.removeprefix("ema_model."): v for k, v in load_file(str(fx.path)).items()})
    half = load_state(build_model(entry, 2545), {k: v.float() for k, v in load_file(str(out)).items()})
    gen = torch.Generator().manual_seed(0)
    tokens = read_vocab(None)
    picks = [tokens[i] for i in torch.randint(len(tokens), (16,), generator=gen).tolist()]
    ids = {t: i for i, t in enumerate(tokens)}
    x, cond = torch.randn((1, 32, 100), generator=gen), torch.randn((1, 32, 100), generator=gen)
    inputs = dict(x=x, cond=cond, text=torch.tensor([[ids[t] for t in picks]]), time=torch.full((1,), 0.5))
    with torch.no_grad():
        a, b = ref.transformer(**inputs), half.transformer(**inputs)
    assert check.ok and check.tensors_equal == check.tensors_checked == 84
    assert check.forward_max_abs_error == (a.double() - b.double()).abs().max().item() > 0
    assert check.forward_max_abs_reference == a.abs().max().item()


# -- §2.1: an exactly zero output ------------------------------------------------------------------
def test_zero_output_copy_verifies(zero_seed, catalogue, tmp_path, capsys):
    out = execute_plan(plan_remap(zero_seed, "F5TTS_Base", catalogue=catalogue), tmp_path / "out.safetensors")
    check = verify(zero_seed, out, catalogue=catalogue)
    assert check.forward_max_abs_error == check.forward_max_abs_reference == 0.0
    assert check.forward_relative_error == 0.0 and check.ok and check.reason == ""
    assert json.loads(json.dumps(check.to_dict(), allow_nan=False))["ok"] is True
    show_verification(check)
    shown = capsys.readouterr().out
    assert "relative 0: identical outputs" in shown and "None" not in shown and "nan" not in shown
    assert "verified: DST computes what SRC computes" in shown


def test_zero_reference_against_a_nonzero_output_is_not_verified_and_says_why(zero_seed, catalogue, tmp_path,
                                                                                 capsys):
    good = execute_plan(plan_remap(zero_seed, "F5TTS_Base", catalogue=catalogue), tmp_path / "good.safetensors")

    def nudge(tensors):
        tensors["transformer.proj_out.bias"] = tensors["transformer.proj_out.bias"] + 0.5

    bad = rewrite(good, tmp_path / "bad.safetensors", nudge)
    check = verify(zero_seed, bad, catalogue=catalogue)
    assert not check.ok and check.mismatched == ["transformer.proj_out.bias"]
    assert check.forward_max_abs_reference == 0.0 and check.forward_max_abs_error == pytest.approx(0.5)
    assert check.forward_relative_error is None
    assert json.loads(json.dumps(check.to_dict(), allow_nan=False))["forward_relative_error"] is None
    show_verification(check)
    shown = capsys.readouterr().out
    assert "relative error undefined: SRC's output is all zeros and DST's is not" in shown
    assert "None" not in shown and "NOT verified" in shown


def test_nan_weights_copied_verify_with_plain_json(make_fixture, catalogue, tmp_path):
    def poison(tensors):
        tensors["ema_model.transformer.proj_out.bias"][0] = float("nan")

    src = rewrite(make_fixture("F5TTS_Base", "release_safetensors").path, tmp_path / "nan.safetensors", poison)
    out = execute_plan(plan_remap(src, "F5TTS_Base", catalogue=catalogue), tmp_path / "out.safetensors")
    check = verify(src, out, catalogue=catalogue)
    assert check.tensors_equal == check.tensors_checked == 84 and check.forward_max_abs_error == 0.0
    assert check.ok
    assert json.loads(json.dumps(check.to_dict(), allow_nan=False))["forward_max_abs_reference"] is None


def test_cli_remap_and_verify_of_a_zero_output_checkpoint(zero_seed, tmp_path):
    out = tmp_path / "out.safetensors"
    done = run_cli("remap", zero_seed, out, "--config", "F5TTS_Base", "--configs", "tiny")
    assert done.exit_code == 0, done.output
    assert "tensors equal: 84/84" in done.output and "verified: DST computes what SRC computes" in done.output
    assert "Traceback" not in done.output and "None" not in done.output
    again = run_cli("remap", zero_seed, tmp_path / "again.safetensors", "--config", "F5TTS_Base", "--configs", "tiny",
                    "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["verification"]["ok"] is True
    check = run_cli("verify", zero_seed, out, "--configs", "tiny", "--json")
    assert check.exit_code == 0, check.output
    got = json.loads(check.stdout)
    assert got["ok"] is True and got["forward_relative_error"] == 0.0 and got["tensors_equal"] == 84


# -- §2.9: the vocab files a vocabulary remap needs ------------------------------------------------------
@pytest.fixture(scope="module")
def vocab_remap(make_fixture, tmp_path_factory):
    """An extended-vocabulary fine-tune remapped onto another vocabulary (five tokens dropped)."""
    fx = make_fixture("F5TTS_Base", "extended_vocab_safetensors")
    work = tmp_path_factory.mktemp("vocab")
    new = write_vocab(read_vocab(fx.vocab_path)[:-5], work / "new_vocab.txt")
    dst = work / "dst.safetensors"
    done = run_cli("remap", fx.path, dst, "--config", "F5TTS_Base", "--configs", "tiny",
                   "--vocab-from", fx.vocab_path, "--vocab-to", new)
    assert done.exit_code == 0, done.output
    return fx.path, dst, fx.vocab_path, new


@pytest.mark.parametrize("spelling", [("--vocab-from", "--vocab-to"), ("--vocab-src", "--vocab-dst")])
def test_cli_verify_with_both_vocab_files_verifies(vocab_remap, spelling):
    """remap's spelling, and verify's old one (kept, hidden from --help)."""
    src, dst, vocab_src, vocab_dst = vocab_remap
    result = run_cli("verify", src, dst, "--configs", "tiny", spelling[0], vocab_src, spelling[1], vocab_dst,
                     "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["ok"] is True and got["shared_token_rows"] == got["shared_token_rows_total"] == 2580


def test_cli_verify_without_vocab_dst_names_the_option(vocab_remap):
    src, dst, _, _ = vocab_remap
    assert_one_line_error(run_cli("verify", src, dst, "--configs", "tiny"), "--vocab-to", "new_vocab.txt",
                          str(dst))


def test_cli_verify_without_vocab_src_names_the_option(vocab_remap):
    src, dst, _, vocab_dst = vocab_remap
    assert_one_line_error(run_cli("verify", src, dst, "--configs", "tiny", "--vocab-to", vocab_dst), "--vocab-from")


def test_cli_verify_with_the_wrong_vocab_dst_names_the_option(vocab_remap):
    src, dst, vocab_src, _ = vocab_remap
    assert_one_line_error(run_cli("verify", src, dst, "--configs", "tiny", "--vocab-from", vocab_src,
                                  "--vocab-to", vocab_src), "--vocab-to", "not the vocab.txt DST was remapped with")


def test_cli_verify_without_vocab_on_a_file_without_provenance(vocab_remap, tmp_path):
    """No f5lab metadata to go by: the text embedding's row count alone says what is missing."""
    src, dst, vocab_src, _ = vocab_remap
    bare = rewrite(dst, tmp_path / "bare.safetensors", metadata=False)
    assert_one_line_error(run_cli("verify", src, bare, "--configs", "tiny", "--config", "F5TTS_Base",
                                  "--vocab-from", vocab_src), "--vocab-to", "2581 rows", "2586")
    wrong = write_vocab(read_vocab(vocab_src)[:-2], tmp_path / "wrong_vocab.txt")
    assert_one_line_error(run_cli("verify", src, bare, "--configs", "tiny", "--config", "F5TTS_Base",
                                  "--vocab-from", vocab_src, "--vocab-to", wrong), "--vocab-to", "2581 rows")


def test_library_raises_config_error_without_vocab(vocab_remap, catalogue):
    src, dst, vocab_src, _ = vocab_remap
    with pytest.raises(ConfigError, match="--vocab-to"):
        verify(src, dst, vocab_src=str(vocab_src), catalogue=catalogue)


# -- §2.9: DST is another model ---------------------------------------------------------------------
def test_cli_verify_against_another_architecture_is_not_verified(make_fixture, tmp_path):
    src = make_fixture("F5TTS_Base", "release_safetensors").path
    e2 = make_fixture("E2TTS_Base", "release_safetensors").path
    dst = tmp_path / "e2.safetensors"
    assert run_cli("remap", e2, dst, "--config", "E2TTS_Base", "--configs", "tiny", "--no-verify").exit_code == 0
    result = run_cli("verify", src, dst, "--configs", "tiny")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "NOT verified" in result.stdout
    assert "SRC does not fit E2TTS_Base, the config DST records" in result.stdout
    got = json.loads(run_cli("verify", src, dst, "--configs", "tiny", "--json").stdout)
    assert got["ok"] is False and "the checkpoint is DiT" in got["reason"]


def test_cli_verify_against_another_size_is_not_verified(make_fixture, tmp_path):
    src = make_fixture("F5TTS_Base", "release_safetensors").path
    small = build_checkpoint(tmp_path / "small.safetensors", config="F5TTS_Small", scale="tiny").path
    result = run_cli("verify", src, small, "--configs", "tiny", "--config", "F5TTS_Base", "--json")
    assert result.exit_code == 1, result.output
    got = json.loads(result.stdout)
    assert got["ok"] is False and got["reason"].startswith("DST is another model than SRC under F5TTS_Base: ")
    assert "of another shape" in got["reason"] and got["forward_max_abs_error"] is None
    assert got["tensors_checked"] > 0 and got["tensors_equal"] < got["tensors_checked"]
    shown = run_cli("verify", src, small, "--configs", "tiny", "--config", "F5TTS_Base")
    assert shown.exit_code == 1 and "DST is another model" in shown.stdout and "Traceback" not in shown.output


def test_reason_alone_fails_the_verdict():
    v = Verification(src="a", dst="b", config="c", config_reason="named", dtype="F32", tensors_checked=1,
                     tensors_equal=1, forward_max_abs_error=0.0, forward_max_abs_reference=1.0, forward_tolerance=0.0)
    assert v.ok
    v.reason = "DST is another model"
    assert not v.ok and v.to_dict()["reason"] == "DST is another model"


def test_remap_output_lies_aligned_so_verify_maps_it_in_place(make_fixture, catalogue, tmp_path):
    """The header is padded so that the data section starts where the most tensor bytes are 64-byte aligned."""
    from f5lab.compat.remap import safetensors_offsets

    out = execute_plan(plan_remap(make_fixture("F5TTS_Base", "trainer_pt").path, "F5TTS_Base", catalogue=catalogue),
                       tmp_path / "out.safetensors")
    start, offsets = safetensors_offsets(out)
    assert start % 8 == 0

    def aligned(at: int) -> int:
        return sum(end - begin for begin, end in offsets.values() if (at + begin) % 64 == 0)

    assert aligned(start) == max(aligned(r) for r in range(0, 64, 8)) > aligned(start + 8)

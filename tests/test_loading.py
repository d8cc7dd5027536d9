"""load_model (strict, never a silent pick between equal fits), verify, compatibility_matrix."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from f5lab.cli.commands import main
from f5lab.errors import ConfigError
from f5lab.compat.loading import AmbiguousConfigError, build_model, expected_state, load_model
from f5lab.compat.matrix import compatibility_matrix
from f5lab.compat.verify import verify
from f5lab.compat.remap import execute_plan, plan_remap
from tests.conftest import ALL_LAYOUTS


def planned(fixture, catalogue, **kw):
    from f5lab.compat.remap import apply_plan

    return apply_plan(plan_remap(fixture.path, "F5TTS_Base", catalogue=catalogue, **kw))


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_load_model_every_layout_strict(make_fixture, catalogue, layout):
    fx = make_fixture("F5TTS_Base", layout)
    vocab = str(fx.vocab_path) if fx.vocab_path else None
    model = load_model(fx.path, config="F5TTS_Base", vocab=vocab, catalogue=catalogue)
    assert not model.training
    state = model.state_dict()
    want = planned(fx, catalogue, vocab_from=vocab)
    assert set(state) == set(want)
    assert all(torch.equal(state[k], want[k].float()) for k in want)
    if layout in ("trainer_pt", "ddp_pt"):  # EMA chosen; the fixture's EMA is the raw weights + 1e-3
        raw = load_model(fx.path, config="F5TTS_Base", use_ema=False, catalogue=catalogue).state_dict()
        key = "transformer.proj_out.weight"
        assert torch.allclose(state[key] - raw[key], torch.full_like(raw[key], 1e-3), atol=1e-6)


def test_ambiguous_checkpoint_is_refused_with_candidates(make_fixture, catalogue):
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    with pytest.raises(AmbiguousConfigError) as info:
        load_model(fx.path, catalogue=catalogue)
    err = info.value
    assert isinstance(err, ConfigError)
    assert err.candidates == ["F5TTS_Base", "F5TTS_v1_Base"]
    assert err.differences == {"text_mask_padding": {"F5TTS_Base": False, "F5TTS_v1_Base": True},
                               "pe_attn_head": {"F5TTS_Base": 1, "F5TTS_v1_Base": None}}
    assert "probe" in str(err) and "gibberish" in str(err)


def test_probe_hook_and_fallbacks_decide(make_fixture, catalogue):
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    seen = []

    def probe(path, candidates):
        seen.append((path, candidates))
        return "F5TTS_Base"

    model = load_model(fx.path, probe=probe, catalogue=catalogue)
    assert seen == [(str(fx.path), ["F5TTS_Base", "F5TTS_v1_Base"])]
    assert model.transformer.text_embed.mask_padding is False  # v0 behaviour, not v1's
    with pytest.raises(ConfigError, match="probe returned 'E2TTS_Base'"):
        load_model(fx.path, probe=lambda p, c: "E2TTS_Base", catalogue=catalogue)
    v1 = load_model(fx.path, fallbacks=["E2TTS_Base", "F5TTS_v1_Base", "F5TTS_Base"], catalogue=catalogue)
    assert v1.transformer.text_embed.mask_padding is True
    with pytest.raises(ConfigError, match="no fallback config fits: E2TTS_Base: cannot be fixed by remapping"):
        load_model(fx.path, fallbacks=["E2TTS_Base"], catalogue=catalogue)


def test_single_fit_and_recorded_config_need_no_name(make_fixture, catalogue, tmp_path):
    e2 = load_model(make_fixture("E2TTS_Base", "release_pt").path, catalogue=catalogue)
    assert type(e2.transformer).__name__ == "UNetT"
    fx = make_fixture("F5TTS_Base", "compiled_pt")
    out = execute_plan(plan_remap(fx.path, "F5TTS_v1_Base", catalogue=catalogue), tmp_path / "v1.safetensors")
    model = load_model(out, catalogue=catalogue)  # the file says which config it was remapped for
    assert model.transformer.text_embed.mask_padding is True


def test_vocab_and_dtype(make_fixture, catalogue):
    fx = make_fixture("F5TTS_Base", "extended_vocab_safetensors")
    with pytest.raises(ConfigError, match="wrong vocab file: f5-tts's default vocab.txt has 2545 tokens"):
        load_model(fx.path, config="F5TTS_Base", catalogue=catalogue)
    model = load_model(fx.path, config="F5TTS_Base", vocab=str(fx.vocab_path), dtype="bf16", catalogue=catalogue)
    assert model.transformer.text_embed.text_embed.weight.shape[0] == 2586
    assert model.transformer.proj_out.weight.dtype == torch.bfloat16
    assert len(model.vocab_char_map) == 2585


def test_expected_state_is_the_real_models(catalogue):
    entry = catalogue["E2TTS_Small"]
    real = build_model(entry, 100).state_dict()
    sig = expected_state(entry, 100)
    assert {k: tuple(v.shape) for k, v in real.items()} == {k: v.shape for k, v in sig.items()}


def test_verify_catches_a_changed_tensor(make_fixture, catalogue, tmp_path):
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    good = execute_plan(plan_remap(fx.path, "F5TTS_Base", catalogue=catalogue), tmp_path / "good.safetensors")
    tensors = load_file(str(good))
    with safe_open(str(good), framework="pt") as fh:
        meta = fh.metadata()
    key = "transformer.transformer_blocks.1.ff.ff.2.weight"
    tensors[key] = tensors[key].clone()
    tensors[key][0, 0] += 0.25
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=meta)
    check = verify(fx.path, tmp_path / "bad.safetensors", catalogue=catalogue)
    assert not check.ok and check.mismatched == [key]
    assert check.max_abs_tensor_error == pytest.approx(0.25, abs=1e-6)
    assert check.forward_max_abs_error > 0
    assert json.loads(json.dumps(check.to_dict()))["ok"] is False


def test_matrix(make_fixture, catalogue):
    rows = {r.config: r for r in compatibility_matrix(make_fixture("F5TTS_Base", "compiled_pt").path,
                                                      catalogue=catalogue)}
    assert rows["F5TTS_Base"].status == rows["F5TTS_v1_Base"].status == "loads after remap"
    assert "strip wrapper prefix(es) '_orig_mod.'" in rows["F5TTS_Base"].plan
    assert "KeyError 'ema_model_state_dict'" in rows["F5TTS_Base"].reason
    assert "shapes cannot separate F5TTS_Base / F5TTS_v1_Base" in rows["F5TTS_Base"].note
    assert rows["E2TTS_Base"].status == "cannot" and "the checkpoint is DiT" in rows["E2TTS_Base"].reason
    assert rows["F5TTS_Small"].status == "cannot" and "retraining" in rows["F5TTS_Small"].reason
    release = {r.config: r.status for r in compatibility_matrix(make_fixture("E2TTS_Base", "release_safetensors").path,
                                                                catalogue=catalogue)}
    assert release == {"E2TTS_Base": "loads", "E2TTS_Small": "cannot", "F5TTS_Base": "cannot",
                       "F5TTS_Small": "cannot", "F5TTS_v1_Base": "cannot", "F5TTS_v1_Small": "cannot"}


def test_cli_matrix_and_verify_json(make_fixture, tmp_path):
    """Against the installed (full-size) configs a tiny checkpoint fits none: every row says why."""
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    result = CliRunner().invoke(main, ["matrix", str(fx.path), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 6 and all(r["status"] == "cannot" and r["reason"] for r in rows)
    assert CliRunner().invoke(main, ["matrix", str(fx.path)]).exit_code == 0


# -- a fallback between models: load_model([fine_tune, base]) -------------------------------------------
def test_candidates_a_fine_tune_of_the_wrong_architecture_falls_back_to_the_base(make_fixture, catalogue):
    from f5lab.compat.candidates import CandidateSkipped

    ft = make_fixture("E2TTS_Base", "release_safetensors").path  # a UNetT file, named as the DiT it is not
    base = make_fixture("F5TTS_Base", "release_safetensors").path
    with pytest.warns(CandidateSkipped) as caught:
        model = load_model([{"path": str(ft), "config": "F5TTS_Base"}, {"path": str(base), "config": "F5TTS_Base"}],
                           catalogue=catalogue)
    skipped = [w for w in caught if issubclass(w.category, CandidateSkipped)]
    assert len(skipped) == 1
    line = str(skipped[0].message)
    assert "\n" not in line and line.startswith(f"candidate 1 ({ft}) refused: ") and "trying candidate 2" in line
    assert "UNetT" in line or "cannot be fixed by remapping" in line  # the real reason, from the decision
    chosen = model.f5lab_candidate
    assert (chosen.index, chosen.path, chosen.config) == (1, str(base), "F5TTS_Base")
    assert chosen.decision is model.f5lab_decision and chosen.decision.how == "named"
    assert [r.path for r in chosen.refused] == [str(ft)] and chosen.refused[0].reason in line
    assert type(model.transformer).__name__ == "DiT"
    assert chosen.to_json()["refused"][0]["path"] == str(ft) and "refused before it" in chosen.text


def test_candidates_both_loadable_gives_the_fine_tune_and_no_warning(make_fixture, catalogue, recwarn):
    ft = make_fixture("F5TTS_Base", "extended_vocab_safetensors")
    base = make_fixture("F5TTS_Base", "release_safetensors").path
    model = load_model(candidates=[{"path": str(ft.path), "config": "F5TTS_Base", "vocab": str(ft.vocab_path)},
                                   {"path": str(base), "config": "decide"}], catalogue=catalogue)
    assert model.f5lab_candidate.index == 0 and model.f5lab_candidate.refused == ()
    assert model.transformer.text_embed.text_embed.weight.shape[0] == 2586  # the fine-tune's own vocab rows
    from f5lab.compat.candidates import CandidateSkipped

    assert not [w for w in recwarn if issubclass(w.category, CandidateSkipped)]


def test_candidates_none_loadable_is_one_error_naming_each(make_fixture, catalogue, tmp_path):
    from f5lab.compat.candidates import NoCandidateLoads

    e2 = make_fixture("E2TTS_Base", "release_safetensors").path
    ambiguous = make_fixture("F5TTS_Base", "release_safetensors").path  # shapes fit v0 and v1: not guessed
    missing = tmp_path / "nowhere.safetensors"
    with pytest.warns(UserWarning):
        with pytest.raises(NoCandidateLoads) as info:
            load_model([{"path": str(e2), "config": "F5TTS_Base"}, str(ambiguous), str(missing)], catalogue=catalogue)
    msg = str(info.value)
    assert isinstance(info.value, ConfigError) and "\n" not in msg and msg.startswith("no candidate loads: 1. ")
    assert f"1. {e2}: " in msg and f"2. {ambiguous}: " in msg and f"3. {missing}: " in msg
    assert "equally" in msg  # the ambiguity, in the decision's own words
    assert [r.path for r in info.value.refused] == [str(e2), str(ambiguous), str(missing)]


def test_candidates_a_check_refuses_a_loadable_one(make_fixture, catalogue):
    from f5lab.compat.candidates import CandidateSkipped

    ft = make_fixture("F5TTS_Base", "trainer_pt").path
    base = make_fixture("F5TTS_Base", "release_safetensors").path

    def probe_says(model, cand):
        return "the probe heard noise" if cand.path == str(ft) else None

    with pytest.warns(CandidateSkipped, match="the probe heard noise"):
        model = load_model([{"path": str(ft), "config": "F5TTS_Base"}, {"path": str(base), "config": "F5TTS_Base"}],
                           check=probe_says, catalogue=catalogue)
    assert model.f5lab_candidate.index == 1


def test_single_path_api_is_unchanged_and_mixing_forms_is_refused(make_fixture, catalogue):
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    model = load_model(fx.path, fallbacks=["F5TTS_Base"], catalogue=catalogue)
    assert not hasattr(model, "f5lab_candidate") and model.f5lab_decision.how == "fallback"
    with pytest.raises(ConfigError, match="each candidate its own config"):
        load_model([str(fx.path)], config="F5TTS_Base", catalogue=catalogue)
    with pytest.raises(ConfigError, match="unknown key"):
        load_model([{"path": str(fx.path), "cfg": "F5TTS_Base"}], catalogue=catalogue)

"""diagnose / explain_load_error: the right cause, with its numbers and fix, for every layout."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.compat.diagnose import diagnose, explain_load_error, group_keys, pattern_of
from f5lab.files.vocab import default_vocab_path
from tests.conftest import ALL_LAYOUTS

# what diagnose must say for each layout of F5TTS_Base (besides the F5TTS_Base/v1 ambiguity)
EXPECTED = {
    "release_safetensors": {"loads"},
    "release_pt": {"loads"},
    "trainer_pt": {"loads", "ema_and_raw", "training_state"},
    "pruned_fp16_safetensors": {"loads", "dtype"},
    "ddp_pt": {"loads", "ema_and_raw", "training_state"},
    "compiled_pt": {"no_ema", "wrapper_prefix", "needs_remap"},
    "old_mel_buffers_pt": {"loads", "obsolete_buffers"},
    "extended_vocab_safetensors": {"extended_vocab"},
    "plain_state_dict_pt": {"needs_remap"},
}


def real_load_error(tensors, entry, rows=2545) -> str:
    """The text torch raises when a state dict is loaded strictly into a real f5-tts model."""
    from f5lab.compat.loading import build_model

    model = build_model(entry, rows)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(tensors, strict=True)
    return str(info.value)


def state_of(fixture):
    from f5lab.files.checkpoint import open_checkpoint

    ckpt = open_checkpoint(fixture.path)
    return dict(ckpt.iter_tensors(ckpt.model_state()))


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_every_layout_gets_its_cause(make_fixture, catalogue, layout):
    fx = make_fixture("F5TTS_Base", layout)
    d = diagnose(fx.path, catalogue=catalogue)
    codes = set(d.codes())
    assert codes - {"ambiguous_config"} == EXPECTED[layout]
    assert "ambiguous_config" in codes  # F5TTS_Base and F5TTS_v1_Base have identical shapes
    assert d.ok == (layout != "extended_vocab_safetensors")
    assert d.comparisons[0].config == "F5TTS_Base"
    for f in d.findings:
        assert f.cause and f.evidence and f.fix and f.severity in ("error", "warning", "info")


def test_seed_failure_dit_checkpoint_under_e2tts_config(make_fixture, catalogue):
    fx = make_fixture("F5TTS_Base", "release_safetensors")
    d = diagnose(fx.path, config="E2TTS_Base", catalogue=catalogue)
    assert [c.config for c in d.comparisons] == ["F5TTS_Base", "E2TTS_Base"]
    (f,) = [f for f in d.findings if f.code == "backbone_mismatch"]
    assert f.config == "E2TTS_Base" and f.severity == "error" and f.remappable is False
    assert f.cause == "the checkpoint is DiT, the config E2TTS_Base builds UNetT"
    assert "every transformer.layers.* (58 keys)" in f.evidence
    assert "every transformer.transformer_blocks.* (28 keys)" in f.evidence
    # tiny scale: text_dim 32, so 2 x 100 mel + 32 = 232 (full scale: 712 = 2 x 100 + 512)
    assert "232 = 2 x 100 mel + 32 text_dim" in f.evidence
    assert "300 = 2 x 100 mel + 100 text_dim" in f.evidence
    assert f.fix.startswith("use config F5TTS_Base (or F5TTS_v1_Base")
    assert "Cannot be fixed by remapping" in f.fix
    assert not d.ok
    assert d.to_dict()["findings"][0]["code"] == "backbone_mismatch"
    # the fix works: under the config diagnose names, the same file loads strictly
    from f5lab.compat.loading import load_model

    model = load_model(fx.path, config="F5TTS_Base", catalogue=catalogue)
    assert type(model.transformer).__name__ == "DiT"
    assert not d.comparisons[0].missing and not d.comparisons[0].unexpected


def test_other_size_is_not_remappable(make_fixture, catalogue):
    fx = make_fixture("F5TTS_Small", "release_safetensors")
    d = diagnose(fx.path, config="F5TTS_Base", catalogue=catalogue)
    (f,) = [f for f in d.findings if f.code == "arch_mismatch"]
    assert "dim 48 vs 64" in f.evidence and f.remappable is False
    assert "use config F5TTS_Small" in f.fix and "need retraining" in f.fix


def test_e2tts_checkpoint_loads_under_its_config(make_fixture, catalogue):
    d = diagnose(make_fixture("E2TTS_Base", "release_safetensors").path, catalogue=catalogue)
    assert d.codes() == ["loads"] and d.findings[0].config == "E2TTS_Base"


def test_extended_vocab_with_and_without_its_vocab(make_fixture, catalogue):
    fx = make_fixture("F5TTS_Base", "extended_vocab_safetensors")
    (f,) = [f for f in diagnose(fx.path, catalogue=catalogue).findings if f.code == "extended_vocab"]
    assert "2586 rows = 2585 tokens + 1 filler" in f.evidence and "2545 lines -> 2546 rows" in f.evidence
    assert "2585-line vocab.txt" in f.fix
    assert "loads" in diagnose(fx.path, vocab=str(fx.vocab_path), catalogue=catalogue).codes()
    wrong = diagnose(fx.path, vocab=str(default_vocab_path()), catalogue=catalogue)
    (w,) = [f for f in wrong.findings if f.code == "wrong_vocab"]
    assert w.cause.startswith("wrong vocab file") and "2585-line" in w.fix


def test_error_text_alone_explains_the_seed_failure(make_fixture, catalogue):
    text = real_load_error(state_of(make_fixture("F5TTS_Base", "release_safetensors")), catalogue["E2TTS_Base"])
    d = explain_load_error(text, catalogue)
    (f,) = d.findings
    assert f.code == "backbone_mismatch" and f.remappable is False
    assert f.cause == "the checkpoint is DiT, the loader built UNetT"
    assert "232 = 2 x 100 mel + 32 text_dim" in f.evidence
    assert "use config F5TTS_Base (or F5TTS_v1_Base" in f.fix and "Cannot be fixed by remapping" in f.fix


def test_full_scale_seed_error_text(tmp_path):
    """The seed's exact failure at full scale, produced by real models on the meta device."""
    import torch

    from f5lab.model.arch import shipped_configs
    from f5lab.compat.loading import build_model

    configs = shipped_configs()
    with torch.device("meta"):
        state = build_model(configs["F5TTS_Base"], 2545).state_dict()
        text = real_load_error(state, configs["E2TTS_Base"])
    assert "torch.Size([1024, 712])" in text
    (f,) = explain_load_error(text).findings
    assert "712 = 2 x 100 mel + 512 text_dim" in f.evidence
    assert "300 = 2 x 100 mel + 100 text_dim" in f.evidence
    assert "text_embed [2546, 512] in the checkpoint, [2546, 100] in the model" in f.evidence
    assert f.fix.startswith("use config F5TTS_Base (or F5TTS_v1_Base")
    log = tmp_path / "load_error.log"
    log.write_text(text)
    result = CliRunner().invoke(main, ["diagnose", "--error-file", str(log)])
    assert result.exit_code == 1
    assert "the checkpoint is DiT, the loader built UNetT" in result.output
    assert "Cannot be fixed by remapping" in " ".join(result.output.split())  # wrapped with a hanging indent


def test_a_pattern_on_both_sides_is_said_once_with_its_keys(make_fixture, catalogue):
    """UNetT's norm_out has one key, DiT's two: not 'every norm_out.* missing and every norm_out.* unexpected'."""
    d = diagnose(make_fixture("F5TTS_Base", "release_safetensors").path, config="E2TTS_Base", catalogue=catalogue)
    (f,) = [f for f in d.findings if f.code == "backbone_mismatch"]
    assert "transformer.norm_out.* holds other keys (the config wants g, the file has linear.bias, linear.weight)" \
        in f.evidence
    assert "norm_out.* (1 key)" not in f.evidence and "norm_out.* (2 keys)" not in f.evidence
    comparison = next(c for c in d.comparisons if c.config == "E2TTS_Base")
    assert {g.pattern for g in comparison.missing} & {g.pattern for g in comparison.unexpected} == {
        "transformer.norm_out.*"}  # the data keeps both sides; only the sentence merges them


def test_readme_paraphrase_is_understood():
    readme = ("size mismatch transformer.text_embed.text_embed.weight: ckpt [2546, 512], model [2546, 100]\n"
              "size mismatch transformer.input_embed.proj.weight:      ckpt [1024, 712], model [1024, 300]\n"
              "Missing keys transformer.layers.*   Unexpected keys transformer.transformer_blocks.*")
    (f,) = explain_load_error(readme).findings
    assert f.code == "backbone_mismatch"
    assert "transformer.layers.* missing and transformer.transformer_blocks.* unexpected" in f.evidence
    assert "712 = 2 x 100 mel + 512 text_dim" in f.evidence


def test_error_texts_for_wrapper_vocab_and_container(make_fixture, catalogue):
    sd = state_of(make_fixture("F5TTS_Base", "release_safetensors"))
    wrapped = real_load_error({"module." + k: v for k, v in sd.items()}, catalogue["F5TTS_Base"])
    (w,) = explain_load_error(wrapped, catalogue).findings
    assert w.code == "wrapper_prefix" and "'module.'" in w.cause and w.remappable
    ext = state_of(make_fixture("F5TTS_Base", "extended_vocab_safetensors"))
    (v,) = explain_load_error(real_load_error(ext, catalogue["F5TTS_Base"]), catalogue).findings
    assert v.code == "extended_vocab" and "2585-line vocab.txt" in v.fix
    (k,) = explain_load_error("Traceback ...\nKeyError: 'ema_model_state_dict'").findings
    assert k.code == "no_ema" and "--raw" in k.fix
    assert explain_load_error("something else entirely").codes() == ["unrecognised"]


def test_key_grouping():
    assert pattern_of("transformer.layers.3.2.to_q.weight") == "transformer.layers.*"
    assert pattern_of("transformer.norm_out.linear.bias") == "transformer.norm_out.*"
    keys = [f"transformer.layers.{i}.w" for i in range(3)] + ["transformer.proj_out.weight"]
    assert group_keys(keys) == ["transformer.layers.* (3 keys)", "transformer.proj_out.* (1 key)"]


def test_cli_diagnose_needs_input():
    result = CliRunner().invoke(main, ["diagnose"])
    assert result.exit_code == 2 and "give a checkpoint PATH or --error-file" in result.output

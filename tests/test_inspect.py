"""f5lab inspect: container layouts, architecture inference, config ranking, JSON shape."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from f5lab.model.arch import get_config
from f5lab.cli.commands import main
from f5lab.synthetic.layouts import custom_entry, tiny_entry, write_shape_only_safetensors
from f5lab.model.inspection import inspect_checkpoint

from conftest import ALL_LAYOUTS

TINY_CONFIGS = ["F5TTS_Base", "F5TTS_v1_Base", "F5TTS_Small", "F5TTS_v1_Small", "E2TTS_Base", "E2TTS_Small"]

# what each layout must report: (state dict described, prefixes stripped, step)
EXPECTED_LAYOUT = {
    "release_safetensors": ("<root>", ["ema_model."], None),
    "extended_vocab_safetensors": ("<root>", ["ema_model."], None),
    "pruned_fp16_safetensors": ("<root>", ["ema_model."], None),
    "release_pt": ("ema_model_state_dict", ["ema_model."], 1200),
    "trainer_pt": ("ema_model_state_dict", ["ema_model."], 1200),
    "ddp_pt": ("ema_model_state_dict", ["ema_model."], 1200),
    "compiled_pt": ("model_state_dict", ["_orig_mod."], 1200),
    "old_mel_buffers_pt": ("ema_model_state_dict", ["ema_model."], 1200),
    "plain_state_dict_pt": ("<root>", [], None),
}


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_every_layout_is_read_and_canonicalised(make_fixture, catalogue, layout):
    fx = make_fixture("F5TTS_Base", layout)
    r = inspect_checkpoint(fx.path, catalogue=catalogue)
    source, prefixes, step = EXPECTED_LAYOUT[layout]
    assert (r.source, r.prefixes, r.layout["step"]) == (source, prefixes, step)
    assert all(k.startswith(("transformer.", "mel_spec.")) for k in r.state.tensors)
    assert r.spec.backbone == "DiT" and r.spec.dim == 64 and r.spec.text_dim == 32
    assert r.candidates[0].config in ("F5TTS_Base", "F5TTS_v1_Base") and r.candidates[0].exact
    if layout == "old_mel_buffers_pt":
        assert set(r.dropped) == {"initted", "step", "ema_model.mel_spec.mel_stft.mel_scale.fb",
                                  "ema_model.mel_spec.mel_stft.spectrogram.window"}
        assert len(r.layout["obsolete_buffers"]) == 2
    if layout == "trainer_pt":
        assert r.layout["optimizer"] and r.layout["scheduler"] and r.layout["step_key"] == "update"
        assert set(r.layout["state_dicts"]) == {"model_state_dict", "ema_model_state_dict"}
    if layout == "pruned_fp16_safetensors":
        assert set(r.bytes_by_dtype) == {"F16"}
    if layout == "ddp_pt":
        assert r.layout["prefixes"]["model_state_dict"] == ["module."]


@pytest.mark.parametrize("config", TINY_CONFIGS)
def test_each_shipped_config_is_recognised_at_tiny_scale(make_fixture, catalogue, config):
    r = inspect_checkpoint(make_fixture(config, "release_pt").path, catalogue=catalogue)
    entry = tiny_entry(get_config(config))
    assert r.spec.backbone == entry.backbone
    assert (r.spec.dim, r.spec.depth, r.spec.heads) == (entry.arch["dim"], entry.arch["depth"], entry.arch["heads"])
    assert r.spec.ff_mult == entry.arch["ff_mult"]
    assert r.spec.text_embed_rows == 2546 and r.spec.mel_dim == 100
    exact = {c.config for c in r.candidates if c.exact}
    assert config in exact
    # v0 and v1 share every shape: both match and the report says shapes cannot decide
    twin = {"F5TTS_Base": "F5TTS_v1_Base", "F5TTS_v1_Base": "F5TTS_Base",
            "F5TTS_Small": "F5TTS_v1_Small", "F5TTS_v1_Small": "F5TTS_Small"}.get(config)
    assert exact == ({config, twin} if twin else {config})
    if twin:
        assert any("text_mask_padding" in u and "pe_attn_head" in u for u in r.undetermined)


FULL_PARAMS_M = {"F5TTS_Base": 337.1, "F5TTS_v1_Base": 337.1, "F5TTS_Small": 159.2, "F5TTS_v1_Small": 159.2,
                 "E2TTS_Base": 333.5, "E2TTS_Small": 157.2}


@pytest.mark.parametrize("config", list(FULL_PARAMS_M))
def test_full_scale_shapes_match_design_table(tmp_path, config):
    """Full-scale headers (sparse files, no disk cost) against the shipped configs themselves."""
    path = write_shape_only_safetensors(tmp_path / f"{config}.safetensors", config)
    r = inspect_checkpoint(path)
    assert round(r.params / 1e6, 1) == FULL_PARAMS_M[config]
    assert r.spec.heads == 16 if "Base" in config else r.spec.heads == 12
    assert config in {c.config for c in r.candidates if c.exact}
    assert r.candidates[0].vocab_match


def test_seed_case_dit_checkpoint_is_not_e2(tmp_path):
    """The motivating failure: [1024, 712] + transformer_blocks is DiT text_dim 512, not E2TTS_Base."""
    path = write_shape_only_safetensors(tmp_path / "model_last.safetensors", "F5TTS_Base")
    r = inspect_checkpoint(path)
    assert r.spec.backbone == "DiT" and r.spec.text_dim == 512 and r.spec.mel_dim == 100
    assert r.state.tensors["transformer.input_embed.proj.weight"].shape == (1024, 712)
    assert 2 * r.spec.mel_dim + r.spec.text_dim == 712
    e2 = next(c for c in r.candidates if c.config == "E2TTS_Base")
    assert not e2.exact and e2.first_mismatch == "backbone DiT vs UNetT"
    assert {"fact": "text_dim", "checkpoint": 512, "config": 100} in e2.mismatches
    assert [c.config for c in r.candidates].index("E2TTS_Base") >= 4  # ranked below every DiT config


def test_unknown_architecture_still_gets_a_spec_and_arch_block(tmp_path, catalogue):
    entry = custom_entry("DiT", dim=512, depth=8, heads=8, ff_mult=2, text_dim=256, conv_layers=2)
    path = write_shape_only_safetensors(tmp_path / "custom.safetensors", entry)
    r = inspect_checkpoint(path)
    assert (r.spec.dim, r.spec.depth, r.spec.heads, r.spec.text_dim, r.spec.conv_layers) == (512, 8, 8, 256, 2)
    assert not any(c.exact for c in r.candidates)
    assert r.candidates[0].first_mismatch == "dim 512 vs 1024"
    assert r.spec.arch_block() == {"dim": 512, "depth": 8, "heads": 8, "ff_mult": 2, "text_dim": 256,
                                   "conv_layers": 2}
    assert any("no installed config matches" in n for n in r.notes)


def test_long_skip_qk_norm_and_mmdit_are_inferred(tmp_path):
    dit = custom_entry("DiT", dim=64, depth=2, heads=4, dim_head=16, ff_mult=3, text_dim=32,
                       qk_norm="rms_norm", long_skip_connection=True)
    r = inspect_checkpoint(write_shape_only_safetensors(tmp_path / "dit.safetensors", dit))
    assert r.spec.long_skip and r.spec.qk_norm == "rms_norm" and r.spec.ff_mult == 3
    mm = custom_entry("MMDiT", dim=64, depth=3, heads=4, dim_head=16, ff_mult=2)
    r = inspect_checkpoint(write_shape_only_safetensors(tmp_path / "mm.safetensors", mm))
    assert (r.spec.backbone, r.spec.depth, r.spec.text_dim, r.spec.conv_layers) == ("MMDiT", 3, 64, 0)


def test_extended_vocabulary_is_flagged(make_fixture, catalogue):
    fx = make_fixture("F5TTS_Base", "extended_vocab_safetensors")
    r = inspect_checkpoint(fx.path, catalogue=catalogue)
    assert r.spec.text_embed_rows == 2546 + 40
    assert r.candidates[0].exact and not r.candidates[0].vocab_match
    assert any("extended vocabulary" in n for n in r.notes)
    assert fx.vocab_path.read_text(encoding="utf-8").count("\n") == 2545 + 40


def test_json_output_has_the_documented_fields(make_fixture):
    fx = make_fixture("E2TTS_Base", "trainer_pt")
    res = CliRunner().invoke(main, ["inspect", str(fx.path), "--json", "--sha256"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert {"path", "format", "layout", "arch", "params", "candidates", "undetermined"} <= set(d)
    assert {"state_dicts", "prefixes", "step", "dtypes"} <= set(d["layout"])
    assert {"backbone", "dim", "depth", "ff_mult", "text_dim", "conv_layers", "mel_dim",
            "text_embed_rows"} <= set(d["arch"])
    assert d["arch"]["backbone"] == "UNetT" and d["layout"]["step"] == 1200
    assert {"config", "exact", "mismatches"} <= set(d["candidates"][0])
    import hashlib

    assert d["sha256"] == hashlib.sha256(fx.path.read_bytes()).hexdigest()


def test_human_output_names_the_verdicts(make_fixture):
    res = CliRunner().invoke(main, ["inspect", str(make_fixture("F5TTS_Base").path)])
    assert res.exit_code == 0
    for text in ("DiT", "E2TTS_Base", "backbone DiT vs UNetT", "shapes cannot decide"):
        assert text in res.output


def test_safetensors_inspection_never_imports_torch(make_fixture):
    code = ("import sys; from f5lab.model.inspection import inspect_checkpoint; "
            f"r = inspect_checkpoint({str(make_fixture('F5TTS_Base').path)!r}); "
            "print(r.spec.backbone, 'torch' in sys.modules, 'f5_tts.model' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["DiT", "False", "False"]

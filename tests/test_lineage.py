"""Lineage (f5lab.compat.lineage) on tiny real models: which base a fine-tune descends from.

Two tiny F5TTS-shaped models of different seeds stand in for the official v0 and v1 bases, at the
paths f5-tts's own files have in a Hugging Face snapshot; fine-tunes take a few updates of
f5-tts's training loss from one of them (f5lab.synthetic.finetunes). Nothing is downloaded.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.compat.drift import flag_lines, plot_drift
from f5lab.compat.lineage import (EQUALS_BASE, MAX_DISTANCE, MIN_MARGIN, NoBaseError, UNRELATED, block_of, find_bases,
                                  lineage)
from f5lab.synthetic.finetunes import (FINETUNE_LAYOUTS, extend_vocabulary, fine_tune, hub_cache,
                                           random_checkpoint, stand_in_bases, write_finetune)

SUFFIX = {layout: ".safetensors" if "safetensors" in layout else ".pt" for layout in FINETUNE_LAYOUTS}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Stand-in bases (as .safetensors and as .pt), fine-tunes of v0 in every layout, and the odd cases."""
    root = tmp_path_factory.mktemp("lineage")
    st, pt = stand_in_bases(root / "st"), stand_in_bases(root / "pt", layout="release_pt")
    ft = fine_tune(st["F5TTS_Base"])
    ext = fine_tune(st["F5TTS_Base"], extra_tokens=40)
    out = {"st": st, "pt": pt, "ft": ft, "ext": ext, "root": root, "layouts": {}}
    for layout in FINETUNE_LAYOUTS:
        out["layouts"][layout] = write_finetune(ext if layout.startswith("extended") else ft,
                                                root / "ft" / f"{layout}{SUFFIX[layout]}", layout)
    for kind in ("copy", "never"):
        out[f"ema_{kind}"] = write_finetune(fine_tune(st["F5TTS_Base"], updates=3, ema=kind), root / f"ema_{kind}.pt",
                                            "trainer_pt")
    out["v1_ft"] = write_finetune(fine_tune(st["F5TTS_v1_Base"], updates=3, config="F5TTS_v1_Base"),
                                  root / "v1_ft.safetensors", "release_safetensors")
    out["random"] = random_checkpoint(root / "random.safetensors")
    out["copy"] = root / "copy_of_v0.safetensors"
    shutil.copy(st["F5TTS_Base"], out["copy"])
    return out


def bases_of(files, fmt: str) -> list[Path]:
    return [files[fmt]["F5TTS_Base"], files[fmt]["F5TTS_v1_Base"]]


# -- the verdict -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["st", "pt"])
@pytest.mark.parametrize("layout", FINETUNE_LAYOUTS)
def test_a_finetune_is_attributed_to_its_base_in_every_layout_pair(files, layout, fmt):
    lin = lineage(files["layouts"][layout], bases_of(files, fmt))
    v0, v1 = files[fmt]["F5TTS_Base"], files[fmt]["F5TTS_v1_Base"]
    assert lin.verdict == str(v0) and lin.config == "F5TTS_Base"
    near, other = lin.bases
    assert near.path == str(v0) and other.path == str(v1)
    assert 0.005 < near.distance < 0.2 and near.cosine > 0.98  # a fine-tune: near, not a copy
    assert other.distance == pytest.approx(UNRELATED, abs=0.05) and abs(other.cosine) < 0.05
    assert lin.margin > 0.9 and lin.pairs[0]["distance"] == pytest.approx(UNRELATED, abs=0.05)
    assert lin.text.startswith("F5TTS_Base: descends from F5TTS_Base model_1200000, relative distance ")
    assert "vs 1.4 to F5TTS_v1_Base" in lin.text
    assert near.tensors == other.tensors > 80 and not near.identical


def test_every_layout_reads_the_same_weights(files):
    """The EMA weights of every container compare alike; fp16 differs by its rounding only."""
    got = {layout: lineage(files["layouts"][layout], bases_of(files, "st")).bases[0].distance
           for layout in ("release_safetensors", "release_pt", "trainer_pt", "ddp_pt", "pruned_fp16_safetensors")}
    exact = {got[k] for k in ("release_safetensors", "release_pt", "trainer_pt", "ddp_pt")}
    assert len({round(x, 9) for x in exact}) == 1
    assert got["pruned_fp16_safetensors"] == pytest.approx(got["release_safetensors"], rel=0.02)


def test_a_v1_finetune_is_attributed_to_v1(files):
    lin = lineage(files["v1_ft"], bases_of(files, "pt"))
    assert lin.config == "F5TTS_v1_Base" and lin.verdict == str(files["pt"]["F5TTS_v1_Base"])
    assert "vs 1.4 to F5TTS_Base" in lin.text


def test_a_random_checkpoint_gets_no_verdict(files):
    lin = lineage(files["random"], bases_of(files, "st"))
    assert lin.verdict is None and lin.config is None and not lin.decided
    assert all(b.distance == pytest.approx(UNRELATED, abs=0.05) for b in lin.bases)
    assert lin.text.startswith("no verdict: ") and f"farther than {MAX_DISTANCE:g}" in lin.text


def test_one_base_decides_by_distance_alone(files):
    lin = lineage(files["layouts"]["release_safetensors"], [files["st"]["F5TTS_Base"]])
    assert lin.decided and lin.margin is None and "unrelated weights of the same scale: 1.41" in lin.text
    assert not lineage(files["random"], [files["st"]["F5TTS_Base"]]).decided


def test_two_bases_about_as_near_give_no_verdict(files, tmp_path):
    """The margin rule: a base and another fine-tune of it (other noise draws) are both near."""
    v0 = files["st"]["F5TTS_Base"]
    sibling = write_finetune(fine_tune(v0, updates=3, seed=1), tmp_path / "sibling.safetensors", "release_safetensors")
    lin = lineage(files["layouts"]["trainer_pt"], [v0, sibling])
    assert lin.verdict is None and lin.margin < MIN_MARGIN and "about as near" in lin.text


def test_the_same_base_twice_is_set_aside_for_the_margin(files):
    """v0 as .safetensors and as .pt hold the same weights: the margin is read against v1."""
    lin = lineage(files["layouts"]["release_safetensors"], [*bases_of(files, "st"), files["pt"]["F5TTS_Base"]])
    assert lin.config == "F5TTS_Base" and lin.margin > 0.9
    assert "F5TTS_Base model_1200000 and F5TTS_Base model_1200000 hold the same weights" in lin.notes
    assert len(lin.pairs) == 3 and sorted(round(p["distance"], 2) for p in lin.pairs) == [0.0, 1.41, 1.41]


def test_a_copy_of_a_base_is_flagged_identical(files):
    lin = lineage(files["copy"], bases_of(files, "pt"))
    assert lin.config == "F5TTS_Base" and lin.flags["identical"] is True
    assert lin.bases[0].distance == 0 and lin.bases[0].cosine == 1.0 and lin.margin == 1.0
    assert lin.bases[0].unchanged == lin.bases[0].tensors
    assert lin.flags["is_base"] is True
    assert any(line.startswith("this file is the base: identical to F5TTS_Base model_1200000 (every tensor equal): "
                               "nothing was fine-tuned")
               for line in flag_lines(lin))


def test_an_fp16_copy_of_a_base_is_still_identical(files, tmp_path):
    from safetensors.torch import load_file, save_file

    sd = load_file(str(files["st"]["F5TTS_Base"]))
    half = tmp_path / "half.safetensors"
    save_file({k: v.half() for k, v in sd.items()}, str(half))
    lin = lineage(half, bases_of(files, "st"))
    assert lin.flags["identical"]  # equal in the lower precision of the two
    assert 0 < lin.bases[0].distance < 1e-3  # the distance measures fp16's rounding, in fp32


def test_the_checkpoint_itself_is_not_its_own_base(files):
    v0 = files["st"]["F5TTS_Base"]
    lin = lineage(v0, [v0, files["st"]["F5TTS_v1_Base"]])
    assert lin.skipped == [{"path": str(v0), "reason": "is the checkpoint itself"}]
    assert [b.path for b in lin.bases] == [str(files["st"]["F5TTS_v1_Base"])] and not lin.decided


def test_a_base_of_another_architecture_is_skipped(files, make_fixture):
    e2 = make_fixture("E2TTS_Base", "release_safetensors").path
    lin = lineage(files["layouts"]["release_safetensors"], [e2])
    assert lin.bases == [] and not lin.decided and "another architecture (backbone DiT vs UNetT" in \
        lin.skipped[0]["reason"]


# -- what fine-tuning changed --------------------------------------------------------------------------------
def test_drift_is_summarised_per_block_in_data_flow_order(files):
    near = lineage(files["layouts"]["release_safetensors"], bases_of(files, "st")).bases[0]
    assert [b["block"] for b in near.blocks] == ["time_embed", "text_embed", "input_embed", "transformer_blocks.0",
                                                 "transformer_blocks.1", "norm_out/proj_out"]
    assert sum(b["params"] for b in near.blocks) == near.params
    assert all(0 < b["distance"] < 0.5 for b in near.blocks)
    weighted = sum(b["distance"] * b["params"] for b in near.blocks) / near.params
    assert weighted == pytest.approx(near.distance)  # the model's distance: blocks weighted by parameters
    assert block_of("transformer.transformer_blocks.12.attn.to_q.weight") == "transformer_blocks.12"
    assert block_of("transformer.proj_out.bias") == "norm_out/proj_out"


def test_frozen_tensors_are_named(files, tmp_path):
    from safetensors.torch import load_file, save_file

    base = load_file(str(files["st"]["F5TTS_Base"]))
    ema = {"ema_model." + k: v for k, v in files["ft"].ema_weights.items()}
    frozen = [k for k in ema if ".transformer_blocks.1." in k]
    ema.update({k: base[k] for k in frozen})
    path = tmp_path / "half_frozen.safetensors"
    save_file(ema, str(path))
    lin = lineage(path, bases_of(files, "st"))
    assert lin.decided and not lin.flags["identical"]
    assert lin.flags["frozen"] == sorted(k[len("ema_model."):] for k in frozen)
    block = next(b for b in lin.bases[0].blocks if b["block"] == "transformer_blocks.1")
    assert block["distance"] == 0 and block["unchanged"] == block["tensors"] == 14
    assert any("14 of 83 tensors did not move at all in the weights (frozen): "
               "transformer.transformer_blocks.* (14 keys)" in line
               for line in flag_lines(lin))


@pytest.mark.parametrize("kind,raw_equal,init_equal", [("live", False, False), ("copy", True, False),
                                                        ("never", False, True)])
def test_ema_flags_of_trainer_files(files, kind, raw_equal, init_equal):
    path = files["layouts"]["trainer_pt"] if kind == "live" else files[f"ema_{kind}"]
    lin = lineage(path, bases_of(files, "st"))
    assert lin.source == "ema_model_state_dict" and lin.bases[0].raw is not None
    assert lin.flags["ema_equals_raw"] is raw_equal and lin.flags["ema_equals_init"] is init_equal
    raw_d = lin.bases[0].raw["distance"]
    assert 0.005 < raw_d < 0.2  # the raw weights moved in every case
    if kind == "never":
        assert lin.bases[0].distance == 0 and lin.flags["ema_progress"] == 0
        assert lin.flags["ema_equals_base"] is True and lin.flags["frozen"] == []  # every raw tensor moved
        assert any("the EMA still equals the base" in line and "export the raw weights or train past f5-tts's EMA "
                   "warm-up" in line for line in flag_lines(lin))
        assert not any("frozen" in line for line in flag_lines(lin))
        assert not lin.flags["identical"] and not lin.flags["is_base"]  # the raw weights moved: not the base
    elif kind == "copy":
        assert lin.flags["ema_raw_distance"] == 0 and lin.flags["ema_progress"] == pytest.approx(1.0)
    else:
        assert 0 < lin.flags["ema_progress"] < 1  # the EMA lags the raw weights


# -- an f5-tts fine-tune's own run folder ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_folder(files):
    """f5-tts's finetune_cli layout: pretrained_model_1200000.safetensors (the base, copied), model_2.pt,
    model_4.pt, model_last.pt; the EMA has not moved from the base (fewer updates than ema_pytorch's update_every)."""
    from f5lab.synthetic.finetunes import f5tts_run_folder

    return f5tts_run_folder(files["root"] / "run", files["st"]["F5TTS_Base"], updates=(2, 4), ema="never")


def test_an_ema_that_has_not_moved_is_named_and_nothing_is_called_frozen(files, run_folder):
    """f5-tts's EMA had not moved yet: the EMA is the base, every raw tensor moved. Not 'frozen'."""
    lin = lineage(run_folder["model_last"], bases_of(files, "st"))
    near = lin.bases[0]
    assert near.distance == 0 and near.unchanged == near.tensors  # the EMA: the base, tensor for tensor
    assert near.raw["unchanged"] == 0 and near.raw["distance"] > 0.005  # every raw tensor moved
    assert lin.flags["frozen"] == [] and near.frozen == []
    assert lin.flags["ema_equals_base"] is True and not lin.flags["is_base"]
    lines = flag_lines(lin)
    assert any(line.startswith("the EMA still equals the base (F5TTS_Base model_1200000; relative distance 0)")
               and line.endswith("export the raw weights or train past f5-tts's EMA warm-up") for line in lines)
    assert not any("frozen" in line for line in lines)


def test_frozen_is_read_in_the_raw_weights(files, tmp_path):
    """A trainer file whose raw block 1 never moved (frozen in training) while its EMA lagged elsewhere."""
    import torch

    from safetensors.torch import load_file

    base = {k[len("ema_model."):]: v for k, v in load_file(str(files["st"]["F5TTS_Base"])).items()}
    ft = files["ft"]
    frozen = sorted(k for k in ft.raw if ".transformer_blocks.1." in k)
    raw = {k: (base[k].clone() if k in frozen else v) for k, v in ft.raw.items()}
    path = tmp_path / "model_6.pt"
    torch.save({"model_state_dict": raw, "ema_model_state_dict": ft.ema, "update": 6}, str(path))
    lin = lineage(path, bases_of(files, "st"))
    assert lin.flags["frozen"] == frozen and not lin.flags["ema_equals_base"]
    assert any(f"{len(frozen)} of 83 tensors did not move at all in the raw weights (frozen)" in line
               for line in flag_lines(lin))


def test_an_ema_export_equal_to_the_base_within_rounding_is_the_base(files, run_folder, tmp_path):
    """An EMA export of the run above is the base; so is one a last-digit away (an EMA lerp's rounding)."""
    import torch
    from safetensors.torch import load_file, save_file

    ckpt = torch.load(str(run_folder["model_last"]), weights_only=True)
    ema = {k: v for k, v in ckpt["ema_model_state_dict"].items() if k.startswith("ema_model.")}
    export = tmp_path / "exported.safetensors"
    save_file(ema, str(export))
    lin = lineage(export, bases_of(files, "st"))
    assert lin.flags["is_base"] is True and lin.flags["identical"] is True and lin.config == "F5TTS_Base"
    assert any(line.startswith("this file is the base") for line in flag_lines(lin))
    near = {k: v.clone() for k, v in load_file(str(files["st"]["F5TTS_Base"])).items()}
    key = "ema_model.transformer.transformer_blocks.0.attn.to_q.bias"
    near[key][0] = torch.nextafter(near[key][0], torch.tensor(1.0))  # one value one ulp off
    ulp = tmp_path / "one_ulp.safetensors"
    save_file(near, str(ulp))
    lin = lineage(ulp, bases_of(files, "st"))
    b = lin.bases[0]
    assert 0 < b.distance < EQUALS_BASE and b.unchanged == b.tensors - 1
    assert lin.flags["is_base"] is True and b.frozen == []
    assert any(line.startswith("this file is the base: identical to F5TTS_Base model_1200000 (relative distance ")
               and "rounding, not training" in line for line in flag_lines(lin))


def test_f5tts_own_ema_from_a_release_base_barely_moves(files, tmp_path):
    """f5-tts's defaults (beta 0.9999, every 10 updates) from a release base's step: the EMA moved, by little."""
    ft = fine_tune(files["st"]["F5TTS_Base"], updates=3, ema="f5tts")
    lin = lineage(write_finetune(ft, tmp_path / "model_3.pt", "trainer_pt"), bases_of(files, "st"))
    assert 0 < lin.bases[0].distance < 1e-3 and lin.flags["ema_progress"] < 0.01
    assert not lin.flags["ema_equals_base"] and lin.flags["frozen"] == []
    assert any("inference (EMA) runs mostly the base" in line for line in flag_lines(lin))


def test_the_raw_weights_compare_on_a_file_without_ema(files):
    lin = lineage(files["layouts"]["compiled_pt"], bases_of(files, "st"))
    assert lin.source == "model_state_dict" and lin.bases[0].raw is None and lin.flags["ema_equals_raw"] is None


# -- vocabulary-extended fine-tunes -----------------------------------------------------------------------------
def test_new_rows_are_counted_and_their_training_told_apart(files):
    lin = lineage(files["layouts"]["extended_vocab_safetensors"], bases_of(files, "st"))
    rows = lin.bases[0].rows
    assert lin.config == "F5TTS_Base"
    assert (rows.rows, rows.base_rows, rows.by, rows.shared, rows.new) == (2586, 2546, "token", 2546, 40)
    # the training text used the first 20 new symbols; the other 20 only felt AdamW's weight decay
    assert (rows.new_trained, rows.new_rescaled, rows.new_at_init, rows.new_unknown) == (20, 20, 0, 0)
    assert rows.vocab.endswith("extended_vocab_safetensors_vocab.txt")
    assert rows.base_vocab == "f5-tts's default vocab.txt"
    line = next(x for x in flag_lines(lin) if x.startswith("text embedding: 40 new rows"))
    assert "20 trained (their direction changed)" in line and "20 untrained (0 exactly" in line


def test_new_rows_without_the_vocab_file_are_compared_in_order(files, tmp_path):
    src = files["layouts"]["extended_vocab_safetensors"]
    lone = tmp_path / "no_vocab_here.safetensors"
    shutil.copy(src, lone)
    lin = lineage(lone, bases_of(files, "st"))
    rows = lin.bases[0].rows
    assert rows.by == "index" and rows.new == 40 and rows.new_trained == 20
    assert any("embedding rows compared in order, as f5-tts's own extension appends" in n for n in lin.notes)
    with_vocab = lineage(lone, bases_of(files, "st"), vocab=str(src.with_name(src.stem + "_vocab.txt")))
    assert with_vocab.bases[0].rows.by == "token"
    assert with_vocab.bases[0].distance == pytest.approx(lin.bases[0].distance)  # appended: the same rows


def test_an_extended_base_never_trained_is_identical_with_its_new_rows_at_init(files, tmp_path):
    from safetensors.torch import save_file

    from f5lab.files.vocab import read_vocab, write_vocab
    from f5lab.synthetic.finetunes import _base_weights

    weights, tokens = extend_vocabulary(_base_weights(files["st"]["F5TTS_Base"]), read_vocab(), 12)
    path = tmp_path / "pretrained_model_1200000.safetensors"
    save_file({"ema_model." + k: v for k, v in weights.items()}, str(path))
    write_vocab(tokens, tmp_path / "vocab.txt")
    lin = lineage(path, bases_of(files, "st"))
    rows = lin.bases[0].rows
    assert (rows.new, rows.new_at_init, rows.new_trained) == (12, 12, 0)
    assert lin.flags["identical"] and lin.bases[0].distance == 0


def test_a_vocab_that_does_not_fit_is_refused_naming_the_option(files, tmp_path):
    from f5lab.errors import ConfigError
    from f5lab.files.vocab import read_vocab, write_vocab

    short = write_vocab(read_vocab()[:100], tmp_path / "short.txt")
    with pytest.raises(ConfigError, match=r"--vocab .*short.txt"):
        lineage(files["layouts"]["release_safetensors"], bases_of(files, "st"), vocab=str(short))
    with pytest.raises(ConfigError, match=r"--base-vocab .*short.txt"):
        lineage(files["layouts"]["release_safetensors"], bases_of(files, "st"), base_vocab=str(short))


# -- where the bases come from ----------------------------------------------------------------------------------
def test_bases_are_found_in_the_hugging_face_cache(files, tmp_path):
    hub = tmp_path / "hub"
    made = hub_cache(hub)
    pt_twin = hub_cache(hub, layout="release_pt")  # the same files as .pt in the same snapshot: .safetensors wins
    env = {"HF_HUB_CACHE": str(hub), "HF_HOME": str(tmp_path / "nothing")}
    found, searched = find_bases(env)
    assert sorted(found) == sorted(made.values()) and not set(found) & set(pt_twin.values())
    assert searched[0] == str(hub / "models--SWivid--F5-TTS" / "snapshots")
    lin = lineage(files["layouts"]["trainer_pt"], env=env)
    assert lin.config == "F5TTS_Base" and lin.searched == searched
    assert {b.config_source for b in lin.bases} == {"f5-tts's release file F5TTS_Base/model_1200000",
                                                    "f5-tts's release file F5TTS_v1_Base/model_1250000"}


def test_no_base_anywhere_says_where_it_looked(files, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    env = {"HF_HUB_CACHE": str(tmp_path / "empty_hub")}
    with pytest.raises(NoBaseError) as info:
        lineage(files["layouts"]["release_safetensors"], env=env)
    msg = str(info.value)
    assert "--base PATH" in msg and str(tmp_path / "empty_hub" / "models--SWivid--F5-TTS" / "snapshots") in msg
    assert str(tmp_path / ".cache" / "huggingface" / "hub") in msg


def test_a_base_of_unknown_config_is_named_by_its_shapes(files, catalogue, tmp_path):
    loose = tmp_path / "some_base.safetensors"
    shutil.copy(files["st"]["F5TTS_Base"], loose)
    lin = lineage(files["layouts"]["release_safetensors"], [loose, files["st"]["F5TTS_v1_Base"]], catalogue=catalogue)
    near = lin.bases[0]
    assert near.config is None and near.candidates == ["F5TTS_Base", "F5TTS_v1_Base"]
    assert lin.decided and lin.config is None and lin.text.startswith("config undecided (shapes fit F5TTS_Base and")


# -- it decides the config --------------------------------------------------------------------------------------
def test_load_model_takes_the_config_of_the_base_before_the_probe(files, catalogue):
    from f5lab.compat.loading import choose_config, load_model
    from f5lab.files.checkpoint import open_checkpoint

    asked = []

    def probe(path, candidates):
        asked.append(candidates)
        return candidates[0]

    for path, want in ((files["layouts"]["trainer_pt"], "F5TTS_Base"), (files["v1_ft"], "F5TTS_v1_Base")):
        entry, why = choose_config(open_checkpoint(path), probe=probe, catalogue=catalogue, bases=bases_of(files, "st"))
        assert entry.name == want and why.startswith(f"lineage: {want}: descends from")
    assert asked == []  # lineage decided: the probe was never run
    model = load_model(files["v1_ft"], catalogue=catalogue, bases=bases_of(files, "pt"), probe=probe)
    assert model.transformer.text_embed.mask_padding is True and asked == []  # v1's text_mask_padding
    entry, why = choose_config(open_checkpoint(files["random"]), probe=probe, catalogue=catalogue,
                               bases=bases_of(files, "st"))
    assert why == "chosen by the behavioural probe" and asked == [["F5TTS_Base", "F5TTS_v1_Base"]]
    from f5lab.speech.probe import load_model_by_probe

    model, result = load_model_by_probe(files["v1_ft"], "never-read.wav", "unused", catalogue=catalogue,
                                        bases=bases_of(files, "st"))
    assert result is None and model.transformer.text_embed.mask_padding is True  # lineage decided: no probe ran


def test_diagnose_says_what_lineage_decided(files, catalogue):
    from f5lab.compat.diagnose import diagnose

    path = files["layouts"]["release_safetensors"]
    lin = lineage(path, bases_of(files, "st"), catalogue=catalogue)
    d = diagnose(path, config="E2TTS_Base", catalogue=catalogue, lineage=lin)
    assert "ambiguous_config" not in d.codes()
    found = next(f for f in d.findings if f.code == "lineage")
    assert found.config == "F5TTS_Base" and "descends from F5TTS_Base model_1200000" in found.evidence
    assert "the two nearest bases sit 1.4 apart" in found.evidence
    e2 = next(f for f in d.findings if f.config == "E2TTS_Base")
    assert e2.fix.startswith("use config F5TTS_Base (the config of the base it descends from: f5lab lineage)")
    undecided = diagnose(files["random"], catalogue=catalogue, lineage=lineage(files["random"], bases_of(files, "st")))
    warn = next(f for f in undecided.findings if f.code == "ambiguous_config")
    assert "lineage: no verdict" in warn.evidence


# -- the command -----------------------------------------------------------------------------------------------
def test_cli_json_and_exit_codes(files):
    argv = ["lineage", str(files["layouts"]["trainer_pt"]), "--base", str(files["st"]["F5TTS_Base"]), "--base",
            str(files["pt"]["F5TTS_v1_Base"]), "--json"]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["verdict"] == str(files["st"]["F5TTS_Base"]) and out["config"] == "F5TTS_Base"
    assert 0.9 < out["margin"] <= 1
    assert [b["config"] for b in out["bases"]] == ["F5TTS_Base", "F5TTS_v1_Base"]
    assert all({"path", "config", "distance", "cosine"} <= set(b) for b in out["bases"])
    assert out["threshold"] == {"max_distance": MAX_DISTANCE, "min_margin": MIN_MARGIN,
                                "unrelated_distance": pytest.approx(math.sqrt(2))}
    human = CliRunner().invoke(main, argv[:-1])
    assert human.exit_code == 0 and "verdict: F5TTS_Base: descends from F5TTS_Base model_1200000" in human.output
    assert "what changed, per block" in human.output and "raw weights: distance" in human.output
    none = CliRunner().invoke(main, ["lineage", str(files["random"]), "--base", str(files["st"]["F5TTS_Base"])])
    assert none.exit_code == 1 and "verdict: no verdict" in none.output


def test_drift_figure_has_one_line_per_base_and_the_blocks_on_x(files):
    lin = lineage(files["layouts"]["release_safetensors"], bases_of(files, "st"))
    ax = plot_drift(lin).axes[0]
    labels = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert labels[0].startswith("F5TTS_Base model_1200000 (F5TTS_Base): ") and labels[0].endswith(" over the model")
    assert labels[1].startswith("F5TTS_v1_Base model_1250000 (F5TTS_v1_Base): 1.4")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["time_embed", "text_embed", "input_embed", "block 0",
                                                            "block 1", "norm_out/proj_out"]
    assert ax.get_yscale() == "log" and len([ln for ln in ax.get_lines() if ln.get_marker() == "o"]) == 2


# -- the report: the answer card and the decision rules -------------------------------------------------------
UNDETERMINED = ["F5TTS_Base vs F5TTS_v1_Base (v0 or v1: f5lab lineage against the base, else the probe, decides)", "vocoder (vocos or BigVGAN)"]


def card(lineage_fact=None, probe_fact=None) -> dict:
    from f5lab.reporting.reports import build_answer

    facts = {"checkpoint": {"text": "DiT ...", "undetermined": UNDETERMINED}}
    if lineage_fact:
        facts["lineage"] = lineage_fact
    if probe_fact:
        facts["probe"] = probe_fact
    return build_answer(facts, {"checkpoint": "m.safetensors", "config": "E2TTS_Base"})


def test_the_card_says_lineage_before_the_probe_and_drops_v0_v1_from_undecided(files):
    from f5lab.reporting import decide

    lin = lineage(files["layouts"]["release_safetensors"], bases_of(files, "st"))
    fact = decide.lineage_verdict(lin)
    assert fact["text"].startswith("lineage: F5TTS_Base: descends from F5TTS_Base model_1200000, relative distance")
    assert fact["text"].endswith("; the two nearest bases sit 1.4 apart") and fact["ok"] is True
    assert fact["config"] == "F5TTS_Base" and fact["bases_apart"] == pytest.approx(1.411, abs=0.01)
    probe = {"text": "probe: undecided, margin under the bar (...)", "ok": None, "decided": False,
             "best": "F5TTS_v1_Base"}
    answer = card(fact, probe)
    labels = [line["label"] for line in answer["lines"]]
    assert labels == ["what it is", "which config (lineage)", "which config (probe)", "still undecided"]
    assert answer["undecided"] == ["vocoder (vocos or BigVGAN)"]  # no longer v0 / v1
    assert answer["lineage"]["config"] == "F5TTS_Base" and answer["lineage"]["base"] == "F5TTS_Base model_1200000"
    assert answer["lineage"]["base_match"] == "tensor" and fact["base_match"] == lin.base_match == "tensor"
    assert decide.lineage_verdict(lin, stand_in=True)["base_match"] is None  # a stand-in base names no base_model
    # no base at hand: the line says where it looked, and v0 / v1 stay undecided
    none = card(decide.lineage_verdict(None, ["/x/hub/models--SWivid--F5-TTS/snapshots"]))
    assert none["lineage"]["base_match"] is None
    assert "looked in /x/hub/models--SWivid--F5-TTS/snapshots" in none["lines"][1]["text"]
    assert none["undecided"] == UNDETERMINED and none["lines"][1]["ok"] is None
    # both ran and disagree: both shown, the disagreement said
    both = card(fact, {**probe, "decided": True, "text": "probe: trained as F5TTS_v1_Base (...)"})
    assert "lineage says F5TTS_Base" in both["lines"][2]["text"]
    assert card(probe_fact=probe)["undecided"] == UNDETERMINED  # nothing decided


def test_the_target_and_the_fix_follow_lineage():
    from dataclasses import dataclass

    from f5lab.reporting import decide

    @dataclass
    class Row:
        config: str
        status: str

    from f5lab.compat.decision import ConfigDecision

    def by_lineage(config: str) -> ConfigDecision:
        return ConfigDecision(config, "lineage", f"lineage: {config}", ("F5TTS_Base", "F5TTS_v1_Base"))

    rows = [Row("E2TTS_Base", "cannot"), Row("F5TTS_Base", "loads"), Row("F5TTS_v1_Base", "loads")]
    assert decide.choose_target(rows) == "F5TTS_Base"
    assert decide.choose_target(rows, by_lineage("F5TTS_v1_Base")) == "F5TTS_v1_Base"
    assert decide.choose_target(rows, ConfigDecision("F5TTS_Base", "named", "named")) == "F5TTS_Base"  # named wins
    assert decide.choose_target(rows, by_lineage("E2TTS_Base")) == "F5TTS_Base"  # a config that cannot load: ignored
    line = decide.fix_line("m.pt", "E2TTS_Base", rows, "F5TTS_v1_Base", settled="descends from X (lineage)")
    assert line == "f5lab.load_model('m.pt', config='F5TTS_v1_Base')  # not E2TTS_Base; descends from X (lineage)"
    assert "f5lab lineage or f5lab probe decides" in decide.fix_line("m.pt", "E2TTS_Base", rows, "F5TTS_Base")

"""Weights that cannot speak are named from the tensors, before any synthesis.

Real f5-tts models at tiny scale: as f5-tts builds them (zero adaLN and proj_out), as f5lab's
synthetic builder writes them (random, never trained), after two real training updates, and
broken on purpose (NaN, a constant projection, an EMA left at its initialisation)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from f5lab.model.readiness import NOISE, PROJ_OUT, identical_renderings, speech_readiness


def _save(sd: dict, path) -> str:
    save_file({"ema_model." + k: v.detach().contiguous() for k, v in sd.items()}, str(path))
    return str(path)


@pytest.fixture(scope="module")
def f5tts_init(catalogue):
    """State dict of a DiT exactly as f5-tts's classes build it (initialize_weights: adaLN, proj_out zero)."""
    from f5lab.model.build import build_model

    torch.manual_seed(0)
    return {k: v.clone() for k, v in build_model(catalogue["F5TTS_Base"], 2545).state_dict().items()}


@pytest.fixture(scope="module")
def trained_twice(make_fixture, tmp_path_factory):
    """The synthetic fixture after two real AdamW updates of f5-tts's loss, with a live EMA (trainer file)."""
    from f5lab.synthetic.finetunes import fine_tune, write_finetune

    ft = fine_tune(make_fixture("F5TTS_Base").path, updates=2, lr=1e-3)
    return write_finetune(ft, tmp_path_factory.mktemp("ready") / "model_2.pt", "trainer_pt")


def test_f5tts_fresh_initialisation_is_noise(f5tts_init, tmp_path):
    r = speech_readiness(_save(f5tts_init, tmp_path / "init.safetensors"))
    assert r.can_speak is False and r.kind == "noise"
    codes = [f.code for f in r.findings]
    assert codes[:2] == ["proj_out_zero", "adaln_zero"] and "default_init" in codes
    assert r.why.startswith(NOISE + ": the output projection (proj_out) is all zero")
    assert r.answer() == {"can_speak": False, "why": r.why}


def test_an_fp16_export_of_the_initialisation_is_caught_too(f5tts_init, tmp_path):
    r = speech_readiness(_save({k: v.half() for k, v in f5tts_init.items()}, tmp_path / "init16.safetensors"))
    assert r.can_speak is False and {"proj_out_zero", "default_init"} <= {f.code for f in r.findings}


def test_the_synthetic_builders_random_weights_are_named_random(make_fixture):
    """f5lab's demo and fixtures fill f5-tts's zeroed tensors with small random values: no zero
    projection, but still never trained; the default-init signature says so."""
    r = speech_readiness(make_fixture("F5TTS_Base").path)
    assert r.can_speak is False and r.kind == "random"
    assert [f.code for f in r.findings] == ["default_init"]
    done, of = r.default_init
    assert of > 20 and done / of > 0.8
    e2 = speech_readiness(make_fixture("E2TTS_Base", "trainer_pt").path)  # UNetT: no adaLN; a trainer file
    assert e2.can_speak is False and e2.kind == "random"


def test_two_training_updates_are_past_the_initialisation(trained_twice):
    r = speech_readiness(trained_twice)
    assert r.can_speak is True and r.kind is None and r.findings == []
    assert r.default_init[0] == 0 and "whether it speaks well is for the renderings to show" in r.why


def test_nan_and_a_constant_projection_are_named_with_their_tensors(f5tts_init, make_fixture, tmp_path):
    from f5lab.files.checkpoint import open_checkpoint

    ckpt = open_checkpoint(make_fixture("F5TTS_Base").path)
    sd = {n: t.clone() for n, t in ckpt.iter_tensors(ckpt.model_state())}
    key = "transformer.transformer_blocks.0.attn.to_q.weight"
    sd[key][0, 0] = float("nan")
    r = speech_readiness(_save(sd, tmp_path / "nan.safetensors"))
    assert r.can_speak is False and r.kind == "broken"
    assert r.findings[0].code == "non_finite" and r.findings[0].keys == [key]
    sd[key][0, 0] = 0.0
    sd[PROJ_OUT] = torch.full_like(sd[PROJ_OUT], 0.01)
    r = speech_readiness(_save(sd, tmp_path / "const.safetensors"))
    assert r.kind == "noise" and r.findings[0].code == "proj_out_constant"


def test_an_ema_left_at_its_initialisation_while_the_raw_weights_trained(f5tts_init, tmp_path):
    """A trainer file whose EMA never left f5-tts's initialisation (pre-training from scratch, EMA
    never updated): inference runs the initialisation, the raw weights could speak."""
    from f5lab.synthetic.finetunes import fine_tune, write_finetune

    base = _save(f5tts_init, tmp_path / "init.safetensors")
    ft = fine_tune(base, updates=3, lr=1e-3, ema="never")
    r = speech_readiness(write_finetune(ft, tmp_path / "model_3.pt", "trainer_pt"))
    assert r.can_speak is False and r.findings[-1].code == "ema_at_init"
    assert "export the raw weights" in r.findings[-1].text


def test_identical_renderings_are_grouped():
    a = np.linspace(-1, 1, 100, dtype=np.float32)
    groups = identical_renderings({("F5TTS_Base", "fp32", 2): a, ("F5TTS_v1_Base", "fp32", 2): a.copy(),
                                   ("F5TTS_Base", "fp32", 4): a * 0.5})
    assert groups == [[("F5TTS_Base", "fp32", 2), ("F5TTS_v1_Base", "fp32", 2)]]
    assert identical_renderings({"x": a, "y": a + 1e-7}) == []


def test_f5tts_initialisation_renders_the_same_noise_under_every_config_and_it_is_flagged(f5tts_init, catalogue,
                                                                                           tmp_path):
    """The zero velocity field, heard: F5TTS_Base and F5TTS_v1_Base render bit-identical audio from f5-tts's own
    initialisation, and notebook 04's view flags it (a verdict with a cross, and the answer's groups)."""
    from f5lab.model.arch import f5_tts_root
    from f5lab.reporting.sidecar import Sidecar
    from f5lab.reporting.synthviews import identical_result
    from f5lab.speech.grid import plan_grid, render_grid

    ref = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
    plan = plan_grid(_save(f5tts_init, tmp_path / "init.safetensors"), catalogue, ref_audio=str(ref),
                     ref_text="Some call me nature, others call me mother nature.", gen_text="Hi.", nfe=2)
    results = render_grid(plan, seed=0)
    assert [k[0] for k in results] == ["F5TTS_Base", "F5TTS_v1_Base"]
    side = Sidecar(None, "04_synthesis")
    groups = identical_result(side, results)
    assert groups == [[("F5TTS_Base", "fp32", 2), ("F5TTS_v1_Base", "fp32", 2)]]
    (verdict,) = side.data["verdicts"]
    assert verdict["ok"] is False and verdict["text"].startswith("bit-identical renderings across settings")
    assert side.data["answer"]["identical"]["groups"] == [[["F5TTS_Base", "fp32", 2], ["F5TTS_v1_Base", "fp32", 2]]]


def test_the_card_names_weights_that_cannot_speak_and_identical_renderings():
    from f5lab.reporting.reports import build_answer

    why = NOISE + ": the output projection (proj_out) is all zero"
    a = build_answer({"identical": {"groups": [[["A", "fp32", 2], ["B", "fp32", 2]]]}},
                     {"checkpoint": "m.safetensors", "weights": {"can_speak": False, "why": why}})
    assert a["weights"] == {"can_speak": False, "why": why}
    lines = {line["label"]: line for line in a["lines"]}
    card = {k: v for k, v in lines["can it speak?"].items() if k != "evidence"}
    assert card == {"label": "can it speak?", "text": why, "ok": False}
    assert lines["can it speak?"]["evidence"]["kind"] == "measured"  # read from the tensors here
    assert lines["renderings"]["ok"] is False and a["identical_renderings"] == [[["A", "fp32", 2], ["B", "fp32", 2]]]
    ok = build_answer({}, {"checkpoint": "m.safetensors", "weights": {"can_speak": True, "why": "no sign"}})
    assert ok["weights"]["can_speak"] is True and "can it speak?" not in {line["label"] for line in ok["lines"]}

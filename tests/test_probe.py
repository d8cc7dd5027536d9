"""The behavioural probe, tested honestly: train a tiny model under one config, ask the probe which.

F5TTS_Base and F5TTS_v1_Base share every shape; a model trained 120 steps under one
of them on a real speech clip has a clearly lower flow-matching loss under that one.
"""

from __future__ import annotations

import random

import pytest
import torch

from f5lab.model.arch import f5_tts_root
from f5lab.speech.audio import prepare_reference
from f5lab.errors import ConfigError
from f5lab.speech.probe import ProbeHook, candidates_for, load_model_by_probe, probe

REF_WAV = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
CLIP_TEXT = "Some call me nature."
CLIP_SECONDS = 1.2
STEPS = 120


@pytest.fixture(scope="module")
def clip():
    ref = prepare_reference(REF_WAV)
    return ref.wav[: int(CLIP_SECONDS * 24000)].copy(), 24000


def train_tiny(config: str, catalogue, clip, path, steps: int = STEPS) -> None:
    """A few dozen AdamW steps of f5-tts's own training loss (CFM.forward) on one clip; save as a release file."""
    from f5_tts.model.utils import convert_char_to_pinyin
    from safetensors.torch import save_file

    from f5lab.compat.loading import build_model
    from f5lab.files.vocab import read_vocab

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is faster than two fighting on a shared CPU
    try:
        torch.manual_seed(0)
        random.seed(0)
        tokens = read_vocab()
        model = build_model(catalogue[config], len(tokens), {t: i for i, t in enumerate(tokens)}).train()
        wav, _ = clip
        mel = model.mel_spec(torch.from_numpy(wav)[None]).permute(0, 2, 1)
        text = convert_char_to_pinyin([CLIP_TEXT])
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        for _ in range(steps):
            loss, _, _ = model(mel, text=text)
            opt.zero_grad()
            loss.backward()
            opt.step()
        save_file({"ema_model." + k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(path))
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, catalogue, clip):
    root = tmp_path_factory.mktemp("probe")
    out = {}
    for config in ("F5TTS_Base", "F5TTS_v1_Base"):
        out[config] = root / f"trained_{config}.safetensors"
        train_tiny(config, catalogue, clip, out[config])
    return out


@pytest.mark.parametrize("config", ["F5TTS_Base", "F5TTS_v1_Base"])
def test_probe_picks_the_config_it_was_trained_under(trained, catalogue, clip, config):
    r = probe(trained[config], clip, CLIP_TEXT, seed=0, n_samples=6, catalogue=catalogue)
    assert {c.config for c in r.ranking} == {"F5TTS_Base", "F5TTS_v1_Base"}  # the shapes cannot decide
    assert r.best == config
    assert r.wins >= 5 and r.margin > 0 and r.relative_margin > 0.05
    assert r.confident
    d = r.to_dict()
    assert d["best"] == config and len(d["ranking"][0]["losses"]) == 6


def test_probe_is_deterministic_and_paired(trained, catalogue, clip):
    a = probe(trained["F5TTS_Base"], clip, CLIP_TEXT, seed=3, n_samples=3, catalogue=catalogue)
    b = probe(trained["F5TTS_Base"], clip, CLIP_TEXT, seed=3, n_samples=3, catalogue=catalogue)
    assert [c.losses for c in a.ranking] == [c.losses for c in b.ranking]


def test_candidates_come_from_the_shapes(make_fixture, catalogue):
    fx = make_fixture("F5TTS_Base")
    assert set(candidates_for(fx.path, catalogue)) == {"F5TTS_Base", "F5TTS_v1_Base"}
    assert candidates_for(make_fixture("E2TTS_Base").path, catalogue) == ["E2TTS_Base"]


def test_load_model_decides_an_ambiguous_checkpoint_by_probe(trained, catalogue, clip):
    from f5lab.compat.loading import AmbiguousConfigError, load_model

    path = str(trained["F5TTS_Base"])
    with pytest.raises(AmbiguousConfigError, match="probe"):
        load_model(path, catalogue=catalogue)
    hook = ProbeHook(clip, CLIP_TEXT, n_samples=4, catalogue=catalogue)
    model = load_model(path, catalogue=catalogue, probe=hook)
    assert hook.result.best == "F5TTS_Base" and hook.result.margin > 0
    assert model.transformer.text_embed.mask_padding is False  # built as F5TTS_Base (v1 masks padding)
    model2, result = load_model_by_probe(path, clip, CLIP_TEXT, n_samples=4, catalogue=catalogue)
    assert result.best == "F5TTS_Base" and model2.transformer.text_embed.mask_padding is False


def test_probe_needs_a_transcript(trained, catalogue, clip):
    from f5lab.speech.synth import TextError

    with pytest.raises(TextError):
        probe(trained["F5TTS_Base"], clip, "  ", catalogue=catalogue)
    with pytest.raises(ConfigError):
        probe(trained["F5TTS_Base"], clip, CLIP_TEXT, candidates=["NoSuchConfig"], catalogue=catalogue)


def test_cli_probe(trained):
    import json

    from click.testing import CliRunner

    from f5lab.cli.commands import main

    args = ["probe", str(trained["F5TTS_v1_Base"]), "--ref-audio", str(REF_WAV), "--ref-text",
            "Some call me nature, others call me mother nature.", "--configs", "tiny", "--samples", "3"]
    res = CliRunner().invoke(main, args + ["--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["best"] == "F5TTS_v1_Base" and len(d["ranking"]) == 2
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "best: F5TTS_v1_Base" in res.output


def test_synthesize_with_probe_true_records_the_choice(trained, catalogue, clip):
    from f5lab.speech.synth import synthesize

    r = synthesize(trained["F5TTS_v1_Base"], clip, CLIP_TEXT, "Hello.", nfe=1, probe=True, catalogue=catalogue)
    m = r.record["model"]
    assert m["config"] == "F5TTS_v1_Base" and m["config_reason"] == "chosen by the behavioural probe"
    assert m["probe"]["best"] == "F5TTS_v1_Base" and m["probe"]["margin"] > 0


def test_probe_normalises_its_transcript_as_synthesize_does(trained, catalogue, clip):
    """The loss is on the text the model is given: `probe(..., lang, normalize=True)` normalises it
    (the CLI no longer does it for the library), and the result keeps both texts."""
    kw = dict(seed=0, n_samples=2, catalogue=catalogue)
    spoken = probe(trained["F5TTS_Base"], clip, "São 2 horas.", lang="pt-BR", normalize=True, **kw)
    assert spoken.text == {"lang": "pt-BR", "normalized": True, "ref_text_raw": "São 2 horas.",
                           "ref_text": "são duas horas."}
    same = probe(trained["F5TTS_Base"], clip, "são duas horas.", lang="pt-BR", **kw)
    assert [c.losses for c in spoken.ranking] == [c.losses for c in same.ranking]
    assert same.text["ref_text"] == same.text["ref_text_raw"] == "são duas horas."


def test_a_zero_margin_is_a_tie_never_a_best(catalogue, clip, tmp_path):
    """f5-tts's own initialisation (zero proj_out): the velocity is zero under every config, so the
    losses are identical to the last digit: a tie, in the result, its verdict and the CLI."""
    import json

    from click.testing import CliRunner
    from safetensors.torch import save_file

    from f5lab.cli.commands import main
    from f5lab.compat.decision import probe_verdict
    from f5lab.model.build import build_model

    torch.manual_seed(0)
    path = tmp_path / "init.safetensors"
    save_file({"ema_model." + k: v.contiguous() for k, v in build_model(catalogue["F5TTS_Base"], 2545)
               .state_dict().items()}, str(path))
    r = probe(path, clip, CLIP_TEXT, seed=0, n_samples=3, catalogue=catalogue)
    assert r.margin == 0 and r.ranking[0].losses == r.ranking[1].losses and r.wins == 0
    assert r.tie and r.verdict == "tie" and not r.confident
    d = r.to_dict()
    assert d["best"] is None and d["verdict"] == "tie" and d["lowest"] in ("F5TTS_Base", "F5TTS_v1_Base")
    v = probe_verdict(r)
    assert v["decided"] is False and v["best"] is None and v["text"].startswith("probe: tie between ")
    args = ["probe", str(path), "--ref-audio", str(REF_WAV), "--ref-text", CLIP_TEXT, "--configs", "tiny",
            "--samples", "2"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "tie: " in res.output and "best:" not in res.output and "leans" not in res.output
    assert json.loads(CliRunner().invoke(main, args + ["--json"]).output)["verdict"] == "tie"

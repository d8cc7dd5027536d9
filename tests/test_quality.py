"""Quality metrics on real signals and real speech that ships offline with f5-tts."""

from __future__ import annotations

import numpy as np
import pytest

from f5lab.model.arch import f5_tts_root
from f5lab.speech.audio import read_audio
from f5lab.speech.quality import (QualityError, compare_records, get_asr, get_speaker, log_mel, mel_distance,
                           normalize_text, signal_metrics, speaker_similarity, wer, wer_details)

EXAMPLES = f5_tts_root() / "infer" / "examples" / "basic"
EN_TEXT = "Some call me nature, others call me mother nature."
SR = 24000


@pytest.fixture(scope="module")
def speech():
    return read_audio(EXAMPLES / "basic_ref_en.wav")


def tone(seconds: float, amp: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_signal_metrics_on_known_signals():
    x = np.concatenate([tone(1.0), np.zeros(SR, dtype=np.float32)])
    m = signal_metrics(x, SR, expected_seconds=2.5)
    assert m["seconds"] == 2.0 and m["duration_error_s"] == -0.5
    assert m["peak"] == pytest.approx(0.5, abs=1e-3)
    assert m["rms"] == pytest.approx(0.5 / np.sqrt(2) / np.sqrt(2), rel=1e-3)  # half the time at 0.354
    assert m["silence_ratio"] == pytest.approx(0.5, abs=0.02)
    assert m["clipping_ratio"] == 0.0 and m["non_finite"] == 0
    clipped = np.clip(tone(1.0, amp=2.0), -1, 1)
    assert signal_metrics(clipped, SR)["clipping_ratio"] > 0.5
    assert signal_metrics(np.zeros(SR), SR)["rms_dbfs"] is None


def test_mel_distance_zero_for_identical_and_grows_with_noise(speech):
    wav, sr = speech
    same = mel_distance(wav, wav, sr)
    assert same["mel_l1"] == 0.0 and same["mcd_db"] == 0.0
    rng = np.random.default_rng(0)
    small = mel_distance(wav, wav + rng.normal(0, 0.002, len(wav)).astype(np.float32), sr)
    large = mel_distance(wav, wav + rng.normal(0, 0.05, len(wav)).astype(np.float32), sr)
    assert 0 < small["mcd_db"] < large["mcd_db"] and 0 < small["mel_l1"] < large["mel_l1"]
    mel = log_mel(wav, sr)
    assert mel.shape == (100, len(wav) // 256 + 1)
    assert mel_distance(mel, mel[:, :-10])["frames_compared"] == mel.shape[1] - 10
    with pytest.raises(QualityError, match="bins"):
        mel_distance(mel, mel[:80])


def test_pocketsphinx_recognises_real_speech(speech):
    wav, sr = speech
    asr = get_asr("pocketsphinx")
    hyp = asr.transcribe(wav, sr)
    assert wer(EN_TEXT, hyp, "en") <= 0.25, hyp


def test_griffin_lim_inversion_of_real_speech_stays_intelligible(speech):
    """The offline fallback vocoder is usable: its inversion of a real mel is recognised."""
    import torch

    from f5lab.speech.audio import resample
    from f5lab.speech.vocoders import griffin_lim

    wav, sr = speech
    mel = torch.from_numpy(log_mel(resample(wav, sr, SR)))[None]
    out = griffin_lim().decode(mel)[0].numpy()
    assert len(out) == mel.shape[-1] * 256
    assert wer(EN_TEXT, get_asr("pocketsphinx").transcribe(out, SR), "en") <= 0.35
    assert mel_distance(wav, out)["mcd_db"] < 6.0


def test_wer_normalisation_en_and_pt_br():
    assert wer("Don't STOP, now!", "don’t stop now", "en") == 0.0
    assert normalize_text("Olá, mundo! Fala-se português.", "pt-BR") == "olá mundo fala se português"
    d = wer_details("Olá, mundo! Fala-se português.", "ola mundo fala se português", "pt-BR")
    assert d["wer"] == pytest.approx(0.2) and d["substitutions"] == 1  # accents change words in Portuguese
    assert wer("a b c d", "a x c", "en") == pytest.approx(0.5)
    with pytest.raises(QualityError):
        wer("...", "x")


def test_speaker_similarity_separates_voices(speech):
    wav, sr = speech
    other, osr = read_audio(EXAMPLES / "basic_ref_zh.wav")
    enc = get_speaker("resemblyzer")
    half = len(wav) // 2
    same = speaker_similarity(wav[:half], sr, wav[half:], sr, enc)
    different = speaker_similarity(wav, sr, other, osr, enc)
    assert same > different + 0.1
    assert speaker_similarity(wav, sr, wav, sr, enc) == pytest.approx(1.0, abs=1e-4)


def test_backend_errors(tmp_path):
    with pytest.raises(QualityError, match="unknown ASR"):
        get_asr("nope")
    with pytest.raises(QualityError, match="model_dir"):
        get_asr("faster-whisper")
    with pytest.raises(QualityError, match="model.bin"):
        get_asr("faster-whisper", model_dir=tmp_path)
    with pytest.raises(QualityError, match="English"):
        get_asr("pocketsphinx", language="pt-BR")
    with pytest.raises(QualityError, match="unknown speaker"):
        get_speaker("nope")


def test_compare_records_of_two_real_syntheses(make_fixture, catalogue, tmp_path):
    from f5lab.compat.loading import load_model
    from f5lab.speech.synth import synthesize

    model = load_model(str(make_fixture("F5TTS_Base").path), config="F5TTS_Base", catalogue=catalogue)
    ref = EXAMPLES / "basic_ref_en.wav"
    a = synthesize(model, ref, EN_TEXT, "Compare these two.", nfe=2, out_dir=tmp_path / "a")
    b = synthesize(model, ref, EN_TEXT, "Compare these two.", nfe=3, out_dir=tmp_path / "b")
    c = compare_records(tmp_path / "a" / "synth.json", tmp_path / "b")
    assert c["settings"] == [{"key": "nfe", "a": 2, "b": 3}]
    assert c["audio"]["identical"] is False and c["audio"]["seconds"]["a"] == c["audio"]["seconds"]["b"]
    assert c["mel_distance"]["frames_compared"] == a.mel.shape[1] and c["mel_distance"]["mel_l1"] > 0
    assert c["timings"]["sample_s"]["ratio"] > 0
    same = compare_records(a.record, a.record)
    assert same["settings"] == [] and same["audio"]["identical"] is True
    assert b.record["timings"]["steps"] == 3
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(QualityError, match="not an f5lab synthesis record"):
        compare_records(tmp_path / "bad.json", a.record)


def test_cli_compare(tmp_path, make_fixture, catalogue):
    import json

    from click.testing import CliRunner

    from f5lab.cli.commands import main
    from f5lab.compat.loading import load_model
    from f5lab.speech.synth import synthesize

    model = load_model(str(make_fixture("F5TTS_Base").path), config="F5TTS_Base", catalogue=catalogue)
    for seed in (1, 2):
        synthesize(model, EXAMPLES / "basic_ref_en.wav", EN_TEXT, "Seeds differ.", nfe=2, seed=seed,
                   out_dir=tmp_path / f"s{seed}")
    res = CliRunner().invoke(main, ["compare", str(tmp_path / "s1"), str(tmp_path / "s2")])
    assert res.exit_code == 0, res.output
    assert "settings.seed" in res.output and "audio: different" in res.output and "MCD" in res.output
    res = CliRunner().invoke(main, ["compare", str(tmp_path / "s1"), str(tmp_path / "s1"), "--json"])
    assert json.loads(res.output)["audio"]["identical"] is True
    res = CliRunner().invoke(main, ["compare", str(tmp_path / "s1"), str(tmp_path / "missing.json")])
    assert res.exit_code == 2 and "not found" in res.output


def test_evaluate_real_speech_against_itself(speech):
    from f5lab.speech.quality import evaluate

    wav, sr = speech
    half = len(wav) // 2
    out = evaluate(wav, sr, text=EN_TEXT, asr=get_asr("pocketsphinx"), ref=(wav[:half], sr), speaker="resemblyzer",
                   expected_seconds=5.0)
    assert out["signal"]["duration_error_s"] == pytest.approx(len(wav) / sr - 5.0, abs=1e-3)
    assert out["asr"]["wer"] <= 0.25 and out["asr"]["backend"] == "pocketsphinx"
    assert out["speaker_similarity"]["cosine"] > 0.7
    assert set(evaluate(wav, sr)) == {"signal"}

"""Synthesis end to end on tiny real checkpoints: f5-tts's own sampler, f5lab's bookkeeping."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from f5lab.model.arch import f5_tts_root
from f5lab.speech.audio import AudioError, clip_like_f5tts, prepare_reference, read_audio
from f5lab.speech.synth import TextError, UnknownCharWarning, check_text, chunk, max_chars_for, synthesize
from f5lab.files.vocab import read_vocab
from f5lab.speech.vocoders import VocoderError, load_vocoder, write_random_vocos

REF_WAV = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
REF_TEXT = "Some call me nature, others call me mother nature."
HOP = 256


@pytest.fixture(scope="module")
def tiny_model(make_fixture, catalogue):
    """A tiny F5TTS_Base checkpoint loaded through f5lab.compat.loading, as a user's path would be."""
    from f5lab.compat.loading import load_model

    fx = make_fixture("F5TTS_Base")
    return load_model(str(fx.path), config="F5TTS_Base", catalogue=catalogue)


@pytest.fixture(scope="module")
def ref():
    return prepare_reference(REF_WAV)


def say(model, text="Hello there.", **kw):
    kw.setdefault("nfe", 2)
    return synthesize(model, REF_WAV, REF_TEXT, text, **kw)


def expected_frames(ref, gen_text, speed=1.0):
    """infer_batch_process's duration rule, in frames of generated audio."""
    ref_frames = len(ref.wav) // HOP
    # normalised to end in '. ', then infer_batch_process appends one more space
    ref_bytes = len((REF_TEXT + "  ").encode("utf-8"))
    local_speed = 0.3 if len(gen_text.encode("utf-8")) < 10 else speed
    return int(ref_frames / ref_bytes * len(gen_text.encode("utf-8")) / local_speed)


def test_griffin_lim_end_to_end_shapes_and_duration(tiny_model, ref):
    text = "Hello there, this is a test."
    r = say(tiny_model, text)
    frames = expected_frames(ref, text)
    assert r.mel.shape == (100, frames)
    assert r.wav.shape == (frames * HOP,)
    assert r.sample_rate == 24000
    assert np.isfinite(r.wav).all() and np.abs(r.wav).max() > 0
    rec = r.record
    assert rec["vocoder"]["kind"] == "griffin-lim" and "Griffin-Lim" in rec["vocoder"]["label"]
    assert rec["timings"]["steps"] == 2 and len(rec["timings"]["per_step_s"]) == 2
    assert rec["audio"]["seconds"] == pytest.approx(frames * HOP / 24000, abs=1e-4)
    assert rec["timings"]["rtf"] > 0
    assert rec["versions"]["f5-tts"] == "1.1.22"
    assert rec["text"]["ref_text"] == REF_TEXT + " "


def test_fixed_duration_is_total_seconds_reference_included(tiny_model, ref):
    r = say(tiny_model, "Short words here.", duration=ref.seconds + 1.5)
    total_frames = int((ref.seconds + 1.5) * 24000 / HOP)
    assert r.mel.shape[1] == total_frames - len(ref.wav) // HOP


def test_same_seed_bit_identical_other_seed_differs(tiny_model):
    a = say(tiny_model, "Determinism matters.", seed=7)
    b = say(tiny_model, "Determinism matters.", seed=7)
    c = say(tiny_model, "Determinism matters.", seed=8)
    assert np.array_equal(a.wav, b.wav) and np.array_equal(a.mel, b.mel)
    assert a.record["audio"]["sha256"] == b.record["audio"]["sha256"]
    assert not np.array_equal(a.mel, c.mel)


def test_random_vocos_from_its_config_directory(tiny_model, tmp_path):
    d = write_random_vocos(tmp_path / "vocos")
    voc = load_vocoder(d)
    assert voc.kind == "vocos" and voc.source == str(d)
    r = say(tiny_model, "A neural vocoder.", vocoder=voc)
    assert r.wav.shape == (r.mel.shape[1] * HOP,)
    assert r.record["vocoder"]["kind"] == "vocos"
    r2 = say(tiny_model, "A neural vocoder.", vocoder=str(d))  # a directory works as well
    assert np.array_equal(r.wav, r2.wav)


def test_outputs_written(tiny_model, tmp_path):
    r = say(tiny_model, "Write it all down.", out_dir=tmp_path)
    wav, sr = sf.read(tmp_path / "synth.wav", dtype="float32")
    assert sr == 24000 and np.array_equal(wav, r.wav)
    assert np.array_equal(np.load(tmp_path / "synth_mel.npy"), r.mel)
    assert (tmp_path / "synth_mel.png").read_bytes()[:4] == b"\x89PNG"
    rec = json.loads((tmp_path / "synth.json").read_text())
    assert rec["settings"]["nfe"] == 2 and rec["files"]["wav"] == str(tmp_path / "synth.wav")
    assert rec["audio"]["sha256"] == r.record["audio"]["sha256"]


def test_check_text_names_what_f5tts_maps_to_space():
    from f5_tts.model.utils import convert_char_to_pinyin, list_str_to_idx

    tokens = read_vocab()
    text = "VOVÔ PÕE o pão; ô õ."
    unknown = check_text(text, tokens)
    assert [(u.char, u.positions) for u in unknown] == [("Ô", [3]), ("Õ", [6])]
    assert unknown[0].name == "LATIN CAPITAL LETTER O WITH CIRCUMFLEX"
    # the same count f5-tts's own tokeniser silently turns into index 0 (a space)
    chars = convert_char_to_pinyin([text])[0]
    ids = list_str_to_idx([chars], {t: i for i, t in enumerate(tokens)})[0].tolist()
    assert sum(1 for c, i in zip(chars, ids) if i == 0 and c != " ") == 2
    assert check_text("Plain ascii, fine; “quoted”.", tokens) == []


def test_unknown_chars_warn_or_fail_under_strict(tiny_model):
    with pytest.warns(UnknownCharWarning, match="U\\+00D4"):
        r = say(tiny_model, "O VOVÔ chegou.")
    assert r.record["text"]["unknown_chars"][0]["positions"] == [5]
    with pytest.raises(TextError, match="not in the vocabulary"):
        say(tiny_model, "O VOVÔ chegou.", strict_text=True)


def test_chunking_600_characters(tiny_model, ref):
    sentence = "The quick brown fox jumps over the lazy dog near the river bank. "
    text = (sentence * 10)[:600].strip()
    assert len(text) >= 590
    ref_text = REF_TEXT + " "
    chunks = chunk(text, ref_text, ref.seconds)
    limit = max_chars_for(ref_text, ref.seconds)
    assert len(chunks) > 1 and all(len(c.encode()) <= limit for c in chunks)
    assert " ".join(chunks).split() == text.split()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownCharWarning)
        r = say(tiny_model, text, nfe=1)
    assert r.record["text"]["chunks"] == chunks
    frames = [expected_frames(ref, c) for c in chunks]
    assert r.mel.shape[1] == sum(frames)
    fade = int(0.15 * 24000)
    assert len(r.wav) == sum(frames) * HOP - fade * (len(chunks) - 1)
    again = say(tiny_model, text, nfe=1)  # chunks run in f5-tts's thread pool: still bit-identical
    assert np.array_equal(again.wav, r.wav)


def test_reference_clipping_matches_f5tts(tmp_path):
    """An 18 s reference with long pauses is clipped exactly as preprocess_ref_audio_text does."""
    from f5_tts.infer.utils_infer import preprocess_ref_audio_text

    wav, sr = read_audio(REF_WAV)
    pause = np.zeros(int(1.2 * sr), dtype=np.float32)
    long = np.concatenate([wav, pause, wav * 0.8, pause, wav * 0.6])
    path = tmp_path / "long.wav"
    sf.write(path, long, sr, subtype="PCM_16")
    ours, our_sr, notes = clip_like_f5tts(sf.read(path, dtype="float32")[0], sr)
    theirs_path, _ = preprocess_ref_audio_text(str(path), "x", show_info=lambda *_: None)
    theirs, their_sr = sf.read(theirs_path, dtype="float32")
    assert our_sr == their_sr and notes and len(ours) / sr < 12.1
    np.testing.assert_array_equal(ours, theirs)  # bit-exact for 16-bit sources
    r = prepare_reference(path)
    assert r.clipped and r.sample_rate == 24000 and r.seconds == pytest.approx(len(ours) / sr, abs=1e-3)


@pytest.mark.parametrize("kind,match", [
    ("missing", "not found"), ("empty", "empty"), ("silent", "silent"), ("short", "too short"),
    ("garbage", "cannot decode"), ("directory", "directory"),
])
def test_bad_reference_audio(tmp_path, kind, match):
    path = tmp_path / "ref.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "silent":
        sf.write(path, np.zeros(24000 * 2, dtype=np.float32), 24000)
    elif kind == "short":
        sf.write(path, (0.3 * np.sin(np.arange(2400) / 5.0)).astype(np.float32), 24000)
    elif kind == "garbage":
        path = tmp_path / "ref.mp3"
        path.write_bytes(b"this is not audio at all" * 100)
    elif kind == "directory":
        path = tmp_path
    with pytest.raises(AudioError, match=match):
        prepare_reference(path)


def test_bad_text_and_vocoder(tiny_model, tmp_path):
    with pytest.raises(TextError, match="empty"):
        synthesize(tiny_model, REF_WAV, REF_TEXT, "   ")
    with pytest.raises(TextError, match="transcript"):
        synthesize(tiny_model, REF_WAV, "", "Hello.")
    (tmp_path / "voc").mkdir()
    (tmp_path / "voc" / "config.yaml").write_text("x: 1\n")
    with pytest.raises(VocoderError, match="pytorch_model.bin"):
        load_vocoder(tmp_path / "voc")
    with pytest.raises(VocoderError, match="not found"):
        load_vocoder(tmp_path / "nowhere")


def test_mp3_reference(tmp_path):
    wav, sr = read_audio(REF_WAV)
    path = tmp_path / "ref.mp3"
    sf.write(path, wav, sr, format="MP3")
    r = prepare_reference(path)
    assert r.sample_rate == 24000 and abs(r.source_seconds - len(wav) / sr) < 0.1


def test_stereo_flac_reference_is_mixed_to_mono(tmp_path):
    wav, sr = read_audio(REF_WAV)
    st = np.stack([wav, wav * 0.5], axis=1)
    path = tmp_path / "stereo.flac"
    sf.write(path, st, sr)
    r = prepare_reference(path)
    assert r.sample_rate == 24000 and r.source_sample_rate == sr
    mono, _ = read_audio(path)
    np.testing.assert_allclose(mono, wav * 0.75, atol=1e-4)
    assert Path(r.source).suffix == ".flac"


def test_cli_synth_with_probe_writes_everything(make_fixture, tmp_path):
    from click.testing import CliRunner

    from f5lab.cli.commands import main

    fx = make_fixture("F5TTS_Base")  # tiny: its shapes fit F5TTS_Base and F5TTS_v1_Base alike
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["synth", str(fx.path), "--ref-audio", str(REF_WAV), "--asr", "pocketsphinx",
                                    "--text", "VOVÔ says hello.", "--nfe", "2", "--configs", "tiny", "--probe",
                                    "--out", str(out), "--no-normalize"])  # as written: 'Ô' stays unknown
    assert res.exit_code == 0, res.output
    assert "reference transcript (pocketsphinx): some" in res.output  # no --ref-text: transcribed offline
    assert "config chosen by probe" in res.output and "Griffin-Lim" in res.output
    assert "U+00D4" in res.output  # the unknown-character warning
    rec = json.loads((out / "synth.json").read_text())
    probe = rec["model"]["probe"]  # random weights: a tie (best None); --probe takes the lower loss at its word
    assert probe["lowest"] == rec["model"]["config"] in ("F5TTS_Base", "F5TTS_v1_Base")
    assert probe["best"] == (None if probe["verdict"] == "tie" else probe["lowest"])
    assert rec["model"]["config_reason"] == "chosen by the behavioural probe"
    assert rec["timings"]["model_load_s"] > 0
    assert (out / "synth.wav").is_file() and (out / "synth_mel.png").is_file()


def test_cli_synth_errors_are_one_line(make_fixture, tmp_path):
    from click.testing import CliRunner

    from f5lab.cli.commands import main

    fx = make_fixture("F5TTS_Base")
    base = ["synth", str(fx.path), "--ref-text", REF_TEXT, "--text", "Hi there.", "--configs", "tiny"]
    res = CliRunner().invoke(main, base + ["--ref-audio", str(tmp_path / "nope.wav")])
    assert res.exit_code == 2 and "not found" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(main, base + ["--ref-audio", str(REF_WAV)])  # ambiguous, no --probe, no --config
    assert res.exit_code == 2 and "probe" in res.output
    res = CliRunner().invoke(main, base + ["--ref-audio", str(REF_WAV), "--config", "F5TTS_Base", "--strict-text",
                                           "--text", "PÕE", "--no-normalize"])  # normalised, 'Õ' becomes 'õ'
    assert res.exit_code == 2 and "U+00D5" in res.output
    res = CliRunner().invoke(main, base + ["--ref-audio", str(REF_WAV), "--config", "F5TTS_Base", "--strict-text",
                                           "--text", "PÕE ⴀ"])  # a character no rule maps: still refused
    assert res.exit_code == 2 and "U+2D00" in res.output and "U+00D5" not in res.output


@pytest.mark.parametrize("mel_type", ["vocos", "bigvgan"])
def test_griffin_lim_inverts_the_matching_filterbank(ref, mel_type):
    """Re-analysed Griffin-Lim output matches the input mel only with the filterbank f5-tts used."""
    import torch
    from f5_tts.model.modules import get_bigvgan_mel_spectrogram, get_vocos_mel_spectrogram

    from f5lab.speech.vocoders import GriffinLim

    analyse = {"vocos": get_vocos_mel_spectrogram, "bigvgan": get_bigvgan_mel_spectrogram}[mel_type]
    mel = analyse(torch.from_numpy(ref.wav[:48000])[None])
    errors = {}
    for fb in ("vocos", "bigvgan"):
        back = analyse(GriffinLim(mel_spec_type=fb).decode(mel))
        n = min(mel.shape[-1], back.shape[-1])
        errors[fb] = float((mel[..., :n] - back[..., :n]).abs().mean())
    other = "bigvgan" if mel_type == "vocos" else "vocos"
    assert errors[mel_type] < 0.5 < 2.0 < errors[other]


def test_bigvgan_directory_without_its_code(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "bigvgan_generator.pt").write_bytes(b"\0")
    with pytest.raises(VocoderError, match="BigVGAN's code is not installed"):
        load_vocoder(tmp_path)
    with pytest.raises(VocoderError, match="holds a bigvgan vocoder"):
        load_vocoder(tmp_path, kind="vocos")
    with pytest.raises(VocoderError, match="never downloads"):
        load_vocoder(None, kind="vocos")


# -- what the record says of a loaded model, and a reference given without its transcript ----------------
def test_a_loaded_models_record_names_its_file_and_decision_as_written(tiny_model, make_fixture, tmp_path):
    """synth.json names the checkpoint and the config decision it was loaded under, written once by
    synthesize itself (nothing patched onto the model, nothing rewritten after)."""
    from f5lab.compat.decision import ConfigDecision

    path = make_fixture("F5TTS_Base").path
    decision = ConfigDecision(config="F5TTS_Base", how="named", text="F5TTS_Base: named by the test",
                              fits=("F5TTS_Base", "F5TTS_v1_Base"))
    r = say(tiny_model, nfe=1, out_dir=tmp_path / "out", checkpoint=path, decision=decision)
    written = json.loads((tmp_path / "out" / "synth.json").read_text())
    assert written["model"]["path"] == str(path) and written["model"]["file"] == path.name
    assert written["model"]["config"] == "F5TTS_Base"
    assert written["decision"] == decision.to_json() == r.record["decision"]
    assert tiny_model.f5lab_decision.text == "named"  # load_model's own, untouched by synthesize
    bare = say(tiny_model, nfe=1)
    assert bare.record["model"]["path"] is None and bare.record["model"]["config"] is None
    assert bare.record["decision"] is None and bare.record["text"]["ref_text_from"] == "given"


def test_a_reference_without_its_transcript_is_transcribed_by_the_library(tiny_model):
    r = synthesize(tiny_model, REF_WAV, None, "Hello.", nfe=1, asr="pocketsphinx")
    heard = r.record["text"]["ref_text_raw"]
    assert r.record["text"]["ref_text_from"] == "asr: pocketsphinx"
    assert "nature" in heard.lower() and r.record["text"]["ref_text"].startswith(heard.strip())


def test_no_transcript_and_no_asr_for_the_language_is_one_line_before_any_audio(tiny_model):
    from f5lab.speech.quality import QualityError

    with pytest.raises(QualityError, match="--ref-text.*no ASR for pt offline"):
        synthesize(tiny_model, "/no/such/clip.wav", None, "Olá.", lang="pt-BR")
    with pytest.raises(QualityError, match="no --asr given"):
        synthesize(tiny_model, REF_WAV, None, "Hello.", asr=None)

"""f5lab.speech.text.f5tts against f5-tts itself: the same chunks, sizes, durations and tokens.

``f5lab text`` re-implements f5-tts's text rules so that it never imports torch; these tests
import f5-tts (here only) and compare, on many texts drawn by hypothesis: ``chunk_text`` with
f5-tts's ``chunk_text``; the per-chunk duration with the mel frames f5-tts's own
``infer_batch_process`` generates on a tiny real model; ``max_chars`` with the expression in
``infer_process``'s source; the resampled reference length with torchaudio's resampler.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from f5lab.files.vocab import read_vocab
from f5lab.model.arch import f5_tts_root
from f5lab.speech.text import f5tts

REF_WAV = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
REF_TEXT = "Some call me nature, others call me mother nature."
# sentences with every split mark, accented (2-byte) and CJK (3-byte) characters, and runs of spaces
PIECES = ["Olá", "mundo", "coração", "é", "ç", "a", "the", "word", "日本", "你好", ",", ".", ";", ":", "!", "?",
          "，", "。", "！", " ", " ", " ", "  ", "\n", "-", "'"]
TEXTS = st.lists(st.sampled_from(PIECES), min_size=1, max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=TEXTS, max_chars=st.integers(min_value=1, max_value=200))
def test_chunk_text_is_f5tts_chunk_text(text, max_chars):
    from f5_tts.infer.utils_infer import chunk_text

    assert f5tts.chunk_text(text, max_chars) == chunk_text(text, max_chars)


def test_max_chars_is_infer_process_expression():
    """The chunk size line of f5-tts's ``infer_process``, evaluated on the same inputs."""
    from f5_tts.infer import utils_infer

    line = next(ln for ln in inspect.getsource(utils_infer.infer_process).splitlines() if "max_chars =" in ln)
    expression = line.split("=", 1)[1].strip()
    for seconds, text, speed in [(5.0, REF_TEXT, 1.0), (3.3, "Olá, coração.", 0.8), (11.9, "日本語。", 1.5)]:
        audio, sr = np.zeros((1, int(seconds * 24000))), 24000
        theirs = eval(expression, {}, {"ref_text": text, "audio": audio, "sr": sr, "speed": speed})  # noqa: S307
        assert f5tts.max_chars_for(text, audio.shape[-1] / sr, speed) == theirs


def test_reference_text_rules_are_f5tts():
    src = inspect.getsource(__import__("f5_tts.infer.utils_infer", fromlist=["x"]).infer_batch_process)
    assert 'if len(ref_text[-1].encode("utf-8")) == 1:' in src and "local_speed = 0.3" in src
    assert "< 10" in src  # the short-chunk rule f5tts.SHORT_CHUNK_BYTES copies
    assert f5tts.batch_ref_text("ab. ") == "ab.  " and f5tts.batch_ref_text("coração") == "coração " and f5tts.batch_ref_text("日本") == "日本"
    assert f5tts.normalise_ref_text("Olá") == "Olá. " and f5tts.normalise_ref_text("Olá.") == "Olá. "


@pytest.fixture(scope="module")
def tiny_cfm(make_fixture, catalogue):
    from f5lab.compat.loading import load_model

    return load_model(str(make_fixture("F5TTS_Base").path), config="F5TTS_Base", catalogue=catalogue)


@pytest.fixture(scope="module")
def short_ref():
    from f5lab.speech.audio import prepare_reference

    r = prepare_reference(REF_WAV)
    return r.wav[: 24000 * 2], r.sample_rate  # 2 s: short sequences keep the runs quick


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(["Olá", "coração", "word", "é", "日本", ",", ".", " ", " ", "!"]),
                     min_size=1, max_size=14).map("".join).filter(lambda t: t.strip()),
       max_chars=st.integers(min_value=3, max_value=40), speed=st.sampled_from([1.0, 0.7, 1.6]))
def test_durations_are_the_frames_f5tts_generates(tiny_cfm, short_ref, text, max_chars, speed):
    """f5-tts's own infer_batch_process on a tiny real model: its mel has exactly the frames
    f5lab's byte rule predicts, chunk by chunk, short chunks slowed to 0.3 included."""
    from f5_tts.infer.utils_infer import chunk_text

    from f5lab.speech.synth import run_f5tts
    from f5lab.speech.vocoders import griffin_lim

    wav, sr = short_ref
    ref_text = f5tts.normalise_ref_text("Some call me nature")
    chunks = chunk_text(text, max_chars)
    if not chunks:
        return
    _, mel, _ = run_f5tts(tiny_cfm, wav, sr, ref_text, chunks, griffin_lim(n_iter=1), nfe=1, cfg_strength=2.0,
                          sway=-1.0, speed=speed, seed=0, duration=None, device="cpu", cross_fade=0.15)
    ref_frames = len(wav) // f5tts.HOP_LENGTH
    mine = [f5tts.chunk_frames(ref_text, c, ref_frames, speed) - ref_frames for c in chunks]
    assert mel.shape[1] == sum(mine)


@settings(max_examples=60, deadline=None)
@given(samples=st.integers(min_value=1, max_value=400_000), sr=st.sampled_from([8000, 11025, 16000, 22050, 24000,
                                                                                32000, 44100, 48000, 96000]))
def test_resampled_length_is_torchaudios(samples, sr):
    import torch
    import torchaudio.functional as F

    got = F.resample(torch.zeros(1, samples), sr, 24000).shape[-1]
    assert f5tts.resampled_length(samples, sr) == got


def test_reference_length_is_prepare_references(tmp_path):
    import soundfile as sf

    from f5lab.speech.audio import prepare_reference, read_audio, reference_length

    wav, sr = read_audio(REF_WAV)
    stereo = tmp_path / "ref_44k.wav"
    import torch
    import torchaudio.functional as F

    sf.write(stereo, F.resample(torch.from_numpy(wav), sr, 44100).numpy(), 44100)
    for path in (REF_WAV, stereo):
        info, ref = reference_length(path), prepare_reference(path)
        assert info["samples"] == len(ref.wav) and info["clipped"] == ref.clipped


def test_unknown_characters_are_the_ones_f5tts_reads_as_index_0():
    from f5_tts.model.utils import convert_char_to_pinyin, list_str_to_idx

    tokens = read_vocab()
    vocab = {t: i for i, t in enumerate(tokens)}
    for text in ["VOVÔ PÕE o pão; ô õ ª.", "“aspas” ‘simples’", "ⴀⴁ e 你好 世界", "tab\there"]:
        unknown = {u.char for u in f5tts.check_text(text, tokens)}
        chars = convert_char_to_pinyin([text])[0]
        ids = list_str_to_idx([chars], vocab)[0].tolist()
        theirs = {c for c, i in zip(chars, ids) if i == 0 and c != " "}
        assert {f5tts.token_of(c) for c in unknown} == theirs, text
    assert re.fullmatch(r"[a-z]+\d", f5tts.token_of("你"))  # Chinese is looked up as its pinyin


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.sampled_from(["o", "ônibus", "água", "náutico", "vovô", "põe", "Ô", " ", ",", ";", "“", "”",
                                      "日本", "你好", "word", "é", "ç", ".", "'", "1"]), min_size=1, max_size=30).map("".join))
def test_model_chars_are_f5tts_convert_char_to_pinyin(text):
    """'model gets' is f5-tts's own function's output, not a copy of its rules."""
    from f5_tts.model.utils import convert_char_to_pinyin

    assert f5tts.model_chars(text) == convert_char_to_pinyin([text])[0]


def test_model_gets_splits_words_at_an_accented_first_letter():
    from f5_tts.model.utils import convert_char_to_pinyin, list_str_to_idx

    text = "o ônibus e a água do náutico; vovô põe"
    chars = f5tts.model_chars(text)
    assert "".join(chars) == "o ô nibus e a á gua do ná utico, vovô põe"
    assert f5tts.splits(text, chars) == [{"word": "ônibus", "as": "ô nibus"}, {"word": "água", "as": "á gua"},
                                         {"word": "náutico", "as": "ná utico"}]
    tokens = read_vocab()
    vocab_char_map = {t: i for i, t in enumerate(tokens)}
    assert f5tts.token_ids(chars, vocab_char_map) == list_str_to_idx(convert_char_to_pinyin([text]),
                                                                     vocab_char_map)[0].tolist()

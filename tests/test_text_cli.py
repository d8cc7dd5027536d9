"""``f5lab text``: what f5-tts will see, without a model or torch; and the same text in a real synthesis."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.model.arch import f5_tts_root
from f5lab.speech.text.analysis import analyse
from f5lab.speech.text.f5tts import known
from f5lab.speech.text.normalizer import default_vocab

ROOT = Path(__file__).resolve().parents[1]
REF_WAV = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
ISSUE = "Custa R$ 1.234,56 às 14h30."


def _child(argv: list[str]) -> subprocess.CompletedProcess:
    """``f5lab ARGV`` in a fresh interpreter that then says which heavy modules got imported."""
    script = textwrap.dedent(f"""
        import sys
        from f5lab.cli.commands import main
        try:
            main({argv!r}, standalone_mode=False)
        finally:
            heavy = sorted(m for m in ("torch", "f5_tts", "matplotlib", "torchaudio") if m in sys.modules)
            print("HEAVY=" + ",".join(heavy), file=sys.stderr)
    """)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_the_issue_case_imports_no_torch_and_every_character_is_known():
    proc = _child(["text", "--lang", "pt-BR", "--json", ISSUE])
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY=\n" in proc.stderr or proc.stderr.rstrip().endswith("HEAVY="), proc.stderr
    out = json.loads(proc.stdout)
    text = out["normalized"]
    assert text == ("custa mil duzentos e trinta e quatro reais e cinquenta e seis centavos às catorze horas e "
                    "trinta.")
    assert not re.search(r"\d", text) and "," not in text  # no digit, no num2words comma inside the number
    assert all(known(c, default_vocab()) for c in text) and out["unknown"] == []
    assert [c["text"] for c in out["chunks"]] == [text] and out["chunks"][0]["bytes"] == len(text.encode())
    assert {a["rule"] for a in out["advice"]} >= {"digits", "lowercase", "commas", "reference", "vocab"}


def test_with_a_reference_and_a_file(tmp_path):
    import soundfile as sf

    from f5lab.speech.audio import read_audio

    wav, sr = read_audio(REF_WAV)
    long_ref = tmp_path / "long.wav"
    sf.write(long_ref, np.concatenate([wav, wav, wav]), sr)  # 16 s: f5-tts keeps 12 s at most
    script = tmp_path / "roteiro.txt"
    script.write_text("Olá! Sim. O Sr. Silva pagou R$ 2.500,00 em 01/12/2024, às 9h.\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["text", "--lang", "pt-BR", "--text-file", str(script), "--ref-text", REF_TEXT_PT,
                                    "--ref-audio", str(long_ref), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    ref = out["reference"]
    assert not ref["default"] and ref["source_seconds"] > 12 >= ref["seconds"] and ref["clipped"]
    assert ref["text_used"] == "algumas pessoas me chamam de natureza. "  # normalised like the text, then f5-tts's '. '
    advice = {a["rule"]: a for a in out["advice"]}
    assert advice["reference"]["ok"] is False and "cut it under 12 s" in advice["reference"]["text"]
    assert out["normalized"].startswith("olá! sim. o senhor silva pagou dois mil e quinhentos reais em primeiro de "
                                        "dezembro de dois mil e vinte e quatro, às nove horas.")
    # the human form says the same, with the chunks and the advice
    human = CliRunner().invoke(main, ["text", "--lang", "pt-BR", "--text-file", str(script)])
    assert human.exit_code == 0 and "model gets:" in human.output and "dois mil e quinhentos reais" in human.output


REF_TEXT_PT = "Algumas pessoas me chamam de natureza"


def test_short_chunks_unknown_characters_and_no_normalize():
    r = analyse("Sim. ⴀ. VOVÔ tem 2 casas.", "pt-BR", normalize=False)
    assert r.normalized == r.raw
    became = {u["char"]: u["became"] for u in r.unknown}
    assert became == {"ⴀ": "silence", "Ô": "silence"}
    advice = {a["rule"]: a["ok"] for a in r.advice}
    assert advice["digits"] is False and advice["lowercase"] is False and advice["vocab"] is False
    r = analyse("Sim. ⴀ. VOVÔ tem 2 casas.", "pt-BR")
    became = {u["char"]: (u["became"], u["as"]) for u in r.unknown}
    assert became == {"ⴀ": ("silence", " "), "Ô": ("lowercased", "ô")}
    short = analyse("Sim.", "pt-BR")
    assert short.chunks[0].slowed and short.chunks[0].speed == 0.3
    assert {a["rule"]: a["ok"] for a in short.advice}["short_chunks"] is False


def test_long_sentence_without_pause_is_flagged():
    words = " ".join(["palavra"] * 30)
    r = analyse(words + ".", "pt-BR")
    advice = {a["rule"]: a for a in r.advice}
    assert advice["commas"]["ok"] is False and "30 words as written without a pause" in advice["commas"]["text"]


def test_what_text_shows_is_what_synthesis_does(make_fixture, catalogue):
    """The same text through a real synthesis: the record's spoken text and chunks are the ones
    ``f5lab text`` showed, and the mel has the frames it predicted."""
    from f5lab.compat.loading import load_model
    from f5lab.speech.synth import synthesize

    model = load_model(str(make_fixture("F5TTS_Base").path), config="F5TTS_Base", catalogue=catalogue)
    text = "Bom dia! São 2 horas. Custa R$ 3,50."
    shown = analyse(text, "pt-BR", ref_text=REF_TEXT_PT, ref_audio=REF_WAV)
    r = synthesize(model, REF_WAV, REF_TEXT_PT, text, nfe=1, lang="pt-BR", normalize=True)
    rec = r.record["text"]
    assert rec["gen_text_raw"] == text and rec["gen_text"] == shown.normalized
    assert rec["ref_text_raw"] == REF_TEXT_PT and rec["ref_text"] == shown.reference["text_used"]
    assert rec["chunks"] == [c.text for c in shown.chunks] and rec["normalized"] is True and rec["lang"] == "pt-BR"
    assert r.mel.shape[1] == sum(c.frames for c in shown.chunks)
    assert abs(shown.reference["samples"] / 24000 - r.record["reference"]["seconds"]) < 1e-4
    raw = synthesize(model, REF_WAV, REF_TEXT_PT, text, nfe=1, lang="pt-BR")  # the library default: as written
    assert raw.record["text"]["gen_text"] == text and raw.record["text"]["normalized"] is False


def test_the_docs_worked_example_is_what_the_command_prints():
    """docs/text.md shows `f5lab text` output; it must be the command's, not a hand-written copy."""
    doc = (ROOT / "docs" / "text.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- f5lab text (.*?) -->\n```text\n(.*?)```", doc, flags=re.S)
    assert blocks, "docs/text.md has no checked example"
    for args, shown in blocks:
        argv = json.loads(args)
        res = CliRunner().invoke(main, ["text", *argv], env={"COLUMNS": "100"})
        assert res.exit_code == 0, res.output
        assert res.output == shown, f"f5lab text {args} prints:\n{res.output}"


def test_model_gets_is_f5tts_tokenizer_output_and_checks_are_honest():
    r = analyse("O ônibus custa R$ 1.234,56; veja https://www.gov.br/receita ou pague $ com XPTOAB.", "pt-BR")
    assert r.model_text.startswith("o ô nibus custa mil")
    assert {"word": "ônibus", "as": "ô nibus"} in r.model_splits
    advice = {a["rule"]: a for a in r.advice}
    assert advice["split"]["ok"] is None and "'ônibus' -> 'ô nibus'" in advice["split"]["text"]
    sym = advice["symbols"]
    assert sym["ok"] is False and "'$'" in sym["text"] and "XPTOAB" in sym["text"]
    clean = {a["rule"]: a for a in analyse("O IBGE divulgou o PIB de 2023.", "pt-BR").advice}
    assert clean["symbols"]["ok"] is True


def test_pause_advice_counts_the_words_written_and_no_comma_inside_a_number():
    """'R$ 1.234.567,89' is 3 words as written (30 once normalised): no advice to add commas."""
    r = analyse("Paguei R$ 1.234.567,89 ontem.", "pt-BR")
    advice = {a["rule"]: a for a in r.advice}
    assert len(r.normalized.split()) > 20
    assert advice["commas"]["ok"] is True and advice["commas"]["text"] == "at most 4 words between pauses"


def test_text_file_over_the_cap_is_one_line_and_exit_2(tmp_path):
    from f5lab.cli.params import MAX_TEXT_BYTES

    big = tmp_path / "big.txt"
    big.write_text("a" * (MAX_TEXT_BYTES + 1), encoding="utf-8")
    res = CliRunner().invoke(main, ["text", "--lang", "pt-BR", "--text-file", str(big)])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"at most {MAX_TEXT_BYTES}" in lines[0] and "big.txt" in lines[0]


def test_a_vocab_extended_with_capitals_keeps_them_and_the_lowercase_check_agrees():
    """f5-tts's vocab-extension helper adds 'Ô': a normaliser that lowered it would defeat the extension."""
    extended = sorted(default_vocab()) + ["Ô"]
    r = analyse("O VOVÔ chegou.", "pt-BR", vocab=extended)
    assert r.normalized == "o vovÔ chegou."
    advice = {a["rule"]: a for a in r.advice}
    assert advice["lowercase"]["ok"] is True and advice["vocab"]["ok"] is True
    base = analyse("O VOVÔ chegou.", "pt-BR")
    assert base.normalized == "o vovô chegou."

"""A report at the user's own settings, and every figure in it with its evidence, on a tiny checkpoint.

One real ``f5lab report`` (every notebook, through the CLI) with a 4 s reference clip, a pt-BR text,
``--nfe 16 --dtype fp16 --batch 2`` and the GTX 1050 Ti: the card's seconds per call must be what
``f5lab profile`` predicts for the same call (its lengths from ``f5lab text``: the reference as f5-tts
clips it, the text's longest chunk by f5-tts's duration rule), and no figure of the answer or of any
page's numbers may come without its label (measured / predicted with its error / published).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.reporting.labels import number_evidence, unlabelled

TEXT = "Sua fatura de R$ 1.234,56 vence amanhã."
REF_TEXT = "Some call me nature, others call me mother nature."
SETTINGS = ["--nfe", "16", "--dtype", "fp16", "--batch", "2"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """f5-tts's example clip cut to its first 4 s (lengths matter here, not words)."""
    from f5lab.reporting.reports import f5tts_example_audio

    wav, sr = sf.read(f5tts_example_audio())
    path = tmp_path_factory.mktemp("ref") / "ref4s.wav"
    sf.write(path, np.asarray(wav[: 4 * sr]), sr)
    return path


@pytest.fixture(scope="module")
def report(reference, tmp_path_factory):
    from f5lab.synthetic.layouts import build_checkpoint

    ckpt = build_checkpoint(tmp_path_factory.mktemp("ckpt") / "model_last.safetensors", config="F5TTS_Base",
                            scale="tiny", seed=0).path
    out = tmp_path_factory.mktemp("reports")
    result = CliRunner().invoke(main, ["report", str(ckpt), "--out", str(out), "--run-id", "r", "--gpu", "GTX 1050 Ti",
                                       "--ref-audio", str(reference), "--ref-text", REF_TEXT, "--text", TEXT,
                                       "--lang", "pt-BR", "--asr", "none", *SETTINGS])
    assert result.exit_code == 0, result.output
    return ckpt, out / "r", result.output


def test_the_cards_seconds_per_call_equal_profiles_for_the_same_call(report, reference):
    ckpt, run, _ = report
    summary = json.loads((run / "summary.json").read_text())
    runs = summary["answer"]["runs"]
    # what the user would do: f5lab text for the lengths, then f5lab profile with the same settings
    text = CliRunner().invoke(main, ["text", TEXT, "--lang", "pt-BR", "--ref-audio", str(reference), "--ref-text",
                                     REF_TEXT, "--json"])
    assert text.exit_code == 0, text.output
    t = json.loads(text.output)
    seconds = max(c["seconds"] for c in t["chunks"])
    ref_seconds = t["reference"]["seconds"]
    assert ref_seconds == pytest.approx(4.0, abs=0.3)  # the clip as f5-tts clips it
    assert runs["settings"]["seconds"] == pytest.approx(seconds, abs=1e-3)
    assert runs["settings"]["ref_seconds"] == pytest.approx(ref_seconds, abs=1e-3)
    assert (runs["settings"]["nfe"], runs["settings"]["dtype"], runs["settings"]["batch"]) == (16, "fp16", 2)
    prof = CliRunner().invoke(main, ["profile", str(ckpt), "--gpu", "GTX 1050 Ti", "--seconds", f"{seconds}",
                                     "--ref-seconds", f"{ref_seconds}", *SETTINGS, "--json"])
    assert prof.exit_code in (0, 1), prof.output
    row = json.loads(prof.output)["verdicts"][0]
    assert runs["seconds_per_call"] == row["seconds_per_call"] and runs["rtf"] == row["rtf"]
    assert runs["fits"]["needs_bytes"] == row["total_bytes"]
    # the card's line: predicted, the call named, the model's error on a GPU, and no tick
    line = next(x for x in summary["answer"]["lines"] if x["label"] == "runs on the GPU?")
    assert "predicted ~" in line["text"] and "speed model error: unmeasured on a GPU" in line["text"]
    assert f"at NFE 16, fp16, {seconds:.3g} s speech + {ref_seconds:.3g} s reference, batch 2" in line["text"]
    assert line["ok"] is not True and line["evidence"]["kind"] == "predicted"
    # the model card speaks of the same call (without the reporting machine's torch verdict)
    card = (run / "MODEL_CARD.md").read_text().replace("\\~", "~")  # Markdown escapes the tilde
    assert line["text"][line["text"].index("predicted ~"):] in card
    numbers = summary["notebooks"]["03_memory"]["numbers"]
    assert numbers["call.seconds_per_call"]["value"] == row["seconds_per_call"]
    assert numbers["call.seconds_per_call"]["evidence"]["kind"] == "predicted"


def test_every_figure_of_the_report_says_where_it_comes_from(report):
    _, run, output = report
    summary = json.loads((run / "summary.json").read_text())
    assert unlabelled(summary) == []
    for name, nb in summary["notebooks"].items():
        assert nb["numbers"], name  # every page recorded numbers, and each has a label
        for key, entry in nb["numbers"].items():
            ev = entry["evidence"]
            assert ev["kind"] in ("measured", "predicted", "published"), (name, key)
            assert ev["kind"] != "predicted" or ev["error"], (name, key)
    # a tick only beside what ran: no answer line or page verdict ticks a prediction
    for line in summary["answer"]["lines"]:
        if line.get("ok") is True:
            assert line["evidence"]["kind"] == "measured", line
    verdicts = {v["key"]: v for nb in summary["notebooks"].values() for v in nb["verdicts"]}
    assert verdicts["gpu"]["ok"] is not True
    est = verdicts["estimate"]["text"]  # the memory check names the call it measured, and that it is not the GPU's
    assert re.search(r"measured on one real [\d.]+ s call at NFE \d+, \w+ attention, fp32, on the CPU", est)
    assert "not the GPU call judged above" in est
    # the pages and the terminal show the labels too
    index = (run / "index.html").read_text()
    assert "(measured: read from the checkpoint file here" in index and "speed model error" in index
    assert "measured: read from the checkpoint file here" in " ".join(output.split())


def test_a_number_no_rule_covers_stays_unlabelled_and_is_caught():
    assert number_evidence("03_memory", "gpus.T4.seconds_per_call").kind == "predicted"
    assert number_evidence("03_memory", "gpus.T4.memory_bytes").kind == "published"
    assert number_evidence("03_memory", "measured.measured_activation_bytes").kind == "measured"
    assert number_evidence("03_memory", "measured.estimated_activation_bytes").kind == "predicted"
    assert number_evidence("03_memory", "something.new") is None
    bad = {"answer": {"lines": [{"label": "new line", "text": "42 s", "ok": None}]},
           "notebooks": {"03_memory": {"numbers": {"something.new": {"value": 1, "unit": None}}}}}
    assert unlabelled(bad) == ["answer line 'new line'", "03_memory: something.new"]

"""MODEL_CARD.md is a card a user can publish: Hugging Face front matter and sections, file names
instead of the reporting machine's paths, nothing about that machine's stack or the configs the
checkpoint does not load under, a sample only when the weights can speak, one number format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from f5lab.reporting import modelcard
from f5lab.reporting.reports import run_report

HF_KEYS = {"language", "library_name", "pipeline_tag", "license", "tags", "base_config", "base_config_evidence",
           "vocab_size", "vocab_sha256"}
SECTIONS = ["## Model description", "## Uses", "### Intended use", "### Out-of-scope use",
            "## How to load it with f5-tts alone", "## Vocoder", "## Training details", "## Evaluation",
            "## Limitations", "## Listen", "## License"]


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text[4:text.index("\n---\n", 4)])


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    """A tiny trainer checkpoint saved from torch.compile (it needs a remap) diagnosed against E2TTS_Base, a config it never
    loads under: the user's failed attempt the card must not repeat."""
    from f5lab.synthetic.layouts import build_checkpoint

    root = tmp_path_factory.mktemp("card")
    ck = build_checkpoint(root / "model_1200.pt", config="F5TTS_Base", layout="compiled_pt", scale="tiny", seed=0).path
    report = run_report(ck, config="E2TTS_Base", out=root / "reports", run_id="card", progress=False, nfe=2,
                        gen_text="Hi there.", asr=None, gpu="GTX 1050 Ti",
                        notebooks=["01_inspect", "02_compatibility", "03_memory"])
    assert report.ok, report.failed
    return root, report, (report.run_dir / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_the_card_names_files_never_the_machines_paths(card):
    root, report, text = card
    assert str(root) not in text and str(Path(root).resolve()) not in text and "/tmp" not in text
    assert re.findall(r"(?<![\w.~:/\\-])/[\w.-]+/", text) == []  # no absolute path of any kind
    assert "model_1200.pt" in text and "'model_1200.F5TTS_Base.safetensors'" in text  # the snippet, by name
    assert "f5lab remap model_1200.pt model_1200.F5TTS_Base.safetensors --config F5TTS_Base" in text


def test_the_front_matter_parses_and_carries_the_hub_keys(card):
    _, report, text = card
    head = front_matter(text)
    assert HF_KEYS <= set(head), set(head)
    assert head["library_name"] == "f5-tts" and head["pipeline_tag"] == "text-to-speech"
    assert head["language"] == ["en"] and head["license"] is None and "f5-tts" in head["tags"]
    assert "base_model" not in head  # no lineage verdict said the tensors matched a release


def test_the_card_has_no_line_about_a_config_that_did_not_load_nor_the_reporting_stack(card):
    _, report, text = card
    assert report.summary["answer"]["config_asked"] == "E2TTS_Base"
    assert "E2TTS_Base" in " ".join(report.summary["answer"]["loads"]["cannot"])  # the report knows it failed
    assert "E2TTS" not in text and "does not load" not in text
    prose = re.sub(r"```python\n.*?```", "", text, flags=re.S)  # the snippet's own pick_device() aside
    assert not re.search(r"cu1\d\d|sm_\d\d|no kernels|pip install torch|torch \(?2\.\d", prose)


def test_the_card_has_the_hugging_face_sections_and_one_number_format(card):
    _, report, text = card
    positions = [text.index(s + "\n") for s in SECTIONS]
    assert positions == sorted(positions)
    assert "- **updates**: 1200 (update" in text  # what the trainer file records
    assert "vocos" in text and "BigVGAN" in text
    assert "Predicted, not measured:" in text and "Not measured:" in text
    assert not re.search(r"\d\.0%|\d\.\d*0%", text)  # 0%, 1.5%: never 0.0% or 1.50%
    # random weights: readiness (from the tensors) speaks before "04 did not run" would
    assert "No sample: these weights cannot speak" in text


def _card(answer: dict, *, demo: bool = False, sample: dict | None = None) -> str:
    manifest = {"checkpoint": {"path": "/data/run/model_last.safetensors", "sha256": "ab", "size_bytes": 10},
                "parameters": {"lang": "pt-BR", "checkpoint": "/data/run/model_last.safetensors"},
                "versions": {"f5lab": "0.1.0", "f5-tts": "1.1.22"}, "demo": demo}
    return modelcard.body(answer, manifest, {"file": "vocab.txt", "tokens": 2545, "sha256": "cd"}, sample, {})


SAMPLE = {"label": "F5TTS_Base · fp32 · NFE 32", "path": "04_synthesis_audio/F5TTS_Base_fp32_nfe32/synth.wav",
          "text": "Olá."}


def test_a_sample_only_when_the_weights_can_speak():
    speaks = _card({"weights": {"can_speak": True, "why": ""}}, sample=SAMPLE)
    assert "](04_synthesis_audio/F5TTS_Base_fp32_nfe32/synth.wav)" in speaks
    assert "](04_synthesis_audio/F5TTS_Base_fp32_nfe32/synth.wav)" in _card({}, sample=SAMPLE)  # not said: assumed
    silent = _card({"weights": {"can_speak": False, "why": "proj_out is all zeros (f5-tts's init)"}}, sample=SAMPLE)
    assert ".wav" not in silent
    assert "No sample: these weights cannot speak (proj_out is all zeros (f5-tts's init))" in silent
    assert "- these weights cannot speak:" in silent
    assert ".wav" not in _card({}, demo=True, sample=SAMPLE)


def test_base_model_only_from_a_tensor_match():
    lineage = {"decided": True, "base": "F5TTS_Base model_1200000", "stand_in": False, "distance": 0.01}
    assert modelcard.base_model({"lineage": lineage}) is None  # a folder name is no evidence
    assert modelcard.base_model({"lineage": {**lineage, "base_match": "tensor"}}) == "SWivid/F5-TTS"
    assert modelcard.base_model({"lineage": {**lineage, "base_match": "tensor", "base_model": "me/my-base"}}) == "me/my-base"
    assert modelcard.base_model({"lineage": {**lineage, "base_match": "tensor", "stand_in": True}}) is None
    evidence = {"decision": {"evidence": {"lineage": {**lineage, "base_match": "tensor"}}}}
    assert modelcard.base_model(evidence) == "SWivid/F5-TTS"  # the decision's lineage verdict counts too
    head = front_matter(modelcard.front_matter({"lineage": {**lineage, "base_match": "tensor"}}, {}, {}) + "\n")
    assert head["base_model"] == "SWivid/F5-TTS"


def test_numbers_are_written_one_way():
    assert [modelcard._num(x) for x in (0.0, 0, 1.5, 0.27512, 1200, 12345.6, None)] == \
        ["0", "0", "1.5", "0.275", "1200", "12300", "-"]
    assert modelcard._pct(0.0) == "0%" and modelcard._pct(12.0) == "12%"


def test_paths_in_free_text_and_code_become_file_names():
    known = {"/data/my run/ck.pt": "ck.pt"}
    assert modelcard.relative("under /data/my run/ck.pt and /home/u/x/cfg.yaml, 0/4 at https://x.org/a/b",
                              known) == "under ck.pt and cfg.yaml, 0/4 at https://x.org/a/b"
    code = "# config: /home/u/cfg.yaml (a YAML)\nm = load(DiT, '/data/my run/ck.pt', vocab_file=\"/v/vocab.txt\")\n"
    out = modelcard.relative_code(code, known)
    assert out == "# config: cfg.yaml (a YAML)\nm = load(DiT, 'ck.pt', vocab_file='vocab.txt')\n"
    assert modelcard.relative_command("f5lab remap '/a b/c.pt' /d/e.safetensors --config X") == \
        "f5lab remap c.pt e.safetensors --config X"

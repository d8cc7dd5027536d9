"""One config decision (``f5lab.compat.decision``): its rungs in order, and every command that names a
config for a file naming the same one from the same evidence.

Real tiny checkpoints: stand-in v0/v1 bases and a fine-tune of v0 trained with f5-tts's loss
(``f5lab.synthetic.finetunes``), and the layouts of ``f5lab.synthetic.layouts``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from f5lab.compat.decision import (HOWS, ConfigDecision, decide_among, decide_config, for_comparison,
                                   lineage_verdict)
from f5lab.compat.lineage import lineage
from f5lab.model.described import describe
from f5lab.synthetic.layouts import custom_arch_checkpoint
from f5lab.synthetic.finetunes import fine_tune, random_checkpoint, stand_in_bases, write_finetune

DIT = ("F5TTS_Base", "F5TTS_v1_Base")  # identical shapes: what only lineage or the probe separates


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("decision")
    bases = stand_in_bases(root / "bases")
    ft = fine_tune(bases["F5TTS_Base"], updates=3)
    ext = fine_tune(bases["F5TTS_Base"], updates=3, extra_tokens=40)
    return {"bases": [bases["F5TTS_Base"], bases["F5TTS_v1_Base"]],
            "trainer": write_finetune(ft, root / "run" / "model_last.pt", "trainer_pt"),
            "export": write_finetune(ft, root / "run" / "model_last.safetensors", "release_safetensors"),
            "extended": write_finetune(ext, root / "ext" / "model_last.safetensors", "extended_vocab_safetensors"),
            "random": random_checkpoint(root / "random.safetensors"), "root": root}


# -- the rungs -------------------------------------------------------------------------------------------
def test_named_wins_even_where_the_shapes_disagree(make_fixture, catalogue):
    d = describe(make_fixture("F5TTS_Base").path, catalogue)
    got = decide_config(d, "E2TTS_Base", probe=lambda *a: pytest.fail("probe run for a named config"))
    assert (got.config, got.how, got.fits, got.entry.name) == ("E2TTS_Base", "named", DIT, "E2TTS_Base")


def test_the_only_fit_and_the_ambiguous_pair(make_fixture, catalogue):
    e2 = decide_config(describe(make_fixture("E2TTS_Base").path, catalogue))
    assert (e2.config, e2.how, e2.fits) == ("E2TTS_Base", "only fit", ("E2TTS_Base",))
    dit = decide_config(describe(make_fixture("F5TTS_Base").path, catalogue))
    assert not dit.decided and dit.how == "undecided" and dit.fits == DIT
    assert dit.evidence["reason"] == "ambiguous" and dit.text == "undecided between F5TTS_Base and F5TTS_v1_Base"


def test_fallbacks_take_the_first_that_fits_and_say_what_was_refused(make_fixture, catalogue):
    d = describe(make_fixture("F5TTS_Base").path, catalogue)
    got = decide_config(d, fallbacks=["E2TTS_Base", "F5TTS_Base"])
    assert (got.config, got.how) == ("F5TTS_Base", "fallback")
    assert [r["config"] for r in got.evidence["refused"]] == ["E2TTS_Base"]
    none = decide_config(d, fallbacks=["E2TTS_Base"])
    assert none.config is None and none.evidence["reason"] == "no fallback"


def test_no_fit_names_the_closest(tmp_path):
    d = describe(custom_arch_checkpoint(tmp_path / "custom.safetensors").path, "shipped")
    got = decide_config(d)
    assert got.config is None and got.evidence["reason"] == "no fit" and got.evidence["closest"] in d.entries


def test_the_probe_decides_only_above_its_bar_and_a_chooser_is_trusted(make_fixture, catalogue):
    d = describe(make_fixture("F5TTS_Base").path, catalogue)
    above = {"decided": True, "best": "F5TTS_v1_Base", "runner_up": "F5TTS_Base", "margin_pct": 12.0,
             "bar_pct": 5.0, "wins": 8, "samples": 8, "text": "probe: trained as F5TTS_v1_Base"}
    below = {**above, "decided": False, "margin_pct": 1.2, "text": "probe: undecided, margin under the bar"}
    got = decide_config(d, probe=above)
    assert (got.config, got.how) == ("F5TTS_v1_Base", "probe") and "12% lower loss than F5TTS_Base" in got.text
    assert decide_config(d, probe=below).config is None
    asked = []
    chosen = decide_config(d, probe=lambda path, fits: asked.append(fits) or fits[1])
    assert (chosen.config, chosen.text, asked) == ("F5TTS_v1_Base", "chosen by the behavioural probe", [list(DIT)])


def test_decide_among_orders_lineage_before_the_probe():
    lin = {"decided": True, "config": "F5TTS_Base", "text": "lineage: F5TTS_Base: descends from ..."}
    pr = {"decided": True, "best": "F5TTS_v1_Base", "margin_pct": 50.0, "bar_pct": 5.0, "runner_up": "F5TTS_Base"}
    assert decide_among(DIT, lin, pr).config == "F5TTS_Base"
    assert decide_among(DIT, {"decided": False, "text": "lineage: no verdict"}, pr).how == "probe"
    undecided = decide_among(DIT, {"decided": False, "text": "lineage: no verdict"})
    assert undecided.text == "undecided between F5TTS_Base and F5TTS_v1_Base (lineage: no verdict)"
    assert decide_among(("E2TTS_Base",), lin, pr).how == "only fit"  # one fit: nothing to weigh


def test_a_decision_is_typed_and_recorded_as_json():
    with pytest.raises(ValueError):
        ConfigDecision("F5TTS_Base", "guessed", "no such rung")
    d = ConfigDecision("F5TTS_Base", "lineage", "lineage: ...", DIT, {"lineage": {"distance": 0.07}})
    assert json.loads(json.dumps(d.to_json())) == {"config": "F5TTS_Base", "how": "lineage", "text": "lineage: ...",
                                                   "fits": list(DIT), "evidence": {"lineage": {"distance": 0.07}}}
    assert set(HOWS) >= {"named", "fallback", "recorded", "only fit", "lineage", "probe", "undecided"}
    ambiguous = ConfigDecision(None, "undecided", "undecided", DIT, {"reason": "ambiguous"})
    either = for_comparison(ambiguous, {"F5TTS_Base": "entry", "F5TTS_v1_Base": "entry"})
    assert (either.config, either.how) == ("F5TTS_Base", "any fit")


# -- every command names the same config -------------------------------------------------------------------
def decisions_of(path: Path, bases: list[Path] | None, catalogue: dict) -> dict[str, str | None]:
    """The config each command names for ``path``, with and without the bases lineage reads."""
    from f5lab.compat.diagnose import diagnose
    from f5lab.compat.loading import AmbiguousConfigError, load_model
    from f5lab.reporting.decide import card_config

    lin = lineage(path, bases, catalogue=catalogue) if bases else None
    out: dict[str, str | None] = {"decide_config": decide_config(describe(path, catalogue), lineage=lin).config}
    out["diagnose"] = diagnose(path, catalogue=catalogue, lineage=lin).decision["config"]
    try:
        out["load_model"] = load_model(path, catalogue=catalogue, bases=bases).f5lab_decision.config
    except AmbiguousConfigError:
        out["load_model"] = "refused"
    answer = {"fits": list(DIT), "loads": {"loads": list(DIT)}, "lineage": lineage_verdict(lin) if lin else {}}
    out["model card"] = card_config(answer)["config"]
    argv = ["diagnose", str(path), "--json", "--configs", "tiny"] + [a for b in bases or [] for a in ("--base", str(b))]
    result = CliRunner().invoke(_main(), argv)
    assert result.exit_code in (0, 1), result.output
    out["f5lab diagnose"] = json.loads(result.stdout)["decision"]["config"]
    return out


def _main():
    from f5lab.cli.commands import main

    return main


@pytest.mark.parametrize("which", ["trainer", "export"])
def test_with_the_bases_every_command_names_the_base_config(files, which, catalogue):
    got = decisions_of(files[which], files["bases"], catalogue)
    assert set(got.values()) == {"F5TTS_Base"}, got


def test_without_a_base_no_command_guesses(files, catalogue):
    got = decisions_of(files["export"], None, catalogue)
    assert got == {"decide_config": None, "diagnose": None, "load_model": "refused", "model card": None,
                   "f5lab diagnose": None}


def test_diagnose_prints_the_loading_code_of_the_decided_config_only(files, catalogue):
    from f5lab.compat.diagnose import diagnose

    decided = diagnose(files["export"], catalogue=catalogue, lineage=lineage(files["export"], files["bases"]))
    assert [s["config"] for s in decided.service] == ["F5TTS_Base"]  # not v1's, the gibberish trap (F5-TTS #896)
    undecided = diagnose(files["export"], catalogue=catalogue)
    assert {s["config"] for s in undecided.service} == set(DIT) and "ambiguous_config" in undecided.codes()


def test_the_matrix_does_not_say_loads_without_the_vocab_an_extended_file_needs(files, catalogue):
    from f5lab.compat.diagnose import diagnose
    from f5lab.compat.matrix import compatibility_matrix

    path = files["extended"]
    rows = {r.config: r for r in compatibility_matrix(path, catalogue=catalogue)}
    assert {r.status for r in rows.values()} == {"cannot"}
    assert "vocab.txt (--vocab)" in rows["F5TTS_Base"].reason and not diagnose(path, catalogue=catalogue).ok
    vocab = next(path.parent.glob("*vocab*.txt"))
    with_vocab = {r.config: r.status for r in compatibility_matrix(path, vocab=str(vocab), catalogue=catalogue)}
    assert with_vocab["F5TTS_Base"] == with_vocab["F5TTS_v1_Base"] == "loads"


def test_verify_runs_f5tts_own_export_pair_without_a_config(files, catalogue):
    from f5lab.compat.verify import verify

    v = verify(files["trainer"], files["export"], catalogue=catalogue)
    assert v.ok and v.config == "F5TTS_Base" and "comparison holds under either" in v.config_reason


def test_synth_records_the_decision_load_model_made(make_fixture, catalogue, tmp_path):
    from f5lab.model.configs import f5_tts_root
    from f5lab.speech.synth import synthesize

    ref = f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav"
    r = synthesize(make_fixture("E2TTS_Base").path, ref, "Some call me nature, others call me mother nature.", "Hi.",
                   nfe=1, catalogue=catalogue, out_dir=tmp_path / "out")
    written = json.loads((tmp_path / "out" / "synth.json").read_text())
    assert written["decision"]["how"] == "only fit" and written["decision"]["config"] == "E2TTS_Base"
    assert written["model"]["config_reason"] == "the only config the shapes fit" == r.record["decision"]["text"]


def test_the_sweep_decides_by_the_same_rule(files):
    from types import SimpleNamespace

    from f5lab.reporting.sweepconfig import decide_group, groups

    spec = SimpleNamespace(bases=files["bases"], lang="en", normalize=True, seed=0, grid={"device": ["cpu"]})
    (group,) = groups([files["export"]], {files["export"]: "tiny"})
    got = decide_group(group, spec)
    assert got["config"] == "F5TTS_Base" and got["how"] == "lineage"
    assert got["text"].startswith("F5TTS_Base for every point: lineage of model_last.safetensors: descends from")


# -- the main job reads its input once --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["shipped fit", "own config"])
def test_report_reads_the_checkpoint_header_once_before_the_notebooks(make_fixture, tmp_path, monkeypatch, kind):
    """``f5lab report`` used to open the header and infer the architecture 2 times before any
    notebook ran (4 for a checkpoint no shipped config builds, whose own config it writes).
    Counted in this process (the notebooks' kernels are other processes)."""
    from f5lab.files import checkpoint as ckmod
    from f5lab.reporting.reports import run_report

    reads: list[Path] = []
    real = ckmod._open_safetensors

    def counted(path, size):
        reads.append(Path(path))
        return real(path, size)

    path = (make_fixture("F5TTS_Base").path if kind == "shipped fit" else
            custom_arch_checkpoint(tmp_path / "custom.safetensors").path)
    monkeypatch.setattr(ckmod, "_open_safetensors", counted)
    report = run_report(path, out=tmp_path, run_id="reads", notebooks=["01_inspect"], progress=False, nfe=2,
                        asr=None)
    assert reads.count(Path(path)) == 1, reads
    assert report.ok, report.failed


def test_the_report_records_the_decision_in_summary_json(make_fixture, tmp_path):
    from f5lab.reporting.reports import run_report

    path = make_fixture("E2TTS_Base").path
    report = run_report(path, out=tmp_path, run_id="decision", notebooks=["02_compatibility"], progress=False,
                        bases=[])
    assert report.ok, report.failed
    got = json.loads((report.run_dir / "summary.json").read_text())["answer"]["decision"]
    assert got == {"config": "E2TTS_Base", "how": "only fit", "text": "the only config the shapes fit",
                   "fits": ["E2TTS_Base"], "evidence": {}}

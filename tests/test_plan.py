"""The report's plan: what 04 renders by default (one config, an NFE within the budget), what was
cut and how to get it back, and the prediction recorded beside the measured times."""

from __future__ import annotations

import shlex

import pytest

from f5lab.model.described import describe
from f5lab.reporting.plan import NFE_LADDER, Plan, plan_report
from f5lab.reporting.reports import DEMO_REF_TEXT, f5tts_example_audio

NAMES = ["01_inspect", "02_compatibility", "03_memory", "04_synthesis"]


def params(**extra):
    base = {"gen_text": "Hello from f5lab.", "ref_text": DEMO_REF_TEXT, "ref_audio": str(f5tts_example_audio()),
            "lang": "en", "normalize": True, "vocab": None, "nfe": 32, "config": None, "asr": "auto",
            "gpu": None, "demo": False}
    base.update(extra)
    return base


@pytest.fixture(scope="module")
def described(make_fixture):
    return describe(make_fixture("F5TTS_Base").path, "tiny")  # fits F5TTS_Base and F5TTS_v1_Base


def test_default_renders_one_config_picked_by_the_probe_when_the_shapes_cannot_tell(described):
    assert len(described.fits) == 2
    p = params()
    plan = plan_report(described, p, NAMES, device="cpu", command="f5lab report X --full-grid")
    assert plan.renderings == 1 and p.get("render_probe_pick") is True
    assert "candidates" not in p  # the probe still compares both
    assert plan.cut and plan.full_grid == "f5lab report X --full-grid"
    assert [n.name for n in plan.notebooks] == NAMES
    assert all(n.predicted_s > 0 for n in plan.notebooks)
    assert plan.total_s == pytest.approx(sum(n.predicted_s for n in plan.notebooks) + plan.overhead_s)
    assert plan.overhead_s > 0  # the pages and the manifest's hash
    text = "\n".join(plan.lines())
    assert "04_synthesis" in text and "1 rendering" in text and "--full-grid" in text


def test_a_named_config_that_fits_is_the_one_rendered(described):
    p = params(config="F5TTS_v1_Base")
    plan = plan_report(described, p, NAMES, device="cpu")
    assert p["candidates"] == ["F5TTS_v1_Base"] and plan.configs == ["F5TTS_v1_Base"]
    assert "render_probe_pick" not in p


def test_full_grid_renders_every_candidate_at_the_nfe_given(described):
    p = params()
    plan = plan_report(described, p, NAMES, device="cpu", full_grid=True)
    assert plan.configs == list(described.fits) and plan.nfe == [32] and not plan.cut and plan.budget_s is None
    assert "candidates" not in p and "render_probe_pick" not in p


def test_the_budget_picks_the_largest_nfe_that_fits(described):
    """A generous budget keeps f5-tts's 32; one below any prediction falls to the ladder's floor and says so."""
    roomy = params()
    plan = plan_report(described, roomy, NAMES, device="cpu", budget_min=10_000)
    assert plan.nfe == [32] and roomy["nfe"] == 32
    tight = params()
    plan = plan_report(described, tight, NAMES, device="cpu", budget_min=0.001)
    assert plan.nfe == [NFE_LADDER[-1]] and tight["nfe"] == NFE_LADDER[-1]
    assert any("over the budget" in c for c in plan.cut) and any("NFE 32" in c for c in plan.cut)
    # the prediction grows with the NFE chosen
    cheap = plan.predicted("04_synthesis")
    assert plan_report(described, params(), NAMES, device="cpu", budget_min=10_000).predicted("04_synthesis") > cheap


def test_an_nfe_given_is_kept_whatever_the_budget(described):
    p = params(nfe=16)
    plan = plan_report(described, p, NAMES, device="cpu", budget_min=0.001, nfe_given=True)
    assert plan.nfe == [16] and p["nfe"] == 16


def test_the_plan_is_recorded_for_summary_json(described):
    """What it decided in ``plan`` (the same run to run); its seconds under ``timings``, per notebook
    beside the measured ``notebook`` seconds."""
    plan = plan_report(described, params(), NAMES, device="cpu", command="f5lab report X --full-grid")
    d = plan.to_dict()
    assert d["notebooks"] == NAMES and d["renderings"] == 1 and d["full_grid"] == "f5lab report X --full-grid"
    assert not any(isinstance(v, float) and k != "budget_s" for k, v in d.items())  # no seconds here
    t = plan.timings()
    assert set(t) == set(NAMES) | {"plan"} and all(t[n]["predicted"]["unit"] == "s" for n in NAMES)
    assert t["plan"]["predicted_total"]["value"] == pytest.approx(plan.total_s, abs=0.1)
    assert isinstance(plan, Plan)
    from f5lab.reporting.plan import predicted_seconds, predicted_total

    summary = {"timings": {n: {"notebook": {"value": 1.0, "unit": "s"}, **t[n]} for n in NAMES} | {"plan": t["plan"]}}
    assert set(predicted_seconds(summary)) == set(NAMES) and predicted_total(summary) == t["plan"]["predicted_total"]["value"]


def test_the_full_grid_command_parses_as_the_cli_spells_it():
    from f5lab import commandlines

    cmd = commandlines.report("/data/my model.safetensors", configs="tiny", lang="pt-BR", ref_audio="eu.wav",
                              ref_text="O que digo.", full_grid=True)
    words = shlex.split(cmd)
    assert words[:3] == ["f5lab", "report", "/data/my model.safetensors"]
    assert words[-1] == "--full-grid" and "--lang" in words and words[words.index("--ref-text") + 1] == "O que digo."


def test_report_options_budget_and_full_grid_reach_the_plan(make_fixture, tmp_path):
    """The CLI refuses a budget out of range in one line (exit 2)."""
    from click.testing import CliRunner

    from f5lab.cli.commands import main

    r = CliRunner().invoke(main, ["report", str(make_fixture("F5TTS_Base").path), "--budget", "0",
                                  "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--budget" in r.output

"""The report answers first and agrees with itself: the decision rules (f5lab.reporting.decide), the
memory figure against the memory verdict, the notebook helpers, and the answer card."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from f5lab.reporting import decide
from f5lab.model.arch import ArchSpec
from f5lab.hardware.runs import memory_text
from f5lab.hardware.memory import (FRAME_CAP_LABEL, budget, estimate, frame_cap_seconds, get_gpu, gpu_curve, gpu_curves,
                          plot_gpu_curves, verdicts)

# F5TTS_Base at full scale (DESIGN.md section 2)
BASE = ArchSpec(backbone="DiT", dim=1024, depth=22, ff_mult=2, text_dim=512, conv_layers=4, mel_dim=100,
                text_embed_rows=2546, heads=16, dim_head=64, attn_inner_dim=1024)


# -- one truth per number: the memory figure and the memory verdict ----------------------------------
@pytest.mark.parametrize("gpu,dtype,attn", [("GTX 1050 Ti", "fp32", "auto"), ("GTX 1050 Ti", "fp32", "math"),
                                            ("GTX 1050 Ti", "fp16", "math"), ("RTX 2060", "auto", "math"),
                                            ("T4", "fp16", "auto")])
def test_figure_crossing_equals_the_verdicts_longest_seconds(gpu, dtype, attn):
    curve = gpu_curve(BASE, gpu, dtype=dtype, attn=attn)
    v = verdicts(BASE, seconds=10.0, dtype=dtype, attn=attn, gpus=[gpu])[0]
    assert curve["settings"] == {k: v.settings[k] for k in curve["settings"]}  # same dtype, kernel, NFE...
    assert curve["budget_bytes"] == v.budget_bytes == budget(get_gpu(gpu))
    fitting = [x for x, y in zip(curve["seconds"], curve["bytes"]) if y <= curve["budget_bytes"]]
    assert max(fitting) == curve["max_seconds"] == v.max_seconds  # the drawn crossing is the verdict's
    assert curve["limited_by"] == v.limited_by
    if v.limited_by == "memory":
        after = curve["seconds"].index(v.max_seconds) + 1
        assert curve["bytes"][after] > curve["budget_bytes"]
        assert curve["seconds"][after] == pytest.approx(v.max_seconds + 0.1)


def test_gtx_1050_ti_uses_the_efficient_kernel_and_only_the_frame_cap_limits_it():
    v = verdicts(BASE, seconds=10.0, dtype="auto", gpus=["GTX 1050 Ti"])[0]
    assert (v.settings["dtype"], v.settings["attn"]) == ("fp32", "efficient")
    assert v.max_seconds == 87.3 and v.limited_by == FRAME_CAP_LABEL == "f5-tts's 8192-frame cap"
    assert frame_cap_seconds() == pytest.approx(87.38, abs=0.01)
    assert round(v.budget_bytes / 2**30, 2) == 3.80  # 4 GiB less the 5% reserve, not 4.0
    math_path = verdicts(BASE, seconds=10.0, dtype="fp32", attn="math", gpus=["GTX 1050 Ti"])[0]
    assert 20 < math_path.max_seconds < 40 and math_path.limited_by == "memory"
    assert memory_text(v, longest=True) == ("fp32 with the efficient attention kernel fits 1.79 of 3.80 GiB for 10 s "
                                            "per call (up to 87.3 s, limited by f5-tts's 8192-frame cap)")


def test_gpu_curves_show_the_cards_path_and_math_labelled_as_forced():
    curves = gpu_curves(BASE, "GTX 1050 Ti", dtypes=["fp32"])
    assert [(c["settings"]["attn"], c["forced"]) for c in curves] == [("efficient", False), ("math", True)]
    fig = plot_gpu_curves(curves)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["fp32, efficient attention: up to 87.3 s (frame cap)",
                      "fp32, math attention (if forced): up to 28.3 s"]
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "3.80 GiB usable" in texts and "8192-frame cap" in texts
    budget_lines = [ln for ln in ax.get_lines() if list(ln.get_ydata()) == [3.80 * 0 + budget(get_gpu("GTX 1050 Ti"))
                                                                             / 2**30] * 2]
    assert budget_lines  # the horizontal line sits at the usable budget


def test_profiler_stderr_noise_is_silenced_at_the_source(make_fixture):
    """torch's profiler logs 'gpuGetDeviceCount failed' to fd 2 on a machine without a GPU."""
    path = make_fixture("F5TTS_Base").path
    code = ("from f5lab.hardware.memory import measure; import sys; "
            f"m = measure({str(path)!r}, 1.0, nfe=1); print('peak', m.activation_peak_bytes > 0); "
            "print('python stderr still works', file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert out.returncode == 0, out.stderr
    assert "peak True" in out.stdout
    assert "gpuGetDeviceCount" not in out.stderr and "ERROR" not in out.stderr
    assert "python stderr still works" in out.stderr


# -- decision rules ----------------------------------------------------------------------------------
@dataclass
class Row:
    config: str
    status: str


ROWS = [Row("F5TTS_Base", "loads"), Row("F5TTS_v1_Base", "loads"), Row("E2TTS_Base", "cannot")]


def test_target_is_the_first_config_that_loads_unless_named():
    from f5lab.compat.decision import ConfigDecision

    named = ConfigDecision("F5TTS_v1_Base", "named", "named")
    undecided = ConfigDecision(None, "undecided", "undecided between F5TTS_Base and F5TTS_v1_Base",
                               ("F5TTS_Base", "F5TTS_v1_Base"))
    assert decide.choose_target(ROWS) == "F5TTS_Base"
    assert decide.choose_target(ROWS, undecided) == "F5TTS_Base"  # something to try; the answer says undecided
    assert decide.choose_target(ROWS, named) == "F5TTS_v1_Base"
    assert decide.choose_target([Row("A", "cannot"), Row("B", "loads after remap")]) == "B"
    assert decide.choose_target([Row("A", "cannot")]) == "A"


def test_remap_only_when_it_changes_something():
    assert decide.remap_needed(ROWS, "F5TTS_Base") is False  # loads as stored: no copy
    assert decide.remap_needed([Row("F5TTS_Base", "loads after remap")], "F5TTS_Base") is True
    assert decide.remap_needed(ROWS, "E2TTS_Base") is False
    assert decide.fix_line("m.pt", "E2TTS_Base", ROWS, "F5TTS_Base") == \
        "f5lab.load_model('m.pt', config='F5TTS_Base')  # not E2TTS_Base; F5TTS_v1_Base loads too: f5lab lineage or f5lab probe decides"
    assert decide.fix_line("m.pt", "F5TTS_Base", [Row("F5TTS_Base", "loads after remap")], "F5TTS_Base") == \
        "f5lab remap m.pt m.F5TTS_Base.safetensors --config F5TTS_Base"
    assert decide.loads_under(ROWS) == {"loads": ["F5TTS_Base", "F5TTS_v1_Base"], "loads after remap": [],
                                        "cannot": ["E2TTS_Base"]}


def test_loads_line_tells_a_failure_only_for_a_config_named():
    """No config named: which configs load it, no "does not load under X". Named: the failure (or
    success) under it first, then where else, each config said once."""
    rows = ROWS + [Row("F5TTS_Small", "loads after remap")]
    none = decide.loading_verdict(None, rows)
    assert none == {"text": "loads as stored under F5TTS_Base, F5TTS_v1_Base; loads after a remap under F5TTS_Small",
                    "ok": True}
    named = decide.loading_verdict("E2TTS_Base", rows, cause="the checkpoint is DiT", never=True)
    assert named["ok"] is False and named["text"] == (
        "does not load under E2TTS_Base: the checkpoint is DiT; no remap into E2TTS_Base can fix that. "
        "Loads as stored under F5TTS_Base, F5TTS_v1_Base; loads after a remap under F5TTS_Small")
    ok = decide.loading_verdict("F5TTS_Base", rows)
    assert ok["ok"] is True and ok["text"] == ("loads under F5TTS_Base as stored; so do F5TTS_v1_Base; "
                                               "after a remap: F5TTS_Small")
    assert ok["text"].count("F5TTS_Base ") == 1  # not "loads ... as stored. Loads as stored under F5TTS_Base"
    own = decide.loading_verdict(None, [Row("/run/m.yaml", "loads"), Row("E2TTS_Base", "cannot")], own="/run/m.yaml")
    assert own["text"] == "loads as stored under /run/m.yaml (the config f5lab wrote from its shapes)"
    nothing = decide.loading_verdict(None, [Row("E2TTS_Base", "cannot")], cause="another backbone")
    assert nothing == {"text": "no config loads it: another backbone", "ok": False}
    assert decide.fix_line("m.pt", None, ROWS, "F5TTS_Base", vocab="v.txt") == (
        "f5lab.load_model('m.pt', config='F5TTS_Base', vocab='v.txt')  # loads as stored; F5TTS_v1_Base loads too: "
        "f5lab lineage or f5lab probe decides")


def test_a_single_own_config_probe_says_its_flags_are_assumed_not_decided():
    own = decide.probe_verdict(Probe([Loss("/run/custom.yaml")], None, 0, 2, True))
    assert own["decided"] is False and own["ok"] is None
    assert own["text"] == ("probe: one candidate (/run/custom.yaml), nothing compared: its v0/v1 flags "
                           "(text_mask_padding, pe_attn_head) are assumed, not decided")


def test_a_sweep_crowns_nothing_on_a_tie_or_a_total_failure():
    assert decide.crown([(1.0, "a"), (0.5, "b"), (0.5, "c")], "min") == "b"  # a tie for best: the first
    assert decide.crown([(100.0, "a"), (100.0, "b")], "min", 100.0) is None  # "best WER 100%": nothing
    assert decide.crown([(3.0, "a"), (3.0, "b")], "min") is None  # all tie: nothing separates them
    assert decide.crown([(100.0, "a"), (120.0, "b")], "min", 100.0) is None  # the best is a total failure
    assert decide.crown([(0.4, "a")], "max") == "a" and decide.crown([], "min") is None


def test_arch_table_says_none_and_not_applicable_where_shapes_do_tell():
    from f5lab.reporting.nbviews import arch_value

    unet = ArchSpec(backbone="UNetT", dim=64, depth=4, ff_mult=4, text_dim=100, conv_layers=0, mel_dim=100,
                    text_embed_rows=2546)
    assert arch_value(BASE, "qk_norm", None) == "none (no q/k norm weights stored)"  # the CLI's "qk_norm none"
    assert arch_value(BASE, "skip_connect", None) == "not applicable (DiT)"
    assert arch_value(unet, "skip_connect", None) == "add or none (see below)"  # below: the UNetT skip note
    assert arch_value(unet, "heads", None) == "undetermined (see below)" and arch_value(BASE, "dim", 1024) == 1024


def test_estimate_agrees_within_a_quarter():
    assert decide.estimate_agrees(0.25) and decide.estimate_agrees(-0.2)
    assert not decide.estimate_agrees(0.2501) and not decide.estimate_agrees(None)
    assert not decide.estimate_agrees(float("nan"))


@dataclass
class Loss:
    config: str


@dataclass
class Probe:
    ranking: list
    relative_margin: float | None
    wins: int
    n_samples: int
    confident: bool

    @property
    def best(self) -> str:
        return self.ranking[0].config


def test_probe_verdict_states_its_margin_against_the_bar():
    two = [Loss("F5TTS_Base"), Loss("F5TTS_v1_Base")]
    close = decide.probe_verdict(Probe(two, 0.0112, 2, 2, False))
    assert close["ok"] is None and close["decided"] is False
    assert close["text"] == ("probe: tie between F5TTS_Base and F5TTS_v1_Base: loss margin 1.1% (bar 5%), "
                             "F5TTS_Base lower on 2/2 paired samples")
    assert close["best"] is None and close["tie"] is True and close["lowest"] == "F5TTS_Base"
    clear = decide.probe_verdict(Probe(two, 0.31, 4, 4, True))
    assert clear["ok"] is True and clear["text"].startswith("probe: trained as F5TTS_Base (F5TTS_Base 31.0%")
    random = decide.probe_verdict(Probe(two, 0.31, 4, 4, True), random_weights=True)
    assert random["ok"] is None and "no verdict on random weights" in random["text"]
    one = decide.probe_verdict(Probe([Loss("E2TTS_Base")], None, 0, 2, True))
    assert one["text"] == "probe: only E2TTS_Base fits the shapes; nothing to decide"


def test_renderings_are_compared_only_with_other_renderings():
    keys = [("A", "fp32", 2), ("A", "fp32", 4), ("A", "fp16", 2), ("A", "fp16", 4)]
    refs = decide.references(keys)
    assert refs[("A", "fp32", 4)] == {}  # the reference of the grid: nothing to compare with
    assert refs[("A", "fp32", 2)] == {"nfe": ("A", "fp32", 4)}
    assert refs[("A", "fp16", 4)] == {"fp32": ("A", "fp32", 4)}
    assert refs[("A", "fp16", 2)] == {"nfe": ("A", "fp16", 4), "fp32": ("A", "fp32", 2)}
    for key, r in refs.items():
        assert key not in r.values()


def test_quality_rows_and_verdict_on_real_signals():
    import numpy as np

    @dataclass
    class R:
        wav: np.ndarray
        mel: np.ndarray
        record: dict
        sample_rate: int = 24000

    rng = np.random.default_rng(0)
    metrics = {"seconds": 1.0, "peak": 0.5, "rms_dbfs": -20.0, "silence_ratio": 0.0, "clipping_ratio": 0.0,
               "non_finite": 0}
    mel = rng.normal(size=(100, 50))
    results = {("A", "fp32", 2): R(rng.normal(size=24000), mel + rng.normal(size=mel.shape), {"metrics": metrics}),
               ("A", "fp32", 4): R(rng.normal(size=24000), mel, {"metrics": metrics})}
    rows = decide.quality_rows(results, "hello")
    assert 0.7 < rows[0]["mel L1 vs top NFE"] < 0.9 and rows[0]["MCD dB vs top NFE"] > 0  # E|N(0,1)| = 0.80
    assert rows[1]["mel L1 vs top NFE"] is None and rows[1]["mel L1 vs fp32"] is None
    assert rows[0]["silence %"] == 0.0 and "WER %" not in rows[0]
    v = decide.synthesis_verdict(rows, random_weights=True)
    assert v["ok"] is None and v["text"] == ("synthesis: 2/2 renderings finite and not silent "
                                             "(random weights: noise by construction)")
    assert decide.synthesis_verdict(rows)["ok"] is True  # trained weights: finite and audible is a tick


# -- 02: a remap only when it changes something ------------------------------------------------------
def _context(path, tmp_path):
    from f5lab.reporting.sidecar import NotebookContext, Sidecar, catalogue_for

    return NotebookContext(name="02_compatibility", side=Sidecar(tmp_path / "02.json", "02_compatibility"),
                           checkpoint=path, catalogue=catalogue_for("tiny"), configs="tiny", fixture=False)


def test_no_copy_when_the_file_loads_as_stored(make_fixture, tmp_path):
    from f5lab.reporting import nbviews
    from f5lab.reporting.sidecar import load

    nb = _context(make_fixture("F5TTS_Base").path, tmp_path)
    c = nbviews.compatibility(nb, "E2TTS_Base", work_dir=tmp_path / "work")
    nbviews.compatibility_result(nb.side, nb, c)
    assert c.target == "F5TTS_Base" and c.plan is None and c.remapped is None
    assert not (tmp_path / "work").exists() or not list((tmp_path / "work").iterdir())
    facts = load(tmp_path / "02.json")
    loading = facts["answer"]["loading"]
    assert loading["remapped"] is None and loading["loads"] == ["F5TTS_Base", "F5TTS_v1_Base"]
    verdicts = {v["key"]: v["text"] for v in facts["verdicts"]}
    # "cannot be fixed by remapping" says what it refers to: a remap INTO the config asked
    assert "no remap into E2TTS_Base can fix that" in verdicts["named_config"]
    assert verdicts["remap"].startswith("no remap needed: F5TTS_Base loads the file as stored")


def test_a_needed_remap_is_written_verified_and_named_with_its_size(make_fixture, tmp_path):
    from f5lab.reporting import nbviews
    from f5lab.reporting.sidecar import load

    path = make_fixture("F5TTS_Base", "compiled_pt").path  # "_orig_mod." prefixes: f5-tts refuses it as stored
    nb = _context(path, tmp_path)
    c = nbviews.compatibility(nb, "F5TTS_Base", work_dir=tmp_path / "work")
    nbviews.compatibility_result(nb.side, nb, c)
    assert c.remapped is not None and c.verification.ok
    loading = load(tmp_path / "02.json")["answer"]["loading"]
    assert loading["remapped"] == c.remapped.name and loading["remapped_bytes"] == c.remapped.stat().st_size
    assert loading["verified"] is True and loading["fix"].startswith(f"f5lab remap {path} ")  # runnable as printed


# -- the notebooks' helpers -----------------------------------------------------------------------------
def test_table_is_left_aligned_without_index_and_wraps_within_the_width():
    from f5lab.reporting.sidecar import WIDTH, Table

    long = "every transformer.layers.* (58 keys) missing; " * 6
    t = Table([{"config": "E2TTS_Base", "ok": False, "why": long, "n": None}])
    text = repr(t)
    assert text.splitlines()[0].startswith("config")  # no index column
    assert all(len(line) <= WIDTH for line in text.splitlines())
    assert "transformer.layers.*" in text and "no" in text and " - " not in text.splitlines()[0]
    html = t._repr_html_()
    assert "<style" not in html and html.count("text-align:left") == 4 * 2  # header + cells, inline styles
    assert ">-<" in html  # None shown as "-"


def test_say_wraps_with_a_hanging_indent(capsys):
    from f5lab.reporting.sidecar import say

    say("word " * 60)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 1 and all(len(x) <= 100 for x in lines)
    assert all(x.startswith("    ") for x in lines[1:]) and not lines[0].startswith(" ")


def test_cli_long_lines_wrap_with_a_hanging_indent():
    from rich.console import Console

    from f5lab.cli.terminal import hang

    out = Console(width=100, record=True, soft_wrap=True)
    hang(out, "    evidence: ", "every transformer.norm_out.* (1 key) missing " * 12)
    lines = out.export_text().splitlines()
    assert len(lines) > 2 and all(len(x) <= 100 for x in lines)
    assert all(x.startswith(" " * 14) and x[14] != " " for x in lines[1:])
    assert not any(x.rstrip().endswith("transfor") for x in lines)  # never mid-word

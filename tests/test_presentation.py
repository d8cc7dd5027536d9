"""Readable at a glance: durations and RTFs as people read them, accents kept in parameters cells,
one snippet where two differ by a word, a repeated fix said once, terminal tables whole when piped,
notebook tables without index or NaN, the card's code folded, empty sections left out."""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.units import GIB, MIB, binary_bytes, duration, rtf

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_durations_read_as_minutes_and_seconds():
    assert [duration(s) for s in (None, 0.42, 4.23, 54.4, 1194, 1241.2, 180, 3725)] == [
        "-", "0.42 s", "4.2 s", "54 s", "19 min 54 s", "20 min 41 s", "3 min", "1 h 02 min"]


def test_rtf_and_seconds_never_in_exponent_form():
    shown = [rtf(v) for v in (490.3, 84.2, 4.9, 0.15, 0.0012, 6389.7, None, math.nan)]
    assert shown == ["490", "84", "4.9", "0.15", "0.0012", "6390", "-", "-"]
    assert not any("e+" in s or "e-" in s for s in shown)
    from f5lab.hardware.speed import SpeedEstimate, describe

    est = SpeedEstimate(device="cpu", settings={"nfe": 32, "seconds": 1.0, "batch": 1}, frames=100, step_s=15.3,
                        text_s=0.0, vocoder_s=0.0, step_flops=0.0, step_bytes=0.0, compute_bound_share=1.0,
                        source="test")
    assert describe(est) == "~490 s per call (RTF 490)"


def test_memory_stays_in_the_binary_family():
    assert binary_bytes(3.8 * GIB) == "3.80 GiB" and binary_bytes(512 * MIB) == "512.0 MiB"
    assert binary_bytes(None) == "-"


def test_stored_parameters_cell_keeps_accents():
    """papermill writes strings with unicode_escape ("Ol\\xe1"); the report's runner registers a
    translator that keeps them as written, control characters still escaped."""
    from papermill.parameterize import parameterize_notebook

    from f5lab.reporting.runner import use_readable_parameters

    use_readable_parameters()
    from papermill.iorw import load_notebook_node

    nb = load_notebook_node(str(NOTEBOOKS / "04_synthesis.ipynb"))  # as papermill reads it before injecting
    values = {"gen_text": "Olá, tudo bem? São Paulo às 14h30, Ôlavo.", "ref_text": "Ação \"citada\"\tok\n",
              "candidates": ["F5TTS_Base", "Ç.yaml"], "nfe": 16}
    out = parameterize_notebook(nb, values, report_mode=False, kernel_name="f5lab", language="python")
    cell = next(c for c in out.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert not re.search(r"\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}", cell.source), cell.source
    assert "Olá, tudo bem? São Paulo às 14h30, Ôlavo." in cell.source
    scope: dict = {}
    exec(cell.source, scope)  # the cell, run, gives back exactly what was passed
    assert {k: scope[k] for k in values} == values


def test_diagnose_prints_one_snippet_where_two_differ_by_a_line(make_fixture):
    fx = make_fixture("F5TTS_Base")
    r = CliRunner().invoke(main, ["diagnose", str(fx.path), "--configs", "tiny"])
    assert r.exit_code == 0, r.output
    assert r.output.count("load it in f5-tts without f5lab") == 1
    assert r.output.count("import torch") == 1  # the shared code once
    same = re.search(r"under F5TTS_v1_Base: the same code with these (\d) lines instead:", r.output)
    assert same and int(same.group(1)) <= 3


def test_matrix_says_a_repeated_fix_once(make_fixture):
    fx = make_fixture("F5TTS_Base")
    r = CliRunner().invoke(main, ["matrix", str(fx.path), "--configs", "tiny"])
    assert r.exit_code == 0, r.output
    fix = "use config F5TTS_Base or F5TTS_v1_Base"
    assert r.output.count(fix) == 1 and re.search(r"\[1\] \(4 configs\) " + fix, r.output)
    assert r.output.count("[1]") == 5  # four rows point to it, once it is said


def test_profile_table_keeps_every_word_when_piped(make_fixture):
    """CliRunner's output is not a terminal: the table is printed at its natural width."""
    fx = make_fixture("F5TTS_Base")
    r = CliRunner().invoke(main, ["profile", str(fx.path)])
    assert r.exit_code == 0, r.output
    assert "…" not in r.output and "dtype, attention" in r.output and "efficient" in r.output


def test_sweep_tables_have_no_index_column_or_nan():
    import pandas as pd

    from f5lab.reporting.sweepviews import frame_table

    df = pd.DataFrame([{"point": "a__nfe2", "loss": 2.929, "RTF": float("nan")},
                       {"point": "b__nfe4", "loss": 0.000076123, "RTF": 0.1234567}]).set_index("point")
    t = frame_table(df)
    assert t.columns == ["point", "loss", "RTF"]
    text = repr(t)
    assert "NaN" not in text and "2.929000" not in text and "2.929" in text and "0.1235" in text
    assert "<th" in t._repr_html_() and "NaN" not in t._repr_html_()


def test_card_folds_service_code_and_uses_one_bullet():
    from f5lab.reporting.reports import answer_card_html

    answer = {"lines": [{"label": "in f5-tts alone", "code": True, "ok": None,
                         "text": "import torch\nfrom f5_tts.api import F5TTS\nmodel = F5TTS(model='F5TTS_Base')"},
                        {"label": "still undecided", "text": "nothing", "ok": None},
                        {"label": "loads?", "text": "yes", "ok": True}], "gpu": None}
    manifest = {"checkpoint": {"path": "/x/model_1200000.safetensors", "size_bytes": 1_350_000_000}, "demo": False}
    page = answer_card_html(answer, manifest, "all 4 notebooks ran")
    assert "<details><summary><code>import torch</code>" in page and "(3 lines: show)" in page
    assert "&#8226;" not in page  # a neutral line carries no bullet of its own
    assert "1.26 GiB" in page and "GB)" not in page
    assert "model_<wbr>1200000.<wbr>safetensors" in page  # an id breaks only after its separators


def test_report_html_leaves_out_a_section_with_nothing_to_show():
    from f5lab.reporting.reports import without_empty_sections

    cells = [nbformat.v4.new_markdown_cell("## Lineage"), nbformat.v4.new_code_cell("view.lineage_text(c)"),
             nbformat.v4.new_markdown_cell("### What fine-tuning changed"), nbformat.v4.new_code_cell("fig"),
             nbformat.v4.new_markdown_cell("Flags: identical to the base..."), nbformat.v4.new_code_cell("flags")]
    cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="lineage: not run (no base given)\n")]
    cells[5].outputs = [nbformat.v4.new_output("display_data", data={"text/plain": ""})]
    kept = without_empty_sections(cells)
    assert [c.source for c in kept] == ["## Lineage", "view.lineage_text(c)"]

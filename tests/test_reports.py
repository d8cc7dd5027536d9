"""``f5lab report`` and the notebook sidecar, on tiny real checkpoints.

The report runs real notebooks through papermill in real Jupyter kernels, so the runs are
shared (module-scoped) and every assertion reads the files they left.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from f5lab.cli import main
from f5lab.fixtures import tiny_catalogue
from f5lab.inspection import file_sha256, inspect_checkpoint
from f5lab.reports import NOTEBOOKS, notebooks_dir, run_report
from f5lab.sidecar import Sidecar, load, png_bytes

REPO = Path(__file__).resolve().parent.parent


def numbers(summary: dict, notebook: str) -> dict:
    return {k: v["value"] for k, v in summary["notebooks"][notebook]["numbers"].items()}


def without_timings(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "timings"}


# -- the sidecar --------------------------------------------------------------------------------
def test_sidecar_records_numbers_units_verdicts_and_timings_apart(tmp_path):
    import numpy as np

    side = Sidecar(tmp_path / "nb.json", "01_inspect")
    assert side.record("params", np.int64(1234), "parameters") == 1234
    side.record("loss", float("nan"), "nats")
    side.record_many("modules", {"a": 1, "b": 2}, "parameters")
    side.verdict("fits", "fits a 4 GB GPU", ok=True)
    side.verdict("fits", "does not fit", ok=False)  # same key: replaced, not appended
    side.timing("load", 1.234567)
    data = load(tmp_path / "nb.json")
    assert data["notebook"] == "01_inspect"
    assert data["numbers"]["params"] == {"value": 1234, "unit": "parameters"}
    assert data["numbers"]["loss"]["value"] is None  # NaN is not JSON
    assert data["numbers"]["modules.b"] == {"value": 2, "unit": "parameters"}
    assert data["verdicts"] == [{"key": "fits", "text": "does not fit", "ok": False}]
    assert data["timings"] == {"load": {"value": 1.2346, "unit": "s"}}


def test_sidecar_without_path_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    side = Sidecar(None, "01_inspect")
    side.record("x", 1)
    assert side.data["numbers"]["x"]["value"] == 1
    assert list(tmp_path.iterdir()) == []


def test_figures_are_png_without_software_stamp_and_identical_each_time(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def draw():
        fig, ax = plt.subplots()
        ax.bar(["a", "b"], [1, 2])
        return fig

    first, second = png_bytes(draw()), png_bytes(draw())
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Software" not in first and b"Matplotlib" not in first
    assert first == second
    side = Sidecar(tmp_path / "nb.json", "01_inspect")
    side.figure("bars", draw())
    assert (tmp_path / "01_inspect_bars.png").read_bytes() == first
    assert load(tmp_path / "nb.json")["figures"] == ["01_inspect_bars.png"]


# -- the stored notebooks -------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in NOTEBOOKS if (REPO / "notebooks" / f"{n}.ipynb").exists()])
def test_stored_notebooks_follow_the_rules(name):
    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "f5lab"
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assert "checkpoint = None" in params[0].source and "sidecar = None" in params[0].source
    # stored executed (nbval compares outputs only of cells with an execution count), no errors
    assert all(c.execution_count for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    import tomllib

    opts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--nbval " in opts["addopts"] + " " and "--nbval-lax" not in opts["addopts"]
    assert "notebooks" in opts["testpaths"]


# -- f5lab report on a tiny checkpoint -------------------------------------------------------------
CHEAP = {"nfe": 2, "gen_text": "Hi there."}  # short audio: synthesis and the offline ASR stay quick


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from f5lab.fixtures import build_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "model_last.safetensors"
    return build_checkpoint(path, config="F5TTS_Base", scale="tiny", seed=0).path


@contextlib.contextmanager
def cpu_capability(name: str):
    """PyTorch's CPU kernels forced to another instruction set, for the processes started inside."""
    before = os.environ.get("ATEN_CPU_CAPABILITY")
    os.environ["ATEN_CPU_CAPABILITY"] = name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("ATEN_CPU_CAPABILITY")
        else:
            os.environ["ATEN_CPU_CAPABILITY"] = before


@pytest.fixture(scope="module")
def runs(tiny, tmp_path_factory):
    """The same tiny report twice: once through the library, once through the CLI, each under
    other CPU kernels (the notebooks' kernels inherit ATEN_CPU_CAPABILITY), as on another machine."""
    out = tmp_path_factory.mktemp("reports")
    with cpu_capability("default"):
        first = run_report(tiny, out=out, run_id="one", progress=False, **CHEAP)
    with cpu_capability("avx2"):
        result = CliRunner().invoke(main, ["report", str(tiny), "--out", str(out), "--run-id", "two",
                                           "--nfe", str(CHEAP["nfe"]), "--gen-text", CHEAP["gen_text"]])
    assert result.exit_code == 0, result.output
    return first, out / "two", result.output


def test_report_writes_every_part(runs):
    first, _, output = runs
    assert first.ok, first.failed
    run_dir = first.run_dir
    for name in NOTEBOOKS:
        if not (notebooks_dir() / f"{name}.ipynb").exists():
            continue
        for suffix in (".ipynb", ".html", ".json"):
            assert (run_dir / f"{name}{suffix}").stat().st_size > 0
        executed = nbformat.read(run_dir / f"{name}.ipynb", as_version=4)
        injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and "checkpoint = " in injected[0].source
    for part in ("summary.json", "manifest.json", "index.html"):
        assert (run_dir / part).stat().st_size > 0
    index = (run_dir / "index.html").read_text()
    assert "01_inspect.html" in index and "summary.json" in index and "FAILED" not in index
    assert 'href="03_memory_sweep.png"' in index and (run_dir / "03_memory_sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert "report: " in output and "01_inspect" in output


def test_manifest_names_versions_device_seeds_and_checkpoint_hash(runs, tiny):
    first, _, _ = runs
    manifest = json.loads((first.run_dir / "manifest.json").read_text())
    assert manifest["checkpoint"]["sha256"] == file_sha256(tiny)
    assert manifest["checkpoint"]["size_bytes"] == tiny.stat().st_size
    assert manifest["versions"]["f5-tts"] == "1.1.22"
    assert manifest["versions"]["torch"].startswith("2.11.0")
    assert manifest["versions"]["f5lab"]
    assert manifest["device"]["device"] in ("cpu", "cuda")
    assert manifest["seeds"]["seed"] == 0
    assert manifest["parameters"]["configs"] == "tiny"  # auto-detected: a --scale tiny checkpoint
    assert manifest["reference_audio"]["path"].endswith("basic_ref_en.wav")


def test_summary_numbers_equal_the_library_calls(runs, tiny):
    first, _, _ = runs
    summary = json.loads((first.run_dir / "summary.json").read_text())
    assert summary == first.summary
    got = numbers(summary, "01_inspect")
    want = inspect_checkpoint(tiny, catalogue=tiny_catalogue())
    assert got["params"] == want.params
    assert got["size_bytes"] == want.size_bytes
    assert {k.split(".", 1)[1]: v for k, v in got.items() if k.startswith("params_by_module.")} == want.modules
    for fact in ("backbone", "dim", "depth", "text_dim", "conv_layers", "mel_dim", "text_embed_rows"):
        assert got[f"arch.{fact}"] == want.spec.to_dict()[fact]
    assert got["best_config"] == want.best.config == "F5TTS_Base"
    assert summary["notebooks"]["01_inspect"]["numbers"]["params"]["unit"] == "parameters"


def test_summary_compatibility_numbers_equal_the_library_calls(runs, tiny):
    from f5lab.diagnose import diagnose
    from f5lab.loading import compatibility_matrix, verify
    from f5lab.remap import plan_remap

    first, _, _ = runs
    got = numbers(first.summary, "02_compatibility")
    cat = tiny_catalogue()
    assert got["diagnosis.codes"] == diagnose(tiny, config="E2TTS_Base", catalogue=cat).codes()
    assert "backbone_mismatch" in got["diagnosis.codes"] and got["diagnosis.ok"] is False
    matrix = {r.config: r.status for r in compatibility_matrix(tiny, catalogue=cat)}
    assert {k.split(".", 1)[1]: v for k, v in got.items() if k.startswith("matrix.")} == matrix
    assert matrix["E2TTS_Base"] == "cannot" and matrix["F5TTS_Base"] == "loads"
    plan = plan_remap(tiny, "F5TTS_Base", catalogue=cat)
    assert got["remap.target"] == "F5TTS_Base"
    assert got["remap.tensors"] == len(plan.steps) and got["remap.output_bytes"] == plan.output_bytes
    remapped = first.run_dir / f"{tiny.stem}.F5TTS_Base.safetensors"
    v = verify(tiny, remapped, config="F5TTS_Base", catalogue=cat)
    assert got["verify.tensors_equal"] == v.tensors_equal == got["verify.tensors_checked"] > 0
    assert got["verify.forward_max_abs_error"] == v.forward_max_abs_error
    assert got["verify.ok"] is True
    assert got["keys.E2TTS_Base.size_mismatches"] == 2  # input_embed.proj and text_embed, as in the seed


def test_summary_memory_numbers_equal_the_library_calls(runs, tiny):
    from f5lab.memory import estimate, sweep, verdicts

    first, _, _ = runs
    got = numbers(first.summary, "03_memory")
    spec = inspect_checkpoint(tiny).spec
    est = estimate(spec, 2.0, dtype="fp32", device="cpu", nfe=2, vocoder="none")
    assert got["estimate.total_bytes"] == est.total_bytes
    assert got["estimate.activation_bytes"] == est.activation_bytes
    assert got["measured.measured_weights_bytes"] == got["measured.estimated_weights_bytes"]
    for v in verdicts(spec, seconds=10.0, dtype="auto"):
        assert got[f"gpus.{v.gpu.name}.total_bytes"] == v.total_bytes
        assert got[f"gpus.{v.gpu.name}.fits"] == v.fits
    focus = verdicts(spec, seconds=10.0, dtype="fp32", gpus=["GTX 1050 Ti"])[0]
    assert got["focus.fp32.max_seconds"] == focus.max_seconds
    assert got["sweep.fp16"] == sweep(spec, dtypes=["fp32", "fp16"], seconds=range(2, 62, 2))["series"]["fp16"]
    units = first.summary["notebooks"]["03_memory"]["numbers"]
    assert units["estimate.total_bytes"]["unit"] == "bytes"


def test_summary_synthesis_numbers_equal_the_library_calls(runs, tiny):
    from f5lab.loading import load_model
    from f5lab.probe import probe
    from f5lab.reports import DEMO_REF_TEXT, f5tts_example_audio
    from f5lab.synth import synthesize

    first, _, _ = runs
    got = numbers(first.summary, "04_synthesis")
    cat = tiny_catalogue()
    assert got["grid.candidates"] == ["F5TTS_Base", "F5TTS_v1_Base"] and got["grid.size"] == 2
    ref = f5tts_example_audio()
    model = load_model(tiny, config="F5TTS_Base", dtype="fp32", catalogue=cat)
    r = synthesize(model, ref, DEMO_REF_TEXT, CHEAP["gen_text"], nfe=2, seed=0)
    key = "quality.F5TTS_Base.fp32.nfe2"
    assert got[f"{key}.seconds"] == r.record["metrics"]["seconds"]
    assert got[f"{key}.peak"] == r.record["metrics"]["peak"]  # same seed, same machine: bit-identical audio
    assert got[f"{key}.RMS dBFS"] == r.record["metrics"]["rms_dbfs"]
    assert 0.0 <= got[f"{key}.WER"] <= 1.0 and isinstance(got[f"{key}.heard"], str)
    pr = probe(tiny, ref, DEMO_REF_TEXT, seed=0, n_samples=4, catalogue=cat)
    assert got["probe.best"] == pr.best
    assert got["probe.loss_mean.F5TTS_Base"] == next(c.loss_mean for c in pr.ranking if c.config == "F5TTS_Base")
    index = (first.run_dir / "index.html").read_text()
    assert "probe:" in index and "GTX 1050 Ti" in index
    assert list((first.run_dir / "04_synthesis_audio").rglob("*.wav"))


def test_two_runs_give_equal_summaries_except_timings(runs):
    first, second_dir, _ = runs
    a = json.loads((first.run_dir / "summary.json").read_text())
    b = json.loads((second_dir / "summary.json").read_text())
    assert without_timings(a) == without_timings(b)
    assert set(a["timings"]) == set(b["timings"])
    for nb in a["timings"].values():
        assert all(math.isfinite(t["value"]) and t["unit"] == "s" for t in nb.values())


def test_failing_notebook_keeps_its_error_marks_the_index_and_exits_nonzero(tiny, tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.read(notebooks_dir() / "01_inspect.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('raise RuntimeError("boom: deliberately broken")'))
    nbformat.write(nb, folder / "01_inspect.ipynb")
    monkeypatch.setenv("F5LAB_NOTEBOOKS", str(folder))
    result = CliRunner().invoke(main, ["report", str(tiny), "--notebook", "01_inspect", "--out",
                                       str(tmp_path / "out"), "--run-id", "bad"])
    assert result.exit_code == 1
    run_dir = tmp_path / "out" / "bad"
    executed = nbformat.read(run_dir / "01_inspect.ipynb", as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "RuntimeError"
    assert (run_dir / "01_inspect.html").exists()
    index = (run_dir / "index.html").read_text()
    assert "FAILED" in index and "boom: deliberately broken" in index
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["failed"] == ["01_inspect"] and summary["ok"] is False
    # the numbers recorded before the failure are kept
    assert summary["notebooks"]["01_inspect"]["numbers"]["params"]["value"] > 0


def test_report_refuses_bad_input_in_one_line(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["report", str(tmp_path / "nope.safetensors"), "--out", str(tmp_path)])
    assert missing.exit_code == 2 and "no such checkpoint" in missing.output
    tiny = tmp_path / "t.safetensors"
    shutil.copy(Path(__file__), tiny)  # not a checkpoint
    half = runner.invoke(main, ["report", str(tiny), "--ref-audio", "x.wav", "--out", str(tmp_path)])
    assert half.exit_code == 2 and "--ref-text" in half.output


def test_sanitizer_normalises_only_what_varies():
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((REPO / "notebooks" / "sanitize.cfg").read_text())

    def clean(text: str) -> str:
        import re

        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    assert clean("wrote /tmp/f5lab-nb-abc123/tiny.safetensors") == clean("wrote /tmp/f5lab-nb-zz9/tiny.safetensors")
    assert clean("<Styler at 0x7f32ee41d790>") == clean("<Styler at 0x7f0000000abc>")
    assert clean('<source src="data:audio/wav;base64,UklGRiQw+/=">') == clean('<source src="data:audio/wav;base64,AAAA">')
    assert clean("took 1.23 s") == clean("took 9 s")
    # numbers that must reproduce are left alone
    assert clean("84 tensors, 1,130,928 bytes; dim 64 depth 2") == "84 tensors, 1,130,928 bytes; dim 64 depth 2"
    assert clean("loss mean 6.9880") == "loss mean 6.9880"


def test_report_help_teaches_with_an_example():
    result = CliRunner().invoke(main, ["report", "--help"])
    assert result.exit_code == 0
    assert "Without PATH it runs the built-in demo" in result.output and "f5lab report model_last" in result.output

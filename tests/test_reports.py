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

from f5lab.cli.commands import main
from f5lab.synthetic.layouts import tiny_catalogue
from f5lab.model.inspection import file_sha256, inspect_checkpoint
from f5lab.reporting.reports import run_report
from f5lab.reporting.runner import NOTEBOOKS, notebooks_dir
from f5lab.reporting.sidecar import Sidecar, load, png_bytes

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


def test_stored_notebooks_open_trusted_with_results_first_and_clean_outputs():
    """JupyterLab shows colours and audio only in trusted notebooks: `make install` / `make test`
    sign them (`jupyter trust`). Each opens with its result, one collapsed set-up call, no stderr."""
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary()
    for name in NOTEBOOKS:
        nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
        assert notary.check_signature(nb), f"{name} is not trusted: run `make trust`"
        code = [c for c in nb.cells if c.cell_type == "code"]
        setup = [c for c in code if "setup" in c.metadata.get("tags", [])]
        assert len(setup) == 1 and setup[0].source.count("notebook_setup(") == 1
        assert setup[0].metadata["jupyter"]["source_hidden"] is True
        result = code[code.index(setup[0]) + 1]  # the result, right after the set-up
        assert result.outputs and "text/markdown" in result.outputs[-1].get("data", {}), name
        for c in code:
            if not {"parameters", "setup"} & set(c.metadata.get("tags", [])):
                assert len(c.source.splitlines()) <= 8, (name, c.source)  # thin: calls and displays
            for o in c.outputs:
                assert o.get("name") != "stderr", (name, o.get("text"))
                text = o.get("text", "") + o.get("data", {}).get("text/plain", "")
                assert "Styler at 0x" not in text and "…" not in text
                assert all(len(line) <= 100 for line in text.splitlines()), (name, text)


# -- the kernel the notebooks run in ---------------------------------------------------------------
def test_report_kernels_run_over_ipc_and_stop_without_sigint_so_the_terminal_stays_quiet(tmp_path, capfd):
    """The kernel inherits the caller's stderr: with jupyter_client's defaults it prints the TCP
    encryption warning on start and is sent SIGINT on shutdown (the source of a stray
    "KeyboardInterrupt caught in kernel"); f5lab's manager does neither. The executed notebook is
    signed in the user's database."""
    import signal

    import papermill as pm
    from jupyter_client.manager import AsyncKernelManager
    from nbformat.sign import NotebookNotary

    from f5lab.reporting.kernel import QuietKernelManager, trust

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 6 * 7"), nbformat.v4.new_code_cell("print(x)")])
    nb.metadata["kernelspec"] = {"name": "f5lab", "display_name": "Python (f5lab)", "language": "python"}
    nbformat.write(nb, tmp_path / "in.ipynb")

    def run(base):
        sent, transports = [], []

        class Recording(base):
            def __init__(self, **kw):
                super().__init__(**kw)
                transports.append(self.transport)

            async def _async_signal_kernel(self, signum):
                sent.append(signum)
                await super()._async_signal_kernel(signum)

        pm.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="f5lab",
                            progress_bar=False, kernel_manager_class=Recording)
        return sent, transports, capfd.readouterr().err

    sent, transports, err = run(AsyncKernelManager)
    assert signal.SIGINT in sent and transports == ["tcp"] and "without encryption" in err  # the test can fail
    sent, transports, err = run(QuietKernelManager)
    assert sent == [] and transports == ["ipc"] and "without encryption" not in err and "KeyboardInterrupt" not in err
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert out.cells[1].outputs[0]["text"] == "42\n"
    assert trust(tmp_path / "out.ipynb")  # papermill stamps each run's times: a new digest, signed now
    assert NotebookNotary().check_signature(nbformat.read(tmp_path / "out.ipynb", as_version=4))


# -- f5lab report on a tiny checkpoint -------------------------------------------------------------
CHEAP = {"nfe": 2, "gen_text": "Hi there."}  # short audio: synthesis and the offline ASR stay quick


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from f5lab.synthetic.layouts import build_checkpoint

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
        result = CliRunner().invoke(main, ["report", str(tiny), "--out", str(out), "--run-id", "two", "--gpu",
                                           "GTX 1050 Ti", "--nfe", str(CHEAP["nfe"]), "--text", CHEAP["gen_text"]])
    assert result.exit_code == 0, result.output
    return first, out / "two", result.output


def test_answer_gives_the_f5tts_code_that_loads_the_target(runs, tiny):
    """Issue 10 §5: the report names the Python a service runs with f5-tts alone, the same code
    the matrix gives for the config the answer picks."""
    from f5lab.compat.matrix import compatibility_matrix
    from f5lab.compat.service import ServiceCode

    first, _, output = runs
    answer = json.loads((first.run_dir / "summary.json").read_text())["answer"]
    row = next(r for r in compatibility_matrix(tiny, catalogue=tiny_catalogue()) if r.config == answer["loads"]["target"])
    assert answer["service"] == str(ServiceCode(row.config, row.needs_remap, row.remap_command, row.code))
    assert "load_model(" in answer["service"] and str(tiny) in answer["service"]
    index = (first.run_dir / "index.html").read_text()
    assert "in f5-tts alone" in index and "<pre><code>" in index
    assert "in f5-tts alone" in output  # the CLI prints the card too


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
        from nbformat.sign import NotebookNotary

        assert NotebookNotary().check_signature(executed), f"{name}: not trusted, JupyterLab would mute its audio"
    for part in ("summary.json", "manifest.json", "index.html"):
        assert (run_dir / part).stat().st_size > 0
    index = (run_dir / "index.html").read_text()
    assert "01_inspect.html" in index and "summary.json" in index and "FAILED" not in index
    assert 'href="03_memory_gpu.png"' in index and (run_dir / "03_memory_gpu.png").read_bytes()[:4] == b"\x89PNG"
    assert "report: " in output and "01_inspect" in output
    assert "answer for model_last.safetensors" in output and "runs on the GPU?" in output  # the card, in the terminal


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
    from f5lab.compat.diagnose import diagnose
    from f5lab.compat.matrix import compatibility_matrix
    from f5lab.compat.verify import verify
    from f5lab.compat.remap import plan_remap

    first, _, _ = runs
    got = numbers(first.summary, "02_compatibility")
    cat = tiny_catalogue()
    assert got["diagnosis.codes"] == diagnose(tiny, catalogue=cat).codes()  # no --config: none named
    assert got["diagnosis.codes"] == ["ambiguous_config", "loads"] and got["diagnosis.ok"] is True
    matrix = {r.config: r.status for r in compatibility_matrix(tiny, catalogue=cat)}
    assert {k.split(".", 1)[1]: v for k, v in got.items() if k.startswith("matrix.")} == matrix
    assert matrix["E2TTS_Base"] == "cannot" and matrix["F5TTS_Base"] == "loads"
    # F5TTS_Base loads the file as stored: no remapped copy is written (a remap would change nothing)
    assert got["remap.target"] == "F5TTS_Base" and got["remap.needed"] is False
    assert not list(first.run_dir.glob("*.safetensors")) and "verify.ok" not in got
    assert plan_remap(tiny, "F5TTS_Base", catalogue=cat).changes == ["strip wrapper prefix(es) 'ema_model.'"]
    assert verify  # the remap-and-verify path is covered in tests/test_answer.py (a "_orig_mod." checkpoint)
    assert "keys.E2TTS_Base.size_mismatches" not in got  # compared with E2TTS_Base only when it is named


def test_summary_memory_numbers_equal_the_library_calls(runs, tiny):
    from f5lab.hardware.memory import estimate, sweep, verdicts

    first, _, _ = runs
    got = numbers(first.summary, "03_memory")
    spec = inspect_checkpoint(tiny).spec
    est = estimate(spec, 2.0, dtype="fp32", device="cpu", nfe=2, vocoder="none")
    # the verdicts are for the user's call: the text's length beside the reference clip, at the report's NFE
    call = dict(ref_seconds=got["call.ref_seconds"], nfe=got["call.nfe"], batch=got["call.batch"])
    seconds = got["call.seconds"]
    assert call["nfe"] == CHEAP["nfe"] and 0 < seconds < 3 and 4 < call["ref_seconds"] < 6
    assert got["estimate.total_bytes"] == est.total_bytes
    assert got["estimate.activation_bytes"] == est.activation_bytes
    assert got["measured.measured_weights_bytes"] == got["measured.estimated_weights_bytes"]
    for v in verdicts(spec, seconds=seconds, dtype="auto", **call):
        assert got[f"gpus.{v.gpu.name}.total_bytes"] == v.total_bytes
        assert got[f"gpus.{v.gpu.name}.fits"] == v.fits
    focus = verdicts(spec, seconds=seconds, dtype="fp32", gpus=["GTX 1050 Ti"], **call)[0]
    assert got["focus.fp32.max_seconds"] == focus.max_seconds
    assert sweep  # the figure's data: the card's own attention path and math, from the verdicts' settings
    from f5lab.hardware.memory import gpu_curve

    curve = gpu_curve(spec, "GTX 1050 Ti", dtype="fp16", **call)
    assert got["curve.fp16.efficient.bytes"] == curve["bytes"]
    assert got["curve.fp32.efficient.max_seconds"] == got["focus.fp32.max_seconds"] == focus.max_seconds
    units = first.summary["notebooks"]["03_memory"]["numbers"]
    assert units["estimate.total_bytes"]["unit"] == "bytes"


def test_summary_synthesis_numbers_equal_the_library_calls(runs, tiny):
    from f5lab.compat.loading import load_model
    from f5lab.speech.probe import probe
    from f5lab.reporting.reports import DEMO_REF_TEXT, f5tts_example_audio
    from f5lab.speech.synth import synthesize

    first, _, _ = runs
    got = numbers(first.summary, "04_synthesis")
    cat = tiny_catalogue()
    # random weights cannot speak (f5lab.model.readiness, before any synthesis): one clip, labelled noise;
    # the report renders one config (f5lab.reporting.plan); `--full-grid` renders both
    assert got["grid.candidates"] == ["F5TTS_Base"] and got["grid.size"] == 1
    ref = f5tts_example_audio()
    model = load_model(tiny, config="F5TTS_Base", dtype="fp32", catalogue=cat)
    r = synthesize(model, ref, DEMO_REF_TEXT, CHEAP["gen_text"], nfe=2, seed=0)
    key = "quality.F5TTS_Base.fp32.nfe2"
    assert got[f"{key}.seconds"] == pytest.approx(r.record["metrics"]["seconds"], abs=1e-3)
    # shown at 3 decimals (2 for dB): what stays stable across CPU kernels
    assert got[f"{key}.peak"] == pytest.approx(r.record["metrics"]["peak"], abs=2e-3)
    assert got[f"{key}.RMS dBFS"] == pytest.approx(r.record["metrics"]["rms_dbfs"], abs=0.02)
    assert 0.0 <= got[f"{key}.WER %"] <= 100.0 and isinstance(got[f"{key}.heard"], str)
    assert got[f"{key}.mel L1 vs top NFE"] is None  # NFE 2 is the top of this grid: nothing else to compare
    pr = probe(tiny, ref, DEMO_REF_TEXT, seed=0, n_samples=4, catalogue=cat)
    assert pr.tie and got["probe.best"] is None  # under the bar: a tie names no best
    assert got["probe.loss_mean.F5TTS_Base"] == pytest.approx(
        next(c.loss_mean for c in pr.ranking if c.config == "F5TTS_Base"), abs=2e-3)
    index = (first.run_dir / "index.html").read_text()
    assert "probe:" in index and "GTX 1050 Ti" in index
    assert list((first.run_dir / "04_synthesis_audio").rglob("*.wav"))


def test_the_answer_comes_first_and_agrees_with_the_notebooks(runs, tiny):
    from f5lab.hardware.memory import verdicts

    first, _, _ = runs
    answer = first.summary["answer"]
    assert list(first.summary)[:2] == ["schema", "answer"]
    assert answer["checkpoint"] == tiny.name and answer["config_asked"] is None  # no --config: none named
    assert answer["is"].startswith("DiT, dim 64, depth 2") and "F5TTS_Base, F5TTS_v1_Base" in answer["is"]
    assert answer["loads"]["loads_as_asked"] is None and answer["loads"]["ok"] is True
    assert answer["loads"]["loads"] == ["F5TTS_Base", "F5TTS_v1_Base"]
    loads = next(line for line in answer["lines"] if line["label"] == "loads?")
    assert loads["text"] == "loads as stored under F5TTS_Base, F5TTS_v1_Base" and loads["ok"] is True
    assert answer["fix"].startswith(f"f5lab.load_model({str(tiny)!r}, config='F5TTS_Base'")
    assert "# loads as stored" in answer["fix"] and "not E2TTS_Base" not in answer["fix"]
    import f5lab  # runnable as printed: the line is Python after `import f5lab`

    model = eval(answer["fix"].split("  #")[0], {"f5lab": f5lab})
    assert type(model).__name__ == "CFM" and not model.training
    run = answer["runs"]  # kernels AND memory: f5lab.hardware.runs.judge, memory kept under "fits"
    seconds, call = run["settings"]["seconds"], {k: run["settings"][k] for k in ("ref_seconds", "nfe", "batch")}
    v = verdicts(inspect_checkpoint(tiny).spec, seconds=seconds, dtype="auto", gpus=["GTX 1050 Ti"], **call)[0]
    assert run["fits"] == {"gpu": "GTX 1050 Ti", "dtype": "fp32", "attn": "efficient", "seconds": seconds,
                           "fits": True, "needs_bytes": v.total_bytes, "budget_bytes": v.budget_bytes,
                           "max_seconds": v.max_seconds, "limited_by": "f5-tts's 8192-frame cap"}
    from f5lab.hardware.runs import judge
    from f5lab.hardware.stack import installed_build

    want = judge(inspect_checkpoint(tiny).spec, "GTX 1050 Ti", installed_build(), seconds=seconds, **call)
    assert run["runs"] is want.runs and run["torch"] == installed_build().label and run["seconds_per_call"] > 0
    if installed_build().label == "2.11.0+cu130":  # this repository's install: no sm_61 kernels, and the fix
        assert run["runs"] is False and run["kernels"] is False
        assert run["fix"] == ("pip install torch==2.11.0 torchaudio==2.11.0 --index-url "
                              "https://download.pytorch.org/whl/cu126")
    assert answer["probe"]["bar_pct"] == 5.0 and answer["probe"]["best"] is None  # random weights: no verdict
    from f5lab.model.readiness import NOISE

    assert answer["weights"]["can_speak"] is False and answer["weights"]["why"].startswith(NOISE)
    assert set(answer["weights"]) == {"can_speak", "why"}
    _, _, output = runs  # the CLI says it before any notebook runs
    said = output.index("weights: " + NOISE)
    assert said < output.index("04_synthesis")
    verdicts_04 = first.summary["notebooks"]["04_synthesis"]["verdicts"]
    assert [v["ok"] for v in verdicts_04 if v["key"] in ("synthesis", "probe")] == [None, None]  # no tick on noise
    assert any("vocoder" in u for u in answer["undecided"])
    labels = [line["label"] for line in answer["lines"]]
    assert labels == ["what it is", "can it speak?", "loads?", "fix", "in f5-tts alone", "runs on the GPU?",
                      "which config (lineage)", "which config (probe)", "synthesis", "full grid",
                      "still undecided"]  # what the plan cut
    assert answer["lineage"]["decided"] is False  # no base of this tiny architecture at hand: the probe decides
    assert any("F5TTS_v1_Base" in u for u in answer["undecided"])
    index = (first.run_dir / "index.html").read_text()
    card, table = index.index('class="f5card"'), index.index("<th>ran</th><th>checkpoint verdicts</th>")
    assert card < table  # the answer first; "ran" and the checkpoint's verdicts are separate columns
    assert "config tried: none named" in index and "target GPU: <b>GTX 1050 Ti</b>" in index
    assert ("has no kernels for sm_61" if answer["runs"]["kernels"] is False else "limited by f5-tts&#x27;s "
            "8192-frame cap") in index
    assert "does not load" not in index and "E2TTS_Base" not in index[:index.index("<th>ran</th>")]  # no failure story
    assert 'name="viewport"' in index and "@media (max-width:40em)" in index  # readable at phone width


def front_matter(text: str) -> dict:
    import yaml

    assert text.startswith("---\n")
    return yaml.safe_load(text[4:text.index("\n---\n", 4)])


def test_model_card_is_the_answer_in_the_hugging_face_format(runs, tiny):
    from f5lab.files.vocab import default_vocab_path, read_vocab

    first, second, _ = runs
    text = (first.run_dir / "MODEL_CARD.md").read_text()
    head = front_matter(text)
    assert {"language", "library_name", "base_config", "base_config_evidence", "vocab_size", "vocab_sha256",
            "license", "tags"} <= set(head)
    assert head["language"] == ["en"] and head["library_name"] == "f5-tts" and head["license"] is None
    assert head["vocab_size"] == len(read_vocab(default_vocab_path())) == 2545
    assert head["vocab_sha256"] == file_sha256(default_vocab_path())
    assert {"text-to-speech", "f5-tts", "dit"} <= set(head["tags"])
    answer = first.summary["answer"]
    assert head["base_config"] is None and head["base_config_evidence"] == answer["base_config"]["evidence"]
    assert head["base_config_evidence"].startswith("undecided between F5TTS_Base and F5TTS_v1_Base")
    assert "under its 5% bar" in head["base_config_evidence"] and "/" not in head["base_config_evidence"]
    assert "license:  # fill in" in text  # left for the user, saying what goes there
    assert "```python\n" in text and "load_model(" in text  # the card's snippet, naming files, not paths
    assert str(tiny.parent) not in text and f"'{tiny.name}'" in text
    assert "- **memory on GTX 1050 Ti**:" in text  # predicted, and said so; not the reporting machine's torch
    import re

    if (answer.get("weights") or {}).get("can_speak", True):
        (link,) = re.findall(r"\]\((04_synthesis_audio/[^)]+\.wav)\)", text)
        assert (first.run_dir / link).is_file() and not Path(link).is_absolute()
    else:  # random weights cannot speak: no sample, and the card says why
        assert "No sample: these weights cannot speak" in text and ".wav)" not in text
    assert front_matter((second / "MODEL_CARD.md").read_text()) == head  # the CLI's run, other CPU kernels: the same


def test_the_card_names_the_config_that_decided_with_its_evidence():
    from f5lab.reporting.decide import card_config

    fits = {"fits": ["F5TTS_Base", "F5TTS_v1_Base"], "loads": {"loads": ["F5TTS_Base", "F5TTS_v1_Base"],
                                                              "after_remap": [], "target": "F5TTS_Base"}}
    lin = {"decided": True, "config": "F5TTS_Base", "base": "F5TTS_Base model_1200000", "distance": 0.0123,
           "next_distance": 1.41, "margin": 0.99}
    assert card_config({**fits, "lineage": lin}) == {
        "config": "F5TTS_Base", "how": "lineage", "distance": 0.0123, "margin": 0.99,
        "evidence": "lineage: descends from F5TTS_Base model_1200000, relative distance 0.0123 (next base: 1.41)"}
    probe = {"decided": True, "best": "F5TTS_v1_Base", "runner_up": "F5TTS_Base", "margin_pct": 64.4, "bar_pct": 5.0}
    got = card_config({**fits, "lineage": {"decided": False}, "probe": probe})
    assert got["config"] == "F5TTS_v1_Base" and got["how"] == "probe" and got["margin_pct"] == 64.4
    assert got["evidence"] == "behavioural probe: 64.4% lower loss than F5TTS_Base (bar 5%)"
    below = {**probe, "decided": False, "margin_pct": 1.2}
    assert card_config({**fits, "probe": below})["config"] is None  # never the probe's best under its bar
    assert card_config({**fits, "probe": below}, demo=True)["how"] == "demo"
    named = card_config({**fits, "config_asked": "/my/configs/mine.yaml", "loads": {**fits["loads"],
                                                                                     "loads_as_asked": True}})
    assert named == {"config": "mine.yaml", "how": "named", "evidence": "named by the user (--config)"}
    assert card_config({"fits": ["E2TTS_Base"]})["how"] == "only fit"


def test_a_named_config_gets_the_failure_story_and_only_the_demo_names_one_itself(tiny, tmp_path):
    """--config E2TTS_Base: "does not load under E2TTS_Base", why, and that no remap helps; the
    built-in demo names E2TTS_Base itself (the motivating service's), a user's checkpoint does not."""
    from f5lab.reporting.reports import DEMO_CONFIG, asked_config

    assert asked_config(None, demo=True) == DEMO_CONFIG == "E2TTS_Base"
    assert asked_config(None, demo=False) is None and asked_config("F5TTS_Base", demo=True) == "F5TTS_Base"
    report = run_report(tiny, config="E2TTS_Base", out=tmp_path, run_id="named", notebooks=["02_compatibility"],
                        progress=False)
    assert report.ok, report.failed
    answer = report.summary["answer"]
    assert answer["config_asked"] == "E2TTS_Base" and answer["loads"]["loads_as_asked"] is False
    loads = next(line for line in answer["lines"] if line["label"] == "loads?")
    assert loads["ok"] is False and loads["text"].startswith("does not load under E2TTS_Base: the checkpoint is DiT")
    assert "no remap into E2TTS_Base can fix that. Loads as stored under F5TTS_Base, F5TTS_v1_Base" in loads["text"]
    assert "# not E2TTS_Base" in answer["fix"]
    got = numbers(report.summary, "02_compatibility")
    assert "backbone_mismatch" in got["diagnosis.codes"] and got["diagnosis.ok"] is False
    assert got["keys.E2TTS_Base.size_mismatches"] == 2  # input_embed.proj and text_embed, as in the seed
    index = (report.run_dir / "index.html").read_text()
    assert "config tried: <code>E2TTS_Base</code>" in index
    assert "Cannot be fixed by remapping" not in index  # said once, naming what it refers to:
    assert "no remap into E2TTS_Base can fix that" in index


def test_pages_are_titled_and_report_html_is_self_contained(runs, tiny):
    import re

    first, _, _ = runs
    run_dir = first.run_dir
    for name in NOTEBOOKS:
        page = (run_dir / f"{name}.html").read_text()
        assert re.search(rf"<title>{name}: [^<]+ · {re.escape(tiny.name)}</title>", page), name
        assert "gpuGetDeviceCount" not in page and "Styler at 0x" not in page
        executed = nbformat.read(run_dir / f"{name}.ipynb", as_version=4)
        assert not [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
                    if o.get("name") == "stderr"], name  # a healthy CPU run prints no ERROR line
    report = (run_dir / "report.html").read_text()
    assert not re.search(r'<(script|img|audio|source|link)[^>]*(src|href)="(https?:)?//', report)
    assert report.count("data:audio/wav;base64,") >= 1 and report.count("data:image/png;base64,") >= 3
    assert report.index('class="f5card"') < report.index("01 · What is this checkpoint?")
    assert "notebook_setup(" not in report  # outputs only: code hidden


def test_every_rendering_names_its_checkpoint_and_config(runs, tiny):
    first, _, _ = runs
    records = sorted((first.run_dir / "04_synthesis_audio").rglob("*.json"))
    assert records
    for path in records:
        model = json.loads(path.read_text())["model"]
        assert model["path"] == str(tiny) and model["config"] in ("F5TTS_Base", "F5TTS_v1_Base")
        assert model["config"] in path.parent.name


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


# -- no GPU named ------------------------------------------------------------------------------------------
def test_the_report_gpu_is_the_one_named_the_demos_or_this_machines():
    import torch

    from f5lab.hardware.gpus import find_gpu
    from f5lab.reporting.reports import DEMO_GPU, report_gpu

    assert report_gpu(None, demo=True) == DEMO_GPU == "GTX 1050 Ti"
    assert report_gpu("T4", demo=False) == "T4" and report_gpu("T4", demo=True) == "T4"
    here = find_gpu(torch.cuda.get_device_name(0)) if torch.cuda.is_available() else None
    assert report_gpu(None, demo=False) == (here.name if here else None)


def test_memory_without_a_gpu_judges_every_card_and_names_no_target(tiny, capsys):
    """03_memory's helpers with ``gpu = None``: every card still judged and recorded, no GPU verdict,
    answer, curves or knobs, and one line saying why."""
    from f5lab.hardware.memory import verdicts
    from f5lab.reporting import nbviews as view

    side = Sidecar(None, "03_memory")
    spec = inspect_checkpoint(tiny).spec
    m = view.memory_result(side, spec, None, 10.0, ["fp32", "fp16"], "2.11.0")
    assert capsys.readouterr().out.count("no GPU named (--gpu)") == 1
    assert "gpu" not in [v["key"] for v in side.data["verdicts"]] and "runs" not in side.data.get("answer", {})
    got = {k: v["value"] for k, v in side.data["numbers"].items()}
    for v in verdicts(spec, seconds=10.0, dtype="auto"):
        assert got[f"gpus.{v.gpu.name}.total_bytes"] == v.total_bytes
    assert not [k for k in got if k.startswith(("focus.", "curve.", "knobs."))]
    assert view.curves_figure(side, m) is None and view.knob_table(m) is None
    assert len(view.gpu_table(m, None).rows) == len(m.runs) and m.default is None


def test_a_report_given_no_gpu_passes_none_through_to_the_memory_notebook(tiny, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: a report given none judges that one")
    report = run_report(tiny, gpu=None, out=tmp_path, run_id="nogpu", notebooks=["03_memory"], asr=None,
                        progress=False)
    assert report.ok, report.failed
    assert report.manifest["parameters"]["gpu"] is None and report.summary["answer"]["gpu"] is None
    assert "runs" not in report.summary["answer"]
    assert "runs on the GPU?" not in [line["label"] for line in report.summary["answer"]["lines"]]
    assert [v["key"] for v in report.summary["notebooks"]["03_memory"]["verdicts"]] == ["estimate"]
    executed = (report.run_dir / "03_memory.ipynb").read_text()
    assert executed.count("no GPU named (--gpu)") == 1
    assert "target GPU: none named (--gpu)" in (report.run_dir / "index.html").read_text()
    assert "Predicted, not measured:\n\n- nothing (no GPU named)" in (report.run_dir / "MODEL_CARD.md").read_text()

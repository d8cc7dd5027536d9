"""``f5lab sweep`` on a tiny training run that really learned (f5lab.synthetic.training_run).

Real Dask clusters (a LocalCluster, and a scheduler + worker started here as separate
processes on 127.0.0.1), real papermill kernels, real checkpoints: the runs are shared
(module scope) and every assertion reads the files they left.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from f5lab.cli.commands import main
from f5lab.reporting.sweep import run_sweep
from f5lab.reporting.sweepdask import connect
from f5lab.reporting.sweepspec import SweepError, load_sweep_file, make_points, make_spec
from tests._forkrun import as_in_a_terminal

VENV_BIN = Path(sys.executable).parent
UNNAMED = ["--configs", "tiny", "--nfe", "2", "--asr", "none", "--text", "Hi there."]
COMMON = ["--config", "F5TTS_v1_Base", *UNNAMED]


def without_timings(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("timings", "best_timings")}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from f5lab.synthetic.training_run import build_training_run

    return build_training_run(tmp_path_factory.mktemp("train") / "my_finetune")


def val_args(run) -> list[str]:
    return ["--val-audio", str(run.held_out), "--val-text", run.held_out_text]


@pytest.fixture(scope="module")
def swept(run, tmp_path_factory):
    """The issue's command: the run's folder, 2 local workers; 01_inspect shared by the 3 checkpoints.
    No --config: the run's shapes fit F5TTS_Base and F5TTS_v1_Base, so the sweep decides one for all."""
    out = tmp_path_factory.mktemp("sweeps")
    args = ["sweep", str(run.folder), *UNNAMED, "--asr", "pocketsphinx", *val_args(run), "--workers", "2", "--out", str(out),
            "--notebook", "sweep_point", "--notebook", "01_inspect"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (sweep_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return sweep_dir, result.output, args


def test_training_run_is_in_trainer_layout_with_a_real_trend(run):
    from f5lab.files.checkpoint import open_checkpoint

    assert sorted(run.checkpoints) == [10, 20, 40]
    assert sorted(p.name for p in run.folder.iterdir()) == ["model_10.pt", "model_20.pt", "model_last.pt"]
    layout = open_checkpoint(run.last).layout()
    assert layout["step"] == 40 and layout["step_key"] == "update"
    assert layout["optimizer"] and layout["scheduler"] and "ema_model_state_dict" in layout["state_dicts"]
    assert sum(run.losses[-10:]) < sum(run.losses[:10])  # training loss fell


def test_sweep_names_the_best_checkpoint_with_numbers_the_library_reproduces(swept, run):
    from f5lab.model.arch import tiny_catalogue
    from f5lab.compat.loading import load_model
    from f5lab.speech.probe import validation_loss

    sweep_dir, output, _ = swept
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["ok"] and summary["failed"] == [] and summary["missing"] == []
    assert list(summary["points"]) == ["model_10", "model_20", "model_last"]
    steps = [p["settings"]["step"] for p in summary["points"].values()]
    loss = {pid: p["numbers"]["val_loss"]["value"] for pid, p in summary["points"].items()}
    assert steps == [10, 20, 40]
    assert loss["model_last"] < loss["model_10"]  # the run learned: held-out loss fell with training
    best = summary["best"]["val_loss"]
    assert best["point"] == "model_last" and best["checkpoint"] == "model_last.pt" and best["step"] == 40
    assert best["value"] == loss["model_last"] and best["unit"] == "flow-matching loss"
    model = load_model(run.last, config="F5TTS_v1_Base", dtype="fp32", catalogue=tiny_catalogue())
    direct = validation_loss(model, [(str(run.held_out), run.held_out_text)], n_samples=4, seed=0)
    assert abs(direct["loss_mean"] - loss["model_last"]) < 1e-4
    for p in summary["points"].values():
        assert p["numbers"]["peak_memory_bytes"]["unit"] == "bytes" and p["numbers"]["peak_memory_bytes"]["value"] > 0
        assert 0.0 < p["numbers"]["speaker_similarity"]["value"] <= 1.0
        assert p["numbers"]["wer"]["unit"] == "%" and 0.0 <= p["numbers"]["wer"]["value"]  # offline ASR, in %
        assert p["numbers"]["val_source"]["value"] == "held-out clips"
        assert p["settings"]["checkpoint_sha256"] and len(p["settings"]["checkpoint_sha256"]) == 64
    assert "best held-out loss" in output and "model_last" in output
    assert all("rtf" in t["sweep_point"] for t in summary["timings"].values())  # timings apart


def test_sweep_runs_shape_only_notebooks_once_and_writes_its_parts(swept):
    sweep_dir, _, _ = swept
    shared = [p for p in (sweep_dir / "_shared").iterdir()]
    assert len(shared) == 1 and shared[0].name.startswith("01_inspect-")
    marker = json.loads((shared[0] / "done.json").read_text())
    assert marker["status"] == "ok" and marker["points"] == ["model_10", "model_20", "model_last"]
    for pid in ("model_10", "model_20", "model_last"):
        assert sorted(p.name for p in (sweep_dir / pid).iterdir()) == [
            "done.json", "mel.npy", "mel.png", "render.wav", "sweep_point.html", "sweep_point.ipynb", "sweep_point.json"]
    index = (sweep_dir / "index.html").read_text()
    assert "model_last" in index and "held-out loss" in index and "05_sweep.html" in index
    assert (sweep_dir / "05_sweep.html").exists() and (sweep_dir / "05_sweep_vs_step.png").exists()


def test_rerunning_the_same_sweep_skips_every_point_and_keeps_the_summary(swept):
    sweep_dir, _, args = swept
    before = json.loads((sweep_dir / "summary.json").read_text())
    result = CliRunner().invoke(main, args + ["--no-compare"])
    assert result.exit_code == 0, result.output
    assert "4 already done, 0 to run" in result.output
    assert json.loads((sweep_dir / "summary.json").read_text()) == before


# -- one config per sweep, and what a listener needs -----------------------------------------------------
def test_every_point_runs_under_the_one_config_the_probe_decided_above_its_bar(swept):
    sweep_dir, output, _ = swept
    summary = json.loads((sweep_dir / "summary.json").read_text())
    (decision,) = summary["config"]
    assert decision["config"] == "F5TTS_v1_Base" and decision["how"] == "probe"  # the run trained under v1
    assert decision["checkpoints"] == ["model_10.pt", "model_20.pt", "model_last.pt"]
    ev = decision["evidence"]
    assert ev["checkpoint"] == "model_last.pt" and ev["runner_up"] == "F5TTS_Base" and ev["bar_pct"] == 5.0
    assert ev["margin_pct"] >= ev["bar_pct"] and ev["wins"] >= 6 and ev["samples"] == 8
    assert f"{ev['margin_pct']:g}% lower loss than F5TTS_Base (bar 5%)" in decision["text"]
    assert {p["settings"]["config"] for p in summary["points"].values()} == {"F5TTS_v1_Base"}
    assert {p["numbers"]["config_reason"]["value"] for p in summary["points"].values()} == {decision["text"]}
    plan = json.loads((sweep_dir / "sweep.json").read_text())
    assert plan["config_decision"]["decisions"][0]["probe"]["margin_pct"] == ev["margin_pct"]
    assert {p["config"] for p in plan["points"]} == {"F5TTS_v1_Base"}
    assert f"config: {decision['text']}" in output
    index = (sweep_dir / "index.html").read_text()
    assert "decided by the behavioural probe" in index and f"{ev['margin_pct']:g}% lower loss" in index
    heads = re.findall(r'<th class="sort">([^<]*)</th>', index)
    assert heads[:4] == ["point", "checkpoint", "step", "config"]  # the config column, before the numbers
    assert index.count("data-label='config' data-v=\"F5TTS_v1_Base\"") == 3


def test_the_sweep_page_plays_each_point_beside_the_reference_and_its_ab_pair(swept):
    import soundfile as sf

    sweep_dir, _, _ = swept
    summary = json.loads((sweep_dir / "summary.json").read_text())
    for pid, p in summary["points"].items():
        assert p["media"] == {"audio": f"{pid}/render.wav", "mel": f"{pid}/mel.png"}
        info = sf.info(sweep_dir / p["media"]["audio"])  # 16-bit PCM: what every browser plays
        assert info.subtype == "PCM_16" and info.samplerate == 24000 and info.frames > 0
        png = (sweep_dir / p["media"]["mel"]).read_bytes()
        assert png[:4] == b"\x89PNG" and int.from_bytes(png[16:20], "big") == 1000  # 2x: 1000 px shown at 320
    assert summary["ab"] == {"model_10": {"previous": None, "best": "model_last"},
                             "model_20": {"previous": "model_10", "best": "model_last"},
                             "model_last": {"previous": "model_20", "best": None}}
    (ref,) = summary["references"]
    assert ref["audio"] == "_reference/ref1.wav" and ref["mel"] == "_reference/ref1_mel.png"
    assert sf.info(sweep_dir / ref["audio"]).frames > 0 and (sweep_dir / ref["mel"]).is_file()
    index = (sweep_dir / "index.html").read_text()
    links = re.findall(r'(?:src|href)="([^"#]+)"', index)
    assert links and all(not re.match(r"[a-z]+:|/", link) for link in links)  # relative, no external asset
    assert all((sweep_dir / link).exists() for link in links)
    assert set(re.findall(r'<audio controls preload="none" src="([^"]+)"', index)) == {
        "_reference/ref1.wav", "model_10/render.wav", "model_20/render.wav", "model_last/render.wav"}
    row = index[index.index("<tr id='listen-model_20'>"):]
    row = row[:row.index("</tr>")]
    assert re.findall(r'<audio[^>]* src="([^"]+)"', row) == [
        "model_20/render.wav", "model_10/render.wav", "model_last/render.wav"]  # this, previous, best
    assert '<table class="sortable">' in index and "function f5sort" in index and "<script src" not in index
    assert "@media (max-width:40em)" in index and 'name="viewport"' in index


def test_an_undecided_config_is_refused_in_one_line_before_anything_is_written(tmp_path, monkeypatch):
    """Random weights: shapes fit F5TTS_Base and F5TTS_v1_Base, no base at hand, the probe under its bar."""
    from f5lab.synthetic.layouts import build_checkpoint

    for update in (10, 20):
        build_checkpoint(tmp_path / "run" / f"model_{update}.pt", config="F5TTS_Base", layout="trainer_pt", seed=update)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty_hub"))
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "run"), *UNNAMED, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("f5lab: error: model_10.pt and 1 more of the same shapes: "), lines
    assert "the shapes fit F5TTS_Base and F5TTS_v1_Base" in lines[0] and "no base checkpoint at hand" in lines[0]
    assert "probe on model_20.pt: tie between F5TTS_" in lines[0] and "(bar 5%)" in lines[0]
    assert "best" not in lines[0] and "leans" not in lines[0]
    assert lines[0].endswith("name it with --config F5TTS_Base (or --config F5TTS_Base --config F5TTS_v1_Base "
                             "to compare both)")
    assert not (tmp_path / "out").exists()


def test_lineage_decides_the_sweeps_config_where_the_shapes_cannot(tmp_path):
    """A v0 fine-tune: lineage against stand-in bases names F5TTS_Base before any probe is run."""
    from f5lab.reporting import sweepconfig
    from f5lab.reporting.sweepunits import catalogues_of
    from f5lab.synthetic.finetunes import fine_tune, stand_in_bases, write_finetune

    bases = stand_in_bases(tmp_path / "bases")
    write_finetune(fine_tune(bases["F5TTS_Base"], updates=3), tmp_path / "run" / "model_3.pt", "trainer_pt")
    spec = make_spec([tmp_path / "run"], configs="tiny", bases=[str(b) for b in bases.values()])
    decided = sweepconfig.decide_configs(spec, catalogues_of(spec))
    (d,) = decided["decisions"]
    assert d["config"] == "F5TTS_Base" and d["how"] == "lineage" and "probe" not in d
    assert d["lineage"]["base"].startswith("F5TTS_Base") and d["lineage"]["distance"] < d["lineage"]["next_distance"]
    assert d["text"].startswith("F5TTS_Base for every point: lineage of model_3.pt")
    points = make_points(spec)
    reasons = sweepconfig.apply(points, decided)
    assert [p["config"] for p in points] == ["F5TTS_Base"] and list(reasons.values()) == [d["text"]]
    named = make_spec([tmp_path / "run"], configs="tiny", config="F5TTS_v1_Base")
    (n,) = sweepconfig.decide_configs(named, catalogues_of(named))["decisions"]
    assert n["how"] == "named" and n["config"] == "F5TTS_v1_Base"  # named: nothing decided, nothing probed


@pytest.fixture()
def dask_cluster(tmp_path):
    """A scheduler and one worker started as separate processes, loopback only, torn down after."""
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([str(VENV_BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sched_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.5)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen([str(VENV_BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                       "--host", "127.0.0.1", "--no-dashboard"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_same_sweep_on_a_separate_scheduler_records_a_failed_point_and_goes_on(dask_cluster, swept, run, tmp_path):
    sweep_dir, _, _ = swept
    broken = tmp_path / "ckpts" / "broken.pt"
    broken.parent.mkdir()
    broken.write_bytes(run.last.read_bytes()[:4096])  # a truncated download
    spec = make_spec([str(run.last), str(broken)], config="F5TTS_v1_Base", configs="tiny", nfe=2, asr="pocketsphinx",
                     gen_text="Hi there.", val_audio=[str(run.held_out)], val_text=[run.held_out_text])
    result = run_sweep(spec, out=tmp_path / "out", scheduler=dask_cluster, compare=False, progress=False)
    s = result.summary
    assert not result.ok and s["failed"] == ["broken"] and s["missing"] == []
    bad = s["points"]["broken"]
    assert bad["status"] == "failed" and "Traceback" not in (bad["error"] or "") and bad["error"]
    assert "evaluate_point" in bad["traceback"]  # the notebook cell's own traceback, kept
    assert (result.sweep_dir / "broken" / "sweep_point.ipynb").exists()  # the executed copy, with the error
    good = s["points"]["model_last"]
    assert good["status"] == "ok"
    first = json.loads((sweep_dir / "summary.json").read_text())["points"]["model_last"]
    reasons = good["numbers"].pop("config_reason"), first["numbers"].pop("config_reason")
    assert good["numbers"] == first["numbers"]  # the same point on another cluster: the same numbers
    assert "named with --config" in reasons[0]["value"] and "behavioural probe" in reasons[1]["value"]
    assert s["best"]["val_loss"]["point"] == "model_last"
    assert "FAILED" in result.index.read_text()
    with pytest.raises(SweepError, match="--resources GPU=1"):  # GPU points on a cluster without GPUs: refused
        connect(1, dask_cluster, gpu=True)


def test_gpu_points_ask_dask_for_a_gpu(run, tmp_path):
    from f5lab.reporting.runner import notebooks_dir
    from f5lab.reporting.sweepunits import Hasher, plan_units

    spec = make_spec([run.last], config="F5TTS_v1_Base", configs="tiny", device=["cpu", "cuda"])
    units = plan_units(make_points(spec), spec, ["sweep_point"], tmp_path, notebooks_dir(), Hasher(tmp_path / "h.json"))
    assert [(u.id, u.gpu) for u in units] == [("model_last__cpu", False), ("model_last__cuda", True)]
    assert units[0].key != units[1].key
    client, cluster = connect(1, None, gpu=True)  # a local cluster for GPU points: each worker offers one GPU
    try:
        (worker,) = client.scheduler_info()["workers"].values()
        assert worker["resources"] == {"GPU": 1} and worker["nthreads"] == 1
    finally:
        client.close()
        cluster.close()


def test_an_unreachable_scheduler_is_one_line_and_exit_2(run, tmp_path):
    result = CliRunner().invoke(main, ["sweep", str(run.last), *COMMON, "--scheduler", "tcp://127.0.0.1:9",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--scheduler tcp://127.0.0.1:9: cannot connect" in result.output


def test_an_interrupted_sweep_resumes_where_it_stopped(run, tmp_path):
    """Ctrl-C after the first point: exit 130, the finished point intact, the rest marked; the same
    sweep again runs only what is missing. Three points on one worker thread run one after another
    (about 16 s each), and the test looks every 0.2 s: when the first is done two are not, so the
    signal always lands mid-sweep, and a sweep that then exits 0 ignored it."""
    out = tmp_path / "out"
    ckpts = [str(run.folder / "model_10.pt"), str(run.folder / "model_20.pt"), str(run.last)]
    args = [str(VENV_BIN / "f5lab"), "sweep", *ckpts, *COMMON, "--workers", "1", "--no-compare",
            "--out", str(out), "--sweep-id", "resume"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "TQDM_DISABLE": "1"}, preexec_fn=as_in_a_terminal)
    try:
        deadline = time.time() + 300
        done = []
        while not done and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
            done = [p.parent.name for p in out.glob("resume/*/done.json")]
        assert done, "no point finished in time"
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground group
        output = proc.communicate(timeout=120)[0].decode()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, output
    assert "re-run the same command to resume" in output
    marker = json.loads((out / "resume" / done[0] / "done.json").read_text())
    assert marker["status"] == "ok"  # the finished point is intact
    summary = json.loads((out / "resume" / "summary.json").read_text())
    assert summary["missing"] or summary["failed"]  # the interrupted points are marked, not dropped
    finished = {p.parent.name for p in out.glob("resume/*/done.json")}
    assert done[0] in finished and len(finished) < 3
    spec = make_spec(ckpts, config="F5TTS_v1_Base", configs="tiny", nfe=2, asr=None, gen_text="Hi there.")
    again = run_sweep(spec, out=out, sweep_id="resume", workers=1, compare=False, progress=False)
    assert finished <= set(again.skipped) and 1 <= len([u for u in again.ran if not u.startswith("_shared")]) <= 2
    assert again.ok and set(again.summary["points"]) == {"model_10", "model_20", "model_last"}



# -- points and bad input: no kernels ------------------------------------------------------------------------
def test_points_from_a_folder_a_grid_and_a_yaml_file(run, tmp_path):
    spec = make_spec([run.folder], nfe=[8, 16], dtype=["fp32", "fp16"], configs="tiny")
    points = make_points(spec)
    assert [p["id"] for p in points][:4] == ["model_10__nfe8__fp32", "model_10__nfe8__fp16",
                                            "model_10__nfe16__fp32", "model_10__nfe16__fp16"]
    assert len(points) == 12 and points[-1]["id"] == "model_last__nfe16__fp16"
    (tmp_path / "sweep.yaml").write_text(
        f"checkpoints: {run.folder}/model_*.pt\nconfig: F5TTS_v1_Base\nnfe: [4, 8]\nconfigs: tiny\n"
        f"val:\n  - audio: {run.held_out}\n    text: {run.held_out_text}\n")
    from_file = load_sweep_file(tmp_path / "sweep.yaml")
    assert [p.name for p in from_file.checkpoints] == ["model_10.pt", "model_20.pt", "model_last.pt"]
    assert from_file.grid["nfe"] == [4, 8] and from_file.grid["config"] == ["F5TTS_v1_Base"]
    assert from_file.val_clips == [(str(run.held_out), run.held_out_text)]


def test_bad_sweep_input_is_one_line_and_exit_2(run, tmp_path):
    runner = CliRunner()
    cases = [
        (["sweep", str(tmp_path / "nothing")], "no such checkpoint, folder or glob match"),
        (["sweep", str(run.folder), "--ref-audio", str(run.held_out)], "--ref-text"),
        (["sweep", str(run.folder), "--nfe", "0"], "'--nfe': 0 is not in the range 1<=x<=1000"),
        (["sweep", str(run.folder), "--val-audio", str(run.held_out)], "--val-text"),
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    cases.append((["sweep", str(empty)], "no checkpoint files"))
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("checkpoints: x\nnfes: [1]\n")
    cases.append((["sweep", str(bad_yaml)], "unknown key(s) nfes"))
    cases.append((["sweep", str(bad_yaml), "--nfe", "8"], "--nfe: with a sweep file"))
    for args, message in cases:
        result = runner.invoke(main, args + ["--out", str(tmp_path / "out")])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
    with pytest.raises(SweepError):
        make_spec([str(tmp_path / "nothing")])
    assert not (tmp_path / "out").exists()
    shutil.rmtree(empty)


@pytest.mark.parametrize("name,default", [("05_sweep", "sweep_dir = None"), ("sweep_point", "checkpoint = None")])
def test_sweep_notebooks_are_stored_executed_with_cheap_defaults(name, default):
    import nbformat

    nb = nbformat.read(Path(__file__).resolve().parent.parent / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "f5lab"
    code = [c for c in nb.cells if c.cell_type == "code"]
    (params,) = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert default in params.source and "sidecar = None" in params.source
    assert all(c.execution_count for c in code)  # nbval compares outputs of executed cells only
    assert not [o for c in code for o in c.outputs if o.output_type in ("error",) or o.get("name") == "stderr"]


def _point(checkpoint: str, nfe: int, **numbers):
    return {"status": "ok", "settings": {"checkpoint": checkpoint, "step": None, "config": "F5TTS_Base", "nfe": nfe,
                                         "dtype": "fp32", "device": "cpu", "ref": "r.wav", "gen_text": "Hi."},
            "numbers": {k: {"value": v, "unit": None} for k, v in numbers.items()}}


def test_best_points_rank_the_loss_per_checkpoint_and_crown_no_tie_or_total_failure():
    from f5lab.reporting.comparison import best_points, loss_label, points_table, significant

    ref = {"val_source": "reference clip"}
    points = {"a2": _point("a.pt", 2, val_loss=2.0, wer=100.0, mel_l1_vs_best=0.00122, **ref),
              "a4": _point("a.pt", 4, val_loss=2.0, wer=100.0, **ref),
              "b2": _point("b.pt", 2, val_loss=1.5, wer=100.0, mel_l1_vs_best=0.5, **ref),
              "b4": _point("b.pt", 4, val_loss=1.5, wer=100.0, **ref)}
    best, tied = best_points(points)
    assert best["val_loss"]["point"] == "b2" and best["val_loss"]["checkpoint"] == "b.pt"
    assert "val_loss" not in tied  # two checkpoints, two losses: not a tie (the NFE points share theirs)
    assert "wer" not in best and tied["wer"] == {"label": "WER", "unit": "%", "candidates": 4, "values": [100.0]}
    # a closeness to the checkpoint's own top-NFE rendering ranks nothing: named so, never crowned
    assert "mel_l1_vs_best" not in best and "ranks nothing" in tied["mel_l1_vs_best"]["reason"]
    assert tied["mel_l1_vs_best"]["label"] == "mel L1 to its own top-NFE rendering"
    one = {"a2": points["a2"], "a4": points["a4"]}  # one checkpoint, two NFEs: one loss, nothing to rank
    assert best_points(one)[0]["val_loss"]["point"] == "a2" and "val_loss" not in best_points(one)[1]
    assert loss_label(points) == "loss on the reference clip"
    held = {k: {**p, "numbers": {**p["numbers"], "val_source": {"value": "held-out clips"}}} for k, p in points.items()}
    assert loss_label(held) == "held-out loss"
    assert significant(0.00122, 3) == 0.00122 and significant(12.345, 3) == 12.3 and significant(0.0, 3) == 0.0
    summary = {"points": points, "axes": {"checkpoint": ["a.pt", "b.pt"]},
               "units": {"val_loss": {"label": loss_label(points)}}}
    table = points_table(summary)
    assert table.loc["a2", "mel L1 to own top NFE"] == 0.00122 and "loss on the reference clip" in table.columns


def test_peak_memory_ranks_settings_never_checkpoints_of_one_architecture():
    from f5lab.reporting.comparison import best_points, tie_text

    mib = 1 << 20
    points = {"a2": _point("a.pt", 2, peak_memory_bytes=500 * mib),
              "b2": _point("b.pt", 2, peak_memory_bytes=499 * mib),
              "a4": _point("a.pt", 4, peak_memory_bytes=501 * mib)}
    best, tied = best_points(points)
    assert "peak_memory_bytes" not in best  # one architecture, one dtype: equal by construction, noise otherwise
    assert tie_text("peak_memory_bytes", tied["peak_memory_bytes"]).startswith("one architecture at the same dtype")
    half = {**points, "a2h": {**_point("a.pt", 2, peak_memory_bytes=260 * mib),
                              "settings": {**_point("a.pt", 2)["settings"], "dtype": "fp16"}}}
    best, _ = best_points(half)
    assert best["peak_memory_bytes"]["point"] == "a2h"  # fp16 against fp32: a setting that changes it


def test_f5tts_pretrained_copy_is_the_runs_start_not_a_step(tmp_path, make_fixture):
    """f5-tts's finetune_cli copies the base in as pretrained_model_1200000.*: first in training order, no step,
    never model_last's 'previous', never crowned, listed as the run's start."""
    from f5lab.reporting.comparison import _settings, ab_pairs, best_points
    from f5lab.reporting.sweepspec import find_checkpoints, is_pretrained_copy
    from f5lab.synthetic.finetunes import f5tts_run_folder

    base = tmp_path / "hub" / "F5TTS_Base" / "model_1200000.safetensors"
    base.parent.mkdir(parents=True)
    base.write_bytes(make_fixture("F5TTS_Base").path.read_bytes())
    run = f5tts_run_folder(tmp_path / "ckpts" / "my_run", base, updates=(2,))
    assert run["pretrained"].name == "pretrained_model_1200000.safetensors" and is_pretrained_copy(run["pretrained"])
    found = find_checkpoints([tmp_path / "ckpts" / "my_run"])
    assert [p.name for p in found] == ["pretrained_model_1200000.safetensors", "model_2.pt", "model_last.pt"]
    point = {"checkpoint": str(run["pretrained"]), "config": "F5TTS_Base", "nfe": 2, "dtype": "fp32",
             "device": "cpu", "ref": ["r.wav", "Hi."], "gen_text": "Hi."}
    s = _settings(point, {"step": {"value": 1200000}}, {})
    assert s["step"] is None and s["pretrained"] is True  # the base's update does not stretch the run's step axis
    assert _settings({**point, "checkpoint": str(run["model_2"])}, {"step": {"value": 2}}, {})["step"] == 2

    def done(ck: str, loss: float, **extra):
        p = _point(ck, 2, val_loss=loss)
        p["settings"].update(extra)
        return {**p, "media": {"audio": "x.wav"}}

    points = {"pretrained_model_1200000": done("pretrained_model_1200000.safetensors", 0.5, pretrained=True),
              "model_2": done("model_2.pt", 0.9), "model_last": done("model_last.pt", 0.8)}
    best, _ = best_points(points)
    assert best["val_loss"]["point"] == "model_last"  # the base's lower loss is a reference, not the run's best
    ab = ab_pairs(points, best)
    assert ab["model_last"] == {"previous": "model_2", "best": None, "start": "pretrained_model_1200000"}
    assert ab["model_2"]["previous"] is None and ab["pretrained_model_1200000"]["previous"] is None


def test_demo_checkpoint_records_the_update_its_name_says(tmp_path):
    from f5lab.files.checkpoint import open_checkpoint

    for name, update in (("model_5000.pt", 5000), ("model_last.pt", 1200)):
        result = CliRunner().invoke(main, ["demo-checkpoint", str(tmp_path / name), "--layout", "trainer_pt"])
        assert result.exit_code == 0, result.output
        layout = open_checkpoint(tmp_path / name).layout()
        assert layout["step"] == update and layout["step_key"] == "update"

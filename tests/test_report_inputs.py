"""``f5lab report`` on a user's checkpoint that no shipped config builds: it must not fail.

The case (a custom DiT saved by a DDP trainer, no --config) runs the real command in its own process (the kernels' stderr is that process's, so
this is where a stray kernel line would show), from a working directory of its own, and then
holds the run to what a user of that checkpoint needs: every notebook ran and the command
exited 0; the config inferred from the shapes was written into the run folder and every
notebook used it; the answer card says which values were assumed; no file was written outside
the run folder; the terminal carries no kernel warnings; the executed notebooks are trusted, so
JupyterLab plays their audio. About 40 s on 2 quiet CPU cores. An old DiT with the mel buffers,
with its YAML in a read-only folder, is tests/test_configs.py's report case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
from nbformat.sign import NotebookNotary

from f5lab.model.configs import WRITTEN_MARK
from f5lab.synthetic.layouts import CUSTOM_DIT, OLD_DIT, custom_arch_checkpoint


def test_report_on_a_checkpoint_no_shipped_config_builds_runs_every_notebook(tmp_path, files_written):
    (tmp_path / "models").mkdir()
    path = custom_arch_checkpoint(tmp_path / "models" / "custom_dit_trainer_ddp.pt", layout="ddp_pt").path
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    outside = files_written(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "f5lab", "report", str(path), "--out", str(tmp_path / "reports"),
                           "--run-id", "r", "--nfe", "2", "--text", "Hi there.", "--asr", "none"],
                          cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = tmp_path / "reports" / "r"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["ok"] and all(nb["ran"] for nb in summary["notebooks"].values()), summary["failed"]
    assert len(summary["notebooks"]) == 4

    # the config its shapes give, written into the run folder, used by every notebook
    own = run_dir / f"{path.stem}.yaml"
    assert own.read_text().startswith(WRITTEN_MARK)
    params = json.loads((run_dir / "manifest.json").read_text())["parameters"]
    assert params["config"] is None and params["own_config"] == str(own)
    assert params["target"] == str(own) and params["candidates"] == [str(own)]
    records = list((run_dir / "04_synthesis_audio").rglob("*.json"))
    assert records and all(json.loads(r.read_text())["model"]["config"] == str(own) for r in records)
    numbers = summary["notebooks"]["02_compatibility"]["numbers"]
    assert numbers[f"matrix.{own}"]["value"] in ("loads", "loads after remap")

    # the card: no failure story for a config nobody named; what was assumed; nothing decided by fiat
    answer = summary["answer"]
    lines = {line["label"]: line for line in answer["lines"]}
    assert answer["config_asked"] is None and lines["loads?"]["ok"] is True
    assert "does not load" not in lines["loads?"]["text"]
    used = lines["config used"]["text"]
    assert f"f5lab wrote {own.name}" in used and "assumed" in used
    assert "text_mask_padding false, pe_attn_head 1 (the v0 flags of F5TTS_Base" in used
    assert lines["which config (probe)"]["text"].endswith("are assumed, not decided")
    assert "nothing to decide" not in lines["which config (probe)"]["text"]
    assert any("text_mask_padding" in u for u in answer["undecided"])
    assert answer["fix"].startswith(f"f5lab.load_model({str(path)!r}, config={str(own)!r}")
    import yaml

    card = (run_dir / "MODEL_CARD.md").read_text()  # the model card names the config of its own, and says why
    head = yaml.safe_load(card[4:card.index("\n---\n", 4)])
    assert head["base_config"] == own.name and head["base_config_evidence"].startswith("own config: no shipped config")
    assert "assumed" in head["base_config_evidence"] and f"`{own.name}` (published beside this card)" in card

    # every file inside the run folder; a quiet terminal; trusted notebooks
    assert outside(run_dir) == []
    for noise in ("without encryption", "IPKernelApp", "KeyboardInterrupt", "Traceback"):
        assert noise not in proc.stderr, proc.stderr
    notary = NotebookNotary()
    for name in summary["notebooks"]:
        assert notary.check_signature(nbformat.read(run_dir / f"{name}.ipynb", as_version=4)), name


def test_the_custom_fixture_is_what_no_shipped_config_builds():
    """The cases above are the ones meant: shapes no shipped config has (else they would test nothing)."""
    from f5lab.model.arch import shipped_configs

    for arch in (CUSTOM_DIT, OLD_DIT):
        assert all((e.arch["dim"], e.arch["depth"]) != (arch["dim"], arch["depth"]) for e in shipped_configs().values())

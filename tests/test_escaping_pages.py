"""A report and a sweep built from hostile names and texts: no page or file they write holds live markup.

The checkpoint's file name (and so the remapped copy's), a ``--config`` YAML's name, a ``--base``
file name, the ``--vocab`` file name, the run and sweep ids, the reference clip's name (a backtick),
``--ref-text`` and ``--text`` all carry HTML, Markdown links, ``javascript:`` URLs, newlines that would
start a heading, and terminal escape sequences. Every ``.html``, ``.md``, ``.yaml`` and ``.txt`` file
of the run folder and the sweep folder is then walked: no ``on*`` attribute, no ``javascript:`` URL,
no element a payload put there, no control character, and in Markdown no payload line that opens a
block. Real notebooks, real kernels, tiny real checkpoints (shared, module scope).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from f5lab.cli.commands import main
from tests.test_escaping import CONTROL, IMG, live_markdown, live_markup

NAME = "ck`" + IMG + "\x1b]0;pwn\x07\n# head](javascript:alert(1))"  # the checkpoint's stem
REF_TEXT = "Some call me nature ](javascript:alert(1)) <script>alert(1)</script> \x1b]0;pwn\x07"
TEXT = "Hi there.\n# heading\n[x](javascript:alert(1)) " + IMG + " \x1b[2J"
RUN_ID = "r<img src=x onerror=alert(1)>"


def _inputs(root: Path) -> dict[str, Path]:
    """Tiny checkpoints and inputs under hostile names (a trainer layout with a prefix: it needs a remap,
    so the remapped copy's name, derived from the checkpoint's, is shown too)."""
    from f5lab.files.vocab import default_vocab_path
    from f5lab.model.inspection import write_own_config
    from f5lab.reporting.reports import f5tts_example_audio
    from f5lab.synthetic.finetunes import stand_in_bases
    from f5lab.synthetic.layouts import build_checkpoint

    ck = build_checkpoint(root / f"{NAME}.pt", config="F5TTS_Base", layout="compiled_pt", scale="tiny", seed=0).path
    plain = build_checkpoint(root / "plain.safetensors", config="F5TTS_Base", scale="tiny", seed=0).path
    cfg, _ = write_own_config(plain, root / "cfg<svg onload=alert(1)>`\x1b[2J.yaml")
    ref = root / f"ref`{IMG}.wav"
    shutil.copy(f5tts_example_audio(), ref)
    vocab = root / "vocab<b onmouseover=alert(1)>.txt"
    shutil.copy(default_vocab_path(), vocab)
    bases = stand_in_bases(root / "bases")
    other = root / f"base{IMG}\x1b[2J.safetensors"
    shutil.copy(bases["F5TTS_v1_Base"], other)
    return {"checkpoint": ck, "config": cfg, "ref": ref, "vocab": vocab, "base": bases["F5TTS_Base"],
            "other_base": other}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    return root, _inputs(root)


@pytest.fixture(scope="module")
def report(hostile):
    root, x = hostile
    args = ["report", str(x["checkpoint"]), "--config", str(x["config"]), "--ref-audio", str(x["ref"]),
            "--ref-text", REF_TEXT, "--text", TEXT, "--vocab", str(x["vocab"]), "--base", str(x["base"]),
            "--base", str(x["other_base"]), "--nfe", "2", "--gpu", "GTX 1050 Ti", "--asr", "none",
            "--out", str(root / "reports"), "--run-id", RUN_ID]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return root / "reports" / RUN_ID, result.output


@pytest.fixture(scope="module")
def sweep(hostile):
    from f5lab.synthetic.layouts import build_checkpoint

    root, x = hostile
    run = root / f"run{IMG}\x1b[2J"
    run.mkdir()
    build_checkpoint(run / "model_10.pt", config="F5TTS_Base", layout="trainer_pt", scale="tiny", seed=1)
    build_checkpoint(run / f"model_last`{IMG}\x1b]0;pwn\x07\n# head.pt", config="F5TTS_Base", layout="trainer_pt",
                     scale="tiny", seed=2)
    sweep_id = "s<img src=x onerror=alert(1)>"
    args = ["sweep", str(run), "--config", str(x["config"]), "--configs", "tiny", "--nfe", "2", "--asr", "none",
            "--ref-audio", str(x["ref"]), "--ref-text", REF_TEXT, "--text", TEXT, "--loss-samples", "2",
            "--workers", "1", "--out", str(root / "sweeps"), "--sweep-id", sweep_id]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return root / "sweeps" / sweep_id, result.output


def walk(folder: Path) -> dict[str, list[str]]:
    """Every page and text file under ``folder`` with what is live in it ([] when nothing is)."""
    out: dict[str, list[str]] = {}
    for f in sorted(folder.rglob("*")):
        if f.suffix not in (".html", ".md", ".yaml", ".yml", ".txt") or not f.is_file():
            continue
        text = f.read_text(encoding="utf-8")
        if f.suffix == ".html":
            found = live_markup(text)
        elif f.suffix == ".md":
            found = live_markdown(text)
        else:
            found = [f"control {m.group(0)!r}" for m in CONTROL.finditer(text)]
            if f.suffix in (".yaml", ".yml"):
                loaded = yaml.safe_load(text)
                found += [] if isinstance(loaded, dict) and "evil" not in loaded else [f"YAML {loaded!r}"]
        out[str(f.relative_to(folder))] = found
    return out


def test_every_page_of_a_hostile_report_is_inert(report):
    run_dir, output = report
    pages = walk(run_dir)
    for part in ("01_inspect.html", "02_compatibility.html", "03_memory.html", "04_synthesis.html", "report.html",
                 "index.html", "MODEL_CARD.md"):
        assert part in pages, sorted(pages)
    assert {page: found for page, found in pages.items() if found} == {}
    assert not re.search(r"[\x07\x1b]", output)  # the CLI's answer card, in the terminal


def test_the_hostile_strings_are_shown_not_dropped(report):
    """Escaped, the payloads still read as text where they are named: the checkpoint, the remapped copy,
    the config, the texts."""
    run_dir, _ = report
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["answer"]["loads"]["remapped"].startswith(NAME)  # the copy's name comes from the checkpoint's
    index = (run_dir / "index.html").read_text()
    assert "ck`&lt;img src=x onerror=alert(1)&gt;\\x1b]0;pwn\\x07" in index
    page = (run_dir / "02_compatibility.html").read_text()
    assert "cfg&lt;svg onload=alert(1)&gt;`\\x1b[2J.yaml" in page  # the verdict names the YAML, as text
    synth = (run_dir / "04_synthesis.html").read_text()
    assert "ref`&lt;img src=x onerror=alert(1)&gt;.wav" in synth.replace("&#x60;", "`").replace("&#96;", "`")
    card = (run_dir / "MODEL_CARD.md").read_text()
    assert card.splitlines()[card.splitlines().index("---", 1) + 2].startswith("# ck\\`&lt;img")  # one heading line


def test_every_page_of_a_hostile_sweep_is_inert(sweep):
    sweep_dir, output = sweep
    pages = walk(sweep_dir)
    assert "index.html" in pages and "05_sweep.html" in pages
    assert sum(p.endswith("sweep_point.html") for p in pages) == 2, sorted(pages)
    assert {page: found for page, found in pages.items() if found} == {}
    assert not re.search(r"[\x07\x1b]", output)
    index = (sweep_dir / "index.html").read_text()
    links = re.findall(r'(?:src|href)="([^"#]+)"', index)
    assert links and all(not re.match(r"[a-zA-Z][\w+.-]*:|/", link) for link in links)  # relative, no scheme

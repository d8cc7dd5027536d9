"""``MODEL_CARD.md``: the report's answer in the Hugging Face model-card format.

What a user uploading a fine-tune needs, written into every report's run folder from the same facts
as the answer card (``summary.json``'s ``answer``, built by ``reports.build_answer``): YAML front
matter the Hub reads (``language`` as an ISO 639-1 code with the BCP-47 tag beside it,
``library_name: f5-tts``, ``pipeline_tag``, ``base_model`` only when lineage traced the weights to
f5-tts's own release file, the base config with the evidence that decided it
(``decide.card_config``), the vocabulary's size and sha256, ``license`` left for the user, ``tags``),
then a body: what the checkpoint is, the f5-tts-only loading snippet (the card's, verbatim), whether
it runs on the target GPU, and a relative link to a rendering in the run folder.

Written through ``f5lab.outputs`` inside the run folder the report claimed (so a stopped report
leaves no card of a run that did not finish).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD = "MODEL_CARD.md"
HUB_REPOS = {"F5TTS_Base": "SWivid/F5-TTS", "F5TTS_v1_Base": "SWivid/F5-TTS", "F5TTS_Base_bigvgan": "SWivid/F5-TTS",
             "E2TTS_Base": "SWivid/E2-TTS"}  # f5-tts's release folders (bases.OFFICIAL) -> their Hub repos
LICENSE_NOTE = ("fill in: a fine-tune's terms follow its base weights and its data (f5-tts's README: its "
                "pre-trained models are CC-BY-NC, from the Emilia training data)")
AUDIO_DIR = "04_synthesis_audio"  # where 04_synthesis writes its renderings in the run folder


def write_model_card(run_dir: Path, summary: dict[str, Any], manifest: dict[str, Any]) -> Path:
    """``MODEL_CARD.md`` in ``run_dir`` (replaced: the run folder is the report's own)."""
    from f5lab import outputs

    return outputs.write_text(Path(run_dir) / CARD, model_card(Path(run_dir), summary, manifest), force=True)


def model_card(run_dir: Path, summary: dict[str, Any], manifest: dict[str, Any]) -> str:
    """The card's text: front matter, then the body."""
    answer, params = summary.get("answer") or {}, manifest.get("parameters") or {}
    vocab = vocab_facts(params)
    sample = sample_audio(run_dir, (answer.get("base_config") or {}).get("config") or
                          (answer.get("loads") or {}).get("target"))
    return front_matter(answer, params, vocab) + "\n" + body(answer, manifest, vocab, sample)


# -- front matter ------------------------------------------------------------------------------------------
def languages(lang: str | None) -> tuple[list[str], list[str]]:
    """(ISO 639-1 codes, BCP-47 tags): the Hub's ``language`` takes the first, ``language_bcp47`` a region."""
    tag = lang or "en"
    return [tag.split("-")[0].lower()], ([tag] if "-" in tag else [])


def base_model(answer: dict[str, Any]) -> str | None:
    """The Hub repo of f5-tts's release file lineage traced the weights to (not a stand-in): else None."""
    lin = answer.get("lineage") or {}
    if not lin.get("decided") or lin.get("stand_in") or not lin.get("base"):
        return None
    folder, _, stem = str(lin["base"]).partition(" ")
    return HUB_REPOS.get(folder) if stem.startswith("model_") else None


def front_matter(answer: dict[str, Any], params: dict[str, Any], vocab: dict[str, Any]) -> str:
    """The YAML block between ``---`` lines; ``license:`` left empty, with a comment saying what goes there."""
    import yaml

    iso, bcp47 = languages(params.get("lang"))
    base = answer.get("base_config") or {}
    head: dict[str, Any] = {"language": iso}
    if bcp47:
        head["language_bcp47"] = bcp47
    head.update(library_name="f5-tts", pipeline_tag="text-to-speech")
    hub = base_model(answer)
    if hub:
        head["base_model"] = hub
    head.update(base_config=base.get("config"), base_config_evidence=base.get("evidence"),
                vocab_size=vocab.get("tokens"), vocab_sha256=vocab.get("sha256"))
    backbone = str((answer.get("is") or "").split(",")[0]).strip().lower()
    tags = ["text-to-speech", "f5-tts"] + ([backbone] if backbone in ("dit", "unett", "mmdit") else []) + iso + bcp47
    dump = lambda d: yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=1000)  # noqa: E731
    return f"---\n{dump(head)}license:  # {LICENSE_NOTE}\n{dump({'tags': tags})}---\n"


def vocab_facts(params: dict[str, Any]) -> dict[str, Any]:
    """The vocab.txt the report read the checkpoint with (the one given, the config's, else f5-tts's):
    its file name, token count (what f5-tts counts: lines) and sha256."""
    from f5lab.files.vocab import default_vocab_path, read_vocab
    from f5lab.model.inspection import file_sha256

    path = Path(params.get("vocab") or default_vocab_path())
    try:
        return {"file": path.name, "tokens": len(read_vocab(path)), "sha256": file_sha256(path),
                "default": not params.get("vocab")}
    except Exception:  # a card without the vocabulary's facts beats no card
        return {"file": path.name, "tokens": None, "sha256": None, "default": not params.get("vocab")}


# -- body ----------------------------------------------------------------------------------------------------
CARD_LINES = ("what it is", "config used", "loads?", "which config (lineage)", "which config (probe)",
              "still undecided")


def body(answer: dict[str, Any], manifest: dict[str, Any], vocab: dict[str, Any], sample: dict[str, Any] | None) -> str:
    """What it is, the config and why, the loading snippet, the GPU verdict, the sample, the license."""
    params, versions = manifest.get("parameters") or {}, manifest.get("versions") or {}
    name = Path(str((manifest.get("checkpoint") or {}).get("path") or answer.get("checkpoint") or "checkpoint")).name
    lines = {line["label"]: line["text"] for line in answer.get("lines", [])}
    base = answer.get("base_config") or {}
    out = [f"# {name}", "",
           f"An F5-TTS checkpoint, described by `f5lab report` (run `{manifest.get('run_id')}`, f5lab "
           f"{versions.get('f5lab')}, f5-tts {versions.get('f5-tts')}) from the facts of its answer card "
           "(`index.html`, `summary.json`'s `answer`)."
           + (" **The built-in demo: random weights, so its audio is noise.**" if manifest.get("demo") else ""), "",
           "## What it is", ""]
    out += [f"- **{label}**: {lines[label]}" for label in CARD_LINES if label in lines]
    config = base.get("config")
    out.append(f"- **base config**: {f'`{config}`' if config else 'undecided'} ({base.get('evidence') or '-'})")
    if base.get("how") == "own config":
        out.append(f"- **own config**: no config shipped with f5-tts builds it; `{config}` (in this folder) is the "
                   "config f5lab wrote from its shapes, and the snippet below writes its architecture out")
    shown = f"`{vocab['file']}`" + (" (f5-tts's own)" if vocab.get("default") else "")
    out.append(f"- **vocabulary**: {vocab.get('tokens')} tokens, {shown}, sha256 `{vocab.get('sha256')}`")
    ck = manifest.get("checkpoint") or {}
    if ck.get("sha256"):
        out.append(f"- **file**: {ck.get('size_bytes')} bytes, sha256 `{ck['sha256']}`")
    out += ["", "## Load it with f5-tts alone", ""]
    if answer.get("service"):
        out += ["```python", answer["service"].rstrip("\n"), "```", "",
                "The paths are those of the machine the report ran on: point them at the files as published."]
    else:
        out.append(f"No snippet: {lines.get('fix') or 'the compatibility notebook did not run'}.")
    gpu = (answer.get("runs") or {}).get("gpu") or answer.get("gpu")
    ran = {nb.get("name") for nb in manifest.get("notebooks") or []}
    unjudged = "not judged: no GPU named (--gpu)." if "03_memory" in ran else "not judged (03_memory did not run)."
    out += ["", f"## Does it run on {gpu or 'a GPU'}?", "", lines.get("runs on the GPU?") or unjudged]
    out += ["", "## Listen", "", sample_line(sample, params, bool(manifest.get("demo")))]
    out += ["", "## License", "", f"Not filled in: set `license:` in the front matter ({LICENSE_NOTE}).", ""]
    return "\n".join(out)


def sample_line(sample: dict[str, Any] | None, params: dict[str, Any], demo: bool) -> str:
    if sample is None:
        return "No sample: the synthesis notebook did not run (or wrote no rendering)."
    ref = Path(str(params.get("ref_audio") or "")).name
    return (f"[{sample['label']}]({sample['path']}): \"{sample['text']}\", in the voice of the reference clip "
            f"`{ref}`" + (" (random weights: noise by construction)" if demo else "") + ".")


def sample_audio(run_dir: Path, config: str | None) -> dict[str, Any] | None:
    """A rendering 04_synthesis wrote into the run folder: of ``config`` when there is one, fp32 first,
    the largest NFE; its path relative to the run folder, a label and the text it speaks."""
    found = []
    for record in sorted((Path(run_dir) / AUDIO_DIR).glob("*/synth.json")):
        wav = record.with_suffix(".wav")
        try:
            rec = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not wav.is_file():
            continue
        used = str(rec.get("model", {}).get("config") or "")
        s = rec.get("settings", {})
        same = bool(config) and Path(used).name == Path(str(config)).name
        found.append(((same, s.get("dtype") == "fp32", s.get("nfe") or 0), {
            "path": wav.relative_to(run_dir).as_posix(), "text": rec.get("text", {}).get("gen_text_raw", ""),
            "label": f"{Path(used).name or 'rendering'} · {s.get('dtype')} · NFE {s.get('nfe')}"}))
    return max(found, key=lambda f: f[0])[1] if found else None

"""``MODEL_CARD.md``: the report's answer as a Hugging Face model card a user can publish.

Written into every report's run folder from the same facts as the answer card (``summary.json``'s
``answer`` and the notebooks' numbers), in the Hub's model-card layout:

- YAML front matter the Hub reads: ``language`` (ISO 639-1, the BCP-47 tag beside it), ``license``
  (left for the user, with a comment saying what goes there), ``library_name: f5-tts``,
  ``pipeline_tag``, ``tags``, ``base_model`` only when lineage matched the weights' tensors to a
  release (never from a folder or file name), the base config with the evidence that decided it
  (``decide.card_config``), the vocabulary's size and sha256;
- the body: model description, uses (intended and out of scope), how to load it with f5-tts alone
  (the card's snippet, naming the files as published beside the card), the vocoder it needs,
  training details as far as the checkpoint tells (update count, EMA, vocabulary), evaluation
  (what was measured, what was predicted, what was not measured), limitations, a sample only
  when the weights can speak, and the license.

What the card must not carry: an absolute path of the reporting machine (file names only, relative
to the card), anything about the reporting machine's software stack (its torch build, its kernels)
or the user's own failed attempts (a config the checkpoint does not load under). Every user string
(file names, config names, the texts) is escaped for Markdown (``f5lab.escaping``); numbers are
written one way (``_num``: three significant digits, ``%`` without a space).

Written through ``f5lab.outputs`` inside the run folder the report claimed (so a stopped report
leaves no card of a run that did not finish).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

from f5lab import escaping

CARD = "MODEL_CARD.md"
HUB_REPOS = {"F5TTS_Base": "SWivid/F5-TTS", "F5TTS_v1_Base": "SWivid/F5-TTS", "F5TTS_Base_bigvgan": "SWivid/F5-TTS",
             "E2TTS_Base": "SWivid/E2-TTS"}  # f5-tts's release folders (bases.OFFICIAL) -> their Hub repos
LICENSE_NOTE = ("fill in: a fine-tune's terms follow its base weights and its data (f5-tts's README: its "
                "pre-trained models are CC-BY-NC, from the Emilia training data)")
AUDIO_DIR = "04_synthesis_audio"  # where 04_synthesis writes its renderings in the run folder
VOCOS = "charactr/vocos-mel-24khz"

md, code = escaping.markdown, escaping.markdown_code


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
    return front_matter(answer, params, vocab) + "\n" + body(answer, manifest, vocab, sample, summary)


# -- numbers and paths, one way ------------------------------------------------------------------------------
def _num(x: Any) -> str:
    """A number as the card writes every number: at most three significant digits, no trailing zeros
    (0 stays 0, never 0.0)."""
    if x is None:
        return "-"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        return str(x)
    return f"{float(f'{x:.3g}'):g}"


def _pct(x: Any) -> str:
    return "-" if x is None else f"{_num(x)}%"


# an absolute path inside free text: a "/" that starts no URL, no fraction and no relative path
_ABSOLUTE = re.compile(r"(?<![\w.~:/\\-])/(?:[^\s/'\"`]+/)+")


def relative(text: Any, known: Mapping[str, str] | None = None) -> str:
    """``text`` with every absolute path reduced to its file name: first the paths the report was
    given (``known``: path -> name; names with spaces or newlines included), then any other one."""
    out = str(text)
    for path, name in sorted((known or {}).items(), key=lambda kv: -len(kv[0])):
        out = out.replace(path, name)
    return _ABSOLUTE.sub("", out)


def known_paths(params: Mapping[str, Any]) -> dict[str, str]:
    """Every absolute path the report was given or wrote (checkpoint, configs, vocab, reference,
    bases, vocoder, the run folder), mapped to what the card names instead: the file's name."""
    paths = [params.get(k) for k in ("checkpoint", "config", "vocab", "ref_audio", "vocoder", "own_config",
                                     "target", "work_dir")]
    paths += list(params.get("bases") or []) + list(params.get("candidates") or [])
    out = {}
    for p in paths:
        if isinstance(p, str) and os.path.isabs(p):
            out[p] = Path(p).name
    return out


# -- front matter ------------------------------------------------------------------------------------------
def languages(lang: str | None) -> tuple[list[str], list[str]]:
    """(ISO 639-1 codes, BCP-47 tags): the Hub's ``language`` takes the first, ``language_bcp47`` a region."""
    tag = lang or "en"
    return [tag.split("-")[0].lower()], ([tag] if "-" in tag else [])


def lineage_facts(answer: Mapping[str, Any]) -> dict[str, Any]:
    """Lineage's verdict as the summary carries it: the answer's lineage facts over the decision's."""
    evidence = ((answer.get("decision") or {}).get("evidence") or {}).get("lineage") or {}
    return {**evidence, **(answer.get("lineage") or {})}


def base_model(answer: Mapping[str, Any]) -> str | None:
    """The Hub repo of the release lineage matched the weights to by their tensors; else None.

    A base's folder or file name proves nothing (a random stand-in in the official folder has it), so
    only a lineage verdict that says the tensors matched (``base_match == "tensor"``) names one: its
    ``base_model`` when lineage gives the repo, else the repo of the release folder it matched."""
    lin = lineage_facts(answer)
    if lin.get("base_match") != "tensor" or lin.get("stand_in") or not lin.get("decided"):
        return None
    if lin.get("base_model"):
        return str(lin["base_model"])
    folder = str(lin.get("base") or "").partition(" ")[0]
    return HUB_REPOS.get(folder)


def front_matter(answer: dict[str, Any], params: dict[str, Any], vocab: dict[str, Any]) -> str:
    """The YAML block between ``---`` lines; ``license:`` left empty, with a comment saying what goes there."""
    import yaml

    iso, bcp47 = languages(params.get("lang"))
    base = answer.get("base_config") or {}
    known = known_paths(params)
    head: dict[str, Any] = {"language": iso}
    if bcp47:
        head["language_bcp47"] = bcp47
    head.update(library_name="f5-tts", pipeline_tag="text-to-speech")
    hub = base_model(answer)
    if hub:
        head["base_model"] = hub
    config = base.get("config")
    head.update(base_config=escaping.one_line(relative(config, known)) if config else None,
                base_config_evidence=escaping.one_line(relative(base.get("evidence"), known))
                if base.get("evidence") else None,
                vocab_size=vocab.get("tokens"), vocab_sha256=vocab.get("sha256"))
    backbone = str((answer.get("is") or "").split(",")[0]).strip().lower()
    tags = ["text-to-speech", "f5-tts"] + ([backbone] if backbone in ("dit", "unett", "mmdit") else []) + iso + bcp47
    dump = lambda d: yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=1000)  # noqa: E731
    return f"---\n{dump(head)}license:  # {escaping.yaml_comment(LICENSE_NOTE)}\n{dump({'tags': tags})}---\n"


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
def _numbers(summary: Mapping[str, Any], notebook: str) -> dict[str, Any]:
    nb = (summary.get("notebooks") or {}).get(notebook) or {}
    return {k: v.get("value") for k, v in (nb.get("numbers") or {}).items()}


def _verdict(summary: Mapping[str, Any], notebook: str, key: str) -> dict[str, Any] | None:
    nb = (summary.get("notebooks") or {}).get(notebook) or {}
    return next((v for v in nb.get("verdicts") or [] if v.get("key") == key), None)


def _shown_config(config: Any, known: Mapping[str, str]) -> str:
    """A config as the card names it: a shipped name, or a YAML's file name (never its folder)."""
    return code(relative(config, known)) if config else "undecided"


def body(answer: dict[str, Any], manifest: dict[str, Any], vocab: dict[str, Any], sample: dict[str, Any] | None,
         summary: Mapping[str, Any] | None = None) -> str:
    """Model description, uses, loading, vocoder, training, evaluation, limitations, sample, license."""
    summary = summary or {}
    params, versions = manifest.get("parameters") or {}, manifest.get("versions") or {}
    known = known_paths(params)
    name = Path(str((manifest.get("checkpoint") or {}).get("path") or answer.get("checkpoint") or "checkpoint")).name
    base = answer.get("base_config") or {}
    config = base.get("config")
    weights = answer.get("weights") or {}
    can_speak = bool(weights.get("can_speak", True)) and not manifest.get("demo")
    out = [f"# {md(name)}", "",
           f"An F5-TTS text-to-speech checkpoint, described by `f5lab report` (f5lab {code(versions.get('f5lab'))}, "
           f"checked against f5-tts {code(versions.get('f5-tts'))}) from the facts of its answer card."
           + (" **The built-in demo: random weights, so its audio is noise.**" if manifest.get("demo") else ""), ""]
    out += ["## Model description", ""]
    if answer.get("is"):
        out.append(f"- **architecture**: {md(relative(answer['is'], known))}")
    evidence = md(relative(base.get("evidence") or "-", known))
    out.append(f"- **base config**: {_shown_config(config, known)} ({evidence})" if config or not
               str(base.get("evidence") or "").startswith("undecided") else f"- **base config**: {evidence}")
    if base.get("how") == "own config":
        out.append(f"- **own config**: no config shipped with f5-tts builds it; {_shown_config(config, known)} "
                   "(published beside this card) is the config f5lab wrote from its shapes")
    default = " (f5-tts's own)" if vocab.get("default") else ""
    out.append(f"- **vocabulary**: {_num(vocab.get('tokens'))} tokens, {code(vocab.get('file'))}{default}, "
               f"sha256 `{md(vocab.get('sha256'))}`")
    ck = manifest.get("checkpoint") or {}
    if ck.get("sha256"):
        from f5lab.units import human_bytes

        out.append(f"- **file**: {code(name)}, {human_bytes(ck.get('size_bytes') or 0)}, sha256 `{md(ck['sha256'])}`")
    out += ["", "## Uses", "", "### Intended use", "",
            f"Text-to-speech with f5-tts: speech in the voice of a short reference clip (with its transcript), "
            f"in {md(params.get('lang') or 'en')}, the language this report was run in.", "",
            "### Out-of-scope use", "",
            "Speaking in the voice of a person who has not agreed to it, or passing generated speech off as "
            "a recording of a real person.", ""]
    out += loading_section(answer, summary, known, name)
    out += vocoder_section(answer, params, config, known)
    out += training_section(summary, vocab)
    out += evaluation_section(answer, summary, known, can_speak)
    out += limitations_section(answer, summary, known, weights, manifest)
    out += ["## Listen", "", sample_line(sample, params, bool(manifest.get("demo")), weights), ""]
    out += ["## License", "", f"Not filled in: set `license:` in the front matter ({md(LICENSE_NOTE)}).", ""]
    return "\n".join(out)


def loading_section(answer: Mapping[str, Any], summary: Mapping[str, Any], known: Mapping[str, str],
                    name: str) -> list[str]:
    """The f5-tts-only snippet for the config that loads it, naming the files as published."""
    loads = answer.get("loads") or {}
    target = loads.get("target")
    out = ["## How to load it with f5-tts alone", ""]
    service = (_numbers(summary, "02_compatibility").get("service_code") or {}).get(target) if target else None
    if not target or not (service or answer.get("service")):
        return out + ["No snippet: the compatibility notebook did not say which config loads it.", ""]
    remapped = loads.get("remapped")
    how = (f"after a one-time `f5lab remap` into {code(remapped)} (f5-tts's loader refuses the file as stored)"
           if service and service.get("needs_remap") else "as stored")
    out += [f"It loads with f5-tts under {_shown_config(target, known)}, {how}; the snippet names the files as "
            "published beside this card (put their paths there):", "", "```python"]
    if service:
        if service.get("needs_remap") and service.get("remap_command"):
            out += ["# once, first (f5-tts's loader refuses the file as stored):",
                    "#   " + escaping.one_line(relative_command(service["remap_command"]))]
        out.append(relative_code(service.get("code") or "", known).rstrip("\n"))
    else:  # a summary without the notebook's numbers: the answer's snippet, its paths made names
        out.append(relative_code(answer["service"], known).rstrip("\n"))
    return out + ["```", ""]


def relative_command(command: str) -> str:
    """A printed ``f5lab ...`` command with every absolute path argument reduced to its file name."""
    import shlex

    try:
        words = shlex.split(command)
    except ValueError:
        return relative(command)
    return shlex.join(Path(w).name if os.path.isabs(w) else w for w in words)


def relative_code(source: str, known: Mapping[str, str] | None = None) -> str:
    """Python with every string literal that is an absolute path replaced by the file's name, every
    comment's paths reduced to names, and no control character outside a literal."""
    import ast
    import io
    import tokenize

    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.STRING and tok.start[0] == tok.end[0]:
                try:
                    value = ast.literal_eval(tok.string)
                except (ValueError, SyntaxError):
                    continue
                if isinstance(value, str) and os.path.isabs(value):
                    edits.append((tok.start[0], tok.start[1], tok.end[1], repr(Path(value).name)))
            elif tok.type == tokenize.COMMENT:
                edits.append((tok.start[0], tok.start[1], tok.end[1],
                              escaping.one_line(relative(tok.string, known))))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return "\n".join(escaping.one_line(relative(line, known)) for line in source.splitlines())
    for row, start, end, new in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + new + line[end:]
    return "".join(escaping.terminal(line) for line in lines)


def vocoder_section(answer: Mapping[str, Any], params: Mapping[str, Any], config: Any,
                    known: Mapping[str, str]) -> list[str]:
    """Which vocoder turns its mels into audio: what the config says, and that the tensors cannot tell."""
    bigvgan = "bigvgan" in str(config or "").lower()
    needs = ("BigVGAN (`mel_spec_type: bigvgan`)" if bigvgan else
             f"vocos ({VOCOS}, f5-tts's default; `mel_spec_type: vocos`)")
    undecided = any("vocoder" in str(u) for u in answer.get("undecided") or [])
    out = ["## Vocoder", "",
           f"f5-tts turns the model's 100-bin, 24 kHz mel spectrograms into audio with a vocoder: this config "
           f"uses {needs}."]
    if undecided:
        out.append("The checkpoint's tensors cannot tell vocos from BigVGAN (both read the same mel shapes): "
                   "state the one it was trained with.")
    given = params.get("vocoder")
    out.append(f"The report's renderings used {code(Path(str(given)).name)}." if given else
               "The report's renderings used Griffin-Lim (no vocoder given): phasey by construction, not how "
               "the model sounds with its vocoder.")
    return out + [""]


def training_section(summary: Mapping[str, Any], vocab: Mapping[str, Any]) -> list[str]:
    """What the checkpoint itself tells about its training: updates, which weights (EMA or raw), vocab."""
    n = _numbers(summary, "01_inspect")
    lin = _numbers(summary, "02_compatibility")
    out = ["## Training details", "",
           "The training data is not recorded in the checkpoint: describe it here (language, hours, speakers, "
           "licence).", ""]
    step = n.get("step")
    unit = (((summary.get("notebooks") or {}).get("01_inspect") or {}).get("numbers") or {}).get("step", {}).get("unit")
    out.append(f"- **updates**: {_num(step)} ({md(unit or 'step')}, as the file records it)" if step is not None
               else "- **updates**: not recorded in the file")
    source = n.get("source_state_dict")
    if source:
        ema = "ema" in str(source).lower()
        out.append(f"- **weights**: {'the EMA (exponential moving average) weights' if ema else 'the raw training weights'}"
                   f" ({code(source)})")
    if lin.get("lineage.ema_equals_raw") is True:
        out.append("- **EMA**: equal to the raw weights (the EMA had not moved yet)")
    if lin.get("lineage.ema_equals_init") is True:
        out.append("- **EMA**: still equal to its starting weights")
    rows = lin.get("lineage.new_rows")
    extended = f"; {_num(rows)} rows beyond the base's" if rows else ""
    out.append(f"- **vocabulary**: {_num(vocab.get('tokens'))} tokens{extended}")
    return out + [""]


def _predicted_call(runs: Mapping[str, Any]) -> str:
    """The card's GPU time in the words of the report's answer line: the user's own call and the speed
    model's checked error (the same text `profile` and the answer card print)."""
    from f5lab.hardware.speed import describe_seconds, settings_text, speed_model_error

    head = f"predicted {describe_seconds(runs['seconds_per_call'], runs.get('rtf'))}"
    at = f" at {settings_text(runs['settings'])}" if runs.get("settings") else ""
    return f"{head}{at}; speed model error: {speed_model_error('cuda')}"


def evaluation_section(answer: Mapping[str, Any], summary: Mapping[str, Any], known: Mapping[str, str],
                       can_speak: bool) -> list[str]:
    """What the report measured (and on what), what it predicted, and what it did not measure."""
    out = ["## Evaluation", "", "Measured by the report (on the machine it ran on):", ""]
    synth = _verdict(summary, "04_synthesis", "synthesis")
    if synth:
        out.append(f"- **synthesis**: {md(relative(synth['text'], known).removeprefix('synthesis: '))}")
    probe = answer.get("probe") or {}
    if probe and probe.get("margin_pct") is not None:
        verdict = "decided" if probe.get("decided") else "a tie under its bar"
        out.append(f"- **behavioural probe** (flow-matching loss on the reference clip under each config): "
                   f"{_shown_config(probe.get('best'), known)} {_pct(probe.get('margin_pct'))} lower than "
                   f"{_shown_config(probe.get('runner_up'), known)} (bar {_pct(probe.get('bar_pct'))}): {verdict}")
    mem = _numbers(summary, "03_memory")
    err = mem.get("measured.activation_rel_error")
    if err is not None:
        out.append(f"- **memory estimate** against one measured call: activations {_pct(100 * err)} off")
    if len(out) == 4:
        out.append("- nothing (the synthesis and memory notebooks did not run)")
    fits = (answer.get("runs") or {}).get("fits") or {}
    runs = answer.get("runs") or {}
    out += ["", "Predicted, not measured:", ""]
    if fits:
        from f5lab.units import gib

        verdict = "fits" if fits.get("fits") else "does not fit"
        out.append(f"- **memory on {md(fits.get('gpu'))}**: {gib(fits.get('needs_bytes') or 0)} for "
                   f"{_num(fits.get('seconds'))} s of audio per call ({md(fits.get('dtype'))}, "
                   f"{md(fits.get('attn'))} attention) of {gib(fits.get('budget_bytes') or 0)} usable: {verdict}")
    if runs.get("seconds_per_call") is not None:
        out.append(f"- **time per call on {md(runs.get('gpu'))}**: {md(_predicted_call(runs))}, from f5lab's "
                   "speed model, not measured on that card")
    if not fits and runs.get("seconds_per_call") is None:
        out.append("- nothing (no GPU named)")
    out += ["", "Not measured:", "",
            "- how natural or intelligible the speech sounds to listeners (no listening test)"]
    wer = (synth or {}).get("text", "")
    if "word error rate" not in wer:
        out.append("- the word error rate (no ASR ran for this language or setting)")
    if not can_speak:
        out.append("- anything about speech quality: these weights cannot speak (see Limitations)")
    return out + [""]


def limitations_section(answer: Mapping[str, Any], summary: Mapping[str, Any], known: Mapping[str, str],
                        weights: Mapping[str, Any], manifest: Mapping[str, Any]) -> list[str]:
    out = ["## Limitations", ""]
    if manifest.get("demo"):
        out.append("- random weights (the built-in demo): every rendering is noise")
    elif weights.get("can_speak") is False:
        out.append(f"- these weights cannot speak: {md(relative(weights.get('why') or 'untrained or freshly initialised', known))}")
    for item in answer.get("undecided") or []:
        out.append(f"- the tensors cannot decide: {md(relative(item, known))}")
    silent = _numbers(summary, "04_synthesis").get("text.silent_chars")
    if silent:
        out.append(f"- characters its vocabulary lacks are read as silence: {code(silent)}")
    out.append("- it speaks what f5-tts reads: numbers, currency and abbreviations should be written out as words "
               "(or normalised) for its language")
    return out + [""]


def sample_line(sample: dict[str, Any] | None, params: dict[str, Any], demo: bool,
                weights: Mapping[str, Any] | None = None) -> str:
    """The rendering to listen to, or why there is none (the weights cannot speak: no sample)."""
    weights = weights or {}
    if demo:
        return "No sample: the built-in demo's weights are random, so every rendering is noise."
    if weights.get("can_speak", True) is False:
        why = md(relative(weights.get("why") or "untrained or freshly initialised weights", known_paths(params)))
        return f"No sample: these weights cannot speak ({why}); a rendering would be noise."
    if sample is None:
        return "No sample: the synthesis notebook did not run (or wrote no rendering)."
    ref = Path(str(params.get("ref_audio") or "")).name
    return (f"[{md(sample['label'])}]({escaping.url(sample['path'])}): \u201c{md(sample['text'])}\u201d, in the "
            f"voice of the reference clip {code(ref)}.")


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

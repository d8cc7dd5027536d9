"""``f5lab report``: run the notebooks with papermill into ``reports/<run-id>/``.

The report stage of the data flow. It computes nothing itself: each notebook calls f5lab
and writes the numbers it shows to a JSON sidecar (``f5lab.reporting.sidecar``); this module passes
parameters in, exports HTML with nbconvert, gathers the sidecars into ``summary.json``,
writes ``manifest.json`` (what would be needed to reproduce the run) and an ``index.html``
that links the parts and shows the headline verdicts.

A notebook that fails keeps its executed copy (with the error) and its HTML; the others
still run, the index marks it failed, and ``Report.ok`` is False so the command exits 1.
``MODEL_CARD.md`` (``f5lab.reporting.modelcard``) says the same as the answer card in the
Hugging Face model-card format, for a user who uploads the checkpoint.
"""

from __future__ import annotations

import datetime as _dt
from f5lab import escaping
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

from f5lab.errors import ConfigError
from f5lab.reporting.labels import label_lines, label_numbers
from f5lab.reporting.modelcard import write_model_card
from f5lab.facts import DEFAULT_NFE  # for a real checkpoint: f5-tts's own default
from f5lab.reporting.runner import (KERNEL_NAME, NotebookResult, ReportError, ensure_kernel, execute,
                                    notebook_html, notebooks_dir, read_sidecar, select_notebooks, write_json)
from f5lab.reporting.plan import predicted_seconds, predicted_total
from f5lab.units import binary_bytes, duration

SUMMARY_SCHEMA = 1

# the built-in demo: the motivating case, sized to finish in minutes on 2 CPU cores
DEMO_CONFIG = "E2TTS_Base"  # the config the user's service loaded the DiT checkpoint with
DEMO_GPU = "GTX 1050 Ti"
from f5lab.speech.text.analysis import EXAMPLE_REF_TEXT as DEMO_REF_TEXT  # noqa: E402  (f5-tts's example clip's)

DEMO_NFE = (2, 4)  # the demo's NFE axis (f5-tts uses 32): NFE 2 compared with NFE 4, quick on 2 CPU cores
# the demo's extra economies (a full-scale 337 M model on 2 CPU cores): the checkpoint is
# F5TTS_Base by construction (its provenance), so it is remapped to and synthesised with that
# config only; the probe still compares every config the shapes fit, on 2 paired samples;
# the memory measurement runs one ODE step (every step has the same shapes)
DEMO_EXTRA = {"target": "F5TTS_Base", "candidates": ["F5TTS_Base"], "probe_samples": 2, "measure_nfe": 1}


@dataclass
class Report:
    run_dir: Path
    results: list[NotebookResult]
    summary: dict[str, Any]
    manifest: dict[str, Any]
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def index(self) -> Path:
        return self.run_dir / "index.html"


# -- locating inputs -----------------------------------------------------------------------------
def f5tts_example_audio() -> Path:
    """f5-tts's shipped English reference clip (offline; f5-tts is not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("f5_tts")
    if spec is None or not spec.submodule_search_locations:
        raise ReportError("f5-tts is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "infer" / "examples" / "basic" / "basic_ref_en.wav"


def reference_clip(ref_audio: str | os.PathLike | None, ref_text: str | None) -> tuple[Path, str]:
    """The reference a notebook speaks from: the given clip and its transcript, or f5-tts's
    shipped English clip with its text."""
    if ref_audio is None:
        return f5tts_example_audio(), DEMO_REF_TEXT
    if ref_text is None:
        raise ConfigError("ref_text (the transcript of ref_audio) is required with ref_audio")
    return Path(ref_audio), str(ref_text)


def resolve_inputs(checkpoint: str | os.PathLike | None, ref_audio: str | os.PathLike | None,
                   ref_text: str | None) -> tuple[Path, Path, str]:
    """Absolute checkpoint and reference paths (the demo's when not given), checked to exist."""
    if checkpoint is None:
        from f5lab.synthetic.demo import demo_checkpoint

        checkpoint = demo_checkpoint()
    checkpoint = Path(checkpoint).resolve()
    if not checkpoint.exists():
        raise ReportError(f"{checkpoint}: no such checkpoint")
    if (ref_audio is None) != (ref_text is None):
        raise ConfigError("give --ref-audio and --ref-text together")
    if ref_audio is None:
        ref_audio, ref_text = f5tts_example_audio(), DEMO_REF_TEXT
    ref_audio = Path(ref_audio).resolve()
    if not ref_audio.exists():
        raise ReportError(f"{ref_audio}: no such reference audio")
    return checkpoint, ref_audio, str(ref_text)


def config_params(described: Any, config: str | None, vocab: str | None,
                  run_dir: Path | None = None) -> dict[str, Any]:
    """The notebooks' config parameters for ``described`` (a ``Described``, read once): a YAML of
    one's own as an absolute path (the kernels run in the run folder), its ``tokenizer_path`` as the
    vocab, it among the synthesis candidates when it builds the checkpoint, and which config was
    used and from where (``config_source``).

    When neither a shipped config nor the one named builds the checkpoint (a custom DiT), the config
    its shapes give is written into ``run_dir`` (what ``inspect --write-config`` writes) and every
    notebook uses it: the target of 02, the one candidate of 04 (``own_config``, and the values it
    had to assume in ``own_assumed``, for the answer card)."""
    from f5lab.model.arch import compare
    from f5lab.model.configs import resolve_config

    d = described
    out: dict[str, Any] = {}
    entry = resolve_config(config, d.catalogue, d.metadata) if config is not None else None
    if entry is not None:
        out["config_source"] = entry.describe()
    if entry is not None and entry.source == "file":
        out["config"] = entry.path
        if vocab is None and entry.tokenizer_path:
            out["vocab"] = entry.tokenizer_path
        if compare(d.spec, entry).exact:
            out["candidates"] = [entry.path] + d.fits
            return out
    if run_dir is not None and not d.fits:
        out.update(own_config_params(d, run_dir, out.get("vocab", vocab)))
    return out


def own_config_params(described: Any, run_dir: Path, vocab: str | None) -> dict[str, Any]:
    """Write the checkpoint's own config into the run folder; the parameters that make every
    notebook use it."""
    from f5lab.model.configs import load_config_file
    from f5lab.model.inspection import assumed_values, write_own_config

    written, _ = write_own_config(described, run_dir / f"{described.path.stem}.yaml", vocab=vocab)
    own = str(written.resolve())
    tokenizer_path = load_config_file(own).tokenizer_path
    out: dict[str, Any] = {"target": own, "candidates": [own], "own_config": own,
                           "own_assumed": assumed_values(described, vocab)}
    if vocab is None and tokenizer_path:
        out["vocab"] = tokenizer_path
    return out


def asked_config(config: str | None, demo: bool) -> str | None:
    """The config the report diagnoses the checkpoint against: the one the user names; for the
    built-in demo, E2TTS_Base (what the motivating service loaded its DiT with); otherwise none, and
    notebook 02 answers which config loads it instead of telling a failure nobody had."""
    if config is not None:
        return config
    return DEMO_CONFIG if demo else None


def resolve_device(device: str) -> str:
    """``auto``: the CUDA GPU when torch sees one, else the CPU."""
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device {device!r}: unknown; use auto, cpu or cuda")
    if device == "cpu":
        return device
    import torch

    if device == "cuda":
        from f5lab.hardware.devices import check_device

        return check_device(device)
    return "cuda" if torch.cuda.is_available() else "cpu"


def new_run_id() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")


# -- the run -------------------------------------------------------------------------------------
def run_report(checkpoint: str | os.PathLike | None = None, *, config: str | None = None,
               ref_audio: str | os.PathLike | None = None, ref_text: str | None = None,
               gen_text: str | None = None, gpu: str | None = DEMO_GPU, out: str | os.PathLike = "reports",
               run_id: str | None = None, configs: str = "auto", vocab: str | os.PathLike | None = None,
               nfe: int | None = None, seed: int = 0, asr: str | None = "auto", device: str = "cpu",
               notebooks: Sequence[str] | None = None, lang: str = "en", normalize: bool = True,
               vocoder: str | os.PathLike | None = None, asr_model_dir: str | os.PathLike | None = None,
               asr_language: str | None = None, bases: Sequence[str | os.PathLike] | None = None,
               torch_build: str | None = None, budget: float | None = None, full_grid: bool = False,
               progress: bool = True, echo: Callable[[str], None] | None = None,
               dtype: str = "auto", batch: int = 1) -> Report:
    """Run the notebooks on ``checkpoint`` (None: the built-in full-scale demo) into ``out/<run-id>/``.

    ``config`` is the config the checkpoint is diagnosed against (the one a service tried; None:
    which config loads it, ``asked_config``); a checkpoint no shipped config builds gets its own,
    written into the run folder (``config_params``);
    ``ref_audio``/``ref_text`` drive synthesis and the probe; ``gpu`` the GPU verdicts, judged under
    the installed torch or ``torch_build`` ("VERSION+BUILD", e.g. "2.6.0+cu124": the user's image);
    ``bases`` the base checkpoints lineage compares it with (None: f5-tts's in the local Hugging
    Face cache). ``lang``/``normalize``: the texts' language and whether they are normalised for
    it (the default sentence follows ``lang``); ``vocoder``: a local vocos/BigVGAN folder
    (Griffin-Lim without); ``asr``: 'auto' (pocketsphinx for English, no WER otherwise),
    'pocketsphinx', 'faster-whisper' (``asr_model_dir``, ``asr_language``) or None.
    ``dtype`` ('auto': f5-tts's pick on the card), ``batch`` and ``nfe`` are the run settings the GPU
    verdict is for, with the lengths of the user's call (``call_settings``: the reference's seconds and
    the text's longest chunk by f5-tts's duration rule), as ``f5lab profile`` takes them.
    ``budget`` (minutes) and ``full_grid``: what notebook 04 renders (``f5lab.reporting.plan``: by
    default on a CPU the decided config only, at the largest NFE whose predicted time fits the
    budget); the plan, with its predicted time per notebook, is echoed before the work.
    Returns the ``Report``; ``Report.ok`` is False when any notebook failed.
    """
    echo = echo or (lambda _msg: None)
    from f5lab.speech.quality import choose_asr
    from f5lab.speech.synth import check_settings
    from f5lab.speech.text import canonical, default_sentence

    check_settings(nfe=DEFAULT_NFE if nfe is None else nfe, seed=seed)  # before the demo build or any notebook
    check_run_settings(dtype, batch)
    from f5lab.reporting.runner import check_notebook_values

    check_notebook_values(**{"PATH": checkpoint, "--config": config, "--ref-audio": ref_audio, "--ref-text": ref_text,
                          "--text": gen_text, "--out": out, "--vocab": vocab, "--vocoder": vocoder, "--base": bases,
                          "--asr-model-dir": asr_model_dir})
    lang = canonical(lang)
    asr_choice = choose_asr(asr, lang, asr_model_dir, asr_language)  # a bad model dir: one line, now
    if vocoder is not None:
        from f5lab.speech.vocoders import check_vocoder

        check_vocoder(vocoder)
    from f5lab.hardware.gpus import get_gpu

    gpu = report_gpu(gpu, demo=checkpoint is None)  # the demo's card; else the one named, or this machine's
    if gpu is not None:
        get_gpu(gpu)  # an unknown card name: one line now, not a failed notebook later
    if torch_build is not None:
        from f5lab.hardware.stack import named_build

        named_build(torch_build)  # a malformed or unpublished build: one line now
    if vocab is not None:
        from f5lab.files.vocab import read_vocab

        read_vocab(vocab)
    if gen_text:  # a text with no character the vocab knows: one line now, not a failed notebook
        from f5lab.speech.synth import check_speakable

        check_speakable(gen_text, lang, normalize, vocab)
    bases = check_bases(bases)
    device = resolve_device(device)
    folder = notebooks_dir()
    names = select_notebooks(folder, notebooks)
    demo = checkpoint is None
    if demo:
        echo("locating the demo checkpoint (full-scale F5TTS_Base, random weights; built once, cached)...")
    ref_audio_given = ref_audio is not None
    checkpoint, ref_audio, ref_text = resolve_inputs(checkpoint, ref_audio, ref_text)
    from f5lab.model.described import describe

    described = describe(checkpoint, configs)  # the one read of its header before the notebooks
    catalogue = described.catalogue_name
    from f5lab.speech.audio import check_signal, read_audio

    check_signal(*read_audio(ref_audio), str(ref_audio))  # undecodable or silent: one line, before any notebook
    call = call_settings(ref_audio, ref_text, gen_text or default_sentence(lang), lang, normalize,
                         str(vocab) if vocab else None, nfe=nfe if isinstance(nfe, int) else DEFAULT_NFE,
                         dtype=dtype, batch=batch)
    from f5lab.model.readiness import speech_readiness

    weights = speech_readiness(described.ckpt)  # from the tensors, before any synthesis
    if not weights.can_speak:
        from f5lab import escaping

        echo(escaping.terminal(f"weights: {weights.why}"))

    from f5lab import outputs

    auto = run_id is None  # an id of the clock: two runs started in the same second get -2, -3...
    with outputs.folder(Path(out).resolve() / (run_id or new_run_id()), auto_suffix=auto, what="report") as run:
        if run.note:
            echo(f"f5lab: note: {run.note}")
        run_dir = run.path
        params = {
            "checkpoint": str(checkpoint), "config": asked_config(config, demo), "configs": catalogue,
            "vocab": str(Path(vocab).resolve()) if vocab else None, "gpu": gpu,
            "ref_audio": str(ref_audio), "ref_text": ref_text, "gen_text": gen_text or default_sentence(lang),
            "nfe": nfe if nfe is not None else (list(DEMO_NFE) if demo else DEFAULT_NFE), "seed": seed,
            "asr": None if asr in (None, "none") else asr, "asr_model_dir": asr_choice.model_dir,
            "asr_language": asr_choice.language, "lang": lang, "normalize": normalize,
            "vocoder": str(Path(vocoder).resolve()) if vocoder else None, "device": device,
            "work_dir": str(run_dir), "bases": bases, "torch_build": torch_build,
            "demo": demo, **(DEMO_EXTRA if demo else {}),
            **call,  # the call the GPU verdict is for (03_memory): seconds, ref_seconds, call_nfe, dtype, batch
            "weights": weights.answer(),  # 04 renders one clip, labelled noise, when they cannot speak
        }
        params.update(config_params(described, params["config"], params["vocab"], run_dir))
        plan = make_plan(described, params, names, device, budget, full_grid, nfe is not None,
                         checkpoint=None if demo else checkpoint, ref_given=ref_audio_given)
        for line in plan.lines():
            echo(line)
        ensure_kernel()
        os.environ["TQDM_DISABLE"] = "1"  # inherited by the kernels; our own bars pass disable=False
        os.environ["MPLBACKEND"] = "Agg"
        started = time.time()
        results = []
        for i, name in enumerate(names, 1):
            echo(f"[{i}/{len(names)}] {name}")
            results.append(execute(folder / f"{name}.ipynb", run_dir, params, progress=progress,
                                   desc=f"[{i}/{len(names)}] {name}", title=page_title(name, checkpoint),
                                   predicted_s=plan.predicted(name)))
            if results[-1].status != "ok":
                echo(f"    FAILED: {results[-1].error}")
        summary = build_summary(results, params)
        add_plan(summary, plan, results)
        manifest = build_manifest(run_dir, checkpoint, params, results, started, demo)
        write_json(run_dir / "summary.json", summary)
        write_index(run_dir, summary, manifest, results)
        write_report_html(run_dir, summary, manifest, results)
        write_model_card(run_dir, summary, manifest)
        write_json(run_dir / "manifest.json", manifest)  # last: a run folder with its manifest is complete
    return Report(run_dir=run_dir, results=results, summary=summary, manifest=manifest,
                  failed=[r.name for r in results if r.status != "ok"])


def check_run_settings(dtype: str, batch: int) -> None:
    """The run settings' ranges, in one line each (``settings.RANGES``; dtype as ``profile`` takes it)."""
    from f5lab import settings

    if dtype not in ("auto", "fp32", "fp16", "bf16"):
        raise ConfigError(f"--dtype {dtype!r}: use auto, fp32, fp16 or bf16")
    settings.check("batch", batch)


def call_settings(ref_audio: str | os.PathLike, ref_text: str, gen_text: str, lang: str = "en",
                  normalize: bool = True, vocab: str | None = None, *, nfe: int = DEFAULT_NFE,
                  dtype: str = "auto", batch: int = 1) -> dict[str, Any]:
    """The one call the GPU verdict is for, in ``f5lab profile``'s terms: ``seconds`` of generated
    audio (the text's longest chunk, timed by f5-tts's duration rule against the reference:
    ``f5lab.speech.text.analysis.analyse``, what ``f5lab text`` and notebook 04 show), ``ref_seconds``
    (the reference as f5-tts clips it), ``call_nfe``, ``dtype`` and ``batch``; ``calls``: how many
    such calls the text takes. ``f5lab profile --seconds S --ref-seconds R --nfe N --dtype D --batch B``
    predicts the same call."""
    from f5lab.speech.text.analysis import analyse, reference_lang

    r = analyse(gen_text, lang, vocab=vocab, normalize=normalize, ref_text=ref_text, ref_audio=ref_audio,
                ref_lang=reference_lang(ref_audio, lang))
    longest = max(r.chunks, key=lambda c: c.frames)
    return {"seconds": max(longest.seconds, 0.1), "ref_seconds": round(float(r.reference["seconds"]), 3),
            "call_nfe": int(nfe), "dtype": dtype, "batch": int(batch), "calls": len(r.chunks)}


def make_plan(described: Any, params: dict[str, Any], names: Sequence[str], device: str, budget: float | None,
              full_grid: bool, nfe_given: bool, checkpoint: Path | None, ref_given: bool) -> Any:
    """The run's plan (``f5lab.reporting.plan``), which also settles what 04 renders (in ``params``),
    with the command that renders the full grid."""
    from f5lab import commandlines
    from f5lab.reporting.plan import plan_report

    command = commandlines.report(
        checkpoint, config=params.get("config") if checkpoint is not None else None,
        configs=params.get("configs"), vocab=params.get("vocab"), lang=params.get("lang"),
        ref_audio=params["ref_audio"] if ref_given else None, ref_text=params["ref_text"] if ref_given else None,
        nfe=None, full_grid=True)
    return plan_report(described, params, names, device=device, budget_min=budget, full_grid=full_grid,
                       nfe_given=nfe_given, command=command)


def add_plan(summary: dict[str, Any], plan: Any, results: Sequence[NotebookResult]) -> None:
    """The plan beside the measured times in ``summary.json``; what the default cut on the card."""
    summary["plan"] = plan.to_dict()
    for name, entry in plan.timings().items():  # predicted beside measured; what varies stays in timings
        summary["timings"].setdefault(name, {}).update(entry)
    if plan.cut and any(r.name == "04_synthesis" for r in results):
        lines = summary["answer"]["lines"]
        at = next((i for i, ln in enumerate(lines) if ln["label"] == "still undecided"), len(lines))
        lines.insert(at, {"label": "synthesis", "ok": None,
                          "text": f"{plan.grid_text(with_times=False)}; {plan.cut_text(with_times=False)}"})
        if plan.full_grid:
            lines.insert(at + 1, {"label": "full grid", "ok": None, "code": True, "text": plan.full_grid})
        summary["answer"]["synthesis_cut"] = {"cut": plan.cut, "full_grid": plan.full_grid}
        from f5lab.reporting.labels import label_lines

        label_lines(lines)  # the lines just added say where their figures come from, as the others do


def report_gpu(gpu: str | None, demo: bool) -> str | None:
    """The card the GPU verdicts are for: the one named; for the built-in demo the motivating
    GTX 1050 Ti; otherwise the card torch sees on this machine when the catalogue knows it, else
    none (03_memory then judges every card and names no target rather than an arbitrary one)."""
    if gpu is not None or demo:
        return gpu or DEMO_GPU
    import torch

    if not torch.cuda.is_available():
        return None
    from f5lab.hardware.gpus import find_gpu

    found = find_gpu(torch.cuda.get_device_name(0))
    return None if found is None else found.name


def check_bases(bases: Sequence[str | os.PathLike] | None) -> list[str] | None:
    """Absolute paths of the lineage bases, each opened as a checkpoint (a bad one: one line now, not a
    failed notebook later); None stays None (the notebook looks in the Hugging Face cache)."""
    if bases is None:
        return None
    from f5lab.files.checkpoint import open_checkpoint

    return [str(open_checkpoint(b).path.resolve()) for b in bases]


def page_title(name: str, checkpoint: str | os.PathLike) -> str:
    """An HTML page's title: the notebook, what it answers, and the checkpoint."""
    return escaping.one_line(f"{name}: {TITLES.get(name, name)} · {Path(checkpoint).name}")  # nbconvert escapes HTML


# -- gathering -----------------------------------------------------------------------------------
def build_summary(results: Sequence[NotebookResult], params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer first, then every number the notebooks showed, with units; timings apart
    under ``timings``.

    Holds nothing run-specific (no run id, dates or report paths), so two runs with the
    same inputs give equal summaries once ``timings`` is set aside.
    """
    notebooks: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    for r in results:
        side = read_sidecar(r.sidecar)
        notebooks[r.name] = {"ran": r.status == "ok", "status": r.status, "error": r.error,
                             "numbers": label_numbers(r.name, side.get("numbers", {})),  # each with its evidence
                             "verdicts": side.get("verdicts", [])}
        timings[r.name] = {"notebook": {"value": round(r.seconds, 3), "unit": "s"}, **side.get("timings", {})}
        facts.update(side.get("answer", {}))
    return {"schema": SUMMARY_SCHEMA, "answer": build_answer(facts, params or {}),
            "ok": all(r.status == "ok" for r in results),
            "failed": [r.name for r in results if r.status != "ok"], "notebooks": notebooks,
            "timings": timings}


# -- the answer card -----------------------------------------------------------------------------
def build_answer(facts: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The report's answer, from the facts the notebooks recorded (``Sidecar.answer``): what the
    checkpoint is; whether it loads under the config asked and under which it does; the one line
    that fixes it; whether it runs on the target GPU (this torch's kernels for it, then memory:
    dtype, attention, up to how many seconds and what limits that; the predicted seconds per call;
    the install line when kernels are missing); which base lineage says it descends from (the
    config it implies, before the probe); the probe's verdict with its margin; what stays
    undecided. ``lines`` is the card, in that order; a fact whose notebook did not run is absent."""
    lines: list[dict[str, Any]] = []
    out: dict[str, Any] = {"checkpoint": Path(str(params.get("checkpoint", ""))).name or None,
                           "config_asked": params.get("config"), "gpu": params.get("gpu"), "lines": lines}
    what = facts.get("checkpoint")
    if what:
        out["is"] = what["text"]
        out["fits"] = what.get("exact")
        lines.append({"label": "what it is", "text": what["text"], "ok": None})
    if params.get("own_config"):  # no shipped config builds it: the report wrote and used one
        out["own_config"] = {"path": params["own_config"], "assumed": params.get("own_assumed", [])}
        lines.append({"label": "config used", "text": own_config_text(params), "ok": None,
                      "href": Path(params["own_config"]).name})
    weights = params.get("weights")  # f5lab.model.readiness, from the tensors, before any synthesis
    if weights:
        out["weights"] = {"can_speak": bool(weights["can_speak"]), "why": weights["why"]}
        if not weights["can_speak"]:
            lines.append({"label": "can it speak?", "text": weights["why"], "ok": False})
    if facts.get("identical"):
        out["identical_renderings"] = facts["identical"]["groups"]
        lines.append({"label": "renderings", "text": "bit-identical across settings: the model did not move the "
                      "initial noise", "ok": False})
    load = facts.get("loading")
    if load:
        out["loads"] = {k: load.get(k) for k in ("asked", "ok", "loads_as_asked", "loads", "after_remap", "cannot",
                                                 "target", "remapped", "remapped_bytes", "verified")}
        out["fix"] = load["fix"]
        out["decision"] = load.get("decision")  # f5lab.compat.decision's, from the shapes and lineage (02)
        lines.append({"label": "loads?", "text": load["text"], "ok": load.get("ok", load["loads_as_asked"])})
        lines.append({"label": "fix", "text": load["fix"], "ok": None, "code": True})
        if load.get("service"):  # what a service runs, with f5-tts alone
            out["service"] = load["service"]
            lines.append({"label": "in f5-tts alone", "text": load["service"], "ok": None, "code": True})
        if load.get("remapped"):
            lines.append({"label": "remapped file", "text": f"{load['remapped']} ({binary_bytes(load['remapped_bytes'])}), "
                          + ("verified: same weights, same outputs" if load.get("verified") else "NOT verified"),
                          "ok": bool(load.get("verified")), "href": load["remapped"]})
    run = facts.get("runs")  # f5lab.hardware.runs.judge: kernels AND driver AND memory, with the speed
    if run:
        out["runs"] = {k: run.get(k) for k in ("gpu", "runs", "reason", "torch", "kernels", "kernel_rule", "fix",
                                               "seconds_per_call", "rtf", "fits", "settings", "evidence")}
        # predicted: the line names the call (NFE, dtype, lengths, batch) and the models' errors; no tick
        lines.append({"label": "runs on the GPU?", "text": run.get("card_text") or run["text"],
                      "ok": run.get("mark", run["runs"]), "evidence": (run.get("evidence") or {}).get("runs")})
    lineage = facts.get("lineage")
    if lineage:  # before the probe: the weights' origin decides where the shapes cannot
        out["lineage"] = {k: lineage.get(k) for k in ("decided", "config", "base", "distance", "next_distance",
                                                      "margin", "bases_apart", "identical", "text", "stand_in",
                                                      "base_match", "base_model")}  # the card's base_model
        lines.append({"label": "which config (lineage)", "text": lineage["text"], "ok": lineage["ok"]})
    probe = facts.get("probe")
    if probe:
        out["probe"] = {k: probe.get(k) for k in ("best", "runner_up", "decided", "margin_pct", "bar_pct", "text")}
        text = probe["text"]
        if lineage and lineage.get("decided") and probe.get("decided") and probe.get("best") != lineage.get("config"):
            text += f"; lineage says {lineage['config']}: check the base given"
        lines.append({"label": "which config (probe)", "text": text, "ok": probe["ok"]})
    undecided = _undecided(what, probe, lineage)
    out["undecided"] = undecided
    lines.append({"label": "still undecided", "text": "; ".join(undecided) or "nothing", "ok": None})
    from f5lab.reporting.decide import card_config

    out["base_config"] = card_config(out, bool(params.get("demo")))  # what MODEL_CARD.md names, and why
    label_lines(lines)  # every line with a figure says where it comes from (f5lab.reporting.labels)
    return out


def own_config_text(params: dict[str, Any]) -> str:
    """The card's line for a config f5lab wrote from the shapes: where it is, what it assumed."""
    assumed = params.get("own_assumed") or []
    return (f"no shipped config builds it: f5lab wrote {Path(params['own_config']).name} (in the run folder) from "
            "its shapes and used it in every notebook"
            + (f"; assumed, not in the file: {', '.join(assumed)}" if assumed else ""))


def _undecided(what: dict[str, Any] | None, probe: dict[str, Any] | None,
               lineage: dict[str, Any] | None = None) -> list[str]:
    """What the shapes could not decide, less what lineage or the probe settled."""
    items = list((what or {}).get("undetermined", []))
    for settled, name in ((lineage, "config"), (probe, "best")):
        if settled and settled.get("decided") and settled.get(name):
            items = [i for i in items if settled[name] not in i]
    return items


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("f5lab", "f5-tts", "torch", "torchaudio", "numpy", "safetensors", "vocos", "papermill",
                 "nbconvert", "nbval", "matplotlib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def device_info() -> dict[str, Any]:
    """Where the notebooks ran: CPU, threads, and the CUDA device if there is one."""
    import torch

    info: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                            "cuda": torch.cuda.is_available()}
    info["device"] = "cuda" if info["cuda"] else "cpu"
    if info["cuda"]:
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_bytes=props.total_memory,
                    compute_capability=f"{props.major}.{props.minor}")
    return info


def build_manifest(run_dir: Path, checkpoint: Path, params: dict[str, Any], results: Sequence[NotebookResult],
                   started: float, demo: bool) -> dict[str, Any]:
    """What was run, on what, with which versions and seeds: enough to reproduce the report."""
    from f5lab.model.inspection import file_sha256

    ref = Path(params["ref_audio"])
    return {
        "run_id": run_dir.name, "demo": demo,
        "started_utc": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(timespec="seconds"),
        "finished_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv) if sys.argv and sys.argv[0].endswith("f5lab") else None,
        "checkpoint": {"path": str(checkpoint), "size_bytes": checkpoint.stat().st_size,
                       "sha256": file_sha256(checkpoint)},
        "reference_audio": {"path": str(ref), "sha256": file_sha256(ref) if ref.exists() else None,
                            "text": params["ref_text"]},
        "parameters": {k: v for k, v in params.items() if k != "work_dir"},
        "seeds": {"seed": params["seed"], "torch": params["seed"]},
        "versions": versions(), "device": device_info(), "kernel": KERNEL_NAME,
        "notebooks": [{"name": r.name, "status": r.status, "error": r.error, "ipynb": r.ipynb.name,
                       "html": r.html.name if r.html else None, "sidecar": r.sidecar.name} for r in results],
    }


# -- index.html and report.html -------------------------------------------------------------------
TITLES = {"01_inspect": "What the checkpoint is", "02_compatibility": "Compatibility and remap",
          "03_memory": "Memory and GPU verdicts", "04_synthesis": "Synthesis and quality"}

CSS = """body{font-family:system-ui,sans-serif;max-width:62em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4em .6em;text-align:left;
vertical-align:top}.ok{color:#176a2c}.bad{color:#b00020;font-weight:bold}.neutral{color:#555}
code{background:#f3f3f3;padding:0 .2em}.small{font-size:.9em;color:#555}ul{margin:0;padding-left:0;list-style:none}
td,code{overflow-wrap:break-word}.num{white-space:nowrap}.id{overflow-wrap:normal;word-break:normal}
pre{white-space:pre-wrap;overflow-wrap:break-word}details summary{cursor:pointer}
@media (max-width:40em){body{margin:.5em auto;padding:0 .5em}table,tbody,tr,td{display:block;width:auto}
tr:first-child:has(th){display:none}tr{border-bottom:2px solid #999;margin-bottom:.5em}td{border:0;padding:.2em .3em}}
"""
# a phone: the card's two columns become label over text
CARD_NARROW = """@media (max-width:40em){.f5card{padding:.4em .5em}.f5card td{display:block;border:0;padding:.15em 0}
.f5card td:first-child{width:auto;white-space:normal;padding-top:.5em}.f5card tr{display:block;
border-bottom:1px solid #e5e5e5}}"""
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'

# the answer card's own rules, scoped, so the card looks the same inside report.html's notebook CSS
CARD_CSS = """.f5card{font-family:system-ui,sans-serif;border:2px solid #333;border-radius:6px;padding:.6em 1em;
margin:1em auto;max-width:62em;color:#222}.f5card table{border-collapse:collapse;width:100%}
.f5card td{border:0;border-bottom:1px solid #e5e5e5;padding:.4em .6em;text-align:left;vertical-align:top}
.f5card td:first-child{white-space:nowrap;font-weight:bold;width:11em}.f5card .ok{color:#176a2c}
.f5card .bad{color:#b00020}.f5card .neutral{color:#444}.f5card code{background:#f3f3f3;padding:0 .2em}
.f5card .small{font-size:.9em;color:#555}.f5card h2{margin:.2em 0}
.f5card code{overflow-wrap:break-word}.f5card pre{white-space:pre;overflow-x:auto;margin:0;
background:#f3f3f3;padding:.3em .5em}.f5card table{table-layout:fixed}.f5card pre code{padding:0}.f5card .num{white-space:nowrap}
.f5card details summary{cursor:pointer;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.f5card details[open] summary{white-space:normal}"""

MARKS = {True: ("ok", "&#10003;"), False: ("bad", "&#10007;"), None: ("neutral", "&#8226;")}


def _verdict_html(v: dict[str, Any]) -> str:
    cls, mark = MARKS.get(v.get("ok"), MARKS[None])
    return f'<li class="{cls}">{mark} {escaping.html(str(v.get("text", "")))}</li>'


def asked_html(asked: str | None) -> str:
    return f"<code>{escaping.html(asked)}</code>" if asked else "none named (the card says which loads it)"


def answer_card_html(answer: dict[str, Any], manifest: dict[str, Any], ran: str) -> str:
    """The answer card: the header facts (checkpoint, config tried, target GPU, notebooks run),
    then one row per answer line."""
    ck = manifest["checkpoint"]
    head = (f"<p><b class='id'>{ident_html(Path(ck['path']).name)}</b> (<span class='num'>{binary_bytes(ck['size_bytes'])}</span>)"
            " &middot; config tried: "
            f"{asked_html(answer.get('config_asked'))} &middot; target GPU: "
            + (f"<b>{escaping.html(str(answer['gpu']))}</b>" if answer.get("gpu") else "none named (--gpu)")
            + f" &middot; {ran}</p>")
    rows = []
    for line in answer["lines"]:
        cls, mark = MARKS.get(line.get("ok"), MARKS[None])
        text = escaping.html(line["text"])
        if line.get("code") and "\n" in line["text"]:  # a service's code: one line shown, the rest on demand
            first = escaping.html(line["text"].strip().splitlines()[0])
            n = len(line["text"].strip().splitlines())
            text = (f"<details><summary><code>{first}</code> <span class='small'>({n} lines: show)</span></summary>"
                    f"<pre><code>{text}</code></pre></details>")
        elif line.get("code"):
            text = f"<code>{text}</code>"
        if line.get("href"):
            text = f'<a href="{escaping.html(escaping.url(line["href"]))}">{text}</a>'
        if evidence_note(line):
            text += f' <span class="small">({escaping.html(evidence_note(line))})</span>'
        mark = "" if text.startswith(("<pre>", "<details>")) or line.get("ok") is None else f"{mark} "
        rows.append(f'<tr><td>{escaping.html(line["label"])}</td><td class="{cls}">{mark}{text}</td></tr>')
    demo = ("<p class='small'><b>Built-in demo:</b> a full-scale F5TTS_Base checkpoint with <b>random weights</b>: "
            "it loads and runs like a real one, but its audio is noise and the probe cannot find a trained "
            "config.</p>" if manifest["demo"] else "")
    return (f'<style>{CARD_CSS}{CARD_NARROW}</style><div class="f5card"><h2>Answer</h2>{head}'
            f'<table>{"".join(rows)}</table>{demo}</div>')


def evidence_note(line: dict[str, Any]) -> str | None:
    """What a card line with a figure says of its evidence after its text: measured or published with the
    source; nothing for a prediction, whose text already says "predicted" and gives the model's error."""
    from f5lab.reporting.labels import HAS_FIGURE

    ev = line.get("evidence") or {}
    if not ev or ev.get("kind") == "predicted" or not HAS_FIGURE.search(str(line.get("text", ""))):
        return None
    return f"{ev['kind']}: {ev['source']}"


def _shows_something(cell: Any) -> bool:
    """A code cell with an output a reader sees (an empty display, such as a cleared progress line,
    is nothing)."""
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream" and "".join(o.get("text", "")).strip():
            return True
        data = o.get("data", {})
        if o.get("output_type") == "error" or any(k != "text/plain" for k in data) or \
                "".join(data.get("text/plain", "")).strip():
            return True
    return False


def without_empty_sections(cells: Sequence[Any]) -> list[Any]:
    """A notebook's cells less each section (a Markdown heading up to the next heading) whose code
    cells all show nothing, e.g. lineage when no base was compared: report.html omits a heading
    with nothing under it. A section of prose only is kept."""
    sections: list[list[Any]] = [[]]
    for c in cells:
        if c.cell_type == "markdown" and "".join(c.source).lstrip().startswith("#"):
            sections.append([])
        sections[-1].append(c)
    kept = []
    for sec in sections:
        code = [c for c in sec if c.cell_type == "code" and not {"parameters", "injected-parameters", "setup"}
                & set(c.metadata.get("tags", []))]
        if code and not any(_shows_something(c) for c in code):
            continue
        kept.extend(sec)
    return kept


def ident_html(text: str) -> str:
    """A file name or id for a page: escaped, and breakable only after its separators (``_``, ``-``,
    ``.``, ``/``), never inside a word: "02_compatibility" wraps as "02_ / compatibility" at most."""
    import re

    return "<wbr>".join(escaping.html(part) for part in re.split(r"(?<=[_\-./])", str(text)))


def plan_html(summary: dict[str, Any], results: Sequence[NotebookResult]) -> str:
    """The run's time: measured against the plan's prediction, and what 04 rendered."""
    plan = summary.get("plan")
    total = predicted_total(summary)
    if not plan or total is None:
        return ""
    took = sum(r.seconds for r in results)
    grid = ""
    if "04_synthesis" in plan.get("notebooks", []):
        n = plan["renderings"]
        grid = (f"; synthesis: {n} rendering{'s' if n != 1 else ''} ({escaping.html(', '.join(plan['configs']))}, "
                f"NFE <span class='num'>{escaping.html(', '.join(str(x) for x in plan['nfe']))}</span>)")
    return (f"<p>Ran in <b class='num'>{duration(took)}</b>, predicted <span class='num'>~{duration(total)}"
            f"</span> before the work ({escaping.html(plan['basis'])}){grid}.</p>")


def write_index(run_dir: Path, summary: dict[str, Any], manifest: dict[str, Any],
                results: Sequence[NotebookResult]) -> Path:
    """One static page: the answer card first, then per notebook whether it ran (separately
    from the checkpoint's verdicts), its headline verdicts and links to every part."""
    rows = []
    for r in results:
        entry = summary["notebooks"][r.name]
        pred = predicted_seconds(summary).get(r.name)
        took = (f'<br><span class="small num">{duration(r.seconds)}</span>'
                + (f'<br><span class="small num">predicted ~{duration(pred)}</span>' if pred is not None else ""))
        ran = (f'<span class="ok num">&#10003; ran</span>{took}' if r.status == "ok" else
               f'<span class="bad num">&#10007; FAILED</span>{took}<br><code>{escaping.html(r.error or "")}</code>')
        links = [f'<a href="{r.ipynb.name}">notebook</a>']
        if r.html:
            links.insert(0, f'<a href="{r.html.name}">page</a>')
        if r.sidecar.exists():
            links.append(f'<a href="{r.sidecar.name}">numbers</a>')
            for png in read_sidecar(r.sidecar).get("figures", []):
                label = png[len(r.name) + 1:-4].replace("_", " ")
                links.append(f'<a href="{escaping.html(png)}">{escaping.html(label)} (figure)</a>')
        verdicts = "".join(_verdict_html(v) for v in entry["verdicts"]) or "<li class='neutral'>-</li>"
        rows.append(f"<tr><td><b class='num'>{escaping.html(r.name)}</b><br>{escaping.html(TITLES.get(r.name, ''))}</td>"
                    f"<td>{ran}</td><td><ul>{verdicts}</ul></td><td>{' &middot; '.join(links)}</td></tr>")
    failed = summary["failed"]
    ran = (f'<span class="bad">{len(failed)} of {len(results)} notebooks failed: {escaping.html(", ".join(failed))}'
           "</span>" if failed else f"all {len(results)} notebooks ran")
    v = manifest["versions"]
    page = f"""<!doctype html>
<html><head><meta charset="utf-8">{VIEWPORT}<title>f5lab report: {escaping.html(Path(manifest['checkpoint']['path']).name)}
({escaping.html(manifest['run_id'])})</title>
<style>{CSS}</style></head><body>
<h1>f5lab report <code>{escaping.html(manifest['run_id'])}</code></h1>
{answer_card_html(summary['answer'], manifest, ran)}
{plan_html(summary, results)}
<p><a href="report.html"><b>report.html</b></a>: everything below in one self-contained file (figures and audio
embedded), to attach to an issue or an e-mail.</p>
<table><tr><th>notebook</th><th>ran</th><th>checkpoint verdicts</th><th>parts</th></tr>
{''.join(rows)}
</table>
<p><a href="summary.json">summary.json</a> (the answer and every number shown, with units) &middot;
<a href="manifest.json">manifest.json</a> (versions, device, seeds, checkpoint hash)</p>
<p class="small">sha256 <code>{escaping.html(manifest['checkpoint']['sha256'])}</code>; f5lab {v.get('f5lab')},
f5-tts {v.get('f5-tts')}, torch {v.get('torch')}, device {escaping.html(str(manifest['device'].get('device')))},
seed {manifest['seeds']['seed']}</p>
</body></html>
"""
    from f5lab import outputs

    return outputs.write_text(run_dir / "index.html", page, force=True)


def write_report_html(run_dir: Path, summary: dict[str, Any], manifest: dict[str, Any],
                      results: Sequence[NotebookResult]) -> Path | None:
    """``report.html``: the answer card and every notebook's outputs (code hidden) in one file,
    figures and audio embedded as data URIs, no external script: a report one can send."""
    import nbformat

    failed = summary["failed"]
    ran = f"{len(failed)} of {len(results)} notebooks failed" if failed else f"all {len(results)} notebooks ran"
    import re

    card = answer_card_html(summary["answer"], manifest, ran)
    merged = nbformat.v4.new_notebook()
    for r in results:
        if not r.ipynb.exists():
            continue
        nb = nbformat.read(r.ipynb, as_version=4)
        merged.metadata = merged.metadata or nb.metadata
        merged.cells.append(nbformat.v4.new_markdown_cell("---"))
        for c in without_empty_sections(nb.cells):
            if not {"parameters", "injected-parameters"} & set(c.metadata.get("tags", [])):
                c.id = f"{r.name[:2]}-{len(merged.cells)}"  # ids stay unique in the merged notebook
                merged.cells.append(c)
    try:
        body = notebook_html(merged, escaping.one_line(f"f5lab report: {Path(manifest['checkpoint']['path']).name}"),
                             exclude_input=True)
    except Exception:  # the index still links every part
        return None
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + card, body, count=1)
    from f5lab import outputs

    return outputs.write_text(run_dir / "report.html", body, force=True)

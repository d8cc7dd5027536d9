"""The report's plan, said before the work: which notebooks run, what 04 renders (configs x texts x
NFE), and how long each notebook should take on this machine.

A full-scale checkpoint synthesises on a CPU at a real-time factor near 100: rendering every
candidate config at f5-tts's 32 steps took 20 minutes where the rest of the report took one. So the
report decides its synthesis grid here, before any notebook runs:

* the config: the one named (``--config``) when it builds the checkpoint; else the one the shapes
  (or a recorded remap) decide; else, between configs the shapes cannot tell apart, the one the
  behavioural probe picks in notebook 04 (it runs first there), so one config is rendered, not every
  candidate; ``--full-grid`` renders every candidate;
* the NFE: on a CPU, without ``--nfe``, the largest of 32, 16, 8 whose predicted 04 fits the budget
  (``--budget MINUTES``, default ``DEFAULT_BUDGET_MIN``); on a GPU f5-tts's 32.

Seconds per flow step come from the speed model (``f5lab.hardware.speed``), calibrated on this CPU
right now (about a second), or from the catalogue's GPU rates; the fixed costs of a notebook
(kernel start and imports, reading the checkpoint) are constants measured on the 2-core machine
the project is developed on (``benchmarks/bench_report.py`` holds the total to the prediction).
The plan is printed first, recorded in ``summary.json`` beside the measured times and shown on the
run's page; the answer card says what was cut and the command that renders the full grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from f5lab.units import duration

DEFAULT_BUDGET_MIN = 3.0  # notebook 04 on a CPU, by default
NFE_LADDER = (32, 16, 8)  # what the budget chooses from (f5-tts's default first)

# fixed costs measured on the 2-core development machine (benchmarks/results/report_cpu.json)
# a notebook kernel's start, torch and f5-tts imported, with the files in the page cache: 02 on a
# 1.35 GB checkpoint (a kernel, the imports and a load) measured 1.4-1.8 s on the quiet machine
KERNEL_S = 2.0
INSPECT_S = 2.5  # 01_inspect: a kernel without torch, the header read
# load_model on a full checkpoint (read, build, strict load) from the page cache, where the run's own
# sha256 has just put it: 1.86 s for 1.35 GB measured here (170 MB/s, a cold read, overstated a
# full-scale report's 02-04 by 40-55 s)
LOAD_BYTES_PER_S = 1.2e9
LOAD_FIXED_S = 1.0
RENDER_FIXED_S = 1.5  # per rendering: Griffin-Lim, files, mel picture, signal metrics
ASR_S = 2.0  # per rendering with ASR on (pocketsphinx on a few seconds)
FIGURES_S = 2.0  # 04's mel figure and tables
MEMORY_FIXED_S = 6.0  # 03: every card's estimate, its figures
RUN_FIXED_S = 6.0  # the command's own: imports, the header read, the calibration, the pages, the manifest
EXPORT_S = 1.5  # per notebook: signing and its HTML
SHA256_BYTES_PER_S = 400e6  # the manifest's checkpoint hash


@dataclass
class NotebookPlan:
    name: str
    predicted_s: float
    what: str = ""


@dataclass
class Plan:
    """What the report will do and how long it should take."""

    device: str
    notebooks: list[NotebookPlan]
    configs: list[str]  # rendered (a single "probe's pick" entry when the probe chooses in 04)
    texts: int
    nfe: list[int]
    dtypes: list[str]
    step_s: float | None  # one flow step of one rendering, predicted
    budget_s: float | None
    basis: str
    overhead_s: float = 0.0  # the run's own work around the notebooks (pages, manifest hash)
    cut: list[str] = field(default_factory=list)  # what the default left out
    full_grid: str | None = None  # the command that renders what was cut
    full_grid_s: float | None = None  # its predicted 04

    @property
    def renderings(self) -> int:
        return len(self.configs) * self.texts * len(self.nfe) * len(self.dtypes)

    @property
    def total_s(self) -> float:
        """The command's wall time: the notebooks and the run's own work around them."""
        return sum(n.predicted_s for n in self.notebooks) + self.overhead_s

    def predicted(self, name: str) -> float | None:
        return next((n.predicted_s for n in self.notebooks if n.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """What the plan decided (the same run to run, like every number of ``summary.json`` but its
        ``timings``); its seconds are in ``timings()``."""
        return {"device": self.device, "notebooks": [n.name for n in self.notebooks], "configs": self.configs,
                "texts": self.texts, "nfe": self.nfe, "dtypes": self.dtypes, "renderings": self.renderings,
                "budget_s": self.budget_s, "basis": self.basis, "cut": self.cut, "full_grid": self.full_grid}

    def timings(self) -> dict[str, Any]:
        """The predicted seconds, for ``summary.json``'s ``timings`` (where what varies run to run lives):
        per notebook beside its measured ``notebook`` seconds, and the plan's own."""
        s = {"unit": "s"}
        out: dict[str, Any] = {n.name: {"predicted": {"value": round(n.predicted_s, 1), **s}} for n in self.notebooks}
        out["plan"] = {"predicted_total": {"value": round(self.total_s, 1), **s}}
        if self.step_s is not None:
            out["plan"]["predicted_step"] = {"value": round(self.step_s, 4), **s}
        if self.full_grid_s is not None:
            out["plan"]["predicted_full_grid_synthesis"] = {"value": round(self.full_grid_s, 1), **s}
        return out

    def lines(self) -> list[str]:
        """The plan as printed before the work."""
        from f5lab.escaping import terminal

        out = [f"plan: {len(self.notebooks)} notebook(s), predicted {duration(self.total_s)} on this "
               f"{'GPU' if self.device.startswith('cuda') else 'CPU'} ({self.basis}; "
               f"~{duration(self.overhead_s)} of it the pages and the manifest)"]
        width = max(len(n.name) for n in self.notebooks) if self.notebooks else 0
        for n in self.notebooks:
            out.append(f"  {n.name:<{width}}  ~{duration(n.predicted_s):>11}" + (f"  {terminal(n.what)}" if n.what else ""))
        if any(n.name == "04_synthesis" for n in self.notebooks):
            out.append("  " + terminal(self.grid_text()))
            if self.cut:
                out.append("  " + terminal(self.cut_text()))
            if self.cut and self.full_grid:
                out.append(f"  the full grid (~{duration(self.full_grid_s)} for synthesis): {terminal(self.full_grid)}")
        return out

    def grid_text(self, with_times: bool = True) -> str:
        """``1 rendering (F5TTS_Base; 1 text; NFE 16) (~5.0 s per step)``."""
        n = self.renderings
        step = f" (~{duration(self.step_s)} per step)" if self.step_s and with_times else ""
        return (f"{n} rendering{'s' if n != 1 else ''} ({', '.join(self.configs)}; {self.texts} text; NFE "
                f"{', '.join(str(x) for x in self.nfe)}" + (f"; {', '.join(self.dtypes)}" if self.dtypes != ["fp32"]
                                                              else "") + f"){step}")

    def cut_text(self, with_times: bool = True) -> str:
        """What the default left out (the command that renders it is ``full_grid``); ``with_times``
        off for the answer card, whose facts are the same run to run."""
        if not self.cut:
            return ""
        budget = f" to fit {duration(self.budget_s)} for synthesis" if self.budget_s else ""
        full = f" (the full grid: ~{duration(self.full_grid_s)})" if self.full_grid_s and with_times else ""
        return f"cut{budget}{full}: {'; '.join(self.cut)}"


# -- the prediction ---------------------------------------------------------------------------------
def load_s(size_bytes: int) -> float:
    return LOAD_FIXED_S + size_bytes / LOAD_BYTES_PER_S


@dataclass
class StepModel:
    """Predicted seconds of one flow step (CFG on) and of one probe sample (CFG off, reference only)."""

    step_s: float
    text_s: float
    probe_sample_s: float
    basis: str
    measure_step_s: float = 0.0  # 03's measured call: 2 s of audio, no reference


def step_model(spec: Any, gen_seconds: float, ref_seconds: float, device: str, gpu: str | None = None) -> StepModel | None:
    """The speed model at this call's lengths: calibrated on this CPU, or the GPU's catalogue rates."""
    from f5lab.hardware import speed

    try:
        if device.startswith("cuda"):
            rates = speed.gpu_rates(gpu) if gpu else None
            if rates is None:
                return None
            basis = f"speed model, {gpu}'s rates"
        else:
            cal = speed.calibrate_cpu(dim=spec.dim)
            rates = speed.cpu_rates(cal)
            basis = f"speed model calibrated on this CPU, {cal.threads} threads"
        est = speed.predict(spec, max(gen_seconds, 0.1), rates, nfe=1, ref_seconds=ref_seconds, attn="flash",
                            vocoder="none")
        probe = speed.predict(spec, max(ref_seconds, 0.1), rates, nfe=1, cfg=False, attn="flash", vocoder="none")
        measure = speed.predict(spec, 2.0, rates, nfe=1, attn="flash", vocoder="none")
    except Exception:  # a spec the speed model cannot cost (or an unknown card): no prediction, said so
        return None
    return StepModel(step_s=est.step_s, text_s=est.text_s, probe_sample_s=probe.step_s, basis=basis,
                     measure_step_s=measure.step_s)


def synthesis_seconds(sm: StepModel, size: int, *, configs: int, loads: int, nfe: Sequence[int], chunks: int,
                      texts: int, dtypes: int, probe_candidates: int, probe_samples: int, asr: bool) -> float:
    """Predicted 04: kernel, the probe (a load and its samples per candidate), a load per rendered
    (config, dtype), and per rendering its steps, text embedding and fixed costs."""
    renders = configs * texts * dtypes * len(nfe)
    steps = configs * texts * dtypes * sum(nfe) * chunks
    probe = probe_candidates * (load_s(size) + probe_samples * sm.probe_sample_s)
    return (KERNEL_S + FIGURES_S + probe + loads * load_s(size) + steps * sm.step_s
            + renders * (chunks * sm.text_s + RENDER_FIXED_S + (ASR_S if asr else 0.0)))


def other_seconds(name: str, size: int, sm: StepModel | None, params: dict[str, Any]) -> tuple[float, str]:
    """Predicted 01-03 and what each does."""
    if name == "01_inspect":
        return INSPECT_S + size / 2e9, "header, shapes, parameters"
    if name == "02_compatibility":
        return KERNEL_S + load_s(size), "diagnose, lineage, load as the card says"
    if name == "03_memory":
        nfe = int(params.get("measure_nfe") or 2)
        step = sm.measure_step_s if sm else 0.0  # 2 s of audio measured, no reference
        return KERNEL_S + MEMORY_FIXED_S + load_s(size) + nfe * step, "estimate for every card, one call measured"
    return KERNEL_S, ""


# -- the plan ---------------------------------------------------------------------------------------
def plan_report(described: Any, params: dict[str, Any], names: Sequence[str], *, device: str,
                budget_min: float | None = None, full_grid: bool = False, nfe_given: bool = False,
                command: str | None = None) -> Plan:
    """The plan for ``names`` on ``described``, and the notebook parameters it settles (in place):
    ``candidates``, ``render_probe_pick`` and ``nfe`` for 04. ``budget_min``: minutes 04 may take
    (None: ``DEFAULT_BUDGET_MIN`` on a CPU, no limit on a GPU); ``full_grid``: every candidate at
    the NFE given (or 32), no budget; ``command``: the full-grid command line the card prints."""
    size = described.path.stat().st_size
    demo = bool(params.get("demo"))
    probe_samples = int(params.get("probe_samples") or 4)
    chunks, gen_s, ref_s = _text_lengths(params)
    sm = step_model(described.spec, gen_s / max(chunks, 1), ref_s, device, params.get("gpu"))
    configs, probe_pick, cut = _rendered_configs(described, params, full_grid, demo)
    if not (params.get("weights") or {}).get("can_speak", True):  # 04 renders one clip, labelled noise
        if len(configs) > 1 or (isinstance(params["nfe"], list) and len(params["nfe"]) > 1):
            cut.append("every rendering but one (the weights cannot speak: one clip, labelled noise)")
        configs = configs[:1]
        params["nfe"] = params["nfe"][:1] if isinstance(params["nfe"], list) else params["nfe"]
    probe_candidates = max(1, len(described.fits))  # the probe compares every fit, whatever is rendered
    nfe = params["nfe"] if isinstance(params["nfe"], list) else [params["nfe"]]
    budget_s = None
    on_cpu = not device.startswith("cuda")
    if budget_min is not None or (on_cpu and not full_grid and not demo):
        budget_s = 60.0 * (budget_min if budget_min is not None else DEFAULT_BUDGET_MIN)
    kw = dict(configs=len(configs), loads=len(configs), chunks=chunks, texts=1, dtypes=1,
              probe_candidates=probe_candidates, probe_samples=probe_samples, asr=bool(params.get("asr")))

    def cost(steps: Sequence[int], n_configs: int | None = None) -> float:
        if sm is None:
            return float("nan")
        k = dict(kw)
        if n_configs is not None:
            k.update(configs=n_configs, loads=n_configs)
        return synthesis_seconds(sm, size, nfe=steps, **k)

    if budget_s is not None and not nfe_given and not full_grid and not demo and sm is not None:
        fits = [n for n in NFE_LADDER if cost([n]) <= budget_s]
        chosen = fits[0] if fits else NFE_LADDER[-1]
        if chosen != nfe[0]:
            cut.append(f"NFE {nfe[0]} (rendered at NFE {chosen})")
        if not fits:
            cut.append(f"even NFE {chosen} is predicted over the budget")
        nfe = [chosen]
        params["nfe"] = chosen
    if probe_pick:
        params["render_probe_pick"] = True
    full_cmd = command if cut else None
    full_s = cost([32], max(1, len(described.fits))) if cut and sm is not None else None
    notebooks = []
    for name in names:
        if name == "04_synthesis":
            s = cost(nfe)
            what = "probe, then synthesis" if probe_pick else "synthesis, probe"
            notebooks.append(NotebookPlan(name, s if not math.isnan(s) else KERNEL_S, what))
        else:
            s, what = other_seconds(name, size, sm, params)
            notebooks.append(NotebookPlan(name, s, what))
    basis = sm.basis if sm else "no speed model for this device: fixed costs only"
    overhead = RUN_FIXED_S + EXPORT_S * len(names) + size / SHA256_BYTES_PER_S
    return Plan(device=device, notebooks=notebooks, configs=configs, texts=1, nfe=list(nfe), overhead_s=overhead,
                dtypes=list(params.get("dtypes") or ["fp32"]), step_s=sm.step_s if sm else None,
                budget_s=budget_s, basis=basis, cut=cut, full_grid=full_cmd, full_grid_s=full_s)


def _rendered_configs(described: Any, params: dict[str, Any], full_grid: bool,
                      demo: bool) -> tuple[list[str], bool, list[str]]:
    """(the configs 04 renders, whether the probe picks it in 04, what was left out)."""
    from f5lab.compat.decision import decide_config

    fits = list(described.fits)
    given = params.get("candidates")
    if given:  # the demo's, a config of one's own, a YAML that builds it
        names = [Path(str(c)).stem if str(c).endswith((".yaml", ".yml")) else str(c) for c in given]
        if full_grid or demo or len(given) == 1:
            return names, False, []
        params["candidates"] = [given[0]]
        return names[:1], False, [f"configs {', '.join(names[1:])} (not rendered)"]
    if full_grid or len(fits) <= 1:
        return (fits or ["the decided config"]), False, []
    asked = params.get("config")
    if asked is not None and asked in fits:
        params["candidates"] = [asked]
        return [asked], False, [f"{', '.join(f for f in fits if f != asked)} (not rendered; --config names {asked})"]
    decision = decide_config(described)
    if decision.decided and decision.config in fits:
        params["candidates"] = [decision.config]
        return [decision.config], False, [f"{', '.join(f for f in fits if f != decision.config)} (not rendered: "
                                          f"{decision.how} decides {decision.config})"]
    return ["the probe's pick"], True, [f"one of {', '.join(fits)} rendered (the probe's pick, else the first), "
                                        "not each"]


def _text_lengths(params: dict[str, Any]) -> tuple[int, float, float]:
    """(chunks, generated seconds, reference seconds) of the text 04 speaks, by f5-tts's rules."""
    try:
        from f5lab.speech.text.analysis import analyse

        r = analyse(params["gen_text"], params.get("lang") or "en", vocab=params.get("vocab"),
                    normalize=params.get("normalize", True), ref_text=params["ref_text"], ref_audio=params["ref_audio"])
        return max(1, len(r.chunks)), sum(c.seconds for c in r.chunks), float(r.reference["seconds"])
    except Exception:  # the notebook says what is wrong with the text; the plan guesses
        return 1, 3.0, 5.0


def predicted_seconds(summary: dict[str, Any]) -> dict[str, float]:
    """Per notebook, the plan's predicted seconds, as ``summary.json`` keeps them (``timings``)."""
    return {name: t["predicted"]["value"] for name, t in (summary.get("timings") or {}).items()
            if isinstance(t, dict) and "predicted" in t}


def predicted_total(summary: dict[str, Any]) -> float | None:
    return (((summary.get("timings") or {}).get("plan") or {}).get("predicted_total") or {}).get("value")


# -- a sweep's plan ---------------------------------------------------------------------------------
@dataclass
class SweepPlan:
    """Predicted seconds per unit of a sweep (a point's notebooks) and in all, on ``workers``."""

    units: dict[str, float]
    workers: int
    basis: str
    nfe: dict[str, list[int]] = field(default_factory=dict)

    @property
    def total_s(self) -> float:
        """Work shared by the workers (each a process of one thread: CPU-bound work adds up the same)."""
        return sum(self.units.values()) / max(1, min(self.workers, len(self.units) or 1))

    def to_dict(self) -> dict[str, Any]:
        return {"predicted_s": {k: round(v, 1) for k, v in self.units.items()}, "workers": self.workers,
                "total_s": round(self.total_s, 1), "basis": self.basis}

    def lines(self, shown: int = 8) -> list[str]:
        from f5lab.escaping import terminal

        out = [f"plan: {len(self.units)} unit(s) to run on {self.workers} worker(s), predicted ~{duration(self.total_s)} "
               f"({self.basis})"]
        width = max([len(k) for k in self.units] + [0])
        for uid, s in list(self.units.items())[:shown]:
            nfe = ", ".join(str(n) for n in self.nfe.get(uid, []))
            out.append(f"  {terminal(uid, keep_newlines=False):<{width}}  ~{duration(s):>11}"
                       + (f"  NFE {nfe}" if nfe else ""))
        if len(self.units) > shown:
            out.append(f"  ... and {len(self.units) - shown} more")
        return out


def plan_sweep(units: Sequence[Any], workers: int, in_process: bool = False) -> SweepPlan:
    """Each unit's predicted seconds: a kernel per notebook (none in this process), a load, the
    held-out loss samples, and a rendering at its NFE (the speed model at its text's length)."""
    from f5lab.model.described import describe

    steps: dict[tuple, StepModel | None] = {}
    sizes: dict[str, int] = {}
    out: dict[str, float] = {}
    nfes: dict[str, list[int]] = {}
    basis = "no speed model for this device: fixed costs only"
    for u in units:
        p = u.params
        ck = str(p["checkpoint"])
        if ck not in sizes:
            sizes[ck] = Path(ck).stat().st_size
        key = (ck, p.get("gen_text"), p.get("ref_audio"), p.get("device"))
        if key not in steps:
            try:
                d = describe(ck, p.get("configs") or "auto")
                chunks, gen_s, ref_s = _text_lengths({**p, "gen_text": p.get("gen_text") or "Hello from f5lab."})
                steps[key] = step_model(d.spec, gen_s / max(chunks, 1), ref_s, str(p.get("device") or "cpu"))
            except Exception:  # the point notebook says what is wrong; the plan only guesses
                steps[key] = None
        sm = steps[key]
        if sm is not None:
            basis = sm.basis
        nfe = int(p.get("nfe") or 32)
        samples = int(p.get("loss_samples") or 4) * max(1, len(p.get("val_audio") or []) or 1)
        seconds = (0.0 if in_process else KERNEL_S * len(u.notebooks)) + load_s(sizes[ck]) + RENDER_FIXED_S
        if sm is not None:
            seconds += samples * sm.probe_sample_s + nfe * sm.step_s + sm.text_s
        out[u.id] = seconds
        nfes[u.id] = [nfe]
    return SweepPlan(units=out, workers=workers, basis=basis, nfe=nfes)

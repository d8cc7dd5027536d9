"""The cells of ``05_sweep`` and ``sweep_point``: one set-up call, then one call per cell that
records what it shows in the sidecar and returns the table or figure to display.

Kept apart from ``nbviews`` (the four report notebooks): a sweep notebook reads a sweep's
``summary.json`` or evaluates one point, not a checkpoint's shapes.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from f5lab.escaping import terminal
from f5lab.reporting.sidecar import Sidecar, catalogue_for, setup_notebook, tiny_checkpoint


def shown(frame: Any) -> Any:
    """A table as a notebook shows it: pandas escapes HTML, not control characters, so every string
    (a checkpoint's or a config's name, a text) in its cells, index and header shows them as escapes."""
    def text(v: Any) -> Any:
        return terminal(v) if isinstance(v, str) else v

    out = frame.map(text) if hasattr(frame, "map") else frame.applymap(text)
    out.index = out.index.map(text)
    out.columns = out.columns.map(text)
    return out


@dataclass
class SweepContext:
    """What ``05_sweep``'s set-up call returns: the sweep's summary and the notebook's sidecar."""

    side: Sidecar
    summary: dict[str, Any]
    sweep_dir: Path


def sweep_setup(sidecar: str | os.PathLike | None, sweep_dir: str | os.PathLike | None) -> SweepContext:
    """Quiet notebook output and the sweep to show (a tiny training-run sweep when None); prints
    the one-line overview: how many points, their statuses and what varies."""
    import pandas as pd

    from f5lab.reporting.sweep import tiny_sweep

    setup_notebook()
    if sweep_dir is None:
        sweep_dir = tiny_sweep(tempfile.mkdtemp(prefix="f5lab-nb-"), nfe=(2, 4), dtype=("fp32",))
    summary = json.loads((Path(sweep_dir) / "summary.json").read_text(encoding="utf-8"))
    side = Sidecar(sidecar, "05_sweep")
    status = pd.Series([p["status"] for p in summary["points"].values()]).value_counts()
    side.record_many("points", status.to_dict(), "points")
    print(terminal(f"{len(summary['points'])} points; " + ", ".join(f"{n} {s}" for s, n in status.items())
                   + "; varying: " + (", ".join(f"{k} ({len(v)})" for k, v in summary["axes"].items()) or "nothing")))
    return SweepContext(side=side, summary=summary, sweep_dir=Path(sweep_dir))


def config_text(sw: SweepContext) -> None:
    """The config every point ran under and how it was decided (named, the shapes, lineage with its
    distance, the probe with its margin), recorded as ``config.<i>.*``."""
    from f5lab.reporting.sidecar import say

    decisions = sw.summary.get("config") or []
    for i, d in enumerate(decisions):
        sw.side.record(f"config.{i}.config", d.get("config"))
        sw.side.record(f"config.{i}.how", d["how"])
        for k, v in (d.get("evidence") or {}).items():
            sw.side.record(f"config.{i}.{k}", v)
        say(d["text"])  # the config, then how: named, the only fit, lineage's distance, the probe's margin
    if not decisions:
        say("not recorded (a sweep folder from before the config was decided per sweep)")


def points(sw: SweepContext) -> Any:
    """Every point's headline numbers, each recorded as ``points.<id>.<key>``."""
    from f5lab.reporting.comparison import points_table

    for pid, p in sw.summary["points"].items():
        for key, entry in p["numbers"].items():
            if key in sw.summary["units"]:
                sw.side.record(f"points.{pid}.{key}", entry["value"], entry["unit"])
    return frame_table(shown(points_table(sw.summary)))


def best(sw: SweepContext) -> Any:
    """The best point per metric, recorded (and the metrics nothing wins: every point ties, the best
    is a total failure, or the measure ranks nothing: a closeness to the checkpoint's own top-NFE
    rendering, peak memory at one architecture and setting); the best checkpoint by its loss as the
    verdict. f5-tts's ``pretrained_*`` copy is said to be the run's start, never crowned."""
    from f5lab.reporting.comparison import best_table, tie_text

    for pid in sw.summary.get("pretrained", []):
        print(f"{pid}: f5-tts's copy of the base (pretrained_*), the run's starting point: shown for reference, "
              "not a step of the run, never ranked")

    for key, b in sw.summary["best"].items():
        sw.side.record(f"best.{key}.point", b["point"])
        sw.side.record(f"best.{key}.value", b["value"], b["unit"])
    for key, t in sw.summary.get("tied", {}).items():
        sw.side.record(f"best.{key}.point", None)
        print(terminal(f"{t['label']}: no best point, {tie_text(key, t)}"))
    if "val_loss" in sw.summary["best"]:
        b = sw.summary["best"]["val_loss"]
        sw.side.verdict("best_checkpoint", f"best checkpoint by {b['label']}: {b['checkpoint']} (step {b['step']}), "
                        f"loss {b['value']:.4g}", ok=True)
    return frame_table(shown(best_table(sw.summary)))


def against_figures(sw: SweepContext, axes: tuple[str, ...] = ("step", "nfe", "dtype")) -> None:
    """One figure per axis that varies; a line saying so for each that does not."""
    from IPython.display import display

    from f5lab.reporting.comparison import plot_against

    for axis in axes:
        if axis in sw.summary["axes"]:
            display(sw.side.figure(f"vs_{axis}", plot_against(sw.summary, axis)))
        else:
            print(f"{axis}: one value in this sweep, nothing to plot")


def failed_text(sw: SweepContext) -> None:
    """Each point that did not finish, with its error's last line."""
    bad = {pid: p for pid, p in sw.summary["points"].items() if p["status"] != "ok"}
    for pid, p in bad.items():
        print(terminal(f"{pid}: {p['status'].upper()}" + (f" - {p['error']}" if p["error"] else "")))
    print("none" if not bad else f"{len(bad)} point(s) not ok")


def timings(sw: SweepContext) -> Any:
    """Wall-clock per point and RTF, rounded (they vary run to run)."""
    from f5lab.reporting.comparison import timings_table

    return frame_table(shown(timings_table(sw.summary)))


def frame_table(df: Any, digits: int = 4) -> Any:
    """A pandas frame as the notebooks show tables (``sidecar.Table``): its index as the first
    column (no unnamed index column), NaN as "-", floats to ``digits`` significant digits ("2.929",
    not "2.929000")."""
    from f5lab.reporting.sidecar import Table

    def cell(v: Any) -> Any:
        if v is None or (isinstance(v, float) and v != v):
            return None
        return float(f"{v:.{digits}g}") if isinstance(v, float) else v

    first = [df.index.name] if df.index.name else []
    rows = [{**({df.index.name: idx} if first else {}), **{c: cell(v) for c, v in r.items()}}
            for idx, r in df.iterrows()]
    return Table(rows, columns=first + [str(c) for c in df.columns])


@dataclass
class PointContext:
    """What ``sweep_point``'s set-up call returns: the evaluated point and its sidecar."""

    side: Sidecar
    evaluation: Any


def point_setup(sidecar: str | os.PathLike | None, checkpoint: str | os.PathLike | None, *, config: str | None,
                configs: str | None, ref_audio: str | None, ref_text: str | None, seed: int,
                **settings: Any) -> PointContext:
    """Evaluate one sweep point (a tiny F5TTS_Base fixture and f5-tts's example clip when the inputs
    are None); ``settings`` are ``evaluate_point``'s keyword arguments (nfe, dtype, device, ...)."""
    from f5lab.reporting.reports import DEMO_REF_TEXT, f5tts_example_audio
    from f5lab.speech.evaluation import evaluate_point, record

    setup_notebook()
    if checkpoint is None:
        checkpoint, configs, config = tiny_checkpoint(seed=seed), configs or "tiny", config or "F5TTS_Base"
    if ref_audio is None:
        ref_audio, ref_text = str(f5tts_example_audio()), DEMO_REF_TEXT
    side = Sidecar(sidecar, "sweep_point")
    ev = evaluate_point(checkpoint, ref_audio=ref_audio, ref_text=ref_text, config=config,
                        catalogue=catalogue_for(configs or "shipped"), seed=seed, **settings)
    record(side, ev)
    return PointContext(side=side, evaluation=ev)


def point_result(pt: PointContext) -> Any:
    """The point's notes, then its numbers as a table."""
    import pandas as pd

    from f5lab.speech.evaluation import as_table

    for note in pt.evaluation.notes:
        print("note:", terminal(note))
    return shown(pd.DataFrame(as_table(pt.evaluation)).set_index("what"))


def point_media(pt: PointContext, ref_audio: Any = None) -> Any:
    """The rendering's player, then its log-mel beside the reference clip's (seconds on the x axis,
    colour bars): what the sweep's index shows for this point. Returns the figure (2x PNG)."""
    from IPython.display import Audio, Image, display
    from matplotlib.figure import Figure

    from f5lab.reporting.reports import f5tts_example_audio
    from f5lab.reporting.sidecar import png_bytes
    from f5lab.speech.audio import prepare_reference
    from f5lab.speech.quality import log_mel
    from f5lab.speech.synth import draw_mel

    ev = pt.evaluation
    display(Audio(ev.wav, rate=ev.sample_rate, normalize=True))
    ref = prepare_reference(ref_audio or f5tts_example_audio())
    fig = Figure(figsize=(9, 2.4))
    left, right = fig.subplots(1, 2)
    draw_mel(left, log_mel(ref.wav, ref.sample_rate), ref.sample_rate, title="reference (as f5-tts conditions on it)")
    draw_mel(right, ev.mel, ev.sample_rate, title="this point's rendering (generated part)")
    fig.tight_layout()
    return Image(data=png_bytes(fig), format="png", retina=True)


def point_timings(pt: PointContext) -> Any:
    """Wall-clock seconds and RTF of the point's steps."""
    import pandas as pd

    return pd.Series({k: round(v, 3) for k, v in pt.evaluation.timings.items()},
                     name="seconds (RTF: s per s of audio)").to_frame()

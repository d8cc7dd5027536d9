"""A sweep, compared: one table of points x headline numbers, the best point per metric, plots.

Reads what the sweep left in its folder (``sweep.json``, each unit's ``done.json`` and the
point's ``mel.npy``) and computes only what needs several points at once: the mel distance
of each rendering to the reference setting of the same checkpoint (highest NFE, fp32 when
swept: a closeness, never crowned), the best point per metric where it ranks something, and the listening pairs (``ab_pairs``: each point against the
previous checkpoint and the best one at the same settings). ``summary.json`` follows the
report's rules: every number with its unit, timings apart, nothing run-specific (two runs give
equal summaries except ``timings``); missing and failed points are marked, never dropped. It
also carries how the sweep's config was decided (``config``, from ``sweep.json``) and each
point's media, relative to the sweep folder. The index page is ``f5lab.reporting.sweeppage``.
"""

from __future__ import annotations

from f5lab import escaping
import json
import math
from pathlib import Path
from typing import Any

from f5lab.speech.evaluation import METRICS, TIMED
from f5lab.units import MIB

POINT_NOTEBOOK = "sweep_point"  # the notebook each sweep point runs (f5lab.reporting.sweep imports it from here: no cycle)
REFERENCE_DIR = "_reference"  # the sweep's reference clips as players and mels: _reference/ref<i>.wav, ref<i>_mel.png

SCHEMA = 1
# closeness to the checkpoint's own reference rendering (its highest NFE, fp32 when swept): how far a setting strays
# from that rendering, not how good it is (the reference's own NFE is closest by construction): named so, never crowned
DISTANCES = {"mel_l1_vs_best": ("log-mel L1", "min", "mel L1 to its own top-NFE rendering"),
             "mcd_db_vs_best": ("dB", "min", "MCD to its own top-NFE rendering")}
CLOSENESS = tuple(DISTANCES)
# a measure set by the settings, not by the weights: equal across checkpoints of one architecture by construction,
# so ranked once per setting that changes it (config = architecture, dtype, device, the lengths), never per checkpoint
BY_SETTING = {"peak_memory_bytes": ("config", "dtype", "device", "ref", "gen_text")}
SETTINGS = ("checkpoint", "step", "config", "nfe", "dtype", "device", "ref", "gen_text")


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def read_done(folder: Path) -> dict[str, Any]:
    """A unit's ``done.json``, or {} when the unit cannot be trusted: no marker, the folder still
    marked incomplete (being written, or left by a stopped worker), or a file it recorded missing
    or of another size (deleted or damaged since)."""
    from f5lab.outputs import incomplete

    marker = _load(folder / "done.json")
    if not marker or incomplete(folder, levels=1):
        return {}
    for name, size in (marker.get("files") or {}).items():
        p = folder / name
        try:
            if p.stat().st_size != size:
                return {}
        except OSError:
            return {}
    return marker


def build_sweep_summary(sweep_dir: str | Path) -> dict[str, Any]:
    """``summary.json`` of a sweep folder: points (status, settings, numbers), shared units, best, timings."""
    sweep_dir = Path(sweep_dir)
    plan = _load(sweep_dir / "sweep.json")
    hashes = _load(sweep_dir / "hashes.json")
    units = {u["id"]: u for u in plan.get("units", [])}
    points: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    for p in plan.get("points", []):
        unit = units.get(p["id"])
        marker = read_done(sweep_dir / p["id"]) if unit else {}
        status = "missing" if not marker or marker.get("key") != unit["key"] else marker["status"]
        nbs = (marker.get("summary") or {}).get("notebooks", {}) if status != "missing" else {}
        numbers = {(k if name == POINT_NOTEBOOK else f"{name}.{k}"): v
                   for name, nb in nbs.items() for k, v in nb.get("numbers", {}).items()}
        failed_nb = next((n for n in marker.get("notebooks", []) if n["status"] != "ok"), None)
        points[p["id"]] = {"status": status, "settings": _settings(p, numbers, hashes), "numbers": numbers,
                           "error": (failed_nb or {}).get("error") or _last_line(marker.get("crash")),
                           "traceback": (failed_nb or {}).get("traceback") or marker.get("crash"),
                           "notebooks": {n["name"]: n["html"] for n in marker.get("notebooks", []) if n["html"]},
                           "media": point_media(p["id"], marker) if status == "ok" else {},
                           "reference": reference_index(p, plan)}
        if status != "missing":
            timings[p["id"]] = {**(marker.get("summary") or {}).get("timings", {}),
                                "point_total": {"value": marker.get("seconds"), "unit": "s"}}
    add_mel_distances(sweep_dir, points)
    shared = {uid: _shared_entry(sweep_dir, u) for uid, u in units.items() if uid.startswith("_shared/")}
    failed = [pid for pid, p in points.items() if p["status"] == "failed"]
    failed += [uid for uid, s in shared.items() if s["status"] == "failed"]
    missing = [pid for pid, p in points.items() if p["status"] == "missing"]
    missing += [uid for uid, s in shared.items() if s["status"] == "missing"]
    labels = {"val_loss": loss_label(points)}
    units = {k: {"unit": u, "goal": g, "label": labels.get(k, lab)} for k, (u, g, lab) in {**METRICS, **DISTANCES}.items()}
    best, tied = best_points(points, units)
    return {"schema": SCHEMA, "ok": not failed and not missing, "config": config_entry(plan), "points": points,
            "shared": shared, "axes": axes(points), "best": best, "tied": tied, "failed": failed, "missing": missing,
            "units": units, "references": reference_media(sweep_dir, plan), "ab": ab_pairs(points, best),
            "pretrained": [pid for pid, p in points.items() if p["settings"].get("pretrained")],
            "timings": timings, "best_timings": best_timings(points, timings)}


def config_entry(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """How the sweep's config was decided (``sweepconfig``): per architecture, the config, how
    (named, only fit, recorded, lineage, probe), the line that says it, the checkpoints it covers and
    the evidence (lineage's distance and margin, the probe's margin against its bar); no paths."""
    out = []
    for d in (plan.get("config_decision") or {}).get("decisions", []):
        entry = {k: d[k] for k in ("config", "how", "text", "checkpoints") if k in d}
        if d.get("configs"):
            entry["configs"] = d["configs"]
        if d["how"] == "lineage":
            entry["evidence"] = {k: d["lineage"].get(k) for k in ("base", "distance", "next_distance", "margin",
                                                                   "bases_apart")}
        elif d["how"] == "probe":
            entry["evidence"] = {k: d["probe"].get(k) for k in ("checkpoint", "best", "runner_up", "margin_pct",
                                                                 "bar_pct", "wins", "samples")}
        out.append(entry)
    return out


def point_media(pid: str, marker: dict[str, Any]) -> dict[str, str]:
    """A finished point's player and picture (``evaluation.MEDIA``), relative to the sweep folder:
    only files its done.json recorded (so they were checked to be there, whole)."""
    from f5lab.speech.evaluation import MEDIA

    files = marker.get("files") or {}
    return {k: f"{pid}/{name}" for k, name in MEDIA.items() if name in files}


def reference_index(point: dict[str, Any], plan: dict[str, Any]) -> int:
    """Which of the sweep's reference clips (1-based, ``_reference/ref<i>``) the point imitates."""
    refs = [list(r) for r in ((plan.get("spec") or {}).get("grid") or {}).get("ref", [])]
    return refs.index(list(point["ref"])) + 1 if list(point["ref"]) in refs else 1


def reference_media(sweep_dir: Path, plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Each reference clip's player and picture under ``_reference/`` (relative), and its transcript."""
    out = []
    for i, (audio, text) in enumerate(((plan.get("spec") or {}).get("grid") or {}).get("ref", []), 1):
        files = {"audio": f"{REFERENCE_DIR}/ref{i}.wav", "mel": f"{REFERENCE_DIR}/ref{i}_mel.png"}
        out.append({"name": Path(audio).name, "text": text,
                    **{k: v for k, v in files.items() if (sweep_dir / v).is_file()}})
    return out


def ab_pairs(points: dict[str, Any], best: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    """For each finished point: the point of the previous checkpoint in training order and the point of
    the best checkpoint (by the loss, when one is crowned) at the same settings (config, NFE, dtype,
    device, reference, text); None where there is none, or it is the point itself."""
    best_ck = (best.get("val_loss") or {}).get("checkpoint")
    groups: dict[tuple, list[str]] = {}
    for pid, p in points.items():
        s = p["settings"]
        groups.setdefault(tuple(s[k] for k in ("config", "nfe", "dtype", "device", "ref", "gen_text")), []).append(pid)
    out: dict[str, dict[str, str | None]] = {}
    for members in groups.values():
        done = [pid for pid in members if points[pid]["status"] == "ok" and points[pid]["media"].get("audio")]
        # f5-tts's pretrained_* copy is the run's starting point: a reference, never a step's "previous"
        run = [pid for pid in done if not points[pid]["settings"].get("pretrained")]
        start = next((pid for pid in done if points[pid]["settings"].get("pretrained")), None)
        for pid in done:
            top = next((q for q in done if points[q]["settings"]["checkpoint"] == best_ck), None)
            i = run.index(pid) if pid in run else None
            out[pid] = {"previous": run[i - 1] if i else None, "best": top if top != pid else None}
            if start is not None:
                out[pid]["start"] = start if start != pid else None
    return out


def loss_label(points: dict[str, Any]) -> str:
    """"held-out loss" only when every point's loss is on held-out clips (--val-audio); else it is
    the loss on the reference clip, the one the renderings imitate, and says so."""
    sources = {p["numbers"].get("val_source", {}).get("value") for p in points.values() if p["status"] == "ok"}
    return "held-out loss" if sources == {"held-out clips"} else "loss on the reference clip"


def _last_line(text: str | None) -> str | None:
    return text.strip().splitlines()[-1] if text and text.strip() else None


def _settings(point: dict[str, Any], numbers: dict[str, Any], hashes: dict[str, str]) -> dict[str, Any]:
    from f5lab.reporting.sweepspec import is_pretrained_copy

    ck = Path(point["checkpoint"])
    sha = next((v for k, v in hashes.items() if k.split("|")[0] == str(ck)), None)
    start = is_pretrained_copy(ck)  # the base f5-tts copied in: its recorded update is the base's, not the run's
    return {"checkpoint": ck.name, "checkpoint_sha256": sha,
            "step": None if start else numbers.get("step", {}).get("value"), **({"pretrained": True} if start else {}),
            "config": point["config"] or numbers.get("config", {}).get("value"), "nfe": point["nfe"],
            "dtype": point["dtype"], "device": point["device"], "ref": Path(point["ref"][0]).name,
            "gen_text": point["gen_text"]}


def _shared_entry(sweep_dir: Path, unit: dict[str, Any]) -> dict[str, Any]:
    marker = read_done(sweep_dir / unit["id"])
    status = "missing" if not marker or marker.get("key") != unit["key"] else marker["status"]
    return {"status": status, "notebooks": unit["notebooks"], "points": unit["points"],
            "error": next((n["error"] for n in marker.get("notebooks", []) if n["status"] != "ok"), None)}


def add_mel_distances(sweep_dir: Path, points: dict[str, Any]) -> None:
    """Each rendering against the best setting of its checkpoint: highest NFE, fp32 preferred."""
    import numpy as np

    from f5lab.speech.quality import mel_distance

    groups: dict[tuple, list[str]] = {}
    for pid, p in points.items():
        s = p["settings"]
        if p["status"] == "ok" and (sweep_dir / pid / "mel.npy").exists():
            groups.setdefault((s["checkpoint"], s["config"], s["device"], s["ref"], s["gen_text"]), []).append(pid)
    for members in groups.values():
        if len(members) < 2:
            continue
        ref = max(members, key=lambda pid: (points[pid]["settings"]["nfe"], points[pid]["settings"]["dtype"] == "fp32"))
        ref_mel = np.load(sweep_dir / ref / "mel.npy")
        for pid in members:
            nums = points[pid]["numbers"]
            nums["mel_reference"] = {"value": ref, "unit": None}
            if pid == ref:
                continue  # never a rendering against itself
            d = mel_distance(np.load(sweep_dir / pid / "mel.npy"), ref_mel)
            nums["mel_l1_vs_best"] = {"value": d["mel_l1"], "unit": "log-mel L1"}
            nums["mcd_db_vs_best"] = {"value": d["mcd_db"], "unit": "dB"}


def _value(point: dict[str, Any], key: str) -> float | None:
    v = point["numbers"].get(key, {}).get("value")
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


PER_CHECKPOINT = ("val_loss",)  # computed on the fp32 model before synthesis: one value per checkpoint, whatever the NFE


def best_points(points: dict[str, Any], units: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per headline metric: the point with the best value (ties: the first in sweep order), by
    ``decide.crown``; a metric where every candidate ties, or whose best is a total failure, is
    crowned nowhere and listed in the second dict instead, and so is one that ranks nothing: a
    closeness to the checkpoint's own reference rendering (``CLOSENESS``), or a measure the
    settings fix (``BY_SETTING``: peak memory) with a single setting. The loss is ranked per
    checkpoint (its first point), not per NFE or dtype, which it does not depend on; peak memory
    per setting, not per checkpoint. f5-tts's ``pretrained_*`` copy (the run's start) is never crowned."""
    from f5lab.reporting import decide

    units = units or {k: {"unit": u, "goal": g, "label": lab} for k, (u, g, lab) in {**METRICS, **DISTANCES}.items()}
    out, tied = {}, {}
    for key, meta in units.items():
        scored = [(v, pid) for pid, p in points.items() if p["status"] == "ok" and (v := _value(p, key)) is not None
                  and not p["settings"].get("pretrained")]
        if not scored:
            continue
        values = sorted({v for v, _ in scored})
        if key in CLOSENESS:
            tied[key] = {"label": meta["label"], "unit": meta["unit"], "candidates": len(scored), "values": values,
                         "reason": "a closeness to each checkpoint's own top-NFE rendering, not a quality: ranks "
                                   "nothing"}
            continue
        if key in PER_CHECKPOINT:
            first: dict[tuple, tuple[float, str]] = {}
            for v, pid in scored:
                s = points[pid]["settings"]
                first.setdefault((s["checkpoint"], s["config"], s["device"]), (v, pid))
            scored = list(first.values())
        if key in BY_SETTING:
            per: dict[tuple, tuple[float, str]] = {}
            for v, pid in scored:
                per.setdefault(tuple(points[pid]["settings"][k] for k in BY_SETTING[key]), (v, pid))
            if len(per) < 2:
                tied[key] = {"label": meta["label"], "unit": meta["unit"], "candidates": len(scored),
                             "values": values, "reason": "one architecture at the same dtype, device and lengths "
                                                         "throughout: equal by construction whichever checkpoint (NFE "
                                                         "moves it by a few MB at most)"}
                continue
            scored = list(per.values())
        pid = decide.crown(scored, meta["goal"], decide.TOTAL_FAILURE.get(key))
        if pid is None:
            values = sorted({v for v, _ in scored})
            tied[key] = {"label": meta["label"], "unit": meta["unit"], "candidates": len(scored), "values": values}
            continue
        v = next(v for v, q in scored if q == pid)
        out[key] = {"point": pid, "checkpoint": points[pid]["settings"]["checkpoint"],
                    "step": points[pid]["settings"]["step"], "value": v, "unit": meta["unit"], "goal": meta["goal"],
                    "label": meta["label"]}
    return out, tied


def best_timings(points: dict[str, Any], timings: dict[str, Any]) -> dict[str, Any]:
    """The fastest point by real-time factor (a timing: kept apart, it varies run to run)."""
    out = {}
    for key, (unit, goal, label) in TIMED.items():
        scored = [(t[POINT_NOTEBOOK][key]["value"], pid) for pid, t in timings.items()
                  if points[pid]["status"] == "ok"
                  and isinstance(t.get(POINT_NOTEBOOK, {}).get(key, {}).get("value"), (int, float))]
        if scored:
            v, pid = min(scored)
            out[key] = {"point": pid, "value": v, "unit": unit, "goal": goal, "label": label}
    return out


def axes(points: dict[str, Any]) -> dict[str, list[Any]]:
    """The settings that vary across the sweep's points, each with its values in sweep order."""
    out = {}
    for key in SETTINGS:
        values = list(dict.fromkeys(p["settings"][key] for p in points.values()))
        if len(values) > 1:
            out[key] = values
    return out


# -- presentation: the tables and figures the comparison notebook and the index show ---------------------------
COLUMNS = {  # summary key -> (column header with unit, significant digits: 0.00122 stays 0.00122, not "0.00")
    "val_loss": ("loss", 4), "speaker_similarity": ("speaker sim. (cosine)", 2),
    "wer": ("WER %", 3), "mel_l1_vs_best": ("mel L1 to own top NFE", 3),
    "mcd_db_vs_best": ("MCD to own top NFE (dB)", 3),
    "peak_memory_bytes": ("peak memory (MiB)", 4),
}


def header(summary: dict[str, Any], key: str) -> str:
    """A column's header: the loss says what it was computed on (held-out clips or the reference)."""
    if key == "val_loss":
        return (summary.get("units", {}).get("val_loss") or {}).get("label", "loss")
    return COLUMNS[key][0]


def significant(value: float, digits: int) -> float:
    """``value`` to ``digits`` significant digits (0 stays 0)."""
    return float(f"{float(value):.{digits}g}")


def _shown(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "peak_memory_bytes":
        value = value / MIB
    return significant(value, COLUMNS[key][1])


def points_table(summary: dict[str, Any]) -> Any:
    """One row per point: the settings that vary (and the config, always), status, then every headline
    number (units in headers)."""
    import pandas as pd

    varying = [k for k in SETTINGS if k in summary["axes"] or k == "config"]
    if varying == ["config"]:
        varying = ["checkpoint", "config"]
    rows = []
    for pid, p in summary["points"].items():
        row = {"point": pid, **{k: p["settings"][k] for k in varying}, "status": p["status"]}
        for key in COLUMNS:
            row[header(summary, key)] = _shown(key, _value(p, key))
        rows.append(row)
    df = pd.DataFrame(rows).set_index("point")
    return df.dropna(axis=1, how="all")


def best_table(summary: dict[str, Any]) -> Any:
    """Per metric: which point is best, its checkpoint and step, and the value with its unit."""
    import pandas as pd

    rows = [{"metric": b["label"], "goal": "lowest" if b["goal"] == "min" else "highest", "best point": b["point"],
             "checkpoint": b["checkpoint"], "step": b["step"], "value": _shown(key, b["value"]),
             "unit": "MiB" if key == "peak_memory_bytes" else b["unit"]}
            for key, b in summary["best"].items()]
    return pd.DataFrame(rows).set_index("metric") if rows else pd.DataFrame()


def timings_table(summary: dict[str, Any]) -> Any:
    """Wall-clock per point (load, loss, synthesis, whole unit) and RTF: they vary run to run."""
    import pandas as pd

    rows = []
    for pid, t in summary["timings"].items():
        nb = t.get(POINT_NOTEBOOK, {})
        rows.append({"point": pid, **{k: (nb.get(k) or {}).get("value") for k in ("load_s", "val_loss_s", "synth_s")},
                     "RTF": (nb.get("rtf") or {}).get("value"), "notebook s": (nb.get("notebook") or {}).get("value"),
                     "point total s": (t.get("point_total") or {}).get("value")})
    return pd.DataFrame(rows).set_index("point") if rows else pd.DataFrame()


def plot_against(summary: dict[str, Any], axis: str, metrics: tuple[str, ...] = ("val_loss", "speaker_similarity",
                 "mcd_db_vs_best")) -> Any:
    """Each metric against ``axis`` (step, nfe or dtype), one line per setting of the other axes."""
    import matplotlib.pyplot as plt

    metrics = tuple(m for m in metrics if any(_value(p, m) is not None for p in summary["points"].values())
                    and not (m in PER_CHECKPOINT and axis in ("nfe", "dtype")))  # flat by construction
    fig, axs = plt.subplots(1, max(1, len(metrics)), figsize=(4.2 * max(1, len(metrics)), 3.2), squeeze=False)
    others = [k for k in ("checkpoint", "nfe", "dtype", "config", "device") if k in summary["axes"] and k != axis
              and not (axis == "step" and k == "checkpoint")]
    for ax, key in zip(axs[0], metrics):
        lines: dict[str, list[tuple[Any, float]]] = {}
        for p in summary["points"].values():
            v = _value(p, key)
            if v is not None and p["settings"].get(axis) is not None:
                label = ", ".join(f"{k} {p['settings'][k]}" for k in others) or "all points"
                lines.setdefault(label, []).append((p["settings"][axis], _shown(key, v)))
        for label, pts in lines.items():
            pts.sort(key=lambda t: (str(type(t[0])), t[0]))
            ax.plot([str(x) if axis == "dtype" else x for x, _ in pts], [y for _, y in pts], marker="o", label=label)
        ax.set_xlabel({"step": "training step (update)", "nfe": "NFE (ODE steps)", "dtype": "dtype"}.get(axis, axis))
        ax.set_ylabel(header(summary, key))
        ax.grid(alpha=0.3)
    if len(lines) > 1:
        axs[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def tie_text(key: str, t: dict[str, Any]) -> str:
    """Why a metric has no best point: it ranks nothing (``reason``), every candidate ties, or the best
    is a total failure."""
    if t.get("reason"):
        return t["reason"]
    shown = ", ".join(_fmt(key, v, t["unit"]) for v in t["values"][:3])
    if len(t["values"]) == 1:
        return f"all {t['candidates']} tie at {shown}"
    return f"the best is a total failure ({shown})"


def _fmt(key: str, value: Any, unit: str | None = None) -> str:
    """A number at its stable precision, with its unit when asked (bytes shown in MiB)."""
    if value is None:
        return "-"
    if key not in COLUMNS:
        return escaping.html(str(value))
    text = f"{_shown(key, value):.{COLUMNS[key][1]}g}"
    if key == "peak_memory_bytes":
        return f"{text} MiB"
    return f"{text} {escaping.html(unit)}" if unit else text

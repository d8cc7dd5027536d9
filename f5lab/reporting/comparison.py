"""A sweep, compared: one table of points x headline numbers, the best point per metric, plots.

Reads what the sweep left in its folder (``sweep.json``, each unit's ``done.json`` and the
point's ``mel.npy``) and computes only what needs several points at once: the mel distance
of each rendering to the best setting of the same checkpoint (highest NFE, fp32 when swept)
and the best point per metric. ``summary.json`` follows the report's rules: every number
with its unit, timings apart, nothing run-specific (two runs give equal summaries except
``timings``); missing and failed points are marked, never dropped.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from f5lab.speech.evaluation import METRICS, TIMED

POINT_NOTEBOOK = "sweep_point"  # the notebook each sweep point runs (f5lab.reporting.sweep imports it from here: no cycle)

SCHEMA = 1
DISTANCES = {"mel_l1_vs_best": ("log-mel L1", "min", "mel L1 vs best setting"),
             "mcd_db_vs_best": ("dB", "min", "MCD vs best setting")}
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
                           "notebooks": {n["name"]: n["html"] for n in marker.get("notebooks", []) if n["html"]}}
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
    return {"schema": SCHEMA, "ok": not failed and not missing, "points": points, "shared": shared,
            "axes": axes(points), "best": best, "tied": tied, "failed": failed, "missing": missing,
            "units": units, "timings": timings, "best_timings": best_timings(points, timings)}


def loss_label(points: dict[str, Any]) -> str:
    """"held-out loss" only when every point's loss is on held-out clips (--val-audio); else it is
    the loss on the reference clip, the one the renderings imitate, and says so."""
    sources = {p["numbers"].get("val_source", {}).get("value") for p in points.values() if p["status"] == "ok"}
    return "held-out loss" if sources == {"held-out clips"} else "loss on the reference clip"


def _last_line(text: str | None) -> str | None:
    return text.strip().splitlines()[-1] if text and text.strip() else None


def _settings(point: dict[str, Any], numbers: dict[str, Any], hashes: dict[str, str]) -> dict[str, Any]:
    ck = Path(point["checkpoint"])
    sha = next((v for k, v in hashes.items() if k.split("|")[0] == str(ck)), None)
    return {"checkpoint": ck.name, "checkpoint_sha256": sha, "step": numbers.get("step", {}).get("value"),
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
    crowned nowhere and listed in the second dict instead. The loss is ranked per checkpoint
    (its first point), not per NFE or dtype, which it does not depend on."""
    from f5lab.reporting import decide

    units = units or {k: {"unit": u, "goal": g, "label": lab} for k, (u, g, lab) in {**METRICS, **DISTANCES}.items()}
    out, tied = {}, {}
    for key, meta in units.items():
        scored = [(v, pid) for pid, p in points.items() if p["status"] == "ok" and (v := _value(p, key)) is not None]
        if key in PER_CHECKPOINT:
            first: dict[tuple, tuple[float, str]] = {}
            for v, pid in scored:
                s = points[pid]["settings"]
                first.setdefault((s["checkpoint"], s["config"], s["device"]), (v, pid))
            scored = list(first.values())
        if not scored:
            continue
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
    "wer": ("WER %", 3), "mel_l1_vs_best": ("mel L1 vs best", 3), "mcd_db_vs_best": ("MCD vs best (dB)", 3),
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
        value = value / 2**20
    return significant(value, COLUMNS[key][1])


def points_table(summary: dict[str, Any]) -> Any:
    """One row per point: the settings that vary, status, then every headline number (units in headers)."""
    import pandas as pd

    varying = [k for k in SETTINGS if k in summary["axes"]] or ["checkpoint"]
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


def write_sweep_index(sweep_dir: str | Path, summary: dict[str, Any]) -> Path:
    """The sweep's static page: the best point per metric first, then every point, failures marked."""
    from f5lab.reporting.reports import CSS, VIEWPORT

    sweep_dir = Path(sweep_dir)
    best = "".join(f"<tr><td>{html.escape(b['label'])}</td><td>{'lowest' if b['goal'] == 'min' else 'highest'}</td>"
                   f"<td><b>{html.escape(b['point'])}</b></td><td>{_fmt(key, b['value'], b['unit'])}</td></tr>"
                   for key, b in summary["best"].items())
    best += "".join(f"<tr><td>{html.escape(t['label'])}</td><td>-</td><td class='neutral'>none: {tie_text(key, t)}</td>"
                    "<td>-</td></tr>" for key, t in summary.get("tied", {}).items())
    heads = "".join(f"<th>{html.escape(header(summary, k))}</th>" for k in COLUMNS)
    rows = []
    for pid, p in summary["points"].items():
        s = p["settings"]
        status = {"ok": '<span class="ok">ok</span>', "missing": '<span class="bad">MISSING</span>'}.get(
            p["status"], f'<span class="bad">FAILED</span><br><code>{html.escape(p["error"] or "")}</code>')
        links = " ".join(f'<a href="{html.escape(pid)}/{html.escape(h)}">{html.escape(n)}</a>'
                         for n, h in p["notebooks"].items())
        cells = "".join(f"<td>{_fmt(k, _value(p, k))}</td>" for k in COLUMNS)
        rows.append(f"<tr><td><b>{html.escape(pid)}</b><br><span class='small'>{html.escape(str(s['checkpoint']))}"
                    f" · step {s['step']} · NFE {s['nfe']} · {s['dtype']} · {s['device']}</span></td>"
                    f"<td>{status}</td>{cells}<td>{links}</td></tr>")
    banner = (f'<p class="bad">failed: {html.escape(", ".join(summary["failed"]) or "none")}; '
              f'missing: {html.escape(", ".join(summary["missing"]) or "none")}</p>' if not summary["ok"]
              else '<p class="ok">every point ran</p>')
    timed = "".join(f"<li>{html.escape(b['label'])}: fastest {html.escape(b['point'])} ({b['value']} {b['unit']})</li>"
                    for b in summary.get("best_timings", {}).values())
    compare = ('<p><a href="05_sweep.html">the comparison notebook</a> (plots against step, NFE and dtype)</p>'
               if (sweep_dir / "05_sweep.html").exists() else "")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8">{VIEWPORT}<title>f5lab sweep {html.escape(sweep_dir.name)}</title>
<style>{CSS}</style></head><body>
<h1>f5lab sweep <code>{html.escape(sweep_dir.name)}</code></h1>
{banner}
<h2>Best point per metric</h2>
<table><tr><th>metric</th><th>goal</th><th>best point</th><th>value</th></tr>{best}</table>
<h2>Every point</h2>
<table><tr><th>point</th><th>status</th>{heads}<th>parts</th></tr>{''.join(rows)}</table>
<h2>Timings</h2>
<p class="small">Wall clock, so they vary run to run; in summary.json under <code>timings</code>.</p>
<ul>{timed or "<li>-</li>"}</ul>
{compare}<p><a href="summary.json">summary.json</a> (every number with its unit; timings apart) &middot;
<a href="sweep.json">sweep.json</a> (the points and their parameters)</p>
</body></html>
"""
    from f5lab import outputs

    return outputs.write_text(sweep_dir / "index.html", page, force=True)


def tie_text(key: str, t: dict[str, Any]) -> str:
    """Why a metric has no best point: every candidate ties, or the best is a total failure."""
    shown = ", ".join(_fmt(key, v, t["unit"]) for v in t["values"][:3])
    if len(t["values"]) == 1:
        return f"all {t['candidates']} tie at {shown}"
    return f"the best is a total failure ({shown})"


def _fmt(key: str, value: Any, unit: str | None = None) -> str:
    """A number at its stable precision, with its unit when asked (bytes shown in MiB)."""
    if value is None:
        return "-"
    if key not in COLUMNS:
        return html.escape(str(value))
    text = f"{_shown(key, value):.{COLUMNS[key][1]}g}"
    if key == "peak_memory_bytes":
        return f"{text} MiB"
    return f"{text} {html.escape(unit)}" if unit else text

"""The sweep's ``index.html``: what a TensorBoard or W&B user looks for, as one static page.

The config every point ran under and how it was decided first; the best point per metric; every
point in a table one sorts by clicking a header (a few lines of inline JavaScript: no external
asset, works offline and from a file); then the media: each reference clip's player and log-mel,
and per point its rendering's player and log-mel beside the previous checkpoint's and the best
checkpoint's at the same settings (``comparison.ab_pairs``), so a training run is heard as it
learns. Media stay in the sweep folder and are linked relatively (the folder can be moved or
served as is); pictures are 2x PNGs shown at half their pixels. Readable at phone width: tables
become one block per row, each cell labelled (``@media (max-width:40em)``).

Presentation only: every number and pair comes from ``summary.json`` (``comparison``).
"""

from __future__ import annotations

from f5lab import escaping
from pathlib import Path
from typing import Any

from f5lab.reporting.comparison import COLUMNS, SETTINGS, _fmt, _value, header, tie_text

SHOWN_WIDTH = 320  # CSS px of a mel picture in the listening table (its PNG has 1000 px: sharp on any screen)
LABELS = {"checkpoint": "checkpoint", "step": "step", "config": "config", "nfe": "NFE", "dtype": "dtype",
          "device": "device", "ref": "reference", "gen_text": "text"}
PAGE_CSS = """body{max-width:80em}th.sort{cursor:pointer}th.sort::after{content:" \\2195";
color:#999}th[aria-sort=ascending]::after{content:" \\25B2";color:#222}th[aria-sort=descending]::after{
content:" \\25BC";color:#222}figure{margin:0}figure img{max-width:100%;height:auto;display:block}
audio{width:100%;min-width:10em;max-width:26em}figcaption{font-size:.85em;color:#555}
td[data-v]{white-space:nowrap}td b{overflow-wrap:normal}.f5sortby{display:none}
table.sortable{font-size:.9em}table.sortable td,table.sortable th{padding:.3em .4em}
@media (max-width:40em){body{max-width:none}td[data-label]::before{content:attr(data-label) ": ";font-weight:bold}
td[data-v]{white-space:normal}.f5sortby{display:block;margin:.3em 0}}
"""
# click a header: rows sorted by its cells' data-v (numbers as numbers), again: the other way; blanks last
SORT_JS = """<script>
function f5key(row, i) { var c = row.cells[i]; var v = c.getAttribute("data-v"); return v === null ? c.textContent.trim() : v; }
function f5cmp(a, b) { var x = parseFloat(a), y = parseFloat(b);
  return (!isNaN(x) && !isNaN(y) && isFinite(a) && isFinite(b)) ? x - y : a.localeCompare(b); }
function f5sort(table, i, asc) { var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (r, s) { var a = f5key(r, i), b = f5key(s, i);
    if (a === "" || b === "") { return (a === "") - (b === ""); } return asc ? f5cmp(a, b) : f5cmp(b, a); });
  rows.forEach(function (r) { body.appendChild(r); }); }
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th.sort").forEach(function (th) { th.addEventListener("click", function () {
    var asc = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th.sort").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending"); f5sort(table, th.cellIndex, asc); }); });
  var pick = document.createElement("select"), label = document.createElement("label");
  label.className = "f5sortby"; label.textContent = "sort by ";
  table.querySelectorAll("th.sort").forEach(function (th) { [true, false].forEach(function (asc) {
    var o = document.createElement("option"); o.value = th.cellIndex + (asc ? "+" : "-");
    o.textContent = th.textContent + (asc ? " (lowest first)" : " (highest first)"); pick.appendChild(o); }); });
  pick.addEventListener("change", function () { var v = pick.value;
    f5sort(table, parseInt(v, 10), v.slice(-1) === "+"); });
  label.appendChild(pick); table.parentNode.insertBefore(label, table); });
</script>"""


def e(text: Any) -> str:
    return escaping.html(str(text))


def write_sweep_index(sweep_dir: str | Path, summary: dict[str, Any]) -> Path:
    """The sweep's static page: its config and how it was decided, the best point per metric, every
    point (sortable), the media (references, each point against the previous and the best checkpoint)."""
    from f5lab import outputs
    from f5lab.reporting.reports import CSS, VIEWPORT

    sweep_dir = Path(sweep_dir)
    banner = (f'<p class="bad">failed: {e(", ".join(summary["failed"]) or "none")}; '
              f'missing: {e(", ".join(summary["missing"]) or "none")}</p>' if not summary["ok"]
              else '<p class="ok">every point ran</p>')
    timed = "".join(f"<li>{e(b['label'])}: fastest {e(b['point'])} ({b['value']} {b['unit']})</li>"
                    for b in summary.get("best_timings", {}).values())
    compare = ('<p><a href="05_sweep.html">the comparison notebook</a> (plots against step, NFE and dtype)</p>'
               if (sweep_dir / "05_sweep.html").exists() else "")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8">{VIEWPORT}<title>f5lab sweep {e(sweep_dir.name)}</title>
<style>{CSS}{PAGE_CSS}</style></head><body>
<h1>f5lab sweep <code>{e(sweep_dir.name)}</code></h1>
{banner}
<h2>Config</h2>
{config_html(summary)}
<h2>Best point per metric</h2>
{best_html(summary)}
<h2>Every point</h2>
<p class="small">Click a header to sort by it (again: the other way).</p>
{points_html(summary)}
<h2 id="listen">Listen</h2>
{listen_html(summary)}
<h2>Timings</h2>
<p class="small">Wall clock, so they vary run to run; in summary.json under <code>timings</code>.</p>
<ul>{timed or "<li>-</li>"}</ul>
{compare}<p><a href="summary.json">summary.json</a> (every number with its unit; timings apart) &middot;
<a href="sweep.json">sweep.json</a> (the points and their parameters)</p>
{SORT_JS}
</body></html>
"""
    return outputs.write_text(sweep_dir / "index.html", page, force=True)


HOW = {"named": "named", "only fit": "the only config the shapes fit", "recorded": "recorded in the file",
       "lineage": "decided by lineage", "probe": "decided by the behavioural probe"}


def config_html(summary: dict[str, Any]) -> str:
    """One line per decision: the config, how it was decided, and which checkpoints it covers."""
    items = []
    for d in summary.get("config") or []:
        cks = d.get("checkpoints") or []
        covers = f" ({len(cks)} checkpoint{'s' if len(cks) != 1 else ''})" if cks else ""
        items.append(f"<li><b>{e(HOW.get(d['how'], d['how']))}</b>{covers}: {e(d['text'])}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else "<p class='neutral'>- (not recorded)</p>"


def best_html(summary: dict[str, Any]) -> str:
    best = "".join(f"<tr><td data-label='metric'>{e(b['label'])}</td>"
                   f"<td data-label='goal'>{'lowest' if b['goal'] == 'min' else 'highest'}</td>"
                   f"<td data-label='best point'><b>{e(b['point'])}</b></td>"
                   f"<td data-label='value'>{_fmt(key, b['value'], b['unit'])}</td></tr>"
                   for key, b in summary["best"].items())
    best += "".join(f"<tr><td data-label='metric'>{e(t['label'])}</td><td>-</td>"
                    f"<td class='neutral' data-label='best point'>none: {tie_text(key, t)}</td><td>-</td></tr>"
                    for key, t in summary.get("tied", {}).items())
    return f"<table><tr><th>metric</th><th>goal</th><th>best point</th><th>value</th></tr>{best}</table>"


def setting_columns(summary: dict[str, Any]) -> list[str]:
    """The settings the points table shows: checkpoint, step and config always, the others that vary."""
    return [k for k in SETTINGS if k in ("checkpoint", "step", "config") or k in summary["axes"]]


def points_html(summary: dict[str, Any]) -> str:
    """Every point, one row: its settings, status, headline numbers (data-v: the raw value, for
    sorting), a link to its media and its notebook pages."""
    cols = setting_columns(summary)
    heads = ["point"] + [LABELS[k] for k in cols] + ["status"] + [header(summary, k) for k in COLUMNS]
    thead = "".join(f'<th class="sort">{e(h)}</th>' for h in heads) + "<th>listen</th><th>parts</th>"
    rows = []
    for pid, p in summary["points"].items():
        s = p["settings"]
        status = {"ok": '<span class="ok">ok</span>', "missing": '<span class="bad">MISSING</span>'}.get(
            p["status"], f'<span class="bad">FAILED</span><br><code>{e(p["error"] or "")}</code>')
        cells = [f"<td data-label='point'><b>{e(pid)}</b></td>"]
        for k in cols:
            v = s.get(k)
            sort = "" if v is None else e(v)
            cells.append(f"<td data-label='{e(LABELS[k])}' data-v=\"{sort}\">{'-' if v is None else e(_short(k, v))}</td>")
        cells.append(f"<td data-label='status' data-v=\"{e(p['status'])}\">{status}</td>")
        for k in COLUMNS:
            v = _value(p, k)
            cells.append(f"<td data-label='{e(header(summary, k))}' data-v=\"{'' if v is None else repr(v)}\">"
                         f"{_fmt(k, v)}</td>")
        listen = f'<a href="#listen-{e(pid)}">listen</a>' if p.get("media", {}).get("audio") else "-"
        links = " ".join(f'<a href="{e(escaping.url(f"{pid}/{h}"))}">{e(n)}</a>' for n, h in p["notebooks"].items()) or "-"
        cells.append(f"<td data-label='listen'>{listen}</td><td data-label='parts'>{links}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="sortable"><thead><tr>{thead}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _short(key: str, value: Any) -> str:
    text = str(value)
    return text if key != "gen_text" or len(text) <= 40 else text[:37] + "..."


def media_html(media: dict[str, str], caption: str, alt: str) -> str:
    """A player and a mel picture (linked to itself at full size), with a caption."""
    if not media.get("audio"):
        return "<span class='neutral'>-</span>"
    mel, audio = e(escaping.url(media["mel"])) if media.get("mel") else "", e(escaping.url(media["audio"]))
    img = (f'<a href="{mel}"><img src="{mel}" width="{SHOWN_WIDTH}" alt="{e(alt)}" '
           f'loading="lazy"></a>' if media.get("mel") else "")
    return (f'<figure><audio controls preload="none" src="{audio}"></audio>{img}'
            f"<figcaption>{e(caption)}</figcaption></figure>")


def _caption(p: dict[str, Any], pid: str) -> str:
    step = p["settings"].get("step")
    return f"{pid}" + (f" · step {step}" if step is not None else "")


def listen_html(summary: dict[str, Any]) -> str:
    """Per settings group (config, NFE, dtype, device, reference, text): its reference clip first, then
    each finished point's rendering beside the previous checkpoint's and the best checkpoint's."""
    points, ab = summary["points"], summary.get("ab") or {}
    if not ab:
        return "<p class='neutral'>no finished point has a rendering to play</p>"
    groups: dict[tuple, list[str]] = {}
    for pid in ab:
        s = points[pid]["settings"]
        groups.setdefault(tuple(s[k] for k in ("config", "nfe", "dtype", "device", "ref", "gen_text")), []).append(pid)
    refs = summary.get("references") or []
    best = (summary["best"].get("val_loss") or {}).get("checkpoint")
    out = ['<p class="small">Each rendering beside the previous checkpoint\'s (training order) and the best '
           f"checkpoint's{f' ({e(best)}, by the loss)' if best else ''} at the same settings; the reference "
           "clip first, as f5-tts conditions on it (mono 24 kHz, clipped to about 12 s). Mels: log magnitude, "
           "seconds on the x axis.</p>"]
    for key, members in groups.items():
        config, nfe, dtype, device, _ref, text = key
        if len(groups) > 1:
            out.append(f"<h3>{e(config)} &middot; NFE {e(nfe)} &middot; {e(dtype)} &middot; {e(device)}</h3>")
        first = points[members[0]]
        ref = refs[first.get("reference", 1) - 1] if len(refs) >= first.get("reference", 1) else {}
        rows = [f"<tr><td data-label='point'><b>reference</b><br><span class='small'>{e(ref.get('name', ''))}: "
                f"<i>{e(ref.get('text', ''))}</i></span></td><td colspan='3' data-label='reference'>"
                f"{media_html(ref, 'the reference clip', 'log-mel of the reference clip')}</td></tr>"]
        for pid in members:
            pair = ab[pid]
            cells = [media_html(points[pid]["media"], _caption(points[pid], pid), f"log-mel of {pid}")]
            for kind in ("previous", "best"):
                other = pair.get(kind)
                cells.append(media_html(points[other]["media"], _caption(points[other], other), f"log-mel of {other}")
                             if other else "<span class='neutral'>-</span>")
            rows.append(f"<tr id='listen-{e(pid)}'><td data-label='point'><b>{e(pid)}</b><br>"
                        f"<span class='small'>&ldquo;{e(_short('gen_text', text))}&rdquo;</span></td>"
                        f"<td data-label='this rendering'>{cells[0]}</td>"
                        f"<td data-label='previous checkpoint'>{cells[1]}</td>"
                        f"<td data-label='best checkpoint'>{cells[2]}</td></tr>")
        out.append("<table><tr><th>point</th><th>this rendering</th><th>previous checkpoint</th>"
                   f"<th>best checkpoint</th></tr>{''.join(rows)}</table>")
    return "\n".join(out)

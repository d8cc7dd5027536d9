"""The report's pages in a real browser, at a desktop's 1280 px and a phone's 420 px.

Headless Chromium (Debian's ``chromium`` package; ``make test`` installs it when run as root)
loads ``index.html``, ``report.html`` and a sweep's ``index.html`` inside iframes of each width
(a headless window cannot be narrower than 500 px; an iframe can) and measures, in the page:

* no horizontal overflow: ``document.documentElement.scrollWidth <= innerWidth``;
* no word broken inside itself: every run of letters and digits (a word, a number such as
  ``1.26``, the parts of an id between its separators) sits on one line. Runs over 30 characters
  (a sha256) are left out: no phone line holds them whole.

Skipped, with the reason printed, only where no Chromium can be found or installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

WIDTHS = (1280, 420)

CHECK_JS = r"""
function f5check(win) {
  var doc = win.document, res = {w: win.innerWidth, sw: doc.documentElement.scrollWidth, broken: []};
  var walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT), n, m;
  var re = /[A-Za-z0-9]+(?:[.,][0-9]+)*/g;
  while ((n = walker.nextNode())) {
    if (!n.parentElement || n.parentElement.closest("script,style,head")) continue;
    var shut = n.parentElement.closest("details:not([open])");  // folded away: not on screen
    if (shut && !n.parentElement.closest("summary")) continue;
    re.lastIndex = 0;
    while ((m = re.exec(n.data))) {
      var tok = m[0];
      if (tok.length < 2 || tok.length > 30) continue;
      var r = doc.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + tok.length);
      var tops = {}, count = 0;
      Array.prototype.forEach.call(r.getClientRects(), function (x) {
        if (x.width > 0) { var t = Math.round(x.top); if (!(t in tops)) { tops[t] = 1; count++; } } });
      if (count > 1) res.broken.push(tok + " <" + n.parentElement.tagName.toLowerCase() + ">");
    }
  }
  return res;
}
"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium()
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, timeout=900)
        found = chromium()
    if found is None:
        reason = "no Chromium: install Debian's chromium package (apt-get install chromium) to run the browser test"
        print(reason)
        pytest.skip(reason)
    return found


def measure(browser: str, pages: list[Path], tmp: Path) -> dict[str, dict]:
    """Each page at each width, measured inside an iframe of that width."""
    frames = "".join(f'<iframe id="f{i}_{w}" src="{p.resolve().as_uri()}" style="width:{w}px;height:900px;border:0">'
                     "</iframe>" for i, p in enumerate(pages) for w in WIDTHS)
    ids = [f"f{i}_{w}" for i in range(len(pages)) for w in WIDTHS]
    wrapper = tmp / "f5lab_browser_check.html"
    wrapper.write_text(f"""<!doctype html><html><body style="margin:0">{frames}
<pre id="result"></pre><script>{CHECK_JS}
window.addEventListener("load", function () {{ var out = {{}};
  {json.dumps(ids)}.forEach(function (id) {{ var f = document.getElementById(id);
    try {{ out[id] = f5check(f.contentWindow); }} catch (e) {{ out[id] = {{error: String(e)}}; }} }});
  document.getElementById("result").textContent = JSON.stringify(out); }});
</script></body></html>""", encoding="utf-8")
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                           "--window-size=1400,1000", "--virtual-time-budget=10000", "--dump-dom", wrapper.as_uri()],
                          capture_output=True, text=True, timeout=180)
    found = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
    assert found and found.group(1), f"the browser gave no measurement: {proc.stderr[-500:]}"
    import html

    raw = json.loads(html.unescape(found.group(1)))
    return {f"{pages[int(k[1:].split('_')[0])].name}@{k.split('_')[1]}": v for k, v in raw.items()}


@pytest.fixture(scope="module")
def report_pages(tmp_path_factory) -> list[Path]:
    from f5lab.reporting.reports import run_report
    from f5lab.synthetic.layouts import build_checkpoint

    tmp = tmp_path_factory.mktemp("browser")
    ckpt = build_checkpoint(tmp / "tiny_model.safetensors", config="F5TTS_Base", scale="tiny").path
    rep = run_report(ckpt, out=tmp / "reports", run_id="tiny", progress=False, nfe=2,
                     gen_text="Olá, São Paulo: custa 1.234 reais.", lang="pt-BR", configs="tiny")
    assert rep.ok, rep.failed
    return [rep.run_dir / "index.html", rep.run_dir / "report.html"]


@pytest.fixture(scope="module")
def sweep_page(tmp_path_factory) -> Path:
    from f5lab.reporting.sweep import tiny_sweep

    folder = tiny_sweep(tmp_path_factory.mktemp("browser_sweep"), nfe=(2, 4), dtype=("fp32",))
    return folder / "index.html"


def assert_readable(measured: dict[str, dict]) -> None:
    problems = []
    for page, m in measured.items():
        if "error" in m:
            problems.append(f"{page}: {m['error']}")
            continue
        if m["sw"] > m["w"]:
            problems.append(f"{page}: {m['sw']} px wide in a {m['w']} px window")
        if m["broken"]:
            problems.append(f"{page}: words broken inside: {', '.join(m['broken'][:8])}")
    assert not problems, "\n".join(problems)


def test_executed_parameters_cell_keeps_accents(report_pages):
    """The parameters papermill stored in the report's executed notebook read as typed."""
    import nbformat

    nb = nbformat.read(report_pages[0].with_name("04_synthesis.ipynb"), as_version=4)
    (cell,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "Olá, São Paulo" in cell.source
    assert not re.search(r"\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}", cell.source), cell.source


def test_report_pages_fit_desktop_and_phone(browser, report_pages, tmp_path):
    measured = measure(browser, report_pages, tmp_path)
    assert set(measured) == {f"{p.name}@{w}" for p in report_pages for w in WIDTHS}
    assert all(m.get("w") in WIDTHS for m in measured.values()), measured  # the frames really had those widths
    assert_readable(measured)


def test_sweep_page_fits_desktop_and_phone(browser, sweep_page, tmp_path):
    assert_readable(measure(browser, [sweep_page], tmp_path))


def test_the_check_catches_overflow_and_broken_words(browser, tmp_path):
    """The measurement can fail: a 600 px block overflows 420 px, and a word in a 3-em box breaks."""
    page = tmp_path / "bad.html"
    page.write_text('<!doctype html><html><head><meta name="viewport" content="width=device-width"></head><body>'
                    '<div style="width:600px">wide</div><div style="width:3em;overflow-wrap:anywhere">'
                    "02_compatibility 1234567.891</div></body></html>", encoding="utf-8")
    measured = measure(browser, [page], tmp_path)
    m = measured["bad.html@420"]
    assert m["sw"] > m["w"] == 420
    assert "compatibility <div>" in m["broken"] and "1234567.891 <div>" in m["broken"]

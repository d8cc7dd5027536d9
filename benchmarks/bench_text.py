"""``f5lab text`` against the cheapest alternative that uses f5-tts's own text functions.

Three child processes, each run ``--repeats`` times, medians reported (wall, CPU, peak RSS):

* baseline ``python``: an interpreter that starts and exits (what any command costs at least);
* ``f5lab text --lang pt-BR --json``: normalise, check, chunk and time a pt-BR text;
* ``f5-tts chunk_text``: ``from f5_tts.infer.utils_infer import chunk_text`` and one call on
  the same text, what a script calling f5-tts's own chunker pays (that module imports torch,
  torchaudio, transformers and vocos at import time).

Target (issue 19): ``f5lab text`` well under a second, torch never imported (the test in
tests/test_text_cli.py asserts the second; timings live here, not in unit tests).

    .venv/bin/python benchmarks/bench_text.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_measured  # noqa: E402

TEXT = "Custa R$ 1.234,56 às 14h30. O Sr. Silva chegou em 01/12/2024, na 1ª hora, com 2 malas de 23 kg."


def commands() -> dict[str, list[str]]:
    py = sys.executable
    return {
        "python": [py, "-c", "pass"],
        "f5lab text": [py, "-m", "f5lab", "text", "--lang", "pt-BR", "--json", TEXT],
        "f5-tts chunk_text": [py, "-c", "from f5_tts.infer.utils_infer import chunk_text; "
                                        f"chunk_text({TEXT!r}, 135)"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "TQDM_DISABLE": "1"}
    results: dict[str, dict[str, float]] = {}
    for name, cmd in commands().items():
        runs = [run_measured(cmd, env) for _ in range(args.repeats)]
        bad = [r for r in runs if r["rc"] != 0]
        if bad:
            raise SystemExit(f"{name} failed: {bad[0]['stderr']}")
        results[name] = {k: round(statistics.median(r[k] for r in runs), 3) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
    base = results["python"]["wall_s"]
    for name, r in results.items():
        print(f"{name:18s} wall {r['wall_s']:6.3f} s ({r['wall_s'] / base:5.1f}x python)  cpu {r['cpu_s']:6.3f} s  "
              f"peak RSS {r['peak_rss_mb']:7.1f} MiB")
    ratio = results["f5-tts chunk_text"]["wall_s"] / results["f5lab text"]["wall_s"]
    print(f"f5lab text is {ratio:.1f}x faster than importing f5-tts's chunker; target: under 1 s "
          f"({'met' if results['f5lab text']['wall_s'] < 1.0 else 'NOT met'})")
    if args.json:
        Path(args.json).write_text(json.dumps({"text": TEXT, "repeats": args.repeats, "results": results}, indent=2))


if __name__ == "__main__":
    main()

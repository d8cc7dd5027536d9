"""How often ``normalize(..., "pt-BR")`` agrees with a written->spoken pt-BR test suite, per class.

The suite is read from a path given on the command line (nothing of it is shipped here): a folder of
``test_cases_<class>.txt`` files, or one such file, each line ``written~spoken`` with any further
``~alternative`` spellings the suite accepts (the format of NVIDIA NeMo-text-processing's
``tests/nemo_text_processing/pt/data_text_normalization/``). Two scores per class:

* exact: the normalised text equals the expected (or an alternative) character for character;
* loose: compared lowercase, punctuation and hyphens as spaces, whitespace collapsed, and either
  decimal style accepted (f5lab reads "3,25" as "três vírgula vinte e cinco"; a suite may read the
  decimals digit by digit, "três vírgula dois cinco": the case passes when either reading matches).

    .venv/bin/python benchmarks/bench_text_ptbr.py PATH [--show-failures]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from f5lab.speech.text.normalizer import Normalizer  # noqa: E402


def read_suite(path: Path) -> list[tuple[str, str, list[str]]]:
    """(class, written, [expected, alternatives...]) for every non-empty line of the suite."""
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    if not files:
        raise SystemExit(f"{path}: no .txt suite files")
    cases = []
    for f in files:
        cls = re.sub(r"^test_cases_", "", f.stem)
        for line in f.read_text(encoding="utf-8").splitlines():
            if "~" not in line or not line.strip():
                continue
            written, *spoken = line.split("~")
            expected = [s.strip() for s in spoken if s.strip()]
            if expected:
                cases.append((cls, written, expected))
    return cases


def loose(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]|_", " ", text.lower()).split())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suite", type=Path)
    ap.add_argument("--show-failures", action="store_true")
    args = ap.parse_args()
    cases = read_suite(args.suite)
    ours = Normalizer("pt-BR")
    digits = Normalizer("pt-BR", overrides={"numbers": {"decimals": "digits"}})
    per: dict[str, dict[str, int]] = {}
    failures = []
    t0 = time.perf_counter()
    for cls, written, expected in cases:
        got = ours(written).text
        alt = digits(written).text
        row = per.setdefault(cls, {"n": 0, "exact": 0, "loose": 0})
        row["n"] += 1
        row["exact"] += got in expected
        ok = {loose(got), loose(alt)} & {loose(e) for e in expected}
        row["loose"] += bool(ok)
        if not ok:
            failures.append((cls, written, got, expected[0]))
    seconds = time.perf_counter() - t0
    total = {k: sum(r[k] for r in per.values()) for k in ("n", "exact", "loose")}
    print(f"{'class':12s} {'cases':>5s} {'exact':>7s} {'loose':>7s}")
    for cls, r in sorted(per.items()) + [("ALL", total)]:
        print(f"{cls:12s} {r['n']:5d} {100 * r['exact'] / r['n']:6.1f}% {100 * r['loose'] / r['n']:6.1f}%")
    print(f"{len(cases)} cases in {seconds:.2f} s ({1000 * seconds / max(1, len(cases)):.1f} ms each)")
    if args.show_failures:
        for cls, written, got, want in failures:
            print(f"[{cls}] {written!r}\n    got:  {got}\n    want: {want}")


if __name__ == "__main__":
    main()

"""Range checks for numeric settings, shared by synth, probe, report and sweep: refused in one
line naming the option, before anything is loaded. Kept apart so probe need not import synth."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from f5lab.errors import ConfigError
from f5lab.facts import SWAY_RANGE

MAX_SEED = 2**63 - 1  # torch.manual_seed's range; synthesis chunk i uses seed + i


@dataclass(frozen=True)
class Range:
    """One numeric setting's bounds, declared once: the click types, the sweep-file schema and the
    library's checks are all derived from ``RANGES``, so a bound is one edit."""

    low: float | None
    high: float | None
    integer: bool = False
    low_open: bool = False  # low itself refused (a speed or a duration of 0)
    why: str = ""


RANGES: dict[str, Range] = {
    "nfe": Range(1, 1000, integer=True, why="f5-tts uses 16-32; beyond 1000 a typo is likelier than a wish"),
    "seed": Range(0, MAX_SEED, integer=True, why="torch.manual_seed's range; chunk i uses seed + i"),
    "cfg_strength": Range(0.0, 10.0, why="f5-tts uses 2; 1e30 overflowed to an all-NaN wav"),
    "sway": Range(*SWAY_RANGE, why="beyond it the sway-sampled time grid stops increasing"),
    "speed": Range(0.0, 10.0, low_open=True, why="f5-tts's own UI offers 0.3-2.0"),
    "duration": Range(0.0, 600.0, low_open=True, why="seconds, the reference included"),
    "samples": Range(1, 10_000, integer=True, why="paired flow-matching loss samples of the probe"),
    "workers": Range(1, 256, integer=True, why="Dask workers of a sweep"),
    "batch": Range(1, 1024, integer=True, why="texts per call (profile)"),
    "budget": Range(0.0, 10_000.0, low_open=True, why="minutes the report's synthesis notebook may take"),
}


def check(name: str, value: Any, option: str | None = None, label: str | None = None) -> None:
    """``value`` within ``RANGES[name]``, else one line naming ``option`` (default ``--name``);
    ``label`` is the name the line starts with when the caller's parameter is spelt otherwise
    (the probe's ``n_samples`` is the ``samples`` range)."""
    r = RANGES[name]
    label = label or name
    if r.integer:
        check_int(label, value, int(r.low), int(r.high), option or "--" + name.replace("_", "-"))
    else:
        check_float(label, value, option or "--" + name.replace("_", "-"), r.low, r.high, r.low_open)


class SettingsError(ConfigError):
    """A setting out of range: refused before anything is loaded."""


def check_int(name: str, value: Any, low: int, high: int, option: str | None = None) -> None:
    """``value`` an integer (not a bool) in [low, high]; numpy integers count."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise SettingsError(f"{name} ({option or '--' + name.replace('_', '-')}) must be an integer from {low} "
                            f"to {high} (got {value!r})")


def check_float(name: str, value: Any, option: str, low: float | None = None, high: float | None = None,
                low_open: bool = False) -> None:
    """``value`` a finite real number within the bounds (``low`` excluded when ``low_open``)."""
    import numbers

    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        bound = ("" if low is None else f" {'>' if low_open else '>='} {low:g}") + \
            ("" if high is None else f"{' and' if low is not None else ''} <= {high:g}")
        raise SettingsError(f"{name} ({option}) must be a finite number{bound} (got {value!r})")

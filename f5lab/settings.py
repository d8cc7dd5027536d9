"""Range checks for numeric settings, shared by synth, probe, report and sweep: refused in one
line naming the option, before anything is loaded. Kept apart so probe need not import synth."""

from __future__ import annotations

import math
from typing import Any

from f5lab.errors import ConfigError

MAX_SEED = 2**63 - 1  # torch.manual_seed's range; synthesis chunk i uses seed + i


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

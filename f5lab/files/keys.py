"""State-dict keys grouped for humans: ``transformer.layers.*`` (56 keys), never 56 lines.

Used by diagnose (findings) and remap (refusals); kept apart so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class KeyGroup:
    """Keys that share a pattern (``transformer.layers.*``) and how many of the pattern's keys they are."""

    pattern: str
    count: int
    of: int | None = None  # keys the pattern has on the side being compared with
    keys: tuple[str, ...] = ()  # the keys themselves, for naming them when counts alone mislead

    @property
    def every(self) -> bool:
        return self.of is not None and self.count == self.of

    def __str__(self) -> str:
        if not self.count:
            return self.pattern
        return f"{'every ' if self.every else ''}{self.pattern} ({self.count} key{'s' * (self.count != 1)})"


def pattern_of(key: str) -> str:
    """``transformer.layers.3.2.to_q.weight`` -> ``transformer.layers.*``; keys without an index stay."""
    parts = key.split(".")
    for i, part in enumerate(parts):
        if part.isdigit() or part == "*":
            return ".".join(parts[:i]) + ".*"
    return ".".join(parts[:2]) + ".*" if len(parts) > 2 else key


def key_groups(keys: list[str], reference: list[str] | None = None) -> list[KeyGroup]:
    """Group keys by pattern, largest first; ``of`` counts the pattern's keys in ``reference``."""
    counts: dict[str, int] = {}
    for k in keys:  # a key quoted as a pattern ('transformer.layers.*') counts no keys
        counts[pattern_of(k)] = counts.get(pattern_of(k), 0) + (0 if k.endswith("*") else 1)
    ref: dict[str, int] = {}
    for k in reference or []:
        ref[pattern_of(k)] = ref.get(pattern_of(k), 0) + 1
    members: dict[str, list[str]] = {}
    for k in keys:
        members.setdefault(pattern_of(k), []).append(k)
    groups = [KeyGroup(p, n, ref.get(p) if reference is not None else None, tuple(sorted(members[p])))
              for p, n in counts.items()]
    return sorted(groups, key=lambda g: (-g.count, g.pattern))


def group_keys(keys: list[str]) -> list[str]:
    """Short human form: ``['transformer.layers.* (56 keys)', ...]``."""
    return [str(g) for g in key_groups(keys)]


def difference_parts(missing: list[str], unexpected: list[str],
                     reshaped: list[tuple[str, list[int], list[int]]]) -> list[str]:
    """How two state dicts differ, in grouped words: '3 keys missing (transformer.layers.* (3 keys))',
    '1 unexpected (...)', '1 of another shape (key [a, b] vs [c, d])' (found vs wanted)."""
    parts = []
    if missing:
        parts.append(f"{len(missing)} keys missing ({', '.join(group_keys(missing)[:3])})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected ({', '.join(group_keys(unexpected)[:3])})")
    if reshaped:
        key, found, wanted = reshaped[0]
        parts.append(f"{len(reshaped)} of another shape ({key} {list(found)} vs {list(wanted)})")
    return parts

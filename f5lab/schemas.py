"""Files users hand f5lab (config YAMLs, sweep files, synthesis records) checked against one pydantic
schema each, and a schema's first complaint turned into one line naming the file and the key.

Hand-written checks let the next shape through (``checkpoints: 5``, ``nfe: abc``, ``refs: hello``
were tracebacks; ``seed: -1`` was accepted and failed every point): a schema says what each key
holds, so anything else is refused before any work, e.g.

    sweep.yaml: nfe[1] is 'abc' (str); expected an integer from 1 to 1000
"""

from __future__ import annotations

import os
from typing import Any, Callable, TypeVar

from f5lab.errors import ConfigError

M = TypeVar("M")

KINDS = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "text", "str": "text",
         "list": "a list", "dict": "a mapping", "model": "a mapping", "dataclass": "a mapping"}


def validate(schema: type[M], data: Any, source: str | os.PathLike, prefix: str = "",
             explain: Callable[[dict[str, Any], str], str | None] | None = None,
             error: type[ConfigError] = ConfigError) -> M:
    """``schema.model_validate(data)``, or ``error`` with one line: ``source: key problem``.
    ``explain(err, key)`` may give a more specific sentence for an error."""
    from pydantic import ValidationError

    try:
        return schema.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        first = _most_specific(exc.errors(include_url=False))
        key = location(first["loc"], prefix)
        text = (explain(first, key) if explain else None) or describe(first, key)
        raise error(f"{source}: {text}") from None


def _most_specific(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Of a union's complaints (``x`` is neither an int nor a list of ints), the one about the deepest
    key, else the first: a list's bad item says more than "not an int"."""
    return max(errors, key=lambda e: (len([p for p in e["loc"] if not _is_branch(p)]), -errors.index(e)))


def _is_branch(part: Any) -> bool:
    """pydantic names the branch of a union it tried (``int``, ``list[int]``, ``literal['a']``)."""
    return isinstance(part, str) and (any(c in part for c in "[]'(-") or part in (
        "int", "str", "float", "bool", "none", "list", "dict"))


def location(loc: tuple[Any, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if _is_branch(part):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(the whole file)"


def describe(err: dict[str, Any], key: str) -> str:
    """One sentence for one pydantic error."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    shown = _show(value)
    if kind == "missing":
        return f"{key} missing"
    if kind == "extra_forbidden":
        return f"{key} is not a known key"
    if kind == "literal_error":
        return f"{key} {shown} is not one of {ctx.get('expected', '').replace(chr(39), '').replace(' or ', ', ')}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": "above", "greater_than_equal": "at least", "less_than": "below",
                 "less_than_equal": "at most"}[kind]
        limit = next(iter(ctx.values()), "?")
        return f"{key} is {shown}; expected {bound} {limit}"
    if kind == "string_too_short":
        return f"{key} is empty"
    if kind in ("string_too_long", "string_pattern_mismatch"):
        return f"{key} is {shown}; expected {err.get('msg', kind).lower().replace('string should', 'text that should')}"
    if kind in ("too_short", "too_long"):
        return f"{key} has {ctx.get('actual_length', '?')} item(s); expected " + \
            (f"at least {ctx.get('min_length')}" if kind == "too_short" else f"at most {ctx.get('max_length')}")
    if kind == "finite_number":
        return f"{key} is {shown}; expected a finite number"
    if kind.endswith(("_type", "_parsing")) or kind in ("int_from_float",):
        what = KINDS.get(kind.split("_")[0], kind.split("_")[0])
        return f"{key} is {shown} ({type(value).__name__}); expected {what}"
    return f"{key}: {err.get('msg', kind)} (got {shown})"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

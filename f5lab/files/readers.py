"""Reading a user's text, JSON and YAML files at bounded cost: one reader per kind, each with a cap.

Every file f5lab reads as text goes through here: the text to speak (``--text-file``), a config or
sweep YAML, a vocoder's config, a JSON record. Each reader checks, before anything parses the
bytes: a regular file (a FIFO or ``/dev/zero`` would block or never end), at most its cap (read
at most cap + 1 bytes, whatever ``stat`` says), UTF-8, no NUL (a binary file is not text). YAML
and JSON refuse a key given twice (f5-tts's OmegaConf refuses such a config; Python's json would
keep the last silently); YAML aliases are bounded (no billion laughs). Refusals are one-line
``ConfigError``s naming the file (or the caller's error class, ``error``).
"""

from __future__ import annotations

import json
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import Any

from f5lab.errors import ConfigError, F5LabError

MAX_TEXT_FILE_BYTES = 1_000_000  # the text to speak: as much as --text takes on the command line
MAX_JSON_BYTES = 16 * 1024 * 1024  # a record or a vocoder's config.json (BigVGAN's: 1 KB); f5lab's own summaries
MAX_YAML_BYTES = 256 * 1024  # a config or sweep file is kilobytes (f5-tts's: 2 KB)
MAX_YAML_NODES = 20_000  # nodes written (f5-tts's configs: ~100); PyYAML spends ~0.5 KB on each
MAX_YAML_DEPTH = 64  # f5-tts's configs nest 4 deep
YAML_NODE_BUDGET = 10_000  # nodes after alias expansion: this many, plus ...
YAML_NODES_PER_NODE = 64  # ... this many per node written: anchors reused, never a billion laughs
_CONTROL_OK = set("\t\n\r\f\v")


def read_bytes(path: str | os.PathLike, what: str, max_bytes: int,
               error: type[F5LabError] = ConfigError) -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` of them, else one line."""
    p = Path(path)
    try:
        st = os.stat(p)
        if stat.S_ISDIR(st.st_mode):
            raise error(f"{p}: is a directory, not a {what} file")
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{p}: not a regular file (a device, pipe or socket); give a {what} file")
        if st.st_size > max_bytes:
            raise error(f"{p}: {st.st_size} bytes is not a {what} file f5lab reads (at most {max_bytes})")
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise error(f"{p}: {what} file not found") from None
    except OSError as exc:
        raise error(f"{p}: cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # it grew while read
        raise error(f"{p}: more than {max_bytes} bytes is not a {what} file f5lab reads")
    return data


def decode_text(data: bytes, p: str | os.PathLike, what: str, error: type[F5LabError] = ConfigError) -> str:
    """UTF-8 text (a BOM dropped), refused in one line when it is binary: undecodable, a NUL, or
    mostly control characters."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{p}: not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); a {what} file "
                    "must be UTF-8 text") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise error(f"{p}: a binary file (a NUL byte at character {nul}), not a {what} file")
    controls = sum(1 for ch in text if (ord(ch) < 32 or 0x7f <= ord(ch) < 0xa0) and ch not in _CONTROL_OK)
    if controls > max(8, len(text) // 20):
        raise error(f"{p}: a binary file ({controls} control characters), not a {what} file")
    return text


def read_text(path: str | os.PathLike, what: str = "text", max_bytes: int = MAX_TEXT_FILE_BYTES,
              error: type[F5LabError] = ConfigError) -> str:
    """A UTF-8 text file of at most ``max_bytes``: one line naming the file otherwise."""
    return decode_text(read_bytes(path, what, max_bytes, error), path, what, error)


def read_json(path: str | os.PathLike, what: str = "JSON", max_bytes: int = MAX_JSON_BYTES,
              error: type[F5LabError] = ConfigError) -> Any:
    """A JSON file: capped, UTF-8, no key given twice, no NaN/Infinity; one line otherwise."""
    text = read_text(path, what, max_bytes, error)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                raise error(f"{path}: key {k!r} given twice; not a {what} file f5lab reads")
            out[k] = v
        return out

    def constant(name: str) -> Any:
        raise error(f"{path}: {name} is not a JSON number; not a {what} file f5lab reads")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except (ValueError, RecursionError) as exc:
        raise error(f"{path}: not valid JSON ({str(exc).splitlines()[0][:200]})") from None


# -- YAML ----------------------------------------------------------------------------------------------
def load_yaml(path: str | os.PathLike, what: str = "YAML") -> Any:
    """A YAML file, safely and at bounded cost: UTF-8 text, at most MAX_YAML_BYTES, nested at most
    MAX_YAML_DEPTH deep, no key twice in a mapping (f5-tts's OmegaConf refuses those), and its
    aliases expanding to at most YAML_NODE_BUDGET + YAML_NODES_PER_NODE x the nodes written (a
    470-byte alias bomb expands to hundreds of millions). Refused in one line naming the file,
    before anything walks the expanded tree (omegaconf, pydantic, json)."""
    import yaml

    p = Path(path)
    data = read_bytes(p, what, MAX_YAML_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text file (a {what} file must be UTF-8)") from None
    loader = None
    try:
        loader = _bounded_loader_class()(text)  # PyYAML's reader checks the characters here already
        loader.source = str(p)
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, yaml.reader.ReaderError):
            problem = f"a binary file (character {exc.character!r} at position {exc.position})"
        raise ConfigError(f"{p}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{p}: YAML nested too deep; not a file f5lab reads") from None
    finally:
        if loader is not None:
            loader.dispose()


def _bounded_loader() -> type:
    import yaml

    class Loader(yaml.SafeLoader):
        source = "YAML"
        depth = 0
        nodes = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            self.nodes += 1
            if self.nodes > MAX_YAML_NODES:
                raise ConfigError(f"{self.source}: more than {MAX_YAML_NODES:,} YAML values; not a file f5lab reads")
            if self.depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"{self.source}: YAML nested deeper than {MAX_YAML_DEPTH} levels (line "
                                  f"{mark.line + 1}); not a file f5lab reads")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def compose_document(self) -> Any:
            node = super().compose_document()
            _check_expansion(node, self.source)
            return node

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _value in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = key_node.value
                if key in seen:
                    raise ConfigError(f"{self.source}: key {key!r} given twice in one mapping (lines {seen[key]} "
                                      f"and {key_node.start_mark.line + 1}); f5-tts's OmegaConf refuses such a file")
                seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

    return Loader


def _check_expansion(root: Any, source: str) -> None:
    """Nodes the document expands to (an alias counts its anchor's whole subtree each time), computed
    once per distinct node, so the count costs the nodes written, not the expansion."""
    import yaml

    def children(node: Any) -> list[Any]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [x for pair in node.value for x in pair]
        return []

    def recursive(node: Any) -> ConfigError:
        return ConfigError(f"{source}: a YAML alias refers to itself (line {node.start_mark.line + 1}); not a "
                           "file f5lab reads")

    sizes: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in sizes:
            continue
        kids = children(node)
        if ready or not kids:
            open_.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(k)] for k in kids)
            continue
        open_.add(id(node))
        stack.append((node, True))
        for k in kids:
            if id(k) in open_:
                raise recursive(k)
            if id(k) not in sizes:
                stack.append((k, False))
    budget = YAML_NODE_BUDGET + YAML_NODES_PER_NODE * len(sizes)
    if sizes[id(root)] > budget:
        raise ConfigError(f"{source}: YAML aliases expand {len(sizes)} nodes to {sizes[id(root)]:,}, over the "
                          f"{budget:,} f5lab reads (an alias bomb?); write the values out")


@lru_cache(maxsize=1)
def _bounded_loader_class() -> type:
    return _bounded_loader()

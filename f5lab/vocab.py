"""Vocabulary files (vocab.txt): one token a line, line index = token id, space at 0."""

from __future__ import annotations

import hashlib
from pathlib import Path

from f5lab.errors import ConfigError


def default_vocab_path() -> Path:
    """The vocab.txt shipped with f5-tts (2545 lines), used when a checkpoint brings none."""
    from f5lab.arch import f5_tts_root

    return f5_tts_root() / "infer" / "examples" / "vocab.txt"


def read_vocab(path: str | Path | None = None) -> list[str]:
    """Tokens in id order, read exactly as f5-tts does (each line minus its last character)."""
    p = Path(path) if path is not None else default_vocab_path()
    if not p.is_file():
        raise ConfigError(f"{p}: vocab file not found")
    with open(p, encoding="utf-8") as fh:
        return [line[:-1] if line.endswith("\n") else line for line in fh]


def write_vocab(tokens: list[str], path: str | Path) -> Path:
    """Write tokens one a line, the inverse of read_vocab."""
    p = Path(path)
    p.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    return p


def vocab_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()

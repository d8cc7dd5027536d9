"""Vocabulary files (vocab.txt): one token a line, line index = token id, space at 0."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from f5lab.errors import ConfigError

DEFAULT_VOCAB_LINES = 2545  # lines of f5-tts's infer/examples/vocab.txt
MAX_VOCAB_BYTES = 2 * 2**20  # f5-tts's vocab.txt is 11 KB; the largest extension seen (5934 tokens) ~60 KB


def f5_tts_root() -> Path:
    """Where the installed f5_tts package lives (found without importing it)."""
    spec = importlib.util.find_spec("f5_tts")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("f5-tts is not installed in this environment (pip install f5-tts==1.1.22)")
    return Path(list(spec.submodule_search_locations)[0])


def default_vocab_path() -> Path:
    """The vocab.txt shipped with f5-tts (2545 lines), used when a checkpoint brings none."""
    return f5_tts_root() / "infer" / "examples" / "vocab.txt"


BOM = "\ufeff"


def read_vocab(path: str | Path | None = None) -> list[str]:
    """Tokens in id order, read as f5-tts's ``get_tokenizer`` does: UTF-8 text (a BOM is not
    removed: it becomes part of token 0, see ``effective``), universal newlines (a CRLF file gives
    the same tokens as its LF twin), each line minus its last character (``char[:-1]``: the newline,
    or, on a last line without one, its last character, exactly as f5-tts loses it).

    Raises a one-line ConfigError naming the file when it is missing, a directory, not UTF-8
    text, or empty: f5-tts would fail later with a traceback or build a 1-row embedding.
    """
    p = Path(path) if path is not None else default_vocab_path()
    if p.is_dir():
        raise ConfigError(f"{p}: is a directory, not a vocab file (give its vocab.txt)")
    if not p.is_file():
        raise ConfigError(f"{p}: vocab file not found")
    size = p.stat().st_size
    if size > MAX_VOCAB_BYTES:
        raise ConfigError(f"{p}: {size:,} bytes is not a vocab.txt (one token a line; f5lab reads at most "
                          f"{MAX_VOCAB_BYTES:,})")
    try:
        with open(p, encoding="utf-8") as fh:
            tokens = [line[:-1] for line in fh]
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start:exc.start + 1]
        raise ConfigError(f"{p}: vocab file is not UTF-8 text (byte {exc.start}: {bad!r}); f5-tts reads vocab.txt "
                          "as UTF-8") from None
    if not tokens:
        raise ConfigError(f"{p}: vocab file is empty (0 tokens); f5-tts's has {DEFAULT_VOCAB_LINES} lines")
    return tokens


def effective(tokens: list[str]) -> list[str]:
    """The tokens as f5-tts's lookups use them. A file saved with a UTF-8 BOM gives f5-tts the token
    '\ufeff ' at id 0; no text holds it, so a space is "unknown", which f5-tts maps to id 0: the
    same row. So id 0 still means what the line says without the BOM, and rows are mapped (and
    texts checked) by that token: the trained space row is kept, never re-initialised."""
    if tokens and tokens[0].startswith(BOM):
        return [tokens[0][len(BOM):]] + tokens[1:]
    return tokens


def vocab_notes(tokens: list[str], path: str | Path | None) -> list[str]:
    """What to say about how f5-tts reads this vocabulary (a BOM)."""
    if tokens and tokens[0].startswith(BOM):
        return [f"{path}: begins with a UTF-8 BOM; f5-tts reads its first token as {tokens[0]!r} and looks "
                f"{effective(tokens)[0]!r} up as an unknown character, i.e. id 0: the same row, so row 0 is kept "
                "(saving the file without a BOM changes nothing else)"]
    return []


def check_unique(tokens: list[str], path: str | Path | None) -> None:
    """Refuse a vocabulary listing a token twice: mapping rows by token would be ambiguous
    (f5-tts silently keeps the last id, leaving the first row unused)."""
    dups = duplicates(tokens)
    if dups:
        shown = ", ".join(repr(t) for t in dups[:5]) + (" ..." if len(dups) > 5 else "")
        raise ConfigError(f"{path or 'vocab'}: lists {len(dups)} token(s) more than once ({shown}); "
                          "each token must have one line")


def write_vocab(tokens: list[str], path: str | Path, force: bool = False) -> Path:
    """Write tokens one a line, the inverse of read_vocab (through f5lab.outputs: whole or not at all)."""
    from f5lab import outputs

    return outputs.write_text(path, "".join(t + "\n" for t in tokens), force=force)


def vocab_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- comparing two vocabularies (used by remap and diagnose) ---------------------------------
FILLER_ROW = 0  # f5-tts's TextEmbedding shifts every token id by one: row 0 is the padding filler


@dataclass
class VocabDiff:
    """How two vocab files relate, by token (never by index: fine-tunes reorder and extend)."""

    old_size: int
    new_size: int
    shared: int  # tokens present in both
    moved: int  # shared tokens whose index changed
    added: list[str]  # tokens only in the new vocab (their rows need an initialisation)
    dropped: list[str]  # tokens only in the old vocab (their trained rows are discarded)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diff_vocab(old: list[str], new: list[str]) -> VocabDiff:
    """Token-level comparison of an old and a new vocabulary."""
    old_index = token_ids(old)
    new_set = set(effective(new))
    shared = [t for t in token_ids(new) if t in old_index]
    new_index = token_ids(new)
    return VocabDiff(old_size=len(old), new_size=len(new), shared=len(shared),
                     moved=sum(1 for t in shared if old_index[t] != new_index[t]),
                     added=[t for t in new_index if t not in old_index],
                     dropped=[t for t in old_index if t not in new_set])


def token_ids(tokens: list[str]) -> dict[str, int]:
    """token -> id exactly as f5-tts builds ``vocab_char_map`` (a duplicated line: the last id
    wins), so a mapped row is the row the model really reads for that token; token 0 as f5-tts's
    lookups reach it (``effective``: a BOM left on it by the file is not part of any text)."""
    return {t: i for i, t in enumerate(effective(tokens))}


def duplicates(tokens: list[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({t for t in tokens if t in seen or seen.add(t)})  # type: ignore[func-returns-value]


def row_mapping(old: list[str], new: list[str]) -> list[int | None]:
    """For each embedding row of the new model, the old row holding the same token.

    Rows are token id + 1 (row 0 is the filler and maps to itself); ``None`` marks a
    token the old vocabulary lacks, whose row the caller must initialise.
    """
    old_index = token_ids(old)
    mapping: list[int | None] = [FILLER_ROW]
    for token in effective(new):
        j = old_index.get(token)
        mapping.append(None if j is None else j + 1)
    return mapping


def check_rows(tokens: list[str], rows: int, path: str | Path | None) -> None:
    """Raise a one-line ConfigError when a vocab file cannot belong to an embedding of ``rows`` rows."""
    if len(tokens) + 1 != rows:
        name = path if path is not None else "f5-tts's default vocab.txt"
        raise ConfigError(f"wrong vocab file: {name} has {len(tokens)} tokens ({len(tokens) + 1} rows with the "
                          f"filler) but the checkpoint's text embedding has {rows} rows, i.e. was trained with "
                          f"a {rows - 1}-line vocab.txt")


def vocab_beside(checkpoint: str | Path, rows: int) -> Path | None:
    """A vocab.txt next to ``checkpoint`` whose line count fits ``rows`` embedding rows
    (``<stem>_vocab.txt``, ``<stem>.txt``, ``vocab.txt``): what a fine-tune ships with its weights."""
    p = Path(checkpoint)
    for candidate in (p.with_name(p.stem + "_vocab.txt"), p.with_suffix(".txt"), p.with_name("vocab.txt")):
        try:
            if candidate.is_file() and len(read_vocab(candidate)) + 1 == rows:
                return candidate
        except (ConfigError, OSError, UnicodeDecodeError):
            continue
    return None

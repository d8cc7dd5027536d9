"""Remap a checkpoint into the exact state dict an f5-tts config loads strictly.

Two steps, kept apart on purpose. ``plan_remap`` decides (pure data, printable, JSON):
which state dict (EMA by default), which wrapper prefixes to strip, which stored keys to
drop (EMA bookkeeping, obsolete mel buffers, optimizer/scheduler containers), how to move
vocabulary rows between two vocab files (by token, never by index) and which dtype to
cast to. It refuses, with the reason, what no plan can reconcile: a DiT checkpoint does
not become a UNetT model by renaming keys. ``execute_plan`` acts: it streams tensor by
tensor into a temporary ``.safetensors`` next to the destination and renames it into
place, so peak memory is one tensor and an interrupted write leaves no half file. The
output's ``__metadata__`` records provenance (source sha256, config, vocab hashes, f5lab
and f5-tts versions, the plan).

Naming schemes: f5-tts's in-model key names are stable since 2024-10; what differs between
files in the wild is the wrappers around them (``ema_model.``, ``module.``, ``_orig_mod.``,
``model.``) and the obsolete mel buffers, which ``f5lab.files.checkpoint`` already recognises.
``KEY_RENAMES`` is the table where an in-model rename would go; it is empty because none is
known, and f5lab does not invent one.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from f5lab.model.arch import ConfigEntry, compare, infer_spec, rank_configs
from f5lab.model.configs import entry_metadata, resolve_config, write_config_fix
from f5lab.files.checkpoint import (EMA_DICT, ROOT, Checkpoint, ModelState, TensorInfo, open_checkpoint,
                                    read_safetensors_layout, torch_dtype)
from f5lab.files.dtypes import FLOAT_DTYPES, USER_DTYPES
from f5lab.outputs import Partial
from f5lab.errors import ConfigError, F5LabError

TEXT_EMBED = "transformer.text_embed.text_embed.weight"
# (regex on canonical key, replacement): in-model renames between f5-tts versions. None known.
KEY_RENAMES: list[tuple[str, str]] = []
# how rows for tokens the old vocabulary lacks are initialised
ROW_INITS = {
    "mean": "mean of the old vocabulary's trained token rows (filler row excluded): a neutral start",
    "randn": "torch.randn with seed 666, as f5-tts's own vocabulary extension does",
}
SHA_PLACEHOLDER = "0" * 64
CHUNK = 1 << 24
HASH_WINDOW = 1 << 26  # a multiple of mmap.ALLOCATIONGRANULARITY


class RemapError(F5LabError):
    """No plan maps this checkpoint onto that config (or the destination is unusable)."""


@dataclass
class TensorStep:
    """One output tensor: where it comes from and what happens to it on the way."""

    dst: str  # key in the output (canonical f5-tts name)
    src: str  # key as stored in the source state dict
    shape: list[int]
    dtype: str
    src_shape: list[int]
    src_dtype: str
    op: str  # "copy" | "cast" | "rows" | "rows+cast"


@dataclass
class VocabPlan:
    """Embedding rows moved by token between two vocab files."""

    vocab_from: str | None  # None: f5-tts's default vocab.txt
    vocab_to: str
    sha256_from: str
    sha256_to: str
    shared: int
    moved: int
    added: list[str]
    dropped: list[str]
    init: str  # key of ROW_INITS
    row_map: list[int | None] = field(repr=False)  # new row -> old row, None = initialise
    notes: list[str] = field(default_factory=list)  # how f5-tts reads the files (a BOM)

    def summary(self) -> str:
        return (f"{self.shared} shared tokens keep their trained rows ({self.moved} at a new index), "
                f"{len(self.added)} new tokens initialised by {self.init}, {len(self.dropped)} dropped")


@dataclass
class RemapPlan:
    """Everything ``execute_plan`` will do, decided up front; ``to_dict`` is ``--dry-run --json``."""

    src: str
    src_format: str
    config: str
    source_dict: str  # which state dict of the file the weights come from
    use_ema: bool
    text_num_embeds: int
    prefixes_stripped: list[str]
    dropped: list[dict[str, str]]  # {key, reason}
    steps: list[TensorStep]
    dtype: str | None  # output dtype of float tensors (safetensors name) or None = keep
    vocab: VocabPlan | None = None
    notes: list[str] = field(default_factory=list)
    entry: ConfigEntry | None = field(default=None, repr=False)  # the resolved config (recorded in the output)

    @property
    def changes(self) -> list[str]:
        """What the plan does beyond copying bytes under the same names, one line each."""
        out = []
        if self.source_dict != ROOT:
            kind = "EMA" if self.source_dict == EMA_DICT else "raw"
            why = " (the file has no EMA state dict)" if self.use_ema and kind == "raw" else ""
            out.append(f"take the {kind} weights from '{self.source_dict}'{why}")
        if self.prefixes_stripped:
            out.append(f"strip wrapper prefix(es) {', '.join(repr(p) for p in self.prefixes_stripped)}")
        for reason in sorted({d['reason'] for d in self.dropped}):
            keys = [d["key"] for d in self.dropped if d["reason"] == reason]
            out.append(f"drop {len(keys)} entr{'y' if len(keys) == 1 else 'ies'} ({reason}): {', '.join(keys[:4])}"
                       + (" ..." if len(keys) > 4 else ""))
        if self.vocab:
            out.append("map text embedding rows by token: " + self.vocab.summary())
        casts = [s for s in self.steps if "cast" in s.op]
        if casts:
            out.append(f"cast {len(casts)} float tensors {casts[0].src_dtype} -> {self.dtype}")
        return out

    @property
    def output_bytes(self) -> int:
        return sum(TensorInfo(tuple(s.shape), s.dtype).nbytes for s in self.steps)

    def to_dict(self, with_row_map: bool = False) -> dict[str, Any]:
        d = asdict(self)
        d.pop("entry", None)
        d["steps"] = len(self.steps)
        d["ops"] = {op: sum(1 for s in self.steps if s.op == op) for op in sorted({s.op for s in self.steps})}
        d["changes"] = self.changes
        d["output_bytes"] = self.output_bytes
        if self.vocab and not with_row_map:
            d["vocab"].pop("row_map")
        return d


# -- planning --------------------------------------------------------------------------------------
def resolve_entry(config: str | ConfigEntry, catalogue: Mapping[str, ConfigEntry] | None = None,
                  metadata: Mapping[str, str] | None = None) -> ConfigEntry:
    """f5lab.model.configs.resolve_config: a name, a YAML path, or the config ``metadata`` records."""
    return resolve_config(config, catalogue, metadata)


def plan_remap(src: str | os.PathLike | Checkpoint, config: str | ConfigEntry, vocab_from: str | None = None,
               vocab_to: str | None = None, dtype: str | None = None, use_ema: bool = True,
               catalogue: Mapping[str, ConfigEntry] | None = None, new_rows: str = "mean") -> RemapPlan:
    """Decide how ``src`` becomes a state dict that ``config`` loads with ``strict=True``.

    Raises RemapError, naming the reason and the right fix, when shapes cannot be reconciled.
    """
    ckpt = src if isinstance(src, Checkpoint) else open_checkpoint(src)
    entry = resolve_entry(config, catalogue, ckpt.metadata)
    given = vocab_from  # the user's, for the commands an error prints
    if vocab_from is None and entry.tokenizer_path:
        vocab_from = entry.tokenizer_path  # the config's model.tokenizer_path is the checkpoint's vocab
    if dtype is not None and dtype not in USER_DTYPES:
        raise ConfigError(f"unknown dtype {dtype!r}; use one of {', '.join(USER_DTYPES)}")
    if new_rows not in ROW_INITS:
        raise ConfigError(f"unknown row initialisation {new_rows!r}; use one of {', '.join(ROW_INITS)}")
    state = ckpt.model_state("ema" if use_ema else "raw")
    if not use_ema:
        check_raw_weights(ckpt, state)
    check_architecture(ckpt, state, entry, catalogue, given)
    rows = state.tensors[TEXT_EMBED].shape[0]
    vocab = _plan_vocab(rows, vocab_from, vocab_to, new_rows)
    text_num_embeds = len(vocab.row_map) - 1 if vocab else rows - 1
    names = {name: rename_key(name) for name in state.tensors}
    _check_keys(ckpt, entry, state, names, text_num_embeds)
    steps = [_step(name, names[name], state, vocab, USER_DTYPES.get(dtype or "")) for name in _read_order(ckpt, state)]
    dropped = [{"key": k, "reason": _drop_reason(k)} for k in state.dropped]
    dropped += [{"key": c, "reason": "not used for inference"} for c in ckpt.other_containers]
    dropped += [{"key": s, "reason": "the other state dict"} for s in ckpt.state_dicts if s != state.source]
    notes = list(vocab.notes) if vocab else []
    if vocab is None and rows != len(_default_tokens()) + 1:
        notes.append(f"{rows} embedding rows: loading needs the fine-tune's {rows - 1}-line vocab.txt")
    return RemapPlan(src=str(ckpt.path), src_format=ckpt.format, config=entry.name, source_dict=state.source,
                     use_ema=use_ema, text_num_embeds=text_num_embeds, prefixes_stripped=state.prefixes,
                     dropped=dropped, steps=steps, dtype=USER_DTYPES.get(dtype or ""), vocab=vocab, notes=notes,
                     entry=_output_entry(entry, vocab_to))


def _output_entry(entry: ConfigEntry, vocab_to: str | None) -> ConfigEntry:
    """The config the output loads under: rows moved onto ``vocab_to`` make that its vocab."""
    if vocab_to is None or entry.shipped:
        return entry
    from dataclasses import replace

    return replace(entry, tokenizer="custom", tokenizer_path=str(Path(vocab_to).resolve()))


def check_raw_weights(ckpt: Checkpoint, state: ModelState) -> None:
    """``--raw`` asks for the training weights: refuse a file that holds only EMA weights
    rather than silently writing those instead."""
    if state.source == EMA_DICT or (state.source == ROOT and "ema_model." in state.prefixes):
        raise RemapError(f"{ckpt.path}: has no raw (non-EMA) weights, only EMA ones (a release file); "
                         "drop --raw (use_ema=False) to use them")


def rename_key(name: str) -> str:
    for pattern, repl in KEY_RENAMES:
        name = re.sub(pattern, repl, name)
    return name


def check_architecture(ckpt: Checkpoint, state: ModelState, entry: ConfigEntry,
                       catalogue: Mapping[str, ConfigEntry] | None = None, vocab: str | None = None) -> None:
    """Refuse, with the fix, a config whose architecture differs from the checkpoint's shapes."""
    spec = infer_spec(state.tensors, source=ckpt.path)
    cand = compare(spec, entry)
    if cand.exact:
        return
    fits = [c.config for c in rank_configs(spec, catalogue) if c.exact]
    use = (f"use config {' or '.join(fits)}" + (" (shapes cannot tell them apart; see f5lab probe)"
                                                 if len(fits) > 1 else "")) if fits else \
        write_config_fix(ckpt.path, vocab=vocab)
    m = cand.mismatches[0]
    if m["fact"] == "backbone":
        raise RemapError(f"{ckpt.path.name}: cannot be fixed by remapping: the checkpoint is {spec.backbone}, "
                         f"config {entry.name} builds {entry.backbone} (different layers, not renamed ones); {use}")
    facts = ", ".join(f"{x['fact']} {x['checkpoint']} vs {x['config']}" for x in cand.mismatches)
    raise RemapError(f"{ckpt.path.name}: cannot be fixed by remapping: {facts} between the checkpoint and "
                     f"{entry.name}; weights of another size need retraining, not remapping; {use}")


def _check_keys(ckpt: Checkpoint, entry: ConfigEntry, state: ModelState, names: dict[str, str],
                text_num_embeds: int) -> None:
    from f5lab.model.build import expected_state

    expected = expected_state(entry, text_num_embeds)
    have = {names[k]: v for k, v in state.tensors.items()}
    missing = sorted(set(expected) - set(have))
    unexpected = sorted(set(have) - set(expected))
    bad = [k for k in set(have) & set(expected) if k != TEXT_EMBED and have[k].shape != expected[k].shape]
    if missing or unexpected or bad:
        from f5lab.files.keys import difference_parts

        parts = difference_parts(missing, unexpected,
                                 [(k, list(have[k].shape), list(expected[k].shape)) for k in sorted(bad)])
        raise RemapError(f"{ckpt.path.name}: cannot be remapped onto {entry.name}: " + "; ".join(parts)
                         + ": an incomplete or foreign state dict, no plan reconciles it")


def _default_tokens() -> list[str]:
    from f5lab.files.vocab import read_vocab

    return read_vocab(None)


def _plan_vocab(rows: int, vocab_from: str | None, vocab_to: str | None, init: str) -> VocabPlan | None:
    from f5lab.files.vocab import (check_rows, check_unique, default_vocab_path, diff_vocab, read_vocab, row_mapping,
                             vocab_sha256)

    old = read_vocab(vocab_from)
    if vocab_from is not None or vocab_to is not None:
        check_rows(old, rows, vocab_from)
    if vocab_to is None:
        return None
    new = read_vocab(vocab_to)
    check_unique(old, vocab_from or default_vocab_path())
    check_unique(new, vocab_to)
    diff = diff_vocab(old, new)
    if not diff.shared:
        raise RemapError(f"{vocab_to}: shares no token with {vocab_from or 'the default vocab.txt'} "
                         f"({len(new)} vs {len(old)} tokens): every row would be new, nothing trained would be "
                         "kept; check that --vocab-to is a vocab.txt of the same script/language")
    from f5lab.files.vocab import vocab_notes

    return VocabPlan(vocab_from=vocab_from, vocab_to=str(vocab_to),
                     sha256_from=vocab_sha256(vocab_from or default_vocab_path()), sha256_to=vocab_sha256(vocab_to),
                     shared=diff.shared, moved=diff.moved, added=diff.added, dropped=diff.dropped, init=init,
                     row_map=row_mapping(old, new),
                     notes=vocab_notes(old, vocab_from or default_vocab_path()) + vocab_notes(new, vocab_to))


def _read_order(ckpt: Checkpoint, state: ModelState) -> list[str]:
    """Canonical names in the order their bytes lie in the file (sequential reads)."""
    if ckpt.format != "safetensors":
        return list(state.tensors)
    offsets = safetensors_offsets(ckpt.path)[1]
    return sorted(state.tensors, key=lambda n: offsets[state.raw_keys[n]][0])


def _step(name: str, dst: str, state: ModelState, vocab: VocabPlan | None, dtype: str | None) -> TensorStep:
    info = state.tensors[name]
    shape = list(info.shape)
    ops = []
    if vocab is not None and dst == TEXT_EMBED:
        shape[0] = len(vocab.row_map)
        ops.append("rows")
    out_dtype = info.dtype
    if dtype and info.dtype in FLOAT_DTYPES and info.dtype != dtype:
        out_dtype = dtype
        ops.append("cast")
    return TensorStep(dst=dst, src=state.raw_keys[name], shape=shape, dtype=out_dtype, src_shape=list(info.shape),
                      src_dtype=info.dtype, op="+".join(ops) or "copy")


def _drop_reason(key: str) -> str:
    return "EMA bookkeeping" if key.rsplit(".", 1)[-1] in ("initted", "step") else "buffer f5-tts no longer keeps"


# -- safetensors, written by hand so that it can be streamed --------------------------------------
def safetensors_offsets(path: str | os.PathLike) -> tuple[int, dict[str, tuple[int, int]]]:
    """(start of the data section, key -> (begin, end) byte offsets within it), from the header
    as ``checkpoint`` validates it: overlapping or aliased offsets are refused, never copied."""
    layout = read_safetensors_layout(path)[2]
    return layout.data_start, layout.offsets


def build_header(steps: list[TensorStep], metadata: dict[str, str]) -> bytes:
    """8-byte little-endian length + JSON header padded with spaces (to a multiple of 8) so that the
    most tensor bytes lie 64-byte aligned in the file, as in memory: a model built on the
    memory-mapped file (f5lab verify) then uses them in place instead of copying them."""
    header: dict[str, Any] = {"__metadata__": {k: _utf8(v) for k, v in metadata.items()}}
    offset = 0
    aligned = dict.fromkeys(range(0, 64, 8), 0)  # where the data section starts, mod 64 -> aligned bytes
    for s in steps:
        n = TensorInfo(tuple(s.shape), s.dtype).nbytes
        header[s.dst] = {"dtype": s.dtype, "shape": s.shape, "data_offsets": [offset, offset + n]}
        aligned[-offset % 64] = aligned.get(-offset % 64, 0) + n
        offset += n
    start = max(range(0, 64, 8), key=lambda r: (aligned[r], -r))
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode()
    raw += b" " * ((start - 8 - len(raw)) % 64)
    if len(raw) % 256 == 0x80:  # a first byte 0x80 reads as a pickle to f5lab.files.checkpoint's sniffer
        raw += b" " * 64
    return struct.pack("<Q", len(raw)) + raw


def _utf8(text: Any) -> Any:
    """A metadata string every safetensors reader parses: a file name's undecodable bytes (which
    Python holds as lone surrogates, and JSON cannot carry) written as ``\\xNN``."""
    if not isinstance(text, str):
        return text
    from f5lab.outputs import shown_bytes

    return shown_bytes(text)


def provenance(plan: RemapPlan, source_sha256: str) -> dict[str, str]:
    """The ``__metadata__`` an output carries: enough to redo or audit the remap."""
    from importlib.metadata import version

    import f5lab

    meta = {"format": "pt", "f5lab_version": f5lab.__version__, "f5_tts_version": version("f5-tts"),
            "f5lab_source": Path(plan.src).name, "f5lab_source_sha256": source_sha256,
            "f5lab_config": plan.config, "f5lab_text_num_embeds": str(plan.text_num_embeds),
            "f5lab_plan": json.dumps(plan.to_dict(), separators=(",", ":"), default=str)}
    if plan.entry is not None:
        meta.update(entry_metadata(plan.entry))  # a config of one's own travels with the file
    if plan.vocab:
        meta["f5lab_vocab_sha256"] = plan.vocab.sha256_to
        meta["f5lab_vocab_from_sha256"] = plan.vocab.sha256_from
    return meta


# -- execution ---------------------------------------------------------------------------------------
def check_destination(src: str | os.PathLike, dst: str | os.PathLike, force: bool) -> Path:
    """Refuse, before any work, a DST that is SRC (or resolves to it), is not named .safetensors, exists
    without force, or cannot be written (f5lab.outputs' rules)."""
    from f5lab import outputs

    d = Path(dst)
    outputs.check_output_file(d, force=True, inputs=outputs.Inputs([Path(src)]))  # DST = SRC first, force or not
    if d.suffix.lower() != ".safetensors":
        raise RemapError(f"{d}: remap writes safetensors; name the output *.safetensors "
                         f"(e.g. {d.with_suffix('.safetensors').name}), which f5-tts loads too")
    return outputs.check_output_file(d, force=force)


def execute_plan(plan: RemapPlan, dst: str | os.PathLike, force: bool = False, progress: bool = False,
                 fsync: bool = True, source_sha256: str | None = None) -> Path:
    """Write the plan's output to ``dst`` (.safetensors) tensor by tensor, atomically.

    Bytes go to a hidden temporary file in DST's folder; only a complete file (fsynced unless
    ``fsync=False``) is renamed onto DST. On any failure (disk full, file-size limit, Ctrl-C,
    a bad tensor) the temporary file is removed and DST is untouched. The source is hashed
    alongside the copy for the provenance record, unless the caller passes the sha256 it
    already has (``source_sha256``; recorded as given, with ``f5lab_source_sha256_given``).
    """
    from f5lab import outputs

    dst = check_destination(plan.src, dst, force)
    with outputs.file(dst, force=force, inputs=[plan.src]) as tmp:  # DST untouched until the file is whole
        _write_file(plan, tmp, fsync, source_sha256, progress)
    return dst


def _write_file(plan: RemapPlan, tmp: Partial, fsync: bool, source_sha256: str | None, progress: bool) -> None:
    """The plan's bytes into ``tmp``: header with a placeholder hash, tensors, final header."""
    with open(tmp, "wb", buffering=0) as out:  # tmp: a claim's partial; unbuffered: copy_file_range shares it
        given = {"f5lab_source_sha256_given": "true"} if source_sha256 else {}
        header = build_header(plan.steps, {**provenance(plan, SHA_PLACEHOLDER), **given})
        _write_all(out, header)
        sha = _stream(plan, out, progress, hash_source=source_sha256 is None) or source_sha256
        final = build_header(plan.steps, {**provenance(plan, sha), **given})
        if len(final) != len(header):  # cannot happen: the hash has a fixed width
            raise RemapError("internal error: header length changed while recording the source hash")
        out.seek(0)
        _write_all(out, final)
        if fsync:
            os.fsync(out.fileno())


def _stream(plan: RemapPlan, out: Any, progress: bool, hash_source: bool = True) -> str | None:
    """Write every step's bytes in order; return the source file's sha256 (None: not hashed)."""
    bar = _progress(plan, progress)
    hasher = BackgroundSha256(plan.src) if hash_source else None
    try:
        with one_torch_thread(any(s.op != "copy" for s in plan.steps) or plan.src_format != "safetensors"):
            if plan.src_format == "safetensors":
                _stream_safetensors(plan, out, bar)
            else:
                _stream_pt(plan, out, bar)
    except BaseException:
        if hasher is not None:
            hasher.cancel()
        raise
    finally:
        if bar is not None:
            bar.close()
    return hasher.result() if hasher is not None else None


@contextlib.contextmanager
def one_torch_thread(active: bool = True) -> Iterator[None]:
    """Per-tensor casts are memory-bound: extra intra-op threads only contend (measured 50x slower
    on a busy 2-core machine; lineage's per-tensor distances likewise). Restores the caller's setting."""
    if not active:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _progress(plan: RemapPlan, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=plan.output_bytes, unit="B", unit_scale=True, desc="remap", leave=False)


def _stream_safetensors(plan: RemapPlan, out: Any, bar: Any) -> None:
    """Copy kept tensors in the kernel (copy_file_range: no bytes through Python) and transform
    the others in memory one at a time (the source is hashed meanwhile by another thread)."""
    start, offsets = safetensors_offsets(plan.src)
    with open(plan.src, "rb", buffering=0) as fh:
        for step in plan.steps:
            begin, end = offsets[step.src]
            if step.op == "copy":
                _copy_range(fh.fileno(), out, start + begin, end - begin, plan.src)
            else:
                data = os.pread(fh.fileno(), end - begin, start + begin)
                if len(data) != end - begin:
                    raise RemapError(f"{plan.src}: truncated while reading ({len(data)} of {end - begin} bytes)")
                _write_all(out, _transform_bytes(data, step, plan))
            if bar is not None:
                bar.update(TensorInfo(tuple(step.shape), step.dtype).nbytes)


def _copy_range(src_fd: int, out: Any, offset: int, count: int, path: str) -> None:
    """``count`` bytes from ``src_fd`` at ``offset`` appended to ``out``: in-kernel when possible."""
    dst_fd = out.fileno()
    while count > 0:
        try:
            n = os.copy_file_range(src_fd, dst_fd, min(count, 1 << 30), offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise  # ENOSPC, EFBIG, EIO: a real write failure
            n = _copy_userspace(src_fd, out, offset, min(count, CHUNK))
        if n == 0:
            raise RemapError(f"{path}: truncated while reading (source ended {count} bytes early)")
        offset += n
        count -= n


def _copy_userspace(src_fd: int, out: Any, offset: int, count: int) -> int:
    data = os.pread(src_fd, count, offset)
    _write_all(out, data)
    return len(data)


def _write_all(out: Any, data: Any) -> None:
    """Unbuffered writes may be partial: loop until every byte is out."""
    view = memoryview(data).cast("B")
    while view:
        n = out.write(view)
        view = view[n:]


class BackgroundSha256:
    """sha256 of a file computed by a thread (hashlib releases the GIL) while the caller writes."""

    def __init__(self, path: str | os.PathLike):
        import threading

        self._path, self._error, self._stop = path, None, False
        self._digest = hashlib.sha256()
        self._thread = threading.Thread(target=self._run, name="f5lab-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Hash through 64 MB memory-mapped windows: no copy into Python, and each window is
        unmapped before the next so resident memory stays one window, not the file."""
        import mmap

        try:
            with open(self._path, "rb", buffering=0) as fh:
                size, offset = os.fstat(fh.fileno()).st_size, 0
                while not self._stop and offset < size:
                    n = min(HASH_WINDOW, size - offset)
                    with mmap.mmap(fh.fileno(), n, offset=offset, access=mmap.ACCESS_READ) as window:
                        window.madvise(mmap.MADV_SEQUENTIAL)
                        self._digest.update(window)
                    offset += n
        except BaseException as exc:  # noqa: BLE001 - re-raised in result()
            self._error = exc

    def cancel(self) -> None:
        self._stop = True
        self._thread.join()

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()


def _stream_pt(plan: RemapPlan, out: Any, bar: Any) -> None:
    ckpt = open_checkpoint(plan.src)
    for _, tensor in iter_planned(plan, ckpt):
        payload = tensor_bytes(tensor)
        _write_all(out, payload)
        if bar is not None:
            bar.update(len(payload))


def iter_planned(plan: RemapPlan, ckpt: Checkpoint | None = None) -> Iterator[tuple[TensorStep, Any]]:
    """(step, output torch tensor) in plan order: what the output file holds, in memory."""
    ckpt = ckpt if ckpt is not None else open_checkpoint(plan.src)
    state = ckpt.model_state("ema" if plan.use_ema else "raw")
    if state.source != plan.source_dict:
        raise RemapError(f"{plan.src}: the file changed since the plan was made ({state.source} != {plan.source_dict})")
    canonical = {raw: name for name, raw in state.raw_keys.items()}
    names = [canonical[s.src] for s in plan.steps]
    for step, (_, tensor) in zip(plan.steps, ckpt.iter_tensors(state, names)):
        yield step, transform(tensor, step, plan)


def apply_plan(plan: RemapPlan, ckpt: Checkpoint | None = None) -> dict[str, Any]:
    """The planned state dict in memory (what ``load_model`` loads strictly; nothing written)."""
    return {step.dst: tensor for step, tensor in iter_planned(plan, ckpt)}


def transform(tensor: Any, step: TensorStep, plan: RemapPlan) -> Any:
    """Apply one step's ops to a torch tensor."""
    import torch

    if "rows" in step.op:
        tensor = remap_rows(tensor, plan.vocab.row_map, plan.vocab.init)  # type: ignore[union-attr]
    if "cast" in step.op:
        tensor = tensor.to(torch_dtype(step.dtype))
    if list(tensor.shape) != step.shape:
        raise RemapError(f"{plan.src}: tensor {step.src} is {list(tensor.shape)}, the plan expects {step.shape}")
    return tensor.contiguous() if isinstance(tensor, torch.Tensor) else tensor


def remap_rows(old: Any, row_map: list[int | None], init: str = "mean") -> Any:
    """New embedding: shared tokens' rows copied bit-exactly, new tokens initialised per ``init``."""
    import torch

    new = torch.empty((len(row_map), old.shape[1]), dtype=old.dtype)
    known = [(i, j) for i, j in enumerate(row_map) if j is not None]
    fresh = [i for i, j in enumerate(row_map) if j is None]
    if known:
        dst_idx = torch.tensor([i for i, _ in known])
        src_idx = torch.tensor([j for _, j in known])
        new[dst_idx] = old[src_idx]
    if fresh:
        if init == "mean":
            fill = old[1:].float().mean(dim=0, keepdim=True).to(old.dtype).expand(len(fresh), -1)
        else:
            gen = torch.Generator().manual_seed(666)
            fill = torch.randn((len(fresh), old.shape[1]), generator=gen).to(old.dtype)
        new[torch.tensor(fresh)] = fill
    return new


def tensor_bytes(tensor: Any) -> Any:
    """Raw little-endian bytes of a tensor (a numpy view; no extra copy when contiguous)."""
    import torch

    flat = tensor.detach().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy() if flat.numel() else b""


def _transform_bytes(data: bytes, step: TensorStep, plan: RemapPlan) -> Any:
    import torch

    tensor = torch.frombuffer(bytearray(data), dtype=torch_dtype(step.src_dtype)).reshape(step.src_shape) \
        if data else torch.empty(step.src_shape, dtype=torch_dtype(step.src_dtype))
    return tensor_bytes(transform(tensor, step, plan))


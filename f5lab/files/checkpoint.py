"""Read F5-TTS checkpoint files without reading their tensors.

Two containers exist in the wild: ``.safetensors`` (one flat dict, its header is JSON
that we parse and validate ourselves: no torch import, no tensor bytes read) and ``.pt``
(a zip whose pickle ``f5lab.files.ptfile`` reads through an allowlist, without torch; pre-1.6
non-zip pickles through ``torch.load(weights_only=True)``). Unsafe pickles are refused,
never executed. Tensor data is read only when asked for (``iter_tensors``: safetensors'
own reader, or ``torch.load(weights_only=True, mmap=True)``). The content decides the
format, except that a ``.safetensors`` name is trusted. This module knows containers,
state dicts and wrapper prefixes; it knows nothing about architectures.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from f5lab.errors import CheckpointError
from f5lab.files.dtypes import DTYPE_BYTES, TORCH_DTYPES, USER_DTYPES

# the safetensors library refuses headers above 100 MB; so do we
MAX_HEADER_BYTES = 100_000_000
# and what f5lab reads is proportional to what the file holds: a tensor's header entry is ~100
# bytes and a tensor worth describing holds bytes, so the header may take 1 MiB plus 1/64 of the
# data section, and the tensors number at most 4096 plus one per 256 bytes of data (an F5 model:
# ~360 tensors, a 60 KB header). A 96 MB header of 1.15 M empty tensors cost 15 s and 1.1 GB.
HEADER_BASE_BYTES = 1 << 20
HEADER_BYTES_PER_DATA = 64
TENSOR_BASE_COUNT = 4096
DATA_BYTES_PER_TENSOR = 256

# Wrappers that training code puts in front of the model's own key names, outermost first.
WRAPPER_PREFIXES = ("ema_model.", "module.", "_orig_mod.", "model.")
# Entries of an EMA state dict that are bookkeeping, not weights.
EMA_BOOKKEEPING = ("initted", "step")
# Buffers that old f5-tts versions saved and the current one neither has nor accepts.
DROPPED_BUFFERS = ("mel_spec.mel_stft.mel_scale.fb", "mel_spec.mel_stft.spectrogram.window")
# Names of state dicts in trainer / release .pt files, by preference for inference.
EMA_DICT = "ema_model_state_dict"
RAW_DICT = "model_state_dict"
MODEL_CONTAINERS = ("model", "module", "ema", "model_ema", "ema_model", "generator", "net")  # besides *state_dict
ROOT = "<root>"  # the flat dict of a .safetensors file, or a .pt that is itself a state dict


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape and dtype of one stored tensor: everything inspection needs."""

    shape: tuple[int, ...]
    dtype: str  # safetensors naming: F32, F16, BF16, I64, ...

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * DTYPE_BYTES.get(self.dtype, 4)


@dataclass
class ModelState:
    """One state dict seen under the model's own key names (wrappers stripped)."""

    source: str  # which state dict of the file it came from
    tensors: dict[str, TensorInfo]  # canonical name -> info
    raw_keys: dict[str, str]  # canonical name -> key as stored
    prefixes: list[str]  # wrapper prefixes that were stripped, outermost first
    dropped: list[str]  # stored keys left out (EMA bookkeeping, obsolete buffers)


@dataclass
class Checkpoint:
    """A checkpoint file as a set of state dicts of tensor descriptions."""

    path: Path
    format: str  # "safetensors" | "pt"
    size_bytes: int
    state_dicts: dict[str, dict[str, TensorInfo]]
    extras: dict[str, Any] = field(default_factory=dict)  # step, update, other plain values
    metadata: dict[str, str] = field(default_factory=dict)  # safetensors __metadata__
    other_containers: list[str] = field(default_factory=list)  # optimizer, scheduler, ...
    _pt_object: Any = field(default=None, repr=False)

    # -- describe the container ------------------------------------------------------
    def layout(self) -> dict[str, Any]:
        """Which state dicts, which wrapper prefixes, step/update and dtypes."""
        dtypes: dict[str, int] = {}
        for tensors in self.state_dicts.values():
            for info in tensors.values():
                dtypes[info.dtype] = dtypes.get(info.dtype, 0) + 1
        prefixes = {name: detect_prefixes(list(t)) for name, t in self.state_dicts.items()}
        step = self.extras.get("update", self.extras.get("step"))
        return {
            "state_dicts": list(self.state_dicts),
            "prefixes": prefixes,
            "step": step,
            "step_key": "update" if "update" in self.extras else ("step" if step is not None else None),
            "dtypes": dtypes,
            "optimizer": any("optimizer" in c for c in self.other_containers),
            "scheduler": any("scheduler" in c for c in self.other_containers),
            "other_containers": list(self.other_containers),
            "obsolete_buffers": [k for k in DROPPED_BUFFERS if any(
                key.endswith(k) for t in self.state_dicts.values() for key in t)],
        }

    def model_state(self, prefer: str = "ema") -> ModelState:
        """The state dict inference should use (EMA unless ``prefer='raw'``), canonicalised."""
        order = [EMA_DICT, RAW_DICT] if prefer == "ema" else [RAW_DICT, EMA_DICT]
        named = [n for n in order if n in self.state_dicts]
        others = [n for n in self.state_dicts if n not in (EMA_DICT, RAW_DICT, ROOT)]  # Lightning's "state_dict", ...
        others.sort(key=lambda n: ("ema" not in n.lower()) if prefer == "ema" else ("ema" in n.lower()))
        candidates = named + others + ([ROOT] if ROOT in self.state_dicts else [])
        if not candidates:
            keys = [*self.state_dicts, *self.extras, *self.other_containers]
            raise CheckpointError(f"{self.path}: no state dict of tensors found (top-level keys: "
                                  f"{', '.join(dict.fromkeys(str(k) for k in keys)) or 'none'})")
        return canonicalise(candidates[0], self.state_dicts[candidates[0]])

    # -- read tensor data (only remap/loading call these) ------------------------------
    def iter_tensors(self, state: ModelState, names: list[str] | None = None) -> Iterator[tuple[str, Any]]:
        """Yield (canonical name, torch tensor) one at a time, reading lazily from disk."""
        names = list(state.tensors) if names is None else names
        if self.format == "safetensors":
            from safetensors import safe_open

            with utf8_path(self.path) as path, safe_open(path, framework="pt") as handle:
                for name in names:
                    yield name, handle.get_tensor(state.raw_keys[name])
        else:
            if self._pt_object is None:  # described without torch; the tensors need it now
                self._pt_object = _torch_load_checked(self.path)
            sd = self._pt_object if state.source == ROOT else self._pt_object[state.source]
            for name in names:
                yield name, sd[state.raw_keys[name]]

    def read_tensor(self, state: ModelState, name: str) -> Any:
        """One tensor, read on its own: from a .safetensors file through a mapping of its own,
        released with the tensor (one mapping for many tensors keeps every page read resident until
        closed). What verify and lineage read with, so their peak RSS stays a few tensors."""
        reader = self.iter_tensors(state, [name])
        try:
            return next(reader)[1]
        finally:
            reader.close()


@contextlib.contextmanager
def utf8_path(path: str | os.PathLike) -> Iterator[str]:
    """A path to ``path`` that safetensors (which takes UTF-8 paths only) opens: itself, or for a name
    with undecodable bytes the open file through ``/proc/self/fd`` (Linux); else one line."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        yield text
        return
    if not os.path.isdir("/proc/self/fd"):
        raise CheckpointError(f"{os.fsencode(text).decode('utf-8', 'backslashreplace')}: the file name is not UTF-8, "
                              "which safetensors cannot open here; rename the file")
    with open(text, "rb") as fh:
        yield f"/proc/self/fd/{fh.fileno()}"


def detect_prefixes(keys: list[str]) -> list[str]:
    """Wrapper prefixes shared by (almost) every key, outermost first."""
    prefixes: list[str] = []
    keys = [k for k in keys if k not in EMA_BOOKKEEPING]
    while keys:
        for prefix in WRAPPER_PREFIXES:
            under = [k for k in keys if k.startswith(prefix)]  # CFM's own keys never start so
            # every key, or all but a few strays (a LoRA tensor added beside a release file's keys):
            # the strays stay as they are, and the diagnosis names them as unexpected keys
            if under and (len(under) == len(keys) or (len(under) >= 8 and len(keys) - len(under) <= len(under) // 20)):
                prefixes.append(prefix)
                keys = [k[len(prefix):] for k in under]
                break
        else:
            break
    return prefixes


def canonicalise(source: str, tensors: dict[str, TensorInfo]) -> ModelState:
    """Strip wrapper prefixes, drop EMA bookkeeping and obsolete buffers."""
    prefixes = detect_prefixes(list(tensors))
    out: dict[str, TensorInfo] = {}
    raw: dict[str, str] = {}
    dropped: list[str] = []
    for key, info in tensors.items():
        if key in EMA_BOOKKEEPING:
            dropped.append(key)
            continue
        name = key
        for prefix in prefixes:
            if not name.startswith(prefix):  # a stray key beside the wrapped ones (a LoRA tensor): kept as is
                name = key
                break
            name = name[len(prefix):]
        if name != key and name in out:  # a stray that shadows a wrapped key: the wrapped one wins
            continue
        if name == key and name in raw and raw[name] != key:
            dropped.append(key)
            continue
        if name in DROPPED_BUFFERS:
            dropped.append(key)
            continue
        out[name] = info
        raw[name] = key
    return ModelState(source=source, tensors=out, raw_keys=raw, prefixes=prefixes, dropped=dropped)


# -- opening files ---------------------------------------------------------------------
PT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")


def open_checkpoint(path: str | os.PathLike | Checkpoint) -> Checkpoint:
    """Open a checkpoint for inspection; raises CheckpointError with a one-line reason. An opened
    ``Checkpoint`` passes through: a caller that already read the header hands it down instead
    of a path, and nothing below reads it again."""
    if isinstance(path, Checkpoint):
        return path
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such file")
    if p.is_dir():
        raise CheckpointError(f"{p}: is a directory; give the checkpoint file inside it "
                              f"({_list_candidates(p)})")
    size = p.stat().st_size
    if size == 0:
        raise CheckpointError(f"{p}: file is empty")
    with open(p, "rb") as fh:
        head = fh.read(64)
    kind = sniff(head, size)
    if p.suffix == ".safetensors":  # trust the name first: a header length may start with 0x80
        try:
            return _open_safetensors(p, size)
        except CheckpointError:
            if kind in ("zip", "legacy"):
                raise CheckpointError(f"{p}: named .safetensors but holds a torch checkpoint (written by "
                                      f"torch.save); rename it to .pt") from None
            raise
    if kind == "zip":
        return _open_pt_zip(p, size)
    if kind == "legacy":
        return _open_pt_with_torch(p, size)
    if kind == "safetensors" or p.suffix not in PT_SUFFIXES:  # content first: a .pt may hold safetensors
        return _open_safetensors(p, size)
    raise CheckpointError(f"{p}: not a torch checkpoint: neither a zip archive nor a pickle written by "
                          f"torch.save, nor a safetensors file (it begins {head[:8].hex(' ')})")


def sniff(head: bytes, size: int) -> str:
    """'zip', 'legacy' (a pre-1.6 torch pickle), 'safetensors' or 'unknown', from the first bytes."""
    from f5lab.files.ptfile import is_legacy_torch_pickle, is_zip

    if is_zip(head):
        return "zip"
    if is_legacy_torch_pickle(head):
        return "legacy"
    if len(head) > 8 and head[8:9] == b"{":
        (n,) = struct.unpack("<Q", head[:8])
        if n <= MAX_HEADER_BYTES and 8 + n <= size:
            return "safetensors"
    return "unknown"


def _list_candidates(directory: Path) -> str:
    found = sorted(f.name for f in directory.iterdir()
                   if f.suffix in (".safetensors", ".pt", ".pth", ".ckpt"))
    return "found: " + ", ".join(found[:5]) if found else "no .safetensors or .pt file in it"


@dataclass(frozen=True)
class SafetensorsLayout:
    """Where each tensor's bytes lie: ``data_start + begin .. data_start + end`` in the file."""

    data_start: int
    offsets: dict[str, tuple[int, int]]


def read_safetensors_header(path: Path, size: int) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Parse and validate a safetensors header: every rule the safetensors library enforces."""
    tensors, metadata, _ = read_safetensors_layout(path, size)
    return tensors, metadata


def read_safetensors_layout(path: str | os.PathLike, size: int | None = None) -> tuple[
        dict[str, TensorInfo], dict[str, str], SafetensorsLayout]:
    """Tensors, ``__metadata__`` and byte layout of a safetensors file, validated as safetensors
    requires (integer offsets, byte length = shape x dtype, tensors contiguous from 0 and
    exactly covering the data section), so that no reader of ours ever sees aliased bytes."""
    path = Path(path)
    size = path.stat().st_size if size is None else size
    if size < 8:
        raise CheckpointError(f"{path}: truncated safetensors file ({size} bytes, header length needs 8)")
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        if n > MAX_HEADER_BYTES or 8 + n > size:
            raise CheckpointError(f"{path}: corrupt or truncated safetensors: header claims {n} bytes "
                                  f"but the file has {size - 8} after the length field")
        data_len = size - 8 - n
        budget = HEADER_BASE_BYTES + data_len // HEADER_BYTES_PER_DATA
        if n > budget:
            raise CheckpointError(f"{path}: not a checkpoint f5lab reads: a {n:,}-byte header for {data_len:,} bytes "
                                  f"of tensor data (at most {budget:,}: a model's header is ~100 bytes a tensor)")
        raw = fh.read(n)
    header = _parse_header_json(path, raw)
    metadata = _validate_metadata(path, header.pop("__metadata__", None))
    check_tensor_count(path, len(header), data_len)
    tensors: dict[str, TensorInfo] = {}
    offsets: dict[str, tuple[int, int]] = {}
    for name, entry in header.items():
        tensors[name], offsets[name] = _validate_entry(path, name, entry, data_len)
    _check_contiguous(path, offsets, data_len)
    return tensors, metadata, SafetensorsLayout(data_start=8 + n, offsets=offsets)


def check_tensor_count(path: Path, count: int, data_len: int) -> None:
    """At most TENSOR_BASE_COUNT tensors plus one per DATA_BYTES_PER_TENSOR bytes of their data."""
    budget = TENSOR_BASE_COUNT + data_len // DATA_BYTES_PER_TENSOR
    if count > budget:
        raise CheckpointError(f"{path}: not a checkpoint f5lab reads: {count:,} tensors in {data_len:,} bytes of data "
                              f"(at most {budget:,}; an F5-TTS model has a few hundred)")


class _BadJson(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Each JSON object once: no key twice (json keeps the last silently), no lone surrogate
    (json accepts '\\ud800', safetensors does not, and it cannot be printed)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _BadJson(f"key {_show(key)} appears twice")
        for text in (key, value) if isinstance(value, str) else (key,):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise _BadJson(f"{_show(text)} holds an unpaired surrogate escape") from None
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _BadJson(f"{name} is not JSON")


def _parse_header_json(path: Path, raw: bytes) -> dict[str, Any]:
    if not raw.startswith(b"{"):  # as safetensors requires, whitespace included
        raise CheckpointError(f"{path}: corrupt safetensors header: expected a JSON object")
    try:
        header = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _BadJson as exc:
        raise CheckpointError(f"{path}: corrupt safetensors header: {exc}") from None
    except RecursionError:
        raise CheckpointError(f"{path}: corrupt safetensors header: JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, int too long to convert
        raise CheckpointError(f"{path}: corrupt safetensors header: not valid JSON "
                              f"({_first_line(exc)[:120]})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header: expected a JSON object")
    return header


def _validate_metadata(path: Path, metadata: Any) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        bad = next((k for k, v in metadata.items() if not isinstance(v, str)), "") if isinstance(metadata, dict) \
            else ""
        what = f"value of {_show(bad)} is not a string" if bad else "is not a string -> string object"
        raise CheckpointError(f"{path}: corrupt safetensors header: __metadata__ {what}")
    return metadata


def _show(name: str) -> str:
    """A name from the file, quoted, escaped and cut short: an error stays one line."""
    return repr(name[:120])


def _is_count(value: Any) -> bool:
    """A non-negative integer that fits the u64 safetensors stores it in (not a bool, not 4.0)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64


def _validate_entry(path: Path, name: str, entry: Any, data_len: int) -> tuple[TensorInfo, tuple[int, int]]:
    where = f"{path}: corrupt safetensors header: tensor {_show(name)}"
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
        raise CheckpointError(f"{where} is not an object with dtype, shape and data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise CheckpointError(f"{path}: tensor {_show(name)} has unknown dtype {_show(str(dtype))}")
    if not isinstance(shape, list) or not all(_is_count(s) for s in shape):
        raise CheckpointError(f"{where} has shape {shape!r:.80}, not a list of non-negative integers")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets):
        raise CheckpointError(f"{where} has data_offsets {offsets!r:.80}, not two non-negative integers")
    begin, end = offsets
    if begin > end:
        raise CheckpointError(f"{where} has data_offsets [{begin}, {end}]: it ends before it begins")
    info = TensorInfo(shape=tuple(shape), dtype=dtype)
    if end > data_len:
        raise CheckpointError(f"{path}: corrupt or truncated safetensors: tensor {_show(name)} spans bytes "
                              f"{begin}..{end} but the data section has {data_len}")
    if end - begin != info.nbytes:
        raise CheckpointError(f"{path}: corrupt safetensors: tensor {_show(name)} {list(shape)} {dtype} needs "
                              f"{info.nbytes} bytes, header gives {end - begin}")
    return info, (begin, end)


def _check_contiguous(path: Path, offsets: dict[str, tuple[int, int]], data_len: int) -> None:
    """Sorted by offset, each tensor starts where the previous ends, and the last ends the file."""
    position, previous = 0, None
    for name, (begin, end) in sorted(offsets.items(), key=lambda kv: kv[1]):
        if begin != position:
            what = (f"overlaps tensor {_show(previous)} (bytes {begin}..{end}, which ends at {position})"
                    if begin < position else f"starts at byte {begin}, leaving a gap after byte {position}")
            raise CheckpointError(f"{path}: corrupt safetensors: tensor {_show(name)} {what}")
        position, previous = end, name
    if position != data_len:
        raise CheckpointError(f"{path}: corrupt safetensors: the tensors cover {position} bytes but the data "
                              f"section has {data_len}")


def _open_safetensors(path: Path, size: int) -> Checkpoint:
    tensors, metadata = read_safetensors_header(path, size)
    return Checkpoint(path=path, format="safetensors", size_bytes=size,
                      state_dicts={ROOT: tensors}, metadata=metadata)


def _open_pt_zip(path: Path, size: int) -> Checkpoint:
    """A torch zip file described from its pickle alone: no torch import, no tensor read."""
    from f5lab.files.ptfile import NeedsTorch, TensorRef, read_pt_archive

    try:
        archive = read_pt_archive(path)
    except NeedsTorch:  # complex, quantized, sparse... tensors: torch's own weights_only reader describes them
        return _open_pt_with_torch(path, size)
    return _describe_pt_object(path, size, archive.obj, TensorRef,
                               lambda t: TensorInfo(shape=t.shape, dtype=t.dtype), archive.scalar)


def _open_pt_with_torch(path: Path, size: int) -> Checkpoint:
    """A pre-1.6 (non-zip) torch pickle, or tensors ptfile does not describe: torch reads it, weights_only."""
    import torch

    obj = _torch_load_checked(path)
    ckpt = _describe_pt_object(path, size, obj, torch.Tensor,
                               lambda t: TensorInfo(shape=tuple(t.shape), dtype=torch_dtype_name(t.dtype)),
                               lambda t: t.item())
    ckpt._pt_object = obj
    return ckpt


def _torch_load_checked(path: Path) -> Any:
    """``torch.load(weights_only=True)``, its refusals and failures as one-line CheckpointErrors."""
    import pickle

    try:
        return _torch_load_safely(path)
    except pickle.UnpicklingError as exc:
        lines = str(exc).strip().splitlines()
        reason = next((ln for ln in lines if "GLOBAL" in ln or "Unsupported" in ln), lines[0] if lines else "")
        raise CheckpointError(f"{path}: refused: the pickle asks to run code or build objects beyond plain "
                              f"tensors ({reason.strip()[:160]}); f5lab never unpickles unsafely. Convert it "
                              f"with trusted code to a plain state dict or .safetensors.") from None
    except Exception as exc:  # noqa: BLE001 - EOFError, zip errors, ... all mean a bad file
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({_first_line(exc)})") from None


def _torch_load_safely(path: Path) -> Any:
    """weights_only load, memory-mapped when the file is in the zip format (tensors stay on disk)."""
    import torch

    try:
        return torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as exc:
        if "mmap" not in str(exc):
            raise
    return torch.load(str(path), map_location="cpu", weights_only=True)  # legacy format: no mmap


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _describe_pt_object(path: Path, size: int, obj: Any, tensor_type: type, info_of: Callable[[Any], TensorInfo],
                        value_of: Callable[[Any], Any]) -> Checkpoint:
    """State dicts, plain extras and other containers of a loaded object whose tensors are
    ``tensor_type`` (torch tensors, or ptfile's references when torch was not imported). dict's own
    methods are called, never the object's: a pickle may set attributes on an OrderedDict."""
    if not isinstance(obj, dict):
        kind = "Tensor" if isinstance(obj, tensor_type) else type(obj).__name__
        raise CheckpointError(f"{path}: holds {'an' if kind[:1] in 'aeiouAEIOU' else 'a'} {kind}, not a state dict")
    state_dicts: dict[str, dict[str, TensorInfo]] = {}
    extras: dict[str, Any] = {}
    others: list[str] = []

    def infos(sd: dict, name: str) -> dict[str, TensorInfo]:
        out: dict[str, TensorInfo] = {}
        for key, value in dict.items(sd):
            if isinstance(value, tensor_type) and isinstance(key, str):
                info = info_of(value)
                if key in EMA_BOOKKEEPING and info.numel == 1 and (v := value_of(value)) is not None:
                    extras.setdefault(f"{name}.{key}", v)
                    if key == "step" and isinstance(v, (int, float)) and math.isfinite(v):
                        extras.setdefault("step", int(v))
                out[key] = info
        return out

    if any(isinstance(v, tensor_type) for v in dict.values(obj)):  # the file is itself a state dict
        state_dicts[ROOT] = infos(obj, ROOT)
    else:
        for key, value in dict.items(obj):
            key = str(key)
            if isinstance(value, dict) and (key.endswith("state_dict") or key in MODEL_CONTAINERS) \
                    and "optimizer" not in key and "scheduler" not in key \
                    and any(isinstance(v, tensor_type) for v in dict.values(value)):
                state_dicts[key] = infos(value, key)
            elif isinstance(value, (int, float, str, bool)) or value is None:
                extras[key] = value
            else:
                others.append(key)
    check_tensor_count(path, sum(len(t) for t in state_dicts.values()), size)
    return Checkpoint(path=path, format="pt", size_bytes=size, state_dicts=state_dicts,
                      extras=extras, other_containers=others)


def torch_dtype(name: str) -> Any:
    """The torch dtype for a stored name ('F16') or a user's name ('fp16')."""
    import torch

    stored = USER_DTYPES.get(name, name)
    for torch_name, st in TORCH_DTYPES.items():
        if st == stored:
            return getattr(torch, torch_name)
    raise CheckpointError(f"unknown dtype {name!r}; use one of {', '.join(USER_DTYPES)}")


def torch_dtype_name(dtype: Any) -> str:
    """safetensors-style name of a torch dtype ('F32' for torch.float32)."""
    return TORCH_DTYPES.get(str(dtype).replace("torch.", ""), str(dtype))

"""Read a PyTorch zip checkpoint's structure without importing torch.

``torch.save`` writes a zip: ``<archive>/data.pkl`` (the object, tensors as persistent
references to storages) and ``<archive>/data/<key>`` (each storage's raw bytes). Names,
shapes, dtypes and the plain values beside them (``step``, ``update``) are all in the
pickle, which is a few hundred KB even for a 5 GB trainer file, so reading it costs
milliseconds, where ``import torch`` alone costs over a second and 600 MB.

The pickle goes through an unpickler whose ``find_class`` allows only what a state dict
holds (a subset of torch's own ``weights_only`` allowlist, each mapped to a harmless
stand-in here) and refuses everything else: nothing from the file is ever called. Tensor
bytes are not read, except the few bytes of one-element bookkeeping tensors (EMA
``step`` / ``initted``) whose values inspection reports.
"""

from __future__ import annotations

import io
import math
import pickle
import struct
import zipfile
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from f5lab.errors import CheckpointError
from f5lab.files.dtypes import DTYPE_BYTES, TORCH_DTYPES

# torch's legacy storage classes -> safetensors dtype names (newer dtypes are saved as an
# UntypedStorage of bytes plus the dtype, through _rebuild_tensor_v3)
STORAGE_DTYPES = {
    "DoubleStorage": "F64", "FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16",
    "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
    "ByteStorage": "U8", "BoolStorage": "BOOL",
}
# globals torch's weights_only allowlist admits and this reader does not describe (complex,
# quantized, sparse, nested tensors...): such a file is described by torch.load(weights_only=True)
TORCH_ONLY_REBUILDS = {"_rebuild_qtensor", "_rebuild_tensor", "_rebuild_sparse_tensor", "_rebuild_nested_tensor",
                       "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
                       "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor"}
TORCH_CLASS_MODULES = {"torch", "torch.cuda", "torch.sparse", "torch.cuda.sparse"}
# struct codes for reading one-element tensors (step, initted)
_SCALAR_CODES = {"F64": "d", "F32": "f", "F16": "e", "I64": "q", "I32": "i", "I16": "h", "I8": "b",
                 "U8": "B", "BOOL": "?", "U16": "H", "U32": "I", "U64": "Q"}
# torch dtype objects as pickled (GLOBAL 'torch float32') -> our names
MAX_PICKLE_BYTES = 512 * 2**20  # data.pkl of a 5 GB trainer file is well under 1 MB
# what data.pkl may cost, proportional to what the archive holds: a state dict's pickle is ~100
# bytes per storage (name, shape, stride, dtype: 43 KB for a trainer file's 422 storages), and a
# storage holds bytes; beyond this budget it is refused unread (a 195 KB file whose data.pkl
# inflated to 200 MB of one opcode made inspect peak at 3.3 GB)
PICKLE_BASE_BYTES = 256 * 1024
PICKLE_BYTES_PER_RECORD = 4096
STORAGE_BYTES_PER_PICKLE_BYTE = 16
ZIP_BASE_RECORDS = 4096  # zip entries: a state dict has one per storage; bounded before zipfile reads them
ZIP_BYTES_PER_RECORD = 4096
LEGACY_MAGIC = bytes.fromhex("6cfc9c46f9206aa85019")  # torch's MAGIC_NUMBER, as a pickled long


@dataclass(frozen=True)
class Marker:
    """A torch global the allowlist admits, kept as a name (never the real object)."""

    kind: str  # "storage", "dtype", "class"
    name: str


@dataclass(frozen=True)
class StorageRef:
    dtype: str
    key: str
    numel: int


@dataclass(frozen=True)
class TensorRef:
    """What ``_rebuild_tensor_v2/v3`` would have built: a view into a storage, not read."""

    storage: StorageRef
    offset: int  # in elements of dtype
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: str

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def _ints(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                               for v in value):
        raise _Corrupt(f"tensor {what} {value!r:.80} is not a tuple of non-negative integers")
    return value


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any, *_rest: Any) -> TensorRef:
    if not isinstance(storage, StorageRef):
        raise _Corrupt("a tensor is rebuilt from something that is not a storage")
    (offset,) = _ints((storage_offset,), "offset")
    shape, strides = _ints(size, "shape"), _ints(stride, "stride")
    if len(shape) != len(strides):
        raise _Corrupt(f"tensor shape {shape} and stride {strides} differ in length")
    return _inside(TensorRef(storage, offset, shape, strides, storage.dtype))


def _inside(ref: TensorRef) -> TensorRef:
    """The view's last element lies within its storage (torch.load refuses it otherwise)."""
    if ref.numel:
        last = ref.offset + sum((d - 1) * st for d, st in zip(ref.shape, ref.stride))
        have = ref.storage.numel * DTYPE_BYTES[ref.storage.dtype]
        if (last + 1) * DTYPE_BYTES[ref.dtype] > have:
            raise _Corrupt(f"a {list(ref.shape)} {ref.dtype} view reaches past its storage {ref.storage.key} "
                           f"({have} bytes)")
    return ref


def _rebuild_tensor_v3(storage: Any, storage_offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                       hooks: Any = None, dtype: Any = None, *_rest: Any) -> TensorRef:
    """Newer dtypes (float8, uint16...): an untyped byte storage and the dtype beside it."""
    if not (isinstance(dtype, Marker) and dtype.kind == "dtype"):
        raise _Corrupt("_rebuild_tensor_v3 without a dtype")
    ref = _rebuild_tensor(storage, storage_offset, size, stride)
    return _inside(TensorRef(ref.storage, ref.offset, ref.shape, ref.stride, dtype.name))


def _rebuild_parameter(data: Any, *_rest: Any) -> TensorRef:
    if not isinstance(data, TensorRef):
        raise _Corrupt("a parameter wraps something that is not a tensor")
    return data


def _rebuild_from_type(func: Any, new_type: Any, args: Any, _state: Any) -> TensorRef:
    if func not in (_rebuild_tensor, _rebuild_tensor_v3, _rebuild_parameter) or not isinstance(args, tuple):
        raise _Corrupt("a tensor subclass is rebuilt by something other than a tensor rebuild")
    return _rebuild_parameter(func(*args))


def _size(dims: Any = ()) -> tuple[int, ...]:
    return _ints(tuple(dims) if isinstance(dims, (tuple, list)) else dims, "size")


def _device(*args: Any) -> str:
    return ":".join(str(a) for a in args)[:64]


def _encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """``_codecs.encode``: how protocol-2 pickles spell bytes (text, 'latin1')."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise _Corrupt("_codecs.encode called with other than (str, 'latin1')")
    return text.encode(encoding)


def _bytearray(data: Any = b"", encoding: Any = None) -> bytearray:
    """bytearray from bytes or text only: bytearray(10**12) would allocate a terabyte."""
    if isinstance(data, str) and encoding in ("latin1", "latin-1", "utf-8", "utf8"):
        return bytearray(data.encode(encoding))
    if isinstance(data, (bytes, bytearray)) and encoding is None:
        return bytearray(data)
    raise _Corrupt("bytearray called with other than bytes")


def _allowed() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): OrderedDict,
        ("collections", "Counter"): Counter,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
        ("torch.storage", "UntypedStorage"): Marker("storage", "U8"),
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
        ("torch", "Size"): _size,
        ("torch", "device"): _device,
        ("torch", "Tensor"): Marker("class", "Tensor"),
        ("torch.nn.parameter", "Parameter"): Marker("class", "Parameter"),
        ("_codecs", "encode"): _encode,
    }
    for module in ("builtins", "__builtin__"):  # protocol 2 spells builtins the Python 2 way
        allowed.update({(module, "set"): set, (module, "complex"): complex,
                        (module, "bytearray"): _bytearray})
    for module in ("torch", "torch.cuda"):  # torch.cuda.*: tensors saved from a GPU by torch < 1.13
        allowed.update({(module, name): Marker("storage", dtype) for name, dtype in STORAGE_DTYPES.items()})
    allowed.update({("torch", name): Marker("dtype", dtype) for name, dtype in TORCH_DTYPES.items()})
    return allowed


ALLOWED = _allowed()


class _Corrupt(Exception):
    """The pickle is well-formed but does not describe tensors the way torch writes them."""


class Refused(Exception):
    """The pickle names a global outside the allowlist: it asks to run code."""


class NeedsTorch(Exception):
    """The pickle holds tensors of a kind torch admits and this reader does not describe."""


def _torch_only(module: str, name: str) -> bool:
    """Globals of torch's weights_only allowlist beyond ours (torch itself still judges them)."""
    return (module == "torch._utils" and name in TORCH_ONLY_REBUILDS) or \
        (module in TORCH_CLASS_MODULES and name.endswith(("Storage", "Tensor"))) or \
        (module == "torch" and name.startswith(("complex", "float", "int", "uint", "bits", "qint", "quint", "per_"))) \
        or (module, name) in {("torch.serialization", "_get_layout"), ("torch.storage", "TypedStorage")}


class _StateDictUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, storage_sizes: dict[str, int]):
        super().__init__(io.BytesIO(data))
        self._sizes = storage_sizes

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except (KeyError, TypeError):
            if isinstance(module, str) and isinstance(name, str) and _torch_only(module, name):
                raise NeedsTorch(f"{module}.{name}") from None
            raise Refused(f"{module}.{name}"[:160]) from None

    def persistent_load(self, pid: Any) -> StorageRef:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] in ("storage", b"storage")):
            raise _Corrupt(f"unknown persistent id {pid!r:.80}")
        storage_type, key, numel = pid[1], pid[2], pid[4]
        if not (isinstance(storage_type, Marker) and storage_type.kind in ("storage", "dtype")):
            raise _Corrupt(f"storage type {storage_type!r:.60} is not a torch storage")
        if not isinstance(key, str) or key not in self._sizes:
            raise _Corrupt(f"storage {key!r:.60} has no data record in the archive")
        if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise _Corrupt(f"storage {key} has a bad size {numel!r:.40}")
        dtype = storage_type.name
        if self._sizes[key] < numel * DTYPE_BYTES[dtype]:
            raise _Corrupt(f"storage {key} holds {self._sizes[key]} bytes, fewer than {numel} x {dtype}")
        return StorageRef(dtype=dtype, key=key, numel=numel)


@dataclass
class PtArchive:
    """A torch zip checkpoint opened for description: its object with tensors as ``TensorRef``."""

    path: Path
    obj: Any
    prefix: str  # the archive's record folder
    byteorder: str

    def scalar(self, ref: TensorRef) -> Any:
        """The value of a one-element tensor (step, initted): reads its few bytes only."""
        code = "f" if ref.dtype == "BF16" else _SCALAR_CODES.get(ref.dtype)
        if code is None or ref.numel != 1:
            return None
        size = DTYPE_BYTES[ref.dtype]
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(f"{self.prefix}/data/{ref.storage.key}") as fh:
                fh.seek(ref.offset * size)
                raw = fh.read(size)
        except Exception:  # noqa: BLE001 - a damaged record: the value is unknown, not a crash
            return None
        if len(raw) != size:
            return None
        if ref.dtype == "BF16":  # the top half of a float32
            raw = b"\0\0" + raw if self.byteorder == "little" else raw + b"\0\0"
        return struct.unpack(("<" if self.byteorder == "little" else ">") + code, raw)[0]


def is_zip(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04")


def is_legacy_torch_pickle(head: bytes) -> bool:
    """torch.save(_use_new_zipfile_serialization=False) begins with a pickled magic number."""
    return head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05") and LEGACY_MAGIC in head[:40]


def read_pt_archive(path: Path) -> PtArchive:
    """Open the zip, check the records torch needs, and unpickle data.pkl through the allowlist,
    each within a budget proportional to what the archive holds (``check_entry_count``,
    ``pickle_budget``, ``check_memo``), so a hostile file costs milliseconds, not gigabytes."""
    check_entry_count(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            prefix, byteorder, data, sizes = _records(path, zf, infos)
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - BadZipFile, zlib.error, EOFError, ...: a damaged file
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (damaged zip: {_brief(exc)})") from None
    return PtArchive(path=path, obj=_unpickle(path, data, sizes), prefix=prefix, byteorder=byteorder)


def _records(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> tuple[str, str, bytes, dict[str, int]]:
    if not infos:
        raise CheckpointError(f"{path}: not a torch checkpoint (an empty zip archive)")
    names = {i.filename: i for i in infos}
    prefix = infos[0].filename.split("/", 1)[0]  # torch's own rule: the first record's folder
    pkl = names.get(f"{prefix}/data.pkl")
    if pkl is None:
        what = "a TorchScript archive, not a state dict" if f"{prefix}/constants.pkl" in names else \
            f"a zip archive without {prefix}/data.pkl"
        raise CheckpointError(f"{path}: not a torch checkpoint ({what})")
    storage = f"{prefix}/data/"
    stored = [i for n, i in names.items() if n.startswith(storage)]
    budget = pickle_budget(len(stored), sum(i.compress_size for i in stored))
    records = len(stored)
    if pkl.file_size > budget:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({prefix}/data.pkl holds {pkl.file_size:,} "
                              f"bytes for {records} tensor storage(s); a state dict's takes a few hundred per "
                              f"storage, f5lab reads at most {budget:,})")
    byteorder = "little"
    if f"{prefix}/byteorder" in names:
        byteorder = zf.read(f"{prefix}/byteorder").decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (byteorder {byteorder[:20]!r})")
    sizes = {n[len(storage):]: i.file_size for n, i in names.items() if n.startswith(storage)}
    return prefix, byteorder, zf.read(pkl), sizes


def pickle_budget(records: int, stored_bytes: int) -> int:
    """Bytes of data.pkl f5lab reads for an archive of ``records`` storages holding ``stored_bytes``
    (as stored in the zip: compressing zeros buys no budget)."""
    per_record = min(PICKLE_BYTES_PER_RECORD * records, stored_bytes // STORAGE_BYTES_PER_PICKLE_BYTE)
    return min(MAX_PICKLE_BYTES, PICKLE_BASE_BYTES + per_record)


def check_entry_count(path: Path) -> None:
    """The zip's own count of entries, read from its end record before zipfile builds an object per
    entry: a few thousand for any state dict, proportional to the file's size otherwise."""
    try:
        with open(path, "rb") as fh:
            end = zipfile._EndRecData(fh)  # the (zip64-aware) end-of-central-directory record
    except OSError:
        return
    if not end:
        return  # not a zip zipfile can read: it says so itself
    entries, size = end[zipfile._ECD_ENTRIES_TOTAL], path.stat().st_size
    budget = ZIP_BASE_RECORDS + size // ZIP_BYTES_PER_RECORD
    if entries > budget:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({entries:,} zip entries in {size:,} bytes; "
                              f"f5lab reads at most {budget:,})")


def check_memo(path: Path, data: bytes) -> None:
    """Every memo index within the pickle's own opcode count: a pickler numbers its memo 0, 1, 2...;
    one huge index makes the unpickler allocate a memo table of that size (gigabytes for 5 bytes)."""
    import pickletools

    ops = 0
    try:
        for op, arg, _ in pickletools.genops(data):
            ops += 1
            if op.name in ("PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET") and \
                    isinstance(arg, int) and arg > ops:
                raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (data.pkl {op.name} {arg} past "
                                      f"its {ops} opcodes: a memo no pickler writes)")
            if op.name == "STOP":
                return
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - a mangled stream: the unpickler names it below
        del exc


def _unpickle(path: Path, data: bytes, sizes: dict[str, int]) -> Any:
    check_memo(path, data)
    try:
        return _StateDictUnpickler(data, sizes).load()
    except NeedsTorch:
        raise
    except Refused as exc:
        raise CheckpointError(f"{path}: refused: the pickle asks to run code: {exc} is not something a state "
                              f"dict holds; f5lab never unpickles unsafely. Convert it with trusted code to a "
                              f"plain state dict or .safetensors.") from None
    except _Corrupt as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({exc})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (data.pkl nests too deeply)") from None
    except Exception as exc:  # noqa: BLE001 - UnpicklingError, EOFError, TypeError from a mangled stream
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (corrupt data.pkl: "
                              f"{_brief(exc)})") from None


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:160]

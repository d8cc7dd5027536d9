"""Tensor element types, spelt as safetensors spells them, with their sizes: declared once.

The safetensors header reader, the ``.pt`` reader (torch's storage classes and pickled dtypes
are mapped onto these names) and the memory estimate (bytes per weight of ``--dtype fp16``)
all read them here, so a dtype added for one is known to all.
"""

from __future__ import annotations

# bytes per element, keyed by safetensors dtype names
DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8,
}
# torch dtype names (``torch.float16``, and ``GLOBAL 'torch float16'`` in a pickle) -> stored names
TORCH_DTYPES = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
    "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2", "int64": "I64", "int32": "I32",
    "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL", "uint16": "U16", "uint32": "U32", "uint64": "U64",
}
# what users type (--dtype fp16) -> the stored name
USER_DTYPES = {"fp32": "F32", "fp16": "F16", "bf16": "BF16"}
FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")


def user_dtype_bytes(name: str) -> int:
    """Bytes per element of a user's dtype name (``fp16`` -> 2)."""
    return DTYPE_BYTES[USER_DTYPES[name]]

"""Fuzzing the parsers that read what users hand us: only f5lab's own errors may escape.

The safetensors header reader, the torch-free .pt reader (random bytes, mutated zips, random
pickles from allowed and disallowed opcodes), the vocab reader and the load-error-text parser.
Where f5lab accepts a safetensors header, the safetensors library must accept it too, with the
same tensors; where it accepts a pickle, nothing outside the allowlist may have been called.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import types
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from f5lab.files.checkpoint import open_checkpoint, read_safetensors_layout
from f5lab.errors import F5LabError

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def one_line(exc: F5LabError) -> None:
    assert "\n" not in str(exc) and str(exc).strip(), repr(str(exc))


# -- safetensors headers ------------------------------------------------------------------------------
def st_file(path: Path, raw: bytes, data: bytes) -> Path:
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def check_against_library(path: Path) -> None:
    """open_checkpoint either refuses in one line or agrees with the reference reader."""
    from safetensors import safe_open

    try:
        tensors, _, _ = read_safetensors_layout(path)
    except F5LabError as exc:
        one_line(exc)
        return
    with safe_open(str(path), framework="np") as fh:  # accepted by f5lab: the library must agree
        assert set(fh.keys()) == set(tensors)
        for key in fh.keys():
            assert tuple(fh.get_slice(key).get_shape()) == tensors[key].shape


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=5)  # lone surrogates: one example below
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 2**65), st.floats(allow_nan=False), texts)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)), max_leaves=8)
dtypes = st.sampled_from(["F32", "F16", "BF16", "I64", "U8", "BOOL", "F8_E4M3"] * 3 + ["C64", "F4", "f32", ""])


def mostly(value):
    """``value`` three times in four, else any JSON value."""
    return st.one_of(st.just(value), st.just(value), st.just(value), json_values)


@st.composite
def headers(draw) -> tuple[bytes, int]:
    """Plausible headers: tensors laid out back to back, then some of their fields disturbed."""
    n = draw(st.integers(0, 4))
    header, offset = {}, 0
    for i in range(n):
        dtype = draw(dtypes)
        shape = draw(st.lists(st.integers(0, 5), max_size=3))
        size = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "C64": 8}.get(dtype, 1)
        for dim in shape:
            size *= dim
        begin = offset + draw(st.sampled_from([0] * 6 + [-4, 4, -1]))
        end = begin + size + draw(st.sampled_from([0] * 6 + [1, -1]))
        header[draw(st.sampled_from([f"t{i}"] * 8 + ["", "a\nb", "\\ud800"]))] = {
            "dtype": dtype, "shape": draw(mostly(shape)), "data_offsets": draw(mostly([begin, end]))}
        offset = max(offset, end)
    if draw(st.booleans()):
        header["__metadata__"] = draw(st.one_of(st.dictionaries(texts, texts), st.dictionaries(texts, texts),
                                                json_values))
    raw = json.dumps(header).encode().replace(b"\\\\ud800", b"\\ud800")
    return raw, max(0, offset + draw(st.sampled_from([0, 0, 0, 8, -1])))


@FUZZ
@given(case=headers())
def test_structured_headers(tmp_path_factory, case):
    raw, data_len = case
    check_against_library(st_file(tmp_path_factory.mktemp("h") / "x.safetensors", raw, b"\1" * data_len))


@FUZZ
@given(raw=st.binary(max_size=200), data=st.binary(max_size=64))
@example(raw=b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}", data=b"")
@example(raw=b'{"a":{"dtype":"F32","shape":[Infinity],"data_offsets":[0,4]}}', data=b"\0" * 4)
@example(raw=b' {"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', data=b"\0")
def test_random_header_bytes(tmp_path_factory, raw, data):
    check_against_library(st_file(tmp_path_factory.mktemp("h") / "x.safetensors", raw, data))


@pytest.fixture(scope="module")
def small_safetensors() -> bytes:
    from safetensors.torch import save

    return save({"a": torch.zeros(3, 2), "b": torch.ones(4, dtype=torch.int64), "c": torch.zeros(0)},
                metadata={"format": "pt"})


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
       cut=st.one_of(st.none(), st.integers(0, 400)))
def test_mutated_safetensors_file(tmp_path_factory, small_safetensors, edits, cut):
    check_against_library(write_mutated(tmp_path_factory.mktemp("m") / "x.safetensors", small_safetensors, edits, cut))


def write_mutated(path: Path, original: bytes, edits: list[tuple[int, int]], cut: int | None) -> Path:
    """``original`` with bytes overwritten at ``edits`` (position, value) and cut at ``cut``."""
    blob = bytearray(original)
    for pos, value in edits:
        blob[pos % len(blob)] = value
    path.write_bytes(bytes(blob[:cut]))
    return path


# -- .pt: random bytes, mutated zips, random pickles ------------------------------------------------------
def open_or_refuse(path: Path) -> None:
    try:
        open_checkpoint(path)
    except F5LabError as exc:
        one_line(exc)


@FUZZ
@given(blob=st.binary(min_size=1, max_size=300),
       lead=st.sampled_from([b"", b"PK\x03\x04", b"\x80\x02", b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02"]))
def test_random_bytes_named_pt(tmp_path_factory, blob, lead):
    path = tmp_path_factory.mktemp("r") / "x.pt"
    path.write_bytes(lead + blob)
    open_or_refuse(path)


@pytest.fixture(scope="module")
def small_pt() -> bytes:
    buf = io.BytesIO()
    torch.save({"ema_model_state_dict": {"step": torch.tensor(3), "ema_model.w": torch.zeros(2, 3)},
                "update": 3, "optimizer_state_dict": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]}},
               buf)
    return buf.getvalue()


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 255)), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 4000)))
def test_mutated_torch_zip(tmp_path_factory, small_pt, edits, cut):
    open_or_refuse(write_mutated(tmp_path_factory.mktemp("z") / "x.pt", small_pt, edits, cut))


CALLS: list[tuple] = []  # what the sentinel saw: it must stay empty


@pytest.fixture(scope="module", autouse=True)
def sentinel_module():
    """A module whose functions record being called: a global the allowlist must never hand out."""
    mod = types.ModuleType("f5lab_fuzz_sentinel")
    mod.trip = lambda *args, **kwargs: CALLS.append(args)  # type: ignore[attr-defined]
    mod.Cls = type("Cls", (), {"__init__": lambda self, *a: CALLS.append(a),  # type: ignore[attr-defined]
                               "__setstate__": lambda self, s: CALLS.append((s,))})
    sys.modules[mod.__name__] = mod
    yield
    del sys.modules[mod.__name__]


def _unicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


PICKLE_PIECES = [
    # allowed globals
    b"ccollections\nOrderedDict\n", b"ctorch._utils\n_rebuild_tensor_v2\n", b"ctorch._utils\n_rebuild_parameter\n",
    b"ctorch\nFloatStorage\n", b"ctorch\nSize\n", b"c__builtin__\nset\n", b"c_codecs\nencode\n",
    b"c__builtin__\nbytearray\n", b"ctorch._tensor\n_rebuild_from_type_v2\n", b"ctorch\nfloat32\n",
    # disallowed globals (the sentinel records any call)
    b"cf5lab_fuzz_sentinel\ntrip\n", b"cf5lab_fuzz_sentinel\nCls\n", b"cbuiltins\ngetattr\n", b"cposix\nsystem\n",
    # structure and values
    b"(", b")", b"t", b"\x85", b"\x86", b"R", b"}", b"]", b"s", b"u", b"a", b"e", b"b", b"Q", b"\x81", b"N",
    b"\x88", b"\x89", b"K\x00", b"K\x05", b"J\xff\xff\xff\xff", b"\x8a\x08" + b"\xff" * 8, b"q\x00", b"h\x00",
    b"0", b"2", b"G\x7f\xf0\x00\x00\x00\x00\x00\x00", _unicode("storage"), _unicode("0"), _unicode("cpu"),
    _unicode("w"), _unicode("latin1"), b"C\x02ab", b"i" + b"f5lab_fuzz_sentinel\nCls\n", b"o",
]


def torch_like_zip(pickle_bytes: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pickle_bytes)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/data/0", b"\0" * 64)
    return buf.getvalue()


@FUZZ
@given(pieces=st.lists(st.sampled_from(PICKLE_PIECES), max_size=30), protocol=st.sampled_from([b"\x80\x02", b""]))
@example(pieces=[b"cf5lab_fuzz_sentinel\ntrip\n", b")", b"R"], protocol=b"\x80\x02")
@example(pieces=[b"}", _unicode("w"), b"ctorch._utils\n_rebuild_tensor_v2\n", b"(", b"(", _unicode("storage"),
                 b"ctorch\nFloatStorage\n", _unicode("0"), _unicode("cpu"), b"K\x05", b"t", b"Q", b"K\x00",
                 b"K\x05", b"\x85", b"K\x01", b"\x85", b"\x89", b"ccollections\nOrderedDict\n", b")", b"R", b"t",
                 b"R", b"s"], protocol=b"\x80\x02")
def test_random_pickles_in_a_torch_zip(tmp_path_factory, pieces, protocol):
    path = tmp_path_factory.mktemp("p") / "x.pt"
    path.write_bytes(torch_like_zip(protocol + b"".join(pieces) + b"."))
    open_or_refuse(path)
    assert CALLS == [], "a global outside the allowlist was called"


# -- vocab files ----------------------------------------------------------------------------------------
@FUZZ
@given(blob=st.binary(max_size=300))
@example(blob=b"a\r\nb\r\n\xff\xfe")
@example(blob=b"\r\n")
def test_vocab_reader_random_bytes(tmp_path_factory, blob):
    from f5lab.files.vocab import diff_vocab, duplicates, read_vocab, row_mapping

    path = tmp_path_factory.mktemp("v") / "vocab.txt"
    path.write_bytes(blob)
    try:
        tokens = read_vocab(path)
    except F5LabError as exc:
        one_line(exc)
        assert str(path) in str(exc)
        return
    assert all("\n" not in t and "\r" not in t for t in tokens)
    duplicates(tokens)
    diff_vocab(tokens, tokens[::-1])
    assert len(row_mapping(tokens, tokens)) == len(tokens) + 1


@FUZZ
@given(tokens=st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                               max_size=3), min_size=1, max_size=30))
def test_vocab_crlf_file_reads_as_its_lf_twin(tmp_path_factory, tokens):
    from f5lab.files.vocab import read_vocab

    folder = tmp_path_factory.mktemp("v")
    lf, crlf = folder / "lf.txt", folder / "crlf.txt"
    lf.write_bytes("".join(t + "\n" for t in tokens).encode())
    crlf.write_bytes("".join(t + "\r\n" for t in tokens).encode())
    assert read_vocab(crlf) == read_vocab(lf) == tokens


# -- captured load-error text ------------------------------------------------------------------------------
ERROR_WORDS = ["Missing key(s) in state_dict:", "Unexpected key(s) in state_dict:", "size mismatch for",
               "KeyError: ", '"transformer.layers.0.attn.to_q.weight"', "'module.transformer.x.weight'",
               "torch.Size([1024, 712])", "[2546, 512]", "copying a param with shape", ", ", ".", "\n", "*",
               "transformer.transformer_blocks.3.ff.weight", "ema_model_state_dict", "[" + "9" * 5000 + "]"]


@FUZZ
@given(parts=st.lists(st.one_of(st.sampled_from(ERROR_WORDS), st.text(max_size=20)), max_size=25))
@example(parts=["size mismatch for a.b: [", "9" * 5000, "] vs [1]"])
def test_explain_load_error_random_text(catalogue, parts):
    from f5lab.compat.diagnose import explain_load_error

    try:
        result = explain_load_error("".join(parts), catalogue=catalogue)
    except F5LabError as exc:
        one_line(exc)
        return
    assert result.findings


@FUZZ
@given(blob=st.binary(max_size=300))
@example(blob=b"")
@example(blob=b"\xef\xbb\xbfMissing key(s) in state_dict: \"a.b\"")
def test_error_file_random_bytes(tmp_path_factory, catalogue, blob):
    from f5lab.compat.diagnose import explain_load_error, read_error_text

    path = tmp_path_factory.mktemp("e") / "error.txt"
    path.write_bytes(blob)
    try:
        explain_load_error(read_error_text(path), catalogue=catalogue)
    except F5LabError as exc:
        one_line(exc)

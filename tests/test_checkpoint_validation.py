"""The safetensors header is validated as the safetensors library does, and every refusal is
one CheckpointError line naming the file and the tensor or field (issue 9, 2.2 and 2.10)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from f5lab.files.checkpoint import open_checkpoint, read_safetensors_layout
from f5lab.errors import CheckpointError
from f5lab.synthetic.layouts import write_shape_only_safetensors

F32_4 = {"dtype": "F32", "shape": [4]}  # 16 bytes


def write_raw(path: Path, raw: bytes, data: bytes) -> Path:
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def write_header(path: Path, header: dict, data_len: int) -> Path:
    return write_raw(path, json.dumps(header).encode(), b"\1" * data_len)


def one_line_error(path: Path, *needles: str) -> str:
    with pytest.raises(CheckpointError) as info:
        open_checkpoint(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path)), text
    for needle in needles:
        assert needle in text, text
    return text


def library_refuses(path: Path) -> bool:
    """The reference reader's verdict on the same bytes."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="np") as fh:
            for key in fh.keys():
                fh.get_tensor(key)
    except Exception:  # noqa: BLE001 - SafetensorError, and whatever the reference raises
        return True
    return False


# (header, data length, words the message must hold); every case is one the library refuses too
BAD_HEADERS = {
    "overlapping": ({"a": {**F32_4, "data_offsets": [0, 16]}, "b": {**F32_4, "data_offsets": [0, 16]}}, 32,
                    ["'b' overlaps tensor 'a'"]),
    "partly overlapping": ({"a": {**F32_4, "data_offsets": [0, 16]}, "b": {**F32_4, "data_offsets": [8, 24]}}, 24,
                           ["'b' overlaps tensor 'a'"]),
    "gap": ({"a": {**F32_4, "data_offsets": [0, 16]}, "b": {**F32_4, "data_offsets": [24, 40]}}, 40,
            ["'b' starts at byte 24, leaving a gap after byte 16"]),
    "not from 0": ({"a": {**F32_4, "data_offsets": [8, 24]}}, 24, ["'a' starts at byte 8"]),
    "trailing bytes": ({"a": {**F32_4, "data_offsets": [0, 16]}}, 24, ["cover 16 bytes but the data section has 24"]),
    "float offsets": ({"a": {**F32_4, "data_offsets": [0.0, 16.0]}}, 16, ["'a' has data_offsets [0.0, 16.0]"]),
    "bool offsets": ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [False, True]}}, 1,
                     ["'a' has data_offsets [False, True]"]),
    "three offsets": ({"a": {**F32_4, "data_offsets": [0, 16, 32]}}, 16, ["not two non-negative integers"]),
    "string offsets": ({"a": {**F32_4, "data_offsets": ["0", "16"]}}, 16, ["not two non-negative integers"]),
    "negative offset": ({"a": {**F32_4, "data_offsets": [-16, 0]}}, 16, ["not two non-negative integers"]),
    "reversed offsets": ({"a": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}}, 16,
                         ["[16, 0]: it ends before it begins"]),
    "negative dim": ({"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, 16, ["'a' has shape [-4]"]),
    "float dim": ({"a": {"dtype": "F32", "shape": [4.0], "data_offsets": [0, 16]}}, 16, ["'a' has shape [4.0]"]),
    "shape not a list": ({"a": {"dtype": "F32", "shape": 4, "data_offsets": [0, 16]}}, 16, ["'a' has shape 4"]),
    "byte length": ({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}, 8,
                    ["'a' [4] F32 needs 16 bytes, header gives 8"]),
    "unknown dtype": ({"a": {"dtype": "F33", "shape": [4], "data_offsets": [0, 16]}}, 16, ["unknown dtype 'F33'"]),
    "dtype not a string": ({"a": {"dtype": 4, "shape": [4], "data_offsets": [0, 16]}}, 16, ["unknown dtype '4'"]),
    "entry not an object": ({"a": [0, 16]}, 16, ["'a' is not an object with dtype"]),
    "missing shape": ({"a": {"dtype": "F32", "data_offsets": [0, 16]}}, 16, ["'a' is not an object with dtype"]),
    "metadata a list": ({"__metadata__": ["x"], "a": {**F32_4, "data_offsets": [0, 16]}}, 16,
                        ["__metadata__ is not a string -> string object"]),
    "metadata value a number": ({"__metadata__": {"format": 1}, "a": {**F32_4, "data_offsets": [0, 16]}}, 16,
                                ["__metadata__ value of 'format' is not a string"]),
    "metadata nested": ({"__metadata__": {"k": {"x": "y"}}, "a": {**F32_4, "data_offsets": [0, 16]}}, 16,
                        ["value of 'k' is not a string"]),
    "beyond the data": ({"a": {**F32_4, "data_offsets": [0, 16]}}, 8,
                        ["'a' spans bytes 0..16 but the data section has 8"]),
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_bad_header_is_one_line_naming_file_and_tensor(tmp_path, case):
    header, data_len, needles = BAD_HEADERS[case]
    path = write_header(tmp_path / "bad.safetensors", header, data_len)
    one_line_error(path, *needles)
    assert library_refuses(path), f"{case}: the safetensors library accepts it, so f5lab should too"


# raw JSON texts that the json module itself mishandles (RecursionError, OverflowError, silent duplicates)
BAD_JSON = {
    "deep nesting": (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    "Infinity": (b'{"a":{"dtype":"F32","shape":[Infinity],"data_offsets":[0,16]}}', "Infinity is not JSON"),
    "NaN": (b'{"a":{"dtype":"F32","shape":[4],"data_offsets":[NaN,16]}}', "NaN is not JSON"),
    "-Infinity": (b'{"a":{"dtype":"F32","shape":[-Infinity],"data_offsets":[0,16]}}', "-Infinity is not JSON"),
    "duplicate tensor": (b'{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
                         b'"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', "key 'a' appears twice"),
    "duplicate field": (b'{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"dtype":"F16"}}',
                        "key 'dtype' appears twice"),
    "top level list": (b'[{"a":1}]', "expected a JSON object"),
    "top level string": (b'"abc"', "expected a JSON object"),
    "huge integer": (b'{"a":{"dtype":"F32","shape":[' + b"9" * 5000 + b'],"data_offsets":[0,16]}}', "not valid JSON"),
    "not UTF-8": (b'{"a\xff":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', "not valid JSON"),
    "huge float": (b'{"a":{"dtype":"F32","shape":[1e400],"data_offsets":[0,16]}}', "'a' has shape [inf]"),
}


@pytest.mark.parametrize("case", list(BAD_JSON))
def test_json_the_json_module_mishandles_is_refused_in_one_line(tmp_path, case):
    raw, needle = BAD_JSON[case]
    path = write_raw(tmp_path / "bad.safetensors", raw, b"\1" * 16)
    one_line_error(path, "corrupt safetensors header", needle)


def test_a_tensor_name_with_a_newline_stays_on_one_line(tmp_path):
    header = {"a\nb": {**F32_4, "data_offsets": [0, 16]}, "c": {**F32_4, "data_offsets": [0, 16]}}
    text = one_line_error(write_header(tmp_path / "n.safetensors", header, 32), "overlaps")
    assert "'a\\nb'" in text


def test_valid_edge_cases_are_accepted(tmp_path):
    """Zero-sized tensors may share an offset; an empty file body is a valid (empty) checkpoint."""
    header = {"__metadata__": {"format": "pt"}, "z": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
              "a": {**F32_4, "data_offsets": [0, 16]}, "y": {"dtype": "I64", "shape": [], "data_offsets": [16, 24]}}
    path = write_header(tmp_path / "ok.safetensors", header, 24)
    assert not library_refuses(path)
    tensors, metadata, layout = read_safetensors_layout(path)
    assert metadata == {"format": "pt"}
    assert {k: (t.shape, t.dtype) for k, t in tensors.items()} == {"z": ((0, 3), "F32"), "a": ((4,), "F32"),
                                                                    "y": ((), "I64")}
    assert layout.offsets == {"z": (0, 0), "a": (0, 16), "y": (16, 24)}
    assert layout.data_start == 8 + len(json.dumps(header))


def test_real_files_pass(tmp_path, make_fixture):
    for layout in ("release_safetensors", "pruned_fp16_safetensors", "extended_vocab_safetensors"):
        tensors, _, layout_ = read_safetensors_layout(make_fixture("F5TTS_Base", layout).path)
        assert len(tensors) == len(layout_.offsets) > 50
    tensors, meta, _ = read_safetensors_layout(write_shape_only_safetensors(tmp_path / "f.safetensors"))
    assert len(tensors) == 364 and meta["f5lab"] == "shape-only fixture"


# -- the commands that read tensor bytes go through the validated header ---------------------------
def aliased_full_scale(tmp_path: Path) -> Path:
    """A full-scale F5TTS_Base header (sparse data) in which one tensor's offsets point at another's
    bytes: the data section keeps its size, so only the overlap rule can catch it."""
    good = write_shape_only_safetensors(tmp_path / "good.safetensors", "F5TTS_Base")
    raw = good.read_bytes()[: 8 + struct.unpack("<Q", good.read_bytes()[:8])[0]]
    header = json.loads(raw[8:])
    a, b = "ema_model.transformer.transformer_blocks.0.attn.to_q.weight", \
        "ema_model.transformer.transformer_blocks.0.attn.to_k.weight"
    header[b]["data_offsets"] = header[a]["data_offsets"]
    data_len = good.stat().st_size - len(raw)
    new = json.dumps(header, separators=(",", ":")).encode()
    new += b" " * (-len(new) % 8)
    path = tmp_path / "aliased.safetensors"
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(new)) + new)
        fh.truncate(8 + len(new) + data_len)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "f5lab", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def aliased(tmp_path_factory) -> Path:
    return aliased_full_scale(tmp_path_factory.mktemp("aliased"))


COMMANDS = {
    "inspect": ["inspect", "{bad}"],
    "diagnose": ["diagnose", "{bad}", "--config", "F5TTS_Base"],
    "matrix": ["matrix", "{bad}"],
    "remap --no-verify": ["remap", "{bad}", "{out}", "--config", "F5TTS_Base", "--no-verify"],
    "verify": ["verify", "{good}", "{bad}"],
    "profile --measure cpu": ["profile", "{bad}", "--measure", "cpu", "--nfe", "1", "--seconds", "1"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_aliased_offsets_are_refused_by_every_command(aliased, command):
    out = aliased.with_name(f"out_{command.split()[0]}.safetensors")
    args = [a.format(bad=aliased, good=aliased.with_name("good.safetensors"), out=out) for a in COMMANDS[command]]
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("f5lab: error: "), proc.stderr
    assert str(aliased) in lines[0] and "to_k.weight' overlaps tensor" in lines[0], lines[0]
    assert not out.exists() and not list(aliased.parent.glob(".f5lab-partial-*"))


# -- content decides the format, except that a .safetensors name is trusted (issue 9, 2.10) -----------
def test_random_bytes_named_pt_are_not_a_torch_checkpoint(tmp_path):
    import random

    path = tmp_path / "junk.pt"
    path.write_bytes(bytes(random.Random(0).randrange(256) for _ in range(4096)))
    text = one_line_error(path, "not a torch checkpoint")
    assert "run code" not in text
    path.write_bytes(b"\x80\x04" + bytes(100))  # a pickle marker, but no torch magic number
    assert "run code" not in one_line_error(path, "not a torch checkpoint")


def test_safetensors_named_pt_is_read_as_safetensors(tmp_path, make_fixture):
    src = make_fixture("F5TTS_Base", "release_safetensors").path
    path = tmp_path / "model.pt"
    path.write_bytes(src.read_bytes())
    ck = open_checkpoint(path)
    assert ck.format == "safetensors"
    assert ck.state_dicts == open_checkpoint(src).state_dicts
    proc = run_cli("inspect", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["format"] == "safetensors"


def test_a_corrupt_safetensors_named_pt_gets_the_safetensors_reason(tmp_path):
    header = {"a": {**F32_4, "data_offsets": [0, 16]}, "b": {**F32_4, "data_offsets": [0, 16]}}
    path = write_header(tmp_path / "model.pt", header, 32)
    one_line_error(path, "corrupt safetensors", "overlaps")


def test_a_torch_file_named_safetensors_says_so(tmp_path, make_fixture):
    path = tmp_path / "model.safetensors"
    path.write_bytes(make_fixture("F5TTS_Base", "release_pt").path.read_bytes())
    one_line_error(path, "named .safetensors but holds a torch checkpoint", "rename it to .pt")

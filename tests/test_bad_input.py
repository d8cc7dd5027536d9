"""Bad input to inspect: one clear line on stderr, exit code 2, never a traceback."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest

from f5lab.files.checkpoint import open_checkpoint
from f5lab.errors import ArchError, CheckpointError
from f5lab.model.inspection import inspect_checkpoint


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "f5lab", *args], capture_output=True, text=True)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("f5lab: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0]


def write_safetensors(path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_missing_file(tmp_path):
    assert_one_line_error(run_cli("inspect", str(tmp_path / "nope.safetensors")), "no such file")


def test_directory_lists_what_is_inside(tmp_path, make_fixture):
    (tmp_path / "model_last.safetensors").write_bytes(make_fixture().path.read_bytes())
    assert_one_line_error(run_cli("inspect", str(tmp_path)), "is a directory", "model_last.safetensors")


def test_empty_file(tmp_path):
    (tmp_path / "e.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        open_checkpoint(tmp_path / "e.safetensors")


def test_truncated_safetensors(tmp_path, make_fixture):
    good = make_fixture().path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good[: len(good) // 2])
    assert_one_line_error(run_cli("inspect", str(cut)), "truncated")
    cut.write_bytes(good[:20])  # header length field intact, header itself cut
    assert_one_line_error(run_cli("inspect", str(cut)), "header claims")


def test_header_length_beyond_file(tmp_path):
    p = tmp_path / "h.safetensors"
    p.write_bytes(struct.pack("<Q", 10_000) + b"{}")
    with pytest.raises(CheckpointError, match="header claims 10000 bytes"):
        open_checkpoint(p)


def test_bad_json(tmp_path):
    p = tmp_path / "j.safetensors"
    p.write_bytes(struct.pack("<Q", 9) + b"{not json")
    assert_one_line_error(run_cli("inspect", str(p)), "not valid JSON")


def test_offsets_out_of_range_and_size_mismatch(tmp_path):
    p = tmp_path / "o.safetensors"
    write_safetensors(p, {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}}, b"\0" * 16)
    with pytest.raises(CheckpointError, match="spans bytes 0..64 but the data section has 16"):
        open_checkpoint(p)
    write_safetensors(p, {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}, b"\0" * 16)
    with pytest.raises(CheckpointError, match="needs 16 bytes, header gives 8"):
        open_checkpoint(p)
    write_safetensors(p, {"w": {"dtype": "Q99", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 16)
    with pytest.raises(CheckpointError, match="unknown dtype"):
        open_checkpoint(p)


def test_not_an_f5_model(tmp_path):
    p = tmp_path / "bert.safetensors"
    write_safetensors(p, {"encoder.layer.0.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}},
                      b"\0" * 16)
    with pytest.raises(ArchError, match="not an F5-TTS / E2-TTS checkpoint"):
        inspect_checkpoint(p)
    assert_one_line_error(run_cli("inspect", str(p)), "not an F5-TTS", "encoder")


class Payload:
    """Pickles into a call of os.system: what a malicious checkpoint does."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("zipped", [True, False])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, zipped):
    import torch

    marker = tmp_path / "pwned"
    p = tmp_path / "evil.pt"
    torch.save({"model_state_dict": {"w": torch.zeros(2)}, "x": Payload(str(marker))}, p,
               _use_new_zipfile_serialization=zipped)
    assert not marker.exists()
    proc = run_cli("inspect", str(p))
    assert_one_line_error(proc, "refused", "never unpickles unsafely")
    assert not marker.exists(), "the payload ran"


def test_garbage_pt(tmp_path):
    p = tmp_path / "junk.pt"
    p.write_bytes(b"PK\x03\x04" + os.urandom(200))
    assert_one_line_error(run_cli("inspect", str(p)), "not a readable PyTorch checkpoint")


def test_pt_holding_a_tensor_not_a_dict(tmp_path):
    import torch

    p = tmp_path / "t.pt"
    torch.save(torch.zeros(3), p)
    with pytest.raises(CheckpointError, match="holds a Tensor, not a state dict"):
        open_checkpoint(p)


def test_safetensors_whose_header_length_starts_with_0x80_is_not_taken_for_a_pickle(tmp_path):
    """A 128-byte header begins the file with b'\\x80', the pickle protocol marker."""
    from safetensors.numpy import load_file

    header = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    raw = json.dumps(header).encode()
    raw += b" " * (128 - len(raw))
    p = tmp_path / "x.safetensors"
    p.write_bytes(struct.pack("<Q", 128) + raw + b"\0" * 8)
    assert p.read_bytes()[:1] == b"\x80"
    assert load_file(str(p))["w"].shape == (2,)  # the reference reader accepts it
    assert open_checkpoint(p).state_dicts["<root>"]["w"].shape == (2,)


def test_dtype_names_have_one_home():
    import torch

    from f5lab.files.checkpoint import torch_dtype, torch_dtype_name

    assert [torch_dtype(n) for n in ("fp32", "fp16", "bf16", "F16", "I64")] == [
        torch.float32, torch.float16, torch.bfloat16, torch.float16, torch.int64]
    assert torch_dtype_name(torch_dtype("bf16")) == "BF16"
    with pytest.raises(CheckpointError, match="unknown dtype 'fp8'"):
        torch_dtype("fp8")

"""A .pt zip is described without torch (f5lab.files.ptfile), exactly as torch.load(weights_only=True)
sees it, and a pickle that asks for anything beyond a state dict is refused without running."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import zipfile
from collections import OrderedDict

import pytest
import torch

from f5lab.files.checkpoint import TensorInfo, _describe_pt_object, open_checkpoint, torch_dtype_name
from f5lab.errors import CheckpointError
from f5lab.synthetic.layouts import LAYOUTS
from f5lab.files.ptfile import TensorRef, read_pt_archive

PT_LAYOUTS = [name for name in LAYOUTS if not name.endswith("safetensors")]


def torch_view(path):
    """The reference: what torch.load(weights_only=True, mmap=True) gives, described the same way."""
    obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    return obj, _describe_pt_object(path, path.stat().st_size, obj, torch.Tensor,
                                    lambda t: TensorInfo(tuple(t.shape), torch_dtype_name(t.dtype)),
                                    lambda t: t.item())


def assert_same_tree(ours, theirs, where="root"):
    """Every container, plain value and tensor (shape, dtype, stride, offset) of the whole object,
    optimizer and scheduler state included."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, TensorRef), where
        assert (ours.shape, ours.dtype, ours.stride, ours.offset) == (
            tuple(theirs.shape), torch_dtype_name(theirs.dtype), theirs.stride(), theirs.storage_offset()), where
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs), where
        for key in theirs:
            assert_same_tree(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_tree(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs and type(ours) is type(theirs), where


@pytest.mark.parametrize("layout", PT_LAYOUTS)
def test_torch_free_reader_agrees_with_torch_load_on_every_layout(make_fixture, layout):
    path = make_fixture("F5TTS_Base", layout).path
    theirs_obj, theirs = torch_view(path)
    ours = open_checkpoint(path)
    assert ours._pt_object is None  # described without loading anything through torch
    assert ours.state_dicts == theirs.state_dicts and len(ours.state_dicts) >= 1
    assert ours.extras == theirs.extras
    assert ours.other_containers == theirs.other_containers
    assert ours.layout() == theirs.layout()
    assert_same_tree(read_pt_archive(path).obj, theirs_obj)
    if layout in ("release_pt", "trainer_pt", "old_mel_buffers_pt"):
        assert ours.extras["step"] == 1200 and ours.extras["ema_model_state_dict.initted"] is True
    if layout == "trainer_pt":
        assert ours.extras["update"] == 1200
        assert {"optimizer_state_dict", "scheduler_state_dict"} == set(ours.other_containers)


def test_module_state_dict_with_parameters_metadata_and_shared_storage(tmp_path):
    """A real model.state_dict() (an OrderedDict carrying _metadata), nn.Parameters, a view sharing
    its base's storage, fp16/bf16 scalars, and a legacy (non-zip) copy read by torch."""
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    base = torch.arange(12, dtype=torch.float32)
    obj = {"model_state_dict": model.state_dict(), "params": dict(model.named_parameters()),
           "ema_model_state_dict": {"step": torch.tensor(7, dtype=torch.int32), "initted": torch.tensor(True),
                                    "w": base, "view": base[2:8].view(2, 3), "h": torch.tensor(1.5).half(),
                                    "b": torch.tensor(2.5).bfloat16()},
           "betas": (0.9, 0.999), "name": "x", "blob": b"\x00\xff", "nothing": None, "tags": {1, 2}}
    zipped, legacy = tmp_path / "z.pt", tmp_path / "l.pt"
    torch.save(obj, zipped)
    torch.save(obj, legacy, _use_new_zipfile_serialization=False)
    theirs_obj, theirs = torch_view(zipped)
    ours = read_pt_archive(zipped)
    assert_same_tree(ours.obj, theirs_obj)
    assert ours.obj["model_state_dict"]._metadata == theirs_obj["model_state_dict"]._metadata
    ck = open_checkpoint(zipped)
    assert (ck.extras, ck.state_dicts) == (theirs.extras, theirs.state_dicts)
    assert ck.extras["step"] == 7 and ck.state_dicts["ema_model_state_dict"]["view"] == TensorInfo((2, 3), "F32")
    assert ours.scalar(ours.obj["ema_model_state_dict"]["h"]) == 1.5
    assert ours.scalar(ours.obj["ema_model_state_dict"]["b"]) == 2.5
    assert ours.scalar(ours.obj["ema_model_state_dict"]["w"]) is None  # 12 elements: not a scalar
    old = open_checkpoint(legacy)  # legacy pickles keep torch's reader
    assert old._pt_object is not None and (old.extras, old.state_dicts) == (ck.extras, ck.state_dicts)


def test_tensors_are_loaded_through_torch_only_when_asked_for(make_fixture):
    path = make_fixture("F5TTS_Base", "trainer_pt").path
    ck = open_checkpoint(path)
    state = ck.model_state()
    name, tensor = next(ck.iter_tensors(state))
    reference = torch.load(path, weights_only=True)["ema_model_state_dict"][state.raw_keys[name]]
    assert torch.equal(tensor, reference)


@pytest.mark.parametrize("command", ["inspect", "profile"])
def test_shape_commands_on_pt_import_neither_torch_nor_f5_tts(make_fixture, command):
    code = ("import sys, atexit\n"
            "atexit.register(lambda: print('torch' in sys.modules, any(m.startswith('f5_tts') for m in sys.modules),"
            " file=sys.stderr))\n"
            f"sys.argv = ['f5lab', {command!r}, {str(make_fixture('F5TTS_Base', 'trainer_pt').path)!r}, '--json']\n"
            "from f5lab.cli.commands import main\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert ('"step": 1200' if command == "inspect" else '"verdicts"') in proc.stdout
    assert proc.stderr.split() == ["False", "False"], proc.stderr


# -- refusals --------------------------------------------------------------------------------------------
class Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def zip_with_pickle(path, data: bytes, extra: dict[str, bytes] | None = None):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", data)
        for name, blob in (extra or {}).items():
            zf.writestr(f"archive/{name}", blob)
    return path


def test_malicious_zip_pickle_is_refused_naming_the_global(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"model_state_dict": {"w": torch.zeros(2)}, "x": Payload(str(marker))}, path)
    with pytest.raises(CheckpointError, match=r"refused: the pickle asks to run code: posix\.system .*never "
                                              r"unpickles unsafely"):
        open_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("module,name", [("builtins", "getattr"), ("builtins", "eval"), ("__builtin__", "exec"),
                                         ("torch", "load"), ("collections", "defaultdict"), ("os", "system"),
                                         ("torch._utils", "_rebuild_xla_tensor"), ("copyreg", "_reconstructor")])
def test_any_global_outside_the_allowlist_is_refused(tmp_path, module, name):
    data = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R."  # GLOBAL, empty tuple, REDUCE
    path = zip_with_pickle(tmp_path / "g.pt", data)
    with pytest.raises(CheckpointError, match=f"asks to run code: {module}.{name} is not"):
        open_checkpoint(path)


def test_allowed_callables_misused_are_a_corrupt_file_not_a_crash(tmp_path):
    cases = {
        "rebuild from a string": b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(X\x01\x00\x00\x00sK\x00)))tR.",
        "bytearray of a terabyte": b"\x80\x02c__builtin__\nbytearray\n\x8a\x06\x00\x00\x00\x00\x00\x01\x85R.",
        "persistent id unknown": b"\x80\x02X\x03\x00\x00\x00abcQ.",
        "storage without record": b"\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000"
                                  b"X\x03\x00\x00\x00cpuK\x04tQ.",
        "truncated": b"\x80\x02}q\x00(X",
    }
    for case, data in cases.items():
        with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint") as info:
            open_checkpoint(zip_with_pickle(tmp_path / "c.pt", data))
        assert "\n" not in str(info.value), case


def test_zip_without_data_pkl_and_torchscript(tmp_path):
    path = tmp_path / "z.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/other.txt", "x")
    with pytest.raises(CheckpointError, match="not a torch checkpoint .a zip archive without archive/data.pkl"):
        open_checkpoint(path)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/constants.pkl", "x")
    with pytest.raises(CheckpointError, match="TorchScript archive"):
        open_checkpoint(path)


def test_archive_folder_is_found_whatever_its_name(tmp_path, make_fixture):
    """Older torch versions name the record folder after the file ('model_1200/data.pkl')."""
    src = make_fixture("F5TTS_Base", "release_pt").path
    path = tmp_path / "renamed.pt"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            zout.writestr("model_1200/" + info.filename.split("/", 1)[1], zin.read(info))
    assert open_checkpoint(path).state_dicts == open_checkpoint(src).state_dicts
    assert open_checkpoint(path).extras["step"] == 1200
    assert torch_view(path)[1].state_dicts == open_checkpoint(path).state_dicts  # torch reads it too


def test_plain_pickle_named_pt_is_not_a_torch_checkpoint_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "p.pt"
    path.write_bytes(pickle.dumps({"x": Payload(str(marker))}, protocol=4))
    with pytest.raises(CheckpointError, match="not a torch checkpoint"):
        open_checkpoint(path)
    assert not marker.exists()


def test_a_pickle_that_is_not_a_dict(tmp_path):
    buf = io.BytesIO()
    torch.save([torch.zeros(2)], buf)
    (tmp_path / "l.pt").write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match="holds a list, not a state dict"):
        open_checkpoint(tmp_path / "l.pt")
    torch.save(OrderedDict(), tmp_path / "e.pt")
    assert open_checkpoint(tmp_path / "e.pt").state_dicts == {}


def test_allowlist_is_a_subset_of_torchs_weights_only_allowlist():
    """Nothing f5lab admits without torch is something torch.load(weights_only=True) would refuse."""
    from torch._weights_only_unpickler import _get_allowed_globals

    from f5lab.files.ptfile import ALLOWED

    theirs = set(_get_allowed_globals())
    ours = {f"{module.replace('__builtin__', 'builtins')}.{name}" for module, name in ALLOWED}
    assert ours - theirs == set()
    assert {"torch.FloatStorage", "torch.BFloat16Storage", "torch._utils._rebuild_tensor_v2",
            "collections.OrderedDict"} <= ours


def test_newer_dtypes_and_gpu_storages_are_read_without_torch(tmp_path):
    """float8/uint16 tensors are saved as byte storages through _rebuild_tensor_v3."""
    obj = {"a": torch.ones(2, 3, dtype=torch.float8_e4m3fn), "b": torch.zeros(6, dtype=torch.uint16)[1:],
           "step": torch.tensor(9, dtype=torch.uint16), "c": torch.zeros(2, dtype=torch.bfloat16)}
    path = tmp_path / "new.pt"
    torch.save(obj, path)
    theirs_obj, theirs = torch_view(path)
    ours = open_checkpoint(path)
    assert ours._pt_object is None and ours.state_dicts == theirs.state_dicts
    assert ours.state_dicts["<root>"]["a"] == TensorInfo((2, 3), "F8_E4M3")
    assert ours.extras == theirs.extras == {"<root>.step": 9, "step": 9}
    assert_same_tree(read_pt_archive(path).obj, theirs_obj)


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
def test_tensors_this_reader_does_not_describe_go_to_torch(tmp_path):
    """Complex and sparse tensors are in torch's allowlist, not ours: torch describes the file."""
    obj = {"model_state_dict": {"w": torch.zeros(2), "z": torch.zeros(2, dtype=torch.complex64),
                                "s": torch.eye(3).to_sparse()}, "update": 5}
    path = tmp_path / "complex.pt"
    torch.save(obj, path)
    ck = open_checkpoint(path)
    assert ck._pt_object is not None  # read through torch.load(weights_only=True)
    assert ck.state_dicts == torch_view(path)[1].state_dicts and ck.extras == {"update": 5}


def test_a_view_beyond_its_storage_is_corrupt(tmp_path):
    """Hand-made: a [4] float view of a storage holding 2 floats, which torch.load refuses too."""
    data = (b"\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
            b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x02tQK\x00K\x04\x85K\x01\x85\x89"
            b"ccollections\nOrderedDict\n)RtRs.")
    path = zip_with_pickle(tmp_path / "v.pt", data, {"data/0": b"\0" * 8})
    with pytest.raises(CheckpointError, match=r"a \[4\] F32 view reaches past its storage 0 \(8 bytes\)"):
        open_checkpoint(path)
    with pytest.raises(Exception):
        torch.load(path, weights_only=True)
    zip_with_pickle(path, data.replace(b"K\x04\x85", b"K\x02\x85"), {"data/0": b"\0" * 8})
    assert open_checkpoint(path).state_dicts["<root>"]["w"] == TensorInfo((2,), "F32")


def test_attributes_a_pickle_sets_on_an_ordered_dict_are_never_called(tmp_path):
    """BUILD may set instance attributes on an OrderedDict ('items', 'values'): they shadow its methods."""
    data = (b"\x80\x02ccollections\nOrderedDict\n)R}(X\x05\x00\x00\x00itemsctorch._utils\n_rebuild_tensor_v2\n"
            b"X\x06\x00\x00\x00valuesctorch._utils\n_rebuild_parameter\nub.")
    path = zip_with_pickle(tmp_path / "a.pt", data)
    shadowed = read_pt_archive(path).obj
    assert isinstance(shadowed, OrderedDict) and "items" in vars(shadowed)
    assert open_checkpoint(path).state_dicts == {}

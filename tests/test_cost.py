"""What reading a hostile file costs, not only whether it raises (issue 16 section 3).

Each reader of a file users hand f5lab has a budget proportional to the useful size of what it
reads, and refuses beyond it in one line. Hypothesis builds inputs out of amplifiers (one pickle
opcode repeated and deflated, a huge memo index, many empty tensors, nested or aliased YAML, long
dot-less tokens after "Missing key(s)", very many lines) and each reader must finish within
``TIME_BASE + TIME_PER_BYTE x the file's bytes`` of CPU and ``MEMORY_BASE + MEMORY_PER_BYTE x the
file's bytes`` of traced Python memory, whether it accepts the input or refuses it. Before this
issue, 195 KB of pickle took inspect to 3.3 GB and 200 KB of error text took diagnose 262 s.
"""

from __future__ import annotations


import io
import struct
import time
import tracemalloc
import zipfile
from typing import Any, Callable

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from f5lab.errors import F5LabError

TIME_BASE, TIME_PER_BYTE = 2.0, 20e-6  # CPU seconds: generous for a loaded machine, far below quadratic
MEMORY_BASE, MEMORY_PER_BYTE = 48 * 2**20, 64  # traced bytes

COST = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def within_budget(read: Callable[[], Any], size: int) -> str:
    """Run ``read``; assert its cost; return 'ok' or 'refused' (a one-line F5LabError)."""
    tracemalloc.start()
    start = time.process_time()
    try:
        read()
        outcome = "ok"
    except F5LabError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 2000, str(exc)[:300]
        outcome = "refused"
    finally:
        seconds = time.process_time() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert seconds <= TIME_BASE + TIME_PER_BYTE * size, f"{seconds:.2f} s for {size} bytes"
    assert peak <= MEMORY_BASE + MEMORY_PER_BYTE * size, f"{peak / 2**20:.0f} MB for {size} bytes"
    return outcome


# -- .pt: pickles that inflate ------------------------------------------------------------------------
AMPLIFIERS = [b"]", b"N", b"(", b"}", b"\x88", b"K\x00", b"h\x00", b"\x94", b"]q\x00", b"X\x00\x00\x00\x00",
              b"r\xff\xff\xff\x7f", b"q\xff", b"\x8a\x08" + b"\xff" * 8, b"2", b"C\x00"]


def deflated_pt(pickle_bytes: bytes, storages: int = 1) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("archive/data.pkl", pickle_bytes)
        zf.writestr("archive/byteorder", "little")
        for i in range(storages):
            zf.writestr(f"archive/data/{i}", b"\0" * 4)
    return buf.getvalue()


@COST
@given(piece=st.sampled_from(AMPLIFIERS), repeat=st.integers(1, 20_000_000), storages=st.integers(0, 3000),
       proto=st.sampled_from([b"\x80\x02", b"\x80\x04", b""]))
@example(piece=b"]", repeat=200_000_000, storages=1, proto=b"\x80\x02")  # the 195 KB -> 200 MB
@example(piece=b"r\xff\xff\xff\x7f", repeat=1, storages=1, proto=b"\x80\x02")  # a 2**31 memo slot
def test_a_pt_costs_what_its_file_holds(tmp_path_factory, piece, repeat, storages, proto):
    from f5lab.files.checkpoint import open_checkpoint

    path = tmp_path_factory.mktemp("pt") / "x.pt"
    path.write_bytes(deflated_pt(proto + piece * repeat + b".", storages))
    within_budget(lambda: open_checkpoint(path), path.stat().st_size)


# -- safetensors headers: many tensors, little data -------------------------------------------------------
@COST
@given(count=st.integers(1, 300_000), nbytes=st.sampled_from([0, 1, 4, 256]), meta=st.integers(0, 2_000_000))
@example(count=1_150_000, nbytes=0, meta=0)  # the 96 MB header of 1.15 M empty tensors
def test_a_safetensors_header_costs_what_its_data_holds(tmp_path_factory, count, nbytes, meta):
    from f5lab.files.checkpoint import open_checkpoint

    entries = ",".join(f'"t{i}":{{"dtype":"U8","shape":[{nbytes}],"data_offsets":[{i * nbytes},{(i + 1) * nbytes}]}}'
                       for i in range(count))
    raw = ('{"__metadata__":{"m":"' + "x" * meta + '"},' + entries + "}").encode()
    path = tmp_path_factory.mktemp("st") / "x.safetensors"
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        fh.truncate(8 + len(raw) + count * nbytes)  # sparse: the data section costs no disk
    size = min(path.stat().st_size, 8 + len(raw))  # the bytes there are to read: the header
    within_budget(lambda: open_checkpoint(path), size)


# -- YAML: deep, aliased, wide ---------------------------------------------------------------------------------
@st.composite
def yaml_texts(draw) -> str:
    kind = draw(st.sampled_from(["deep", "aliases", "wide", "long"]))
    n = draw(st.integers(1, 60_000))
    if kind == "deep":
        return "model: " + "[" * n + "]" * n + "\n"
    if kind == "aliases":
        levels, width = draw(st.integers(2, 12)), draw(st.integers(2, 12))
        names = [f"a{i}" for i in range(levels)]
        lines = [f"{names[0]}: &{names[0]} [" + ", ".join(["x"] * width) + "]"]
        lines += [f"{b}: &{b} [" + ", ".join([f"*{a}"] * width) + "]" for a, b in zip(names, names[1:])]
        return "\n".join(lines) + "\ncheckpoints: x\nmodel: {backbone: DiT}\n"
    if kind == "wide":
        return "model: [" + ", ".join(["a"] * n) + "]\n"
    return "model: " + "x" * (n * 10) + "\n"


@COST
@given(text=yaml_texts(), reader=st.sampled_from(["config", "sweep"]))
def test_yaml_costs_what_its_file_holds(tmp_path_factory, text, reader):
    from f5lab.model.configs import resolve_config
    from f5lab.reporting.sweepspec import load_sweep_file

    path = tmp_path_factory.mktemp("y") / "x.yaml"
    path.write_text(text)
    read = (lambda: resolve_config(str(path))) if reader == "config" else (lambda: load_sweep_file(path))
    _warm_yaml_readers(tmp_path_factory)  # the readers' one-time set-up (imports, schemas) is not the file's cost
    within_budget(read, path.stat().st_size)


_WARM: list[bool] = []


def _warm_yaml_readers(tmp_path_factory: Any) -> None:
    """Both YAML readers run once on a small file, outside any budget: under tracemalloc their first
    call pays for imports and pydantic's schema build (seconds on a loaded machine), which depends on
    which test ran first, not on what the file holds."""
    if _WARM:
        return
    _WARM.append(True)
    from f5lab.model.configs import resolve_config
    from f5lab.reporting.sweepspec import load_sweep_file

    path = tmp_path_factory.mktemp("warm") / "w.yaml"
    path.write_text("model:\n  backbone: DiT\n")
    for read in (lambda: resolve_config(str(path)), lambda: load_sweep_file(path)):
        try:
            read()
        except F5LabError:
            pass


# -- captured load-error text ---------------------------------------------------------------------------------
ERROR_AMPLIFIERS = ["a", "a.", "Missing key(s) in state_dict: ", "size mismatch for ", "\"", "'", "[1, 2]", ", ",
                    "transformer.layers.0.attn.to_q.weight, ", "Unexpected key(s) in state_dict: "]


@COST
@given(head=st.sampled_from(["", "Error(s) in loading state_dict for CFM:\n\tMissing key(s) in state_dict: ",
                             "size mismatch for "]),
       pieces=st.lists(st.sampled_from(ERROR_AMPLIFIERS), min_size=1, max_size=3), repeat=st.integers(1, 400_000))
@example(head="Error(s) in loading state_dict for CFM:\n\tMissing key(s) in state_dict: ", pieces=["a"],
         repeat=200_000)  # the 200 KB dot-less token: 262 s
def test_error_text_costs_linear_time(tmp_path_factory, catalogue, head, pieces, repeat):
    from f5lab.compat.diagnose import explain_load_error, read_error_text

    path = tmp_path_factory.mktemp("e") / "error.txt"
    path.write_text(head + "".join(pieces) * repeat)
    within_budget(lambda: explain_load_error(read_error_text(path), catalogue=catalogue), path.stat().st_size)


# -- vocab files ----------------------------------------------------------------------------------------------------
@COST
@given(line=st.sampled_from(["", "a", "\ufeff ", "ab\r", "😀"]), repeat=st.integers(1, 3_000_000))
def test_a_vocab_costs_what_its_file_holds(tmp_path_factory, line, repeat):
    from f5lab.files.vocab import diff_vocab, read_vocab, row_mapping

    path = tmp_path_factory.mktemp("v") / "vocab.txt"
    path.write_text((line + "\n") * repeat, encoding="utf-8")

    def read() -> None:
        tokens = read_vocab(path)
        diff_vocab(tokens, read_vocab(None))
        row_mapping(tokens, read_vocab(None))

    within_budget(read, path.stat().st_size)

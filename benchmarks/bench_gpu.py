"""On a CUDA machine: f5lab's memory estimate and speed prediction against the GPU, at full scale.

One short script for a lent GPU (exit 2 with one line where torch sees none). With a full-scale
F5TTS_Base checkpoint of random weights built in /tmp (removed at the end) it measures:

1. peak memory of one ``CFM.sample`` step (the allocator's ``max_memory_allocated``) against
   ``memory.estimate`` for fp32 and fp16 at 10 s and 30 s, on the attention kernel PyTorch picks;
2. the same calls under a 4 GiB cap (``torch.cuda.set_per_process_memory_fraction``): whether each
   fits, beside what the GTX 1050 Ti verdict predicts (the estimate against the 4 GiB card's budget);
3. seconds per call: ``CFM.sample`` at NFE 16 and 32 for 10 s, fp32 and fp16, against
   ``speed.predict`` with this card's catalogue rates (when the card is in the catalogue), so the
   efficiency the paper's RTX 3090 figure gave can be checked here;
4. fp16 against fp32 (``fp16_vs_fp32``): the measured time ratio per NFE beside the speed model's, on
   the attention kernel PyTorch picks and on the memory-efficient kernel a Pascal card (cc 6.1) runs
   fp16 with, each under the 4 GiB cap too. The speed model's fp16 rate on consumer Pascal (about the
   fp32 rate: fp16 stored, fp32-compute GEMMs; ``f5lab.hardware.gpus.PASCAL_FP16``) is settled only on a
   Pascal card (``pascal`` in the JSON says whether this was one); elsewhere the rows check the model's
   fp16/fp32 ratio on that card;
5. ``f5lab synth --device cuda`` once (the CLI end to end on the GPU, NFE 16).

``speed_check`` in the JSON is the spread of predicted / measured seconds over every timed call: the
figure ``f5lab.hardware.speed.GPU_CHECK`` takes once a GPU run has measured it.

Run: python benchmarks/bench_gpu.py [--json benchmarks/results/gpu.json] (a few minutes on a
datacenter card; needs about 8 GB of GPU memory). Prints one table per part and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GIB = 2**30
CAP_BYTES = 4 * GIB


def _memory_rows(model: Any, spec: Any, card: Any, dtype: str, cap: bool) -> list[dict[str, Any]]:
    """Estimate vs measured allocator peak at 10 s and 30 s (one ODE step: every step has the same shapes)."""
    import torch

    from f5lab.hardware.memory import budget, compare, estimate, measure, resolve_attn

    attn = resolve_attn("auto", card, dtype)
    rows = []
    for seconds in (10.0, 30.0):
        est = estimate(spec, seconds, dtype=dtype, attn=attn, nfe=1, vocoder="none", device="cuda")
        row: dict[str, Any] = {"dtype": dtype, "seconds": seconds, "attn": attn, "cap_bytes": CAP_BYTES if cap else None,
                               "estimated_total_bytes": est.total_bytes}
        try:
            torch.cuda.empty_cache()
            meas = measure(model, seconds, device="cuda", dtype=dtype, nfe=1, attn=attn)
            row.update(compare(est, meas), fits=True)
        except torch.cuda.OutOfMemoryError as exc:
            row.update(fits=False, error=str(exc).splitlines()[0][:200])
        if cap:  # what the 4 GB card's verdict says: the estimate (with the CUDA context) against its budget
            from f5lab.hardware.gpus import get_gpu

            row["gtx_1050_ti_predicts_fit"] = est.total_bytes <= budget(get_gpu("GTX 1050 Ti"))
        rows.append(row)
    return rows


def _speed_rows(model: Any, spec: Any, card: Any, dtype: str) -> list[dict[str, Any]]:
    from f5lab.hardware.memory import resolve_attn
    from f5lab.hardware.speed import gpu_rates, measure_sampling, predict

    attn = resolve_attn("auto", card, dtype)
    rows = []
    for nfe in (16, 32):
        measured = measure_sampling(model, 10.0, nfe=nfe, device="cuda")
        row: dict[str, Any] = {"dtype": dtype, "attn": attn, "nfe": nfe, "seconds": 10.0, "measured_s": measured}
        if card.fp32_tflops:
            p = predict(spec, 10.0, gpu_rates(card), nfe=nfe, dtype=dtype, attn=attn, vocoder="none").sampling_s
            row.update(predicted_s=p, ratio=p / measured)
        rows.append(row)
    return rows


def _timed_rows(model: Any, spec: Any, card: Any, dtype: str, attn: str, cap: bool) -> list[dict[str, Any]]:
    """Seconds of ``CFM.sample`` (10 s, NFE 16 and 32) with ``attn`` forced, optionally under the 4 GiB cap,
    beside the speed model's prediction for the same settings."""
    import torch

    from f5lab.hardware.memory_measure import _sdpa_backends
    from f5lab.hardware.speed import gpu_rates, measure_sampling, predict

    rows = []
    for nfe in (16, 32):
        row: dict[str, Any] = {"dtype": dtype, "attn": attn, "nfe": nfe, "seconds": 10.0, "cap_4gib": cap}
        try:
            with torch.nn.attention.sdpa_kernel(_sdpa_backends(attn)):
                row["measured_s"] = measure_sampling(model, 10.0, nfe=nfe, device="cuda")
        except (torch.cuda.OutOfMemoryError, RuntimeError) as exc:  # no kernel for this dtype, or over the cap
            row["error"] = str(exc).splitlines()[0][:200]
        if card.fp32_tflops and "measured_s" in row:
            row["predicted_s"] = predict(spec, 10.0, gpu_rates(card), nfe=nfe, dtype=dtype, attn=attn,
                                         vocoder="none").sampling_s
        rows.append(row)
    return rows


def fp16_vs_fp32(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """fp16 seconds over fp32 seconds per (attention kernel, NFE, cap), measured and predicted: pure Python
    on the timed rows (``_timed_rows``). A measured ratio near 1 on a Pascal card confirms the model's
    fp32-rate fp16 there; 1/64 of the rate would show as a ratio far above 3."""
    out = []
    by = {(r["dtype"], r["attn"], r["nfe"], r["cap_4gib"]): r for r in rows}
    for (dt, attn, nfe, cap), r32 in sorted(by.items(), key=lambda kv: str(kv[0])):
        r16 = by.get(("fp16", attn, nfe, cap))
        if dt != "fp32" or r16 is None:
            continue
        row: dict[str, Any] = {"attn": attn, "nfe": nfe, "cap_4gib": cap, "fp32_s": r32.get("measured_s"),
                               "fp16_s": r16.get("measured_s")}
        if row["fp32_s"] and row["fp16_s"]:
            row["measured_ratio"] = row["fp16_s"] / row["fp32_s"]
        if r32.get("predicted_s") and r16.get("predicted_s"):
            row["predicted_ratio"] = r16["predicted_s"] / r32["predicted_s"]
        out.append(row)
    return out


def speed_check(rows: list[dict[str, Any]], card: str) -> dict[str, Any] | None:
    """The spread of predicted / measured seconds over the timed rows: ``speed.GPU_CHECK``'s shape."""
    ratios = [r["predicted_s"] / r["measured_s"] for r in rows if r.get("predicted_s") and r.get("measured_s")]
    if not ratios:
        return None
    return {"low": round(min(ratios), 3), "high": round(max(ratios), 3), "calls": len(ratios),
            "against": f"{len(ratios)} real CFM.sample calls of full-scale F5TTS_Base on a {card} (10 s, NFE 16 "
                       "and 32, fp32 and fp16; benchmarks/bench_gpu.py)"}


def _one_dtype(path: Path, spec: Any, card: Any, dtype: str, total: int, doc: dict[str, Any]) -> None:
    """Everything for one dtype with only that model on the GPU (the cap must see one model's weights)."""
    import torch

    from f5lab.hardware.memory_measure import _load
    from f5lab.hardware.speed import measure_sampling

    model = _load(str(path), "F5TTS_Base", "cuda", dtype)
    measure_sampling(model, 2.0, nfe=1, device="cuda")  # warm-up: cuBLAS workspaces and kernel selection
    doc["memory"] += _memory_rows(model, spec, card, dtype, cap=False)
    torch.cuda.set_per_process_memory_fraction(min(1.0, CAP_BYTES / total), 0)
    try:
        doc["memory_4gib_cap"] += _memory_rows(model, spec, card, dtype, cap=True)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
    doc["speed"] += _speed_rows(model, spec, card, dtype)
    from f5lab.hardware.memory import resolve_attn

    kernels = dict.fromkeys([resolve_attn("auto", card, "fp16"), "efficient"])  # PyTorch's pick; Pascal's fp16 one
    for attn in kernels:
        doc["timed"] += _timed_rows(model, spec, card, dtype, attn, cap=False)
    torch.cuda.set_per_process_memory_fraction(min(1.0, CAP_BYTES / total), 0)
    try:
        doc["timed"] += _timed_rows(model, spec, card, dtype, "efficient", cap=True)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
    del model
    torch.cuda.empty_cache()


def _synth_once(path: Path, out: Path) -> dict[str, Any]:
    from f5lab.reporting.reports import DEMO_REF_TEXT, f5tts_example_audio

    cmd = [sys.executable, "-m", "f5lab", "synth", str(path), "--ref-audio", str(f5tts_example_audio()),
           "--ref-text", DEMO_REF_TEXT, "--text", "Hello from f5lab, on the GPU.", "--config", "F5TTS_Base",
           "--device", "cuda", "--nfe", "16", "--out", str(out), "--json"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    row: dict[str, Any] = {"rc": done.returncode, "wall_s": time.perf_counter() - t0, "stderr": done.stderr[-400:]}
    if done.returncode == 0:
        rec = json.loads(done.stdout)
        row.update(timings=rec.get("timings"), device=rec.get("model", {}).get("device"))
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", dest="json_out", default=None, help="Write every figure here as JSON.")
    args = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        print(f"bench_gpu: no CUDA GPU here (torch {torch.__version__}, CUDA build {torch.version.cuda}); "
              "nothing measured", file=sys.stderr)
        return 2
    from f5lab.hardware.gpus import gpu_from_device
    from f5lab.hardware.runs import judge
    from f5lab.hardware.stack import installed_build, measured_archs, with_measured
    from f5lab.model.inspection import inspect_checkpoint
    from f5lab.synthetic.layouts import build_checkpoint

    props = torch.cuda.get_device_properties(0)
    card = gpu_from_device(props.name, props.total_memory, (props.major, props.minor))
    build = with_measured(installed_build(), measured_archs())
    folder = Path(tempfile.mkdtemp(prefix="f5lab-bench-gpu-", dir="/tmp"))
    doc: dict[str, Any] = {"gpu": props.name, "catalogue": card.name, "cc": card.cc_str, "torch": build.label}
    try:
        path = build_checkpoint(folder / "f5tts_base_full.safetensors", config="F5TTS_Base", scale="full").path
        spec = inspect_checkpoint(path).spec
        doc["verdict"] = judge(spec, card, build).text
        print(doc["verdict"])
        doc.update(memory=[], memory_4gib_cap=[], speed=[], timed=[], pascal=card.fp16_pseudo)
        for dtype in ("fp32", "fp16"):
            _one_dtype(path, spec, card, dtype, props.total_memory, doc)
        doc["fp16_vs_fp32"] = fp16_vs_fp32(doc["timed"])
        doc["speed_check"] = speed_check(doc["speed"] + doc["timed"], card.name)
        doc["synth"] = _synth_once(path, folder / "synth")
        for part in ("memory", "memory_4gib_cap", "speed"):
            print(f"-- {part}")
            for row in doc[part]:
                print("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                                       if k in ("dtype", "seconds", "nfe", "attn", "fits", "allocated_rel_error",
                                                "estimated_allocated_bytes", "measured_max_allocated_bytes",
                                                "gtx_1050_ti_predicts_fit", "predicted_s", "measured_s", "ratio")))
        print("-- fp16 vs fp32 (seconds ratio; a Pascal card at 1/64 would show far above 3)"
              + ("" if doc["pascal"] else f"; {card.name} is not a Pascal card: this checks the model here only"))
        for row in doc["fp16_vs_fp32"]:
            print("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        print(f"-- speed model check (predicted / measured): {doc['speed_check']}")
        print(f"-- synth --device cuda: rc {doc['synth']['rc']}, {doc['synth']['wall_s']:.1f} s")
        if args.json_out:
            from f5lab.outputs import make_dirs, replace_text

            if not Path(args.json_out).parent.is_dir():
                make_dirs(Path(args.json_out).parent)
            replace_text(Path(args.json_out), json.dumps(doc, indent=2, default=str) + "\n")
            print(f"wrote {args.json_out}")
        return 0 if doc["synth"]["rc"] == 0 else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""f5lab synthesis against f5-tts's own inference call, same checkpoint, settings and seed.

One run, one process, one loaded model (the cached full-scale F5TTS_Base demo checkpoint,
random weights: it speaks noise, but computes exactly what a real one does):

* baseline: what f5-tts's API does: ``seed_everything(seed)``, ``preprocess_ref_audio_text``,
  then ``infer_process``. ``infer_process`` reads the reference with ``torchaudio.load``,
  which needs torchcodec + FFmpeg; where that fails (as on this CPU box), the baseline runs
  the rest of ``infer_process`` verbatim: the same chunk size rule, ``chunk_text`` and
  ``infer_batch_process`` on the clip read with soundfile. Which one ran is printed.
* f5lab: ``f5lab.speech.synth.synthesize`` (reference checks and clipping, text check, seeded
  sampling, per-step timing hooks, signal metrics, the record).

Both use the same Griffin-Lim vocoder object (no vocos weights are available offline).
Runs alternate after one warm-up each; the ratio of medians is reported.
Target (issue 5): f5lab adds under 5% wall time; audio bit-identical.

    .venv/bin/python benchmarks/bench_synth.py [--nfe 4] [--repeats 2] [--device cpu] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

GEN_TEXT = "This is a short benchmark sentence."
REF_TEXT = "Some call me nature, others call me mother nature."


def baseline(model, vocoder, ref_path: str, *, nfe: int, seed: int, device: str = "cpu") -> tuple[np.ndarray, float, str]:
    """f5-tts's own path, timed from the reference file to the wave."""
    import soundfile as sf
    import torch
    from f5_tts.infer import utils_infer as ui
    from f5_tts.model.utils import seed_everything

    start = time.perf_counter()
    seed_everything(seed)
    with contextlib.redirect_stdout(io.StringIO()):
        ref_audio, ref_text = ui.preprocess_ref_audio_text(ref_path, REF_TEXT, show_info=lambda *_: None)
        try:
            wav, _, _ = ui.infer_process(ref_audio, ref_text, GEN_TEXT, model, vocoder, mel_spec_type="vocos",
                                         progress=None, nfe_step=nfe, device=device, show_info=lambda *_: None)
            how = "infer_process"
        except (RuntimeError, ImportError, OSError):  # torchaudio.load without a working torchcodec/FFmpeg
            data, sr = sf.read(ref_audio, dtype="float32", always_2d=True)
            audio = torch.from_numpy(data.T.copy())
            max_chars = int(len(ref_text.encode("utf-8")) / (audio.shape[-1] / sr) * (22 - audio.shape[-1] / sr))
            batches = ui.chunk_text(GEN_TEXT, max_chars=max_chars)
            seed_everything(seed)
            wav, _, _ = next(ui.infer_batch_process((audio, sr), ref_text, batches, model, vocoder,
                                                    mel_spec_type="vocos", progress=None, nfe_step=nfe,
                                                    device=device))
            how = "infer_process minus torchaudio.load (soundfile + chunk_text + infer_batch_process)"
    return np.asarray(wav, dtype=np.float32), time.perf_counter() - start, how


def ours(model, vocoder, ref_path: str, *, nfe: int, seed: int, device: str = "cpu") -> tuple[np.ndarray, float, dict]:
    from f5lab.speech.synth import synthesize

    start = time.perf_counter()
    r = synthesize(model, ref_path, REF_TEXT, GEN_TEXT, nfe=nfe, seed=seed, vocoder=vocoder, device=device)
    return r.wav, time.perf_counter() - start, r.record


def fixed_overhead(ref_path: str, repeats: int = 5) -> dict:
    """The same comparison on a tiny model, where sampling is fast: what f5lab adds per call, in seconds."""
    import tempfile

    from f5lab.synthetic.layouts import build_checkpoint, tiny_catalogue
    from f5lab.compat.loading import load_model
    from f5lab.speech.vocoders import griffin_lim

    with tempfile.TemporaryDirectory() as tmp:
        fx = build_checkpoint(Path(tmp) / "tiny.safetensors", config="F5TTS_Base", scale="tiny")
        model = load_model(str(fx.path), config="F5TTS_Base", catalogue=tiny_catalogue())
    voc = griffin_lim()
    baseline(model, voc.module, ref_path, nfe=3, seed=0)
    ours(model, voc, ref_path, nfe=3, seed=0)
    bt, ot = [], []
    for _ in range(repeats):
        bt.append(baseline(model, voc.module, ref_path, nfe=3, seed=0)[1])
        ot.append(ours(model, voc, ref_path, nfe=3, seed=0)[1])
    return {"tiny_f5tts_median_s": round(statistics.median(bt), 4), "tiny_f5lab_median_s": round(statistics.median(ot), 4),
            "tiny_added_s": round(statistics.median(ot) - statistics.median(bt), 4), "tiny_repeats": repeats}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nfe", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import torch

    from f5lab.model.arch import f5_tts_root
    from f5lab.synthetic.demo import demo_checkpoint
    from f5lab.compat.loading import load_model
    from f5lab.speech.vocoders import griffin_lim

    ref_path = str(f5_tts_root() / "infer" / "examples" / "basic" / "basic_ref_en.wav")
    t0 = time.perf_counter()
    ckpt = demo_checkpoint()
    model = load_model(str(ckpt), config="F5TTS_Base", device=args.device)
    load_s = time.perf_counter() - t0
    vocoder = griffin_lim()
    print(f"model: {ckpt.name} (F5TTS_Base, {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M params), "
          f"loaded in {load_s:.1f} s; torch threads {torch.get_num_threads()}; nfe {args.nfe}; seed {args.seed}")

    # warm-up: imports, allocator, first-call costs, once each
    baseline(model, vocoder.module, ref_path, nfe=1, seed=args.seed, device=args.device)
    ours(model, vocoder, ref_path, nfe=1, seed=args.seed, device=args.device)

    base_t, our_t, identical, max_diff = [], [], [], []
    how, record = "", {}
    for i in range(args.repeats):
        wb, tb, how = baseline(model, vocoder.module, ref_path, nfe=args.nfe, seed=args.seed, device=args.device)
        wo, to, record = ours(model, vocoder, ref_path, nfe=args.nfe, seed=args.seed, device=args.device)
        base_t.append(tb)
        our_t.append(to)
        same = wb.shape == wo.shape and np.array_equal(wb, wo)
        identical.append(same)
        max_diff.append(float(np.max(np.abs(wb - wo))) if wb.shape == wo.shape else float("inf"))
        print(f"  run {i + 1}: f5-tts {tb:7.2f} s   f5lab {to:7.2f} s   ratio {to / tb:.3f}   "
              f"audio {'identical' if same else f'differs (max |diff| {max_diff[-1]:.3g})'}")
    ratio = statistics.median(our_t) / statistics.median(base_t)
    best_ratio = min(our_t) / min(base_t)  # best-of: less sensitive to other load on a shared machine
    result = {
        "benchmark": "synth_vs_f5tts", "checkpoint": str(ckpt), "nfe": args.nfe, "seed": args.seed,
        "gen_text": GEN_TEXT, "baseline": how, "repeats": args.repeats,
        "f5tts_s": [round(t, 3) for t in base_t], "f5lab_s": [round(t, 3) for t in our_t],
        "ratio_of_medians": round(ratio, 4), "ratio_of_bests": round(best_ratio, 4), "overhead_pct": round(100 * (ratio - 1), 2),
        "target_overhead_pct": 5.0, "meets_target": ratio < 1.05,
        "audio_identical": all(identical), "max_abs_diff": max(max_diff),
        "audio_seconds": record.get("audio", {}).get("seconds"), "rtf_f5lab": record.get("timings", {}).get("rtf"),
        "step_mean_s": record.get("timings", {}).get("step_mean_s"), "model_load_s": round(load_s, 2),
        "torch_threads": torch.get_num_threads(), "device": args.device,
    }
    result.update(fixed_overhead(ref_path))
    print(f"tiny model (sampling nearly free): f5-tts {result['tiny_f5tts_median_s']:.3f} s, f5lab "
          f"{result['tiny_f5lab_median_s']:.3f} s -> f5lab adds {result['tiny_added_s'] * 1000:.0f} ms per call")
    print(f"baseline: {how}")
    print(f"f5lab / f5-tts wall time (median of {args.repeats}): {ratio:.3f} -> overhead {100 * (ratio - 1):+.1f}% "
          f"(target < +5%: {'met' if result['meets_target'] else 'NOT met'}); best-of ratio {best_ratio:.3f}; "
          f"audio identical: {all(identical)}")
    print(f"audio {result['audio_seconds']} s, RTF {result['rtf_f5lab']}, mean step {result['step_mean_s']} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if all(identical) else 1


if __name__ == "__main__":
    sys.exit(main())

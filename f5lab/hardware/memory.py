"""Inference memory of one f5-tts ``CFM.sample`` call: predicted from the shapes, measured on a
device, and turned into "does it fit on this GPU, and with which settings".

The public face of four modules, each apart by idea; every public name is re-exported here:

* ``memory_estimate``: the analytic estimate, pure Python (no torch), following f5-tts's code;
* ``memory_measure``: one real call measured (CPU profiler, CUDA allocator) and compared;
* ``memory_verdicts``: each card's usable budget, the longest call that fits, the fixes;
* ``memory_curves``: peak against seconds per dtype and card, as data and figures.

Importing it imports no torch: only ``measure`` does, when called.
"""

from __future__ import annotations

from f5lab.hardware.gpus import GPUS, get_gpu  # noqa: F401  (every name imported here is re-exported)
from f5lab.hardware.memory_curves import gpu_curve, gpu_curves, plot_gpu_curves, plot_sweep, save_png, sweep
from f5lab.hardware.memory_estimate import (ATTN_PATHS, BIGVGAN_PARAMS, CHARS_PER_SECOND, CUDA_CONTEXT_BYTES,
                                            DTYPE_BYTES, VOCODERS, VOCOS, MemoryEstimate, Term, estimate,
                                            frames_for, parameter_count, vocoder_params)
from f5lab.hardware.memory_measure import Measurement, compare, measure
from f5lab.hardware.memory_verdicts import (FRAGMENTATION_RESERVE, FRAME_CAP_LABEL, Verdict, budget,
                                            frame_cap_seconds, max_seconds, resolve_attn, verdict_settings,
                                            verdicts)

__all__ = ["GPUS", "get_gpu", "estimate", "measure", "verdicts", "sweep", "plot_sweep", "compare", "gpu_curve",
           "gpu_curves", "plot_gpu_curves", "verdict_settings", "frame_cap_seconds",
           "parameter_count", "frames_for", "MemoryEstimate", "Measurement", "Verdict", "Term"]

"""f5lab: know, fix, load, size and hear any F5-TTS checkpoint.

The public API is re-exported lazily so that ``import f5lab`` (and ``f5lab inspect``)
never pays for torch or f5-tts.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "inspect": ("f5lab.model.inspection", "inspect_checkpoint"),
    "inspect_checkpoint": ("f5lab.model.inspection", "inspect_checkpoint"),
    "open_checkpoint": ("f5lab.files.checkpoint", "open_checkpoint"),
    "infer_spec": ("f5lab.model.arch", "infer_spec"),
    "rank_configs": ("f5lab.model.arch", "rank_configs"),
    "resolve_config": ("f5lab.model.configs", "resolve_config"),
    "write_config": ("f5lab.model.inspection", "write_own_config"),
    "build_checkpoint": ("f5lab.synthetic.layouts", "build_checkpoint"),
    "diagnose": ("f5lab.compat.diagnose", "diagnose"),
    "explain_load_error": ("f5lab.compat.diagnose", "explain_load_error"),
    "plan_remap": ("f5lab.compat.remap", "plan_remap"),
    "execute_plan": ("f5lab.compat.remap", "execute_plan"),
    "load_model": ("f5lab.compat.loading", "load_model"),
    "verify": ("f5lab.compat.verify", "verify"),
    "lineage": ("f5lab.compat.lineage", "lineage"),
    "compatibility_matrix": ("f5lab.compat.matrix", "compatibility_matrix"),
    "profile": ("f5lab.hardware.profiling", "profile"),
    "doctor": ("f5lab.hardware.doctor", "doctor"),
    "synthesize": ("f5lab.speech.synth", "synthesize"),
    "normalize": ("f5lab.speech.text.normalizer", "normalize"),
    "analyse_text": ("f5lab.speech.text.analysis", "analyse"),
    "compare_records": ("f5lab.speech.quality", "compare_records"),
    "load_model_by_probe": ("f5lab.speech.probe", "load_model_by_probe"),
    "report": ("f5lab.reporting.reports", "run_report"),
    "notebook_setup": ("f5lab.reporting.sidecar", "notebook_setup"),
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        module, attr = _EXPORTS[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'f5lab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

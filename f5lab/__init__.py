"""f5lab: know, fix, load, size and hear any F5-TTS checkpoint.

The public API is re-exported lazily so that ``import f5lab`` (and ``f5lab inspect``)
never pays for torch or f5-tts.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "inspect": ("f5lab.inspection", "inspect_checkpoint"),
    "inspect_checkpoint": ("f5lab.inspection", "inspect_checkpoint"),
    "open_checkpoint": ("f5lab.checkpoint", "open_checkpoint"),
    "infer_spec": ("f5lab.arch", "infer_spec"),
    "rank_configs": ("f5lab.arch", "rank_configs"),
    "resolve_config": ("f5lab.configs", "resolve_config"),
    "write_config": ("f5lab.inspection", "write_own_config"),
    "build_checkpoint": ("f5lab.fixtures", "build_checkpoint"),
    "diagnose": ("f5lab.diagnose", "diagnose"),
    "explain_load_error": ("f5lab.diagnose", "explain_load_error"),
    "plan_remap": ("f5lab.remap", "plan_remap"),
    "execute_plan": ("f5lab.remap", "execute_plan"),
    "load_model": ("f5lab.loading", "load_model"),
    "verify": ("f5lab.loading", "verify"),
    "compatibility_matrix": ("f5lab.loading", "compatibility_matrix"),
    "profile": ("f5lab.memory", "profile"),
    "synthesize": ("f5lab.synth", "synthesize"),
    "compare_records": ("f5lab.quality", "compare_records"),
    "load_model_by_probe": ("f5lab.probe", "load_model_by_probe"),
    "report": ("f5lab.reports", "run_report"),
    "notebook_setup": ("f5lab.sidecar", "notebook_setup"),
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        module, attr = _EXPORTS[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'f5lab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

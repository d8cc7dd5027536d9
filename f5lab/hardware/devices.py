"""Whether a torch device string can run here: one check, one line, before any model is loaded.

``synth``, ``probe``, ``profile --measure`` and ``report`` all take a device; asked for
``cuda`` on a CPU-only machine (or for ``gpu0``), torch fails deep inside model loading
with a traceback. Each of them calls ``check_device`` first.
"""

from __future__ import annotations

from f5lab.errors import ConfigError

KNOWN = "cpu, cuda or cuda:N"


def resolve_device(device: str) -> str:
    """``auto``: ``cuda`` when torch sees a GPU, else ``cpu``; any other device unchanged (checked
    by ``check_device`` where it runs). The one place every command's ``--device auto`` resolves."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str, option: str = "--device") -> str:
    """Return ``device`` when torch can use it on this machine, else raise a one-line ConfigError."""
    if not isinstance(device, str) or not device.strip():
        raise ConfigError(f"{option} {device!r}: give a torch device ({KNOWN})")
    if device == "cpu":
        return device  # no torch import for the common case
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError(f"{option} {device!r}: not a torch device; use {KNOWN}") from None
    if dev.type == "cpu":
        return device
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"{option} {device!r}: this torch sees no CUDA GPU (CUDA build: "
                              f"{torch.version.cuda or 'none'}); use --device cpu")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ConfigError(f"{option} {device!r}: this machine has {count} CUDA device(s) "
                              f"(cuda:0..cuda:{count - 1})")
        return device
    if dev.type == "mps" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return device
    raise ConfigError(f"{option} {device!r}: not available here; f5lab runs on {KNOWN}")

"""Checkpoints in every real-world layout, built from the real f5-tts classes.

For tests (``scale="tiny"``: a few MB, well under a second), demos and benchmarks
(``scale="full"``: the shipped config's size, built on the fly, never committed). Weights
are random but seeded, and every tensor is non-zero so that numerical checks mean
something (f5-tts zero-initialises its output projections).

Not imported by the product's own code paths: only tests, benchmarks, the demo and the
``f5lab demo-checkpoint`` command use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from f5lab.model.arch import ConfigEntry, get_config, shipped_configs, tiny_catalogue, tiny_entry  # noqa: F401
from f5lab.errors import ConfigError
from f5lab.outputs import Partial
from f5lab.files.vocab import read_vocab, write_vocab

LAYOUTS = {
    "release_safetensors": "release .safetensors: EMA weights, keys prefixed 'ema_model.'",
    "release_pt": "release .pt: {'ema_model_state_dict': {initted, step, 'ema_model.*'}}",
    "trainer_pt": "trainer model_last.pt: model + EMA + optimizer + scheduler + update",
    "pruned_fp16_safetensors": "pruned export: EMA only, fp16, 'ema_model.' prefix",
    "ddp_pt": "trainer .pt saved from a DDP wrapper: model keys prefixed 'module.'",
    "compiled_pt": "trainer .pt saved from torch.compile: model keys prefixed '_orig_mod.'",
    "old_mel_buffers_pt": "pre-2024-10 release .pt: 'step', plus mel_spec.mel_stft.* buffers",
    "extended_vocab_safetensors": "language fine-tune: more embedding rows, with its vocab.txt",
    "plain_state_dict_pt": "bare state dict .pt: CFM keys, no container",
}
FIXTURE_UPDATE = 1200  # the training update recorded when the file name does not say one


def update_from_name(path: str | Path) -> int:
    """The update a trainer file's name says (f5-tts saves ``model_<update>.pt``), else FIXTURE_UPDATE."""
    import re

    m = re.fullmatch(r"model_(\d+)", Path(path).stem)
    return int(m.group(1)) if m else FIXTURE_UPDATE


@dataclass
class Fixture:
    path: Path
    config: str
    layout: str
    scale: str
    vocab_path: Path | None = None  # written only when the vocabulary is not the default one


def custom_entry(backbone: str, name: str = "custom", **arch: Any) -> ConfigEntry:
    """A config no shipped file matches (e.g. DiT dim 512 depth 8)."""
    arch.setdefault("heads", 8)
    return ConfigEntry(name=name, backbone=backbone, arch=arch)


# an architecture no shipped config builds (a small DiT for a small GPU): the custom-architecture fixture
CUSTOM_DIT = dict(dim=96, depth=3, heads=3, dim_head=32, ff_mult=2, text_dim=48, conv_layers=2)


def custom_arch_checkpoint(path: str | Path, layout: str = "release_safetensors", seed: int = 0) -> Fixture:
    """A tiny DiT of CUSTOM_DIT's size; ``layout="extended_vocab_safetensors"`` adds a custom vocab
    (written beside it as ``<stem>_vocab.txt``)."""
    return build_checkpoint(path, config=custom_entry("DiT", name="custom_dit", **CUSTOM_DIT), layout=layout,
                            scale="tiny", seed=seed)


# an old DiT no shipped config builds (pre-2024-10, so it stores the mel front-end buffers)
OLD_DIT = dict(dim=192, depth=3, heads=3, dim_head=64, ff_mult=2, text_dim=96, conv_layers=2)


def old_dit_checkpoint(path: str | Path, seed: int = 0) -> Fixture:
    """A release .pt of OLD_DIT's size in the pre-2024-10 layout: ``step``, and mel_spec.* buffers."""
    return build_checkpoint(path, config=custom_entry("DiT", name="old_dit", **OLD_DIT), layout="old_mel_buffers_pt",
                            scale="tiny", seed=seed)


def resolve_entry(config: str | ConfigEntry, scale: str) -> ConfigEntry:
    entry = config if isinstance(config, ConfigEntry) else get_config(config)
    if scale == "tiny":
        return tiny_entry(entry) if entry.name in shipped_configs() else entry
    if scale == "full":
        return entry
    raise ConfigError(f"unknown scale {scale!r}; use 'tiny' or 'full'")


def random_state_dict(entry: ConfigEntry, text_num_embeds: int, seed: int = 0) -> dict[str, Any]:
    """State dict of a real CFM built from ``entry``, seeded, with no all-zero tensor."""
    import torch

    from f5lab.model.build import build_model

    torch.manual_seed(seed)
    model = build_model(entry, text_num_embeds)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():  # adaLN / proj_out are zero-initialised in f5-tts
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def layout_suffix(layout: str) -> str:
    """The file ending a layout's bytes need: a reader decides the format by it first."""
    return ".safetensors" if layout.endswith("safetensors") else ".pt"


def check_suffix(path: Path, layout: str) -> None:
    """A .pt name on safetensors bytes (or the reverse) would later be read as the wrong format."""
    want = layout_suffix(layout)
    if path.suffix.lower() != want:
        other = [name for name in LAYOUTS if layout_suffix(name) == path.suffix.lower()]
        hint = f", or a {path.suffix} layout ({', '.join(other)})" if other else ""
        raise ConfigError(f"{path}: layout {layout} writes a {want} file; name it *{want}{hint}")


def build_checkpoint(path: str | Path, config: str | ConfigEntry = "F5TTS_Base",
                     layout: str = "release_safetensors", scale: str = "tiny", seed: int = 0,
                     extra_tokens: int = 40, update: int | None = None, force: bool = False) -> Fixture:
    """Write a checkpoint of ``config`` in ``layout`` to ``path`` (with its vocab.txt beside it for
    the extended-vocabulary layout, the two put in place together) and describe it. ``update``: the
    training update a .pt layout records (default: the one ``model_<update>.pt`` names, else 1200)."""
    from f5lab import outputs

    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    path = Path(path)
    check_suffix(path, layout)
    entry = resolve_entry(config, scale)
    if not path.parent.is_dir():
        outputs.make_dirs(path.parent)
    tokens = read_vocab()
    vocab_path = path.with_name(path.stem + "_vocab.txt") if layout == "extended_vocab_safetensors" else None
    with outputs.unit([path] + ([vocab_path] if vocab_path else []), force=force):
        if vocab_path is not None:
            tokens = tokens + extra_symbols(tokens, extra_tokens)
            write_vocab(tokens, vocab_path, force=force)
        sd = random_state_dict(entry, len(tokens) if vocab_path is None else len(read_vocab()), seed)
        if vocab_path is not None:
            sd = extend_embedding(sd, len(tokens) + 1)
        with outputs.file(path, force=force) as tmp:
            WRITERS[layout](tmp, sd, update_from_name(path) if update is None else update)
    return Fixture(path=path, config=entry.name, layout=layout, scale=scale, vocab_path=vocab_path)


def extra_symbols(tokens: list[str], n: int) -> list[str]:
    """``n`` characters not in ``tokens`` (Latin Extended / Greek), as a language fine-tune adds."""
    have = set(tokens)
    out = [chr(c) for c in range(0x0100, 0x0500) if chr(c) not in have and chr(c).isprintable()]
    return out[:n]


def extend_embedding(sd: dict[str, Any], rows: int) -> dict[str, Any]:
    """f5-tts's own vocabulary extension: old rows kept, new rows ``torch.randn`` (seed 666)."""
    import torch

    key = "transformer.text_embed.text_embed.weight"
    old = sd[key]
    gen = torch.Generator().manual_seed(666)
    new = torch.randn((rows - old.shape[0], old.shape[1]), generator=gen, dtype=old.dtype)
    return {**sd, key: torch.cat([old, new]).contiguous()}


# -- layout writers ----------------------------------------------------------------------------
def _prefixed(sd: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {prefix + k: v for k, v in sd.items()}


def _ema_of(sd: dict[str, Any]) -> dict[str, Any]:
    """A stand-in EMA: the weights nudged, so tests can tell which dict a loader picked."""
    return {k: (v + 1e-3 if v.is_floating_point() else v) for k, v in sd.items()}


def _ema_dict(sd: dict[str, Any], step: int, prefix: str = "ema_model.") -> dict[str, Any]:
    import torch

    return {"initted": torch.tensor(True), "step": torch.tensor(step), **_prefixed(sd, prefix)}


def _save_safetensors(path: Partial, sd: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    save_file(sd, str(path), metadata={"format": "pt"})


def _save_pt(path: Partial, obj: dict[str, Any]) -> None:
    import torch

    torch.save(obj, str(path))


def _optimizer_and_scheduler(sd: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Real AdamW + warmup/decay scheduler states for the model's float tensors, one step taken."""
    import torch

    params = [torch.nn.Parameter(v.clone()) for v in sd.values() if v.is_floating_point()]
    opt = torch.optim.AdamW(params, lr=7.5e-5)
    for p in params:
        p.grad = torch.zeros_like(p)
    opt.step()
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1e-8, end_factor=1.0, total_iters=10)
    decay = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=1e-8, total_iters=10)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, schedulers=[warm, decay], milestones=[10])
    return opt.state_dict(), sched.state_dict()


def _write_trainer(path: Path, sd: dict[str, Any], update: int, model_prefix: str = "") -> None:
    opt, sched = _optimizer_and_scheduler(sd)
    _save_pt(path, {"model_state_dict": _prefixed(sd, model_prefix),
                    "optimizer_state_dict": opt,
                    "ema_model_state_dict": _ema_dict(_ema_of(sd), update),
                    "scheduler_state_dict": sched, "update": update})


def _write_old_mel(path: Path, sd: dict[str, Any], update: int) -> None:
    import torch

    mel = {"mel_spec.mel_stft.spectrogram.window": torch.hann_window(1024),
           "mel_spec.mel_stft.mel_scale.fb": torch.rand(513, 100)}
    _save_pt(path, {"ema_model_state_dict": _ema_dict({**sd, **mel}, update)})


# layout -> writer(path, state dict, training update); safetensors layouts record no update
WRITERS: dict[str, Callable[[Path, dict[str, Any], int], None]] = {
    "release_safetensors": lambda p, sd, u: _save_safetensors(p, _prefixed(sd, "ema_model.")),
    "extended_vocab_safetensors": lambda p, sd, u: _save_safetensors(p, _prefixed(sd, "ema_model.")),
    "pruned_fp16_safetensors": lambda p, sd, u: _save_safetensors(
        p, _prefixed({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, "ema_model.")),
    "release_pt": lambda p, sd, u: _save_pt(p, {"ema_model_state_dict": _ema_dict(sd, u)}),
    "trainer_pt": _write_trainer,
    "ddp_pt": lambda p, sd, u: _write_trainer(p, sd, u, model_prefix="module."),
    "compiled_pt": lambda p, sd, u: _save_pt(p, {"model_state_dict": _prefixed(sd, "_orig_mod."), "update": u}),
    "old_mel_buffers_pt": _write_old_mel,
    "plain_state_dict_pt": lambda p, sd, u: _save_pt(p, sd),
}


def write_shape_only_safetensors(path: str | Path, config: str | ConfigEntry = "F5TTS_Base",
                                 scale: str = "full", prefix: str = "ema_model.",
                                 text_num_embeds: int | None = None) -> Path:
    """A valid safetensors file with the real header of ``config`` and a sparse, all-zero data section.

    Full-scale shapes (1.35 GB for F5TTS_Base) at no disk or memory cost: what inspection,
    diagnosis and ranking read is the header, and that is exact. Loading it gives zeros.
    """
    import json
    import struct

    from f5lab.model.build import expected_state

    entry = resolve_entry(config, scale)
    shapes = expected_state(entry, text_num_embeds or len(read_vocab()))
    header: dict[str, Any] = {"__metadata__": {"format": "pt", "f5lab": "shape-only fixture"}}
    offset = 0
    for name, info in shapes.items():
        header[prefix + name] = {"dtype": info.dtype, "shape": list(info.shape),
                                 "data_offsets": [offset, offset + info.nbytes]}
        offset += info.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors aligns the data section to 8 bytes
    from f5lab import outputs

    path = Path(path)
    with outputs.file(path) as tmp, open(tmp, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        fh.truncate(8 + len(raw) + offset)  # sparse: no blocks allocated for the zeros
    return path

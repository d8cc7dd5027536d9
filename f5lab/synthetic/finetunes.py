"""Stand-in bases and real fine-tunes of them, tiny, for lineage (``f5lab.compat.lineage``).

The official bases (F5TTS_Base ``model_1200000``, F5TTS_v1_Base ``model_1250000``) are never
downloaded here: two tiny real models of f5-tts's classes with different seeds stand in for them,
written where f5-tts's own files lie in a Hugging Face snapshot (``F5TTS_Base/model_1200000.*``),
so the config each implies is read as for the real ones. A fine-tune starts from one of them and
takes a few AdamW updates of f5-tts's own training loss (``CFM.forward``) on f5-tts's shipped
clips, with f5-tts's EMA (``ema_pytorch.EMA``); a vocabulary-extended one first extends the
embedding as f5-tts's ``expand_model_embeddings`` does (new rows ``torch.randn`` after
``torch.manual_seed(666)``). Then it is written in the layouts files take in the wild.

For tests, the stored notebooks and benchmarks only; each fine-tune takes about a second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from f5lab.synthetic.layouts import build_checkpoint, extra_symbols, layout_suffix

STAND_INS = {"F5TTS_Base": ("F5TTS_Base", "model_1200000"), "F5TTS_v1_Base": ("F5TTS_v1_Base", "model_1250000")}
SNAPSHOT = "models--SWivid--F5-TTS/snapshots/0123456789abcdef0123456789abcdef01234567"
FINETUNE_LAYOUTS = ("release_safetensors", "release_pt", "trainer_pt", "pruned_fp16_safetensors", "ddp_pt",
                    "compiled_pt", "extended_vocab_safetensors")
TEXT_EMBED = "transformer.text_embed.text_embed.weight"
# f5-tts's Trainer passes ema_kwargs to ema_pytorch.EMA; these make a run of a few updates keep a real EMA
# (ema_pytorch's defaults copy the weights until update 100, and average only every 10 updates)
LIVE_EMA = {"beta": 0.9, "update_after_step": 0, "update_every": 1}
EMA_KINDS = {"live": LIVE_EMA,
             "copy": {"update_after_step": 100, "update_every": 1},  # before update 100: the EMA copies the weights
             "never": {"update_every": 1000},  # fewer updates than update_every: the EMA is never touched
             "f5tts": {}}  # f5-tts's Trainer's own (ema_kwargs={}): ema_pytorch's defaults, beta 0.9999, every 10
# f5-tts's fine-tune loads the base's EMA state (``initted``, ``step``): a release base's step, so the EMA starts past
# ema_pytorch's warm-up and moves 1e-4 of the way to the raw weights every 10 updates
RELEASE_STEP = 1_200_000


def stand_in_bases(folder: str | Path, layout: str = "release_safetensors", seeds: tuple[int, int] = (0, 1)) -> dict[
        str, Path]:
    """Tiny F5TTS_Base and F5TTS_v1_Base of different seeds at their official paths under ``folder``."""
    out = {}
    for (config, (sub, stem)), seed in zip(STAND_INS.items(), seeds):
        path = Path(folder) / sub / f"{stem}{layout_suffix(layout)}"
        out[config] = build_checkpoint(path, config=config, layout=layout, scale="tiny", seed=seed).path
    return out


def hub_cache(root: str | Path, layout: str = "release_safetensors",
              seeds: tuple[int, int] = (0, 1)) -> dict[str, Path]:
    """The stand-ins inside a Hugging Face hub cache at ``root`` (point ``HF_HUB_CACHE`` at it)."""
    return stand_in_bases(Path(root) / SNAPSHOT, layout, seeds)


@dataclass
class FineTune:
    """A fine-tune's state, as f5-tts's Trainer holds it when it saves."""

    raw: dict[str, Any]  # model_state_dict
    ema: dict[str, Any]  # ema_pytorch.EMA.state_dict(): initted, step, ema_model.*
    optimizer: dict[str, Any]
    update: int
    tokens: list[str]
    losses: list[float] = field(default_factory=list)

    @property
    def ema_weights(self) -> dict[str, Any]:
        return {k[len("ema_model."):]: v for k, v in self.ema.items() if k.startswith("ema_model.")}


def _base_weights(base: str | Path) -> dict[str, Any]:
    """The base's EMA weights under canonical keys, as f5-tts's Trainer starts a fine-tune from them."""
    from f5lab.files.checkpoint import open_checkpoint

    ckpt = open_checkpoint(base)
    state = ckpt.model_state("ema")
    return {name: t.detach().clone() for name, t in ckpt.iter_tensors(state)}


def extend_vocabulary(weights: dict[str, Any], tokens: list[str], n: int) -> tuple[dict[str, Any], list[str]]:
    """f5-tts's ``expand_model_embeddings``: the old rows kept, ``n`` rows of ``torch.randn`` after
    ``torch.manual_seed(666)`` appended, fp32; the new symbols appended to the vocabulary."""
    import torch

    old = weights[TEXT_EMBED]
    torch.manual_seed(666)
    new = torch.zeros((old.shape[0] + n, old.shape[1]))
    new[:old.shape[0]] = old
    new[old.shape[0]:] = torch.randn((n, old.shape[1]))
    return {**weights, TEXT_EMBED: new}, tokens + extra_symbols(tokens, n)


def fine_tune(base: str | Path, updates: int = 6, lr: float = 1e-3, seed: int = 0, extra_tokens: int = 0,
              ema: str = "live", config: str = "F5TTS_Base") -> FineTune:
    """``updates`` AdamW steps (f5-tts's optimiser, its default weight decay) of f5-tts's training loss
    from ``base``'s weights; with ``extra_tokens`` the vocabulary is extended first and the training
    text uses the first half of the new symbols (the other half is never seen)."""
    import torch
    from ema_pytorch import EMA

    from f5lab.compat.loading import build_model, load_state
    from f5lab.files.vocab import read_vocab
    from f5lab.model.arch import tiny_catalogue

    weights, tokens = _base_weights(base), read_vocab()
    if extra_tokens:
        weights, tokens = extend_vocabulary(weights, tokens, extra_tokens)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        random.seed(seed)
        model = build_model(tiny_catalogue()[config], len(tokens), {t: i for i, t in enumerate(tokens)})
        load_state(model, weights)
        model.train()
        averaged = EMA(model, include_online_model=False, **EMA_KINDS[ema])
        averaged.initted.data.copy_(torch.tensor(True))  # f5-tts's Trainer loads the base's EMA state: the
        # EMA starts from the base's weights, already initialised (a release base: at its step)
        averaged.step.data.copy_(torch.tensor(RELEASE_STEP if ema == "f5tts" else 1))
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        seen_symbols = tokens[-extra_tokens:][: extra_tokens // 2] if extra_tokens else []
        losses = _train(model, averaged, opt, updates, seen_symbols)
    finally:
        torch.set_num_threads(threads)
    clean = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    return FineTune(raw=clean, ema={k: v.detach().clone().contiguous() for k, v in averaged.state_dict().items()},
                    optimizer=opt.state_dict(), update=updates, tokens=tokens, losses=losses)


def _train(model: Any, averaged: Any, opt: Any, updates: int, new_symbols: list[str]) -> list[float]:
    """f5-tts's training step: CFM's loss, backward, optimiser step, EMA update; alternating clips."""
    import torch
    from f5_tts.model.utils import convert_char_to_pinyin

    from f5lab.synthetic.training_run import TRAIN_CLIPS, example_clip

    clips = [example_clip(*c) for c in TRAIN_CLIPS]
    batches = [(model.mel_spec(torch.from_numpy(c.wav)[None]).permute(0, 2, 1),
                convert_char_to_pinyin([c.text + "".join(new_symbols)])) for c in clips]
    losses = []
    for update in range(updates):
        mel, text = batches[update % len(batches)]
        loss, _, _ = model(mel, text=text)
        opt.zero_grad()
        loss.backward()
        opt.step()
        averaged.update()
        losses.append(round(float(loss.detach()), 6))
    return losses


def _prefixed(sd: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {prefix + k: v for k, v in sd.items()}


def write_finetune(ft: FineTune, path: str | Path, layout: str) -> Path:
    """The fine-tune in ``layout`` (FINETUNE_LAYOUTS): what its own trainer or an export writes."""
    import torch
    from safetensors.torch import save_file

    from f5lab.files.vocab import write_vocab

    from f5lab import outputs

    path = Path(path)
    outputs.make_dirs(path.parent)
    ema = ft.ema_weights
    trainer = {"model_state_dict": ft.raw, "optimizer_state_dict": ft.optimizer, "ema_model_state_dict": ft.ema,
               "update": ft.update}
    if layout not in FINETUNE_LAYOUTS:
        raise ValueError(f"unknown fine-tune layout {layout!r}; known: {', '.join(FINETUNE_LAYOUTS)}")
    with outputs.file(path, force=True) as tmp:
        if layout in ("release_safetensors", "extended_vocab_safetensors"):
            save_file(_prefixed(ema, "ema_model."), str(tmp), metadata={"format": "pt"})
        elif layout == "pruned_fp16_safetensors":
            save_file(_prefixed({k: v.half() for k, v in ema.items()}, "ema_model."), str(tmp),
                      metadata={"format": "pt"})
        elif layout == "release_pt":
            torch.save({"ema_model_state_dict": ft.ema}, str(tmp))
        elif layout == "trainer_pt":
            torch.save(trainer, str(tmp))
        elif layout == "ddp_pt":
            torch.save({**trainer, "model_state_dict": _prefixed(ft.raw, "module.")}, str(tmp))
        elif layout == "compiled_pt":
            torch.save({"model_state_dict": _prefixed(ft.raw, "_orig_mod."), "update": ft.update}, str(tmp))
    if len(ft.tokens) != len(_default_tokens()):
        write_vocab(ft.tokens, path.with_name(path.stem + "_vocab.txt"))
    return path


def _default_tokens() -> list[str]:
    from f5lab.files.vocab import read_vocab

    return read_vocab()


def random_checkpoint(path: str | Path, seed: int = 7) -> Path:
    """Fresh random weights of the same architecture: descends from no base."""
    return build_checkpoint(path, config="F5TTS_Base", scale="tiny", seed=seed).path


def notebook_stand_ins(checkpoint: str | Path, folder: str | Path, updates: int = 6, lr: float = 1e-3) -> dict[
        str, Path]:
    """For a notebook's tiny random checkpoint: a stand-in F5TTS_Base that is the checkpoint after
    ``updates`` real training updates (a fine-tune's distance from it, run the other way), and an
    independent F5TTS_v1_Base; both at their official paths under ``folder``."""
    from safetensors.torch import save_file

    ft = fine_tune(checkpoint, updates=updates, lr=lr, ema="live")
    sub, stem = STAND_INS["F5TTS_Base"]
    from f5lab import outputs

    v0 = Path(folder) / sub / f"{stem}.safetensors"
    outputs.make_dirs(v0.parent)
    with outputs.file(v0, force=True) as tmp:
        save_file(_prefixed(ft.raw, "ema_model."), str(tmp), metadata={"format": "pt"})
    sub, stem = STAND_INS["F5TTS_v1_Base"]
    v1 = build_checkpoint(Path(folder) / sub / f"{stem}.safetensors", config="F5TTS_v1_Base", scale="tiny",
                          seed=101).path
    return {"F5TTS_Base": v0, "F5TTS_v1_Base": v1}


def f5tts_run_folder(folder: str | Path, base: str | Path, updates: tuple[int, ...] = (2, 4), ema: str = "never",
                     config: str = "F5TTS_Base") -> dict[str, Path]:
    """A fine-tune's run folder as f5-tts's ``finetune_cli`` and ``Trainer`` leave it: the base copied in as
    ``pretrained_<its name>`` (``shutil.copy2``, the starting point, not a step of the run), a trainer
    ``model_<update>.pt`` per save and ``model_last.pt`` (the last update). ``ema``: ``"never"`` (the EMA has not
    moved from the base: a run shorter than ema_pytorch's ``update_every``), ``"f5tts"`` (f5-tts's defaults from a
    release base's step), or another ``EMA_KINDS``. Each save is the same seeded run stopped at its update, so
    ``model_2.pt`` is ``model_4.pt``'s past. Returns {"pretrained", "model_<u>"..., "model_last"}."""
    from f5lab import outputs

    folder, base = Path(folder), Path(base)
    outputs.make_dirs(folder)
    name = base.name if base.name.startswith("pretrained_") else f"pretrained_{base.name}"
    out = {"pretrained": folder / name}
    with outputs.file(out["pretrained"], force=True) as tmp:  # finetune_cli's shutil.copy2: the same bytes
        tmp.write_bytes(base.read_bytes())
    for i, n in enumerate(sorted(updates)):
        ft = fine_tune(base, updates=n, ema=ema, config=config)
        out[f"model_{n}"] = write_finetune(ft, folder / f"model_{n}.pt", "trainer_pt")
        if i == len(updates) - 1:
            out["model_last"] = write_finetune(ft, folder / "model_last.pt", "trainer_pt")
    return out

"""A tiny, really trained F5-TTS run on disk: what a sweep over checkpoints is for.

Random-weight fixtures (``f5lab.synthetic.layouts``) have no trend: every checkpoint is as bad as
the next. A sweep's first question, "which of my checkpoints is best?", needs a run that
learns. This trains a tiny real ``CFM`` (the shipped config shrunk like the tiny catalogue)
for a few dozen AdamW steps with f5-tts's own training loss (``CFM.forward``) on real speech
(f5-tts's two shipped example clips; the second half of the English one is held out), and
saves it the way f5-tts's ``Trainer.save_checkpoint`` does: ``model_<update>.pt`` and
``model_last.pt`` holding ``model_state_dict``, ``optimizer_state_dict``,
``ema_model_state_dict`` (an ``ema_pytorch.EMA``, f5-tts's own) , ``scheduler_state_dict``
and ``update``.

For tests, the stored sweep notebook and benchmarks only (like ``fixtures``); a few seconds
on one CPU core.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from f5lab.facts import SAMPLE_RATE

TRAIN_CONFIG = "F5TTS_v1_Base"  # the config the tiny run trains under (pass it to the sweep)
# f5-tts's shipped clips: (file, start s, end s, transcript). The English clip is cut at its
# pause: the first half trains, the second half is the held-out validation clip.
TRAIN_CLIPS = (("basic_ref_en.wav", 0.0, 2.35, "Some call me nature,"),
               ("basic_ref_zh.wav", 0.0, None, "对，这就是我，万人敬仰的太乙真人。"))
HELD_OUT = ("basic_ref_en.wav", 2.35, None, "others call me mother nature.")


@dataclass
class Clip:
    wav: Any  # float32 mono at 24 kHz
    text: str

    @property
    def seconds(self) -> float:
        return len(self.wav) / SAMPLE_RATE


@dataclass
class TrainingRun:
    """Where the run lives and what it learned from."""

    folder: Path
    config: str
    checkpoints: dict[int, Path]  # update -> file (model_last.pt under its own update)
    losses: list[float] = field(repr=False)  # training loss per update
    held_out: Path | None = None  # the held-out clip as a wav file
    held_out_text: str = HELD_OUT[3]

    @property
    def last(self) -> Path:
        return self.folder / "model_last.pt"


def example_clip(name: str, start: float = 0.0, end: float | None = None, text: str = "") -> Clip:
    """A slice of one of f5-tts's shipped example clips, mono 24 kHz float32."""
    import numpy as np

    from f5lab.model.arch import f5_tts_root
    from f5lab.speech.audio import read_audio, resample, to_mono

    data, sr = read_audio(f5_tts_root() / "infer" / "examples" / "basic" / name)
    wav = resample(to_mono(data), sr, SAMPLE_RATE).astype(np.float32)
    return Clip(wav=wav[int(start * SAMPLE_RATE): None if end is None else int(end * SAMPLE_RATE)].copy(), text=text)


def build_training_run(folder: str | Path, saves: tuple[int, ...] = (10, 20), last: int = 40, seed: int = 0,
                       lr: float = 3e-3, config: str = TRAIN_CONFIG) -> TrainingRun:
    """Train a tiny ``config`` model ``last`` updates; save ``model_<u>.pt`` at ``saves`` and ``model_last.pt``."""
    import soundfile as sf
    import torch
    from ema_pytorch import EMA
    from f5_tts.model.utils import convert_char_to_pinyin

    from f5lab.model.arch import tiny_catalogue
    from f5lab.compat.loading import build_model
    from f5lab.files.vocab import read_vocab

    from f5lab import outputs

    folder = Path(folder)
    if not folder.is_dir():
        outputs.make_dirs(folder)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread beats two fighting over a shared CPU
    try:
        torch.manual_seed(seed)
        random.seed(seed)
        tokens = read_vocab()
        model = build_model(tiny_catalogue()[config], len(tokens), {t: i for i, t in enumerate(tokens)}).train()
        ema = EMA(model, include_online_model=False)  # f5-tts's Trainer default: copies until update 100
        clips = [example_clip(*c) for c in TRAIN_CLIPS]
        batches = [(model.mel_spec(torch.from_numpy(c.wav)[None]).permute(0, 2, 1),
                    convert_char_to_pinyin([c.text])) for c in clips]
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, end_factor=1.0, total_iters=5)
        saved: dict[int, Path] = {}
        losses = []
        for update in range(1, last + 1):
            mel, text = batches[(update - 1) % len(batches)]
            loss, _, _ = model(mel, text=text)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            ema.update()
            losses.append(round(float(loss.detach()), 6))
            if update in saves or update == last:
                name = "model_last.pt" if update == last else f"model_{update}.pt"
                with outputs.file(folder / name, force=True) as tmp:
                    torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(),
                                "ema_model_state_dict": ema.state_dict(), "scheduler_state_dict": sched.state_dict(),
                                "update": update}, tmp)
                saved[update] = folder / name
    finally:
        torch.set_num_threads(threads)
    held = example_clip(*HELD_OUT)
    held_path = folder.parent / f"{folder.name}_held_out.wav"
    with outputs.file(held_path, force=True) as tmp:
        sf.write(tmp, held.wav, SAMPLE_RATE, format="WAV")
    return TrainingRun(folder=folder, config=config, checkpoints=saved, losses=losses, held_out=held_path)

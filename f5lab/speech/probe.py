"""The behavioural probe: which config did this checkpoint learn under?

F5TTS_Base and F5TTS_v1_Base have identical shapes; they differ in ``text_mask_padding``
and ``pe_attn_head``, which own no weights. A v0 fine-tune run as v1 loads without error
and speaks gibberish (f5-tts 1.0.0 made v1 its default; F5-TTS issues #896, #998, #87). Shapes cannot tell them apart, behaviour
can: the flow-matching training loss of the checkpoint on a reference clip is lowest under
the config it was trained with. Every candidate sees the same noise, times and masked
spans (the RNG is reseeded per sample), so the per-sample losses are paired and the margin
is a real difference, not sampling noise.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from f5lab.errors import ConfigError

from f5lab.compat.decision import CONFIDENT_MARGIN  # noqa: E402  (the bar is a decision rule, declared there)


@dataclass
class ConfigLoss:
    config: str
    loss_mean: float
    loss_std: float
    losses: list[float] = field(repr=False)


@dataclass
class ProbeResult:
    """Candidates ranked by flow-matching loss (lowest first) and how clearly the best wins."""

    path: str
    ranking: list[ConfigLoss]
    n_samples: int
    seed: int
    ref_seconds: float
    seconds: float  # wall time of the probe
    wins: int = 0  # samples on which the best beat the runner-up (paired: same noise and time)
    margin: float | None = None  # runner-up mean loss minus best mean loss
    relative_margin: float | None = None  # margin / best mean loss
    text: dict[str, Any] = field(default_factory=dict)  # the transcript as written and as the model got it

    @property
    def best(self) -> str:
        return self.ranking[0].config

    @property
    def confident(self) -> bool:
        """The best wins at least 3 in 4 paired samples by at least 5% of its loss.

        The configs compute differently, so even random weights favour one of them on every
        sample, by little (the full-scale random demo checkpoint: 1.2%); a model trained under
        a config favours it by far more (tiny models after 120 steps: 10% to 9x).
        """
        if len(self.ranking) < 2:
            return True
        return self.wins >= math.ceil(0.75 * self.n_samples) and (self.relative_margin or 0) >= CONFIDENT_MARGIN

    @property
    def tie(self) -> bool:
        """Two or more candidates and no winner above the bar (a margin of zero included): a tie,
        never a "best" nor a lean; ``ranking[0]`` is only the lowest loss."""
        return len(self.ranking) > 1 and not self.confident

    @property
    def verdict(self) -> str:
        """"best" (a winner above the bar), "tie", or "only" (one candidate: nothing compared)."""
        return "only" if len(self.ranking) < 2 else ("tie" if self.tie else "best")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(best=None if self.tie else self.best, lowest=self.best, verdict=self.verdict,
                 confident=self.confident)
        return d


def candidates_for(path: str | Path, catalogue: Mapping[str, Any] | None = None) -> list[str]:
    """The configs whose shapes fit the checkpoint exactly (the ones the probe must separate)."""
    from f5lab.model.arch import infer_spec, rank_configs
    from f5lab.files.checkpoint import open_checkpoint

    spec = infer_spec(open_checkpoint(path).model_state().tensors, source=path)
    exact = [c.config for c in rank_configs(spec, catalogue) if c.exact]
    if not exact:
        raise ConfigError(f"{path}: no installed config fits its shapes; `f5lab inspect` says why")
    return exact


def flow_losses(model: Any, mel: Any, text: list[Any], n_samples: int, seed: int) -> list[float]:
    """CFM's own training loss (``CFM.forward``), once per seed ``seed..seed+n-1``, without CFG drops.

    Reseeding torch and Python's RNG before each call gives every candidate the same noise,
    time and masked span; the drop probabilities are zeroed so text and audio always condition.
    """
    import torch

    saved = model.audio_drop_prob, model.cond_drop_prob
    model.audio_drop_prob = model.cond_drop_prob = 0.0
    losses = []
    try:
        with torch.no_grad():
            for k in range(n_samples):
                torch.manual_seed(seed + k)
                random.seed(seed + k)
                loss, _, _ = model(mel, text=text)
                losses.append(float(loss))
    finally:
        model.audio_drop_prob, model.cond_drop_prob = saved
    return losses


def reference_mel(model: Any, ref_audio: Any) -> tuple[Any, float]:
    """The reference clip (prepared like synthesis prepares it) as the model's mel [1, frames, n_mels]."""
    import torch

    from f5lab.speech.audio import prepare_reference

    ref = prepare_reference(ref_audio)
    wav = torch.from_numpy(ref.wav)[None]
    with torch.no_grad():
        mel = model.mel_spec(wav).permute(0, 2, 1)
    return mel, ref.seconds


def validation_loss(model: Any, clips: list[tuple[Any, str]], n_samples: int = 4, seed: int = 0) -> dict[str, Any]:
    """The checkpoint's flow-matching loss on held-out ``(audio, transcript)`` clips.

    The probe's machinery with the config fixed: every checkpoint sees the same noise, times
    and masked spans (seeds ``seed..seed+n-1`` per clip), so the losses of a run's checkpoints
    are paired and their trend is the model's, not the sampler's. No download, no ASR.
    """
    from f5_tts.model.utils import convert_char_to_pinyin

    device = next(model.parameters()).device
    per_clip, all_losses = [], []
    for audio, text in clips:
        mel, _ = reference_mel(model, audio)
        losses = flow_losses(model, mel.to(device, next(model.parameters()).dtype),
                             convert_char_to_pinyin([text.strip()]), n_samples, seed)
        per_clip.append(round(sum(losses) / len(losses), 6))
        all_losses += losses
    mean = sum(all_losses) / len(all_losses)
    std = (sum((x - mean) ** 2 for x in all_losses) / max(1, len(all_losses) - 1)) ** 0.5
    return {"loss_mean": round(mean, 6), "loss_std": round(std, 6), "per_clip": per_clip,
            "clips": len(clips), "samples_per_clip": n_samples, "seed": seed}


def probe(path: str | Path, ref_audio: Any, ref_text: str, candidates: list[str] | None = None, seed: int = 0, *,
          n_samples: int = 8, vocab: str | None = None, catalogue: Mapping[str, Any] | None = None,
          device: str = "cpu", progress: bool = False, lang: str = "en", normalize: bool = False) -> ProbeResult:
    """Rank ``candidates`` (default: every config the shapes fit) by the checkpoint's loss on the clip.

    ``normalize``: ``ref_text`` goes through the ``lang`` normaliser first (against ``vocab``), as
    ``synthesize`` does, since the loss must be on the text the model is given; off by default, like
    synthesize: the library probes what it is given. The result's ``text`` keeps both."""
    import torch
    from f5_tts.model.utils import convert_char_to_pinyin

    from f5lab.compat.loading import load_model
    from f5lab.errors import TextError

    check_probe_settings(n_samples, seed, device)
    if not ref_text or not ref_text.strip():
        raise TextError("the probe needs the transcript of the reference audio")
    check_inputs(ref_audio, vocab)
    spoken = spoken_text(ref_text, lang, normalize, vocab)
    start = time.perf_counter()
    names = list(candidates) if candidates else candidates_for(path, catalogue)
    text = convert_char_to_pinyin([spoken["ref_text"].strip()])
    results, mel, ref_seconds = [], None, 0.0
    for name in _progress(names, progress):
        model = load_model(str(path), config=name, vocab=vocab, device=device, dtype="fp32", catalogue=catalogue)
        if mel is None:
            mel, ref_seconds = reference_mel(model, ref_audio)
        losses = flow_losses(model, mel.to(device), text, n_samples, seed)
        results.append(ConfigLoss(config=name, loss_mean=round(sum(losses) / len(losses), 6),
                                  loss_std=round(float(torch.tensor(losses).std()) if len(losses) > 1 else 0.0, 6),
                                  losses=[round(x, 6) for x in losses]))
        del model
    ranking = sorted(results, key=lambda r: r.loss_mean)
    out = ProbeResult(path=str(path), ranking=ranking, n_samples=n_samples, seed=seed,
                      ref_seconds=round(ref_seconds, 4), seconds=0.0, text=spoken)
    if len(ranking) > 1:
        best, second = ranking[0], ranking[1]
        out.wins = sum(b < s for b, s in zip(best.losses, second.losses))
        out.margin = round(second.loss_mean - best.loss_mean, 6)
        out.relative_margin = round(out.margin / best.loss_mean, 4) if best.loss_mean else None
    out.seconds = round(time.perf_counter() - start, 3)
    return out


def spoken_text(ref_text: str, lang: str, normalize: bool, vocab: str | None) -> dict[str, Any]:
    """The transcript as written and as the model gets it (``f5lab.speech.text.prepare``)."""
    from f5lab.speech.text import canonical, prepare

    tokens = None
    if vocab is not None:
        from f5lab.files.vocab import read_vocab

        tokens = read_vocab(vocab)
    lang = canonical(lang)
    model_text = prepare(ref_text, lang, normalize, tokens).text
    out = {"lang": lang, "normalized": normalize, "ref_text_raw": ref_text, "ref_text": model_text}
    from f5lab.speech.text.f5tts import unspeakable
    from f5lab.speech.text.analysis import vocab_tokens

    unheard = unspeakable(model_text, vocab_tokens(vocab)[0], "the transcript (--ref-text)")
    if unheard:  # the loss is then on a transcript of spaces: the ranking says nothing about the config
        out["warning"] = unheard.split(";")[0] + "; the probe's losses are on silence, its verdict means nothing"
    return out


def check_probe_settings(n_samples: int, seed: int, device: str) -> None:
    """Refuse, before any model is loaded, a sample count that would divide by zero, a seed torch
    cannot take, and a device this machine lacks."""
    from f5lab import settings
    from f5lab.hardware.devices import check_device

    settings.check("samples", n_samples, label="n_samples")
    settings.check("seed", seed)
    check_device(device)


def check_inputs(ref_audio: Any, vocab: str | None) -> None:
    """The reference clip decodes and is not silent, the vocab file reads: checked before the
    first of the candidates' models is loaded."""
    from f5lab.speech.audio import check_signal, read_audio
    from f5lab.files.vocab import read_vocab

    if isinstance(ref_audio, (str, Path)):
        wav, sr = read_audio(ref_audio)
        check_signal(wav, sr, str(ref_audio))
    if vocab is not None:
        read_vocab(vocab)


def _progress(items: list[str], on: bool) -> Any:
    if not on:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="probe", unit="config")


class ProbeHook:
    """``load_model(..., probe=ProbeHook(ref_audio, ref_text))``: decide an ambiguous config by probe.

    Called by f5lab.compat.loading only when the shapes fit several configs; keeps the full
    ``ProbeResult`` (ranking, margin) in ``.result`` so the caller can record it.
    """

    def __init__(self, ref_audio: Any, ref_text: str, seed: int = 0, n_samples: int = 8, vocab: str | None = None,
                 catalogue: Mapping[str, Any] | None = None, device: str = "cpu") -> None:
        self.kwargs = dict(seed=seed, n_samples=n_samples, vocab=vocab, catalogue=catalogue, device=device)
        self.ref_audio, self.ref_text = ref_audio, ref_text
        self.result: ProbeResult | None = None

    def __call__(self, path: str, candidates: list[str]) -> str:
        self.result = probe(path, self.ref_audio, self.ref_text, candidates, **self.kwargs)
        return self.result.best


def load_model_by_probe(path: str | Path, ref_audio: Any, ref_text: str, *, seed: int = 0, n_samples: int = 8,
                        **load_kwargs: Any) -> tuple[Any, ProbeResult | None]:
    """``load_model`` that settles an ambiguous config by probe; returns the model and the probe's
    result (None when a named config, the file's own record, the shapes or lineage decided: pass
    ``bases=[...]`` or ``bases="auto"`` and the base the file descends from decides before the probe)."""
    from f5lab.compat.loading import load_model

    hook = ProbeHook(ref_audio, ref_text, seed=seed, n_samples=n_samples, vocab=load_kwargs.get("vocab"),
                     catalogue=load_kwargs.get("catalogue"), device=load_kwargs.get("device", "cpu"))
    model = load_model(str(path), probe=hook, **load_kwargs)
    return model, hook.result

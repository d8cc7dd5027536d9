"""Mel-to-wave: vocos or BigVGAN from a local directory, or an offline Griffin-Lim inversion.

f5lab never downloads a vocoder. With no directory, synthesis falls back to Griffin-Lim on
the mel spectrogram the model produced: intelligible for a trained model, with phasey
artefacts, and labelled as such in every record. ``write_random_vocos`` writes a
randomly-initialised vocos (config.yaml + pytorch_model.bin) so the real vocos loading
path is tested without any weights from the hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from f5lab import facts
from f5lab.errors import F5LabError

VOCOS_FILES = ("config.yaml", "pytorch_model.bin")  # what f5-tts's load_vocoder(is_local=True) reads
BIGVGAN_FILES = ("config.json", "bigvgan_generator.pt")
GRIFFIN_LIM_LABEL = "Griffin-Lim (offline mel inversion, no neural vocoder: expect phasey audio)"
# charactr/vocos-mel-24khz, the vocoder f5-tts's configs name: its mels are f5-tts's mels
VOCOS_MEL_24KHZ = {
    "feature_extractor": {"class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
                          "init_args": {"sample_rate": facts.SAMPLE_RATE, "n_fft": facts.N_FFT,
                                        "hop_length": facts.HOP_LENGTH, "n_mels": facts.N_MELS, "padding": "center"}},
    "backbone": {"class_path": "vocos.models.VocosBackbone",
                 "init_args": {"input_channels": facts.N_MELS, "dim": 512, "intermediate_dim": 1536, "num_layers": 8}},
    "head": {"class_path": "vocos.heads.ISTFTHead",
             "init_args": {"dim": 512, "n_fft": facts.N_FFT, "hop_length": facts.HOP_LENGTH, "padding": "same"}},
}


class VocoderError(F5LabError):
    """A vocoder directory that lacks its files, or a vocoder kind that cannot be loaded."""


@dataclass
class Vocoder:
    """A vocoder as ``infer_batch_process`` wants it: the module plus its ``mel_spec_type``."""

    kind: str  # "vocos" | "bigvgan" | "griffin-lim"
    module: Any  # has .decode(mel) for vocos-type, is callable for bigvgan-type
    mel_spec_type: str  # what f5-tts's infer_batch_process switches on
    label: str
    source: str | None = None

    def decode(self, mel: Any) -> Any:
        """mel [batch, n_mels, frames] (natural-log magnitudes) -> wave [batch, samples]."""
        return self.module.decode(mel) if self.mel_spec_type == "vocos" else self.module(mel)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "source": self.source, "mel_spec_type": self.mel_spec_type}


class GriffinLim:
    """Invert f5-tts's log-mel: exp, pseudo-inverse of the filterbank, then Griffin-Lim.

    Deterministic (zero initial phase). Filterbanks match f5-tts's mel front ends: HTK,
    unnormalised for vocos mels; Slaney-normalised (librosa) for BigVGAN mels.
    """

    def __init__(self, sample_rate: int = facts.SAMPLE_RATE, n_fft: int = facts.N_FFT,
                 hop_length: int = facts.HOP_LENGTH, win_length: int = facts.WIN_LENGTH,
                 n_mels: int = facts.N_MELS, mel_spec_type: str = "vocos", n_iter: int = 32) -> None:
        import torch

        self.n_fft, self.hop_length, self.win_length, self.n_iter = n_fft, hop_length, win_length, n_iter
        fb = mel_filterbank(sample_rate, n_fft, n_mels, mel_spec_type)  # [n_freqs, n_mels]
        self.inverse = torch.linalg.pinv(fb.T)  # [n_freqs, n_mels]: mel -> linear magnitude
        self.window = torch.hann_window(win_length)

    def decode(self, mel: Any) -> Any:
        import torch
        import torchaudio.functional as F

        mel = mel.to(torch.float32)
        linear = torch.clamp(self.inverse.to(mel.device) @ torch.exp(mel), min=0.0)
        wave = F.griffinlim(linear, self.window.to(mel.device), self.n_fft, self.hop_length, self.win_length,
                            power=1.0, n_iter=self.n_iter, momentum=0.99,
                            length=(mel.shape[-1] - 1) * self.hop_length, rand_init=False)
        return torch.nn.functional.pad(wave, (0, self.hop_length))  # frames x hop samples, as vocos gives

    __call__ = decode


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, mel_spec_type: str = "vocos") -> Any:
    """The [n_fft//2+1, n_mels] filterbank f5-tts's MelSpec uses for ``mel_spec_type``."""
    import torch

    if mel_spec_type == "bigvgan":
        from librosa.filters import mel as librosa_mel_fn

        return torch.from_numpy(librosa_mel_fn(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=0, fmax=None)).T
    import torchaudio.functional as F

    return F.melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate, norm=None, mel_scale="htk")


def griffin_lim(mel_spec_type: str = "vocos", n_iter: int = 32, **mel: Any) -> Vocoder:
    """The offline fallback vocoder; ``mel`` takes sample_rate, n_fft, hop_length, win_length, n_mels."""
    module = GriffinLim(mel_spec_type=mel_spec_type, n_iter=n_iter, **mel)
    return Vocoder(kind="griffin-lim", module=module, mel_spec_type="vocos", label=GRIFFIN_LIM_LABEL)


def detect_kind(directory: str | Path) -> str:
    """'vocos' or 'bigvgan' from the files in ``directory``; a one-line error naming what is missing."""
    d = Path(directory)
    if not d.is_dir():
        raise VocoderError(f"{d}: vocoder directory not found")
    if all((d / f).is_file() for f in VOCOS_FILES):
        return "vocos"
    if all((d / f).is_file() for f in BIGVGAN_FILES):
        return "bigvgan"
    have = ", ".join(sorted(p.name for p in d.iterdir())[:6]) or "nothing"
    raise VocoderError(f"{d}: not a vocoder directory: vocos needs {' + '.join(VOCOS_FILES)}, BigVGAN needs "
                       f"{' + '.join(BIGVGAN_FILES)} (found: {have})")


def check_vocoder(directory: str | Path) -> str:
    """The kind of the vocoder in ``directory``, checked before any work (``--vocoder`` of report
    and sweep): a missing folder, missing files, BigVGAN without its code, a config naming a class
    f5lab does not build (``f5lab.files.trusted``) or weights that do not fit it is one line now."""
    found = detect_kind(directory)
    build(directory, found)  # the whole check: config, then weights (weights_only, strict); then dropped
    return found


def check_config(directory: str | Path) -> str:
    """The cheap half of ``check_vocoder``: the kind and its config checked (no weights read),
    when a command's options are parsed (``f5lab.cli.params.VocoderDir``)."""
    from f5lab.files import trusted

    found = detect_kind(directory)
    if found == "vocos":
        trusted.vocos_config(Path(directory) / "config.yaml", facts.N_MELS)
    else:
        _require_bigvgan()
        trusted.bigvgan_config(Path(directory) / "config.json")
    return found


def build(directory: str | Path, found: str, device: str = "cpu") -> Any:
    """The vocoder module in ``directory`` built from its checked config and its weights (the rule
    of ``f5lab.files.trusted``: allowlisted classes, plain arguments, weights_only, strict fit)."""
    from f5lab.files import trusted

    d = Path(directory)
    if found == "vocos":
        return trusted.build_vocos(d, facts.N_MELS).to(device)
    _require_bigvgan()  # without its code nothing is built: say that first
    h = trusted.bigvgan_config(d / "config.json")
    BigVGAN = _bigvgan_class()  # noqa: N806
    from f5lab.files.trusted import UntrustedConfig

    class AttrDict(dict):  # what BigVGAN's own from_pretrained hands its constructor
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.__dict__ = self

    try:
        model = BigVGAN(AttrDict(h), use_cuda_kernel=False)
    except (TypeError, ValueError, KeyError, AttributeError, AssertionError, RuntimeError) as exc:
        raise UntrustedConfig(f"{d / 'config.json'}: BigVGAN cannot be built from it ({exc})") from None
    state = trusted.load_weights(d / "bigvgan_generator.pt", "BigVGAN weights")
    state = state.get("generator", state) if isinstance(state, dict) else state
    trusted.fit_weights(model, state, d / "bigvgan_generator.pt", d / "config.json")
    model.remove_weight_norm()
    return model.eval().to(device)


def _bigvgan_class() -> Any:
    try:
        from third_party.BigVGAN import bigvgan  # f5-tts's submodule layout
    except ImportError:
        import bigvgan  # type: ignore[no-redef]
    return bigvgan.BigVGAN


def load_vocoder(directory: str | Path | None = None, kind: str | None = None, device: str = "cpu",
                 mel_spec_type: str = "vocos") -> Vocoder:
    """vocos / BigVGAN from a local ``directory`` (checked config, weights_only, strict: ``build``),
    as f5-tts's ``load_vocoder(is_local=True)`` would build it; Griffin-Lim without one."""
    if directory is None:
        if kind not in (None, "griffin-lim"):
            raise VocoderError(f"a {kind} vocoder needs its local directory (f5lab never downloads one)")
        return griffin_lim(mel_spec_type=mel_spec_type)
    found = detect_kind(directory)
    if kind is not None and kind != found:
        raise VocoderError(f"{directory}: holds a {found} vocoder, not {kind}")
    module = build(directory, found, device)
    label = f"{found} from {directory}"
    return Vocoder(kind=found, module=module, mel_spec_type=found, label=label, source=str(directory))


def _require_bigvgan() -> None:
    import importlib.util

    if importlib.util.find_spec("third_party") is None and importlib.util.find_spec("bigvgan") is None:
        raise VocoderError("BigVGAN's code is not installed (f5-tts's PyPI package leaves out "
                           "third_party/BigVGAN); install f5-tts from its git repository with submodules")


def random_vocos_config(dim: int = 512, intermediate_dim: int = 1536, num_layers: int = 8) -> dict[str, Any]:
    """vocos-mel-24khz's config with the backbone resized (tiny for tests)."""
    import copy

    cfg = copy.deepcopy(VOCOS_MEL_24KHZ)
    cfg["backbone"]["init_args"].update(dim=dim, intermediate_dim=intermediate_dim, num_layers=num_layers)
    cfg["head"]["init_args"]["dim"] = dim
    return cfg


def write_random_vocos(directory: str | Path, seed: int = 0, dim: int = 32, intermediate_dim: int = 64,
                       num_layers: int = 1) -> Path:
    """Write a randomly-initialised vocos (config.yaml + pytorch_model.bin) that load_vocoder reads."""
    import torch
    import yaml
    from vocos import Vocos

    from f5lab import outputs

    d = Path(directory)
    if not d.is_dir():
        outputs.make_dirs(d)
    with outputs.unit([d / "config.yaml", d / "pytorch_model.bin"]):
        with outputs.file(d / "config.yaml") as cfg:
            cfg_text = yaml.safe_dump(random_vocos_config(dim, intermediate_dim, num_layers))
            with open(cfg, "w", encoding="utf-8") as fh:
                fh.write(cfg_text)
        torch.manual_seed(seed)
        model = Vocos.from_hparams(str(outputs.current().find(d / "config.yaml").partial))
        with outputs.file(d / "pytorch_model.bin") as weights:
            torch.save(model.state_dict(), weights)
    return d

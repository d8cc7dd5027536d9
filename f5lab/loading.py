"""Build the real f5-tts ``CFM`` for a config and load weights into it strictly."""

from __future__ import annotations

from typing import Any

from f5lab.arch import ConfigEntry

# f5-tts's inference mel settings (utils_infer); every shipped config uses them
MEL_DEFAULTS = dict(target_sample_rate=24000, n_mel_channels=100, hop_length=256, win_length=1024,
                    n_fft=1024, mel_spec_type="vocos")


def build_model(entry: ConfigEntry, text_num_embeds: int, vocab_char_map: dict[str, int] | None = None) -> Any:
    """A real ``f5_tts.model.CFM`` with the backbone ``entry`` names, random weights, eval mode.

    Mirrors ``f5_tts.infer.utils_infer.load_model``: the backbone gets the config's arch
    block plus ``text_num_embeds`` and ``mel_dim``; the mel front end the config's settings.
    """
    from f5_tts.model import CFM, DiT, MMDiT, UNetT

    backbone = {"DiT": DiT, "UNetT": UNetT, "MMDiT": MMDiT}[entry.backbone]
    mel = {**MEL_DEFAULTS, **entry.mel_spec}
    transformer = backbone(**entry.arch, text_num_embeds=text_num_embeds, mel_dim=mel["n_mel_channels"])
    model = CFM(transformer=transformer, mel_spec_kwargs=mel, vocab_char_map=vocab_char_map)
    return model.eval()


def load_state(model: Any, tensors: dict[str, Any]) -> Any:
    """``load_state_dict(strict=True)``: a filtered or partial load silently gives a random model."""
    model.load_state_dict(tensors, strict=True)
    return model


def load_model(path: str, config: str | None = None, vocab: str | None = None, device: str = "cpu",
               dtype: str | None = None) -> Any:
    """A ready ``CFM`` in eval mode for checkpoint ``path``, loaded strictly.

    ``config`` defaults to the single exactly-matching installed config; ``vocab`` to
    f5-tts's default vocab.txt.
    """
    import torch

    from f5lab.arch import get_config, infer_spec, rank_configs
    from f5lab.checkpoint import open_checkpoint
    from f5lab.errors import ConfigError
    from f5lab.vocab import read_vocab

    ckpt = open_checkpoint(path)
    state = ckpt.model_state()
    spec = infer_spec(state.tensors)
    if config is None:
        exact = [c.config for c in rank_configs(spec) if c.exact]
        if len(exact) != 1:
            raise ConfigError(f"{path}: name the config; matching: {', '.join(exact) or 'none'}")
        config = exact[0]
    tokens = read_vocab(vocab)
    vocab_map = {t: i for i, t in enumerate(tokens)}
    model = build_model(get_config(config), len(tokens), vocab_map)
    load_state(model, dict(ckpt.iter_tensors(state)))
    torch_dtype = {None: None, "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    if torch_dtype is not None:
        model = model.to(torch_dtype)
    return model.to(device).eval()

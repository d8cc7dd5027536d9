"""Build the real f5-tts ``CFM`` for a config and load weights into it strictly.

Also: what a config expects (its state-dict signature, from a model built on the meta
device and cached on disk), what f5-tts's own loader would accept, and ``load_model`` (infer or
take the config, refuse to guess between configs the shapes cannot separate, remap in
memory, load with ``strict=True``). ``verify`` (a remapped file computes what the source
computes) lives in ``f5lab.compat.verify``, ``compatibility_matrix`` (every installed config
against one checkpoint) in ``f5lab.compat.matrix``.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping

from f5lab.model.arch import ConfigEntry, compare, differences, infer_spec, rank_configs, shipped_configs  # noqa: F401
from f5lab.model.build import (MEL_DEFAULTS, build_model, expected_state, f5tts_accepts, f5tts_view,  # noqa: F401
                         load_state)
from f5lab.files.checkpoint import Checkpoint, TensorInfo, open_checkpoint, torch_dtype
from f5lab.files.dtypes import FLOAT_DTYPES, USER_DTYPES
from f5lab.model.configs import write_config_fix
from f5lab.errors import ConfigError

# -- choosing a config -----------------------------------------------------------------------------------
class AmbiguousConfigError(ConfigError):
    """The shapes fit several configs that compute differently; f5lab will not guess."""

    def __init__(self, path: str, candidates: list[str], differences: dict[str, dict[str, Any]]):
        self.candidates = candidates
        self.differences = differences  # field -> {config: value}
        diff = "; ".join(f"{f} ({' vs '.join(f'{c}={v}' for c, v in vals.items())})" for f, vals in differences.items())
        super().__init__(
            f"{path}: shapes fit {' and '.join(candidates)} equally; they differ only in {diff or 'nothing'}, "
            "which own no weights (a v0 fine-tune run as v1 loads without error and speaks gibberish: F5-TTS #896, "
            "#998). "
            f"Name one (--config {candidates[0]}; in Python config='{candidates[0]}'), decide by lineage "
            "(f5lab lineage --base the base it was fine-tuned from; in Python bases=[...]) or let the behavioural "
            "probe decide (--probe with synth, f5lab probe; in Python f5lab.load_model_by_probe)")


Probe = Callable[[str, list[str]], str]
AUTO_BASES = "auto"  # bases="auto": f5-tts's checkpoints in the local Hugging Face cache


def decision_for(ckpt: Checkpoint, config: str | ConfigEntry | None = None, fallbacks: list[str] | None = None,
                 probe: Any = None, catalogue: Mapping[str, ConfigEntry] | None = None, vocab: str | None = None,
                 use_ema: bool = True, bases: Any = None, lineage: Any = None, any_fit: bool = False) -> Any:
    """``f5lab.compat.decision.decide_config`` for an opened file, as a ``ConfigDecision`` with its
    entry, or the one-line error that says why nothing was decided: no fallback fits, no installed
    config builds it (with the command that writes one of its own), or AmbiguousConfigError.
    ``any_fit``: the use does not depend on which fitting config runs (``decision.for_comparison``)."""
    from f5lab.compat.decision import decide_config, for_comparison
    from f5lab.model.described import describe

    d = describe(ckpt, catalogue, use_ema)
    if lineage is None and bases is not None and config is None and not fallbacks and len(d.fits) > 1:
        lineage = lineage_of(d, bases, vocab)
    decision = decide_config(d, config, fallbacks=fallbacks, vocab=vocab, lineage=lineage, probe=probe)
    if any_fit:
        decision = for_comparison(decision, d.entries)
    if decision.decided:
        return decision
    reason = decision.evidence.get("reason")
    if reason == "ambiguous":
        raise AmbiguousConfigError(str(ckpt.path), list(decision.fits), differences(list(decision.fits), catalogue))
    fix = f"; {write_config_fix(ckpt.path, vocab=vocab)}" if reason == "no fit" else ""
    raise ConfigError(f"{ckpt.path}: {decision.text}{fix}")


def lineage_of(d: Any, bases: Any, vocab: str | None) -> Any:
    """Lineage of a described file against ``bases`` (paths, or "auto": f5-tts's checkpoints in the
    local Hugging Face cache); None when none is given or at hand (then the probe decides)."""
    from f5lab.compat.lineage import NoBaseError, lineage

    paths = None if bases == AUTO_BASES else [bases] if isinstance(bases, (str, os.PathLike)) else list(bases)
    if paths == []:
        return None
    try:
        return lineage(d.path, paths or None, vocab=vocab, catalogue=d.catalogue)
    except NoBaseError:
        return None


def choose_config(ckpt: Checkpoint, config: str | ConfigEntry | None = None, fallbacks: list[str] | None = None,
                  probe: Probe | None = None, catalogue: Mapping[str, ConfigEntry] | None = None,
                  vocab: str | None = None, use_ema: bool = True, bases: Any = None) -> tuple[ConfigEntry, str]:
    """(config, why): ``decision_for``'s entry and one line. ``probe(path, candidates) -> name`` is
    called only when the shapes fit several configs and nothing above it decided; ``bases``: base
    checkpoint paths, ``"auto"`` for the Hugging Face cache, or a Lineage already computed."""
    lineage = None
    if bases is not None and not isinstance(bases, (str, os.PathLike, list, tuple)):
        lineage, bases = bases, None  # a Lineage already computed
    decision = decision_for(ckpt, config, fallbacks, probe, catalogue, vocab, use_ema, bases, lineage)
    return decision.entry, decision.text


# -- load ---------------------------------------------------------------------------------------------------
def load_model(path: str | os.PathLike | list | tuple | None = None, config: str | ConfigEntry | None = None,
               vocab: str | None = None, device: str = "cpu", dtype: str | None = None,
               fallbacks: list[str] | None = None, probe: Probe | None = None, use_ema: bool = True,
               catalogue: Mapping[str, ConfigEntry] | None = None, bases: Any = None,
               candidates: list | tuple | None = None, check: Callable[..., str | None] | None = None) -> Any:
    """A ready ``CFM`` in eval mode for checkpoint ``path``, loaded with ``strict=True``.

    A fallback between models: ``path`` a list (or ``candidates=[...]``) of checkpoints, each a path
    or a mapping ``{"path", "config" (a name, a YAML, or "decide"), "vocab", "fallbacks", "bases"}``,
    tried in order (``f5lab.compat.candidates.load_first``): the first that loads strictly (and
    passes ``check(model, candidate)``, which returns a reason to refuse or None) is returned with
    ``model.f5lab_candidate`` (which candidate, config, how decided, why earlier ones were refused);
    one ``CandidateSkipped`` warning line per refusal; none loadable: ``NoCandidateLoads`` naming each.

    The config is named, taken from ``fallbacks`` (ordered), recorded in the file, inferred
    when the shapes fit exactly one, the config of the base the file descends from (``bases``:
    paths, ``"auto"`` for the Hugging Face cache, or a Lineage; before the probe), or chosen by
    ``probe``; otherwise AmbiguousConfigError.
    Wrappers, containers and obsolete buffers are handled by an in-memory remap plan.
    ``vocab`` is the vocab.txt the checkpoint was trained with (default: the config's
    ``tokenizer_path``, else f5-tts's). ``config``: a name, a YAML path or a ConfigEntry.

    ``device="auto"``: CUDA only where this torch has kernels for the GPU, its driver suits the
    build and a 10 s call fits (``f5lab.hardware.runs.auto_device``); else the CPU, with one
    ``DeviceFallbackWarning`` line naming why and the predicted seconds per call, so a service on a
    card its torch cannot drive starts instead of dying on "no kernel image is available".
    """
    from f5lab.compat.remap import apply_plan, plan_remap
    from f5lab.files.vocab import check_rows, read_vocab

    if candidates is not None or isinstance(path, (list, tuple)):
        from f5lab.compat.candidates import load_first

        if candidates is not None and path is not None:
            raise ConfigError("load_model: give either a path (or a list of candidates) or candidates=, not both")
        if config is not None or vocab is not None or fallbacks or bases is not None:
            raise ConfigError("load_model with candidates: give each candidate its own config, vocab, fallbacks "
                              "and bases ({'path': ..., 'config': ..., 'vocab': ...})")
        return load_first(candidates if candidates is not None else path, loader=load_model, check=check,
                          device=device, dtype=dtype, probe=probe, use_ema=use_ema, catalogue=catalogue)
    if path is None:
        raise ConfigError("load_model: give a checkpoint path or a list of candidates")
    ckpt = open_checkpoint(path)
    lineage = None
    if bases is not None and not isinstance(bases, (str, os.PathLike, list, tuple)):
        lineage, bases = bases, None  # a Lineage already computed
    decision = decision_for(ckpt, config, fallbacks, probe, catalogue, vocab, use_ema, bases, lineage)
    entry = decision.entry
    if device == "auto":
        device = _auto_device(ckpt, dtype, use_ema)
    vocab = vocab if vocab is not None else entry.tokenizer_path
    plan = plan_remap(ckpt, entry, vocab_from=vocab, use_ema=use_ema, catalogue=catalogue)
    tokens = read_vocab(vocab)
    check_rows(tokens, plan.text_num_embeds + 1, vocab)
    model = build_model(entry, len(tokens), {t: i for i, t in enumerate(tokens)})
    load_state(model, apply_plan(plan, ckpt))
    if dtype is not None:
        if dtype not in USER_DTYPES:
            raise ConfigError(f"unknown dtype {dtype!r}; use one of {', '.join(USER_DTYPES)}")
        model = model.to(torch_dtype(dtype))
    model.f5lab_config, model.f5lab_decision = entry.name, decision  # which config, and why: a service logs it
    return model.to(device).eval()


def _auto_device(ckpt: Checkpoint, dtype: str | None, use_ema: bool) -> str:
    """The device ``load_model(device="auto")`` uses, warning once when it falls back to the CPU."""
    import warnings

    from f5lab.hardware.runs import DeviceFallbackWarning, auto_device

    spec = infer_spec(ckpt.model_state("ema" if use_ema else "raw").tensors, source=ckpt.path)
    stored = _float_dtype(ckpt.model_state("ema" if use_ema else "raw").tensors)
    device, why = auto_device(spec, dtype or {"F16": "fp16", "BF16": "bf16"}.get(stored, "fp32"))
    if why:
        warnings.warn(why, DeviceFallbackWarning, stacklevel=3)
    return device


def _float_dtype(tensors: Mapping[str, TensorInfo]) -> str:
    floats = sorted({t.dtype for t in tensors.values() if t.dtype in FLOAT_DTYPES})
    return floats[0] if len(floats) == 1 else "+".join(floats) or "F32"

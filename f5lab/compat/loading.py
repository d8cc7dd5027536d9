"""Build the real f5-tts ``CFM`` for a config and load weights into it strictly.

Also: what a config expects (its state-dict signature, from a model built on the meta
device and cached on disk), what f5-tts's own loader would accept, ``load_model`` (infer or
take the config, refuse to guess between configs the shapes cannot separate, remap in
memory, load with ``strict=True``), ``verify`` (a remapped file computes what the source
computes) and ``compatibility_matrix`` (every installed config against one checkpoint).
"""

from __future__ import annotations

import gc
import json
import math
import os
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from f5lab.model.arch import ConfigEntry, compare, differences, infer_spec, rank_configs, shipped_configs  # noqa: F401
from f5lab.model.build import (MEL_DEFAULTS, build_model, expected_state, f5tts_accepts, f5tts_view,  # noqa: F401
                         load_state)
from f5lab.files.checkpoint import (FLOAT_DTYPES, USER_DTYPES, Checkpoint, CheckpointError, TensorInfo, open_checkpoint,
                                    torch_dtype)
from f5lab.model.configs import entry_from_metadata, resolve_config, with_config, write_config_fix
from f5lab.errors import ConfigError, F5LabError

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


def choose_config(ckpt: Checkpoint, config: str | ConfigEntry | None = None, fallbacks: list[str] | None = None,
                  probe: Probe | None = None, catalogue: Mapping[str, ConfigEntry] | None = None,
                  vocab: str | None = None, use_ema: bool = True, bases: Any = None) -> tuple[ConfigEntry, str]:
    """(config, how it was chosen). Order: the named config; the user's ordered fallbacks (first
    that remaps cleanly); the config the file records (f5lab remap output); the single config the
    shapes fit; among several, the config of the base lineage says the file descends from
    (``bases``: base checkpoint paths, ``"auto"`` for the Hugging Face cache, or a
    ``f5lab.compat.lineage.Lineage`` already computed); then the probe's choice. Never a silent
    pick between equal fits.

    ``probe(path, candidates) -> name`` is the hook for the behavioural probe (flow-matching
    loss of a reference clip under each candidate; f5lab.speech.probe, issue 5). It is called only
    when the shapes fit several configs and none was named; it must return one of them.
    """
    from f5lab.compat.remap import plan_remap

    if config is not None:
        entry = resolve_config(config, catalogue, ckpt.metadata)
        return entry, "named" if entry.source in ("shipped", "tiny") else f"named: {entry.describe()}"
    if fallbacks:
        reasons = []
        for name in fallbacks:
            try:
                plan_remap(ckpt, name, vocab_from=vocab, use_ema=use_ema, catalogue=catalogue)
                return resolve_config(name, catalogue, ckpt.metadata), f"first fitting fallback of {fallbacks}"
            except F5LabError as exc:
                reasons.append(f"{name}: {str(exc).split(': ', 1)[-1]}")
        raise ConfigError(f"{ckpt.path}: no fallback config fits: " + " | ".join(reasons))
    catalogue = shipped_configs() if catalogue is None else catalogue
    spec = infer_spec(ckpt.model_state("ema" if use_ema else "raw").tensors, source=ckpt.path)
    ranked = rank_configs(spec, catalogue)
    exact = [c.config for c in ranked if c.exact]
    recorded = ckpt.metadata.get("f5lab_config")
    if recorded in exact:
        return catalogue[recorded], "recorded in the file by f5lab remap"
    own = entry_from_metadata(ckpt.metadata)  # a config of one's own, carried by the remapped file
    if own is not None and compare(spec, own).exact:
        return own, "recorded in the file by f5lab remap"
    if len(exact) == 1:
        return catalogue[exact[0]], "the only config the shapes fit"
    if not exact:
        best = ranked[0]
        raise ConfigError(f"{ckpt.path}: no installed config builds this {spec.backbone} (closest {best.config}: "
                          f"{best.first_mismatch}); {write_config_fix(ckpt.path, vocab=vocab)}")
    decided = by_lineage(ckpt, bases, exact, vocab, catalogue)
    if decided is not None:
        return catalogue[decided[0]], decided[1]
    if probe is not None:
        chosen = probe(str(ckpt.path), exact)
        if chosen not in exact:
            raise ConfigError(f"probe returned {chosen!r}, not one of {', '.join(exact)}")
        return catalogue[chosen], "chosen by the behavioural probe"
    raise AmbiguousConfigError(str(ckpt.path), exact, differences(exact, catalogue))


def by_lineage(ckpt: Checkpoint, bases: Any, candidates: list[str], vocab: str | None,
               catalogue: Mapping[str, ConfigEntry] | None) -> tuple[str, str] | None:
    """(config, why) when lineage attributes the file to a base of one of ``candidates``; None when
    no base is given (``bases`` None), none is at hand, or lineage gives no verdict: the probe decides."""
    if bases is None:
        return None
    from f5lab.compat.lineage import Lineage, NoBaseError, lineage

    if isinstance(bases, Lineage):
        found = bases
    else:
        paths = None if bases == AUTO_BASES else [bases] if isinstance(bases, (str, os.PathLike)) else list(bases)
        if paths == []:
            return None
        try:
            found = lineage(ckpt.path, paths or None, vocab=vocab, catalogue=catalogue)
        except NoBaseError:
            return None
    if found.config in candidates:
        return found.config, f"lineage: {found.text}"
    return None


# -- load ---------------------------------------------------------------------------------------------------
def load_model(path: str | os.PathLike, config: str | ConfigEntry | None = None, vocab: str | None = None,
               device: str = "cpu", dtype: str | None = None, fallbacks: list[str] | None = None,
               probe: Probe | None = None, use_ema: bool = True,
               catalogue: Mapping[str, ConfigEntry] | None = None, bases: Any = None) -> Any:
    """A ready ``CFM`` in eval mode for checkpoint ``path``, loaded with ``strict=True``.

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

    ckpt = open_checkpoint(path)
    entry, _ = choose_config(ckpt, config, fallbacks, probe, catalogue, vocab, use_ema, bases)
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


# -- verify ----------------------------------------------------------------------------------------------------
# forward-pass tolerance relative to the largest reference output, by the stored dtype of the weights
FORWARD_TOLERANCE = {"F32": 0.0, "F64": 0.0, "F16": 1e-2, "BF16": 5e-2}


@dataclass
class Verification:
    """Proof that DST holds SRC's weights (after the plan's transformations) and computes the same."""

    src: str
    dst: str
    config: str
    config_reason: str
    dtype: str  # stored float dtype of DST
    tensors_checked: int = 0
    tensors_equal: int = 0
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the plan, not in DST
    unexpected: list[str] = field(default_factory=list)  # in DST, not in the plan
    max_abs_tensor_error: float = 0.0
    shared_token_rows: int | None = None  # vocab remap: shared tokens whose row is bit-identical
    shared_token_rows_total: int | None = None
    forward_max_abs_error: float | None = None
    forward_max_abs_reference: float | None = None
    forward_tolerance: float | None = None
    seed: int = 0
    reason: str = ""  # why DST cannot be verified beyond the numbers (another model), "" otherwise

    @property
    def forward_relative_error(self) -> float | None:
        """Max abs error over the largest reference output: 0.0 whenever the two outputs are exactly
        equal, whatever their scale (an untrained model's output is all zeros); None when the pass
        did not run or the ratio means nothing (outputs differ against an all-zero or non-finite one)."""
        err, ref = self.forward_max_abs_error, self.forward_max_abs_reference
        if err is None:
            return None
        if err == 0:
            return 0.0
        if not ref or not math.isfinite(err) or not math.isfinite(ref):
            return None
        return err / ref

    @property
    def forward_ok(self) -> bool:
        rel = self.forward_relative_error
        return rel is not None and rel <= (self.forward_tolerance or 0.0)

    @property
    def ok(self) -> bool:
        rows_ok = self.shared_token_rows == self.shared_token_rows_total
        return (not self.reason and not self.mismatched and not self.missing and not self.unexpected and rows_ok
                and self.forward_ok and self.tensors_equal == self.tensors_checked > 0)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: a non-finite number (a NaN output) becomes null, never NaN/Infinity."""
        d = {**asdict(self), "forward_relative_error": self.forward_relative_error, "ok": self.ok}
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in d.items()}


def verify(src: str | os.PathLike, dst: str | os.PathLike, config: str | ConfigEntry | None = None,
           vocab_src: str | None = None, vocab_dst: str | None = None, dtype: str | None = None,
           use_ema: bool = True, seed: int = 0, frames: int = 32,
           catalogue: Mapping[str, ConfigEntry] | None = None) -> Verification:
    """Check DST tensor by tensor against SRC remapped in memory by the same plan (equal after
    the dtype cast, shared tokens' rows bit-identical), then run one seeded forward pass of the
    transformer under both: identical for fp32, within FORWARD_TOLERANCE for fp16/bf16.

    Affordable on a laptop: tensors are compared one pair at a time, and the two models are
    built one after the other from the memory-mapped files (no random init, no copy), each
    freed once its output is kept. A DST that is another model (other keys or shapes) is not
    verified, with ``reason`` saying why; a vocabulary remap checked without its vocab files
    raises ConfigError naming the option."""
    from f5lab.compat.remap import RemapError, plan_remap

    src_ck, dst_ck = open_checkpoint(src), open_checkpoint(dst)
    if config is None and dst_ck.metadata.get("f5lab_config") is not None:
        config = entry_from_metadata(dst_ck.metadata) or dst_ck.metadata["f5lab_config"]
        reason = "recorded in DST by f5lab remap"
    else:
        reason = ""
    if config is not None:  # a name DST records resolves too (a config of one's own travels with the file)
        config = resolve_config(config, catalogue, dst_ck.metadata)
    entry, how = choose_config(src_ck, config, catalogue=catalogue, vocab=vocab_src, use_ema=use_ema)
    dst_state = dst_ck.model_state("ema")
    infer_spec(dst_state.tensors, source=dst)  # a DST that is no F5/E2 model at all is bad input, not a verdict
    dtype = dtype or _dtype_change(src_ck, dst_state.tensors, use_ema)
    init = json.loads(dst_ck.metadata.get("f5lab_plan", "{}") or "{}").get("vocab") or {}
    if vocab_src is None and not init and entry.tokenizer_path:
        vocab_src = entry.tokenizer_path  # the config's vocab is SRC's (DST moved no rows)
    _check_vocab_options(src_ck, dst_ck, init, vocab_src, vocab_dst, use_ema)
    result = Verification(src=str(src), dst=str(dst), config=entry.name, config_reason=reason or how,
                          dtype=_float_dtype(dst_state.tensors), seed=seed)
    try:
        plan = plan_remap(src_ck, entry, vocab_from=vocab_src, vocab_to=vocab_dst, dtype=dtype, use_ema=use_ema,
                          catalogue=catalogue, new_rows=init.get("init", "mean"))
    except RemapError as exc:
        if not reason:  # a config the user named, or SRC's own: SRC does not fit it, a usage error
            raise
        result.reason = f"SRC does not fit {entry.name}, the config DST records: {str(exc).split(': ', 1)[-1]}"
        return result  # two different models
    result.reason = _model_difference(plan, dst_ck, dst_state.tensors, vocab_dst)
    _compare_tensors(plan, src_ck, dst_ck, result)
    if not result.reason:
        _compare_forward(plan, entry, src_ck, dst_ck, vocab_src, vocab_dst, result, frames)
    return result


def _float_dtype(tensors: Mapping[str, TensorInfo]) -> str:
    floats = sorted({t.dtype for t in tensors.values() if t.dtype in FLOAT_DTYPES})
    return floats[0] if len(floats) == 1 else "+".join(floats) or "F32"


def _dtype_change(src_ck: Checkpoint, dst_tensors: Mapping[str, TensorInfo], use_ema: bool) -> str | None:
    """The cast a remap applied, read off the two files (None when the dtypes agree)."""
    src_dtype = _float_dtype(src_ck.model_state("ema" if use_ema else "raw").tensors)
    dst_dtype = _float_dtype(dst_tensors)
    names = {stored: user for user, stored in USER_DTYPES.items()}
    return names.get(dst_dtype) if dst_dtype != src_dtype else None


def _check_vocab_options(src_ck: Checkpoint, dst_ck: Checkpoint, recorded: Mapping[str, Any], vocab_src: str | None,
                         vocab_dst: str | None, use_ema: bool) -> None:
    """A vocabulary remap can only be checked against the two vocab files it used: a missing or
    different one is a usage error (ConfigError naming the option), not a failed verification.
    ``recorded`` is the vocab part of the plan DST carries (f5lab remap --vocab-to), or empty."""
    from f5lab.compat.remap import TEXT_EMBED
    from f5lab.files.vocab import default_vocab_path, read_vocab, vocab_sha256

    if recorded:
        wrote = Path(str(recorded.get("vocab_to") or "another vocab.txt")).name
        if vocab_dst is None:
            raise ConfigError(f"{dst_ck.path}: was remapped onto the vocabulary {wrote}; give that vocab.txt "
                              "with --vocab-to (and SRC's with --vocab-from unless it is f5-tts's default)")
        if vocab_src is None and recorded.get("vocab_from"):
            raise ConfigError(f"{dst_ck.path}: was remapped from SRC's vocabulary "
                              f"{Path(str(recorded['vocab_from'])).name}; give it with --vocab-from")
        source = Path(str(recorded.get("vocab_from") or "f5-tts's default vocab.txt")).name
        for option, given, key, name in (("--vocab-to", vocab_dst, "sha256_to", wrote),
                                         ("--vocab-from", vocab_src or default_vocab_path(), "sha256_from", source)):
            if recorded.get(key) and vocab_sha256(given) != recorded[key]:
                raise ConfigError(f"{option} {given}: not the vocab.txt DST was remapped with ({name}, sha256 "
                                  f"{recorded[key][:12]}..., this file {vocab_sha256(given)[:12]}...)")
    if vocab_dst is not None and vocab_src is None:
        info = src_ck.model_state("ema" if use_ema else "raw").tensors.get(TEXT_EMBED)
        rows = len(read_vocab(None)) + 1
        if info is not None and info.shape[0] != rows:
            raise ConfigError(f"{src_ck.path}: its text embedding has {info.shape[0]} rows, f5-tts's default "
                              f"vocab.txt gives {rows}; give the vocab.txt SRC was trained with (--vocab-from)")


def _model_difference(plan: Any, dst_ck: Checkpoint, dst: Mapping[str, TensorInfo], vocab_dst: str | None) -> str:
    """'' when DST holds exactly the planned keys and shapes. Only the text embedding's row count
    differing means a vocabulary remap checked without (or with the wrong) vocab file: ConfigError
    naming the option. Anything else: DST is another model, and this says how (no forward pass:
    loading it would only fail with a size mismatch)."""
    from f5lab.compat.remap import TEXT_EMBED

    planned = {s.dst: tuple(s.shape) for s in plan.steps}
    missing = sorted(set(planned) - set(dst))
    unexpected = sorted(set(dst) - set(planned))
    reshaped = sorted(k for k in set(planned) & set(dst) if planned[k] != tuple(dst[k].shape))
    if not (missing or unexpected or reshaped):
        return ""
    if not (missing or unexpected) and reshaped == [TEXT_EMBED] and \
            planned[TEXT_EMBED][1:] == tuple(dst[TEXT_EMBED].shape[1:]):
        have, want = dst[TEXT_EMBED].shape[0], planned[TEXT_EMBED][0]
        if vocab_dst is None:
            raise ConfigError(f"{dst_ck.path}: its text embedding has {have} rows, SRC's {want}: a vocabulary "
                              "remap; give DST's vocab.txt with --vocab-to (and SRC's with --vocab-from unless it "
                              "is f5-tts's default)")
        raise ConfigError(f"--vocab-to {vocab_dst}: {want - 1} tokens ({want} rows with the filler), but DST's "
                          f"text embedding has {have} rows: not the vocab.txt DST was written for")
    from f5lab.files.keys import difference_parts

    parts = difference_parts(missing, unexpected, [(k, list(dst[k].shape), list(planned[k])) for k in reshaped])
    return f"DST is another model than SRC under {plan.config}: " + "; ".join(parts)


def _identical(a: Any, b: Any) -> bool:
    """Same dtype, shape and values, a NaN wherever the other has one (NaN != NaN otherwise)."""
    import torch

    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if torch.equal(a, b):
        return True
    if not a.is_floating_point():
        return False
    nan = torch.isnan(a)
    return bool(nan.any()) and torch.equal(nan, torch.isnan(b)) and torch.equal(a[~nan], b[~nan])


def _compare_tensors(plan: Any, src_ck: Checkpoint, dst_ck: Checkpoint, result: Verification) -> None:
    """Stream both files, one tensor pair at a time. What the plan copies unchanged from one
    .safetensors file to another is compared as bytes, read through two reused buffers (nothing
    mapped or allocated per tensor); anything else, or bytes that differ, as tensors, each read
    on its own and released once compared, so that neither file builds up in memory."""
    src_state = src_ck.model_state("ema" if plan.use_ema else "raw")
    dst_state = dst_ck.model_state("ema")
    planned = {s.dst for s in plan.steps}
    result.missing = sorted(planned - set(dst_state.tensors))
    result.unexpected = sorted(set(dst_state.tensors) - planned)
    canonical = {raw: name for name, raw in src_state.raw_keys.items()}
    src_at, dst_at = _byte_ranges(src_ck, src_state), _byte_ranges(dst_ck, dst_state)
    with _ByteComparer(src_ck.path, dst_ck.path) as same_bytes:
        for step in plan.steps:
            info = dst_state.tensors.get(step.dst)
            if info is None:
                continue
            name = canonical[step.src]
            if step.op == "copy" and src_at and dst_at and (info.dtype, list(info.shape)) == (step.dtype, step.shape) \
                    and same_bytes(src_at[name], dst_at[step.dst]):
                result.tensors_checked += 1
                result.tensors_equal += 1
                continue
            _compare_one(plan, step, src_ck, src_state, name, dst_ck.read_tensor(dst_state, step.dst), result)


def _compare_one(plan: Any, step: Any, src_ck: Checkpoint, src_state: Any, name: str, got: Any,
                 result: Verification) -> None:
    """DST's tensor ``got`` against SRC's ``name`` after the step's transformation (rows, cast)."""
    from f5lab.compat.remap import transform

    if "rows" in step.op and list(got.shape) == step.shape:
        _check_rows(plan, src_ck, src_state, got, step, result)
    want = transform(src_ck.read_tensor(src_state, name), step, plan)
    result.tensors_checked += 1
    if _identical(got, want):
        result.tensors_equal += 1
        return  # error 0: no need to measure it
    result.mismatched.append(step.dst)
    if got.shape == want.shape and want.is_floating_point() and want.numel():
        err = (got.double() - want.double()).abs().max().item()
        result.max_abs_tensor_error = max(result.max_abs_tensor_error, err)


def _byte_ranges(ckpt: Checkpoint, state: Any) -> dict[str, tuple[int, int]] | None:
    """Canonical name -> (offset in the file, length) for a .safetensors file; None for a .pt."""
    from f5lab.compat.remap import safetensors_offsets

    if ckpt.format != "safetensors":
        return None
    start, offsets = safetensors_offsets(ckpt.path)
    return {name: (start + offsets[raw][0], offsets[raw][1] - offsets[raw][0]) for name, raw in state.raw_keys.items()}


class _ByteComparer:
    """``same((offset, length), (offset, length))``: equal byte ranges of two files, read in chunks
    into two buffers reused throughout (page-cache reads: no mapping, no allocation per tensor)."""

    def __init__(self, a: str | os.PathLike, b: str | os.PathLike, chunk: int = 1 << 23):
        import numpy as np

        self.files = [open(a, "rb", buffering=0), open(b, "rb", buffering=0)]
        self.bufs = [memoryview(bytearray(chunk)), memoryview(bytearray(chunk))]
        self.words = [np.frombuffer(buf, dtype=np.uint64) for buf in self.bufs]  # compared 8 bytes at a time

    def __enter__(self) -> Callable[[tuple[int, int], tuple[int, int]], bool]:
        return self.same

    def __exit__(self, *exc: Any) -> None:
        for fh in self.files:
            fh.close()

    def same(self, a: tuple[int, int], b: tuple[int, int]) -> bool:
        import numpy as np

        if a[1] != b[1]:
            return False
        done, chunk = 0, len(self.bufs[0])
        while done < a[1]:
            n = min(chunk, a[1] - done)
            for fh, buf, (offset, _) in zip(self.files, self.bufs, (a, b)):
                fh.seek(offset + done)
                if fh.readinto(buf[:n]) != n:
                    return False  # a short file: the tensor path says how
            whole = n // 8
            if not np.array_equal(self.words[0][:whole], self.words[1][:whole]) or \
                    self.bufs[0][whole * 8:n] != self.bufs[1][whole * 8:n]:
                return False
            done += n
        return True


def _check_rows(plan: Any, src_ck: Checkpoint, state: Any, got: Any, step: Any, result: Verification) -> None:
    """Every token in both vocabularies: its new row equals its old row, bit for bit."""
    import torch

    old = src_ck.read_tensor(state, next(n for n, raw in state.raw_keys.items() if raw == step.src))
    old = old.to(torch_dtype(step.dtype))
    pairs = [(i, j) for i, j in enumerate(plan.vocab.row_map) if j is not None and i > 0]
    same = sum(1 for i, j in pairs if torch.equal(got[i], old[j]))
    result.shared_token_rows, result.shared_token_rows_total = same, len(pairs)


def _compare_forward(plan: Any, entry: ConfigEntry, src_ck: Checkpoint, dst_ck: Checkpoint, vocab_src: str | None,
                     vocab_dst: str | None, result: Verification, frames: int) -> None:
    """One seeded forward pass of the transformer: SRC as f5lab loads it vs DST as stored. One
    model at a time: each is built on its mapped file, run, and freed before the other is built."""
    import torch

    from f5lab.compat.remap import plan_remap
    from f5lab.files.vocab import read_vocab

    ref_plan = plan_remap(src_ck, entry, vocab_from=vocab_src, use_ema=plan.use_ema,
                          catalogue={entry.name: entry})  # no cast, no rows moved: every step a copy
    from f5lab.files.vocab import token_ids

    old_ids = token_ids(read_vocab(vocab_src))  # as f5-tts's lookups reach them (a BOM'd token 0 included)
    new_ids = token_ids(read_vocab(vocab_dst)) if vocab_dst else old_ids
    shared = [t for t in new_ids if t in old_ids and old_ids[t] < ref_plan.text_num_embeds
              and new_ids[t] < plan.text_num_embeds]
    if not shared:
        result.reason = "SRC's and DST's vocabularies share no token: there is no text to run both models on"
        return
    gen = torch.Generator().manual_seed(result.seed)
    picks = [shared[i] for i in torch.randint(len(shared), (frames // 2,), generator=gen).tolist()]
    mel = int(entry.mel_spec.get("n_mel_channels", 100))
    inputs = dict(x=torch.randn((1, frames, mel), generator=gen), cond=torch.randn((1, frames, mel), generator=gen),
                  time=torch.full((1,), 0.5))
    src_state, dst_state = src_ck.model_state("ema" if plan.use_ema else "raw"), dst_ck.model_state("ema")
    canonical = {raw: name for name, raw in src_state.raw_keys.items()}
    runs = [(src_ck, src_state, {canonical[s.src]: s.dst for s in ref_plan.steps}, ref_plan.text_num_embeds,
             [old_ids[t] for t in picks]),
            (dst_ck, dst_state, {n: n for n in dst_state.tensors}, plan.text_num_embeds, [new_ids[t] for t in picks])]
    outputs = []
    for ckpt, state, names, rows, ids in runs:
        try:
            model = build_assigned(entry, rows, _fp32_weights(ckpt, state, names))
        except RuntimeError as exc:  # not expected after _model_difference; a verdict all the same
            result.reason = f"{ckpt.path.name} does not load into {entry.name}: {str(exc).strip().splitlines()[-1]}"
            return
        outputs.append(_run_transformer(model, text=torch.tensor([ids]), **inputs))
        alive = weakref.ref(model)
        del model  # unmaps this file's weights before the other model maps its own
        if alive() is not None:  # held by a reference cycle: a full collection (~0.3 s) frees it
            gc.collect()
    a, b = outputs
    result.forward_max_abs_error = 0.0 if _identical(a, b) else (a.double() - b.double()).abs().max().item()
    result.forward_max_abs_reference = a.abs().max().item()
    result.forward_tolerance = FORWARD_TOLERANCE.get(result.dtype, 5e-2)


# CPU matmul kernels may sum in another order for data at another alignment: a weight that lies
# in the file off this boundary is copied into fresh (aligned) memory, as a normal load would
WEIGHT_ALIGNMENT = 64


def _fp32_weights(ckpt: Checkpoint, state: Any, names: Mapping[str, str]) -> dict[str, Any]:
    """Model key -> tensor for an fp32 model (fp16/bf16 weights are computed in fp32), laid out as
    f5-tts's ``load_state_dict`` leaves them: contiguous parameters.

    fp32 tensors that lie contiguous and aligned in the file are views of the memory-mapped file, not
    copies (getting a view reads nothing). The others (another dtype; off WEIGHT_ALIGNMENT, as
    ``safetensors.save_file`` often writes them; strided, as a .pt of transposed views holds them) are
    copied into one aligned arena (``_copied``).
    """
    import torch

    out, later = {}, []
    ranges = _byte_ranges(ckpt, state)
    if ranges is not None:  # .safetensors: decided from the header, so no tensor is touched to decide
        width = {n: torch_dtype(state.tensors[n].dtype) for n in names}
        views = [n for n in names if width[n] == torch.float32 and ranges[n][0] % WEIGHT_ALIGNMENT == 0]
        later = [(n, tuple(state.tensors[n].shape), width[n]) for n in names if n not in set(views)]
        out = {names[n]: view for n, view in ckpt.iter_tensors(state, views)}
        out.update(_copied(ckpt, state, names, later))
        return out
    for name, view in ckpt.iter_tensors(state, list(names)):
        if (view.is_floating_point() and view.dtype != torch.float32) or view.data_ptr() % WEIGHT_ALIGNMENT \
                or not view.is_contiguous():
            later.append((name, tuple(view.shape), view.dtype))
        else:
            out[names[name]] = view
    out.update(_copied(ckpt, state, names, later))
    return out


def _copied(ckpt: Checkpoint, state: Any, names: Mapping[str, str], todo: list[tuple[str, tuple, Any]]) -> dict:
    """Contiguous fp32 copies (other dtypes kept) of ``todo``, each at a WEIGHT_ALIGNMENT offset of one
    arena allocated once and freed at once with the model. From a .safetensors file the bytes are
    read straight into place (``readinto``, widened through a scratch buffer for fp16/bf16): no page
    of the file is mapped into this process for them, so none stays resident beside the copy (the
    pt-BR export, save_file's layout, peaked at import + 1.6x the file when copied from a mapping)."""
    import torch

    if not todo:
        return {}
    kinds = [(name, shape, dtype, torch.float32 if dtype.is_floating_point else dtype) for name, shape, dtype in todo]
    offsets, cursor = [], 0
    for _, shape, _, kind in kinds:
        cursor = -(-cursor // WEIGHT_ALIGNMENT) * WEIGHT_ALIGNMENT
        offsets.append(cursor)
        cursor += math.prod(shape) * torch.empty((), dtype=kind).element_size()
    arena = torch.empty(max(cursor, 1), dtype=torch.uint8)
    ranges = _byte_ranges(ckpt, state)
    out = {}
    with open(ckpt.path, "rb", buffering=0) as fh:
        for (name, shape, dtype, kind), offset in zip(kinds, offsets):
            size = math.prod(shape) * torch.empty((), dtype=kind).element_size()
            dst = arena[offset:offset + size]
            if ranges is not None and dtype == kind:
                _read_exactly(fh, ranges[name], dst.numpy())
            elif ranges is not None:
                raw = bytearray(ranges[name][1])  # fp16/bf16 bytes, widened into place
                _read_exactly(fh, ranges[name], raw)
                if raw:
                    dst.view(kind).copy_(torch.frombuffer(raw, dtype=dtype))
            else:  # a .pt: from the object torch.load mapped (strides and dtype handled by copy_)
                dst.view(kind).view(shape).copy_(ckpt.read_tensor(state, name))
            out[names[name]] = dst.view(kind).view(shape)
    return out


def _read_exactly(fh: Any, where: tuple[int, int], buf: Any) -> None:
    offset, length = where
    view = memoryview(buf).cast("B")
    fh.seek(offset)
    done = 0
    while done < length:
        n = fh.readinto(view[done:length])
        if not n:
            raise CheckpointError(f"{fh.name}: truncated: a tensor ends past the end of the file")
        done += n


def build_assigned(entry: ConfigEntry, text_num_embeds: int, tensors: Mapping[str, Any]) -> Any:
    """A ``CFM`` whose weights are ``tensors`` themselves (views of a mapped file stay views).

    Built with its parameters on the meta device (accelerate's ``init_empty_weights``: nothing
    allocated, no random init), then ``load_state_dict(strict=True, assign=True)``. Buffers that
    f5-tts computes at construction and does not save (the text embedding's ``freqs_cis``, the
    mel front end's ``dummy``) are still built on the CPU as in ``build_model``, so the model
    computes bit for bit what ``build_model`` + ``load_state`` gives (tests/test_verify.py).
    """
    import f5_tts.model  # noqa: F401  (imported outside the patched construction)
    from accelerate import init_empty_weights

    with init_empty_weights(include_buffers=False):
        model = build_model(entry, text_num_embeds)
    model.load_state_dict(tensors, strict=True, assign=True)
    return model.eval()


def _run_transformer(model: Any, **inputs: Any) -> Any:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 32-frame pass gains nothing from threads and loses much to contention
    try:
        with torch.no_grad():
            return model.transformer(**inputs)
    finally:
        torch.set_num_threads(threads)


# -- compatibility matrix ----------------------------------------------------------------------------------
@dataclass
class MatrixRow:
    """One installed config against one checkpoint."""

    config: str
    status: str  # "loads" | "loads after remap" | "cannot"
    plan: list[str] = field(default_factory=list)  # what the remap does (status "loads after remap")
    reason: str = ""  # why f5-tts's loader fails as is, or why nothing maps
    note: str = ""
    needs_remap: bool | None = None  # None: cannot load under this config at all
    remap_command: str | None = None  # run once first, when needs_remap
    code: str | None = None  # the f5-tts Python that loads it without f5lab (f5lab.compat.service)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compatibility_matrix(path: str | os.PathLike, vocab: str | None = None,
                         catalogue: Mapping[str, ConfigEntry] | None = None,
                         config: str | ConfigEntry | None = None,
                         vocoder_dir: str | None = None) -> list[MatrixRow]:
    """Every config x this checkpoint: loads as is (f5-tts's own loader), loads after a remap
    (the plan's changes), or cannot (the reason, e.g. another backbone: not a remapping matter).
    ``config`` (a name, YAML path or entry) and a config the file records join the catalogue's rows.
    Rows that load carry the f5-tts code that loads the file (``code``) and the remap to run first."""
    from f5lab.compat.remap import plan_remap

    ckpt = open_checkpoint(path)
    own = resolve_config(config, catalogue, ckpt.metadata) if config is not None else None
    catalogue = with_config(catalogue, entry_from_metadata(ckpt.metadata))
    catalogue = with_config(catalogue, own)
    spec = infer_spec(ckpt.model_state().tensors, source=ckpt.path)  # not an F5/E2 model: ArchError (exit 2)
    if vocab is not None:
        from f5lab.files.vocab import read_vocab

        read_vocab(vocab)  # an unreadable vocab is the user's input error, not a row's "cannot"
    rows = []
    for name, entry in catalogue.items():
        try:
            plan = plan_remap(ckpt, entry, vocab_from=vocab, catalogue=catalogue)
        except F5LabError as exc:
            rows.append(MatrixRow(config=name, status="cannot", reason=str(exc).split(": ", 1)[-1]))
            continue
        ok, why = f5tts_accepts(ckpt, entry, plan.text_num_embeds)
        rows.append(MatrixRow(config=name, status="loads" if ok else "loads after remap",
                              plan=[] if ok else plan.changes or ["rewrite as a release .safetensors"], reason=why,
                              note="; ".join(plan.notes), needs_remap=not ok))
        _add_service_code(rows[-1], ckpt, entry, vocab, plan.text_num_embeds, catalogue, vocoder_dir, spec)
    fits = [r.config for r in rows if r.status != "cannot"]
    if len(fits) > 1:
        diff = differences(fits, catalogue)
        for r in rows:
            if r.config in fits and diff:
                r.note = "; ".join(filter(None, [r.note, f"shapes cannot separate {' / '.join(fits)} "
                                                  f"({', '.join(diff)} differ): decide with f5lab lineage against the base, or f5lab probe"]))
    return rows


def _add_service_code(row: MatrixRow, ckpt: Checkpoint, entry: ConfigEntry, vocab: str | None, text_num_embeds: int,
                      catalogue: Mapping[str, ConfigEntry], vocoder_dir: str | None, spec: Any = None) -> None:
    """The row's f5-tts code, when the vocab at hand fits the embedding (else the note says which is needed)."""
    from f5lab.model.configs import catalogue_name
    from f5lab.compat.service import call_bytes, service_code
    from f5lab.files.vocab import read_vocab

    own = vocab if vocab is not None else entry.tokenizer_path
    if len(read_vocab(own)) != text_num_embeds:
        return
    snippet = service_code(ckpt.path, entry, needs_remap=bool(row.needs_remap), vocab=own, vocoder_dir=vocoder_dir,
                           needs_bytes=call_bytes(spec) if spec is not None else None,
                           configs=catalogue_name(catalogue))
    row.remap_command, row.code = snippet.remap_command, snippet.code

"""Build the real f5-tts ``CFM`` for a config and load weights into it strictly.

Also: what a config expects (its state-dict signature, from a model built on the meta
device and cached on disk), what f5-tts's own loader would accept, ``load_model`` (infer or
take the config, refuse to guess between configs the shapes cannot separate, remap in
memory, load with ``strict=True``), ``verify`` (a remapped file computes what the source
computes) and ``compatibility_matrix`` (every installed config against one checkpoint).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

from f5lab.arch import ConfigEntry, weightless_differences, infer_spec, rank_configs, shipped_configs
from f5lab.checkpoint import (DROPPED_BUFFERS, EMA_BOOKKEEPING, EMA_DICT, FLOAT_DTYPES, ROOT, USER_DTYPES, Checkpoint,
                              TensorInfo, open_checkpoint, torch_dtype)
from f5lab.errors import ConfigError, F5LabError

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


# -- what a config expects -----------------------------------------------------------------------------
def expected_state(entry: ConfigEntry, text_num_embeds: int) -> dict[str, TensorInfo]:
    """Key -> shape/dtype of the state dict ``entry`` builds: the real f5-tts model on the meta
    device (no memory, no weights), cached on disk per f5-tts version and architecture so that
    planning a remap does not pay f5-tts's import (~9 s, ~0.9 GB RSS) after the first time."""
    key = _signature_key(entry, text_num_embeds)
    return {k: TensorInfo(tuple(shape), dtype) for k, (shape, dtype) in _signature(key).items()}


def _signature_key(entry: ConfigEntry, text_num_embeds: int) -> str:
    from importlib.metadata import version

    return json.dumps({"f5_tts": version("f5-tts"), "backbone": entry.backbone, "arch": entry.arch,
                       "mel": entry.mel_spec, "text_num_embeds": text_num_embeds}, sort_keys=True, default=str)


@lru_cache(maxsize=64)
def _signature(key: str) -> dict[str, tuple[list[int], str]]:
    from f5lab.demo import cache_dir

    path = cache_dir() / "signatures" / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".json")
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass  # a damaged cache entry is recomputed
    sig = _compute_signature(json.loads(key))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(sig))
    os.replace(tmp, path)
    return sig


def _compute_signature(key: dict[str, Any]) -> dict[str, tuple[list[int], str]]:
    import torch

    from f5lab.checkpoint import torch_dtype_name

    entry = ConfigEntry(name="signature", backbone=key["backbone"], arch=key["arch"], mel_spec=key["mel"])
    with torch.device("meta"):
        model = build_model(entry, key["text_num_embeds"])
    return {k: (list(v.shape), torch_dtype_name(v.dtype)) for k, v in model.state_dict().items()}


def f5tts_view(ckpt: Checkpoint) -> tuple[dict[str, TensorInfo] | None, str]:
    """The keys f5-tts's ``load_checkpoint(use_ema=True)`` passes to ``load_state_dict``, or why it
    fails before that. It replaces 'ema_model.' anywhere in a key and strips nothing else."""
    if ckpt.format == "safetensors":
        sd = ckpt.state_dicts[ROOT]
    elif EMA_DICT in ckpt.state_dicts:
        sd = ckpt.state_dicts[EMA_DICT]
    else:
        return None, ("f5-tts's loader (use_ema=True) raises KeyError 'ema_model_state_dict': the file holds "
                      f"{', '.join(ckpt.state_dicts) or 'no state dict'} only")
    view = {k.replace("ema_model.", ""): v for k, v in sd.items() if k not in EMA_BOOKKEEPING}
    return {k: v for k, v in view.items() if k not in DROPPED_BUFFERS}, ""


def f5tts_accepts(ckpt: Checkpoint, entry: ConfigEntry, text_num_embeds: int) -> tuple[bool, str]:
    """Would f5-tts's own loader load this file strictly under ``entry``? (False, why) if not."""
    view, why = f5tts_view(ckpt)
    if view is None:
        return False, why
    expected = expected_state(entry, text_num_embeds)
    missing = set(expected) - set(view)
    unexpected = set(view) - set(expected)
    sizes = [k for k in set(view) & set(expected) if view[k].shape != expected[k].shape]
    if not (missing or unexpected or sizes):
        return True, ""
    return False, (f"f5-tts's loader fails: {len(missing)} missing, {len(unexpected)} unexpected, "
                   f"{len(sizes)} size mismatches")


# -- choosing a config -----------------------------------------------------------------------------------
class AmbiguousConfigError(ConfigError):
    """The shapes fit several configs that compute differently; f5lab will not guess."""

    def __init__(self, path: str, candidates: list[str], differences: dict[str, dict[str, Any]]):
        self.candidates = candidates
        self.differences = differences  # field -> {config: value}
        diff = "; ".join(f"{f} ({' vs '.join(f'{c}={v}' for c, v in vals.items())})" for f, vals in differences.items())
        super().__init__(
            f"{path}: shapes fit {' and '.join(candidates)} equally; they differ only in {diff or 'nothing'}, "
            "which own no weights (a v0 fine-tune run as v1 loads without error and speaks gibberish). "
            f"Name one (config='{candidates[0]}'), give an ordered fallbacks list, or decide with the "
            "behavioural probe (probe=..., f5lab probe)")


Probe = Callable[[str, list[str]], str]


def differences(names: list[str], catalogue: Mapping[str, ConfigEntry] | None = None) -> dict[str, dict[str, Any]]:
    """Weightless arch fields whose values differ between configs: field -> {config: value}."""
    catalogue = shipped_configs() if catalogue is None else catalogue
    entries = [catalogue[n] for n in names]
    fields = [d.split(" ")[0] for d in weightless_differences(entries)]
    return {f: {e.name: e.arch.get(f) for e in entries} for f in fields}


def choose_config(ckpt: Checkpoint, config: str | ConfigEntry | None = None, fallbacks: list[str] | None = None,
                  probe: Probe | None = None, catalogue: Mapping[str, ConfigEntry] | None = None,
                  vocab: str | None = None, use_ema: bool = True) -> tuple[ConfigEntry, str]:
    """(config, how it was chosen). Order: the named config; the user's ordered fallbacks (first
    that remaps cleanly); the config the file records (f5lab remap output); the single config the
    shapes fit; the probe's choice among several. Never a silent pick between equal fits.

    ``probe(path, candidates) -> name`` is the hook for the behavioural probe (flow-matching
    loss of a reference clip under each candidate; f5lab.probe, issue 5). It is called only
    when the shapes fit several configs and none was named; it must return one of them.
    """
    from f5lab.remap import plan_remap, resolve_entry

    if config is not None:
        return resolve_entry(config, catalogue), "named"
    if fallbacks:
        reasons = []
        for name in fallbacks:
            try:
                plan_remap(ckpt, name, vocab_from=vocab, use_ema=use_ema, catalogue=catalogue)
                return resolve_entry(name, catalogue), f"first fitting fallback of {fallbacks}"
            except F5LabError as exc:
                reasons.append(f"{name}: {str(exc).split(': ', 1)[-1]}")
        raise ConfigError(f"{ckpt.path}: no fallback config fits: " + " | ".join(reasons))
    catalogue = shipped_configs() if catalogue is None else catalogue
    spec = infer_spec(ckpt.model_state("ema" if use_ema else "raw").tensors)
    ranked = rank_configs(spec, catalogue)
    exact = [c.config for c in ranked if c.exact]
    recorded = ckpt.metadata.get("f5lab_config")
    if recorded in exact:
        return catalogue[recorded], "recorded in the file by f5lab remap"
    if len(exact) == 1:
        return catalogue[exact[0]], "the only config the shapes fit"
    if not exact:
        best = ranked[0]
        raise ConfigError(f"{ckpt.path}: no installed config builds this {spec.backbone} (closest {best.config}: "
                          f"{best.first_mismatch}); write a config with the arch block `f5lab inspect` prints")
    if probe is not None:
        chosen = probe(str(ckpt.path), exact)
        if chosen not in exact:
            raise ConfigError(f"probe returned {chosen!r}, not one of {', '.join(exact)}")
        return catalogue[chosen], "chosen by the behavioural probe"
    raise AmbiguousConfigError(str(ckpt.path), exact, differences(exact, catalogue))


# -- load ---------------------------------------------------------------------------------------------------
def load_model(path: str | os.PathLike, config: str | ConfigEntry | None = None, vocab: str | None = None,
               device: str = "cpu", dtype: str | None = None, fallbacks: list[str] | None = None,
               probe: Probe | None = None, use_ema: bool = True,
               catalogue: Mapping[str, ConfigEntry] | None = None) -> Any:
    """A ready ``CFM`` in eval mode for checkpoint ``path``, loaded with ``strict=True``.

    The config is named, taken from ``fallbacks`` (ordered), recorded in the file, inferred
    when the shapes fit exactly one, or chosen by ``probe``; otherwise AmbiguousConfigError.
    Wrappers, containers and obsolete buffers are handled by an in-memory remap plan.
    ``vocab`` is the vocab.txt the checkpoint was trained with (default: f5-tts's).
    """
    from f5lab.remap import apply_plan, plan_remap
    from f5lab.vocab import check_rows, read_vocab

    ckpt = open_checkpoint(path)
    entry, _ = choose_config(ckpt, config, fallbacks, probe, catalogue, vocab, use_ema)
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

    @property
    def forward_relative_error(self) -> float | None:
        if self.forward_max_abs_error is None or not self.forward_max_abs_reference:
            return None
        return self.forward_max_abs_error / self.forward_max_abs_reference

    @property
    def ok(self) -> bool:
        rows_ok = self.shared_token_rows == self.shared_token_rows_total
        fwd_ok = self.forward_relative_error is not None and self.forward_relative_error <= (self.forward_tolerance or 0)
        return (not self.mismatched and not self.missing and not self.unexpected and rows_ok and fwd_ok
                and self.tensors_equal == self.tensors_checked > 0)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "forward_relative_error": self.forward_relative_error, "ok": self.ok}


def verify(src: str | os.PathLike, dst: str | os.PathLike, config: str | ConfigEntry | None = None,
           vocab_src: str | None = None, vocab_dst: str | None = None, dtype: str | None = None,
           use_ema: bool = True, seed: int = 0, frames: int = 32,
           catalogue: Mapping[str, ConfigEntry] | None = None) -> Verification:
    """Check DST tensor by tensor against SRC remapped in memory by the same plan (equal after
    the dtype cast, shared tokens' rows bit-identical), then run one seeded forward pass of the
    transformer under both: identical for fp32, within FORWARD_TOLERANCE for fp16/bf16."""
    from f5lab.remap import plan_remap

    src_ck, dst_ck = open_checkpoint(src), open_checkpoint(dst)
    if config is None and dst_ck.metadata.get("f5lab_config") is not None:
        config = dst_ck.metadata["f5lab_config"]
        reason = "recorded in DST by f5lab remap"
    else:
        reason = ""
    entry, how = choose_config(src_ck, config, catalogue=catalogue, vocab=vocab_src, use_ema=use_ema)
    dst_state = dst_ck.model_state("ema")
    dtype = dtype or _dtype_change(src_ck, dst_state.tensors, use_ema)
    init = json.loads(dst_ck.metadata.get("f5lab_plan", "{}") or "{}").get("vocab") or {}
    plan = plan_remap(src_ck, entry, vocab_from=vocab_src, vocab_to=vocab_dst, dtype=dtype, use_ema=use_ema,
                      catalogue=catalogue, new_rows=init.get("init", "mean"))
    result = Verification(src=str(src), dst=str(dst), config=entry.name, config_reason=reason or how,
                          dtype=_float_dtype(dst_state.tensors), seed=seed)
    _compare_tensors(plan, src_ck, dst_ck, result)
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


def _compare_tensors(plan: Any, src_ck: Checkpoint, dst_ck: Checkpoint, result: Verification) -> None:
    """Stream both files: one tensor of each in memory at a time."""
    import torch

    from f5lab.remap import iter_planned

    dst_state = dst_ck.model_state("ema")
    planned = {s.dst for s in plan.steps}
    result.missing = sorted(planned - set(dst_state.tensors))
    result.unexpected = sorted(set(dst_state.tensors) - planned)
    names = [s.dst for s in plan.steps if s.dst in dst_state.tensors]
    dst_iter = dst_ck.iter_tensors(dst_state, names)
    for step, want in iter_planned(plan, src_ck):
        if step.dst not in dst_state.tensors:
            continue
        _, got = next(dst_iter)
        if "rows" in step.op:
            _check_rows(plan, src_ck, got, step, result)
        result.tensors_checked += 1
        if got.dtype == want.dtype and got.shape == want.shape and torch.equal(got, want):
            result.tensors_equal += 1
            continue  # error 0: no need to measure it
        result.mismatched.append(step.dst)
        if got.shape == want.shape and want.is_floating_point() and want.numel():
            err = (got.double() - want.double()).abs().max().item()
            result.max_abs_tensor_error = max(result.max_abs_tensor_error, err)


def _check_rows(plan: Any, src_ck: Checkpoint, got: Any, step: Any, result: Verification) -> None:
    """Every token in both vocabularies: its new row equals its old row, bit for bit."""
    import torch

    state = src_ck.model_state("ema" if plan.use_ema else "raw")
    _, old = next(src_ck.iter_tensors(state, [n for n, raw in state.raw_keys.items() if raw == step.src]))
    old = old.to(torch_dtype(step.dtype))
    pairs = [(i, j) for i, j in enumerate(plan.vocab.row_map) if j is not None and i > 0]
    same = sum(1 for i, j in pairs if torch.equal(got[i], old[j]))
    result.shared_token_rows, result.shared_token_rows_total = same, len(pairs)


def _compare_forward(plan: Any, entry: ConfigEntry, src_ck: Checkpoint, dst_ck: Checkpoint, vocab_src: str | None,
                     vocab_dst: str | None, result: Verification, frames: int) -> None:
    """One seeded forward pass of the transformer: SRC as f5lab loads it vs DST as stored."""
    import torch

    from f5lab.remap import apply_plan, plan_remap
    from f5lab.vocab import read_vocab

    ref_plan = plan_remap(src_ck, entry, vocab_from=vocab_src, use_ema=plan.use_ema,
                          catalogue={entry.name: entry})
    ref = build_model(entry, ref_plan.text_num_embeds)
    load_state(ref, apply_plan(ref_plan, src_ck))
    dst_state = dst_ck.model_state("ema")
    out = build_model(entry, plan.text_num_embeds)
    load_state(out, {k: v.float() if v.is_floating_point() else v
                     for k, v in dst_ck.iter_tensors(dst_state)})  # the fp16/bf16 weights, computed in fp32
    old_ids = {t: i for i, t in enumerate(read_vocab(vocab_src))}
    new_ids = {t: i for i, t in enumerate(read_vocab(vocab_dst))} if vocab_dst else old_ids
    shared = [t for t in new_ids if t in old_ids and old_ids[t] < ref_plan.text_num_embeds
              and new_ids[t] < plan.text_num_embeds]
    gen = torch.Generator().manual_seed(result.seed)
    picks = [shared[i] for i in torch.randint(len(shared), (frames // 2,), generator=gen).tolist()]
    mel = int(entry.mel_spec.get("n_mel_channels", 100))
    x = torch.randn((1, frames, mel), generator=gen)
    cond = torch.randn((1, frames, mel), generator=gen)
    time = torch.full((1,), 0.5)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 32-frame pass gains nothing from threads and loses much to contention
    try:
        with torch.no_grad():
            a = ref.transformer(x=x, cond=cond, text=torch.tensor([[old_ids[t] for t in picks]]), time=time)
            b = out.transformer(x=x, cond=cond, text=torch.tensor([[new_ids[t] for t in picks]]), time=time)
    finally:
        torch.set_num_threads(threads)
    result.forward_max_abs_error = (a.double() - b.double()).abs().max().item()
    result.forward_max_abs_reference = a.abs().max().item()
    result.forward_tolerance = FORWARD_TOLERANCE.get(result.dtype, 5e-2)


# -- compatibility matrix ----------------------------------------------------------------------------------
@dataclass
class MatrixRow:
    """One installed config against one checkpoint."""

    config: str
    status: str  # "loads" | "loads after remap" | "cannot"
    plan: list[str] = field(default_factory=list)  # what the remap does (status "loads after remap")
    reason: str = ""  # why f5-tts's loader fails as is, or why nothing maps
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compatibility_matrix(path: str | os.PathLike, vocab: str | None = None,
                         catalogue: Mapping[str, ConfigEntry] | None = None) -> list[MatrixRow]:
    """Every config x this checkpoint: loads as is (f5-tts's own loader), loads after a remap
    (the plan's changes), or cannot (the reason, e.g. another backbone: not a remapping matter)."""
    from f5lab.remap import plan_remap

    catalogue = shipped_configs() if catalogue is None else catalogue
    ckpt = open_checkpoint(path)
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
                              note="; ".join(plan.notes)))
    fits = [r.config for r in rows if r.status != "cannot"]
    if len(fits) > 1:
        diff = differences(fits, catalogue)
        for r in rows:
            if r.config in fits and diff:
                r.note = "; ".join(filter(None, [r.note, f"shapes cannot separate {' / '.join(fits)} "
                                                  f"({', '.join(diff)} differ): decide by provenance or f5lab probe"]))
    return rows

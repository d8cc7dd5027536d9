"""Build the real f5-tts ``CFM`` for a config and load weights into it strictly.

Also: what a config expects (its state-dict signature, from a model built on the meta
device and cached on disk), what f5-tts's own loader would accept, ``load_model`` (infer or
take the config, refuse to guess between configs the shapes cannot separate, remap in
memory, load with ``strict=True``), ``verify`` (a remapped file computes what the source
computes) and ``compatibility_matrix`` (every installed config against one checkpoint).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping

from f5lab.arch import ConfigEntry, compare, differences, infer_spec, rank_configs, shipped_configs  # noqa: F401
from f5lab.build import (MEL_DEFAULTS, build_model, expected_state, f5tts_accepts, f5tts_view,  # noqa: F401
                         load_state)
from f5lab.checkpoint import FLOAT_DTYPES, USER_DTYPES, Checkpoint, TensorInfo, open_checkpoint, torch_dtype
from f5lab.configs import entry_from_metadata, resolve_config, with_config, write_config_fix
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
            "which own no weights (a v0 fine-tune run as v1 loads without error and speaks gibberish). "
            f"Name one (config='{candidates[0]}'), give an ordered fallbacks list, or decide with the "
            "behavioural probe (probe=..., f5lab probe)")


Probe = Callable[[str, list[str]], str]


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
    from f5lab.remap import plan_remap

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
    spec = infer_spec(ckpt.model_state("ema" if use_ema else "raw").tensors)
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
                          f"{best.first_mismatch}); {write_config_fix(ckpt.path)}")
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
    ``vocab`` is the vocab.txt the checkpoint was trained with (default: the config's
    ``tokenizer_path``, else f5-tts's). ``config``: a name, a YAML path or a ConfigEntry.
    """
    from f5lab.remap import apply_plan, plan_remap
    from f5lab.vocab import check_rows, read_vocab

    ckpt = open_checkpoint(path)
    entry, _ = choose_config(ckpt, config, fallbacks, probe, catalogue, vocab, use_ema)
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
        config = entry_from_metadata(dst_ck.metadata) or dst_ck.metadata["f5lab_config"]
        reason = "recorded in DST by f5lab remap"
    else:
        reason = ""
    if config is not None:  # a name DST records resolves too (a config of one's own travels with the file)
        config = resolve_config(config, catalogue, dst_ck.metadata)
    entry, how = choose_config(src_ck, config, catalogue=catalogue, vocab=vocab_src, use_ema=use_ema)
    dst_state = dst_ck.model_state("ema")
    dtype = dtype or _dtype_change(src_ck, dst_state.tensors, use_ema)
    init = json.loads(dst_ck.metadata.get("f5lab_plan", "{}") or "{}").get("vocab") or {}
    if vocab_src is None and not init and entry.tokenizer_path:
        vocab_src = entry.tokenizer_path  # the config's vocab is SRC's (DST moved no rows)
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
    needs_remap: bool | None = None  # None: cannot load under this config at all
    remap_command: str | None = None  # run once first, when needs_remap
    code: str | None = None  # the f5-tts Python that loads it without f5lab (f5lab.service)

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
    from f5lab.remap import plan_remap

    ckpt = open_checkpoint(path)
    own = resolve_config(config, catalogue, ckpt.metadata) if config is not None else None
    catalogue = with_config(catalogue, entry_from_metadata(ckpt.metadata))
    catalogue = with_config(catalogue, own)
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
        _add_service_code(rows[-1], ckpt, entry, vocab, plan.text_num_embeds, catalogue, vocoder_dir)
    fits = [r.config for r in rows if r.status != "cannot"]
    if len(fits) > 1:
        diff = differences(fits, catalogue)
        for r in rows:
            if r.config in fits and diff:
                r.note = "; ".join(filter(None, [r.note, f"shapes cannot separate {' / '.join(fits)} "
                                                  f"({', '.join(diff)} differ): decide by provenance or f5lab probe"]))
    return rows


def _add_service_code(row: MatrixRow, ckpt: Checkpoint, entry: ConfigEntry, vocab: str | None, text_num_embeds: int,
                      catalogue: Mapping[str, ConfigEntry], vocoder_dir: str | None) -> None:
    """The row's f5-tts code, when the vocab at hand fits the embedding (else the note says which is needed)."""
    from f5lab.configs import catalogue_flag
    from f5lab.service import service_code
    from f5lab.vocab import read_vocab

    own = vocab if vocab is not None else entry.tokenizer_path
    if len(read_vocab(own)) != text_num_embeds:
        return
    snippet = service_code(ckpt.path, entry, needs_remap=bool(row.needs_remap), vocab=own, vocoder_dir=vocoder_dir,
                           catalogue_flag=catalogue_flag(catalogue))
    row.remap_command, row.code = snippet.remap_command, snippet.code

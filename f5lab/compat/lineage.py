"""Lineage: which base checkpoint a fine-tune descends from, and what fine-tuning changed.

F5TTS_Base (v0) and F5TTS_v1_Base build identical shapes and differ only in settings that own no
weights, so a v0 fine-tune run as v1 loads without error and speaks gibberish. The shapes cannot
tell them apart; the weights can: a fine-tune stays close to the weights it started from (tens to
a couple of hundred thousand updates at a small learning rate), while the official bases are
separate training runs of over a million updates each, as far from each other as unrelated
weights. So each tensor of the checkpoint is compared with the same tensor of every candidate
base, under the remap plan's canonical keys (EMA weights, wrapper prefixes stripped: a trainer
``model_last.pt`` compares with a release ``.safetensors``), text-embedding rows matched by token.

Measures, per tensor and summed per block and over the model: the relative distance
``||a - b|| / ||b||`` (a: the checkpoint, b: the base) and the cosine ``a.b / (|a| |b|)``, in fp32
(an fp16 file compares with an fp32 base). Two unrelated weight sets of the same scale are
orthogonal, so they sit at ``sqrt(2) = 1.41`` (cosine 0); a copy sits at 0 (cosine 1).

The verdict (``MAX_DISTANCE``, ``MIN_MARGIN``, docs/lineage.md): the nearest base is the one
the checkpoint descends from when it sits at most half as far as unrelated weights would
(distance <= 0.7) and, when there are other bases, at most half as far as the next one
(margin ``1 - d_nearest / d_next`` >= 0.5). Otherwise: no verdict.

Streaming, as ``verify`` reads: one tensor of the checkpoint and one of each base in memory at a
time (``.safetensors`` through a mapping of its own per tensor; ``.pt`` through ``torch.load(mmap=True,
weights_only=True)``), so peak memory stays a few tensors for safetensors files.

Here: the comparison (sums, the candidates and their rows, the streaming pass) and the verdict.
Finding the bases and the config a base implies: ``f5lab.compat.bases``; the result in words and
the per-block drift figure: ``f5lab.compat.drift``.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

# NoBaseError and find_bases are imported from here too (the CLI, the report, the decision)
from f5lab.compat.bases import NoBaseError, base_name, find_bases, implied_config
from f5lab.errors import ConfigError
from f5lab.files.checkpoint import Checkpoint, ModelState, open_checkpoint
from f5lab.files.dtypes import FLOAT_DTYPES

MAX_DISTANCE = 0.7  # half of sqrt(2), the distance between unrelated weights of the same scale
MIN_MARGIN = 0.5  # the next base at least twice as far as the nearest
# "this file is the base": the nearest base within this relative distance (or every tensor equal to it). An EMA
# export of a real f5-tts fine-tune was reported at 7e-20 from its base; one value one fp32 ulp off in a tiny model
# gives 3e-12; a single AdamW step at lr 1e-5 moves every weight by about 1e-5, some 5e-4 of a typical weight.
# An fp16 copy (rounding ~2e-4) is caught as equal in the lower precision of the two instead
EQUALS_BASE = 1e-9
UNRELATED = math.sqrt(2.0)
TEXT_EMBED = "transformer.text_embed.text_embed.weight"
# buffers f5-tts computes at construction (the same in every model): never evidence of lineage
BUFFERS = ("transformer.rotary_embed.inv_freq",)
INIT_SEED = 666  # f5-tts's vocabulary extension: new rows torch.randn after torch.manual_seed(666)
# a new row "kept its direction" (only weight decay shrank it) within this share of its norm, per dtype
ROW_DIRECTION_TOLERANCE = {"F32": 1e-4, "F64": 1e-4, "F16": 4e-3, "BF16": 3e-2}
SPEC_FACTS = ("backbone", "dim", "depth", "ff_mult", "text_dim", "conv_layers", "mel_dim")


# -- sums and their summaries ------------------------------------------------------------------------
@dataclass
class Sums:
    """Per-tensor relative distances and cosines, summed weighted by each tensor's parameter count.

    Each tensor is measured against its own scale, then weighted by its size: a sum of squares over
    the whole model would be the text embedding's (entries near 1, where a linear layer's are near
    0.02), whatever the blocks did."""

    wd: float = 0.0  # sum of numel x ||a - b|| / ||b||
    wc: float = 0.0  # sum of numel x a.b / (|a| |b|)
    tensors: int = 0
    params: int = 0
    unchanged: int = 0  # tensors equal to the base's (after casting to the lower precision of the two)

    def add(self, other: "Sums") -> None:
        for f in ("wd", "wc", "tensors", "params", "unchanged"):
            setattr(self, f, getattr(self, f) + getattr(other, f))

    @property
    def distance(self) -> float | None:
        return self.wd / self.params if self.params else None

    @property
    def cosine(self) -> float | None:
        return max(-1.0, min(1.0, self.wc / self.params)) if self.params else None

    def summary(self) -> dict[str, Any]:
        return {"distance": self.distance, "cosine": self.cosine, "tensors": self.tensors, "params": self.params,
                "unchanged": self.unchanged}


def relative(dd: float, aa: float, bb: float, ab: float) -> tuple[float, float]:
    """(||a - b|| / ||b||, cosine) from the sums of squares; a base tensor of zeros is measured
    against the checkpoint's own norm (all of it is new: distance 1)."""
    if bb > 0:
        dist = math.sqrt(dd / bb)
    else:
        dist = 0.0 if dd == 0 else 1.0
    if aa > 0 and bb > 0:
        cos = ab / math.sqrt(aa * bb)
    else:
        cos = 1.0 if aa == bb else 0.0
    return dist, max(-1.0, min(1.0, cos))


def tensor_sums(a: Any, b: Any) -> Sums:
    """One tensor pair, accumulated in fp32 (the dot products of torch's BLAS), as a Sums of one."""
    import torch

    same = _same(a, b)
    af, bf = a.detach().reshape(-1).float(), b.detach().reshape(-1).float()
    n = af.numel()
    if same and a.dtype == b.dtype:
        return Sums(0.0, float(n), 1, n, 1)
    d = af - bf
    dist, cos = relative(float(torch.dot(d, d)), float(torch.dot(af, af)), float(torch.dot(bf, bf)),
                         float(torch.dot(af, bf)))
    return Sums(n * dist, n * cos, 1, n, int(same))


def _same(a: Any, b: Any) -> bool:
    """Equal values once both are in the lower precision of the two (an fp16 copy of an fp32 base is a copy)."""
    import torch

    if a.shape != b.shape:
        return False
    if a.dtype != b.dtype:
        low = a.dtype if torch.finfo(a.dtype).bits < torch.finfo(b.dtype).bits else b.dtype
        return torch.equal(a.to(low), b.to(low))
    return torch.equal(a, b)


BLOCK_ORDER = ("time_embed", "text_embed", "audio_embed", "input_embed", "rotary_embed")


def block_of(key: str) -> str:
    """``transformer.transformer_blocks.3.attn.to_q.weight`` -> ``transformer_blocks.3``; the embeddings
    and the output layers by their module (``text_embed``, ``norm_out/proj_out``)."""
    parts = key.split(".")
    if parts[0] == "transformer" and len(parts) > 1:
        parts = parts[1:]
    if len(parts) > 1 and parts[1].isdigit():
        return f"{parts[0]}.{parts[1]}"
    if parts[0] in ("norm_out", "proj_out"):
        return "norm_out/proj_out"
    return parts[0]


def block_rank(block: str) -> tuple[int, int, str]:
    """Data-flow order: embeddings, the blocks by index, then the output layers."""
    if block in BLOCK_ORDER:
        return (0, BLOCK_ORDER.index(block), block)
    head, _, index = block.partition(".")
    if index.isdigit():
        return (1, int(index), head)
    return (3 if block == "norm_out/proj_out" else 2, 0, block)


class Accumulator:
    """One comparison (the checkpoint's EMA weights against one base, say): totals, per block, per tensor."""

    def __init__(self) -> None:
        self.total = Sums()
        self.blocks: dict[str, Sums] = {}
        self.unchanged: list[str] = []

    def add(self, key: str, s: Sums) -> None:
        self.total.add(s)
        self.blocks.setdefault(block_of(key), Sums()).add(s)
        if s.unchanged:
            self.unchanged.append(key)

    def block_rows(self) -> list[dict[str, Any]]:
        return [{"block": b, **self.blocks[b].summary()} for b in sorted(self.blocks, key=block_rank)]


# -- results -------------------------------------------------------------------------------------------
@dataclass
class RowReport:
    """The text embedding's rows against one base's, by token: shared rows and the checkpoint's new ones."""

    rows: int  # the checkpoint's embedding rows (tokens + the filler row)
    base_rows: int
    by: str  # "token" (both vocab files known) or "index" (rows compared in order, as f5-tts extends)
    vocab: str
    base_vocab: str
    shared: int  # rows compared with the base
    new: int  # rows of tokens the base lacks
    new_at_init: int = 0  # still exactly f5-tts's initialisation (torch.randn, seed 666)
    new_rescaled: int = 0  # direction unchanged: only weight decay shrank them
    new_trained: int = 0  # direction changed: trained
    new_unknown: int = 0  # not recognisably f5-tts's initialisation (cosine < 0.5): trained far, or other init
    new_median_change: float | None = None  # median ||row - init|| / ||init|| over the new rows
    shared_median_change: float | None = None  # median ||row - base row|| / ||base row|| over shared rows
    dropped: int = 0  # base tokens the checkpoint's vocabulary lacks

    @property
    def new_untrained(self) -> int:
        return self.new_at_init + self.new_rescaled


@dataclass
class BaseResult:
    """The checkpoint against one candidate base."""

    path: str
    name: str  # "F5TTS_Base model_1200000" for f5-tts's files, else the file name
    config: str | None  # the config the base implies; None when its shapes fit several
    config_source: str
    candidates: list[str]  # configs its shapes fit
    distance: float | None  # the checkpoint's (EMA) weights, over every compared tensor
    cosine: float | None
    tensors: int
    params: int
    unchanged: int
    frozen: list[str] = field(default_factory=list)  # tensors that did not move in the RAW weights while others did
    blocks: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] | None = None  # the raw (non-EMA) weights of a trainer file against this base
    rows: RowReport | None = None
    missing: list[str] = field(default_factory=list)  # the base's keys the checkpoint lacks
    extra: list[str] = field(default_factory=list)  # the checkpoint's keys the base lacks

    @property
    def ema_at_base(self) -> bool:
        """The compared (EMA) weights equal the base's: every tensor, or within EQUALS_BASE."""
        rows_ok = self.rows is None or not (self.rows.new_trained or self.rows.new_unknown)
        same = self.unchanged == self.tensors or (self.distance is not None and self.distance <= EQUALS_BASE)
        return self.tensors > 0 and same and rows_ok

    @property
    def identical(self) -> bool:
        """This file is the base: its weights equal the base's (within EQUALS_BASE), the raw weights
        too in a trainer file, and no new embedding row was trained."""
        raw_ok = self.raw is None or self.raw["unchanged"] == self.raw["tensors"] or (
            self.raw["distance"] is not None and self.raw["distance"] <= EQUALS_BASE)
        return self.ema_at_base and raw_ok

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["identical"] = self.identical
        return d


@dataclass
class Lineage:
    """Which base the checkpoint descends from (``verdict``: its path, or None), with the evidence."""

    path: str
    source: str  # the checkpoint's state dict compared (EMA when present)
    bases: list[BaseResult]  # nearest first
    verdict: str | None = None
    config: str | None = None  # the verdict base's config: what the checkpoint should be loaded with
    margin: float | None = None  # 1 - d_nearest / d_next (None with a single base)
    reason: str = ""
    text: str = ""  # one line: "F5TTS_Base: descends from F5TTS_Base model_1200000, relative distance ..."
    pairs: list[dict[str, Any]] = field(default_factory=list)  # base-to-base distances
    skipped: list[dict[str, str]] = field(default_factory=list)  # bases not compared, and why
    searched: list[str] = field(default_factory=list)  # where bases were looked for (none given)
    flags: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    max_distance: float = MAX_DISTANCE
    min_margin: float = MIN_MARGIN

    @property
    def nearest(self) -> BaseResult | None:
        return self.bases[0] if self.bases else None

    @property
    def decided(self) -> bool:
        return self.verdict is not None

    @property
    def base_match(self) -> str | None:
        """"tensor" when the verdict's base was matched by its weights (the only way lineage names a base:
        a folder or file name never does); None without a verdict."""
        return "tensor" if self.decided else None

    @property
    def apart(self) -> float | None:
        """How far the nearest base sits from the next one: what the margin is read against."""
        if len(self.bases) < 2:
            return None
        ends = {self.bases[0].path, self.bases[1].path}
        return next((p["distance"] for p in self.pairs if {p["a"], p["b"]} == ends), None)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bases"] = [b.to_dict() for b in self.bases]
        d["base_match"] = self.base_match
        d["threshold"] = {"max_distance": self.max_distance, "min_margin": self.min_margin,
                          "unrelated_distance": UNRELATED}
        return _finite(d)


def _finite(value: Any) -> Any:
    """JSON-safe: a non-finite float becomes None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


# -- the candidates and their text-embedding rows ------------------------------------------------------------
@dataclass
class RowMap:
    """How the checkpoint's embedding rows meet one base's: shared rows, the checkpoint's new rows."""

    ckpt_idx: list[int]
    base_idx: list[int]
    new_idx: list[int]
    rows: int
    base_rows: int
    by: str
    vocab: str
    base_vocab: str
    dropped: int

    @property
    def identity(self) -> bool:
        return self.rows == self.base_rows and self.ckpt_idx == self.base_idx == list(range(self.rows))


@dataclass
class Candidate:
    path: Path
    ckpt: Checkpoint
    state: ModelState
    config: str | None
    config_source: str
    fits: list[str]
    rows: RowMap

    def align(self, name: str, a: Any, b: Any) -> tuple[Any, Any] | None:
        """The pair to compare for tensor ``name`` (shared token rows of the text embedding), or None
        when the shapes differ otherwise."""
        if name == TEXT_EMBED and not self.rows.identity:
            if a.shape[1:] != b.shape[1:]:
                return None
            return a[self.rows.ckpt_idx], b[self.rows.base_idx]
        return (a, b) if a.shape == b.shape else None


def _tokens_for(path: Path, rows: int, given: str | None, option: str) -> tuple[list[str] | None, str]:
    """A file's vocabulary: the one given, else a vocab.txt beside it that fits its rows, else f5-tts's
    default when its rows fit that; None when none is known."""
    from f5lab.files.vocab import DEFAULT_VOCAB_LINES, read_vocab, vocab_beside

    if given is not None:
        tokens = read_vocab(given)
        if len(tokens) + 1 != rows:
            raise ConfigError(f"{option} {given}: {len(tokens)} tokens ({len(tokens) + 1} rows with the filler), "
                              f"but the text embedding of {path.name} has {rows} rows: not its vocab.txt")
        return tokens, str(given)
    beside = vocab_beside(path, rows)
    if beside is not None:
        return read_vocab(beside), str(beside)
    if rows == DEFAULT_VOCAB_LINES + 1:
        return read_vocab(None), "f5-tts's default vocab.txt"
    return None, "none known"


def row_map(ckpt_path: Path, rows: int, vocab: str | None, base_path: Path, base_rows: int,
            base_vocab: str | None) -> RowMap:
    """Rows matched by token when both vocabularies are known (never by index: fine-tunes reorder and
    extend); otherwise in order, as f5-tts's own extension appends new tokens at the end."""
    from f5lab.files.vocab import FILLER_ROW, row_mapping

    mine, mine_src = _tokens_for(ckpt_path, rows, vocab, "--vocab")
    theirs, theirs_src = _tokens_for(base_path, base_rows, base_vocab, "--base-vocab")
    if mine is not None and theirs is not None:
        mapping = row_mapping(theirs, mine)
        by = "token"
        dropped = len(set(theirs) - set(mine))
    else:
        mapping = [i if i < base_rows else None for i in range(rows)]
        mapping[0] = FILLER_ROW
        by, dropped = "index", max(0, base_rows - rows)
    pairs = [(i, j) for i, j in enumerate(mapping) if j is not None]
    return RowMap(ckpt_idx=[i for i, _ in pairs], base_idx=[j for _, j in pairs],
                  new_idx=[i for i, j in enumerate(mapping) if j is None], rows=rows, base_rows=base_rows, by=by,
                  vocab=mine_src, base_vocab=theirs_src, dropped=dropped)


def prepare(ckpt: Checkpoint, state: ModelState, spec: Any, paths: Sequence[Path], vocab: str | None,
            base_vocab: str | None, catalogue: Mapping[str, Any] | None) -> tuple[list[Candidate], list[dict]]:
    """Open every base; keep those of the checkpoint's architecture, say why the others are skipped."""
    from f5lab.model.arch import infer_spec

    out, skipped, seen = [], [], set()
    rows = state.tensors[TEXT_EMBED].shape[0]
    for p in paths:
        p = Path(p)
        key = str(p.resolve())
        if key in seen:
            continue
        seen.add(key)
        if p.exists() and ckpt.path.exists() and os.path.samefile(p, ckpt.path):
            skipped.append({"path": str(p), "reason": "is the checkpoint itself"})
            continue
        base = open_checkpoint(p)
        bstate = base.model_state("ema")
        bspec = infer_spec(bstate.tensors, source=p)
        differ = [f"{f} {getattr(spec, f)} vs {getattr(bspec, f)}" for f in SPEC_FACTS
                  if getattr(spec, f) != getattr(bspec, f)]
        if differ:
            skipped.append({"path": str(p), "reason": f"another architecture ({', '.join(differ)})"})
            continue
        config, source, fits = implied_config(p, base, catalogue)
        brows = bstate.tensors[TEXT_EMBED].shape[0]
        out.append(Candidate(p, base, bstate, config, source, fits,
                             row_map(ckpt.path, rows, vocab, p, brows, base_vocab)))
    return out, skipped


# -- the streaming pass ------------------------------------------------------------------------------------
def read_order(ckpt: Checkpoint, state: ModelState) -> list[str]:
    """The float tensors to compare, in the order their bytes lie in the file (sequential reads)."""
    names = [n for n, info in state.tensors.items() if info.dtype in FLOAT_DTYPES and n not in BUFFERS]
    if ckpt.format != "safetensors":
        return names
    from f5lab.compat.remap import safetensors_offsets

    offsets = safetensors_offsets(ckpt.path)[1]
    return sorted(names, key=lambda n: offsets[state.raw_keys[n]][0])


@dataclass
class Pass:
    """What one pass over the tensors gathered."""

    ema: list[Accumulator]  # per candidate
    raw: list[Accumulator] | None  # per candidate, trainer files only
    ema_raw: Accumulator | None
    pairs: dict[tuple[int, int], Accumulator]
    rows: dict[int, RowReport]
    skipped_keys: list[str]


def compare_all(ckpt: Checkpoint, state: ModelState, raw: ModelState | None, cands: list[Candidate]) -> Pass:
    """One pass: each tensor of the checkpoint read once, each base's same tensor read once beside it."""
    n = len(cands)
    out = Pass(ema=[Accumulator() for _ in cands], raw=[Accumulator() for _ in cands] if raw else None,
               ema_raw=Accumulator() if raw else None, pairs={(i, j): Accumulator() for i in range(n)
                                                             for j in range(i + 1, n)}, rows={}, skipped_keys=[])
    from f5lab.compat.remap import one_torch_thread

    with one_torch_thread():
        for name in read_order(ckpt, state):
            a = ckpt.read_tensor(state, name)
            r = ckpt.read_tensor(raw, name) if raw is not None and name in raw.tensors else None
            seen = [_compare_key(name, a, r, i, c, out) for i, c in enumerate(cands)]
            for (i, j), acc in out.pairs.items():
                if seen[i] is not None and seen[j] is not None and seen[i].shape == seen[j].shape:
                    acc.add(name, tensor_sums(seen[j], seen[i]))
            if r is not None and r.shape == a.shape and out.ema_raw is not None:
                out.ema_raw.add(name, tensor_sums(a, r))
            del a, r, seen
    return out


def _compare_key(name: str, a: Any, r: Any, i: int, cand: Candidate, out: Pass) -> Any:
    """The checkpoint's tensor (and its raw twin) against candidate ``i``'s; returns the base's tensor."""
    if name not in cand.state.tensors:
        return None
    b = cand.ckpt.read_tensor(cand.state, name)
    pair = cand.align(name, a, b)
    if pair is None:
        out.skipped_keys.append(name)
        return None
    out.ema[i].add(name, tensor_sums(*pair))
    if name == TEXT_EMBED:
        out.rows[i] = row_report(a, b, cand.rows)
    if r is not None and out.raw is not None:
        rpair = cand.align(name, r, b)
        if rpair is not None:
            out.raw[i].add(name, tensor_sums(*rpair))
    return b


def f5tts_new_rows(n: int, width: int) -> Any:
    """The rows f5-tts's vocabulary extension appends: ``torch.randn((n, width))`` after
    ``torch.manual_seed(666)`` (fp32), in the order the new tokens were appended."""
    import torch

    return torch.randn((n, width), generator=torch.Generator().manual_seed(INIT_SEED))


def row_report(a: Any, b: Any, m: RowMap) -> RowReport:
    """Shared rows' change against the base; new rows against f5-tts's initialisation."""
    import torch

    rep = RowReport(rows=m.rows, base_rows=m.base_rows, by=m.by, vocab=m.vocab, base_vocab=m.base_vocab,
                    shared=len(m.ckpt_idx), new=len(m.new_idx), dropped=m.dropped)
    if m.ckpt_idx:
        sa, sb = a[m.ckpt_idx].float(), b[m.base_idx].float()
        change = (sa - sb).norm(dim=1) / sb.norm(dim=1).clamp_min(1e-30)
        rep.shared_median_change = float(change.median())
    if not m.new_idx:
        return rep
    appended = [i for i in m.new_idx if i >= m.base_rows]
    rep.new_unknown = len(m.new_idx) - len(appended)  # a new token placed among the old rows: no known init
    if not appended:
        return rep
    init = f5tts_new_rows(max(appended) - m.base_rows + 1, a.shape[1])[[i - m.base_rows for i in appended]]
    got = a[appended]
    at_init = torch.tensor([_same(row, u) for row, u in zip(got, init)], dtype=torch.bool)
    g = got.float()
    unorm = init.norm(dim=1).clamp_min(1e-30)
    along = (g * init).sum(dim=1) / unorm ** 2
    ortho = (g - along[:, None] * init).norm(dim=1) / unorm
    cos = (g * init).sum(dim=1) / (g.norm(dim=1).clamp_min(1e-30) * unorm)
    tol = ROW_DIRECTION_TOLERANCE.get(_dtype_name(a), 3e-2)
    unknown = ~at_init & (cos < 0.5)
    rescaled = ~at_init & ~unknown & (ortho <= tol)
    rep.new_at_init = int(at_init.sum())
    rep.new_rescaled = int(rescaled.sum())
    rep.new_unknown += int(unknown.sum())
    rep.new_trained = len(appended) - rep.new_at_init - rep.new_rescaled - int(unknown.sum())
    rep.new_median_change = float(((g - init).norm(dim=1) / unorm).median())
    return rep


def _dtype_name(t: Any) -> str:
    from f5lab.files.checkpoint import torch_dtype_name

    return torch_dtype_name(t.dtype)


# -- the verdict ----------------------------------------------------------------------------------------------
def _g(x: float | None) -> str:
    """A distance for a sentence: two significant digits ('0.031', '1.4', '0')."""
    if x is None:
        return "?"
    return "0" if x == 0 else f"{x:.2g}"


def results_of(state: ModelState, cands: list[Candidate], p: Pass) -> list[BaseResult]:
    out = []
    for i, c in enumerate(cands):
        acc, t = p.ema[i], p.ema[i].total
        res = BaseResult(path=str(c.path), name=base_name(c.path), config=c.config, config_source=c.config_source,
                         candidates=c.fits, distance=t.distance, cosine=t.cosine, tensors=t.tensors, params=t.params,
                         unchanged=t.unchanged, blocks=acc.block_rows(), rows=p.rows.get(i),
                         missing=sorted(set(c.state.tensors) - set(state.tensors)),
                         extra=sorted(set(state.tensors) - set(c.state.tensors)))
        if p.raw is not None:  # a trainer file: frozen is read in the raw weights, never in an EMA that lags them
            res.raw = p.raw[i].total.summary()
            r = p.raw[i].total
            res.frozen = sorted(p.raw[i].unchanged) if 0 < r.unchanged < r.tensors else []
        elif not res.ema_at_base:  # an export: tensors equal to the base's while the others moved
            res.frozen = sorted(acc.unchanged) if 0 < t.unchanged < t.tensors else []
        out.append(res)
    return out


def verdict_of(bases: list[BaseResult], pairs: list[dict[str, Any]]) -> tuple[BaseResult | None, float | None, str]:
    """(the base the checkpoint descends from or None, the margin, why). ``bases`` nearest first.

    The nearest base must sit at most MAX_DISTANCE away (half of what unrelated weights of the same
    scale give) and, when another base is at hand, the next one (a base holding the very same
    weights aside) must be at least twice as far: margin ``1 - d1 / d2`` >= MIN_MARGIN."""
    if not bases:
        return None, None, "no base of this architecture to compare with"
    near = bases[0]
    d1 = near.distance if near.distance is not None else math.inf
    same = {p["b"] if p["a"] == near.path else p["a"] for p in pairs
            if near.path in (p["a"], p["b"]) and p["distance"] == 0}
    nxt = next((b for b in bases[1:] if b.path not in same), None)
    margin = None
    if nxt is not None:
        d2 = nxt.distance if nxt.distance is not None else math.inf
        margin = 1.0 - d1 / d2 if d2 > 0 and math.isfinite(d1) else 0.0
    if d1 > MAX_DISTANCE:
        return None, margin, (f"the nearest base, {near.name}, sits at relative distance {_g(d1)}: farther than "
                              f"{MAX_DISTANCE:g} (half of the {UNRELATED:.2f} unrelated weights of the same scale "
                              "give)")
    if margin is not None and margin < MIN_MARGIN:
        return None, margin, (f"{near.name} ({_g(d1)}) and {nxt.name} ({_g(nxt.distance)}) are about as near: "
                              f"margin {margin:.2f}, under the {MIN_MARGIN:g} a verdict needs")
    why = (f"{_g(d1)} vs {_g(nxt.distance)} to {_label(nxt, near)}" if nxt is not None
           else f"{_g(d1)} (unrelated weights of the same scale: {UNRELATED:.2f})")
    return near, margin, f"relative distance {why}"


def _label(b: BaseResult, near: BaseResult) -> str:
    """How the runner-up is named in the verdict: by its config when that says more than its file."""
    return b.config if b.config and b.config != near.config else b.name


def sentence(verdict: BaseResult | None, why: str) -> str:
    """'F5TTS_Base: descends from F5TTS_Base model_1200000, relative distance 0.03 vs 1.4 to F5TTS_v1_Base'."""
    if verdict is None:
        return f"no verdict: {why}"
    head = verdict.config or f"config undecided ({verdict.config_source})"
    return f"{head}: descends from {verdict.name}, {why}"


def flags_of(near: BaseResult | None, p: Pass) -> dict[str, Any]:
    """What the comparison with the nearest base says about the fine-tuning itself."""
    flags: dict[str, Any] = {"identical": bool(near and near.identical), "frozen": list(near.frozen) if near else [],
                             "is_base": bool(near and near.identical and (near.distance or 0.0) <= MAX_DISTANCE),
                             "ema_equals_raw": None, "ema_equals_init": None, "ema_equals_base": None,
                             "ema_progress": None, "ema_raw_distance": None}
    if p.ema_raw is not None:
        t = p.ema_raw.total
        flags["ema_equals_raw"] = t.tensors > 0 and t.unchanged == t.tensors
        flags["ema_raw_distance"] = t.distance
    if near is not None and near.raw is not None:
        raw_moved = near.raw["unchanged"] < near.raw["tensors"] and not near.identical
        flags["ema_equals_init"] = near.unchanged == near.tensors and raw_moved
        # the EMA has not moved from its start (the base, within EQUALS_BASE) while the raw weights trained
        flags["ema_equals_base"] = near.ema_at_base and raw_moved
        if near.raw["distance"]:
            flags["ema_progress"] = (near.distance or 0.0) / near.raw["distance"]
    return flags


def lineage(path: str | os.PathLike, bases: Sequence[str | os.PathLike] | None = None, vocab: str | None = None,
            base_vocab: str | None = None, catalogue: Mapping[str, Any] | None = None,
            env: Mapping[str, str] | None = None) -> Lineage:
    """Which of ``bases`` (default: f5-tts's checkpoints in the local Hugging Face cache) checkpoint
    ``path`` descends from, tensor by tensor, with per-block drift and the flags of what fine-tuning
    changed. ``vocab``/``base_vocab``: the vocab.txt files of the checkpoint and of the bases (default:
    one beside each file, else f5-tts's when the rows fit). Raises NoBaseError (a ConfigError) when
    no base is given or found, saying where it looked."""
    from f5lab.files.checkpoint import EMA_DICT, RAW_DICT
    from f5lab.model.arch import infer_spec

    ckpt = open_checkpoint(path)
    state = ckpt.model_state("ema")
    spec = infer_spec(state.tensors, source=ckpt.path)
    searched: list[str] = []
    if bases:
        paths = [Path(b) for b in bases]
        itself = [b for b in paths if b.exists() and ckpt.path.exists() and os.path.samefile(b, ckpt.path)]
        if itself and len(itself) == len(paths):  # nothing left to compare with (among others it is skipped)
            raise NoBaseError(f"{itself[0]}: --base is the checkpoint itself ({ckpt.path}); give the base it was "
                              "fine-tuned from (e.g. F5TTS_Base's model_1200000.safetensors)")
    else:
        paths, searched = find_bases(env)
        if not paths:
            raise NoBaseError(f"{ckpt.path}: no base checkpoint to compare with: none given (--base PATH) and no "
                              f"f5-tts checkpoint in the Hugging Face cache (looked in {', '.join(searched)})")
    cands, skipped = prepare(ckpt, state, spec, paths, vocab, base_vocab, catalogue)
    raw = ckpt.model_state("raw") if EMA_DICT in ckpt.state_dicts and RAW_DICT in ckpt.state_dicts else None
    p = compare_all(ckpt, state, raw, cands)
    results = results_of(state, cands, p)
    pairs = [{"a": str(cands[i].path), "b": str(cands[j].path), **acc.total.summary()}
             for (i, j), acc in p.pairs.items()]
    results.sort(key=lambda b: math.inf if b.distance is None else b.distance)
    verdict, margin, why = verdict_of(results, pairs)
    out = Lineage(path=str(path), source=state.source, bases=results, verdict=verdict.path if verdict else None,
                  config=verdict.config if verdict else None, margin=margin, reason=why, text=sentence(verdict, why),
                  pairs=pairs, skipped=skipped, searched=searched, flags=flags_of(results[0] if results else None, p))
    out.notes = notes_of(out, p, cands)
    return out


def notes_of(lin: Lineage, p: Pass, cands: list[Candidate]) -> list[str]:
    """What the reader should know about how the comparison was made."""
    notes = []
    for c in cands:
        if c.rows.by == "index" and (c.rows.rows != c.rows.base_rows):
            whose = "the checkpoint" if c.rows.vocab == "none known" else "the base"
            notes.append(f"{base_name(c.path)}: no vocab.txt for {whose}: embedding rows compared in order, as "
                         "f5-tts's own extension appends new tokens (give --vocab / --base-vocab to match them by "
                         "token)")
    if p.skipped_keys:
        notes.append(f"{len(set(p.skipped_keys))} tensor(s) of another shape than a base's were not compared: "
                     + ", ".join(sorted(set(p.skipped_keys))[:3]))
    for pair in lin.pairs:
        if pair["distance"] == 0:
            notes.append(f"{base_name(pair['a'])} and {base_name(pair['b'])} hold the same weights")
    return notes

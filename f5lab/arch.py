"""Architecture from shapes: what a state dict says about the model that made it.

``infer_spec`` turns canonical tensor names and shapes into an ``ArchSpec``; the
catalogue reads the configs shipped with the installed f5-tts (YAML only, f5-tts is not
imported); ``rank_configs`` orders them by agreement with a spec and names, for each
that does not match, the first fact that disagrees. Facts that have no weights
(``text_mask_padding``, ``pe_attn_head``, the vocoder) are reported as undetermined.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from f5lab.checkpoint import TensorInfo
from f5lab.errors import ArchError, ConfigError

BACKBONES = ("DiT", "UNetT", "MMDiT")
# facts compared between a spec and a config, most telling first
FACTS = ("backbone", "mel_dim", "dim", "depth", "ff_mult", "text_dim", "conv_layers",
         "qk_norm", "long_skip", "heads")
# config arch fields that own no weights: shapes can never decide them
WEIGHTLESS_FIELDS = ("text_mask_padding", "pe_attn_head", "attn_backend", "attn_mask_enabled",
                     "checkpoint_activations")
DEFAULT_VOCAB_LINES = 2545  # lines of f5-tts's infer/examples/vocab.txt


@dataclass(frozen=True)
class ArchSpec:
    """The architecture facts a checkpoint's shapes determine."""

    backbone: str
    dim: int
    depth: int
    ff_mult: float
    text_dim: int
    conv_layers: int
    mel_dim: int
    text_embed_rows: int
    long_skip: bool = False
    qk_norm: str | None = None
    heads: int | None = None  # from the rotary buffer when stored, else undetermined
    dim_head: int | None = None
    attn_inner_dim: int | None = None
    skip_connect: str | None = None  # UNetT: "concat" when skip projections exist

    @property
    def text_num_embeds(self) -> int:
        """The ``text_num_embeds`` f5-tts is built with: rows minus the filler row 0."""
        return self.text_embed_rows - 1

    def arch_block(self) -> dict[str, Any]:
        """The ``model.arch`` block of an f5-tts config that builds this architecture."""
        block: dict[str, Any] = {"dim": self.dim, "depth": self.depth,
                                 "heads": self.heads if self.heads else "?  # not in the shapes; f5-tts uses 16",
                                 "ff_mult": _plain(self.ff_mult)}
        if self.backbone != "MMDiT":
            block["text_dim"] = self.text_dim
            block["conv_layers"] = self.conv_layers
        if self.qk_norm:
            block["qk_norm"] = self.qk_norm
        if self.long_skip:
            block["long_skip_connection"] = True
        if self.backbone == "UNetT" and self.skip_connect and self.skip_connect != "concat":
            block["skip_connect_type"] = self.skip_connect
        return block

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ff_mult"] = _plain(self.ff_mult)
        return d


def _plain(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


# -- inference from shapes --------------------------------------------------------------
def infer_spec(tensors: Mapping[str, TensorInfo]) -> ArchSpec:
    """Read the architecture off canonical (wrapper-free) tensor names and shapes."""
    t = {k[len("transformer."):]: v.shape for k, v in tensors.items() if k.startswith("transformer.")}
    if "text_embed.text_embed.weight" not in t or "proj_out.weight" not in t:
        tops = sorted({k.split(".")[0] for k in tensors})
        raise ArchError("not an F5-TTS / E2-TTS checkpoint: no transformer.text_embed / proj_out weights "
                        f"(top-level names: {', '.join(tops[:8]) or 'none'})")
    rows, text_dim = t["text_embed.text_embed.weight"]
    mel_dim, dim = t["proj_out.weight"]
    conv_layers = _count_blocks(t, "text_embed.text_blocks")
    dim_head = 2 * t["rotary_embed.inv_freq"][0] if "rotary_embed.inv_freq" in t else None
    if any(k.startswith("transformer_blocks.") for k in t) and "audio_embed.linear.weight" in t:
        backbone, depth = "MMDiT", _count_blocks(t, "transformer_blocks")
        inner = t["transformer_blocks.0.attn.to_q.weight"][0]
        ff_hidden = t["transformer_blocks.0.ff_x.ff.0.0.weight"][0]
        qk = "transformer_blocks.0.attn.q_norm.weight" in t
        skip = None
    elif any(k.startswith("transformer_blocks.") for k in t):
        backbone, depth = "DiT", _count_blocks(t, "transformer_blocks")
        inner = t["transformer_blocks.0.attn.to_q.weight"][0]
        ff_hidden = t["transformer_blocks.0.ff.ff.0.0.weight"][0]
        qk = "transformer_blocks.0.attn.q_norm.weight" in t
        skip = None
    elif any(k.startswith("layers.") for k in t):
        backbone, depth = "UNetT", _count_blocks(t, "layers")
        inner = t["layers.0.2.to_q.weight"][0]
        ff_hidden = t["layers.0.4.ff.0.0.weight"][0]
        qk = "layers.0.2.q_norm.weight" in t
        skip = "concat" if f"layers.{depth // 2}.0.weight" in t else None
    else:
        raise ArchError("not an F5-TTS / E2-TTS checkpoint: neither transformer_blocks (DiT/MMDiT) "
                        "nor layers (UNetT) found under transformer.")
    heads = inner // dim_head if dim_head and inner % dim_head == 0 else None
    return ArchSpec(backbone=backbone, dim=dim, depth=depth, ff_mult=_plain(ff_hidden / dim),
                    text_dim=text_dim, conv_layers=conv_layers, mel_dim=mel_dim, text_embed_rows=rows,
                    long_skip="long_skip_connection.weight" in t, qk_norm="rms_norm" if qk else None,
                    heads=heads, dim_head=dim_head, attn_inner_dim=inner, skip_connect=skip)


def _count_blocks(shapes: Mapping[str, Any], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"\.(\d+)\.")
    found = {int(m.group(1)) for k in shapes if (m := pattern.match(k))}
    return max(found) + 1 if found else 0


def consistency_notes(spec: ArchSpec, tensors: Mapping[str, TensorInfo]) -> list[str]:
    """Arithmetic the shapes must satisfy; a broken one means a hand-edited or foreign file."""
    notes = []
    proj = tensors.get("transformer.input_embed.proj.weight")
    if proj is not None and proj.shape[1] != 2 * spec.mel_dim + spec.text_dim:
        notes.append(f"input_embed.proj takes {proj.shape[1]} features, expected 2 x {spec.mel_dim} mel "
                     f"+ {spec.text_dim} text = {2 * spec.mel_dim + spec.text_dim}")
    return notes


# -- the catalogue of configs shipped with f5-tts ------------------------------------------
@dataclass(frozen=True)
class ConfigEntry:
    """One f5-tts config, reduced to what a checkpoint's shapes can be compared with."""

    name: str
    backbone: str
    arch: dict[str, Any]
    mel_spec: dict[str, Any] = field(default_factory=dict)
    vocab_rows: int = DEFAULT_VOCAB_LINES + 1

    def expected(self) -> dict[str, Any]:
        """The value of each fact in FACTS that this config builds."""
        a = self.arch
        mel = int(self.mel_spec.get("n_mel_channels", 100))
        return {
            "backbone": self.backbone, "mel_dim": mel, "dim": a["dim"], "depth": a["depth"],
            "ff_mult": _plain(a.get("ff_mult", 4)),
            "text_dim": a["dim"] if self.backbone == "MMDiT" else (a.get("text_dim") or mel),
            "conv_layers": 0 if self.backbone == "MMDiT" else a.get("conv_layers", 0),
            "qk_norm": a.get("qk_norm"), "long_skip": bool(a.get("long_skip_connection", False)),
            "heads": a.get("heads", 8),
        }


def f5_tts_root() -> Path:
    """Where the installed f5_tts package lives (found without importing it)."""
    spec = importlib.util.find_spec("f5_tts")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("f5-tts is not installed in this environment (pip install f5-tts==1.1.22)")
    return Path(list(spec.submodule_search_locations)[0])


@lru_cache(maxsize=1)
def shipped_configs() -> dict[str, ConfigEntry]:
    """Every ``f5_tts/configs/*.yaml``, by model name."""
    import yaml

    out: dict[str, ConfigEntry] = {}
    for path in sorted((f5_tts_root() / "configs").glob("*.yaml")):
        model = (yaml.safe_load(path.read_text()) or {}).get("model", {})
        if model.get("backbone") in BACKBONES and "arch" in model:
            out[path.stem] = ConfigEntry(name=path.stem, backbone=model["backbone"], arch=dict(model["arch"]),
                                         mel_spec=dict(model.get("mel_spec", {})))
    return out


def get_config(name: str, catalogue: Mapping[str, ConfigEntry] | None = None) -> ConfigEntry:
    """A config by name, or a ConfigError that lists the known names."""
    catalogue = shipped_configs() if catalogue is None else catalogue
    if name not in catalogue:
        raise ConfigError(f"unknown config {name!r}; known: {', '.join(catalogue)}")
    return catalogue[name]


# the shipped configs shrunk for tests and tiny demo checkpoints: recognised like real ones
TINY_DIM_DIVISOR = 16  # 1024 -> 64, 768 -> 48, text_dim 512 -> 32


def tiny_entry(entry: ConfigEntry) -> ConfigEntry:
    """A shipped config shrunk 16x in width, depth 2 (DiT) or 4 (UNetT); all else kept."""
    arch = dict(entry.arch)
    arch["dim"] = entry.arch["dim"] // TINY_DIM_DIVISOR
    arch["depth"] = 4 if entry.backbone == "UNetT" else 2
    arch["heads"] = max(1, entry.arch.get("heads", 8) // 4)
    arch["dim_head"] = arch["dim"] // arch["heads"]
    if arch.get("text_dim"):
        arch["text_dim"] = entry.arch["text_dim"] // TINY_DIM_DIVISOR
    return replace(entry, arch=arch)


def tiny_catalogue() -> dict[str, ConfigEntry]:
    """Every shipped config at tiny scale, under its own name: tests rank against this."""
    return {name: tiny_entry(e) for name, e in shipped_configs().items()}


# -- ranking ---------------------------------------------------------------------------------
@dataclass
class Candidate:
    """How one config compares with a checkpoint's spec."""

    config: str
    exact: bool  # every architecture fact agrees
    agree: int  # number of facts that agree
    mismatches: list[dict[str, Any]]  # in FACTS order: {fact, checkpoint, config}
    vocab_match: bool  # embedding rows equal the config's default vocab (+1 filler row)

    @property
    def first_mismatch(self) -> str:
        if not self.mismatches:
            return ""
        m = self.mismatches[0]
        return f"{m['fact']} {m['checkpoint']} vs {m['config']}"

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "exact": self.exact, "mismatches": self.mismatches,
                "first_mismatch": self.first_mismatch, "vocab_match": self.vocab_match}


def compare(spec: ArchSpec, entry: ConfigEntry) -> Candidate:
    """Fact-by-fact agreement between a spec and a config; unknown spec facts never disagree."""
    expected = entry.expected()
    have = spec.to_dict()
    have["long_skip"] = spec.long_skip
    mismatches = []
    for fact in FACTS:
        ours = have.get(fact)
        if ours is None and fact == "heads":
            continue  # undetermined, not a disagreement
        if ours != expected[fact]:
            mismatches.append({"fact": fact, "checkpoint": ours, "config": expected[fact]})
    return Candidate(config=entry.name, exact=not mismatches, agree=len(FACTS) - len(mismatches),
                     mismatches=mismatches, vocab_match=spec.text_embed_rows == entry.vocab_rows)


def rank_configs(spec: ArchSpec, catalogue: Mapping[str, ConfigEntry] | None = None) -> list[Candidate]:
    """Configs ordered: exact first, then by how late the first disagreement comes, then by agreement."""
    catalogue = shipped_configs() if catalogue is None else catalogue
    cands = [compare(spec, entry) for entry in catalogue.values()]

    def key(c: Candidate) -> tuple:
        first = FACTS.index(c.mismatches[0]["fact"]) if c.mismatches else len(FACTS)
        return (not c.exact, -first, -c.agree, c.config)

    return sorted(cands, key=key)


def undetermined(spec: ArchSpec, ranked: list[Candidate],
                 catalogue: Mapping[str, ConfigEntry] | None = None) -> list[str]:
    """What shapes cannot decide for this checkpoint, stated in every report."""
    catalogue = shipped_configs() if catalogue is None else catalogue
    notes = []
    if spec.heads is None:
        notes.append(f"heads: attention projections are {spec.attn_inner_dim} = heads x dim_head wide and no "
                     "rotary buffer is stored, so the split is unknown (shipped configs: 16 x 64)")
    exact = [c.config for c in ranked if c.exact]
    if len(exact) > 1:
        diffs = weightless_differences([catalogue[n] for n in exact])
        if diffs:
            notes.append(f"{' vs '.join(exact)}: identical shapes; they differ only in "
                         f"{'; '.join(diffs)}, which own no weights. Pick by provenance or by the "
                         "behavioural probe (f5lab probe); a v0 fine-tune run as v1 loads but speaks gibberish")
    notes.append("vocoder: vocos and BigVGAN both take 100-bin 24 kHz hop-256 mels (HTK vs Slaney filterbanks); "
                 "the checkpoint does not say which it was trained for")
    if spec.backbone == "UNetT" and spec.skip_connect is None:
        notes.append("UNetT skip_connect_type: no skip projections, so 'add' or 'none' (not 'concat')")
    return notes


def weightless_differences(entries: list[ConfigEntry]) -> list[str]:
    out = []
    for fld in WEIGHTLESS_FIELDS:
        values = [e.arch.get(fld) for e in entries]
        if len(set(map(repr, values))) > 1:
            out.append(f"{fld} ({' vs '.join(map(str, values))})")
    return out

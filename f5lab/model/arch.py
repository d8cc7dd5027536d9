"""Architecture from shapes: what a state dict says about the model that made it.

``infer_spec`` turns canonical tensor names and shapes into an ``ArchSpec``; the
catalogue reads the configs shipped with the installed f5-tts (YAML only, f5-tts is not
imported); ``rank_configs`` orders them by agreement with a spec and names, for each
that does not match, the first fact that disagrees. Facts that have no weights
(``text_mask_padding``, ``pe_attn_head``, the vocoder) are reported as undetermined.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from f5lab.files.checkpoint import TensorInfo
from f5lab.model.configs import (BACKBONES, DEFAULT_VOCAB_LINES, TINY_DIM_DIVISOR, ConfigEntry,  # noqa: F401
                           f5_tts_root, resolve_config, shipped_configs, tiny_catalogue, tiny_entry, with_config)
from f5lab.errors import ArchError

# facts compared between a spec and a config, most telling first
FACTS = ("backbone", "mel_dim", "dim", "depth", "ff_mult", "text_dim", "conv_layers",
         "qk_norm", "long_skip", "heads", "dim_head")
# where the v0/v1 trap is documented: f5-tts 1.0.0 made F5TTS_v1_Base the default of its API and
# CLIs, and v0 (F5TTS_Base) fine-tunes run under it speak gibberish (F5-TTS #896, #998)
V0_V1_SOURCES = ("f5-tts 1.0.0 release notes (v1 the default): https://github.com/SWivid/F5-TTS/releases/tag/1.0.0; "
                 "F5-TTS #896, #998: https://github.com/SWivid/F5-TTS/issues/896, "
                 "https://github.com/SWivid/F5-TTS/issues/998")
V0_V1_SHORT = "f5-tts 1.0.0 release notes; F5-TTS #896, #998"
# config arch fields that own no weights: shapes can never decide them
WEIGHTLESS_FIELDS = ("text_mask_padding", "pe_attn_head", "attn_backend", "attn_mask_enabled",
                     "checkpoint_activations")


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
        if self.dim_head and self.dim_head != 64:  # f5-tts's default; the shipped configs omit it
            block["dim_head"] = self.dim_head
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
def infer_spec(tensors: Mapping[str, TensorInfo], source: Any = None) -> ArchSpec:
    """Read the architecture off canonical (wrapper-free) tensor names and shapes.

    ``source`` (the file's path) starts the ArchError message, so the user learns which file it is."""
    try:
        return _infer_spec(tensors)
    except ArchError as exc:
        if source is None or str(exc).startswith(f"{source}: "):
            raise
        raise ArchError(f"{source}: {exc}") from None


def _infer_spec(tensors: Mapping[str, TensorInfo]) -> ArchSpec:
    t = {k[len("transformer."):]: v.shape for k, v in tensors.items() if k.startswith("transformer.")}
    out_shape = t.get("proj_out.weight") or _proj_out_shape(t)  # one missing tensor: a diagnosis names it
    if "text_embed.text_embed.weight" not in t or out_shape is None:
        tops = sorted({k.split(".")[0] for k in tensors})
        raise ArchError("not an F5-TTS / E2-TTS checkpoint: no transformer.text_embed / proj_out weights "
                        f"(top-level names: {', '.join(tops[:8]) or 'none'})")
    rows, text_dim = t["text_embed.text_embed.weight"]
    mel_dim, dim = out_shape
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


def _proj_out_shape(t: Mapping[str, Any]) -> tuple[int, int] | None:
    """[mel_dim, dim] of ``proj_out.weight`` when the file lacks that one tensor, from the tensors
    that fix both: its bias (mel bins) or the input projection (2 x mel + text_dim in, dim out; MMDiT:
    the audio embedding, 2 x mel in), and the time embedding's width (dim)."""
    if "text_embed.text_embed.weight" not in t:
        return None
    text_dim = t["text_embed.text_embed.weight"][1]
    dim = mel = None
    if "input_embed.proj.weight" in t:
        dim, fan_in = t["input_embed.proj.weight"]
        mel = (fan_in - text_dim) // 2 if fan_in > text_dim and (fan_in - text_dim) % 2 == 0 else None
    elif "audio_embed.linear.weight" in t:
        dim, fan_in = t["audio_embed.linear.weight"]
        mel = fan_in // 2 if fan_in % 2 == 0 else None
    if "proj_out.bias" in t:
        mel = t["proj_out.bias"][0]
    if "time_embed.time_mlp.0.weight" in t:
        dim = dim or t["time_embed.time_mlp.0.weight"][0]
    return (int(mel), int(dim)) if mel and dim else None


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


# -- configs: what each builds (the entries and their resolver live in f5lab.model.configs) -----------------
def expected_facts(entry: ConfigEntry) -> dict[str, Any]:
    """The value of each fact in FACTS that ``entry`` builds."""
    return entry.expected()


def get_config(name: str | ConfigEntry, catalogue: Mapping[str, ConfigEntry] | None = None) -> ConfigEntry:
    """A config by name or YAML path (f5lab.model.configs.resolve_config), or a one-line ConfigError."""
    return resolve_config(name, catalogue)


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
    expected = expected_facts(entry)
    have = spec.to_dict()
    have["long_skip"] = spec.long_skip
    mismatches = []
    for fact in FACTS:
        ours = have.get(fact)
        if ours is None and fact in ("heads", "dim_head"):
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
                         "behavioural probe (f5lab probe); a v0 fine-tune run as v1 loads but speaks gibberish "
                         f"({V0_V1_SHORT})")
    if not exact and spec.backbone != "MMDiT":
        notes.append("text_mask_padding, pe_attn_head (v0 or v1): they own no weights, and no installed config builds "
                     "this architecture to take them from; a config of its own must state them (inspect "
                     "--write-config copies the closest shipped config's and marks them); the training run can tell, "
                     "or f5lab probe with one config of each setting as --candidate")
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


def differences(names: list[str], catalogue: Mapping[str, ConfigEntry] | None = None) -> dict[str, dict[str, Any]]:
    """Weightless arch fields whose values differ between configs: field -> {config: value}."""
    catalogue = shipped_configs() if catalogue is None else catalogue
    entries = [catalogue[n] for n in names]
    fields = [d.split(" ")[0] for d in weightless_differences(entries)]
    return {f: {e.name: e.arch.get(f) for e in entries} for f in fields}


# -- a config of one's own ---------------------------------------------------------------------------
def config_for_spec(spec: ArchSpec, name: str, tokenizer_path: str | None = None) -> tuple[ConfigEntry, ConfigEntry,
                                                                                          dict[str, str]]:
    """(the config that builds ``spec``, the closest shipped config it borrows the rest from, a comment
    for each value the shapes cannot decide). Shape facts come from the checkpoint, never the base."""
    ranked = rank_configs(spec, shipped_configs())
    same = [c for c in ranked if shipped_configs()[c.config].backbone == spec.backbone]
    base = shipped_configs()[(same or ranked)[0].config]
    arch = spec.arch_block()  # the shape facts first, then what only the base config can say
    if not spec.heads:
        arch["heads"] = max(1, (spec.attn_inner_dim or spec.dim) // (spec.dim_head or 64))
        arch["dim_head"] = spec.dim_head or 64
    arch.update({k: v for k, v in base.arch.items() if k in WEIGHTLESS_FIELDS})
    comments = {f"arch.{k}": f"shapes cannot decide it: as in {base.name}" for k in arch if k in WEIGHTLESS_FIELDS}
    comments["arch.text_mask_padding"] = (f"shapes cannot decide it: as in {base.name}; False for a v0 (F5TTS_Base) "
                                          "fine-tune, True for v1. Check the training config or run f5lab probe")
    if "pe_attn_head" in arch or spec.backbone == "DiT":
        arch.setdefault("pe_attn_head", None)
        comments["arch.pe_attn_head"] = (f"shapes cannot decide it: as in {base.name}; 1 for v0 (F5TTS_Base), "
                                         "null for v1")
    if not spec.heads:
        comments["arch.heads"] = (f"shapes cannot decide it: attention is {spec.attn_inner_dim} wide and no rotary "
                                  "buffer is stored; heads x dim_head must equal it")
    if spec.backbone == "UNetT":
        arch["skip_connect_type"] = spec.skip_connect or "add"
        if spec.skip_connect is None:
            comments["arch.skip_connect_type"] = "shapes say 'add' or 'none' (no skip projections stored)"
    mel = {**base.mel_spec, "n_mel_channels": spec.mel_dim}
    comments["mel_spec.mel_spec_type"] = ("shapes cannot decide it: vocos and BigVGAN both take 100-bin mels; "
                                          "set the vocoder the checkpoint was trained for")
    rows = spec.text_embed_rows
    default_rows = rows == DEFAULT_VOCAB_LINES + 1
    # f5-tts reads model.tokenizer_path only with tokenizer "custom" (train.py); with "pinyin" or
    # "char" it reads the dataset's vocab.txt, which is f5-tts's default one
    custom = bool(tokenizer_path) or not default_rows
    if custom:
        comments["tokenizer"] = "custom: f5-tts then reads the vocab.txt named by tokenizer_path"
    comments["tokenizer_path"] = ("the checkpoint has {} text embedding rows: f5-tts's default vocab.txt fits"
                                  .format(rows) if default_rows and not tokenizer_path else
                                  f"a {rows - 1}-line vocab.txt (the checkpoint has {rows} embedding rows)"
                                  + ("" if tokenizer_path else ": REQUIRED, the path of the fine-tune's vocab.txt "
                                     "(or write this file again with --vocab)"))
    entry = ConfigEntry(name=name, backbone=spec.backbone, arch=arch, mel_spec=mel, vocab_rows=rows, source="file",
                        model_name=base.model_name or base.name, tokenizer="custom" if custom else base.tokenizer,
                        tokenizer_path=tokenizer_path)
    return entry, base, comments

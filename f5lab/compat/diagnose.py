"""Why a checkpoint does not load under a config, as findings: cause, evidence, fix.

``diagnose(path)`` compares a checkpoint key by key with the best-ranked config and with
the one the user names; ``explain_load_error(text)`` does the same from the text of a failed
``load_state_dict`` alone. Keys are reported in groups ("every transformer.layers.* missing"),
never as 300 lines, and every finding carries the numbers that prove it (712 = 2 x 100 + 512)
and a fix: the right config, the vocab file needed, an ``f5lab remap`` command, or "cannot be
fixed by remapping" when that is the truth. This module changes nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from f5lab.model.arch import (DEFAULT_VOCAB_LINES, V0_V1_SOURCES, ArchSpec, ConfigEntry, compare, infer_spec,
                              rank_configs, shipped_configs)
from f5lab.facts import N_MELS
from f5lab.files.checkpoint import EMA_DICT, RAW_DICT, Checkpoint, ModelState, open_checkpoint
from f5lab.model.configs import catalogue_name, entry_from_metadata, resolve_config, with_config, write_config_fix
from f5lab.files.keys import KeyGroup, group_keys, key_groups, pattern_of  # noqa: F401  (re-exported)

SEVERITIES = ("error", "warning", "info")
WRAPPER_NAMES = {"module.": "DDP (DistributedDataParallel)", "_orig_mod.": "torch.compile", "model.": "a trainer wrapper"}
TEXT_EMBED = "transformer.text_embed.text_embed.weight"
INPUT_PROJ = "transformer.input_embed.proj.weight"


@dataclass
class Finding:
    """One reason, proven: what is wrong, the numbers that show it, and what to do."""

    code: str  # stable id: backbone_mismatch, arch_mismatch, wrong_vocab, extended_vocab, ...
    severity: str  # "error" | "warning" | "info"
    cause: str
    evidence: str
    fix: str
    config: str | None = None  # the config this finding is about, if any
    remappable: bool | None = None  # can `f5lab remap` fix it? None: not a question here

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Comparison:
    """A checkpoint against one config, key by key (wrappers already stripped)."""

    config: str
    text_num_embeds: int
    missing: list[KeyGroup] = field(default_factory=list)
    unexpected: list[KeyGroup] = field(default_factory=list)
    mismatched: list[dict[str, Any]] = field(default_factory=list)  # {key, checkpoint, config}
    f5tts_loads: bool = False  # would f5-tts's own loader accept the file as stored
    f5tts_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "text_num_embeds": self.text_num_embeds,
                "missing": [str(g) for g in self.missing], "unexpected": [str(g) for g in self.unexpected],
                "mismatched": self.mismatched, "f5tts_loads": self.f5tts_loads, "f5tts_reason": self.f5tts_reason}


@dataclass
class Diagnosis:
    path: str | None
    findings: list[Finding]
    comparisons: list[Comparison] = field(default_factory=list)
    spec: dict[str, Any] | None = None
    source: str | None = None
    service: list[dict[str, Any]] = field(default_factory=list)  # f5lab.compat.service.ServiceCode per loadable config
    asked: str | None = None  # the config the user named, if any
    decision: dict[str, Any] | None = None  # f5lab.compat.decision's, with lineage when given (ConfigDecision.to_json)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "source": self.source, "asked": self.asked, "ok": self.ok, "spec": self.spec,
                "comparisons": [c.to_dict() for c in self.comparisons],
                "findings": [f.to_dict() for f in self.findings], "service": self.service, "decision": self.decision}


def _summarise(groups: list[KeyGroup], limit: int = 3) -> str:
    text = ", ".join(str(g) for g in groups[:limit])
    more = len(groups) - limit
    return text + (f" and {more} more group{'s' * (more != 1)}" if more > 0 else "")


def _missing_unexpected(missing: list[KeyGroup], unexpected: list[KeyGroup]) -> str:
    """'A missing and B unexpected', leaving out a side that is empty.

    A pattern on both sides ("every norm_out.* (1 key) missing and every norm_out.* (2 keys)
    unexpected" reads as a contradiction) is said once, naming the keys each side holds."""
    both = {g.pattern for g in missing} & {g.pattern for g in unexpected}
    only_missing = [g for g in missing if g.pattern not in both]
    only_unexpected = [g for g in unexpected if g.pattern not in both]
    parts = [f"{_summarise(only_missing)} missing" if only_missing else "",
             f"{_summarise(only_unexpected)} unexpected" if only_unexpected else ""]
    sentences = [" and ".join(p for p in parts if p)]
    for pattern in sorted(both):
        wanted = next(g for g in missing if g.pattern == pattern)
        found = next(g for g in unexpected if g.pattern == pattern)
        sentences.append(f"{pattern} holds other keys (the config wants {_key_names(wanted, pattern)}, "
                         f"the file has {_key_names(found, pattern)})")
    return "; ".join(s for s in sentences if s)


def _key_names(group: KeyGroup, pattern: str, limit: int = 3) -> str:
    """The group's keys relative to the pattern's stem: 'linear.weight, linear.bias'."""
    stem = pattern[:-1] if pattern.endswith("*") else ""
    names = [k[len(stem):] if stem and k.startswith(stem) else k for k in group.keys] or [str(group)]
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" and {more} more" if more > 0 else "")


# -- diagnose a file ----------------------------------------------------------------------------------
def diagnose(path: str | os.PathLike, config: str | ConfigEntry | None = None, vocab: str | None = None,
             catalogue: Mapping[str, ConfigEntry] | None = None, use_ema: bool = True,
             vocoder_dir: str | None = None, lineage: Any = None) -> Diagnosis:
    """Findings for checkpoint ``path`` against the best-ranked config and the named one.

    ``config``: a name, a YAML path or a ConfigEntry; a config of one's own is ranked beside the
    catalogue's, and its ``tokenizer_path`` is the default vocab. ``Diagnosis.service`` holds, for
    every config the checkpoint loads under, the f5-tts code that loads it without f5lab.
    ``lineage``: a ``f5lab.compat.lineage.Lineage`` of this file (computed by the caller: it reads
    the weights, diagnose reads shapes only); its verdict settles what the shapes cannot.
    """
    from f5lab.files.vocab import read_vocab

    ckpt = open_checkpoint(path)
    named = resolve_config(config, catalogue, ckpt.metadata) if config is not None else None
    catalogue = with_config(catalogue, named if named is not None and named.source not in ("shipped", "tiny")
                            else entry_from_metadata(ckpt.metadata))
    state = ckpt.model_state("ema" if use_ema else "raw")
    spec = infer_spec(state.tensors, source=ckpt.path)
    ranked = rank_configs(spec, catalogue)
    given = vocab  # the user's: carried into every command a fix prints
    vocab = vocab if vocab is not None else (named or catalogue[ranked[0].config]).tokenizer_path
    tokens = read_vocab(vocab)
    findings = container_findings(ckpt, state, ranked[0].config if ranked[0].exact else None, catalogue, given)
    names = [ranked[0].config] + ([named.name] if named and named.name != ranked[0].config else [])
    comparisons = []
    for name in names:
        entry = named if named is not None and name == named.name else catalogue[name]
        comp = compare_keys(ckpt, state, entry, len(tokens))
        comparisons.append(comp)
        findings += config_findings(ckpt, state, spec, entry, comp, vocab, len(tokens), catalogue, given,
                                    decided=lineage_config(lineage))
    findings += ambiguity_findings(spec, catalogue, lineage)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: order[f.severity])
    decision = _decision(ckpt, state, spec, ranked, catalogue, use_ema, lineage)
    service = service_snippets(ckpt, spec, catalogue, vocab, vocoder_dir)
    if decision.decided and any(s.get("config") == decision.config for s in service):
        service = [s for s in service if s.get("config") == decision.config]  # not the twin it was decided against
    return Diagnosis(path=str(path), findings=findings, comparisons=comparisons, spec=spec.to_dict(),
                     source=state.source, service=service, asked=named.name if named is not None else None,
                     decision=decision.to_json())


def _decision(ckpt: Checkpoint, state: ModelState, spec: ArchSpec, ranked: list[Any],
              catalogue: Mapping[str, ConfigEntry], use_ema: bool, lineage: Any) -> Any:
    """Which config the file takes, named or not (the diagnosis is against the named one; the loading
    code it prints is for the decided one): ``f5lab.compat.decision.decide_config`` on what diagnose
    already read and ranked."""
    from f5lab.compat.decision import decide_config
    from f5lab.model.described import Described, catalogue_label

    described = Described(ckpt=ckpt, state=state, spec=spec, catalogue_name=catalogue_label(catalogue),
                          ranked=tuple(ranked),
                          use_ema=use_ema, catalogue=catalogue)
    return decide_config(described, lineage=lineage)


def service_snippets(ckpt: Checkpoint, spec: ArchSpec, catalogue: Mapping[str, ConfigEntry], vocab: str | None,
                     vocoder_dir: str | None = None) -> list[dict[str, Any]]:
    """For every config the shapes fit: the f5-tts code that loads the file, and whether a remap comes first."""
    from f5lab.model.build import f5tts_accepts
    from f5lab.compat.service import call_bytes, service_code
    from f5lab.files.vocab import read_vocab

    out = []
    needs = call_bytes(spec)
    for cand in rank_configs(spec, catalogue):
        if not cand.exact:
            continue
        entry = catalogue[cand.config]
        own = vocab if vocab is not None else entry.tokenizer_path
        rows = len(read_vocab(own)) + 1
        if rows != spec.text_embed_rows:
            continue  # not loadable with this vocab: the vocab finding says which file is needed
        ok, _ = f5tts_accepts(ckpt, entry, rows - 1)
        out.append(service_code(ckpt.path, entry, needs_remap=not ok, vocab=own, vocoder_dir=vocoder_dir,
                                configs=catalogue_name(catalogue), needs_bytes=needs).to_dict())
    return out


def compare_keys(ckpt: Checkpoint, state: ModelState, entry: ConfigEntry, text_num_embeds: int) -> Comparison:
    from f5lab.model.build import expected_state, f5tts_accepts

    expected = expected_state(entry, text_num_embeds)
    have = state.tensors
    missing = sorted(set(expected) - set(have))
    unexpected = sorted(set(have) - set(expected))
    mismatched = [{"key": k, "checkpoint": list(have[k].shape), "config": list(expected[k].shape)}
                  for k in sorted(set(have) & set(expected)) if have[k].shape != expected[k].shape]
    ok, why = f5tts_accepts(ckpt, entry, text_num_embeds)
    return Comparison(config=entry.name, text_num_embeds=text_num_embeds,
                      missing=key_groups(missing, list(expected)), unexpected=key_groups(unexpected, list(have)),
                      mismatched=mismatched, f5tts_loads=ok, f5tts_reason=why)


def remap_command(ckpt: Checkpoint, config: str | None, extra: str = "",
                  catalogue: Mapping[str, ConfigEntry] | None = None, vocab: str | None = None) -> str:
    """The remap fix in backticks, runnable as printed (with the user's ``vocab`` as --vocab-from);
    for an architecture no config builds (``config`` None) the config of its own comes first."""
    from f5lab.model.configs import place_note
    from f5lab.compat.service import remap_command as command

    if config is None:
        return write_config_fix(ckpt.path, then="remap", vocab=vocab)
    return f"`{command(ckpt.path, config, vocab, catalogue_name(catalogue))}{extra}`" \
        + place_note(ckpt.path)


def container_findings(ckpt: Checkpoint, state: ModelState, config: str | None,
                       catalogue: Mapping[str, ConfigEntry] | None = None, vocab: str | None = None) -> list[Finding]:
    """Which state dict, wrappers, training state, obsolete buffers, dtypes (``config``: the one
    the shapes fit, for the remap fix; None when no config builds the architecture; ``vocab``:
    the one the user gave, carried into the commands)."""
    from f5lab.model.inspection import bytes_by_dtype
    from f5lab.units import human_bytes

    out: list[Finding] = []
    weights = sum(t.nbytes for t in state.tensors.values())
    if state.source == RAW_DICT and EMA_DICT not in ckpt.state_dicts:
        out.append(Finding("no_ema", "warning", "the file has no EMA state dict, only the raw training weights",
                           f"state dicts: {', '.join(ckpt.state_dicts)}; f5-tts's loader (use_ema=True) "
                           "raises KeyError 'ema_model_state_dict'",
                           f"{remap_command(ckpt, config, catalogue=catalogue, vocab=vocab)} (writes the raw weights "
                           "as a release file)",
                           remappable=True))
    elif EMA_DICT in ckpt.state_dicts and RAW_DICT in ckpt.state_dicts:
        out.append(Finding("ema_and_raw", "info", "a trainer file: EMA and raw weights both stored",
                           f"using '{state.source}' ({len(state.tensors)} tensors)",
                           "EMA is what inference wants; diagnose, remap and verify take --raw for the training "
                           "weights instead"))
    if ckpt.other_containers:
        out.append(Finding("training_state", "info",
                           f"training state stored too: {', '.join(ckpt.other_containers)}",
                           f"file {human_bytes(ckpt.size_bytes)}, inference weights {human_bytes(weights)}",
                           f"{remap_command(ckpt, config, catalogue=catalogue, vocab=vocab)} keeps the weights only",
                           remappable=True))
    for prefix in state.prefixes:
        if prefix == "ema_model.":
            continue
        out.append(Finding("wrapper_prefix", "warning",
                           f"every key carries the '{prefix}' prefix of {WRAPPER_NAMES.get(prefix, 'a wrapper')}",
                           f"{len(state.tensors)} keys start with '{prefix}'; f5-tts strips only 'ema_model.', so "
                           "its strict load reports every key missing and every key unexpected",
                           remap_command(ckpt, config, catalogue=catalogue, vocab=vocab), remappable=True))
    buffers = [k for k in state.dropped if "mel_spec" in k]
    if buffers:
        out.append(Finding("obsolete_buffers", "info", "a pre-2024-10 checkpoint: it stores mel front-end buffers",
                           ", ".join(buffers), "none needed: f5-tts and f5lab drop them; a remap removes them "
                           "from the file", remappable=True))
    dtypes = bytes_by_dtype(state.tensors)
    if set(dtypes) - {"F32"}:
        out.append(Finding("dtype", "info", f"weights stored as {', '.join(sorted(dtypes))}",
                           ", ".join(f"{d} {human_bytes(b)}" for d, b in dtypes.items()),
                           "loads into the fp32 model by casting; remap's --dtype option (fp32, fp16, bf16) changes "
                           "the stored dtype", remappable=True))
    return out


def proj_arithmetic(in_features: int, text_dim: int) -> str:
    mel, rest = divmod(in_features - text_dim, 2)
    if rest or mel <= 0:
        return f"{in_features} input features"
    return f"{in_features} = 2 x {mel} mel + {text_dim} text_dim"


def config_findings(ckpt: Checkpoint, state: ModelState, spec: ArchSpec, entry: ConfigEntry, comp: Comparison,
                    vocab: str | None, text_num_embeds: int,
                    catalogue: Mapping[str, ConfigEntry], given: str | None = None,
                    decided: str | None = None) -> list[Finding]:
    """The verdict for one config: architecture, vocabulary, keys, and whether f5-tts loads it as is
    (``vocab``: the vocab.txt compared; ``given``: the one the user passed, for printed commands;
    ``decided``: the config lineage chose among those the shapes fit)."""
    cand = compare(spec, entry)
    fits = [c.config for c in rank_configs(spec, catalogue) if c.exact]
    use = _use_configs(fits, spec, ckpt.path, given, decided)
    if not cand.exact:
        return [_arch_finding(spec, entry, comp, cand.mismatches, use)]
    rows = spec.text_embed_rows
    if rows != text_num_embeds + 1:
        return [_vocab_finding(ckpt, entry, rows, text_num_embeds, vocab, catalogue)]
    from f5lab.errors import F5LabError
    from f5lab.compat.remap import plan_remap

    try:
        plan = plan_remap(ckpt, entry, vocab_from=vocab, catalogue=catalogue)
    except F5LabError as exc:
        return [Finding("incomplete", "error", "the state dict does not match its own architecture",
                        str(exc).split(": ", 2)[-1], "cannot be fixed by remapping: find the complete file",
                        config=entry.name, remappable=False)]
    n = len(state.tensors)
    if comp.f5tts_loads:
        return [Finding("loads", "info", f"loads strictly under {entry.name}",
                        f"all {n} keys and shapes match; f5-tts's own loader accepts the file as stored",
                        "none needed" + (f" (give f5-tts this vocab: vocab_file={str(vocab)!r})" if given else ""),
                        config=entry.name)]
    return [Finding("needs_remap", "warning", f"the weights fit {entry.name} but f5-tts's loader refuses the file "
                    "as stored", f"{comp.f5tts_reason}; after the plan ({'; '.join(plan.changes)}) all {n} keys match",
                    remap_command(ckpt, entry.name, catalogue=catalogue, vocab=given) + " (or load it with "
                    "f5lab.load_model)",
                    config=entry.name, remappable=True)]


def _use_configs(fits: list[str], spec: ArchSpec, checkpoint: Any = None, vocab: str | None = None,
                 decided: str | None = None) -> str:
    if decided in fits and len(fits) > 1:
        return f"use config {decided} (the config of the base it descends from: f5lab lineage)"
    if not fits and checkpoint is not None:
        return write_config_fix(checkpoint, vocab=vocab)
    if not fits:
        return ("no installed config builds it: write a config with this arch block: "
                + ", ".join(f"{k}: {v}" for k, v in spec.arch_block().items()))
    if len(fits) == 1:
        return f"use config {fits[0]}"
    return (f"use config {fits[0]} (or {' or '.join(fits[1:])}: shapes cannot tell them apart, "
            "decide with f5lab lineage against the base, or f5lab probe)")


def _arch_finding(spec: ArchSpec, entry: ConfigEntry, comp: Comparison, mismatches: list[dict[str, Any]],
                  use: str) -> Finding:
    evidence = []
    if comp.missing or comp.unexpected:
        evidence.append(_missing_unexpected(comp.missing, comp.unexpected))
    for m in comp.mismatched:
        if m["key"] == INPUT_PROJ:
            cfg_text = m["config"][1] - 2 * spec.mel_dim
            evidence.append(f"input_embed.proj takes {proj_arithmetic(m['checkpoint'][1], spec.text_dim)}; "
                            f"{entry.name} builds {proj_arithmetic(m['config'][1], cfg_text)}")
        elif m["key"] == TEXT_EMBED:
            evidence.append(f"text_embed {m['checkpoint']} vs {m['config']}")
    evidence.append("; ".join(f"{m['fact']} {m['checkpoint']} vs {m['config']}" for m in mismatches))
    if mismatches[0]["fact"] == "backbone":
        return Finding("backbone_mismatch", "error",
                       f"the checkpoint is {spec.backbone}, the config {entry.name} builds {entry.backbone}",
                       "; ".join(evidence),
                       f"{use}. Cannot be fixed by remapping: a {spec.backbone}'s weights are other layers, "
                       f"not a {entry.backbone}'s under other names", config=entry.name, remappable=False)
    return Finding("arch_mismatch", "error",
                   f"the checkpoint's {spec.backbone} has another size than {entry.name} builds",
                   "; ".join(evidence),
                   f"{use}. Cannot be fixed by remapping: weights of another size need retraining",
                   config=entry.name, remappable=False)


def _vocab_finding(ckpt: Checkpoint, entry: ConfigEntry, rows: int, text_num_embeds: int,
                   vocab: str | None, catalogue: Mapping[str, ConfigEntry] | None = None) -> Finding:
    from f5lab import commandlines

    from f5lab.files.vocab import vocab_beside

    evidence = (f"the text embedding has {rows} rows = {rows - 1} tokens + 1 filler; "
                f"{vocab or 'the default vocab.txt'} has {text_num_embeds} lines -> {text_num_embeds + 1} rows")
    move = ("to move its rows onto another vocabulary by token, remap with --vocab-from (the trained vocab.txt) "
            "and --vocab-to (the new one)")
    found = vocab_beside(ckpt.path, rows)
    if found is not None:
        config = None if entry.source == "shipped" else entry.name
        command = commandlines.diagnose(ckpt.path, config=config, configs=catalogue_name(catalogue), vocab=found)
        move = f"`{command}` ({found.name} beside the checkpoint has {rows - 1} lines); " + move
    if vocab is not None:
        return Finding("wrong_vocab", "error", f"wrong vocab file: {vocab} is not the one the checkpoint was "
                       "trained with", evidence,
                       f"pass the {rows - 1}-line vocab.txt it was trained with; {move}", config=entry.name,
                       remappable=True)
    return Finding("extended_vocab", "error", f"an extended vocabulary ({rows - 1} tokens; f5-tts's default has "
                   f"{DEFAULT_VOCAB_LINES}): a language fine-tune", evidence,
                   f"pass the fine-tune's {rows - 1}-line vocab.txt (--vocab; f5-tts: vocab_file=); rows must be "
                   f"mapped by token, not index; {move}", config=entry.name, remappable=True)


def lineage_config(lineage: Any) -> str | None:
    """The config a lineage verdict implies (None without one)."""
    return getattr(lineage, "config", None) if lineage is not None else None


def ambiguity_findings(spec: ArchSpec, catalogue: Mapping[str, ConfigEntry], lineage: Any = None) -> list[Finding]:
    """Shapes that fit several configs: a warning, unless lineage says which base the file descends
    from (an info finding with its evidence); lineage without a verdict joins the warning's evidence."""
    from f5lab.model.arch import differences

    fits = [c.config for c in rank_configs(spec, catalogue) if c.exact]
    if len(fits) < 2:
        return []
    diff = differences(fits, catalogue)
    text = "; ".join(f"{f} ({' vs '.join(f'{c}={v}' for c, v in vals.items())})" for f, vals in diff.items())
    decided = lineage_config(lineage)
    if decided in fits:
        apart = f"the two nearest bases sit {lineage.apart:.2g} apart" if lineage.apart is not None else ""
        return [Finding("lineage", "info", f"shapes fit {' and '.join(fits)}; lineage decides {decided}",
                        "; ".join(filter(None, [lineage.text, apart, f"the configs differ only in {text}"])),
                        f"use config {decided}", config=decided)]
    evidence = (f"they differ only in {text or 'nothing'}, which own no weights; a v0 (F5TTS_Base) fine-tune "
                f"under F5TTS_v1_Base (f5-tts's API default) loads without error and speaks gibberish ({V0_V1_SOURCES})")
    if lineage is not None:
        evidence += f"; lineage: {lineage.text}"
    return [Finding("ambiguous_config", "warning", f"shapes fit {' and '.join(fits)} equally", evidence,
                    "name the config from the checkpoint's provenance (community language fine-tunes are v0: "
                    "F5TTS_Base), decide by lineage (f5lab lineage --base the base it was fine-tuned from) or "
                    "with the behavioural probe (f5lab probe)")]


# -- explain a captured error text -----------------------------------------------------------------------
_MARKERS = re.compile(r"(Missing key\(?s?\)?(?: in state_dict)?:?|Unexpected key\(?s?\)?(?: in state_dict)?:?|"
                      r"size mismatch)", re.I)
# Linear in the text, whatever it holds (a long dot-less token after "Missing key(s)" made the old
# patterns quadratic: 200 KB took 262 s): keys start only at a word's start and nothing backtracks
# (possessive quantifiers), and the words between a key and its shapes are bounded.
_SIZE = re.compile(r"size mismatch(?: for)?\s++([\w.]++):?[^\[]{0,400}+\[([\d,\s]++)\][^\[]{0,400}+\[([\d,\s]++)\]",
                   re.I)
_KEY = re.compile(r"(?<![\w.*])[A-Za-z_]\w*+(?:\.(?:\w++|\*))++")


@dataclass
class ParsedError:
    missing: list[str]
    unexpected: list[str]
    sizes: dict[str, tuple[list[int], list[int]]]  # key -> (checkpoint shape, model shape)
    key_error: str | None


def parse_load_error(text: str) -> ParsedError:
    """The keys and shapes in a ``load_state_dict`` error (torch's wording, or a paraphrase)."""
    missing: list[str] = []
    unexpected: list[str] = []
    marks = list(_MARKERS.finditer(text))
    for i, m in enumerate(marks):
        section = text[m.end(): marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        word = m.group(1).lower()
        if word.startswith("missing"):
            missing += _keys_in(section)
        elif word.startswith("unexpected"):
            unexpected += _keys_in(section)
    sizes = {k: (dims_a, dims_b) for k, a, b in _SIZE.findall(text)
             if (dims_a := _dims(a)) is not None and (dims_b := _dims(b)) is not None}
    ke = re.search(r"KeyError:?\s*['\"]?(\w+)['\"]?", text)
    return ParsedError(missing, unexpected, sizes, ke.group(1) if ke else None)


def _dims(text: str) -> list[int] | None:
    """'1024, 712' -> [1024, 712]; None for a run of digits no tensor has (int() refuses > 4300)."""
    parts = [x for x in re.split(r"[\s,]+", text) if x]
    return [int(x) for x in parts] if all(len(x) <= 19 for x in parts) else None


def _keys_in(section: str) -> list[str]:
    quoted = re.findall(r"\"([^\"]+)\"|'([^']+)'", section)
    keys = [a or b for a, b in quoted] if quoted else _KEY.findall(section)
    return [k for k in keys if "." in k]


def _backbone_of(keys: list[str]) -> str | None:
    if any("audio_embed" in k or "ff_c" in k for k in keys):
        return "MMDiT"
    if any(".transformer_blocks." in f".{k}" or k.startswith("transformer_blocks") for k in keys):
        return "DiT"
    if any(".layers." in f".{k}" for k in keys):
        return "UNetT"
    return None


def _depth_of(keys: list[str]) -> int | None:
    idx = {int(m.group(1)) for k in keys if (m := re.search(r"(?:transformer_blocks|layers)\.(\d+)\.", k))}
    return max(idx) + 1 if idx else None


MAX_ERROR_TEXT = 2 * 2**20  # a load_state_dict error listing every key of a 5 GB trainer file is ~200 KB


def read_error_text(path: str | os.PathLike) -> str:
    """The text of a captured load error, refused in one line when it cannot be one: a missing
    file, a directory, an empty file, or binary data (NUL bytes or not UTF-8), which used to
    read as "nothing recognised" and so as the verdict "loads"."""
    from pathlib import Path

    from f5lab.errors import ConfigError

    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p}: is a directory; --error-file takes the text file of the error")
    if not p.is_file():
        raise ConfigError(f"{p}: error file not found")
    size = p.stat().st_size
    if size > MAX_ERROR_TEXT:
        raise ConfigError(f"{p}: {size} bytes is not the text of a load error (at most {MAX_ERROR_TEXT})")
    raw = p.read_bytes()
    if not raw.strip():
        raise ConfigError(f"{p}: error file is empty; save the whole message of the failed load_state_dict in it")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: binary data, not the text of an error (not UTF-8 at byte {exc.start})") from None
    if "\x00" in text:
        raise ConfigError(f"{p}: binary data (NUL bytes), not the text of an error")
    return text


def explain_load_error(text: str, catalogue: Mapping[str, ConfigEntry] | None = None) -> Diagnosis:
    """Explain a failed ``load_state_dict`` from its text alone (no checkpoint at hand), in time
    linear in the text (at most MAX_ERROR_TEXT characters)."""
    if len(text) > MAX_ERROR_TEXT:
        from f5lab.errors import ConfigError

        raise ConfigError(f"{len(text):,} characters is not the text of a load error (at most {MAX_ERROR_TEXT:,})")
    catalogue = shipped_configs() if catalogue is None else catalogue
    err = parse_load_error(text)
    findings: list[Finding] = []
    if err.key_error:
        findings.append(_key_error_finding(err.key_error))
    wrapper = _wrapper_of(err)
    if wrapper:
        findings.append(Finding("wrapper_prefix", "error", f"the checkpoint's keys carry the '{wrapper}' prefix "
                                f"of {WRAPPER_NAMES.get(wrapper, 'a wrapper')}",
                                f"each of the {len(err.missing)} missing keys is unexpected with '{wrapper}' in front",
                                "remap the checkpoint with f5lab remap (it strips the prefix) or load it with "
                                "f5lab.load_model; run f5lab diagnose on the file itself for the exact command",
                                remappable=True))
    else:
        findings += _shape_findings(err, catalogue)
    if not findings:
        findings.append(Finding("unrecognised", "info", "no missing/unexpected keys, size mismatches or KeyError "
                                "found in the text", f"{len(text)} characters read",
                                "give the whole error message (from 'Error(s) in loading state_dict'), or run "
                                "f5lab diagnose on the checkpoint itself"))
    return Diagnosis(path=None, findings=findings)


def _key_error_finding(key: str) -> Finding:
    if key in (EMA_DICT, RAW_DICT):
        other = RAW_DICT if key == EMA_DICT else EMA_DICT
        return Finding("no_ema" if key == EMA_DICT else "no_raw", "error",
                       f"the .pt file has no '{key}': f5-tts's loader looked it up and failed",
                       f"KeyError '{key}'; files saved without EMA (torch.compile/DDP trainers, bare state dicts) "
                       f"hold only '{other}' or the tensors at top level",
                       "remap the checkpoint with f5lab remap" + (" --raw" if key == EMA_DICT else "")
                       + " (or load it with f5lab.load_model); run f5lab diagnose on the file itself for the exact "
                       "command", remappable=True)
    return Finding("key_error", "error", f"the loader looked up '{key}' and the file has no such entry",
                   f"KeyError '{key}'", "run f5lab diagnose on the checkpoint to see its layout")


def _wrapper_of(err: ParsedError) -> str | None:
    if not err.missing or not err.unexpected:
        return None
    missing = set(err.missing)
    for prefix in ("ema_model.", "module.", "_orig_mod.", "model."):
        stripped = {u[len(prefix):] for u in err.unexpected if u.startswith(prefix)}
        if stripped and len(stripped & missing) >= 0.9 * len(missing):
            return prefix
    return None


def _shape_findings(err: ParsedError, catalogue: Mapping[str, ConfigEntry]) -> list[Finding]:
    ckpt_bb, model_bb = _backbone_of(err.unexpected), _backbone_of(err.missing)
    text = err.sizes.get(TEXT_EMBED)
    proj = err.sizes.get(INPUT_PROJ)
    facts: dict[str, Any] = {"backbone": ckpt_bb, "depth": _depth_of(err.unexpected)}
    evidence = []
    if err.missing or err.unexpected:
        evidence.append(_missing_unexpected(key_groups(err.missing), key_groups(err.unexpected)))
    if text:
        facts["text_dim"], facts["rows"] = text[0][1], text[0][0]
        evidence.append(f"text_embed {text[0]} in the checkpoint, {text[1]} in the model")
    if proj:
        facts["dim"] = proj[0][0]
        td = facts.get("text_dim")
        evidence.append(f"input_embed.proj takes {proj_arithmetic(proj[0][1], td) if td else proj[0][1]} in the "
                        f"checkpoint; the model builds {proj_arithmetic(proj[1][1], text[1][1]) if text else proj[1][1]}")
    fits = _configs_for(facts, catalogue)
    use = _use_configs(fits, _fake_spec(facts)) if fits else "no installed config matches the checkpoint's shapes"
    if ckpt_bb and model_bb and ckpt_bb != model_bb:
        return [Finding("backbone_mismatch", "error", f"the checkpoint is {ckpt_bb}, the loader built {model_bb}",
                        "; ".join(evidence), f"{use}. Cannot be fixed by remapping: a {ckpt_bb}'s weights are other "
                        f"layers, not a {model_bb}'s under other names", remappable=False)]
    others = {k: v for k, v in err.sizes.items() if k != TEXT_EMBED}
    if text and text[0][0] != text[1][0] and text[0][1] == text[1][1] and not others:
        rows = text[0][0]
        return [Finding("extended_vocab", "error", f"the checkpoint's vocabulary has {rows - 1} tokens, the loader's "
                        f"vocab.txt {text[1][0] - 1}", "; ".join(evidence) + f"; {rows} rows = {rows - 1} tokens + 1 filler",
                        f"pass the {rows - 1}-line vocab.txt the checkpoint was trained with (f5-tts: vocab_file=); "
                        "to move onto another vocabulary, remap with --vocab-from (the trained vocab.txt) and "
                        "--vocab-to (the new one)", remappable=True)]
    if err.sizes or err.missing or err.unexpected:
        return [Finding("arch_mismatch", "error", "the checkpoint's architecture differs from the one the loader "
                        "built", "; ".join(evidence) or "see the size mismatches",
                        f"{use}. Cannot be fixed by remapping: weights of another size need retraining",
                        remappable=False)]
    return []


def _configs_for(facts: dict[str, Any], catalogue: Mapping[str, ConfigEntry]) -> list[str]:
    """Configs consistent with every fact the error text revealed."""
    out = []
    for name, entry in catalogue.items():
        exp = entry.expected()
        if all(facts.get(f) is None or exp[f] == facts[f] for f in ("backbone", "dim", "depth", "text_dim")):
            if facts.get("backbone") or facts.get("dim"):
                out.append(name)
    return out


def _fake_spec(facts: dict[str, Any]) -> ArchSpec:
    return ArchSpec(backbone=facts.get("backbone") or "?", dim=facts.get("dim") or 0, depth=facts.get("depth") or 0,
                    ff_mult=0, text_dim=facts.get("text_dim") or 0, conv_layers=0, mel_dim=N_MELS,
                    text_embed_rows=facts.get("rows") or 0)

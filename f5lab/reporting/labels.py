"""Where each figure of a report comes from: the evidence label beside every number of ``summary.json``.

The notebooks record numbers (``Sidecar.record``) and the answer card's lines; this module gives each
one an ``f5lab.evidence.Evidence`` (measured here / predicted with the model's checked error /
published with its source), by rule, in one place: ``NUMBER_RULES`` for the notebooks' numbers (the
first pattern that matches a key labels it), ``LINE_RULES`` for the answer card's lines that do not
carry their own. A number or a line with a figure that no rule covers stays unlabelled, and
``tests/test_evidence.py`` fails on it: a new figure needs its label before it ships.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Callable, Mapping

from f5lab.evidence import Evidence, measured, predicted, published


def _memory_model() -> Evidence:
    from f5lab.hardware.memory_verdicts import memory_model_evidence

    return memory_model_evidence("cuda")


def _speed_model() -> Evidence:
    from f5lab.hardware.speed import speed_model_evidence

    return speed_model_evidence("cuda")


def _speed_model_cpu() -> Evidence:
    """What 04 rendered: settled before the work by the plan, from the speed model's time on this CPU."""
    from f5lab.hardware.speed import speed_model_evidence

    return speed_model_evidence("cpu")


def _catalogue() -> Evidence:
    return published("f5lab's GPU catalogue: NVIDIA spec sheets and nvidia-smi totals (f5lab/hardware/gpus.py)")


def _builds() -> Evidence:
    return published("PyTorch's published wheels and their arch lists (f5lab/hardware/torch_builds.json), "
                     "checked against torch._C._cuda_getArchFlags() where installed")


def _header() -> Evidence:
    return measured("read from the checkpoint file here (its header and tensors; no model run)")


def _loading() -> Evidence:
    return measured("loading the checkpoint into f5-tts's classes and comparing its tensors here (CPU)")


def _computed() -> Evidence:
    return measured("computed here from the renderings, the probe's losses or the text (f5-tts's own code, "
                    "this machine's CPU unless --device says otherwise)")


def _measured_call() -> Evidence:
    return measured("one real CFM.sample call on this machine: 03_memory's measured call (its length, NFE, "
                    "attention and device are in its verdict)")


def _call_settings() -> Evidence:
    return measured("the run settings given (--nfe, --dtype, --batch) and the lengths of the call: the "
                    "reference clip as f5-tts clips it, the text's longest chunk by f5-tts's duration rule")


def _estimate_of_measured_call() -> Evidence:
    return predicted("f5lab's memory estimate, for 03_memory's measured call",
                     "the measurement beside it (measured.activation_rel_error)")


NUMBER_RULES: tuple[tuple[str, str, Callable[[], Evidence]], ...] = (
    ("01_inspect", "*", _header),
    ("02_compatibility", "*", _loading),
    ("03_memory", "torch.*", _builds),
    ("03_memory", "gpus.*.memory_bytes", _catalogue),
    ("03_memory", "gpus.*.kernels", _builds),
    ("03_memory", "gpus.*.seconds_per_call", _speed_model),
    ("03_memory", "gpus.*.rtf", _speed_model),
    ("03_memory", "gpus.*", _memory_model),
    ("03_memory", "focus.*", _memory_model),
    ("03_memory", "curve.*", _memory_model),
    ("03_memory", "knobs.*.time", _speed_model),
    ("03_memory", "knobs.*", _memory_model),
    ("03_memory", "call.seconds_per_call", _speed_model),
    ("03_memory", "call.rtf", _speed_model),
    ("03_memory", "call.*", _call_settings),
    ("03_memory", "estimate.*", _estimate_of_measured_call),
    ("03_memory", "measured.estimated_*", _estimate_of_measured_call),
    ("03_memory", "measured.*", _measured_call),
    ("04_synthesis", "*", _computed),
)

# the answer card's lines, by label, when the notebook did not give the line its own evidence
LINE_RULES: dict[str, Callable[[], Evidence]] = {
    "what it is": _header,
    "config used": _header,
    "loads?": _loading,
    "remapped file": lambda: measured("remapped and verified here: the same tensors, the same outputs (CPU)"),
    "which config (lineage)": lambda: measured("the checkpoint's tensors compared here with the base checkpoints "
                                                "at hand (with none at hand, nothing was compared)"),
    "which config (probe)": lambda: measured("the behavioural probe's flow-matching losses, run here (CPU)"),
    "still undecided": lambda: measured("what the checkpoint's shapes, read here, cannot tell"),
    "can it speak?": lambda: measured("the checkpoint's tensors read here (output projection, adaLN, "
                                      "non-finite values, initialisation statistics), before any synthesis"),
    "synthesis": lambda: _speed_model_cpu(),
}


def number_evidence(notebook: str, key: str) -> Evidence | None:
    """The label of one number a notebook recorded, or None when no rule covers it."""
    for nb, pattern, make in NUMBER_RULES:
        if nb == notebook and fnmatch.fnmatchcase(key, pattern):
            return make()
    return None


def label_numbers(notebook: str, numbers: Mapping[str, Any]) -> dict[str, Any]:
    """``numbers`` with ``evidence`` beside each value (left out where no rule covers the key)."""
    out = {}
    for key, entry in numbers.items():
        ev = number_evidence(notebook, key)
        out[key] = {**entry, "evidence": ev.to_dict()} if ev is not None else dict(entry)
    return out


HAS_FIGURE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?!\w)")  # a number, not a digit inside a name (F5TTS_v1_Base)


def label_lines(lines: list[dict[str, Any]]) -> None:
    """Give each answer line without evidence the one its label's rule says, in place; a line whose
    text holds a figure and that no rule covers stays unlabelled (the tests fail on it)."""
    for line in lines:
        if line.get("evidence") or line.get("code"):
            continue
        make = LINE_RULES.get(line["label"])
        if make is not None:
            line["evidence"] = make().to_dict()


def unlabelled(summary: Mapping[str, Any]) -> list[str]:
    """Every figure of a summary without a valid label: answer lines holding a digit (code excepted) and
    notebook numbers; empty when everything says where it comes from."""
    from f5lab.evidence import is_labelled

    out = [f"answer line {line['label']!r}" for line in summary.get("answer", {}).get("lines", [])
           if not line.get("code") and HAS_FIGURE.search(str(line.get("text", ""))) and not is_labelled(line)]
    for name, nb in (summary.get("notebooks") or {}).items():
        out += [f"{name}: {key}" for key, entry in (nb.get("numbers") or {}).items() if not is_labelled(entry)]
    return out

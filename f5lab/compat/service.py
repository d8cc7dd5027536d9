"""The code a service needs: load a checkpoint and synthesise with f5-tts alone, offline, as printed.

For every config a checkpoint loads under, diagnose, ``matrix --json``, the report's card and
MODEL_CARD.md give the exact Python, and it runs as printed in the venv the README builds, with the
hub unreachable and no FFmpeg:

* the model through f5-tts's ``load_model(Backbone, arch, ckpt_path, ...)`` with the arch written
  out (a shipped config, a YAML of one's own, a config recorded by remap), which loads strictly
  (``load_state_dict`` with ``strict=True``): code that runs is code that loaded every weight; when
  f5-tts's loader refuses the file as stored, the ``f5lab remap`` command to run once first;
* the vocoder from a local folder (``load_vocoder(is_local=True, local_path=...)``): f5-tts's API
  otherwise downloads charactr/vocos-mel-24khz from the hub; one comment says what the folder holds
  and how to get it once on a connected machine;
* the reference clip read with soundfile and handed to ``infer_batch_process`` as an ``(audio, sr)``
  tensor: ``infer_process`` and ``F5TTS.infer`` read it with ``torchaudio.load``, which since
  torchaudio 2.9 needs torchcodec and FFmpeg's shared libraries (``f5lab doctor`` checks them);
* ``pick_device``: CUDA only where the torch build has kernels for the card (the SASS / PTX rule of
  ``f5lab.hardware.stack``) and the call fits, else the CPU with one warning line (the rule of
  ``f5lab.load_model(device="auto")``), instead of "no kernel image is available" on a GTX 1050 Ti.

With ``fallback`` (the base model the user has at hand) the snippet tries the candidates in order
and serves the first that loads, with one warning line per candidate refused: the ladder of
``f5lab.load_model([fine_tune, base])``, in f5-tts alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from f5lab import escaping
from f5lab.model.configs import ConfigEntry

VOCOS_REPO = "charactr/vocos-mel-24khz"  # what f5-tts downloads without a local vocoder folder
BIGVGAN_REPO = "nvidia/bigvgan_v2_24khz_100band_256x"
# f5-tts's own example clip (infer/examples/basic/basic.toml): in every f5-tts install, offline
EXAMPLE_REF = "infer/examples/basic/basic_ref_en.wav"
EXAMPLE_REF_TEXT = "Some call me nature, others call me mother nature."
DEFAULT_GEN_TEXT = "Hello. This is a short test of the service."


@dataclass
class ServiceCode:
    """How a service loads ``checkpoint`` under ``config`` and synthesises with f5-tts alone."""

    config: str
    needs_remap: bool
    remap_command: str | None  # run once first when needs_remap
    code: str  # Python; loads the remapped file when needs_remap

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        first = f"# once, first (f5-tts's loader refuses the file as stored):\n#   {self.remap_command}\n" \
            if self.needs_remap else ""
        return first + self.code


@dataclass(frozen=True)
class ServiceCandidate:
    """One rung of the snippet's ladder: a checkpoint (as f5-tts will load it), its config and vocab."""

    checkpoint: str | Path
    entry: ConfigEntry
    vocab: str | None = None


def remapped_path(checkpoint: str | Path, config: str) -> Path:
    """Where the suggested remap writes: beside the checkpoint, ``<stem>.<config>.safetensors``
    (one file per config, so the alternatives printed for configs the shapes cannot separate
    do not overwrite each other)."""
    from f5lab.model.configs import remapped_name

    return remapped_name(checkpoint, config)


def remap_command(checkpoint: str | Path, config: str, vocab_from: str | Path | None = None,
                  configs: str | None = None) -> str:
    """``f5lab remap SRC DST --config C``, runnable as printed, into ``remapped_path``; ``configs``:
    the catalogue's name when not the shipped one (f5lab.commandlines spells it)."""
    from f5lab import commandlines

    return commandlines.remap(checkpoint, remapped_path(checkpoint, config), config, configs=configs,
                              vocab_from=vocab_from)


def service_code(checkpoint: str | Path, entry: ConfigEntry, *, needs_remap: bool, vocab: str | None = None,
                 vocoder_dir: str | None = None, configs: str | None = None, needs_bytes: int | None = None,
                 fallback: ServiceCandidate | Sequence[ServiceCandidate] = (), ref_audio: str | None = None,
                 ref_text: str | None = None, gen_text: str | None = None, nfe: int = 32,
                 out_wav: str = "f5tts_service.wav") -> ServiceCode:
    """The snippet for one config. ``vocab``: the checkpoint's vocab.txt (default: the config's
    tokenizer_path, else f5-tts's own); ``vocoder_dir``: the local vocoder folder (default: a
    ``vocos-mel-24khz`` folder beside the checkpoint); ``needs_bytes``: the GPU memory one call needs
    (f5lab's estimate), checked by ``pick_device``; ``fallback``: candidates tried after this one
    (the base model at hand); ``ref_audio``/``ref_text``: the reference clip (default: f5-tts's
    example clip); ``gen_text``, ``nfe``, ``out_wav``: the call the snippet makes at its end."""
    vocab = vocab if vocab is not None else entry.tokenizer_path
    target = remapped_path(checkpoint, entry.name) if needs_remap else Path(checkpoint)
    ladder = [ServiceCandidate(target, entry, vocab)]
    ladder += [fallback] if isinstance(fallback, ServiceCandidate) else list(fallback)
    if vocoder_dir is None:
        vocoder_dir = str(Path(checkpoint).resolve().parent / VOCOS_REPO.split("/")[1])
    code = (_imports(ladder) + _settings(entry, vocoder_dir, ref_audio, ref_text, gen_text, nfe, out_wav)
            + pick_device_code(needs_bytes, imports=False) + _loading(ladder) + _synthesis())
    # the remap reads the config's tokenizer_path itself; another vocab must be named
    vocab_from = vocab if vocab and vocab != entry.tokenizer_path else None
    return ServiceCode(config=entry.name, needs_remap=needs_remap,
                       remap_command=remap_command(checkpoint, entry.name, vocab_from, configs=configs)
                       if needs_remap else None, code=code)


def _path(p: str | Path) -> str:
    return repr(str(Path(p).resolve()))


def _imports(ladder: list[ServiceCandidate]) -> str:
    backbones = sorted({c.entry.backbone for c in ladder})
    return ("import sys\n"
            "from importlib.resources import files\n\n"
            "import soundfile as sf\n"
            "import torch\n"
            "from f5_tts.infer.utils_infer import chunk_text, infer_batch_process, load_model, load_vocoder\n"
            f"from f5_tts.model import {', '.join(backbones)}\n\n")


def _settings(entry: ConfigEntry, vocoder_dir: str, ref_audio: str | None, ref_text: str | None,
              gen_text: str | None, nfe: int, out_wav: str) -> str:
    mel = entry.mel_spec_type
    if mel == "bigvgan":
        folder = (f"# VOCODER_DIR: a local copy of {BIGVGAN_REPO} (its config.json and bigvgan_generator.pt); get it\n"
                  "# once on a connected machine, in Python:\n"
                  f"#   from huggingface_hub import snapshot_download; snapshot_download({BIGVGAN_REPO!r}, "
                  "local_dir=VOCODER_DIR)\n")
    else:
        folder = (f"# VOCODER_DIR: a local copy of {VOCOS_REPO}, f5-tts's vocoder: the folder with its config.yaml\n"
                  "# and pytorch_model.bin; get it once on a connected machine, in Python:\n"
                  f"#   from huggingface_hub import snapshot_download; snapshot_download({VOCOS_REPO!r}, "
                  "local_dir=VOCODER_DIR)\n")
    ref = (f"REF_AUDIO = {_path(ref_audio)}\n" if ref_audio else
           f"REF_AUDIO = str(files(\"f5_tts\").joinpath({EXAMPLE_REF!r}))  # f5-tts's example clip: use your own\n")
    return (folder + f"VOCODER_DIR = {_path(vocoder_dir)}\n"
            f"MEL_SPEC_TYPE = {mel!r}\n"
            "# the reference clip and its transcript; soundfile reads wav/flac/ogg/mp3 without FFmpeg\n"
            + ref
            + f"REF_TEXT = {(ref_text if ref_text is not None else EXAMPLE_REF_TEXT)!r}\n"
            f"GEN_TEXT = {(gen_text if gen_text is not None else DEFAULT_GEN_TEXT)!r}\n"
            f"NFE_STEPS = {int(nfe)}  # f5-tts's default 32; fewer is faster and rougher\n"
            f"OUT_WAV = {out_wav!r}\n\n\n")


def _candidate_args(c: ServiceCandidate) -> str:
    e = c.entry
    arch = ", ".join(f"{k}={v!r}" for k, v in e.arch.items())
    vocab = _path(c.vocab) if c.vocab else "''"  # '': f5-tts's own vocab.txt
    return f"{e.backbone}, dict({arch}), {_path(c.checkpoint)}, {vocab}"


def _loading(ladder: list[ServiceCandidate]) -> str:
    vocoder = 'vocoder = load_vocoder(MEL_SPEC_TYPE, is_local=True, local_path=VOCODER_DIR, device=device)\n'
    if len(ladder) == 1:
        c = ladder[0]
        e = c.entry
        arch = ", ".join(f"{k}={v!r}" for k, v in e.arch.items())
        vocab = f", vocab_file={_path(c.vocab)}" if c.vocab else ""
        return ("device = pick_device()\n" + vocoder
                + f"# config: {escaping.yaml_comment(e.describe())}\n"
                f"model = load_model({e.backbone}, dict({arch}), {_path(c.checkpoint)}, mel_spec_type=MEL_SPEC_TYPE"
                f"{vocab}, device=device)  # strict load_state_dict\n\n\n")
    rows = "".join(f"    ({_candidate_args(c)}),  # config {escaping.yaml_comment(c.entry.name)}\n" for c in ladder)
    return ("# tried in order (backbone, arch, checkpoint, vocab.txt): the first that f5-tts loads strictly serves\n"
            "CANDIDATES = [\n" + rows + "]\n\n\n"
            "def load_first(candidates):\n"
            "    \"\"\"The first candidate f5-tts loads (strict load_state_dict); one warning line per refusal.\"\"\"\n"
            "    refused = []\n"
            "    for backbone, arch, ckpt, vocab in candidates:\n"
            "        try:\n"
            "            return ckpt, load_model(backbone, arch, ckpt, mel_spec_type=MEL_SPEC_TYPE, vocab_file=vocab,\n"
            "                                    device=device)\n"
            "        except Exception as exc:  # refused (wrong architecture, missing keys, no file): try the next\n"
            "            why = \" \".join(str(exc).split())[:300]\n"
            "            print(f\"warning: {ckpt} refused ({type(exc).__name__}: {why}); trying the next candidate\",\n"
            "                  file=sys.stderr)\n"
            "            refused.append(f\"{ckpt}: {type(exc).__name__}: {why}\")\n"
            "    sys.exit(\"no candidate loads: \" + \"; \".join(refused))\n\n\n"
            "device = pick_device()\n" + vocoder
            + "served, model = load_first(CANDIDATES)\n"
            "print(f\"serving {served}\", file=sys.stderr)\n\n\n")


def _synthesis() -> str:
    return ('def synthesize(gen_text, ref_audio=REF_AUDIO, ref_text=REF_TEXT, nfe_step=NFE_STEPS):\n'
            '    """One call as f5-tts\'s infer_process makes it, the reference read by soundfile (no FFmpeg)."""\n'
            '    data, sr = sf.read(ref_audio, dtype="float32", always_2d=True)\n'
            '    audio = torch.from_numpy(data.T.copy())  # (channels, samples); f5-tts mixes to mono, resamples\n'
            '    seconds = audio.shape[-1] / sr\n'
            '    max_chars = int(len(ref_text.encode("utf-8")) / seconds * (22 - seconds))  # as infer_process\n'
            '    wave, rate, _ = next(infer_batch_process((audio, sr), ref_text, chunk_text(gen_text, max_chars=max_chars),\n'
            '                                             model, vocoder, mel_spec_type=MEL_SPEC_TYPE, nfe_step=nfe_step,\n'
            '                                             device=device, progress=None))\n'
            '    return wave, rate\n\n\n'
            'if __name__ == "__main__":  # run as a script: one call, written to OUT_WAV (a service imports synthesize)\n'
            '    wave, rate = synthesize(GEN_TEXT)\n'
            '    sf.write(OUT_WAV, wave, rate)\n'
            '    print(f"wrote {OUT_WAV}: {len(wave) / rate:.2f} s at {rate} Hz")\n')


def pick_device_code(needs_bytes: int | None, imports: bool = True) -> str:
    """The snippet's ``pick_device()``: CUDA where this torch has kernels for GPU 0 (SASS of the same
    major and a minor <= the card's, or PTX <= the card's compute capability) and the call fits."""
    fits = (f"    fits = torch.cuda.get_device_properties(0).total_memory * 0.95 >= {needs_bytes}  "
            "# f5lab's estimate of a 10 s call\n" if needs_bytes else "    fits = True\n")
    return (("import sys\n\nimport torch\n\n\n" if imports else "")
            + "def pick_device():\n"
            "    \"\"\"CUDA only where this torch has kernels for the GPU and the model fits; else the CPU.\"\"\"\n"
            "    if not torch.cuda.is_available():\n"
            "        return \"cpu\"\n"
            "    major, minor = torch.cuda.get_device_capability(0)\n"
            "    codes = [(a.split(\"_\")[0], int(a.split(\"_\")[1].rstrip(\"af\"))) for a in torch.cuda.get_arch_list()]\n"
            "    kernels = any((kind == \"sm\" and c // 10 == major and c % 10 <= minor)\n"
            "                  or (kind == \"compute\" and c <= 10 * major + minor) for kind, c in codes)\n"
            + fits +
            "    if kernels and fits:\n"
            "        return \"cuda\"\n"
            "    why = \"no kernels for this GPU in this torch\" if not kernels else \"the model does not fit in its memory\"\n"
            "    print(f\"warning: running on the CPU: {torch.cuda.get_device_name(0)}: {why}\", file=sys.stderr)\n"
            "    return \"cpu\"\n\n\n")


def call_bytes(spec: Any) -> int:
    """GPU memory of one 10 s call in fp32 with the efficient attention kernel (f5lab's estimate):
    what ``pick_device`` checks; fp32 is the larger of the dtypes f5-tts picks."""
    from f5lab.hardware.memory import estimate

    return estimate(spec, 10.0, dtype="fp32", attn="efficient", device="cuda").total_bytes

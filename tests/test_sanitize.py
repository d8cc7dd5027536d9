"""notebooks/sanitize.cfg: rules that cannot eat into each other, applied exactly as nbval does.

The failure this guards against: `[seconds]` once ran before `[audio_players]`, matched "+9s/"
inside an embedded wav, and the audio rule then stopped at the inserted "<TIME>", so the rest
of the base64 (whose bytes differ on another CPU) was compared.
"""

from __future__ import annotations

import base64
import random
import re
from pathlib import Path

from nbval.plugin import get_sanitize_patterns

CFG = Path(__file__).resolve().parents[1] / "notebooks" / "sanitize.cfg"
PATTERNS = get_sanitize_patterns(CFG.read_text())

# substrings that token rules would match if they ran inside a blob
ADVERSARIAL = ["+9s/", "12ms", "12+ms", "/tmp/", "/root/", "0xdeadbeef", "RTF0", "7s=", "3sec", "a" * 64]


def clean(text: str) -> str:
    """nbval's own application order: the file's sections, top to bottom, each a re.sub."""
    for regex, replace in PATTERNS:
        text = re.sub(regex, replace, text)
    return text


def audio_html(payload: bytes, kind: str = "audio/wav") -> str:
    b64 = base64.b64encode(payload).decode()
    return f'<audio controls="controls" >\n<source src="data:{kind};base64,{b64}" type="{kind}" />\n</audio>'


def blob_with(token: str, rng: random.Random) -> bytes:
    """Random bytes whose base64 contains `token` (a base64-alphabet string) at a random place."""
    head = base64.b64encode(rng.randbytes(3 * rng.randint(1, 400))).decode()
    tail = base64.b64encode(rng.randbytes(3 * rng.randint(1, 400))).decode()
    pad = "A" * (-len(token) % 4)
    return base64.b64decode(head + token + pad + tail)


def test_whole_blob_rules_come_first():
    names = re.findall(r"^\[(\w+)\]", CFG.read_text(), flags=re.MULTILINE)
    assert names[0] == "embedded_media"
    assert len(PATTERNS) == len(names)


def test_embedded_audio_is_replaced_whole_whatever_its_base64_spells():
    rng = random.Random(0)
    tokens = [t for t in ADVERSARIAL if re.fullmatch(r"[A-Za-z0-9+/=]+", t.rstrip("="))]
    for i in range(600):
        token = tokens[i % len(tokens)].rstrip("=")
        a, b = audio_html(blob_with(token, rng)), audio_html(blob_with(token, rng))
        assert token in a
        ca, cb = clean(a), clean(b)
        assert ca == cb == '<audio controls="controls" >\n<source src="data:<MEDIA>" type="audio/wav" />\n</audio>'


def test_images_and_multiline_base64_are_blobs_too():
    rng = random.Random(1)
    png = base64.encodebytes(rng.randbytes(3000)).decode()  # wrapped every 76 chars, as some writers do
    assert "\n" in png
    html = f'<img src="data:image/png;base64,{png}"/> took 12 ms'
    assert clean(html) == '<img src="data:<MEDIA>"/> took <TIME>'


def test_token_rules_are_anchored_outside_words_and_numbers():
    assert clean("took 1.23 s, then 12 ms") == "took <TIME>, then <TIME>"
    assert clean("took 1.23 s") == clean("took 9 s")
    assert clean("RTF 0.42; RTF=3.1") == "RTF <RTF>; RTF <RTF>"
    # inside words, paths and identifiers nothing is touched
    for untouched in ["x9s/y", "abc12ms", "v1.5s2", "foo/tmp/bar", "id_0xdeadbeef", "layer12s",
                      "84 tensors, 1,130,928 bytes; dim 64 depth 2", "loss mean 6.9880", "heads 16"]:
        assert clean(untouched) == untouched, untouched


def test_paths_addresses_and_hashes_vary_and_are_normalised():
    assert clean("wrote /tmp/f5lab-nb-abc123/tiny.safetensors") == clean("wrote /tmp/f5lab-nb-zz9/tiny.safetensors")
    assert clean("cache /root/.cache/f5lab/x") == clean("cache /home/ci/.cache/f5lab/y") == "cache <PATH>"
    assert clean("<Styler at 0x7f32ee41d790>") == clean("<Styler at 0x7f0000000abc>") == "<Styler at 0xADDRESS>"
    h1, h2 = "ab" * 32, "cd" * 32
    assert clean(f"sha256 {h1}") == clean(f"sha256 {h2}") == "sha256 <SHA256>"


def test_sanitising_is_idempotent_and_placeholders_are_inert():
    rng = random.Random(2)
    samples = [audio_html(rng.randbytes(999)) + " took 3 s in /tmp/x at 0x7f32ee41d790 RTF 0.5",
               "sha256 " + "e" * 64 + " (12.5 ms)"]
    for text in samples:
        once = clean(text)
        assert clean(once) == once
        assert "base64" not in once

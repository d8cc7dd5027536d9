"""The GPU software stack: which torch build is installed (or named), which GPUs and drivers are
present, and whether a build carries kernels a card can run.

A GTX 1050 Ti (compute capability 6.1) under PyPI's ``torch==2.11.0`` (a CUDA 13.0 build with
``sm_75 ... sm_120`` only) fails every CUDA kernel with "no kernel image is available": memory was
never the question. Three rules decide it, all from NVIDIA's CUDA documentation:

* a SASS binary ``sm_X.y`` runs on a card of compute capability X.z with z >= y (same major);
* a PTX ``compute_X.y`` is JIT-compiled by the driver for any card of compute capability >= X.y;
* the driver must be at least the minimum of the CUDA major the build was made with (CUDA
  toolkit release notes, minor-version compatibility: 11.x 450.80.02, 12.x 525.60.13, 13.x
  580.65.06 on Linux); R580 is also the last driver branch for Maxwell, Pascal and Volta.

The arch list of a build comes from ``torch_builds.json`` (PyPI and download.pytorch.org builds,
2.4 to 2.15, each row with its source), so the installed stack is read without importing torch:
``torch/version.py`` is parsed where ``importlib.util.find_spec`` finds it. ``f5lab doctor`` may
also ask the imported torch (``measured_archs``) and says when the two disagree. A build the table
does not list is an "unknown build", never a guess: that includes a nightly
(``2.8.0.dev20250601+cu128``), a source build (``2.12.0a0+git1234abc``) and NVIDIA's NGC containers
(``2.6.0a0+ecf3bae40a.nv25.01``), whose arch lists only the torch inside can tell.

torchaudio is versioned with torch up to 2.11 and frozen at 2.11 after it; its build suffix must be
torch's (a +cu130 torchaudio beside a +cu126 torch is the wrong pair): ``torchaudio_pair``.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from f5lab.errors import ConfigError
from f5lab.units import MIB

BUILDS_FILE = Path(__file__).with_name("torch_builds.json")
# CUDA toolkit release notes, "CUDA Toolkit and Minimum Required Driver Version for CUDA Minor
# Version Compatibility" (Linux x86_64): any toolkit of that major runs on at least this driver
DRIVER_MIN = {11: "450.80.02", 12: "525.60.13", 13: "580.65.06"}
TEGRA = {(5, 3), (6, 2), (7, 2), (8, 7)}  # integrated Jetson chips: only their own SASS runs there
# ASCII digits only: a version typed with other scripts' digits is malformed, not a release
_VERSION = re.compile(r"^([0-9]+)\.([0-9]+)\.([0-9]+)(?:\+([A-Za-z0-9_.]+))?$")
# PEP 440 pre-, post- and dev-releases: nightlies, source and NGC builds. Well-formed, never in the table
_PRERELEASE = re.compile(r"^([0-9]+)\.([0-9]+)\.([0-9]+)((?:a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?"
                         r"(?:\+([A-Za-z0-9_.]+))?$")


# -- the table of published builds ------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def builds_table() -> dict[str, Any]:
    """The published-builds table (``torch_builds.json``), parsed once."""
    return json.loads(BUILDS_FILE.read_text(encoding="utf-8"))


def _row(release: str, build: str) -> dict[str, Any] | None:
    return next((r for r in builds_table()["builds"] if r["torch"] == release and r["build"] == build), None)


def index_url(build: str) -> str:
    return builds_table()["index_url"].format(build=build)


def table_span() -> str:
    """``2.4 to 2.15``: the releases the table covers."""
    releases = list(builds_table()["releases"])
    return f"{releases[0]} to {releases[-1]}"


def driver_minimum(cuda_major: int | None) -> str | None:
    """The oldest Linux driver that runs any toolkit of this CUDA major (None: not known)."""
    return DRIVER_MIN.get(cuda_major) if cuda_major is not None else None


def torchaudio_for(version: str) -> str:
    """The torchaudio release that pairs with torch ``version``: the same version up to 2.11, then
    2.11.x (frozen); "" for a release the table does not list."""
    info = builds_table()["releases"].get(".".join(version.split(".")[:2]))
    if info is None:
        return ""
    return version if info.get("torchaudio", "same") == "same" else info["torchaudio"]


def _cuda_key(build: str) -> int:
    return int(build[2:]) if build.startswith("cu") and build[2:].isdigit() else 0


# -- a torch build -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TorchBuild:
    """One torch build: its version, its CUDA (or CPU / ROCm) variant and compiled architectures.

    ``kind``: "cuda", "cpu", "rocm", "none" (torch not installed) or "unknown" (not in the table:
    its kernels cannot be judged). ``known``: the arch list is known (table row or measured)."""

    version: str | None
    local: str | None
    kind: str
    cuda: str | None = None
    sass: tuple[str, ...] = ()
    ptx: tuple[str, ...] = ()
    known: bool = False
    origin: str = "named"  # "installed" or "named" (--torch)
    source: str | None = None  # the table's source key, or "torch._C._cuda_getArchFlags()"
    note: str = ""  # why unknown; or where the table and torch disagree

    @property
    def label(self) -> str:
        if self.version is None:
            return "none"
        return self.version + (f"+{self.local}" if self.local else "")

    @property
    def release(self) -> str | None:
        return ".".join(self.version.split(".")[:2]) if self.version else None

    @property
    def cuda_major(self) -> int | None:
        return int(self.cuda.split(".")[0]) if self.cuda else None

    def describe(self) -> str:
        """One line: ``torch 2.11.0+cu130 (CUDA 13.0; SASS sm_75 ... ; no PTX)``."""
        if self.kind == "none":
            return "torch: not installed"
        if self.kind == "unknown":
            return f"torch {self.label}: unknown build ({self.note})"
        if self.kind == "cpu":
            return f"torch {self.label}: CPU-only build (no CUDA kernels)"
        if self.kind == "rocm":
            return f"torch {self.label}: ROCm build (AMD GPUs; no NVIDIA kernels)"
        ptx = " ".join(self.ptx) or "no PTX"
        return f"torch {self.label}: CUDA {self.cuda}; SASS {' '.join(self.sass)}; {ptx}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(label=self.label, sass=list(self.sass), ptx=list(self.ptx))
        return d


def parse_version(text: str, option: str = "--torch") -> tuple[str, str | None]:
    """``"2.6.0+cu124"`` -> ("2.6.0", "cu124"); a malformed string is a ConfigError naming ``option``
    (a pre-release, nightly or NGC string is well-formed: ``named_build`` judges it an unknown build)."""
    m = _VERSION.match(str(text).strip())
    if not m:
        pre = _PRERELEASE.match(str(text).strip())
        if pre:
            return str(text).strip().split("+")[0], pre[7]
        other = "; its digits must be ASCII 0-9" if any(c.isdigit() and not c.isascii() for c in str(text)) else ""
        raise ConfigError(f"{option} {text!r}: give VERSION+BUILD, e.g. 2.6.0+cu124 or 2.8.0+cu128 "
                          f"(a bare 2.11.0 means the build PyPI ships){other}")
    return f"{m[1]}.{m[2]}.{m[3]}", m[4]


def build_from(version: str, local: str | None, *, origin: str = "named", cuda: str | None = None,
               hip: str | None = None, strict: bool = False) -> TorchBuild:
    """The table's facts for ``version+local``. ``strict`` (a ``--torch`` the user typed): a variant
    the release was never published in is a ConfigError listing the ones that exist."""
    release = ".".join(version.split(".")[:2])
    info = builds_table()["releases"].get(release)
    if local is None and info is not None and not (origin == "installed" and cuda is None):
        local = info["pypi"]  # PyPI's torch==X is this build (its version.py says so)
    base = dict(version=version, local=local, origin=origin)
    if hip or (local or "").startswith("rocm"):
        return TorchBuild(**base, kind="rocm", known=True)
    if local == "cpu" or (origin == "installed" and local is None and cuda is None):
        return TorchBuild(**base, kind="cpu", known=True)
    span = table_span()
    if not _VERSION.match(version):  # a nightly, source or NGC build: its arch list is the vendor's
        vendor = ("an NVIDIA NGC container build; its arch list is in NVIDIA's container release notes"
                  if re.search(r"(^|\.)nv[0-9]", local or "") else
                  "a nightly build" if ".dev" in version else
                  "a source build" if (local or "").startswith("git") else "a pre-release build")
        return TorchBuild(**base, kind="unknown", cuda=cuda,
                          note=f"{version}{'+' + local if local else ''} is {vendor}; f5lab's table lists PyTorch's "
                               f"releases {span} only (run f5lab doctor under that torch to read its arch list)")
    if info is None:
        return TorchBuild(**base, kind="unknown", cuda=cuda,
                          note=f"torch {release} is not in f5lab's table of PyTorch builds ({span})")
    if version not in info["patches"]:
        return TorchBuild(**base, kind="unknown", cuda=cuda,
                          note=f"{version} is not in f5lab's table (published: {', '.join(info['patches'])})")
    row = _row(release, local or "")
    if row is None:
        published = [r["build"] for r in builds_table()["builds"] if r["torch"] == release]
        if strict:
            how = "is planned as" if info.get("status") == "planned" else "was published as"
            raise ConfigError(f"--torch {version}+{local}: no such build: PyTorch {release} {how} "
                              f"{', '.join(published)} (and cpu), not {local}")
        return TorchBuild(**base, kind="unknown", cuda=cuda,
                          note=f"{local} is not a published {release} build ({', '.join(published)})")
    return TorchBuild(**base, kind="cuda", cuda=row["cuda"], sass=tuple(row["sass"]), ptx=tuple(row["ptx"]),
                      known=True, source=row["source"])


def named_build(text: str, option: str = "--torch") -> TorchBuild:
    """The build a user names (``--torch 2.6.0+cu124``): judged from the table only. A variant a
    release was never published in (``2.15.0+cu126``) is refused; a nightly or NGC version string
    is an unknown build."""
    version, local = parse_version(text, option)
    return build_from(version, local, strict=True)


def _module_file(name: str, file: str) -> Path | None:
    """Where ``name``'s ``file`` lies, found without importing ``name``."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / file
    return path if path.is_file() else None


def read_version_file(path: Path) -> dict[str, Any]:
    """The literal assignments of a ``version.py`` (``__version__``, ``cuda``, ``hip``), by ast."""
    out: dict[str, Any] = {}
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return out
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else \
            node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and getattr(node, "value", None) is not None:
            try:
                out[target.id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def installed_build() -> TorchBuild:
    """The torch this interpreter would import, read from ``torch/version.py`` (no import)."""
    path = _module_file("torch", "version.py")
    if path is None:
        return TorchBuild(version=None, local=None, kind="none", origin="installed", note="torch is not installed")
    facts = read_version_file(path)
    text = str(facts.get("__version__", ""))
    m = _VERSION.match(text)
    if not m:
        return TorchBuild(version=text or None, local=None, kind="unknown", cuda=facts.get("cuda"),
                          origin="installed", note=f"a build f5lab's table does not list ({text or 'no version'})")
    return build_from(f"{m[1]}.{m[2]}.{m[3]}", m[4], origin="installed", cuda=facts.get("cuda"), hip=facts.get("hip"))


def measured_archs() -> list[str] | None:
    """The architectures the imported torch was compiled for (``torch._C._cuda_getArchFlags()``;
    needs no GPU); None for a build without CUDA. Imports torch: ``f5lab doctor`` only."""
    import torch

    flags = getattr(torch._C, "_cuda_getArchFlags", lambda: None)()
    return str(flags).split() if flags else None


def with_measured(build: TorchBuild, archs: list[str] | None) -> TorchBuild:
    """``build`` with the arch list torch itself reports: it wins over the table, and a
    disagreement is kept in ``note``; an unknown CUDA build becomes judgeable."""
    if not archs:
        return build
    sass = tuple(a for a in archs if a.startswith("sm_"))
    ptx = tuple(a for a in archs if a.startswith("compute_"))
    if build.kind == "cuda" and (sass, ptx) == (build.sass, build.ptx):
        return build
    note = build.note
    if build.kind == "cuda":
        note = (f"the table lists {' '.join(build.sass + build.ptx)} ({build.source}); this torch reports "
                f"{' '.join(archs)}: using what torch reports")
    elif build.kind == "unknown":
        note = f"{build.note}; arch list read from torch itself"
    return replace(build, kind="cuda" if build.kind in ("cuda", "unknown") else build.kind, sass=sass, ptx=ptx,
                   known=True, source="torch._C._cuda_getArchFlags()", note=note)


# -- the kernel rule ----------------------------------------------------------------------------------
def _cc_of(arch: str) -> tuple[int, int]:
    digits = re.sub(r"[^0-9]", "", arch.split("_", 1)[1])
    return int(digits[:-1]), int(digits[-1])


def cc_text(cc: tuple[int, int]) -> str:
    return f"{cc[0]}.{cc[1]}"


@dataclass(frozen=True)
class KernelCheck:
    """Whether a build has kernels a card can run (None: cannot be judged), and the rule that says so."""

    ok: bool | None
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def kernel_check(build: TorchBuild, cc: tuple[int, int]) -> KernelCheck:
    """SASS ``sm_X.y`` runs on cc X.z with z >= y; PTX ``compute_X.y`` JIT-compiles on cc >= X.y."""
    sm = f"sm_{cc[0]}{cc[1]}"
    if build.kind == "none":
        return KernelCheck(None, "torch is not installed")
    if build.kind == "unknown":
        return KernelCheck(None, f"unknown build: {build.note}; kernels for {sm} cannot be judged")
    if build.kind == "cpu":
        return KernelCheck(False, f"a CPU-only build: no CUDA kernels at all (needs {sm})")
    if build.kind == "rocm":
        return KernelCheck(False, "a ROCm build: kernels for AMD GPUs, none for NVIDIA cards")
    for arch in build.sass:
        code = _cc_of(arch)
        if code == cc or (code[0] == cc[0] and code[1] <= cc[1] and cc not in TEGRA and code not in TEGRA):
            return KernelCheck(True, f"SASS {arch} runs on cc {cc_text(cc)} (same major {cc[0]}, minor "
                                     f"{cc[1]} >= {code[1]})")
    for arch in build.ptx:
        code = _cc_of(arch)
        if cc >= code:
            return KernelCheck(True, f"PTX {arch} JIT-compiles on cc {cc_text(cc)} (>= {cc_text(code)}; the first "
                                     "run of each kernel compiles it)")
    has = " ".join(build.sass) or "no SASS"
    ptx = f"PTX {' '.join(build.ptx)} needs cc >= {cc_text(_cc_of(build.ptx[0]))}" if build.ptx else "no PTX"
    return KernelCheck(False, f"no kernels for {sm}: SASS {has} (each runs on its own major only, minor >= its "
                              f"own), {ptx}")


def driver_check(build: TorchBuild, driver: str | None) -> KernelCheck:
    """Whether the installed driver is new enough for the build's CUDA major (None: unknown)."""
    major = build.cuda_major
    if build.kind != "cuda" or major is None:
        return KernelCheck(None, "no CUDA runtime to check")
    need = DRIVER_MIN.get(major)
    if need is None:
        return KernelCheck(None, f"no driver minimum known for CUDA {major}")
    if not driver:
        return KernelCheck(None, f"driver version unknown; CUDA {major}.x needs >= {need}")
    if _vtuple(driver) >= _vtuple(need):
        return KernelCheck(True, f"driver {driver} >= {need}, the minimum for CUDA {major}.x")
    branch = " (the R580 branch)" if major == 13 else ""
    return KernelCheck(False, f"driver {driver} is older than {need}, the minimum for CUDA {major}.x{branch}")


def _vtuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"[0-9]+", text))


# -- the fix -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fix:
    """The install line that gets kernels (and a driver) a card can run."""

    torch: str
    build: str
    command: str
    why: str
    driver_min: str | None = None  # the oldest driver that runs this build's CUDA (Linux)
    cuda: str | None = None

    @property
    def needs(self) -> str:
        """``CUDA 12.6: driver >= 525.60.13``: printed with the install line."""
        return f"CUDA {self.cuda}: driver >= {self.driver_min}" if self.driver_min else f"CUDA {self.cuda}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["needs"] = self.needs
        return d


def _pip(version: str, build: str) -> str:
    """torch and its torchaudio from the same index (torchaudio 2.11.x for torch 2.12 and later)."""
    audio = torchaudio_for(version)
    audio = f"'torchaudio=={audio}'" if "*" in audio else f"torchaudio=={audio}"  # quoted: no shell glob
    return f"pip install torch=={version} {audio} --index-url {index_url(build)}"


def last_release_for(cc: tuple[int, int]) -> tuple[str, str] | None:
    """(release, build) of the newest release in the table with kernels for ``cc``; None if none has."""
    for release in reversed(list(builds_table()["releases"])):
        rows = _rows_that_run(release, cc, None)
        if rows:
            return release, rows[0]["build"]
    return None


def _rows_that_run(release: str, cc: tuple[int, int], driver: str | None) -> list[dict[str, Any]]:
    rows = []
    for r in builds_table()["builds"]:
        if r["torch"] != release:
            continue
        b = TorchBuild(version=release, local=r["build"], kind="cuda", cuda=r["cuda"], sass=tuple(r["sass"]),
                       ptx=tuple(r["ptx"]), known=True)
        if kernel_check(b, cc).ok and driver_check(b, driver).ok is not False:
            rows.append(r)
    return sorted(rows, key=lambda r: _cuda_key(r["build"]), reverse=True)


def fix_for(build: TorchBuild, cc: tuple[int, int], driver: str | None = None) -> Fix | None:
    """Same torch version from the variant that has kernels for ``cc`` (and suits the driver), the
    newest CUDA first; else the newest release in the table that still has them; None if none does."""
    table = builds_table()["releases"]
    releases = list(table)
    own = build.release if build.release in releases and _VERSION.match(build.version or "") else None
    published = [r for r in reversed(releases) if r != own and table[r].get("status") != "planned"]
    order = ([own] if own else []) + published
    sm = f"sm_{cc[0]}{cc[1]}"
    for release in order:
        rows = _rows_that_run(release, cc, driver)
        if not rows:
            continue
        version = build.version if release == own else table[release]["patches"][-1]
        row = rows[0]
        why = (f"the {row['build']} build of {version} has kernels for {sm}" if release == own else
               f"no {own or build.label} build has kernels for {sm}; {version} ({row['build']}) is the newest that does")
        last = last_release_for(cc)
        if last and last[0] != releases[-1]:
            later = releases[releases.index(last[0]) + 1]
            why += (f"; the last torch with {sm} kernels is {last[0]}.x {last[1]} ({later}"
                    f"{', planned,' if table[later].get('status') == 'planned' else ''} has none)")
        major = int(row["cuda"].split(".")[0])
        return Fix(torch=version, build=row["build"], command=_pip(version, row["build"]), why=why,
                   driver_min=driver_minimum(major), cuda=row["cuda"])
    return None


# -- the rest of the stack ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PresentGPU:
    """A GPU this machine has: what ``nvidia-smi`` (or torch) says about it."""

    name: str
    cc: tuple[int, int]
    total_bytes: int
    driver: str | None
    via: str  # "nvidia-smi" or "torch.cuda"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cc"] = cc_text(self.cc)
        return d


NVIDIA_SMI_QUERY = ["--query-gpu=name,compute_cap,memory.total,driver_version", "--format=csv,noheader"]


def parse_nvidia_smi(text: str) -> list[PresentGPU]:
    """``NVIDIA GeForce GTX 1050 Ti, 6.1, 4096 MiB, 535.183.01`` lines -> PresentGPU; odd lines skipped."""
    out = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 4:
            continue
        name, cap, mem, driver = parts
        m, c = re.match(r"^(\d+)\.(\d+)$", cap), re.match(r"^(\d+)\s*MiB$", mem)
        if not (m and c):
            continue
        out.append(PresentGPU(name=name, cc=(int(m[1]), int(m[2])), total_bytes=int(c[1]) * MIB,
                              driver=driver or None, via="nvidia-smi"))
    return out


def present_gpus(use_torch: bool = False) -> list[PresentGPU]:
    """The GPUs here: NVML through ``nvidia-smi`` where the binary exists, else (``use_torch``)
    ``torch.cuda`` when it sees one; [] on a machine without either."""
    exe = shutil.which("nvidia-smi")
    if exe:
        try:
            done = subprocess.run([exe, *NVIDIA_SMI_QUERY], capture_output=True, text=True, timeout=20)
            found = parse_nvidia_smi(done.stdout) if done.returncode == 0 else []
            if found:
                return found
        except (OSError, subprocess.SubprocessError):
            pass
    if not use_torch:
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    out = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        out.append(PresentGPU(name=p.name, cc=(p.major, p.minor), total_bytes=p.total_memory, driver=None,
                              via="torch.cuda"))
    return out


def dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@dataclass
class Stack:
    """The environment a verdict is judged in: torch, torchaudio, f5-tts and the GPUs present."""

    torch: TorchBuild
    torchaudio: str | None = None
    f5_tts: str | None = None
    gpus: list[PresentGPU] = field(default_factory=list)

    @property
    def torchaudio_matches(self) -> bool | None:
        """torchaudio pairs with torch (``torchaudio_pair``): version and build suffix."""
        return torchaudio_pair(self.torch, self.torchaudio)[0]

    def to_dict(self) -> dict[str, Any]:
        return {"torch": self.torch.to_dict(), "torchaudio": self.torchaudio,
                "torchaudio_matches": self.torchaudio_matches, "f5_tts": self.f5_tts,
                "gpus": [g.to_dict() for g in self.gpus]}


def torchaudio_pair(build: TorchBuild, torchaudio: str | None) -> tuple[bool | None, str]:
    """Whether ``torchaudio`` (a version string, e.g. 2.11.0+cu130) pairs with torch ``build``, and
    the line that says so or what to install instead. torchaudio is versioned with torch up to 2.11
    and frozen at 2.11 after it; its build suffix must be torch's (its kernels link the same CUDA)."""
    if build.version is None or build.kind == "unknown" or not _VERSION.match(build.version):
        return None, (f"{torchaudio or 'not installed'}: cannot be paired with an unknown torch build"
                      if build.version else (torchaudio or "not installed"))
    want = torchaudio_for(build.version)
    if not want:
        return None, f"{torchaudio or 'not installed'}: torch {build.label} is not in f5lab's table"
    local = build.local or ("cpu" if build.kind == "cpu" else None)
    spec = f"'torchaudio=={want}'" if "*" in want else f"torchaudio=={want}"
    install = (f"pip install {spec} --index-url {index_url(local)}" if local and build.kind != "rocm"
               else f"pip install {spec}")
    need = f"torchaudio {want}{'+' + local if local else ''}"
    if torchaudio is None:
        return None, f"not installed; torch {build.label} pairs with {need}: `{install}`"
    version, _, suffix = torchaudio.partition("+")
    ok_version = (version == want) if "*" not in want else version.startswith(want.rstrip("*"))
    ok_suffix = not suffix or not local or suffix == local
    if ok_version and ok_suffix:
        return True, f"{torchaudio} matches torch {build.label}"
    why = (f"torch {build.label} pairs with {need}" + (" (torchaudio is frozen at 2.11)" if "*" in want else ""))
    return False, f"{torchaudio} does NOT match: {why}: `{install}`"


def installed_stack(gpus: bool = True, use_torch: bool = False) -> Stack:
    """What this interpreter has, read without importing torch (unless ``use_torch``: then the
    arch list torch reports replaces the table's, and torch.cuda may name the GPUs)."""
    build = installed_build()
    if use_torch and build.kind in ("cuda", "unknown"):
        build = with_measured(build, measured_archs())
    ta_file = _module_file("torchaudio", "version.py")
    torchaudio = read_version_file(ta_file).get("__version__") if ta_file else None
    return Stack(torch=build, torchaudio=torchaudio or dist_version("torchaudio"), f5_tts=dist_version("f5-tts"),
                 gpus=present_gpus(use_torch) if gpus else [])


def stack_for(torch_spec: str | None) -> Stack:
    """The stack to judge: the installed one (no GPU probing), or ``--torch VERSION+BUILD``."""
    if torch_spec:
        return Stack(torch=named_build(torch_spec))
    return installed_stack(gpus=False)

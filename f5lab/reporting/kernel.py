"""The Jupyter kernel a report or sweep notebook runs in: started quiet, stopped quiet, its
executed notebook signed.

Two lines used to reach the terminal on every run, from the kernel process itself (its stderr
is the caller's):

- ``[IPKernelApp] WARNING | Kernel is running over TCP without encryption`` (ipykernel 7 logs it
  for any TCP kernel without CurveZMQ keys). The kernel here talks over IPC instead: Unix
  sockets beside the connection file in Jupyter's runtime folder, which only this user can
  open, so there is nothing to warn about (on Windows, which has no IPC transport in zmq, TCP
  stays and so does the warning).
- ``KeyboardInterrupt caught in kernel``: jupyter_client's ``shutdown_kernel`` sends SIGINT
  before its shutdown request, and a kernel that is still flushing a message when it lands logs
  the interrupt. A notebook that ran to its end has nothing to interrupt, so this manager skips
  that SIGINT; a kernel that does not stop on the request is still terminated, then killed,
  after jupyter_client's wait.

JupyterLab shows an output's audio player, HTML and colours only in a trusted notebook. What
f5lab executed itself is signed in the user's notebook-signature database (what ``jupyter
trust`` does for the stored notebooks); the file does not change.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

UNIX_SOCKET_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS; "-<port>" follows


def ipc_base() -> str | None:
    """The path stem of the kernel's IPC sockets (``<stem>-<port>``), None where IPC is not offered."""
    if os.name != "posix":
        return None
    from jupyter_core.paths import jupyter_runtime_dir
    from jupyter_core.utils import ensure_dir_exists

    name = f"f5lab-kernel-{uuid.uuid4().hex[:12]}"
    for folder in (jupyter_runtime_dir(), "/tmp"):
        base = os.path.join(folder, name)
        if len(base) + 8 <= UNIX_SOCKET_MAX:
            ensure_dir_exists(folder, mode=0o700)  # Jupyter's own runtime folder, made as Jupyter makes it
            return base
    return None


class QuietKernelManager(AsyncKernelManager):
    """``AsyncKernelManager`` over IPC, stopped without the SIGINT that precedes its shutdown request."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        base = ipc_base()
        if base is not None:
            self.transport = "ipc"
            self.ip = base
        self._stopping = False

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        # the kernel's own log lines (not the notebook's output, which comes over zmq) stay off the
        # terminal: when f5lab is interrupted it closes the kernel's sockets mid-message, and the
        # kernel logged a zmq traceback beside f5lab's one line
        import subprocess

        kw.setdefault("stderr", subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    _launch_kernel = _async_launch_kernel  # type: ignore[assignment]

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        self._stopping = True
        try:
            await super()._async_shutdown_kernel(now=now, restart=restart)
        finally:
            self._stopping = False

    shutdown_kernel = _async_shutdown_kernel  # type: ignore[assignment]

    async def _async_interrupt_kernel(self) -> None:
        if self._stopping:  # the notebook ended: a SIGINT now only makes the kernel log it
            return
        await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel  # type: ignore[assignment]


def trust(ipynb: str | os.PathLike) -> bool:
    """Sign an executed notebook f5lab wrote, in this user's signature database; False if it cannot
    be read or signed (the report goes on: only JupyterLab's players depend on it)."""
    import nbformat
    from nbformat.sign import NotebookNotary

    try:
        nb = nbformat.read(str(ipynb), as_version=4)
        notary = NotebookNotary()
        notary.sign(nb)
        return notary.check_signature(nb)
    except Exception:  # a read-only or locked database must not fail a report that ran
        return False

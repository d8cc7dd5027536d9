"""A sweep's units on Dask distributed: a ``LocalCluster`` of one-thread worker processes, or the
scheduler of a real cluster (dask-jobqueue on SLURM/PBS), never threads of one process (papermill
is not thread safe). GPU units ask for the worker resource ``GPU: 1``, so a worker runs one at a
time. A signal cancels what runs, removes the cancelled units' folders and keeps what finished.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from f5lab.errors import ConfigError
from f5lab.reporting.sweepspec import SweepError, safe_fragment
from f5lab.reporting.sweepunits import Unit, run_unit, write_marker


def connect(workers: int, scheduler: str | None, gpu: bool) -> tuple[Any, Any]:
    """A Dask client: to ``scheduler`` if given, else to a new LocalCluster of ``workers`` processes."""
    import logging

    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"--scheduler {scheduler}: cannot connect ({str(exc).splitlines()[0]})") from None
        check_workers(client, scheduler, gpu)
        return client, None
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1 (got {workers})")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, resources={"GPU": 1} if gpu else None,
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def check_workers(client: Any, scheduler: str, gpu: bool, wait_s: float = 30.0) -> None:
    """Fail in one line, not hang, when the cluster has no worker (or none offering a GPU)."""
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except TimeoutError:
        raise SweepError(f"--scheduler {scheduler}: no worker joined within {wait_s:.0f} s") from None
    if gpu and not any(w.get("resources", {}).get("GPU") for w in client.scheduler_info()["workers"].values()):
        raise SweepError(f"--scheduler {scheduler}: GPU points need workers started with --resources GPU=1")


def submit_all(units: list[Unit], workers: int, scheduler: str | None, progress: bool) -> int:
    """Submit every unit to Dask, follow them with a progress bar. Returns 0, or the number of the
    signal (SIGINT, SIGTERM, SIGHUP) that interrupted it: what runs is cancelled, the folders of the
    cancelled units are removed, what finished is kept."""
    from dask.distributed import as_completed
    from tqdm import tqdm

    from f5lab.outputs import Interrupted

    client, cluster = connect(workers, scheduler, any(u.gpu for u in units))
    futures: dict[Any, Unit] = {}
    stopped = 0
    try:
        for u in units:
            fut = client.submit(run_unit, asdict(u), key=f"f5lab-sweep-{u.key[:16]}-{safe_fragment(u.id)}", pure=False,
                                resources={"GPU": 1} if u.gpu else None)
            futures[fut] = u
        bar = tqdm(total=len(units), desc="sweep", unit="point", disable=not progress)
        for fut in as_completed(list(futures)):
            if fut.status == "error":  # the worker itself died: record it like a failed notebook
                u = futures[fut]
                write_marker(asdict(u), [], f"{type(fut.exception()).__name__}: {fut.exception()}", 0.0)
            bar.update(1)
        bar.close()
    except KeyboardInterrupt:
        stopped = 2
    except Interrupted as exc:
        stopped = exc.signum
    finally:
        if stopped:
            for fut in futures:
                fut.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
    if stopped:
        _remove_unfinished(units)
    return stopped


def _remove_unfinished(units: list[Unit]) -> None:
    """The folders of units whose worker was stopped mid-way (still marked incomplete)."""
    from f5lab import outputs

    for u in units:
        if outputs.folder_state(Path(u.dir)).startswith(("stale", "busy")):
            outputs.remove_tree(u.dir)

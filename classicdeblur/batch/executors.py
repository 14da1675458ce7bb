"""Where tasks run: a ``dask.distributed`` client (a LocalCluster of worker processes, or an
existing cluster), or this process.

Dask is imported only here and only when a cluster is used, so ``import classicdeblur``
and ``--jobs 0`` do not import it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from contextlib import contextmanager

from ..errors import ClassicDeblurError

__all__ = ["InProcess", "DaskExecutor", "make_executor", "gpu_ids"]


class _Done:
    """A finished in-process task with the interface of a future."""

    __slots__ = ("_value", "_error")

    def __init__(self, fn, args):
        self._value = self._error = None
        try:
            self._value = fn(*args)
        except Exception as e:  # returned by result(), as a Dask future does
            self._error = e

    def result(self):
        if self._error is not None:
            raise self._error
        return self._value


class InProcess:
    """Run each task at once, in this process (``jobs=0``): no Dask, no parallelism."""

    slots = 1
    description = "in this process"

    def submit(self, fn, *args):
        return _Done(fn, args)

    @staticmethod
    def wait(pending):
        return set(pending)

    def cancel(self, futures):
        pass

    def close(self):
        pass


class DaskExecutor:
    """Submit tasks to a ``distributed.Client``; close it (and its LocalCluster) if we made it."""

    def __init__(self, client, *, cluster=None, own=False):
        self.client = client
        self.cluster = cluster
        self.own = own
        threads = sum(client.nthreads().values()) or 1
        # enough tasks queued that no worker waits for the client, few enough to bound memory
        self.slots = max(2, 2 * threads)
        where = "a local Dask cluster" if cluster is not None else f"the Dask cluster at {client.scheduler.address}"
        self.description = f"{where} ({len(client.nthreads())} workers)"

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    @staticmethod
    def wait(pending):
        from distributed import wait

        return set(wait(list(pending), return_when="FIRST_COMPLETED").done)

    def cancel(self, futures):
        if futures:
            self.client.cancel(list(futures))

    def close(self):
        if self.own:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def gpu_ids() -> list[str]:
    """The GPUs workers may be given: ``CUDA_VISIBLE_DEVICES`` if set, else those CuPy counts."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    try:
        import cupy

        return [str(i) for i in range(cupy.cuda.runtime.getDeviceCount())]
    except Exception:  # no CuPy, no driver, no device
        return []


@contextmanager
def _workers_ignore_sigint():
    """Start worker processes with SIGINT ignored (inherited through exec).

    Ctrl-C in a terminal reaches the whole process group; the client alone should
    handle it and stop the workers, rather than every worker printing a traceback.
    (A blocked signal mask is not inherited by Dask's spawned workers; an ignored
    signal is. The cost: a Ctrl-C during the cluster's start, about 2 s, is not seen.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _check_workers(client):
    from .. import __version__
    from .tasks import worker_version

    try:
        versions = client.run(worker_version)
    except Exception as e:
        raise ClassicDeblurError(
            f"the Dask workers cannot run classicdeblur ({type(e).__name__}: {e}); install classicdeblur "
            f"{__version__} in every worker's environment"
        ) from e
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        w, v = next(iter(wrong.items()))
        raise ClassicDeblurError(f"worker {w} runs classicdeblur {v}, this process {__version__}; "
                                 "install the same version everywhere")


def make_executor(*, jobs=1, scheduler=None, client=None, device="auto"):
    """The executor of a batch.

    Parameters
    ----------
    jobs : int
        Worker processes of the LocalCluster started for the batch (one thread each);
        0 runs in this process without Dask.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``) to submit to instead.
    client : distributed.Client, optional
        A client to use as it is (not closed afterwards).
    device : {"auto", "cpu", "gpu"}
        With ``"gpu"``, each LocalCluster worker is given one GPU (``CUDA_VISIBLE_DEVICES``),
        in turn over the visible ones.
    """
    if client is not None:
        _check_workers(client)
        return DaskExecutor(client)
    if scheduler is not None:
        from distributed import Client

        try:
            c = Client(scheduler)  # waits distributed.comm.timeouts.connect (30 s by default)
        except OSError as e:
            raise ClassicDeblurError(f"cannot reach the Dask scheduler at {scheduler!r}: {e}") from e
        try:
            _check_workers(c)
        except BaseException:
            c.close()
            raise
        return DaskExecutor(c, own=True)
    if int(jobs) < 0:
        raise ClassicDeblurError(f"--jobs must be 0 or more; got {jobs}")
    if int(jobs) == 0:
        return InProcess()
    import dask
    from distributed import Client, LocalCluster

    # Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in their workers; glibc then stops adapting its
    # mmap threshold, every temporary array of more than 128 kB is mapped and unmapped again, and
    # xu2010 on a 256x256 image ran 2.3x slower here. Leave the allocator's defaults alone.
    environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
               if k != "MALLOC_TRIM_THRESHOLD_"}
    with _workers_ignore_sigint(), dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(n_workers=int(jobs), threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.CRITICAL)
    c = Client(cluster)
    try:
        if device == "gpu":
            ids = gpu_ids()
            if ids:
                from .gpu import OneGPUPerWorker

                c.register_plugin(OneGPUPerWorker(ids))
        return DaskExecutor(c, cluster=cluster, own=True)
    except BaseException:
        c.close()
        cluster.close()
        raise

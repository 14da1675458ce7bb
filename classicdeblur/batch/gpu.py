"""One GPU per Dask worker of a LocalCluster (imported only with ``device="gpu"``)."""

from __future__ import annotations

import os

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["OneGPUPerWorker"]


class OneGPUPerWorker(WorkerPlugin):
    """Set ``CUDA_VISIBLE_DEVICES`` of worker ``i`` to GPU ``ids[i % len(ids)]``.

    It runs when the worker starts, before any task has touched CUDA, so CuPy in that
    worker sees one device only. Workers are numbered 0, 1, ... by LocalCluster.

    Examples
    --------
    >>> import os
    >>> class Worker:
    ...     name = 3
    >>> old = os.environ.get("CUDA_VISIBLE_DEVICES")
    >>> OneGPUPerWorker(["0", "1"]).setup(Worker())
    >>> os.environ["CUDA_VISIBLE_DEVICES"]
    '1'
    >>> _ = os.environ.pop("CUDA_VISIBLE_DEVICES") if old is None else os.environ.update(CUDA_VISIBLE_DEVICES=old)
    """

    name = "classicdeblur-one-gpu-per-worker"

    def __init__(self, ids):
        self.ids = [str(i) for i in ids]

    def setup(self, worker):
        try:
            index = int(worker.name)
        except (TypeError, ValueError):
            index = sum(map(ord, str(worker.name)))
        os.environ["CUDA_VISIBLE_DEVICES"] = self.ids[index % len(self.ids)]

"""Benchmark cases on ``--jobs`` worker processes, through Dask (the package's batch executor).

The benchmarks used to start a ``concurrent.futures`` process pool each; they now share
:func:`classicdeblur.batch.executors.make_executor`: a ``dask.distributed`` LocalCluster of
``jobs`` single-threaded worker processes, or this process alone for ``jobs <= 1`` (no Dask,
and the same results in the same order either way).
"""

from __future__ import annotations

from contextlib import contextmanager

from classicdeblur.batch.executors import make_executor

__all__ = ["workers"]


class _Workers:
    def __init__(self, executor):
        self._ex = executor

    def map(self, fn, items):
        """``fn`` over ``items`` on the workers; results in the order of ``items``.

        Examples
        --------
        >>> with workers(1) as pool:
        ...     list(pool.map(abs, [-2, 3, -5]))
        [2, 3, 5]
        """
        futures = [self._ex.submit(fn, item) for item in items]
        try:
            for f in futures:
                yield f.result()
        finally:
            self._ex.cancel(futures)  # the rest, when the caller stops early


@contextmanager
def workers(jobs):
    """A pool with ``map`` on ``jobs`` Dask worker processes (in this process when ``jobs <= 1``)."""
    ex = make_executor(jobs=int(jobs) if int(jobs) > 1 else 0, device="cpu")
    try:
        yield _Workers(ex)
    finally:
        ex.close()

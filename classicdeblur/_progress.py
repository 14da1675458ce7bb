"""Progress on stderr for anything that takes longer than a second."""

from __future__ import annotations

import sys
import threading
import time

__all__ = ["Progress"]


class Progress:
    """Print ``label`` with a step count or elapsed time once a task has run for ``delay`` seconds.

    Use as a context manager; call the instance as ``progress(i, n)`` to report
    steps. Quiet tasks shorter than ``delay`` print nothing.

    Examples
    --------
    >>> import io
    >>> buf = io.StringIO()
    >>> with Progress("fast", stream=buf) as p:
    ...     p(1, 2)
    >>> buf.getvalue()
    ''
    """

    def __init__(self, label, *, delay=1.0, stream=None, enabled=True):
        self.label = label
        self.delay = delay
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self._t0 = None
        self._shown = False
        self._last = 0.0
        self._timer = None
        self._lock = threading.Lock()

    def _emit(self, text, end="\n"):
        with self._lock:
            self.stream.write(text + end)
            self.stream.flush()
            self._shown = True

    def _announce(self):
        self._emit(f"classicdeblur: {self.label} ...")

    def __enter__(self):
        self._t0 = time.perf_counter()
        if self.enabled:
            self._timer = threading.Timer(self.delay, self._announce)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __call__(self, i, n):
        now = time.perf_counter()
        if self.enabled and now - self._t0 >= self.delay and (now - self._last >= 0.5 or i == n):
            self._last = now
            self._emit(f"classicdeblur: {self.label} {i}/{n}")

    def __exit__(self, *exc):
        if self._timer is not None:
            self._timer.cancel()
        if self.enabled and self._shown and exc[0] is None:
            self._emit(f"classicdeblur: {self.label} done in {time.perf_counter() - self._t0:.1f} s")
        return False

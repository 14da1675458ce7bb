"""The batch manifest: one JSON object per line in ``OUT_DIR/manifest.jsonl``.

Each record describes one input in one run:

``input``
    absolute path of the input file;
``sha256``, ``size``
    of the input's bytes as they were processed;
``kind``
    ``"image"`` or ``"video"``;
``method``, ``params``
    the method and every setting that changes the output (``params`` is compared
    as a whole to decide whether an earlier result can be reused);
``status``
    ``"done"``, ``"failed"`` (with ``reason``, one line), ``"skipped"`` (already
    done by an earlier run with the same ``sha256`` and ``params``), or
    ``"running"`` (written just before an output is moved into place: a record
    left with this status was interrupted and is redone);
``output``, ``kernel``
    paths relative to the output folder (``kernel`` is null unless kernels are saved);
``seconds``
    compute time of the input (for a skipped input, that of the run that made it);
``frames``, ``fps``
    for videos; ``warnings`` (when the method warned, as ``classicdeblur run`` prints);
    ``time`` (UTC, ISO 8601) and ``version`` (of classicdeblur).

Only the client (the process that runs the batch) writes the manifest. Appends are
single ``write`` calls of one line followed by ``fsync``; a torn last line left by a
killed process is ignored when reading. At the start and at the end of every run
the file is rewritten atomically (temporary file, ``fsync``, ``os.replace``) with
the last record of each input only.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

from ..errors import ClassicDeblurError

__all__ = ["MANIFEST_NAME", "Manifest", "file_sha256", "COMPLETE"]

MANIFEST_NAME = "manifest.jsonl"
#: Statuses whose output can be reused by a later run.
COMPLETE = ("done", "skipped")


def file_sha256(path, chunk=1 << 20):
    """sha256 (hex) and size of a file, read in chunks.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "x")
    >>> with open(p, "wb") as fh:
    ...     _ = fh.write(b"abc")
    >>> file_sha256(p)[1]
    3
    """
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class Manifest:
    """The manifest of one output folder, locked against a second batch writing there.

    Use as a context manager: entering takes the folder's lock, reads the records and
    rewrites the file with the last record of each input; :meth:`append` adds a record.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> with Manifest(d) as m:
    ...     m.append({"input": "/a.png", "status": "done", "output": "a.png"})
    >>> with Manifest(d) as m:
    ...     m.latest["/a.png"]["status"], m.owns("a.png")
    ('done', True)
    """

    def __init__(self, out_dir):
        self.dir = Path(out_dir)
        self.path = self.dir / MANIFEST_NAME
        self.latest: dict[str, dict] = {}
        self._outputs: set[str] = set()
        self._lock_fd = None

    # -- reading ------------------------------------------------------------------
    def _read(self):
        records = []
        if not self.path.exists():
            return records
        with open(self.path, "rb") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:  # a torn line left by a killed run
                    continue
                if isinstance(rec, dict) and "input" in rec:
                    records.append(rec)
        return records

    def _note(self, rec):
        self.latest[rec["input"]] = rec
        for key in ("output", "kernel"):
            if rec.get(key):
                self._outputs.add(rec[key])

    def owns(self, rel) -> bool:
        """Whether an output (path relative to the folder) was written by a batch into this folder."""
        return str(rel) in self._outputs

    # -- writing ------------------------------------------------------------------
    def rewrite(self):
        """Atomically replace the file by the last record of each input."""
        tmp = self.dir / f".{MANIFEST_NAME}.{secrets.token_hex(4)}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                for rec in self.latest.values():
                    fh.write(json.dumps(rec, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.dir)
        finally:
            if tmp.exists():
                tmp.unlink()

    def append(self, record: dict):
        """Append one record (one ``write`` of one line, then ``fsync``)."""
        line = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._note(record)

    # -- locking ------------------------------------------------------------------
    def __enter__(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            fcntl = None
        if fcntl is not None:
            fd = os.open(self.dir / ".classicdeblur.lock", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise ClassicDeblurError(
                    f"another classicdeblur batch is writing to '{self.dir}'; wait for it or choose another -o"
                ) from None
            self._lock_fd = fd
        try:
            for rec in self._read():
                self._note(rec)
            if self.path.exists():
                self.rewrite()
        except BaseException:
            self._unlock()
            raise
        return self

    def _unlock(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def __exit__(self, *exc):
        try:
            if self.path.exists():  # drop the run's intermediate "running" lines
                self.rewrite()
        finally:
            self._unlock()
        return False

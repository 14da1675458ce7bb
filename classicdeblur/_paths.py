"""Where the repository's data folders (``kernels/``, ``exemplars/``, ``models/``) are, and their files' hashes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["data_dir", "file_sha256"]


def data_dir(env_var: str, folder: str) -> Path:
    """``$env_var`` when set, else ``<repo>/folder`` (next to the ``classicdeblur`` package).

    Examples
    --------
    >>> data_dir("CLASSICDEBLUR_NO_SUCH_VARIABLE", "kernels").name
    'kernels'
    """
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[1] / folder


def file_sha256(path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB blocks (the check of every shipped data file).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"abc")
    >>> file_sha256(f.name)[:16]
    'ba7816bf8f01cfea'
    >>> os.remove(f.name)
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

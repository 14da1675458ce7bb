"""Where the repository's data folders (``kernels/``, ``exemplars/``) are."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir"]


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

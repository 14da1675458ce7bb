"""Batch deblurring of files, folders, globs and videos: resumable, scaled out on Dask.

:func:`deblur_files` is the Python API of ``classicdeblur batch``. Work runs on a
``dask.distributed`` LocalCluster of worker processes (``jobs``), on an existing Dask
cluster (``scheduler`` or ``client``), or in this process (``jobs=0``). The manifest
``OUT_DIR/manifest.jsonl`` (:mod:`.manifest`) records every input, and a rerun skips
those done with the same input bytes and parameters.

Modules: :mod:`.inputs` (files, folders, globs), :mod:`.manifest` (JSON lines),
:mod:`.settings` (options checked once), :mod:`.tasks` (work on the workers),
:mod:`.video` (OpenCV frames), :mod:`.executors` (Dask or in-process),
:mod:`.runner` (the run), :mod:`.report` (HTML contact sheet), :mod:`.command` (CLI).

Importing this package does not import Dask or OpenCV.
"""

from .manifest import MANIFEST_NAME, file_sha256
from .runner import deblur_files

__all__ = ["deblur_files", "MANIFEST_NAME", "file_sha256"]

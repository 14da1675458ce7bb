"""The ``models/`` folder: shipped network weights, their manifest, and the sha256 check on load.

``models/MANIFEST.json`` lists each model::

    {"format": 1,
     "models": {"edges": {"file": "edges.npz", "sha256": "...", "bytes": ...,
                          "config": {...}, "parameters": ..., "arrays_sha256": "...",
                          "training": {"command": ..., "seed": ..., "data": ..., "kernels": ..., ...}}}}

``sha256`` is that of the file's bytes, checked every time the file is read:
a tampered or truncated file is refused (:class:`ModelFileError`).
``arrays_sha256`` hashes the arrays themselves (names, shapes and float32
bytes, in order), so that a retraining can be compared with the shipped
weights whatever the container's bytes.

The folder is ``$CLASSICDEBLUR_MODELS`` when set, else ``models/`` next to
the package (as ``kernels/`` and ``exemplars/``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .._paths import data_dir, file_sha256
from ..errors import ClassicDeblurError
from .network import EdgeNet

__all__ = ["ModelFileError", "models_dir", "read_manifest", "load_weights", "load_model", "save_weights",
           "arrays_sha256", "file_sha256", "MANIFEST"]

#: Manifest file name inside the models folder.
MANIFEST = "MANIFEST.json"


class ModelFileError(ClassicDeblurError):
    """A model file is missing, unlisted, or does not match its manifest (sha256, arrays)."""


def models_dir() -> Path:
    """The models folder (``$CLASSICDEBLUR_MODELS`` or ``<repo>/models``).

    Examples
    --------
    >>> models_dir().name
    'models'
    """
    return data_dir("CLASSICDEBLUR_MODELS", "models")


def arrays_sha256(arrays: dict) -> str:
    """sha256 of named arrays: names, shapes and little-endian float32 bytes, in the dict's order.

    Examples
    --------
    >>> a = {"w": np.ones((2, 2))}
    >>> arrays_sha256(a) == arrays_sha256({"w": np.ones((2, 2), dtype=np.float32)})
    True
    """
    h = hashlib.sha256()
    for name, a in arrays.items():
        a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
        h.update(f"{name}:{a.shape}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_weights(path, arrays: dict) -> str:
    """Write ``arrays`` (float32) as an ``.npz`` whose bytes depend only on the arrays; return its sha256.

    ``numpy.savez`` stamps the current time into the zip; here every entry has
    the fixed date 1980-01-01, so the same weights give the same file.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> a = save_weights(os.path.join(d, "a.npz"), {"w": np.arange(4.0)})
    >>> b = save_weights(os.path.join(d, "b.npz"), {"w": np.arange(4.0)})
    >>> a == b, np.load(os.path.join(d, "a.npz"))["w"].dtype
    (True, dtype('float32'))
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(np.asarray(a, dtype="<f4")), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, buf.getvalue())
    tmp.replace(path)
    return file_sha256(path)


def read_manifest(folder=None) -> dict:
    """The models folder's manifest (``{"format": 1, "models": {...}}``)."""
    folder = Path(folder) if folder is not None else models_dir()
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"no {MANIFEST} in {folder}; is the repository's models/ folder there "
                             "(or CLASSICDEBLUR_MODELS set)?") from None
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), dict):
        raise ModelFileError(f"{path} has no 'models' table")
    return manifest


def load_weights(name="edges", folder=None):
    """``(arrays, entry)``: the weights of model ``name`` after checking the file's sha256, and its manifest entry.

    Raises
    ------
    ModelFileError
        The manifest does not list ``name``, the file is missing, or its
        sha256 or arrays differ from the manifest's (a tampered or corrupted
        file is never used).
    """
    folder = Path(folder) if folder is not None else models_dir()
    models = read_manifest(folder)["models"]
    if name not in models:
        raise ModelFileError(f"unknown model {name!r} in {folder / MANIFEST}; listed: {', '.join(sorted(models))}")
    entry = models[name]
    path = folder / entry["file"]
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing")
    digest = file_sha256(path)
    if digest != entry.get("sha256"):
        raise ModelFileError(f"model file {path} does not match its manifest (sha256 {digest[:12]}..., expected "
                             f"{str(entry.get('sha256'))[:12]}...): it was modified or corrupted; restore it from "
                             "the repository or retrain with the manifest's command")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: np.asarray(z[k]) for k in z.files}
    if "arrays_sha256" in entry and arrays_sha256(arrays) != entry["arrays_sha256"]:  # pragma: no cover - needs a sha256 collision
        raise ModelFileError(f"the arrays of {path} do not match the manifest's arrays_sha256")
    return arrays, entry


@functools.lru_cache(maxsize=4)
def _cached(name, folder, stamp):
    arrays, entry = load_weights(name, folder)
    return EdgeNet(arrays, entry["config"]), entry


def load_model(name="edges", folder=None):
    """The shipped network ``name`` as an :class:`~classicdeblur.learned.network.EdgeNet` (checked, cached).

    The cache is keyed by the file's modification time and size, so a
    replaced file is checked again.

    Examples
    --------
    >>> net = load_model()
    >>> net.n_parameters == read_manifest()["models"]["edges"]["parameters"]
    True
    """
    folder = Path(folder) if folder is not None else models_dir()
    entry = read_manifest(folder)["models"].get(name)
    stamp = None
    if entry is not None and (folder / entry["file"]).is_file():
        st = (folder / entry["file"]).stat()
        stamp = (st.st_mtime_ns, st.st_size, (folder / MANIFEST).stat().st_mtime_ns)
    return _cached(name, str(folder), stamp)[0]

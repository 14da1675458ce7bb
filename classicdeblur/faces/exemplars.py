"""The face-exemplar database: aligned sharp faces, their landmarks and structure masks.

Pan, Hu, Su & Yang (ECCV 2014) match a blurred face against a set of sharp
exemplar faces and use the best match's salient contours (outline, eyes, mouth)
to guide kernel estimation; Anwar et al. (TPAMI 2018) and Tian & Tao (TIP 2015)
learn class-specific priors from such a set. This module stores and loads it.

A database is a folder with

* ``MANIFEST.json``: source, terms, count, resolution, alignment template, mask
  parameters, selection, the exact build command and the sha256 of every file;
* ``exemplars.npz`` (LZMA-compressed members; :func:`numpy.load` reads it): ``faces``
  uint8 ``(N, S, S)`` gray aligned crops (the template of :mod:`classicdeblur.faces.align`), ``masks`` uint8 ``(N, S*S/8)`` = :func:`numpy.packbits`
  of the flattened :func:`~classicdeblur.faces.structure.structure_mask` (outline, eyes,
  mouth, width 1), ``landmarks`` float32 ``(N, 68, 2)`` in crop pixels, ``names`` ``(N,)``
  source file names;
* one ``<name>.npz`` per learned prior (``anwar2018.npz``, ``tian2015.npz``), made from the
  loaded database by the learners given to
  :func:`~classicdeblur.faces.exemplar_build.build_database` or
  :func:`~classicdeblur.faces.exemplar_build.learn_priors` (the CLI passes each blind
  method's registered learner, :func:`classicdeblur.blind.prior_learners`).

This module loads and checks a database; :mod:`classicdeblur.faces.exemplar_build`
builds one. The default database is the repository's ``exemplars/`` folder (or
``$CLASSICDEBLUR_EXEMPLARS``); rebuild it with ``classicdeblur exemplars build``.

Examples
--------
>>> db = load_database()
>>> db.faces.shape[1:], db.masks.dtype, len(db) == db.manifest["count"]
((128, 128), dtype('bool'), True)
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from .._paths import data_dir, file_sha256
from ..errors import ClassicDeblurError

__all__ = [
    "DB_FILE",
    "ENV_VAR",
    "IMAGE_EXTENSIONS",
    "MANIFEST_FILE",
    "ExemplarDB",
    "ExemplarDBError",
    "as_database",
    "exemplars_dir",
    "file_sha256",
    "load_database",
]

#: Environment variable overriding the default database folder.
ENV_VAR = "CLASSICDEBLUR_EXEMPLARS"
DB_FILE = "exemplars.npz"
MANIFEST_FILE = "MANIFEST.json"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".webp")
FORMAT_VERSION = 1


class ExemplarDBError(ClassicDeblurError):
    """An exemplar database is missing, unreadable, fails its sha256 check, or lacks a prior."""


def exemplars_dir() -> Path:
    """The default database folder: ``$CLASSICDEBLUR_EXEMPLARS`` or ``<repo>/exemplars``."""
    return data_dir(ENV_VAR, "exemplars")


def _readonly(a):
    a = np.asarray(a)
    a.flags.writeable = False
    return a


class ExemplarDB:
    """A loaded exemplar database (arrays are read-only and shared by the cache).

    Attributes
    ----------
    faces : ndarray float32 (N, S, S)
        Gray aligned crops in [0, 1].
    masks : ndarray bool (N, S, S)
        Structure masks (outline, eyes, mouth) of each crop.
    landmarks : ndarray float32 (N, 68, 2)
        ``(x, y)`` crop pixel coordinates.
    names : ndarray of str (N,)
        Source file of each exemplar.
    manifest : dict
        The parsed ``MANIFEST.json``.
    path : Path or None
        The folder (None for an in-memory database).
    resolution : int
        ``S``.
    """

    def __init__(self, faces, landmarks, names, *, masks=None, manifest=None, path=None):
        from .structure import structure_mask

        faces = np.asarray(faces)
        if faces.dtype == np.uint8:
            faces = faces.astype(np.float32) / np.float32(255.0)
        faces = np.asarray(faces, dtype=np.float32)
        if faces.ndim != 3 or faces.shape[1] != faces.shape[2]:
            raise ExemplarDBError(f"exemplar faces must be (N, S, S); got shape {faces.shape}")
        n, s = faces.shape[0], faces.shape[1]
        landmarks = np.asarray(landmarks, dtype=np.float32)
        if landmarks.shape != (n, 68, 2):
            raise ExemplarDBError(f"exemplar landmarks must be ({n}, 68, 2); got shape {landmarks.shape}")
        names = np.asarray([str(x) for x in names], dtype=str)
        if names.shape != (n,):
            raise ExemplarDBError(f"need {n} exemplar names; got {names.shape[0]}")
        if masks is None:
            masks = np.zeros((0, s, s), bool)
            if n:
                masks = np.stack([structure_mask(p, (s, s)) for p in landmarks])
        masks = np.asarray(masks)
        if masks.dtype == np.uint8 and masks.ndim == 2:  # bit-packed rows
            masks = np.unpackbits(masks, axis=1, count=s * s).reshape(n, s, s)
        masks = masks.astype(bool)
        if masks.shape != (n, s, s):
            raise ExemplarDBError(f"exemplar masks must be ({n}, {s}, {s}); got shape {masks.shape}")
        self.faces = _readonly(faces)
        self.masks = _readonly(masks)
        self.landmarks = _readonly(landmarks)
        self.names = _readonly(names)
        self.manifest = dict(manifest or {})
        self.path = None if path is None else Path(path)
        self.resolution = int(s)
        self._priors: dict = {}

    def __len__(self) -> int:
        return int(self.faces.shape[0])

    def __repr__(self) -> str:
        return f"ExemplarDB({len(self)} faces of {self.resolution}x{self.resolution}, path={self.path})"

    def prior(self, name: str) -> dict:
        """The learned prior ``name`` (``<name>.npz``) as ``dict[str, ndarray]``, sha256-checked.

        Raises
        ------
        ExemplarDBError
            Unknown name (one the manifest does not list, when it lists any), or the file is
            missing / changed; the message says how to rebuild.
        """
        if name in self._priors:
            return self._priors[name]
        files = self.manifest.get("files", {})
        known = sorted(set(self.manifest.get("priors", {})) | set(self.manifest.get("priors_skipped", {}))
                       | {k[:-4] for k in files if k.endswith(".npz") and k != DB_FILE})
        if known and name not in known:  # a database without priors says how to learn them, below
            raise ExemplarDBError(f"unknown exemplar prior {name!r}; choose from: {', '.join(known)}")
        where = self.path if self.path is not None else Path("<in memory>")
        entry = files.get(f"{name}.npz")
        rebuild = (f"build it with 'classicdeblur exemplars learn {where}' (or rebuild the database with "
                   "'classicdeblur exemplars build FACES_DIR -o DB --overwrite')")
        if self.path is None or entry is None:
            raise ExemplarDBError(f"the exemplar database {where} has no {name!r} prior; {rebuild}")
        path = self.path / f"{name}.npz"
        if not path.is_file():
            raise ExemplarDBError(f"prior file {path} is missing; {rebuild}")
        if file_sha256(path) != entry["sha256"]:
            raise ExemplarDBError(
                f"prior file {path} does not match its sha256 in {MANIFEST_FILE}; {rebuild}")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: _readonly(z[k]) for k in z.files}
        except (OSError, ValueError) as exc:
            raise ExemplarDBError(f"cannot read prior file {path}: {exc}") from None
        self._priors[name] = arrays
        return arrays

    def has_prior(self, name: str) -> bool:
        """True when the manifest lists the prior ``name``."""
        return f"{name}.npz" in self.manifest.get("files", {})


# --------------------------------------------------------------------------- loading


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST_FILE
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ExemplarDBError(
            f"no exemplar database at {folder} ({MANIFEST_FILE} missing); set {ENV_VAR} or build one with "
            "'classicdeblur exemplars build FACES_DIR -o DB'"
        ) from None
    except (OSError, ValueError) as exc:
        raise ExemplarDBError(f"cannot read {path}: {exc}") from None


def _stamp(folder: Path):
    out = []
    for name in (MANIFEST_FILE, DB_FILE):
        try:
            st = (folder / name).stat()
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


@functools.lru_cache(maxsize=4)
def _load(folder: str, stamp) -> ExemplarDB:
    root = Path(folder)
    manifest = _read_manifest(root)
    entry = manifest.get("files", {}).get(DB_FILE)
    path = root / DB_FILE
    if entry is None:
        raise ExemplarDBError(f"{root / MANIFEST_FILE} lists no {DB_FILE}; rebuild the database")
    if not path.is_file():
        raise ExemplarDBError(f"{path} is missing; rebuild with 'classicdeblur exemplars build'")
    if file_sha256(path) != entry["sha256"]:
        raise ExemplarDBError(
            f"{path} does not match its sha256 in {MANIFEST_FILE}; the file was changed or is corrupt "
            "(restore it or rebuild with 'classicdeblur exemplars build')"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("faces", "masks", "landmarks", "names")}
    except (KeyError, OSError, ValueError) as exc:
        raise ExemplarDBError(f"cannot read {path}: {exc}") from None
    return ExemplarDB(arrays["faces"], arrays["landmarks"], arrays["names"], masks=arrays["masks"],
                      manifest=manifest, path=root)


def load_database(path=None) -> ExemplarDB:
    """Load (and cache) an exemplar database, verifying the sha256 of its data.

    Parameters
    ----------
    path : str or Path, optional
        The database folder; default :func:`exemplars_dir`.

    Raises
    ------
    ExemplarDBError
        Missing folder or manifest, unreadable data, or a sha256 mismatch.

    Examples
    --------
    >>> db = load_database()
    >>> db is load_database()
    True
    """
    folder = Path(path).expanduser() if path is not None else exemplars_dir()
    folder = folder.resolve()
    return _load(str(folder), _stamp(folder))


def as_database(exemplars=None) -> ExemplarDB:
    """``exemplars`` itself when it is already a database (anything with ``faces``), else :func:`load_database` of it."""
    if exemplars is not None and hasattr(exemplars, "faces"):
        return exemplars
    return load_database(exemplars)

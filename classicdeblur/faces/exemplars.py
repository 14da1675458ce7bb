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
* one ``<name>.npz`` per learned prior (``anwar2018.npz``, ``tian2015.npz``), made by the
  functions of :data:`LEARNERS` from the loaded database.

The default database is the repository's ``exemplars/`` folder (or
``$CLASSICDEBLUR_EXEMPLARS``); rebuild it with ``classicdeblur exemplars build``.

Examples
--------
>>> db = load_database()
>>> db.faces.shape[1:], db.masks.dtype, len(db) == db.manifest["count"]
((128, 128), dtype('bool'), True)
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

import numpy as np

from .._paths import data_dir
from .._validation import check_count
from ..errors import ClassicDeblurError, OutputExistsError

__all__ = [
    "DB_FILE",
    "ENV_VAR",
    "IMAGE_EXTENSIONS",
    "LEARNERS",
    "MANIFEST_FILE",
    "ExemplarDB",
    "ExemplarDBError",
    "as_database",
    "build_database",
    "exemplars_dir",
    "file_sha256",
    "learn_priors",
    "load_database",
]

#: Prior name -> ``"module:function"``; each function maps an :class:`ExemplarDB` to a
#: ``dict[str, ndarray]`` saved as ``<name>.npz`` next to the database.
LEARNERS = {
    "anwar2018": "classicdeblur.blind.anwar2018:learn_prior",
    "tian2015": "classicdeblur.blind.tian2015:learn_model",
}

#: Environment variable overriding the default database folder.
ENV_VAR = "CLASSICDEBLUR_EXEMPLARS"
DB_FILE = "exemplars.npz"
MANIFEST_FILE = "MANIFEST.json"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".webp")
FORMAT_VERSION = 1

_CELEBA = {
    "source": "CelebA 'Align&Cropped' faces (Liu, Luo, Wang & Tang, 'Deep Learning Face Attributes "
              "in the Wild', ICCV 2015), https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
    "terms": "CelebA is available for non-commercial research purposes only; the exemplars derived "
             "from it carry the same terms (no commercial use, no redistribution for profit).",
}


class ExemplarDBError(ClassicDeblurError):
    """An exemplar database is missing, unreadable, fails its sha256 check, or lacks a prior."""


def exemplars_dir() -> Path:
    """The default database folder: ``$CLASSICDEBLUR_EXEMPLARS`` or ``<repo>/exemplars``."""
    return data_dir(ENV_VAR, "exemplars")


def file_sha256(path) -> str:
    """sha256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
            Unknown name, or the file is missing / changed; the message says how to rebuild.
        """
        if name in self._priors:
            return self._priors[name]
        files = self.manifest.get("files", {})
        known = sorted(set(LEARNERS) | set(self.manifest.get("priors_skipped", {}))
                       | {k[:-4] for k in files if k.endswith(".npz") and k != DB_FILE})
        if name not in known:
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


# --------------------------------------------------------------------------- building


def as_database(exemplars=None) -> ExemplarDB:
    """``exemplars`` itself when it is already a database (anything with ``faces``), else :func:`load_database` of it."""
    if exemplars is not None and hasattr(exemplars, "faces"):
        return exemplars
    return load_database(exemplars)


def _natural(name: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _identities(faces_dir: Path):
    """``[(identity, [image paths])]``: sub-folders in natural order, or loose images (one group)."""
    subdirs = sorted((p for p in faces_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: _natural(p.name))
    groups = []
    for d in subdirs:
        imgs = sorted((p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS),
                      key=lambda p: _natural(p.name))
        if imgs:
            groups.append((d.name, imgs))
    loose = sorted((p for p in faces_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS),
                   key=lambda p: _natural(p.name))
    if loose:
        groups.append(("", loose))
    return groups


def _farthest_points(vectors, k):
    """Indices of ``k`` rows: the one nearest the mean first, then farthest-point sampling."""
    v = np.asarray(vectors, dtype=np.float64)
    if len(v) <= k:
        return list(range(len(v)))
    chosen = [int(np.argmin(((v - v.mean(0)) ** 2).sum(1)))]
    dist = ((v - v[chosen[0]]) ** 2).sum(1)
    while len(chosen) < k:
        i = int(np.argmax(dist))
        chosen.append(i)
        dist = np.minimum(dist, ((v - v[i]) ** 2).sum(1))
    return sorted(chosen)


def _prepare(path: Path, size: int, upsample: int, tolerance: float):
    """``(crop uint8, crop landmarks, reason)`` for one image; reason is None when usable."""
    from ..color import to_luminance
    from ..io import read_image
    from .align import align_face, transform_points
    from .detect import detect_faces

    img = read_image(path).image
    if img.ndim == 3:
        img = img[..., :3] if img.shape[2] >= 3 else img[..., 0]
    gray = to_luminance(img) if img.ndim == 3 else img
    faces = detect_faces(gray, upsample=upsample)
    if not faces:
        return None, None, "no_face"
    crop, matrix = align_face(gray, faces[0].landmarks, size)
    pts = transform_points(faces[0].landmarks, matrix)
    out = tolerance * size
    if (pts < -0.5 - out).any() or (pts > size - 0.5 + out).any():
        return None, None, "landmarks_outside_crop"
    return np.rint(np.clip(crop, 0, 1) * 255).astype(np.uint8), pts.astype(np.float32), None


def _write_npz(path: Path, arrays: dict):
    """Like :func:`numpy.savez_compressed` with LZMA instead of deflate (about 20 % smaller
    on face crops); :func:`numpy.load` reads it as any ``.npz``."""
    import zipfile

    for k, v in arrays.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise ExemplarDBError(f"array names for {path.name} must be identifiers; got {k!r}")
        if np.asarray(v).dtype.hasobject:
            raise ExemplarDBError(f"array {k!r} for {path.name} has dtype object; use numeric or str arrays")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_LZMA) as zf:
        for k, v in arrays.items():
            with zf.open(f"{k}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(v), allow_pickle=False)


def _dumps(obj) -> str:
    """JSON with 2-space indents and short lists of numbers on one line."""
    text = json.dumps(obj, indent=2)

    def flat(m):
        return "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]"

    return re.sub(r"\[\s*([-+0-9.eE,\s]*?)\s*\]", flat, text)


def _write_json(path: Path, obj):
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(_dumps(obj) + "\n")
    os.replace(tmp, path)


def _run_learners(db: ExemplarDB, folder: Path, learners, log) -> tuple[dict, dict]:
    """Run each learner on ``db``; write ``<name>.npz`` into ``folder``. Returns (done, skipped)."""
    done, skipped = {}, {}
    for name, target in learners.items():
        module, _, func = target.partition(":")
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            skipped[name] = f"module {module} not found"
            log(f"note: prior {name!r} skipped: module {module} does not exist yet")
            continue
        fn = getattr(importlib.import_module(module), func, None)
        if fn is None:
            skipped[name] = f"{module} has no function {func}"
            log(f"note: prior {name!r} skipped: {module} has no function {func!r}")
            continue
        t0 = time.perf_counter()
        try:
            arrays = fn(db)
        except Exception as exc:
            raise ExemplarDBError(
                f"learner {target} for prior {name!r} failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(arrays, dict) or not arrays:
            raise ExemplarDBError(
                f"learner {target} must return a non-empty dict of arrays; got {type(arrays)}")
        _write_npz(folder / f"{name}.npz", arrays)
        secs = time.perf_counter() - t0
        done[name] = {"learner": target, "seconds": round(secs, 2),
                      "arrays": {k: list(np.shape(v)) for k, v in arrays.items()}}
        log(f"prior {name!r}: {', '.join(arrays)} in {secs:.1f} s")
    return done, skipped


def _file_entries(folder: Path, names) -> dict:
    return {n: {"sha256": file_sha256(folder / n), "bytes": (folder / n).stat().st_size} for n in names}


def _is_database(folder: Path) -> bool:
    return (folder / MANIFEST_FILE).exists() or (folder / DB_FILE).exists()


def _install(tmp: Path, out: Path):
    """Move the finished build ``tmp`` to ``out`` by renaming, keeping out's non-database files."""
    if out.exists():
        mode = stat.S_IMODE(out.stat().st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o777 & ~umask
    os.chmod(tmp, mode)  # mkdtemp makes 0700 folders
    for p in tmp.iterdir():
        os.chmod(p, mode & 0o666)
    if not out.exists():
        os.rename(tmp, out)
        return
    old_files = set(_read_manifest(out).get("files", {})) if (out / MANIFEST_FILE).exists() else set()
    old_files |= {MANIFEST_FILE, DB_FILE}
    for p in out.iterdir():  # carry README.md and other user files over
        if p.name not in old_files and not (tmp / p.name).exists():
            if p.is_dir():
                shutil.copytree(p, tmp / p.name, symlinks=True)
            else:
                shutil.copy2(p, tmp / p.name, follow_symlinks=False)
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rename(out, trash / out.name)
    os.rename(tmp, out)
    shutil.rmtree(trash, ignore_errors=True)


def build_database(faces_dir, out_dir, *, size=128, limit=None, per_identity=None, exclude_first_identities=0,
                   upsample=1, tolerance=0.06, overwrite=False, learners=None, source=None, terms=None,
                   command=None, progress=None, log=print) -> ExemplarDB:
    """Build an exemplar database from a folder of sharp face photos.

    Each image is converted to gray, its largest face detected
    (:func:`~classicdeblur.faces.detect.detect_faces`), aligned to the canonical
    template (:func:`~classicdeblur.faces.align.align_face`) and its structure mask drawn;
    images without a face, or whose landmarks fall outside the crop, are skipped and
    counted. Then every learner of :data:`LEARNERS` runs on the new database (a
    learner whose module does not exist yet is skipped with a note).

    Parameters
    ----------
    faces_dir : str or Path
        Images directly inside, or one sub-folder per identity (natural order, as CelebA's
        ``celeb_K``).
    out_dir : str or Path
        Database folder. Built in a temporary folder next to it, then renamed into place;
        other files already in it (a README) are kept.
    size : int
        Crop side ``S``.
    limit : int, optional
        At most this many exemplars in all.
    per_identity : int, optional
        At most this many per identity, picked to cover poses and expressions
        (farthest-point sampling of the aligned landmarks, starting from the most typical).
    exclude_first_identities : int
        Skip the first identities (e.g. those of a benchmark set, to keep test and
        exemplar people disjoint).
    upsample : int
        Detector upsampling.
    tolerance : float
        Skip faces with a landmark farther than ``tolerance * size`` outside the crop
        (strongly turned heads, whose outline the crop would cut).
    overwrite : bool
        Replace an existing database in ``out_dir``.
    learners : dict, optional
        Name -> ``"module:function"``; default :data:`LEARNERS`; ``{}`` for none.
    source, terms : str, optional
        Recorded in the manifest (CelebA's are filled in when the path names CelebA).
    command : str, optional
        The command line recorded in the manifest (default: this call).
    progress : callable, optional
        Called as ``progress(i, n)`` after each image.
    log : callable
        Receives notes (skipped learners, timings); ``print`` by default.

    Returns
    -------
    ExemplarDB
        The database as loaded from ``out_dir``.

    Raises
    ------
    OutputExistsError
        ``out_dir`` holds a database and ``overwrite`` is False.
    ExemplarDBError
        No usable face found, or a learner failed.
    """
    size = check_count("size", size, 16)
    if size % 8:
        raise ValueError(f"size must be a multiple of 8 (masks are bit-packed); got {size}")
    exclude_first_identities = check_count("exclude_first_identities", exclude_first_identities, 0)
    limit = None if limit is None else check_count("limit", limit, 1)
    per_identity = None if per_identity is None else check_count("per_identity", per_identity, 1)
    upsample = check_count("upsample", upsample, 0)
    tolerance = float(tolerance)
    learners = dict(LEARNERS if learners is None else learners)
    faces_dir, out = Path(faces_dir).expanduser(), Path(out_dir).expanduser()
    if not faces_dir.is_dir():
        raise ClassicDeblurError(f"{faces_dir}: not a folder of face images")
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and _is_database(out) and not overwrite:
        raise OutputExistsError(f"{out} already holds an exemplar database; use --overwrite (overwrite=True)")
    if not out.parent.is_dir():
        raise ClassicDeblurError(f"cannot write {out}: the folder {out.parent} does not exist")
    if command is None:
        command = (f"build_database({str(faces_dir)!r}, {str(out)!r}, size={size}, limit={limit}, "
                   f"per_identity={per_identity}, exclude_first_identities={exclude_first_identities}, "
                   f"upsample={upsample}, tolerance={tolerance})")
    if source is None or terms is None:
        celeba = "celeba" in str(faces_dir.resolve()).lower()
        source = source or (_CELEBA["source"] if celeba else f"face images under {faces_dir}")
        terms = terms or (_CELEBA["terms"] if celeba else "those of the source images")

    t0 = time.perf_counter()
    groups = _identities(faces_dir)
    excluded, groups = groups[:exclude_first_identities], groups[exclude_first_identities:]
    n_images = sum(len(g) for _, g in groups)
    faces, points, names, used = [], [], [], []
    skipped = {"no_face": [], "landmarks_outside_crop": []}
    examined = 0
    for ident, paths in groups:
        if limit is not None and len(faces) >= limit:
            break
        cand = []
        for p in paths:
            crop, pts, reason = _prepare(p, size, upsample, tolerance)
            examined += 1
            rel = p.relative_to(faces_dir).as_posix()
            if reason is not None:
                skipped[reason].append(rel)
            else:
                cand.append((crop, pts, rel))
            if progress is not None:
                progress(examined, n_images)
        if not cand:
            continue
        keep = len(cand) if per_identity is None else per_identity
        if limit is not None:
            keep = min(keep, limit - len(faces))
        idx = _farthest_points([c[1].ravel() for c in cand], keep) if keep < len(cand) else range(len(cand))
        for i in idx:
            faces.append(cand[i][0])
            points.append(cand[i][1])
            names.append(cand[i][2])
        used.append(ident)
    if not faces:
        raise ExemplarDBError(f"no usable face found in {examined} images under {faces_dir}")
    seconds_faces = time.perf_counter() - t0

    from .align import TEMPLATE
    from .structure import DEFAULT_PARTS

    db = ExemplarDB(np.stack(faces), np.stack(points), names)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    try:
        packed = np.packbits(db.masks.reshape(len(db), -1), axis=1)
        _write_npz(tmp / DB_FILE, {"faces": np.stack(faces), "masks": packed,
                                   "landmarks": np.stack(points).astype(np.float32),
                                   "names": np.asarray(names, dtype=str)})
        manifest = {
            "format": FORMAT_VERSION,
            "description": "classicdeblur face-exemplar database: gray aligned face crops, 68 landmarks, "
                           "structure masks (Pan et al. ECCV 2014) and learned face priors",
            "source": source,
            "terms": terms,
            "count": len(db),
            "resolution": size,
            "faces": {"dtype": "uint8", "shape": [len(db), size, size], "color": "gray (ITU-R BT.601 luma)"},
            "landmarks": {"layout": "iBUG 68 points, (x, y) crop pixels, pixel centres at integers",
                          "model": "dlib shape_predictor_68_face_landmarks (face-recognition-models 0.3.0)"},
            "template": {
                "anchors": ["image-left eye centre (mean of 36-41)", "image-right eye centre (mean of 42-47)",
                            "nose tip (30)", "mouth corner 48", "mouth corner 54"],
                "positions": np.round(TEMPLATE, 4).tolist(),
                "units": "fractions of the crop side; pixel = fraction * size - 0.5",
                "fit": "least-squares similarity (classicdeblur.faces.align.alignment_matrix)",
            },
            "masks": {"parts": list(DEFAULT_PARTS), "width": 1,
                      "storage": "np.packbits of each flattened (size*size) bool mask, "
                                 "shape (N, size*size/8)"},
            "selection": {
                "identities_used": len(used),
                "identities_excluded": [name for name, _ in excluded],
                "excluded_reason": (f"the first {exclude_first_identities} identities (natural order) are "
                                    "excluded so that test faces and exemplar people are disjoint (the "
                                    "faces-256 benchmark uses the first image of each of the first 40 "
                                    "CelebA identities)") if exclude_first_identities else None,
                "per_identity": per_identity,
                "method": "farthest-point sampling of aligned landmarks, starting from the most typical "
                          "face, to cover poses and expressions",
                "limit": limit,
                "images_examined": examined,
                "detector_upsample": upsample,
                "landmark_tolerance": f"landmarks at most {tolerance} * size outside the crop",
            },
            "skipped": {k: len(v) for k, v in skipped.items()},
            "skipped_files": skipped,
            "build": {
                "command": command,
                "seconds": None,
                "date": datetime.date.today().isoformat(),
                "classicdeblur": _version(),
            },
        }
        log(f"{len(db)} exemplars from {len(used)} identities ({examined} images examined, "
            f"{sum(len(v) for v in skipped.values())} skipped) in {seconds_faces:.1f} s")
        db.path, db.manifest = tmp, manifest
        done, skipped_learners = _run_learners(db, tmp, learners, log)
        manifest["priors"] = done
        manifest["priors_skipped"] = skipped_learners
        manifest["build"]["seconds"] = round(time.perf_counter() - t0, 1)
        manifest["files"] = _file_entries(tmp, [DB_FILE] + [f"{n}.npz" for n in done])
        _write_json(tmp / MANIFEST_FILE, manifest)
        _install(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_database(out)


def learn_priors(path=None, names=None, *, log=print) -> ExemplarDB:
    """(Re)run learners on an existing database and record their files in its manifest.

    Parameters
    ----------
    path : str or Path, optional
        Database folder (default :func:`exemplars_dir`).
    names : sequence of str, optional
        Priors to learn (keys of :data:`LEARNERS`); default all.

    Returns
    -------
    ExemplarDB
        The reloaded database.
    """
    db = load_database(path)
    names = list(LEARNERS) if names is None else list(names)
    unknown = [n for n in names if n not in LEARNERS]
    if unknown:
        raise ExemplarDBError(f"unknown prior(s) {', '.join(unknown)}; choose from: {', '.join(LEARNERS)}")
    folder = db.path
    tmp = Path(tempfile.mkdtemp(prefix=".learn-", dir=folder))
    try:
        done, skipped = _run_learners(db, tmp, {n: LEARNERS[n] for n in names}, log)
        manifest = json.loads(json.dumps(db.manifest))
        for n in done:
            os.replace(tmp / f"{n}.npz", folder / f"{n}.npz")
        manifest.setdefault("priors", {}).update(done)
        still = {**manifest.get("priors_skipped", {}), **skipped}
        manifest["priors_skipped"] = {k: v for k, v in still.items() if k not in manifest["priors"]}
        manifest.setdefault("files", {}).update(_file_entries(folder, [f"{n}.npz" for n in done]))
        _write_json(folder / MANIFEST_FILE, manifest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _load.cache_clear()
    return load_database(folder)


def _version():
    from .. import __version__

    return __version__

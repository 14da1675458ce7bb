"""Build an exemplar database from a folder of sharp face photos.

:func:`build_database` runs these steps, one function each:

1. select identities and faces (:func:`_identities`, :func:`_select_faces`,
   :func:`_farthest_points`) and prepare each crop (:func:`_prepare`: detect, align,
   check the landmarks);
2. write the arrays (:func:`_write_arrays`) and the manifest (:func:`_manifest`) into a
   temporary folder next to the output, and run the prior learners on the new database
   (:mod:`~classicdeblur.faces.exemplar_learn`);
3. install the folder by renaming (:func:`_install`).

The selection and cropping parameters are grouped in :class:`BuildOptions`. The learners
are passed in (``{name: learn}``); the CLI passes :func:`classicdeblur.blind.prior_learners`.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._validation import check_count
from ..errors import ClassicDeblurError, OutputExistsError
from ._exemplar_files import _file_entries, _write_json, _write_npz
from .exemplar_learn import _check_learners, _run_learners
from .exemplars import (
    DB_FILE,
    FORMAT_VERSION,
    IMAGE_EXTENSIONS,
    MANIFEST_FILE,
    ExemplarDB,
    ExemplarDBError,
    _read_manifest,
    load_database,
)

__all__ = ["BuildOptions", "build_database"]

_CELEBA = {
    "source": "CelebA 'Align&Cropped' faces (Liu, Luo, Wang & Tang, 'Deep Learning Face Attributes "
              "in the Wild', ICCV 2015), https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
    "terms": "CelebA is available for non-commercial research purposes only; the exemplars derived "
             "from it carry the same terms (no commercial use, no redistribution for profit).",
}


@dataclass(frozen=True)
class BuildOptions:
    """How faces are selected and cropped; checked and normalised on creation.

    Parameters
    ----------
    size : int
        Crop side ``S`` (at least 16, a multiple of 8).
    limit : int, optional
        At most this many exemplars in all.
    per_identity : int, optional
        At most this many per identity.
    exclude_first_identities : int
        Skip the first identities (natural order).
    upsample : int
        Detector upsampling.
    tolerance : float
        Skip faces with a landmark farther than ``tolerance * size`` outside the crop.

    Examples
    --------
    >>> BuildOptions(size=64.0, per_identity=2)
    BuildOptions(size=64, limit=None, per_identity=2, exclude_first_identities=0, upsample=1, tolerance=0.06)
    >>> BuildOptions(size=60)
    Traceback (most recent call last):
    ...
    ValueError: size must be a multiple of 8 (masks are bit-packed); got 60
    """

    size: int = 128
    limit: int | None = None
    per_identity: int | None = None
    exclude_first_identities: int = 0
    upsample: int = 1
    tolerance: float = 0.06

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        put("size", check_count("size", self.size, 16))
        if self.size % 8:
            raise ValueError(f"size must be a multiple of 8 (masks are bit-packed); got {self.size}")
        put("exclude_first_identities", check_count("exclude_first_identities", self.exclude_first_identities, 0))
        put("limit", None if self.limit is None else check_count("limit", self.limit, 1))
        put("per_identity", None if self.per_identity is None else check_count("per_identity", self.per_identity, 1))
        put("upsample", check_count("upsample", self.upsample, 0))
        put("tolerance", float(self.tolerance))


@dataclass
class _Selection:
    """The chosen faces (uint8 crops, crop landmarks, source names) and the selection's bookkeeping."""

    excluded: list
    faces: list = field(default_factory=list)
    points: list = field(default_factory=list)
    names: list = field(default_factory=list)
    used: list = field(default_factory=list)
    skipped: dict = field(default_factory=lambda: {"no_face": [], "landmarks_outside_crop": []})
    examined: int = 0


# --------------------------------------------------------------------------- checking the call


def _check_folders(faces_dir: Path, out: Path, overwrite: bool):
    """Raise unless ``faces_dir`` is a folder and ``out`` may be (over)written."""
    if not faces_dir.is_dir():
        raise ClassicDeblurError(f"{faces_dir}: not a folder of face images")
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and _is_database(out) and not overwrite:
        raise OutputExistsError(f"{out} already holds an exemplar database; use --overwrite (overwrite=True)")
    if not out.parent.is_dir():
        raise ClassicDeblurError(f"cannot write {out}: the folder {out.parent} does not exist")


def _call_text(faces_dir: Path, out: Path, opts: BuildOptions) -> str:
    """The manifest's build command when none is given: this call, as Python."""
    return (f"build_database({str(faces_dir)!r}, {str(out)!r}, size={opts.size}, limit={opts.limit}, "
            f"per_identity={opts.per_identity}, exclude_first_identities={opts.exclude_first_identities}, "
            f"upsample={opts.upsample}, tolerance={opts.tolerance})")


def _source_and_terms(faces_dir: Path, source, terms):
    """``(source, terms)``, CelebA's filled in when the path names CelebA."""
    if source is None or terms is None:
        celeba = "celeba" in str(faces_dir.resolve()).lower()
        source = source or (_CELEBA["source"] if celeba else f"face images under {faces_dir}")
        terms = terms or (_CELEBA["terms"] if celeba else "those of the source images")
    return source, terms


def _is_database(folder: Path) -> bool:
    return (folder / MANIFEST_FILE).exists() or (folder / DB_FILE).exists()


# --------------------------------------------------------------------------- selecting faces


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


def _candidates(paths, faces_dir: Path, opts: BuildOptions, sel: _Selection, report) -> list:
    """``[(crop, landmarks, name)]`` of one identity's usable images; counts the others in ``sel``."""
    cand = []
    for p in paths:
        crop, pts, reason = _prepare(p, opts.size, opts.upsample, opts.tolerance)
        sel.examined += 1
        rel = p.relative_to(faces_dir).as_posix()
        if reason is not None:
            sel.skipped[reason].append(rel)
        else:
            cand.append((crop, pts, rel))
        report()
    return cand


def _select_faces(faces_dir: Path, opts: BuildOptions, progress) -> _Selection:
    """Prepare the images identity by identity and keep at most ``per_identity`` (and ``limit``) faces."""
    groups = _identities(faces_dir)
    excluded, groups = groups[:opts.exclude_first_identities], groups[opts.exclude_first_identities:]
    n_images = sum(len(g) for _, g in groups)
    sel = _Selection(excluded=[name for name, _ in excluded])

    def report():
        if progress is not None:
            progress(sel.examined, n_images)

    for ident, paths in groups:
        if opts.limit is not None and len(sel.faces) >= opts.limit:
            break
        cand = _candidates(paths, faces_dir, opts, sel, report)
        if not cand:
            continue
        keep = len(cand) if opts.per_identity is None else opts.per_identity
        if opts.limit is not None:
            keep = min(keep, opts.limit - len(sel.faces))
        idx = _farthest_points([c[1].ravel() for c in cand], keep) if keep < len(cand) else range(len(cand))
        for i in idx:
            sel.faces.append(cand[i][0])
            sel.points.append(cand[i][1])
            sel.names.append(cand[i][2])
        sel.used.append(ident)
    if not sel.faces:
        raise ExemplarDBError(f"no usable face found in {sel.examined} images under {faces_dir}")
    return sel


# --------------------------------------------------------------------------- writing and installing


def _write_arrays(folder: Path, db: ExemplarDB, sel: _Selection):
    """``exemplars.npz``: uint8 crops, bit-packed masks, float32 landmarks, source names."""
    packed = np.packbits(db.masks.reshape(len(db), -1), axis=1)
    _write_npz(folder / DB_FILE, {"faces": np.stack(sel.faces), "masks": packed,
                                  "landmarks": np.stack(sel.points).astype(np.float32),
                                  "names": np.asarray(sel.names, dtype=str)})


def _manifest(opts: BuildOptions, sel: _Selection, source, terms, command) -> dict:
    """The manifest, without ``priors``, ``priors_skipped``, ``files`` and the build's seconds."""
    from .align import TEMPLATE
    from .structure import DEFAULT_PARTS

    size, count = opts.size, len(sel.faces)
    return {
        "format": FORMAT_VERSION,
        "description": "classicdeblur face-exemplar database: gray aligned face crops, 68 landmarks, "
                       "structure masks (Pan et al. ECCV 2014) and learned face priors",
        "source": source,
        "terms": terms,
        "count": count,
        "resolution": size,
        "faces": {"dtype": "uint8", "shape": [count, size, size], "color": "gray (ITU-R BT.601 luma)"},
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
            "identities_used": len(sel.used),
            "identities_excluded": sel.excluded,
            "excluded_reason": (f"the first {opts.exclude_first_identities} identities (natural order) are "
                                "excluded so that test faces and exemplar people are disjoint (the "
                                "faces-256 benchmark uses the first image of each of the first 40 "
                                "CelebA identities)") if opts.exclude_first_identities else None,
            "per_identity": opts.per_identity,
            "method": "farthest-point sampling of aligned landmarks, starting from the most typical "
                      "face, to cover poses and expressions",
            "limit": opts.limit,
            "images_examined": sel.examined,
            "detector_upsample": opts.upsample,
            "landmark_tolerance": f"landmarks at most {opts.tolerance} * size outside the crop",
        },
        "skipped": {k: len(v) for k, v in sel.skipped.items()},
        "skipped_files": sel.skipped,
        "build": {
            "command": command,
            "seconds": None,
            "date": datetime.date.today().isoformat(),
            "classicdeblur": _version(),
        },
    }


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


# --------------------------------------------------------------------------- building


def build_database(faces_dir, out_dir, *, size=128, limit=None, per_identity=None, exclude_first_identities=0,
                   upsample=1, tolerance=0.06, overwrite=False, learners=None, source=None, terms=None,
                   command=None, progress=None, log=print) -> ExemplarDB:
    """Build an exemplar database from a folder of sharp face photos.

    Each image is converted to gray, its largest face detected
    (:func:`~classicdeblur.faces.detect.detect_faces`), aligned to the canonical
    template (:func:`~classicdeblur.faces.align.align_face`) and its structure mask drawn;
    images without a face, or whose landmarks fall outside the crop, are skipped and
    counted. Then every learner of ``learners`` runs on the new database.

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
        Prior name -> ``learn(db) -> dict[str, ndarray]``, saved as ``<name>.npz``; default
        none. The CLI passes :func:`classicdeblur.blind.prior_learners`.
    source, terms : str, optional
        Recorded in the manifest (CelebA's are filled in when the path names CelebA).
    command : str, optional
        The command line recorded in the manifest (default: this call).
    progress : callable, optional
        Called as ``progress(i, n)`` after each image.
    log : callable
        Receives notes (counts, timings); ``print`` by default.

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
    ValueError
        A bad option (see :class:`BuildOptions`).
    TypeError
        A learner is not callable.
    """
    opts = BuildOptions(size=size, limit=limit, per_identity=per_identity,
                        exclude_first_identities=exclude_first_identities, upsample=upsample, tolerance=tolerance)
    learners = _check_learners(learners)
    faces_dir, out = Path(faces_dir).expanduser(), Path(out_dir).expanduser()
    _check_folders(faces_dir, out, overwrite)
    if command is None:
        command = _call_text(faces_dir, out, opts)
    source, terms = _source_and_terms(faces_dir, source, terms)

    t0 = time.perf_counter()
    sel = _select_faces(faces_dir, opts, progress)
    seconds_faces = time.perf_counter() - t0

    db = ExemplarDB(np.stack(sel.faces), np.stack(sel.points), sel.names)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    try:
        _write_arrays(tmp, db, sel)
        manifest = _manifest(opts, sel, source, terms, command)
        log(f"{len(db)} exemplars from {len(sel.used)} identities ({sel.examined} images examined, "
            f"{sum(len(v) for v in sel.skipped.values())} skipped) in {seconds_faces:.1f} s")
        db.path, db.manifest = tmp, manifest
        manifest["priors"] = _run_learners(db, tmp, learners, log)
        manifest["priors_skipped"] = {}
        manifest["build"]["seconds"] = round(time.perf_counter() - t0, 1)
        manifest["files"] = _file_entries(tmp, [DB_FILE] + [f"{n}.npz" for n in manifest["priors"]])
        _write_json(tmp / MANIFEST_FILE, manifest)
        _install(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_database(out)


def _version():
    from .. import __version__

    return __version__

r"""Zhang, Yang, Zhang, Nasrabadi & Huang 2011: joint blind restoration and recognition (JRR).

"Close the loop: joint blind image restoration and recognition with sparse
representation prior" (ICCV 2011) restores a blurred face and recognises it
*together*: the latent face, if correctly restored, has a good **sparse
representation** in terms of a gallery of sharp faces of all identities,
and the sparsest representation names the identity, as in Wright et al.'s
(2009) sparse-representation-based classification (SRC). The restoration
pursues that representation, and the representation guides the restoration.

What could be read, and what is ours
------------------------------------
The paper's body could not be reached: searches of the stored documentation,
pages and code found only its abstract (IEEE Xplore record, ICCV 2011,
pp. 770-777) and the survey's summary (Wang et al., section 2: "the sparse
prior for the regularization of the latent image and the L2 norm prior for
the regularization of the blur kernel", plus the sparse representation prior
over the training faces, "effective for facial images with good face
alignment and simple motion blurring"). From those: the joint objective over
the latent image :math:`x`, the kernel :math:`k` and the sparse code
:math:`\alpha` over a dictionary :math:`D` of the gallery faces of all
identities; a sparse (gradient) prior on :math:`x`; an :math:`\ell_2` prior on
:math:`k`; alternating minimisation; the identity as SRC's class with the
least class-wise residual. **Everything else is ours**: the equation labels
Z1-Z5 are this module's (the paper's numbering could not be read), as are
every weight, the feature resolution, the face mask, the alignment, the
solvers and where the coupling runs. Our reading of the objective (Eq. Z1):

.. math::
   \min_{x,k,\alpha}\ \|k * x - y\|^2 + \eta\,\|M \odot (W x - D\alpha)\|^2
   + \tau\|\alpha\|_1 + \rho(x) + \gamma\|k\|^2,                          \quad (Z1)

with :math:`W` the similarity warp of the input into the gallery's aligned
frame (:mod:`classicdeblur.faces.align`: dlib's landmarks on the input, a
user's ``face_box``, or the framing of a face crop when the detector finds
nothing), :math:`M` a face mask of that frame (the convex hull of the mean
68-point shape: background and hair are not modelled by other people's
faces), :math:`D` the gallery's faces as unit-norm columns and
:math:`\rho(x)` the sparse gradient prior of the generic alternation below.
It is minimised by alternation (ours):

* **k-step and the generic part of the x-step**: Xu & Jia's (2010) phase 1
  and 2, unchanged (:class:`~classicdeblur.blind.xu2010.XuJiaEstimator`:
  r-map and shock-filter edge selection, Gaussian (:math:`\ell_2`) kernel
  prior :math:`\gamma\|k\|^2` in Fourier, latent image with the spatial
  prior, ISD refinement at the finest level) -- the "L2 norm prior for the
  kernel" of the survey's summary, on an alternation that works on faces.
* **Sparse coding** (SRC's :math:`\ell_1` problem, Wright et al. 2009,
  Algorithm 1, in its Lagrangian form), on features: the latent image warped
  into the gallery frame (:math:`S` = 128 px), area-averaged to
  ``features`` px (32), masked and less its mean, :math:`f = P M W x - \bar f`
  (the gallery's faces likewise, then scaled to unit norm: the code spends
  no atom on brightness; on CelebA identities 40-95 against the exemplar
  database this raised SRC's accuracy on sharp faces from 15 to 20 of 28,
  ours):

  .. math:: \alpha = \arg\min_\alpha \tfrac12\|f - D_f\alpha\|^2
            + \tau\,\|D_f^T f\|_\infty\,\|\alpha\|_1,                  \quad (Z2)

  by ``fista_iterations`` (200) FISTA steps on the Gram matrix
  :math:`D_f^T D_f` (Beck & Teboulle 2009); the weight is relative so that it
  depends on neither contrast nor size (``tau`` = 0.005, chosen on those
  tuning identities: 0.02 and 0.1 recognised fewer).
* **Coupling** (the sparse representation prior in the x-step): the
  representation at the gallery's resolution, :math:`z = c\,D\alpha + \bar f`
  (the scale :math:`c = \langle f, D_f\alpha\rangle / \|D_f\alpha\|^2` undoes the
  shrinkage of :math:`\ell_1`), is warped back into the level's frame
  (:math:`W^{-1}`) and blended with the latent image by the feathered mask,
  :math:`\tilde z = m \odot W^{-1}z + (1 - m) \odot x`; then

  .. math:: x \leftarrow \arg\min_x \|k * x - y\|^2 + \eta\,\|x - \tilde z\|^2
            = \mathcal{F}^{-1}\Big(\frac{\overline{K} Y + \eta \tilde Z}
              {|K|^2 + \eta}\Big),                                       \quad (Z3)

  closed form on the periodic extension of the level (Liu & Jia 2008). It
  runs at the ``sr_levels`` finest pyramid levels (2), after every
  latent-image step of Xu & Jia there, so the next kernel step selects its
  edges from a face pulled towards the gallery's sparse representation.
  ``eta`` = 0.05 (ours) is a light weight: on the tuning faces (CelebA
  identities 40-95, 4 faces x 2 random camera-shake kernels of the
  project's generator, the probe left out of the gallery) the mean PSNR was
  29.24 dB without the coupling and 29.09 / 29.11 / 29.14 dB with
  ``eta`` = 0.02 / 0.05 / 0.1: the coupling, as we read it, does not help
  the kernel on faces of people absent from or few in the gallery (the
  representation is another person's face, never pixel-exact).
* **Recognition** (SRC's classification rule, Wright et al. 2009, Algorithm 1):

  .. math:: r_i(f) = \|f - D_f\,\delta_i(\alpha)\|_2, \qquad
            \mathrm{identity} = \arg\min_i r_i(f),                         \quad (Z4)

  with :math:`\delta_i` keeping the coefficients of identity :math:`i`. It is
  reported on the final restored face (the joint result) and, for
  comparison, on the blurred input (SRC on the blurred face directly).
* **Final step** (Eq. Z5): Xu & Jia's TV-:math:`\ell_1` deconvolution of the
  full-resolution input with the final kernel (any non-blind method through
  ``final``).

The gallery is, by default, the exemplar database shipped in ``exemplars/``
(420 aligned 128-px CelebA faces of 60 identities, 40-99; the identity of an
exemplar is the folder of its source file); or a folder with one sub-folder
of images per identity (faces found by dlib, aligned like the database); or
a mapping ``{identity: [aligned square gray faces]}``; or a
:class:`Gallery`. On a face of someone absent from the gallery the sparse
code still reconstructs a face-like image, and the identity is then the
nearest one in the gallery (no rejection: the paper's sparsity concentration
index was not read and is not used).

What was measured (``benchmarks/faces.py``, ``benchmarks/recognition.py``; 2-core CPU)
---------------------------------------------------------------------------------------

* ``faces-256``, 8 faces x 8 Levin kernels: 29.75 dB / 0.836 (kernel
  similarity 0.721, ER <= 3 in 83%, identity distance 0.248) against
  ``xu2010``'s 29.95 dB / 0.840 (0.732, 86%, 0.239) and the blurred input's
  26.23 dB / 0.721. ``yaleb-256``, 6 subjects x 8 kernels: 30.77 dB / 0.852
  against 30.82 / 0.854 and 29.58 / 0.824. The coupling costs ``xu2010``
  0.1-0.2 dB: the benchmark's people are not in the default gallery.
* Speed: 1.06 s per 256-px face against ``xu2010``'s 0.62 s (same run).
* Recognition of the 40 CelebA probes of ``faces-256`` under the 8 Levin
  kernels, against 6 other images of each probe identity (+ the 60
  identities of the exemplar database: 100 identities): SRC on the blurred
  face 21.6%, the joint result 25.9%, ``eta=0`` (restore, then recognise)
  24.1%, SRC on the *sharp* probe 22.5%; with the 40 identities alone,
  34.7% / 34.4% (sharp 32.5%). Pixel-domain SRC is weak on in-the-wild
  CelebA faces (pose, expression and light vary within a person; Wright et
  al. and the paper worked on aligned, frontal faces): the blur is not what
  limits recognition here, and the joint result is not clearly better than
  SRC on the blurred face (40 probes: a difference of 4 points is noise).

Device: the warps are bilinear gathers precomputed once per pyramid level on
the host and moved to the device once, the dictionary once per run, so the
sparse coding, the class residuals and the coupling run on the array
namespace ``xp`` of the input (NumPy or CuPy) with no per-iteration
transfer; face detection runs once, on the host.

References
----------
.. [1] H. Zhang, J. Yang, Y. Zhang, N. M. Nasrabadi and T. S. Huang, "Close
   the loop: joint blind image restoration and recognition with sparse
   representation prior", ICCV 2011, pp. 770-777.
.. [2] J. Wright, A. Y. Yang, A. Ganesh, S. S. Sastry and Y. Ma, "Robust face
   recognition via sparse representation", IEEE TPAMI 31(2), 2009.
.. [3] L. Xu and J. Jia, "Two-phase kernel estimation for robust motion
   deblurring", ECCV 2010.
.. [4] A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding
   algorithm for linear inverse problems", SIAM J. Imaging Sci. 2(1), 2009.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import backend
from .._validation import check_count as _count
from .._validation import check_positive as _positive
from ..errors import ClassicDeblurError, NoFaceError
from .framework import default_kernel_size, gray, run_blind
from .method import blind_method
from .xu2010 import XuJiaEstimator

__all__ = ["zhang2011", "Gallery", "GalleryError", "load_gallery", "sparse_code", "class_residuals",
           "recognise"]

#: Side of the gallery's aligned frame (that of the shipped exemplar database).
GALLERY_SIZE = 128
#: Image file extensions read from a gallery folder.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".webp")
#: Identities listed in ``info["identity"]["ranking"]``.
RANKING = 5


class GalleryError(ClassicDeblurError):
    """A gallery is missing, empty, or holds images that cannot be used."""


# --------------------------------------------------------------------------------------
# the gallery
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Gallery:
    """Aligned sharp gray faces with the identity of each.

    Attributes
    ----------
    faces : ndarray float32 (N, S, S)
        Faces aligned to the canonical frame (:mod:`classicdeblur.faces.align`), in [0, 1].
    labels : tuple of str
        The identity of each face.
    names : tuple of str
        Where each face came from (file or key), for reports.
    """

    faces: np.ndarray
    labels: tuple
    names: tuple = field(default=())

    @property
    def identities(self) -> list:
        """The distinct identities, sorted."""
        return sorted(set(self.labels))

    def __len__(self):
        return int(self.faces.shape[0])

    def __repr__(self):
        return (f"Gallery({len(self)} faces of {len(self.identities)} identities, "
                f"{self.faces.shape[1]}x{self.faces.shape[2]})")


def _resize_square(face, size):
    import cv2

    face = np.asarray(backend.to_numpy(face), dtype=np.float32)
    if face.ndim == 3:
        face = backend.to_numpy(gray(face)).astype(np.float32)
    if face.ndim != 2 or face.shape[0] != face.shape[1] or face.shape[0] < 8:
        raise GalleryError(f"gallery faces must be square gray or colour crops of at least 8 px; got {face.shape}")
    if face.shape[0] != size:
        interp = cv2.INTER_AREA if face.shape[0] > size else cv2.INTER_LINEAR
        face = cv2.resize(face, (size, size), interpolation=interp)
    return np.clip(face, 0, 1)


def _from_mapping(mapping, size):
    faces, labels, names = [], [], []
    for ident in sorted(mapping, key=str):
        items = mapping[ident]
        if hasattr(items, "ndim") and getattr(items, "ndim", 0) == 2:
            items = [items]
        for j, face in enumerate(items):
            faces.append(_resize_square(face, size))
            labels.append(str(ident))
            names.append(f"{ident}/{j}")
    if not faces:
        raise GalleryError("the gallery mapping holds no faces; give {identity: [aligned faces]}")
    return Gallery(np.stack(faces), tuple(labels), tuple(names))


def _from_database(db, size):
    names = [str(n) for n in db.names]
    labels = getattr(db, "labels", None)
    if labels is None:
        # the exemplar database: the identity is the folder of each source file (celeb_40/164942.jpg)
        labels = [n.replace("\\", "/").rsplit("/", 1)[0] if "/" in n.replace("\\", "/") else n for n in names]
    faces = np.asarray(db.faces, dtype=np.float32)
    if faces.ndim != 3 or faces.shape[0] == 0:
        raise GalleryError(f"the gallery database holds no faces (shape {faces.shape})")
    if faces.shape[1] != size:
        faces = np.stack([_resize_square(f, size) for f in faces])
    return Gallery(faces, tuple(str(x) for x in labels), tuple(names))


@functools.lru_cache(maxsize=4)
def _database_gallery(db, size):
    """The gallery of an exemplar database (cached per loaded database: it is cached too)."""
    return _from_database(db, size)


def _align_file(path, size):
    from ..faces.align import align_face
    from ..faces.detect import detect_faces
    from ..io import read_image

    try:
        image = read_image(path).image
    except ClassicDeblurError as exc:
        raise GalleryError(f"gallery image {path}: {exc}") from None
    lum = np.clip(backend.to_numpy(gray(image)), 0, 1)
    for upsample in (1, 2):
        found = detect_faces(lum, upsample=upsample)
        if found:
            crop, _ = align_face(lum, found[0].landmarks, size)
            return crop.astype(np.float32)
    raise NoFaceError(f"no face found in gallery image {path}; crop it to the face or remove it from the gallery")


@functools.lru_cache(maxsize=4)
def _load_folder(folder: str, stamp, size: int) -> Gallery:
    root = Path(folder)
    faces, labels, names = [], [], []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS):
            faces.append(_align_file(path, size))
            labels.append(sub.name)
            names.append(f"{sub.name}/{path.name}")
    if not faces:
        raise GalleryError(f"gallery folder {root} has no images in identity sub-folders "
                           f"({', '.join(IMAGE_EXTENSIONS)}); put each person's faces in a folder of their own")
    return Gallery(np.stack(faces), tuple(labels), tuple(names))


def _folder_stamp(root: Path):
    out = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        for p in sorted(sub.iterdir()):
            if p.suffix.lower() in IMAGE_EXTENSIONS:
                st = p.stat()
                out.append((sub.name, p.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def load_gallery(gallery=None, *, exemplars=None, size=GALLERY_SIZE) -> Gallery:
    """The gallery of sharp faces the sparse representation uses.

    Parameters
    ----------
    gallery : None, str, Path, dict, Gallery or database
        ``None``: the exemplar database (``exemplars``, default the shipped
        one; identities = the folders of its source files). A folder: one
        sub-folder of images per identity; each image's face is found by
        dlib (:func:`~classicdeblur.faces.detect.detect_faces`) and aligned
        (:func:`~classicdeblur.faces.align.align_face`); folders are cached
        while unchanged. A dict ``{identity: [faces]}`` of square gray or
        colour crops already aligned like the database (resized to ``size``).
        An object with ``faces`` and ``names`` (and optionally ``labels``),
        such as :class:`~classicdeblur.faces.exemplars.ExemplarDB`.
    exemplars : str, Path or ExemplarDB, optional
        The exemplar database when ``gallery`` is None.
    size : int
        Side of the aligned frame.

    Returns
    -------
    Gallery

    Raises
    ------
    GalleryError
        Missing folder, a folder without images in sub-folders, an empty mapping, an unreadable image.
    NoFaceError
        No face found in a gallery image.

    Examples
    --------
    >>> import numpy as np
    >>> g = load_gallery({"ann": [np.full((64, 64), 0.2)], "bob": [np.full((32, 32), 0.7)] * 2})
    >>> g, g.identities, g.labels
    (Gallery(3 faces of 2 identities, 128x128), ['ann', 'bob'], ('ann', 'bob', 'bob'))
    >>> load_gallery("/no/such/folder")
    Traceback (most recent call last):
    ...
    classicdeblur.blind.zhang2011.GalleryError: gallery folder /no/such/folder does not exist
    """
    size = _count("size", size, 8)
    if isinstance(gallery, Gallery):
        if gallery.faces.shape[1] != size:
            return Gallery(np.stack([_resize_square(f, size) for f in gallery.faces]), gallery.labels, gallery.names)
        return gallery
    if gallery is None:
        from ..faces.exemplars import as_database

        return _database_gallery(as_database(exemplars), size)
    if isinstance(gallery, (str, Path)):
        root = Path(gallery).expanduser()
        if not root.is_dir():
            raise GalleryError(f"gallery folder {gallery} does not exist"
                               if not root.exists() else f"gallery {gallery} is not a folder")
        root = root.resolve()
        return _load_folder(str(root), _folder_stamp(root), size)
    if isinstance(gallery, dict):
        return _from_mapping(gallery, size)
    if hasattr(gallery, "faces") and hasattr(gallery, "names"):
        return _from_database(gallery, size)
    raise GalleryError(f"gallery must be a folder, a dict {{identity: [faces]}} or a Gallery; "
                       f"got {type(gallery).__name__}")


def face_mask(size=GALLERY_SIZE):
    """The face region of the aligned frame: the convex hull of the mean 68-point shape, raised to the brows' top.

    Examples
    --------
    >>> m = face_mask(128)
    >>> m.shape, bool(m[64, 64]), bool(m[2, 2])
    ((128, 128), True, False)
    """
    import cv2

    from ..faces.align import template_landmarks

    pts = template_landmarks(size)
    brows = pts[17:27].copy()
    brows[:, 1] -= 0.06 * size  # a little of the forehead above the brows
    hull = cv2.convexHull(np.concatenate([pts, brows]).astype(np.float32)).astype(np.int32)
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


# --------------------------------------------------------------------------------------
# the dictionary, the warps and the sparse code (all on the device of the input)
# --------------------------------------------------------------------------------------


def _area(a, factor):
    """Area-average the last two axes of ``a`` by an integer ``factor``."""
    *lead, h, w = a.shape
    return a.reshape(*lead, h // factor, factor, w // factor, factor).mean(axis=(-3, -1))


@functools.lru_cache(maxsize=4)
def _host_dictionary(gallery: Gallery, features: int):
    """The host arrays of :class:`_Dictionary` (cached per gallery object and feature size)."""
    import cv2

    S = gallery.faces.shape[1]
    factor = S // features
    mask = face_mask(S)
    fmask = _area(mask.astype(np.float64), factor) > 0.5
    index = np.flatnonzero(fmask.ravel())
    faces = gallery.faces.astype(np.float64)
    feats = _area(faces, factor).reshape(len(gallery), -1)[:, index]
    # zero-mean faces (their mean over the face's features): the code does not spend atoms on brightness
    means = feats.mean(axis=1, keepdims=True)
    feats = feats - means
    norms = np.maximum(np.linalg.norm(feats, axis=1), 1e-12)
    Df = feats / norms[:, None]  # (N atoms, P): unit-norm columns of D_f, stored as rows
    full = (faces.reshape(len(gallery), -1) - means) / norms[:, None]
    G = Df @ Df.T
    labels = np.asarray(gallery.labels)
    onehot = np.stack([labels == ident for ident in gallery.identities]).astype(np.float64)
    blend = cv2.GaussianBlur(mask.astype(np.float64), (0, 0), S / 48.0)
    return {"index": index, "Df": Df, "full": full, "G": G, "lipschitz": float(np.linalg.eigvalsh(G)[-1]),
            "onehot": onehot, "blend": blend}


class _Dictionary:
    """The gallery as dictionary: unit-norm feature columns :math:`D_f`, full-resolution atoms, Gram matrix."""

    def __init__(self, gallery: Gallery, features: int, xp, dtype):
        S = gallery.faces.shape[1]
        if S % features:
            raise ValueError(f"features ({features}) must divide the gallery's side ({S})")
        h = _host_dictionary(gallery, features)
        self.index, self.lipschitz, self.identities = h["index"], h["lipschitz"], gallery.identities
        on = lambda a: backend.asarray_on(xp, np.ascontiguousarray(a), dtype=dtype)  # noqa: E731
        self.Df, self.full, self.G, self.onehot = on(h["Df"]), on(h["full"]), on(h["G"]), on(h["onehot"])
        self.index_xp = backend.asarray_on(xp, self.index)
        self.size, self.factor = S, S // features
        #: The feathered face mask of the gallery frame, for the blend of Eq. Z3.
        self.blend = h["blend"]

    def features(self, crop):
        """``(f, mean)``: ``f = P M crop`` (area-averaged, masked), less its mean, of a face in the gallery frame."""
        f = _area(crop, self.factor).reshape(-1)[self.index_xp]
        mean = f.mean()
        return f - mean, mean


def sparse_code(f, Df, G, lipschitz, *, tau=0.02, iterations=100):
    r"""Eq. Z2, :math:`\min_\alpha \tfrac12\|f - D_f\alpha\|^2 + \tau\,\|D_f^T f\|_\infty\,\|\alpha\|_1`, by FISTA.

    Parameters
    ----------
    f : ndarray of shape (P,)
        Feature vector.
    Df : ndarray of shape (N, P)
        Unit-norm atoms as rows.
    G : ndarray of shape (N, N)
        ``Df @ Df.T``.
    lipschitz : float
        Largest eigenvalue of ``G``.
    tau : float
        Relative :math:`\ell_1` weight (of :math:`\|D_f f\|_\infty`, the weight above which the code is zero).
    iterations : int
        FISTA steps (a fixed number: no data-dependent stop, no sync on a GPU).

    Returns
    -------
    ndarray of shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> Df = np.eye(4)[:3] ; G = Df @ Df.T
    >>> sparse_code(np.array([0.0, 2.0, 0.1, 5.0]), Df, G, 1.0, tau=0.1).round(3).tolist()
    [0.0, 1.8, 0.0]
    """
    xp = backend.get_namespace(f)
    b = Df @ f
    thr = tau * xp.abs(b).max() / lipschitz
    a = xp.zeros_like(b)
    v, t = a, 1.0
    for _ in range(int(iterations)):
        g = v - (G @ v - b) / lipschitz
        a_new = xp.sign(g) * xp.maximum(xp.abs(g) - thr, 0)
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        v = a_new + ((t - 1) / t_new) * (a_new - a)
        a, t = a_new, t_new
    return a


def class_residuals(f, alpha, Df, onehot):
    r"""Eq. Z4: :math:`r_i = \|f - D_f\,\delta_i(\alpha)\|_2` for every identity :math:`i` (rows of ``onehot``).

    Examples
    --------
    >>> import numpy as np
    >>> Df = np.eye(3); onehot = np.array([[1.0, 1, 0], [0, 0, 1]])
    >>> class_residuals(np.array([1.0, 1, 0]), np.array([1.0, 1, 0]), Df, onehot).tolist()
    [0.0, 1.4142135623730951]
    """
    xp = backend.get_namespace(f)
    rec = (onehot * alpha[None, :]) @ Df  # (identities, P): D_f delta_i(alpha)
    return xp.sqrt(((f[None, :] - rec) ** 2).sum(axis=1))


def recognise(residuals, identities, top=RANKING):
    """The identity of least residual, with the ``top`` nearest (a JSON-serialisable dict; host values).

    Examples
    --------
    >>> recognise([0.5, 0.2, 0.9], ["a", "b", "c"], top=2)
    {'name': 'b', 'residual': 0.2, 'ranking': [{'name': 'b', 'residual': 0.2}, {'name': 'a', 'residual': 0.5}]}
    """
    r = np.asarray(backend.to_numpy(residuals) if not isinstance(residuals, list) else residuals, dtype=float)
    order = np.argsort(r, kind="stable")
    ranking = [{"name": str(identities[i]), "residual": round(float(r[i]), 6)} for i in order[:top]]
    return {"name": ranking[0]["name"], "residual": ranking[0]["residual"], "ranking": ranking}


class _Bilinear:
    """A bilinear resampling as four gathers: ``out[p] = sum_j w_j[p] src[idx_j[p]]`` (maps built on the host).

    ``matrix`` (2 x 3) maps an output pixel ``(x, y)`` to source coordinates.
    """

    def __init__(self, matrix, src_shape, dst_shape, xp, dtype):
        H, W = dst_shape
        h, w = src_shape
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
        sx = matrix[0, 0] * xx + matrix[0, 1] * yy + matrix[0, 2]
        sy = matrix[1, 0] * xx + matrix[1, 1] * yy + matrix[1, 2]
        inside = (sx >= -0.5) & (sx <= w - 0.5) & (sy >= -0.5) & (sy <= h - 0.5)
        sx, sy = np.clip(sx, 0, w - 1), np.clip(sy, 0, h - 1)
        x0 = np.minimum(np.floor(sx).astype(np.int64), max(w - 2, 0))
        y0 = np.minimum(np.floor(sy).astype(np.int64), max(h - 2, 0))
        fx, fy = sx - x0, sy - y0
        x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
        idx = np.stack([y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1]).reshape(4, -1)
        wts = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy]).reshape(4, -1)
        self.shape = (H, W)
        self.host = (idx, wts)
        self.idx = backend.asarray_on(xp, idx)
        self.wts = backend.asarray_on(xp, wts, dtype=dtype)
        self.inside = inside

    def __call__(self, src):
        flat = src.reshape(-1)
        out = (self.wts[0] * flat[self.idx[0]] + self.wts[1] * flat[self.idx[1]]
               + self.wts[2] * flat[self.idx[2]] + self.wts[3] * flat[self.idx[3]])
        return out.reshape(self.shape)


def _level_matrix(align, shape, full_shape):
    """Image (x, y) of a level of ``shape`` -> aligned frame, from the full-resolution ``align`` matrix."""
    sy, sx = shape[0] / full_shape[0], shape[1] / full_shape[1]
    # full-resolution x = (x_level + 0.5) / s - 0.5
    to_full = np.array([[1 / sx, 0, 0.5 / sx - 0.5], [0, 1 / sy, 0.5 / sy - 0.5], [0, 0, 1]])
    return np.vstack([align, [0, 0, 1]]) @ to_full


class _Frame:
    """The warps between one image grid and the gallery frame, on the device: ``W`` (to) and ``W^{-1}`` (back)."""

    def __init__(self, align, shape, full_shape, dictionary: _Dictionary, xp, dtype):
        S = dictionary.size
        m = _level_matrix(align, shape, full_shape)  # level -> frame
        inv = np.linalg.inv(m)
        self.to_frame = _Bilinear(inv[:2], shape, (S, S), xp, dtype)  # frame pixel -> level coordinates
        self.to_image = _Bilinear(m[:2], (S, S), shape, xp, dtype)  # level pixel -> frame coordinates
        blend = self._host_warp(dictionary.blend, self.to_image) * self.to_image.inside.reshape(shape)
        self.blend = backend.asarray_on(xp, blend, dtype=dtype)

    @staticmethod
    def _host_warp(src, bil):
        idx, wts = bil.host
        flat = src.reshape(-1)
        return (wts * flat[idx]).sum(axis=0).reshape(bil.shape)


# --------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------


class _Zhang(XuJiaEstimator):
    """Xu & Jia's alternation with the sparse-representation coupling (Eqs. Z2-Z3) after its latent-image step."""

    def __init__(self, dictionary: _Dictionary, align, full_shape, *, eta, tau, fista_iterations, sr_levels,
                 **xu_params):
        super().__init__(**xu_params)
        self.dictionary, self.align, self.full_shape = dictionary, align, full_shape
        self.eta, self.tau, self.fista_iterations, self.sr_levels = eta, tau, fista_iterations, sr_levels
        self.frame: _Frame | None = None
        #: The pyramid levels where the coupling ran.
        self.sr_level_list: set = set()
        #: The last sparse code (device array) and its feature vector.
        self.alpha = self.f = None

    def start_level(self, state):
        super().start_level(state)
        self.frame = None
        active = state.index >= state.n_levels - self.sr_levels and self.eta > 0
        if active and min(state.y.shape) >= 8:
            self.frame = _Frame(self.align, state.y.shape, self.full_shape, self.dictionary, state.xp, state.y.dtype)

    def code(self, x):
        """Eq. Z2 on the latent image ``x`` of the current level: ``(alpha, f, mean of the features)``."""
        d = self.dictionary
        f, mean = d.features(self.frame.to_frame(x))
        alpha = sparse_code(f, d.Df, d.G, d.lipschitz, tau=self.tau, iterations=self.fista_iterations)
        return alpha, f, mean

    def x_step(self, state):
        x = super().x_step(state)  # Xu & Jia's latent image (their Eq. 8), or the level's first image
        if self.frame is None or self.level.used is None:
            return x
        self.sr_level_list.add(state.index)
        xp, d = state.xp, self.dictionary
        alpha, f, mean = self.code(x)
        self.alpha, self.f = alpha, f
        # z = c D alpha, with c undoing the l1 shrinkage of the code's scale (ours)
        rf = alpha @ d.Df
        c = (f * rf).sum() / xp.maximum((rf * rf).sum(), 1e-12)
        z = (c * (alpha @ d.full) + mean).reshape(d.size, d.size)
        # Eq. Z3: blend W^{-1} z into x inside the face, then the closed-form coupling in Fourier
        m = self.frame.blend
        zt = m * self.frame.to_image(z) + (1 - m) * x
        op = self.level.problem.with_kernel(state.k)
        ph, pw = op.widths
        ext = op.y.copy()  # the band keeps the blurred level's smooth extension
        ext[ph : ph + zt.shape[0], pw : pw + zt.shape[1]] = zt
        out = op.crop(op.solve(self.eta, op.spectrum(ext), regulariser=1.0))
        return xp.ascontiguousarray(out).astype(state.y.dtype, copy=False)


def _alignment(lum, face_box, size, aligned=False):
    """``(matrix, source)``: the input -> gallery-frame similarity, from the box, dlib, or the face-crop framing."""
    from ..faces.align import alignment_matrix
    from ..faces.locate import default_face, locate_face

    if aligned:  # already a crop framed like the gallery's faces: a scaling (pixel centres kept)
        sy, sx = size / lum.shape[0], size / lum.shape[1]
        return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]]), "aligned"
    box = face_box if face_box not in (None, "whole") else None
    face = locate_face(np.clip(lum, 0, 1), face_box=box) if min(lum.shape) >= 32 else None
    source = "box" if box is not None else "detected"
    if face is None:
        face, source = default_face(lum.shape), "framed"
    return alignment_matrix(face.landmarks, size), source


def _identity(image_lum, dictionary, align, full_shape, tau, iterations, xp):
    """Eqs. Z2 and Z4 on a full-resolution gray image: the recognised identity (host dict)."""
    frame = _Bilinear(np.linalg.inv(_level_matrix(align, image_lum.shape, full_shape))[:2], image_lum.shape,
                      (dictionary.size,) * 2, xp, image_lum.dtype)
    f, _ = dictionary.features(frame(image_lum))
    alpha = sparse_code(f, dictionary.Df, dictionary.G, dictionary.lipschitz, tau=tau, iterations=iterations)
    return recognise(class_residuals(f, alpha, dictionary.Df, dictionary.onehot), dictionary.identities)


@blind_method(
    "zhang2011",
    description="Zhang et al. 2011 joint blind restoration and recognition: a sparse representation of the "
    "latent face over a gallery of all identities pulls the latent image of Xu & Jia's alternation; the "
    "identity is SRC's least class residual",
    final=("tv_l1", None),
    face=True,
)
def zhang2011(image, options, *, kernel_size=None, rng=None, target=None, gallery=None, eta=0.05, tau=0.005,
              features=32, fista_iterations=200, sr_levels=2, aligned=False, iterations=5, gamma=10.0,
              lam=2e-3, isd_iterations=10):
    r"""Joint blind face restoration and recognition with a sparse representation prior (Zhang et al., ICCV 2011).

    Coarse to fine, Xu & Jia's (2010) edge-based alternation estimates the
    kernel; at the ``sr_levels`` finest levels every latent image is coded
    sparsely over the gallery's faces of all identities (Eq. Z2) and pulled
    towards that representation (Eq. Z3); the final restoration is coded
    again and the identity is the one of least class residual (Eq. Z4, SRC).
    See :mod:`classicdeblur.blind.zhang2011` for the equations and for what is
    the paper's (only its abstract could be read) and what is ours.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred face, float in [0, 1], NumPy or CuPy (the kernel is estimated on the luminance).
    kernel_size : int, optional
        Odd kernel size (default 31, shrunk for small images).
    rng : int or numpy.random.Generator, optional
        Unused (the method is deterministic); accepted for the common interface.
    target : ndarray, optional
        The image the final step restores (default ``image``).
    gallery : str, Path, dict or Gallery, optional
        The sharp faces of all identities (:func:`load_gallery`): a folder
        with one sub-folder of images per identity (``-p gallery=DIR`` on the
        command line), a dict ``{identity: [aligned faces]}``, a
        :class:`Gallery`; default the exemplar database (``exemplars``).
    eta : float
        Weight :math:`\eta` of the sparse representation prior, Eqs. Z1/Z3
        (ours; 0 turns the coupling off: Xu & Jia's kernel, then SRC on the
        restored face, the "restore, then recognise" baseline).
    tau : float
        Relative :math:`\ell_1` weight :math:`\tau` of the code, Eq. Z2 (ours).
    features : int
        Side of the feature images (ours; must divide the gallery's 128 px).
    fista_iterations : int
        FISTA steps of each sparse coding (ours).
    sr_levels : int
        The coupling runs at this many finest pyramid levels (ours).
    aligned : bool
        The input is a face crop aligned like the gallery's faces
        (:func:`~classicdeblur.faces.align.align_face`, any size): no
        detection, the warp is a scaling.
    iterations, gamma, lam, isd_iterations
        Passes per level, Gaussian kernel prior weight (the :math:`\ell_2`
        kernel prior), spatial prior weight and ISD iterations of
        :func:`~classicdeblur.blind.xu2010.xu2010` (its defaults).
    final, final_params, pixel_screening, screening_params, engine, face_box, exemplars
        The shared keywords of every blind method (:mod:`~classicdeblur.blind.method`).
        The final step defaults to ``"tv_l1"``. ``face_box`` ``(x, y, w, h)``
        says where the face is (else dlib finds it, else the image is taken
        to be a face crop framed like the benchmark faces); ``exemplars`` is
        the exemplar database used as gallery when ``gallery`` is None.

    Returns
    -------
    image : ndarray
        Restored image, same shape as ``target``, in [0, 1].
    kernel : ndarray
        Estimated kernel (odd, non-negative, sums to 1, centred).
    info : dict
        That of :func:`~classicdeblur.blind.framework.run_blind`, plus
        ``identity`` (``name``, ``residual`` and ``ranking``: the
        :data:`RANKING` nearest identities with their residuals, on the
        restored face), ``identity_blurred`` (the same on the blurred input),
        ``gallery`` (faces and identities), ``alignment`` (``"aligned"``,
        ``"box"``, ``"detected"`` or ``"framed"``) and ``sr_levels`` (the pyramid levels
        where the coupling ran). All JSON-serialisable.

    Raises
    ------
    GalleryError, NoFaceError
        A bad gallery (:func:`load_gallery`).
    ValueError
        Bad parameter values.

    References
    ----------
    .. [1] H. Zhang, J. Yang, Y. Zhang, N. M. Nasrabadi and T. S. Huang, "Close
       the loop: joint blind image restoration and recognition with sparse
       representation prior", ICCV 2011.

    Examples
    --------
    Two "people" (a bright and a dark disc); the blurred bright disc is restored and recognised:

    >>> import numpy as np
    >>> import classicdeblur as cd
    >>> from classicdeblur.degrade import degrade
    >>> yy, xx = np.mgrid[-1:1:64j, -1:1:64j]
    >>> disc = lambda r, v: np.where(xx**2 + yy**2 < r * r, v, 0.1)
    >>> people = {"bright": [disc(0.5, 0.9), disc(0.55, 0.85)], "dark": [disc(0.8, 0.3), disc(0.75, 0.35)]}
    >>> y = degrade(disc(0.52, 0.9), cd.resolve_kernel("motion:length=5,angle=0"), noise=None, rng=0)
    >>> out, kernel, info = zhang2011(y, kernel_size=7, gallery=people, aligned=True)
    >>> out.shape, kernel.shape, round(float(kernel.sum()), 6), info["identity"]["name"]
    ((64, 64), (7, 7), 1.0, 'bright')
    """
    eta = float(eta)
    if not (eta >= 0 and math.isfinite(eta)):
        raise ValueError(f"eta must be a finite number >= 0; got {eta}")
    tau = _positive("tau", tau)
    features = _count("features", features, 2)
    fista_iterations = _count("fista_iterations", fista_iterations, 1)
    sr_levels = _count("sr_levels", sr_levels, 0)
    iterations = _count("iterations", iterations, 1)
    gamma, lam = _positive("gamma", gamma), _positive("lam", lam)
    isd_iterations = _count("isd_iterations", isd_iterations, 0)
    gal = load_gallery(gallery, exemplars=options.exemplars)
    if GALLERY_SIZE % features:
        raise ValueError(f"features must divide {GALLERY_SIZE}; got {features}")
    xp = backend.get_namespace(image)
    lum = gray(image)
    dtype = lum.dtype
    dictionary = _Dictionary(gal, features, xp, dtype)
    align, source = _alignment(backend.to_numpy(lum), options.face_box, dictionary.size, bool(aligned))
    full_shape = lum.shape
    size = default_kernel_size(image.shape, kernel_size)
    est = _Zhang(dictionary, align, full_shape, eta=eta, tau=tau, fista_iterations=fista_iterations,
                 sr_levels=sr_levels, iterations=iterations, gamma=gamma, lam=lam, window=5, decay=1.1, sigma=1.0,
                 shock_iterations=1, shock_dt=0.5, isd_gamma=1.0, isd_iterations=isd_iterations, isd_tol=1e-3,
                 engine=options.engine, edge_predictor=None)
    restored, k, info = run_blind(image, est, options, kernel_size=size, rng=rng, target=target)
    # Eq. Z4 on the restored face (the joint result) and on the blurred input (SRC alone)
    if target is None or target.shape[:2] == image.shape[:2]:
        face = gray(restored)
    else:
        face = gray(options.final(image, k))
    face = face.astype(dtype, copy=False)
    info["identity"] = _identity(face, dictionary, align, full_shape, tau, fista_iterations, xp)
    info["identity_blurred"] = _identity(lum, dictionary, align, full_shape, tau, fista_iterations, xp)
    info["gallery"] = {"faces": len(gal), "identities": len(gal.identities)}
    info["alignment"] = source
    info["sr_levels"] = sorted(est.sr_level_list)
    return restored, k, info

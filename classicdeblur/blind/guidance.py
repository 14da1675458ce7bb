r"""Face guidance for any blind method: the salient structure of a face weights the kernel step.

Pan et al. (ECCV 2014, Sec. 3) estimate the kernel only from a face's salient
structures -- its outline, eyes and mouth -- because the rest of a face
(skin, hair texture) has few reliable edges. :class:`FaceGuide` brings that
prior to every method of the shared framework: given the face's 68
landmarks in the input's frame, it draws the structure mask at each pyramid
level (thin polylines widened by a tolerance, since landmarks are a few
pixels off), and restricts a k-step's data term to the structures,

.. math:: \sum_i w_i \| M \odot (k * x_i) - M_k \odot y_i \|^2
          \;\to\; \sum_i w_i \| k * (M \odot x_i) - M_k \odot y_i \|^2,

with :math:`M_k` the mask dilated by the kernel radius (everything
:math:`k * (M \odot x_i)` can reach). The two forms differ by a constant, so
this is a least-squares fit over the structures' neighbourhood only.

A method opts in by passing its k-step pairs through
:meth:`Estimator.guided <classicdeblur.blind.framework.Estimator.guided>`;
``cho2009`` and ``xu2010`` do (their ``face_guided`` parameter).
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import backend

__all__ = ["FaceGuide", "SEGMENTS", "structure_parts", "dilate", "locate_landmarks", "face_guide"]

#: Salient structures of Pan et al. as iBUG-68 landmark polylines ``(indices, closed)``: the
#: outline in three pieces (left, chin, right), both eyes, the outer mouth.
SEGMENTS = ((range(0, 6), False), (range(5, 12), False), (range(11, 17), False),
            (range(36, 42), True), (range(42, 48), True), (range(48, 60), True))


def dilate(mask, radius):
    """Binary dilation of a 2-D boolean NumPy mask by a disc of ``radius`` pixels."""
    radius = int(radius)
    if radius < 1:
        return mask
    se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), se).astype(bool)


def structure_parts(landmarks, shape, width=1):
    """One thin boolean mask per :data:`SEGMENTS` entry, drawn at ``shape`` (subpixel polylines).

    Examples
    --------
    >>> import numpy as np
    >>> lm = np.zeros((68, 2)); lm[:17, 0] = np.linspace(10, 50, 17); lm[:17, 1] = 40
    >>> parts = structure_parts(lm, (64, 64))
    >>> len(parts), bool(parts[1][40, 30])
    (6, True)
    """
    from ..faces.structure import draw_polylines

    lm = np.asarray(landmarks, dtype=np.float64)
    return [draw_polylines([(lm[list(idx)], closed)], shape, width=width) for idx, closed in SEGMENTS]


class FaceGuide:
    """Structure masks of one face at every pyramid level.

    Parameters
    ----------
    landmarks : ndarray of shape (68, 2)
        The face's landmarks (x, y) in full-resolution input pixels.
    tolerance : float
        Full-resolution pixels by which the thin structure is widened.
    width : int
        Line width of the thin structure, in pixels.
    weight : float, optional
        ``None``: the k-step sees only the structures (Pan et al.'s
        restriction). A number: the structure pairs are *added* to the
        method's own pairs with this relative weight, so the structures count
        ``1 + weight`` times and the other edges once. On ``faces-256``
        (8 faces x 8 Levin kernels, ``benchmarks/faces.py``) the soft guide
        (4, the default of :func:`face_guide`) lowers ``xu2010`` from 29.96 to
        29.31 dB and ``cho2009`` from 29.30 to 28.62 dB; the hard restriction
        lowered them more on a smaller check (3 faces x 4 kernels: ``xu2010``
        30.16 to 27.86 dB). It is offered as the issue asks, measured, and off
        by default.

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.blind.pyramid import Level
    >>> lm = np.zeros((68, 2)); lm[:17, 0] = np.linspace(10, 50, 17); lm[:17, 1] = 40
    >>> wide, reach = FaceGuide(lm, tolerance=2).masks(Level(shape=(64, 64), scale=1.0, kernel_size=5), np)
    >>> int(wide[:, 30].sum()), int(reach[:, 30].sum())
    (5, 11)
    """

    def __init__(self, landmarks, *, tolerance=8.0, width=1, weight=None, info=None):
        self.weight = weight
        #: How the landmarks were found (``source`` and details); reported by the framework.
        self.info = dict(info or {})
        self.landmarks = np.asarray(landmarks, dtype=np.float64)
        if self.landmarks.shape != (68, 2) or not np.isfinite(self.landmarks).all():
            raise ValueError(f"landmarks must be a finite (68, 2) array; got shape {self.landmarks.shape}")
        self.tolerance = float(tolerance)
        self.width = int(width)
        self._cache = {}

    def level_landmarks(self, level):
        """The landmarks at a pyramid level (pixel centres scale about -0.5)."""
        return (self.landmarks + 0.5) * level.scale - 0.5

    def masks(self, level, xp, dtype=np.float64):
        """``(wide, reach)`` float masks at ``level``: the widened structure and its kernel-radius dilation."""
        key = (level.shape, level.kernel_size, xp.__name__, np.dtype(dtype).str)
        if key not in self._cache:
            thin = np.logical_or.reduce(structure_parts(self.level_landmarks(level), level.shape, self.width))
            wide = dilate(thin, max(1, round(self.tolerance * level.scale)))
            reach = dilate(wide, level.kernel_size // 2 + 1)
            self._cache[key] = tuple(backend.asarray_on(xp, m.astype(dtype)) for m in (wide, reach))
        return self._cache[key]

    def apply(self, state, pairs):
        """Restrict k-step ``pairs`` ``(x_i, y_i[, w_i])`` to the structures at ``state.level``."""
        wide, reach = self.masks(state.level, state.xp, state.y.dtype)
        guided = [(p[0] * wide, p[1] * reach, *p[2:]) for p in pairs]
        if self.weight is None:
            return guided
        return list(pairs) + [(g[0], g[1], self.weight * (p[2] if len(p) > 2 else 1.0)) for g, p in zip(guided, pairs)]


def locate_landmarks(gray, *, face_box=None, exemplars=None, upsample=1):
    """Landmarks of the face in a blurred gray image, and how they were found.

    In order: the 68-point predictor on ``face_box`` when given; dlib's
    detector on the image; otherwise the landmarks of the best-matching
    exemplar (Pan et al. 2014 Eq. 3, :func:`~classicdeblur.faces.matching.match_exemplars`)
    mapped into the image -- matching needs no detection, so a face too
    blurred for the detector still gets its structure.

    Returns
    -------
    landmarks : ndarray of shape (68, 2)
    info : dict
        ``source`` (``"box"``, ``"detected"`` or ``"exemplar"``) and, for an
        exemplar, its ``match`` (:class:`~classicdeblur.faces.matching.Match`).
    """
    from ..faces.exemplars import as_database
    from ..faces.locate import locate_face
    from ..faces.matching import exemplar_to_image, match_exemplars

    gray = np.clip(np.asarray(gray, dtype=np.float32), 0, 1)
    face = locate_face(gray, face_box=face_box, upsample=upsample)
    if face is not None:
        return face.landmarks, {"source": "box" if face_box is not None else "detected", "box": face.box}
    db = as_database(exemplars)
    match = match_exemplars(gray, db)
    return exemplar_to_image(match, db, gray.shape)[1], {"source": "exemplar", "match": match}


def face_guide(image, *, face_box=None, exemplars=None, tolerance=8.0, weight=4.0):
    """A :class:`FaceGuide` for ``image`` (gray or colour, NumPy or CuPy) from :func:`locate_landmarks`.

    The guide's ``info`` says how the landmarks were found; :func:`~.framework.run_blind`
    reports it as ``info["face_guide"]``.
    """
    from .framework import gray as _gray

    landmarks, info = locate_landmarks(backend.to_numpy(_gray(image)), face_box=face_box, exemplars=exemplars)
    return FaceGuide(landmarks, tolerance=tolerance, weight=weight, info=info)

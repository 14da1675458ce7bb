r"""Exemplar matching of a blurred face (Pan et al. 2014, Sec. 3.1, Eq. 3).

Pan et al. pick, from a set of sharp face exemplars, the one whose gradients
best agree with the blurred input's, searched over translation, a small range
of scales and in-plane rotations (paper Eq. 3, after Hu & Yang 2012):

.. math::
    s_i = \max_{t, \sigma, \theta}
          \frac{\langle \nabla B, \nabla T_i^{\sigma,\theta}(\cdot - t) \rangle}
               {\|\nabla B\|_{W_t}\, \|\nabla T_i^{\sigma,\theta}\|},

the normalised cross-correlation of the gradient fields, where
:math:`T_i^{\sigma,\theta}` is exemplar :math:`i` scaled by :math:`\sigma`
and rotated by :math:`\theta`, and :math:`\|\nabla B\|_{W_t}` is the norm of
the input's gradients under the exemplar's footprint placed at :math:`t`
(the local normalisation of a template match: without it a larger template
wins by covering more of the input).

Done naively this search is what makes the authors' code take hours per
image. Here every correlation over all translations is one FFT product, all
exemplars of one (scale, rotation) are transformed and correlated as one
batch, and the search is coarse to fine:

1. all exemplars x all (scale, rotation) pairs at a quarter of the input's
   resolution (exemplars of 32x32 pixels);
2. the ``top`` best exemplars refined at half resolution (the paper's
   matching resolution) on a finer (scale, rotation) grid around their best.

**Polarity.** A face's contour may be brighter or darker than its background
in the exemplar and in the input, which flips the sign of their gradients and
of a plain correlation. Gradients are compared through their doubled-angle
form :math:`g^2/|g|` (with :math:`g = \partial_x + i\,\partial_y`), which keeps
magnitude and orientation and drops the sign; this deviation from the paper
is ours and is measured in ``benchmarks/faces.py``.

**Where the face is.** When dlib finds the face in the blurred input (it does
on most moderately blurred faces) its landmarks give the nominal scale,
rotation and position and the search only refines them. Otherwise the face is
assumed to be roughly centred and the search covers scales from 0.63 to 1.6
of a face that fills the frame like the exemplar crops do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import scipy.fft

__all__ = ["Match", "match_exemplars", "exemplar_to_image"]


@dataclass
class Match:
    """The best exemplar for a blurred face and where it lies in the image.

    Attributes
    ----------
    index : int
        Index of the exemplar in the database.
    name : str
        Its source name.
    score : float
        The normalised correlation of Eq. 3 (1 is a perfect match).
    matrix : ndarray of shape (2, 3)
        Affine map from exemplar-crop coordinates (x, y) to input-image
        coordinates.
    scale, angle : float
        Scale (input pixels per exemplar pixel) and rotation in degrees.
    candidates : list of (int, float)
        The refined exemplars with their scores, best first.
    seconds : float
    located : bool
        Whether dlib found the face, so that the search was a local refinement.
    """

    index: int
    name: str
    score: float
    matrix: np.ndarray
    scale: float
    angle: float
    candidates: list = field(default_factory=list)
    seconds: float = 0.0
    located: bool = False


def _dgrad(img):
    """Doubled-angle gradient ``g^2/|g|`` (real, imag) of a 2-D array, forward differences, zero edges."""
    gx = np.zeros_like(img)
    gy = np.zeros_like(img)
    gx[..., :, :-1] = img[..., :, 1:] - img[..., :, :-1]
    gy[..., :-1, :] = img[..., 1:, :] - img[..., :-1, :]
    mag = np.sqrt(gx * gx + gy * gy) + 1e-12
    return (gx * gx - gy * gy) / mag, 2 * gx * gy / mag


def _rotation(scale, angle_deg, centre_src, centre_dst):
    """2x3 matrix: rotate by ``angle`` and scale about ``centre_src``, moved to ``centre_dst``."""
    a = np.deg2rad(angle_deg)
    c, s = scale * np.cos(a), scale * np.sin(a)
    m = np.array([[c, -s, 0.0], [s, c, 0.0]])
    m[:, 2] = np.asarray(centre_dst) - m[:, :2] @ np.asarray(centre_src)
    return m


def _templates(faces, supports, scale, angle):
    """Warp every exemplar (N, S, S) by ``scale``/``angle`` about its centre into a tight square."""
    S = faces.shape[-1]
    side = int(np.ceil(S * scale * (abs(np.cos(np.deg2rad(angle))) + abs(np.sin(np.deg2rad(angle)))))) | 1
    m = _rotation(scale, angle, ((S - 1) / 2, (S - 1) / 2), ((side - 1) / 2, (side - 1) / 2))
    out = np.empty((len(faces), side, side), np.float32)
    sup = np.empty_like(out)
    for i in range(len(faces)):
        out[i] = cv2.warpAffine(faces[i], m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        sup[i] = cv2.warpAffine(supports[i], m, (side, side), flags=cv2.INTER_LINEAR, borderValue=0)
    return out, sup, m


def _ncc(image, faces, supports, scale, angle):
    """Best normalised gradient correlation of each exemplar over all placements, and where.

    Returns ``(score (N,), dy (N,), dx (N,), m)``: the top-left offset of the
    warped template in ``image`` and the crop-to-template matrix ``m``.
    """
    temp, sup, m = _templates(faces, supports, scale, angle)
    n, t = len(temp), temp.shape[-1]
    # placements with the template's centre inside the image: pad the gradients with zeros
    pad = t // 2
    br, bi = (np.pad(g, pad) for g in _dgrad(image))
    H, W = br.shape
    shape = (scipy.fft.next_fast_len(H + t), scipy.fft.next_fast_len(W + t))
    tr, ti = _dgrad(temp)
    sup = (sup > 0.5).astype(np.float32)
    tr, ti = tr * sup, ti * sup
    tnorm = np.sqrt((tr**2 + ti**2).sum(axis=(1, 2))) + 1e-12
    fft = scipy.fft
    FB = [fft.rfft2(b, shape) for b in (br, bi, br**2 + bi**2)]
    FT = [fft.rfft2(a, shape).conj() for a in (tr, ti, sup)]
    # corr[d] = sum_q B[q + d] T[q]: the template with its top-left corner at d
    corr = fft.irfft2(FB[0][None] * FT[0] + FB[1][None] * FT[1], shape, workers=-1)[:, : H - t + 1, : W - t + 1]
    energy = fft.irfft2(FB[2][None] * FT[2], shape, workers=-1)[:, : H - t + 1, : W - t + 1]
    score = corr / (tnorm[:, None, None] * np.sqrt(np.maximum(energy, 1e-12)))
    flat = score.reshape(n, -1)
    best = flat.argmax(axis=1)
    dy, dx = np.unravel_index(best, score.shape[1:])
    dy, dx = dy - pad, dx - pad
    return flat[np.arange(n), best], dy, dx, m


def _nominal(shape, S, located_matrix):
    """Nominal (scale, angle, centre) of the exemplar crop in an image of ``shape``."""
    if located_matrix is not None:
        inv = cv2.invertAffineTransform(located_matrix)  # crop -> image
        scale = float(np.hypot(*inv[:, 0]))
        angle = float(np.rad2deg(np.arctan2(inv[1, 0], inv[0, 0])))
        centre = inv @ np.array([(S - 1) / 2, (S - 1) / 2, 1.0])
        return scale, angle, centre
    H, W = shape
    return min(H, W) / S, 0.0, np.array([(W - 1) / 2, (H - 1) / 2])


def _resize(image, factor):
    h, w = image.shape
    size = (max(8, int(round(w * factor))), max(8, int(round(h * factor))))
    return cv2.resize(image.astype(np.float32), size, interpolation=cv2.INTER_AREA)


def _search(image, faces, supports, factor, grid):
    """Best (score, scale, angle, dy, dx) per exemplar over ``grid`` at resolution ``factor``."""
    small = _resize(image, factor)
    n = len(faces)
    best = np.full(n, -np.inf)
    arg = np.zeros((n, 4))
    for scale, angle in grid:
        s, dy, dx, _ = _ncc(small, faces, supports, scale, angle)
        better = s > best
        best[better] = s[better]
        arg[better] = np.stack([np.full(n, scale), np.full(n, angle), dy, dx], axis=1)[better]
    return best, arg


def match_exemplars(image, db, *, angles=(-10.0, -5.0, 0.0, 5.0, 10.0), scales=(0.63, 0.8, 1.0, 1.25, 1.6),
                    top=8, located_matrix=None):
    """Find the exemplar that best matches a blurred face (Pan et al. 2014, Eq. 3).

    Parameters
    ----------
    image : ndarray of shape (M, N)
        Blurred gray face, float.
    db : ExemplarDB
        Exemplar database (``faces`` (N, S, S), ``masks``, ``landmarks``).
    angles : sequence of float
        Rotations searched, in degrees (paper: -10 to 10).
    scales : sequence of float
        Relative scales searched around the nominal one (paper: 0.5 to 2).
        With ``located_matrix`` only a narrow range is searched.
    top : int
        Exemplars kept from the coarse search for refinement.
    located_matrix : ndarray of shape (2, 3), optional
        Image-to-crop alignment matrix from detected landmarks
        (:func:`classicdeblur.faces.align.alignment_matrix`); narrows the search.

    Returns
    -------
    Match

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> rng = np.random.default_rng(0)
    >>> from scipy.ndimage import gaussian_filter
    >>> faces = np.stack([gaussian_filter(rng.random((32, 32)), 2) for _ in range(4)]).astype(np.float32)
    >>> db = SimpleNamespace(faces=faces, names=["a", "b", "c", "d"], landmarks=np.zeros((4, 68, 2)))
    >>> img = np.pad(faces[2], 16, mode="reflect")  # exemplar 2, half the image's size, at (16, 16)
    >>> m = match_exemplars(img, db, angles=(0.0,), scales=(0.5,))
    >>> m.index, m.scale, bool(np.abs(m.matrix[:, 2] - 16).max() <= 1)
    (2, 1.0, True)
    """
    t0 = time.perf_counter()
    image = np.asarray(image, dtype=np.float32)
    faces = np.asarray(db.faces, dtype=np.float32)
    S = faces.shape[-1]
    supports = _supports(db)
    scale0, angle0, centre0 = _nominal(image.shape, S, located_matrix)
    if located_matrix is not None:
        scales, angles = (0.9, 1.0, 1.1), (-4.0, 0.0, 4.0)
    # 1. coarse: exemplars of 32 px; the image at the matching scale
    f1 = 32 / S
    factor1 = f1 / scale0
    grid1 = [(s, angle0 + a) for s in scales for a in angles]
    small_faces = np.stack([cv2.resize(f, (32, 32), interpolation=cv2.INTER_AREA) for f in faces])
    small_sup = np.stack([cv2.resize(s, (32, 32), interpolation=cv2.INTER_AREA) for s in supports])
    best1, arg1 = _search(image, small_faces, small_sup, factor1, grid1)
    order = np.argsort(-best1)[: max(1, int(top))]
    # 2. refine the best at half the input's resolution, around each one's coarse optimum
    factor2 = 0.5
    cand = []
    for i in order:
        s1, a1 = arg1[i, 0], arg1[i, 1]
        grid2 = [(s1 * scale0 * factor2 * ds, a1 + da) for ds in (0.95, 1.0, 1.05) for da in (-2.5, 0.0, 2.5)]
        b, arg = _search(image, faces[i : i + 1], supports[i : i + 1], factor2, grid2)
        cand.append((float(b[0]), int(i), arg[0]))
    cand.sort(key=lambda c: -c[0])
    score, index, (scale, angle, dy, dx) = cand[0]
    # crop -> template -> half-resolution image -> image
    _, _, m = _templates(faces[index : index + 1], supports[index : index + 1], scale, angle)
    m = m.copy()
    m[:, 2] += (dx, dy)
    small = _resize(image, factor2)
    zoom = np.array([image.shape[1] / small.shape[1], image.shape[0] / small.shape[0]])
    matrix = m * zoom[:, None]
    matrix[:, 2] += 0.5 * (zoom - 1)  # pixel-centre convention of cv2.resize
    return Match(index=index, name=str(db.names[index]), score=score, matrix=matrix,
                 scale=float(scale / factor2), angle=float(angle), candidates=[(c[1], c[0]) for c in cand],
                 seconds=time.perf_counter() - t0, located=located_matrix is not None)


def _supports(db):
    """Footprint of each exemplar's face: the filled hull of its landmarks, dilated (float32 0/1)."""
    cached = getattr(db, "_match_supports", None)
    if cached is not None:
        return cached
    faces = np.asarray(db.faces)
    S = faces.shape[-1]
    lms = np.asarray(db.landmarks)
    out = np.ones(faces.shape, np.float32)
    if lms.size and np.ptp(lms) > 0:
        r = max(1, S // 16)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        for i, pts in enumerate(lms):
            hull = cv2.convexHull(np.round(pts).astype(np.int32))
            m = np.zeros((S, S), np.uint8)
            cv2.fillConvexPoly(m, hull, 1)
            out[i] = cv2.dilate(m, kernel)
    try:
        db._match_supports = out
    except AttributeError:
        pass
    return out


def exemplar_to_image(match, db, shape):
    """The matched exemplar's face and landmarks in the input image's frame.

    Returns
    -------
    face : ndarray of shape ``shape``
        The sharp exemplar warped into the image (reflected outside its crop).
    landmarks : ndarray of shape (68, 2)
        Its landmarks in image coordinates.
    """
    H, W = shape
    face = cv2.warpAffine(np.asarray(db.faces[match.index], np.float32), match.matrix, (W, H),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    pts = np.asarray(db.landmarks[match.index], np.float64)
    lm = pts @ match.matrix[:, :2].T + match.matrix[:, 2]
    return face, lm

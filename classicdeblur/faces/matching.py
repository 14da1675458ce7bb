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

1. all exemplars x all (scale, rotation) pairs at low resolution (the
   exemplars shrunk to :data:`COARSE` pixels a side, the image to match);
2. the ``top`` best exemplars refined at half resolution (the paper's
   matching resolution) on a finer (scale, rotation) grid around their best;
3. the best of them on a still finer grid (2% in scale, 1 degree).

Stages 2 and 3 search each template only near where the stage before placed it
(:data:`WINDOW`: scaling and rotating a template about its centre keeps the
centre), so each of their correlations runs on a crop of the padded gradients;
and every FFT is only as large as the (cropped) image, not image plus template
(a circular correlation of that size has no wrap-around at the placements
searched). The coarse stage still searches every placement: narrowing it to
the face centre of dlib's landmarks changed the exemplar on 19 of 64
``faces-256`` x Levin cases and lost 0.17 dB on average, where the windows of
stages 2 and 3 leave 54 of the 64 unchanged (29.40 -> 29.38 dB, kernel
similarity 0.717 both; matching about 4 s -> 1 s per 256-px face; issue 11).

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

#: Side, in pixels, of the exemplars in the coarse search: the wide search (no face detected,
#: 25 scale/rotation pairs) and the narrow one (around detected landmarks, 9 pairs).
COARSE = {"wide": 24, "narrow": 32}
#: Search windows (half-widths) of stages 2 and 3: around each exemplar's coarse placement,
#: in coarse pixels, and around the winner's placement, in pixels.
WINDOW = (3.0, 3.0)


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


def _warp(face, support, scale, angle):
    """Exemplar (S, S) and its support scaled and rotated about the centre into a tight odd square.

    Returns ``(template, support, m)`` with ``m`` the crop-to-template matrix.
    """
    S = face.shape[-1]
    side = _side(S, scale, angle)
    m = _rotation(scale, angle, ((S - 1) / 2, (S - 1) / 2), ((side - 1) / 2, (side - 1) / 2))
    temp = cv2.warpAffine(face, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    sup = cv2.warpAffine(support, m, (side, side), flags=cv2.INTER_LINEAR, borderValue=0)
    return temp, sup, m


def _ncc(image, temps, sups, centre=None, radius=None, canvas=0):
    """Best normalised gradient correlation of each template over all placements, and where.

    ``temps``/``sups``: lists of square templates and supports of any sides,
    batched in one canvas (top-left aligned; the zero support outside a
    template keeps it out of the sums). Returns ``(score, dy, dx)`` arrays:
    the best score of each template and the top-left offset of its placement
    in ``image``.

    With ``centre = (cy, cx)`` (image pixels) and ``radius``, only placements
    whose template centre lies within ``radius`` pixels (per axis) of
    ``centre`` are searched: the correlation then runs on a crop of the
    padded gradients, a much smaller FFT. ``canvas`` (at least the largest
    template's side) sets the batch canvas, hence the placements allowed near
    the image border, as if the templates were batched with larger ones.
    """
    n, t = len(temps), max(canvas, *(a.shape[0] for a in temps))
    temp = np.zeros((n, t, t), np.float32)
    sup = np.zeros_like(temp)
    for i, (a, b) in enumerate(zip(temps, sups)):
        temp[i, : a.shape[0], : a.shape[1]] = a
        sup[i, : b.shape[0], : b.shape[1]] = b > 0.5
    # placements with the template's centre inside the image: pad the gradients with zeros
    pad = t // 2
    br, bi = (np.pad(g, pad) for g in _dgrad(image))
    oy = ox = 0
    if centre is not None:
        # top-left placements d (padded frame) whose template centre c_i = d + (a_i - 1) / 2 - pad
        # lies within radius of centre, for every template side a_i of the batch
        lo_side = min(a.shape[0] for a in temps)
        box = []
        for c, size in zip(centre, br.shape):
            lo = int(np.floor(c - radius)) + pad - (t - 1) // 2
            hi = int(np.ceil(c + radius)) + pad - (lo_side - 1) // 2
            lo, hi = max(0, lo), min(size - t, hi)
            box.append((lo, max(lo, hi)))
        (oy, y1), (ox, x1) = box
        br, bi = br[oy : y1 + t, ox : x1 + t], bi[oy : y1 + t, ox : x1 + t]
    H, W = br.shape
    # a circular correlation of size >= H has no wrap-around at the valid placements 0..H-t
    shape = (scipy.fft.next_fast_len(H, True), scipy.fft.next_fast_len(W, True))
    tr, ti = _dgrad(temp)
    tr, ti = tr * sup, ti * sup
    tnorm = np.sqrt((tr**2 + ti**2).sum(axis=(1, 2))) + 1e-12
    fft = scipy.fft
    FB = [np.conj(fft.rfft2(b, shape)) for b in (br, bi, br**2 + bi**2)]
    FT = [fft.rfft2(a, shape, workers=-1) for a in (tr, ti, sup)]
    # sum_q B[q + d] T[q] (the template with its top-left corner at d) is the irfft of
    # conj(FB) FT at -d
    prod = FB[0][None] * FT[0]
    prod += FB[1][None] * FT[1]
    corr = _flip(fft.irfft2(prod, shape, workers=-1), H - t + 1, W - t + 1)
    del prod
    energy = _flip(fft.irfft2(FB[2][None] * FT[2], shape, workers=-1), H - t + 1, W - t + 1)
    score = corr / (tnorm[:, None, None] * np.sqrt(np.maximum(energy, 1e-12)))
    flat = score.reshape(n, -1)
    best = flat.argmax(axis=1)
    dy, dx = np.unravel_index(best, score.shape[1:])
    return flat[np.arange(n), best], dy + oy - pad, dx + ox - pad


def _flip(a, h, w):
    """``a[:, -d_y, -d_x]`` (indices modulo the array's shape) for ``0 <= d_y < h``, ``0 <= d_x < w``."""
    iy = (-np.arange(h)) % a.shape[1]
    ix = (-np.arange(w)) % a.shape[2]
    return a[:, iy[:, None], ix[None, :]]


def _nominal(shape, S, located_matrix):
    """Nominal (scale, angle) of the exemplar crop in an image of ``shape`` (the search finds the position)."""
    if located_matrix is not None:
        inv = cv2.invertAffineTransform(located_matrix)  # crop -> image
        return float(np.hypot(*inv[:, 0])), float(np.rad2deg(np.arctan2(inv[1, 0], inv[0, 0])))
    return min(shape[:2]) / S, 0.0


def _resize(image, factor):
    h, w = image.shape
    size = (max(8, int(round(w * factor))), max(8, int(round(h * factor))))
    return cv2.resize(image.astype(np.float32), size, interpolation=cv2.INTER_AREA)


def _search(image, faces, supports, factor, items, chunk=512, centres=None, radius=None):
    """Score, scale, angle and offset of each ``(exemplar, scale, angle)`` item at resolution ``factor``.

    Items are correlated in batches of ``chunk`` templates. With ``centres`` (one ``(cy, cx)``
    per item, in the resized image's pixels) and ``radius``, each item is searched only where
    its template's centre lies within ``radius`` of its centre (items sharing a centre are
    batched). Returns ``(score (K,), arg (K, 4))`` with ``arg`` rows ``(scale, angle, dy, dx)``.
    """
    small = _resize(image, factor)
    score = np.empty(len(items))
    dys, dxs = np.empty(len(items)), np.empty(len(items))
    # windowed groups on the canvas of the largest template: the placements of one batch of all
    canvas = 0 if centres is None else max(_side(faces.shape[-1], s, a) for _, s, a in items)
    groups = {}
    for j in range(len(items)):
        groups.setdefault(None if centres is None else tuple(centres[j]), []).append(j)
    for centre, members in groups.items():
        for start in range(0, len(members), chunk):
            idx = members[start : start + chunk]
            warped = [_warp(faces[items[j][0]], supports[items[j][0]], items[j][1], items[j][2])[:2] for j in idx]
            sc, dy, dx = _ncc(small, [w[0] for w in warped], [w[1] for w in warped], centre, radius, canvas)
            score[idx], dys[idx], dxs[idx] = sc, dy, dx
    arg = np.column_stack([[s for _, s, _ in items], [a for _, _, a in items], dys, dxs])
    return score, arg


def _side(face_side, scale, angle):
    """Side of the template :func:`_warp` makes of a ``face_side`` square exemplar."""
    a = np.deg2rad(angle)
    return int(np.ceil(face_side * scale * (abs(np.cos(a)) + abs(np.sin(a))))) | 1


def _centre(arg_row, face_side, factor_from, factor_to):
    """Centre ``(cy, cx)`` of a placed template (``arg`` row at resolution ``factor_from``) at ``factor_to``."""
    scale, angle, dy, dx = arg_row
    half = (_side(face_side, scale, angle) - 1) / 2
    z = factor_to / factor_from
    return tuple(float((v + half + 0.5) * z - 0.5) for v in (dy, dx))


def _best_per_exemplar(items, score, arg, n):
    """For each of ``n`` exemplars, its best score over ``items`` and that item's ``arg`` row."""
    best = np.full(n, -np.inf)
    where = np.zeros((n, 4))
    for (i, _, _), sc, row in zip(items, score, arg):
        if sc > best[i]:
            best[i], where[i] = sc, row
    return best, where


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
    scale0, angle0 = _nominal(image.shape, S, located_matrix)
    if located_matrix is not None:
        scales, angles = (0.9, 1.0, 1.1), (-4.0, 0.0, 4.0)
    # 1. coarse: small exemplars; the image at the matching scale
    side = COARSE["narrow" if located_matrix is not None else "wide"]
    f1 = side / S
    factor1 = f1 / scale0
    grid1 = [(s, angle0 + a) for s in scales for a in angles]
    small_faces = np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in faces])
    small_sup = np.stack([cv2.resize(s, (side, side), interpolation=cv2.INTER_AREA) for s in supports])
    items = [(i, sc, an) for sc, an in grid1 for i in range(len(faces))]
    best1, arg1 = _best_per_exemplar(items, *_search(image, small_faces, small_sup, factor1, items), len(faces))
    order = np.argsort(-best1)[: max(1, int(top))]
    # 2. refine the best at half the input's resolution, around each one's coarse optimum;
    #    the coarse scales are 1.25 apart (about 1.12 either way), the angles 5 degrees
    factor2 = 0.5
    items = [(int(i), arg1[i, 0] * scale0 * factor2 * ds, arg1[i, 1] + da)
             for i in order for ds in (0.9, 0.95, 1.0, 1.05, 1.1) for da in (-2.5, 0.0, 2.5)]
    # each around its coarse placement (scaling and rotating about the centre keep it)
    centre1 = {int(i): _centre(arg1[i], side, factor1, factor2) for i in order}
    radius2 = WINDOW[0] * factor2 / factor1
    best2, arg2 = _best_per_exemplar(items, *_search(image, faces, supports, factor2, items,
                                                     centres=[centre1[i] for i, _, _ in items], radius=radius2),
                                     len(faces))
    cand = sorted(((float(best2[i]), int(i)) for i in order), reverse=True)
    # 3. the winner on a still finer grid around its optimum
    index = cand[0][1]
    items = [(index, arg2[index, 0] * ds, arg2[index, 1] + da) for ds in (0.98, 1.0, 1.02) for da in (-1.0, 0.0, 1.0)]
    score3, arg3 = _search(image, faces, supports, factor2, items,
                           centres=[_centre(arg2[index], S, factor2, factor2)] * len(items), radius=WINDOW[1])
    j = int(np.argmax(score3))
    score, (scale, angle, dy, dx) = float(score3[j]), arg3[j]
    cand[0] = (score, index)
    # crop -> template -> half-resolution image -> image
    m = _warp(faces[index], supports[index], scale, angle)[2]
    m[:, 2] += (dx, dy)
    small = _resize(image, factor2)
    zoom = np.array([image.shape[1] / small.shape[1], image.shape[0] / small.shape[0]])
    matrix = m * zoom[:, None]
    matrix[:, 2] += 0.5 * (zoom - 1)  # pixel-centre convention of cv2.resize
    return Match(index=index, name=str(db.names[index]), score=score, matrix=matrix,
                 scale=float(scale / factor2), angle=float(angle), candidates=[(i, sc) for sc, i in cand],
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

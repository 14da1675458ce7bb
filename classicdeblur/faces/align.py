"""Similarity alignment of faces to a canonical crop, and back.

Five anchors (the two eye centres = means of landmarks 36-41 and 42-47, the nose
tip 30 and the mouth corners 48 and 54) are mapped by a least-squares similarity
transform (Umeyama 1991) onto :data:`TEMPLATE`. The template was fitted on
dlib landmarks of 164 CelebA and FFHQ faces so that, for the median face, the
whole jaw line (0-16) and the brows lie inside the crop with about 11 % of its
side as margin (the mean shape spans pixels 15..115 of 128); turned heads may
reach the border.

Coordinates are ``(x, y)`` pixels with pixel centres at integers; a unit
template coordinate ``u`` is pixel ``u * size - 0.5``, so one template serves
every crop size.

Examples
--------
>>> import numpy as np
>>> photo_pts = template_landmarks(128) * 2 + 5       # a face twice as large, shifted
>>> m = alignment_matrix(photo_pts)
>>> np.abs(transform_points(photo_pts, m) - template_landmarks(128)).max() < 0.05
np.True_
"""

from __future__ import annotations

import numpy as np

from .._validation import check_count, check_image
from ..errors import InvalidImageError

__all__ = [
    "CANONICAL_SIZE",
    "FRAMED_EYES",
    "MEAN_SHAPE",
    "TEMPLATE",
    "align_face",
    "alignment_matrix",
    "anchor_points",
    "framed_landmarks",
    "invert_matrix",
    "similarity_matrix",
    "template_landmarks",
    "template_points",
    "transform_points",
    "unalign",
]

#: Side of the canonical face crop (pixels).
CANONICAL_SIZE = 128

#: Anchor positions as fractions of the crop side: image-left eye centre, image-right
#: eye centre, nose tip (30), mouth corners (48, 54). Eye distance 0.344 of the side.
TEMPLATE = np.array([
    [0.3281, 0.2540],
    [0.6719, 0.2540],
    [0.5000, 0.4517],
    [0.3443, 0.6124],
    [0.6557, 0.6124],
])

#: Mean 68-point shape of the fitting faces in the template frame (fractions of the side).
MEAN_SHAPE = np.array([
    (0.1165, 0.2576), (0.1192, 0.3601), (0.1311, 0.4621), (0.1515, 0.5626), (0.1903, 0.6572),
    (0.2507, 0.7390), (0.3250, 0.8087), (0.4078, 0.8674), (0.5012, 0.8859), (0.5968, 0.8692),
    (0.6842, 0.8116), (0.7621, 0.7427), (0.8257, 0.6602), (0.8655, 0.5644), (0.8868, 0.4614),
    (0.8988, 0.3559), (0.9018, 0.2512), (0.1862, 0.1697), (0.2359, 0.1341), (0.3004, 0.1272),
    (0.3655, 0.1401), (0.4270, 0.1683), (0.5664, 0.1655), (0.6310, 0.1375), (0.6990, 0.1247),
    (0.7658, 0.1331), (0.8185, 0.1692), (0.4978, 0.2476), (0.4969, 0.3150), (0.4956, 0.3829),
    (0.4949, 0.4516), (0.4248, 0.4961), (0.4592, 0.5098), (0.4969, 0.5221), (0.5348, 0.5103),
    (0.5706, 0.4972), (0.2612, 0.2528), (0.3040, 0.2277), (0.3558, 0.2296), (0.3995, 0.2656),
    (0.3509, 0.2741), (0.3004, 0.2729), (0.6011, 0.2655), (0.6453, 0.2299), (0.6973, 0.2283),
    (0.7402, 0.2539), (0.7010, 0.2732), (0.6498, 0.2749), (0.3464, 0.6112), (0.4023, 0.5898),
    (0.4584, 0.5793), (0.4983, 0.5889), (0.5396, 0.5802), (0.5977, 0.5919), (0.6577, 0.6136),
    (0.6004, 0.6731), (0.5426, 0.6989), (0.4979, 0.7036), (0.4544, 0.6984), (0.3998, 0.6719),
    (0.3707, 0.6169), (0.4578, 0.6155), (0.4981, 0.6204), (0.5400, 0.6173), (0.6328, 0.6180),
    (0.5397, 0.6447), (0.4979, 0.6492), (0.4565, 0.6442),
])

#: Mean eye centres (fractions of width, height) of the ``faces-256`` benchmark crops
#: (centre squares of aligned CelebA and FFHQ images): where a face sits in a face crop.
FRAMED_EYES = np.array([[0.385, 0.506], [0.610, 0.506]])


def _host(a):
    get = getattr(a, "get", None)
    return np.asarray(get() if callable(get) and not isinstance(a, np.ndarray) else a)


def _points(points, name="landmarks") -> np.ndarray:
    p = np.asarray(_host(points), dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or not np.isfinite(p).all():
        raise InvalidImageError(f"{name} must be a finite (K, 2) array of (x, y); got shape {p.shape}")
    return p


def anchor_points(landmarks) -> np.ndarray:
    """The 5 alignment anchors of 68 landmarks (a (5, 2) input is returned as is).

    Examples
    --------
    >>> anchor_points(template_landmarks(128)).shape
    (5, 2)
    """
    p = _points(landmarks)
    if p.shape[0] == 5:
        return p
    if p.shape[0] != 68:
        raise InvalidImageError(f"landmarks must be (68, 2) (iBUG order) or (5, 2) anchors; got {p.shape}")
    return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])


def template_points(size=CANONICAL_SIZE) -> np.ndarray:
    """:data:`TEMPLATE` anchors in pixel coordinates of a ``size`` crop."""
    return TEMPLATE * check_count("size", size, 8) - 0.5


def template_landmarks(size=CANONICAL_SIZE) -> np.ndarray:
    """:data:`MEAN_SHAPE` in pixel coordinates of a ``size`` crop (68, 2).

    Examples
    --------
    >>> template_landmarks(128)[8].round(1).tolist()  # the chin
    [63.7, 112.9]
    """
    return MEAN_SHAPE * check_count("size", size, 8) - 0.5


def framed_landmarks(shape) -> np.ndarray:
    """Mean landmarks placed as a face sits in a face crop of ``shape`` (the benchmark framing).

    A fallback for when no face is detected in a face image: the eyes go to
    :data:`FRAMED_EYES` (scaled by the smaller side, centred).

    Examples
    --------
    >>> framed_landmarks((256, 256))[36:48].mean(0).round(0)
    array([127., 129.])
    """
    m, n = int(shape[0]), int(shape[1])
    s = min(m, n)
    eyes = FRAMED_EYES * s - 0.5 + [(n - s) / 2.0, (m - s) / 2.0]
    src = np.stack([MEAN_SHAPE[36:42].mean(0), MEAN_SHAPE[42:48].mean(0)])
    return transform_points(MEAN_SHAPE, similarity_matrix(src, eyes))


def similarity_matrix(src, dst) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) taking ``src`` to ``dst``.

    Returns the (2, 3) matrix ``[[a, -b, tx], [b, a, ty]]``.

    Examples
    --------
    >>> similarity_matrix([[0, 0], [1, 0]], [[1, 1], [1, 3]]).round(6) + 0.0
    array([[ 0., -2.,  1.],
           [ 2.,  0.,  1.]])
    """
    s, d = _points(src, "src"), _points(dst, "dst")
    if s.shape != d.shape or s.shape[0] < 2:
        raise InvalidImageError(f"need two matching point sets of >= 2 points; got {s.shape} and {d.shape}")
    n = s.shape[0]
    a = np.zeros((2 * n, 4))
    a[0::2] = np.c_[s[:, 0], -s[:, 1], np.ones(n), np.zeros(n)]
    a[1::2] = np.c_[s[:, 1], s[:, 0], np.zeros(n), np.ones(n)]
    c, b, tx, ty = np.linalg.lstsq(a, d.reshape(-1), rcond=None)[0]
    if not np.hypot(c, b) > 1e-12:
        raise InvalidImageError("degenerate landmarks (all points coincide); cannot align")
    return np.array([[c, -b, tx], [b, c, ty]])


def alignment_matrix(landmarks, size=CANONICAL_SIZE) -> np.ndarray:
    """(2, 3) similarity taking photo coordinates to those of the canonical ``size`` crop.

    Fitted by least squares on the 5 anchors (:func:`anchor_points`).
    """
    return similarity_matrix(anchor_points(landmarks), template_points(size))


def invert_matrix(matrix) -> np.ndarray:
    """Inverse of a (2, 3) affine matrix.

    Examples
    --------
    >>> m = np.array([[2.0, 0, 1], [0, 2, 3]])
    >>> invert_matrix(m)
    array([[ 0.5,  0. , -0.5],
           [ 0. ,  0.5, -1.5]])
    """
    m = np.asarray(matrix, dtype=np.float64)
    full = np.vstack([m, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def transform_points(points, matrix) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (K, 2) ``(x, y)`` points."""
    p = _points(points, "points")
    m = np.asarray(matrix, dtype=np.float64)
    return p @ m[:, :2].T + m[:, 2]


def _work(image):
    img = _host(check_image(image))
    return np.ascontiguousarray(img, dtype=np.float32 if img.dtype == np.float32 else np.float64)


def align_face(image, landmarks, size=CANONICAL_SIZE):
    """Warp the face with ``landmarks`` to the canonical ``size`` x ``size`` crop.

    Bilinear, mirrored border. When the crop is more than 1.5 times smaller than the
    face in the photo, the photo is first shrunk by area averaging (no aliasing).

    Returns
    -------
    crop : ndarray (size, size) or (size, size, C)
    matrix : ndarray (2, 3)
        Photo -> crop coordinates (use with :func:`transform_points`, :func:`unalign`).

    Examples
    --------
    >>> img = np.random.default_rng(0).random((200, 160))
    >>> crop, m = align_face(img, framed_landmarks(img.shape), 64)
    >>> crop.shape, m.shape
    ((64, 64), (2, 3))
    """
    import cv2

    size = check_count("size", size, 8)
    img = _work(image)
    matrix = alignment_matrix(landmarks, size)
    warp, src = matrix, img
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 1 / 1.5:  # shrink first by area averaging, then compose the matrices
        h, w = img.shape[:2]
        nh, nw = max(int(round(h * scale)), 1), max(int(round(w * scale)), 1)
        src = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        rx, ry = nw / w, nh / h  # dst x_d = r (x + 0.5) - 0.5  <=>  x = (x_d + 0.5) / r - 0.5
        back = np.array([[1 / rx, 0, 0.5 / rx - 0.5], [0, 1 / ry, 0.5 / ry - 0.5], [0, 0, 1]])
        warp = matrix @ back
    crop = cv2.warpAffine(src, warp, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    if img.ndim == 3 and crop.ndim == 2:
        crop = crop[..., None]
    return np.clip(crop, 0.0, 1.0), matrix


def _feather(size, feather):
    d = np.arange(size, dtype=np.float64)
    edge = np.minimum(d, size - 1 - d) + 0.5
    ramp = np.clip(edge / max(feather, 1e-9), 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep
    return np.minimum.outer(ramp, ramp)


def unalign(crop, matrix, shape, *, feather=None):
    """Warp a canonical crop back into the photo frame.

    Parameters
    ----------
    crop : ndarray (S, S) or (S, S, C)
    matrix : ndarray (2, 3)
        The photo -> crop matrix returned by :func:`align_face`.
    shape : tuple
        Shape of the photo (only ``shape[:2]`` is used).
    feather : float, optional
        Width in crop pixels of the weight's ramp at the crop's border (default ``S / 16``).

    Returns
    -------
    image : ndarray (M, N) or (M, N, C)
        The crop in photo coordinates (0 outside its footprint).
    weight : ndarray (M, N)
        1 inside the footprint, falling smoothly to 0 over the feather band and outside;
        blend with ``weight * image + (1 - weight) * photo``.

    Examples
    --------
    >>> img = np.random.default_rng(0).random((100, 90))
    >>> crop, m = align_face(img, framed_landmarks(img.shape), 64)
    >>> back, w = unalign(crop, m, img.shape)
    >>> back.shape, w.shape, float(w.max())
    ((100, 90), (100, 90), 1.0)
    """
    import cv2

    c = _work(crop)
    if c.shape[0] != c.shape[1]:
        raise InvalidImageError(f"crop must be square; got shape {c.shape}")
    m, n = int(shape[0]), int(shape[1])
    size = c.shape[0]
    feather = size / 16.0 if feather is None else float(feather)
    mat = np.asarray(matrix, dtype=np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    out = cv2.warpAffine(c, mat, (n, m), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if c.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    wt = cv2.warpAffine(_feather(size, feather).astype(c.dtype), mat, (n, m), flags=flags,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return np.clip(out, 0.0, 1.0), np.clip(wt, 0.0, 1.0)

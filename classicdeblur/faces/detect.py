"""Face detection, 68-point landmarks and identity embeddings (dlib).

* detection: dlib's HOG frontal face detector (Dalal & Triggs 2005, as trained by
  King 2015), optionally on an upsampled image, or dlib's CNN face detector (max-margin
  object detection, King 2015), far more robust to blur and far slower on a CPU;
  :func:`find_faces` tries HOG first and the CNN on small copies of the image after it;
* landmarks: the 68-point iBUG layout (Sagonas et al. 2013) from dlib's regression
  tree ensemble (Kazemi & Sullivan, CVPR 2014): jaw 0-16, brows 17-26, nose 27-35,
  eyes 36-47, mouth 48-67; coordinates are ``(x, y)`` image pixels;
* embedding: dlib's ResNet face descriptor (128-D); Euclidean distance below 0.6
  means "same person".

Images are floats in [0, 1], gray ``(M, N)`` or colour ``(M, N, C)``; they are
rounded to 8 bits for dlib. CuPy inputs are copied to the host.

Examples
--------
>>> import numpy as np
>>> detect_faces(np.full((64, 64), 0.5))
[]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_count, check_image
from ..errors import InvalidImageError, InvalidParameterError
from . import models

__all__ = [
    "CNN_MAX_SIDE",
    "CNN_SIDE",
    "DETECTORS",
    "Face",
    "check_box",
    "cnn_sides",
    "detect_faces",
    "find_faces",
    "face_embedding",
    "face_landmarks",
    "identity_distance",
    "to_uint8",
]


#: The detectors of :func:`detect_faces`.
DETECTORS = ("hog", "cnn")
#: Long side (pixels) of the first copy of an image that :func:`find_faces` shows the CNN detector.
CNN_SIDE = 160
#: :func:`find_faces` never shows the CNN detector a copy with a longer side than this.
CNN_MAX_SIDE = 1024
#: A CNN (MMOD) box moved right and down by these shares of its width and grown by the last factor is
#: framed like a HOG box, as the landmark predictor expects (medians over 232 sharp CelebA faces of
#: identities 40-99 that both detectors found).
_CNN_TO_HOG = (0.05, 0.05, 1.05)


@dataclass(eq=False)
class Face:
    """One face in an image.

    Attributes
    ----------
    box : tuple of int
        ``(x, y, w, h)`` in image pixels (clipped to the image).
    score : float
        Detector confidence (SVM margin; 0 is dlib's default threshold). ``nan`` for
        a box given by the user.
    landmarks : ndarray of shape (68, 2)
        float64 ``(x, y)`` pixel coordinates in iBUG order.
    detector : str
        ``"hog"`` or ``"cnn"`` (the CNN's box is reframed like a HOG box), ``"box"``
        for a box given by the user.
    """

    box: tuple
    score: float
    landmarks: np.ndarray = field(repr=False)
    detector: str = "hog"

    @property
    def eyes(self) -> np.ndarray:
        """Centres of the two eyes, ``[[x, y] (image left), [x, y] (image right)]``."""
        return np.stack([self.landmarks[36:42].mean(0), self.landmarks[42:48].mean(0)])


def _host(a):
    get = getattr(a, "get", None)  # CuPy -> NumPy
    return np.asarray(get() if callable(get) and not isinstance(a, np.ndarray) else a)


def to_uint8(image, *, rgb=False) -> np.ndarray:
    """Validate an image and round it to a C-contiguous uint8 array for dlib.

    Gray stays 2-D (replicated to 3 channels with ``rgb=True``); colour keeps its first
    three channels (alpha dropped; two channels = gray + alpha).

    Examples
    --------
    >>> to_uint8(np.array([[0.0, 0.5, 1.0]]))
    array([[  0, 128, 255]], dtype=uint8)
    >>> to_uint8(np.zeros((2, 2)), rgb=True).shape
    (2, 2, 3)
    """
    img = _host(check_image(image))
    if img.ndim == 3:
        img = img[..., 0] if img.shape[2] <= 2 else img[..., :3]
    u8 = np.rint(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
    if rgb and u8.ndim == 2:
        u8 = np.repeat(u8[..., None], 3, axis=2)
    return np.ascontiguousarray(u8)


def check_box(box, shape=None) -> tuple:
    """``box`` as a tuple of four ints ``(x, y, w, h)`` with positive size.

    With ``shape`` the box is clipped to the image (so a huge box costs no
    memory), and a box with nothing left inside the image is refused.

    Examples
    --------
    >>> check_box("10, 20, 30, 40")
    (10, 20, 30, 40)
    >>> check_box((-10, 20, 99999, 99999), (160, 120))
    (0, 20, 120, 140)
    >>> check_box((0, 0, 0, 5))
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidParameterError: face box needs a positive width and height; got (0, 0, 0, 5)
    >>> check_box("-10,-10,5,5", (160, 120))
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidParameterError: face box (-10, -10, 5, 5) lies outside the 120x160 image; give x,y,w,h inside it
    """
    if isinstance(box, str):
        parts = [p for p in box.replace(" ", "").split(",") if p]
        try:
            box = [float(p) for p in parts]
        except ValueError:
            box = parts
    try:
        vals = [float(v) for v in box]
    except (TypeError, ValueError):
        raise InvalidParameterError(f"face box must be four numbers x,y,w,h; got {box!r}") from None
    if len(vals) != 4 or not all(np.isfinite(vals)) or max(abs(v) for v in vals) > 2**62:
        raise InvalidParameterError(f"face box must be four finite numbers x,y,w,h; got {box!r}")
    x, y, w, h = (int(round(v)) for v in vals)
    if w <= 0 or h <= 0:
        raise InvalidParameterError(f"face box needs a positive width and height; got {(x, y, w, h)}")
    if shape is not None:
        m, n = int(shape[0]), int(shape[1])
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, n), min(y + h, m)
        if x1 <= x0 or y1 <= y0:
            raise InvalidParameterError(
                f"face box {(x, y, w, h)} lies outside the {n}x{m} image; give x,y,w,h inside it"
            )
        x, y, w, h = x0, y0, x1 - x0, y1 - y0
    return x, y, w, h


def _rect(box):
    dlib = models.dlib_module()
    x, y, w, h = box
    return dlib.rectangle(int(x), int(y), int(x + w - 1), int(y + h - 1))


def _clip_box(left, top, right, bottom, shape):
    m, n = shape[:2]
    x0, y0 = max(int(left), 0), max(int(top), 0)
    x1, y1 = min(int(right) + 1, n), min(int(bottom) + 1, m)
    return x0, y0, max(x1 - x0, 1), max(y1 - y0, 1)


def _points(shape) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def _cnn_rect(rect, factor):
    """A CNN detection in a copy scaled by ``factor`` as a HOG-framed dlib rectangle of the image."""
    dx, dy, grow = _CNN_TO_HOG
    w = (rect.right() - rect.left() + 1) / factor
    h = (rect.bottom() - rect.top() + 1) / factor
    cx = (rect.left() + rect.right() + 1) / (2 * factor) + dx * w
    cy = (rect.top() + rect.bottom() + 1) / (2 * factor) + dy * w
    w, h = w * grow, h * grow
    left, top = round(cx - w / 2), round(cy - h / 2)
    return models.dlib_module().rectangle(left, top, left + max(round(w), 1) - 1, top + max(round(h), 1) - 1)


def _faces(u8, found):
    """``Face`` objects for ``[(dlib rectangle, score, detector)]``, largest first.

    The landmarks are predicted on the rectangle as found; the box is clipped to the image.
    """
    predictor = models.shape_predictor(68)
    faces = [Face(_clip_box(r.left(), r.top(), r.right(), r.bottom(), u8.shape), float(score),
                  _points(predictor(u8, r)), detector) for r, score, detector in found]
    faces.sort(key=lambda f: (-f.box[2] * f.box[3], -f.score))
    return faces


def _resized(u8, side):
    """``u8`` scaled so that its long side is ``side`` (area when shrinking, bilinear when growing) and the factor."""
    import cv2

    f = side / max(u8.shape[:2])
    if f == 1:
        return u8, 1.0
    size = (max(1, round(u8.shape[1] * f)), max(1, round(u8.shape[0] * f)))
    out = cv2.resize(u8, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    return np.ascontiguousarray(out), size[0] / u8.shape[1]


def detect_faces(image, *, upsample=1, threshold=0.0, detector="hog") -> list:
    """Detect frontal faces and their 68 landmarks, largest face first.

    Parameters
    ----------
    image : ndarray (M, N) or (M, N, C)
        Floats in [0, 1].
    upsample : int
        Times the image is doubled before detection (HOG: finds faces down to ~40 px
        with 1; CNN: down to ~80 px with 0, ~40 px with 1).
    threshold : float
        Detector score threshold; lower (e.g. -0.5) finds more faces, and more false
        ones. The CNN detector reports only scores above 0.
    detector : {"hog", "cnn"}
        dlib's HOG detector, or its CNN detector: far more robust to blur, and about
        a second per 256x256 pixels on a CPU (see :func:`find_faces` for a cheap way
        to use it). CNN boxes are reframed like HOG boxes for the landmark predictor.

    Returns
    -------
    list of Face
        Empty when no face is found.

    Raises
    ------
    FacesUnavailableError
        dlib or the ``faces`` extra is missing.

    Examples
    --------
    >>> from classicdeblur.io import read_image
    >>> faces = detect_faces(read_image("tests/data/astronaut_sharp.png").image)
    >>> len(faces), faces[0].landmarks.shape, faces[0].detector
    (1, (68, 2), 'hog')
    """
    upsample = check_count("upsample", upsample, 0)
    if detector not in DETECTORS:
        raise InvalidParameterError(f"unknown face detector {detector!r}; choose from: {', '.join(DETECTORS)}")
    u8 = to_uint8(image)
    if detector == "cnn":
        found = [(_cnn_rect(d.rect, 1.0), d.confidence, "cnn")
                 for d in models.cnn_detector()(u8, upsample) if d.confidence >= threshold]
        return _faces(u8, found)
    rects, scores, _ = models.detector().run(u8, upsample, float(threshold))
    return _faces(u8, [(r, s, "hog") for r, s in zip(rects, scores)])


def cnn_sides(shape, max_side=CNN_MAX_SIDE) -> list:
    """Long sides of the copies of an image of ``shape`` that :func:`find_faces` shows the CNN detector.

    :data:`CNN_SIDE`, doubled while shorter than the image, then the image's own
    long side (never more than ``max_side``); a small image (long side at most
    :data:`CNN_SIDE`) is also shown at twice :data:`CNN_SIDE`. The CNN finds faces
    of about 80 pixels and more in each copy: the first copy finds faces that fill
    half of the image, each next one faces half as large. The cost grows with the
    pixels: on one CPU core, about 0.2 s at 160, 0.8 s at 320, 3.5 s at 640 and
    20 s at 947x710.

    Examples
    --------
    >>> cnn_sides((128, 128)), cnn_sides((256, 256)), cnn_sides((710, 947)), cnn_sides((3000, 4000))
    ([160, 320], [160, 256], [160, 320, 640, 947], [160, 320, 640, 1024])
    >>> cnn_sides((710, 947), max_side=320)
    [160, 320]
    """
    long = max(int(shape[0]), int(shape[1]))
    target = min(long if long > CNN_SIDE else 2 * CNN_SIDE, max(int(max_side), CNN_SIDE))
    sides = [CNN_SIDE]
    while sides[-1] * 2 < target:
        sides.append(sides[-1] * 2)
    if target > sides[-1]:
        sides.append(target)
    return sides


def find_faces(image, *, cnn=True, upsample=(1, 2), max_side=CNN_MAX_SIDE):
    """Faces in a possibly blurred image: HOG first, then the CNN detector on small copies.

    In order, stopping at the first that finds a face: the HOG detector with each
    ``upsample`` (fast; misses most faces under strong blur), then the CNN detector
    (``cnn=True``) on copies of the image scaled to each of :func:`cnn_sides`
    (downscaling also shrinks the blur, and keeps the CNN's cost down: about 0.2 s
    for the first copy on a CPU). On the ``faces-256`` benchmark faces blurred by
    Levin's 8 kernels, HOG finds 91% of the faces and the chain 99.3%.

    Parameters
    ----------
    image : ndarray (M, N) or (M, N, C)
        Floats in [0, 1].
    cnn : bool
        Try the CNN detector when HOG finds nothing.
    upsample : tuple of int
        The HOG detector's upsampling steps, tried in order.
    max_side : int
        The longest side of a copy shown to the CNN (see :func:`cnn_sides`).

    Returns
    -------
    faces : list of Face
        The faces of the first step that found any (largest first; ``Face.detector``
        says which detector), or ``[]``.
    attempts : list of dict
        One per step tried: ``detector``, ``upsample`` (HOG) or ``side`` (CNN),
        ``found`` (count) and ``seconds``.

    Examples
    --------
    >>> from classicdeblur.io import read_image
    >>> faces, attempts = find_faces(read_image("tests/data/astronaut_sharp.png").image)
    >>> [f.detector for f in faces], [(a["detector"], a["found"]) for a in attempts]
    (['hog'], [('hog', 1)])
    """
    import time

    u8 = to_uint8(image)
    attempts = []
    for up in upsample:
        t0 = time.perf_counter()
        faces = detect_faces(u8 / 255.0, upsample=up)
        attempts.append({"detector": "hog", "upsample": int(up), "found": len(faces),
                         "seconds": time.perf_counter() - t0})
        if faces:
            return faces, attempts
    if not cnn:
        return [], attempts
    model = models.cnn_detector()
    for side in cnn_sides(u8.shape, max_side):
        t0 = time.perf_counter()
        small, f = _resized(u8, side)
        found = [(_cnn_rect(d.rect, f), d.confidence, "cnn") for d in model(small, 0)]
        faces = _faces(u8, found)
        attempts.append({"detector": "cnn", "side": side, "found": len(faces), "seconds": time.perf_counter() - t0})
        if faces:
            return faces, attempts
    return [], attempts


def face_landmarks(image, box) -> np.ndarray:
    """The 68 landmarks of the face in ``box`` = ``(x, y, w, h)`` (any box, e.g. a user's).

    The predictor expects a box like the detector's: roughly from the brows to the
    chin and between the jaw's sides (about 0.8 of the head's width).

    Examples
    --------
    >>> from classicdeblur.io import read_image
    >>> img = read_image("tests/data/astronaut_sharp.png").image
    >>> face_landmarks(img, (40, 40, 80, 80)).shape
    (68, 2)
    """
    u8 = to_uint8(image)
    box = check_box(box, u8.shape)
    return _points(models.shape_predictor(68)(u8, _rect(box)))


def face_embedding(image, landmarks) -> np.ndarray:
    """dlib's 128-D ResNet face descriptor of the face with the given 68 (or 5) landmarks.

    Gray images are replicated to RGB.

    Examples
    --------
    >>> from classicdeblur.io import read_image
    >>> img = read_image("tests/data/astronaut_sharp.png").image
    >>> e = face_embedding(img, detect_faces(img)[0].landmarks)
    >>> e.shape, identity_distance(e, e)
    ((128,), 0.0)
    """
    dlib = models.dlib_module()
    u8 = to_uint8(image, rgb=True)
    pts = np.asarray(_host(landmarks), dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] not in (5, 68) or not np.isfinite(pts).all():
        raise InvalidImageError(f"landmarks must be a finite (68, 2) or (5, 2) array; got shape {pts.shape}")
    x0, y0 = np.floor(pts.min(0)).astype(int)
    x1, y1 = np.ceil(pts.max(0)).astype(int)
    rect = dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
    shape = dlib.full_object_detection(rect, [dlib.point(int(round(x)), int(round(y))) for x, y in pts])
    desc = models.face_recognizer().compute_face_descriptor(u8, shape)
    return np.array(desc, dtype=np.float64)


def identity_distance(a, b) -> float:
    """Euclidean distance of two face embeddings (below 0.6: same person for dlib's model).

    Examples
    --------
    >>> round(identity_distance(np.zeros(128), np.full(128, 0.1)), 6)
    1.131371
    """
    a, b = np.asarray(_host(a), dtype=np.float64), np.asarray(_host(b), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"embeddings differ in shape: {a.shape} vs {b.shape}")
    return float(np.linalg.norm(a - b))

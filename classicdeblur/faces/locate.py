"""Find the face to work on: a user's box, else the largest detected face.

Examples
--------
>>> import numpy as np
>>> locate_face(np.full((80, 80), 0.5)) is None
True
>>> default_face((256, 256)).box
(62, 107, 134, 129)
"""

from __future__ import annotations

import numpy as np

from .._validation import check_count, check_image
from ..errors import NoFaceError
from .align import framed_landmarks
from .detect import Face, _host, check_box, detect_faces, face_landmarks

__all__ = ["default_face", "locate_face"]


def locate_face(image, *, face_box=None, upsample=1, required=False):
    """The face to deblur in ``image``.

    Parameters
    ----------
    image : ndarray (M, N) or (M, N, C)
        Floats in [0, 1].
    face_box : tuple or str, optional
        ``(x, y, w, h)`` (or ``"x,y,w,h"``): landmarks are predicted on this box, no detection.
    upsample : int
        Detector upsampling (see :func:`detect_faces`).
    required : bool
        Raise :class:`~classicdeblur.errors.NoFaceError` instead of returning None.

    Returns
    -------
    Face or None
        None when no face is detected (and ``required`` is False).

    Examples
    --------
    >>> from classicdeblur.io import read_image
    >>> img = read_image("tests/data/astronaut_sharp.png").image
    >>> locate_face(img, face_box=(38, 47, 76, 75)).box
    (38, 47, 76, 75)
    """
    img = check_image(image)
    if face_box is not None:
        box = check_box(face_box, img.shape)
        return Face(box, float("nan"), face_landmarks(img, box))
    check_count("upsample", upsample, 0)
    faces = detect_faces(img, upsample=upsample)
    if faces:
        return faces[0]
    if required:
        raise NoFaceError()
    return None


def default_face(shape) -> Face:
    """A face framed as in a face crop of ``shape`` (mean landmarks; score ``nan``).

    The fallback when a face image is too blurred for the detector: the image is
    taken to be a face crop like the ``faces-256`` benchmark images (aligned CelebA /
    FFHQ centre squares), see :func:`classicdeblur.faces.align.framed_landmarks`.
    """
    shape = tuple(int(s) for s in _host(np.asarray(shape)).tolist())
    pts = framed_landmarks(shape)
    x0, y0 = np.floor(pts.min(0)).astype(int)
    x1, y1 = np.ceil(pts.max(0)).astype(int)
    m, n = shape[:2]
    x0, y0 = max(int(x0), 0), max(int(y0), 0)
    x1, y1 = min(int(x1), n - 1), min(int(y1), m - 1)
    return Face((x0, y0, x1 - x0 + 1, y1 - y0 + 1), float("nan"), pts)

"""Salient facial structures as thin masks drawn from 68 landmarks.

Pan, Hu, Su & Yang (ECCV 2014) guide blind kernel estimation with the salient
edges of a matched face exemplar: the face outline, the eyes and the mouth
(their Sec. 3.1, Fig. 3). Here those contours are drawn as polylines through the
iBUG landmarks at the resolution of the image (anti-aliasing off, sub-pixel
vertex positions), giving a boolean mask.

Parts (image-left / image-right, as seen in the picture):

============ ========= =======
name         landmarks closed
============ ========= =======
outline      0-16      no
left_brow    17-21     no
right_brow   22-26     no
nose         27-30 and 31-35 no
left_eye     36-41     yes
right_eye    42-47     yes
mouth        48-59     yes
inner_mouth  60-67     yes
============ ========= =======

Groups: ``eyes`` = both eyes, ``brows`` = both brows, ``all`` = every part.

Examples
--------
>>> from classicdeblur.faces.align import template_landmarks
>>> m = structure_mask(template_landmarks(128), (128, 128))
>>> m.dtype, m.shape, 300 < int(m.sum()) < 600
(dtype('bool'), (128, 128), True)
"""

from __future__ import annotations

import numpy as np

from .._validation import check_count
from ..errors import InvalidImageError, InvalidParameterError

__all__ = ["DEFAULT_PARTS", "GROUPS", "PARTS", "draw_polylines", "part_polylines", "structure_mask"]

#: Part name -> tuple of (landmark indices, closed) polylines.
PARTS = {
    "outline": ((tuple(range(17)), False),),
    "left_brow": ((tuple(range(17, 22)), False),),
    "right_brow": ((tuple(range(22, 27)), False),),
    "nose": ((tuple(range(27, 31)), False), (tuple(range(31, 36)), False)),
    "left_eye": ((tuple(range(36, 42)), True),),
    "right_eye": ((tuple(range(42, 48)), True),),
    "mouth": ((tuple(range(48, 60)), True),),
    "inner_mouth": ((tuple(range(60, 68)), True),),
}

#: Names standing for several parts.
GROUPS = {
    "eyes": ("left_eye", "right_eye"),
    "brows": ("left_brow", "right_brow"),
    "all": tuple(PARTS),
}

#: The salient structures of Pan et al. 2014: face outline, eyes, mouth.
DEFAULT_PARTS = ("outline", "eyes", "mouth")

_SHIFT = 4  # sub-pixel bits of cv2.polylines


def _expand(parts):
    if isinstance(parts, str):
        parts = (parts,)
    names = []
    for p in parts:
        if p in GROUPS:
            names.extend(GROUPS[p])
        elif p in PARTS:
            names.append(p)
        else:
            raise InvalidParameterError(
                f"unknown face part {p!r}; choose from: {', '.join(list(PARTS) + list(GROUPS))}"
            )
    return list(dict.fromkeys(names))


def part_polylines(landmarks, parts=DEFAULT_PARTS) -> list:
    """The polylines of ``parts``: a list of ``((K, 2) points, closed)``.

    Examples
    --------
    >>> from classicdeblur.faces.align import template_landmarks
    >>> [(len(p), c) for p, c in part_polylines(template_landmarks(), "eyes")]
    [(6, True), (6, True)]
    """
    get = getattr(landmarks, "get", None)
    pts = np.asarray(get() if callable(get) and not isinstance(landmarks, np.ndarray) else landmarks,
                     dtype=np.float64)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        raise InvalidImageError(f"landmarks must be a finite (68, 2) array of (x, y); got shape {pts.shape}")
    return [(pts[list(idx)], closed) for name in _expand(parts) for idx, closed in PARTS[name]]


def structure_mask(landmarks, shape, *, parts=DEFAULT_PARTS, width=1) -> np.ndarray:
    """Boolean mask of the facial contours through ``landmarks``.

    Parameters
    ----------
    landmarks : ndarray (68, 2)
        ``(x, y)`` pixel coordinates (pixel centres at integers) in the image of ``shape``.
    shape : tuple
        Image shape; ``shape[:2]`` is the mask's shape.
    parts : str or sequence of str
        Parts and groups (see the module docstring); default outline, eyes and mouth.
    width : int
        Line thickness in pixels.

    Returns
    -------
    ndarray of bool, shape ``shape[:2]``
        True on the polylines (8-connected, clipped to the image).

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.zeros((68, 2)); pts[:17] = np.c_[np.arange(17) + 2, np.full(17, 5)]
    >>> m = structure_mask(pts, (10, 24), parts="outline")
    >>> np.flatnonzero(m.any(1)).tolist(), int(m.sum())
    ([5], 17)
    """
    return draw_polylines(part_polylines(landmarks, parts), shape, width=width)


def draw_polylines(polylines, shape, *, width=1) -> np.ndarray:
    """Boolean mask of ``((K, 2) points, closed)`` polylines drawn at ``shape`` (sub-pixel vertices).

    Examples
    --------
    >>> import numpy as np
    >>> int(draw_polylines([(np.array([[1.0, 2.0], [6.0, 2.0]]), False)], (5, 8)).sum())
    6
    """
    import cv2

    width = check_count("width", width, 1)
    m, n = int(shape[0]), int(shape[1])
    if m <= 0 or n <= 0:
        raise InvalidImageError(f"mask shape must be positive; got {tuple(shape)}")
    canvas = np.zeros((m, n), np.uint8)
    scale = float(1 << _SHIFT)
    for pts, closed in polylines:
        p = np.clip(np.rint(np.asarray(pts) * scale), -(2**24), 2**24).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [p], bool(closed), 1, thickness=width, lineType=cv2.LINE_8, shift=_SHIFT)
    return canvas.astype(bool)

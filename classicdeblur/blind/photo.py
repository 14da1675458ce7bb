"""Whole photos: estimate the kernel on the face, restore the whole photo with it.

A face method expects a face crop. Given a photo, :func:`deblur_photo`

1. finds the face: the user's ``face_box``; else dlib's detector on the
   blurred photo (upsampling 1, then 2); else the detector on a first quick
   deblur (``xu2010``, which needs no face); else
   :class:`~classicdeblur.errors.NoFaceError`;
2. crops the face region (the largest face's box grown ``context`` times,
   plus a kernel's margin) -- or, with ``faces="all"``, the region covering
   every detected face, so that one shared kernel is estimated from all of
   them;
3. runs the method on the crop to estimate the kernel;
4. restores the *whole photo* with that kernel through the method's own
   final step: the photo is passed as the method's ``target``
   (:func:`~classicdeblur.blind.framework.run_blind`).

This module is the pipeline layer above the methods: it calls them through
the registry (:data:`~classicdeblur.blind.BLIND`), never by import, and the
face tools (:mod:`classicdeblur.faces`) it uses never import it.

When the face already fills most of the image (a face crop), the method runs
on the image as it is; ``face_box="whole"`` says so without detection (a face
crop too blurred for the detector). A flat image goes to the method as it is
(the framework returns it with a delta kernel and a warning).
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..errors import NoFaceError
from . import registry
from .framework import FLAT_STD, default_kernel_size, gray

__all__ = ["deblur_photo", "face_region"]

#: Above this share of the image area, a face box means the image is a face crop.
CROP_SHARE = 0.12


def face_region(box, shape, *, context=2.0, margin=0):
    """The crop ``(top, bottom, left, right)`` around a face ``box`` (x, y, w, h) in an image of ``shape``.

    The box is grown ``context`` times about its centre, then by ``margin``
    pixels on every side, and clipped to the image.

    Examples
    --------
    >>> face_region((40, 50, 20, 30), (200, 300), context=2.0, margin=5)
    (30, 100, 25, 75)
    """
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    half_w, half_h = context * w / 2 + margin, context * h / 2 + margin
    top, bottom = max(0, int(np.floor(cy - half_h))), min(shape[0], int(np.ceil(cy + half_h)))
    left, right = max(0, int(np.floor(cx - half_w))), min(shape[1], int(np.ceil(cx + half_w)))
    return top, bottom, left, right


def _union(boxes):
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


def _find_faces(lum, face_box, kernel_size):
    """Boxes of the faces to use and how they were found."""
    from ..faces.detect import check_box, detect_faces

    if face_box is not None:
        return [check_box(face_box, lum.shape)], "box"
    for upsample in (1, 2):
        found = detect_faces(lum, upsample=upsample)
        if found:
            return [f.box for f in found], "detected"
    # a first quick deblur by a method that needs no face (through the registry)
    quick, _, _ = registry().get("xu2010")(lum, kernel_size=kernel_size, rng=np.random.default_rng(0))
    found = detect_faces(quick, upsample=2)
    if found:
        return [f.box for f in found], "detected after a first deblur"
    raise NoFaceError()


def deblur_photo(image, method, *, kernel_size=None, rng=None, face_box=None, faces="largest", context=2.0,
                 **params):
    """Run the face method ``method`` on the face region of ``image`` and restore the whole image.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        The blurred photo, NumPy or CuPy, float in [0, 1].
    method : str
        A registered face method (``registry().meta(method)["face"]``).
    kernel_size : int, optional
        Odd kernel size.
    rng : numpy.random.Generator, optional
    face_box : (x, y, w, h) or str, optional
        The face, when the detector cannot find it; ``"x,y,w,h"`` works too,
        and ``"whole"`` means the image is a face crop.
    faces : {"largest", "all"}
        Estimate the shared kernel on the largest face or on the region
        covering every detected face.
    context : float
        How many times the face box is grown to make the crop.
    **params
        Parameters of the method.

    Returns
    -------
    image, kernel, info
        As the method returns them, with ``info["face_region"]`` (the crop,
        ``None`` for a face crop), ``info["faces"]`` (the boxes) and
        ``info["face_source"]``.
    """
    from ..faces.detect import check_box

    fn = registry().get(method)
    if faces not in ("largest", "all"):
        raise ValueError(f"unknown faces option {faces!r}; choose from: largest, all")
    lum = np.clip(backend.to_numpy(gray(image)), 0, 1)
    size = default_kernel_size(image.shape, kernel_size)
    if face_box == "whole" or float(lum.std()) < FLAT_STD:
        out, k, info = fn(image, kernel_size=size, rng=rng, **params)
        info.update(face_region=None, faces=[], face_source="whole image")
        return out, k, info
    boxes, source = _find_faces(lum, face_box, size)
    box = boxes[0] if faces == "largest" else _union(boxes)
    area = box[2] * box[3]
    if area >= CROP_SHARE * lum.size:
        out, k, info = fn(image, kernel_size=size, rng=rng, **_with_box(params, face_box))
        info.update(face_region=None, faces=boxes, face_source=source)
        return out, k, info
    top, bottom, left, right = face_region(box, lum.shape, context=context, margin=size)
    crop = image[top:bottom, left:right]
    local = None if face_box is None else check_box(face_box, lum.shape)
    if local is not None:
        local = (local[0] - left, local[1] - top, local[2], local[3])
    # the kernel from the crop, the whole photo restored by the method's own final step
    out, k, info = fn(crop, kernel_size=size, rng=rng, target=image, **_with_box(params, local))
    info.update(face_region=(top, bottom, left, right), faces=boxes, face_source=source)
    return out, k, info


def _with_box(params, box):
    """``params`` plus ``face_box=box`` when there is one."""
    return params if box is None else {**params, "face_box": box}

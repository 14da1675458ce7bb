"""Whole photos: estimate the kernel on the face, restore the whole photo with it.

A face method expects a face crop. Given a photo, :func:`deblur_photo`

1. finds the faces: the user's ``face_box``; else
   :func:`~classicdeblur.faces.detect.find_faces` on the blurred photo (dlib's
   HOG detector, upsampling 1 then 2; then dlib's CNN detector on small copies
   of the photo, far more robust to blur); else the same on a first quick
   deblur (``xu2010``, which needs no face). Every face found is reported in
   ``info["face_detections"]`` (box, detector, score) and every step tried, with
   its time, in ``info["face_search"]``;
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

**No face found**: the method estimates the kernel on the whole image, as with
``face_box="whole"``, with a one-line :class:`UserWarning` and
``info["face_source"] = "none"``; an image of at most :data:`CROP_SIDE` pixels
on its long side is taken to be a face crop (the warning says so).
``require_face=True`` raises :class:`~classicdeblur.errors.NoFaceError`
instead.

:func:`default_method` is the method that ``classicdeblur run`` picks when none
is given: :data:`DEFAULT_FACE_METHOD` when a face is found on the photo, else
:data:`DEFAULT_METHOD`.
"""

from __future__ import annotations

import hashlib
import time
import warnings

import numpy as np

from .. import backend
from ..errors import NoFaceError
from . import registry
from .framework import FLAT_STD, default_kernel_size, gray
from .kernel_size import _odd_ceil, estimate_kernel_size
from .pyramid import resize, resize_kernel

__all__ = ["CROP_SIDE", "DEFAULT_FACE_METHOD", "DEFAULT_METHOD", "deblur_photo", "default_method", "face_region",
           "find_photo_faces", "restore"]

#: Above this share of the image area, a face box means the image is a face crop.
CROP_SHARE = 0.12
#: An image without a detected face and at most this long side is taken to be a face crop.
CROP_SIDE = 512
#: On the first deblur, the CNN detector sees copies of at most this long side (the full ladder ran on the photo).
FIRST_DEBLUR_CNN_SIDE = 320
#: Faces are looked for on a copy of the photo of at most this long side (HOG, upsampled once, finds
#: faces of about 40 px and more on it: a 12-megapixel photo's faces of 125 px and more).
DETECT_SIDE = 1280
#: The kernel is estimated on the face region scaled so that the face box is at most this many pixels
#: across (``faces-256`` faces, on which the methods were tuned, are 110-150 px), then upsampled to the
#: photo's scale: a larger face costs the square of its size and tells the estimate no more.
ESTIMATE_FACE_SIDE = 192
#: ``kernel_size="auto"`` is estimated on the face region at full resolution, cut to at most this side
#: around its centre. The estimator's probes see at most 256 px: on this crop of a large face they see the
#: blur at about the scale it was tuned at (13-41 px kernels on 256-px faces); on the whole region of a
#: 12-megapixel photo's face (2000 px) they saw it 8 times smaller, and the size came out 141 px for a
#: 45-px shake (47 on this crop).
SIZE_CROP_SIDE = 384
#: A photo of more pixels than this is restored in float32 and in overlapping tiles (:func:`restore`).
TILE_PIXELS = 2048 * 2048
#: Side of those tiles (each restored with a kernel width of the photo around it).
TILE_SIDE = 1536
#: The method ``classicdeblur run`` uses on a photo with a face (best on faces-256 in the README tables).
DEFAULT_FACE_METHOD = "anwar2018"
#: The method ``classicdeblur run`` uses when no face is found (the best general method there).
DEFAULT_METHOD = "xu2010"


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


_SEARCH_CACHE: dict = {}


def _search(lum):
    """:func:`~classicdeblur.faces.detect.find_faces` on ``lum``, remembered for the last image.

    ``classicdeblur run`` without a method looks for a face to choose one, and the
    face method then looks again on the same photo: the second search is free.
    """
    from ..faces.detect import find_faces

    key = (lum.shape, str(lum.dtype), hashlib.sha1(np.ascontiguousarray(lum).tobytes()).hexdigest())
    if key not in _SEARCH_CACHE:
        _SEARCH_CACHE.clear()
        _SEARCH_CACHE[key] = find_faces(lum)
    faces, attempts = _SEARCH_CACHE[key]
    return list(faces), [dict(a) for a in attempts]


def _described(faces, image, factor=1.0, shape=None):
    """The faces as dicts, their boxes scaled back by ``1 / factor`` to the photo of ``shape``."""
    from ..faces.detect import check_box

    def box(b):
        return tuple(int(v) for v in b) if factor == 1 else check_box([v / factor for v in b], shape)

    return [{"box": box(f.box), "detector": f.detector, "score": float(f.score), "image": image} for f in faces]


def find_photo_faces(image, *, kernel_size=None, quick=True):
    """Find the faces of a blurred photo: on the photo, then on a first quick deblur.

    A photo longer than :data:`DETECT_SIDE` pixels is searched on a copy of that
    long side (the blur shrinks with it); the boxes are given in the photo's pixels.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Float in [0, 1], NumPy or CuPy.
    kernel_size : int, optional
        Kernel size of the quick deblur.
    quick : bool
        Look on a first quick deblur (``xu2010``) when nothing is found on the photo.

    Returns
    -------
    detections : list of dict
        Largest face first: ``box`` (x, y, w, h), ``detector`` (``"hog"`` or
        ``"cnn"``), ``score`` and ``image`` (``"photo"`` or ``"first deblur"``).
    source : str
        ``"detected"``, ``"detected after a first deblur"`` or ``"none"``.
    attempts : list of dict
        Every step tried with its time (see :func:`~classicdeblur.faces.detect.find_faces`).

    Examples
    --------
    >>> found, source, attempts = find_photo_faces(np.full((64, 64), 0.5), quick=False)
    >>> found, source, [a["detector"] for a in attempts]
    ([], 'none', ['hog', 'hog', 'cnn', 'cnn'])
    """
    from ..faces.detect import _resized, find_faces

    full = np.clip(backend.to_numpy(gray(image)), 0, 1)
    lum, f = _resized(full, min(DETECT_SIDE, max(full.shape)))  # a large photo: searched at DETECT_SIDE
    faces, attempts = _search(lum)
    for a in attempts:
        a["image"] = "photo" if f == 1 else f"photo at {lum.shape[1]}x{lum.shape[0]}"
    if faces:
        return _described(faces, "photo", f, full.shape), "detected", attempts
    if not quick:
        return [], "none", attempts
    # a first quick deblur by a method that needs no face (through the registry)
    t0 = time.perf_counter()
    size = None if kernel_size is None else max(3, int(round(kernel_size * f)) | 1)
    first, _, _ = registry().get(DEFAULT_METHOD)(lum, kernel_size=default_kernel_size(lum.shape, size),
                                                 rng=np.random.default_rng(0))
    attempts.append({"detector": f"first deblur ({DEFAULT_METHOD})", "image": "photo", "found": 0,
                     "seconds": time.perf_counter() - t0})
    faces, more = find_faces(first, max_side=FIRST_DEBLUR_CNN_SIDE)
    attempts += [{**a, "image": "first deblur"} for a in more]
    if faces:
        return _described(faces, "first deblur", f, full.shape), "detected after a first deblur", attempts
    return [], "none", attempts


def default_method(image):
    """The blind method for ``image`` when the user names none, the faces found and why.

    :data:`DEFAULT_FACE_METHOD` when a face is found on the photo (no quick
    deblur), else :data:`DEFAULT_METHOD`.

    Returns
    -------
    method : str
    detections : list of dict
        As :func:`find_photo_faces` returns them.
    reason : str
        One line, e.g. ``"a face was found (cnn)"``.

    Examples
    --------
    >>> default_method(np.full((64, 64), 0.5))[0::2]
    ('xu2010', 'no face was found')
    """
    found, _, _ = find_photo_faces(image, quick=False)
    if found:
        n = len(found)
        what = "a face was" if n == 1 else f"{n} faces were"
        return DEFAULT_FACE_METHOD, found, f"{what} found ({found[0]['detector']})"
    return DEFAULT_METHOD, [], "no face was found"


def _no_face_message(shape):
    m, n = int(shape[0]), int(shape[1])
    what = (f"the {n}x{m} image is taken to be a face crop" if max(m, n) <= CROP_SIDE
            else f"the kernel is estimated on the whole {n}x{m} image")
    return (f"no face found: {what}; give the face's box (--face-box X,Y,W,H, face_box= in Python), "
            "or require a face (--require-face, require_face=True) to stop instead")


def deblur_photo(image, method, *, kernel_size=None, rng=None, face_box=None, faces="largest", context=2.0,
                 require_face=False, **params):
    """Run the face method ``method`` on the face region of ``image`` and restore the whole image.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        The blurred photo, NumPy or CuPy, float in [0, 1].
    method : str
        A registered face method (``registry().meta(method)["face"]``).
    kernel_size : int or "auto", optional
        Odd kernel size at the photo's scale; ``"auto"`` estimates it
        (:func:`~classicdeblur.blind.kernel_size.estimate_kernel_size`) on the
        face region at full resolution, at most :data:`SIZE_CROP_SIDE` pixels
        around its centre.
    rng : numpy.random.Generator, optional
    face_box : (x, y, w, h) or str, optional
        The face, when the detector cannot find it; ``"x,y,w,h"`` works too,
        and ``"whole"`` means the image is a face crop.
    faces : {"largest", "all"}
        Estimate the shared kernel on the largest face or on the region
        covering every detected face.
    context : float
        How many times the face box is grown to make the crop.
    require_face : bool
        Raise :class:`~classicdeblur.errors.NoFaceError` when no face is found,
        instead of estimating on the whole image with a warning.
    **params
        Parameters of the method.

    Returns
    -------
    image, kernel, info
        As the method returns them, with ``info["face_region"]`` (the crop,
        ``None`` for a face crop or the whole image), ``info["faces"]`` (the
        boxes), ``info["face_detections"]`` (box, detector, score, image of
        each face found), ``info["face_search"]`` (each detection step and its
        seconds) and ``info["face_source"]`` (``"box"``, ``"detected"``,
        ``"detected after a first deblur"``, ``"whole image"`` or ``"none"``);
        with ``"auto"``, ``info["kernel_size_estimate"]``. A face larger than
        :data:`ESTIMATE_FACE_SIDE` is estimated on the region scaled down
        (``info["estimate_scale"]``, ``info["estimate_kernel_size"]``), the
        kernel upsampled, and the photo restored by the method's
        :class:`~classicdeblur.blind.method.FinalStep` (:func:`restore`, in
        float32 tiles above :data:`TILE_PIXELS`); so is every photo above
        :data:`TILE_PIXELS`, whatever its face's size. A method's own final
        step that differs from it (``tian2015``, ``hacohen2013``) applies only
        to a smaller photo whose face is estimated at full scale.

    Warns
    -----
    UserWarning
        No face was found (and ``require_face`` is False): the kernel is
        estimated on the whole image.
    """
    from ..faces.detect import check_box

    fn = registry().get(method)
    if faces not in ("largest", "all"):
        raise ValueError(f"unknown faces option {faces!r}; choose from: largest, all")
    lum = np.clip(backend.to_numpy(gray(image)), 0, 1)
    auto = isinstance(kernel_size, str) and kernel_size == "auto"
    size = "auto" if auto else default_kernel_size(image.shape, kernel_size)
    engine = params.get("engine", "auto")

    def whole(**report):
        """The method on the whole image (a face crop, a flat image, no face found)."""
        est, s = _sized(image, size, engine)
        out, k, info = fn(image, kernel_size=s, rng=rng, **_with_box(params, report.pop("hint", None)))
        info.update(face_region=None, **report, **est)
        return out, k, info

    if face_box == "whole" or float(lum.std()) < FLAT_STD:
        return whole(faces=[], face_source="whole image")
    if face_box is not None:
        found, source, attempts = [{"box": check_box(face_box, lum.shape), "detector": "box", "score": float("nan"),
                                    "image": "photo"}], "box", []
    else:
        found, source, attempts = find_photo_faces(image, kernel_size=None if auto else size)
    if not found:
        if require_face:
            raise NoFaceError()
        warnings.warn(_no_face_message(lum.shape), UserWarning, stacklevel=3)
        return whole(faces=[], face_source="none", face_detections=[], face_search=attempts)
    boxes = [f["box"] for f in found]
    report = {"faces": boxes, "face_source": source, "face_detections": found, "face_search": attempts}
    box = boxes[0] if faces == "largest" else _union(boxes)
    # the method locates the face itself after the HOG detector found it on the photo at full size (as it
    # would); a box found otherwise (the user's, the CNN's, on a copy or the first deblur) is given to it
    hint = None if (found[0]["detector"], found[0]["image"]) == ("hog", "photo") else boxes[0]
    large = lum.size > TILE_PIXELS  # never the method on the whole photo, nor its final step untiled
    if box[2] * box[3] >= CROP_SHARE * lum.size and not large:
        return whole(hint=hint, **report)
    # the kernel from the face region, scaled so that the face is at most ESTIMATE_FACE_SIDE across
    scale = min(1.0, ESTIMATE_FACE_SIDE / max(box[2], box[3]))
    if auto:
        # the size from the face region at full resolution, at most SIZE_CROP_SIDE around the face's centre
        top, bottom, left, right = face_region(box, lum.shape, context=context)
        cy, cx, half = (top + bottom) // 2, (left + right) // 2, SIZE_CROP_SIDE // 2
        top, bottom, left, right = max(top, cy - half), min(bottom, cy + half), max(left, cx - half), min(right, cx + half)
        est, size = _sized(image[top:bottom, left:right], "auto", engine)
    else:
        est = {}
    small_size = size if scale == 1 else max(3, _odd_ceil(size * scale))
    top, bottom, left, right = face_region(box, lum.shape, context=context, margin=size)
    crop = image[top:bottom, left:right]
    local = None if hint is None else (hint[0] - left, hint[1] - top, hint[2], hint[3])
    if scale == 1 and not large:
        # the kernel from the crop, the whole photo restored by the method's own final step
        out, k, info = fn(crop, kernel_size=size, rng=rng, target=image, **_with_box(params, local))
    else:  # the kernel from the (scaled) crop, upsampled; the photo restored in tiles over TILE_PIXELS
        local = None if local is None else tuple(v * scale for v in local)
        _, small_k, info = fn(_scaled(crop, scale), kernel_size=small_size, rng=rng, **_with_box(params, local))
        k = resize_kernel(small_k, size)
        t0 = time.perf_counter()
        out = restore(image, k, fn.split(dict(params))[0].final)
        info.setdefault("timings", {})["final"] = time.perf_counter() - t0
        info.update(estimate_scale=scale, estimate_kernel_size=int(small_k.shape[0]))
    info.update(face_region=(top, bottom, left, right), **report, **est)
    return out, k, info


def _scaled(image, scale):
    """``image`` resampled by ``scale`` (anti-aliased, as the methods' pyramids are)."""
    if scale == 1:
        return image
    shape = (max(8, round(image.shape[0] * scale)), max(8, round(image.shape[1] * scale)))
    return resize(image, shape)


def _sized(image, size, engine):
    """``({"kernel_size_estimate": info}, size)`` for ``size="auto"`` on ``image``, else ``({}, size)``."""
    if size != "auto":
        return {}, size
    size, info = estimate_kernel_size(image, engine="auto" if engine == "cuda" else engine)
    return {"kernel_size_estimate": info}, size


def restore(image, kernel, final, *, tile=None, max_pixels=None):
    """``final(image, kernel)``; on a photo of more than ``max_pixels``, in float32 tiles.

    The result has the image's dtype.

    The tiles are ``tile`` pixels square, each restored with a margin of one
    kernel width of the photo around it (cut off afterwards), so that memory
    stays bounded by a tile's and every tile sees what blurred into it. On the
    astronaut below, margins of 1, 1.5, 2 and 3 kernel widths agree with the
    whole restoration to 50.2, 51.1, 51.1 and 51.2 dB, and all are as close to
    the sharp image as it is (31.2 dB).

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    kernel : ndarray
    final : callable
        ``final(image, kernel)``, e.g. a method's
        :class:`~classicdeblur.blind.method.FinalStep`.
    tile, max_pixels : int, optional
        Default :data:`TILE_SIDE` and :data:`TILE_PIXELS`.

    Examples
    --------
    The shipped astronaut (160 px, Levin's third kernel) in 64-px tiles agrees
    with the whole restoration to about 50 dB (the hyper-Laplacian solve is
    global, so a tile's far surroundings still count a little):

    >>> from classicdeblur.blind.method import FinalStep
    >>> from classicdeblur.io import read_image
    >>> from classicdeblur.psf import load_kernel
    >>> y, k = read_image("tests/data/astronaut_levin3.png").image, load_kernel("levin:3")
    >>> step = FinalStep("hyper_laplacian", {})
    >>> whole, tiled = step(y, k), restore(y, k, step, tile=64, max_pixels=0)
    >>> tiled.dtype, round(float(10 * np.log10(1 / np.mean((tiled - whole) ** 2))))
    (dtype('float64'), 50)
    """
    tile = TILE_SIDE if tile is None else int(tile)
    m, n = image.shape[:2]
    if m * n <= (TILE_PIXELS if max_pixels is None else max_pixels):
        return final(image, kernel)
    xp = backend.get_namespace(image)
    x, k = image.astype(xp.float32), kernel.astype(xp.float32)
    margin = int(kernel.shape[0])
    out = xp.empty_like(x)
    for top in range(0, m, tile):
        for left in range(0, n, tile):
            bottom, right = min(m, top + tile), min(n, left + tile)
            t, b, l, r = max(0, top - margin), min(m, bottom + margin), max(0, left - margin), min(n, right + margin)
            piece = final(x[t:b, l:r], k)
            out[top:bottom, left:right] = piece[top - t:bottom - t, left - l:right - l]
    return out.astype(image.dtype, copy=False)


def _with_box(params, box):
    """``params`` plus ``face_box=box`` when there is one."""
    return params if box is None else {**params, "face_box": box}

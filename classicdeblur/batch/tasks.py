"""The work done for one input or one video frame, on a Dask worker or in the client.

Tasks receive bytes or arrays and return a dict of bytes or arrays: they never write into
the output folder, so a killed worker or client leaves no partial output there. Images
are decoded and encoded with :func:`classicdeblur.read_image` and
:func:`classicdeblur.write_image` in a scratch folder of the worker (Dask's
``local_directory``, which Dask cleans), exactly as ``classicdeblur run`` does. An input error (a
:class:`~classicdeblur.errors.ClassicDeblurError`) comes back as ``{"error": exc}``
rather than as a failed Dask task, so workers log nothing for a bad file.
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
import warnings

import numpy as np

__all__ = ["deblur_image", "deblur_frame", "estimate_kernel", "deconvolve_frame", "worker_version"]


def worker_version():
    """The classicdeblur version of the process (checked on every worker before a batch)."""
    from .. import __version__

    return __version__


def _input_errors_returned(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from ..errors import ClassicDeblurError

        try:
            return fn(*args, **kwargs)
        except ClassicDeblurError as e:
            return {"error": e}

    return wrapper


def _scratch():
    try:
        from distributed import get_worker

        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


def _restore(image, settings, notes=None):
    """Deblur one float image as ``classicdeblur run`` does; returns (image, kernel).

    Warnings, and the notes a blind method leaves in its info, are appended to ``notes``.
    """
    from .. import deblur, deconvolve

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if settings.blind:
            res = deblur(image, settings.method, kernel_size=settings.kernel_size, device=settings.device,
                         rng=0 if settings.seed is None else settings.seed, **settings.params)
            out, kernel, info = res.image, res.kernel, res.info
        else:
            out = deconvolve(image, settings.kernel, method=settings.method, device=settings.device,
                             **settings.params)
            kernel, info = settings.kernel, {}
    if notes is not None:
        found = [str(w.message) for w in caught] + [str(info[k]) for k in ("warning", "final_note") if k in info]
        notes.extend(n for n in dict.fromkeys(found) if n not in notes)
    return out, kernel


@_input_errors_returned
def deblur_image(name, data, settings):
    """Deblur an image file given as bytes; returns the encoded output and kernel.

    Parameters
    ----------
    name : str
        The input's file name (its extension is the output format; used in messages).
    data : bytes
        The file's content.
    settings : Settings

    Returns
    -------
    dict
        ``image`` (bytes of the output file, the input's format and bit depth unless
        ``settings.bit_depth``), ``kernel`` (bytes of the kernel file in
        ``settings.save_kernel`` format, or None), ``seconds``, ``warnings`` (as
        ``classicdeblur run`` prints them); or ``error``.
    """
    from .. import read_image, write_image, write_kernel
    from ..errors import ClassicDeblurError

    t0 = time.perf_counter()
    base = os.path.basename(name)
    with tempfile.TemporaryDirectory(prefix="classicdeblur-", dir=_scratch()) as tmp:
        src = os.path.join(tmp, "in", base)
        os.mkdir(os.path.dirname(src))
        with open(src, "wb") as fh:
            fh.write(data)
        try:
            img = read_image(src, max_pixels=settings.max_pixels)
        except ClassicDeblurError as e:  # name the input, not the scratch copy
            raise type(e)(str(e).replace(src, name)) from None
        notes = []
        image, kernel = _restore(img.image, settings, notes)
        dst = os.path.join(tmp, "out" + os.path.splitext(base)[1])
        write_image(dst, image, alpha=img.alpha, bit_depth=settings.bit_depth or img.bit_depth)
        with open(dst, "rb") as fh:
            out = fh.read()
        kbytes = None
        if settings.save_kernel is not None:
            kdst = os.path.join(tmp, "kernel." + settings.save_kernel)
            write_kernel(kdst, kernel)
            with open(kdst, "rb") as fh:
                kbytes = fh.read()
    return {"image": out, "kernel": kbytes, "seconds": time.perf_counter() - t0, "warnings": notes}


# -- video frames (8-bit BGR arrays as OpenCV decodes them) --------------------------

def _to_float(frame):
    """BGR uint8 -> gray (when the three channels are equal) or RGB float64 in [0, 1]."""
    frame = np.asarray(frame)
    if frame.ndim == 2:
        return frame / 255.0, True
    if np.array_equal(frame[..., 0], frame[..., 1]) and np.array_equal(frame[..., 0], frame[..., 2]):
        return frame[..., 0] / 255.0, True
    return frame[..., ::-1] / 255.0, False


def _to_frame(image, gray):
    q = np.clip(np.rint(np.asarray(image) * 255.0), 0, 255).astype(np.uint8)
    if gray:
        return np.repeat(q[..., None], 3, axis=2) if q.ndim == 2 else q
    return np.ascontiguousarray(q[..., ::-1])


@_input_errors_returned
def deblur_frame(frame, settings):
    """Deblur one BGR uint8 frame with the batch's method; returns ``frame``, ``seconds`` (or ``error``)."""
    t0 = time.perf_counter()
    image, gray = _to_float(frame)
    out, _ = _restore(image, settings)
    return {"frame": _to_frame(out, gray), "seconds": time.perf_counter() - t0}


@_input_errors_returned
def estimate_kernel(frame, settings):
    """The blind method's ``kernel`` of one BGR uint8 frame (or ``error``)."""
    image, _ = _to_float(frame)
    return {"kernel": np.asarray(_restore(image, settings)[1])}


#: Non-blind method that applies a clip's shared kernel (blind methods' parameters do not apply to it).
SHARED_KERNEL_METHOD = "hyper_laplacian"


@_input_errors_returned
def deconvolve_frame(frame, kernel, settings):
    """Deconvolve one BGR uint8 frame with a known ``kernel``; returns ``frame``, ``seconds`` (or ``error``).

    A non-blind batch uses its method and parameters; a blind batch with a shared kernel
    uses :data:`SHARED_KERNEL_METHOD` with its defaults.
    """
    from .. import deconvolve

    t0 = time.perf_counter()
    image, gray = _to_float(frame)
    if settings.blind:
        out = deconvolve(image, kernel, method=SHARED_KERNEL_METHOD, device=settings.device)
    else:
        out = deconvolve(image, kernel, method=settings.method, device=settings.device, **settings.params)
    return {"frame": _to_frame(out, gray), "seconds": time.perf_counter() - t0}

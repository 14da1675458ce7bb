"""Non-blind deconvolution of a stack of images, each with its own kernel (the final step of batched deblurring).

:func:`deconvolve_stack` restores ``(B, M, N)`` images with ``(B, h, w)``
kernels. The Fourier splitting methods ``hyper_laplacian`` and ``tv_l1``
(the final steps of Cho & Lee and of Xu & Jia / Anwar et al.), ``wiener`` and
``tikhonov`` run once on the whole stack, with the same loop as for one image
(:mod:`.fourier`) on the batched problem of
:mod:`classicdeblur.operators.stack`; every other method runs image by image.
Either way each image gets what :func:`~.nonblind.deconvolve` gives it alone
(bit for bit with NumPy).

Examples
--------
>>> import numpy as np
>>> from classicdeblur.solvers.nonblind import deconvolve
>>> rng = np.random.default_rng(0)
>>> y, k = rng.random((2, 20, 24)), np.full((2, 3, 3), 1 / 9)
>>> out = deconvolve_stack(y, k, "tv_l1", engine="numpy")
>>> bool(np.array_equal(out[1], deconvolve(y[1], k[1], method="tv_l1", engine="numpy")))
True
"""

from __future__ import annotations

import inspect

from .._registry import check_params
from ..backend import get_namespace
from ..operators import stack
from ..operators.stack import PeriodicBlurStack
from . import fourier
from .nonblind import NONBLIND, deconvolve

__all__ = ["STACKED", "deconvolve_stack"]

#: Methods run on the whole stack at once (the others run image by image).
STACKED = ("hyper_laplacian", "tv_l1", "wiener", "tikhonov")


def _defaults(fn):
    return {p.name: p.default for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}


def deconvolve_stack(images, kernels, method="hyper_laplacian", **params):
    """Restore every image of ``images`` (``(B, M, N)``) with its kernel of ``kernels`` (``(B, h, w)``).

    Parameters
    ----------
    images : ndarray of shape (B, M, N)
        Blurred gray images, floats, NumPy or CuPy.
    kernels : ndarray of shape (B, h, w)
        One odd kernel per image (same size for all).
    method : str
        A non-blind method of :data:`~.nonblind.NONBLIND`.
    **params
        Its parameters (as for :func:`~.nonblind.deconvolve`).

    Returns
    -------
    ndarray of shape (B, M, N)
        Clipped to [0, 1].
    """
    fn = NONBLIND.get(method)
    check_params(fn, f"non-blind method {method!r}", params)
    if images.ndim != 3 or kernels.ndim != 3 or kernels.shape[0] != images.shape[0]:
        raise ValueError(f"expected images (B, M, N) and kernels (B, h, w); got {images.shape} and {kernels.shape}")
    kw = {**_defaults(fn), **params}
    boundary = kw.pop("boundary", "smooth")
    if method not in STACKED or boundary not in ("smooth", "circular"):
        xp = get_namespace(images)
        return xp.stack([deconvolve(images[i], kernels[i], method=method, **params) for i in range(images.shape[0])])

    def problem():
        return PeriodicBlurStack(images, kernels, boundary)

    if method == "hyper_laplacian":
        return fourier._hyper_laplacian(problem, stack, **kw)
    if method == "tv_l1":
        return fourier._tv_l1(problem, stack, **kw)
    if method == "wiener":
        nsr = fourier._positive("nsr", kw["nsr"])
        p = problem()
        return p.finish(p.solve(nsr, regulariser=1.0))
    weight = fourier._positive("weight", kw["weight"])  # tikhonov
    p = problem()
    return p.finish(p.solve(weight))

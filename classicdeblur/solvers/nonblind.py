"""Non-blind deconvolution: restore ``x`` from ``y = k * x + n`` with a known kernel ``k``.

Every method

* takes gray ``(M, N)`` or colour ``(M, N, C)`` images (channels are
  deconvolved independently and vectorised, except where a method says
  otherwise), as NumPy or CuPy arrays, and runs the same code on both;
* handles the image border with ``boundary=`` (``"smooth"``, the default,
  ``"edgetaper"`` or ``"circular"``; :mod:`classicdeblur.operators.boundary`);
* solves its quadratic steps with
  :class:`~classicdeblur.operators.periodic.PeriodicBlur`, which computes the
  kernel and gradient OTFs once per call;
* returns floats of the input's precision (float32 stays float32), **clipped
  to [0, 1]**.

Methods live in :mod:`.fourier` (closed-form Fourier steps) and
:mod:`.iterative` (Richardson-Lucy, IRLS), are registered in :data:`NONBLIND`
and called by name through :func:`deconvolve`.

.. note::
   The blur model is a *true* convolution with an odd kernel centred at
   ``(h // 2, w // 2)``, as everywhere in classicdeblur.

Examples
--------
>>> import numpy as np
>>> from classicdeblur.operators.functional import convolve
>>> x = np.zeros((32, 32)); x[8:24, 8:24] = 1.0
>>> k = np.full((1, 5), 0.2)
>>> y = convolve(x, k, boundary="symmetric")
>>> NONBLIND.names()
['hyper_laplacian', 'irls', 'l0', 'richardson_lucy', 'tikhonov', 'tv', 'tv_l1', 'wiener']
>>> out = deconvolve(y, k, method="hyper_laplacian", lam=1e4)
>>> bool(np.abs(out - x).mean() < np.abs(y - x).mean())
True
"""

from __future__ import annotations

from .._registry import check_params
from ..operators.boundary import SOLVER_BOUNDARIES
from .fourier import hyper_laplacian, l0, tikhonov, tv, tv_l1, wiener
from .iterative import irls, richardson_lucy
from .registry import NONBLIND

__all__ = [
    "NONBLIND",
    "BOUNDARY_MODES",
    "deconvolve",
    "wiener",
    "richardson_lucy",
    "tikhonov",
    "hyper_laplacian",
    "irls",
    "tv",
    "l0",
    "tv_l1",
]

#: Values of ``boundary=`` understood by every method.
BOUNDARY_MODES = SOLVER_BOUNDARIES

# --------------------------------------------------------------------------------------
# front end
# --------------------------------------------------------------------------------------


def deconvolve(image, kernel, method="hyper_laplacian", **params):
    """Non-blind deconvolution with a registered method.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred image, floats in [0, 1] (integers are rescaled).
    kernel : ndarray of shape (h, w)
        Odd-sized, non-negative blur kernel (normalised to sum 1).
    method : str
        A name in :data:`NONBLIND` (``NONBLIND.names()``).
    **params
        Keyword parameters of that method.

    Returns
    -------
    ndarray
        Restored image, clipped to [0, 1].

    Raises
    ------
    ValueError
        Unknown method (the message lists the valid names), bad parameter values.
    InvalidParameterError
        A parameter the method does not take (the message lists those it does);
        also a ``TypeError``.

    Examples
    --------
    >>> import numpy as np
    >>> deconvolve(np.zeros((8, 8)), np.ones((3, 3)), method="magic")
    Traceback (most recent call last):
    ...
    ValueError: unknown non-blind method 'magic'; choose from: hyper_laplacian, irls, l0, richardson_lucy, tikhonov, tv, tv_l1, wiener
    >>> deconvolve(np.zeros((8, 8)), np.ones((3, 3)), method="wiener", lam=1)
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidParameterError: non-blind method 'wiener' has no parameter 'lam'; valid: nsr, boundary
    """
    func = NONBLIND.get(method)
    check_params(func, f"non-blind method {method!r}", params)
    return func(image, kernel, **params)

"""Per-pixel shrinkage steps of half-quadratic splitting, with interchangeable engines.

Four steps, each the exact solution of a separable per-pixel problem:

* :func:`shrink_hyper_laplacian` -- ``argmin_w |w|^alpha + beta/2 (w - v)^2``
  (Krishnan & Fergus 2009, Eq. 5), analytic for ``alpha`` in {1/2, 2/3, 1} and
  by safeguarded Newton iterations for any other ``0 < alpha < 1``;
* :func:`shrink_l0` -- zero the gradient pair ``(h, v)`` where
  ``h^2 + v^2 < threshold`` (Xu et al. 2011, Eq. 12);
* :func:`shrink_soft` -- soft thresholding, the ``alpha = 1`` (anisotropic TV) step;
* :func:`shrink_isotropic` -- shrink the vector ``(h, v)`` towards 0 by
  ``threshold`` in length (isotropic TV).

Engines (``engine=``), checked, resolved and dispatched by
:mod:`classicdeblur.engines` (:data:`ENGINES` and :func:`resolve_engine` are
re-exported here from there):

``"numpy"``
    vectorised array code written once against ``xp``; runs on NumPy *and* CuPy
    arrays. It is the reference the other engines are tested against.
``"numba"``
    ``@njit`` loops over pixels (:mod:`._shrink_numba`), NumPy arrays only.
``"cuda"``
    ``@cuda.jit`` twins (:mod:`._shrink_cuda`); CuPy arrays, or NumPy arrays
    (copied to the device, or run in Numba's CUDA simulator).
``"auto"``
    ``"cuda"`` for CuPy arrays, ``"numba"`` for NumPy arrays.

A missing Numba or Numba-CUDA falls back to ``"numpy"`` with a one-time
``RuntimeWarning``. The numba and CUDA engines evaluate the same scalar code,
built by :func:`make_scalar_ops` (:mod:`._shrink_scalar`) from plain Python
with ``math`` only, so all engines agree to rounding. All steps compute in
float64 and return the input dtype.

Examples
--------
>>> import numpy as np
>>> v = np.array([-1.0, -0.05, 0.0, 0.05, 1.0])
>>> shrink_soft(v, 0.1, engine="numpy")
array([-0.9,  0. ,  0. ,  0. ,  0.9])
>>> w = shrink_hyper_laplacian(v, 10.0, 0.5, engine="numpy")
>>> bool(w[2] == 0 and w[4] > 0.8 and w[0] == -w[4])
True
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive as _check_positive
from ..backend import get_namespace
from ..engines import ENGINES, dispatch, resolve_engine
from ._shrink_scalar import _NEWTON_RTOL, NEWTON_MAXITER, _is_two_thirds, make_scalar_ops

__all__ = [
    "ENGINES",
    "resolve_engine",
    "make_scalar_ops",
    "shrink_hyper_laplacian",
    "shrink_l0",
    "shrink_soft",
    "shrink_isotropic",
    "hyper_laplacian",
    "l0",
    "soft",
    "isotropic",
]


def _check_alpha(alpha):
    alpha = float(alpha)
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must satisfy 0 < alpha <= 1; got {alpha}")
    return alpha


# --------------------------------------------------------------------------------------
# NumPy reference: vectorised over xp (NumPy or CuPy)
# --------------------------------------------------------------------------------------


def _hl_half_xp(xp, x, beta):
    q = 0.5 / beta
    ok = 4.0 * x * x * x > 27.0 * q * q
    xs = xp.where(ok, x, 1.0)
    c = xp.clip(-1.5 * q / xs * xp.sqrt(3.0 / xs), -1.0, 1.0)
    u = 2.0 * xp.sqrt(xs / 3.0) * xp.cos(xp.arccos(c) / 3.0)
    w = u * u
    keep = ok & (u + 0.5 * beta * (w - x) ** 2 < 0.5 * beta * x * x)
    return xp.where(keep, w, 0.0)


def _hl_two_thirds_xp(xp, x, beta):
    c = 2.0 / (3.0 * beta)
    r = 0.125 * x * x
    dd = 0.25 * r * r - c**3 / 27.0
    pos = dd > 0.0
    a = (0.5 * r + xp.sqrt(xp.where(pos, dd, 0.0))) ** (1.0 / 3.0)
    a = xp.where(pos, a, 1.0)
    m1 = a + c / (3.0 * a)
    t = xp.clip(1.5 * r / c * xp.sqrt(3.0 / c), -1.0, 1.0)
    m2 = 2.0 * xp.sqrt(c / 3.0) * xp.cos(xp.arccos(t) / 3.0)
    m = xp.where(pos, m1, m2)
    s = xp.sqrt(2.0 * m)
    e = x / s - m
    ok = e >= 0.0
    u = 0.5 * (s + xp.sqrt(xp.where(ok, e, 0.0) * 2.0))
    w = u * u * u
    keep = ok & (u * u + 0.5 * beta * (w - x) ** 2 < 0.5 * beta * x * x)
    return xp.where(keep, w, 0.0)


def _hl_newton_xp(xp, x, beta, alpha):
    wi = (alpha * (1.0 - alpha) / beta) ** (1.0 / (2.0 - alpha))
    active = x > wi
    dead = ~active
    w = xp.where(active, x, 1.0)
    for _ in range(NEWTON_MAXITER):
        g = alpha * w ** (alpha - 1.0) + beta * (w - x)
        gp = alpha * (alpha - 1.0) * w ** (alpha - 2.0) + beta
        wn = w - g / gp
        died = active & (wn <= wi)
        done = active & (xp.abs(wn - w) <= _NEWTON_RTOL * w)
        w = xp.where(active & ~died, wn, w)
        dead = dead | died
        active = active & ~died & ~done
        if not bool(active.any()):
            break
    keep = ~dead & (w**alpha + 0.5 * beta * (w - x) ** 2 < 0.5 * beta * x * x)
    return xp.where(keep, w, 0.0)


def hyper_laplacian(v, beta, alpha):
    """NumPy/CuPy reference of :func:`shrink_hyper_laplacian` (no engine dispatch)."""
    xp = get_namespace(v)
    v64 = v.astype(np.float64, copy=False)
    x = xp.abs(v64)
    if alpha == 1.0:
        w = xp.maximum(x - 1.0 / beta, 0.0)
    elif alpha == 0.5:
        w = _hl_half_xp(xp, x, beta)
    elif _is_two_thirds(alpha):
        w = _hl_two_thirds_xp(xp, x, beta)
    else:
        w = _hl_newton_xp(xp, x, beta, alpha)
    return xp.where(w > 0, xp.copysign(w, v64), 0.0).astype(v.dtype, copy=False)


def l0(h, v, threshold):
    """NumPy/CuPy reference of :func:`shrink_l0` (no engine dispatch)."""
    xp = get_namespace(h)
    h64 = h.astype(np.float64, copy=False)
    v64 = v.astype(np.float64, copy=False)
    e = h64 * h64 + v64 * v64
    if e.ndim == 3:
        e = e.sum(axis=2, keepdims=True)
    zero = e < threshold
    return xp.where(zero, 0, h).astype(h.dtype, copy=False), xp.where(zero, 0, v).astype(v.dtype, copy=False)


def soft(v, threshold):
    """NumPy/CuPy reference of :func:`shrink_soft` (no engine dispatch)."""
    xp = get_namespace(v)
    v64 = v.astype(np.float64, copy=False)
    w = xp.maximum(xp.abs(v64) - threshold, 0.0)
    return xp.where(w > 0, xp.copysign(w, v64), 0.0).astype(v.dtype, copy=False)


def isotropic(h, v, threshold):
    """NumPy/CuPy reference of :func:`shrink_isotropic` (no engine dispatch)."""
    xp = get_namespace(h)
    h64 = h.astype(np.float64, copy=False)
    v64 = v.astype(np.float64, copy=False)
    n = xp.sqrt(h64 * h64 + v64 * v64)
    big = n > threshold
    scale = xp.where(big, (n - threshold) / xp.where(big, n, 1.0), 0.0)
    return (scale * h64).astype(h.dtype, copy=False), (scale * v64).astype(v.dtype, copy=False)


# --------------------------------------------------------------------------------------
# engine dispatch (classicdeblur.engines)
# --------------------------------------------------------------------------------------


def _engine_module(engine, array):
    """The module of the engine chosen for ``array``: this one, :mod:`._shrink_numba` or :mod:`._shrink_cuda`."""
    return dispatch(
        engine, array, numpy=__name__, numba=f"{__package__}._shrink_numba", cuda=f"{__package__}._shrink_cuda",
        stacklevel=3,
    )


def _check_pair(h, v):
    if h.shape != v.shape:
        raise ValueError(f"h and v must have the same shape; got {tuple(h.shape)} and {tuple(v.shape)}")


def shrink_hyper_laplacian(v, beta, alpha, *, engine="auto"):
    r"""Solve :math:`\min_w |w|^\alpha + \tfrac{\beta}{2}(w - v)^2` for every entry of ``v``.

    Parameters
    ----------
    v : ndarray
        Any shape, float32 or float64, NumPy or CuPy.
    beta : float
        Half-quadratic penalty weight (> 0).
    alpha : float
        Exponent, ``0 < alpha <= 1``. 1/2 and 2/3 use the closed-form roots of
        the paper; 1 is soft thresholding; other values use Newton iterations.
    engine : {"auto", "numpy", "numba", "cuda"}

    Returns
    -------
    ndarray
        ``w``, same shape, dtype and array type as ``v``.

    Notes
    -----
    Krishnan & Fergus (2009), Eq. (5). For ``v > 0`` the minimiser lies in
    ``[0, v]``; a stationary point ``w > 0`` is kept only when its objective is
    lower than that of ``w = 0`` (the paper's root selection). The solution is
    odd in ``v``.

    References
    ----------
    .. [1] D. Krishnan and R. Fergus, "Fast image deconvolution using
       hyper-Laplacian priors", NIPS 2009.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.linspace(-1, 1, 5)
    >>> w = shrink_hyper_laplacian(v, 20.0, 2 / 3, engine="numpy")
    >>> bool(np.all(np.abs(w) <= np.abs(v)) and w[2] == 0)
    True
    """
    alpha = _check_alpha(alpha)
    beta = _check_positive("beta", beta)
    return _engine_module(engine, v).hyper_laplacian(v, beta, alpha)


def shrink_l0(h, v, threshold, *, engine="auto"):
    """Zero the gradient pair where ``h**2 + v**2 < threshold`` (L0 gradient step).

    Parameters
    ----------
    h, v : ndarray of shape (M, N) or (M, N, C)
        Horizontal and vertical gradients.
    threshold : float
        ``lambda / beta`` in Xu et al. (2011), Eq. (12).
    engine : {"auto", "numpy", "numba", "cuda"}

    Returns
    -------
    h, v : ndarray
        New arrays; entries kept unchanged or set to 0.

    Notes
    -----
    For ``(M, N, C)`` inputs the squared magnitude is summed over the channels
    and all channels of a pixel are kept or zeroed together, as in the colour
    version of Xu et al. and Pan et al.'s ``L0Restoration``.

    References
    ----------
    .. [1] L. Xu, C. Lu, Y. Xu and J. Jia, "Image smoothing via L0 gradient
       minimization", SIGGRAPH Asia 2011.

    Examples
    --------
    >>> import numpy as np
    >>> h, v = np.array([0.1, 0.3]), np.array([0.1, 0.0])
    >>> shrink_l0(h, v, 0.05, engine="numpy")
    (array([0. , 0.3]), array([0., 0.]))
    """
    _check_pair(h, v)
    threshold = float(threshold)
    return _engine_module(engine, h).l0(h, v, threshold)


def shrink_soft(v, threshold, *, engine="auto"):
    """Soft thresholding ``sign(v) max(|v| - threshold, 0)`` (the ``alpha = 1`` step).

    Examples
    --------
    >>> import numpy as np
    >>> shrink_soft(np.array([0.5, -0.05]), 0.1, engine="numpy")
    array([0.4, 0. ])
    """
    threshold = float(threshold)
    return _engine_module(engine, v).soft(v, threshold)


def shrink_isotropic(h, v, threshold, *, engine="auto"):
    r"""Isotropic shrinkage of the vector ``(h, v)``: the prox of ``threshold * ||(h, v)||_2``.

    ``(h, v) * max(|g| - t, 0) / |g|`` with ``|g| = sqrt(h^2 + v^2)`` per entry
    (per channel for colour).

    Examples
    --------
    >>> import numpy as np
    >>> shrink_isotropic(np.array([3.0]), np.array([4.0]), 1.0, engine="numpy")
    (array([2.4]), array([3.2]))
    """
    _check_pair(h, v)
    threshold = float(threshold)
    return _engine_module(engine, h).isotropic(h, v, threshold)

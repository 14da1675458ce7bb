"""Numba (CPU) engine of the per-pixel shrinkage steps in :mod:`._shrink`.

Imported only when ``engine="numba"`` (or ``"auto"`` on NumPy arrays) is used,
so ``import classicdeblur`` never imports Numba. The functions have the same
signatures as the NumPy references in :mod:`._shrink` and evaluate the scalar
code of :func:`._shrink_scalar.make_scalar_ops`, compiled with ``@njit``.

Examples
--------
>>> import numpy as np
>>> from classicdeblur.solvers import _shrink
>>> v = np.random.default_rng(0).normal(size=(8, 8))
>>> bool(np.allclose(hyper_laplacian(v, 4.0, 0.5), _shrink.hyper_laplacian(v, 4.0, 0.5)))
True
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._shrink_scalar import make_scalar_ops

__all__ = ["hyper_laplacian", "l0", "soft", "isotropic"]

_ops = make_scalar_ops(njit(nogil=True, cache=True))
_hl = _ops.hl
_soft = _ops.soft
_iso_scale = _ops.iso_scale


@njit(nogil=True, cache=True)
def _hl_loop(v, out, beta, alpha, tau):
    for i in range(v.size):
        # below tau the minimiser is 0 (zero_below): skip the quartic / Newton solve
        out[i] = 0.0 if abs(v[i]) < tau else _hl(v[i], beta, alpha)


@njit(nogil=True, cache=True)
def _soft_loop(v, out, t):
    for i in range(v.size):
        out[i] = _soft(v[i], t)


@njit(nogil=True, cache=True)
def _iso_loop(h, v, oh, ov, t):
    for i in range(h.size):
        s = _iso_scale(h[i], v[i], t)
        oh[i] = s * float(h[i])
        ov[i] = s * float(v[i])


@njit(nogil=True, cache=True)
def _l0_loop(h, v, oh, ov, t):
    # h, v: (pixels, channels); the squared magnitude is summed over channels
    for i in range(h.shape[0]):
        e = 0.0
        for c in range(h.shape[1]):
            e += float(h[i, c]) * float(h[i, c]) + float(v[i, c]) * float(v[i, c])
        keep = e >= t
        for c in range(h.shape[1]):
            oh[i, c] = h[i, c] if keep else 0.0
            ov[i, c] = v[i, c] if keep else 0.0


def _flat(a):
    return np.ascontiguousarray(a).reshape(-1)


def _pixels(a):
    a = np.ascontiguousarray(a)
    return a.reshape(a.shape[0] * a.shape[1], -1) if a.ndim >= 2 else a.reshape(-1, 1)


def zero_below(beta, alpha):
    r"""A bound under which the w-step of Eq. (5) maps every :math:`|v|` to 0.

    For :math:`0 < \alpha \le 1` the minimiser of
    :math:`|w|^\alpha + \tfrac{\beta}{2}(w - v)^2` is 0 on an interval
    :math:`|v| \le \tau(\beta, \alpha)` (Krishnan & Fergus 2009, Sec. 3; for
    :math:`\alpha = 1` it is :math:`1/\beta`). :math:`\tau` is bracketed by
    bisection on the scalar solver itself and returned a relative 1e-6 below the
    bracket, so that every value under it is one the solver maps to 0: skipping
    them changes no result, and most image gradients lie there.

    Examples
    --------
    >>> from classicdeblur.solvers._shrink import make_scalar_ops
    >>> tau, hl = zero_below(8.0, 2 / 3), make_scalar_ops().hl
    >>> hl(0.999 * tau, 8.0, 2 / 3), hl(1.01 * tau, 8.0, 2 / 3) > 0
    (0.0, True)
    >>> round(zero_below(4.0, 1.0), 4)
    0.25
    """
    return _zero_below(float(beta), float(alpha))


@njit(nogil=True, cache=True)
def _zero_below(beta, alpha):
    # compiled (and cached) with the solver: a Python-level call of _hl would compile it in every process
    lo, hi = 0.0, 1.0
    while _hl(hi, beta, alpha) == 0.0:
        lo, hi = hi, 2.0 * hi
        if hi > 1e300:
            return np.inf
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        if _hl(mid, beta, alpha) == 0.0:
            lo = mid
        else:
            hi = mid
    return lo * (1.0 - 1e-6)


def hyper_laplacian(v, beta, alpha):
    """Numba engine of :func:`._shrink.shrink_hyper_laplacian`."""
    out = np.empty(v.shape, dtype=v.dtype)
    beta, alpha = float(beta), float(alpha)
    _hl_loop(_flat(v), out.reshape(-1), beta, alpha, zero_below(beta, alpha))
    return out


def soft(v, threshold):
    """Numba engine of :func:`._shrink.shrink_soft`."""
    out = np.empty(v.shape, dtype=v.dtype)
    _soft_loop(_flat(v), out.reshape(-1), float(threshold))
    return out


def isotropic(h, v, threshold):
    """Numba engine of :func:`._shrink.shrink_isotropic`."""
    oh, ov = np.empty(h.shape, dtype=h.dtype), np.empty(v.shape, dtype=v.dtype)
    _iso_loop(_flat(h), _flat(v), oh.reshape(-1), ov.reshape(-1), float(threshold))
    return oh, ov


def l0(h, v, threshold):
    """Numba engine of :func:`._shrink.shrink_l0`."""
    oh, ov = np.empty(h.shape, dtype=h.dtype), np.empty(v.shape, dtype=v.dtype)
    _l0_loop(_pixels(h), _pixels(v), _pixels(oh), _pixels(ov), float(threshold))
    return oh, ov

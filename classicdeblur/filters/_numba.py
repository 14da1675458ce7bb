"""Numba (CPU) engine of the filters in :mod:`classicdeblur.filters`.

Imported only when ``engine="numba"`` (or ``"auto"`` on NumPy arrays) is used,
so ``import classicdeblur`` never imports Numba. The functions have the
signatures of the references in :mod:`._reference` and loop over the pixels,
evaluating the per-pixel code of :func:`._reference.make_pixel_ops` compiled
with ``@njit``.

Examples
--------
>>> import numpy as np
>>> from classicdeblur.filters import _reference
>>> img = np.random.default_rng(0).random((8, 7))
>>> w = _reference.spatial_weights(1.0, 2)
>>> bool(np.allclose(bilateral(img, w, 50.0), _reference.bilateral(img, w, 50.0)))
True
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._reference import make_pixel_ops

__all__ = ["bilateral", "shock_filter", "rmap"]

_ops = make_pixel_ops(njit(nogil=True, cache=True))
_bilateral_at = _ops.bilateral_at
_shock_at = _ops.shock_at
_rmap_at = _ops.rmap_at


@njit(nogil=True, cache=True)
def _bilateral_loop(img, weights, inv_two_var, out):
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = _bilateral_at(img, weights, inv_two_var, i, j)


@njit(nogil=True, cache=True)
def _shock_loop(img, dt, out):
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = _shock_at(img, i, j, dt)


@njit(nogil=True, cache=True)
def _rmap_loop(gx, gy, half, out):
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = _rmap_at(gx, gy, half, i, j)


def bilateral(image, weights, inv_two_var):
    """Numba engine of :func:`._reference.bilateral`."""
    img = np.ascontiguousarray(image, dtype=np.float64)
    out = np.empty_like(img)
    _bilateral_loop(img, np.ascontiguousarray(weights, dtype=np.float64), float(inv_two_var), out)
    return out


def shock_filter(image, iterations, dt):
    """Numba engine of :func:`._reference.shock_filter` (two buffers, swapped every step)."""
    src = np.array(image, dtype=np.float64, order="C")  # a copy: the input is never written
    dst = np.empty_like(src)
    for _ in range(iterations):
        _shock_loop(src, float(dt), dst)
        src, dst = dst, src
    return src


def rmap(gx, gy, half):
    """Numba engine of :func:`._reference.rmap`."""
    gx = np.ascontiguousarray(gx, dtype=np.float64)
    out = np.empty_like(gx)
    _rmap_loop(gx, np.ascontiguousarray(gy, dtype=np.float64), int(half), out)
    return out

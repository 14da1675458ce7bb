"""Circular finite differences, their adjoints and their optical transfer functions.

First differences are *forward* differences with periodic wrap-around, as in
the authors' codes of Krishnan & Fergus (2009) and Xu et al. (2011)::

    dx(x)[i, j] = x[i, j + 1] - x[i, j]      (columns, axis 1)
    dy(x)[i, j] = x[i + 1, j] - x[i, j]      (rows, axis 0)

Each operator is also a true convolution with an odd, centred filter from
:data:`FILTERS` (``dx`` is ``[[1, -1, 0]]``: the ``1`` sits at offset ``-1``),
so ``psf2otf(FILTERS[name], shape)`` is its OTF and Fourier solvers and
image-domain code agree exactly. Second differences (``dxx``, ``dyy``,
``dxy``), used by the likelihoods of Shan et al. (2008) and Cho & Lee (2009),
follow the same rules. Every function works on ``(M, N)`` and ``(M, N, C)``
NumPy or CuPy arrays, acting on the first two axes (:func:`integrate`, the
least-squares inverse of :func:`gradient`, on ``(M, N)`` arrays).

Examples
--------
>>> import numpy as np
>>> x = np.arange(9.0).reshape(3, 3)
>>> dx(x)
array([[ 1.,  1., -2.],
       [ 1.,  1., -2.],
       [ 1.,  1., -2.]])
>>> from classicdeblur.operators.functional import convolve
>>> bool(np.allclose(convolve(x, FILTERS["dx"], boundary="circular", method="direct"), dx(x)))
True
"""

from __future__ import annotations

import functools

import numpy as np

from .. import backend
from ..backend import get_namespace
from .functional import psf2otf

__all__ = [
    "cut_gradient",
    "FILTERS",
    "dx",
    "dy",
    "dx_adjoint",
    "dy_adjoint",
    "dxx",
    "dyy",
    "dxy",
    "dxy_adjoint",
    "gradient",
    "divergence",
    "integrate",
    "apply",
    "apply_adjoint",
    "filter_otf",
    "gradient_otfs",
]

#: Odd, centred true-convolution filters of the circular difference operators.
FILTERS = {
    "dx": np.array([[1.0, -1.0, 0.0]]),
    "dy": np.array([[1.0], [-1.0], [0.0]]),
    "dxx": np.array([[1.0, -2.0, 1.0]]),
    "dyy": np.array([[1.0], [-2.0], [1.0]]),
    "dxy": np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
}
for _f in FILTERS.values():
    _f.setflags(write=False)
del _f


def _roll(xp, x, shift, axis):
    return xp.roll(x, shift, axis=axis)


def dx(x):
    """Horizontal forward difference ``x[:, j+1] - x[:, j]`` (circular).

    Parameters
    ----------
    x : ndarray of shape (M, N) or (M, N, C)

    Returns
    -------
    ndarray
        Same shape, dtype and array type as ``x``.
    """
    return _roll(get_namespace(x), x, -1, 1) - x


def dy(x):
    """Vertical forward difference ``x[i+1] - x[i]`` (circular)."""
    return _roll(get_namespace(x), x, -1, 0) - x


def dx_adjoint(g):
    """Adjoint of :func:`dx`: ``g[:, j-1] - g[:, j]`` (a backward difference).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> u, v = rng.random((2, 5, 6))
    >>> bool(np.isclose((dx(u) * v).sum(), (u * dx_adjoint(v)).sum()))
    True
    """
    return _roll(get_namespace(g), g, 1, 1) - g


def dy_adjoint(g):
    """Adjoint of :func:`dy`: ``g[i-1] - g[i]``."""
    return _roll(get_namespace(g), g, 1, 0) - g


def dxx(x):
    """Horizontal second difference ``x[:, j+1] - 2 x[:, j] + x[:, j-1]`` (self-adjoint)."""
    xp = get_namespace(x)
    return _roll(xp, x, -1, 1) - 2 * x + _roll(xp, x, 1, 1)


def dyy(x):
    """Vertical second difference ``x[i+1] - 2 x[i] + x[i-1]`` (self-adjoint)."""
    xp = get_namespace(x)
    return _roll(xp, x, -1, 0) - 2 * x + _roll(xp, x, 1, 0)


def dxy(x):
    """Mixed second difference ``dx(dy(x))``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).random((6, 7))
    >>> bool(np.allclose(dxy(x), dy(dx(x))))
    True
    """
    return dx(dy(x))


def dxy_adjoint(g):
    """Adjoint of :func:`dxy`: ``dy_adjoint(dx_adjoint(g))``."""
    return dy_adjoint(dx_adjoint(g))


def integrate(gx, gy, *, mean=None):
    r"""The image whose :func:`gradient` is closest to ``(gx, gy)`` in least squares (circular), by FFT.

    Minimises :math:`\|\partial_x x - g_x\|^2 + \|\partial_y x - g_y\|^2`
    in closed form in Fourier,

    .. math::
        X = \frac{\overline{F_x}\,G_x + \overline{F_y}\,G_y}{|F_x|^2 + |F_y|^2},

    with :math:`F_x, F_y` the OTFs of :func:`dx` and :func:`dy`
    (:func:`gradient_otfs`). Differences do not determine the mean (the zero
    frequency): the result has mean ``mean`` (zero when None).

    Parameters
    ----------
    gx, gy : ndarray of shape (M, N)
        Target horizontal and vertical forward differences (NumPy or CuPy,
        real float). Gradients known on part of the image only are given as
        zero elsewhere.
    mean : float, optional
        Mean of the result.

    Returns
    -------
    ndarray of shape (M, N)
        Same dtype and array type as ``gx``.

    Examples
    --------
    A circular gradient field is integrated exactly, up to the mean:

    >>> import numpy as np
    >>> x = np.random.default_rng(4).random((6, 9))
    >>> bool(np.allclose(integrate(*gradient(x), mean=x.mean()), x))
    True
    """
    xp = get_namespace(gx)
    shape = gx.shape[:2]
    fx, fy = gradient_otfs(shape, xp, gx.dtype)
    num = fx.conj() * backend.rfft2(gx) + fy.conj() * backend.rfft2(gy)
    den = abs(fx) ** 2 + abs(fy) ** 2
    den[0, 0] = 1  # the zero frequency is not determined by the differences: set it apart
    num[0, 0] = 0
    out = backend.irfft2(num / den, s=shape).astype(gx.dtype, copy=False)
    return out if mean is None else out + mean


_FORWARD = {"dx": dx, "dy": dy, "dxx": dxx, "dyy": dyy, "dxy": dxy}
_ADJOINT = {"dx": dx_adjoint, "dy": dy_adjoint, "dxx": dxx, "dyy": dyy, "dxy": dxy_adjoint}


def _check_name(name):
    if name not in FILTERS:
        raise ValueError(f"unknown difference operator {name!r}; choose from: {', '.join(FILTERS)}")


def apply(name, x):
    """Apply the difference operator called ``name`` (a key of :data:`FILTERS`)."""
    _check_name(name)
    return _FORWARD[name](x)


def apply_adjoint(name, g):
    """Apply the adjoint of the difference operator called ``name``."""
    _check_name(name)
    return _ADJOINT[name](g)


def gradient(x):
    """Return ``(dx(x), dy(x))``."""
    return dx(x), dy(x)


def cut_gradient(x):
    """``(dx(x), dy(x))`` with the wrap-around column of ``dx`` and row of ``dy`` zeroed.

    The gradients the edge-based k-steps use: no spurious edge between the
    image's last and first rows or columns.

    Examples
    --------
    >>> import numpy as np
    >>> gx, gy = cut_gradient(np.arange(9.0).reshape(3, 3))
    >>> gx[0].tolist(), gy[:, 0].tolist()
    ([1.0, 1.0, 0.0], [3.0, 3.0, 0.0])
    """
    gx, gy = dx(x), dy(x)
    gx[:, -1] = 0
    gy[-1, :] = 0
    return gx, gy


def divergence(gx, gy):
    """Adjoint of :func:`gradient`: ``dx_adjoint(gx) + dy_adjoint(gy)``.

    This is *minus* the usual discrete divergence, so that
    ``divergence(*gradient(x))`` is the positive semi-definite ``D^T D x``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(2).random((5, 5))
    >>> lap = 4 * x - sum(np.roll(x, s, a) for s in (1, -1) for a in (0, 1))
    >>> bool(np.allclose(divergence(*gradient(x)), lap))
    True
    """
    return dx_adjoint(gx) + dy_adjoint(gy)


def _device_key(xp):
    if xp is np:
        return None
    return int(xp.cuda.Device().id)


@functools.lru_cache(maxsize=64)
def _otf_cached(name, shape, xp, dtype, device):
    filt = xp.asarray(FILTERS[name], dtype=dtype)
    otf = psf2otf(filt, shape, real=True)
    if xp is np:
        otf.setflags(write=False)
    return otf


def filter_otf(name, shape, xp=np, dtype=np.float64):
    """Half-spectrum (``rfft2``) OTF of the difference operator ``name`` on ``shape`` (cached).

    Parameters
    ----------
    name : {"dx", "dy", "dxx", "dyy", "dxy"}
    shape : tuple of int
        ``(M, N)`` of the images it will multiply (extra axes are ignored).
    xp : module
        ``numpy`` or ``cupy``.
    dtype : dtype
        Real working precision (float32 gives a complex64 OTF).

    Returns
    -------
    ndarray of shape (M, N // 2 + 1)
        Cached and shared: do not modify it (NumPy copies are read-only).

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur import backend
    >>> x = np.random.default_rng(3).random((8, 10))
    >>> y = backend.irfft2(backend.rfft2(x) * filter_otf("dx", x.shape), s=x.shape)
    >>> bool(np.allclose(y, dx(x)))
    True
    """
    _check_name(name)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a real float type; got {dtype}")
    shape = (int(shape[0]), int(shape[1]))
    return _otf_cached(name, shape, xp, dtype.str, _device_key(xp))


def gradient_otfs(shape, xp=np, dtype=np.float64):
    """OTFs ``(Fx, Fy)`` of :func:`dx` and :func:`dy` on ``shape`` (cached, read-only).

    ``|Fx|^2 + |Fy|^2`` is the spectrum of the discrete Laplacian ``D^T D``.

    Examples
    --------
    >>> import numpy as np
    >>> fx, fy = gradient_otfs((4, 4))
    >>> fx.shape, fx.dtype
    ((4, 3), dtype('complex128'))
    >>> bool(np.isclose(abs(fx[0, 2]) ** 2 + abs(fy[2, 0]) ** 2, 8.0))
    True
    """
    return filter_otf("dx", shape, xp, dtype), filter_otf("dy", shape, xp, dtype)

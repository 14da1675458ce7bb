"""NumPy/CuPy reference of the filters in :mod:`classicdeblur.filters`, and the per-pixel code of the compiled engines.

The ``xp`` functions here are vectorised and run unchanged on NumPy and CuPy
arrays; they are the reference the numba and CUDA engines are tested against.
Those engines evaluate one output pixel at a time with the functions of
:func:`make_pixel_ops`, written once in plain Python with ``math`` only and in
the same order of operations as the references, so all engines agree to
rounding.

All functions take float64 arrays (the public functions in
:mod:`classicdeblur.filters` convert) and return new float64 arrays.

Examples
--------
>>> import numpy as np
>>> img = np.arange(12.0).reshape(3, 4) / 12
>>> ops = make_pixel_ops()
>>> bool(np.isclose(shock_filter(img, 1, 0.1)[1, 2], ops.shock_at(img, 1, 2, 0.1)))
True
"""

from __future__ import annotations

import math
import types

import numpy as np

from ..backend import get_namespace

__all__ = [
    "RMAP_EPS",
    "make_pixel_ops",
    "spatial_weights",
    "bilateral",
    "shock_filter",
    "rmap",
    "orientation_threshold",
]

#: The constant 0.5 of Xu & Jia (2010), Eq. (4), that keeps ``r`` small in flat regions.
RMAP_EPS = 0.5


# --------------------------------------------------------------------------------------
# per-pixel code shared by the numba and CUDA engines
# --------------------------------------------------------------------------------------


def make_pixel_ops(jit=None):
    """Build the per-pixel functions of the compiled engines, compiled with ``jit``.

    ``jit`` is ``numba.njit`` for the CPU engine and ``cuda.jit(device=True)``
    for the GPU engine (identity when None); the bodies use only ``math``,
    indexing and plain arithmetic.

    Returns
    -------
    types.SimpleNamespace
        ``bilateral_at(img, weights, inv_two_var, i, j)``,
        ``shock_at(img, i, j, dt)`` and ``rmap_at(gx, gy, half, i, j)``: the
        output value at pixel ``(i, j)``; also the helpers ``reflect``,
        ``clamp`` and ``minmod``.

    Examples
    --------
    >>> ops = make_pixel_ops()
    >>> [ops.reflect(i, 3) for i in range(-4, 7)]
    [2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0]
    >>> ops.minmod(0.5, 0.2), ops.minmod(-0.5, 0.2)
    (0.2, 0.0)
    """
    if jit is None:

        def jit(f):
            return f

    @jit
    def reflect(i, n):
        # symmetric extension ... c b a | a b c | c b a ..., of period 2n
        i = i % (2 * n)
        if i < n:
            return i
        return 2 * n - 1 - i

    @jit
    def clamp(i, n):
        # replicate extension ... a a | a b c | c c ...
        return min(max(i, 0), n - 1)

    @jit
    def minmod(a, b):
        # the smaller one-sided difference when both have the same sign, else 0
        if a * b > 0.0:
            return math.copysign(min(abs(a), abs(b)), a)
        return 0.0

    @jit
    def bilateral_at(img, weights, inv_two_var, i, j):
        # sum_y w_s(x - y) w_r(I(x) - I(y)) I(y) / sum_y w_s w_r, Gaussian w_s, w_r
        m, n = img.shape
        r = weights.shape[0] // 2
        c = img[i, j]
        num = 0.0
        den = 0.0
        for a in range(2 * r + 1):
            y = reflect(i + a - r, m)
            for b in range(2 * r + 1):
                v = img[y, reflect(j + b - r, n)]
                d = v - c
                w = weights[a, b] * math.exp(-(d * d) * inv_two_var)
                num += w * v
                den += w
        return num / den

    @jit
    def shock_at(img, i, j, dt):
        # one step of I - sign(lap I) |grad I| dt, |grad I| by minmod differences
        m, n = img.shape
        c = img[i, j]
        up = img[clamp(i - 1, m), j]
        down = img[clamp(i + 1, m), j]
        left = img[i, clamp(j - 1, n)]
        right = img[i, clamp(j + 1, n)]
        lap = (up + down) + (left + right) - 4.0 * c
        gx = minmod(right - c, c - left)
        gy = minmod(down - c, c - up)
        s = 0.0
        if lap > 0.0:
            s = 1.0
        elif lap < 0.0:
            s = -1.0
        return c - s * math.sqrt(gx * gx + gy * gy) * dt

    @jit
    def rmap_at(gx, gy, half, i, j):
        # ||sum grad|| / (sum ||grad|| + 0.5) over the window clipped to the image
        m, n = gx.shape
        sx = 0.0
        sy = 0.0
        sm = 0.0
        for y in range(max(i - half, 0), min(i + half + 1, m)):
            for x in range(max(j - half, 0), min(j + half + 1, n)):
                u = gx[y, x]
                v = gy[y, x]
                sx += u
                sy += v
                sm += math.sqrt(u * u + v * v)
        return math.sqrt(sx * sx + sy * sy) / (sm + RMAP_EPS)

    return types.SimpleNamespace(
        reflect=reflect,
        clamp=clamp,
        minmod=minmod,
        bilateral_at=bilateral_at,
        shock_at=shock_at,
        rmap_at=rmap_at,
    )


# --------------------------------------------------------------------------------------
# NumPy reference: vectorised over xp (NumPy or CuPy)
# --------------------------------------------------------------------------------------


def spatial_weights(sigma, radius):
    """Gaussian spatial weights ``exp(-(dy^2 + dx^2) / (2 sigma^2))`` on the ``(2r+1)^2`` window.

    A NumPy array, shared by all engines (moved to the device by the CUDA engine).

    Examples
    --------
    >>> spatial_weights(1.0, 1).round(3)
    array([[0.368, 0.607, 0.368],
           [0.607, 1.   , 0.607],
           [0.368, 0.607, 0.368]])
    """
    d = np.arange(-radius, radius + 1, dtype=np.float64) ** 2
    return np.exp(-(d[:, None] + d[None, :]) * (0.5 / (sigma * sigma)))


def _reflect_index(xp, start, stop, n):
    """Indices ``start..stop-1`` mapped into ``[0, n)`` by symmetric extension (see ``reflect``)."""
    i = xp.mod(xp.arange(start, stop), 2 * n)
    return xp.where(i < n, i, 2 * n - 1 - i)


def bilateral(image, weights, inv_two_var):
    """Bilateral filter, symmetric boundary; ``inv_two_var = 1 / (2 sigma_range^2)``.

    Examples
    --------
    >>> import numpy as np
    >>> bilateral(np.full((3, 3), 0.5), spatial_weights(1.0, 1), 50.0)[0]
    array([0.5, 0.5, 0.5])
    """
    xp = get_namespace(image)
    m, n = image.shape
    r = weights.shape[0] // 2
    padded = image[_reflect_index(xp, -r, m + r, m)][:, _reflect_index(xp, -r, n + r, n)]
    num = xp.zeros_like(image)
    den = xp.zeros_like(image)
    # the window offsets in the order of bilateral_at, each applied to all pixels at once
    for a in range(2 * r + 1):
        for b in range(2 * r + 1):
            v = padded[a : a + m, b : b + n]
            d = v - image
            w = float(weights[a, b]) * xp.exp(-(d * d) * inv_two_var)
            num += w * v
            den += w
    return num / den


def _minmod(xp, a, b):
    return xp.where(a * b > 0.0, xp.copysign(xp.minimum(xp.abs(a), xp.abs(b)), a), 0.0)


def shock_filter(image, iterations, dt):
    """``iterations`` explicit steps of the shock filter, replicate boundary (see ``shock_at``).

    Examples
    --------
    >>> import numpy as np
    >>> shock_filter(np.array([[0.0, 0.2, 0.8, 1.0]]), 1, 0.5)
    array([[0. , 0.1, 0.9, 1. ]])
    """
    xp = get_namespace(image)
    m, n = image.shape
    rows = xp.clip(xp.arange(-1, m + 1), 0, m - 1)
    cols = xp.clip(xp.arange(-1, n + 1), 0, n - 1)
    out = image.copy()
    for _ in range(iterations):
        p = out[rows][:, cols]
        c = p[1:-1, 1:-1]
        up, down, left, right = p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]
        lap = (up + down) + (left + right) - 4.0 * c
        gx = _minmod(xp, right - c, c - left)
        gy = _minmod(xp, down - c, c - up)
        # Cho & Lee (2009), Eq. (2): I_{t+1} = I_t - sign(lap I_t) ||grad I_t|| dt
        out = c - xp.sign(lap) * xp.sqrt(gx * gx + gy * gy) * dt
    return out


def _box_rows(xp, a, half):
    """Sums over ``rows i-half..i+half`` clipped to the array, by cumulative sums."""
    m = a.shape[0]
    c = xp.concatenate([xp.zeros((1,) + a.shape[1:], dtype=a.dtype), xp.cumsum(a, axis=0)])
    i = xp.arange(m)
    return c[xp.minimum(i + half + 1, m)] - c[xp.maximum(i - half, 0)]


def _box(xp, a, half):
    return _box_rows(xp, _box_rows(xp, a, half).T, half).T


def rmap(gx, gy, half):
    """Xu & Jia's ``r`` map over ``(2 half + 1)^2`` windows clipped to the image.

    Examples
    --------
    >>> import numpy as np
    >>> gx = np.zeros((5, 5)); gx[:, 2] = 1.0
    >>> float(rmap(gx, np.zeros((5, 5)), 1)[2, 2])
    0.8571428571428571
    """
    xp = get_namespace(gx)
    sx = _box(xp, gx, half)
    sy = _box(xp, gy, half)
    sm = _box(xp, xp.sqrt(gx * gx + gy * gy), half)
    # Xu & Jia (2010), Eq. (4): r = ||sum grad B|| / (sum ||grad B|| + 0.5)
    return xp.sqrt(sx * sx + sy * sy) / (sm + RMAP_EPS)


def orientation_threshold(gx, gy, min_pixels, bins):
    """Largest magnitude threshold keeping ``min_pixels`` pixels in every orientation bin.

    Returns a Python float; see :func:`classicdeblur.filters.orientation_threshold`.

    Examples
    --------
    >>> import numpy as np
    >>> orientation_threshold(np.array([[1.0, 2.0, 0.0]]), np.array([[0.0, 0.0, 3.0]]), 1, 2)
    2.0
    """
    xp = get_namespace(gx)
    mag = xp.sqrt(gx * gx + gy * gy).ravel()
    # the orientation of the gradient modulo pi: opposite gradients share a bin
    angle = xp.mod(xp.arctan2(gy, gx), math.pi).ravel()
    index = xp.clip(xp.floor(angle * (bins / math.pi)).astype(np.int64), 0, bins - 1)
    best = math.inf
    for b in range(bins):
        m = mag[index == b]
        if m.size == 0:
            continue  # an empty bin constrains nothing
        k = m.size - min(min_pixels, m.size)
        best = min(best, float(xp.partition(m, k)[k]))  # the min_pixels-th largest
    return best

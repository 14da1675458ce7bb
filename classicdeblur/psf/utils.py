"""Small helpers for blur kernels: normalise, centroid, re-centre, pad, crop, splat.

Conventions: kernels are 2-D NumPy arrays, non-negative, summing to 1, with
**odd** height and width and their centre at ``(h // 2, w // 2)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidKernelError

__all__ = [
    "normalize",
    "centroid",
    "recenter",
    "pad_to_size",
    "crop_to_support",
    "odd_size",
    "splat_bilinear",
]


def normalize(kernel):
    """Clip negatives to zero and divide by the sum.

    Raises
    ------
    InvalidKernelError
        If nothing positive is left.

    Examples
    --------
    >>> import numpy as np
    >>> normalize(np.array([[1.0, 3.0, -1.0]]))
    array([[0.25, 0.75, 0.  ]])
    """
    k = np.maximum(np.asarray(kernel, dtype=np.float64), 0.0)
    s = k.sum()
    if not np.isfinite(s) or s <= 0:
        raise InvalidKernelError("kernel has no positive entries; cannot normalise it")
    return k / s


def centroid(kernel):
    """Centre of mass ``(row, col)`` of a non-negative kernel, in pixels.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.zeros((3, 3)); k[0, 2] = 1
    >>> centroid(k)
    (0.0, 2.0)
    """
    k = np.asarray(kernel, dtype=np.float64)
    s = k.sum()
    rows, cols = np.indices(k.shape)
    return float((k * rows).sum() / s), float((k * cols).sum() / s)


def recenter(kernel):
    """Shift a kernel by whole pixels so that its centroid is nearest the centre.

    The canvas grows (by zeros, keeping odd sizes) only where the shifted
    kernel would otherwise leave it, so no mass is ever lost.

    Parameters
    ----------
    kernel : ndarray of shape (h, w)
        Odd-sized, non-negative.

    Returns
    -------
    kernel : ndarray
        The shifted kernel (float64), as large as the input or larger.
    shift : tuple of int
        ``(dy, dx)`` applied: content moved down by ``dy`` rows, right by ``dx``.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.zeros((5, 5)); k[0, 0] = 1
    >>> out, shift = recenter(k)
    >>> shift, out.shape, centroid(out)
    ((2, 2), (5, 5), (2.0, 2.0))
    """
    k = np.asarray(kernel, dtype=np.float64)
    odd_size(k.shape)
    h, w = k.shape
    cy, cx = centroid(k)
    dy, dx = int(round(h // 2 - cy)), int(round(w // 2 - cx))
    if dy == 0 and dx == 0:
        return k.copy(), (0, 0)
    py, px = abs(dy), abs(dx)
    big = np.pad(k, ((py, py), (px, px)))
    big = np.roll(big, (dy, dx), axis=(0, 1))  # rolls only zeros across the border
    inner = big[py : py + h, px : px + w]
    if np.isclose(inner.sum(), big.sum(), rtol=0, atol=1e-15 * max(1.0, big.sum())):
        return inner.copy(), (dy, dx)
    return crop_to_support(big, min_size=(h, w)), (dy, dx)


def odd_size(shape):
    """Raise :class:`InvalidKernelError` unless both sides of ``shape`` are odd."""
    if len(shape) != 2 or shape[0] % 2 == 0 or shape[1] % 2 == 0:
        raise InvalidKernelError(
            f"kernel must be 2-D with odd height and width (centre at (h//2, w//2)); got shape {tuple(shape)}"
        )


def pad_to_size(kernel, size):
    """Zero-pad an odd-sized kernel symmetrically to ``size`` (int or ``(h, w)``, odd).

    The centre ``(h // 2, w // 2)`` stays the centre.

    Examples
    --------
    >>> import numpy as np
    >>> pad_to_size(np.ones((1, 3)), 3)
    array([[0., 0., 0.],
           [1., 1., 1.],
           [0., 0., 0.]])
    """
    k = np.asarray(kernel, dtype=np.float64)
    odd_size(k.shape)
    H, W = (size, size) if np.isscalar(size) else tuple(size)
    odd_size((H, W))
    h, w = k.shape
    if H < h or W < w:
        raise ValueError(f"cannot pad a kernel of shape {k.shape} to the smaller size {(H, W)}")
    py, px = (H - h) // 2, (W - w) // 2
    return np.pad(k, ((py, py), (px, px)))


def crop_to_support(kernel, *, tol=0.0, min_size=1):
    """Crop zero borders symmetrically about the centre (the result stays odd and centred).

    Parameters
    ----------
    kernel : ndarray of shape (h, w), odd
    tol : float
        Entries ``<= tol * max`` count as zero when finding the support; they
        are *not* removed from the kept part.
    min_size : int or tuple of int
        Never crop below this (odd) size.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.zeros((7, 7)); k[3, 2:5] = 1
    >>> crop_to_support(k).shape
    (1, 3)
    """
    k = np.asarray(kernel, dtype=np.float64)
    odd_size(k.shape)
    h, w = k.shape
    mh, mw = (min_size, min_size) if np.isscalar(min_size) else tuple(min_size)
    rows, cols = np.nonzero(k > tol * k.max())
    if rows.size == 0:
        return k.copy()
    ry = max(h // 2 - rows.min(), rows.max() - h // 2, mh // 2)
    rx = max(w // 2 - cols.min(), cols.max() - w // 2, mw // 2)
    return k[h // 2 - ry : h // 2 + ry + 1, w // 2 - rx : w // 2 + rx + 1].copy()


def splat_bilinear(shape, rows, cols, weights=None):
    """Accumulate point masses at sub-pixel positions onto a grid with bilinear weights.

    Each point ``(r, c)`` with weight ``m`` adds ``m (1 - |r - i|)(1 - |c - j|)``
    to its four neighbouring pixels ``(i, j)`` (the separable "triangle"
    interpolation of Boracchi & Foi's ``createPSFs``). This keeps the total
    mass and the centre of mass of the points exactly. Points must lie inside
    ``[0, h - 1] x [0, w - 1]``.

    Examples
    --------
    >>> splat_bilinear((2, 2), [0.5], [0.25])
    array([[0.375, 0.125],
           [0.375, 0.125]])
    """
    h, w = shape
    r = np.asarray(rows, dtype=np.float64).ravel()
    c = np.asarray(cols, dtype=np.float64).ravel()
    m = np.ones_like(r) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if r.size and (r.min() < 0 or c.min() < 0 or r.max() > h - 1 or c.max() > w - 1):
        raise ValueError(f"points fall outside the {h}x{w} grid")
    r0 = np.minimum(np.floor(r).astype(np.intp), h - 1)
    c0 = np.minimum(np.floor(c).astype(np.intp), w - 1)
    fr, fc = r - r0, c - c0
    out = np.zeros((h + 1, w + 1))  # one spare row/column for points on the last line
    np.add.at(out, (r0, c0), m * (1 - fr) * (1 - fc))
    np.add.at(out, (r0, c0 + 1), m * (1 - fr) * fc)
    np.add.at(out, (r0 + 1, c0), m * fr * (1 - fc))
    np.add.at(out, (r0 + 1, c0 + 1), m * fr * fc)
    return out[:h, :w]

"""Coarse-to-fine schedule and resampling for blind kernel estimation.

The kernel size shrinks by ``ratio`` (about ``1/sqrt(2)``) per level down to
about 3x3, and the image with it (METHODS.md section 0; Fergus et al. 2006,
Krishnan et al. 2011, Cho & Lee 2009 all use this schedule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..backend import get_namespace, get_ndimage

__all__ = ["Level", "schedule", "resize", "resize_kernel", "kernel_grid"]


@dataclass(frozen=True)
class Level:
    """One pyramid level: its ``scale`` (image size / full size), ``shape`` and odd ``kernel_size``."""

    scale: float
    shape: tuple
    kernel_size: int


def _odd(v: float) -> int:
    n = max(int(math.floor(v)), 1)
    return n if n % 2 else n + 1


def schedule(image_shape, kernel_size, *, ratio=math.sqrt(0.5), min_kernel=3, max_levels=None):
    """Levels from coarse to fine.

    Parameters
    ----------
    image_shape : tuple of int
        Full-resolution ``(M, N)``.
    kernel_size : int
        Odd kernel size at full resolution.
    ratio : float
        Size ratio between successive levels, in (0, 1).
    min_kernel : int
        Kernel size at the coarsest level (about 3).
    max_levels : int, optional
        Keep at most this many of the finest levels.

    Examples
    --------
    >>> [(lv.shape, lv.kernel_size) for lv in schedule((256, 256), 15)]
    [((64, 64), 3), ((91, 91), 5), ((128, 128), 7), ((181, 181), 11), ((256, 256), 15)]
    """
    if not 0 < ratio < 1:
        raise ValueError(f"ratio must be in (0, 1); got {ratio}")
    M, N = image_shape[:2]
    n = 1 + max(0, math.floor(math.log(min_kernel / kernel_size) / math.log(ratio) + 1e-9))
    if max_levels is not None:
        n = min(n, int(max_levels))
    levels = []
    for i in range(n - 1, -1, -1):
        s = ratio**i
        ks = kernel_size if i == 0 else max(_odd(kernel_size * s), min_kernel)
        scale = s
        shape = (max(round(M * scale), ks), max(round(N * scale), ks))
        if levels and (ks, shape) == (levels[-1].kernel_size, levels[-1].shape):
            continue
        levels.append(Level(scale, shape, ks))
    return levels


def resize(image, shape, *, antialias=True):
    """Resample the first two axes of ``image`` to ``shape`` (bilinear, Gaussian pre-filter when shrinking).

    Examples
    --------
    >>> import numpy as np
    >>> resize(np.ones((8, 8)), (4, 5)).round(6).tolist()[0]
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    xp = get_namespace(image)
    ndi = get_ndimage(xp)
    M, N = image.shape[:2]
    fy, fx = shape[0] / M, shape[1] / N
    if (M, N) == tuple(shape[:2]):
        return image
    if antialias and min(fy, fx) < 1:
        # sigma chosen so the pre-filter matches the new Nyquist rate (as MATLAB's imresize)
        sig = [max(0.0, (1 / f - 1) / 2) for f in (fy, fx)] + [0] * (image.ndim - 2)
        image = ndi.gaussian_filter(image, sig, mode="nearest")
    zoom = (fy, fx) + (1,) * (image.ndim - 2)
    out = ndi.zoom(image, zoom, order=1, mode="nearest", grid_mode=True)
    return out.astype(image.dtype, copy=False)


def kernel_grid(xp, h, size, dtype):
    """Input coordinates, along one axis, of a kernel of side ``h`` resampled to ``size``, centre to centre.

    Output pixel ``i`` samples input coordinate ``c_in + (i - c_out) * h / size``.

    Examples
    --------
    >>> import numpy as np
    >>> kernel_grid(np, 5, 3, np.float64).tolist()
    [0.33333333333333326, 2.0, 3.666666666666667]
    """
    c_in, c_out = (h - 1) / 2, (size - 1) / 2
    return (xp.arange(size, dtype=dtype) - c_out) * (h / size) + c_in


def resize_kernel(kernel, size):
    """Resample a kernel to an odd ``size`` x ``size``, keeping it non-negative and summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.zeros((3, 3)); k[1, :] = 1 / 3
    >>> big = resize_kernel(k, 5)
    >>> big.shape, round(float(big.sum()), 6), bool(big[2].sum() > 0.5)
    ((5, 5), 1.0, True)
    """
    xp = get_namespace(kernel)
    h = kernel.shape[0]
    if h == size:
        return kernel
    ndi = get_ndimage(xp)
    grid = kernel_grid(xp, h, size, kernel.dtype)
    coords = xp.stack(xp.meshgrid(grid, grid, indexing="ij"))
    out = ndi.map_coordinates(kernel, coords, order=1, mode="constant", cval=0.0)
    out = xp.maximum(out, 0)
    s = float(out.sum())
    return (out / s).astype(kernel.dtype, copy=False) if s > 0 else out

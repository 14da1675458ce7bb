"""CUDA engine of the filters in :mod:`classicdeblur.filters` (``@cuda.jit`` kernels).

The callers :func:`bilateral`, :func:`shock_filter` and :func:`rmap` have the
signatures of the references in :mod:`._reference`. They launch one thread per
pixel, evaluating the per-pixel code of :func:`._reference.make_pixel_ops`
compiled as device functions. CuPy arrays are used in place through the CUDA
array interface and the result is a CuPy array; NumPy arrays are copied to the
device and back, or run directly in Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``), which is how the tests check the kernels on a
machine without a GPU.

``numba.cuda`` is imported at module level inside ``try``; the kernels are
compiled lazily on first use and cached.
"""

from __future__ import annotations

import functools
import types

import numpy as np

from ..backend import get_namespace, is_cupy, kernel_arg
from ._reference import make_pixel_ops

try:  # a broken CUDA install may raise anything, not only ImportError
    from numba import cuda
except Exception:  # pragma: no cover - depends on the machine
    cuda = None

__all__ = ["bilateral", "shock_filter", "rmap", "BLOCK"]

#: Threads per block along each image axis.
BLOCK = (16, 16)


@functools.cache
def _compiled():
    """Build the device functions and kernels once (they use the module-level ``cuda``)."""
    if cuda is None:
        raise RuntimeError("numba.cuda is not importable; install the 'gpu' extra or use engine='numpy'")
    ops = make_pixel_ops(cuda.jit(device=True))
    bilateral_at, shock_at, rmap_at = ops.bilateral_at, ops.shock_at, ops.rmap_at

    @cuda.jit
    def bilateral_kernel(img, weights, inv_two_var, out):
        i, j = cuda.grid(2)
        if i < out.shape[0] and j < out.shape[1]:
            out[i, j] = bilateral_at(img, weights, inv_two_var, i, j)

    @cuda.jit
    def shock_kernel(img, dt, out):
        i, j = cuda.grid(2)
        if i < out.shape[0] and j < out.shape[1]:
            out[i, j] = shock_at(img, i, j, dt)

    @cuda.jit
    def rmap_kernel(gx, gy, half, out):
        i, j = cuda.grid(2)
        if i < out.shape[0] and j < out.shape[1]:
            out[i, j] = rmap_at(gx, gy, half, i, j)

    return types.SimpleNamespace(bilateral=bilateral_kernel, shock=shock_kernel, rmap=rmap_kernel)


def _grid(shape):
    return tuple(max(1, (int(s) + b - 1) // b) for s, b in zip(shape, BLOCK))


class _Device:
    """Float64 device arrays for the kernels: CuPy arrays stay CuPy, NumPy ones go through numba.cuda."""

    def __init__(self, like):
        self.gpu = is_cupy(like)
        if self.gpu:
            self.xp = get_namespace(like)

    def put(self, a):
        if self.gpu:
            return self.xp.ascontiguousarray(self.xp.asarray(a, dtype=np.float64))
        return cuda.to_device(np.ascontiguousarray(a, dtype=np.float64))

    def empty(self, shape):
        if self.gpu:
            return self.xp.empty(shape, dtype=np.float64)
        return cuda.device_array(shape, dtype=np.float64)

    def arg(self, d):
        """What the kernel takes: a device array through the CUDA array interface (no copy)."""
        return kernel_arg(d) if self.gpu else d

    def get(self, d):
        return d if self.gpu else d.copy_to_host()


def bilateral(image, weights, inv_two_var):
    """CUDA engine of :func:`._reference.bilateral`."""
    k, dev = _compiled(), _Device(image)
    out = dev.empty(image.shape)
    k.bilateral[_grid(image.shape), BLOCK](dev.arg(dev.put(image)), dev.arg(dev.put(weights)), float(inv_two_var),
                                          dev.arg(out))
    return dev.get(out)


def shock_filter(image, iterations, dt):
    """CUDA engine of :func:`._reference.shock_filter` (two buffers, swapped every step)."""
    k, dev = _compiled(), _Device(image)
    src = dev.put(image)
    if dev.gpu:
        src = src.copy()  # the buffers are written, the input never is
    dst = dev.empty(image.shape)
    for _ in range(iterations):
        k.shock[_grid(image.shape), BLOCK](dev.arg(src), float(dt), dev.arg(dst))
        src, dst = dst, src
    return dev.get(src)


def rmap(gx, gy, half):
    """CUDA engine of :func:`._reference.rmap`."""
    k, dev = _compiled(), _Device(gx)
    out = dev.empty(gx.shape)
    k.rmap[_grid(gx.shape), BLOCK](dev.arg(dev.put(gx)), dev.arg(dev.put(gy)), int(half), dev.arg(out))
    return dev.get(out)

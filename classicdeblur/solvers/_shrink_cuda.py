"""CUDA engine of the per-pixel shrinkage steps in :mod:`._shrink` (``@cuda.jit`` twins).

The callers :func:`hyper_laplacian`, :func:`l0`, :func:`soft` and
:func:`isotropic` have the signatures of the NumPy references in
:mod:`._shrink`. They launch one thread per pixel on CuPy arrays (through the
CUDA array interface, no copy), and accept NumPy arrays too: these are copied
to the device and back, or run directly in Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``), which is how the tests check the kernels on a
machine without a GPU.

``numba.cuda`` is imported at module level inside ``try``; the device
functions (the scalar code of :func:`._shrink_scalar.make_scalar_ops`) and
kernels are compiled lazily on first use and cached (Numba caches the machine
code per device context).
"""

from __future__ import annotations

import functools
import types

import numpy as np

from ..backend import get_namespace, is_cupy, kernel_arg
from ._shrink_scalar import make_scalar_ops

try:  # a broken CUDA install may raise anything, not only ImportError
    from numba import cuda
except Exception:  # pragma: no cover - depends on the machine
    cuda = None

__all__ = ["hyper_laplacian", "l0", "soft", "isotropic", "THREADS_PER_BLOCK"]

THREADS_PER_BLOCK = 256


@functools.cache
def _compiled():
    """Build the device functions and kernels once (they use the module-level ``cuda``)."""
    if cuda is None:
        raise RuntimeError("numba.cuda is not importable; install the 'gpu' extra or use engine='numpy'")
    ops = make_scalar_ops(cuda.jit(device=True))
    hl, soft_, iso_scale = ops.hl, ops.soft, ops.iso_scale

    @cuda.jit
    def hl_kernel(v, out, beta, alpha):
        i = cuda.grid(1)
        if i < v.size:
            out[i] = hl(v[i], beta, alpha)

    @cuda.jit
    def soft_kernel(v, out, t):
        i = cuda.grid(1)
        if i < v.size:
            out[i] = soft_(v[i], t)

    @cuda.jit
    def iso_kernel(h, v, oh, ov, t):
        i = cuda.grid(1)
        if i < h.size:
            s = iso_scale(h[i], v[i], t)
            oh[i] = s * float(h[i])
            ov[i] = s * float(v[i])

    @cuda.jit
    def l0_kernel(h, v, oh, ov, t):
        # one thread per pixel; the squared magnitude is summed over the channels
        i = cuda.grid(1)
        if i < h.shape[0]:
            e = 0.0
            for c in range(h.shape[1]):
                e += float(h[i, c]) * float(h[i, c]) + float(v[i, c]) * float(v[i, c])
            keep = e >= t
            for c in range(h.shape[1]):
                if keep:
                    oh[i, c] = h[i, c]
                    ov[i, c] = v[i, c]
                else:
                    oh[i, c] = 0.0
                    ov[i, c] = 0.0

    return types.SimpleNamespace(hl=hl_kernel, soft=soft_kernel, iso=iso_kernel, l0=l0_kernel)


def _blocks(n):
    return max(1, (n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)


class _Device:
    """Move inputs to the device and results back, keeping CuPy arrays where they are."""

    def __init__(self, like):
        self.gpu = is_cupy(like)
        if self.gpu:
            self.xp = get_namespace(like)

    def put(self, a, shape):
        if self.gpu:
            return self.xp.ascontiguousarray(a).reshape(shape)
        return cuda.to_device(np.ascontiguousarray(a).reshape(shape))

    def empty(self, shape, dtype):
        if self.gpu:
            return self.xp.empty(shape, dtype=dtype)
        return cuda.device_array(shape, dtype=dtype)

    def arg(self, d):
        """What the kernel takes: a device array through the CUDA array interface (no copy)."""
        return kernel_arg(d) if self.gpu else d

    def get(self, d, shape):
        if self.gpu:
            return d.reshape(shape)
        return d.copy_to_host().reshape(shape)


def _pixels_shape(a):
    """``(M * N, C)`` view of an ``(M, N[, C])`` array (any other shape: ``(size, 1)``)."""
    if a.ndim >= 2:
        m = int(a.shape[0]) * int(a.shape[1])
        return (m, int(a.size) // max(m, 1))
    return (int(a.size), 1)


def hyper_laplacian(v, beta, alpha):
    """CUDA engine of :func:`._shrink.shrink_hyper_laplacian`."""
    k, dev, n = _compiled(), _Device(v), int(v.size)
    dv, out = dev.put(v, (n,)), dev.empty((n,), v.dtype)
    k.hl[_blocks(n), THREADS_PER_BLOCK](dev.arg(dv), dev.arg(out), float(beta), float(alpha))
    return dev.get(out, v.shape)


def soft(v, threshold):
    """CUDA engine of :func:`._shrink.shrink_soft`."""
    k, dev, n = _compiled(), _Device(v), int(v.size)
    dv, out = dev.put(v, (n,)), dev.empty((n,), v.dtype)
    k.soft[_blocks(n), THREADS_PER_BLOCK](dev.arg(dv), dev.arg(out), float(threshold))
    return dev.get(out, v.shape)


def isotropic(h, v, threshold):
    """CUDA engine of :func:`._shrink.shrink_isotropic`."""
    k, dev, n = _compiled(), _Device(h), int(h.size)
    dh, dv = dev.put(h, (n,)), dev.put(v, (n,))
    oh, ov = dev.empty((n,), h.dtype), dev.empty((n,), v.dtype)
    k.iso[_blocks(n), THREADS_PER_BLOCK](*map(dev.arg, (dh, dv, oh, ov)), float(threshold))
    return dev.get(oh, h.shape), dev.get(ov, v.shape)


def l0(h, v, threshold):
    """CUDA engine of :func:`._shrink.shrink_l0`."""
    k, dev, shape = _compiled(), _Device(h), _pixels_shape(h)
    dh, dv = dev.put(h, shape), dev.put(v, shape)
    oh, ov = dev.empty(shape, h.dtype), dev.empty(shape, v.dtype)
    k.l0[_blocks(shape[0]), THREADS_PER_BLOCK](*map(dev.arg, (dh, dv, oh, ov)), float(threshold))
    return dev.get(oh, h.shape), dev.get(ov, v.shape)

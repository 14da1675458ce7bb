r"""The blur model as a function of the kernel: normal equations, closed forms, the data term.

Every k-step in this package minimises a weighted data term over filtered
image pairs (usually gradients, METHODS.md section 0),

.. math::  E(k) = \sum_i w_i \| k * x_i - y_i \|^2 + g(k),

on a kernel-sized unknown. :class:`KernelSystem` forms the normal equations
once per k-step: ``A^T A`` is a convolution with the weighted autocorrelation
``R`` of the ``x_i`` and ``A^T y`` is the cross-correlation ``C`` of ``x_i``
with ``y_i``, both computed by FFT on the zero-padded images (Krishnan et al.
2011 and Cho & Lee 2009 solve their kernel steps the same way). After that, a
conjugate-gradient iteration costs one FFT of size about ``3 x kernel``, not
of the image, so the k-step is cheap at any image size.

Regularisers: :meth:`KernelSystem.solve_l2` (``g = beta ||k||^2``, Cho & Lee
2009 Eq. 5), :meth:`KernelSystem.solve_l1` (``g = psi ||k||_1`` by IRLS with
CG, Krishnan et al. 2011 Sec. 3.2, Shan et al. 2008 Eq. 11), and
:func:`fourier_kernel` (``g = beta ||k||^2`` in Fourier without the
support constraint, Xu & Jia 2010 Eq. 6).

When the kernel is itself a combination of basis kernels (and the image of
basis images, Tian & Tao 2015), :class:`BatchedBlur` blurs whole stacks of
images by whole stacks of kernels with one FFT per stack.
"""

from __future__ import annotations

import scipy.fft

from .. import backend
from ..backend import get_namespace
from . import gradients as grad_ops
from .cg import conjugate_gradient
from .functional import psf2otf

__all__ = ["KernelSystem", "fourier_kernel", "GradientDataTerm", "BatchedBlur"]


def _weighted(pairs):
    """``(x, y, w)`` triples from pairs with an optional weight."""
    return [(p[0], p[1], float(p[2]) if len(p) > 2 else 1.0) for p in pairs]


def _window(corr, half):
    """Entries of a circular correlation at offsets ``-half..half`` on both axes."""
    xp = get_namespace(corr)
    rows = xp.arange(-half, half + 1) % corr.shape[0]
    cols = xp.arange(-half, half + 1) % corr.shape[1]
    return corr[rows[:, None], cols[None, :]]


class KernelSystem:
    r"""Normal equations of :math:`\min_k \sum_i w_i \|k * x_i - y_i\|^2` for an odd ``size`` kernel.

    Parameters
    ----------
    pairs : sequence of (x_i, y_i) or (x_i, y_i, w_i)
        Same-shape 2-D arrays: a filtered latent image and the same filter of
        the blurred image, with an optional weight (default 1).
    size : int
        Odd kernel size.

    Examples
    --------
    Recover a kernel from gradients of a random image with a black border
    (the zero-padded model is then exact):

    >>> import numpy as np
    >>> from classicdeblur.operators import convolve, gradients
    >>> rng = np.random.default_rng(0)
    >>> x = np.pad(rng.random((40, 40)), 6); k = rng.random((5, 5)); k /= k.sum()
    >>> y = convolve(x, k, boundary="circular")
    >>> S = KernelSystem([(gradients.dx(x), gradients.dx(y)), (gradients.dy(x), gradients.dy(y))], 5)
    >>> bool(np.abs(S.solve_l2(1e-8) - k).max() < 1e-3)
    True
    """

    def __init__(self, pairs, size):
        if size % 2 == 0:
            raise ValueError(f"kernel size must be odd; got {size}")
        first = pairs[0][0]
        xp = get_namespace(first)
        self.xp, self.size, self.dtype = xp, int(size), first.dtype
        h = self.size // 2
        M, N = first.shape
        # zero padding by a kernel size turns circular correlations into linear ones
        shape = (scipy.fft.next_fast_len(M + 2 * h + 1), scipy.fft.next_fast_len(N + 2 * h + 1))
        auto = cross = 0
        self.energy = 0.0
        for x, y, w in _weighted(pairs):
            X = backend.rfft2(x, s=shape)
            Y = backend.rfft2(y, s=shape)
            auto = auto + w * (X.real**2 + X.imag**2)
            cross = cross + w * X.conj() * Y
            self.energy += w * float((y * y).sum())
        R = backend.irfft2(auto, s=shape)  # R[d] = sum_q x[q] x[q + d]
        C = backend.irfft2(cross, s=shape)  # C[d] = sum_q x[q] y[q + d]
        # b[a] = C[a - h]; Rarr[m] = R[m - 2h]
        self.rhs = _window(C, h).astype(self.dtype, copy=False)
        r_arr = _window(R, 2 * h)
        # (A^T A k)[a] = sum_a' R[a - a'] k[a'] = (Rarr conv k)[a + 2h]: a small FFT convolution
        self._n = scipy.fft.next_fast_len(6 * h + 1)
        self._r_hat = backend.rfft2(r_arr, s=(self._n, self._n))
        self._h = h


    def normal(self, k):
        """``A^T A k`` (the data term's Hessian applied to ``k``, up to the factor 2)."""
        n, h, s = self._n, self._h, self.size
        full = backend.irfft2(self._r_hat * backend.rfft2(k, s=(n, n)), s=(n, n))
        return full[2 * h : 2 * h + s, 2 * h : 2 * h + s].astype(self.dtype, copy=False)

    def data_term(self, k):
        r""":math:`\sum_i w_i \|k * x_i - y_i\|^2` without forming any image."""
        xp = self.xp
        return float(xp.vdot(k.ravel(), self.normal(k).ravel()) - 2 * xp.vdot(k.ravel(), self.rhs.ravel())) + self.energy

    def solve_l2(self, beta, k0=None, *, maxiter=30, tol=1e-6):
        r"""Minimise :math:`E_{data}(k) + \beta \|k\|^2` by CG (Cho & Lee 2009 Eq. 5)."""
        k, _ = conjugate_gradient(lambda v: self.normal(v) + beta * v, self.rhs, k0, maxiter=maxiter, tol=tol)
        return k

    def solve_l1(self, psi, k0=None, *, outer=3, maxiter=20, eps=1e-4):
        r"""Minimise :math:`E_{data}(k) + \psi \|k\|_1` by iteratively reweighted least squares.

        Each outer iteration replaces :math:`|k_j|` by :math:`k_j^2 / \max(|k_j^{old}|, \epsilon)`
        and solves the weighted L2 problem by CG (Krishnan et al. 2011 Sec. 3.2).
        """
        xp = self.xp
        k = self.solve_l2(psi, k0, maxiter=maxiter) if k0 is None else k0
        for _ in range(outer):
            weight = psi / xp.maximum(xp.abs(k), eps)
            k, _ = conjugate_gradient(lambda v, w=weight: self.normal(v) + w * v, self.rhs, k, maxiter=maxiter, tol=1e-7)
        return k


def fourier_kernel(pairs, size, beta):
    r"""Kernel of :math:`\min_k \sum_i w_i\|k * x_i - y_i\|^2 + \beta\|k\|^2` in Fourier, cut to ``size``.

    The closed form :math:`\sum_i w_i \bar X_i Y_i / (\sum_i w_i |X_i|^2 + \beta)`
    of Xu & Jia 2010 Eq. 6 (circular boundary, no support constraint),
    cropped to the odd ``size`` window around the origin. Not projected: pass
    the result through :func:`~classicdeblur.blind.constraints.project_kernel`.

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.operators import convolve, gradients
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random((32, 32)); k = np.zeros((3, 3)); k[1] = 1 / 3
    >>> y = convolve(x, k, boundary="circular")
    >>> est = fourier_kernel([(gradients.dx(x), gradients.dx(y)), (gradients.dy(x), gradients.dy(y))], 3, 1e-6)
    >>> bool(np.allclose(est, k, atol=2e-3))  # gradients carry no DC: exact up to a constant
    True
    """
    shape = pairs[0][0].shape
    num = den = 0
    for x, y, w in _weighted(pairs):
        X = backend.rfft2(x)
        num = num + w * X.conj() * backend.rfft2(y)
        den = den + w * (X.real**2 + X.imag**2)
    full = backend.irfft2(num / (den + beta), s=shape)
    return _window(full, size // 2).astype(pairs[0][0].dtype, copy=False)


class GradientDataTerm:
    r"""The data term :math:`\|k * \nabla x - \nabla y\|^2` for a fixed ``y``, by Parseval.

    Circular boundary; two half-spectrum FFTs per call (the latent image and
    the kernel) instead of two convolutions and their inverses. The blind
    framework records it in every run's history.

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.operators import convolve
    >>> rng = np.random.default_rng(0)
    >>> x, k = rng.random((16, 16)), np.full((3, 3), 1 / 9)
    >>> term = GradientDataTerm(convolve(x, k, boundary="circular"))
    >>> term(x, k) < 1e-20, term(x, np.pad([[1.0]], 1)) > 1
    (True, True)
    """

    def __init__(self, y):
        xp = get_namespace(y)
        self.shape = y.shape
        fx, fy = grad_ops.gradient_otfs(y.shape, xp, y.dtype)
        lap = fx.real**2 + fx.imag**2 + fy.real**2 + fy.imag**2
        # rfft2 keeps half the columns: count the others twice (Parseval)
        n = y.shape[1]
        w = xp.full(n // 2 + 1, 2.0, dtype=y.dtype)
        w[0] = 1.0
        if n % 2 == 0:
            w[-1] = 1.0
        self.weight = lap * w / (y.shape[0] * n)
        self.spec_y = backend.rfft2(y)

    def __call__(self, x, k):
        r = psf2otf(k, self.shape) * backend.rfft2(x) - self.spec_y
        return float(((r.real**2 + r.imag**2) * self.weight).sum())


class BatchedBlur:
    r"""Zero-boundary blurs :math:`k_j * x_i` of stacks of images by stacks of kernels, by FFT on one grid.

    For methods whose unknowns are coefficients on bases (Tian & Tao 2015:
    a face :math:`x = m + \sum_i a_i U_i` and a kernel :math:`k = \sum_j c_j P_j`):
    the spectra of the basis images and basis kernels are taken once, a blur
    is a product of spectra (broadcast over the leading axes), and a linear
    combination of kernels is the same combination of their spectra.

    Parameters
    ----------
    shape : (int, int)
        Image shape ``(M, N)`` (the last two axes of every image stack).
    kernel_size : int
        Odd kernel side ``s``; centre at ``(s // 2, s // 2)``.

    Notes
    -----
    The FFT grid is ``(M + s, N + s)``, larger than the ``M + s - 1`` that a
    linear convolution needs, so the circular convolution on it is the linear
    convolution of the zero-padded image (a true convolution, not a
    correlation). :meth:`image` returns the ``(M, N)`` part aligned with the
    input (``"same"``), :meth:`valid` the part whose blur does not reach
    outside the image. Transforms are ``xp.fft.rfft2``/``irfft2`` over the last
    two axes of the input's array module (NumPy or CuPy), in its precision.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.signal import convolve2d
    >>> rng = np.random.default_rng(0)
    >>> x, k = rng.random((2, 12, 10)), rng.random((3, 5, 5))
    >>> op = BatchedBlur((12, 10), 5)
    >>> out = op(x[:, None], k[None])  # every image by every kernel: (2, 3, 12, 10)
    >>> out.shape, bool(np.allclose(out[1, 2], convolve2d(x[1], k[2], mode="same")))
    ((2, 3, 12, 10), True)
    >>> op.valid(out).shape
    (2, 3, 8, 6)
    """

    def __init__(self, shape, kernel_size):
        s = int(kernel_size)
        if s % 2 == 0 or s < 1:
            raise ValueError(f"kernel size must be odd and positive; got {kernel_size}")
        self.shape = (int(shape[0]), int(shape[1]))
        if s > min(self.shape):
            raise ValueError(f"kernel size {s} is larger than the image {self.shape}")
        self.kernel_size, self.half = s, s // 2
        self.grid = (self.shape[0] + s, self.shape[1] + s)

    def spectrum(self, images):
        """Half spectra of a stack of images (``(..., M, N)``) zero-padded to the grid."""
        return get_namespace(images).fft.rfft2(images, s=self.grid)

    def kernel_spectrum(self, kernels):
        """Half spectra (OTFs) of a stack of centred kernels (``(..., s, s)``) on the grid."""
        xp = get_namespace(kernels)
        s, h = self.kernel_size, self.half
        pad = xp.zeros(kernels.shape[:-2] + self.grid, dtype=kernels.dtype)
        pad[..., :s, :s] = kernels
        # the centre to the origin: output (r, c) = sum k[u, v] x[r - u + h, c - v + h]
        return xp.fft.rfft2(xp.roll(pad, (-h, -h), axis=(-2, -1)))

    def image(self, spectrum):
        """The ``(M, N)`` images (``"same"`` part) of a stack of spectra on the grid."""
        M, N = self.shape
        return get_namespace(spectrum).fft.irfft2(spectrum, s=self.grid)[..., :M, :N]

    def valid(self, images):
        """The part of ``(..., M, N)`` images whose blur stays inside the image (``h`` cut from each side)."""
        M, N = self.shape
        h = self.half
        return images[..., h : M - h, h : N - h]

    def __call__(self, images, kernels):
        """``kernels * images`` (``"same"`` part), broadcasting the leading axes of both stacks."""
        return self.image(self.spectrum(images) * self.kernel_spectrum(kernels))

"""Blur as linear operators in the image (x-step) and in the kernel (k-step), with any model boundary.

``BlurOperator(kernel)`` maps an image ``x`` to ``k * x``; ``KernelOperator(x)``
maps a kernel ``k`` to the same ``k * x``. Both share :mod:`.functional`, have
exact adjoints for every boundary mode, and a ``prox_l2`` that is closed form
in Fourier for circular boundaries and conjugate gradients otherwise.
``ZeroPaddedBlur(kernel, shape)`` is the blur of an image that is zero outside
its frame (MATLAB's ``conv2(x, k, 'same')``, the model of Krishnan et al.
2011's code), applied by FFT on a grid large enough for no wrap-around.
"""

from __future__ import annotations

import scipy.fft

from .. import backend
from ..backend import get_namespace
from .boundary import check_model_boundary
from .cg import conjugate_gradient
from .functional import _fft_conv_circular, convolve, pad_adjoint, psf2otf

__all__ = ["LinearOperator", "BlurOperator", "KernelOperator", "ZeroPaddedBlur"]


class LinearOperator:
    """Base class: ``forward``, ``adjoint``, ``normal`` and a CG ``prox_l2``."""

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def adjoint(self, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def A(self, x):
        """``A x`` (deepinv's name for :meth:`forward`)."""
        return self.forward(x)

    def A_adjoint(self, y):
        """``A^T y`` (deepinv's name for :meth:`adjoint`)."""
        return self.adjoint(y)

    def normal(self, x):
        """``A^T A x``."""
        return self.adjoint(self.forward(x))

    def prox_l2(self, z, y, gamma, *, maxiter=100, tol=1e-6):
        r"""Solve :math:`\arg\min_x \tfrac12\|Ax - y\|^2 + \tfrac{1}{2\gamma}\|x - z\|^2`.

        Conjugate gradients on :math:`(A^T A + I/\gamma) x = A^T y + z/\gamma`.
        """
        rhs = self.adjoint(y) + z / gamma
        x, _ = conjugate_gradient(lambda v: self.normal(v) + v / gamma, rhs, z, maxiter=maxiter, tol=tol)
        return x


class BlurOperator(LinearOperator):
    """``x -> k * x`` (true convolution) with a chosen boundary.

    Parameters
    ----------
    kernel : ndarray of shape (h, w)
        Odd-sized, centre at ``(h // 2, w // 2)``.
    boundary : {"symmetric", "replicate", "circular", "valid"}
    method : {"auto", "fft", "direct"}

    Notes
    -----
    The forward model pads ``x`` with the boundary rule and keeps the valid
    part of the convolution, so the adjoint is the full correlation followed by
    the adjoint of the padding (:func:`~.functional.pad_adjoint`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = BlurOperator(rng.random((5, 5)), boundary="symmetric")
    >>> x, y = rng.random((12, 12)), rng.random((12, 12))
    >>> bool(np.isclose((A(x) * y).sum(), (x * A.adjoint(y)).sum()))
    True
    """

    def __init__(self, kernel, *, boundary="symmetric", method="auto"):
        check_model_boundary(boundary)
        self.kernel = kernel
        self.boundary = boundary
        self.method = method
        self.half = (kernel.shape[0] // 2, kernel.shape[1] // 2)

    def _k(self, x):
        return backend.asarray_on(get_namespace(x), self.kernel).astype(x.dtype, copy=False)

    def forward(self, x):
        return convolve(x, self._k(x), boundary=self.boundary, method=self.method)

    def adjoint(self, y):
        k = self._k(y)
        if self.boundary == "circular":
            return _fft_conv_circular(y, k, flip=True)
        xp = get_namespace(y)
        hh, hw = self.half
        widths = [(hh, hh), (hw, hw)] + [(0, 0)] * (y.ndim - 2)
        # full correlation = circular correlation of the zero-padded residual
        full = _fft_conv_circular(xp.pad(y, widths), k, flip=True)
        if self.boundary == "valid":
            return full
        return pad_adjoint(full, self.half, self.boundary)

    def prox_l2(self, z, y, gamma, **kw):
        if self.boundary != "circular":
            return super().prox_l2(z, y, gamma, **kw)
        # closed form: (|K|^2 + 1/gamma) X = conj(K) Y + Z / gamma
        otf = psf2otf(self._k(z), z.shape)
        if z.ndim == 3:
            otf = otf[..., None]
        num = otf.conj() * backend.rfft2(y) + backend.rfft2(z) / gamma
        return backend.irfft2(num / (abs(otf) ** 2 + 1.0 / gamma), s=z.shape[:2]).astype(z.dtype, copy=False)


class KernelOperator(LinearOperator):
    """``k -> k * x`` for a fixed image (or stack of gradient images) ``x``.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        With channels (for example the x- and y-gradients), the output has the
        same channels and the adjoint sums over them.
    kernel_shape : tuple of int
        Odd ``(h, w)``.
    boundary : {"symmetric", "replicate", "circular", "valid"}

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, k = rng.random((16, 16)), rng.random((5, 5))
    >>> B = KernelOperator(x, (5, 5), boundary="replicate")
    >>> bool(np.allclose(B(k), BlurOperator(k, boundary="replicate")(x)))
    True
    >>> r = rng.random((16, 16))
    >>> bool(np.isclose((B(k) * r).sum(), (k * B.adjoint(r)).sum()))
    True
    """

    def __init__(self, image, kernel_shape, *, boundary="symmetric"):
        check_model_boundary(boundary)
        if kernel_shape[0] % 2 == 0 or kernel_shape[1] % 2 == 0:
            raise ValueError(f"kernel_shape must be odd; got {tuple(kernel_shape)}")
        self.image = image
        self.kernel_shape = tuple(kernel_shape)
        self.boundary = boundary
        hh, hw = kernel_shape[0] // 2, kernel_shape[1] // 2
        xp = get_namespace(image)
        if boundary in ("circular", "valid"):
            self._padded = image
        else:
            widths = [(hh, hh), (hw, hw)] + [(0, 0)] * (image.ndim - 2)
            self._padded = xp.pad(image, widths, mode={"symmetric": "symmetric", "replicate": "edge"}[boundary])
        self._spec = backend.rfft2(self._padded)

    def forward(self, k):
        return convolve(self.image, k.astype(self.image.dtype, copy=False), boundary=self.boundary, method="fft")

    def adjoint(self, r):
        xp = get_namespace(r)
        h, w = self.kernel_shape
        hh, hw = h // 2, w // 2
        P = self._padded.shape[:2]
        if self.boundary == "circular":
            rp = r
        else:  # r is the valid part of the convolution with the padded image
            rp = xp.zeros(P + tuple(r.shape[2:]), dtype=r.dtype)
            rp[: r.shape[0], : r.shape[1]] = r
        # c[m] = sum_i r[i] x_pad[i + m]  (cross-correlation, all channels summed)
        c = backend.irfft2(self._spec * backend.rfft2(rp).conj(), s=P)
        if c.ndim == 3:
            c = c.sum(axis=2)
        if self.boundary == "circular":
            rows = (hh - xp.arange(h)) % P[0]
            cols = (hw - xp.arange(w)) % P[1]
            return c[rows[:, None], cols[None, :]]
        # valid convolution: y[i] = sum_j k[j] x_pad[i + 2*half - j]  =>  g[j] = c[2*half - j]
        return c[:h, :w][::-1, ::-1]


class ZeroPaddedBlur(LinearOperator):
    r"""``x -> k * x`` for an image that is zero outside its frame, cropped to the frame ("same" size).

    MATLAB's ``conv2(x, k, 'same')``: the true convolution of the image
    extended by zeros, at the image's pixels. It is computed by FFT on a
    ``grid`` at least half a kernel larger than the image on each axis, so
    that the circular wrap-around only ever reads zeros; the adjoint is the
    correlation with ``k`` under the same rule.

    Parameters
    ----------
    kernel : ndarray of shape (h, w)
        Odd kernel, centre at ``(h // 2, w // 2)`` (NumPy or CuPy).
    shape : tuple of int
        ``(M, N)`` of the images it applies to; ``(M, N, C)`` arrays are
        blurred channel by channel.
    grid : (int, int), optional
        The FFT grid; default the fast FFT lengths of ``M + h // 2`` and
        ``N + w // 2``.

    Notes
    -----
    Zero extension is not one of the model boundaries of :mod:`.boundary`:
    it is the model of a method's reference code (Krishnan, Tay & Fergus
    2011 blur the image derivatives this way), kept for its results.

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.operators.functional import convolve
    >>> rng = np.random.default_rng(0)
    >>> k, x, r = rng.random((5, 5)), rng.random((12, 10)), rng.random((12, 10))
    >>> A = ZeroPaddedBlur(k, x.shape)
    >>> bool(np.allclose(A(x), convolve(np.pad(x, 2), k, boundary="valid")))
    True
    >>> bool(np.isclose((A(x) * r).sum(), (x * A.adjoint(r)).sum()))
    True
    """

    def __init__(self, kernel, shape, *, grid=None):
        self.kernel = kernel
        self.shape = (int(shape[0]), int(shape[1]))
        hh, hw = kernel.shape[0] // 2, kernel.shape[1] // 2
        if grid is None:
            grid = (scipy.fft.next_fast_len(self.shape[0] + hh), scipy.fft.next_fast_len(self.shape[1] + hw))
        self.grid = (int(grid[0]), int(grid[1]))
        if self.grid[0] < self.shape[0] + hh or self.grid[1] < self.shape[1] + hw:
            raise ValueError(f"grid {self.grid} is smaller than the image {self.shape} plus half the kernel "
                             f"({hh}, {hw}): the FFT would wrap around")
        self.otf = psf2otf(kernel, self.grid)

    def _apply(self, x, otf):
        if x.ndim == 3:
            otf = otf[..., None]
        m, n = self.shape
        return backend.irfft2(backend.rfft2(x, s=self.grid) * otf, s=self.grid)[:m, :n]

    def forward(self, x):
        return self._apply(x, self.otf)

    def adjoint(self, y):
        return self._apply(y, self.otf.conj())

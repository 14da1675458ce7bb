r"""The forward model on stacks of images: a leading batch axis, one kernel per image.

Batched blind deblurring (:mod:`classicdeblur.blind.batched`) runs the
alternation for ``B`` faces at once: images are ``(B, M, N)`` arrays, kernels
``(B, h, w)``, and every FFT is one batched transform over the last two axes.
This module is the batched twin of the single-image forward model:

* :func:`dx`, :func:`dy`, their adjoints and :func:`divergence` act on the
  last two axes (:mod:`.gradients` acts on the first two);
* :func:`psf2otf`, :func:`wrap_pad`, :func:`fourier_kernel`,
  :class:`PeriodicBlurStack` and :class:`KernelSystemStack` mirror
  :func:`.functional.psf2otf`, :func:`.functional.wrap_pad`,
  :func:`.kernel.fourier_kernel`, :class:`.periodic.PeriodicBlur` and
  :class:`.kernel.KernelSystem`;
* :func:`conjugate_gradient` solves ``B`` systems at once, each image stopping
  on its own criterion (a mask; the "all done" test, a host sync, every
  :data:`CHECK_EVERY` iterations);
* :func:`dot` and :func:`norm` are per-image inner products and norms.

Each function performs, for every image, the floating-point operations of
its single-image twin in the same order (batched FFTs, reductions over the
last axes of contiguous stacks, and stacked ``matmul`` dot products give the
single-image values bit for bit with NumPy/SciPy), so that a batch of faces
on the CPU gives what each face gives alone; ``tests/test_batch_deblur.py``
checks it. One NumPy subtlety matters: a complex product computed in place
in a temporary operand (NumPy's "temporary elision", only for arrays over
256 KiB, so a batch may take it where one image does not) rounds differently
from the out-of-place product, so the batched code holds such temporaries by
a name where the single-image code does not elide. On CuPy the same code
runs with batched cuFFT plans.

Examples
--------
>>> import numpy as np
>>> from classicdeblur.operators import gradients
>>> x = np.random.default_rng(0).random((3, 8, 9))
>>> bool(np.array_equal(dx(x)[1], gradients.dx(x[1])))
True
>>> k = np.full((3, 3, 3), 1 / 9)
>>> op = PeriodicBlurStack(x, k, "circular")
>>> op.A(x).shape
(3, 8, 9)
"""

from __future__ import annotations

import scipy.fft

from .. import backend
from ..backend import asarray_on, get_namespace
from . import gradients as grad_ops
from .functional import _blend_pad, _smooth_band
from .periodic import PeriodicBlur, fast_band

__all__ = [
    "rfft2",
    "irfft2",
    "dx",
    "dy",
    "dx_adjoint",
    "dy_adjoint",
    "divergence",
    "psf2otf",
    "wrap_pad",
    "window",
    "dot",
    "norm",
    "fourier_kernel",
    "conjugate_gradient",
    "PeriodicBlurStack",
    "KernelSystemStack",
    "check_kernels",
]

LAST = (-2, -1)

#: Iterative loops on stacks test whether every image has stopped (a device-to-host sync) only every
#: this many iterations; a stopped image keeps its iterate, so the results do not depend on it.
CHECK_EVERY = 8


def rfft2(x, s=None):
    """Real 2-D FFT of every image of a stack (the last two axes)."""
    return backend.rfft2(x, s=s, axes=LAST)


def irfft2(x, s):
    """Inverse of :func:`rfft2`; ``s`` is the real shape of one image."""
    return backend.irfft2(x, s=s, axes=LAST)


# ---- finite differences on the last two axes (as :mod:`.gradients` on the first two) ----


def dx(x):
    """``x[..., j+1] - x[..., j]`` (circular), as :func:`.gradients.dx` on each image."""
    return get_namespace(x).roll(x, -1, axis=-1) - x


def dy(x):
    """``x[..., i+1, :] - x[..., i, :]`` (circular), as :func:`.gradients.dy` on each image."""
    return get_namespace(x).roll(x, -1, axis=-2) - x


def dx_adjoint(g):
    """Adjoint of :func:`dx`."""
    return get_namespace(g).roll(g, 1, axis=-1) - g


def dy_adjoint(g):
    """Adjoint of :func:`dy`."""
    return get_namespace(g).roll(g, 1, axis=-2) - g


def divergence(gx, gy):
    """``dx_adjoint(gx) + dy_adjoint(gy)``, as :func:`.gradients.divergence`."""
    return dx_adjoint(gx) + dy_adjoint(gy)


# ---- small helpers --------------------------------------------------------------------


def psf2otf(kernels, shape):
    """Half-spectrum OTFs of centred kernels ``(B, h, w)`` on the grid ``shape`` (as :func:`.functional.psf2otf`)."""
    xp = get_namespace(kernels)
    h, w = kernels.shape[-2:]
    M, N = shape[:2]
    if h > M or w > N:
        raise ValueError(f"kernel {kernels.shape[-2:]} is larger than the image {tuple(shape[:2])}")
    big = xp.zeros(kernels.shape[:-2] + (M, N), dtype=kernels.dtype)
    big[..., :h, :w] = kernels
    big = xp.roll(big, (-(h // 2), -(w // 2)), axis=LAST)
    return rfft2(big)


def window(corr, half):
    """Entries of a stack of circular correlations at offsets ``-half..half`` (as ``kernel._window``)."""
    xp = get_namespace(corr)
    rows = xp.arange(-half, half + 1) % corr.shape[-2]
    cols = xp.arange(-half, half + 1) % corr.shape[-1]
    return corr[..., rows[:, None], cols[None, :]]


def dot(a, b):
    """Per-image inner products ``<a_i, b_i>`` of two ``(B, ...)`` stacks: a ``(B,)`` array.

    A stacked ``matmul`` of the flattened images: with NumPy each product is
    the BLAS dot that ``numpy.vdot`` computes for one image, bit for bit.
    """
    xp = get_namespace(a)
    n = a.shape[0]
    return xp.matmul(a.reshape(n, 1, -1), b.reshape(n, -1, 1))[:, 0, 0]


def norm(a):
    """Per-image Frobenius norms (as ``numpy.linalg.norm`` of each image)."""
    return get_namespace(a).sqrt(dot(a, a))


def _column(v, ndim):
    """A ``(B,)`` vector shaped to broadcast against ``(B, ...)`` arrays of ``ndim`` dimensions."""
    return v.reshape((-1,) + (1,) * (ndim - 1))


def check_kernels(kernels):
    """Every kernel of a ``(B, h, w)`` stack checked and normalised to sum 1.

    As :func:`~classicdeblur._validation.check_kernel` does for one kernel.

    Raises
    ------
    InvalidKernelError
        Even sizes, non-finite or negative entries, or a kernel summing to 0.
    """
    from .._validation import supported_float_type
    from ..errors import InvalidKernelError

    xp = get_namespace(kernels)
    k = xp.asarray(kernels)
    if k.ndim != 3 or k.shape[1] % 2 == 0 or k.shape[2] % 2 == 0:
        raise InvalidKernelError(f"kernels must be a (B, h, w) stack of odd-sized kernels; got shape {tuple(k.shape)}")
    k = k.astype(supported_float_type(k.dtype) if k.dtype.kind == "f" else xp.float64)
    if not bool(xp.isfinite(k).all()) or bool((k < 0).any()):
        raise InvalidKernelError("kernels must be finite and non-negative")
    total = k.sum(axis=(1, 2))
    if not bool((total > 0).all()):
        raise InvalidKernelError("a kernel of the stack is all zero; a blur kernel must have a positive sum")
    return k / _column(total, 3)


# ---- Liu & Jia's periodic extension, image by image ------------------------------------


def wrap_pad(images, pad_width, *, iterations=30):
    """Liu & Jia's smooth periodic extension of every image of a ``(B, M, N)`` stack.

    As :func:`.functional.wrap_pad` image by image: the conjugate-gradient
    refinement of the band stops for each image when its own residual is
    below the tolerance (its later iterates are discarded).

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.operators.functional import wrap_pad as one
    >>> x = np.random.default_rng(0).random((2, 12, 10))
    >>> bool(np.array_equal(wrap_pad(x, (3, 4))[1], one(x[1], (3, 4))))
    True
    """
    xp = get_namespace(images)
    ph, pw = pad_width
    _, M, N = images.shape
    if xp.__name__ == "numpy":
        # on the CPU one image at a time is faster (its arrays stay in cache) and gives the same result
        from .functional import wrap_pad as one

        return xp.stack([one(image, pad_width, iterations=iterations) for image in images])
    z = _blend_pad(images, ph, pw, first=1)
    if ph == 0 and pw == 0:
        return z
    return _smooth_band(z, ph, pw, iterations, check_every=CHECK_EVERY)


# ---- the closed-form x-step on a stack --------------------------------------------------


class PeriodicBlurStack(PeriodicBlur):
    r""":class:`~.periodic.PeriodicBlur` for a stack of images ``(B, M, N)``, each with its own kernel.

    The extended stack ``y`` is ``(B, M', N')``; spectra are ``(B, M', N'//2+1)``
    (the difference operators' OTFs, the same for every image, broadcast).
    :meth:`solve`, :attr:`data_spectrum`, :attr:`kernel_power` and the rest
    are those of the parent class, applied per image by broadcasting.

    Parameters
    ----------
    images : ndarray of shape (B, M, N)
    kernels : ndarray of shape (B, h, w)
        One odd kernel per image.
    boundary : {"smooth", "circular"}
        ``"edgetaper"`` is not available on stacks.
    widths : (int, int), optional
        As for :class:`~.periodic.PeriodicBlur`.
    """

    def __init__(self, images, kernels, boundary="smooth", *, widths=None):
        if boundary not in ("smooth", "circular"):
            raise ValueError(f"boundary {boundary!r} is not available on stacks; choose from: smooth, circular")
        if images.ndim != 3 or kernels.ndim != 3 or kernels.shape[0] != images.shape[0]:
            raise ValueError(f"expected images (B, M, N) and kernels (B, h, w); got {images.shape} and "
                             f"{kernels.shape}")
        xp = get_namespace(images)
        self.xp = xp
        self.dtype = images.dtype
        self.kernel = asarray_on(xp, check_kernels(kernels)).astype(self.dtype)
        kh, kw = self.kernel.shape[1:]
        if boundary == "smooth":
            self.widths = widths or (fast_band(images.shape[1], kh), fast_band(images.shape[2], kw))
            y = wrap_pad(images, self.widths)
        else:
            self.widths = (0, 0)
            y = images
        self.y = y.astype(self.dtype, copy=False)
        self.shape = self.y.shape[1:]
        self._cache = {}
        self._set_kernel(self.kernel)

    def _set_kernel(self, kernel):
        self.otf = psf2otf(kernel, self.shape)

    def spectrum(self, a):
        return rfft2(a)

    def real(self, spec):
        return irfft2(spec, s=self.shape).astype(self.dtype, copy=False)

    def extend(self, a):
        ph, pw = self.widths
        return self.xp.pad(a, [(0, 0), (ph, ph), (pw, pw)])

    def crop(self, x):
        ph, pw = self.widths
        return x[:, ph : x.shape[1] - ph, pw : x.shape[2] - pw]

    def gradient_otfs(self):
        return self._cached("gradient_otfs", lambda: grad_ops.gradient_otfs(self.shape, self.xp, self.dtype))

    def divergence_spectrum(self, wx, wy):
        return self.spectrum(divergence(wx, wy))

    def take(self, index):
        """The problem of the images ``index`` (an index array or slice of the batch)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.y, new.kernel, new.otf = self.y[index], self.kernel[index], self.otf[index]
        new._cache = {k: (v if k in ("gradient_otfs", "laplacian") else v[index]) for k, v in self._cache.items()}
        return new

    def __repr__(self):
        return (f"PeriodicBlurStack(batch={self.y.shape[0]}, shape={self.shape}, "
                f"kernel={tuple(self.kernel.shape[1:])}, widths={self.widths})")


# ---- the k-step on a stack ------------------------------------------------------------


def _weighted(pairs):
    return [(p[0], p[1], float(p[2]) if len(p) > 2 else 1.0) for p in pairs]


def fourier_kernel(pairs, size, beta, *, spectra=None):
    r""":func:`.kernel.fourier_kernel` for stacks: every ``x_i``, ``y_i`` is ``(B, M, N)``; returns ``(B, size, size)``.

    ``spectra``: the spectra :func:`rfft2` of the ``y_i``, when the caller
    keeps them (the blurred image's are the same at every iteration of a level).
    """
    shape = pairs[0][0].shape[-2:]
    num = den = 0
    for i, (x, y, w) in enumerate(_weighted(pairs)):
        X = rfft2(x)
        num = num + w * X.conj() * (rfft2(y) if spectra is None else spectra[i])
        den = den + w * (X.real**2 + X.imag**2)
    full = irfft2(num / (den + beta), s=shape)
    return window(full, size // 2).astype(pairs[0][0].dtype, copy=False)


class KernelSystemStack:
    r""":class:`.kernel.KernelSystem` for stacks: the normal equations of ``B`` kernels at once.

    ``pairs`` hold ``(B, M, N)`` arrays; :meth:`normal` maps ``(B, s, s)``
    kernels to ``(B, s, s)``; :attr:`rhs` is ``(B, s, s)``. ``spectra``
    optionally holds the zero-padded spectra of the ``y_i`` (see
    :meth:`spectra_of`), when they do not change between systems.
    """

    @staticmethod
    def grid(shape, size):
        """The zero-padded FFT grid of images of ``shape`` for kernels of ``size``."""
        h = int(size) // 2
        return (scipy.fft.next_fast_len(shape[0] + 2 * h + 1), scipy.fft.next_fast_len(shape[1] + 2 * h + 1))

    @classmethod
    def spectra_of(cls, images, size):
        """The spectra of ``images`` (the ``y_i``) on the grid of :meth:`grid`, to pass as ``spectra``."""
        grid = cls.grid(images[0].shape[-2:], size)
        return [rfft2(y, s=grid) for y in images]

    def __init__(self, pairs, size, *, spectra=None):
        if size % 2 == 0:
            raise ValueError(f"kernel size must be odd; got {size}")
        first = pairs[0][0]
        self.xp, self.size, self.dtype = get_namespace(first), int(size), first.dtype
        h = self.size // 2
        M, N = first.shape[-2:]
        shape = (scipy.fft.next_fast_len(M + 2 * h + 1), scipy.fft.next_fast_len(N + 2 * h + 1))
        auto = cross = 0
        for i, (x, y, w) in enumerate(_weighted(pairs)):
            X = rfft2(x, s=shape)
            Y = rfft2(y, s=shape) if spectra is None else spectra[i]
            auto = auto + w * (X.real**2 + X.imag**2)
            cross = cross + w * X.conj() * Y
        R = irfft2(auto, s=shape)
        C = irfft2(cross, s=shape)
        self.rhs = window(C, h).astype(self.dtype, copy=False)
        r_arr = window(R, 2 * h)
        self._n = scipy.fft.next_fast_len(6 * h + 1)
        self._r_hat = rfft2(r_arr, s=(self._n, self._n))
        self._h = h

    def normal(self, k):
        """``A^T A k`` for every image."""
        n, h, s = self._n, self._h, self.size
        # the spectrum is held by a name: NumPy would otherwise compute the product in place in it ("temporary
        # elision", for arrays over 256 KiB: a batch is, one kernel is not), and its in-place complex multiply
        # rounds differently from the out-of-place one the single-image code uses
        spec = rfft2(k, s=(n, n))
        full = irfft2(self._r_hat * spec, s=(n, n))
        return full[..., 2 * h : 2 * h + s, 2 * h : 2 * h + s].astype(self.dtype, copy=False)

    def solve_l2(self, beta, k0, *, maxiter=30, tol=1e-6):
        r"""As :meth:`.kernel.KernelSystem.solve_l2`, image by image."""
        k, _ = conjugate_gradient(lambda v: self.normal(v) + beta * v, self.rhs, k0, maxiter=maxiter, tol=tol)
        return k


def conjugate_gradient(apply_a, b, x0, *, maxiter=50, tol=1e-6):
    """:func:`.cg.conjugate_gradient` for ``B`` independent systems (leading axis), each stopping on its own.

    An image whose residual is small enough (or whose curvature ``p^T A p`` is
    not positive) keeps its iterate from then on, as the single-image solver
    returns it when it stops; the loop ends when every image has stopped.

    Returns
    -------
    x : ndarray
        The solutions, shaped like ``b``.
    iterations : ndarray of int
        Iterations used by each image.

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.operators.cg import conjugate_gradient as one
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> b = np.array([[1.0, 2.0], [0.5, -1.0]])
    >>> x, it = conjugate_gradient(lambda v: v @ A, b, np.zeros_like(b))
    >>> bool(np.array_equal(x[1], one(lambda v: A @ v, b[1], np.zeros(2))[0]))
    True
    """
    xp = get_namespace(b)
    nd = b.ndim
    x = x0.copy()
    r = b - apply_a(x)
    p = r.copy()
    rs = dot(r, r).real
    stop = tol**2 * xp.maximum(dot(b, b).real, 1e-300)
    active = xp.ones(b.shape[0], dtype=bool)
    used = xp.zeros(b.shape[0], dtype=xp.int64)
    for it in range(maxiter):
        active = active & ~(rs <= stop)
        if it % CHECK_EVERY == 0 and not bool(active.any()):  # a host sync: not at every iteration
            break
        ap = apply_a(p)
        pap = dot(p, ap).real
        active = active & ~(pap <= 0)
        alpha = _column(rs / xp.where(active, pap, 1), nd)
        keep = _column(active, nd)
        x = xp.where(keep, x + alpha * p, x)
        r = xp.where(keep, r - alpha * ap, r)
        used = used + active
        rs_new = dot(r, r).real
        p = xp.where(keep, r + _column(rs_new / xp.where(rs > 0, rs, 1), nd) * p, p)
        rs = xp.where(active, rs_new, rs)
    return x, used

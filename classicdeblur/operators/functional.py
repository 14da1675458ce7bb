"""Pure array functions: padding, true convolution (direct and FFT), OTFs, boundary tools.

All functions take NumPy or CuPy arrays and return the same kind. Images are
``(M, N)`` or ``(M, N, C)``; kernels are odd-sized ``(h, w)`` with their centre
at ``(h // 2, w // 2)``.

.. note::
   :func:`convolve` is a *true* convolution, ``y[i] = sum_j k[j] x[i - j]``,
   not a correlation: a kernel with a single off-centre 1 at ``(c + 1, c)``
   moves the image *down* by one row.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..backend import get_namespace, get_ndimage
from .boundary import MODEL_BOUNDARIES, check_model_boundary

__all__ = [
    "BOUNDARIES",
    "pad",
    "pad_adjoint",
    "crop",
    "psf2otf",
    "convolve",
    "correlate",
    "edgetaper",
    "wrap_pad",
]

#: Boundary modes of the blur model (:mod:`.boundary` documents them).
BOUNDARIES = MODEL_BOUNDARIES

_NP_PAD = {"symmetric": "symmetric", "replicate": "edge", "circular": "wrap"}
_NDI_MODE = {"symmetric": "reflect", "replicate": "nearest", "circular": "wrap"}


def _half(kernel_shape):
    return kernel_shape[0] // 2, kernel_shape[1] // 2


def pad(image, pad_width, mode="symmetric"):
    """Pad the first two axes of ``image`` by ``(ph, pw)`` on each side.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    pad_width : tuple of int
        ``(ph, pw)``.
    mode : {"symmetric", "replicate", "circular"}

    Examples
    --------
    >>> import numpy as np
    >>> pad(np.array([[1, 2, 3]]), (0, 2), "symmetric")
    array([[2, 1, 1, 2, 3, 3, 2]])
    """
    check_model_boundary(mode, tuple(_NP_PAD))
    xp = get_namespace(image)
    ph, pw = pad_width
    widths = [(ph, ph), (pw, pw)] + [(0, 0)] * (image.ndim - 2)
    return xp.pad(image, widths, mode=_NP_PAD[mode])


def pad_adjoint(padded, pad_width, mode="symmetric"):
    """Adjoint of :func:`pad`: fold the padded border back onto the pixels it copies.

    Examples
    --------
    >>> import numpy as np
    >>> x, y = np.random.default_rng(0).random((2, 4, 5)), np.random.default_rng(1).random((8, 9))
    >>> bool(np.isclose((pad(x[0], (2, 2)) * y).sum(), (x[0] * pad_adjoint(y, (2, 2))).sum()))
    True
    """
    check_model_boundary(mode, tuple(_NP_PAD))
    xp = get_namespace(padded)
    ph, pw = pad_width
    M, N = padded.shape[0] - 2 * ph, padded.shape[1] - 2 * pw
    # scatter-add through the index map of the padding: exact for every mode
    idx = pad(xp.arange(M * N).reshape(M, N), (ph, pw), mode).ravel()
    flat = padded.reshape(idx.size, -1)
    out = xp.empty((M * N, flat.shape[1]), dtype=padded.dtype)
    for c in range(flat.shape[1]):
        out[:, c] = xp.bincount(idx, weights=flat[:, c], minlength=M * N)
    return out.reshape((M, N) + tuple(padded.shape[2:]))


def crop(image, pad_width):
    """Remove ``(ph, pw)`` pixels from each side of the first two axes."""
    ph, pw = pad_width
    return image[ph : image.shape[0] - ph, pw : image.shape[1] - pw]


def psf2otf(kernel, shape, *, real=True):
    """Optical transfer function of ``kernel`` for circular convolution on ``shape``.

    The kernel is zero-padded to ``shape`` and circularly shifted so that its
    centre ``(h // 2, w // 2)`` sits at the origin, then Fourier transformed.

    Parameters
    ----------
    kernel : ndarray of shape (h, w)
    shape : tuple of int
        Image shape ``(M, N)``.
    real : bool
        Return the half spectrum of ``rfft2`` (default) or the full ``fft2``.

    Examples
    --------
    >>> import numpy as np
    >>> otf = psf2otf(np.array([[0, 0, 0], [0, 1.0, 0], [0, 0, 0]]), (4, 4))
    >>> bool(np.allclose(otf, 1))
    True
    """
    xp = get_namespace(kernel)
    h, w = kernel.shape
    M, N = shape[:2]
    if h > M or w > N:
        raise ValueError(f"kernel {kernel.shape} is larger than the image {tuple(shape[:2])}")
    big = xp.zeros((M, N), dtype=kernel.dtype)
    big[:h, :w] = kernel
    big = xp.roll(big, (-(h // 2), -(w // 2)), axis=(0, 1))
    return backend.rfft2(big) if real else backend.fft2(big)


def _fft_conv_circular(image, kernel, flip=False):
    otf = psf2otf(kernel, image.shape)
    if flip:
        otf = otf.conj()
    if image.ndim == 3:
        otf = otf[..., None]
    out = backend.irfft2(backend.rfft2(image) * otf, s=image.shape[:2])
    return out.astype(image.dtype, copy=False)


def _direct(image, kernel, mode, flip):
    ndi = get_ndimage(get_namespace(image))
    k = kernel[::-1, ::-1] if flip else kernel
    k = k.astype(image.dtype, copy=False)
    if image.ndim == 3:
        k = k[..., None]
    # scipy.ndimage.convolve is a true convolution centred at h//2 for odd kernels
    return ndi.convolve(image, k, mode=_NDI_MODE.get(mode, "constant"))


def _conv(image, kernel, mode, method, flip):
    check_model_boundary(mode)
    if method not in ("auto", "fft", "direct"):
        raise ValueError(f"unknown method {method!r}; choose from: auto, fft, direct")
    hh, hw = _half(kernel.shape)
    if method == "auto":
        method = "direct" if kernel.size <= 25 else "fft"
    if mode == "valid":
        if method == "fft":
            full = _fft_conv_circular(image, kernel, flip)
        else:
            full = _direct(image, kernel, "symmetric", flip)
        return crop(full, (hh, hw))
    if method == "direct":
        return _direct(image, kernel, mode, flip)
    if mode == "circular":
        return _fft_conv_circular(image, kernel, flip)
    return crop(_fft_conv_circular(pad(image, (hh, hw), mode), kernel, flip), (hh, hw))


def convolve(image, kernel, *, boundary="symmetric", method="auto"):
    """True 2-D convolution ``k * x`` of each channel of ``image``.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    kernel : ndarray of shape (h, w)
        Odd-sized, centre at ``(h // 2, w // 2)``.
    boundary : {"symmetric", "replicate", "circular", "valid"}
        How the image is extended beyond its border. ``"valid"`` returns the
        ``(M - h + 1, N - w + 1)`` part that needs no extension.
    method : {"auto", "fft", "direct"}
        ``"direct"`` sums in the image domain, ``"fft"`` multiplies spectra;
        both give the same result to rounding. ``"auto"`` picks direct for
        kernels of at most 25 taps.

    Returns
    -------
    ndarray
        Same type, dtype and (except for ``"valid"``) shape as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((5, 5)); x[2, 2] = 1
    >>> k = np.zeros((3, 3)); k[2, 1] = 1   # one row below the centre
    >>> int(np.argmax(convolve(x, k)))      # moves the dot down: (3, 2)
    17
    >>> bool(np.allclose(convolve(x, k, method="fft"), convolve(x, k, method="direct")))
    True
    """
    return _conv(image, kernel, boundary, method, flip=False)


def correlate(image, kernel, *, boundary="symmetric", method="auto"):
    """Correlation with ``kernel``: convolution with the kernel flipped in both axes.

    With ``boundary="circular"`` this is the exact adjoint of :func:`convolve`.
    """
    return _conv(image, kernel, boundary, method, flip=True)


def edgetaper(image, kernel):
    """Blend the image borders with a blurred copy to reduce ringing of FFT deconvolution.

    Like MATLAB's ``edgetaper``: the weight ``alpha`` is one minus the
    normalised autocorrelation of the kernel's projections, so pixels within a
    kernel width of the border become the circularly blurred image, which is
    periodic.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((16, 16)); k = np.ones((3, 3)) / 9
    >>> t = edgetaper(x, k)
    >>> t.shape == x.shape and bool(np.allclose(t[8, 8], x[8, 8]))
    True
    """
    xp = get_namespace(image)
    weights = []
    for axis, n in ((1, image.shape[0]), (0, image.shape[1])):
        proj = kernel.sum(axis=axis)
        auto = xp.correlate(proj, proj, mode="full") if xp is np else xp.convolve(proj, proj[::-1])
        auto = auto / auto.max()
        w = xp.zeros(n, dtype=image.dtype)
        L = auto.size // 2
        # circular placement: 1 at the border, 0 once a kernel width away
        w[: L + 1] = auto[L:]
        w[n - L :] += auto[:L]
        weights.append(1.0 - xp.clip(w, 0, 1))
    alpha = weights[0][:, None] * weights[1][None, :]
    if image.ndim == 3:
        alpha = alpha[..., None]
    blurred = _fft_conv_circular(image, kernel)
    return alpha * image + (1 - alpha) * blurred


def wrap_pad(image, pad_width, *, iterations=30):
    """Extend ``image`` into a smooth *periodic* image, after Liu & Jia (2008).

    The ``(ph, pw)`` border band added on each side is filled so that the
    circularly extended image has minimum gradient energy (a discrete Laplace
    problem with the image as boundary condition), so FFT-based deconvolution
    of the padded image shows no wrap-around ringing; crop with :func:`crop`.

    The band is initialised by a cosine blend between the two opposite edges
    and refined by conjugate gradients on ``||grad z||^2`` restricted to the band.

    References
    ----------
    .. [1] R. Liu and J. Jia, "Reducing boundary artifacts in image
       deconvolution", ICIP 2008.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 64).reshape(8, 8)
    >>> z = wrap_pad(x, (4, 4))
    >>> z.shape, bool(np.allclose(crop(z, (4, 4)), x))
    ((16, 16), True)
    >>> bool(abs(z[0, 5] - z[-1, 5]) < 0.1)   # periodic: top and bottom rows meet
    True
    """
    xp = get_namespace(image)
    if image.ndim == 3:  # channels are independent problems; each solved on its contiguous plane (4x faster)
        return xp.stack([wrap_pad(image[..., c], pad_width, iterations=iterations) for c in range(image.shape[2])],
                        axis=-1)
    ph, pw = pad_width
    M, N = image.shape[:2]
    z = _blend_pad(image, ph, pw)
    if ph == 0 and pw == 0:
        return z
    return _smooth_band(z[None], ph, pw, iterations)[0]


def _smooth_band(z, ph, pw, iterations, check_every=1):
    """Liu & Jia's band of every padded image of ``z`` ``(B, H, W)``: CG on ``||D z||^2``, the interior fixed.

    Rolled by ``(-(ph + M), -(pw + N))``, the band is rows ``[0, 2ph)`` (all columns)
    and columns ``[0, 2pw)`` of the other rows: CG runs on those two strips only, a
    fraction of the padded image. Each image stops when its own residual is below
    the tolerance (its later iterates are discarded); the stop is checked every
    ``check_every`` iterations (each check synchronises a GPU).
    """
    xp = get_namespace(z)
    H, W = z.shape[-2:]
    M, N, a, b = H - 2 * ph, W - 2 * pw, 2 * ph, 2 * pw
    zr = xp.roll(z, (-(ph + M), -(pw + N)), axis=(-2, -1))
    inner = zr[..., a:, b:]  # the images themselves
    ring = (inner[..., -1, :], inner[..., 0, :], inner[..., :, -1], inner[..., :, 0])  # next to the band
    none = tuple(xp.zeros_like(v) for v in ring)

    def row(first, rest):
        return xp.concatenate([first, rest], axis=-1)[..., None, :]

    def lap(ua, ub, ring):
        """The circular 5-point negative Laplacian (D^T D) at the band, from the strips and the ``ring`` around them."""
        above, below, left, right = ring
        rows = xp.concatenate([row(ub[..., -1, :], above), ua, row(ub[..., 0, :], below)], axis=-2)
        la = 4 * ua - (rows[..., :-2, :] + rows[..., 2:, :] + xp.roll(ua, 1, -1) + xp.roll(ua, -1, -1))
        up = ua[..., -1:, :b] if a else ub[..., -1:, :]  # the row above the vertical strip's first (circularly)
        down = ua[..., :1, :b] if a else ub[..., :1, :]
        cols = xp.concatenate([left[..., None], ub, right[..., None]], axis=-1)
        lb = 4 * ub - (xp.concatenate([up, ub[..., :-1, :]], axis=-2) + xp.concatenate([ub[..., 1:, :], down], axis=-2)
                       + cols[..., :-2] + cols[..., 2:])
        return la, lb

    def dot(u, v):
        return (u[0] * v[0]).sum(axis=(-2, -1), keepdims=True) + (u[1] * v[1]).sum(axis=(-2, -1), keepdims=True)

    u = (zr[..., :a, :].copy(), zr[..., a:, :b].copy())
    r = tuple(-v for v in lap(*u, ring))
    p = r
    rs = dot(r, r)
    active = xp.ones(rs.shape, dtype=bool)
    for it in range(iterations):
        Ap = lap(*p, none)
        denom = dot(p, Ap)
        alpha = rs / xp.where(denom > 0, denom, 1)
        step = tuple(ui + alpha * pi for ui, pi in zip(u, p))
        u = tuple(xp.where(active, si, ui) for si, ui in zip(step, u)) if len(z) > 1 else step  # one image stops
        r = tuple(ri - alpha * ai for ri, ai in zip(r, Ap))
        rs_new = dot(r, r)
        active = active & ~(rs_new < 1e-12)
        if it % check_every == check_every - 1 and not bool(active.any()):
            break
        p = tuple(ri + (rs_new / xp.where(rs > 0, rs, 1)) * pi for ri, pi in zip(r, p))
        rs = rs_new
    zr[..., :a, :], zr[..., a:, :b] = u
    return xp.roll(zr, (ph + M, pw + N), axis=(-2, -1))


def _blend_pad(image, ph, pw, *, first=0):
    """Symmetric padding blended towards the opposite edge with a cosine ramp.

    The image's rows and columns are axes ``first`` and ``first + 1`` (1 for a
    ``(B, M, N)`` stack, :mod:`~classicdeblur.operators.stack`).
    """
    xp = get_namespace(image)
    z = image
    for axis, p in ((first, ph), (first + 1, pw)):
        if p == 0:
            continue
        n = z.shape[axis]
        if p > n:
            raise ValueError(f"padding {p} exceeds the image size {n} along axis {axis - first}")
        widths = [(0, 0)] * z.ndim
        widths[axis] = (p, p)
        sym = xp.pad(z, widths, mode="symmetric")
        wrp = xp.pad(z, widths, mode="wrap")
        t = xp.linspace(0.0, 1.0, 2 * p + 2, dtype=z.dtype)[1:-1]
        ramp = 0.5 * (1 + xp.cos(np.pi * t))  # 1 next to the near edge, 0 next to the far one
        w = xp.ones(sym.shape[axis], dtype=z.dtype)
        w[sym.shape[axis] - p :] = ramp[:p]  # after the last row/column
        w[:p] = ramp[p:][::-1]               # before the first
        shape = [1] * z.ndim
        shape[axis] = -1
        w = w.reshape(shape)
        z = w * sym + (1 - w) * wrp
    return z

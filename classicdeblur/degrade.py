"""Synthetic degradation ``y = Q(clip(k * x + n))``, exactly as the evaluation protocol specifies.

The protocol (``EVALUATION.md``, "Synthetic blur"):

1. ``k * x``: true convolution with the kernel normalised to sum 1,
   symmetric boundary, same-size output;
2. additive Gaussian noise of standard deviation 0.01 (or Poisson noise);
3. clip to [0, 1] and quantise to 8 bits, ``round(255 y) / 255``, as a stored PNG would be;
4. one seed per (image, kernel) pair, derived from the pair's names by
   :func:`pair_seed`, so that any subset of a benchmark reproduces.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ._validation import check_image_kernel
from .backend import asarray_on, get_namespace, to_numpy
from .operators.functional import convolve

__all__ = ["NOISES", "degrade", "pair_seed", "quantize8"]

#: Noise models understood by :func:`degrade` (``None`` for none).
NOISES = ("gaussian", "poisson", None)


def pair_seed(image_name: str, kernel_name: str) -> int:
    """A stable 63-bit seed for one (image, kernel) pair, from the sha256 of their names.

    The same names give the same seed on every machine and Python version
    (unlike ``hash()``), so each pair of a benchmark can be regenerated alone.

    Examples
    --------
    >>> pair_seed("ffhq/00001.png", "levin:3") == pair_seed("ffhq/00001.png", "levin:3")
    True
    >>> pair_seed("a", "levin:1") != pair_seed("a", "levin:2")
    True
    >>> pair_seed("a", "b")
    3231676703916841193
    """
    digest = hashlib.sha256(f"{image_name}\x00{kernel_name}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def quantize8(image):
    """Round values in [0, 1] to the 8-bit grid ``k / 255`` (``round`` is half-to-even).

    Examples
    --------
    >>> import numpy as np
    >>> quantize8(np.array([0.0, 0.5, 1.0])) * 255
    array([  0., 128., 255.])
    """
    xp = get_namespace(image)
    return xp.round(image * 255.0) / 255.0


def degrade(image, kernel, *, noise="gaussian", sigma=0.01, peak=255.0, quantize=True,
            boundary="symmetric", rng=None):
    """Blur, add noise, clip and quantise an image, as the benchmark protocol specifies.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Sharp image, floats in [0, 1] (integers are scaled to [0, 1]). Each
        channel is blurred with the same kernel and gets independent noise.
    kernel : ndarray of shape (h, w)
        Odd-sized blur kernel; it is normalised to sum 1.
    noise : {"gaussian", "poisson", None}
        ``"gaussian"`` adds ``N(0, sigma^2)``; ``"poisson"`` draws
        ``Poisson(peak * y) / peak``; ``None`` adds nothing.
    sigma : float
        Standard deviation of the Gaussian noise (default 0.01, the protocol's).
    peak : float
        Photon count of a white pixel for Poisson noise.
    quantize : bool
        Round to the 8-bit grid after clipping (default, the protocol's).
    boundary : {"symmetric", "replicate", "circular"}
        Image extension for the convolution (default symmetric, the protocol's).
    rng : int, numpy.random.Generator or None
        Noise seed; use :func:`pair_seed` for benchmark pairs.

    Returns
    -------
    ndarray
        Same shape as ``image``, values in [0, 1]; multiples of 1/255 when
        ``quantize``. Float64 unless the input is float32 (or float16).

    Raises
    ------
    InvalidImageError, InvalidKernelError
        Bad image or kernel, or an image smaller than the kernel.
    ValueError
        Unknown noise model or boundary, negative ``sigma``, non-positive ``peak``.

    Notes
    -----
    .. math:: y = Q\\big(\\mathrm{clip}_{[0,1]}(k * x + n)\\big),\\qquad
              Q(v) = \\mathrm{round}(255 v) / 255

    ``*`` is a true convolution (see
    :func:`~classicdeblur.operators.functional.convolve`) with the kernel centre at
    ``(h // 2, w // 2)``. Noise is drawn on the CPU with NumPy's generator, so
    NumPy and CuPy inputs give the same result for the same seed.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.full((16, 16), 0.5)
    >>> y = degrade(x, np.ones((3, 3)), rng=0)
    >>> y.shape, bool(np.allclose(y * 255, np.round(y * 255)))
    ((16, 16), True)
    >>> bool(np.array_equal(y, degrade(x, np.ones((3, 3)), rng=0)))
    True
    >>> float(degrade(x, np.ones((3, 3)), noise=None)[0, 0]) == round(0.5 * 255) / 255
    True
    """
    if noise not in NOISES:
        raise ValueError(f"unknown noise {noise!r}; choose from: gaussian, poisson, None")
    if boundary == "valid":
        raise ValueError("boundary 'valid' changes the image size; use symmetric, replicate or circular")
    image, kernel = check_image_kernel(image, kernel)
    xp = get_namespace(image)
    kernel = asarray_on(xp, kernel)
    y = convolve(image, kernel.astype(image.dtype, copy=False), boundary=boundary)  # k * x
    rng = np.random.default_rng(rng)
    if noise == "gaussian":
        if not sigma >= 0:
            raise ValueError(f"sigma must be >= 0; got {sigma}")
        n = rng.standard_normal(tuple(y.shape)) * float(sigma)
        y = y + asarray_on(xp, n).astype(y.dtype, copy=False)
    elif noise == "poisson":
        if not peak > 0:
            raise ValueError(f"peak must be > 0; got {peak}")
        lam = np.clip(to_numpy(y).astype(np.float64), 0, None) * float(peak)
        y = asarray_on(xp, rng.poisson(lam) / float(peak)).astype(y.dtype, copy=False)
    y = xp.clip(y, 0.0, 1.0)
    if quantize:
        y = quantize8(y)
    return y

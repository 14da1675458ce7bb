"""Colour conversions for "estimate on luminance, recombine" workflows.

All functions take float images in [0, 1] (NumPy or CuPy) with the channel
last, and use the full-range ITU-R BT.601 (JPEG/JFIF) transform:

.. math::

    Y = 0.299 R + 0.587 G + 0.114 B, \\quad
    C_b = \\frac{B - Y}{1.772} + \\tfrac12, \\quad
    C_r = \\frac{R - Y}{1.402} + \\tfrac12.

Y, Cb and Cr all lie in [0, 1] for RGB in [0, 1], and :func:`ycbcr_to_rgb` is
the exact inverse of :func:`rgb_to_ycbcr` (up to rounding).

Examples
--------
>>> import numpy as np
>>> rgb = np.random.default_rng(0).random((4, 5, 3))
>>> bool(np.allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb))
True
"""

from __future__ import annotations

import numpy as np

from .backend import get_namespace
from .errors import InvalidImageError

__all__ = ["rgb_to_ycbcr", "ycbcr_to_rgb", "to_luminance", "LUMA_WEIGHTS"]

#: BT.601 luma weights of R, G and B.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

_KR, _KG, _KB = LUMA_WEIGHTS
_RGB2YCC = np.array(
    [
        [_KR, _KG, _KB],
        [-_KR / (2 * (1 - _KB)), -_KG / (2 * (1 - _KB)), 0.5],
        [0.5, -_KG / (2 * (1 - _KR)), -_KB / (2 * (1 - _KR))],
    ]
)
_YCC2RGB = np.linalg.inv(_RGB2YCC)
_OFFSET = np.array([0.0, 0.5, 0.5])


def _check_rgb(image, name):
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImageError(f"{name} must have shape (M, N, 3); got shape {tuple(image.shape)}")


def _float(image, xp):
    image = xp.asarray(image)
    if image.dtype.kind != "f":
        from ._validation import as_float_image

        image = as_float_image(image)
    return image


def rgb_to_ycbcr(image):
    """Convert an RGB image to full-range BT.601 YCbCr.

    Parameters
    ----------
    image : ndarray of shape (M, N, 3)
        RGB floats in [0, 1] (integer arrays are converted with ``as_float_image``).

    Returns
    -------
    ndarray of shape (M, N, 3)
        Y, Cb, Cr in [0, 1], same float dtype and array type as the input.

    Raises
    ------
    InvalidImageError
        If the image is not ``(M, N, 3)``.

    Examples
    --------
    >>> import numpy as np
    >>> rgb_to_ycbcr(np.ones((1, 1, 3))).round(6).tolist()
    [[[1.0, 0.5, 0.5]]]
    """
    xp = get_namespace(image)
    image = _float(image, xp)
    _check_rgb(image, "image")
    m = xp.asarray(_RGB2YCC.T, dtype=image.dtype)
    return image @ m + xp.asarray(_OFFSET, dtype=image.dtype)


def ycbcr_to_rgb(image, *, clip=True):
    """Inverse of :func:`rgb_to_ycbcr`.

    Parameters
    ----------
    image : ndarray of shape (M, N, 3)
        Y, Cb, Cr floats.
    clip : bool
        Clip the result to [0, 1] (default), as processing the Y channel can
        push colours slightly out of gamut.

    Returns
    -------
    ndarray of shape (M, N, 3)

    Examples
    --------
    >>> import numpy as np
    >>> ycbcr_to_rgb(np.array([[[0.5, 0.5, 0.5]]])).round(12).tolist()
    [[[0.5, 0.5, 0.5]]]
    """
    xp = get_namespace(image)
    image = _float(image, xp)
    _check_rgb(image, "image")
    m = xp.asarray(_YCC2RGB.T, dtype=image.dtype)
    out = (image - xp.asarray(_OFFSET, dtype=image.dtype)) @ m
    return xp.clip(out, 0, 1) if clip else out


def to_luminance(image):
    """Luminance Y (BT.601) of a colour image; gray images are returned unchanged.

    Parameters
    ----------
    image : ndarray of shape (M, N), (M, N, 1) or (M, N, 3)

    Returns
    -------
    ndarray of shape (M, N)
        Floats for colour input; a gray input is returned as is (an ``(M, N, 1)``
        input is squeezed), so integer data keeps its scale.

    Raises
    ------
    InvalidImageError
        For any other shape (drop an alpha channel first).

    Examples
    --------
    >>> import numpy as np
    >>> float(to_luminance(np.array([[[1.0, 0.0, 0.0]]]))[0, 0])
    0.299
    >>> to_luminance(np.zeros((2, 2))).shape
    (2, 2)
    """
    xp = get_namespace(image)
    image = xp.asarray(image)
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        if image.dtype.kind != "f":
            image = image.astype(np.float64)
        w = xp.asarray(LUMA_WEIGHTS, dtype=image.dtype)
        return image @ w
    raise InvalidImageError(
        f"expected a gray (M, N) or RGB (M, N, 3) image; got shape {tuple(image.shape)}"
    )

"""Argument checks shared by every public entry point.

Conventions (validated here, relied on everywhere else):

* images are float arrays in [0, 1] of shape ``(M, N)`` or ``(M, N, C)``;
* blur kernels are 2-D, finite, non-negative, odd-sized, not all zero, and are
  normalised to sum 1 with their centre at ``(h // 2, w // 2)``.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .backend import get_namespace
from .errors import ImageTooLargeError, InvalidImageError, InvalidKernelError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "max_pixels",
    "supported_float_type",
    "as_float_image",
    "check_image",
    "check_kernel",
    "check_image_kernel",
]

#: Default limit on the number of pixels of one image (override with the
#: ``CLASSICDEBLUR_MAX_PIXELS`` environment variable or ``max_pixels=``).
DEFAULT_MAX_PIXELS = 64_000_000


def max_pixels(value: int | None = None) -> int:
    """The pixel limit in force: ``value``, else ``$CLASSICDEBLUR_MAX_PIXELS``, else the default."""
    if value is not None:
        return int(value)
    env = os.environ.get("CLASSICDEBLUR_MAX_PIXELS")
    return int(env) if env else DEFAULT_MAX_PIXELS


def supported_float_type(dtype):
    """Working precision for ``dtype``: float16 -> float32, float32 kept, else float64.

    Examples
    --------
    >>> import numpy as np
    >>> supported_float_type(np.uint8), supported_float_type(np.float32)
    (dtype('float64'), dtype('float32'))
    """
    dtype = np.dtype(dtype)
    if dtype == np.float16 or dtype == np.float32:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_float_image(image):
    """Convert an integer, boolean or float array to floats in [0, 1].

    Unsigned integers are divided by their type's maximum (``uint8`` by 255,
    ``uint16`` by 65535); floats are kept (float16 promoted to float32).

    Examples
    --------
    >>> import numpy as np
    >>> as_float_image(np.array([0, 255], np.uint8))
    array([0., 1.])
    >>> as_float_image(np.array([65535], np.uint16))
    array([1.])
    """
    xp = get_namespace(image)
    image = xp.asarray(image)
    dt = image.dtype
    if dt == bool:
        return image.astype(np.float64)
    if dt.kind == "u":
        return image.astype(np.float64) / float(np.iinfo(dt).max)
    if dt.kind == "i":
        info = np.iinfo(dt)
        return (image.astype(np.float64) - info.min) / float(info.max - info.min)
    if dt.kind == "f":
        return image.astype(supported_float_type(dt), copy=False)
    raise InvalidImageError(f"unsupported image dtype {dt}; use an integer or float array")


def check_image(image, *, name="image", limit=None, channel_axis=None):
    """Validate an image array and return it as floats (no copy when already valid).

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    name : str
        Used in messages.
    limit : int, optional
        Maximum number of pixels ``M * N`` (see :func:`max_pixels`).
    channel_axis : {None, -1}
        ``-1`` requires a channel axis; ``None`` accepts 2-D or 3-D.

    Raises
    ------
    InvalidImageError
        Wrong number of dimensions, empty, non-finite values, or more than 4 channels.
    ImageTooLargeError
        More pixels than the limit.

    Examples
    --------
    >>> import numpy as np
    >>> check_image(np.full((2, 2), np.nan))
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidImageError: image contains NaN or Inf values; clean the data first
    """
    xp = get_namespace(image)
    image = xp.asarray(image)
    if image.ndim not in (2, 3) or (channel_axis == -1 and image.ndim != 3):
        raise InvalidImageError(
            f"{name} must have shape (M, N) or (M, N, C); got shape {tuple(image.shape)}"
        )
    if image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4):
        raise InvalidImageError(
            f"{name} has {image.shape[2]} channels (shape {tuple(image.shape)}); expected 1 to 4 "
            "channels last"
        )
    if image.size == 0:
        raise InvalidImageError(f"{name} is empty (shape {tuple(image.shape)})")
    npix = int(image.shape[0]) * int(image.shape[1])
    lim = max_pixels(limit)
    if npix > lim:
        raise ImageTooLargeError(
            f"{name} has {npix} pixels ({image.shape[1]}x{image.shape[0]}), over the limit of "
            f"{lim}; raise it with --max-pixels or CLASSICDEBLUR_MAX_PIXELS"
        )
    image = as_float_image(image)
    if not bool(xp.isfinite(image).all()):
        raise InvalidImageError(f"{name} contains NaN or Inf values; clean the data first")
    return image


def check_kernel(kernel, *, normalize=True, max_size=None):
    """Validate a blur kernel and return it as a float array summing to 1.

    Parameters
    ----------
    kernel : array_like of shape (h, w)
        ``h`` and ``w`` must be odd; the centre is ``(h // 2, w // 2)``.
    normalize : bool
        Divide by the sum (default). With False the sum must already be 1.
    max_size : int, optional
        Largest allowed side.

    Raises
    ------
    InvalidKernelError
        Not 2-D, even side, negative, non-finite, all-zero or too large.

    Examples
    --------
    >>> import numpy as np
    >>> check_kernel(np.ones((3, 3))).sum()
    np.float64(1.0)
    >>> check_kernel(np.ones((2, 3)))
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidKernelError: kernel must have odd height and width (centre at (h//2, w//2)); got shape (2, 3)
    """
    xp = get_namespace(kernel)
    k = xp.asarray(kernel)
    if k.dtype.kind not in "uif":
        raise InvalidKernelError(f"kernel must be numeric; got dtype {k.dtype}")
    if k.ndim != 2:
        raise InvalidKernelError(f"kernel must be 2-D; got shape {tuple(k.shape)}")
    if k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        raise InvalidKernelError(
            "kernel must have odd height and width (centre at (h//2, w//2)); "
            f"got shape {tuple(k.shape)}"
        )
    if max_size is not None and max(k.shape) > max_size:
        raise InvalidKernelError(f"kernel of shape {tuple(k.shape)} exceeds the maximum side {max_size}")
    k = k.astype(supported_float_type(k.dtype) if k.dtype.kind == "f" else np.float64)
    if not bool(xp.isfinite(k).all()):
        raise InvalidKernelError("kernel contains NaN or Inf values")
    if bool((k < 0).any()):
        raise InvalidKernelError(f"kernel has negative entries (min {float(k.min()):.3g}); blur kernels are non-negative")
    s = float(k.sum())
    if s <= 0:
        raise InvalidKernelError("kernel is all zero; a blur kernel must have a positive sum")
    if normalize:
        return k / s
    if abs(s - 1.0) > 1e-4:
        raise InvalidKernelError(f"kernel sums to {s:.6g}, not 1")
    return k


def check_image_kernel(image, kernel, **kw):
    """Validate both and check that the image is at least as large as the kernel."""
    image = check_image(image, **kw)
    kernel = check_kernel(kernel)
    if image.shape[0] < kernel.shape[0] or image.shape[1] < kernel.shape[1]:
        raise InvalidImageError(
            f"image of size {image.shape[1]}x{image.shape[0]} is smaller than the kernel "
            f"({kernel.shape[1]}x{kernel.shape[0]})"
        )
    return image, kernel


def check_positive(name, value):
    """``value`` as a positive finite float, or a ValueError naming the parameter.

    Examples
    --------
    >>> check_positive("lam", 2)
    2.0
    >>> check_positive("lam", 0)
    Traceback (most recent call last):
    ...
    ValueError: lam must be a positive finite number; got 0.0
    """
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number; got {value}")
    return value


def check_count(name, value, minimum=0):
    """``value`` as an int ``>= minimum`` (bools refused), or a ValueError naming the parameter.

    Examples
    --------
    >>> check_count("iterations", 3.0, 1)
    3
    >>> check_count("iterations", True, 1)
    Traceback (most recent call last):
    ...
    ValueError: iterations must be an integer >= 1; got True
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)

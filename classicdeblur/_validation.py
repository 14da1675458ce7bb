"""Argument checks shared by every public entry point.

Conventions (validated here, relied on everywhere else):

* images are float arrays in [0, 1] of shape ``(M, N)`` or ``(M, N, C)``;
  ``uint8``/``uint16`` (and bool) arrays are divided by their type's maximum;
  other integer types (signed, 32 and 64 bits) are refused, having no agreed
  image range; floats further than 0.5 outside [0, 1] (0..255 or -1..1 data)
  are refused rather than shown as a white or grey picture;
* blur kernels are 2-D, finite, non-negative, odd-sized, not all zero, and are
  normalised to sum 1 with their centre at ``(h // 2, w // 2)``.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os

import numpy as np

from .backend import get_namespace
from .errors import ImageTooLargeError, InvalidImageError, InvalidKernelError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "MIN_BLIND_SIDE",
    "FLOAT_RANGE_SLACK",
    "max_pixels",
    "pixel_limit",
    "check_blind_shape",
    "supported_float_type",
    "as_float_image",
    "check_image",
    "check_kernel",
    "check_image_kernel",
]

#: Default limit on the number of pixels of one image (override with the
#: ``CLASSICDEBLUR_MAX_PIXELS`` environment variable, :func:`pixel_limit`,
#: ``max_pixels=`` or the CLI's ``--max-pixels``).
DEFAULT_MAX_PIXELS = 64_000_000

#: Environment variable holding the pixel limit (e.g. ``5e8``).
MAX_PIXELS_ENV = "CLASSICDEBLUR_MAX_PIXELS"

#: Smallest image side a blind method accepts: four times the smallest kernel
#: it estimates (3x3), the ratio of the default kernel-size rule.
MIN_BLIND_SIDE = 12

#: Floats may stray this far outside [0, 1] (noise, ringing) and are kept as
#: they are; further out the array is refused as being in another convention.
FLOAT_RANGE_SLACK = 0.5

_LIMIT = contextvars.ContextVar("classicdeblur_max_pixels", default=None)


def _as_pixel_count(value, source):
    """``value`` (int, float or text such as ``"5e8"``) as a positive int, or a ValueError naming ``source``."""
    try:
        number = float(value) if isinstance(value, str) else value
        if isinstance(number, bool) or not (number >= 1) or not math.isfinite(number) or number != int(number):
            raise ValueError
        return int(number)
    except (TypeError, ValueError):
        raise ValueError(f"{source} must be a positive whole number of pixels (e.g. 5e8); got {value!r}") from None


def max_pixels(value: int | None = None) -> int:
    """The pixel limit in force.

    In order: ``value``; the limit set by :func:`pixel_limit` (the CLI's
    ``--max-pixels``); ``$CLASSICDEBLUR_MAX_PIXELS``; :data:`DEFAULT_MAX_PIXELS`.

    Examples
    --------
    >>> max_pixels(1000), max_pixels("5e8")
    (1000, 500000000)
    >>> with pixel_limit(99):
    ...     max_pixels()
    99
    """
    if value is not None:
        return _as_pixel_count(value, "max_pixels")
    scoped = _LIMIT.get()
    if scoped is not None:
        return scoped
    env = os.environ.get(MAX_PIXELS_ENV, "").strip()
    return _as_pixel_count(env, MAX_PIXELS_ENV) if env else DEFAULT_MAX_PIXELS


@contextlib.contextmanager
def pixel_limit(value):
    """Make ``value`` the pixel limit of every check inside the ``with`` block (``None``: unchanged).

    The CLI wraps a whole run in it, so that reading the file and every later
    check (the solvers') apply the same ``--max-pixels``.
    """
    token = _LIMIT.set(None if value is None else _as_pixel_count(value, "--max-pixels"))
    try:
        yield
    finally:
        _LIMIT.reset(token)


def check_blind_shape(shape, kernel_size=None, *, name="image"):
    """Refuse an image too small for blind kernel estimation.

    The side must be at least :data:`MIN_BLIND_SIDE` and at least ``kernel_size``.

    Examples
    --------
    >>> check_blind_shape((5, 5))
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidImageError: image is 5x5 pixels; blind methods need at least 12x12 (four times the smallest kernel, 3x3) to estimate a kernel
    """
    m, n = int(shape[0]), int(shape[1])
    if min(m, n) < MIN_BLIND_SIDE:
        raise InvalidImageError(
            f"{name} is {n}x{m} pixels; blind methods need at least {MIN_BLIND_SIDE}x{MIN_BLIND_SIDE} "
            "(four times the smallest kernel, 3x3) to estimate a kernel"
        )
    if kernel_size is not None and int(kernel_size) > min(m, n):
        raise InvalidKernelError(f"kernel_size {kernel_size} is larger than the {name} ({n}x{m})")


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


def as_float_image(image, *, name="image"):
    """Convert a ``uint8``, ``uint16``, boolean or float array to floats in [0, 1].

    ``uint8`` is divided by 255 and ``uint16`` by 65535; floats are kept
    (float16 promoted to float32). Other integer types have no agreed image
    range and are refused, as is a ``uint16`` array whose values all fit in 8
    bits (8-bit data in a 16-bit type, which would come out nearly black).

    Raises
    ------
    InvalidImageError
        Signed, 32- or 64-bit integers, 8-bit data in ``uint16``, or a
        non-numeric dtype. The message says how to convert.

    Examples
    --------
    >>> import numpy as np
    >>> as_float_image(np.array([0, 255], np.uint8))
    array([0., 1.])
    >>> as_float_image(np.array([65535], np.uint16))
    array([1.])
    >>> as_float_image(np.array([0, 1000]))
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidImageError: image has dtype int64, which has no agreed image range (values 0..1000); pass floats in [0, 1] (e.g. image / 1000) or uint8/uint16
    """
    xp = get_namespace(image)
    image = xp.asarray(image)
    dt = image.dtype
    if dt == bool:
        return image.astype(np.float64)
    if dt.kind in "ui":
        lo, hi = (int(v) for v in (image.min(), image.max())) if image.size else (0, 0)
        if dt not in (np.uint8, np.uint16):
            raise InvalidImageError(
                f"{name} has dtype {dt}, which has no agreed image range (values {lo}..{hi}); "
                f"pass floats in [0, 1] (e.g. image / {max(hi, 1)}) or uint8/uint16"
            )
        if dt == np.uint16 and 0 < hi <= 255:
            raise InvalidImageError(
                f"{name} is uint16 but its values ({lo}..{hi}) fit in 8 bits, so it would come out "
                "nearly black; pass image.astype(np.uint8) for 8-bit data, or floats in [0, 1]"
            )
        return image.astype(np.float64) / float(np.iinfo(dt).max)
    if dt.kind == "f":
        return image.astype(supported_float_type(dt), copy=False)
    raise InvalidImageError(f"unsupported {name} dtype {dt}; use uint8, uint16 or float arrays")


def _check_float_range(image, name, xp):
    """Refuse floats far outside [0, 1] (0..255 or -1..1 data); small excursions are kept."""
    lo, hi = float(xp.min(image)), float(xp.max(image))
    if lo >= -FLOAT_RANGE_SLACK and hi <= 1 + FLOAT_RANGE_SLACK:
        return
    if lo >= -FLOAT_RANGE_SLACK and hi <= 255 + FLOAT_RANGE_SLACK:
        hint = "divide 8-bit data by 255"
    elif lo >= -FLOAT_RANGE_SLACK:
        hint = "divide 16-bit data by 65535, other data by its maximum"
    elif lo >= -1 - FLOAT_RANGE_SLACK and hi <= 1 + FLOAT_RANGE_SLACK:
        hint = "use (image + 1) / 2 for data in [-1, 1]"
    else:
        hint = "rescale it, e.g. (image - image.min()) / (image.max() - image.min())"
    raise InvalidImageError(
        f"{name} holds float values in [{lo:.4g}, {hi:.4g}]; images are floats in [0, 1]: {hint}"
    )


def check_image(image, *, name="image", limit=None, channel_axis=None, check_range=True):
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
    check_range : bool
        Refuse floats more than :data:`FLOAT_RANGE_SLACK` outside [0, 1]
        (default). False accepts any finite floats (for writers that clip).

    Raises
    ------
    InvalidImageError
        Wrong number of dimensions, empty, non-finite values, more than 4
        channels, an integer type without an agreed range (see
        :func:`as_float_image`), or floats more than :data:`FLOAT_RANGE_SLACK`
        outside [0, 1].
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
    image = as_float_image(image, name=name)
    if not bool(xp.isfinite(image).all()):
        raise InvalidImageError(f"{name} contains NaN or Inf values; clean the data first")
    if check_range:
        _check_float_range(image, name, xp)
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

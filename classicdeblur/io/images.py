"""Decode image files into float arrays in [0, 1]: :class:`ImageData` and :func:`read_image`.

Decoding goes through Pillow, with tifffile for TIFF and OpenCV for the 16-bit
colour PNG and PPM files that Pillow reduces to 8 bits. The pixel limit is
checked from the header, before decoding, and the EXIF orientation is applied.
"""

from __future__ import annotations

import io as _io
import os
import re
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from .. import _validation
from ..errors import (
    ClassicDeblurError,
    ImageReadError,
    ImageTooLargeError,
    InvalidImageError,
    UnsupportedFormatError,
)
from .formats import IMAGE_EXTENSIONS, _ext

__all__ = ["ImageData", "read_image"]

_PIL_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "BMP": "bmp", "DIB": "bmp", "PPM": "pnm"}
_SUPPORTED = "PNG, JPEG, TIFF, PGM/PPM and BMP"
_PIL_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class ImageData:
    """An image read from disk.

    Attributes
    ----------
    image : ndarray of shape (M, N) or (M, N, 3)
        float64 in [0, 1]; RGB channel order; alpha removed.
    alpha : ndarray of shape (M, N) or None
        float64 in [0, 1] when the file has an alpha channel.
    bit_depth : int
        8 or 16: the precision to write results back with (16 for files with
        more than 8 bits per sample, float TIFFs included).
    format : str
        ``"png"``, ``"jpeg"``, ``"tiff"``, ``"pnm"`` or ``"bmp"``.
    path : str
    """

    image: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    format: str
    path: str



def _read_bytes(path):
    """Bytes of ``path`` or a one-line ImageReadError (missing, directory, empty, unreadable)."""
    if not os.path.exists(path):
        raise ImageReadError(f"cannot read '{path}': no such file")
    if os.path.isdir(path):
        raise ImageReadError(f"cannot read '{path}': it is a directory, not a file")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise ImageReadError(f"cannot read '{path}': {e.strerror or e}") from e
    if not data:
        raise ImageReadError(f"cannot read '{path}': the file is empty (0 bytes)")
    return data


def _check_pixels(path, width, height, limit):
    npix = int(width) * int(height)
    if npix > limit:
        raise ImageTooLargeError(
            f"'{path}' has {npix} pixels ({width}x{height}), over the limit of {limit}; "
            f"raise it with --max-pixels or {_validation.MAX_PIXELS_ENV}"
        )


def _orient(arr, orientation):
    """Apply an EXIF orientation (1-8) to the first two axes, as ``ImageOps.exif_transpose``."""
    o = int(orientation or 1)
    axes = (1, 0) + tuple(range(2, arr.ndim))
    if o == 2:
        return arr[:, ::-1]
    if o == 3:
        return arr[::-1, ::-1]
    if o == 4:
        return arr[::-1]
    if o == 5:
        return arr.transpose(axes)
    if o == 6:
        return np.rot90(arr, -1)
    if o == 7:
        return arr.transpose(axes)[::-1, ::-1]
    if o == 8:
        return np.rot90(arr, 1)
    return arr


def _pil_open(data, limit):
    """Open (header only) with Pillow's own decompression-bomb check off.

    Our limit, checked from the header right after opening, is the one in
    force, so that every too-large image gets the same message naming
    ``--max-pixels`` and ``CLASSICDEBLUR_MAX_PIXELS``, whatever Pillow's limit.
    """
    from PIL import Image

    fp = _io.BytesIO(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with _PIL_LOCK:
            old, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                return Image.open(fp)
            finally:
                Image.MAX_IMAGE_PIXELS = old


def _pnm_maxval(data):
    head = re.sub(rb"#[^\n]*", b" ", data[:4096]).split()
    if len(head) >= 4 and head[0] in (b"P2", b"P3", b"P5", b"P6"):
        try:
            return int(head[3])
        except ValueError:
            return 255
    return 1 if head and head[0] in (b"P1", b"P4") else 255


def _cv2_decode(data, path):
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageReadError(f"cannot decode '{path}': the file is corrupt or truncated")
    return arr


def _decode_pil(data, path, limit):
    """(pixels, scale, has_alpha, format, bits): uint/float pixels; the image is ``pixels / scale``."""
    from PIL import Image, UnidentifiedImageError

    try:
        im = _pil_open(data, limit)
    except UnidentifiedImageError as e:
        if _ext(path) in IMAGE_EXTENSIONS:
            raise ImageReadError(
                f"cannot decode '{path}': the data is corrupt or not a PNG, JPEG, TIFF, PGM/PPM or BMP image"
            ) from e
        raise UnsupportedFormatError(
            f"cannot read '{path}': not a recognised image; classicdeblur reads {_SUPPORTED}"
        ) from e
    except Image.DecompressionBombError as e:
        raise ImageTooLargeError(f"'{path}' is too large to decode: {e}") from e
    fmt = _PIL_FORMATS.get(im.format)
    if fmt is None:
        raise UnsupportedFormatError(
            f"'{path}' is a {im.format} image; classicdeblur reads {_SUPPORTED}"
        )
    _check_pixels(path, im.width, im.height, limit)
    im.load()  # decodes everything: truncation and corruption surface here
    orientation = im.getexif().get(0x0112, 1)

    mode = im.mode
    # Pillow reduces 16-bit colour PNG and PPM to 8 bits: decode those with OpenCV.
    if fmt == "png" and data[24:25] == b"\x10" and data[25:26] in (b"\x02", b"\x04", b"\x06"):
        arr = _cv2_decode(data, path)
        ctype = data[25]
        if ctype == 4:  # gray + alpha comes back as BGRA with B == G == R
            arr = np.stack([arr[..., 0], arr[..., 3]], axis=-1)
        elif ctype == 2:
            arr = arr[..., ::-1]
        else:
            arr = arr[..., [2, 1, 0, 3]]
        return _orient(arr, orientation), 65535.0, ctype != 2, fmt, 16
    if fmt == "pnm" and mode == "RGB" and _pnm_maxval(data) > 255:
        arr = _cv2_decode(data, path)[..., ::-1]
        return arr, float(_pnm_maxval(data)), False, fmt, 16

    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        arr, scale, bits = np.asarray(im).astype(np.uint16), 65535.0, 16
    elif mode == "I":  # 16-bit PGM (scaled to 65535 by Pillow)
        arr, scale, bits = np.asarray(im), 65535.0, 16
    elif mode == "F":
        arr, scale, bits = np.asarray(im), 1.0, 16
    elif mode in ("1", "L"):
        arr, scale, bits = np.asarray(im.convert("L")), 255.0, 8
    elif mode in ("LA", "La"):
        arr, scale, bits = np.asarray(im.convert("LA")), 255.0, 8
    elif mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in im.info):
        arr, scale, bits = np.asarray(im.convert("RGBA")), 255.0, 8
    else:  # RGB, P, CMYK, YCbCr, LAB, HSV
        arr, scale, bits = np.asarray(im.convert("RGB")), 255.0, 8
    has_alpha = arr.ndim == 3 and arr.shape[2] in (2, 4)
    return _orient(arr, orientation), scale, has_alpha, fmt, bits


def _decode_tiff(data, path, limit):
    import tifffile

    with tifffile.TiffFile(_io.BytesIO(data)) as tif:
        if not tif.pages:
            raise ImageReadError(f"cannot decode '{path}': the TIFF has no images")
        page = tif.pages[0]
        shape = dict(zip(page.axes, page.shape))
        _check_pixels(path, shape.get("X", 0), shape.get("Y", 0), limit)
        photometric = int(page.photometric)
        if photometric not in (0, 1, 2):  # MINISWHITE, MINISBLACK, RGB
            name = getattr(page.photometric, "name", photometric)
            raise UnsupportedFormatError(
                f"'{path}' is a {name} TIFF; classicdeblur reads gray and RGB TIFFs"
            )
        arr = page.asarray()
        axes = page.axes
        tag = page.tags.get(274)
        orientation = tag.value if tag is not None else 1
    if "S" in axes and axes.index("S") != len(axes) - 1:
        arr = np.moveaxis(arr, axes.index("S"), -1)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (2, 3, 4)):
        raise UnsupportedFormatError(f"'{path}' has an unsupported TIFF layout {axes} {arr.shape}")
    dt = arr.dtype
    if dt == bool:
        arr, scale, bits = arr.astype(np.uint8), 1.0, 8
    elif dt.kind == "u":
        scale, bits = float(np.iinfo(dt).max), (8 if dt.itemsize == 1 else 16)
    elif dt.kind == "f":
        scale, bits = 1.0, 16
    else:
        raise UnsupportedFormatError(f"'{path}' has signed integer samples ({dt}); expected unsigned or float")
    if photometric == 0:  # min-is-white
        arr = (scale - arr.astype(np.float64)) if dt.kind == "f" else (np.iinfo(dt).max - arr)
    has_alpha = arr.ndim == 3 and arr.shape[2] in (2, 4)
    return _orient(arr, orientation), scale, has_alpha, "tiff", bits


def _decode(path, limit):
    data = _read_bytes(path)
    try:
        if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            return _decode_tiff(data, path, limit)
        return _decode_pil(data, path, limit)
    except ClassicDeblurError:
        raise
    except MemoryError as e:
        raise ImageTooLargeError(f"'{path}' is too large to decode in the available memory") from e
    except Exception as e:  # any decoder failure becomes one line
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ImageReadError(f"cannot decode '{path}': corrupt or truncated file ({reason})") from e


def read_image(path, *, max_pixels=None):
    """Read an image file as floats in [0, 1].

    Parameters
    ----------
    path : str or os.PathLike
        A PNG, JPEG, TIFF, PGM/PPM or BMP file (8 or 16 bits, gray, gray+alpha,
        RGB or RGBA). The format is taken from the file's content.
    max_pixels : int, optional
        Largest allowed ``M * N`` (default: :func:`classicdeblur._validation.max_pixels`).
        It is checked from the header, before decoding.

    Returns
    -------
    ImageData
        ``image`` (float64, ``(M, N)`` or ``(M, N, 3)``), ``alpha``, ``bit_depth``,
        ``format`` and ``path``.

    Raises
    ------
    ImageReadError
        Missing, directory, empty, truncated or corrupt file.
    UnsupportedFormatError
        Not one of the formats above.
    ImageTooLargeError
        More pixels than ``max_pixels``.
    InvalidImageError
        A float TIFF with NaN/Inf or values outside [0, 1].

    Notes
    -----
    The EXIF orientation tag (JPEG, PNG, TIFF) is applied to the pixels, so the
    array is upright as a viewer shows it. Palette images are expanded to RGB
    (RGBA when they have transparency). 16-bit colour PNG and PPM files are
    decoded with OpenCV because Pillow reduces them to 8 bits. TIFFs must be
    gray or RGB (palette, CMYK and YCbCr TIFFs are refused); only the first
    page of a multi-page TIFF is read.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from classicdeblur.io import write_image
    >>> p = os.path.join(tempfile.mkdtemp(), "rgba.png")
    >>> write_image(p, np.full((2, 3, 3), 0.5), alpha=np.ones((2, 3)))
    >>> d = read_image(p)
    >>> d.image.shape, d.alpha.shape, d.bit_depth
    ((2, 3, 3), (2, 3), 8)
    >>> read_image(p, max_pixels=5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    classicdeblur.errors.ImageTooLargeError: '...rgba.png' has 6 pixels (3x2), over the limit of 5; ...
    """
    p = os.fspath(path)
    limit = _validation.max_pixels(max_pixels)
    arr, scale, has_alpha, fmt, bits = _decode(p, limit)
    if arr.dtype.kind == "f":
        img = np.asarray(arr, dtype=np.float64)
        img = _validation.check_image(img, name=f"'{p}'", limit=limit, check_range=False)
        lo, hi = float(img.min()), float(img.max())
        if lo < 0 or hi > 1:
            raise InvalidImageError(
                f"'{p}' holds float values in [{lo:.4g}, {hi:.4g}]; expected [0, 1]"
            )
    else:
        img = arr.astype(np.float64) / scale
    alpha = None
    if has_alpha:
        img, alpha = img[..., :-1], np.ascontiguousarray(img[..., -1])
        if img.shape[2] == 1:
            img = img[..., 0]
    return ImageData(np.ascontiguousarray(img), alpha, bits, fmt, p)

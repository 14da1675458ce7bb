"""Encode float images (quantise to 8 or 16 bits) and write them: :func:`write_image`."""

from __future__ import annotations

import io as _io
import os

import numpy as np

from .. import _validation
from ..backend import to_numpy
from ..errors import ClassicDeblurError, InvalidImageError, UnsupportedFormatError
from .atomic import _atomic_write, check_output_path
from .formats import IMAGE_EXTENSIONS, _ext, _format_for_writing

__all__ = ["write_image"]


def _quantise(x, bit_depth):
    maxv = 255 if bit_depth == 8 else 65535
    dt = np.uint8 if bit_depth == 8 else np.uint16
    return np.round(np.clip(x, 0.0, 1.0) * maxv).astype(dt)


def _png16(arr):
    """Encode a uint16 ``(M, N, C)`` array (C = 1..4) as PNG, with the Sub filter."""
    import struct
    import zlib

    h, w, c = arr.shape
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = np.ascontiguousarray(arr.astype(">u2")).view(np.uint8).reshape(h, w * c * 2)
    bpp = 2 * c
    filt = raw.copy()
    filt[:, bpp:] = raw[:, bpp:] - raw[:, :-bpp]  # uint8 arithmetic wraps mod 256 (filter 1)
    rows = np.concatenate([np.ones((h, 1), np.uint8), filt], axis=1)

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def _encode(fmt, q, path):
    """Encode the quantised array ``q`` (``(M, N)`` or ``(M, N, C)``) in ``fmt``; returns bytes."""
    from PIL import Image

    buf = _io.BytesIO()
    c = 1 if q.ndim == 2 else q.shape[2]
    if fmt == "tiff":
        import tifffile

        kw = {"photometric": "minisblack" if c in (1, 2) else "rgb", "compression": "zlib"}
        if c in (2, 4):
            kw["extrasamples"] = ("unassalpha",)
        tifffile.imwrite(buf, q, **kw)
        return buf.getvalue()
    if q.dtype == np.uint16:
        if fmt == "png":
            return _png16(q if q.ndim == 3 else q[..., None])
        import cv2  # 16-bit PGM/PPM

        ok, enc = cv2.imencode(".pgm" if c == 1 else ".ppm", q if c == 1 else q[..., ::-1])
        if not ok:  # pragma: no cover
            raise ClassicDeblurError(f"cannot encode '{path}' as 16-bit PNM")
        return enc.tobytes()
    im = Image.fromarray(q)  # uint8 (M, N) -> L, (M, N, 2|3|4) -> LA|RGB|RGBA
    kw = {"quality": 95, "subsampling": 0} if fmt == "jpeg" else {}
    pil_fmt = {"png": "PNG", "jpeg": "JPEG", "bmp": "BMP", "pnm": "PPM"}[fmt]
    im.save(buf, format=pil_fmt, **kw)
    return buf.getvalue()


def write_image(path, image, *, alpha=None, bit_depth=8, overwrite=False, protect=()):
    """Write a float image atomically, choosing the format from the extension.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; its extension picks the format (see the module table). The
        parent directory must exist.
    image : ndarray of shape (M, N) or (M, N, C)
        Floats (values are clipped to [0, 1]) or integers (converted with
        ``as_float_image``), NumPy or CuPy. ``C`` is 1 (gray), 2 (gray + alpha),
        3 (RGB) or 4 (RGBA).
    alpha : ndarray of shape (M, N), optional
        Alpha channel to store with a gray or RGB image.
    bit_depth : {8, 16}
        Bits per sample. JPEG and BMP hold 8 bits only: 16 is written as 8.
    overwrite : bool
        Replace an existing file (default: refuse).
    protect : iterable of path
        Paths that are never overwritten, whatever ``overwrite`` says (pass
        the inputs here).

    Raises
    ------
    UnsupportedFormatError
        Unknown extension, or a colour image to ``.pgm``.
    OutputExistsError
        The file exists and ``overwrite`` is False, or it is one of ``protect``.
    InvalidImageError
        Bad shape or NaN/Inf values.
    ImageWriteError
        The parent directory is missing or the file cannot be written.

    Notes
    -----
    Values are clipped to [0, 1] and rounded to the nearest level. Alpha is
    kept in PNG and TIFF, and dropped for JPEG, BMP and PGM/PPM, which cannot
    store it. JPEG is written at quality 95 without chroma subsampling.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "out.png")
    >>> write_image(p, np.zeros((4, 4)))
    >>> write_image(p, np.zeros((4, 4)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    classicdeblur.errors.OutputExistsError: '...out.png' already exists; ...
    """
    p = os.fspath(path)
    fmt = _format_for_writing(p, IMAGE_EXTENSIONS)
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16; got {bit_depth!r}")
    if _ext(p) == ".pbm":
        raise UnsupportedFormatError(f"cannot write '{p}': PBM is 1-bit; use .pgm or .png")
    img = _validation.check_image(to_numpy(image), name="image", limit=np.iinfo(np.int64).max,
                                  check_range=False)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if alpha is not None:
        if img.ndim == 3 and img.shape[2] in (2, 4):
            raise InvalidImageError(
                f"image of shape {img.shape} already has an alpha channel; do not pass alpha too"
            )
        a = _validation.check_image(to_numpy(alpha), name="alpha", limit=np.iinfo(np.int64).max,
                                    check_range=False)
        if a.shape != img.shape[:2]:
            raise InvalidImageError(f"alpha must have shape {img.shape[:2]}; got {a.shape}")
        img = np.concatenate([img.reshape(img.shape[:2] + (-1,)), a[..., None]], axis=-1)
    has_alpha = img.ndim == 3 and img.shape[2] in (2, 4)
    if has_alpha and fmt in ("jpeg", "bmp", "pnm"):
        img = img[..., :-1]
        if img.shape[2] == 1:
            img = img[..., 0]
    if fmt in ("jpeg", "bmp"):
        bit_depth = 8
    if _ext(p) == ".pgm" and img.ndim == 3:
        raise UnsupportedFormatError(f"cannot write a colour image to '{p}': PGM is gray; use .ppm or .png")
    check_output_path(p, overwrite=overwrite, protect=protect)
    payload = _encode(fmt, _quantise(img, bit_depth), p)
    _atomic_write(p, payload, overwrite=overwrite)

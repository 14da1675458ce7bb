"""Read and write images and blur kernels.

Images come back as float64 arrays in [0, 1] (see :mod:`classicdeblur._validation`):
``(M, N)`` for gray and ``(M, N, 3)`` RGB for colour, with any alpha channel
split off into :attr:`ImageData.alpha`. Supported formats:

=======  ===================  =========================  =====
format   extensions           bits read / written        alpha
=======  ===================  =========================  =====
PNG      .png                 8, 16 / 8, 16              yes
TIFF     .tif .tiff           8, 16, float / 8, 16       yes
JPEG     .jpg .jpeg .jpe      8 / 8                      no
PGM/PPM  .pgm .ppm .pnm .pbm  1 to 16 / 8, 16            no
BMP      .bmp                 8 / 8                      no
=======  ===================  =========================  =====

.. note::
   Writing is atomic: the file is encoded in memory, written to a temporary
   file in the destination directory and moved into place, so a failure never
   leaves a partial output. Existing files are refused unless
   ``overwrite=True``, and the paths given in ``protect`` (the inputs) are
   refused always.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> d = tempfile.mkdtemp()
>>> img = np.linspace(0, 1, 12).reshape(3, 4)
>>> write_image(os.path.join(d, "x.png"), img, bit_depth=16)
>>> data = read_image(os.path.join(d, "x.png"))
>>> data.bit_depth, data.format, bool(np.abs(data.image - img).max() < 1e-4)
(16, 'png', True)
"""

from __future__ import annotations

import io as _io
import os
import re
import secrets
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from . import _validation
from .backend import to_numpy
from .color import to_luminance
from .errors import (
    ClassicDeblurError,
    ImageReadError,
    ImageTooLargeError,
    ImageWriteError,
    InvalidImageError,
    InvalidKernelError,
    OutputExistsError,
    UnsupportedFormatError,
)

__all__ = [
    "ImageData",
    "IMAGE_EXTENSIONS",
    "KERNEL_EXTENSIONS",
    "read_image",
    "write_image",
    "read_kernel",
    "write_kernel",
    "check_output_path",
    "to_luminance",
]

#: Image file extensions and the format name each maps to.
IMAGE_EXTENSIONS = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jpe": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".pgm": "pnm",
    ".ppm": "pnm",
    ".pnm": "pnm",
    ".pbm": "pnm",
    ".bmp": "bmp",
}

#: Blur-kernel file extensions understood by :func:`read_kernel`.
KERNEL_EXTENSIONS = (".npy", ".txt", ".csv", ".mat", ".png", ".pgm", ".tif", ".tiff", ".bmp")

_PIL_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "BMP": "bmp", "DIB": "bmp", "PPM": "pnm"}
_SUPPORTED = "PNG, JPEG, TIFF, PGM/PPM and BMP"
_KERNEL_NAMES = ("kernel", "psf", "k", "f", "kern", "h", "blur_kernel")
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


# ----------------------------------------------------------------------------
# reading


def _ext(path):
    return os.path.splitext(path)[1].lower()


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
            "raise it with --max-pixels or CLASSICDEBLUR_MAX_PIXELS"
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
    from PIL import Image

    fp = _io.BytesIO(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        pil_limit = Image.MAX_IMAGE_PIXELS
        if pil_limit is not None and limit >= pil_limit:
            # Our own limit (checked from the header right after) is the one in force.
            with _PIL_LOCK:
                old, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
                try:
                    return Image.open(fp)
                finally:
                    Image.MAX_IMAGE_PIXELS = old
        return Image.open(fp)


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
        img = _validation.check_image(img, name=f"'{p}'", limit=limit)
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


# ----------------------------------------------------------------------------
# writing


def _format_for_writing(path, table):
    ext = _ext(path)
    fmt = table.get(ext)
    if fmt is None:
        exts = ", ".join(sorted(table))
        raise UnsupportedFormatError(
            f"cannot write '{path}': unsupported extension {ext or '(none)'!r}; use one of {exts}"
        )
    return fmt


def _same_file(a, b):
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def check_output_path(path, *, overwrite=False, protect=()):
    """Raise unless ``path`` may be written: not an input, not a folder, absent or ``overwrite``.

    Raises
    ------
    OutputExistsError
        ``path`` is one of ``protect``, a directory, or exists while ``overwrite`` is False.
    ImageWriteError
        The parent directory does not exist.
    """
    for q in protect or ():
        q = os.fspath(q)
        if _same_file(path, q):
            raise OutputExistsError(
                f"refusing to write '{path}': it is the input '{q}'; choose a different output path (-o)"
            )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ImageWriteError(f"cannot write '{path}': the directory '{parent}' does not exist")
    if os.path.isdir(path):
        raise OutputExistsError(f"cannot write '{path}': it is a directory")
    if os.path.lexists(path) and not overwrite:
        raise OutputExistsError(
            f"'{path}' already exists; pass overwrite=True (--overwrite) or choose a different output path"
        )


def _atomic_write(path, payload, *, overwrite):
    """Write ``payload`` (bytes) to ``path`` via a temporary file in the same directory."""
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # honours the umask
            break
        except FileExistsError:
            continue
        except OSError as e:
            raise ImageWriteError(f"cannot write '{path}': {e.strerror or e}") from e
    else:  # pragma: no cover
        raise ImageWriteError(f"cannot write '{path}': no free temporary name in '{directory}'")
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            if overwrite:
                os.replace(tmp, path)
            else:
                try:  # race-free "create only if absent"
                    os.link(tmp, path)
                except FileExistsError as e:
                    raise OutputExistsError(f"'{path}' already exists; pass overwrite=True") from e
                except OSError:  # file system without hard links
                    if os.path.lexists(path):
                        raise OutputExistsError(f"'{path}' already exists; pass overwrite=True") from None
                    os.replace(tmp, path)
        except OSError as e:
            raise ImageWriteError(f"cannot write '{path}': {e.strerror or e}") from e
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


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
    img = _validation.check_image(to_numpy(image), name="image", limit=np.iinfo(np.int64).max)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if alpha is not None:
        if img.ndim == 3 and img.shape[2] in (2, 4):
            raise InvalidImageError(
                f"image of shape {img.shape} already has an alpha channel; do not pass alpha too"
            )
        a = _validation.check_image(to_numpy(alpha), name="alpha", limit=np.iinfo(np.int64).max)
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


# ----------------------------------------------------------------------------
# kernels


def _load_mat(path, variable):
    import scipy.io

    try:
        mat = scipy.io.loadmat(path)
    except NotImplementedError as e:  # MATLAB v7.3 (HDF5)
        raise ImageReadError(f"cannot read '{path}': MATLAB v7.3 files are not supported; save with -v7") from e
    names = [n for n in mat if not n.startswith("__")]
    numeric = [
        n for n in names if isinstance(mat[n], np.ndarray) and mat[n].dtype.kind in "uif" and np.squeeze(mat[n]).ndim == 2
    ]
    if variable is not None:
        if variable not in mat:
            raise ImageReadError(f"'{path}' has no variable {variable!r}; it has: {', '.join(names) or 'none'}")
        return mat[variable]
    lower = {n.lower(): n for n in numeric}
    for want in _KERNEL_NAMES:
        if want in lower:
            return mat[lower[want]]
    if len(numeric) == 1:
        return mat[numeric[0]]
    odd = [n for n in numeric if all(s % 2 for s in np.squeeze(mat[n]).shape)]
    if len(odd) == 1:
        return mat[odd[0]]
    if not numeric:
        raise ImageReadError(f"'{path}' has no 2-D numeric variable to use as a kernel")
    raise ImageReadError(
        f"'{path}' has several 2-D variables ({', '.join(numeric)}); name one with variable="
    )


def read_kernel(path, *, variable=None, max_size=None):
    """Read a blur kernel, validated and normalised to sum 1.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npy``; ``.txt`` (whitespace or comma separated) or ``.csv``; ``.mat``;
        or an image (``.png``, ``.pgm``, ``.tif``, ``.bmp``).
    variable : str, optional
        For ``.mat``: the variable to read. By default the first of
        ``kernel, psf, k, f, kern, h, blur_kernel`` (any case), else the only
        2-D numeric variable (or the only odd-sized one).
    max_size : int, optional
        Largest allowed side.

    Returns
    -------
    ndarray of shape (h, w)
        float64, odd-sized, non-negative, summing to 1.

    Raises
    ------
    ImageReadError
        Missing, empty or unparsable file.
    UnsupportedFormatError
        Unknown extension.
    InvalidKernelError
        Even size, negative values, all zero, NaN/Inf, not 2-D.

    Notes
    -----
    Image kernels are read as gray; for an RGB image the first channel is used
    when all channels are equal, else the BT.601 luminance. Alpha is ignored.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "k.txt")
    >>> np.savetxt(p, [[0, 1, 0], [1, 2, 1], [0, 1, 0]])
    >>> read_kernel(p).sum(), read_kernel(p)[1, 1]
    (np.float64(1.0), np.float64(0.3333333333333333))
    """
    p = os.fspath(path)
    ext = _ext(p)
    if ext not in KERNEL_EXTENSIONS:
        raise UnsupportedFormatError(
            f"cannot read kernel '{p}': unsupported extension {ext or '(none)'!r}; "
            f"use one of {', '.join(KERNEL_EXTENSIONS)}"
        )
    if ext in (".png", ".pgm", ".tif", ".tiff", ".bmp"):
        arr, _, has_alpha, _, _ = _decode(p, _validation.max_pixels())
        arr = arr.astype(np.float64)
        if has_alpha:
            arr = arr[..., :-1]
        if arr.ndim == 3:
            if arr.shape[2] == 1 or np.all(arr == arr[..., :1]):
                arr = arr[..., 0]
            else:
                arr = to_luminance(arr)
    else:
        _read_bytes(p)  # missing / directory / empty
        try:
            if ext == ".npy":
                arr = np.load(p, allow_pickle=False)
            elif ext == ".mat":
                arr = _load_mat(p, variable)
            else:
                with open(p, encoding="utf-8") as fh:
                    text = fh.read()
                delim = "," if (ext == ".csv" or "," in text) else None
                arr = np.loadtxt(_io.StringIO(text), delimiter=delim, ndmin=2)
        except ClassicDeblurError:
            raise
        except Exception as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ImageReadError(f"cannot read kernel '{p}': {reason}") from e
        arr = np.asarray(arr)
        if arr.ndim > 2:
            arr = np.squeeze(arr)
    try:
        return _validation.check_kernel(np.asarray(arr, dtype=np.float64), max_size=max_size)
    except InvalidKernelError as e:
        raise InvalidKernelError(f"'{p}': {e}") from None


_KERNEL_WRITE = {".npy": "npy", ".txt": "txt", ".csv": "csv", ".png": "png", ".tif": "tiff", ".tiff": "tiff", ".mat": "mat"}


def write_kernel(path, kernel, *, overwrite=False, protect=()):
    """Write a blur kernel atomically.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npy``, ``.tif`` and ``.mat`` (float64, exact); ``.txt`` / ``.csv``
        (17 significant digits, exact); ``.png`` (a 16-bit visualisation scaled
        by the maximum: reading it back gives the kernel to about 1e-5).
    kernel : ndarray of shape (h, w)
        A valid kernel (see :func:`classicdeblur._validation.check_kernel`).
        It is written as given, not renormalised.
    overwrite : bool
        Replace an existing file.
    protect : iterable of path
        Paths never overwritten.

    Raises
    ------
    InvalidKernelError, UnsupportedFormatError, OutputExistsError

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "k.npy")
    >>> k = np.full((3, 3), 1 / 9)
    >>> write_kernel(p, k)
    >>> bool(np.array_equal(read_kernel(p), k))
    True
    """
    p = os.fspath(path)
    fmt = _format_for_writing(p, _KERNEL_WRITE)
    k = to_numpy(kernel)
    _validation.check_kernel(k)
    k = np.asarray(k, dtype=np.float64)
    check_output_path(p, overwrite=overwrite, protect=protect)
    buf = _io.BytesIO()
    if fmt == "npy":
        np.save(buf, k, allow_pickle=False)
    elif fmt in ("txt", "csv"):
        np.savetxt(buf, k, fmt="%.17g", delimiter="," if fmt == "csv" else " ")
    elif fmt == "mat":
        import scipy.io

        scipy.io.savemat(buf, {"kernel": k})
    elif fmt == "tiff":
        import tifffile

        tifffile.imwrite(buf, k, photometric="minisblack")
    else:
        buf.write(_png16((_quantise(k / k.max(), 16))[..., None]))
    _atomic_write(p, buf.getvalue(), overwrite=overwrite)

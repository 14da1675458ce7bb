"""Read and write blur kernels: :func:`read_kernel` (including MATLAB ``.mat``) and :func:`write_kernel`."""

from __future__ import annotations

import io as _io
import os

import numpy as np

from .. import _validation
from ..backend import to_numpy
from ..color import to_luminance
from ..errors import ClassicDeblurError, ImageReadError, InvalidKernelError, UnsupportedFormatError
from .atomic import _atomic_write, check_output_path
from .formats import KERNEL_EXTENSIONS, KERNEL_WRITE_EXTENSIONS, _ext, _format_for_writing
from .images import _decode, _read_bytes
from .writing import _png16, _quantise

__all__ = ["read_kernel", "write_kernel"]

_KERNEL_NAMES = ("kernel", "psf", "k", "f", "kern", "h", "blur_kernel")


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


_KERNEL_WRITE = KERNEL_WRITE_EXTENSIONS


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

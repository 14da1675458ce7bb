"""File formats: the extension tables and the extension-to-format lookup for writing."""

from __future__ import annotations

import os

from ..errors import UnsupportedFormatError

__all__ = ["IMAGE_EXTENSIONS", "KERNEL_EXTENSIONS", "KERNEL_WRITE_EXTENSIONS"]

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

#: Blur-kernel file extensions :func:`write_kernel` writes, and the format of each.
KERNEL_WRITE_EXTENSIONS = {".npy": "npy", ".txt": "txt", ".csv": "csv", ".png": "png", ".tif": "tiff",
                           ".tiff": "tiff", ".mat": "mat"}


def _ext(path):
    return os.path.splitext(path)[1].lower()


def _format_for_writing(path, table):
    ext = _ext(path)
    fmt = table.get(ext)
    if fmt is None:
        exts = ", ".join(sorted(table))
        raise UnsupportedFormatError(
            f"cannot write '{path}': unsupported extension {ext or '(none)'!r}; use one of {exts}"
        )
    return fmt

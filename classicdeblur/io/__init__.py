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
   refused always. Inside :func:`output_group`, several outputs are written
   together or not at all.

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

from ..color import to_luminance
from .atomic import check_output_path, output_group
from .formats import IMAGE_EXTENSIONS, KERNEL_EXTENSIONS, KERNEL_WRITE_EXTENSIONS
from .images import ImageData, read_image
from .kernels import read_kernel, write_kernel
from .writing import write_image

__all__ = [
    "ImageData",
    "IMAGE_EXTENSIONS",
    "KERNEL_EXTENSIONS",
    "KERNEL_WRITE_EXTENSIONS",
    "read_image",
    "write_image",
    "read_kernel",
    "write_kernel",
    "check_output_path",
    "output_group",
    "to_luminance",
]

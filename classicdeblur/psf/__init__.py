"""Blur-kernel code (not data): generators, helpers and access to the shipped banks.

* :mod:`~classicdeblur.psf.generators` - disk, motion, Gaussian, Boracchi & Foi
  camera shake and Chakrabarti kernels, registered in :data:`GENERATORS`;
* :mod:`~classicdeblur.psf.utils` - normalise, re-centre, pad, crop;
* :mod:`~classicdeblur.psf.bank` - the ``kernels/`` data folder (Levin 2009,
  Lai 2016 and seeded benchmark banks) and ``"levin:3"``-style specs;
* :mod:`~classicdeblur.psf.build_banks` - rebuilds ``kernels/``.

Kernels are 2-D, non-negative, sum to 1, have odd sides and their centre at
``(h // 2, w // 2)``, and are meant for true convolution.
"""

from .bank import kernel_from_spec, kernels_dir, list_kernels, load_kernel, manifest
from .generators import (GENERATORS, boracchi_foi, chakrabarti, disk, gaussian, make_kernel, motion,
                         random_trajectory)
from .utils import centroid, crop_to_support, normalize, pad_to_size, recenter

__all__ = [
    "GENERATORS", "make_kernel", "disk", "motion", "gaussian", "boracchi_foi", "chakrabarti",
    "random_trajectory", "normalize", "centroid", "recenter", "pad_to_size", "crop_to_support",
    "kernels_dir", "list_kernels", "load_kernel", "manifest", "kernel_from_spec",
]

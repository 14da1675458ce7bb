"""Benchmark sets of EVALUATION.md, built from the shared data folder (``--data``).

* ``faces-256``: the 17 FFHQ faces as stored, plus the first image of 40 CelebA identities
  (a centre square crop resized to 256x256 with area interpolation);
* ``yaleb-256``: the frontal, evenly lit image (``P00A+000E+00``) of each Yale B subject,
  centre square crop resized with area interpolation.

Images are gray float64 in [0, 1]; blur is applied per (image, kernel) pair with the seed
:func:`classicdeblur.degrade.pair_seed` of the pair's names, so any subset reproduces.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from classicdeblur.color import to_luminance
from classicdeblur.io import read_image

SETS = ("faces-256", "yaleb-256")
SIZE = 256


def _square_256(image):
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = np.ascontiguousarray(image[top : top + s, left : left + s])
    if s == SIZE:
        return crop
    return np.clip(cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA), 0.0, 1.0)


def _gray(path):
    img = read_image(path).image
    return to_luminance(img) if img.ndim == 3 else img


def _natural(p: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def load_set(name: str, data: Path, limit: int | None = None):
    """Return ``[(image_name, image)]`` for a benchmark set."""
    data = Path(data)
    faces = data / "faces"
    items = []
    if name == "faces-256":
        for p in sorted((faces / "ffhq" / "images").glob("*.png")):
            items.append((f"ffhq/{p.stem}", _square_256(_gray(p))))
        celeb = sorted((faces / "celeba" / "images").iterdir(), key=_natural)[:40]
        for d in celeb:
            p = sorted(d.glob("*.jpg"))[0]
            items.append((f"celeba/{d.name}/{p.stem}", _square_256(_gray(p))))
    elif name == "yaleb-256":
        for d in sorted((faces / "yaleb").iterdir()):
            hits = sorted(d.glob("*_P00A+000E+00.pgm"))
            if hits:
                items.append((f"yaleb/{d.name}", _square_256(_gray(hits[0]))))
    else:
        raise ValueError(f"unknown benchmark set {name!r}; choose from: {', '.join(SETS)}")
    if not items:
        raise FileNotFoundError(f"no images for {name} under {data}; is --data the shared data folder?")
    return items[:limit] if limit else items


#: The other Yale B image of a subject given as its reference photo (:func:`reference_image`): the same
#: session and pose, the light 20 degrees to the side and 10 above (the benchmark image is lit from the front).
YALEB_REFERENCE = "P00A+020E+10"


def reference_image(image_name: str, data: Path):
    """Another photo of the same person as the benchmark image ``image_name``, for methods that need a reference.

    * ``celeba/<identity>/<stem>``: the identity's first other photo (name order) as stored (178x218 aligned
      CelebA, not cropped: another pose, expression, lighting and framing);
    * ``yaleb/<subject>``: the subject's :data:`YALEB_REFERENCE` image as stored (640x480, another lighting);
    * other images (FFHQ: one photo per person): None.

    Gray float64 in [0, 1], like the benchmark images.
    """
    faces = Path(data) / "faces"
    parts = image_name.split("/")
    if parts[0] == "celeba" and len(parts) == 3:
        others = [p for p in sorted((faces / "celeba" / "images" / parts[1]).glob("*.jpg")) if p.stem != parts[2]]
        return _gray(others[0]) if others else None
    if parts[0] == "yaleb" and len(parts) == 2:
        hits = sorted((faces / "yaleb" / parts[1]).glob(f"*_{YALEB_REFERENCE}.pgm"))
        return _gray(hits[0]) if hits else None
    return None


def machine() -> str:
    """One line describing the machine, for every table."""
    import os
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


#: Kernel families of EVALUATION.md for :func:`case_kernels`.
KERNEL_FAMILIES = ("levin", "lai", "shen")
#: Sides of the random camera-shake kernels of the ``shen`` family (Shen et al. 2018: 13 to 27 px).
SHAKE_SIZES = tuple(range(13, 28, 2))


def case_kernels(family: str, image_name: str):
    """``[(kernel_name, kernel)]`` that blur one image in a kernel family.

    * ``levin``: the 8 kernels of Levin et al. 2009 (13-27 px), the same for every image;
    * ``lai``: the 4 large kernels of Lai et al. 2016 (31, 51, 55 and 75 px);
    * ``shen``: one random camera-shake kernel (Boracchi & Foi 2012, as Shen et al.
      2018 draw them) per side 13, 15, ..., 27 px, drawn for each image with the seed
      ``pair_seed(image_name, "shake:<side>/kernel")``, so any subset reproduces.
      They are named ``shake:<side>``; the noise seed is ``pair_seed(image_name, name)``
      as for the bank kernels.

    Examples
    --------
    >>> [n for n, _ in case_kernels("lai", "x")]
    ['lai:1', 'lai:2', 'lai:3', 'lai:4']
    >>> a = case_kernels("shen", "ffhq/00001")
    >>> [k.shape[0] for _, k in a] == list(SHAKE_SIZES), a[0][0]
    (True, 'shake:13')
    >>> bool(np.array_equal(a[3][1], case_kernels("shen", "ffhq/00001")[3][1]))
    True
    """
    from classicdeblur.degrade import pair_seed
    from classicdeblur.psf.bank import list_kernels, load_kernel
    from classicdeblur.psf.generators import boracchi_foi

    if family in ("levin", "lai"):
        return [(n, load_kernel(n)) for n in list_kernels(family)]
    if family == "shen":
        return [(f"shake:{s}", boracchi_foi(s, rng=pair_seed(image_name, f"shake:{s}/kernel")))
                for s in SHAKE_SIZES]
    raise ValueError(f"unknown kernel family {family!r}; choose from: {', '.join(KERNEL_FAMILIES)}")

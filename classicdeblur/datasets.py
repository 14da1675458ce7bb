"""Synthetic blurred/sharp dataset recipes (survey Table 2) and a reproducible synthesiser.

A *recipe* says which kernel(s) blur each sharp image and which noise is
added; :func:`synthesize` applies it to a folder of sharp faces and writes::

    out_dir/
      sharp/<name>.png         the sharp image actually blurred (8-bit)
      blurred/<name>.png       degrade(sharp, kernel)  (one per image, or <name>__<kernel>.png)
      kernels/<name>.npy|.png  the kernel (float64) and a 16-bit view scaled by its maximum
      manifest.json            recipe, seeds, noise and the sha256 of every output

Every random choice is seeded from the names involved (:func:`~classicdeblur.degrade.pair_seed`)
and ``seed``, never from the order of the images, so running again, or on a
subset (``limit``), reproduces the same files bit for bit.

Recipes (:data:`RECIPES`):

``shen2018``
    Shen et al. 2018: Boracchi & Foi camera-shake kernels of 13 to 27 px
    (odd), Gaussian noise. Shen et al.'s noise level could not be confirmed
    from the sources at hand; UMSN (Yasarla et al. 2020), which follows
    Shen's protocol, adds ``N(0, (4/255)^2)`` to images scaled to [-1, 1],
    i.e. about 0.008 on [0, 1]. We use sigma = 0.01, the project's protocol level.
``mspl``
    MSPL: kernels of Chakrabarti's generator (grid 8, 16 or 24 on a 41 px
    canvas, as in his training set), cropped to their support; Gaussian
    noise sigma = 0.01 (MSPL's own noise setting was not found; documented choice).
``lin2020``
    Lin et al. 2020: Boracchi & Foi kernels of 21 to 51 px (odd), Gaussian
    noise sigma = 0.01. The rotation of the kernels is covered by the uniform
    random initial direction of the trajectories; the crop and scale
    augmentation of the training images is not applied here.
``levin``
    The benchmark protocol of ``EVALUATION.md``: every image under each of the
    8 Levin et al. 2009 kernels, gray, Gaussian noise sigma = 0.01.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


from ._registry import Registry
from .degrade import degrade, pair_seed, quantize8
from .errors import ClassicDeblurError, OutputExistsError

__all__ = ["Recipe", "RECIPES", "synthesize", "list_images", "IMAGE_SUFFIXES"]

#: File suffixes :func:`synthesize` treats as images.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff")

#: Registry of dataset recipes (name -> :class:`Recipe`).
RECIPES = Registry("dataset recipe")


@dataclass(frozen=True)
class Recipe:
    """How to blur one sharp image.

    Attributes
    ----------
    name, description, reference : str
    kernels : callable
        ``kernels(image_name, seed) -> list of (kernel_name, spec, kernel)``:
        the kernel(s) for one image. ``kernel_name`` is unique within the set
        and also used to derive the noise seed; ``spec`` is a
        :func:`~classicdeblur.psf.bank.kernel_from_spec` string (plus notes)
        that regenerates the kernel.
    per_image : bool
        True when each image gets its own random kernel (file names follow the
        image), False when every image is crossed with a fixed list of kernels.
    noise, sigma : str or None, float
        Passed to :func:`~classicdeblur.degrade.degrade`.
    gray : bool
        Convert colour images to luminance (BT.601) first.
    """

    name: str
    description: str
    kernels: Callable
    per_image: bool = True
    noise: str | None = "gaussian"
    sigma: float = 0.01
    gray: bool = False
    reference: str = ""


def _odd_sizes(lo, hi):
    return tuple(range(lo, hi + 1, 2))


def _boracchi_kernels(tag, sizes):
    def kernels(image_name, seed):
        from .psf.generators import boracchi_foi

        kseed = pair_seed(image_name, f"{tag}/seed={seed}")
        size = sizes[kseed % len(sizes)]
        spec = f"boracchi_foi:size={size},seed={kseed}"
        return [(spec, spec, boracchi_foi(size, rng=kseed))]

    return kernels


def _chakrabarti_kernels(image_name, seed):
    from .psf.generators import chakrabarti
    from .psf.utils import crop_to_support

    kseed = pair_seed(image_name, f"mspl/seed={seed}")
    grid = (8, 16, 24)[kseed % 3]
    spec = f"chakrabarti:size=41,grid={grid},seed={kseed}"
    return [(spec, spec + " (cropped to support)", crop_to_support(chakrabarti(41, grid=grid, rng=kseed)))]


def _levin_kernels(image_name, seed):
    from .psf.bank import list_kernels, load_kernel

    return [(name, name, load_kernel(name)) for name in list_kernels("levin")]


RECIPES.register("shen2018", description="Shen et al. 2018: Boracchi-Foi kernels 13-27 px + Gaussian noise")(
    Recipe("shen2018", "Boracchi & Foi camera-shake kernels of 13 to 27 px, Gaussian noise sigma 0.01",
           _boracchi_kernels("shen2018", _odd_sizes(13, 27)),
           reference="Z. Shen et al., 'Deep semantic face deblurring', CVPR 2018"))
RECIPES.register("mspl", description="MSPL: Chakrabarti 2016 kernels + Gaussian noise")(
    Recipe("mspl", "Chakrabarti (ECCV 2016) kernels, grid 8/16/24 on 41 px, Gaussian noise sigma 0.01",
           _chakrabarti_kernels,
           reference="A. Chakrabarti, 'A neural approach to blind motion deblurring', ECCV 2016"))
RECIPES.register("lin2020", description="Lin et al. 2020: Boracchi-Foi kernels 21-51 px + Gaussian noise")(
    Recipe("lin2020", "Boracchi & Foi camera-shake kernels of 21 to 51 px, Gaussian noise sigma 0.01",
           _boracchi_kernels("lin2020", _odd_sizes(21, 51)),
           reference="Lin et al. 2020 (survey Table 2)"))
RECIPES.register("levin", description="benchmark protocol: each image under the 8 Levin 2009 kernels, gray")(
    Recipe("levin", "every image under the 8 Levin et al. 2009 kernels, gray, Gaussian noise sigma 0.01",
           _levin_kernels, per_image=False, gray=True,
           reference="A. Levin et al., CVPR 2009; EVALUATION.md 'Synthetic blur'"))


def list_images(src_dir) -> list[str]:
    """Relative POSIX paths of the images under ``src_dir`` (recursive), sorted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "b.png").touch(); (d / "a.JPG").touch(); (d / "x.txt").touch()
    >>> list_images(d)
    ['a.JPG', 'b.png']
    """
    root = Path(src_dir)
    if not root.is_dir():
        raise ClassicDeblurError(f"{root}: not a folder of images")
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tag(text: str) -> str:
    """File-name-safe form of an image path or kernel name."""
    out = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text.replace("/", "__"))
    return out.replace(":", "-")


def synthesize(src_dir, out_dir, *, recipe="shen2018", seed=0, limit=None, progress=None, gray=None,
               overwrite=False) -> dict:
    """Blur every sharp image of a folder with a recipe; write images, kernels and a manifest.

    Parameters
    ----------
    src_dir : path
        Folder of sharp images (searched recursively; see :data:`IMAGE_SUFFIXES`).
    out_dir : path
        Output folder (created). Gets ``sharp/``, ``blurred/``, ``kernels/`` and ``manifest.json``.
    recipe : str or Recipe
        A name in :data:`RECIPES` (``shen2018``, ``mspl``, ``lin2020``, ``levin``).
    seed : int
        Global seed, mixed with each image's name: different seeds give
        different sets, the same seed the same set.
    limit : int, optional
        Only the first ``limit`` images (sorted by path). Each pair does not
        depend on the others, so this is a subset of the full set.
    progress : callable, optional
        Called as ``progress(i, n)`` after each image.
    gray : bool, optional
        Convert to luminance first; default: the recipe's choice.
    overwrite : bool
        Replace existing output files (default: refuse before writing anything).

    Returns
    -------
    dict
        The manifest, also written to ``out_dir/manifest.json``.

    Raises
    ------
    ClassicDeblurError
        Missing source folder, an unreadable image, or an image smaller than its kernel.
    OutputExistsError
        Output files exist and ``overwrite`` is False.
    ValueError
        Unknown recipe (the message lists the valid ones).

    Notes
    -----
    Each sharp image is read as floats in [0, 1] (alpha dropped), optionally
    converted to luminance, and rounded to 8 bits (that is the stored ``sharp/``
    image, so ground truth and blurred input match exactly). For each of its
    kernels, :func:`~classicdeblur.degrade.degrade` blurs it (true convolution,
    symmetric boundary), adds the recipe's noise seeded by
    ``(pair_seed(image, kernel_name), seed)``, clips and quantises to 8 bits.
    The manifest holds no time stamps or absolute paths, so it is reproducible too.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from classicdeblur.io import write_image
    >>> src, out = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp()) / "set"
    >>> write_image(src / "face.png", np.random.default_rng(0).random((40, 40)))
    >>> m = synthesize(src, out, recipe="shen2018")
    >>> len(m["items"]), sorted(p.name for p in out.iterdir())
    (1, ['blurred', 'kernels', 'manifest.json', 'sharp'])
    """
    from .io import read_image, to_luminance, write_image, write_kernel

    rec = recipe if isinstance(recipe, Recipe) else RECIPES.get(recipe)
    gray = rec.gray if gray is None else bool(gray)
    seed = int(seed)
    names = list_images(src_dir)
    if limit is not None:
        names = names[: max(0, int(limit))]
    src, out = Path(src_dir), Path(out_dir)

    # plan all output names first, so nothing is written when one would clash
    plan = []
    for name in names:
        stem = _tag(str(Path(name).with_suffix("")))
        plan.append((name, stem, out / "sharp" / f"{stem}.png"))
    if not overwrite:
        first = [p for *_, p in plan if p.exists()] + [p for p in [out / "manifest.json"] if p.exists()]
        if first:
            raise OutputExistsError(f"{first[0]} already exists; use overwrite=True or another folder")
    for sub in ("sharp", "blurred", "kernels"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    items, written_kernels = [], {}
    n = len(plan)
    for i, (name, stem, sharp_path) in enumerate(plan):
        try:
            x = read_image(src / name).image
        except ClassicDeblurError as exc:
            raise type(exc)(f"{name}: {exc}") from None
        if gray and x.ndim == 3:
            x = to_luminance(x)
        x = quantize8(x)  # the stored sharp image is exactly what gets blurred
        write_image(sharp_path, x, bit_depth=8, overwrite=True)
        sharp_sha = _sha256_file(sharp_path)
        for kname, spec, kernel in rec.kernels(name, seed):
            ktag = stem if rec.per_image else _tag(kname)
            kfile, kpng = out / "kernels" / f"{ktag}.npy", out / "kernels" / f"{ktag}.png"
            if ktag not in written_kernels:
                _check_free(kfile, overwrite)
                write_kernel(kfile, kernel, overwrite=True)
                write_kernel(kpng, kernel, overwrite=True)
                written_kernels[ktag] = _sha256_file(kfile)
            bpath = out / "blurred" / (f"{stem}.png" if rec.per_image else f"{stem}__{ktag}.png")
            _check_free(bpath, overwrite)
            nseed = pair_seed(name, kname)
            try:
                y = degrade(x, kernel, noise=rec.noise, sigma=rec.sigma, rng=[nseed, seed])
            except ClassicDeblurError as exc:
                raise type(exc)(f"{name} with kernel {kname}: {exc}") from None
            write_image(bpath, y, bit_depth=8, overwrite=True)
            items.append({
                "image": name,
                "sharp": sharp_path.relative_to(out).as_posix(),
                "blurred": bpath.relative_to(out).as_posix(),
                "kernel": {"name": kname, "spec": spec, "shape": list(kernel.shape),
                           "file": kfile.relative_to(out).as_posix(), "png": kpng.relative_to(out).as_posix()},
                "noise_seed": [nseed, seed],
                "sha256": {"sharp": sharp_sha, "blurred": _sha256_file(bpath), "kernel": written_kernels[ktag]},
            })
        if progress is not None:
            progress(i + 1, n)

    manifest = {
        "recipe": rec.name,
        "description": rec.description,
        "reference": rec.reference,
        "seed": seed,
        "gray": gray,
        "degradation": {"convolution": "true", "boundary": "symmetric", "noise": rec.noise, "sigma": rec.sigma,
                        "clip": [0, 1], "quantize": "round(255 y) / 255",
                        "noise_rng": "numpy.random.default_rng([pair_seed(image, kernel_name), seed])"},
        "count": len(items),
        "items": items,
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / "manifest.json")
    return manifest


def _check_free(path: Path, overwrite: bool):
    if not overwrite and path.exists():
        raise OutputExistsError(f"{path} already exists; use overwrite=True or another folder")

"""Training data of the edge network: sharp faces that are never benchmark faces, blurred by the project's generators.

Faces (from the shared data folder, ``--data``; see its ``DATA.md``)
----------------------------------------------------------------------
* **CelebA** identity folders ``celeb_40`` to ``celeb_95`` (natural order):
  ``faces-256`` uses the first image of ``celeb_0`` to ``celeb_39``, so no
  image *and no identity* of the benchmark is used. ``celeb_96`` to
  ``celeb_99`` are held out for validation (:data:`VALIDATION`).
* **CelebA-HQ** (StarGAN v2 samples, 56 images) minus :data:`CELEBAHQ_EXCLUDED`:
  two of its files are CelebA images of ``faces-256`` identities
  (``celeb_23``, ``celeb_32``), and four more are within dlib's same-person
  distance (0.6) of a ``faces-256`` face, so they are left out too.
* **Not used:** FFHQ (``faces-256`` holds all 17 shared FFHQ faces), Yale B
  (``yaleb-256`` uses every subject), the real blurry faces.

Every face is made gray (BT.601 luma), cut to its centre square and resized
to 256x256 with area interpolation, as the benchmark sets are
(``benchmarks/_data.py``).

Blur (:func:`kernel_pool`)
--------------------------
Kernels of 9 to 41 px from the project's own generators
(:mod:`classicdeblur.psf.generators`), never the Levin or Lai kernels:
Boracchi & Foi camera-shake trajectories (half), Chakrabarti's spline kernels
(a quarter), linear motion, Gaussian and disk (the rest), each drawn from a
seeded generator. :class:`Sampler` then makes a training pair: a face,
a random contrast and level, a horizontal flip, a kernel turned by a multiple of
90 degrees and maybe mirrored, true convolution with symmetric boundaries,
Gaussian noise of 0.5 to 2%, clipping, 8-bit quantisation, a random scale
(both images resized together, so the kernel shrinks with the face, as on a
pyramid level) and a random crop.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from ..color import to_luminance
from ..errors import ClassicDeblurError
from ..io import read_image
from ..psf import generators as gen

__all__ = ["BENCHMARK_CELEBA_IDENTITIES", "CELEBAHQ_EXCLUDED", "VALIDATION", "SIZE", "face_paths", "load_faces",
           "kernel_pool", "perturb_kernel", "latent_l2", "Sampler", "convolve_symmetric", "describe"]

#: Side of the prepared faces (the benchmark sets' side).
SIZE = 256
#: The first this many CelebA identity folders (natural order) are faces-256 identities: never used.
BENCHMARK_CELEBA_IDENTITIES = 40
#: CelebA identity folders (natural order index) held out for validation.
VALIDATION = range(96, 100)
#: CelebA-HQ files left out: CelebA images of faces-256 identities (048197: celeb_23, 076551: celeb_32), and
#: faces within dlib's same-person embedding distance (< 0.6) of a faces-256 face (checked once, here).
CELEBAHQ_EXCLUDED = ("048197", "076551", "042373", "058150", "039913", "153793")


def _natural(p: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def face_paths(data, split="train") -> list:
    """The face files of a split (``"train"`` or ``"validation"``) under the shared data folder ``data``.

    Raises
    ------
    ClassicDeblurError
        No CelebA identity folders under ``data/faces/celeba/images``.
    """
    if split not in ("train", "validation"):
        raise ValueError(f"split must be 'train' or 'validation'; got {split!r}")
    faces = Path(data) / "faces"
    folders = sorted((p for p in (faces / "celeba" / "images").glob("celeb_*") if p.is_dir()), key=_natural)
    if len(folders) <= BENCHMARK_CELEBA_IDENTITIES:
        raise ClassicDeblurError(f"no CelebA identity folders beyond the benchmark's under {faces / 'celeba'}; "
                                 "is --data the shared data folder?")
    out = []
    for i, d in enumerate(folders):
        if i < BENCHMARK_CELEBA_IDENTITIES:
            continue
        if (i in VALIDATION) == (split == "validation"):
            out += sorted(d.glob("*.jpg"))
    if split == "train":
        out += [p for p in sorted((faces / "celebahq").glob("*/*/*.jpg")) if p.stem not in CELEBAHQ_EXCLUDED]
    return out


def _prepare(path, size=SIZE):
    img = read_image(path).image
    img = to_luminance(img[..., :3]) if img.ndim == 3 else img
    h, w = img.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = np.ascontiguousarray(img[top : top + s, left : left + s], dtype=np.float64)
    if s != size:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(crop, 0, 1)


def load_faces(paths, size=SIZE):
    """``uint8 (n, size, size)``: each face gray, centre square, area-resized (as the benchmark sets)."""
    out = np.empty((len(paths), size, size), dtype=np.uint8)
    for i, p in enumerate(paths):
        out[i] = np.round(_prepare(p, size) * 255)
    return out


def _odd(lo, hi, rng):
    return int(rng.integers(lo // 2, hi // 2 + 1)) * 2 + 1


def kernel_pool(n, *, seed=0, sizes=(9, 41)):
    """``n`` kernels from the project's generators (see the module notes), reproducible from ``seed``.

    Examples
    --------
    >>> ks = kernel_pool(6, seed=1)
    >>> all(k.shape[0] % 2 == 1 and 9 <= k.shape[0] <= 41 and abs(k.sum() - 1) < 1e-9 for k in ks)
    True
    """
    rng = np.random.default_rng(seed)
    lo, hi = sizes
    out = []
    for _ in range(int(n)):
        u = rng.random()
        size = _odd(lo, hi, rng)
        if u < 0.5:
            k = gen.boracchi_foi(size, rng=rng, anxiety=float(rng.choice([0.005, 0.05])),
                                 exposure=float(rng.uniform(0.5, 1.0)))
        elif u < 0.75:
            k = gen.chakrabarti(size, rng=rng, grid=int(rng.integers(4, min(16, (size + 1) // 2) + 1)))
        elif u < 0.87:
            k = gen.motion(float(rng.uniform(3, size - 2)), float(rng.uniform(0, 180)), size)
        elif u < 0.95:
            k = gen.gaussian(float(rng.uniform(0.5, 3.0)), size)
        else:
            k = gen.disk(float(rng.uniform(1.0, min(6.0, size / 2 - 1))), size)
        out.append(np.asarray(k, dtype=np.float64))
    return out


def convolve_symmetric(image, kernel):
    """True convolution, symmetric boundary, same size (OpenCV; the protocol's blur, float32).

    Examples
    --------
    >>> from classicdeblur.operators.functional import convolve
    >>> x = np.random.default_rng(0).random((20, 24)); k = np.random.default_rng(1).random((5, 5)); k /= k.sum()
    >>> bool(np.allclose(convolve_symmetric(x, k), convolve(x, k, boundary="symmetric"), atol=1e-5))
    True
    """
    k = np.ascontiguousarray(np.asarray(kernel, dtype=np.float32)[::-1, ::-1])
    return cv2.filter2D(np.asarray(image, dtype=np.float32), -1, k, borderType=cv2.BORDER_REFLECT)


def perturb_kernel(k, rng, pool=()):
    """A wrong kernel of ``k``'s size, like those of a blind alternation before it converges.

    One of: ``k`` itself; ``k`` seen at a coarser scale (resampled down and up,
    as a pyramid's upsampled estimate); ``k`` with its tail cut (values under
    a fraction of the maximum zeroed, as over-thresholded estimates); ``k``
    smoothed by a Gaussian; another kernel of the pool (a wrong start).

    Examples
    --------
    >>> k = gen.motion(9.0, 30.0, 11)
    >>> w = perturb_kernel(k, np.random.default_rng(0))
    >>> w.shape, bool(abs(w.sum() - 1) < 1e-6), bool(w.min() >= 0)
    ((11, 11), True, True)
    """
    h = k.shape[0]
    u = rng.random()
    if u < 0.15:
        w = k
    elif u < 0.45:
        m = max(1, int(round(h * rng.uniform(0.25, 0.9)))) | 1
        small = cv2.resize(np.asarray(k, dtype=np.float32), (m, m), interpolation=cv2.INTER_AREA)
        w = cv2.resize(small, (h, h), interpolation=cv2.INTER_LINEAR)
    elif u < 0.7:
        w = np.where(k >= rng.uniform(0.05, 0.5) * k.max(), k, 0)
    elif u < 0.9:
        w = cv2.GaussianBlur(np.asarray(k, dtype=np.float32), (0, 0), rng.uniform(0.5, 2.0))
    else:
        other = pool[rng.integers(len(pool))] if len(pool) else k
        w = np.zeros((h, h))
        o = other.shape[0]
        a = min(o, h)
        w[(h - a) // 2 : (h - a) // 2 + a, (h - a) // 2 : (h - a) // 2 + a] = other[(o - a) // 2 : (o - a) // 2 + a,
                                                                                   (o - a) // 2 : (o - a) // 2 + a]
    w = np.maximum(np.asarray(w, dtype=np.float64), 0)
    total = w.sum()
    if not total > 0:
        return np.asarray(k, dtype=np.float64)
    return w / total


def latent_l2(blurred, kernel, lam, boundary="smooth"):
    r"""The latent image :math:`\arg\min_x \|k * x - y\|^2 + \lambda \|\nabla x\|^2` (closed form, Liu & Jia padding).

    The x-step of ``pan2018`` and the input of the edge network's training
    pairs when they are not the blurred image itself.
    """
    from ..operators.periodic import PeriodicBlur

    op = PeriodicBlur(np.asarray(blurred, dtype=np.float64), np.asarray(kernel, dtype=np.float64), boundary)
    return op.crop(op.solve(float(lam)))


class Sampler:
    """Random training pairs ``(input, sharp)``; its state (:attr:`rng`) makes a run resumable.

    The input is the blurred face, or (with probability ``latent``) the latent
    image of an alternation that is not there yet: the blurred face deconvolved
    (:func:`latent_l2`, weight ``lam``) with a wrong kernel (:func:`perturb_kernel`),
    so the network also learns to sharpen and clean the latent images on
    which the blind methods call it.

    Parameters
    ----------
    faces : ndarray of uint8, shape (n, S, S)
        Prepared sharp faces (:func:`load_faces`).
    kernels : list of ndarray
        Kernel pool (:func:`kernel_pool`).
    crop : int
        Side of the training crops.
    scale : (float, float)
        Range of the random scale of the face before it is blurred (log-uniform);
        the lower end is raised so a crop fits.
    noise : (float, float)
        Range of the Gaussian noise standard deviation.
    contrast : (float, float)
        Range of the contrast factor (log-uniform) around a level drawn in [0.3, 0.7].
    latent : float
        Probability that the input is a latent image rather than the blurred face.
    lam : (float, float)
        Range of the latent step's weight (log-uniform).
    seed : int
    """

    def __init__(self, faces, kernels, *, crop=96, scale=(0.4, 1.0), noise=(0.005, 0.02), contrast=(0.4, 1.2),
                 latent=0.0, lam=(1e-3, 3e-2), seed=0):
        self.faces = np.asarray(faces)
        if self.faces.ndim != 3 or len(self.faces) == 0:
            raise ClassicDeblurError(f"Sampler needs faces of shape (n, S, S); got {self.faces.shape}")
        self.kernels = list(kernels)
        if not self.kernels:
            raise ClassicDeblurError("Sampler needs at least one kernel")
        self.crop = int(crop)
        S = self.faces.shape[1]
        if self.crop > S:
            raise ClassicDeblurError(f"crop {crop} is larger than the faces ({S} px)")
        self.scale = (max(float(scale[0]), self.crop / S), float(scale[1]))
        self.noise, self.contrast = tuple(map(float, noise)), tuple(map(float, contrast))
        self.latent, self.lam = float(latent), tuple(map(float, lam))
        self.rng = np.random.default_rng(seed)

    def _log_uniform(self, lo, hi):
        return float(np.exp(self.rng.uniform(np.log(lo), np.log(hi))))

    def pair(self):
        """One ``(input, sharp)`` pair of ``crop x crop`` float32 images."""
        rng = self.rng
        x = self.faces[rng.integers(len(self.faces))].astype(np.float32) / 255
        # contrast and level
        a = self._log_uniform(*self.contrast)
        x = np.clip(float(rng.uniform(0.3, 0.7)) + a * (x - x.mean()), 0, 1)
        if rng.random() < 0.5:
            x = np.ascontiguousarray(x[:, ::-1])
        side = max(self.crop, int(round(x.shape[0] * self._log_uniform(*self.scale))))
        if side != x.shape[0]:
            x = cv2.resize(x, (side, side), interpolation=cv2.INTER_AREA)
        k = self.kernels[rng.integers(len(self.kernels))]
        k = np.rot90(k, int(rng.integers(4)))
        if rng.random() < 0.5:
            k = k[:, ::-1]
        y = convolve_symmetric(x, k)
        y = y + float(rng.uniform(*self.noise)) * rng.standard_normal(y.shape).astype(np.float32)
        y = np.round(np.clip(y, 0, 1) * 255) / 255
        r, c = (int(rng.integers(side - self.crop + 1)) for _ in range(2))
        sl = (slice(r, r + self.crop), slice(c, c + self.crop))
        if rng.random() < self.latent:
            # deconvolve the crop with a margin of 1.5 kernel sizes (circular: the wrap-around
            # artefacts stay in the margin; cheaper than Liu & Jia's padding of the whole face)
            m = (3 * k.shape[0]) // 2 + 8
            r0, c0 = max(r - m, 0), max(c - m, 0)
            r1, c1 = min(r + self.crop + m, side), min(c + self.crop + m, side)
            w = latent_l2(y[r0:r1, c0:c1], perturb_kernel(np.ascontiguousarray(k), rng, self.kernels),
                          self._log_uniform(*self.lam), boundary="circular")
            inp = w[r - r0 : r - r0 + self.crop, c - c0 : c - c0 + self.crop]
        else:
            inp = y[sl]
        return np.ascontiguousarray(inp, dtype=np.float32), np.ascontiguousarray(x[sl], dtype=np.float32)

    def batch(self, n):
        """``(input, sharp)`` float32 arrays of shape ``(n, 1, crop, crop)``."""
        pairs = [self.pair() for _ in range(int(n))]
        return (np.stack([p[0] for p in pairs])[:, None], np.stack([p[1] for p in pairs])[:, None])


def describe() -> dict:
    """The data and kernels of training, for the model's manifest."""
    return {
        "faces": (f"CelebA identity folders celeb_{BENCHMARK_CELEBA_IDENTITIES}..celeb_{VALIDATION.start - 1} "
                  "(all 30 images each) and CelebA-HQ (StarGAN v2 samples) without "
                  + ", ".join(CELEBAHQ_EXCLUDED)),
        "validation": f"CelebA identity folders celeb_{VALIDATION.start}..celeb_{VALIDATION.stop - 1}",
        "excluded": "faces-256 images and identities (FFHQ: all 17; CelebA celeb_0..celeb_39), CelebA-HQ files of "
                    "or close to faces-256 identities, Yale B (all subjects are yaleb-256's), real blurry faces",
        "preparation": "gray (BT.601), centre square, 256x256 area resize, as benchmarks/_data.py",
        "kernels": "classicdeblur.psf.generators, 9-41 px: boracchi_foi 50% (anxiety 0.005 or 0.05, exposure "
                   "0.5-1), chakrabarti 25% (grid 4-16), motion 12%, gaussian 8% (sigma 0.5-3), disk 5%; "
                   "rotations by 90 degrees and mirrors; never the Levin or Lai kernels",
        "degradation": "contrast x0.4-1.2 around a level 0.3-0.7, horizontal flips, true convolution (symmetric "
                       "boundary), Gaussian noise 0.5-2%, clip, 8-bit quantisation, scale 0.4-1 (area), random crop",
    }

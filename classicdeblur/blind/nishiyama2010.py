r"""FADEIN: facial deblur inference by subspace analysis (Nishiyama et al., TPAMI 2011, online 2010).

The method (METHODS.md section 3, "also in the survey"; the paper's abstract
and its CVPR 2009 precursor, which is all we could read) infers the blur of a
face from a **discrete set of PSFs** learned beforehand:

1. *Feature space.* A feature is computed from the (registered) blurred face
   in the frequency domain such that faces degraded by the same PSF are
   similar to one another and form a cluster. Blur is a product in Fourier,
   :math:`Y = K X`, so the log power spectrum separates it additively,
   :math:`\log|Y|^2 = \log|K|^2 + \log|X|^2`: the face's own spectrum varies
   around a mean, the PSF shifts the whole cluster (our Eq. (1) below).
2. *Training.* For every PSF :math:`k_j` of the set, training faces are
   blurred by :math:`k_j` and a statistical model of their features is
   learned: here a PCA subspace, mean :math:`\mu_j` and ``r`` orthonormal
   components :math:`U_j` (Eq. (2)).
3. *Inference.* The query's feature :math:`f` is compared with every model
   and the closest is selected, by the reconstruction residual
   :math:`d_j = \|f - \mu_j\|^2 - \|U_j^T (f - \mu_j)\|^2` (Eq. (3)); its PSF
   is the inferred PSF.
4. *Deblurring.* The query is deconvolved with the inferred PSF by a
   non-blind method (the ``final`` step).

What could not be read, and what is ours
----------------------------------------
Only the abstracts of the TPAMI paper and of the CVPR 2009 version were
available to us; the paper's own equation numbers, its exact feature (the
abstract says only "a feature space"; the log power spectrum is the
description of METHODS.md and of the survey), the exact statistical model
(PCA subspace with residual distance, as the title "subspace analysis" and
METHODS.md say; whether the paper also uses LDA could not be checked), the
paper's PSF parameter grids (focus = disk and motion blur, per the abstract)
and its non-blind filter could not be read. The equation numbers in this
module are therefore **ours** (1)-(4). Also ours:

* **Features** (Eq. (1)): the face crop (the centre square of the image,
  no landmark registration: power spectra do not depend on where the face
  lies, only its size matters) resized to ``FRAME`` = 128 px, its periodic
  component (Moisan 2011, no border cross), the power spectrum normalised by
  the pixel count, pooled over 2x2 frequency bins of the half plane
  (64 x 32 = 2048 values), :math:`\log(\cdot + \epsilon)`, minus its own
  mean (invariance to the face's contrast).
* **PSF set** (frame pixels of the 128 px crop), only from the project's
  generators (:mod:`classicdeblur.psf.generators`), never the Levin or Lai
  kernels: no blur (a delta); ``disk`` radius 1 to 7 by 0.5 (defocus);
  ``gaussian`` sigma 0.5 to 3.5 by 0.5; linear ``motion`` of length 2 to 16
  by 1 at 18 angles (0 to 170 degrees by 10): 291 PSFs
  (:func:`psf_set`). The set is defined by parameters and rendered at any
  kernel size: the chosen parameters are scaled from the 128 px frame to the
  image (side / 128) and the generator draws the PSF at ``kernel_size``.
* **Training faces**: the shared training faces of
  :mod:`classicdeblur.learned.data` (CelebA identities 40-95 and CelebA-HQ,
  never a benchmark face), ``faces`` of them drawn with a fixed seed; each is
  blurred by every PSF (symmetric boundary), gets 0.5% Gaussian noise and
  8-bit quantisation.
* **Storage**: the 291 subspaces (``r`` = 8 components each) are stored in a
  shared ``d`` = 160 dimensional PCA projection of all training features
  (global mean and basis), so that the file stays about 2 MB; distances are
  measured in that projection (the part of a feature outside it is the same
  for every PSF).
* **Non-blind step** (Eq. (4)): ``hyper_laplacian`` (Krishnan & Fergus
  2009) by default; any ``NONBLIND`` method via ``final`` / ``final_params``.
* **Off-grid refinement** (Eq. (5), :func:`refine_psf`, ``iterations`` > 0;
  off by default): a pattern search on the inferred PSF's parameters under
  the additive model of Eq. (1). Measured on the test face (motion 9 px at
  35 degrees, off the 10-degree grid) it does not help (kernel similarity
  0.935 with 0 rounds, 0.933 with 4, 0.938 with 8), so the default is the
  paper's discrete inference.
* A PSF whose drawing is larger than ``kernel_size`` is cropped to it and
  renormalised.

The prior file is ``models/nishiyama2010.npz`` with its manifest
``models/nishiyama2010.json`` (sha256 of the file, the build command, the
training faces and settings), checked on every load. Rebuild it with::

    .venv/bin/python -m classicdeblur.blind.nishiyama2010 --data ../shared/data

(:func:`build_model`: 160 faces x 291 PSFs; 189 s on this project's shared
2-core machine; 2.8 MB).

What the set cannot do: a discrete set of parametric PSFs matches defocus,
Gaussian and straight motion blur; the curved camera-shake trajectories of
the Levin benchmark kernels are only approximated by the nearest straight
motion or disk. Measured (``benchmarks.faces``, 8 Levin kernels, sigma 0.01
+ 8 bits, kernel size = true size, hyper_laplacian final step), PSNR / SSIM,
kernel similarity, seconds per image:

=================  ===================  ===================  ===================
set                blurred input        nishiyama2010        xu2010
=================  ===================  ===================  ===================
faces-256 (8)      26.23 / 0.721        26.73 / 0.754, 0.58  29.95 / 0.840, 0.73
                                        0.26 s               1.25 s
yaleb-256 (6)      29.58 / 0.824        30.39 / 0.857, 0.55  30.82 / 0.854, 0.55
                                        0.25 s               1.19 s
=================  ===================  ===================  ===================

References
----------
.. [1] M. Nishiyama, A. Hadid, H. Takeshima, J. Shotton, T. Kozakaya and
   O. Yamaguchi, "Facial deblur inference using subspace analysis for
   recognition of blurred faces", IEEE TPAMI 33(4), 2011, pp. 838-845.
.. [2] M. Nishiyama, H. Takeshima, J. Shotton, T. Kozakaya and O. Yamaguchi,
   "Facial deblur inference to improve recognition of blurred faces",
   CVPR 2009.
"""

from __future__ import annotations

import functools
import json
import math
import time
from pathlib import Path

import numpy as np

from .._validation import check_count
from ..backend import asarray_on, get_namespace, to_numpy
from ..errors import ClassicDeblurError
from .framework import FLAT_STD, default_kernel_size, flat_result, gray
from .method import blind_method
from .pyramid import resize

__all__ = ["FRAME", "FAMILIES", "psf_set", "render_psf", "features", "learn_model", "build_model", "load_model",
           "infer_psf", "refine_psf", "nishiyama2010"]

#: Side of the frame in which features are computed and PSF parameters are given.
FRAME = 128
#: PSF families of the set.
FAMILIES = ("none", "disk", "gaussian", "motion")
#: Keys of a model dictionary (see :func:`learn_model`).
MODEL_KEYS = ("frame", "family", "param1", "param2", "global_mean", "projection", "means", "bases", "variances")
#: Feature floor (normalised power; the noise floor of 0.5% noise in a 128 px frame is about 1.5e-9).
_EPS = 1e-9
#: Model file and manifest names in the models folder.
MODEL_FILE, MANIFEST_FILE = "nishiyama2010.npz", "nishiyama2010.json"


# --------------------------------------------------------------------------------------
# the PSF set and the features
# --------------------------------------------------------------------------------------


def psf_set():
    """The discrete PSF set: ``(family, param1, param2)`` triples, parameters in pixels of the 128 px frame.

    ``none``: no blur; ``disk``: radius; ``gaussian``: sigma; ``motion``:
    length and angle (degrees).

    Examples
    --------
    >>> s = psf_set()
    >>> len(s), s[0], ("motion", 9.0, 30.0) in s
    (291, ('none', 0.0, 0.0), True)
    """
    out = [("none", 0.0, 0.0)]
    out += [("disk", float(r), 0.0) for r in np.arange(1.0, 7.01, 0.5)]
    out += [("gaussian", float(s), 0.0) for s in np.arange(0.5, 3.51, 0.5)]
    out += [("motion", float(length), float(a)) for length in range(2, 17) for a in range(0, 180, 10)]
    return out


def render_psf(family, param1, param2=0.0, *, scale=1.0, size=None):
    """Draw one PSF of the set with the project's generators, its parameters multiplied by ``scale``.

    Parameters
    ----------
    family : {"none", "disk", "gaussian", "motion"}
    param1, param2 : float
        Radius / sigma / length, and the motion angle in degrees (frame pixels).
    scale : float
        Image pixels per frame pixel.
    size : int, optional
        Odd side of the result (zero-padded or cropped about the centre, renormalised).

    Examples
    --------
    >>> k = render_psf("motion", 8, 30, scale=0.75, size=11)
    >>> k.shape, round(float(k.sum()), 6)
    ((11, 11), 1.0)
    """
    from ..psf.generators import make_kernel

    if family == "none":
        k = np.ones((1, 1))
    elif family == "disk":
        k = make_kernel("disk", radius=max(param1 * scale, 0.5))
    elif family == "gaussian":
        k = make_kernel("gaussian", sigma=max(param1 * scale, 0.3))
    elif family == "motion":
        length = param1 * scale
        k = make_kernel("motion", length=max(length, 1.0), angle=param2)
    else:
        raise ValueError(f"unknown PSF family {family!r}; expected one of {', '.join(FAMILIES)}")
    k = np.asarray(k, dtype=np.float64)
    if size is not None:
        out = np.zeros((size, size))
        h = k.shape[0]
        c, ch = size // 2, h // 2
        lo = max(0, ch - c)
        hi = min(h, ch + size - c)
        out[c - ch + lo : c - ch + hi, c - ch + lo : c - ch + hi] = k[lo:hi, lo:hi]
        k = out / out.sum()
    return k


def _periodic(u):
    """The periodic component (Moisan 2011) of each image of a stack ``(..., M, N)`` (NumPy)."""
    M, N = u.shape[-2:]
    v = np.zeros_like(u)
    dr = u[..., -1, :] - u[..., 0, :]
    dc = u[..., :, -1] - u[..., :, 0]
    v[..., 0, :] += dr
    v[..., -1, :] -= dr
    v[..., :, 0] += dc
    v[..., :, -1] -= dc
    q = np.arange(M)[:, None]
    r = np.arange(N // 2 + 1)[None, :]
    den = 2 * np.cos(2 * math.pi * q / M) + 2 * np.cos(2 * math.pi * r / N) - 4
    den[0, 0] = 1.0
    S = np.fft.rfft2(v) / den
    S[..., 0, 0] = 0
    return u - np.fft.irfft2(S, s=(M, N))


def features(crop):
    r"""Eq. (1): the pooled, mean-removed log power spectrum of a ``FRAME`` x ``FRAME`` gray face.

    Parameters
    ----------
    crop : ndarray of shape (..., F, F)
        One face or a stack (F divisible by 4).

    Returns
    -------
    ndarray of shape (..., F // 2 * F // 4), float64

    Examples
    --------
    >>> import numpy as np
    >>> f = features(np.random.default_rng(0).random((128, 128)))
    >>> f.shape, abs(float(f.mean())) < 1e-9
    ((2048,), True)
    """
    crop = np.asarray(crop, dtype=np.float64)
    F = crop.shape[-1]
    p = _periodic(crop - crop.mean(axis=(-2, -1), keepdims=True))
    power = np.abs(np.fft.rfft2(p)[..., : F // 2]) ** 2 / float(F) ** 4
    lead = crop.shape[:-2]
    pooled = power.reshape(lead + (F // 2, 2, F // 4, 2)).mean(axis=(-3, -1))
    f = np.log(pooled + _EPS).reshape(lead + (-1,))
    return f - f.mean(axis=-1, keepdims=True)


def _frame_crop(lum):
    """The centre square of a gray image resized to ``FRAME``, and the image pixels per frame pixel."""
    M, N = lum.shape
    s = min(M, N)
    t, left = (M - s) // 2, (N - s) // 2
    crop = np.asarray(lum[t : t + s, left : left + s], dtype=np.float64)
    return np.asarray(resize(crop, (FRAME, FRAME))), s / FRAME


# --------------------------------------------------------------------------------------
# learning (Eq. 2)
# --------------------------------------------------------------------------------------


def learn_model(faces, *, components=8, dims=160, noise=0.005, seed=0):
    """Learn one PCA subspace of blurred-face features per PSF of :func:`psf_set` (Eq. (2)).

    Parameters
    ----------
    faces : ndarray of shape (N, S, S)
        Sharp gray training faces in [0, 1] (uint8 is divided by 255), resized to ``FRAME``.
    components : int
        Components ``r`` of each PSF's subspace (at most N - 1).
    dims : int
        Dimension ``d`` of the shared projection the subspaces are stored in.
    noise : float
        Standard deviation of the Gaussian noise added to each blurred face
        (then quantised to 8 bits).
    seed : int
        Seed of the noise.

    Returns
    -------
    dict of str to ndarray
        ``frame`` (); ``family`` (P,) str; ``param1``, ``param2`` (P,);
        ``global_mean`` (D,); ``projection`` (d, D) orthonormal rows;
        ``means`` (P, d) per-PSF means in the projection; ``bases`` (P, r, d)
        orthonormal per-PSF components; ``variances`` (P, r). float32.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> rng = np.random.default_rng(0)
    >>> faces = np.stack([ndimage.gaussian_filter(rng.random((128, 128)), 2) for _ in range(4)])
    >>> m = learn_model(faces, components=2, dims=20)
    >>> m["means"].shape, m["bases"].shape, m["projection"].shape
    ((291, 20), (291, 2, 20), (20, 2048))
    """
    import cv2

    faces = np.asarray(faces)
    if faces.dtype == np.uint8:
        faces = faces / 255.0
    faces = np.asarray(faces, dtype=np.float64)
    if faces.ndim != 3 or faces.shape[0] < 2 or faces.shape[1] != faces.shape[2]:
        raise ValueError(f"learn_model needs faces of shape (N, S, S) with N >= 2; got {faces.shape}")
    faces = np.stack([np.asarray(resize(f, (FRAME, FRAME))) for f in faces])
    n = len(faces)
    r = min(check_count("components", components, 1), n - 1)
    dims = check_count("dims", dims, 1)
    rng = np.random.default_rng(seed)
    pset = psf_set()
    faces32 = faces.astype(np.float32)
    means, comps, variances = [], [], []
    for family, p1, p2 in pset:
        k = np.ascontiguousarray(render_psf(family, p1, p2)[::-1, ::-1], dtype=np.float32)
        # true convolution with a symmetric boundary, the protocol's noise and 8-bit quantisation
        ys = np.stack([cv2.filter2D(x, -1, k, borderType=cv2.BORDER_REFLECT) for x in faces32]).astype(np.float64)
        ys = np.round(np.clip(ys + noise * rng.standard_normal(ys.shape), 0, 1) * 255) / 255
        feats = features(ys)
        mu = feats.mean(axis=0)
        c = feats - mu
        # the subspace from the Gram matrix (n x n, n << D): eigenvectors give the components
        w, v = np.linalg.eigh(c @ c.T)
        top = np.argsort(w)[::-1][:r]
        sv = np.sqrt(np.maximum(w[top], 0))
        vt = (v[:, top].T @ c) / np.maximum(sv, 1e-12)[:, None]
        means.append(mu)
        comps.append(vt[:r] * sv[:r, None])
        variances.append(sv[:r] ** 2 / (n - 1))
    means, comps = np.stack(means), np.stack(comps)
    gmean = means.mean(axis=0)
    # the shared projection: principal directions of the PSF means and of the scaled subspace components
    stack = np.concatenate([means - gmean, comps.reshape(-1, comps.shape[-1]) / math.sqrt(n - 1)])
    if stack.shape[0] >= stack.shape[1]:
        w, v = np.linalg.eigh(stack.T @ stack)
        Q = v[:, np.argsort(w)[::-1][: min(dims, len(w))]].T
    else:  # fewer rows than feature dimensions (small models): the same directions from the rows' Gram matrix
        w, v = np.linalg.eigh(stack @ stack.T)
        top = np.argsort(w)[::-1][: min(dims, len(w))]
        Q = (v[:, top].T @ stack) / np.sqrt(np.maximum(w[top], 1e-30))[:, None]
    pm = (means - gmean) @ Q.T
    pb = np.empty((len(pset), r, len(Q)))
    for j in range(len(pset)):
        # the subspace's components projected and re-orthonormalised (largest first)
        u, _, _ = np.linalg.svd((comps[j] @ Q.T).T, full_matrices=False)
        pb[j] = u[:, :r].T
    out = {
        "frame": np.array(FRAME), "family": np.array([p[0] for p in pset]),
        "param1": np.array([p[1] for p in pset]), "param2": np.array([p[2] for p in pset]),
        "global_mean": gmean, "projection": Q, "means": pm, "bases": pb, "variances": np.stack(variances),
    }
    return {k: (v if v.dtype.kind == "U" else np.ascontiguousarray(v, dtype=np.float32)) for k, v in out.items()}


def build_model(data, folder=None, *, faces=160, seed=0, **params):
    """Learn the model from the shared training faces and write ``nishiyama2010.npz`` and its manifest.

    Parameters
    ----------
    data : path
        The shared data folder (``../shared/data``).
    folder : path, optional
        Output folder (default: the models folder, :func:`classicdeblur.learned.models.models_dir`).
    faces : int
        Training faces drawn (seeded) from :func:`classicdeblur.learned.data.face_paths` ``(data, "train")``.
    seed : int
        Seed of the draw and of the noise.
    **params
        More :func:`learn_model` parameters.

    Returns
    -------
    Path
        The written model file.
    """
    from ..learned.data import face_paths, load_faces
    from ..learned.models import file_sha256, models_dir

    t0 = time.perf_counter()
    folder = Path(models_dir() if folder is None else folder)
    paths = face_paths(data, "train")
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(paths), size=min(int(faces), len(paths)), replace=False).tolist())
    imgs = load_faces([paths[i] for i in chosen])
    model = learn_model(imgs, seed=seed, **params)
    path = folder / MODEL_FILE
    with open(path, "wb") as f:
        np.savez_compressed(f, **model)
    manifest = {
        "format": 1,
        "description": "Nishiyama et al. 2010 (FADEIN) PSF-set subspaces of blurred-face log power spectra "
                       "(classicdeblur.blind.nishiyama2010)",
        "file": MODEL_FILE, "sha256": file_sha256(path), "bytes": path.stat().st_size,
        "arrays": {k: list(v.shape) for k, v in model.items()},
        "training": {
            "command": f"python -m classicdeblur.blind.nishiyama2010 --data {data} --faces {faces} --seed {seed}",
            "faces": [str(Path(paths[i]).relative_to(Path(data))) for i in chosen],
            "faces_source": "classicdeblur.learned.data.face_paths(data, 'train'): CelebA identities 40-95 "
                            "and CelebA-HQ minus CELEBAHQ_EXCLUDED; never faces-256 / yaleb-256",
            "psf_set": "classicdeblur.blind.nishiyama2010.psf_set(): the project's disk, gaussian and motion "
                       "generators only (no Levin / Lai kernels)",
            "params": {"seed": seed, **params}, "seconds": round(time.perf_counter() - t0, 1),
        },
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return path


@functools.lru_cache(maxsize=4)
def _load_cached(path, stamp):
    from ..learned.models import file_sha256

    manifest = json.loads((Path(path).parent / MANIFEST_FILE).read_text())
    if file_sha256(path) != manifest["sha256"]:
        raise ClassicDeblurError(f"{path} does not match the sha256 of its manifest {MANIFEST_FILE}; "
                                 "rebuild it with build_model")
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def load_model(folder=None):
    """The shipped model (``models/nishiyama2010.npz``), sha256-checked against ``nishiyama2010.json``.

    Examples
    --------
    >>> m = load_model()
    >>> m["family"].shape == m["param1"].shape, int(m["frame"][0])
    (True, 128)
    """
    from ..learned.models import models_dir

    path = Path(models_dir() if folder is None else folder) / MODEL_FILE
    if not path.exists() or not (path.parent / MANIFEST_FILE).exists():
        raise ClassicDeblurError(f"the nishiyama2010 model {path} or its manifest is missing; build it with "
                                 "'python -m classicdeblur.blind.nishiyama2010 --data ../shared/data'")
    return _load_cached(str(path), path.stat().st_mtime_ns)


def _check_model(model):
    if not isinstance(model, dict):
        raise ValueError(f"model must be a dict from learn_model; got {type(model).__name__}")
    missing = [k for k in MODEL_KEYS if k not in model]
    if missing:
        raise ValueError(f"the nishiyama2010 model lacks {', '.join(missing)}; build it with learn_model")
    return model


# --------------------------------------------------------------------------------------
# inference (Eq. 3)
# --------------------------------------------------------------------------------------


def infer_psf(crop, model, families=FAMILIES):
    """Eq. (3): residuals of a frame-sized gray crop to every PSF subspace, sorted (closest first).

    Returns
    -------
    order : ndarray of int
        Indices into the model's PSF set, closest first (only the given ``families``).
    residuals : ndarray
        The residuals, same order.

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.blind.nishiyama2010 import load_model
    >>> order, res = infer_psf(np.random.default_rng(0).random((128, 128)), load_model())
    >>> bool(np.all(np.diff(res) >= 0))
    True
    """
    g = np.asarray(model["projection"], dtype=np.float64) @ (features(crop) - model["global_mean"])
    e = g[None, :] - np.asarray(model["means"], dtype=np.float64)  # (P, d)
    B = np.asarray(model["bases"], dtype=np.float64)  # (P, r, d)
    proj = np.einsum("prd,pd->pr", B, e)
    res = (e**2).sum(axis=1) - (proj**2).sum(axis=1)  # Eq. (3)
    keep = np.flatnonzero(np.isin(model["family"], list(families)))
    order = keep[np.argsort(res[keep], kind="stable")]
    return order, res[order]


#: Floor of a PSF's normalised power in the additive shift of Eq. (5) (its zeros sink into the noise).
_K_FLOOR = 1e-3
#: Initial steps of the parameter refinement: (param1, param2) per family, frame pixels / degrees.
_STEPS = {"disk": (0.25, 0.0), "gaussian": (0.25, 0.0), "motion": (0.5, 5.0)}


def _psf_log_power(family, p1, p2):
    """Pooled log power of a PSF on the feature grid (Eq. (1) applied to the kernel alone)."""
    k = render_psf(family, p1, p2)
    pad = np.zeros((FRAME, FRAME))
    h = min(k.shape[0], FRAME)
    pad[:h, :h] = k[:h, :h]
    power = np.abs(np.fft.rfft2(pad)[:, : FRAME // 2]) ** 2
    pooled = power.reshape(FRAME // 2, 2, FRAME // 4, 2).mean(axis=(1, 3))
    return np.log(pooled + _K_FLOOR).ravel()


def _residual(g, mean, basis):
    e = g - mean
    return float(e @ e - np.sum((basis @ e) ** 2))


def refine_psf(crop, model, index, iterations):
    r"""Ours, Eq. (5): refine the parameters of the inferred PSF ``index`` off the discrete grid.

    By Eq. (1) a PSF :math:`k'` near the set's :math:`k_j` moves the cluster
    of :math:`k_j` by :math:`\Delta = \log|K'|^2 - \log|K_j|^2` (pooled,
    mean removed, the PSF's zeros floored): its model is
    :math:`(\mu_j + Q\Delta, U_j)`. A pattern search on the parameters
    (radius / sigma; motion length and angle) minimises the residual of
    Eq. (3) under that model: each iteration tries the neighbours at the
    current steps, moves to the best if it is closer, else halves the steps.

    Returns
    -------
    params : (float, float)
        Refined (param1, param2), frame pixels and degrees.
    history : list of dict
        ``iteration``, ``params``, ``data`` (the residual) per iteration.
    """
    family = str(model["family"][index])
    p = [float(model["param1"][index]), float(model["param2"][index])]
    Q = np.asarray(model["projection"], dtype=np.float64)
    g = Q @ (features(crop) - model["global_mean"])
    mean = np.asarray(model["means"][index], dtype=np.float64)
    basis = np.asarray(model["bases"][index], dtype=np.float64)
    base = _psf_log_power(family, *p)

    def cost(q):
        shift = _psf_log_power(family, *q) - base
        return _residual(g, mean + Q @ (shift - shift.mean()), basis)

    best = cost(p)
    history = []
    if family not in _STEPS:
        return tuple(p), history
    step = list(_STEPS[family])
    low = {"disk": 0.5, "gaussian": 0.3, "motion": 1.0}[family]
    for it in range(iterations):
        trials = []
        for d in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            q = [p[0] + d[0] * step[0], p[1] + d[1] * step[1]]
            if q[0] >= low and (d[0] or step[1]):
                trials.append(q)
        costs = [cost(q) for q in trials]
        if costs and min(costs) < best:
            i = int(np.argmin(costs))
            p, best = trials[i], costs[i]
        else:
            step = [step[0] / 2, step[1] / 2]
        history.append({"iteration": it + 1, "params": [p[0], p[1] % 180.0], "data": best})
    return (p[0], p[1] % 180.0), history


# --------------------------------------------------------------------------------------
# the method
# --------------------------------------------------------------------------------------


@blind_method(
    "nishiyama2010",
    description="Nishiyama et al. 2010 FADEIN: the PSF of a discrete set (defocus, Gaussian, linear motion) whose "
    "subspace of blurred-face log power spectra is nearest, then non-blind deconvolution",
    final=("hyper_laplacian", None),
    face=True,
    screening=False,  # no alternation: no intermediate image to screen
)
def nishiyama2010(image, options, *, kernel_size=None, rng=None, target=None, model=None, families=FAMILIES,
                  report=5, iterations=0):
    r"""Blind face deblurring by PSF inference from learned subspaces (Nishiyama et al., TPAMI 2011).

    The face crop (centre square, resized to 128 px) gives a feature, the
    log power spectrum (Eq. (1)); the PSF of the set whose training subspace
    reconstructs it best (Eq. (3)) is drawn at ``kernel_size`` and the image
    is restored with it (Eq. (4), the ``final`` step). See
    :mod:`classicdeblur.blind.nishiyama2010` for what is the paper's and what is ours.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred face, float in [0, 1], framed like the training faces (the
        face filling most of the centre square).
    kernel_size : int, optional
        Odd kernel size (default: 31, shrunk for small images).
    rng : int or numpy.random.Generator, optional
        Unused (the method is deterministic).
    target : ndarray, optional
        The image the final step restores (default ``image``).
    model : dict, optional
        A model from :func:`learn_model` (default: the shipped one, :func:`load_model`).
    families : sequence of str
        The PSF families of the set considered (a subset of :data:`FAMILIES`).
    report : int
        How many of the closest PSFs ``info["candidates"]`` lists.
    iterations : int
        Rounds of our off-grid refinement of the inferred PSF's parameters
        (:func:`refine_psf`, Eq. (5)); 0 (default) gives the paper's discrete
        inference alone.
    final, final_params, engine, face_box, exemplars
        The shared keywords of every blind method (:mod:`~classicdeblur.blind.method`);
        the final step defaults to ``"hyper_laplacian"``. ``face_box`` is
        used by the whole-photo path; ``exemplars`` is not used (the method
        has no exemplars). The method does not alternate, so it has no
        intermediate image for pixel screening and refuses ``pixel_screening``.

    Returns
    -------
    image : ndarray
        Restored image, same shape as the input.
    kernel : ndarray
        The inferred PSF (odd, non-negative, sums to 1).
    info : dict
        ``psf`` (family, parameters in image pixels and in frame pixels),
        ``candidates`` (the ``report`` closest PSFs and their residuals),
        ``kernel_size``, ``final``, ``history`` (the discrete inference, then one
        entry per refinement round: ``params`` in frame pixels, ``data`` the
        residual), ``iterations`` (its length), ``timings``.

    Raises
    ------
    ValueError
        Bad ``families``, ``report`` or ``model``.

    Examples
    --------
    >>> import numpy as np
    >>> import classicdeblur as cd
    >>> from classicdeblur.degrade import degrade
    >>> from skimage import data
    >>> x = data.camera()[::4, ::4] / 255.0
    >>> y = degrade(x, render_psf("motion", 12, 30, scale=1.0), noise=None, rng=0)
    >>> out, k, info = nishiyama2010(y, kernel_size=15)
    >>> out.shape, k.shape, info["psf"]["family"]
    ((128, 128), (15, 15), 'motion')
    """
    t0 = time.perf_counter()
    families = tuple(families) if not isinstance(families, str) else (families,)
    if not families or any(f not in FAMILIES for f in families):
        raise ValueError(f"families must be a non-empty subset of {FAMILIES}; got {families!r}")
    report = check_count("report", report, 1)
    iterations = check_count("iterations", iterations, 0)
    model = load_model() if model is None else _check_model(model)
    xp = get_namespace(image)
    target = image if target is None else target
    size = default_kernel_size(image.shape, kernel_size)
    # one explicit copy of the luminance to the host: the features and the inference are small NumPy work
    lum = to_numpy(gray(image)).astype(np.float64)
    if float(lum.std()) < FLAT_STD:
        return flat_result(target, size)
    crop, scale = _frame_crop(lum)
    order, res = infer_psf(crop, model, families)
    fam = str(model["family"][order[0]])
    history = [{"iteration": 0, "params": [float(model["param1"][order[0]]), float(model["param2"][order[0]])],
                "data": float(res[0])}]
    (p1, p2), steps = refine_psf(crop, model, order[0], iterations) if iterations else (history[0]["params"], [])
    history += steps
    k = render_psf(fam, p1, p2, scale=scale, size=size)
    t_fit = time.perf_counter()
    kernel = asarray_on(xp, k).astype(image.dtype)
    restored = options.final(target, kernel)  # Eq. (4)
    t_end = time.perf_counter()

    def describe(j):
        d = {"family": str(model["family"][j]), "frame_params": [float(model["param1"][j]),
                                                                 float(model["param2"][j])]}
        return d

    info = {
        "psf": {**describe(order[0]), "params": _image_params(fam, p1, p2, scale)},
        "candidates": [{**describe(j), "residual": float(r)} for j, r in zip(order[:report], res[:report])],
        "scale": scale, "kernel_size": size, "final": options.final.method, "history": history,
        "iterations": len(history),
        "timings": {"fit": t_fit - t0, "final": t_end - t_fit, "total": t_end - t0},
    }
    return restored, kernel, info


def _image_params(family, p1, p2, scale):
    if family == "disk":
        return {"radius": p1 * scale}
    if family == "gaussian":
        return {"sigma": p1 * scale}
    if family == "motion":
        return {"length": p1 * scale, "angle": p2}
    return {}


def _main(argv=None):  # pragma: no cover - the build command
    import argparse

    ap = argparse.ArgumentParser(description="build models/nishiyama2010.npz (Nishiyama et al. 2010 subspaces)")
    ap.add_argument("--data", required=True, help="the shared data folder")
    ap.add_argument("--faces", type=int, default=160)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", default=None, help="output folder (default: the models folder)")
    a = ap.parse_args(argv)
    print(build_model(a.data, a.output, faces=a.faces, seed=a.seed))


if __name__ == "__main__":  # pragma: no cover
    _main()

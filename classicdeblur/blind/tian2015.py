r"""Coupled learning of PSF and face coefficients (Tian & Tao, TIP 2015).

The method (METHODS.md section 3; paper abstract and Sec. III, which we could
read only in part) represents

* the **PSF** as a linear combination of a set of orthogonal PSFs,
  :math:`k = \sum_j c_j P_j`; here the :math:`P_j` are the leading principal
  directions (uncentred SVD) of a bank of plausible kernels;
* the **sharp face** (the "estimated intrinsic image", EI) as a linear
  combination of an orthogonal face basis, :math:`x = m + \sum_i a_i U_i`;
  here the mean and principal components of aligned sharp faces;

so that blind deconvolution reduces to finding the two coefficient vectors
:math:`a, c` that minimise the reconstruction error of the blurred face
:math:`y`,

.. math:: E(a, c) = \Big\| y - \big(\textstyle\sum_j c_j P_j\big) * \big(m + \sum_i a_i U_i\big) \Big\|^2_\Omega
          + \lambda \sum_i a_i^2 / s_i^2 + \mu \|c\|^2
          \quad \text{s.t.} \quad \textstyle\sum_j c_j \sum P_j = 1,        (1)

(:math:`\Omega`: the pixels whose blur does not reach outside the crop). It is
bilinear, and solved by alternating least squares ("coupled learning"):

* **a-step** (face coefficients, Eq. 2): with :math:`k` fixed,
  :math:`(B^T B + \lambda S^{-2}) a = B^T (y - k * m)`, :math:`B = [k * U_i]`;
* **c-step** (PSF coefficients, Eq. 3): with :math:`x` fixed, an
  equality-constrained ridge regression on :math:`D = [P_j * x]` (KKT system).

To be robust, the paper generates **several candidate PSFs and EIs** and
restores the blurred image with each candidate PSF by a non-blind
deconvolution; a **blind image-quality measure** (NIQE, :mod:`classicdeblur.niqe`,
fitted on the sharp exemplar faces) then selects the best restoration.

What is ours (the full text of the paper was not available to us; the
abstract and METHODS.md fix the structure above):

* the quadratic regularisers of Eq. 1 (a Gaussian prior on the PCA
  coefficients with the training variances :math:`s_i^2`, a ridge on
  :math:`c`), the valid-region data term and the KKT form of the
  normalisation;
* the candidates: one coupled fit per number of face components
  (``face_components``), each also *refined* at full resolution by a few
  alternations of an L0-gradient x-step (Xu et al. 2011) and an L2 k-step on
  gradients (:class:`~classicdeblur.operators.kernel.KernelSystem`) started from
  the coupled kernel, inside :func:`~classicdeblur.blind.framework.run_blind`
  (``refine_levels`` finest pyramid levels, where ``pixel_screening``
  applies). The face subspace only carries the low frequencies of a face, so
  the coupled kernel is a good *initial* kernel whose fine structure the
  refinement restores. ``refine=0`` gives the paper's candidates alone;
* the bases: faces are fitted at ``BASIS_SIZE`` (64 px, the 128 px canonical
  crop downscaled by 2) and the PSF basis is learned at ``PSF_SIZE`` (31 px)
  for faces framed in ``REFERENCE_FRAME`` (256 px) pixels, from kernels
  generated with a fixed seed (random camera shake, Chakrabarti-style
  splines, lines, disks, Gaussians) and the repository's ``lai``, ``shen`` and
  ``chakrabarti`` banks. The ``levin`` bank is left out on purpose: it is the
  evaluation set of the benchmarks.

Alignment: with the face tools (:mod:`classicdeblur.faces`), the face is
located (dlib's landmarks on the ``face_box`` when one is given, else on the
face dlib detects) and aligned to the canonical frame; the kernel found in
that frame is mapped back to the photo by the inverse of the alignment's
linear part (scale and rotation). Without a located face, the image is taken
as a face crop framed like the benchmark crops.

The blurs of the coupled fit are those of whole bases at once (every face
component by one kernel, one face by every PSF component):
:class:`~classicdeblur.operators.kernel.BatchedBlur`.

This module is longer than the package's ~500-line guide because it keeps
the learning of the bases and of the NIQE model (:func:`learn_model`, run
once when the exemplar database is built) next to the fit and the method
that read them, so that the model's format is defined in one place.

References
----------
.. [1] D. Tian and D. Tao, "Coupled learning for facial deblur", IEEE
   Transactions on Image Processing 25(2), 2016 (online 2015), pp. 961-972.
.. [2] A. Mittal, R. Soundararajan and A. C. Bovik, "Making a 'completely
   blind' image quality analyzer", IEEE Signal Processing Letters 20(3), 2013.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import ndimage

from .._validation import check_count, check_positive
from ..backend import asarray_on, get_namespace, to_numpy
from ..errors import ClassicDeblurError
from ..niqe import fit_niqe, niqe
from ..operators.kernel import BatchedBlur, KernelSystem
from ..solvers.nonblind import deconvolve
from .constraints import project_kernel, recenter
from .framework import FLAT_STD, Estimator, default_kernel_size, flat_result, gradient_pairs, gray, run_blind
from .method import blind_method
from .pyramid import resize, resize_kernel

__all__ = ["BASIS_SIZE", "PSF_SIZE", "REFERENCE_FRAME", "coupled_fit", "learn_model", "psf_bank", "tian2015"]

#: Side of the face basis (the canonical 128 px crop downscaled by 2).
BASIS_SIZE = 64
#: Side of the PSF basis.
PSF_SIZE = 31
#: Side, in pixels, of the face frame at which the PSF basis is defined.
REFERENCE_FRAME = 256
#: Components kept by :func:`learn_model`.
N_FACE, N_PSF = 120, 96


# --------------------------------------------------------------------------------------
# learning
# --------------------------------------------------------------------------------------


def psf_bank(seed=0):
    """The kernels whose principal directions form the PSF basis: float64 (K, 31, 31), centred.

    Generated with the fixed ``seed`` (random camera-shake trajectories after
    Boracchi & Foi, Chakrabarti splines, linear motion, disks, Gaussians) plus
    the repository banks ``lai``, ``shen`` and ``chakrabarti`` (kernels larger
    than 31 px are shrunk to 31). The ``levin`` bank (benchmark kernels) is excluded.

    Examples
    --------
    >>> b = psf_bank()
    >>> b.shape[1:], bool(np.allclose(b.sum(axis=(1, 2)), 1))
    ((31, 31), True)
    """
    from ..psf import bank as kbank
    from ..psf.generators import make_kernel
    from ..psf.utils import crop_to_support

    rng = np.random.default_rng(seed)
    S = PSF_SIZE
    ks = []

    def add(k):
        k = np.asarray(k, dtype=np.float64)
        k = crop_to_support(k, tol=1e-4 * float(k.max()))
        if max(k.shape) > S:
            side = max(k.shape) | 1
            k = _pad_center(k, side)
            k = to_numpy(resize_kernel(k, S))
        k = _pad_center(k, S)
        k, _ = recenter(np.maximum(k, 0) / k.sum())
        ks.append(k)

    for size in (7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31):
        for _ in range(14):
            add(make_kernel("boracchi_foi", size, rng=rng))
    for grid in (4, 6, 8, 10, 12, 14, 16):
        for _ in range(14):
            add(make_kernel("chakrabarti", S, rng=rng, grid=grid))
    for length in range(3, 28, 4):
        for angle in range(0, 180, 15):
            add(make_kernel("motion", length=length, angle=angle))
    for r in (1, 2, 3, 4, 5, 6):
        add(make_kernel("disk", radius=r))
    for s in (0.5, 1.0, 1.5, 2.0, 3.0):
        add(make_kernel("gaussian", sigma=s))
    for bank in ("lai", "shen", "chakrabarti"):
        try:
            names = kbank.list_kernels(bank)
        except ClassicDeblurError:  # pragma: no cover - banks missing from a copy of the repo
            names = []
        for name in names:
            add(kbank.load_kernel(name))
    return np.stack(ks)


def _pad_center(k, side):
    """Zero-pad (or crop) a kernel to ``side`` x ``side`` keeping its centre pixel."""
    out = np.zeros((side, side), dtype=k.dtype)
    h, w = k.shape
    ch, cw, c = h // 2, w // 2, side // 2
    r0, r1 = max(0, ch - c), min(h, ch + side - c)
    c0, c1 = max(0, cw - c), min(w, cw + side - c)
    out[c - ch + r0 : c - ch + r1, c - cw + c0 : c - cw + c1] = k[r0:r1, c0:c1]
    return out


def learn_model(db, *, face_components=N_FACE, psf_components=N_PSF, niqe_patch=96, seed=0):
    """Learn the face basis, the PSF basis and the NIQE model of Tian & Tao 2015.

    Parameters
    ----------
    db : ExemplarDB or object with ``faces``
        ``faces``: float (N, S, S) aligned gray sharp faces in [0, 1] (S = 128
        for the exemplar database).
    face_components, psf_components : int
        Components kept (at most N - 1 faces and the bank size).
    niqe_patch : int
        Patch size of the NIQE model (96 gives one patch per 128 px face).
    seed : int
        Seed of the generated kernels of :func:`psf_bank`.

    Returns
    -------
    dict of str to ndarray
        ``face_mean`` float32 (64, 64); ``face_basis`` float32 (n, 64, 64),
        orthonormal (as vectors); ``face_std`` float32 (n,) the standard
        deviations of the training coefficients; ``psf_basis`` float32
        (p, 31, 31), orthonormal; ``psf_singular`` float32 (p,);
        ``niqe_mu`` float64 (36,), ``niqe_cov`` (36, 36), ``niqe_patch``;
        ``frame`` the reference frame (256). About 2.4 MB with the defaults.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> rng = np.random.default_rng(0)
    >>> db = SimpleNamespace(faces=rng.random((12, 128, 128)).astype(np.float32))
    >>> m = learn_model(db, face_components=5, psf_components=8)
    >>> m["face_basis"].shape, m["psf_basis"].shape
    ((5, 64, 64), (8, 31, 31))
    """
    faces = np.asarray(db.faces, dtype=np.float64)
    if faces.ndim != 3 or faces.shape[0] < 3:
        raise ValueError(f"learn_model needs at least 3 gray faces (N, S, S); got shape {faces.shape}")
    n_face = check_count("face_components", face_components, 1)
    n_psf = check_count("psf_components", psf_components, 1)
    small = np.stack([to_numpy(resize(f, (BASIS_SIZE, BASIS_SIZE))) for f in faces])
    X = small.reshape(len(small), -1)
    mean = X.mean(axis=0)
    # face basis: principal components of the aligned sharp faces (orthonormal rows of V^T)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    n_face = min(n_face, len(X) - 1)
    std = s[:n_face] / math.sqrt(len(X) - 1)
    # PSF basis: uncentred SVD, so that every kernel is a combination of orthogonal PSFs
    kb = psf_bank(seed).reshape(-1, PSF_SIZE * PSF_SIZE)
    _, ps, pvt = np.linalg.svd(kb, full_matrices=False)
    n_psf = min(n_psf, len(ps))
    nq = fit_niqe(faces, patch=niqe_patch)
    return {
        "face_mean": mean.reshape(BASIS_SIZE, BASIS_SIZE).astype(np.float32),
        "face_basis": vt[:n_face].reshape(n_face, BASIS_SIZE, BASIS_SIZE).astype(np.float32),
        "face_std": std.astype(np.float32),
        "psf_basis": pvt[:n_psf].reshape(n_psf, PSF_SIZE, PSF_SIZE).astype(np.float32),
        "psf_singular": ps[:n_psf].astype(np.float32),
        "niqe_mu": nq["mu"], "niqe_cov": nq["cov"], "niqe_patch": np.array(int(niqe_patch)),
        "frame": np.array(REFERENCE_FRAME),
    }


# --------------------------------------------------------------------------------------
# the coupled fit (Eq. 1-3)
# --------------------------------------------------------------------------------------


def _resample_linear(kernels, size, factor):
    """Linear (sign-preserving) resampling of a stack of kernels by ``factor`` onto ``size`` x ``size``."""
    n, h, _ = kernels.shape
    c_in, c_out = (h - 1) / 2, (size - 1) / 2
    grid = (np.arange(size) - c_out) / factor + c_in
    coords = np.stack(np.meshgrid(grid, grid, indexing="ij"))
    sig = max(0.0, (1 / factor - 1) / 2)
    out = np.empty((n, size, size))
    for i, k in enumerate(kernels):
        kk = ndimage.gaussian_filter(k, sig, mode="constant") if sig > 0 else k
        out[i] = ndimage.map_coordinates(kk, coords, order=1, mode="constant", cval=0.0)
    return out


def _orthonormal(stack, tol=1e-3):
    """Orthonormal basis (rows) of the span of a stack of arrays, small directions dropped."""
    A = stack.reshape(len(stack), -1)
    _, s, vt = np.linalg.svd(A, full_matrices=False)
    keep = s > tol * s[0]
    return vt[keep].reshape((int(keep.sum()),) + stack.shape[1:])


def coupled_fit(y, model, *, kernel_size, face_components=None, iterations=20, face_weight=1.0,
                psf_weight=1e-3, gradients=True):
    r"""Alternating least squares for the face and PSF coefficients (Eq. 1-3) on a basis-sized crop.

    Parameters
    ----------
    y : ndarray of shape (R, R)
        Blurred face crop at the basis resolution (``R = BASIS_SIZE``).
    model : dict
        From :func:`learn_model`.
    kernel_size : int
        Odd kernel size at this resolution.
    face_components : int, optional
        Number of face components used (default: all).
    iterations : int
        Alternations (a-step then c-step).
    face_weight : float
        :math:`\lambda`, weight of the Gaussian prior on the face coefficients.
    psf_weight : float
        :math:`\mu`, ridge on the PSF coefficients.
    gradients : bool
        Measure the error of Eq. 1 on horizontal and vertical differences
        (ours: it weighs the edges, where blur shows, over the smooth shading
        that the face subspace fits worst) instead of intensities.

    Returns
    -------
    kernel : ndarray (kernel_size, kernel_size)
        The fitted PSF (unconstrained: may have small negative values).
    face : ndarray (R, R)
        The EI :math:`m + U a`.
    history : list of float
        Data term after each alternation.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> rng = np.random.default_rng(0)
    >>> m = learn_model(SimpleNamespace(faces=rng.random((10, 128, 128))), face_components=4, psf_components=16)
    >>> k, x, h = coupled_fit(m["face_mean"], m, kernel_size=5, iterations=3)
    >>> k.shape, x.shape, len(h)
    ((5, 5), (64, 64), 3)
    """
    y = np.asarray(y, dtype=np.float64)
    R = y.shape[0]
    mean = np.asarray(model["face_mean"], dtype=np.float64)
    U = np.asarray(model["face_basis"], dtype=np.float64)
    std = np.asarray(model["face_std"], dtype=np.float64)
    if face_components is not None:
        U, std = U[:face_components], std[:face_components]
    if mean.shape != (R, R):
        raise ValueError(f"the crop must be {mean.shape}; got {y.shape}")
    ks = int(kernel_size)
    h = ks // 2
    frame = float(np.asarray(model.get("frame", REFERENCE_FRAME)))
    # PSF basis at this resolution: resampled from the reference frame, re-orthonormalised
    factor = R / frame
    P = _orthonormal(_resample_linear(np.asarray(model["psf_basis"], dtype=np.float64), ks, factor))
    sums = P.sum(axis=(1, 2))
    # zero-boundary blurs of whole bases by FFT; only the valid region Omega enters the data term
    blur = BatchedBlur((R, R), ks)
    if gradients:
        def feat(a):  # forward differences inside Omega, both directions, flattened per leading index
            v = blur.valid(a)
            lead = v.shape[:-2]
            return np.concatenate([np.diff(v, axis=-1).reshape(lead + (-1,)), np.diff(v, axis=-2).reshape(lead + (-1,))],
                                  axis=-1)
    else:
        def feat(a):
            v = blur.valid(a)
            return v.reshape(v.shape[:-2] + (-1,))
    yv = feat(y)
    FU = blur.spectrum(U)
    Fm = blur.spectrum(mean)
    FP = blur.kernel_spectrum(P)
    prior = face_weight / np.maximum(std, 1e-8) ** 2
    # initial kernel: a small Gaussian, projected into the PSF span
    g = np.exp(-((np.arange(ks) - h) ** 2) / 2.0)
    k0 = np.outer(g, g)
    c = (P.reshape(len(P), -1) @ (k0 / k0.sum()).ravel())
    history = []
    for _ in range(iterations):
        K = (c[:, None, None] * FP).sum(axis=0)
        # a-step (Eq. 2)
        B = feat(blur.image(FU * K))
        r = yv - feat(blur.image(Fm * K))
        a = np.linalg.solve(B @ B.T + np.diag(prior), B @ r)
        x = mean + np.tensordot(a, U, axes=1)
        # c-step (Eq. 3): min ||D^T c - y||^2 + mu ||c||^2  s.t.  sums . c = 1
        D = feat(blur.image(FP * blur.spectrum(x)))
        A = D @ D.T + psf_weight * np.eye(len(P))
        kkt = np.block([[A, sums[:, None]], [sums[None, :], np.zeros((1, 1))]])
        sol = np.linalg.solve(kkt, np.concatenate([D @ yv, [1.0]]))
        c = sol[:-1]
        history.append(float(np.sum((c @ D - yv) ** 2)))
    kernel = np.tensordot(c, P, axes=1)
    return kernel, x, history


# --------------------------------------------------------------------------------------
# face framing
# --------------------------------------------------------------------------------------


def _face_frame(lum, use_faces, face_box=None):
    """``(crop at BASIS_SIZE, linear 2x2 map photo -> basis crop, how, to_frame)``.

    With the face tools: the landmarks of the face in ``face_box``
    (``"face box"``) or of the face dlib detects (``"aligned"``); when there is
    none (``face_box="whole"``, no detection, or the ``faces`` extra's models
    missing), the mean face framed like a face crop (``"default frame"``,
    :func:`classicdeblur.faces.locate.default_face`); aligned to the canonical
    frame of the exemplar faces. Without them (``use_faces=False`` or the
    ``faces`` package missing): the centre square of the image (``"whole image"``).
    ``to_frame(image)`` cuts the same face out of another image of the photo (a
    restoration) at the canonical 128 px, where the NIQE model was fitted.
    """
    size = 2 * BASIS_SIZE
    if use_faces:
        try:
            from ..faces.align import align_face
            from ..faces.locate import default_face, locate_face
        except ImportError:  # pragma: no cover - faces package missing
            align_face = None
        if align_face is not None:
            how = "aligned" if face_box is None else "face box"
            try:
                face = None if face_box == "whole" else locate_face(lum, face_box=face_box)
            except (ClassicDeblurError, ImportError, OSError):  # the faces extra (dlib, models) is missing
                face = None
            if face is None:
                face, how = default_face(lum.shape), "default frame"
            crop, matrix = align_face(lum, face.landmarks, size=size)
            crop = to_numpy(resize(np.asarray(crop, dtype=np.float64), (BASIS_SIZE, BASIS_SIZE)))
            lin = np.asarray(matrix, dtype=np.float64)[:, :2] * (BASIS_SIZE / size)

            def to_frame(img, lm=face.landmarks):
                return np.asarray(align_face(img, lm, size=size)[0], dtype=np.float64)

            return crop, lin, how, to_frame
    M, N = lum.shape
    s = min(M, N)
    t, l = (M - s) // 2, (N - s) // 2
    crop = to_numpy(resize(np.asarray(lum[t : t + s, l : l + s], dtype=np.float64), (BASIS_SIZE, BASIS_SIZE)))

    def to_frame(img):
        return to_numpy(resize(np.asarray(img[t : t + s, l : l + s], dtype=np.float64), (size, size)))

    return crop, np.eye(2) * (BASIS_SIZE / s), "whole image", to_frame


def _map_kernel(k_fit, lin, size):
    """Kernel of the basis frame mapped back to the photo (inverse of the 2x2 map ``lin``), ``size`` square."""
    h = size // 2
    c_in = k_fit.shape[0] // 2
    # photo offset d maps to crop offset lin @ d; the density scales by |det lin|
    rr, cc = np.mgrid[-h : h + 1, -h : h + 1].astype(np.float64)
    # lin acts on (x, y) = (col, row)
    xs = lin[0, 0] * cc + lin[0, 1] * rr
    ys = lin[1, 0] * cc + lin[1, 1] * rr
    # pre-blur the small kernel by the Nyquist of the upsampling: keep it linear
    out = ndimage.map_coordinates(k_fit, [ys + c_in, xs + c_in], order=1, mode="constant", cval=0.0)
    out = np.maximum(out, 0)
    s = out.sum()
    if not s > 0:
        out = np.zeros((size, size))
        out[h, h] = 1
        return out
    return out / s


# --------------------------------------------------------------------------------------
# refinement (ours) inside the common framework
# --------------------------------------------------------------------------------------


class _Refine(Estimator):
    """x-step: L0-gradient restoration; k-step: L2 kernel on gradients; starts from the coupled kernel."""

    min_component = 0.05
    kernel_threshold = 0.05

    def __init__(self, k_init, *, iterations, lam, beta, engine="auto"):
        self.k_init, self.engine = k_init, engine
        self.iterations = self.min_iterations = iterations
        self.tol = 0.0
        self.lam, self.beta = lam, beta

    def init_kernel(self, size, xp, dtype):
        return xp.asarray(resize_kernel(np.asarray(self.k_init), size)).astype(dtype)

    def x_step(self, state):
        return deconvolve(state.y, state.k, method="l0", lam=self.lam, engine=self.engine)

    def k_step(self, state):
        system = KernelSystem(gradient_pairs(state.x, state.y), state.level.kernel_size)
        return system.solve_l2(self.beta, state.k)

    def final_step(self, image, kernel, final):
        """No restoration: only the refined kernel is needed (each candidate is restored later, then scored)."""
        return image


# --------------------------------------------------------------------------------------
# the method
# --------------------------------------------------------------------------------------


def _load_prior(exemplars):
    from ..faces.exemplars import as_database

    return as_database(exemplars).prior("tian2015")


_REQUIRED = ("face_mean", "face_basis", "face_std", "psf_basis", "niqe_mu", "niqe_cov")


@blind_method(
    "tian2015",
    description="Tian & Tao 2015 coupled learning: face and PSF coefficients on orthogonal bases by alternating "
    "least squares, candidate restorations chosen by NIQE",
    final=("hyper_laplacian", None),
    face=True,
    learn=learn_model,
)
def tian2015(image, options, *, kernel_size=None, rng=None, target=None, model=None, face_components=(20, 120),
             iterations=20, face_weight=1.0, psf_weight=1e-3, refine=5, refine_levels=3, refine_lam=2e-3,
             refine_beta=5.0, use_faces=True):
    r"""Blind face deblurring by coupled learning of PSF and face coefficients (Tian & Tao 2015).

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred face image, float in [0, 1] (the kernel is estimated on the luminance).
    kernel_size : int, optional
        Odd kernel size at the input's resolution (default 31, shrunk for small images).
    rng : int or numpy.random.Generator, optional
        Unused (the method is deterministic); accepted for the common signature.
    target : ndarray, optional
        The image restored with the selected kernel (default ``image``); the
        candidates are scored on restorations of ``image``. The whole-photo
        path (:mod:`~classicdeblur.blind.photo`) passes the photo here.
    model : dict, optional
        The learned bases and NIQE model (:func:`learn_model`).
    face_components : int or sequence of int
        Numbers of face components of the candidate coupled fits (one candidate each).
    iterations : int
        Alternations of the coupled fit (Eq. 2-3).
    face_weight, psf_weight : float
        :math:`\lambda` and :math:`\mu` of Eq. 1.
    refine : int
        Alternations per level of the full-resolution refinement of each
        candidate kernel (0: the paper's candidates only).
    refine_levels : int
        Finest pyramid levels used by the refinement.
    refine_lam : float
        L0 weight of the refinement's x-step.
    refine_beta : float
        Ridge weight of the refinement's k-step (as the :math:`\beta` of Cho & Lee 2009, whose 5 it uses).
    use_faces : bool
        Locate and align the face with dlib when available (else the centre
        square of the image is the face crop, and ``face_box`` is not used).
    final, final_params, pixel_screening, screening_params, engine, face_box, exemplars
        The shared keywords of every blind method (:mod:`~classicdeblur.blind.method`).
        The final step (default ``"hyper_laplacian"``) restores every
        candidate, and then ``target`` with the kernel NIQE selects. Pixel
        screening applies to the refinement's intermediate images (no effect
        with ``refine=0``). ``face_box`` ``(x, y, w, h)``: the face whose
        landmarks frame the coupled fit, instead of detection; ``"whole"``:
        the image is a face crop (no detection, the default frame).
        ``exemplars``: the exemplar database whose ``tian2015`` prior is used
        when ``model`` is None.

    Returns
    -------
    image : ndarray
        ``target`` (default: the input) restored with the kernel of the
        candidate with the lowest NIQE, same shape as ``target``.
    kernel : ndarray
        That kernel (odd, non-negative, sums to 1, centred).
    info : dict
        ``candidates`` (one dict each: ``name``, ``niqe``, ``coupled_error``),
        ``selected``, ``framing``, ``kernel_size``, ``final``, ``timings``, and
        ``history`` (the coupled fits' errors and the refinements' framework
        history, each tagged with its ``candidate``) with its length ``iterations``.

    Raises
    ------
    ValueError
        Invalid parameters or a model that lacks the learned arrays.

    References
    ----------
    .. [1] D. Tian and D. Tao, "Coupled learning for facial deblur", IEEE TIP 25(2), 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from classicdeblur.degrade import degrade
    >>> rng = np.random.default_rng(0)
    >>> m = learn_model(SimpleNamespace(faces=rng.random((12, 128, 128))), face_components=6, psf_components=20)
    >>> x = np.zeros((64, 64)); x[16:48, 16:48] = 0.8
    >>> y = degrade(x, np.full((1, 5), 0.2), noise=None, rng=0)
    >>> out, k, info = tian2015(y, kernel_size=7, model=m, face_components=(4,), refine=1, use_faces=False)
    >>> out.shape, k.shape, round(float(k.sum()), 6), len(info["candidates"])
    ((64, 64), (7, 7), 1.0, 2)
    """
    t0 = time.perf_counter()
    if isinstance(face_components, (int, np.integer)):
        face_components = (face_components,)
    face_components = tuple(check_count("face_components", n, 1) for n in face_components)
    if not face_components:
        raise ValueError("face_components must name at least one number of components")
    iterations = check_count("iterations", iterations, 1)
    face_weight, psf_weight = check_positive("face_weight", face_weight), check_positive("psf_weight", psf_weight)
    refine = check_count("refine", refine, 0)
    refine_levels = check_count("refine_levels", refine_levels, 1)
    refine_lam, refine_beta = check_positive("refine_lam", refine_lam), check_positive("refine_beta", refine_beta)
    face_box = options.face_box
    if face_box is not None and face_box != "whole":
        from ..faces.detect import check_box

        face_box = check_box(face_box, image.shape)
    if model is None:
        model = _load_prior(options.exemplars)
    missing = [k for k in _REQUIRED if k not in model]
    if missing:
        raise ValueError(f"the tian2015 model lacks {', '.join(missing)}; build it with learn_model")
    xp = get_namespace(image)
    target = image if target is None else target
    size = default_kernel_size(image.shape, kernel_size)
    # the luminance on the device (the refinement and the candidates' restorations run there) and on the host
    # (the face framing, the coupled fit on a 64 px crop and the NIQE scores): one explicit copy
    lum_dev = gray(image).astype(xp.float64)
    lum = to_numpy(lum_dev)
    if float(lum.std()) < FLAT_STD:
        return flat_result(target, size)
    niqe_model = {"mu": model["niqe_mu"], "cov": model["niqe_cov"], "patch": model.get("niqe_patch", 96)}

    crop, lin, framing, to_frame = _face_frame(lum, use_faces, face_box)
    scale = float(np.sqrt(abs(np.linalg.det(lin))))
    k_fit = max(3, math.ceil(size * scale) | 1)
    k_fit = min(k_fit, BASIS_SIZE // 2 - 1 | 1)

    n_avail = np.asarray(model["face_basis"]).shape[0]
    candidates = []
    history = []
    for nc in dict.fromkeys(min(n, n_avail) for n in face_components):
        k_small, _, hist = coupled_fit(crop, model, kernel_size=k_fit, face_components=nc, iterations=iterations,
                                       face_weight=face_weight, psf_weight=psf_weight)
        k_small = np.maximum(k_small, 0)
        k_full = _map_kernel(k_small if k_small.sum() > 0 else np.ones((1, 1)), lin, size)
        k_full, _ = recenter(project_kernel(k_full))
        candidates.append({"name": f"coupled-{nc}", "kernel": k_full, "coupled_error": hist[-1]})
        history += [{"candidate": f"coupled-{nc}", "iteration": i, "data": float(e)} for i, e in enumerate(hist)]
        if refine > 0:
            est = _Refine(k_full, iterations=refine, lam=refine_lam, beta=refine_beta, engine=options.engine)
            _, k_ref, rinfo = run_blind(lum_dev, est, options, kernel_size=size, rng=rng, max_levels=refine_levels)
            history += [{"candidate": f"refined-{nc}", **h} for h in rinfo["history"]]
            candidates.append({"name": f"refined-{nc}", "kernel": to_numpy(k_ref), "coupled_error": hist[-1]})
    t_fit = time.perf_counter()
    best = None
    for cand in candidates:
        restored_gray = to_numpy(options.final(lum_dev, asarray_on(xp, cand["kernel"])))
        # scored in the canonical frame, at the resolution of the NIQE model's faces
        cand["niqe"] = niqe(to_frame(restored_gray), niqe_model)
        if best is None or cand["niqe"] < best["niqe"]:
            best = cand
    kernel = xp.asarray(best["kernel"]).astype(image.dtype)
    restored = options.final(target, kernel)
    t_end = time.perf_counter()
    info = {
        "candidates": [{"name": c["name"], "niqe": c["niqe"], "coupled_error": c["coupled_error"]}
                       for c in candidates],
        "selected": best["name"], "framing": framing, "kernel_size": size, "final": options.final.method,
        "history": history, "iterations": len(history),
        **({"screened_mean": float(np.mean([h["screened"] for h in history if "screened" in h] or [0.0]))}
           if options.pixel_screening else {}),
        "timings": {"fit": t_fit - t0, "select": t_end - t_fit, "total": t_end - t0},
    }
    return restored, kernel, info

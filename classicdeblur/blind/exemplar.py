r"""Pan, Hu, Su & Yang (2014), "Deblurring face images with exemplars".

Faces have few strong edges, so edge-selection methods find too little to
estimate a kernel from. Pan et al. take the salient structures of a face --
its outline, eyes and mouth -- from the sharp exemplar that best matches the
blurred input, and estimate the kernel from them:

1. **Matching** (Sec. 3.1, Eq. 3): the exemplar whose gradients correlate best
   with the input's over translations, a small range of scales and
   rotations (:func:`~classicdeblur.faces.matching.match_exemplars`, batched
   FFT correlation, coarse to fine: a fraction of a second instead of the
   hours of an exhaustive search). Its landmarks, mapped into the input,
   give the structure mask :math:`M` (:func:`~classicdeblur.faces.structure.structure_mask`):
   face outline, both eyes, mouth.
2. **Initial kernel** (Sec. 3.2, Eq. 7) from the exemplar's masked gradients
   :math:`\nabla S = M \odot \nabla T`,

   .. math:: \min_k \|\nabla S * k - \nabla B\|^2 + \gamma \|k\|^2,

   solved by conjugate gradients with FFT products
   (:class:`~classicdeblur.blind.kstep.KernelSystem`). The data term is
   restricted to where :math:`\nabla S * k` can reach (the mask dilated by
   the kernel radius), which is the same as masking :math:`\nabla B` there.
   The sign of each structure part is set to agree with the input's (an
   exemplar's jaw may be darker than its background where the input's is
   lighter).
3. **Alternation** (Sec. 3.3, Algorithm 1): restore the latent image with the
   :math:`\ell_0` gradient prior (:math:`\lambda = 2\times10^{-3}`,
   :func:`~classicdeblur.solvers.nonblind.l0`), replace the salient edges by
   the restored image's gradients inside the structure mask, re-estimate the
   kernel by Eq. 7; repeat. The kernel is projected after every step
   (threshold at 5% of the maximum, small components dropped, re-centred,
   normalised) by the shared framework.
4. **Final step**: non-blind deconvolution of the full-resolution input with a
   sparse prior (:attr:`final_method`).

Deviations, all measured in ``benchmarks/faces.py``:

* the matching compares doubled-angle gradients (polarity-free) with a local
  normalisation, and uses dlib's landmarks, when it finds the face in the
  blurred input, to narrow the search (:mod:`classicdeblur.faces.matching`);
* the structure mask used in the alternation is widened by ``tolerance``
  pixels, because another person's contours never coincide with the input's;
* the paper runs up to 50 rounds at full resolution without a pyramid; here
  the coarse-to-fine pyramid of the shared framework (``levels``; 1 is the
  paper's single scale) with ``iterations`` rounds per level;
* the paper's :math:`\lambda = 2\times10^{-3}` becomes ``lam = 5e-4`` (see
  :func:`exemplar`).
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import backend
from .._validation import check_count, check_positive
from ..operators import gradients as grad_ops
from ..solvers.nonblind import deconvolve
from . import BLIND
from .constraints import project_kernel, recenter
from .framework import Estimator, _gray, default_kernel_size, run_blind
from .guidance import FaceGuide, dilate, structure_parts
from .kstep import KernelSystem

__all__ = ["exemplar", "ExemplarEstimator"]


def _trimmed(pairs):
    """Zero the wrap-around column/row of forward x/y differences (see ``framework.gradient_pairs``)."""
    (ax, bx), (ay, by) = pairs
    ax, bx, ay, by = ax.copy(), bx.copy(), ay.copy(), by.copy()
    ax[:, -1] = bx[:, -1] = 0
    ay[-1, :] = by[-1, :] = 0
    return [(ax, bx), (ay, by)]


class ExemplarEstimator(Estimator):
    """The x- and k-steps of Pan et al. 2014 on the shared framework.

    Parameters
    ----------
    face : ndarray
        The matched exemplar warped into the input's frame (full resolution).
    landmarks : ndarray of shape (68, 2)
        Its landmarks in input coordinates (full resolution).
    gamma, lam, tolerance, iterations, cg_iterations, final_params
        See :func:`exemplar`.
    """

    def __init__(self, face, landmarks, *, gamma, lam, tolerance, iterations, cg_iterations, final_params):
        self.face = face
        self.structure = FaceGuide(landmarks, tolerance=tolerance)
        self.gamma, self.lam = gamma, lam
        self.iterations = iterations
        self.min_iterations = min(iterations, 3)
        self.cg_iterations = cg_iterations
        self.final_params = final_params

    def _solve(self, pairs, size, k0=None):
        # Eq. 7 by CG; gamma is relative to the energy of the salient gradients (the normal
        # matrix's diagonal), so that it depends on neither the image size nor its contrast
        pairs = _trimmed(pairs)
        beta = self.gamma * max(sum(float((a * a).sum()) for a, _ in pairs), 1e-12)
        return KernelSystem(pairs, size).solve_l2(beta, k0, maxiter=self.cg_iterations)

    def start_level(self, state):
        if state.index > 0:
            return
        # Eq. 7 on the exemplar's salient structures, each part signed like the input's edges
        xp, lv = state.xp, state.level
        as_xp = lambda a: backend.asarray_on(xp, a, dtype=state.y.dtype)  # noqa: E731
        face = cv2.resize(self.face.astype(np.float32), lv.shape[::-1], interpolation=cv2.INTER_AREA)
        sx, sy = grad_ops.dx(face), grad_ops.dy(face)
        bx, by = (backend.to_numpy(g) for g in (grad_ops.dx(state.y), grad_ops.dy(state.y)))
        r = lv.kernel_size // 2 + 1
        sign = np.zeros_like(face)
        for part in structure_parts(self.structure.level_landmarks(lv), lv.shape):
            # agreement of the part's gradients, blurred about as much as the input, with the input's
            blur = [cv2.GaussianBlur(g * part, (0, 0), max(r / 2, 1.0)) for g in (sx, sy)]
            agree = float((dilate(part, r) * (blur[0] * bx + blur[1] * by)).sum())
            sign += (1.0 if agree >= 0 else -1.0) * part
        _, reach = self.structure.masks(lv, xp, state.y.dtype)
        k = self._solve([(as_xp(sign * sx), reach * as_xp(bx)), (as_xp(sign * sy), reach * as_xp(by))],
                        lv.kernel_size)
        state.k = recenter(project_kernel(k, threshold=self.kernel_threshold, min_component=self.min_component))[0]
        state.memo["initial_kernel"] = state.k

    def x_step(self, state):
        # Algorithm 1: L0-gradient restoration given the current kernel
        return deconvolve(state.y, state.k, method="l0", lam=self.lam)

    def k_step(self, state):
        # Algorithm 1: the restored image's gradients on the (widened) structures, Eq. 7
        wide, reach = self.structure.masks(state.level, state.xp, state.y.dtype)
        x, y = state.x, state.y
        pairs = [(wide * grad_ops.dx(x), reach * grad_ops.dx(y)), (wide * grad_ops.dy(x), reach * grad_ops.dy(y))]
        return self._solve(pairs, state.level.kernel_size, state.k)


def _database(exemplars):
    if exemplars is not None and hasattr(exemplars, "faces"):
        return exemplars
    from ..faces.exemplars import load_database

    return load_database(exemplars)


def locate_and_match(gray, db, *, face_box=None, upsample=1):
    """Detect the face when dlib can, then match the exemplars. Returns ``(match, face_found)``."""
    from ..faces.align import alignment_matrix
    from ..faces.detect import detect_faces, face_landmarks
    from ..faces.matching import match_exemplars

    gray = np.clip(gray, 0, 1)
    if face_box is not None:
        landmarks = face_landmarks(gray, face_box)
    else:
        found = detect_faces(gray, upsample=upsample)
        landmarks = found[0].landmarks if found else None
    located = None if landmarks is None else alignment_matrix(landmarks, db.resolution)
    return match_exemplars(gray, db, located_matrix=located), landmarks is not None


@BLIND.register(
    "exemplar",
    description="Pan et al. 2014 face deblurring with exemplars: matched exemplar structures (outline, "
    "eyes, mouth) guide the kernel; L0 restoration",
    face=True,
)
def exemplar(
    image,
    *,
    kernel_size=None,
    rng=None,
    pixel_screening=False,
    exemplars=None,
    face_box=None,
    iterations=10,
    levels=None,
    gamma=1e-3,
    lam=5e-4,
    tolerance=8.0,
    cg_iterations=20,
    final_params=None,
):
    r"""Blind deblurring of a face with exemplar structures (Pan et al., ECCV 2014).

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred face, float in [0, 1], NumPy or CuPy.
    kernel_size : int, optional
        Odd kernel size (default: 31, shrunk for small images).
    rng : int or numpy.random.Generator, optional
        Passed to the framework (the method is deterministic).
    pixel_screening : bool
        Screen the intermediate image before every k-step (Zhang et al. 2022).
    exemplars : str or path or ExemplarDB, optional
        Exemplar database (default: the one shipped in ``exemplars/``).
    face_box : (x, y, w, h), optional
        Where the face is, when the detector cannot find it.
    iterations : int
        Rounds of Algorithm 1 per pyramid level (the paper: up to 50).
    levels : int, optional
        Pyramid levels, finest first (1: the paper's single scale; default: all).
    gamma : float
        Weight :math:`\gamma` of :math:`\|k\|^2` in Eq. 7, relative to the
        energy of the salient gradients.
    lam : float
        Weight of the :math:`\ell_0` gradient prior of the x-step (the paper:
        2e-3, which flattens faces too much here: from the true kernel, the
        alternation drifts to a kernel similarity of 0.43 with it and stays
        at 0.96 with 5e-4).
    tolerance : float
        Pixels by which the structure mask is widened in the alternation.
    cg_iterations : int
        Conjugate-gradient iterations of each kernel step (the paper: 20).
    final_params : dict, optional
        Parameters of the final hyper-Laplacian deconvolution.

    Returns
    -------
    image, kernel : ndarray
    info : dict
        The framework's info plus ``exemplar`` (name, index, score, scale,
        angle, whether the face was detected, matching seconds) and
        ``landmarks`` (the exemplar's landmarks in the input frame).

    References
    ----------
    .. [1] J. Pan, Z. Hu, Z. Su and M.-H. Yang, "Deblurring face images with
       exemplars", ECCV 2014.
    """
    check_count("iterations", iterations, 1)
    if levels is not None:
        check_count("levels", levels, 1)
    check_count("cg_iterations", cg_iterations, 1)
    gamma = check_positive("gamma", gamma)
    lam = check_positive("lam", lam)
    tolerance = float(tolerance)
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0; got {tolerance}")
    from ..faces.matching import exemplar_to_image

    db = _database(exemplars)
    gray = backend.to_numpy(_gray(image)).astype(np.float32)
    size = default_kernel_size(image.shape, kernel_size)
    match, found = locate_and_match(gray, db, face_box=face_box)
    face, landmarks = exemplar_to_image(match, db, gray.shape)
    est = ExemplarEstimator(face, landmarks, gamma=gamma, lam=lam, tolerance=tolerance, iterations=iterations,
                            cg_iterations=cg_iterations, final_params={"lam": 2e3, **(final_params or {})})
    out, k, info = run_blind(image, est, kernel_size=size, rng=rng, pixel_screening=pixel_screening,
                             max_levels=levels)
    info["exemplar"] = {"name": match.name, "index": match.index, "score": match.score, "scale": match.scale,
                        "angle": match.angle, "face_detected": found, "seconds": match.seconds}
    info["landmarks"] = landmarks
    return out, k, info

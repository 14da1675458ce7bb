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
   (:class:`~classicdeblur.operators.kernel.KernelSystem`). The data term is
   restricted to where :math:`\nabla S * k` can reach (the mask dilated by
   the kernel radius), which is the same as masking :math:`\nabla B` there.
   The sign of each structure part is set to agree with the input's (an
   exemplar's jaw may be darker than its background where the input's is
   lighter).
3. **Alternation** (Sec. 3.3): restore the latent image given the kernel
   (Cho & Lee's Gaussian-prior deconvolution,
   :class:`~classicdeblur.blind.cho2009.Cho2009`), take its salient edges,
   re-estimate the kernel; repeat. The salient edges are Cho & Lee's
   shock-filter prediction with their Eq. 5 kernel step (``edges="shock"``,
   the default), or the gradients of the restored image after
   :math:`\ell_0` smoothing (Xu, Lu, Xu & Jia 2011, which the authors' code
   credits) with Eq. 7 (``edges="l0"``). The kernel is
   projected after every step (threshold at 5% of the maximum, small
   components dropped, re-centred, normalised) by the shared framework.
4. **Final step**: non-blind deconvolution of the full-resolution input with a
   sparse prior (the shared keyword ``final``: Cho & Lee's hyper-Laplacian
   with :data:`~classicdeblur.blind.cho2009.FINAL_PARAMS` by default).

Deviations and what was measured (the shipped 420-exemplar database):

* the matching compares doubled-angle gradients (polarity-free) with a local
  normalisation, and uses dlib's landmarks, when it finds the face in the
  blurred input, to narrow the search (:mod:`classicdeblur.faces.matching`);
* the structure lines are widened by ``tolerance`` pixels, because another
  person's contours never coincide with the input's. Even so the exemplar's
  kernel (Eq. 7) reaches a mean kernel similarity of only 0.36 on these
  faces, against 0.93 for the same equation on the *true* sharp face's
  gradients in the same mask: the matched exemplars' edges are too far from
  the input's;
* the paper works at full resolution without a pyramid (``levels=1`` here):
  started from the exemplar's kernel the alternation ends far below the
  blurred input (README). The default runs the framework's coarse-to-fine
  pyramid, where the exemplar gives the coarsest level's kernel. When the
  exemplar *is* the blurred face (``tests/blind/test_exemplar.py``), the
  single scale works as the paper says: Eq. 7 gives a kernel similarity of
  0.87 and the result gains about 2 dB -- the method is limited by how well
  420 exemplars of other people match, not by its steps;
* salient edges: on 3 faces x Levin kernels 1, 3, 5, 7, ``"shock"`` gives
  29.2 dB on ``faces-256`` (``"l0"`` 28.0) but 25.0 dB on ``yaleb-256``,
  below the 30.5 dB blurred input (Cho & Lee's threshold fails on
  low-contrast faces, as ``cho2009`` does), where ``"l0"`` gives 30.8 dB.
  On the synthetic test face ``"shock"`` recovers the kernel and ``"l0"``
  does not (0.65 similarity at one scale), so ``"shock"`` is the default and
  the benchmark shows both;
* restricting the later kernel steps to the structure mask as well (the
  paper's reading in METHODS.md) lowered the Yale B subset to 24.6 dB, so
  only the first kernel uses the mask; an :math:`\ell_0`-*deconvolution* x-step drifted even from the
  true kernel (similarity 0.96 to 0.43 at :math:`\lambda = 2\times10^{-3}`)
  and was dropped.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from .. import backend
from .._validation import check_count, check_positive
from ..operators import gradients as grad_ops
from ..operators.kernel import KernelSystem
from ..solvers.nonblind import deconvolve
from .cho2009 import FINAL_PARAMS, Cho2009
from .constraints import project_kernel, recenter
from .framework import _trim, default_kernel_size, gradient_pairs, gray, run_blind
from .guidance import FaceGuide, dilate, structure_parts
from .method import blind_method

__all__ = ["exemplar", "ExemplarEstimator", "EDGES"]

#: How the alternation predicts the salient edges of the restored image: ``"shock"``, Cho &
#: Lee's bilateral + shock filter + orientation-balanced threshold, or ``"l0"``, its
#: L0-smoothed gradients (Xu et al. 2011, credited by the authors' code).
EDGES = ("shock", "l0")


def _check_edges(edges):
    if edges not in EDGES:
        raise ValueError(f"unknown edges {edges!r}; choose from: {', '.join(EDGES)}")


def _trimmed(pairs):
    """x- and y-derivative pairs with their wrap-around column/row zeroed (as ``framework.gradient_pairs``)."""
    (ax, bx), (ay, by) = pairs
    return [(_trim(ax, 1), _trim(bx, 1)), (_trim(ay, 0), _trim(by, 0))]


class ExemplarEstimator(Cho2009):
    """Pan et al. 2014 on the shared framework: the first kernel from the exemplar (Eq. 7), then Cho & Lee's steps.

    Parameters
    ----------
    face : ndarray
        The matched exemplar warped into the input's frame (full resolution).
    landmarks : ndarray of shape (68, 2)
        Its landmarks in input coordinates (full resolution).
    gamma, tolerance : float
        See :func:`exemplar`.
    **params
        Parameters of :class:`~classicdeblur.blind.cho2009.Cho2009`.
    """

    def __init__(self, face, landmarks, *, gamma, tolerance, edges="shock", smoothing=1e-2, **params):
        super().__init__(**params)
        _check_edges(edges)
        self.face = face
        self.structure = FaceGuide(landmarks, tolerance=tolerance)
        self.gamma = gamma
        self.edges = edges
        self.smoothing = check_positive("smoothing", smoothing)
        self.initial_kernel = None

    def exemplar_kernel(self, state):
        """Eq. 7 on the exemplar's salient structures, each part signed like the input's edges."""
        xp, lv = state.xp, state.level
        as_xp = lambda a: backend.asarray_on(xp, a, dtype=state.y.dtype)  # noqa: E731
        face = cv2.resize(self.face.astype(np.float32), lv.shape[::-1], interpolation=cv2.INTER_AREA)
        sx, sy = grad_ops.dx(face), grad_ops.dy(face)
        bx, by = (backend.to_numpy(g) for g in (grad_ops.dx(state.y), grad_ops.dy(state.y)))
        r = lv.kernel_size // 2 + 1
        tol = max(1, round(self.structure.tolerance * lv.scale))
        sign = np.zeros_like(face)
        for thin in structure_parts(self.structure.level_landmarks(lv), lv.shape):
            part = dilate(thin, tol) & (sign == 0)  # widened like the guide's mask; parts kept disjoint
            # agreement of the part's gradients, blurred about as much as the input, with the input's
            blur = [cv2.GaussianBlur(g * part, (0, 0), max(r / 2, 1.0)) for g in (sx, sy)]
            agree = float((dilate(part, r) * (blur[0] * bx + blur[1] * by)).sum())
            sign += (1.0 if agree >= 0 else -1.0) * part
        _, reach = self.structure.masks(lv, xp, state.y.dtype)
        pairs = [(as_xp(sign * sx), reach * as_xp(bx)), (as_xp(sign * sy), reach * as_xp(by))]
        return self._eq7(_trimmed(pairs), lv.kernel_size)

    def _eq7(self, pairs, size, k0=None):
        r"""Eq. 7, :math:`\min_k \|\nabla S * k - \nabla B\|^2 + \gamma\|k\|^2`, by CG on trimmed pairs."""
        # gamma is relative to the energy of the salient gradients (the normal matrix's diagonal),
        # so that it depends on neither the image size nor its contrast
        beta = self.gamma * max(sum(float((p[0] * p[0]).sum()) for p in pairs), 1e-12)
        return KernelSystem(pairs, size).solve_l2(beta, k0, maxiter=self.cg_iterations)

    def k_step(self, state):
        if state.index == 0 and state.iteration == 0:
            # Sec. 3.2: the initial salient edges are the exemplar's, not the blurred input's
            if self.edges == "shock":
                super().k_step(state)  # sets Cho & Lee's edge threshold for the next iterations
            k = self.exemplar_kernel(state)
            self.initial_kernel = backend.to_numpy(
                recenter(project_kernel(k, threshold=self.kernel_threshold, min_component=self.min_component))[0])
            return k
        if self.edges == "shock":
            return super().k_step(state)  # Cho & Lee's prediction, or the edge predictor's (thresholded)
        x = state.x
        if self.edge_predictor is not None:
            # the edge predictor's sharp edges of the restored image, Eq. 7
            em = self.edge_predictor.predict(x)
            (_, bx, _), (_, by, _) = gradient_pairs(x, state.y)
            return self._eq7([(em.gx, bx), (em.gy, by)], state.level.kernel_size, state.k)
        # the salient edges of the restored image: its L0-smoothed gradients (Xu et al. 2011), Eq. 7
        s = deconvolve(x, backend.asarray_on(state.xp, np.ones((1, 1)), dtype=x.dtype), method="l0",
                       lam=self.smoothing)
        return self._eq7(gradient_pairs(s, state.y), state.level.kernel_size, state.k)


def locate_and_match(gray, db, *, face_box=None, upsample=1):
    """Detect the face when dlib can, then match the exemplars. Returns ``(match, face_found)``."""
    from ..faces.align import alignment_matrix
    from ..faces.locate import locate_face
    from ..faces.matching import match_exemplars

    t0 = time.perf_counter()
    face = locate_face(np.clip(gray, 0, 1), face_box=face_box, upsample=upsample)
    located = None if face is None else alignment_matrix(face.landmarks, db.resolution)
    detect_seconds = time.perf_counter() - t0
    match = match_exemplars(gray, db, located_matrix=located)
    match.detect_seconds = detect_seconds
    return match, face is not None


@blind_method(
    "exemplar",
    description="Pan et al. 2014 face deblurring with exemplars: matched exemplar structures (outline, "
    "eyes, mouth) give the first kernel; predicted salient edges refine it coarse to fine",
    final=("hyper_laplacian", FINAL_PARAMS),
    face=True,
    edges=True,
)
def exemplar(
    image,
    options,
    *,
    kernel_size=None,
    rng=None,
    target=None,
    iterations=7,
    levels=None,
    gamma=1e-3,
    tolerance=8.0,
    cg_iterations=20,
    edges="shock",
    smoothing=1e-2,
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
    target : ndarray, optional
        The image the final step restores (default ``image``; see
        :func:`~classicdeblur.blind.framework.run_blind`).
    iterations : int
        Rounds of the alternation per pyramid level (the paper: up to 50).
    levels : int, optional
        Pyramid levels, finest first; 1 is the paper's single scale
        (default: all, see the module notes for why).
    gamma : float
        Weight :math:`\gamma` of :math:`\|k\|^2` in Eq. 7, relative to the
        energy of the salient gradients.
    tolerance : float
        Pixels by which the thin structure lines are widened (an exemplar's
        contours are never exactly the input's).
    cg_iterations : int
        Conjugate-gradient iterations of each kernel step (the paper: 20).
    edges : {"shock", "l0"}
        Salient edges of the restored image after the first round: Cho &
        Lee's shock-filter prediction, or its :math:`\ell_0`-smoothed
        gradients (Xu et al. 2011, credited by the authors' code; better on
        low-contrast faces, see the module notes) (:data:`EDGES`).
    smoothing : float
        Weight :math:`\lambda` of the :math:`\ell_0` smoothing (``edges="l0"``).
    final, final_params, pixel_screening, screening_params, engine, face_box, exemplars, edge_predictor
        The shared keywords of every blind method (:mod:`~classicdeblur.blind.method`).
        ``edge_predictor`` (e.g. ``"learned"``) replaces the salient edges of
        the restored image after the first round: with ``edges="shock"`` the
        predicted edges are thresholded as Cho & Lee's
        (:func:`~classicdeblur.blind.cho2009.select_edges`), with
        ``edges="l0"`` all of them enter Eq. 7; the first kernel still comes
        from the exemplar (default None: unchanged).
        The final step defaults to Cho & Lee's hyper-Laplacian with
        :data:`~classicdeblur.blind.cho2009.FINAL_PARAMS`; ``engine`` runs
        Cho & Lee's bilateral and shock filters; ``exemplars`` is the
        exemplar database (default: the one shipped in ``exemplars/``) and
        ``face_box`` ``(x, y, w, h)`` says where the face is when the
        detector cannot find it.

    Returns
    -------
    image, kernel : ndarray
    info : dict
        The framework's info plus ``exemplar`` (name, index, score, scale,
        angle, whether the face was detected, matching seconds) and
        ``landmarks`` (the exemplar's landmarks in the input frame) and
        ``initial_kernel`` (Eq. 7 on the exemplar, at the coarsest level).

    References
    ----------
    .. [1] J. Pan, Z. Hu, Z. Su and M.-H. Yang, "Deblurring face images with
       exemplars", ECCV 2014.
    """
    if levels is not None:
        check_count("levels", levels, 1)
    gamma = check_positive("gamma", gamma)
    tolerance = float(tolerance)
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0; got {tolerance}")
    # the estimator's own checks, before the exemplars are loaded and matched
    check_count("iterations", iterations, 1)
    check_count("cg_iterations", cg_iterations, 1)
    _check_edges(edges)
    check_positive("smoothing", smoothing)
    from ..faces.exemplars import as_database
    from ..faces.matching import exemplar_to_image

    db = as_database(options.exemplars)
    lum = backend.to_numpy(gray(image)).astype(np.float32)
    size = default_kernel_size(image.shape, kernel_size)
    match, found = locate_and_match(lum, db, face_box=options.face_box)
    face, landmarks = exemplar_to_image(match, db, lum.shape)
    est = ExemplarEstimator(face, landmarks, gamma=gamma, tolerance=tolerance, edges=edges, smoothing=smoothing,
                            iterations=iterations, cg_iterations=cg_iterations, engine=options.engine,
                            edge_predictor=options.edge_predictor)
    out, k, info = run_blind(image, est, options, kernel_size=size, rng=rng, target=target, max_levels=levels)
    info["exemplar"] = {"name": match.name, "index": match.index, "score": match.score, "scale": match.scale,
                        "angle": match.angle, "face_detected": found, "seconds": match.seconds,
                        "detect_seconds": getattr(match, "detect_seconds", 0.0)}
    info["landmarks"] = landmarks
    info["initial_kernel"] = est.initial_kernel
    return out, k, info

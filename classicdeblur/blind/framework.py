r"""The coarse-to-fine alternating solver shared by every blind method.

Blind deblurring solves survey Eq. 6,
:math:`\min_{x,k} \|k * x - y\|^2 + f(x) + g(k)`, by alternating an x-step
and a k-step on an image pyramid (METHODS.md section 0). A method supplies the
two steps as an :class:`Estimator`; :func:`run_blind` does everything else:

1. **Luminance.** The kernel is estimated on the luminance of a colour image
   (as the authors' codes do); the final step restores every channel.
2. **Pyramid** (:func:`~classicdeblur.blind.pyramid.schedule`). The kernel
   size shrinks by ``1/sqrt(2)`` per level down to 3x3; the image with it.
   The coarsest level starts from :meth:`Estimator.init_kernel` and the
   blurred image; each finer level starts from the upsampled kernel and
   latent image of the level below.
3. **Alternation.** At each level, up to ``Estimator.iterations`` times:
   x-step; optional pixel screening (Zhang et al. 2022,
   :mod:`~classicdeblur.blind.screening`) of the intermediate image; k-step;
   kernel constraints (:func:`~classicdeblur.blind.constraints.project_kernel`:
   non-negative, sums to one, small values and small components removed) and
   re-centring with the matching image shift
   (:func:`~classicdeblur.blind.constraints.recenter`). The level stops early
   when the kernel changes by less than ``tol`` (relative L2).
4. **History.** Every iteration records its level, the data term
   :math:`\|k * \nabla x - \nabla y\|^2`, the kernel change, the screened
   fraction and the time spent in each step.
5. **Final step.** A non-blind deconvolution of the *full-resolution input*
   with the final kernel (:meth:`Estimator.final_step`); the intermediate
   latent image, deliberately over-sharpened, is never returned.

The code is written once against the array module of the input, so NumPy
images run on the CPU and CuPy images on the GPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..backend import get_namespace
from ..color import to_luminance
from ..errors import InvalidKernelError
from ..operators import gradients as grad_ops
from ..operators.kernel import GradientDataTerm
from .constraints import project_kernel, recenter, shift_image
from .pyramid import Level, resize, resize_kernel, schedule

__all__ = ["Estimator", "LevelState", "run_blind", "default_kernel_size", "gradient_pairs", "flat_result", "gray",
           "FLAT_STD"]

#: Below this standard deviation of the luminance, an image is flat: it has no
#: edges to estimate a kernel from, and is returned with a delta kernel.
FLAT_STD = 1e-3


@dataclass
class LevelState:
    """What the x- and k-steps see at one pyramid level.

    Attributes
    ----------
    level : Level
        Scale, shape and kernel size of this level.
    index, n_levels : int
        Position in the pyramid (0 is the coarsest).
    iteration : int
        Alternation count within the level (0-based).
    y : ndarray
        Blurred luminance resampled to this level.
    x : ndarray
        Current latent (intermediate) image.
    k : ndarray
        Current kernel (``level.kernel_size`` square).
    rng : numpy.random.Generator

    Notes
    -----
    A method keeps its own state on its :class:`Estimator` (one instance per
    run): run-wide values as attributes, per-level values in a small
    dataclass of its own set in :meth:`Estimator.start_level`.
    """

    level: Level
    index: int
    n_levels: int
    y: object
    x: object
    k: object
    rng: object
    iteration: int = 0

    @property
    def xp(self):
        return get_namespace(self.y)

    @property
    def finest(self) -> bool:
        return self.index == self.n_levels - 1


class Estimator:
    """The hooks of one blind method. Subclasses override :meth:`x_step` and :meth:`k_step`.

    Class attributes set the framework's per-method defaults; instances may
    override them.

    Attributes
    ----------
    iterations : int
        Maximum x/k alternations per pyramid level.
    min_iterations : int
        Alternations before the early stop may trigger.
    tol : float
        Early stop when ``||k_new - k|| / ||k|| < tol``.
    kernel_threshold, min_component : float
        Passed to :func:`~classicdeblur.blind.constraints.project_kernel`.
    """

    iterations = 10
    min_iterations = 2
    tol = 1e-3
    kernel_threshold = 0.05
    min_component = 0.1
    #: Optional :class:`~classicdeblur.blind.guidance.FaceGuide` restricting the k-step to a face's structures.
    guide = None

    def init_kernel(self, size, xp, dtype):
        """Kernel of the coarsest level: a centred 3-pixel horizontal bar (Krishnan et al. 2011)."""
        k = xp.zeros((size, size), dtype=dtype)
        c = size // 2
        k[c, max(c - 1, 0) : c + 2] = 1
        return k / k.sum()

    def start_level(self, state: LevelState) -> None:
        """Called once per level before its first x-step."""

    def x_step(self, state: LevelState):
        """Return the new latent image (``state.x``, ``state.k`` and ``state.y`` are current)."""
        raise NotImplementedError

    def k_step(self, state: LevelState):
        """Return the new (unconstrained) kernel; the framework projects and re-centres it."""
        raise NotImplementedError

    def guided(self, state: LevelState, pairs):
        """The k-step ``pairs`` restricted to the face structures when :attr:`guide` is set (else unchanged)."""
        return pairs if self.guide is None else self.guide.apply(state, pairs)

    def on_shift(self, state: LevelState, shift) -> None:
        """Called when re-centring moved the kernel by ``shift``; ``state.x`` is already shifted back.

        Methods that keep their own latent estimate shift it here.
        """

    def final_step(self, image, kernel, final):
        """Restore ``image`` (the full-resolution input or the restore target) with the final kernel.

        ``final`` is the method's :class:`~classicdeblur.blind.method.FinalStep`;
        the default applies it.
        """
        return final(image, kernel)


def default_kernel_size(shape, requested=None, default=31):
    """The odd kernel size to use on an image of ``shape``.

    ``requested`` is validated; without it, ``default`` is shrunk (keeping it
    odd) to at most a quarter of the smaller image side.

    Examples
    --------
    >>> default_kernel_size((256, 256)), default_kernel_size((64, 80)), default_kernel_size((64, 64), 9)
    (31, 15, 9)
    """
    side = min(shape[:2])
    if requested is None:
        size = min(default, max(3, side // 4))
        return size if size % 2 else size - 1
    size = int(requested)
    if size != requested or size % 2 == 0 or size < 3:
        raise InvalidKernelError(f"kernel_size must be an odd integer >= 3; got {requested}")
    if size > side:
        raise InvalidKernelError(f"kernel_size {size} is larger than the image ({shape[1]}x{shape[0]})")
    return size


def gradient_pairs(x, y, weight=1.0):
    """``[(dx x, dx y, w), (dy x, dy y, w)]`` with the wrap-around row and column zeroed.

    Forward differences on a non-periodic image have a spurious jump at the
    last row/column (:mod:`~classicdeblur.operators.gradients` is circular);
    it is removed so that k-steps see only real edges.

    Examples
    --------
    >>> import numpy as np
    >>> (gx, _, _), (gy, _, _) = gradient_pairs(np.arange(9.0).reshape(3, 3), np.zeros((3, 3)))
    >>> gx.tolist()[0], gy[:, 0].tolist()
    ([1.0, 1.0, 0.0], [3.0, 3.0, 0.0])
    """
    return [(_trim(grad_ops.dx(x), 1), _trim(grad_ops.dx(y), 1), weight),
            (_trim(grad_ops.dy(x), 0), _trim(grad_ops.dy(y), 0), weight)]


def _trim(g, axis):
    g = g.copy()
    if axis == 1:
        g[:, -1] = 0
    else:
        g[-1, :] = 0
    return g


def gray(image):
    """The luminance of ``image`` (itself when gray) on which kernels are estimated."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[..., 0]
    if image.shape[2] >= 3:
        return to_luminance(image[..., :3])
    return image.mean(axis=2)


def _delta(size, xp, dtype):
    k = xp.zeros((size, size), dtype=dtype)
    k[size // 2, size // 2] = 1
    return k


def flat_result(image, size):
    """What a blind method returns for a flat ``image`` (or restore target): the image, a delta kernel, a warning.

    Examples
    --------
    >>> import numpy as np
    >>> out, k, info = flat_result(np.full((8, 8), 0.5), 3)
    >>> float(k[1, 1]), info["warning"]
    (1.0, 'flat image: no edges to estimate a kernel from')
    """
    xp = get_namespace(image)
    info = {"kernel_size": size, "levels": [], "iterations": 0, "history": [], "timings": {},
            "warning": "flat image: no edges to estimate a kernel from"}
    return image.copy(), _delta(size, xp, image.dtype), info


def run_blind(image, estimator: Estimator, options=None, *, kernel_size=None, rng=None, target=None,
              max_levels=None):
    """Estimate the kernel of ``image`` with ``estimator`` and restore the image (or ``target``).

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Float in [0, 1], NumPy or CuPy.
    estimator : Estimator
        The method's x- and k-steps.
    options : BlindOptions, optional
        The method's shared keywords, validated
        (:func:`~classicdeblur.blind.method.make_options`): the final step,
        pixel screening and its parameters. Default: a hyper-Laplacian final
        step, no screening.
    kernel_size : int, optional
        Odd kernel size (see :func:`default_kernel_size`).
    rng : numpy.random.Generator, optional
        Passed to the estimator for any random choice.
    target : ndarray, optional
        The image the final step restores with the estimated kernel; default
        ``image``. The whole-photo path (:mod:`~classicdeblur.blind.photo`)
        estimates on a face crop and passes the photo here.
    max_levels : int, optional
        Use only this many of the finest pyramid levels.

    Returns
    -------
    image : ndarray
        The restored image (``target``'s shape), in [0, 1].
    kernel : ndarray
        The estimated kernel, odd, non-negative, summing to 1, centred.
    info : dict
        ``kernel_size``, ``levels`` (shapes and kernel sizes), ``iterations``,
        ``history`` (one dict per alternation), ``timings`` and, for a flat
        image, a ``warning``.

    Examples
    --------
    The restore target is restored with the kernel estimated on ``image``:

    >>> import numpy as np
    >>> from classicdeblur.blind.xu2010 import xu2010
    >>> photo = np.random.default_rng(0).random((40, 40))
    >>> out, k, info = xu2010(photo[8:32, 8:32], kernel_size=3, target=photo)
    >>> out.shape
    (40, 40)
    """
    if options is None:
        from .method import BlindOptions

        options = BlindOptions()
    xp = get_namespace(image)
    rng = np.random.default_rng(rng)
    size = default_kernel_size(image.shape, kernel_size)
    target = image if target is None else target
    lum = gray(image)
    t_start = time.perf_counter()
    if float(lum.std()) < FLAT_STD:
        return flat_result(target, size)
    screen = None
    if options.pixel_screening:
        from .screening import screen

    levels = schedule(lum.shape, size, max_levels=max_levels)
    k = estimator.init_kernel(levels[0].kernel_size, xp, lum.dtype)
    x = None
    history = []
    t_x = t_k = t_s = 0.0
    for i, lv in enumerate(levels):
        y = resize(lum, lv.shape)
        x = y.copy() if x is None else resize(x, lv.shape)
        k = project_kernel(resize_kernel(k, lv.kernel_size), threshold=estimator.kernel_threshold,
                           min_component=estimator.min_component)
        state = LevelState(lv, i, len(levels), y, x, k, rng)
        data_term = GradientDataTerm(y)
        estimator.start_level(state)
        for it in range(estimator.iterations):
            state.iteration = it
            t0 = time.perf_counter()
            state.x = estimator.x_step(state)
            t1 = time.perf_counter()
            screened = 0.0
            if screen is not None:
                state.x, sinfo = screen(state.y, state.x, state.k, **options.screening_params)
                screened = float(sinfo["screened_fraction"])
            t2 = time.perf_counter()
            k_new = estimator.k_step(state)
            if not bool(xp.isfinite(k_new).all()):
                history.append({"level": i, "iteration": it, "stopped": "non-finite kernel"})
                break
            k_new = project_kernel(k_new, threshold=estimator.kernel_threshold,
                                   min_component=estimator.min_component)
            k_new, shift = recenter(k_new)
            if shift != (0, 0):
                state.x = shift_image(state.x, (-shift[0], -shift[1]))
                estimator.on_shift(state, shift)
            change = float(xp.linalg.norm(k_new - state.k) / max(float(xp.linalg.norm(state.k)), 1e-12))
            state.k = k_new
            t3 = time.perf_counter()
            t_x, t_s, t_k = t_x + t1 - t0, t_s + t2 - t1, t_k + t3 - t2
            history.append({"level": i, "iteration": it, "data": data_term(state.x, state.k), "kernel_change": change,
                            "screened": screened, "seconds": t3 - t0})
            if it + 1 >= estimator.min_iterations and change < estimator.tol:
                break
        x, k = state.x, state.k
    t_final = time.perf_counter()
    restored = estimator.final_step(target, k, options.final)
    t_end = time.perf_counter()
    info = {
        "kernel_size": size,
        "levels": [(lv.shape, lv.kernel_size) for lv in levels],
        "iterations": sum(1 for h in history if "data" in h),
        "history": history,
        "timings": {"x_step": t_x, "k_step": t_k, "screening": t_s, "final": t_end - t_final,
                    "total": t_end - t_start},
        "final": options.final.method,
    }
    if estimator.guide is not None:
        info["face_guide"] = estimator.guide.info
    if options.pixel_screening:
        info["screened_mean"] = float(np.mean([h["screened"] for h in history if "data" in h] or [0.0]))
    return restored, k, info

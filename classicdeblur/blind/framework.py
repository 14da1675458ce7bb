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

import contextlib
import contextvars
import time
from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..backend import get_namespace
from ..color import to_luminance
from ..errors import InvalidKernelError
from ..operators import gradients as grad_ops
from ..operators.functional import psf2otf
from ..solvers.nonblind import deconvolve
from .constraints import project_kernel, recenter, shift_image
from .pyramid import Level, resize, resize_kernel, schedule

__all__ = ["Estimator", "LevelState", "run_blind", "default_kernel_size", "gradient_pairs", "restoring", "restore_target", "flat_result",
           "FLAT_STD"]

#: Below this standard deviation of the luminance, an image is flat: it has no
#: edges to estimate a kernel from, and is returned with a delta kernel.
FLAT_STD = 1e-3


_RESTORE_TARGET = contextvars.ContextVar("restore_target", default=None)


@contextlib.contextmanager
def restoring(image):
    """Within this block, :func:`run_blind`'s final step restores ``image`` instead of its input.

    The whole-photo path (:func:`classicdeblur.faces.photo.deblur_photo`)
    estimates the kernel on a face crop and restores the whole photo with
    the method's own final step.

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.blind.xu2010 import xu2010
    >>> photo = np.random.default_rng(0).random((40, 40))
    >>> with restoring(photo):
    ...     out, k, info = xu2010(photo[8:32, 8:32], kernel_size=3)
    >>> out.shape
    (40, 40)
    """
    token = _RESTORE_TARGET.set(image)
    try:
        yield
    finally:
        _RESTORE_TARGET.reset(token)


def restore_target(image):
    """The image a final step restores: ``image``, or the one set by an enclosing :func:`restoring`."""
    target = _RESTORE_TARGET.get()
    return image if target is None else target


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
    memo : dict
        Free space for a method's own state, shared by all levels of one run
        (thresholds, weights).
    """

    level: Level
    index: int
    n_levels: int
    y: object
    x: object
    k: object
    rng: object
    iteration: int = 0
    memo: dict = field(default_factory=dict)

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
    final_method : str
        Non-blind method of the final step (a name in ``NONBLIND``).
    final_params : dict
        Its parameters.
    """

    iterations = 10
    min_iterations = 2
    tol = 1e-3
    kernel_threshold = 0.05
    min_component = 0.1
    final_method = "hyper_laplacian"
    final_params: dict = {}
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

        Methods that keep their own latent estimate (in ``state.memo``) shift it here.
        """

    def final_step(self, image, kernel):
        """Restore the full-resolution input with the final kernel (default: :attr:`final_method`)."""
        return deconvolve(image, kernel, method=self.final_method, **self.final_params)


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


def _gray(image):
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[..., 0]
    if image.shape[2] >= 3:
        return to_luminance(image[..., :3])
    return image.mean(axis=2)


class _DataTerm:
    r"""The history's objective :math:`\|k * \nabla x - \nabla y\|^2` at one level, by Parseval.

    Circular boundary; two half-spectrum FFTs per call (the latent image and
    the kernel) instead of two convolutions and their inverses.
    """

    def __init__(self, y):
        xp = get_namespace(y)
        self.shape = y.shape
        fx, fy = grad_ops.gradient_otfs(y.shape, xp, y.dtype)
        self.lap = fx.real**2 + fx.imag**2 + fy.real**2 + fy.imag**2
        # rfft2 keeps half the columns: count the others twice (Parseval)
        n = y.shape[1]
        w = xp.full(n // 2 + 1, 2.0, dtype=y.dtype)
        w[0] = 1.0
        if n % 2 == 0:
            w[-1] = 1.0
        self.weight = self.lap * w / (y.shape[0] * n)
        self.spec_y = backend.rfft2(y)

    def __call__(self, x, k):
        r = psf2otf(k, self.shape) * backend.rfft2(x) - self.spec_y
        return float(((r.real**2 + r.imag**2) * self.weight).sum())


def _delta(size, xp, dtype):
    k = xp.zeros((size, size), dtype=dtype)
    k[size // 2, size // 2] = 1
    return k


def flat_result(image, size):
    """What a blind method returns for a flat image: the image, a centred delta kernel, a warning.

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
    return restore_target(image).copy(), _delta(size, xp, image.dtype), info


def run_blind(image, estimator: Estimator, *, kernel_size=None, rng=None, pixel_screening=False,
              screening_params=None, max_levels=None):
    """Estimate the kernel of ``image`` with ``estimator`` and restore the image.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Float in [0, 1], NumPy or CuPy.
    estimator : Estimator
        The method's x- and k-steps.
    kernel_size : int, optional
        Odd kernel size (see :func:`default_kernel_size`).
    rng : numpy.random.Generator, optional
        Passed to the estimator for any random choice.
    pixel_screening : bool
        Correct the intermediate image before every k-step with the pixel
        screening of Zhang et al. 2022 (:func:`~classicdeblur.blind.screening.screen`).
    screening_params : dict, optional
        Parameters of :func:`~classicdeblur.blind.screening.screen`.
    max_levels : int, optional
        Use only this many of the finest pyramid levels.

    Returns
    -------
    image : ndarray
        The restored image, same shape as the input, in [0, 1].
    kernel : ndarray
        The estimated kernel, odd, non-negative, summing to 1, centred.
    info : dict
        ``kernel_size``, ``levels`` (shapes and kernel sizes), ``iterations``,
        ``history`` (one dict per alternation), ``timings`` and, for a flat
        image, a ``warning``.
    """
    xp = get_namespace(image)
    rng = np.random.default_rng(rng)
    size = default_kernel_size(image.shape, kernel_size)
    gray = _gray(image)
    t_start = time.perf_counter()
    if float(gray.std()) < FLAT_STD:
        return flat_result(image, size)
    screen = None
    if pixel_screening:
        from .screening import screen

    levels = schedule(gray.shape, size, max_levels=max_levels)
    k = estimator.init_kernel(levels[0].kernel_size, xp, gray.dtype)
    x = None
    memo: dict = {}
    history = []
    t_x = t_k = t_s = 0.0
    for i, lv in enumerate(levels):
        y = resize(gray, lv.shape)
        x = y.copy() if x is None else resize(x, lv.shape)
        k = project_kernel(resize_kernel(k, lv.kernel_size), threshold=estimator.kernel_threshold,
                           min_component=estimator.min_component)
        state = LevelState(lv, i, len(levels), y, x, k, rng, memo=memo)
        data_term = _DataTerm(y)
        estimator.start_level(state)
        for it in range(estimator.iterations):
            state.iteration = it
            t0 = time.perf_counter()
            state.x = estimator.x_step(state)
            t1 = time.perf_counter()
            screened = 0.0
            if screen is not None:
                state.x, sinfo = screen(state.y, state.x, state.k, **(screening_params or {}))
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
    restored = estimator.final_step(restore_target(image), k)
    t_end = time.perf_counter()
    info = {
        "kernel_size": size,
        "levels": [(lv.shape, lv.kernel_size) for lv in levels],
        "iterations": sum(1 for h in history if "data" in h),
        "history": history,
        "timings": {"x_step": t_x, "k_step": t_k, "screening": t_s, "final": t_end - t_final,
                    "total": t_end - t_start},
    }
    if estimator.guide is not None:
        info["face_guide"] = estimator.guide.info
    if pixel_screening:
        info["screened_mean"] = float(np.mean([h["screened"] for h in history if "data" in h] or [0.0]))
    return restored, k, info


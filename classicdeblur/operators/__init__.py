"""The forward model: how an image is blurred, and how its quadratic subproblems are solved.

This package is the only place that knows the blur model ``y = k * x + n``
(a true convolution with an odd kernel centred at ``(h // 2, w // 2)``):

* :mod:`.functional` -- padding, direct and FFT convolution, OTFs, edge tapering;
* :mod:`.boundary` -- the one boundary vocabulary (model boundaries and solver boundaries);
* :mod:`.blur` -- :class:`BlurOperator` (``x -> k * x``) and :class:`KernelOperator`
  (``k -> k * x``) with exact adjoints for every model boundary, and
  :class:`ZeroPaddedBlur` (an image zero outside its frame);
* :mod:`.periodic` -- :class:`PeriodicBlur`, the blur on a periodic extension of
  the image and the closed-form x-step every Fourier solver uses;
* :mod:`.kernel` -- :class:`KernelSystem` (the k-step's normal equations, solved by
  CG), :func:`fourier_kernel` (closed-form k-step), :class:`GradientDataTerm` and
  :class:`BatchedBlur` (stacks of images by stacks of kernels, zero boundary);
* :mod:`.gradients` -- finite differences, their OTFs and the least-squares
  integration of a gradient field;
* :mod:`.cg` -- conjugate gradients.
"""

from .boundary import MODEL_BOUNDARIES, SOLVER_BOUNDARIES, check_model_boundary, check_solver_boundary
from .functional import (
    BOUNDARIES,
    convolve,
    correlate,
    crop,
    edgetaper,
    pad,
    pad_adjoint,
    psf2otf,
    wrap_pad,
)
from .blur import BlurOperator, KernelOperator, ZeroPaddedBlur
from .cg import conjugate_gradient
from .kernel import BatchedBlur, GradientDataTerm, KernelSystem, fourier_kernel
from .periodic import PeriodicBlur

__all__ = [
    "BOUNDARIES",
    "MODEL_BOUNDARIES",
    "SOLVER_BOUNDARIES",
    "check_model_boundary",
    "check_solver_boundary",
    "convolve",
    "correlate",
    "crop",
    "edgetaper",
    "pad",
    "pad_adjoint",
    "psf2otf",
    "wrap_pad",
    "BlurOperator",
    "KernelOperator",
    "ZeroPaddedBlur",
    "PeriodicBlur",
    "KernelSystem",
    "BatchedBlur",
    "fourier_kernel",
    "GradientDataTerm",
    "conjugate_gradient",
]

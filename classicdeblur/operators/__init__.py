"""Forward models: convolution functions, blur operators and finite differences."""

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
from .blur import BlurOperator, KernelOperator

__all__ = [
    "BOUNDARIES",
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
]

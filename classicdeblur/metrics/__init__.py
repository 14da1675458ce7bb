"""Quality measures for deblurring, as defined in ``docs/EVALUATION.md``.

Image metrics take ``(image_true, image_test, *, data_range=None)`` like
scikit-image's ``peak_signal_noise_ratio``; both images must have the same
shape. Colour images ``(M, N, 3)`` are measured on their BT.601 luminance Y
(:func:`classicdeblur.color.to_luminance`). Metrics run on the CPU: CuPy
inputs are copied to the host.

``data_range`` is inferred only when it is unambiguous: 1 for float images
whose reference lies in [0, 1], the type's maximum for two unsigned-integer
images of the same type; anything else raises ``ValueError``.

Blind methods may return an image shifted by a few pixels (the kernel's centre
is not identifiable), so the benchmark measures are :func:`shift_psnr` and
:func:`shift_ssim` (see :func:`shift_tolerant`), and the kernel measure
:func:`kernel_similarity` is a maximum over shifts.

Examples
--------
>>> import numpy as np
>>> x = np.random.default_rng(0).random((64, 64))
>>> y = np.roll(x, (3, -2), axis=(0, 1))
>>> round(psnr(x, y), 1) < 10
True
>>> r = shift_psnr(x, y, max_shift=4)
>>> r.value, r.shift
(inf, (3, -2))
"""

from .image import SSIM_SETTINGS, ShiftResult, evaluate, psnr, shift_psnr, shift_ssim, shift_tolerant, ssim
from .kernel import cumulative_error_ratio, error_ratio, kernel_similarity, success_rate

__all__ = [
    "psnr",
    "ssim",
    "ShiftResult",
    "shift_tolerant",
    "shift_psnr",
    "shift_ssim",
    "kernel_similarity",
    "error_ratio",
    "success_rate",
    "cumulative_error_ratio",
    "evaluate",
    "SSIM_SETTINGS",
]

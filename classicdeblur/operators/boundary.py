"""The one boundary vocabulary of classicdeblur.

An image is finite; a blur kernel reaches past its border. Two questions are
answered with names from this module, and only from it.

**How the blur model extends the image** (``boundary=`` of
:func:`~classicdeblur.operators.functional.convolve`,
:class:`~classicdeblur.operators.blur.Blur`, :mod:`classicdeblur.degrade`):

``"symmetric"``
    mirror the image about its edge, repeating the edge pixel (NumPy's
    ``"symmetric"``, SciPy's ``"reflect"``); the benchmark protocol's model;
``"replicate"``
    repeat the edge pixel (NumPy's ``"edge"``);
``"circular"``
    the image is periodic (NumPy's ``"wrap"``): what a plain FFT assumes;
``"valid"``
    no extension: the output is smaller than the input by the kernel size
    minus one.

**How a Fourier solver makes a non-periodic image periodic** (``boundary=``
of every non-blind method and of
:class:`~classicdeblur.operators.periodic.PeriodicBlur`):

``"smooth"`` (default)
    extend the image by about a kernel size on each side into a smooth
    periodic image (Liu & Jia 2008,
    :func:`~classicdeblur.operators.functional.wrap_pad`), widened to a fast
    FFT length, solve, crop. Called ``"wrap"`` before version 0.2 (that name
    still works, with a :class:`DeprecationWarning`: NumPy's ``"wrap"`` means
    circular, which it is not);
``"edgetaper"``
    replicate-pad by the kernel size and taper the border (MATLAB's
    ``edgetaper``, :func:`~classicdeblur.operators.functional.edgetaper`);
``"circular"``
    no extension: the image is assumed periodic.

Examples
--------
>>> check_model_boundary("valid")
'valid'
>>> check_solver_boundary("mirror")
Traceback (most recent call last):
...
ValueError: unknown solver boundary 'mirror'; choose from: smooth, edgetaper, circular
"""

from __future__ import annotations

import warnings

__all__ = ["MODEL_BOUNDARIES", "SOLVER_BOUNDARIES", "check_model_boundary", "check_solver_boundary"]

#: How the blur model extends the image.
MODEL_BOUNDARIES = ("symmetric", "replicate", "circular", "valid")

#: How a Fourier solver makes the image periodic.
SOLVER_BOUNDARIES = ("smooth", "edgetaper", "circular")

#: Old names of solver boundaries (removed in the release after 0.2).
_RENAMED = {"wrap": "smooth"}


def check_model_boundary(mode, allowed=MODEL_BOUNDARIES):
    """Return ``mode`` if it is a model boundary in ``allowed``, else raise ``ValueError`` naming them."""
    if mode not in allowed:
        raise ValueError(f"unknown boundary {mode!r}; choose from: {', '.join(allowed)}")
    return mode


def check_solver_boundary(mode):
    """Return the solver boundary ``mode`` (old names mapped with a ``DeprecationWarning``)."""
    if mode in _RENAMED:
        new = _RENAMED[mode]
        warnings.warn(f"boundary={mode!r} is renamed {new!r}; the old name goes in the next release",
                      DeprecationWarning, stacklevel=3)
        return new
    if mode not in SOLVER_BOUNDARIES:
        raise ValueError(f"unknown solver boundary {mode!r}; choose from: {', '.join(SOLVER_BOUNDARIES)}")
    return mode

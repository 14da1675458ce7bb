"""Blur-kernel generators: disk, linear motion, Gaussian and random camera shake.

Every generator returns a float64 kernel that is non-negative, sums to 1, has
odd height and width, and has its centroid within half a pixel of the centre
``(h // 2, w // 2)``. Random generators take a keyword-only ``rng``
(``int | numpy.random.Generator | None``, passed to
:func:`numpy.random.default_rng`), so the same seed gives the same kernel.

All generators are registered in :data:`GENERATORS`; :func:`make_kernel` is
the by-name front end used by the CLI and the dataset recipes.

.. note::
   Kernels are for *true convolution* ``y = k * x`` (see
   :func:`classicdeblur.operators.functional.convolve`). A motion kernel at
   angle 0 smears horizontally; positive angles turn counter-clockwise as
   seen on screen (rows grow downwards).

References
----------
.. [1] The survey's blur models: Eq. 3 (disk / defocus), Eq. 4 (linear
   motion), Eq. 5 (Gaussian).
.. [2] G. Boracchi and A. Foi, "Modeling the performance of image restoration
   from motion blur", IEEE Trans. Image Process. 21(8):3502-3517, 2012.
.. [3] A. Chakrabarti, "A neural approach to blind motion deblurring",
   ECCV 2016 (training code ``make_kernels.m``, github.com/ayanc/ndeblur).
.. [4] Z. Shen, W.-S. Lai, T. Xu, J. Kautz and M.-H. Yang, "Deep semantic
   face deblurring", CVPR 2018.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from .._registry import Registry
from ..errors import InvalidKernelError
from .utils import normalize, odd_size, pad_to_size, recenter, splat_bilinear

__all__ = [
    "GENERATORS",
    "MAX_KERNEL_SIZE",
    "make_kernel",
    "disk",
    "motion",
    "gaussian",
    "boracchi_foi",
    "random_trajectory",
    "chakrabarti",
]

#: Registry of kernel generators (name -> function); meta: ``description``, ``random``.
GENERATORS = Registry("kernel generator")

#: Largest side of a generated kernel, checked before anything is allocated.
#: The largest shipped kernel (``lai:4``) is 75 px wide.
MAX_KERNEL_SIZE = 255

#: Bounds of the generators' integer parameters (checked by :func:`make_kernel`).
_INT_BOUNDS = {
    "size": (1, MAX_KERNEL_SIZE),
    "grid": (1, MAX_KERNEL_SIZE),
    "num_samples": (2, 100_000),
    "num_points": (4, 1_000),
    "samples_per_point": (1, 100_000),
    "supersample": (1, 64),
    "oversample": (1, 256),
}


def _finish(k):
    """Normalise and re-centre by an integer shift (common last step)."""
    k, _ = recenter(normalize(k))
    return k


def _size_or(size, default, what="the kernel"):
    """The odd side to use, refused (before any allocation) when over :data:`MAX_KERNEL_SIZE`."""
    size = default if size is None else size
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)) \
            or not math.isfinite(size) or size != int(size):
        raise InvalidKernelError(f"kernel size must be a positive odd integer; got {size!r}")
    size = int(size)
    if size < 1 or size % 2 == 0:
        raise InvalidKernelError(f"kernel size must be a positive odd integer; got {size}")
    if size > MAX_KERNEL_SIZE:
        raise InvalidKernelError(
            f"{what} needs a {size}x{size} kernel, over the limit of {MAX_KERNEL_SIZE}x{MAX_KERNEL_SIZE}"
        )
    return size


def _real(name, value, *, low=None, strict=True):
    """``value`` as a finite float (``> low`` with ``strict``, else ``>= low``), or an InvalidKernelError."""
    ok = not isinstance(value, (bool, str)) and isinstance(value, (int, float, np.integer, np.floating))
    v = float(value) if ok else math.nan
    if not math.isfinite(v) or (low is not None and (v <= low if strict else v < low)):
        bound = "" if low is None else f" {'>' if strict else '>='} {low:g}"
        raise InvalidKernelError(f"{name} must be a finite number{bound}; got {value!r}")
    return v


def _check_params(name, params, sig):
    """Type, finiteness and size checks of a generator's parameters, before it allocates anything."""
    for key, value in params.items():
        default = sig.parameters[key].default
        if value is None and default is None:
            continue
        what = f"kernel generator {name!r}: {key}"
        if key in _INT_BOUNDS:
            lo, hi = _INT_BOUNDS[key]
            v = _real(what, value)
            if v != int(v) or not lo <= v <= hi:
                raise InvalidKernelError(f"{what} must be a whole number in {lo}..{hi}; got {value!r}")
            params[key] = int(v)
        else:
            params[key] = _real(what, value)


def make_kernel(name, size=None, *, rng=None, **params):
    """Generate a kernel with the registered generator ``name``.

    Parameters
    ----------
    name : str
        One of ``GENERATORS.names()``.
    size : int, optional
        Odd side of the kernel; each generator has its own default.
    rng : int, numpy.random.Generator or None
        Seed or generator for the random generators (ignored by the others).
    **params
        The generator's own parameters (``radius``, ``length``, ``angle``, ``sigma``...).

    Raises
    ------
    ValueError
        Unknown generator (the message lists the valid ones) or parameter.
    InvalidKernelError
        A parameter that is not a finite number, a whole-number parameter out
        of its bounds, or a kernel over :data:`MAX_KERNEL_SIZE` (checked
        before anything is allocated).

    Examples
    --------
    >>> make_kernel("motion", length=5, angle=0).shape
    (7, 7)
    >>> make_kernel("boracchi_foi", 13, rng=0).shape
    (13, 13)
    >>> make_kernel("blob")
    Traceback (most recent call last):
    ...
    ValueError: unknown kernel generator 'blob'; choose from: boracchi_foi, chakrabarti, disk, gaussian, motion
    >>> make_kernel("gaussian", sigma=1e6)
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidKernelError: a gaussian of sigma 1e+06 needs a 6000001x6000001 kernel, over the limit of 255x255
    """
    gen = GENERATORS.get(name)
    sig = inspect.signature(gen)
    valid = [p for p in sig.parameters if p != "rng"]
    bad = sorted(set(params) - set(valid))
    if bad:
        raise ValueError(f"kernel generator {name!r} has no parameter {', '.join(map(repr, bad))}; "
                         f"valid: {', '.join(valid)}")
    if size is not None:
        params["size"] = size
    _check_params(name, params, sig)
    missing = [p.name for p in sig.parameters.values()
               if p.default is inspect.Parameter.empty and p.name not in params and p.name != "rng"]
    if missing:
        raise ValueError(f"kernel generator {name!r} needs {', '.join(missing)}")
    return gen(**params, rng=rng)


# --------------------------------------------------------------------------- parametric kernels


@GENERATORS.register("disk", description="uniform disk (defocus), survey Eq. 3, anti-aliased edge", random=False)
def disk(radius, size=None, *, rng=None, supersample=16):
    """Uniform disk (out-of-focus blur) of radius ``radius`` pixels.

    Parameters
    ----------
    radius : float
        Radius ``R > 0`` in pixels.
    size : int, optional
        Odd side; default ``2 * ceil(R + 0.5) - 1``, the smallest that holds the disk.
    rng : ignored
        Accepted for a uniform generator interface.
    supersample : int
        Each pixel's value is the fraction of ``supersample**2`` sub-pixel
        samples inside the disk, which anti-aliases the edge.

    Returns
    -------
    ndarray of shape (size, size)

    Notes
    -----
    Survey Eq. 3: :math:`k(x, y) = 1 / (\\pi R^2)` if :math:`x^2 + y^2 \\le R^2`,
    else 0; each pixel integrates it over its area (approximated by
    supersampling), then the kernel is normalised to sum 1.

    Examples
    --------
    >>> k = disk(2)
    >>> k.shape, bool(np.isclose(k.sum(), 1)), bool(k[2, 2] == k.max())
    ((5, 5), True, True)
    """
    R = _real("disk radius", radius, low=0)
    size = _size_or(size, 2 * math.ceil(R + 0.5) - 1, f"a disk of radius {R:g}")
    supersample = int(supersample)
    c = size // 2
    sub = (np.arange(supersample) + 0.5) / supersample - 0.5  # symmetric sub-pixel offsets
    grid = np.arange(size) - c
    yy = (grid[:, None] + sub[None, :]).ravel()  # (size * ss,)
    inside = (yy[:, None] ** 2 + yy[None, :] ** 2) <= R * R  # Eq. 3 support
    k = inside.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return _finish(k)


@GENERATORS.register("motion", description="linear motion of a length and angle, survey Eq. 4, anti-aliased",
                     random=False)
def motion(length, angle=0.0, size=None, *, rng=None, oversample=32):
    """Uniform linear motion blur of ``length`` pixels at ``angle`` degrees.

    Parameters
    ----------
    length : float
        Length ``L >= 0`` of the motion in pixels (0 gives the identity kernel).
    angle : float
        Direction in degrees, counter-clockwise from the +x (column) axis as
        seen on screen.
    size : int, optional
        Odd side; default ``2 * ceil(L / 2) + 1``.
    rng : ignored
    oversample : int
        Points per pixel of length used to draw the segment.

    Returns
    -------
    ndarray of shape (size, size)

    Notes
    -----
    Survey Eq. 4: :math:`k = 1/L` on the centred segment
    :math:`\\sqrt{x^2 + y^2} \\le L/2,\\ y/x = -\\tan\\theta`, zero elsewhere.
    The segment is drawn anti-aliased at any angle and any (non-integer)
    length: ``oversample * L`` equally spaced points of equal mass are splatted
    with bilinear weights (:func:`~classicdeblur.psf.utils.splat_bilinear`),
    i.e. the segment's density convolved with a one-pixel triangle. The
    centroid is exactly the centre.

    Examples
    --------
    >>> k = motion(5, 0)
    >>> np.round(k[3], 3)
    array([0.025, 0.175, 0.2  , 0.2  , 0.2  , 0.175, 0.025])
    >>> bool(np.allclose(motion(9, 90), motion(9, 0).T))
    True
    """
    L = _real("motion length", length, low=0, strict=False)
    th = math.radians(_real("motion angle", angle))
    size = _size_or(size, 2 * math.ceil(L / 2) + 1, f"a motion of length {L:g}")
    c = size // 2
    if L == 0:
        k = np.zeros((size, size))
        k[c, c] = 1.0
        return k
    n = max(2, int(math.ceil(L * oversample)))
    # the reach of the outermost point, checked before the points are allocated
    if L / 2 * (1 - 1 / n) * max(abs(math.sin(th)), abs(math.cos(th))) > c + 1e-9:
        raise InvalidKernelError(f"a motion of length {L} does not fit a {size}x{size} kernel")
    t = ((np.arange(n) + 0.5) / n - 0.5) * L  # midpoints of n equal pieces of the segment
    rows, cols = c - t * math.sin(th), c + t * math.cos(th)
    if rows.min() < 0 or cols.min() < 0 or rows.max() > size - 1 or cols.max() > size - 1:
        raise InvalidKernelError(f"a motion of length {L} does not fit a {size}x{size} kernel")
    return _finish(splat_bilinear((size, size), rows, cols))


@GENERATORS.register("gaussian", description="isotropic Gaussian, survey Eq. 5", random=False)
def gaussian(sigma, size=None, *, rng=None):
    """Isotropic Gaussian kernel of standard deviation ``sigma`` pixels.

    Parameters
    ----------
    sigma : float
        Standard deviation, > 0.
    size : int, optional
        Odd side; default ``2 * ceil(3 sigma) + 1``.
    rng : ignored

    Notes
    -----
    Survey Eq. 5: :math:`k(x, y) \\propto \\exp(-(x^2 + y^2) / (2\\sigma^2))`,
    sampled at the pixel centres and normalised to sum 1 on the support.

    Examples
    --------
    >>> k = gaussian(1.0)
    >>> k.shape, bool(np.isclose(k[3, 4] / k[3, 3], np.exp(-0.5)))
    ((7, 7), True)
    """
    s = _real("gaussian sigma", sigma, low=0)
    size = _size_or(size, 2 * math.ceil(3 * s) + 1, f"a gaussian of sigma {s:g}")
    x = np.arange(size) - size // 2
    if 2 * s * s == 0:  # narrower than float precision: a delta
        return pad_to_size(np.ones((1, 1)), size)
    g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * s * s))  # Eq. 5
    return g / g.sum()


# --------------------------------------------------------------------------- Boracchi & Foi 2012

#: Boracchi & Foi's default total trajectory length (``MaxTotalLength = 60`` px).
_BF_LENGTH = 60.0
#: Kernel size that gets the native length: Shen et al.'s 27 px sample kernel
#: (``misc/shen2018_kernel_27.mat``) holds a path of about 55-60 px.
_SHEN_SIZE = 27.0


def random_trajectory(*, rng=None, num_samples=2000, max_length=60.0, anxiety=None):
    """Random camera-shake trajectory of Boracchi & Foi (2012), as complex positions.

    A particle starts at 0 with a random direction. At every step its velocity
    receives a Gaussian perturbation, an inertial (centripetal) pull towards
    the origin and, with a small probability, an impulsive "anxiety" shake that
    roughly inverts it; the speed is then renormalised so that every trajectory
    has the same total length ``max_length`` (Sec. II of [1]_, ``createTrajectory.m``).

    Parameters
    ----------
    rng : int, numpy.random.Generator or None
    num_samples : int
        Number of positions (``numT``, default 2000).
    max_length : float
        Total length of the path in pixels (``MaxTotalLength``, default 60).
    anxiety : float, optional
        Amount of shake in [0, 1]; default ``0.1 * U(0, 1)`` as in the original
        code (DeblurGAN's PSF script fixes 0.005). 0 gives a straight line.

    Returns
    -------
    ndarray of complex, shape (num_samples,)
        ``x + i y`` positions (columns + i rows) starting at 0.

    Notes
    -----
    Per-trajectory constants drawn as in the original: inertia
    ``centripetal = 0.7 U``, impulse probability ``prob_big_shake = 0.2 U``,
    Gaussian term ``gaussian_shake = 10 U``, initial angle ``2 pi U``. With step
    ``s = max_length / (num_samples - 1)`` the update is

    .. math::
        dv = \\text{impulse} + a\\,(g\\,n_t - c\\,x_t)\\,s,\\quad
        v \\leftarrow s\\,\\frac{v + dv}{|v + dv|},\\quad x_{t+1} = x_t + v,

    with the impulse ``2 v exp(i (pi + U - 1/2))`` drawn with probability
    ``prob_big_shake * anxiety``.

    References
    ----------
    .. [1] G. Boracchi and A. Foi, "Modeling the performance of image
       restoration from motion blur", IEEE TIP 21(8), 2012.

    Examples
    --------
    >>> x = random_trajectory(rng=0, num_samples=100, max_length=10)
    >>> x.shape, bool(np.isclose(np.abs(np.diff(x)).sum(), 10))
    ((100,), True)
    """
    rng = np.random.default_rng(rng)
    n = int(num_samples)
    if n < 2:
        raise ValueError(f"num_samples must be >= 2; got {num_samples}")
    if anxiety is None:
        anxiety = 0.1 * rng.uniform()
    anxiety = float(anxiety)
    centripetal = 0.7 * rng.uniform()  # inertia towards the previous positions
    prob_big_shake = 0.2 * rng.uniform()  # impulsive ("anxiety") shakes
    gaussian_shake = 10.0 * rng.uniform()  # random part of the new direction
    init_angle = 2 * np.pi * rng.uniform()
    step = float(max_length) / (n - 1)
    # draw every random number up front (same stream for the same seed)
    u_big = rng.uniform(size=n - 1)
    u_turn = rng.uniform(size=n - 1)
    noise = rng.standard_normal((n - 1, 2))
    gauss = noise[:, 0] + 1j * noise[:, 1]

    v = complex(math.cos(init_angle), math.sin(init_angle))
    v = v * anxiety if anxiety > 0 else v * step
    x = np.zeros(n, dtype=complex)
    pos = 0j
    for t in range(n - 1):
        big = 2 * v * np.exp(1j * (np.pi + (u_turn[t] - 0.5))) if u_big[t] < prob_big_shake * anxiety else 0
        dv = big + anxiety * (gaussian_shake * gauss[t] - centripetal * pos) * step
        v = v + dv
        av = abs(v)
        v = v / av * step if av > 0 else complex(step, 0)
        pos = pos + v
        x[t + 1] = pos
    return x


def _exposure_weights(n, exposure):
    """Weight of each trajectory sample for an exposure ``T`` in (0, 1] (``createPSFs.m``).

    Sample ``t = 1..n`` (1-based) counts fully when ``T n >= t``, partly
    (``T n - (t - 1)``) when it straddles the end of the exposure.
    """
    T = float(exposure)
    if not 0 < T <= 1:
        raise ValueError(f"exposure must be in (0, 1]; got {exposure}")
    return np.clip(T * n - np.arange(n), 0.0, 1.0)


@GENERATORS.register("boracchi_foi", description="random camera-shake trajectory (Boracchi & Foi 2012; "
                     "used by Shen et al. 2018)", random=True)
def boracchi_foi(size=21, *, rng=None, exposure=1.0, anxiety=0.005, num_samples=2000, max_length=None):
    """Random camera-shake kernel from a Boracchi & Foi (2012) trajectory.

    Parameters
    ----------
    size : int
        Odd side of the kernel (Shen et al. 2018 use 13 to 27).
    rng : int, numpy.random.Generator or None
    exposure : float
        Fraction ``T`` in (0, 1] of the trajectory seen during the exposure
        (``createPSFs`` default set ``[1/1000, 1/10, 1/2, 1]``).
    anxiety : float or None
        Amount of impulsive shake, see :func:`random_trajectory`. Default
        0.005, the value DeblurGAN's ``generate_PSF.py`` uses ("recommended
        expl = 0.005"); ``None`` draws ``0.1 U(0, 1)`` as the original MATLAB
        default, which gives much curlier, more compact kernels.
    num_samples : int
        Trajectory samples (``numT = 2000``).
    max_length : float, optional
        Total path length in pixels at full exposure. Default
        ``60 * size / 27``: Boracchi & Foi's length of 60 px for a 27 px kernel,
        as in the 27 px kernel of Shen et al.'s set (its path is about 55 px
        long, 24 px wide). The path is shrunk further when needed so that it
        fits the kernel.

    Returns
    -------
    ndarray of shape (size, size)

    Notes
    -----
    The trajectory is drawn at the original scale (length 60) so that its shape
    statistics do not depend on ``size``, then scaled, centred on its
    exposure-weighted barycentre (``createPSFs(..., do_center=1)``) and sampled
    on the pixel grid: each sample adds its exposure weight with bilinear
    (triangle) interpolation, as in ``createPSFs.m``. Bilinear splatting keeps
    the barycentre, so the kernel's centroid is the centre to rounding.

    References
    ----------
    .. [1] G. Boracchi and A. Foi, IEEE TIP 21(8):3502-3517, 2012.
    .. [2] Z. Shen et al., "Deep semantic face deblurring", CVPR 2018.

    Examples
    --------
    >>> k = boracchi_foi(15, rng=3)
    >>> k.shape, bool(np.isclose(k.sum(), 1)), bool((k >= 0).all())
    ((15, 15), True, True)
    >>> bool(np.array_equal(k, boracchi_foi(15, rng=3)))
    True
    """
    size = _size_or(size, 21)
    if size < 3:
        raise InvalidKernelError(f"boracchi_foi needs size >= 3; got {size}")
    rng = np.random.default_rng(rng)
    x = random_trajectory(rng=rng, num_samples=num_samples, max_length=_BF_LENGTH, anxiety=anxiety)
    w = _exposure_weights(len(x), exposure)
    keep = w > 0
    x, w = x[keep], w[keep]
    d = x - (w * x).sum() / w.sum()  # centre on the barycentre
    c = size // 2
    length = _BF_LENGTH * size / _SHEN_SIZE if max_length is None else float(max_length)
    scale = length / _BF_LENGTH
    reach = max(np.abs(d.real).max(), np.abs(d.imag).max())
    if reach * scale > c:  # shrink to fit the support
        scale = c / reach
    rows = np.clip(c + d.imag * scale, 0, size - 1)  # the clip guards rounding only: |d| scale <= c
    cols = np.clip(c + d.real * scale, 0, size - 1)
    k = splat_bilinear((size, size), rows, cols, w)
    return _finish(k)


# --------------------------------------------------------------------------- Chakrabarti 2016


def _matlab_round(v):
    return np.floor(np.asarray(v) + 0.5)  # half away from zero, for v >= 0


@GENERATORS.register("chakrabarti", description="spline motion kernel of Chakrabarti ECCV 2016 "
                     "(make_kernels; used by MSPL)", random=True)
def chakrabarti(size=41, *, rng=None, grid=None, num_points=6, samples_per_point=5000):
    """Random motion kernel after Chakrabarti (2016), ``make_kernels(psz, size, nc, .)``.

    Parameters
    ----------
    size : int
        Odd side of the output canvas (``mxsz``; 41 in the paper).
    rng : int, numpy.random.Generator or None
    grid : int, optional
        Side ``psz`` of the grid the control points are drawn from (the paper
        mixes 8, 16 and 24 on a 41 px canvas). Default ``min(16, (size + 1) // 2)``,
        which always fits: a re-centred kernel is at most ``2 psz - 1`` wide.
    num_points : int
        Control points ``nc`` of the spline (6 in the paper).
    samples_per_point : int
        The spline is evaluated at ``nc * samples_per_point`` points (5000).

    Returns
    -------
    ndarray of shape (size, size)

    Notes
    -----
    Algorithm of ``make_kernels.m`` [1]_:

    1. draw ``nc`` control points uniformly on the integer ``psz x psz`` grid;
    2. interpolate ``x`` and ``y`` separately with a not-a-knot cubic spline
       (MATLAB ``spline``) over ``nc * 5000`` points, clip to the grid and round;
    3. give every distinct pixel visited a weight ``max(0, 1 + 0.5 n)``,
       ``n ~ N(0, 1)`` (redraw if all are zero), normalise;
    4. zero-pad one side so that the rounded centroid is the centre, reject
       kernels larger than the canvas, and place it centred on the canvas.

    References
    ----------
    .. [1] A. Chakrabarti, "A neural approach to blind motion deblurring",
       ECCV 2016; training code github.com/ayanc/ndeblur ``training/make_kernels.m``.

    Examples
    --------
    >>> k = chakrabarti(41, rng=0)
    >>> k.shape, bool(np.isclose(k.sum(), 1)), int((k > 0).sum()) > 5
    ((41, 41), True, True)
    """
    from scipy.interpolate import CubicSpline  # imported here: costs 0.3 s

    size = _size_or(size, 41)
    psz = min(16, (size + 1) // 2) if grid is None else int(grid)
    nc = int(num_points)
    if psz < 1 or nc < 4:
        raise ValueError(f"chakrabarti needs grid >= 1 and num_points >= 4; got {psz}, {nc}")
    if psz > size:
        raise InvalidKernelError(f"chakrabarti needs grid <= size; got grid {psz} for size {size}")
    rng = np.random.default_rng(rng)
    knots = np.linspace(0, 1, nc)
    tt = np.linspace(0, 1, nc * int(samples_per_point))
    for _ in range(10_000):
        xs = rng.integers(1, psz + 1, nc)  # randi(psz, [1 nc]), 1-based columns
        ys = rng.integers(1, psz + 1, nc)
        x = _matlab_round(np.clip(CubicSpline(knots, xs)(tt), 1, psz)).astype(int)
        y = _matlab_round(np.clip(CubicSpline(knots, ys)(tt), 1, psz)).astype(int)
        idx = np.unique((x - 1) * psz + (y - 1))  # column-major linear index, as in MATLAB
        wt = np.maximum(0.0, rng.standard_normal(idx.size) * 0.5 + 1)
        if wt.sum() == 0:
            continue
        krnl = np.zeros((psz, psz))
        krnl[idx % psz, idx // psz] = wt / wt.sum()
        # 1-based rounded centroid; pad so that it becomes the centre of an odd-sized kernel
        cy, cx = (int(_matlab_round(v + 1)) for v in _centroid0(krnl))
        left, right = (psz - 2 * cx + 1, 0) if cx <= psz / 2 else (0, 2 * cx - psz - 1)
        top, bottom = (psz - 2 * cy + 1, 0) if cy <= psz / 2 else (0, 2 * cy - psz - 1)
        krnl = np.pad(krnl, ((top, bottom), (left, right)))
        if max(krnl.shape) <= size:
            break
    else:  # pragma: no cover - needs a grid far larger than the canvas
        raise InvalidKernelError(f"no kernel on a {psz} grid fits a {size}x{size} canvas")
    odd_size(krnl.shape)
    return _finish(pad_to_size(krnl, size))


def _centroid0(k):
    rows, cols = np.indices(k.shape)
    s = k.sum()
    return (k * rows).sum() / s, (k * cols).sum() / s

"""Scalar code of the per-pixel shrinkage steps, shared by the numba and CUDA engines.

:func:`make_scalar_ops` builds the per-pixel functions from plain Python with
``math`` only; :mod:`._shrink_numba` compiles them with ``@njit`` and
:mod:`._shrink_cuda` as CUDA device functions, so both engines evaluate the
same code. The NumPy reference in :mod:`._shrink` shares the constants.

This module imports only ``math`` and ``types``: the engine modules import it,
never :mod:`._shrink`, which dispatches to them (no import loop).

Examples
--------
>>> ops = make_scalar_ops()
>>> ops.soft(0.5, 0.1)
0.4
"""

from __future__ import annotations

import math
import types

__all__ = ["NEWTON_MAXITER", "make_scalar_ops"]

#: Newton iterations for a general ``alpha`` (convergence is quadratic; 60 is a safe cap).
NEWTON_MAXITER = 60
_NEWTON_RTOL = 1e-14
_TWO_THIRDS = 2.0 / 3.0


def _is_two_thirds(alpha):
    return abs(alpha - _TWO_THIRDS) < 1e-12


def make_scalar_ops(jit=None):
    """Build the per-pixel scalar functions, compiled with ``jit`` (identity when None).

    ``jit`` is ``numba.njit`` for the CPU engine and ``cuda.jit(device=True)``
    for the GPU engine; the bodies use only ``math`` and plain arithmetic.

    Returns
    -------
    types.SimpleNamespace
        ``hl(v, beta, alpha)``, ``soft(v, t)``, ``iso_scale(h, v, t)``.

    Examples
    --------
    >>> ops = make_scalar_ops()
    >>> round(ops.hl(1.0, 10.0, 0.5), 6) == round(ops.hl(1.0, 10.0, 0.5000001), 6)
    True
    >>> ops.soft(-0.3, 0.1)
    -0.19999999999999998
    """
    if jit is None:

        def jit(f):
            return f

    @jit
    def hl_half(x, beta):
        # alpha = 1/2, x = |v| > 0. With w = u^2 the stationarity condition of
        # Eq. (5), 1/(2 sqrt(w)) + beta (w - x) = 0 (the cubic of Eq. 11 after
        # squaring), becomes the depressed cubic u^3 - x u + 1/(2 beta) = 0.
        q = 0.5 / beta
        if 4.0 * x * x * x <= 27.0 * q * q:
            return 0.0  # one real root, negative: no positive stationary point
        # three real roots; the largest is the local minimum (trigonometric form)
        c = -1.5 * q / x * math.sqrt(3.0 / x)
        c = min(1.0, max(-1.0, c))
        u = 2.0 * math.sqrt(x / 3.0) * math.cos(math.acos(c) / 3.0)
        w = u * u
        d = w - x
        if u + 0.5 * beta * d * d < 0.5 * beta * x * x:  # beats w = 0
            return w
        return 0.0

    @jit
    def hl_two_thirds(x, beta):
        # alpha = 2/3. With w = u^3, Eq. (5) gives u^4 - x u + 2/(3 beta) = 0
        # (the quartic of Eq. 14), solved by Ferrari's method.
        c = 2.0 / (3.0 * beta)
        r = 0.125 * x * x
        # resolvent cubic m^3 - c m - r = 0, largest real root
        dd = 0.25 * r * r - c * c * c / 27.0
        if dd > 0.0:
            a = math.pow(0.5 * r + math.sqrt(dd), 1.0 / 3.0)
            m = a + c / (3.0 * a)
        else:
            t = 1.5 * r / c * math.sqrt(3.0 / c)
            t = min(1.0, max(-1.0, t))
            m = 2.0 * math.sqrt(c / 3.0) * math.cos(math.acos(t) / 3.0)
        s = math.sqrt(2.0 * m)
        e = x / s - m  # half the discriminant of u^2 - s u + m - x / (2 s) = 0
        if e < 0.0:
            return 0.0
        u = 0.5 * (s + math.sqrt(2.0 * e))
        w = u * u * u
        d = w - x
        if u * u + 0.5 * beta * d * d < 0.5 * beta * x * x:
            return w
        return 0.0

    @jit
    def hl_newton(x, beta, alpha):
        # any 0 < alpha < 1: g(w) = alpha w^(alpha-1) + beta (w - x) is convex and
        # increasing on (w_i, x], w_i the inflection point of the objective, so
        # Newton from w = x decreases monotonically to the local minimum if any.
        wi = math.pow(alpha * (1.0 - alpha) / beta, 1.0 / (2.0 - alpha))
        if x <= wi:
            return 0.0
        w = x
        for _ in range(NEWTON_MAXITER):
            g = alpha * math.pow(w, alpha - 1.0) + beta * (w - x)
            gp = alpha * (alpha - 1.0) * math.pow(w, alpha - 2.0) + beta
            wn = w - g / gp
            if wn <= wi:  # no stationary point: the minimum is w = 0
                return 0.0
            if abs(wn - w) <= _NEWTON_RTOL * w:
                w = wn
                break
            w = wn
        d = w - x
        if math.pow(w, alpha) + 0.5 * beta * d * d < 0.5 * beta * x * x:
            return w
        return 0.0

    @jit
    def hl(v, beta, alpha):
        x = abs(float(v))
        if alpha == 1.0:
            w = max(x - 1.0 / beta, 0.0)
        elif alpha == 0.5:
            w = hl_half(x, beta)
        elif abs(alpha - _TWO_THIRDS) < 1e-12:
            w = hl_two_thirds(x, beta)
        else:
            w = hl_newton(x, beta, alpha)
        return math.copysign(w, float(v)) if w > 0.0 else 0.0

    @jit
    def soft(v, t):
        x = float(v)
        if x > t:
            return x - t
        if x < -t:
            return x + t
        return 0.0

    @jit
    def iso_scale(h, v, t):
        n = math.sqrt(float(h) * float(h) + float(v) * float(v))
        if n > t:
            return (n - t) / n
        return 0.0

    return types.SimpleNamespace(
        hl=hl, hl_half=hl_half, hl_two_thirds=hl_two_thirds, hl_newton=hl_newton, soft=soft, iso_scale=iso_scale
    )


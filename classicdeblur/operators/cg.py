"""Conjugate gradients on arrays of any shape, for any backend."""

from __future__ import annotations

from ..backend import get_namespace

__all__ = ["conjugate_gradient"]


def conjugate_gradient(apply_a, b, x0=None, *, maxiter=50, tol=1e-6):
    """Solve ``A x = b`` for a symmetric positive (semi-)definite ``A`` given as a function.

    Parameters
    ----------
    apply_a : callable
        ``x -> A x`` on arrays shaped like ``b``.
    b : ndarray
    x0 : ndarray, optional
        Starting point (zeros by default).
    maxiter : int
    tol : float
        Stop when ``||r|| <= tol * ||b||``.

    Returns
    -------
    x : ndarray
    iterations : int

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> x, it = conjugate_gradient(lambda v: A @ v, np.array([1.0, 2.0]))
    >>> bool(np.allclose(A @ x, [1, 2]))
    True
    """
    xp = get_namespace(b)
    x = xp.zeros_like(b) if x0 is None else x0.copy()
    r = b - apply_a(x) if x0 is not None else b.copy()
    p = r.copy()
    rs = float(xp.vdot(r.ravel(), r.ravel()).real)
    stop = tol**2 * max(float(xp.vdot(b.ravel(), b.ravel()).real), 1e-300)
    it = 0
    for it in range(1, maxiter + 1):
        if rs <= stop:
            it -= 1
            break
        ap = apply_a(p)
        pap = float(xp.vdot(p.ravel(), ap.ravel()).real)
        if pap <= 0:
            break
        alpha = rs / pap
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = float(xp.vdot(r.ravel(), r.ravel()).real)
        p = r + (rs_new / rs) * p
        rs = rs_new
    return x, it

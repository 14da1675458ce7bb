"""Kernel constraints applied after every k-step of the alternating framework.

METHODS.md section 0, following the authors' codes (Cho & Lee 2009, Krishnan
et al. 2011, Pan et al. 2014): a blur kernel is non-negative and sums to one;
entries below a fraction of the maximum are noise; small isolated components
are noise; and the kernel's centre is not identifiable, so it is re-centred on
its centroid and the latent image shifted by the same amount.
"""

from __future__ import annotations

from ..backend import get_namespace, get_ndimage

__all__ = ["project_kernel", "recenter", "shift_image"]


def project_kernel(kernel, *, threshold=0.05, min_component=0.1):
    """Make an estimated kernel a valid blur kernel.

    In order: clip negatives to 0; zero the entries below ``threshold`` times
    the maximum; drop 8-connected components whose mass is below
    ``min_component`` times the total; normalise to sum 1. A kernel that ends
    up empty becomes a centred delta.

    Parameters
    ----------
    kernel : ndarray of shape (h, w)
    threshold : float
        Relative threshold on values (0 disables it).
    min_component : float
        Relative mass below which a connected component is removed (0 disables it).

    Returns
    -------
    ndarray
        Non-negative kernel summing to 1, same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.zeros((5, 5)); k[2, 1:4] = [0.5, 1.0, 0.5]; k[0, 4] = 0.1; k[4, 0] = -0.3
    >>> p = project_kernel(k)
    >>> p[2].round(2).tolist(), float(p.sum()), float(p.min())
    ([0.0, 0.25, 0.5, 0.25, 0.0], 1.0, 0.0)
    """
    xp = get_namespace(kernel)
    k = xp.maximum(kernel, 0)
    peak = float(k.max()) if k.size else 0.0
    if peak > 0 and threshold > 0:
        k = xp.where(k < threshold * peak, 0, k)
    total = float(k.sum())
    if total > 0 and min_component > 0:
        ndi = get_ndimage(xp)
        labels, n = ndi.label(k > 0, structure=xp.ones((3, 3)))
        if int(n) > 1:
            mass = ndi.sum_labels(k, labels, index=xp.arange(1, int(n) + 1))
            keep = xp.concatenate([xp.zeros(1, dtype=bool), mass >= min_component * total])
            k = xp.where(keep[labels], k, 0)
        total = float(k.sum())
    if not total > 0:
        k = xp.zeros_like(kernel)
        k[kernel.shape[0] // 2, kernel.shape[1] // 2] = 1
        return k
    return (k / total).astype(kernel.dtype, copy=False)


def recenter(kernel):
    """Shift ``kernel`` so its centroid falls on the centre pixel (integer shift, zero fill).

    Returns
    -------
    kernel : ndarray
        The shifted kernel (mass shifted out of the window is dropped and the
        rest renormalised).
    shift : tuple of int
        ``(dy, dx)`` by which the kernel was moved. Shift the latent image by
        the *opposite* amount (:func:`shift_image` with ``-dy, -dx``) so that
        ``k * x`` is unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.zeros((5, 5)); k[0, 3] = 1
    >>> c, s = recenter(k)
    >>> s, bool(c[2, 2] == 1)
    ((2, -1), True)
    """
    xp = get_namespace(kernel)
    h, w = kernel.shape
    total = float(kernel.sum())
    if not total > 0:
        return kernel, (0, 0)
    rows = xp.arange(h, dtype=kernel.dtype)
    cols = xp.arange(w, dtype=kernel.dtype)
    cy = float((kernel.sum(axis=1) * rows).sum()) / total
    cx = float((kernel.sum(axis=0) * cols).sum()) / total
    dy, dx = int(round(h // 2 - cy)), int(round(w // 2 - cx))
    if dy == 0 and dx == 0:
        return kernel, (0, 0)
    out = xp.zeros_like(kernel)
    src = kernel[max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
    out[max(dy, 0) : max(dy, 0) + src.shape[0], max(dx, 0) : max(dx, 0) + src.shape[1]] = src
    s = float(out.sum())
    return (out / s if s > 0 else kernel), (dy, dx)


def shift_image(image, shift):
    """Translate the first two axes of ``image`` by integer ``(dy, dx)``, replicating the edge.

    Examples
    --------
    >>> import numpy as np
    >>> shift_image(np.arange(5.0)[None], (0, 2)).tolist()
    [[0.0, 0.0, 0.0, 1.0, 2.0]]
    """
    xp = get_namespace(image)
    dy, dx = shift
    H, W = image.shape[:2]
    rows = xp.clip(xp.arange(H) - dy, 0, H - 1)
    cols = xp.clip(xp.arange(W) - dx, 0, W - 1)
    return image[rows[:, None], cols[None, :]]

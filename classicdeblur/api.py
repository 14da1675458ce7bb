"""Public entry points: :func:`deconvolve` (kernel known), :func:`deblur` (blind), :func:`deblur_batch` (blind, many
images at once), :func:`methods`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import backend
from ._registry import check_params
from ._validation import check_blind_shape, check_image, check_kernel
from .errors import InvalidKernelError, InvalidParameterError

__all__ = ["MethodInfo", "DeblurResult", "methods", "deconvolve", "deblur", "deblur_batch", "resolve_kernel"]


@dataclass(frozen=True)
class MethodInfo:
    """One registered method: its ``name``, ``kind`` (``"blind"`` or ``"non-blind"``) and ``description``."""

    name: str
    kind: str
    description: str


@dataclass
class DeblurResult:
    """Result of a blind run.

    Attributes
    ----------
    image : ndarray
        Restored image, same shape as the input, float in [0, 1].
    kernel : ndarray
        Estimated blur kernel (odd-sized, sums to 1).
    info : dict
        ``method``, ``device``, ``params``, ``seconds`` and whatever the method
        reports (iterations, objective history, per-stage timings).
    """

    image: np.ndarray
    kernel: np.ndarray
    info: dict = field(default_factory=dict)


def _nonblind():
    from .solvers.nonblind import NONBLIND

    return NONBLIND


def _blind():
    from .blind import registry

    return registry()


def methods(kind: str | None = None) -> list[MethodInfo]:
    """Every registered method with its kind and a one-line description.

    Parameters
    ----------
    kind : {None, "blind", "non-blind"}
        Restrict the list to one kind.

    Examples
    --------
    >>> any(m.name == "hyper_laplacian" and m.kind == "non-blind" for m in methods())
    True
    """
    if kind not in (None, "blind", "non-blind"):
        raise ValueError(f"unknown kind {kind!r}; choose from: blind, non-blind")
    out = []
    for k, reg in (("non-blind", _nonblind()), ("blind", _blind())):
        if kind in (None, k):
            out += [MethodInfo(n, k, reg.meta(n).get("description", "")) for n in reg.names()]
    return out


def resolve_kernel(spec, *, rng=None):
    """Turn a kernel given as an array, a file path or a name/recipe into a valid kernel.

    Parameters
    ----------
    spec : ndarray, str or path
        An array; a file (``.npy``, ``.png``, ``.txt``, ``.mat``...); a bank
        name such as ``"levin:3"``; or a generator recipe such as
        ``"motion:length=15,angle=30"``.

    Examples
    --------
    >>> resolve_kernel("levin:1").shape
    (19, 19)
    """
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        if path.suffix and path.exists():
            from .io import read_kernel

            return read_kernel(path)
        if isinstance(spec, str) and ":" in spec:
            from .psf.bank import kernel_from_spec

            return check_kernel(kernel_from_spec(spec, rng=rng))
        raise InvalidKernelError(
            f"kernel {str(spec)!r} is neither an existing file nor a name like 'levin:3' "
            "or 'motion:length=15,angle=30'"
        )
    return check_kernel(spec)


def _on_device(image, device):
    if backend.is_cupy(image) and device in ("auto", "gpu"):
        # already on a device: stay there, in its own array module
        return "gpu", backend.get_namespace(image), image
    dev = backend.resolve_device(device)
    xp = backend.namespace_for(dev)
    return dev, xp, backend.asarray_on(xp, image)


def _back(result, like):
    return result if backend.is_cupy(like) else backend.to_numpy(result)


def deconvolve(image, kernel, method="hyper_laplacian", *, device="auto", **params):
    """Non-blind deconvolution: restore ``image`` blurred by a known ``kernel``.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Float in [0, 1] (integers are rescaled).
    kernel : ndarray, str or path
        See :func:`resolve_kernel`.
    method : str
        A non-blind method from :func:`methods`; unknown names list the valid ones.
    device : {"auto", "cpu", "gpu"}
        ``auto`` uses the GPU when CuPy works. The result comes back on the
        input's device (NumPy in, NumPy out).
    **params
        Parameters of the method (see its docstring).

    Returns
    -------
    ndarray
        The restored image, clipped to [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.operators import convolve
    >>> x = np.random.default_rng(0).random((32, 32))
    >>> k = np.ones((3, 3)) / 9
    >>> out = deconvolve(convolve(x, k), k, method="wiener")
    >>> out.shape
    (32, 32)
    """
    from .solvers.nonblind import deconvolve as run

    kernel = resolve_kernel(kernel)
    image = check_image(image)  # the [0, 1] convention, checked at the entry point
    _, xp, x = _on_device(image, device)
    # the solver checks the method, its parameters and the image (once)
    out = run(x, backend.asarray_on(xp, kernel), method=method, **params)
    return _back(out, image)


def deblur(image, method, *, kernel_size="auto", device="auto", rng=None, **params) -> DeblurResult:
    """Blind deblurring: estimate the kernel and the sharp image together.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    method : str
        A blind method from :func:`methods`; unknown names list the valid ones.
    kernel_size : "auto", int or None
        Side of the kernel's window in pixels. ``"auto"`` (default): estimated
        from the image (the blur's extent measured by a quick probe estimation,
        plus 2 pixels, at most a quarter of the smaller side; see
        :func:`classicdeblur.blind.kernel_size.estimate_kernel_size`); a face
        method on a photo estimates it on the face region. An odd
        integer: that size. ``None``: the method's fixed default (31, or a
        quarter of the smaller side when less).
    device : {"auto", "cpu", "gpu"}
    rng : int or numpy.random.Generator, optional
        Seed for any random choice, so runs reproduce.
    **params
        Parameters of the method. Face methods (``exemplar``, ``anwar2018``,
        ``tian2015``) run on whole photos too and also take ``face_box``
        ``(x, y, w, h)``, ``faces`` (``"largest"`` or ``"all"``), ``context``
        and ``require_face`` (see :func:`classicdeblur.blind.photo.deblur_photo`).
        ``hacohen2013`` needs ``reference``, a sharp photo of the same face
        (a path or an array).

    Returns
    -------
    DeblurResult
        ``info["kernel_size"]`` is the size used and ``info["kernel_size_source"]``
        says where it came from (``"auto"``, ``"given"`` or ``"default"``); with
        ``"auto"``, ``info["kernel_size_estimate"]`` holds the estimate's details.

    Raises
    ------
    ValueError
        Unknown method, or a kernel size that is even or larger than the image.
    NoFaceError
        A face method with ``require_face=True`` found no face.

    Warns
    -----
    UserWarning
        A face method found no face and estimated the kernel on the whole image.
    """
    reg = _blind()
    fn = reg.get(method)
    meta = reg.meta(method)
    face = bool(meta.get("face"))
    for need in meta.get("needs", ()):  # e.g. hacohen2013's sharp reference photo, checked before any work
        if params.get(need) is None:
            raise InvalidParameterError(f"blind method {method!r} needs {need}= (see its docstring; CLI: "
                                        f"--{need.replace('_', '-')} FILE)")
    # a face method runs through the whole-photo path, which takes these itself;
    # renamed keywords are mapped (with a warning) by the method
    skip = set(meta.get("renamed", ())) | ({"faces", "context", "face_box", "require_face"} if face else set())
    check_params(fn, f"blind method {method!r}", {k: v for k, v in params.items() if k not in skip},
                 reserved=("kernel_size", "rng", "target"))
    image = check_image(image)
    check_blind_shape(image.shape)
    auto = isinstance(kernel_size, str)
    if auto and kernel_size != "auto":
        raise InvalidKernelError(f"kernel_size must be 'auto' or an odd integer >= 3; got {kernel_size!r}")
    if kernel_size is not None and not auto:
        if int(kernel_size) % 2 == 0 or int(kernel_size) < 3:
            raise InvalidKernelError(f"kernel_size must be odd and at least 3; got {kernel_size}")
        if kernel_size > min(image.shape[:2]):
            raise InvalidKernelError(
                f"kernel_size {kernel_size} is larger than the image ({image.shape[1]}x{image.shape[0]})"
            )
    dev, xp, x = _on_device(image, device)
    t0 = time.perf_counter()
    source, estimate = ("given" if kernel_size is not None else "default"), None
    if auto:
        source = "auto"
    if face:
        # a face method on any photo: kernel (and its "auto" size) from the face region, the whole photo restored
        from .blind.photo import deblur_photo

        out, kernel, info = deblur_photo(x, method, kernel_size=kernel_size, rng=np.random.default_rng(rng), **params)
        estimate = info.pop("kernel_size_estimate", None)
    else:
        if auto:
            from .blind.kernel_size import estimate_kernel_size

            engine = params.get("engine", "auto")
            kernel_size, estimate = estimate_kernel_size(x, engine="auto" if engine == "cuda" else engine)
        out, kernel, info = fn(x, kernel_size=kernel_size, rng=np.random.default_rng(rng), **params)
    info = {"method": method, "device": dev, "params": dict(params), **info}
    info["kernel_size"] = int(kernel.shape[0])
    info["kernel_size_source"] = source
    if estimate is not None:
        info["kernel_size_estimate"] = estimate
    info["seconds"] = time.perf_counter() - t0
    return DeblurResult(_back(out, image), backend.to_numpy(kernel), info)


def deblur_batch(images, method, *, kernel_size=None, device="auto", rng=None, workers=None,
                 **params) -> list[DeblurResult]:
    """Blind deblurring of many equal-size images at once: one batched alternation for the whole stack.

    For ``xu2010``, ``anwar2018`` and ``cho2009`` the coarse-to-fine
    alternation runs on the stack with a leading batch axis (batched FFTs,
    one kernel, thresholds and early stop per image,
    :mod:`classicdeblur.blind.batched`), on NumPy or CuPy from the same code;
    each image gets what :func:`deblur` with the same ``kernel_size`` gives
    it (bit for bit on the CPU). Other methods run image by image.

    Parameters
    ----------
    images : ndarray of shape (B, M, N) or (B, M, N, C), or a sequence of equal-shape images
        Float in [0, 1] (integers are rescaled), NumPy or CuPy. Face methods
        treat each image as a face crop (``face_box="whole"``).
    method : str
        A blind method from :func:`methods`.
    kernel_size : int, optional
        Odd kernel size for every image (the method's default otherwise;
        ``"auto"``, which sizes each image's kernel, is not available in a batch).
    device : {"auto", "cpu", "gpu"}
    rng : int or numpy.random.Generator, optional
        As for :func:`deblur` (the batched methods are deterministic).
    workers : int, optional
        CPU threads, each running the batched alternation on a chunk of the
        images (default 1: on a shared or small CPU, threads did not pay; on a GPU one batch fills the
        device). Results do not depend on it.
    **params
        Parameters of the method, as for :func:`deblur` (no pixel screening
        or face guidance in a batch).

    Returns
    -------
    list of DeblurResult
        One per image, in order; images on the input's device, kernels NumPy.
        ``info["batch"]`` is the batch size, ``info["batched"]`` tells whether
        the alternation ran batched.

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.degrade import degrade
    >>> x = np.zeros((48, 48)); x[12:36, 12:36] = 0.8; x[20:28, 6:42] = 0.3
    >>> k = resolve_kernel("motion:length=5,angle=0")
    >>> ys = np.stack([degrade(x, k, noise=None, rng=0), degrade(x.T.copy(), k, noise=None, rng=1)])
    >>> res = deblur_batch(ys, "xu2010", kernel_size=7)
    >>> one = deblur(ys[1], "xu2010", kernel_size=7)
    >>> len(res), bool(np.array_equal(res[1].image, one.image))
    (2, True)
    """
    from .blind.batched import BATCHED, deblur_stack

    reg = _blind()
    fn = reg.get(method)
    if isinstance(kernel_size, str):
        raise InvalidKernelError(f"kernel_size must be an odd integer >= 3 or None in a batch; got {kernel_size!r}")
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("deblur_batch needs at least one image")
        shapes = {tuple(im.shape) for im in images}
        if len(shapes) > 1:
            raise ValueError(f"deblur_batch needs images of one shape; got {sorted(shapes)}")
        xp_in = backend.get_namespace(*images)
        images = xp_in.stack([xp_in.asarray(im) for im in images])
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be a stack (B, M, N) or (B, M, N, C); got shape {tuple(images.shape)}")
    B = images.shape[0]
    skip = {"face_box"} if reg.meta(method).get("face") else set()
    check_params(fn, f"blind method {method!r}", {k: v for k, v in params.items() if k not in skip},
                 reserved=("kernel_size", "rng", "target"))
    # the pixel limit holds per image; then the stack is checked as one image of B * M rows (dtype, range, values)
    check_image(images[0], name="images[0]")
    flat = check_image(images.reshape((B * images.shape[1],) + tuple(images.shape[2:])), name="images",
                       limit=np.iinfo(np.int64).max)
    stack = flat.reshape(images.shape)
    check_blind_shape(stack.shape[1:3])
    if kernel_size is not None and (int(kernel_size) % 2 == 0 or int(kernel_size) < 3
                                    or kernel_size > min(stack.shape[1:3])):
        raise InvalidKernelError(f"kernel_size must be odd, at least 3 and at most the image side; got {kernel_size}")
    dev, xp, x = _on_device(stack, device)
    t0 = time.perf_counter()
    if method in BATCHED:
        out, kernels, infos = deblur_stack(x, method, kernel_size=kernel_size, workers=workers, **params)
        kernels = backend.to_numpy(kernels)
        out = out if backend.is_cupy(images) else backend.to_numpy(out)
        seconds = time.perf_counter() - t0
        return [DeblurResult(out[i], kernels[i], {"method": method, "device": dev, "params": dict(params),
                                                  **infos[i], "batched": True, "seconds": seconds})
                for i in range(B)]
    results = []
    for i in range(B):
        kw = {"face_box": "whole", **params} if reg.meta(method).get("face") else params
        res = deblur(x[i], method, kernel_size=kernel_size, device=device, rng=rng, **kw)
        res.info.update(batch=B, batched=False)
        results.append(DeblurResult(res.image if backend.is_cupy(images) else backend.to_numpy(res.image),
                                    res.kernel, res.info))
    return results

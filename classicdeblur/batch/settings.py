"""What a batch applies to every input, checked once before any work starts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from ..errors import ClassicDeblurError

__all__ = ["Settings", "make_settings", "KERNEL_FORMATS"]

#: Kernel file formats of ``save_kernel`` (see :func:`classicdeblur.write_kernel`).
KERNEL_FORMATS = ("png", "npy", "txt", "csv", "tif", "tiff", "mat")


def _jsonable(value):
    return json.loads(json.dumps(value, sort_keys=True, default=repr))


@dataclass(frozen=True)
class Settings:
    """Everything that decides the output of one input; sent to the workers with each task.

    Build it with :func:`make_settings`, which checks the combination as ``classicdeblur
    run`` does.
    """

    method: str
    blind: bool
    kernel: np.ndarray | None = None  # the known kernel of a non-blind method
    kernel_spec: str | None = None
    kernel_size: int | str | None = None  # or "auto"
    seed: int | None = None
    params: dict = field(default_factory=dict)  # method parameters, as deblur/deconvolve take them
    device: str = "auto"
    bit_depth: int | None = None
    max_pixels: int | None = None
    save_kernel: str | None = None  # kernel file format, or None
    frames: bool = False
    shared_kernel: bool = False
    kernel_frames: int = 3
    kernel_from: str = "sharpest"

    def fingerprint(self, kind: str) -> dict:
        """The settings that change the output of an input of this ``kind``, as JSON values.

        Two runs with equal fingerprints (and equal input bytes) give the same output,
        so the later run may reuse the earlier one's. ``device`` is left out.
        """
        fp = {
            "method": self.method,
            "kernel": self.kernel_spec,
            "kernel_sha256": (hashlib.sha256(np.ascontiguousarray(self.kernel, dtype=np.float64).tobytes())
                              .hexdigest() if self.kernel is not None else None),
            "kernel_size": self.kernel_size,
            "seed": self.seed,
            "params": self.params,
            "save_kernel": self.save_kernel,
        }
        if kind == "image":
            fp["bit_depth"] = self.bit_depth
        else:
            fp.update(frames=self.frames, shared_kernel=self.shared_kernel)
            if self.shared_kernel:
                fp.update(kernel_frames=self.kernel_frames, kernel_from=self.kernel_from)
        return _jsonable(fp)


def make_settings(method=None, *, kernel=None, kernel_size=None, params=None, seed=None, pixel_screening=False,
                  face_box=None, device="auto", bit_depth=None, max_pixels=None, save_kernel=None, frames=False,
                  shared_kernel=False, kernel_frames=3, kernel_from="sharpest") -> Settings:
    """Check a batch's options and resolve the kernel, with the messages of ``classicdeblur run``.

    Raises
    ------
    ClassicDeblurError
        Unknown method, a blind option with a non-blind method or the reverse, a
        missing kernel, a bad kernel, or a bad batch option.
    """
    from .. import methods, resolve_kernel

    params = dict(params or {})
    method = method or ("hyper_laplacian" if kernel is not None else None)
    kinds = {m.name: m.kind for m in methods()}
    if method is None:
        blind = [n for n, k in kinds.items() if k == "blind"]
        raise ClassicDeblurError("give --kernel for non-blind deconvolution or --method with a blind method"
                                 + (f" ({', '.join(blind)})" if blind else ""))
    if method not in kinds:
        raise ClassicDeblurError(f"unknown method {method!r}; choose from: {', '.join(sorted(kinds))}")
    blind = kinds[method] == "blind"
    if device not in ("auto", "cpu", "gpu"):
        raise ClassicDeblurError(f"device must be 'auto', 'cpu' or 'gpu'; got {device!r}")
    if bit_depth not in (None, 8, 16):
        raise ClassicDeblurError(f"bit depth must be 8 or 16; got {bit_depth!r}")
    if save_kernel is not None:
        save_kernel = str(save_kernel).lower().lstrip(".")
        if save_kernel not in KERNEL_FORMATS:
            raise ClassicDeblurError(f"unknown kernel format {save_kernel!r}; choose from: {', '.join(KERNEL_FORMATS)}")
    if kernel_from not in ("sharpest", "first"):
        raise ClassicDeblurError(f"--kernel-from must be 'sharpest' or 'first'; got {kernel_from!r}")
    if int(kernel_frames) < 1:
        raise ClassicDeblurError(f"--kernel-frames must be at least 1; got {kernel_frames}")
    spec = resolved = None
    if not blind:
        if kernel is None:
            raise ClassicDeblurError(f"method {method!r} is non-blind: give --kernel FILE|levin:N")
        for flag, value in (("--kernel-size", kernel_size), ("--seed", seed),
                            ("--pixel-screening", pixel_screening or None), ("--face-box", face_box),
                            ("--shared-kernel", shared_kernel or None)):
            if value is not None:
                raise ClassicDeblurError(f"{flag} applies to blind methods; {method!r} is non-blind")
        resolved = np.asarray(resolve_kernel(kernel), dtype=np.float64)
        spec = kernel if isinstance(kernel, str) else "array"
        spec = str(kernel) if hasattr(kernel, "__fspath__") else spec
    else:
        if kernel is not None:
            raise ClassicDeblurError(f"method {method!r} is blind: use --kernel-size, not --kernel")
        if kernel_size == "auto":  # left to the method, as run does
            pass
        elif kernel_size is not None and (int(kernel_size) % 2 == 0 or int(kernel_size) < 3):
            raise ClassicDeblurError(f"kernel size must be odd and at least 3; got {kernel_size}")
        if pixel_screening:
            params["pixel_screening"] = True
        if face_box is not None:
            params["face_box"] = face_box
    return Settings(method=method, blind=blind, kernel=resolved, kernel_spec=spec,
                    kernel_size=kernel_size if kernel_size in (None, "auto") else int(kernel_size), seed=seed,
                    params=params, device=device, bit_depth=bit_depth, max_pixels=max_pixels,
                    save_kernel=save_kernel, frames=bool(frames), shared_kernel=bool(shared_kernel),
                    kernel_frames=int(kernel_frames), kernel_from=kernel_from)

"""The data the constants of ``kernel_size="auto"`` were chosen on, and the measure they were chosen by.

:mod:`classicdeblur.blind.kernel_size` may be tuned **only on data outside the benchmarks**.
This script builds that data and measures the estimator on it:

* **faces**: CelebA identities 40 to 99 (``faces-256`` uses the first 40, and FFHQ), their second
  image, cut and resized to 256x256 as :func:`benchmarks._data.load_set` does;
* **kernels** of the project's own generators only: :func:`~classicdeblur.psf.generators.boracchi_foi`
  (15, 25, 35 px), :func:`~classicdeblur.psf.generators.chakrabarti` (41 px canvas),
  :func:`~classicdeblur.psf.generators.motion` (9 and 21 px), and :func:`variable_speed`: a
  :func:`~classicdeblur.psf.generators.random_trajectory` travelled at a varying speed, so
  that the kernel is bright where the camera lingers and faint where it moves fast (15-41 px);
* the degradation of the benchmarks (:func:`~classicdeblur.degrade.degrade`: 1% noise, 8 bits).

Per case: the estimated size against the size the true kernel needs (its support, in a
square centred on its centroid) and, with ``--psnr``, the restoration's PSNR loss against the
true kernel's size for ``anwar2018`` and ``xu2010`` (both sizes run; shift-tolerant PSNR).

Usage::

    .venv/bin/python -m benchmarks.kernel_size_tuning --data ../shared/data --limit 8 --psnr   # identities 60-67
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
from pathlib import Path

import numpy as np

from benchmarks._data import _gray, _natural, _square_256, machine
from benchmarks._parallel import workers
from benchmarks.nonblind import _render

#: CelebA identities of the tuning set (after the 40 of ``faces-256``).
FIRST_IDENTITY, LAST_IDENTITY = 40, 99


def tuning_faces(data, limit=None, start=FIRST_IDENTITY):
    """``[(name, image)]``: the second image of CelebA identities ``start``..99, 256x256 gray."""
    dirs = sorted((Path(data) / "faces" / "celeba" / "images").iterdir(), key=_natural)[start : LAST_IDENTITY + 1]
    dirs = dirs[:limit] if limit else dirs
    return [(d.name, _square_256(_gray(sorted(d.glob("*.jpg"))[1]))) for d in dirs]


def variable_speed(size, rng=None, *, contrast=1.2, anxiety=0.005):
    """A camera-shake kernel whose brightness varies along the path (a tuning kernel, not a registered one).

    A Boracchi & Foi trajectory (:func:`~classicdeblur.psf.generators.random_trajectory`) is
    travelled at the speed ``exp(-g)``, ``g`` a smooth Gaussian process of standard deviation
    ``contrast``: each sample is splatted with its dwell time ``exp(g)``.

    Examples
    --------
    >>> k = variable_speed(21, rng=0)
    >>> k.shape, round(float(k.sum()), 6), bool(k.max() > 4 * np.median(k[k > 0]))
    ((21, 21), 1.0, True)
    """
    from scipy.ndimage import gaussian_filter1d

    from classicdeblur.psf.generators import random_trajectory
    from classicdeblur.psf.utils import splat_bilinear

    rng = np.random.default_rng(rng)
    x = random_trajectory(rng=rng, num_samples=2000, max_length=60.0, anxiety=anxiety)
    g = gaussian_filter1d(rng.standard_normal(len(x)), 80)
    w = np.exp(g / g.std() * contrast)
    d = x - (w * x).sum() / w.sum()
    c = size // 2
    scale = size / 27  # 60 px of path for a 27 px kernel, as boracchi_foi
    reach = max(np.abs(d.real).max(), np.abs(d.imag).max())
    scale = min(scale, c / reach)
    k = splat_bilinear((size, size), np.clip(c + d.imag * scale, 0, size - 1),
                       np.clip(c + d.real * scale, 0, size - 1), w)
    return k / k.sum()


def tuning_kernels(rng):
    """``[(name, kernel)]`` of one tuning face (drawn from ``rng``)."""
    from classicdeblur.psf.generators import boracchi_foi, chakrabarti, motion

    out = [(f"speed:{s}", variable_speed(s, rng)) for s in (15, 19, 23, 27, 31, 41)]
    out += [(f"speed+:{s}", variable_speed(s, rng, contrast=1.8)) for s in (21, 31)]
    out += [(f"boracchi_foi:{s}", boracchi_foi(s, rng=rng)) for s in (15, 25, 35)]
    out += [(f"chakrabarti:{i}", chakrabarti(41, rng=rng)) for i in range(2)]
    out += [("motion:9", motion(9, rng.uniform(0, 180))), ("motion:21", motion(21, rng.uniform(0, 180)))]
    return [(n, k / k.sum()) for n, k in out]


def needed_size(k):
    """Odd side of the square centred on the kernel's centroid that holds its whole support.

    Examples
    --------
    >>> k = np.zeros((9, 9)); k[4, 1:6] = 1
    >>> needed_size(k)
    5
    """
    k = np.asarray(k, float) / np.sum(k)
    yy, xx = np.mgrid[: k.shape[0], : k.shape[1]]
    cy, cx = (k * yy).sum(), (k * xx).sum()
    m = k > 0
    r = max(np.abs(yy[m] - cy).max(), np.abs(xx[m] - cx).max())
    return int(2 * np.ceil(r - 1e-9) + 1)


def _case(args):
    from classicdeblur.blind import registry
    from classicdeblur.blind.kernel_size import estimate_kernel_size
    from classicdeblur.degrade import degrade
    from classicdeblur.metrics import shift_tolerant

    name, img, kname, k, seed, psnr = args
    y = degrade(img, k, rng=seed)
    size, info = estimate_kernel_size(y)
    row = {"image": name, "kernel": kname, "true": k.shape[0], "needed": needed_size(k), "auto": size,
           "seconds": info["seconds"]}
    if psnr:
        for m in ("anwar2018", "xu2010"):
            extra = {"face_box": "whole"} if m == "anwar2018" else {}
            got = {}
            for label, s in (("true", k.shape[0]), ("auto", size)):
                x, _, _ = registry().get(m)(y, kernel_size=s, rng=np.random.default_rng(0), **extra)
                got[label] = shift_tolerant(img, x, max_shift=max(k.shape[0], s) // 2 + 1, metric="psnr").value
            row[f"{m} dB"] = got["auto"] - got["true"]
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="the shared data folder (../shared/data)")
    p.add_argument("--limit", type=int, default=8, help="tuning faces (default 8)")
    p.add_argument("--psnr", action="store_true", help="also restore with anwar2018 and xu2010 at both sizes")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=78, help="seed of the tuning kernels")
    p.add_argument("--start", type=int, default=60, help=f"first CelebA identity (>= {FIRST_IDENTITY}; default 60)")
    args = p.parse_args(argv)
    if args.start < FIRST_IDENTITY:
        p.error(f"identities below {FIRST_IDENTITY} are benchmark data")
    rng = np.random.default_rng(args.seed)
    cases = [(n, img, kn, k, 7000 + args.start + i, args.psnr)
             for i, (n, img) in enumerate(tuning_faces(args.data, args.limit, args.start)) for kn, k in tuning_kernels(rng)]
    with workers(args.jobs) as pool:
        rows = list(pool.map(_case, cases))
    fams = list(dict.fromkeys(r["kernel"].split(":")[0] for r in rows))
    keys = [k for k in ("anwar2018 dB", "xu2010 dB") if k in rows[0]]
    body = []
    for fam in fams + ["all"]:
        rs = [r for r in rows if fam == "all" or r["kernel"].split(":")[0] == fam]
        ratio = np.array([r["auto"] / r["needed"] for r in rs])
        body.append((fam, str(len(rs)), f"{np.median(ratio):.2f}", f"{100 * np.mean(ratio < 0.9):.0f}%",
                     f"{100 * np.mean(ratio > 1.6):.0f}%") + tuple(f"{np.mean([r[k] for r in rs]):+.2f}" for k in keys))
    print(f"kernel_size='auto' on the tuning set ({len(rows)} cases; {machine()})")
    print(_render(("kernels", "cases", "auto / needed (median)", "< 0.9", "> 1.6") + tuple(f"{k} vs true size"
                                                                                         for k in keys), body, False))


if __name__ == "__main__":
    main()

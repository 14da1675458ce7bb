"""Where the edges of the k-step come from: each edge-based method with its own, learned and perfect edges.

Every method of :data:`METHODS` runs on the same ``faces-256`` x Levin cases with three edge
predictors (:mod:`classicdeblur.blind.edges`): its own prediction (``own``: shock filter,
r-map, exemplar; ``pan2018`` has none and skips it), the shipped edge network (``learned``)
and the sharp face's own edges (``reference``, a perfect predictor: the bound of what any
edge network could give inside that alternation). The table shows the mean shift-tolerant
PSNR / SSIM, kernel similarity and error-ratio success rate, with the blurred input and the
true-kernel restoration as references, so a learned predictor's shortfall can be split into
what the network misses (``learned`` against ``reference``) and what the alternation
itself costs (``reference`` against the true kernel).

Usage::

    .venv/bin/python -m benchmarks.edges --data ../shared/data --limit 4 --markdown
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time

import numpy as np

from benchmarks._data import case_kernels, load_set, machine
from benchmarks._parallel import workers
from benchmarks.blind import TRUE, spread
from benchmarks.nonblind import _render
from classicdeblur.api import deblur, deconvolve
from classicdeblur.blind.edges import ReferenceEdges
from classicdeblur.degrade import degrade, pair_seed
from classicdeblur.metrics import error_ratio, evaluate, kernel_similarity

#: Edge-based methods and whether they have a prediction of their own.
METHODS = {"xu2010": True, "cho2009": True, "anwar2018": True, "pan2018": False}
PREDICTORS = ("own", "learned", "reference")


def _case(args):
    name, sharp, kname, k = args
    y = degrade(sharp, k, rng=pair_seed(name, kname))
    ks = max(k.shape) | 1
    ref = deconvolve(y, k, device="cpu")
    rows = [("blurred input", evaluate(sharp, y, kernel_size=ks), np.nan, np.nan, 0.0),
            (TRUE, evaluate(sharp, ref, kernel_size=ks), 1.0, 1.0, 0.0)]
    for method, has_own in METHODS.items():
        for pred in PREDICTORS:
            if pred == "own" and not has_own:
                continue
            kw = {"face_box": "whole"} if method in ("anwar2018", "pan2018") else {}
            if pred != "own":
                kw["edge_predictor"] = ReferenceEdges(sharp) if pred == "reference" else pred
            t0 = time.perf_counter()
            res = deblur(y, method, kernel_size=ks, rng=0, device="cpu", **kw)
            sec = time.perf_counter() - t0
            rows.append((f"{method} ({pred})", evaluate(sharp, res.image, kernel_size=ks),
                         kernel_similarity(res.kernel, k), error_ratio(sharp, y, k, res.kernel), sec))
    return rows


def run(data, *, limit=4, jobs=1):
    """Rows ``(label, psnr, ssim, kernel similarity, ER <= 3 share, median seconds, cases)``."""
    cases = [(name, img, kn, k) for name, img in spread(load_set("faces-256", data), limit)
             for kn, k in case_kernels("levin", name)]
    per = {}
    with workers(jobs) as pool:
        for rows in pool.map(_case, cases):
            for label, m, ksim, er, sec in rows:
                per.setdefault(label, []).append((m["shift_psnr"], m["shift_ssim"], ksim, er, sec))
    out = []
    for label, vals in per.items():
        a = np.array(vals, dtype=float)
        out.append((label, a[:, 0].mean(), a[:, 1].mean(), np.nanmean(a[:, 2]) if np.isfinite(a[:, 2]).any() else np.nan,
                    np.mean(a[:, 3] <= 3) if np.isfinite(a[:, 3]).any() else np.nan, np.median(a[:, 4]), len(a)))
    return out


def format_rows(rows, *, markdown=False):
    def f(v, spec):
        return "-" if not np.isfinite(v) else format(v, spec)

    head = ("method (edges)", "PSNR / SSIM", "kernel sim.", "ER <= 3", "s / image", "cases")
    body = [(label, f"{p:.2f} / {s:.3f}", f(k, ".3f"), f(100 * e, ".0f") + ("%" if np.isfinite(e) else ""),
             f(sec, ".2f") if sec > 0 else "-", str(n)) for label, p, s, k, e, sec, n in rows]
    return _render(head, body, markdown)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the shared data folder (../shared/data)")
    p.add_argument("--limit", type=int, default=4, help="faces evenly spread over faces-256 (x 8 Levin kernels)")
    p.add_argument("--jobs", type=int, default=1, help="Dask worker processes (each single-threaded)")
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    rows = run(args.data, limit=args.limit, jobs=args.jobs)
    print(f"Edge predictors: faces-256 ({args.limit} faces) x the 8 Levin kernels, kernel size = true size; "
          f"{machine()}, {args.jobs} jobs")
    print(format_rows(rows, markdown=args.markdown))
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

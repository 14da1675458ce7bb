"""Developer check: one blind method on a few faces x Levin kernels (not the benchmark).

Usage: python -m benchmarks.quick_blind METHOD [--n 4] [--kernels 1,2,...,8] [-p KEY=VALUE ...]
Prints per case shift-tolerant PSNR, kernel similarity, seconds; then means, with the
blurred input and the true-kernel hyper_laplacian as references.
"""
import argparse
import time

import numpy as np

import classicdeblur as cd
from benchmarks._data import load_set
from classicdeblur import metrics
from classicdeblur.degrade import degrade, pair_seed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("method")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--set", default="faces-256")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--kernels", default="1,2,3,4,5,6,7,8")
    ap.add_argument("-p", action="append", default=[])
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    params = {}
    for kv in a.p:
        key, val = kv.split("=", 1)
        try:
            params[key] = eval(val, {})  # developer tool only
        except Exception:
            params[key] = val
    rows = []
    images = load_set(a.set, a.data)
    step = max(1, len(images) // a.n)
    for name, img in images[::step][: a.n]:
        for kn in a.kernels.split(","):
            k = cd.resolve_kernel(f"levin:{kn}")
            y = degrade(img, k, rng=pair_seed(name, f"levin:{kn}"))
            ks = max(k.shape)
            t = time.perf_counter()
            res = cd.deblur(y, a.method, kernel_size=ks, rng=0, device="cpu", **params)
            sec = time.perf_counter() - t
            p = metrics.shift_psnr(img, res.image, max_shift=ks // 2).value
            pb = metrics.shift_psnr(img, y, max_shift=ks // 2).value
            pt = metrics.shift_psnr(img, cd.deconvolve(y, k), max_shift=ks // 2).value
            sim = metrics.kernel_similarity(res.kernel, k)
            rows.append((pb, pt, p, sim, sec))
            if a.v:
                print(f"{name:28s} levin:{kn} blurred {pb:5.2f} true-k {pt:5.2f} ours {p:5.2f} "
                      f"ksim {sim:.3f} {sec:.2f}s", flush=True)
    m = np.mean(rows, axis=0)
    print(f"{a.method} {params}: n={len(rows)} blurred {m[0]:.2f} true-k {m[1]:.2f} "
          f"ours {m[2]:.2f} ksim {m[3]:.3f} median {np.median([r[4] for r in rows]):.2f}s")


if __name__ == "__main__":
    main()

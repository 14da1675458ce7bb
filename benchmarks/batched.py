"""Batched blind deblurring against the loop: ``deblur_batch`` vs ``deblur`` image by image.

The first ``--n`` faces of ``faces-256`` (gray 256x256) are blurred by the 8 Levin kernels in
turn (:func:`classicdeblur.degrade.degrade`: Gaussian noise sigma 0.01, 8-bit, seed of the pair)
and deblurred with each ``--methods`` entry at kernel size ``--kernel-size``:

* **loop**: ``deblur(image, method, kernel_size=...)`` for each image;
* **batch, 1 thread**: ``deblur_batch(stack, method, workers=1)``: one batched alternation;
* **batch, N threads**: ``deblur_batch(stack, method, workers=N)``: the stack in N chunks, each
  a batched alternation in its own thread (``--workers 0``: N = the CPU count).

Every path is warmed up first; with ``--repeat R`` the paths run in R rounds and the fastest
time of each is kept. The table gives the times, the speed-up over the loop and the largest
difference between the batch's and the loop's images and kernels (0: identical bit for bit).
The machine's load average is printed with it: on a shared machine the ratios move with it.

Usage::

    .venv/bin/python -m benchmarks.batched --data ../shared/data                 # 16 faces, xu2010
    .venv/bin/python -m benchmarks.batched --data ../shared/data --methods xu2010 cho2009 anwar2018
    .venv/bin/python -m benchmarks.batched --data ../shared/data --device gpu --n 128 --no-loop
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import classicdeblur as cd
from benchmarks._data import load_set, machine
from classicdeblur.degrade import degrade, pair_seed


def make_stack(data, n):
    """``n`` gray 256x256 faces blurred by the Levin kernels in turn: ``(n, 256, 256)`` float64."""
    faces = load_set("faces-256", data, limit=n)[:n]
    kernels = [(f"levin:{i}", cd.resolve_kernel(f"levin:{i}")) for i in range(1, 9)]
    out = []
    for j, (name, face) in enumerate(faces):
        kname, k = kernels[j % len(kernels)]
        out.append(degrade(face, k, rng=pair_seed(name, kname)))
    return np.stack(out)


def _extra(method):
    return {"face_box": "whole"} if cd.blind.registry().meta(method).get("face") else {}


def _sync(device):
    if device == "gpu":  # pragma: no cover - needs CuPy
        import cupy

        cupy.cuda.Device().synchronize()


def run(stack, method, kernel_size, *, device="cpu", workers=(1, None), loop=True, repeat=1):
    """Times (s) of the loop and of the batch with each ``workers``; the largest differences to the loop."""
    extra = _extra(method)
    small = np.ascontiguousarray(stack[:2, :96, :96])
    cd.deblur_batch(small, method, kernel_size=15, device=device, **extra)  # warm-up (Numba, FFT plans)
    cd.deblur(small[0], method, kernel_size=15, device=device, **extra)
    times = {}
    results = {}
    for _ in range(repeat):
        if loop:
            t = time.perf_counter()
            results["loop"] = [cd.deblur(y, method, kernel_size=kernel_size, device=device, **extra) for y in stack]
            _sync(device)
            times["loop"] = min(times.get("loop", np.inf), time.perf_counter() - t)
        for w in workers:
            key = f"batch x{w or os.cpu_count()}"
            t = time.perf_counter()
            results[key] = cd.deblur_batch(stack, method, kernel_size=kernel_size, device=device, workers=w,
                                           **extra)
            _sync(device)
            times[key] = min(times.get(key, np.inf), time.perf_counter() - t)
    diffs = {}
    if loop:
        ref = results["loop"]
        for key, res in results.items():
            if key != "loop":
                diffs[key] = max(max(float(np.abs(cd.backend.to_numpy(a.image) - cd.backend.to_numpy(b.image)).max()),
                                     float(np.abs(a.kernel - b.kernel).max())) for a, b in zip(res, ref))
    return times, diffs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--methods", nargs="+", default=["xu2010"])
    ap.add_argument("--kernel-size", type=int, default=31)
    ap.add_argument("--device", default="cpu", choices=("cpu", "gpu"))
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 0], help="0: the CPU count")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-loop", action="store_true")
    args = ap.parse_args(argv)
    stack = make_stack(args.data, args.n)
    if args.device == "gpu":  # pragma: no cover - needs CuPy
        import cupy

        stack = cupy.asarray(stack)
    workers = tuple(w or None for w in args.workers)
    print(f"{args.n} gray 256x256 faces (faces-256, Levin kernels), kernel size {args.kernel_size}, "
          f"device {args.device}; {machine()}; load average {os.getloadavg()[0]:.1f} at start")
    print()
    print("| method | path | seconds | faces/s | speed-up over the loop | max abs diff to the loop |")
    print("|---|---|---|---|---|---|")
    for method in args.methods:
        times, diffs = run(stack, method, args.kernel_size, device=args.device, workers=workers,
                           loop=not args.no_loop, repeat=args.repeat)
        for key, t in times.items():
            ratio = f"{times['loop'] / t:.2f}x" if "loop" in times and key != "loop" else ""
            diff = f"{diffs[key]:.1e}" if key in diffs else ""
            print(f"| {method} | {key} | {t:.2f} | {args.n / t:.2f} | {ratio} | {diff} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()

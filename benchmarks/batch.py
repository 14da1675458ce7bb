"""Throughput of ``classicdeblur batch``: a plain loop against the Dask path with 1 and 2 workers.

The first ``--n`` faces of ``faces-256`` (gray 256x256) are blurred by the 8 Levin kernels in
turn (Gaussian noise sigma 0.01, 8-bit), written as PNG files, and deblurred with ``--method``
(default ``xu2010``, kernel size ``--kernel-size``):

* **plain loop**: ``read_image`` -> ``deblur`` -> ``write_image`` in one process;
* **batch, in process**: :func:`classicdeblur.batch.deblur_files` with ``jobs=0`` (hashing,
  manifest, atomic writes, no Dask);
* **batch, Dask N workers**: ``deblur_files`` on a ``LocalCluster`` of N worker processes of
  one thread, as ``--jobs N`` starts it. Its start (cluster plus one warm-up task per worker:
  imports and Numba's cached code) is timed apart from the run.

Every path is warmed up first, so the rows compare steady throughput; with ``--repeat R`` the
paths run in R rounds, one after the other in each round, and the fastest time of each is kept.
The Dask overhead per image is (batch with 1 worker - plain loop) / n. Prints a markdown table.

Usage::

    .venv/bin/python -m benchmarks.batch --data ../shared/data            # 32 faces, jobs 1 and 2
    .venv/bin/python -m benchmarks.batch --data ../shared/data --n 8 --jobs 1 2 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import classicdeblur as cd
from benchmarks._data import load_set, machine
from classicdeblur.batch import deblur_files
from classicdeblur.degrade import degrade, pair_seed


def _warm(method, kernel_size):
    """Import and run the method once on a small image (Numba's cache, FFT plans)."""
    import classicdeblur as cd

    img = np.random.default_rng(0).random((64, 64))
    cd.deblur(img, method, kernel_size=min(kernel_size, 31), device="cpu", rng=0)
    return True


def make_inputs(data, n, folder: Path):
    faces = load_set("faces-256", data, limit=n)
    paths = []
    for i, (name, img) in enumerate(faces):
        kname = f"levin:{i % 8 + 1}"
        blurred = degrade(img, cd.resolve_kernel(kname), rng=pair_seed(name, kname))
        p = folder / f"{i:03d}.png"
        cd.write_image(p, blurred)
        paths.append(p)
    return paths


def plain_loop(paths, out: Path, method, kernel_size):
    out.mkdir()
    t0 = time.perf_counter()
    for p in paths:
        data = cd.read_image(p)
        res = cd.deblur(data.image, method, kernel_size=kernel_size, device="cpu", rng=0)
        cd.write_image(out / p.name, res.image, bit_depth=data.bit_depth)
    return time.perf_counter() - t0


def start_cluster(jobs, method, kernel_size):
    """The LocalCluster of ``--jobs N`` (with its settings), warmed up; returns (executor, seconds)."""
    from classicdeblur.batch.executors import make_executor

    t0 = time.perf_counter()
    ex = make_executor(jobs=jobs, device="cpu")
    ex.client.run(_warm, method, kernel_size)
    return ex, time.perf_counter() - t0


def batch_run(paths, out: Path, method, kernel_size, **kw):
    t0 = time.perf_counter()
    recs = deblur_files(paths, out, method=method, kernel_size=kernel_size, device="cpu", **kw)
    run = time.perf_counter() - t0
    assert all(r["status"] == "done" for r in recs), [r for r in recs if r["status"] != "done"][:1]
    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    ap.add_argument("--n", type=int, default=32, help="number of faces")
    ap.add_argument("--method", default="xu2010")
    ap.add_argument("--kernel-size", type=int, default=27, help="kernel size bound (Levin kernels: 19 to 27)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="worker counts to measure")
    ap.add_argument("--repeat", type=int, default=1, help="measure each path this many times, keep the fastest")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        paths = make_inputs(args.data, args.n, tmp / "in")
        n = len(paths)
        _warm(args.method, args.kernel_size)
        starts, executors = {}, {}
        try:
            for jobs in args.jobs:
                executors[jobs], starts[jobs] = start_cluster(jobs, args.method, args.kernel_size)
            # rounds of every path in turn, so that a change of load on a shared machine hits all alike
            times = {}
            for r in range(args.repeat):
                times.setdefault("plain", []).append(
                    plain_loop(paths, tmp / f"plain{r}", args.method, args.kernel_size))
                times.setdefault(0, []).append(batch_run(paths, tmp / f"jobs0-{r}", args.method, args.kernel_size,
                                                         jobs=0))
                for jobs, ex in executors.items():
                    times.setdefault(jobs, []).append(
                        batch_run(paths, tmp / f"jobs{jobs}-dask{r}", args.method, args.kernel_size,
                                  client=ex.client))
        finally:
            for ex in executors.values():
                ex.close()
        best = {k: min(v) for k, v in times.items()}
        t_plain, dask = best["plain"], {j: best[j] for j in args.jobs}
        rows = [("plain loop (read, deblur, write)", "-", t_plain), ("batch, in process (jobs=0)", "-", best[0])]
        rows += [(f"batch, Dask {j} worker{'s' if j > 1 else ''}", f"{starts[j]:.1f}", dask[j]) for j in args.jobs]
        same = all((tmp / "plain0" / p.name).read_bytes() == (tmp / f"jobs{j}-dask0" / p.name).read_bytes()
                   for p in paths for j in args.jobs)

    print(f"{n} gray 256x256 faces-256 images, {args.method}, kernel size {args.kernel_size}, "
          f"fastest of {args.repeat}; {machine()}\n")
    print("| path | start (s) | run (s) | images/s | speed-up vs 1 worker |")
    print("|---|---|---|---|---|")
    for label, start, run in rows:
        speedup = f"{dask[1] / run:.2f}x" if 1 in dask and "Dask" in label else "-"
        print(f"| {label} | {start} | {run:.1f} | {n / run:.2f} | {speedup} |")
    if 1 in dask:
        print(f"\nDask overhead per image (1 worker - plain loop): {(dask[1] - t_plain) / n * 1000:+.0f} ms "
              f"({(dask[1] / t_plain - 1) * 100:+.1f}%); outputs identical to the plain loop: {same}")


if __name__ == "__main__":
    main()

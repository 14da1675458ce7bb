"""One device check for a machine with a CUDA GPU: install, test, time; all in one log, within 8 minutes.

Steps (each with its share of the time budget, ``--budget`` seconds in all, 480 by default):

1. **install**: when CuPy does not import, ``pip install -e ".[gpu]"`` (CuPy and numba-cuda for
   CUDA 13; ``--extra gpu12``-style names can be given with ``--extra``); then probe the device
   in a fresh process (:func:`classicdeblur._deps.cupy_available`).
2. **tests**: ``pytest -m gpu`` (``tests/test_gpu.py`` and the ``xp``-parametrised tests: real
   CuPy, cupyx.scipy.ndimage and the ``@cuda.jit`` kernels against the NumPy reference), with
   ``NUMBA_ENABLE_CUDASIM`` unset.
3. **speed table**: every non-blind method (kernel ``levin:3``) and every blind method (kernel size
   31) on one gray face at 256x256, 512x512 and 1024x1024 on the GPU: median of 3 runs after a
   warm-up, the device synchronised; a method whose run exceeds ``--cell-limit`` seconds is not
   timed at the larger sizes.
4. **batched throughput**: ``deblur_batch(..., "xu2010", kernel_size=31)`` on 256x256 faces for
   batches of 1, 16, 128 and 1024 (faces/s), and the one-by-one loop for comparison.
5. **targets** (H100/H200 class): one blind 256x256 face with ``xu2010`` in at most 10 ms; batched
   throughput of at least 500 faces/s. Printed as PASS/FAIL/NOT MEASURED.

Everything goes to ``--log`` (default ``gpu_check.log``) and to the terminal. Without a GPU the
script says so in one line and exits 0 after the install step (the CuPy stand-in of the test
suite is then the evidence). The faces come from ``--data`` (``faces-256``) when it exists,
else from scikit-image's astronaut.

Usage::

    python benchmarks/gpu_check.py                          # from the repository root
    python benchmarks/gpu_check.py --log /tmp/gpu.log --budget 470 --skip-install
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Log:
    def __init__(self, path):
        self.file = open(path, "w", buffering=1)

    def __call__(self, *parts):
        line = " ".join(str(p) for p in parts)
        print(line, flush=True)
        self.file.write(line + "\n")


def _run(cmd, log, timeout, env=None):
    """Run ``cmd``, copy its output into the log; return its exit status (124 on timeout)."""
    log("$", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=max(timeout, 1), env=env)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        log(out[-4000:])
        log(f"(timed out after {timeout:.0f} s)")
        return 124
    log((proc.stdout + proc.stderr)[-6000:].rstrip())
    return proc.returncode


def _probe(log, timeout=60):
    code = ("from classicdeblur._deps import cupy_available\nok = cupy_available()\nprint(ok)\nif ok:\n"
            "    import cupy\n    print(cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                             env=env)
        lines = out.stdout.strip().splitlines()
        ok = bool(lines) and lines[0] == "True"
        if ok:
            log("GPU:", lines[1] if len(lines) > 1 else "?")
        else:
            log("CuPy probe:", (out.stdout + out.stderr).strip()[-1000:])
        return ok
    except Exception as exc:  # pragma: no cover - a broken interpreter
        log("CuPy probe failed:", exc)
        return False


def _faces(data, n=16):
    import numpy as np

    try:
        sys.path.insert(0, str(ROOT))
        from benchmarks._data import load_set

        faces = [f for _, f in load_set("faces-256", data, limit=n)][:n]
        if faces:
            return np.stack(faces)
    except Exception:
        pass
    from skimage import data as skdata
    from skimage.color import rgb2gray
    from skimage.transform import resize

    face = resize(rgb2gray(skdata.astronaut())[20:220, 130:330], (256, 256), anti_aliasing=True)
    return np.stack([np.roll(face, 3 * i, axis=1) for i in range(n)])


def _timed(fn, sync, repeat=3):
    fn()  # warm-up: kernels compiled, FFT plans cached
    sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def speed_table(log, faces, deadline, cell_limit, sizes=(256, 512, 1024)):
    import cupy
    from skimage.transform import resize

    import classicdeblur as cd
    from classicdeblur.degrade import degrade

    sync = cupy.cuda.Device().synchronize
    k = cd.resolve_kernel("levin:3")
    images = {}
    for side in sizes:
        sharp = faces[0] if side == faces.shape[1] else resize(faces[0], (side, side), order=1)
        images[side] = cupy.asarray(degrade(sharp, k, rng=0))
    results = {}
    log("\n## Speed on the GPU (ms per image; median of 3 after a warm-up)\n")
    log("| method | kind | " + " | ".join(f"{s}x{s}" for s in sizes) + " |")
    log("|---|---|" + "---|" * len(sizes))
    rows = [(m.name, m.kind) for m in cd.methods()]
    for name, kind in rows:
        cells = []
        for side in sizes:
            if time.perf_counter() > deadline or (cells and cells[-1] in ("skipped", "over limit", "error")):
                cells.append("skipped")
                continue
            y = images[side]
            if kind == "non-blind":
                def fn():
                    return cd.deconvolve(y, k, name)
            else:
                extra = {"face_box": "whole"} if cd.blind.registry().meta(name).get("face") else {}

                def fn():
                    return cd.deblur(y, name, kernel_size=31, rng=0, **extra)
            try:
                t0 = time.perf_counter()
                fn()
                sync()
                first = time.perf_counter() - t0
                if first > cell_limit:
                    cells.append("over limit")
                    continue
                t = _timed(fn, sync, repeat=3 if first < 2 else 1)
                cells.append(f"{t * 1e3:.1f}")
                results[(name, side)] = t
            except Exception as exc:  # a method failing on the device is a result too
                log(f"  {name} {side}: {type(exc).__name__}: {exc}")
                cells.append("error")
        log(f"| {name} | {kind} | " + " | ".join(cells) + " |")
    return results


def batched_throughput(log, faces, deadline, batches=(1, 16, 128, 1024)):
    import cupy
    import numpy as np

    import classicdeblur as cd
    from classicdeblur.degrade import degrade

    sync = cupy.cuda.Device().synchronize
    k = cd.resolve_kernel("motion:length=15,angle=30")
    base = np.stack([degrade(f, k, rng=i) for i, f in enumerate(faces)])
    log(f"\n## Batched throughput: xu2010, {faces.shape[1]}x{faces.shape[2]} faces, kernel size 31\n")
    log("| batch | seconds | faces/s |")
    log("|---|---|---|")
    best = 0.0
    for n in batches:
        if time.perf_counter() > deadline:
            log(f"| {n} | skipped (time budget) | |")
            continue
        stack = cupy.asarray(np.concatenate([base] * (n // len(base) + 1))[:n])
        try:
            cd.deblur_batch(stack[: min(n, 2)], "xu2010", kernel_size=31)  # warm-up
            sync()
            t = time.perf_counter()
            cd.deblur_batch(stack, "xu2010", kernel_size=31)
            sync()
            dt = time.perf_counter() - t
            best = max(best, n / dt)
            log(f"| {n} | {dt:.3f} | {n / dt:.1f} |")
        except Exception as exc:
            log(f"| {n} | {type(exc).__name__}: {str(exc)[:120]} | |")
        del stack
        cupy.get_default_memory_pool().free_all_blocks()
    if time.perf_counter() < deadline:
        ys = cupy.asarray(base)
        t = time.perf_counter()
        for y in ys:
            cd.deblur(y, "xu2010", kernel_size=31)
        sync()
        dt = time.perf_counter() - t
        log(f"| {len(ys)}, one by one | {dt:.3f} | {len(ys) / dt:.1f} |")
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", default="gpu_check.log")
    ap.add_argument("--budget", type=float, default=480.0, help="wall-clock seconds for everything")
    ap.add_argument("--skip-install", action="store_true")
    ap.add_argument("--extra", default="gpu", help="the pip extra to install (default: gpu)")
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--cell-limit", type=float, default=20.0, help="seconds above which larger sizes are skipped")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16, 128, 1024])
    args = ap.parse_args(argv)
    start = time.perf_counter()
    log = Log(args.log)
    log(f"# classicdeblur GPU check, {time.strftime('%Y-%m-%d %H:%M:%S')}")
    log(f"{platform.platform()}; Python {platform.python_version()}; {os.cpu_count()} CPUs")
    if _has("nvidia-smi"):
        _run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv"], log, 20)
    else:
        log("nvidia-smi: not found")

    log("\n## 1. install")
    ok = _probe(log)
    if not ok and not args.skip_install:
        _run([sys.executable, "-m", "pip", "install", "-q", "-e", f".[{args.extra}]"], log,
             min(180, args.budget * 0.35))
        ok = _probe(log)
    if not ok:
        log("NO GPU: CuPy does not run a CUDA device here; the CuPy stand-in tests (tests/test_standin_contract.py, "
            "tests/test_batch_deblur.py) are the evidence. Nothing timed.")
        return 0

    log("\n## 2. pytest -m gpu")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    remaining = args.budget - (time.perf_counter() - start)
    rc = _run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "-x", "tests"], log,
              min(170, remaining * 0.4), env=env)
    log(f"pytest -m gpu: exit status {rc}")

    os.environ.pop("NUMBA_ENABLE_CUDASIM", None)
    sys.path.insert(0, str(ROOT))
    faces = _faces(args.data)
    end = start + args.budget - 15
    remaining = end - time.perf_counter()
    results = speed_table(log, faces, time.perf_counter() + remaining * 0.6, args.cell_limit, tuple(args.sizes))
    best = batched_throughput(log, faces, end, tuple(args.batches))

    log("\n## Targets (H100/H200 class)")
    single = results.get(("xu2010", 256))  # noqa: the target is for 256x256
    log("one blind 256x256 face, xu2010 <= 10 ms:",
        "NOT MEASURED" if single is None else f"{'PASS' if single <= 0.010 else 'FAIL'} ({single * 1e3:.1f} ms)")
    log("batched throughput >= 500 faces/s:",
        "NOT MEASURED" if not best else f"{'PASS' if best >= 500 else 'FAIL'} ({best:.0f} faces/s)")
    log(f"\nwall time {time.perf_counter() - start:.0f} s; log: {Path(args.log).resolve()}")
    return 0


def _has(cmd):
    from shutil import which

    return which(cmd) is not None


if __name__ == "__main__":
    sys.exit(main())

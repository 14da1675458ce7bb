"""Non-blind deconvolution with the true kernel on ``faces-256`` x the 8 Levin kernels.

Prints, per method: mean PSNR and SSIM (shift-tolerant, border of kernel size // 2,
EVALUATION.md) and the median seconds per image, plus the blurred input and the cost
of one 2-D FFT of the same size (the floor solvers are judged against). Writes a CSV
(``--csv``) and, with ``--markdown``, the table as Markdown for the README.

Usage::

    .venv/bin/python -m benchmarks.nonblind --data ../shared/data            # full set
    .venv/bin/python -m benchmarks.nonblind --data ../shared/data --quick    # 4 faces x 8 kernels
    .venv/bin/python -m benchmarks.nonblind --data ../shared/data --speed    # seconds at 128..1024 px

Reference (EVALUATION.md): the authors' MATLAB hyper-Laplacian code reaches 30.40 dB /
0.878 mean on FFHQ image 69037 under the 8 Levin kernels; the blurred input is 23.93 / 0.703.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks._data import load_set, machine
from classicdeblur import backend
from classicdeblur.api import deconvolve, methods
from classicdeblur.degrade import degrade, pair_seed
from classicdeblur.metrics import evaluate
from classicdeblur.psf.bank import list_kernels, load_kernel


def fft_floor(shape, repeats=20):
    """Median seconds of one real 2-D FFT of ``shape`` (float64)."""
    x = np.random.default_rng(0).random(shape)
    backend.rfft2(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        backend.rfft2(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def face_image(n):
    """The scikit-image astronaut's face (public domain), gray, resized to ``n`` x ``n``."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    return resize(rgb2gray(data.astronaut())[20:220, 130:330], (n, n), anti_aliasing=True)


def speed(method_names, sizes=(128, 256, 512, 1024), repeats=5, kernel="levin:4", run=None):
    """Median seconds per gray face image of each method at each size (one warm-up, then ``repeats`` runs).

    ``run(blurred, kernel, name)`` runs one method; by default the non-blind
    deconvolution with the true kernel.
    """
    k = load_kernel(kernel)
    run = run or (lambda y, kk, name: deconvolve(y, kk, method=name, device="cpu"))
    table = {}
    for n in sizes:
        y = degrade(face_image(n), k, rng=0)
        table[("one FFT (floor)", n)] = fft_floor((n, n))
        for name in method_names:
            run(y, k, name)  # warm-up (and Numba compilation)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                run(y, k, name)
                times.append(time.perf_counter() - t0)
            table[(name, n)] = statistics.median(times)
    return table


def format_speed(table, sizes, *, markdown=False):
    names = list(dict.fromkeys(m for m, _ in table))
    head = ["method"] + [f"{n}x{n}" for n in sizes]
    body = [[m] + [f"{table[(m, n)]:.4f}" for n in sizes] for m in names]
    return _render(head, body, markdown)


def run(data, *, set_name="faces-256", method_names=None, limit=None, progress=True):
    """Return a list of per-case rows ``{method, image, kernel, psnr, ssim, seconds}``."""
    images = load_set(set_name, data, limit)
    kernels = list_kernels("levin")
    names = method_names or [m.name for m in methods("non-blind")]
    rows = []
    for i, (img_name, sharp) in enumerate(images):
        for kname in kernels:
            k = load_kernel(kname)
            blurred = degrade(sharp, k, rng=pair_seed(img_name, kname))
            ks = max(k.shape)
            rows.append({"method": "blurred input", "image": img_name, "kernel": kname,
                         **evaluate(sharp, blurred, kernel_size=ks), "seconds": 0.0})
            for name in names:
                t0 = time.perf_counter()
                out = deconvolve(blurred, k, method=name, device="cpu")
                sec = time.perf_counter() - t0
                rows.append({"method": name, "image": img_name, "kernel": kname,
                             **evaluate(sharp, out, kernel_size=ks), "seconds": sec})
        if progress:
            print(f"  {i + 1}/{len(images)} {img_name}", flush=True)
    return rows


def summarise(rows):
    """Mean shift-tolerant PSNR/SSIM and median seconds per method, in first-seen order."""
    order = list(dict.fromkeys(r["method"] for r in rows))
    table = []
    for m in order:
        rs = [r for r in rows if r["method"] == m]
        table.append({
            "method": m,
            "psnr": float(np.mean([r["shift_psnr"] for r in rs])),
            "ssim": float(np.mean([r["shift_ssim"] for r in rs])),
            "seconds": float(np.median([r["seconds"] for r in rs])),
            "cases": len(rs),
        })
    return table


#: EVALUATION.md reference points on FFHQ image 69037 (authors' code), mean over the 8 Levin kernels.
REFERENCE_69037 = {"blurred input": (23.93, 0.703), "hyper_laplacian": (30.40, 0.878)}


def format_reference(rows, *, markdown=False):
    """Our numbers on FFHQ 69037 beside the EVALUATION.md reference points."""
    rows = [r for r in rows if r["image"].endswith("69037")]
    if not rows:
        return ""
    head = ("method", "ours PSNR / SSIM", "reference PSNR / SSIM")
    body = []
    for t in summarise(rows):
        ref = REFERENCE_69037.get(t["method"])
        body.append((t["method"], f"{t['psnr']:.2f} / {t['ssim']:.3f}", f"{ref[0]:.2f} / {ref[1]:.3f}" if ref else "-"))
    return _render(head, body, markdown)


def _render(head, body, markdown):
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                         + ["| " + " | ".join(r) + " |" for r in body])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in [head, *body])


def format_table(table, floor, *, markdown=False):
    head = ("method", "PSNR (dB)", "SSIM", "s / image", "cases")
    body = [(t["method"], f"{t['psnr']:.2f}", f"{t['ssim']:.3f}",
             "-" if t["method"] == "blurred input" else f"{t['seconds']:.3f}", str(t["cases"])) for t in table]
    body.append(("one 256x256 FFT (floor)", "-", "-", f"{floor:.5f}", "-"))
    return _render(head, body, markdown)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=None, help="the shared data folder (../shared/data)")
    p.add_argument("--set", default="faces-256", choices=("faces-256", "yaleb-256"))
    p.add_argument("--methods", nargs="*", default=None, help="non-blind methods (default: all)")
    p.add_argument("--quick", action="store_true", help="first 4 images only")
    p.add_argument("--limit", type=int, default=None, help="first N images only")
    p.add_argument("--csv", type=Path, default=Path("benchmarks/results/nonblind.csv"))
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--speed", action="store_true",
                   help="only the speed table: seconds per image at 128..1024 px (median of 5 after a warm-up)")
    args = p.parse_args(argv)
    if args.speed:
        names = args.methods or [m.name for m in methods("non-blind")]
        sizes = (128, 256, 512, 1024)
        print(f"Seconds per gray face image, true kernel levin:4, CPU (one process); {machine()}")
        print(format_speed(speed(names, sizes), sizes, markdown=args.markdown))
        return
    if args.data is None:
        p.error("--data is required (the shared data folder, e.g. ../shared/data)")
    limit = 4 if args.quick else args.limit
    rows = run(args.data, set_name=args.set, method_names=args.methods, limit=limit)
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    table = summarise(rows)
    n_img = len({r["image"] for r in rows})
    print(f"\nNon-blind deconvolution, true kernel: {args.set} ({n_img} images) x 8 Levin kernels, "
          f"sigma 0.01 + 8-bit; {machine()}")
    print(format_table(table, fft_floor((256, 256)), markdown=args.markdown))
    ref = format_reference(rows, markdown=args.markdown)
    if ref:
        print("\nFFHQ image 69037 against the EVALUATION.md reference (authors' code):")
        print(ref)
    print(f"(per-case rows in {args.csv})")


if __name__ == "__main__":
    main()

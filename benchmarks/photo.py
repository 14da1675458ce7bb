"""Whole photos through the command line, as a user runs them: wall seconds and peak memory.

Issue 11 sets targets for ``classicdeblur run --method exemplar`` on photos, start-up
and face detection included: a 480x360 photo in at most 3 s and 500 MB, a 12-megapixel
photo in at most 15 s and 3 GB. This script makes the photos from the shared data, runs
the command in a fresh process per photo and method (``-v --json``), and prints a table
of wall seconds, the stages the command reports (read, compute, write; the method's own
timings), peak resident memory of the process (``getrusage`` of the child) and the
shift-tolerant PSNR of the result against the sharp photo, on the whole photo and on the
face's square.

The photos (``make_photo``, :func:`sharp_scene`): a CelebA-HQ face (male/ref) scaled so
that the face box is about a third of the frame's height, on a smooth coloured background
with fine texture (no second face for the detector), blurred by a generated camera-shake
kernel (Boracchi & Foi 2012, :func:`classicdeblur.psf.generators.boracchi_foi`, seed 3;
never a Levin or Lai kernel), 1% Gaussian noise, 8 bits. The 12-megapixel photo is composed
at 4000x3000 (the 1024-px face upsampled 1.6 times, the texture drawn at that resolution)
and blurred by the same kind of kernel in a 41-px window.

Usage::

    .venv/bin/python -m benchmarks.photo --data ../shared/data                    # both photos, exemplar
    .venv/bin/python -m benchmarks.photo --data ../shared/data --sizes 480x360 --methods exemplar anwar2018
    .venv/bin/python -m benchmarks.photo --data ../shared/data --sizes 4000x3000 --params final=wiener
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Photo sizes (width, height) and the targets of issue 11: (seconds, MB).
SIZES = {"480x360": ((480, 360), (3.0, 500)), "4000x3000": ((4000, 3000), (15.0, 3000))}
#: Kernel window at 480x360 and at 12 MP.
KERNEL_SIDES = {"480x360": 13, "4000x3000": 41}


def _face(data: Path) -> np.ndarray:
    from PIL import Image

    folder = data / "faces" / "celebahq" / "ref" / "male"
    path = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[0]
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255


def _resize(img, size):
    from PIL import Image

    u8 = Image.fromarray(np.clip(np.round(img * 255), 0, 255).astype(np.uint8))
    return np.asarray(u8.resize(size, Image.LANCZOS), dtype=np.float64) / 255


def sharp_scene(data: Path, size=(480, 360), seed=0):
    """The sharp scene of ``size`` and the face's square ``(top, left, side)`` in it.

    A smooth coloured background (drawn at 480x360 and upsampled) with fine texture drawn at
    the scene's own resolution, and the face cut out round, a third of the height, in the
    middle right. At 4000x3000 the 1024-px CelebA-HQ face is upsampled 1.6 times: the photo
    has real detail at its own scale, as a camera's has.
    """
    from scipy.ndimage import gaussian_filter

    w, h = size
    rng = np.random.default_rng(seed)
    bg = gaussian_filter(rng.random((360, 480, 3)), (30, 40, 0))
    bg = 0.25 + 0.5 * (bg - bg.min()) / (np.ptp(bg) + 1e-12)
    if (w, h) != (480, 360):
        bg = _resize(bg, (w, h))
    bg = bg + 0.04 * gaussian_filter(rng.standard_normal((h, w, 3)).astype(np.float32), (1.5, 1.5, 0))
    side = int(round(0.55 * h))
    face = _resize(_face(data), (side, side))
    top, left = (h - side) // 2, int(0.55 * w)
    yy, xx = np.mgrid[:side, :side]
    r = np.hypot(yy - side / 2, xx - side / 2) / (side / 2)
    alpha = np.clip((1.0 - r) / 0.15, 0, 1)[..., None]  # a soft round cut-out
    scene = bg
    scene[top:top + side, left:left + side] = alpha * face + (1 - alpha) * bg[top:top + side, left:left + side]
    return np.clip(scene, 0, 1), (top, left, side)


def shake_kernel(side, seed=3) -> np.ndarray:
    """A camera-shake kernel drawn by the project's generator in a ``side`` window."""
    from classicdeblur.psf.generators import make_kernel

    return make_kernel("boracchi_foi", side, rng=np.random.default_rng(seed))


def make_photo(data: Path, name: str, seed=0):
    """``(sharp, blurred, face)`` for the photo ``name`` (a key of :data:`SIZES`); ``face`` = (top, left, side)."""
    from classicdeblur.degrade import degrade

    scene, face = sharp_scene(data, SIZES[name][0], seed=seed)
    k = shake_kernel(KERNEL_SIDES[name])
    return scene, degrade(scene, k, sigma=0.01, rng=np.random.default_rng(seed + 1)), face


def _write_png(path: Path, img):
    from PIL import Image

    Image.fromarray(np.clip(np.round(img * 255), 0, 255).astype(np.uint8)).save(path)


def run_cli(path: Path, out: Path, method: str, extra=()):
    """Run ``classicdeblur run`` on ``path`` in a fresh process: (wall seconds, peak MB, report dict)."""
    cmd = [sys.executable, "-m", "classicdeblur", "run", str(path), "-o", str(out), "--method", method,
           "--json", "--overwrite", *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {stderr.strip().splitlines()[-1] if stderr.strip() else status}")
    return wall, usage.ru_maxrss / 1024, json.loads(stdout.strip().splitlines()[-1])


def score(sharp, image, name, face=None) -> float:
    """Shift-tolerant PSNR of ``image`` against ``sharp``, on the luminance, at most 1000 px wide.

    With ``face`` (top, left, side), on the face's square only. The 12-megapixel photos are
    compared at a quarter of their size (a search of every shift
    of a 41-px kernel on 12 MP would take minutes); the shift window scales with them.
    """
    from classicdeblur.blind.framework import gray
    from classicdeblur.metrics import shift_psnr

    a, b = gray(sharp), gray(image)
    if face is not None:  # the face's square only
        top, left, side = face
        a, b = a[top:top + side, left:left + side], b[top:top + side, left:left + side]
    factor = max(1, int(np.ceil(a.shape[1] / 1000)))
    if factor > 1:
        a, b = (_resize(np.repeat(v[..., None], 3, 2), (v.shape[1] // factor, v.shape[0] // factor))[..., 0]
                for v in (a, b))
    return float(shift_psnr(a, b, max_shift=KERNEL_SIDES[name] // (2 * factor) + 2).value)


def measure(data: Path, sizes, methods, workdir: Path, extra=()):
    from classicdeblur.io import read_image

    rows = []
    for name in sizes:
        sharp, blurred, face = make_photo(data, name)
        src = workdir / f"photo-{name}.png"
        _write_png(src, blurred)
        before = read_image(src).image
        for method in methods:
            out = workdir / f"photo-{name}-{method}.png"
            wall, mb, report = run_cli(src, out, method, extra)
            after = read_image(out).image
            rows.append({"photo": name, "method": method, "wall": wall, "mb": mb, "target": SIZES[name][1],
                         "psnr": score(sharp, after, name), "blurred": score(sharp, before, name),
                         "face_psnr": score(sharp, after, name, face), "face_blurred": score(sharp, before, name, face),
                         "seconds": report["seconds"], "timings": report["timings"],
                         "kernel": report["kernel_size"][0], "face": (report["face"] or {}).get("source")})
    return rows


def format_table(rows) -> str:
    lines = ["| photo | method | wall s (target) | peak MB (target) | PSNR (blurred) | face PSNR (blurred) | kernel "
             "| face | stages (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in {**r["seconds"], **r["timings"]}.items() if k != "total")
        lines.append(f"| {r['photo']} | {r['method']} | {r['wall']:.2f} ({r['target'][0]:g}) | {r['mb']:.0f} "
                     f"({r['target'][1]:g}) | {r['psnr']:.2f} ({r['blurred']:.2f}) | {r['face_psnr']:.2f} "
                     f"({r['face_blurred']:.2f}) | {r['kernel']} | {r['face']} "
                     f"| {stages} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="the shared data folder")
    p.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=list(SIZES))
    p.add_argument("--methods", nargs="+", default=["exemplar"])
    p.add_argument("--params", nargs="*", default=[], metavar="KEY=VALUE",
                   help="method parameters passed on as -p KEY=VALUE, e.g. final=wiener")
    p.add_argument("--keep", type=Path, default=None, help="write the photos and results here (default: a temp folder)")
    args = p.parse_args(argv)
    extra = [a for kv in args.params for a in ("-p", kv)]
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        rows = measure(args.data, args.sizes, args.methods, args.keep, extra)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = measure(args.data, args.sizes, args.methods, Path(tmp), extra)
    print(format_table(rows))


if __name__ == "__main__":
    main()

"""Face finding on blurred faces: dlib's HOG detector alone against the chain of the whole-photo path.

Every case of ``faces-256`` (or ``yaleb-256``) under a kernel family, blurred exactly as
:mod:`benchmarks.faces` blurs it, searched **without** ``face_box``:

* ``hog``: :func:`~classicdeblur.faces.detect.detect_faces` with upsampling 1 (the face
  measures' detector);
* ``hog 1+2``: upsampling 1, then 2 (the whole-photo path before issue 14, less its
  first deblur);
* ``chain``: :func:`~classicdeblur.faces.detect.find_faces` (HOG 1, 2, then dlib's CNN
  detector on copies of :func:`~classicdeblur.faces.detect.cnn_sides`);
* ``chain + first deblur``: :func:`~classicdeblur.blind.photo.find_photo_faces`, as
  :func:`~classicdeblur.blind.photo.deblur_photo` runs it (the chain again on a quick
  ``xu2010`` deblur when the photo gives nothing).

A case counts as found when the largest face overlaps the sharp face's box with IoU >= 0.3
(:data:`benchmarks.faces.DETECTION_IOU`); the sharp face's box is the HOG detector's on the
sharp image, else the CNN's. The 20 real blurry faces of ``real_blurry/shen2018`` (no ground
truth) count any face. Times are seconds per case on the CPU, one thread per worker process.

Usage::

    .venv/bin/python -m benchmarks.detection --data ../shared/data                 # faces-256 x Levin, shen2018
    .venv/bin/python -m benchmarks.detection --data ../shared/data --limit 12 --kernels levin shen
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before NumPy / Numba load: one thread per worker process
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks._data import KERNEL_FAMILIES, SETS, _natural, case_kernels, load_set, machine
from benchmarks._parallel import workers
from benchmarks.blind import spread
from benchmarks.faces import DETECTION_IOU, box_iou
from benchmarks.nonblind import _render

#: The searches compared, in table order.
SEARCHES = ("hog", "hog 1+2", "chain", "chain + first deblur")


def reference_box(sharp):
    """The sharp face's box: HOG (upsample 1), else the CNN on the image; None when neither finds one."""
    from classicdeblur.faces.detect import detect_faces

    for detector in ("hog", "cnn"):
        found = detect_faces(sharp, upsample=1 if detector == "hog" else 0, detector=detector)
        if found:
            return found[0].box
    return None


def search(image, ref=None):
    """``{search: (found, seconds, detector)}`` for one blurred image (``found`` against ``ref`` when given)."""
    from classicdeblur.blind.photo import find_photo_faces
    from classicdeblur.faces.detect import detect_faces, find_faces

    def hit(boxes):
        return bool(boxes) and (ref is None or box_iou(boxes[0], ref) >= DETECTION_IOU)

    out = {}
    t0 = time.perf_counter()
    one = detect_faces(image, upsample=1)
    out["hog"] = (hit([f.box for f in one]), time.perf_counter() - t0, "hog")
    two = one or detect_faces(image, upsample=2)
    out["hog 1+2"] = (hit([f.box for f in two]), time.perf_counter() - t0, "hog")
    t0 = time.perf_counter()
    faces, _ = find_faces(image)
    out["chain"] = (hit([f.box for f in faces]), time.perf_counter() - t0, faces[0].detector if faces else "")
    t0 = time.perf_counter()
    found, source, _ = find_photo_faces(image)
    out["chain + first deblur"] = (hit([f["box"] for f in found]), time.perf_counter() - t0,
                                   f"{found[0]['detector']} ({found[0]['image']})" if found else "")
    return out


def _case(args):
    from classicdeblur.degrade import degrade, pair_seed

    name, kname, sharp, k, ref = args
    blurred = degrade(sharp, k, rng=pair_seed(name, kname))
    return {"image": name, "kernel": kname, **search(blurred, ref)}


def _real(path):
    from classicdeblur.io import read_image

    return {"image": Path(path).stem, **search(read_image(path).image)}


def summarise(rows):
    """Per search: the rate, median and maximum seconds, and which detector found the faces."""
    table = []
    for s in SEARCHES:
        found = np.array([r[s][0] for r in rows], dtype=bool)
        sec = np.array([r[s][1] for r in rows], dtype=float)
        by = {}
        for r in rows:
            if r[s][0]:
                by[r[s][2]] = by.get(r[s][2], 0) + 1
        table.append({"search": s, "rate": float(found.mean()), "found": int(found.sum()), "cases": len(rows),
                      "median_s": float(np.median(sec)), "max_s": float(sec.max()),
                      "by": ", ".join(f"{k} {v}" for k, v in sorted(by.items(), key=lambda kv: -kv[1]))})
    return table


def format_table(table, *, markdown=False):
    head = ("search", "face found", "s / case (median, max)", "found by")
    body = [(t["search"], f"{100 * t['rate']:.1f}% ({t['found']}/{t['cases']})",
             f"{t['median_s']:.2f}, {t['max_s']:.2f}", t["by"]) for t in table]
    return _render(head, body, markdown)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="the shared data folder (../shared/data)")
    p.add_argument("--set", default="faces-256", choices=SETS, help="benchmark set (default: faces-256)")
    p.add_argument("--kernels", nargs="+", default=["levin"], choices=KERNEL_FAMILIES, help="kernel families")
    p.add_argument("--limit", type=int, default=None, help="N images evenly spread over the set")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (each one single-threaded)")
    p.add_argument("--no-real", action="store_true", help="skip the 20 real blurry faces")
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = p.parse_args(argv)
    images = spread(load_set(args.set, args.data), args.limit)
    with workers(args.jobs) as pool:
        refs = list(pool.map(reference_box, [img for _, img in images]))
        for family in args.kernels:
            t0 = time.perf_counter()
            cases = [(name, kname, img, k, ref) for (name, img), ref in zip(images, refs)
                     for kname, k in case_kernels(family, name)]
            rows = list(pool.map(_case, cases))
            print(f"\nFace found without face_box: {args.set} ({len(images)} images, {sum(r is None for r in refs)} "
                  f"whose sharp face neither detector finds: any face counts) x {family} kernels, sigma 0.01 + 8-bit; "
                  f"{machine()}, {args.jobs} jobs (machine shared: compare times within this table)")
            print(format_table(summarise(rows), markdown=args.markdown))
            print(f"({time.perf_counter() - t0:.0f} s)")
        if not args.no_real:
            paths = sorted((Path(args.data) / "real_blurry" / "shen2018").glob("*.png"), key=_natural)
            rows = list(pool.map(_real, paths))
            print(f"\nFace found on the real blurry faces real_blurry/shen2018 ({len(rows)} images, 128x128, any face "
                  f"counts); {machine()}")
            print(format_table(summarise(rows), markdown=args.markdown))
            missed = [r["image"] for r in rows if not r["chain + first deblur"][0]]
            if missed:
                print(f"missed by the whole chain: {', '.join(missed)}")


if __name__ == "__main__":
    main()

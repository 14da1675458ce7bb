"""Recognition of blurred faces: SRC on the blurred input against ``zhang2011``'s joint restoration and recognition.

Probes: the CelebA part of ``faces-256`` (the first image of each of the first 40
CelebA identities, ``celeb_0`` .. ``celeb_39``, centre square at 256 px), blurred by
the 8 Levin kernels with the benchmark's noise and seeds (``benchmarks/_data.py``,
``classicdeblur.degrade.degrade`` with ``pair_seed(image, kernel)``).

Gallery (never the probe image): up to ``--per-identity`` (6) OTHER images of each
of those 40 identities (the 2nd, 3rd, ... in file order), faces found by dlib and
aligned like the exemplar database (:func:`classicdeblur.blind.zhang2011.load_gallery`
on a folder; images where dlib finds no face are skipped and counted), plus, unless
``--no-exemplars``, the 420 faces of the 60 identities 40-99 of the shipped exemplar
database: 100 identities by default. The aligned gallery is cached in
``--out/recognition-gallery.npz``.

Per probe and kernel, one run of ``zhang2011`` (``face_box="whole"``, the true kernel
size) gives

* ``blurred (SRC)``: Wright et al.'s SRC on the blurred face directly
  (``info["identity_blurred"]``: the same features, dictionary and rule);
* ``zhang2011 (joint)``: the identity of the jointly restored face (``info["identity"]``);

and, with ``--separate``, ``zhang2011 eta=0``: Xu & Jia's kernel with no coupling, then
SRC on the restored face ("restore, then recognise", the conventional pipeline the
paper compares with). ``sharp (SRC)`` is SRC on the sharp probe (an upper bound).

Usage::

    .venv/bin/python -m benchmarks.recognition --data ../shared/data                  # 40 x 8 cases
    .venv/bin/python -m benchmarks.recognition --data ../shared/data --limit 10 --kernels 1 5

Writes ``recognition.csv`` (every case) to ``--out`` (default ``benchmarks/results/``).
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import csv
import re
import time
from pathlib import Path

import numpy as np

from benchmarks._data import _natural, case_kernels, load_set, machine
from classicdeblur.blind.zhang2011 import Gallery, _align_file, load_gallery, zhang2011
from classicdeblur.degrade import degrade, pair_seed
from classicdeblur.errors import ClassicDeblurError

PROBES = 40


def build_gallery(data: Path, per_identity: int, exemplars: bool, cache: Path | None):
    """The gallery: other images of the probe identities (+ the exemplar database). Returns (gallery, skipped)."""
    root = Path(data) / "faces" / "celeba" / "images"
    idents = sorted(root.iterdir(), key=_natural)[:PROBES]
    key = f"per{per_identity}"
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            if str(z["key"]) == key:
                own = Gallery(z["faces"], tuple(z["labels"].tolist()), tuple(z["names"].tolist()))
                skipped = int(z["skipped"])
            else:
                own = None
    else:
        own = None
    if own is None:
        faces, labels, names, skipped = [], [], [], 0
        for d in idents:
            files = sorted(d.glob("*.jpg"))[1:]  # never the first image: that is the probe
            got = 0
            for p in files:
                if got >= per_identity:
                    break
                try:
                    faces.append(_align_file(p, 128))
                except ClassicDeblurError:
                    skipped += 1
                    continue
                labels.append(d.name)
                names.append(f"{d.name}/{p.name}")
                got += 1
        own = Gallery(np.stack(faces), tuple(labels), tuple(names))
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, faces=own.faces, labels=np.array(own.labels), names=np.array(own.names),
                                skipped=skipped, key=key)
    if exemplars:
        db = load_gallery(None)
        own = Gallery(np.concatenate([own.faces, db.faces]), own.labels + db.labels, own.names + db.names)
    return own, skipped


def probes(data: Path, limit=None):
    """``[(name, identity, sharp)]``: the CelebA part of faces-256 (first image of identities 0-39)."""
    items = [(n, img) for n, img in load_set("faces-256", data) if n.startswith("celeba/")]
    out = [(n, n.split("/")[1], img) for n, img in items]
    return out[:limit] if limit else out


def run(data, *, limit=None, kernels=None, per_identity=6, exemplars=True, separate=False, out=None):
    cache = None if out is None else Path(out) / "recognition-gallery.npz"
    gallery, skipped = build_gallery(data, per_identity, exemplars, cache)
    print(f"gallery: {len(gallery)} faces of {len(gallery.identities)} identities "
          f"({skipped} images without a detected face skipped)", flush=True)
    rows = []
    cases = probes(data, limit)
    for i, (name, ident, sharp) in enumerate(cases, 1):
        # SRC on the sharp probe: the same rule, no blur (an upper bound); eta=0 and one level of work
        _, _, info_s = zhang2011(sharp, kernel_size=3, gallery=gallery, eta=0.0, iterations=1, isd_iterations=0)
        rows.append({"image": name, "identity": ident, "kernel": "none", "method": "sharp (SRC)",
                     "recognised": info_s["identity_blurred"]["name"], "seconds": 0.0})
        for kname, k in case_kernels("levin", name):
            if kernels and kname.split(":")[-1] not in kernels:
                continue
            y = degrade(sharp, k, rng=pair_seed(name, kname))
            ks = max(k.shape) | 1
            t0 = time.perf_counter()
            _, _, info = zhang2011(y, kernel_size=ks, gallery=gallery, face_box="whole")
            sec = time.perf_counter() - t0
            base = {"image": name, "identity": ident, "kernel": kname}
            rows.append({**base, "method": "blurred (SRC)", "recognised": info["identity_blurred"]["name"],
                         "seconds": 0.0})
            rows.append({**base, "method": "zhang2011 (joint)", "recognised": info["identity"]["name"],
                         "seconds": sec})
            if separate:
                t0 = time.perf_counter()
                _, _, info0 = zhang2011(y, kernel_size=ks, gallery=gallery, face_box="whole", eta=0.0)
                rows.append({**base, "method": "zhang2011 eta=0 (restore, then SRC)",
                             "recognised": info0["identity"]["name"], "seconds": time.perf_counter() - t0})
        print(f"  {i}/{len(cases)} probes", flush=True)
    for r in rows:
        r["correct"] = int(r["recognised"] == r["identity"])
    if out is not None:
        path = Path(out) / "recognition.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return rows, gallery


def table(rows):
    """Markdown table: accuracy per method and kernel."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    kernels = sorted({r["kernel"] for r in rows if r["kernel"] != "none"},
                     key=lambda s: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)])
    head = "| method | " + " | ".join(kernels) + " | all | seconds |"
    lines = [head, "|" + "---|" * (len(kernels) + 3)]
    for m in methods:
        rs = [r for r in rows if r["method"] == m]
        cells = []
        for k in kernels:
            sub = [r["correct"] for r in rs if r["kernel"] == k]
            cells.append(f"{100 * np.mean(sub):.0f}%" if sub else "")
        sec = [r["seconds"] for r in rs if r["seconds"] > 0]
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {100 * np.mean([r['correct'] for r in rs]):.1f}% "
                     f"({sum(r['correct'] for r in rs)}/{len(rs)}) | {np.mean(sec) if sec else 0:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="the shared data folder (../shared/data)")
    p.add_argument("--limit", type=int, default=None, help="the first N probes (identities) only")
    p.add_argument("--kernels", nargs="+", default=None, help="Levin kernel numbers (default all 8)")
    p.add_argument("--per-identity", type=int, default=6, help="gallery images per probe identity (default 6)")
    p.add_argument("--no-exemplars", action="store_true", help="no exemplar-database identities in the gallery")
    p.add_argument("--separate", action="store_true", help="also zhang2011 with eta=0 (restore, then recognise)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="folder for the CSV and cache")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    rows, gallery = run(a.data, limit=a.limit, kernels=a.kernels, per_identity=a.per_identity,
                        exemplars=not a.no_exemplars, separate=a.separate, out=a.out)
    print(f"\nRecognition accuracy, CelebA probes of faces-256 under the Levin kernels; gallery {len(gallery)} faces "
          f"of {len(gallery.identities)} identities (never the probe image); {machine()}; "
          f"{time.perf_counter() - t0:.0f} s\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

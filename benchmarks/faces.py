"""Face-specific blind methods against the best general ones, with the face measures of EVALUATION.md.

Methods: every registered face method (:data:`FACE_METHODS`: ``exemplar``, Pan et al.
2014; ``anwar2018``; ``tian2015``; ``pan2018``, Pan et al. 2018's learned edges), the
:data:`VARIANTS` (among them each edge-based method with ``edge_predictor="learned"``),
the best general method ``xu2010`` (and ``cho2009`` on request) and their face-guided
variants ``xu2010+face`` / ``cho2009+face`` (``deblur(..., face_guided=True)``). Methods
not registered yet, or a ``face_guided`` parameter not accepted yet, are skipped with a note.

Sets: ``faces-256`` and ``yaleb-256`` (``benchmarks/_data.py``) under a kernel family:
the 8 Levin kernels (default), ``lai`` (4 kernels of 31-75 px) or ``shen`` (a random
camera-shake kernel of each odd side 13-27 px, drawn per image as Shen et al. 2018 do,
see :func:`benchmarks._data.case_kernels`). Each method gets the true kernel's size; with
``--auto-size`` every method also runs with ``kernel_size="auto"`` (rows ``METHOD (auto size)``;
:mod:`classicdeblur.blind.kernel_size`), and a line per method gives the mean PSNR difference.

Per case: shift-tolerant PSNR / SSIM, kernel similarity (Hu & Yang 2012), error ratio
(Levin et al. 2009) and seconds, plus the face measures, all against the sharp face as
dlib sees it (:mod:`classicdeblur.faces`):

* detection: dlib's HOG detector (upsample 1) finds a face on the result that overlaps
  the sharp face's box (IoU >= 0.3);
* landmark error: mean distance of the 68 points of the result to those of the sharp
  face, divided by the sharp face's inter-ocular distance (eye centres). When the
  detector misses the face on the result, the predictor runs on the sharp face's box
  (the miss is counted in the detection rate). The result is first moved back by the
  integer shift that the shift-tolerant PSNR found, as the kernel's centre (hence a
  global shift) is not identifiable;
* identity distance: Euclidean distance of dlib's 128-D embeddings of the result
  (with its own landmarks, predicted on the sharp face's box) and of the sharp face;
  under 0.6 counts as "same person".

Every face measure runs on the image framed by a quarter of its side of its mean level
(``--pad``; the HOG detector misses most tight Yale B crops without a frame). Images whose
sharp face dlib does not detect have no face measures (counted in the note under each
table). The blurred input and the true-kernel hyper-Laplacian result are
reference rows. Contact sheets (matplotlib) show a few cases per table and the real
blurry faces of ``real_blurry/shen2018`` (no ground truth: detection on input vs result,
and NIQE when :mod:`classicdeblur.niqe` exists).

Usage::

    .venv/bin/python -m benchmarks.faces --data ../shared/data                       # both sets, Levin
    .venv/bin/python -m benchmarks.faces --data ../shared/data --quick               # 3 faces per set
    .venv/bin/python -m benchmarks.faces --data ../shared/data --set yaleb-256 --kernels lai shen
    .venv/bin/python -m benchmarks.faces --data ../shared/data --methods xu2010 cho2009 --limit 4
    .venv/bin/python -m benchmarks.faces --data ../shared/data --real-only          # the real-blur sheet
    .venv/bin/python -m benchmarks.faces --data ../shared/data --set faces-256 --kernels levin shen \
        --methods anwar2018 xu2010 --auto-size --limit 12 --real 0 --no-sheets         # auto vs true size

Writes ``faces-<set>-<kernels>.csv`` (every case) to ``--out`` and PNG sheets to
``--sheets`` (both default ``benchmarks/results/``, which git ignores).
"""

from __future__ import annotations

import os

if __name__ == "__main__" and "--speed" not in __import__("sys").argv:
    # before NumPy / Numba load: one thread per worker process (--speed times one process as is)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import csv
import importlib
import time
from pathlib import Path

import numpy as np

from benchmarks._data import KERNEL_FAMILIES, SETS, case_kernels, load_set, machine, reference_image
from benchmarks._parallel import workers
from benchmarks.blind import TRUE, _fmt, spread
from benchmarks.nonblind import _render
from classicdeblur.api import deblur, deconvolve
from classicdeblur.blind.kernel_size import max_kernel_size
from classicdeblur.degrade import degrade, pair_seed
from classicdeblur.errors import ClassicDeblurError, InvalidParameterError
from classicdeblur.metrics import (
    error_ratio,
    evaluate,
    kernel_similarity,
    shift_tolerant,
)

#: The face-specific blind methods (a registered method is also one when its registry meta says ``face=True``).
FACE_METHODS = ("exemplar", "anwar2018", "tian2015", "pan2018", "nishiyama2010", "tian2016", "zhang2011", "hacohen2013")
#: General methods run by default (``cho2009`` on request), and the suffix of their face-guided variant.
GENERAL_METHODS = ("xu2010", "cho2009")
FACE_SUFFIX = "+face"
BLURRED = "blurred input"
REFERENCES = (BLURRED, TRUE)
#: Identity distance under which two faces count as the same person (dlib's threshold).
SAME_PERSON = 0.6
#: Overlap (IoU) with the sharp face's box that a detection on the result needs to count.
DETECTION_IOU = 0.3
#: Frame added around every image before the face measures, as a fraction of its side (see pad_for_detection).
DETECTION_PAD = 0.25
#: Targets printed under each table (issue 4).
TARGET_BOUND_DB, TARGET_ER, TARGET_ID = 2.0, 0.90, 0.95
#: Cases per contact sheet: faces x kernels.
SHEET_FACES, SHEET_KERNELS = 3, 2
#: Real blurry faces per contact-sheet page.
REAL_PER_PAGE = 5
NAN = float("nan")


# ----------------------------------------------------------------------------- methods


def _registry():
    from classicdeblur.blind import registry

    return registry()


def is_face_method(name, registry=None):
    """True for a face-specific method: named in :data:`FACE_METHODS` or registered with ``face=True``."""
    reg = registry if registry is not None else _registry()
    return name in FACE_METHODS or (name in reg and bool(reg.meta(name).get("face")))


#: Extra rows: a method with other parameters than its defaults, labelled. ``exemplar`` runs
#: coarse to fine with Cho & Lee's edge prediction by default; the paper's single scale and
#: the L0-smoothed edges of the authors' code are shown too.
VARIANTS = {"exemplar (paper: one scale)": ("exemplar", {"levels": 1}),
            "exemplar (edges=l0)": ("exemplar", {"edges": "l0"}),
            # the learned edge network (classicdeblur.blind.edges, "learned") in place of each method's prediction
            "exemplar (edge_predictor=learned)": ("exemplar", {"edge_predictor": "learned"}),
            "anwar2018 (edge_predictor=learned)": ("anwar2018", {"edge_predictor": "learned"}),
            "xu2010 (edge_predictor=learned)": ("xu2010", {"edge_predictor": "learned"}),
            "cho2009 (edge_predictor=learned)": ("cho2009", {"edge_predictor": "learned"})}


def default_methods(registry=None):
    """Registered face methods, :data:`VARIANTS`, then :data:`GENERAL_METHODS` and their ``+face`` variants."""
    reg = registry if registry is not None else _registry()
    face = [n for n in FACE_METHODS] + [n for n in reg.names() if is_face_method(n, reg) and n not in FACE_METHODS]
    return face + list(VARIANTS) + list(GENERAL_METHODS) + [n + FACE_SUFFIX for n in GENERAL_METHODS]


def _accepts(fn, param):
    from classicdeblur._registry import check_params

    try:
        check_params(fn, "method", {param: True})
    except InvalidParameterError:
        return False
    return True


def entries(names=None, registry=None):
    """``([(label, method, params)], notes)`` for the methods that can run; notes say what was skipped.

    ``"name+face"`` runs ``name`` with ``face_guided=True``; a :data:`VARIANTS` label runs its
    method with its parameters. Face methods get ``face_box="whole"``: every benchmark image is
    a face crop, which the whole-photo path is told rather than left to the detector.
    """
    reg = registry if registry is not None else _registry()
    names = default_methods(reg) if names is None else names
    out, notes = [], []
    for label in dict.fromkeys(names):
        if label in VARIANTS:
            base, params = VARIANTS[label]
            missing = [p for p in params if base in reg and not _accepts(reg.get(base), p)]
            if base not in reg:
                notes.append(f"{label}: skipped, no blind method {base!r} is registered yet")
            elif missing:
                notes.append(f"{label}: skipped, {base} takes no {missing[0]} parameter")
            else:
                out.append((label, base, {**params, **_crop_params(reg, base)}))
            continue
        base = label.removesuffix(FACE_SUFFIX)
        if base not in reg:
            notes.append(f"{label}: skipped, no blind method {base!r} is registered yet")
        elif base != label and not _accepts(reg.get(base), "face_guided"):
            notes.append(f"{label}: skipped, {base} takes no face_guided parameter yet")
        else:
            out.append((label, base, {**({"face_guided": True} if base != label else {}), **_crop_params(reg, base)}))
    return out, notes


def _crop_params(reg, name):
    return {"face_box": "whole"} if is_face_method(name, reg) else {}


# ----------------------------------------------------------------------------- face measures


def _faces_api():
    """The :mod:`classicdeblur.faces` module, or None with the reason when it cannot run."""
    try:
        faces = importlib.import_module("classicdeblur.faces")
        for name in ("detect_faces", "face_landmarks", "face_embedding", "identity_distance"):
            getattr(faces, name)
    except (ImportError, AttributeError, ClassicDeblurError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return faces, ""


def box_iou(a, b):
    """Intersection over union of two ``(x, y, w, h)`` boxes.

    Examples
    --------
    >>> box_iou((0, 0, 10, 10), (5, 0, 10, 10))
    0.3333333333333333
    >>> box_iou((0, 0, 2, 2), (5, 5, 2, 2))
    0.0
    """
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def inter_ocular(landmarks):
    """Distance between the eye centres (iBUG points 36-41 and 42-47) of 68 landmarks.

    Examples
    --------
    >>> pts = np.zeros((68, 2)); pts[42:48] = (30.0, 40.0)
    >>> inter_ocular(pts)
    50.0
    """
    pts = np.asarray(landmarks, dtype=float)
    return float(np.linalg.norm(pts[36:42].mean(axis=0) - pts[42:48].mean(axis=0)))


def landmark_error(landmarks, reference, offset=(0.0, 0.0)):
    """Mean point distance of 68 landmarks to the reference's, over the reference's inter-ocular distance.

    ``offset = (dx, dy)`` is subtracted from ``landmarks`` first (a known global shift).

    Examples
    --------
    >>> ref = np.zeros((68, 2)); ref[42:48, 0] = 40.0
    >>> landmark_error(ref + (4.0, 0.0), ref)
    0.1
    >>> landmark_error(ref + (4.0, 0.0), ref, offset=(4, 0))
    0.0
    """
    d = np.asarray(landmarks, dtype=float) - np.asarray(offset, dtype=float) - np.asarray(reference, dtype=float)
    return float(np.linalg.norm(d, axis=1).mean() / inter_ocular(reference))


def pad_for_detection(image, pad=DETECTION_PAD):
    """``image`` framed by ``pad`` x its larger side of its mean level on every side (``pad = 0``: as is).

    dlib's HOG detector needs some background around a face: it misses most of the
    tight Yale B crops as they are and finds all 38 once they are framed by a quarter of
    their side; on ``faces-256`` framing changes nothing (55 of 57 either way). Every
    face measure runs on framed images, sharp and result alike, so coordinates agree.

    Examples
    --------
    >>> pad_for_detection(np.full((8, 8), 0.5), 0.25).shape
    (12, 12)
    >>> pad_for_detection(np.zeros((8, 6, 3)), 0).shape
    (8, 6, 3)
    """
    import cv2

    image = np.asarray(image, dtype=np.float64)
    p = round(float(pad) * max(image.shape[:2]))
    if p <= 0:
        return image
    mean = image.reshape(-1, image.shape[2]).mean(axis=0).tolist() if image.ndim == 3 else float(image.mean())
    out = cv2.copyMakeBorder(image, p, p, p, p, cv2.BORDER_CONSTANT, value=mean)
    return out.reshape(out.shape[:2] + image.shape[2:])


def reference_face(sharp, faces=None, pad=DETECTION_PAD):
    """``{box, landmarks, embedding, pad}`` of the sharp face (largest HOG detection, upsample 1), or None.

    Coordinates are those of the framed image :func:`pad_for_detection` (``pad``).
    """
    faces = faces or _faces_api()[0]
    if faces is None:
        return None
    framed = pad_for_detection(sharp, pad)
    found = faces.detect_faces(framed, upsample=1)
    if not found:
        return None
    f = found[0]
    lm = np.asarray(f.landmarks, dtype=float)
    return {"box": tuple(int(v) for v in f.box), "landmarks": lm, "embedding": faces.face_embedding(framed, lm),
            "pad": pad}


def face_measures(image, ref, shift=(0, 0), faces=None):
    """Face measures of one result against the sharp face's :func:`reference_face`.

    Parameters
    ----------
    image : ndarray
        The result (or the blurred input), float in [0, 1], the sharp image's shape.
    ref : dict or None
        :func:`reference_face` of the sharp image; None gives NaNs.
    shift : (dy, dx)
        Integer shift of the result relative to the sharp image (the shift-tolerant
        PSNR's); removed before comparing landmarks.

    Returns
    -------
    dict
        ``detected`` (1.0 / 0.0: a HOG detection overlapping the sharp face's box with
        IoU >= :data:`DETECTION_IOU`), ``landmark_error`` (over the inter-ocular
        distance) and ``identity_distance``; NaN without a reference.
    """
    out = {"detected": NAN, "landmark_error": NAN, "identity_distance": NAN}
    faces = faces or _faces_api()[0]
    if ref is None or faces is None:
        return out
    framed = pad_for_detection(image, ref.get("pad", 0))
    found = [f for f in faces.detect_faces(framed, upsample=1) if box_iou(f.box, ref["box"]) >= DETECTION_IOU]
    on_box = np.asarray(faces.face_landmarks(framed, ref["box"]), dtype=float)
    lm = np.asarray(found[0].landmarks, dtype=float) if found else on_box
    out["detected"] = 1.0 if found else 0.0
    out["landmark_error"] = landmark_error(lm, ref["landmarks"], offset=(shift[1], shift[0]))
    out["identity_distance"] = float(np.linalg.norm(faces.face_embedding(framed, on_box) - ref["embedding"]))
    return out


# ----------------------------------------------------------------------------- one case


def _measure(sharp, image, ks, ref, faces):
    """Image and face measures of one output (``ks``: the true kernel's size)."""
    m = evaluate(sharp, image, kernel_size=ks)
    shift = shift_tolerant(sharp, image, max_shift=ks // 2, metric="psnr").shift
    return {**m, "shift_dy": shift[0], "shift_dx": shift[1], **face_measures(image, ref, shift, faces)}


def _case(args):
    """Rows of one (image, kernel) pair (references, then every method); images too when ``keep``."""
    set_name, family, img_name, sharp, kname, k, runs, ref, keep = args[:9]
    supplied = args[9] if len(args) > 9 else {}  # what methods that need it get (e.g. a reference photo)
    faces = _faces_api()[0]
    blurred = degrade(sharp, k, rng=pair_seed(img_name, kname))
    ks = max(k.shape) | 1
    base = {"set": set_name, "kernels": family, "image": img_name, "kernel": kname, "kernel_size": ks,
            "sharp_face": int(ref is not None)}
    rows = [{**base, "method": BLURRED, **_measure(sharp, blurred, ks, ref, faces),
             "kernel_similarity": NAN, "error_ratio": NAN, "seconds": 0.0, "error": ""}]
    images = {"sharp": sharp, "blurred": blurred, "kernel": k, "results": {}}
    t0 = time.perf_counter()
    x = deconvolve(blurred, k, device="cpu")
    sec = time.perf_counter() - t0
    rows.append({**base, "method": TRUE, **_measure(sharp, x, ks, ref, faces),
                 "kernel_similarity": 1.0, "error_ratio": 1.0, "seconds": sec, "error": ""})
    for label, name, params in runs:
        params = dict(params)
        size = params.pop("kernel_size", ks)  # the true size, or "auto" (--auto-size)
        t0 = time.perf_counter()
        try:
            for need in _registry().meta(name).get("needs", ()):  # through the registry meta, not by name
                if supplied.get(need) is None:
                    raise InvalidParameterError(f"no {need} for {img_name} in this set")
                params[need] = supplied[need]
            res = deblur(blurred, name, kernel_size=size, device="cpu", rng=0, **params)
        except Exception as exc:  # noqa: BLE001 - a failing method must not stop the benchmark
            rows.append({**base, "method": label, **dict.fromkeys(
                ("psnr", "ssim", "shift_psnr", "shift_ssim", "shift_dy", "shift_dx", "detected", "landmark_error",
                 "identity_distance", "kernel_similarity", "error_ratio"), NAN),
                "seconds": time.perf_counter() - t0, "error": f"{type(exc).__name__}: {exc}"[:300]})
            continue
        sec = time.perf_counter() - t0
        rows.append({**base, "method": label, **_measure(sharp, res.image, ks, ref, faces),
                     "kernel_similarity": kernel_similarity(res.kernel, k),
                     "error_ratio": error_ratio(sharp, blurred, k, res.kernel), "seconds": sec, "error": "",
                     "size_used": int(res.kernel.shape[0]), "size_cap": max_kernel_size(blurred.shape)})
        images["results"][label] = (res.image, res.kernel)
    return rows, (images if keep else None)


def _reference(args):
    image, pad = args
    return reference_face(image, pad=pad)


def run(data, *, set_name="faces-256", family="levin", runs=(), limit=None, only=None, jobs=2,
        sheet_cases=(SHEET_FACES, SHEET_KERNELS), pad=DETECTION_PAD, progress=True):
    """Per-case rows for one set and kernel family, and the kept images of the sheet cases.

    Returns
    -------
    rows : list of dict
        One per (image, kernel, method), including the :data:`REFERENCES` rows.
    kept : list of (image_name, kernel_name, images)
        The first ``sheet_cases[0]`` images x ``sheet_cases[1]`` kernels (spread).
    """
    images = [item for item in load_set(set_name, data) if only is None or only in item[0]]
    images = spread(images, limit)
    reg = _registry()
    needs_reference = any("reference" in reg.meta(name).get("needs", ()) for _, name, _ in runs if name in reg)
    with workers(jobs) as pool:
        refs = list(pool.map(_reference, [(img, pad) for _, img in images]))
        sheet_imgs = {n for n, _ in spread(images, sheet_cases[0])} if sheet_cases[0] else set()
        cases = []
        for (name, img), ref in zip(images, refs):
            kernels = case_kernels(family, name)
            keep_k = {n for n, _ in spread(kernels, sheet_cases[1])} if sheet_cases[1] else set()
            supplied = {"reference": reference_image(name, data)} if needs_reference else {}
            cases += [(set_name, family, name, img, kname, k, list(runs), ref,
                       name in sheet_imgs and kname in keep_k, supplied) for kname, k in kernels]
        rows, kept = [], []
        for i, (case_rows, imgs) in enumerate(pool.map(_case, cases), 1):
            rows += case_rows
            if imgs is not None:
                kept.append((case_rows[0]["image"], case_rows[0]["kernel"], imgs))
            if progress and (i % 8 == 0 or i == len(cases)):
                print(f"  {i}/{len(cases)} cases", flush=True)
    return rows, kept


# ----------------------------------------------------------------------------- tables


def _mean(rs, key):
    v = np.array([r[key] for r in rs], dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else NAN


def _rate(rs, key, test):
    v = np.array([r[key] for r in rs], dtype=float)
    v = v[~np.isnan(v)]
    return float(np.mean(test(v))) if v.size else NAN


def summarise(rows):
    """One row per method (first-seen order): means, rates and median seconds.

    NaN measures (no sharp face, a failed run) are left out of means and rates;
    ``failed`` counts failed runs, which count as error-ratio failures.

    Examples
    --------
    >>> r = {"method": "m", "shift_psnr": 30.0, "shift_ssim": 0.9, "kernel_similarity": 0.8, "error_ratio": 2.0,
    ...      "detected": 1.0, "landmark_error": 0.05, "identity_distance": 0.3, "seconds": 1.0, "error": ""}
    >>> t = summarise([r, {**r, "error_ratio": 4.0, "identity_distance": 0.7, "detected": 0.0}])[0]
    >>> t["success"], t["detection"], t["same_person"], t["cases"]
    (0.5, 0.5, 0.5, 2)
    """
    table = []
    for method in dict.fromkeys(r["method"] for r in rows):
        rs = [r for r in rows if r["method"] == method]
        ok = [r for r in rs if not r.get("error")]
        ratios = np.array([r["error_ratio"] if not r.get("error") else np.inf for r in rs], dtype=float)
        table.append({
            "method": method, "cases": len(rs), "failed": len(rs) - len(ok),
            "psnr": _mean(ok, "shift_psnr"), "ssim": _mean(ok, "shift_ssim"),
            "kernel_similarity": NAN if method == BLURRED else _mean(ok, "kernel_similarity"),
            "success": NAN if method == BLURRED or np.isnan(ratios).any() else float(np.mean(ratios <= 3)),
            "detection": _rate(ok, "detected", lambda v: v > 0.5),
            "landmark_error": _mean(ok, "landmark_error"),
            "identity": _mean(ok, "identity_distance"),
            "same_person": _rate(ok, "identity_distance", lambda v: v < SAME_PERSON),
            "seconds": NAN if method == BLURRED or not ok else float(np.median([r["seconds"] for r in ok])),
        })
    return table


def _pct(v):
    return "-" if not np.isfinite(v) else f"{100 * v:.0f}%"


def format_table(table, *, markdown=False):
    """The summary table: method | PSNR / SSIM | kernel sim. | ER <= 3 | detection | ... | s / image."""
    head = ("method", "PSNR / SSIM", "kernel sim.", "ER <= 3", "detected", "landmark err.", "identity dist.",
            "id < 0.6", "s / image", "cases")
    body = [(t["method"], f"{_fmt(t['psnr'], '.2f')} / {_fmt(t['ssim'], '.3f')}", _fmt(t["kernel_similarity"], ".3f"),
             _pct(t["success"]), _pct(t["detection"]), _fmt(t["landmark_error"], ".3f"), _fmt(t["identity"], ".3f"),
             _pct(t["same_person"]), _fmt(t["seconds"], ".2f"),
             str(t["cases"]) + (f" ({t['failed']} failed)" if t["failed"] else "")) for t in table]
    return _render(head, body, markdown)


def targets(table, face_methods=FACE_METHODS):
    """Lines saying whether each face method meets the issue's targets.

    Every other method except the :data:`REFERENCES` (``+face`` variants included)
    counts as a general method.

    Examples
    --------
    >>> t = [{"method": TRUE, "psnr": 32.0}, {"method": "xu2010", "psnr": 29.0},
    ...      {"method": "exemplar", "psnr": 30.5, "success": 0.95, "same_person": 0.9}]
    >>> print("\\n".join(targets(t)))
    exemplar: within 2 dB of the true-kernel bound: yes (-1.50 dB); ER <= 3 rate >= 90%: yes (95%); id < 0.6 rate >= 95%: no (90%); beats every general method on mean PSNR: yes
    """
    by = {t["method"]: t for t in table}
    bound = by.get(TRUE, {}).get("psnr", NAN)
    general = [t for t in table if t["method"] not in REFERENCES and t["method"] not in face_methods]
    lines = []
    for t in table:
        if t["method"] not in face_methods:
            continue
        if not np.isfinite(t["psnr"]):
            lines.append(f"{t['method']}: no results (every run failed)")
            continue
        d = t["psnr"] - bound
        losers = [g["method"] for g in general if not t["psnr"] > g["psnr"]]
        yes = lambda c: "yes" if c else "no"
        lines.append(
            f"{t['method']}: within {TARGET_BOUND_DB:g} dB of the true-kernel bound: {yes(d >= -TARGET_BOUND_DB)} "
            f"({d:+.2f} dB); ER <= 3 rate >= {100 * TARGET_ER:.0f}%: {yes(t['success'] >= TARGET_ER)} "
            f"({_pct(t['success'])}); id < {SAME_PERSON:g} rate >= {100 * TARGET_ID:.0f}%: "
            f"{yes(t['same_person'] >= TARGET_ID)} ({_pct(t['same_person'])}); beats every general method on "
            f"mean PSNR: " + (yes(not losers) if general else "- (no general method ran)")
            + (f" (not {', '.join(losers)})" if losers else ""))
    return lines


def failures(rows):
    """One note per method with failed runs: how many, and the first error.

    Examples
    --------
    >>> failures([{"method": "m", "image": "a", "error": "ValueError: x"}, {"method": "m", "image": "b", "error": ""}])
    ['note: m failed on 1 of 2 runs, first on a: ValueError: x']
    """
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        rs = [r for r in rows if r["method"] == method]
        bad = [r for r in rs if r.get("error")]
        if bad:
            where = " ".join(str(bad[0][k]) for k in ("image", "kernel") if k in bad[0])
            out.append(f"note: {method} failed on {len(bad)} of {len(rs)} runs, first on {where}: {bad[0]['error']}")
    return out


# ----------------------------------------------------------------------------- contact sheets


def kernel_tile(k, side):
    """A kernel centred on a ``side`` x ``side`` canvas, scaled to max 1 (for display).

    Examples
    --------
    >>> t = kernel_tile(np.full((3, 3), 1 / 9), 5)
    >>> t.shape, float(t.max()), float(t[0, 0])
    ((5, 5), 1.0, 0.0)
    """
    k = np.asarray(k, dtype=float)
    out = np.zeros((side, side))
    h, w = min(k.shape[0], side), min(k.shape[1], side)
    top, left = (k.shape[0] - h) // 2, (k.shape[1] - w) // 2
    oy, ox = (side - h) // 2, (side - w) // 2
    out[oy : oy + h, ox : ox + w] = k[top : top + h, left : left + w]
    m = out.max()
    return out / m if m > 0 else out


def write_sheet(path, cases, title=""):
    """Write a contact sheet: per case a row of images with a strip of kernels under it.

    Parameters
    ----------
    path : str or Path
        PNG file to write (parent folders are created).
    cases : list of dict
        ``{"label": str, "panels": [(caption, image or None, kernel or None)]}``: one
        column per panel; gray or RGB images in [0, 1]; kernels are shown centred on a
        common canvas, each scaled to its maximum (:func:`kernel_tile`).
    title : str

    Returns
    -------
    Path
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncol = max(len(c["panels"]) for c in cases)
    side = max([max(np.shape(k)) for c in cases for _, _, k in c["panels"] if k is not None] or [1])
    # layout in inches: label margin, panel width, caption line height, kernel strip, gap between cases
    left, width, line, strip, gap, pad = 0.45, 1.6, 0.12, 0.62, 0.12, 0.05
    title_lines = textwrap.wrap(title, 26 * ncol) if title else []
    top = 0.1 + line * 1.3 * len(title_lines)
    heights = []
    for c in cases:
        n_lines = max(str(p[0]).count("\n") + 1 for p in c["panels"])
        has_k = any(p[2] is not None for p in c["panels"])
        heights.append((n_lines * line + pad, width, strip + pad if has_k else 0.0))
    W = left + ncol * (width + pad) + 0.1
    H = top + sum(sum(h) + gap for h in heights)
    fig = plt.figure(figsize=(W, H))
    y = H - top
    for case, (cap_h, img_h, k_h) in zip(cases, heights):
        y_img = y - cap_h - img_h
        for j, (caption, image, kernel) in enumerate(case["panels"]):
            x0 = left + j * (width + pad)
            ax = fig.add_axes((x0 / W, y_img / H, width / W, img_h / H))
            if image is not None:
                img = np.clip(np.asarray(image, dtype=float), 0, 1)
                ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
            ax.set_axis_off()
            fig.text((x0 + width / 2) / W, (y_img + img_h + pad / 2) / H, caption, ha="center", va="bottom",
                     fontsize=6.5, linespacing=1.1)
            if kernel is not None:
                kx = fig.add_axes(((x0 + (width - strip) / 2) / W, (y_img - k_h) / H, strip / W, strip / H))
                kx.imshow(kernel_tile(kernel, side), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                kx.set_axis_off()
        fig.text((left - 0.08) / W, (y_img + img_h / 2) / H, case.get("label", ""), rotation=90, ha="right",
                 va="center", fontsize=6.5)
        y = y_img - k_h - gap
    if title_lines:
        fig.text(0.5, 1 - 0.05 / H, "\n".join(title_lines), ha="center", va="top", fontsize=7.5)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
    plt.close(fig)
    return path


def synthetic_sheet(kept, rows, path, title):
    """Contact sheet of the kept synthetic cases: blurred, each method, ground truth; kernels below."""
    by = {(r["image"], r["kernel"], r["method"]): r for r in rows}
    cases = []
    for img_name, kname, imgs in kept:
        b = by[(img_name, kname, BLURRED)]

        def cap(label, r):
            face = "" if not np.isfinite(r["detected"]) else (
                f"\nface {'yes' if r['detected'] > 0.5 else 'no'}, id {r['identity_distance']:.2f}")
            return f"{label}\n{r['shift_psnr']:.2f} dB{face}"

        panels = [(cap("blurred", b), imgs["blurred"], imgs["kernel"])]
        for label, (image, kernel) in imgs["results"].items():
            panels.append((cap(label, by[(img_name, kname, label)]), image, kernel))
        panels.append(("ground truth\n(true kernel below)", imgs["sharp"], imgs["kernel"]))
        cases.append({"label": f"{img_name}\n{kname}", "panels": panels})
    return write_sheet(path, cases, title) if cases else None


# ----------------------------------------------------------------------------- real blurry faces


#: NIQE patch side for the 128x128 real faces (4 patches each; the paper's 96 suits larger images).
NIQE_PATCH = 64
#: Side to which the sharp faces are resized to fit the NIQE model (the real faces' side).
NIQE_SIDE = 128


def _niqe():
    """``classicdeblur.niqe`` (optional: helper module), or None."""
    try:
        mod = importlib.import_module("classicdeblur.niqe")
    except ImportError:
        return None
    return mod if callable(getattr(mod, "niqe", None)) and callable(getattr(mod, "fit_niqe", None)) else None


def niqe_model(data):
    """NIQE pristine model fitted on the sharp ``faces-256`` images resized to 128x128 (None without NIQE).

    EVALUATION.md: "NIQE with a model fitted on the sharp faces in ../shared/data/faces".
    The faces are brought to the real faces' scale (128 px, area interpolation) and cut
    into :data:`NIQE_PATCH` px patches.
    """
    import cv2

    mod = _niqe()
    if mod is None:
        return None
    sharp = [cv2.resize(img, (NIQE_SIDE, NIQE_SIDE), interpolation=cv2.INTER_AREA)
             for _, img in load_set("faces-256", data)]
    return mod.fit_niqe(sharp, patch=NIQE_PATCH)


def _real_case(args):
    name, image, runs, ks, model, pad = args
    faces = _faces_api()[0]
    mod = _niqe() if model is not None else None

    def score(x):
        return float(mod.niqe(x, model)) if mod is not None else NAN

    def found(x):
        return NAN if faces is None else float(bool(faces.detect_faces(pad_for_detection(x, pad), upsample=1)))

    rows = [{"image": name, "method": BLURRED, "detected": found(image), "niqe": score(image), "seconds": NAN,
             "error": ""}]
    results = {}
    for label, method, params in runs:
        t0 = time.perf_counter()
        try:
            res = deblur(image, method, kernel_size=ks, device="cpu", rng=0, **params)
        except Exception as exc:  # noqa: BLE001
            rows.append({"image": name, "method": label, "detected": NAN, "niqe": NAN,
                         "seconds": time.perf_counter() - t0, "error": f"{type(exc).__name__}: {exc}"[:300]})
            continue
        sec = time.perf_counter() - t0
        rows.append({"image": name, "method": label, "detected": found(res.image), "niqe": score(res.image),
                     "seconds": sec, "error": ""})
        results[label] = (res.image, res.kernel)
    return rows, (image, results)


def run_real(data, runs, *, limit=None, kernel_size=27, jobs=2, model=None, pad=DETECTION_PAD):
    """Rows and images of every method on the real blurry faces ``real_blurry/shen2018/*.png``.

    ``model``: a NIQE model (:func:`niqe_model`) to score input and results, or None.
    """
    from benchmarks._data import _natural
    from classicdeblur.io import read_image

    paths = sorted((Path(data) / "real_blurry" / "shen2018").glob("*.png"), key=_natural)
    if not paths:
        raise FileNotFoundError(f"no real_blurry/shen2018/*.png under {data}")
    paths = spread(paths, limit)
    cases = [(p.stem, read_image(p).image, list(runs), kernel_size, model, pad) for p in paths]
    with workers(jobs) as pool:
        out = list(pool.map(_real_case, cases))
    rows = [r for rs, _ in out for r in rs]
    kept = [(name, imgs) for (name, *_), (_, imgs) in zip(cases, out)]
    return rows, kept


def summarise_real(rows):
    """Per method: detection rate, mean NIQE (lower is better), median seconds, cases."""
    table = []
    for method in dict.fromkeys(r["method"] for r in rows):
        rs = [r for r in rows if r["method"] == method and not r["error"]]
        table.append({"method": method, "detection": _rate(rs, "detected", lambda v: v > 0.5),
                      "niqe": _mean(rs, "niqe"),
                      "seconds": NAN if method == BLURRED or not rs else float(np.median([r["seconds"] for r in rs])),
                      "cases": len([r for r in rows if r["method"] == method]),
                      "failed": len([r for r in rows if r["method"] == method and r["error"]])})
    return table


def format_real(table, *, markdown=False):
    head = ("method", "face detected", "NIQE", "s / image", "images")
    body = [(t["method"], _pct(t["detection"]), _fmt(t["niqe"], ".2f"), _fmt(t["seconds"], ".2f"),
             str(t["cases"]) + (f" ({t['failed']} failed)" if t["failed"] else "")) for t in table]
    return _render(head, body, markdown)


def real_sheets(kept, rows, folder, title):
    """Pages of :data:`REAL_PER_PAGE` real faces: blurred + each method, kernels below."""
    by = {(r["image"], r["method"]): r for r in rows}

    def cap(label, r):
        s = label
        if np.isfinite(r["detected"]):
            s += f"\nface {'yes' if r['detected'] > 0.5 else 'no'}"
        if np.isfinite(r["niqe"]):
            s += f", NIQE {r['niqe']:.2f}"
        return s

    cases = []
    for name, (image, results) in kept:
        panels = [(cap("blurred", by[(name, BLURRED)]), image, None)]
        panels += [(cap(label, by[(name, label)]), x, k) for label, (x, k) in results.items()]
        cases.append({"label": f"shen2018/{name}", "panels": panels})
    paths = []
    for p, start in enumerate(range(0, len(cases), REAL_PER_PAGE), 1):
        paths.append(write_sheet(Path(folder) / f"faces-real-shen2018-{p}.png", cases[start : start + REAL_PER_PAGE],
                                 f"{title} (page {p})"))
    return paths


# ----------------------------------------------------------------------------- CLI


def _write_csv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


#: Suffix of the ``--auto-size`` rows.
AUTO_SUFFIX = " (auto size)"


def with_auto_size(runs):
    """``runs`` followed by each run again with ``kernel_size="auto"``, labelled with :data:`AUTO_SUFFIX`.

    Examples
    --------
    >>> with_auto_size([("xu2010", "xu2010", {})])
    [('xu2010', 'xu2010', {}), ('xu2010 (auto size)', 'xu2010', {'kernel_size': 'auto'})]
    """
    return list(runs) + [(label + AUTO_SUFFIX, name, {**params, "kernel_size": "auto"}) for label, name, params in runs]


def auto_size_lines(rows):
    """Per method with ``(auto size)`` rows: mean PSNR of auto size minus true size (same cases) and the sizes.

    Examples
    --------
    >>> r = [{"method": "m", "image": "a", "kernel": "k", "kernel_size": 13, "shift_psnr": 30.0, "error": "",
    ...       "size_used": 13, "size_cap": 63},
    ...      {"method": "m (auto size)", "image": "a", "kernel": "k", "kernel_size": 13, "shift_psnr": 29.5,
    ...       "error": "", "size_used": 17, "size_cap": 63}]
    >>> auto_size_lines(r)
    ['m: auto size -0.50 dB vs true size over 1 cases (auto size mean 17.0, true 13.0; larger in 100%, smaller in 0%; over a quarter of the image: 0)']
    """
    by = {(r["image"], r["kernel"], r["method"]): r for r in rows}
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        if not method.endswith(AUTO_SUFFIX):
            continue
        base = method.removesuffix(AUTO_SUFFIX)
        pairs = [(by[(r["image"], r["kernel"], base)], r) for r in rows if r["method"] == method and not r["error"]
                 and (r["image"], r["kernel"], base) in by and not by[(r["image"], r["kernel"], base)]["error"]]
        if not pairs:
            continue
        d = np.mean([a["shift_psnr"] - t["shift_psnr"] for t, a in pairs])
        used = np.array([a["size_used"] for _, a in pairs], dtype=float)
        true = np.array([a["kernel_size"] for _, a in pairs], dtype=float)
        over = sum(a["size_used"] > a["size_cap"] for _, a in pairs)
        out.append(f"{base}: auto size {d:+.2f} dB vs true size over {len(pairs)} cases (auto size mean "
                   f"{used.mean():.1f}, true {true.mean():.1f}; larger in {100 * np.mean(used > true):.0f}%, smaller "
                   f"in {100 * np.mean(used < true):.0f}%; over a quarter of the image: {over})")
    return out


def _family_text(family):
    return {"levin": "the 8 Levin kernels (13-27 px)", "lai": "the 4 Lai 2016 kernels (31-75 px)",
            "shen": "8 random camera-shake kernels per image (13-27 px, Shen et al. 2018)"}[family]


#: Methods timed by ``--speed`` (default) and their targets in seconds per 256-px gray face (issue 11).
SPEED_TARGETS = {"exemplar": 1.0, "anwar2018": 0.5, "tian2015": 1.5, "xu2010": 0.3, "cho2009": 0.3}
#: Steps of the ``--speed`` profile, in order; ``other`` is the rest of the wall time.
SPEED_STEPS = ("detection", "matching", "pyramid", "x_step", "k_step", "final", "other")


def speed_profile(info, seconds):
    """Seconds per step of one run from its ``info`` (see :data:`SPEED_STEPS`).

    ``detection`` and ``matching`` come from ``info["exemplar"]`` (exemplar);
    ``x_step``/``k_step``/``final`` from the framework's ``info["timings"]``
    (tian2015's ``fit``/``select`` count as k-step/x-step); ``pyramid`` is the
    framework's time outside the steps (resampling, kernel projection, history);
    ``other`` is the rest of the wall time (validation, face crop, method set-up).

    Examples
    --------
    >>> info = {"timings": {"x_step": 0.1, "k_step": 0.2, "screening": 0.0, "final": 0.05, "total": 0.4}}
    >>> {k: round(v, 2) for k, v in speed_profile(info, 0.5).items()}["pyramid"]
    0.05
    """
    t = dict(info.get("timings") or {})
    ex = info.get("exemplar") or {}
    out = dict.fromkeys(SPEED_STEPS, 0.0)
    out["detection"] = float(ex.get("detect_seconds", 0.0))
    out["matching"] = float(ex.get("seconds", 0.0))
    out["x_step"] = float(t.get("x_step", t.get("select", 0.0))) + float(t.get("screening", 0.0))
    out["k_step"] = float(t.get("k_step", t.get("fit", 0.0)))
    out["final"] = float(t.get("final", 0.0))
    total = float(t.get("total", 0.0))
    out["pyramid"] = max(0.0, total - out["x_step"] - out["k_step"] - out["final"]) if "x_step" in t else 0.0
    out["other"] = max(0.0, seconds - out["detection"] - out["matching"] - total)
    return out


def run_speed(data, methods=None, *, limit=3, repeats=3, set_name="faces-256"):
    """Seconds per image of each method on ``limit`` gray 256-px faces (Levin kernels), one process.

    Every (method, face) is run once to warm up (imports, Numba compilation, the exemplar
    database), then ``repeats`` times; the result is the median over all timed runs, with
    the median per-step profile (:func:`speed_profile`). Returns ``[(method, seconds,
    cpu_seconds, profile, psnr)]`` (``cpu_seconds``: the process's CPU time, all threads, which a
    loaded machine inflates less than the wall time).
    """
    import statistics

    methods = list(methods or SPEED_TARGETS)
    cases = []
    items = spread(load_set(set_name, data), limit) if limit else load_set(set_name, data)
    for j, (name, sharp) in enumerate(items):
        kernels = case_kernels("levin", name)
        kname, k = kernels[j % len(kernels)]
        cases.append((sharp, degrade(sharp, k, rng=pair_seed(name, kname)), k.shape[0]))
    out = []
    for m in methods:
        times, cpu, profiles, scores = [], [], [], []
        for sharp, blurred, size in cases:
            deblur(blurred, m, kernel_size=size, device="cpu", rng=0)  # warm-up
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                res = deblur(blurred, m, kernel_size=size, device="cpu", rng=0)
                dt = time.perf_counter() - t0
                cpu.append(time.process_time() - c0)
                times.append(dt)
                profiles.append(speed_profile(res.info, dt))
            scores.append(float(shift_tolerant(sharp, res.image, max_shift=size // 2, metric="psnr").value))
        prof = {k: statistics.median(p[k] for p in profiles) for k in SPEED_STEPS}
        out.append((m, statistics.median(times), statistics.median(cpu), prof, float(np.mean(scores))))
    return out


def format_speed(rows, *, markdown=False):
    """The ``--speed`` table: seconds per image, target, and the per-step profile."""
    head = ["method", "s/image", "CPU s", "target", "met", *SPEED_STEPS, "PSNR"]
    lines = []
    for m, sec, cpu, prof, score in rows:
        target = SPEED_TARGETS.get(m)
        lines.append([m, f"{sec:.2f}", f"{cpu:.2f}", "" if target is None else f"{target:.1f}",
                      "" if target is None else ("yes" if sec <= target else f"no (x{sec / target:.1f})"),
                      *(f"{prof[k]:.2f}" for k in SPEED_STEPS), f"{score:.2f}"])
    return _render(head, lines, markdown=markdown)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=None, help="the shared data folder (../shared/data)")
    p.add_argument("--set", nargs="+", default=list(SETS), choices=SETS, help="benchmark sets (default: both)")
    p.add_argument("--kernels", nargs="+", default=["levin"], choices=KERNEL_FAMILIES,
                   help="kernel families (default: levin)")
    p.add_argument("--methods", nargs="*", default=None,
                   help="methods, 'name+face' for a face-guided variant (default: face methods, xu2010, xu2010+face)")
    p.add_argument("--quick", action="store_true", help="3 images per set, 3 real faces")
    p.add_argument("--limit", type=int, default=None, help="N images evenly spread over each set")
    p.add_argument("--only", default=None, help="only images whose name contains this (e.g. 69037)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (each one single-threaded)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="folder for the CSVs")
    p.add_argument("--sheets", type=Path, default=None, help="folder for the contact sheets (default: --out)")
    p.add_argument("--no-sheets", action="store_true", help="write no contact sheets")
    p.add_argument("--real", type=int, default=None,
                   help="real blurry faces to run (default all 20, --quick 3; 0 skips them)")
    p.add_argument("--real-only", action="store_true", help="only the real blurry faces")
    p.add_argument("--real-kernel-size", type=int, default=27, help="kernel size for the real faces (default 27)")
    p.add_argument("--pad", type=float, default=DETECTION_PAD,
                   help=f"frame around each image for the face measures, fraction of its side (default {DETECTION_PAD})")
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    p.add_argument("--auto-size", action="store_true",
                   help="also run every method with kernel_size='auto' (rows 'METHOD (auto size)')")
    p.add_argument("--speed", action="store_true",
                   help="time the methods (default: those of SPEED_TARGETS) in this one process: seconds per "
                        "256-px gray face (median of --repeats runs after a warm-up, --limit faces, default 3) "
                        "and where the time goes per step")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per face with --speed (default 3)")
    args = p.parse_args(argv)
    if args.data is None:
        p.error("--data is required (the shared data folder, e.g. ../shared/data)")
    if args.speed:
        set_name = args.set[0] if len(args.set) == 1 else "faces-256"
        limit = args.limit or 3
        rows = run_speed(args.data, args.methods, limit=limit, repeats=max(1, args.repeats), set_name=set_name)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"\nSpeed: {set_name}, {limit} gray 256-px faces x one Levin kernel each, median of "
              f"{max(1, args.repeats)} runs per face after a warm-up; one process; {machine()}; load {load:.1f}")
        print(format_speed(rows, markdown=args.markdown))
        return
    runs, notes = entries(args.methods)
    if args.auto_size:
        runs = with_auto_size(runs)
    for n in notes:
        print(f"note: {n}")
    faces, why = _faces_api()
    if faces is None:
        print(f"note: no face measures ({why})")
    if not runs:
        print("note: no method can run; only the reference rows are measured")
    sheets = None if args.no_sheets else (args.sheets or args.out)
    limit = 3 if args.quick and args.limit is None else args.limit
    n_real = args.real if args.real is not None else (3 if args.quick else None)

    if not args.real_only:
        for set_name in args.set:
            for family in args.kernels:
                t0 = time.perf_counter()
                rows, kept = run(args.data, set_name=set_name, family=family, runs=runs, limit=limit,
                                 only=args.only, jobs=args.jobs, pad=args.pad,
                                 sheet_cases=(0, 0) if sheets is None else (SHEET_FACES, SHEET_KERNELS))
                stem = f"faces-{set_name}-{family}" + (f"-{args.only}" if args.only else "")
                _write_csv(args.out / f"{stem}.csv", rows)
                n_img = len({r["image"] for r in rows})
                no_face = len({r["image"] for r in rows if not r["sharp_face"]})
                title = (f"Face methods: {set_name} ({n_img} images) x {_family_text(family)}, sigma 0.01 + 8-bit, "
                         f"kernel size = true size" + (" ('auto size' rows: estimated)" if args.auto_size else "")
                         + f"; {machine()}, {args.jobs} jobs")
                print("\n" + title)
                table = summarise(rows)
                print(format_table(table, markdown=args.markdown))
                if faces is not None:
                    print(f"\nFace measures on the {n_img - no_face} images whose sharp face dlib detects"
                          + (f" ({no_face} without)." if no_face else "."))
                for line in targets(table, [label for label, name, _ in runs if is_face_method(name)]):
                    print(("- " if args.markdown else "") + line)
                for line in auto_size_lines(rows):
                    print(("- " if args.markdown else "") + line)
                for line in failures(rows):
                    print(line)
                msg = f"(per-case rows in {args.out / (stem + '.csv')}; {time.perf_counter() - t0:.0f} s"
                if sheets is not None and kept:
                    path = synthetic_sheet(kept, rows, Path(sheets) / f"{stem}.png", title)
                    msg += f"; contact sheet {path}"
                print(msg + ")")

    if n_real != 0:
        model = niqe_model(args.data)
        rows, kept = run_real(args.data, runs, limit=n_real, kernel_size=args.real_kernel_size, jobs=args.jobs,
                              model=model, pad=args.pad)
        _write_csv(args.out / "faces-real-shen2018.csv", rows)
        niqe = (f"NIQE (lower is better) fitted on the faces-256 faces at {NIQE_SIDE} px, {NIQE_PATCH} px patches"
                if model is not None else "no NIQE (classicdeblur.niqe missing)")
        title = (f"Real blurry faces: real_blurry/shen2018 ({len(kept)} images, 128x128 RGB, no ground truth), "
                 f"kernel size {args.real_kernel_size}; {niqe}; {machine()}")
        print("\n" + title)
        print(format_real(summarise_real(rows), markdown=args.markdown))
        for line in failures(rows):
            print(line)
        msg = f"(per-image rows in {args.out / 'faces-real-shen2018.csv'}"
        if sheets is not None:
            paths = real_sheets(kept, rows, sheets, title)
            msg += f"; contact sheets {', '.join(str(q) for q in paths)}"
        print(msg + ")")


if __name__ == "__main__":
    main()

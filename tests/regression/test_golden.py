"""Golden outputs of every registered method, recorded before the redesign of issue 9.

Every blind method (with and without pixel screening, face guidance where it
applies, and the whole-photo path of the face methods) and every non-blind
method runs on fixed inputs: the shipped astronaut (colour, 160 px), the
astronaut inside a larger canvas (the whole-photo path), and four 96-px
benchmark-source faces (``tests/data/golden/``, two gray and two colour,
blurred by the project's own generators).

``golden.json`` holds, per case, the sha256 of the output image and kernel
(float64 bytes) and a fingerprint that survives a legitimate change of
floating-point order: the means of an 8x8 grid of image blocks, 64 fixed
pixels and the whole kernel. A case passes when its hashes match, or when
every fingerprint value is within ``TOL`` (1e-6) of the recorded one.

Record (only when a result is *meant* to change, and say why in the commit)::

    python tests/regression/test_golden.py --record
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
GOLDEN = DATA / "golden" / "golden.json"
TOL = 1e-6

#: The four faces and the true kernel of each (project generators, never benchmark kernels).
FACES = {
    "face0_gray": "motion:length=7,angle=30",
    "face1_rgb": "gaussian:sigma=1.2",
    "face2_gray": "motion:length=5,angle=100",
    "face3_rgb": "disk:radius=2",
}
BLIND = ("cho2009", "krishnan2011", "shan2008", "xu2010", "exemplar", "anwar2018", "tian2015")
FACE_METHODS = ("exemplar", "anwar2018", "tian2015")
NONBLIND = ("hyper_laplacian", "irls", "l0", "richardson_lucy", "tikhonov", "tv", "wiener")


def _inputs():
    from classicdeblur.io import read_image

    astro = read_image(DATA / "astronaut_levin3.png").image
    out = {"astronaut": (astro, "levin:3", 19)}
    # a photo: the face is a small part of it, so the face methods crop and restore the whole
    out["photo"] = (np.pad(astro, ((64, 64), (96, 96), (0, 0)), mode="edge"), "levin:3", 19)
    for name, spec in FACES.items():
        out[name] = (read_image(DATA / "golden" / f"{name}.png").image, spec, 9)
    return out


def cases():
    """``[(case_id, input_name, kind, method, params)]``."""
    out = []
    for name in ("astronaut", *FACES):
        for m in BLIND:
            for scr in (False, True):
                params = {"pixel_screening": scr}
                if m in FACE_METHODS and name != "astronaut":
                    params["face_box"] = "whole"
                out.append((f"{name}/{m}/screen={scr}", name, "blind", m, params))
        for m in NONBLIND:
            out.append((f"{name}/{m}", name, "nonblind", m, {}))
    for m in ("cho2009", "xu2010"):
        out.append((f"astronaut/{m}/face_guided", "astronaut", "blind", m, {"face_guided": True}))
    for m in FACE_METHODS:
        out.append((f"photo/{m}", "photo", "blind", m, {}))
    return out


def run_case(inputs, name, kind, method, params):
    import classicdeblur as cd

    image, spec, size = inputs[name]
    if kind == "nonblind":
        k = cd.resolve_kernel(spec)
        return cd.deconvolve(image, k, method=method, device="cpu", **params), k
    res = cd.deblur(image, method, kernel_size=size, device="cpu", rng=0, **params)
    return res.image, res.kernel


def _sha(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.float64).tobytes()).hexdigest()


def fingerprint(image, kernel):
    img = np.asarray(image, dtype=np.float64)
    h, w = img.shape[:2]
    blocks = [float(img[i * h // 8:(i + 1) * h // 8, j * w // 8:(j + 1) * w // 8].mean())
              for i in range(8) for j in range(8)]
    flat = img.ravel()
    idx = np.random.default_rng(0).choice(flat.size, 64, replace=False)
    return {"shape": list(img.shape), "image_sha256": _sha(img), "kernel_sha256": _sha(kernel),
            "blocks": blocks, "pixels": flat[idx].tolist(), "kernel": np.asarray(kernel, float).ravel().tolist()}


@pytest.fixture(scope="module")
def inputs():
    return _inputs()


@pytest.fixture(scope="module")
def golden():
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("case", cases(), ids=[c[0] for c in cases()])
def test_golden(case, inputs, golden):
    case_id, name, kind, method, params = case
    image, kernel = run_case(inputs, name, kind, method, params)
    got, want = fingerprint(image, kernel), golden[case_id]
    assert got["shape"] == want["shape"]
    if got["image_sha256"] == want["image_sha256"] and got["kernel_sha256"] == want["kernel_sha256"]:
        return
    for key in ("blocks", "pixels", "kernel"):
        diff = np.abs(np.asarray(got[key]) - np.asarray(want[key])).max()
        assert diff <= TOL, f"{case_id}: {key} differs by {diff:.3g} (> {TOL})"


def record(path=GOLDEN, arrays=None):
    """Run every case and write ``golden.json`` (and, optionally, the full outputs to ``arrays``)."""
    inputs = _inputs()
    table, full = {}, {}
    for case_id, name, kind, method, params in cases():
        image, kernel = run_case(inputs, name, kind, method, params)
        table[case_id] = fingerprint(image, kernel)
        full[case_id + "|image"], full[case_id + "|kernel"] = image, kernel
        print(case_id, table[case_id]["image_sha256"][:12], flush=True)
    Path(path).write_text(json.dumps(table, indent=0) + "\n")
    if arrays:
        np.savez_compressed(arrays, **full)


if __name__ == "__main__":
    if "--record" not in sys.argv:
        sys.exit("usage: python tests/regression/test_golden.py --record [--arrays OUT.npz] [--out golden.json]")
    args = sys.argv[1:]
    record(args[args.index("--out") + 1] if "--out" in args else GOLDEN,
           args[args.index("--arrays") + 1] if "--arrays" in args else None)

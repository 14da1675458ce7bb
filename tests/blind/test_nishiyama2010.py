"""Nishiyama et al. 2010 (FADEIN): PSF set, shipped subspaces, nearest-subspace inference, the registered method."""

import json
import shutil

import numpy as np
import pytest

import classicdeblur as cd
import cupy_standin as cs
from classicdeblur.blind import nishiyama2010 as N
from classicdeblur.backend import to_numpy
from classicdeblur.blind import registry
from classicdeblur.degrade import degrade
from classicdeblur.errors import ClassicDeblurError
from classicdeblur.learned.models import file_sha256, models_dir
from classicdeblur.metrics.kernel import kernel_similarity
from classicdeblur.operators import gradients


def test_psf_set_is_parametric_from_the_generators_only():
    pset = N.psf_set()
    assert {f for f, _, _ in pset} == set(N.FAMILIES)
    assert len(set(pset)) == len(pset) == 291
    # rendered at any size, normalised
    for fam, p1, p2 in pset[::29]:
        for size in (9, 31):
            k = N.render_psf(fam, p1, p2, scale=0.75, size=size)
            assert k.shape == (size, size) and k.min() >= 0 and np.isclose(k.sum(), 1)


def test_shipped_model_matches_its_manifest_and_training_faces():
    folder = models_dir()
    manifest = json.loads((folder / N.MANIFEST_FILE).read_text())
    path = folder / N.MODEL_FILE
    assert file_sha256(path) == manifest["sha256"] and path.stat().st_size < 5e6
    m = N.load_model()
    assert m["means"].shape == (291, 160) and m["bases"].shape == (291, 8, 160)
    B = m["bases"].astype(np.float64)
    np.testing.assert_allclose(np.einsum("prd,psd->prs", B, B), np.broadcast_to(np.eye(8), (291, 8, 8)), atol=1e-4)
    assert [str(f) for f in m["family"]] == [p[0] for p in N.psf_set()]
    faces = manifest["training"]["faces"]
    assert len(faces) == 160
    for f in faces:  # never a faces-256 identity (celeb_0..39), never FFHQ or Yale B
        assert f.startswith("faces/celebahq/") or int(f.split("/")[3].split("_")[1]) >= 40


def test_tampered_model_is_refused(tmp_path, monkeypatch):
    for name in (N.MODEL_FILE, N.MANIFEST_FILE):
        shutil.copy(models_dir() / name, tmp_path / name)
    data = bytearray((tmp_path / N.MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / N.MODEL_FILE).write_bytes(bytes(data))
    monkeypatch.setenv("CLASSICDEBLUR_MODELS", str(tmp_path))
    with pytest.raises(ClassicDeblurError, match="sha256"):
        N.load_model()
    monkeypatch.setenv("CLASSICDEBLUR_MODELS", str(tmp_path / "nowhere"))
    with pytest.raises(ClassicDeblurError, match="missing"):
        N.load_model()


def test_recovers_an_off_grid_motion_on_the_face(face):
    # motion 9 px at 35 degrees: off the set's grid (10-degree steps), the nearest PSF is 12 frame px at 40
    k = cd.resolve_kernel("motion:length=9,angle=35")
    y = degrade(face, k, rng=5)
    out = cd.deblur(y, "nishiyama2010", kernel_size=15, face_box="whole")
    assert out.info["psf"]["family"] == "motion"
    assert kernel_similarity(k, out.kernel) > 0.93  # measured 0.935
    assert out.info["iterations"] == 1 and len(out.info["candidates"]) == 5


@pytest.mark.parametrize("spec, frame_params", [("motion:length=9,angle=30", [12.0, 30.0]),
                                                ("motion:length=6,angle=100", [8.0, 100.0]),
                                                ("disk:radius=3", [4.0, 0.0])])
def test_a_psf_of_the_set_is_inferred_as_itself(face, spec, frame_params):
    # the 96 px face is 0.75 image px per frame px: 12 frame px = 9 px, 8 = 6, radius 4 = 3
    k = cd.resolve_kernel(spec)
    y = degrade(face, k, rng=5)
    out = cd.deblur(y, "nishiyama2010", kernel_size=15, face_box="whole")
    assert out.info["psf"]["family"] == spec.split(":")[0]
    assert out.info["psf"]["frame_params"] == frame_params
    assert kernel_similarity(k, out.kernel) > 0.999  # measured 1.0 (the same generator call)
    res = [c["residual"] for c in out.info["candidates"]]
    assert res == sorted(res)


def test_refinement_iterations_are_reported(face):
    y = degrade(face, cd.resolve_kernel("motion:length=9,angle=35"), rng=5)
    out = cd.deblur(y, "nishiyama2010", kernel_size=15, face_box="whole", iterations=4)
    assert out.info["iterations"] == 5 and [h["iteration"] for h in out.info["history"]] == list(range(5))
    data = [h["data"] for h in out.info["history"]]
    assert all(b <= a for a, b in zip(data, data[1:]))  # the pattern search never increases the residual


@pytest.mark.parametrize("params, match", [({"families": ("bogus",)}, "families"), ({"families": ()}, "families"),
                                           ({"report": 0}, "report"), ({"iterations": -1}, "iterations"),
                                           ({"iterations": 1.5}, "iterations"), ({"model": {"frame": 1}}, "lacks")])
def test_invalid_parameters(face, params, match):
    with pytest.raises(ValueError, match=match):
        cd.deblur(face, "nishiyama2010", kernel_size=9, face_box="whole", **params)


def test_families_restrict_the_set(face):
    y = degrade(face, cd.resolve_kernel("motion:length=9,angle=30"), rng=5)
    out = cd.deblur(y, "nishiyama2010", kernel_size=15, face_box="whole", families=("disk", "gaussian"))
    assert out.info["psf"]["family"] in ("disk", "gaussian")
    assert all(c["family"] in ("disk", "gaussian") for c in out.info["candidates"])


def test_colour_in_colour_out(face_rgb):
    k = cd.resolve_kernel("motion:length=5,angle=30")
    y = np.clip(np.dstack([degrade(face_rgb[..., c], k, noise=None, rng=0) for c in range(3)]), 0, 1)
    out = cd.deblur(y, "nishiyama2010", kernel_size=9, face_box="whole")
    gray = cd.deblur(y.mean(axis=2), "nishiyama2010", kernel_size=9, face_box="whole")
    assert out.image.shape == y.shape and np.isfinite(out.image).all()
    assert out.kernel.shape == (9, 9) and np.isclose(out.kernel.sum(), 1)
    assert gray.image.shape == y.shape[:2]


def test_registered():
    meta = registry().meta("nishiyama2010")
    assert meta["face"] and "nishiyama2010" in registry().names()


def test_runs_on_xp(xp, face):
    y = degrade(face, cd.resolve_kernel("disk:radius=3"), rng=5)
    ref = cd.deblur(y, "nishiyama2010", kernel_size=11, face_box="whole")
    out = cd.deblur(xp.asarray(y), "nishiyama2010", kernel_size=11, face_box="whole")
    np.testing.assert_allclose(to_numpy(out.image), ref.image, atol=1e-6)
    np.testing.assert_array_equal(to_numpy(out.kernel), ref.kernel)


def test_standin_bit_for_bit_and_constant_transfers(face):
    y = degrade(face, cd.resolve_kernel("motion:length=9,angle=30"), rng=5)
    ref = cd.deblur(y, "nishiyama2010", kernel_size=11, face_box="whole", iterations=2, engine="numpy")
    with cs.installed() as xp:
        x = xp.asarray(y)
        gradients._otf_cached.cache_clear()  # the package's device caches emptied first (as the contract test)
        cs.COUNTS.reset()
        out = cd.deblur(x, "nishiyama2010", kernel_size=11, face_box="whole", iterations=2, engine="numpy")
        c2 = cs.COUNTS.snapshot()
        gradients._otf_cached.cache_clear()
        cs.COUNTS.reset()
        cd.deblur(x, "nishiyama2010", kernel_size=11, face_box="whole", iterations=8, engine="numpy")
        c8 = cs.COUNTS.snapshot()
        assert type(out.image) is cs.ndarray
        np.testing.assert_array_equal(out.image.get(), ref.image)
        np.testing.assert_array_equal(out.kernel, ref.kernel)
        assert c8["transfers"] == c2["transfers"]

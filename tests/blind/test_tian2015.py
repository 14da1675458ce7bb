"""Tian & Tao 2015 coupled learning: bases, joint fit, contract of the registered method."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from classicdeblur.blind import tian2015 as T


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    faces = np.stack([ndimage.gaussian_filter(rng.random((128, 128)), 3) for _ in range(30)])
    faces = (faces - faces.min()) / (faces.max() - faces.min())
    return T.learn_model(SimpleNamespace(faces=faces.astype(np.float32), resolution=128),
                         face_components=10, psf_components=40)


def test_learn_model_shapes_and_orthonormal_bases(model):
    assert model["face_mean"].shape == (T.BASIS_SIZE, T.BASIS_SIZE)
    assert model["face_basis"].shape == (10, T.BASIS_SIZE, T.BASIS_SIZE)
    assert model["psf_basis"].shape == (40, T.PSF_SIZE, T.PSF_SIZE)
    assert model["face_basis"].dtype == np.float32 and model["psf_basis"].dtype == np.float32
    for basis in (model["face_basis"], model["psf_basis"]):
        B = basis.reshape(len(basis), -1).astype(np.float64)
        np.testing.assert_allclose(B @ B.T, np.eye(len(B)), atol=1e-4)
    assert model["niqe_mu"].shape == (36,) and model["niqe_cov"].shape == (36, 36)
    assert sum(v.nbytes for v in model.values()) < 3e6


def test_psf_bank_leaves_out_the_benchmark_kernels():
    from classicdeblur.psf.bank import load_kernel
    bank = T.psf_bank()
    levin = T._pad_center(load_kernel("levin:1"), T.PSF_SIZE)
    assert not any(np.allclose(k, levin) for k in bank)


def test_joint_fit_recovers_a_kernel_in_the_psf_span(model):
    rng = np.random.default_rng(1)
    a = rng.normal(size=10) * model["face_std"][:10]
    x = model["face_mean"] + np.tensordot(a, model["face_basis"], axes=1)
    ks = 7
    P = T._orthonormal(T._resample_linear(model["psf_basis"].astype(np.float64), ks, T.BASIS_SIZE / T.REFERENCE_FRAME))
    k = np.zeros((ks, ks))
    k[3, 1:6] = 0.2
    k[2, 5] = 0.1
    ktrue = np.tensordot(P.reshape(len(P), -1) @ k.ravel(), P, axes=1)
    ktrue /= ktrue.sum()
    y = ndimage.convolve(x.astype(np.float64), ktrue, mode="wrap")
    est, face, hist = T.coupled_fit(y, model, kernel_size=ks, face_components=10, iterations=30,
                                    face_weight=1e-4, psf_weight=1e-6)
    cos = float((est * ktrue).sum() / np.linalg.norm(est) / np.linalg.norm(ktrue))
    assert cos > 0.99  # measured 0.9987
    assert hist[-1] < 1e-2 * hist[0]
    assert np.abs(face - x).max() < 0.01  # measured 4e-4


def _blurred(face):
    from classicdeblur.degrade import degrade
    k = np.zeros((7, 7))
    k[3, 1:6] = 0.2
    return degrade(face, k, rng=0)


def test_method_contract_and_determinism(face, model):
    y = _blurred(face)
    out1, k1, info = T.tian2015(y, kernel_size=7, model=model, face_components=(4, 10), refine=2, use_faces=False)
    out2, k2, _ = T.tian2015(y, kernel_size=7, model=model, face_components=(4, 10), refine=2, use_faces=False)
    assert out1.shape == y.shape and k1.shape == (7, 7)
    assert k1.min() >= 0 and k1.sum() == pytest.approx(1.0)
    assert np.array_equal(out1, out2) and np.array_equal(k1, k2)
    assert len(info["candidates"]) == 4 and info["selected"] in [c["name"] for c in info["candidates"]]
    assert all(np.isfinite(c["niqe"]) for c in info["candidates"])


def test_colour_in_colour_out(face_rgb, model):
    from classicdeblur.degrade import degrade
    y = degrade(face_rgb, np.full((1, 5), 0.2), rng=0)
    out, k, _ = T.tian2015(y, kernel_size=5, model=model, face_components=4, refine=1, use_faces=False)
    assert out.shape == face_rgb.shape and k.shape == (5, 5)


@pytest.mark.parametrize("bad", [{"face_components": 0}, {"face_components": ()}, {"iterations": 0},
                                 {"face_weight": -1}, {"refine": -1}, {"final": "nope"}, {"kernel_size": 6},
                                 {"final_params": {"bogus": 1}}, {"face_box": (0, 0, 0, 5)},
                                 {"face_box": (500, 500, 10, 10)}])
def test_invalid_parameters(face, model, bad):
    with pytest.raises(ValueError):
        T.tian2015(face, model=model, use_faces=False, **{"kernel_size": 7, **bad})


def test_incomplete_model(face):
    with pytest.raises(ValueError, match="learn_model"):
        T.tian2015(face, kernel_size=7, model={"face_mean": np.zeros((64, 64))}, use_faces=False)


def test_final_restores_the_target_with_the_selected_kernel(face, model):
    from classicdeblur.solvers.nonblind import deconvolve

    y = _blurred(face)
    photo = np.pad(y, 10, mode="edge")
    out, k, info = T.tian2015(y, kernel_size=7, model=model, face_components=4, refine=0, use_faces=False,
                              target=photo, final="wiener", final_params={"nsr": 1e-2})
    assert out.shape == photo.shape and info["kernel_size"] == 7
    np.testing.assert_array_equal(out, deconvolve(photo, k, method="wiener", nsr=1e-2))


def test_old_final_method_still_works_with_a_deprecation_warning(face, model):
    from classicdeblur.solvers.nonblind import deconvolve

    y = _blurred(face)
    with pytest.warns(DeprecationWarning, match="final_method"):
        out, k, _ = T.tian2015(y, kernel_size=7, model=model, face_components=4, refine=0, use_faces=False,
                               final_method="wiener")
    np.testing.assert_array_equal(out, deconvolve(y, k, method="wiener"))


def test_face_box_frames_the_coupled_fit(face, model):
    y = _blurred(face)
    common = dict(kernel_size=7, model=model, face_components=4, refine=0)
    _, _, info = T.tian2015(y, face_box=(12, 14, 72, 72), **common)
    assert info["framing"] == "face box"
    _, _, info = T.tian2015(y, face_box="whole", **common)
    assert info["framing"] == "default frame"


def test_registered_with_its_learner():
    from classicdeblur.blind import BLIND

    meta = BLIND.meta("tian2015")
    assert meta["face"] and meta["learn"] is T.learn_model


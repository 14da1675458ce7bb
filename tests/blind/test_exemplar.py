"""Pan et al. 2014 exemplar method: matching, kernel estimation, whole photos, errors."""

import cv2
import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.blind.exemplar import exemplar
from classicdeblur.degrade import degrade
from classicdeblur.errors import NoFaceError
from classicdeblur.faces.exemplars import load_database
from classicdeblur.faces.matching import exemplar_to_image, match_exemplars
from classicdeblur.metrics import kernel_similarity, shift_psnr


@pytest.fixture(scope="module")
def db():
    return load_database()


def _placed(db, index, *, size=192, scale=1.3, angle=4.0, shift=(6, -4)):
    """Exemplar ``index`` warped into a ``size`` image: the matrix and the image."""
    S = db.resolution
    a = np.deg2rad(angle)
    m = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    t = np.array([(size - 1) / 2 + shift[0], (size - 1) / 2 + shift[1]]) - m @ [(S - 1) / 2, (S - 1) / 2]
    matrix = np.hstack([m, t[:, None]])
    img = cv2.warpAffine(np.asarray(db.faces[index]), matrix, (size, size), flags=cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REFLECT)
    return matrix, np.clip(img, 0, 1).astype(np.float64)


@pytest.mark.parametrize("index", [5, 200])
def test_matching_finds_a_blurred_exemplar(db, index):
    matrix, sharp = _placed(db, index)
    blurred = degrade(sharp, cd.resolve_kernel("levin:3"), rng=0)
    m = match_exemplars(blurred, db)
    assert m.index == index
    # the exemplar's landmarks land within 3 px of where they were put (measured: about 1 px)
    _, lm = exemplar_to_image(m, db, blurred.shape)
    truth = db.landmarks[index] @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(lm - truth).max() < 3.0
    assert m.candidates[0] == (m.index, m.score)


def test_exemplar_kernel_on_a_synthetic_face(db):
    """Eq. 7 on the matched exemplar recovers the kernel of a blurred copy of that exemplar."""
    _, sharp = _placed(db, 17, size=160, scale=1.1, angle=0.0, shift=(0, 0))
    k = cd.resolve_kernel("motion:length=9,angle=30")
    blurred = degrade(sharp, k, rng=1)
    out, kest, info = exemplar(blurred, kernel_size=11, exemplars=db, iterations=4, levels=1)
    assert info["exemplar"]["index"] == 17
    # measured: 0.868 for the Eq. 7 kernel on the exemplar's widened structures (the match is
    # 1.0 px off on average, 1.7 px at most)
    assert kernel_similarity(info["initial_kernel"], k) > 0.85
    # and after the alternation at the paper's single scale: 0.744, 30.91 dB against 29.14 blurred
    assert kernel_similarity(kest, k) > 0.7
    assert shift_psnr(sharp, out, max_shift=5).value > shift_psnr(sharp, blurred, max_shift=5).value + 1.5


def test_deterministic_and_colour(db):
    _, sharp = _placed(db, 3, size=128, scale=0.9)
    rgb = np.stack([sharp, sharp * 0.9, sharp * 0.8], axis=-1)
    y = degrade(rgb, cd.resolve_kernel("motion:length=7,angle=0"), rng=2)
    a = cd.deblur(y, "exemplar", kernel_size=9, rng=0, iterations=2, exemplars=db)
    b = cd.deblur(y, "exemplar", kernel_size=9, rng=0, iterations=2, exemplars=db)
    assert a.image.shape == rgb.shape
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.kernel, b.kernel)


def test_whole_photo_keeps_its_size_and_uses_the_face(db):
    _, face = _placed(db, 40, size=128, scale=0.9)
    photo = np.full((300, 400), 0.45)
    photo[60:188, 150:278] = face
    photo[10:30, 10:120] = 0.9  # a bright bar far from the face
    k = cd.resolve_kernel("motion:length=7,angle=45")
    y = degrade(photo, k, rng=3)
    res = cd.deblur(y, "exemplar", kernel_size=9, iterations=3, exemplars=db, face_box=(170, 80, 90, 100))
    assert res.image.shape == photo.shape
    top, bottom, left, right = res.info["face_region"]
    assert left > 50 and bottom - top < 300  # the kernel came from a crop around the face
    assert res.info["face_source"] == "box"
    assert kernel_similarity(res.kernel, k) > 0.6


def test_no_face_is_a_clear_error_when_a_face_is_required(db):
    flat_noise = 0.5 + 0.05 * np.random.default_rng(0).standard_normal((120, 140))
    with pytest.raises(NoFaceError, match="--face-box"):
        cd.deblur(flat_noise, "exemplar", exemplars=db, require_face=True)


@pytest.mark.parametrize("bad", [{"iterations": 0}, {"gamma": -1.0}, {"tolerance": -2.0}, {"levels": 0},
                                 {"edges": "canny"}, {"smoothing": 0.0}])
def test_invalid_parameters(db, bad):
    with pytest.raises(ValueError):
        exemplar(np.full((64, 64), 0.5), exemplars=db, **bad)


def test_cli_face_box_and_no_face(tmp_path, db):
    from classicdeblur.cli import main
    from classicdeblur.io import write_image

    _, face = _placed(db, 9, size=128, scale=0.9)
    src = tmp_path / "in.png"
    write_image(src, degrade(face, cd.resolve_kernel("motion:length=5,angle=0"), rng=0))
    before = src.read_bytes()
    out = tmp_path / "out.png"
    assert main(["run", "-q", "--method", "exemplar", str(src), "-o", str(out), "--kernel-size", "7",
                 "--face-box", "20,20,90,95", "-p", "iterations=2"]) == 0
    assert out.exists() and src.read_bytes() == before
    noface = tmp_path / "noise.png"
    write_image(noface, 0.5 + 0.05 * np.random.default_rng(1).standard_normal((80, 80)))
    assert main(["run", "-q", "--method", "exemplar", str(noface), "-o", str(tmp_path / "o2.png"),
                 "--require-face"]) != 0
    assert not (tmp_path / "o2.png").exists()


def test_l0_edges_are_a_different_valid_estimate(db):
    _, sharp = _placed(db, 3, size=128, scale=0.9)
    y = degrade(sharp, cd.resolve_kernel("motion:length=7,angle=0"), rng=2)
    a = exemplar(y, kernel_size=9, exemplars=db, iterations=2)
    b = exemplar(y, kernel_size=9, exemplars=db, iterations=2, edges="l0")
    assert b[1].shape == (9, 9) and np.isclose(b[1].sum(), 1) and b[1].min() >= 0 and np.isfinite(b[0]).all()
    assert not np.array_equal(a[1], b[1])


def test_final_step_defaults_to_cho_and_lee(db, monkeypatch):
    from classicdeblur.blind import exemplar as module
    from classicdeblur.blind.cho2009 import FINAL_PARAMS
    from classicdeblur.blind.method import FinalStep

    seen = []
    monkeypatch.setattr(module, "run_blind", lambda image, est, options, **kw: seen.append(options.final) or (
        image, None, {}))
    _, sharp = _placed(db, 3, size=128, scale=0.9)
    exemplar(sharp, exemplars=db)
    exemplar(sharp, exemplars=db, final="wiener")
    assert seen == [FinalStep("hyper_laplacian", FINAL_PARAMS), FinalStep("wiener", {})]

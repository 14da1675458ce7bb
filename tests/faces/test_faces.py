"""Face tools: structure masks, alignment, detection, landmarks, locating, missing extra."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from classicdeblur.errors import (
    FacesUnavailableError,
    InvalidParameterError,
    NoFaceError,
)
from classicdeblur.faces import align, detect, locate, models, structure
from classicdeblur.faces.align import (
    align_face,
    alignment_matrix,
    anchor_points,
    framed_landmarks,
    invert_matrix,
    similarity_matrix,
    template_landmarks,
    template_points,
    transform_points,
    unalign,
)
from classicdeblur.faces.structure import PARTS, part_polylines, structure_mask

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def astronaut():
    from classicdeblur.io import read_image

    return read_image(DATA / "astronaut_sharp.png").image


def _similar(points, angle_deg, scale, shift):
    t = np.deg2rad(angle_deg)
    r = scale * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return points @ r.T + np.asarray(shift, float)


def _seg_dist(p, a, b):
    """Distance of points p (K, 2) to segment ab."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(ab @ ab, 1e-12), 0, 1)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def _segments(landmarks, parts):
    segs = []
    for pts, closed in part_polylines(landmarks, parts):
        seq = np.vstack([pts, pts[:1]]) if closed else pts
        segs += list(zip(seq[:-1], seq[1:]))
    return segs


# ----------------------------------------------------------------------------- structure


@pytest.mark.parametrize("parts", [("outline", "eyes", "mouth"), "all", ("nose",), "left_brow"])
def test_structure_mask_follows_polylines(parts):
    pts = _similar(template_landmarks(100), 7, 1.3, (10, 5))
    mask = structure_mask(pts, (150, 160), parts=parts)
    assert mask.shape == (150, 160) and mask.dtype == bool
    segs = _segments(pts, parts)
    yx = np.argwhere(mask)
    on = np.c_[yx[:, 1], yx[:, 0]].astype(float)
    dist = np.min([_seg_dist(on, a, b) for a, b in segs], axis=0)
    assert dist.max() <= 1.0  # no mask pixel far from a polyline
    for a, b in segs:  # every polyline point lies on (or next to) a mask pixel
        t = np.linspace(0, 1, 25)[:, None]
        samples = np.rint(a + t * (b - a)).astype(int)
        for x, y in samples:
            assert mask[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2].any()


def test_structure_mask_closed_and_open_parts():
    pts = template_landmarks(128)
    outline = structure_mask(pts, (128, 128), parts="outline")
    chord = np.rint((pts[0] + pts[16]) / 2).astype(int)  # open: no segment from 16 back to 0
    assert not outline[chord[1] - 2:chord[1] + 3, chord[0] - 2:chord[0] + 3].any()
    eye = structure_mask(pts, (128, 128), parts="left_eye")
    mid = np.rint((pts[41] + pts[36]) / 2).astype(int)  # closed: segment 41 -> 36 drawn
    assert eye[mid[1] - 1:mid[1] + 2, mid[0] - 1:mid[0] + 2].any()
    assert PARTS["left_eye"][0][1] and not PARTS["outline"][0][1]
    both = structure_mask(pts, (128, 128), parts="eyes")
    right = structure_mask(pts, (128, 128), parts="right_eye")
    assert np.array_equal(both, eye | right)


def test_structure_mask_width_and_errors():
    pts = template_landmarks(128)
    thin = structure_mask(pts, (128, 128))
    thick = structure_mask(pts, (128, 128), width=3)
    assert (thick | thin).sum() == thick.sum()  # thick covers thin
    assert 2.0 < thick.sum() / thin.sum() < 6.0
    outside = structure_mask(pts + 1000, (128, 128))
    assert not outside.any()
    with pytest.raises(InvalidParameterError, match="choose from: outline"):
        structure_mask(pts, (128, 128), parts=("ears",))
    with pytest.raises(ValueError, match="68, 2"):
        structure_mask(pts[:10], (128, 128))


# ----------------------------------------------------------------------------- alignment


def test_alignment_maps_points_to_template():
    base = template_landmarks(128)
    photo = _similar(base, -12, 2.5, (40, 70))
    m = alignment_matrix(photo, 128)
    assert np.allclose(transform_points(photo, m), base, atol=0.05)  # MEAN_SHAPE is rounded
    assert np.allclose(transform_points(transform_points(photo, m), invert_matrix(m)), photo)
    assert np.abs(anchor_points(transform_points(photo, m)) - template_points(128)).max() < 1.0
    # the same template at another size: a scaled copy
    assert np.allclose(template_points(64) + 0.5, (template_points(128) + 0.5) / 2)
    with pytest.raises(ValueError, match="degenerate"):
        similarity_matrix(np.zeros((5, 2)), template_points())


def test_mean_shape_fits_in_the_crop():
    pts = template_landmarks(128)
    assert pts.min() > 0.08 * 128 and pts.max() < 0.92 * 128
    framed = framed_landmarks((256, 256))
    assert 0.4 * 256 < framed[36:48, 1].mean() < 0.6 * 256


def test_align_unalign_round_trip():
    rng = np.random.default_rng(0)
    img = gaussian_filter(rng.random((230, 210)), 4)
    img = (img - img.min()) / (img.max() - img.min())
    photo_pts = _similar(template_landmarks(128), 8, 1.2, (20, 15))
    crop, m = align_face(img, photo_pts, 128)
    assert crop.shape == (128, 128)
    # the crop samples the photo where the template says
    y, x = 64, 64
    px, py = transform_points([[x, y]], invert_matrix(m))[0]
    assert abs(crop[y, x] - img[int(round(py)), int(round(px))]) < 0.02
    back, w = unalign(crop, m, img.shape)
    assert back.shape == img.shape and w.shape == img.shape
    inside = w >= 0.999
    assert inside.sum() > 0.5 * (128 * 1.2) ** 2 / 1.2**2
    assert np.abs(back - img)[inside].max() < 0.02
    assert w.min() == 0.0 and (w[~inside] < 1).all()
    rgb = np.dstack([img, img * 0.5, 1 - img])
    crop3, _ = align_face(rgb, photo_pts, 64)
    back3, w3 = unalign(crop3, alignment_matrix(photo_pts, 64), rgb.shape)
    assert crop3.shape == (64, 64, 3) and back3.shape == rgb.shape and w3.shape == rgb.shape[:2]


def test_align_shrinks_large_faces_without_aliasing():
    img = np.zeros((700, 700))
    img[::2] = 1.0  # 1-pixel stripes: aliasing would show up as strong patterns
    pts = _similar(template_landmarks(128), 0, 4.0, (50, 60))
    crop, _ = align_face(img, pts, 128)
    assert abs(crop.mean() - 0.5) < 0.02 and crop.std() < 0.05


# ----------------------------------------------------------------------------- detection


def test_detect_astronaut(astronaut):
    faces = detect.detect_faces(astronaut)
    assert len(faces) == 1
    f = faces[0]
    x, y, w, h = f.box
    assert 20 < x < 60 and 30 < y < 70 and 60 < w < 100 and 60 < h < 100 and f.score > 0.5
    left, right = f.eyes
    assert 50 < left[0] < 68 and 55 < left[1] < 75
    assert 85 < right[0] < 102 and 55 < right[1] < 75
    mouth = f.landmarks[48:60].mean(0)
    assert mouth[1] > left[1] + 20 and left[0] < mouth[0] < right[0]
    assert f.landmarks[8, 1] > mouth[1]  # chin below the mouth
    gray = astronaut.mean(2)
    g = detect.detect_faces(gray)
    assert len(g) == 1 and np.abs(g[0].landmarks - f.landmarks).max() < 6


def test_landmarks_on_a_given_box(astronaut):
    f = detect.detect_faces(astronaut)[0]
    pts = detect.face_landmarks(astronaut, f.box)
    assert np.abs(pts - f.landmarks).max() <= 2
    loc = locate.locate_face(astronaut, face_box=",".join(map(str, f.box)))
    assert loc.box == f.box and np.isnan(loc.score) and np.abs(loc.landmarks - pts).max() == 0
    with pytest.raises(InvalidParameterError, match="outside"):
        locate.locate_face(astronaut, face_box=(500, 500, 10, 10))
    with pytest.raises(InvalidParameterError, match="x,y,w,h"):
        locate.locate_face(astronaut, face_box=(1, 2, 3))


def test_embedding_identity(astronaut):
    f = detect.detect_faces(astronaut)[0]
    e = detect.face_embedding(astronaut, f.landmarks)
    assert e.shape == (128,) and np.isfinite(e).all()
    flipped = astronaut[:, ::-1]
    ef = detect.face_embedding(flipped, detect.detect_faces(flipped)[0].landmarks)
    assert detect.identity_distance(e, ef) < 0.6
    eg = detect.face_embedding(astronaut.mean(2), f.landmarks)  # gray -> RGB
    assert detect.identity_distance(e, eg) < 0.6


def test_no_face():
    rng = np.random.default_rng(3)
    for img in (np.full((120, 100), 0.4), rng.random((120, 100)), np.zeros((40, 40, 3))):
        assert detect.detect_faces(img) == []
        assert locate.locate_face(img) is None
    with pytest.raises(NoFaceError, match="--face-box x,y,w,h"):
        locate.locate_face(np.full((50, 50), 0.5), required=True)


def test_default_face_is_framed():
    f = locate.default_face((256, 256))
    assert f.landmarks.shape == (68, 2) and np.isnan(f.score)
    x, y, w, h = f.box
    assert 0 <= x and 0 <= y and x + w <= 256 and y + h <= 256 and w > 100


def test_missing_extra(monkeypatch):
    real = importlib.util.find_spec

    def fake(name, *a, **k):
        return None if name == "face_recognition_models" else real(name, *a, **k)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    hint = r"face tools need the 'faces' extra: pip install 'classicdeblur\[faces\]'"
    with pytest.raises(FacesUnavailableError, match=hint):
        models.model_path("landmarks68")
    with pytest.raises(FacesUnavailableError, match="'faces' extra"):
        detect.detect_faces(np.full((40, 40), 0.5))
    assert models.faces_available() is False
    with pytest.raises(ValueError, match="choose from: landmarks68"):
        models.model_path("eyes")


def test_import_is_lazy():
    code = ("import sys, classicdeblur, classicdeblur.faces as f; f.CANONICAL_SIZE; "
            "print('dlib' in sys.modules, 'cv2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_module_attributes():
    import classicdeblur.faces as cf

    assert cf.CANONICAL_SIZE == align.CANONICAL_SIZE == 128
    assert cf.structure_mask is structure.structure_mask and cf.Face is detect.Face
    with pytest.raises(AttributeError):
        cf.nope  # noqa: B018


# ----------------------------------------------------------------------------- blur-robust detection (issue 14)


@pytest.fixture(scope="module")
def blurred_astronaut(astronaut):
    """The astronaut under a 21-pixel horizontal streak: HOG misses the face, the CNN finds it."""
    from classicdeblur.degrade import degrade
    from classicdeblur.psf.generators import motion

    return degrade(astronaut, motion(21, 0), rng=0)


def test_cnn_detector_finds_the_sharp_face_like_hog(astronaut):
    hog = detect.detect_faces(astronaut)[0]
    cnn = detect.detect_faces(astronaut, upsample=0, detector="cnn")
    assert len(cnn) == 1 and cnn[0].detector == "cnn" and cnn[0].score > 0
    # the CNN box is reframed like a HOG box, so the landmarks agree
    assert _iou(cnn[0].box, hog.box) > 0.6
    assert np.abs(cnn[0].eyes - hog.eyes).max() < 6
    with pytest.raises(InvalidParameterError, match="choose from: hog, cnn"):
        detect.detect_faces(astronaut, detector="mmod")


def test_find_faces_falls_back_to_the_cnn_on_blur(astronaut, blurred_astronaut):
    assert detect.detect_faces(blurred_astronaut, upsample=1) == []
    assert detect.detect_faces(blurred_astronaut, upsample=2) == []
    faces, attempts = detect.find_faces(blurred_astronaut)
    assert [f.detector for f in faces] == ["cnn"]
    assert [(a["detector"], a.get("upsample", a.get("side"))) for a in attempts] == [("hog", 1), ("hog", 2),
                                                                                    ("cnn", 160)]
    assert all(a["seconds"] >= 0 for a in attempts) and attempts[-1]["found"] == 1
    assert _iou(faces[0].box, detect.detect_faces(astronaut)[0].box) > 0.5
    none, tried = detect.find_faces(np.full((60, 80), 0.5))
    assert none == [] and [a.get("side") for a in tried if a["detector"] == "cnn"] == detect.cnn_sides((60, 80))
    assert detect.find_faces(np.full((60, 80), 0.5), cnn=False)[1][-1]["detector"] == "hog"


def test_cnn_model_file_is_found_without_importing_the_package():
    assert models.model_path("detector_cnn").name == "mmod_human_face_detector.dat"
    assert models.cnn_detector() is models.cnn_detector()
    assert "face_recognition_models" not in sys.modules


def _iou(a, b):
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)

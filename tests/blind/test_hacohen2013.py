"""HaCohen et al. 2013 deblurring by example with a sharp reference photo (classicdeblur.blind.hacohen2013)."""

import numpy as np
import pytest

import classicdeblur as cd
import cupy_standin as cs
from classicdeblur import metrics
from classicdeblur.blind.hacohen2013 import align_reference, correspond, hacohen2013
from classicdeblur.cli import main
from classicdeblur.degrade import degrade
from classicdeblur.errors import InvalidParameterError, NoFaceError
from classicdeblur.io import read_image, write_image


@pytest.fixture(scope="module")
def reference():
    """The test face's photo, framed wider, at another size and a little darker and flatter."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    return resize(rgb2gray(data.astronaut())[0:260, 100:380] * 0.85 + 0.08, (120, 130), anti_aliasing=True)


@pytest.fixture(scope="module")
def blurred_face(face):
    k = cd.resolve_kernel("motion:length=9,angle=35")
    return degrade(face, k, rng=0), k


@pytest.fixture(scope="module")
def run(blurred_face, reference):
    y, _ = blurred_face
    return hacohen2013(y, kernel_size=11, reference=reference)


def test_recovers_motion_kernel(face, blurred_face, run):
    y, k = blurred_face
    out, kernel, info = run
    assert out.shape == face.shape and kernel.shape == (11, 11)
    assert float(kernel.min()) >= 0 and np.isclose(float(kernel.sum()), 1.0)
    # measured: kernel similarity 0.829, PSNR 25.60 dB (blurred 22.48 dB); 90% of the reference matched
    assert metrics.kernel_similarity(kernel, k) > 0.81
    assert metrics.psnr(face, out) > metrics.psnr(face, y) + 2.5
    assert info["matched_fraction"] > 0.8 and info["reference_prior"] == "used"
    assert info["landmarks_source"] == "hog" and len(info["matched_levels"]) == len(info["levels"])


def test_cho_and_lee_base_recovers_the_kernel_too(face, blurred_face, reference):
    y, k = blurred_face
    _, kernel, _ = hacohen2013(y, kernel_size=11, reference=reference, base="cho2009", iterations=7)
    # measured: kernel similarity 0.920
    assert metrics.kernel_similarity(kernel, k) > 0.9


def test_alignment_maps_the_reference_onto_the_face(face, reference):
    from classicdeblur.faces.detect import find_faces

    lf = find_faces(face)[0][0].landmarks
    lr = find_faces(reference)[0][0].landmarks
    aligned, valid, m = align_reference(reference.astype(np.float32), lr, lf, face.shape)
    # the similarity shrinks the reference (the face is larger in the 96 px crop than in the 120 px one)
    assert aligned.shape == face.shape and valid[10:-10, 10:-10].all()
    assert 1.0 < np.hypot(m[0, 0], m[1, 0]) < 2.0
    # aligned, the reference is the test face up to its lighter, flatter tones
    inner = (slice(16, 80), slice(16, 80))
    assert np.corrcoef(aligned[inner].ravel(), face[inner].ravel())[0, 1] > 0.9


def test_correspondence_of_the_true_sharp_image_is_confident(face):
    k = cd.resolve_kernel("motion:length=9,angle=35")
    y = degrade(face, k, noise=None, rng=0)
    m = correspond(face, np.ones(face.shape, np.float32), y, k)
    assert m.matched_fraction(np.ones(face.shape)) > 0.9
    assert np.abs(m.flow[10:-10, 10:-10]).mean() < 0.5


def test_reference_is_required(blurred_face):
    with pytest.raises(InvalidParameterError, match="reference="):
        hacohen2013(blurred_face[0], kernel_size=7)
    with pytest.raises(InvalidParameterError, match="needs reference="):
        cd.deblur(blurred_face[0], "hacohen2013", kernel_size=7)


def test_reference_without_a_face(blurred_face):
    with pytest.raises(NoFaceError, match="reference"):
        hacohen2013(blurred_face[0], kernel_size=7, reference=np.full((64, 64), 0.5))


def test_reference_from_a_file_and_in_colour(tmp_path, face_rgb, reference):
    path = tmp_path / "ref.png"
    write_image(path, np.dstack([reference] * 3), bit_depth=16)
    y = degrade(face_rgb, cd.resolve_kernel("motion:length=5,angle=35"), rng=0)
    res = cd.deblur(y, "hacohen2013", kernel_size=7, reference=str(path), face_box="whole", iterations=2)
    assert res.image.shape == face_rgb.shape and res.kernel.shape == (7, 7)
    assert 0 <= res.image.min() and res.image.max() <= 1 and res.info["reference_prior"] == "used"


def test_whole_photo_target_gets_the_reference_prior():
    """A face in a larger photo: the kernel from the face region, the photo restored with the reference's prior."""
    photo = read_image("tests/data/astronaut_levin3.png").image
    big = np.full((360, 400, 3), 0.5)
    big[180:340, 220:380] = photo
    res = cd.deblur(big, "hacohen2013", reference="tests/data/astronaut_sharp.png", kernel_size=9, iterations=2)
    assert res.image.shape == big.shape and res.info["face_region"] is not None
    # the face was found again in the photo, and the reference aligned to it there
    assert res.info["reference_prior"] == "used" and res.info["matched_fraction"] > 0.3


@pytest.mark.parametrize("bad", [{"flow": "lk"}, {"base": "shan2008"}, {"edges": "l0"}, {"tau": 0},
                                 {"rho": -1}, {"rematch": 0}, {"iterations": 0}])
def test_parameters_are_checked(bad, blurred_face, reference):
    with pytest.raises(ValueError):
        hacohen2013(blurred_face[0], kernel_size=7, reference=reference, **bad)


def test_registered_as_a_face_method_that_needs_a_reference():
    meta = cd.blind.registry().meta("hacohen2013")
    assert meta["face"] and meta["needs"] == ("reference",)


def test_method_on_the_standin_bit_for_bit(blurred_face, reference):
    y = blurred_face[0][8:88, 8:88]
    ref = hacohen2013(y, kernel_size=7, reference=reference, iterations=2, engine="numpy")
    with cs.installed() as xp:
        out = hacohen2013(xp.asarray(y), kernel_size=7, reference=reference, iterations=2, engine="numpy")
        assert type(out[0]) is cs.ndarray
        np.testing.assert_array_equal(out[0].get(), ref[0])
        np.testing.assert_array_equal(cd.backend.to_numpy(out[1]), ref[1])


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def files(tmp_path, blurred_face, reference):
    src = tmp_path / "in.png"
    write_image(src, blurred_face[0])
    ref = tmp_path / "ref.png"
    write_image(ref, reference)
    return src, ref, tmp_path / "out.png"


def _one_line_exit_2(capsys, rc, out):
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: ") and not out.exists()
    assert "Traceback" not in err
    return err


def test_cli_missing_reference_file(files, capsys):
    src, _, out = files
    rc = main(["run", "-m", "hacohen2013", str(src), "-o", str(out), "--reference", str(src.with_name("no.png")),
               "-q"])
    assert "no.png" in _one_line_exit_2(capsys, rc, out)


def test_cli_corrupt_reference_file(files, capsys):
    src, ref, out = files
    ref.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    rc = main(["run", "-m", "hacohen2013", str(src), "-o", str(out), "--reference", str(ref), "-q"])
    _one_line_exit_2(capsys, rc, out)


def test_cli_reference_without_a_face(files, capsys):
    src, ref, out = files
    write_image(ref, np.full((80, 80), 0.4), overwrite=True)
    rc = main(["run", "-m", "hacohen2013", str(src), "-o", str(out), "--reference", str(ref), "-q"])
    assert "no face found in the reference" in _one_line_exit_2(capsys, rc, out)


def test_cli_needs_the_reference_and_refuses_it_elsewhere(files, capsys):
    src, ref, out = files
    rc = main(["run", "-m", "hacohen2013", str(src), "-o", str(out), "-q"])
    assert "--reference" in _one_line_exit_2(capsys, rc, out)
    rc = main(["run", "-m", "xu2010", str(src), "-o", str(out), "--reference", str(ref), "-q"])
    assert "--reference" in _one_line_exit_2(capsys, rc, out)


def test_cli_reference_of_another_size_and_framing(files, capsys):
    src, ref, out = files
    rc = main(["run", "-m", "hacohen2013", str(src), "-o", str(out), "--reference", str(ref), "--kernel-size", "9",
               "--face-box", "whole", "-q"])
    assert rc == 0 and out.exists()
    assert read_image(out).image.shape == read_image(src).image.shape

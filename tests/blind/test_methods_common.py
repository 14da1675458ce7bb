"""Properties every registered blind method must have, checked on each of them."""

import inspect

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.blind import registry
from classicdeblur.cli import main
from classicdeblur.degrade import degrade
from classicdeblur.errors import InvalidKernelError, InvalidParameterError
from classicdeblur.io import read_image, read_kernel, write_image

METHODS = registry().names()
#: Face methods go through the whole-photo path, which needs a face: these test images are face crops.
WHOLE = {m: {"face_box": "whole"} for m in METHODS if registry().meta(m).get("face")}
#: Methods with an alternation whose intermediate images pixel screening acts on (the others refuse it).
SCREENS = {m: registry().meta(m).get("screening", True) for m in METHODS}
#: What a method needs besides the image (registry meta ``needs``): ``reference``, a sharp photo of the same face.
NEEDS = {m: registry().meta(m).get("needs", ()) for m in METHODS}


def needed(method, face):
    """The keywords a method needs (the sharp test face, framed wider, is the reference photo)."""
    return {"reference": face} if "reference" in NEEDS[method] else {}


def test_the_table3_methods_are_registered():
    assert {"shan2008", "krishnan2011", "cho2009", "xu2010"} <= set(METHODS)
    for name in METHODS:
        assert ("pixel_screening" in inspect.signature(cd.blind.BLIND.get(name)).parameters) == SCREENS[name]


@pytest.fixture(scope="module")
def blurred(face):
    return degrade(face[16:80, 16:80], cd.resolve_kernel("motion:length=7,angle=20"), rng=5)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("screening", [False, True])
def test_runs_reproducibly_with_valid_kernel(method, screening, blurred, face):
    if screening and not SCREENS[method]:
        with pytest.raises(InvalidParameterError, match="no parameter 'pixel_screening'"):
            cd.deblur(blurred, method, kernel_size=9, pixel_screening=True, **WHOLE.get(method, {}),
                      **needed(method, face))
        return
    kw = {**WHOLE.get(method, {}), **({"pixel_screening": True} if screening else {}), **needed(method, face)}
    a = cd.deblur(blurred, method, kernel_size=9, rng=1, **kw)
    b = cd.deblur(blurred, method, kernel_size=9, rng=1, **kw)
    assert a.image.shape == blurred.shape and np.isfinite(a.image).all()
    assert 0 <= a.image.min() and a.image.max() <= 1
    k = a.kernel
    assert k.shape == (9, 9) and k.min() >= 0 and np.isclose(k.sum(), 1)
    np.testing.assert_array_equal(a.kernel, b.kernel)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.info["history"] and a.info["iterations"] > 0
    if screening:
        assert "screened_mean" in a.info


@pytest.mark.parametrize("method", METHODS)
def test_awkward_inputs(method, face):
    sharp = face[16:80, 16:80]
    out = cd.deblur(sharp, method, kernel_size=7, **WHOLE.get(method, {}), **needed(method, face))
    assert np.isfinite(out.image).all() and np.isfinite(out.kernel).all()
    flat = cd.deblur(np.full((48, 48), 0.3), method, kernel_size=7, **needed(method, face))
    assert np.allclose(flat.image, 0.3) and flat.kernel[3, 3] == 1
    with pytest.raises(InvalidKernelError, match="larger than the image"):
        cd.deblur(sharp[:20, :20], method, kernel_size=31, **WHOLE.get(method, {}), **needed(method, face))


@pytest.mark.parametrize("method", METHODS)
def test_cli_end_to_end(method, tmp_path, blurred, face, capsys):
    src = tmp_path / "in.png"
    write_image(src, np.dstack([blurred] * 3))
    before = src.read_bytes()
    out, kfile = tmp_path / "out.png", tmp_path / "k.png"
    ref = []
    if "reference" in NEEDS[method]:
        write_image(tmp_path / "ref.png", face)
        ref = ["--reference", str(tmp_path / "ref.png")]
    face = ["--face-box", "whole"] if method in WHOLE else []
    if not SCREENS[method]:
        rc = main(["run", "--method", method, str(src), "-o", str(out), "--pixel-screening", "-q", *face, *ref])
        err = capsys.readouterr().err
        assert rc == 2 and "pixel_screening" in err and len(err.strip().splitlines()) == 1 and not out.exists()
    screen = ["--pixel-screening"] if SCREENS[method] else []
    rc = main(["run", "--method", method, str(src), "-o", str(out), "--kernel-size", "9",
               "--save-kernel", str(kfile), *screen, "-q", *face, *ref])
    assert rc == 0 and src.read_bytes() == before
    img = read_image(out)
    assert img.image.shape == (64, 64, 3) and read_kernel(kfile).shape == (9, 9)
    rc = main(["run", "--method", method, str(src), "-o", str(tmp_path / "o2.png"), "--kernel-size", "8", "-q", *ref])
    assert rc == 2 and "odd" in capsys.readouterr().err

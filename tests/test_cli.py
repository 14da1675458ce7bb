"""The command-line interface end to end, on temporary files."""

import json

import numpy as np
import pytest

from classicdeblur.cli import main
from classicdeblur.io import read_image, write_image
from classicdeblur.metrics import psnr
from classicdeblur.operators import convolve
from classicdeblur.psf.bank import load_kernel


@pytest.fixture
def blurred_png(tmp_path, face):
    k = load_kernel("levin:3")
    path = tmp_path / "blurred.png"
    write_image(path, convolve(face, k))
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_methods_lists_nonblind(capsys):
    code, out, _ = run(capsys, "methods")
    assert code == 0 and "hyper_laplacian" in out and "non-blind" in out
    code, out, _ = run(capsys, "methods", "--json")
    names = {m["name"]: m["kind"] for m in json.loads(out)}
    assert names["wiener"] == "non-blind"


@pytest.mark.parametrize("cmd", ["run", "methods", "blur", "synth", "eval", "kernels"])
def test_help(cmd, capsys):
    code, out, _ = run(capsys, cmd, "--help")
    assert code == 0 and "usage: classicdeblur" in out


def test_run_nonblind_with_named_kernel(capsys, tmp_path, blurred_png, face):
    out = tmp_path / "sharp.png"
    code, stdout, err = run(capsys, "run", blurred_png, "--kernel", "levin:3", "-o", out,
                            "--save-kernel", tmp_path / "k.npy")
    assert code == 0, err
    restored = read_image(out).image
    blurred = read_image(blurred_png).image
    assert restored.shape == face.shape
    assert psnr(face, restored) > psnr(face, blurred) + 3
    np.testing.assert_allclose(np.load(tmp_path / "k.npy"), load_kernel("levin:3"))


def test_run_method_parameters_reach_the_solver(capsys, tmp_path, blurred_png):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert run(capsys, "run", blurred_png, "-k", "levin:3", "-o", a, "-p", "lam=50")[0] == 0
    assert run(capsys, "run", blurred_png, "-k", "levin:3", "-o", b, "-p", "lam=5000")[0] == 0
    assert not np.array_equal(read_image(a).image, read_image(b).image)


def test_run_default_output_and_no_overwrite(capsys, blurred_png):
    code, _, _ = run(capsys, "run", blurred_png, "-k", "levin:3", "-m", "wiener")
    default = blurred_png.with_name("blurred.deblurred.png")
    assert code == 0 and default.exists()
    before = default.read_bytes()
    code, _, err = run(capsys, "run", blurred_png, "-k", "levin:3", "-m", "wiener")
    assert code == 2 and "already exists" in err and default.read_bytes() == before
    assert run(capsys, "run", blurred_png, "-k", "levin:3", "-m", "wiener", "--overwrite", "-q")[0] == 0


def test_never_overwrites_input(capsys, blurred_png):
    before = blurred_png.read_bytes()
    code, _, err = run(capsys, "run", blurred_png, "-k", "levin:3", "-o", blurred_png, "--overwrite")
    assert code == 2 and "input" in err and blurred_png.read_bytes() == before
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "setup, args, message",
    [
        (lambda d: None, ["missing.png", "-k", "levin:3"], "missing.png"),
        (lambda d: (d / "empty.png").write_bytes(b""), ["empty.png", "-k", "levin:3"], "empty"),
        (lambda d: (d / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20), ["junk.png", "-k", "levin:3"], "junk.png"),
        (lambda d: np.save(d / "even.npy", np.ones((4, 4))), ["ok.png", "-k", "even.npy"], "odd"),
        (lambda d: np.save(d / "neg.npy", -np.ones((3, 3))), ["ok.png", "-k", "neg.npy"], "negative"),
        (lambda d: None, ["ok.png", "-k", "nosuch:1"], "nosuch"),
        (lambda d: None, ["ok.png", "-k", "levin:3", "-m", "nosuch"], "choose from"),
        (lambda d: None, ["ok.png", "-k", "levin:3", "-p", "bogus=1"], "bogus"),
        (lambda d: None, ["ok.png", "--kernel-size", "x"], "'auto' or an odd number"),
        (lambda d: None, ["ok.png", "-k", "levin:3", "--kernel-size", "9"], "--kernel-size applies to blind"),
        (lambda d: None, ["ok.png", "-k", "levin:3", "--seed", "1"], "--seed applies to blind"),
        (lambda d: None, ["ok.png", "-k", "levin:3", "--max-pixels", "100"], "limit"),
        (lambda d: None, ["ok.png", "-k", "lai:4"], "smaller than the kernel"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, tmp_path, monkeypatch, face, setup, args, message):
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "ok.png", face[:40, :40])
    setup(tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, "run", *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # nothing written


def test_nan_tiff_rejected(capsys, tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "nan.tif", np.full((32, 32), np.nan, np.float32))
    code, _, err = run(capsys, "run", tmp_path / "nan.tif", "-k", "levin:1", "-o", tmp_path / "o.png")
    assert code == 2 and "NaN" in err


def test_colour_16bit_alpha_round_trip(capsys, tmp_path, face_rgb):
    src = tmp_path / "in.png"
    alpha = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    write_image(src, convolve(face_rgb, load_kernel("levin:1")), alpha=alpha, bit_depth=16)
    out = tmp_path / "out.png"
    assert run(capsys, "run", src, "-k", "levin:1", "-o", out)[0] == 0
    res = read_image(out)
    assert res.image.shape == (64, 64, 3) and res.bit_depth == 16
    np.testing.assert_allclose(res.alpha, alpha, atol=1 / 65535)


def test_blur_then_eval(capsys, tmp_path, face):
    sharp = tmp_path / "sharp.png"
    write_image(sharp, face)
    blurred = tmp_path / "b.png"
    code, _, err = run(capsys, "blur", sharp, "-k", "motion:length=9,angle=30", "-o", blurred, "--seed", "3")
    assert code == 0, err
    again = tmp_path / "b2.png"
    run(capsys, "blur", sharp, "-k", "motion:length=9,angle=30", "-o", again, "--seed", "3")
    assert blurred.read_bytes() == again.read_bytes()  # seeded noise reproduces
    code, out, _ = run(capsys, "eval", sharp, blurred, sharp, "--kernel-size", "9", "--json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["psnr"] < 35 and rows[1]["psnr"] == float("inf")
    code, out, _ = run(capsys, "eval", sharp, blurred, "--true-kernel", "levin:2")
    assert code == 0 and "shift_psnr" in out


def test_synth_reproducible(capsys, tmp_path, face):
    src = tmp_path / "faces"
    src.mkdir()
    for i in range(2):
        write_image(src / f"f{i}.png", np.roll(face, 7 * i, axis=1))
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(capsys, "synth", src, "-o", a, "--recipe", "shen2018", "--seed", "1", "-q")[0] == 0
    assert run(capsys, "synth", src, "-o", b, "--recipe", "shen2018", "--seed", "1", "-q")[0] == 0
    ma = json.loads((a / "manifest.json").read_text())
    mb = json.loads((b / "manifest.json").read_text())
    assert len(ma["items"]) == 2 and ma == mb
    code, _, err = run(capsys, "synth", src, "-o", a, "--recipe", "shen2018")
    assert code == 2 and "not empty" in err
    code, _, err = run(capsys, "synth", src, "-o", tmp_path / "c", "--recipe", "nosuch")
    assert code == 2 and "choose from" in err


def test_kernels_lists_banks(capsys):
    code, out, _ = run(capsys, "kernels", "levin")
    assert code == 0 and len(out.strip().splitlines()) == 8 and "levin:8" in out


def test_blind_without_methods_is_a_clear_error(capsys, tmp_path, face):
    write_image(tmp_path / "x.png", face)
    code, _, err = run(capsys, "run", tmp_path / "x.png", "-m", "nosuch_blind", "--kernel-size", "9")
    assert code == 2 and "choose from" in err


def test_gpu_requested_without_gpu(capsys, tmp_path, monkeypatch, face):
    from classicdeblur import _deps

    monkeypatch.setenv("CLASSICDEBLUR_DISABLE_GPU", "1")
    _deps.cupy_available.cache_clear()
    try:
        write_image(tmp_path / "x.png", face)
        code, _, err = run(capsys, "run", tmp_path / "x.png", "-k", "levin:1", "--device", "gpu",
                           "-o", tmp_path / "y.png")
    finally:
        _deps.cupy_available.cache_clear()
    assert code == 2 and "gpu" in err and not (tmp_path / "y.png").exists()

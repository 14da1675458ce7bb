"""Tests of the shipped kernel banks (repo kernels/ folder) and kernel specs."""

import json
import shutil

import numpy as np
import pytest

from classicdeblur.errors import InvalidKernelError
from classicdeblur.psf import bank
from classicdeblur.psf.generators import boracchi_foi

LEVIN_SHAPES = [19, 17, 15, 27, 13, 21, 23, 23]
LAI_SHAPES = [31, 51, 55, 75]


def test_kernels_dir_env(monkeypatch, tmp_path):
    monkeypatch.delenv(bank.ENV_VAR, raising=False)
    assert (bank.kernels_dir() / "MANIFEST.json").is_file()
    monkeypatch.setenv(bank.ENV_VAR, str(tmp_path))
    assert bank.kernels_dir() == tmp_path
    with pytest.raises(bank.KernelBankError, match="no kernel manifest"):
        bank.list_kernels()


def test_list_kernels():
    names = bank.list_kernels()
    assert names[:8] == [f"levin:{i}" for i in range(1, 9)]
    assert bank.list_kernels("lai") == [f"lai:{i}" for i in range(1, 5)]
    assert len(bank.list_kernels("shen")) == 32 and len(bank.list_kernels("chakrabarti")) == 32
    assert set(bank.list_banks()) == {"levin", "lai", "shen", "chakrabarti"}
    with pytest.raises(ValueError, match="choose from: levin, lai"):
        bank.list_kernels("nope")


@pytest.mark.parametrize("name,side", [(f"levin:{i + 1}", s) for i, s in enumerate(LEVIN_SHAPES)]
                         + [(f"lai:{i + 1}", s) for i, s in enumerate(LAI_SHAPES)])
def test_published_kernels(name, side):
    k = bank.load_kernel(name)
    assert k.shape == (side, side) and k.dtype == np.float64
    assert k.sum() == pytest.approx(1.0) and (k >= 0).all()


def test_every_kernel_valid_and_manifest_complete():
    man = bank.manifest()
    for entry in man["kernels"]:
        k = bank.load_kernel(entry["name"])
        assert k.shape[0] % 2 == 1 and k.shape[1] % 2 == 1
        assert k.sum() == pytest.approx(1.0)
        assert entry["license"] and ("source" in entry or "recipe" in entry)
    sizes = {bank.load_kernel(n).shape[0] for n in bank.list_kernels("shen")}
    assert sizes == set(range(13, 28, 2))


def test_generated_bank_matches_recipe():
    entry = next(e for e in bank.manifest()["kernels"] if e["name"] == "shen:5")
    rec = entry["recipe"]
    k = boracchi_foi(rec["params"]["size"], rng=rec["seed"])
    assert np.allclose(k, bank.load_kernel("shen:5"), atol=1e-12)
    assert np.allclose(bank.kernel_from_spec(rec["spec"]), k, atol=1e-12)


def test_bad_names():
    with pytest.raises(ValueError, match=r"bank 'levin' has levin:1..levin:8"):
        bank.load_kernel("levin:9")
    with pytest.raises(ValueError, match="unknown kernel bank 'foo'.*levin"):
        bank.load_kernel("foo:1")
    with pytest.raises(ValueError, match="look like 'levin:3'"):
        bank.load_kernel("levin")
    with pytest.raises(ValueError, match=r"levin \(levin:1..levin:8\)"):
        bank.load_kernel("levin:x:2")


def _tmp_copy(tmp_path, monkeypatch):
    dst = tmp_path / "kernels"
    shutil.copytree(bank.kernels_dir(), dst)
    monkeypatch.setenv(bank.ENV_VAR, str(dst))
    return dst


def test_tampered_array_fails_sha(tmp_path, monkeypatch):
    dst = _tmp_copy(tmp_path, monkeypatch)
    assert bank.load_kernel("levin:2").shape == (17, 17)  # the copy verifies
    with np.load(dst / "levin.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["2"] = arrays["2"].copy()
    arrays["2"][8, 8] += 1e-9
    np.savez_compressed(dst / "levin.npz", **arrays)
    with pytest.raises(bank.KernelBankError, match="sha256"):
        bank.load_kernel("levin:2")
    assert bank.load_kernel("levin:1").shape == (19, 19)  # untouched kernels still load


def test_tampered_manifest_fails_sha(tmp_path, monkeypatch):
    dst = _tmp_copy(tmp_path, monkeypatch)
    man = json.loads((dst / "MANIFEST.json").read_text())
    man["kernels"][8]["sha256"] = "0" * 64  # lai:1
    (dst / "MANIFEST.json").write_text(json.dumps(man))
    with pytest.raises(bank.KernelBankError, match="'lai:1'.*sha256"):
        bank.load_kernel("lai:1")


def test_kernel_from_spec():
    assert np.array_equal(bank.kernel_from_spec("levin:3"), bank.load_kernel("levin:3"))
    assert bank.kernel_from_spec("motion:length=15,angle=30").shape == (17, 17)
    assert bank.kernel_from_spec("gaussian:sigma=2").shape == (13, 13)
    assert bank.kernel_from_spec("disk:radius=4").shape == (9, 9)
    a = bank.kernel_from_spec("boracchi_foi:size=21,seed=3")
    assert a.shape == (21, 21) and np.array_equal(a, boracchi_foi(21, rng=3))
    assert np.array_equal(bank.kernel_from_spec("boracchi_foi:size=15", rng=5), boracchi_foi(15, rng=5))
    assert bank.kernel_from_spec("chakrabarti:3").shape == (31, 31)  # the bank, not the generator
    assert bank.kernel_from_spec("chakrabarti:size=15,seed=1").shape == (15, 15)
    assert bank.parse_spec("motion:length=15, angle=-30.5") == ("motion", {"length": 15, "angle": -30.5})


@pytest.mark.parametrize("spec,match", [
    ("blob:radius=3", "unknown kernel 'blob:radius=3'.*levin.*motion"),
    ("motion:length", "key=value"),
    ("motion:abc", "key=value"),
    ("motion:length=3,width=2", "no parameter 'width'"),
    ("gaussian", "needs sigma"),
])
def test_kernel_from_spec_errors(spec, match):
    with pytest.raises(InvalidKernelError if "needs" not in match and "parameter" not in match else ValueError,
                       match=match):
        bank.kernel_from_spec(spec)


@pytest.mark.parametrize("spec,match", [
    ("motion:length=100000", "100001x100001 kernel, over the limit of 255x255"),
    ("gaussian:sigma=1e6", "over the limit"),
    ("disk:radius=1e5", "over the limit"),
    ("disk:radius=500", "1001x1001 kernel, over the limit"),
    ("motion:length=15,angle=abc", "angle must be a finite number; got 'abc'"),
    ("gaussian:sigma=inf", "sigma must be a finite number"),
    ("gaussian:sigma=nan", "sigma must be a finite number"),
    ("disk:radius=-2", "radius must be a finite number > 0"),
    ("motion:length=1e300,size=15", "does not fit a 15x15"),
    ("boracchi_foi:size=21,seed=abc", "seed must be a whole number"),
    ("boracchi_foi:size=21,seed=-1", "seed must be a whole number"),
    ("boracchi_foi:size=21.5", "size must be a whole number"),
    ("boracchi_foi:num_samples=1e12", "num_samples must be a whole number in 2..100000"),
    ("disk:radius=3,supersample=1e6", "supersample must be a whole number"),
    ("chakrabarti:size=15,grid=99", "grid must be a whole number in 1..255|grid <= size"),
])
def test_kernel_from_spec_refused_before_allocation(spec, match):
    """Bad or huge recipe parameters are refused with one clear line, fast (no allocation)."""
    import time

    t0 = time.perf_counter()
    with pytest.raises(InvalidKernelError, match=match):
        bank.kernel_from_spec(spec)
    assert time.perf_counter() - t0 < 0.5


def test_tiny_gaussian_is_a_delta():
    k = bank.kernel_from_spec("gaussian:sigma=1e-300")
    assert k.shape == (3, 3) and k[1, 1] == 1.0

"""Tests of the dataset recipes and the reproducible synthesiser."""

import hashlib
import json

import numpy as np
import pytest

from classicdeblur.datasets import RECIPES, list_images, synthesize
from classicdeblur.degrade import degrade, pair_seed
from classicdeblur.errors import OutputExistsError
from classicdeblur.io import read_image, read_kernel, write_image
from classicdeblur.psf.bank import kernel_from_spec


@pytest.fixture
def src(tmp_path):
    """Three tiny sharp images: gray, RGB, and RGBA in a sub-folder."""
    rng = np.random.default_rng(0)
    d = tmp_path / "src"
    (d / "sub").mkdir(parents=True)
    write_image(d / "a.png", rng.random((32, 34)))
    write_image(d / "b.png", rng.random((33, 32, 3)))
    write_image(d / "sub" / "c.png", rng.random((32, 32, 3)), alpha=np.ones((32, 32)))
    (d / "notes.txt").write_text("not an image")
    return d


def _files(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_recipes_registered():
    assert {"shen2018", "mspl", "lin2020", "levin"} <= set(RECIPES.names())
    for name in RECIPES.names():
        assert RECIPES.meta(name)["description"]
    with pytest.raises(ValueError, match="unknown dataset recipe 'x'; choose from"):
        RECIPES.get("x")


def test_synthesize_bit_for_bit(src, tmp_path):
    calls = []
    m1 = synthesize(src, tmp_path / "o1", recipe="shen2018", seed=3, progress=lambda i, n: calls.append((i, n)))
    m2 = synthesize(src, tmp_path / "o2", recipe="shen2018", seed=3)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    f1, f2 = _files(tmp_path / "o1"), _files(tmp_path / "o2")
    assert f1 == f2 and m1 == m2
    assert len(m1["items"]) == 3 and [it["image"] for it in m1["items"]] == ["a.png", "b.png", "sub/c.png"]
    assert {"manifest.json", "sharp/a.png", "blurred/sub__c.png", "kernels/b.npy", "kernels/b.png"} <= set(f1)
    # the manifest's hashes are those of the files
    for it in m1["items"]:
        assert f1[it["blurred"]] == it["sha256"]["blurred"] and f1[it["sharp"]] == it["sha256"]["sharp"]
        assert f1[it["kernel"]["file"]] == it["sha256"]["kernel"]
    assert json.loads((tmp_path / "o1" / "manifest.json").read_text()) == m1
    # a different seed gives a different set
    m3 = synthesize(src, tmp_path / "o3", recipe="shen2018", seed=4)
    assert [it["kernel"]["name"] for it in m3["items"]] != [it["kernel"]["name"] for it in m1["items"]]


def test_synthesize_pairs_are_what_they_claim(src, tmp_path):
    out = tmp_path / "o"
    m = synthesize(src, out, recipe="shen2018")
    for it in m["items"]:
        k = read_kernel(out / it["kernel"]["file"])
        assert 13 <= k.shape[0] <= 27 and k.shape[0] % 2 == 1
        assert np.array_equal(k, kernel_from_spec(it["kernel"]["spec"]))
        x = read_image(out / it["sharp"]).image
        y = read_image(out / it["blurred"]).image
        assert y.shape == x.shape
        expect = degrade(x, k, sigma=0.01, rng=it["noise_seed"])
        assert np.array_equal(y, expect)
        assert it["noise_seed"][0] == pair_seed(it["image"], it["kernel"]["name"])
    assert read_image(out / "sharp" / "sub__c.png").image.shape == (32, 32, 3)  # alpha dropped


def test_subset_reproduces(src, tmp_path):
    full = synthesize(src, tmp_path / "full", recipe="shen2018")
    part = synthesize(src, tmp_path / "part", recipe="shen2018", limit=2)
    assert part["items"] == full["items"][:2]


def test_levin_recipe_gray_cross_product(src, tmp_path):
    m = synthesize(src, tmp_path / "o", recipe="levin", limit=1)
    assert m["gray"] and len(m["items"]) == 8
    names = sorted(p.name for p in (tmp_path / "o" / "blurred").iterdir())
    assert names[0] == "a__levin-1.png" and len(names) == 8
    assert {it["noise_seed"][0] for it in m["items"]} == {pair_seed("a.png", f"levin:{i}") for i in range(1, 9)}


def test_refuses_to_overwrite(src, tmp_path):
    synthesize(src, tmp_path / "o", recipe="shen2018", limit=1)
    with pytest.raises(OutputExistsError):
        synthesize(src, tmp_path / "o", recipe="shen2018", limit=1)
    synthesize(src, tmp_path / "o", recipe="shen2018", limit=1, overwrite=True)


def test_recipe_kernels():
    for name, lo, hi in (("shen2018", 13, 27), ("lin2020", 21, 51), ("mspl", 1, 47)):
        rec = RECIPES.get(name)
        for img in ("x.png", "y.png", "z.png"):
            [(kname, spec, k)] = rec.kernels(img, 0)
            assert lo <= k.shape[0] <= hi and k.shape[0] % 2 == 1 and k.sum() == pytest.approx(1)
            assert [kn for kn, *_ in rec.kernels(img, 0)] == [kname]  # deterministic


def test_list_images_missing(tmp_path):
    with pytest.raises(ValueError, match="not a folder"):
        list_images(tmp_path / "missing")

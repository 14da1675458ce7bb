"""The edge network without torch: shapes, dtype, backend, the shipped weights (golden outputs, sha256 check),
and, when torch is installed, the torch twin of the forward pass."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from classicdeblur.backend import get_namespace, to_numpy
from classicdeblur.errors import ClassicDeblurError
from classicdeblur.learned import models
from classicdeblur.learned.network import DEFAULT_CONFIG, EdgeNet, count_parameters, parameter_shapes

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "edges_golden.npz"
SMALL = {"arch": "unet", "channels": [4, 8, 8], "convs": 2, "sigma_floor": 0.01}


def _random_net(config=SMALL, seed=0):
    rng = np.random.default_rng(seed)
    return EdgeNet({n: 0.2 * rng.standard_normal(s) for n, s in parameter_shapes(config).items()}, config)


def golden_input():
    """A tiny fixed input: a blurred disk plus stream-stable noise (np.random.RandomState)."""
    yy, xx = np.mgrid[:24, :20]
    disk = ((yy - 11.5) ** 2 + (xx - 9) ** 2 < 36).astype(np.float64) * 0.6 + 0.2
    return np.clip(disk + 0.02 * np.random.RandomState(7).standard_normal(disk.shape), 0, 1)


@pytest.mark.parametrize("shape", [(32, 32), (13, 21), (5, 7)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_shape_dtype_and_backend(xp, shape, dtype):
    net = _random_net()
    img = xp.asarray(np.random.default_rng(1).random(shape), dtype=dtype)
    out = net(img)
    assert out.shape == shape and out.dtype == dtype
    assert get_namespace(out) is xp and bool(xp.isfinite(out).all())
    np.testing.assert_array_equal(to_numpy(net(img)), to_numpy(out))  # deterministic


def test_forward_refuses_colour_and_bad_weights():
    net = _random_net()
    with pytest.raises(ClassicDeblurError, match="gray"):
        net(np.zeros((8, 8, 3)))
    w = {n: np.zeros(s) for n, s in parameter_shapes(SMALL).items()}
    w.pop("out.bias")
    with pytest.raises(ClassicDeblurError, match="missing out.bias"):
        EdgeNet(w, SMALL)
    w["out.bias"] = np.zeros(2)
    with pytest.raises(ClassicDeblurError, match="shape"):
        EdgeNet(w, SMALL)
    with pytest.raises(ClassicDeblurError, match="arch"):
        EdgeNet(w, {"arch": "resnet"})


def test_zero_network_is_the_identity():
    zero = EdgeNet({n: np.zeros(s) for n, s in parameter_shapes(SMALL).items()}, SMALL)
    img = np.random.default_rng(2).random((17, 19))
    np.testing.assert_allclose(zero(img), img, atol=1e-6)


def test_shipped_model_is_small_and_listed():
    entry = models.read_manifest()["models"]["edges"]
    net = models.load_model()
    assert net.n_parameters == entry["parameters"] == count_parameters(entry["config"]) <= 300_000
    path = models.models_dir() / entry["file"]
    assert path.stat().st_size == entry["bytes"] <= 5_000_000
    assert entry["config"]["channels"] == DEFAULT_CONFIG["channels"]
    training = entry["training"]
    assert "classicdeblur learn edges" in training["command"] and "seed" in training["settings"]
    assert (models.models_dir() / training["loss_curve"]).is_file()


def test_shipped_model_golden_outputs(xp):
    """The shipped network on a tiny input, against the outputs stored with it (tests/data/edges_golden.npz)."""
    net = models.load_model()
    golden = np.load(GOLDEN)
    assert golden["weights_sha256"].item() == models.read_manifest()["models"]["edges"]["arrays_sha256"]
    img = golden_input()
    np.testing.assert_allclose(golden["input"], img)
    out = to_numpy(net(xp.asarray(img)))
    np.testing.assert_allclose(out, golden["output"], atol=1e-5)


def _copy_models(tmp_path):
    dst = tmp_path / "models"
    dst.mkdir()
    entry = models.read_manifest()["models"]["edges"]
    for name in (models.MANIFEST, entry["file"]):
        shutil.copy(models.models_dir() / name, dst / name)
    return dst, entry


def test_tampered_weights_are_refused(tmp_path):
    folder, entry = _copy_models(tmp_path)
    arrays, _ = models.load_weights("edges", folder)  # the copy loads
    path = folder / entry["file"]
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01  # one bit of one weight
    path.write_bytes(bytes(data))
    with pytest.raises(models.ModelFileError, match="does not match its manifest"):
        models.load_weights("edges", folder)
    with pytest.raises(models.ModelFileError, match="does not match its manifest"):
        models.load_model("edges", folder)
    path.unlink()
    with pytest.raises(models.ModelFileError, match="missing"):
        models.load_weights("edges", folder)
    with pytest.raises(models.ModelFileError, match="unknown model 'sketch'"):
        models.load_weights("sketch", folder)
    (folder / models.MANIFEST).write_text("{")
    with pytest.raises(models.ModelFileError, match="not valid JSON"):
        models.read_manifest(folder)


def test_models_folder_from_the_environment(tmp_path, monkeypatch):
    folder, _ = _copy_models(tmp_path)
    monkeypatch.setenv("CLASSICDEBLUR_MODELS", str(folder))
    assert models.models_dir() == folder
    assert models.load_model().n_parameters > 0
    monkeypatch.setenv("CLASSICDEBLUR_MODELS", str(tmp_path / "nowhere"))
    with pytest.raises(models.ModelFileError, match="no MANIFEST.json"):
        models.load_model()


def test_saved_weights_do_not_depend_on_the_time(tmp_path):
    arrays = {"a": np.arange(6.0).reshape(2, 3), "b": np.ones(2)}
    d1 = models.save_weights(tmp_path / "1.npz", arrays)
    d2 = models.save_weights(tmp_path / "2.npz", arrays)
    assert d1 == d2 == models.file_sha256(tmp_path / "1.npz")
    with np.load(tmp_path / "1.npz") as z:
        assert z["a"].dtype == np.float32 and z.files == ["a", "b"]
    assert models.arrays_sha256(arrays) == models.arrays_sha256({k: np.asarray(v, np.float32)
                                                                 for k, v in arrays.items()})
    assert json.dumps(models.arrays_sha256(arrays))  # a plain string


@pytest.mark.torch
def test_numpy_forward_matches_torch():
    torch = pytest.importorskip("torch")
    from classicdeblur.learned.train import torch_model_from_arrays

    arrays, entry = models.load_weights()
    twin = torch_model_from_arrays(arrays, entry["config"])
    net = EdgeNet(arrays, entry["config"])
    img = np.random.default_rng(3).random((64, 48)).astype(np.float32)
    with torch.no_grad():
        ref = twin(torch.from_numpy(img)[None, None])[0, 0].numpy()
    assert np.abs(net(img) - ref).max() <= 1e-4


def record():
    """Write tests/data/edges_golden.npz from the shipped weights (only when the weights are meant to change)."""
    net = models.load_model()
    img = golden_input()
    np.savez_compressed(GOLDEN, input=img, output=net(img),
                        weights_sha256=np.array(models.read_manifest()["models"]["edges"]["arrays_sha256"]))
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":  # python tests/learned/test_edge_network.py --record
    import sys

    if "--record" in sys.argv:
        record()

"""Contract and property tests for the kernel generators."""

import numpy as np
import pytest

from classicdeblur.errors import InvalidKernelError
from classicdeblur.psf import generators as G
from classicdeblur.psf.utils import centroid, crop_to_support, pad_to_size, recenter, splat_bilinear

# one representative call per registered generator: (name, size, params)
CASES = {
    "disk": (None, {"radius": 3.3}),
    "motion": (None, {"length": 11.5, "angle": 37.0}),
    "gaussian": (None, {"sigma": 1.7}),
    "boracchi_foi": (19, {}),
    "chakrabarti": (31, {}),
}
RANDOM = [n for n in G.GENERATORS.names() if G.GENERATORS.meta(n)["random"]]


def test_every_generator_has_a_case():
    assert sorted(CASES) == G.GENERATORS.names()
    for name in G.GENERATORS.names():
        assert G.GENERATORS.meta(name)["description"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_contract(name):
    size, params = CASES[name]
    k = G.make_kernel(name, size, rng=7, **params)
    assert k.dtype == np.float64 and k.ndim == 2
    assert k.shape[0] % 2 == 1 and k.shape[1] % 2 == 1
    if size is not None:
        assert k.shape == (size, size)
    assert (k >= 0).all()
    assert k.sum() == pytest.approx(1.0, abs=1e-12)
    cy, cx = centroid(k)
    assert abs(cy - k.shape[0] // 2) <= 0.5 and abs(cx - k.shape[1] // 2) <= 0.5


@pytest.mark.parametrize("name", RANDOM)
def test_seed_reproducible_and_different(name):
    size, params = CASES[name]
    a = G.make_kernel(name, size, rng=3, **params)
    b = G.make_kernel(name, size, rng=3, **params)
    c = G.make_kernel(name, size, rng=4, **params)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # a Generator gives the same as its seed
    assert np.array_equal(a, G.make_kernel(name, size, rng=np.random.default_rng(3), **params))


@pytest.mark.parametrize("length", [7, 15, 21])
def test_motion_horizontal_extent(length):
    k = G.motion(length, 0)
    c = k.shape[0] // 2
    assert np.allclose(np.delete(k, c, axis=0), 0)  # one row only
    row = k[c]
    assert int((row >= 0.5 * row.max()).sum()) == length
    # box of width L blurred by a one-pixel triangle: variance L^2/12 + 1/6
    x = np.arange(row.size) - c
    assert (row * x**2).sum() == pytest.approx(length**2 / 12 + 1 / 6, rel=1e-3)


def test_motion_any_angle_and_antialiased():
    k = G.motion(12.3, 30)
    c = k.shape[0] // 2
    rows, cols = np.indices(k.shape)
    u = (cols - c) * np.cos(np.radians(30)) - (rows - c) * np.sin(np.radians(30))  # along the motion
    assert np.sqrt((k * u**2).sum() * 12) == pytest.approx(12.3, rel=0.05)
    assert np.count_nonzero(k) > 12  # more pixels than an aliased line
    assert np.allclose(G.motion(9, 45), G.motion(9, -135))  # a segment has no direction
    assert np.allclose(G.motion(9, 90), G.motion(9, 0).T)
    assert G.motion(0).shape == (1, 1)


def test_disk_support_and_area():
    R = 4
    k = G.disk(R)
    assert k.shape == (9, 9)
    c = 4
    rows, cols = np.indices(k.shape)
    d = np.hypot(rows - c, cols - c)
    assert np.all(k[d <= R - 0.75] == k.max())  # fully covered pixels are flat
    assert np.all(k[d >= R + 0.75] == 0)
    # pixel coverage sums to the disk area pi R^2 (in units of the full pixel weight)
    assert k.sum() / k.max() == pytest.approx(np.pi * R * R, rel=0.01)
    assert np.allclose(k, k.T) and np.allclose(k, k[::-1])


def test_gaussian_matches_formula():
    s = 1.3
    k = G.gaussian(s)
    assert k.shape == (2 * int(np.ceil(3 * s)) + 1,) * 2
    x = np.arange(k.shape[0]) - k.shape[0] // 2
    ref = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * s * s))
    assert np.allclose(k, ref / ref.sum(), rtol=1e-12, atol=0)
    assert G.gaussian(2, size=5).shape == (5, 5)


def test_boracchi_foi_fills_support_and_exposure():
    ks = [G.boracchi_foi(27, rng=s) for s in range(8)]
    ext = [max(np.ptp(np.nonzero(k)[0]), np.ptp(np.nonzero(k)[1])) + 1 for k in ks]
    assert all(e <= 27 for e in ext) and np.mean(ext) > 12  # a 27 px trajectory, not a dot
    short = G.boracchi_foi(27, rng=0, exposure=0.1)
    assert np.count_nonzero(short) < np.count_nonzero(ks[0])
    for seed in range(3):  # anxiety 0: rectilinear blur, a thin segment
        k = G.boracchi_foi(15, rng=seed, anxiety=0.0)
        rows, cols = np.indices(k.shape)
        cy, cx = centroid(k)
        cov = np.cov(np.stack([rows.ravel() - cy, cols.ravel() - cx]), aweights=k.ravel(), bias=True)
        small, large = np.linalg.eigvalsh(cov)
        assert small < 0.2 and large > 10


def test_random_trajectory_length():
    x = G.random_trajectory(rng=1, num_samples=500, max_length=25.0)
    assert np.abs(np.diff(x)).sum() == pytest.approx(25.0)
    assert x[0] == 0


# Reference statistics of Chakrabarti's own make_kernels(16, 41, 6, 256), seed 0 (the 256
# kernels K of chakrabarti2016/samples_256.mat in the shared data folder), computed once with
#   k /= k.sum(); support = count(k > 0); spread = sqrt(sum k |p - centroid|^2);
#   extent = max(height, width) of the bounding box of k > 0; mean over the 256 kernels:
#   support 53.27 (sd 12.81), spread 5.101 px (sd 0.857), extent 14.50 px (sd 1.78).
CHAKRABARTI_REF = {"support": (53.27, 12.81), "spread": (5.101, 0.857), "extent": (14.50, 1.78)}


def _kernel_stats(k):
    rows, cols = np.indices(k.shape)
    cy, cx = centroid(k)
    r, c = np.nonzero(k)
    return {"support": np.count_nonzero(k),
            "spread": np.sqrt((k * ((rows - cy) ** 2 + (cols - cx) ** 2)).sum()),
            "extent": max(np.ptp(r), np.ptp(c)) + 1}


def test_chakrabarti_matches_reference_statistics():
    n = 64
    stats = [_kernel_stats(G.chakrabarti(41, grid=16, rng=1000 + i)) for i in range(n)]
    for key, (mean, sd) in CHAKRABARTI_REF.items():
        ours = np.mean([s[key] for s in stats])
        assert abs(ours - mean) < 3.5 * sd / np.sqrt(n), (key, ours, mean)  # within 3.5 standard errors


def test_make_kernel_errors():
    with pytest.raises(ValueError, match="choose from: boracchi_foi, chakrabarti"):
        G.make_kernel("nope")
    with pytest.raises(ValueError, match="no parameter 'radius'.*valid: length"):
        G.make_kernel("motion", length=3, radius=2)
    with pytest.raises(ValueError, match="needs sigma"):
        G.make_kernel("gaussian")
    with pytest.raises(InvalidKernelError, match="odd"):
        G.make_kernel("gaussian", 4, sigma=1)
    with pytest.raises(ValueError):
        G.disk(0)
    with pytest.raises(InvalidKernelError, match="does not fit"):
        G.motion(10, 0, size=5)


def test_utils():
    k = np.zeros((5, 5))
    k[0, 4] = 1
    out, shift = recenter(k)
    assert shift == (2, -2) and out[2, 2] == 1 and out.shape == (5, 5)
    big = np.zeros((3, 3))
    big[0, 0] = big[0, 1] = 1.0  # centroid (0, 0.5): one row down, half a column rounds to 0
    out, shift = recenter(big)
    assert out.sum() == 2 and shift == (1, 0)
    assert pad_to_size(np.ones((3, 1)), (5, 3))[1:4, 1].tolist() == [1, 1, 1]
    with pytest.raises(ValueError):
        pad_to_size(np.ones((5, 5)), 3)
    assert crop_to_support(pad_to_size(np.ones((3, 3)), 11)).shape == (3, 3)
    s = splat_bilinear((4, 4), [1.25, 3.0], [2.5, 0.0], [2.0, 1.0])
    assert s.sum() == pytest.approx(3.0)
    assert centroid(s) == pytest.approx(((2 * 1.25 + 3.0) / 3, (2 * 2.5) / 3))

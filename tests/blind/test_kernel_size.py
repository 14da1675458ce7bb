"""kernel_size="auto": the blur's extent from a probe estimation, grown while it fills its window."""

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.blind.kernel_size import estimate_kernel_size, kernel_extent, max_kernel_size
from classicdeblur.degrade import degrade
from classicdeblur.errors import InvalidKernelError
from classicdeblur.psf.generators import motion


@pytest.fixture(scope="module")
def astronaut256():
    """scikit-image's astronaut, gray, 256x256 (a photo with a face; no benchmark image)."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    return resize(rgb2gray(data.astronaut()), (256, 256), anti_aliasing=True)


def test_cap_is_a_quarter_of_the_smaller_side():
    assert max_kernel_size((256, 256)) == 63
    assert max_kernel_size((710, 947)) == 177
    assert max_kernel_size((50, 70)) == 11
    assert max_kernel_size((12, 12)) == 3


def test_extent_of_a_streak_ignores_faint_specks():
    k = np.zeros((41, 41))
    k[20, 12:29] = 1.0  # a 17-pixel streak
    k[3, 3] = k[37, 35] = 0.15  # specks of noise, far away
    assert kernel_extent(k) == 19  # the smoothing reaches one pixel further on each side
    # off centre: the window the framework needs is centred on the streak's centroid
    assert kernel_extent(np.roll(k, 6, axis=1)) == 19
    assert kernel_extent(np.zeros((5, 5))) == 1


@pytest.mark.parametrize("length", [5, 11, 21])
def test_size_follows_the_blur(astronaut256, length):
    y = degrade(astronaut256, motion(length, 30), rng=0)
    size, info = estimate_kernel_size(y)
    assert size % 2 == 1 and length <= size <= length + 8
    # two probes, at full and half scale, in a 31-pixel window; the extent is their mean
    assert [(p["scale"], p["window"], p["cut"]) for p in info["probes"]] == [(1.0, 31, False), (0.5, 31, False)]
    assert info["extent"] == np.mean([p["extent"] / p["scale"] for p in info["probes"]]) >= length - 2


def test_a_blur_larger_than_the_window_is_measured_at_the_coarser_scale(astronaut256):
    y = degrade(astronaut256, motion(45, 120), rng=0)
    size, info = estimate_kernel_size(y)
    first, second = info["probes"]
    assert first["cut"] and not second["cut"]  # the 31-pixel window cuts the blur at full scale
    assert info["extent"] == second["extent"] / second["scale"]  # the cut probe is left out
    assert 45 <= size <= 63 == info["cap"]


def test_growth_while_every_probe_is_cut(astronaut256):
    # a 128-pixel image whose blur fills every window: the cap (a quarter of the side)
    y = degrade(astronaut256[::2, ::2], motion(41, 10), rng=0)
    size, info = estimate_kernel_size(y)
    assert size == info["cap"] == 31 and all(p["cut"] for p in info["probes"]) and info["capped"]


def test_never_more_than_a_quarter_of_the_image(astronaut256):
    small = degrade(astronaut256[::4, ::3][:50, :70], motion(15, 0), rng=0)
    size, info = estimate_kernel_size(small)
    assert size <= 11 == info["cap"]
    size, _ = estimate_kernel_size(degrade(astronaut256, motion(45, 120), rng=0), max_size=30)
    assert size <= 29


def test_flat_image_gives_the_smallest_size():
    size, info = estimate_kernel_size(np.full((64, 64), 0.5))
    assert size == 7 and info["probes"] == []


def test_deblur_defaults_to_auto_and_reports_the_source(astronaut256):
    y = degrade(astronaut256[64:192, 64:192], motion(7, 0), rng=1)
    res = cd.deblur(y, "xu2010", iterations=1)
    assert res.info["kernel_size_source"] == "auto"
    assert res.info["kernel_size"] == res.kernel.shape[0] <= 31 and res.kernel.shape[0] % 2 == 1
    assert res.info["kernel_size_estimate"]["probes"]
    given = cd.deblur(y, "xu2010", kernel_size=9, iterations=1)
    assert given.info["kernel_size_source"] == "given" and given.kernel.shape == (9, 9)
    # an explicit size runs the method exactly as before
    out, k, _ = cd.blind.registry().get("xu2010")(y, kernel_size=9, iterations=1, rng=np.random.default_rng(None))
    assert np.array_equal(k, given.kernel) and np.array_equal(out, given.image)
    assert cd.deblur(y, "xu2010", kernel_size=None, iterations=1).info["kernel_size_source"] == "default"
    with pytest.raises(InvalidKernelError, match="'auto' or an odd integer"):
        cd.deblur(y, "xu2010", kernel_size="big")

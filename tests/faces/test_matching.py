"""The windowed exemplar search (issue 11): the same optimum as the full search when it lies in the window."""

import numpy as np
from scipy.ndimage import gaussian_filter

from classicdeblur.faces import matching


def _scene():
    rng = np.random.default_rng(3)
    temp = gaussian_filter(rng.random((15, 15)), 1.5).astype(np.float32)
    image = gaussian_filter(rng.random((64, 72)), 1.5).astype(np.float32) * 0.2
    image[20:35, 30:45] = temp  # the template's centre at (27, 37)
    return image, temp


def test_window_finds_the_full_optimum():
    image, temp = _scene()
    sup = np.ones_like(temp)
    full = matching._ncc(image, [temp], [sup])
    # a window around the full search's optimum (template centre = top-left + 7), off by 2 px
    centre = (float(full[1][0] + 7 + 2), float(full[2][0] + 7 - 2))
    near = matching._ncc(image, [temp], [sup], centre=centre, radius=4.0)
    assert (near[1][0], near[2][0]) == (full[1][0], full[2][0])
    assert abs(float(full[0][0]) - float(near[0][0])) < 1e-5


def test_window_restricts_the_placements():
    image, temp = _scene()
    sup = np.ones_like(temp)
    score, dy, dx = matching._ncc(image, [temp], [sup], centre=(10.0, 10.0), radius=3.0)
    # template centre = top-left + 7 stays within 3 px of (10, 10)
    assert abs(dy[0] + 7 - 10) <= 3 and abs(dx[0] + 7 - 10) <= 3
    assert score[0] < matching._ncc(image, [temp], [sup])[0][0]


def test_window_at_the_image_border_and_mixed_sizes():
    image, temp = _scene()
    small = temp[2:-2, 2:-2]
    score, dy, dx = matching._ncc(image, [temp, small], [np.ones_like(temp), np.ones_like(small)],
                                  centre=(0.0, 71.0), radius=2.0)
    assert np.isfinite(score).all()
    for s, y, x in zip((15, 11), dy, dx):
        assert abs(y + s // 2) <= 2 + 1 and abs(x + s // 2 - 71) <= 2 + 1

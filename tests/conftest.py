"""Shared fixtures. The CUDA simulator must be switched on before numba.cuda is imported."""

import os

if not os.path.exists("/dev/nvidiactl"):
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np
import pytest

from classicdeblur._deps import cupy_available

XPS = [pytest.param(np, id="numpy")]
if cupy_available():  # pragma: no cover - only on a GPU machine
    import cupy

    XPS.append(pytest.param(cupy, id="cupy", marks=pytest.mark.gpu))


@pytest.fixture(params=XPS)
def xp(request):
    """Array namespace: numpy always, cupy when a real GPU is present."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def face():
    """A 96x96 grayscale face crop (the astronaut of scikit-image), float64 in [0, 1]."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    img = rgb2gray(data.astronaut())[20:220, 130:330]
    return resize(img, (96, 96), anti_aliasing=True)


@pytest.fixture(scope="session")
def face_rgb():
    """A 64x64 RGB face crop of the astronaut, float64 in [0, 1]."""
    from skimage import data
    from skimage.transform import resize

    return resize(data.astronaut()[20:220, 130:330] / 255.0, (64, 64, 3), anti_aliasing=True)

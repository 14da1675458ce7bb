"""Registry, validation, backend selection and lazy import."""

import subprocess
import sys

import numpy as np
import pytest

from classicdeblur import backend
from classicdeblur._registry import Registry
from classicdeblur._validation import as_float_image, check_image, check_image_kernel, check_kernel
from classicdeblur.errors import (
    ClassicDeblurError,
    DeviceUnavailableError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidKernelError,
)


def test_registry_lists_valid_names():
    reg = Registry("widget")
    reg.register("b", description="B")(object)
    reg.register("a")(object)
    assert reg.names() == ["a", "b"] and "a" in reg and len(reg) == 2
    assert reg.meta("b") == {"description": "B"}
    with pytest.raises(ValueError, match="unknown widget 'c'; choose from: a, b"):
        reg.get("c")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(object)


@pytest.mark.parametrize(
    "kernel, match",
    [
        (np.ones((4, 5)), "odd"),
        (np.ones((5,)), "2-D"),
        (-np.ones((3, 3)), "negative"),
        (np.zeros((3, 3)), "all zero"),
        (np.full((3, 3), np.nan), "NaN"),
        (np.array([["a"]]), "numeric"),
    ],
)
def test_bad_kernels(kernel, match):
    with pytest.raises(InvalidKernelError, match=match):
        check_kernel(kernel)


def test_kernel_normalised_and_not_mutated():
    k = np.arange(9.0).reshape(3, 3)
    out = check_kernel(k)
    assert out.sum() == pytest.approx(1) and k[2, 2] == 8.0


@pytest.mark.parametrize(
    "image, err",
    [
        (np.zeros((0, 5)), InvalidImageError),
        (np.zeros((5,)), InvalidImageError),
        (np.zeros((5, 5, 7)), InvalidImageError),
        (np.array([[np.inf, 0.0]]), InvalidImageError),
    ],
)
def test_bad_images(image, err):
    with pytest.raises(err):
        check_image(image)


def test_pixel_limit(monkeypatch):
    with pytest.raises(ImageTooLargeError, match="over the limit of 99"):
        check_image(np.zeros((10, 10)), limit=99)
    monkeypatch.setenv("CLASSICDEBLUR_MAX_PIXELS", "50")
    with pytest.raises(ImageTooLargeError):
        check_image(np.zeros((10, 10)))


def test_image_smaller_than_kernel():
    with pytest.raises(InvalidImageError, match="smaller than the kernel"):
        check_image_kernel(np.zeros((5, 5)), np.ones((7, 7)))


def test_errors_are_value_errors():
    assert issubclass(InvalidKernelError, ClassicDeblurError) and issubclass(ClassicDeblurError, ValueError)


def test_as_float_image_ranges():
    assert as_float_image(np.array([0, 65535], np.uint16)).tolist() == [0.0, 1.0]
    assert as_float_image(np.array([True])).dtype == np.float64
    assert as_float_image(np.zeros(2, np.float16)).dtype == np.float32


def test_device_resolution(monkeypatch):
    assert backend.resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="choose from: auto, cpu, gpu"):
        backend.resolve_device("tpu")
    from classicdeblur import _deps

    monkeypatch.setenv("CLASSICDEBLUR_DISABLE_GPU", "1")
    _deps.cupy_available.cache_clear()
    try:
        assert backend.resolve_device("auto") == "cpu"
        with pytest.raises(DeviceUnavailableError, match="gpu"):
            backend.resolve_device("gpu")
    finally:
        _deps.cupy_available.cache_clear()


def test_import_is_light():
    code = (
        "import sys, classicdeblur, classicdeblur.api;"
        "heavy = [m for m in ('cupy', 'numba', 'numba.cuda', 'dlib', 'torch', 'cv2', 'skimage') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

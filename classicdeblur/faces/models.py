"""Location and cached loading of the dlib face models.

The 68-point landmark predictor, the 5-point predictor, the ResNet face
descriptor and the CNN (MMOD) face detector are the data files shipped by the
``face-recognition-models`` package (the ``faces`` extra). They are found with :func:`importlib.util.find_spec`,
without importing that package (its ``__init__`` needs ``pkg_resources``).
dlib itself is imported on first use only.

Examples
--------
>>> model_path("landmarks68").name
'shape_predictor_68_face_landmarks.dat'
>>> sorted(MODEL_FILES)
['detector_cnn', 'embedding', 'landmarks5', 'landmarks68']
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from pathlib import Path

from ..errors import FacesUnavailableError

__all__ = [
    "EXTRA_HINT",
    "MODEL_FILES",
    "cnn_detector",
    "detector",
    "dlib_module",
    "face_recognizer",
    "faces_available",
    "model_path",
    "models_dir",
    "shape_predictor",
]

#: Model name -> file name inside ``face_recognition_models/models``.
MODEL_FILES = {
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    "embedding": "dlib_face_recognition_resnet_model_v1.dat",
    "detector_cnn": "mmod_human_face_detector.dat",
}

#: How to install the missing pieces; part of every :class:`FacesUnavailableError`.
EXTRA_HINT = "face tools need the 'faces' extra: pip install 'classicdeblur[faces]'"


def models_dir() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models`` package.

    Raises
    ------
    FacesUnavailableError
        When the package is not installed.
    """
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise FacesUnavailableError(f"{EXTRA_HINT} (package 'face_recognition_models' not found)")
    return Path(locations[0]) / "models"


def model_path(name: str) -> Path:
    """Path of the model file ``name`` (a key of :data:`MODEL_FILES`), checked to exist.

    Raises
    ------
    ValueError
        Unknown model name (the message lists the valid ones).
    FacesUnavailableError
        The package or the file is missing.
    """
    if name not in MODEL_FILES:
        raise ValueError(f"unknown face model {name!r}; choose from: {', '.join(MODEL_FILES)}")
    path = models_dir() / MODEL_FILES[name]
    if not path.is_file():
        raise FacesUnavailableError(f"{EXTRA_HINT} (model file {path} is missing; reinstall the extra)")
    return path


def dlib_module():
    """The imported :mod:`dlib`, or :class:`FacesUnavailableError` when it cannot be imported."""
    try:
        return importlib.import_module("dlib")
    except ImportError as exc:
        raise FacesUnavailableError(f"{EXTRA_HINT} (dlib cannot be imported: {exc})") from None


def faces_available() -> bool:
    """True when dlib imports and all model files are present. Never raises.

    Examples
    --------
    >>> isinstance(faces_available(), bool)
    True
    """
    try:
        dlib_module()
        for name in MODEL_FILES:
            model_path(name)
        return True
    except Exception:
        return False


@functools.cache
def _detector():
    return dlib_module().get_frontal_face_detector()


def detector():
    """dlib's HOG + linear SVM frontal face detector (Dalal & Triggs 2005; King 2015), cached."""
    return _detector()


@functools.lru_cache(maxsize=2)
def _cnn(path: str):
    return dlib_module().cnn_face_detection_model_v1(path)


def cnn_detector():
    """dlib's CNN face detector (max-margin object detection, King 2015), cached.

    Far more robust to blur than the HOG detector, and far slower on a CPU (about
    a second for a 256x256 image, growing with the pixel count).
    """
    return _cnn(str(model_path("detector_cnn")))


@functools.lru_cache(maxsize=4)
def _predictor(path: str):
    return dlib_module().shape_predictor(path)


def shape_predictor(points: int = 68):
    """The 68- or 5-point landmark predictor (Kazemi & Sullivan, CVPR 2014), cached."""
    if points not in (5, 68):
        raise ValueError(f"points must be 5 or 68; got {points!r}")
    return _predictor(str(model_path(f"landmarks{points}")))


@functools.lru_cache(maxsize=2)
def _recognizer(path: str):
    return dlib_module().face_recognition_model_v1(path)


def face_recognizer():
    """dlib's ResNet face descriptor model (128-D embeddings), cached."""
    return _recognizer(str(model_path("embedding")))

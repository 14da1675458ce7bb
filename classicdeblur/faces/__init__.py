"""Face tools: detection, landmarks, alignment, structure masks and exemplars.

Detection, landmarks and embeddings use dlib with the models of the ``faces``
extra (``pip install 'classicdeblur[faces]'``); without them these functions
raise :class:`~classicdeblur.errors.FacesUnavailableError`. Everything is
imported on first use, so importing this package loads neither dlib nor OpenCV.

* :mod:`~classicdeblur.faces.detect`: :class:`Face`, :func:`detect_faces`,
  :func:`face_landmarks`, :func:`face_embedding`, :func:`identity_distance`;
* :mod:`~classicdeblur.faces.locate`: :func:`locate_face`, :func:`default_face`;
* :mod:`~classicdeblur.faces.align`: :data:`CANONICAL_SIZE`, :func:`alignment_matrix`,
  :func:`align_face`, :func:`transform_points`, :func:`unalign`;
* :mod:`~classicdeblur.faces.structure`: :data:`PARTS`, :func:`structure_mask`;
* :mod:`~classicdeblur.faces.exemplars`: :class:`ExemplarDB`, :func:`load_database`,
  :func:`as_database`;
* :mod:`~classicdeblur.faces.exemplar_build`: :func:`build_database`, :class:`BuildOptions`;
* :mod:`~classicdeblur.faces.exemplar_learn`: :func:`learn_priors` (learners are passed in,
  e.g. :func:`classicdeblur.blind.prior_learners`);
* :mod:`~classicdeblur.faces.matching`: :func:`match_exemplars` (Pan et al. 2014 Eq. 3).

The whole-photo path of the face methods is not a face tool but part of the
blind pipeline: :func:`classicdeblur.blind.photo.deblur_photo`. Face tools
never import the API, the blind framework or a method.

Examples
--------
>>> import classicdeblur.faces as cf
>>> cf.CANONICAL_SIZE
128
"""

import importlib

_EXPORTS = {
    "models": ("faces_available", "FacesUnavailableError"),
    "detect": ("Face", "detect_faces", "face_landmarks", "face_embedding", "identity_distance"),
    "locate": ("locate_face", "default_face"),
    "align": ("CANONICAL_SIZE", "TEMPLATE", "MEAN_SHAPE", "alignment_matrix", "align_face",
              "transform_points", "unalign", "template_landmarks", "framed_landmarks", "invert_matrix"),
    "structure": ("PARTS", "structure_mask"),
    "exemplars": ("ExemplarDB", "load_database", "as_database"),
    "exemplar_build": ("build_database", "BuildOptions"),
    "exemplar_learn": ("learn_priors",),
    "matching": ("Match", "match_exemplars"),
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}
_SUBMODULES = set(_EXPORTS)

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name == "FacesUnavailableError":
        from ..errors import FacesUnavailableError

        return FacesUnavailableError
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'classicdeblur.faces' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | _SUBMODULES)

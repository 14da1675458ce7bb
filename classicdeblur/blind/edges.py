r"""Edge predictors: where the sharp edges of a kernel step come from (METHODS.md section 4).

Edge-based blind methods estimate the kernel from *predicted sharp edges*
:math:`\nabla S` of the latent image, :math:`\min_k \|\nabla S * k - \nabla B\|^2 + g(k)`:
Cho & Lee's bilateral + shock filter, Xu & Jia's r-map selection of the
shock-filtered image, Pan et al. 2014's exemplar structures. An *edge
predictor* replaces that prediction: given the blurred luminance at a
pyramid level, it returns predicted sharp gradients (and optionally a
confidence map and the predicted sharp image), which the method's k-step uses
in place of its own prediction, while the physics (the data term on
:math:`\nabla B`) still constrains the kernel.

* :class:`EdgePredictor`: the interface, ``predict(blurred) -> EdgeMap``.
* :data:`EDGE_PREDICTORS`: the registry of named predictors; ``"learned"``
  is the shipped edge network (:class:`LearnedEdges`,
  :mod:`classicdeblur.learned.network`), run without torch.
* :func:`resolve_edge_predictor`: ``None`` (the method's own prediction,
  unchanged), a registered name, or any object with a ``predict`` method.
* :class:`ReferenceEdges`: the edges of a known sharp image (tests, and the
  "perfect predictor" bound of the benchmarks).

Methods accept ``edge_predictor=`` (``cho2009``, ``xu2010``, ``exemplar``,
``anwar2018``; ``pan2018`` is built on it). Each method says in its
docstring where the prediction enters its alternation.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._registry import Registry
from ..backend import asarray_on, get_namespace
from ..errors import InvalidParameterError
from ..operators.gradients import cut_gradient as sharp_gradients  # the k-steps' gradients, re-exported

__all__ = ["EDGE_PREDICTORS", "EdgeMap", "EdgePredictor", "LearnedEdges", "ReferenceEdges",
           "resolve_edge_predictor", "sharp_gradients"]

#: The registry of named edge predictors (name -> class taking no required argument).
EDGE_PREDICTORS = Registry("edge predictor")


@dataclass
class EdgeMap:
    """Predicted sharp edges of one image.

    Attributes
    ----------
    gx, gy : ndarray
        Predicted sharp gradients (forward differences, the blurred image's
        shape, dtype and device; zero on the wrap-around column/row).
    confidence : ndarray or None
        Per-pixel weight in [0, 1] of the prediction (None: uniform).
    image : ndarray or None
        The predicted sharp image, when the predictor makes one.
    """

    gx: object
    gy: object
    confidence: object = None
    image: object = None


class EdgePredictor:
    """Interface of an edge predictor: ``predict(blurred) -> EdgeMap``.

    ``blurred`` is the blurred luminance at a pyramid level (2-D, float,
    NumPy or CuPy); the result is on the same device, same shape and dtype.
    A predictor must be deterministic (methods call it once per level and
    may call it again on a latent image).
    """

    #: Name shown in a method's ``info``.
    name = "predictor"

    def predict(self, blurred) -> EdgeMap:  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"


@EDGE_PREDICTORS.register("learned", description="the shipped edge network (models/edges.npz): a small U-Net "
                          "trained here on synthetic blur of CelebA faces predicts the sharp face; its gradients "
                          "are the sharp edges", learned=True)
class LearnedEdges(EdgePredictor):
    """The edge network: predicted sharp image :math:`\\hat x`, edges :math:`\\nabla \\hat x`.

    Parameters
    ----------
    model : EdgeNet, optional
        A network (:class:`~classicdeblur.learned.network.EdgeNet`); default:
        the shipped ``edges`` model, loaded (and its sha256 checked) from the
        models folder.

    Examples
    --------
    >>> import numpy as np
    >>> em = LearnedEdges().predict(np.random.default_rng(0).random((40, 36)))
    >>> em.gx.shape, em.image.shape, em.confidence is None
    ((40, 36), (40, 36), True)
    """

    name = "learned"

    def __init__(self, model=None):
        if model is None:
            from ..learned.models import load_model

            model = load_model("edges")
        self.model = model

    def predict(self, blurred):
        image = self.model(blurred)
        gx, gy = sharp_gradients(image)
        return EdgeMap(gx, gy, None, image)


class ReferenceEdges(EdgePredictor):
    """The edges of a known sharp image, resampled to each level: a perfect predictor (tests, bounds).

    Parameters
    ----------
    sharp : ndarray of shape (M, N)
        The sharp luminance at full resolution.
    """

    name = "reference"

    def __init__(self, sharp):
        self.sharp = sharp

    def predict(self, blurred):
        from .pyramid import resize

        xp = get_namespace(blurred)
        s = asarray_on(xp, self.sharp, dtype=blurred.dtype)
        s = resize(s, blurred.shape)
        gx, gy = sharp_gradients(s)
        return EdgeMap(gx, gy, None, s)


def resolve_edge_predictor(spec):
    """``None`` (the method's own prediction), a registered name, or an object with ``predict``.

    Examples
    --------
    >>> resolve_edge_predictor(None) is None
    True
    >>> resolve_edge_predictor("magic")
    Traceback (most recent call last):
    ...
    ValueError: unknown edge predictor 'magic'; choose from: learned
    >>> resolve_edge_predictor(3)
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidParameterError: edge_predictor must be None, a name (learned) or an object with a predict(blurred) method; got int
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        return EDGE_PREDICTORS.get(spec)()
    if callable(getattr(spec, "predict", None)):
        return spec
    raise InvalidParameterError(f"edge_predictor must be None, a name ({', '.join(EDGE_PREDICTORS.names())}) or an "
                                f"object with a predict(blurred) method; got {type(spec).__name__}")

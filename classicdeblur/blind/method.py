"""One lifecycle for every blind method: shared keywords, validated once, and registration.

Every blind method takes the same keywords for the concerns the framework
handles, whatever its paper:

``final``, ``final_params``
    The non-blind method of the final step (a name in
    :data:`~classicdeblur.solvers.nonblind.NONBLIND`) and its parameters.
    Each method has its own default pair (e.g. ``"tv_l1"`` for Xu & Jia); a
    ``final`` other than the default starts from no parameters. When the
    final method takes ``engine`` and the method's ``engine`` is not
    ``"auto"``, it is passed on.
``pixel_screening``, ``screening_params`` (methods with an alternation)
    Pixel screening of the intermediate image before every k-step (Zhang et
    al. 2022, :func:`~classicdeblur.blind.screening.screen`) and its parameters.
    A method without intermediate images (``screening=False``, e.g.
    ``nishiyama2010``) refuses them rather than ignore them.
``engine``
    ``"auto"``, ``"numpy"``, ``"numba"`` or ``"cuda"`` for the per-pixel
    filters and shrinkages (:mod:`classicdeblur.engines`).
``face_box``, ``exemplars`` (face methods and face-guided methods)
    Where the face is, and the exemplar database.
``face_guided`` (methods that can be guided by a face's structures)
    Restrict the k-step to the face's salient structures
    (:mod:`~classicdeblur.blind.guidance`).
``edge_predictor`` (edge-based methods)
    Where the predicted sharp edges of the k-step come from: ``None`` (the
    method's own prediction, unchanged), a name of
    :data:`~classicdeblur.blind.edges.EDGE_PREDICTORS` (``"learned"``: the
    shipped edge network) or an object with ``predict``
    (:mod:`~classicdeblur.blind.edges`).

:func:`blind_method` registers a method in
:data:`~classicdeblur.blind.BLIND` and wraps it: the shared keywords are
validated here, before any work, into a :class:`BlindOptions` that the
method hands to :func:`~classicdeblur.blind.framework.run_blind`. The method
itself keeps its paper's parameters, with the paper's names and defaults.
Keywords renamed in version 0.2 still work for one release, with a
:class:`DeprecationWarning`.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from dataclasses import dataclass, field

from .._registry import check_params
from ..engines import check_engine
from ..errors import InvalidParameterError
from ..solvers.nonblind import NONBLIND, deconvolve
from . import BLIND

__all__ = ["FinalStep", "BlindOptions", "blind_method", "make_options"]

#: Old keyword names (version 0.1) and what they became.
RENAMED = {
    "final_method": "final",
    "final_lam": ("final_params", "lam"),
    "final_alpha": ("final_params", "alpha"),
}


@dataclass(frozen=True)
class FinalStep:
    """The final non-blind restoration of a blind method: ``method`` (a NONBLIND name) with ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> step = FinalStep("wiener", {"nsr": 1e-6})
    >>> x = np.random.default_rng(0).random((16, 16))
    >>> bool(np.allclose(step(x, np.ones((1, 1))), x, atol=1e-4))
    True
    """

    method: str = "hyper_laplacian"
    params: dict = field(default_factory=dict)

    def __call__(self, image, kernel):
        return deconvolve(image, kernel, method=self.method, **self.params)


@dataclass(frozen=True)
class BlindOptions:
    """The shared keywords of a blind method, validated (see the module docstring)."""

    final: FinalStep = field(default_factory=FinalStep)
    pixel_screening: bool = False
    screening_params: dict = field(default_factory=dict)
    engine: str = "auto"
    face_guided: bool = False
    face_box: object = None
    exemplars: object = None
    #: The resolved edge predictor (:func:`~classicdeblur.blind.edges.resolve_edge_predictor`), or None.
    edge_predictor: object = None


def make_options(*, final="hyper_laplacian", final_params=None, default_final=("hyper_laplacian", None),
                 pixel_screening=False, screening_params=None, engine="auto", face_guided=False, face_box=None,
                 exemplars=None, edge_predictor=None) -> BlindOptions:
    """Validate the shared keywords into :class:`BlindOptions`.

    ``default_final`` is the method's ``(name, params)`` default: its params
    apply when ``final`` is that name and ``final_params`` is not given.

    Examples
    --------
    >>> make_options(final="tv_l1", engine="numpy").final
    FinalStep(method='tv_l1', params={'engine': 'numpy'})
    >>> make_options(final="magic")
    Traceback (most recent call last):
    ...
    ValueError: unknown non-blind method 'magic'; choose from: hyper_laplacian, irls, l0, richardson_lucy, tikhonov, tv, tv_l1, wiener
    """
    engine = check_engine(engine)
    fn = NONBLIND.get(final)
    if final_params is None:
        final_params = default_final[1] if final == default_final[0] else None
    params = dict(final_params or {})
    check_params(fn, f"final method {final!r}", params)
    if engine != "auto" and "engine" in inspect.signature(fn).parameters:
        params.setdefault("engine", engine)
    if screening_params:
        from .screening import screen

        check_params(screen, "pixel screening", screening_params)
    if edge_predictor is not None:
        from .edges import resolve_edge_predictor

        edge_predictor = resolve_edge_predictor(edge_predictor)
    return BlindOptions(final=FinalStep(final, params), pixel_screening=bool(pixel_screening),
                        screening_params=dict(screening_params or {}), engine=engine,
                        face_guided=bool(face_guided), face_box=face_box, exemplars=exemplars,
                        edge_predictor=edge_predictor)


def _common_parameters(final, face, guided, edges=False, screening=True):
    kw = inspect.Parameter.KEYWORD_ONLY
    names = [("final", final[0]), ("final_params", None)]
    if screening:
        names += [("pixel_screening", False), ("screening_params", None)]
    names += [("engine", "auto")]
    if face or guided:
        names += [("face_box", None), ("exemplars", None)]
    if guided:
        names += [("face_guided", False)]
    if edges:
        names += [("edge_predictor", None)]
    return [inspect.Parameter(n, kw, default=d) for n, d in names]


def _renamed(method, params, default_final, stacklevel=3):
    """``params`` with the old keyword names of :data:`RENAMED` moved to the new ones (with a warning).

    An old final-step parameter (``final_lam``) is added to the method's
    default final parameters, as it was before the rename.
    """
    old = [k for k in params if k in RENAMED]
    if not old:
        return params
    params = dict(params)
    for key in sorted(old, key=lambda k: isinstance(RENAMED[k], tuple)):  # the name first, then its params
        new = RENAMED[key]
        value = params.pop(key)
        if isinstance(new, tuple):
            base = params.get(new[0])
            if base is None:
                base = default_final[1] if params.get("final", default_final[0]) == default_final[0] else None
            params[new[0]] = {**(base or {}), new[1]: value}
            shown = f"{new[0]}={{{new[1]!r}: ...}}"
        else:
            params[new] = value
            shown = new
        warnings.warn(f"{method}: keyword {key!r} is renamed {shown}; the old name goes in the next release",
                      DeprecationWarning, stacklevel=stacklevel)
    return params


def blind_method(name, *, description, final=("hyper_laplacian", None), face=False, guided=False, edges=False,
                 screening=True, **meta):
    """Register a blind method ``fn(image, options, *, kernel_size, rng, target, **paper_params)``.

    The registered callable is ``method(image, *, kernel_size=None, rng=None,
    target=None, **paper_params, **shared_keywords)``: it validates the shared
    keywords (:func:`make_options`) and calls ``fn`` with them as ``options``.

    Parameters
    ----------
    name, description : str
        Registry name and one-line description.
    final : (str, dict or None)
        The method's default final step and its parameters.
    face : bool
        A face method (takes ``face_box`` and ``exemplars``; runs on whole
        photos through :mod:`~classicdeblur.blind.photo`).
    guided : bool
        The method can be guided by a face's structures (``face_guided``).
    edges : bool
        An edge-based method: it takes ``edge_predictor``
        (:mod:`~classicdeblur.blind.edges`).
    screening : bool
        The method has intermediate images that pixel screening can act on, and
        takes ``pixel_screening`` and ``screening_params`` (a method without an
        alternation says False, and refuses them).
    **meta
        More registry metadata (e.g. ``learn``, a prior learner).
    """

    def deco(fn):
        common = _common_parameters(final, face, guided, edges, screening)
        common_names = {p.name for p in common}
        own = [p for p in inspect.signature(fn).parameters.values()
               if p.kind is p.KEYWORD_ONLY and p.name not in ("kernel_size", "rng", "target")]
        clash = common_names & {p.name for p in own}
        if clash:  # pragma: no cover - a programming error
            raise TypeError(f"{name}: shared keywords {sorted(clash)} are handled by blind_method")

        def split(params):
            """``(options, paper_params)``: the shared keywords validated, and the method's own ones (as given)."""
            params = _renamed(name, params, final, stacklevel=4)
            bad = sorted(set(params) - common_names - {p.name for p in own})
            if bad:
                valid = ", ".join(p.name for p in own + common)
                raise InvalidParameterError(f"blind method {name!r} has no parameter "
                                            f"{', '.join(map(repr, bad))}; valid: {valid}")
            shared = {k: params.pop(k) for k in list(params) if k in common_names}
            if guided and not face and not shared.get("face_guided") and (
                    shared.get("face_box") is not None or shared.get("exemplars") is not None):
                raise InvalidParameterError(f"blind method {name!r} uses face_box and exemplars only with "
                                            "face_guided=True")
            return make_options(default_final=final, **{"final": final[0], **shared}), params

        @functools.wraps(fn)
        def method(image, *, kernel_size=None, rng=None, target=None, **params):
            options, params = split(params)
            return fn(image, options, kernel_size=kernel_size, rng=rng, target=target, **params)

        kw = inspect.Parameter.KEYWORD_ONLY
        head = [inspect.Parameter("image", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        head += [inspect.Parameter(n, kw, default=None) for n in ("kernel_size", "rng", "target")]
        method.__signature__ = inspect.Signature(head + own + common)
        method.split = split  # for callers that run the method's steps themselves (blind.batched)
        method.paper_defaults = {p.name: p.default for p in own}
        BLIND.register(name, description=description, face=face, guided=guided, edges=edges, screening=screening,
                       renamed=tuple(RENAMED), **meta)(method)
        return method

    return deco

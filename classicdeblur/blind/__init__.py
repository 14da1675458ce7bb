"""Blind deblurring methods, one module each, registered in :data:`BLIND`.

A blind method is a callable ``fn(image, *, kernel_size, rng, **params)``
taking a float image on the array module of the chosen device and returning
``(image, kernel, info)``. Modules listed in :data:`MODULES` are imported on
first use of :func:`registry`, so ``import classicdeblur`` stays light.
"""

from __future__ import annotations

import importlib

from .._registry import Registry

__all__ = ["BLIND", "MODULES", "prior_learners", "registry"]

#: The registry of blind methods.
BLIND = Registry("blind method")

#: Method modules (relative to this package) that register themselves in BLIND.
MODULES: tuple[str, ...] = ("cho2009", "krishnan2011", "shan2008", "xu2010", "exemplar", "anwar2018", "tian2015",
                            "pan2018", "nishiyama2010", "tian2016", "zhang2011", "hacohen2013")


def registry() -> Registry:
    """Import every method module once and return :data:`BLIND`.

    Examples
    --------
    >>> registry() is BLIND
    True
    """
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return BLIND


def prior_learners() -> dict:
    """The exemplar-prior learners the methods declared at registration (``learn=``).

    Returns
    -------
    dict
        Method name -> ``learn(db) -> dict[str, ndarray]``, in name order, for every
        registered method with a ``learn`` entry; pass it as ``learners`` to
        :func:`~classicdeblur.faces.exemplar_build.build_database` or
        :func:`~classicdeblur.faces.exemplar_learn.learn_priors`.

    Examples
    --------
    >>> learners = prior_learners()
    >>> sorted(learners), learners["anwar2018"].__name__
    (['anwar2018', 'tian2015'], 'learn_prior')
    """
    reg = registry()
    metas = {name: reg.meta(name) for name in reg.names()}
    return {name: meta["learn"] for name, meta in metas.items() if "learn" in meta}

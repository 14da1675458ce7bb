"""Explicit name -> object registries shared by the API, the CLI and the tests."""

from __future__ import annotations

import inspect

from .errors import InvalidParameterError

__all__ = ["Registry", "check_params"]


class Registry:
    """A small mapping from names to plug-ins.

    Parameters
    ----------
    kind : str
        What the registry holds (``"non-blind method"``, ``"kernel generator"``);
        used in error messages.

    Examples
    --------
    >>> reg = Registry("prior")
    >>> @reg.register("l2", description="quadratic")
    ... def l2(x):
    ...     return x
    >>> reg.names()
    ['l2']
    >>> reg.get("l1")
    Traceback (most recent call last):
    ...
    ValueError: unknown prior 'l1'; choose from: l2
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, object] = {}
        self._meta: dict[str, dict] = {}

    def register(self, name: str, **meta):
        """Decorator registering ``obj`` under ``name`` with free-form metadata."""

        def deco(obj):
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            self._meta[name] = dict(meta)
            return obj

        return deco

    def get(self, name: str):
        """Return the object registered as ``name``; unknown names list the valid ones."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            valid = ", ".join(self.names()) or "(none registered)"
            raise ValueError(f"unknown {self.kind} {name!r}; choose from: {valid}") from None

    def meta(self, name: str) -> dict:
        """Metadata given at registration (``description``, ``kind``, ...)."""
        self.get(name)
        return dict(self._meta[name])

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name) -> bool:
        return name in self._items

    def __iter__(self):
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


def check_params(fn, label, params, reserved=()):
    """Reject keyword parameters that ``fn`` does not take, naming those it does.

    Parameters
    ----------
    fn : callable
        A registered plug-in; its keyword-only parameters are the valid ones.
    label : str
        How to name it in the message (``"non-blind method 'wiener'"``).
    params : dict
    reserved : tuple of str
        Keyword-only parameters filled by the caller, not by users.

    Raises
    ------
    InvalidParameterError
        Also a ``TypeError``, as Python raises for an unexpected keyword.

    Examples
    --------
    >>> def f(x, *, lam=1.0):
    ...     return x
    >>> check_params(f, "method 'f'", {"lam": 2})
    >>> check_params(f, "method 'f'", {"mu": 2})
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidParameterError: method 'f' has no parameter 'mu'; valid: lam
    """
    sig = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in sig):
        return
    valid = [p.name for p in sig if p.kind is p.KEYWORD_ONLY and p.name not in reserved]
    bad = sorted(set(params) - set(valid))
    if bad:
        raise InvalidParameterError(
            f"{label} has no parameter {', '.join(map(repr, bad))}; valid: {', '.join(valid) or '(none)'}"
        )

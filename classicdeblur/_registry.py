"""Explicit name -> object registries shared by the API, the CLI and the tests."""

from __future__ import annotations

__all__ = ["Registry"]


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

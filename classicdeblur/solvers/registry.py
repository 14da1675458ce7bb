"""The registry of non-blind methods (name -> function), filled by :mod:`.fourier` and :mod:`.iterative`."""

from .._registry import Registry

__all__ = ["NONBLIND"]

#: Registry of the non-blind methods (name -> function).
NONBLIND = Registry("non-blind method")

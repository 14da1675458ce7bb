"""Learned face priors, trained here and shipped in the repository's ``models/`` folder.

* :mod:`~classicdeblur.learned.network`: the edge network (a small U-Net that
  predicts the sharp face from the blurred one) and its forward pass written
  once against the array module (NumPy on the CPU, CuPy on the GPU): no
  torch at run time.
* :mod:`~classicdeblur.learned.models`: the ``models/`` folder, its manifest
  and the sha256 check on load.
* :mod:`~classicdeblur.learned.data`: the training faces (never the
  benchmark's) and the synthetic blur (the project's own kernel generators,
  never the Levin or Lai kernels).
* :mod:`~classicdeblur.learned.train`: training under the optional ``torch``
  extra (``classicdeblur learn edges``).

The plug-in point in the blind methods is the edge-predictor interface of
:mod:`classicdeblur.blind.edges` (METHODS.md section 4).
"""

from __future__ import annotations

__all__ = ["data", "models", "network", "train"]

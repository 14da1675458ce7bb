"""Solvers: conjugate gradients and the non-blind deconvolution methods."""

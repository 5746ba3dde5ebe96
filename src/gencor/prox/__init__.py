"""Proximal maps of the priors and the projection used by the kernel step."""

from gencor.prox.lp import lp_threshold, prox_l0, prox_l1, prox_lp
from gencor.prox.simplex import project_simplex

__all__ = ["lp_threshold", "project_simplex", "prox_l0", "prox_l1", "prox_lp"]

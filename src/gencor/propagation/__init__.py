"""The Generator-Corrector propagation (Algorithm 1 of Liu et al., ACM MM 2018)."""

from gencor.propagation.gcm import (
    DataFidelity,
    Generator,
    IdentityGenerator,
    LpPrior,
    PropagationResult,
    ShrinkageGenerator,
    propagate,
)

__all__ = [
    "DataFidelity",
    "LpPrior",
    "Generator",
    "IdentityGenerator",
    "ShrinkageGenerator",
    "PropagationResult",
    "propagate",
]

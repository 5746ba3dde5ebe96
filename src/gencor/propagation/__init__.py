"""The Generator-Corrector propagation (Algorithm 1 of Liu et al., ACM MM 2018)."""

from gencor.propagation.fidelity import DataFidelity, Fidelity, SplitFidelity
from gencor.propagation.gcm import (
    Generator,
    IdentityGenerator,
    LpPrior,
    Prior,
    PropagationResult,
    ShrinkageGenerator,
    WaveletPrior,
    propagate,
)

__all__ = [
    "DataFidelity",
    "Fidelity",
    "Generator",
    "IdentityGenerator",
    "LpPrior",
    "Prior",
    "PropagationResult",
    "ShrinkageGenerator",
    "SplitFidelity",
    "WaveletPrior",
    "propagate",
]

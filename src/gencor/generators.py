"""The Generators of the deblurring estimator, by name (``gencor deblur --generator``).

The registry sits above the estimator: :func:`gencor.kernels.estimate.estimate_kernel` takes any
factory and never names a network, and this module imports the networks (and torch) only when the
``"cnn"`` factory is first used.
"""

from __future__ import annotations

from gencor.kernels.estimate import GeneratorFactory, identity_generator, shrinkage_generator
from gencor.propagation.gcm import Generator, LpPrior

#: The names, in the order the CLI lists them (the first is the default).
NAMES = ("cnn", "none", "shrink")


def cnn_generator(prior: LpPrior, gammas: tuple[float, ...], scale: int, iteration: int, level: int) -> Generator | None:
    """The shipped CNN Generator (see :mod:`gencor.models.generator`)."""
    from gencor.models.generator import cnn_generator as factory

    return factory(prior, gammas, scale, iteration, level)


GENERATORS: dict[str, GeneratorFactory] = {"cnn": cnn_generator, "none": identity_generator, "shrink": shrinkage_generator}


def generator_factory(name: str) -> GeneratorFactory:
    """The factory called ``name``; an unknown name is a ``ValueError``."""
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; choose from {', '.join(NAMES)}")
    return GENERATORS[name]

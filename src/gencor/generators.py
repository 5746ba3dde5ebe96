"""The Generators of the deblurring estimator, by name (``gencor deblur --generator``).

The registry sits above the estimator: :func:`gencor.kernels.estimate.estimate_kernel` takes any
factory and never names a network. Nothing heavy is imported here until a factory is asked for,
so the command line can list the names without loading the estimator (or torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gencor.kernels.estimate import GeneratorFactory
    from gencor.propagation.final import FinalStage
    from gencor.propagation.gcm import Generator, LpPrior

#: The names, in the order the CLI lists them (the first is the default). The default is the
#: Corrector alone: the shipped network of the kernel step changed no measured number (Levin,
#: the noisy set and 32 real photos, docs/bench/ablation*.md) and cost a third of the estimation
#: (issue #32, docs/bench/speed.md); it stays for the ablation and ``--generator cnn``.
NAMES = ("none", "cnn", "shrink")
DEFAULT_GENERATOR = NAMES[0]
#: The final deconvolution's methods (:func:`gencor.deconvolve`): "auto" (plug-and-play on noisy
#: photos, else the MAP solve), the MAP solve with a hyper-Laplacian prior, the GCM propagation with
#: the denoiser as the Generator, or the same without the Corrector (plug-and-play splitting: no
#: guarantee on ``Psi``).
DECONVOLUTION_METHODS = ("auto", "hyper-laplacian", "denoiser", "plug-and-play")
DEFAULT_DECONVOLUTION = "hyper-laplacian"


def cnn_generator(prior: LpPrior, gammas: tuple[float, ...], scale: int, iteration: int, level: int) -> Generator | None:
    """The shipped CNN Generator (see :mod:`gencor.models.generator`)."""
    from gencor.models.generator import cnn_generator as factory

    return factory(prior, gammas, scale, iteration, level)


def generator_factory(name: str) -> GeneratorFactory:
    """The factory called ``name``; an unknown name is a ``ValueError``."""
    from gencor.kernels.estimate import identity_generator, shrinkage_generator

    factories: dict[str, GeneratorFactory] = {"cnn": cnn_generator, "none": identity_generator, "shrink": shrinkage_generator}
    if name not in factories:
        raise ValueError(f"unknown generator {name!r}; choose from {', '.join(NAMES)}")
    return factories[name]


def final_stage() -> FinalStage:
    """The final stage's Generator and blur score: the shipped networks (loads PyTorch)."""
    from gencor.models.restorer import shipped_stage

    return shipped_stage()

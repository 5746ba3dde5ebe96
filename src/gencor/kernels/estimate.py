"""Blind kernel estimation: the GCM propagation on image gradients inside a coarse-to-fine pyramid.

At each scale, alternately (i) run Algorithm 1 for the latent gradients ``u = (u_x, u_y)`` with the
current kernel, ``Psi(u) = 1/2 sum_d ||k * u_d - d_d y||^2 + lam ||u||_p^p``, and (ii) solve the
kernel step on the simplex. ``lam`` decays over the iterations, so that the first kernels are
fitted to the strongest edges only, which is what makes the alternation avoid the no-blur solution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from skimage.transform import resize

from gencor.kernels.postprocess import center_kernel, clean_kernel
from gencor.kernels.step import kernel_step
from gencor.operators.boundary import extend_periodic
from gencor.operators.convolution import Convolution
from gencor.operators.gradient import Gradient
from gencor.propagation.gcm import (
    DataFidelity,
    Generator,
    IdentityGenerator,
    LpPrior,
    ShrinkageGenerator,
    propagate,
)

#: Called as ``progress(scale, n_scales, iteration, n_iterations)``.
ProgressFn = Callable[[int, int, int, int], None]
#: Builds the Generator for a stage ladder: ``factory(prior, gammas, scale)``.
GeneratorFactory = Callable[[LpPrior, tuple[float, ...], int], Generator | None]


@dataclass
class ScaleRecord:
    """What happened at one pyramid scale: its size, its final kernel and ``Psi`` of every run."""

    image_shape: tuple[int, int]
    kernel_size: int
    kernel: np.ndarray
    psi: list[np.ndarray] = field(default_factory=list)
    accepted: list[np.ndarray] = field(default_factory=list)


@dataclass
class KernelEstimate:
    """The estimated kernel (convolution convention, sums to 1) and the per-scale history."""

    kernel: np.ndarray
    scales: list[ScaleRecord]


def shrinkage_generator(prior: LpPrior, gammas: tuple[float, ...], scale: int) -> Generator:
    """The analytic default Generator (see :class:`ShrinkageGenerator`)."""
    return ShrinkageGenerator(prior, gammas)


def identity_generator(prior: LpPrior, gammas: tuple[float, ...], scale: int) -> Generator:
    """No Generator: the Corrector-only variant."""
    return IdentityGenerator()


#: Generators selectable by name (``gencor deblur --generator``).
GENERATORS: dict[str, GeneratorFactory] = {"shrink": shrinkage_generator, "none": identity_generator}


def pyramid_sizes(kernel_size: int, ratio: float = np.sqrt(0.5)) -> list[tuple[float, int]]:
    """``(image scale, kernel size)`` from coarsest to finest; the coarsest kernel is 3 to 5 px."""
    levels = []
    scale = 1.0
    while True:
        k = int(np.ceil(kernel_size * scale)) // 2 * 2 + 1
        levels.append((scale, max(k, 3)))
        if k <= 5:
            break
        scale *= ratio
    return levels[::-1]


def _resize_kernel(k: np.ndarray, size: int) -> np.ndarray:
    k = np.clip(resize(k, (size, size), order=1, anti_aliasing=False), 0.0, None)
    return k / k.sum()


def estimate_kernel(
    blurred: np.ndarray,
    kernel_size: int,
    *,
    lam: float = 0.02,
    lam_decay: float = 0.85,
    lam_min: float = 0.004,
    p: float = 0.8,
    eta: float = 0.05,
    iterations: int = 8,
    stages: int = 6,
    gamma_range: tuple[float, float] = (0.1, 1.0),
    generator: GeneratorFactory = shrinkage_generator,
    corrector: bool = True,
    progress: ProgressFn | None = None,
) -> KernelEstimate:
    """Estimate the blur kernel of a gray image in [0, 1].

    Parameters
    ----------
    blurred
        ``(H, W)`` float image.
    kernel_size
        Odd side of the kernel support; it should exceed the longest blur streak.
    lam, lam_decay, lam_min
        Weight of the hyper-Laplacian prior at the first iteration of the coarsest scale, its
        decay per iteration (carried on across scales) and its floor.
    p
        Exponent of the prior.
    eta
        Weight of the ``||k||^2`` term of the kernel step.
    iterations
        Alternations of latent and kernel steps per scale.
    stages
        Stages ``T`` of each propagation run.
    gamma_range
        Warm-start weights of the first and last stage (geometric in between); near the
        Lipschitz constant 1 the Corrector accepts the shrinkage proposals, far below it rejects them.
    generator
        Factory of the Generator for each run (``None`` from it means identity).
    corrector
        Keep the monotone Corrector (``False`` only for the ablation).
    progress
        Optional callback.
    """
    levels = pyramid_sizes(kernel_size)
    h, w = blurred.shape
    k = np.zeros((levels[0][1],) * 2)
    k[levels[0][1] // 2, levels[0][1] // 2] = 1.0
    records: list[ScaleRecord] = []
    lam_it = lam
    for s_idx, (scale, ks) in enumerate(levels):
        if k.shape[0] != ks:
            k = _resize_kernel(k, ks)
        shape = (max(int(round(h * scale)), 2 * ks), max(int(round(w * scale)), 2 * ks))
        y = resize(blurred, shape, order=1, anti_aliasing=scale < 1) if scale < 1 else blurred
        y_ext = extend_periodic(y, ks)
        g = Gradient(y_ext.shape).forward(y_ext)
        # Each scale restarts the latent from the observed gradients: the first run deconvolves them
        # with the upsampled kernel. (Upsampled latents from the coarser scale measured worse.)
        u = g.copy()
        # The kernel step only trusts the frame's interior: near the border the observation mixes
        # in scene content the latent cannot know about, which would bias the kernel.
        margin = ks // 2 + 1
        interior = np.zeros(y_ext.shape)
        interior[margin : shape[0] - margin, margin : shape[1] - margin] = 1.0
        record = ScaleRecord(image_shape=shape, kernel_size=ks, kernel=k)
        for it in range(iterations):
            prior = LpPrior(lam_it, p)
            gammas = tuple(np.geomspace(*gamma_range, stages))
            data = DataFidelity(Convolution(k, y_ext.shape), g)
            run = propagate(
                data,
                prior,
                u,
                gammas=gammas,
                generator=generator(prior, gammas, s_idx),
                corrector=corrector,
            )
            u = run.u
            record.psi.append(run.psi)
            record.accepted.append(run.accepted)
            k = clean_kernel(kernel_step(u * interior, g * interior, ks, eta=eta))
            lam_it = max(lam_it * lam_decay, lam_min)
            if progress is not None:
                progress(s_idx, len(levels), it, iterations)
        k = center_kernel(k)
        record.kernel = k
        records.append(record)
    return KernelEstimate(kernel=k, scales=records)

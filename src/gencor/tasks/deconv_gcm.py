"""Non-blind deconvolution as the GCM propagation with a denoiser as the Generator.

Stage ``t`` of Algorithm 1 on the image: the warm start ``u0 = argmin f(u) + gamma_t/2 ||u - u^t||^2``
(one FFT solve on the periodically extended frame) is denoised at the level ``sigma_t``, and the
Corrector keeps the proposal only if ``Psi = f + phi`` does not rise, then takes a proximal
gradient step. ``sigma_t`` falls geometrically from :data:`SIGMA_START` to the photo's noise, and
``gamma_t = RHO sigma^2 / sigma_t^2`` follows it: the schedule of plug-and-play splitting (DPIR,
Zhang et al. 2021), here with the Corrector's guarantee that ``Psi`` never increases.

``phi`` is a hyper-Laplacian on orthonormal Haar details, whose prox is exact (what the Corrector
needs). Its weight is :data:`PHI_GAIN` ``sigma^2``, and the proximal step is a tenth of ``1/L``:
with today's deconvolution weight (20 ``sigma^2``) and the full step, ``Psi``'s minimiser fits the
noise, the Corrector refused every proposal after the first and the result lost 2 dB to the plain
splitting (docs/bench/denoise_deconv.md). ``f`` has no weights: near clipped lights
:func:`gencor.tasks.deconv.deconvolve` lets its weighted MAP solve answer (the propagation with
weights lost up to 4 dB there). ``corrector=False`` runs the plain splitting (the last denoised
image is the result).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gencor.operators.boundary import extend_periodic
from gencor.operators.convolution import Convolution
from gencor.operators.wavelet import Wavelet
from gencor.propagation.fidelity import DataFidelity
from gencor.propagation.gcm import PropagationResult, WaveletPrior, propagate

#: The denoiser's first level and the splitting weight's constant (DPIR's deblurring settings).
SIGMA_START = 49 / 255
RHO = 0.23
STAGES = 8
#: The last level is never below this: a near-zero level would make the first solves inverse filters.
SIGMA_FLOOR = 0.003
#: Haar levels of ``phi`` (the grid is extended to a multiple of ``2**LEVELS``).
LEVELS = 3
#: ``phi``'s weight is ``PHI_GAIN sigma^2`` (at least ``PHI_FLOOR``) and the Corrector's proximal
#: step ``STEP_SCALE / L``: chosen on training photos so that the Corrector keeps the proposals
#: that gain (docs/bench/denoise_deconv.md).
PHI_GAIN = 3.0
PHI_FLOOR = 1e-5
STEP_SCALE = 0.1

#: ``denoise(stack, sigma)``: a ``(C, H, W)`` stack at noise level ``sigma`` -> the same shape.
Denoise = Callable[[np.ndarray, float], np.ndarray]


def schedule(sigma: float, stages: int = STAGES, *, start: float = SIGMA_START, rho: float = RHO) -> tuple[np.ndarray, np.ndarray]:
    """The denoiser's levels ``sigma_t`` and the warm-start weights ``gamma_t`` of each stage."""
    end = max(sigma, SIGMA_FLOOR)
    sigmas = np.geomspace(max(start, end), end, stages)
    return sigmas, rho * end**2 / sigmas**2


@dataclass(frozen=True)
class DenoiserGenerator:
    """The Generator of stage ``t``: the denoiser at level ``sigmas[t]``; gray and color stacks go
    in whole, other channel counts plane by plane."""

    denoise: Denoise
    sigmas: tuple[float, ...]

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        level = float(self.sigmas[min(stage, len(self.sigmas) - 1)])
        stack = u0.reshape(-1, *u0.shape[-2:])
        whole = len(stack) in (1, 3)
        out = np.asarray(self.denoise(stack, level)) if whole else np.stack([np.asarray(self.denoise(p[None], level))[0] for p in stack])
        # A result of the wrong size goes back as it is: the Corrector refuses it.
        return out.reshape(u0.shape) if out.size == u0.size else out


def deconvolve_gcm(
    y: np.ndarray,
    kernel: np.ndarray,
    denoise: Denoise,
    *,
    sigma: float,
    stages: int = STAGES,
    corrector: bool = True,
    rho: float = RHO,
    start: float = SIGMA_START,
    phi_gain: float = PHI_GAIN,
    step_scale: float = STEP_SCALE,
) -> tuple[np.ndarray, PropagationResult]:
    """Deconvolve ``(C, H, W)`` planes blurred by ``kernel`` with noise ``sigma``.

    Returns the sharp planes (not clipped to [0, 1]) and the propagation's record (``Psi`` per
    stage, which proposals the Corrector accepted).
    """
    h, w = y.shape[-2:]
    size = max(kernel.shape)
    # Single precision, as the MAP solve: its rounding is far below an 8-bit level.
    y_ext = extend_periodic(y, size, multiple=2**LEVELS).astype(np.float32)
    shape = y_ext.shape[-2:]
    data = DataFidelity(Convolution(kernel / kernel.sum(), shape, dtype=np.float32), y_ext)
    prior = WaveletPrior(Wavelet(shape, levels=LEVELS), max(phi_gain * max(sigma, SIGMA_FLOOR) ** 2, PHI_FLOOR))
    sigmas, gammas = schedule(sigma, stages, start=start, rho=rho)
    run = propagate(data, prior, y_ext, gammas=tuple(gammas), generator=DenoiserGenerator(denoise, tuple(sigmas)), corrector=corrector, step_scale=step_scale)
    return run.u[..., :h, :w], run

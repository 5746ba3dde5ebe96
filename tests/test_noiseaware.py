"""The noise-aware estimator: each step alone, then the whole coarse-to-fine run."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import convolve

from conftest import shapes_image
from gencor.assess import kernel_similarity
from gencor.kernels import random_motion_kernel
from gencor.kernels.noiseaware import (
    NoiseAwareConfig,
    _Spectra,
    estimate_kernel_noise_aware,
    kernel_step,
    latent_step,
    pyramid,
    taper,
)
from gencor.metrics import image_scores


def _case(seed: int, n: int = 160, size: int = 15, sigma: float = 0.01) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = shapes_image(n, seed)
    k = random_motion_kernel(size, rng, extent=size - 2)
    return x, k, convolve(x, k, mode="wrap") + sigma * rng.standard_normal(x.shape)


def test_the_kernel_step_recovers_the_kernel_from_the_true_latent() -> None:
    """Noise-free and periodic, no smoothness and no l1: the closed form gives the kernel back."""
    x, k, _ = _case(0)
    y = convolve(x, k, mode="wrap")
    assert kernel_similarity(kernel_step(_Spectra(y), x, 15, 0.0, 0.0, 1e3), k) > 0.99


def test_the_kernel_step_returns_a_centred_nonnegative_kernel_summing_to_one() -> None:
    x, _, y = _case(1)
    est = kernel_step(_Spectra(y), x, 15, 2.0, 0.5, 1e3)
    assert est.shape == (15, 15) and est.min() >= 0 and est.sum() == pytest.approx(1.0)


def test_the_latent_step_with_the_true_kernel_is_sharper_than_the_photo() -> None:
    x, k, y = _case(2)
    u = latent_step(_Spectra(y), k, y, 1e-3, 2e-3, 1e5, 2.0)
    assert image_scores(u, x)["psnr"] > image_scores(y, x)["psnr"] + 2.0


@pytest.mark.parametrize("seed", [0, 2])
def test_a_noisy_shake_is_recovered(seed: int) -> None:
    _, k, y = _case(seed)
    assert kernel_similarity(estimate_kernel_noise_aware(y, 15).kernel, k) > 0.7


def test_the_kernel_does_not_depend_on_the_exposure() -> None:
    """The weights act on the photo stretched to [0, 1]: a darker, flatter copy gives the same kernel."""
    _, _, y = _case(1)
    a = estimate_kernel_noise_aware(y, 15).kernel
    b = estimate_kernel_noise_aware(0.5 * y + 0.2, 15).kernel
    assert kernel_similarity(a, b) > 0.99


def test_the_pyramid_goes_down_to_a_few_pixels() -> None:
    assert pyramid((640, 640), 83, 0.5) == [83, 41, 21, 11, 5, 3]
    assert pyramid((320, 320), 83, 0.5) == [83, 41, 21, 11, 5]  # the image stops at 16 px or more


def test_the_taper_keeps_the_middle_and_never_eats_more_than_a_quarter_per_side() -> None:
    rng = np.random.default_rng(0)
    y = rng.random((120, 120))
    out = taper(y, 83)
    assert np.array_equal(out[30:90, 30:90], y[30:90, 30:90])
    assert not np.allclose(out[0], y[0])


def test_every_scale_is_recorded_from_coarse_to_fine() -> None:
    _, _, y = _case(0)
    est = estimate_kernel_noise_aware(y, 15, sigma=0.01)
    assert [s.kernel_size for s in est.scales] == pyramid(y.shape, 15, 0.5)[::-1]
    assert all(len(s.iterates) == NoiseAwareConfig().iterations for s in est.scales)


def test_a_flat_photo_gives_a_finite_kernel() -> None:
    est = estimate_kernel_noise_aware(np.full((64, 64), 0.5), 9)
    assert np.isfinite(est.kernel).all() and est.kernel.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [("lam", -1.0, ValueError), ("iterations", 0, ValueError), ("ratio", 1.0, ValueError), ("l1", True, TypeError), ("iterations", 2.5, ValueError)],
)
def test_bad_settings_are_refused(field: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=field):
        NoiseAwareConfig(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("sigma", [-0.1, float("nan")])
def test_a_bad_noise_level_is_refused(sigma: float) -> None:
    with pytest.raises(ValueError, match="sigma"):
        estimate_kernel_noise_aware(np.zeros((64, 64)), 9, sigma=sigma)


def test_a_config_of_another_type_is_refused() -> None:
    with pytest.raises(TypeError, match="NoiseAwareConfig"):
        estimate_kernel_noise_aware(np.zeros((64, 64)), 9, config=object())  # type: ignore[arg-type]


def test_the_family_runs_on_noisy_photos_only() -> None:
    from gencor.tasks.deblur.plan import runs_noise_aware

    assert runs_noise_aware(0.01) and runs_noise_aware(0.02)
    assert not runs_noise_aware(0.002)  # nearly clean: the other families do better

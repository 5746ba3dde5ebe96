"""Dot-product (adjoint) tests for every operator, both directions, and the exact solves."""

from __future__ import annotations

import numpy as np
import pytest

from gencor.kernels import random_motion_kernel
from gencor.operators import Convolution, FilterFlow, Gradient, KernelConvolution, LinearOperator, Mask, Wavelet, extend_periodic, grid_windows
from gencor.operators.cg import half_spectrum_dot, pcg
from gencor.operators.convolution import psf2otf
from gencor.operators.filterflow import extend_hats, grid_hats
from gencor.propagation import DataFidelity


def _operators(rng: np.random.Generator) -> list[LinearOperator]:
    shape = (24, 30)
    k = rng.uniform(size=(5, 7))
    return [
        Convolution(k, shape),
        KernelConvolution(rng.normal(size=(2, *shape)), (5, 7)),
        KernelConvolution(rng.normal(size=shape), (3, 3)),
        Gradient(shape),
        Mask(rng.uniform(size=shape) > 0.4),
        Wavelet((24, 32), levels=3),
        FilterFlow([rng.uniform(size=(5, 5)) for _ in range(6)], extend_hats(grid_hats(20, 2), 24), extend_hats(grid_hats(26, 3), 30)),
    ]


@pytest.mark.parametrize("index", range(7))
def test_dot_product(index: int, rng: np.random.Generator) -> None:
    op = _operators(rng)[index]
    for _ in range(3):
        x = rng.normal(size=op.in_shape)
        y = rng.normal(size=op.out_shape)
        lhs = np.vdot(op.forward(x), y)
        rhs = np.vdot(x, op.adjoint(y))
        assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)
        # and the other way round: <A^T y, x> = <y, A x>
        assert np.vdot(op.adjoint(y), x) == pytest.approx(np.vdot(y, op.forward(x)), rel=1e-10, abs=1e-10)


def test_convolution_is_true_convolution(rng: np.random.Generator) -> None:
    """An off-centre impulse moves the image the way ``y = k * x`` says (not correlation)."""
    k = np.zeros((5, 5))
    k[2, 4] = 1.0  # offset +2 in x
    x = rng.normal(size=(16, 16))
    y = Convolution(k, x.shape).forward(x)
    np.testing.assert_allclose(y, np.roll(x, 2, axis=1), atol=1e-12)


@pytest.mark.parametrize("index", [0, 3, 4])
def test_solve_normal_is_exact(index: int, rng: np.random.Generator) -> None:
    op = _operators(rng)[index]
    rhs = rng.normal(size=op.in_shape)
    x = op.solve_normal(rhs, 0.3)
    np.testing.assert_allclose(op.adjoint(op.forward(x)) + 0.3 * x, rhs, atol=1e-9)


def test_warm_start_minimises(rng: np.random.Generator) -> None:
    op = Convolution(rng.uniform(size=(5, 5)), (20, 20))
    y, a = rng.normal(size=(20, 20)), rng.normal(size=(20, 20))
    x = DataFidelity(op, y).warm_start(a, 0.5)
    grad = op.adjoint(op.forward(x) - y) + 0.5 * (x - a)
    assert np.abs(grad).max() < 1e-9


def test_kernel_unconstrained_solve_recovers_kernel(rng: np.random.Generator) -> None:
    u = rng.normal(size=(2, 40, 40))
    k = random_motion_kernel(9, rng)
    y = KernelConvolution(u, (9, 9)).forward(k)
    est = KernelConvolution(u, (9, 9)).solve_unconstrained(y, 1e-8)
    np.testing.assert_allclose(est, k, atol=1e-6)


def test_lipschitz_bounds_normal_operator(rng: np.random.Generator) -> None:
    for op in _operators(rng)[:1] + _operators(rng)[3:]:
        x = rng.normal(size=op.in_shape)
        for _ in range(30):  # power iteration
            x = op.adjoint(op.forward(x))
            x /= np.linalg.norm(x)
        assert np.vdot(x, op.adjoint(op.forward(x))) <= op.lipschitz * (1 + 1e-9)


def test_extend_periodic_keeps_frame_and_is_smooth(rng: np.random.Generator) -> None:
    img = rng.uniform(size=(30, 40))
    ext = extend_periodic(img, 9)
    assert ext.shape[0] >= 39 and ext.shape[1] >= 49
    np.testing.assert_array_equal(ext[:30, :40], img)
    band = np.ones(ext.shape, dtype=bool)
    band[:30, :40] = False
    # Harmonic: every band pixel is the mean of its four periodic neighbours.
    lap = 4 * ext - sum(np.roll(ext, s, axis=a) for s in (1, -1) for a in (0, 1))
    assert np.abs(lap[band]).max() < 1e-9
    # No jump across the wrap-around: the largest difference stays within the image's own range.
    assert np.abs(np.diff(np.concatenate([ext, ext[:1]], axis=0), axis=0)).max() <= 1.0


def test_psf2otf_rejects_large_kernel() -> None:
    with pytest.raises(ValueError):
        psf2otf(np.ones((9, 9)), (5, 5))


def test_split_fidelity_gradient_warm_start_and_lipschitz(rng: np.random.Generator) -> None:
    from gencor.propagation import SplitFidelity

    shape = (18, 22)
    y = rng.uniform(size=shape)
    data = SplitFidelity(Convolution(random_motion_kernel(5, rng), shape), y, 0.7)
    u, d = rng.normal(size=(2, *shape)), rng.normal(size=(2, *shape))
    f0, grad = data.value(u), data.grad(u)
    eps = 1e-6
    numeric = (data.value(u + eps * d) - data.value(u - eps * d)) / (2 * eps)
    assert numeric == pytest.approx(np.vdot(grad, d), rel=1e-6)
    # f is the minimum over x: any other image gives a larger value
    x = data.latent(u)
    other = x + 0.01 * rng.normal(size=shape)
    g = Gradient(shape)

    def inner(img: np.ndarray) -> float:
        r1 = np.fft.irfft2(np.fft.rfft2(img) * data.k_otf, s=shape) - y
        r2 = g.forward(img) - u
        return 0.5 * np.vdot(r1, r1) + 0.35 * np.vdot(r2, r2)

    assert inner(x) == pytest.approx(f0, rel=1e-9) and inner(other) > f0
    # warm start: stationarity of f(u) + gamma/2 ||u - a||^2
    a = rng.normal(size=(2, *shape))
    w = data.warm_start(a, 0.4)
    assert np.abs(data.grad(w) + 0.4 * (w - a)).max() < 1e-9
    # L = beta bounds the curvature
    d /= np.linalg.norm(d)
    curvature = data.value(u + d) - 2 * f0 + data.value(u - d)
    assert curvature <= data.lipschitz * (1 + 1e-9)


def test_wavelet_is_orthonormal_on_stacks(rng: np.random.Generator) -> None:
    w = Wavelet((16, 24), levels=2)
    x = rng.normal(size=(3, 16, 24))
    c = w.forward(x)
    assert np.linalg.norm(c) == pytest.approx(np.linalg.norm(x))
    np.testing.assert_allclose(w.adjoint(c), x, atol=1e-12)
    assert 0 < w.detail.sum() < w.detail.size
    with pytest.raises(ValueError, match="multiple of 4"):
        Wavelet((18, 24), levels=2)


def test_filter_flow_windows_and_the_uniform_case(rng: np.random.Generator) -> None:
    shape = (40, 52)
    w = grid_windows(shape, (3, 4))
    assert w.shape == (12, *shape) and w.min() >= 0
    np.testing.assert_allclose(w.sum(axis=0), 1.0, atol=1e-12)
    rows, cols = extend_hats(grid_hats(40, 3), 48), extend_hats(grid_hats(52, 4), 60)
    assert rows.min() >= 0 and cols.min() >= 0
    np.testing.assert_allclose(np.outer(rows.sum(axis=0), cols.sum(axis=0)), 1.0, atol=1e-12)
    big = (48, 60)
    k = random_motion_kernel(9, rng)
    x = rng.uniform(size=big)
    # One window is the uniform blur; the same kernel in every window too.
    np.testing.assert_allclose(FilterFlow([k], np.ones((1, 48)), np.ones((1, 60))).forward(x), Convolution(k, big).forward(x), atol=1e-12)
    np.testing.assert_allclose(FilterFlow([k] * 12, rows, cols).forward(x), Convolution(k, big).forward(x), atol=1e-12)
    # Each part is convolved on a crop of its window's support: the same as on the whole domain.
    kernels = [random_motion_kernel(9, rng) for _ in range(12)]
    op = FilterFlow(kernels, rows, cols)
    windows = np.einsum("ih,jw->ijhw", rows, cols).reshape(12, *big)
    dense = sum(Convolution(kk, big).forward(ww * x) for kk, ww in zip(kernels, windows, strict=True))
    np.testing.assert_allclose(op.forward(x), dense, atol=1e-12)
    assert np.vdot(op.forward(x), op.forward(x)) <= op.lipschitz * np.vdot(x, x)
    with pytest.raises(ValueError, match="one kernel per window"):
        FilterFlow([k], rows, cols)
    with pytest.raises(ValueError, match="does not fit"):
        grid_hats(4, 5)


@pytest.mark.parametrize("width", [16, 17])
def test_half_spectrum_dot_is_the_image_inner_product(width: int, rng: np.random.Generator) -> None:
    a, b = rng.normal(size=(2, 3, 12, width))
    dot = half_spectrum_dot(width)
    # Parseval: the half spectra's product is the images' times the number of pixels.
    assert dot(np.fft.rfft2(a), np.fft.rfft2(b)) == pytest.approx(12 * width * float(np.vdot(a, b)), rel=1e-9)


def test_pcg_on_half_spectra_follows_pcg_on_images(rng: np.random.Generator) -> None:
    """The weighted deconvolution system, solved on images and on half spectra, gives the same
    iterates: the two are one algorithm in two coordinates."""
    shape = (20, 15)
    otf = psf2otf(rng.uniform(size=(5, 5)), shape)
    weight = (rng.uniform(size=shape) > 0.2).astype(float)
    reg = 0.05 * np.abs(psf2otf(np.array([[1.0, -1.0]]), shape)) ** 2 + 1e-3
    precond = np.abs(otf) ** 2 + reg

    def apply_hat(v: np.ndarray) -> np.ndarray:
        return np.conj(otf) * np.fft.rfft2(weight * np.fft.irfft2(otf * v, s=shape)) + reg * v

    def apply(v: np.ndarray) -> np.ndarray:
        return np.fft.irfft2(apply_hat(np.fft.rfft2(v)), s=shape)

    def m_inv(r: np.ndarray) -> np.ndarray:
        return np.fft.irfft2(np.fft.rfft2(r) / precond, s=shape)

    rhs, x0 = rng.normal(size=(2, *shape))
    for iterations in (1, 3):
        on_images = pcg(apply, m_inv, rhs, x0, iterations)
        on_spectra = pcg(apply_hat, lambda r: r / precond, np.fft.rfft2(rhs), np.fft.rfft2(x0), iterations, dot=half_spectrum_dot(shape[1]))
        np.testing.assert_allclose(np.fft.irfft2(on_spectra, s=shape), on_images, atol=1e-9)
    # And CG gets somewhere: more iterations, smaller residual.
    residual = [np.linalg.norm(apply(pcg(apply, m_inv, rhs, x0, n)) - rhs) for n in (1, 10)]
    assert residual[1] < 0.1 * residual[0]

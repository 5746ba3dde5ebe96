"""The benchmark protocol: alignment up to shift and kernel similarity."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from conftest import shapes_image
from gencor.metrics import align_upto_shift, image_scores, kernel_similarity


def test_alignment_undoes_integer_and_subpixel_shifts() -> None:
    x = shapes_image(96)
    for shift in ((3, -4), (2.5, 1.25)):
        moved = ndimage.shift(x, shift, order=1, mode="nearest")
        scores = image_scores(moved, x)
        unaligned = 10 * np.log10(1 / np.mean((moved - x)[15:-15, 15:-15] ** 2))
        assert scores["psnr"] > unaligned + 10
        assert scores["ssim"] > 0.95


def test_alignment_keeps_sizes() -> None:
    x = shapes_image(64)
    a, r = align_upto_shift(x, x)
    assert a.shape == r.shape == (34, 34)
    assert np.array_equal(a, r)


def test_kernel_similarity_is_shift_invariant() -> None:
    k = np.zeros((9, 9))
    k[4, 2:7] = 0.2
    assert kernel_similarity(np.roll(k, 2, axis=0), k) == 1.0 or abs(kernel_similarity(np.roll(k, 2, axis=0), k) - 1) < 1e-12
    assert kernel_similarity(k, k.T) < 0.5

"""Issue #32, item 4: the 12-megapixel bench photo deconvolved in luma and chroma, the chroma at
half resolution, against today's three full RGB planes: seconds and PSNR against the sharp mosaic.

Luma ``Y = RGB @ LUMA``; the two chroma planes ``(B - Y) / 2 + 1/2`` and ``(R - Y) / 2 + 1/2`` (in
[0, 1], as :func:`gencor.deconvolve` asks; the blur is linear, so each plane is blurred by the same
kernel). The half-resolution route averages 2 x 2 blocks, halves the kernel, deconvolves and
upsamples bilinearly. Every route uses the true kernel and the default prior weight of each plane.
Nothing is written in the repository.

    python scripts/experiments/chroma_route_12mp.py
"""

from __future__ import annotations

import time

import numpy as np
from skimage.transform import resize

from deconv_steps_12mp import mosaic_case
from gencor.kernels.estimate import resize_kernel
from gencor.layout import LUMA
from gencor.tasks.deconv import deconvolve


def rgb_from(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    b, r = y + 2 * (cb - 0.5), y + 2 * (cr - 0.5)
    g = (y - LUMA[0] * r - LUMA[2] * b) / LUMA[1]
    return np.clip(np.stack([r, g, b], axis=-1), 0.0, 1.0)


def half(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape[0] // 2 * 2, plane.shape[1] // 2 * 2
    return plane[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def main() -> None:
    sharp, kernel, blurred = mosaic_case()

    def psnr(out: np.ndarray) -> float:
        return float(10 * np.log10(1 / np.mean((out - sharp) ** 2)))

    start = time.perf_counter()
    rgb = deconvolve(blurred, kernel, channel_axis=-1).image
    print(f"RGB, three full planes (today): {time.perf_counter() - start:.1f} s, PSNR {psnr(rgb):.3f} dB", flush=True)

    y = blurred @ LUMA
    cb, cr = (blurred[..., 2] - y) / 2 + 0.5, (blurred[..., 0] - y) / 2 + 0.5
    start = time.perf_counter()
    planes = [deconvolve(p, kernel).image for p in (y, cb, cr)]
    print(f"luma and chroma, full: {time.perf_counter() - start:.1f} s, PSNR {psnr(rgb_from(*planes)):.3f} dB", flush=True)

    k_half = resize_kernel(kernel, max(3, (kernel.shape[0] // 2) | 1))
    start = time.perf_counter()
    luma = deconvolve(y, kernel).image
    chroma = [resize(deconvolve(half(p), k_half).image, y.shape, order=1) for p in (cb, cr)]
    out = rgb_from(luma, *chroma)
    print(f"luma full, chroma at half resolution: {time.perf_counter() - start:.1f} s, PSNR {psnr(out):.3f} dB", flush=True)


if __name__ == "__main__":
    main()

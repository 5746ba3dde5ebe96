"""Issue #32, item 4: how far around clipped lights the weighted solve runs, on the 12 MP bench
photo with its true kernel: seconds of the deconvolution, PSNR against the sharp mosaic, and PSNR
within two kernel sizes of a clipped pixel. ``whole`` solves the whole frame weighted.

    python scripts/experiments/light_reach_12mp.py 4 3 whole
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import ndimage

import gencor.tasks.deconv as dc
from deconv_steps_12mp import mosaic_case


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="+", help="LIGHT_REACH values, or 'whole'")
    a = ap.parse_args()
    sharp, kernel, blurred = mosaic_case()
    near = ndimage.maximum_filter(dc.clipped_pixels(blurred).any(-1).view(np.uint8), size=4 * kernel.shape[0] + 1) > 0
    reach, share = dc.LIGHT_REACH, dc.TILE_SHARE
    for variant in a.variants:
        dc.LIGHT_REACH, dc.TILE_SHARE = (reach, 0.0) if variant == "whole" else (int(variant), share)
        start = time.perf_counter()
        out = dc.deconvolve(blurred, kernel, channel_axis=-1).image
        seconds = time.perf_counter() - start
        err = (out - sharp) ** 2
        print(f"{variant}: {seconds:.1f} s, PSNR {10 * np.log10(1 / err.mean()):.3f} dB, near lights {10 * np.log10(1 / err[near].mean()):.3f} dB", flush=True)


if __name__ == "__main__":
    main()

"""``gencor deconv``: restore a photo whose blur kernel is known."""

from __future__ import annotations

import argparse
from typing import Any

from gencor.cli.options import IMAGE_OUTPUTS, add_common, max_pixels
from gencor.generators import DECONVOLUTION_METHODS


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "deconv",
        help="restore a photo whose blur kernel is known",
        description="Non-blind deconvolution of INPUT with kernel K (convolution convention): a MAP solve with a hyper-Laplacian prior, or "
        "half-quadratic splitting with gencor's denoiser (on noisy photos by default; see --method).",
    )
    p.add_argument("input", metavar="INPUT", help="blurred photo (PNG, JPEG, TIFF)")
    p.add_argument("--kernel", required=True, metavar="K", help="kernel as .npy (e.g. from deblur --save-kernel) or a gray image")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the sharp photo")
    p.add_argument("--lam", type=float, default=None, metavar="L", help="prior weight (default: from the noise level measured on the photo)")
    p.add_argument(
        "--method",
        choices=list(DECONVOLUTION_METHODS),
        default="auto",
        help="'auto' (default: 'plug-and-play' on a photo whose measured noise exceeds 0.005, else 'hyper-laplacian'), 'hyper-laplacian' (the MAP "
        "solve), 'denoiser' (GCM with the denoiser as the Generator, every proposal checked on Psi) or 'plug-and-play' (the denoiser without "
        "the check); --lam sets the denoiser's noise level too",
    )
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from gencor.io import check_format, check_output_path, read_image, read_kernel, write_image
    from gencor.tasks.deconv import deconvolve

    photo = read_image(args.input, max_pixels=max_pixels(args))
    kernel = read_kernel(args.kernel)
    out = check_output_path(args.output, args.input, args.kernel, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    photo.pixels = deconvolve(photo.pixels, kernel, lam=args.lam, channel_axis=-1 if photo.is_color else None, method=args.method).image
    write_image(out, photo, quality=args.quality)
    if not args.quiet:
        print(f"wrote {out}")

"""``gencor bench large``: time and peak memory of ``deblur`` on a 12-megapixel photo.

The photo is the bundled example scaled up to 4000x3000 (gray and RGB): what is measured is the
cost at that size, not the restoration quality. Each run is a fresh worker process, and its peak
resident memory is read from the operating system after the run.
"""

from __future__ import annotations

import platform
import resource
import time
from importlib import resources
from pathlib import Path

from skimage.transform import resize

from gencor.bench.common import Row, run_pool, write_tables
from gencor.io import read_image
from gencor.tasks.deblur import deblur

COLUMNS = ["photo", "megapixels", "kernel_size", "seconds", "peak_rss_gib"]


def _one(job: tuple[bool, int, tuple[int, int]]) -> Row:
    color, kernel_size, size = job
    example = resources.files("gencor") / "data" / "astronaut_blurred.jpg"
    pixels = read_image(Path(str(example))).pixels
    if not color:
        pixels = pixels.mean(axis=2)
    photo = resize(pixels, (*size, 3) if color else size, order=1)
    start = time.perf_counter()
    deblur(photo, kernel_size=kernel_size, channel_axis=-1 if color else None)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB on Linux
    return {"photo": "RGB" if color else "gray", "megapixels": size[0] * size[1] / 1e6, "kernel_size": kernel_size, "seconds": seconds, "peak_rss_gib": peak}


def run_large(*, out_dir: Path, kernel_size: int, quiet: bool) -> list[Row]:
    """Gray and RGB at 4000x3000, one fresh process each; writes ``large.md`` and ``large.csv``."""
    rows = [run_pool(_one, [(color, kernel_size, (3000, 4000))], jobs=1, quiet=quiet, desc="large")[0] for color in (False, True)]
    header = (
        f"# 12-megapixel photos\n\n`gencor bench large --kernel-size {kernel_size}` on {platform.machine()}: "
        "kernel estimation on the 640x640 window with the most edges, then deconvolution of the whole photo. "
        "Peak RSS is the worker process's maximum resident memory."
    )
    print(write_tables(out_dir, "large", rows, COLUMNS, header))
    return rows

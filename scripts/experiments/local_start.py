"""Where the window kernels of the local path should start, and how far estimated kernels are
from what the true ones would give.

Training photos only (BSDS500 train, never evaluation data): each is shaken by a camera with roll
(:mod:`gencor.kernels.camera`), noise 0.005-0.01, 8 bits. On the grid of
:func:`gencor.kernels.local.local_grid`, each set of kernels is compared with the true kernels at
the cell centres and used in the filter-flow deconvolution:

- ``frame``: the kernel estimated on the whole frame, in every cell;
- ``scratch``: each window estimated alone, coarse to fine (what ``deblur(blur="local")`` does);
- ``warm``: each window continues the frame's half-scale run over the fine scales only;
- ``true_centre``, ``true_local``: the true kernel at the frame's centre in every cell, and the true
  kernel of each cell: what a perfect uniform and a perfect local estimate would give.

Prints PSNR and mean kernel similarity per case, then the means.

    PYTHONPATH=src python scripts/experiments/local_start.py ../shared/data/train/BSDS500/train --cases 28
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from gencor.kernels.estimate import EstimatorConfig, estimate_kernel
from gencor.kernels.local import grid_centres, grid_regions, local_grid
from gencor.metrics import image_scores, kernel_similarity
from gencor.tasks.deconv import default_lam
from gencor.tasks.deconv_local import deconvolve_local
from training_photos import MARGIN, arguments, photos, shaken_with_roll

#: Kernel side of every estimate (more than the longest shake made here).
SIZE = 31
STARTS = ("frame", "scratch", "warm", "true_centre", "true_local")


def one(job: tuple[str, int]) -> tuple[str, dict[str, tuple[float, float]]]:
    path, seed = job
    scene = np.asarray(Image.open(path).convert("L"), dtype=float) / 255.0
    blurred, cam, sigma = shaken_with_roll(scene, np.random.default_rng(seed))
    shape = blurred.shape
    sharp = scene[MARGIN:-MARGIN, MARGIN:-MARGIN]
    grid = local_grid(shape, SIZE)
    regions = grid_regions(shape, grid, SIZE)
    truth = [cam.kernel_at(c, shape, SIZE) for c in grid_centres(shape, grid)]
    half = estimate_kernel(blurred, SIZE, final_scale=0.5)
    warm = EstimatorConfig(lam=half.lam)
    kernels = {
        "frame": [estimate_kernel(blurred, SIZE).kernel] * len(regions),
        "scratch": [estimate_kernel(blurred[r], SIZE).kernel for r in regions],
        "warm": [estimate_kernel(blurred[r], SIZE, init=half.kernel, init_scale=half.scale, config=warm).kernel for r in regions],
        "true_centre": [cam.kernel_at(((shape[0] - 1) / 2, (shape[1] - 1) / 2), shape, SIZE)] * len(regions),
        "true_local": truth,
    }
    out = {}
    for name, ks in kernels.items():
        restored = deconvolve_local(blurred, ks, grid, lam=default_lam(sigma))
        out[name] = (image_scores(restored, sharp)["psnr"], float(np.mean([kernel_similarity(k, t) for k, t in zip(ks, truth, strict=True)])))
    out["input"] = (image_scores(blurred, sharp)["psnr"], 0.0)
    return Path(path).stem, out


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    files = photos(args.folder, args.cases, first=3)
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(one, [(str(f), 2100 + i) for i, f in enumerate(files)]))
    print("photo", *(f"{s}_psnr {s}_similarity" for s in (*STARTS, "input")), sep="\t")
    for name, out in rows:
        print(name, *(f"{out[s][0]:.2f}\t{out[s][1]:.3f}" for s in (*STARTS, "input")), sep="\t")
    means = {s: np.mean([out[s] for _, out in rows], axis=0) for s in (*STARTS, "input")}
    print("mean", *(f"{m[0]:.2f}\t{m[1]:.3f}" for m in means.values()), sep="\t")


if __name__ == "__main__":
    main()

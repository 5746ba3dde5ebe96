"""What ``deblur(blur=...)`` gains with each mode on training photos: uniform camera shake and a
shaking camera with roll (BSDS500 train only, never evaluation data; noise 0.005-0.01, 8 bits).

Each case is deblurred with ``blur="uniform"`` and ``blur="local"``; ``auto`` is the local result
where the local path ran and ``blur_variation`` exceeds ``LOCAL_VARIATION``, else the uniform one
(what ``blur="auto"`` returns). Prints PSNR (up to a shift) per case, then the mean gains over the
input and the worst loss against the uniform mode, per kind of blur.

    PYTHONPATH=src python scripts/experiments/local_modes.py ../shared/data/train/BSDS500/train --cases 12
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from gencor.metrics import image_scores
from gencor.tasks.deblur import LOCAL_VARIATION, deblur
from training_photos import MARGIN, arguments, photos, shaken_uniformly, shaken_with_roll

KINDS = ("uniform", "rotation")
MODES = ("input", "uniform", "local", "auto")


def one(job: tuple[str, int, str]) -> tuple[str, str, dict[str, float]]:
    path, seed, kind = job
    rng = np.random.default_rng(seed)
    scene = np.asarray(Image.open(path).convert("L"), dtype=float) / 255.0
    noisy = shaken_uniformly(scene, rng) if kind == "uniform" else shaken_with_roll(scene, rng)[0]
    sharp = scene[MARGIN:-MARGIN, MARGIN:-MARGIN]
    uniform = deblur(noisy, blur="uniform").image
    local = deblur(noisy, blur="local")
    variation = local.report.blur_variation
    auto = local.image if local.report.blur == "local" and variation is not None and variation > LOCAL_VARIATION else uniform
    images = {"input": noisy, "uniform": uniform, "local": local.image, "auto": auto}
    return Path(path).stem, kind, {m: image_scores(images[m], sharp)["psnr"] for m in MODES}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    files = photos(args.folder, args.cases, first=5)
    jobs = [(str(f), 2200 + i, kind) for i, f in enumerate(files) for kind in KINDS]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(one, jobs))
    print("photo", "kind", *MODES, sep="\t")
    for name, kind, psnr in rows:
        print(name, kind, *(f"{psnr[m]:.2f}" for m in MODES), sep="\t")
    for kind in KINDS:
        sel = [psnr for _, k, psnr in rows if k == kind]
        gains = {m: np.mean([p[m] - p["input"] for p in sel]) for m in MODES[1:]}
        worst = {m: min(p[m] - p["uniform"] for p in sel) for m in ("local", "auto")}
        print(kind, f"n {len(sel)}", *(f"{m} {g:+.2f} dB" for m, g in gains.items()), *(f"worst {m} - uniform {v:+.2f} dB" for m, v in worst.items()), sep="\t")


if __name__ == "__main__":
    main()

"""``gencor bench sketch``: a figure with the sketch of the raw photo, of the L0-smoothed photo, and
``cv2.pencilSketch``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from gencor.bench.common import load_rgb, opencv, save_figure, to_u8
from gencor.tasks.sketch import sketch


def run_sketch(data: Path, *, out_dir: Path, quiet: bool) -> None:
    """Figure ``sketch_examples.png``: raw-photo sketch, smoothed-photo sketch, ``cv2.pencilSketch``."""
    cv2 = opencv()
    files = sorted((data / "examples" / "rtv").glob("*.jpg"))[:2] + sorted((data / "test" / "Kodak24").glob("*.png"))[:2]
    if not files:
        raise ValueError(f"no example photos under {data}; point --data at the shared data folder")
    fig = Figure(figsize=(12, 3.1 * len(files)))
    axes = fig.subplots(len(files), 4, squeeze=False)
    for ax_row, f in zip(axes, tqdm(files, desc="sketch", disable=True if quiet else None), strict=True):
        img = load_rgb(f)
        raw = sketch(img, channel_axis=-1, smoothing=None).image
        smoothed = sketch(img, channel_axis=-1).image
        gray_cv, _ = cv2.pencilSketch(to_u8(img)[..., ::-1].copy(), sigma_s=60, sigma_r=0.07, shade_factor=0.05)
        for ax, (title, im) in zip(
            ax_row,
            (("photo", img), ("gencor sketch, raw photo", raw), ("gencor sketch, L0-smoothed photo", smoothed), ("cv2.pencilSketch", gray_cv / 255.0)),
            strict=True,
        ):
            ax.imshow(np.clip(im, 0, 1), cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_title(f"{f.stem}: {title}", fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    save_figure(out_dir / "sketch_examples.png", fig)
    print(f"wrote {out_dir / 'sketch_examples.png'}")

"""Make the bundled example: a public-domain photo (NASA's astronaut portrait, shipped with
scikit-image) blurred by a synthetic camera-shake kernel, with noise and 8-bit quantisation.

Run from the repository root: ``python scripts/make_example.py``.
"""

from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve
from skimage import data

from gencor.io import Photo, write_image
from gencor.kernels.trajectory import random_motion_kernel

OUT = Path("src/gencor/data")
rng = np.random.default_rng(7)
k = random_motion_kernel(21, rng, extent=17)
photo = data.astronaut()[20:320, 100:400].astype(float) / 255.0
r = k.shape[0] // 2
blurred = np.stack([fftconvolve(photo[..., c], k, mode="valid") for c in range(3)], axis=-1)
blurred += 0.003 * rng.standard_normal(blurred.shape)
sharp = photo[r:-r, r:-r]
write_image(OUT / "astronaut_blurred.png", Photo(np.clip(blurred, 0, 1), None, 8))
write_image(OUT / "astronaut_sharp.png", Photo(sharp, None, 8))
np.save(OUT / "astronaut_kernel.npy", k)
print("wrote", sorted(p.name for p in OUT.iterdir()))

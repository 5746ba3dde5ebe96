"""Light streaks: in a night photo, a small light blurred by the shake draws the kernel's own path.

A point light far brighter than its dark surroundings, blurred by camera shake, is the kernel
scaled by the light's brightness (Hu, Cho, Wang and Yang, CVPR 2014). Where the light clips, the
streak keeps the path's shape though not its speed along it, which is still a far better kernel
than what the image-prior estimators find on night photos, where the lights' trails are the only
sharp structure and their clipping breaks the linear model.

:func:`light_streaks` finds such streaks: bright, small, isolated blobs on a dark surround, each
read off as a kernel (background removed, weak taps cut). :func:`streak_kernel` keeps the streak
that agrees best with the others: one streak could be a lamp of any shape, several that agree
are the shake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold
from skimage.morphology import skeletonize

from gencor.assess import kernel_similarity
from gencor.kernels.postprocess import center_kernel, clean_kernel

#: A light: pixels at least this bright (clipped lights are 1); its streak goes on through the
#: pixels above ``TRAIL`` connected to them (where the camera moved fast, the trail is dimmer).
BRIGHT = 0.85
TRAIL = 0.4
#: The ring around a streak (this many pixels wide) must be dark, its mean below ``DARK_RING``, and
#: no other light may reach the streak's window: the streak is one light, not a lit area.
RING = 6
DARK_RING = 0.35
#: Streaks shorter than this (pixels) carry no shape; bright pieces closer than ``JOIN`` pixels
#: belong to one streak (a dotted trail of a flickering light).
MIN_EXTENT = 5
JOIN = 2
#: Taps under this share of the streak's peak are background or glow (the glow of a clipped light
#: reaches far above the 10 % that the estimators cut).
CUT = 0.25
#: A point light's trail is thin: its taps over the length of its skeleton (its mean width, the
#: light's disc and glow included) stay under this many pixels.
MAX_THICKNESS = 7.0
#: At most this many streaks are compared, the most isolated first.
MAX_STREAKS = 12


@dataclass(frozen=True)
class Streak:
    """One light's streak: the kernel read off it and how dark its surround is (the ring's mean;
    lower is cleaner)."""

    kernel: np.ndarray
    ring: float


def light_streaks(gray: np.ndarray, size: int) -> list[Streak]:
    """Streaks of isolated lights in the gray image ``gray`` in [0, 1] that fit a ``size`` kernel,
    the cleanest first."""
    if not (gray >= BRIGHT).any():
        return []
    bright = apply_hysteresis_threshold(gray, TRAIL, BRIGHT)
    joined = ndimage.binary_dilation(bright, iterations=JOIN)
    labels, _ = ndimage.label(joined, structure=np.ones((3, 3)))
    found = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        h, w = box[0].stop - box[0].start, box[1].stop - box[1].start
        extent = max(h, w) - 2 * JOIN
        if extent < MIN_EXTENT or extent > size - 2:
            continue
        cy, cx = (box[0].start + box[0].stop) // 2, (box[1].start + box[1].stop) // 2
        half = size // 2
        top, left = cy - half, cx - half
        if top - RING < 0 or left - RING < 0 or top + size + RING > gray.shape[0] or left + size + RING > gray.shape[1]:
            continue
        own = labels[top - RING : top + size + RING, left - RING : left + size + RING] == index
        ring = ndimage.binary_dilation(own, iterations=RING) & ~own
        patch = gray[top - RING : top + size + RING, left - RING : left + size + RING]
        others = bright[top - RING : top + size + RING, left - RING : left + size + RING] & ~own
        surround = float(patch[ring].mean())
        if surround > DARK_RING or others.any():
            continue
        background = float(np.median(patch[ring]))
        k = np.where(own, np.clip(patch - background, 0.0, None), 0.0)[RING:-RING, RING:-RING]
        if k.max() <= 0:
            continue
        k = clean_kernel(k, rel_threshold=CUT)
        taps = k > 0
        if taps.sum() / max(int(skeletonize(taps).sum()), 1) > MAX_THICKNESS:
            continue  # a lit window or a lamp shade, not a point light's trail
        found.append(Streak(center_kernel(k), surround))
    return sorted(found, key=lambda s: s.ring)[:MAX_STREAKS]


def streak_kernel(gray: np.ndarray, size: int) -> tuple[np.ndarray, float] | None:
    """The streak kernel (``size x size``) that agrees best with the other streaks of the photo,
    and that agreement (its mean similarity to the others; 0 with a single streak); ``None``
    when the photo has no isolated light."""
    streaks = light_streaks(gray, size)
    if not streaks:
        return None
    kernels = [s.kernel for s in streaks]
    if len(kernels) == 1:
        return kernels[0], 0.0
    sims = np.array([[kernel_similarity(a, b) if i != j else 0.0 for j, b in enumerate(kernels)] for i, a in enumerate(kernels)])
    mean = sims.sum(axis=1) / (len(kernels) - 1)
    best = int(np.argmax(mean))
    return kernels[best], float(mean[best])

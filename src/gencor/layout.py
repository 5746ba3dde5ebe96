"""Image layouts, in one place: the API takes a channel axis anywhere, :func:`gencor.validate.as_image`
puts it last, the solvers work on planes ``(C, H, W)``, and one luminance stands for a color photo
wherever a single gray image is needed (kernel estimation, noise level, masks)."""

from __future__ import annotations

import numpy as np

#: Rec. 601 luma weights of R, G and B.
LUMA = np.array([0.299, 0.587, 0.114])


def luminance(image: np.ndarray) -> np.ndarray:
    """Luma of a channels-last RGB image (channels after the third are ignored); the mean of other
    channel counts; a gray image as it is."""
    if image.ndim == 2:
        return image
    return image[..., :3] @ LUMA if image.shape[-1] >= 3 else image.mean(axis=-1)


def to_planes(image: np.ndarray) -> np.ndarray:
    """A channels-last image as planes ``(C, H, W)`` (a view); a gray image as it is."""
    return image if image.ndim == 2 else np.moveaxis(image, -1, 0)


def from_planes(planes: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """Planes ``(C, H, W)`` back to the caller's layout, channels at ``channel_axis``."""
    return planes if planes.ndim == 2 or channel_axis is None else np.moveaxis(planes, 0, channel_axis)

"""Input checks shared by the API and the CLI: one clear ``ValueError``/``TypeError`` per problem."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

#: Smallest side we accept: below this there is no blur to estimate or texture to restore.
MIN_SIDE = 16
#: How far a float image may stray outside [0, 1] (rounding, a little noise) before it is taken
#: for another scale (0-255, 0-65535) and refused; within it, values are clipped.
RANGE_TOLERANCE = 0.05


#: Integer types a photo comes in from a reader; their full scale is their bit depth.
PHOTO_INTEGERS = (np.dtype(np.uint8), np.dtype(np.uint16))


def as_image(image: object, *, channel_axis: int | None, name: str = "image") -> np.ndarray:
    """Return ``image`` as a float array with channels last, after checking it."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(image).__name__}")
    if image.dtype == bool or not np.issubdtype(image.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array, got dtype {image.dtype}")
    if np.iscomplexobj(image):
        raise TypeError(f"{name} must be real, got dtype {image.dtype}")
    if np.issubdtype(image.dtype, np.integer):
        if image.dtype not in PHOTO_INTEGERS:
            # img_as_float would divide by the type's full scale (2**63 - 1 for int64): 8-bit values
            # held in a wider type would come out black, with no error.
            raise TypeError(
                f"{name} has dtype {image.dtype}, which holds no bit depth of a photo: pass uint8 or uint16 "
                "(e.g. arr.astype(np.uint8) for 8-bit values), or floats in [0, 1] (e.g. arr / 255)"
            )
        from skimage.util import img_as_float

        arr = np.asarray(img_as_float(image), dtype=float)  # uint8 / 255, uint16 / 65535, as scikit-image
    else:
        arr = np.asarray(image, dtype=float)
    if channel_axis is not None:
        if isinstance(channel_axis, (bool, np.bool_)) or not isinstance(channel_axis, (int, np.integer)):
            raise TypeError(f"channel_axis must be an integer or None, got {type(channel_axis).__name__}")
        if arr.ndim != 3:
            raise ValueError(f"{name} with channel_axis must be 3-D, got shape {arr.shape}")
        if not -3 <= channel_axis < 3:
            raise ValueError(f"channel_axis {channel_axis} is out of range for a 3-D image")
        arr = np.moveaxis(arr, channel_axis, -1)
    elif arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (or 3-D with channel_axis), got shape {arr.shape}")
    check_side(arr.shape, name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise ValueError(
            f"{name} values span [{lo:.3g}, {hi:.3g}] but must lie in [0, 1]: pass integers as they are "
            "(uint8, uint16), or divide floats by their full scale (e.g. 255), as skimage.util.img_as_float does"
        )
    return np.clip(arr, 0.0, 1.0) if lo < 0 or hi > 1 else arr


def check_side(shape: tuple[int, ...], name: str = "image") -> None:
    """Refuse an image (of ``shape``, channels last) that is empty or smaller than ``MIN_SIDE``."""
    if 0 in shape:
        raise ValueError(f"{name} is empty")
    if min(shape[:2]) < MIN_SIDE:
        raise ValueError(f"{name} is too small ({shape[0]}x{shape[1]}); need at least {MIN_SIDE}x{MIN_SIDE}")


def check_kernel_size(kernel_size: object, image_shape: tuple[int, ...]) -> int:
    """An odd positive kernel size that fits inside the image."""
    if isinstance(kernel_size, (bool, np.bool_)) or not isinstance(kernel_size, (int, np.integer)):
        raise TypeError(f"kernel size must be an integer, got {type(kernel_size).__name__}")
    k = int(kernel_size)
    if k < 3:
        raise ValueError(f"kernel size must be at least 3, got {k}")
    if k % 2 == 0:
        raise ValueError(f"kernel size must be odd, got {k}")
    if k > min(image_shape[:2]) // 2:
        raise ValueError(f"kernel size {k} is too large for a {image_shape[0]}x{image_shape[1]} image (at most half its shorter side)")
    return k


def as_kernel(kernel: object, name: str = "kernel") -> np.ndarray:
    """A finite, non-negative 2-D kernel with positive sum, rescaled to sum to 1."""
    if not isinstance(kernel, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(kernel).__name__}")
    if not np.issubdtype(kernel.dtype, np.number) or np.iscomplexobj(kernel):
        raise TypeError(f"{name} must be a real numeric array, got dtype {kernel.dtype}")
    k = np.asarray(kernel, dtype=float)
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(k < 0) or not k.max() > 0:
        raise ValueError(f"{name} must be non-negative with a positive sum")
    k = k / k.max()  # first to the peak, so that huge taps cannot overflow the sum
    return k / k.sum()


def _shown(value: object) -> str:
    """``repr(value)``, cut short: an error message stays one line."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_flag(value: object, name: str) -> bool:
    """``value`` as a ``bool``: only ``True`` or ``False`` (NumPy's too). A string such as ``"no"`` is
    truthy, so taking truth values would turn it into ``True``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {_shown(value)}")


def check_real(value: object, name: str) -> float:
    """``value`` as a ``float``: Python and NumPy numbers, not booleans (``True`` is no weight). The
    caller checks the range (NaN fails any range)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {_shown(value)}")
    return float(value)


def check_positive(value: object, name: str) -> float:
    """``value`` as a finite positive ``float``."""
    x = check_real(value, name)
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a positive finite number, got {_shown(value)}")
    return x


def check_integer(value: object, name: str) -> int:
    """``value`` as an ``int``: Python and NumPy integers, not booleans or floats."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_shown(value)}")
    return int(value)


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``: a non-string is a ``TypeError``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {', '.join(choices)}, got {_shown(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {_shown(value)}")
    return value


def check_callback(value: object, name: str) -> Callable[..., object] | None:
    """``value`` if it is callable or ``None``."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be a function or None, got {_shown(value)}")
    return value

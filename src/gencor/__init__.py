"""gencor: blind deblurring and beyond with learned Generator-Corrector propagation.

The public API is imported lazily: ``import gencor`` loads nothing heavy, and each name loads its
module on first use (PyTorch only when a network runs).

>>> import gencor
>>> gencor.deblur.__module__  # loaded on first use
'gencor.tasks.deblur'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

#: Public name -> the module that defines it.
_LAZY = {
    "deblur": "gencor.tasks.deblur",
    "DeblurResult": "gencor.tasks.deblur",
    "DeblurReport": "gencor.tasks.deblur",
    "deconvolve": "gencor.tasks.deconv",
    "DeconvolveResult": "gencor.tasks.deconv",
    "estimate_kernel": "gencor.kernels.estimate",
    "EstimatorConfig": "gencor.kernels.estimate",
    "KernelEstimate": "gencor.kernels.estimate",
    "denoise": "gencor.tasks.denoise",
    "DenoiseResult": "gencor.tasks.denoise",
    "inpaint": "gencor.tasks.inpaint",
    "InpaintResult": "gencor.tasks.inpaint",
    "smooth": "gencor.tasks.smooth",
    "SmoothResult": "gencor.tasks.smooth",
    "sketch": "gencor.tasks.sketch",
    "SketchResult": "gencor.tasks.sketch",
    "read_image": "gencor.io",
    "write_image": "gencor.io",
    "read_kernel": "gencor.io",
    "write_kernel": "gencor.io",
    "Photo": "gencor.io",
}

__all__ = [
    "DeblurReport",
    "DeblurResult",
    "DeconvolveResult",
    "DenoiseResult",
    "EstimatorConfig",
    "InpaintResult",
    "KernelEstimate",
    "Photo",
    "SketchResult",
    "SmoothResult",
    "__version__",
    "deblur",
    "deconvolve",
    "denoise",
    "estimate_kernel",
    "inpaint",
    "read_image",
    "read_kernel",
    "sketch",
    "smooth",
    "write_image",
    "write_kernel",
]

if TYPE_CHECKING:
    from gencor.io import Photo, read_image, read_kernel, write_image, write_kernel
    from gencor.kernels.estimate import EstimatorConfig, KernelEstimate, estimate_kernel
    from gencor.tasks.deblur import DeblurReport, DeblurResult, deblur
    from gencor.tasks.deconv import DeconvolveResult, deconvolve
    from gencor.tasks.denoise import DenoiseResult, denoise
    from gencor.tasks.inpaint import InpaintResult, inpaint
    from gencor.tasks.sketch import SketchResult, sketch
    from gencor.tasks.smooth import SmoothResult, smooth


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gencor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

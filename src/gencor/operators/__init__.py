"""Linear forward models. Each owns its adjoint and its exact quadratic (normal-equation) solve."""

from gencor.operators.base import LinearOperator
from gencor.operators.boundary import extend_periodic
from gencor.operators.convolution import Convolution, KernelConvolution, psf2otf
from gencor.operators.filterflow import FilterFlow, grid_windows
from gencor.operators.gradient import Gradient
from gencor.operators.mask import Mask
from gencor.operators.wavelet import Wavelet

__all__ = [
    "Convolution",
    "FilterFlow",
    "Gradient",
    "KernelConvolution",
    "LinearOperator",
    "Mask",
    "Wavelet",
    "extend_periodic",
    "grid_windows",
    "psf2otf",
]

"""Blur kernels: the kernel step, the coarse-to-fine estimator, clean-up and synthetic camera shake."""

from gencor.kernels.estimate import KernelEstimate, ScaleRecord, estimate_kernel
from gencor.kernels.postprocess import center_kernel, clean_kernel
from gencor.kernels.step import kernel_step
from gencor.kernels.trajectory import random_motion_kernel

__all__ = [
    "KernelEstimate",
    "ScaleRecord",
    "center_kernel",
    "clean_kernel",
    "estimate_kernel",
    "kernel_step",
    "random_motion_kernel",
]

"""The local grid's kernels for :mod:`gencor.tasks.deblur.families`: one estimate per window of a
grid (the filter-flow model of ``blur="local"``), chosen among in :mod:`gencor.tasks.deblur.decision`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from gencor.assess import kernel_similarity
from gencor.kernels.estimate import KernelEstimate, resize_kernel
from gencor.kernels.local import Region, edge_energy, grid_kernels, grid_regions, neighbour_agreement
from gencor.kernels.size import centred_extent, crop_kernel, size_for_extent
from gencor.tasks.deblur.plan import SIZING_SCALE, Plan, levels
from gencor.threads import fft_workers


@dataclass
class LocalPlan:
    """The local kernels (before the choice of :func:`~gencor.kernels.local.choose_kernels`), their
    windows and evidence."""

    grid: tuple[int, int]
    regions: list[Region]
    #: The luminance of each window (views of the photo's).
    windows: list[np.ndarray]
    edges: np.ndarray
    kernels: list[np.ndarray]
    #: Each window's kernel at half scale against its full-scale kernel.
    stability: list[float]
    agreement: list[float]


def _stability(est: KernelEstimate) -> float:
    """The run's kernel at half scale against its full-scale kernel."""
    sizes = [rec.kernel_size for rec in est.scales]
    half = min(range(len(sizes)), key=lambda i: abs(sizes[i] - sizes[-1] * SIZING_SCALE))
    k_half = est.scales[half].kernel
    return kernel_similarity(k_half, resize_kernel(est.kernel, k_half.shape[0]))


def local_plan(plan: Plan, grid: tuple[int, int], trial: int, size: int) -> LocalPlan:
    """A kernel on each window of ``grid``, coarse to fine as the frame's, all cut to one size (at
    least ``size``, the frame kernel's), with each one's stability (half scale against full scale)
    and agreement with its neighbours."""
    gray = plan.gray
    regions = grid_regions(gray.shape, grid, trial)
    n = len(regions)
    plan.steps.add(n * plan.options.config.iterations * levels(trial, 0.0, 1.0))
    started = itertools.count(1)

    def estimate(img: np.ndarray, region: Region) -> KernelEstimate:
        return plan.estimate(img, trial, plan.mask(region), f"local kernels {next(started)}/{n}")

    runs = grid_kernels(gray, regions, estimate, workers=fft_workers())
    kernels = [est.kernel for est in runs]
    side = size_for_extent(max(centred_extent(k) for k in kernels), lo=size, hi=trial)
    stability = [_stability(est) for est in runs]
    sized = [crop_kernel(k, side) for k in kernels]
    return LocalPlan(grid, regions, [gray[r] for r in regions], edge_energy(gray, regions), sized, stability, neighbour_agreement(kernels, grid))

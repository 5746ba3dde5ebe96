"""Figures written by the CLI and the benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from gencor.io import atomic_write
from gencor.kernels.estimate import KernelEstimate

#: Plot formats, by suffix; figures are drawn without pyplot, so no display backend is chosen.
PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def _save(fig: Figure, path: Path) -> None:
    fmt = PLOT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"unsupported plot format {path.suffix!r} for {path}; use {', '.join(PLOT_FORMATS)}")
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format=fmt))


def convergence_plot(estimate: KernelEstimate, path: Path) -> None:
    """For every propagation run, ``Psi`` at each stage relative to its start, one panel per scale.

    Each run has its own objective (kernel, ``lam`` and ``beta`` change between runs), so the
    curves are normalised by their first value; the guarantee is that each stays at or below 1.
    An estimate run without ``trace`` has no curves: that is a ``ValueError``.
    """
    if not any(len(run) for rec in estimate.scales for run in rec.psi):
        raise ValueError("the estimate recorded no Psi: run the estimation with trace=True")
    n = len(estimate.scales)
    fig = Figure(figsize=(2.6 * n, 2.8))
    axes = fig.subplots(1, n, squeeze=False, sharey=True)
    for ax, rec in zip(axes[0], estimate.scales, strict=True):
        offset = 0
        for run in (r for r in rec.psi if len(r)):
            ax.plot(np.arange(offset, offset + len(run)), run / run[0], "-", lw=0.8, color="tab:blue")
            offset += len(run) - 1
        ax.axhline(1.0, color="gray", lw=0.8, ls=":")
        ax.set_title(f"{rec.image_shape[1]}x{rec.image_shape[0]}, k={rec.kernel_size}, {len(rec.psi)} runs", fontsize=8)
        ax.set_xlabel("stage", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("Psi(u^t) / Psi(u^0) within a run", fontsize=8)
    fig.suptitle("GCM objective at every stage: within each run it never increases", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def cdf_plot(curves: dict[str, np.ndarray], path: Path, *, title: str) -> None:
    """Cumulative distribution of error ratios, Levin et al. style."""
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    grid = np.linspace(1, 5, 200)
    for name, er in curves.items():
        ax.plot(grid, [(er <= g).mean() for g in grid], label=name)
    ax.axvline(3, color="gray", ls=":", lw=1)
    ax.set_xlabel("error ratio")
    ax.set_ylabel("fraction of images")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)

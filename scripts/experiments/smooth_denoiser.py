"""Issue #31, item 4: the denoiser as the Generator of L0 smoothing, on ``examples/rtv``.

The smoothing's latent is the gradient field ``u`` (see :func:`gencor.tasks.smooth.smooth`). The
network cannot take gradients, so its proposal goes through the image: ``x = x(u0)`` is denoised
at level ``SIGMA`` and the gradients of the result are shrunk by the prior's prox (as the shipped
shrinkage Generator does), so the proposal is as sparse as the prior wants. The Corrector checks
it on ``Psi_beta``. Printed: the L0 objective of both results (lower is better) and how many
proposals the Corrector kept.

    python scripts/experiments/smooth_denoiser.py --sigma 0.05
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gencor.models.denoiser import shipped_denoiser
from gencor.operators.gradient import Gradient
from gencor.propagation import gcm
from gencor.tasks import smooth as smooth_mod

DATA = Path("../shared/data/examples/rtv")


def _with_denoiser(
    img: np.ndarray, lam: float, denoise: Callable[[np.ndarray], np.ndarray], counting: Callable[..., Any], counts: dict[str, int]
) -> np.ndarray:
    """The smoothing with the denoiser's proposals (the module's Generator swapped for one run)."""
    padded = smooth_mod._padded(img[None].astype(np.float32))
    grad = Gradient(padded.shape[-2:])
    fid = smooth_mod.SplitFidelity(smooth_mod.Convolution(np.ones((1, 1)), padded.shape[-2:]), padded, 1.0)

    def inner(u0: np.ndarray, stage: int) -> np.ndarray:
        return grad.forward(denoise(fid.latent(u0))).reshape(u0.shape).astype(u0.dtype)

    class Proposing(gcm.ShrinkageGenerator):
        def __init__(self, prior: gcm.LpPrior, gammas: tuple[float, ...]) -> None:
            super().__init__(prior, gammas, inner)

    counts.update(kept=0, proposed=0)
    smooth_mod.ShrinkageGenerator, smooth_mod.propagate = Proposing, counting  # type: ignore[misc]
    try:
        return smooth_mod.smooth(img, lam=lam).image
    finally:
        smooth_mod.ShrinkageGenerator, smooth_mod.propagate = gcm.ShrinkageGenerator, gcm.propagate  # type: ignore[misc]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sigma", type=float, default=0.05)
    ap.add_argument("--lam", type=float, default=0.02)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args()
    net = shipped_denoiser()
    counts = {"kept": 0, "proposed": 0}
    original = gcm.propagate

    def counting(*args, **kw):  # type: ignore[no-untyped-def]
        run = original(*args, **kw)
        counts["kept"] += int(np.sum(run.accepted))
        counts["proposed"] += int(run.accepted.size)
        return run

    for f in sorted(a.data.glob("*.jpg"))[:: a.stride][: a.limit]:
        img = np.asarray(Image.open(f).convert("L"), dtype=float)[:256, :256] / 255
        base = smooth_mod.smooth(img, lam=a.lam).image
        ours = _with_denoiser(img, a.lam, lambda x: net(x, a.sigma), counting, counts)
        print(
            f"{f.stem:14s} L0 objective: shrinkage {smooth_mod.l0_objective(base, img, a.lam):.3f}  "
            f"denoiser {smooth_mod.l0_objective(ours, img, a.lam):.3f}  kept {counts['kept']}/{counts['proposed']}",
            flush=True,
        )


if __name__ == "__main__":
    main()

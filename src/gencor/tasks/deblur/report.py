"""What :func:`gencor.tasks.deblur.deblur` returns: the result and its report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gencor.kernels.estimate import KernelEstimate


@dataclass
class DeblurReport:
    """What the program decided and why: the keys of ``gencor deblur --report``."""

    kernel_size: int
    noise_sigma: float
    #: The confidence of the kernel applied; 0 when the photo was withheld for a reason other than
    #: the confidence ("cut", "no blur", "noise": no kernel is trusted whatever its score, and each
    #: candidate's score stays in ``candidates``).
    confidence: float
    #: "deblurred", "conservative" (a stronger prior), "tentative" (a candidate of moderate
    #: confidence, with a warning: its conservative twin on a clean photo, its plain twin on a
    #: noisy one) or "unchanged".
    decision: str
    seconds: float
    #: Why the photo was returned unchanged: "cut" (a kernel ran out of the largest window),
    #: "no blur", "noise" (too noisy to trust), "confidence"; "" when it was deblurred.
    withheld: str = ""
    warnings: list[str] = field(default_factory=list)
    candidate: str = ""
    #: The measures of :mod:`gencor.assess` for the candidate applied. ``agreement``, ``stability``
    #: and ``consensus`` are ``None`` when not measured (a photo too small for a half scale: the
    #: confidence then takes them as perfect, and a warning says so).
    evidence: dict[str, Any] = field(default_factory=dict)
    candidates: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Seconds per stage: ``analysis`` (noise, clipped lights), ``estimation`` (the sizing runs),
    #: ``checks`` (agreement windows and candidate scoring), ``deconvolution`` (the output) and
    #: ``final stage`` (the restoring Generator and its Corrector).
    timings: dict[str, float] = field(default_factory=dict)
    #: The final stage: whether the Generator proposed a restoration of the deconvolution, whether
    #: the Corrector kept it, and ``Psi_D`` of the deconvolution and of the proposal.
    final_stage: dict[str, Any] = field(default_factory=dict)
    #: "uniform" (one kernel for the frame) or "local" (a grid of kernels, the filter-flow model).
    blur: str = "uniform"
    #: How much the kernels of a grid of windows, as used, differ from the frame's (0: the same
    #: everywhere; ``None`` when not measured: ``blur="uniform"`` or a photo too small for a grid).
    blur_variation: float | None = None
    #: The grid of the local path: its shape, and per window whether its own kernel was trusted
    #: (else borrowed from its neighbours), its agreement with them, the confidence of its own
    #: kernel and of the frame's on it; their median confidence and the kernels' size.
    local: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DeblurResult:
    """The output image (input layout), the kernel (convolution convention), the estimator's
    history and the report. ``image`` is the input itself when ``report.decision`` is
    ``"unchanged"``."""

    image: np.ndarray
    kernel: np.ndarray
    estimate: KernelEstimate
    report: DeblurReport
    candidates: dict[str, np.ndarray] = field(default_factory=dict)
    #: The local path's kernels, one per cell of ``report.local["grid"]`` (row-major), as used.
    local_kernels: list[np.ndarray] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        return self.report.confidence

    @property
    def decision(self) -> str:
        return self.report.decision

"""Step 5 of :func:`gencor.tasks.deblur.deblur`, the finish: deconvolve every channel with what was
decided (one kernel, or the local grid's filter flow), then the optional final stage, and report."""

from __future__ import annotations

from typing import Any

import numpy as np

from gencor.assess import Evidence
from gencor.generators import final_stage
from gencor.layout import from_planes, luminance, to_planes
from gencor.propagation.final import FinalObjective, correct
from gencor.tasks.deblur.decision import Choice
from gencor.tasks.deblur.families import Found
from gencor.tasks.deblur.plan import Plan
from gencor.tasks.deblur.report import DeblurReport, DeblurResult
from gencor.tasks.deblur.score import Scores
from gencor.tasks.deconv import clipped_pixels, deconvolve
from gencor.tasks.deconv_local import deconvolve_local


def final_stage_outcome(final: dict[str, Any]) -> str:
    """The final stage in one word: "kept" or "rejected" (the Corrector's verdict on the
    restoration), "unchecked" (Generator only), "" when nothing was proposed."""
    if not final.get("proposed"):
        return ""
    if "psi_proposal" not in final:
        return "unchecked"
    return "kept" if final["accepted"] else "rejected"


def _final_stage(arr: np.ndarray, sharp: np.ndarray, kernel: np.ndarray, lam: float, sigma: float, corrector: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """The last stage of Algorithm 1 on the deconvolution ``sharp`` of the photo ``arr`` (channels
    last): the Generator restores the luminance, the Corrector keeps the restoration only if
    ``Psi_D`` (:mod:`gencor.propagation.final`) does not increase. Color channels take the
    luminance's correction, so no hue shifts."""
    learned = final_stage()
    blurred_l, current_l = luminance(arr), luminance(sharp)
    correction = learned.propose(current_l, blurred_l, sigma) - current_l
    proposal = np.clip(sharp + (correction if sharp.ndim == 2 else correction[..., None]), 0.0, 1.0)
    if not corrector:  # the Generator-only variant: no test, no guarantee
        return proposal, {"proposed": True, "accepted": True}
    objective = FinalObjective(blurred_l, kernel, lam, learned.nu, learned.score, weight=~clipped_pixels(blurred_l))
    decision = correct(current_l, luminance(proposal), objective)
    info = {"proposed": True, "accepted": decision.accepted, "psi_deconvolution": decision.psi_current, "psi_proposal": decision.psi_proposal}
    return (proposal if decision.accepted else sharp), info


def restore(plan: Plan, choice: Choice) -> tuple[np.ndarray, dict[str, Any]]:
    """The output (channels last) and the final stage's record: the input when unchanged, else the
    deconvolution with the local grid's kernels or with the one kernel, then the final stage."""
    arr, options = plan.arr, plan.options
    axis = None if arr.ndim == 2 else -1
    if choice.decision == "unchanged":
        return arr.copy(), {"proposed": False}
    if choice.chosen is not None:
        sharp = deconvolve_local(arr, choice.chosen.kernels, choice.chosen.grid, lam=choice.lam, channel_axis=axis)
        plan.clock.lap("deconvolution")
        if options.final_stage:
            choice.warnings.append("the local path has no final stage: --final-stage was not applied")
        return sharp, {"proposed": False}
    sharp = deconvolve(arr, choice.kernel, lam=choice.lam, channel_axis=axis, method=options.deconvolution).image
    plan.clock.lap("deconvolution")
    if not options.final_stage:
        return sharp, {"proposed": False}
    # The final stage is its own network: it runs when asked, whatever the kernel step's Generator.
    sharp, final = _final_stage(arr, sharp, choice.kernel, choice.lam, plan.sigma, options.corrector)
    plan.clock.lap("final stage")
    return sharp, final


#: The measures of a candidate that compare kernels of several runs: none on a photo too small for a half scale.
COMPARED = ("agreement", "stability", "consensus")


def _measures(found: Found, evidence: Evidence) -> dict[str, float | None]:
    """The evidence as reported: ``None`` for what was not measured."""
    measures: dict[str, float | None] = dict(evidence.as_dict())
    if not found.compared:
        measures.update(dict.fromkeys(COMPARED))
    return measures


def report(plan: Plan, found: Found, scores: Scores, choice: Choice, final: dict[str, Any]) -> DeblurReport:
    """The report of the run (see :class:`~gencor.tasks.deblur.DeblurReport`)."""
    grid, clock = choice.grid, plan.clock
    if not plan.has_coarse:
        choice.warnings.append(
            "the photo is too small to compare kernels (agreement, stability and consensus not measured); its confidence takes them as perfect"
        )
    return DeblurReport(
        kernel_size=int(choice.kernel.shape[0]),
        noise_sigma=float(plan.sigma),
        confidence=float(choice.confidence),
        decision=choice.decision,
        seconds=sum(clock.seconds.values()),
        withheld=choice.withheld,
        warnings=choice.warnings,
        candidate=choice.best,
        evidence=_measures(found, choice.evidence),
        candidates={n: {"confidence": float(c), "lam": float(scores.candidates[n][1]), **_measures(found, e)} for n, (c, e) in scores.scored.items()},
        timings=dict(clock.seconds),
        final_stage=final,
        blur="local" if choice.chosen is not None and choice.decision != "unchanged" else "uniform",
        blur_variation=None if grid is None else grid.variation,
        local={} if grid is None else {**grid.report(), "confidence": grid.confidence(), "kernels_px": int(grid.kernels[0].shape[0])},
    )


def finish(plan: Plan, found: Found, scores: Scores, choice: Choice) -> DeblurResult:
    """Apply the choice and report it."""
    sharp, final = restore(plan, choice)
    sharp = from_planes(to_planes(sharp), plan.options.channel_axis)
    plan.clock.lap("deconvolution")
    assert found.estimate is not None  # set by the sizing family
    return DeblurResult(
        image=sharp,
        kernel=choice.kernel,
        estimate=found.estimate,
        report=report(plan, found, scores, choice, final),
        candidates={n: k for n, (k, _) in scores.candidates.items()},
        local_kernels=[] if choice.chosen is None else choice.chosen.kernels,
    )

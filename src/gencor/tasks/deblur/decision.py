"""Step 4 of :func:`gencor.tasks.deblur.deblur`, the decision: which kernels the local grid keeps,
and whether the photo is deblurred, deblurred gently ("tentative") or returned unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gencor.assess import GRADED_MAX_NOISE, Evidence, lowest_answered, trusted_from
from gencor.kernels.local import LocalKernels, choose_kernels
from gencor.noise import estimate_noise
from gencor.tasks.deblur.families import Found
from gencor.tasks.deblur.plan import Plan
from gencor.tasks.deblur.score import CONSERVATIVE, CONSERVATIVE_LAM, Scores, score_kernel
from gencor.tasks.deconv import LAM_MAX

#: A kernel with this share of its mass in one pixel is "no blur": deconvolving with it would only
#: denoise, which is not what the user asked for, so the photo is left as it is.
NEAR_DELTA = 0.5
#: The confidence was fitted on noise up to 0.02 (docs/bench/calibration.md); above this level its
#: measures say nothing (a prior weight that large flattens any output, which then looks free of
#: ringing), so no result is trusted.
MAX_TRUSTED_NOISE = 0.05
#: The local path is taken by ``blur="auto"`` only when its kernels differ from the frame's by more
#: than this (``blur_variation``). Measured by scripts/experiments/local_threshold.py on BSDS500 training photos
#: (noise 0.005-0.01): with uniform shake the variation was at most 0.148 (median 0) on 11 photos;
#: with camera roll its median was 0.056 (at most 0.345) on 12, so the two overlap and the
#: threshold sits above every uniform case.
LOCAL_VARIATION = 0.2
#: The local path needs at least this many windows trusted with kernels of their own (a lone
#: window is not evidence that the blur varies).
MIN_TRUSTED_WINDOWS = 2


@dataclass
class Choice:
    """The decision (see :class:`~gencor.tasks.deblur.DeblurReport`) and what it applies."""

    decision: str
    #: Why the photo was returned unchanged ("" when it was not).
    withheld: str
    #: The candidate applied, its confidence and evidence, kernel and prior weight.
    best: str
    confidence: float
    evidence: Evidence
    kernel: np.ndarray
    lam: float
    warnings: list[str] = field(default_factory=list)
    #: The local grid's choice of kernels (``None`` without a local plan), and the same when the
    #: local path restores the photo.
    grid: LocalKernels | None = None
    chosen: LocalKernels | None = None


def choose_local(plan: Plan, found: Found, scores: Scores) -> LocalKernels | None:
    """Which kernel each window of the local grid uses (``None`` without a local plan): a window
    keeps its own only where the confidence model prefers it to the best frame kernel's there."""
    local = found.local
    if local is None:
        return None
    windows = local.windows
    noise = [estimate_noise(win) for win in windows]
    base = scores.best.removesuffix(CONSERVATIVE)
    frame_evidence = (found.agreement, found.candidates[base].stability, scores.consensus[base])

    def score_window(i: int, k: np.ndarray, frame: bool) -> float:
        a, st, co = frame_evidence if frame else (local.agreement[i], local.stability[i], local.agreement[i])
        return score_kernel(windows[i], k, lam=scores.lam, sigma=noise[i], agreement=a, stability=st, consensus=co)[0]

    grid = choose_kernels(
        local.kernels,
        scores.candidates[scores.best][0],
        grid=local.grid,
        regions=local.regions,
        edges=local.edges,
        agreement=local.agreement,
        score=score_window,
        floor=lowest_answered(plan.sigma),
    )
    plan.clock.lap("local kernels")
    return grid


def _withheld(plan: Plan, found: Found, kernel: np.ndarray) -> tuple[str, str]:
    """The reason to return the photo unchanged whatever the confidence, and its warning ("" for
    none): a cut kernel, no blur, too much noise. ``force`` overrides each."""
    if plan.options.force:
        return "", ""
    if plan.flat:
        return "no blur", "the photo has no edges to measure a blur on (blank or a smooth gradient); it is returned unchanged"
    if found.cut:
        return "cut", "a kernel found is cut by the largest window tried; the photo is returned unchanged (use --force to deblur anyway)"
    if kernel.max() >= NEAR_DELTA:
        return "no blur", f"no camera shake found (the kernel keeps {kernel.max():.0%} of its mass in one pixel); the photo is returned unchanged"
    if plan.sigma > MAX_TRUSTED_NOISE:
        return "noise", (
            f"the photo is too noisy to trust a kernel (noise {plan.sigma:.3f} > {MAX_TRUSTED_NOISE}); it is returned unchanged (use --force to deblur anyway)"
        )
    return "", ""


def _decision(conf: float, best: str, sigma: float, *, force: bool) -> tuple[str, str]:
    """The decision for a candidate of confidence ``conf`` on a photo of noise ``sigma`` (see
    :class:`DeblurReport`) and the warning that goes with it ("" for none)."""
    trusted = trusted_from(sigma)
    if conf >= trusted:
        return ("conservative" if best.endswith("conservative") else "deblurred"), ""
    if force:
        return ("conservative" if best.endswith("conservative") else "deblurred"), f"low confidence ({conf:.2f}); deblurred anyway because of --force"
    if conf >= lowest_answered(sigma):
        # A graded answer: the kernel is likely right but the full deconvolution risky.
        how = "gently with a stronger prior" if sigma <= GRADED_MAX_NOISE else "on a noisy photo"
        return "tentative", f"moderate confidence ({conf:.2f} < {trusted}); deblurred {how}: compare with the input (use --force for the full deblurring)"
    return "unchanged", (
        f"no trustworthy kernel found (confidence {conf:.2f} < {lowest_answered(sigma)}); the photo is returned unchanged (use --force to deblur anyway)"
    )


def tentative_twin(best: str, sigma: float) -> str:
    """The candidate a graded answer applies: the conservative twin of ``best`` on a clean photo;
    on a noisy one its plain twin (the noise-based prior weight), as the stronger prior flattens
    noisy photos (docs/bench/calibration_real.md, issue #30)."""
    base = best.removesuffix(CONSERVATIVE)
    return base if sigma > GRADED_MAX_NOISE else f"{base}{CONSERVATIVE}"


def _answer(plan: Plan, scores: Scores, choice: Choice) -> None:
    """The decision by confidence, on ``choice`` (the best frame candidate): the local kernels
    answer where the frame's kernel is not trusted but they are; a tentative answer takes the
    twin of :func:`tentative_twin`."""
    floor = lowest_answered(plan.sigma)
    local_conf = None if choice.chosen is None else choice.chosen.confidence()
    if local_conf is not None and choice.confidence < floor <= local_conf:
        # The frame's kernel was not trusted, but the local kernels are: the blur varies.
        choice.confidence, choice.best, choice.lam = local_conf, "local", scores.lam
        if local_conf < trusted_from(plan.sigma):
            choice.best = tentative_twin("local", plan.sigma)
            choice.lam = min(CONSERVATIVE_LAM * scores.lam, LAM_MAX) if choice.best.endswith(CONSERVATIVE) else scores.lam
    choice.decision, warning = _decision(choice.confidence, choice.best, plan.sigma, force=plan.options.force)
    # A tentative local answer already has its twin's weight (above).
    twin = tentative_twin(choice.best, plan.sigma)
    if choice.decision == "tentative" and twin != choice.best:
        choice.best = twin
        choice.evidence = scores.scored[twin][1]
        choice.kernel, choice.lam = scores.candidates[twin]
    if warning:
        choice.warnings.append(warning)
    if choice.decision == "unchanged":
        choice.withheld = "confidence"


def decide(plan: Plan, found: Found, scores: Scores) -> Choice:
    """Deblur with the most trusted candidate, gently, or not at all (see
    :class:`~gencor.tasks.deblur.DeblurReport`)."""
    conf, evidence = scores.scored[scores.best]
    kernel, lam = scores.candidates[scores.best]
    choice = Choice("", "", scores.best, conf, evidence, kernel, lam)
    if found.cut and not plan.flat:
        # A kernel still cut by the largest window is not the blur, and the blur is then likely
        # longer than the other family's kernel too (book3 of real_lai16: a 39 px cross where the
        # GCM family ran out of window): no candidate is trusted.
        choice.warnings.append(f"the blur may be longer than the largest kernel size tried ({plan.ladder[-1]} px)")
    if plan.options.blur == "local" and found.local is None and not found.cut and not plan.flat:
        choice.warnings.append("the photo is too small for a grid of local kernels: one kernel for the whole photo (uniform)")
    choice.grid = choose_local(plan, found, scores)
    # Fewer than two windows with kernels of their own: the frame's kernel everywhere, the uniform
    # path; so too when they differ too little from it (unless asked for the local path).
    grid = choice.grid
    force_local = plan.options.blur == "local"
    if grid is not None and sum(grid.trusted) >= MIN_TRUSTED_WINDOWS and (force_local or grid.variation > LOCAL_VARIATION):
        choice.chosen = grid
    choice.withheld, warning = _withheld(plan, found, kernel)
    if choice.withheld:
        # The kernel's score is no trust in a kernel withheld for another reason (a cut kernel scored
        # 0.97-0.998): the report says 0, the candidates' scores stay in ``candidates``.
        choice.decision, choice.confidence = "unchanged", 0.0
        choice.warnings.append(warning)
    else:
        _answer(plan, scores, choice)
    return choice

"""Step 2 of :func:`gencor.tasks.deblur.deblur`, the candidates: every family of kernel estimators
behind one interface, :class:`Family`, run in the order of :data:`REGISTRY`.

Adding or dropping a family is one line of :data:`REGISTRY`. The first family sizes the kernel;
the others use its size.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from gencor.assess import kernel_similarity
from gencor.kernels.estimate import KernelEstimate, pyramid_sizes, resize_kernel
from gencor.kernels.l0 import L0Config, estimate_kernel_l0
from gencor.kernels.local import local_grid
from gencor.kernels.noiseaware import NoiseAwareConfig, estimate_kernel_noise_aware
from gencor.kernels.postprocess import delta_kernel
from gencor.kernels.size import centred_extent, crop_kernel, crop_to_extent, size_for_extent, touches_border
from gencor.kernels.streaks import streak_kernel
from gencor.tasks.deblur.local import LocalPlan, local_plan
from gencor.tasks.deblur.plan import MIN_AUTO_SIZE, SIZING_SCALE, Plan, best_window, largest_size, levels, pair_windows, runs_noise_aware
from gencor.threads import fft_workers, single_threaded

#: Side of the window of the dark-channel family. Its latent step costs about twice the GCM
#: family's per pixel (the patch minimum at every splitting step); on a 1 MP photo a 400 px window
#: takes 6 s where 640 px took 15 s.
DARK_WINDOW = 400
#: The noise-aware family's kernel is cropped to the taps above this share of its peak: it has
#: no threshold of its own, and the faint part of a long path is what a tighter crop would cut.
#: On 16 training photos (sigma 0.01, shakes of 16-71 px) its extent at 1 % of the peak, plus the
#: margin, gave a median 1.25 times the true extent and 2 under 0.9; at 5 %, 8 under 0.8.
SUPPORT_THRESHOLD = 0.01
#: Largest side of each of the two windows whose kernels are compared.
PAIR_WINDOW = 400


@dataclass
class Candidate:
    """A kernel for the whole frame, as one family found it."""

    kernel: np.ndarray
    #: Its half-scale estimate against its full-scale one (for the streaks: how the streaks of
    #: different lights agree).
    stability: float
    #: Whether it still touches the border of the largest window tried (automatic size only).
    cut: bool = False


@dataclass
class Found:
    """What the families found so far; the sizing family (the first) sets every field but
    ``candidates`` and ``local``."""

    candidates: dict[str, Candidate] = field(default_factory=dict)
    #: The sizing family's history of ``Psi`` (the result's ``estimate``).
    estimate: KernelEstimate | None = None
    #: The window size where the sizing stopped, and the size of the frame's kernel.
    trial: int = 0
    size: int = 0
    #: How closely two disjoint windows agree on the kernel.
    agreement: float = 1.0
    local: LocalPlan | None = None
    #: Whether kernels of several runs were compared (``agreement``, ``stability``, ``consensus``):
    #: not on a photo too small for a half scale, nor on one with no edges.
    compared: bool = True

    @property
    def cut(self) -> set[str]:
        """The candidates cut by the largest window tried."""
        return {name for name, c in self.candidates.items() if c.cut}


class Family(Protocol):
    """A family of kernel estimators."""

    #: The prior its kernels come from: kernels of different priors that agree are evidence for
    #: both (the ``consensus`` of :func:`gencor.tasks.deblur.score.score_kernel`).
    prior: str
    #: The frame candidates it may add.
    names: tuple[str, ...]
    #: Whether its kernels count as ``consensus`` for the other families' kernels.
    witness: bool
    #: Whether it needs nothing that the sizing family finds (its size, its window): then it runs
    #: beside the sizing family, in a thread of its own.
    independent: bool

    def find(self, plan: Plan, found: Found) -> Found:
        """``found`` with what the family adds (as it was where the family has nothing)."""
        ...


class GCM:
    """The coarse-to-fine GCM estimator on the estimation window. It sizes the kernel: while the
    kernel touches the border of its window it runs again with the next window of the ladder. Its
    full-scale kernel is the "fine" candidate, its half-scale kernel the "coarse" one (with noise,
    the finest scale is not always the best; Zhang and Yang, NeurIPS 2014). Two disjoint windows
    estimated to half scale give the ``agreement``: a uniform camera shake gives them one kernel."""

    prior = "gcm"
    names: tuple[str, ...] = ("fine", "coarse")
    witness = True
    independent = False

    def find(self, plan: Plan, found: Found) -> Found:
        if not plan.has_coarse:  # too small for a half scale: one kernel, nothing to compare it with
            fine = plan.estimate(plan.y, plan.max_size, plan.mask(plan.window), "estimate")
            plan.clock.lap("estimation")
            return Found({"fine": Candidate(fine.kernel, 1.0)}, fine, plan.max_size, plan.max_size, compared=False)
        coarse, fine, trial = self._sized(plan)
        k_half = coarse.kernel
        k_coarse = resize_kernel(k_half, trial)
        lo = min(MIN_AUTO_SIZE, trial)
        size = size_for_extent(max(centred_extent(fine.kernel), centred_extent(k_coarse)), lo=lo, hi=trial) if plan.auto else trial
        k_fine = crop_kernel(fine.kernel, size)
        history = KernelEstimate(kernel=k_fine, scales=coarse.scales + fine.scales, scale=fine.scale, lam=fine.lam)
        halves = self._halves(plan, trial)
        stability = kernel_similarity(k_half, resize_kernel(fine.kernel, k_half.shape[0]))
        agreement = kernel_similarity(halves[0], halves[1]) if len(halves) == 2 else stability
        cut = plan.auto and touches_border(fine.kernel)
        candidates = {"fine": Candidate(k_fine, stability, cut), "coarse": Candidate(crop_kernel(k_coarse, size), stability, cut)}
        return Found({**found.candidates, **candidates}, history, trial, size, agreement, found.local)

    @staticmethod
    def _sized(plan: Plan) -> tuple[KernelEstimate, KernelEstimate, int]:
        """The coarse and the fine run on the first window of the ladder whose kernel does not
        touch its border (else the largest), and that window's size."""
        mask = plan.mask(plan.window)
        for i, trial in enumerate(plan.ladder):
            if i:
                plan.steps.add(plan.options.config.iterations * levels(trial, 0.0, 1.0))
            coarse = plan.estimate(plan.y, trial, mask, f"estimate {trial} px, coarse scales", final_scale=SIZING_SCALE)
            fine = plan.estimate(plan.y, trial, mask, f"estimate {trial} px, fine scales", init=coarse.kernel, init_scale=coarse.scale, lam=coarse.lam)
            if not touches_border(fine.kernel):
                break
        plan.clock.lap("estimation")
        return coarse, fine, trial

    @staticmethod
    def _halves(plan: Plan, trial: int) -> list[np.ndarray]:
        """The half-scale kernels of two disjoint windows (none when they are too small)."""
        gray = plan.gray
        pair_side = min(PAIR_WINDOW, max(gray.shape) // 2, min(gray.shape))
        pair_size = largest_size((pair_side, pair_side), trial)
        if pair_size < 3 or levels(pair_size, 0.0, SIZING_SCALE) == 0:
            return []
        return [
            plan.estimate(gray[win], pair_size, plan.mask(win), f"check {i + 1}/2", final_scale=SIZING_SCALE).kernel
            for i, win in enumerate(pair_windows(gray, pair_side))
        ]


def half_scale_stability(est: KernelEstimate, scales: list[float]) -> float:
    """How the kernel of the scale nearest :data:`SIZING_SCALE` (``scales``: the image scale of
    each of ``est.scales``) agrees with the final one: a kernel that changes late is less sure."""
    half = min(range(len(scales)), key=lambda i: abs(scales[i] - SIZING_SCALE))
    k_half = est.scales[half].kernel
    return kernel_similarity(k_half, resize_kernel(est.kernel, k_half.shape[0]))


class DarkChannel:
    """The second prior family: the dark-channel L0 estimator (:mod:`gencor.kernels.l0`) with edge
    selection, on its own window with its own size ladder."""

    prior = "dark"
    names: tuple[str, ...] = ("dark",)
    witness = True
    independent = True

    def find(self, plan: Plan, found: Found) -> Found:
        window = best_window(plan.gray, max(DARK_WINDOW, 4 * plan.max_size))
        y, mask, cfg = plan.gray[window], plan.mask(window), L0Config()
        for i, trial in enumerate(plan.ladder):
            if i:
                plan.steps.add(cfg.iterations * len(pyramid_sizes(trial)))
            est = estimate_kernel_l0(y, trial, config=cfg, valid=mask, progress=plan.steps.run(f"dark channel {trial} px"))
            if not touches_border(est.kernel) or i == len(plan.ladder) - 1:
                break
        plan.clock.lap("estimation")
        stability = half_scale_stability(est, [scale for scale, _ in pyramid_sizes(trial)])
        cut = touches_border(est.kernel)
        kernel = est.kernel
        if plan.auto:
            kernel = crop_to_extent(kernel, lo=min(MIN_AUTO_SIZE, trial), hi=trial)
        found.candidates["dark"] = Candidate(kernel, stability, plan.auto and cut)
        return found


class NoiseAware:
    """The third family: L0 latent gradients with the kernel fitted on intensities, the
    priors tied to the measured noise (:mod:`gencor.kernels.noiseaware`). Cheap enough to run once
    at the largest size of the ladder: a window larger than the blur costs it little, and one
    smaller would cut the blur. Its kernel is then cropped to its support, generously. It runs
    only where :func:`runs_noise_aware` says."""

    prior = "intensity"
    names: tuple[str, ...] = ("intensity",)
    #: Its kernels vouch for no other family's: the confidence model was fitted without them (until
    #: its refit, issue #30). Counted, its agreement with wrong kernels of the dark family raised
    #: one noisy bench photo from withheld to deblurred (-0.23 dB), and on a rolled photo it lifted
    #: the frame's kernel over the windows' own.
    witness = False
    independent = False

    def find(self, plan: Plan, found: Found) -> Found:
        if not runs_noise_aware(plan.sigma):
            return found
        size = plan.ladder[-1]
        cfg = NoiseAwareConfig()  # its steps are in the plan's total from the start
        est = estimate_kernel_noise_aware(plan.y, size, sigma=plan.sigma, config=cfg, progress=plan.steps.run(f"noise-aware {size} px"))
        plan.clock.lap("estimation")
        kernel = est.kernel
        stability = half_scale_stability(est, [record.kernel_size / size for record in est.scales])
        cut = touches_border(kernel)
        if plan.auto:  # never tighter than the sizing family's window: a crop must not cut the blur
            kernel = crop_to_extent(kernel, lo=min(max(found.size, MIN_AUTO_SIZE), size), hi=size, threshold=SUPPORT_THRESHOLD)
        found.candidates["intensity"] = Candidate(kernel, stability, plan.auto and cut)
        return found


class LightStreaks:
    """Night photos: the streak of an isolated light (:mod:`gencor.kernels.streaks`) is the kernel's
    own path, whatever the priors say; its stability is how well the streaks of different lights
    agree."""

    prior = "streak"
    names: tuple[str, ...] = ("streak",)
    witness = True
    independent = False

    def find(self, plan: Plan, found: Found) -> Found:
        largest = plan.ladder[-1]
        streak = streak_kernel(plan.gray, largest)
        if streak is None:
            return found
        kernel, agreement = streak
        side = size_for_extent(centred_extent(kernel), lo=min(MIN_AUTO_SIZE, found.trial), hi=largest) if plan.auto else plan.max_size
        found.candidates["streak"] = Candidate(crop_kernel(kernel, side), agreement)
        return found


class LocalGrid:
    """``blur="local"`` or ``"auto"``: a kernel on each window of a grid, for a blur that varies
    across the frame. Nothing when a frame kernel is cut (the blur is longer than the windows)."""

    prior = "local"
    names: tuple[str, ...] = ()
    witness = True
    independent = False

    def find(self, plan: Plan, found: Found) -> Found:
        grid = local_grid(plan.gray.shape, found.trial)
        if plan.options.blur == "uniform" or grid == (1, 1) or found.cut:
            return found
        found.local = local_plan(plan, grid, found.trial, found.size)
        plan.clock.lap("local kernels")
        return found


#: The families, in the order they run.
REGISTRY: tuple[Family, ...] = (GCM(), DarkChannel(), NoiseAware(), LightStreaks(), LocalGrid())
#: The prior family of each candidate kernel, for the ``consensus`` evidence.
FAMILIES = {name: family.prior for family in REGISTRY for name in family.names}
#: The candidates whose kernels count as ``consensus`` for the others.
WITNESSES = {name for family in REGISTRY if family.witness for name in family.names}


def find_candidates(plan: Plan) -> Found:
    """Run every family in turn; a photo too small for a half scale has only the sizing family's
    kernel, and one with no edges (unless forced) only "no blur", a delta (nothing to estimate on).

    With more than one core, the independent families run beside the sizing family, each in a
    thread with single-threaded FFTs (NumPy and pocketfft release the interpreter lock): on two
    cores the dark-channel family then costs little wall time. Each family computes what it
    computes alone, so the kernels are the same either way."""
    if plan.flat and not plan.options.force:
        delta = delta_kernel(min(MIN_AUTO_SIZE, plan.max_size) if plan.auto else plan.max_size)
        return Found({"fine": Candidate(delta, 1.0)}, KernelEstimate(delta, []), delta.shape[0], delta.shape[0], compared=False)
    families = REGISTRY if plan.has_coarse else REGISTRY[:1]
    beside = [f for f in families[1:] if f.independent] if fft_workers() > 1 else []

    def alone(family: Family) -> Found:
        with single_threaded():
            return family.find(plan, Found())

    with ThreadPoolExecutor(max(len(beside), 1)) as pool:
        running = [pool.submit(alone, family) for family in beside]
        with single_threaded() if beside else nullcontext():
            found = families[0].find(plan, Found())
        for family, future in zip(beside, running, strict=True):
            found.candidates.update({name: c for name, c in future.result().candidates.items() if name in family.names})
    for family in families[1:]:
        if family not in beside:
            found = family.find(plan, found)
    return found

"""One job: the upload and what became of it (:class:`Job`), and what a worker does with it
(:func:`run_task`): run its task and write its files. The deblur report sent to the page carries
the thresholds of the decision (:mod:`gencor.assess`), so the page draws the same bands."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gencor.assess import TRUST_THRESHOLD, lowest_answered, trusted_from
from gencor.serve.options import BadRequest, Options, one_line

logger = logging.getLogger("gencor.serve")

#: What the page says while a task without step counts runs (deblur reports its own phases).
PHASES = {"deblur": "reading the photo", "smooth": "smoothing", "sketch": "drawing"}
#: What deblur does after its last counted step.
FINISHING = "scoring the candidate kernels and deconvolving"

#: Job states; the last three are final.
QUEUED, RUNNING, DONE, ERROR, CANCELLED = "queued", "running", "done", "error", "cancelled"
FINAL = frozenset({DONE, ERROR, CANCELLED})

#: The files of a job, by the name used in URLs. Only these names are ever served.
FILES = {"input": "input.png", "result": "result.png", "kernel": "kernel.png", "psi": "psi.png"}

#: The decisions of a deblur that "deblur anyway" (a forced re-run) may follow.
RERUN_DECISIONS = ("unchanged", "tentative")
#: HTTP status of a re-run the job's state does not allow (it is not a client's typo).
CONFLICT = 409

#: Matplotlib figures are drawn one at a time: its state is not documented as thread-safe.
_PLOT_LOCK = threading.Lock()


@dataclass(eq=False)  # jobs are compared by identity (the queue removes this one, not an equal one)
class Job:
    """One upload and what became of it. Fields change under :attr:`gencor.serve.queue.JobQueue.lock`."""

    id: str
    folder: Path
    source: Path
    options: Options
    name: str
    width: int
    height: int
    state: str = QUEUED
    done: int = 0
    total: int = 0
    phase: str = ""
    error: str = ""
    report: dict[str, Any] | None = None
    files: set[str] = field(default_factory=set)
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    #: The id of this job's forced re-run, once asked for ("" before).
    rerun: str = ""


def check_rerun(job: Job) -> None:
    """:class:`BadRequest` unless ``job`` is a finished, unforced deblur whose photo was returned
    unchanged or tentative: the only ones a forced re-run can change."""
    decision = (job.report or {}).get("decision")
    if job.options.task != "deblur":
        raise BadRequest(f"only a deblur can be re-run with force, not a {job.options.task}", status=CONFLICT)
    if job.state != DONE:
        raise BadRequest(f"the job is {job.state}; only a finished deblur can be re-run with force", status=CONFLICT)
    if job.options.force:
        raise BadRequest("this deblur was forced already", status=CONFLICT)
    if decision not in RERUN_DECISIONS:
        raise BadRequest(f"this photo was {decision} already; only an unchanged or tentative one is re-run with force", status=CONFLICT)


def _number(value: object) -> float | None:
    """A float for JSON, or ``None`` (JSON has no NaN)."""
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def run_task(job: Job, max_pixels: int, progress: Callable[[int, int, str], None]) -> dict[str, Any] | None:
    """Run the job's task on its upload and write its files; the deblur report, if any."""
    from gencor.io import read_image, write_image, write_kernel

    progress(0, 0, PHASES[job.options.task])
    photo = read_image(job.source, max_pixels=max_pixels)
    axis = -1 if photo.is_color else None
    opts = job.options
    report: dict[str, Any] | None = None
    if opts.task == "deblur":
        from gencor.tasks.deblur import deblur

        def step(done: int, total: int, phase: str) -> None:
            progress(done, total, phase if done < total else FINISHING)

        result = deblur(photo.pixels, kernel_size=opts.kernel_size, channel_axis=axis, force=opts.force, progress=step, trace=True)  # the page plots Psi
        pixels = result.image
        progress(job.total, job.total, "writing the kernel and the Psi plot")
        write_kernel(job.folder / FILES["kernel"], result.kernel)
        job.files.add("kernel")
        try:
            from gencor.plots import convergence_plot

            with _PLOT_LOCK:
                convergence_plot(result.estimate, job.folder / FILES["psi"])
            job.files.add("psi")
        except Exception:  # a figure must not cost the user the deblurred photo
            logger.exception("job %s: the Psi plot failed", job.id)
        rep = result.report
        sigma = _number(getattr(rep, "noise_sigma", None))
        report = {
            "confidence": _number(rep.confidence),
            "decision": str(rep.decision),
            "withheld": str(getattr(rep, "withheld", "")),
            "warnings": [one_line(w) for w in rep.warnings],
            "kernel_size": int(result.kernel.shape[0]),
            "noise_sigma": sigma,
            # The bands of the decision on this photo: trusted from one, answered (tentative) from the other.
            "thresholds": {"trusted": TRUST_THRESHOLD, "answered": TRUST_THRESHOLD}
            if sigma is None
            else {"trusted": trusted_from(sigma), "answered": lowest_answered(sigma)},
        }
    elif opts.task == "smooth":
        from gencor.tasks.smooth import smooth

        pixels = smooth(photo.pixels, lam=opts.lam, channel_axis=axis, progress=progress).image
    else:
        from gencor.tasks.sketch import sketch

        pixels = sketch(photo.pixels, channel_axis=axis, color=opts.color, progress=progress).image
    progress(job.total, job.total, "writing the result")
    photo.pixels = pixels  # the photo's alpha, bit depth (and metadata, where it has some) go on to the result
    write_image(job.folder / FILES["result"], photo)
    job.files.add("result")
    return report

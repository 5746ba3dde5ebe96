"""The job queue: jobs by id, those waiting in order, the worker threads that run them, and the
removal of finished jobs and their files."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from gencor.serve.jobs import CANCELLED, DONE, ERROR, FILES, FINAL, RUNNING, Job, check_rerun, run_task
from gencor.serve.options import BadRequest, one_line
from gencor.serve.uploads import default_job_bytes

logger = logging.getLogger("gencor.serve")

#: Finished jobs (and their files) are removed this long after they end.
JOB_TTL_S = 3600.0
#: How often expired jobs are looked for.
SWEEP_INTERVAL_S = 30.0
#: Most jobs waiting for a worker; a further upload gets HTTP 503.
MAX_WAITING = 32
#: Most finished jobs kept; the oldest go first beyond it, whatever their age.
MAX_FINISHED = 64
#: How long shutting down waits for a running job to stop before its files are removed anyway.
#: Every task stops at its next step once cancelled; a worker thread still inside a native FFT when
#: the interpreter exits aborts the process (exit 134), so the wait covers one step of a large photo.
CLOSE_WAIT_S = 60.0
#: Random bytes in a job id (22 URL-safe characters).
TOKEN_BYTES = 16
#: What a job id looks like; anything else is not looked up at all.
JOB_ID = re.compile(r"[A-Za-z0-9_-]{22}")
#: Prefix of the server's temporary folder.
TEMP_PREFIX = "gencor-serve-"


class QueueFull(RuntimeError):
    """Too many jobs are waiting."""


class _Cancelled(BaseException):
    """Raised from the progress callback to stop a deblur; a BaseException so no ``except
    Exception`` inside the task swallows it."""


def default_workers() -> int:
    """One worker per CPU core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class JobQueue:
    """Jobs by id, those waiting in order, and the worker threads that run them."""

    def __init__(
        self,
        *,
        workers: int,
        max_pixels: int,
        ttl: float = JOB_TTL_S,
        max_waiting: int = MAX_WAITING,
        runner: Callable[[Job, int, Callable[[int, int, str], None]], dict[str, Any] | None] = run_task,
        job_bytes: int | None = None,
    ) -> None:
        self.workers = workers
        self.max_pixels = max_pixels
        self.ttl = ttl
        self.max_waiting = max_waiting
        self.runner = runner
        self.root: Path | None = None
        #: Memory one job may take; uploads that would need more are refused (see :func:`job_memory`).
        self.job_bytes = default_job_bytes(workers) if job_bytes is None else int(job_bytes)
        self.lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._waiting: deque[Job] = deque()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Make the temporary folder and start the workers and the janitor."""
        self.root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        self._closing.clear()
        self._threads = [threading.Thread(target=self._work, name=f"gencor-serve-worker-{i}", daemon=True) for i in range(self.workers)]
        self._threads.append(threading.Thread(target=self._janitor, name="gencor-serve-janitor", daemon=True))
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Stop the workers (a running deblur stops at its next step) and remove every file."""
        with self.lock:
            self._closing.set()
            for job in self._jobs.values():
                job.cancel.set()
            self._waiting.clear()
            self.lock.notify_all()
        deadline = time.monotonic() + CLOSE_WAIT_S
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.0))
        self._threads = []
        with self.lock:
            self._jobs.clear()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # -- jobs ---------------------------------------------------------------------------------

    def new_folder(self) -> tuple[str, Path]:
        """A fresh job id and its (empty) folder, both drawn by the server."""
        if self.root is None or self._closing.is_set():
            raise BadRequest("the server is not accepting jobs (starting up or shutting down)", status=503)
        while True:
            job_id = secrets.token_urlsafe(TOKEN_BYTES)
            folder = self.root / job_id
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:  # a 128-bit collision: draw again
                continue
            return job_id, folder

    def submit(self, job: Job) -> None:
        """Queue the job; :class:`QueueFull` when :data:`MAX_WAITING` already wait."""
        with self.lock:
            if self._closing.is_set():
                raise QueueFull("the server is shutting down")
            if len(self._waiting) >= self.max_waiting:
                raise QueueFull(f"{len(self._waiting)} jobs are already waiting; try again in a few minutes")
            self._jobs[job.id] = job
            self._waiting.append(job)
            self.lock.notify()

    def rerun(self, job: Job) -> tuple[Job, bool]:
        """``job``'s photo deblurred again with force, from the files the server kept (the browser
        sends nothing again), and whether that job is new: a re-run already asked for and not
        failed is given again, so a second click does not queue a second one."""
        with self.lock:
            check_rerun(job)
            previous = self._jobs.get(job.rerun)
            if previous is not None and previous.state not in (ERROR, CANCELLED):
                return previous, False
            if self._jobs.get(job.id) is not job:
                raise BadRequest("no such job (it may have expired); upload the photo again", status=404)
            job_id, folder = self.new_folder()
            try:
                for name in (job.source.name, FILES["input"]):
                    _share(job.folder / name, folder / name)
                forced = Job(
                    id=job_id,
                    folder=folder,
                    source=folder / job.source.name,
                    options=replace(job.options, force=True),
                    name=job.name,
                    width=job.width,
                    height=job.height,
                )
                forced.files.add("input")
                self.submit(forced)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            job.rerun = forced.id
            return forced, True

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None`` for an unknown, expired or malformed id."""
        if not JOB_ID.fullmatch(job_id):
            return None
        with self.lock:
            return self._jobs.get(job_id)

    def file(self, job_id: str, name: str) -> Path | None:
        """The path of one of the job's files, by its name in :data:`FILES`, once it is written."""
        job = self.get(job_id)
        if job is None or name not in FILES:
            return None
        with self.lock:
            ready = name in job.files
        return job.folder / FILES[name] if ready else None

    def status(self, job: Job) -> dict[str, Any]:
        """What the page shows: state, place in the queue, progress, report and file URLs."""
        with self.lock:
            position = next((i + 1 for i, other in enumerate(self._waiting) if other is job), 0)
            running = sum(1 for other in self._jobs.values() if other.state == RUNNING)
            end = job.finished if job.finished is not None else time.monotonic()
            base = f"/api/jobs/{job.id}"
            return {
                "id": job.id,
                "state": job.state,
                "task": job.options.task,
                "options": job.options.as_dict(),
                "position": position,
                "waiting": len(self._waiting),
                "running": running,
                "workers": self.workers,
                "progress": {"done": job.done, "total": job.total, "phase": job.phase},
                "elapsed": round(end - job.started, 2) if job.started is not None else 0.0,
                "width": job.width,
                "height": job.height,
                "error": job.error,
                "report": job.report,
                "files": {name: f"{base}/files/{name}" for name in FILES if name in job.files},
                "download": f"{base}/download" if "result" in job.files else None,
                "download_name": self.download_name(job),
            }

    @staticmethod
    def download_name(job: Job) -> str:
        return f"{job.name}_{job.options.task}.png"

    def cancel(self, job: Job) -> None:
        """Forget a waiting or finished job at once; ask a running one to stop."""
        with self.lock:
            if job.state == RUNNING:
                job.cancel.set()
                return
            if job in self._waiting:
                self._waiting.remove(job)
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def sweep(self, now: float | None = None) -> int:
        """Remove the finished jobs older than ``ttl`` and the oldest beyond :data:`MAX_FINISHED`;
        the number removed."""
        now = time.monotonic() if now is None else now
        with self.lock:
            finished = sorted((j for j in self._jobs.values() if j.state in FINAL), key=lambda j: j.finished or 0.0)
            old = [j for j in finished if now - (j.finished or now) >= self.ttl]
            extra = finished[: max(len(finished) - MAX_FINISHED, 0)]
            gone = {j.id: j for j in (*old, *extra)}
            for job_id in gone:
                del self._jobs[job_id]
        for job in gone.values():
            shutil.rmtree(job.folder, ignore_errors=True)
        return len(gone)

    # -- threads ------------------------------------------------------------------------------

    def _janitor(self) -> None:
        while not self._closing.wait(SWEEP_INTERVAL_S):
            self.sweep()

    def _work(self) -> None:
        while True:
            with self.lock:
                while not self._waiting and not self._closing.is_set():
                    self.lock.wait()
                if self._closing.is_set():
                    return
                job = self._waiting.popleft()
                job.state, job.started = RUNNING, time.monotonic()
            self._run(job)

    def _run(self, job: Job) -> None:
        def progress(done: int, total: int, phase: str) -> None:
            if job.cancel.is_set():
                raise _Cancelled
            with self.lock:
                job.done, job.total, job.phase = int(done), int(total), str(phase)

        state, error, report = DONE, "", None
        try:
            report = self.runner(job, self.max_pixels, progress)
        except _Cancelled:
            state, error = CANCELLED, "cancelled"
        except ValueError as exc:
            state, error = ERROR, one_line(exc).replace(str(job.source), "the upload")
        except MemoryError:
            state, error = ERROR, "out of memory; try a smaller photo"
        except Exception as exc:
            logger.exception("job %s failed", job.id)
            state, error = ERROR, f"internal error ({type(exc).__name__}); see the server's log"
        if self._closing.is_set() and state != DONE:
            state, error = CANCELLED, "the server is shutting down"
        with self.lock:
            job.state, job.error, job.report, job.finished = state, error, report, time.monotonic()
        if job.cancel.is_set() and state == CANCELLED:
            with self.lock:
                self._jobs.pop(job.id, None)
            shutil.rmtree(job.folder, ignore_errors=True)


def _share(source: Path, target: Path) -> None:
    """``target`` as a second name of ``source`` (a copy where the file system has no hard links):
    the files are never written again, and each job removes its own folder."""
    try:
        os.link(source, target)
    except FileNotFoundError:
        raise BadRequest("the upload of this job is gone (it expired); upload the photo again", status=404) from None
    except OSError:
        shutil.copyfile(source, target)

"""The web application of ``gencor serve``: upload, job queue, status, and the files of each job.

Safety rules, since the page takes files from a browser:

* Every file lives in one folder made by :func:`tempfile.mkdtemp` when the application starts, and
  that folder is removed when it stops. A job's files are in a sub-folder named by a random token
  the server draws; nothing the client sends (file name, job id, file name in a URL) is ever joined
  to a path: ids are looked up in a dictionary and files by a fixed table of names.
* The upload is streamed to disk and cut off at :data:`MAX_UPLOAD_BYTES`; the photo is refused
  above the pixel limit from its header, before it is decoded (:func:`gencor.io.read_image`).
* At most ``workers`` jobs run at once (one per CPU core at most); the others wait in order, and
  the page shows their place. At most :data:`MAX_WAITING` wait; further uploads are refused.
* Finished jobs expire after :data:`JOB_TTL_S` seconds, and their files with them.
* Every error the client causes is an HTTP 4xx with a one-line JSON ``{"error": ...}``; errors of
  the tasks are one line in the job's status. Tracebacks go to the server's log only.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect

if TYPE_CHECKING:
    from gencor.io import Header

logger = logging.getLogger("gencor.serve")

#: Largest upload (bytes); the body is cut off as soon as it goes past.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: Default pixel limit of the server: far below the CLI's, since a deblur of a photo this size
#: already takes minutes and a browser shows it at full size.
DEFAULT_MAX_PIXELS = 25_000_000
#: Memory of a job on a color photo: fixed bytes plus bytes per pixel, from peaks measured on the
#: development machine and rounded up: decoding a 16-bit RGBA PNG peaks at 130 B/px; smooth and
#: sketch then take 410 B/px (at 1 MP); deblur 1.0 GiB at 1 MP and 1.4 GiB at 12 MP (its windows
#: and tiles are bounded).
MEMORY_FIXED = {"deblur": 1_200 * 2**20, "smooth": 200 * 2**20, "sketch": 200 * 2**20}
MEMORY_PER_PIXEL = {"deblur": 140, "smooth": 560, "sketch": 560}
#: An upload must keep sending: at most this long without a byte, and this long in all (seconds).
UPLOAD_IDLE_S = 30.0
UPLOAD_TIMEOUT_S = 600.0
#: Share of the machine's memory the server's jobs may take together (split between workers).
MEMORY_SHARE = 0.6
#: The machine's memory when the system does not say (bytes).
FALLBACK_MEMORY = 8 * 2**30
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
#: Bytes of the upload that :data:`SIGNATURES` are matched against.
SIGNATURE_BYTES = 8
#: Random bytes in a job id (22 URL-safe characters).
TOKEN_BYTES = 16
#: What a job id looks like; anything else is not looked up at all.
JOB_ID = re.compile(r"[A-Za-z0-9_-]{22}")
#: Prefix of the server's temporary folder.
TEMP_PREFIX = "gencor-serve-"
#: zlib level of the preview PNGs: fast, since they are written while the user waits.
PREVIEW_COMPRESSION = 1

#: Tasks offered, the first being the default.
TASKS = ("deblur", "smooth", "sketch")
#: What the page says while a task without step counts runs (deblur reports its own phases).
PHASES = {"deblur": "reading the photo", "smooth": "smoothing", "sketch": "drawing"}
#: What deblur does after its last counted step.
FINISHING = "scoring the candidate kernels and deconvolving"
#: Default and range of the smoothing weight (``gencor smooth --lam``).
DEFAULT_LAM = 0.02
MAX_LAM = 1.0
#: Largest kernel size accepted from the page (the photo may allow less; deblur checks that).
MAX_KERNEL_SIZE = 201
#: Longest download name stem kept from the uploaded file's name.
NAME_CHARS = 64

#: Job states; the last three are final.
QUEUED, RUNNING, DONE, ERROR, CANCELLED = "queued", "running", "done", "error", "cancelled"
FINAL = frozenset({DONE, ERROR, CANCELLED})

#: The files of a job, by the name used in URLs. Only these names are ever served.
FILES = {"input": "input.png", "result": "result.png", "kernel": "kernel.png", "psi": "psi.png"}
#: The uploaded bytes are kept under this stem, with a suffix from their first bytes (it picks
#: the reader of :func:`gencor.io.read_image`).
UPLOAD_STEM = "upload"
#: File signatures, for the suffix of the upload; other formats are left to Pillow.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"II*\x00", ".tif"),
    (b"MM\x00*", ".tif"),
    (b"II+\x00", ".tif"),
    (b"MM\x00+", ".tif"),
)
OTHER_SUFFIX = ".img"

STATIC = Path(__file__).parent / "static"
#: The page loads only its own files.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

#: Matplotlib figures are drawn one at a time: its state is not documented as thread-safe.
_PLOT_LOCK = threading.Lock()
#: One upload's preview is decoded at a time: simultaneous uploads would add up their decodes.
_DECODE_LOCK = threading.Lock()


class BadRequest(ValueError):
    """A problem with what the client sent: HTTP ``status`` with a one-line message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class QueueFull(RuntimeError):
    """Too many jobs are waiting."""


class _Cancelled(BaseException):
    """Raised from the progress callback to stop a deblur; a BaseException so no ``except
    Exception`` inside the task swallows it."""


def one_line(message: object) -> str:
    """The message with its whitespace (newlines included) collapsed."""
    return " ".join(str(message).split()) or "unknown error"


@dataclass
class Options:
    """The task and its options, as checked by :func:`parse_options`."""

    task: str = TASKS[0]
    kernel_size: int | str = "auto"
    force: bool = False
    lam: float = DEFAULT_LAM
    color: bool = False

    def as_dict(self) -> dict[str, Any]:
        if self.task == "deblur":
            return {"kernel_size": self.kernel_size, "force": self.force}
        if self.task == "smooth":
            return {"lam": self.lam}
        return {"color": self.color}


def _flag(params: Mapping[str, str], key: str) -> bool:
    value = params.get(key, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise BadRequest(f"{key} must be true or false, got {value[:20]!r}")


def parse_options(params: Mapping[str, str]) -> Options:
    """Options from the query string; a :class:`BadRequest` names the first bad one."""
    opts = Options(task=params.get("task", TASKS[0]).strip() or TASKS[0])
    if opts.task not in TASKS:
        raise BadRequest(f"unknown task {opts.task[:20]!r}; choose {', '.join(TASKS)}")
    size = params.get("kernel_size", "auto").strip().lower() or "auto"
    if size != "auto":
        if not (size.isascii() and size.isdigit()) or int(size) % 2 == 0 or not 3 <= int(size) <= MAX_KERNEL_SIZE:
            raise BadRequest(f"kernel size must be 'auto' or an odd integer from 3 to {MAX_KERNEL_SIZE}, got {size[:20]!r}")
        opts.kernel_size = int(size)
    opts.force = _flag(params, "force")
    opts.color = _flag(params, "color")
    lam = params.get("lam", "").strip()
    if lam:
        from gencor.tasks.smooth import SMOOTH_LAM_MIN

        try:
            opts.lam = float(lam)
        except ValueError:
            raise BadRequest(f"lam must be a number, got {lam[:20]!r}") from None
        if not (SMOOTH_LAM_MIN <= opts.lam <= MAX_LAM):  # also refuses nan and inf
            raise BadRequest(f"lam must be from {SMOOTH_LAM_MIN:g} to {MAX_LAM:g}, got {lam[:20]!r}")
    return opts


def download_stem(name: str) -> str:
    """A harmless stem for the download's name, from the uploaded file's name (never a path)."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:NAME_CHARS]
    return stem or "photo"


def upload_suffix(head: bytes) -> str:
    """The suffix that makes :func:`gencor.io.read_image` pick the right reader for these bytes."""
    for signature, suffix in SIGNATURES:
        if head.startswith(signature):
            return suffix
    return OTHER_SUFFIX


@dataclass(eq=False)  # jobs are compared by identity (the queue removes this one, not an equal one)
class Job:
    """One upload and what became of it. Fields change under :attr:`JobQueue.lock`."""

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


def write_preview(path: Path, pixels: np.ndarray, alpha: np.ndarray | None) -> None:
    """An 8-bit PNG the browser can show (the upload may be a TIFF or 16-bit)."""
    from gencor.io import atomic_write

    data = pixels if alpha is None else np.dstack([pixels, alpha])
    arr = np.round(np.clip(data, 0.0, 1.0) * 255).astype(np.uint8)
    atomic_write(path, lambda tmp: Image.fromarray(arr).save(tmp, format="PNG", compress_level=PREVIEW_COMPRESSION))


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

        result = deblur(photo.pixels, kernel_size=opts.kernel_size, channel_axis=axis, force=opts.force, progress=step)
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
        report = {
            "confidence": _number(rep.confidence),
            "decision": str(rep.decision),
            "warnings": [one_line(w) for w in rep.warnings],
            "kernel_size": int(result.kernel.shape[0]),
            "noise_sigma": _number(getattr(rep, "noise_sigma", None)),
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


def _error(status: int, message: object) -> JSONResponse:
    return JSONResponse({"error": one_line(message)}, status_code=status, headers={"Cache-Control": "no-store"})


def _same_origin(request: Request) -> bool:
    """False for a request a browser sends from another site's page (no Origin: not a browser)."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


def default_workers() -> int:
    """One worker per CPU core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def create_app(
    *,
    workers: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    ttl: float = JOB_TTL_S,
    max_waiting: int = MAX_WAITING,
    allowed_hosts: Sequence[str] | None = None,
    job_bytes: int | None = None,
) -> FastAPI:
    """The application. ``workers`` (default and ceiling: the CPU cores) jobs run at once;
    ``allowed_hosts``, if given, are the only Host headers served (against DNS rebinding when the
    server listens on the loopback only). The temporary folder exists while the app runs (its
    lifespan), so use ``with TestClient(app)`` in tests."""
    cores = default_workers()
    count = cores if workers is None else min(max(int(workers), 1), cores)
    queue = JobQueue(workers=count, max_pixels=max_pixels, ttl=ttl, max_waiting=max_waiting, job_bytes=job_bytes)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        queue.start()
        try:
            yield
        finally:
            queue.close()

    # No /docs: FastAPI's documentation pages load their scripts from a CDN.
    app = FastAPI(title="gencor", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.queue = queue
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response: Response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, exc.detail if exc.status_code != 404 else "not found")

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error on %s", request.url.path, exc_info=exc)
        return _error(500, f"internal error ({type(exc).__name__}); see the server's log")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/config")
    async def config() -> dict[str, Any]:
        return {
            "tasks": list(TASKS),
            "max_upload_bytes": MAX_UPLOAD_BYTES,
            "max_pixels": queue.max_pixels,
            "workers": queue.workers,
            "max_waiting": queue.max_waiting,
            "default_lam": DEFAULT_LAM,
            "max_lam": MAX_LAM,
            "max_kernel_size": MAX_KERNEL_SIZE,
        }

    @app.post("/api/jobs", status_code=202)
    async def create_job(request: Request) -> JSONResponse:
        """The photo is the raw request body (so its size is checked while it streams in, and it
        never goes through a multipart spool file outside our folder); options are in the query."""
        if not _same_origin(request):
            return _error(403, "cross-site uploads are refused")
        folder: Path | None = None
        try:
            opts = parse_options(request.query_params)
            declared = request.headers.get("content-length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
                raise BadRequest(f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB", status=413)
            job_id, folder = queue.new_folder()
            upload = folder / UPLOAD_STEM
            size, head = 0, b""
            with open(upload, "wb") as fh:
                async for chunk in _paced(request.stream()):
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        raise BadRequest(f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB", status=413)
                    if len(head) < SIGNATURE_BYTES:
                        head += chunk[: SIGNATURE_BYTES - len(head)]
                    fh.write(chunk)
            if size == 0:
                raise BadRequest("no file was sent; choose a photo first")
            source = upload.rename(upload.with_suffix(upload_suffix(head)))
            header = await run_in_threadpool(_check_photo, source, queue.max_pixels, queue.job_bytes, opts)
            await run_in_threadpool(make_preview, source, folder / FILES["input"])
            job = Job(
                id=job_id,
                folder=folder,
                source=source,
                options=opts,
                name=download_stem(request.query_params.get("name", "")),
                width=header.width,
                height=header.height,
            )
            job.files.add("input")
            queue.submit(job)
        except BadRequest as exc:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return _error(exc.status, exc)
        except QueueFull as exc:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return _error(503, exc)
        except ClientDisconnect:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return _error(400, "the upload was interrupted")
        except BaseException:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        return JSONResponse(queue.status(job), status_code=202, headers={"Cache-Control": "no-store"})

    @app.get("/api/jobs/{job_id}")
    async def job_status(job_id: str) -> JSONResponse:
        job = queue.get(job_id)
        if job is None:
            return _error(404, "no such job (it may have expired)")
        return JSONResponse(queue.status(job), headers={"Cache-Control": "no-store"})

    @app.delete("/api/jobs/{job_id}")
    async def cancel_job(request: Request, job_id: str) -> JSONResponse:
        if not _same_origin(request):
            return _error(403, "cross-site requests are refused")
        job = queue.get(job_id)
        if job is None:
            return _error(404, "no such job (it may have expired)")
        queue.cancel(job)
        return JSONResponse({"id": job.id, "state": "cancelling" if job.state == RUNNING else CANCELLED})

    @app.get("/api/jobs/{job_id}/files/{name}")
    async def job_file(job_id: str, name: str) -> Response:
        path = queue.file(job_id, name)
        if path is None:
            return _error(404, "no such file")
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/jobs/{job_id}/download")
    async def download(job_id: str) -> Response:
        path = queue.file(job_id, "result")
        job = queue.get(job_id)
        if path is None or job is None:
            return _error(404, "no result (yet) for this job")
        return FileResponse(path, media_type="image/png", filename=queue.download_name(job))

    return app


async def _paced(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The upload's chunks, as long as the client keeps sending: a client idle for
    :data:`UPLOAD_IDLE_S`, or slower in all than :data:`UPLOAD_TIMEOUT_S`, is answered 408 (slow
    clients held a connection and a file forever)."""
    deadline = time.monotonic() + UPLOAD_TIMEOUT_S
    it = chunks.__aiter__()
    while True:
        left = deadline - time.monotonic()
        try:
            chunk = await asyncio.wait_for(it.__anext__(), timeout=min(UPLOAD_IDLE_S, max(left, 0.0)))
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise BadRequest("the upload was too slow; try again", status=408) from None
        yield chunk


def _check_photo(path: Path, max_pixels: int, job_bytes: int, opts: Options) -> Header:
    """Check the upload from its header alone (no pixel decoded): its size against ``max_pixels``
    and against the memory one job may take, and that it fits the task. The worker decodes it."""
    from gencor.io import read_header
    from gencor.validate import MIN_SIDE

    try:
        header = read_header(path)
    except ValueError as exc:
        message = one_line(exc).replace(f"'{path}'", "the upload").replace(str(path), "the upload")
        if "UnidentifiedImageError" in message:
            message = "the file is not an image gencor can read (PNG, JPEG, TIFF, WebP or BMP)"
        raise BadRequest(message) from None
    width, height = header.width, header.height
    if width * height > max_pixels:
        megapixels = width * height / 1e6
        raise BadRequest(f"{width}x{height} is {megapixels:.3g} megapixels, above the limit of {max_pixels / 1e6:.3g} (the server's --max-megapixels)")
    if min(height, width) < MIN_SIDE:
        raise BadRequest(f"the photo is {width}x{height}; gencor needs at least {MIN_SIDE}x{MIN_SIDE}")
    if opts.task == "sketch" and opts.color and header.channels == 1:
        raise BadRequest("colored pencil needs a color photo; this one is gray")
    need = job_memory(opts.task, width * height)
    if need > job_bytes:
        most = (job_bytes - MEMORY_FIXED[opts.task]) / MEMORY_PER_PIXEL[opts.task]
        raise BadRequest(
            f"{opts.task} on {width}x{height} would take about {need / 2**30:.1f} GiB, more than one job may use here "
            f"({job_bytes / 2**30:.1f} GiB); at most about {max(most, 0) / 1e6:.1f} megapixels",
            status=413,
        )
    return header


def job_memory(task: str, pixels: int) -> int:
    """Bytes a job of ``task`` takes on a color photo of ``pixels`` (measured peaks, rounded up)."""
    return int(MEMORY_FIXED[task] + MEMORY_PER_PIXEL[task] * pixels)


def default_job_bytes(workers: int) -> int:
    """The memory one job may take: a share of the machine's memory, split between the workers."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = FALLBACK_MEMORY
    return int(MEMORY_SHARE * total / max(workers, 1))


def make_preview(source: Path, target: Path) -> None:
    """The 8-bit PNG the page shows of the upload, one at a time (:data:`_DECODE_LOCK`): Pillow
    decodes straight to 8 bits (about 4 bytes a pixel where the float photo takes 32 and more);
    what Pillow cannot read goes through :func:`gencor.io.read_image`."""
    from gencor.io import atomic_write, read_image

    with _DECODE_LOCK:
        try:
            with Image.open(source) as im:
                im.load()
                rgb = im.convert("RGBA" if "A" in im.getbands() else "RGB")
            atomic_write(target, lambda tmp: rgb.save(tmp, format="PNG", compress_level=PREVIEW_COMPRESSION))
        except Exception:
            try:
                photo = read_image(source)
            except ValueError as exc:
                raise BadRequest(one_line(exc).replace(str(source), "the upload")) from None
            write_preview(target, photo.pixels, photo.alpha)

"""The web application of ``gencor serve``: its routes (the page, upload, status, cancel, and the
files of each job) and the streaming of an upload to disk. The other roles have their own modules:
:mod:`~gencor.serve.options` (the query string), :mod:`~gencor.serve.uploads` (checks on an upload
and its preview), :mod:`~gencor.serve.jobs` (one job and its task) and :mod:`~gencor.serve.queue`
(the queue, its workers and the removal of old jobs).

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
* Every query parameter is checked: one the route does not know, one given twice or an option of
  another task is refused (a typo must not pass for the default).
* "Deblur anyway" (``POST /api/jobs/{id}/rerun?force=true``) deblurs the kept upload again with
  force; asked twice, it gives the same job.
* Every error the client causes is an HTTP 4xx with a one-line JSON ``{"error": ...}``; errors of
  the tasks are one line in the job's status. Tracebacks go to the server's log only.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect

from gencor.assess import GRADED_MAX_NOISE, GRADED_THRESHOLD, TRUST_THRESHOLD
from gencor.serve.jobs import CANCELLED, FILES, RUNNING, Job
from gencor.serve.options import DEFAULT_LAM, MAX_KERNEL_SIZE, MAX_LAM, TASKS, UPLOAD_PARAMS, BadRequest, flag, one_line, parse_options, query
from gencor.serve.queue import JOB_ID, JOB_TTL_S, MAX_WAITING, JobQueue, QueueFull, default_workers
from gencor.serve.uploads import DEFAULT_MAX_PIXELS, SIGNATURE_BYTES, UPLOAD_STEM, check_photo, download_stem, job_memory, make_preview, upload_suffix

#: Names other modules and the tests import from here.
__all__ = ["JOB_ID", "MAX_UPLOAD_BYTES", "UPLOAD_IDLE_S", "Job", "create_app", "default_workers", "job_memory"]

logger = logging.getLogger("gencor.serve")

#: Largest upload (bytes); the body is cut off as soon as it goes past.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: An upload must keep sending: at most this long without a byte, and this long in all (seconds).
UPLOAD_IDLE_S = 30.0
UPLOAD_TIMEOUT_S = 600.0

STATIC = Path(__file__).parent / "static"
#: The page loads only its own files.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _error(status: int, message: object) -> JSONResponse:
    return JSONResponse({"error": one_line(message)}, status_code=status, headers={"Cache-Control": "no-store"})


def _params(request: Request, allowed: tuple[str, ...] = ()) -> dict[str, str]:
    """The request's query string; :class:`BadRequest` (answered 400) names what is not ``allowed``."""
    return query(request.query_params.multi_items(), allowed)


def _same_origin(request: Request) -> bool:
    """False for a request a browser sends from another site's page (no Origin: not a browser)."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


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

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return _error(exc.status, exc)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error on %s", request.url.path, exc_info=exc)
        return _error(500, f"internal error ({type(exc).__name__}); see the server's log")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/config")
    async def config(request: Request) -> dict[str, Any]:
        _params(request)
        return {
            "tasks": list(TASKS),
            "max_upload_bytes": MAX_UPLOAD_BYTES,
            "max_pixels": queue.max_pixels,
            "workers": queue.workers,
            "max_waiting": queue.max_waiting,
            "default_lam": DEFAULT_LAM,
            "max_lam": MAX_LAM,
            "max_kernel_size": MAX_KERNEL_SIZE,
            # The confidence a deblur trusts, and from which it answers gently on photos this clean.
            "trust_threshold": TRUST_THRESHOLD,
            "graded_threshold": GRADED_THRESHOLD,
            "graded_max_noise": GRADED_MAX_NOISE,
        }

    @app.post("/api/jobs", status_code=202)
    async def create_job(request: Request) -> JSONResponse:
        """The photo is the raw request body (so its size is checked while it streams in, and it
        never goes through a multipart spool file outside our folder); options are in the query."""
        if not _same_origin(request):
            return _error(403, "cross-site uploads are refused")
        folder: Path | None = None
        try:
            params = _params(request, UPLOAD_PARAMS)
            opts = parse_options(params)
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
            header = await run_in_threadpool(check_photo, source, queue.max_pixels, queue.job_bytes, opts)
            await run_in_threadpool(make_preview, source, folder / FILES["input"])
            job = Job(
                id=job_id,
                folder=folder,
                source=source,
                options=opts,
                name=download_stem(params.get("name", "")),
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

    @app.post("/api/jobs/{job_id}/rerun")
    async def rerun_job(request: Request, job_id: str) -> JSONResponse:
        """Deblur anyway: the job's photo again with ``force=true`` (the only parameter, and
        required), from the upload the server kept. 202 with the new job; 200 with the same one
        when it was asked for already (a double click)."""
        if not _same_origin(request):
            return _error(403, "cross-site requests are refused")
        if not flag(_params(request, ("force",)), "force"):
            return _error(400, "a re-run is forced: send force=true (without it, the same options give the same result)")
        job = queue.get(job_id)
        if job is None:
            return _error(404, "no such job (it may have expired); upload the photo again")
        try:
            forced, new = await run_in_threadpool(queue.rerun, job)
        except QueueFull as exc:
            return _error(503, exc)
        return JSONResponse(queue.status(forced), status_code=202 if new else 200, headers={"Cache-Control": "no-store"})

    @app.get("/api/jobs/{job_id}")
    async def job_status(request: Request, job_id: str) -> JSONResponse:
        _params(request)
        job = queue.get(job_id)
        if job is None:
            return _error(404, "no such job (it may have expired)")
        return JSONResponse(queue.status(job), headers={"Cache-Control": "no-store"})

    @app.delete("/api/jobs/{job_id}")
    async def cancel_job(request: Request, job_id: str) -> JSONResponse:
        if not _same_origin(request):
            return _error(403, "cross-site requests are refused")
        _params(request)
        job = queue.get(job_id)
        if job is None:
            return _error(404, "no such job (it may have expired)")
        queue.cancel(job)
        return JSONResponse({"id": job.id, "state": "cancelling" if job.state == RUNNING else CANCELLED})

    @app.get("/api/jobs/{job_id}/files/{name}")
    async def job_file(request: Request, job_id: str, name: str) -> Response:
        _params(request)
        path = queue.file(job_id, name)
        if path is None:
            return _error(404, "no such file")
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/jobs/{job_id}/download")
    async def download(request: Request, job_id: str) -> Response:
        _params(request)
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

"""Many photos in one command: files, folders and globs into an output folder, in worker processes
or on a Dask cluster, with one row per photo in ``report.csv``.

A photo that fails is reported and the others go on; the exit status is then 1. Each photo is
written atomically by whoever processes it (a worker process or a Dask worker), so a shared output
folder never holds a half-written file.
"""

from __future__ import annotations

import argparse
import csv
import glob
import importlib
import io
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from gencor.cli.options import IMAGE_OUTPUTS, Progress, max_pixels

#: What a folder given as input is scanned for (non-recursively).
READABLE = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"})
#: The table written into the output folder.
REPORT = "report.csv"
#: Its columns; a command adds what it knows (kernel size, confidence, ...) in ``details``.
COLUMNS = ("input", "output", "status", "width", "height", "kernel_size", "noise_sigma", "confidence", "decision", "blur", "seconds", "error")
#: Exit status when some photos of a batch failed.
SOME_FAILED = 1
#: Attempts of a photo on a Dask cluster (the first try and one retry, for lost workers).
DASK_RETRIES = 1
#: The variable of glibc that Dask sets for its workers (see :func:`_on_dask`).
MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"
#: How long to wait for a Dask scheduler before giving up.
DASK_CONNECT = "10s"
#: How long a stopped worker gets to remove its temporary file before it is killed, and the
#: status it exits with (128 + SIGTERM).
STOP_GRACE_S = 5.0
STOPPED_WORKER = 143
#: Errors that belong to one photo (bad file, photo too large, out of memory): reported, not raised.
PHOTO_ERRORS = (ValueError, TypeError, MemoryError, OSError)


@dataclass(frozen=True)
class PhotoJob:
    """One photo of a batch: what a worker needs, and nothing that cannot be pickled."""

    command: str
    source: str
    target: str
    options: dict[str, Any]
    max_pixels: int
    quality: int
    single_threaded: bool = False


@dataclass
class Outcome:
    """What became of one photo: a row of ``report.csv``."""

    input: str
    output: str
    status: str  # "ok", "failed" or "skipped"
    seconds: float = 0.0
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k not in ("details", "warnings")}, **self.details}


def is_batch(inputs: Sequence[str], output: str) -> bool:
    """Several inputs, a folder or a glob as input, or a folder as output (an existing one, or a
    name ending in a slash)."""
    return len(inputs) > 1 or any(glob.has_magic(item) or Path(item).is_dir() for item in inputs) or output.endswith(("/", os.sep)) or Path(output).is_dir()


def expand(inputs: Sequence[str]) -> list[Path]:
    """The photos named by ``inputs``: files as given, folders' photos and globs' matches in
    sorted order, each once."""
    found: list[Path] = []
    for item in inputs:
        if glob.has_magic(item):
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                raise ValueError(f"no file matches {item!r}")
            found += matches
        elif Path(item).is_dir():
            # Hidden files are left out: macOS resource forks (._x.png), and the temporary files of a
            # run that was killed (gencor names them .stem.XXXX.png).
            photos = sorted(p for p in Path(item).iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in READABLE)
            if not photos:
                raise ValueError(f"no photos ({', '.join(sorted(READABLE))}) in folder {item}")
            found += photos
        else:
            found.append(Path(item))
    unique: dict[Path, Path] = {}
    for path in found:  # the same photo spelt two ways is processed once
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def plan(sources: Sequence[Path], out_dir: Path, suffix: str | None) -> list[tuple[Path, Path]]:
    """``(source, target)`` pairs: each photo keeps its name in ``out_dir``, with ``suffix`` or its
    own format when gencor can write it (PNG otherwise)."""
    if suffix is not None and suffix not in IMAGE_OUTPUTS:
        raise ValueError(f"--format must be one of {', '.join(sorted(s[1:] for s in IMAGE_OUTPUTS))}, got {suffix[1:]!r}")
    pairs: list[tuple[Path, Path]] = []
    seen: dict[Path, Path] = {}
    for src in sources:
        ext = suffix or (src.suffix.lower() if src.suffix.lower() in IMAGE_OUTPUTS else ".png")
        dst = out_dir / (src.stem + ext)
        if dst in seen:
            raise ValueError(f"{seen[dst]} and {src} would both be written to {dst}; give them different names or run them apart")
        if dst.resolve() == src.resolve():
            raise ValueError(f"{src} would be overwritten; choose another output folder")
        seen[dst] = src
        pairs.append((src, dst))
    return pairs


def _worker_start() -> None:
    """In a worker process: Ctrl-C is the parent's to handle (it stops the workers), SIGTERM
    cleans up like the command line does, and warnings are one line."""
    from gencor.cli.options import one_line_warnings

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    one_line_warnings()


class _Stopped(BaseException):
    """A worker asked to stop: raised where it is, so that temporary files are removed. Apart from
    the command line's own SIGTERM exception on purpose: :func:`run_job` ends a worker on this one,
    and must let that one through when it runs in the main process."""


#: Whether this worker is processing a photo (only then has it temporary files to remove).
_busy = False


def _stop_worker(signum: int, frame: object) -> None:
    if not _busy:
        # Idle between photos (waiting on the pool's queue): nothing to clean up, and an exception
        # raised there would reach the pool's own loop and print its traceback.
        os._exit(STOPPED_WORKER)
    raise _Stopped(signum)


def _single_threaded() -> None:
    # One process per core: threads inside each would only fight (see gencor.threads).
    from threadpoolctl import threadpool_limits

    from gencor.threads import THREADS_ENV

    os.environ[THREADS_ENV] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"
    threadpool_limits(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def run_job(job: PhotoJob, progress: Progress | None = None) -> Outcome:
    """Process one photo with its command's ``process`` function; errors of the photo become a
    failed outcome (anything else is raised, so that a cluster can retry it)."""
    if job.single_threaded:
        _single_threaded()
    process: Callable[..., dict[str, Any]] = importlib.import_module(f"gencor.cli.{job.command}").process
    start = time.perf_counter()
    global _busy
    try:
        # Everything from here to the end is inside the handler of _Stopped: a stop that lands while
        # the outcome is built must not escape as a traceback either.
        _busy = True
        try:
            details = process(Path(job.source), Path(job.target), job.options, max_pixels=job.max_pixels, quality=job.quality, progress=progress)
        except PHOTO_ERRORS as exc:
            message = "out of memory" if isinstance(exc, MemoryError) else str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return Outcome(job.source, job.target, "failed", time.perf_counter() - start, error=message)
        warnings = details.pop("warnings", [])
        return Outcome(job.source, job.target, "ok", time.perf_counter() - start, details=details, warnings=warnings)
    except _Stopped:
        # A worker told to stop: its temporary file is gone (the exception passed through the
        # writer); leave at once rather than take the next queued photo.
        os._exit(STOPPED_WORKER)
    finally:
        _busy = False


def _crashed(job: PhotoJob, exc: Exception) -> Outcome:
    """The outcome of a photo whose worker failed (not the photo itself: that is :func:`run_job`'s)."""
    return Outcome(job.source, job.target, "failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0])


def _in_process(jobs: list[PhotoJob], quiet: bool) -> Generator[Outcome, None, None]:
    from gencor.cli.options import progress_bar

    for job in jobs:
        inner, update = progress_bar(quiet, Path(job.source).name)
        try:
            yield run_job(job, update)
        finally:
            if inner is not None:
                inner.close()


def _in_pool(jobs: list[PhotoJob], workers: int) -> Generator[Outcome, None, None]:
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_start)
    futures: dict[Future[Outcome], PhotoJob] = {pool.submit(run_job, job): job for job in jobs}
    try:
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # a worker that died takes its photo with it, not the batch
                yield _crashed(job, exc)
    except BaseException:
        # Stopped (Ctrl-C, SIGTERM) or failed: no new photo starts, and the running ones stop now,
        # each removing its temporary file, instead of finishing unrecorded. A second Ctrl-C must
        # not cut this clean-up short (it would leave the workers running). The handler is put
        # back afterwards: a program that runs batches in-process (and every process it starts,
        # which inherits an ignored signal) must still stop on Ctrl-C.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if threading.current_thread() is threading.main_thread() else None
        try:
            # The workers go first: the pool then fails the photos still queued itself (cancelling
            # them beforehand races with that and makes CPython 3.11 print an InvalidStateError).
            processes = list(getattr(pool, "_processes", {}).values())
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(STOP_GRACE_S)
                if process.is_alive():
                    process.kill()
            _remove_temporaries(jobs)  # of a worker that had to be killed
            pool.shutdown(wait=True)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        raise
    pool.shutdown(wait=True)


@contextmanager
def _dask_client(address: str | None, workers: int, cleanup: Callable[[], None]) -> Iterator[Any]:
    """A client of a new LocalCluster (``address`` None) or of the scheduler at ``address``;
    connection problems are a ``ValueError`` before any photo is touched. If the batch is stopped,
    the local workers are killed and ``cleanup`` removes what they were writing."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("--dask needs dask.distributed: pip install 'gencor[dask]'") from None
    cluster = None
    if address is None:
        import dask

        # Dask starts its workers with MALLOC_TRIM_THRESHOLD_ set, which turns off glibc's adaptive
        # mmap threshold: every large array is then mapped and unmapped again. We measured 72 s of
        # the kernel's time against 11 s without it, and 85 s against 52 s of wall time (6 photos,
        # 2 workers). None unsets it (docs/cluster.md says how to do the same on a real cluster).
        # The workers are started with Ctrl-C blocked, which they inherit: the terminal sends it to
        # the whole process group, and the client, not each worker, stops the batch. Here it is
        # only held back: a Ctrl-C during the start arrives as soon as the cluster is up.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            with dask.config.set({f"distributed.nanny.pre-spawn-environ.{MALLOC_TRIM}": None}):
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout=DASK_CONNECT)
        except (OSError, MemoryError, ValueError, TypeError) as exc:  # MemoryError: something else answered
            detail = "no Dask scheduler answered" if isinstance(exc, MemoryError) else str(exc).splitlines()[0]
            raise ValueError(f"cannot reach the Dask scheduler at {address}: {detail}") from None
    try:
        yield client
    except BaseException:
        if cluster is not None:
            # Stopped: the photos running on our own workers must not go on to be written after
            # the report (a running task cannot be cancelled), so those workers end now.
            for nanny in list(cluster.workers.values()):
                with suppress(AttributeError, ProcessLookupError):
                    os.kill(nanny.process.process.pid, signal.SIGKILL)
            cleanup()
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _on_dask(jobs: list[PhotoJob], client: Any) -> Generator[Outcome, None, None]:
    from dask.distributed import as_completed as dask_completed

    futures = client.map(run_job, jobs, retries=DASK_RETRIES, pure=False)
    by_key = {f.key: job for f, job in zip(futures, jobs, strict=True)}
    try:
        for future in dask_completed(futures):
            job = by_key[future.key]
            try:
                yield future.result()
            except Exception as exc:  # failed twice (the retry included): reported, the batch goes on
                yield _crashed(job, exc)
    except BaseException:
        client.cancel(futures, force=True)
        raise


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that take many photos."""
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="photos processed at once, in N worker processes (default 1)")
    parser.add_argument("--skip-existing", action="store_true", help="leave photos whose output already exists (to resume a batch)")
    parser.add_argument(
        "--format",
        choices=sorted(s[1:] for s in IMAGE_OUTPUTS),
        default=None,
        help="output format of a batch (default: each photo's own; PNG where gencor cannot write it)",
    )
    parser.add_argument(
        "--dask",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run the photos as tasks on a Dask cluster: a local one with --jobs workers, or the scheduler at ADDRESS (tcp://host:8786); "
        "the workers write to the output folder, which must be shared",
    )


def single(args: argparse.Namespace) -> bool:
    """For a command on one photo: check that no batch option is given; ``False`` when the photo
    is to be skipped (``--skip-existing`` and its output exists)."""
    if args.jobs != 1 or args.dask is not None or args.format is not None:
        raise ValueError("--jobs, --dask and --format are for batches: give several photos, a folder or a glob, and a folder as -o")
    args.input = args.input[0]
    if args.skip_existing and _complete(Path(args.output)):
        if not args.quiet:
            print(f"skipped {args.input}: {args.output} exists")
        return False
    return True


def _complete(path: Path) -> bool:
    """An earlier output that is there and decodes to its last pixel, so that ``--skip-existing``
    does not keep a file cut short by a killed run or a full disk (``Image.verify`` checks PNG
    chunks but not whether a JPEG or TIFF is whole)."""
    from gencor.io import is_whole_image

    return path.is_file() and is_whole_image(path)


def _earlier_rows(path: Path) -> dict[str, dict[str, str]]:
    """The rows of an earlier ``report.csv`` by input, to keep what was found about skipped photos."""
    try:
        with open(path, newline="") as f:
            return {row["input"]: row for row in csv.DictReader(f) if row.get("input")}
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}


def run_batch(command: str, args: argparse.Namespace, options: dict[str, Any]) -> int:
    """Run ``command`` over every photo of ``args.input`` into the folder ``args.output``; return
    the exit status (0, or :data:`SOME_FAILED`)."""
    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    if not args.output.strip():
        raise ValueError("-o is empty; name the output folder")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file; with several photos -o names a folder")
    pairs = plan(expand(args.input), out_dir, f".{args.format}" if args.format else None)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot make the output folder {out_dir}: {exc.strerror or exc}") from None
    report = out_dir / REPORT
    if not os.access(out_dir, os.W_OK):
        raise ValueError(f"output folder is not writable: {out_dir}")
    if report.exists() and not report.is_file():
        raise ValueError(f"{report} is not a file; gencor writes its report there")
    earlier = _earlier_rows(report) if args.skip_existing else {}
    outcomes: list[Outcome] = []
    todo: list[PhotoJob] = []
    # More processes than photos or cores would only compete for memory and CPU.
    workers = min(args.jobs, max(len(pairs), 1), os.cpu_count() or 1) if args.dask is None else args.jobs
    parallel = workers > 1 or args.dask is not None
    for src, dst in pairs:
        if args.skip_existing and _complete(dst):
            before = {k: v for k, v in earlier.get(str(src), {}).items() if k in COLUMNS and k not in ("input", "output", "status", "seconds", "error")}
            outcomes.append(Outcome(str(src), str(dst), "skipped", details=before))
        else:
            todo.append(PhotoJob(command, str(src), str(dst), options, max_pixels(args), args.quality, single_threaded=parallel))
    started = time.time()
    try:
        with ExitStack() as stack:
            if args.dask is not None:
                client = stack.enter_context(_dask_client(None if args.dask == "local" else args.dask, args.jobs, partial(_remove_temporaries, todo)))
                stream = _on_dask(todo, client)
            elif workers > 1:
                stream = _in_pool(todo, workers)
            else:
                stream = _in_process(todo, args.quiet)
            try:
                _collect(stream, command, len(todo), args.quiet, outcomes)
            except BaseException:
                stream.close()  # stops the workers before anything else happens
                raise
    except BaseException:
        # Stopped: the workers are gone now. A photo whose file was renamed into place just before
        # they stopped, but whose result had not reached us, is still listed, so that the report
        # names every photo written.
        _add_finished(todo, outcomes, started)
        with suppress(OSError, ValueError):
            _write_report(report, outcomes)
        raise
    try:
        _write_report(report, outcomes)
    except OSError as exc:
        print(f"gencor: error: cannot write {report}: {exc.strerror or exc}", file=sys.stderr)
        return SOME_FAILED
    failed = sum(o.status == "failed" for o in outcomes)
    if not args.quiet:
        skipped = sum(o.status == "skipped" for o in outcomes)
        done = len(outcomes) - failed - skipped
        print(f"{len(pairs)} photos: {done} written to {out_dir}, {failed} failed, {skipped} skipped; details in {report}")
    return SOME_FAILED if failed else 0


def _remove_temporaries(jobs: Sequence[PhotoJob]) -> None:
    """Remove the temporary files that killed workers left beside the outputs of ``jobs``."""
    from gencor.io import stale_temporaries

    for job in jobs:
        for tmp in stale_temporaries(Path(job.target)):
            tmp.unlink(missing_ok=True)


def _add_finished(jobs: Sequence[PhotoJob], outcomes: list[Outcome], since: float) -> None:
    """Outcomes for the photos of ``jobs`` written after ``since`` but not reported."""
    seen = {o.input for o in outcomes}
    for job in jobs:
        target = Path(job.target)
        with suppress(OSError):
            if job.source not in seen and target.stat().st_mtime >= since:
                outcomes.append(Outcome(job.source, job.target, "ok"))


def _collect(stream: Iterator[Outcome], command: str, total: int, quiet: bool, outcomes: list[Outcome]) -> None:
    """Gather the outcomes as they come, with the overall bar on a terminal and one line per photo
    in a log."""
    from tqdm import tqdm

    live = not quiet and sys.stderr.isatty()
    bar = tqdm(total=total, desc=f"{command}: photos", unit="photo", disable=not live, file=sys.stderr, position=0)
    try:
        for done, outcome in enumerate(stream, 1):
            outcomes.append(outcome)
            name = Path(outcome.input).name
            for warning in outcome.warnings:
                tqdm.write(f"gencor: warning: {name}: {warning}", file=sys.stderr)
            if outcome.status == "failed":
                tqdm.write(f"gencor: error: {name}: {outcome.error}", file=sys.stderr)
            bar.update(1)
            if not (quiet or live):
                print(f"{command}: {done}/{total} photos: {name} {outcome.status}", file=sys.stderr, flush=True)
    finally:
        bar.close()


def _write_report(path: Path, outcomes: Sequence[Outcome]) -> None:
    from gencor.io import write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), extrasaction="ignore")
    writer.writeheader()
    for outcome in sorted(outcomes, key=lambda o: o.input):
        writer.writerow(outcome.row())
    write_text(path, buf.getvalue())

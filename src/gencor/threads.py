"""How many threads gencor's FFTs use.

By default every core this process may run on: the solvers spend most of their time in 2-D FFTs,
which pocketfft splits across threads. ``GENCOR_THREADS`` overrides it; the benchmarks' worker
pools set it to 1, since they already run one process per core. Work that already runs in threads
of its own (the pipeline's families and trial deconvolutions) runs each thread
:func:`single_threaded`, so that no call inside it asks for every core again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from scipy import fft

_local = threading.local()
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


@contextmanager
def single_threaded() -> Iterator[None]:
    """Within the block, in this thread, :func:`fft_workers` is 1 and ``scipy.fft`` uses one thread."""
    before = getattr(_local, "single", False)
    _local.single = True
    try:
        with fft.set_workers(1):
            yield
    finally:
        _local.single = before


#: Environment variable that fixes the number of FFT threads.
THREADS_ENV = "GENCOR_THREADS"


def fft_workers() -> int:
    """Threads for ``scipy.fft`` (at least 1; 1 inside :func:`single_threaded`)."""
    if getattr(_local, "single", False):
        return 1
    value = os.environ.get(THREADS_ENV, "")
    if value.strip():
        try:
            return max(int(value), 1)
        except ValueError:
            raise ValueError(f"{THREADS_ENV} must be a whole number, got {value!r}") from None
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def map_single_threaded(fn: Callable[[_Item], _Result], items: Iterable[_Item], *, workers: int) -> Iterator[_Result]:
    """``fn`` on each item, ``workers`` at a time in threads, each :func:`single_threaded`; the
    results in the order of ``items``, yielded as they are needed (a caller that consumes them one
    by one holds few at once). NumPy and pocketfft release the interpreter lock, so independent
    solves side by side use the cores better than one solve with multi-threaded FFTs. On an
    interrupt or an error, the items not yet started are dropped, not waited for."""
    items = list(items)

    def one(item: _Item) -> _Result:
        with single_threaded():
            return fn(item)

    pool = ThreadPoolExecutor(max(1, min(workers, len(items))))
    try:
        yield from pool.map(one, items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

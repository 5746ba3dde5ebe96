"""How many threads gencor's FFTs use.

By default every core this process may run on: the solvers spend most of their time in 2-D FFTs,
which pocketfft splits across threads. ``GENCOR_THREADS`` overrides it; the benchmarks' worker
pools set it to 1, since they already run one process per core.
"""

from __future__ import annotations

import os

#: Environment variable that fixes the number of FFT threads.
THREADS_ENV = "GENCOR_THREADS"


def fft_workers() -> int:
    """Threads for ``scipy.fft`` (at least 1)."""
    value = os.environ.get(THREADS_ENV, "")
    if value.strip():
        try:
            return max(int(value), 1)
        except ValueError:
            raise ValueError(f"{THREADS_ENV} must be a whole number, got {value!r}") from None
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

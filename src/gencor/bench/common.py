"""What the benchmarks share: timing and peak memory per image, a process pool, and the tables."""

from __future__ import annotations

import csv
import io
import os
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from gencor.io import atomic_write
from gencor.threads import THREADS_ENV

Row = dict[str, Any]


def measured(func: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``func``; return its result, seconds and peak Python-tracked memory in MiB."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        out = func()
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return out, seconds, peak


def _single_threaded() -> None:
    # One BLAS (and torch) thread per worker: with one worker per core, threads only fight each
    # other (we measured a 5x slow-down of the estimator with 2 workers on 2 cores).
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ[THREADS_ENV] = "1"
    threadpool_limits(1)


def run_pool(work: Callable[[Any], Row], items: Sequence[Any], *, jobs: int, quiet: bool, desc: str) -> list[Row]:
    """Map ``work`` over ``items`` in ``jobs`` processes, with a progress bar; keeps the order."""
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    with ProcessPoolExecutor(max_workers=jobs, initializer=_single_threaded) as pool:
        results: Iterable[Row] = pool.map(work, items)
        return list(tqdm(results, total=len(items), desc=desc, disable=quiet))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def markdown_table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_tables(out_dir: Path, stem: str, rows: Sequence[Row], columns: Sequence[str], header: str) -> str:
    """Write ``stem.md`` and ``stem.csv`` atomically; return the Markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = header + "\n\n" + markdown_table(rows, columns)
    atomic_write(out_dir / f"{stem}.md", lambda tmp: tmp.write_text(md))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(out_dir / f"{stem}.csv", lambda tmp: tmp.write_text(buf.getvalue()))
    return md


def mean_row(rows: Sequence[Row], columns: Sequence[str], label_col: str) -> Row:
    row: Row = {label_col: "mean"}
    for c in columns:
        vals = [r[c] for r in rows if isinstance(r.get(c), (int, float))]
        if vals and c != label_col:
            row[c] = float(np.mean(vals))
    return row

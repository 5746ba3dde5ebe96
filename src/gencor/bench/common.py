"""What the benchmarks share: timing and peak memory per image, a process pool, the tables, and
the loaders and OpenCV access of the benches of the tasks beyond deblurring."""

from __future__ import annotations

import csv
import io
import os
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from gencor.io import atomic_write, write_text
from gencor.threads import THREADS_ENV

Row = dict[str, Any]
Item = TypeVar("Item")
Result = TypeVar("Result")
#: Resolution of the figures of the benches beyond deblurring (they show many small panels).
FIGURE_DPI = 60


def opencv() -> Any:
    """The ``cv2`` module, which only the comparisons need (the ``bench`` extra)."""
    try:
        import cv2
    except ImportError:
        raise ValueError("this benchmark compares against OpenCV: pip install 'gencor[bench]' (opencv-contrib-python-headless)") from None
    return cv2


def load_rgb(path: Path) -> np.ndarray:
    """An 8-bit photo as RGB floats in [0, 1]."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=float) / 255.0


def to_u8(x: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] as the 8-bit array OpenCV expects."""
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def save_figure(path: Path, fig: Figure, *, dpi: int = FIGURE_DPI) -> None:
    """Write ``fig`` as PNG, atomically."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))


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


def run_pool(work: Callable[[Item], Result], items: Sequence[Item], *, jobs: int, quiet: bool, desc: str) -> list[Result]:
    """Map ``work`` over ``items`` in ``jobs`` processes, with a progress bar; keeps the order."""
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    with ProcessPoolExecutor(max_workers=jobs, initializer=_single_threaded) as pool:
        results: Iterable[Result] = pool.map(work, items)
        return list(tqdm(results, total=len(items), desc=desc, disable=True if quiet else None))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def markdown_table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_markdown(out_dir: Path, stem: str, rows: Sequence[Row], columns: Sequence[str], header: str) -> str:
    """Write ``stem.md`` (``header`` and the table) atomically; return the Markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = header + "\n\n" + markdown_table(rows, columns)
    write_text(out_dir / f"{stem}.md", md)
    return md


def write_csv(out_dir: Path, stem: str, rows: Sequence[Row], columns: Sequence[str]) -> None:
    """Write ``stem.csv`` atomically (the ``columns`` of each row)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out_dir / f"{stem}.csv", buf.getvalue())


def write_tables(out_dir: Path, stem: str, rows: Sequence[Row], columns: Sequence[str], header: str) -> str:
    """Write ``stem.md`` and ``stem.csv`` atomically; return the Markdown."""
    write_csv(out_dir, stem, rows, columns)
    return write_markdown(out_dir, stem, rows, columns, header)


def mean_row(rows: Sequence[Row], columns: Sequence[str], label_col: str) -> Row:
    row: Row = {label_col: "mean"}
    for c in columns:
        vals = [r[c] for r in rows if isinstance(r.get(c), (int, float))]
        if vals and c != label_col:
            row[c] = float(np.mean(vals))
    return row
